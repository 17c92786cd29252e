package conformance

import (
	"encoding/json"
	"net/http"
)

// Reply is how a fake JSON helpdesk answers: status with v as its body.
func Reply(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

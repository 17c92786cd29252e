package web

import (
	"context"
	"encoding/json"
	"net/http"

	"callbox/ivr"
)

// IVR is what the IVR endpoints need; *ivr.Service implements it.
type IVR interface {
	Flows(ctx context.Context) ([]ivr.FlowView, error)
	Flow(ctx context.Context, name string) (ivr.FlowView, error)
	List(ctx context.Context, list, number string) ([]ivr.ListEntry, error)
	AddToList(ctx context.Context, list string, r ivr.ListRequest) (ivr.ListEntry, error)
	RemoveFromList(ctx context.Context, list, number string) (ivr.ListEntry, error)
	Hours(ctx context.Context) ([]ivr.HoursView, error)
	SetHours(ctx context.Context, name, mode string) ([]ivr.HoursView, error)
}

// HoursRequest is the body of POST /api/v1/hours.
type HoursRequest struct {
	Mode  string `json:"mode"`            // open, closed or auto
	Hours string `json:"hours,omitempty"` // a name; "" for all
}

// HandleIVR adds the IVR's endpoints: flows, caller lists, opening hours.
func (s *Server) HandleIVR(i IVR) {
	h := &ivrHandlers{s: s, i: i}
	s.api.HandleFunc("GET /api/v1/ivr/flows", h.flows)
	s.api.HandleFunc("GET /api/v1/ivr/flows/{name}", h.flow)
	s.api.HandleFunc("GET /api/v1/lists/{list}", h.list)
	s.api.HandleFunc("POST /api/v1/lists/{list}", h.add)
	s.api.HandleFunc("DELETE /api/v1/lists/{list}/{number}", h.remove)
	s.api.HandleFunc("GET /api/v1/hours", h.hours)
	s.api.HandleFunc("POST /api/v1/hours", h.setHours)
}

type ivrHandlers struct {
	s *Server
	i IVR
}

func (h *ivrHandlers) answer(w http.ResponseWriter, r *http.Request, v any, err error) {
	if err != nil {
		h.s.fail(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, v)
}

func (h *ivrHandlers) flows(w http.ResponseWriter, r *http.Request) {
	v, err := h.i.Flows(r.Context())
	h.answer(w, r, v, err)
}

func (h *ivrHandlers) flow(w http.ResponseWriter, r *http.Request) {
	v, err := h.i.Flow(r.Context(), r.PathValue("name"))
	h.answer(w, r, v, err)
}

func (h *ivrHandlers) list(w http.ResponseWriter, r *http.Request) {
	v, err := h.i.List(r.Context(), r.PathValue("list"), r.URL.Query().Get("number"))
	h.answer(w, r, v, err)
}

func (h *ivrHandlers) add(w http.ResponseWriter, r *http.Request) {
	var req ivr.ListRequest
	if !decodeBody(w, r, &req) {
		return
	}
	v, err := h.i.AddToList(r.Context(), r.PathValue("list"), req)
	h.answer(w, r, v, err)
}

func (h *ivrHandlers) remove(w http.ResponseWriter, r *http.Request) {
	v, err := h.i.RemoveFromList(r.Context(), r.PathValue("list"), r.PathValue("number"))
	h.answer(w, r, v, err)
}

func (h *ivrHandlers) hours(w http.ResponseWriter, r *http.Request) {
	v, err := h.i.Hours(r.Context())
	h.answer(w, r, v, err)
}

func (h *ivrHandlers) setHours(w http.ResponseWriter, r *http.Request) {
	var req HoursRequest
	if !decodeBody(w, r, &req) {
		return
	}
	v, err := h.i.SetHours(r.Context(), req.Hours, req.Mode)
	h.answer(w, r, v, err)
}

// decodeBody reads a JSON request body (at most 64 kB) into v, or answers 400.
func decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 64<<10))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, "bad request body: "+err.Error())
		return false
	}
	return true
}

// Compile-time check: the IVR service is what the endpoints need.
var _ IVR = (*ivr.Service)(nil)

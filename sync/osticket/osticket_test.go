package osticket_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/mail"
	"net/url"
	"strings"
	"sync"
	"testing"

	"callbox/config"
	"callbox/sync/internal/conformance"
	"callbox/sync/osticket"
)

// fake speaks osTicket's ticket API as documented: POST /api/tickets.json with X-API-Key,
// JSON with name, email, subject, message and attachments as data URIs; 201 and the ticket
// number as plain text; 400 with a plain-text reason; 401 for a bad key.
type fake struct {
	mu      sync.Mutex
	next    int
	tickets []conformance.Ticket
}

func newFake(*testing.T) conformance.Fake { return &fake{next: 100100} }

func (f *fake) AddCaller(conformance.Known) string { return "" }

func (f *fake) Tickets() []conformance.Ticket {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]conformance.Ticket(nil), f.tickets...)
}

// dataURI decodes data:[type][;base64],payload.
func dataURI(s string) ([]byte, bool) {
	rest, ok := strings.CutPrefix(s, "data:")
	if !ok {
		return nil, false
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok {
		return nil, false
	}
	if strings.HasSuffix(meta, ";base64") {
		b, err := base64.StdEncoding.DecodeString(payload)
		return b, err == nil
	}
	t, err := url.PathUnescape(payload)
	return []byte(t), err == nil
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("X-API-Key") != "OST-KEY" {
		w.WriteHeader(401)
		fmt.Fprint(w, "API key not authorized")
		return
	}
	if r.Method != "POST" || r.URL.Path != "/api/tickets.json" {
		w.WriteHeader(404)
		return
	}
	var in struct {
		Name, Email, Phone, Subject, Message, Source string
		Attachments                                  []map[string]string
	}
	if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
		w.WriteHeader(400)
		fmt.Fprint(w, "Invalid JSON")
		return
	}
	if _, err := mail.ParseAddress(in.Email); err != nil {
		w.WriteHeader(400)
		fmt.Fprint(w, "Valid email address required")
		return
	}
	msg, ok := dataURI(in.Message)
	if !ok || in.Subject == "" || in.Name == "" {
		w.WriteHeader(400)
		fmt.Fprint(w, "Required fields missing")
		return
	}
	t := conformance.Ticket{Subject: in.Subject, Comments: []string{string(msg)}, Log: []string{"create"}}
	for _, a := range in.Attachments {
		for _, uri := range a {
			b, ok := dataURI(uri)
			if !ok {
				w.WriteHeader(400)
				fmt.Fprint(w, "Invalid attachment")
				return
			}
			t.Attachments = append(t.Attachments, len(b))
			t.Log = append(t.Log, "attach")
		}
	}
	f.mu.Lock()
	f.next++
	t.ID = fmt.Sprint(f.next)
	f.tickets = append(f.tickets, t)
	f.mu.Unlock()
	w.WriteHeader(201)
	fmt.Fprint(w, t.ID)
}

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Suite{
		Kind:        config.KindOSTicket,
		Fake:        newFake,
		Destination: "      token: OST-KEY\n      email: caller-{number}@example.com\n",
		TicketPath:  "POST /api/tickets.json",
		UploadPath:  "POST /api/tickets.json",
		Build:       conformance.DelivererOf(osticket.New),
		SingleStep:  true,
	})
}

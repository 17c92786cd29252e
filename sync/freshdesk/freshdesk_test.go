package freshdesk_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"

	"callbox/config"
	"callbox/sync/freshdesk"
	"callbox/sync/internal/conformance"
)

// fake speaks the parts of the Freshdesk API v2 the box uses, as documented: Basic auth with
// the API key and X, tickets with source and custom fields (cf_*), notes (JSON or multipart
// with attachments[]), filter search, contacts by phone or mobile, companies.
type fake struct {
	mu        sync.Mutex
	next      int64
	contacts  []fcontact
	companies map[int64]string
	tickets   []*fticket
}

type fcontact struct {
	ID        int64    `json:"id"`
	Name      string   `json:"name"`
	Phone     string   `json:"phone"`
	Mobile    string   `json:"mobile"`
	CompanyID int64    `json:"company_id,omitempty"`
	Tags      []string `json:"tags"`
}

type fticket struct {
	ID          int64          `json:"id"`
	Subject     string         `json:"subject"`
	Status      int            `json:"status"`
	Source      int            `json:"source"`
	RequesterID int64          `json:"requester_id"`
	ResponderID int64          `json:"responder_id,omitempty"`
	Custom      map[string]any `json:"custom_fields"`
	comments    []string
	attachments []int
	log         []string
}

func newFake(*testing.T) conformance.Fake { return &fake{next: 5000, companies: map[int64]string{}} }

func (f *fake) id() int64 { f.next++; return f.next }

func (f *fake) AddCaller(k conformance.Known) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	c := fcontact{ID: f.id(), Name: k.Name, Mobile: k.Number, Tags: []string{}}
	if k.VIP {
		c.Tags = append(c.Tags, "VIP")
	}
	if k.Organization != "" {
		c.CompanyID = f.id()
		f.companies[c.CompanyID] = k.Organization
	}
	f.contacts = append(f.contacts, c)
	if k.OpenTicket == "" {
		return ""
	}
	agent, _ := strconv.ParseInt(k.Agent, 10, 64)
	t := &fticket{ID: f.id(), Subject: k.OpenTicket, Status: 2, Source: 1, RequesterID: c.ID, ResponderID: agent, Custom: map[string]any{}}
	f.tickets = append(f.tickets, t)
	return strconv.FormatInt(t.ID, 10)
}

func text(h string) string { return html.UnescapeString(strings.ReplaceAll(h, "<br>", "\n")) }

func (f *fake) Tickets() []conformance.Ticket {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []conformance.Ticket
	for _, t := range f.tickets {
		fields := map[string]string{}
		for k, v := range t.Custom {
			fields[k] = fmt.Sprint(v)
		}
		out = append(out, conformance.Ticket{ID: strconv.FormatInt(t.ID, 10), CallID: fields["cf_callbox_call_id"],
			Subject: t.Subject, Comments: t.comments, Attachments: t.attachments, Fields: fields, Log: t.log})
	}
	return out
}

func invalid(w http.ResponseWriter, field, msg string) {
	conformance.Reply(w, 400, map[string]any{"description": "Validation failed",
		"errors": []map[string]string{{"field": field, "message": msg, "code": "invalid_value"}}})
}

var (
	notesPath  = regexp.MustCompile(`^/api/v2/tickets/(\d+)/notes$`)
	ticketPath = regexp.MustCompile(`^/api/v2/tickets/(\d+)$`)
	coPath     = regexp.MustCompile(`^/api/v2/companies/(\d+)$`)
	cfQuery    = regexp.MustCompile(`^"(cf_[a-z_]+):'(.*)'"$`)
)

func (f *fake) ticket(id string) *fticket {
	for _, t := range f.tickets {
		if strconv.FormatInt(t.ID, 10) == id {
			return t
		}
	}
	return nil
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("fd-key:X")) {
		conformance.Reply(w, 401, map[string]string{"code": "invalid_credentials", "message": "You have to be logged in to perform this action."})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, q := r.URL.Path, r.URL.Query()
	switch {
	case r.Method == "POST" && p == "/api/v2/tickets":
		var in struct {
			Subject, Description, Phone, Name, Email string
			Source, Status, Priority                 int
			Responder                                int64          `json:"responder_id"`
			Custom                                   map[string]any `json:"custom_fields"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		switch {
		case in.Subject == "" || in.Description == "":
			invalid(w, "subject", "It should not be blank")
		case in.Phone == "" && in.Email == "":
			invalid(w, "requester_id", "Please fill at least 1 of email, mobile, phone, twitter_id, facebook_id, unique_external_id, requester_id fields")
		case in.Phone != "" && in.Email == "" && in.Name == "":
			invalid(w, "name", "It should be a/an String")
		case in.Source != freshdesk.SourcePhone:
			invalid(w, "source", "It should be one of these values: '1,2,3,5,6,7,9,11,10'")
		default:
			t := &fticket{ID: f.id(), Subject: in.Subject, Status: in.Status, Source: in.Source, ResponderID: in.Responder,
				Custom: in.Custom, comments: []string{text(in.Description)}, log: []string{"create"}}
			if t.Custom == nil {
				t.Custom = map[string]any{}
			}
			f.tickets = append(f.tickets, t)
			conformance.Reply(w, 201, t)
		}
	case r.Method == "GET" && p == "/api/v2/search/tickets":
		m := cfQuery.FindStringSubmatch(q.Get("query"))
		if m == nil {
			invalid(w, "query", "invalid query")
			return
		}
		var res []*fticket
		for _, t := range f.tickets {
			if fmt.Sprint(t.Custom[m[1]]) == m[2] {
				res = append(res, t)
			}
		}
		conformance.Reply(w, 200, map[string]any{"results": res, "total": len(res)})
	case r.Method == "POST" && notesPath.MatchString(p):
		t := f.ticket(notesPath.FindStringSubmatch(p)[1])
		if t == nil {
			conformance.Reply(w, 404, nil)
			return
		}
		var body string
		var private bool
		if strings.HasPrefix(r.Header.Get("Content-Type"), "multipart/form-data") {
			if err := r.ParseMultipartForm(32 << 20); err != nil {
				invalid(w, "attachments", err.Error())
				return
			}
			body, private = r.FormValue("body"), r.FormValue("private") == "true"
			for _, fh := range r.MultipartForm.File["attachments[]"] {
				t.attachments = append(t.attachments, int(fh.Size))
				t.log = append(t.log, "attach")
			}
		} else {
			var in struct {
				Body    string
				Private bool
			}
			json.NewDecoder(r.Body).Decode(&in)
			body, private = in.Body, in.Private
		}
		if body == "" || !private {
			invalid(w, "body", "a private note with a body")
			return
		}
		t.comments = append(t.comments, text(body))
		t.log = append(t.log, "comment")
		conformance.Reply(w, 201, map[string]any{"id": f.id(), "body": body, "private": private})
	case r.Method == "PUT" && ticketPath.MatchString(p):
		t := f.ticket(ticketPath.FindStringSubmatch(p)[1])
		if t == nil {
			conformance.Reply(w, 404, nil)
			return
		}
		var in struct {
			Custom map[string]any `json:"custom_fields"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		for k, v := range in.Custom {
			t.Custom[k] = v
			t.log = append(t.log, "field")
		}
		conformance.Reply(w, 200, t)
	case r.Method == "GET" && p == "/api/v2/contacts":
		res := []fcontact{}
		for _, c := range f.contacts {
			if q.Has("phone") && c.Phone == q.Get("phone") || q.Has("mobile") && c.Mobile == q.Get("mobile") {
				res = append(res, c)
			}
		}
		conformance.Reply(w, 200, res)
	case r.Method == "GET" && coPath.MatchString(p):
		id, _ := strconv.ParseInt(coPath.FindStringSubmatch(p)[1], 10, 64)
		conformance.Reply(w, 200, map[string]any{"id": id, "name": f.companies[id]})
	case r.Method == "GET" && p == "/api/v2/tickets":
		res := []*fticket{}
		for i := len(f.tickets) - 1; i >= 0; i-- {
			if strconv.FormatInt(f.tickets[i].RequesterID, 10) == q.Get("requester_id") {
				res = append(res, f.tickets[i])
			}
		}
		conformance.Reply(w, 200, res)
	default:
		io.Copy(io.Discard, r.Body)
		conformance.Reply(w, 404, map[string]string{"code": "invalid_url"})
	}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Suite{
		Kind: config.KindFreshdesk,
		Fake: newFake,
		Destination: `      token: fd-key
      call_id_field: cf_callbox_call_id
      agents:
        "1001": "7001"
`,
		AgentUser:         "7001",
		TicketPath:        "POST /api/v2/tickets",
		UploadPath:        "POST /api/v2/tickets/",
		Build:             conformance.DelivererOf(freshdesk.New),
		Directory:         conformance.DirectoryOf(freshdesk.New),
		FindsBeforeCreate: true,
	})
}

func TestConformanceWithSurveyField(t *testing.T) {
	conformance.Run(t, conformance.Suite{
		Kind:              config.KindFreshdesk,
		Fake:              newFake,
		Destination:       "      token: fd-key\n      call_id_field: cf_callbox_call_id\n",
		TicketPath:        "POST /api/v2/tickets",
		UploadPath:        "POST /api/v2/tickets/",
		SurveyField:       "cf_survey_score",
		Build:             conformance.DelivererOf(freshdesk.New),
		FindsBeforeCreate: true,
	})
}

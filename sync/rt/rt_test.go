package rt_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"

	"callbox/config"
	"callbox/sync/internal/conformance"
	"callbox/sync/internal/fixture"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
	"callbox/sync/rt"
)

// fake speaks the parts of RT 5's REST2 the box uses, as documented: token auth, ticket
// create answering 201 with the id, comments with base64 Attachments, ETag and If-Match on
// updates (412 on a stale tag), TicketSQL searches with expanded fields.
type fake struct {
	mu      sync.Mutex
	next    int
	users   []ruser
	tickets []*rticket
	// edits, when set, changes a ticket between the box's read and its write (412 test).
	edits int
}

type ruser struct {
	ID                                   int
	Name, RealName, Organization, Mobile string
}

type rticket struct {
	ID        int
	Queue     string
	Subject   string
	Status    string
	Owner     string
	Requestor *ruser
	CF        map[string]string
	version   int
	comments  []string
	attached  []int
	log       []string
}

func newFake(*testing.T) conformance.Fake { return &fake{next: 20} }

func (f *fake) id() int { f.next++; return f.next }

func (f *fake) AddCaller(k conformance.Known) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := ruser{ID: f.id(), Name: "dana", RealName: k.Name, Organization: k.Organization, Mobile: k.Number}
	f.users = append(f.users, u)
	status := "resolved"
	if k.OpenTicket != "" {
		status = "open"
	}
	t := &rticket{ID: f.id(), Queue: "General", Subject: k.OpenTicket, Status: status, Owner: k.Agent, Requestor: &u, CF: map[string]string{}}
	f.tickets = append(f.tickets, t)
	if k.OpenTicket == "" {
		return ""
	}
	return strconv.Itoa(t.ID)
}

func (f *fake) Tickets() []conformance.Ticket {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []conformance.Ticket
	for _, t := range f.tickets {
		out = append(out, conformance.Ticket{ID: strconv.Itoa(t.ID), CallID: t.CF["callbox_call_id"], Subject: t.Subject,
			Comments: t.comments, Attachments: t.attached, Fields: t.CF, Log: t.log})
	}
	return out
}

var (
	ticketPath  = regexp.MustCompile(`^/REST/2.0/ticket/(\d+)$`)
	commentPath = regexp.MustCompile(`^/REST/2.0/ticket/(\d+)/comment$`)
	cfQuery     = regexp.MustCompile(`^'CF\.\{callbox_call_id\}' = '(.*)'$`)
	phoneQuery  = regexp.MustCompile(`^Requestor\.WorkPhone = '(.*)' OR Requestor\.MobilePhone = '(.*)'$`)
)

func (f *fake) ticket(id string) *rticket {
	for _, t := range f.tickets {
		if strconv.Itoa(t.ID) == id {
			return t
		}
	}
	return nil
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Header.Get("Authorization") != "token rt-token" {
		conformance.Reply(w, 401, map[string]string{"message": "Unauthorized"})
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p, q := r.URL.Path, r.URL.Query()
	switch {
	case r.Method == "POST" && p == "/REST/2.0/ticket":
		var in struct {
			Queue, Subject, Content, ContentType, Owner, Requestor string
			CustomFields                                           map[string]string
		}
		json.NewDecoder(r.Body).Decode(&in)
		if in.Queue != "General" {
			conformance.Reply(w, 400, map[string]string{"message": "Invalid queue"})
			return
		}
		if in.Content == "" || in.ContentType != "text/plain" {
			conformance.Reply(w, 400, map[string]string{"message": "Content and ContentType"})
			return
		}
		t := &rticket{ID: f.id(), Queue: in.Queue, Subject: in.Subject, Status: "new", Owner: in.Owner, CF: in.CustomFields,
			comments: []string{in.Content}, log: []string{"create"}}
		if t.CF == nil {
			t.CF = map[string]string{}
		}
		f.tickets = append(f.tickets, t)
		url := fmt.Sprintf("http://%s/REST/2.0/ticket/%d", r.Host, t.ID)
		w.Header().Set("Location", url)
		conformance.Reply(w, 201, map[string]any{"type": "ticket", "id": strconv.Itoa(t.ID), "_url": url})
	case r.Method == "GET" && p == "/REST/2.0/tickets":
		query := q.Get("query")
		items := []map[string]any{}
		if m := cfQuery.FindStringSubmatch(query); m != nil {
			for _, t := range f.tickets {
				if t.CF["callbox_call_id"] == m[1] {
					items = append(items, map[string]any{"type": "ticket", "id": strconv.Itoa(t.ID)})
				}
			}
		} else if m := phoneQuery.FindStringSubmatch(query); m != nil {
			if q.Get("fields[Requestor]") == "" || q.Get("orderby") != "LastUpdated" {
				conformance.Reply(w, 400, map[string]string{"message": "the fake wants the fields and order the adapter asks for"})
				return
			}
			for i := len(f.tickets) - 1; i >= 0; i-- {
				t := f.tickets[i]
				if t.Requestor != nil && t.Requestor.Mobile == m[2] {
					items = append(items, map[string]any{"type": "ticket", "id": t.ID, "Subject": t.Subject, "Status": t.Status,
						"Owner": map[string]any{"Name": t.Owner},
						"Requestor": []map[string]any{{"id": t.Requestor.ID, "Name": t.Requestor.Name, "RealName": t.Requestor.RealName,
							"Organization": t.Requestor.Organization, "MobilePhone": t.Requestor.Mobile, "WorkPhone": ""}}})
				}
			}
		} else {
			conformance.Reply(w, 400, map[string]string{"message": "Invalid query: " + query})
			return
		}
		conformance.Reply(w, 200, map[string]any{"count": len(items), "total": len(items), "page": 1, "per_page": 20, "items": items})
	case r.Method == "POST" && commentPath.MatchString(p):
		t := f.ticket(commentPath.FindStringSubmatch(p)[1])
		if t == nil {
			conformance.Reply(w, 404, map[string]string{"message": "Resource does not exist"})
			return
		}
		var in struct {
			Content, ContentType string
			Attachments          []struct{ FileName, FileType, FileContent string }
		}
		json.NewDecoder(r.Body).Decode(&in)
		t.comments = append(t.comments, in.Content)
		t.log = append(t.log, "comment")
		for _, a := range in.Attachments {
			b, err := base64.StdEncoding.DecodeString(a.FileContent)
			if err != nil || a.FileName == "" || a.FileType == "" {
				conformance.Reply(w, 400, map[string]string{"message": "bad attachment"})
				return
			}
			t.attached = append(t.attached, len(b))
			t.log = append(t.log, "attach")
		}
		t.version++
		conformance.Reply(w, 201, []string{"Comments added"})
	case r.Method == "GET" && ticketPath.MatchString(p):
		t := f.ticket(ticketPath.FindStringSubmatch(p)[1])
		if t == nil {
			conformance.Reply(w, 404, map[string]string{"message": "Resource does not exist"})
			return
		}
		w.Header().Set("ETag", fmt.Sprintf(`"v%d"`, t.version))
		conformance.Reply(w, 200, map[string]any{"id": t.ID, "Subject": t.Subject, "Status": t.Status})
		if f.edits > 0 { // someone edits the ticket right after the box read it
			f.edits--
			t.version++
		}
	case r.Method == "PUT" && ticketPath.MatchString(p):
		t := f.ticket(ticketPath.FindStringSubmatch(p)[1])
		if t == nil {
			conformance.Reply(w, 404, map[string]string{"message": "Resource does not exist"})
			return
		}
		if m := r.Header.Get("If-Match"); m != "" && m != fmt.Sprintf(`"v%d"`, t.version) {
			conformance.Reply(w, 412, map[string]string{"message": "Precondition Failed"})
			return
		}
		var in struct{ CustomFields map[string]string }
		json.NewDecoder(r.Body).Decode(&in)
		for k, v := range in.CustomFields {
			t.CF[k] = v
			t.log = append(t.log, "field")
		}
		t.version++
		conformance.Reply(w, 200, []string{fmt.Sprintf("Ticket %d: custom fields changed", t.ID)})
	default:
		conformance.Reply(w, 404, map[string]string{"message": "Resource does not exist"})
	}
}

const destination = `      token: rt-token
      queue: General
      call_id_field: callbox_call_id
      agents:
        "1001": alice
`

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Suite{
		Kind:              config.KindRT,
		Fake:              newFake,
		Destination:       destination,
		AgentUser:         "alice",
		TicketPath:        "POST /REST/2.0/ticket",
		UploadPath:        "POST /REST/2.0/ticket/",
		SurveyField:       "Satisfaction",
		Build:             conformance.DelivererOf(rt.New),
		Directory:         conformance.DirectoryOf(rt.New),
		FindsBeforeCreate: true,
		NoVIP:             true,
	})
}

// Someone edits the ticket between the box's read and its update: RT answers 412, the box
// reads again and the next attempt lands.
func TestSurveyFieldAfterAConcurrentEdit(t *testing.T) {
	f := newFake(t).(*fake)
	box := fixture.Open(t)
	cfg := fixture.Config(t, fixture.Desk(config.KindRT, fixture.Serve(t, f), destination+"      tickets:\n        survey: field\n        survey_field: Satisfaction\n"))
	r := rt.New(cfg.Sync.Destinations[0], box.Deps())
	rec := box.Call(t, "edit-1", time.Now())
	rec.Recording = nil
	rows := box.Finish(t, cfg, rec, lookup.Caller{})
	ticket := r.Deliver(context.Background(), fixture.Delivery(rows[0]))
	if ticket.Outcome != outbox.Done {
		t.Fatal(ticket.Err)
	}
	survey := fixture.Delivery(rows[1])
	survey.DependencyRef = ticket.RemoteRef
	f.mu.Lock()
	f.edits = 1
	f.mu.Unlock()
	if res := r.Deliver(context.Background(), survey); res.Outcome != outbox.Reread {
		t.Fatalf("a stale ETag: %v %v, want reread", res.Outcome, res.Err)
	}
	survey.Attempt = 2
	if res := r.Deliver(context.Background(), survey); res.Outcome != outbox.Done {
		t.Fatalf("after re-reading: %v %v", res.Outcome, res.Err)
	}
	if got := f.Tickets()[0].Fields["Satisfaction"]; got != "4" {
		t.Fatalf("Satisfaction = %q", got)
	}
}

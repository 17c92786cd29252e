package zammad_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"callbox"
	"callbox/config"
	"callbox/sync/internal/conformance"
	"callbox/sync/internal/fixture"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
	"callbox/sync/zammad"
)

// fake speaks the parts of Zammad's REST API v1 and generic CTI API the box uses, as
// documented: token auth, users search and create, tickets with a first article and custom
// attributes, ticket articles with base64 attachments, ticket search with expand, CTI events.
type fake struct {
	mu      sync.Mutex
	next    int64
	users   []zuser
	orgs    map[int64]string
	tickets []*zticket
	cti     []map[string]any
}

type zuser struct {
	ID        int64  `json:"id"`
	Firstname string `json:"firstname"`
	Lastname  string `json:"lastname"`
	Phone     string `json:"phone"`
	Mobile    string `json:"mobile"`
	OrgID     int64  `json:"organization_id,omitempty"`
	VIP       bool   `json:"vip"`
}

type zticket struct {
	ID       int64  `json:"id"`
	Number   string `json:"number"`
	Title    string `json:"title"`
	State    string `json:"state"`
	Customer int64  `json:"customer_id"`
	Owner    int64  `json:"owner_id"`
	fields   map[string]string
	articles []string
	attached []int
	log      []string
}

func newFake(*testing.T) conformance.Fake { return &fake{next: 100, orgs: map[int64]string{}} }

func (f *fake) id() int64 { f.next++; return f.next }

func (f *fake) AddCaller(k conformance.Known) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	first, last, _ := strings.Cut(k.Name, " ")
	u := zuser{ID: f.id(), Firstname: first, Lastname: last, Phone: "+1 (555) " + k.Number[5:8] + "-" + k.Number[8:], VIP: k.VIP}
	if k.Organization != "" {
		u.OrgID = f.id()
		f.orgs[u.OrgID] = k.Organization
	}
	f.users = append(f.users, u)
	if k.OpenTicket == "" {
		return ""
	}
	owner, _ := strconv.ParseInt(k.Agent, 10, 64)
	t := &zticket{ID: f.id(), Title: k.OpenTicket, State: "open", Customer: u.ID, Owner: owner, fields: map[string]string{}}
	f.tickets = append(f.tickets, t)
	return strconv.FormatInt(t.ID, 10)
}

func (f *fake) Tickets() []conformance.Ticket {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []conformance.Ticket
	for _, t := range f.tickets {
		out = append(out, conformance.Ticket{ID: strconv.FormatInt(t.ID, 10), CallID: t.fields["callbox_call_id"],
			Subject: t.Title, Comments: t.articles, Attachments: t.attached, Fields: t.fields, Log: t.log})
	}
	return out
}

var (
	ticketPath = regexp.MustCompile(`^/api/v1/tickets/(\d+)$`)
	orgPath    = regexp.MustCompile(`^/api/v1/organizations/(\d+)$`)
	digits     = regexp.MustCompile(`\D`)
)

func (f *fake) ticket(id int64) *zticket {
	for _, t := range f.tickets {
		if t.ID == id {
			return t
		}
	}
	return nil
}

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	defer f.mu.Unlock()
	p, q := r.URL.Path, r.URL.Query()
	if strings.HasPrefix(p, "/api/v1/cti/") {
		if p != "/api/v1/cti/cti-secret" || r.Header.Get("Authorization") != "" {
			conformance.Reply(w, 401, map[string]string{"error": "Invalid token"})
			return
		}
		var ev map[string]any
		json.NewDecoder(r.Body).Decode(&ev)
		f.cti = append(f.cti, ev)
		conformance.Reply(w, 200, map[string]any{})
		return
	}
	if r.Header.Get("Authorization") != "Token token=zm-token" {
		conformance.Reply(w, 401, map[string]string{"error": "Invalid token!"})
		return
	}
	switch {
	case r.Method == "GET" && p == "/api/v1/users/search":
		res := []zuser{}
		for _, u := range f.users {
			if d := q.Get("query"); strings.HasSuffix(digits.ReplaceAllString(u.Phone, ""), d[len(d)-7:]) {
				res = append(res, u)
			}
		}
		conformance.Reply(w, 200, res)
	case r.Method == "POST" && p == "/api/v1/users":
		var u zuser
		json.NewDecoder(r.Body).Decode(&u)
		u.ID = f.id()
		f.users = append(f.users, u)
		conformance.Reply(w, 201, u)
	case r.Method == "POST" && p == "/api/v1/tickets":
		var in map[string]any
		json.NewDecoder(r.Body).Decode(&in)
		art, _ := in["article"].(map[string]any)
		switch {
		case in["group"] != "Users":
			conformance.Reply(w, 422, map[string]string{"error": "No lookup value found for 'group': \"" + fmt.Sprint(in["group"]) + "\""})
			return
		case in["title"] == nil || in["customer_id"] == nil || art == nil || art["body"] == nil || art["type"] != "phone":
			conformance.Reply(w, 422, map[string]string{"error": "Need title, customer_id and a phone article"})
			return
		}
		t := &zticket{ID: f.id(), Title: in["title"].(string), State: "new", fields: map[string]string{},
			articles: []string{art["body"].(string)}, log: []string{"create"}}
		t.Number = strconv.FormatInt(31000+t.ID, 10)
		if c, ok := in["customer_id"].(float64); ok {
			t.Customer = int64(c)
		}
		if v, ok := in["callbox_call_id"]; ok {
			t.fields["callbox_call_id"] = fmt.Sprint(v)
		}
		f.tickets = append(f.tickets, t)
		conformance.Reply(w, 201, t)
	case r.Method == "GET" && p == "/api/v1/tickets/search":
		if q.Get("expand") != "true" {
			conformance.Reply(w, 200, map[string]any{"tickets": []int64{}, "tickets_count": 0})
			return
		}
		res := []*zticket{}
		query := q.Get("query")
		for i := len(f.tickets) - 1; i >= 0; i-- {
			t := f.tickets[i]
			if query == "callbox_call_id:"+t.fields["callbox_call_id"] || query == fmt.Sprintf("customer_id:%d", t.Customer) {
				res = append(res, t)
			}
		}
		conformance.Reply(w, 200, res)
	case r.Method == "POST" && p == "/api/v1/ticket_articles":
		var in struct {
			TicketID    int64  `json:"ticket_id"`
			Body        string `json:"body"`
			Type        string `json:"type"`
			Internal    bool   `json:"internal"`
			Attachments []struct {
				Filename string `json:"filename"`
				Data     string `json:"data"`
				MimeType string `json:"mime-type"`
			} `json:"attachments"`
		}
		json.NewDecoder(r.Body).Decode(&in)
		t := f.ticket(in.TicketID)
		if t == nil {
			conformance.Reply(w, 404, map[string]string{"error": "Not authorized"})
			return
		}
		if in.Body == "" || in.Type != "note" || !in.Internal {
			conformance.Reply(w, 422, map[string]string{"error": "internal note with a body"})
			return
		}
		t.articles = append(t.articles, in.Body)
		t.log = append(t.log, "comment")
		for _, a := range in.Attachments {
			b, err := base64.StdEncoding.DecodeString(a.Data)
			if err != nil || a.Filename == "" || a.MimeType != "audio/wav" {
				conformance.Reply(w, 422, map[string]string{"error": "bad attachment"})
				return
			}
			t.attached = append(t.attached, len(b))
			t.log = append(t.log, "attach")
		}
		conformance.Reply(w, 201, map[string]any{"id": f.id(), "ticket_id": t.ID})
	case r.Method == "PUT" && ticketPath.MatchString(p):
		id, _ := strconv.ParseInt(ticketPath.FindStringSubmatch(p)[1], 10, 64)
		t := f.ticket(id)
		if t == nil {
			conformance.Reply(w, 404, nil)
			return
		}
		var in map[string]any
		json.NewDecoder(r.Body).Decode(&in)
		for k, v := range in {
			t.fields[k] = fmt.Sprint(v)
			t.log = append(t.log, "field")
		}
		conformance.Reply(w, 200, t)
	case r.Method == "GET" && orgPath.MatchString(p):
		id, _ := strconv.ParseInt(orgPath.FindStringSubmatch(p)[1], 10, 64)
		conformance.Reply(w, 200, map[string]any{"id": id, "name": f.orgs[id]})
	default:
		conformance.Reply(w, 404, map[string]string{"error": "No route matches"})
	}
}

func TestConformance(t *testing.T) {
	conformance.Run(t, conformance.Suite{
		Kind: config.KindZammad,
		Fake: newFake,
		Destination: `      token: zm-token
      group: Users
      call_id_field: callbox_call_id
      agents:
        "1001": "17"
`,
		AgentUser:         "17",
		TicketPath:        "POST /api/v1/tickets",
		UploadPath:        "POST /api/v1/ticket_articles",
		SurveyField:       "survey_score",
		Build:             conformance.DelivererOf(zammad.New),
		Directory:         conformance.DirectoryOf(zammad.New),
		FindsBeforeCreate: true,
	})
}

// With a CTI token the call also goes to Zammad's caller log, before its ticket.
func TestCallerLogThroughCTI(t *testing.T) {
	f := newFake(t).(*fake)
	box := fixture.Open(t)
	cfg := fixture.Config(t, fixture.Desk(config.KindZammad, fixture.Serve(t, f), `      token: zm-token
      cti_token: cti-secret
      group: Users
      agents:
        "1001": "alice@acme.test"
`))
	z := zammad.New(cfg.Sync.Destinations[0], box.Deps())
	answered := box.Call(t, "cti-1", time.Now())
	answered.Recording, answered.Survey = nil, 0
	missed := box.Call(t, "cti-2", time.Now())
	missed.Recording, missed.Survey, missed.Answered, missed.Agent, missed.Result, missed.Cause = nil, 0, nil, "", "missed", "no-answer"
	for _, rec := range []*callbox.Record{answered, missed} {
		rows := box.Finish(t, cfg, rec, lookup.Caller{})
		if len(rows) != 2 || rows[0].Kind != "cti" || rows[1].Kind != "ticket" {
			t.Fatalf("rows: %+v", rows)
		}
		if r := z.Deliver(context.Background(), fixture.Delivery(rows[0])); r.Outcome != outbox.Done {
			t.Fatal(r.Err)
		}
	}
	var got []string
	for _, ev := range f.cti {
		got = append(got, fmt.Sprintf("%s %s %s %s %v %v", ev["event"], ev["callId"], ev["from"], ev["direction"], ev["answeringNumber"], ev["cause"]))
	}
	want := []string{
		"newCall cti-1 15551230001 in <nil> <nil>",
		"answer cti-1 15551230001 in alice@acme.test <nil>",
		"hangup cti-1 15551230001 in alice@acme.test normalClearing",
		"newCall cti-2 15551230001 in <nil> <nil>",
		"hangup cti-2 15551230001 in <nil> noAnswer",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("CTI events:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

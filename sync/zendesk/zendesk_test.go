package zendesk_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"slices"
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
	"callbox/sync/zendesk"
)

const (
	agentID = 900001 // the Zendesk user of extension 1001
	user    = "agent@acme.test"
	token   = "zd-token"
)

// fake speaks the parts of the Zendesk API the box uses, as documented: Basic auth with
// email/token, the Talk Partner Edition ticket endpoint with its via ids and display_to_agent
// check, idempotency keys, uploads, ticket updates, search and users.
type fake struct {
	mu       sync.Mutex
	next     int64
	users    []*zuser
	orgs     map[int64]string
	tickets  []*zticket
	uploads  map[string]int
	idem     map[string][]byte
	idemBody map[string]string
	requests []string
	pops     []string
}

type zuser struct {
	ID         int64    `json:"id"`
	Name       string   `json:"name"`
	Phone      string   `json:"phone"`
	OrgID      int64    `json:"organization_id,omitempty"`
	Tags       []string `json:"tags"`
	ExternalID string   `json:"external_id,omitempty"`
}

type zticket struct {
	ID         int64  `json:"id"`
	ExternalID string `json:"external_id,omitempty"`
	Subject    string `json:"subject"`
	Status     string `json:"status"`
	Requester  int64  `json:"requester_id"`
	Assignee   int64  `json:"assignee_id,omitempty"`
	Via        int    `json:"-"`
	comments   []string
	uploads    []int
	fields     map[string]string
	log        []string
}

func newFake(*testing.T) conformance.Fake {
	return &fake{next: 1000, orgs: map[int64]string{}, uploads: map[string]int{}, idem: map[string][]byte{}, idemBody: map[string]string{}}
}

func (f *fake) id() int64 { f.next++; return f.next }

func (f *fake) AddCaller(k conformance.Known) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	u := &zuser{ID: f.id(), Name: k.Name, Phone: k.Number, Tags: []string{}}
	if k.VIP {
		u.Tags = append(u.Tags, "vip")
	}
	if k.Organization != "" {
		u.OrgID = f.id()
		f.orgs[u.OrgID] = k.Organization
	}
	f.users = append(f.users, u)
	if k.OpenTicket == "" {
		return ""
	}
	agent, _ := strconv.ParseInt(k.Agent, 10, 64)
	t := &zticket{ID: f.id(), Subject: k.OpenTicket, Status: "open", Requester: u.ID, Assignee: agent, fields: map[string]string{}}
	f.tickets = append(f.tickets, t)
	return strconv.FormatInt(t.ID, 10)
}

func (f *fake) Tickets() []conformance.Ticket {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []conformance.Ticket
	for _, t := range f.tickets {
		out = append(out, conformance.Ticket{ID: strconv.FormatInt(t.ID, 10), CallID: t.ExternalID, Subject: t.Subject,
			Comments: t.comments, Attachments: t.uploads, Fields: t.fields, Log: t.log})
	}
	return out
}

var (
	ticketPath  = regexp.MustCompile(`^/api/v2/tickets/(\d+)\.json$`)
	orgPath     = regexp.MustCompile(`^/api/v2/organizations/(\d+)\.json$`)
	displayPath = regexp.MustCompile(`^/api/v2/channels/voice/agents/(\d+)/tickets/(\d+)/display\.json$`)
	phoneQuery  = regexp.MustCompile(`^type:user phone:"(.+)"$`)
	reqQuery    = regexp.MustCompile(`^type:ticket requester_id:(\d+)$`)
)

func (f *fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user+"/token:"+token))
	if r.Header.Get("Authorization") != want {
		conformance.Reply(w, 401, map[string]string{"error": "Couldn't authenticate you"})
		return
	}
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = append(f.requests, r.Method+" "+r.URL.Path)
	p := r.URL.Path
	switch {
	case r.Method == "GET" && p == "/api/v2/search.json":
		q := r.URL.Query().Get("query")
		var results []any
		if m := phoneQuery.FindStringSubmatch(q); m != nil {
			for _, u := range f.users {
				if u.Phone == m[1] {
					results = append(results, u)
				}
			}
		} else if m := reqQuery.FindStringSubmatch(q); m != nil {
			id, _ := strconv.ParseInt(m[1], 10, 64)
			for i := len(f.tickets) - 1; i >= 0; i-- {
				if f.tickets[i].Requester == id {
					results = append(results, f.tickets[i])
				}
			}
		} else {
			conformance.Reply(w, 400, map[string]string{"error": "unsupported query " + q})
			return
		}
		conformance.Reply(w, 200, map[string]any{"results": results, "count": len(results)})
	case r.Method == "POST" && p == "/api/v2/users/create_or_update.json":
		var in struct{ User zuser }
		json.Unmarshal(body, &in)
		for _, u := range f.users {
			if in.User.ExternalID != "" && u.ExternalID == in.User.ExternalID {
				conformance.Reply(w, 200, map[string]any{"user": u})
				return
			}
		}
		u := in.User
		u.ID = f.id()
		f.users = append(f.users, &u)
		conformance.Reply(w, 201, map[string]any{"user": u})
	case r.Method == "GET" && orgPath.MatchString(p):
		id, _ := strconv.ParseInt(orgPath.FindStringSubmatch(p)[1], 10, 64)
		conformance.Reply(w, 200, map[string]any{"organization": map[string]any{"id": id, "name": f.orgs[id]}})
	case r.Method == "POST" && p == "/api/v2/channels/voice/tickets.json":
		f.createTicket(w, r, body)
	case r.Method == "GET" && p == "/api/v2/tickets.json":
		var out []*zticket
		for _, t := range f.tickets {
			if ext := r.URL.Query().Get("external_id"); ext != "" && t.ExternalID == ext {
				out = append(out, t)
			}
		}
		conformance.Reply(w, 200, map[string]any{"tickets": out})
	case r.Method == "PUT" && ticketPath.MatchString(p):
		f.updateTicket(w, ticketPath.FindStringSubmatch(p)[1], body)
	case r.Method == "POST" && p == "/api/v2/uploads.json":
		if r.URL.Query().Get("filename") == "" || r.Header.Get("Content-Type") != "audio/wav" {
			conformance.Reply(w, 400, map[string]string{"error": "filename and content type"})
			return
		}
		tok := fmt.Sprintf("tok%d", f.id())
		f.uploads[tok] = len(body)
		conformance.Reply(w, 201, map[string]any{"upload": map[string]any{"token": tok}})
	case r.Method == "POST" && displayPath.MatchString(p):
		m := displayPath.FindStringSubmatch(p)
		f.pops = append(f.pops, m[1]+"/"+m[2])
		conformance.Reply(w, 200, map[string]any{})
	default:
		conformance.Reply(w, 404, map[string]string{"error": "InvalidEndpoint"})
	}
}

func (f *fake) createTicket(w http.ResponseWriter, r *http.Request, body []byte) {
	key := r.Header.Get("Idempotency-Key")
	if prevBody, ok := f.idemBody[key]; ok && key != "" && prevBody != string(body) {
		conformance.Reply(w, 400, map[string]string{"error": "IdempotentRequestError", "description": "the same key with another payload"})
		return
	}
	if prev, ok := f.idem[key]; ok && key != "" {
		w.Header().Set("x-idempotency-lookup", "hit")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(201)
		w.Write(prev)
		return
	}
	var in struct {
		Display int64 `json:"display_to_agent"`
		Ticket  struct {
			Via        int    `json:"via_id"`
			Subject    string `json:"subject"`
			ExternalID string `json:"external_id"`
			Requester  int64  `json:"requester_id"`
			Assignee   int64  `json:"assignee_id"`
			Comment    struct {
				Body   string `json:"body"`
				Public *bool  `json:"public"`
			} `json:"comment"`
			Voice map[string]any `json:"voice_comment"`
		} `json:"ticket"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		conformance.Reply(w, 400, map[string]string{"error": "bad json"})
		return
	}
	t := in.Ticket
	switch {
	case in.Display != 0 && in.Display != agentID:
		conformance.Reply(w, 422, map[string]string{"error": "InvalidValue", "description": "display_to_agent is not a valid agent"})
		return
	case !slices.Contains([]int{44, 45, 46}, t.Via):
		conformance.Reply(w, 422, map[string]string{"error": "RecordInvalid", "description": "via_id"})
		return
	case t.Via == 44 && t.Voice["recording_url"] == nil:
		conformance.Reply(w, 422, map[string]string{"error": "RecordInvalid", "description": "a voicemail needs its recording_url"})
		return
	case t.Voice["from"] == nil || t.Voice["to"] == nil || t.Comment.Public == nil || *t.Comment.Public:
		conformance.Reply(w, 422, map[string]string{"error": "RecordInvalid", "description": "voice comment or private comment"})
		return
	}
	tk := &zticket{ID: f.id(), ExternalID: t.ExternalID, Subject: t.Subject, Status: "new", Requester: t.Requester,
		Assignee: t.Assignee, Via: t.Via, comments: []string{t.Comment.Body}, fields: map[string]string{}, log: []string{"create"}}
	f.tickets = append(f.tickets, tk)
	if in.Display != 0 {
		f.pops = append(f.pops, fmt.Sprintf("%d/%d", in.Display, tk.ID))
	}
	out, _ := json.Marshal(map[string]any{"ticket": tk})
	if key != "" {
		f.idem[key], f.idemBody[key] = out, string(body)
	}
	w.Header().Set("x-idempotency-lookup", "miss")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(201)
	w.Write(out)
}

func (f *fake) updateTicket(w http.ResponseWriter, id string, body []byte) {
	var tk *zticket
	for _, t := range f.tickets {
		if strconv.FormatInt(t.ID, 10) == id {
			tk = t
		}
	}
	if tk == nil {
		conformance.Reply(w, 404, map[string]string{"error": "RecordNotFound"})
		return
	}
	var in struct {
		Ticket struct {
			Comment *struct {
				Body    string   `json:"body"`
				Public  bool     `json:"public"`
				Uploads []string `json:"uploads"`
			} `json:"comment"`
			Fields []struct {
				ID    int64 `json:"id"`
				Value any   `json:"value"`
			} `json:"custom_fields"`
		} `json:"ticket"`
	}
	json.Unmarshal(body, &in)
	if c := in.Ticket.Comment; c != nil {
		tk.comments = append(tk.comments, c.Body)
		tk.log = append(tk.log, "comment")
		for _, tok := range c.Uploads {
			size, ok := f.uploads[tok]
			if !ok {
				conformance.Reply(w, 422, map[string]string{"error": "RecordInvalid", "description": "upload token"})
				return
			}
			tk.uploads = append(tk.uploads, size)
			tk.log = append(tk.log, "attach")
		}
	}
	for _, fl := range in.Ticket.Fields {
		tk.fields[strconv.FormatInt(fl.ID, 10)] = fmt.Sprint(fl.Value)
		tk.log = append(tk.log, "field")
	}
	conformance.Reply(w, 200, map[string]any{"ticket": tk})
}

var suite = conformance.Suite{
	Kind: config.KindZendesk,
	Fake: newFake,
	Destination: `      user: agent@acme.test
      token: zd-token
      agents:
        "1001": "900001"
`,
	AgentUser:         "900001",
	TicketPath:        "POST /api/v2/channels/voice/tickets",
	UploadPath:        "POST /api/v2/uploads",
	SurveyField:       "360017192714",
	Build:             conformance.DelivererOf(zendesk.New),
	Directory:         conformance.DirectoryOf(zendesk.New),
	FindsBeforeCreate: true,
}

func TestConformance(t *testing.T) { conformance.Run(t, suite) }

// A call delivered soon after its hang-up pops the new voice ticket on the screen of the
// agent who answered; a voicemail is via_id 44, an outbound call 46.
func TestVoiceTicketsViaAndScreenPop(t *testing.T) {
	f := newFake(t).(*fake)
	box := fixture.Open(t)
	cfg := fixture.Config(t, fixture.Desk(config.KindZendesk, fixture.Serve(t, f), fmt.Sprintf(`      user: %s
      token: %s
      recording: link
      agents:
        "1001": "%d"
`, user, token, agentID)))
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	now := start.Add(2 * time.Minute) // the call ended a minute ago
	deps := box.Deps()
	deps.Now = func() time.Time { return now }
	z := zendesk.New(cfg.Sync.Destinations[0], deps)

	deliver := func(id string, mutate func(*callbox.Record)) outbox.Result {
		t.Helper()
		rec := box.Call(t, id, start)
		if mutate != nil {
			mutate(rec)
		}
		rows := box.Finish(t, cfg, rec, lookup.Caller{})
		return z.Deliver(context.Background(), fixture.Delivery(rows[0]))
	}
	if r := deliver("pop-1", nil); r.Outcome != outbox.Done {
		t.Fatal(r.Err)
	}
	if r := deliver("vm-1", func(r *callbox.Record) { r.Answered, r.Agent, r.Result = nil, "", "voicemail" }); r.Outcome != outbox.Done {
		t.Fatal(r.Err)
	}
	if r := deliver("out-1", func(r *callbox.Record) { r.Direction, r.From, r.To = callbox.Outbound, "1001", "+15557654321" }); r.Outcome != outbox.Done {
		t.Fatal(r.Err)
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	vias := map[string]int{}
	for _, tk := range f.tickets {
		vias[tk.ExternalID] = tk.Via
	}
	if vias["pop-1"] != zendesk.ViaInbound || vias["vm-1"] != zendesk.ViaVoicemail || vias["out-1"] != zendesk.ViaOutbound {
		t.Errorf("via ids: %v", vias)
	}
	if len(f.pops) != 2 || !strings.HasPrefix(f.pops[0], fmt.Sprint(agentID)+"/") {
		t.Errorf("screen pops: %v (the answered inbound and outbound calls, not the voicemail)", f.pops)
	}
	// The requester was made once, keyed by the number, and found again for the next calls.
	n := 0
	for _, u := range f.users {
		if u.Phone == "+15551230001" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d users for one caller", n)
	}
}

// Zendesk keeps idempotency keys about two hours; a retry later than that (the box was cut
// off for a day) finds the ticket by its external_id instead of making a second.
func TestRetryAfterTheIdempotencyKeyExpiredFindsTheTicket(t *testing.T) {
	f := newFake(t).(*fake)
	box := fixture.Open(t)
	cfg := fixture.Config(t, fixture.Desk(config.KindZendesk, fixture.Serve(t, f), fmt.Sprintf("      user: %s\n      token: %s\n", user, token)))
	z := zendesk.New(cfg.Sync.Destinations[0], box.Deps())
	rows := box.Finish(t, cfg, box.Call(t, "late-1", time.Now()), lookup.Caller{})
	d := fixture.Delivery(rows[0])
	first := z.Deliver(context.Background(), d)
	if first.Outcome != outbox.Done {
		t.Fatal(first.Err)
	}
	f.mu.Lock()
	clear(f.idem) // two hours later
	clear(f.idemBody)
	f.mu.Unlock()
	d.Attempt = 2
	second := z.Deliver(context.Background(), d)
	if second.Outcome != outbox.Done || second.RemoteRef != first.RemoteRef || len(f.Tickets()) != 1 {
		t.Fatalf("retry: %+v, first %s, %d tickets", second, first.RemoteRef, len(f.Tickets()))
	}
}

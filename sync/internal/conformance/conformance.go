// Package conformance is the test suite every helpdesk adapter passes against a fake of its
// helpdesk that speaks the documented requests and answers: the whole flow of a call
// (ticket, recording, survey) through the outbox, each failure class (429 with Retry-After,
// 5xx, 401, 422, timeouts, a connection reset in the middle of an upload, an answer lost
// after the ticket was made) and the caller look-ups (found, not found, slow, down).
package conformance

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	"callbox"
	"callbox/config"
	"callbox/sync/adapter"
	"callbox/sync/internal/fault"
	"callbox/sync/internal/fixture"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
)

// Known is a caller the fake helpdesk knows.
type Known struct {
	Number, Name, Organization string
	VIP                        bool
	// OpenTicket, when set, is the subject of an open ticket of theirs, assigned to Agent.
	OpenTicket string
	Agent      string // a helpdesk user
}

// Ticket is a ticket as the fake keeps it.
type Ticket struct {
	ID          string
	CallID      string // the box's call id, as the helpdesk stores it ("" if it cannot)
	Subject     string
	Comments    []string
	Attachments []int             // sizes of the attached files
	Fields      map[string]string // custom fields
	Log         []string          // what happened to it, in order: create, comment, attach, field
}

// Fake is a fake helpdesk.
type Fake interface {
	http.Handler
	// AddCaller makes a known caller and returns the id of their open ticket ("" if none).
	AddCaller(k Known) string
	Tickets() []Ticket
}

// Suite describes an adapter for Run.
type Suite struct {
	Kind string
	Fake func(t *testing.T) Fake
	// Destination is the destination's YAML keys besides name, kind, url and tickets,
	// indented by six spaces (credentials, agents: extension 1001 must map to AgentUser).
	Destination string
	AgentUser   string
	TicketPath  string // "METHOD /path" prefix of the request that makes a ticket
	UploadPath  string // prefix of the request that carries the recording
	// SurveyField is the field the destination's policy puts scores in ("" for a comment).
	SurveyField string
	Build       func(d config.SyncDestination, deps adapter.Deps) outbox.Deliverer
	Directory   func(d config.SyncDestination, deps adapter.Deps) lookup.Directory // nil: no look-ups
	// FindsBeforeCreate: after an unknown outcome the adapter finds the ticket it made
	// instead of making another (false only where the helpdesk's API cannot search).
	FindsBeforeCreate bool
	// NoVIP: the helpdesk has no VIP mark (RT).
	NoVIP bool
	// SingleStep: the ticket carries the recording and score itself (osTicket).
	SingleStep bool
}

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// env is one test's helpdesk, box and adapter.
type env struct {
	t    *testing.T
	s    Suite
	fake Fake
	inj  *fault.Injector
	box  *fixture.Box
	cfg  *config.Config
	dest config.SyncDestination
	deps adapter.Deps
	dl   outbox.Deliverer
}

func newEnv(t *testing.T, s Suite, answered string) *env {
	e := &env{t: t, s: s, fake: s.Fake(t), box: fixture.Open(t)}
	e.inj = fault.New(e.fake)
	url := fixture.Serve(t, e.inj)
	tickets := "      tickets:\n"
	if answered != "" {
		tickets += "        answered: " + answered + "\n"
	}
	if s.SurveyField != "" {
		tickets += "        survey: field\n        survey_field: \"" + s.SurveyField + "\"\n"
	}
	e.cfg = fixture.Config(t, fixture.Desk(s.Kind, url, "      timeout: 1s\n"+s.Destination+tickets))
	e.dest = e.cfg.Sync.Destinations[0]
	e.deps = e.box.Deps()
	e.dl = s.Build(e.dest, e.deps)
	return e
}

// finish writes a call and returns its rows as deliveries.
func (e *env) finish(id string, mutate func(*callbox.Record), caller lookup.Caller) []outbox.Delivery {
	e.t.Helper()
	rec := e.box.Recorded(e.t, e.box.Call(e.t, id, t0))
	if mutate != nil {
		mutate(rec)
	}
	rows := e.box.Finish(e.t, e.cfg, rec, caller)
	var out []outbox.Delivery
	for _, r := range rows {
		d := fixture.Delivery(r)
		d.Created = t0
		out = append(out, d)
	}
	return out
}

// drain delivers everything through a real outbox manager.
func (e *env) drain() {
	e.t.Helper()
	m, err := outbox.NewManager(outbox.Options{DB: e.box.DB.SQL(), Poll: 20 * time.Millisecond})
	if err != nil {
		e.t.Fatal(err)
	}
	m.Configure(context.Background(), []outbox.Destination{{Name: "desk", Deliverer: e.dl, MaxBackoff: 100 * time.Millisecond}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(20 * time.Second)
	for {
		sts, err := m.Status(context.Background())
		if err != nil {
			e.t.Fatal(err)
		}
		st := sts[0]
		if st.Dead > 0 || st.Paused {
			e.t.Fatalf("delivery failed: %+v", st)
		}
		if st.Pending+st.InFlight == 0 {
			return
		}
		if time.Now().After(deadline) {
			e.t.Fatalf("not drained in 20s: %+v", st)
		}
		time.Sleep(10 * time.Millisecond) // polling the status: the manager has no drained event
	}
}

func (e *env) ticketOf(callID string) Ticket {
	e.t.Helper()
	var found []Ticket
	for _, tk := range e.fake.Tickets() {
		if tk.CallID == callID || tk.CallID == "" && strings.Contains(strings.Join(tk.Comments, "\n"), "Call id: "+callID) {
			found = append(found, tk)
		}
	}
	if len(found) != 1 {
		e.t.Fatalf("want one ticket for call %s, found %d: %+v", callID, len(found), e.fake.Tickets())
	}
	return found[0]
}

// Run runs the suite.
func Run(t *testing.T, s Suite) {
	t.Run("call with recording and survey", func(t *testing.T) { testFlow(t, s) })
	t.Run("missed call and voicemail", func(t *testing.T) { testMissedAndVoicemail(t, s) })
	t.Run("failures are classified", func(t *testing.T) { testFailures(t, s) })
	t.Run("reset in the middle of an upload", func(t *testing.T) { testResetMidUpload(t, s) })
	t.Run("answer lost after the ticket was made", func(t *testing.T) { testLostAnswer(t, s) })
	if s.Directory != nil {
		t.Run("look-ups", func(t *testing.T) { testLookups(t, s) })
		t.Run("open ticket gets the comment", func(t *testing.T) { testOpenTicket(t, s) })
	}
}

func testFlow(t *testing.T, s Suite) {
	e := newEnv(t, s, "")
	e.finish("flow-1", nil, lookup.Caller{})
	e.drain()
	tk := e.ticketOf("flow-1")
	if !strings.HasPrefix(tk.Subject, "Call from Dana Scully") {
		t.Errorf("subject %q", tk.Subject)
	}
	if len(tk.Attachments) != 1 || tk.Attachments[0] != 8044 {
		t.Errorf("want the 8044-byte recording attached once, got %v", tk.Attachments)
	}
	body := strings.Join(tk.Comments, "\n")
	for _, want := range []string{"Answered by: Alice (1001)", "Talk time: 1 min 3 s", "Call id: flow-1"} {
		if !strings.Contains(body, want) {
			t.Errorf("the ticket's text lacks %q:\n%s", want, body)
		}
	}
	if s.SurveyField != "" {
		if tk.Fields[s.SurveyField] != "4" {
			t.Errorf("survey field %s = %q, want 4", s.SurveyField, tk.Fields[s.SurveyField])
		}
	} else if !strings.Contains(body, "scored the call 4 of 5") {
		t.Errorf("the survey score is missing:\n%s", body)
	}
	if len(tk.Log) == 0 || tk.Log[0] != "create" {
		t.Fatalf("log %v", tk.Log)
	}
	attach, survey := index(tk.Log, "attach"), max(index(tk.Log, "field"), lastIndex(tk.Log, "comment"))
	if attach < 0 || s.SurveyField != "" && survey < attach {
		t.Errorf("steps out of order: %v", tk.Log)
	}
}

func testMissedAndVoicemail(t *testing.T, s Suite) {
	e := newEnv(t, s, "")
	e.finish("missed-1", func(r *callbox.Record) {
		r.Answered, r.Agent, r.Result, r.Cause, r.TalkTime, r.Recording, r.Survey = nil, "", "abandoned", "cancelled", 0, nil, 0
	}, lookup.Caller{})
	e.finish("vm-1", func(r *callbox.Record) {
		r.Answered, r.Agent, r.Result, r.TalkTime, r.Survey = nil, "", "voicemail", 0, 0
		r.Recording.Kind = "voicemail"
	}, lookup.Caller{})
	e.drain()
	missed := e.ticketOf("missed-1")
	if !strings.HasPrefix(missed.Subject, "Call back Dana Scully") || len(missed.Attachments) != 0 {
		t.Errorf("callback ticket: %+v", missed)
	}
	if !strings.Contains(strings.Join(missed.Comments, "\n"), "Please call back +15551230001") {
		t.Errorf("callback text: %v", missed.Comments)
	}
	vm := e.ticketOf("vm-1")
	if !strings.HasPrefix(vm.Subject, "Voicemail from Dana Scully") || len(vm.Attachments) != 1 {
		t.Errorf("voicemail ticket: %+v", vm)
	}
}

func testFailures(t *testing.T, s Suite) {
	cases := []struct {
		name  string
		fault fault.Fault
		want  outbox.Outcome
		after time.Duration
	}{
		{"429 with Retry-After", fault.Fault{Status: 429, RetryAfter: "7", Body: `{"error":"rate limited"}`}, outbox.Retry, 7 * time.Second},
		{"500", fault.Fault{Status: 500, Body: `{"error":"boom"}`}, outbox.Retry, 0},
		{"503 with a date", fault.Fault{Status: 503, RetryAfter: time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)}, outbox.Retry, time.Hour},
		{"401", fault.Fault{Status: 401, Body: `{"error":"Couldn't authenticate you"}`}, outbox.Pause, 0},
		{"403", fault.Fault{Status: 403}, outbox.Pause, 0},
		{"422", fault.Fault{Status: 422, Body: `{"error":"RecordInvalid","description":"Record validation errors"}`}, outbox.Dead, 0},
		{"400", fault.Fault{Status: 400, Body: `{"errors":[{"field":"subject","message":"missing"}]}`}, outbox.Dead, 0},
		{"409", fault.Fault{Status: 409}, outbox.Reread, 0},
		{"timeout", fault.Fault{Delay: 3 * time.Second}, outbox.Retry, 0},
		{"connection reset", fault.Fault{Down: true}, outbox.Retry, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, s, "")
			rows := e.finish("fail-1", nil, lookup.Caller{})
			tc.fault.Match = s.TicketPath
			e.inj.Always(tc.fault)
			res := e.dl.Deliver(context.Background(), rows[0])
			if res.Outcome != tc.want {
				t.Fatalf("outcome %v (%v), want %v", res.Outcome, res.Err, tc.want)
			}
			if tc.after > 0 && (res.RetryAfter < tc.after-2*time.Second || res.RetryAfter > tc.after) {
				t.Errorf("RetryAfter %s, want about %s", res.RetryAfter, tc.after)
			}
			if res.Err == nil {
				t.Error("a failure without an error message")
			}
			e.inj.Clear()
			rows[0].Attempt = 2
			if res := e.dl.Deliver(context.Background(), rows[0]); res.Outcome != outbox.Done || res.RemoteRef == "" {
				t.Fatalf("once the helpdesk is well: %v %v", res.Outcome, res.Err)
			}
			if n := len(e.fake.Tickets()); n != 1 {
				t.Fatalf("%d tickets after a failure and a success", n)
			}
		})
	}
}

func testResetMidUpload(t *testing.T, s Suite) {
	e := newEnv(t, s, "")
	rows := e.finish("reset-1", nil, lookup.Caller{})
	if s.SingleStep {
		e.inj.Next(fault.Fault{Match: s.UploadPath, ResetAfter: 4000})
		if r := e.dl.Deliver(context.Background(), rows[0]); r.Outcome != outbox.Retry {
			t.Fatalf("a reset half-way through the upload: %v %v, want retry", r.Outcome, r.Err)
		}
		rows[0].Attempt = 2
		if r := e.dl.Deliver(context.Background(), rows[0]); r.Outcome != outbox.Done {
			t.Fatalf("the upload again: %v %v", r.Outcome, r.Err)
		}
		if tk := e.ticketOf("reset-1"); len(tk.Attachments) != 1 || tk.Attachments[0] != 8044 {
			t.Fatalf("attachments after a reset and a retry: %v", tk.Attachments)
		}
		return
	}
	res := e.dl.Deliver(context.Background(), rows[0])
	if res.Outcome != outbox.Done {
		t.Fatalf("ticket: %v %v", res.Outcome, res.Err)
	}
	rec := rows[1]
	rec.DependencyRef = res.RemoteRef
	e.inj.Next(fault.Fault{Match: s.UploadPath, ResetAfter: 4000})
	if r := e.dl.Deliver(context.Background(), rec); r.Outcome != outbox.Retry {
		t.Fatalf("a reset half-way through the upload: %v %v, want retry", r.Outcome, r.Err)
	}
	rec.Attempt = 2
	if r := e.dl.Deliver(context.Background(), rec); r.Outcome != outbox.Done {
		t.Fatalf("the upload again: %v %v", r.Outcome, r.Err)
	}
	if tk := e.ticketOf("reset-1"); len(tk.Attachments) != 1 || tk.Attachments[0] != 8044 {
		t.Fatalf("attachments after a reset and a retry: %v", tk.Attachments)
	}
}

func testLostAnswer(t *testing.T, s Suite) {
	e := newEnv(t, s, "")
	rows := e.finish("lost-1", nil, lookup.Caller{})
	e.inj.Next(fault.Fault{Match: s.TicketPath, LoseAnswer: true})
	r := e.dl.Deliver(context.Background(), rows[0])
	switch r.Outcome {
	case outbox.Retry:
		rows[0].Attempt = 2
		if r = e.dl.Deliver(context.Background(), rows[0]); r.Outcome != outbox.Done {
			t.Fatalf("the retry: %v %v", r.Outcome, r.Err)
		}
	case outbox.Done:
		// Go's HTTP client sends a request with an Idempotency-Key again by itself when the
		// connection breaks before an answer; the helpdesk's idempotency made that safe.
	default:
		t.Fatalf("a lost answer: %v %v, want retry", r.Outcome, r.Err)
	}
	n := len(e.fake.Tickets())
	if s.FindsBeforeCreate && n != 1 {
		t.Fatalf("%d tickets: the retry should have found the ticket the lost answer made", n)
	}
	if !s.FindsBeforeCreate && n != 2 {
		t.Fatalf("%d tickets; this helpdesk cannot search, so the retry makes a second (documented)", n)
	}
	if s.FindsBeforeCreate {
		if tk := e.ticketOf("lost-1"); tk.ID != r.RemoteRef {
			t.Fatalf("the retry answered ticket %s, the helpdesk has %s", r.RemoteRef, tk.ID)
		}
	}
}

func testOpenTicket(t *testing.T, s Suite) {
	e := newEnv(t, s, "open")
	open := e.fake.AddCaller(Known{Number: "+15551230001", Name: "Dana Scully", OpenTicket: "Printer on fire", Agent: s.AgentUser})
	dir := s.Directory(e.dest, e.deps)
	caller, err := dir.FindCaller(context.Background(), "+15551230001")
	if err != nil {
		t.Fatal(err)
	}
	caller.Directory = "desk"
	e.finish("open-1", func(r *callbox.Record) { r.Recording, r.Survey = nil, 0 }, caller)
	e.drain()
	tickets := e.fake.Tickets()
	if len(tickets) != 1 || tickets[0].ID != open {
		t.Fatalf("want only the open ticket %s, have %+v", open, tickets)
	}
	if !strings.Contains(strings.Join(tickets[0].Comments, "\n"), "Call id: open-1") {
		t.Fatalf("the call is not on the open ticket: %v", tickets[0].Comments)
	}
}

func testLookups(t *testing.T, s Suite) {
	e := newEnv(t, s, "")
	open := e.fake.AddCaller(Known{Number: "+15551230001", Name: "Dana Scully", Organization: "FBI", VIP: true,
		OpenTicket: "Printer on fire", Agent: s.AgentUser})
	dir := s.Directory(e.dest, e.deps)
	ctx := context.Background()

	c, err := dir.FindCaller(ctx, "+15551230001")
	if err != nil {
		t.Fatal(err)
	}
	if !c.Found || c.Name != "Dana Scully" || c.Organization != "FBI" || c.VIP == s.NoVIP || c.LastAgent != "1001" ||
		len(c.OpenTickets) != 1 || c.OpenTickets[0].ID != open {
		t.Fatalf("found: %+v", c)
	}
	if c, err := dir.FindCaller(ctx, "+15559999999"); err != nil || c.Found {
		t.Fatalf("not found: %+v %v", c, err)
	}

	// Through the service: a slow helpdesk costs a call the deadline, then the cache answers.
	svc, err := lookup.New(lookup.Options{DB: e.box.DB.SQL(), Directory: dir, Name: "desk",
		Deadline: 400 * time.Millisecond, Fresh: time.Nanosecond, TTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	sctx, cancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- svc.Run(sctx) }()
	defer func() { cancel(); <-done }()
	if c, src := svc.Lookup(ctx, "+15551230001"); src != lookup.SourceHelpdesk || c.Name != "Dana Scully" {
		t.Fatalf("first look-up: %v %+v", src, c)
	}
	e.inj.Always(fault.Fault{Delay: 5 * time.Second})
	start := time.Now()
	c, src := svc.Lookup(ctx, "+15551230001")
	if took := time.Since(start); took > 400*time.Millisecond+150*time.Millisecond {
		t.Errorf("a slow helpdesk delayed the call %s", took)
	}
	if src != lookup.SourceCache || c.Name != "Dana Scully" || c.VIP == s.NoVIP {
		t.Fatalf("slow helpdesk: %v %+v", src, c)
	}
	e.inj.Always(fault.Fault{Down: true})
	if c, src := svc.Lookup(ctx, "+15551230001"); src != lookup.SourceCache || !c.Found {
		t.Fatalf("helpdesk down: %v %+v", src, c)
	}
	if _, err := dir.FindCaller(ctx, "+15551230001"); err == nil {
		t.Fatal("a helpdesk that is down must be an error")
	}
	if c, src := svc.Lookup(ctx, "+15558888888"); src != lookup.SourceNone || c.Found {
		t.Fatalf("unknown caller, helpdesk down: %v %+v", src, c)
	}
}

func index(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func lastIndex(s []string, v string) int {
	for i := len(s) - 1; i >= 0; i-- {
		if s[i] == v {
			return i
		}
	}
	return -1
}

package plan_test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"callbox"
	"callbox/store"
	"callbox/sync/event"
	"callbox/sync/internal/fixture"
	"callbox/sync/lookup"
	"callbox/sync/plan"
)

const destinations = `sync:
  destinations:
    - name: hook
      kind: webhook
      url: https://hooks.example.com
      secret: ` + fixture.Secret + `
      recording: upload
    - name: support-only
      kind: webhook
      url: https://hooks.example.com/support
      secret: ` + fixture.Secret + `
      queues: [support]
      numbers: ["4999"]
    - name: sales-only
      kind: webhook
      url: https://hooks.example.com/sales
      secret: ` + fixture.Secret + `
      queues: [sales]
    - name: zd
      kind: zendesk
      url: https://acme.zendesk.com
      user: a@acme.example
      token: t
      agents:
        "1001": "900001"
      tickets:
        answered: open
    - name: zm
      kind: zammad
      url: https://zammad.example
      token: t
      cti_token: c
      group: Users
      tickets:
        answered: none
    - name: ost
      kind: osticket
      url: https://help.example
      token: t
      email: caller-{number}@example.com
`

func call(mutate func(*callbox.Record)) *callbox.Record {
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	answered := start.Add(12 * time.Second)
	r := &callbox.Record{ID: "c1", Direction: callbox.Inbound, From: "+15551230001", FromName: "Dana", To: "4000", DID: "4000",
		Queue: "support", Agent: "1001", Started: start, Answered: &answered, Ended: answered.Add(time.Minute),
		Result: "answered", Cause: "normal", HangupSide: callbox.SideCaller, TalkTime: time.Minute, Survey: 4,
		Recording: &callbox.Recording{ID: "r1", CallID: "c1", Kind: "call", Path: "recordings/c1.wav", Duration: time.Minute, Size: 960044}}
	if mutate != nil {
		mutate(r)
	}
	return r
}

// summary is "dest:seq:kind<-dependency" per row.
func summary(rows []store.OutboxRow) string {
	idx := map[string]string{}
	for _, r := range rows {
		idx[r.ID] = r.Destination + ":" + r.Kind
	}
	var out []string
	for _, r := range rows {
		s := r.Destination + ":" + r.Kind
		if r.DependsOn != "" {
			s += "<-" + idx[r.DependsOn]
		}
		out = append(out, s)
	}
	return strings.Join(out, " ")
}

func TestRowsByPolicy(t *testing.T) {
	cfg := fixture.Config(t, destinations)
	known := lookup.Caller{Found: true, Name: "Dana Scully", Directory: "zd", OpenTickets: []lookup.Ticket{{ID: "77"}}}
	tests := []struct {
		name   string
		rec    *callbox.Record
		caller lookup.Caller
		want   string
	}{
		{"answered call with recording and survey", call(nil), lookup.Caller{},
			"hook:call.finished hook:recording hook:survey support-only:call.finished support-only:survey " +
				"zd:ticket zd:recording<-zd:ticket zd:survey<-zd:ticket zm:cti ost:ticket"},
		{"no recording, no survey", call(func(r *callbox.Record) { r.Recording, r.Survey = nil, 0 }), lookup.Caller{},
			"hook:call.finished support-only:call.finished zd:ticket zm:cti ost:ticket"},
		// zm takes no answered calls (answered: none) but the defaults' callbacks and voicemails.
		{"missed call: a callback ticket", call(func(r *callbox.Record) {
			r.Answered, r.Agent, r.Result, r.Recording, r.Survey, r.Queue = nil, "", "missed", nil, 0, ""
		}), lookup.Caller{}, "hook:call.missed zd:ticket zm:cti zm:ticket ost:ticket"},
		{"abandoned in the sales queue", call(func(r *callbox.Record) {
			r.Answered, r.Agent, r.Result, r.Recording, r.Survey, r.Queue, r.DID = nil, "", "abandoned", nil, 0, "sales", "4001"
		}), lookup.Caller{}, "hook:call.abandoned sales-only:call.abandoned zd:ticket zm:cti zm:ticket ost:ticket"},
		{"voicemail through the support number", call(func(r *callbox.Record) {
			r.Answered, r.Agent, r.Result, r.Survey, r.Queue, r.DID = nil, "", "voicemail", 0, "", "4999"
		}), lookup.Caller{}, "hook:voicemail hook:recording support-only:voicemail zd:ticket zd:recording<-zd:ticket " +
			"zm:cti zm:ticket zm:recording<-zm:ticket ost:ticket"},
		{"internal calls make no tickets", call(func(r *callbox.Record) { r.Direction = callbox.Internal }), lookup.Caller{},
			"hook:call.finished hook:recording hook:survey support-only:call.finished support-only:survey"},
		{"caller with an open ticket", call(nil), known,
			"hook:call.finished hook:recording hook:survey support-only:call.finished support-only:survey " +
				"zd:ticket zd:recording<-zd:ticket zd:survey<-zd:ticket zm:cti ost:ticket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rows, err := plan.Rows(cfg, tt.rec, tt.caller)
			if err != nil {
				t.Fatal(err)
			}
			if got := summary(rows); got != tt.want {
				t.Fatalf("rows:\n got %s\nwant %s", got, tt.want)
			}
			seq := map[string]int{}
			ids := map[string]bool{}
			for _, r := range rows {
				if r.Seq != seq[r.Destination] || r.CallID != tt.rec.ID || ids[r.ID] || strings.Contains(r.ID, ".") {
					t.Errorf("row %+v: seq, call or id wrong", r)
				}
				seq[r.Destination]++
				ids[r.ID] = true
			}
		})
	}
}

func step(t *testing.T, rows []store.OutboxRow, dest, kind string) event.Step {
	t.Helper()
	for _, r := range rows {
		if r.Destination == dest && r.Kind == kind {
			var s event.Step
			if err := json.Unmarshal(r.Payload, &s); err != nil {
				t.Fatal(err)
			}
			if s.Event.ID != r.ID {
				t.Errorf("the event id %s is not the row id %s", s.Event.ID, r.ID)
			}
			return s
		}
	}
	t.Fatalf("no %s row for %s", kind, dest)
	return event.Step{}
}

func TestStepPayloads(t *testing.T) {
	cfg := fixture.Config(t, destinations)
	known := lookup.Caller{Found: true, Name: "Dana Scully", Organization: "FBI", VIP: true, Directory: "zd",
		OpenTickets: []lookup.Ticket{{ID: "77"}}}
	rows, err := plan.Rows(cfg, call(nil), known)
	if err != nil {
		t.Fatal(err)
	}
	zd := step(t, rows, "zd", "ticket")
	if zd.Ticket != "77" || zd.TicketKind != event.TicketCall || zd.AgentUser != "900001" {
		t.Errorf("zendesk ticket step: %+v", zd)
	}
	c := zd.Event.Data
	if c.AgentName != "Alice" || c.WaitSeconds != 12 || c.TalkSeconds != 60 || c.Caller == nil || c.Caller.Organization != "FBI" ||
		c.Survey == nil || c.Survey.Score != 4 || c.Recording == nil || c.Recording.ContentType != "audio/wav" {
		t.Errorf("call data: %+v", c)
	}
	ost := step(t, rows, "ost", "ticket")
	if !ost.WithRecording || !ost.WithSurvey || ost.Ticket != "" {
		t.Errorf("osTicket carries everything in its one request: %+v", ost)
	}
	if s := step(t, rows, "hook", "recording"); s.Action != event.ActionUpload || s.RecordingPath != "recordings/c1.wav" {
		t.Errorf("webhook upload step: %+v", s)
	}
	// The same call planned twice gives the same ids: receivers can rely on them.
	again, _ := plan.Rows(cfg, call(nil), known)
	for i := range rows {
		if rows[i].ID != again[i].ID {
			t.Fatal("event ids are not stable")
		}
	}
}

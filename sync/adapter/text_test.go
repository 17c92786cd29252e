package adapter

import (
	"strings"
	"testing"
	"time"

	"callbox/sync/event"
)

func TestTicketTexts(t *testing.T) {
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	answered := start.Add(12 * time.Second)
	call := event.Call{CallID: "c1", Direction: "inbound", From: "+15551230001", FromName: "Dana Scully", To: "4000", DID: "4000",
		Queue: "support", Agent: "1001", AgentName: "Alice", StartedAt: start, AnsweredAt: &answered,
		EndedAt: answered.Add(243 * time.Second), Result: "answered", HangupSide: "caller", WaitSeconds: 12, TalkSeconds: 243,
		Survey: &event.SurveyScore{Score: 4, Max: 5}, Caller: &event.Caller{Organization: "FBI", VIP: true}}
	s := event.Step{Event: event.Event{Data: call}, TicketKind: event.TicketCall, WithSurvey: true}
	want := `Inbound call from Dana Scully (+15551230001) to 4000
Queue: support
Answered by: Alice (1001) after 12 s
Talk time: 4 min 3 s
Organisation: FBI
VIP caller
Started: 2026-11-23 09:00:00 UTC
Ended: 2026-11-23 09:04:15 UTC (hung up by caller)
Survey: the caller scored the call 4 of 5.
Call id: c1
`
	if got := Body(s); got != want {
		t.Errorf("body:\n%s\nwant:\n%s", got, want)
	}
	if got := Subject(s); got != "Call from Dana Scully (+15551230001)" {
		t.Errorf("subject %q", got)
	}
	call.AnsweredAt, call.Result, call.WaitSeconds = nil, "abandoned", 45
	s = event.Step{Event: event.Event{Data: call}, TicketKind: event.TicketCallback}
	if got := Subject(s); got != "Call back Dana Scully (+15551230001): hung up waiting" {
		t.Errorf("callback subject %q", got)
	}
	if got := Body(s); !strings.HasPrefix(got, "Dana Scully (+15551230001) hung up after waiting 45 s in queue support. Please call back +15551230001.\n") {
		t.Errorf("callback body %q", got)
	}
	for secs, want := range map[int]string{5: "5 s", 65: "1 min 5 s", 3725: "1 h 2 min"} {
		if got := Duration(secs); got != want {
			t.Errorf("Duration(%d) = %q", secs, got)
		}
	}
	if !SameNumber("+1 (555) 123-0001", "+15551230001") || !SameNumber("5551230001", "+15551230001") || SameNumber("0001", "+15551230001") {
		t.Error("SameNumber")
	}
}

func TestAnonymousCaller(t *testing.T) {
	for _, n := range []string{"", "anonymous"} {
		if !Anonymous(n) {
			t.Errorf("%q is not anonymous", n)
		}
	}
	if Anonymous("+15551230001") {
		t.Error("a number is anonymous")
	}
	if got := AnonymousEmail(""); got != "caller-anonymous@callbox.invalid" {
		t.Errorf("default address %q", got)
	}
	if got := AnonymousEmail("phone-{number}@acme.test"); got != "phone-anonymous@acme.test" {
		t.Errorf("templated address %q", got)
	}
}

package event

import (
	"regexp"
	"testing"
	"time"

	"callbox"
)

func TestTypeOf(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct {
		dir      callbox.Direction
		result   string
		answered bool
		want     string
	}{
		{callbox.Inbound, "answered", true, CallFinished},
		{callbox.Inbound, "missed", false, CallMissed},
		{callbox.Inbound, "busy", false, CallMissed},
		{callbox.Inbound, "rejected", false, CallMissed},
		{callbox.Inbound, "abandoned", false, CallAbandoned},
		{callbox.Inbound, "voicemail", false, Voicemail},
		{callbox.Outbound, "busy", false, CallFinished},
		{callbox.Internal, "missed", false, CallFinished},
	} {
		r := &callbox.Record{Direction: tc.dir, Result: tc.result}
		if tc.answered {
			r.Answered = &now
		}
		if got := TypeOf(r); got != tc.want {
			t.Errorf("%s %s: %s, want %s", tc.dir, tc.result, got, tc.want)
		}
	}
}

func TestIDIsStableUniqueAndDotFree(t *testing.T) {
	re := regexp.MustCompile(`^evt_[a-z2-7]{26}$`)
	a, b := ID("c.1", "hook", "event"), ID("c.1", "hook", "survey")
	if !re.MatchString(a) || a != ID("c.1", "hook", "event") || a == b || ID("c", ".1hook", "event") == ID("c.", "1hook", "event") {
		t.Fatalf("ids %s %s", a, b)
	}
}

func TestFromRecord(t *testing.T) {
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	c := FromRecord(&callbox.Record{ID: "c1", Direction: callbox.Inbound, Started: start, Ended: start.Add(45 * time.Second),
		Result: "abandoned"}, "")
	if c.WaitSeconds != 45 || c.TalkSeconds != 0 || c.AnsweredAt != nil || c.Survey != nil || c.Recording != nil {
		t.Fatalf("abandoned call: %+v", c)
	}
}

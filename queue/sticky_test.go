package queue

import (
	"testing"
	"time"
)

func stickyConfig() Config {
	return oneQueue(QueueConfig{Strategy: Linear, StickyWindow: 24 * time.Hour, StickyWait: 20 * time.Second, Retry: time.Second},
		"1001", "1002")
}

// returning is a caller whom 1002 served an hour ago.
var returning = Caller{Number: "+15550077", LastAgent: "1002", LastAgentAt: start.Add(-time.Hour)}

func TestStickyAgentIsOfferedFirst(t *testing.T) {
	h := newHarness(t, stickyConfig())
	h.login("1001", "1002")
	acts := h.join("support", "c1", returning)
	wantOffers(t, acts, "c1>1002") // linear would pick 1001
	if o := only[Offer](acts)[0]; !o.Sticky {
		t.Error("the offer is not marked sticky")
	}
	b := only[Bridge](h.answer("c1", "1002"))
	if len(b) != 1 || b[0].StickyAgent != "1002" || !b[0].StickyHit {
		t.Fatalf("bridge %+v, want a sticky hit", b)
	}
	v, _ := h.e.Queue("support")
	if v.Today.StickyHits != 1 || v.Today.StickyMisses != 0 {
		t.Errorf("today %+v", v.Today)
	}
}

func TestStickyWaitsForBusyAgentThenFallsBack(t *testing.T) {
	h := newHarness(t, stickyConfig())
	h.login("1001", "1002")
	h.must(h.e.DirectCall("1002", true))
	wantOffers(t, h.join("support", "c1", returning)) // 1001 is free, but the caller waits for 1002
	if next, _ := h.e.Next(); !next.Equal(start.Add(20 * time.Second)) {
		t.Fatalf("next wake-up %s, want the end of the sticky wait", next)
	}
	wantOffers(t, h.wait(19*time.Second))
	acts := h.wait(time.Second)
	wantOffers(t, acts, "c1>1001")
	b := only[Bridge](h.answer("c1", "1001"))
	if b[0].StickyAgent != "1002" || b[0].StickyHit {
		t.Fatalf("bridge %+v, want a sticky miss", b[0])
	}
}

func TestStickyAgentFreedDuringTheWait(t *testing.T) {
	h := newHarness(t, stickyConfig())
	h.login("1001", "1002")
	h.must(h.e.DirectCall("1002", true))
	h.join("support", "c1", returning)
	h.clock.t = h.clock.t.Add(5 * time.Second)
	wantOffers(t, h.must(h.e.DirectCall("1002", false)), "c1>1002")
}

func TestStickyAgentNotAnsweringFallsBack(t *testing.T) {
	h := newHarness(t, stickyConfig())
	h.login("1001", "1002")
	wantOffers(t, h.join("support", "c1", returning), "c1>1002")
	h.clock.t = h.clock.t.Add(3 * time.Second)
	h.must(h.e.NotAnswered("c1", "1002", "busy"))
	// After the retry delay, the normal strategy, 1002 having had its go.
	wantOffers(t, h.wait(time.Second), "c1>1001")
}

func TestStickyAgentAwayIsNotWaitedFor(t *testing.T) {
	h := newHarness(t, stickyConfig())
	h.login("1001")
	wantOffers(t, h.join("support", "c1", returning), "c1>1001")
	h.login("1002")
	h.must(h.e.Pause("1002", "lunch"))
	wantOffers(t, h.join("support", "c2", Caller{Number: "+15550078", LastAgent: "1002", LastAgentAt: start}))
	h.answer("c1", "1001")
	wantOffers(t, h.hangup("c1"), "c2>1001")
}

func TestStickyWindowAndSources(t *testing.T) {
	tests := []struct {
		name   string
		caller Caller
		want   string
	}{
		{"outside the window", Caller{Number: "+1555", LastAgent: "1002", LastAgentAt: start.Add(-25 * time.Hour)}, "c1>1001"},
		{"open ticket, however old", Caller{Number: "+1555", TicketAgent: "1002"}, "c1>1002"},
		{"ticket agent wins over the last agent", Caller{Number: "+1555", LastAgent: "1001", LastAgentAt: start, TicketAgent: "1002"}, "c1>1002"},
		{"unknown agent", Caller{Number: "+1555", LastAgent: "1999", LastAgentAt: start}, "c1>1001"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, stickyConfig())
			h.login("1001", "1002")
			wantOffers(t, h.join("support", "c1", tt.caller), tt.want)
		})
	}
}

// TestStickyFromTheEngineMemory: a caller answered a moment ago has no call record in the
// store yet; the engine remembers who took them.
func TestStickyFromTheEngineMemory(t *testing.T) {
	h := newHarness(t, stickyConfig())
	h.login("1001", "1002")
	h.must(h.e.DirectCall("1001", true))
	wantOffers(t, h.join("support", "c1", Caller{Number: "+15550099"}), "c1>1002")
	h.talk("c1", "1002", time.Minute)
	h.must(h.e.DirectCall("1001", false))
	wantOffers(t, h.join("support", "c2", Caller{Number: "+15550099"}), "c2>1002")
}

func TestNoStickinessWithoutWindow(t *testing.T) {
	cfg := stickyConfig()
	cfg.Queues[0].StickyWindow = 0
	h := newHarness(t, cfg)
	h.login("1001", "1002")
	wantOffers(t, h.join("support", "c1", Caller{Number: "+1555", TicketAgent: "1002"}), "c1>1001")
}

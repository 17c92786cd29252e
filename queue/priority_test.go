package queue

import (
	"fmt"
	"testing"
	"time"
)

// serveAll lets the one agent take every waiting call in turn and returns the order.
func serveAll(h *harness, agent string, first []Action) []string {
	h.t.Helper()
	var order []string
	next := first
	for {
		offers := only[Offer](next)
		if len(offers) == 0 {
			return order
		}
		o := offers[0]
		order = append(order, o.Call)
		h.answer(o.Call, agent)
		h.clock.t = h.clock.t.Add(10 * time.Second)
		next = h.hangup(o.Call)
	}
}

func TestVIPLevelsFirstThenFirstComeFirstServed(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear}, "1001"))
	h.login("1001")
	h.must(h.e.DirectCall("1001", true)) // busy on another call while callers arrive
	for i, c := range []struct {
		call string
		prio int
	}{{"a", 0}, {"b", 0}, {"c", 2}, {"d", 1}, {"e", 2}} {
		h.clock.t = start.Add(time.Duration(i+1) * time.Second)
		if got := offered(h.join("support", c.call, Caller{Number: "+1555000" + c.call, Priority: c.prio})); len(got) != 0 {
			t.Fatalf("offer while the agent is busy: %v", got)
		}
	}
	v, _ := h.e.Queue("support")
	var lineup string
	for _, c := range v.Callers {
		lineup += fmt.Sprintf("%s%d ", c.Call, c.Position)
	}
	if lineup != "c1 e2 d3 a4 b5 " {
		t.Errorf("live view order %q, want c1 e2 d3 a4 b5", lineup)
	}
	got := serveAll(h, "1001", h.must(h.e.DirectCall("1001", false)))
	if fmt.Sprint(got) != "[c e d a b]" {
		t.Fatalf("served %v, want [c e d a b]", got)
	}
}

func TestAgeingLetsOlderCallersCatchUp(t *testing.T) {
	tests := []struct {
		name      string
		ageing    time.Duration
		vipJoins  time.Duration // the VIP (level 2) joins this long after the normal caller
		wantFirst string
	}{
		{"no ageing: the VIP goes first", 0, 10 * time.Minute, "vip"},
		{"aged one level: still behind level 2", time.Minute, 100 * time.Second, "vip"},
		{"aged two levels: level 2 reached, older goes first", time.Minute, 130 * time.Second, "normal"},
		{"aged three levels: ahead", time.Minute, 190 * time.Second, "normal"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear, Ageing: tt.ageing}, "1001"))
			h.login("1001")
			h.must(h.e.DirectCall("1001", true))
			h.join("support", "normal", Caller{Number: "+15550001"})
			h.clock.t = h.clock.t.Add(tt.vipJoins)
			h.join("support", "vip", Caller{Number: "+15550002", Priority: 2})
			got := serveAll(h, "1001", h.must(h.e.DirectCall("1001", false)))
			if len(got) != 2 || got[0] != tt.wantFirst {
				t.Fatalf("served %v, want %s first", got, tt.wantFirst)
			}
		})
	}
}

// TestNobodyWaitsForever: a steady stream of VIPs keeps a normal caller waiting only until
// ageing has raised them to the VIPs' level.
func TestNobodyWaitsForever(t *testing.T) {
	for _, ageing := range []time.Duration{0, time.Minute} {
		t.Run(fmt.Sprint("ageing ", ageing), func(t *testing.T) {
			h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear, Ageing: ageing}, "1001"))
			h.login("1001")
			h.must(h.e.DirectCall("1001", true))
			h.join("support", "normal", Caller{Number: "+15550001"})
			h.join("support", "vip0", Caller{Number: "+15559000", Priority: 1})
			next := h.must(h.e.DirectCall("1001", false))
			var servedAt time.Duration = -1
			for i := 1; i <= 20 && servedAt < 0; i++ {
				o := only[Offer](next)
				if len(o) != 1 {
					t.Fatalf("round %d: offers %v", i, offered(next))
				}
				if o[0].Call == "normal" {
					servedAt = h.clock.t.Sub(start)
					break
				}
				// Each VIP call takes 30 s; a new VIP arrives meanwhile.
				h.answer(o[0].Call, "1001")
				h.clock.t = h.clock.t.Add(30 * time.Second)
				h.join("support", fmt.Sprint("vip", i), Caller{Number: fmt.Sprint("+1555900", i), Priority: 1})
				next = h.hangup(o[0].Call)
			}
			if ageing == 0 && servedAt >= 0 {
				t.Fatalf("without ageing the normal caller was served at %s among a stream of VIPs", servedAt)
			}
			if ageing > 0 && (servedAt < 0 || servedAt > 3*time.Minute) {
				t.Fatalf("with ageing the normal caller was served at %s, want within 3m", servedAt)
			}
		})
	}
}

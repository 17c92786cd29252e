package queue

import (
	"testing"
	"time"
)

func TestForceAssignIgnoresPlaceAndLimit(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear}, "1001", "1002"))
	h.login("1001", "1002")
	h.must(h.e.DirectCall("1001", true))
	h.must(h.e.DirectCall("1002", true))
	for _, c := range []string{"a", "b", "c"} {
		h.join("support", c, Caller{})
	}
	h.must(h.e.Pause("1002", "coaching"))
	// c, last in line, goes to 1002 though 1002 is paused and at its limit.
	acts := h.must(h.e.ForceAssign("c", "1002"))
	o := only[Offer](acts)
	if len(o) != 1 || o[0].Call != "c" || o[0].Agent != "1002" || !o[0].Forced {
		t.Fatalf("offers %s", describe(acts))
	}
	if b := only[Bridge](h.answer("c", "1002")); len(b) != 1 {
		t.Fatal("no bridge")
	}
	// The others keep their order.
	acts = h.must(h.e.DirectCall("1001", false))
	wantOffers(t, acts, "a>1001")
	if _, err := h.e.ForceAssign("zzz", "1001"); err == nil {
		t.Error("force-assigned an unknown call")
	}
	if _, err := h.e.ForceAssign("b", "1999"); err == nil {
		t.Error("force-assigned to an unknown agent")
	}
}

func TestForceAssignMovesARingingCall(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear}, "1001", "1002"))
	h.login("1001", "1002")
	wantOffers(t, h.join("support", "a", Caller{}), "a>1001")
	acts := h.must(h.e.ForceAssign("a", "1002"))
	if c := only[CancelOffer](acts); len(c) != 1 || c[0].Agent != "1001" || c[0].Reason != "force-assigned" {
		t.Fatalf("cancels %+v", c)
	}
	wantOffers(t, acts, "a>1002")
}

func TestTakeBackKeepsThePlace(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear, WrapUp: time.Minute, Retry: 5 * time.Second}, "1001", "1002"))
	h.login("1001", "1002")
	h.must(h.e.DirectCall("1002", true))
	h.join("support", "a", Caller{})
	h.answer("a", "1001")
	h.must(h.e.DirectCall("1001", true)) // 1001 takes another call too: nobody free
	h.join("support", "b", Caller{})
	acts := h.must(h.e.TakeBack("a"))
	if u := only[Unbridge](acts); len(u) != 1 || u[0].Agent != "1001" || u[0].Reason != "take-back" {
		t.Fatalf("unbridge %s", describe(acts))
	}
	v, _ := h.e.Queue("support")
	if len(v.Callers) != 2 || v.Callers[0].Call != "a" || v.Callers[0].Position != 1 {
		t.Fatalf("callers %+v, want a first again", v.Callers)
	}
	// No wrap-up after a take-back; a is offered again after the retry delay.
	wantOffers(t, h.must(h.e.DirectCall("1002", false)), "b>1002")
	h.clock.t = h.clock.t.Add(5 * time.Second)
	wantOffers(t, h.must(h.e.DirectCall("1001", false)), "a>1001")
	if v, _ := h.e.Queue("support"); v.Today.Answered != 1 {
		t.Errorf("answered %d, want 1 (a counts once)", v.Today.Answered)
	}
	acts = h.must(h.e.TakeBack("a"))
	if c := only[CancelOffer](acts); len(c) != 1 || c[0].Reason != "take-back" {
		t.Fatalf("cancel %s", describe(acts))
	}
	wantOffers(t, acts)
	if _, err := h.e.TakeBack("a"); err == nil {
		t.Fatal("took back a waiting call")
	}
}

func TestForceTransfer(t *testing.T) {
	cfg := Config{
		Queues: []QueueConfig{
			{Name: "support", Strategy: Linear, Members: members("1001", "1002"), WrapUp: 10 * time.Second},
			{Name: "sales", Strategy: Linear, Members: members("1003")},
		},
		Agents: agentsNamed("1001", "1002", "1003"),
	}
	t.Run("to an agent", func(t *testing.T) {
		h := newHarness(t, cfg)
		h.login("1001", "1002")
		h.join("support", "a", Caller{})
		h.answer("a", "1001")
		h.must(h.e.Pause("1002", "lunch"))
		acts := h.must(h.e.Transfer("a", "agent:1002"))
		if u := only[Unbridge](acts); len(u) != 1 || u[0].Agent != "1001" {
			t.Fatalf("unbridge %s", describe(acts))
		}
		if o := only[Offer](acts); len(o) != 1 || o[0].Agent != "1002" || !o[0].Forced {
			t.Fatalf("offer %s", describe(acts))
		}
		if st := h.state("1001"); st != StateWrapUp {
			t.Errorf("1001 is %s", st)
		}
		if b := only[Bridge](h.answer("a", "1002")); len(b) != 1 || !b[0].Again {
			t.Fatalf("bridge %+v", b)
		}
	})
	t.Run("to a queue", func(t *testing.T) {
		h := newHarness(t, cfg)
		h.login("1001", "1003")
		h.join("support", "a", Caller{})
		h.answer("a", "1001")
		acts := h.must(h.e.Transfer("a", "queue:sales"))
		if mv := only[Moved](acts); len(mv) != 1 || mv[0].To != "sales" {
			t.Fatalf("moved %s", describe(acts))
		}
		if f := only[Finished](acts); len(f) != 1 || f[0].Result != ResultAnswered || f[0].Queue != "support" {
			t.Fatalf("finished %+v", f)
		}
		wantOffers(t, acts, "a>1003")
	})
	t.Run("out of the queues", func(t *testing.T) {
		h := newHarness(t, cfg)
		h.login("1001")
		h.join("support", "a", Caller{})
		h.answer("a", "1001")
		acts := h.must(h.e.Transfer("a", "voicemail:1001"))
		if tr := only[Transfer](acts); len(tr) != 1 || tr[0].Dest != "voicemail:1001" || tr[0].Agent != "1001" {
			t.Fatalf("transfer %s", describe(acts))
		}
		if _, err := h.e.Hangup("a"); err == nil {
			t.Fatal("the call is still in the queues")
		}
	})
	t.Run("refused", func(t *testing.T) {
		h := newHarness(t, cfg)
		h.login("1001")
		h.join("support", "a", Caller{})
		if _, err := h.e.Transfer("a", "agent:1002"); err == nil {
			t.Error("transferred a call that is not in progress")
		}
		h.answer("a", "1001")
		for _, d := range []string{"agent:1001", "agent:1999", "queue:nowhere", "fax:1", "1002"} {
			if _, err := h.e.Transfer("a", d); err == nil {
				t.Errorf("transfer to %q accepted", d)
			}
		}
	})
}

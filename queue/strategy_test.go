package queue

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// history gives the agents different pasts: 1001 answered 3 calls and ended its last one
// first, 1003 answered 2 and ended next, 1002 answered 1 and ended last.
func history(h *harness) {
	h.t.Helper()
	// Serve calls so that the order of last endings is 1001, 1003, 1002 (oldest first).
	serve := func(call, agent string) {
		h.must(h.e.ForceAssign(call, agent))
		h.answer(call, agent)
	}
	n := 0
	next := func() string { n++; return fmt.Sprint("h", n) }
	// Pause everyone so that only force-assigned calls reach them.
	for _, a := range []string{"1001", "1002", "1003"} {
		h.must(h.e.Pause(a, "setup"))
	}
	for _, x := range []struct {
		agent string
		calls int
	}{{"1001", 3}, {"1003", 2}, {"1002", 1}} {
		for range x.calls {
			c := next()
			h.join("support", c, Caller{Number: "+1555" + c})
			serve(c, x.agent)
			h.clock.t = h.clock.t.Add(20 * time.Second)
			h.hangup(c)
		}
		h.clock.t = h.clock.t.Add(time.Minute)
	}
	for _, a := range []string{"1001", "1002", "1003"} {
		h.must(h.e.Unpause(a))
	}
}

func TestEachStrategyChooses(t *testing.T) {
	tests := []struct {
		strategy Strategy
		want     string // the agent offered the next call
	}{
		{Linear, "1001"},      // first in the members' order
		{LongestIdle, "1001"}, // its last call ended longest ago
		{FewestCalls, "1002"}, // one call answered today
		{RoundRobin, "1001"},  // nothing offered by the strategy yet: the first
		{RingAll, "1001 1002 1003"},
	}
	for _, tt := range tests {
		t.Run(string(tt.strategy), func(t *testing.T) {
			h := newHarness(t, oneQueue(QueueConfig{Strategy: tt.strategy}, "1001", "1002", "1003"))
			h.login("1001", "1002", "1003")
			history(h)
			var got []string
			for _, o := range only[Offer](h.join("support", "next", Caller{Number: "+15550100"})) {
				got = append(got, o.Agent)
			}
			if fmt.Sprint(got) != fmt.Sprint(strings.Fields(tt.want)) {
				t.Fatalf("offered to %v, want %s", got, tt.want)
			}
		})
	}
}

func TestLongestIdleOrderAfterCalls(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: LongestIdle}, "1001", "1002", "1003"))
	h.login("1001", "1002", "1003")
	history(h) // last endings: 1001, then 1003, then 1002
	var got []string
	for i := range 3 {
		call := fmt.Sprint("c", i)
		o := only[Offer](h.join("support", call, Caller{}))
		got = append(got, o[0].Agent)
		h.answer(call, o[0].Agent) // they stay on their calls
	}
	if fmt.Sprint(got) != "[1001 1003 1002]" {
		t.Fatalf("longest idle order %v, want [1001 1003 1002]", got)
	}
}

func TestRoundRobinRemembersWhereItStopped(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: RoundRobin}, "1001", "1002", "1003"))
	h.login("1001", "1002", "1003")
	var got []string
	for i := range 7 {
		call := fmt.Sprint("c", i)
		o := only[Offer](h.join("support", call, Caller{}))
		got = append(got, o[0].Agent)
		h.talk(call, o[0].Agent, time.Second) // everyone is free again at once
		if i == 3 {
			// 1003 is busy this round: skipped, and the memory goes on after 1002.
			h.must(h.e.DirectCall("1003", true))
		}
		if i == 5 {
			h.must(h.e.DirectCall("1003", false))
		}
	}
	if fmt.Sprint(got) != "[1001 1002 1003 1001 1002 1001 1002]" {
		t.Fatalf("round-robin order %v", got)
	}
}

func TestRandomIsSeededAndSpreads(t *testing.T) {
	pick := func(seed uint64) []string {
		cfg := oneQueue(QueueConfig{Strategy: Random}, "1001", "1002", "1003")
		cfg.Location = time.UTC
		clock := &manualClock{t: start}
		e, err := NewEngine(cfg, clock, seed)
		if err != nil {
			t.Fatal(err)
		}
		e.Restore(nil)
		for _, a := range []string{"1001", "1002", "1003"} {
			e.Login(a, LoginOptions{})
		}
		var got []string
		for i := range 30 {
			call := fmt.Sprint("c", i)
			acts, _ := e.Join("support", call, Caller{})
			o := only[Offer](acts)[0]
			got = append(got, o.Agent)
			e.Answered(call, o.Agent)
			e.Hangup(call)
		}
		return got
	}
	a, b := pick(7), pick(7)
	if fmt.Sprint(a) != fmt.Sprint(b) {
		t.Fatalf("the same seed chose differently:\n%v\n%v", a, b)
	}
	counts := map[string]int{}
	for _, x := range a {
		counts[x]++
	}
	if len(counts) != 3 {
		t.Fatalf("random reached only %v", counts)
	}
	if fmt.Sprint(pick(8)) == fmt.Sprint(a) {
		t.Fatal("another seed chose the same 30 agents")
	}
}

func TestRingAllFirstAnswerWins(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: RingAll}, "1001", "1002", "1003"))
	h.login("1001", "1002", "1003")
	wantOffers(t, h.join("support", "c1", Caller{}), "c1>1001", "c1>1002", "c1>1003")
	for _, a := range []string{"1001", "1002", "1003"} {
		if st := h.state(a); st != StateRinging {
			t.Fatalf("%s is %s while ringing", a, st)
		}
	}
	// A second caller waits: every agent rings for the first.
	wantOffers(t, h.join("support", "c2", Caller{}))
	acts := h.answer("c1", "1002")
	cancels := only[CancelOffer](acts)
	if len(cancels) != 2 || cancels[0].Agent != "1001" || cancels[1].Agent != "1003" || cancels[0].Reason != "answered-elsewhere" {
		t.Fatalf("cancels %+v", cancels)
	}
	if b := only[Bridge](acts); len(b) != 1 || b[0].Agent != "1002" {
		t.Fatalf("bridge %+v", b)
	}
	// The others are free again and ring for the second caller.
	wantOffers(t, acts, "c2>1001", "c2>1003")
	if _, err := h.e.Answered("c1", "1001"); err == nil {
		t.Fatal("a late answer from a cancelled offer was accepted")
	}
}

func TestPenaltiesAndTierDelay(t *testing.T) {
	cfg := oneQueue(QueueConfig{Strategy: Linear, Members: []Member{{"1001", 0}, {"1002", 1}, {"1003", 2}}}, "1001", "1002", "1003")
	t.Run("the lowest tier with a free agent", func(t *testing.T) {
		h := newHarness(t, cfg)
		h.login("1003", "1002")
		wantOffers(t, h.join("support", "c1", Caller{}), "c1>1002")
		h.login("1001")
		wantOffers(t, h.join("support", "c2", Caller{}), "c2>1001")
	})
	t.Run("tier delay", func(t *testing.T) {
		cfg := cfg
		cfg.Queues = []QueueConfig{cfg.Queues[0]}
		cfg.Queues[0].TierDelay = 30 * time.Second
		h := newHarness(t, cfg)
		h.login("1001", "1002", "1003")
		h.must(h.e.DirectCall("1001", true))
		wantOffers(t, h.join("support", "c1", Caller{}))
		if next, _ := h.e.Next(); !next.Equal(start.Add(30 * time.Second)) {
			t.Fatalf("next wake-up %s, want when tier 1 opens", next)
		}
		wantOffers(t, h.wait(29*time.Second))
		wantOffers(t, h.wait(time.Second), "c1>1002")
	})
}

func TestAgentLimit(t *testing.T) {
	cfg := oneQueue(QueueConfig{Strategy: Linear}, "1001", "1002")
	cfg.Agents[0].MaxCalls = 2
	cfg.Agents[1].MaxCalls = 0 // busy: never offered
	h := newHarness(t, cfg)
	h.login("1001", "1002")
	wantOffers(t, h.join("support", "c1", Caller{}), "c1>1001")
	wantOffers(t, h.join("support", "c2", Caller{}), "c2>1001")
	wantOffers(t, h.join("support", "c3", Caller{}))
	h.answer("c1", "1001")
	wantOffers(t, h.hangup("c1"), "c3>1001")
}

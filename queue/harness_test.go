package queue

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// manualClock is a clock the test moves by hand.
type manualClock struct{ t time.Time }

func (c *manualClock) Now() time.Time { return c.t }

// start is a Tuesday morning, in UTC.
var start = time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)

// harness drives an engine with a manual clock and keeps every action it returned.
type harness struct {
	t     *testing.T
	clock *manualClock
	e     *Engine
	all   []Action
}

func newHarness(t *testing.T, cfg Config) *harness {
	t.Helper()
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	clock := &manualClock{t: start}
	e, err := NewEngine(cfg, clock, 42)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, clock: clock, e: e}
	h.keep(e.Restore(nil))
	return h
}

func (h *harness) keep(actions []Action) []Action {
	h.all = append(h.all, actions...)
	return actions
}

// must returns the actions of a call that must succeed.
func (h *harness) must(actions []Action, err error) []Action {
	h.t.Helper()
	if err != nil {
		h.t.Fatal(err)
	}
	return h.keep(actions)
}

// wait moves the clock on and ticks the engine.
func (h *harness) wait(d time.Duration) []Action {
	h.clock.t = h.clock.t.Add(d)
	return h.keep(h.e.Tick())
}

func (h *harness) join(queue, call string, c Caller) []Action {
	h.t.Helper()
	return h.must(h.e.Join(queue, call, c))
}

func (h *harness) login(agents ...string) []Action {
	h.t.Helper()
	var out []Action
	for _, a := range agents {
		out = append(out, h.must(h.e.Login(a, LoginOptions{}))...)
	}
	return out
}

func (h *harness) answer(call, agent string) []Action {
	h.t.Helper()
	return h.must(h.e.Answered(call, agent))
}

func (h *harness) hangup(call string) []Action {
	h.t.Helper()
	return h.must(h.e.Hangup(call))
}

func (h *harness) state(agent string) State {
	h.t.Helper()
	v, err := h.e.Agent(agent)
	if err != nil {
		h.t.Fatal(err)
	}
	return v.State
}

// only picks the actions of one type.
func only[T Action](actions []Action) []T {
	var out []T
	for _, a := range actions {
		if x, ok := a.(T); ok {
			out = append(out, x)
		}
	}
	return out
}

// offered lists the offers as "call>agent".
func offered(actions []Action) []string {
	var out []string
	for _, o := range only[Offer](actions) {
		out = append(out, o.Call+">"+o.Agent)
	}
	return out
}

func wantOffers(t *testing.T, actions []Action, want ...string) {
	t.Helper()
	if got := offered(actions); strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("offers %v, want %v\nall actions: %s", got, want, describe(actions))
	}
}

func describe(actions []Action) string {
	var b strings.Builder
	for _, a := range actions {
		fmt.Fprintf(&b, "\n  %s %+v", a.Kind(), a)
	}
	return b.String()
}

// agentsNamed makes agents with one call at a time.
func agentsNamed(ids ...string) []AgentConfig {
	var out []AgentConfig
	for _, id := range ids {
		out = append(out, AgentConfig{ID: id, Name: "agent " + id, MaxCalls: 1})
	}
	return out
}

func members(ids ...string) []Member {
	var out []Member
	for _, id := range ids {
		out = append(out, Member{Agent: id})
	}
	return out
}

// oneQueue is a queue "support" with the given agents as members, in that order.
func oneQueue(q QueueConfig, ids ...string) Config {
	q.Name = "support"
	if q.Members == nil {
		q.Members = members(ids...)
	}
	return Config{Queues: []QueueConfig{q}, Agents: agentsNamed(ids...)}
}

// talk answers call by agent and ends it after d.
func (h *harness) talk(call, agent string, d time.Duration) {
	h.t.Helper()
	h.answer(call, agent)
	h.clock.t = h.clock.t.Add(d)
	h.hangup(call)
}

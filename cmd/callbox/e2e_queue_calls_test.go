package main

import (
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"callbox"
	"callbox/internal/sipptest"
	"callbox/internal/testbox"
	"callbox/queue"
)

// Queues end to end: the real daemon, SIPp callers from the loopback trunk, SIPp agents on
// registered extensions, a SIPp "provider" behind a route's trunk for mobiles and
// callbacks.

// queueBox is a box whose number 4100 screens the caller (VIP list) and queues them in
// support; extra adds agents: and queues: (support must be among them).
func startQueueBox(t *testing.T, extra string) *sipBox {
	t.Helper()
	if _, err := os.Stat("/usr/bin/espeak-ng"); err != nil {
		t.Fatal("espeak-ng is not installed: `make test` installs it")
	}
	sipPort := testbox.FreePort(t)
	provider := testbox.FreePort(t)
	cfg := fmt.Sprintf(`box: {name: e2e-queue, country: US}
sip:
  listen: [udp://127.0.0.1:%[1]d]
rtp: {address: 127.0.0.1, ports: 20000-29999, no_media_timeout: 30s}
calls: {ring_timeout: 8s, shutdown_grace: 5s}
web: {listen: 127.0.0.1:0}
recording: {format: pcm16}
extensions:
  - {number: "1001", name: Alice, password: secret-1001}
  - {number: "1002", name: Bob, password: secret-1002}
  - {number: "1003", name: Carol, password: secret-1003}
  - {number: "1004", name: Dave, password: secret-1004}
trunks:
  - {name: loopback, kind: ip, sources: [127.0.0.1]}
  - {name: provider, kind: ip, sources: [127.0.0.9], server: "127.0.0.1:%[2]d"}
inbound:
  - {number: "4100", destination: flow:queued}
routes:
  - {name: out, prefix: "9", strip: 1, trunks: [provider]}
  - {name: world, prefix: "+", trunks: [provider]}
ivr:
  lists:
    vip: [{number: "+12125550188", level: 5}]
  flows:
    - name: queued
      start: screen
      nodes:
        screen: {caller: {blacklisted: hangup}, next: queue:support}
%[3]s`, sipPort, provider, extra)
	b := testbox.Start(t, testbox.Options{Config: cfg})
	return &sipBox{Box: b, sip: fmt.Sprintf("127.0.0.1:%d", sipPort), provider: provider}
}

// queueAgent registers ext and runs a SIPp agent for it that takes calls calls.
func queueAgent(t *testing.T, b *sipBox, ext string, a sipptest.Agent, calls int) *sipptest.Proc {
	t.Helper()
	port := testbox.FreePort(t)
	sipptest.Register(t, b.sip, ext, "secret-"+ext, port, "udp", 200)
	return sipptest.Start(t, sipptest.Options{XML: a.XML(), Port: port, Echo: a.Pcap == "", Calls: calls, Timeout: 90 * time.Second})
}

// queueCaller calls 4100 from number; c says what the caller does once answered.
func queueCaller(t *testing.T, b *sipBox, number string, c sipptest.Call) *sipptest.Proc {
	t.Helper()
	c.From = number
	return sipptest.Start(t, sipptest.Options{XML: c.XML(), Target: b.sip, Service: "4100", Timeout: 90 * time.Second})
}

// queueView is the queue's live view through the API.
func queueView(t *testing.T, b *sipBox, name string) queue.QueueView {
	t.Helper()
	var v queue.QueueView
	if err := b.SocketJSON("GET", "/api/v1/queues/"+name, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// waitQueue waits until the queue's live view satisfies ok.
func waitQueue(t *testing.T, b *sipBox, name string, what string, ok func(queue.QueueView) bool) queue.QueueView {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		v := queueView(t, b, name)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("queue %s: %s did not happen within 30s: %+v\n%s", name, what, v, b.Stderr())
		}
		// The live view has no event a test could wait on here (the SSE stream is for
		// screens); a short poll keeps the test simple.
		time.Sleep(100 * time.Millisecond)
	}
}

// waitAgent waits until the agent is in state.
func waitAgent(t *testing.T, b *sipBox, id string, state queue.State) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		var a queue.AgentView
		if err := b.SocketJSON("GET", "/api/v1/agents/"+id, &a); err != nil {
			t.Fatal(err)
		}
		if a.State == state {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("agent %s is %s, not %s, after 30s", id, a.State, state)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// allCalls returns every call record with its timeline, oldest first.
func allCalls(t *testing.T, b *sipBox) []callbox.Record {
	t.Helper()
	var calls []callbox.Record
	if err := b.SocketJSON("GET", "/api/v1/calls?limit=1000", &calls); err != nil {
		t.Fatal(err)
	}
	out := make([]callbox.Record, 0, len(calls))
	for _, c := range calls {
		var rec callbox.Record
		if err := b.SocketJSON("GET", "/api/v1/calls/"+c.ID, &rec); err != nil {
			t.Fatal(err)
		}
		out = append(out, rec)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Started.Before(out[j].Started) })
	return out
}

// callFrom finds the record of the call from number (in E.164).
func callFrom(t *testing.T, recs []callbox.Record, number string) callbox.Record {
	t.Helper()
	for _, r := range recs {
		if r.From == number || "+1"+r.From == number {
			return r
		}
	}
	t.Fatalf("no call from %s", number)
	return callbox.Record{}
}

func timelines(recs []callbox.Record) string {
	var b strings.Builder
	for _, r := range recs {
		fmt.Fprintf(&b, "call %s from %s: %s/%s agent %s flags %v\n%s", r.ID, r.From, r.Result, r.Cause, r.Agent, r.Flags, timeline(r))
	}
	return b.String()
}

func callersOf(v queue.QueueView) []string {
	var out []string
	for _, c := range v.Callers {
		out = append(out, c.Number)
	}
	return out
}

// TestQueueVIPAnsweredFirst puts three callers in a queue whose agents are paused: the VIP
// (on the IVR's list) is placed first, `queue show` and `agents` say so, and once an agent
// is available they are answered in that order.
func TestQueueVIPAnsweredFirst(t *testing.T) {
	b := startQueueBox(t, `agents:
  - {extension: "1001", auto_login: true}
  - {extension: "1002", auto_login: true}
queues:
  - {name: support, strategy: longest-idle, members: ["1001", "1002"], ring_timeout: 5s, retry: 1s}
`)
	b.MustCLI("agent", "pause", "1001", "--reason", "meeting")
	b.MustCLI("agent", "pause", "1002", "--reason", "lunch")
	var callers []*sipptest.Proc
	for i, n := range []string{"2125550101", "2125550102", "2125550188"} {
		callers = append(callers, queueCaller(t, b, n, sipptest.Call{}))
		waitQueue(t, b, "support", "caller joining", func(v queue.QueueView) bool { return v.Waiting == i+1 })
	}
	v := queueView(t, b, "support")
	if got, want := callersOf(v), []string{"+12125550188", "+12125550101", "+12125550102"}; !slices.Equal(got, want) {
		t.Fatalf("callers in order %v, want %v", got, want)
	}
	if v.Callers[0].Priority != 5 || v.Callers[0].Position != 1 {
		t.Errorf("the VIP: %+v", v.Callers[0])
	}
	out := b.MustCLI("queue", "show", "support")
	for _, want := range []string{"3 on the line", "+12125550188", "2 paused"} {
		if !strings.Contains(out, want) {
			t.Errorf("queue show lacks %q:\n%s", want, out)
		}
	}
	if out := b.MustCLI("agents"); !strings.Contains(out, "paused (meeting)") || !strings.Contains(out, "paused (lunch)") {
		t.Errorf("agents:\n%s", out)
	}
	ag := queueAgent(t, b, "1001", sipptest.Agent{RingMs: 300, ByeFirst: true, TalkMs: 1200}, 3)
	b.MustCLI("agent", "unpause", "1001")
	for i, c := range callers {
		c.MustSucceed(fmt.Sprintf("caller %d", i+1))
	}
	ag.MustSucceed("agent 1001")
	b.waitCalls(t, 3)
	recs := allCalls(t, b)
	var order []string
	answered := map[string]time.Time{}
	for _, r := range recs {
		if r.Result != "answered" || r.Agent != "1001" || r.Queue != "support" || r.Answered == nil || r.Recording == nil {
			t.Errorf("record: %+v", r)
			continue
		}
		answered[r.From] = *r.Answered
		order = append(order, r.From)
	}
	sort.Slice(order, func(i, j int) bool { return answered[order[i]].Before(answered[order[j]]) })
	if want := []string{"2125550188", "2125550101", "2125550102"}; !slices.Equal(order, want) {
		t.Errorf("answered in the order %v, want %v\n%s", order, want, timelines(recs))
	}
	if r := callFrom(t, recs, "+12125550188"); r.VIP != 5 || !hasEvent(r, "queue.bridge") || !hasEvent(r, "queue.offer") {
		t.Errorf("the VIP's record: vip %d\n%s", r.VIP, timeline(r))
	}
	v = waitQueue(t, b, "support", "figures", func(v queue.QueueView) bool { return v.Today.Answered == 3 })
	if v.Waiting != 0 || len(v.Callers) != 0 {
		t.Errorf("queue after: %+v", v)
	}
}

// TestQueueUnansweredOfferGoesToTheNextAgent has the first agent's phone ring out: the
// offer is cancelled (SIPp gets the CANCEL) and the next agent takes the call.
func TestQueueUnansweredOfferGoesToTheNextAgent(t *testing.T) {
	b := startQueueBox(t, `agents:
  - {extension: "1001", auto_login: true}
  - {extension: "1002", auto_login: true}
queues:
  - {name: support, strategy: linear, members: ["1001", "1002"], ring_timeout: 3s, retry: 1s}
`)
	slow := queueAgent(t, b, "1001", sipptest.Agent{NoAnswer: true}, 1)
	good := queueAgent(t, b, "1002", sipptest.Agent{RingMs: 300}, 1)
	caller := queueCaller(t, b, "2125550121", sipptest.Call{TalkMs: 6000, ByeFirst: true})
	caller.MustSucceed("caller")
	slow.MustSucceed("agent 1001 (rings out, cancelled)")
	good.MustSucceed("agent 1002")
	b.waitCalls(t, 1)
	rec := b.lastCall(t)
	if rec.Result != "answered" || rec.Agent != "1002" || rec.HangupSide != callbox.SideCaller {
		t.Fatalf("record: %+v\n%s", rec, timeline(rec))
	}
	var offers []string
	noAnswer := false
	for _, e := range rec.Events {
		switch {
		case e.Kind == "queue.offer":
			offers = append(offers, e.Detail["agent"])
		case e.Kind == "queue.offer-ended" && e.Detail["agent"] == "1001" && e.Detail["reason"] == "no-answer":
			noAnswer = true
		}
	}
	if !slices.Equal(offers, []string{"1001", "1002"}) || !noAnswer {
		t.Errorf("offers %v, 1001 rang out: %v\n%s", offers, noAnswer, timeline(rec))
	}
	var a queue.AgentView
	if err := b.SocketJSON("GET", "/api/v1/agents/1001", &a); err != nil || a.Missed != 1 {
		t.Errorf("agent 1001 after ringing out: %+v %v", a, err)
	}
}

// TestQueueReturningCallerReachesTheSameAgent: a caller served by 1002 calls again; with a
// sticky window the call goes to 1002 although 1001 has been idle longer, and the record
// says the sticky agent took it.
func TestQueueReturningCallerReachesTheSameAgent(t *testing.T) {
	b := startQueueBox(t, `agents:
  - {extension: "1001", auto_login: true}
  - {extension: "1002", auto_login: true}
queues:
  - {name: support, strategy: longest-idle, members: ["1001", "1002"], ring_timeout: 5s, retry: 1s,
     sticky_window: 1h, sticky_wait: 10s}
`)
	bob := queueAgent(t, b, "1002", sipptest.Agent{RingMs: 200, ByeFirst: true, TalkMs: 1000}, 2)
	b.MustCLI("agent", "pause", "1001")
	queueCaller(t, b, "2125550131", sipptest.Call{}).MustSucceed("first call")
	b.waitCalls(t, 1)
	if rec := b.lastCall(t); rec.Agent != "1002" {
		t.Fatalf("first call: %+v\n%s", rec, timeline(rec))
	}
	b.MustCLI("agent", "unpause", "1001")
	queueCaller(t, b, "2125550131", sipptest.Call{}).MustSucceed("second call")
	bob.MustSucceed("agent 1002")
	b.waitCalls(t, 2)
	rec := b.lastCall(t)
	offer := eventDetail(rec, "queue.offer")
	if rec.Agent != "1002" || !slices.Contains(rec.Flags, "sticky") || offer["agent"] != "1002" || offer["sticky"] != "true" {
		t.Fatalf("returning call: agent %s flags %v\n%s", rec.Agent, rec.Flags, timeline(rec))
	}
	if d := eventDetail(rec, "queue.bridge"); d["sticky_agent"] != "1002" || d["sticky_hit"] != "true" {
		t.Errorf("bridge: %v", d)
	}
	v := queueView(t, b, "support")
	if v.Today.StickyHits != 1 {
		t.Errorf("sticky hits %d", v.Today.StickyHits)
	}
}

// TestQueueMobileAgentPressesOne: an agent logged in on their mobile takes a queue call
// through the provider's trunk; the provider (SIPp) answers and sends RFC 4733 "1" after
// the box asked for it, and only then is the caller bridged.
func TestQueueMobileAgentPressesOne(t *testing.T) {
	b := startQueueBox(t, `agents:
  - {extension: "1002", mobile: "95550177", mobile_ring: mobile}
queues:
  - {name: support, strategy: linear, members: ["1002"], ring_timeout: 5s, retry: 1s}
`)
	b.MustCLI("agent", "login", "1002", "--mobile")
	if out := b.MustCLI("agents"); !strings.Contains(out, "yes") {
		t.Errorf("agents shows no mobile login:\n%s", out)
	}
	mobile := sipptest.Start(t, sipptest.Options{XML: sipptest.Agent{RingMs: 500, Pcap: dtmf("1"), Expect: []string{`INVITE sip:5550177@`}}.XML(),
		Port: b.provider, Timeout: 60 * time.Second})
	caller := queueCaller(t, b, "2125550141", sipptest.Call{TalkMs: 7000, ByeFirst: true})
	caller.MustSucceed("caller")
	mobile.MustSucceed("mobile agent")
	b.waitCalls(t, 1)
	rec := b.lastCall(t)
	if rec.Result != "answered" || rec.Agent != "1002" {
		t.Fatalf("record: %+v\n%s", rec, timeline(rec))
	}
	key := eventDetail(rec, "queue.confirm-key")
	if eventDetail(rec, "queue.confirm") == nil || key["key"] != "1" || key["valid"] != "true" || key["source"] != "event" {
		t.Errorf("no confirmation by RFC 4733 1:\n%s", timeline(rec))
	}
	var confirmed, bridged time.Time
	for _, e := range rec.Events {
		switch e.Kind {
		case "queue.confirm-key":
			confirmed = e.At
		case "queue.bridge":
			bridged = e.At
		}
	}
	if bridged.IsZero() || bridged.Before(confirmed) {
		t.Errorf("bridged at %s, confirmed at %s", bridged, confirmed)
	}
}

// TestQueueCallbackKeepsItsPlace: a caller presses the callback key and hangs up; they stay
// first in the queue as a callback, ahead of the caller who came after them, and when an
// agent is free the box calls the agent first, then the caller (through the provider).
func TestQueueCallbackKeepsItsPlace(t *testing.T) {
	b := startQueueBox(t, `agents:
  - {extension: "1001", auto_login: true}
queues:
  - {name: support, strategy: linear, members: ["1001"], ring_timeout: 5s, retry: 1s, callback_key: "5"}
`)
	b.MustCLI("agent", "pause", "1001")
	first := queueCaller(t, b, "2125550151", sipptest.Call{Script: []sipptest.Step{{PauseMs: 1500, Pcap: dtmf("5")}}})
	waitQueue(t, b, "support", "the first caller", func(v queue.QueueView) bool { return v.Waiting == 1 })
	second := queueCaller(t, b, "2125550152", sipptest.Call{})
	first.MustSucceed("caller asking for a callback")
	b.waitCalls(t, 1)
	rec := b.lastCall(t)
	if rec.Result != "callback" || !slices.Contains(rec.Flags, "callback") || eventDetail(rec, "queue.callback")["number"] != "+12125550151" {
		t.Fatalf("the caller's record: %+v\n%s", rec, timeline(rec))
	}
	v := waitQueue(t, b, "support", "a callback and a caller", func(v queue.QueueView) bool { return v.Waiting == 1 && v.Callbacks == 1 })
	if len(v.Callers) != 2 || v.Callers[0].Number != "+12125550151" || v.Callers[0].State != "callback" || v.Callers[0].Position != 1 ||
		v.Callers[1].Number != "+12125550152" {
		t.Fatalf("callers: %+v", v.Callers)
	}
	if out := b.MustCLI("queue", "show", "support"); !strings.Contains(out, "1 callbacks") || !strings.Contains(out, "callback") {
		t.Errorf("queue show:\n%s", out)
	}
	customer := sipptest.Start(t, sipptest.Options{XML: sipptest.Agent{RingMs: 500, Expect: []string{`INVITE sip:\+12125550151@`}}.XML(),
		Port: b.provider, Echo: true, Timeout: 60 * time.Second})
	alice := queueAgent(t, b, "1001", sipptest.Agent{RingMs: 200, ByeFirst: true, TalkMs: 1500}, 2)
	b.MustCLI("agent", "unpause", "1001")
	customer.MustSucceed("the caller called back")
	second.MustSucceed("second caller")
	alice.MustSucceed("agent")
	b.waitCalls(t, 3)
	recs := allCalls(t, b)
	var back callbox.Record
	for _, r := range recs {
		if r.Direction == callbox.Outbound {
			back = r
		}
	}
	if back.ID == "" || back.To != "+12125550151" || back.Agent != "1001" || back.Queue != "support" || back.Result != "answered" ||
		back.Variables["queue_call"] != rec.ID || !slices.Contains(back.Flags, "callback") || back.Answered == nil {
		t.Fatalf("the callback's record: %+v\n%s", back, timelines(recs))
	}
	// The agent rang first, then the caller.
	var agentAnswered, dialled time.Time
	for _, e := range back.Events {
		switch e.Kind {
		case "queue.answered":
			agentAnswered = e.At
		case "queue.dial-caller":
			dialled = e.At
		}
	}
	if agentAnswered.IsZero() || dialled.Before(agentAnswered) {
		t.Errorf("agent answered %s, caller dialled %s", agentAnswered, dialled)
	}
	later := callFrom(t, recs, "+12125550152")
	if later.Answered == nil || !later.Answered.After(*back.Answered) {
		t.Errorf("the later caller was answered before the callback:\n%s", timelines(recs))
	}
	if v := queueView(t, b, "support"); v.Today.Callbacks != 1 || v.Callbacks != 0 {
		t.Errorf("after: %+v", v.Today)
	}
}

// TestQueueOverflowAtMaxWait: nobody takes the call within the queue's maximum wait; the
// caller, told their position on joining, goes to the overflow extension.
func TestQueueOverflowAtMaxWait(t *testing.T) {
	b := startQueueBox(t, `agents:
  - {extension: "1001", auto_login: true}
queues:
  - {name: support, members: ["1001"], max_wait: 10s, overflow: "extension:1003", announce_every: 30s}
`)
	b.MustCLI("agent", "pause", "1001")
	carol := queueAgent(t, b, "1003", sipptest.Agent{RingMs: 300}, 1)
	// The caller stays on the line 14 s from the box's answer: 10 s in the queue, then a
	// few seconds with 1003.
	caller := queueCaller(t, b, "2125550161", sipptest.Call{TalkMs: 14000, ByeFirst: true})
	caller.MustSucceed("caller")
	carol.MustSucceed("overflow extension")
	b.waitCalls(t, 1)
	rec := b.lastCall(t)
	over := eventDetail(rec, "queue.overflow")
	if rec.Result != "answered" || rec.Extension != "1003" || !slices.Contains(rec.Flags, "overflow") ||
		over["reason"] != "timeout" || over["to"] != "extension:1003" {
		t.Fatalf("record: %+v\n%s", rec, timeline(rec))
	}
	if a := eventDetail(rec, "queue.announce"); a["what"] != "position" || a["position"] != "1" {
		t.Errorf("no position announced on joining:\n%s", timeline(rec))
	}
	var joined, overflowed time.Time
	for _, e := range rec.Events {
		switch e.Kind {
		case "queue.join":
			joined = e.At
		case "queue.overflow":
			overflowed = e.At
		}
	}
	if w := overflowed.Sub(joined); w < 10*time.Second || w > 12*time.Second {
		t.Errorf("overflow after %s, want 10s", w)
	}
	if v := queueView(t, b, "support"); v.Today.Overflowed != 1 {
		t.Errorf("today: %+v", v.Today)
	}
}

// phoneDials has extension ext's phone (SIPp from 127.0.0.2, with its password) dial
// number and wait for the box to hang up.
func phoneDials(t *testing.T, b *sipBox, ext, number string) {
	t.Helper()
	sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Auth: true, From: ext}.XML(), Target: b.sip, Service: number,
		User: ext, Password: "secret-" + ext, Timeout: 30 * time.Second, Args: []string{"-i", "127.0.0.2"}}).MustSucceed(ext + " dials " + number)
}

// TestQueueFeatureCodesFromThePhone: an agent logs out and in with *45 and pauses with *46
// from their desk phone; the box answers each time, says what it did and hangs up.
func TestQueueFeatureCodesFromThePhone(t *testing.T) {
	b := startQueueBox(t, `agents:
  - {extension: "1001", auto_login: true}
queues:
  - {name: support, members: ["1001"]}
feature_codes: {pause: "*47"}
`)
	state := func() queue.AgentView {
		var a queue.AgentView
		if err := b.SocketJSON("GET", "/api/v1/agents/1001", &a); err != nil {
			t.Fatal(err)
		}
		return a
	}
	steps := []struct {
		dial  string
		state queue.State
	}{
		{"*45", queue.StateLoggedOut},
		{"*45", queue.StateAvailable},
		{"*47", queue.StatePaused},
		{"*47", queue.StateAvailable},
	}
	for i, s := range steps {
		phoneDials(t, b, "1001", s.dial)
		if a := state(); a.State != s.state {
			t.Fatalf("after %s: %s, want %s", s.dial, a.State, s.state)
		}
		b.waitCalls(t, i+1)
		rec := b.lastCall(t)
		if rec.Result != "feature" || eventDetail(rec, "feature")["code"] != s.dial || !hasEvent(rec, "ivr.answer") {
			t.Errorf("record of %s: %+v\n%s", s.dial, rec, timeline(rec))
		}
	}
	phoneDials(t, b, "1001", "*47")
	if out := b.MustCLI("agents"); !strings.Contains(out, "paused (phone)") {
		t.Errorf("agents:\n%s", out)
	}
	// Not an agent: told so, nothing changes.
	phoneDials(t, b, "1004", "*45")
	b.waitCalls(t, 6)
	if rec := b.lastCall(t); eventDetail(rec, "feature.failed") == nil {
		t.Errorf("a non-agent's login:\n%s", timeline(rec))
	}
	// The default pause code is no feature code here: it is refused like any unknown number.
	sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Auth: true, From: "1001", Expect: 404}.XML(), Target: b.sip, Service: "*46",
		User: "1001", Password: "secret-1001", Args: []string{"-i", "127.0.0.2"}}).MustSucceed("*46 refused")
}

// TestQueueTakeBackTransferAndSupervisionByCode: a supervisor listens by *31 from their
// phone and hangs up; the call is taken back from its agent (the caller waits again) and
// goes to the next agent; then it is moved out of the queues to an extension.
func TestQueueTakeBackTransferAndSupervisionByCode(t *testing.T) {
	b := startQueueBox(t, `agents:
  - {extension: "1001", auto_login: true}
  - {extension: "1002", auto_login: true}
queues:
  - {name: support, strategy: linear, members: ["1001", "1002"], ring_timeout: 5s, retry: 1s}
`)
	alice := queueAgent(t, b, "1001", sipptest.Agent{RingMs: 200}, 1)
	bob := queueAgent(t, b, "1002", sipptest.Agent{RingMs: 200}, 1)
	carol := queueAgent(t, b, "1003", sipptest.Agent{RingMs: 200}, 1)
	caller := queueCaller(t, b, "2125550181", sipptest.Call{TalkMs: 20000, ByeFirst: true})
	v := waitQueue(t, b, "support", "the call with 1001", func(v queue.QueueView) bool {
		return len(v.Callers) == 1 && v.Callers[0].State == "on_call" && slices.Equal(v.Callers[0].Agents, []string{"1001"})
	})
	call := v.Callers[0].Call
	// A supervisor listens in from their phone for two seconds.
	sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Auth: true, From: "1004", TalkMs: 2000, ByeFirst: true}.XML(), Target: b.sip,
		Service: "*311001", User: "1004", Password: "secret-1004", Timeout: 30 * time.Second, Args: []string{"-i", "127.0.0.2"}}).MustSucceed("supervisor")
	b.MustCLI("queue", "takeback", call)
	alice.MustSucceed("agent 1001 (taken off the call)")
	waitQueue(t, b, "support", "the call with 1002", func(v queue.QueueView) bool {
		return len(v.Callers) == 1 && v.Callers[0].State == "on_call" && slices.Equal(v.Callers[0].Agents, []string{"1002"})
	})
	b.MustCLI("queue", "transfer", call, "extension:1003")
	bob.MustSucceed("agent 1002 (transferred away)")
	caller.MustSucceed("caller")
	carol.MustSucceed("extension 1003")
	b.waitCalls(t, 2)
	recs := allCalls(t, b)
	rec := callFrom(t, recs, "+12125550181")
	var steps []string
	for _, e := range rec.Events {
		switch e.Kind {
		case "queue.bridge":
			steps = append(steps, "bridge "+e.Detail["agent"])
		case "queue.unbridge":
			steps = append(steps, "unbridge "+e.Detail["reason"])
		case "queue.transfer":
			steps = append(steps, "transfer "+e.Detail["to"])
		case "supervisor", "supervisor.left":
			steps = append(steps, e.Kind+" "+e.Detail["mode"])
		}
	}
	want := []string{"bridge 1001", "supervisor listen", "supervisor.left listen", "unbridge take-back", "bridge 1002", "transfer extension:1003"}
	if !slices.Equal(steps, want) || rec.Extension != "1003" || rec.Result != "answered" || rec.Agent != "1002" {
		t.Fatalf("steps %v, want %v; record %+v\n%s", steps, want, rec, timelines(recs))
	}
	var sup callbox.Record
	for _, r := range recs {
		if r.To == "*311001" {
			sup = r
		}
	}
	if sup.Result != "answered" || sup.Variables["supervised_call"] != call {
		t.Errorf("the supervisor's call: %+v", sup)
	}
	if n := len(b.LogLines("supervisor joined")); n != 1 {
		t.Errorf("%d supervisor joins logged", n)
	}
}

// TestQueueDirectCallKeepsTheAgentBusy: while agent 1001 talks on a call to their own
// extension, the queue's call goes to 1002 (ring-all would ring both otherwise).
func TestQueueDirectCallKeepsTheAgentBusy(t *testing.T) {
	b := startQueueBox(t, `agents:
  - {extension: "1001", auto_login: true}
  - {extension: "1002", auto_login: true}
queues:
  - {name: support, strategy: ring-all, members: ["1001", "1002"], ring_timeout: 5s}
`)
	alice := queueAgent(t, b, "1001", sipptest.Agent{RingMs: 100}, 1)
	bob := queueAgent(t, b, "1002", sipptest.Agent{RingMs: 1000}, 1)
	direct := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Auth: true, From: "1003", TalkMs: 8000, ByeFirst: true}.XML(),
		Target: b.sip, Service: "1001", User: "1003", Password: "secret-1003", Timeout: 30 * time.Second, Args: []string{"-i", "127.0.0.2"}})
	waitAgent(t, b, "1001", queue.StateOnCall)
	queueCaller(t, b, "2125550191", sipptest.Call{TalkMs: 2000, ByeFirst: true}).MustSucceed("queue caller")
	direct.MustSucceed("direct call")
	alice.MustSucceed("agent 1001")
	bob.MustSucceed("agent 1002")
	waitAgent(t, b, "1001", queue.StateAvailable)
	b.waitCalls(t, 2)
	rec := callFrom(t, allCalls(t, b), "+12125550191")
	var offered []string
	for _, e := range rec.Events {
		if e.Kind == "queue.offer" {
			offered = append(offered, e.Detail["agent"])
		}
	}
	if rec.Agent != "1002" || !slices.Equal(offered, []string{"1002"}) {
		t.Errorf("queue call: agent %s, offered to %v\n%s", rec.Agent, offered, timeline(rec))
	}
}

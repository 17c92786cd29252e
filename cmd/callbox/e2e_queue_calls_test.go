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

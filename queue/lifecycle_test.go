package queue

import (
	"fmt"
	"testing"
	"time"
)

func TestWrapUp(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear, WrapUp: 30 * time.Second}, "1001"))
	h.login("1001")
	h.join("support", "c1", Caller{})
	h.answer("c1", "1001")
	h.join("support", "c2", Caller{})
	h.clock.t = h.clock.t.Add(time.Minute)
	acts := h.hangup("c1")
	wantOffers(t, acts)
	if ch := only[AgentChanged](acts); len(ch) != 1 || ch[0].State != StateWrapUp {
		t.Fatalf("changes %+v, want wrap_up", ch)
	}
	if f := only[Finished](acts); len(f) != 1 || f[0].Result != ResultAnswered || f[0].Handled != 90*time.Second {
		t.Fatalf("finished %+v, want answered, handled 1m30s (talk and wrap-up)", f)
	}
	wantOffers(t, h.wait(29*time.Second))
	wantOffers(t, h.wait(time.Second), "c2>1001")
}

func TestAutoPauseAfterUnansweredOffers(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear, AutoPauseAfter: 2, RingTimeout: 10 * time.Second, Retry: 5 * time.Second}, "1001", "1002"))
	h.login("1001", "1002")
	h.must(h.e.DirectCall("1002", true))
	wantOffers(t, h.join("support", "c1", Caller{}), "c1>1001")
	acts := h.wait(10 * time.Second) // rings out
	if c := only[CancelOffer](acts); len(c) != 1 || c[0].Reason != "no-answer" {
		t.Fatalf("cancel %+v", c)
	}
	wantOffers(t, h.wait(5*time.Second), "c1>1001") // nobody else free: 1001 again
	acts = h.wait(10 * time.Second)
	var paused *AgentChanged
	for _, ch := range only[AgentChanged](acts) {
		if ch.State == StatePaused {
			paused = &ch
		}
	}
	if paused == nil || paused.Reason != "auto-paused: 2 unanswered offers" {
		t.Fatalf("no auto-pause: %s", describe(acts))
	}
	wantOffers(t, h.wait(5*time.Second))
	if st := h.state("1001"); st != StatePaused {
		t.Fatalf("1001 is %s", st)
	}
	// An answered offer resets the count.
	h.must(h.e.Unpause("1001"))
	h.must(h.e.DirectCall("1002", false))
	v, _ := h.e.Agent("1001")
	if v.Missed != 0 {
		t.Fatalf("missed %d after unpause", v.Missed)
	}
}

func TestNextAgentGetsItWhenOneDoesNotAnswer(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear, RingTimeout: 15 * time.Second, Retry: 2 * time.Second}, "1001", "1002"))
	h.login("1001", "1002")
	wantOffers(t, h.join("support", "c1", Caller{}), "c1>1001")
	wantOffers(t, h.wait(15*time.Second))
	wantOffers(t, h.wait(2*time.Second), "c1>1002")
}

func TestOverflowAtMaxWait(t *testing.T) {
	cfg := Config{
		Queues: []QueueConfig{
			{Name: "support", Strategy: Linear, Members: members("1001"), MaxWait: time.Minute, Overflow: "queue:sales", JoinIf: Always},
			{Name: "sales", Strategy: Linear, Members: members("1002"), MaxWait: time.Minute, Overflow: "voicemail:1002"},
		},
		Agents: agentsNamed("1001", "1002"),
	}
	h := newHarness(t, cfg)
	h.login("1002")
	h.must(h.e.DirectCall("1002", true))
	h.join("support", "c1", Caller{})
	if acts := h.wait(59 * time.Second); len(only[Moved](acts)) != 0 {
		t.Fatal("moved before the maximum wait")
	}
	acts := h.wait(time.Second)
	mv := only[Moved](acts)
	if len(mv) != 1 || mv[0].From != "support" || mv[0].To != "sales" {
		t.Fatalf("moved %+v", mv)
	}
	if f := only[Finished](acts); len(f) != 1 || f[0].Result != ResultOverflow || f[0].Queue != "support" {
		t.Fatalf("finished %+v", f)
	}
	acts = h.wait(time.Minute)
	of := only[Overflow](acts)
	if len(of) != 1 || of[0].Dest != "voicemail:1002" || of[0].Reason != "timeout" || of[0].Queue != "sales" {
		t.Fatalf("overflow %+v", of)
	}
	if _, err := h.e.Hangup("c1"); err == nil {
		t.Fatal("the call is still in the queues after its overflow")
	}
	for _, q := range []string{"support", "sales"} {
		if v, _ := h.e.Queue(q); v.Today.Overflowed != 1 || v.Waiting != 0 {
			t.Errorf("%s: %+v", q, v.Today)
		}
	}
}

func TestMaxWaitWhileRingingWaitsForTheOffer(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear, MaxWait: 20 * time.Second, RingTimeout: 15 * time.Second, Overflow: "extension:1009"}, "1001"))
	h.login("1001")
	h.must(h.e.DirectCall("1001", true))
	h.join("support", "c1", Caller{})
	h.clock.t = h.clock.t.Add(10 * time.Second)
	wantOffers(t, h.must(h.e.DirectCall("1001", false)), "c1>1001")
	if of := only[Overflow](h.wait(10 * time.Second)); len(of) != 0 {
		t.Fatal("overflow while the agent rings")
	}
	acts := h.wait(5 * time.Second) // the offer rings out: now it overflows
	if of := only[Overflow](acts); len(of) != 1 || of[0].Dest != "extension:1009" {
		t.Fatalf("overflow %s", describe(acts))
	}
}

func TestJoinAndStayRules(t *testing.T) {
	cfg := oneQueue(QueueConfig{Strategy: Linear, MaxLength: 2, JoinIf: Unpaused, StayIf: Staffed, Overflow: "number:+15559999"}, "1001")
	h := newHarness(t, cfg)
	if of := only[Overflow](h.join("support", "c0", Caller{})); len(of) != 1 || of[0].Reason != "empty" {
		t.Fatalf("nobody logged in: %+v", of)
	}
	h.login("1001")
	h.must(h.e.Pause("1001", "lunch"))
	if of := only[Overflow](h.join("support", "c1", Caller{})); len(of) != 1 || of[0].Reason != "empty" {
		t.Fatalf("only paused agents: %+v", of)
	}
	h.must(h.e.Unpause("1001"))
	h.must(h.e.DirectCall("1001", true))
	h.join("support", "c2", Caller{})
	h.join("support", "c3", Caller{})
	if of := only[Overflow](h.join("support", "c4", Caller{})); len(of) != 1 || of[0].Reason != "full" || of[0].Dest != "number:+15559999" {
		t.Fatalf("full queue: %+v", of)
	}
	// Paused is still staffed: they stay. Logged out is not: they go.
	if of := only[Overflow](h.must(h.e.Pause("1001", "meeting"))); len(of) != 0 {
		t.Fatalf("overflow on pause: %+v", of)
	}
	acts := h.must(h.e.Logout("1001", ""))
	if of := only[Overflow](acts); len(of) != 2 || of[0].Call != "c2" || of[1].Call != "c3" {
		t.Fatalf("overflow on logout: %s", describe(acts))
	}
	if v, _ := h.e.Queue("support"); v.Today.Overflowed != 5 {
		t.Errorf("overflowed %d, want 5", v.Today.Overflowed)
	}
}

func TestOverflowLoopEnds(t *testing.T) {
	cfg := Config{
		Queues: []QueueConfig{
			{Name: "a", Members: members("1001"), MaxWait: time.Minute, Overflow: "queue:b", JoinIf: Always},
			{Name: "b", Members: members("1001"), MaxWait: time.Minute, Overflow: "queue:a", JoinIf: Always},
		},
		Agents: agentsNamed("1001"),
	}
	h := newHarness(t, cfg)
	h.join("a", "c1", Caller{})
	h.wait(time.Minute)
	acts := h.wait(time.Minute)
	if of := only[Overflow](acts); len(of) != 1 || of[0].Dest != "" || of[0].Queue != "b" {
		t.Fatalf("a loop a → b → a: %s", describe(acts))
	}
}

func TestCallbackKeepsItsPlace(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear, CallbackKey: "5", CallbackRetry: time.Minute, CallbackAttempts: 2, MaxWait: 2 * time.Minute}, "1001"))
	h.login("1001")
	h.must(h.e.DirectCall("1001", true))
	for i, c := range []string{"a", "b", "c"} {
		h.clock.t = start.Add(time.Duration(i) * time.Second)
		h.join("support", c, Caller{Number: "+1555000" + c})
	}
	acts := h.must(h.e.RequestCallback("b", "+15551234"))
	if ca := only[CallbackAccepted](acts); len(ca) != 1 || ca[0].Position != 2 || ca[0].Number != "+15551234" {
		t.Fatalf("callback accepted %+v", ca)
	}
	if cp := only[CallbackPending](acts); len(cp) != 1 || cp[0].Joined != start.Add(time.Second) {
		t.Fatalf("callback pending %+v", cp)
	}
	// Its maximum wait does not apply: nobody is on the line.
	h.wait(3 * time.Minute)
	v, _ := h.e.Queue("support")
	if v.Callbacks != 1 || v.Waiting != 0 {
		t.Fatalf("after 3m: %d waiting, %d callbacks (a and c overflowed)", v.Waiting, v.Callbacks)
	}
	h.join("support", "d", Caller{Number: "+1555000d"})
	// b's turn comes before d: the agent is called first.
	acts = h.must(h.e.DirectCall("1001", false))
	o := only[Offer](acts)
	if len(o) != 1 || o[0].Call != "b" || !o[0].Callback {
		t.Fatalf("offers %s", describe(acts))
	}
	acts = h.answer("b", "1001")
	if dc := only[DialCaller](acts); len(dc) != 1 || dc[0].Number != "+15551234" || len(only[Bridge](acts)) != 0 {
		t.Fatalf("after the agent answered: %s", describe(acts))
	}
	// The caller does not answer: the agent is free, d is served, b waits for its retry.
	acts = h.must(h.e.CallbackReached("b", false))
	wantOffers(t, acts, "d>1001")
	h.talk("d", "1001", 10*time.Second)
	wantOffers(t, h.wait(time.Minute), "b>1001")
	h.answer("b", "1001")
	acts = h.must(h.e.CallbackReached("b", true))
	if b := only[Bridge](acts); len(b) != 1 || !b[0].Callback {
		t.Fatalf("bridge %s", describe(acts))
	}
	h.clock.t = h.clock.t.Add(time.Minute)
	acts = h.hangup("b")
	if f := only[Finished](acts); len(f) != 1 || f[0].Result != ResultCallback || !f[0].Callback {
		t.Fatalf("finished %+v", f)
	}
	if v, _ := h.e.Queue("support"); v.Today.Callbacks != 1 || v.Today.Answered != 1 {
		t.Errorf("today %+v", v.Today)
	}
}

func TestCallbackGivesUpAfterItsAttempts(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{CallbackKey: "5", CallbackRetry: time.Minute, CallbackAttempts: 2}, "1001"))
	h.login("1001")
	h.must(h.e.DirectCall("1001", true))
	h.join("support", "b", Caller{Number: "+15550002"})
	h.must(h.e.RequestCallback("b", ""))
	h.must(h.e.DirectCall("1001", false))
	h.answer("b", "1001")
	h.must(h.e.CallbackReached("b", false))
	wantOffers(t, h.wait(time.Minute), "b>1001")
	h.answer("b", "1001")
	acts := h.must(h.e.CallbackReached("b", false))
	if f := only[Finished](acts); len(f) != 1 || f[0].Result != ResultCallbackFailed {
		t.Fatalf("finished %s", describe(acts))
	}
	if h.state("1001") != StateAvailable {
		t.Fatalf("1001 is %s", h.state("1001"))
	}
}

func TestCallbackRefusedWithoutKey(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{}, "1001"))
	h.login("1001")
	h.must(h.e.DirectCall("1001", true))
	h.join("support", "a", Caller{Number: "+15550001"})
	if _, err := h.e.RequestCallback("a", ""); err == nil {
		t.Fatal("callback accepted by a queue without a callback key")
	}
}

func TestAnnouncementsWithEstimatedWait(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear, AnnounceEvery: 30 * time.Second,
		Messages: []string{"tip-1", "tip-2"}, MessageEvery: 45 * time.Second}, "1001", "1002"))
	h.login("1001", "1002")
	// Two calls of 4 minutes teach the engine the handling time.
	for _, c := range []string{"h1", "h2"} {
		h.join("support", c, Caller{})
	}
	h.answer("h1", "1001")
	h.answer("h2", "1002")
	h.clock.t = h.clock.t.Add(4 * time.Minute)
	h.hangup("h1")
	h.hangup("h2")
	h.must(h.e.DirectCall("1001", true))
	h.must(h.e.DirectCall("1002", true))

	acts := h.join("support", "a", Caller{})
	an := only[Announce](acts)
	if len(an) != 1 || an[0].Position != 1 || an[0].Estimated != 2*time.Minute {
		t.Fatalf("on joining: %+v, want position 1, about 2m (4m for 2 agents)", an)
	}
	h.clock.t = h.clock.t.Add(10 * time.Second)
	an = only[Announce](h.join("support", "b", Caller{Priority: 1}))
	if len(an) != 1 || an[0].Position != 1 {
		t.Fatalf("the VIP: %+v, want position 1", an)
	}
	acts = h.wait(20 * time.Second) // a's first periodic announcement: now second
	an = only[Announce](acts)
	if len(an) != 1 || an[0].Call != "a" || an[0].Position != 2 || an[0].Estimated != 4*time.Minute {
		t.Fatalf("at 30s: %+v", an)
	}
	h.wait(30 * time.Second) // 45 s: the first message
	h.wait(45 * time.Second) // 90 s: the second
	var prompts []string
	for _, a := range only[Announce](h.all) {
		if a.What == AnnounceMessage && a.Call == "a" {
			prompts = append(prompts, a.Prompt)
		}
	}
	if fmt.Sprint(prompts) != "[tip-1 tip-2]" {
		t.Fatalf("messages %v", prompts)
	}
}

func TestAlertPastThreshold(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{AlertAfter: time.Minute}, "1001"))
	h.login("1001")
	h.must(h.e.DirectCall("1001", true))
	h.join("support", "a", Caller{Number: "+15550001"})
	if al := only[Alert](h.wait(59 * time.Second)); len(al) != 0 {
		t.Fatal("alert too early")
	}
	al := only[Alert](h.wait(time.Second))
	if len(al) != 1 || al[0].Call != "a" || al[0].Waited != time.Minute {
		t.Fatalf("alert %+v", al)
	}
	if al := only[Alert](h.wait(5 * time.Minute)); len(al) != 0 {
		t.Fatal("alerted twice")
	}
}

func TestServiceLevelAndAverages(t *testing.T) {
	h := newHarness(t, oneQueue(QueueConfig{Strategy: Linear, ServiceLevel: 20 * time.Second}, "1001"))
	h.login("1001")
	h.must(h.e.DirectCall("1001", true))
	h.join("support", "fast", Caller{})
	h.join("support", "slow", Caller{})
	h.join("support", "gone", Caller{})
	h.clock.t = h.clock.t.Add(10 * time.Second)
	h.must(h.e.DirectCall("1001", false))
	h.talk("fast", "1001", time.Minute) // waited 10 s
	h.talk("slow", "1001", time.Minute) // waited 70 s
	h.hangup("gone")                    // abandoned after 130 s
	v, _ := h.e.Queue("support")
	want := QueueToday{Answered: 2, Abandoned: 1, ServiceLevel: 33.3, ServiceLevelSec: 20, AvgWait: 40, AvgHandle: 60}
	if v.Today != want {
		t.Fatalf("today %+v\nwant  %+v", v.Today, want)
	}
}

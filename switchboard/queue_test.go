package switchboard

import (
	"context"
	"io"
	"log/slog"
	"math"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"callbox"
	"callbox/hw/sim"
	"callbox/media/prompt"
	"callbox/media/session"
	"callbox/queue"
)

func rms(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	if len(pcm) == 0 {
		return 0
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

func eventsOf(rec callbox.Record, kind string) []map[string]string {
	var out []map[string]string
	for _, e := range rec.Events {
		if e.Kind == kind {
			out = append(out, e.Detail)
		}
	}
	return out
}

// joinCaller brings a caller in on 4100 (queue support) and returns its leg and the id
// the queues know the call by.
func (h *switchboardHarness) joinCaller(number string) (*sim.Leg, string) {
	h.t.Helper()
	caller := newLeg("in-"+number, callbox.LegTrunk, number)
	h.sb.Take(Offer{Leg: caller, From: callbox.Party{Number: number}, To: "4100", Trunk: "t"})
	synctest.Wait()
	ids := h.queues.joined()
	if len(ids) == 0 {
		h.t.Fatalf("the caller did not join the queue; told %v", h.queues.told())
	}
	return caller, ids[len(ids)-1]
}

// TestQueuedCallRingsDevicesInTurnConfirmsAndBridges: the desk phone rings for its time,
// then the mobile; the mobile's answer counts only once the agent pressed 1 (a wrong key
// does not do); the bridge connects caller and mobile; the caller's hangup tells the
// queues, and the record has the queue, the agent and the sticky flag.
func TestQueuedCallRingsDevicesInTurnConfirmsAndBridges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSwitchboardHarness(t)
		defer h.stop()
		caller, id := h.joinCaller("2125550100")
		if !caller.State().Answered {
			t.Fatal("the waiting caller was not answered")
		}
		time.Sleep(2 * time.Second)
		if r := rms(caller.Last(2 * time.Second)); r < 200 {
			t.Fatalf("the waiting caller hears next to nothing (rms %.0f)", r)
		}
		h.execute(queue.Offer{Call: id, Queue: "support", Agent: "1001", Timeout: 20 * time.Second, Endpoints: []queue.Endpoint{
			{Kind: "desk", Target: "1001", For: 2 * time.Second},
			{Kind: "mobile", Target: "95550177", After: 2 * time.Second, Confirm: "1"},
		}})
		synctest.Wait()
		legs, targets := h.dialer.dialled()
		if len(legs) != 1 || targets[0].Kind != "extension" || targets[0].Number != "1001" || targets[0].From.Number != "2125550100" {
			t.Fatalf("dialled %+v", targets)
		}
		desk := legs[0]
		desk.Rings()
		time.Sleep(2*time.Second + 10*time.Millisecond)
		synctest.Wait()
		if st := desk.State(); !st.Ended || st.Cause != callbox.CauseNoAnswer {
			t.Fatalf("the desk phone after its time: ended %v, cause %s", st.Ended, st.Cause)
		}
		legs, targets = h.dialer.dialled()
		if len(legs) != 2 || targets[1].Kind != "number" || targets[1].Number != "95550177" {
			t.Fatalf("dialled %+v", targets)
		}
		mobile := legs[1]
		mobile.Answers()
		time.Sleep(400 * time.Millisecond)
		if l := sim.ToneShare(mobile.Last(200*time.Millisecond), 440); l < 0.6 {
			t.Errorf("the mobile agent was not asked for the key (440 Hz at %.2f)", l)
		}
		mobile.Presses('2')
		synctest.Wait()
		if told := h.queues.told(); slices.Contains(told, "answered 1001") {
			t.Fatalf("a wrong key accepted the call: %v", told)
		}
		mobile.Presses('1')
		synctest.Wait()
		if told := h.queues.told(); !slices.Contains(told, "answered 1001") {
			t.Fatalf("the key did not accept the call: %v", told)
		}
		h.execute(queue.Bridge{Call: id, Queue: "support", Agent: "1001", StickyAgent: "1001", StickyHit: true, Waited: 5 * time.Second})
		synctest.Wait()
		go mobile.Speaks(tone(1000, time.Second))
		time.Sleep(1100 * time.Millisecond)
		if l := sim.ToneShare(caller.Last(500*time.Millisecond), 1000); l < 0.6 {
			t.Errorf("the caller does not hear the agent (1000 Hz at %.2f)", l)
		}
		caller.HangsUp(callbox.CauseNormal)
		synctest.Wait()
		if !mobile.State().Ended {
			t.Error("the agent's leg is still up")
		}
		want := []string{"join support +12125550100 priority 0", "answered 1001", "hangup"}
		if told := h.queues.told(); !slices.Equal(told, want) {
			t.Errorf("the queues were told %v, want %v", told, want)
		}
		recs := h.records.all()
		if len(recs) != 1 {
			t.Fatalf("%d records", len(recs))
		}
		rec := recs[0]
		if rec.Queue != "support" || rec.Agent != "1001" || rec.Result != "answered" || rec.Answered == nil ||
			!slices.Contains(rec.Flags, "sticky") || rec.HangupSide != callbox.SideCaller {
			t.Errorf("record: %+v", rec)
		}
		keys := eventsOf(rec, "queue.confirm-key")
		if len(keys) != 2 || keys[0]["valid"] != "false" || keys[1]["valid"] != "true" || len(eventsOf(rec, "queue.ring-time-over")) != 1 {
			t.Errorf("timeline: %+v", rec.Events)
		}
	})
}

// TestQueuedCallOfferFailures: an offer fails with the reason of its devices (busy, no
// phone), a cancelled offer stops ringing, and a caller who hangs up while waiting is an
// abandoned call the queues hear of.
func TestQueuedCallOfferFailures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSwitchboardHarness(t)
		defer h.stop()
		h.dialer.fail = map[string]error{"1002": callbox.Errorf(callbox.EUNAVAILABLE, "the extension has no phone registered")}
		caller, id := h.joinCaller("2125550101")
		desk := []queue.Endpoint{{Kind: "desk", Target: "1001"}}
		h.execute(queue.Offer{Call: id, Queue: "support", Agent: "1001", Timeout: 15 * time.Second, Endpoints: desk})
		h.execute(queue.Offer{Call: id, Queue: "support", Agent: "1002", Timeout: 15 * time.Second, Endpoints: []queue.Endpoint{{Kind: "desk", Target: "1002"}}})
		synctest.Wait()
		legs, _ := h.dialer.dialled()
		legs[0].HangsUp(callbox.CauseBusy)
		synctest.Wait()
		h.execute(queue.Offer{Call: id, Queue: "support", Agent: "1001", Timeout: 15 * time.Second, Endpoints: desk})
		synctest.Wait()
		legs, _ = h.dialer.dialled()
		h.execute(queue.CancelOffer{Call: id, Agent: "1001", Reason: "no-answer"})
		synctest.Wait()
		if st := legs[1].State(); !st.Ended || st.Cause != callbox.CauseNoAnswer {
			t.Errorf("cancelled offer: ended %v cause %s", st.Ended, st.Cause)
		}
		caller.HangsUp(callbox.CauseNormal)
		synctest.Wait()
		want := []string{"join support +12125550101 priority 0", "not-answered 1002 unavailable", "not-answered 1001 busy", "hangup"}
		if told := h.queues.told(); !slices.Equal(told, want) {
			t.Errorf("the queues were told %v, want %v", told, want)
		}
		if recs := h.records.all(); len(recs) != 1 || recs[0].Result != "abandoned" || recs[0].Queue != "support" {
			t.Errorf("records: %+v", recs)
		}
	})
}

// TestCallbackRingsTheAgentThenTheCaller: an offer of a callback whose caller is not on the
// line starts a call of its own: the agent first (hearing ringing while the caller is
// dialled), then the caller; one that no agent answers leaves no record.
func TestCallbackRingsTheAgentThenTheCaller(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newSwitchboardHarness(t)
		defer h.stop()
		who := queue.Caller{Number: "+12125550102", Name: "Pat"}
		h.execute(queue.Offer{Call: "cb-1", Queue: "support", Agent: "1001", Callback: true, Caller: who, Timeout: 10 * time.Second,
			Endpoints: []queue.Endpoint{{Kind: "desk", Target: "1001"}}})
		synctest.Wait()
		legs, targets := h.dialer.dialled()
		if len(legs) != 1 || targets[0].From.Name != "[callback] Pat" {
			t.Fatalf("dialled %+v", targets)
		}
		agent := legs[0]
		agent.Answers()
		synctest.Wait()
		h.execute(queue.DialCaller{Call: "cb-1", Queue: "support", Agent: "1001", Number: who.Number})
		synctest.Wait()
		legs, targets = h.dialer.dialled()
		if len(legs) != 2 || targets[1].Kind != "number" || targets[1].Number != who.Number {
			t.Fatalf("dialled %+v", targets)
		}
		time.Sleep(time.Second)
		if l := sim.ToneShare(agent.Last(time.Second), 440) + sim.ToneShare(agent.Last(time.Second), 480); l < 0.6 {
			t.Errorf("the agent hears no ringing while the caller is dialled (%.2f)", l)
		}
		customer := legs[1]
		customer.Answers()
		synctest.Wait()
		h.execute(queue.Bridge{Call: "cb-1", Queue: "support", Agent: "1001", Callback: true})
		synctest.Wait()
		go customer.Speaks(tone(1000, time.Second))
		time.Sleep(1100 * time.Millisecond)
		if l := sim.ToneShare(agent.Last(500*time.Millisecond), 1000); l < 0.6 {
			t.Errorf("the agent does not hear the caller (%.2f)", l)
		}
		agent.HangsUp(callbox.CauseNormal)
		synctest.Wait()
		// An attempt no agent answers: no record.
		h.execute(queue.Offer{Call: "cb-2", Queue: "support", Agent: "1002", Callback: true, Caller: who, Timeout: 10 * time.Second,
			Endpoints: []queue.Endpoint{{Kind: "desk", Target: "1002"}}})
		synctest.Wait()
		legs, _ = h.dialer.dialled()
		legs[2].HangsUp(callbox.CauseBusy)
		synctest.Wait()
		want := []string{"answered 1001", "reached true", "hangup", "not-answered 1002 busy"}
		if told := h.queues.told(); !slices.Equal(told, want) {
			t.Errorf("the queues were told %v, want %v", told, want)
		}
		recs := h.records.all()
		if len(recs) != 1 {
			t.Fatalf("%d records: %+v", len(recs), recs)
		}
		rec := recs[0]
		if rec.Direction != callbox.Outbound || rec.To != who.Number || rec.Agent != "1001" || rec.Queue != "support" ||
			rec.Variables["queue_call"] != "cb-1" || !slices.Contains(rec.Flags, "callback") || rec.Result != "answered" {
			t.Errorf("record: %+v", rec)
		}
		if n := len(h.sb.Active()); n != 0 && h.sb.Active()[callbox.Outbound] != 0 {
			t.Errorf("calls still active: %v", h.sb.Active())
		}
	})
}

// fakeRecording keeps what a conference writes to the call's recording.
type fakeRecording struct {
	mu    sync.Mutex
	sides [2][]int16 // caller, agent
}

func (r *fakeRecording) Write(caller bool, f *callbox.Frame) {
	if f.Codec != callbox.L16 {
		return
	}
	side := 1
	if caller {
		side = 0
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for i := 0; i+1 < len(f.Payload); i += 2 {
		r.sides[side] = append(r.sides[side], int16(uint16(f.Payload[i])|uint16(f.Payload[i+1])<<8))
	}
}

func (r *fakeRecording) Finish() (*callbox.Recording, error) { return nil, nil }

func (r *fakeRecording) last(side int, d time.Duration) []int16 {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := min(int(d.Seconds()*8000), len(r.sides[side]))
	return append([]int16(nil), r.sides[side][len(r.sides[side])-n:]...)
}

// TestConferenceModes mixes a caller (500 Hz), an agent (1100 Hz) and a supervisor
// (1800 Hz) in each mode and checks what each of them received, and the recording.
func TestConferenceModes(t *testing.T) {
	const callerHz, agentHz, superHz = 500.0, 1100.0, 1800.0
	for _, tt := range []struct {
		mode                  queue.Feature
		caller, agent, superv []float64 // what each hears
	}{
		{queue.FeatureListen, []float64{agentHz}, []float64{callerHz}, []float64{callerHz, agentHz}},
		{queue.FeatureWhisper, []float64{agentHz}, []float64{callerHz, superHz}, []float64{callerHz, agentHz}},
		{queue.FeatureBarge, []float64{agentHz, superHz}, []float64{callerHz, superHz}, []float64{callerHz, agentHz}},
	} {
		t.Run(string(tt.mode), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clock := session.NewClock(session.ClockOptions{Shards: 2})
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan struct{})
				go func() { clock.Run(ctx); close(done) }()
				defer func() { cancel(); <-done }()
				caller := newLeg("caller", callbox.LegTrunk, "1")
				agent := newLeg("agent", callbox.LegPhone, "2")
				sup := newLeg("sup", callbox.LegPhone, "3")
				rec := &fakeRecording{}
				cf := newConference(clock, caller, agent, rec)
				cf.addSupervisor(clock, sup, tt.mode)
				for _, p := range []struct {
					l *sim.Leg
					f float64
				}{{caller, callerHz}, {agent, agentHz}, {sup, superHz}} {
					go p.l.Speaks(tone(p.f, 3*time.Second))
				}
				time.Sleep(2 * time.Second)
				for _, who := range []struct {
					name string
					l    *sim.Leg
					want []float64
				}{{"caller", caller, tt.caller}, {"agent", agent, tt.agent}, {"supervisor", sup, tt.superv}} {
					pcm := who.l.Last(time.Second)
					for _, f := range []float64{callerHz, agentHz, superHz} {
						l := sim.ToneShare(pcm, f)
						if heard := slices.Contains(who.want, f); heard && l < 0.2 || !heard && l > 0.02 {
							t.Errorf("%s: %.0f Hz at %.3f (should hear it: %v)", who.name, f, l, heard)
						}
					}
				}
				if l := sim.ToneShare(rec.last(0, time.Second), callerHz); l < 0.6 {
					t.Errorf("the recording's caller side: %.3f", l)
				}
				right := rec.last(1, time.Second)
				if l := sim.ToneShare(right, agentHz); l < 0.2 {
					t.Errorf("the recording's agent side lacks the agent: %.3f", l)
				}
				if l, barge := sim.ToneShare(right, superHz), tt.mode == queue.FeatureBarge; barge && l < 0.2 || !barge && l > 0.02 {
					t.Errorf("the recording's agent side has the supervisor at %.3f", l)
				}
				if cf.remove(sup) {
					t.Error("a supervisor is left after the only one")
				}
				cf.close()
				time.Sleep(2 * time.Second) // the talkers run out
			})
		})
	}
}

// TestHoldSourceNeverRunsOut: announcements play in turn in place of the music, frames are
// always whole, and music that breaks gives way to the box's own tune.
func TestHoldSourceNeverRunsOut(t *testing.T) {
	music := &countedSource{frames: 3}
	h := newHoldSource(music, slog.New(slog.DiscardHandler))
	ann := make([]int16, 250)
	for i := range ann {
		ann[i] = 1000
	}
	h.announce(prompt.NewClip("a", ann).Source())
	h.announce(prompt.NewClip("b", ann[:160]).Source())
	frame := make([]int16, 160)
	var got []string
	for range 10 {
		n, err := h.ReadFrame(frame)
		if n != 160 || err != nil {
			t.Fatalf("ReadFrame: %d, %v", n, err)
		}
		switch {
		case frame[0] == 1000 && frame[159] == 1000:
			got = append(got, "A")
		case frame[0] == 1000:
			got = append(got, "a") // an announcement's short last frame, padded
		case frame[0] == 7:
			got = append(got, "m")
		case rms(frame) > 0 || slices.ContainsFunc(frame, func(v int16) bool { return v != 0 }):
			got = append(got, "t") // the box's tune
		default:
			got = append(got, "-")
		}
	}
	// The tune starts with a soft attack: its very first frame may be quiet, not silent.
	if s := strings.Join(got, ""); s != "AaAmmmtttt" {
		t.Errorf("frames %q, want AaAmmmtttt", s)
	}
	if !music.closed {
		t.Error("the broken music was not closed")
	}
	h.Close()
}

// countedSource plays frames of the value 7, then ends.
type countedSource struct {
	frames int
	closed bool
}

func (s *countedSource) ReadFrame(frame []int16) (int, error) {
	if s.frames == 0 {
		return 0, io.EOF
	}
	s.frames--
	for i := range frame {
		frame[i] = 7
	}
	return len(frame), nil
}

func (s *countedSource) Close() error { s.closed = true; return nil }

func TestPhrasesInEnglishAndMandarin(t *testing.T) {
	for _, tt := range []struct {
		pos    int
		est    time.Duration
		en, zh string
	}{
		{1, 0, "You are the next caller.", "您是下一位。"},
		{3, 0, "You are caller number 3 in the queue.", "您目前排在第3位。"},
		{2, 20 * time.Second, "You are caller number 2 in the queue. Your expected wait is about one minute.", "您目前排在第2位。预计等待约一分钟。"},
		{4, 150 * time.Second, "You are caller number 4 in the queue. Your expected wait is about 3 minutes.", "您目前排在第4位。预计等待约3分钟。"},
	} {
		got := positionPhrase(tt.pos, tt.est)
		if got["en"] != tt.en || got["zh"] != tt.zh || len(got) != 2 {
			t.Errorf("position %d, %s: %q, want %q and %q", tt.pos, tt.est, got, tt.en, tt.zh)
		}
	}
	cb := callbackPhrase("+1212")
	if !strings.Contains(cb["en"], "at plus 1 2 1 2.") || !strings.Contains(cb["zh"], "回拨 加 1 2 1 2。") {
		t.Errorf("callback phrase %q", cb)
	}
	if c := confirmPhrase("support", "1"); c["en"] != "Call from queue support. Press 1 to accept." || !strings.Contains(c["zh"], "support队列") {
		t.Errorf("confirm phrase %q", c)
	}
	// Every fixed phrase has both languages; changing one copy changes no other.
	for _, f := range []func() phrase{sorryPhrase, notAgentPhrase, failedPhrase, loggedInPhrase, loggedOutPhrase, pausedPhrase, resumedPhrase, cannotJoinPhrase} {
		p := f()
		if p["en"] == "" || p["zh"] == "" {
			t.Errorf("phrase %q lacks a language", p)
		}
		p["en"] = "changed"
		if f()["en"] == "changed" {
			t.Error("a fixed phrase is shared")
		}
	}
}

package sim

import (
	"context"
	"math"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"callbox"
)

func tone(freq float64, n int) []int16 {
	pcm := make([]int16, n)
	for i := range pcm {
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return pcm
}

// near tells whether b is a but for G.711's quantisation (a few percent of the value).
func near(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if d := math.Abs(float64(a[i]) - float64(b[i])); d > 8+math.Abs(float64(a[i]))/16 {
			return false
		}
	}
	return true
}

// kinds reads the events until the channel closes.
func kinds(l *Leg) []callbox.LegEvent {
	var out []callbox.LegEvent
	for ev := range l.Events() {
		out = append(out, ev)
	}
	return out
}

func TestNewLegDefaults(t *testing.T) {
	l := NewLeg(Options{Remote: callbox.Party{Number: "+12125550100"}})
	if l.ID() != "sim-+12125550100" || l.Kind() != callbox.LegSim || l.Media().Codec() != callbox.PCMU || l.Trunk() != "" {
		t.Errorf("defaults: id %q kind %s codec %s", l.ID(), l.Kind(), l.Media().Codec())
	}
	l = NewLeg(Options{ID: "in-1", Kind: callbox.LegTrunk, Local: callbox.Party{Number: "4100"}, Trunk: "t", Codec: callbox.PCMA})
	if l.ID() != "in-1" || l.Kind() != callbox.LegTrunk || l.Local().Number != "4100" || l.Trunk() != "t" || l.Media().Codec() != callbox.PCMA {
		t.Errorf("options not kept: %+v", l.o)
	}
	if st := l.State(); st != (State{}) {
		t.Errorf("a new leg has state %+v", st)
	}
}

func TestFarEndEventsEndWithTheHangup(t *testing.T) {
	l := NewLeg(Options{})
	l.Rings()
	l.Answers()
	l.Presses('#')
	l.Presses('x') // not a key: nothing
	l.Holds(true)
	l.Holds(false)
	l.Transfers("1002")
	l.HangsUp(callbox.CauseBusy)
	l.Rings() // after the end: nothing
	l.HangsUp(callbox.CauseNormal)
	if err := l.Hangup(context.Background(), callbox.CauseShutdown); err != nil {
		t.Fatal(err)
	}
	var got []callbox.LegEventKind
	evs := kinds(l)
	for _, ev := range evs {
		got = append(got, ev.Kind)
	}
	want := []callbox.LegEventKind{callbox.LegRinging, callbox.LegAnswered, callbox.LegDTMF, callbox.LegHold, callbox.LegUnhold,
		callbox.LegTransfer, callbox.LegHangup}
	if !slices.Equal(got, want) {
		t.Fatalf("events %v, want %v", got, want)
	}
	if evs[2].Digit != '#' || evs[5].Target != "1002" || evs[6].Cause != callbox.CauseBusy || !evs[6].ByRemote {
		t.Errorf("event details: %+v", evs)
	}
	select {
	case <-l.Done():
	default:
		t.Error("Done is open after the hangup")
	}
	if st := l.State(); !st.Answered || !st.Ended || st.Cause != callbox.CauseBusy || !st.ByRemote {
		t.Errorf("state %+v", st)
	}
}

func TestWhatTheBoxDid(t *testing.T) {
	ctx := context.Background()
	l := NewLeg(Options{})
	l.Ring(ctx, true)
	l.Answer(ctx)
	l.Ring(ctx, false) // after the answer: no longer ringing news
	l.Hold(ctx, true)
	if st := l.State(); !st.Rung || !st.EarlyMedia || !st.Answered || !st.OnHold || st.Ended {
		t.Fatalf("state %+v", st)
	}
	l.Hold(ctx, false)
	l.Hangup(ctx, callbox.CauseNormal)
	l.HangsUp(callbox.CauseBusy) // too late: the box hung up first
	st := l.State()
	if st.OnHold || !st.Ended || st.Cause != callbox.CauseNormal || st.ByRemote {
		t.Fatalf("state %+v", st)
	}
	if evs := kinds(l); len(evs) != 1 || evs[0].Kind != callbox.LegHangup || evs[0].ByRemote {
		t.Errorf("events %+v", evs)
	}
	unanswered := NewLeg(Options{})
	unanswered.Hangup(ctx, callbox.CauseRejected)
	unanswered.Answer(ctx)
	if st := unanswered.State(); st.Answered || st.Cause != callbox.CauseRejected {
		t.Errorf("an ended leg was answered: %+v", st)
	}
}

func TestPressesSendsTheEventPacketFirst(t *testing.T) {
	for _, tt := range []struct {
		key  rune
		code byte
	}{{'0', 0}, {'9', 9}, {'*', 10}, {'#', 11}, {'A', 12}, {'D', 15}} {
		l := NewLeg(Options{Source: 5})
		var got []callbox.Frame
		l.Media().SetSink(callbox.FrameSinkFunc(func(f *callbox.Frame) {
			c := *f
			c.Payload = slices.Clone(f.Payload)
			got = append(got, c)
			if len(l.Events()) != 0 {
				t.Errorf("%c: the digit came before its packet", tt.key)
			}
		}))
		l.Presses(tt.key)
		if len(got) != 1 || got[0].Kind != callbox.FrameEvent || got[0].Payload[0] != tt.code || got[0].Source != 5 {
			t.Errorf("%c: frames %+v", tt.key, got)
		}
		if ev := <-l.Events(); ev.Kind != callbox.LegDTMF || ev.Digit != tt.key {
			t.Errorf("%c: event %+v", tt.key, ev)
		}
	}
}

// TestSpeaksAtThePaceOfFrames: the party's voice comes as one frame per 20 ms, numbered on
// from one utterance to the next, in the leg's codec; it stops when the leg ends.
func TestSpeaksAtThePaceOfFrames(t *testing.T) {
	for _, codec := range []callbox.Codec{callbox.PCMU, callbox.PCMA, callbox.L16} {
		t.Run(codec.String(), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				l := NewLeg(Options{Codec: codec, Source: 9})
				type got struct {
					at  time.Time
					f   callbox.Frame
					pcm []int16
				}
				var frames []got
				l.Media().SetSink(callbox.FrameSinkFunc(func(f *callbox.Frame) {
					frames = append(frames, got{time.Now(), *f, decode(nil, f.Codec, f.Payload)})
				}))
				say := tone(440, 3*FrameSamples+50) // the tail is less than a frame
				start := time.Now()
				l.Speaks(say)
				l.Speaks(say[:FrameSamples])
				if took := time.Since(start); took != 4*FrameDuration {
					t.Errorf("4 frames took %s", took)
				}
				if len(frames) != 4 {
					t.Fatalf("%d frames", len(frames))
				}
				for i, g := range frames {
					if g.f.Codec != codec || g.f.Seq != uint16(i) || g.f.Timestamp != uint32(i*FrameSamples) || g.f.Source != 9 || g.f.Marker != (i == 0) {
						t.Errorf("frame %d: %+v", i, g.f)
					}
					if g.at.Sub(start) != time.Duration(i)*FrameDuration {
						t.Errorf("frame %d at %s", i, g.at.Sub(start))
					}
				}
				if !near(frames[1].pcm, say[FrameSamples:2*FrameSamples]) {
					t.Error("the voice does not decode to what was said")
				}
				l.SpeaksFrame(say[:10]) // a short frame is padded
				if last := frames[len(frames)-1].pcm; len(last) != FrameSamples || !near(last[FrameSamples-10:], make([]int16, 10)) {
					t.Errorf("short frame: %d samples", len(last))
				}
				go func() {
					time.Sleep(5*FrameDuration - FrameDuration/2)
					l.HangsUp(callbox.CauseNormal)
				}()
				before := len(frames)
				l.Speaks(tone(440, 8000))
				if n := len(frames) - before; n != 5 {
					t.Errorf("%d frames said in the 90 ms before the hangup", n)
				}
			})
		})
	}
}

// TestFramesKeepWhatTheBoxSent: the leg copies what it is written (the box reuses its
// buffers), decodes each codec, leaves events out of the audio, and Last gives the tail.
func TestFramesKeepWhatTheBoxSent(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLeg(Options{})
		m := l.Media()
		a, b := tone(500, FrameSamples), tone(1000, FrameSamples)
		buf := encode(nil, callbox.PCMU, a)
		m.WriteFrame(&callbox.Frame{Codec: callbox.PCMU, Payload: buf, Seq: 1})
		encode(buf[:0], callbox.PCMU, b) // the box's next frame in the same buffer
		time.Sleep(FrameDuration)
		m.WriteFrame(&callbox.Frame{Kind: callbox.FrameEvent, Payload: []byte{1, 10, 0, 160}})
		m.WriteFrame(&callbox.Frame{Codec: callbox.PCMA, Payload: encode(nil, callbox.PCMA, b), Seq: 2})
		m.WriteFrame(&callbox.Frame{Codec: callbox.L16, Payload: encode(nil, callbox.L16, a), Seq: 3})
		fs := l.Frames()
		if len(fs) != 4 || fs[1].At.Sub(fs[0].At) != FrameDuration || fs[1].PCM() != nil || fs[3].Frame.Seq != 3 {
			t.Fatalf("frames %+v", fs)
		}
		if !near(fs[0].PCM(), a) || !near(fs[2].PCM(), b) || !slices.Equal(fs[3].PCM(), a) {
			t.Error("the frames do not decode to what was sent")
		}
		heard := l.Heard()
		if len(heard) != 3*FrameSamples || !near(heard[:FrameSamples], a) {
			t.Errorf("heard %d samples", len(heard))
		}
		if last := l.Last(30 * time.Millisecond); len(last) != 240 || !slices.Equal(last, heard[len(heard)-240:]) {
			t.Errorf("last 30 ms: %d samples", len(last))
		}
		if last := l.Last(time.Hour); len(last) != len(heard) {
			t.Errorf("more than was heard: %d samples", len(last))
		}
		if l.HasSink() {
			t.Error("a sink nobody set")
		}
	})
}

// TestConcurrentUse is for the race detector: the box writes and reads while the party
// speaks and the test looks.
func TestConcurrentUse(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLeg(Options{})
		var got int
		var mu sync.Mutex
		l.Media().SetSink(callbox.FrameSinkFunc(func(f *callbox.Frame) {
			mu.Lock()
			got++
			mu.Unlock()
			l.Media().WriteFrame(f) // an echo: the sink writes to the same leg
		}))
		var wg sync.WaitGroup
		wg.Go(func() { l.Speaks(tone(440, 50*FrameSamples)) })
		wg.Go(func() {
			for range 50 {
				l.Presses('1')
				time.Sleep(FrameDuration)
			}
		})
		wg.Go(func() {
			for range 50 {
				l.Heard()
				l.Last(100 * time.Millisecond)
				l.State()
				time.Sleep(FrameDuration)
			}
		})
		wg.Go(func() {
			for range l.Events() {
			}
		})
		time.Sleep(time.Second)
		l.Hangup(context.Background(), callbox.CauseNormal)
		wg.Wait()
		if len(l.Frames()) != got || got != 100 {
			t.Errorf("%d frames echoed of %d delivered", len(l.Frames()), got)
		}
	})
}

func TestToneShare(t *testing.T) {
	mixed := tone(500, 8000)
	for i, v := range tone(1400, 8000) {
		mixed[i] += v
	}
	for _, tt := range []struct {
		name     string
		pcm      []int16
		freq     float64
		min, max float64
	}{
		{"the tone", tone(440, 1600), 440, 0.95, 1.05},
		{"another tone", tone(1000, 1600), 440, 0, 0.01},
		{"half of a mix", mixed, 1400, 0.45, 0.55},
		{"silence", make([]int16, 1600), 440, 0, 0},
		{"nothing", nil, 440, 0, 0},
	} {
		if got := ToneShare(tt.pcm, tt.freq); got < tt.min || got > tt.max {
			t.Errorf("%s: %.3f, want %.2f to %.2f", tt.name, got, tt.min, tt.max)
		}
	}
}

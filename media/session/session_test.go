package session

import (
	"context"
	"io"
	"math"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"callbox"
	"callbox/hw/sim"
	"callbox/media/dsp"
	"callbox/media/g711"
)

// clip is a Source of given samples.
type clip struct {
	samples []int16
	pos     int
	closed  bool
}

func (c *clip) ReadFrame(frame []int16) (int, error) {
	if c.pos >= len(c.samples) {
		return 0, io.EOF
	}
	n := copy(frame, c.samples[c.pos:])
	clear(frame[n:])
	c.pos += n
	return n, nil
}

func (c *clip) Close() error { c.closed = true; return nil }

func tone(freq float64, d time.Duration) []int16 {
	out := make([]int16, int(d.Seconds()*8000))
	for i := range out {
		out[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return out
}

// runClock runs a clock for the test's bubble and stops it at the end.
func runClock(t *testing.T) *Clock {
	c := NewClock(ClockOptions{Shards: 2})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return c
}

func TestPlaybackIsPacedAndContinuous(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := runClock(t)
		leg := sim.NewLeg(sim.Options{Codec: callbox.PCMU})
		s := New(Options{Media: leg.Media(), Clock: clock})
		defer s.Close()
		first := &clip{samples: tone(440, time.Second)}
		start := time.Now()
		done := s.Play(first)
		<-done
		took := time.Since(start)
		if took < 980*time.Millisecond || took > 1040*time.Millisecond {
			t.Errorf("a 1 s prompt took %s", took)
		}
		if !first.closed {
			t.Error("the source was not closed")
		}
		second := &clip{samples: tone(1000, 410*time.Millisecond)} // 20.5 frames: the last is short
		<-s.Play(second)
		fs := leg.Frames()
		if len(fs) != 50+21 {
			t.Fatalf("%d frames sent, want 71", len(fs))
		}
		for i := 1; i < 50; i++ {
			a, b := fs[i-1], fs[i]
			if gap := b.At.Sub(a.At); gap != FrameDuration {
				t.Fatalf("frame %d came %s after the one before", i, gap)
			}
			if b.Frame.Seq != a.Frame.Seq+1 || b.Frame.Timestamp != a.Frame.Timestamp+160 || b.Frame.Source != a.Frame.Source || b.Frame.Marker {
				t.Fatalf("frame %d does not continue its stream: %+v after %+v", i, b.Frame, a.Frame)
			}
		}
		if !fs[0].Frame.Marker || !fs[50].Frame.Marker || fs[50].Frame.Source == fs[0].Frame.Source {
			t.Error("a new playback is not a new stream")
		}
		if lvl := levelAt(fs[:50], 440); lvl < 0.3 {
			t.Errorf("the 440 Hz prompt arrived at level %.2f", lvl)
		}
		if st := s.Stats(); st.Played != 71 {
			t.Errorf("stats: %+v", st)
		}
	})
}

func TestPlayReplacesAndStopEnds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := runClock(t)
		leg := sim.NewLeg(sim.Options{Codec: callbox.PCMA})
		s := New(Options{Media: leg.Media(), Clock: clock})
		long := &clip{samples: tone(440, 10*time.Second)}
		d1 := s.Play(long)
		time.Sleep(200 * time.Millisecond)
		d2 := s.Play(&clip{samples: tone(1000, 10*time.Second)})
		select {
		case <-d1:
		default:
			t.Fatal("the replaced playback is not over")
		}
		time.Sleep(200 * time.Millisecond)
		s.Stop()
		<-d2
		n := len(leg.Frames())
		time.Sleep(200 * time.Millisecond)
		if len(leg.Frames()) != n || s.Playing() {
			t.Fatal("frames sent after Stop")
		}
		if n < 19 || n > 21 {
			t.Errorf("%d frames in 400 ms", n)
		}
		fs := leg.Frames()
		if fs[0].Frame.Codec != callbox.PCMA || levelAt(fs[len(fs)-8:], 1000) < 0.3 {
			t.Error("the A-law leg did not get the second tone in A-law")
		}
		s.Close()
		select {
		case <-s.Play(&clip{samples: tone(440, time.Second)}):
		default:
			t.Fatal("Play after Close did not end at once")
		}
		time.Sleep(100 * time.Millisecond)
		if len(leg.Frames()) != n {
			t.Fatal("a closed session sent frames")
		}
		if leg.HasSink() {
			t.Fatal("Close left the session as the leg's sink")
		}
		if clock.Sessions() != 0 {
			t.Errorf("the clock still paces %d sessions", clock.Sessions())
		}
	})
}

func digitsPCM(t *testing.T, keys string) []int16 {
	t.Helper()
	pcm := dsp.AppendSilence(nil, 100*time.Millisecond)
	for _, k := range keys {
		var err error
		pcm, err = dsp.AppendDTMF(pcm, k, -10, -8, 100*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		pcm = dsp.AppendSilence(pcm, 100*time.Millisecond)
	}
	return pcm
}

func collect(s *Session, wait time.Duration) string {
	var got []rune
	timer := time.After(wait)
	for {
		select {
		case d := <-s.Digits():
			got = append(got, d)
		case <-timer:
			return string(got)
		}
	}
}

func TestInBandDigits(t *testing.T) {
	for _, tt := range []struct {
		name   string
		mode   InBand
		events bool // the leg sends an RFC 4733 event first
		want   string
	}{
		{"auto, no RFC 4733", InBandAuto, false, "19#*"},
		{"auto, the leg sends RFC 4733", InBandAuto, true, ""},
		{"always", InBandAlways, true, "19#*"},
		{"never", InBandNever, false, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				clock := runClock(t)
				leg := sim.NewLeg(sim.Options{Codec: callbox.PCMU})
				s := New(Options{Media: leg.Media(), Clock: clock, InBand: tt.mode})
				defer s.Close()
				if tt.events {
					leg.Sends(&callbox.Frame{Kind: callbox.FrameEvent, Payload: []byte{1, 10, 0, 160}})
				}
				// The session plays a prompt meanwhile: the caller presses keys over it.
				s.Play(&clip{samples: tone(440, 3*time.Second)})
				go leg.Speaks(digitsPCM(t, "19#*"))
				if got := collect(s, 3*time.Second); got != tt.want {
					t.Fatalf("digits %q, want %q", got, tt.want)
				}
			})
		})
	}
}

func TestInBandDigitsSurviveJitterAndOneLostPacket(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := runClock(t)
		leg := sim.NewLeg(sim.Options{Codec: callbox.PCMU})
		s := New(Options{Media: leg.Media(), Clock: clock})
		defer s.Close()
		pcm := digitsPCM(t, "5")
		go func() {
			// Packets 2 and 3 swap places, 4 arrives 30 ms late, and 7 (mid-digit) is lost.
			order := []int{0, 1, 3, 2, 4, 5, 6, 8, 9, 10, 11, 12, 13, 14, 15}
			for i, k := range order {
				payload := make([]byte, 160)
				g711.EncodeUlaw(payload, pcm[k*160:(k+1)*160])
				if k == 4 {
					time.Sleep(30 * time.Millisecond)
				}
				leg.Sends(&callbox.Frame{Codec: callbox.PCMU, Payload: payload, Seq: uint16(k), Timestamp: uint32(k * 160), Source: 9})
				if i < len(order)-1 {
					time.Sleep(FrameDuration)
				}
			}
		}()
		if got := collect(s, 2*time.Second); got != "5" {
			t.Fatalf("digits %q, want 5", got)
		}
		if st := s.Stats(); st.Lost < 1 {
			t.Errorf("stats: %+v (want the lost frame)", st)
		}
	})
}

// frames is a Recorder that keeps what it is given.
type frames struct {
	mu      sync.Mutex
	n, talk int
}

func (f *frames) Record(pcm []int16, talking bool) {
	f.mu.Lock()
	f.n++
	if talking {
		f.talk++
	}
	f.mu.Unlock()
}

func TestRecordingEndsBySilenceAndByLength(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		clock := runClock(t)
		leg := sim.NewLeg(sim.Options{Codec: callbox.PCMU})
		s := New(Options{Media: leg.Media(), Clock: clock})
		defer s.Close()
		var got frames
		r := s.Record(RecordOptions{To: &got, MaxLength: time.Minute, Silence: 2 * time.Second})
		// 1.5 s of "talk" (a tone well over the floor), then the caller sends nothing.
		leg.Speaks(append(dsp.AppendSilence(nil, 300*time.Millisecond), tone(300, 1500*time.Millisecond)...))
		<-r.Done()
		res := r.Result()
		if res.Reason != StoppedBySilence || res.Talk < 1400*time.Millisecond || res.Talk > 1600*time.Millisecond {
			t.Fatalf("result %+v", res)
		}
		// Talk ends with the hangover, then 2 s of silence.
		if res.Length < 3800*time.Millisecond || res.Length > 4400*time.Millisecond {
			t.Errorf("length %s", res.Length)
		}
		if got.n != int(res.Length/FrameDuration) || got.talk < 70 || got.talk > 100 {
			t.Errorf("recorder got %d frames, %d of talk", got.n, got.talk)
		}
		short := s.Record(RecordOptions{To: &frames{}, MaxLength: time.Second, Silence: 10 * time.Second})
		if res := short.Result(); res.Reason != StoppedByMaxLength || res.Length != time.Second {
			t.Errorf("max length: %+v", res)
		}
		stopped := s.Record(RecordOptions{To: &frames{}})
		time.Sleep(500 * time.Millisecond)
		if res := stopped.Stop(); res.Reason != StoppedByOwner || res.Length < 480*time.Millisecond {
			t.Errorf("stopped: %+v", res)
		}
	})
}

func TestLateTicksCatchUpThenSkip(t *testing.T) {
	leg := sim.NewLeg(sim.Options{Codec: callbox.PCMU})
	clock := NewClock(ClockOptions{Shards: 1}) // not running: the test ticks
	s := New(Options{Media: leg.Media(), Clock: clock})
	s.Play(&clip{samples: tone(440, 10*time.Second)})
	t0 := time.Now()
	if late, skipped, open := s.tick(t0); late != 0 || skipped != 0 || !open || len(leg.Frames()) != 1 {
		t.Fatalf("first tick: late %d skipped %d open %v frames %d", late, skipped, open, len(leg.Frames()))
	}
	// Ticks a few ms early or late are on time.
	for k, jitter := range []time.Duration{-8, 9, -3} {
		if late, _, _ := s.tick(t0.Add(time.Duration(k+1)*FrameDuration + jitter*time.Millisecond)); late != 0 || len(leg.Frames()) != k+2 {
			t.Fatalf("tick %d, %d ms off: late %d, %d frames", k+1, jitter, late, len(leg.Frames()))
		}
	}
	if late, _, _ := s.tick(t0.Add(120 * time.Millisecond)); late != 2 || len(leg.Frames()) != 7 {
		t.Fatalf("a tick 40 ms late: late %d, %d frames", late, len(leg.Frames()))
	}
	if late, skipped, _ := s.tick(t0.Add(time.Second)); late != maxCatchUp-1 || skipped != 51-7-maxCatchUp || len(leg.Frames()) != 7+maxCatchUp {
		t.Fatalf("a stall: late %d skipped %d frames %d", late, skipped, len(leg.Frames()))
	}
	s.Close()
	if _, _, open := s.tick(t0.Add(2 * time.Second)); open {
		t.Fatal("a closed session ticks")
	}
}

// levelAt is the share of the frames' power at freq.
func levelAt(fs []sim.SentFrame, freq float64) float64 {
	var pcm []int16
	for _, f := range fs {
		pcm = append(pcm, f.PCM()...)
	}
	return sim.ToneShare(pcm, freq)
}

package session

import (
	"testing"
	"time"

	"callbox"
	"callbox/media/g711"
)

// nullMedia is a leg that discards what it is sent, as cheaply as possible.
type nullMedia struct{ sink callbox.FrameSink }

func (m *nullMedia) Codec() callbox.Codec              { return callbox.PCMU }
func (m *nullMedia) SetSink(s callbox.FrameSink)       { m.sink = s }
func (m *nullMedia) WriteFrame(f *callbox.Frame) error { return nil }

// loop is a source that never ends.
type loop struct {
	samples []int16
	pos     int
}

func (l *loop) ReadFrame(frame []int16) (int, error) {
	for i := range frame {
		frame[i] = l.samples[l.pos]
		l.pos = (l.pos + 1) % len(l.samples)
	}
	return len(frame), nil
}

func (l *loop) Close() error { return nil }

// BenchmarkMenuTick is one 20 ms tick of 500 callers sitting in a menu: each session takes
// the caller's packet through the jitter buffer, decodes it, searches it for DTMF, and plays
// the next frame of the menu prompt (encoded for the leg). One op is the whole tick.
func BenchmarkMenuTick(b *testing.B) {
	const calls = 500
	clock := NewClock(ClockOptions{Shards: 1})
	prompt := tone(440, 3*time.Second)
	speech := tone(300, time.Second)
	sessions := make([]*Session, calls)
	media := make([]*nullMedia, calls)
	for i := range sessions {
		media[i] = &nullMedia{}
		sessions[i] = New(Options{Media: media[i], Clock: clock})
		sessions[i].Play(&loop{samples: prompt})
	}
	payload := make([]byte, 160)
	g711.EncodeUlaw(payload, speech[:160])
	frame := callbox.Frame{Codec: callbox.PCMU, Payload: payload, Source: 1}
	t0 := time.Now()
	b.ReportAllocs()
	b.ResetTimer()
	for k := 0; k < b.N; k++ {
		now := t0.Add(time.Duration(k) * FrameDuration)
		frame.Seq, frame.Timestamp = uint16(k), uint32(k*160)
		for i, s := range sessions {
			media[i].sink.OnFrame(&frame)
			s.tick(now)
		}
	}
	b.StopTimer()
	perCall := float64(b.Elapsed().Nanoseconds()) / float64(b.N) / calls
	b.ReportMetric(perCall, "ns/call")
	// A 20 ms tick for every call must fit in 20 ms of one core, with room to spare.
	b.ReportMetric(perCall*calls/float64(FrameDuration.Nanoseconds())*100, "%core@500")
}

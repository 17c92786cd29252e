package record

import (
	"context"
	"fmt"
	"runtime"
	"testing"
	"time"

	"callbox"
	"callbox/media/wav"
)

type discardSink struct{}

func (discardSink) Write(b []byte) (int, error)            { return len(b), nil }
func (discardSink) WriteAt(b []byte, _ int64) (int, error) { return len(b), nil }
func (discardSink) Close() error                           { return nil }

func discardFile(string) (wav.Sink, error) { return discardSink{}, nil }

// Write must not allocate: it runs for every packet of every recorded call.
func TestWriteDoesNotAllocate(t *testing.T) {
	clk := newClock()
	r, err := New(context.Background(), Options{Dir: t.TempDir(), CallID: "alloc", Now: clk.Now, Create: discardFile})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	f := callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.PCMU, Payload: make([]byte, 160)}
	i := 0
	allocs := testing.AllocsPerRun(1000, func() {
		i++
		clk.Set(time.Duration(i) * 20 * time.Millisecond)
		f.Timestamp = uint32(i * 160)
		r.Write(Channel(i%2), &f)
	})
	if allocs != 0 {
		t.Errorf("Write allocates %.1f times a frame", allocs)
	}
}

// BenchmarkWrite is the call path's cost of recording one frame, with room in the queue.
func BenchmarkWrite(b *testing.B) {
	clk := newClock()
	// A big queue and a quick writer: the wait for it, off the clock, stays short.
	r, err := New(context.Background(), Options{Dir: b.TempDir(), CallID: "bench", Now: clk.Now, Create: discardFile,
		Buffer: 4096, drainEvery: time.Millisecond})
	if err != nil {
		b.Fatal(err)
	}
	f := callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.PCMU, Payload: make([]byte, 160)}
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		if i%2048 == 0 { // let the recorder's goroutine catch up, off the clock
			b.StopTimer()
			waitDrained(r)
			b.StartTimer()
		}
		i++
		clk.Set(time.Duration(i/2) * 20 * time.Millisecond)
		f.Timestamp = uint32(i / 2 * 160)
		r.Write(Channel(i%2), &f)
	}
	b.StopTimer()
	res, _ := r.Close()
	b.ReportMetric(float64(res.Dropped)/float64(i), "dropped/frame")
}

// BenchmarkWriteQueueFull is the cost of a frame dropped because the disk is behind.
func BenchmarkWriteQueueFull(b *testing.B) {
	r, err := New(context.Background(), Options{Dir: b.TempDir(), CallID: "full", Buffer: 1, Create: discardFile})
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	r.inflight.Store(int64(r.opts.Buffer)) // every slot taken: the disk is behind
	f := callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.PCMU, Payload: make([]byte, 160)}
	b.ReportAllocs()
	for b.Loop() {
		r.Write(Caller, &f)
	}
}

func waitDrained(rs ...*Recorder) {
	for _, r := range rs {
		for r.inflight.Load() > 0 {
			runtime.Gosched()
		}
	}
}

// 600 calls recorded at once: each iteration is one 20 ms tick, a frame from each side of
// every call, written and placed by the recorders' goroutines. ns/op below 20 ms means the
// box keeps up in real time; the fraction of it is the share of the CPU recording takes.
func BenchmarkConcurrentRecorders(b *testing.B) {
	for _, calls := range []int{600} {
		b.Run(fmt.Sprintf("calls=%d", calls), func(b *testing.B) {
			clk := newClock()
			recs := make([]*Recorder, calls)
			for i := range recs {
				var err error
				recs[i], err = New(context.Background(), Options{
					Dir: b.TempDir(), CallID: fmt.Sprint("c", i), Now: clk.Now, Create: discardFile,
					Buffer: 256, // 100 ticks of both sides between two waits
				})
				if err != nil {
					b.Fatal(err)
				}
			}
			f := callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.PCMU, Payload: make([]byte, 160)}
			tick := 0
			b.ReportAllocs()
			for b.Loop() {
				tick++
				clk.Set(time.Duration(tick) * 20 * time.Millisecond)
				f.Timestamp = uint32(tick * 160)
				for _, r := range recs {
					r.Write(Caller, &f)
					r.Write(Agent, &f)
				}
				if tick%100 == 0 {
					waitDrained(recs...)
				}
			}
			waitDrained(recs...) // the work is done when every frame is placed
			b.StopTimer()
			var dropped int64
			for _, r := range recs {
				res, _ := r.Close()
				dropped += res.Dropped
			}
			b.ReportMetric(float64(2*calls*tick)/b.Elapsed().Seconds(), "frames/s")
			b.ReportMetric(float64(dropped)/float64(2*calls*tick), "dropped/frame")
		})
	}
}

// Package session is the media of a leg the box itself talks and listens to (IVR menus,
// voicemail, surveys, ringback): sources played at real-time pace, and the party's audio
// taken through a jitter buffer, searched for in-band DTMF when the leg sends no RFC 4733
// events, and judged talk or silence while a message is recorded.
//
// Every session is paced by one shared Clock: a few goroutines (one per core) tick every
// 20 ms and move all their sessions on by one frame, so hundreds of callers in menus cost a
// handful of goroutines and timers, not one of each per call. A tick does no allocation.
package session

import (
	"context"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// FrameDuration is the pace of every session: one frame of 160 samples at 8 kHz.
const FrameDuration = 20 * time.Millisecond

// maxCatchUp is how many frames a late tick makes up for; a session further behind (a
// stalled machine) skips ahead instead of sending a burst.
const maxCatchUp = 5

// ClockOptions set up a Clock; the zero value gives the defaults in brackets.
type ClockOptions struct {
	// Shards is how many goroutines share the sessions [GOMAXPROCS].
	Shards   int
	Registry prometheus.Registerer
}

// Clock paces sessions. Run must be running for sessions to play and listen.
type Clock struct {
	shards  []*shard
	next    atomic.Uint32
	metrics *clockMetrics
}

type shard struct {
	clock    *Clock
	offset   time.Duration
	mu       sync.Mutex
	sessions []*Session
	work     []*Session // the sessions of the current tick, reused
}

type clockMetrics struct {
	sessions prometheus.Gauge
	tick     prometheus.Histogram
	late     prometheus.Counter
	skipped  prometheus.Counter
}

// NewClock returns a clock; its metrics are registered with o.Registry when given.
func NewClock(o ClockOptions) *Clock {
	if o.Shards <= 0 {
		o.Shards = runtime.GOMAXPROCS(0)
	}
	m := &clockMetrics{
		sessions: prometheus.NewGauge(prometheus.GaugeOpts{Name: "callbox_media_sessions",
			Help: "Legs the box plays to and listens to itself (IVR, voicemail, survey, ringback)."}),
		tick: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callbox_media_clock_tick_seconds",
			Help:    "Time one 20 ms tick of the media clock takes for its share of sessions; near 0.02 the box is overloaded.",
			Buckets: []float64{0.0001, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.015, 0.02, 0.05}}),
		late: prometheus.NewCounter(prometheus.CounterOpts{Name: "callbox_media_frames_late_total",
			Help: "Frames a session sent or took later than their 20 ms slot, made up at the next tick."}),
		skipped: prometheus.NewCounter(prometheus.CounterOpts{Name: "callbox_media_frames_skipped_total",
			Help: "Frames dropped because a session fell more than 100 ms behind its clock."}),
	}
	if o.Registry != nil {
		o.Registry.MustRegister(m.sessions, m.tick, m.late, m.skipped)
	}
	c := &Clock{metrics: m}
	for i := range o.Shards {
		c.shards = append(c.shards, &shard{clock: c, offset: FrameDuration * time.Duration(i) / time.Duration(o.Shards)})
	}
	return c
}

// Run ticks every session until ctx ends.
func (c *Clock) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	for _, sh := range c.shards {
		wg.Go(func() { sh.run(ctx) })
	}
	wg.Wait()
	return nil
}

// Sessions counts the sessions the clock paces.
func (c *Clock) Sessions() int {
	n := 0
	for _, sh := range c.shards {
		sh.mu.Lock()
		n += len(sh.sessions)
		sh.mu.Unlock()
	}
	return n
}

// attach adds a session to the least recently chosen shard.
func (c *Clock) attach(s *Session) {
	sh := c.shards[int(c.next.Add(1))%len(c.shards)]
	sh.mu.Lock()
	sh.sessions = append(sh.sessions, s)
	sh.mu.Unlock()
	c.metrics.sessions.Inc()
}

func (sh *shard) run(ctx context.Context) {
	// Shards tick at staggered times, so their work spreads over the 20 ms.
	if sh.offset > 0 {
		t := time.NewTimer(sh.offset)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		}
	}
	ticker := time.NewTicker(FrameDuration)
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
			sh.tick()
		}
	}
}

// tick moves every session of the shard on to now.
func (sh *shard) tick() {
	start := time.Now()
	sh.mu.Lock()
	sh.work = append(sh.work[:0], sh.sessions...)
	sh.mu.Unlock()
	closed := false
	var late, skipped int
	for _, s := range sh.work {
		l, sk, open := s.tick(start)
		late += l
		skipped += sk
		closed = closed || !open
	}
	clear(sh.work) // keep no closed session alive
	if closed {
		sh.mu.Lock()
		before := len(sh.sessions)
		sh.sessions = slicesDeleteClosed(sh.sessions)
		removed := before - len(sh.sessions)
		sh.mu.Unlock()
		sh.clock.metrics.sessions.Sub(float64(removed))
	}
	m := sh.clock.metrics
	if late > 0 {
		m.late.Add(float64(late))
	}
	if skipped > 0 {
		m.skipped.Add(float64(skipped))
	}
	m.tick.Observe(time.Since(start).Seconds())
}

func slicesDeleteClosed(ss []*Session) []*Session {
	out := ss[:0]
	for _, s := range ss {
		if !s.isClosed() {
			out = append(out, s)
		}
	}
	clear(ss[len(out):])
	return out
}

// Package jitter is an adaptive jitter buffer for the legs whose audio the box itself consumes
// (IVR menus, in-band DTMF, voicemail): packets go in as the network delivers them, frames come
// out on the box's 20 ms clock, in order, with gaps marked. It is never used on the relay path,
// where frames go straight through.
package jitter

import (
	"sync"
	"time"

	"callbox"
)

// Config sets up a Buffer; the zero value gives the defaults in brackets.
type Config struct {
	// FrameSamples is the length of a frame in 8 kHz samples [160: 20 ms].
	FrameSamples int
	// MaxPayload is the largest payload kept, in bytes; larger ones are dropped [320].
	MaxPayload int
	// MinDelay and MaxDelay bound the delay the buffer adds [40 ms, 300 ms].
	MinDelay, MaxDelay time.Duration
}

// Status says what Pop returned.
type Status uint8

const (
	// Waiting: nothing to play yet — the stream has not started, is filling up (at the
	// start, after a restart) or is stretched to let the buffer grow. Play silence.
	Waiting Status = iota
	// Ready: a frame.
	Ready
	// Lost: the frame due now never came (lost or too late). Conceal it.
	Lost
)

func (s Status) String() string {
	switch s {
	case Ready:
		return "ready"
	case Lost:
		return "lost"
	}
	return "waiting"
}

// Frame is what Pop returns. Payload is valid until the next Pop.
type Frame struct {
	Status    Status
	Codec     callbox.Codec
	Timestamp uint32
	Seq       uint16
	Payload   []byte
}

// Stats counts what happened to the stream.
type Stats struct {
	Pushed     int64 // packets given to Push
	Played     int64 // frames returned Ready
	Lost       int64 // frames returned Lost
	Late       int64 // packets that came after their turn
	Duplicates int64
	Dropped    int64 // frames skipped to shrink the buffer (a fast sender, or less jitter)
	Stretched  int64 // Waiting frames inserted to grow the buffer (a slow sender, more jitter)
	Restarts   int64 // new source, or a jump in timestamps
	Oversized  int64 // packets too large to keep
	// Depth is the current target delay.
	Depth time.Duration
}

const (
	capacity = 64 // slots: 1.28 s of 20 ms frames
	// The reference transit time (the fastest packet) and the worst delay over it are kept
	// over two windows of statsWindow: old extremes are forgotten after one to two windows.
	statsWindow = 4 * time.Second
	// shrinkAfter Pops in a row with more than one frame to spare make the buffer drop a frame.
	shrinkAfter = 50
)

type slot struct {
	used  bool
	k     int64 // frame number in the stream
	ts    uint32
	seq   uint16
	codec callbox.Codec
	n     int
	buf   []byte
}

// Buffer is an adaptive jitter buffer for one stream. Push and Pop may be called from
// different goroutines (the receive path and the 20 ms clock).
type Buffer struct {
	mu    sync.Mutex
	frame int64         // samples a frame
	dur   time.Duration // a frame's duration
	minK  int64         // target depth bounds, in frames
	maxK  int64
	slots [capacity]slot
	out   []byte

	started bool
	filling bool // waiting for the target depth before playing
	source  uint32
	base    int64 // extended timestamp of frame 0
	lastExt int64 // extended timestamp of the newest packet, to unwrap the next
	t0      time.Time
	playK   int64 // next frame to play
	highK   int64 // newest frame received
	target  int64 // frames of delay wanted
	spare   int   // Pops in a row with frames to spare

	// Transit statistics: arrival minus timestamp time, in ns since t0.
	winStart          time.Duration
	curMin, prevMin   int64
	curPeak, prevPeak int64
	haveCur, havePrev bool
	stats             Stats
}

// New returns an empty buffer.
func New(cfg Config) *Buffer {
	if cfg.FrameSamples <= 0 {
		cfg.FrameSamples = 160
	}
	if cfg.MaxPayload <= 0 {
		cfg.MaxPayload = 320
	}
	if cfg.MinDelay <= 0 {
		cfg.MinDelay = 40 * time.Millisecond
	}
	if cfg.MaxDelay <= 0 {
		cfg.MaxDelay = 300 * time.Millisecond
	}
	b := &Buffer{
		frame: int64(cfg.FrameSamples),
		dur:   time.Duration(cfg.FrameSamples) * time.Second / 8000,
		out:   make([]byte, cfg.MaxPayload),
	}
	b.minK = max(1, int64((cfg.MinDelay+b.dur-1)/b.dur))
	b.maxK = min(capacity/2, max(b.minK, int64(cfg.MaxDelay/b.dur)))
	b.target = b.minK
	backing := make([]byte, capacity*cfg.MaxPayload)
	for i := range b.slots {
		b.slots[i].buf = backing[i*cfg.MaxPayload : (i+1)*cfg.MaxPayload]
	}
	return b
}

// Push adds a packet that arrived at arrival. Telephone events and other non-audio frames are
// ignored (they do not wait in a jitter buffer). The payload is copied.
func (b *Buffer) Push(f *callbox.Frame, arrival time.Time) {
	if f.Kind != callbox.FrameAudio {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats.Pushed++
	if len(f.Payload) > len(b.out) {
		b.stats.Oversized++
		return
	}
	if !b.started || f.Source != b.source {
		b.restart(f, arrival)
	}
	ext := b.lastExt + int64(int32(f.Timestamp-uint32(b.lastExt)))
	k := floorDiv(ext-b.base+b.frame/2, b.frame)
	if k >= b.playK+capacity || k < b.playK-capacity {
		// A jump in time (a long silence without packets, a new stream on the same source):
		// start over from this packet.
		b.restart(f, arrival)
		ext, k = b.lastExt, 0
	}
	if ext > b.lastExt {
		b.lastExt = ext
	}
	b.observe(k, arrival)
	if k < b.playK {
		b.stats.Late++
		return
	}
	s := &b.slots[k%capacity]
	if s.used && s.k == k {
		b.stats.Duplicates++
		return
	}
	s.used, s.k, s.ts, s.seq, s.codec = true, k, f.Timestamp, f.Seq, f.Codec
	s.n = copy(s.buf, f.Payload)
	b.highK = max(b.highK, k)
}

// restart makes f the first packet of a new stream.
func (b *Buffer) restart(f *callbox.Frame, arrival time.Time) {
	if b.started {
		b.stats.Restarts++
	}
	for i := range b.slots {
		b.slots[i].used = false
	}
	b.started, b.filling = true, true
	b.source = f.Source
	b.base, b.lastExt = int64(f.Timestamp), int64(f.Timestamp)
	b.t0 = arrival
	b.playK, b.highK = 0, 0
	b.winStart = 0
	b.haveCur, b.havePrev = false, false
	b.spare = 0
}

// observe updates the transit statistics with frame k arriving at arrival, and the target
// depth from them.
func (b *Buffer) observe(k int64, arrival time.Time) {
	at := arrival.Sub(b.t0)
	transit := int64(at) - k*int64(b.dur)
	if at-b.winStart >= statsWindow {
		b.prevMin, b.prevPeak, b.havePrev = b.curMin, b.curPeak, b.haveCur
		b.haveCur = false
		b.winStart = at
	}
	if !b.haveCur {
		b.curMin, b.curPeak, b.haveCur = transit, 0, true
	}
	b.curMin = min(b.curMin, transit)
	ref := b.curMin
	if b.havePrev {
		ref = min(ref, b.prevMin)
	}
	b.curPeak = max(b.curPeak, transit-ref)
	peak := b.curPeak
	if b.havePrev {
		peak = max(peak, b.prevPeak)
	}
	// A packet delayed by (depth-1) frames still comes in time: depth = jitter/frame + 1.
	want := (peak+int64(b.dur)-1)/int64(b.dur) + 1
	b.target = min(b.maxK, max(b.minK, want))
}

// Pop returns the frame due now; call it once a frame duration.
func (b *Buffer) Pop() Frame {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.stats.Depth = time.Duration(b.target) * b.dur
	if !b.started {
		return Frame{Status: Waiting}
	}
	depth := b.highK - b.playK + 1 // frames from now to the newest, gaps included
	if b.filling {
		if depth < b.target {
			return Frame{Status: Waiting}
		}
		b.filling = false
	}
	s := &b.slots[b.playK%capacity]
	ready := s.used && s.k == b.playK
	switch {
	case depth <= 0:
		// Nothing at or after this frame is here: the sender is slow, or the network has
		// held packets back. Wait for them instead of declaring them lost.
		b.stats.Stretched++
		b.spare = 0
		return Frame{Status: Waiting}
	case depth < b.target-1:
		// The target grew (late packets): add delay.
		b.stats.Stretched++
		b.spare = 0
		return Frame{Status: Waiting}
	}
	if depth > b.target+1 {
		b.spare++
	} else {
		b.spare = 0
	}
	if b.spare >= shrinkAfter {
		// More buffered than needed for a second: a fast sender's clock, or jitter that
		// calmed down. Skip this frame to shrink by one.
		b.spare = 0
		b.stats.Dropped++
		s.used = false
		b.playK++
		s = &b.slots[b.playK%capacity]
		ready = s.used && s.k == b.playK
	}
	k := b.playK
	b.playK++
	if !ready {
		b.stats.Lost++
		return Frame{Status: Lost, Timestamp: uint32(b.base + k*b.frame)}
	}
	s.used = false
	b.stats.Played++
	n := copy(b.out, s.buf[:s.n])
	return Frame{Status: Ready, Codec: s.codec, Timestamp: s.ts, Seq: s.seq, Payload: b.out[:n]}
}

// Stats returns the counters so far.
func (b *Buffer) Stats() Stats {
	b.mu.Lock()
	defer b.mu.Unlock()
	st := b.stats
	st.Depth = time.Duration(b.target) * b.dur
	return st
}

// floorDiv divides rounding towards minus infinity.
func floorDiv(a, b int64) int64 {
	q := a / b
	if (a%b != 0) && ((a < 0) != (b < 0)) {
		q--
	}
	return q
}

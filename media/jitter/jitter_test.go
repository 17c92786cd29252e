package jitter

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"callbox"
)

// network describes a simulated sender and the network between it and the box.
type network struct {
	seconds  float64
	drift    float64 // the sender's clock against ours: +0.01 sends 1 % faster
	jitter   time.Duration
	loss     float64
	dup      float64
	ts0      uint32
	seq0     uint16
	stalls   []time.Duration // moments the network holds packets for stall
	stall    time.Duration
	restart  time.Duration // a new SSRC and timestamp base from then on
	tsJumpAt time.Duration // the timestamps jump ahead by 10 s from then on (same SSRC)
	// straggle: every 2 s one packet is held back this long while the others flow.
	straggle time.Duration
}

type event struct {
	at    time.Duration
	pop   bool
	frame callbox.Frame
}

type outcome struct {
	frames []Frame // copies, in Pop order
	stats  Stats
	sent   int
	pops   int // Pops while the sender sent (the rest drain the buffer)
}

// run plays the network's packets into a buffer popped every 20 ms on a simulated clock.
func run(t *testing.T, n network, rng *rand.Rand) outcome {
	t.Helper()
	var evs []event
	period := time.Duration(float64(20*time.Millisecond) / (1 + n.drift))
	ts, seq, src := n.ts0, n.seq0, uint32(7)
	restarted, jumped := false, false
	total := time.Duration(n.seconds * float64(time.Second))
	sent := 0
	for k := 0; ; k++ {
		send := time.Duration(k) * period
		if send >= total {
			break
		}
		if n.restart > 0 && !restarted && send >= n.restart {
			restarted, src, ts = true, 99, rng.Uint32()
		}
		if n.tsJumpAt > 0 && !jumped && send >= n.tsJumpAt {
			jumped = true
			ts += 80000
		}
		f := callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.PCMU, Timestamp: ts, Seq: seq, Source: src,
			Payload: []byte{byte(k), byte(k >> 8), 3, 4}}
		ts += 160
		seq++
		sent++
		if rng.Float64() < n.loss {
			continue
		}
		arrive := send + time.Duration(rng.Int64N(int64(n.jitter)+1))
		for _, s := range n.stalls {
			if arrive >= s && arrive < s+n.stall {
				arrive = s + n.stall + time.Duration(k%5)*time.Millisecond
			}
		}
		if n.straggle > 0 && k%100 == 50 {
			arrive += n.straggle
		}
		evs = append(evs, event{at: arrive, frame: f})
		if rng.Float64() < n.dup {
			evs = append(evs, event{at: arrive + 5*time.Millisecond, frame: f})
		}
	}
	for at := 10 * time.Millisecond; at < total+500*time.Millisecond; at += 20 * time.Millisecond {
		evs = append(evs, event{at: at, pop: true})
	}
	slices.SortStableFunc(evs, func(a, b event) int { return int(a.at - b.at) })
	b := New(Config{})
	t0 := time.Unix(1700000000, 0)
	var out outcome
	for i := range evs {
		if evs[i].pop {
			f := b.Pop()
			f.Payload = slices.Clone(f.Payload)
			out.frames = append(out.frames, f)
		} else {
			b.Push(&evs[i].frame, t0.Add(evs[i].at))
		}
	}
	out.stats = b.Stats()
	out.sent = sent
	out.pops = int(total / (20 * time.Millisecond))
	return out
}

// checkOrder checks frames come out in timestamp order, none twice, and returns how many were
// Ready.
func checkOrder(t *testing.T, name string, frames []Frame, allowRestart bool) int {
	t.Helper()
	ready := 0
	var last uint32
	have := false
	for i, f := range frames {
		if f.Status == Waiting {
			continue
		}
		if have {
			step := int32(f.Timestamp - last)
			if step <= 0 || (step%160 != 0 && !allowRestart) || (step > 160*3 && !allowRestart) {
				t.Errorf("%s: frame %d: timestamp %d after %d", name, i, f.Timestamp, last)
				return ready
			}
		}
		last, have = f.Timestamp, true
		if f.Status == Ready {
			ready++
		}
	}
	return ready
}

func TestJitterBuffer(t *testing.T) {
	tests := []struct {
		name  string
		net   network
		check func(t *testing.T, o outcome)
	}{
		{"clean stream", network{seconds: 10}, func(t *testing.T, o outcome) {
			if o.stats.Lost != 0 || o.stats.Late != 0 || o.stats.Played != int64(o.sent) {
				t.Errorf("stats %+v for %d sent", o.stats, o.sent)
			}
			if o.stats.Depth != 40*time.Millisecond {
				t.Errorf("depth %v, want the minimum", o.stats.Depth)
			}
		}},
		{"jitter of 60 ms reorders packets", network{seconds: 30, jitter: 60 * time.Millisecond}, func(t *testing.T, o outcome) {
			if o.stats.Lost > int64(o.sent)/100 {
				t.Errorf("%d of %d lost to jitter", o.stats.Lost, o.sent)
			}
			if o.stats.Depth < 60*time.Millisecond || o.stats.Depth > 120*time.Millisecond {
				t.Errorf("depth %v for 60 ms of jitter", o.stats.Depth)
			}
		}},
		{"5 % loss", network{seconds: 30, loss: 0.05, jitter: 10 * time.Millisecond}, func(t *testing.T, o outcome) {
			lost := o.sent - int(o.stats.Pushed)
			if d := int(o.stats.Lost) - lost; d < 0 || d > 3 {
				t.Errorf("%d reported lost, %d lost on the network", o.stats.Lost, lost)
			}
		}},
		{"duplicates", network{seconds: 10, dup: 0.1}, func(t *testing.T, o outcome) {
			if o.stats.Duplicates+o.stats.Late < o.stats.Pushed-int64(o.sent) || o.stats.Played != int64(o.sent) {
				t.Errorf("stats %+v for %d sent", o.stats, o.sent)
			}
		}},
		{"stalls: the buffer waits, loses nothing, and grows", network{seconds: 30, jitter: 5 * time.Millisecond,
			stalls: []time.Duration{5 * time.Second, 15 * time.Second}, stall: 120 * time.Millisecond},
			func(t *testing.T, o outcome) {
				// Every packet is played, or skipped to shrink the buffer back after the burst.
				if o.stats.Lost != 0 || o.stats.Played+o.stats.Dropped != int64(o.sent) {
					t.Errorf("%d lost, %d played and %d skipped of %d", o.stats.Lost, o.stats.Played, o.stats.Dropped, o.sent)
				}
				if o.stats.Stretched < 2+2*5 {
					t.Errorf("stretched %d frames over two 120 ms stalls", o.stats.Stretched)
				}
			}},
		{"a straggler makes the buffer grow; the next ones fit", network{seconds: 30, straggle: 90 * time.Millisecond},
			func(t *testing.T, o outcome) {
				if o.stats.Late < 1 || o.stats.Late > 2 {
					t.Errorf("%d late packets: want the first straggler or two, then none", o.stats.Late)
				}
				if o.stats.Depth < 100*time.Millisecond {
					t.Errorf("depth %v after 90 ms stragglers", o.stats.Depth)
				}
			}},
		{"sender 1 % fast", network{seconds: 60, drift: 0.01, jitter: 20 * time.Millisecond}, func(t *testing.T, o outcome) {
			surplus := int64(o.sent - o.pops)
			if o.stats.Dropped < surplus-10 || o.stats.Dropped > surplus+10 {
				t.Errorf("dropped %d frames for a surplus of %d", o.stats.Dropped, surplus)
			}
			if o.stats.Lost > 10 {
				t.Errorf("%d lost", o.stats.Lost)
			}
		}},
		{"sender 1 % slow", network{seconds: 60, drift: -0.01, jitter: 20 * time.Millisecond}, func(t *testing.T, o outcome) {
			deficit := int64(o.pops - o.sent)
			tail := int64(len(o.frames) - o.pops) // Pops after the end
			if s := o.stats.Stretched - tail; s < deficit-10 || s > deficit+10 {
				t.Errorf("stretched %d frames for a deficit of %d", s, deficit)
			}
			if o.stats.Lost > 10 {
				t.Errorf("%d lost", o.stats.Lost)
			}
		}},
		{"timestamps and sequence numbers wrap", network{seconds: 10, ts0: 0xFFFFFFFF - 50*160, seq0: 65500, jitter: 30 * time.Millisecond},
			func(t *testing.T, o outcome) {
				if o.stats.Restarts != 0 || o.stats.Played < int64(o.sent)-5 {
					t.Errorf("stats %+v for %d sent", o.stats, o.sent)
				}
			}},
		{"a new source", network{seconds: 10, restart: 5 * time.Second, jitter: 10 * time.Millisecond}, func(t *testing.T, o outcome) {
			if o.stats.Restarts != 1 || o.stats.Played < int64(o.sent)-10 {
				t.Errorf("stats %+v for %d sent", o.stats, o.sent)
			}
		}},
		{"a jump in timestamps", network{seconds: 10, tsJumpAt: 5 * time.Second}, func(t *testing.T, o outcome) {
			if o.stats.Restarts != 1 || o.stats.Played < int64(o.sent)-10 {
				t.Errorf("stats %+v for %d sent", o.stats, o.sent)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := run(t, tt.net, rand.New(rand.NewPCG(1, 2)))
			allowJump := tt.net.restart > 0 || tt.net.tsJumpAt > 0
			checkOrder(t, tt.name, o.frames, allowJump)
			t.Logf("%+v (sent %d, popped %d)", o.stats, o.sent, len(o.frames))
			tt.check(t, o)
		})
	}
}

// Frames carry what was sent: the payload of frame k is k.
func TestPayloadsArriveIntact(t *testing.T) {
	o := run(t, network{seconds: 5, jitter: 40 * time.Millisecond}, rand.New(rand.NewPCG(3, 3)))
	next := -1
	for _, f := range o.frames {
		if f.Status != Ready {
			if f.Status == Lost {
				next++
			}
			continue
		}
		k := int(f.Payload[0]) | int(f.Payload[1])<<8
		if next >= 0 && k != next+1 {
			t.Fatalf("frame %d after %d", k, next)
		}
		next = k
	}
}

func TestNothingBeforeTheFirstPacket(t *testing.T) {
	b := New(Config{})
	for range 3 {
		if f := b.Pop(); f.Status != Waiting {
			t.Fatalf("status %v", f.Status)
		}
	}
	ev := callbox.Frame{Kind: callbox.FrameEvent, Payload: []byte{1, 2, 3, 4}}
	b.Push(&ev, time.Now())
	if b.Stats().Pushed != 0 {
		t.Error("a telephone event went into the buffer")
	}
	big := callbox.Frame{Kind: callbox.FrameAudio, Payload: make([]byte, 1000)}
	b.Push(&big, time.Now())
	if b.Stats().Oversized != 1 {
		t.Error("an oversized payload was not counted")
	}
}

func TestPushPopDoNotAllocate(t *testing.T) {
	b := New(Config{})
	f := callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.PCMU, Payload: make([]byte, 160)}
	t0 := time.Now()
	k := 0
	if a := testing.AllocsPerRun(1000, func() {
		f.Timestamp, f.Seq = uint32(k*160), uint16(k)
		b.Push(&f, t0.Add(time.Duration(k)*20*time.Millisecond))
		b.Pop()
		k++
	}); a != 0 {
		t.Errorf("Push+Pop allocate %.1f times a frame", a)
	}
}

func BenchmarkPushPop(b *testing.B) {
	buf := New(Config{})
	f := callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.PCMU, Payload: make([]byte, 160)}
	t0 := time.Now()
	k := 0
	b.ReportAllocs()
	for b.Loop() {
		f.Timestamp, f.Seq = uint32(k*160), uint16(k)
		buf.Push(&f, t0.Add(time.Duration(k)*20*time.Millisecond))
		buf.Pop()
		k++
	}
}

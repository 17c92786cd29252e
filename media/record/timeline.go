package record

import (
	"encoding/binary"

	"callbox"
	"callbox/media/g711"
	"callbox/media/wav"
)

const (
	sampleRate = 8000
	// ringFrames is how much of the file is held in memory before it is written: enough for
	// the hold-back plus a side whose clock runs up to jumpLimit ahead.
	ringFrames = 1 << 12 // 512 ms: 8 KB a call in µ-law, 16 KB linear, which matters at hundreds of calls
	ringMask   = ringFrames - 1
	// holdback is how long the file waits for late or reordered frames before a stretch of it
	// is written; a frame later than that is dropped.
	holdback = sampleRate / 5 // 200 ms
	// jumpLimit is the distance between where a frame's timestamp puts it and when it arrived
	// beyond which the timestamp is not believed (a new source, a jump): the side is anchored
	// afresh at the frame's arrival.
	jumpLimit = sampleRate / 4 // 250 ms
	// A side whose frames keep arriving more than driftLimit earlier or later than their
	// timestamps say, over a window of driftWindow, is moved back in line with the wall clock:
	// the two sides' clocks drift apart otherwise.
	driftLimit  = sampleRate / 25 // 40 ms
	driftWindow = 5 * sampleRate
	// lateRun frames in a row that arrive in order but too late to be written mean the side's
	// timestamps stood still for a while (a paused sender): it is anchored afresh.
	lateRun = 5
)

// side is the placement state of one channel.
type side struct {
	anchored bool
	source   uint32
	baseTS   uint32 // the timestamp of the anchor frame
	basePos  int64  // where the anchor frame went in the file, in samples
	newestTS uint32 // the newest timestamp placed, to tell reordered frames from a stall
	hi       int64  // the end of the furthest frame placed
	winStart int64  // arrival position where the drift window began
	winMin   int64  // the smallest (arrival - placement) in the window
	lateRow  int    // in-order frames in a row that came too late
}

// timeline places the frames of both sides on the file's sample clock and holds the part not
// yet written.
//
// For a µ-law file the ring holds µ-law bytes, what PCMU frames carry: they are copied in as
// they come (A-law and L16 frames are converted on the way), nothing is decoded and encoded
// again on the way to the file, and the ring takes half the memory of linear samples. For a
// linear file it holds linear samples.
type timeline struct {
	ulaw      bool
	ring8     []byte  // µ-law file: 2×ringFrames, interleaved left/right, indexed by file position
	ring16    []int16 // linear file: the same in linear samples
	pcm       []int16 // linear file: a frame decoded, maxPayload samples
	frontier  int64   // samples (per channel) written to the file
	latest    int64   // latest arrival seen, in samples since the start
	sides     [2]side
	late      int64
	reanchors int64
}

func newTimeline(ulaw bool) *timeline {
	t := &timeline{ulaw: ulaw}
	if ulaw {
		t.ring8 = make([]byte, 2*ringFrames)
		for i := range t.ring8 {
			t.ring8[i] = g711.UlawSilence
		}
	} else {
		t.ring16 = make([]int16, 2*ringFrames)
		t.pcm = make([]int16, maxPayload)
	}
	return t
}

// nsToSamples converts time since the start of the recording to a file position.
func nsToSamples(ns int64) int64 {
	if ns < 0 {
		return 0
	}
	return ns * sampleRate / 1e9
}

// settled is the position up to which the file can be written at wall time now (ns).
func (t *timeline) settled(now int64) int64 { return nsToSamples(now) - holdback }

// final is the end of the file when the recording closes at wall time closeAt (ns): now, or
// the end of the furthest frame if a side ran ahead.
func (t *timeline) final(closeAt int64) int64 {
	return max(nsToSamples(closeAt), t.sides[0].hi, t.sides[1].hi)
}

func (sd *side) anchor(ts uint32, pos int64) {
	sd.anchored = true
	sd.baseTS, sd.basePos, sd.newestTS = ts, pos, ts
	sd.winStart, sd.winMin = -1, 0
	sd.lateRow = 0
}

// place decodes a frame into the timeline and returns the position up to which the file may
// now be written.
func (t *timeline) place(s *slot) int64 {
	arr := nsToSamples(s.arrival)
	t.latest = max(t.latest, arr)
	target := t.latest - holdback
	var n int
	if t.ulaw {
		n = t.toUlaw(s)
	} else {
		n = t.decode(s)
	}
	if n == 0 {
		return target
	}
	sd := &t.sides[s.ch]
	if !sd.anchored || s.source != sd.source {
		if sd.anchored {
			t.reanchors++
		}
		sd.source = s.source
		sd.anchor(s.ts, max(arr, t.frontier))
	}
	pos := sd.basePos + int64(int32(s.ts-sd.baseTS))
	if off := arr - pos; off > jumpLimit || off < -jumpLimit {
		t.reanchors++
		sd.anchor(s.ts, max(arr, t.frontier))
		pos = sd.basePos
	}
	inOrder := int32(s.ts-sd.newestTS) >= 0
	if inOrder {
		sd.newestTS = s.ts
	}
	t.trackDrift(sd, arr, pos)

	end := pos + int64(n)
	if end <= t.frontier {
		t.late++
		if inOrder {
			if sd.lateRow++; sd.lateRow >= lateRun {
				t.reanchors++
				sd.anchor(s.ts, max(arr, t.frontier))
			}
		}
		return target
	}
	sd.lateRow = 0
	if end > t.frontier+ringFrames { // cannot happen while writes keep up; never overrun
		t.late++
		return target
	}
	skip := max(t.frontier-pos, 0) // the head of the frame is late: keep the rest
	pos += skip
	c := int64(s.ch)
	if t.ulaw {
		for i, v := range s.buf[skip:n] {
			t.ring8[((pos+int64(i))&ringMask)*2+c] = v
		}
	} else {
		for i, v := range t.pcm[skip:n] {
			t.ring16[((pos+int64(i))&ringMask)*2+c] = v
		}
	}
	sd.hi = max(sd.hi, end)
	return target
}

// trackDrift watches how far a side's frames land from their arrival, and moves the side back
// in line when its clock has drifted from the wall clock (or its anchor frame was delayed).
func (t *timeline) trackDrift(sd *side, arr, pos int64) {
	off := arr - pos
	if sd.winStart < 0 {
		sd.winStart, sd.winMin = arr, off
		return
	}
	sd.winMin = min(sd.winMin, off)
	if arr-sd.winStart < driftWindow {
		return
	}
	if sd.winMin > driftLimit || sd.winMin < -driftLimit {
		sd.basePos += sd.winMin
		t.reanchors++
	}
	sd.winStart, sd.winMin = -1, 0
}

// decode converts a slot's payload to linear samples in t.pcm and returns how many (a linear
// file).
func (t *timeline) decode(s *slot) int {
	b := s.buf[:s.n]
	switch s.codec {
	case callbox.PCMU:
		return g711.DecodeUlaw(t.pcm[:], b)
	case callbox.PCMA:
		return g711.DecodeAlaw(t.pcm[:], b)
	case callbox.L16:
		n := len(b) / 2
		for i := range n {
			t.pcm[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
		}
		return n
	}
	return 0
}

// toUlaw turns a slot's payload into µ-law in place (a PCMU frame already is) and returns
// how many samples it holds.
func (t *timeline) toUlaw(s *slot) int {
	b := s.buf[:s.n]
	switch s.codec {
	case callbox.PCMU:
		return len(b)
	case callbox.PCMA:
		return g711.AlawToUlaw(b, b)
	case callbox.L16:
		n := len(b) / 2
		for i := range n { // sample i is read from 2i and 2i+1 before byte i is written
			b[i] = g711.LinearToUlaw(int16(binary.LittleEndian.Uint16(b[2*i:])))
		}
		return n
	}
	return 0
}

// writeTo writes the file up to position upTo: what the sides put there, silence elsewhere.
func (t *timeline) writeTo(w *wav.Writer, upTo int64) error {
	for t.frontier < upTo {
		i := t.frontier & ringMask
		n := min(upTo-t.frontier, ringFrames-i, 2048)
		if t.ulaw {
			chunk := t.ring8[2*i : 2*(i+n)]
			if err := w.WriteEncoded(chunk); err != nil {
				return err
			}
			for j := range chunk {
				chunk[j] = g711.UlawSilence
			}
		} else {
			chunk := t.ring16[2*i : 2*(i+n)]
			if err := w.WriteSamples(chunk); err != nil {
				return err
			}
			clear(chunk)
		}
		t.frontier += n
	}
	return nil
}

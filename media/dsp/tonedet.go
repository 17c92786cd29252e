package dsp

import (
	"fmt"
	"slices"
	"time"
)

// ToneEvent is a call-progress tone recognised in the audio.
type ToneEvent struct {
	Tone ToneName
	// At is where the run of the tone that was recognised began, in samples since the
	// detector started; Detected is where it was recognised.
	At, Detected int64
}

// ToneDetectorConfig tunes a ToneDetector; the zero value gives the defaults in brackets.
type ToneDetectorConfig struct {
	// Cycles of a busy or congestion cadence to hear before saying so [3]. A ringback tone is
	// recognised after one cycle, a continuous tone after it lasted longer than any cadenced
	// tone of the plan on the same frequencies (1 s at least).
	Cycles int
	// Tolerance on each on and off time of a cadence, as a fraction [0.1], plus 30 ms for the
	// detector's own resolution.
	Tolerance float64
	// MinLevel is the weakest tone heard, in dBm0 [-40].
	MinLevel float64
}

const (
	toneBlock = 160 // 20 ms: 50 Hz resolution tells 400 from 450 Hz
	// toneShare is the share of a block's energy the tone's frequencies must hold.
	toneShare = 0.6
	// toneSlack is added to a cadence's tolerance: a block is 20 ms, an edge can fall anywhere
	// in it.
	toneSlack = 240 // samples: 30 ms
	// toneDebounce blocks in a row must agree before the tone is taken as on or off.
	toneDebounce = 2
)

// ToneDetector recognises a plan's call-progress tones by frequency and cadence, for example
// the busy tone with which a PBX or exchange tells an analog line the far end hung up.
// It is not safe for concurrent use.
type ToneDetector struct {
	sets     []*freqSet
	energy   float32
	n        int
	pos      int64
	minPower float32
	events   []ToneEvent
}

// freqSet follows whether one combination of frequencies is sounding, and the on and off
// segments it makes; the tones on those frequencies are matched against the segments.
type freqSet struct {
	freqs   []float64
	g       []goertzel
	on      bool
	since   int64 // where the current segment began
	started bool  // a transition was seen: segments from now on are whole
	pending int   // blocks in a row disagreeing with on
	pendAt  int64 // where the first of them began
	segs    []segment
	tones   []*toneMatch
}

type segment struct {
	on    bool
	at, n int64 // where it began, how long it lasted (samples)
}

type toneMatch struct {
	name     ToneName
	pattern  []int64 // samples of each on/off step; nil: continuous
	need     int     // whole segments to match
	minOn    int64   // continuous tones: how long it must last
	tol      float64
	reported bool
}

// NewToneDetector returns a detector of the named tones of plan (all of them when names is
// empty).
func NewToneDetector(plan Plan, cfg ToneDetectorConfig, names ...ToneName) (*ToneDetector, error) {
	if cfg.Cycles <= 0 {
		cfg.Cycles = 3
	}
	if cfg.Tolerance <= 0 {
		cfg.Tolerance = 0.1
	}
	if cfg.MinLevel == 0 {
		cfg.MinLevel = -40
	}
	d := &ToneDetector{
		minPower: float32(meanSquare(cfg.MinLevel) * toneBlock),
		events:   make([]ToneEvent, 0, 4),
	}
	if len(names) == 0 {
		for _, t := range plan.Tones {
			names = append(names, t.Name)
		}
	}
	for _, name := range names {
		t, ok := plan.Tone(name)
		if !ok {
			return nil, fmt.Errorf("dsp: the %s tone plan has no %q tone", plan.Name, name)
		}
		set := d.set(t.Freqs)
		m := &toneMatch{name: t.Name, tol: cfg.Tolerance}
		for _, c := range t.Cadence {
			m.pattern = append(m.pattern, int64(c*SampleRate/time.Second))
		}
		switch {
		case len(m.pattern) == 0:
			// Longer than any cadenced tone of the plan on the same frequencies.
			longest := time.Second
			for _, o := range plan.Tones {
				if slices.Equal(o.Freqs, t.Freqs) {
					for i := 0; i < len(o.Cadence); i += 2 {
						longest = max(longest, o.Cadence[i]*13/10)
					}
				}
			}
			m.minOn = int64(longest * SampleRate / time.Second)
		case t.Name == Ringback:
			m.need = len(m.pattern)
		default:
			m.need = cfg.Cycles * len(m.pattern)
		}
		set.tones = append(set.tones, m)
	}
	return d, nil
}

// set returns the freqSet for freqs, adding it if new.
func (d *ToneDetector) set(freqs []float64) *freqSet {
	for _, s := range d.sets {
		if slices.Equal(s.freqs, freqs) {
			return s
		}
	}
	s := &freqSet{freqs: freqs}
	for _, f := range freqs {
		s.g = append(s.g, newGoertzel(f))
	}
	d.sets = append(d.sets, s)
	return s
}

// Process runs the detector over the next samples and returns the tones recognised in them.
// The returned slice is reused by the next call.
func (d *ToneDetector) Process(pcm []int16) []ToneEvent {
	d.events = d.events[:0]
	for _, v := range pcm {
		x := float32(v)
		d.energy += x * x
		for _, s := range d.sets {
			for i := range s.g {
				s.g[i].push(x)
			}
		}
		d.n++
		d.pos++
		if d.n == toneBlock {
			start := d.pos - toneBlock
			for _, s := range d.sets {
				d.judge(s, start)
			}
			d.n, d.energy = 0, 0
		}
	}
	return d.events
}

// judge decides whether s sounds in the block that began at start, and follows its segments.
func (d *ToneDetector) judge(s *freqSet, start int64) {
	var sum, least float32
	for i := range s.g {
		e := s.g[i].energy(toneBlock)
		sum += e
		if i == 0 || e < least {
			least = e
		}
	}
	// Each frequency must carry its part: a dual tone is not one of its halves.
	present := d.energy >= d.minPower && sum >= toneShare*d.energy &&
		least*float32(len(s.g))*3 >= sum
	if present == s.on {
		s.pending = 0
	} else {
		if s.pending == 0 {
			s.pendAt = start
		}
		if s.pending++; s.pending >= toneDebounce {
			d.transition(s, s.pendAt)
			s.pending = 0
		}
	}
	if s.on {
		for _, m := range s.tones {
			if m.pattern == nil && !m.reported && d.pos-s.since >= m.minOn {
				m.reported = true
				d.events = append(d.events, ToneEvent{Tone: m.name, At: s.since, Detected: d.pos})
			}
		}
	}
}

// transition ends the current segment of s at sample at and starts the other kind.
func (d *ToneDetector) transition(s *freqSet, at int64) {
	if s.started {
		s.segs = append(s.segs, segment{on: s.on, at: s.since, n: at - s.since})
		if len(s.segs) > 32 {
			s.segs = append(s.segs[:0], s.segs[len(s.segs)-32:]...)
		}
	}
	s.started = true
	s.on = !s.on
	s.since = at
	for _, m := range s.tones {
		if m.pattern == nil {
			if !s.on {
				m.reported = false
			}
			continue
		}
		if !m.matches(s.segs) {
			m.reported = false
			continue
		}
		if !m.reported {
			m.reported = true
			first := s.segs[len(s.segs)-m.need]
			d.events = append(d.events, ToneEvent{Tone: m.name, At: first.at, Detected: at})
		}
	}
}

// matches reports whether the last m.need segments follow m's cadence, from any step of it.
func (m *toneMatch) matches(segs []segment) bool {
	if len(segs) < m.need {
		return false
	}
	segs = segs[len(segs)-m.need:]
	for r := range m.pattern {
		if segs[0].on != (r%2 == 0) {
			continue
		}
		ok := true
		for i, sg := range segs {
			p := m.pattern[(r+i)%len(m.pattern)]
			tol := int64(float64(p)*m.tol) + toneSlack
			if sg.n < p-tol || sg.n > p+tol {
				ok = false
				break
			}
		}
		if ok {
			return true
		}
	}
	return false
}

// Reset forgets the stream: the next sample is sample 0 of a new one.
func (d *ToneDetector) Reset() {
	d.energy, d.n, d.pos = 0, 0, 0
	d.events = d.events[:0]
	for _, s := range d.sets {
		for i := range s.g {
			s.g[i].s1, s.g[i].s2 = 0, 0
		}
		s.on, s.since, s.started, s.pending, s.pendAt = false, 0, false, 0, 0
		s.segs = s.segs[:0]
		for _, m := range s.tones {
			m.reported = false
		}
	}
}

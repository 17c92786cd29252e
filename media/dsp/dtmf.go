package dsp

import "math"

// DigitEvent is a DTMF digit found in the audio: once when it begins, once when it ends.
type DigitEvent struct {
	Digit rune
	// At is where the digit began, in samples since the detector started.
	At int64
	// End is false on the event that reports the digit (as early as it is sure), true on the
	// one that reports its end; Duration is then its length in samples.
	End      bool
	Duration int
}

// DTMFConfig tunes the detector; the zero value gives the defaults in brackets.
type DTMFConfig struct {
	// MinLevel is the weakest tone accepted, per tone, in dBm0 [-30].
	MinLevel float64
	// NormalTwist is how much weaker than the low tone the high tone may be, in dB [8].
	NormalTwist float64
	// ReverseTwist is how much stronger than the low tone the high tone may be, in dB [4].
	ReverseTwist float64
}

const (
	dtmfBlock = 102 // 12.75 ms: the filters tell neighbouring DTMF tones apart by > 20 dB
	// Two blocks in a row must show the same digit for it to begin, so a digit takes at least
	// 25.5 ms of tone to be seen: tones of 40 ms are always found, tones under ~23 ms never.
	dtmfHitsToStart = 2
	// Two blocks in a row without the digit end it: a 40 ms pause between two presses of the
	// same key is always seen, a drop-out of 10 ms inside a digit never splits it.
	dtmfMissesToEnd = 2
	// The two tones must hold this share of the block's energy: speech spreads its energy over
	// many frequencies, a DTMF digit over two. A tone that covers only part of a block has a
	// share about the part it covers, so a tone shorter than ~22 ms cannot fill two blocks.
	dtmfToneShare = 0.85
	// A tone must stand this far (dB) above the other tones of its group.
	dtmfRelativePeak = 8
	// The high tone's second harmonic must stay this far (dB) below it: voiced speech has
	// harmonics, a DTMF generator does not.
	dtmfHarmonic = 14
)

// DTMFDetector finds in-band DTMF digits in a stream of 8 kHz audio, with Goertzel filters on
// the eight DTMF frequencies over blocks of 102 samples, checks of level, twist, relative
// peak, second harmonic and share of the energy, and timing rules (see the constants).
// It is not safe for concurrent use.
type DTMFDetector struct {
	rows, cols [4]goertzel
	colH2      [4]goertzel // second harmonics of the high tones
	energy     float32     // sum of squares of the block so far
	n          int         // samples in the block so far
	pos        int64       // samples processed

	minEnergy   float32
	normalTwist float32
	reverseTw   float32
	relPeak     float32
	harmonic    float32

	candidate rune // what the last block showed (0: nothing)
	hits      int  // blocks in a row showing candidate
	candAt    int64
	current   rune // the digit being pressed (0: none)
	currentAt int64
	misses    int
	events    []DigitEvent
}

// NewDTMFDetector returns a detector with cfg's settings.
func NewDTMFDetector(cfg DTMFConfig) *DTMFDetector {
	if cfg.MinLevel == 0 {
		cfg.MinLevel = -30
	}
	if cfg.NormalTwist == 0 {
		cfg.NormalTwist = 8
	}
	if cfg.ReverseTwist == 0 {
		cfg.ReverseTwist = 4
	}
	d := &DTMFDetector{
		minEnergy:   float32(meanSquare(cfg.MinLevel) * dtmfBlock),
		normalTwist: float32(math.Pow(10, cfg.NormalTwist/10)),
		reverseTw:   float32(math.Pow(10, cfg.ReverseTwist/10)),
		relPeak:     float32(math.Pow(10, dtmfRelativePeak/10.0)),
		harmonic:    float32(math.Pow(10, dtmfHarmonic/10.0)),
		events:      make([]DigitEvent, 0, 8),
	}
	for i := range 4 {
		d.rows[i] = newGoertzel(dtmfRows[i])
		d.cols[i] = newGoertzel(dtmfCols[i])
		d.colH2[i] = newGoertzel(2 * dtmfCols[i])
	}
	return d
}

// Process runs the detector over the next samples of the stream and returns the digits that
// began or ended in them. The returned slice is reused by the next call.
func (d *DTMFDetector) Process(pcm []int16) []DigitEvent {
	d.events = d.events[:0]
	for _, v := range pcm {
		x := float32(v)
		d.energy += x * x
		for i := range 4 {
			d.rows[i].push(x)
			d.cols[i].push(x)
			d.colH2[i].push(x)
		}
		d.n++
		if d.n == dtmfBlock {
			d.block(d.pos + 1 - dtmfBlock)
			d.n, d.energy = 0, 0
		}
		d.pos++
	}
	return d.events
}

// block judges the block that began at sample start and moves the digit state on.
func (d *DTMFDetector) block(start int64) {
	digit := d.classify()
	if digit != 0 && digit == d.candidate {
		d.hits++
	} else {
		d.candidate, d.hits, d.candAt = digit, 1, start
	}
	if digit == 0 {
		d.hits = 0
	}
	if d.current != 0 {
		if digit == d.current {
			d.misses = 0
			return
		}
		if d.misses++; d.misses < dtmfMissesToEnd {
			return
		}
		// The digit ended where the first block without it began.
		end := start - int64(d.misses-1)*dtmfBlock
		d.events = append(d.events, DigitEvent{Digit: d.current, At: d.currentAt, End: true, Duration: int(end - d.currentAt)})
		d.current, d.misses = 0, 0
	}
	if digit != 0 && d.hits >= dtmfHitsToStart {
		d.current, d.currentAt, d.misses = digit, d.candAt, 0
		d.events = append(d.events, DigitEvent{Digit: digit, At: d.candAt})
	}
}

// classify returns the digit the block holds, or 0.
func (d *DTMFDetector) classify() rune {
	var re, ce [4]float32
	r, c := 0, 0
	for i := range 4 {
		re[i] = d.rows[i].energy(dtmfBlock)
		ce[i] = d.cols[i].energy(dtmfBlock)
		if re[i] > re[r] {
			r = i
		}
		if ce[i] > ce[c] {
			c = i
		}
	}
	var h2 [4]float32
	for i := range 4 {
		h2[i] = d.colH2[i].energy(dtmfBlock)
	}
	row, col := re[r], ce[c]
	switch {
	case row < d.minEnergy || col < d.minEnergy:
		return 0
	case row > col*d.normalTwist, col > row*d.reverseTw:
		return 0
	case row+col < dtmfToneShare*d.energy:
		return 0
	case h2[c]*d.harmonic > col:
		return 0
	}
	for i := range 4 {
		if i != r && re[i]*d.relPeak > row || i != c && ce[i]*d.relPeak > col {
			return 0
		}
	}
	return rune(dtmfDigits[4*r+c])
}

// Reset forgets the stream: the next sample is sample 0 of a new one.
func (d *DTMFDetector) Reset() {
	for i := range 4 {
		d.rows[i].s1, d.rows[i].s2 = 0, 0
		d.cols[i].s1, d.cols[i].s2 = 0, 0
		d.colH2[i].s1, d.colH2[i].s2 = 0, 0
	}
	d.energy, d.n, d.pos = 0, 0, 0
	d.candidate, d.hits, d.candAt = 0, 0, 0
	d.current, d.currentAt, d.misses = 0, 0, 0
	d.events = d.events[:0]
}

// Package dsp is the box's signal processing on 8 kHz linear PCM: DTMF generation and in-band
// detection, call-progress tone plans (generation and detection by frequency and cadence),
// talk/silence detection, resampling and mixing.
//
// Levels are in dBm0 on the µ-law scale: a full-scale sine is +3.17 dBm0.
package dsp

import "math"

// SampleRate is the rate of the audio this package works on, unless a function says otherwise.
const SampleRate = 8000

// zeroDBm0 is the peak amplitude of a 0 dBm0 sine in 16-bit linear PCM: G.711 µ-law puts full
// scale at +3.17 dBm0.
var zeroDBm0 = 32767 / math.Pow(10, 3.17/20)

// Amplitude is the peak amplitude of a sine at level dBm0.
func Amplitude(dBm0 float64) float64 { return zeroDBm0 * math.Pow(10, dBm0/20) }

// Level is the level in dBm0 of a signal whose mean square (per sample) is ms; -inf for 0.
func Level(ms float64) float64 { return 10 * math.Log10(ms/(zeroDBm0*zeroDBm0/2)) }

// meanSquare is the mean square of a signal at level dBm0.
func meanSquare(dBm0 float64) float64 { return zeroDBm0 * zeroDBm0 / 2 * math.Pow(10, dBm0/10) }

// saturate clamps an accumulated sample to int16.
func saturate(v int32) int16 {
	if v > math.MaxInt16 {
		return math.MaxInt16
	}
	if v < math.MinInt16 {
		return math.MinInt16
	}
	return int16(v)
}

// goertzel holds one Goertzel filter's state: the power of one frequency over a block.
type goertzel struct {
	coef   float32
	s1, s2 float32
}

func newGoertzel(freq float64) goertzel {
	return goertzel{coef: float32(2 * math.Cos(2*math.Pi*freq/SampleRate))}
}

func (g *goertzel) push(x float32) {
	s := x + g.coef*g.s1 - g.s2
	g.s2, g.s1 = g.s1, s
}

// energy is the energy (sum of squares over the block of n samples) of the filter's
// frequency, and resets the filter.
func (g *goertzel) energy(n int) float32 {
	p := g.s1*g.s1 + g.s2*g.s2 - g.coef*g.s1*g.s2
	g.s1, g.s2 = 0, 0
	return 2 * p / float32(n)
}

package dsp

import (
	"math"
	"math/rand/v2"
	"time"
)

// resonator is a two-pole filter: a formant of the vocal tract.
type resonator struct{ a1, a2, g, y1, y2 float64 }

func (r *resonator) set(freq, bw float64) {
	rad := math.Exp(-math.Pi * bw / SampleRate)
	r.a1 = 2 * rad * math.Cos(2*math.Pi*freq/SampleRate)
	r.a2 = -rad * rad
	r.g = 1 - rad
}

func (r *resonator) step(x float64) float64 {
	y := r.g*x + r.a1*r.y1 + r.a2*r.y2
	r.y2, r.y1 = r.y1, y
	return y
}

// vowels are first three formant frequencies of a few vowels (Hz).
var vowels = [][3]float64{
	{730, 1090, 2440}, {270, 2290, 3010}, {530, 1840, 2480}, {660, 1720, 2410},
	{300, 870, 2240}, {640, 1190, 2390}, {440, 1020, 2240}, {490, 1350, 1690},
	{390, 1990, 2550}, {570, 840, 2410},
}

// speech synthesises speech-like audio of duration d: syllables of voiced formant speech with
// a moving, wobbling pitch, fricatives, sung harmonic tones with vibrato, and pauses, at
// levels from -35 to -8 dBm0, over faint background noise.
func speech(rng *rand.Rand, d time.Duration) []int16 { return speechWith(rng, d, true, 27) }

// speechWith is speech, with or without pauses between syllables, with syllable levels spread
// over spread dB (from -35 dBm0 up).
func speechWith(rng *rand.Rand, d time.Duration, pauses bool, spread float64) []int16 {
	n := int(d * SampleRate / time.Second)
	out := make([]int16, 0, n)
	var f [3]resonator
	var fric resonator
	phase := 0.0
	for len(out) < n {
		kind := rng.IntN(10)
		if !pauses {
			kind = rng.IntN(9)
		}
		segment := int((0.06 + rng.Float64()*0.3) * SampleRate)
		level := Amplitude(-35 + rng.Float64()*spread)
		v := vowels[rng.IntN(len(vowels))]
		v2 := vowels[rng.IntN(len(vowels))]
		for i := range 3 {
			f[i].set(v[i], 60+rng.Float64()*90)
		}
		f0 := 80 + rng.Float64()*220
		glide := (rng.Float64() - 0.5) * 0.8 // pitch moves by up to ±40 % over the segment
		vib := 3 + rng.Float64()*5           // vibrato rate, Hz
		vibDepth := rng.Float64() * 0.06
		fric.set(2500+rng.Float64()*1200, 800)
		harmonics := 3 + rng.IntN(12)
		for i := 0; i < segment && len(out) < n; i++ {
			t := float64(i) / float64(segment)
			env := math.Sin(math.Pi * t) // a syllable swells and fades
			pitch := f0 * (1 + glide*t) * (1 + vibDepth*math.Sin(2*math.Pi*vib*float64(i)/SampleRate))
			phase += 2 * math.Pi * pitch / SampleRate
			var x float64
			switch {
			case kind < 6: // voiced: a glottal pulse train through moving formants
				if i%40 == 0 {
					for j := range 3 {
						f[j].set(v[j]+(v2[j]-v[j])*t, 60+float64(j)*40)
					}
				}
				src := math.Pow(0.5+0.5*math.Cos(phase), 8) // narrow pulses, rich in harmonics
				x = 0
				for j := range 3 {
					x += f[j].step(src) * []float64{1, 0.6, 0.3}[j]
				}
				x *= 12
			case kind < 8: // a sung or hummed tone: harmonics with vibrato
				for h := 1; h <= harmonics; h++ {
					x += math.Sin(float64(h)*phase) / float64(h)
				}
				x *= 0.5
			case kind < 9: // a fricative
				x = fric.step(rng.NormFloat64()) * 3
			default: // a pause
				x = 0
			}
			s := level*env*x + rng.NormFloat64()*Amplitude(-60)
			out = append(out, saturate(int32(s)))
		}
	}
	return out
}

// noise returns n samples of white noise at level dBm0.
func noise(rng *rand.Rand, n int, dBm0 float64) []int16 {
	out := make([]int16, n)
	sd := math.Sqrt(meanSquare(dBm0))
	for i := range out {
		out[i] = saturate(int32(rng.NormFloat64() * sd))
	}
	return out
}

// add mixes b into a (sample by sample, saturating).
func add(a, b []int16) []int16 {
	for i := range min(len(a), len(b)) {
		a[i] = saturate(int32(a[i]) + int32(b[i]))
	}
	return a
}

// rms is the level of x in dBm0.
func levelOf(x []int16) float64 {
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return Level(s / float64(len(x)))
}

package dsp

import (
	"math"
	"math/rand/v2"
	"testing"
)

// sine returns n samples of a sine at freq Hz sampled at rate, amplitude a.
func sine(n int, freq, rate, a float64) []int16 {
	out := make([]int16, n)
	for i := range out {
		out[i] = int16(math.Round(a * math.Sin(2*math.Pi*freq*float64(i)/rate)))
	}
	return out
}

// rmsOf is the root mean square of x, skipping skip samples at each end (filter edges).
func rmsOf(x []int16, skip int) float64 {
	x = x[skip : len(x)-skip]
	var s float64
	for _, v := range x {
		s += float64(v) * float64(v)
	}
	return math.Sqrt(s / float64(len(x)))
}

func resampleAll(t *testing.T, from, to int, in []int16) []int16 {
	t.Helper()
	r, err := NewResampler(from, to)
	if err != nil {
		t.Fatal(err)
	}
	out := r.Process(nil, in)
	return r.Flush(out)
}

func TestResamplerPassesAndStops(t *testing.T) {
	tests := []struct {
		from, to int
		freq     float64
		minGain  float64 // dB
		maxGain  float64
	}{
		{16000, 8000, 1000, -0.3, 0.3},
		{16000, 8000, 3000, -0.5, 0.5},
		{16000, 8000, 5000, -200, -40}, // would fold to 3 kHz
		{16000, 8000, 7000, -200, -40},
		{8000, 16000, 1000, -0.3, 0.3},
		{8000, 16000, 3300, -0.5, 0.5},
		{22050, 8000, 1000, -0.3, 0.3},
		{22050, 8000, 5000, -200, -40},
		{22050, 8000, 9000, -200, -40},
		{8000, 8000, 1000, -0.01, 0.01},
	}
	for _, tt := range tests {
		in := sine(tt.from, tt.freq, float64(tt.from), 10000) // one second
		out := resampleAll(t, tt.from, tt.to, in)
		if want := tt.to; len(out) < want-2 || len(out) > want+2 {
			t.Errorf("%d→%d: %d samples out for one second", tt.from, tt.to, len(out))
		}
		gain := 20 * math.Log10(rmsOf(out, 200)/rmsOf(in, 200))
		if gain < tt.minGain || gain > tt.maxGain {
			t.Errorf("%d→%d at %v Hz: gain %.1f dB, want %v…%v", tt.from, tt.to, tt.freq, gain, tt.minGain, tt.maxGain)
		}
	}
}

// Upsampling leaves no image: a 1 kHz tone at 8 kHz has nothing at 7 kHz once at 16 kHz.
func TestUpsamplingHasNoImage(t *testing.T) {
	out := resampleAll(t, 8000, 16000, sine(8000, 1000, 8000, 10000))
	var s1, s2 float64
	w := 2 * math.Cos(2*math.Pi*7000/16000)
	for _, v := range out[200 : len(out)-200] {
		s := float64(v) + w*s1 - s2
		s2, s1 = s1, s
	}
	n := float64(len(out) - 400)
	image := 2 * (s1*s1 + s2*s2 - w*s1*s2) / (n * n) // mean square of the 7 kHz component
	if db := 10 * math.Log10(image/(10000*10000/2)); db > -40 {
		t.Errorf("image at 7 kHz is %.1f dB below the tone, want < -40", db)
	}
}

// Streaming in chunks of any size gives the same output as one block.
func TestResamplerStreams(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, rates := range [][2]int{{16000, 8000}, {8000, 16000}, {22050, 8000}} {
		in := noise(rng, rates[0], -10)
		whole := resampleAll(t, rates[0], rates[1], in)
		r, _ := NewResampler(rates[0], rates[1])
		var parts []int16
		for rest := in; len(rest) > 0; {
			n := min(len(rest), rng.IntN(500))
			parts = r.Process(parts, rest[:n])
			rest = rest[n:]
		}
		parts = r.Flush(parts)
		if len(parts) != len(whole) {
			t.Fatalf("%v: %d samples in chunks, %d in one go", rates, len(parts), len(whole))
		}
		for i := range whole {
			if parts[i] != whole[i] {
				t.Fatalf("%v: sample %d differs", rates, i)
			}
		}
	}
}

func TestResamplerRejectsBadRates(t *testing.T) {
	for _, r := range [][2]int{{0, 8000}, {8000, -1}, {1 << 30, 8000}} {
		if _, err := NewResampler(r[0], r[1]); err == nil {
			t.Errorf("%v: no error", r)
		}
	}
}

func TestResamplerDoesNotAllocate(t *testing.T) {
	r, _ := NewResampler(16000, 8000)
	in := sine(320, 1000, 16000, 8000)
	out := make([]int16, 0, 200)
	if a := testing.AllocsPerRun(200, func() { out = r.Process(out[:0], in) }); a != 0 {
		t.Errorf("Process allocates %.1f times a frame", a)
	}
}

func BenchmarkResample16to8per20ms(b *testing.B) {
	r, _ := NewResampler(16000, 8000)
	in := sine(320, 1000, 16000, 8000)
	out := make([]int16, 0, 200)
	b.ReportAllocs()
	for b.Loop() {
		out = r.Process(out[:0], in)
	}
}

func BenchmarkResample8to16per20ms(b *testing.B) {
	r, _ := NewResampler(8000, 16000)
	in := sine(160, 1000, 8000, 8000)
	out := make([]int16, 0, 400)
	b.ReportAllocs()
	for b.Loop() {
		out = r.Process(out[:0], in)
	}
}

func BenchmarkResample22050to8000per20ms(b *testing.B) {
	r, _ := NewResampler(22050, 8000)
	in := sine(441, 1000, 22050, 8000)
	out := make([]int16, 0, 200)
	b.ReportAllocs()
	for b.Loop() {
		out = r.Process(out[:0], in)
	}
}

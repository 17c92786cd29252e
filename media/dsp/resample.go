package dsp

import (
	"fmt"
	"math"
)

// Resampler converts a stream of linear PCM from one sample rate to another with a polyphase
// windowed-sinc (Kaiser) filter: pass band up to 46 % of the lower rate, stop band from half
// of it with 60 dB of attenuation, so nothing above the new Nyquist frequency folds back.
// It keeps state between calls. It is not safe for concurrent use.
type Resampler struct {
	from, to int
	up, down int         // the ratio to/from in lowest terms
	taps     int         // filter taps per phase
	phases   [][]float32 // phases[p]: the filter for output phase p, oldest input first
	buf      []float32   // input not yet consumed, preceded by taps-1 older samples
	next     int         // index in buf of the newest input the next output needs
	phase    int         // its phase
	skip     int         // outputs still to drop: the filter's delay, so output lines up with input
}

const (
	resampleAtten      = 60.0  // dB in the stop band
	resampleTransition = 0.075 // width of the transition band, as a fraction of the lower rate
)

// NewResampler returns a resampler from one rate to another (Hz).
func NewResampler(from, to int) (*Resampler, error) {
	if from <= 0 || to <= 0 || from > 192000 || to > 192000 {
		return nil, fmt.Errorf("dsp: cannot resample %d Hz to %d Hz", from, to)
	}
	g := gcd(from, to)
	r := &Resampler{from: from, to: to, up: to / g, down: from / g}
	if r.up == 1 && r.down == 1 {
		return r, nil
	}
	// Design the low-pass at the rate after upsampling by r.up.
	fu := float64(from) * float64(r.up)
	low := float64(min(from, to))
	dw := 2 * math.Pi * resampleTransition * low / fu
	n := int(math.Ceil((resampleAtten-8)/(2.285*dw))) + 1
	r.taps = (n + r.up - 1) / r.up
	n = r.taps * r.up
	fc := (low/2 - resampleTransition*low/2) / fu // cut-off, cycles a sample
	beta := 0.1102 * (resampleAtten - 8.7)
	center := float64(n-1) / 2
	h := make([]float64, n)
	for i := range h {
		x := float64(i) - center
		sinc := 2 * fc
		if x != 0 {
			sinc = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		w := besselI0(beta*math.Sqrt(1-(x/center)*(x/center))) / besselI0(beta)
		h[i] = sinc * w * float64(r.up) // the zeros stuffed in by upsampling cost a factor up
	}
	r.phases = make([][]float32, r.up)
	for p := range r.phases {
		r.phases[p] = make([]float32, r.taps)
		for t := range r.taps {
			r.phases[p][r.taps-1-t] = float32(h[p+t*r.up])
		}
	}
	r.buf = make([]float32, r.taps-1, 4096)
	r.next = r.taps - 1
	r.skip = r.Delay()
	return r, nil
}

// Rates returns the input and output rates.
func (r *Resampler) Rates() (from, to int) { return r.from, r.to }

// Process resamples src and appends the output to dst. The filter holds back about half its
// length (Delay); the output lines up with the input, and Flush pushes out what is held back.
func (r *Resampler) Process(dst []int16, src []int16) []int16 {
	if r.phases == nil {
		return append(dst, src...)
	}
	for _, v := range src {
		r.buf = append(r.buf, float32(v))
	}
	for r.next < len(r.buf) {
		h := r.phases[r.phase]
		x := r.buf[r.next-r.taps+1 : r.next+1]
		x = x[:len(h)]
		var a0, a1, a2, a3 float32
		t := 0
		for ; t+4 <= len(h); t += 4 {
			a0 += h[t] * x[t]
			a1 += h[t+1] * x[t+1]
			a2 += h[t+2] * x[t+2]
			a3 += h[t+3] * x[t+3]
		}
		for ; t < len(h); t++ {
			a0 += h[t] * x[t]
		}
		if r.skip > 0 {
			r.skip--
		} else {
			dst = append(dst, saturate(int32(math.Round(float64(a0+a1+a2+a3)))))
		}
		r.phase += r.down
		r.next += r.phase / r.up
		r.phase %= r.up
	}
	// Keep the taps-1 samples the next outputs still look back at.
	keep := r.next - (r.taps - 1)
	if keep > 0 {
		if keep > len(r.buf) {
			keep = len(r.buf)
		}
		n := copy(r.buf, r.buf[keep:])
		r.buf = r.buf[:n]
		r.next -= keep
	}
	return dst
}

// Flush appends the output still held in the filter (as if silence followed) to dst and
// resets the resampler for a new stream.
func (r *Resampler) Flush(dst []int16) []int16 {
	if r.phases == nil {
		return dst
	}
	want := r.Delay()
	before := len(dst)
	var zeros [64]int16
	for len(dst)-before < want {
		dst = r.Process(dst, zeros[:])
	}
	dst = dst[:before+want]
	r.Reset()
	return dst
}

// Reset forgets the stream.
func (r *Resampler) Reset() {
	if r.phases == nil {
		return
	}
	r.buf = r.buf[:r.taps-1]
	clear(r.buf)
	r.next, r.phase = r.taps-1, 0
	r.skip = r.Delay()
}

// Delay is the filter's delay in output samples.
func (r *Resampler) Delay() int {
	if r.phases == nil {
		return 0
	}
	return (r.taps*r.up - 1) / (2 * r.down)
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// besselI0 is the modified Bessel function of the first kind, order 0 (for the Kaiser window).
func besselI0(x float64) float64 {
	sum, term := 1.0, 1.0
	for k := 1; k < 50; k++ {
		term *= (x / (2 * float64(k))) * (x / (2 * float64(k)))
		sum += term
		if term < 1e-12*sum {
			break
		}
	}
	return sum
}

package dsp

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// ToneName names a call-progress tone.
type ToneName string

const (
	Dial       ToneName = "dial"
	Ringback   ToneName = "ringback"
	Busy       ToneName = "busy"
	Congestion ToneName = "congestion"
)

// Tone is a call-progress tone: one or two frequencies played together, on and off in a
// cadence.
type Tone struct {
	Name  ToneName
	Freqs []float64 // Hz, one or two
	Level float64   // dBm0, of each frequency
	// Cadence is on, off, on, off… and repeats; empty for a continuous tone.
	Cadence []time.Duration
}

// Period is one cycle of the cadence, 0 for a continuous tone.
func (t Tone) Period() time.Duration {
	var p time.Duration
	for _, d := range t.Cadence {
		p += d
	}
	return p
}

// Plan is a country's set of call-progress tones.
type Plan struct {
	Country string // ISO 3166 code, lower case
	Name    string
	Tones   []Tone
}

// Tone returns the plan's tone called name.
func (p Plan) Tone(name ToneName) (Tone, bool) {
	for _, t := range p.Tones {
		if t.Name == name {
			return t, true
		}
	}
	return Tone{}, false
}

func cadence(ms ...int) []time.Duration {
	out := make([]time.Duration, len(ms))
	for i, m := range ms {
		out[i] = time.Duration(m) * time.Millisecond
	}
	return out
}

// plans are the tone plans the box knows, from ITU-T E.180 Supplement 2 ("Various tones used
// in national networks"), the North American precise audible tone plan (E.300 Suppl. 3) and,
// for the UK, BT SIN 350. Germany stands for the CEPT 425 Hz family.
func plans() []Plan {
	return []Plan{
		{Country: "cn", Name: "China", Tones: []Tone{
			{Name: Dial, Freqs: []float64{450}, Level: -10},
			{Name: Ringback, Freqs: []float64{450}, Level: -10, Cadence: cadence(1000, 4000)},
			{Name: Busy, Freqs: []float64{450}, Level: -10, Cadence: cadence(350, 350)},
			{Name: Congestion, Freqs: []float64{450}, Level: -10, Cadence: cadence(700, 700)},
		}},
		{Country: "us", Name: "United States", Tones: []Tone{
			{Name: Dial, Freqs: []float64{350, 440}, Level: -13},
			{Name: Ringback, Freqs: []float64{440, 480}, Level: -19, Cadence: cadence(2000, 4000)},
			{Name: Busy, Freqs: []float64{480, 620}, Level: -24, Cadence: cadence(500, 500)},
			{Name: Congestion, Freqs: []float64{480, 620}, Level: -24, Cadence: cadence(250, 250)},
		}},
		{Country: "de", Name: "Germany", Tones: []Tone{
			{Name: Dial, Freqs: []float64{425}, Level: -10},
			{Name: Ringback, Freqs: []float64{425}, Level: -10, Cadence: cadence(1000, 4000)},
			{Name: Busy, Freqs: []float64{425}, Level: -10, Cadence: cadence(480, 480)},
			{Name: Congestion, Freqs: []float64{425}, Level: -10, Cadence: cadence(240, 240)},
		}},
		{Country: "gb", Name: "United Kingdom", Tones: []Tone{
			{Name: Dial, Freqs: []float64{350, 440}, Level: -13},
			{Name: Ringback, Freqs: []float64{400, 450}, Level: -13, Cadence: cadence(400, 200, 400, 2000)},
			{Name: Busy, Freqs: []float64{400}, Level: -10, Cadence: cadence(375, 375)},
			{Name: Congestion, Freqs: []float64{400}, Level: -10, Cadence: cadence(400, 350, 225, 525)},
		}},
	}
}

// Countries lists the country codes PlanFor knows.
func Countries() []string {
	var out []string
	for _, p := range plans() {
		out = append(out, p.Country)
	}
	sort.Strings(out)
	return out
}

// PlanFor returns the tone plan of a country by ISO 3166 code ("cn", "us", "de", "gb"; "uk"
// is taken for "gb"), in any case.
func PlanFor(country string) (Plan, error) {
	c := strings.ToLower(country)
	if c == "uk" {
		c = "gb"
	}
	for _, p := range plans() {
		if p.Country == c {
			return p, nil
		}
	}
	return Plan{}, fmt.Errorf("dsp: no tone plan for country %q (known: %s)", country, strings.Join(Countries(), ", "))
}

// ToneGenerator plays a tone, cadence and all, for ever.
type ToneGenerator struct {
	amp     float64
	step    []float64 // phase increment a sample, per frequency
	phase   []float64
	cadence []int // samples of each on/off step
	idx     int   // current cadence step
	left    int   // samples left in it
}

// NewToneGenerator returns a generator of t.
func NewToneGenerator(t Tone) *ToneGenerator {
	g := &ToneGenerator{amp: Amplitude(t.Level), phase: make([]float64, len(t.Freqs))}
	for _, f := range t.Freqs {
		g.step = append(g.step, 2*math.Pi*f/SampleRate)
	}
	for _, d := range t.Cadence {
		g.cadence = append(g.cadence, int(d*SampleRate/time.Second))
	}
	if len(g.cadence) > 0 {
		g.left = g.cadence[0]
	}
	return g
}

// Read fills dst with the next samples of the tone.
func (g *ToneGenerator) Read(dst []int16) {
	for i := range dst {
		on := true
		if len(g.cadence) > 0 {
			for g.left == 0 {
				g.idx = (g.idx + 1) % len(g.cadence)
				g.left = g.cadence[g.idx]
			}
			g.left--
			on = g.idx%2 == 0
		}
		var v float64
		for j, s := range g.step {
			if on {
				v += math.Sin(g.phase[j])
			}
			g.phase[j] = math.Mod(g.phase[j]+s, 2*math.Pi)
		}
		dst[i] = saturate(int32(math.Round(g.amp * v)))
	}
}

package dsp

import (
	"fmt"
	"math/rand/v2"
	"testing"
	"time"
)

// toneAudio is lead of silence, then d of the tone, over faint noise.
func toneAudio(rng *rand.Rand, t Tone, lead, d time.Duration) []int16 {
	pcm := AppendSilence(nil, lead)
	body := make([]int16, int(d*SampleRate/time.Second))
	NewToneGenerator(t).Read(body)
	pcm = append(pcm, body...)
	return add(pcm, noise(rng, len(pcm), -55))
}

func detectTones(t *testing.T, d *ToneDetector, pcm []int16) []ToneEvent {
	t.Helper()
	var out []ToneEvent
	for i := 0; i < len(pcm); i += 160 {
		out = append(out, d.Process(pcm[i:min(i+160, len(pcm))])...)
	}
	return out
}

func TestEveryToneOfEveryPlanIsRecognised(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, country := range Countries() {
		plan, err := PlanFor(country)
		if err != nil {
			t.Fatal(err)
		}
		for _, tone := range plan.Tones {
			t.Run(country+"/"+string(tone.Name), func(t *testing.T) {
				d, err := NewToneDetector(plan, ToneDetectorConfig{})
				if err != nil {
					t.Fatal(err)
				}
				lead := time.Duration(rng.IntN(500)) * time.Millisecond
				length := max(6*time.Second, 3*tone.Period()+tone.Period()/2)
				events := detectTones(t, d, toneAudio(rng, tone, lead, length))
				if len(events) != 1 || events[0].Tone != tone.Name {
					t.Fatalf("events %+v, want one %s", events, tone.Name)
				}
				at := time.Duration(events[0].Detected) * time.Second / SampleRate
				t.Logf("recognised after %v", at-lead)
				// Busy and congestion within four cycles (3 whole ones after a partial first).
				if tone.Name == Busy || tone.Name == Congestion {
					if at-lead > 4*tone.Period()+100*time.Millisecond {
						t.Errorf("recognised after %v, more than four cycles", at-lead)
					}
				}
			})
		}
	}
}

// A far end hanging up on an analog line: talk, then the exchange's busy tone, off by 1.5 %
// in frequency and 9 % in cadence.
func TestBusyAfterHangUp(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, country := range Countries() {
		plan, _ := PlanFor(country)
		busy, _ := plan.Tone(Busy)
		off := busy
		off.Freqs = nil
		for _, f := range busy.Freqs {
			off.Freqs = append(off.Freqs, f*1.015)
		}
		off.Cadence = nil
		for _, c := range busy.Cadence {
			off.Cadence = append(off.Cadence, c*109/100)
		}
		off.Level = -25
		pcm := speech(rng, 8*time.Second)
		pcm = append(pcm, toneAudio(rng, off, 0, 5*busy.Period())...)
		d, _ := NewToneDetector(plan, ToneDetectorConfig{}, Busy)
		events := detectTones(t, d, pcm)
		if len(events) != 1 {
			t.Errorf("%s: events %+v, want one busy", country, events)
			continue
		}
		if at := time.Duration(events[0].Detected-8*SampleRate) * time.Second / SampleRate; at > 4*off.Period()+100*time.Millisecond {
			t.Errorf("%s: busy recognised %v after it began", country, at)
		}
	}
}

// One country's busy tone is not another's.
func TestForeignBusyIsNotMistaken(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, from := range Countries() {
		src, _ := PlanFor(from)
		for _, name := range []ToneName{Busy, Congestion} {
			tone, _ := src.Tone(name)
			pcm := toneAudio(rng, tone, 0, 8*time.Second)
			for _, to := range Countries() {
				if to == from {
					continue
				}
				plan, _ := PlanFor(to)
				d, _ := NewToneDetector(plan, ToneDetectorConfig{}, Busy, Congestion)
				if ev := detectTones(t, d, pcm); len(ev) != 0 {
					t.Errorf("%s %s heard as %s %s", from, name, to, ev[0].Tone)
				}
			}
		}
	}
}

func TestNoTonesInSpeech(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	pcm := speech(rng, 5*time.Minute)
	for _, country := range Countries() {
		plan, _ := PlanFor(country)
		d, _ := NewToneDetector(plan, ToneDetectorConfig{})
		if ev := detectTones(t, d, pcm); len(ev) != 0 {
			t.Errorf("%s: %d tones in speech, first %+v", country, len(ev), ev[0])
		}
	}
}

// The generator keeps its cadence: on and off times measured from its output.
func TestToneGeneratorCadence(t *testing.T) {
	plan, _ := PlanFor("gb")
	ring, _ := plan.Tone(Ringback)
	g := NewToneGenerator(ring)
	pcm := make([]int16, 2*int(ring.Period()*SampleRate/time.Second))
	for i := 0; i < len(pcm); i += 160 { // in frames, as a call plays it
		g.Read(pcm[i:min(i+160, len(pcm))])
	}
	// Runs of 5 ms windows with and without sound (the two tones beat at 50 Hz, so single
	// samples near the beat's nulls round to zero).
	var runs []string
	on, n := true, 0
	for i := 0; i+40 <= len(pcm); i += 40 {
		sound := false
		for _, v := range pcm[i : i+40] {
			sound = sound || v != 0
		}
		if sound != on {
			runs = append(runs, fmt.Sprint(on, n*5))
			on, n = sound, 0
		}
		n++
	}
	want := []string{"true 400", "false 200", "true 400", "false 2000", "true 400", "false 200", "true 400"}
	if fmt.Sprint(runs) != fmt.Sprint(want) {
		t.Errorf("runs (ms) %v, want %v", runs, want)
	}
	if l := levelOf(pcm[:3200]); l < -10.5 || l > -9.5 { // two tones at -13 dBm0 each
		t.Errorf("level %.1f dBm0, want -10", l)
	}
}

func TestPlanFor(t *testing.T) {
	for _, c := range []string{"CN", "us", "De", "uk", "GB"} {
		if _, err := PlanFor(c); err != nil {
			t.Errorf("%s: %v", c, err)
		}
	}
	if _, err := PlanFor("fr"); err == nil {
		t.Error("no error for fr")
	}
	plan, _ := PlanFor("cn")
	if _, err := NewToneDetector(plan, ToneDetectorConfig{}, "howler"); err == nil {
		t.Error("no error for an unknown tone")
	}
}

func BenchmarkToneDetect20ms(b *testing.B) {
	plan, _ := PlanFor("us")
	d, _ := NewToneDetector(plan, ToneDetectorConfig{})
	pcm := speech(rand.New(rand.NewPCG(1, 1)), time.Second)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		d.Process(pcm[i : i+160])
		i = (i + 160) % (len(pcm) - 160)
	}
}

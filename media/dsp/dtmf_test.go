package dsp

import (
	"math/rand/v2"
	"strings"
	"testing"
	"time"
)

const ms = time.Millisecond

// detect runs a fresh detector over pcm in chunks of random size and returns the digits that
// began, in order, with the events.
func detect(t testing.TB, rng *rand.Rand, pcm []int16, cfg DTMFConfig) (string, []DigitEvent) {
	d := NewDTMFDetector(cfg)
	var all []DigitEvent
	for len(pcm) > 0 {
		n := min(len(pcm), 1+rng.IntN(400))
		all = append(all, d.Process(pcm[:n])...)
		pcm = pcm[n:]
	}
	var digits strings.Builder
	open := rune(0)
	for _, e := range all {
		if !e.End {
			if open != 0 {
				t.Errorf("digit %c began while %c had not ended", e.Digit, open)
			}
			digits.WriteRune(e.Digit)
			open = e.Digit
		} else {
			if e.Digit != open {
				t.Errorf("digit %c ended, %c was on", e.Digit, open)
			}
			open = 0
		}
	}
	return digits.String(), all
}

// Every digit at levels from -3 to -28 dBm0 per tone, 40 ms and 100 ms long, over noise
// 18 dB below the tones, is found once, where it is.
func TestDTMFEveryDigit(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	for _, digit := range dtmfDigits {
		for _, level := range []float64{-3, -10, -20, -28} {
			for _, dur := range []time.Duration{40 * ms, 100 * ms} {
				lead := time.Duration(rng.IntN(200)) * ms
				pcm := AppendSilence(nil, lead)
				pcm, _ = AppendDTMF(pcm, digit, level, level, dur)
				pcm = AppendSilence(pcm, 100*ms)
				add(pcm, noise(rng, len(pcm), level-18+3))
				got, events := detect(t, rng, pcm, DTMFConfig{})
				if got != string(digit) {
					t.Errorf("%c at %v dBm0 for %v: found %q", digit, level, dur, got)
					continue
				}
				at := time.Duration(events[0].At) * time.Second / SampleRate
				if d := at - lead; d < -13*ms || d > 13*ms {
					t.Errorf("%c began at %v, found at %v", digit, lead, at)
				}
				if len(events) == 2 {
					length := time.Duration(events[1].Duration) * time.Second / SampleRate
					if d := length - dur; d < -26*ms || d > 26*ms {
						t.Errorf("%c lasted %v, measured %v", digit, dur, length)
					}
				} else {
					t.Errorf("%c: %d events, want a start and an end", digit, len(events))
				}
			}
		}
	}
}

func TestDTMFTwistLevelAndDuration(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	tests := []struct {
		name      string
		low, high float64
		dur       time.Duration
		found     bool
	}{
		{"normal twist 6 dB", -8, -14, 60 * ms, true},
		{"reverse twist 3 dB", -12, -9, 60 * ms, true},
		{"normal twist 11 dB", -6, -17, 60 * ms, false},
		{"reverse twist 7 dB", -15, -8, 60 * ms, false},
		{"weak: -27 dBm0", -27, -27, 60 * ms, true},
		{"too weak: -40 dBm0", -40, -40, 60 * ms, false},
		{"40 ms", -10, -10, 40 * ms, true},
		{"20 ms is too short", -10, -10, 20 * ms, false},
		{"15 ms is too short", -3, -3, 15 * ms, false},
	}
	for _, tt := range tests {
		for _, digit := range "159D" {
			for offset := range 6 { // every alignment of the tone against the blocks
				pcm := AppendSilence(nil, time.Duration(offset)*2125*time.Microsecond)
				pcm, _ = AppendDTMF(pcm, digit, tt.low, tt.high, tt.dur)
				pcm = AppendSilence(pcm, 60*ms)
				got, _ := detect(t, rng, pcm, DTMFConfig{})
				if want := map[bool]string{true: string(digit), false: ""}[tt.found]; got != want {
					t.Errorf("%s, %c, offset %d: found %q, want %q", tt.name, digit, offset, got, want)
				}
			}
		}
	}
}

func TestDTMFSequences(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	tests := []struct {
		name     string
		digits   string
		on, off  time.Duration
		dropout  bool
		expected string
	}{
		{"all digits, 50 ms on / 50 ms off", "0123456789*#ABCD", 50 * ms, 50 * ms, false, "0123456789*#ABCD"},
		{"the same key thrice, 40 ms pauses", "555", 60 * ms, 40 * ms, false, "555"},
		{"a 10 ms drop-out does not split a digit", "7", 150 * ms, 0, true, "7"},
		{"long presses", "12", time.Second, 200 * ms, false, "12"},
	}
	for _, tt := range tests {
		var pcm []int16
		for _, d := range tt.digits {
			if tt.dropout {
				pcm, _ = AppendDTMF(pcm, d, -10, -10, tt.on/2)
				pcm = AppendSilence(pcm, 10*ms)
				pcm, _ = AppendDTMF(pcm, d, -10, -10, tt.on/2)
			} else {
				pcm, _ = AppendDTMF(pcm, d, -10, -10, tt.on)
			}
			pcm = AppendSilence(pcm, tt.off)
		}
		pcm = AppendSilence(pcm, 100*ms)
		add(pcm, noise(rng, len(pcm), -35))
		if got, _ := detect(t, rng, pcm, DTMFConfig{}); got != tt.expected {
			t.Errorf("%s: found %q, want %q", tt.name, got, tt.expected)
		}
	}
}

// Speech must not be taken for digits ("talk-off"): ten minutes of synthetic speech, sung
// tones and noise at every level give no digit.
func TestDTMFNoFalseDigitsInSpeech(t *testing.T) {
	rng := rand.New(rand.NewPCG(4, 4))
	pcm := speech(rng, 10*time.Minute)
	if l := levelOf(pcm); l < -40 || l > -10 {
		t.Fatalf("the speech is at %.1f dBm0; the test needs a talker's level", l)
	}
	got, events := detect(t, rng, pcm, DTMFConfig{})
	if got != "" {
		for _, e := range events {
			if !e.End {
				t.Logf("false %c at %v", e.Digit, time.Duration(e.At)*time.Second/SampleRate)
			}
		}
		t.Errorf("%d false digits in 10 minutes of speech: %q", len(got), got)
	}
	// Digits pressed while the far end talks (10 dB below the digit) are still found.
	talk := speech(rng, 4*time.Second)
	var keys []int16
	for _, d := range "2580" {
		keys = AppendSilence(keys, 600*ms)
		keys, _ = AppendDTMF(keys, d, -8, -8, 120*ms)
	}
	keys = AppendSilence(keys, 200*ms)
	scaleTo(talk, -22)
	add(keys, talk)
	if got, _ := detect(t, rng, keys, DTMFConfig{}); got != "2580" {
		t.Errorf("digits over speech: found %q, want 2580", got)
	}
}

// scaleTo scales x to level dBm0.
func scaleTo(x []int16, dBm0 float64) {
	g := Amplitude(dBm0-levelOf(x)) / zeroDBm0
	for i, v := range x {
		x[i] = saturate(int32(float64(v) * g))
	}
}

func TestDTMFReset(t *testing.T) {
	d := NewDTMFDetector(DTMFConfig{})
	pcm, _ := AppendDTMF(nil, '9', -10, -10, 30*ms)
	d.Process(pcm)
	d.Reset()
	pcm, _ = AppendDTMF(nil, '9', -10, -10, 20*ms)
	if ev := d.Process(append(pcm, make([]int16, 400)...)); len(ev) != 0 {
		t.Errorf("a digit made of two halves across Reset: %v", ev)
	}
}

func TestDTMFProcessDoesNotAllocate(t *testing.T) {
	d := NewDTMFDetector(DTMFConfig{})
	pcm, _ := AppendDTMF(nil, '5', -10, -10, 100*ms)
	pcm = AppendSilence(pcm, 100*ms)
	i := 0
	if a := testing.AllocsPerRun(500, func() {
		d.Process(pcm[i%10*160 : i%10*160+160])
		i++
	}); a != 0 {
		t.Errorf("Process allocates %.1f times a frame", a)
	}
}

func TestAppendDTMFRejectsNonDigits(t *testing.T) {
	if _, err := AppendDTMF(nil, 'x', -10, -10, 50*ms); err == nil {
		t.Error("no error for 'x'")
	}
	if lo, hi, ok := DTMFFreqs('a'); !ok || lo != 697 || hi != 1633 {
		t.Errorf("'a' = %v %v %v", lo, hi, ok)
	}
}

func BenchmarkDTMFDetect20ms(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 5))
	pcm := speech(rng, time.Second)
	d := NewDTMFDetector(DTMFConfig{})
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		d.Process(pcm[i : i+160])
		i = (i + 160) % (len(pcm) - 160)
	}
}

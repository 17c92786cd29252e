package dsp

import (
	"math/rand/v2"
	"testing"
	"time"
)

func runVAD(v *VAD, pcm []int16) []VADEvent {
	var out []VADEvent
	for i := 0; i < len(pcm); i += 160 {
		out = append(out, v.Process(pcm[i:min(i+160, len(pcm))])...)
	}
	return out
}

func at(n int64) time.Duration { return samplesToDuration(n) }

// Bursts of talk over background noise of several levels: each burst is one talk spurt, found
// where it is.
func TestVADFindsTalkSpurts(t *testing.T) {
	for _, noiseLevel := range []float64{-70, -55, -45} {
		rng := rand.New(rand.NewPCG(1, uint64(-noiseLevel)))
		var pcm []int16
		type spurt struct{ from, to time.Duration }
		var want []spurt
		pcm = AppendSilence(pcm, 1500*time.Millisecond)
		for range 8 {
			talk := speechWith(rng, time.Duration(800+rng.IntN(2500))*time.Millisecond, false, 10)
			scaleTo(talk, max(noiseLevel+20, -30)+rng.Float64()*10) // 20 dB or more over the noise
			from := at(int64(len(pcm)))
			pcm = append(pcm, talk...)
			want = append(want, spurt{from, at(int64(len(pcm)))})
			pcm = AppendSilence(pcm, time.Duration(1000+rng.IntN(3000))*time.Millisecond)
		}
		add(pcm, noise(rng, len(pcm), noiseLevel))
		v := NewVAD(VADConfig{})
		events := runVAD(v, pcm)
		if len(events) != 2*len(want) {
			t.Errorf("noise %v dBm0: %d events for %d spurts: %+v", noiseLevel, len(events), len(want), events)
			continue
		}
		for i, w := range want {
			start, stop := at(events[2*i].At), at(events[2*i+1].At)
			if !events[2*i].Talking || events[2*i+1].Talking {
				t.Errorf("noise %v: events out of order: %+v", noiseLevel, events)
				break
			}
			// Syllables swell from nothing, so talk is heard a little after it begins.
			if d := start - w.from; d < -20*time.Millisecond || d > 150*time.Millisecond {
				t.Errorf("noise %v: spurt %d starts at %v, found at %v", noiseLevel, i, w.from, start)
			}
			if d := stop - w.to; d < -150*time.Millisecond || d > 20*time.Millisecond {
				t.Errorf("noise %v: spurt %d stops at %v, found at %v", noiseLevel, i, w.to, stop)
			}
		}
		if v.Talking() || v.Silence() < time.Second {
			t.Errorf("noise %v: at the end talking=%v silence=%v", noiseLevel, v.Talking(), v.Silence())
		}
	}
}

// Noise alone, even loud, and rising, is not talk once the floor has followed it.
func TestVADIgnoresNoise(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	pcm := noise(rng, 30*SampleRate, -40)
	louder := noise(rng, 30*SampleRate, -30)
	pcm = append(pcm, louder...)
	v := NewVAD(VADConfig{})
	events := runVAD(v, pcm)
	// The step up by 10 dB may sound like talk until the floor catches up (two seconds).
	for i := 0; i < len(events); i++ {
		if e := events[i]; e.Talking && (e.At < 30*SampleRate || e.At > 30*SampleRate+SampleRate/10) {
			t.Errorf("talk in noise at %v", at(e.At))
		}
	}
	if v.Talking() {
		t.Error("still talking in steady noise")
	}
	if f := v.NoiseFloor(); f < -34 || f > -28 {
		t.Errorf("noise floor %.1f dBm0 in noise of -30 dBm0", f)
	}
}

// The voicemail case: a message, then the caller stays silent; the VAD says how long.
func TestVADSilenceAfterMessage(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 3))
	pcm := AppendSilence(nil, 500*time.Millisecond)
	msg := speechWith(rng, 4*time.Second, false, 10)
	scaleTo(msg, -20)
	pcm = append(pcm, msg...)
	pcm = AppendSilence(pcm, 6*time.Second)
	add(pcm, noise(rng, len(pcm), -60))
	v := NewVAD(VADConfig{})
	runVAD(v, pcm)
	if s := v.Silence(); s < 5900*time.Millisecond || s > 6100*time.Millisecond {
		t.Errorf("Silence() = %v after 6 s of silence", s)
	}
	if tt := v.TalkTime(); tt < 3700*time.Millisecond || tt > 4100*time.Millisecond {
		t.Errorf("TalkTime() = %v for a 4 s message", tt)
	}
	quiet := NewVAD(VADConfig{})
	runVAD(quiet, noise(rng, 3*SampleRate, -60))
	if quiet.TalkTime() != 0 || quiet.Silence() != 3*time.Second {
		t.Errorf("nobody talked: TalkTime %v, Silence %v", quiet.TalkTime(), quiet.Silence())
	}
}

func TestVADProcessDoesNotAllocate(t *testing.T) {
	v := NewVAD(VADConfig{})
	pcm := speech(rand.New(rand.NewPCG(4, 4)), time.Second)
	i := 0
	if a := testing.AllocsPerRun(200, func() {
		v.Process(pcm[i%40*160 : i%40*160+160])
		i++
	}); a != 0 {
		t.Errorf("Process allocates %.1f times a frame", a)
	}
}

func BenchmarkVAD20ms(b *testing.B) {
	v := NewVAD(VADConfig{})
	pcm := speech(rand.New(rand.NewPCG(4, 4)), time.Second)
	i := 0
	b.ReportAllocs()
	for b.Loop() {
		v.Process(pcm[i : i+160])
		i = (i + 160) % (len(pcm) - 160)
	}
}

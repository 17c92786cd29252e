package prompt

import (
	"errors"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"callbox"
	"callbox/media/wav"
)

var quiet = slog.New(slog.DiscardHandler)

// writeTone writes a WAV file of a tone at freq Hz lasting d.
func writeTone(t testing.TB, path string, h wav.Header, freq float64, d time.Duration) {
	t.Helper()
	os.MkdirAll(filepath.Dir(path), 0o755)
	w, err := wav.Create(path, h)
	if err != nil {
		t.Fatal(err)
	}
	n := int(d * time.Duration(h.SampleRate) / time.Second)
	s := make([]int16, 0, n*h.Channels)
	for i := range n {
		v := int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/float64(h.SampleRate)))
		for range h.Channels {
			s = append(s, v)
		}
	}
	if err := w.WriteSamples(s); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
}

// readAll reads a source to its end, checking every frame is full but the last.
func readAll(t *testing.T, s Source) []int16 {
	t.Helper()
	var out []int16
	frame := make([]int16, FrameSamples)
	short := false
	for {
		n, err := s.ReadFrame(frame)
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if short {
			t.Fatal("a short frame before the end")
		}
		short = n < FrameSamples
		out = append(out, frame[:n]...)
	}
}

// power is the mean-square power of x at freq (Goertzel, 8 kHz).
func power(x []int16, freq float64) float64 {
	w := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + w*s1 - s2
		s2, s1 = s1, s
	}
	return 2 * (s1*s1 + s2*s2 - w*s1*s2) / float64(len(x)*len(x))
}

func TestFromWAVAnyFormat(t *testing.T) {
	dir := t.TempDir()
	for _, h := range []wav.Header{
		{Format: wav.ULaw, Channels: 1, SampleRate: 8000},
		{Format: wav.ALaw, Channels: 2, SampleRate: 8000},
		{Format: wav.PCM, Channels: 1, SampleRate: 16000},
		{Format: wav.PCM, Channels: 2, SampleRate: 16000},
	} {
		path := filepath.Join(dir, "p.wav")
		writeTone(t, path, h, 1000, 1500*time.Millisecond)
		src, err := FromWAV(path)
		if err != nil {
			t.Fatal(err)
		}
		got := readAll(t, src)
		src.Close()
		if len(got) < 11990 || len(got) > 12010 {
			t.Errorf("%+v: %d samples at 8 kHz for 1.5 s", h, len(got))
		}
		// The tone is there at its level (8000 peak: mean square 3.2e7), nothing at 3 kHz.
		if p := power(got[800:len(got)-800], 1000); p < 2.9e7 || p > 3.5e7 {
			t.Errorf("%+v: tone power %.3g", h, p)
		}
		if p := power(got[800:len(got)-800], 3000); p > 1e4 {
			t.Errorf("%+v: power at 3 kHz %.3g", h, p)
		}
	}
	// A rate the reader does not take is a clear error.
	path := filepath.Join(dir, "cd.wav")
	os.WriteFile(path, []byte("RIFF\x24\x00\x00\x00WAVEfmt \x10\x00\x00\x00\x01\x00\x01\x00\x44\xac\x00\x00\x88\x58\x01\x00\x02\x00\x10\x00data\x00\x00\x00\x00"), 0o644)
	if _, err := FromWAV(path); !errors.Is(err, wav.ErrUnsupported) {
		t.Errorf("44.1 kHz: err %v", err)
	}
}

func TestLibraryFallsBackToTheDefaultLanguage(t *testing.T) {
	dir := t.TempDir()
	h := wav.Header{Format: wav.ULaw, Channels: 1, SampleRate: 8000}
	writeTone(t, filepath.Join(dir, "en", "welcome.wav"), h, 500, 200*time.Millisecond)
	writeTone(t, filepath.Join(dir, "en", "menu.wav"), h, 600, 200*time.Millisecond)
	writeTone(t, filepath.Join(dir, "zh", "welcome.wav"), h, 700, 300*time.Millisecond)
	lib := NewLibrary(dir, "en", quiet)
	tests := []struct {
		lang, name string
		freq       float64 // which file played
		code       string
	}{
		{"en", "welcome", 500, ""},
		{"zh", "welcome", 700, ""},
		{"zh-CN", "welcome", 700, ""},
		{"zh", "menu", 600, ""},
		{"fr", "menu", 600, ""},
		{"zh", "goodbye", 0, callbox.ENOTFOUND},
		{"en", "../en/welcome", 0, callbox.EINVALID},
		{"en", "", 0, callbox.EINVALID},
		{"../..", "welcome", 500, ""}, // a bad language is skipped, not followed
	}
	for _, tt := range tests {
		src, err := lib.Open(tt.lang, tt.name)
		if callbox.ErrorCode(err) != tt.code {
			t.Errorf("%s/%s: err %v, want code %q", tt.lang, tt.name, err, tt.code)
			continue
		}
		if err != nil {
			continue
		}
		got := readAll(t, src)
		if p := power(got, tt.freq); p < 1e7 {
			t.Errorf("%s/%s: the %v Hz file did not play (power %.3g)", tt.lang, tt.name, tt.freq, p)
		}
	}
	if m := lib.Missing("zh", "welcome", "menu", "goodbye"); len(m) != 1 || m[0] != "goodbye" {
		t.Errorf("Missing = %v", m)
	}
	// A prompt replaced on disk is played anew.
	c1, _ := lib.Clip("en", "welcome")
	if c2, _ := lib.Clip("en", "welcome"); c1 != c2 {
		t.Error("an unchanged prompt was decoded again")
	}
	writeTone(t, filepath.Join(dir, "en", "welcome.wav"), h, 900, time.Second)
	os.Chtimes(filepath.Join(dir, "en", "welcome.wav"), time.Now(), time.Now().Add(time.Minute))
	if c3, _ := lib.Clip("en", "welcome"); c3.Duration() != time.Second {
		t.Errorf("the replaced prompt lasts %v", c3.Duration())
	}
}

func TestMusicOnHoldLoops(t *testing.T) {
	dir := t.TempDir()
	h := wav.Header{Format: wav.PCM, Channels: 1, SampleRate: 8000}
	freqs := map[string]float64{"a.wav": 400, "b.wav": 800, "c.wav": 1200}
	for name, f := range freqs {
		writeTone(t, filepath.Join(dir, name), h, f, 100*time.Millisecond) // five frames each
	}
	os.WriteFile(filepath.Join(dir, "broken.wav"), []byte("not audio"), 0o644)
	os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("x"), 0o644)

	// which returns the files played, five frames at a time, over n rounds.
	which := func(src Source, files int) []float64 {
		frame := make([]int16, FrameSamples)
		var out []float64
		for range files {
			var block []int16
			for range 5 {
				n, err := src.ReadFrame(frame)
				if err != nil || n != FrameSamples {
					t.Fatalf("music stopped: %d, %v", n, err)
				}
				block = append(block, frame...)
			}
			best := 0.0
			for _, f := range freqs {
				if power(block, f) > power(block, best) || best == 0 {
					best = f
				}
			}
			out = append(out, best)
		}
		return out
	}
	m := NewMusic(dir, false, nil, quiet)
	src, err := m.Source()
	if err != nil {
		t.Fatal(err)
	}
	got := which(src, 9)
	want := []float64{400, 800, 1200, 400, 800, 1200, 400, 800, 1200}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("in order: played %v, want %v", got, want)
		}
	}
	src.Close()

	rng := rand.New(rand.NewPCG(1, 1))
	shuffled := NewMusic(dir, true, rng.Perm, quiet)
	src, _ = shuffled.Source()
	got = which(src, 12)
	for round := range 4 {
		seen := map[float64]bool{}
		for _, f := range got[3*round : 3*round+3] {
			seen[f] = true
		}
		if len(seen) != 3 {
			t.Errorf("shuffled round %d played %v", round, got[3*round:3*round+3])
		}
	}
	if fmtOrder := got[:3]; fmtOrder[0] == 400 && fmtOrder[1] == 800 && got[3] == 400 && got[4] == 800 && got[6] == 400 {
		t.Errorf("shuffled music plays in order: %v", got)
	}

	if _, err := NewMusic(t.TempDir(), false, nil, quiet).Source(); callbox.ErrorCode(err) != callbox.ENOTFOUND {
		t.Errorf("empty folder: %v", err)
	}
	bad := t.TempDir()
	os.WriteFile(filepath.Join(bad, "x.wav"), []byte("junk"), 0o644)
	src, _ = NewMusic(bad, false, nil, quiet).Source()
	if _, err := src.ReadFrame(make([]int16, FrameSamples)); err == nil {
		t.Error("a folder of broken files plays")
	}
}

func TestConcatToneAndSilence(t *testing.T) {
	lib := Concat(Silence(30*time.Millisecond), Tone(toneA(), 50*time.Millisecond))
	got := readAll(t, lib)
	// 30 ms of silence (one full frame and a short one), then 50 ms of tone.
	if len(got) != 240+400 {
		t.Errorf("%d samples", len(got))
	}
	for _, v := range got[:240] {
		if v != 0 {
			t.Fatal("the silence is not silent")
		}
	}
	if p := power(got[240:], 440); p < 1e5 {
		t.Errorf("tone power %.3g", p)
	}
}

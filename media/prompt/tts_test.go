package prompt

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"callbox"
	"callbox/media/dsp"
)

func toneA() dsp.Tone { return dsp.Tone{Freqs: []float64{440}, Level: -10} }

// countingESpeak puts a wrapper around the real espeak-ng that counts its runs in a file.
func countingESpeak(t *testing.T) (binary string, runs func() int) {
	t.Helper()
	real, err := exec.LookPath("espeak-ng")
	if err != nil {
		t.Skip("espeak-ng is not installed (apt-get install espeak-ng)")
	}
	dir := t.TempDir()
	count := filepath.Join(dir, "runs")
	script := fmt.Sprintf("#!/bin/sh\necho run >> %q\nexec %q \"$@\"\n", count, real)
	binary = filepath.Join(dir, "espeak-ng")
	if err := os.WriteFile(binary, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return binary, func() int {
		b, _ := os.ReadFile(count)
		return strings.Count(string(b), "run")
	}
}

// heard runs the VAD over a clip and returns how long it heard talk.
func heard(c *Clip) time.Duration {
	v := dsp.NewVAD(dsp.VADConfig{})
	v.Process(c.Samples())
	return v.TalkTime()
}

func TestTTSSpeaksEnglishAndMandarinOnce(t *testing.T) {
	binary, runs := countingESpeak(t)
	tts, err := NewTTS(TTSConfig{Binary: binary, CacheDir: t.TempDir(), Log: quiet})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if err := tts.Check(ctx); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ voice, text string }{
		{"en", "Thank you for calling. Please hold, an agent will be with you shortly."},
		{"zh", "感谢您的来电，请稍候，客服人员将很快为您服务。"},
	} {
		before := runs()
		clip, err := tts.Speak(ctx, tc.voice, tc.text)
		if err != nil {
			t.Fatal(err)
		}
		if talk := heard(clip); talk < time.Second {
			t.Errorf("%s: the VAD heard %v of talk in %v", tc.voice, talk, clip.Duration())
		}
		path, _ := tts.File(ctx, tc.voice, tc.text)
		st1, _ := os.Stat(path)
		again, err := tts.Speak(ctx, tc.voice, tc.text)
		if err != nil {
			t.Fatal(err)
		}
		st2, _ := os.Stat(path)
		if runs()-before != 1 || !st1.ModTime().Equal(st2.ModTime()) {
			t.Errorf("%s: espeak-ng ran %d times for the same prompt", tc.voice, runs()-before)
		}
		if again.Duration() != clip.Duration() {
			t.Errorf("%s: the cached prompt lasts %v, the first %v", tc.voice, again.Duration(), clip.Duration())
		}
	}
}

func TestTTSConcurrentRequestsSynthesiseOnce(t *testing.T) {
	binary, runs := countingESpeak(t)
	tts, _ := NewTTS(TTSConfig{Binary: binary, CacheDir: t.TempDir(), Log: quiet})
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			_, err := tts.Speak(context.Background(), "en-us", "Your call is important to us.")
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if n := runs(); n != 1 {
		t.Errorf("espeak-ng ran %d times for 8 requests of one prompt", n)
	}
}

func TestTTSErrors(t *testing.T) {
	ctx := context.Background()
	missing, _ := NewTTS(TTSConfig{Binary: "/nonexistent/espeak-ng", CacheDir: t.TempDir(), Log: quiet})
	err := missing.Check(ctx)
	if !errors.Is(err, ErrNoTTS) || !strings.Contains(err.Error(), "apt-get install espeak-ng") {
		t.Errorf("Check without espeak-ng: %v", err)
	}
	if _, err := missing.Speak(ctx, "en", "hello"); !errors.Is(err, ErrNoTTS) {
		t.Errorf("Speak without espeak-ng: %v", err)
	}
	if _, err := exec.LookPath("espeak-ng"); err != nil {
		t.Skip("espeak-ng is not installed")
	}
	if err := CheckTTS(ctx); err != nil {
		t.Errorf("CheckTTS: %v", err)
	}
	tts, _ := NewTTS(TTSConfig{CacheDir: t.TempDir(), Log: quiet})
	if _, err := tts.Speak(ctx, "xx-nosuchvoice", "hello"); err == nil || !strings.Contains(err.Error(), "voice") {
		t.Errorf("unknown voice: %v", err)
	}
	for _, v := range []string{"-w/etc/passwd", "en us", ""} {
		if _, err := tts.Speak(ctx, v, "hello"); callbox.ErrorCode(err) != callbox.EINVALID {
			t.Errorf("voice %q: %v", v, err)
		}
	}
	if _, err := tts.Speak(ctx, "en", "  "); callbox.ErrorCode(err) != callbox.EINVALID {
		t.Errorf("empty text: %v", err)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := tts.Speak(cancelled, "en", "never said"); !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled: %v", err)
	}
	if _, err := NewTTS(TTSConfig{}); callbox.ErrorCode(err) != callbox.EINVALID {
		t.Errorf("no cache dir: %v", err)
	}
}

func TestVoiceFor(t *testing.T) {
	for lang, want := range map[string]string{"zh": "cmn", "zh-CN": "cmn", "en": "en", "en-US": "en-us", "de": "de", "sv": "sv"} {
		if got := VoiceFor(lang); got != want {
			t.Errorf("VoiceFor(%q) = %q, want %q", lang, got, want)
		}
	}
}

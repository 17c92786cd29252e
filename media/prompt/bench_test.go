package prompt

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"testing"
	"time"

	"callbox/media/wav"
)

func BenchmarkClipReadFrame(b *testing.B) {
	clip := NewClip("bench", make([]int16, 8000*60))
	src := clip.Source()
	frame := make([]int16, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.ReadFrame(frame); errors.Is(err, io.EOF) {
			src = clip.Source()
		}
	}
}

// A 16 kHz stereo file streamed from disk, mixed down and resampled.
func BenchmarkWAV16kStereoReadFrame(b *testing.B) {
	path := filepath.Join(b.TempDir(), "moh.wav")
	writeTone(b, path, wav.Header{Format: wav.PCM, Channels: 2, SampleRate: 16000}, 440, 60*time.Second)
	src, err := FromWAV(path)
	if err != nil {
		b.Fatal(err)
	}
	frame := make([]int16, FrameSamples)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := src.ReadFrame(frame); errors.Is(err, io.EOF) {
			src.Close()
			src, _ = FromWAV(path)
		}
	}
	src.Close()
}

// A prompt already spoken: the cost of finding it in the cache.
func BenchmarkTTSCacheHit(b *testing.B) {
	tts, _ := NewTTS(TTSConfig{CacheDir: b.TempDir(), Log: quiet})
	ctx := context.Background()
	if _, err := tts.File(ctx, "en", "Please hold."); err != nil {
		b.Skip(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tts.File(ctx, "en", "Please hold."); err != nil {
			b.Fatal(err)
		}
	}
}

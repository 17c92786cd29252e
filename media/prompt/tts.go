package prompt

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"callbox"
	"callbox/media/wav"
)

// DefaultTTSBinary is the text-to-speech program the box runs.
const DefaultTTSBinary = "espeak-ng"

// maxTextLen bounds what one prompt may say.
const maxTextLen = 4000

// TTSConfig sets up text to speech; the zero value gives the defaults in brackets.
type TTSConfig struct {
	Binary   string // the espeak-ng program [espeak-ng, looked up in PATH]
	CacheDir string // where spoken prompts are kept (required)
	Rate     int    // words a minute [150: a little slower than espeak-ng's 175, for the phone]
	Log      *slog.Logger
}

// TTS speaks text with espeak-ng. Each prompt is synthesised once: the result, resampled to
// 8 kHz, is kept in the cache folder under the SHA-256 of its voice, rate and text, and
// requests for a prompt being synthesised wait for that one run.
type TTS struct {
	binary string
	cache  string
	rate   int
	log    *slog.Logger

	mu       sync.Mutex
	inflight map[string]*flight
}

type flight struct {
	done chan struct{}
	err  error
}

// NewTTS returns a TTS; it creates the cache folder.
func NewTTS(cfg TTSConfig) (*TTS, error) {
	if cfg.CacheDir == "" {
		return nil, callbox.Errorf(callbox.EINVALID, "text to speech needs a cache folder")
	}
	if cfg.Binary == "" {
		cfg.Binary = DefaultTTSBinary
	}
	if cfg.Rate == 0 {
		cfg.Rate = 150
	}
	if cfg.Rate < 80 || cfg.Rate > 450 {
		return nil, callbox.Errorf(callbox.EINVALID, "speech rate %d words a minute: want 80 to 450", cfg.Rate)
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	if err := os.MkdirAll(cfg.CacheDir, 0o750); err != nil {
		return nil, fmt.Errorf("prompt: tts cache: %w", err)
	}
	return &TTS{binary: cfg.Binary, cache: cfg.CacheDir, rate: cfg.Rate, log: cfg.Log, inflight: map[string]*flight{}}, nil
}

// ErrNoTTS is returned (wrapped) when espeak-ng is not installed.
var ErrNoTTS = errors.New("text prompts need espeak-ng: apt-get install espeak-ng")

// CheckTTS reports whether espeak-ng can run, with an error (wrapping ErrNoTTS) that tells the
// admin what to install when it cannot: config check and start-up refuse text prompts without
// it.
func CheckTTS(ctx context.Context) error { return checkBinary(ctx, DefaultTTSBinary) }

// Check is CheckTTS for this TTS's program.
func (t *TTS) Check(ctx context.Context) error { return checkBinary(ctx, t.binary) }

func checkBinary(ctx context.Context, binary string) error {
	path, err := exec.LookPath(binary)
	if err != nil {
		return fmt.Errorf("%w (%s not found)", ErrNoTTS, binary)
	}
	out, err := exec.CommandContext(ctx, path, "--version").CombinedOutput()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return fmt.Errorf("%w (%s --version: %v: %s)", ErrNoTTS, path, err, firstLine(out))
	}
	return nil
}

// Voices maps the box's language codes to espeak-ng 1.51 voices; other codes go to espeak-ng
// as they are.
var voices = map[string]string{
	"en": "en", "en-us": "en-us", "en-gb": "en-gb",
	"zh": "cmn", "zh-cn": "cmn", "cmn": "cmn", "zh-hk": "yue", "yue": "yue",
	"de": "de", "fr": "fr", "es": "es", "it": "it", "pt": "pt", "ja": "ja",
}

// VoiceFor returns the espeak-ng voice for a language code (zh → cmn, Mandarin).
func VoiceFor(lang string) string {
	l := strings.ToLower(lang)
	if v, ok := voices[l]; ok {
		return v
	}
	return l
}

// Speak returns the text spoken by voice (an espeak-ng voice or a language code VoiceFor
// knows), from the cache when it was spoken before.
func (t *TTS) Speak(ctx context.Context, voice, text string) (*Clip, error) {
	path, err := t.File(ctx, voice, text)
	if err != nil {
		return nil, err
	}
	return LoadWAV(path)
}

// File returns the path of the cached 8 kHz WAV of the text spoken by voice, synthesising it
// first if needed.
func (t *TTS) File(ctx context.Context, voice, text string) (string, error) {
	voice = VoiceFor(voice)
	if err := checkVoice(voice); err != nil {
		return "", err
	}
	if strings.TrimSpace(text) == "" || len(text) > maxTextLen {
		return "", callbox.Errorf(callbox.EINVALID, "text to speak must have 1 to %d bytes, got %d", maxTextLen, len(text))
	}
	sum := sha256.Sum256([]byte(voice + "\x00" + strconv.Itoa(t.rate) + "\x00" + text))
	key := hex.EncodeToString(sum[:])
	path := filepath.Join(t.cache, key+".wav")
	for {
		if _, err := os.Stat(path); err == nil {
			return path, nil
		}
		t.mu.Lock()
		f, running := t.inflight[key]
		if !running {
			f = &flight{done: make(chan struct{})}
			t.inflight[key] = f
		}
		t.mu.Unlock()
		if !running {
			f.err = t.synthesise(ctx, voice, text, path)
			t.mu.Lock()
			delete(t.inflight, key)
			t.mu.Unlock()
			close(f.done)
			if f.err != nil {
				return "", f.err
			}
			return path, nil
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return "", ctx.Err()
		}
		// The run we waited for ended; if it failed because its caller gave up, try again
		// with our own context.
		if f.err != nil && !errors.Is(f.err, context.Canceled) && !errors.Is(f.err, context.DeadlineExceeded) {
			return "", f.err
		}
	}
}

// synthesise runs espeak-ng and stores its speech at 8 kHz in path.
func (t *TTS) synthesise(ctx context.Context, voice, text, path string) error {
	start := time.Now()
	raw, err := os.CreateTemp(t.cache, ".espeak-*.wav")
	if err != nil {
		return fmt.Errorf("prompt: tts: %w", err)
	}
	raw.Close()
	defer os.Remove(raw.Name())
	cmd := exec.CommandContext(ctx, t.binary, "-v", voice, "-s", strconv.Itoa(t.rate), "-b", "1", "-w", raw.Name(), "--stdin")
	cmd.Stdin = strings.NewReader(text)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = time.Second
	if err := cmd.Run(); err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("prompt: tts: %w", ctx.Err())
		}
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("prompt: %w", ErrNoTTS)
		}
		return fmt.Errorf("prompt: tts: %s -v %s: %v: %s", t.binary, voice, err, firstLine(stderr.Bytes()))
	}
	f, err := wav.OpenAnyRate(raw.Name())
	if err != nil {
		return fmt.Errorf("prompt: tts: %s wrote no usable audio: %w", t.binary, err)
	}
	clip, err := readClip(path, newPCMSource(f, f.Reader))
	f.Close()
	if err != nil {
		return fmt.Errorf("prompt: tts: %w", err)
	}
	if err := writeClip(t.cache, path, clip); err != nil {
		return err
	}
	t.log.Debug("spoke a prompt", "voice", voice, "chars", len(text), "duration", clip.Duration(), "took", time.Since(start))
	return nil
}

// writeClip stores a clip as an 8 kHz 16-bit WAV at path, atomically.
func writeClip(dir, path string, clip *Clip) error {
	tmp, err := os.CreateTemp(dir, ".tts-*.wav")
	if err != nil {
		return fmt.Errorf("prompt: tts cache: %w", err)
	}
	defer os.Remove(tmp.Name())
	w, err := wav.NewWriter(tmp, tmp.Name(), wav.Header{Format: wav.PCM, Channels: 1, SampleRate: 8000})
	if err != nil {
		tmp.Close()
		return fmt.Errorf("prompt: tts cache: %w", err)
	}
	if err := w.WriteSamples(clip.samples); err != nil {
		w.Close()
		return fmt.Errorf("prompt: tts cache: %w", err)
	}
	if err := w.Close(); err != nil {
		return fmt.Errorf("prompt: tts cache: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("prompt: tts cache: %w", err)
	}
	return nil
}

// checkVoice refuses voice names that are not espeak-ng voice names (or would pass as options).
func checkVoice(v string) error {
	ok := v != "" && len(v) <= 64 && v[0] != '-'
	for _, c := range v {
		ok = ok && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '+')
	}
	if !ok {
		return callbox.Errorf(callbox.EINVALID, "voice %q is not an espeak-ng voice name", v)
	}
	return nil
}

func firstLine(b []byte) string {
	s := strings.TrimSpace(string(b))
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200]
	}
	return s
}

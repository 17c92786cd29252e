// Package prompt is the audio the IVR plays: prompt files by language with a fallback, music
// on hold from a folder, text to speech through espeak-ng, tones — all as Sources of 20 ms
// frames of 8 kHz linear PCM.
package prompt

import (
	"errors"
	"fmt"
	"io"
	"time"

	"callbox/media/dsp"
	"callbox/media/wav"
)

// FrameSamples is the length of a frame: 20 ms at 8 kHz.
const FrameSamples = 160

// Source yields audio a frame at a time.
type Source interface {
	// ReadFrame fills frame (FrameSamples long) with the next 20 ms and returns how many
	// samples are audio; a short last frame is padded with silence. After the last frame it
	// returns 0, io.EOF.
	ReadFrame(frame []int16) (int, error)
	// Close releases what the source holds (an open file).
	Close() error
}

// Clip is a prompt decoded into memory: 8 kHz mono linear PCM. It is immutable and can be
// played by many calls at once.
type Clip struct {
	name    string
	samples []int16
}

// NewClip makes a clip of 8 kHz samples (not copied: the caller must not change them).
func NewClip(name string, samples []int16) *Clip { return &Clip{name: name, samples: samples} }

// Name is where the clip came from.
func (c *Clip) Name() string { return c.name }

// Duration is the clip's length.
func (c *Clip) Duration() time.Duration {
	return time.Duration(len(c.samples)) * time.Second / dsp.SampleRate
}

// Samples are the clip's audio; do not change them.
func (c *Clip) Samples() []int16 { return c.samples }

// Source returns a new source playing the clip from the start.
func (c *Clip) Source() Source { return &clipSource{clip: c} }

type clipSource struct {
	clip *Clip
	pos  int
}

func (s *clipSource) ReadFrame(frame []int16) (int, error) {
	if s.pos >= len(s.clip.samples) {
		return 0, io.EOF
	}
	n := copy(frame, s.clip.samples[s.pos:])
	clear(frame[n:])
	s.pos += n
	return n, nil
}

func (s *clipSource) Close() error { return nil }

// LoadWAV decodes a whole WAV file (any format wav.Open reads) to an 8 kHz mono clip.
func LoadWAV(path string) (*Clip, error) {
	src, err := FromWAV(path)
	if err != nil {
		return nil, err
	}
	defer src.Close()
	return readClip(path, src)
}

// readClip reads a source to its end into a clip.
func readClip(name string, src Source) (*Clip, error) {
	var out []int16
	frame := make([]int16, FrameSamples)
	for {
		n, err := src.ReadFrame(frame)
		out = append(out, frame[:n]...)
		if errors.Is(err, io.EOF) {
			return &Clip{name: name, samples: out}, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// FromWAV streams a WAV file: 8 or 16 kHz (resampled), PCM, µ-law or A-law, mono or stereo
// (mixed down).
func FromWAV(path string) (Source, error) {
	f, err := wav.Open(path)
	if err != nil {
		return nil, fmt.Errorf("prompt: %w", err)
	}
	return newPCMSource(f, f.Reader), nil
}

// pcmSource turns a wav.Reader of any rate and channel count into 8 kHz mono frames.
type pcmSource struct {
	closer   io.Closer
	r        *wav.Reader
	channels int
	rs       *dsp.Resampler // nil at 8 kHz
	in       []int16        // read buffer, interleaved
	mono     []int16
	pending  []int16 // 8 kHz samples not yet handed out
	eof      bool
}

func newPCMSource(c io.Closer, r *wav.Reader) *pcmSource {
	h := r.Header()
	s := &pcmSource{closer: c, r: r, channels: h.Channels}
	if h.SampleRate != dsp.SampleRate {
		s.rs, _ = dsp.NewResampler(h.SampleRate, dsp.SampleRate) // the reader vetted the rate
	}
	// Enough input for a frame's worth of output, whatever the rate.
	perFrame := (FrameSamples*h.SampleRate/dsp.SampleRate + 1) * h.Channels
	s.in = make([]int16, perFrame)
	s.mono = make([]int16, 0, perFrame)
	s.pending = make([]int16, 0, 4*FrameSamples)
	return s
}

func (s *pcmSource) ReadFrame(frame []int16) (int, error) {
	for len(s.pending) < FrameSamples && !s.eof {
		n, err := s.r.Read(s.in)
		if err != nil && !errors.Is(err, io.EOF) {
			return 0, fmt.Errorf("prompt: %w", err)
		}
		s.mono = s.mono[:0]
		for i := 0; i+s.channels <= n; i += s.channels {
			v := int32(s.in[i])
			if s.channels == 2 {
				v = (v + int32(s.in[i+1])) / 2
			}
			s.mono = append(s.mono, int16(v))
		}
		if s.rs != nil {
			s.pending = s.rs.Process(s.pending, s.mono)
		} else {
			s.pending = append(s.pending, s.mono...)
		}
		if errors.Is(err, io.EOF) {
			s.eof = true
			if s.rs != nil {
				s.pending = s.rs.Flush(s.pending)
			}
		}
	}
	if len(s.pending) == 0 {
		return 0, io.EOF
	}
	n := copy(frame, s.pending)
	clear(frame[n:])
	rest := copy(s.pending, s.pending[n:])
	s.pending = s.pending[:rest]
	return n, nil
}

func (s *pcmSource) Close() error {
	if s.closer == nil {
		return nil
	}
	return s.closer.Close()
}

// Tone plays a call-progress tone (ringback while a caller waits, say) for d, or for ever
// when d is 0.
func Tone(t dsp.Tone, d time.Duration) Source {
	return &toneSource{g: dsp.NewToneGenerator(t), left: int64(d * dsp.SampleRate / time.Second), endless: d == 0}
}

type toneSource struct {
	g       *dsp.ToneGenerator
	left    int64
	endless bool
}

func (s *toneSource) ReadFrame(frame []int16) (int, error) {
	n := len(frame)
	if !s.endless {
		if s.left <= 0 {
			return 0, io.EOF
		}
		n = int(min(int64(n), s.left))
		s.left -= int64(n)
	}
	s.g.Read(frame[:n])
	clear(frame[n:])
	return n, nil
}

func (s *toneSource) Close() error { return nil }

// Silence plays d of silence.
func Silence(d time.Duration) Source {
	return &toneSource{g: dsp.NewToneGenerator(dsp.Tone{}), left: int64(d * dsp.SampleRate / time.Second)}
}

// Concat plays sources one after the other ("welcome", then "menu"); Close closes them all.
func Concat(sources ...Source) Source { return &concat{srcs: sources} }

type concat struct {
	srcs []Source
	i    int
}

func (c *concat) ReadFrame(frame []int16) (int, error) {
	// A source's short last frame is topped up from the next one: the sources play back to
	// back, and only the last frame of all is short.
	n := 0
	for c.i < len(c.srcs) && n < len(frame) {
		m, err := c.srcs[c.i].ReadFrame(frame[n:])
		if errors.Is(err, io.EOF) || (err == nil && m == 0) {
			c.i++
			continue
		}
		if err != nil {
			return n, err
		}
		n += m
		if n < len(frame) {
			c.i++ // a short frame is a source's last
		}
	}
	if n == 0 {
		return 0, io.EOF
	}
	clear(frame[n:])
	return n, nil
}

func (c *concat) Close() error {
	var errs []error
	for _, s := range c.srcs {
		errs = append(errs, s.Close())
	}
	return errors.Join(errs...)
}

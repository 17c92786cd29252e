package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"callbox/media/g711"
)

// Sink is where a Writer puts a file: appended to in order, and written at an offset to bring
// the header's sizes up to date. *os.File is one.
type Sink interface {
	io.Writer
	io.WriterAt
	io.Closer
}

// RefreshInterval is how much audio a Writer writes between two updates of the header's sizes:
// after a crash, at most this much audio is missing from what a player shows (Repair brings
// back the rest).
const RefreshInterval = 5 * time.Second

const writeBuffer = 4096

// Writer streams audio to a WAV file. It writes the header first, with the sizes of an empty
// file, keeps them up to date every RefreshInterval of audio, and sets them for good at Close.
// The first error (a full disk, say) sticks: every later call returns it, wrapped.
//
// A Writer is not safe for concurrent use.
type Writer struct {
	h       Header
	f       Sink
	name    string
	buf     []byte
	written int64 // audio bytes handed to the sink
	marked  int64 // audio bytes the header declares
	refresh int64 // audio bytes between header refreshes
	err     error
	closed  bool
	// headerDone is set once the header has reached the sink; until then the buffer starts
	// with it.
	headerDone bool
}

// Create creates (or truncates) the file at path and starts a WAV file in it. The file is
// readable by its owner and group only: recordings are personal data.
func Create(path string, h Header) (*Writer, error) {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return nil, fmt.Errorf("wav: %w", err)
	}
	w, err := NewWriter(f, path, h)
	if err != nil {
		f.Close()
		os.Remove(path)
		return nil, err
	}
	return w, nil
}

// NewWriter starts a WAV file in f; name is used in errors. The format is PCM 16-bit, µ-law or
// A-law, mono or stereo, at 8 or 16 kHz. The header goes out with the first flush.
func NewWriter(f Sink, name string, h Header) (*Writer, error) {
	if h.Format == PCM {
		h.BitsPerSample = 16
	} else {
		h.BitsPerSample = 8
	}
	if h.Format != PCM && h.Format != ULaw && h.Format != ALaw {
		return nil, fmt.Errorf("wav: write %s: %w: %s", name, ErrUnsupported, h.Format)
	}
	if err := h.check(telephoneRates); err != nil {
		return nil, fmt.Errorf("wav: write %s: %w", name, err)
	}
	w := &Writer{
		h:       h,
		f:       f,
		name:    name,
		buf:     make([]byte, 0, writeBuffer),
		refresh: int64(h.ByteRate()) * int64(RefreshInterval/time.Second),
	}
	w.buf = appendHeader(w.buf, h, 0, false)
	return w, nil
}

// Header is the format being written.
func (w *Writer) Header() Header { return w.h }

// WriteSamples encodes interleaved linear samples (a whole number of sample frames) and
// appends them to the file.
func (w *Writer) WriteSamples(s []int16) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("wav: write %s: %w", w.name, os.ErrClosed)
	}
	if len(s)%w.h.Channels != 0 {
		return fmt.Errorf("wav: write %s: %d samples is not a whole number of %d-channel frames", w.name, len(s), w.h.Channels)
	}
	for len(s) > 0 {
		room := (cap(w.buf) - len(w.buf)) / (w.h.BitsPerSample / 8)
		if room == 0 {
			if err := w.flush(); err != nil {
				return err
			}
			continue
		}
		n := min(room, len(s))
		start := len(w.buf)
		switch w.h.Format {
		case ULaw:
			w.buf = w.buf[:start+n]
			g711.EncodeUlaw(w.buf[start:], s[:n])
		case ALaw:
			w.buf = w.buf[:start+n]
			g711.EncodeAlaw(w.buf[start:], s[:n])
		default:
			for _, v := range s[:n] {
				w.buf = binary.LittleEndian.AppendUint16(w.buf, uint16(v))
			}
		}
		s = s[n:]
	}
	if w.written+int64(len(w.buf))-w.marked >= w.refresh {
		return w.Flush()
	}
	return nil
}

// WriteEncoded appends audio already in the file's format (µ-law or A-law bytes, or
// little-endian 16-bit samples), a whole number of sample frames: what a caller holding coded
// audio writes without decoding it first.
func (w *Writer) WriteEncoded(b []byte) error {
	if w.err != nil {
		return w.err
	}
	if w.closed {
		return fmt.Errorf("wav: write %s: %w", w.name, os.ErrClosed)
	}
	if len(b)%w.h.BlockAlign() != 0 {
		return fmt.Errorf("wav: write %s: %d bytes is not a whole number of %d-byte frames", w.name, len(b), w.h.BlockAlign())
	}
	for len(b) > 0 {
		if len(w.buf) == cap(w.buf) {
			if err := w.flush(); err != nil {
				return err
			}
			continue
		}
		n := min(cap(w.buf)-len(w.buf), len(b))
		w.buf = append(w.buf, b[:n]...)
		b = b[n:]
	}
	if w.written+int64(len(w.buf))-w.marked >= w.refresh {
		return w.Flush()
	}
	return nil
}

// flush hands the buffer to the sink.
func (w *Writer) flush() error {
	if w.err != nil {
		return w.err
	}
	if len(w.buf) == 0 {
		return nil
	}
	n, err := w.f.Write(w.buf)
	if !w.headerDone {
		if n >= headerSize {
			w.headerDone = true
			w.written += int64(n - headerSize)
		}
	} else {
		w.written += int64(n)
	}
	if err == nil && n < len(w.buf) {
		err = io.ErrShortWrite
	}
	if err != nil {
		w.err = fmt.Errorf("wav: write %s: %w", w.name, err)
		return w.err
	}
	w.buf = w.buf[:0]
	return nil
}

// Flush writes buffered audio out and updates the header's sizes to cover it.
func (w *Writer) Flush() error {
	if err := w.flush(); err != nil {
		return err
	}
	return w.mark(false)
}

// mark writes the current sizes into the header.
func (w *Writer) mark(final bool) error {
	if w.err != nil {
		return w.err
	}
	if !w.headerDone || (w.written == w.marked && !final) {
		return nil
	}
	pad := final && w.written%2 == 1
	var b [headerSize]byte
	hdr := appendHeader(b[:0], w.h, uint32(w.written), pad)
	if _, err := w.f.WriteAt(hdr[riffSizeOff:riffSizeOff+4], riffSizeOff); err != nil {
		w.err = fmt.Errorf("wav: write %s header: %w", w.name, err)
		return w.err
	}
	if _, err := w.f.WriteAt(hdr[dataSizeOff:dataSizeOff+4], dataSizeOff); err != nil {
		w.err = fmt.Errorf("wav: write %s header: %w", w.name, err)
		return w.err
	}
	w.marked = w.written
	return nil
}

// Frames is the number of sample frames written so far.
func (w *Writer) Frames() int64 {
	return (w.written + int64(len(w.buf)) - w.pending()) / int64(w.h.BlockAlign())
}

// pending is the part of the buffer that is not audio on its way to the file: the header
// before it went out, or everything after a write error (it will never be written).
func (w *Writer) pending() int64 {
	switch {
	case w.err != nil:
		return int64(len(w.buf))
	case w.headerDone:
		return 0
	}
	return headerSize
}

// Duration is the length of the audio written so far.
func (w *Writer) Duration() time.Duration {
	return time.Duration(w.Frames()) * time.Second / time.Duration(w.h.SampleRate)
}

// Size is the size of the file so far, header included.
func (w *Writer) Size() int64 { return headerSize + w.written + int64(len(w.buf)) - w.pending() }

// Close writes out what is buffered, sets the header's sizes for good, syncs the file to disk
// and closes it. After a write error it still closes the file and fixes the header as far as
// the audio reached the disk, and returns the first error.
func (w *Writer) Close() error {
	if w.closed {
		return nil
	}
	w.closed = true
	err := w.flush()
	if err == nil && w.written%2 == 1 {
		w.buf = append(w.buf[:0], 0)
		if _, werr := w.f.Write(w.buf); werr != nil {
			err = fmt.Errorf("wav: write %s: %w", w.name, werr)
			w.err = err
		}
		w.buf = w.buf[:0]
	}
	if err == nil {
		err = w.mark(true)
	} else if w.headerDone {
		// Keep what reached the disk playable, as far as the disk still lets us.
		w.err = nil
		_ = w.mark(false)
		w.err = err
	}
	if s, ok := w.f.(interface{ Sync() error }); ok && err == nil {
		if serr := s.Sync(); serr != nil {
			err = fmt.Errorf("wav: sync %s: %w", w.name, serr)
		}
	}
	if cerr := w.f.Close(); cerr != nil && err == nil {
		err = fmt.Errorf("wav: close %s: %w", w.name, cerr)
	}
	if err != nil && w.err == nil {
		w.err = err
	}
	return errors.Join(err)
}

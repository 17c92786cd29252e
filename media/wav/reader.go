package wav

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	"callbox/media/g711"
)

// Reader decodes the audio of a WAV file to linear 16-bit samples, interleaved when stereo.
type Reader struct {
	h         Header
	r         io.Reader
	remaining int64 // data bytes left to read; -1 when the header does not say (read to EOF)
	declared  int64 // data bytes the header declares, -1 when unknown
	buf       []byte
}

// NewReader reads the header of a WAV file at 8 or 16 kHz in PCM (8-bit unsigned, 16-bit
// signed), µ-law or A-law, mono or stereo. Chunks other than fmt and data are skipped. A data
// size of 0 or 0xFFFFFFFF (a file still being written, or streamed) means "up to the end".
func NewReader(r io.Reader) (*Reader, error) { return newReader(r, telephoneRates) }

// NewReaderAnyRate is NewReader without the sample-rate limit, for audio the caller resamples
// itself (espeak-ng writes 22050 Hz).
func NewReaderAnyRate(r io.Reader) (*Reader, error) { return newReader(r, nil) }

func newReader(r io.Reader, rates []int) (*Reader, error) {
	br, ok := r.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(r, 8192)
	}
	layout, err := parse(br, rates)
	if err != nil {
		return nil, err
	}
	rd := &Reader{h: layout.header, r: br, remaining: -1, declared: -1}
	if layout.dataSize != 0 && layout.dataSize != 0xFFFFFFFF {
		rd.remaining = int64(layout.dataSize)
		rd.declared = int64(layout.dataSize)
	}
	return rd, nil
}

// Header is the audio format of the file.
func (r *Reader) Header() Header { return r.h }

// Frames is the number of sample frames the header declares, or -1 when it does not say.
func (r *Reader) Frames() int64 {
	if r.declared < 0 {
		return -1
	}
	return r.declared / int64(r.h.BlockAlign())
}

// Read decodes up to len(dst) samples (rounded down to whole sample frames) into dst and
// returns how many it wrote. At the end of the audio it returns 0, io.EOF. A file cut short
// (a crash while recording) ends at its last whole sample frame without an error.
func (r *Reader) Read(dst []int16) (int, error) {
	bytesPerSample := r.h.BitsPerSample / 8
	n := len(dst) - len(dst)%r.h.Channels
	if n == 0 {
		if len(dst) == 0 {
			return 0, nil
		}
		return 0, fmt.Errorf("wav: read buffer of %d samples is smaller than one %d-channel frame", len(dst), r.h.Channels)
	}
	want := int64(n * bytesPerSample)
	if r.remaining >= 0 && want > r.remaining {
		want = r.remaining - r.remaining%int64(r.h.BlockAlign())
	}
	if want == 0 {
		return 0, io.EOF
	}
	if cap(r.buf) < int(want) {
		r.buf = make([]byte, want)
	}
	buf := r.buf[:want]
	got, err := io.ReadFull(r.r, buf)
	if err != nil && !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) {
		return 0, fmt.Errorf("wav: read audio: %w", err)
	}
	got -= got % r.h.BlockAlign() // a partial trailing sample frame is dropped
	if r.remaining >= 0 {
		r.remaining -= int64(got)
	}
	if got == 0 {
		r.remaining = 0
		return 0, io.EOF
	}
	if err != nil {
		r.remaining = 0 // the file ends here, whatever the header said
	}
	buf = buf[:got]
	switch {
	case r.h.Format == ULaw:
		return g711.DecodeUlaw(dst, buf), nil
	case r.h.Format == ALaw:
		return g711.DecodeAlaw(dst, buf), nil
	case r.h.BitsPerSample == 8:
		for i, b := range buf {
			dst[i] = int16(int(b)-128) << 8
		}
		return got, nil
	default:
		for i := range got / 2 {
			dst[i] = int16(binary.LittleEndian.Uint16(buf[2*i:]))
		}
		return got / 2, nil
	}
}

// ReadAll decodes the rest of the audio.
func (r *Reader) ReadAll() ([]int16, error) {
	var out []int16
	if f := r.Frames(); f > 0 {
		out = make([]int16, 0, f*int64(r.h.Channels))
	}
	buf := make([]int16, 4096)
	for {
		n, err := r.Read(buf)
		out = append(out, buf[:n]...)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return out, err
		}
	}
}

// File is a Reader on an open file.
type File struct {
	*Reader
	f *os.File
}

// Open opens a WAV file for reading with NewReader's limits.
func Open(path string) (*File, error) { return open(path, telephoneRates) }

// OpenAnyRate opens a WAV file for reading with NewReaderAnyRate's limits.
func OpenAnyRate(path string) (*File, error) { return open(path, nil) }

func open(path string, rates []int) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("wav: %w", err)
	}
	r, err := newReader(f, rates)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return &File{Reader: r, f: f}, nil
}

// Close closes the file.
func (f *File) Close() error { return f.f.Close() }

// layout is what parse learns about a file.
type layout struct {
	header     Header
	dataOffset int64  // where the audio starts
	dataSize   uint32 // as declared by the data chunk header
}

// parse reads the RIFF header and chunks up to the start of the data chunk.
func parse(r io.Reader, rates []int) (layout, error) {
	var l layout
	var hdr [12]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return l, fmt.Errorf("%w: %v", ErrNotWAV, shortRead(err))
	}
	if string(hdr[0:4]) != "RIFF" || string(hdr[8:12]) != "WAVE" {
		return l, fmt.Errorf("%w: no RIFF/WAVE signature", ErrNotWAV)
	}
	off := int64(12)
	haveFmt := false
	for {
		var ch [8]byte
		if _, err := io.ReadFull(r, ch[:]); err != nil {
			if !haveFmt {
				return l, fmt.Errorf("%w: no fmt chunk", ErrNotWAV)
			}
			return l, fmt.Errorf("%w: no data chunk", ErrNotWAV)
		}
		off += 8
		id, size := string(ch[0:4]), binary.LittleEndian.Uint32(ch[4:8])
		switch id {
		case "fmt ":
			if size < 16 || size > 1024 {
				return l, fmt.Errorf("%w: fmt chunk of %d bytes", ErrNotWAV, size)
			}
			b := make([]byte, size+size%2)
			if _, err := io.ReadFull(r, b); err != nil {
				return l, fmt.Errorf("%w: fmt chunk: %v", ErrNotWAV, shortRead(err))
			}
			off += int64(len(b))
			l.header = Header{
				Format:        Format(binary.LittleEndian.Uint16(b[0:])),
				Channels:      int(binary.LittleEndian.Uint16(b[2:])),
				SampleRate:    int(binary.LittleEndian.Uint32(b[4:])),
				BitsPerSample: int(binary.LittleEndian.Uint16(b[14:])),
			}
			// WAVE_FORMAT_EXTENSIBLE carries the real format tag in its sub-format GUID.
			if l.header.Format == extensible && size >= 40 {
				l.header.Format = Format(binary.LittleEndian.Uint16(b[24:]))
			}
			if err := l.header.check(rates); err != nil {
				return l, err
			}
			haveFmt = true
		case "data":
			if !haveFmt {
				return l, fmt.Errorf("%w: data chunk before fmt chunk", ErrNotWAV)
			}
			l.dataOffset, l.dataSize = off, size
			return l, nil
		default:
			skip := int64(size) + int64(size%2)
			if n, err := io.CopyN(io.Discard, r, skip); err != nil {
				return l, fmt.Errorf("%w: chunk %q cut short after %d of %d bytes", ErrNotWAV, id, n, skip)
			}
			off += skip
		}
	}
}

func shortRead(err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return errors.New("file too short")
	}
	return err
}

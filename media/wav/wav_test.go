package wav

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"callbox/media/g711"
)

// tone returns n interleaved frames of a sine per channel (each channel its own frequency).
func tone(n, channels, rate int, freqs ...float64) []int16 {
	s := make([]int16, n*channels)
	for i := range n {
		for c := range channels {
			s[i*channels+c] = int16(12000 * math.Sin(2*math.Pi*freqs[c]*float64(i)/float64(rate)))
		}
	}
	return s
}

// codecRound maps samples through the law, so that a round trip through a file is exact.
func codecRound(f Format, s []int16) []int16 {
	out := make([]int16, len(s))
	for i, v := range s {
		switch f {
		case ULaw:
			out[i] = g711.UlawToLinear(g711.LinearToUlaw(v))
		case ALaw:
			out[i] = g711.AlawToLinear(g711.LinearToAlaw(v))
		default:
			out[i] = v
		}
	}
	return out
}

func TestWriteThenRead(t *testing.T) {
	for _, f := range []Format{PCM, ULaw, ALaw} {
		for _, ch := range []int{1, 2} {
			for _, rate := range []int{8000, 16000} {
				name := f.String() + "-" + string(rune('0'+ch)) + "ch-" + time.Duration(rate).String()
				t.Run(name, func(t *testing.T) {
					path := filepath.Join(t.TempDir(), "a.wav")
					w, err := Create(path, Header{Format: f, Channels: ch, SampleRate: rate})
					if err != nil {
						t.Fatal(err)
					}
					want := codecRound(f, tone(rate*3/2+1, ch, rate, 440, 1000))
					for off := 0; off < len(want); off += 160 * ch {
						if err := w.WriteSamples(want[off:min(off+160*ch, len(want))]); err != nil {
							t.Fatal(err)
						}
					}
					if got := w.Frames(); got != int64(rate*3/2+1) {
						t.Errorf("Frames = %d, want %d", got, rate*3/2+1)
					}
					if err := w.Close(); err != nil {
						t.Fatal(err)
					}
					st, _ := os.Stat(path)
					if st.Size()%2 != 0 {
						t.Errorf("file size %d is odd: the data chunk lacks its pad byte", st.Size())
					}
					r, err := Open(path)
					if err != nil {
						t.Fatal(err)
					}
					defer r.Close()
					if h := r.Header(); h.Format != f || h.Channels != ch || h.SampleRate != rate {
						t.Errorf("header %+v", h)
					}
					got, err := r.ReadAll()
					if err != nil {
						t.Fatal(err)
					}
					if !equal(got, want) {
						t.Errorf("read %d samples, differing from the %d written", len(got), len(want))
					}
					if fixed, err := Repair(path); err != nil || fixed {
						t.Errorf("Repair of a closed file = %v, %v; want false, nil", fixed, err)
					}
				})
			}
		}
	}
}

func equal(a, b []int16) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// build assembles a WAV file from a fmt description and raw chunks.
func build(format, channels, rate, bits int, chunks ...[]byte) []byte {
	var fmtc []byte
	fmtc = binary.LittleEndian.AppendUint16(fmtc, uint16(format))
	fmtc = binary.LittleEndian.AppendUint16(fmtc, uint16(channels))
	fmtc = binary.LittleEndian.AppendUint32(fmtc, uint32(rate))
	fmtc = binary.LittleEndian.AppendUint32(fmtc, uint32(rate*channels*bits/8))
	fmtc = binary.LittleEndian.AppendUint16(fmtc, uint16(channels*bits/8))
	fmtc = binary.LittleEndian.AppendUint16(fmtc, uint16(bits))
	body := []byte("WAVE")
	body = append(body, chunk("fmt ", fmtc)...)
	for _, c := range chunks {
		body = append(body, c...)
	}
	out := []byte("RIFF")
	out = binary.LittleEndian.AppendUint32(out, uint32(len(body)))
	return append(out, body...)
}

func chunk(id string, data []byte) []byte {
	out := []byte(id)
	out = binary.LittleEndian.AppendUint32(out, uint32(len(data)))
	out = append(out, data...)
	if len(data)%2 == 1 {
		out = append(out, 0)
	}
	return out
}

func TestReadFormats(t *testing.T) {
	tests := []struct {
		name    string
		file    []byte
		want    []int16
		wantErr error
		errText string
	}{
		{
			name: "8-bit unsigned PCM, odd LIST chunk skipped",
			file: build(1, 1, 8000, 8, chunk("LIST", []byte("INFOabc")), chunk("data", []byte{128, 255, 0, 192})),
			want: []int16{0, 127 << 8, -128 << 8, 64 << 8},
		},
		{
			name: "16-bit stereo",
			file: build(1, 2, 16000, 16, chunk("data", []byte{1, 0, 0xff, 0xff, 0, 0x80, 0xff, 0x7f})),
			want: []int16{1, -1, -32768, 32767},
		},
		{
			name: "µ-law",
			file: build(7, 1, 8000, 8, chunk("fact", []byte{2, 0, 0, 0}), chunk("data", []byte{0xff, 0x80})),
			want: []int16{0, 32124},
		},
		{
			name: "A-law",
			file: build(6, 1, 8000, 8, chunk("data", []byte{0xd5, 0xaa})),
			want: []int16{8, 32256},
		},
		{
			name: "data size 0xFFFFFFFF reads to the end, partial frame dropped",
			file: func() []byte {
				b := build(1, 2, 8000, 16, chunk("data", []byte{1, 0, 2, 0, 3, 0, 4, 0, 5, 0}))
				binary.LittleEndian.PutUint32(b[len(b)-14:], 0xFFFFFFFF)
				return b
			}(),
			want: []int16{1, 2, 3, 4},
		},
		{
			name: "data size larger than the file (cut short)",
			file: func() []byte {
				b := build(1, 1, 8000, 16, chunk("data", []byte{1, 0, 2, 0}))
				binary.LittleEndian.PutUint32(b[len(b)-8:], 1000)
				return b
			}(),
			want: []int16{1, 2},
		},
		{name: "22050 Hz", file: build(1, 1, 22050, 16, chunk("data", nil)), wantErr: ErrUnsupported, errText: "sample rate 22050 Hz"},
		{name: "24-bit", file: build(1, 1, 8000, 24, chunk("data", nil)), wantErr: ErrUnsupported, errText: "24-bit"},
		{name: "GSM", file: build(0x31, 1, 8000, 0, chunk("data", nil)), wantErr: ErrUnsupported, errText: "format-0x31"},
		{name: "5 channels", file: build(1, 5, 8000, 16, chunk("data", nil)), wantErr: ErrUnsupported, errText: "5 channels"},
		{name: "not RIFF", file: []byte("ID3\x03 mp3 file bytes"), wantErr: ErrNotWAV},
		{name: "empty", file: nil, wantErr: ErrNotWAV},
		{name: "no data chunk", file: build(1, 1, 8000, 16), wantErr: ErrNotWAV, errText: "no data chunk"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(bytes.NewReader(tt.file))
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) || !strings.Contains(err.Error(), tt.errText) {
					t.Fatalf("err = %v, want %v containing %q", err, tt.wantErr, tt.errText)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got, err := r.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			if !equal(got, tt.want) {
				t.Errorf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestAnyRate(t *testing.T) {
	r, err := NewReaderAnyRate(bytes.NewReader(build(1, 1, 22050, 16, chunk("data", []byte{7, 0}))))
	if err != nil {
		t.Fatal(err)
	}
	if r.Header().SampleRate != 22050 {
		t.Errorf("rate %d", r.Header().SampleRate)
	}
}

// headerSizes reads the RIFF and data sizes of a canonical file on disk.
func headerSizes(t *testing.T, path string) (riff, data uint32, fileSize int64) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) < headerSize {
		t.Fatalf("file of %d bytes", len(b))
	}
	return binary.LittleEndian.Uint32(b[4:]), binary.LittleEndian.Uint32(b[40:]), int64(len(b))
}

// The header is kept up to date while the file grows, so a crash leaves a playable file.
func TestHeaderRefreshedWhileWriting(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.wav")
	w, err := Create(path, Header{Format: ULaw, Channels: 2, SampleRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	frame := tone(160, 2, 8000, 300, 500)
	seconds := 12
	for range seconds * 50 {
		if err := w.WriteSamples(frame); err != nil {
			t.Fatal(err)
		}
	}
	riff, data, size := headerSizes(t, path)
	if data < 10*16000 {
		t.Errorf("after %d s the header declares %d bytes of audio; want the last refresh (≥ 10 s)", seconds, data)
	}
	if int64(data)+headerSize > size || riff != data+36 {
		t.Errorf("header riff=%d data=%d for a file of %d bytes", riff, data, size)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	riff, data, size = headerSizes(t, path)
	if data != uint32(seconds*16000) || riff != data+36 || size != int64(data)+headerSize {
		t.Errorf("closed: riff=%d data=%d size=%d", riff, data, size)
	}
	if got := w.Duration(); got != time.Duration(seconds)*time.Second {
		t.Errorf("Duration = %v", got)
	}
}

// quotaFile is a real file on which writes fail with ENOSPC past a quota, like a full disk.
type quotaFile struct {
	*os.File
	left int
}

func (q *quotaFile) Write(b []byte) (int, error) {
	if len(b) > q.left {
		n, _ := q.File.Write(b[:q.left])
		q.left = 0
		return n, &os.PathError{Op: "write", Path: q.Name(), Err: syscall.ENOSPC}
	}
	q.left -= len(b)
	return q.File.Write(b)
}

func TestFullDisk(t *testing.T) {
	path := filepath.Join(t.TempDir(), "full.wav")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w, err := NewWriter(&quotaFile{File: f, left: 50000}, path, Header{Format: PCM, Channels: 1, SampleRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	frame := tone(160, 1, 8000, 440)
	var werr error
	for range 1000 {
		if werr = w.WriteSamples(frame); werr != nil {
			break
		}
	}
	if !errors.Is(werr, syscall.ENOSPC) {
		t.Fatalf("write error = %v, want ENOSPC", werr)
	}
	if err := w.WriteSamples(frame); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("the error does not stick: %v", err)
	}
	if err := w.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close = %v, want the ENOSPC", err)
	}
	// What reached the disk is a playable file up to the last refresh; Repair finishes it.
	if _, err := Repair(path); err != nil {
		t.Fatal(err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	got, _ := r.ReadAll()
	if len(got) < (50000-headerSize)/2-1 || len(got) > 50000/2 {
		t.Errorf("kept %d samples of the %d bytes the disk took", len(got), 50000)
	}
}

// /dev/full is the kernel's own full disk.
func TestDevFull(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Skip("no /dev/full")
	}
	w, err := Create("/dev/full", Header{Format: ULaw, Channels: 2, SampleRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	frame := tone(160, 2, 8000, 440, 880)
	var werr error
	for range 100 {
		if werr = w.WriteSamples(frame); werr != nil {
			break
		}
	}
	if !errors.Is(werr, syscall.ENOSPC) {
		t.Errorf("write error = %v, want ENOSPC", werr)
	}
	if err := w.Close(); !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close = %v, want ENOSPC", err)
	}
}

func TestRepair(t *testing.T) {
	stereo := Header{Format: PCM, Channels: 2, SampleRate: 8000, BitsPerSample: 16}
	audio := make([]byte, 4*8000) // one second of stereo PCM16
	for i := range audio {
		audio[i] = byte(i * 7)
	}
	canonical := func(declared uint32, riff uint32, data []byte) []byte {
		b := appendHeader(nil, stereo, declared, false)
		binary.LittleEndian.PutUint32(b[4:], riff)
		return append(b, data...)
	}
	tests := []struct {
		name      string
		file      []byte
		wantFixed bool
		wantBytes int // audio bytes after the repair
	}{
		{"crash before the first refresh: sizes of an empty file", canonical(0, 36, audio), true, len(audio)},
		{"crash mid-frame: partial sample frame cut", canonical(0, 36, audio[:len(audio)-3]), true, len(audio) - 4},
		{"crash after a refresh", canonical(8000, 8036, audio), true, len(audio)},
		{"streaming placeholder sizes", canonical(0xFFFFFFFF, 0xFFFFFFFF, audio), true, len(audio)},
		{"file cut shorter than declared", canonical(uint32(len(audio)), uint32(len(audio)+36), audio[:1000]), true, 1000},
		{"consistent", canonical(uint32(len(audio)), uint32(len(audio)+36), audio), false, len(audio)},
		{"only the RIFF size wrong", canonical(uint32(len(audio)), 99, audio), true, len(audio)},
		{"LIST chunk after the audio", append(canonical(uint32(len(audio)), uint32(len(audio)+36+20), audio), chunk("LIST", []byte("INFOINAMx\x00\x00\x00"))...), false, len(audio)},
		{"header only", canonical(0, 36, nil), false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "r.wav")
			if err := os.WriteFile(path, tt.file, 0o600); err != nil {
				t.Fatal(err)
			}
			fixed, err := Repair(path)
			if err != nil {
				t.Fatal(err)
			}
			if fixed != tt.wantFixed {
				t.Errorf("fixed = %v, want %v", fixed, tt.wantFixed)
			}
			if again, err := Repair(path); err != nil || again {
				t.Errorf("second Repair = %v, %v; want false, nil", again, err)
			}
			r, err := Open(path)
			if err != nil {
				t.Fatal(err)
			}
			defer r.Close()
			if got := r.Frames() * 4; tt.wantBytes > 0 && got != int64(tt.wantBytes) {
				t.Errorf("header declares %d bytes, want %d", got, tt.wantBytes)
			}
			got, err := r.ReadAll()
			if err != nil || len(got)*2 != tt.wantBytes {
				t.Errorf("read %d bytes (%v), want %d", len(got)*2, err, tt.wantBytes)
			}
			st, _ := os.Stat(path)
			b, _ := os.ReadFile(path)
			if riff := binary.LittleEndian.Uint32(b[4:]); int64(riff) != st.Size()-8 {
				t.Errorf("RIFF size %d for a file of %d bytes", riff, st.Size())
			}
		})
	}
	t.Run("not a WAV file", func(t *testing.T) {
		path := filepath.Join(t.TempDir(), "x.wav")
		os.WriteFile(path, []byte("RIFF"), 0o600)
		if _, err := Repair(path); !errors.Is(err, ErrNotWAV) {
			t.Errorf("err = %v, want ErrNotWAV", err)
		}
	})
}

// A writer killed without Close (the process crashed) leaves a file Repair makes whole.
func TestRepairAfterCrash(t *testing.T) {
	path := filepath.Join(t.TempDir(), "crash.wav")
	w, err := Create(path, Header{Format: ULaw, Channels: 2, SampleRate: 8000})
	if err != nil {
		t.Fatal(err)
	}
	frame := tone(160, 2, 8000, 300, 500)
	for range 7 * 50 {
		if err := w.WriteSamples(frame); err != nil {
			t.Fatal(err)
		}
	}
	w.flush() // the kernel has what was written; the process dies before Close
	w.f.Close()
	_, data, size := headerSizes(t, path)
	if int64(data)+headerSize == size {
		t.Fatal("the header already matches the file; the test shows nothing")
	}
	fixed, err := Repair(path)
	if err != nil || !fixed {
		t.Fatalf("Repair = %v, %v", fixed, err)
	}
	r, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := r.Frames(); got != 7*8000 {
		t.Errorf("repaired file has %d frames, want %d", got, 7*8000)
	}
}

func BenchmarkWriteStereoUlaw20ms(b *testing.B) {
	w, err := NewWriter(discard{}, "bench", Header{Format: ULaw, Channels: 2, SampleRate: 8000})
	if err != nil {
		b.Fatal(err)
	}
	frame := tone(160, 2, 8000, 300, 500)
	b.ReportAllocs()
	for b.Loop() {
		if err := w.WriteSamples(frame); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRead20ms(b *testing.B) {
	file := build(1, 1, 8000, 16, chunk("data", make([]byte, 320*500)))
	dst := make([]int16, 160)
	rd := bytes.NewReader(file)
	r, _ := NewReader(rd)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := r.Read(dst); err == io.EOF {
			rd.Seek(0, io.SeekStart)
			r, _ = NewReader(rd)
		}
	}
}

type discard struct{}

func (discard) Write(b []byte) (int, error)            { return len(b), nil }
func (discard) WriteAt(b []byte, _ int64) (int, error) { return len(b), nil }
func (discard) Close() error                           { return nil }

// WriteEncoded takes bytes already in the file's format: the file is the same as the one
// WriteSamples makes from the samples they encode.
func TestWriteEncodedMatchesWriteSamples(t *testing.T) {
	for _, f := range []Format{ULaw, ALaw, PCM} {
		t.Run(f.String(), func(t *testing.T) {
			dir := t.TempDir()
			h := Header{Format: f, Channels: 2, SampleRate: 8000}
			samples := codecRound(f, tone(8000*6+3, 2, 8000, 440, 1000)) // past a header refresh
			a, err := Create(filepath.Join(dir, "a.wav"), h)
			if err != nil {
				t.Fatal(err)
			}
			b, err := Create(filepath.Join(dir, "b.wav"), h)
			if err != nil {
				t.Fatal(err)
			}
			var coded []byte
			for _, v := range samples {
				switch f {
				case ULaw:
					coded = append(coded, g711.LinearToUlaw(v))
				case ALaw:
					coded = append(coded, g711.LinearToAlaw(v))
				default:
					coded = binary.LittleEndian.AppendUint16(coded, uint16(v))
				}
			}
			step := 2 * 333 // frames of uneven length, so the buffer fills mid-write
			for off := 0; off < len(samples); off += step {
				if err := a.WriteSamples(samples[off:min(off+step, len(samples))]); err != nil {
					t.Fatal(err)
				}
			}
			bs := len(coded) / len(samples) * step
			for off := 0; off < len(coded); off += bs {
				if err := b.WriteEncoded(coded[off:min(off+bs, len(coded))]); err != nil {
					t.Fatal(err)
				}
			}
			if a.Frames() != b.Frames() {
				t.Errorf("Frames: %d by samples, %d encoded", a.Frames(), b.Frames())
			}
			if err := b.WriteEncoded(coded[:1]); err == nil {
				t.Error("WriteEncoded took part of a stereo sample frame")
			}
			a.Close()
			b.Close()
			wa, _ := os.ReadFile(filepath.Join(dir, "a.wav"))
			wb, _ := os.ReadFile(filepath.Join(dir, "b.wav"))
			if !bytes.Equal(wa, wb) {
				t.Errorf("the files differ: %d and %d bytes", len(wa), len(wb))
			}
		})
	}
}

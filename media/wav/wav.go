// Package wav reads and writes RIFF/WAVE files the way the box needs them: prompts and music on
// hold in whatever telephone format the admin drops in, and call recordings streamed to disk so
// that a crash leaves a playable file that Repair can finish.
package wav

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// Format is the WAVE format tag of the fmt chunk.
type Format uint16

const (
	PCM  Format = 1 // linear PCM: 8-bit unsigned or 16-bit signed little-endian
	ALaw Format = 6 // G.711 A-law, 8 bits a sample
	ULaw Format = 7 // G.711 µ-law, 8 bits a sample

	extensible Format = 0xFFFE // WAVE_FORMAT_EXTENSIBLE: the real tag is in the sub-format GUID
)

func (f Format) String() string {
	switch f {
	case PCM:
		return "pcm"
	case ALaw:
		return "alaw"
	case ULaw:
		return "ulaw"
	}
	return fmt.Sprintf("format-%#x", uint16(f))
}

// Header describes the audio of a WAV file.
type Header struct {
	Format        Format
	Channels      int // 1 or 2
	SampleRate    int // samples a second per channel
	BitsPerSample int // 8 or 16 for PCM, 8 for the G.711 laws
}

// BlockAlign is the size in bytes of one sample frame (one sample of every channel).
func (h Header) BlockAlign() int { return h.Channels * h.BitsPerSample / 8 }

// ByteRate is the number of data bytes a second.
func (h Header) ByteRate() int { return h.SampleRate * h.BlockAlign() }

// ErrUnsupported is returned (wrapped, with the details) for a WAV file whose audio format the
// box does not handle.
var ErrUnsupported = errors.New("unsupported WAV format")

// ErrNotWAV is returned (wrapped) for a file that is not RIFF/WAVE at all.
var ErrNotWAV = errors.New("not a WAV file")

// check reports whether the box can read audio in h; rates limits the sample rates (nil: any
// rate from 1 Hz to 192 kHz).
func (h Header) check(rates []int) error {
	switch {
	case h.Format == PCM && (h.BitsPerSample == 8 || h.BitsPerSample == 16):
	case (h.Format == ULaw || h.Format == ALaw) && h.BitsPerSample == 8:
	case h.Format == PCM:
		return fmt.Errorf("%w: %d-bit PCM (only 8-bit and 16-bit)", ErrUnsupported, h.BitsPerSample)
	case h.Format == ULaw || h.Format == ALaw:
		return fmt.Errorf("%w: %d-bit %s (G.711 is 8-bit)", ErrUnsupported, h.BitsPerSample, h.Format)
	default:
		return fmt.Errorf("%w: %s (only PCM, µ-law and A-law)", ErrUnsupported, h.Format)
	}
	if h.Channels != 1 && h.Channels != 2 {
		return fmt.Errorf("%w: %d channels (only mono or stereo)", ErrUnsupported, h.Channels)
	}
	if rates == nil {
		if h.SampleRate < 1 || h.SampleRate > 192000 {
			return fmt.Errorf("%w: sample rate %d Hz", ErrUnsupported, h.SampleRate)
		}
		return nil
	}
	for _, r := range rates {
		if h.SampleRate == r {
			return nil
		}
	}
	return fmt.Errorf("%w: sample rate %d Hz (only 8000 or 16000 Hz; convert it, e.g. sox in.wav -r 8000 out.wav)", ErrUnsupported, h.SampleRate)
}

// telephoneRates are the sample rates of files NewReader accepts.
var telephoneRates = []int{8000, 16000}

const (
	headerSize  = 44 // RIFF header, 16-byte fmt chunk, data chunk header: what Writer writes
	riffSizeOff = 4
	dataSizeOff = 40
)

// appendHeader appends the canonical 44-byte header for h with dataLen bytes of audio; pad says
// whether a pad byte follows odd-sized data (RIFF chunks are word-aligned).
func appendHeader(b []byte, h Header, dataLen uint32, pad bool) []byte {
	riff := 36 + dataLen
	if pad {
		riff++
	}
	b = append(b, "RIFF"...)
	b = binary.LittleEndian.AppendUint32(b, riff)
	b = append(b, "WAVEfmt "...)
	b = binary.LittleEndian.AppendUint32(b, 16)
	b = binary.LittleEndian.AppendUint16(b, uint16(h.Format))
	b = binary.LittleEndian.AppendUint16(b, uint16(h.Channels))
	b = binary.LittleEndian.AppendUint32(b, uint32(h.SampleRate))
	b = binary.LittleEndian.AppendUint32(b, uint32(h.ByteRate()))
	b = binary.LittleEndian.AppendUint16(b, uint16(h.BlockAlign()))
	b = binary.LittleEndian.AppendUint16(b, uint16(h.BitsPerSample))
	b = append(b, "data"...)
	b = binary.LittleEndian.AppendUint32(b, dataLen)
	return b
}

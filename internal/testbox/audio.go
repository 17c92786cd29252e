package testbox

import (
	"encoding/binary"
	"fmt"
	"math"
	"os"
	"time"
)

// ReadWAV16 reads a 16-bit PCM WAV and returns its samples (all channels interleaved), rate
// and channel count. It is for checking what test peers heard, not a general reader.
func ReadWAV16(path string) (samples []int16, rate, channels int, err error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, 0, 0, err
	}
	if len(b) < 12 || string(b[:4]) != "RIFF" || string(b[8:12]) != "WAVE" {
		return nil, 0, 0, fmt.Errorf("%s is not a WAV file", path)
	}
	for off := 12; off+8 <= len(b); {
		id, size := string(b[off:off+4]), int(binary.LittleEndian.Uint32(b[off+4:]))
		body := b[off+8 : min(off+8+size, len(b))]
		switch id {
		case "fmt ":
			channels = int(binary.LittleEndian.Uint16(body[2:]))
			rate = int(binary.LittleEndian.Uint32(body[4:]))
			if bits := binary.LittleEndian.Uint16(body[14:]); bits != 16 {
				return nil, 0, 0, fmt.Errorf("%s has %d-bit samples", path, bits)
			}
		case "data":
			for i := 0; i+1 < len(body); i += 2 {
				samples = append(samples, int16(binary.LittleEndian.Uint16(body[i:])))
			}
			return samples, rate, channels, nil
		}
		off += 8 + size + size%2
	}
	return nil, 0, 0, fmt.Errorf("%s has no data", path)
}

// ToneLevel is the power of freq in samples (Goertzel), relative to the signal's power: near
// 0.5 for a pure tone at freq, near 0 for a tone elsewhere or silence.
func ToneLevel(samples []int16, rate int, freq float64) float64 {
	if len(samples) == 0 {
		return 0
	}
	k := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2, energy float64
	for _, v := range samples {
		x := float64(v)
		s := x + k*s1 - s2
		s2, s1 = s1, s
		energy += x * x
	}
	if energy == 0 {
		return 0
	}
	power := s1*s1 + s2*s2 - k*s1*s2
	return power / energy / float64(len(samples))
}

// Channel returns one channel of interleaved samples.
func Channel(samples []int16, channels, ch int) []int16 {
	out := make([]int16, 0, len(samples)/channels)
	for i := ch; i < len(samples); i += channels {
		out = append(out, samples[i])
	}
	return out
}

// WriteWAV16 writes 8 kHz mono 16-bit samples as a WAV file: a test peer's microphone, a
// prompt or music file.
func WriteWAV16(path string, pcm []int16) error {
	data := make([]byte, 44+2*len(pcm))
	copy(data, "RIFF")
	binary.LittleEndian.PutUint32(data[4:], uint32(36+2*len(pcm)))
	copy(data[8:], "WAVEfmt ")
	binary.LittleEndian.PutUint32(data[16:], 16)    // fmt chunk size
	binary.LittleEndian.PutUint16(data[20:], 1)     // PCM
	binary.LittleEndian.PutUint16(data[22:], 1)     // mono
	binary.LittleEndian.PutUint32(data[24:], 8000)  // samples a second
	binary.LittleEndian.PutUint32(data[28:], 16000) // bytes a second
	binary.LittleEndian.PutUint16(data[32:], 2)     // bytes a frame
	binary.LittleEndian.PutUint16(data[34:], 16)    // bits a sample
	copy(data[36:], "data")
	binary.LittleEndian.PutUint32(data[40:], uint32(2*len(pcm)))
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(data[44+2*i:], uint16(v))
	}
	return os.WriteFile(path, data, 0o644)
}

// Tone is d of a sine at freq Hz with peak amp, at 8 kHz.
func Tone(freq, amp float64, d time.Duration) []int16 {
	pcm := make([]int16, int(d.Seconds()*8000))
	for i := range pcm {
		pcm[i] = int16(amp * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return pcm
}

package sipptest

import (
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"

	"callbox/media/g711"
)

// Tone describes audio for a pcap: a sine at Freq Hz (0 for silence) for Seconds.
type Tone struct {
	Freq    float64
	Seconds float64
	Level   float64 // peak amplitude, 0..32767 (default 8000)
}

// WriteRTPPcap writes a pcap of RTP packets (20 ms each) carrying tones in G.711 with the
// given payload type (0 PCMU, 8 PCMA), as SIPp's play_pcap_audio plays it.
func WriteRTPPcap(path string, pt uint8, tones ...Tone) error {
	var pcm []int16
	phase := 0.0
	for _, tone := range tones {
		level := tone.Level
		if level == 0 {
			level = 8000
		}
		for range int(tone.Seconds * 50) {
			for range 160 {
				s := int16(0)
				if tone.Freq > 0 {
					s = int16(level * math.Sin(phase))
					phase += 2 * math.Pi * tone.Freq / 8000
				}
				pcm = append(pcm, s)
			}
		}
	}
	return WritePCMPcap(path, pt, pcm)
}

// WritePCMPcap writes a pcap of RTP packets (20 ms each) carrying 8 kHz samples (in-band
// DTMF from dsp.AppendDTMF, speech) in G.711 with the given payload type (0 PCMU, 8 PCMA).
func WritePCMPcap(path string, pt uint8, pcm []int16) error {
	var b []byte
	// Global header: magic, v2.4, UTC offset, accuracy, snaplen, link type Ethernet.
	b = binary.LittleEndian.AppendUint32(b, 0xa1b2c3d4)
	b = binary.LittleEndian.AppendUint16(b, 2)
	b = binary.LittleEndian.AppendUint16(b, 4)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 0)
	b = binary.LittleEndian.AppendUint32(b, 65535)
	b = binary.LittleEndian.AppendUint32(b, 1)
	// Each file is a stream of its own (as a new call leg or a new source would be): played
	// one after the other in a call, two files must not reuse each other's timestamps.
	seq, ts, ssrc := uint16(rand.Uint32()), rand.Uint32(), rand.Uint32()
	for n := 0; n*160 < len(pcm); n++ {
		payload := make([]byte, 160)
		for i := range payload {
			s := int16(0)
			if k := n*160 + i; k < len(pcm) {
				s = pcm[k]
			}
			if pt == 8 {
				payload[i] = g711.LinearToAlaw(s)
			} else {
				payload[i] = g711.LinearToUlaw(s)
			}
		}
		rtp := make([]byte, 12, 12+160)
		rtp[0] = 0x80
		rtp[1] = pt
		if n == 0 {
			rtp[1] |= 0x80
		}
		binary.BigEndian.PutUint16(rtp[2:], seq)
		binary.BigEndian.PutUint32(rtp[4:], ts)
		binary.BigEndian.PutUint32(rtp[8:], ssrc)
		rtp = append(rtp, payload...)
		b = appendPacket(b, n, rtp)
		seq++
		ts += 160
	}
	return os.WriteFile(path, b, 0o644)
}

// appendPacket wraps an RTP packet in UDP/IPv4/Ethernet with a timestamp of n×20 ms.
func appendPacket(b []byte, n int, rtp []byte) []byte {
	udpLen := 8 + len(rtp)
	ipLen := 20 + udpLen
	frameLen := 14 + ipLen
	usec := n * 20000
	b = binary.LittleEndian.AppendUint32(b, uint32(usec/1e6))
	b = binary.LittleEndian.AppendUint32(b, uint32(usec%1e6))
	b = binary.LittleEndian.AppendUint32(b, uint32(frameLen))
	b = binary.LittleEndian.AppendUint32(b, uint32(frameLen))
	b = append(b, 0, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 1, 0x08, 0x00) // Ethernet, IPv4
	ip := []byte{0x45, 0, byte(ipLen >> 8), byte(ipLen), 0, 0, 0, 0, 64, 17, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1}
	var sum uint32
	for i := 0; i < 20; i += 2 {
		sum += uint32(ip[i])<<8 | uint32(ip[i+1])
	}
	for sum > 0xffff {
		sum = sum&0xffff + sum>>16
	}
	binary.BigEndian.PutUint16(ip[10:], ^uint16(sum))
	b = append(b, ip...)
	b = binary.BigEndian.AppendUint16(b, 6000)
	b = binary.BigEndian.AppendUint16(b, 6000)
	b = binary.BigEndian.AppendUint16(b, uint16(udpLen))
	b = binary.BigEndian.AppendUint16(b, 0)
	return append(b, rtp...)
}

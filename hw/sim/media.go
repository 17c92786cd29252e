package sim

import (
	"encoding/binary"
	"math"
	"sync"
	"time"

	"callbox"
	"callbox/media/g711"
)

// media is the leg's audio: the sink the box set, and the frames the box sent.
type media struct {
	codec callbox.Codec

	mu   sync.Mutex
	sink callbox.FrameSink
	sent []SentFrame
}

// SentFrame is a frame the box sent the party, with when it was written.
type SentFrame struct {
	At    time.Time
	Frame callbox.Frame // its Payload is the leg's own copy
}

// PCM is the frame's audio decoded to linear PCM; nil for an RFC 4733 event.
func (f SentFrame) PCM() []int16 {
	if f.Frame.Kind != callbox.FrameAudio {
		return nil
	}
	return decode(nil, f.Frame.Codec, f.Frame.Payload)
}

func (m *media) Codec() callbox.Codec { return m.codec }

func (m *media) SetSink(s callbox.FrameSink) {
	m.mu.Lock()
	m.sink = s
	m.mu.Unlock()
}

// WriteFrame keeps a copy of what the box sends the party.
func (m *media) WriteFrame(f *callbox.Frame) error {
	c := *f
	c.Payload = append([]byte(nil), f.Payload...)
	at := time.Now()
	m.mu.Lock()
	m.sent = append(m.sent, SentFrame{At: at, Frame: c})
	m.mu.Unlock()
	return nil
}

// deliver hands f to the sink, outside the lock: the sink may write to this leg.
func (m *media) deliver(f *callbox.Frame) {
	m.mu.Lock()
	s := m.sink
	m.mu.Unlock()
	if s != nil {
		s.OnFrame(f)
	}
}

// HasSink tells whether the box listens to the party (a sink is set).
func (l *Leg) HasSink() bool {
	l.media.mu.Lock()
	defer l.media.mu.Unlock()
	return l.media.sink != nil
}

// Frames is every frame the box sent the party so far, in order.
func (l *Leg) Frames() []SentFrame {
	l.media.mu.Lock()
	defer l.media.mu.Unlock()
	return append([]SentFrame(nil), l.media.sent...)
}

// Heard is all the audio the box sent the party, decoded to linear PCM (events left out).
func (l *Leg) Heard() []int16 {
	l.media.mu.Lock()
	defer l.media.mu.Unlock()
	var pcm []int16
	for _, f := range l.media.sent {
		if f.Frame.Kind == callbox.FrameAudio {
			pcm = decode(pcm, f.Frame.Codec, f.Frame.Payload)
		}
	}
	return pcm
}

// Last is the last d of the audio the party heard (less if it heard less).
func (l *Leg) Last(d time.Duration) []int16 {
	want := int(d.Seconds() * 8000)
	l.media.mu.Lock()
	defer l.media.mu.Unlock()
	// Decode from the end back until enough is there, so a long call costs no more.
	var frames [][]int16
	n := 0
	for i := len(l.media.sent) - 1; i >= 0 && n < want; i-- {
		f := l.media.sent[i].Frame
		if f.Kind != callbox.FrameAudio {
			continue
		}
		pcm := decode(nil, f.Codec, f.Payload)
		frames = append(frames, pcm)
		n += len(pcm)
	}
	pcm := make([]int16, 0, n)
	for i := len(frames) - 1; i >= 0; i-- {
		pcm = append(pcm, frames[i]...)
	}
	return pcm[max(0, len(pcm)-want):]
}

// decode appends payload, in codec, to dst as linear PCM.
func decode(dst []int16, codec callbox.Codec, payload []byte) []int16 {
	switch codec {
	case callbox.PCMU:
		n := len(dst)
		dst = append(dst, make([]int16, len(payload))...)
		g711.DecodeUlaw(dst[n:], payload)
	case callbox.PCMA:
		n := len(dst)
		dst = append(dst, make([]int16, len(payload))...)
		g711.DecodeAlaw(dst[n:], payload)
	case callbox.L16:
		for i := 0; i+1 < len(payload); i += 2 {
			dst = append(dst, int16(binary.LittleEndian.Uint16(payload[i:])))
		}
	}
	return dst
}

// encode appends pcm, in codec, to dst.
func encode(dst []byte, codec callbox.Codec, pcm []int16) []byte {
	switch codec {
	case callbox.PCMA:
		n := len(dst)
		dst = append(dst, make([]byte, len(pcm))...)
		g711.EncodeAlaw(dst[n:], pcm)
	case callbox.L16:
		for _, v := range pcm {
			dst = binary.LittleEndian.AppendUint16(dst, uint16(v))
		}
	default:
		n := len(dst)
		dst = append(dst, make([]byte, len(pcm))...)
		g711.EncodeUlaw(dst[n:], pcm)
	}
	return dst
}

// voice is the party's outgoing stream: its numbering carries on from one utterance to the
// next, as an RTP stream's does.
type voice struct {
	mu      sync.Mutex // one frame at a time
	source  uint32
	seq     uint16
	ts      uint32
	started bool
	payload []byte // reused: a sink keeps only a copy (callbox.Frame)
}

// Speaks sends pcm to the box as the party's voice, one frame every FrameDuration (on the
// bubble's clock inside testing/synctest), and returns when all of it was said or the leg
// ended. A tail shorter than a frame is left out.
func (l *Leg) Speaks(pcm []int16) {
	for i := 0; i+FrameSamples <= len(pcm); i += FrameSamples {
		if l.ended() {
			return
		}
		l.SpeaksFrame(pcm[i : i+FrameSamples])
		time.Sleep(FrameDuration)
	}
}

// SpeaksFrame sends one frame of the party's voice now (up to FrameSamples samples; a
// shorter one is padded with silence): the caller sets the pace. Nothing is sent once the
// leg has ended.
func (l *Leg) SpeaksFrame(pcm []int16) {
	var frame [FrameSamples]int16
	copy(frame[:], pcm)
	v := &l.voice
	v.mu.Lock()
	defer v.mu.Unlock()
	v.payload = encode(v.payload[:0], l.o.Codec, frame[:])
	f := callbox.Frame{Kind: callbox.FrameAudio, Codec: l.o.Codec, Payload: v.payload, Seq: v.seq, Timestamp: v.ts,
		Marker: !v.started, Source: v.source}
	v.seq++
	v.ts += FrameSamples
	v.started = true
	l.Sends(&f)
}

// Sends hands f to the box as it is, now: for packets out of order, late, lost or odd.
// Nothing is sent once the leg has ended.
func (l *Leg) Sends(f *callbox.Frame) {
	if l.ended() {
		return
	}
	l.media.deliver(f)
}

// ToneShare is the share of pcm's power at freq (Goertzel): about 1 for a pure tone of freq,
// near 0 for silence or other sounds. It tells which tone a party heard.
func ToneShare(pcm []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2, energy float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+k*s1-s2, s1
		energy += x * x
	}
	if energy == 0 {
		return 0
	}
	return (s1*s1 + s2*s2 - k*s1*s2) / energy / float64(len(pcm)) * 2
}

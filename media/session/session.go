package session

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"

	"callbox"
	"callbox/media/dsp"
	"callbox/media/g711"
	"callbox/media/jitter"
)

const frameSamples = 160

// Source is audio to play, 20 ms at a time (media/prompt's sources are Sources).
type Source interface {
	// ReadFrame fills frame with the next 160 samples and returns how many are audio; after
	// the last it returns 0 and io.EOF.
	ReadFrame(frame []int16) (int, error)
	Close() error
}

// InBand says when a session looks for DTMF tones in the party's audio.
type InBand uint8

const (
	// InBandAuto looks for tones until the leg sends an RFC 4733 event: a leg that never
	// does (an analog line, a trunk without telephone-event) is heard in-band for its whole
	// life, and a digit is never taken twice from a phone that sends both.
	InBandAuto InBand = iota
	InBandAlways
	InBandNever
)

// Options set up a Session.
type Options struct {
	Media  callbox.Media
	Clock  *Clock
	InBand InBand
}

// Session plays to and listens to one leg. It takes over the leg's sink until Close. Its
// methods are safe for concurrent use; the clock does its work.
type Session struct {
	media  callbox.Media
	clock  *Clock
	jb     *jitter.Buffer
	inband InBand
	events atomic.Bool // the leg sent an RFC 4733 event
	digits chan rune

	mu      sync.Mutex
	closed  bool
	started time.Time // the first tick: frame k is due at started + k×20 ms
	ticks   int64
	play    *playback
	plays   uint32
	base    uint32 // Source ids of this session's playbacks start here
	det     *dsp.DTMFDetector
	rec     *recording
	lostRun int
	stats   Stats

	pcm     [frameSamples]int16 // what was heard in the current frame
	last    [frameSamples]int16 // the last frame heard, to conceal one lost frame
	out     [frameSamples]int16 // what is played in the current frame
	payload [2 * frameSamples]byte
	frame   callbox.Frame
}

// Stats counts what a session did.
type Stats struct {
	Played      int64 // frames sent to the leg
	Heard       int64 // frames of the party's audio taken from the jitter buffer
	Lost        int64 // frames the party sent that never came in time
	InBand      int64 // digits found in the audio
	Dropped     int64 // in-band digits nobody read
	WriteErrors int64
}

type playback struct {
	src    Source
	done   chan struct{}
	source uint32
	seq    uint16
	ts     uint32
	sent   int
	once   sync.Once
}

// finish closes the playback's source and tells whoever waits for it.
func (p *playback) finish() {
	p.once.Do(func() {
		p.src.Close()
		close(p.done)
	})
}

// New starts a session on a leg's media: from now on the leg's audio comes to the session,
// and the clock paces it.
func New(o Options) *Session {
	s := &Session{
		media:  o.Media,
		clock:  o.Clock,
		inband: o.InBand,
		jb:     jitter.New(jitter.Config{}),
		digits: make(chan rune, 32),
		det:    dsp.NewDTMFDetector(dsp.DTMFConfig{}),
		base:   rand.Uint32(),
	}
	o.Media.SetSink(s)
	o.Clock.attach(s)
	return s
}

// OnFrame takes a frame from the leg (its receive goroutine).
func (s *Session) OnFrame(f *callbox.Frame) {
	if f.Kind == callbox.FrameEvent {
		s.events.Store(true)
		return
	}
	s.jb.Push(f, time.Now())
}

// Digits delivers the DTMF digits found in the party's audio (RFC 4733 digits come as the
// leg's events). It is never closed.
func (s *Session) Digits() <-chan rune { return s.digits }

// Play plays src from the next frame on, in place of what plays now (which ends as if it had
// run out). The channel is closed when src has played to its end or was stopped; the session
// closes src then.
func (s *Session) Play(src Source) <-chan struct{} {
	p := &playback{src: src, done: make(chan struct{})}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		p.finish()
		return p.done
	}
	old := s.play
	s.plays++
	// Each playback is its own stream: the leg re-bases it onto the stream it sends.
	p.source = s.base + s.plays
	p.seq, p.ts = uint16(rand.Uint32()), rand.Uint32()
	s.play = p
	s.mu.Unlock()
	if old != nil {
		old.finish()
	}
	return p.done
}

// Stop ends what plays now, if anything.
func (s *Session) Stop() {
	s.mu.Lock()
	p := s.play
	s.play = nil
	s.mu.Unlock()
	if p != nil {
		p.finish()
	}
}

// Playing tells whether something plays.
func (s *Session) Playing() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.play != nil
}

// Close ends the session: nothing more is played or taken, and the leg's sink is free for
// a bridge. It returns once the clock will not touch the leg again.
func (s *Session) Close() {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.closed = true
	p := s.play
	s.play = nil
	rec := s.rec
	s.rec = nil
	if rec != nil {
		rec.finish(StoppedByOwner)
	}
	s.mu.Unlock()
	if p != nil {
		p.finish()
	}
	s.media.SetSink(nil)
}

// Stats returns the session's counters.
func (s *Session) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats
}

func (s *Session) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

// tick moves the session on to now: one frame heard and one played for each 20 ms due. It
// returns how many frames were late or skipped, and false once the session is closed.
func (s *Session) tick(now time.Time) (late, skipped int, open bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return 0, 0, false
	}
	if s.ticks == 0 {
		// Frame k is due k×20 ms after the session's first tick, give or take half a frame:
		// a tick a little early or late (the scheduler's jitter) is still on time.
		s.started = now.Add(-FrameDuration / 2)
	}
	due := int64(now.Sub(s.started)/FrameDuration) + 1
	n := due - s.ticks
	if n > maxCatchUp {
		skipped = int(n - maxCatchUp)
		s.ticks += n - maxCatchUp
		n = maxCatchUp
	}
	if n > 1 {
		late = int(n - 1)
	}
	for ; n > 0; n-- {
		s.ticks++
		s.listen()
		s.speak()
	}
	return late, skipped, true
}

// listen takes the frame due from the jitter buffer and hands it to the DTMF detector and
// a recording.
func (s *Session) listen() {
	fr := s.jb.Pop()
	switch fr.Status {
	case jitter.Ready:
		decode(s.pcm[:], fr.Codec, fr.Payload)
		s.last = s.pcm
		s.lostRun = 0
		s.stats.Heard++
	case jitter.Lost:
		// One lost frame is concealed by the one before (a DTMF tone must not break in two);
		// more become silence.
		if s.lostRun == 0 {
			s.pcm = s.last
		} else {
			clear(s.pcm[:])
		}
		s.lostRun++
		s.stats.Lost++
	default:
		// Nothing is coming: no audio to search, but a recording goes on in silence.
		if s.rec != nil {
			clear(s.pcm[:])
			s.rec.take(s, s.pcm[:])
		}
		return
	}
	if s.inband == InBandAlways || s.inband == InBandAuto && !s.events.Load() {
		for _, e := range s.det.Process(s.pcm[:]) {
			if e.End {
				continue
			}
			s.stats.InBand++
			select {
			case s.digits <- e.Digit:
			default:
				s.stats.Dropped++
			}
		}
	}
	if s.rec != nil {
		s.rec.take(s, s.pcm[:])
	}
}

// speak sends the next frame of what plays.
func (s *Session) speak() {
	p := s.play
	if p == nil {
		return
	}
	n, err := p.src.ReadFrame(s.out[:])
	if n > 0 {
		codec := s.media.Codec()
		s.frame = callbox.Frame{Kind: callbox.FrameAudio, Timestamp: p.ts, Seq: p.seq, Marker: p.sent == 0, Source: p.source}
		switch codec {
		case callbox.PCMA:
			s.frame.Codec, s.frame.Payload = callbox.PCMA, s.payload[:g711.EncodeAlaw(s.payload[:], s.out[:])]
		case callbox.L16:
			for i, v := range s.out {
				binary.LittleEndian.PutUint16(s.payload[2*i:], uint16(v))
			}
			s.frame.Codec, s.frame.Payload = callbox.L16, s.payload[:]
		default:
			s.frame.Codec, s.frame.Payload = callbox.PCMU, s.payload[:g711.EncodeUlaw(s.payload[:], s.out[:])]
		}
		if s.media.WriteFrame(&s.frame) != nil {
			s.stats.WriteErrors++
		}
		s.stats.Played++
		p.seq++
		p.ts += frameSamples
		p.sent++
	}
	if err != nil || n < frameSamples {
		// The last frame (short, or none): the playback is over.
		s.play = nil
		p.finish()
		if err != nil && err != io.EOF {
			s.stats.WriteErrors++ // a source that broke counts as a failed write
		}
	}
}

// decode turns a payload into 160 samples (silence where the payload is short).
func decode(dst []int16, codec callbox.Codec, payload []byte) {
	var n int
	if len(payload) > len(dst) && codec != callbox.L16 {
		payload = payload[:len(dst)] // a longer packet (40 ms ptime): its first 20 ms
	}
	switch codec {
	case callbox.PCMA:
		n = g711.DecodeAlaw(dst, payload)
	case callbox.L16:
		for n = 0; n < len(dst) && 2*n+1 < len(payload); n++ {
			dst[n] = int16(binary.LittleEndian.Uint16(payload[2*n:]))
		}
	default:
		n = g711.DecodeUlaw(dst, payload)
	}
	clear(dst[n:])
}

package switchboard

import (
	"encoding/binary"
	"io"
	"math/rand/v2"
	"slices"
	"sync"

	"callbox"
	"callbox/media/dsp"
	"callbox/media/session"
	"callbox/queue"
)

// conference mixes a supervised call: the caller, the agent and the supervisors each
// have a session on the media clock (jitter buffer in, paced frames out), and a dsp.Mixer
// gives each party the sum of those it may hear, never itself. Listen, whisper and barge
// are the mixer's presets.
//
// The caller's session drives the mix: at its tick it takes one frame heard from every
// party, mixes, hands each party its frame and writes the recording (the caller, and what
// the caller hears). The other parties' sessions, ticking on the same clock, queue what
// they hear and play what the mix left for them; a few frames of slack absorb their ticks
// falling before or after the caller's.
type conference struct {
	mu      sync.Mutex
	mixer   *dsp.Mixer
	parties []*confParty
	caller  *confParty
	agent   *confParty
	rec     Recording
	closed  bool

	callerIn [frameSamples]int16
	payload  [2 * frameSamples]byte
	frame    callbox.Frame
	seq      uint16
	ts       uint32
	source   uint32
}

const (
	frameSamples = 160
	confDepth    = 4 // frames a party's queues hold before the oldest is dropped
)

type confParty struct {
	conf *conference
	leg  callbox.Leg
	mode queue.Feature // a supervisor's; "" for caller and agent
	mp   *dsp.Party
	sess *session.Session
	in   pcmQueue // heard, not yet mixed
	out  pcmQueue // mixed, not yet played
}

// pcmQueue is a short queue of frames that drops the oldest when full.
type pcmQueue struct {
	frames [confDepth][frameSamples]int16
	head   int
	n      int
}

func (q *pcmQueue) push(pcm []int16) {
	if q.n == confDepth {
		q.head = (q.head + 1) % confDepth
		q.n--
	}
	copy(q.frames[(q.head+q.n)%confDepth][:], pcm)
	q.n++
}

func (q *pcmQueue) pop(dst []int16) bool {
	if q.n == 0 {
		return false
	}
	copy(dst, q.frames[q.head][:])
	q.head = (q.head + 1) % confDepth
	q.n--
	return true
}

// newConference takes over the media of caller and agent (the relay must be stopped) and
// mixes them; rec, when not nil, goes on recording.
func newConference(clock *session.Clock, caller, agent callbox.Leg, rec Recording) *conference {
	cf := &conference{mixer: dsp.NewMixer(frameSamples), rec: rec, source: rand.Uint32(), seq: uint16(rand.Uint32()), ts: rand.Uint32()}
	cf.caller = cf.join(clock, caller, "")
	cf.agent = cf.join(clock, agent, "")
	return cf
}

// join adds a party. Its session is made outside the lock: a session's tick holds the
// session's lock and then takes the conference's, never the other way round.
func (cf *conference) join(clock *session.Clock, leg callbox.Leg, mode queue.Feature) *confParty {
	p := &confParty{conf: cf, leg: leg, mode: mode}
	cf.mu.Lock()
	p.mp = cf.mixer.Join()
	cf.parties = append(cf.parties, p)
	cf.applyPresets()
	cf.mu.Unlock()
	p.sess = session.New(session.Options{Media: leg.Media(), Clock: clock, InBand: session.InBandNever})
	p.sess.Record(session.RecordOptions{To: partyInput{p}})
	p.sess.Play(partyOutput{p})
	return p
}

// applyPresets sets who hears whom (cf.mu held). Whether a party is heard depends on the
// speaker alone: caller, agent and a supervisor who barged in are heard by all, a whisper
// only by the agent, a listener by nobody. With one supervisor this is the mixer's
// Listen, Whisper or Barge; with several, each keeps its promise whoever else is on.
func (cf *conference) applyPresets() {
	for _, l := range cf.parties {
		for _, s := range cf.parties {
			if l == s {
				continue
			}
			hears := true
			switch s.mode {
			case queue.FeatureListen:
				hears = false
			case queue.FeatureWhisper:
				hears = l == cf.agent
			}
			cf.mixer.SetHears(l.mp, s.mp, hears)
		}
	}
}

// addSupervisor brings a supervisor's (answered) leg into the mix.
func (cf *conference) addSupervisor(clock *session.Clock, leg callbox.Leg, mode queue.Feature) {
	cf.join(clock, leg, mode)
}

// remove takes a party's leg out of the mix; it tells whether any supervisor is left.
func (cf *conference) remove(leg callbox.Leg) (supervised bool) {
	cf.mu.Lock()
	var gone *confParty
	cf.parties = slices.DeleteFunc(cf.parties, func(p *confParty) bool {
		if p.leg == leg {
			gone = p
			return true
		}
		return false
	})
	if gone != nil {
		cf.mixer.Leave(gone.mp)
	}
	for _, p := range cf.parties {
		supervised = supervised || p.mode != ""
	}
	cf.mu.Unlock()
	if gone != nil {
		gone.sess.Close()
	}
	return supervised
}

// close ends the mix; the legs' media are free for a relay again.
func (cf *conference) close() {
	cf.mu.Lock()
	cf.closed = true
	parties := cf.parties
	cf.parties = nil
	cf.mu.Unlock()
	for _, p := range parties {
		p.sess.Close()
	}
}

// mix makes one frame for everybody (cf.mu held; the caller's tick).
func (cf *conference) mix() {
	var pcm [frameSamples]int16
	clear(cf.callerIn[:])
	for _, p := range cf.parties {
		if p.in.pop(pcm[:]) {
			p.mp.SetInput(pcm[:])
			if p == cf.caller {
				cf.callerIn = pcm
			}
		}
	}
	cf.mixer.Mix()
	for _, p := range cf.parties {
		if p != cf.caller {
			p.out.push(p.mp.Output())
		}
	}
	if cf.rec != nil {
		cf.record(true, cf.callerIn[:])
		cf.record(false, cf.caller.mp.Output())
	}
	cf.seq++
	cf.ts += frameSamples
}

// record writes one side's frame to the call's recording: the caller (left) and what the
// caller hears (right: the agent, and a supervisor who barged in).
func (cf *conference) record(caller bool, pcm []int16) {
	for i, v := range pcm {
		binary.LittleEndian.PutUint16(cf.payload[2*i:], uint16(v))
	}
	cf.frame = callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.L16, Payload: cf.payload[:], Timestamp: cf.ts,
		Seq: cf.seq, Source: cf.source}
	cf.rec.Write(caller, &cf.frame)
}

// partyInput takes what a party says, frame by frame, from its session.
type partyInput struct{ p *confParty }

func (in partyInput) Record(pcm []int16, talking bool) {
	cf := in.p.conf
	cf.mu.Lock()
	in.p.in.push(pcm)
	cf.mu.Unlock()
}

// partyOutput is what a party hears, as its session plays it.
type partyOutput struct{ p *confParty }

func (out partyOutput) ReadFrame(frame []int16) (int, error) {
	p := out.p
	cf := p.conf
	cf.mu.Lock()
	defer cf.mu.Unlock()
	if cf.closed {
		return 0, io.EOF
	}
	if p == cf.caller {
		cf.mix()
		copy(frame, p.mp.Output())
		return len(frame), nil
	}
	if !p.out.pop(frame) {
		clear(frame)
	}
	return len(frame), nil
}

func (out partyOutput) Close() error { return nil }

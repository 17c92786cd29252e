// Package sim is a simulated line: a callbox.Leg whose far end a test or a demo plays. The
// far end rings, answers, presses keys, speaks, holds and hangs up when told to; the leg
// keeps what the box did to it (rang, answered, held, hung up, and every frame of audio it
// sent), so the IVR, the switchboard and the media sessions can be driven without a SIP
// peer or a line box.
//
// The package starts no goroutines: what the far end does runs on the caller's goroutine,
// and speaking paces itself with time.Sleep, so a leg works inside a testing/synctest bubble
// (on the bubble's clock) as well as in real time.
package sim

import (
	"context"
	"sync"
	"time"

	"callbox"
)

// FrameDuration is the length of one frame of the party's voice.
const FrameDuration = 20 * time.Millisecond

// FrameSamples is the number of 8 kHz samples in one frame.
const FrameSamples = 160

// eventBuffer is how many events the leg holds for the box before the far end waits.
const eventBuffer = 256

// Options describe the simulated party.
type Options struct {
	// ID is the leg's id; "sim-" and the remote number if empty.
	ID string
	// Kind is what the box takes the leg for; callbox.LegSim if empty.
	Kind   callbox.LegKind
	Remote callbox.Party // the party: the caller of an inbound leg, the callee of an outbound one
	Local  callbox.Party // the number dialled (inbound) or presented (outbound)
	Trunk  string        // the trunk or line the leg claims to run on
	// Codec is the codec of the party's voice; callbox.PCMU if none.
	Codec callbox.Codec
	// Source identifies the stream of the party's voice (as an RTP SSRC would); 1 if zero.
	Source uint32
}

// State is what the box did to the leg so far.
type State struct {
	Rung       bool // the box told the caller the call progresses (Ring)
	EarlyMedia bool // … with early media
	// Answered is true once the box answered the leg, or the party answered an outbound leg.
	Answered bool
	OnHold   bool // the box holds the party (Hold)
	Ended    bool
	Cause    callbox.Cause // why the leg ended
	ByRemote bool          // the party hung up, not the box
}

// Leg is a simulated party on a call. Its callbox.Leg methods are the box's side; the
// methods named in the third person (Rings, Answers, Presses, Speaks, Sends, Holds,
// Transfers, HangsUp) are what the far end does; State, Frames and Heard tell what the box
// did. All methods are safe for concurrent use.
type Leg struct {
	o      Options
	events chan callbox.LegEvent
	done   chan struct{}
	media  media

	mu    sync.Mutex // guards state, and orders events with the close of the channel
	state State

	voice voice // the party's outgoing stream
}

var _ callbox.Leg = (*Leg)(nil)

// NewLeg returns a leg with a party on the far end, not yet rung nor answered.
func NewLeg(o Options) *Leg {
	if o.ID == "" {
		o.ID = "sim-" + o.Remote.Number
	}
	if o.Kind == "" {
		o.Kind = callbox.LegSim
	}
	if o.Codec == callbox.CodecNone {
		o.Codec = callbox.PCMU
	}
	if o.Source == 0 {
		o.Source = 1
	}
	l := &Leg{o: o, events: make(chan callbox.LegEvent, eventBuffer), done: make(chan struct{})}
	l.media.codec = o.Codec
	l.voice.source = o.Source
	return l
}

// ID is the leg's id.
func (l *Leg) ID() string { return l.o.ID }

// Kind is what the box takes the leg for.
func (l *Leg) Kind() callbox.LegKind { return l.o.Kind }

// Remote is the simulated party.
func (l *Leg) Remote() callbox.Party { return l.o.Remote }

// Local is the number dialled or presented.
func (l *Leg) Local() callbox.Party { return l.o.Local }

// Trunk is the trunk or line named in the options.
func (l *Leg) Trunk() string { return l.o.Trunk }

// Events delivers what the far end does, in order; the last is the hangup.
func (l *Leg) Events() <-chan callbox.LegEvent { return l.events }

// Done is closed when the leg has ended.
func (l *Leg) Done() <-chan struct{} { return l.done }

// Media is the leg's audio: what the box writes is kept, what the party says goes to the
// sink.
func (l *Leg) Media() callbox.Media { return &l.media }

// Ring notes that the box told the party the call progresses.
func (l *Leg) Ring(ctx context.Context, earlyMedia bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.state.Ended && !l.state.Answered {
		l.state.Rung = true
		l.state.EarlyMedia = l.state.EarlyMedia || earlyMedia
	}
	return nil
}

// Answer notes that the box answered; like a SIP leg, answering an answered or ended leg
// does nothing.
func (l *Leg) Answer(ctx context.Context) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.state.Ended {
		l.state.Answered = true
	}
	return nil
}

// Hold notes that the box put the party on hold (on) or took it off.
func (l *Leg) Hold(ctx context.Context, on bool) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.state.Ended {
		l.state.OnHold = on
	}
	return nil
}

// Hangup ends the leg from the box's side; a second hangup does nothing.
func (l *Leg) Hangup(ctx context.Context, cause callbox.Cause) error {
	l.end(cause, false)
	return nil
}

// State is what the box did to the leg so far.
func (l *Leg) State() State {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// Rings tells the box the far end of an outbound leg is ringing.
func (l *Leg) Rings() { l.emit(callbox.LegEvent{Kind: callbox.LegRinging}) }

// Answers tells the box the far end of an outbound leg answered.
func (l *Leg) Answers() { l.emit(callbox.LegEvent{Kind: callbox.LegAnswered}) }

// Holds tells the box the party put the call on hold (on) or took it off.
func (l *Leg) Holds(on bool) {
	kind := callbox.LegUnhold
	if on {
		kind = callbox.LegHold
	}
	l.emit(callbox.LegEvent{Kind: kind})
}

// Transfers tells the box the party asked for a blind transfer to target.
func (l *Leg) Transfers(target string) {
	l.emit(callbox.LegEvent{Kind: callbox.LegTransfer, Target: target})
}

// Presses sends a key as a SIP leg reports an RFC 4733 digit: its first event packet to the
// sink, then the digit as an event. Keys other than 0-9, *, #, A-D are ignored.
func (l *Leg) Presses(key rune) {
	code, ok := eventCode(key)
	if !ok {
		return
	}
	l.Sends(&callbox.Frame{Kind: callbox.FrameEvent, Payload: []byte{code, 10, 0, 0}, Source: l.o.Source})
	l.emit(callbox.LegEvent{Kind: callbox.LegDTMF, Digit: key})
}

// HangsUp ends the leg from the far end with cause; nothing happens on an ended leg.
func (l *Leg) HangsUp(cause callbox.Cause) { l.end(cause, true) }

// emit sends an event from the far end, unless the leg has ended.
func (l *Leg) emit(ev callbox.LegEvent) {
	ev.At = time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state.Ended {
		return
	}
	if ev.Kind == callbox.LegAnswered {
		l.state.Answered = true
	}
	l.events <- ev
}

// end ends the leg once: the hangup is the last event, then Events and Done close.
func (l *Leg) end(cause callbox.Cause, byRemote bool) {
	at := time.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.state.Ended {
		return
	}
	l.state.Ended, l.state.Cause, l.state.ByRemote = true, cause, byRemote
	l.events <- callbox.LegEvent{Kind: callbox.LegHangup, At: at, Cause: cause, ByRemote: byRemote}
	close(l.events)
	close(l.done)
}

func (l *Leg) ended() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state.Ended
}

// eventCode is the RFC 4733 event code of a DTMF key.
func eventCode(key rune) (byte, bool) {
	switch {
	case key >= '0' && key <= '9':
		return byte(key - '0'), true
	case key == '*':
		return 10, true
	case key == '#':
		return 11, true
	case key >= 'A' && key <= 'D':
		return byte(key-'A') + 12, true
	}
	return 0, false
}

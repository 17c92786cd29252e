package callbox

import (
	"context"
	"time"
)

// LegKind says what produced a Leg.
type LegKind string

const (
	LegTrunk LegKind = "trunk" // a SIP trunk (provider or IP peer)
	LegPhone LegKind = "phone" // a phone registered to the box (desk phone, softphone)
	LegLine  LegKind = "line"  // an analog line on a USB box
	LegSim   LegKind = "sim"   // a simulated party, for tests and demos
)

// Party is who is on the far end of a Leg, as the box knows them.
type Party struct {
	Number string `json:"number"`         // E.164 where known, else as received
	Name   string `json:"name,omitempty"` // display name or caller ID name
}

// Leg is one party of a call: signalling (answer, hang up, DTMF, transfer) and 20 ms frames of
// audio in and out. SIP trunks, phones, analog lines and simulated parties all produce Legs, so
// the IVR, the queue, recording and campaigns walk the same code whatever the line.
//
// Methods are safe for concurrent use. Events are delivered in order on Events(); the last one
// is a LegHangup, after which the channel is closed.
type Leg interface {
	ID() string
	Kind() LegKind
	// Remote is the party on the far end: the caller for an inbound leg, the callee for an
	// outbound one.
	Remote() Party
	// Local is the number the far end dialled (inbound) or presents as caller ID (outbound).
	Local() Party
	// Trunk names the trunk or line the leg runs on, "" for a phone.
	Trunk() string

	// Ring tells an inbound caller the call is progressing (SIP 180); with earlyMedia the
	// leg's audio flows before the answer (SIP 183), so prompts and ringback can be played.
	Ring(ctx context.Context, earlyMedia bool) error
	// Answer answers an inbound leg. Outbound legs answer themselves (LegAnswered).
	Answer(ctx context.Context) error
	// Hangup ends the leg with a cause. It returns once the far end was told.
	Hangup(ctx context.Context, cause Cause) error
	// Hold tells the party the call is on hold (on) or resumed; a SIP leg sends a re-INVITE,
	// other lines may do nothing.
	Hold(ctx context.Context, on bool) error
	// Events delivers what happens on the leg.
	Events() <-chan LegEvent
	// Done is closed when the leg has ended.
	Done() <-chan struct{}

	// Media is the leg's audio.
	Media() Media
}

// Media is a leg's audio: frames from the party go to the current sink, frames written are
// sent to the party.
type Media interface {
	// Codec is the codec of the frames the leg delivers and prefers to receive.
	Codec() Codec
	// SetSink sets where frames received from the party go; nil drops them. The sink is
	// called on the leg's receive path and must not block.
	SetSink(FrameSink)
	// WriteFrame sends a frame to the party, converting its codec if needed. Frames from one
	// source carry that source's timestamps; the leg keeps its outgoing stream continuous
	// across changes of source.
	WriteFrame(f *Frame) error
}

// Codec is an audio payload format. The box speaks G.711 on the wire and linear PCM inside.
type Codec uint8

const (
	CodecNone Codec = iota
	PCMU            // G.711 µ-law, 8 kHz
	PCMA            // G.711 A-law, 8 kHz
	L16             // linear 16-bit little-endian PCM, 8 kHz, inside the box only
)

func (c Codec) String() string {
	switch c {
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	case L16:
		return "L16"
	}
	return "none"
}

// FrameKind tells audio from RFC 4733 telephone events.
type FrameKind uint8

const (
	FrameAudio FrameKind = iota
	FrameEvent           // RFC 4733 telephone-event payload (4 bytes)
)

// Frame is one packet's worth of media (normally 20 ms). Payload is only valid during the call
// that delivers it: a sink that keeps it must copy it.
type Frame struct {
	Kind      FrameKind
	Codec     Codec
	Payload   []byte
	Timestamp uint32 // in 8 kHz samples, on the source's clock
	Seq       uint16 // the source's sequence number
	Marker    bool
	// Source identifies the stream the frame came from; a change tells the receiving leg to
	// re-base its outgoing timestamps.
	Source uint32
}

// FrameSink receives frames from a leg.
type FrameSink interface {
	OnFrame(f *Frame)
}

// FrameSinkFunc adapts a function to a FrameSink.
type FrameSinkFunc func(f *Frame)

// OnFrame calls fn(f).
func (fn FrameSinkFunc) OnFrame(f *Frame) { fn(f) }

// LegEventKind names what happened on a leg.
type LegEventKind uint8

const (
	LegRinging  LegEventKind = iota + 1 // the far end is ringing (outbound legs)
	LegProgress                         // early media is flowing (outbound legs)
	LegAnswered                         // the far end answered (outbound legs)
	LegDTMF                             // a digit, from RFC 4733, SIP INFO or in-band tones
	LegHold                             // the party put the call on hold
	LegUnhold                           // the party took the call off hold
	LegTransfer                         // the party asked to transfer the call (blind, to Target)
	LegHangup                           // the leg ended; always the last event
)

func (k LegEventKind) String() string {
	switch k {
	case LegRinging:
		return "ringing"
	case LegProgress:
		return "progress"
	case LegAnswered:
		return "answered"
	case LegDTMF:
		return "dtmf"
	case LegHold:
		return "hold"
	case LegUnhold:
		return "unhold"
	case LegTransfer:
		return "transfer"
	case LegHangup:
		return "hangup"
	}
	return "unknown"
}

// LegEvent is something that happened on a leg.
type LegEvent struct {
	Kind   LegEventKind
	At     time.Time
	Digit  rune   // LegDTMF: 0-9, *, #, A-D
	Target string // LegTransfer: the number to transfer to
	Cause  Cause  // LegHangup: why the leg ended
	// ByRemote is true on LegHangup when the far end hung up, false when the box did.
	ByRemote bool
}

// Cause is why a leg or call ended, in words that map onto SIP responses and Q.850 causes.
type Cause string

const (
	CauseNormal      Cause = "normal"       // someone hung up after talking
	CauseBusy        Cause = "busy"         // 486 / 600
	CauseNoAnswer    Cause = "no-answer"    // rang until the timeout, or 480/408
	CauseRejected    Cause = "rejected"     // 603 or a blacklist
	CauseNotFound    Cause = "not-found"    // 404 / 484: no such number
	CauseCancelled   Cause = "cancelled"    // the caller gave up before the answer
	CauseUnavailable Cause = "unavailable"  // 503 / no route / no trunk / shutting down
	CauseNoMedia     Cause = "no-media"     // no RTP for the configured time
	CauseMaxDuration Cause = "max-duration" // the call reached its maximum length
	CauseShutdown    Cause = "shutdown"     // the box is stopping
	CauseFailed      Cause = "failed"       // any other failure
)

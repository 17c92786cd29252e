package callbox

import (
	"encoding/json"
	"time"
)

// Direction says which way a call crossed the box.
type Direction string

const (
	Inbound  Direction = "inbound"  // from a trunk or line to the box
	Outbound Direction = "outbound" // from the box (a phone, a campaign) to a trunk or line
	Internal Direction = "internal" // between two phones of the box
)

// HangupSide says which party ended a call.
type HangupSide string

const (
	SideCaller HangupSide = "caller" // the party that placed the call
	SideCallee HangupSide = "callee" // the party that was called (agent, extension, number)
	SideBox    HangupSide = "box"    // the box itself: timeout, shutdown, IVR hang-up, error
)

// Record is the stored record of one call through the box: who, when, how it ended, and its
// timeline. It is written once, when the call ends, in the same transaction as its outbox rows.
type Record struct {
	ID        string     `json:"id"`
	Direction Direction  `json:"direction"`
	From      string     `json:"from"`
	FromName  string     `json:"from_name,omitempty"`
	To        string     `json:"to"`
	DID       string     `json:"did,omitempty"`
	Trunk     string     `json:"trunk,omitempty"`
	Extension string     `json:"extension,omitempty"` // the extension that took (or placed) the call
	Queue     string     `json:"queue,omitempty"`
	Agent     string     `json:"agent,omitempty"`
	Started   time.Time  `json:"started"`
	Answered  *time.Time `json:"answered,omitempty"`
	Ended     time.Time  `json:"ended"`
	// Result is how the call ended in call-center terms: answered, missed, busy, failed,
	// abandoned, voicemail, rejected.
	Result     string            `json:"result"`
	Cause      string            `json:"cause"` // SIP-style cause, e.g. "normal", "busy", "no-answer"
	HangupSide HangupSide        `json:"hangup_side"`
	TalkTime   time.Duration     `json:"talk_ms"`
	VIP        int               `json:"vip,omitempty"`
	Flags      []string          `json:"flags,omitempty"`
	Variables  map[string]string `json:"variables,omitempty"`
	Survey     int               `json:"survey,omitempty"` // 1–5, 0 when no answer
	Recording  *Recording        `json:"recording,omitempty"`
	Media      *MediaStats       `json:"media,omitempty"`
	Events     []Event           `json:"events,omitempty"`
}

// MarshalJSON writes TalkTime in milliseconds, as its tag says.
func (r Record) MarshalJSON() ([]byte, error) {
	type plain Record
	return json.Marshal(struct {
		plain
		TalkTime int64 `json:"talk_ms"`
	}{plain(r), r.TalkTime.Milliseconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Record) UnmarshalJSON(b []byte) error {
	type plain Record
	var v struct {
		plain
		TalkTime int64 `json:"talk_ms"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Record(v.plain)
	r.TalkTime = time.Duration(v.TalkTime) * time.Millisecond
	return nil
}

// MediaStats is what RTP did on each side of an answered call: packets from each party
// (in) and to each party (out), packets lost on the way in, and jitter. A call whose
// counters are all non-zero really carried audio both ways through the box.
type MediaStats struct {
	CallerIn       uint64  `json:"caller_in"`
	CallerOut      uint64  `json:"caller_out"`
	CallerLost     uint64  `json:"caller_lost"`
	CallerJitterMS float64 `json:"caller_jitter_ms"`
	CalleeIn       uint64  `json:"callee_in"`
	CalleeOut      uint64  `json:"callee_out"`
	CalleeLost     uint64  `json:"callee_lost"`
	CalleeJitterMS float64 `json:"callee_jitter_ms"`
}

// Event is one step of a call's timeline.
type Event struct {
	At     time.Time         `json:"at"`
	Kind   string            `json:"kind"` // e.g. "ringing", "answered", "dtmf", "ivr.node", "queue.offer"
	Leg    string            `json:"leg,omitempty"`
	Detail map[string]string `json:"detail,omitempty"`
}

// Recording is the audio file of a call or voicemail, as indexed in the store.
type Recording struct {
	ID       string        `json:"id"`
	CallID   string        `json:"call_id"`
	Kind     string        `json:"kind"` // "call" or "voicemail"
	Path     string        `json:"path"`
	Format   string        `json:"format"` // "pcmu" or "pcm16"
	Duration time.Duration `json:"duration_ms"`
	Size     int64         `json:"size"`
	Created  time.Time     `json:"created"`
}

// MarshalJSON writes Duration in milliseconds.
func (r Recording) MarshalJSON() ([]byte, error) {
	type plain Recording
	return json.Marshal(struct {
		plain
		Duration int64 `json:"duration_ms"`
	}{plain(r), r.Duration.Milliseconds()})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (r *Recording) UnmarshalJSON(b []byte) error {
	type plain Recording
	var v struct {
		plain
		Duration int64 `json:"duration_ms"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Recording(v.plain)
	r.Duration = time.Duration(v.Duration) * time.Millisecond
	return nil
}

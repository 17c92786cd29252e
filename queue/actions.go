package queue

import "time"

// Action is what the engine decided. Leg actions (Offer, CancelOffer, Bridge, DialCaller,
// Unbridge, Overflow, Moved, Transfer, Announce, CallbackAccepted) are for the Connector,
// which rings, bridges and plays with legs; the others (AgentChanged, Alert, Finished,
// CallbackPending) are records for the store, screens and metrics.
type Action interface {
	// Kind names the action for logs and event streams, e.g. "offer".
	Kind() string
	// CallID is the call the action is about, "" for agent-only actions.
	CallID() string
}

// Endpoint is one device an offer rings.
type Endpoint struct {
	Kind   string // "desk" (the agent's extension) or "mobile" (an outside number)
	Target string // the extension or the number
	// After is how long after the offer starts this endpoint starts ringing.
	After time.Duration
	// For is how long it rings; 0 = until the offer ends.
	For time.Duration
	// Confirm is the key the agent must press after answering (mobile: "press 1 to accept")
	// before the call counts as answered; "" = answering is enough.
	Confirm string
}

// Offer rings an agent for a call. The Connector reports the outcome with Answered (after
// the confirmation key for endpoints that need one) or NotAnswered; when Timeout passes
// first, the engine sends CancelOffer itself.
type Offer struct {
	Call      string
	Queue     string
	Agent     string
	Caller    Caller
	Endpoints []Endpoint
	Timeout   time.Duration
	// Callback: the caller is not on the line; once the agent answers, DialCaller follows.
	Callback bool
	Forced   bool // a supervisor assigned the call
	Sticky   bool // the agent is the caller's sticky agent
}

// CancelOffer stops ringing an agent for a call.
type CancelOffer struct {
	Call, Agent string
	Reason      string // answered-elsewhere, no-answer, caller-gone, take-back, logout, ...
}

// Bridge connects the caller with the agent who answered.
type Bridge struct {
	Call, Queue, Agent string
	Waited             time.Duration // in this queue, until the answer
	// StickyAgent was the caller's sticky agent ("" = none); StickyHit says it took the call.
	StickyAgent string
	StickyHit   bool
	Callback    bool
	// Again: the call was answered in this queue before (taken back or transferred since).
	Again  bool
	Record *bool // the queue's recording override
}

// DialCaller calls back a caller whose agent has answered.
type DialCaller struct {
	Call, Queue, Agent string
	Number             string
}

// Unbridge takes the agent off a call; the caller stays with the box, hearing music.
type Unbridge struct {
	Call, Agent string
	Reason      string // take-back, transfer
}

// Overflow sends a caller out of the queues to Dest ("" = play the sorry message and hang up).
type Overflow struct {
	Call, Queue string
	Dest        string
	Reason      string // full, empty, timeout, removed
}

// Moved tells that a caller went on to another queue (an overflow to queue:NAME or a
// supervisor's transfer); they keep waiting, now there.
type Moved struct {
	Call, From, To string
	Reason         string
}

// Transfer sends a call in progress to Dest (a supervisor's force-transfer), ending it for
// the agent.
type Transfer struct {
	Call, Queue, Agent string
	Dest               string
}

// AnnounceKind says what a waiting caller is to hear.
type AnnounceKind string

const (
	AnnouncePosition AnnounceKind = "position" // position and, when known, estimated wait
	AnnounceMessage  AnnounceKind = "message"  // one of the queue's periodic messages
)

// Announce plays something to a waiting caller.
type Announce struct {
	Call, Queue string
	What        AnnounceKind
	Position    int           // 1 = next
	Estimated   time.Duration // 0 = unknown
	Prompt      string        // AnnounceMessage: the prompt
}

// CallbackAccepted confirms a callback request: the Connector tells the caller and hangs
// up their leg; the call keeps its place.
type CallbackAccepted struct {
	Call, Queue, Number string
	Position            int
}

// QueueLogin is an agent logged in to a queue.
type QueueLogin struct {
	Queue   string `json:"queue"`
	Penalty int    `json:"penalty"`
}

// AgentChanged records a change of an agent: its state, a login or logout (Queue says
// which), a pause, a mobile login. It carries everything that survives a restart.
type AgentChanged struct {
	Agent, Name string
	State       State
	Reason      string
	Queue       string // the queue logged in to or out of, "" otherwise
	At          time.Time
	Paused      bool
	PauseReason string
	Mobile      bool
	Queues      []QueueLogin
}

// Alert says a caller has waited past the queue's alert threshold.
type Alert struct {
	Call, Queue string
	Number      string
	Waited      time.Duration
	At          time.Time
}

// Finished records a caller's time in one queue once it is over: answered and ended,
// abandoned, overflowed, or a callback done.
type Finished struct {
	Call, Queue, Agent string
	Number             string
	Priority           int
	Result             Result
	Joined, At         time.Time
	Waited             time.Duration // until answered, or until the caller left
	Handled            time.Duration // talk and wrap-up, answered calls only
	StickyAgent        string
	StickyHit          bool
	Callback           bool
}

// CallbackPending records a callback request as it stands, so it survives a restart.
type CallbackPending struct {
	Call, Queue string
	Caller      Caller
	Joined      time.Time // when the caller first joined; their place follows from it
	Attempts    int
}

func (Offer) Kind() string            { return "offer" }
func (CancelOffer) Kind() string      { return "cancel_offer" }
func (Bridge) Kind() string           { return "bridge" }
func (DialCaller) Kind() string       { return "dial_caller" }
func (Unbridge) Kind() string         { return "unbridge" }
func (Overflow) Kind() string         { return "overflow" }
func (Moved) Kind() string            { return "moved" }
func (Transfer) Kind() string         { return "transfer" }
func (Announce) Kind() string         { return "announce" }
func (CallbackAccepted) Kind() string { return "callback_accepted" }
func (AgentChanged) Kind() string     { return "agent_changed" }
func (Alert) Kind() string            { return "alert" }
func (Finished) Kind() string         { return "finished" }
func (CallbackPending) Kind() string  { return "callback_pending" }

func (a Offer) CallID() string            { return a.Call }
func (a CancelOffer) CallID() string      { return a.Call }
func (a Bridge) CallID() string           { return a.Call }
func (a DialCaller) CallID() string       { return a.Call }
func (a Unbridge) CallID() string         { return a.Call }
func (a Overflow) CallID() string         { return a.Call }
func (a Moved) CallID() string            { return a.Call }
func (a Transfer) CallID() string         { return a.Call }
func (a Announce) CallID() string         { return a.Call }
func (a CallbackAccepted) CallID() string { return a.Call }
func (AgentChanged) CallID() string       { return "" }
func (a Alert) CallID() string            { return a.Call }
func (a Finished) CallID() string         { return a.Call }
func (a CallbackPending) CallID() string  { return a.Call }

// IsLegAction tells the actions the Connector executes from the records.
func IsLegAction(a Action) bool {
	switch a.(type) {
	case Offer, CancelOffer, Bridge, DialCaller, Unbridge, Overflow, Moved, Transfer, Announce, CallbackAccepted:
		return true
	}
	return false
}

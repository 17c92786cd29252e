package queue

import (
	"time"

	"callbox"
)

// State is what an agent is doing, as supervisors and reports see it.
type State string

const (
	StateLoggedOut State = "logged_out" // in no queue
	StateAvailable State = "available"  // logged in and free for the next call
	StateRinging   State = "ringing"    // a queue call is being offered
	StateOnCall    State = "on_call"    // talking (a queue call or a direct one)
	StateWrapUp    State = "wrap_up"    // after a call, finishing its notes
	StatePaused    State = "paused"     // logged in but taking no calls, with a reason
)

// States lists every state in the order screens show them.
func States() []State {
	return []State{StateAvailable, StateRinging, StateOnCall, StateWrapUp, StatePaused, StateLoggedOut}
}

// Strategy chooses which free agent of a queue is offered the next call.
type Strategy string

const (
	RingAll     Strategy = "ring-all"     // every free agent of the lowest tier at once
	LongestIdle Strategy = "longest-idle" // the agent whose last call ended longest ago
	RoundRobin  Strategy = "round-robin"  // the next agent after the one offered last time
	FewestCalls Strategy = "fewest-calls" // the agent who answered fewest calls of the queue today
	Random      Strategy = "random"       // any free agent (seedable, for tests)
	Linear      Strategy = "linear"       // always the first free agent in the members' order
)

// Strategies lists every strategy.
func Strategies() []Strategy {
	return []Strategy{RingAll, LongestIdle, RoundRobin, FewestCalls, Random, Linear}
}

// Condition is a queue's rule for callers joining and staying when agents are missing.
type Condition string

const (
	Always   Condition = "always"   // whatever the agents do
	Staffed  Condition = "staffed"  // at least one member is logged in (paused or busy counts)
	Unpaused Condition = "unpaused" // at least one member is logged in, not paused and may take calls
)

// MobileRing says how an agent's desk phone and mobile ring for one offer.
type MobileRing string

const (
	MobileParallel MobileRing = "parallel" // desk and mobile together
	MobileSequence MobileRing = "sequence" // desk first, mobile after MobileAfter
	MobileOnly     MobileRing = "mobile"   // only the mobile
)

// Member is an agent's place in a queue: lower penalties get calls first (tiers).
type Member struct {
	Agent   string
	Penalty int
}

// QueueConfig is one queue's rules.
type QueueConfig struct {
	Name     string
	Strategy Strategy
	Members  []Member // in the order linear and round-robin follow
	// RingTimeout is how long one offer rings before it counts as unanswered.
	RingTimeout time.Duration
	// Retry is how long a call waits after an unanswered offer before its next one.
	Retry time.Duration
	// WrapUp is how long an agent takes no call after a call of this queue.
	WrapUp time.Duration
	// MaxWait sends a caller to Overflow after waiting this long in the queue; 0 = no limit.
	MaxWait time.Duration
	// Overflow is where callers go when the queue cannot keep them: "queue:NAME",
	// "voicemail:EXT", "extension:EXT", "group:NAME", "number:NUMBER"; "" hangs up after the
	// lead's sorry message.
	Overflow string
	// MaxLength is how many callers may wait (callbacks included); 0 = no limit.
	MaxLength int
	// JoinIf must hold for a caller to join; StayIf for waiting callers to stay.
	JoinIf, StayIf Condition
	// AnnounceEvery is how often a waiting caller hears their position and estimated wait;
	// 0 = never.
	AnnounceEvery time.Duration
	// Messages are prompts played in turn every MessageEvery.
	Messages     []string
	MessageEvery time.Duration
	// ServiceLevel is the answer time the service level counts against (e.g. 20s).
	ServiceLevel time.Duration
	// AlertAfter raises an alert for a caller waiting longer; 0 = never.
	AlertAfter time.Duration
	// StickyWindow: a caller whose last answered call was within it is offered to that
	// agent first; 0 = no stickiness from history (an open ticket's agent still counts).
	StickyWindow time.Duration
	// StickyWait is how long a call waits for its busy sticky agent before anyone may take it.
	StickyWait time.Duration
	// Ageing raises a waiting caller's priority by one level per Ageing waited; 0 = never.
	Ageing time.Duration
	// TierDelay holds back members with penalty P until a call waited P×TierDelay; 0 = the
	// lowest penalty among free members simply goes first.
	TierDelay time.Duration
	// AutoPauseAfter pauses an agent after this many unanswered offers in a row; 0 = never.
	AutoPauseAfter int
	// CallbackKey is the digit a waiting caller presses to be called back; "" = no callbacks.
	CallbackKey string
	// CallbackRetry and CallbackAttempts govern callers who do not answer their callback.
	CallbackRetry    time.Duration
	CallbackAttempts int
	// Record overrides the box's recording setting for this queue's calls; nil = as the box.
	Record *bool
}

// AgentConfig is one agent: a person with an extension and maybe a mobile.
type AgentConfig struct {
	ID     string // the agent's extension
	Name   string
	Mobile string // outside number, "" = none
	// MobileRing and MobileAfter say how desk and mobile ring when the mobile is in use.
	MobileRing  MobileRing
	MobileAfter time.Duration
	// MobileSchedule makes the mobile ring at these times without a mobile login.
	MobileSchedule []Window
	// MaxCalls is how many calls the agent may have at once; 0 = busy, never offered.
	MaxCalls int
	// AutoLogin logs the agent in to their queues when the box knows nothing of them yet.
	AutoLogin bool
}

// Window is a weekly time span, e.g. Monday to Friday 18:00-22:00. A span whose end is
// before its start runs past midnight into the next day.
type Window struct {
	Days     [7]bool       // by time.Weekday
	From, To time.Duration // since midnight
}

// Contains tells whether t (in its own location) falls in the window.
func (w Window) Contains(t time.Time) bool {
	tod := time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute + time.Duration(t.Second())*time.Second
	day := t.Weekday()
	if w.From <= w.To {
		return w.Days[day] && tod >= w.From && tod < w.To
	}
	prev := (day + 6) % 7
	return (w.Days[day] && tod >= w.From) || (w.Days[prev] && tod < w.To)
}

// Config is everything the engine distributes by.
type Config struct {
	Queues []QueueConfig
	Agents []AgentConfig
	// Location is where "today" and mobile schedules are reckoned; nil = the box's local time.
	Location *time.Location
}

// Caller is who waits in a queue, with what the box knows about them.
type Caller struct {
	Number string `json:"number"`
	Name   string `json:"name,omitempty"`
	// Priority is the VIP level: higher goes first, 0 is everyone else.
	Priority int `json:"priority,omitempty"`
	// LastAgent answered this number's last call, at LastAgentAt (from the call history).
	LastAgent   string    `json:"last_agent,omitempty"`
	LastAgentAt time.Time `json:"last_agent_at,omitzero"`
	// TicketAgent is the agent of the caller's open helpdesk ticket, if any.
	TicketAgent string `json:"ticket_agent,omitempty"`
}

// Result is how a caller's time in a queue ended.
type Result string

const (
	ResultAnswered       Result = "answered"        // an agent took it live
	ResultAbandoned      Result = "abandoned"       // the caller hung up while waiting
	ResultOverflow       Result = "overflow"        // sent elsewhere: full, empty, waited too long
	ResultCallback       Result = "callback"        // left with a callback request, later connected
	ResultCallbackFailed Result = "callback_failed" // the callback never reached the caller
)

func errInvalid(format string, args ...any) error {
	return callbox.Errorf(callbox.EINVALID, format, args...)
}

func errNotFound(format string, args ...any) error {
	return callbox.Errorf(callbox.ENOTFOUND, format, args...)
}

func errConflict(format string, args ...any) error {
	return callbox.Errorf(callbox.ECONFLICT, format, args...)
}

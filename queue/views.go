package queue

import (
	"slices"
	"time"
)

// QueueView is one queue in the live view.
type QueueView struct {
	Name        string        `json:"name"`
	Strategy    Strategy      `json:"strategy"`
	Waiting     int           `json:"waiting"`   // callers on the line
	Callbacks   int           `json:"callbacks"` // callback requests waiting for their turn
	LongestWait int64         `json:"longest_wait_seconds"`
	Agents      map[State]int `json:"agents"` // members by state
	Today       QueueToday    `json:"today"`
	Callers     []CallerView  `json:"callers"` // in the order they will be served
	Members     []MemberView  `json:"members"`
}

// QueueToday are a queue's figures since midnight.
type QueueToday struct {
	Answered   int `json:"answered"`
	Abandoned  int `json:"abandoned"`
	Overflowed int `json:"overflowed"`
	Callbacks  int `json:"callbacks"`
	// ServiceLevel is the percentage answered within ServiceLevelSec of all callers who
	// were answered, abandoned or overflowed.
	ServiceLevel    float64 `json:"service_level_percent"`
	ServiceLevelSec int64   `json:"service_level_seconds"`
	AvgWait         float64 `json:"average_wait_seconds"`   // of answered calls
	AvgHandle       float64 `json:"average_handle_seconds"` // talk and wrap-up
	StickyHits      int     `json:"sticky_hits"`
	StickyMisses    int     `json:"sticky_misses"`
	Alerts          int     `json:"alerts"`
}

// CallerView is one caller of a queue.
type CallerView struct {
	Call     string `json:"call"`
	Number   string `json:"number"`
	Name     string `json:"name,omitempty"`
	Priority int    `json:"priority"` // the VIP level with ageing
	Position int    `json:"position,omitempty"`
	Waited   int64  `json:"waited_seconds"`
	// State is waiting, ringing, callback (waiting to be called back), dialing (a callback
	// ringing the caller) or on_call.
	State  string   `json:"state"`
	Agents []string `json:"agents,omitempty"` // ringing or talking with
	Sticky string   `json:"sticky_agent,omitempty"`
}

// MemberView is an agent's membership of a queue.
type MemberView struct {
	Agent    string `json:"agent"`
	Name     string `json:"name"`
	Penalty  int    `json:"penalty"`
	LoggedIn bool   `json:"logged_in"`
	Dynamic  bool   `json:"dynamic,omitempty"` // logged in to a queue they are not configured in
	State    State  `json:"state"`
}

// AgentView is one agent in the live view.
type AgentView struct {
	ID            string       `json:"id"` // the extension
	Name          string       `json:"name"`
	State         State        `json:"state"`
	Reason        string       `json:"reason,omitempty"` // why paused
	Since         time.Time    `json:"since"`
	Mobile        bool         `json:"mobile"` // offers ring the mobile now
	MaxCalls      int          `json:"max_calls"`
	Queues        []QueueLogin `json:"queues"` // logged in to
	Calls         []string     `json:"calls,omitempty"`
	AnsweredToday int          `json:"answered_today"`
	Missed        int          `json:"missed_in_a_row,omitempty"`
}

func (e *Engine) viewNow() time.Time {
	now := e.clock.Now()
	if now.Before(e.now) {
		now = e.now
	}
	return now
}

// Queues is the live view of every queue, in configuration order.
func (e *Engine) Queues() []QueueView {
	out := make([]QueueView, 0, len(e.qlist))
	for _, q := range e.qlist {
		out = append(out, e.queueView(q, e.viewNow()))
	}
	return out
}

// Queue is the live view of one queue.
func (e *Engine) Queue(name string) (QueueView, error) {
	q := e.queues[name]
	if q == nil {
		return QueueView{}, errNotFound("queue %s not found", name)
	}
	return e.queueView(q, e.viewNow()), nil
}

func (e *Engine) queueView(q *queueState, now time.Time) QueueView {
	v := QueueView{Name: q.cfg.Name, Strategy: q.cfg.Strategy, Agents: map[State]int{}, Callers: []CallerView{}, Members: []MemberView{}}
	var waiting []ranked
	for _, c := range e.clist {
		if c.q != q {
			continue
		}
		if c.state == callWaiting {
			waiting = append(waiting, ranked{c, c.priority(now)})
			if c.callback {
				v.Callbacks++
			} else {
				v.Waiting++
			}
			if w := int64(now.Sub(c.entered) / time.Second); w > v.LongestWait {
				v.LongestWait = w
			}
		}
	}
	slices.SortFunc(waiting, before)
	for i, r := range waiting {
		v.Callers = append(v.Callers, e.callerView(r.c, r.prio, i+1, now))
	}
	for _, c := range e.clist {
		if c.q == q && c.state != callWaiting {
			v.Callers = append(v.Callers, e.callerView(c, c.caller.Priority, 0, now))
		}
	}
	for _, m := range q.members {
		st := StateLoggedOut
		if m.loggedIn || m.agent.calls > 0 {
			st = m.agent.stateAt(now)
		}
		v.Agents[st]++
		v.Members = append(v.Members, MemberView{Agent: m.agent.cfg.ID, Name: m.agent.cfg.Name, Penalty: m.penalty,
			LoggedIn: m.loggedIn, Dynamic: !m.static, State: st})
	}
	s := e.statsOf(q, now)
	v.Today = QueueToday{
		Answered: s.answered, Abandoned: s.abandoned, Overflowed: s.overflowed, Callbacks: s.callbacks,
		ServiceLevel: round1(100 * s.serviceLevel()), ServiceLevelSec: int64(q.cfg.ServiceLevel / time.Second),
		StickyHits: s.stickyHits, StickyMisses: s.stickyMisses, Alerts: s.alerts,
	}
	if s.answered > 0 {
		v.Today.AvgWait = round1(s.waitSum.Seconds() / float64(s.answered))
	}
	if s.handled > 0 {
		v.Today.AvgHandle = round1(s.handleSum.Seconds() / float64(s.handled))
	}
	return v
}

// statsOf is q's figures for the day of now (none yet when midnight passed since the last
// input).
func (e *Engine) statsOf(q *queueState, now time.Time) dayStats {
	if e.civil(now) != e.day {
		return dayStats{}
	}
	return q.stats
}

func (e *Engine) callerView(c *call, prio, pos int, now time.Time) CallerView {
	v := CallerView{Call: c.id, Number: c.caller.Number, Name: c.caller.Name, Priority: prio, Position: pos,
		Waited: int64(now.Sub(c.entered) / time.Second), Sticky: c.sticky}
	switch {
	case c.state == callConnected:
		v.State = "on_call"
		v.Agents = []string{c.agent.cfg.ID}
	case c.state == callDialing:
		v.State = "dialing"
		v.Agents = []string{c.agent.cfg.ID}
	case len(c.offers) > 0:
		v.State = "ringing"
		for _, o := range c.offers {
			v.Agents = append(v.Agents, o.agent.cfg.ID)
		}
	case c.callback:
		v.State = "callback"
	default:
		v.State = "waiting"
	}
	return v
}

// Agents is the live view of every agent, in configuration order.
func (e *Engine) Agents() []AgentView {
	now := e.viewNow()
	out := make([]AgentView, 0, len(e.alist))
	for _, a := range e.alist {
		if !a.removed {
			out = append(out, e.agentView(a, now))
		}
	}
	return out
}

// Agent is the live view of one agent.
func (e *Engine) Agent(id string) (AgentView, error) {
	a, err := e.agent(id)
	if err != nil {
		return AgentView{}, err
	}
	return e.agentView(a, e.viewNow()), nil
}

func (e *Engine) agentView(a *agent, now time.Time) AgentView {
	st := a.stateAt(now)
	v := AgentView{ID: a.cfg.ID, Name: a.cfg.Name, State: st, Since: a.since, Mobile: e.mobileActive(a),
		MaxCalls: a.cfg.MaxCalls, Queues: a.logins(), Missed: a.missed}
	if v.Queues == nil {
		v.Queues = []QueueLogin{}
	}
	if a.paused {
		v.Reason = a.pauseReason
	}
	if st != a.state {
		v.Since = now // a wrap-up that ended since the last input
	}
	if e.civil(now) == e.day {
		for _, n := range a.answered {
			v.AnsweredToday += n
		}
	}
	for _, c := range e.clist {
		if c.agent == a && c.state != callWaiting {
			v.Calls = append(v.Calls, c.id)
		}
	}
	return v
}

// AgentCall is the queue call an agent is talking on, for a supervisor to listen to,
// whisper to or barge in on.
func (e *Engine) AgentCall(agentID string) (string, error) {
	a, err := e.agent(agentID)
	if err != nil {
		return "", err
	}
	for _, c := range e.clist {
		if c.agent == a && c.state == callConnected {
			return c.id, nil
		}
	}
	return "", errConflict("agent %s is not on a queue call", agentID)
}

func round1(f float64) float64 { return float64(int64(f*10+0.5)) / 10 }

// QueueSummary is a queue at a glance: for metrics and the status page, cheaper than a
// QueueView.
type QueueSummary struct {
	Name         string
	Waiting      int // callers on the line
	Callbacks    int
	LongestWait  time.Duration
	ServiceLevel float64       // 0..1, today
	Agents       map[State]int // members by state
}

// Summary is every queue at a glance, and every agent by state.
func (e *Engine) Summary() ([]QueueSummary, map[State]int) {
	now := e.viewNow()
	byQueue := make(map[*queueState]*QueueSummary, len(e.qlist))
	out := make([]QueueSummary, len(e.qlist))
	for i, q := range e.qlist {
		s := &out[i]
		s.Name, s.Agents = q.cfg.Name, map[State]int{}
		s.ServiceLevel = e.statsOf(q, now).serviceLevel()
		for _, m := range q.members {
			st := StateLoggedOut
			if m.loggedIn || m.agent.calls > 0 {
				st = m.agent.stateAt(now)
			}
			s.Agents[st]++
		}
		byQueue[q] = s
	}
	for _, c := range e.clist {
		s := byQueue[c.q]
		if s == nil || c.state != callWaiting {
			continue
		}
		if c.callback {
			s.Callbacks++
		} else {
			s.Waiting++
		}
		if w := now.Sub(c.entered); w > s.LongestWait {
			s.LongestWait = w
		}
	}
	agents := map[State]int{}
	for _, a := range e.alist {
		if !a.removed {
			agents[a.stateAt(now)]++
		}
	}
	return out, agents
}

package queue

import (
	"fmt"
	"slices"
	"time"
)

// agent is an agent as the engine runs it.
type agent struct {
	cfg         AgentConfig
	order       int
	member      map[string]*member // by queue name: configured and dynamic memberships
	paused      bool
	pauseReason string
	mobile      bool // logged in as mobile
	calls       int  // queue calls the agent is on
	offers      int  // queue calls ringing the agent
	direct      int  // calls outside the queues (direct dial, outbound)
	wrapUntil   time.Time
	idleSince   time.Time      // when the last call (and its wrap-up) ended; zero = never
	answered    map[string]int // queue calls answered today, by queue
	missed      int            // unanswered offers in a row
	removed     bool           // left the configuration; goes when its calls end
	mark        uint64         // the dispatch generation that counted the agent free

	// What was last recorded, to tell changes.
	state  State
	reason string
	since  time.Time
	dirty  bool
}

// member is an agent's membership of one queue.
type member struct {
	agent    *agent
	queue    *queueState
	penalty  int
	static   bool // from the configuration; dynamic members come from a login
	loggedIn bool
	idx      int // position in the queue's members
}

func (a *agent) loggedIn() bool {
	for _, m := range a.member {
		if m.loggedIn {
			return true
		}
	}
	return false
}

// stateAt derives what the agent is doing.
func (a *agent) stateAt(now time.Time) State {
	switch {
	case a.calls > 0 || a.direct > 0:
		return StateOnCall
	case a.offers > 0:
		return StateRinging
	case !a.loggedIn():
		return StateLoggedOut
	case a.wrapUntil.After(now):
		return StateWrapUp
	case a.paused:
		return StatePaused
	}
	return StateAvailable
}

// free tells whether the strategy may offer the agent a call now.
func (a *agent) free(now time.Time) bool {
	return !a.paused && !a.removed && a.cfg.MaxCalls > 0 && !a.wrapUntil.After(now) &&
		a.calls+a.offers+a.direct < a.cfg.MaxCalls
}

// takesCalls tells whether the agent could take calls once free: logged in, not paused.
func (a *agent) takesCalls() bool { return !a.paused && !a.removed && a.cfg.MaxCalls > 0 }

func (a *agent) logins() []QueueLogin {
	var out []QueueLogin
	for name, m := range a.member {
		if m.loggedIn {
			out = append(out, QueueLogin{Queue: name, Penalty: m.penalty})
		}
	}
	slices.SortFunc(out, func(x, y QueueLogin) int {
		if x.Queue < y.Queue {
			return -1
		}
		if x.Queue > y.Queue {
			return 1
		}
		return 0
	})
	return out
}

// mobileActive tells whether offers ring the agent's mobile now.
func (e *Engine) mobileActive(a *agent) bool {
	if a.cfg.Mobile == "" {
		return false
	}
	if a.mobile {
		return true
	}
	t := e.now.In(e.loc)
	for _, w := range a.cfg.MobileSchedule {
		if w.Contains(t) {
			return true
		}
	}
	return false
}

func (e *Engine) touch(a *agent) { a.dirty = true }

// flushAgents records the agents whose state changed during this input.
func (e *Engine) flushAgents() {
	for _, a := range e.alist {
		if !a.dirty {
			continue
		}
		a.dirty = false
		st := a.stateAt(e.now)
		reason := ""
		if st == StatePaused {
			reason = a.pauseReason
		}
		if st == a.state && reason == a.reason {
			continue
		}
		e.emitChange(a, st, reason, "")
	}
}

func (e *Engine) emitChange(a *agent, st State, reason, queue string) {
	if st != a.state {
		a.since = e.now
	}
	a.state, a.reason = st, reason
	e.emit(AgentChanged{
		Agent: a.cfg.ID, Name: a.cfg.Name, State: st, Reason: reason, Queue: queue, At: e.now,
		Paused: a.paused, PauseReason: a.pauseReason, Mobile: a.mobile, Queues: a.logins(),
	})
}

// emitLogin records a login to or logout from one queue at once, so reports see each.
func (e *Engine) emitLogin(a *agent, queue, reason string) {
	a.dirty = false
	e.emitChange(a, a.stateAt(e.now), reason, queue)
	a.reason = ""
	if a.state == StatePaused {
		a.reason = a.pauseReason
	}
}

func (e *Engine) agent(id string) (*agent, error) {
	a := e.agents[id]
	if a == nil || a.removed {
		return nil, errNotFound("agent %s not found", id)
	}
	return a, nil
}

// LoginOptions say how an agent logs in.
type LoginOptions struct {
	// Queue logs in to that queue only; "" logs in to every queue the agent is a member of.
	Queue string
	// Penalty is the agent's penalty in a queue they are not a configured member of.
	Penalty int
	// Mobile makes offers ring the agent's mobile (as MobileRing says).
	Mobile bool
}

// Login logs an agent in, to one queue or to all of theirs.
func (e *Engine) Login(agentID string, o LoginOptions) ([]Action, error) {
	e.begin()
	err := e.login(agentID, o)
	return e.finish(), err
}

func (e *Engine) login(agentID string, o LoginOptions) error {
	a, err := e.agent(agentID)
	if err != nil {
		return err
	}
	if o.Mobile && a.cfg.Mobile == "" {
		return errInvalid("agent %s has no mobile number", agentID)
	}
	var targets []*member
	if o.Queue != "" {
		q := e.queues[o.Queue]
		if q == nil {
			return errNotFound("queue %s not found", o.Queue)
		}
		m := a.member[o.Queue]
		if m == nil {
			if o.Penalty < 0 {
				return errInvalid("penalty below 0")
			}
			m = &member{agent: a, queue: q, penalty: o.Penalty, idx: len(q.members)}
			a.member[o.Queue] = m
			q.members = append(q.members, m)
			e.reindex(q)
		}
		targets = []*member{m}
	} else {
		for _, q := range e.qlist {
			if m := a.member[q.cfg.Name]; m != nil {
				targets = append(targets, m)
			}
		}
		if len(targets) == 0 {
			return errConflict("agent %s is a member of no queue: name one to log in to", agentID)
		}
	}
	if o.Mobile != a.mobile {
		a.mobile = o.Mobile
		e.touch(a)
	}
	for _, m := range targets {
		if !m.loggedIn {
			m.loggedIn = true
			e.emitLogin(a, m.queue.cfg.Name, "login")
		}
	}
	return nil
}

// Logout logs an agent out of one queue, or of all with queue "". Ringing offers stop; a
// call in progress goes on.
func (e *Engine) Logout(agentID, queue string) ([]Action, error) {
	e.begin()
	err := e.logout(agentID, queue)
	return e.finish(), err
}

func (e *Engine) logout(agentID, queue string) error {
	a, err := e.agent(agentID)
	if err != nil {
		return err
	}
	if queue != "" {
		if e.queues[queue] == nil {
			return errNotFound("queue %s not found", queue)
		}
		if m := a.member[queue]; m == nil || !m.loggedIn {
			return errConflict("agent %s is not logged in to queue %s", agentID, queue)
		}
	}
	for _, q := range e.qlist {
		name := q.cfg.Name
		m := a.member[name]
		if m == nil || !m.loggedIn || (queue != "" && name != queue) {
			continue
		}
		m.loggedIn = false
		// Offers of this queue stop ringing.
		for _, c := range append([]*call(nil), e.clist...) {
			if o := c.offerTo(a); o != nil && c.q == q && !o.forced {
				e.emit(CancelOffer{Call: c.id, Agent: a.cfg.ID, Reason: "logout"})
				e.dropOffer(c, o)
				e.afterOfferGone(c)
			}
		}
		if !m.static {
			e.removeMember(q, m)
		}
		if !a.loggedIn() {
			a.mobile = false
		}
		e.emitLogin(a, name, "logout")
	}
	return nil
}

func (e *Engine) removeMember(q *queueState, m *member) {
	delete(m.agent.member, q.cfg.Name)
	q.members = slices.DeleteFunc(q.members, func(x *member) bool { return x == m })
	e.reindex(q)
}

// Pause stops offers to an agent, with a reason (lunch, meeting, ...).
func (e *Engine) Pause(agentID, reason string) ([]Action, error) {
	e.begin()
	err := e.pause(agentID, reason)
	return e.finish(), err
}

func (e *Engine) pause(agentID, reason string) error {
	a, err := e.agent(agentID)
	if err != nil {
		return err
	}
	if !a.loggedIn() {
		return errConflict("agent %s is logged out", agentID)
	}
	if reason == "" {
		reason = "pause"
	}
	a.paused, a.pauseReason = true, reason
	e.touch(a)
	return nil
}

// Unpause lets offers reach an agent again.
func (e *Engine) Unpause(agentID string) ([]Action, error) {
	e.begin()
	err := e.unpause(agentID)
	return e.finish(), err
}

func (e *Engine) unpause(agentID string) error {
	a, err := e.agent(agentID)
	if err != nil {
		return err
	}
	if !a.paused {
		return errConflict("agent %s is not paused", agentID)
	}
	a.paused, a.pauseReason, a.missed = false, "", 0
	e.touch(a)
	return nil
}

// ToggleLogin logs a logged-in agent out of every queue, or a logged-out one in to all of
// theirs: the desk phone's login feature code.
func (e *Engine) ToggleLogin(agentID string) (loggedIn bool, actions []Action, err error) {
	e.begin()
	a, err := e.agent(agentID)
	if err == nil {
		if a.loggedIn() {
			err = e.logout(agentID, "")
		} else {
			err = e.login(agentID, LoginOptions{})
		}
		loggedIn = a.loggedIn()
	}
	return loggedIn, e.finish(), err
}

// TogglePause pauses an available agent or unpauses a paused one: the pause feature code.
func (e *Engine) TogglePause(agentID, reason string) (paused bool, actions []Action, err error) {
	e.begin()
	a, err := e.agent(agentID)
	if err == nil {
		if a.paused {
			err = e.unpause(agentID)
		} else {
			err = e.pause(agentID, reason)
		}
		paused = a.paused
	}
	return paused, e.finish(), err
}

// DirectCall tells the engine an agent started (active) or ended a call outside the queues,
// which counts against the agent's limit.
func (e *Engine) DirectCall(agentID string, active bool) ([]Action, error) {
	e.begin()
	a, err := e.agent(agentID)
	if err == nil {
		switch {
		case active:
			a.direct++
		case a.direct > 0:
			a.direct--
			a.idleSince = e.now
		default:
			err = errConflict("agent %s has no direct call", agentID)
		}
		e.touch(a)
	}
	return e.finish(), err
}

// AgentRecord is an agent as stored: what survives a restart.
type AgentRecord struct {
	Agent       string
	State       State
	Since       time.Time
	Paused      bool
	PauseReason string
	Mobile      bool
	Queues      []QueueLogin
}

// Restore brings agents back as the store kept them, after a restart: logins, pauses and
// mobile logins. Calls in progress did not survive, so an agent stored ringing, on a call
// or in wrap-up comes back free. Agents the store does not know and that log in
// automatically are logged in. Call it once, before any caller joins.
func (e *Engine) Restore(records []AgentRecord) []Action {
	e.begin()
	known := map[string]bool{}
	for _, r := range records {
		known[r.Agent] = true
		a := e.agents[r.Agent]
		if a == nil || a.removed {
			continue // no longer configured
		}
		a.state, a.since, a.reason = r.State, r.Since, ""
		if r.State == StatePaused {
			a.reason = r.PauseReason
		}
		a.paused, a.pauseReason = r.Paused, r.PauseReason
		a.mobile = r.Mobile && a.cfg.Mobile != ""
		for _, l := range r.Queues {
			q := e.queues[l.Queue]
			if q == nil {
				continue
			}
			m := a.member[l.Queue]
			if m == nil {
				m = &member{agent: a, queue: q, penalty: l.Penalty}
				a.member[l.Queue] = m
				q.members = append(q.members, m)
				e.reindex(q)
			}
			m.loggedIn = true
		}
		if !a.loggedIn() {
			a.paused, a.pauseReason, a.mobile = false, "", false
		}
		e.touch(a)
	}
	for _, a := range e.alist {
		if !known[a.cfg.ID] && a.cfg.AutoLogin && len(a.member) > 0 {
			if err := e.login(a.cfg.ID, LoginOptions{}); err != nil {
				panic(fmt.Sprintf("queue: automatic login of %s: %v", a.cfg.ID, err)) // members exist: cannot fail
			}
		}
	}
	return e.finish()
}

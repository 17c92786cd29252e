package queue

import (
	"slices"
	"strings"
	"time"
)

// Defaults the engine applies to values a configuration leaves at zero.
const (
	DefaultRingTimeout  = 15 * time.Second
	DefaultServiceLevel = 20 * time.Second
	DefaultMobileAfter  = 10 * time.Second
	DefaultCallbackWait = 5 * time.Minute
	// mobileConfirm is added to offers that ring a mobile: the agent hears who calls and
	// presses the key before the answer counts.
	mobileConfirm = 10 * time.Second
)

func withDefaults(q QueueConfig) QueueConfig {
	if q.Strategy == "" {
		q.Strategy = RingAll
	}
	if q.RingTimeout <= 0 {
		q.RingTimeout = DefaultRingTimeout
	}
	if q.Retry < 0 {
		q.Retry = 0
	}
	if q.ServiceLevel <= 0 {
		q.ServiceLevel = DefaultServiceLevel
	}
	if q.JoinIf == "" {
		q.JoinIf = Staffed
	}
	if q.StayIf == "" {
		q.StayIf = Always
	}
	if q.CallbackRetry <= 0 {
		q.CallbackRetry = DefaultCallbackWait
	}
	if q.CallbackAttempts <= 0 {
		q.CallbackAttempts = 3
	}
	if len(q.Messages) == 0 {
		q.MessageEvery = 0
	}
	return q
}

func agentDefaults(a AgentConfig) AgentConfig {
	if a.MobileRing == "" {
		a.MobileRing = MobileParallel
	}
	if a.MobileAfter <= 0 {
		a.MobileAfter = DefaultMobileAfter
	}
	if a.Name == "" {
		a.Name = a.ID
	}
	return a
}

func validCondition(c Condition) bool { return c == Always || c == Staffed || c == Unpaused }

// check refuses a configuration the engine cannot work with. The config package reports
// the same mistakes with file positions; this guards other callers.
func check(cfg Config) error {
	agents := map[string]bool{}
	for _, a := range cfg.Agents {
		if a.ID == "" {
			return errInvalid("an agent without an extension")
		}
		if agents[a.ID] {
			return errInvalid("agent %s is given twice", a.ID)
		}
		agents[a.ID] = true
		if a.MaxCalls < 0 {
			return errInvalid("agent %s: max calls below 0", a.ID)
		}
		switch a.MobileRing {
		case "", MobileParallel, MobileSequence, MobileOnly:
		default:
			return errInvalid("agent %s: bad mobile ring %q", a.ID, a.MobileRing)
		}
	}
	queues := map[string]bool{}
	for _, q := range cfg.Queues {
		if q.Name == "" {
			return errInvalid("a queue without a name")
		}
		if queues[q.Name] {
			return errInvalid("queue %s is given twice", q.Name)
		}
		queues[q.Name] = true
		if q.Strategy != "" && !slices.Contains(Strategies(), q.Strategy) {
			return errInvalid("queue %s: unknown strategy %q", q.Name, q.Strategy)
		}
		for _, c := range []Condition{q.JoinIf, q.StayIf} {
			if c != "" && !validCondition(c) {
				return errInvalid("queue %s: unknown condition %q", q.Name, c)
			}
		}
		seen := map[string]bool{}
		for _, m := range q.Members {
			if !agents[m.Agent] {
				return errInvalid("queue %s: member %s is not an agent", q.Name, m.Agent)
			}
			if seen[m.Agent] {
				return errInvalid("queue %s: member %s is given twice", q.Name, m.Agent)
			}
			seen[m.Agent] = true
			if m.Penalty < 0 {
				return errInvalid("queue %s: member %s has a penalty below 0", q.Name, m.Agent)
			}
		}
	}
	for _, q := range cfg.Queues {
		if dest, ok := strings.CutPrefix(q.Overflow, "queue:"); ok && !queues[dest] {
			return errInvalid("queue %s overflows to queue %s, which does not exist", q.Name, dest)
		}
	}
	return nil
}

// apply installs cfg, keeping what runs: agents' logins and pauses, waiting callers,
// today's statistics. It returns the agents that are new.
func (e *Engine) apply(cfg Config) ([]*agent, error) {
	if err := check(cfg); err != nil {
		return nil, err
	}
	if cfg.Location != nil {
		e.loc = cfg.Location
	}
	// Agents first: queues' members point at them.
	var added []*agent
	keepAgents := map[string]bool{}
	alist := make([]*agent, 0, len(cfg.Agents))
	for i, ac := range cfg.Agents {
		ac = agentDefaults(ac)
		keepAgents[ac.ID] = true
		a := e.agents[ac.ID]
		if a == nil {
			a = &agent{member: map[string]*member{}, answered: map[string]int{}, state: StateLoggedOut, since: e.now}
			e.agents[ac.ID] = a
			added = append(added, a)
		}
		a.cfg, a.order, a.removed = ac, i, false
		e.touch(a)
		alist = append(alist, a)
	}
	for _, a := range e.alist {
		if !keepAgents[a.cfg.ID] {
			e.retireAgent(a)
			if e.agents[a.cfg.ID] != nil {
				alist = append(alist, a) // still on a call: goes when it ends
			}
		}
	}
	e.alist = alist

	keepQueues := map[string]bool{}
	qlist := make([]*queueState, 0, len(cfg.Queues))
	for _, qc := range cfg.Queues {
		qc = withDefaults(qc)
		keepQueues[qc.Name] = true
		q := e.queues[qc.Name]
		if q == nil {
			q = &queueState{}
			e.queues[qc.Name] = q
		}
		q.cfg = qc
		e.setMembers(q)
		qlist = append(qlist, q)
	}
	for _, q := range e.qlist {
		if !keepQueues[q.cfg.Name] {
			e.retireQueue(q)
		}
	}
	e.qlist = qlist
	return added, nil
}

// setMembers rebuilds a queue's members from its configuration, keeping logins and agents
// logged in dynamically (not in the configuration).
func (e *Engine) setMembers(q *queueState) {
	old := map[string]*member{}
	for _, m := range q.members {
		old[m.agent.cfg.ID] = m
	}
	var members []*member
	for _, mc := range q.cfg.Members {
		a := e.agents[mc.Agent]
		m := old[mc.Agent]
		if m == nil {
			m = &member{agent: a, queue: q}
			a.member[q.cfg.Name] = m
		}
		delete(old, mc.Agent)
		m.penalty, m.static = mc.Penalty, true
		members = append(members, m)
	}
	// Dynamic logins stay, after the configured members, in their old order.
	for _, m := range q.members {
		if _, gone := old[m.agent.cfg.ID]; !gone {
			continue
		}
		if m.loggedIn && !m.agent.removed && e.agents[m.agent.cfg.ID] == m.agent {
			m.static = false
			members = append(members, m)
			continue
		}
		delete(m.agent.member, q.cfg.Name)
		if m.loggedIn {
			m.loggedIn = false
			e.touch(m.agent)
		}
	}
	q.members = members
	e.reindex(q)
}

func (e *Engine) reindex(q *queueState) {
	q.penalties = q.penalties[:0]
	for i, m := range q.members {
		m.idx = i
		if m.penalty > 0 && !slices.Contains(q.penalties, m.penalty) {
			q.penalties = append(q.penalties, m.penalty)
		}
	}
	slices.Sort(q.penalties)
}

// retireQueue removes a queue that left the configuration; its callers go to its overflow.
func (e *Engine) retireQueue(q *queueState) {
	for _, m := range q.members {
		delete(m.agent.member, q.cfg.Name)
		if m.loggedIn {
			m.loggedIn = false
			e.touch(m.agent)
		}
	}
	delete(e.queues, q.cfg.Name)
	for _, c := range append([]*call(nil), e.clist...) {
		if c.q != q {
			continue
		}
		switch c.state {
		case callWaiting:
			e.cancelOffers(c, "removed")
			e.overflow(c, "removed")
		default:
			// The conversation goes on; it is recorded when it ends.
		}
	}
}

// retireAgent logs out an agent that left the configuration.
func (e *Engine) retireAgent(a *agent) {
	a.removed = true
	for _, c := range e.clist {
		if o := c.offerTo(a); o != nil {
			e.emit(CancelOffer{Call: c.id, Agent: a.cfg.ID, Reason: "logout"})
			e.dropOffer(c, o)
			e.afterOfferGone(c)
		}
	}
	for name, m := range a.member {
		if m.loggedIn {
			m.loggedIn = false
			e.emitLogin(a, name, "removed")
		}
		delete(a.member, name)
	}
	if a.calls == 0 {
		delete(e.agents, a.cfg.ID)
	}
}

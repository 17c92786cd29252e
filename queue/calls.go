package queue

import (
	"strconv"
	"strings"
	"time"
)

type callState uint8

const (
	callWaiting   callState = iota // in the queue, maybe ringing agents
	callConnected                  // talking with an agent
	callDialing                    // a callback: the agent answered, the caller is being dialled
)

// call is a caller in the queues, from joining until their conversation ends.
type call struct {
	id      string
	caller  Caller
	q       *queueState
	seq     uint64    // order of arrival, for first come, first served
	joined  time.Time // entered the queues (ageing counts from here)
	entered time.Time // entered the current queue (its maximum wait counts from here)
	state   callState
	offers  []*offer
	tried   map[string]bool // agents who did not answer this call
	retryAt time.Time

	sticky      string // the sticky agent, "" = none
	stickyAgent *agent
	stickyUntil time.Time
	stickyDone  bool // the reservation is over (offered, timed out, agent gone)

	callback bool // the caller hung up and waits for a call back
	reached  bool // the callback reached the caller: they are on the line again
	attempts int  // callbacks that did not reach the caller

	nextAnnounce, nextMessage time.Time
	msgIdx                    int
	alerted, overdue          bool

	agent    *agent
	answered time.Time
	counted  bool // counted as answered in this queue's statistics
	visited  map[string]bool
	gone     bool // left the engine
}

type offer struct {
	agent   *agent
	expires time.Time
	forced  bool
	sticky  bool
}

func (c *call) offerTo(a *agent) *offer {
	for _, o := range c.offers {
		if o.agent == a {
			return o
		}
	}
	return nil
}

func (e *Engine) call(id string) (*call, error) {
	c := e.calls[id]
	if c == nil {
		return nil, errNotFound("call %s is not in a queue", id)
	}
	return c, nil
}

// Join puts a caller in a queue. When the queue refuses them (full, or its join rule does
// not hold) they overflow at once.
func (e *Engine) Join(queue, callID string, caller Caller) ([]Action, error) {
	e.begin()
	err := e.join(queue, callID, caller)
	return e.finish(), err
}

func (e *Engine) join(queue, callID string, caller Caller) error {
	q := e.queues[queue]
	if q == nil {
		return errNotFound("queue %s not found", queue)
	}
	if callID == "" {
		return errInvalid("a call without an id")
	}
	if e.calls[callID] != nil {
		return errConflict("call %s is already in queue %s", callID, e.calls[callID].q.cfg.Name)
	}
	e.seq++
	c := &call{id: callID, caller: caller, seq: e.seq, joined: e.now, tried: map[string]bool{}, visited: map[string]bool{}}
	e.insertCall(c)
	e.enter(c, q, "")
	return nil
}

// enter places a call in q, or sends it on when q refuses it.
func (e *Engine) enter(c *call, q *queueState, movedFrom string) {
	why := e.refuses(q) // before c counts among q's callers
	c.q, c.entered, c.state, c.counted = q, e.now, callWaiting, false
	if why != "" {
		e.overflow(c, why)
		return
	}
	c.visited[q.cfg.Name] = true
	c.tried = map[string]bool{}
	c.retryAt, c.overdue, c.alerted = time.Time{}, false, false
	c.nextAnnounce, c.nextMessage = time.Time{}, time.Time{}
	if !c.callback {
		if q.cfg.AnnounceEvery > 0 {
			c.nextAnnounce = e.now.Add(q.cfg.AnnounceEvery)
		}
		if q.cfg.MessageEvery > 0 {
			c.nextMessage = e.now.Add(q.cfg.MessageEvery)
		}
	}
	e.chooseSticky(c)
	if movedFrom != "" {
		e.emit(Moved{Call: c.id, From: movedFrom, To: q.cfg.Name})
	}
	if !c.callback && q.cfg.AnnounceEvery > 0 {
		e.greet = append(e.greet, c)
	}
}

// refuses says why q does not take a new caller now, "" when it does.
func (e *Engine) refuses(q *queueState) string {
	if q.cfg.MaxLength > 0 && q.waiting(e) >= q.cfg.MaxLength {
		return "full"
	}
	if !e.holds(q, q.cfg.JoinIf) {
		return "empty"
	}
	return ""
}

// holds tells whether a join or stay condition holds for q now.
func (e *Engine) holds(q *queueState, c Condition) bool {
	if c == Always {
		return true
	}
	for _, m := range q.members {
		if !m.loggedIn {
			continue
		}
		if c == Staffed || m.agent.takesCalls() {
			return true
		}
	}
	return false
}

// checkStay sends the waiting callers of queues whose stay rule no longer holds to their
// overflow. Callbacks keep their place: nobody is on the line.
func (e *Engine) checkStay() {
	for _, q := range e.qlist {
		if q.cfg.StayIf == Always || e.holds(q, q.cfg.StayIf) {
			continue
		}
		for _, c := range append([]*call(nil), e.clist...) {
			if c.q == q && c.state == callWaiting && !c.callback && len(c.offers) == 0 {
				e.overflow(c, "empty")
			}
		}
	}
}

// overflow ends a caller's stay in their queue and sends them to its overflow destination:
// into another queue when it is one (and takes them), else out of the queues.
func (e *Engine) overflow(c *call, reason string) {
	from := c.q
	e.finishVisit(c, ResultOverflow)
	dest := from.cfg.Overflow
	for {
		name, isQueue := strings.CutPrefix(dest, "queue:")
		if !isQueue {
			break
		}
		next := e.queues[name]
		if next == nil || c.visited[name] {
			dest = "" // a loop or a queue gone: nowhere left to try
			break
		}
		if why := e.refuses(next); why != "" {
			c.visited[name] = true
			reason = why
			dest = next.cfg.Overflow
			continue
		}
		e.enter(c, next, from.cfg.Name)
		return
	}
	e.removeCall(c)
	e.emit(Overflow{Call: c.id, Queue: from.cfg.Name, Dest: dest, Reason: reason})
}

// finishVisit records the end of a caller's time in their current queue.
func (e *Engine) finishVisit(c *call, r Result) {
	q := c.q
	waited := e.now.Sub(c.entered)
	if c.counted {
		// Answered once, then taken back or transferred: it stays an answered call.
		r, waited = ResultAnswered, c.answered.Sub(c.entered)
	}
	switch r {
	case ResultOverflow:
		q.stats.overflowed++
	case ResultAbandoned:
		q.stats.abandoned++
	}
	if r == ResultOverflow || r == ResultAbandoned {
		q.stats.waitSumLeft += waited
	}
	e.emit(Finished{
		Call: c.id, Queue: q.cfg.Name, Number: c.caller.Number, Priority: c.caller.Priority, Result: r,
		Joined: c.entered, At: e.now, Waited: waited, StickyAgent: c.sticky, Callback: c.callback,
	})
}

// Hangup tells that a call is over for the queues: a waiting caller hung up (abandoned),
// a conversation ended (the agent goes to wrap-up), or a callback was cancelled.
func (e *Engine) Hangup(callID string) ([]Action, error) {
	e.begin()
	c, err := e.call(callID)
	if err == nil {
		e.hangup(c)
	}
	return e.finish(), err
}

func (e *Engine) hangup(c *call) {
	switch c.state {
	case callWaiting:
		e.cancelOffers(c, "caller-gone")
		if c.callback {
			e.finishCallback(c, ResultCallbackFailed)
			return
		}
		e.finishVisit(c, ResultAbandoned)
		e.removeCall(c)
	case callDialing:
		e.callbackMissed(c)
	case callConnected:
		e.endConversation(c)
	}
}

// endConversation ends an answered call: its record, the agent's wrap-up.
func (e *Engine) endConversation(c *call) {
	e.answeredVisitDone(c)
	e.removeCall(c)
}

// releaseAgent frees an agent from a call, with wrap-up.
func (e *Engine) releaseAgent(a *agent, wrapUp time.Duration) {
	a.calls--
	end := e.now.Add(wrapUp)
	if wrapUp > 0 && end.After(a.wrapUntil) {
		a.wrapUntil = end
	}
	a.idleSince = end
	e.touch(a)
	if a.removed && a.calls == 0 && a.offers == 0 {
		delete(e.agents, a.cfg.ID)
		for i, x := range e.alist {
			if x == a {
				e.alist = append(e.alist[:i], e.alist[i+1:]...)
				break
			}
		}
	}
}

// Answered tells that an agent answered an offer (after pressing the confirmation key when
// one was asked). Other agents ringing for the call stop; the caller is bridged, or, for a
// callback, dialled.
func (e *Engine) Answered(callID, agentID string) ([]Action, error) {
	e.begin()
	err := e.answered(callID, agentID)
	return e.finish(), err
}

func (e *Engine) answered(callID, agentID string) error {
	c, err := e.call(callID)
	if err != nil {
		return err
	}
	a := e.agents[agentID]
	var o *offer
	if a != nil {
		o = c.offerTo(a)
	}
	if o == nil {
		return errNotFound("call %s is not offered to agent %s", callID, agentID)
	}
	e.dropOffer(c, o)
	e.cancelOffers(c, "answered-elsewhere")
	a.calls++
	a.missed = 0
	a.answered[c.q.cfg.Name]++
	e.touch(a)
	c.agent = a
	if !c.counted {
		c.answered = e.now
	}
	if c.callback && !c.reached {
		c.state = callDialing
		e.emit(DialCaller{Call: c.id, Queue: c.q.cfg.Name, Agent: a.cfg.ID, Number: c.caller.Number})
		return nil
	}
	e.connect(c)
	return nil
}

// connect bridges the caller with c.agent and counts the answer.
func (e *Engine) connect(c *call) {
	a, q := c.agent, c.q
	c.state = callConnected
	waited := c.answered.Sub(c.entered)
	hit := c.sticky != "" && c.sticky == a.cfg.ID
	again := c.counted
	if !c.counted {
		c.counted = true
		if !c.callback {
			q.stats.answered++
			q.stats.waitSum += waited
			if waited <= q.cfg.ServiceLevel {
				q.stats.withinSL++
			}
		}
		if c.sticky != "" {
			if hit {
				q.stats.stickyHits++
			} else {
				q.stats.stickyMisses++
			}
		}
	}
	if c.caller.Number != "" {
		e.recent[c.caller.Number] = recentAnswer{agent: a.cfg.ID, at: e.now}
	}
	e.emit(Bridge{Call: c.id, Queue: q.cfg.Name, Agent: a.cfg.ID, Waited: waited, StickyAgent: c.sticky,
		StickyHit: hit, Callback: c.callback, Again: again, Record: q.cfg.Record})
}

// NotAnswered tells that an offer failed: the agent's phone was busy, rejected the call,
// or rang out, or a mobile agent did not press the key. The call is offered again after the
// queue's retry delay, to another agent first.
func (e *Engine) NotAnswered(callID, agentID, reason string) ([]Action, error) {
	e.begin()
	c, err := e.call(callID)
	if err == nil {
		var o *offer
		if a := e.agents[agentID]; a != nil {
			o = c.offerTo(a)
		}
		if o == nil {
			err = errNotFound("call %s is not offered to agent %s", callID, agentID)
		} else {
			if reason == "" {
				reason = "no-answer"
			}
			e.offerFailed(c, o, reason)
		}
	}
	return e.finish(), err
}

// offerFailed handles an offer that ended without an answer.
func (e *Engine) offerFailed(c *call, o *offer, reason string) {
	a := o.agent
	e.dropOffer(c, o)
	c.tried[a.cfg.ID] = true
	if o.sticky || a.cfg.ID == c.sticky {
		c.stickyDone = true
	}
	a.missed++
	if n := c.q.cfg.AutoPauseAfter; n > 0 && a.missed >= n && !a.paused && a.loggedIn() {
		a.paused = true
		a.pauseReason = "auto-paused: " + strconv.Itoa(a.missed) + " unanswered offers"
	}
	e.afterOfferGone(c)
}

// afterOfferGone sets the retry delay once a call has no offer left, and sends on a call
// whose maximum wait passed while it rang.
func (e *Engine) afterOfferGone(c *call) {
	if len(c.offers) > 0 || c.state != callWaiting {
		return
	}
	if c.overdue {
		e.overflow(c, "timeout")
		return
	}
	c.retryAt = e.now.Add(c.q.cfg.Retry)
}

func (e *Engine) dropOffer(c *call, o *offer) {
	for i, x := range c.offers {
		if x == o {
			c.offers = append(c.offers[:i], c.offers[i+1:]...)
			break
		}
	}
	o.agent.offers--
	e.touch(o.agent)
}

// cancelOffers stops every offer of a call.
func (e *Engine) cancelOffers(c *call, reason string) {
	for _, o := range append([]*offer(nil), c.offers...) {
		e.emit(CancelOffer{Call: c.id, Agent: o.agent.cfg.ID, Reason: reason})
		e.dropOffer(c, o)
	}
}

// RequestCallback turns a waiting caller into a callback: they hang up and keep their
// place; when their turn comes an agent is called first, then the caller at number ("" =
// the number they called from).
func (e *Engine) RequestCallback(callID, number string) ([]Action, error) {
	e.begin()
	err := e.requestCallback(callID, number)
	return e.finish(), err
}

func (e *Engine) requestCallback(callID, number string) error {
	c, err := e.call(callID)
	if err != nil {
		return err
	}
	if c.state != callWaiting || c.callback {
		return errConflict("call %s is not waiting", callID)
	}
	if c.q.cfg.CallbackKey == "" {
		return errConflict("queue %s offers no callbacks", c.q.cfg.Name)
	}
	if number != "" {
		c.caller.Number = number
	}
	if c.caller.Number == "" {
		return errInvalid("call %s: no number to call back", callID)
	}
	e.cancelOffers(c, "callback")
	c.callback = true
	c.retryAt, c.overdue = time.Time{}, false
	c.nextAnnounce, c.nextMessage = time.Time{}, time.Time{}
	c.q.stats.callbacks++
	e.emit(CallbackAccepted{Call: c.id, Queue: c.q.cfg.Name, Number: c.caller.Number, Position: e.position(c)})
	e.emit(CallbackPending{Call: c.id, Queue: c.q.cfg.Name, Caller: c.caller, Joined: c.joined, Attempts: c.attempts})
	return nil
}

// CallbackReached tells whether the dialled caller of a callback answered: they are
// bridged with the agent, or the callback is tried again later (up to the queue's attempts).
func (e *Engine) CallbackReached(callID string, reached bool) ([]Action, error) {
	e.begin()
	c, err := e.call(callID)
	if err == nil && c.state != callDialing {
		err = errConflict("call %s is not dialling its caller", callID)
	}
	if err == nil {
		if reached {
			c.reached = true
			e.connect(c)
		} else {
			e.callbackMissed(c)
		}
	}
	return e.finish(), err
}

// callbackMissed frees the agent of a callback whose caller did not answer.
func (e *Engine) callbackMissed(c *call) {
	e.releaseAgent(c.agent, 0)
	c.agent = nil
	c.attempts++
	if c.attempts >= c.q.cfg.CallbackAttempts {
		e.finishCallback(c, ResultCallbackFailed)
		return
	}
	c.state = callWaiting
	c.retryAt = e.now.Add(c.q.cfg.CallbackRetry)
	e.emit(CallbackPending{Call: c.id, Queue: c.q.cfg.Name, Caller: c.caller, Joined: c.joined, Attempts: c.attempts})
}

func (e *Engine) finishCallback(c *call, r Result) {
	e.emit(Finished{Call: c.id, Queue: c.q.cfg.Name, Number: c.caller.Number, Priority: c.caller.Priority,
		Result: r, Joined: c.entered, At: e.now, Waited: e.now.Sub(c.entered), StickyAgent: c.sticky, Callback: true})
	e.removeCall(c)
}

// RestoreCallback brings back a stored callback request after a restart. Restore them
// oldest first, before any caller joins: they keep their places in that order.
func (e *Engine) RestoreCallback(cb CallbackPending) ([]Action, error) {
	e.begin()
	q := e.queues[cb.Queue]
	var err error
	switch {
	case q == nil:
		err = errNotFound("queue %s not found", cb.Queue)
	case e.calls[cb.Call] != nil:
		err = errConflict("call %s is already in a queue", cb.Call)
	default:
		e.seq++
		c := &call{id: cb.Call, caller: cb.Caller, q: q, seq: e.seq, joined: cb.Joined, entered: cb.Joined,
			state: callWaiting, callback: true, attempts: cb.Attempts, tried: map[string]bool{},
			visited: map[string]bool{q.cfg.Name: true}}
		e.insertCall(c)
		if !cb.Joined.Before(e.midnight(e.now)) {
			q.stats.callbacks++ // a request of today, counted when it was made
		}
		e.chooseSticky(c)
	}
	return e.finish(), err
}

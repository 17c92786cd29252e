package queue

import (
	"strings"
)

// ForceAssign offers a waiting call to an agent now, whatever its place in the queue and
// whatever the agent's state and limit (a supervisor's decision). Offers ringing elsewhere
// stop. If the agent does not answer, the call goes back to the normal order.
func (e *Engine) ForceAssign(callID, agentID string) ([]Action, error) {
	e.begin()
	err := e.forceAssign(callID, agentID)
	return e.finish(), err
}

func (e *Engine) forceAssign(callID, agentID string) error {
	c, err := e.call(callID)
	if err != nil {
		return err
	}
	a, err := e.agent(agentID)
	if err != nil {
		return err
	}
	if c.state != callWaiting {
		return errConflict("call %s is not waiting", callID)
	}
	if !a.loggedIn() {
		return errConflict("agent %s is logged out", agentID)
	}
	e.cancelOffers(c, "force-assigned")
	c.stickyDone = true
	e.makeOffer(c, a, true, false)
	return nil
}

// TakeBack takes a call away from its agent (talking or ringing) and puts it back in its
// queue, in its old place, to be offered again after the queue's retry delay (to another
// agent first); the agent is free at once, without wrap-up.
func (e *Engine) TakeBack(callID string) ([]Action, error) {
	e.begin()
	err := e.takeBack(callID)
	return e.finish(), err
}

func (e *Engine) takeBack(callID string) error {
	c, err := e.call(callID)
	if err != nil {
		return err
	}
	switch {
	case c.state == callConnected:
		a := c.agent
		e.emit(Unbridge{Call: c.id, Agent: a.cfg.ID, Reason: "take-back"})
		e.releaseAgent(a, 0)
		c.tried[a.cfg.ID] = true
	case c.state == callWaiting && len(c.offers) > 0:
		for _, o := range c.offers {
			c.tried[o.agent.cfg.ID] = true
		}
		e.cancelOffers(c, "take-back")
	case c.state == callDialing:
		return errConflict("call %s is a callback being dialled", callID)
	default:
		return errConflict("call %s is already waiting", callID)
	}
	// The queue's retry delay lets the supervisor act before the next offer.
	c.state, c.agent, c.retryAt, c.stickyDone = callWaiting, nil, e.now.Add(c.q.cfg.Retry), true
	return nil
}

// Transfer moves a call in progress away from its agent to dest: "agent:ID" (offered to
// that agent whatever their state), "queue:NAME" (waits there), or any destination outside
// the queues ("extension:…", "number:…", "voicemail:…", "group:…").
func (e *Engine) Transfer(callID, dest string) ([]Action, error) {
	e.begin()
	err := e.transfer(callID, dest)
	return e.finish(), err
}

func (e *Engine) transfer(callID, dest string) error {
	c, err := e.call(callID)
	if err != nil {
		return err
	}
	if c.state != callConnected {
		return errConflict("call %s is not in progress", callID)
	}
	kind, name, ok := strings.Cut(dest, ":")
	if !ok || name == "" {
		return errInvalid("bad destination %q: want agent:ID, queue:NAME, extension:EXT, number:NUMBER, voicemail:EXT or group:NAME", dest)
	}
	from := c.agent
	switch kind {
	case "agent":
		to, err := e.agent(name)
		if err != nil {
			return err
		}
		if to == from {
			return errConflict("call %s is already with agent %s", callID, name)
		}
		e.emit(Unbridge{Call: c.id, Agent: from.cfg.ID, Reason: "transfer"})
		e.releaseAgent(from, c.q.cfg.WrapUp)
		c.state, c.agent, c.stickyDone = callWaiting, nil, true
		e.makeOffer(c, to, true, false)
	case "queue":
		to := e.queues[name]
		if to == nil {
			return errNotFound("queue %s not found", name)
		}
		if to == c.q {
			return e.takeBack(callID)
		}
		e.emit(Unbridge{Call: c.id, Agent: from.cfg.ID, Reason: "transfer"})
		e.answeredVisitDone(c)
		delete(c.visited, name)
		c.agent = nil
		e.enter(c, to, c.q.cfg.Name)
	case "extension", "number", "voicemail", "group":
		e.emit(Transfer{Call: c.id, Queue: c.q.cfg.Name, Agent: from.cfg.ID, Dest: dest})
		e.endConversation(c)
	default:
		return errInvalid("bad destination kind %q: want agent, queue, extension, number, voicemail or group", kind)
	}
	return nil
}

// answeredVisitDone records an answered call's time in its queue as over (the call goes on
// elsewhere) and sends its agent to wrap-up.
func (e *Engine) answeredVisitDone(c *call) {
	a, q := c.agent, c.q
	handled := e.now.Sub(c.answered) + q.cfg.WrapUp
	e.releaseAgent(a, q.cfg.WrapUp)
	q.stats.handled++
	q.stats.handleSum += handled
	q.recordHandle(handled)
	result := ResultAnswered
	if c.callback {
		result = ResultCallback
	}
	e.emit(Finished{
		Call: c.id, Queue: q.cfg.Name, Agent: a.cfg.ID, Number: c.caller.Number, Priority: c.caller.Priority,
		Result: result, Joined: c.entered, At: e.now, Waited: c.answered.Sub(c.entered), Handled: handled,
		StickyAgent: c.sticky, StickyHit: c.sticky == a.cfg.ID, Callback: c.callback,
	})
}

package switchboard

import (
	"context"
	"strings"
	"time"

	"callbox"
	"callbox/config"
	"callbox/ivr"
	"callbox/media/dsp"
	"callbox/media/prompt"
	"callbox/media/session"
	"callbox/queue"
)

// A queued call meets its agent: the bridge and the conversation, and callbacks, where the
// agent answers first and the caller is called.

// bridgeAgent connects the caller with the agent whose answer the queues took, and carries
// the conversation until it ends, the agent is taken off it (back to waiting), or the call
// is sent elsewhere.
func (c *call) bridgeAgent(b queue.Bridge) outcome {
	q := c.q
	leg := q.accepted[b.Agent]
	delete(q.accepted, b.Agent)
	if leg == nil || c.caller == nil {
		// The agent hung up between their answer and the bridge: the caller goes back to
		// their place.
		c.event("queue.agent-gone", nil, "agent", b.Agent)
		ctx, cancel := c.qctx()
		err := c.sb.queues.TakeBack(ctx, q.id)
		cancel()
		if err != nil {
			c.log.Warn("the call could not go back to its queue", "err", err)
			c.queueOver()
			if c.caller != nil {
				c.releaseMedia()
				c.hangup(c.caller, callbox.CauseFailed)
			}
			return over("failed", callbox.CauseFailed, callbox.SideBox)
		}
		return outcome{}
	}
	if q.hold != nil {
		c.stopHold()
	}
	q.joined = true // a callback's conversation, too, ends with a Hangup
	c.callee = leg
	c.rec.Queue, c.rec.Agent, c.rec.Extension = b.Queue, b.Agent, b.Agent
	if b.StickyHit {
		addFlag(&c.rec, "sticky")
	}
	if b.Callback {
		addFlag(&c.rec, "callback")
	}
	c.recordOverride = b.Record
	c.startRecording()
	unbridge := c.bridge(leg)
	if c.rec.Answered == nil {
		c.answered = c.sb.now()
		c.rec.Answered = &c.answered
	}
	detail := []string{"queue", b.Queue, "agent", b.Agent, "waited", b.Waited.Round(time.Millisecond).String()}
	if b.StickyAgent != "" {
		detail = append(detail, "sticky_agent", b.StickyAgent, "sticky_hit", boolWord(b.StickyHit))
	}
	if b.Again {
		detail = append(detail, "again", "true")
	}
	c.event("queue.bridge", leg, detail...)
	t := c.converse(leg, unbridge)
	switch {
	case t.back:
		if c.caller != nil && c.conv != nil && !c.ended[c.caller] {
			if err := c.startHold(); err != nil {
				return c.abandon()
			}
		}
		return outcome{}
	case t.dest != nil:
		return outcome{done: true, dest: t.dest}
	}
	c.queueOver()
	return outcome{done: true, end: t.Ending}
}

func boolWord(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// talkEnd is how a conversation ended: over (Ending), the agent taken off it (back), or
// the caller sent on to a destination.
type talkEnd struct {
	ivr.Ending
	back bool
	dest *config.Destination
}

// talkItem carries out an action of the queues during a conversation; over tells the
// conversation is done with.
func (c *call) talkItem(x any, callee callbox.Leg, unbridge *func()) (talkEnd, bool) {
	switch a := x.(type) {
	case queue.Unbridge:
		c.event("queue.unbridge", callee, "agent", a.Agent, "reason", a.Reason)
		c.endSupervision(unbridge)
		(*unbridge)()
		*unbridge = func() {}
		c.hangupAsync(callee, callbox.CauseNormal)
		return talkEnd{back: true}, true
	case queue.Transfer:
		c.event("queue.transfer", callee, "agent", a.Agent, "to", a.Dest)
		c.endSupervision(unbridge)
		(*unbridge)()
		*unbridge = func() {}
		c.hangupAsync(callee, callbox.CauseNormal)
		c.q.over = true // the queues ended the conversation themselves
		c.leaveQueues()
		kind, name, _ := strings.Cut(a.Dest, ":")
		return talkEnd{dest: &config.Destination{Kind: kind, Name: name}}, true
	case superviseReq:
		c.supervise(a, callee, unbridge)
	case queue.Action:
		c.log.Debug("queue action ignored during the conversation", "action", a.Kind())
	}
	return talkEnd{}, false
}

// The callbacks.

// newCallbackCall makes the call that carries out a callback: it rings the agent first,
// then dials the caller. Its record is its own; the queues' id of the call is kept in a
// variable.
func (sb *Switchboard) newCallbackCall(o queue.Offer) *call {
	cfg := sb.config()
	c := &call{sb: sb, ended: map[callbox.Leg]bool{}}
	c.ctx, c.cancel = context.WithTimeout(sb.ctx, cfg.Calls.MaxDuration)
	c.rec = callbox.Record{ID: sb.newCallID(), Direction: callbox.Outbound, To: o.Caller.Number, Queue: o.Queue,
		Started: sb.now(), Flags: []string{"callback"}, Variables: map[string]string{"queue_call": o.Call}, VIP: o.Caller.Priority}
	c.log = sb.log.With("call_id", c.rec.ID, "queue_call_id", o.Call)
	c.q = newQueued(o.Call, o.Queue)
	// The queues keep the request whatever this attempt does; they hear of its end only
	// once it became a conversation (joined is set at the bridge).
	c.q.callback, c.q.caller = true, o.Caller
	return c
}

// runCallback is a callback call's goroutine.
func (c *call) runCallback() {
	defer c.cancel()
	c.log.Info("callback started", "queue", c.q.queue, "to", c.rec.To)
	c.event("start", nil, "callback_for", c.q.id, "queue", c.q.queue, "to", c.rec.To)
	o := c.waitInQueue()
	c.q.shutdown(c)
	if !c.q.answered {
		// No agent took it: nothing happened worth a record (the queues offer it again).
		c.discard()
		return
	}
	c.finish(o.end.Result, o.end.Cause, o.end.Side)
}

// discard ends a callback attempt that reached nobody without a record.
func (c *call) discard() {
	for _, l := range c.watched {
		select {
		case <-l.Done():
		default:
			c.hangup(l, callbox.CauseNormal)
		}
	}
	c.holdWG.Wait()
	c.log.Debug("callback attempt ended before any agent answered")
}

// dialCustomer calls the caller of a callback once their agent answered; the agent hears
// ringing meanwhile.
func (c *call) dialCustomer(a queue.DialCaller) outcome {
	q := c.q
	agentLeg := q.accepted[a.Agent]
	c.rec.Agent, c.rec.Extension, c.rec.From = a.Agent, a.Agent, a.Agent
	c.event("queue.dial-caller", agentLeg, "agent", a.Agent, "number", a.Number)
	if agentLeg == nil {
		return c.customerMissed(callbox.CauseFailed)
	}
	if c.sb.media != nil {
		q.ringback = newRingback(c.sb.media, agentLeg, c.sb.config())
	}
	cfg := c.sb.config()
	if !c.sb.dialer.CanDialOut(a.Number) {
		c.event("dial-failed", nil, "target", "number:"+a.Number, "reason", "no route")
		return c.customerMissed(callbox.CauseNotFound)
	}
	t := Target{Kind: "number", Number: a.Number, From: c.callbackFrom(cfg, a), Codec: agentLeg.Media().Codec(),
		Timeout: cfg.Calls.RingTimeout, CallID: c.rec.ID}
	leg, err := c.sb.dialer.Dial(c.ctx, t)
	if err != nil {
		c.event("dial-failed", nil, "target", "number:"+a.Number, "reason", callbox.ErrorMessage(err))
		return c.customerMissed(callbox.CauseUnavailable)
	}
	q.customer = leg
	c.rec.Trunk = leg.Trunk()
	c.watch(leg)
	c.event("dial", leg, "target", "number:"+a.Number)
	return outcome{}
}

// callbackFrom is the caller ID a callback shows: the queue's own number when it has one.
func (c *call) callbackFrom(cfg *config.Config, a queue.DialCaller) callbox.Party {
	for _, in := range cfg.Inbound {
		if in.Dest.Kind == "queue" && in.Dest.Name == a.Queue {
			return callbox.Party{Number: in.Number, Name: a.Queue}
		}
	}
	return callbox.Party{Number: a.Agent, Name: a.Queue}
}

// onCustomer follows a callback's caller while dialled.
func (c *call) onCustomer(le legEvent) outcome {
	q := c.q
	switch le.ev.Kind {
	case callbox.LegRinging:
		c.event("ringing", le.leg)
	case callbox.LegAnswered:
		q.customer = nil
		if q.ringback != nil {
			q.ringback.close()
			q.ringback = nil
		}
		c.caller = le.leg
		c.event("answered", le.leg, "by", le.leg.Remote().Number)
		ctx, cancel := c.qctx()
		err := c.sb.queues.CallbackReached(ctx, q.id, true)
		cancel()
		if err != nil {
			c.log.Warn("the queues lost the callback", "err", err)
			q.over = true
			return over("failed", callbox.CauseFailed, callbox.SideBox)
		}
	case callbox.LegHangup:
		c.event("dial-ended", le.leg, "cause", string(le.ev.Cause))
		q.customer = nil
		return c.customerMissed(le.ev.Cause)
	}
	return outcome{}
}

// customerMissed ends a callback attempt whose caller was not reached: the agent is let
// go, and the queues try again later (or give up).
func (c *call) customerMissed(cause callbox.Cause) outcome {
	q := c.q
	if q.ringback != nil {
		q.ringback.close()
		q.ringback = nil
	}
	for agent, leg := range q.accepted {
		delete(q.accepted, agent)
		c.hangupAsync(leg, callbox.CauseNormal)
	}
	ctx, cancel := c.qctx()
	err := c.sb.queues.CallbackReached(ctx, q.id, false)
	cancel()
	if err != nil {
		c.log.Debug("callback not reached", "err", err)
	}
	q.over = true
	c.leaveQueues()
	return over(resultFor(cause), cause, callbox.SideCallee)
}

// ringbackSession plays ringing to a callback's agent while their caller is dialled.
type ringbackSession struct{ sess *session.Session }

func newRingback(clock *session.Clock, leg callbox.Leg, cfg *config.Config) *ringbackSession {
	plan, err := dsp.PlanFor(strings.ToLower(cfg.Box.Country))
	if err != nil {
		plan, _ = dsp.PlanFor("us")
	}
	s := session.New(session.Options{Media: leg.Media(), Clock: clock, InBand: session.InBandNever})
	if t, ok := plan.Tone(dsp.Ringback); ok {
		s.Play(prompt.Tone(t, 0))
	}
	return &ringbackSession{sess: s}
}

func (r *ringbackSession) close() { r.sess.Close() }

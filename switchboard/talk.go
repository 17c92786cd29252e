package switchboard

import (
	"time"

	"callbox"
	"callbox/ivr"
	"callbox/media"
)

// The conversation: caller and callee bridged until one hangs up, with hold, blind
// transfer and, for queue calls, the queues' actions and supervisors.

// talk bridges caller and callee until one hangs up, following hold and blind transfer.
func (c *call) talk(callee callbox.Leg, unbridge func()) (string, callbox.Cause, callbox.HangupSide) {
	t := c.converse(callee, unbridge)
	return t.Result, t.Cause, t.Side
}

// converse carries the conversation between caller and callee until one hangs up,
// following hold and blind transfer; for a queue call also the queues' actions (the agent
// taken off it, the call moved elsewhere) and supervisors.
func (c *call) converse(callee callbox.Leg, unbridge func()) talkEnd {
	defer func() { unbridge() }()
	end := func(result string, cause callbox.Cause, side callbox.HangupSide) talkEnd {
		return talkEnd{Ending: ivr.Ending{Result: result, Cause: cause, Side: side}}
	}
	for {
		if c.q != nil {
			if x, ok := c.q.inbox.next(); ok {
				if t, over := c.talkItem(x, callee, &unbridge); over {
					return t
				}
				continue
			}
		}
		le, fired, ok := c.wait(c.ctx.Done(), c.inboxReady())
		if !ok {
			if fired == 1 {
				continue // the queues' inbox
			}
			return c.boxHangsUp(callee, &unbridge)
		}
		if s := c.supervisorFor(le.leg); s != nil {
			c.supervisorEvent(s, le, callee, &unbridge)
			continue
		}
		{
			if le.leg != c.caller && le.leg != callee {
				continue // a leg from earlier (a cancelled fork, a transferor) ending
			}
			other := callee
			side := callbox.SideCaller
			if le.leg == callee {
				other, side = c.caller, callbox.SideCallee
			}
			switch le.ev.Kind {
			case callbox.LegHangup:
				return c.partyHangsUp(le, callee, other, side, &unbridge)
			case callbox.LegHold, callbox.LegUnhold:
				c.forwardHold(le, other)
			case callbox.LegDTMF:
				c.event("dtmf", le.leg, "digit", string(le.ev.Digit))
			case callbox.LegTransfer:
				c.endSupervision(&unbridge)
				c.queueOver() // the agent handed the caller on: the queue call is over for them
				next, ok := c.transfer(le.leg, other, le.ev.Target)
				if !ok {
					return end("answered", callbox.CauseNormal, side)
				}
				unbridge()
				callee = next // transfer made the party left behind the caller
				c.callee = next
				unbridge = c.bridge(callee)
			}
		}
	}
}

// The rare turns of a conversation are functions of their own: converse's frame stays on the
// call's stack for the whole conversation (see run).

// boxHangsUp ends the conversation from the box's side: shutdown, or the call's maximum
// duration.
func (c *call) boxHangsUp(callee callbox.Leg, unbridge *func()) talkEnd {
	cause := c.endCause()
	c.event("hangup", nil, "cause", string(cause), "side", "box")
	c.endSupervision(unbridge)
	c.queueOver()
	c.hangup(callee, cause)
	c.hangup(c.caller, cause)
	return talkEnd{Ending: ivr.Ending{Result: "answered", Cause: cause, Side: callbox.SideBox}}
}

// partyHangsUp ends the conversation when caller or callee (le.leg, on side) hung up;
// other is the one left.
func (c *call) partyHangsUp(le legEvent, callee, other callbox.Leg, side callbox.HangupSide, unbridge *func()) talkEnd {
	c.event("hangup", le.leg, "cause", string(le.ev.Cause), "side", string(side))
	// Supervisors leave with the conversation, and the agent is free (wrap-up) from now
	// on, whatever follows for the caller.
	c.endSupervision(unbridge)
	c.queueOver()
	over := talkEnd{Ending: ivr.Ending{Result: "answered", Cause: le.ev.Cause, Side: side}}
	if le.leg == callee && c.survey {
		// The caller stays on the line for the survey question; the conversation (talk
		// time, recording) is over.
		(*unbridge)()
		*unbridge = func() {}
		c.talkEnd = c.sb.now()
		c.finishRecording()
		c.askSurvey()
		return over
	}
	c.hangup(other, callbox.CauseNormal)
	return over
}

// forwardHold passes a party's hold or unhold on to the other party.
func (c *call) forwardHold(le legEvent, other callbox.Leg) {
	on := le.ev.Kind == callbox.LegHold
	c.event(le.ev.Kind.String(), le.leg)
	c.holdWG.Go(func() {
		if err := other.Hold(c.ctx, on); err != nil {
			c.log.Warn("forwarding hold failed", "err", err)
		}
	})
}

// bridge connects the caller and callee media, tapping the recording.
func (c *call) bridge(callee callbox.Leg) func() {
	var tap media.Tap
	if rec := c.record; rec != nil {
		tap = func(fromCaller bool, f *callbox.Frame) { rec.Write(fromCaller, f) }
	}
	return media.Bridge(c.caller.Media(), callee.Media(), tap)
}

// transfer carries out a blind transfer asked by from: the party left (stay) is connected to
// target. It returns the new leg, or false when the transfer failed and the call is over.
func (c *call) transfer(from, stay callbox.Leg, target string) (callbox.Leg, bool) {
	cfg := c.sb.config()
	c.event("transfer", from, "target", target)
	kind := ""
	switch {
	case from.Kind() != callbox.LegPhone:
		c.log.Warn("transfer refused: only phones may transfer", "target", target)
		return nil, false
	case cfg.IsExtension(target):
		kind = "extension"
	case c.sb.dialer.CanDialOut(target):
		kind = "number"
	default:
		c.event("transfer-failed", from, "reason", "no such number")
		c.hangup(from, callbox.CauseNormal)
		c.hangup(stay, callbox.CauseNotFound)
		return nil, false
	}
	// The transferring phone hangs up itself once told the transfer is under way; if it
	// does not, the box does after a while.
	c.holdWG.Go(func() {
		select {
		case <-from.Done():
		case <-time.After(5 * time.Second):
			c.hangup(from, callbox.CauseNormal)
		}
	})
	// The party left behind is the caller from now on: if it hangs up while the target
	// rings, the call is abandoned.
	c.caller = stay
	next, cause, _ := c.ring([]Target{{Kind: kind, Number: target, From: stay.Remote(), Codec: stay.Media().Codec(), Timeout: cfg.Calls.RingTimeout, CallID: c.rec.ID}}, cfg.Calls.RingTimeout)
	if next == nil {
		c.event("transfer-failed", nil, "cause", string(cause))
		c.hangup(stay, cause)
		return nil, false
	}
	if kind == "extension" {
		c.rec.Extension = target
	}
	c.event("transferred", next, "to", target)
	return next, true
}

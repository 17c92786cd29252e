package switchboard

import (
	"fmt"
	"time"

	"callbox"
	"callbox/media/prompt"
	"callbox/media/session"
	"callbox/queue"
)

// The queues' offers, rung on the agents' devices: desk phones and mobiles, each from its
// delay and for its time, a mobile's answer confirmed by a key before it counts.

// agentOffer is an offer of the call to one agent: the devices it rings.
type agentOffer struct {
	o   queue.Offer
	eps []*endpoint
}

type endpointState uint8

const (
	epWaiting    endpointState = iota // rings after its delay
	epRinging                         // dialled, not answered
	epConfirming                      // answered; the agent is asked for the key
	epDone                            // over: failed, stopped, or the one that was accepted
)

// endpoint is one device of an offer.
type endpoint struct {
	ao     *agentOffer
	ep     queue.Endpoint
	leg    callbox.Leg
	state  endpointState
	cause  callbox.Cause // why it ended without an answer
	sess   *session.Session
	timers []*time.Timer
}

// endpointTimer is posted to the call when a device is to start or stop ringing.
type endpointTimer struct {
	ep    *endpoint
	start bool
}

func (ep *endpoint) stopTimers() {
	for _, t := range ep.timers {
		t.Stop()
	}
	ep.timers = nil
}

func (ep *endpoint) closeSession() {
	if ep.sess != nil {
		ep.sess.Close()
		ep.sess = nil
	}
}

// confirming lists the devices whose agent is asked for the key, with a session listening.
func (q *queued) confirming() []*endpoint {
	var out []*endpoint
	for _, ao := range q.offers {
		for _, ep := range ao.eps {
			if ep.state == epConfirming && ep.sess != nil {
				out = append(out, ep)
			}
		}
	}
	return out
}

// ringAgent starts an offer: each device rings from its delay, for its time.
func (c *call) ringAgent(o queue.Offer) {
	q := c.q
	if old := q.offers[o.Agent]; old != nil {
		c.endOffer(old, callbox.CauseCancelled)
	}
	ao := &agentOffer{o: o}
	q.offers[o.Agent] = ao
	detail := []string{"queue", o.Queue, "agent", o.Agent, "timeout", o.Timeout.String()}
	for _, f := range []struct {
		on   bool
		name string
	}{{o.Sticky, "sticky"}, {o.Forced, "forced"}, {o.Callback, "callback"}} {
		if f.on {
			detail = append(detail, f.name, "true")
		}
	}
	c.event("queue.offer", nil, detail...)
	for _, e := range o.Endpoints {
		ep := &endpoint{ao: ao, ep: e}
		ao.eps = append(ao.eps, ep)
		if e.After > 0 {
			ep.timers = append(ep.timers, time.AfterFunc(e.After, func() { q.inbox.post(endpointTimer{ep: ep, start: true}) }))
		}
		if e.For > 0 {
			ep.timers = append(ep.timers, time.AfterFunc(e.After+e.For, func() { q.inbox.post(endpointTimer{ep: ep}) }))
		}
	}
	for _, ep := range ao.eps {
		if ep.ep.After <= 0 {
			c.dialEndpoint(ep)
		}
	}
	c.checkOffer(ao)
}

// dialEndpoint rings one device.
func (c *call) dialEndpoint(ep *endpoint) {
	o := ep.ao.o
	kind := "extension"
	if ep.ep.Kind == "mobile" {
		kind = "number"
	}
	ringFor := ep.ep.For
	if ringFor <= 0 {
		ringFor = o.Timeout - ep.ep.After
	}
	// The queues end the offer at its timeout; the leg's own limit is only a backstop.
	t := Target{Kind: kind, Number: ep.ep.Target, From: c.offerParty(o), Codec: c.codec(), Timeout: ringFor + time.Second, CallID: c.rec.ID}
	leg, err := c.sb.dialer.Dial(c.ctx, t)
	if err != nil {
		ep.state, ep.cause = epDone, callbox.CauseUnavailable
		if callbox.ErrorCode(err) == callbox.ENOTFOUND {
			ep.cause = callbox.CauseNotFound
		}
		c.event("queue.dial-failed", nil, "agent", o.Agent, "target", kind+":"+ep.ep.Target, "reason", callbox.ErrorMessage(err))
		return
	}
	ep.leg, ep.state = leg, epRinging
	c.watch(leg)
	c.q.legs[leg] = ep
	c.event("queue.dial", leg, "agent", o.Agent, "target", kind+":"+ep.ep.Target)
}

// offerParty is who the agent's phone shows: the caller, marked VIP or warned as for any
// call; a callback says so.
func (c *call) offerParty(o queue.Offer) callbox.Party {
	if !o.Callback {
		return c.presented()
	}
	name := o.Caller.Name
	if name == "" {
		name = o.Caller.Number
	}
	return callbox.Party{Number: o.Caller.Number, Name: "[callback] " + name}
}

// codec is the codec agents are offered first: the caller's.
func (c *call) codec() callbox.Codec {
	if c.caller != nil {
		return c.caller.Media().Codec()
	}
	return callbox.PCMU
}

// endpointTimer starts or stops a device's ringing when its time comes.
func (c *call) endpointTimer(t endpointTimer) {
	ep := t.ep
	if c.q.offers[ep.ao.o.Agent] != ep.ao {
		return // the offer is over
	}
	switch {
	case t.start && ep.state == epWaiting:
		c.dialEndpoint(ep)
	case !t.start && ep.state == epRinging:
		c.event("queue.ring-time-over", ep.leg, "agent", ep.ao.o.Agent)
		c.stopEndpoint(ep, callbox.CauseNoAnswer)
		ep.cause = callbox.CauseNoAnswer
	}
	c.checkOffer(ep.ao)
}

// stopEndpoint ends a device's part in an offer.
func (c *call) stopEndpoint(ep *endpoint, cause callbox.Cause) {
	ep.stopTimers()
	ep.closeSession()
	if ep.leg != nil && (ep.state == epRinging || ep.state == epConfirming) {
		c.hangupAsync(ep.leg, cause)
	}
	ep.state = epDone
}

// endOffer stops every device of an offer and forgets it.
func (c *call) endOffer(ao *agentOffer, cause callbox.Cause) {
	for _, ep := range ao.eps {
		c.stopEndpoint(ep, cause)
	}
	if c.q.offers[ao.o.Agent] == ao {
		delete(c.q.offers, ao.o.Agent)
	}
}

// checkOffer tells the queues an offer failed once none of its devices rings or is still
// to ring.
func (c *call) checkOffer(ao *agentOffer) {
	if c.q.offers[ao.o.Agent] != ao {
		return
	}
	worst := callbox.Cause("")
	for _, ep := range ao.eps {
		if ep.state != epDone {
			return
		}
		if ep.cause != "" {
			worst = worseCause(worst, ep.cause)
		}
	}
	reason := offerFailure(worst)
	c.endOffer(ao, callbox.CauseCancelled)
	c.event("queue.not-answered", nil, "agent", ao.o.Agent, "reason", reason)
	ctx, cancel := c.qctx()
	defer cancel()
	if err := c.sb.queues.NotAnswered(ctx, c.q.id, ao.o.Agent, reason); err != nil {
		c.log.Debug("offer already over", "agent", ao.o.Agent, "err", err)
	}
}

// keyMissing is why a mobile that answered did not count: nobody pressed the key.
const keyMissing callbox.Cause = "no-key"

// offerFailure names why an offer failed, in the queues' words.
func offerFailure(c callbox.Cause) string {
	switch c {
	case callbox.CauseBusy, callbox.CauseRejected, callbox.CauseNoAnswer, keyMissing:
		return string(c)
	case callbox.CauseNotFound, callbox.CauseUnavailable:
		return "unavailable"
	}
	return "failed"
}

// cancelOffer stops ringing an agent, as the queues decided (answered elsewhere, timed
// out, the caller gone, taken back).
func (c *call) cancelOffer(a queue.CancelOffer) {
	ao := c.q.offers[a.Agent]
	if ao == nil {
		return
	}
	cause := callbox.CauseCancelled
	if a.Reason == "no-answer" {
		cause = callbox.CauseNoAnswer
	}
	c.event("queue.offer-ended", nil, "agent", a.Agent, "reason", a.Reason)
	c.endOffer(ao, cause)
}

// onAgentLeg follows the agents' devices.
func (c *call) onAgentLeg(le legEvent) outcome {
	q := c.q
	ep := q.legs[le.leg]
	if ep == nil {
		if le.ev.Kind == callbox.LegHangup {
			c.acceptedLegEnded(le.leg)
		}
		return outcome{}
	}
	agent := ep.ao.o.Agent
	switch le.ev.Kind {
	case callbox.LegRinging:
		if ep.state == epRinging {
			c.event("queue.ringing", le.leg, "agent", agent)
		}
	case callbox.LegAnswered:
		switch {
		case ep.state != epRinging:
		case ep.ep.Confirm != "":
			c.askConfirm(ep)
		default:
			c.acceptEndpoint(ep)
		}
	case callbox.LegDTMF:
		if ep.state == epConfirming {
			c.confirmKey(ep, le.ev.Digit, "event")
		}
	case callbox.LegHangup:
		delete(q.legs, le.leg)
		switch ep.state {
		case epRinging:
			ep.cause = le.ev.Cause
		case epConfirming:
			ep.cause = keyMissing
		default:
			return outcome{}
		}
		ep.state = epDone
		ep.stopTimers()
		ep.closeSession()
		c.event("queue.dial-ended", le.leg, "agent", agent, "cause", string(ep.cause))
		c.checkOffer(ep.ao)
	}
	return outcome{}
}

// askConfirm asks an agent who answered on a device that needs it (a mobile, where a
// voicemail could answer) to press the key before the call counts as theirs.
func (c *call) askConfirm(ep *endpoint) {
	ep.state = epConfirming
	o := ep.ao.o
	c.event("queue.confirm", ep.leg, "agent", o.Agent, "key", ep.ep.Confirm)
	if c.sb.media == nil || c.sb.ivr == nil {
		c.log.Warn("no media clock to ask a mobile agent for the key; taking the answer as it is", "agent", o.Agent)
		c.acceptEndpoint(ep)
		return
	}
	sess := session.New(session.Options{Media: ep.leg.Media(), Clock: c.sb.media})
	ep.sess = sess
	speak := c.sb.ivr.Speaker("")
	p := confirmPhrase(o.Queue, ep.ep.Confirm).prompt()
	ctx := c.ctx
	log := c.log
	c.holdWG.Go(func() {
		clip, err := speak(ctx, p)
		if err != nil {
			log.Warn("the mobile agent's prompt could not be spoken", "err", err)
			return
		}
		// Said three times, with pauses; the offer's time ends it anyway.
		var parts []prompt.Source
		for range 3 {
			parts = append(parts, clip.Source(), prompt.Silence(1500*time.Millisecond))
		}
		sess.Play(prompt.Concat(parts...))
	})
}

// confirmKey takes a key an agent pressed while asked to accept.
func (c *call) confirmKey(ep *endpoint, d rune, source string) {
	if ep.state != epConfirming {
		return
	}
	ok := string(d) == ep.ep.Confirm
	c.event("queue.confirm-key", ep.leg, "agent", ep.ao.o.Agent, "key", string(d), "source", source, "valid", fmt.Sprint(ok))
	if ok {
		c.acceptEndpoint(ep)
	}
}

// acceptEndpoint tells the queues the agent took the call on this device; the others stop.
func (c *call) acceptEndpoint(ep *endpoint) {
	q := c.q
	ao := ep.ao
	agent := ao.o.Agent
	for _, other := range ao.eps {
		if other != ep {
			c.stopEndpoint(other, callbox.CauseCancelled)
		}
	}
	ep.stopTimers()
	ep.closeSession()
	ep.state = epDone
	delete(q.offers, agent)
	delete(q.legs, ep.leg)
	ctx, cancel := c.qctx()
	err := c.sb.queues.Answered(ctx, q.id, agent)
	cancel()
	if err != nil {
		c.event("queue.answer-refused", ep.leg, "agent", agent, "reason", callbox.ErrorMessage(err))
		c.hangupAsync(ep.leg, callbox.CauseNormal)
		return
	}
	q.accepted[agent] = ep.leg
	q.answered = true
	c.event("queue.answered", ep.leg, "agent", agent)
}

// acceptedLegEnded handles an agent hanging up between their answer and the bridge.
func (c *call) acceptedLegEnded(leg callbox.Leg) {
	q := c.q
	for agent, l := range q.accepted {
		if l != leg {
			continue
		}
		delete(q.accepted, agent)
		c.event("queue.agent-gone", leg, "agent", agent)
		if q.customer != nil {
			// A callback whose agent left while the caller was dialled: the caller's leg
			// goes too, and the queues count a missed attempt.
			c.hangupAsync(q.customer, callbox.CauseCancelled)
		}
	}
}

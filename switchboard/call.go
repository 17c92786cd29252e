package switchboard

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sync"
	"time"

	"callbox"
	"callbox/config"
	"callbox/ivr"
	"callbox/ivr/e164"
	"callbox/media"
)

// call is one customer conversation through the box. Its goroutine (run) is the only one
// that changes it; legs' events reach it through one channel.
type call struct {
	sb     *Switchboard
	log    *slog.Logger
	rec    callbox.Record
	offer  Offer
	caller callbox.Leg
	ctx    context.Context // ends at shutdown or at the call's maximum duration
	cancel context.CancelFunc

	callee   callbox.Leg          // the party the caller talks to (the last one, after transfers)
	watched  []callbox.Leg        // every leg of the call, in the order they joined
	ended    map[callbox.Leg]bool // legs whose events are over (hangup seen)
	answered time.Time
	record   Recording
	holdWG   sync.WaitGroup
	conv     *ivr.Conversation // the IVR's side of the call, once it has one (ivr.go)
	survey   bool              // ask the survey question when the callee hangs up
	talkEnd  time.Time         // when the conversation ended, if the call went on (survey)
	q        *queued           // the call's side in the queues, once it joins one (queue.go)
	known    Known             // what the helpdesk knows of the caller (lookUp)
	// recordOverride is a queue's say on recording its calls (nil: as the box says).
	recordOverride *bool
}

type legEvent struct {
	leg callbox.Leg
	ev  callbox.LegEvent
}

func (sb *Switchboard) newCall(o Offer) *call {
	cfg := sb.config()
	c := &call{sb: sb, offer: o, caller: o.Leg, ended: map[callbox.Leg]bool{}}
	c.ctx, c.cancel = context.WithTimeout(sb.ctx, cfg.Calls.MaxDuration)
	dir := callbox.Inbound
	switch {
	case o.Extension != "" && (cfg.IsLocal(o.To) || isFeatureCode(o.To)):
		dir = callbox.Internal
	case o.Extension != "":
		dir = callbox.Outbound
	}
	c.rec = callbox.Record{
		ID: sb.newCallID(), Direction: dir, From: o.From.Number, FromName: o.From.Name, To: o.To,
		Trunk: o.Trunk, Started: sb.now(),
	}
	if dir == callbox.Outbound {
		c.rec.Extension = o.Extension
	}
	c.log = sb.log.With("call_id", c.rec.ID)
	return c
}

// event adds a step to the call's timeline.
func (c *call) event(kind string, leg callbox.Leg, detail ...string) {
	e := callbox.Event{At: c.sb.now(), Kind: kind}
	if leg != nil {
		e.Leg = leg.ID()
	}
	if len(detail) > 1 {
		e.Detail = map[string]string{}
		for i := 0; i+1 < len(detail); i += 2 {
			e.Detail[detail[i]] = detail[i+1]
		}
	}
	c.rec.Events = append(c.rec.Events, e)
}

// watch adds a leg whose events the call follows.
func (c *call) watch(l callbox.Leg) {
	if !slices.Contains(c.watched, l) {
		c.watched = append(c.watched, l)
	}
}

// wait returns the next event of any leg of the call, or the index of the first of extra
// (channels such as a timer or a context's Done) that fires first, with ok false. It selects
// over the legs' own channels, so a call needs no goroutine per leg to gather its events.
func (c *call) wait(extra ...any) (le legEvent, fired int, ok bool) {
	le, fired, _, ok = c.waitValue(extra...)
	return le, fired, ok
}

// run is the call's goroutine. It spends most of the call parked at the bottom of
// run → route → … → converse → wait; the functions on that path keep their frames small
// (the work done once, before or after, is in functions of its own) so that the runtime can
// shrink the goroutine's stack, grown while the call was set up, back to 8 KB for the
// conversation. At hundreds of calls that is most of a call's stack.
func (c *call) run() {
	defer c.cancel()
	c.begin()
	result, cause, side := c.route()
	c.finish(result, cause, side)
}

// begin logs and records the start of the call, and looks the caller up.
func (c *call) begin() {
	c.log.Info("call started", "direction", string(c.rec.Direction), "from", c.rec.From, "to", c.rec.To, "trunk", c.rec.Trunk, "leg", c.caller.ID(), "line_call_id", c.offer.LineID)
	c.event("start", c.caller, "from", c.rec.From, "to", c.rec.To, "trunk", c.rec.Trunk, "extension", c.offer.Extension)
	c.watch(c.caller)
	c.lookUp()
}

// routing is where decide sends the call.
type routing struct {
	dest config.Destination
	ring bool        // ring dest (connectTo) rather than dispatch it
	done *ivr.Ending // the call was dealt with while deciding: a feature code, a refusal
}

// route decides where the call goes and carries it through to its end.
func (c *call) route() (result string, cause callbox.Cause, side callbox.HangupSide) {
	r := c.decide()
	switch {
	case r.done != nil:
		return r.done.Result, r.done.Cause, r.done.Side
	case r.ring:
		return c.connectTo(r.dest)
	}
	return c.dispatch(r.dest)
}

// decide is route's decision: a feature code is carried out, a call that may go nowhere is
// refused, and any other gets its destination.
func (c *call) decide() routing {
	ended := func(result string, cause callbox.Cause, side callbox.HangupSide) routing {
		return routing{done: &ivr.Ending{Result: result, Cause: cause, Side: side}}
	}
	cfg := c.sb.config()
	o := c.offer
	if o.Extension != "" && c.sb.queues != nil && isFeatureCode(o.To) {
		ctx, cancel := c.qctx()
		res, ok, err := c.sb.queues.Feature(ctx, o.Extension, o.To)
		cancel()
		if ok {
			return ended(c.feature(res, err))
		}
	}
	if in, ok := cfg.InboundFor(o.Trunk, o.To); ok && (o.Trunk != "" || o.Extension != "") {
		c.rec.DID = in.Number
		c.survey = in.Survey
		c.event("route", nil, "number", in.Number, "destination", in.Dest.String())
		return routing{dest: in.Dest}
	}
	if o.Extension == "" {
		// From a trunk, only the box's numbers are reachable: nothing unauthenticated dials out.
		c.event("route", nil, "refused", "not one of the box's numbers")
		return ended(c.reject(callbox.CauseNotFound))
	}
	if _, ok := cfg.Extension(o.To); ok {
		return routing{dest: config.Destination{Kind: "extension", Name: o.To}, ring: true}
	}
	if ext, _ := cfg.Extension(o.Extension); ext.External == nil || *ext.External {
		if c.sb.dialer.CanDialOut(o.To) {
			return routing{dest: config.Destination{Kind: "number", Name: o.To}, ring: true}
		}
	}
	c.event("route", nil, "refused", "no extension, number or route matches")
	return ended(c.reject(callbox.CauseNotFound))
}

// reject ends the caller's leg unanswered.
func (c *call) reject(cause callbox.Cause) (string, callbox.Cause, callbox.HangupSide) {
	c.hangup(c.caller, cause)
	return resultFor(cause), cause, callbox.SideBox
}

func resultFor(cause callbox.Cause) string {
	switch cause {
	case callbox.CauseBusy:
		return "busy"
	case callbox.CauseNoAnswer:
		return "missed"
	case callbox.CauseCancelled:
		return "abandoned"
	case callbox.CauseRejected:
		return "rejected"
	case callbox.CauseNotFound:
		return "not-found"
	}
	return "failed"
}

// targetsFor turns a destination into what to dial.
func (c *call) targetsFor(d config.Destination) ([]Target, time.Duration) {
	cfg := c.sb.config()
	timeout := cfg.Calls.RingTimeout
	from := c.presented()
	codec := c.caller.Media().Codec()
	switch d.Kind {
	case "extension":
		return []Target{{Kind: "extension", Number: d.Name, From: from, Codec: codec, Timeout: timeout, CallID: c.rec.ID}}, timeout
	case "group":
		g, _ := cfg.Group(d.Name)
		if g.RingTimeout > 0 {
			timeout = g.RingTimeout
		}
		var ts []Target
		for _, e := range g.Extensions {
			ts = append(ts, Target{Kind: "extension", Number: e, From: from, Codec: codec, Timeout: timeout, CallID: c.rec.ID})
		}
		return ts, timeout
	case "number":
		return []Target{{Kind: "number", Number: d.Name, From: from, Codec: codec, Timeout: timeout, CallID: c.rec.ID}}, timeout
	}
	return nil, timeout
}

// connectTo rings a destination and, once answered, bridges the call until it ends; a call
// nobody answers is ended with the reason.
func (c *call) connectTo(d config.Destination) (string, callbox.Cause, callbox.HangupSide) {
	result, cause, side, reach := c.connect(d, 0)
	if reach == ivr.Unanswered {
		c.hangup(c.caller, cause)
	}
	return result, cause, side
}

// connect rings a destination (for ringTimeout, 0 for the destination's own) and, once
// answered, bridges the call until it ends. Unanswered, the caller stays on the line: the
// IVR may go on with them.
func (c *call) connect(d config.Destination, ringTimeout time.Duration) (string, callbox.Cause, callbox.HangupSide, ivr.Reach) {
	a := c.reach(d, ringTimeout)
	if a.unbridge == nil {
		return a.Result, a.Cause, a.Side, a.reach
	}
	busy := c.agentsBusy()
	result, cause, side := c.talk(a.callee, a.unbridge)
	c.agentsFree(busy)
	return result, cause, side, ivr.Answered
}

// reached is what reach got to: a callee bridged to the caller (unbridge undoes it), or the
// ending of a call that got no further.
type reached struct {
	ivr.Ending
	reach    ivr.Reach
	callee   callbox.Leg
	unbridge func()
}

// reach is connect up to the conversation: it rings the destination, and bridges and
// answers the caller once someone answers. It is a function of its own so that its frame is
// not on the call's stack during the conversation (see run).
func (c *call) reach(d config.Destination, ringTimeout time.Duration) reached {
	ended := func(result string, cause callbox.Cause, side callbox.HangupSide, reach ivr.Reach) reached {
		return reached{Ending: ivr.Ending{Result: result, Cause: cause, Side: side}, reach: reach}
	}
	targets, timeout := c.targetsFor(d)
	if ringTimeout > 0 {
		timeout = ringTimeout
		for i := range targets {
			targets[i].Timeout = ringTimeout
		}
	}
	if c.conv != nil {
		c.conv.Ringback(c.ctx) // a caller the IVR answered hears ringing from the box
	}
	callee, cause, side := c.ring(targets, timeout)
	c.releaseMedia()
	if callee == nil {
		if side == callbox.SideCaller {
			return ended("abandoned", cause, side, ivr.CallerLeft)
		}
		return ended(resultFor(cause), cause, side, ivr.Unanswered)
	}
	// Media is bridged (and recorded) before the caller gets its 200: audio that follows the
	// ACK at once must not arrive at a leg with nowhere to go.
	c.callee = callee
	c.startRecording()
	unbridge := c.bridge(callee)
	if err := c.caller.Answer(c.ctx); err != nil {
		unbridge()
		c.log.Warn("answering the caller failed", "err", err)
		c.hangup(callee, callbox.CauseFailed)
		return ended("failed", callbox.CauseFailed, callbox.SideBox, ivr.Answered)
	}
	c.answered = c.sb.now()
	c.rec.Answered = &c.answered
	if callee.Kind() == callbox.LegTrunk {
		c.rec.Trunk = callee.Trunk()
	}
	c.event("answered", callee, "by", callee.Remote().Number)
	return reached{reach: ivr.Answered, callee: callee, unbridge: unbridge}
}

// ring dials every target and waits for the first answer, the caller hanging up, or the
// ring timeout. Early media from a callee reaches the caller.
func (c *call) ring(targets []Target, timeout time.Duration) (callbox.Leg, callbox.Cause, callbox.HangupSide) {
	ringing := map[callbox.Leg]Target{}
	best := callbox.CauseUnavailable
	for _, t := range targets {
		leg, err := c.sb.dialer.Dial(c.ctx, t)
		if err != nil {
			cause := callbox.CauseUnavailable
			if callbox.ErrorCode(err) == callbox.ENOTFOUND {
				cause = callbox.CauseNotFound
			}
			c.event("dial-failed", nil, "target", t.Kind+":"+t.Number, "reason", callbox.ErrorMessage(err))
			best = worseCause(best, cause)
			continue
		}
		c.event("dial", leg, "target", t.Kind+":"+t.Number)
		c.watch(leg)
		ringing[leg] = t
	}
	if len(ringing) == 0 {
		return nil, best, callbox.SideBox
	}
	stopAll := func(cause callbox.Cause, except callbox.Leg) {
		for l := range ringing {
			if l != except {
				c.hangupAsync(l, cause)
			}
		}
	}
	timer := time.NewTimer(timeout + time.Second) // the legs time out themselves first
	defer timer.Stop()
	rang, early := false, callbox.Leg(nil)
	var unbridge func()
	defer func() {
		if unbridge != nil {
			unbridge()
		}
	}()
	for {
		le, fired, ok := c.wait(timer.C, c.ctx.Done())
		switch {
		case !ok && fired == 0:
			c.event("ring-timeout", nil)
			stopAll(callbox.CauseNoAnswer, nil)
			return nil, callbox.CauseNoAnswer, callbox.SideBox
		case !ok:
			stopAll(callbox.CauseShutdown, nil)
			return nil, c.endCause(), callbox.SideBox
		}
		{
			if le.leg == c.caller {
				if le.ev.Kind == callbox.LegHangup {
					c.event("caller-hangup", c.caller)
					stopAll(callbox.CauseCancelled, nil)
					return nil, callbox.CauseCancelled, callbox.SideCaller
				}
				continue
			}
			t, ok := ringing[le.leg]
			if !ok {
				continue
			}
			switch le.ev.Kind {
			case callbox.LegRinging:
				c.event("ringing", le.leg, "target", t.Kind+":"+t.Number)
				if !rang && early == nil {
					rang = true
					c.caller.Ring(c.ctx, false)
				}
			case callbox.LegProgress:
				c.event("early-media", le.leg)
				if early == nil {
					early = le.leg
					c.caller.Ring(c.ctx, true)
					c.releaseMedia()
					unbridge = media.Bridge(c.caller.Media(), le.leg.Media(), nil)
				}
			case callbox.LegAnswered:
				stopAll(callbox.CauseCancelled, le.leg)
				if t.Kind == "extension" {
					c.rec.Extension = t.Number
				}
				return le.leg, "", ""
			case callbox.LegHangup:
				delete(ringing, le.leg)
				c.event("dial-ended", le.leg, "cause", string(le.ev.Cause))
				best = worseCause(best, le.ev.Cause)
				if le.leg == early {
					unbridge()
					unbridge, early = nil, nil
				}
				if len(ringing) == 0 {
					return nil, best, callbox.SideCallee
				}
			}
		}
	}
}

// worseCause keeps the more telling of two failures (busy beats no-answer beats unavailable).
func worseCause(a, b callbox.Cause) callbox.Cause {
	rank := map[callbox.Cause]int{callbox.CauseRejected: 6, callbox.CauseBusy: 5, callbox.CauseNoAnswer: 4, callbox.CauseNotFound: 3, callbox.CauseUnavailable: 2}
	if rank[b] > rank[a] {
		return b
	}
	return a
}

func (c *call) endCause() callbox.Cause {
	if errors.Is(c.ctx.Err(), context.DeadlineExceeded) {
		return callbox.CauseMaxDuration
	}
	return callbox.CauseShutdown
}

// hangup ends a leg and waits (a few seconds at most) for the far end to be told.
func (c *call) hangup(l callbox.Leg, cause callbox.Cause) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(c.ctx), 10*time.Second)
	defer cancel()
	if err := l.Hangup(ctx, cause); err != nil {
		c.log.Debug("hangup", "leg", l.ID(), "err", err)
	}
}

func (c *call) hangupAsync(l callbox.Leg, cause callbox.Cause) {
	c.holdWG.Go(func() { c.hangup(l, cause) })
}

func (c *call) startRecording() {
	cfg := c.sb.config()
	want := cfg.ShouldRecord(c.rec.DID, c.rec.Extension, c.offer.Extension)
	if c.recordOverride != nil {
		want = *c.recordOverride
	}
	if c.sb.recorder == nil || c.record != nil || !want {
		return
	}
	r, err := c.sb.recorder.Start(c.ctx, c.rec.ID, c.sb.now())
	if err != nil {
		c.sb.metrics.recFails.Inc()
		c.log.Error("recording could not start; the call goes on unrecorded", "err", err)
		return
	}
	c.record = r
	c.event("recording", nil)
}

// finish ends every leg still up, waits for their goroutines, and writes the record.
func (c *call) finish(result string, cause callbox.Cause, side callbox.HangupSide) {
	c.releaseMedia()
	for _, l := range c.watched {
		select {
		case <-l.Done():
		default:
			c.hangup(l, callbox.CauseNormal)
		}
	}
	c.holdWG.Wait()
	end := c.sb.now()
	c.rec.Ended, c.rec.Result, c.rec.Cause, c.rec.HangupSide = end, result, string(cause), side
	if c.rec.Answered != nil {
		talkEnd := end
		if !c.talkEnd.IsZero() {
			talkEnd = c.talkEnd // the survey after the conversation is not talk
		}
		c.rec.TalkTime = talkEnd.Sub(*c.rec.Answered)
		c.sb.metrics.talk.Observe(c.rec.TalkTime.Seconds())
	}
	c.finishRecording()
	if c.callee != nil && c.caller != nil {
		c.rec.Media = mediaStats(c.caller, c.callee)
	} else if c.conv != nil {
		c.rec.Media = callerStats(c.caller)
	}
	c.event("end", nil, "result", result, "cause", string(cause), "side", string(side))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.sb.store.FinishCall(ctx, &c.rec); err != nil {
		c.sb.metrics.storeErr.Inc()
		c.log.Error("call record could not be written", "err", err, "record", c.rec)
	}
	c.sb.metrics.total.WithLabelValues(string(c.rec.Direction), result).Inc()
	c.log.Info("call ended", "result", result, "cause", string(cause), "side", string(side), "talk", c.rec.TalkTime.Round(time.Millisecond).String())
}

// finishRecording closes the call's recording, if any, and puts it on the record.
func (c *call) finishRecording() {
	if c.record == nil {
		return
	}
	rec, err := c.record.Finish()
	c.record = nil
	if err != nil {
		// The recorder has logged and counted why it stopped early.
		c.log.Debug("recording incomplete", "err", err)
	}
	if rec != nil {
		rec.CallID = c.rec.ID
		c.rec.Recording = rec
	}
}

// statsMedia is the media of a leg that counts its RTP.
type statsMedia interface{ Stats() *media.Stats }

// mediaStats reads the RTP counters of both sides of an answered call, when the legs keep
// them.
func mediaStats(caller, callee callbox.Leg) *callbox.MediaStats {
	a, ok1 := caller.Media().(statsMedia)
	b, ok2 := callee.Media().(statsMedia)
	if !ok1 || !ok2 {
		return nil
	}
	sa, sb := a.Stats(), b.Stats()
	return &callbox.MediaStats{
		CallerIn: sa.PacketsIn.Load(), CallerOut: sa.PacketsOut.Load(), CallerLost: sa.Lost(),
		CallerJitterMS: float64(sa.Jitter().Microseconds()) / 1000,
		CalleeIn:       sb.PacketsIn.Load(), CalleeOut: sb.PacketsOut.Load(), CalleeLost: sb.Lost(),
		CalleeJitterMS: float64(sb.Jitter().Microseconds()) / 1000,
	}
}

// lookUp asks the helpdesk who is calling before the IVR and the queues decide, within the
// look-up's own deadline (a slow or dead helpdesk costs the caller no more than that): the
// name for the agents' phones, the VIP tag for the IVR and the queues' priority, the open
// ticket's agent for the sticky agent.
func (c *call) lookUp() {
	if c.sb.callers == nil || c.rec.Direction != callbox.Inbound {
		return
	}
	p, ok := e164.PlanFor(c.sb.config().Box.Country)
	if !ok {
		return
	}
	number, ok := p.Normalize(c.rec.From)
	if !ok {
		return
	}
	ctx, cancel := context.WithTimeout(c.ctx, time.Second)
	defer cancel()
	c.known = c.sb.callers.Caller(ctx, number)
	detail := []string{"number", number}
	if c.known.Name != "" {
		detail = append(detail, "name", c.known.Name)
		if c.rec.FromName == "" {
			c.rec.FromName = c.known.Name
		}
	}
	if c.known.Organization != "" {
		detail = append(detail, "organization", c.known.Organization)
	}
	if c.known.VIP {
		detail = append(detail, "vip", "helpdesk")
		c.rec.VIP = max(c.rec.VIP, helpdeskVIPLevel)
		if !slices.Contains(c.rec.Flags, "vip") {
			c.rec.Flags = append(c.rec.Flags, "vip")
		}
	}
	if c.known.TicketAgent != "" {
		detail = append(detail, "ticket_agent", c.known.TicketAgent)
	}
	if len(detail) > 2 {
		c.event("lookup", nil, detail...)
	}
}

// helpdeskVIPLevel is the priority of a caller the helpdesk tags VIP (the IVR's VIP list
// may give a higher one).
const helpdeskVIPLevel = 5

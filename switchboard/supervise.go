package switchboard

import (
	"context"
	"fmt"
	"strings"
	"time"

	"callbox"
	"callbox/queue"
)

// Supervisors on agents' queue calls: listen (nobody hears them), whisper (only the agent
// does), barge (all three hear each other). From the API the box calls the supervisor's
// phone; from a feature code the supervisor's own call is handed over. Either way the
// supervised call's goroutine owns the supervisor's leg from then on, and its conversation
// is mixed while a supervisor is on.

// superviseReq asks a call in a conversation to take a supervisor.
type superviseReq struct {
	mode  queue.Feature
	from  string      // the extension to call (the API), or
	leg   callbox.Leg // the answered leg of a supervisor who dialled a feature code
	reply chan error  // told once: the supervisor is being connected, or why not
	done  chan struct{}
}

func (r superviseReq) fail(err error) {
	select {
	case r.reply <- err:
	default:
	}
}

// supervisor is a supervisor on a call.
type supervisor struct {
	mode   queue.Feature
	leg    callbox.Leg
	joined bool          // in the mix (answered)
	done   chan struct{} // a feature code's call waits on it; nil for the API's
}

// release lets go of the supervisor's leg: hung up, and their own call told.
func (s *supervisor) release() {
	select {
	case <-s.leg.Done():
	default:
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		s.leg.Hangup(ctx, callbox.CauseNormal)
		cancel()
	}
	if s.done != nil {
		close(s.done)
		s.done = nil
	}
}

// Supervise calls the supervisor's phone from and connects it to agentID's queue call, to
// listen, whisper or barge in. It returns once the phone rings (web.Supervisor).
func (sb *Switchboard) Supervise(ctx context.Context, mode queue.Feature, agentID, from string) error {
	if !mode.Supervising() {
		return callbox.Errorf(callbox.EINVALID, "%q is not listen, whisper or barge", mode)
	}
	if sb.queues == nil {
		return callbox.Errorf(callbox.EUNAVAILABLE, "the queues are not running")
	}
	if _, ok := sb.config().Extension(from); !ok {
		return callbox.Errorf(callbox.EINVALID, "extension %s does not exist", from)
	}
	if from == agentID {
		return callbox.Errorf(callbox.EINVALID, "an agent cannot supervise their own call")
	}
	callID, err := sb.queues.AgentCall(ctx, agentID)
	if err != nil {
		return err
	}
	return sb.superviseCall(ctx, callID, superviseReq{mode: mode, from: from, reply: make(chan error, 1)})
}

// superviseCall hands a request to the call and waits for its answer.
func (sb *Switchboard) superviseCall(ctx context.Context, callID string, r superviseReq) error {
	sb.mu.Lock()
	c := sb.queued[callID]
	if c != nil {
		c.q.inbox.post(r)
	}
	sb.mu.Unlock()
	if c == nil {
		return callbox.Errorf(callbox.ENOTFOUND, "call %s is not in progress here", callID)
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	select {
	case err := <-r.reply:
		return err
	case <-ctx.Done():
		return fmt.Errorf("supervise call %s: %w", callID, ctx.Err())
	}
}

// supervise takes a supervisor into the conversation with callee.
func (c *call) supervise(r superviseReq, callee callbox.Leg, unbridge *func()) {
	if c.sb.media == nil {
		r.fail(callbox.Errorf(callbox.EUNAVAILABLE, "no media clock to mix a supervised call"))
		return
	}
	s := &supervisor{mode: r.mode, leg: r.leg, done: r.done}
	if s.leg == nil {
		who := c.rec.Agent
		t := Target{Kind: "extension", Number: r.from, From: callbox.Party{Number: who, Name: string(r.mode) + " " + who},
			Codec: callee.Media().Codec(), Timeout: c.sb.config().Calls.RingTimeout, CallID: c.rec.ID}
		leg, err := c.sb.dialer.Dial(c.ctx, t)
		if err != nil {
			r.fail(err)
			return
		}
		s.leg = leg
		c.event("supervisor.dial", leg, "mode", string(r.mode), "extension", r.from)
	}
	c.watch(s.leg)
	c.q.supers = append(c.q.supers, s)
	r.fail(nil)
	if r.leg != nil {
		c.joinSupervisor(s, callee, unbridge)
	}
}

// joinSupervisor brings an answered supervisor into the mix, turning the relay into one.
func (c *call) joinSupervisor(s *supervisor, callee callbox.Leg, unbridge *func()) {
	q := c.q
	if q.conf == nil {
		(*unbridge)()
		cf := newConference(c.sb.media, c.caller, callee, c.record)
		q.conf = cf
		*unbridge = cf.close
	}
	q.conf.addSupervisor(c.sb.media, s.leg, s.mode)
	s.joined = true
	c.sb.metrics.superv.WithLabelValues(string(s.mode)).Inc()
	c.event("supervisor", s.leg, "mode", string(s.mode), "agent", c.rec.Agent, "by", s.leg.Remote().Number)
	c.log.Info("supervisor joined", "mode", string(s.mode), "agent", c.rec.Agent, "leg", s.leg.ID())
}

// supervisorFor is the supervisor whose leg this is, if any.
func (c *call) supervisorFor(leg callbox.Leg) *supervisor {
	if c.q == nil {
		return nil
	}
	for _, s := range c.q.supers {
		if s.leg == leg {
			return s
		}
	}
	return nil
}

// supervisorEvent follows a supervisor's leg during the conversation.
func (c *call) supervisorEvent(s *supervisor, le legEvent, callee callbox.Leg, unbridge *func()) {
	switch le.ev.Kind {
	case callbox.LegAnswered:
		if !s.joined {
			c.joinSupervisor(s, callee, unbridge)
		}
	case callbox.LegHangup:
		c.dropSupervisor(s, callee, unbridge)
	}
}

// dropSupervisor takes a supervisor who hung up off the call; with the last one gone the
// conversation is relayed again.
func (c *call) dropSupervisor(s *supervisor, callee callbox.Leg, unbridge *func()) {
	q := c.q
	for i, x := range q.supers {
		if x == s {
			q.supers = append(q.supers[:i], q.supers[i+1:]...)
			break
		}
	}
	s.release()
	c.event("supervisor.left", s.leg, "mode", string(s.mode))
	if !s.joined || q.conf == nil {
		return
	}
	if !q.conf.remove(s.leg) {
		q.conf.close()
		q.conf = nil
		*unbridge = c.bridge(callee)
	}
}

// endSupervision lets every supervisor go when the conversation ends or changes hands;
// the media are left unconnected (unbridge does nothing afterwards).
func (c *call) endSupervision(unbridge *func()) {
	q := c.q
	if q == nil {
		return
	}
	for _, s := range q.supers {
		c.event("supervisor.left", s.leg, "mode", string(s.mode))
		s.release()
	}
	q.supers = nil
	if q.conf != nil {
		q.conf.close()
		q.conf = nil
		*unbridge = func() {}
	}
}

// The feature codes a phone dials: log in or out, pause, supervise.

// isFeatureCode tells numbers worth asking the queues about.
func isFeatureCode(dialled string) bool {
	return strings.HasPrefix(dialled, "*") || strings.HasPrefix(dialled, "#")
}

// feature answers a feature code dialled by the call's phone: it says what it did, or
// connects the phone to the call it supervises.
func (c *call) feature(res queue.FeatureResult, err error) (string, callbox.Cause, callbox.HangupSide) {
	c.event("feature", nil, "code", c.offer.To, "feature", string(res.Feature), "agent", res.Agent)
	if err == nil && res.Feature.Supervising() {
		return c.superviseByCode(res)
	}
	var text phrase
	switch {
	case err != nil && callbox.ErrorCode(err) == callbox.ENOTFOUND && res.Feature.Supervising():
		text = noQueueCallPhrase(res.Agent)
	case err != nil && callbox.ErrorCode(err) == callbox.ENOTFOUND:
		text = notAgentPhrase()
	case err != nil:
		text = failedPhrase()
	case res.Feature == queue.FeatureLogin && res.LoggedIn:
		text = loggedInPhrase()
	case res.Feature == queue.FeatureLogin:
		text = loggedOutPhrase()
	case res.Paused:
		text = pausedPhrase()
	default:
		text = resumedPhrase()
	}
	if err != nil {
		c.event("feature.failed", nil, "reason", callbox.ErrorMessage(err))
		c.log.Info("feature code failed", "code", c.offer.To, "err", err)
	}
	return c.sayAndHangUp(text)
}

// sayAndHangUp answers, says text and hangs up.
func (c *call) sayAndHangUp(text phrase) (string, callbox.Cause, callbox.HangupSide) {
	cv := c.conversation()
	if cv == nil {
		if err := c.caller.Answer(c.ctx); err != nil {
			return "failed", callbox.CauseFailed, callbox.SideBox
		}
		c.hangup(c.caller, callbox.CauseNormal)
		return "feature", callbox.CauseNormal, callbox.SideBox
	}
	if !cv.Say(c.ctx, text.prompt()) {
		c.releaseMedia()
		return "feature", callbox.CauseNormal, callbox.SideCaller
	}
	c.releaseMedia()
	c.hangup(c.caller, callbox.CauseNormal)
	return "feature", callbox.CauseNormal, callbox.SideBox
}

// superviseByCode connects the phone that dialled *31/*32/*33 + extension to that agent's
// call, and waits while it is on.
func (c *call) superviseByCode(res queue.FeatureResult) (string, callbox.Cause, callbox.HangupSide) {
	if err := c.caller.Answer(c.ctx); err != nil {
		c.log.Warn("answering the supervisor failed", "err", err)
		return "failed", callbox.CauseFailed, callbox.SideBox
	}
	c.answered = c.sb.now()
	c.rec.Answered = &c.answered
	r := superviseReq{mode: res.Feature, leg: c.caller, reply: make(chan error, 1), done: make(chan struct{})}
	if err := c.sb.superviseCall(c.ctx, res.Call, r); err != nil {
		c.event("feature.failed", nil, "reason", callbox.ErrorMessage(err))
		return c.sayAndHangUp(cannotJoinPhrase())
	}
	c.rec.Variables = map[string]string{"supervised_call": res.Call}
	c.event("supervise", nil, "mode", string(res.Feature), "agent", res.Agent, "call", res.Call)
	// The supervised call owns the leg now: its events are not read here.
	select {
	case <-r.done:
	case <-c.ctx.Done():
	}
	return "answered", callbox.CauseNormal, callbox.SideCaller
}

// spell reads digits one by one.
func spell(digits string) string {
	return strings.Join(strings.Split(digits, ""), " ")
}

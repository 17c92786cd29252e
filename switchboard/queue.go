package switchboard

import (
	"context"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"callbox"
	"callbox/config"
	"callbox/ivr"
	"callbox/queue"
)

// Queues is what the call path asks of the queues; *queue.Service implements it.
type Queues interface {
	Join(ctx context.Context, queue, callID string, caller queue.Caller) error
	Hangup(ctx context.Context, callID string) error
	Answered(ctx context.Context, callID, agentID string) error
	NotAnswered(ctx context.Context, callID, agentID, reason string) error
	RequestCallback(ctx context.Context, callID, number string) error
	CallbackReached(ctx context.Context, callID string, reached bool) error
	TakeBack(ctx context.Context, callID string) error
	DirectCall(ctx context.Context, agentID string, active bool) error
	Feature(ctx context.Context, ext, dialled string) (queue.FeatureResult, bool, error)
	AgentCall(ctx context.Context, agentID string) (string, error)
}

// CallerInfo tells what the helpdesk knows of a caller joining a queue. It must answer
// within a short deadline (the caller waits on it).
type CallerInfo interface {
	// Caller is what the helpdesk knows of a number (E.164), within ctx's deadline.
	Caller(ctx context.Context, number string) Known
}

// Known is what the helpdesk knows of a caller.
type Known struct {
	Name         string
	Organization string
	VIP          bool
	TicketAgent  string // the agent of the caller's open ticket, "" when none
}

// QueueConnector is the switchboard as the queues see it: it carries out their decisions
// on the calls' legs. Each action goes to the goroutine of its call; an offer of a callback
// whose caller is not on the line starts a call of its own.
func (sb *Switchboard) QueueConnector() queue.Connector { return connector{sb} }

type connector struct{ sb *Switchboard }

// Execute implements queue.Connector. It never waits for a call.
func (k connector) Execute(ctx context.Context, a queue.Action) {
	k.sb.mu.Lock()
	defer k.sb.mu.Unlock()
	k.sb.routeLocked(a)
}

// routeLocked hands an action to its call (sb.mu held).
func (sb *Switchboard) routeLocked(a queue.Action) {
	if c := sb.queued[a.CallID()]; c != nil {
		c.q.inbox.post(a)
		return
	}
	if o, ok := a.(queue.Offer); ok && o.Callback {
		if sb.draining {
			sb.log.Info("callback not started: the box is stopping", "queue_call_id", o.Call, "agent", o.Agent)
			return
		}
		c := sb.newCallbackCall(o)
		sb.queued[o.Call] = c
		c.q.inbox.post(o)
		sb.startLocked(c, c.runCallback)
		return
	}
	sb.log.Debug("queue action for a call no longer here", "call_id", a.CallID(), "action", a.Kind())
}

// queued is a call's side in the queues: the actions waiting for it and what they
// started. Only the call's goroutine touches it, but for the inbox.
type queued struct {
	id       string // the queues' id of the call: the call's own, or a callback's first call
	queue    string // where it waits now
	inbox    *inbox
	callback bool         // a callback: the caller is dialled once an agent answered
	caller   queue.Caller // as the queues know them
	joined   bool         // the queues know the call: they must hear when it ends
	over     bool         // the queues are done with the call (told, or they said so)

	offers   map[string]*agentOffer    // ringing agents, by agent
	legs     map[callbox.Leg]*endpoint // the agents' legs of those offers
	accepted map[string]callbox.Leg    // agents whose answer the queues took, until the bridge
	answered bool                      // an agent answered: the call has a record worth keeping
	hold     *holdSource               // what the waiting caller hears; nil when not waiting
	customer callbox.Leg               // a callback's caller while dialled
	ringback *ringbackSession          // a callback's agent hears ringing meanwhile
	supers   []*supervisor
	conf     *conference // mixing for supervisors, nil while relayed
}

func newQueued(id, queueName string) *queued {
	return &queued{id: id, queue: queueName, inbox: newInbox(), offers: map[string]*agentOffer{},
		legs: map[callbox.Leg]*endpoint{}, accepted: map[string]callbox.Leg{}}
}

// inbox carries the queues' actions (and the switchboard's own requests, timers) to a
// call's goroutine without ever blocking the sender.
type inbox struct {
	mu    sync.Mutex
	items []any
	ready chan struct{} // holds a token while items may wait
}

func newInbox() *inbox { return &inbox{ready: make(chan struct{}, 1)} }

func (b *inbox) post(x any) {
	b.mu.Lock()
	b.items = append(b.items, x)
	b.mu.Unlock()
	select {
	case b.ready <- struct{}{}:
	default:
	}
}

func (b *inbox) next() (any, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if len(b.items) == 0 {
		return nil, false
	}
	x := b.items[0]
	b.items[0] = nil
	b.items = b.items[1:]
	return x, true
}

func (b *inbox) drain() []any {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := b.items
	b.items = nil
	return out
}

func (b *inbox) empty() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.items) == 0
}

// qctx is a context for telling the queues something: it outlives the call's own (a call
// ended by shutdown still tells them), but not by much.
func (c *call) qctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(c.ctx), 5*time.Second)
}

// toQueue puts the caller in a queue: they hear music and announcements until an agent
// takes the call, and the queues' decisions are carried out here until the call leaves
// them.
func (c *call) toQueue(name string) (string, callbox.Cause, callbox.HangupSide) {
	svc := c.sb.queues
	cv := c.conversation()
	if svc == nil || cv == nil {
		why := "queues are not running"
		if cv == nil {
			why = "queues need the IVR, which is not running"
		}
		c.event("queue", nil, "queue", name, "refused", why)
		c.log.Error("a call for a queue was refused", "queue", name, "reason", why)
		c.releaseMedia()
		c.hangup(c.caller, callbox.CauseUnavailable)
		return "failed", callbox.CauseUnavailable, callbox.SideBox
	}
	c.q = newQueued(c.rec.ID, name)
	defer c.q.shutdown(c)
	c.rec.Queue = name
	if err := c.startHold(); err != nil {
		c.event("caller-hangup", c.caller)
		return "abandoned", callbox.CauseCancelled, callbox.SideCaller
	}
	caller := queue.Caller{Number: cv.Caller(), Name: c.rec.FromName, Priority: c.rec.VIP, TicketAgent: c.known.TicketAgent}
	c.q.caller = caller
	c.sb.mu.Lock()
	c.sb.queued[c.q.id] = c
	c.sb.mu.Unlock()
	detail := []string{"queue", name, "number", caller.Number}
	if caller.Priority > 0 {
		detail = append(detail, "priority", strconv.Itoa(caller.Priority))
	}
	if caller.TicketAgent != "" {
		detail = append(detail, "ticket_agent", caller.TicketAgent)
	}
	c.event("queue.join", nil, detail...)
	ctx, cancel := c.qctx()
	err := svc.Join(ctx, name, c.q.id, caller)
	cancel()
	if err != nil {
		c.leaveQueues()
		c.event("queue.refused", nil, "queue", name, "reason", callbox.ErrorMessage(err))
		c.log.Error("the queue did not take the call", "queue", name, "err", err)
		c.releaseMedia()
		c.hangup(c.caller, callbox.CauseUnavailable)
		return "failed", callbox.CauseUnavailable, callbox.SideBox
	}
	c.q.joined = true
	o := c.waitInQueue()
	if o.dest != nil {
		c.releaseMedia()
		return c.dispatch(*o.dest)
	}
	return o.end.Result, o.end.Cause, o.end.Side
}

// outcome is how a step of a queued call went: on waiting (done false), over, or on to a
// destination outside the queues.
type outcome struct {
	done bool
	end  ivr.Ending
	dest *config.Destination
}

func over(result string, cause callbox.Cause, side callbox.HangupSide) outcome {
	return outcome{done: true, end: ivr.Ending{Result: result, Cause: cause, Side: side}}
}

// waitInQueue carries out the queues' actions and follows the legs until the call leaves
// the queues.
func (c *call) waitInQueue() outcome {
	q := c.q
	for {
		if x, ok := q.inbox.next(); ok {
			if o := c.onQueueItem(x); o.done {
				return o
			}
			continue
		}
		if q.callback && q.idle() && c.retireIfIdle() {
			// Every offer of this callback ended unanswered: the queues try again later,
			// from a call of its own.
			return over("missed", callbox.CauseNoAnswer, callbox.SideBox)
		}
		var callerDone <-chan struct{}
		var callerDigits <-chan rune
		if q.hold != nil {
			callerDone = c.caller.Done()
			callerDigits = c.conv.Digits()
		}
		extras := []any{q.inbox.ready, c.ctx.Done(), callerDone, callerDigits}
		confirms := q.confirming()
		for _, ep := range confirms {
			extras = append(extras, ep.sess.Digits())
		}
		le, fired, v, ok := c.waitValue(extras...)
		switch {
		case ok:
			if o := c.onQueuedLeg(le); o.done {
				return o
			}
		case fired == 0:
		case fired == 1:
			return c.queueEnded()
		case fired == 2:
			return c.abandon()
		case fired == 3:
			c.callerKey(rune(v.Int()), "in-band")
		default:
			c.confirmKey(confirms[fired-4], rune(v.Int()), "in-band")
		}
	}
}

// onQueueItem carries out one action of the queues (or a request of the switchboard's own)
// for a call that is not in a conversation.
func (c *call) onQueueItem(x any) outcome {
	switch a := x.(type) {
	case queue.Offer:
		c.ringAgent(a)
	case queue.CancelOffer:
		c.cancelOffer(a)
	case queue.Bridge:
		return c.bridgeAgent(a)
	case queue.DialCaller:
		return c.dialCustomer(a)
	case queue.Announce:
		c.announce(a)
	case queue.CallbackAccepted:
		return c.callbackAccepted(a)
	case queue.Overflow:
		return c.overflow(a)
	case queue.Moved:
		c.event("queue.moved", nil, "from", a.From, "to", a.To, "reason", a.Reason)
		c.q.queue, c.rec.Queue = a.To, a.To
	case endpointTimer:
		c.endpointTimer(a)
	case superviseReq:
		a.fail(callbox.Errorf(callbox.ECONFLICT, "the call is not in a conversation"))
	case queue.Action:
		c.log.Debug("queue action ignored while waiting", "action", a.Kind())
	}
	return outcome{}
}

// onQueuedLeg follows the legs of a call in the queues: the caller on hold, agents
// ringing, a callback's caller being dialled.
func (c *call) onQueuedLeg(le legEvent) outcome {
	q := c.q
	switch {
	case le.leg == c.caller && q.hold != nil:
		switch le.ev.Kind {
		case callbox.LegHangup:
			return c.abandon()
		case callbox.LegDTMF:
			c.callerKey(le.ev.Digit, "event")
		}
	case le.leg == q.customer:
		return c.onCustomer(le)
	default:
		return c.onAgentLeg(le)
	}
	return outcome{}
}

// callerKey handles a key the waiting caller pressed: the queue's callback key asks for
// a callback.
func (c *call) callerKey(d rune, source string) {
	qc, _ := c.sb.config().Queue(c.q.queue)
	if qc.CallbackKey == "" || string(d) != qc.CallbackKey {
		c.event("dtmf", c.caller, "digit", string(d), "source", source)
		return
	}
	c.event("queue.callback-key", c.caller, "key", string(d), "source", source)
	ctx, cancel := c.qctx()
	defer cancel()
	if err := c.sb.queues.RequestCallback(ctx, c.q.id, ""); err != nil {
		c.event("queue.callback-refused", nil, "reason", callbox.ErrorMessage(err))
		c.log.Info("callback request refused", "err", err)
	}
}

// abandon ends the call of a caller who hung up while waiting.
func (c *call) abandon() outcome {
	c.event("caller-hangup", c.caller)
	c.queueOver()
	return over("abandoned", callbox.CauseNormal, callbox.SideCaller)
}

// queueEnded ends a queued call whose context ended (shutdown, maximum duration).
func (c *call) queueEnded() outcome {
	cause := c.endCause()
	c.event("hangup", nil, "cause", string(cause), "side", "box")
	c.queueOver()
	if c.caller != nil {
		c.releaseMedia()
		c.hangup(c.caller, cause)
	}
	return over(resultFor(cause), cause, callbox.SideBox)
}

// queueOver tells the queues the call is over for them (once), and takes it off the
// switchboard's list of queued calls.
func (c *call) queueOver() {
	q := c.q
	if q == nil {
		return
	}
	if q.joined && !q.over {
		q.over = true
		ctx, cancel := c.qctx()
		if err := c.sb.queues.Hangup(ctx, q.id); err != nil {
			c.log.Debug("queues told of the call's end", "err", err)
		}
		cancel()
	}
	q.over = true
	c.leaveQueues()
}

// leaveQueues takes the call off the list of queued calls. Actions that still wait for it
// go where actions for unknown calls go: an offer of a callback starts the callback.
func (c *call) leaveQueues() {
	sb := c.sb
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if sb.queued[c.q.id] == c {
		delete(sb.queued, c.q.id)
	}
	for _, x := range c.q.inbox.drain() {
		switch x := x.(type) {
		case queue.Action:
			sb.routeLocked(x)
		case superviseReq:
			x.fail(callbox.Errorf(callbox.ENOTFOUND, "the call has ended"))
		}
	}
}

// retireIfIdle takes a callback call off the list unless actions wait for it.
func (c *call) retireIfIdle() bool {
	sb := c.sb
	sb.mu.Lock()
	defer sb.mu.Unlock()
	if !c.q.inbox.empty() {
		return false
	}
	if sb.queued[c.q.id] == c {
		delete(sb.queued, c.q.id)
	}
	return true
}

// idle tells a callback call with nothing going on.
func (q *queued) idle() bool {
	return len(q.offers) == 0 && len(q.accepted) == 0 && q.customer == nil
}

// shutdown stops what the queued call started and may outlive it: timers, sessions,
// supervisors still attached.
func (q *queued) shutdown(c *call) {
	for _, ao := range q.offers {
		for _, ep := range ao.eps {
			ep.stopTimers()
			ep.closeSession()
		}
	}
	if q.ringback != nil {
		q.ringback.close()
		q.ringback = nil
	}
	if q.conf != nil {
		q.conf.close()
		q.conf = nil
	}
	for _, s := range q.supers {
		s.release()
	}
	q.supers = nil
	if !q.over {
		c.queueOver()
	} else {
		c.leaveQueues()
	}
}

// overflow sends the caller out of the queues: to the queue's overflow destination, or,
// with none, a sorry message and goodbye.
func (c *call) overflow(a queue.Overflow) outcome {
	c.event("queue.overflow", nil, "queue", a.Queue, "to", a.Dest, "reason", a.Reason)
	addFlag(&c.rec, "overflow")
	c.q.over = true // the queues let go of the call themselves
	c.leaveQueues()
	c.stopHold()
	if a.Dest == "" {
		if c.conv.Say(c.ctx, sorryPhrase().prompt()) {
			c.hangup(c.caller, callbox.CauseNormal)
			return over("missed", callbox.CauseNormal, callbox.SideBox)
		}
		return over("abandoned", callbox.CauseNormal, callbox.SideCaller)
	}
	kind, name, _ := strings.Cut(a.Dest, ":")
	return outcome{done: true, dest: &config.Destination{Kind: kind, Name: name}}
}

// callbackAccepted tells the caller they will be called back and hangs up; the call keeps
// its place, and its next offer starts the callback from a call of its own.
func (c *call) callbackAccepted(a queue.CallbackAccepted) outcome {
	c.event("queue.callback", nil, "queue", a.Queue, "number", a.Number, "position", strconv.Itoa(a.Position))
	addFlag(&c.rec, "callback")
	c.q.over = true // the request stands: no Hangup for it
	c.q.hold = nil
	said := c.conv.Say(c.ctx, callbackPhrase(a.Number).prompt())
	if said {
		c.hangup(c.caller, callbox.CauseNormal)
	}
	// Only now, with the caller's line free: an offer of the callback may already wait.
	c.leaveQueues()
	return over("callback", callbox.CauseNormal, callbox.SideBox)
}

// waitValue is wait that also returns the value an extra channel delivered.
//
// A call's goroutine waits here for most of the call: the cases are built, and what was
// received is taken apart, in functions of their own, so that the frame parked in
// reflect.Select stays small (see run).
func (c *call) waitValue(extra ...any) (le legEvent, fired int, v reflect.Value, ok bool) {
	for {
		cases, legs := c.selectCases(extra)
		i, val, recvOK := reflect.Select(cases)
		if i >= len(legs) {
			return legEvent{}, i - len(legs), val, false
		}
		if le, ok := c.received(legs[i], val, recvOK); ok {
			return le, -1, reflect.Value{}, true
		}
	}
}

// selectCases are the cases waitValue selects on: the events of every leg not yet ended,
// then extra; legs are those legs, in the same order.
func (c *call) selectCases(extra []any) (cases []reflect.SelectCase, legs []callbox.Leg) {
	cases = make([]reflect.SelectCase, 0, len(c.watched)+len(extra))
	legs = make([]callbox.Leg, 0, len(c.watched))
	for _, l := range c.watched {
		if !c.ended[l] {
			cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(l.Events())})
			legs = append(legs, l)
		}
	}
	for _, x := range extra {
		cases = append(cases, reflect.SelectCase{Dir: reflect.SelectRecv, Chan: reflect.ValueOf(x)})
	}
	return cases, legs
}

// received takes in what leg l's event channel gave: an event, or (false) the channel's
// end, after which the leg is not waited on.
func (c *call) received(l callbox.Leg, val reflect.Value, recvOK bool) (legEvent, bool) {
	if !recvOK {
		c.ended[l] = true
		return legEvent{}, false
	}
	ev := val.Interface().(callbox.LegEvent)
	if ev.Kind == callbox.LegHangup {
		c.ended[l] = true
	}
	return legEvent{l, ev}, true
}

// inboxReady is the call's inbox signal, nil (never ready) for a call outside the queues.
func (c *call) inboxReady() chan struct{} {
	if c.q == nil {
		return nil
	}
	return c.q.inbox.ready
}

func addFlag(rec *callbox.Record, flag string) {
	for _, f := range rec.Flags {
		if f == flag {
			return
		}
	}
	rec.Flags = append(rec.Flags, flag)
}

// agentsBusy tells the queues that the agents on this call outside the queues (the
// extension called, the phone calling) are busy, so they are not offered queue calls
// meanwhile; it returns those the queues know.
func (c *call) agentsBusy() []string {
	if c.sb.queues == nil {
		return nil
	}
	cfg := c.sb.config()
	var out []string
	for _, ext := range []string{c.rec.Extension, c.offer.Extension} {
		if ext == "" || slices.Contains(out, ext) || !isAgent(cfg, ext) {
			continue
		}
		ctx, cancel := c.qctx()
		err := c.sb.queues.DirectCall(ctx, ext, true)
		cancel()
		if err == nil {
			out = append(out, ext)
		}
	}
	return out
}

// agentsFree ends what agentsBusy began.
func (c *call) agentsFree(agents []string) {
	for _, ext := range agents {
		ctx, cancel := c.qctx()
		if err := c.sb.queues.DirectCall(ctx, ext, false); err != nil {
			c.log.Debug("direct call end", "agent", ext, "err", err)
		}
		cancel()
	}
}

// isAgent tells whether ext is an agent: configured under agents: or a member of a queue
// (the queues know no others).
func isAgent(cfg *config.Config, ext string) bool {
	if _, ok := cfg.Agent(ext); ok {
		return true
	}
	for _, q := range cfg.Queues {
		for _, m := range q.Members {
			if m.Agent == ext {
				return true
			}
		}
	}
	return false
}

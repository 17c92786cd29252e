package queue

import (
	"math/rand/v2"
	"time"

	"callbox"
)

// Engine is the call distribution's decision core: a state machine that takes what happened
// (a caller joined, an agent answered, a timer fell due) and returns what to do as Actions.
// It reads time only from its Clock and starts no goroutines, so a test that controls the
// clock controls every decision. It is not safe for concurrent use: the Service owns one and
// feeds it from a single goroutine.
//
// Each method first handles whatever fell due up to now (offer timeouts, maximum waits,
// announcements, wrap-up ends), then its own input, then offers waiting calls to free
// agents. It returns every action from those steps, also when it returns an error (which
// is then about its own input only).
type Engine struct {
	clock  callbox.Clock
	loc    *time.Location
	rng    *rand.Rand
	queues map[string]*queueState
	qlist  []*queueState // in configuration order
	agents map[string]*agent
	alist  []*agent // in configuration order, then agents known only from the store
	calls  map[string]*call
	clist  []*call // every call in the engine, oldest first (by seq)
	seq    uint64
	// recent remembers who answered each number lately, for the sticky agent, until the
	// call record reaches the store.
	recent map[string]recentAnswer
	day    civilDay
	greet  []*call // callers who entered a queue during this input: they hear their position
	out    []Action

	// Scratch space reused by every input, so a decision allocates little.
	gen                uint64 // dispatch generation: agents counted free in this one
	freeLeft           int    // free agents not yet offered a call in this dispatch
	heapBuf, stickyBuf []ranked
	callsBuf           []*call
	now                time.Time
}

type recentAnswer struct {
	agent string
	at    time.Time
}

type civilDay struct {
	y int
	m time.Month
	d int
}

// NewEngine makes an engine for cfg. seed makes the random strategy repeatable.
func NewEngine(cfg Config, clock callbox.Clock, seed uint64) (*Engine, error) {
	loc := cfg.Location
	if loc == nil {
		loc = time.Local
	}
	e := &Engine{
		clock:  clock,
		loc:    loc,
		rng:    rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
		queues: map[string]*queueState{},
		agents: map[string]*agent{},
		calls:  map[string]*call{},
		recent: map[string]recentAnswer{},
	}
	e.now = clock.Now()
	e.day = e.civil(e.now)
	if _, err := e.apply(cfg); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Engine) civil(t time.Time) civilDay {
	y, m, d := t.In(e.loc).Date()
	return civilDay{y, m, d}
}

// midnight is the start of t's day where the box is.
func (e *Engine) midnight(t time.Time) time.Time {
	y, m, d := t.In(e.loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, e.loc)
}

// begin starts handling one input: it reads the clock and handles what fell due.
func (e *Engine) begin() {
	e.out = nil
	now := e.clock.Now()
	if now.Before(e.now) {
		now = e.now // time never goes back for the engine
	}
	e.now = now
	if d := e.civil(now); d != e.day {
		e.day = d
		e.newDay()
	}
	e.advance()
}

// finish applies the rules that follow any change (leave when empty, distribution), records
// agents whose state changed and hands back the actions.
func (e *Engine) finish() []Action {
	e.checkStay()
	e.dispatch()
	for _, c := range e.greet {
		if !c.gone && c.state == callWaiting && !c.callback && len(c.offers) == 0 {
			e.announcePosition(c)
		}
	}
	e.greet = e.greet[:0]
	e.flushAgents()
	out := e.out
	e.out = nil
	return out
}

func (e *Engine) emit(a Action) { e.out = append(e.out, a) }

// Tick handles what fell due by now. The Service calls it when Next's time comes.
func (e *Engine) Tick() []Action {
	e.begin()
	return e.finish()
}

// advance handles the timers due by e.now: offers that rang out, wrap-ups that ended,
// maximum waits, alerts and announcements.
func (e *Engine) advance() {
	now := e.now
	for _, a := range e.alist {
		if !a.wrapUntil.IsZero() && !now.Before(a.wrapUntil) {
			a.wrapUntil = time.Time{}
			e.touch(a)
		}
	}
	// Copy: handlers remove calls from e.clist.
	e.callsBuf = append(e.callsBuf[:0], e.clist...)
	for _, c := range e.callsBuf {
		if c.gone {
			continue
		}
		for _, o := range append([]*offer(nil), c.offers...) {
			if !now.Before(o.expires) {
				e.emit(CancelOffer{Call: c.id, Agent: o.agent.cfg.ID, Reason: "no-answer"})
				e.offerFailed(c, o, "no-answer")
			}
		}
		if c.gone || c.state != callWaiting {
			continue
		}
		q := c.q
		if !c.callback && q.cfg.MaxWait > 0 && !now.Before(c.entered.Add(q.cfg.MaxWait)) {
			if len(c.offers) == 0 {
				e.overflow(c, "timeout")
				continue
			}
			c.overdue = true // let the ringing agent answer; overflow if they do not
		}
		if !c.alerted && q.cfg.AlertAfter > 0 && !now.Before(c.entered.Add(q.cfg.AlertAfter)) {
			c.alerted = true
			q.stats.alerts++
			e.emit(Alert{Call: c.id, Queue: q.cfg.Name, Number: c.caller.Number, Waited: now.Sub(c.entered), At: now})
		}
		if c.callback {
			continue
		}
		if !c.nextAnnounce.IsZero() && !now.Before(c.nextAnnounce) {
			c.nextAnnounce = now.Add(q.cfg.AnnounceEvery)
			if len(c.offers) == 0 {
				e.announcePosition(c)
			}
		}
		if !c.nextMessage.IsZero() && !now.Before(c.nextMessage) {
			c.nextMessage = now.Add(q.cfg.MessageEvery)
			if len(c.offers) == 0 {
				e.emit(Announce{Call: c.id, Queue: q.cfg.Name, What: AnnounceMessage, Prompt: q.cfg.Messages[c.msgIdx%len(q.cfg.Messages)]})
				c.msgIdx++
			}
		}
	}
}

// Next is when the engine next needs Tick; ok is false when no timer is pending.
func (e *Engine) Next() (t time.Time, ok bool) {
	now := e.clock.Now()
	consider := func(d time.Time) {
		if d.IsZero() || !d.After(now) {
			return
		}
		if !ok || d.Before(t) {
			t, ok = d, true
		}
	}
	for _, a := range e.alist {
		consider(a.wrapUntil)
	}
	for _, c := range e.clist {
		for _, o := range c.offers {
			consider(o.expires)
		}
		if c.state != callWaiting {
			continue
		}
		q := c.q
		consider(c.retryAt)
		if !c.stickyDone {
			consider(c.stickyUntil)
		}
		if !c.callback {
			if q.cfg.MaxWait > 0 && !c.overdue {
				consider(c.entered.Add(q.cfg.MaxWait))
			}
			consider(c.nextAnnounce)
			consider(c.nextMessage)
		}
		if !c.alerted && q.cfg.AlertAfter > 0 {
			consider(c.entered.Add(q.cfg.AlertAfter))
		}
		if q.cfg.TierDelay > 0 {
			for _, p := range q.penalties {
				consider(c.entered.Add(time.Duration(p) * q.cfg.TierDelay))
			}
		}
	}
	// Midnight starts a new day of statistics.
	if len(e.alist) > 0 || len(e.clist) > 0 {
		consider(e.midnight(now).AddDate(0, 0, 1))
	}
	return t, ok
}

// newDay starts the day's statistics afresh.
func (e *Engine) newDay() {
	for _, q := range e.qlist {
		q.stats = dayStats{}
	}
	for _, a := range e.alist {
		clear(a.answered)
	}
	for n, r := range e.recent {
		if e.now.Sub(r.at) > maxRecent {
			delete(e.recent, n)
		}
	}
}

// maxRecent is how long the engine itself remembers who answered a number; older answers
// come from the store's call history.
const maxRecent = 48 * time.Hour

// Reconfigure applies a new configuration, keeping agents' states and waiting callers.
// Callers of a queue that no longer exists are sent to its old overflow destination.
func (e *Engine) Reconfigure(cfg Config) ([]Action, error) {
	e.begin()
	if _, err := e.apply(cfg); err != nil {
		return e.finish(), err
	}
	return e.finish(), nil
}

func (e *Engine) insertCall(c *call) {
	e.calls[c.id] = c
	// Calls mostly arrive with the highest seq; restored ones may not.
	i := len(e.clist)
	for i > 0 && e.clist[i-1].seq > c.seq {
		i--
	}
	e.clist = append(e.clist, nil)
	copy(e.clist[i+1:], e.clist[i:])
	e.clist[i] = c
}

func (e *Engine) removeCall(c *call) {
	c.gone = true
	delete(e.calls, c.id)
	for i, x := range e.clist {
		if x == c {
			e.clist = append(e.clist[:i], e.clist[i+1:]...)
			break
		}
	}
}

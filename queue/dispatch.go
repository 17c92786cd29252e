package queue

import (
	"slices"
	"time"
)

// queueState is a queue as the engine runs it.
type queueState struct {
	cfg       QueueConfig
	members   []*member
	penalties []int  // the distinct penalties above 0, ascending (tier delays)
	lastRR    string // round-robin memory: the agent offered last
	stats     dayStats
	handles   handleTimes
	free      []*member // members free at the start of this dispatch
}

// waiting counts the callers waiting in q (callbacks included).
func (q *queueState) waiting(e *Engine) int {
	n := 0
	for _, c := range e.clist {
		if c.q == q && c.state == callWaiting {
			n++
		}
	}
	return n
}

// ranked is a call with its priority at the moment of a decision.
type ranked struct {
	c    *call
	prio int
}

// priority is the call's VIP level raised by ageing: one level per Ageing waited, so a
// caller of any level eventually goes ahead of newer callers of higher ones.
func (c *call) priority(now time.Time) int {
	p := c.caller.Priority
	if ag := c.q.cfg.Ageing; ag > 0 {
		p += int(now.Sub(c.joined) / ag)
	}
	return p
}

// before orders calls: higher priority first, then first come, first served.
func before(x, y ranked) int {
	switch {
	case x.prio != y.prio:
		return y.prio - x.prio
	case x.c.seq < y.c.seq:
		return -1
	case x.c.seq > y.c.seq:
		return 1
	}
	return 0
}

// dispatch offers waiting calls to free agents. It takes the calls in order (priority, then
// arrival), first those whose free sticky agent is reserved for them, then the rest through
// their queue's strategy. Usually few agents are free and many callers wait, so the order
// is a heap popped only until the free agents are gone, not a full sort.
func (e *Engine) dispatch() {
	now := e.now
	e.gen++
	e.freeLeft = 0
	for _, q := range e.qlist {
		q.free = q.free[:0]
		for _, m := range q.members {
			if m.loggedIn && m.agent.free(now) {
				q.free = append(q.free, m)
				if m.agent.mark != e.gen {
					m.agent.mark = e.gen
					e.freeLeft++
				}
			}
		}
	}
	if e.freeLeft == 0 {
		return
	}
	heap, sticky := e.heapBuf[:0], e.stickyBuf[:0]
	for _, c := range e.clist {
		if c.state != callWaiting || len(c.offers) > 0 || c.retryAt.After(now) {
			continue
		}
		switch {
		case !c.stickyDone:
			sticky = append(sticky, ranked{c, c.priority(now)})
		case len(c.q.free) > 0:
			heap = append(heap, ranked{c, c.priority(now)})
		}
	}
	slices.SortFunc(sticky, before)
	for _, r := range sticky {
		c, a := r.c, r.c.stickyAgent
		m := a.member[c.q.cfg.Name]
		switch {
		case m == nil || !m.loggedIn || !a.takesCalls():
			c.stickyDone = true // the agent is away: no point waiting
		case a.free(now):
			e.makeOffer(c, a, false, true)
		case !now.Before(c.stickyUntil):
			c.stickyDone = true
		}
		if c.stickyDone && len(c.q.free) > 0 {
			heap = append(heap, r)
		}
	}
	for i := len(heap)/2 - 1; i >= 0; i-- {
		siftDown(heap, i)
	}
	for len(heap) > 0 && e.freeLeft > 0 {
		c := heap[0].c
		last := len(heap) - 1
		heap[0] = heap[last]
		heap = heap[:last]
		siftDown(heap, 0)
		if len(c.offers) > 0 {
			continue
		}
		if cands := e.candidates(c); len(cands) > 0 {
			e.offerByStrategy(c, cands)
		}
	}
	e.heapBuf, e.stickyBuf = heap[:0], sticky[:0]
}

// siftDown restores the heap order below i (the best call at the top).
func siftDown(h []ranked, i int) {
	for {
		l := 2*i + 1
		if l >= len(h) {
			return
		}
		j := l
		if r := l + 1; r < len(h) && before(h[r], h[l]) < 0 {
			j = r
		}
		if before(h[j], h[i]) >= 0 {
			return
		}
		h[i], h[j] = h[j], h[i]
		i = j
	}
}

// candidates are the free members of the call's queue that may be offered it: not yet
// tried (unless every free one was), of the lowest penalty among them, and, with a tier
// delay, of a tier the call has waited long enough to reach.
func (e *Engine) candidates(c *call) []*member {
	q := c.q
	waited := e.now.Sub(c.entered)
	pick := func(ignoreTried bool) []*member {
		var best []*member
		bestPen := -1
		for _, m := range q.free {
			a := m.agent
			if !m.loggedIn || !a.free(e.now) || c.offerTo(a) != nil || (!ignoreTried && c.tried[a.cfg.ID]) {
				continue
			}
			if q.cfg.TierDelay > 0 && waited < time.Duration(m.penalty)*q.cfg.TierDelay {
				continue
			}
			if bestPen == -1 || m.penalty < bestPen {
				best, bestPen = best[:0], m.penalty
			}
			if m.penalty == bestPen {
				best = append(best, m)
			}
		}
		return best
	}
	cands := pick(false)
	if len(cands) == 0 && len(c.tried) > 0 {
		// Every free agent has had a go: start another round.
		if again := pick(true); len(again) > 0 {
			clear(c.tried)
			cands = again
		}
	}
	return cands
}

// offerByStrategy offers the call to the candidates the queue's strategy picks.
// Candidates come in the members' order.
func (e *Engine) offerByStrategy(c *call, cands []*member) {
	q := c.q
	var pick *member
	switch q.cfg.Strategy {
	case RingAll:
		for _, m := range cands {
			e.makeOffer(c, m.agent, false, false)
		}
		return
	case Linear:
		pick = cands[0]
	case RoundRobin:
		last := -1
		if a := e.agents[q.lastRR]; a != nil {
			if m := a.member[q.cfg.Name]; m != nil {
				last = m.idx
			}
		}
		pick = cands[0]
		for _, m := range cands {
			if m.idx > last {
				pick = m
				break
			}
		}
		q.lastRR = pick.agent.cfg.ID
	case LongestIdle:
		pick = cands[0]
		for _, m := range cands[1:] {
			if m.agent.idleSince.Before(pick.agent.idleSince) {
				pick = m
			}
		}
	case FewestCalls:
		pick = cands[0]
		for _, m := range cands[1:] {
			n, best := m.agent.answered[q.cfg.Name], pick.agent.answered[q.cfg.Name]
			if n < best || (n == best && m.agent.idleSince.Before(pick.agent.idleSince)) {
				pick = m
			}
		}
	case Random:
		pick = cands[e.rng.IntN(len(cands))]
	}
	e.makeOffer(c, pick.agent, false, false)
}

// makeOffer rings an agent for a call.
func (e *Engine) makeOffer(c *call, a *agent, forced, sticky bool) {
	eps, timeout := e.endpoints(a, c.q)
	c.offers = append(c.offers, &offer{agent: a, expires: e.now.Add(timeout), forced: forced, sticky: sticky})
	c.retryAt = time.Time{}
	a.offers++
	if a.mark == e.gen && !a.free(e.now) {
		a.mark = 0
		e.freeLeft--
	}
	e.touch(a)
	e.emit(Offer{Call: c.id, Queue: c.q.cfg.Name, Agent: a.cfg.ID, Caller: c.caller, Endpoints: eps,
		Timeout: timeout, Callback: c.callback, Forced: forced, Sticky: sticky})
}

// endpoints says which devices ring for an offer to a, and how long the offer lasts.
func (e *Engine) endpoints(a *agent, q *queueState) ([]Endpoint, time.Duration) {
	rt := q.cfg.RingTimeout
	desk := Endpoint{Kind: "desk", Target: a.cfg.ID}
	if !e.mobileActive(a) {
		return []Endpoint{desk}, rt
	}
	mobile := Endpoint{Kind: "mobile", Target: a.cfg.Mobile, Confirm: "1"}
	switch a.cfg.MobileRing {
	case MobileOnly:
		return []Endpoint{mobile}, rt + mobileConfirm
	case MobileSequence:
		desk.For = a.cfg.MobileAfter
		mobile.After = a.cfg.MobileAfter
		return []Endpoint{desk, mobile}, a.cfg.MobileAfter + rt + mobileConfirm
	}
	return []Endpoint{desk, mobile}, rt + mobileConfirm
}

// chooseSticky finds the agent a call should go to first: the agent of the caller's open
// ticket, else the one who answered them last within the queue's window. Only a member of
// the queue counts; a queue without a sticky window has no sticky agent.
func (e *Engine) chooseSticky(c *call) {
	q := c.q
	c.sticky, c.stickyAgent, c.stickyDone, c.stickyUntil = "", nil, true, time.Time{}
	if q.cfg.StickyWindow <= 0 {
		return
	}
	who := c.caller.TicketAgent
	if who == "" {
		last, at := c.caller.LastAgent, c.caller.LastAgentAt
		if r, ok := e.recent[c.caller.Number]; ok && c.caller.Number != "" && (last == "" || r.at.After(at)) {
			last, at = r.agent, r.at
		}
		if last != "" && e.now.Sub(at) <= q.cfg.StickyWindow {
			who = last
		}
	}
	a := e.agents[who]
	if who == "" || a == nil || a.member[q.cfg.Name] == nil {
		return
	}
	c.sticky, c.stickyAgent, c.stickyDone, c.stickyUntil = who, a, false, c.entered.Add(q.cfg.StickyWait)
}

// position is the caller's place among those waiting in their queue, 1 = next.
func (e *Engine) position(c *call) int {
	me := ranked{c, c.priority(e.now)}
	n := 1
	for _, o := range e.clist {
		if o != c && o.q == c.q && o.state == callWaiting && before(ranked{o, o.priority(e.now)}, me) < 0 {
			n++
		}
	}
	return n
}

// estimate is the expected wait of the caller at pos: the recent average handling time for
// each round of the agents who take calls; 0 when unknown.
func (e *Engine) estimate(q *queueState, pos int) time.Duration {
	aht := q.handles.average()
	if aht == 0 {
		return 0
	}
	seats := 0
	for _, m := range q.members {
		if m.loggedIn && m.agent.takesCalls() {
			seats += m.agent.cfg.MaxCalls
		}
	}
	if seats == 0 {
		return 0
	}
	return (aht * time.Duration(pos) / time.Duration(seats)).Round(time.Second)
}

func (e *Engine) announcePosition(c *call) {
	pos := e.position(c)
	e.emit(Announce{Call: c.id, Queue: c.q.cfg.Name, What: AnnouncePosition, Position: pos, Estimated: e.estimate(c.q, pos)})
}

package queue

import "time"

// dayStats are a queue's figures since midnight.
type dayStats struct {
	answered, abandoned, overflowed, callbacks int
	withinSL                                   int           // answered within the service level
	waitSum                                    time.Duration // of answered calls
	waitSumLeft                                time.Duration // of abandoned and overflowed calls
	handled                                    int
	handleSum                                  time.Duration
	stickyHits, stickyMisses                   int
	alerts                                     int
}

// serviceLevel is the share of callers answered within the threshold, among those who
// were answered, abandoned or overflowed today; 1 when there were none.
func (s dayStats) serviceLevel() float64 {
	n := s.answered + s.abandoned + s.overflowed
	if n == 0 {
		return 1
	}
	return float64(s.withinSL) / float64(n)
}

// handleTimes keeps the most recent handling times (talk and wrap-up) of a queue, for
// estimated waits.
type handleTimes struct {
	d    [recentHandles]time.Duration
	n, i int
}

const recentHandles = 20

func (h *handleTimes) add(d time.Duration) {
	h.d[h.i] = d
	h.i = (h.i + 1) % recentHandles
	if h.n < recentHandles {
		h.n++
	}
}

func (h *handleTimes) average() time.Duration {
	if h.n == 0 {
		return 0
	}
	var sum time.Duration
	for _, d := range h.d[:h.n] {
		sum += d
	}
	return sum / time.Duration(h.n)
}

func (q *queueState) recordHandle(d time.Duration) { q.handles.add(d) }

// RestoreStats counts today's finished queue calls again after a restart, from the store's
// records (oldest first), so the live view and the service level carry on.
func (e *Engine) RestoreStats(done []Finished) []Action {
	e.begin()
	today := e.midnight(e.now)
	for _, f := range done {
		q := e.queues[f.Queue]
		if q == nil {
			continue
		}
		if f.Handled > 0 {
			q.recordHandle(f.Handled)
		}
		s := &q.stats
		if f.Result == ResultCallback || f.Result == ResultCallbackFailed {
			// Counted on the day of the request, like pending ones.
			if !f.Joined.Before(today) {
				s.callbacks++
			}
		}
		if f.At.Before(today) {
			continue
		}
		switch f.Result {
		case ResultAnswered:
			s.answered++
			s.waitSum += f.Waited
			if f.Waited <= q.cfg.ServiceLevel {
				s.withinSL++
			}
			if a := e.agents[f.Agent]; a != nil {
				a.answered[f.Queue]++
			}
		case ResultAbandoned:
			s.abandoned++
			s.waitSumLeft += f.Waited
		case ResultOverflow:
			s.overflowed++
			s.waitSumLeft += f.Waited
		}
		if f.Handled > 0 {
			s.handled++
			s.handleSum += f.Handled
		}
		if f.StickyAgent != "" && (f.Result == ResultAnswered || f.Result == ResultCallback) {
			if f.StickyHit {
				s.stickyHits++
			} else {
				s.stickyMisses++
			}
		}
		if f.Number != "" && f.Agent != "" && f.Handled > 0 {
			e.recent[f.Number] = recentAnswer{agent: f.Agent, at: f.At}
		}
	}
	return e.finish()
}

package outbox

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// worker delivers the rows of one destination. It claims due rows, sends up to concurrency
// of them at a time, and writes their outcomes in batches: one transaction for every result
// that is ready, which keeps up with a fast receiver on a disk that syncs every commit.
type worker struct {
	name       string
	d          Deliverer
	st         *Store
	m          *metrics
	log        *slog.Logger
	conc       int
	lease      time.Duration
	maxBackoff time.Duration
	poll       time.Duration
	now        func() time.Time
	rand       func() float64
	kick       chan struct{}
	paused     atomic.Bool
	failing    bool // the last outcome was a failure: log the next success

	// While the destination is down (every attempt of a round failed and none succeeded),
	// the worker sends one row at a time, no sooner than probeAt, backing off as a whole:
	// a day-long outage costs a probe now and then, not a storm of doomed requests that
	// would also crowd the database's single writer.
	outage      int
	probeAt     time.Time
	resetOutage atomic.Bool
}

// wake asks the worker to look for work now.
func (w *worker) wake() {
	select {
	case w.kick <- struct{}{}:
	default:
	}
}

// maxDBFailures is how many database errors in a row stop a worker: the database is the
// ground truth, and a worker that cannot write outcomes must not go on sending.
const maxDBFailures = 3

// run delivers until ctx ends. On the way out it waits for the sends in flight (each ends
// within its timeout) and writes their outcomes; rows claimed but not yet sent go back to
// the queue.
func (w *worker) run(ctx context.Context) (err error) {
	if n, err := w.st.Release(ctx, w.name); err != nil {
		return err
	} else if n > 0 {
		w.log.Info("sending again the rows a previous run left in flight", "rows", n)
	}
	paused, reason, err := w.st.Paused(ctx, w.name)
	if err != nil {
		return err
	}
	w.setPaused(paused)
	if paused {
		w.log.Error("destination is paused; fix its configuration and reload, or run `callbox sync retry`", "reason", reason)
	}

	results := make(chan completion, w.conc)
	var senders sync.WaitGroup
	inflight := 0
	var queue []Delivery // claimed, waiting for a free slot
	var ready []completion
	defer func() {
		senders.Wait()
		close(results)
		for c := range results {
			ready = append(ready, c)
		}
		for _, d := range queue {
			ready = append(ready, completion{d: d, res: Result{Outcome: Release}})
		}
		if len(ready) == 0 {
			return
		}
		// The sends are over: record what they achieved even though ctx has ended.
		wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if cerr := w.complete(wctx, ready); cerr != nil && err == nil {
			err = cerr
		}
	}()

	dbFailures := 0
	dbFailed := func(e error) error {
		dbFailures++
		if dbFailures >= maxDBFailures {
			ready, queue = nil, nil // the database is gone: these rows go out again after a restart
			return fmt.Errorf("outbox %s: %w", w.name, e)
		}
		w.log.Warn("outbox database error; trying again", "err", e)
		return nil
	}
	lastReclaim := w.now()
	for {
	collect:
		for {
			select {
			case c := <-results:
				inflight--
				ready = append(ready, c)
			default:
				break collect
			}
		}
		if w.paused.Load() {
			for _, d := range queue { // not sent: they wait with the destination
				ready = append(ready, completion{d: d, res: Result{Outcome: Release}})
			}
			queue = nil
		}
		if len(ready) > 0 {
			if err := w.complete(ctx, ready); err != nil {
				if ctx.Err() != nil {
					return nil // the deferred write records them
				}
				if ferr := dbFailed(err); ferr != nil {
					return ferr
				}
			} else {
				ready, dbFailures = ready[:0], 0
			}
		}
		if ctx.Err() != nil {
			return nil
		}
		if now := w.now(); now.Sub(lastReclaim) >= w.lease/2 {
			lastReclaim = now
			if n, err := w.st.ReclaimExpired(ctx, w.name); err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if ferr := dbFailed(err); ferr != nil {
					return ferr
				}
			} else if n > 0 {
				w.log.Warn("rows outlived their lease; sending them again", "rows", n)
			}
		}
		if w.resetOutage.Swap(false) {
			w.outage = 0
		}
		more := false
		if want := w.claimable(inflight, len(queue)); want > 0 {
			rows, err := w.st.Claim(ctx, w.name, want, w.lease)
			if err != nil {
				if ctx.Err() != nil {
					return nil
				}
				if ferr := dbFailed(err); ferr != nil {
					return ferr
				}
			}
			queue = append(queue, rows...)
			more = len(rows) == want
		}
		for inflight < w.conc && len(queue) > 0 {
			d := queue[0]
			queue = queue[1:]
			inflight++
			senders.Go(func() { results <- w.send(ctx, d) })
		}
		if more && inflight < w.conc {
			continue // more may be due
		}
		wait := w.idle(ctx)
		if len(queue) > 0 || more {
			wait = w.poll // a free slot (a result) is what we wait for
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
		case c := <-results:
			inflight--
			ready = append(ready, c)
		case <-w.kick:
		case <-timer.C:
		}
		timer.Stop()
	}
}

// claimable is how many rows to claim now: enough to keep every slot busy through the next
// round (claiming in batches keeps the database's writes few), one while probing an outage,
// none while paused.
func (w *worker) claimable(inflight, queued int) int {
	switch {
	case w.paused.Load():
		return 0
	case w.outage > 0:
		if inflight > 0 || queued > 0 || w.now().Before(w.probeAt) {
			return 0
		}
		return 1
	case queued >= w.conc:
		return 0
	}
	return w.batch() - inflight - queued
}

// batch is how many rows a worker holds at most: in flight and queued.
func (w *worker) batch() int { return max(4*w.conc, 32) }

// idle is how long to wait for something to do: until the next row is due, at most poll.
func (w *worker) idle(ctx context.Context) time.Duration {
	if w.paused.Load() {
		return w.poll
	}
	if w.outage > 0 {
		return max(min(w.probeAt.Sub(w.now()), w.poll), time.Millisecond)
	}
	next, ok, err := w.st.NextDue(ctx, w.name)
	if err != nil || !ok {
		return w.poll
	}
	d := next.Sub(w.now())
	if d <= 0 {
		// Due but not claimable: it waits for an earlier step of its call, whose outcome
		// (a result or a kick) wakes us sooner than the poll.
		return w.poll
	}
	return min(d+time.Millisecond, w.poll)
}

// send makes one attempt, bounded by the lease so the row cannot be claimed twice at once.
// A worker told to stop lets its attempts finish rather than cut them off: an attempt cut
// off after the destination acted on it would be sent again, a duplicate for the receiver.
func (w *worker) send(ctx context.Context, d Delivery) completion {
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), w.lease-w.lease/8)
	defer cancel()
	start := w.now()
	res := safeDeliver(sctx, w.d, d)
	w.m.duration.WithLabelValues(w.name).Observe(w.now().Sub(start).Seconds())
	return completion{d: d, res: res}
}

// safeDeliver keeps a panicking Deliverer from taking the daemon down: the row is retried.
func safeDeliver(ctx context.Context, dl Deliverer, d Delivery) (res Result) {
	defer func() {
		if p := recover(); p != nil {
			res = Transient(fmt.Errorf("deliverer panicked: %v", p))
		}
	}()
	return dl.Deliver(ctx, d)
}

// complete schedules retries, writes the outcomes and tells the admin what needs them.
func (w *worker) complete(ctx context.Context, cs []completion) error {
	now := w.now()
	for i := range cs {
		c := &cs[i]
		switch c.res.Outcome {
		case Retry:
			wait := c.res.RetryAfter
			if wait == 0 {
				wait = Backoff(c.d.Attempt, w.maxBackoff, w.rand)
			}
			c.next = now.Add(wait)
		case Reread:
			c.next = now.Add(rereadDelay(c.d.Attempt, w.rand))
		default:
			c.next = now
		}
	}
	if err := w.st.Complete(ctx, w.name, cs); err != nil {
		return err
	}
	anyDone, anyFailed, down := false, false, true
	var slowDown time.Duration
	for _, c := range cs {
		if c.res.Outcome != Retry {
			down = false
		}
		slowDown = max(slowDown, c.res.RetryAfter)
		w.m.deliveries.WithLabelValues(w.name, c.res.Outcome.String()).Inc()
		log := w.log.With("call_id", c.d.CallID, "event_id", c.d.ID, "kind", c.d.Kind, "attempt", c.d.Attempt)
		switch c.res.Outcome {
		case Done:
			anyDone = true
			w.m.lag.WithLabelValues(w.name).Observe(now.Sub(c.d.Created).Seconds())
		case Dead:
			anyFailed = true
			log.Error("delivery refused for good: the row is a dead letter; fix the cause, then `callbox sync retry --dead`", "err", c.res.Err)
		case Pause:
			anyFailed = true
			if !w.paused.Load() {
				log.Error("destination refused our credentials and is paused: fix its configuration and reload, or run `callbox sync retry`", "err", c.res.Err)
			}
			w.setPaused(true)
		case Retry, Reread:
			anyFailed = true
			if !w.failing {
				log.Warn("delivery failed; retrying with backoff", "err", c.res.Err, "retry_at", c.next)
			} else {
				log.Debug("delivery failed; retrying with backoff", "err", c.res.Err, "retry_at", c.next)
			}
		}
	}
	switch {
	case anyFailed:
		w.failing = true
	case anyDone && w.failing:
		w.failing = false
		w.log.Info("destination accepts deliveries again")
	}
	if down {
		w.outage++
		w.probeAt = now.Add(max(slowDown, Backoff(w.outage, w.maxBackoff, w.rand)))
	} else if anyDone {
		w.outage = 0
	}
	return nil
}

func (w *worker) setPaused(p bool) {
	w.paused.Store(p)
	v := 0.0
	if p {
		v = 1
	}
	w.m.paused.WithLabelValues(w.name).Set(v)
}

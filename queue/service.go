package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callbox"
)

// Connector carries out leg actions with real legs; the call path implements it.
//
// Execute is called from one goroutine, in the order the engine decided. It must not block
// for long: it starts the ringing, bridging or playing and returns. It reports outcomes
// through the Service (Answered, NotAnswered, CallbackReached, Hangup) from any goroutine,
// also before it returns.
type Connector interface {
	Execute(ctx context.Context, a Action)
}

// Store keeps what must survive a restart: agents' states (with their history), callback
// requests, and finished queue calls (for today's figures).
type Store interface {
	SaveAgent(ctx context.Context, c AgentChanged) error
	LoadAgents(ctx context.Context) ([]AgentRecord, error)
	SaveCallback(ctx context.Context, cb CallbackPending) error
	DeleteCallback(ctx context.Context, callID string) error
	LoadCallbacks(ctx context.Context) ([]CallbackPending, error)
	SaveFinished(ctx context.Context, f Finished) error
	LoadFinished(ctx context.Context, since time.Time) ([]Finished, error)
}

// History finds who answered a number's last call, for the sticky agent. It is asked with
// a short deadline; a failure only loses the stickiness.
type History interface {
	LastAgent(ctx context.Context, number string) (agent string, at time.Time, err error)
}

// Options are what a Service is built from.
type Options struct {
	Config    Config
	Features  FeatureCodes // zero: the defaults
	Store     Store        // nil: nothing survives a restart (tests)
	History   History      // nil: the sticky agent comes only from the engine's memory
	Connector Connector    // nil: leg actions are dropped (no call path yet)
	Registry  prometheus.Registerer
	Log       *slog.Logger
	Clock     callbox.Clock // nil: the system clock
	Seed      uint64        // for the random strategy; 0: from the clock
}

// Service runs the engine in its own goroutine: inputs arrive as requests, timers fire
// from the engine's next deadline, leg actions go to the Connector and records to the Store
// in order, each on its own goroutine so a slow disk or phone never holds up decisions.
type Service struct {
	o        Options
	log      *slog.Logger
	clock    callbox.Clock
	engine   *Engine
	metrics  *metrics
	reqs     chan request
	done     chan struct{} // closed when Run has returned
	stopping chan struct{} // closed when Run stops taking requests
	running  chan struct{} // closed when Run started
	features atomic.Pointer[FeatureCodes]

	// Owned by the loop.
	subs      map[int]chan Event
	nextSub   int
	execQueue []Action
	saveQueue []save
}

type request struct {
	fn       func(e *Engine) ([]Action, error)
	reply    chan error
	readOnly bool // changes nothing: no need to refresh the gauges
}

type save struct {
	what, call string
	fn         func(ctx context.Context) error
}

// NewService checks the configuration and makes a service; Run starts it.
func NewService(o Options) (*Service, error) {
	if o.Clock == nil {
		o.Clock = callbox.SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Registry == nil {
		o.Registry = prometheus.NewRegistry()
	}
	if o.Features == (FeatureCodes{}) {
		o.Features = DefaultFeatureCodes()
	}
	if o.Seed == 0 {
		o.Seed = uint64(o.Clock.Now().UnixNano())
	}
	e, err := NewEngine(o.Config, o.Clock, o.Seed)
	if err != nil {
		return nil, err
	}
	m, err := newMetrics(o.Registry, o.Clock)
	if err != nil {
		return nil, fmt.Errorf("queue metrics: %w", err)
	}
	s := &Service{o: o, log: o.Log, clock: o.Clock, engine: e, metrics: m, reqs: make(chan request),
		done: make(chan struct{}), stopping: make(chan struct{}), running: make(chan struct{}), subs: map[int]chan Event{}}
	s.features.Store(&o.Features)
	return s, nil
}

// Run restores agents and callbacks from the store, then decides until ctx ends. Records
// already decided are written before it returns; leg actions not yet handed over are
// dropped (the calls end with the daemon).
func (s *Service) Run(ctx context.Context) error {
	defer close(s.done)
	if err := s.restore(ctx); err != nil {
		return fmt.Errorf("restore queues: %w", err)
	}
	close(s.running)
	execCh := make(chan Action)
	saveCh := make(chan save)
	var wg sync.WaitGroup
	wg.Go(func() {
		for a := range execCh {
			if s.o.Connector != nil {
				s.o.Connector.Execute(ctx, a)
			}
		}
	})
	wg.Go(func() {
		for w := range saveCh {
			s.persist(ctx, w)
		}
	})
	timer := time.NewTimer(time.Hour)
	defer timer.Stop()
	for {
		if next, ok := s.engine.Next(); ok {
			timer.Reset(max(0, next.Sub(s.clock.Now())))
		} else {
			timer.Stop()
		}
		var execOut chan Action
		var nextExec Action
		if len(s.execQueue) > 0 {
			execOut, nextExec = execCh, s.execQueue[0]
		}
		var saveOut chan save
		var nextSave save
		if len(s.saveQueue) > 0 {
			saveOut, nextSave = saveCh, s.saveQueue[0]
		}
		select {
		case <-ctx.Done():
			// A Connector still calling back (with a context of its own) gets ErrStopped
			// instead of waiting for a loop that waits for it.
			close(s.stopping)
			close(execCh)
			for _, w := range s.saveQueue {
				saveCh <- w
			}
			close(saveCh)
			wg.Wait()
			for id, ch := range s.subs {
				close(ch)
				delete(s.subs, id)
			}
			return nil
		case r := <-s.reqs:
			actions, err := r.fn(s.engine)
			s.handle(actions)
			if !r.readOnly {
				// A caller joining changes the figures without any action.
				s.metrics.refresh(s.engine.Summary())
			}
			r.reply <- err
		case <-timer.C:
			s.handle(s.engine.Tick())
			s.metrics.refresh(s.engine.Summary())
		case execOut <- nextExec:
			s.execQueue[0] = nil
			s.execQueue = s.execQueue[1:]
		case saveOut <- nextSave:
			s.saveQueue[0] = save{}
			s.saveQueue = s.saveQueue[1:]
		}
	}
}

// restore brings back what the store kept.
func (s *Service) restore(ctx context.Context) error {
	st := s.o.Store
	if st == nil {
		s.handle(s.engine.Restore(nil))
		s.metrics.refresh(s.engine.Summary())
		return nil
	}
	agents, err := st.LoadAgents(ctx)
	if err != nil {
		return fmt.Errorf("load agents: %w", err)
	}
	s.handle(s.engine.Restore(agents))
	done, err := st.LoadFinished(ctx, s.clock.Now().Add(-24*time.Hour))
	if err != nil {
		return fmt.Errorf("load today's queue calls: %w", err)
	}
	s.handle(s.engine.RestoreStats(done))
	callbacks, err := st.LoadCallbacks(ctx)
	if err != nil {
		return fmt.Errorf("load callbacks: %w", err)
	}
	slices.SortStableFunc(callbacks, func(a, b CallbackPending) int { return a.Joined.Compare(b.Joined) })
	for _, cb := range callbacks {
		actions, err := s.engine.RestoreCallback(cb)
		s.handle(actions)
		if err != nil {
			s.log.Warn("a stored callback request cannot be restored; dropping it", "call_id", cb.Call, "queue", cb.Queue, "err", err)
			s.enqueueSave("drop callback", cb.Call, func(ctx context.Context) error { return st.DeleteCallback(ctx, cb.Call) })
		}
	}
	s.metrics.refresh(s.engine.Summary())
	s.log.Info("queues restored", "agents", len(agents), "callbacks", len(callbacks))
	return nil
}

// handle routes the engine's actions: leg actions to the Connector, records to the store,
// everything to metrics, logs and subscribers.
func (s *Service) handle(actions []Action) {
	now := s.clock.Now()
	st := s.o.Store
	for _, a := range actions {
		s.metrics.observe(a)
		s.logAction(a)
		if IsLegAction(a) {
			s.execQueue = append(s.execQueue, a)
		}
		if st != nil {
			switch a := a.(type) {
			case AgentChanged:
				s.enqueueSave("agent state", "", func(ctx context.Context) error { return st.SaveAgent(ctx, a) })
			case CallbackPending:
				s.enqueueSave("callback", a.Call, func(ctx context.Context) error { return st.SaveCallback(ctx, a) })
			case Finished:
				s.enqueueSave("queue call", a.Call, func(ctx context.Context) error { return st.SaveFinished(ctx, a) })
				if a.Callback {
					s.enqueueSave("callback done", a.Call, func(ctx context.Context) error { return st.DeleteCallback(ctx, a.Call) })
				}
			}
		}
		ev := Event{At: now, Kind: a.Kind(), Call: a.CallID(), Action: a}
		for _, ch := range s.subs {
			select {
			case ch <- ev:
			default:
				s.metrics.dropped.Inc()
			}
		}
	}
}

func (s *Service) enqueueSave(what, call string, fn func(ctx context.Context) error) {
	s.saveQueue = append(s.saveQueue, save{what: what, call: call, fn: fn})
}

// persist writes one record. It outlives the service's context by a few seconds so that
// the last states reach the disk at shutdown.
func (s *Service) persist(ctx context.Context, w save) {
	wctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := w.fn(wctx); err != nil {
		s.log.Error("queue: cannot store "+w.what, "call_id", w.call, "err", err)
	}
}

func (s *Service) logAction(a Action) {
	switch a := a.(type) {
	case AgentChanged:
		s.log.Info("agent", "agent", a.Agent, "state", a.State, "reason", a.Reason, "queue", a.Queue)
	case Alert:
		s.log.Warn("caller waiting past the alert threshold", "call_id", a.Call, "queue", a.Queue, "waited", a.Waited.Round(time.Second))
	case Bridge:
		s.log.Info("queue call answered", "call_id", a.Call, "queue", a.Queue, "agent", a.Agent,
			"waited", a.Waited.Round(time.Millisecond), "sticky_agent", a.StickyAgent, "sticky_hit", a.StickyHit)
	case Overflow:
		s.log.Info("queue overflow", "call_id", a.Call, "queue", a.Queue, "dest", a.Dest, "reason", a.Reason)
	case Offer:
		s.log.Debug("queue offer", "call_id", a.Call, "queue", a.Queue, "agent", a.Agent, "timeout", a.Timeout,
			"endpoints", len(a.Endpoints), "forced", a.Forced, "sticky", a.Sticky, "callback", a.Callback)
	default:
		s.log.Debug("queue "+a.Kind(), "call_id", a.CallID())
	}
}

// ErrStopped is returned by a Service that is not running any more.
var ErrStopped = callbox.Errorf(callbox.EUNAVAILABLE, "the queues are stopped")

// exec runs fn on the engine in the service's goroutine and waits for it.
func (s *Service) exec(ctx context.Context, fn func(e *Engine) ([]Action, error)) error {
	return s.send(ctx, request{fn: fn, reply: make(chan error, 1)})
}

func (s *Service) send(ctx context.Context, r request) error {
	select {
	case s.reqs <- r:
	case <-s.stopping:
		return ErrStopped
	case <-s.done:
		return ErrStopped
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-r.reply:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// read runs a read-only fn on the engine.
func (s *Service) read(ctx context.Context, fn func(e *Engine) error) error {
	return s.send(ctx, request{fn: func(e *Engine) ([]Action, error) { return nil, fn(e) }, reply: make(chan error, 1), readOnly: true})
}

// Subscribe delivers every decision and record as an Event until unsubscribe is called or
// the service stops (the channel is then closed). A subscriber that falls behind by more
// than buf events loses events.
func (s *Service) Subscribe(ctx context.Context, buf int) (events <-chan Event, unsubscribe func(), err error) {
	ch := make(chan Event, max(buf, 1))
	var id int
	err = s.read(ctx, func(*Engine) error {
		s.nextSub++
		id = s.nextSub
		s.subs[id] = ch
		return nil
	})
	if err != nil {
		return nil, nil, err
	}
	var once sync.Once
	return ch, func() {
		once.Do(func() {
			// When the service has stopped it has closed ch already.
			err := s.read(context.Background(), func(*Engine) error {
				if _, ok := s.subs[id]; ok {
					delete(s.subs, id)
					close(ch)
				}
				return nil
			})
			if err != nil && !errors.Is(err, ErrStopped) {
				s.log.Error("queue: unsubscribe", "err", err)
			}
		})
	}, nil
}

// Running is closed once Run has restored the stored state and takes requests.
func (s *Service) Running() <-chan struct{} { return s.running }

// Features are the feature codes the service answers.
func (s *Service) Features() FeatureCodes { return *s.features.Load() }

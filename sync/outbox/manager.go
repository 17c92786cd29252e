package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callbox"
)

// Destination is a destination as the manager runs it.
type Destination struct {
	Name        string
	Kind        string // for status
	Deliverer   Deliverer
	Concurrency int           // requests at a time (default 4)
	MaxBackoff  time.Duration // longest wait between attempts (default 10m)
	// Lease is how long a claimed row belongs to its worker; longer than any attempt can
	// take (default 2m).
	Lease time.Duration
}

// Options build a Manager.
type Options struct {
	DB         *sql.DB // store.DB.SQL()
	Log        *slog.Logger
	Registerer prometheus.Registerer // nil: no metrics
	Now        func() time.Time
	Rand       func() float64 // jitter, in [0, 1)
	// Poll is the longest a worker sleeps before looking for due rows (default 1s); Kick
	// wakes it sooner.
	Poll time.Duration
}

// Manager runs one worker per destination and answers the operations commands.
type Manager struct {
	o   Options
	st  *Store
	m   *metrics
	log *slog.Logger

	mu      sync.Mutex
	dests   []Destination
	workers map[string]*worker
	changed chan struct{} // the destination set changed
	running bool
}

// NewManager makes a manager; Run starts its workers.
func NewManager(o Options) (*Manager, error) {
	if o.DB == nil {
		return nil, errors.New("outbox: no database")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Rand == nil {
		o.Rand = rand.Float64
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	mg := &Manager{o: o, st: NewStore(o.DB, o.Now), log: o.Log, workers: map[string]*worker{}, changed: make(chan struct{}, 1)}
	m, err := newMetrics(o.Registerer, mg.st, mg.names, o.Log)
	if err != nil {
		return nil, fmt.Errorf("outbox metrics: %w", err)
	}
	mg.m = m
	return mg, nil
}

// names are the destinations configured now.
func (m *Manager) names() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]string, 0, len(m.dests))
	for _, d := range m.dests {
		out = append(out, d.Name)
	}
	return out
}

// Store is the manager's database view.
func (m *Manager) Store() *Store { return m.st }

// Configure replaces the set of destinations: the workers restart with it. As it follows a
// configuration reload, it also resumes destinations paused for refused credentials.
func (m *Manager) Configure(ctx context.Context, dests []Destination) error {
	m.mu.Lock()
	m.dests = dests
	m.mu.Unlock()
	select {
	case m.changed <- struct{}{}:
	default:
	}
	return m.Resume(ctx)
}

// Resume resumes every paused destination: the configuration was reloaded, so the admin may
// have fixed the credentials.
func (m *Manager) Resume(ctx context.Context) error {
	resumed, err := m.st.Resume(ctx)
	if err != nil {
		return err
	}
	m.mu.Lock()
	for _, name := range resumed {
		if w, ok := m.workers[name]; ok {
			w.setPaused(false)
			w.wake()
		}
	}
	m.mu.Unlock()
	if len(resumed) > 0 {
		m.log.Info("configuration reloaded: paused destinations resume", "destinations", resumed)
	}
	return nil
}

// Kick wakes every worker: new rows were written.
func (m *Manager) Kick() {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, w := range m.workers {
		w.wake()
	}
}

// Run delivers until ctx ends, then waits for every worker. A worker that fails (its
// database is gone) stops the manager with its error.
func (m *Manager) Run(ctx context.Context) error {
	m.mu.Lock()
	if m.running {
		m.mu.Unlock()
		return errors.New("outbox: already running")
	}
	m.running = true
	m.mu.Unlock()
	defer func() {
		m.mu.Lock()
		m.running = false
		m.workers = map[string]*worker{}
		m.mu.Unlock()
	}()
	for {
		select { // this round reads the newest destinations; a later change interrupts it
		case <-m.changed:
		default:
		}
		wctx, cancel := context.WithCancel(ctx)
		errc := make(chan error, 1)
		var wg sync.WaitGroup
		m.mu.Lock()
		dests := m.dests
		m.workers = map[string]*worker{}
		for _, d := range dests {
			w := m.newWorker(d)
			m.workers[d.Name] = w
			wg.Go(func() {
				if err := w.run(wctx); err != nil && wctx.Err() == nil {
					select {
					case errc <- err:
					default:
					}
					cancel()
				}
			})
		}
		m.mu.Unlock()
		var err error
		restart := false
		select {
		case <-ctx.Done():
		case <-m.changed:
			restart = true
		case err = <-errc:
		}
		cancel()
		wg.Wait()
		if err == nil {
			select {
			case err = <-errc:
			default:
			}
		}
		if err != nil {
			m.log.Error("outbox stopped", "err", err)
			return err
		}
		if !restart {
			return nil
		}
	}
}

func (m *Manager) newWorker(d Destination) *worker {
	if d.Concurrency <= 0 {
		d.Concurrency = 4
	}
	if d.MaxBackoff <= 0 {
		d.MaxBackoff = 10 * time.Minute
	}
	if d.Lease <= 0 {
		d.Lease = 2 * time.Minute
	}
	return &worker{
		name: d.Name, d: d.Deliverer, st: m.st, m: m.m, log: m.log.With("destination", d.Name),
		conc: d.Concurrency, lease: d.Lease, maxBackoff: d.MaxBackoff, poll: m.o.Poll,
		now: m.o.Now, rand: m.o.Rand, kick: make(chan struct{}, 1),
	}
}

// Status returns every configured destination (and any other with waiting rows) at a glance.
func (m *Manager) Status(ctx context.Context) ([]DestinationStatus, error) {
	m.mu.Lock()
	kinds := map[string]string{}
	for _, d := range m.dests {
		kinds[d.Name] = d.Kind
	}
	m.mu.Unlock()
	sts, err := m.st.Status(ctx, m.names())
	if err != nil {
		return nil, err
	}
	for i := range sts {
		sts[i].Kind = kinds[sts[i].Name]
	}
	return sts, nil
}

// Retry makes rows due now and resumes their paused destinations (see RetryRequest).
func (m *Manager) Retry(ctx context.Context, r RetryRequest) (RetryResult, error) {
	if r.Destination != "" && !m.known(r.Destination) {
		return RetryResult{}, callbox.Errorf(callbox.ENOTFOUND, "sync destination %s is not configured", r.Destination)
	}
	res, err := m.st.Retry(ctx, r)
	if err != nil {
		return res, err
	}
	m.mu.Lock()
	for _, name := range res.Resumed {
		if w, ok := m.workers[name]; ok {
			w.setPaused(false)
		}
	}
	for name, w := range m.workers {
		if r.Destination == "" || r.Destination == name {
			w.resetOutage.Store(true) // the admin says it is back: stop probing
		}
	}
	m.mu.Unlock()
	if len(res.Resumed) > 0 {
		m.log.Info("paused destinations resume", "destinations", res.Resumed)
	}
	m.Kick()
	return res, nil
}

// Replay sends delivered rows again (see ReplayRequest).
func (m *Manager) Replay(ctx context.Context, r ReplayRequest) (ReplayResult, error) {
	if r.Destination != "" && !m.known(r.Destination) {
		return ReplayResult{}, callbox.Errorf(callbox.ENOTFOUND, "sync destination %s is not configured", r.Destination)
	}
	res, err := m.st.Replay(ctx, r)
	if err != nil {
		return res, err
	}
	m.log.Info("replaying delivered rows", "since", r.Since, "destination", r.Destination, "rows", res.Requeued)
	m.Kick()
	return res, nil
}

func (m *Manager) known(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, d := range m.dests {
		if d.Name == name {
			return true
		}
	}
	return false
}

// Package lookup tells the IVR and the queue who is calling, as the helpdesk knows them:
// name, organisation, VIP, open tickets and the agent who served them last.
//
// The call path never waits on the WAN longer than the deadline (400 ms by default): a
// look-up asks the helpdesk, and when no answer came in time it answers from the local cache
// (SQLite) while the helpdesk's answer, whenever it comes, refreshes the cache for the next
// call. Answers younger than Fresh are used without asking at all, so the IVR and the queue
// asking about the same caller a few seconds apart cost one request.
package lookup

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Ticket is one of the caller's tickets.
type Ticket struct {
	ID      string `json:"id"`
	Subject string `json:"subject,omitempty"`
	Status  string `json:"status,omitempty"`
}

// Caller is what the helpdesk knows about a phone number.
type Caller struct {
	Number       string   `json:"number"`
	Found        bool     `json:"found"` // the helpdesk knows the number
	Name         string   `json:"name,omitempty"`
	Organization string   `json:"organization,omitempty"`
	VIP          bool     `json:"vip,omitempty"`
	OpenTickets  []Ticket `json:"open_tickets,omitempty"` // newest first
	// LastAgent is the extension of the agent who last worked on the caller's tickets, for
	// the queue's sticky agent ("" when unknown or not mapped to an extension).
	LastAgent  string `json:"last_agent,omitempty"`
	Directory  string `json:"directory,omitempty"` // the destination that answered
	HelpdeskID string `json:"helpdesk_id,omitempty"`
}

// Source says where a look-up's answer came from.
type Source string

const (
	SourceHelpdesk Source = "helpdesk" // the helpdesk answered within the deadline
	SourceCache    Source = "cache"    // the local cache answered
	SourceNone     Source = "none"     // nobody knew in time: an unknown caller
)

// Directory is a helpdesk that finds callers by phone number. An unknown number is no
// error: it returns a Caller with Found false.
type Directory interface {
	FindCaller(ctx context.Context, number string) (Caller, error)
}

// Options build a Service.
type Options struct {
	DB *sql.DB // store.DB.SQL(): the cache lives in the lookup_cache table
	// Directory answers look-ups; nil turns them off (every caller is unknown).
	Directory Directory
	Name      string // the destination the directory belongs to
	Deadline  time.Duration
	Fresh     time.Duration
	TTL       time.Duration
	// Timeout bounds a helpdesk query running on after the deadline (default 10s).
	Timeout    time.Duration
	Log        *slog.Logger
	Registerer prometheus.Registerer
	Now        func() time.Time
}

// Service answers look-ups. It owns the helpdesk queries that outlive a look-up: Run ends
// them and waits for them when its context ends; after that, look-ups use the cache only.
type Service struct {
	o   Options
	m   *metrics
	cur atomic.Pointer[settings]

	mu      sync.Mutex
	base    context.Context // ends the queries
	stop    context.CancelFunc
	stopped bool
	running bool
	wg      sync.WaitGroup
	flights map[string]*flight
}

// settings are what a configuration reload may change.
type settings struct {
	dir                  Directory
	name                 string
	deadline, fresh, ttl time.Duration
}

type flight struct {
	done   chan struct{}
	caller Caller
	err    error
}

// New makes a service; it asks the helpdesk until Run's context ends.
func New(o Options) (*Service, error) {
	if o.DB == nil {
		return nil, errors.New("lookup: needs a database")
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	m, err := newMetrics(o.Registerer)
	if err != nil {
		return nil, err
	}
	base, stop := context.WithCancel(context.Background())
	s := &Service{o: o, m: m, base: base, stop: stop, flights: map[string]*flight{}}
	s.Configure(o.Directory, o.Name, o.Deadline, o.Fresh, o.TTL)
	return s, nil
}

// Configure changes the directory (nil turns look-ups off) and the timings, after a
// configuration reload. Zero timings take the defaults: 400ms, 1m, 24h.
func (s *Service) Configure(dir Directory, name string, deadline, fresh, ttl time.Duration) {
	if deadline <= 0 {
		deadline = 400 * time.Millisecond
	}
	if fresh <= 0 {
		fresh = time.Minute
	}
	if ttl <= 0 {
		ttl = 24 * time.Hour
	}
	s.cur.Store(&settings{dir: dir, name: name, deadline: deadline, fresh: fresh, ttl: ttl})
}

// Run waits until ctx ends, then ends the helpdesk queries in flight and waits for them.
func (s *Service) Run(ctx context.Context) error {
	s.mu.Lock()
	if s.running || s.stopped {
		s.mu.Unlock()
		return errors.New("lookup: already running")
	}
	s.running = true
	s.mu.Unlock()
	<-ctx.Done()
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.stop()
	s.wg.Wait()
	return nil
}

// Lookup tells who is calling from number (E.164), waiting for the helpdesk at most the
// deadline (or until ctx ends, if sooner).
func (s *Service) Lookup(ctx context.Context, number string) (Caller, Source) {
	set := s.cur.Load()
	if number == "" || number == "anonymous" || set.dir == nil {
		s.m.lookups.WithLabelValues(string(SourceNone)).Inc()
		return Caller{Number: number}, SourceNone
	}
	cached, age, ok := s.cached(ctx, set, number)
	if ok && age < set.fresh {
		s.m.cache.WithLabelValues("hit").Inc()
		s.m.lookups.WithLabelValues(string(SourceCache)).Inc()
		return cached, SourceCache
	}
	if f := s.ask(set, number); f != nil {
		timer := time.NewTimer(set.deadline)
		defer timer.Stop()
		select {
		case <-f.done:
			if f.err == nil {
				s.m.lookups.WithLabelValues(string(SourceHelpdesk)).Inc()
				return f.caller, SourceHelpdesk
			}
		case <-timer.C:
		case <-ctx.Done():
		}
	}
	if ok && age < set.ttl {
		s.m.cache.WithLabelValues("fallback").Inc()
		s.m.lookups.WithLabelValues(string(SourceCache)).Inc()
		return cached, SourceCache
	}
	s.m.cache.WithLabelValues("miss").Inc()
	s.m.lookups.WithLabelValues(string(SourceNone)).Inc()
	return Caller{Number: number}, SourceNone
}

// Cached returns the cached answer about number, if one younger than the TTL exists; it never
// asks the helpdesk.
func (s *Service) Cached(ctx context.Context, number string) (Caller, bool) {
	set := s.cur.Load()
	if set.dir == nil {
		return Caller{Number: number}, false
	}
	c, age, ok := s.cached(ctx, set, number)
	if !ok || age >= set.ttl {
		return Caller{Number: number}, false
	}
	return c, true
}

// ask starts a helpdesk query about number, or joins the one in flight; nil once the
// service has stopped.
func (s *Service) ask(set *settings, number string) *flight {
	key := set.name + "\x00" + number
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.stopped {
		return nil
	}
	if f, ok := s.flights[key]; ok {
		return f
	}
	f := &flight{done: make(chan struct{})}
	s.flights[key] = f
	base := s.base
	s.wg.Go(func() {
		ctx, cancel := context.WithTimeout(base, s.o.Timeout)
		defer cancel()
		start := s.o.Now()
		c, err := set.dir.FindCaller(ctx, number)
		s.m.duration.Observe(s.o.Now().Sub(start).Seconds())
		if err != nil {
			s.m.queries.WithLabelValues("error").Inc()
			if ctx.Err() == nil || base.Err() == nil {
				s.o.Log.Warn("caller look-up failed; calls use the cache", "directory", set.name, "err", err)
			}
		} else {
			c.Number, c.Directory = number, set.name
			if c.Found {
				s.m.queries.WithLabelValues("found").Inc()
			} else {
				s.m.queries.WithLabelValues("not_found").Inc()
			}
			// The cache outlives the call that asked: write it even if that call is gone.
			wctx, wcancel := context.WithTimeout(context.WithoutCancel(base), 5*time.Second)
			if err := s.store(wctx, set, c); err != nil {
				s.o.Log.Warn("caching a look-up failed", "err", err)
			}
			wcancel()
		}
		f.caller, f.err = c, err
		s.mu.Lock()
		delete(s.flights, key)
		s.mu.Unlock()
		close(f.done)
	})
	return f
}

func (s *Service) cached(ctx context.Context, set *settings, number string) (Caller, time.Duration, bool) {
	var found bool
	var raw string
	var fetched int64
	err := s.o.DB.QueryRowContext(ctx, `SELECT found, caller, fetched_at FROM lookup_cache WHERE number = ? AND directory = ?`,
		number, set.name).Scan(&found, &raw, &fetched)
	if err != nil {
		if !errors.Is(err, sql.ErrNoRows) && ctx.Err() == nil {
			s.o.Log.Warn("reading the look-up cache failed", "err", err)
		}
		return Caller{}, 0, false
	}
	var c Caller
	if err := json.Unmarshal([]byte(raw), &c); err != nil {
		return Caller{}, 0, false
	}
	c.Found, c.Number, c.Directory = found, number, set.name
	return c, s.o.Now().Sub(time.UnixMilli(fetched)), true
}

func (s *Service) store(ctx context.Context, set *settings, c Caller) error {
	b, err := json.Marshal(c)
	if err != nil {
		return err
	}
	_, err = s.o.DB.ExecContext(ctx, `INSERT INTO lookup_cache (number, directory, found, caller, fetched_at) VALUES (?, ?, ?, ?, ?)
		ON CONFLICT (number, directory) DO UPDATE SET found = excluded.found, caller = excluded.caller, fetched_at = excluded.fetched_at`,
		c.Number, set.name, c.Found, string(b), s.o.Now().UnixMilli())
	if err != nil {
		return fmt.Errorf("cache caller %s: %w", c.Number, err)
	}
	return nil
}

type metrics struct {
	lookups  *prometheus.CounterVec
	cache    *prometheus.CounterVec
	queries  *prometheus.CounterVec
	duration prometheus.Histogram
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		lookups: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_sync_lookups_total",
			Help: "Caller look-ups by where the answer came from: helpdesk, cache, none."}, []string{"result"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_sync_lookup_cache_total",
			Help: "Look-up cache use: hit (fresh, the helpdesk not asked), fallback (the helpdesk was slow or failed), miss."},
			[]string{"result"}),
		queries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_sync_lookup_queries_total",
			Help: "Caller queries to the helpdesk by result: found, not_found, error."}, []string{"result"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callbox_sync_lookup_query_duration_seconds",
			Help: "How long the helpdesk took to answer a caller query.", Buckets: []float64{.05, .1, .2, .4, .8, 1.5, 3, 6, 10}}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.lookups, m.cache, m.queries, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("lookup metrics: %w", err)
		}
	}
	return m, nil
}

package lookup_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callbox/sync/internal/fixture"
	"callbox/sync/lookup"
)

// directory is a helpdesk whose answers the test controls.
type directory struct {
	calls atomic.Int32
	mu    sync.Mutex
	delay time.Duration
	err   error
	known map[string]lookup.Caller
}

func (d *directory) FindCaller(ctx context.Context, number string) (lookup.Caller, error) {
	d.calls.Add(1)
	d.mu.Lock()
	delay, err := d.delay, d.err
	c, ok := d.known[number]
	d.mu.Unlock()
	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-ctx.Done():
			return lookup.Caller{}, ctx.Err()
		}
	}
	if err != nil {
		return lookup.Caller{}, err
	}
	if !ok {
		return lookup.Caller{Number: number}, nil
	}
	return c, nil
}

func (d *directory) set(delay time.Duration, err error) {
	d.mu.Lock()
	d.delay, d.err = delay, err
	d.mu.Unlock()
}

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newService(t *testing.T, dir lookup.Directory, clk *clock, reg prometheus.Registerer) *lookup.Service {
	t.Helper()
	box := fixture.Open(t)
	svc, err := lookup.New(lookup.Options{DB: box.DB.SQL(), Directory: dir, Name: "desk", Deadline: 300 * time.Millisecond,
		Fresh: time.Minute, TTL: time.Hour, Now: clk.Now, Registerer: reg})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	return svc
}

var dana = lookup.Caller{Number: "+15551230001", Found: true, Name: "Dana Scully", Organization: "FBI", VIP: true,
	OpenTickets: []lookup.Ticket{{ID: "42", Subject: "Printer on fire", Status: "open"}}, LastAgent: "1001"}

func TestLookupPaths(t *testing.T) {
	dir := &directory{known: map[string]lookup.Caller{dana.Number: dana}}
	clk := &clock{now: time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)}
	reg := prometheus.NewRegistry()
	svc := newService(t, dir, clk, reg)
	ctx := context.Background()

	// Found: asked live.
	c, src := svc.Lookup(ctx, dana.Number)
	if src != lookup.SourceHelpdesk || c.Name != "Dana Scully" || !c.VIP || c.Directory != "desk" || c.OpenTickets[0].ID != "42" {
		t.Fatalf("found: %v %+v", src, c)
	}
	// Asked again within a minute (the queue after the IVR): the cache answers, no request.
	if c, src := svc.Lookup(ctx, dana.Number); src != lookup.SourceCache || c.LastAgent != "1001" || dir.calls.Load() != 1 {
		t.Fatalf("fresh: %v %+v, %d queries", src, c, dir.calls.Load())
	}
	// Not found: remembered as unknown.
	if c, src := svc.Lookup(ctx, "+15550000000"); src != lookup.SourceHelpdesk || c.Found {
		t.Fatalf("not found: %v %+v", src, c)
	}
	// Helpdesk down: the cache answers at once; a caller never seen is unknown.
	clk.add(10 * time.Minute)
	dir.set(0, errors.New("connection refused"))
	start := time.Now()
	if c, src := svc.Lookup(ctx, dana.Number); src != lookup.SourceCache || !c.Found || time.Since(start) > 200*time.Millisecond {
		t.Fatalf("down: %v %+v after %s", src, c, time.Since(start))
	}
	if c, src := svc.Lookup(ctx, "+15557777777"); src != lookup.SourceNone || c.Found {
		t.Fatalf("down, unknown caller: %v %+v", src, c)
	}
	// Slow helpdesk (5 s): the call waits the deadline, then the cache answers.
	dir.set(5*time.Second, nil)
	start = time.Now()
	c, src = svc.Lookup(ctx, dana.Number)
	if took := time.Since(start); took < 250*time.Millisecond || took > 300*time.Millisecond+150*time.Millisecond {
		t.Errorf("a slow helpdesk held the call %s; the deadline is 300ms", took)
	}
	if src != lookup.SourceCache || c.Name != "Dana Scully" {
		t.Fatalf("slow: %v %+v", src, c)
	}
	// A cached answer older than the TTL is not used.
	clk.add(2 * time.Hour)
	if c, src := svc.Lookup(ctx, dana.Number); src != lookup.SourceNone || c.Found {
		t.Fatalf("expired cache: %v %+v", src, c)
	}
	if got := counter(t, reg, "callbox_sync_lookups_total", "helpdesk"); got != 2 {
		t.Errorf("lookups answered by the helpdesk: %v", got)
	}
	if got := counter(t, reg, "callbox_sync_lookup_cache_total", "hit"); got != 1 {
		t.Errorf("cache hits: %v", got)
	}
}

// counter reads one labelled series of a counter from reg.
func counter(t *testing.T, reg *prometheus.Registry, name, label string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			if mf.GetName() == name && m.GetLabel()[0].GetValue() == label {
				return m.GetCounter().GetValue()
			}
		}
	}
	return 0
}

// Calls from the same number at the same moment share one helpdesk query.
func TestConcurrentLookupsShareOneQuery(t *testing.T) {
	dir := &directory{known: map[string]lookup.Caller{dana.Number: dana}, delay: 100 * time.Millisecond}
	svc := newService(t, dir, &clock{now: time.Now()}, nil)
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			if _, src := svc.Lookup(context.Background(), dana.Number); src != lookup.SourceHelpdesk {
				t.Errorf("source %v", src)
			}
		})
	}
	wg.Wait()
	if n := dir.calls.Load(); n != 1 {
		t.Fatalf("%d queries for one number", n)
	}
}

// The caller's context ending (the caller hung up) ends the wait, not the query: its answer
// still refreshes the cache for the next call.
func TestAnswerAfterTheCallerLeftStillRefreshesTheCache(t *testing.T) {
	dir := &directory{known: map[string]lookup.Caller{dana.Number: dana}, delay: 200 * time.Millisecond}
	svc := newService(t, dir, &clock{now: time.Now()}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, src := svc.Lookup(ctx, dana.Number); src != lookup.SourceNone {
		t.Fatalf("source %v", src)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if c, ok := svc.Cached(context.Background(), dana.Number); ok && c.Name == "Dana Scully" {
			return
		}
		if time.Now().After(deadline) {
			t.Fatal("the late answer never reached the cache")
		}
		time.Sleep(10 * time.Millisecond) // the refresh is a background write with no event to await
	}
}

func TestLookupsOff(t *testing.T) {
	svc := newService(t, nil, &clock{now: time.Now()}, nil)
	if c, src := svc.Lookup(context.Background(), dana.Number); src != lookup.SourceNone || c.Found {
		t.Fatalf("off: %v %+v", src, c)
	}
}

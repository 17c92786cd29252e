package outbox_test

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"callbox/sync/adapter"
	"callbox/sync/event"
	"callbox/sync/internal/fixture"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
	"callbox/sync/webhook"
	"callbox/sync/webhook/webhooktest"
)

var t0 = time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)

// harness is a box, a receiver and a manager delivering to it.
type harness struct {
	t     *testing.T
	box   *fixture.Box
	rc    *webhooktest.Receiver
	srv   *httptest.Server
	m     *outbox.Manager
	stop  context.CancelFunc
	done  chan error
	dests []outbox.Destination
}

func newHarness(t *testing.T) *harness {
	h := &harness{t: t, box: fixture.Open(t), rc: webhooktest.New(fixture.Secret)}
	h.srv = httptest.NewServer(h.rc)
	t.Cleanup(h.srv.Close)
	wh, err := webhook.New(webhook.Options{URL: h.srv.URL, Secrets: []string{fixture.Secret}, Recording: "upload",
		Files: adapter.Files{DataDir: h.box.Dir}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	h.dests = []outbox.Destination{{Name: "hook", Kind: "webhook", Deliverer: wh, Concurrency: 4,
		MaxBackoff: 200 * time.Millisecond, Lease: 5 * time.Second}}
	return h
}

// start runs a manager on the box's current database.
func (h *harness) start() {
	h.t.Helper()
	m, err := outbox.NewManager(outbox.Options{DB: h.box.DB.SQL(), Poll: 50 * time.Millisecond})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := m.Configure(context.Background(), h.dests); err != nil {
		h.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	h.m, h.stop, h.done = m, cancel, done
	go func() { done <- m.Run(ctx) }()
	h.t.Cleanup(func() { cancel(); <-done })
}

// stopped waits for the manager to stop by itself and returns its error.
func (h *harness) stopped(within time.Duration) error {
	h.t.Helper()
	select {
	case err := <-h.done:
		h.done <- err // for the cleanup
		return err
	case <-time.After(within):
		h.t.Fatalf("the manager still runs after %s", within)
		return nil
	}
}

// drained waits until no row waits or is in flight.
func (h *harness) drained() {
	h.t.Helper()
	waitFor(h.t, func() bool { st := h.status(); return st.Pending+st.InFlight == 0 })
}

// halt stops the manager and returns its error.
func (h *harness) halt() error {
	h.stop()
	err := <-h.done
	h.done <- err // for the cleanup
	return err
}

func (h *harness) finish(n int) []string {
	h.t.Helper()
	cfg := fixture.Config(h.t, fixture.Webhook(h.srv.URL, "      recording: upload\n"))
	var ids []string
	for i := range n {
		rec := h.box.Recorded(h.t, h.box.Call(h.t, fmt.Sprintf("call-%05d", i), t0.Add(time.Duration(i)*time.Second)))
		for _, r := range h.box.Finish(h.t, cfg, rec, lookup.Caller{}) {
			ids = append(ids, r.ID)
		}
	}
	return ids
}

func (h *harness) wait(n int, within time.Duration) {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), within)
	defer cancel()
	if err := h.rc.Wait(ctx, n); err != nil {
		h.t.Fatalf("receiver has %d of %d events after %s", h.rc.Unique(), n, within)
	}
}

// checkExactlyOnce checks every id arrived at least once, nothing else arrived, and each
// call's steps arrived in order (event, recording, survey) the first time they arrived.
func (h *harness) checkExactlyOnce(ids []string) (dups int) {
	h.t.Helper()
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
		if h.rc.Seen(id) == 0 {
			h.t.Fatalf("event %s never arrived", id)
		}
	}
	order := map[string][]string{}
	for _, m := range h.rc.Messages() {
		if !want[m.ID] {
			h.t.Fatalf("unexpected event %s", m.ID)
		}
		if m.Duplicate {
			dups++
			continue
		}
		order[m.CallID] = append(order[m.CallID], m.Type)
	}
	for call, types := range order {
		if len(types) != 3 || types[0] != event.CallFinished || types[1] != event.Recording || types[2] != event.Survey {
			h.t.Fatalf("call %s arrived out of order: %v", call, types)
		}
	}
	if h.rc.Unique() != len(ids) || h.rc.Rejected() != 0 {
		h.t.Fatalf("receiver has %d distinct ids (want %d), %d rejected", h.rc.Unique(), len(ids), h.rc.Rejected())
	}
	return dups
}

func (h *harness) status() outbox.DestinationStatus {
	h.t.Helper()
	sts, err := h.m.Status(context.Background())
	if err != nil || len(sts) != 1 {
		h.t.Fatalf("status: %v %v", sts, err)
	}
	return sts[0]
}

func TestDeliversEveryStepInOrder(t *testing.T) {
	h := newHarness(t)
	ids := h.finish(20)
	h.start()
	h.wait(len(ids), 20*time.Second)
	if dups := h.checkExactlyOnce(ids); dups != 0 {
		t.Errorf("%d duplicates without any failure", dups)
	}
	h.drained()
	if st := h.status(); st.Dead != 0 || st.LastSuccess == nil {
		t.Errorf("status after draining: %+v", st)
	}
}

// A receiver that stops answering mid-way through a drain, in every way HTTP can fail, gets
// every event once it answers again.
func TestRetriesTransientFailures(t *testing.T) {
	h := newHarness(t)
	ids := h.finish(10)
	var n atomic.Int32
	h.rc.Before = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		switch n.Add(1) % 5 {
		case 1:
			w.Header().Set("Retry-After", "0")
			http.Error(w, "slow down", http.StatusTooManyRequests)
		case 2:
			http.Error(w, "oops", http.StatusInternalServerError)
		case 3:
			http.Error(w, "busy", http.StatusServiceUnavailable)
		default:
			return false
		}
		return true
	}
	h.start()
	h.wait(len(ids), 30*time.Second)
	h.checkExactlyOnce(ids)
}

func TestRetryAfterIsHonoured(t *testing.T) {
	h := newHarness(t)
	ids := h.finish(1)
	var mu sync.Mutex
	var times []time.Time
	h.rc.Before = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		mu.Lock()
		defer mu.Unlock()
		times = append(times, time.Now())
		if len(times) == 1 {
			w.Header().Set("Retry-After", "1")
			http.Error(w, "slow down", http.StatusTooManyRequests)
			return true
		}
		return false
	}
	h.start()
	h.wait(len(ids), 20*time.Second)
	mu.Lock()
	defer mu.Unlock()
	// MaxBackoff is 200ms: only the receiver's Retry-After explains a second's wait.
	if gap := times[1].Sub(times[0]); gap < 950*time.Millisecond {
		t.Fatalf("second attempt %s after a 429 with Retry-After: 1", gap)
	}
}

func TestUnauthorizedPausesTheDestinationUntilRetry(t *testing.T) {
	h := newHarness(t)
	ids := h.finish(3)
	var refuse atomic.Bool
	refuse.Store(true)
	var refused atomic.Int32
	h.rc.Before = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if refuse.Load() {
			refused.Add(1)
			http.Error(w, "who are you", http.StatusUnauthorized)
			return true
		}
		return false
	}
	h.start()
	waitFor(t, func() bool { st := h.status(); return st.Paused && st.InFlight == 0 })
	st := h.status()
	if st.Dead != 0 || st.Pending != len(ids) || st.LastError == "" {
		t.Fatalf("a refused credential must keep every row waiting: %+v", st)
	}
	// Paused means paused: no more requests, even when woken.
	before := refused.Load()
	h.m.Kick()
	time.Sleep(300 * time.Millisecond) // six poll periods in which nothing may happen
	if refused.Load() != before {
		t.Fatalf("a paused destination was sent %d more requests", refused.Load()-before)
	}
	refuse.Store(false)
	res, err := h.m.Retry(context.Background(), outbox.RetryRequest{})
	if err != nil || len(res.Resumed) != 1 || res.Resumed[0] != "hook" {
		t.Fatalf("retry: %+v %v", res, err)
	}
	h.wait(len(ids), 20*time.Second)
	h.checkExactlyOnce(ids)
}

func TestUnprocessableRowBecomesADeadLetterAndBlocksItsCallOnly(t *testing.T) {
	h := newHarness(t)
	ids := h.finish(3)
	var reject atomic.Bool
	reject.Store(true)
	h.rc.Before = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				CallID string `json:"call_id"`
			} `json:"data"`
		}
		json.Unmarshal(body, &ev)
		if reject.Load() && ev.Data.CallID == "call-00001" {
			http.Error(w, `{"error":"field missing"}`, http.StatusUnprocessableEntity)
			return true
		}
		return false
	}
	h.start()
	h.wait(len(ids)-3, 20*time.Second) // the two other calls, whole
	waitFor(t, func() bool { return h.status().Dead == 1 })
	st := h.status()
	if st.Pending != 2 || st.Paused {
		t.Fatalf("the dead call's later steps must wait, nothing else: %+v", st)
	}
	if h.rc.Unique() != len(ids)-3 {
		t.Fatalf("a step after a dead letter was delivered: %d events", h.rc.Unique())
	}
	reject.Store(false)
	if res, err := h.m.Retry(context.Background(), outbox.RetryRequest{Dead: true}); err != nil || res.Requeued != 1 {
		t.Fatalf("retry --dead: %+v %v", res, err)
	}
	h.wait(len(ids), 20*time.Second)
	h.checkExactlyOnce(ids)
}

// Crash between the receiver's answer and the outcome's commit: the database is closed under
// the worker while requests are in flight, as a power cut would leave it. A new run sends the
// unfinished rows again; the receiver gets every event, duplicates only of what was in flight.
func TestCrashBetweenSendAndMarkDone(t *testing.T) {
	h := newHarness(t)
	ids := h.finish(100)
	var once sync.Once
	var got atomic.Int32
	h.rc.Before = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if got.Add(1) == 40 {
			once.Do(func() { h.box.DB.Close() })
		}
		return false
	}
	h.start()
	err := h.stopped(20 * time.Second)
	if err == nil || !errors.Is(err, sql.ErrConnDone) && !strings.Contains(err.Error(), "closed") {
		t.Fatalf("the manager should stop on a lost database, got %v", err)
	}
	before := h.rc.Unique()
	if before >= len(ids) {
		t.Fatalf("the crash came too late: %d of %d delivered", before, len(ids))
	}
	h.rc.Before = nil
	h.box.Reopen(t)
	h.start()
	h.wait(len(ids), 30*time.Second)
	if dups := h.checkExactlyOnce(ids); dups == 0 {
		t.Errorf("the request answered while the database closed should have come twice")
	}
}

// The daemon stops (context cancelled) while requests are in flight: they finish and are
// recorded, rows claimed but not sent go back to the queue; nothing is lost or sent twice.
func TestStopDuringDelivery(t *testing.T) {
	h := newHarness(t)
	ids := h.finish(60)
	var got atomic.Int32
	h.rc.Before = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if got.Add(1) == 30 {
			h.stop() // mid-flight: this request's answer comes after the stop
		}
		return false
	}
	h.start()
	if err := h.halt(); err != nil {
		t.Fatal(err)
	}
	h.rc.Before = nil
	h.start()
	h.wait(len(ids), 30*time.Second)
	if dups := h.checkExactlyOnce(ids); dups != 0 {
		t.Errorf("%d duplicates after a clean stop", dups)
	}
	h.drained()
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 20s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// server is a receiver that can be down (nothing listens: connections are refused) and come
// back on the same address.
type server struct {
	t    *testing.T
	addr string
	h    http.Handler
	srv  *http.Server
	done chan struct{}
}

func newDownServer(t *testing.T, h http.Handler) *server {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &server{t: t, addr: l.Addr().String(), h: h}
	l.Close()
	t.Cleanup(s.down)
	return s
}

func (s *server) up() {
	l, err := net.Listen("tcp", s.addr)
	if err != nil {
		s.t.Fatal(err)
	}
	s.srv, s.done = &http.Server{Handler: s.h}, make(chan struct{})
	go func() { s.srv.Serve(l); close(s.done) }()
}

func (s *server) down() {
	if s.srv != nil {
		s.srv.Close()
		<-s.done
		s.srv = nil
	}
}

// The receiver is down while 10,000 calls finish; it comes back; everything drains, each
// call's steps in order, nothing lost.
func TestOutageOfTenThousandCalls(t *testing.T) {
	if testing.Short() {
		t.Skip("10,000 calls")
	}
	box := fixture.Open(t)
	rc := webhooktest.New(fixture.Secret)
	srv := newDownServer(t, rc)
	url := "http://" + srv.addr
	wh, err := webhook.New(webhook.Options{URL: url, Secrets: []string{fixture.Secret}, Timeout: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	m, err := outbox.NewManager(outbox.Options{DB: box.DB.SQL(), Poll: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	dest := outbox.Destination{Name: "hook", Deliverer: wh, Concurrency: 8, MaxBackoff: 500 * time.Millisecond}
	if err := m.Configure(context.Background(), []outbox.Destination{dest}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()

	cfg := fixture.Config(t, fixture.Webhook(url, ""))
	const calls = 10_000
	var ids []string
	began := time.Now()
	for i := range calls {
		rec := box.Call(t, fmt.Sprintf("out-%05d", i), t0.Add(time.Duration(i)*time.Second))
		rec.Recording = nil // two steps per call: the call, then its survey score
		for _, r := range box.Finish(t, cfg, rec, lookup.Caller{}) {
			ids = append(ids, r.ID)
		}
		m.Kick()
	}
	sts, err := m.Status(context.Background())
	if err != nil || sts[0].Failed == 0 || sts[0].LastError == "" || rc.Unique() != 0 {
		t.Fatalf("the outage should show in the status: %+v %v", sts, err)
	}
	t.Logf("written %s", time.Since(began))
	srv.up()
	defer func() { t.Logf("drained %s", time.Since(began)) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer wcancel()
	if err := rc.Wait(wctx, len(ids)); err != nil {
		t.Fatalf("%d of %d events after the receiver came back", rc.Unique(), len(ids))
	}
	first := map[string][]string{}
	for _, msg := range rc.Messages() {
		if !msg.Duplicate {
			first[msg.CallID] = append(first[msg.CallID], msg.Type)
		}
	}
	if len(first) != calls {
		t.Fatalf("%d calls arrived, want %d", len(first), calls)
	}
	for call, types := range first {
		if len(types) != 2 || types[0] != event.CallFinished || types[1] != event.Survey {
			t.Fatalf("call %s arrived as %v", call, types)
		}
	}
	for _, id := range ids {
		if rc.Seen(id) == 0 {
			t.Fatalf("event %s lost", id)
		}
	}
}

// A configuration reload resumes a destination paused for refused credentials.
func TestReloadResumesAPausedDestination(t *testing.T) {
	h := newHarness(t)
	ids := h.finish(2)
	var refuse atomic.Bool
	refuse.Store(true)
	h.rc.Before = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		if refuse.Load() {
			http.Error(w, "forbidden", http.StatusForbidden)
			return true
		}
		return false
	}
	h.start()
	waitFor(t, func() bool { st := h.status(); return st.Paused && st.InFlight == 0 })
	refuse.Store(false)
	if err := h.m.Resume(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.wait(len(ids), 20*time.Second)
	h.checkExactlyOnce(ids)
}

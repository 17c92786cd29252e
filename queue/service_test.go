package queue

import (
	"context"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// memStore keeps what a Store keeps, in memory, like the SQLite one: the last state of each
// agent with its history, callbacks, finished calls.
type memStore struct {
	mu        sync.Mutex
	agents    map[string]AgentRecord
	history   []AgentChanged
	callbacks map[string]CallbackPending
	finished  []Finished
}

func newMemStore() *memStore {
	return &memStore{agents: map[string]AgentRecord{}, callbacks: map[string]CallbackPending{}}
}

func (m *memStore) SaveAgent(_ context.Context, c AgentChanged) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.history = append(m.history, c)
	since := c.At
	if old, ok := m.agents[c.Agent]; ok && old.State == c.State {
		since = old.Since
	}
	m.agents[c.Agent] = AgentRecord{Agent: c.Agent, State: c.State, Since: since, Paused: c.Paused,
		PauseReason: c.PauseReason, Mobile: c.Mobile, Queues: c.Queues}
	return nil
}

func (m *memStore) LoadAgents(context.Context) ([]AgentRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []AgentRecord
	for _, r := range m.agents {
		out = append(out, r)
	}
	return out, nil
}

func (m *memStore) SaveCallback(_ context.Context, cb CallbackPending) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.callbacks[cb.Call] = cb
	return nil
}

func (m *memStore) DeleteCallback(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.callbacks, id)
	return nil
}

func (m *memStore) LoadCallbacks(context.Context) ([]CallbackPending, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []CallbackPending
	for _, cb := range m.callbacks {
		out = append(out, cb)
	}
	return out, nil
}

func (m *memStore) SaveFinished(_ context.Context, f Finished) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.finished = append(m.finished, f)
	return nil
}

func (m *memStore) LoadFinished(_ context.Context, since time.Time) ([]Finished, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Finished
	for _, f := range m.finished {
		if !f.At.Before(since) {
			out = append(out, f)
		}
	}
	return out, nil
}

// recorder is a Connector that keeps the leg actions and can answer offers itself, calling
// back into the service from inside Execute as a real call path may.
type recorder struct {
	mu      sync.Mutex
	actions []Action
	svc     *Service
	answer  map[string]bool // agents that answer their offers at once
}

func (r *recorder) Execute(ctx context.Context, a Action) {
	r.mu.Lock()
	r.actions = append(r.actions, a)
	answers := false
	if o, ok := a.(Offer); ok {
		answers = r.answer[o.Agent]
	}
	r.mu.Unlock()
	if answers {
		o := a.(Offer)
		if err := r.svc.Answered(ctx, o.Call, o.Agent); err != nil {
			panic(err)
		}
	}
}

func (r *recorder) kinds() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var ks []string
	for _, a := range r.actions {
		ks = append(ks, a.Kind())
	}
	return strings.Join(ks, " ")
}

// running starts a service in the synctest bubble; stop ends it and waits.
func running(t *testing.T, o Options) (svc *Service, stop func()) {
	t.Helper()
	svc, err := NewService(o)
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := o.Connector.(*recorder); ok {
		r.svc = svc
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	<-svc.Running()
	return svc, func() {
		cancel()
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestServiceOffersRingsOutAndBridges(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		conn := &recorder{answer: map[string]bool{"1002": true}}
		reg := prometheus.NewRegistry()
		cfg := oneQueue(QueueConfig{Strategy: Linear, RingTimeout: 10 * time.Second, Retry: 2 * time.Second}, "1001", "1002")
		svc, stop := running(t, Options{Config: cfg, Connector: conn, Registry: reg, Store: newMemStore()})
		defer stop()
		for _, a := range []string{"1001", "1002"} {
			if _, err := svc.Login(ctx, a, LoginOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		if err := svc.Join(ctx, "support", "c1", Caller{Number: "+15550001"}); err != nil {
			t.Fatal(err)
		}
		synctest.Wait()
		if got := conn.kinds(); got != "offer" {
			t.Fatalf("actions %q, want the offer to 1001", got)
		}
		// 1001 does not answer: the service's own timer ends the offer, and after the retry
		// delay 1002 rings and answers (from inside Execute).
		time.Sleep(12 * time.Second)
		synctest.Wait()
		if got := conn.kinds(); got != "offer cancel_offer offer bridge" {
			t.Fatalf("actions %q", got)
		}
		if v := metricValue(t, reg, "callbox_queue_calls_total", "queue=support,result=answered"); v != 1 {
			t.Errorf("answered calls metric %v", v)
		}
		if v := metricValue(t, reg, "callbox_agents", "state=on_call"); v != 1 {
			t.Errorf("agents on call %v", v)
		}
		if v := metricValue(t, reg, "callbox_queue_wait_seconds", "queue=support,result=answered"); v != 1 {
			t.Errorf("wait histogram count %v", v)
		}
		if err := svc.Hangup(ctx, "c1"); err != nil {
			t.Fatal(err)
		}
		if err := svc.Hangup(ctx, "c1"); err == nil {
			t.Error("hung up twice")
		}
		qs, err := svc.Queues(ctx)
		if err != nil || len(qs) != 1 || qs[0].Today.Answered != 1 {
			t.Fatalf("queues %+v %v", qs, err)
		}
	})
}

func TestServiceSurvivesRestart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		st := newMemStore()
		cfg := oneQueue(QueueConfig{Strategy: Linear, CallbackKey: "5"}, "1001", "1002")
		svc, stop := running(t, Options{Config: cfg, Store: st})
		svc.Login(ctx, "1001", LoginOptions{})
		svc.Login(ctx, "1002", LoginOptions{})
		svc.Pause(ctx, "1002", "lunch")
		svc.DirectCall(ctx, "1001", true)
		svc.Join(ctx, "support", "early", Caller{Number: "+15550001"})
		time.Sleep(time.Minute)
		svc.Join(ctx, "support", "late", Caller{Number: "+15550002"})
		if err := svc.RequestCallback(ctx, "late", ""); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Minute)
		if err := svc.RequestCallback(ctx, "early", ""); err != nil {
			t.Fatal(err)
		}
		stop() // the daemon stops: what was decided is stored

		conn := &recorder{}
		svc2, stop2 := running(t, Options{Config: cfg, Store: st, Connector: conn})
		defer stop2()
		agents, err := svc2.Agents(ctx)
		if err != nil {
			t.Fatal(err)
		}
		// 1001's direct call did not survive: it is free, and rings for a callback at once.
		if agents[0].State != StateRinging || agents[1].State != StatePaused || agents[1].Reason != "lunch" {
			t.Fatalf("restored agents %+v", agents)
		}
		// The callbacks came back in their places: early (joined first) before late.
		synctest.Wait()
		conn.mu.Lock()
		acts := append([]Action(nil), conn.actions...)
		conn.mu.Unlock()
		o := only[Offer](acts)
		if len(o) != 1 || o[0].Call != "early" || !o[0].Callback || o[0].Agent != "1001" {
			t.Fatalf("after restart: %s", describe(acts))
		}
		q, _ := svc2.Queue(ctx, "support")
		if q.Callbacks != 2 || q.Today.Callbacks != 2 {
			t.Fatalf("support after restart: %d callbacks waiting, %d today", q.Callbacks, q.Today.Callbacks)
		}
	})
}

func TestServiceSubscribeAndFeatures(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		cfg := oneQueue(QueueConfig{Strategy: Linear}, "1001", "1002")
		svc, stop := running(t, Options{Config: cfg, Features: FeatureCodes{Login: "*45", Pause: "*46", Listen: "*31", Whisper: "*32", Barge: "*33"}})
		events, unsubscribe, err := svc.Subscribe(ctx, 16)
		if err != nil {
			t.Fatal(err)
		}
		res, ok, err := svc.Feature(ctx, "1001", "*45")
		if !ok || err != nil || !res.LoggedIn {
			t.Fatalf("*45: %+v %v %v", res, ok, err)
		}
		if ev := <-events; ev.Kind != "agent_changed" || ev.Action.(AgentChanged).Agent != "1001" {
			t.Fatalf("event %+v", ev)
		}
		res, _, _ = svc.Feature(ctx, "1001", "*46")
		if !res.Paused {
			t.Fatalf("*46: %+v", res)
		}
		svc.Feature(ctx, "1001", "*46")
		svc.Join(ctx, "support", "c1", Caller{})
		svc.Answered(ctx, "c1", "1001")
		res, ok, err = svc.Feature(ctx, "1003", "*311001")
		if !ok || err != nil || res.Feature != FeatureListen || res.Call != "c1" || res.Agent != "1001" {
			t.Fatalf("*311001: %+v %v %v", res, ok, err)
		}
		if call, err := svc.AgentCall(ctx, "1001"); err != nil || call != "c1" {
			t.Errorf("AgentCall(1001): %q %v", call, err)
		}
		if _, _, err := svc.Feature(ctx, "1003", "*331002"); err == nil {
			t.Error("barge on an agent without a call")
		}
		if _, ok, _ := svc.Feature(ctx, "1003", "4000"); ok {
			t.Error("4000 taken for a feature code")
		}
		unsubscribe()
		stop()
		if _, err := svc.Agents(ctx); err != ErrStopped {
			t.Errorf("a stopped service answered: %v", err)
		}
		unsubscribe() // twice, after the stop: harmless
	})
}

// metricValue reads one series from a registry: labels as "k=v,k=v"; a histogram gives its
// count.
func metricValue(t *testing.T, reg *prometheus.Registry, name, labels string) float64 {
	t.Helper()
	families, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() != name {
			continue
		}
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, l.GetName()+"="+l.GetValue())
			}
			if strings.Join(ls, ",") != labels {
				continue
			}
			switch {
			case m.Counter != nil:
				return m.Counter.GetValue()
			case m.Gauge != nil:
				return m.Gauge.GetValue()
			case m.Histogram != nil:
				return float64(m.Histogram.GetSampleCount())
			}
		}
	}
	t.Fatalf("no metric %s{%s}", name, labels)
	return 0
}

func TestServiceMetricsAndReload(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx := t.Context()
		reg := prometheus.NewRegistry()
		cfg := oneQueue(QueueConfig{JoinIf: Always, MaxWait: time.Minute, Overflow: "voicemail:1001"}, "1001")
		svc, stop := running(t, Options{Config: cfg, Registry: reg})
		defer stop()
		svc.Join(ctx, "support", "c1", Caller{})
		time.Sleep(30 * time.Second)
		// The longest wait is as of the scrape, though nothing happened since the join.
		if v := metricValue(t, reg, "callbox_queue_longest_wait_seconds", "queue=support"); v != 30 {
			t.Errorf("longest wait %v, want 30", v)
		}
		if v := metricValue(t, reg, "callbox_queue_waiting", "queue=support"); v != 1 {
			t.Errorf("waiting %v", v)
		}
		time.Sleep(30 * time.Second)
		synctest.Wait()
		if v := metricValue(t, reg, "callbox_queue_calls_total", "queue=support,result=overflow"); v != 1 {
			t.Errorf("overflows %v", v)
		}
		if v := metricValue(t, reg, "callbox_queue_longest_wait_seconds", "queue=support"); v != 0 {
			t.Errorf("longest wait %v with nobody waiting", v)
		}
		// A reload renames the queue: the old series go, and new feature codes apply.
		cfg.Queues[0].Name = "help"
		if err := svc.Reconfigure(ctx, cfg, FeatureCodes{Login: "*9"}); err != nil {
			t.Fatal(err)
		}
		if _, ok, _ := svc.Feature(ctx, "1001", "*9"); !ok {
			t.Error("the new login code is not taken")
		}
		families, _ := reg.Gather()
		for _, f := range families {
			for _, m := range f.GetMetric() {
				for _, l := range m.GetLabel() {
					if f.GetName() != "callbox_queue_calls_total" && f.GetName() != "callbox_queue_wait_seconds" &&
						l.GetName() == "queue" && l.GetValue() == "support" {
						t.Errorf("%s still has queue=support", f.GetName())
					}
				}
			}
		}
	})
}

// slowConnector holds each Execute until released, then answers with a context of its own.
type slowConnector struct {
	svc     *Service
	release chan struct{}
	err     chan error
}

func (c *slowConnector) Execute(_ context.Context, a Action) {
	if o, ok := a.(Offer); ok {
		<-c.release
		c.err <- c.svc.Answered(context.Background(), o.Call, o.Agent)
	}
}

// TestServiceStopsWhileTheConnectorCallsBack: a Connector busy when the daemon stops, and
// calling back afterwards, gets ErrStopped instead of hanging the shutdown.
func TestServiceStopsWhileTheConnectorCallsBack(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conn := &slowConnector{release: make(chan struct{}), err: make(chan error, 1)}
		svc, err := NewService(Options{Config: oneQueue(QueueConfig{}, "1001"), Connector: conn})
		if err != nil {
			t.Fatal(err)
		}
		conn.svc = svc
		ctx, cancel := context.WithCancel(t.Context())
		done := make(chan error, 1)
		go func() { done <- svc.Run(ctx) }()
		svc.Login(ctx, "1001", LoginOptions{})
		svc.Join(ctx, "support", "c1", Caller{})
		synctest.Wait() // the offer is in Execute, held
		cancel()
		synctest.Wait() // Run waits for the Connector
		close(conn.release)
		if err := <-conn.err; err != ErrStopped {
			t.Fatalf("a call back during shutdown: %v, want ErrStopped", err)
		}
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	})
}

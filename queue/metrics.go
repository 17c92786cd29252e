package queue

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callbox"
)

// metrics are the queues' Prometheus figures.
type metrics struct {
	waiting      *prometheus.GaugeVec
	callbacks    *prometheus.GaugeVec
	longest      *longestWait
	wait         *prometheus.HistogramVec
	calls        *prometheus.CounterVec
	serviceLevel *prometheus.GaugeVec
	agents       *prometheus.GaugeVec
	queueAgents  *prometheus.GaugeVec
	sticky       *prometheus.CounterVec
	alerts       *prometheus.CounterVec
	dropped      prometheus.Counter
	queues       map[string]bool // label values in use, to drop removed queues
}

func newMetrics(reg prometheus.Registerer, clock callbox.Clock) (*metrics, error) {
	m := &metrics{
		waiting: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "callbox_queue_waiting",
			Help: "Callers waiting on the line in a queue."}, []string{"queue"}),
		callbacks: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "callbox_queue_callbacks_waiting",
			Help: "Callback requests waiting for their turn in a queue."}, []string{"queue"}),
		longest: &longestWait{clock: clock, oldest: map[string]time.Time{}, desc: prometheus.NewDesc(
			"callbox_queue_longest_wait_seconds", "How long the longest-waiting caller of a queue has waited, at the scrape.",
			[]string{"queue"}, nil)},
		wait: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "callbox_queue_wait_seconds",
			Help:    "How long callers waited in a queue, by how their wait ended.",
			Buckets: []float64{5, 10, 20, 30, 45, 60, 90, 120, 180, 300, 600, 1200}}, []string{"queue", "result"}),
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_queue_calls_total",
			Help: "Callers who left a queue's waiting line: answered, abandoned, overflow or callback."}, []string{"queue", "result"}),
		serviceLevel: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "callbox_queue_service_level_ratio",
			Help: "Share of today's callers answered within the queue's service level threshold."}, []string{"queue"}),
		agents: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "callbox_agents",
			Help: "Agents by state."}, []string{"state"}),
		queueAgents: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "callbox_queue_agents",
			Help: "Members of a queue by state."}, []string{"queue", "state"}),
		sticky: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_queue_sticky_total",
			Help: "Answered calls that had a sticky agent: hit when that agent took it, miss otherwise."}, []string{"queue", "result"}),
		alerts: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_queue_alerts_total",
			Help: "Callers who waited past a queue's alert threshold."}, []string{"queue"}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{Name: "callbox_queue_events_dropped_total",
			Help: "Queue events not delivered to a subscriber that was too slow."}),
		queues: map[string]bool{},
	}
	for _, c := range []prometheus.Collector{m.waiting, m.callbacks, m.longest, m.wait, m.calls, m.serviceLevel, m.agents,
		m.queueAgents, m.sticky, m.alerts, m.dropped} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

// observe counts what an action says happened.
func (m *metrics) observe(a Action) {
	switch a := a.(type) {
	case Bridge:
		if a.Again || a.Callback {
			return
		}
		m.calls.WithLabelValues(a.Queue, string(ResultAnswered)).Inc()
		m.wait.WithLabelValues(a.Queue, string(ResultAnswered)).Observe(a.Waited.Seconds())
		if a.StickyAgent != "" {
			result := "miss"
			if a.StickyHit {
				result = "hit"
			}
			m.sticky.WithLabelValues(a.Queue, result).Inc()
		}
	case Finished:
		if a.Result == ResultAbandoned || a.Result == ResultOverflow {
			m.calls.WithLabelValues(a.Queue, string(a.Result)).Inc()
			m.wait.WithLabelValues(a.Queue, string(a.Result)).Observe(a.Waited.Seconds())
		}
	case CallbackAccepted:
		m.calls.WithLabelValues(a.Queue, string(ResultCallback)).Inc()
	case Alert:
		m.alerts.WithLabelValues(a.Queue).Inc()
	}
}

// refresh sets the gauges from the engine's summary.
func (m *metrics) refresh(queues []QueueSummary, agents map[State]int) {
	seen := make(map[string]bool, len(queues))
	oldest := make(map[string]time.Time, len(queues))
	now := m.longest.clock.Now()
	for _, q := range queues {
		seen[q.Name] = true
		m.waiting.WithLabelValues(q.Name).Set(float64(q.Waiting))
		m.callbacks.WithLabelValues(q.Name).Set(float64(q.Callbacks))
		oldest[q.Name] = time.Time{}
		if q.Waiting+q.Callbacks > 0 {
			oldest[q.Name] = now.Add(-q.LongestWait)
		}
		m.serviceLevel.WithLabelValues(q.Name).Set(q.ServiceLevel)
		for _, st := range States() {
			m.queueAgents.WithLabelValues(q.Name, string(st)).Set(float64(q.Agents[st]))
		}
	}
	for name := range m.queues {
		if !seen[name] {
			for _, v := range []*prometheus.GaugeVec{m.waiting, m.callbacks, m.serviceLevel} {
				v.DeleteLabelValues(name)
			}
			m.queueAgents.DeletePartialMatch(prometheus.Labels{"queue": name})
		}
	}
	m.queues = seen
	m.longest.set(oldest)
	for _, st := range States() {
		m.agents.WithLabelValues(string(st)).Set(float64(agents[st]))
	}
}

// longestWait reports each queue's longest wait as of the scrape, not of the last decision:
// a caller waits on while nothing happens.
type longestWait struct {
	clock  callbox.Clock
	desc   *prometheus.Desc
	mu     sync.Mutex
	oldest map[string]time.Time // by queue: when its longest-waiting caller entered; zero = nobody
}

func (l *longestWait) set(oldest map[string]time.Time) {
	l.mu.Lock()
	l.oldest = oldest
	l.mu.Unlock()
}

func (l *longestWait) Describe(ch chan<- *prometheus.Desc) { ch <- l.desc }

func (l *longestWait) Collect(ch chan<- prometheus.Metric) {
	now := l.clock.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	for q, t := range l.oldest {
		wait := 0.0
		if !t.IsZero() {
			wait = now.Sub(t).Seconds()
		}
		ch <- prometheus.MustNewConstMetric(l.desc, prometheus.GaugeValue, wait, q)
	}
}

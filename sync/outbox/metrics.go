package outbox

import (
	"context"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the outbox's Prometheus series.
type metrics struct {
	deliveries *prometheus.CounterVec   // by destination and result
	duration   *prometheus.HistogramVec // one attempt, by destination
	lag        *prometheus.HistogramVec // from the row's creation to done, by destination
	paused     *prometheus.GaugeVec
	deleted    prometheus.Counter
}

func newMetrics(reg prometheus.Registerer, st *Store, names func() []string, log *slog.Logger) (*metrics, error) {
	m := &metrics{
		deliveries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_sync_deliveries_total",
			Help: "Delivery attempts by destination and result: done, retry, reread, dead, paused, released."},
			[]string{"destination", "result"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "callbox_sync_delivery_duration_seconds",
			Help:    "How long one delivery attempt took, by destination.",
			Buckets: []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30}}, []string{"destination"}),
		lag: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "callbox_sync_delivery_lag_seconds",
			Help:    "From the row's creation (the hang-up) to its delivery, by destination.",
			Buckets: []float64{.05, .1, .2, .5, 1, 5, 30, 60, 300, 1800, 3600, 21600, 86400}}, []string{"destination"}),
		paused: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "callbox_sync_destination_paused",
			Help: "1 while a destination is paused because it refused our credentials."}, []string{"destination"}),
		deleted: prometheus.NewCounter(prometheus.CounterOpts{Name: "callbox_sync_recordings_deleted_total",
			Help: "Recordings removed from the box after every destination had them and the retention passed."}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.deliveries, m.duration, m.lag, m.paused, m.deleted, depthCollector{st, names, log}} {
		if err := reg.Register(c); err != nil {
			return nil, err
		}
	}
	return m, nil
}

var depthDesc = prometheus.NewDesc("callbox_sync_outbox_depth",
	"Outbox rows not yet delivered, by destination and state (pending, inflight, dead).",
	[]string{"destination", "state"}, nil)

// depthCollector reads the outbox depth from the database at each scrape, so it is right
// after a restart and never drifts from the truth.
type depthCollector struct {
	st    *Store
	names func() []string // the destinations configured now
	log   *slog.Logger
}

func (c depthCollector) Describe(ch chan<- *prometheus.Desc) { ch <- depthDesc }

func (c depthCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	names := c.names()
	depth, err := c.st.Depth(ctx, names)
	if err != nil {
		c.log.Warn("outbox depth for metrics", "err", err)
		return
	}
	for _, dest := range names {
		for _, state := range []string{"pending", "inflight", "dead"} {
			ch <- prometheus.MustNewConstMetric(depthDesc, prometheus.GaugeValue, float64(depth[[2]string{dest, state}]), dest, state)
		}
	}
}

package pbx

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"callbox/media"
)

type metrics struct {
	registrations prometheus.Gauge
	regRequests   *prometheus.CounterVec
	authFailures  prometheus.Counter
	bans          prometheus.Counter
	banned        prometheus.Gauge
	dropped       *prometheus.CounterVec
	trunkUp       *prometheus.GaugeVec
	trunkRegs     *prometheus.CounterVec
	rtp           *rtpCollector
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		registrations: prometheus.NewGauge(prometheus.GaugeOpts{Name: "callbox_sip_registrations", Help: "Phone registrations (contacts) in force."}),
		regRequests:   prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_sip_register_requests_total", Help: "REGISTER requests by result."}, []string{"result"}),
		authFailures:  prometheus.NewCounter(prometheus.CounterOpts{Name: "callbox_sip_auth_failures_total", Help: "Failed SIP digest authentications."}),
		bans:          prometheus.NewCounter(prometheus.CounterOpts{Name: "callbox_sip_bans_total", Help: "Addresses banned after repeated failed authentications."}),
		banned:        prometheus.NewGauge(prometheus.GaugeOpts{Name: "callbox_sip_banned_addresses", Help: "Addresses banned now."}),
		dropped:       prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_sip_requests_dropped_total", Help: "SIP requests refused before handling, by reason."}, []string{"reason"}),
		trunkUp:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "callbox_trunk_up", Help: "1 when a trunk is registered or answers OPTIONS, 0 otherwise."}, []string{"trunk"}),
		trunkRegs:     prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_trunk_registrations_total", Help: "Trunk registration attempts by result."}, []string{"trunk", "result"}),
		rtp:           newRTPCollector(),
	}
	if reg != nil {
		reg.MustRegister(m.registrations, m.regRequests, m.authFailures, m.bans, m.banned, m.dropped, m.trunkUp, m.trunkRegs, m.rtp)
	}
	return m
}

// rtpCollector reports RTP counters summed over the endpoints alive now and those already
// closed, so the totals are current without touching a shared counter per packet.
type rtpCollector struct {
	packets, bytes, lost *prometheus.Desc
	jitter               prometheus.Histogram

	mu     sync.Mutex
	live   map[*media.Stats]struct{}
	closed struct{ pktIn, pktOut, bytesIn, bytesOut, lost uint64 }
}

func newRTPCollector() *rtpCollector {
	return &rtpCollector{
		packets: prometheus.NewDesc("callbox_rtp_packets_total", "RTP packets by direction (in: from parties, out: to parties).", []string{"direction"}, nil),
		bytes:   prometheus.NewDesc("callbox_rtp_bytes_total", "RTP bytes by direction.", []string{"direction"}, nil),
		lost:    prometheus.NewDesc("callbox_rtp_lost_packets_total", "RTP packets parties sent that never arrived.", nil, nil),
		jitter: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callbox_rtp_jitter_seconds", Help: "Interarrival jitter of each leg at its end.",
			Buckets: []float64{0.001, 0.002, 0.005, 0.01, 0.02, 0.04, 0.08, 0.16}}),
		live: map[*media.Stats]struct{}{},
	}
}

func (c *rtpCollector) add(s *media.Stats) {
	c.mu.Lock()
	c.live[s] = struct{}{}
	c.mu.Unlock()
}

// done moves a closed endpoint's counts into the totals.
func (c *rtpCollector) done(s *media.Stats) {
	c.jitter.Observe(s.Jitter().Seconds())
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.live[s]; !ok {
		return
	}
	delete(c.live, s)
	c.closed.pktIn += s.PacketsIn.Load()
	c.closed.pktOut += s.PacketsOut.Load()
	c.closed.bytesIn += s.BytesIn.Load()
	c.closed.bytesOut += s.BytesOut.Load()
	c.closed.lost += s.Lost()
}

func (c *rtpCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.packets
	ch <- c.bytes
	ch <- c.lost
	c.jitter.Describe(ch)
}

func (c *rtpCollector) Collect(ch chan<- prometheus.Metric) {
	c.mu.Lock()
	t := c.closed
	for s := range c.live {
		t.pktIn += s.PacketsIn.Load()
		t.pktOut += s.PacketsOut.Load()
		t.bytesIn += s.BytesIn.Load()
		t.bytesOut += s.BytesOut.Load()
		t.lost += s.Lost()
	}
	c.mu.Unlock()
	ch <- prometheus.MustNewConstMetric(c.packets, prometheus.CounterValue, float64(t.pktIn), "in")
	ch <- prometheus.MustNewConstMetric(c.packets, prometheus.CounterValue, float64(t.pktOut), "out")
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(t.bytesIn), "in")
	ch <- prometheus.MustNewConstMetric(c.bytes, prometheus.CounterValue, float64(t.bytesOut), "out")
	ch <- prometheus.MustNewConstMetric(c.lost, prometheus.CounterValue, float64(t.lost))
	c.jitter.Collect(ch)
}

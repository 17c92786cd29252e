package record

import "github.com/prometheus/client_golang/prometheus"

// Metrics counts what every recorder does; one set serves all the recorders of the box.
type Metrics struct {
	active   prometheus.Gauge
	dropped  prometheus.Counter
	late     prometheus.Counter
	failures prometheus.Counter
	seconds  prometheus.Counter
}

// NewMetrics registers the recording metrics with reg (nil: not registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		active: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "callbox_recordings_active",
			Help: "Call recordings being written.",
		}),
		dropped: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "callbox_recording_dropped_frames_total",
			Help: "Audio frames left out of recordings because the disk did not keep up or the recording had failed.",
		}),
		late: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "callbox_recording_late_frames_total",
			Help: "Audio frames that arrived after their place in the recording was written.",
		}),
		failures: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "callbox_recording_failures_total",
			Help: "Recordings stopped early by a write error (a full disk, say).",
		}),
		seconds: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "callbox_recording_seconds_total",
			Help: "Seconds of audio written to finished recordings.",
		}),
	}
	if reg != nil {
		reg.MustRegister(m.active, m.dropped, m.late, m.failures, m.seconds)
	}
	return m
}

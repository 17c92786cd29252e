package ivr

import "github.com/prometheus/client_golang/prometheus"

type metrics struct {
	nodes        *prometheus.CounterVec
	keys         *prometheus.CounterVec
	retries      *prometheus.CounterVec
	blacklisted  prometheus.Counter
	voicemails   *prometheus.CounterVec
	surveys      *prometheus.CounterVec
	scores       *prometheus.CounterVec
	promptErrors prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		nodes: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_ivr_nodes_total",
			Help: "IVR nodes callers went through, by kind."}, []string{"kind"}),
		keys: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_ivr_keys_total",
			Help: "Keys callers pressed in the IVR, by how they came (event: RFC 4733 or SIP INFO; in-band: tones in the audio)."}, []string{"source"}),
		retries: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_ivr_retries_total",
			Help: "Menus and entries offered again, by reason (timeout, invalid)."}, []string{"reason"}),
		blacklisted: prometheus.NewCounter(prometheus.CounterOpts{Name: "callbox_ivr_blacklisted_total",
			Help: "Calls from blacklisted numbers."}),
		voicemails: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_voicemails_total",
			Help: "Voicemail messages by how they ended (key, silence, max-length, hangup), or empty or failed."}, []string{"end"}),
		surveys: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_surveys_total",
			Help: "Survey questions asked, by result (scored, unanswered, left)."}, []string{"result"}),
		scores: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_survey_scores_total",
			Help: "Survey scores given, by score (1-5)."}, []string{"score"}),
		promptErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "callbox_ivr_prompt_errors_total",
			Help: "Prompts that could not be played (a recording missing, espeak-ng failing)."}),
	}
	for _, s := range []string{"event", "in-band"} {
		m.keys.WithLabelValues(s)
	}
	for _, r := range []string{"timeout", "invalid"} {
		m.retries.WithLabelValues(r)
	}
	if reg != nil {
		reg.MustRegister(m.nodes, m.keys, m.retries, m.blacklisted, m.voicemails, m.surveys, m.scores, m.promptErrors)
	}
	return m
}

// Package switchboard runs the calls through the box: it takes each new Leg, routes it by the
// configuration (numbers, extensions, groups, routes), rings the destination, bridges the
// media with a recording tap, follows hold and transfer, and writes the call's record with
// its timeline when the call ends. It sees Legs only, so SIP, analog and simulated lines
// walk the same code.
package switchboard

import (
	"context"
	"crypto/rand"
	"encoding/hex"

	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callbox"
	"callbox/config"
	"callbox/media/session"
)

// Target is somewhere the switchboard asks a Dialer to call.
type Target struct {
	Kind    string // "extension" or "number"
	Number  string
	From    callbox.Party // the caller ID to present
	Codec   callbox.Codec // the codec of the other leg, offered first
	Timeout time.Duration // ring timeout
	CallID  string        // for logs
}

// Dialer starts outbound legs. Dial returns as soon as the attempt is under way; the leg's
// events tell the rest.
type Dialer interface {
	Dial(ctx context.Context, t Target) (callbox.Leg, error)
	// CanDialOut tells whether a number would leave the box through a route.
	CanDialOut(number string) bool
}

// Store keeps finished calls; it writes what goes upstream about the call in the same
// transaction.
type Store interface {
	FinishCall(ctx context.Context, rec *callbox.Record) error
}

// Recorder records a bridged call.
type Recorder interface {
	// Start begins recording the call; the tap receives the bridged frames.
	Start(ctx context.Context, callID string, started time.Time) (Recording, error)
}

// Recording is one call's recording in progress.
type Recording interface {
	// Write takes a frame; caller is true for the caller's side (left channel).
	Write(caller bool, f *callbox.Frame)
	// Finish closes the file and says what was written (nil when nothing was).
	Finish() (*callbox.Recording, error)
}

// Options are what a Switchboard is built from.
type Options struct {
	Config   *config.Config
	Log      *slog.Logger
	Dialer   Dialer
	Store    Store
	Recorder Recorder // nil: no recording
	IVR      IVR      // nil: flow and voicemail destinations are refused
	// Media paces the sessions the switchboard plays to itself (a mobile agent's "press 1",
	// a supervised call's mix); nil: the IVR's clock.
	Media *session.Clock
	// DataDir is the data folder, where a relative music_on_hold.dir lies.
	DataDir string
	// Callers tells the queues about a caller from the helpdesk; nil: nothing is asked.
	Callers  CallerInfo
	Registry prometheus.Registerer
	Now      func() time.Time
}

// Switchboard owns the calls in progress.
type Switchboard struct {
	log      *slog.Logger
	now      func() time.Time
	cfg      atomic.Pointer[config.Config]
	dialer   Dialer
	store    Store
	recorder Recorder
	ivr      IVR
	media    *session.Clock
	dataDir  string
	callers  CallerInfo
	queues   Queues // nil: queue destinations are refused
	metrics  *metrics

	ctx      context.Context // ends when calls must end (shutdown after the grace period)
	cancel   context.CancelFunc
	mu       sync.Mutex
	calls    map[string]*call
	queued   map[string]*call // by the queues' id of the call, while the queues know it
	draining bool
	wg       sync.WaitGroup
	idle     chan struct{} // closed when draining and the last call ended
}

// New makes a switchboard.
func New(o Options) *Switchboard {
	if o.Now == nil {
		o.Now = time.Now
	}
	ctx, cancel := context.WithCancel(context.Background())
	if o.Media == nil && o.IVR != nil {
		o.Media = o.IVR.MediaClock()
	}
	sb := &Switchboard{log: o.Log, now: o.Now, dialer: o.Dialer, store: o.Store, recorder: o.Recorder, ivr: o.IVR,
		media: o.Media, dataDir: o.DataDir, callers: o.Callers, metrics: newMetrics(o.Registry), ctx: ctx, cancel: cancel,
		calls: map[string]*call{}, queued: map[string]*call{}, idle: make(chan struct{})}
	sb.cfg.Store(o.Config)
	return sb
}

// Reload applies a new configuration to calls that start from now on.
func (sb *Switchboard) Reload(cfg *config.Config) { sb.cfg.Store(cfg) }

// SetDialer sets how the switchboard places calls (the PBX is made after the switchboard,
// since each needs the other).
func (sb *Switchboard) SetDialer(d Dialer) { sb.dialer = d }

// SetRecorder sets where bridged calls are recorded (nil: nowhere).
func (sb *Switchboard) SetRecorder(r Recorder) { sb.recorder = r }

// newCallID makes an id that sorts by time: milliseconds then randomness.
func (sb *Switchboard) newCallID() string {
	var r [4]byte
	rand.Read(r[:])
	return strconv.FormatInt(sb.now().UnixMilli(), 36) + "-" + hex.EncodeToString(r[:])
}

// Active counts the calls in progress by direction.
func (sb *Switchboard) Active() map[callbox.Direction]int {
	sb.mu.Lock()
	defer sb.mu.Unlock()
	out := map[callbox.Direction]int{}
	for _, c := range sb.calls {
		out[c.rec.Direction]++
	}
	return out
}

// Offer is a new call from a line: the leg and what signalling knows of it.
type Offer struct {
	Leg       callbox.Leg
	From      callbox.Party
	To        string // number dialled
	Trunk     string // trunk it came from, "" from a phone
	Extension string // authenticated extension that placed it, "" from a trunk
	LineID    string // the line's own id for the call (SIP Call-ID), for logs
}

// SetQueues connects the switchboard to the queues (made after it: they need its
// QueueConnector).
func (sb *Switchboard) SetQueues(q Queues) { sb.queues = q }

// Take starts a call for an offered leg; it returns at once. While draining, the leg is
// refused.
func (sb *Switchboard) Take(o Offer) {
	sb.mu.Lock()
	if sb.draining {
		sb.mu.Unlock()
		sb.wg.Go(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			o.Leg.Hangup(ctx, callbox.CauseShutdown)
			for range o.Leg.Events() {
			}
		})
		return
	}
	c := sb.newCall(o)
	sb.startLocked(c, c.run)
	sb.mu.Unlock()
}

// startLocked runs a call's goroutine (sb.mu held): the switchboard counts it and Drain
// waits for it.
func (sb *Switchboard) startLocked(c *call, run func()) {
	sb.calls[c.rec.ID] = c
	sb.metrics.active.WithLabelValues(string(c.rec.Direction)).Inc()
	sb.wg.Go(func() {
		run()
		sb.mu.Lock()
		delete(sb.calls, c.rec.ID)
		if sb.draining && len(sb.calls) == 0 {
			select {
			case <-sb.idle:
			default:
				close(sb.idle)
			}
		}
		sb.mu.Unlock()
		sb.metrics.active.WithLabelValues(string(c.rec.Direction)).Dec()
	})
}

// Drain stops taking calls, lets those in progress go on until they end or grace has passed,
// then ends the rest; it returns once every call's record is written.
func (sb *Switchboard) Drain(ctx context.Context, grace time.Duration) {
	sb.mu.Lock()
	sb.draining = true
	n := len(sb.calls)
	if n == 0 {
		select {
		case <-sb.idle:
		default:
			close(sb.idle)
		}
	}
	sb.mu.Unlock()
	if n > 0 {
		sb.log.Info("waiting for calls in progress to end", "calls", n, "grace", grace.String())
	}
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-sb.idle:
	case <-timer.C:
		sb.mu.Lock()
		n = len(sb.calls)
		sb.mu.Unlock()
		sb.log.Warn("grace period over; ending the calls still in progress", "calls", n)
	case <-ctx.Done():
	}
	sb.cancel()
	sb.wg.Wait()
}

func (sb *Switchboard) config() *config.Config { return sb.cfg.Load() }

type metrics struct {
	active   *prometheus.GaugeVec
	total    *prometheus.CounterVec
	talk     prometheus.Histogram
	recFails prometheus.Counter
	storeErr prometheus.Counter
	superv   *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		active: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "callbox_calls_active", Help: "Calls in progress by direction."}, []string{"direction"}),
		total:  prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_calls_total", Help: "Finished calls by direction and result."}, []string{"direction", "result"}),
		talk: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "callbox_call_talk_seconds", Help: "Talk time of answered calls.",
			Buckets: []float64{10, 30, 60, 120, 300, 600, 1200, 3600}}),
		recFails: prometheus.NewCounter(prometheus.CounterOpts{Name: "callbox_recording_start_errors_total", Help: "Recordings that could not be started (the call went on unrecorded)."}),
		storeErr: prometheus.NewCounter(prometheus.CounterOpts{Name: "callbox_call_records_failed_total", Help: "Call records that could not be written to the database."}),
		superv: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "callbox_supervisions_total",
			Help: "Supervisors who joined a queue call, by mode: listen, whisper, barge."}, []string{"mode"}),
	}
	for _, mode := range []string{"listen", "whisper", "barge"} {
		m.superv.WithLabelValues(mode)
	}
	for _, d := range []callbox.Direction{callbox.Inbound, callbox.Outbound, callbox.Internal} {
		m.active.WithLabelValues(string(d))
	}
	if reg != nil {
		reg.MustRegister(m.active, m.total, m.talk, m.recFails, m.storeErr, m.superv)
	}
	return m
}

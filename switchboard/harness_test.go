package switchboard

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"testing"
	"time"

	"callbox"
	"callbox/config"
	"callbox/hw/sim"
	"callbox/ivr"
	"callbox/media/prompt"
	"callbox/media/session"
	"callbox/queue"
)

// Fakes for the switchboard's tests: simulated legs (hw/sim), a dialer that hands the test each leg it dials, the queues as a recorder of what the call
// path told them, and a store of records. Tests run in synctest bubbles: the media clock,
// ring timers and the calls' goroutines all run on the bubble's clock.

// newLeg is a party on the far end of a leg, speaking as stream 7.
func newLeg(id string, kind callbox.LegKind, number string) *sim.Leg {
	return sim.NewLeg(sim.Options{ID: id, Kind: kind, Remote: callbox.Party{Number: number}, Source: 7})
}

// tone is a tone of freq for d.
func tone(freq float64, d time.Duration) []int16 {
	pcm := make([]int16, int(d.Seconds()*8000))
	for i := range pcm {
		pcm[i] = int16(6000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
	}
	return pcm
}

// fakeDialer hands every leg it dials to the test.
type fakeDialer struct {
	mu     sync.Mutex
	n      int
	legs   []*sim.Leg
	target []Target
	fail   map[string]error // by number
}

func (d *fakeDialer) Dial(ctx context.Context, t Target) (callbox.Leg, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.fail[t.Number]; err != nil {
		return nil, err
	}
	d.n++
	kind := callbox.LegPhone
	if t.Kind == "number" {
		kind = callbox.LegTrunk
	}
	l := newLeg(fmt.Sprintf("out%d", d.n), kind, t.Number)
	d.legs = append(d.legs, l)
	d.target = append(d.target, t)
	return l, nil
}

func (d *fakeDialer) CanDialOut(number string) bool { return true }

func (d *fakeDialer) dialled() ([]*sim.Leg, []Target) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]*sim.Leg(nil), d.legs...), append([]Target(nil), d.target...)
}

// fakeQueues records what the call path tells the queues; the test plays the engine by
// executing actions on the connector.
type fakeQueues struct {
	mu    sync.Mutex
	calls []string // "join support call-id", "answered call-id 1001", ...
	ids   []string // call ids that joined
}

func (q *fakeQueues) note(format string, args ...any) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.calls = append(q.calls, fmt.Sprintf(format, args...))
	return nil
}

func (q *fakeQueues) told() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.calls...)
}

func (q *fakeQueues) joined() []string {
	q.mu.Lock()
	defer q.mu.Unlock()
	return append([]string(nil), q.ids...)
}

func (q *fakeQueues) Join(ctx context.Context, name, callID string, c queue.Caller) error {
	q.mu.Lock()
	q.ids = append(q.ids, callID)
	q.mu.Unlock()
	return q.note("join %s %s priority %d", name, c.Number, c.Priority)
}
func (q *fakeQueues) Hangup(ctx context.Context, callID string) error { return q.note("hangup") }
func (q *fakeQueues) Answered(ctx context.Context, callID, agent string) error {
	return q.note("answered %s", agent)
}
func (q *fakeQueues) NotAnswered(ctx context.Context, callID, agent, reason string) error {
	return q.note("not-answered %s %s", agent, reason)
}
func (q *fakeQueues) RequestCallback(ctx context.Context, callID, number string) error {
	return q.note("callback")
}
func (q *fakeQueues) CallbackReached(ctx context.Context, callID string, reached bool) error {
	return q.note("reached %v", reached)
}
func (q *fakeQueues) TakeBack(ctx context.Context, callID string) error { return q.note("takeback") }
func (q *fakeQueues) DirectCall(ctx context.Context, agent string, active bool) error {
	return callbox.Errorf(callbox.ENOTFOUND, "no agent %s", agent)
}
func (q *fakeQueues) Feature(ctx context.Context, ext, dialled string) (queue.FeatureResult, bool, error) {
	return queue.FeatureResult{}, false, nil
}
func (q *fakeQueues) AgentCall(ctx context.Context, agent string) (string, error) {
	return "", callbox.Errorf(callbox.ENOTFOUND, "no call")
}

// memRecords keeps finished calls.
type memRecords struct {
	mu   sync.Mutex
	recs []callbox.Record
}

func (s *memRecords) FinishCall(ctx context.Context, rec *callbox.Record) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.recs = append(s.recs, *rec)
	return nil
}

func (s *memRecords) all() []callbox.Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]callbox.Record(nil), s.recs...)
}

// toneIVR is the IVR with a voice that says every prompt as a 600 ms tone of 440 Hz, so
// tests need no espeak-ng.
type toneIVR struct{ *ivr.Service }

func (toneIVR) Speaker(lang string) ivr.Speaker {
	return func(ctx context.Context, p *config.Prompt) (*prompt.Clip, error) {
		return prompt.NewClip("tone", tone(440, 600*time.Millisecond)), nil
	}
}

// ivrStore is an IVR store with nothing on the lists.
type ivrStore struct{}

func (ivrStore) NumberEntries(ctx context.Context, number string) ([]ivr.ListEntry, error) {
	return nil, nil
}
func (ivrStore) ListEntries(ctx context.Context, list string) ([]ivr.ListEntry, error) {
	return nil, nil
}
func (ivrStore) AddListEntry(ctx context.Context, e ivr.ListEntry) error { return nil }
func (ivrStore) RemoveListEntry(ctx context.Context, list, number string) (ivr.ListEntry, error) {
	return ivr.ListEntry{}, nil
}
func (ivrStore) ListHit(ctx context.Context, list, number string, at time.Time) error { return nil }
func (ivrStore) SeedLists(ctx context.Context, entries []ivr.ListEntry) error         { return nil }
func (ivrStore) HoursOverrides(ctx context.Context) (map[string]string, error)        { return nil, nil }
func (ivrStore) SetHoursOverride(ctx context.Context, hours, mode string, at time.Time) error {
	return nil
}

const testConfig = `box: {country: US}
sip: {listen: ["udp://127.0.0.1:5060"]}
extensions:
  - {number: "1001", password: secret-1001}
  - {number: "1002", password: secret-1002}
trunks:
  - {name: t, kind: ip, sources: [127.0.0.1]}
inbound:
  - {number: "4100", destination: queue:support}
queues:
  - {name: support, members: ["1001", "1002"]}
`

// switchboardHarness is a switchboard on fakes, with the IVR's media clock running. Make
// it inside a synctest bubble.
type switchboardHarness struct {
	t       *testing.T
	sb      *Switchboard
	dialer  *fakeDialer
	queues  *fakeQueues
	records *memRecords
	cancel  context.CancelFunc
	done    chan struct{}
}

func newSwitchboardHarness(t *testing.T) *switchboardHarness {
	t.Helper()
	cfg, err := config.Parse("test.yaml", []byte(testConfig))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	svc, err := ivr.New(ivr.Options{Config: cfg, DataDir: t.TempDir(), Store: ivrStore{}, Log: log,
		Media: session.NewClock(session.ClockOptions{Shards: 1})})
	if err != nil {
		t.Fatal(err)
	}
	h := &switchboardHarness{t: t, dialer: &fakeDialer{}, queues: &fakeQueues{}, records: &memRecords{}, done: make(chan struct{})}
	h.sb = New(Options{Config: cfg, Log: log, Dialer: h.dialer, Store: h.records, IVR: toneIVR{svc}})
	h.sb.SetQueues(h.queues)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() { svc.Run(ctx); close(h.done) }()
	return h
}

// stop drains the switchboard and stops the media clock.
func (h *switchboardHarness) stop() {
	h.sb.Drain(context.Background(), time.Second)
	h.cancel()
	<-h.done
}

// execute plays the queues: one action for the call path.
func (h *switchboardHarness) execute(a queue.Action) {
	h.sb.QueueConnector().Execute(context.Background(), a)
}

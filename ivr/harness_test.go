package ivr

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"callbox"
	"callbox/config"
	"callbox/hw/sim"
	"callbox/media/dsp"
	"callbox/media/session"
	"callbox/media/wav"
)

// The prompts of the tests are recordings of a tone each, so what the caller heard can be
// told apart by frequency.
var promptTones = map[string]float64{"welcome": 400, "menu": 500, "invalid": 600, "noinput": 700, "order": 800,
	"bye": 900, "closed": 1100, "greeting": 1200, "question": 1300, "thanks": 1400, "langmenu": 1500, "menu-zh": 1600}

func writePrompts(t *testing.T, dir string) {
	t.Helper()
	for name, freq := range promptTones {
		lang := "en"
		if strings.HasSuffix(name, "-zh") {
			lang, name = "zh", strings.TrimSuffix(name, "-zh")
		}
		os.MkdirAll(filepath.Join(dir, lang), 0o755)
		w, err := wav.Create(filepath.Join(dir, lang, name+".wav"), wav.Header{Format: wav.PCM, Channels: 1, SampleRate: 8000, BitsPerSample: 16})
		if err != nil {
			t.Fatal(err)
		}
		pcm := make([]int16, 8000*6/10) // 600 ms
		for i := range pcm {
			pcm[i] = int16(6000 * math.Sin(2*math.Pi*freq*float64(i)/8000))
		}
		w.WriteSamples(pcm)
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// fakeClock is the IVR's clock, set by the test.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// memStore keeps lists and overrides in memory.
type memStore struct {
	mu        sync.Mutex
	entries   map[string]ListEntry // list/number
	overrides map[string]string
}

func newMemStore() *memStore {
	return &memStore{entries: map[string]ListEntry{}, overrides: map[string]string{}}
}

func (m *memStore) NumberEntries(ctx context.Context, number string) ([]ListEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ListEntry
	for _, e := range m.entries {
		if e.Number == number {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].List < out[j].List })
	return out, nil
}

func (m *memStore) ListEntries(ctx context.Context, list string) ([]ListEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []ListEntry
	for _, e := range m.entries {
		if e.List == list {
			out = append(out, e)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Number < out[j].Number })
	return out, nil
}

func (m *memStore) AddListEntry(ctx context.Context, e ListEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.entries[e.List+"/"+e.Number] = e
	return nil
}

func (m *memStore) RemoveListEntry(ctx context.Context, list, number string) (ListEntry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e, ok := m.entries[list+"/"+number]
	if !ok {
		return e, callbox.Errorf(callbox.ENOTFOUND, "not there")
	}
	delete(m.entries, list+"/"+number)
	return e, nil
}

func (m *memStore) ListHit(ctx context.Context, list, number string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	e := m.entries[list+"/"+number]
	e.Hits++
	e.LastHit = at
	m.entries[list+"/"+number] = e
	return nil
}

func (m *memStore) SeedLists(ctx context.Context, entries []ListEntry) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, e := range m.entries {
		if e.Source == "config" {
			delete(m.entries, k)
		}
	}
	for _, e := range entries {
		m.entries[e.List+"/"+e.Number] = e
	}
	return nil
}

func (m *memStore) HoursOverrides(ctx context.Context) (map[string]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := map[string]string{}
	for k, v := range m.overrides {
		out[k] = v
	}
	return out, nil
}

func (m *memStore) SetHoursOverride(ctx context.Context, hours, mode string, at time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if mode == "" {
		delete(m.overrides, hours)
	} else {
		m.overrides[hours] = mode
	}
	return nil
}

// newCaller is a caller on a trunk: the box's leg keeps what it plays, and the test presses
// keys.
func newCaller(number string) *sim.Leg {
	return sim.NewLeg(sim.Options{ID: "leg-" + number, Kind: callbox.LegTrunk, Remote: callbox.Party{Number: number},
		Local: callbox.Party{Number: "4000"}, Trunk: "test", Source: 42})
}

// tones sends digits as in-band DTMF audio at the real pace (it takes 200 ms a digit).
func tones(l *sim.Leg, keys string) {
	pcm := dsp.AppendSilence(nil, 40*time.Millisecond)
	for _, k := range keys {
		pcm, _ = dsp.AppendDTMF(pcm, k, -9, -7, 100*time.Millisecond)
		pcm = dsp.AppendSilence(pcm, 100*time.Millisecond)
	}
	l.Speaks(pcm)
}

// prompts lists the test prompts the caller heard, in order, by their tones (one name per
// 600 ms prompt, told by 100 ms windows).
func prompts(l *sim.Leg) []string {
	pcm := l.Heard()
	var out []string
	last, run := "", 0
	for i := 0; i+800 <= len(pcm); i += 800 {
		name := ""
		for n, f := range promptTones {
			if sim.ToneShare(pcm[i:i+800], f) > 0.6 {
				name = strings.TrimSuffix(n, "-zh")
				if strings.HasSuffix(n, "-zh") {
					name = n
				}
			}
		}
		if name == last {
			run++
		} else {
			last, run = name, 1
		}
		if name != "" && run == 3 { // 300 ms of the same tone: a prompt
			out = append(out, name)
		}
	}
	return out
}

// fakeCall is the switchboard's side.
type fakeCall struct {
	rec      callbox.Record
	leg      *sim.Leg
	survey   bool
	connects []string
	connect  func(d config.Destination) (Ending, Reach)
}

func (c *fakeCall) Record() *callbox.Record { return &c.rec }
func (c *fakeCall) Leg() callbox.Leg        { return c.leg }
func (c *fakeCall) Log() *slog.Logger       { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
func (c *fakeCall) WantSurvey()             { c.survey = true }
func (c *fakeCall) Event(kind string, detail ...string) {
	e := callbox.Event{At: time.Now(), Kind: kind, Detail: map[string]string{}}
	for i := 0; i+1 < len(detail); i += 2 {
		e.Detail[detail[i]] = detail[i+1]
	}
	c.rec.Events = append(c.rec.Events, e)
}
func (c *fakeCall) Connect(ctx context.Context, d config.Destination, ringTimeout time.Duration) (Ending, Reach) {
	c.connects = append(c.connects, d.String())
	if c.connect != nil {
		return c.connect(d)
	}
	return Ending{Result: "answered", Cause: callbox.CauseNormal, Side: callbox.SideCaller}, Answered
}

// path is the nodes the call visited.
func (c *fakeCall) path() string {
	var p []string
	for _, e := range c.rec.Events {
		switch e.Kind {
		case "ivr.node":
			p = append(p, e.Detail["node"])
		case "ivr.key":
			p = append(p, "["+e.Detail["key"]+"]")
		case "ivr.timeout":
			p = append(p, "(timeout)")
		}
	}
	return strings.Join(p, " ")
}

func (c *fakeCall) event(kind string) (map[string]string, bool) {
	for _, e := range c.rec.Events {
		if e.Kind == kind {
			return e.Detail, true
		}
	}
	return nil, false
}

// harness runs a Service on a configuration in a synctest bubble.
type harness struct {
	t     *testing.T
	svc   *Service
	store *memStore
	clock *fakeClock
	dir   string
}

const harnessBase = `box: {country: US}
sip: {listen: ["udp://127.0.0.1:5060"]}
recording: {format: pcm16}
extensions:
  - {number: "1001", password: secret-1001}
groups:
  - {name: support, extensions: ["1001"]}
  - {name: sales, extensions: ["1001"]}
`

func newHarness(t *testing.T, ivrYAML string) *harness {
	t.Helper()
	dir := t.TempDir()
	writePrompts(t, filepath.Join(dir, "prompts"))
	cfg, err := config.Parse("test.yaml", []byte(harnessBase+ivrYAML))
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, store: newMemStore(), clock: &fakeClock{t: time.Date(2026, 3, 4, 10, 0, 0, 0, time.UTC)}, dir: dir}
	h.svc, err = New(Options{Config: cfg, DataDir: dir, Store: h.store, Clock: h.clock, Media: session.NewClock(session.ClockOptions{Shards: 1}),
		Log: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	if err := h.svc.Seed(context.Background()); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.svc.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	return h
}

// call starts a conversation from number and runs the flow on its own goroutine; the
// result comes on the channel.
func (h *harness) call(number, flow string, connect func(config.Destination) (Ending, Reach)) (*fakeCall, <-chan Ending) {
	leg := newCaller(number)
	c := &fakeCall{rec: callbox.Record{ID: fmt.Sprintf("call-%s", number)}, leg: leg, connect: connect}
	out := make(chan Ending, 1)
	go func() {
		cv := h.svc.Converse(c)
		defer cv.Close()
		out <- cv.Run(context.Background(), flow)
	}()
	return c, out
}

func sin(freq float64, i int) float64 { return math.Sin(2 * math.Pi * freq * float64(i) / 8000) }

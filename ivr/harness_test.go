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
	"callbox/media/dsp"
	"callbox/media/g711"
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

// fakeLeg is a caller: its media keeps what the box plays, and the test presses keys.
type fakeLeg struct {
	number string
	media  *fakeMedia
	events chan callbox.LegEvent
	done   chan struct{}
	mu     sync.Mutex
	answer bool
	cause  callbox.Cause
	ended  bool
}

func newFakeLeg(number string) *fakeLeg {
	return &fakeLeg{number: number, media: &fakeMedia{}, events: make(chan callbox.LegEvent, 64), done: make(chan struct{})}
}

func (l *fakeLeg) ID() string                                 { return "leg-" + l.number }
func (l *fakeLeg) Kind() callbox.LegKind                      { return callbox.LegTrunk }
func (l *fakeLeg) Remote() callbox.Party                      { return callbox.Party{Number: l.number} }
func (l *fakeLeg) Local() callbox.Party                       { return callbox.Party{Number: "4000"} }
func (l *fakeLeg) Trunk() string                              { return "test" }
func (l *fakeLeg) Ring(ctx context.Context, early bool) error { return nil }
func (l *fakeLeg) Hold(ctx context.Context, on bool) error    { return nil }
func (l *fakeLeg) Events() <-chan callbox.LegEvent            { return l.events }
func (l *fakeLeg) Done() <-chan struct{}                      { return l.done }
func (l *fakeLeg) Media() callbox.Media                       { return l.media }

func (l *fakeLeg) Answer(ctx context.Context) error {
	l.mu.Lock()
	l.answer = true
	l.mu.Unlock()
	return nil
}

func (l *fakeLeg) Hangup(ctx context.Context, cause callbox.Cause) error {
	l.end(cause, false)
	return nil
}

func (l *fakeLeg) end(cause callbox.Cause, byRemote bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.ended {
		return
	}
	l.ended, l.cause = true, cause
	l.events <- callbox.LegEvent{Kind: callbox.LegHangup, Cause: cause, ByRemote: byRemote}
	close(l.events)
	close(l.done)
}

// press sends a digit as an RFC 4733 event (as the leg reports it) and its first packet to
// the media, as a SIP leg does.
func (l *fakeLeg) press(d rune) {
	l.media.deliver(&callbox.Frame{Kind: callbox.FrameEvent, Payload: []byte{0, 10, 0, 0}})
	l.events <- callbox.LegEvent{Kind: callbox.LegDTMF, Digit: d}
}

// tones sends digits as in-band DTMF audio at the real pace (it takes 200 ms a digit).
func (l *fakeLeg) tones(t *testing.T, keys string) {
	pcm := dsp.AppendSilence(nil, 40*time.Millisecond)
	for _, k := range keys {
		pcm, _ = dsp.AppendDTMF(pcm, k, -9, -7, 100*time.Millisecond)
		pcm = dsp.AppendSilence(pcm, 100*time.Millisecond)
	}
	l.talk(pcm)
}

// talk sends audio at the real pace.
func (l *fakeLeg) talk(pcm []int16) {
	for i := 0; i+160 <= len(pcm); i += 160 {
		payload := make([]byte, 160)
		g711.EncodeUlaw(payload, pcm[i:i+160])
		l.media.deliver(&callbox.Frame{Codec: callbox.PCMU, Payload: payload, Seq: l.media.seq, Timestamp: uint32(l.media.seq) * 160, Source: 42})
		l.media.seq++
		time.Sleep(session.FrameDuration)
	}
}

func (l *fakeLeg) hangUp() { l.end(callbox.CauseNormal, true) }

func (l *fakeLeg) answered() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.answer
}

func (l *fakeLeg) endCause() callbox.Cause {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cause
}

type fakeMedia struct {
	mu    sync.Mutex
	sink  callbox.FrameSink
	heard []int16 // what the box played, decoded
	seq   uint16
}

func (m *fakeMedia) Codec() callbox.Codec { return callbox.PCMU }
func (m *fakeMedia) SetSink(s callbox.FrameSink) {
	m.mu.Lock()
	m.sink = s
	m.mu.Unlock()
}
func (m *fakeMedia) WriteFrame(f *callbox.Frame) error {
	pcm := make([]int16, len(f.Payload))
	g711.DecodeUlaw(pcm, f.Payload)
	m.mu.Lock()
	m.heard = append(m.heard, pcm...)
	m.mu.Unlock()
	return nil
}
func (m *fakeMedia) deliver(f *callbox.Frame) {
	m.mu.Lock()
	s := m.sink
	m.mu.Unlock()
	if s != nil {
		s.OnFrame(f)
	}
}

// prompts lists the test prompts the caller heard, in order, by their tones (one name per
// 600 ms prompt, told by 100 ms windows).
func (m *fakeMedia) prompts() []string {
	m.mu.Lock()
	pcm := append([]int16(nil), m.heard...)
	m.mu.Unlock()
	var out []string
	last, run := "", 0
	for i := 0; i+800 <= len(pcm); i += 800 {
		name := ""
		for n, f := range promptTones {
			if goertzelShare(pcm[i:i+800], f) > 0.6 {
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

func goertzelShare(pcm []int16, freq float64) float64 {
	k := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2, energy float64
	for _, v := range pcm {
		x := float64(v)
		s1, s2 = x+k*s1-s2, s1
		energy += x * x
	}
	if energy == 0 {
		return 0
	}
	return (s1*s1 + s2*s2 - k*s1*s2) / energy / float64(len(pcm)) * 2
}

// fakeCall is the switchboard's side.
type fakeCall struct {
	rec      callbox.Record
	leg      *fakeLeg
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
	leg := newFakeLeg(number)
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

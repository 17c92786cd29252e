package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callbox"
	"callbox/config"
	"callbox/queue"
	"callbox/store"
	"callbox/web"
)

const queueYAML = `sip:
  listen: [udp://127.0.0.1:5060]
extensions:
  - {number: "1001", name: Alice, password: secret-1001}
  - {number: "1002", name: Bob, password: secret-1002}
  - {number: "1003", name: Carol, password: secret-1003}
queues:
  - name: support
    strategy: longest-idle
    members: ["1001", {agent: "1002", penalty: 1}]
    wrap_up: 10s
    overflow: queue:sales
    max_wait: 5m
  - name: sales
    members: ["1003"]
agents:
  - extension: "1001"
    mobile: "+491701234567"
    mobile_ring: sequence
    mobile_schedule: ["sat,sun 10:00-12:00"]
    max_calls: 2
  - extension: "1003"
    queues: [support]
feature_codes:
  pause: "*47"
`

func parseQueueConfig(t *testing.T) *config.Config {
	t.Helper()
	cfg, err := config.Parse("q.yaml", []byte(queueYAML))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestQueueConfigFromFile(t *testing.T) {
	qc := queueConfig(parseQueueConfig(t))
	var agents []string
	for _, a := range qc.Agents {
		agents = append(agents, fmt.Sprintf("%s:%s:%d", a.ID, a.Name, a.MaxCalls))
	}
	// Configured agents first, then members that are only extensions.
	if fmt.Sprint(agents) != "[1001:Alice:2 1003:Carol:1 1002:Bob:1]" {
		t.Errorf("agents %v", agents)
	}
	a := qc.Agents[0]
	if a.Mobile != "+491701234567" || a.MobileRing != queue.MobileSequence || a.MobileAfter != 10*time.Second ||
		len(a.MobileSchedule) != 1 || !a.MobileSchedule[0].Days[time.Saturday] {
		t.Errorf("1001: %+v", a)
	}
	s := qc.Queues[0]
	if fmt.Sprint(s.Members) != "[{1001 0} {1002 1} {1003 0}]" || s.Strategy != queue.LongestIdle || s.Overflow != "queue:sales" ||
		s.WrapUp != 10*time.Second || s.RingTimeout != 15*time.Second || s.Ageing != 2*time.Minute || s.JoinIf != queue.Staffed {
		t.Errorf("support: %+v", s)
	}
	if f := queueFeatures(parseQueueConfig(t)); f.Pause != "*47" || f.Login != "*45" {
		t.Errorf("features %+v", f)
	}
	// Every strategy the file may name is one the engine knows.
	for _, name := range config.QueueStrategies() {
		if !slices.Contains(queue.Strategies(), queue.Strategy(name)) {
			t.Errorf("config strategy %s is unknown to the engine", name)
		}
	}
	if len(config.QueueStrategies()) != len(queue.Strategies()) {
		t.Error("the config and the engine know different strategies")
	}
	if _, err := queue.NewEngine(qc, callbox.SystemClock{}, 1); err != nil {
		t.Errorf("the engine refuses the converted config: %v", err)
	}
}

// queueDaemon is the part of `serve` the queue commands talk to: the queue service on a
// real store, behind the real API on a Unix socket.
type queueDaemon struct {
	socket string
	db     *store.DB
	svc    *queue.Service
	stop   func()
}

func startQueueDaemon(t *testing.T, dir string) *queueDaemon {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	db, err := store.Open(ctx, filepath.Join(dir, "callbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	reg := prometheus.NewRegistry()
	svc, err := newQueueService(parseQueueConfig(t), db, reg, log, nil)
	if err != nil {
		t.Fatal(err)
	}
	srv := web.New(web.Options{Log: log, Status: func(context.Context) web.Status { return web.Status{} }, Calls: db, Gatherer: reg})
	srv.HandleQueues(svc, nil)
	d := &queueDaemon{socket: filepath.Join(dir, "callbox.sock"), db: db, svc: svc}
	if err := srv.Listen("127.0.0.1:0", d.socket); err != nil {
		t.Fatal(err)
	}
	g := newGroup(ctx)
	g.run("queues", svc.Run)
	g.run("web", srv.Serve)
	<-svc.Running()
	stopped := false
	d.stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := g.stop(); err != nil {
			t.Error(err)
		}
		db.Close()
	}
	t.Cleanup(d.stop)
	return d
}

// cli runs a callbox command against the daemon: stdout, stderr, exit code.
func (d *queueDaemon) cli(args ...string) (string, string, int) {
	var out, errOut bytes.Buffer
	code := run(append([]string{"--socket", d.socket}, args...), &out, &errOut)
	return out.String(), errOut.String(), code
}

func (d *queueDaemon) mustCLI(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := d.cli(args...)
	if code != 0 {
		t.Fatalf("callbox %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

func TestQueueCommands(t *testing.T) {
	d := startQueueDaemon(t, t.TempDir())
	ctx := context.Background()

	out := d.mustCLI(t, "agents")
	if !strings.Contains(out, "1001   Alice  logged out") || !strings.Contains(out, "1002   Bob    logged out") {
		t.Fatalf("agents:\n%s", out)
	}
	out = d.mustCLI(t, "agent", "login", "1001")
	if !strings.Contains(out, "available") || !strings.Contains(out, "support") {
		t.Fatalf("login:\n%s", out)
	}
	out = d.mustCLI(t, "agent", "login", "1002", "--queue", "sales", "--penalty", "2")
	if !strings.Contains(out, "sales/2") {
		t.Fatalf("login to sales:\n%s", out)
	}
	out = d.mustCLI(t, "agent", "login", "1001", "--mobile")
	if !strings.Contains(out, "yes") {
		t.Fatalf("mobile login:\n%s", out)
	}
	out = d.mustCLI(t, "agent", "pause", "1002", "--reason", "lunch")
	if !strings.Contains(out, "paused (lunch)") {
		t.Fatalf("pause:\n%s", out)
	}
	var agents []queue.AgentView
	if err := json.Unmarshal([]byte(d.mustCLI(t, "agents", "--json")), &agents); err != nil || len(agents) != 3 {
		t.Fatalf("agents --json: %v %+v", err, agents)
	}

	// A caller waits while 1001 is on another call; the supervisor hands it to 1002.
	d.svc.DirectCall(ctx, "1001", true)
	if err := d.svc.Join(ctx, "support", "c1", queue.Caller{Number: "+15550001", Priority: 2}); err != nil {
		t.Fatal(err)
	}
	out = d.mustCLI(t, "queue", "show")
	if !strings.Contains(out, "support  1") || !strings.Contains(out, "100% in 20s") {
		t.Fatalf("queue show:\n%s", out)
	}
	out = d.mustCLI(t, "queue", "show", "support")
	for _, want := range []string{"support (longest-idle)", "1 on the line", "c1", "+15550001", "waiting", "members:", "1003"} {
		if !strings.Contains(out, want) {
			t.Fatalf("queue show support lacks %q:\n%s", want, out)
		}
	}
	if out := d.mustCLI(t, "queue", "assign", "c1", "1002"); !strings.Contains(out, "call c1 offered to agent 1002") {
		t.Fatalf("assign: %s", out)
	}
	var q queue.QueueView
	json.Unmarshal([]byte(d.mustCLI(t, "queue", "show", "support", "--json")), &q)
	if len(q.Callers) != 1 || q.Callers[0].State != "ringing" || q.Callers[0].Agents[0] != "1002" {
		t.Fatalf("after assign: %+v", q.Callers)
	}
	d.mustCLI(t, "agent", "unpause", "1002")
	d.mustCLI(t, "agent", "logout", "1002", "--queue", "sales")

	for _, tt := range []struct {
		args []string
		msg  string
	}{
		{[]string{"agent", "login", "1999"}, "callbox: agent 1999 not found"},
		{[]string{"agent", "logout", "1003"}, ""},
		{[]string{"queue", "show", "nowhere"}, "callbox: queue nowhere not found"},
		{[]string{"queue", "transfer", "c1", "agent:1003"}, "call c1 is not in progress"},
		{[]string{"agent", "listen", "1001", "--from", "1003"}, "listen is not available yet"},
		{[]string{"agent", "barge", "1001"}, `required flag(s) "from" not set`},
	} {
		_, errOut, code := d.cli(tt.args...)
		if tt.msg == "" {
			continue // logging out a logged-out agent of all queues is harmless
		}
		if code != 1 || !strings.Contains(errOut, tt.msg) {
			t.Errorf("callbox %s: exit %d, %q, want …%s…", strings.Join(tt.args, " "), code, errOut, tt.msg)
		}
	}
}

// TestQueuesSurviveRestartInTheStore: agents' logins, pauses and mobile logins, and
// callbacks, come back from the SQLite store after the daemon restarts.
func TestQueuesSurviveRestartInTheStore(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	d := startQueueDaemon(t, dir)
	d.mustCLI(t, "agent", "login", "1001", "--mobile")
	d.mustCLI(t, "agent", "login", "1003", "--queue", "sales")
	d.mustCLI(t, "agent", "pause", "1003", "--reason", "training")
	d.mustCLI(t, "agent", "login", "1002", "--queue", "support")
	d.svc.DirectCall(ctx, "1001", true)
	d.svc.DirectCall(ctx, "1002", true)
	if err := d.svc.Join(ctx, "support", "cb1", queue.Caller{Number: "+15550009"}); err != nil {
		t.Fatal(err)
	}
	// support has no callback key: the engine refuses, and says so.
	if err := d.svc.RequestCallback(ctx, "cb1", ""); err == nil {
		t.Fatal("callback in a queue without a callback key")
	}
	before := d.mustCLI(t, "agents")
	d.stop()

	d2 := startQueueDaemon(t, dir)
	var agents []queue.AgentView
	if err := json.Unmarshal([]byte(d2.mustCLI(t, "agents", "--json")), &agents); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, a := range agents {
		got[a.ID] = fmt.Sprintf("%s %s %v %v", a.State, a.Reason, a.Mobile, a.Queues)
	}
	want := map[string]string{
		"1001": "available  true [{support 0}]", // the direct call ended with the daemon
		"1002": "available  false [{support 1}]",
		"1003": "paused training false [{sales 0}]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("after restart\n got %v\nwant %v\nbefore:\n%s", got, want, before)
	}
	// The history has every change, including the restart's (written by the time the
	// daemon has stopped).
	d2.stop()
	db, err := store.Open(ctx, filepath.Join(dir, "callbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hist, err := db.AgentHistory(ctx, "1001", time.Now().Add(-time.Hour), time.Now().Add(time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	var states []string
	for _, h := range hist {
		states = append(states, h.State)
	}
	if fmt.Sprint(states) != "[available on_call available]" {
		t.Fatalf("1001 history %v", states)
	}
}

func TestQueueStatusLines(t *testing.T) {
	d := startQueueDaemon(t, t.TempDir())
	ctx := context.Background()
	d.mustCLI(t, "agent", "login", "1001")
	d.mustCLI(t, "agent", "login", "1003")
	d.mustCLI(t, "agent", "pause", "1003")
	qs, agents, err := queueStatus(ctx, d.svc)
	if err != nil {
		t.Fatal(err)
	}
	if len(qs) != 2 || qs[0].Name != "support" || qs[0].Available != 1 {
		t.Fatalf("queues %+v", qs)
	}
	if agents != (web.AgentCounts{LoggedIn: 2, Available: 1, Paused: 1}) {
		t.Fatalf("agents %+v", agents)
	}
}

// TestQueueSpeechNeedsEspeak: the places where queues speak are found, so a box without
// espeak-ng is told at the line that needs it.
func TestQueueSpeechNeedsEspeak(t *testing.T) {
	base := `sip: {listen: [udp://127.0.0.1:5060]}
extensions:
  - {number: "1001", password: secret-1001}
`
	for _, tt := range []struct {
		yaml string
		line int // 0: no speech
	}{
		{"queues:\n  - {name: q, members: [\"1001\"]}\n", 0},
		{"queues:\n  - name: q\n    members: [\"1001\"]\n    announce_every: 30s\n", 7},
		{"queues:\n  - name: q\n    members: [\"1001\"]\n    callback_key: \"5\"\n", 7},
		{"ivr:\n  prompts: {tip: {say: Hi}}\nqueues:\n  - name: q\n    members: [\"1001\"]\n    messages: [tip]\n    message_every: 30s\n", 0},
		{"queues:\n  - name: q\n    members: [\"1001\"]\n    messages: [Thanks for waiting.]\n    message_every: 30s\n", 7},
		{"agents:\n  - {extension: \"1001\", mobile: \"+15550100\"}\n", 5},
	} {
		cfg, err := config.Parse("q.yaml", []byte(base+tt.yaml))
		if err != nil {
			t.Fatal(err)
		}
		pos, ok := queueSpeech(cfg)
		if ok != (tt.line > 0) || pos.Line != tt.line {
			t.Errorf("%s: speech %v at line %d, want line %d", tt.yaml, ok, pos.Line, tt.line)
		}
	}
}

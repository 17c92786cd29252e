package web

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callbox/queue"
)

type fakeSupervisor struct{ got []string }

func (f *fakeSupervisor) Supervise(_ context.Context, mode queue.Feature, agent, from string) error {
	f.got = append(f.got, string(mode)+" "+agent+" from "+from)
	return nil
}

// queueServer serves the queue endpoints of a running queue service: on the socket side
// (no login) and on the TCP side.
func queueServer(t *testing.T, sup Supervisor) (*queue.Service, *httptest.Server, *httptest.Server) {
	t.Helper()
	svc, err := queue.NewService(queue.Options{Config: queue.Config{
		Queues: []queue.QueueConfig{{Name: "support", Strategy: queue.Linear, Members: []queue.Member{{Agent: "1001"}, {Agent: "1002"}}}},
		Agents: []queue.AgentConfig{{ID: "1001", Name: "Alice", MaxCalls: 1}, {ID: "1002", Name: "Bob", MaxCalls: 1}},
	}, Registry: prometheus.NewRegistry()})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := svc.Run(ctx); err != nil {
			t.Error(err)
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	s := New(Options{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Status: func(context.Context) Status { return Status{} },
		Calls: fakeCalls{}, Gatherer: prometheus.NewRegistry(), AdminHash: cheapHash(t, "right-password"),
	})
	s.HandleQueues(svc, sup)
	sock := httptest.NewServer(s.handler(false))
	tcp := httptest.NewServer(s.handler(true))
	t.Cleanup(sock.Close)
	t.Cleanup(tcp.Close)
	return svc, sock, tcp
}

func call(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %v in %s", method, url, err, b)
		}
	}
	return res.StatusCode
}

func TestAgentEndpoints(t *testing.T) {
	_, sock, tcp := queueServer(t, nil)
	base := sock.URL + "/api/v1/agents"
	var agents []queue.AgentView
	if code := call(t, "GET", base, "", &agents); code != 200 || len(agents) != 2 || agents[0].State != queue.StateLoggedOut {
		t.Fatalf("GET agents: %d %+v", code, agents)
	}
	var a queue.AgentView
	if code := call(t, "POST", base+"/1001/login", "", &a); code != 200 || a.State != queue.StateAvailable || len(a.Queues) != 1 {
		t.Fatalf("login: %d %+v", code, a)
	}
	if code := call(t, "POST", base+"/1001/pause", `{"reason":"lunch"}`, &a); code != 200 || a.State != queue.StatePaused || a.Reason != "lunch" {
		t.Fatalf("pause: %d %+v", code, a)
	}
	if code := call(t, "POST", base+"/1001/unpause", "", &a); code != 200 || a.State != queue.StateAvailable {
		t.Fatalf("unpause: %d %+v", code, a)
	}
	if code := call(t, "POST", base+"/1001/logout", `{"queue":"support"}`, &a); code != 200 || a.State != queue.StateLoggedOut {
		t.Fatalf("logout: %d %+v", code, a)
	}
	var e APIError
	for _, tt := range []struct {
		method, path, body string
		code               int
		msg                string
	}{
		{"GET", "/1999", "", 404, "agent 1999 not found"},
		{"POST", "/1999/login", "", 404, "agent 1999 not found"},
		{"POST", "/1001/logout", `{"queue":"support"}`, 409, "not logged in"},
		{"POST", "/1001/login", `{"queue":"nowhere"}`, 404, "queue nowhere not found"},
		{"POST", "/1001/pause", `{"why":"lunch"}`, 400, "unknown field"},
		{"POST", "/1001/pause", `{`, 400, "bad request body"},
		{"POST", "/1001/listen", `{"from":"1002"}`, 501, "not available"},
	} {
		if code := call(t, tt.method, base+tt.path, tt.body, &e); code != tt.code || !strings.Contains(e.Error, tt.msg) {
			t.Errorf("%s %s %s: %d %q, want %d …%s…", tt.method, tt.path, tt.body, code, e.Error, tt.code, tt.msg)
		}
	}
	// On TCP the admin login is needed.
	if code := call(t, "GET", tcp.URL+"/api/v1/agents", "", nil); code != http.StatusUnauthorized {
		t.Errorf("agents on TCP without login: %d", code)
	}
}

func TestQueueEndpoints(t *testing.T) {
	sup := &fakeSupervisor{}
	svc, sock, _ := queueServer(t, sup)
	ctx := context.Background()
	base := sock.URL + "/api/v1/queues"
	svc.Login(ctx, "1001", queue.LoginOptions{})
	svc.Login(ctx, "1002", queue.LoginOptions{})
	svc.Pause(ctx, "1002", "lunch")
	if err := svc.Join(ctx, "support", "c1", queue.Caller{Number: "+15550001"}); err != nil {
		t.Fatal(err)
	}
	svc.Answered(ctx, "c1", "1001")
	svc.Join(ctx, "support", "c2", queue.Caller{Number: "+15550002", Priority: 1})

	var qs []queue.QueueView
	if code := call(t, "GET", base, "", &qs); code != 200 || len(qs) != 1 || qs[0].Waiting != 1 || qs[0].Agents[queue.StateOnCall] != 1 {
		t.Fatalf("GET queues: %d %+v", code, qs)
	}
	var q queue.QueueView
	if code := call(t, "GET", base+"/support", "", &q); code != 200 || len(q.Callers) != 2 || q.Callers[0].Call != "c2" || q.Callers[1].State != "on_call" {
		t.Fatalf("GET support: %d %+v", code, q)
	}
	var e APIError
	if code := call(t, "GET", base+"/nowhere", "", &e); code != 404 {
		t.Errorf("GET nowhere: %d %+v", code, e)
	}
	var ok map[string]string
	if code := call(t, "POST", base+"/calls/c2/assign", `{"agent":"1002"}`, &ok); code != 200 || ok["status"] != "ok" {
		t.Fatalf("assign: %d %v", code, ok)
	}
	if code := call(t, "POST", base+"/calls/c2/assign", `{}`, &e); code != 400 {
		t.Errorf("assign without agent: %d", code)
	}
	if code := call(t, "POST", base+"/calls/c1/transfer", `{"to":"fax:1"}`, &e); code != 400 || !strings.Contains(e.Error, "bad destination kind") {
		t.Errorf("transfer to fax: %d %+v", code, e)
	}
	if code := call(t, "POST", base+"/calls/c2/transfer", `{"to":"agent:1001"}`, &e); code != 409 {
		t.Errorf("transfer of a waiting call: %d %+v", code, e)
	}
	if code := call(t, "POST", base+"/calls/c1/takeback", "", &ok); code != 200 {
		t.Errorf("take back: %d", code)
	}
	if code := call(t, "POST", base+"/calls/nope/takeback", "", &e); code != 404 {
		t.Errorf("take back of an unknown call: %d", code)
	}
	if code := call(t, "POST", sock.URL+"/api/v1/agents/1001/barge", `{"from":"1003"}`, &ok); code != 200 || len(sup.got) != 1 || sup.got[0] != "barge 1001 from 1003" {
		t.Errorf("barge: %d %v", code, sup.got)
	}
}

func TestQueueEventStream(t *testing.T) {
	svc, sock, _ := queueServer(t, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", sock.URL+"/api/v1/queues/events", nil)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	// The stream is open (headers arrived after the subscription): a login shows up.
	if _, err := svc.Login(ctx, "1002", queue.LoginOptions{}); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(res.Body)
	var lines []string
	for sc.Scan() && len(lines) < 2 {
		if sc.Text() != "" {
			lines = append(lines, sc.Text())
		}
	}
	if len(lines) != 2 || lines[0] != "event: agent_changed" || !strings.Contains(lines[1], `"agent":"1002"`) || !strings.Contains(lines[1], `"pause_reason":""`) {
		t.Fatalf("stream %q", lines)
	}
}

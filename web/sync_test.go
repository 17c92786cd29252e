package web

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callbox"
	"callbox/sync/outbox"
	"callbox/sync/reclink"
)

type fakeOps struct {
	retried  []outbox.RetryRequest
	replayed []outbox.ReplayRequest
}

func (f *fakeOps) Status(context.Context) ([]outbox.DestinationStatus, error) {
	return []outbox.DestinationStatus{{Name: "zendesk", Kind: "zendesk", Pending: 3, Dead: 1, Paused: true, PauseReason: "401"}}, nil
}

func (f *fakeOps) Retry(_ context.Context, r outbox.RetryRequest) (outbox.RetryResult, error) {
	if r.ID == "nope" {
		return outbox.RetryResult{}, callbox.Errorf(callbox.ENOTFOUND, "outbox row nope not found")
	}
	f.retried = append(f.retried, r)
	return outbox.RetryResult{Requeued: 1, Resumed: []string{"zendesk"}}, nil
}

func (f *fakeOps) Replay(_ context.Context, r outbox.ReplayRequest) (outbox.ReplayResult, error) {
	f.replayed = append(f.replayed, r)
	return outbox.ReplayResult{Requeued: 7}, nil
}

type fakeFiles map[string]string

func (f fakeFiles) RecordingFile(_ context.Context, id string) (string, error) {
	p, ok := f[id]
	if !ok {
		return "", callbox.Errorf(callbox.ENOTFOUND, "recording %s not found", id)
	}
	return p, nil
}

func syncServers(t *testing.T, now func() time.Time) (tcp, sock *httptest.Server, ops *fakeOps, links *reclink.Signer) {
	dir := t.TempDir()
	audio := filepath.Join(dir, "c1.wav")
	if err := os.WriteFile(audio, []byte("RIFF....WAVEfmt audio-bytes"), 0o600); err != nil {
		t.Fatal(err)
	}
	s := New(Options{
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Status: func(context.Context) Status { return Status{} },
		Calls: fakeCalls{}, Gatherer: prometheus.NewRegistry(), AdminHash: cheapHash(t, "right-password"), Now: now,
	})
	ops = &fakeOps{}
	links = reclink.New([]byte("0123456789abcdef0123456789abcdef"), "http://box.example", time.Hour, now)
	s.HandleSync(ops, links, fakeFiles{"c1-rec": audio})
	tcp, sock = httptest.NewServer(s.handler(true)), httptest.NewServer(s.handler(false))
	t.Cleanup(tcp.Close)
	t.Cleanup(sock.Close)
	return tcp, sock, ops, links
}

func do(t *testing.T, method, url, body string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(method, url, strings.NewReader(body))
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestSyncAPI(t *testing.T) {
	tcp, sock, ops, _ := syncServers(t, time.Now)
	if code, _ := do(t, "GET", tcp.URL+"/api/v1/sync/status", ""); code != http.StatusUnauthorized {
		t.Errorf("status on TCP without login: %d", code)
	}
	if code, body := do(t, "GET", sock.URL+"/api/v1/sync/status", ""); code != 200 || !strings.Contains(body, `"pause_reason": "401"`) {
		t.Errorf("status: %d %s", code, body)
	}
	if code, body := do(t, "POST", sock.URL+"/api/v1/sync/retry", `{"dead": true, "destination": "zendesk"}`); code != 200 || !strings.Contains(body, `"requeued": 1`) {
		t.Errorf("retry --dead: %d %s", code, body)
	}
	if len(ops.retried) != 1 || !ops.retried[0].Dead || ops.retried[0].Destination != "zendesk" {
		t.Errorf("retry request: %+v", ops.retried)
	}
	for _, tc := range []struct {
		path, body string
		code       int
	}{
		{"/api/v1/sync/retry", `{"id": "x", "dead": true}`, 400},
		{"/api/v1/sync/retry", `{"id": "nope"}`, 404},
		{"/api/v1/sync/retry", `{"bogus": 1}`, 400},
		{"/api/v1/sync/replay", `{}`, 400},
		{"/api/v1/sync/replay", `{"since": "yesterday"}`, 400},
		{"/api/v1/sync/replay", `{"since": "2999-01-01T00:00:00Z"}`, 400},
		{"/api/v1/sync/replay", `{"since": "2026-11-23T09:00:00Z", "destination": "hook"}`, 200},
	} {
		if code, body := do(t, "POST", sock.URL+tc.path, tc.body); code != tc.code {
			t.Errorf("%s %s: %d %s, want %d", tc.path, tc.body, code, body, tc.code)
		}
	}
	if len(ops.replayed) != 1 || ops.replayed[0].Destination != "hook" || ops.replayed[0].Since.Hour() != 9 {
		t.Errorf("replay request: %+v", ops.replayed)
	}
}

func TestSignedRecordingLinks(t *testing.T) {
	now := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	tcp, _, _, links := syncServers(t, clock)
	link, _ := links.URL("c1-rec")
	path := strings.TrimPrefix(link, "http://box.example")

	// No login on TCP: the link is the proof.
	code, body := do(t, "GET", tcp.URL+path, "")
	if code != 200 || body != "RIFF....WAVEfmt audio-bytes" {
		t.Fatalf("valid link: %d %q", code, body)
	}
	req, _ := http.NewRequest("GET", tcp.URL+path, nil)
	req.Header.Set("Range", "bytes=0-3")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != http.StatusPartialContent || string(b) != "RIFF" || res.Header.Get("Content-Type") != "audio/wav" {
		t.Errorf("range request: %d %q %s", res.StatusCode, b, res.Header.Get("Content-Type"))
	}
	other, _ := links.URL("c2-rec")
	otherSig := other[strings.Index(other, "?"):]
	for _, tc := range []struct {
		name, path string
		code       int
	}{
		{"tampered signature", strings.Replace(path, "sig=", "sig=x", 1), 403},
		{"another recording's signature", reclink.Path + "c1-rec" + otherSig, 403},
		{"no signature", reclink.Path + "c1-rec", 403},
		{"a recording the box no longer has", strings.TrimPrefix(other, "http://box.example"), 404},
	} {
		if code, body := do(t, "GET", tcp.URL+tc.path, ""); code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, code, body, tc.code)
		}
	}
	now = now.Add(2 * time.Hour)
	if code, _ := do(t, "GET", tcp.URL+path, ""); code != http.StatusGone {
		t.Errorf("expired link: %d, want 410", code)
	}
}

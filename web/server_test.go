package web

import (
	"context"
	"crypto/pbkdf2"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callbox"
	"callbox/config"
	"callbox/store"
)

// cheapHash is a valid admin hash with few iterations, so tests stay fast.
func cheapHash(t *testing.T, password string) config.PasswordHash {
	salt := []byte("0123456789abcdef")
	key, err := pbkdf2.Key(sha256.New, password, salt, 10_000, 32)
	if err != nil {
		t.Fatal(err)
	}
	enc := base64.RawStdEncoding
	h, err := config.ParsePasswordHash(fmt.Sprintf("pbkdf2-sha256$10000$%s$%s", enc.EncodeToString(salt), enc.EncodeToString(key)))
	if err != nil {
		t.Fatal(err)
	}
	return h
}

type fakeCalls struct{ records []callbox.Record }

func (f fakeCalls) ListCalls(ctx context.Context, flt store.CallFilter) ([]callbox.Record, error) {
	return f.records, nil
}

func (f fakeCalls) Call(ctx context.Context, id string) (*callbox.Record, error) {
	for _, r := range f.records {
		if r.ID == id {
			return &r, nil
		}
	}
	return nil, callbox.Errorf(callbox.ENOTFOUND, "call %s not found", id)
}

func testServer(t *testing.T, now func() time.Time) (*httptest.Server, *httptest.Server) {
	s := New(Options{
		Log:       slog.New(slog.NewTextHandler(io.Discard, nil)),
		Status:    func(context.Context) Status { return Status{Box: "test"} },
		Calls:     fakeCalls{records: []callbox.Record{{ID: "c1", From: "+15550001"}}},
		Gatherer:  prometheus.NewRegistry(),
		AdminHash: cheapHash(t, "right-password"),
		Now:       now,
	})
	tcp := httptest.NewServer(s.handler(true))
	sock := httptest.NewServer(s.handler(false))
	t.Cleanup(tcp.Close)
	t.Cleanup(sock.Close)
	return tcp, sock
}

func get(t *testing.T, c *http.Client, url, user, pass string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestAPINeedsAdminOnTCPOnly(t *testing.T) {
	tcp, sock := testServer(t, time.Now)
	c := http.DefaultClient
	tests := []struct {
		name       string
		base       string
		path       string
		user, pass string
		want       int
	}{
		{"healthz open", tcp.URL, "/healthz", "", "", 200},
		{"metrics open", tcp.URL, "/metrics", "", "", 200},
		{"status needs login", tcp.URL, "/api/v1/status", "", "", 401},
		{"wrong password", tcp.URL, "/api/v1/calls", "admin", "nope", 401},
		{"wrong user", tcp.URL, "/api/v1/calls", "root", "right-password", 401},
		{"right password", tcp.URL, "/api/v1/calls", "admin", "right-password", 200},
		{"call found", tcp.URL, "/api/v1/calls/c1", "admin", "right-password", 200},
		{"call not found", tcp.URL, "/api/v1/calls/zz", "admin", "right-password", 404},
		{"bad limit", tcp.URL, "/api/v1/calls?limit=-3", "admin", "right-password", 400},
		{"unknown endpoint", tcp.URL, "/api/v1/nope", "admin", "right-password", 404},
		{"socket needs no login", sock.URL, "/api/v1/status", "", "", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if code, body := get(t, c, tt.base+tt.path, tt.user, tt.pass); code != tt.want {
				t.Errorf("GET %s = %d, want %d (%s)", tt.path, code, tt.want, body)
			}
		})
	}
}

func TestRepeatedLoginFailuresLockOut(t *testing.T) {
	now := time.Date(2026, 11, 23, 10, 0, 0, 0, time.UTC)
	tcp, _ := testServer(t, func() time.Time { return now })
	for i := range loginFailLimit {
		if code, _ := get(t, http.DefaultClient, tcp.URL+"/api/v1/status", "admin", fmt.Sprint("guess", i)); code != 401 {
			t.Fatalf("failure %d: %d", i, code)
		}
	}
	// Even the right password is refused while the address is locked out...
	if code, _ := get(t, http.DefaultClient, tcp.URL+"/api/v1/status", "admin", "right-password"); code != http.StatusTooManyRequests {
		t.Fatalf("locked out: %d, want 429", code)
	}
	// ...and taken again once the lock-out has passed.
	now = now.Add(loginBan + time.Second)
	if code, _ := get(t, http.DefaultClient, tcp.URL+"/api/v1/status", "admin", "right-password"); code != 200 {
		t.Fatalf("after the lock-out: %d", code)
	}
}

func TestPageLoginWithSession(t *testing.T) {
	tcp, _ := testServer(t, time.Now)
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar}
	// Not logged in: the page sends the browser to the login form.
	res, err := c.Get(tcp.URL + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.Request.URL.Path != "/login" {
		t.Fatalf("not redirected to /login but to %s", res.Request.URL)
	}
	res, err = c.PostForm(tcp.URL+"/login", url.Values{"password": {"wrong"}})
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if !strings.Contains(res.Request.URL.RawQuery, "failed") {
		t.Fatalf("a wrong password did not fail: %s", res.Request.URL)
	}
	res, err = c.PostForm(tcp.URL+"/login", url.Values{"password": {"right-password"}})
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.Request.URL.Path != "/" || !strings.Contains(string(body), "callbox — status") {
		t.Fatalf("after login: %s %.80s", res.Request.URL, body)
	}
	// The session cookie also opens the API.
	if code, _ := get(t, c, tcp.URL+"/api/v1/status", "", ""); code != 200 {
		t.Fatalf("API with the session: %d", code)
	}
	res, err = c.Post(tcp.URL+"/logout", "", nil)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if code, _ := get(t, c, tcp.URL+"/api/v1/status", "", ""); code != 401 {
		t.Fatalf("API after logout: %d", code)
	}
}

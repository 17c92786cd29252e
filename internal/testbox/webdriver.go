package testbox

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"
)

// Browser is headless Debian Chromium driven through chromedriver's WebDriver API (plain
// HTTP and JSON, so the tests need no browser library).
type Browser struct {
	t       testing.TB
	base    string // chromedriver's session URL
	driver  *exec.Cmd
	done    chan struct{}
	profile string
}

// StartBrowser starts chromedriver and a headless Chromium session.
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	for _, bin := range []string{"chromium", "chromedriver"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Fatalf("%s is not installed: `make test` installs Debian's chromium and chromium-driver", bin)
		}
	}
	port := FreePort(t)
	ctx, cancel := context.WithCancel(context.Background())
	b := &Browser{t: t, done: make(chan struct{}), profile: t.TempDir()}
	b.driver = exec.CommandContext(ctx, "chromedriver", "--port="+strconv.Itoa(port))
	if err := b.driver.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() { b.driver.Wait(); close(b.done) }()
	t.Cleanup(func() {
		if b.base != "" {
			b.call("DELETE", "", nil, nil)
		}
		cancel()
		<-b.done
	})
	root := fmt.Sprintf("http://127.0.0.1:%d", port)
	deadline := time.Now().Add(20 * time.Second)
	for {
		res, err := http.Get(root + "/status")
		if err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("chromedriver did not start")
		}
		time.Sleep(50 * time.Millisecond)
	}
	caps := map[string]any{"capabilities": map[string]any{"alwaysMatch": map[string]any{
		"browserName": "chrome",
		"goog:chromeOptions": map[string]any{
			"binary": "/usr/bin/chromium",
			// The machine's network is closed: no background connections, no first-run.
			"args": []string{"--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
				"--disable-background-networking", "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
				"--user-data-dir=" + b.profile},
		},
	}}}
	var res struct {
		Value struct {
			SessionID string `json:"sessionId"`
		} `json:"value"`
	}
	b.base = root + "/session"
	if err := b.post("", caps, &res); err != nil {
		b.base = ""
		t.Fatalf("start a Chromium session: %v", err)
	}
	b.base = root + "/session/" + res.Value.SessionID
	return b
}

func (b *Browser) post(path string, body, out any) error { return b.call("POST", path, body, out) }

func (b *Browser) call(method, path string, body, out any) error {
	var rd io.Reader
	if body != nil {
		data, _ := json.Marshal(body)
		rd = bytes.NewReader(data)
	}
	req, _ := http.NewRequest(method, b.base+path, rd)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	data, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("webdriver %s %s: %s %s", method, path, res.Status, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// Go opens a URL.
func (b *Browser) Go(url string) {
	b.t.Helper()
	if err := b.post("/url", map[string]string{"url": url}, nil); err != nil {
		b.t.Fatal(err)
	}
}

// URL is the page's address.
func (b *Browser) URL() string {
	b.t.Helper()
	var res struct{ Value string }
	if err := b.call("GET", "/url", nil, &res); err != nil {
		b.t.Fatal(err)
	}
	return res.Value
}

// element finds the element matching a CSS selector.
func (b *Browser) element(css string) (string, error) {
	var res struct {
		Value map[string]string `json:"value"`
	}
	if err := b.post("/element", map[string]string{"using": "css selector", "value": css}, &res); err != nil {
		return "", err
	}
	for _, id := range res.Value {
		return id, nil
	}
	return "", fmt.Errorf("no element %s", css)
}

// Type types text into the element matching css.
func (b *Browser) Type(css, text string) {
	b.t.Helper()
	id, err := b.element(css)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.post("/element/"+id+"/value", map[string]string{"text": text}, nil); err != nil {
		b.t.Fatal(err)
	}
}

// Click clicks the element matching css.
func (b *Browser) Click(css string) {
	b.t.Helper()
	id, err := b.element(css)
	if err != nil {
		b.t.Fatal(err)
	}
	if err := b.post("/element/"+id+"/click", map[string]any{}, nil); err != nil {
		b.t.Fatal(err)
	}
}

// Text is the visible text of the element matching css ("" when there is none).
func (b *Browser) Text(css string) string {
	id, err := b.element(css)
	if err != nil {
		return ""
	}
	var res struct{ Value string }
	if err := b.call("GET", "/element/"+id+"/text", nil, &res); err != nil {
		return ""
	}
	return res.Value
}

// WaitText waits until the element matching css shows text containing want.
func (b *Browser) WaitText(css, want string, timeout time.Duration) string {
	b.t.Helper()
	deadline := time.Now().Add(timeout)
	var got string
	for time.Now().Before(deadline) {
		if got = b.Text(css); bytes.Contains([]byte(got), []byte(want)) {
			return got
		}
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("%s shows %q, not %q, after %s", css, got, want, timeout)
	return ""
}

// Screenshot saves a PNG of the page.
func (b *Browser) Screenshot(path string) {
	var res struct{ Value []byte }
	if err := b.call("GET", "/screenshot", nil, &res); err == nil {
		os.WriteFile(path, res.Value, 0o644)
	}
}

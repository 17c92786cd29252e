// Package testbox starts the real callbox binary for end-to-end tests: built once per test
// process, run with a temporary data folder and free ports, driven through its CLI, its
// socket and its HTTP API.
package testbox

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// moduleRoot finds the directory holding go.mod, from this source file.
func moduleRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}

// Binary builds bin/callbox (with the race detector, as the tests run, and the testclock
// tag) once per process and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "callbox-e2e-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "callbox")
		// The testclock tag lets a test set the IVR's clock (CALLBOX_TEST_CLOCK); released
		// binaries are built without it.
		cmd := exec.Command("go", "build", "-race", "-tags", "testclock", "-ldflags", "-X callbox.Version=e2e", "-o", binPath, "./cmd/callbox")
		cmd.Dir = moduleRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

// FreePort returns a port free on 127.0.0.1 for both UDP and TCP at the time of the call.
func FreePort(t testing.TB) int {
	t.Helper()
	for range 50 {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no free port")
	return 0
}

// FreePortPair returns a port p with p and p+1 free (baresip takes p+1 for TLS).
func FreePortPair(t testing.TB) int {
	t.Helper()
	for range 100 {
		p := FreePort(t)
		if p >= 65535 {
			continue
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p+1))
		if err != nil {
			continue
		}
		l.Close()
		if u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p+1)); err == nil {
			u.Close()
			return p
		}
	}
	t.Fatal("no two free ports in a row")
	return 0
}

// Box is a running `callbox serve`.
type Box struct {
	t       testing.TB
	Dir     string // data folder
	Config  string // config file path ("" for the demo)
	Socket  string
	WebAddr string // host:port of the HTTP API
	cmd     *exec.Cmd
	stdout  *syncBuffer
	stderr  *syncBuffer
	exited  chan struct{}
	exitErr error
}

// Options change how Start runs the daemon.
type Options struct {
	Config string   // YAML; "" runs the built-in demo
	Env    []string // extra environment
	Dir    string   // data folder to reuse (default a new temporary one)
}

// syncBuffer is a bytes.Buffer safe for the daemon's output goroutines and the test.
// Each write closes the current changed channel, so a test can wait for new output instead
// of polling.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed != nil {
		close(b.changed)
		b.changed = nil
	}
	return b.buf.Write(p)
}

// next returns the current contents and a channel closed at the next write.
func (b *syncBuffer) next() (string, <-chan struct{}) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.changed == nil {
		b.changed = make(chan struct{})
	}
	return b.buf.String(), b.changed
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// Start runs the daemon and waits until /healthz answers on the socket.
func Start(t testing.TB, o Options) *Box {
	t.Helper()
	bin := Binary(t)
	dir := o.Dir
	if dir == "" {
		dir = t.TempDir()
	}
	// Unix socket paths are limited to 108 bytes; test temp dirs can be long.
	sockDir, err := os.MkdirTemp("", "cbx")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(sockDir) })
	b := &Box{t: t, Dir: dir, Socket: filepath.Join(sockDir, "callbox.sock"), stdout: &syncBuffer{}, stderr: &syncBuffer{}, exited: make(chan struct{})}
	args := []string{"serve", "--data", dir, "--socket", b.Socket, "--log-format", "json"}
	if o.Config != "" {
		b.Config = filepath.Join(dir, "callbox.yaml")
		if err := os.WriteFile(b.Config, []byte(o.Config), 0o600); err != nil {
			t.Fatal(err)
		}
		args = append(args, "--config", b.Config)
	}
	b.cmd = exec.Command(bin, args...)
	b.cmd.Env = append(os.Environ(), o.Env...)
	b.cmd.Stdout = b.stdout
	b.cmd.Stderr = b.stderr
	if err := b.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		b.exitErr = b.cmd.Wait()
		close(b.exited)
	}()
	t.Cleanup(func() {
		b.cmd.Process.Kill()
		<-b.exited
		if t.Failed() {
			t.Logf("daemon stderr:\n%s", b.stderr.String())
		}
	})
	b.waitHealthy()
	return b
}

func (b *Box) waitHealthy() {
	b.t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case <-b.exited:
			b.t.Fatalf("daemon exited at start: %v\nstdout:\n%s\nstderr:\n%s", b.exitErr, b.stdout, b.stderr)
		default:
		}
		var st struct {
			Web string `json:"web"`
		}
		if err := b.SocketJSON("GET", "/api/v1/status", &st); err == nil {
			b.WebAddr = strings.TrimPrefix(st.Web, "http://")
			return
		}
		// Polling with a short pause: the daemon has no way to tell a test it is up other
		// than answering on its socket.
		time.Sleep(50 * time.Millisecond)
	}
	b.t.Fatalf("daemon did not answer on %s within 60s\nstderr:\n%s", b.Socket, b.stderr)
}

// SocketClient is an HTTP client that reaches the daemon's Unix socket.
func (b *Box) SocketClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", b.Socket)
		},
	}}
}

// SocketJSON does a request on the socket and decodes the JSON answer into out.
func (b *Box) SocketJSON(method, path string, out any) error {
	req, _ := http.NewRequest(method, "http://callbox"+path, nil)
	res, err := b.SocketClient().Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != 200 {
		return fmt.Errorf("%s %s: %d %s", method, path, res.StatusCode, body)
	}
	if out != nil {
		return json.Unmarshal(body, out)
	}
	return nil
}

// CLI runs the callbox binary with args against this daemon's socket.
func (b *Box) CLI(args ...string) (stdout, stderr string, code int) {
	b.t.Helper()
	cmd := exec.Command(Binary(b.t), append([]string{"--socket", b.Socket}, args...)...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		b.t.Fatal(err)
	}
	return o.String(), e.String(), code
}

// MustCLI runs the CLI and fails the test on a non-zero exit.
func (b *Box) MustCLI(args ...string) string {
	b.t.Helper()
	out, errOut, code := b.CLI(args...)
	if code != 0 {
		b.t.Fatalf("callbox %s: exit %d\n%s", strings.Join(args, " "), code, errOut)
	}
	return out
}

// Signal sends sig to the daemon.
func (b *Box) Signal(sig syscall.Signal) {
	b.t.Helper()
	if err := b.cmd.Process.Signal(sig); err != nil {
		b.t.Fatal(err)
	}
}

// Wait waits for the daemon to exit and returns its exit code.
func (b *Box) Wait(timeout time.Duration) int {
	b.t.Helper()
	select {
	case <-b.exited:
	case <-time.After(timeout):
		b.t.Fatalf("daemon still running after %s\nstderr:\n%s", timeout, b.stderr)
	}
	if b.exitErr == nil {
		return 0
	}
	if ee, ok := b.exitErr.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	b.t.Fatal(b.exitErr)
	return -1
}

// Stdout is what the daemon printed so far.
func (b *Box) Stdout() string { return b.stdout.String() }

// Stderr is what the daemon logged so far.
func (b *Box) Stderr() string { return b.stderr.String() }

// LogLines returns the daemon's JSON log lines whose msg contains substr.
func (b *Box) LogLines(substr string) []map[string]any { return logLines(b.stderr.String(), substr) }

func logLines(text, substr string) []map[string]any {
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(text))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) != nil {
			continue
		}
		if msg, _ := m["msg"].(string); strings.Contains(msg, substr) {
			out = append(out, m)
		}
	}
	return out
}

// WaitLog waits until the daemon logs a line whose msg contains substr.
func (b *Box) WaitLog(substr string, timeout time.Duration) map[string]any {
	b.t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		text, changed := b.stderr.next()
		if l := logLines(text, substr); len(l) > 0 {
			return l[len(l)-1]
		}
		select {
		case <-changed:
		case <-b.exited:
			if l := b.LogLines(substr); len(l) > 0 {
				return l[len(l)-1]
			}
			b.t.Fatalf("daemon exited before logging %q\nstderr:\n%s", substr, b.stderr)
		case <-timer.C:
			b.t.Fatalf("no log line %q within %s\nstderr:\n%s", substr, timeout, b.stderr)
		}
	}
}

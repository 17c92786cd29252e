package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"callbox/config"
	"callbox/internal/testbox"
	"callbox/store"
	"callbox/web"
)

const adminPassword = "e2e-admin-password"

// e2eConfig is a small valid configuration on free ports.
func e2eConfig(t *testing.T, boxName string) string {
	t.Helper()
	hash, err := config.HashPassword(adminPassword)
	if err != nil {
		t.Fatal(err)
	}
	sip := testbox.FreePort(t)
	return fmt.Sprintf(`box:
  name: %s
sip:
  listen: [udp://127.0.0.1:%d, tcp://127.0.0.1:%d]
rtp:
  address: 127.0.0.1
web:
  listen: 127.0.0.1:0
  admin_password_hash: %q
extensions:
  - number: "1001"
    password: e2e-secret-1001
trunks:
  - name: loopback
    kind: ip
    sources: [127.0.0.1]
inbound:
  - number: "4000"
    destination: extension:1001
queues:
  - {name: support, members: ["1001"]}
`, boxName, sip, sip, hash)
}

func httpGet(t *testing.T, url, user, pass string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if user != "" {
		req.SetBasicAuth(user, pass)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func TestServeFoundationEndToEnd(t *testing.T) {
	box := testbox.Start(t, testbox.Options{Config: e2eConfig(t, "e2e-box")})
	base := "http://" + box.WebAddr

	// Health and metrics need no login; everything else on TCP does.
	if code, body := httpGet(t, base+"/healthz", "", ""); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("/healthz: %d %s", code, body)
	}
	code, metrics := httpGet(t, base+"/metrics", "", "")
	if code != 200 {
		t.Fatalf("/metrics: %d", code)
	}
	for _, m := range []string{`callbox_build_info{version="e2e"} 1`, "go_goroutines", "process_resident_memory_bytes", "callbox_config_last_reload_successful 1"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("/metrics lacks %s", m)
		}
	}
	if code, _ := httpGet(t, base+"/api/v1/status", "", ""); code != http.StatusUnauthorized {
		t.Errorf("/api/v1/status without login: %d, want 401", code)
	}
	if code, _ := httpGet(t, base+"/api/v1/calls", "admin", "wrong-password"); code != http.StatusUnauthorized {
		t.Errorf("/api/v1/calls with a wrong password: %d, want 401", code)
	}
	if code, body := httpGet(t, base+"/api/v1/status", "admin", adminPassword); code != 200 || !strings.Contains(body, `"box": "e2e-box"`) {
		t.Errorf("/api/v1/status with login: %d %s", code, body)
	}

	// The socket is for owner and group only.
	fi, err := os.Stat(box.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if perm := fi.Mode().Perm(); perm != 0o660 {
		t.Errorf("socket permissions %o, want 660", perm)
	}

	// The CLI reaches the daemon over the socket.
	var st web.Status
	if err := json.Unmarshal([]byte(box.MustCLI("status", "--json")), &st); err != nil {
		t.Fatal(err)
	}
	if st.Version != "e2e" || st.Box != "e2e-box" || st.Extensions.Total != 1 || len(st.SIP) != 2 || len(st.Trunks) != 1 {
		t.Errorf("status --json: %+v", st)
	}
	if out := box.MustCLI("status"); !strings.Contains(out, "e2e-box") || !strings.Contains(out, "0 of 1 extensions registered") {
		t.Errorf("status table:\n%s", out)
	}
	if out := box.MustCLI("calls", "--json", "--limit", "5"); strings.TrimSpace(out) != "[]" {
		t.Errorf("calls --json on a new box: %q", out)
	}
	if out := box.MustCLI("calls"); !strings.Contains(out, "no calls yet") {
		t.Errorf("calls table on a new box: %q", out)
	}
	if _, errOut, code := box.CLI("calls", "show", "no-such-call"); code != 1 || !strings.Contains(errOut, "call no-such-call not found") {
		t.Errorf("calls show of a missing call: exit %d, %q", code, errOut)
	}

	// SIGHUP with a broken file: refused, logged, the old config keeps serving.
	if err := os.WriteFile(box.Config, []byte("sip:\n  listen: [udp://127.0.0.1:5060]\nextensions:\n  - number: 1x\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	box.Signal(syscall.SIGHUP)
	box.WaitLog("config reload refused", 30*time.Second)
	found := false
	for _, l := range box.LogLines("config problem") {
		found = found || strings.HasSuffix(fmt.Sprint(l["problem"]), `callbox.yaml:4:13: bad extension number "1x": want 2 to 8 digits`)
	}
	if !found {
		t.Errorf("the refused reload did not log its problem with its position:\n%s", box.Stderr())
	}
	if err := box.SocketJSON("GET", "/api/v1/status", &st); err != nil || st.Box != "e2e-box" {
		t.Errorf("after a refused reload: %v %+v", err, st)
	}
	if _, m := httpGet(t, base+"/metrics", "", ""); !strings.Contains(m, "callbox_config_last_reload_successful 0") {
		t.Error("a refused reload is not in the metrics")
	}
	// `callbox reload` says what is wrong, and fails.
	if _, errOut, code := box.CLI("reload"); code != 1 || !strings.Contains(errOut, "bad extension number") {
		t.Errorf("reload of a broken file: exit %d, %q", code, errOut)
	}

	// A good file is taken.
	if err := os.WriteFile(box.Config, []byte(e2eConfig(t, "renamed-box")), 0o600); err != nil {
		t.Fatal(err)
	}
	box.Signal(syscall.SIGHUP)
	box.WaitLog("config reloaded", 30*time.Second)
	if err := box.SocketJSON("GET", "/api/v1/status", &st); err != nil || st.Box != "renamed-box" {
		t.Errorf("after a good reload: %v %+v", err, st)
	}

	// SIGTERM: exit 0 and a clean database.
	box.Signal(syscall.SIGTERM)
	if code := box.Wait(60 * time.Second); code != 0 {
		t.Fatalf("exit code %d after SIGTERM", code)
	}
	if _, err := os.Stat(box.Socket); !os.IsNotExist(err) {
		t.Errorf("socket left behind: %v", err)
	}
	db, err := store.Open(context.Background(), filepath.Join(box.Dir, "callbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Check(context.Background()); err != nil {
		t.Fatal(err)
	}
}

func TestServeRefusesInvalidConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bad.yaml")
	os.WriteFile(file, []byte("sip:\n  listen: [udp://127.0.0.1:5060]\n  bogus: 1\nextensions:\n  - number: \"1001\"\n"), 0o600)
	cmd := exec.Command(testbox.Binary(t), "serve", "--config", file, "--data", dir)
	out, err := cmd.CombinedOutput()
	ee, ok := err.(*exec.ExitError)
	if !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v\n%s", err, out)
	}
	for _, want := range []string{file + `:3:3: unknown key "bogus"`, file + ":5:5: extension 1001 has no password", "refusing to start"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestConfigCheckCommand(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("sip:\n  listen: [udp://127.0.0.1:5060]\ngroups:\n  - name: sales\n    extensions: [\"2000\"]\n"), 0o600)
	cmd := exec.Command(testbox.Binary(t), "config", "check", bad)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v", err)
	}
	if want := bad + ":5:18: group sales: extension 2000 is not defined"; !strings.Contains(string(out), want) {
		t.Errorf("output lacks %q:\n%s", want, out)
	}

	// The demo printed by `config demo` is a valid file.
	demo := filepath.Join(dir, "demo.yaml")
	yaml, err := exec.Command(testbox.Binary(t), "config", "demo").Output()
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(demo, yaml, 0o600)
	out, err = exec.Command(testbox.Binary(t), "config", "check", demo).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "valid: 3 extensions") {
		t.Fatalf("config check of the demo: %v\n%s", err, out)
	}
}

func TestCLIWithoutDaemon(t *testing.T) {
	cmd := exec.Command(testbox.Binary(t), "--socket", filepath.Join(t.TempDir(), "none.sock"), "status")
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
		t.Fatalf("want exit 1, got %v", err)
	}
	if !strings.Contains(string(out), "the callbox daemon is not running") {
		t.Errorf("message: %s", out)
	}
}

// TestDemo runs the built-in demo as `make run` does (it binds the demo's fixed ports
// 127.0.0.1:5060 and :8080).
func TestDemo(t *testing.T) {
	box := testbox.Start(t, testbox.Options{})
	out := box.Stdout()
	for _, want := range []string{"running the built-in demo configuration", "udp://127.0.0.1:5060, tcp://127.0.0.1:5060",
		"extension 1001 (Alice): user 1001, password demo-1001", "call 4000", "http://127.0.0.1:8080"} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo banner lacks %q:\n%s", want, out)
		}
	}
	pwFile := filepath.Join(box.Dir, "admin-password")
	fi, err := os.Stat(pwFile)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("admin-password is %o, want 600", fi.Mode().Perm())
	}
	pw, _ := os.ReadFile(pwFile)
	password := strings.TrimSpace(string(pw))
	if !strings.Contains(out, "password "+password+")") {
		t.Errorf("the banner does not print the admin password")
	}
	if strings.Contains(box.Stderr(), password) {
		t.Errorf("the admin password reached the log")
	}
	if code, _ := httpGet(t, "http://127.0.0.1:8080/api/v1/status", "admin", password); code != 200 {
		t.Errorf("login with the demo's admin password: %d", code)
	}
	box.Signal(syscall.SIGINT)
	if code := box.Wait(60 * time.Second); code != 0 {
		t.Fatalf("exit %d after Ctrl-C", code)
	}
}

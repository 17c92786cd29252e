package main

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"callbox/internal/testbox"
)

// TestAgentStateSurvivesRestart logs an agent in and pauses them through the real daemon's
// CLI, restarts the daemon on the same data folder, and finds the same state.
func TestAgentStateSurvivesRestart(t *testing.T) {
	cfg := `sip: {listen: [udp://127.0.0.1:0]}
web: {listen: 127.0.0.1:0}
extensions:
  - {number: "1001", name: Alice, password: secret-1001}
  - {number: "1002", name: Bob, password: secret-1002}
queues:
  - {name: support, strategy: longest-idle, members: ["1001", "1002"]}
`
	b := testbox.Start(t, testbox.Options{Config: cfg})
	b.MustCLI("agent", "login", "1001", "--queue", "support")
	b.MustCLI("agent", "login", "1002")
	b.MustCLI("agent", "pause", "1002", "--reason", "lunch")
	check := func(b *testbox.Box) {
		t.Helper()
		out := b.MustCLI("agents")
		for _, want := range []string{"1001", "available", "1002", "paused", "lunch"} {
			if !strings.Contains(out, want) {
				t.Errorf("callbox agents lacks %q:\n%s", want, out)
			}
		}
		if out := b.MustCLI("queue", "show", "support"); !strings.Contains(out, "support") {
			t.Errorf("callbox queue show:\n%s", out)
		}
	}
	check(b)
	if out := b.MustCLI("status"); !strings.Contains(out, "queue support") {
		t.Errorf("status lacks the queue:\n%s", out)
	}
	b.Signal(syscall.SIGTERM)
	if code := b.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit %d", code)
	}
	again := testbox.Start(t, testbox.Options{Config: cfg, Dir: b.Dir})
	check(again)
	if _, errOut, code := again.CLI("agent", "pause", "9999"); code == 0 || errOut == "" {
		t.Errorf("pausing an unknown agent: exit %d, %q", code, errOut)
	}
}

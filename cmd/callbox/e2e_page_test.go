package main

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callbox"
	"callbox/internal/testbox"
	"callbox/store"
)

// TestStatusPageInChromium logs in to the status page with headless Chromium and reads the
// box's state and its recent calls off the page.
func TestStatusPageInChromium(t *testing.T) {
	dir := t.TempDir()
	// A finished call in the store, so the page has one to show.
	db, err := store.Open(context.Background(), filepath.Join(dir, "callbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now().Add(-time.Hour)
	ans := start.Add(2 * time.Second)
	if err := db.FinishCall(context.Background(), &callbox.Record{ID: "page-call-1", Direction: callbox.Inbound, From: "+15550199",
		To: "4000", Started: start, Answered: &ans, Ended: start.Add(62 * time.Second), Result: "answered", Cause: "normal",
		HangupSide: callbox.SideCaller, TalkTime: time.Minute}, nil); err != nil {
		t.Fatal(err)
	}
	db.Close()

	b := testbox.Start(t, testbox.Options{Config: e2eConfig(t, "page-box"), Dir: dir})
	br := testbox.StartBrowser(t)
	br.Go("http://" + b.WebAddr + "/")
	if u := br.URL(); !strings.HasSuffix(u, "/login") {
		t.Fatalf("not sent to the login form: %s", u)
	}
	br.Type("input[name=password]", "not the password")
	br.Click("button[type=submit]")
	br.WaitText("#failed", "Wrong password", 10*time.Second)
	br.Type("input[name=password]", adminPassword)
	br.Click("button[type=submit]")
	br.WaitText("#box", "page-box", 15*time.Second)
	br.WaitText("#boxinfo", "0 of 1", 5*time.Second)
	calls := br.WaitText("#calls", "+15550199", 5*time.Second)
	if !strings.Contains(calls, "answered") || !strings.Contains(calls, "60 s") {
		t.Errorf("recent calls on the page: %q", calls)
	}
	if trunks := br.Text("#trunks"); !strings.Contains(trunks, "loopback") {
		t.Errorf("trunks on the page: %q", trunks)
	}
	// An agent logs in: the page follows the daemon within its refresh.
	b.MustCLI("agent", "login", "1001")
	br.WaitText("#queues", "support", 10*time.Second)
	br.WaitText("#agents", "Available 1", 10*time.Second)
	if t.Failed() {
		br.Screenshot(filepath.Join(t.TempDir(), "page.png"))
	}
}

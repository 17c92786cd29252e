package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"callbox"
	"callbox/config"
	"callbox/internal/testbox"
	"callbox/store"
	"callbox/sync/event"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
	"callbox/sync/plan"
	"callbox/sync/webhook/webhooktest"
)

const e2eSecret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

// kill -9 the real daemon while it drains the outbox to a webhook, start it again on the same
// data folder, and check the receiver saw every event at least once and, after
// de-duplicating on webhook-id, exactly once, each call's steps in order.
func TestSyncSurvivesKillDashNine(t *testing.T) {
	dir := t.TempDir()
	rc := webhooktest.New(e2eSecret)
	var got atomic.Int32
	rc.Before = func(w http.ResponseWriter, r *http.Request, body []byte) bool {
		got.Add(1)
		time.Sleep(3 * time.Millisecond) // a receiver with some work to do, so the kill lands mid-drain
		return false
	}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	yaml := e2eConfig(t, "sync-box") + fmt.Sprintf(`sync:
  destinations:
    - name: hook
      kind: webhook
      url: %s
      secret: %s
      recording: none
      concurrency: 4
      max_backoff: 1s
`, srv.URL, e2eSecret)
	cfg, err := config.Parse("e2e.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}

	// Calls finished before the daemon starts, written as the switchboard writes them.
	const calls = 300
	var ids []string
	db, err := store.Open(context.Background(), filepath.Join(dir, "callbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for i := range calls {
		answered := start.Add(time.Duration(i)*time.Second + 3*time.Second)
		rec := &callbox.Record{ID: fmt.Sprintf("e2e-%04d", i), Direction: callbox.Inbound, From: "+15551230001", To: "4000",
			DID: "4000", Extension: "1001", Started: start.Add(time.Duration(i) * time.Second), Answered: &answered,
			Ended: answered.Add(time.Minute), Result: "answered", Cause: "normal", HangupSide: callbox.SideCaller,
			TalkTime: time.Minute, Survey: 5}
		rows, err := plan.Rows(cfg, rec, lookup.Caller{})
		if err != nil {
			t.Fatal(err)
		}
		if err := db.FinishCall(context.Background(), rec, rows); err != nil {
			t.Fatal(err)
		}
		for _, r := range rows {
			ids = append(ids, r.ID)
		}
	}
	db.Close()

	box := testbox.Start(t, testbox.Options{Config: yaml, Dir: dir})
	waitUntil(t, 60*time.Second, func() bool { return rc.Unique() >= len(ids)/3 })
	box.Signal(syscall.SIGKILL)
	box.Wait(30 * time.Second)
	before := rc.Unique()
	if before >= len(ids) {
		t.Fatalf("the kill came after the drain (%d of %d): slow the receiver down", before, len(ids))
	}

	box = testbox.Start(t, testbox.Options{Config: yaml, Dir: dir})
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := rc.Wait(ctx, len(ids)); err != nil {
		t.Fatalf("after the restart the receiver has %d of %d events", rc.Unique(), len(ids))
	}
	want := map[string]bool{}
	for _, id := range ids {
		want[id] = true
		if rc.Seen(id) == 0 {
			t.Fatalf("event %s lost", id)
		}
	}
	first := map[string][]string{}
	dups := 0
	for _, m := range rc.Messages() {
		if !want[m.ID] {
			t.Fatalf("unexpected event %s", m.ID)
		}
		if m.Duplicate {
			dups++
			continue
		}
		first[m.CallID] = append(first[m.CallID], m.Type)
	}
	for call, types := range first {
		if len(types) != 2 || types[0] != event.CallFinished || types[1] != event.Survey {
			t.Fatalf("call %s arrived as %v", call, types)
		}
	}
	if rc.Rejected() != 0 {
		t.Fatalf("%d webhooks failed their signature check", rc.Rejected())
	}
	t.Logf("%d events, %d before the kill, %d duplicates after it (de-duplicated by id)", len(ids), before, dups)

	// The operations commands see the drained outbox.
	var sts []outbox.DestinationStatus
	waitUntil(t, 30*time.Second, func() bool {
		sts = nil
		if err := json.Unmarshal([]byte(box.MustCLI("sync", "status", "--json")), &sts); err != nil {
			t.Fatal(err)
		}
		return len(sts) == 1 && sts[0].Pending+sts[0].InFlight == 0
	})
	if sts[0].Name != "hook" || sts[0].Dead != 0 || sts[0].LastSuccess == nil {
		t.Errorf("sync status: %+v", sts[0])
	}
	if out := box.MustCLI("sync", "status"); !strings.Contains(out, "hook") || !strings.Contains(out, "webhook") {
		t.Errorf("sync status table:\n%s", out)
	}
	code, metrics := httpGet(t, "http://"+box.WebAddr+"/metrics", "", "")
	for _, want := range []string{`callbox_sync_deliveries_total{destination="hook",result="done"}`,
		`callbox_sync_outbox_depth{destination="hook",state="pending"} 0`, `callbox_sync_delivery_lag_seconds_bucket`} {
		if code != 200 || !strings.Contains(metrics, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if out := box.MustCLI("sync", "replay", "--since", "1h", "--destination", "hook"); !strings.Contains(out, fmt.Sprintf("%d row(s)", len(ids))) {
		t.Errorf("replay: %s", out)
	}
	if _, errOut, code := box.CLI("sync", "retry", "no-such-row"); code != 1 || !strings.Contains(errOut, "not found") {
		t.Errorf("retry of a missing row: exit %d %q", code, errOut)
	}
	box.Signal(syscall.SIGTERM)
	if code := box.Wait(60 * time.Second); code != 0 {
		t.Fatalf("exit %d after SIGTERM", code)
	}
}

func waitUntil(t *testing.T, within time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s", within)
		}
		time.Sleep(20 * time.Millisecond) // the daemon is another process: polling is how we see it
	}
}

func TestParseSince(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		in   string
		want time.Time
		ok   bool
	}{
		{"2026-11-23T09:00:00Z", time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC), true},
		{"24h", now.Add(-24 * time.Hour), true},
		{"90m", now.Add(-90 * time.Minute), true},
		{"2026-11-20", time.Date(2026, 11, 20, 0, 0, 0, 0, time.Local), true},
		{"yesterday", time.Time{}, false},
		{"-5h", time.Time{}, false},
	} {
		got, err := parseSince(tc.in, now)
		if (err == nil) != tc.ok || tc.ok && !got.Equal(tc.want) {
			t.Errorf("parseSince(%q) = %v, %v", tc.in, got, err)
		}
	}
}

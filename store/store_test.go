package store

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"callbox"
)

func openTemp(t *testing.T) (*DB, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "callbox.db")
	d, err := Open(context.Background(), path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	return d, path
}

func TestMigrationsFromEmptyAndAgain(t *testing.T) {
	ctx := context.Background()
	d, path := openTemp(t)
	var version int
	if err := d.db.QueryRow("SELECT MAX(version) FROM schema_migrations").Scan(&version); err != nil {
		t.Fatal(err)
	}
	if version != SchemaVersion() {
		t.Fatalf("schema version %d, want %d", version, SchemaVersion())
	}
	for _, table := range []string{"calls", "call_events", "recordings", "agents", "agent_states", "outbox"} {
		var n int
		if err := d.db.QueryRow("SELECT COUNT(*) FROM sqlite_master WHERE type='table' AND name=?", table).Scan(&n); err != nil || n != 1 {
			t.Errorf("table %s missing (%v)", table, err)
		}
	}
	var mode string
	if err := d.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q (%v), want wal", mode, err)
	}
	var sync, fk int
	d.db.QueryRow("PRAGMA synchronous").Scan(&sync)
	d.db.QueryRow("PRAGMA foreign_keys").Scan(&fk)
	if sync != 2 || fk != 1 {
		t.Errorf("synchronous=%d foreign_keys=%d, want 2 (FULL) and 1", sync, fk)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	// Opening again applies nothing and keeps the data.
	d2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	var applied int
	d2.db.QueryRow("SELECT COUNT(*) FROM schema_migrations").Scan(&applied)
	all, _ := migrations()
	if applied != len(all) {
		t.Fatalf("%d migrations recorded after reopening, want %d", applied, len(all))
	}
}

func TestFutureDatabaseIsRefused(t *testing.T) {
	d, path := openTemp(t)
	if _, err := d.db.Exec("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, 'future.sql', 0)", SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	d.Close()
	_, err := Open(context.Background(), path)
	if err == nil || !strings.Contains(err.Error(), "written by a newer callbox") {
		t.Fatalf("want refusal of a future schema, got %v", err)
	}
}

func sampleRecord(id string, started time.Time) *callbox.Record {
	answered := started.Add(3 * time.Second)
	return &callbox.Record{
		ID: id, Direction: callbox.Inbound, From: "+15551230001", FromName: "Dana", To: "4000", DID: "4000",
		Trunk: "loopback", Extension: "1001", Started: started, Answered: &answered, Ended: started.Add(63 * time.Second),
		Result: "answered", Cause: "normal", HangupSide: callbox.SideCaller, TalkTime: time.Minute,
		Flags: []string{"vip"}, Variables: map[string]string{"order": "12345"},
		Media: &callbox.MediaStats{CallerIn: 3000, CallerOut: 2990, CalleeIn: 2995, CalleeOut: 3000, CallerJitterMS: 1.5},
		Events: []callbox.Event{
			{At: started, Kind: "inbound", Detail: map[string]string{"trunk": "loopback"}},
			{At: answered, Kind: "answered", Leg: "b1"},
		},
		Recording: &callbox.Recording{ID: id + "-rec", CallID: id, Kind: "call", Path: "recordings/x.wav",
			Format: "pcmu", Duration: time.Minute, Size: 960044, Created: started.Add(63 * time.Second)},
	}
}

func TestFinishCallRoundTrip(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	rec := sampleRecord("c1", start)
	out := []OutboxRow{{ID: "e1", Destination: "webhook", CallID: "c1", Kind: "call.finished", Payload: []byte(`{}`)}}
	if err := d.FinishCall(ctx, rec, out); err != nil {
		t.Fatal(err)
	}
	got, err := d.Call(ctx, "c1")
	if err != nil {
		t.Fatal(err)
	}
	if got.From != rec.From || got.TalkTime != rec.TalkTime || !got.Answered.Equal(*rec.Answered) ||
		got.Variables["order"] != "12345" || len(got.Events) != 2 || got.Events[1].Leg != "b1" ||
		got.Recording == nil || got.Recording.Size != 960044 || got.Media == nil || *got.Media != *rec.Media {
		t.Fatalf("round trip lost data: %+v", got)
	}
	list, err := d.ListCalls(ctx, CallFilter{Limit: 10})
	if err != nil || len(list) != 1 || list[0].ID != "c1" {
		t.Fatalf("list = %v, %v", list, err)
	}
	if _, err := d.Call(ctx, "nope"); callbox.ErrorCode(err) != callbox.ENOTFOUND {
		t.Fatalf("missing call: %v", err)
	}
}

func TestFinishCallIsAtomic(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	// Two outbox rows with one id: the second insert fails, so nothing of the call may stay.
	out := []OutboxRow{
		{ID: "dup", Destination: "webhook", CallID: "c2", Kind: "call.finished", Payload: []byte(`{}`)},
		{ID: "dup", Destination: "zendesk", CallID: "c2", Kind: "call.finished", Payload: []byte(`{}`)},
	}
	if err := d.FinishCall(ctx, sampleRecord("c2", start), out); err == nil {
		t.Fatal("want an error for a duplicate outbox id")
	}
	n, _ := d.CallCount(ctx)
	var events, recs, rows int
	d.db.QueryRow("SELECT COUNT(*) FROM call_events").Scan(&events)
	d.db.QueryRow("SELECT COUNT(*) FROM recordings").Scan(&recs)
	d.db.QueryRow("SELECT COUNT(*) FROM outbox").Scan(&rows)
	if n+events+recs+rows != 0 {
		t.Fatalf("a failed FinishCall left calls=%d events=%d recordings=%d outbox=%d", n, events, recs, rows)
	}
}

func TestListCallsNewestFirstWithLimit(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for i := range 5 {
		r := sampleRecord(string(rune('a'+i)), start.Add(time.Duration(i)*time.Minute))
		r.Recording = nil
		if err := d.FinishCall(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	list, err := d.ListCalls(ctx, CallFilter{Limit: 3})
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 3 || list[0].ID != "e" || list[2].ID != "c" {
		t.Fatalf("got %v", ids(list))
	}
}

func TestListCallsByResultAndFlag(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	start := time.Date(2026, 11, 23, 9, 0, 0, 0, time.UTC)
	for i, c := range []struct {
		result string
		flags  []string
	}{{"answered", nil}, {"voicemail", []string{"follow-up"}}, {"abandoned", []string{"warning", "follow-up"}}, {"voicemail", nil}} {
		r := sampleRecord(string(rune('a'+i)), start.Add(time.Duration(i)*time.Minute))
		r.Recording, r.Result, r.Flags = nil, c.result, c.flags
		if err := d.FinishCall(ctx, r, nil); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		f    CallFilter
		want []string
	}{
		{CallFilter{Result: "voicemail"}, []string{"d", "b"}},
		{CallFilter{Flag: "follow-up"}, []string{"c", "b"}},
		{CallFilter{Result: "voicemail", Flag: "follow-up"}, []string{"b"}},
		{CallFilter{Flag: "follow"}, nil},
		{CallFilter{Result: "missed"}, nil},
	} {
		list, err := d.ListCalls(ctx, tt.f)
		if err != nil {
			t.Fatal(err)
		}
		if got := ids(list); !slices.Equal(got, tt.want) {
			t.Errorf("%+v: got %v, want %v", tt.f, got, tt.want)
		}
	}
}

func ids(rs []callbox.Record) []string {
	var s []string
	for _, r := range rs {
		s = append(s, r.ID)
	}
	return s
}

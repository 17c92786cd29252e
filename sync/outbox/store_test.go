package outbox_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"callbox"
	"callbox/sync/internal/fixture"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
)

// A ticket's later steps get the ticket's id, and run only after it exists.
func TestStepsGetTheReferenceOfTheStepTheyDependOn(t *testing.T) {
	box := fixture.Open(t)
	cfg := fixture.Config(t, `sync:
  destinations:
    - name: desk
      kind: freshdesk
      url: https://acme.freshdesk.com
      token: k
`)
	for _, id := range []string{"a", "b", "c"} {
		box.Finish(t, cfg, box.Call(t, id, t0), lookup.Caller{})
	}
	var mu sync.Mutex
	var seen []string
	dl := outbox.DeliverFunc(func(ctx context.Context, d outbox.Delivery) outbox.Result {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, d.CallID+":"+d.Kind+":"+d.DependencyRef)
		if d.Kind == "ticket" {
			return outbox.Delivered("T-" + d.CallID)
		}
		if d.DependencyRef != "T-"+d.CallID {
			return outbox.Permanent(errors.New("wrong ticket"))
		}
		return outbox.Delivered(d.DependencyRef)
	})
	m, err := outbox.NewManager(outbox.Options{DB: box.DB.SQL(), Poll: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	m.Configure(context.Background(), []outbox.Destination{{Name: "desk", Deliverer: dl}})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	defer func() { cancel(); <-done }()
	waitFor(t, func() bool {
		sts, _ := m.Status(context.Background())
		return len(sts) == 1 && sts[0].Pending+sts[0].InFlight == 0
	})
	sts, _ := m.Status(context.Background())
	if sts[0].Dead != 0 {
		t.Fatalf("a step got the wrong ticket: %v", seen)
	}
	order := map[string][]string{}
	for _, s := range seen {
		order[s[:1]] = append(order[s[:1]], s[2:])
	}
	for call, steps := range order {
		want := []string{"ticket:", "recording:T-" + call, "survey:T-" + call}
		if len(steps) != 3 || steps[0] != want[0] || steps[1] != want[1] || steps[2] != want[2] {
			t.Errorf("call %s: %v", call, steps)
		}
	}
}

// A row whose worker vanished without a word (lease run out) is claimed again; an outcome
// reported by the old attempt afterwards does not count.
func TestExpiredLeaseIsReclaimed(t *testing.T) {
	box := fixture.Open(t)
	cfg := fixture.Config(t, fixture.Webhook("https://x.example", "      recording: none\n"))
	rec := box.Call(t, "lease-1", t0)
	rec.Survey = 0
	box.Finish(t, cfg, rec, lookup.Caller{})
	now := time.Now()
	clock := func() time.Time { return now }
	st := outbox.NewStore(box.DB.SQL(), clock)
	ctx := context.Background()
	first, err := st.Claim(ctx, "hook", 10, time.Minute)
	if err != nil || len(first) != 1 || first[0].Attempt != 1 {
		t.Fatalf("claim: %v %v", first, err)
	}
	if again, _ := st.Claim(ctx, "hook", 10, time.Minute); len(again) != 0 {
		t.Fatal("a leased row was claimed twice")
	}
	now = now.Add(2 * time.Minute)
	if n, err := st.ReclaimExpired(ctx, "hook"); err != nil || n != 1 {
		t.Fatalf("reclaim: %d %v", n, err)
	}
	second, _ := st.Claim(ctx, "hook", 10, time.Minute)
	if len(second) != 1 || second[0].Attempt != 2 {
		t.Fatalf("second claim: %+v", second)
	}
	sts, _ := st.Status(ctx, []string{"hook"})
	if sts[0].InFlight != 1 {
		t.Fatalf("status: %+v", sts[0])
	}
}

func TestRetryAndReplayOfRows(t *testing.T) {
	box := fixture.Open(t)
	cfg := fixture.Config(t, fixture.Webhook("https://x.example", "      recording: none\n"))
	rec := box.Call(t, "ops-1", t0)
	rec.Survey = 0
	rows := box.Finish(t, cfg, rec, lookup.Caller{})
	m, err := outbox.NewManager(outbox.Options{DB: box.DB.SQL()})
	if err != nil {
		t.Fatal(err)
	}
	m.Configure(context.Background(), []outbox.Destination{{Name: "hook", Deliverer: outbox.DeliverFunc(nil)}})
	ctx := context.Background()
	if _, err := m.Retry(ctx, outbox.RetryRequest{ID: "nope"}); callbox.ErrorCode(err) != callbox.ENOTFOUND {
		t.Errorf("retry of a missing row: %v", err)
	}
	if _, err := m.Retry(ctx, outbox.RetryRequest{Dead: true, Destination: "elsewhere"}); callbox.ErrorCode(err) != callbox.ENOTFOUND {
		t.Errorf("retry of an unknown destination: %v", err)
	}
	// Deliver the row by hand, then ask for it again.
	st := m.Store()
	claimed, _ := st.Claim(ctx, "hook", 1, time.Minute)
	if len(claimed) != 1 || claimed[0].ID != rows[0].ID {
		t.Fatalf("claim: %+v", claimed)
	}
	if _, err := m.Retry(ctx, outbox.RetryRequest{ID: rows[0].ID}); callbox.ErrorCode(err) != callbox.ECONFLICT {
		t.Errorf("retry of a row in flight: %v", err)
	}
	if n, _ := st.Release(ctx, "hook"); n != 1 {
		t.Fatalf("release: %d", n)
	}
	if res, err := m.Replay(ctx, outbox.ReplayRequest{Since: t0}); err != nil || res.Requeued != 0 {
		t.Errorf("replay of nothing delivered: %+v %v", res, err)
	}
	if _, err := m.Replay(ctx, outbox.ReplayRequest{}); callbox.ErrorCode(err) != callbox.EINVALID {
		t.Errorf("replay without a time: %v", err)
	}
}

// Recordings leave the box only when every row of their call is done and the retention
// passed; a call no destination took keeps its recording.
func TestJanitorRemovesDeliveredRecordingsAfterRetention(t *testing.T) {
	box := fixture.Open(t)
	cfg := fixture.Config(t, fixture.Webhook("https://x.example", "      recording: upload\n"))
	delivered := box.Recorded(t, box.Call(t, "jan-1", t0))
	waiting := box.Recorded(t, box.Call(t, "jan-2", t0))
	box.Finish(t, cfg, delivered, lookup.Caller{})
	box.Finish(t, cfg, waiting, lookup.Caller{})
	nobody := box.Recorded(t, box.Call(t, "jan-3", t0))
	if err := box.DB.FinishCall(context.Background(), nobody, nil); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	m, err := outbox.NewManager(outbox.Options{DB: box.DB.SQL(), Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	st := m.Store()
	ctx := context.Background()
	// Deliver every step of jan-1 and the first of jan-2; the rest of jan-2 stays in flight.
	for range 10 {
		rows, err := st.Claim(ctx, "hook", 10, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range rows {
			if d.CallID == "jan-2" && d.Seq > 0 {
				continue
			}
			if err := outbox.CompleteForTest(ctx, st, d, outbox.Delivered("")); err != nil {
				t.Fatal(err)
			}
		}
	}
	j := m.NewJanitor(box.Dir, 24*time.Hour, time.Hour)
	exists := func(r *callbox.Record) bool {
		_, err := os.Stat(filepath.Join(box.Dir, r.Recording.Path))
		return err == nil
	}
	if n, err := j.Sweep(ctx); err != nil || n != 0 {
		t.Fatalf("sweep within the retention: %d %v", n, err)
	}
	now = now.Add(25 * time.Hour)
	if n, err := j.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("sweep after the retention: %d %v", n, err)
	}
	if exists(delivered) || !exists(waiting) || !exists(nobody) {
		t.Fatalf("files: delivered %v, waiting %v, nobody's %v", exists(delivered), exists(waiting), exists(nobody))
	}
	if _, deleted, err := st.Recording(ctx, delivered.Recording.ID); err != nil || !deleted {
		t.Fatalf("the removed recording must be marked: %v %v", deleted, err)
	}
}

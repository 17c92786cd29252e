package store

import (
	"context"
	"fmt"
	"testing"
	"time"
)

func TestAgentStatePersistsAcrossReopen(t *testing.T) {
	ctx := context.Background()
	d, path := openTemp(t)
	t0 := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	changes := []AgentChange{
		{Agent: "1001", Name: "Alice", State: "available", Reason: "login", Queue: "support", At: t0,
			Queues: []AgentQueue{{"support", 0}}},
		{Agent: "1001", Name: "Alice", State: "available", Reason: "login", Queue: "sales", At: t0.Add(time.Minute),
			Queues: []AgentQueue{{"sales", 2}, {"support", 0}}},
		{Agent: "1001", Name: "Alice", State: "on_call", At: t0.Add(2 * time.Minute),
			Queues: []AgentQueue{{"sales", 2}, {"support", 0}}},
		{Agent: "1001", Name: "Alice", State: "paused", Reason: "lunch", At: t0.Add(10 * time.Minute), Paused: true,
			PauseReason: "lunch", Mobile: true, Queues: []AgentQueue{{"sales", 2}, {"support", 0}}},
		{Agent: "1001", Name: "Alice", State: "paused", Reason: "logout", Queue: "sales", At: t0.Add(11 * time.Minute),
			Paused: true, PauseReason: "lunch", Mobile: true, Queues: []AgentQueue{{"support", 0}}},
		{Agent: "1002", Name: "Bob", State: "available", Reason: "login", Queue: "support", At: t0,
			Queues: []AgentQueue{{"support", 1}}},
		{Agent: "1002", Name: "Bob", State: "logged_out", Reason: "logout", Queue: "support", At: t0.Add(time.Hour)},
	}
	for _, c := range changes {
		if err := d.RecordAgentChange(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	d.Close()
	d2, err := Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer d2.Close()
	agents, err := d2.Agents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := fmt.Sprintf("%+v", agents)
	want := fmt.Sprintf("%+v", []Agent{
		// since: when paused began, not the later logout from sales
		{ID: "1001", Name: "Alice", State: "paused", Reason: "logout", Since: t0.Add(10 * time.Minute), Paused: true,
			PauseReason: "lunch", Mobile: true, Queues: []AgentQueue{{"support", 0}}},
		{ID: "1002", Name: "Bob", State: "logged_out", Reason: "logout", Since: t0.Add(time.Hour)},
	})
	if got != want {
		t.Fatalf("agents\n got %s\nwant %s", got, want)
	}
	hist, err := d2.AgentHistory(ctx, "1001", t0, t0.Add(24*time.Hour))
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != 5 || hist[1].Queue != "sales" || hist[3].State != "paused" || hist[3].Reason != "lunch" {
		t.Fatalf("history %+v", hist)
	}
	if h, _ := d2.AgentHistory(ctx, "1001", t0.Add(5*time.Minute), t0.Add(24*time.Hour)); len(h) != 2 {
		t.Fatalf("history from 9:05: %+v", h)
	}
}

func TestQueueCallbacks(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	t0 := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	for _, cb := range []QueueCallback{
		{CallID: "late", Queue: "support", Number: "+15550002", Joined: t0.Add(time.Minute)},
		{CallID: "early", Queue: "support", Number: "+15550001", Name: "Dana", Priority: 2, LastAgent: "1001",
			LastAgentAt: t0.Add(-time.Hour), Joined: t0},
	} {
		if err := d.SaveQueueCallback(ctx, cb); err != nil {
			t.Fatal(err)
		}
	}
	if err := d.SaveQueueCallback(ctx, QueueCallback{CallID: "early", Queue: "support", Number: "+15550001", Joined: t0, Attempts: 1}); err != nil {
		t.Fatal(err)
	}
	cbs, err := d.QueueCallbacks(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(cbs) != 2 || cbs[0].CallID != "early" || cbs[0].Attempts != 1 || cbs[0].Name != "Dana" ||
		!cbs[0].LastAgentAt.Equal(t0.Add(-time.Hour)) || cbs[1].CallID != "late" || !cbs[1].LastAgentAt.IsZero() {
		t.Fatalf("callbacks %+v", cbs)
	}
	if err := d.DeleteQueueCallback(ctx, "early"); err != nil {
		t.Fatal(err)
	}
	if err := d.DeleteQueueCallback(ctx, "early"); err != nil {
		t.Fatal(err)
	}
	if cbs, _ := d.QueueCallbacks(ctx); len(cbs) != 1 {
		t.Fatalf("after delete: %+v", cbs)
	}
}

func TestQueueCallsAndLastAgent(t *testing.T) {
	ctx := context.Background()
	d, _ := openTemp(t)
	t0 := time.Date(2026, 3, 3, 9, 0, 0, 0, time.UTC)
	rec := sampleRecord("c1", t0.Add(-24*time.Hour)) // answered by 1001 (the record's agent)
	rec.Agent = "1001"
	rec.Recording = nil
	if err := d.FinishCall(ctx, rec, nil); err != nil {
		t.Fatal(err)
	}
	agent, at, err := d.LastAgent(ctx, rec.From)
	if err != nil || agent != "1001" || !at.Equal(*rec.Answered) {
		t.Fatalf("last agent from the calls: %q %s %v", agent, at, err)
	}
	for _, c := range []QueueCall{
		{CallID: "q1", Queue: "support", Agent: "1002", Number: rec.From, Result: "answered", Joined: t0,
			Ended: t0.Add(5 * time.Minute), Waited: 12 * time.Second, Handled: 4 * time.Minute, StickyAgent: "1001"},
		{CallID: "q2", Queue: "support", Number: rec.From, Result: "abandoned", Joined: t0.Add(time.Hour),
			Ended: t0.Add(time.Hour + time.Minute), Waited: time.Minute},
	} {
		if err := d.SaveQueueCall(ctx, c); err != nil {
			t.Fatal(err)
		}
	}
	agent, _, _ = d.LastAgent(ctx, rec.From)
	if agent != "1002" {
		t.Fatalf("last agent %q, want 1002 from the newer queue call (the abandoned one has none)", agent)
	}
	if agent, _, err := d.LastAgent(ctx, "+19999"); agent != "" || err != nil {
		t.Fatalf("unknown number: %q %v", agent, err)
	}
	calls, err := d.QueueCalls(ctx, t0.Add(time.Minute))
	if err != nil || len(calls) != 2 || calls[0].Handled != 4*time.Minute || calls[0].StickyAgent != "1001" || calls[0].StickyHit {
		t.Fatalf("queue calls %+v %v", calls, err)
	}
	if calls, _ := d.QueueCalls(ctx, t0.Add(30*time.Minute)); len(calls) != 1 || calls[0].CallID != "q2" {
		t.Fatalf("since 9:30: %+v", calls)
	}
	if err := d.SaveQueueCall(ctx, QueueCall{CallID: "bad", Queue: "x", Result: "lost", Joined: t0, Ended: t0}); err == nil {
		t.Fatal("a queue call with an unknown result was stored")
	}
}

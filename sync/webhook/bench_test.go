package webhook_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"callbox/sync/internal/fixture"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
	"callbox/sync/webhook"
	"callbox/sync/webhook/webhooktest"
)

// benchBox is a box with a running outbox delivering to a local webhook receiver, on the
// default settings a configuration gets (4 requests at a time, 1s poll).
type benchBox struct {
	box *fixture.Box
	rc  *webhooktest.Receiver
	m   *outbox.Manager
	url string
}

func newBenchBox(b *testing.B) *benchBox {
	bb := &benchBox{box: fixture.Open(b), rc: webhooktest.New(fixture.Secret)}
	bb.url = fixture.Serve(b, bb.rc)
	wh, err := webhook.New(webhook.Options{URL: bb.url, Secrets: []string{fixture.Secret}, Recording: "link",
		Files: bb.box.Files()})
	if err != nil {
		b.Fatal(err)
	}
	bb.m, err = outbox.NewManager(outbox.Options{DB: bb.box.DB.SQL()})
	if err != nil {
		b.Fatal(err)
	}
	if err := bb.m.Configure(context.Background(), []outbox.Destination{{Name: "hook", Deliverer: wh}}); err != nil {
		b.Fatal(err)
	}
	return bb
}

func (bb *benchBox) run(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bb.m.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
}

// finish writes a finished call (no recording file, no survey: one row) as the switchboard does.
func (bb *benchBox) finish(b *testing.B, i int) {
	cfg := fixture.Config(b, fixture.Webhook(bb.url, ""))
	rec := bb.box.Call(b, fmt.Sprintf("bench-%07d", i), time.Now())
	rec.Recording, rec.Survey = nil, 0
	bb.box.Finish(b, cfg, rec, lookup.Caller{})
}

// BenchmarkOutboxDrain measures how fast a backlog of finished calls drains to a local
// webhook: signed requests, leases, outcomes committed with synchronous=FULL.
func BenchmarkOutboxDrain(b *testing.B) {
	bb := newBenchBox(b)
	cfg := fixture.Config(b, fixture.Webhook(bb.url, ""))
	for i := range b.N {
		rec := bb.box.Call(b, fmt.Sprintf("drain-%07d", i), time.Now())
		rec.Recording, rec.Survey = nil, 0
		bb.box.Finish(b, cfg, rec, lookup.Caller{})
	}
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	bb.run(b)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if err := bb.rc.Wait(ctx, b.N); err != nil {
		b.Fatalf("drained %d of %d", bb.rc.Unique(), b.N)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
}

// BenchmarkHangupToWebhook measures the time from writing a finished call (FinishCall, then
// Kick as the switchboard does) to the receiver having its event.
func BenchmarkHangupToWebhook(b *testing.B) {
	bb := newBenchBox(b)
	bb.run(b)
	lat := make([]time.Duration, 0, b.N)
	ctx := context.Background()
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		start := time.Now()
		bb.finish(b, i)
		bb.m.Kick()
		if err := bb.rc.Wait(ctx, i+1); err != nil {
			b.Fatal(err)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

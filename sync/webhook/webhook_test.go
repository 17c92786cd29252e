package webhook_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callbox/sync/event"
	"callbox/sync/internal/fault"
	"callbox/sync/internal/fixture"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
	"callbox/sync/reclink"
	"callbox/sync/webhook"
	"callbox/sync/webhook/webhooktest"
)

// The reference vector of the Standard Webhooks specification.
func TestSignatureMatchesTheStandardVector(t *testing.T) {
	key, err := webhook.DecodeSecret("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	if err != nil {
		t.Fatal(err)
	}
	got := webhook.Sign([][]byte{key}, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, []byte(`{"test": 2432232314}`))
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Fatalf("signature %s, want %s", got, want)
	}
	// During a rotation every key signs, space-separated.
	two := webhook.Sign([][]byte{key, []byte("another-key-of-at-least-24-bytes")}, "msg_1", 1, []byte("{}"))
	if parts := strings.Fields(two); len(parts) != 2 || !strings.HasPrefix(parts[1], "v1,") {
		t.Fatalf("rotation signatures: %q", two)
	}
}

type target struct {
	box   *fixture.Box
	rc    *webhooktest.Receiver
	inj   *fault.Injector
	url   string
	links *reclink.Signer
	rows  []outbox.Delivery
}

func newTarget(t *testing.T, mode string) *target {
	tg := &target{box: fixture.Open(t), rc: webhooktest.New(fixture.Secret)}
	tg.inj = fault.New(tg.rc)
	tg.url = fixture.Serve(t, tg.inj)
	tg.links = reclink.New([]byte("link-key-0123456789abcdef0123456"), "https://box.example.com", time.Hour, nil)
	cfg := fixture.Config(t, fixture.Webhook(tg.url, "      recording: "+mode+"\n"))
	rec := tg.box.Recorded(t, tg.box.Call(t, "wh-1", time.Now().Add(-2*time.Minute)))
	for _, r := range tg.box.Finish(t, cfg, rec, lookup.Caller{Found: true, Name: "Dana Scully", Organization: "FBI", Directory: "desk"}) {
		tg.rows = append(tg.rows, outbox.Delivery{ID: r.ID, Payload: r.Payload, Kind: r.Kind, Attempt: 1})
	}
	return tg
}

func (tg *target) hook(t *testing.T, mode string) *webhook.Webhook {
	w, err := webhook.New(webhook.Options{URL: tg.url, Secrets: []string{fixture.Secret}, Recording: mode, Links: tg.links,
		Files: tg.box.Files(), Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	return w
}

func TestEventPayloadWithRecordingLink(t *testing.T) {
	tg := newTarget(t, "link")
	w := tg.hook(t, "link")
	for _, d := range tg.rows {
		if r := w.Deliver(context.Background(), d); r.Outcome != outbox.Done {
			t.Fatal(r.Err)
		}
	}
	msgs := tg.rc.Messages()
	if len(msgs) != 2 || msgs[0].Type != event.CallFinished || msgs[1].Type != event.Survey || tg.rc.Rejected() != 0 {
		t.Fatalf("messages: %+v", msgs)
	}
	var ev event.Event
	if err := json.Unmarshal(msgs[0].Body, &ev); err != nil {
		t.Fatal(err)
	}
	c := ev.Data
	if ev.Version != 1 || ev.ID != msgs[0].ID || c.CallID != "wh-1" || c.From != "+15551230001" || c.AgentName != "Alice" ||
		c.Survey.Score != 4 || c.Caller.Organization != "FBI" || c.Recording == nil || c.Recording.URL == "" {
		t.Fatalf("event: %+v", ev)
	}
	u, err := url.Parse(c.Recording.URL)
	if err != nil || !strings.HasPrefix(c.Recording.URL, "https://box.example.com"+reclink.Path+"wh-1-rec?") {
		t.Fatalf("link %s", c.Recording.URL)
	}
	if err := tg.links.Verify("wh-1-rec", u.Query().Get("expires"), u.Query().Get("sig")); err != nil {
		t.Fatalf("the link does not verify: %v", err)
	}
	if c.Recording.URLExpiresAt == nil || c.Recording.URLExpiresAt.Before(time.Now().Add(59*time.Minute)) {
		t.Fatalf("expiry %v", c.Recording.URLExpiresAt)
	}
}

func TestRecordingUploadIsSignedOverItsBytes(t *testing.T) {
	tg := newTarget(t, "upload")
	w := tg.hook(t, "upload")
	if len(tg.rows) != 3 || tg.rows[1].Kind != event.Recording {
		t.Fatalf("rows: %+v", tg.rows)
	}
	if r := w.Deliver(context.Background(), tg.rows[1]); r.Outcome != outbox.Done {
		t.Fatal(r.Err)
	}
	msgs := tg.rc.Messages()
	want, _ := os.ReadFile(filepath.Join(tg.box.Dir, "recordings", "wh-1.wav"))
	if len(msgs) != 1 || msgs[0].Type != event.Recording || msgs[0].CallID != "wh-1" || string(msgs[0].Body) != string(want) {
		t.Fatalf("upload: %d messages, %d bytes", len(msgs), len(msgs[0].Body))
	}
	// A reset half-way through is retried; the receiver never saw a partial upload.
	tg.inj.Next(fault.Fault{ResetAfter: 2000})
	if r := w.Deliver(context.Background(), tg.rows[1]); r.Outcome != outbox.Retry {
		t.Fatalf("a reset mid-upload: %v", r.Outcome)
	}
	// A recording gone from the disk is a dead letter.
	os.Remove(filepath.Join(tg.box.Dir, "recordings", "wh-1.wav"))
	if r := w.Deliver(context.Background(), tg.rows[1]); r.Outcome != outbox.Dead {
		t.Fatalf("a missing file: %v %v", r.Outcome, r.Err)
	}
}

func TestReceiverAnswers(t *testing.T) {
	for _, tc := range []struct {
		status int
		want   outbox.Outcome
	}{
		{http.StatusGone, outbox.Pause}, // Standard Webhooks: the endpoint wants no more
		{http.StatusTooManyRequests, outbox.Retry},
		{http.StatusBadGateway, outbox.Retry},
		{http.StatusUnauthorized, outbox.Pause},
		{http.StatusUnprocessableEntity, outbox.Dead},
		{http.StatusMovedPermanently, outbox.Dead}, // redirects are not followed
	} {
		tg := newTarget(t, "none")
		tg.inj.Next(fault.Fault{Status: tc.status})
		if r := tg.hook(t, "none").Deliver(context.Background(), tg.rows[0]); r.Outcome != tc.want {
			t.Errorf("%d: %v, want %v", tc.status, r.Outcome, tc.want)
		}
	}
	// Recording mode none sends the recording's description but no link.
	tg := newTarget(t, "none")
	tg.hook(t, "none").Deliver(context.Background(), tg.rows[0])
	var ev event.Event
	json.Unmarshal(tg.rc.Messages()[0].Body, &ev)
	if ev.Data.Recording == nil || ev.Data.Recording.URL != "" {
		t.Fatalf("mode none: %+v", ev.Data.Recording)
	}
}

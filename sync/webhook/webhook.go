// Package webhook delivers call events to a generic HTTP receiver, signed by the Standard
// Webhooks scheme (v1): headers webhook-id (the event id, stable across retries),
// webhook-timestamp (Unix seconds of the attempt) and webhook-signature
// ("v1,<base64 HMAC-SHA256(secret, id.timestamp.body)>", one per secret during rotation).
//
// The body is the versioned JSON event (package event). Recordings reach the receiver in one
// of two ways: a signed, expiring link to the box in data.recording.url (mode "link"), or a
// second request whose body is the audio itself (mode "upload", event type "recording"),
// signed the same way over the raw bytes.
package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"hash"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"callbox/config"
	"callbox/sync/adapter"
	"callbox/sync/event"
	"callbox/sync/outbox"
	"callbox/sync/reclink"
)

// Options build a Webhook.
type Options struct {
	URL string
	// Secrets sign every request: the current one first, then any previous one that
	// receivers may still check during a rotation. Each is whsec_ and base64.
	Secrets   []string
	Recording string          // link, upload or none
	Links     *reclink.Signer // makes the links of mode "link"; nil sends none
	Files     adapter.Files
	Timeout   time.Duration
	Now       func() time.Time
}

// Webhook is one receiver.
type Webhook struct {
	o      Options
	keys   [][]byte
	client *adapter.Client
}

// New makes a webhook deliverer.
func New(o Options) (*Webhook, error) {
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Timeout <= 0 {
		o.Timeout = 20 * time.Second
	}
	w := &Webhook{o: o, client: adapter.NewClient(o.Timeout, nil)}
	w.client.Now = o.Now
	for _, s := range o.Secrets {
		k, err := DecodeSecret(s)
		if err != nil {
			return nil, err
		}
		w.keys = append(w.keys, k)
	}
	if len(w.keys) == 0 {
		return nil, errors.New("webhook: no secret")
	}
	return w, nil
}

// DecodeSecret turns whsec_<base64> into the HMAC key.
func DecodeSecret(s string) ([]byte, error) {
	raw, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return nil, errors.New("webhook secret must start with whsec_")
	}
	k, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		k, err = base64.RawStdEncoding.DecodeString(raw)
	}
	if err != nil {
		return nil, fmt.Errorf("webhook secret: %w", err)
	}
	return k, nil
}

// Sign is the webhook-signature header for a message: one v1 signature per key.
func Sign(keys [][]byte, id string, ts int64, body []byte) string {
	macs := make([]hash.Hash, len(keys))
	for i, k := range keys {
		macs[i] = hmac.New(sha256.New, k)
		macs[i].Write([]byte(id + "." + strconv.FormatInt(ts, 10) + "."))
		macs[i].Write(body)
	}
	return signatures(macs)
}

func signatures(macs []hash.Hash) string {
	sigs := make([]string, len(macs))
	for i, m := range macs {
		sigs[i] = "v1," + base64.StdEncoding.EncodeToString(m.Sum(nil))
	}
	return strings.Join(sigs, " ")
}

// Deliver sends one row.
func (w *Webhook) Deliver(ctx context.Context, d outbox.Delivery) outbox.Result {
	step, bad := adapter.Step(d)
	if bad != nil {
		return *bad
	}
	if step.Action == event.ActionUpload {
		return w.upload(ctx, d, step)
	}
	ev := step.Event
	ev.ID = d.ID
	if r := ev.Data.Recording; r != nil {
		rec := *r
		if w.o.Recording == config.RecordingLink && w.o.Links != nil {
			u, exp := w.o.Links.URL(rec.ID)
			rec.URL, rec.URLExpiresAt = u, &exp
		}
		ev.Data.Recording = &rec
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // links keep their & as it is
	if err := enc.Encode(ev); err != nil {
		return outbox.Permanent(fmt.Errorf("encode event: %w", err))
	}
	body := bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.o.URL, bytes.NewReader(body))
	if err != nil {
		return outbox.Permanent(err)
	}
	ts := w.o.Now().Unix()
	w.headers(req, d.ID, ts, Sign(w.keys, d.ID, ts, body), "application/json")
	return w.send(req)
}

// upload sends a recording's audio, signed over its bytes: the file is read twice (once to
// sign, once to send) so a long recording is never held in memory.
func (w *Webhook) upload(ctx context.Context, d outbox.Delivery, step event.Step) outbox.Result {
	f, size, bad := w.o.Files.Open(step.RecordingPath)
	if bad != nil {
		return *bad
	}
	defer f.Close()
	ts := w.o.Now().Unix()
	macs := make([]hash.Hash, len(w.keys))
	writers := make([]io.Writer, len(w.keys))
	for i, k := range w.keys {
		macs[i] = hmac.New(sha256.New, k)
		macs[i].Write([]byte(d.ID + "." + strconv.FormatInt(ts, 10) + "."))
		writers[i] = macs[i]
	}
	if _, err := io.Copy(io.MultiWriter(writers...), f); err != nil {
		return outbox.Transient(fmt.Errorf("read recording: %w", err))
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return outbox.Transient(fmt.Errorf("read recording: %w", err))
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.o.URL, io.NopCloser(f))
	if err != nil {
		return outbox.Permanent(err)
	}
	req.ContentLength = size
	w.headers(req, d.ID, ts, signatures(macs), "audio/wav")
	c := step.Event.Data
	req.Header["callbox-event-type"] = []string{event.Recording}
	req.Header["callbox-call-id"] = []string{c.CallID}
	if c.Recording != nil {
		req.Header["callbox-recording-id"] = []string{c.Recording.ID}
		req.Header["callbox-recording-kind"] = []string{c.Recording.Kind}
	}
	return w.send(req)
}

func (w *Webhook) headers(req *http.Request, id string, ts int64, sig, contentType string) {
	// Standard Webhooks spells its headers in lower case; Go keeps keys set this way as they are.
	req.Header["webhook-id"] = []string{id}
	req.Header["webhook-timestamp"] = []string{strconv.FormatInt(ts, 10)}
	req.Header["webhook-signature"] = []string{sig}
	req.Header.Set("Content-Type", contentType)
	req.Header["callbox-schema-version"] = []string{strconv.Itoa(event.Version)}
}

func (w *Webhook) send(req *http.Request) outbox.Result {
	res, r := w.client.Do(req)
	if res != nil && res.Status == http.StatusGone {
		// Standard Webhooks: 410 means the receiver wants no more; stop until an admin acts.
		return outbox.Result{Outcome: outbox.Pause, Status: res.Status,
			Err: fmt.Errorf("the receiver answered 410 Gone: it wants no more webhooks")}
	}
	return r
}

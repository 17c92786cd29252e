// Package webhooktest is a webhook receiver for tests, written as the Standard Webhooks
// specification asks receivers to be: it verifies every signature and timestamp, and
// de-duplicates on webhook-id. It remembers what arrived, in order, for the test to check.
package webhooktest

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Message is one request the receiver accepted.
type Message struct {
	ID        string
	Type      string // the event type, "recording" for audio
	CallID    string
	Body      []byte
	Duplicate bool // the id was seen before
}

// Receiver is an http.Handler.
type Receiver struct {
	key []byte
	// Before, when set, runs first and may answer instead (return true): tests use it to
	// fail, delay or reset requests. body is the request's body.
	Before func(w http.ResponseWriter, r *http.Request, body []byte) bool
	// Tolerance is how far webhook-timestamp may be from now (default 5 minutes).
	Tolerance time.Duration
	Now       func() time.Time

	mu       sync.Mutex
	seen     map[string]int
	messages []Message
	rejected int
	changed  chan struct{}
}

// New makes a receiver for secret (whsec_…).
func New(secret string) *Receiver {
	raw := strings.TrimPrefix(secret, "whsec_")
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		panic("webhooktest: bad secret: " + err.Error())
	}
	return &Receiver{key: key, seen: map[string]int{}, changed: make(chan struct{}), Tolerance: 5 * time.Minute, Now: time.Now}
}

// ServeHTTP verifies and records one webhook.
func (rc *Receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	if rc.Before != nil && rc.Before(w, r, body) {
		return
	}
	id, ts, sig := r.Header.Get("webhook-id"), r.Header.Get("webhook-timestamp"), r.Header.Get("webhook-signature")
	if !rc.verify(id, ts, sig, body) {
		rc.mu.Lock()
		rc.rejected++
		rc.mu.Unlock()
		http.Error(w, "bad signature or timestamp", http.StatusUnauthorized)
		return
	}
	m := Message{ID: id, Body: body}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		var ev struct {
			Type string `json:"type"`
			Data struct {
				CallID string `json:"call_id"`
			} `json:"data"`
		}
		if err := json.Unmarshal(body, &ev); err != nil {
			http.Error(w, "bad json", http.StatusBadRequest)
			return
		}
		m.Type, m.CallID = ev.Type, ev.Data.CallID
	} else {
		m.Type, m.CallID = r.Header.Get("callbox-event-type"), r.Header.Get("callbox-call-id")
	}
	rc.mu.Lock()
	rc.seen[id]++
	m.Duplicate = rc.seen[id] > 1
	rc.messages = append(rc.messages, m)
	close(rc.changed)
	rc.changed = make(chan struct{})
	rc.mu.Unlock()
	w.WriteHeader(http.StatusNoContent)
}

func (rc *Receiver) verify(id, ts, sig string, body []byte) bool {
	if id == "" || ts == "" || sig == "" {
		return false
	}
	t, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		return false
	}
	if d := rc.Now().Sub(time.Unix(t, 0)); d > rc.Tolerance || d < -rc.Tolerance {
		return false
	}
	mac := hmac.New(sha256.New, rc.key)
	mac.Write([]byte(id + "." + ts + "."))
	mac.Write(body)
	want := base64.StdEncoding.EncodeToString(mac.Sum(nil))
	for _, s := range strings.Fields(sig) {
		v, b64, ok := strings.Cut(s, ",")
		if ok && v == "v1" && hmac.Equal([]byte(b64), []byte(want)) {
			return true
		}
	}
	return false
}

// Messages returns what arrived so far, in order, duplicates included.
func (rc *Receiver) Messages() []Message {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Message(nil), rc.messages...)
}

// Unique is how many distinct ids arrived.
func (rc *Receiver) Unique() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return len(rc.seen)
}

// Seen is how often id arrived.
func (rc *Receiver) Seen(id string) int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.seen[id]
}

// Rejected is how many requests failed verification.
func (rc *Receiver) Rejected() int {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return rc.rejected
}

// Wait waits until at least n distinct ids arrived, or ctx ends.
func (rc *Receiver) Wait(ctx context.Context, n int) error {
	for {
		rc.mu.Lock()
		got, ch := len(rc.seen), rc.changed
		rc.mu.Unlock()
		if got >= n {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

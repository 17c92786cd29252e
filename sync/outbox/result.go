package outbox

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Outcome is what became of one delivery attempt.
type Outcome int

const (
	// Done: the destination has it; the row is finished.
	Done Outcome = iota
	// Retry: a network error, a timeout, 408, 429 or 5xx; try again after a backoff (or the
	// destination's Retry-After).
	Retry
	// Reread: 409 or 412, someone changed the thing we update; try again soon, reading it anew.
	Reread
	// Dead: 400, 404, 422 and the like; the request itself is wrong, so trying again cannot
	// help. The row becomes a dead letter and an admin is alerted.
	Dead
	// Pause: 401 or 403 (or a webhook's 410); the destination refuses us. It is paused until
	// the configuration is reloaded or `callbox sync retry`; the row waits.
	Pause
	// Release: the box is stopping; the row goes back to the queue untouched.
	Release
)

func (o Outcome) String() string {
	switch o {
	case Done:
		return "done"
	case Retry:
		return "retry"
	case Reread:
		return "reread"
	case Dead:
		return "dead"
	case Pause:
		return "paused"
	case Release:
		return "released"
	}
	return "unknown"
}

// Result is the answer of a Deliverer.
type Result struct {
	Outcome Outcome
	// RemoteRef is what the destination calls the thing made (a ticket id); rows that
	// depend on this one get it as Delivery.DependencyRef.
	RemoteRef string
	// Err says what went wrong (nil when Done).
	Err error
	// RetryAfter is the destination's Retry-After, 0 when it gave none.
	RetryAfter time.Duration
	// Status is the HTTP status of the answer, 0 without one.
	Status int
}

// Delivered is a successful Result.
func Delivered(remoteRef string) Result { return Result{Outcome: Done, RemoteRef: remoteRef} }

// Transient is a Result to retry later: the request may or may not have arrived.
func Transient(err error) Result { return Result{Outcome: Retry, Err: err} }

// Permanent is a dead letter: the row cannot be delivered as it is.
func Permanent(err error) Result { return Result{Outcome: Dead, Err: err} }

// StatusError is a destination's non-2xx answer.
type StatusError struct {
	Status int
	Body   string // the start of the answer, for the admin
}

func (e *StatusError) Error() string {
	if e.Body == "" {
		return fmt.Sprintf("%d %s", e.Status, http.StatusText(e.Status))
	}
	return fmt.Sprintf("%d %s: %s", e.Status, http.StatusText(e.Status), e.Body)
}

// Classify turns an HTTP answer into a Result, following the rules every destination shares:
// 2xx done; 408, 429, 5xx retry; 409, 412 re-read; 401, 403 pause; other answers (400, 404,
// 410, 422, 3xx) are dead letters. body is the start of the answer, for the error message.
func Classify(status int, header http.Header, body string, now time.Time) Result {
	r := Result{Status: status}
	switch {
	case status >= 200 && status < 300:
		r.Outcome = Done
		return r
	case status == http.StatusRequestTimeout || status == http.StatusTooManyRequests || status >= 500:
		r.Outcome = Retry
		r.RetryAfter = ParseRetryAfter(header.Get("Retry-After"), now)
	case status == http.StatusConflict || status == http.StatusPreconditionFailed:
		r.Outcome = Reread
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		r.Outcome = Pause
	default:
		r.Outcome = Dead
	}
	r.Err = &StatusError{Status: status, Body: body}
	return r
}

// maxRetryAfter bounds a destination's Retry-After, so a typo on its side cannot park rows
// for months.
const maxRetryAfter = 24 * time.Hour

// ParseRetryAfter reads a Retry-After header: delay-seconds or an HTTP date. It returns 0 for
// none or nonsense.
func ParseRetryAfter(v string, now time.Time) time.Duration {
	if v == "" {
		return 0
	}
	var d time.Duration
	if secs, err := strconv.Atoi(v); err == nil {
		d = time.Duration(secs) * time.Second
	} else if t, err := http.ParseTime(v); err == nil {
		d = t.Sub(now)
	}
	if d <= 0 {
		return 0
	}
	return min(d, maxRetryAfter)
}

// Backoff is how long to wait before attempt+1 after attempt failed: exponential from one
// second, capped at limit, with jitter (a uniform pick in the upper half) so that rows that
// failed together do not come back together. rnd returns a number in [0, 1).
func Backoff(attempt int, limit time.Duration, rnd func() float64) time.Duration {
	d := time.Second
	for i := 1; i < attempt && d < limit; i++ {
		d *= 2
	}
	d = min(d, limit)
	return d/2 + time.Duration(rnd()*float64(d/2))
}

// rereadDelay is the short pause before re-reading after a conflict.
func rereadDelay(attempt int, rnd func() float64) time.Duration {
	return Backoff(attempt, 5*time.Second, rnd) / 4
}

// ErrRecordingGone is returned when a recording's file was removed before it was delivered.
var ErrRecordingGone = errors.New("the recording's file is gone from the box")

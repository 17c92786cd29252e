// Package fault wraps a fake helpdesk's handler so tests can make its next answers fail the
// ways real ones do: an error status (with Retry-After), a slow answer, or a connection reset
// half-way through reading a request's body.
package fault

import (
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"
)

// Fault is one failure, for the next request whose "METHOD path" starts with Match ("" any).
type Fault struct {
	Match      string
	Status     int    // answer this status instead
	RetryAfter string // with this Retry-After header
	Body       string
	Delay      time.Duration // answer only after this long (or when the client gives up)
	// ResetAfter > 0 reads this many bytes of the body, then resets the connection.
	ResetAfter int
	// Down answers nothing: the connection is closed at once (a crashed helpdesk).
	Down bool
	// LoseAnswer lets the request through, then resets the connection instead of answering:
	// the helpdesk did the work but the box never learns it.
	LoseAnswer bool
}

// Injector is an http.Handler that applies queued faults, then passes requests on.
type Injector struct {
	next http.Handler

	mu     sync.Mutex
	queue  []Fault
	always *Fault
	count  map[string]int
}

// New wraps h.
func New(h http.Handler) *Injector { return &Injector{next: h, count: map[string]int{}} }

// Next queues a fault for one matching request.
func (in *Injector) Next(f Fault) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.queue = append(in.queue, f)
}

// Always applies f to every request until Clear.
func (in *Injector) Always(f Fault) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.always = &f
}

// Clear drops every fault.
func (in *Injector) Clear() {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.queue, in.always = nil, nil
}

// Count is how many requests whose "METHOD path" starts with prefix arrived (faulty or not).
func (in *Injector) Count(prefix string) int {
	in.mu.Lock()
	defer in.mu.Unlock()
	n := 0
	for k, v := range in.count {
		if strings.HasPrefix(k, prefix) {
			n += v
		}
	}
	return n
}

func (in *Injector) take(key string) *Fault {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.count[key]++
	for i, f := range in.queue {
		if strings.HasPrefix(key, f.Match) {
			in.queue = append(in.queue[:i], in.queue[i+1:]...)
			return &f
		}
	}
	if in.always != nil && strings.HasPrefix(key, in.always.Match) {
		f := *in.always
		return &f
	}
	return nil
}

// ServeHTTP applies the first matching fault, if any.
func (in *Injector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	f := in.take(r.Method + " " + r.URL.Path)
	if f == nil {
		in.next.ServeHTTP(w, r)
		return
	}
	switch {
	case f.Down:
		hangUp(w)
		return
	case f.LoseAnswer:
		in.next.ServeHTTP(discard{}, r)
		hangUp(w)
		return
	case f.ResetAfter > 0:
		io.CopyN(io.Discard, r.Body, int64(f.ResetAfter))
		hangUp(w)
		return
	case f.Delay > 0:
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	if f.Status == 0 {
		in.next.ServeHTTP(w, r)
		return
	}
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(f.Status)
	io.WriteString(w, f.Body)
}

// hangUp resets the connection: closed with SO_LINGER 0, the client sees a reset.
func hangUp(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic("fault: cannot hijack: " + err.Error())
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	conn.Close()
}

// discard is a ResponseWriter that forgets the answer.
type discard struct{}

func (discard) Header() http.Header         { return http.Header{} }
func (discard) Write(b []byte) (int, error) { return len(b), nil }
func (discard) WriteHeader(int)             {}

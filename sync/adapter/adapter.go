// Package adapter holds what the destination adapters (webhook, Zendesk, Freshdesk, Zammad,
// RT, osTicket) share: HTTP requests whose answers become outbox results, the recordings on
// disk, and the words of tickets and comments.
package adapter

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode/utf8"

	"callbox"
	"callbox/sync/event"
	"callbox/sync/outbox"
	"callbox/sync/reclink"
)

// Client sends a destination's requests.
type Client struct {
	HTTP *http.Client
	// Auth adds the destination's credentials to a request.
	Auth func(*http.Request)
	Now  func() time.Time
}

// NewClient makes a client whose every request ends after timeout.
func NewClient(timeout time.Duration, auth func(*http.Request)) *Client {
	return &Client{HTTP: &http.Client{
		Timeout: timeout,
		// A destination that redirects is misconfigured: its answer is classified, not followed.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}, Auth: auth, Now: time.Now}
}

// Response is a destination's answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// maxBody is the most of an answer the box reads.
const maxBody = 4 << 20

// Do sends req and classifies the answer (outbox.Classify). The Response is nil when no
// answer came (a network error).
func (c *Client) Do(req *http.Request) (*Response, outbox.Result) {
	if c.Auth != nil {
		c.Auth(req)
	}
	if req.Header.Get("User-Agent") == "" {
		req.Header.Set("User-Agent", "callbox/"+callbox.Version)
	}
	res, err := c.HTTP.Do(req)
	if err != nil {
		return nil, outbox.Transient(fmt.Errorf("%s %s: %w", req.Method, redact(req.URL.String()), unwrapURLError(err)))
	}
	defer res.Body.Close()
	body, err := io.ReadAll(io.LimitReader(res.Body, maxBody))
	if err != nil {
		return nil, outbox.Transient(fmt.Errorf("%s %s: reading the answer: %w", req.Method, redact(req.URL.String()), err))
	}
	r := &Response{Status: res.StatusCode, Header: res.Header, Body: body}
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	result := outbox.Classify(res.StatusCode, res.Header, snippet(body), now())
	if result.Err != nil {
		result.Err = fmt.Errorf("%s %s: %w", req.Method, redact(req.URL.String()), result.Err)
	}
	return r, result
}

// JSON sends a JSON request (body nil for none) and decodes a 2xx answer into out (nil to
// skip). A 2xx answer that does not decode is a dead letter: the destination speaks another
// language than the one configured.
func (c *Client) JSON(ctx context.Context, method, url string, body, out any, header ...string) (*Response, outbox.Result) {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return nil, outbox.Permanent(fmt.Errorf("encode request: %w", err))
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return nil, outbox.Permanent(fmt.Errorf("bad request: %w", err))
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, result := c.Do(req)
	if result.Outcome != outbox.Done || out == nil {
		return res, result
	}
	if err := json.Unmarshal(res.Body, out); err != nil {
		return res, outbox.Permanent(fmt.Errorf("%s %s: unexpected answer %q: %w", method, redact(url), snippet(res.Body), err))
	}
	return res, result
}

// unwrapURLError drops the method and URL that *url.Error repeats (the caller says them).
func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}

// redact drops a URL's query (it may carry keys) for messages.
func redact(u string) string {
	if i := strings.IndexByte(u, '?'); i >= 0 {
		return u[:i]
	}
	return u
}

// snippet is the start of an answer, printable, for error messages.
func snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > 300 {
		s = s[:300]
		for !utf8.ValidString(s) {
			s = s[:len(s)-1]
		}
		s += "…"
	}
	return strings.Join(strings.Fields(s), " ")
}

// Step decodes a row's payload. A payload that does not decode is a dead letter.
func Step(d outbox.Delivery) (event.Step, *outbox.Result) {
	var s event.Step
	if err := json.Unmarshal(d.Payload, &s); err != nil {
		r := outbox.Permanent(fmt.Errorf("row %s: bad payload: %w", d.ID, err))
		return s, &r
	}
	return s, nil
}

// Files finds recordings on disk.
type Files struct {
	DataDir string // relative recording paths are under it
}

// Path is where a recording lies.
func (f Files) Path(p string) string {
	if filepath.IsAbs(p) || f.DataDir == "" {
		return p
	}
	return filepath.Join(f.DataDir, p)
}

// Open opens a recording; a missing file is a dead letter (outbox.ErrRecordingGone).
func (f Files) Open(p string) (*os.File, int64, *outbox.Result) {
	file, err := os.Open(f.Path(p))
	if err != nil {
		r := fileResult(p, err)
		return nil, 0, &r
	}
	fi, err := file.Stat()
	if err != nil {
		file.Close()
		r := outbox.Transient(fmt.Errorf("recording %s: %w", p, err))
		return nil, 0, &r
	}
	return file, fi.Size(), nil
}

// Read reads a whole recording, for APIs that want it inline (base64).
func (f Files) Read(p string) ([]byte, *outbox.Result) {
	b, err := os.ReadFile(f.Path(p))
	if err != nil {
		r := fileResult(p, err)
		return nil, &r
	}
	return b, nil
}

func fileResult(p string, err error) outbox.Result {
	if errors.Is(err, fs.ErrNotExist) {
		return outbox.Permanent(fmt.Errorf("recording %s: %w", p, outbox.ErrRecordingGone))
	}
	return outbox.Transient(fmt.Errorf("recording %s: %w", p, err))
}

// FileName is the name a recording gets at the destination.
func FileName(ev event.Event) string {
	kind := "call"
	if ev.Data.Recording != nil && ev.Data.Recording.Kind == "voicemail" {
		kind = "voicemail"
	}
	return fmt.Sprintf("%s-%s.wav", kind, safeName(ev.Data.CallID))
}

func safeName(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// Digits keeps the digits of a phone number, for comparing numbers written differently.
func Digits(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= '0' && r <= '9' {
			return r
		}
		return -1
	}, s)
}

// SameNumber tells whether two phone numbers are the same line, ignoring formatting and a
// missing country code on one side.
func SameNumber(a, b string) bool {
	da, db := Digits(a), Digits(b)
	if da == "" || db == "" {
		return false
	}
	if len(da) < len(db) {
		da, db = db, da
	}
	return strings.HasSuffix(da, db) && len(db) >= 6
}

// Deps are what every adapter is built with besides its configuration.
type Deps struct {
	Files Files
	Links *reclink.Signer // nil: the box hands out no links to recordings
	Now   func() time.Time
}

// Time is the current time.
func (d Deps) Time() time.Time {
	if d.Now == nil {
		return time.Now()
	}
	return d.Now()
}

// Link is a signed link to a recording, "" when the box has no links.
func (d Deps) Link(recordingID string) string {
	if d.Links == nil || recordingID == "" {
		return ""
	}
	u, _ := d.Links.URL(recordingID)
	return u
}

// ExtensionOf finds the extension mapped to a helpdesk user, "" when none is.
func ExtensionOf(agents map[string]string, user string) string {
	if user == "" {
		return ""
	}
	for ext, u := range agents {
		if strings.EqualFold(u, user) {
			return ext
		}
	}
	return ""
}

// Package reclink makes and checks the signed, expiring links through which destinations
// fetch recordings from the box: BASE/sync/recordings/ID?expires=UNIX&sig=HMAC. The link is
// its own proof, so the web server serves it without a login; it works until it expires and
// only for the recording it names.
package reclink

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Path is where the web server serves recordings; the id follows it.
const Path = "/sync/recordings/"

// Signer makes and checks links.
type Signer struct {
	key  []byte
	base string
	ttl  time.Duration
	now  func() time.Time
}

// New makes a signer with key, for links under baseURL (how receivers reach the box) that
// are valid for ttl.
func New(key []byte, baseURL string, ttl time.Duration, now func() time.Time) *Signer {
	if now == nil {
		now = time.Now
	}
	return &Signer{key: key, base: strings.TrimRight(baseURL, "/"), ttl: ttl, now: now}
}

func (s *Signer) sign(id string, expires int64) string {
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte("callbox-recording\n" + id + "\n" + strconv.FormatInt(expires, 10)))
	return base64.RawURLEncoding.EncodeToString(mac.Sum(nil))
}

// URL is a link to the recording id, and when it stops working.
func (s *Signer) URL(id string) (string, time.Time) {
	exp := s.now().Add(s.ttl).Truncate(time.Second)
	q := url.Values{"expires": {strconv.FormatInt(exp.Unix(), 10)}, "sig": {s.sign(id, exp.Unix())}}
	return s.base + Path + url.PathEscape(id) + "?" + q.Encode(), exp
}

// Errors of Verify.
var (
	ErrExpired = errors.New("the link has expired")
	ErrBadSig  = errors.New("the link is not valid")
)

// Verify checks a link's id, expires and sig.
func (s *Signer) Verify(id, expires, sig string) error {
	exp, err := strconv.ParseInt(expires, 10, 64)
	if err != nil || sig == "" {
		return ErrBadSig
	}
	if !hmac.Equal([]byte(sig), []byte(s.sign(id, exp))) {
		return ErrBadSig
	}
	if s.now().Unix() > exp {
		return ErrExpired
	}
	return nil
}

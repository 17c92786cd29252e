package pbx

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// digestAuth is the server side of SIP digest authentication (RFC 3261 section 22, RFC 8760
// for SHA-256). Nonces are stateless (a timestamp and a MAC under a secret of the process) and
// expire; a nonce-count may be used once per nonce, so a captured request cannot be replayed.
type digestAuth struct {
	realm  string
	secret []byte
	ttl    time.Duration
	now    func() time.Time

	mu   sync.Mutex
	used map[string]nonceUse // nonce → highest nonce-count seen
}

type nonceUse struct {
	nc      uint64
	expires time.Time
}

func newDigestAuth(realm string, ttl time.Duration, now func() time.Time) *digestAuth {
	secret := make([]byte, 32)
	rand.Read(secret)
	return &digestAuth{realm: realm, secret: secret, ttl: ttl, now: now, used: map[string]nonceUse{}}
}

// newNonce is base64(unix-nanos | random | mac).
func (a *digestAuth) newNonce() string {
	var b [8 + 8 + 16]byte
	binary.BigEndian.PutUint64(b[:8], uint64(a.now().UnixNano()))
	rand.Read(b[8:16])
	mac := hmac.New(sha256.New, a.secret)
	mac.Write(b[:16])
	copy(b[16:], mac.Sum(nil))
	return base64.RawURLEncoding.EncodeToString(b[:])
}

// checkNonce says whether a nonce is ours and whether it has expired.
func (a *digestAuth) checkNonce(nonce string) (ours, fresh bool) {
	b, err := base64.RawURLEncoding.DecodeString(nonce)
	if err != nil || len(b) != 32 {
		return false, false
	}
	mac := hmac.New(sha256.New, a.secret)
	mac.Write(b[:16])
	if !hmac.Equal(mac.Sum(nil)[:16], b[16:]) {
		return false, false
	}
	issued := time.Unix(0, int64(binary.BigEndian.Uint64(b[:8])))
	return true, a.now().Sub(issued) < a.ttl
}

// challenges are the WWW-Authenticate values for a 401, one per algorithm in the configured
// order (RFC 8760: a client takes the first algorithm it supports; many take the first).
func (a *digestAuth) challenges(algorithms []string, stale bool) []string {
	nonce := a.newNonce()
	s := ""
	if stale {
		s = ", stale=true"
	}
	var out []string
	for _, alg := range algorithms {
		out = append(out, fmt.Sprintf(`Digest realm="%s", nonce="%s", algorithm=%s, qop="auth"%s`, a.realm, nonce, alg, s))
	}
	return out
}

// credentials are the fields of an Authorization header.
type credentials struct {
	username, realm, nonce, uri, response, algorithm, qop, nc, cnonce string
}

var errNoCredentials = errors.New("no digest credentials")

// parseCredentials reads `Digest k="v", k=v, …`.
func parseCredentials(h string) (credentials, error) {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Digest") {
		return credentials{}, errNoCredentials
	}
	var c credentials
	for len(rest) > 0 {
		rest = strings.TrimLeft(rest, " ,\t")
		k, v, ok := strings.Cut(rest, "=")
		if !ok {
			break
		}
		k = strings.ToLower(strings.TrimSpace(k))
		v = strings.TrimLeft(v, " \t")
		var val string
		if strings.HasPrefix(v, `"`) {
			end := strings.IndexByte(v[1:], '"')
			if end < 0 {
				return credentials{}, errors.New("unterminated quoted value")
			}
			val, rest = v[1:1+end], v[2+end:]
		} else {
			end := strings.IndexByte(v, ',')
			if end < 0 {
				end = len(v)
			}
			val, rest = strings.TrimSpace(v[:end]), v[end:]
		}
		switch k {
		case "username":
			c.username = val
		case "realm":
			c.realm = val
		case "nonce":
			c.nonce = val
		case "uri":
			c.uri = val
		case "response":
			c.response = strings.ToLower(val)
		case "algorithm":
			c.algorithm = val
		case "qop":
			c.qop = val
		case "nc":
			c.nc = val
		case "cnonce":
			c.cnonce = val
		}
	}
	if c.username == "" || c.nonce == "" || c.response == "" || c.uri == "" {
		return credentials{}, errors.New("incomplete digest credentials")
	}
	return c, nil
}

// authResult is the outcome of checking credentials.
type authResult int

const (
	authOK      authResult = iota
	authMissing            // no credentials: challenge, not a failure
	authStale              // right password, old nonce: challenge again with stale=true
	authFailed             // wrong password, someone else's nonce, a replay: counts against the source
)

// verify checks credentials for method against the extension's password; only the
// algorithms offered count.
func (a *digestAuth) verify(c credentials, method, password string, algorithms []string) authResult {
	ours, fresh := a.checkNonce(c.nonce)
	if !ours || c.realm != a.realm {
		return authFailed
	}
	alg := strings.ToUpper(c.algorithm)
	if alg == "" {
		alg = "MD5"
	}
	if !slices.Contains(algorithms, alg) {
		return authFailed
	}
	var h func() hash.Hash
	switch alg {
	case "", "MD5":
		h = md5.New
	case "SHA-256":
		h = sha256.New
	default:
		return authFailed
	}
	hex := func(s string) string {
		x := h()
		x.Write([]byte(s))
		return hexString(x.Sum(nil))
	}
	ha1 := hex(c.username + ":" + a.realm + ":" + password)
	ha2 := hex(method + ":" + c.uri)
	var want string
	switch c.qop {
	case "auth":
		want = hex(ha1 + ":" + c.nonce + ":" + c.nc + ":" + c.cnonce + ":auth:" + ha2)
	case "":
		want = hex(ha1 + ":" + c.nonce + ":" + ha2)
	default:
		return authFailed
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(c.response)) != 1 {
		return authFailed
	}
	if !fresh {
		return authStale
	}
	if !a.firstUse(c) {
		return authFailed
	}
	return authOK
}

// firstUse records the nonce-count; with qop each count is good once, without qop the nonce is.
func (a *digestAuth) firstUse(c credentials) bool {
	nc := uint64(0)
	if c.qop != "" {
		v, err := strconv.ParseUint(c.nc, 16, 64)
		if err != nil || v == 0 {
			return false
		}
		nc = v
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	if len(a.used) > 10000 {
		for k, u := range a.used {
			if now.After(u.expires) {
				delete(a.used, k)
			}
		}
	}
	prev, seen := a.used[c.nonce]
	if seen && (c.qop == "" || nc <= prev.nc) {
		return false
	}
	a.used[c.nonce] = nonceUse{nc: nc, expires: now.Add(a.ttl)}
	return true
}

func hexString(b []byte) string { return hex.EncodeToString(b) }

package web

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"net"
	"net/http"
	"sync"
	"time"

	"callbox/config"
)

const (
	adminUser      = "admin"
	sessionCookie  = "callbox_session"
	sessionTTL     = 12 * time.Hour
	loginFailLimit = 5               // failed logins from one address...
	loginFailSpan  = time.Minute     // ...within this span...
	loginBan       = 5 * time.Minute // ...lock it out for this long
)

// authenticator checks the admin password for the TCP API and the page. It keeps sessions
// for the page and remembers recently checked Basic credentials, because the password hash is
// deliberately slow to compute.
type authenticator struct {
	now func() time.Time

	mu       sync.Mutex
	hash     config.PasswordHash
	sessions map[string]time.Time // token → expiry
	verified map[[32]byte]time.Time
	failures map[string][]time.Time // remote IP → recent failures
	banned   map[string]time.Time   // remote IP → until
}

func newAuthenticator(hash config.PasswordHash, now func() time.Time) *authenticator {
	return &authenticator{
		now: now, hash: hash,
		sessions: map[string]time.Time{}, verified: map[[32]byte]time.Time{},
		failures: map[string][]time.Time{}, banned: map[string]time.Time{},
	}
}

// setHash replaces the password (config reload); sessions and remembered credentials end.
func (a *authenticator) setHash(h config.PasswordHash) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.hash = h
	clear(a.sessions)
	clear(a.verified)
}

func remoteIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// isBanned tells whether ip has failed too often lately.
func (a *authenticator) isBanned(ip string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	until, ok := a.banned[ip]
	if ok && a.now().Before(until) {
		return true
	}
	delete(a.banned, ip)
	return false
}

func (a *authenticator) fail(ip string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	recent := a.failures[ip][:0]
	for _, t := range a.failures[ip] {
		if now.Sub(t) < loginFailSpan {
			recent = append(recent, t)
		}
	}
	recent = append(recent, now)
	if len(recent) >= loginFailLimit {
		a.banned[ip] = now.Add(loginBan)
		delete(a.failures, ip)
		return
	}
	a.failures[ip] = recent
}

// checkPassword verifies the admin password.
func (a *authenticator) checkPassword(user, password string) bool {
	key := sha256.Sum256([]byte(user + "\x00" + password))
	a.mu.Lock()
	exp, ok := a.verified[key]
	hash := a.hash
	a.mu.Unlock()
	if ok && a.now().Before(exp) {
		return true
	}
	if subtle.ConstantTimeCompare([]byte(user), []byte(adminUser)) != 1 || !hash.Check(password) {
		return false
	}
	a.mu.Lock()
	a.verified[key] = a.now().Add(10 * time.Minute)
	a.mu.Unlock()
	return true
}

func (a *authenticator) newSession() string {
	b := make([]byte, 32)
	rand.Read(b)
	token := hex.EncodeToString(b)
	a.mu.Lock()
	a.sessions[token] = a.now().Add(sessionTTL)
	a.mu.Unlock()
	return token
}

func (a *authenticator) validSession(token string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	exp, ok := a.sessions[token]
	if !ok {
		return false
	}
	if a.now().After(exp) {
		delete(a.sessions, token)
		return false
	}
	return true
}

func (a *authenticator) endSession(token string) {
	a.mu.Lock()
	delete(a.sessions, token)
	a.mu.Unlock()
}

// authorized tells whether r carries a valid session cookie or Basic credentials; a wrong
// password counts as a failure against the client's address.
func (a *authenticator) authorized(r *http.Request) bool {
	if c, err := r.Cookie(sessionCookie); err == nil && a.validSession(c.Value) {
		return true
	}
	user, pass, ok := r.BasicAuth()
	if !ok {
		return false
	}
	if a.checkPassword(user, pass) {
		return true
	}
	a.fail(remoteIP(r))
	return false
}

// require wraps h so that only an authenticated admin reaches it. API clients get 401 with a
// Basic challenge; browsers asking for a page are sent to the login form.
func (a *authenticator) require(h http.Handler, page bool) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if a.isBanned(remoteIP(r)) {
			writeError(w, http.StatusTooManyRequests, "too many failed logins from your address; try again later")
			return
		}
		if a.authorized(r) {
			h.ServeHTTP(w, r)
			return
		}
		if page {
			http.Redirect(w, r, "/login", http.StatusSeeOther)
			return
		}
		w.Header().Set("WWW-Authenticate", `Basic realm="callbox", charset="UTF-8"`)
		writeError(w, http.StatusUnauthorized, "admin login required")
	})
}

package pbx

import (
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"time"

	"callbox/config"
)

// Ban is an address the box refuses to hear from.
type Ban struct {
	Addr     netip.Addr `json:"address"`
	Since    time.Time  `json:"since"`
	Until    time.Time  `json:"until"`
	Reason   string     `json:"reason"`
	Failures int        `json:"failures"`
}

// guard keeps scanners and password guessers out: it bans an address after repeated failed
// logins, rate-limits REGISTER and INVITE per address, and drops known scanners.
type guard struct {
	log     *slog.Logger
	now     func() time.Time
	metrics *metrics

	mu       sync.Mutex
	cfg      config.SIPSecurity
	failures map[netip.Addr][]time.Time
	bans     map[netip.Addr]Ban
	buckets  map[netip.Addr]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newGuard(cfg config.SIPSecurity, log *slog.Logger, m *metrics, now func() time.Time) *guard {
	return &guard{log: log, now: now, metrics: m, cfg: cfg,
		failures: map[netip.Addr][]time.Time{}, bans: map[netip.Addr]Ban{}, buckets: map[netip.Addr]*bucket{}}
}

func (g *guard) setConfig(cfg config.SIPSecurity) {
	g.mu.Lock()
	g.cfg = cfg
	g.mu.Unlock()
}

func (g *guard) trusted(a netip.Addr) bool {
	for _, p := range g.cfg.Networks {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// banned tells whether packets from a should be dropped unread.
func (g *guard) banned(a netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	b, ok := g.bans[a]
	if !ok {
		return false
	}
	if g.now().After(b.Until) {
		delete(g.bans, a)
		g.metrics.banned.Set(float64(len(g.bans)))
		return false
	}
	return true
}

// scanner tells whether a User-Agent belongs to a known scanner.
func (g *guard) scanner(userAgent string) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	ua := strings.ToLower(userAgent)
	for _, p := range g.cfg.DropUserAgents {
		if p != "" && strings.Contains(ua, strings.ToLower(p)) {
			return true
		}
	}
	return false
}

// allowRequest takes one token from a's bucket (request_rate per second, bursts of twice
// that).
func (g *guard) allowRequest(a netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.trusted(a) {
		return true
	}
	now := g.now()
	rate := g.cfg.RequestRate
	b, ok := g.buckets[a]
	if !ok {
		b = &bucket{tokens: 2 * rate, last: now}
		g.buckets[a] = b
	}
	b.tokens = min(2*rate, b.tokens+now.Sub(b.last).Seconds()*rate)
	b.last = now
	if b.tokens < 1 {
		return false
	}
	b.tokens--
	return true
}

// authFailed counts a failed login from a and bans a once it has failed auth_failures times
// within auth_window. It returns true when this failure started a ban.
func (g *guard) authFailed(a netip.Addr, user string) bool {
	g.metrics.authFailures.Inc()
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.trusted(a) {
		return false
	}
	now := g.now()
	recent := slices.DeleteFunc(g.failures[a], func(t time.Time) bool { return now.Sub(t) >= g.cfg.AuthWindow })
	recent = append(recent, now)
	if len(recent) < g.cfg.AuthFailures {
		g.failures[a] = recent
		return false
	}
	delete(g.failures, a)
	g.bans[a] = Ban{Addr: a, Since: now, Until: now.Add(g.cfg.Ban), Reason: "failed authentication", Failures: len(recent)}
	g.metrics.bans.Inc()
	g.metrics.banned.Set(float64(len(g.bans)))
	// Logged once per ban: the banned address's further packets are dropped unread.
	g.log.Warn("sip source banned", "source", a.String(), "failures", len(recent), "last_user", user, "until", now.Add(g.cfg.Ban).Format(time.RFC3339))
	return true
}

// authSucceeded forgets a's earlier failures.
func (g *guard) authSucceeded(a netip.Addr) {
	g.mu.Lock()
	delete(g.failures, a)
	g.mu.Unlock()
}

// Bans lists current bans, oldest first.
func (g *guard) list() []Ban {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	var out []Ban
	for _, b := range g.bans {
		if now.Before(b.Until) {
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(x, y Ban) int { return x.Since.Compare(y.Since) })
	return out
}

// unban lifts a ban; it tells whether there was one.
func (g *guard) unban(a netip.Addr) bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	_, ok := g.bans[a]
	delete(g.bans, a)
	delete(g.failures, a)
	g.metrics.banned.Set(float64(len(g.bans)))
	return ok
}

// prune drops expired state so scanners cannot grow the maps without bound.
func (g *guard) prune() {
	g.mu.Lock()
	defer g.mu.Unlock()
	now := g.now()
	for a, b := range g.bans {
		if now.After(b.Until) {
			delete(g.bans, a)
		}
	}
	for a, fs := range g.failures {
		if len(fs) == 0 || now.Sub(fs[len(fs)-1]) > g.cfg.AuthWindow {
			delete(g.failures, a)
		}
	}
	for a, b := range g.buckets {
		if now.Sub(b.last) > time.Minute {
			delete(g.buckets, a)
		}
	}
	g.metrics.banned.Set(float64(len(g.bans)))
}

// headerSafe strips CR and LF from a value taken from outside input before it goes into a
// header the box builds (a CRLF would start a header of the attacker's choosing).
func headerSafe(s string) string {
	if !strings.ContainsAny(s, "\r\n\x00") {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r == '\r' || r == '\n' || r == 0 {
			return -1
		}
		return r
	}, s)
}

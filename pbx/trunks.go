package pbx

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"callbox/config"
)

// TrunkState is a trunk as `callbox trunks` shows it.
type TrunkState struct {
	Name      string    `json:"name"`
	Kind      string    `json:"kind"`
	State     string    `json:"state"` // registered, registering, failed, up, down, unknown
	Server    string    `json:"server,omitempty"`
	LastError string    `json:"last_error,omitempty"`
	Since     time.Time `json:"since,omitzero"`
	Expires   time.Time `json:"registered_until,omitzero"`
}

// trunks keeps provider registrations fresh, qualifies trunks with OPTIONS and tells which
// trunk a request's source belongs to.
type trunks struct {
	p *PBX

	mu      sync.Mutex
	states  map[string]*TrunkState
	servers map[string][]netip.Addr // register trunks: the provider's addresses
	stop    context.CancelFunc
	wg      sync.WaitGroup
	ctx     context.Context
}

func newTrunks(p *PBX) *trunks {
	return &trunks{p: p, states: map[string]*TrunkState{}, servers: map[string][]netip.Addr{}}
}

func (t *trunks) run(ctx context.Context) {
	t.mu.Lock()
	t.ctx = ctx
	t.mu.Unlock()
	t.start(t.p.cfg.Load())
	<-ctx.Done()
	t.mu.Lock()
	stop := t.stop
	t.mu.Unlock()
	if stop != nil {
		stop()
	}
	t.wg.Wait()
}

// reload restarts the trunks' goroutines for a new configuration.
func (t *trunks) reload(cfg *config.Config) {
	t.mu.Lock()
	stop, ctx := t.stop, t.ctx
	t.mu.Unlock()
	if ctx == nil {
		return // not running yet; run starts with the new config
	}
	if stop != nil {
		stop()
	}
	t.wg.Wait()
	t.start(cfg)
}

func (t *trunks) start(cfg *config.Config) {
	t.mu.Lock()
	defer t.mu.Unlock()
	ctx, cancel := context.WithCancel(t.ctx)
	t.stop = cancel
	old := t.states
	t.states = map[string]*TrunkState{}
	for _, tr := range cfg.Trunks {
		st := &TrunkState{Name: tr.Name, Kind: tr.Kind, State: "unknown", Server: tr.Server}
		if o, ok := old[tr.Name]; ok {
			st.State, st.Since, st.LastError, st.Expires = o.State, o.Since, o.LastError, o.Expires
		}
		t.states[tr.Name] = st
		if tr.Kind == "register" {
			t.wg.Go(func() { t.registerLoop(ctx, tr) })
		}
		if tr.Qualify > 0 && tr.Server != "" {
			t.wg.Go(func() { t.qualifyLoop(ctx, tr) })
		}
	}
}

func (t *trunks) setState(name, state, lastErr string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	st, ok := t.states[name]
	if !ok {
		return
	}
	if st.State != state {
		st.Since = t.p.now()
	}
	st.State, st.LastError = state, lastErr
	up := 0.0
	if state == "registered" || state == "up" {
		up = 1
	}
	t.p.metrics.trunkUp.WithLabelValues(name).Set(up)
}

// States lists every trunk's state.
func (t *trunks) list() []TrunkState {
	t.mu.Lock()
	defer t.mu.Unlock()
	var out []TrunkState
	for _, tr := range t.p.cfg.Load().Trunks {
		if st, ok := t.states[tr.Name]; ok {
			out = append(out, *st)
		} else {
			out = append(out, TrunkState{Name: tr.Name, Kind: tr.Kind, State: "unknown", Server: tr.Server})
		}
	}
	return out
}

// Trunks lists every trunk's state.
func (p *PBX) Trunks() []TrunkState { return p.trunks.list() }

// match tells which trunk a request from a belongs to: an ip trunk whose sources contain a,
// or a register trunk whose provider resolves to a.
func (t *trunks) match(a netip.Addr) (config.Trunk, bool) {
	cfg := t.p.cfg.Load()
	for _, tr := range cfg.Trunks {
		for _, n := range tr.Networks {
			if n.Contains(a) {
				return tr, true
			}
		}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, tr := range cfg.Trunks {
		if slices.Contains(t.servers[tr.Name], a) {
			return tr, true
		}
	}
	return config.Trunk{}, false
}

// serverAddr splits a trunk's server into host and port (5060 when not given).
func serverAddr(s string) (string, int) {
	host, port, err := net.SplitHostPort(s)
	if err != nil {
		return s, 5060
	}
	n, _ := strconv.Atoi(port)
	return host, n
}

func (t *trunks) resolve(ctx context.Context, tr config.Trunk) {
	host, _ := serverAddr(tr.Server)
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	addrs, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	t.mu.Lock()
	t.servers[tr.Name] = addrs
	t.mu.Unlock()
}

// registerLoop keeps the box registered to a provider: refresh before expiry, back off and
// retry after failures.
func (t *trunks) registerLoop(ctx context.Context, tr config.Trunk) {
	backoff := 5 * time.Second
	for {
		t.resolve(ctx, tr)
		t.setState(tr.Name, "registering", "")
		granted, err := t.registerOnce(ctx, tr, tr.Expires)
		var wait time.Duration
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			t.p.metrics.trunkRegs.WithLabelValues(tr.Name, "failure").Inc()
			t.setState(tr.Name, "failed", err.Error())
			t.p.log.Warn("trunk registration failed", "trunk", tr.Name, "server", tr.Server, "err", err, "retry_in", backoff)
			wait = backoff
			backoff = min(backoff*2, 5*time.Minute)
		} else {
			t.p.metrics.trunkRegs.WithLabelValues(tr.Name, "success").Inc()
			t.mu.Lock()
			if st, ok := t.states[tr.Name]; ok {
				st.Expires = t.p.now().Add(granted)
			}
			t.mu.Unlock()
			t.setState(tr.Name, "registered", "")
			backoff = 5 * time.Second
			// Refresh well before expiry, with jitter so many boxes do not beat in step.
			wait = granted*3/4 - time.Duration(rand.Int64N(int64(granted/20)+1))
		}
		select {
		case <-ctx.Done():
			// Leave the provider tidy: unregister, briefly.
			uctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			t.registerOnce(uctx, tr, 0)
			cancel()
			return
		case <-time.After(wait):
		}
	}
}

// registerOnce sends one REGISTER (answering a digest challenge) and returns the lifetime
// the provider granted.
func (t *trunks) registerOnce(ctx context.Context, tr config.Trunk, expires time.Duration) (time.Duration, error) {
	host, port := serverAddr(tr.Server)
	side := t.p.side(tr.Transport)
	if side == nil {
		return 0, fmt.Errorf("no %s listener to register from", tr.Transport)
	}
	aor := sip.Uri{Scheme: "sip", User: tr.Username, Host: host}
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: host, Port: port})
	req.SetTransport(strings.ToUpper(tr.Transport))
	from := &sip.FromHeader{Address: aor, Params: sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(12)}}}
	req.AppendHeader(from)
	req.AppendHeader(&sip.ToHeader{Address: aor})
	contact := side.contact
	contact.Address.User = tr.Username
	req.AppendHeader(&contact)
	req.AppendHeader(sip.NewHeader("Expires", strconv.Itoa(int(expires/time.Second))))
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	res, err := side.client.Do(ctx, req)
	if err != nil {
		return 0, fmt.Errorf("no answer from %s: %w", tr.Server, err)
	}
	if res.StatusCode == sip.StatusUnauthorized || res.StatusCode == sip.StatusProxyAuthRequired {
		user := tr.AuthUser
		if user == "" {
			user = tr.Username
		}
		res, err = side.client.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: tr.Password.Value()})
		if err != nil {
			return 0, fmt.Errorf("authentication with %s: %w", tr.Server, err)
		}
	}
	if !res.IsSuccess() {
		return 0, fmt.Errorf("%s answered %d %s", tr.Server, res.StatusCode, res.Reason)
	}
	if expires == 0 {
		return 0, nil
	}
	granted := expires
	if h := res.GetHeader("Expires"); h != nil {
		if v, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && v > 0 {
			granted = time.Duration(v) * time.Second
		}
	}
	for _, h := range res.GetHeaders("Contact") {
		if c, ok := h.(*sip.ContactHeader); ok && c.Address.User == tr.Username {
			if v, ok := c.Params.Get("expires"); ok {
				if n, err := strconv.Atoi(v); err == nil && n > 0 {
					granted = time.Duration(n) * time.Second
				}
			}
		}
	}
	if granted < 10*time.Second {
		return 0, errors.New("the provider granted less than 10 seconds")
	}
	return granted, nil
}

// qualifyLoop sends OPTIONS to a trunk to tell whether it is up.
func (t *trunks) qualifyLoop(ctx context.Context, tr config.Trunk) {
	tick := time.NewTicker(tr.Qualify)
	defer tick.Stop()
	for {
		host, port := serverAddr(tr.Server)
		req := sip.NewRequest(sip.OPTIONS, sip.Uri{Scheme: "sip", Host: host, Port: port})
		req.SetTransport(strings.ToUpper(tr.Transport))
		qctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		res, err := t.p.side(tr.Transport).client.Do(qctx, req)
		cancel()
		if ctx.Err() != nil {
			return
		}
		if tr.Kind == "ip" {
			if err == nil && res != nil {
				t.setState(tr.Name, "up", "")
			} else {
				t.setState(tr.Name, "down", "no answer to OPTIONS")
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

package pbx

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo/sip"
)

// Binding is one device registered to an extension.
type Binding struct {
	Extension string         `json:"extension"`
	Contact   string         `json:"contact"`   // the Contact URI the phone gave
	Source    netip.AddrPort `json:"source"`    // where its REGISTER really came from (NAT)
	Transport string         `json:"transport"` // udp or tcp
	UserAgent string         `json:"user_agent,omitempty"`
	CallID    string         `json:"-"`
	Expires   time.Time      `json:"expires"`
	LastSeen  time.Time      `json:"last_seen"`
	misses    int            // keep-alives unanswered in a row
	inFlight  bool           // a keep-alive is under way
	uri       sip.Uri
}

// registrar keeps the bindings of phones to extensions, in memory: after a restart phones
// register again within their refresh time.
type registrar struct {
	p *PBX

	mu       sync.Mutex
	bindings map[string][]*Binding // extension → devices
}

func newRegistrar(p *PBX) *registrar {
	return &registrar{p: p, bindings: map[string][]*Binding{}}
}

func (r *registrar) handleRegister(req *sip.Request, tx sip.ServerTransaction) {
	p := r.p
	ext, ok := p.authenticate(req, tx)
	if !ok {
		p.metrics.regRequests.WithLabelValues("unauthorized").Inc()
		return
	}
	if to := req.To(); to == nil || to.Address.User != ext.Number {
		// Credentials of one extension may not register another.
		p.metrics.regRequests.WithLabelValues("forbidden").Inc()
		respond(tx, req, sip.StatusForbidden, "Forbidden: the address of record is not yours")
		return
	}
	cfg := p.cfg.Load().SIP.Registrar
	defaultExpires := cfg.MaxExpires
	if h := req.GetHeader("Expires"); h != nil {
		if v, err := strconv.Atoi(strings.TrimSpace(h.Value())); err == nil && v >= 0 {
			defaultExpires = time.Duration(v) * time.Second
		}
	}
	contacts := req.GetHeaders("Contact")
	now := p.now()
	src := sourceAddr(req)
	ua := ""
	if h := req.GetHeader("User-Agent"); h != nil {
		ua = headerSafe(h.Value())
	}
	callID := req.CallID().Value()

	r.mu.Lock()
	for _, h := range contacts {
		c, ok := h.(*sip.ContactHeader)
		if !ok {
			continue
		}
		if c.Address.Wildcard {
			if defaultExpires != 0 {
				r.mu.Unlock()
				respond(tx, req, sip.StatusBadRequest, "Bad Request: Contact * needs Expires: 0")
				return
			}
			delete(r.bindings, ext.Number)
			continue
		}
		expires := defaultExpires
		if v, ok := c.Params.Get("expires"); ok {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				expires = time.Duration(n) * time.Second
			}
		}
		if expires != 0 && expires < cfg.MinExpires {
			r.mu.Unlock()
			p.metrics.regRequests.WithLabelValues("too_brief").Inc()
			respond(tx, req, sip.StatusIntervalToBrief, "Interval Too Brief", sip.NewHeader("Min-Expires", strconv.Itoa(int(cfg.MinExpires/time.Second))))
			return
		}
		expires = min(expires, cfg.MaxExpires)
		r.update(ext.Number, c.Address, src, req.Transport(), ua, callID, expires, now, cfg.MaxContacts)
	}
	current := slices.Clone(r.bindings[ext.Number])
	total := r.countLocked()
	r.mu.Unlock()
	p.metrics.registrations.Set(float64(total))
	p.metrics.regRequests.WithLabelValues("ok").Inc()

	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	for _, b := range current {
		res.AppendHeader(&sip.ContactHeader{Address: b.uri, Params: sip.HeaderParams{{K: "expires", V: strconv.Itoa(int(b.Expires.Sub(now).Round(time.Second) / time.Second))}}})
	}
	res.AppendHeader(sip.NewHeader("Date", now.UTC().Format(time.RFC1123)))
	tx.Respond(res)
	if len(contacts) > 0 {
		p.log.Debug("register", "extension", ext.Number, "source", src.String(), "transport", req.Transport(), "contacts", len(current))
	}
}

// update adds, refreshes or (expires 0) removes one contact of ext. The caller holds r.mu.
func (r *registrar) update(ext string, uri sip.Uri, src netip.AddrPort, transport, ua, callID string, expires time.Duration, now time.Time, maxContacts int) {
	key := uri.String()
	list := r.bindings[ext]
	idx := slices.IndexFunc(list, func(b *Binding) bool { return b.Contact == key })
	if expires == 0 {
		if idx >= 0 {
			list = slices.Delete(list, idx, idx+1)
		}
		r.setLocked(ext, list)
		return
	}
	b := &Binding{Extension: ext, Contact: key, uri: uri}
	if idx >= 0 {
		b = list[idx]
	} else {
		// A phone that rebooted registers a new contact with its old Call-ID gone: when the
		// extension is full, the device silent the longest makes room.
		if len(list) >= maxContacts {
			slices.SortFunc(list, func(x, y *Binding) int { return x.LastSeen.Compare(y.LastSeen) })
			list = list[len(list)-maxContacts+1:]
		}
		list = append(list, b)
	}
	b.Source, b.Transport, b.UserAgent, b.CallID = src, strings.ToLower(transport), ua, callID
	b.Expires, b.LastSeen, b.misses = now.Add(expires), now, 0
	r.setLocked(ext, list)
}

func (r *registrar) setLocked(ext string, list []*Binding) {
	if len(list) == 0 {
		delete(r.bindings, ext)
		return
	}
	r.bindings[ext] = list
}

func (r *registrar) countLocked() int {
	n := 0
	for _, l := range r.bindings {
		n += len(l)
	}
	return n
}

// contacts returns copies of the live bindings of ext.
func (r *registrar) contacts(ext string) []Binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.p.now()
	var out []Binding
	for _, b := range r.bindings[ext] {
		if now.Before(b.Expires) {
			out = append(out, *b)
		}
	}
	return out
}

// All returns every live binding, by extension.
func (r *registrar) all() map[string][]Binding {
	r.mu.Lock()
	defer r.mu.Unlock()
	now := r.p.now()
	out := map[string][]Binding{}
	for ext, list := range r.bindings {
		for _, b := range list {
			if now.Before(b.Expires) {
				out[ext] = append(out[ext], *b)
			}
		}
	}
	return out
}

// run expires bindings and sends OPTIONS keep-alives; a phone that misses two in a row is
// dropped, so calls do not ring a device that is gone.
func (r *registrar) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var wg sync.WaitGroup
	defer wg.Wait()
	sem := make(chan struct{}, 32)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		now := r.p.now()
		keepalive := r.p.cfg.Load().SIP.Registrar.Keepalive
		var due []Binding
		r.mu.Lock()
		for ext, list := range r.bindings {
			list = slices.DeleteFunc(list, func(b *Binding) bool { return !now.Before(b.Expires) || b.misses >= 2 })
			for _, b := range list {
				if keepalive > 0 && now.Sub(b.LastSeen) >= keepalive && !b.inFlight {
					b.inFlight = true
					due = append(due, *b)
				}
			}
			r.setLocked(ext, list)
		}
		total := r.countLocked()
		r.mu.Unlock()
		r.p.metrics.registrations.Set(float64(total))
		for _, b := range due {
			select {
			case sem <- struct{}{}:
			case <-ctx.Done():
				return
			}
			wg.Go(func() {
				defer func() { <-sem }()
				r.ping(ctx, b)
			})
		}
	}
}

func (r *registrar) ping(ctx context.Context, b Binding) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	side := r.p.side(b.Transport)
	req := sip.NewRequest(sip.OPTIONS, b.uri)
	req.SetTransport(strings.ToUpper(b.Transport))
	req.SetDestination(b.Source.String())
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: b.Extension, Host: b.uri.Host, Port: b.uri.Port}})
	res, err := side.client.Do(ctx, req)
	answered := err == nil && res != nil
	now := r.p.now()
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, cur := range r.bindings[b.Extension] {
		if cur.Contact != b.Contact {
			continue
		}
		cur.inFlight = false
		if answered {
			cur.LastSeen, cur.misses = now, 0
		} else {
			cur.misses++
			cur.LastSeen = now // try again after the next keep-alive interval
			if cur.misses >= 2 {
				r.p.log.Info("phone stopped answering keep-alives; registration dropped", "extension", b.Extension, "contact", b.Contact, "source", b.Source.String())
			}
		}
	}
}

// ExtensionState is one extension as `callbox ext` shows it.
type ExtensionState struct {
	Number   string    `json:"number"`
	Name     string    `json:"name"`
	State    string    `json:"state"` // registered, unregistered
	Contacts []Binding `json:"contacts"`
	LastSeen time.Time `json:"last_seen,omitzero"`
}

// Extensions lists every configured extension with its registrations.
func (p *PBX) Extensions() []ExtensionState {
	all := p.reg.all()
	var out []ExtensionState
	for _, e := range p.cfg.Load().Extensions {
		s := ExtensionState{Number: e.Number, Name: e.Name, State: "unregistered", Contacts: all[e.Number]}
		if s.Contacts == nil {
			s.Contacts = []Binding{}
		}
		for _, b := range s.Contacts {
			s.State = "registered"
			if b.LastSeen.After(s.LastSeen) {
				s.LastSeen = b.LastSeen
			}
		}
		out = append(out, s)
	}
	return out
}

// Registered is how many extensions have at least one device registered.
func (p *PBX) Registered() int {
	n := 0
	for _, l := range p.reg.all() {
		if len(l) > 0 {
			n++
		}
	}
	return n
}

func (b Binding) String() string {
	return fmt.Sprintf("%s via %s/%s", b.Contact, b.Transport, b.Source)
}

package config

import (
	"fmt"
	"net/netip"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func reflectValue(c *Config) reflect.Value { return reflect.ValueOf(c).Elem() }

var syntaxLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func syntaxProblem(file string, err error) Problem {
	msg := err.Error()
	if m := syntaxLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return Problem{File: file, Pos: Pos{line, 1}, Reason: "YAML syntax: " + m[2]}
	}
	return Problem{File: file, Pos: Pos{1, 1}, Reason: "YAML syntax: " + strings.TrimPrefix(msg, "yaml: ")}
}

// validator checks a decoded config and fills its parsed fields.
type validator struct {
	file     string
	problems Problems
}

func (v *validator) errorf(at Pos, format string, args ...any) {
	v.problems = append(v.problems, Problem{File: v.file, Pos: at, Reason: fmt.Sprintf(format, args...)})
}

var (
	extensionNumber = regexp.MustCompile(`^[0-9]{2,8}$`)
	phoneNumber     = regexp.MustCompile(`^\+?[0-9]{2,20}$`)
	digitsOnly      = regexp.MustCompile(`^\+?[0-9]*$`)
	nameRE          = regexp.MustCompile(`^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$`)
	countryRE       = regexp.MustCompile(`^[A-Z]{2}$`)
)

func (v *validator) check(c *Config) {
	v.checkBox(c)
	v.checkSIP(&c.SIP)
	v.checkRTP(&c.RTP)
	v.checkCalls(&c.Calls)
	v.checkRecording(&c.Recording)
	v.checkWeb(&c.Web)
	v.checkExtensions(c)
	v.checkGroups(c)
	v.checkTrunks(c)
	v.checkInbound(c)
	v.checkRoutes(c)
	v.checkQueues(c)
	v.checkSync(c)
	v.checkIVR(c)
}

func (v *validator) checkBox(c *Config) {
	if !nameRE.MatchString(c.Box.Name) {
		v.errorf(c.Box.Field("name"), "bad box name %q: use letters, digits, '.', '_' and '-'", c.Box.Name)
	}
	if !countryRE.MatchString(c.Box.Country) {
		v.errorf(c.Box.Field("country"), "bad country %q: want a two-letter ISO 3166 code like US, DE or CN", c.Box.Country)
	}
	switch c.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		v.errorf(c.Log.Field("level"), "bad log level %q: want debug, info, warn or error", c.Log.Level)
	}
}

func (v *validator) checkSIP(s *SIP) {
	if len(s.Listen) == 0 {
		v.errorf(s.Field("listen"), "missing sip.listen: give at least one address like udp://0.0.0.0:5060")
	}
	seen := map[string]bool{}
	for i, l := range s.Listen {
		at := listItemPos(s.Mark, "listen", i)
		tr, hostport, ok := strings.Cut(l, "://")
		if !ok {
			v.errorf(at, "bad listen address %q: want transport://host:port, e.g. udp://0.0.0.0:5060", l)
			continue
		}
		if tr != "udp" && tr != "tcp" {
			v.errorf(at, "bad listen transport %q: want udp or tcp", tr)
			continue
		}
		ap, err := netip.ParseAddrPort(hostport)
		if err != nil {
			v.errorf(at, "bad listen address %q: want an IP address and port, e.g. 0.0.0.0:5060", hostport)
			continue
		}
		if seen[l] {
			v.errorf(at, "listen address %s given twice", l)
			continue
		}
		seen[l] = true
		s.Listeners = append(s.Listeners, Listener{Transport: tr, Addr: ap})
	}
	if s.ExternalAddress != "" {
		a, err := netip.ParseAddr(s.ExternalAddress)
		if err != nil {
			v.errorf(s.Field("external_address"), "bad external address %q: want an IP address", s.ExternalAddress)
		}
		s.External = a
	}
	r := &s.Registrar
	if r.MinExpires < 10*time.Second {
		v.errorf(r.Field("min_expires"), "min_expires %s is too short: at least 10s", r.MinExpires)
	}
	if r.MaxExpires < r.MinExpires {
		v.errorf(r.Field("max_expires"), "max_expires %s is shorter than min_expires %s", r.MaxExpires, r.MinExpires)
	}
	if r.MaxContacts < 1 {
		v.errorf(r.Field("max_contacts"), "max_contacts must be at least 1")
	}
	sec := &s.Security
	if sec.AuthFailures < 1 {
		v.errorf(sec.Field("auth_failures"), "auth_failures must be at least 1")
	}
	if sec.RequestRate <= 0 {
		v.errorf(sec.Field("request_rate"), "request_rate must be above 0")
	}
	if len(sec.Digest) == 0 {
		v.errorf(sec.Field("digest"), "digest needs at least one algorithm: MD5 or SHA-256")
	}
	seenAlg := map[string]bool{}
	for i, a := range sec.Digest {
		if a != "MD5" && a != "SHA-256" {
			v.errorf(listItemPos(sec.Mark, "digest", i), "unknown digest algorithm %q: want MD5 or SHA-256", a)
		} else if seenAlg[a] {
			v.errorf(listItemPos(sec.Mark, "digest", i), "digest algorithm %s given twice", a)
		}
		seenAlg[a] = true
	}
	sec.Networks = v.networks(sec.Mark, "trusted", sec.Trusted, "trusted address", "10.0.0.0/8")
}

func (v *validator) checkRTP(r *RTP) {
	a, err := netip.ParseAddr(r.Address)
	if err != nil {
		v.errorf(r.Field("address"), "bad RTP address %q: want an IP address", r.Address)
	}
	r.Bind = a
	lo, hi, ok := strings.Cut(r.Ports, "-")
	min, err1 := strconv.Atoi(strings.TrimSpace(lo))
	max, err2 := strconv.Atoi(strings.TrimSpace(hi))
	switch {
	case !ok || err1 != nil || err2 != nil:
		v.errorf(r.Field("ports"), "bad RTP port range %q: want first-last, e.g. 10000-19999", r.Ports)
	case min < 1024 || max > 65535 || min > max:
		v.errorf(r.Field("ports"), "bad RTP port range %q: ports must be 1024-65535, first below last", r.Ports)
	case max-min < 1:
		v.errorf(r.Field("ports"), "RTP port range %q is too small", r.Ports)
	default:
		r.PortMin, r.PortMax = min, max
	}
	if r.NoMediaTimeout != 0 && r.NoMediaTimeout < time.Second {
		v.errorf(r.Field("no_media_timeout"), "no_media_timeout %s is too short: 0 (off) or at least 1s", r.NoMediaTimeout)
	}
}

func (v *validator) checkCalls(c *Calls) {
	if c.RingTimeout < time.Second {
		v.errorf(c.Field("ring_timeout"), "ring_timeout must be at least 1s")
	}
}

func (v *validator) checkRecording(r *Recording) {
	if r.Format != "pcmu" && r.Format != "pcm16" {
		v.errorf(r.Field("format"), "bad recording format %q: want pcmu (G.711 µ-law WAV) or pcm16", r.Format)
	}
	if r.Buffer < 10 {
		v.errorf(r.Field("buffer"), "recording buffer must hold at least 10 frames")
	}
}

func (v *validator) checkWeb(w *Web) {
	ap, err := netip.ParseAddrPort(w.Listen)
	if err != nil {
		v.errorf(w.Field("listen"), "bad web listen address %q: want IP:port, e.g. 127.0.0.1:8080", w.Listen)
	}
	w.Addr = ap
	if w.AdminPasswordHash.IsSet() {
		if _, err := ParsePasswordHash(w.AdminPasswordHash.Value()); err != nil {
			v.errorf(w.Field("admin_password_hash"), "bad admin_password_hash: %v (make one with `callbox passwd`)", err)
		}
	}
}

func (v *validator) checkExtensions(c *Config) {
	seen := map[string]Pos{}
	for _, e := range c.Extensions {
		switch {
		case !e.Has("number"):
			v.errorf(e.At(), "extension without a number")
		case !extensionNumber.MatchString(e.Number):
			v.errorf(e.Field("number"), "bad extension number %q: want 2 to 8 digits", e.Number)
		default:
			if first, dup := seen[e.Number]; dup {
				v.errorf(e.Field("number"), "duplicate extension %s (first at line %d)", e.Number, first.Line)
			} else {
				seen[e.Number] = e.Field("number")
			}
		}
		if !e.Password.IsSet() {
			if e.Has("password") {
				continue // the decoder has already said what is wrong with it
			}
			v.errorf(e.At(), "extension %s has no password", e.Number)
		} else if len(e.Password.Value()) < 8 && !c.isDemoPassword(e) {
			v.errorf(e.Field("password"), "extension %s: password is too short (at least 8 characters)", e.Number)
		}
	}
}

// isDemoPassword lets the demo's documented passwords (demo-1001) through the length rule.
func (c *Config) isDemoPassword(e Extension) bool {
	return e.Password.Value() == "demo-"+e.Number
}

func (v *validator) checkGroups(c *Config) {
	seen := map[string]Pos{}
	for _, g := range c.Groups {
		v.checkName("group", g.Mark, g.Name, seen)
		if len(g.Extensions) == 0 {
			v.errorf(g.Field("extensions"), "group %s has no extensions", g.Name)
		}
		for i, n := range g.Extensions {
			if _, ok := c.Extension(n); !ok {
				v.errorf(listItemPos(g.Mark, "extensions", i), "group %s: extension %s is not defined", g.Name, n)
			}
		}
		if g.RingTimeout != 0 && g.RingTimeout < time.Second {
			v.errorf(g.Field("ring_timeout"), "ring_timeout must be at least 1s")
		}
	}
}

func (v *validator) checkName(what string, m Mark, name string, seen map[string]Pos) {
	switch {
	case !m.Has("name"):
		v.errorf(m.At(), "%s without a name", what)
	case !nameRE.MatchString(name):
		v.errorf(m.Field("name"), "bad %s name %q: use letters, digits, '.', '_' and '-'", what, name)
	default:
		if first, dup := seen[name]; dup {
			v.errorf(m.Field("name"), "duplicate %s %s (first at line %d)", what, name, first.Line)
		} else {
			seen[name] = m.Field("name")
		}
	}
}

func (v *validator) checkTrunks(c *Config) {
	seen := map[string]Pos{}
	for i := range c.Trunks {
		t := &c.Trunks[i]
		v.checkName("trunk", t.Mark, t.Name, seen)
		if t.Transport == "" {
			t.Transport = "udp"
		}
		if t.Transport != "udp" && t.Transport != "tcp" {
			v.errorf(t.Field("transport"), "bad transport %q: want udp or tcp", t.Transport)
		}
		if t.Server != "" && !validHostPort(t.Server) {
			v.errorf(t.Field("server"), "bad server address %q: want host or host:port", t.Server)
		}
		switch t.Kind {
		case "register":
			if t.Server == "" {
				v.errorf(t.At(), "trunk %s registers but has no server", t.Name)
			}
			if t.Username == "" {
				v.errorf(t.At(), "trunk %s registers but has no username", t.Name)
			}
			if !t.Password.IsSet() && !t.Has("password") {
				v.errorf(t.At(), "trunk %s registers but has no password", t.Name)
			}
			if t.Expires == 0 {
				t.Expires = 5 * time.Minute
			} else if t.Expires < time.Minute {
				v.errorf(t.Field("expires"), "expires %s is too short: at least 1m", t.Expires)
			}
		case "ip":
			if len(t.Sources) == 0 {
				v.errorf(t.At(), "trunk %s is recognised by address but has no sources", t.Name)
			}
		case "":
			v.errorf(t.At(), "trunk %s has no kind: want register or ip", t.Name)
		default:
			v.errorf(t.Field("kind"), "bad trunk kind %q: want register or ip", t.Kind)
		}
		t.Networks = v.networks(t.Mark, "sources", t.Sources, "source address", "192.0.2.0/24")
	}
}

func (v *validator) checkInbound(c *Config) {
	seen := map[string]Pos{}
	for i := range c.Inbound {
		in := &c.Inbound[i]
		switch {
		case !in.Has("number"):
			v.errorf(in.At(), "inbound entry without a number")
		case !phoneNumber.MatchString(in.Number):
			v.errorf(in.Field("number"), "bad inbound number %q: want digits, optionally starting with +", in.Number)
		default:
			key := in.Trunk + "/" + in.Number
			if first, dup := seen[key]; dup {
				v.errorf(in.Field("number"), "duplicate inbound number %s (first at line %d)", in.Number, first.Line)
			} else {
				seen[key] = in.Field("number")
			}
		}
		if in.Trunk != "" {
			if _, ok := c.Trunk(in.Trunk); !ok {
				v.errorf(in.Field("trunk"), "inbound %s: trunk %s is not defined", in.Number, in.Trunk)
			}
		}
		if !in.Has("destination") {
			v.errorf(in.At(), "inbound %s has no destination", in.Number)
			continue
		}
		if d, ok := v.destination(c, in.Field("destination"), in.Destination); ok {
			in.Dest = d
		}
	}
}

// destination parses and resolves "kind:name".
func (v *validator) destination(c *Config, at Pos, s string) (Destination, bool) {
	kind, name, ok := strings.Cut(s, ":")
	if !ok || name == "" {
		v.errorf(at, "bad destination %q: want extension:NUMBER, group:NAME, number:NUMBER, queue:NAME, flow:NAME or voicemail:EXT", s)
		return Destination{}, false
	}
	d := Destination{Kind: kind, Name: name}
	switch kind {
	case "extension":
		if _, ok := c.Extension(name); !ok {
			v.errorf(at, "destination %s: extension %s is not defined", s, name)
			return d, false
		}
	case "group":
		if _, ok := c.Group(name); !ok {
			v.errorf(at, "destination %s: group %s is not defined", s, name)
			return d, false
		}
	case "number":
		if !phoneNumber.MatchString(name) {
			v.errorf(at, "destination %s: bad number %q", s, name)
			return d, false
		}
	case "queue":
		if _, ok := c.Queue(name); !ok {
			v.errorf(at, "destination %s: queue %s is not defined", s, name)
			return d, false
		}
	case "flow":
		if _, ok := c.Flow(name); !ok {
			v.errorf(at, "destination %s: flow %s is not defined under ivr.flows", s, name)
			return d, false
		}
	case "voicemail":
		if _, ok := c.Extension(name); !ok {
			v.errorf(at, "destination %s: voicemail box %s is not a defined extension", s, name)
			return d, false
		}
	default:
		v.errorf(at, "bad destination kind %q: want extension, group, number, queue, flow or voicemail", kind)
		return d, false
	}
	return d, true
}

func (v *validator) checkRoutes(c *Config) {
	seen := map[string]Pos{}
	for _, r := range c.Routes {
		v.checkName("route", r.Mark, r.Name, seen)
		if !digitsOnly.MatchString(r.Prefix) {
			v.errorf(r.Field("prefix"), "bad route prefix %q: want digits", r.Prefix)
		}
		if r.Strip < 0 || r.Strip > len(r.Prefix) && r.Prefix != "" {
			v.errorf(r.Field("strip"), "route %s strips %d digits but its prefix has %d", r.Name, r.Strip, len(r.Prefix))
		}
		if !digitsOnly.MatchString(r.Add) {
			v.errorf(r.Field("add"), "bad digits to add %q", r.Add)
		}
		if r.CallerID != "" && !phoneNumber.MatchString(r.CallerID) {
			v.errorf(r.Field("caller_id"), "bad caller_id %q: want a phone number", r.CallerID)
		}
		if len(r.Trunks) == 0 {
			v.errorf(r.Field("trunks"), "route %s has no trunks", r.Name)
		}
		for i, t := range r.Trunks {
			if _, ok := c.Trunk(t); !ok {
				v.errorf(listItemPos(r.Mark, "trunks", i), "route %s: trunk %s is not defined", r.Name, t)
			}
		}
	}
}

// networks parses the addresses or networks listed under key; each bad one is a problem
// that names what it is (what) and gives an example network.
func (v *validator) networks(m Mark, key string, list []string, what, example string) []netip.Prefix {
	var nets []netip.Prefix
	for i, s := range list {
		p, ok := parsePrefix(s)
		if !ok {
			v.errorf(listItemPos(m, key, i), "bad %s %q: want an IP address or a network like %s", what, s, example)
			continue
		}
		nets = append(nets, p)
	}
	return nets
}

func parsePrefix(s string) (netip.Prefix, bool) {
	if strings.Contains(s, "/") {
		p, err := netip.ParsePrefix(s)
		return p.Masked(), err == nil
	}
	a, err := netip.ParseAddr(s)
	if err != nil {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

var hostRE = regexp.MustCompile(`^[a-zA-Z0-9]([a-zA-Z0-9.-]{0,253})$`)

func validHostPort(s string) bool {
	host := s
	if h, p, ok := strings.Cut(s, ":"); ok && !strings.Contains(p, ":") {
		n, err := strconv.Atoi(p)
		if err != nil || n < 1 || n > 65535 {
			return false
		}
		host = h
	}
	if _, err := netip.ParseAddr(host); err == nil {
		return true
	}
	return hostRE.MatchString(host)
}

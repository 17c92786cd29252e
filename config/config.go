// Package config reads, checks and explains callbox configuration files.
//
// A file is YAML. Every problem in it (unknown key, wrong type, missing or bad value,
// duplicate, reference to something undefined) is reported with its file, line and column;
// Load returns them all at once as Problems.
package config

import (
	"bytes"
	_ "embed"
	"fmt"
	"net/netip"
	"os"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config is a whole callbox configuration.
type Config struct {
	Mark       `yaml:"-"`
	Box        Box         `yaml:"box"`
	Log        Log         `yaml:"log"`
	SIP        SIP         `yaml:"sip"`
	RTP        RTP         `yaml:"rtp"`
	Calls      Calls       `yaml:"calls"`
	Recording  Recording   `yaml:"recording"`
	Web        Web         `yaml:"web"`
	Extensions []Extension `yaml:"extensions"`
	Groups     []Group     `yaml:"groups"`
	Trunks     []Trunk     `yaml:"trunks"`
	Inbound    []Inbound   `yaml:"inbound"`
	Routes     []Route     `yaml:"routes"`
	// Queues, their agents and the agents' feature codes: config/queue.go.
	Queues       []Queue      `yaml:"queues"`
	Agents       []Agent      `yaml:"agents"`
	FeatureCodes FeatureCodes `yaml:"feature_codes"`
	MusicOnHold  MusicOnHold  `yaml:"music_on_hold"`
	Sync         Sync         `yaml:"sync"`
	// IVR: flows, opening hours, caller lists, voicemail, survey (config/ivr.go).
	IVR IVR `yaml:"ivr"`

	// File is the path the config was read from ("demo" for the built-in one).
	File string `yaml:"-"`
	// Demo is true for the built-in demo configuration.
	Demo bool `yaml:"-"`
}

// Box says who the box is.
type Box struct {
	Mark `yaml:"-"`
	Name string `yaml:"name"`
	// Country is the ISO 3166 code whose numbering plan turns local numbers into E.164.
	Country string `yaml:"country"`
}

// Log sets the daemon's logging.
type Log struct {
	Mark  `yaml:"-"`
	Level string `yaml:"level"` // debug, info, warn, error
}

// SIP is the signalling side.
type SIP struct {
	Mark   `yaml:"-"`
	Listen []string `yaml:"listen"` // transport://host:port
	// ExternalAddress is put in Contact headers and SDP when the box is behind NAT.
	ExternalAddress string      `yaml:"external_address"`
	UserAgent       string      `yaml:"user_agent"`
	Registrar       Registrar   `yaml:"registrar"`
	Security        SIPSecurity `yaml:"security"`
	Listeners       []Listener  `yaml:"-"` // Listen, parsed
	External        netip.Addr  `yaml:"-"` // ExternalAddress, parsed
}

// Listener is one SIP listening socket.
type Listener struct {
	Transport string         // "udp" or "tcp"
	Addr      netip.AddrPort // where it listens
}

func (l Listener) String() string { return l.Transport + "://" + l.Addr.String() }

// Registrar governs phone registrations.
type Registrar struct {
	Mark       `yaml:"-"`
	MinExpires time.Duration `yaml:"min_expires"`
	MaxExpires time.Duration `yaml:"max_expires"`
	// Keepalive is how often registered phones are sent OPTIONS; one that stops answering is
	// dropped.
	Keepalive time.Duration `yaml:"keepalive"`
	// MaxContacts is how many devices may register to one extension.
	MaxContacts int `yaml:"max_contacts"`
}

// SIPSecurity keeps scanners and password guessers out.
type SIPSecurity struct {
	Mark `yaml:"-"`
	// AuthFailures failed authentications from one address within AuthWindow ban it for Ban.
	AuthFailures int           `yaml:"auth_failures"`
	AuthWindow   time.Duration `yaml:"auth_window"`
	Ban          time.Duration `yaml:"ban"`
	// RequestRate is how many REGISTER and INVITE requests per second one address may send.
	RequestRate float64 `yaml:"request_rate"`
	// DropUserAgents are User-Agent substrings (case-insensitive) of scanners to drop silently.
	DropUserAgents []string `yaml:"drop_user_agents"`
	// Digest lists the digest algorithms offered to phones, in order (MD5, SHA-256). MD5
	// alone is the default: many phones take only the first challenge, and some (libre-based
	// ones such as baresip 1.x) give up when any challenge is not MD5.
	Digest []string `yaml:"digest"`
	// Trusted addresses or networks are never banned.
	Trusted  []string       `yaml:"trusted"`
	Networks []netip.Prefix `yaml:"-"` // Trusted, parsed
}

// RTP is the media side.
type RTP struct {
	Mark    `yaml:"-"`
	Address string `yaml:"address"` // where media sockets bind
	Ports   string `yaml:"ports"`   // "10000-19999"
	// NoMediaTimeout ends a call that has received no RTP for this long.
	NoMediaTimeout time.Duration `yaml:"no_media_timeout"`
	Bind           netip.Addr    `yaml:"-"`
	PortMin        int           `yaml:"-"`
	PortMax        int           `yaml:"-"`
}

// Calls sets limits that apply to every call.
type Calls struct {
	Mark        `yaml:"-"`
	MaxDuration time.Duration `yaml:"max_duration"`
	RingTimeout time.Duration `yaml:"ring_timeout"`
	// ShutdownGrace is how long calls in progress may go on after SIGTERM before the box ends
	// them.
	ShutdownGrace time.Duration `yaml:"shutdown_grace"`
}

// Recording governs call recording.
type Recording struct {
	Mark    `yaml:"-"`
	Enabled bool   `yaml:"enabled"`
	Format  string `yaml:"format"` // pcmu or pcm16
	// Buffer is how many 20 ms frames per call may wait for the disk before recording drops
	// audio (and says so) rather than slowing the call.
	Buffer int `yaml:"buffer"`
}

// Web is the local HTTP API, status page and metrics.
type Web struct {
	Mark   `yaml:"-"`
	Listen string `yaml:"listen"`
	// AdminPasswordHash is the admin's password as made by `callbox passwd`.
	AdminPasswordHash Secret         `yaml:"admin_password_hash"`
	Addr              netip.AddrPort `yaml:"-"`
}

// Extension is a number that phones register to.
type Extension struct {
	Mark     `yaml:"-"`
	Number   string `yaml:"number"`
	Name     string `yaml:"name"`
	Password Secret `yaml:"password"`
	// Record is nil when the global recording setting applies.
	Record *bool `yaml:"record"`
	// External allows this extension to call numbers outside the box through routes.
	External *bool `yaml:"external"`
}

// Group rings several extensions for one number.
type Group struct {
	Mark        `yaml:"-"`
	Name        string        `yaml:"name"`
	Extensions  []string      `yaml:"extensions"`
	RingTimeout time.Duration `yaml:"ring_timeout"`
}

// Trunk is a connection to a provider or a peer PBX.
type Trunk struct {
	Mark `yaml:"-"`
	Name string `yaml:"name"`
	// Kind is "register" (the box registers to the provider with a username and password) or
	// "ip" (the peer is recognised by its source address).
	Kind string `yaml:"kind"`
	// Server is the provider's host[:port] for outbound calls and registration.
	Server    string `yaml:"server"`
	Transport string `yaml:"transport"` // udp or tcp
	Username  string `yaml:"username"`
	AuthUser  string `yaml:"auth_user"`
	Password  Secret `yaml:"password"`
	Realm     string `yaml:"realm"`
	// Expires is the registration lifetime asked of the provider.
	Expires time.Duration `yaml:"expires"`
	// Sources are the addresses or networks whose requests belong to this trunk.
	Sources []string `yaml:"sources"`
	// Qualify is how often the trunk is sent OPTIONS to tell whether it is up; 0 turns it off.
	Qualify  time.Duration  `yaml:"qualify"`
	Networks []netip.Prefix `yaml:"-"` // Sources, parsed
}

// Inbound maps a number called from outside (a DID) to where its calls go.
type Inbound struct {
	Mark   `yaml:"-"`
	Number string `yaml:"number"`
	// Trunk limits the number to calls from one trunk; empty accepts it from any trunk.
	Trunk       string `yaml:"trunk"`
	Destination string `yaml:"destination"`
	Record      *bool  `yaml:"record"`
	// Survey asks callers the survey question when an agent hangs up on them.
	Survey bool        `yaml:"survey"`
	Dest   Destination `yaml:"-"`
}

// Route sends calls to outside numbers through trunks.
type Route struct {
	Mark   `yaml:"-"`
	Name   string   `yaml:"name"`
	Prefix string   `yaml:"prefix"` // dialled digits this route takes ("" takes any)
	Strip  int      `yaml:"strip"`  // digits removed from the front before sending
	Add    string   `yaml:"add"`    // digits added in front after stripping
	Trunks []string `yaml:"trunks"` // tried in order
	// CallerID is the number presented to the called party.
	CallerID string `yaml:"caller_id"`
}

// Destination is where a call goes: "extension:1001", "group:hotline", "number:+4930123",
// "queue:support", "flow:hotline", "voicemail:1001"; inside flows also "hangup".
type Destination struct {
	Kind string // extension, group, number, queue, flow, voicemail, hangup
	Name string
}

func (d Destination) String() string {
	if d.Name == "" {
		return d.Kind
	}
	return d.Kind + ":" + d.Name
}

// Load reads, decodes and checks a config file. The error, when not nil, is Problems or an
// I/O error.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

//go:embed demo.yaml
var demoYAML []byte

// DemoYAML is the built-in demo configuration, with its comments.
func DemoYAML() []byte { return bytes.Clone(demoYAML) }

// Demo returns the built-in demo configuration.
func Demo() *Config {
	c, err := Parse("demo", demoYAML)
	if err != nil {
		panic("config: built-in demo configuration is invalid: " + err.Error())
	}
	c.Demo = true
	return c
}

// Parse decodes and checks a config held in memory; name is used in messages.
func Parse(name string, data []byte) (*Config, error) {
	d := &decoder{file: name}
	c := defaults()
	c.File = name
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, Problems{syntaxProblem(name, err)}
	}
	if len(doc.Content) == 0 {
		return nil, Problems{{File: name, Pos: Pos{1, 1}, Reason: "the file is empty"}}
	}
	d.decode(doc.Content[0], reflectValue(c))
	v := &validator{file: name}
	v.problems = d.problems
	v.check(c)
	if len(v.problems) > 0 {
		return nil, v.problems.sorted()
	}
	return c, nil
}

// defaults is the config before the file is read; keys the file leaves out keep these.
func defaults() *Config {
	return &Config{
		Box: Box{Name: "callbox", Country: "US"},
		Log: Log{Level: "info"},
		SIP: SIP{
			UserAgent: "callbox",
			Registrar: Registrar{MinExpires: 60 * time.Second, MaxExpires: time.Hour, Keepalive: 30 * time.Second, MaxContacts: 5},
			Security: SIPSecurity{
				AuthFailures: 5, AuthWindow: time.Minute, Ban: 15 * time.Minute, RequestRate: 20,
				DropUserAgents: []string{"friendly-scanner", "sipvicious", "sipcli", "sip-scan", "VaxSIPUserAgent", "pplsip"},
				Digest:         []string{"MD5"},
			},
		},
		RTP:       RTP{Address: "0.0.0.0", Ports: "10000-19999", NoMediaTimeout: 30 * time.Second},
		Calls:     Calls{MaxDuration: 4 * time.Hour, RingTimeout: 30 * time.Second, ShutdownGrace: 30 * time.Second},
		Recording: Recording{Enabled: true, Format: "pcmu", Buffer: 250},
		Web:       Web{Listen: "127.0.0.1:8080"},
	}
}

// Summary is the one line `callbox config check` prints for a valid file.
func (c *Config) Summary() string {
	return fmt.Sprintf("%s: valid: %d extensions, %d groups, %d trunks, %d inbound numbers, %d routes",
		c.File, len(c.Extensions), len(c.Groups), len(c.Trunks), len(c.Inbound), len(c.Routes))
}

// Extension returns the extension with the given number.
func (c *Config) Extension(number string) (Extension, bool) {
	for _, e := range c.Extensions {
		if e.Number == number {
			return e, true
		}
	}
	return Extension{}, false
}

// Group returns the group with the given name.
func (c *Config) Group(name string) (Group, bool) {
	for _, g := range c.Groups {
		if g.Name == name {
			return g, true
		}
	}
	return Group{}, false
}

// Trunk returns the trunk with the given name.
func (c *Config) Trunk(name string) (Trunk, bool) {
	for _, t := range c.Trunks {
		if t.Name == name {
			return t, true
		}
	}
	return Trunk{}, false
}

// IsExtension tells whether number is an extension.
func (c *Config) IsExtension(number string) bool {
	_, ok := c.Extension(number)
	return ok
}

// IsLocal tells whether number ends inside the box: an extension or one of its numbers.
func (c *Config) IsLocal(number string) bool {
	if c.IsExtension(number) {
		return true
	}
	_, ok := c.InboundFor("", number)
	return ok
}

// InboundFor finds where calls to number arriving on trunk go. An entry for that very trunk
// wins over one for any trunk; from a phone (trunk "") any entry for the number applies.
func (c *Config) InboundFor(trunk, number string) (Inbound, bool) {
	var any *Inbound
	for i := range c.Inbound {
		in := &c.Inbound[i]
		if in.Number != number {
			continue
		}
		if in.Trunk == trunk && trunk != "" {
			return *in, true
		}
		if in.Trunk == "" || trunk == "" {
			if any == nil {
				any = in
			}
		}
	}
	if any != nil {
		return *any, true
	}
	return Inbound{}, false
}

// ShouldRecord tells whether a call to the inbound number did, taken by extension ext (or
// placed by callerExt), is recorded: the global switch, unless the number or an extension
// says otherwise; a "no" anywhere wins, because a recording made against a rule cannot be
// unmade.
func (c *Config) ShouldRecord(did, ext, callerExt string) bool {
	rec := c.Recording.Enabled
	var overrides []*bool
	if in, ok := c.InboundFor("", did); ok && did != "" {
		overrides = append(overrides, in.Record)
	}
	for _, n := range []string{ext, callerExt} {
		if e, ok := c.Extension(n); ok && n != "" {
			overrides = append(overrides, e.Record)
		}
	}
	for _, o := range overrides {
		if o == nil {
			continue
		}
		if !*o {
			return false
		}
		rec = true
	}
	return rec
}

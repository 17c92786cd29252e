package config

import (
	"encoding/base64"
	"net/url"
	"slices"
	"strings"
	"time"
)

// Sync says where the box sends what it learns about calls, and whom it asks about callers.
type Sync struct {
	Mark         `yaml:"-"`
	Destinations []SyncDestination `yaml:"destinations"`
	// Retention is how long a recording stays on the box once every destination has it; 0
	// keeps recordings on the box for good.
	Retention time.Duration  `yaml:"retention"`
	Links     RecordingLinks `yaml:"recording_links"`
	Lookup    Lookup         `yaml:"lookup"`
}

// RecordingLinks are the signed, expiring links to recordings that the box hands to
// destinations which fetch the audio themselves.
type RecordingLinks struct {
	Mark `yaml:"-"`
	// BaseURL is how receivers reach the box's web listener, e.g. https://box.example.com.
	// Default: http:// and web.listen.
	BaseURL string `yaml:"base_url"`
	// Secret signs the links. Default: a random key kept in the data folder.
	Secret Secret        `yaml:"secret"`
	TTL    time.Duration `yaml:"ttl"`
}

// Destination kinds.
const (
	KindWebhook   = "webhook"
	KindZendesk   = "zendesk"
	KindFreshdesk = "freshdesk"
	KindZammad    = "zammad"
	KindRT        = "rt"
	KindOSTicket  = "osticket"
)

// Recording modes of a destination.
const (
	RecordingLink   = "link"   // a signed, expiring link served by the box
	RecordingUpload = "upload" // the audio itself (webhook: a second signed request)
	RecordingAttach = "attach" // helpdesks: the audio as an attachment of a ticket comment
	RecordingNone   = "none"
)

// SyncDestination is one receiver of call events: a webhook or a helpdesk.
type SyncDestination struct {
	Mark `yaml:"-"`
	Name string `yaml:"name"`
	Kind string `yaml:"kind"` // webhook, zendesk, freshdesk, zammad, rt, osticket
	// URL is the webhook's address or the helpdesk's base address (https://acme.zendesk.com).
	URL string `yaml:"url"`
	// Secret signs webhooks (Standard Webhooks, whsec_…); PreviousSecret also signs them while
	// receivers move to a new secret.
	Secret         Secret `yaml:"secret"`
	PreviousSecret Secret `yaml:"previous_secret"`
	// User and Token are the helpdesk's credentials: Zendesk agent e-mail and API token,
	// Freshdesk API key, Zammad or RT access token, osTicket API key.
	User  string `yaml:"user"`
	Token Secret `yaml:"token"`
	// Numbers and Queues choose the calls: empty both for every call, else calls to one of
	// the numbers (DIDs) or through one of the queues.
	Numbers   []string     `yaml:"numbers"`
	Queues    []string     `yaml:"queues"`
	Recording string       `yaml:"recording"`
	Tickets   TicketPolicy `yaml:"tickets"`
	// Agents maps extensions to helpdesk users (id, login or e-mail, as the helpdesk wants).
	Agents map[string]string `yaml:"agents"`
	// CallIDField is the helpdesk field that keeps the box's call id, so a ticket whose
	// creation had an uncertain outcome is found again instead of created twice.
	CallIDField string `yaml:"call_id_field"`
	Group       string `yaml:"group"` // Zammad: the group new tickets go to
	Queue       string `yaml:"queue"` // RT: the queue new tickets go to
	// Email is the requester address when the caller has none: osTicket needs one. {number}
	// is replaced by the caller's digits.
	Email string `yaml:"email"`
	// CTIToken is Zammad's generic CTI token: the box then also logs each call there.
	CTIToken Secret `yaml:"cti_token"`
	// VIPTag marks VIP callers in the helpdesk (Zendesk and Freshdesk tags).
	VIPTag string `yaml:"vip_tag"`
	// ScreenPop: Zendesk pops the new ticket on the answering agent's screen when it is
	// delivered within this long after the hang-up; 0 never.
	ScreenPop   time.Duration `yaml:"screen_pop"`
	Timeout     time.Duration `yaml:"timeout"`
	Concurrency int           `yaml:"concurrency"`
	MaxBackoff  time.Duration `yaml:"max_backoff"`
}

// TicketPolicy says which tickets a helpdesk gets for which calls.
type TicketPolicy struct {
	Mark `yaml:"-"`
	// Answered: new (a ticket per call), open (a comment on the caller's open ticket when the
	// look-up knows one, else a new ticket) or none.
	Answered string `yaml:"answered"`
	// Missed (and abandoned) calls: callback (a ticket asking to call back) or none.
	Missed string `yaml:"missed"`
	// Voicemail: ticket (with the recording) or none.
	Voicemail string `yaml:"voicemail"`
	// Survey scores: comment, field (SurveyField) or none.
	Survey      string `yaml:"survey"`
	SurveyField string `yaml:"survey_field"`
}

// Lookup is how the box asks a helpdesk who is calling.
type Lookup struct {
	Mark `yaml:"-"`
	// From names the destination whose helpdesk answers; empty turns look-ups off.
	From string `yaml:"from"`
	// Deadline is the longest a call waits for the helpdesk before the cache answers.
	Deadline time.Duration `yaml:"deadline"`
	// Fresh cached answers are used without asking the helpdesk again.
	Fresh time.Duration `yaml:"fresh"`
	// TTL: cached answers older than this are not used at all.
	TTL time.Duration `yaml:"ttl"`
}

// Destination returns the sync destination with the given name.
func (s *Sync) Destination(name string) (SyncDestination, bool) {
	for _, d := range s.Destinations {
		if d.Name == name {
			return d, true
		}
	}
	return SyncDestination{}, false
}

// Takes tells whether the destination wants calls to did through queue.
func (d SyncDestination) Takes(did, queue string) bool {
	if len(d.Numbers) == 0 && len(d.Queues) == 0 {
		return true
	}
	return (did != "" && slices.Contains(d.Numbers, did)) || (queue != "" && slices.Contains(d.Queues, queue))
}

// IsHelpdesk tells a ticketing destination from a webhook.
func (d SyncDestination) IsHelpdesk() bool { return d.Kind != KindWebhook }

// CanLookUp tells whether the destination's kind can answer caller look-ups.
func (d SyncDestination) CanLookUp() bool {
	switch d.Kind {
	case KindZendesk, KindFreshdesk, KindZammad, KindRT:
		return true
	}
	return false
}

// CanAddToTicket tells whether the helpdesk takes comments on existing tickets (osTicket's
// API only creates tickets).
func (d SyncDestination) CanAddToTicket() bool { return d.Kind != KindOSTicket }

const (
	defaultSyncTimeout   = 20 * time.Second
	defaultConcurrency   = 4
	defaultMaxBackoff    = 10 * time.Minute
	defaultScreenPop     = 5 * time.Minute
	defaultLinkTTL       = 24 * time.Hour
	defaultLookupWait    = 400 * time.Millisecond
	defaultLookupFresh   = time.Minute
	defaultLookupTTL     = 24 * time.Hour
	minWebhookSecretSize = 24
)

func (v *validator) checkSync(c *Config) {
	s := &c.Sync
	seen := map[string]Pos{}
	for i := range s.Destinations {
		v.checkDestination(c, &s.Destinations[i], seen)
	}
	if s.Retention < 0 {
		v.errorf(s.Field("retention"), "retention must not be negative")
	}
	l := &s.Links
	if l.BaseURL != "" {
		if u, err := url.Parse(l.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			v.errorf(l.Field("base_url"), "bad base_url %q: want http(s)://host[:port]", l.BaseURL)
		}
	}
	if l.TTL == 0 {
		l.TTL = defaultLinkTTL
	} else if l.TTL < time.Minute {
		v.errorf(l.Field("ttl"), "recording link ttl %s is too short: at least 1m", l.TTL)
	}
	v.checkLookup(s)
}

func (v *validator) checkLookup(s *Sync) {
	l := &s.Lookup
	if l.Deadline == 0 {
		l.Deadline = defaultLookupWait
	} else if l.Deadline < 10*time.Millisecond || l.Deadline > 5*time.Second {
		v.errorf(l.Field("deadline"), "look-up deadline %s: want 10ms to 5s (calls wait this long at most)", l.Deadline)
	}
	if l.Fresh == 0 {
		l.Fresh = defaultLookupFresh
	}
	if l.TTL == 0 {
		l.TTL = defaultLookupTTL
	}
	if l.TTL < l.Fresh {
		v.errorf(l.Field("ttl"), "look-up ttl %s is shorter than fresh %s", l.TTL, l.Fresh)
	}
	if l.From == "" {
		return
	}
	d, ok := s.Destination(l.From)
	switch {
	case !ok:
		v.errorf(l.Field("from"), "look-up from %s: no such sync destination", l.From)
	case !d.CanLookUp():
		v.errorf(l.Field("from"), "look-up from %s: a %s destination cannot look callers up (zendesk, freshdesk, zammad or rt can)", l.From, d.Kind)
	}
}

var destinationKinds = []string{KindWebhook, KindZendesk, KindFreshdesk, KindZammad, KindRT, KindOSTicket}

func (v *validator) checkDestination(c *Config, d *SyncDestination, seen map[string]Pos) {
	v.checkName("sync destination", d.Mark, d.Name, seen)
	switch {
	case !d.Has("kind"):
		v.errorf(d.At(), "sync destination %s has no kind: want %s", d.Name, strings.Join(destinationKinds, ", "))
		return
	case !slices.Contains(destinationKinds, d.Kind):
		v.errorf(d.Field("kind"), "bad sync destination kind %q: want %s", d.Kind, strings.Join(destinationKinds, ", "))
		return
	}
	if !d.Has("url") {
		v.errorf(d.At(), "sync destination %s has no url", d.Name)
	} else if u, err := url.Parse(d.URL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		v.errorf(d.Field("url"), "bad url %q: want http(s)://host[:port][/path]", d.URL)
	}
	v.checkCredentials(d)
	v.checkRecordingMode(d)
	v.checkTicketPolicy(d)
	for i, n := range d.Numbers {
		if !phoneNumber.MatchString(n) {
			v.errorf(listItemPos(d.Mark, "numbers", i), "bad number %q: want digits, optionally starting with +", n)
		}
	}
	for i, q := range d.Queues {
		if !nameRE.MatchString(q) {
			v.errorf(listItemPos(d.Mark, "queues", i), "bad queue name %q", q)
		}
	}
	for ext, user := range d.Agents {
		if _, ok := c.Extension(ext); !ok {
			v.errorf(d.Field("agents"), "agents: extension %s is not defined", ext)
		}
		if strings.TrimSpace(user) == "" {
			v.errorf(d.Field("agents"), "agents: extension %s maps to no helpdesk user", ext)
		}
	}
	if d.Timeout == 0 {
		d.Timeout = defaultSyncTimeout
	} else if d.Timeout < time.Second || d.Timeout > 5*time.Minute {
		v.errorf(d.Field("timeout"), "timeout %s: want 1s to 5m", d.Timeout)
	}
	if d.Concurrency == 0 {
		d.Concurrency = defaultConcurrency
	} else if d.Concurrency < 1 || d.Concurrency > 64 {
		v.errorf(d.Field("concurrency"), "concurrency %d: want 1 to 64 requests at a time", d.Concurrency)
	}
	if d.MaxBackoff == 0 {
		d.MaxBackoff = defaultMaxBackoff
	} else if d.MaxBackoff < 100*time.Millisecond {
		v.errorf(d.Field("max_backoff"), "max_backoff %s is too short: at least 100ms", d.MaxBackoff)
	}
	if !d.Has("screen_pop") {
		d.ScreenPop = defaultScreenPop
	}
	if d.VIPTag == "" {
		d.VIPTag = "vip"
	}
}

func (v *validator) checkCredentials(d *SyncDestination) {
	need := func(ok bool, key, what string) {
		if !ok && !d.Has(key) {
			v.errorf(d.At(), "sync destination %s (%s) needs %s", d.Name, d.Kind, what)
		}
	}
	switch d.Kind {
	case KindWebhook:
		need(d.Secret.IsSet(), "secret", "a secret: whsec_ and at least 24 random bytes in base64 (openssl rand -base64 32)")
		for _, s := range []struct {
			key    string
			secret Secret
		}{{"secret", d.Secret}, {"previous_secret", d.PreviousSecret}} {
			if s.secret.IsSet() && !validWebhookSecret(s.secret.Value()) {
				v.errorf(d.Field(s.key), "bad webhook %s: want whsec_ and at least 24 random bytes in base64 (openssl rand -base64 32)", s.key)
			}
		}
	case KindZendesk:
		need(d.User != "", "user", "a user (the agent e-mail the API token belongs to)")
		need(d.Token.IsSet(), "token", "a token (an API token)")
	default:
		need(d.Token.IsSet(), "token", "a token (the API key or access token)")
	}
	if d.Kind == KindZammad && d.Group == "" && d.wantsTickets() {
		v.errorf(d.At(), "sync destination %s (zammad) needs a group for its tickets", d.Name)
	}
	if d.Kind == KindRT && d.Queue == "" && d.wantsTickets() {
		v.errorf(d.At(), "sync destination %s (rt) needs a queue for its tickets", d.Name)
	}
	if d.Kind == KindOSTicket && d.Email == "" {
		v.errorf(d.At(), "sync destination %s (osticket) needs an email for callers without one, e.g. caller-{number}@example.com", d.Name)
	}
}

// validWebhookSecret accepts whsec_ and base64 of at least 24 bytes, as Standard Webhooks asks.
func validWebhookSecret(s string) bool {
	raw, ok := strings.CutPrefix(s, "whsec_")
	if !ok {
		return false
	}
	key, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		key, err = base64.RawStdEncoding.DecodeString(raw)
	}
	return err == nil && len(key) >= minWebhookSecretSize
}

func (v *validator) checkRecordingMode(d *SyncDestination) {
	modes := []string{RecordingAttach, RecordingLink, RecordingNone}
	def := RecordingAttach
	if d.Kind == KindWebhook {
		modes, def = []string{RecordingLink, RecordingUpload, RecordingNone}, RecordingLink
	}
	if d.Recording == "" {
		d.Recording = def
	} else if !slices.Contains(modes, d.Recording) {
		v.errorf(d.Field("recording"), "bad recording mode %q for a %s destination: want %s", d.Recording, d.Kind, strings.Join(modes, ", "))
	}
}

func (d SyncDestination) wantsTickets() bool {
	t := d.Tickets
	return t.Answered != "none" || t.Missed != "none" || t.Voicemail != "none"
}

func (v *validator) checkTicketPolicy(d *SyncDestination) {
	t := &d.Tickets
	if d.Kind == KindWebhook {
		if t.Has("answered") || t.Has("missed") || t.Has("voicemail") || t.Has("survey") {
			v.errorf(d.Field("tickets"), "a webhook gets every event; tickets are for helpdesks")
		}
		return
	}
	pick := func(val *string, key, def string, allowed ...string) {
		if *val == "" {
			*val = def
			return
		}
		if !slices.Contains(allowed, *val) {
			v.errorf(t.Field(key), "bad tickets.%s %q: want %s", key, *val, strings.Join(allowed, ", "))
		}
	}
	pick(&t.Answered, "answered", "new", "new", "open", "none")
	pick(&t.Missed, "missed", "callback", "callback", "none")
	pick(&t.Voicemail, "voicemail", "ticket", "ticket", "none")
	pick(&t.Survey, "survey", "comment", "comment", "field", "none")
	if t.Survey == "field" && t.SurveyField == "" {
		v.errorf(t.Field("survey"), "tickets.survey is field but tickets.survey_field names none")
	}
	if !d.CanAddToTicket() {
		if t.Answered == "open" {
			v.errorf(t.Field("answered"), "osticket cannot add to open tickets: want new or none")
		}
		if t.Survey == "field" {
			v.errorf(t.Field("survey"), "osticket cannot set fields later: want comment (in the ticket) or none")
		}
	}
}

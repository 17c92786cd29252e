package config

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Queue is a line of callers waiting for a team of agents.
type Queue struct {
	Mark `yaml:"-"`
	Name string `yaml:"name"`
	// Strategy picks the agent: ring-all, longest-idle, round-robin, fewest-calls, random
	// or linear.
	Strategy string `yaml:"strategy"`
	// Members are agents (by extension) with penalties: lower penalties take calls first.
	Members     []QueueMember `yaml:"members"`
	RingTimeout time.Duration `yaml:"ring_timeout"` // one offer rings this long
	Retry       time.Duration `yaml:"retry"`        // pause after an unanswered offer
	WrapUp      time.Duration `yaml:"wrap_up"`      // agents take no call this long after one
	MaxWait     time.Duration `yaml:"max_wait"`     // then the caller goes to overflow; 0 = no limit
	// Overflow is where callers go when the queue cannot keep them (full, nobody there,
	// waited too long): queue:NAME, voicemail:EXT, extension:EXT, group:NAME or number:NUMBER.
	Overflow  string `yaml:"overflow"`
	MaxLength int    `yaml:"max_length"` // callers waiting at most; 0 = no limit
	// JoinIf and StayIf are always, staffed (a member is logged in) or unpaused (a member
	// is logged in and not paused).
	JoinIf        string        `yaml:"join_if"`
	StayIf        string        `yaml:"stay_if"`
	AnnounceEvery time.Duration `yaml:"announce_every"` // position and estimated wait; 0 = never
	Messages      []string      `yaml:"messages"`       // prompts played in turn...
	MessageEvery  time.Duration `yaml:"message_every"`  // ...this often
	ServiceLevel  time.Duration `yaml:"service_level"`  // answered within this counts as good service
	AlertAfter    time.Duration `yaml:"alert_after"`    // a caller waiting longer raises an alert
	// StickyWindow sends a caller first to the agent who answered them within it (or the
	// agent of their open ticket); StickyWait is how long they wait for that agent.
	StickyWindow time.Duration `yaml:"sticky_window"`
	StickyWait   time.Duration `yaml:"sticky_wait"`
	// Ageing raises a waiting caller's priority one level per Ageing waited; 0 = never.
	Ageing    time.Duration `yaml:"ageing"`
	TierDelay time.Duration `yaml:"tier_delay"` // members with penalty P wait P × this
	// AutoPauseAfter pauses an agent after this many unanswered offers in a row; 0 = never.
	AutoPauseAfter   int           `yaml:"auto_pause_after"`
	CallbackKey      string        `yaml:"callback_key"` // the key a caller presses to be called back
	CallbackRetry    time.Duration `yaml:"callback_retry"`
	CallbackAttempts int           `yaml:"callback_attempts"`
	Record           *bool         `yaml:"record"`

	OverflowDest Destination `yaml:"-"` // Overflow, parsed
}

// QueueMember is an agent in a queue. In the file it is an extension ("1001") or a mapping
// with a penalty ({agent: "1001", penalty: 1}).
type QueueMember struct {
	Mark    `yaml:"-"`
	Agent   string `yaml:"agent"`
	Penalty int    `yaml:"penalty"`
}

func (m *QueueMember) decodeNode(d *decoder, n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		m.Agent = n.Value
		m.at = Pos{n.Line, n.Column}
		m.fields = map[string]Pos{"agent": m.at}
		return true
	}
	d.decodeStruct(n, reflect.ValueOf(m).Elem())
	return true
}

// Agent is a person who takes queue calls on an extension and, maybe, a mobile.
type Agent struct {
	Mark      `yaml:"-"`
	Extension string `yaml:"extension"`
	Name      string `yaml:"name"` // default: the extension's name
	Mobile    string `yaml:"mobile"`
	// MobileRing is parallel (desk and mobile together), sequence (desk first, the mobile
	// after MobileAfter) or mobile (only the mobile), when the mobile is in use.
	MobileRing  string        `yaml:"mobile_ring"`
	MobileAfter time.Duration `yaml:"mobile_after"`
	// MobileSchedule lists weekly times when queue calls ring the mobile without a mobile
	// login: "mon-fri 18:00-22:00", "sat,sun 09:00-13:00".
	MobileSchedule []string `yaml:"mobile_schedule"`
	MaxCalls       int      `yaml:"max_calls"` // calls at once; 0 = busy (default 1)
	Queues         []string `yaml:"queues"`    // member of these, at penalty 0
	// AutoLogin logs the agent in to their queues when the box knows nothing of them yet
	// (first start); afterwards their last state is kept across restarts.
	AutoLogin bool `yaml:"auto_login"`

	Schedule []Weekly `yaml:"-"` // MobileSchedule, parsed
}

// Weekly is a span of time on some days of the week; an end before the start runs past
// midnight.
type Weekly struct {
	Days     [7]bool // by time.Weekday
	From, To time.Duration
}

// FeatureCodes are what agents and supervisors dial on their phones.
type FeatureCodes struct {
	Mark    `yaml:"-"`
	Login   string `yaml:"login"`   // toggles login to all the agent's queues (default *45)
	Pause   string `yaml:"pause"`   // toggles pause (default *46)
	Listen  string `yaml:"listen"`  // + extension: listen silently (default *31)
	Whisper string `yaml:"whisper"` // + extension: speak to the agent only (default *32)
	Barge   string `yaml:"barge"`   // + extension: three-way (default *33)
}

// MusicOnHold is what callers waiting in a queue hear between announcements.
type MusicOnHold struct {
	Mark `yaml:"-"`
	// Dir holds WAV files (8 or 16 kHz, any of the usual encodings), relative to the data
	// folder unless absolute; "" plays a soft tune the box makes itself.
	Dir string `yaml:"dir"`
	// Order is alphabetical (by file name) or random, each round anew.
	Order string `yaml:"order"`
}

// Queue returns the queue with the given name.
func (c *Config) Queue(name string) (Queue, bool) {
	for _, q := range c.Queues {
		if q.Name == name {
			return q, true
		}
	}
	return Queue{}, false
}

// Agent returns the agent configured under agents: with the given extension.
func (c *Config) Agent(ext string) (Agent, bool) {
	for _, a := range c.Agents {
		if a.Extension == ext {
			return a, true
		}
	}
	return Agent{}, false
}

// QueueStrategies are the strategies a queue may use.
func QueueStrategies() []string {
	return []string{"ring-all", "longest-idle", "round-robin", "fewest-calls", "random", "linear"}
}

var (
	conditions     = []string{"always", "staffed", "unpaused"}
	featureCodeRE  = regexp.MustCompile(`^[*#][0-9*#]{1,6}$`)
	callbackKeyRE  = regexp.MustCompile(`^[0-9*#]$`)
	scheduleRE     = regexp.MustCompile(`^([a-z,-]+)\s+([0-9]{1,2}):([0-9]{2})-([0-9]{1,2}):([0-9]{2})$`)
	weekdayIndexes = map[string]time.Weekday{"sun": time.Sunday, "mon": time.Monday, "tue": time.Tuesday,
		"wed": time.Wednesday, "thu": time.Thursday, "fri": time.Friday, "sat": time.Saturday}
)

// checkQueues checks queues, agents and feature codes, and fills their defaults.
func (v *validator) checkQueues(c *Config) {
	seen := map[string]Pos{}
	for i := range c.Queues {
		q := &c.Queues[i]
		v.checkName("queue", q.Mark, q.Name, seen)
		if q.Name == "events" || q.Name == "calls" {
			v.errorf(q.Field("name"), "queue name %q is reserved by the API: choose another", q.Name)
		}
		v.checkQueue(c, q)
	}
	v.checkAgents(c)
	v.checkFeatureCodes(&c.FeatureCodes)
	m := &c.MusicOnHold
	if m.Order == "" {
		m.Order = "alphabetical"
	} else if m.Order != "alphabetical" && m.Order != "random" {
		v.errorf(m.Field("order"), "music_on_hold: bad order %q: want alphabetical or random", m.Order)
	}
	if m.Has("order") && m.Dir == "" {
		v.errorf(m.Field("order"), "music_on_hold: order without a dir (the box's own tune has one order)")
	}
}

func (v *validator) checkQueue(c *Config, q *Queue) {
	if q.Strategy == "" {
		q.Strategy = "ring-all"
	} else if !slices.Contains(QueueStrategies(), q.Strategy) {
		v.errorf(q.Field("strategy"), "queue %s: unknown strategy %q: want %s", q.Name, q.Strategy, strings.Join(QueueStrategies(), ", "))
	}
	members := map[string]Pos{}
	for _, m := range q.Members {
		at := m.Field("agent")
		switch {
		case m.Agent == "":
			v.errorf(m.At(), "queue %s: member without an agent", q.Name)
			continue
		case !c.hasExtension(m.Agent):
			v.errorf(at, "queue %s: member %s is not a defined extension", q.Name, m.Agent)
		}
		if first, dup := members[m.Agent]; dup {
			v.errorf(at, "queue %s: member %s given twice (first at line %d)", q.Name, m.Agent, first.Line)
		} else {
			members[m.Agent] = at
		}
		if m.Penalty < 0 {
			v.errorf(m.Field("penalty"), "queue %s: penalty of %s below 0", q.Name, m.Agent)
		}
	}
	defaultDuration(q.Mark, "ring_timeout", &q.RingTimeout, 15*time.Second)
	defaultDuration(q.Mark, "retry", &q.Retry, 5*time.Second)
	defaultDuration(q.Mark, "service_level", &q.ServiceLevel, 20*time.Second)
	defaultDuration(q.Mark, "ageing", &q.Ageing, 2*time.Minute)
	defaultDuration(q.Mark, "callback_retry", &q.CallbackRetry, 5*time.Minute)
	if !q.Has("callback_attempts") {
		q.CallbackAttempts = 3
	}
	v.atLeast(q.Mark, "ring_timeout", q.RingTimeout, time.Second, false)
	v.atLeast(q.Mark, "service_level", q.ServiceLevel, time.Second, false)
	v.atLeast(q.Mark, "max_wait", q.MaxWait, 10*time.Second, true)
	v.atLeast(q.Mark, "announce_every", q.AnnounceEvery, 10*time.Second, true)
	v.atLeast(q.Mark, "message_every", q.MessageEvery, 10*time.Second, true)
	v.atLeast(q.Mark, "ageing", q.Ageing, 10*time.Second, true)
	v.atLeast(q.Mark, "callback_retry", q.CallbackRetry, 10*time.Second, false)
	if q.JoinIf == "" {
		q.JoinIf = "staffed"
	}
	if q.StayIf == "" {
		q.StayIf = "always"
	}
	for _, key := range []string{"join_if", "stay_if"} {
		val := q.JoinIf
		if key == "stay_if" {
			val = q.StayIf
		}
		if !slices.Contains(conditions, val) {
			v.errorf(q.Field(key), "queue %s: bad %s %q: want always, staffed or unpaused", q.Name, key, val)
		}
	}
	if q.MaxLength < 0 {
		v.errorf(q.Field("max_length"), "queue %s: max_length below 0", q.Name)
	}
	if q.AutoPauseAfter < 0 {
		v.errorf(q.Field("auto_pause_after"), "queue %s: auto_pause_after below 0", q.Name)
	}
	if q.CallbackAttempts < 1 {
		v.errorf(q.Field("callback_attempts"), "queue %s: callback_attempts must be at least 1", q.Name)
	}
	if len(q.Messages) > 0 && q.MessageEvery == 0 {
		v.errorf(q.Field("messages"), "queue %s has messages but no message_every", q.Name)
	}
	if q.MessageEvery > 0 && len(q.Messages) == 0 {
		v.errorf(q.Field("message_every"), "queue %s: message_every without messages", q.Name)
	}
	if q.StickyWait > 0 && q.StickyWindow == 0 {
		v.errorf(q.Field("sticky_wait"), "queue %s: sticky_wait without sticky_window (0 turns the sticky agent off)", q.Name)
	}
	if q.CallbackKey != "" && !callbackKeyRE.MatchString(q.CallbackKey) {
		v.errorf(q.Field("callback_key"), "queue %s: bad callback_key %q: want one key, 0-9, * or #", q.Name, q.CallbackKey)
	}
	if q.Overflow != "" {
		if d, ok := v.overflowDestination(c, q); ok {
			q.OverflowDest = d
		}
	}
}

// overflowDestination parses a queue's overflow: a queue or a voicemail box, or any
// destination an inbound number may have.
func (v *validator) overflowDestination(c *Config, q *Queue) (Destination, bool) {
	at := q.Field("overflow")
	kind, name, _ := strings.Cut(q.Overflow, ":")
	switch kind {
	case "queue":
		if name == q.Name {
			v.errorf(at, "queue %s overflows to itself", q.Name)
			return Destination{}, false
		}
		if _, ok := c.Queue(name); !ok {
			v.errorf(at, "queue %s: overflow queue %s is not defined", q.Name, name)
			return Destination{}, false
		}
		return Destination{Kind: kind, Name: name}, true
	case "voicemail":
		if _, ok := c.Extension(name); !ok {
			v.errorf(at, "queue %s: overflow voicemail:%s: extension %s is not defined", q.Name, name, name)
			return Destination{}, false
		}
		return Destination{Kind: kind, Name: name}, true
	case "extension", "group", "number":
		return v.destination(c, at, q.Overflow)
	}
	v.errorf(at, "queue %s: bad overflow %q: want queue:NAME, voicemail:EXT, extension:EXT, group:NAME or number:NUMBER", q.Name, q.Overflow)
	return Destination{}, false
}

func (c *Config) hasExtension(n string) bool {
	_, ok := c.Extension(n)
	return ok
}

func defaultDuration(m Mark, key string, d *time.Duration, def time.Duration) {
	if !m.Has(key) {
		*d = def
	}
}

// atLeast reports a duration below min; with zeroOff, 0 (off) is fine too.
func (v *validator) atLeast(m Mark, key string, d, min time.Duration, zeroOff bool) {
	if d >= min || (zeroOff && d == 0) {
		return
	}
	if zeroOff {
		v.errorf(m.Field(key), "%s %s is too short: 0 (off) or at least %s", key, d, min)
		return
	}
	v.errorf(m.Field(key), "%s %s is too short: at least %s", key, d, min)
}

func (v *validator) checkAgents(c *Config) {
	seen := map[string]Pos{}
	for i := range c.Agents {
		a := &c.Agents[i]
		at := a.Field("extension")
		switch {
		case a.Extension == "":
			v.errorf(a.At(), "agent without an extension")
		case !c.hasExtension(a.Extension):
			v.errorf(at, "agent %s is not a defined extension", a.Extension)
		default:
			if first, dup := seen[a.Extension]; dup {
				v.errorf(at, "duplicate agent %s (first at line %d)", a.Extension, first.Line)
			} else {
				seen[a.Extension] = at
			}
		}
		if a.Name == "" {
			if e, ok := c.Extension(a.Extension); ok {
				a.Name = e.Name
			}
		}
		if !a.Has("max_calls") {
			a.MaxCalls = 1
		} else if a.MaxCalls < 0 {
			v.errorf(a.Field("max_calls"), "agent %s: max_calls below 0 (0 means busy)", a.Extension)
		}
		if a.Mobile != "" && !phoneNumber.MatchString(a.Mobile) {
			v.errorf(a.Field("mobile"), "agent %s: bad mobile number %q", a.Extension, a.Mobile)
		}
		if a.MobileRing == "" {
			a.MobileRing = "parallel"
		} else if !slices.Contains([]string{"parallel", "sequence", "mobile"}, a.MobileRing) {
			v.errorf(a.Field("mobile_ring"), "agent %s: bad mobile_ring %q: want parallel, sequence or mobile", a.Extension, a.MobileRing)
		}
		defaultDuration(a.Mark, "mobile_after", &a.MobileAfter, 10*time.Second)
		v.atLeast(a.Mark, "mobile_after", a.MobileAfter, time.Second, false)
		if a.Mobile == "" {
			for _, key := range []string{"mobile_ring", "mobile_after", "mobile_schedule"} {
				if a.Has(key) {
					v.errorf(a.Field(key), "agent %s: %s without a mobile number", a.Extension, key)
				}
			}
		}
		for j, s := range a.MobileSchedule {
			w, err := parseWeekly(s)
			if err != nil {
				v.errorf(listItemPos(a.Mark, "mobile_schedule", j), "agent %s: bad mobile_schedule %q: %v", a.Extension, s, err)
				continue
			}
			a.Schedule = append(a.Schedule, w)
		}
		queues := map[string]bool{}
		for j, name := range a.Queues {
			p := listItemPos(a.Mark, "queues", j)
			if _, ok := c.Queue(name); !ok {
				v.errorf(p, "agent %s: queue %s is not defined", a.Extension, name)
			}
			if queues[name] {
				v.errorf(p, "agent %s: queue %s given twice", a.Extension, name)
			}
			queues[name] = true
		}
	}
}

// parseWeekly reads "mon-fri 18:00-22:00", "sat,sun 09:00-13:00", "daily 22:00-06:00".
func parseWeekly(s string) (Weekly, error) {
	var w Weekly
	m := scheduleRE.FindStringSubmatch(strings.ToLower(strings.TrimSpace(s)))
	if m == nil {
		return w, fmt.Errorf("want days and hours like mon-fri 18:00-22:00")
	}
	if m[1] == "daily" {
		w.Days = [7]bool{true, true, true, true, true, true, true}
	} else {
		for _, part := range strings.Split(m[1], ",") {
			from, to, isRange := strings.Cut(part, "-")
			d1, ok1 := weekdayIndexes[from]
			d2, ok2 := d1, true
			if isRange {
				d2, ok2 = weekdayIndexes[to]
			}
			if !ok1 || !ok2 {
				return w, fmt.Errorf("unknown day in %q: use mon, tue, wed, thu, fri, sat, sun or daily", part)
			}
			for d := d1; ; d = (d + 1) % 7 {
				w.Days[d] = true
				if d == d2 {
					break
				}
			}
		}
	}
	clock := func(h, mm string) (time.Duration, error) {
		hours, _ := strconv.Atoi(h)
		mins, _ := strconv.Atoi(mm)
		if hours > 24 || mins > 59 || (hours == 24 && mins > 0) {
			return 0, fmt.Errorf("bad time %s:%s", h, mm)
		}
		return time.Duration(hours)*time.Hour + time.Duration(mins)*time.Minute, nil
	}
	var err error
	if w.From, err = clock(m[2], m[3]); err != nil {
		return w, err
	}
	if w.To, err = clock(m[4], m[5]); err != nil {
		return w, err
	}
	if w.From == w.To {
		return w, fmt.Errorf("the span is empty")
	}
	return w, nil
}

func (v *validator) checkFeatureCodes(f *FeatureCodes) {
	type code struct {
		key string
		val *string
		def string
	}
	codes := []code{{"login", &f.Login, "*45"}, {"pause", &f.Pause, "*46"}, {"listen", &f.Listen, "*31"},
		{"whisper", &f.Whisper, "*32"}, {"barge", &f.Barge, "*33"}}
	for _, c := range codes {
		if !f.Has(c.key) {
			*c.val = c.def
			continue
		}
		if *c.val != "" && !featureCodeRE.MatchString(*c.val) {
			v.errorf(f.Field(c.key), "bad feature code %q: want * or # and up to 6 keys, e.g. *45 (\"\" turns it off)", *c.val)
			*c.val = ""
		}
	}
	for i, a := range codes {
		for _, b := range codes[i+1:] {
			x, y := *a.val, *b.val
			if x == "" || y == "" {
				continue
			}
			at := f.Field(b.key)
			if !f.Has(b.key) {
				at = f.Field(a.key)
			}
			switch {
			case x == y:
				v.errorf(at, "feature codes %s and %s are both %s", a.key, b.key, x)
			case strings.HasPrefix(y, x) || strings.HasPrefix(x, y):
				v.errorf(at, "feature code %s (%s) and %s (%s): one starts the other", a.key, x, b.key, y)
			}
		}
	}
}

package config

import (
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	_ "time/tzdata" // a box without the tzdata package must still know every zone

	"callbox/ivr/e164"
)

var (
	languageRE = regexp.MustCompile(`^[a-z]{2,3}(-[a-z0-9]{2,8})?$`)
	dtmfKeyRE  = regexp.MustCompile(`^[0-9*#A-D]$`)
	variableRE = regexp.MustCompile(`^[a-z][a-z0-9_]{0,31}$`)
	dateRE     = regexp.MustCompile(`^([0-9]{4}-)?[0-9]{2}-[0-9]{2}$`)
)

// Defaults of the IVR's settings, in words and in English and Mandarin, for what the file
// leaves out.
var (
	defaultGreeting = map[string]string{
		"en": "Please leave a message after the tone. Press the hash key when you are done.",
		"zh": "请在提示音后留言，完成后请按井号键。",
	}
	defaultQuestion = map[string]string{
		"en": "Please rate the call you just had, from 1 for poor to 5 for excellent.",
		"zh": "请为刚才的通话评分，一分表示很差，五分表示很好。",
	}
	defaultThanks = map[string]string{"en": "Thank you. Goodbye.", "zh": "谢谢，再见。"}
)

// kindKeys are the keys each kind of node takes besides its own.
var kindKeys = map[NodeKind][]string{
	NodePlay:      {"next"},
	NodeMenu:      {"keys", "timeout", "retries", "invalid", "no_input", "default"},
	NodeCollect:   {"next", "timeout", "retries", "invalid", "no_input", "default", "variable", "min", "max", "terminator"},
	NodeLanguage:  {"keys", "next", "timeout", "retries", "invalid", "no_input"},
	NodeTime:      {"open", "closed", "holiday"},
	NodeCaller:    {"next"},
	NodeConnect:   {"ring_timeout", "no_answer"},
	NodeVoicemail: {"greeting", "max_length", "silence"},
}

var allNodeKeys = []string{"next", "keys", "timeout", "retries", "invalid", "no_input", "default", "variable", "min", "max",
	"terminator", "open", "closed", "holiday", "ring_timeout", "no_answer", "greeting", "max_length", "silence"}

func (v *validator) checkIVR(c *Config) {
	ivr := &c.IVR
	if ivr.Language == "" {
		ivr.Language = "en"
	} else if !languageRE.MatchString(ivr.Language) {
		v.errorf(ivr.Field("language"), "bad language %q: want a code like en, zh or en-us", ivr.Language)
	}
	if ivr.PromptDir == "" {
		ivr.PromptDir = "prompts"
	}
	if ivr.SpeechRate == 0 {
		ivr.SpeechRate = 150
	} else if ivr.SpeechRate < 80 || ivr.SpeechRate > 450 {
		v.errorf(ivr.Field("speech_rate"), "speech_rate %d: want 80 to 450 words a minute", ivr.SpeechRate)
	}
	for _, name := range sortedKeys(ivr.Prompts) {
		p := ivr.Prompts[name]
		if !nameRE.MatchString(name) || strings.Contains(name, ".") {
			v.errorf(p.At(), "bad prompt name %q: use letters, digits, '_' and '-'", name)
		}
		for _, part := range p.Parts {
			if _, nested := ivr.Prompts[part.Name]; nested && part.Name != "" {
				v.errorf(part.Pos, "prompt %s: a named prompt cannot name another (%s); write its text or recording here", name, part.Name)
			}
		}
	}
	v.checkPrompts(c)
	v.checkHours(c)
	v.checkLists(c)
	v.checkVoicemail(c)
	v.checkSurvey(c)
	seen := map[string]Pos{}
	for i := range ivr.Flows {
		f := &ivr.Flows[i]
		v.checkName("flow", f.Mark, f.Name, seen)
		v.checkFlow(c, f)
	}
}

// checkPrompts checks every prompt part's language codes and recording names.
func (v *validator) checkPrompts(c *Config) {
	c.eachPromptPart(func(p PromptPart) {
		if p.Name != "" && (strings.ContainsAny(p.Name, `/\`) || strings.HasPrefix(p.Name, ".")) {
			v.errorf(p.Pos, "bad prompt %q: name a prompt of ivr.prompts or a recording (<prompt_dir>/<language>/NAME.wav), without folders", p.Name)
		}
	})
}

func (v *validator) checkHours(c *Config) {
	seen := map[string]Pos{}
	for i := range c.IVR.Hours {
		h := &c.IVR.Hours[i]
		v.checkName("opening hours", h.Mark, h.Name, seen)
		switch loc, err := time.LoadLocation(h.Zone); {
		case h.Zone == "":
			v.errorf(h.At(), "opening hours %s have no zone: want an IANA time zone like Europe/Berlin", h.Name)
		case err != nil || h.Zone == "Local":
			v.errorf(h.Field("zone"), "opening hours %s: unknown time zone %q: want an IANA zone like Europe/Berlin or America/New_York", h.Name, h.Zone)
		default:
			h.Location = loc
		}
		if len(h.Open) == 0 {
			v.errorf(h.At(), "opening hours %s are never open: give open spans like \"mon-fri 09:00-17:00\"", h.Name)
		}
		for j, s := range h.Open {
			w, err := parseWeekly(s)
			if err != nil {
				v.errorf(listItemPos(h.Mark, "open", j), "opening hours %s: bad span %q: %v", h.Name, s, err)
				continue
			}
			h.Weekly = append(h.Weekly, w)
		}
		for j, s := range h.Holidays {
			r, err := parseDateRange(s)
			if err != nil {
				v.errorf(listItemPos(h.Mark, "holidays", j), "opening hours %s: bad holiday %q: %v", h.Name, s, err)
				continue
			}
			h.Closed = append(h.Closed, r)
		}
	}
}

// parseDateRange reads "2026-12-25", "2026-12-24..2026-12-26", or "12-25" and "12-24..12-26"
// for every year.
func parseDateRange(s string) (DateRange, error) {
	from, to, isRange := strings.Cut(strings.TrimSpace(s), "..")
	if !isRange {
		to = from
	}
	from, to = strings.TrimSpace(from), strings.TrimSpace(to)
	for _, d := range []string{from, to} {
		if !dateRE.MatchString(d) {
			return DateRange{}, fmt.Errorf("want a date YYYY-MM-DD (or MM-DD every year), or a range FROM..TO")
		}
		layout := "2006-01-02"
		if len(d) == 5 {
			layout, d = "2006-01-02", "2000-"+d // a leap year, so 02-29 is a day
		}
		if _, err := time.Parse(layout, d); err != nil {
			return DateRange{}, fmt.Errorf("%s is not a day of the calendar", d)
		}
	}
	switch {
	case len(from) != len(to):
		return DateRange{}, fmt.Errorf("both ends need a year, or neither")
	case len(from) == 10 && to < from:
		return DateRange{}, fmt.Errorf("the range ends before it starts")
	}
	return DateRange{From: from, To: to}, nil
}

// Contains tells whether the day of t (in t's location) is in the range.
func (r DateRange) Contains(t time.Time) bool {
	if len(r.From) == 5 {
		d := t.Format("01-02")
		if r.From <= r.To {
			return d >= r.From && d <= r.To
		}
		return d >= r.From || d <= r.To // over the new year
	}
	d := t.Format("2006-01-02")
	return d >= r.From && d <= r.To
}

func (v *validator) checkLists(c *Config) {
	l := &c.IVR.Lists
	plan, planOK := e164.PlanFor(c.Box.Country)
	for _, list := range []struct {
		name    string
		entries []ListEntry
	}{{"blacklist", l.Blacklist}, {"warning", l.Warning}, {"vip", l.VIP}} {
		seen := map[string]Pos{}
		for i := range list.entries {
			e := &list.entries[i]
			at := e.Field("number")
			if e.Number == "" {
				v.errorf(e.At(), "%s entry without a number", list.name)
				continue
			}
			if !planOK {
				v.errorf(at, "%s %s: box.country %s has no numbering plan here to make it E.164: write it as +CC…", list.name, e.Number, c.Box.Country)
			}
			n, ok := plan.Normalize(e.Number)
			if !ok && !strings.HasPrefix(strings.TrimSpace(e.Number), "+") {
				v.errorf(at, "%s: %q is not a phone number in E.164 or national form", list.name, e.Number)
				continue
			}
			e.E164 = n
			if first, dup := seen[n]; dup {
				v.errorf(at, "%s: %s given twice (first at line %d)", list.name, n, first.Line)
			}
			seen[n] = at
			if e.Until != "" {
				day, err := time.ParseInLocation("2006-01-02", e.Until, time.Local)
				if err != nil {
					v.errorf(e.Field("until"), "%s %s: bad until %q: want a date YYYY-MM-DD", list.name, e.Number, e.Until)
				} else {
					e.Expires = day.AddDate(0, 0, 1)
				}
			}
			switch {
			case list.name != "vip" && e.Has("level"):
				v.errorf(e.Field("level"), "%s %s: only VIPs have a level", list.name, e.Number)
			case list.name == "vip" && !e.Has("level"):
				e.Level = 1
			case list.name == "vip" && (e.Level < 1 || e.Level > 9):
				v.errorf(e.Field("level"), "vip %s: level %d: want 1 to 9", e.Number, e.Level)
			}
		}
	}
}

func (v *validator) checkVoicemail(c *Config) {
	vm := &c.IVR.Voicemail
	if vm.Greeting.IsZero() {
		vm.Greeting = defaultText(defaultGreeting, vm.At(), c.IVR.At())
	}
	defaultDuration(vm.Mark, "max_length", &vm.MaxLength, 2*time.Minute)
	defaultDuration(vm.Mark, "silence", &vm.Silence, 5*time.Second)
	v.between(vm.Mark, "max_length", vm.MaxLength, 10*time.Second, 30*time.Minute)
	v.between(vm.Mark, "silence", vm.Silence, time.Second, time.Minute)
}

func (v *validator) checkSurvey(c *Config) {
	s := &c.IVR.Survey
	if s.Question.IsZero() {
		s.Question = defaultText(defaultQuestion, s.At(), c.IVR.At())
	}
	if s.Thanks.IsZero() {
		s.Thanks = defaultText(defaultThanks, s.At(), c.IVR.At())
	}
	defaultDuration(s.Mark, "timeout", &s.Timeout, 10*time.Second)
	v.between(s.Mark, "timeout", s.Timeout, 2*time.Second, time.Minute)
}

// defaultText is a default prompt, placed (for messages about it, such as a missing
// espeak-ng) at the first of the positions the file has.
func defaultText(byLang map[string]string, at ...Pos) *Prompt {
	p := Text(byLang)
	p.pos = Pos{1, 1}
	for _, a := range at {
		if a.Line > 0 {
			p.pos = a
			break
		}
	}
	p.Parts[0].Pos = p.pos
	return p
}

// between reports a duration outside [lo, hi].
func (v *validator) between(m Mark, key string, d, lo, hi time.Duration) {
	if d < lo || d > hi {
		v.errorf(m.Field(key), "%s %s: want %s to %s", key, d, lo, hi)
	}
}

// usesVoicemail tells whether any flow, number or queue can send a caller to voicemail.
func (c *Config) usesVoicemail() bool {
	for _, in := range c.Inbound {
		if strings.HasPrefix(in.Destination, "voicemail:") {
			return true
		}
	}
	for _, q := range c.Queues {
		if strings.HasPrefix(q.Overflow, "voicemail:") {
			return true
		}
	}
	for _, f := range c.IVR.Flows {
		for _, n := range f.Nodes.List {
			if n.Has("voicemail") {
				return true
			}
			for _, ref := range n.refs() {
				if strings.HasPrefix(ref.to, "voicemail:") {
					return true
				}
			}
		}
	}
	return false
}

// usesSurvey tells whether any number or flow asks the survey question.
func (c *Config) usesSurvey() bool {
	for _, in := range c.Inbound {
		if in.Survey {
			return true
		}
	}
	for _, f := range c.IVR.Flows {
		if f.Survey {
			return true
		}
	}
	return false
}

// sortedKeys returns a map's keys in order, for output that does not change between runs.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// ref is one reference from a node to where the call goes.
type ref struct {
	key string // the node's key that holds it ("next", "keys", "open", …)
	to  string
	at  Pos
}

// refs lists a node's references (those of keys only for menus: a language node's keys
// name languages).
func (n *Node) refs() []ref {
	var out []ref
	add := func(key, to string) {
		if to != "" {
			out = append(out, ref{key, to, n.Field(key)})
		}
	}
	for _, k := range []string{"next", "default", "open", "closed", "holiday", "no_answer"} {
		add(k, n.stringField(k))
	}
	if n.Kind == NodeMenu {
		for _, k := range n.Keys.List {
			out = append(out, ref{"keys", k.To, k.ToPos})
		}
	}
	if n.Caller != nil {
		if n.Caller.Blacklisted != "" {
			out = append(out, ref{"blacklisted", n.Caller.Blacklisted, n.Caller.Field("blacklisted")})
		}
		for _, r := range n.Caller.Rules {
			if r.Next != "" {
				out = append(out, ref{"rules", r.Next, r.Field("next")})
			}
		}
	}
	return out
}

func (n *Node) stringField(key string) string {
	switch key {
	case "next":
		return n.Next
	case "default":
		return n.Default
	case "open":
		return n.Open
	case "closed":
		return n.Closed
	case "holiday":
		return n.Holiday
	case "no_answer":
		return n.NoAnswer
	}
	return ""
}

// IsExit tells whether a reference leaves the flow: a destination or hangup.
func IsExit(to string) bool { return to == "hangup" || strings.Contains(to, ":") }

// Targets lists where a node can send the call next, in the order its keys say it: node ids
// of the flow, destinations and hangup.
func (n *Node) Targets() []string {
	var out []string
	for _, r := range n.refs() {
		out = append(out, r.to)
	}
	if n.Kind == NodeConnect && n.Connect != "" {
		out = append([]string{n.Connect}, out...)
	}
	return slices.Compact(out)
}

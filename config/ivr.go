package config

import (
	"fmt"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"
)

// IVR is what callers hear and press before they reach someone: flows of nodes, opening
// hours, caller lists, voicemail and the survey after a call. The checks are in ivr_check.go.
type IVR struct {
	Mark `yaml:"-"`
	// Language is the language of prompts unless a flow or a caller's choice says otherwise.
	Language string `yaml:"language"`
	// PromptDir holds recorded prompts, <dir>/<language>/<name>.wav; a relative path is in
	// the data folder.
	PromptDir string `yaml:"prompt_dir"`
	// SpeechRate is how fast text prompts are spoken, in words a minute.
	SpeechRate int `yaml:"speech_rate"`
	// Prompts names prompts for flows to use: text to speak, or recordings.
	Prompts   map[string]Prompt `yaml:"prompts"`
	Hours     []Hours           `yaml:"hours"`
	Lists     Lists             `yaml:"lists"`
	Voicemail Voicemail         `yaml:"voicemail"`
	Survey    Survey            `yaml:"survey"`
	Flows     []Flow            `yaml:"flows"`
}

// Prompt is what a node plays: one part or a list of parts. In the file:
//
//	play: welcome                           # ivr.prompts.welcome, else <prompt_dir>/<lang>/welcome.wav
//	play: {say: "Welcome"}                  # text, spoken in the call's language
//	play: {say: {en: "Welcome", zh: "欢迎"}} # text by language
//	play: [welcome, {say: "Press 1 for support."}]
type Prompt struct {
	Parts []PromptPart
	pos   Pos
	bad   bool // the decoder reported it
}

// PromptPart is one thing a prompt plays.
type PromptPart struct {
	Pos  Pos
	Name string            // a named prompt, or a recording in the prompt folder
	Say  map[string]string // language ("" for any) → text
}

// At is where the prompt stands in the file.
func (p Prompt) At() Pos { return p.pos }

// IsZero tells whether the prompt plays nothing.
func (p *Prompt) IsZero() bool { return p == nil || len(p.Parts) == 0 }

// Text is a prompt that speaks text in any language, for defaults.
func Text(byLang map[string]string) *Prompt {
	return &Prompt{Parts: []PromptPart{{Say: byLang}}}
}

func (p *Prompt) decodeNode(d *decoder, n *yaml.Node) bool {
	ok := p.decode(d, n)
	p.bad = !ok
	return ok
}

func (p *Prompt) decode(d *decoder, n *yaml.Node) bool {
	p.pos = Pos{n.Line, n.Column}
	if n.Kind == yaml.SequenceNode {
		if len(n.Content) == 0 {
			d.errorf(n, "an empty list of prompts")
			return false
		}
		for _, c := range n.Content {
			part, ok := decodePromptPart(d, c)
			if ok {
				p.Parts = append(p.Parts, part)
			}
		}
		return len(p.Parts) == len(n.Content)
	}
	part, ok := decodePromptPart(d, n)
	if ok {
		p.Parts = []PromptPart{part}
	}
	return ok
}

func decodePromptPart(d *decoder, n *yaml.Node) (PromptPart, bool) {
	part := PromptPart{Pos: Pos{n.Line, n.Column}}
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag != "!!null" && n.Value != "":
		part.Name = n.Value
		return part, true
	case n.Kind == yaml.MappingNode && len(n.Content) == 2 && n.Content[0].Value == "say":
		v := n.Content[1]
		switch {
		case v.Kind == yaml.ScalarNode && v.Tag != "!!null" && v.Value != "":
			part.Say = map[string]string{"": v.Value}
			return part, true
		case v.Kind == yaml.MappingNode && len(v.Content) > 0:
			part.Say = map[string]string{}
			for i := 0; i+1 < len(v.Content); i += 2 {
				lang, text := v.Content[i], v.Content[i+1]
				if !languageRE.MatchString(lang.Value) {
					d.errorf(lang, "bad language %q: want a code like en, zh or en-us", lang.Value)
					return part, false
				}
				if text.Kind != yaml.ScalarNode || text.Value == "" {
					d.errorf(text, "want the text to say, found %s", kindName(text))
					return part, false
				}
				part.Say[lang.Value] = text.Value
			}
			return part, true
		}
		d.errorf(v, "want the text to say, or a mapping of language to text, found %s", kindName(v))
		return part, false
	}
	d.errorf(n, "want a prompt: a name, {say: TEXT} or {say: {LANGUAGE: TEXT}}, found %s", kindName(n))
	return part, false
}

// Hours are opening hours: weekly spans in a time zone, and holidays (closed all day).
type Hours struct {
	Mark `yaml:"-"`
	Name string `yaml:"name"`
	// Zone is an IANA time zone, e.g. Europe/Berlin or America/New_York.
	Zone string `yaml:"zone"`
	// Open lists weekly spans: "mon-fri 09:00-17:00", "sat 10:00-13:00", "daily 22:00-06:00".
	Open []string `yaml:"open"`
	// Holidays lists days closed: "2026-12-25" or ranges "2026-12-24..2026-12-26".
	Holidays []string `yaml:"holidays"`

	Location *time.Location `yaml:"-"` // Zone, loaded
	Weekly   []Weekly       `yaml:"-"` // Open, parsed
	Closed   []DateRange    `yaml:"-"` // Holidays, parsed
}

// DateRange is a span of whole days, From and To included, as YYYY-MM-DD (which sort as
// dates do).
type DateRange struct{ From, To string }

// Lists are the callers a flow's caller node screens: numbers in E.164 or local to
// box.country. They seed the store's lists, which `callbox list` edits at run time.
type Lists struct {
	Mark      `yaml:"-"`
	Blacklist []ListEntry `yaml:"blacklist"`
	Warning   []ListEntry `yaml:"warning"`
	VIP       []ListEntry `yaml:"vip"`
}

// ListEntry is a number on a list. In the file it is a number ("+15550100") or a mapping.
type ListEntry struct {
	Mark   `yaml:"-"`
	Number string `yaml:"number"`
	Note   string `yaml:"note"`
	// Until is the last day the entry holds (YYYY-MM-DD); empty for ever.
	Until string `yaml:"until"`
	// Level is a VIP's priority in queues, 1-9 (default 1).
	Level int `yaml:"level"`

	E164    string    `yaml:"-"` // Number, normalised
	Expires time.Time `yaml:"-"` // the end of Until, in the box's local time; zero for ever
}

func (e *ListEntry) decodeNode(d *decoder, n *yaml.Node) bool {
	if n.Kind == yaml.ScalarNode && n.Tag != "!!null" {
		e.Number = n.Value
		e.at = Pos{n.Line, n.Column}
		e.fields = map[string]Pos{"number": e.at}
		return true
	}
	d.decodeStruct(n, reflect.ValueOf(e).Elem())
	return true
}

// Voicemail is how messages are taken.
type Voicemail struct {
	Mark `yaml:"-"`
	// Greeting is played before the tone.
	Greeting *Prompt `yaml:"greeting"`
	// MaxLength ends a message; Silence ends it once the caller has been quiet that long.
	MaxLength time.Duration `yaml:"max_length"`
	Silence   time.Duration `yaml:"silence"`
}

// Survey is the question callers are asked after an agent hangs up, where enabled.
type Survey struct {
	Mark     `yaml:"-"`
	Question *Prompt       `yaml:"question"`
	Thanks   *Prompt       `yaml:"thanks"`
	Timeout  time.Duration `yaml:"timeout"`
}

// Flow is a named IVR script: nodes, each naming where the call goes next.
type Flow struct {
	Mark  `yaml:"-"`
	Name  string `yaml:"name"`
	Start string `yaml:"start"`
	// Language is the flow's language (default ivr.language).
	Language string `yaml:"language"`
	// Survey asks callers the survey question when an agent hangs up on them.
	Survey bool  `yaml:"survey"`
	Nodes  Nodes `yaml:"nodes"`
}

// Node returns the flow's node with the given id.
func (f *Flow) Node(id string) (*Node, bool) {
	for _, n := range f.Nodes.List {
		if n.ID == id {
			return n, true
		}
	}
	return nil, false
}

// Nodes are a flow's nodes, keyed by id in the file, kept in file order.
type Nodes struct {
	List []*Node
	pos  Pos
}

func (ns *Nodes) decodeNode(d *decoder, n *yaml.Node) bool {
	ns.pos = Pos{n.Line, n.Column}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "want the flow's nodes as a mapping of id to node, found %s", kindName(n))
		return false
	}
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if line, dup := seen[k.Value]; dup {
			d.errorf(k, "node %s given twice (first at line %d)", k.Value, line)
			continue
		}
		seen[k.Value] = k.Line
		node := &Node{ID: k.Value, IDPos: Pos{k.Line, k.Column}}
		if v.Kind != yaml.MappingNode {
			d.errorf(v, "node %s: want a mapping, found %s", k.Value, kindName(v))
			continue
		}
		d.decodeStruct(v, reflect.ValueOf(node).Elem())
		ns.List = append(ns.List, node)
	}
	return true
}

// NodeKind is what a node does.
type NodeKind string

// The kinds of node; each is also the key that makes a node of that kind.
const (
	NodePlay      NodeKind = "play"      // play a prompt, then next
	NodeMenu      NodeKind = "menu"      // a prompt and keys to choose from
	NodeCollect   NodeKind = "collect"   // digits into a variable
	NodeLanguage  NodeKind = "language"  // the caller picks a language by key
	NodeTime      NodeKind = "time"      // open, closed or holiday by opening hours
	NodeCaller    NodeKind = "caller"    // blacklist, warning and VIP lists, caller rules
	NodeConnect   NodeKind = "connect"   // ring a destination
	NodeVoicemail NodeKind = "voicemail" // take a message for a box
)

// NodeKinds lists the kinds in the order messages name them.
func NodeKinds() []NodeKind {
	return []NodeKind{NodePlay, NodeMenu, NodeCollect, NodeLanguage, NodeTime, NodeCaller, NodeConnect, NodeVoicemail}
}

// Node is one step of a flow. Exactly one of the kind keys says what it does; the others
// tune it. A reference to where the call goes (next, keys, open, …) names another node of
// the flow, a destination (extension:EXT, group:NAME, number:NUMBER, queue:NAME, flow:NAME,
// voicemail:EXT) or hangup.
type Node struct {
	Mark  `yaml:"-"`
	ID    string `yaml:"-"`
	IDPos Pos    `yaml:"-"`

	Play      *Prompt      `yaml:"play"`
	Menu      *Prompt      `yaml:"menu"`
	Collect   *Prompt      `yaml:"collect"`
	Language  *Prompt      `yaml:"language"`
	Time      string       `yaml:"time"` // opening hours by name
	Caller    *CallerCheck `yaml:"caller"`
	Connect   string       `yaml:"connect"`   // a destination
	Voicemail string       `yaml:"voicemail"` // a box: an extension

	Next string `yaml:"next"`

	// menu, collect, language
	Keys    Keys          `yaml:"keys"`    // menu: key → reference; language: key → language
	Timeout time.Duration `yaml:"timeout"` // waiting for a key (collect: between keys)
	Retries int           `yaml:"retries"` // offers again after a wrong key or none
	Invalid *Prompt       `yaml:"invalid"` // played after a wrong key
	NoInput *Prompt       `yaml:"no_input"`
	Default string        `yaml:"default"` // where the call goes when the retries are used up

	// collect
	Variable   string `yaml:"variable"`
	Min        int    `yaml:"min"`
	Max        int    `yaml:"max"`
	Terminator string `yaml:"terminator"`

	// time
	Open    string `yaml:"open"`
	Closed  string `yaml:"closed"`
	Holiday string `yaml:"holiday"`

	// connect
	RingTimeout time.Duration `yaml:"ring_timeout"`
	NoAnswer    string        `yaml:"no_answer"`

	// voicemail
	Greeting  *Prompt       `yaml:"greeting"`
	MaxLength time.Duration `yaml:"max_length"`
	Silence   time.Duration `yaml:"silence"`

	Kind NodeKind `yaml:"-"`
}

// CallerCheck is a caller node's settings.
type CallerCheck struct {
	Mark `yaml:"-"`
	// Blacklisted is where blacklisted callers go (default: refused, hung up unanswered).
	Blacklisted string       `yaml:"blacklisted"`
	Rules       []CallerRule `yaml:"rules"`
}

// CallerRule sends callers whose number matches elsewhere: by prefix ("+1212", "030") or
// by country (ISO codes; numbers share a calling code, so US also matches Canada).
type CallerRule struct {
	Mark     `yaml:"-"`
	Prefix   Strings  `yaml:"prefix"`
	Country  Strings  `yaml:"country"`
	Next     string   `yaml:"next"`
	Prefixes []string `yaml:"-"` // Prefix and Country as E.164 prefixes
}

// Strings is a list that may be written as one value.
type Strings []string

func (s *Strings) decodeNode(d *decoder, n *yaml.Node) bool {
	switch {
	case n.Kind == yaml.ScalarNode && n.Tag != "!!null":
		*s = Strings{n.Value}
		return true
	case n.Kind == yaml.SequenceNode:
		for _, c := range n.Content {
			if c.Kind != yaml.ScalarNode || c.Tag == "!!null" {
				d.errorf(c, "want a text value, found %s", kindName(c))
				return false
			}
			*s = append(*s, c.Value)
		}
		return true
	}
	d.errorf(n, "want a value or a list, found %s", kindName(n))
	return false
}

// Keys are a menu's (or language node's) keys, in file order.
type Keys struct {
	List []Key
	pos  Pos
}

// Key is one key of a menu and where it leads.
type Key struct {
	Key   string
	To    string
	Pos   Pos // of the key
	ToPos Pos
}

func (ks *Keys) decodeNode(d *decoder, n *yaml.Node) bool {
	ks.pos = Pos{n.Line, n.Column}
	if n.Kind != yaml.MappingNode {
		d.errorf(n, "want keys as a mapping, e.g. {\"1\": support, \"2\": sales}, found %s", kindName(n))
		return false
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		if v.Kind != yaml.ScalarNode || v.Tag == "!!null" || v.Value == "" {
			d.errorf(v, "key %s: want where it leads, found %s", k.Value, kindName(v))
			continue
		}
		for _, prev := range ks.List {
			if prev.Key == k.Value {
				d.errorf(k, "key %s given twice (first at line %d)", k.Value, prev.Pos.Line)
			}
		}
		ks.List = append(ks.List, Key{Key: k.Value, To: v.Value, Pos: Pos{k.Line, k.Column}, ToPos: Pos{v.Line, v.Column}})
	}
	return true
}

// Lookup returns where key leads.
func (ks Keys) Lookup(key string) (string, bool) {
	for _, k := range ks.List {
		if k.Key == key {
			return k.To, true
		}
	}
	return "", false
}

// Flow returns the flow with the given name.
func (c *Config) Flow(name string) (*Flow, bool) {
	for i := range c.IVR.Flows {
		if c.IVR.Flows[i].Name == name {
			return &c.IVR.Flows[i], true
		}
	}
	return nil, false
}

// HoursNamed returns the opening hours with the given name.
func (c *Config) HoursNamed(name string) (*Hours, bool) {
	for i := range c.IVR.Hours {
		if c.IVR.Hours[i].Name == name {
			return &c.IVR.Hours[i], true
		}
	}
	return nil, false
}

// PromptUse is a place a prompt part is used, for checks that need the box (recordings on
// disk, espeak-ng).
type PromptUse struct {
	File string
	Pos  Pos
	Part PromptPart
}

func (u PromptUse) String() string { return fmt.Sprintf("%s:%d:%d", u.File, u.Pos.Line, u.Pos.Col) }

// Recordings lists the recorded prompts the configuration plays (names that are not in
// ivr.prompts), where each is first used.
func (c *Config) Recordings() []PromptUse {
	var out []PromptUse
	seen := map[string]bool{}
	c.eachPromptPart(func(p PromptPart) {
		if p.Name == "" || seen[p.Name] {
			return
		}
		if _, named := c.IVR.Prompts[p.Name]; named {
			return
		}
		seen[p.Name] = true
		out = append(out, PromptUse{File: c.File, Pos: p.Pos, Part: p})
	})
	return out
}

// SpokenTexts lists every text prompt the configuration may speak (the defaults of
// voicemail and survey included when they are used), for espeak-ng checks and for
// synthesising them ahead of the first call.
func (c *Config) SpokenTexts() []PromptUse {
	var out []PromptUse
	c.eachPromptPart(func(p PromptPart) {
		if len(p.Say) > 0 {
			out = append(out, PromptUse{File: c.File, Pos: p.Pos, Part: p})
		}
	})
	return out
}

// eachPromptPart calls fn for every prompt part the configuration plays.
func (c *Config) eachPromptPart(fn func(PromptPart)) {
	visit := func(p *Prompt) {
		if p == nil {
			return
		}
		for _, part := range p.Parts {
			fn(part)
		}
	}
	for _, name := range sortedKeys(c.IVR.Prompts) {
		p := c.IVR.Prompts[name]
		visit(&p)
	}
	if c.usesVoicemail() {
		visit(c.IVR.Voicemail.Greeting)
	}
	if c.usesSurvey() {
		visit(c.IVR.Survey.Question)
		visit(c.IVR.Survey.Thanks)
	}
	for _, f := range c.IVR.Flows {
		for _, n := range f.Nodes.List {
			for _, p := range []*Prompt{n.Play, n.Menu, n.Collect, n.Language, n.Invalid, n.NoInput, n.Greeting} {
				visit(p)
			}
		}
	}
}

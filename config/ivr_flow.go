package config

import (
	"slices"
	"strings"
	"time"

	"callbox/ivr/e164"
)

// checkFlow checks one flow: its nodes, where they lead, and that every node can be
// reached from the start and has a way out of the flow.
func (v *validator) checkFlow(c *Config, f *Flow) {
	if f.Language != "" && !languageRE.MatchString(f.Language) {
		v.errorf(f.Field("language"), "flow %s: bad language %q: want a code like en or zh", f.Name, f.Language)
	}
	if len(f.Nodes.List) == 0 {
		v.errorf(f.Field("nodes"), "flow %s has no nodes", f.Name)
		return
	}
	ids := map[string]bool{}
	for _, n := range f.Nodes.List {
		switch {
		case n.ID == "hangup":
			v.errorf(n.IDPos, "flow %s: a node cannot be called hangup (it means: end the call)", f.Name)
		case !nameRE.MatchString(n.ID):
			v.errorf(n.IDPos, "flow %s: bad node id %q: use letters, digits, '.', '_' and '-'", f.Name, n.ID)
		}
		if n.ID != "hangup" {
			ids[n.ID] = true
		}
		v.checkNode(c, f, n)
	}
	switch {
	case !f.Has("start"):
		v.errorf(f.At(), "flow %s has no start: name its first node", f.Name)
		return
	case !ids[f.Start]:
		v.errorf(f.Field("start"), "flow %s: start node %s is not defined", f.Name, f.Start)
		return
	}
	v.checkGraph(f, ids)
}

// checkNode checks a node's kind, its settings and its references.
func (v *validator) checkNode(c *Config, f *Flow, n *Node) {
	var kinds []NodeKind
	for _, k := range NodeKinds() {
		if n.Has(string(k)) {
			kinds = append(kinds, k)
		}
	}
	switch len(kinds) {
	case 0:
		v.errorf(n.At(), "flow %s: node %s does nothing: give it one of play, menu, collect, language, time, caller, connect or voicemail", f.Name, n.ID)
		return
	case 1:
		n.Kind = kinds[0]
	default:
		v.errorf(n.Field(string(kinds[1])), "flow %s: node %s is both %s and %s: one node does one thing", f.Name, n.ID, kinds[0], kinds[1])
		return
	}
	for _, key := range allNodeKeys {
		if n.Has(key) && !slices.Contains(kindKeys[n.Kind], key) {
			v.errorf(n.Field(key), "flow %s: %s does nothing in a %s node", f.Name, key, n.Kind)
		}
	}
	need := func(key string) {
		if !n.Has(key) {
			v.errorf(n.At(), "flow %s: %s node %s needs %s", f.Name, n.Kind, n.ID, key)
		}
	}
	switch n.Kind {
	case NodePlay:
		v.needPrompt(f, n, n.Play, "play")
		need("next")
	case NodeMenu:
		v.needPrompt(f, n, n.Menu, "menu")
		v.checkChoice(f, n, 5*time.Second)
		if len(n.Keys.List) == 0 {
			v.errorf(n.At(), "flow %s: menu %s has no keys: callers cannot leave it", f.Name, n.ID)
		}
		for _, k := range n.Keys.List {
			v.checkKey(f, n, k.Key, k.Pos)
		}
	case NodeCollect:
		v.needPrompt(f, n, n.Collect, "collect")
		v.checkChoice(f, n, 5*time.Second)
		need("next")
		need("variable")
		if n.Variable != "" && !variableRE.MatchString(n.Variable) {
			v.errorf(n.Field("variable"), "flow %s: bad variable name %q: lower-case letters, digits and '_'", f.Name, n.Variable)
		}
		if !n.Has("min") {
			n.Min = 1
		}
		if !n.Has("max") {
			n.Max = 16
		}
		switch {
		case n.Min < 1 || n.Min > 32:
			v.errorf(n.Field("min"), "flow %s: min %d: want 1 to 32 digits", f.Name, n.Min)
		case n.Max < n.Min || n.Max > 32:
			v.errorf(n.Field("max"), "flow %s: max %d: want %d to 32 digits", f.Name, n.Max, n.Min)
		}
		if !n.Has("terminator") {
			n.Terminator = "#"
		} else if n.Terminator != "" && n.Terminator != "none" {
			v.checkKey(f, n, n.Terminator, n.Field("terminator"))
		} else {
			n.Terminator = ""
		}
	case NodeLanguage:
		v.needPrompt(f, n, n.Language, "language")
		v.checkChoice(f, n, 5*time.Second)
		need("next")
		if len(n.Keys.List) == 0 {
			v.errorf(n.At(), "flow %s: language node %s has no keys", f.Name, n.ID)
		}
		for _, k := range n.Keys.List {
			v.checkKey(f, n, k.Key, k.Pos)
			if !languageRE.MatchString(k.To) {
				v.errorf(k.ToPos, "flow %s: key %s: bad language %q: want a code like en or zh", f.Name, k.Key, k.To)
			}
		}
	case NodeTime:
		if _, ok := c.HoursNamed(n.Time); !ok {
			v.errorf(n.Field("time"), "flow %s: opening hours %q are not defined under ivr.hours", f.Name, n.Time)
		}
		need("open")
		need("closed")
	case NodeCaller:
		v.checkCallerNode(c, f, n)
		need("next")
	case NodeConnect:
		kind, _, _ := strings.Cut(n.Connect, ":")
		switch kind {
		case "extension", "group", "number", "queue":
			v.destination(c, n.Field("connect"), n.Connect)
		default:
			v.errorf(n.Field("connect"), "flow %s: connect %q: want extension:EXT, group:NAME, number:NUMBER or queue:NAME", f.Name, n.Connect)
		}
		if n.Has("ring_timeout") {
			v.between(n.Mark, "ring_timeout", n.RingTimeout, time.Second, 5*time.Minute)
		}
	case NodeVoicemail:
		if !c.hasExtension(n.Voicemail) {
			v.errorf(n.Field("voicemail"), "flow %s: voicemail box %q: want an extension that is defined", f.Name, n.Voicemail)
		}
		if n.Has("max_length") {
			v.between(n.Mark, "max_length", n.MaxLength, 10*time.Second, 30*time.Minute)
		}
		if n.Has("silence") {
			v.between(n.Mark, "silence", n.Silence, time.Second, time.Minute)
		}
	}
	for _, r := range n.refs() {
		v.checkRef(c, f, r)
	}
}

func (v *validator) needPrompt(f *Flow, n *Node, p *Prompt, key string) {
	if p.IsZero() && (p == nil || !p.bad) {
		v.errorf(n.Field(key), "flow %s: node %s: %s needs a prompt", f.Name, n.ID, key)
	}
}

// checkChoice fills and checks the settings of nodes that wait for keys.
func (v *validator) checkChoice(f *Flow, n *Node, timeout time.Duration) {
	defaultDuration(n.Mark, "timeout", &n.Timeout, timeout)
	v.between(n.Mark, "timeout", n.Timeout, time.Second, time.Minute)
	if !n.Has("retries") {
		n.Retries = 2
	} else if n.Retries < 0 || n.Retries > 9 {
		v.errorf(n.Field("retries"), "flow %s: retries %d: want 0 to 9", f.Name, n.Retries)
	}
}

func (v *validator) checkKey(f *Flow, n *Node, key string, at Pos) {
	if !dtmfKeyRE.MatchString(key) {
		v.errorf(at, "flow %s: node %s: %q is not a key of a phone: want one of 0-9, *, #, A-D", f.Name, n.ID, key)
	}
}

func (v *validator) checkCallerNode(c *Config, f *Flow, n *Node) {
	if n.Caller == nil {
		n.Caller = &CallerCheck{}
		return
	}
	plan, planOK := e164.PlanFor(c.Box.Country)
	for i := range n.Caller.Rules {
		r := &n.Caller.Rules[i]
		if len(r.Prefix)+len(r.Country) == 0 {
			v.errorf(r.At(), "flow %s: caller rule without prefix or country", f.Name)
		}
		if r.Next == "" {
			v.errorf(r.At(), "flow %s: caller rule without next", f.Name)
		}
		for j, p := range r.Prefix {
			e, ok := plan.NormalizePrefix(p)
			if !ok || !planOK {
				v.errorf(listItemPos(r.Mark, "prefix", j), "flow %s: prefix %q: write it in E.164 (+CC…) or with the national prefix", f.Name, p)
				continue
			}
			r.Prefixes = append(r.Prefixes, e)
		}
		for j, country := range r.Country {
			cp, ok := e164.PlanFor(country)
			if !ok {
				v.errorf(listItemPos(r.Mark, "country", j), "flow %s: unknown country %q: want an ISO 3166 code like US, DE or CN", f.Name, country)
				continue
			}
			r.Prefixes = append(r.Prefixes, "+"+cp.Code)
		}
	}
}

// checkRef checks that a reference names a node of the flow, a destination or hangup.
func (v *validator) checkRef(c *Config, f *Flow, r ref) {
	switch {
	case r.to == "hangup":
	case strings.Contains(r.to, ":"):
		kind, name, _ := strings.Cut(r.to, ":")
		if kind == "flow" && name == f.Name {
			v.errorf(r.at, "flow %s: %s leads to the flow itself: name its start node instead", f.Name, r.key)
			return
		}
		v.destination(c, r.at, r.to)
	default:
		if _, ok := f.Node(r.to); !ok {
			v.errorf(r.at, "flow %s: %s %q is not a node of the flow, a destination (kind:name) or hangup", f.Name, r.key, r.to)
		}
	}
}

// checkGraph reports nodes the start never reaches, and nodes from which no path leaves
// the flow (a menu whose keys only lead back into it, say).
func (v *validator) checkGraph(f *Flow, ids map[string]bool) {
	next := map[string][]string{}
	exits := map[string]bool{}
	for _, n := range f.Nodes.List {
		// A node already reported as broken counts as a way out, so its problem is not
		// repeated for every node before it.
		if n.Kind == NodeConnect || n.Kind == NodeVoicemail || n.Kind == "" {
			exits[n.ID] = true
		}
		for _, r := range n.refs() {
			if ids[r.to] {
				next[n.ID] = append(next[n.ID], r.to)
			} else {
				exits[n.ID] = true // a destination, hangup, or a reference already reported
			}
		}
	}
	reached := map[string]bool{f.Start: true}
	todo := []string{f.Start}
	for len(todo) > 0 {
		id := todo[0]
		todo = todo[1:]
		for _, to := range next[id] {
			if !reached[to] {
				reached[to] = true
				todo = append(todo, to)
			}
		}
	}
	// A node has a way out when it leaves the flow itself or leads to one that does.
	out := map[string]bool{}
	for id := range exits {
		out[id] = true
	}
	for changed := true; changed; {
		changed = false
		for id, tos := range next {
			if out[id] {
				continue
			}
			for _, to := range tos {
				if out[to] {
					out[id], changed = true, true
					break
				}
			}
		}
	}
	for _, n := range f.Nodes.List {
		if n.Kind == "" || !ids[n.ID] {
			continue
		}
		switch {
		case !reached[n.ID]:
			v.errorf(n.IDPos, "flow %s: node %s cannot be reached from the start (%s)", f.Name, n.ID, f.Start)
		case !out[n.ID] && n.Kind == NodeMenu:
			v.errorf(n.IDPos, "flow %s: menu %s has no way out: every key and the default lead back into the menu", f.Name, n.ID)
		case !out[n.ID]:
			v.errorf(n.IDPos, "flow %s: node %s has no way out: every path from it loops inside the flow", f.Name, n.ID)
		}
	}
}

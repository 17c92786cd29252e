package ivr

import (
	"context"
	"fmt"
	"strings"

	"callbox"
	"callbox/config"
)

// FlowView is a flow as `callbox ivr show` shows it.
type FlowView struct {
	Name     string   `json:"name"`
	Start    string   `json:"start"`
	Language string   `json:"language"`
	Survey   bool     `json:"survey"`
	Nodes    int      `json:"nodes"`
	Numbers  []string `json:"numbers,omitempty"` // inbound numbers that lead to it
	Tree     string   `json:"tree"`
}

// Flows shows every flow of the running configuration.
func (s *Service) Flows(ctx context.Context) ([]FlowView, error) {
	cfg := s.config()
	out := []FlowView{}
	for i := range cfg.IVR.Flows {
		out = append(out, View(cfg, &cfg.IVR.Flows[i]))
	}
	return out, nil
}

// Flow shows one flow.
func (s *Service) Flow(ctx context.Context, name string) (FlowView, error) {
	cfg := s.config()
	f, ok := cfg.Flow(name)
	if !ok {
		return FlowView{}, callbox.Errorf(callbox.ENOTFOUND, "no flow called %s", name)
	}
	return View(cfg, f), nil
}

// View describes a flow of cfg, with its tree.
func View(cfg *config.Config, f *config.Flow) FlowView {
	v := FlowView{Name: f.Name, Start: f.Start, Language: f.Language, Survey: f.Survey, Nodes: len(f.Nodes.List), Tree: Tree(cfg, f)}
	if v.Language == "" {
		v.Language = cfg.IVR.Language
	}
	for _, in := range cfg.Inbound {
		if in.Dest.Kind == "flow" && in.Dest.Name == f.Name {
			v.Numbers = append(v.Numbers, in.Number)
		}
	}
	return v
}

// Tree draws a flow from its start: each node with what it does, and under it where each
// of its choices leads. A node met again is named, not drawn twice.
func Tree(cfg *config.Config, f *config.Flow) string {
	lang := f.Language
	if lang == "" {
		lang = cfg.IVR.Language
	}
	var b strings.Builder
	seen := map[string]bool{}
	var draw func(id, indent string)
	draw = func(id, indent string) {
		n, _ := f.Node(id)
		seen[id] = true
		b.WriteString(describe(n, lang) + "\n")
		es := edges(n)
		for i, e := range es {
			branch, more := "├── ", "│   "
			if i == len(es)-1 {
				branch, more = "└── ", "    "
			}
			b.WriteString(indent + branch + e.label + " → ")
			switch _, isNode := f.Node(e.to); {
			case !isNode:
				b.WriteString(e.to + "\n")
			case seen[e.to]:
				b.WriteString(e.to + " (above)\n")
			default:
				draw(e.to, indent+more)
			}
		}
	}
	draw(f.Start, "")
	return b.String()
}

type edge struct{ label, to string }

// edges are a node's choices in the order a caller meets them.
func edges(n *config.Node) []edge {
	var es []edge
	add := func(label, to string) {
		if to != "" {
			es = append(es, edge{label, to})
		}
	}
	switch n.Kind {
	case config.NodeMenu:
		for _, k := range n.Keys.List {
			add("key "+k.Key, k.To)
		}
		add("default", n.Default)
		if n.Default == "" {
			add("default", "hangup")
		}
	case config.NodeCollect:
		add("next", n.Next)
		add("default", n.Default)
		if n.Default == "" {
			add("default", "hangup")
		}
	case config.NodeTime:
		add("open", n.Open)
		add("holiday", n.Holiday)
		add("closed", n.Closed)
	case config.NodeCaller:
		if c := n.Caller; c != nil {
			blacklisted := c.Blacklisted
			if blacklisted == "" || blacklisted == "hangup" {
				blacklisted = "refused"
			}
			add("blacklisted", blacklisted)
			for _, r := range c.Rules {
				add("from "+strings.Join(r.Prefixes, ", "), r.Next)
			}
		}
		add("next", n.Next)
	case config.NodeConnect:
		add("no answer", n.NoAnswer)
	default:
		add("next", n.Next)
	}
	return es
}

// describe says what a node does, in one line.
func describe(n *config.Node, lang string) string {
	s := n.ID + ": "
	switch n.Kind {
	case config.NodePlay:
		return s + "play " + promptText(n.Play, lang)
	case config.NodeMenu:
		return s + fmt.Sprintf("menu %s (wait %s, %d retries)", promptText(n.Menu, lang), n.Timeout, n.Retries)
	case config.NodeCollect:
		term := ""
		if n.Terminator != "" {
			term = ", " + n.Terminator + " ends"
		}
		return s + fmt.Sprintf("collect %s into %s (%d-%d digits%s)", promptText(n.Collect, lang), n.Variable, n.Min, n.Max, term)
	case config.NodeLanguage:
		var keys []string
		for _, k := range n.Keys.List {
			keys = append(keys, k.Key+"="+k.To)
		}
		return s + fmt.Sprintf("language %s (%s)", promptText(n.Language, lang), strings.Join(keys, ", "))
	case config.NodeTime:
		return s + "opening hours " + n.Time
	case config.NodeCaller:
		return s + "caller lists (blacklist, warning, vip)"
	case config.NodeConnect:
		if n.RingTimeout > 0 {
			return s + fmt.Sprintf("connect %s (ring %s)", n.Connect, n.RingTimeout)
		}
		return s + "connect " + n.Connect
	case config.NodeVoicemail:
		return s + "voicemail " + n.Voicemail
	}
	return s + string(n.Kind)
}

// promptText shows a prompt short: its names, and its text in lang, quoted.
func promptText(p *config.Prompt, lang string) string {
	if p.IsZero() {
		return "-"
	}
	var parts []string
	for _, part := range p.Parts {
		if part.Name != "" {
			parts = append(parts, part.Name)
			continue
		}
		_, text := pickText(part.Say, lang, lang)
		if r := []rune(text); len(r) > 48 {
			text = string(r[:47]) + "…"
		}
		parts = append(parts, fmt.Sprintf("%q", text))
	}
	return strings.Join(parts, " + ")
}

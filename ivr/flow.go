package ivr

import (
	"context"
	"strconv"
	"strings"
	"time"

	"callbox"
	"callbox/config"
)

const (
	// maxSteps bounds the nodes one call walks: a flow that loops (a menu sending back to
	// itself for ever) ends the call rather than keep it for hours.
	maxSteps = 200
	// maxFlows bounds the jumps from flow to flow.
	maxFlows = 10
)

// Run walks the flow called name from its start until the call leaves it: connected and
// over, in voicemail, hung up, or refused. Every node visited, key pressed and variable set
// is on the call's timeline.
func (cv *Conversation) Run(ctx context.Context, name string) Ending {
	f, ok := cv.cfg.Flow(name)
	if !ok {
		cv.log.Error("no such flow; the call is refused", "flow", name)
		cv.hangup(callbox.CauseUnavailable)
		return Ending{Result: "failed", Cause: callbox.CauseUnavailable, Side: callbox.SideBox}
	}
	flows := 1
	cv.enter(f)
	id := f.Start
	for step := 0; ; step++ {
		if step == maxSteps {
			cv.log.Warn("the caller went round the flow too often; hanging up", "flow", f.Name, "steps", step)
			cv.call.Event("ivr.loop", "flow", f.Name, "steps", strconv.Itoa(step))
			cv.hangup(callbox.CauseNormal)
			return Ending{Result: "ivr", Cause: callbox.CauseNormal, Side: callbox.SideBox}
		}
		n, _ := f.Node(id)
		cv.call.Event("ivr.node", "flow", f.Name, "node", n.ID, "kind", string(n.Kind))
		cv.svc.metrics.nodes.WithLabelValues(string(n.Kind)).Inc()
		to, end := cv.node(ctx, f, n)
		if end != nil {
			return *end
		}
		if !config.IsExit(to) {
			id = to
			continue
		}
		if to == "hangup" {
			cv.call.Event("ivr.exit", "flow", f.Name, "to", "hangup")
			if hasFlag(cv.call.Record(), "blacklisted") {
				// Refused, after whatever the flow told the caller.
				cv.hangup(callbox.CauseRejected)
				return Ending{Result: "rejected", Cause: callbox.CauseRejected, Side: callbox.SideBox}
			}
			cv.hangup(callbox.CauseNormal)
			return Ending{Result: "ivr", Cause: callbox.CauseNormal, Side: callbox.SideBox}
		}
		d := destination(to)
		if d.Kind == "flow" {
			next, ok := cv.cfg.Flow(d.Name)
			if !ok || flows == maxFlows {
				cv.log.Warn("cannot go on to the flow; hanging up", "flow", d.Name, "flows", flows)
				cv.hangup(callbox.CauseNormal)
				return Ending{Result: "ivr", Cause: callbox.CauseNormal, Side: callbox.SideBox}
			}
			flows++
			f, id = next, next.Start
			cv.enter(f)
			continue
		}
		cv.call.Event("ivr.exit", "flow", f.Name, "to", to)
		if d.Kind == "voicemail" {
			return cv.Voicemail(ctx, d.Name, nil)
		}
		end2, reach := cv.call.Connect(ctx, d, 0)
		if reach == Unanswered {
			cv.hangup(end2.Cause)
		}
		return end2
	}
}

// enter starts a flow: its language and survey apply from now on.
func (cv *Conversation) enter(f *config.Flow) {
	cv.call.Event("ivr.flow", "flow", f.Name, "caller", cv.caller)
	if f.Language != "" {
		cv.lang = f.Language
	}
	if f.Survey {
		cv.call.WantSurvey()
	}
}

func destination(s string) config.Destination {
	kind, name, _ := strings.Cut(s, ":")
	return config.Destination{Kind: kind, Name: name}
}

// node carries out one node and returns where the call goes next, or how it ended.
func (cv *Conversation) node(ctx context.Context, f *config.Flow, n *config.Node) (string, *Ending) {
	switch n.Kind {
	case config.NodePlay:
		if h := cv.play(ctx, n.Play, true); h == hungUp || h == ended {
			return "", cv.finish(ctx, h)
		}
		return n.Next, nil
	case config.NodeMenu:
		return cv.menu(ctx, n)
	case config.NodeCollect:
		return cv.collect(ctx, n)
	case config.NodeLanguage:
		return cv.language(ctx, n)
	case config.NodeTime:
		st, override, _ := cv.svc.HoursState(ctx, cv.cfg, n.Time)
		detail := []string{"hours", n.Time, "state", string(st)}
		if override != "" {
			detail = append(detail, "override", override)
		}
		cv.call.Event("ivr.time", detail...)
		switch {
		case st == Open:
			return n.Open, nil
		case st == Holiday && n.Holiday != "":
			return n.Holiday, nil
		}
		return n.Closed, nil
	case config.NodeCaller:
		return cv.screen(ctx, n)
	case config.NodeConnect:
		d := destination(n.Connect)
		cv.call.Event("ivr.exit", "flow", f.Name, "to", n.Connect)
		end, reach := cv.call.Connect(ctx, d, n.RingTimeout)
		if reach != Unanswered {
			return "", &end
		}
		if n.NoAnswer == "" {
			cv.hangup(end.Cause)
			return "", &end
		}
		cv.call.Event("ivr.no-answer", "node", n.ID, "cause", string(end.Cause))
		return n.NoAnswer, nil
	case config.NodeVoicemail:
		end := cv.Voicemail(ctx, n.Voicemail, n)
		return "", &end
	}
	cv.log.Error("unknown node kind", "kind", n.Kind)
	return "hangup", nil
}

// menu offers the keys until one of them is pressed, or the retries are used up.
func (cv *Conversation) menu(ctx context.Context, n *config.Node) (string, *Ending) {
	for try := 0; ; try++ {
		k, h := cv.ask(ctx, n.Menu, n.Timeout)
		if end := cv.finish(ctx, h); end != nil {
			return "", end
		}
		var again *config.Prompt
		if h == timedOut {
			cv.call.Event("ivr.timeout", "node", n.ID, "try", strconv.Itoa(try+1))
			cv.svc.metrics.retries.WithLabelValues("timeout").Inc()
			again = n.NoInput
		} else {
			to, ok := n.Keys.Lookup(string(k.digit))
			cv.call.Event("ivr.key", "node", n.ID, "key", string(k.digit), "source", k.source, "valid", strconv.FormatBool(ok))
			if ok {
				return to, nil
			}
			cv.svc.metrics.retries.WithLabelValues("invalid").Inc()
			cv.pending = cv.pending[:0] // keys after a wrong one are not meant for the next try
			again = n.Invalid
		}
		if try == n.Retries {
			break
		}
		if h := cv.play(ctx, again, false); h == hungUp || h == ended {
			return "", cv.finish(ctx, h)
		}
	}
	return cv.fallback(n), nil
}

// fallback is where a menu, collect or language node sends the call when its retries are
// used up: its default, or hangup.
func (cv *Conversation) fallback(n *config.Node) string {
	to := n.Default
	if n.Kind == config.NodeLanguage {
		to = n.Next
	} else if to == "" {
		to = "hangup"
	}
	cv.call.Event("ivr.default", "node", n.ID, "to", to)
	return to
}

// collect takes digits into the node's variable: up to max, or the terminator, or a pause
// of timeout; fewer than min is a wrong entry and asked again.
func (cv *Conversation) collect(ctx context.Context, n *config.Node) (string, *Ending) {
	for try := 0; ; try++ {
		digits, h := cv.digits(ctx, n)
		if end := cv.finish(ctx, h); end != nil {
			return "", end
		}
		if len(digits) >= n.Min {
			rec := cv.call.Record()
			if rec.Variables == nil {
				rec.Variables = map[string]string{}
			}
			rec.Variables[n.Variable] = digits
			cv.call.Event("ivr.variable", "node", n.ID, "name", n.Variable, "value", digits)
			return n.Next, nil
		}
		again := n.Invalid
		if digits == "" {
			cv.call.Event("ivr.timeout", "node", n.ID, "try", strconv.Itoa(try+1))
			cv.svc.metrics.retries.WithLabelValues("timeout").Inc()
			again = n.NoInput
		} else {
			cv.call.Event("ivr.invalid", "node", n.ID, "digits", digits)
			cv.svc.metrics.retries.WithLabelValues("invalid").Inc()
		}
		if try == n.Retries {
			break
		}
		if h := cv.play(ctx, again, false); h == hungUp || h == ended {
			return "", cv.finish(ctx, h)
		}
	}
	return cv.fallback(n), nil
}

// digits plays a collect node's prompt and gathers the keys pressed.
func (cv *Conversation) digits(ctx context.Context, n *config.Node) (string, happening) {
	h := cv.play(ctx, n.Collect, true)
	if h == hungUp || h == ended {
		return "", h
	}
	var b strings.Builder
	for {
		for len(cv.pending) > 0 {
			k := cv.take()
			cv.call.Event("ivr.key", "node", n.ID, "key", string(k.digit), "source", k.source)
			if n.Terminator != "" && string(k.digit) == n.Terminator {
				return b.String(), gotKey
			}
			b.WriteRune(k.digit)
			if b.Len() >= n.Max {
				return b.String(), gotKey
			}
		}
		t := time.NewTimer(n.Timeout)
		h := cv.next(ctx, nil, t.C)
		t.Stop()
		switch h {
		case timedOut:
			return b.String(), timedOut
		case hungUp, ended:
			return "", h
		}
	}
}

// language lets the caller choose the language of what follows.
func (cv *Conversation) language(ctx context.Context, n *config.Node) (string, *Ending) {
	for try := 0; ; try++ {
		k, h := cv.ask(ctx, n.Language, n.Timeout)
		if end := cv.finish(ctx, h); end != nil {
			return "", end
		}
		again := n.NoInput
		if h == gotKey {
			lang, ok := n.Keys.Lookup(string(k.digit))
			cv.call.Event("ivr.key", "node", n.ID, "key", string(k.digit), "source", k.source, "valid", strconv.FormatBool(ok))
			if ok {
				cv.lang = lang
				rec := cv.call.Record()
				if rec.Variables == nil {
					rec.Variables = map[string]string{}
				}
				rec.Variables["language"] = lang
				cv.call.Event("ivr.language", "language", lang)
				return n.Next, nil
			}
			cv.pending = cv.pending[:0]
			again = n.Invalid
		} else {
			cv.call.Event("ivr.timeout", "node", n.ID, "try", strconv.Itoa(try+1))
		}
		if try == n.Retries {
			break
		}
		if h := cv.play(ctx, again, false); h == hungUp || h == ended {
			return "", cv.finish(ctx, h)
		}
	}
	return cv.fallback(n), nil
}

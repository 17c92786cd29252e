package ivr

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"callbox"
	"callbox/config"
)

// screen is a caller node: the caller's number against the lists (blacklist, warning, VIP)
// and the node's rules. A blacklisted caller is refused, or sent where the node says; a
// warning flags the call (and shows on the agent's phone); a VIP gets their level as the
// call's priority.
func (cv *Conversation) screen(ctx context.Context, n *config.Node) (string, *Ending) {
	rec := cv.call.Record()
	var on []string
	blacklisted := false
	if cv.e164 {
		entries, err := cv.svc.store.NumberEntries(ctx, cv.caller)
		if err != nil {
			// Screening fails open: a database hiccup must not turn callers away.
			cv.log.Error("caller lists could not be read; the caller is not screened", "err", err)
		}
		now := cv.svc.clock.Now()
		for _, e := range entries {
			if e.Expired(now) {
				continue
			}
			on = append(on, e.List)
			if err := cv.svc.store.ListHit(ctx, e.List, e.Number, now); err != nil {
				cv.log.Warn("a list hit could not be counted", "list", e.List, "err", err)
			}
			switch e.List {
			case "blacklist":
				blacklisted = true
			case "warning":
				addFlag(rec, "warning")
				if e.Note != "" {
					rec.Variables = setVar(rec.Variables, "warning", e.Note)
				}
			case "vip":
				addFlag(rec, "vip")
				rec.VIP = max(rec.VIP, e.Level)
			}
		}
	}
	detail := []string{"number", cv.caller, "lists", strings.Join(on, ",")}
	if rec.VIP > 0 {
		detail = append(detail, "vip", strconv.Itoa(rec.VIP))
	}
	if blacklisted {
		addFlag(rec, "blacklisted")
		cv.svc.metrics.blacklisted.Inc()
		cv.call.Event("ivr.caller", detail...)
		if c := n.Caller; c != nil && c.Blacklisted != "" && c.Blacklisted != "hangup" {
			return c.Blacklisted, nil
		}
		// Refused: unanswered with 603 Decline when the IVR has not answered yet.
		cv.log.Info("blacklisted caller refused", "number", cv.caller)
		cv.hangup(callbox.CauseRejected)
		return "", &Ending{Result: "rejected", Cause: callbox.CauseRejected, Side: callbox.SideBox}
	}
	if c := n.Caller; c != nil && cv.e164 {
		for i, r := range c.Rules {
			for _, p := range r.Prefixes {
				if strings.HasPrefix(cv.caller, p) {
					cv.call.Event("ivr.caller", append(detail, "rule", strconv.Itoa(i+1), "prefix", p)...)
					return r.Next, nil
				}
			}
		}
	}
	cv.call.Event("ivr.caller", detail...)
	return n.Next, nil
}

func addFlag(rec *callbox.Record, flag string) {
	if !hasFlag(rec, flag) {
		rec.Flags = append(rec.Flags, flag)
	}
}

func hasFlag(rec *callbox.Record, flag string) bool {
	return slices.Contains(rec.Flags, flag)
}

func setVar(vars map[string]string, name, value string) map[string]string {
	if vars == nil {
		vars = map[string]string{}
	}
	vars[name] = value
	return vars
}

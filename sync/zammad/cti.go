package zammad

import (
	"context"
	"net/http"
	"strings"

	"callbox/sync/adapter"
	"callbox/sync/event"
	"callbox/sync/outbox"
)

// CTI speaks Zammad's generic CTI API: POST /api/v1/cti/{token} with newCall, answer and
// hangup events, matched by callId. Zammad keeps its caller log from them and pops the caller
// on the agents' screens while a call rings.
type CTI struct {
	url    string
	client *adapter.Client
	agents map[string]string
}

// CTI is the instance's CTI client; nil without a cti_token.
func (z *Zammad) CTI() *CTI { return z.cti }

// Call is a call as the CTI API describes it.
type Call struct {
	ID        string   // the box's call id
	From, To  string   // E.164; Zammad wants the digits
	Direction string   // inbound or outbound
	Users     []string // names of the agents ringing, answering or calling
	Queue     string
	Agent     string // extension of the agent who answered
}

func (c *CTI) base(event string, call Call) map[string]any {
	dir := "in"
	if call.Direction == "outbound" {
		dir = "out"
	}
	m := map[string]any{"event": event, "from": ctiNumber(call.From), "to": ctiNumber(call.To), "direction": dir, "callId": call.ID}
	if len(call.Users) > 0 {
		m["user"] = call.Users
	}
	return m
}

// ctiNumber writes a number as Zammad's CTI examples do: digits, no plus.
func ctiNumber(n string) string {
	if n == "" || n == "anonymous" {
		return "anonymous"
	}
	return strings.TrimPrefix(n, "+")
}

func (c *CTI) post(ctx context.Context, body map[string]any, out any) outbox.Result {
	_, r := c.client.JSON(ctx, http.MethodPost, c.url, body, out)
	return r
}

// NewCall tells Zammad a call starts ringing. reject is true when Zammad's block list says
// the caller should be turned away.
func (c *CTI) NewCall(ctx context.Context, call Call) (reject bool, r outbox.Result) {
	m := c.base("newCall", call)
	if call.Queue != "" {
		m["queue"] = call.Queue
	}
	var ans struct {
		Action string `json:"action"`
	}
	r = c.post(ctx, m, &ans)
	return ans.Action == "reject", r
}

// Answer tells Zammad who answered.
func (c *CTI) Answer(ctx context.Context, call Call) outbox.Result {
	m := c.base("answer", call)
	if u := c.agents[call.Agent]; u != "" {
		m["answeringNumber"] = u
	}
	return c.post(ctx, m, nil)
}

// Hangup tells Zammad the call ended, and why (Zammad's causes: normalClearing, busy, cancel,
// noAnswer, congestion, notFound, forwarded).
func (c *CTI) Hangup(ctx context.Context, call Call, cause string) outbox.Result {
	m := c.base("hangup", call)
	m["cause"] = cause
	if u := c.agents[call.Agent]; u != "" {
		m["answeringNumber"] = u
	}
	return c.post(ctx, m, nil)
}

// HangupCause maps a finished call to Zammad's hang-up cause.
func HangupCause(c event.Call) string {
	switch {
	case c.Result == "voicemail":
		return "noAnswer"
	case c.Result == "abandoned":
		return "cancel"
	case c.AnsweredAt != nil:
		return "normalClearing"
	}
	switch c.Cause {
	case "busy":
		return "busy"
	case "cancelled":
		return "cancel"
	case "unavailable":
		return "congestion"
	case "not-found":
		return "notFound"
	}
	return "noAnswer"
}

// Log writes a finished call to Zammad's caller log: newCall, answer (if answered), hangup.
// Zammad matches them by callId, so sending them again after an unknown outcome repeats the
// same call rather than inventing a new one.
func (c *CTI) Log(ctx context.Context, step event.Step) outbox.Result {
	ev := step.Event.Data
	call := Call{ID: ev.CallID, From: ev.From, To: ev.To, Direction: ev.Direction, Queue: ev.Queue, Agent: ev.Agent}
	if ev.AgentName != "" {
		call.Users = []string{ev.AgentName}
	}
	if _, r := c.NewCall(ctx, call); r.Outcome != outbox.Done {
		return r
	}
	if ev.AnsweredAt != nil {
		if r := c.Answer(ctx, call); r.Outcome != outbox.Done {
			return r
		}
	}
	r := c.Hangup(ctx, call, HangupCause(ev))
	if r.Outcome == outbox.Done {
		r.RemoteRef = ev.CallID
	}
	return r
}

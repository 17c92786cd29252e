// Package osticket delivers calls to osTicket through its HTTP API.
//
// osTicket's API only creates tickets (POST /api/tickets.json with an X-API-Key bound to the
// box's address, answered 201 with the ticket number), so each call is one request that
// carries everything: the text, the survey score and the recording as a data-URI
// attachment. It needs an e-mail address: the caller's, or the destination's email template
// with {number}. osTicket can neither be searched nor made idempotent: after an answer that
// was lost, the retry makes the ticket again; the call id in the ticket's text tells the
// copies apart.
package osticket

import (
	"context"
	"encoding/base64"
	"net/http"
	"net/url"
	"strings"

	"callbox/config"
	"callbox/sync/adapter"
	"callbox/sync/event"
	"callbox/sync/outbox"
)

// OSTicket is one osTicket instance.
type OSTicket struct {
	d      config.SyncDestination
	deps   adapter.Deps
	url    string
	client *adapter.Client
	steps  adapter.Dispatch
}

// New makes an osTicket destination.
func New(d config.SyncDestination, deps adapter.Deps) *OSTicket {
	o := &OSTicket{d: d, deps: deps, url: adapter.NewEndpoint(d.URL).URL("/api/tickets.json", nil),
		client: deps.Client(d.Timeout, adapter.SetHeader("X-API-Key", d.Token.Value()))}
	// The ticket carries the recording and the score too: there is no other step.
	o.steps = adapter.Dispatch{Helpdesk: "osticket", Steps: map[string]adapter.Handler{event.ActionTicket: o.ticket}}
	return o
}

// Deliver sends one row.
func (o *OSTicket) Deliver(ctx context.Context, d outbox.Delivery) outbox.Result {
	return o.steps.Deliver(ctx, d)
}

// ticket makes the call's one ticket.
func (o *OSTicket) ticket(ctx context.Context, _ outbox.Delivery, step event.Step) outbox.Result {
	c := step.Event.Data
	number := adapter.CallerNumber(c)
	name := c.FromName
	if name == "" || c.Direction == "outbound" {
		name = number
	}
	text := adapter.Body(step)
	if step.WithRecording && o.d.Recording == config.RecordingLink && c.Recording != nil {
		text += adapter.RecordingText(step.Event) + "\n" + o.deps.Link(c.Recording.ID) + "\n"
	}
	digits := adapter.Digits(number)
	if digits == "" {
		digits = "anonymous"
	}
	t := map[string]any{
		"alert": false, "autorespond": false, "source": "Phone",
		"name": name, "email": strings.ReplaceAll(o.d.Email, "{number}", digits), "phone": number,
		"subject": adapter.Subject(step), "message": "data:text/plain;charset=utf-8," + url.PathEscape(text),
	}
	if step.WithRecording && o.d.Recording == config.RecordingAttach {
		audio, bad := o.deps.Files.Read(step.RecordingPath)
		if bad != nil {
			return *bad
		}
		t["attachments"] = []map[string]string{{adapter.FileName(step.Event): "data:audio/wav;base64," + base64.StdEncoding.EncodeToString(audio)}}
	}
	res, r := o.client.JSON(ctx, http.MethodPost, o.url, t, nil)
	if r.Outcome != outbox.Done {
		return r
	}
	return outbox.Delivered(strings.TrimSpace(string(res.Body)))
}

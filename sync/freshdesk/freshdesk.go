// Package freshdesk delivers calls to Freshdesk (API v2) and looks callers up there.
//
// A call becomes a phone ticket (POST /api/v2/tickets, source 3) whose requester is the
// caller's phone number; the recording and survey become private notes
// (POST /api/v2/tickets/{id}/notes, multipart when attaching). Freshdesk has no idempotency
// keys, so the box's call id goes in a custom field (call_id_field, e.g. cf_callbox_call_id)
// and, after an attempt whose outcome is unknown, the ticket is searched for by that field
// before another is made.
package freshdesk

import (
	"context"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"callbox/config"
	"callbox/sync/adapter"
	"callbox/sync/event"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
)

// Ticket sources and statuses of the Freshdesk API.
const (
	SourcePhone   = 3
	StatusOpen    = 2
	StatusPending = 3
)

// Freshdesk is one Freshdesk account.
type Freshdesk struct {
	d      config.SyncDestination
	deps   adapter.Deps
	api    adapter.Endpoint
	client *adapter.Client
	steps  adapter.Dispatch
}

// New makes a Freshdesk destination.
func New(d config.SyncDestination, deps adapter.Deps) *Freshdesk {
	auth := adapter.SetHeader("Authorization", adapter.Basic(d.Token.Value(), "X")) // the key is the user; the password is unused
	f := &Freshdesk{d: d, deps: deps, api: adapter.NewEndpoint(d.URL), client: deps.Client(d.Timeout, auth)}
	f.steps = adapter.TicketSteps("freshdesk", f.ticket, f.recording, f.survey)
	return f
}

// htmlText turns plain text into the HTML Freshdesk descriptions and notes are.
func htmlText(s string) string {
	return strings.ReplaceAll(html.EscapeString(strings.TrimRight(s, "\n")), "\n", "<br>")
}

// Deliver sends one row.
func (f *Freshdesk) Deliver(ctx context.Context, d outbox.Delivery) outbox.Result {
	return f.steps.Deliver(ctx, d)
}

func (f *Freshdesk) ticket(ctx context.Context, d outbox.Delivery, step event.Step) outbox.Result {
	return adapter.TicketStep(d, step,
		func(ticket string) outbox.Result { return f.note(ctx, ticket, adapter.Body(step)) },
		func() (string, outbox.Result) { return f.findByCallID(ctx, step.Event.Data.CallID) },
		func() outbox.Result { return f.makeTicket(ctx, step) })
}

// makeTicket makes the call's phone ticket.
func (f *Freshdesk) makeTicket(ctx context.Context, step event.Step) outbox.Result {
	c := step.Event.Data
	number := adapter.CallerNumber(c)
	name := c.FromName
	if c.Caller != nil && c.Caller.Name != "" {
		name = c.Caller.Name
	}
	if name == "" || c.Direction == "outbound" {
		name = number
	}
	t := map[string]any{
		"subject": adapter.Subject(step), "description": htmlText(adapter.Body(step)),
		"source": SourcePhone, "status": StatusOpen, "priority": 1,
		"tags": []string{"callbox", step.TicketKind},
	}
	if !adapter.Anonymous(number) {
		t["phone"], t["name"] = number, name
	} else {
		t["email"] = adapter.AnonymousEmail(f.d.Email)
	}
	if agent, err := strconv.ParseInt(step.AgentUser, 10, 64); err == nil && step.TicketKind == event.TicketCall {
		t["responder_id"] = agent
	}
	if step.TicketKind == event.TicketCallback {
		t["priority"] = 2
	}
	if f.d.CallIDField != "" {
		t["custom_fields"] = map[string]any{f.d.CallIDField: c.CallID}
	}
	var ans struct {
		ID int64 `json:"id"`
	}
	if _, r := f.client.JSON(ctx, http.MethodPost, f.api.URL("/api/v2/tickets", nil), t, &ans); r.Outcome != outbox.Done {
		return r
	}
	return outbox.Delivered(strconv.FormatInt(ans.ID, 10))
}

// findByCallID finds the ticket of a call by its call id field; without one, there is none.
func (f *Freshdesk) findByCallID(ctx context.Context, callID string) (string, outbox.Result) {
	if f.d.CallIDField == "" {
		return "", outbox.Delivered("")
	}
	var ans struct {
		Results []struct {
			ID int64 `json:"id"`
		} `json:"results"`
	}
	q := fmt.Sprintf(`"%s:'%s'"`, f.d.CallIDField, strings.ReplaceAll(callID, "'", ""))
	_, r := f.client.JSON(ctx, http.MethodGet, f.api.URL("/api/v2/search/tickets", url.Values{"query": {q}}), nil, &ans)
	if r.Outcome != outbox.Done || len(ans.Results) == 0 {
		return "", r
	}
	return strconv.FormatInt(ans.Results[0].ID, 10), r
}

// note adds a private note to a ticket.
func (f *Freshdesk) note(ctx context.Context, ticket, text string) outbox.Result {
	_, r := f.client.JSON(ctx, http.MethodPost, f.api.URL("/api/v2/tickets/"+url.PathEscape(ticket)+"/notes", nil),
		map[string]any{"body": htmlText(text), "private": true}, nil)
	return adapter.OnTicket(ticket, r)
}

func (f *Freshdesk) recording(ctx context.Context, ticket string, step event.Step) outbox.Result {
	return f.deps.RecordingStep(ticket, step, f.d.Recording == config.RecordingLink,
		func(text string) outbox.Result { return f.note(ctx, ticket, text) },
		func(text string) outbox.Result { return f.attachNote(ctx, ticket, text, step) })
}

// attachNote puts the call's audio on the ticket with text.
func (f *Freshdesk) attachNote(ctx context.Context, ticket, text string, step event.Step) outbox.Result {
	file, size, bad := f.deps.Files.Open(step.RecordingPath)
	if bad != nil {
		return *bad
	}
	defer file.Close()
	body, length, ctype, err := adapter.MultipartFile([][2]string{{"body", htmlText(text)}, {"private", "true"}},
		"attachments[]", adapter.FileName(step.Event), "audio/wav", file, size)
	if err != nil {
		return outbox.Permanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, f.api.URL("/api/v2/tickets/"+url.PathEscape(ticket)+"/notes", nil), body)
	if err != nil {
		return outbox.Permanent(err)
	}
	req.ContentLength = length
	req.Header.Set("Content-Type", ctype)
	_, r := f.client.Do(req)
	return adapter.OnTicket(ticket, r)
}

func (f *Freshdesk) survey(ctx context.Context, ticket string, step event.Step) outbox.Result {
	return adapter.SurveyStep(ticket, step,
		func(text string) outbox.Result { return f.note(ctx, ticket, text) },
		func(field string, score int) outbox.Result {
			_, r := f.client.JSON(ctx, http.MethodPut, f.api.URL("/api/v2/tickets/"+url.PathEscape(ticket), nil),
				map[string]any{"custom_fields": map[string]any{field: score}}, nil)
			return r
		})
}

type contact struct {
	ID        int64    `json:"id"`
	Name      string   `json:"name"`
	CompanyID int64    `json:"company_id"`
	Tags      []string `json:"tags"`
}

// FindCaller looks a caller up among the contacts by phone, then by mobile.
func (f *Freshdesk) FindCaller(ctx context.Context, number string) (lookup.Caller, error) {
	var found []contact
	for _, key := range []string{"phone", "mobile"} {
		if _, r := f.client.JSON(ctx, http.MethodGet, f.api.URL("/api/v2/contacts", url.Values{key: {number}}), nil, &found); r.Outcome != outbox.Done {
			return lookup.Caller{}, r.Err
		}
		if len(found) > 0 {
			break
		}
	}
	if len(found) == 0 {
		return lookup.Caller{Number: number}, nil
	}
	ct := found[0]
	c := lookup.Caller{Number: number, Found: true, Name: ct.Name, HelpdeskID: strconv.FormatInt(ct.ID, 10)}
	for _, t := range ct.Tags {
		c.VIP = c.VIP || strings.EqualFold(t, f.d.VIPTag)
	}
	if ct.CompanyID != 0 {
		var co struct {
			Name string `json:"name"`
		}
		if _, r := f.client.JSON(ctx, http.MethodGet, f.api.URL(fmt.Sprintf("/api/v2/companies/%d", ct.CompanyID), nil), nil, &co); r.Outcome != outbox.Done {
			return lookup.Caller{}, r.Err
		}
		c.Organization = co.Name
	}
	var tickets []struct {
		ID          int64  `json:"id"`
		Subject     string `json:"subject"`
		Status      int    `json:"status"`
		ResponderID int64  `json:"responder_id"`
	}
	q := url.Values{"requester_id": {strconv.FormatInt(ct.ID, 10)}, "order_by": {"updated_at"}, "order_type": {"desc"}}
	if _, r := f.client.JSON(ctx, http.MethodGet, f.api.URL("/api/v2/tickets", q), nil, &tickets); r.Outcome != outbox.Done {
		return lookup.Caller{}, r.Err
	}
	for _, t := range tickets {
		if t.Status == StatusOpen || t.Status == StatusPending {
			c.OpenTickets = append(c.OpenTickets, lookup.Ticket{ID: strconv.FormatInt(t.ID, 10), Subject: t.Subject,
				Status: map[int]string{StatusOpen: "open", StatusPending: "pending"}[t.Status]})
		}
		if c.LastAgent == "" && t.ResponderID != 0 {
			c.LastAgent = adapter.ExtensionOf(f.d.Agents, strconv.FormatInt(t.ResponderID, 10))
		}
	}
	return c, nil
}

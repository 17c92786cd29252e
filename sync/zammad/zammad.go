// Package zammad delivers calls to Zammad (REST API v1) and its generic CTI interface, and
// looks callers up there.
//
//   - A call becomes a ticket (POST /api/v1/tickets) with a first article of type "phone";
//     the recording and survey become internal notes (POST /api/v1/ticket_articles) with the
//     audio as a base64 attachment. The customer is found by phone (users/search) or made.
//   - With a CTI token, the call is also logged through Zammad's CTI API
//     (POST /api/v1/cti/{token}: newCall, answer, hangup), which fills Zammad's caller log;
//     CTI.NewCall can pop calls live while they ring.
//   - Zammad has no idempotency keys: the box's call id goes in a ticket attribute
//     (call_id_field) and a retry after an unknown outcome searches for it first.
package zammad

import (
	"context"
	"encoding/base64"
	"fmt"
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

// Zammad is one Zammad instance.
type Zammad struct {
	d      config.SyncDestination
	deps   adapter.Deps
	api    adapter.Endpoint
	client *adapter.Client
	cti    *CTI
	steps  adapter.Dispatch
}

// New makes a Zammad destination.
func New(d config.SyncDestination, deps adapter.Deps) *Zammad {
	tok := d.Token.Value()
	c := deps.Client(d.Timeout, func(r *http.Request) {
		if !strings.HasPrefix(r.URL.Path, "/api/v1/cti/") { // the CTI token in the path is its only credential
			r.Header.Set("Authorization", "Token token="+tok)
		}
	})
	z := &Zammad{d: d, deps: deps, api: adapter.NewEndpoint(d.URL), client: c}
	if d.CTIToken.IsSet() {
		z.cti = &CTI{url: z.api.URL("/api/v1/cti/"+url.PathEscape(d.CTIToken.Value()), nil), client: c, agents: d.Agents}
	}
	z.steps = adapter.TicketSteps("zammad", z.ticket, z.recording, z.survey)
	z.steps.Steps[event.ActionCTI] = z.logCall
	return z
}

// Deliver sends one row.
func (z *Zammad) Deliver(ctx context.Context, d outbox.Delivery) outbox.Result {
	return z.steps.Deliver(ctx, d)
}

// logCall puts the call in Zammad's caller log through the CTI API.
func (z *Zammad) logCall(ctx context.Context, _ outbox.Delivery, step event.Step) outbox.Result {
	if z.cti == nil {
		return outbox.Permanent(fmt.Errorf("no cti_token configured"))
	}
	return z.cti.Log(ctx, step)
}

type zticket struct {
	ID      int64  `json:"id"`
	Title   string `json:"title"`
	State   string `json:"state"`
	OwnerID int64  `json:"owner_id"`
}

func (z *Zammad) ticket(ctx context.Context, d outbox.Delivery, step event.Step) outbox.Result {
	return adapter.TicketStep(d, step,
		func(ticket string) outbox.Result { return z.article(ctx, ticket, adapter.Body(step), nil) },
		func() (string, outbox.Result) { return z.findByCallID(ctx, step.Event.Data.CallID) },
		func() outbox.Result { return z.makeTicket(ctx, step) })
}

// findByCallID finds the ticket of a call by its call id attribute; without one, there is
// none.
func (z *Zammad) findByCallID(ctx context.Context, callID string) (string, outbox.Result) {
	if z.d.CallIDField == "" {
		return "", outbox.Delivered("")
	}
	var found []zticket
	q := url.Values{"query": {z.d.CallIDField + ":" + callID}, "expand": {"true"}, "limit": {"1"}}
	_, r := z.client.JSON(ctx, http.MethodGet, z.api.URL("/api/v1/tickets/search", q), nil, &found)
	if r.Outcome != outbox.Done || len(found) == 0 {
		return "", r
	}
	return strconv.FormatInt(found[0].ID, 10), r
}

// makeTicket makes the call's ticket with its first article.
func (z *Zammad) makeTicket(ctx context.Context, step event.Step) outbox.Result {
	c := step.Event.Data
	customer, r := z.customer(ctx, c)
	if r.Outcome != outbox.Done {
		return r
	}
	sender := "Customer"
	if c.Direction == "outbound" {
		sender = "Agent"
	}
	t := map[string]any{
		"title": adapter.Subject(step), "group": z.d.Group, "customer_id": customer,
		"tags": "callbox," + step.TicketKind,
		"article": map[string]any{"subject": adapter.Subject(step), "body": adapter.Body(step), "type": "phone",
			"sender": sender, "internal": false, "content_type": "text/plain"},
	}
	if owner, err := strconv.ParseInt(step.AgentUser, 10, 64); err == nil && step.TicketKind == event.TicketCall {
		t["owner_id"] = owner
	}
	if z.d.CallIDField != "" {
		t[z.d.CallIDField] = c.CallID
	}
	var made zticket
	if _, r := z.client.JSON(ctx, http.MethodPost, z.api.URL("/api/v1/tickets", nil), t, &made); r.Outcome != outbox.Done {
		return r
	}
	return outbox.Delivered(strconv.FormatInt(made.ID, 10))
}

type zuser struct {
	ID             int64  `json:"id"`
	Firstname      string `json:"firstname"`
	Lastname       string `json:"lastname"`
	Phone          string `json:"phone"`
	Mobile         string `json:"mobile"`
	OrganizationID int64  `json:"organization_id"`
	VIP            bool   `json:"vip"`
}

func (u zuser) name() string { return strings.TrimSpace(u.Firstname + " " + u.Lastname) }

// findUser searches users by number; the search is full text, so matches are checked
// against phone and mobile.
func (z *Zammad) findUser(ctx context.Context, number string) (*zuser, outbox.Result) {
	var users []zuser
	q := url.Values{"query": {adapter.Digits(number)}, "limit": {"10"}}
	_, r := z.client.JSON(ctx, http.MethodGet, z.api.URL("/api/v1/users/search", q), nil, &users)
	if r.Outcome != outbox.Done {
		return nil, r
	}
	for _, u := range users {
		if adapter.SameNumber(u.Phone, number) || adapter.SameNumber(u.Mobile, number) {
			return &u, r
		}
	}
	return nil, r
}

// customer finds the caller's user or makes one.
func (z *Zammad) customer(ctx context.Context, c event.Call) (any, outbox.Result) {
	number := adapter.CallerNumber(c)
	if adapter.Anonymous(number) {
		return "guess:" + adapter.AnonymousEmail(z.d.Email), outbox.Delivered("")
	}
	u, r := z.findUser(ctx, number)
	if r.Outcome != outbox.Done {
		return 0, r
	}
	if u != nil {
		return u.ID, r
	}
	first, last := number, ""
	if c.FromName != "" && c.Direction != "outbound" {
		first, last, _ = strings.Cut(c.FromName, " ")
	}
	var made zuser
	_, r = z.client.JSON(ctx, http.MethodPost, z.api.URL("/api/v1/users", nil), map[string]any{
		"firstname": first, "lastname": last, "phone": number, "roles": []string{"Customer"},
	}, &made)
	return made.ID, r
}

// article adds an internal note to a ticket, with attachments.
func (z *Zammad) article(ctx context.Context, ticket, body string, attachments []map[string]string) outbox.Result {
	id, err := strconv.ParseInt(ticket, 10, 64)
	if err != nil {
		return outbox.Permanent(fmt.Errorf("bad Zammad ticket id %q", ticket))
	}
	a := map[string]any{"ticket_id": id, "body": body, "type": "note", "internal": true, "content_type": "text/plain"}
	if len(attachments) > 0 {
		a["attachments"] = attachments
	}
	_, r := z.client.JSON(ctx, http.MethodPost, z.api.URL("/api/v1/ticket_articles", nil), a, nil)
	return adapter.OnTicket(ticket, r)
}

func (z *Zammad) recording(ctx context.Context, ticket string, step event.Step) outbox.Result {
	return z.deps.RecordingStep(ticket, step, z.d.Recording == config.RecordingLink,
		func(text string) outbox.Result { return z.article(ctx, ticket, text, nil) },
		func(text string) outbox.Result {
			audio, bad := z.deps.Files.Read(step.RecordingPath)
			if bad != nil {
				return *bad
			}
			return z.article(ctx, ticket, text, []map[string]string{{
				"filename": adapter.FileName(step.Event), "data": base64.StdEncoding.EncodeToString(audio), "mime-type": "audio/wav",
			}})
		})
}

func (z *Zammad) survey(ctx context.Context, ticket string, step event.Step) outbox.Result {
	return adapter.SurveyStep(ticket, step,
		func(text string) outbox.Result { return z.article(ctx, ticket, text, nil) },
		func(field string, score int) outbox.Result {
			_, r := z.client.JSON(ctx, http.MethodPut, z.api.URL("/api/v1/tickets/"+url.PathEscape(ticket), nil),
				map[string]any{field: score}, nil)
			return r
		})
}

// FindCaller looks a caller up: the user with the number, their organisation, VIP flag,
// open tickets and the owner of their latest ticket.
func (z *Zammad) FindCaller(ctx context.Context, number string) (lookup.Caller, error) {
	u, r := z.findUser(ctx, number)
	if r.Outcome != outbox.Done {
		return lookup.Caller{}, r.Err
	}
	if u == nil {
		return lookup.Caller{Number: number}, nil
	}
	c := lookup.Caller{Number: number, Found: true, Name: u.name(), VIP: u.VIP, HelpdeskID: strconv.FormatInt(u.ID, 10)}
	if u.OrganizationID != 0 {
		var org struct {
			Name string `json:"name"`
		}
		if _, r := z.client.JSON(ctx, http.MethodGet, z.api.URL(fmt.Sprintf("/api/v1/organizations/%d", u.OrganizationID), nil), nil, &org); r.Outcome != outbox.Done {
			return lookup.Caller{}, r.Err
		}
		c.Organization = org.Name
	}
	var tickets []zticket
	q := url.Values{"query": {fmt.Sprintf("customer_id:%d", u.ID)}, "expand": {"true"}, "sort_by": {"updated_at"}, "order_by": {"desc"}}
	if _, r := z.client.JSON(ctx, http.MethodGet, z.api.URL("/api/v1/tickets/search", q), nil, &tickets); r.Outcome != outbox.Done {
		return lookup.Caller{}, r.Err
	}
	for _, t := range tickets {
		switch t.State {
		case "new", "open", "pending reminder", "pending close":
			c.OpenTickets = append(c.OpenTickets, lookup.Ticket{ID: strconv.FormatInt(t.ID, 10), Subject: t.Title, Status: t.State})
		}
		if c.LastAgent == "" && t.OwnerID > 1 { // owner 1 is Zammad's "nobody"
			c.LastAgent = adapter.ExtensionOf(z.d.Agents, strconv.FormatInt(t.OwnerID, 10))
		}
	}
	return c, nil
}

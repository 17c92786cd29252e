// Package zendesk delivers calls to Zendesk as voice tickets through the Talk Partner
// Edition API, and looks callers up there.
//
//   - A call becomes a ticket made with POST /api/v2/channels/voice/tickets, via_id 45
//     (inbound call), 46 (outbound) or 44 (voicemail), with a voice comment and a private
//     comment, the box's call id as external_id and an Idempotency-Key header (the row id).
//     display_to_agent pops it on the screen of the agent who answered, when it is made
//     within the screen-pop window after the hang-up.
//   - The requester is found by phone (search) or made with create_or_update, keyed by an
//     external_id derived from the number, so a retry never makes a second user.
//   - Recordings are uploaded (POST /api/v2/uploads, raw body) and the token attached to a
//     private comment (PUT /api/v2/tickets/{id}); upload tokens live an hour, so upload and
//     comment are one step.
//   - After an attempt whose outcome is unknown, the ticket is looked up by external_id
//     before creating; Zendesk also answers a repeated Idempotency-Key with the first ticket
//     for about two hours.
package zendesk

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"callbox/config"
	"callbox/sync/adapter"
	"callbox/sync/event"
	"callbox/sync/lookup"
	"callbox/sync/outbox"
)

// Via ids of Talk Partner Edition tickets.
const (
	ViaVoicemail = 44
	ViaInbound   = 45
	ViaOutbound  = 46
)

// Zendesk is one Zendesk account.
type Zendesk struct {
	d      config.SyncDestination
	deps   adapter.Deps
	api    adapter.Endpoint
	client *adapter.Client
	steps  adapter.Dispatch
}

// New makes a Zendesk destination.
func New(d config.SyncDestination, deps adapter.Deps) *Zendesk {
	auth := adapter.SetHeader("Authorization", adapter.Basic(d.User+"/token", d.Token.Value()))
	z := &Zendesk{d: d, deps: deps, api: adapter.NewEndpoint(d.URL), client: deps.Client(d.Timeout, auth)}
	z.steps = adapter.TicketSteps("zendesk", z.ticket, z.recording, z.survey)
	return z
}

// Deliver sends one row.
func (z *Zendesk) Deliver(ctx context.Context, d outbox.Delivery) outbox.Result {
	return z.steps.Deliver(ctx, d)
}

type ticketAnswer struct {
	Ticket struct {
		ID int64 `json:"id"`
	} `json:"ticket"`
}

func (z *Zendesk) ticket(ctx context.Context, d outbox.Delivery, step event.Step) outbox.Result {
	return adapter.TicketStep(d, step,
		func(ticket string) outbox.Result {
			r := z.comment(ctx, ticket, map[string]any{"body": adapter.Body(step), "public": false})
			if r.Outcome == outbox.Done {
				z.popOnScreen(ctx, step, ticket)
			}
			return r
		},
		func() (string, outbox.Result) { return z.findByExternalID(ctx, step.Event.Data.CallID) },
		func() outbox.Result { return z.makeTicket(ctx, d, step) })
}

// makeTicket makes the call's voice ticket; the row id keys its idempotency.
func (z *Zendesk) makeTicket(ctx context.Context, d outbox.Delivery, step event.Step) outbox.Result {
	c := step.Event.Data
	requester, r := z.requester(ctx, c)
	if r.Outcome != outbox.Done {
		return r
	}
	via := ViaInbound
	switch {
	case step.TicketKind == event.TicketVoicemail:
		via = ViaVoicemail
	case c.Direction == "outbound":
		via = ViaOutbound
	}
	voice := map[string]any{
		"from": c.From, "to": c.To, "started_at": c.StartedAt.Format(time.RFC3339),
		"call_duration": c.TalkSeconds,
	}
	if step.TicketKind == event.TicketVoicemail && c.Recording != nil {
		voice["call_duration"] = int(c.Recording.DurationSeconds + 0.5)
	}
	agent, agentOK := zendeskID(step.AgentUser)
	if agentOK && c.AnsweredAt != nil {
		voice["answered_by_id"] = agent
	}
	if c.Recording != nil && (z.d.Recording == config.RecordingLink || step.TicketKind == event.TicketVoicemail) {
		// Zendesk keeps only the link of a voice comment's recording; voicemail tickets want
		// one even when the audio is also attached.
		voice["recording_url"] = z.deps.Link(c.Recording.ID)
	}
	ticket := map[string]any{
		"via_id": via, "subject": adapter.Subject(step), "external_id": c.CallID,
		"tags":          []string{"callbox", step.TicketKind},
		"comment":       map[string]any{"body": adapter.Body(step), "public": false},
		"voice_comment": voice,
	}
	if requester != 0 {
		ticket["requester_id"] = requester
	}
	if agentOK && step.TicketKind == event.TicketCall {
		ticket["assignee_id"] = agent
	}
	body := map[string]any{"ticket": ticket}
	pop := agentOK && step.TicketKind == event.TicketCall && z.inScreenPopWindow(c.EndedAt)
	if pop {
		body["display_to_agent"] = agent
	}
	var ans ticketAnswer
	res, r := z.client.JSON(ctx, http.MethodPost, z.api.URL("/api/v2/channels/voice/tickets.json", nil), body, &ans,
		"Idempotency-Key", idempotencyKey(d.ID, body))
	if pop && res != nil && res.Status == http.StatusUnprocessableEntity {
		// display_to_agent is checked first: an agent not signed in to Talk fails the
		// request. The ticket matters more than the pop.
		delete(body, "display_to_agent")
		_, r = z.client.JSON(ctx, http.MethodPost, z.api.URL("/api/v2/channels/voice/tickets.json", nil), body, &ans,
			"Idempotency-Key", idempotencyKey(d.ID, body))
	}
	if r.Outcome != outbox.Done {
		return r
	}
	return outbox.Delivered(strconv.FormatInt(ans.Ticket.ID, 10))
}

func (z *Zendesk) inScreenPopWindow(ended time.Time) bool {
	return z.d.ScreenPop > 0 && z.deps.Time().Sub(ended) < z.d.ScreenPop
}

// popOnScreen opens a ticket on the answering agent's screen; a failure costs only the pop.
func (z *Zendesk) popOnScreen(ctx context.Context, step event.Step, ticket string) {
	agent, ok := zendeskID(step.AgentUser)
	if !ok || !z.inScreenPopWindow(step.Event.Data.EndedAt) {
		return
	}
	z.client.JSON(ctx, http.MethodPost, z.api.URL(fmt.Sprintf("/api/v2/channels/voice/agents/%d/tickets/%s/display.json", agent, url.PathEscape(ticket)), nil), nil, nil)
}

func (z *Zendesk) findByExternalID(ctx context.Context, callID string) (string, outbox.Result) {
	var ans struct {
		Tickets []struct {
			ID int64 `json:"id"`
		} `json:"tickets"`
	}
	_, r := z.client.JSON(ctx, http.MethodGet, z.api.URL("/api/v2/tickets.json", url.Values{"external_id": {callID}}), nil, &ans)
	if r.Outcome != outbox.Done || len(ans.Tickets) == 0 {
		return "", r
	}
	return strconv.FormatInt(ans.Tickets[0].ID, 10), r
}

// requester finds the caller's user by phone, or makes one; 0 for an anonymous caller.
func (z *Zendesk) requester(ctx context.Context, c event.Call) (int64, outbox.Result) {
	number := adapter.CallerNumber(c)
	if adapter.Anonymous(number) {
		return 0, outbox.Delivered("")
	}
	users, r := z.searchUsers(ctx, number)
	if r.Outcome != outbox.Done {
		return 0, r
	}
	if len(users) > 0 {
		return users[0].ID, r
	}
	name := c.FromName
	if c.Direction == "outbound" || name == "" {
		name = number
	}
	var ans struct {
		User struct {
			ID int64 `json:"id"`
		} `json:"user"`
	}
	_, r = z.client.JSON(ctx, http.MethodPost, z.api.URL("/api/v2/users/create_or_update.json", nil), map[string]any{
		"user": map[string]any{"name": name, "phone": number, "role": "end-user", "external_id": "callbox-phone:" + number},
	}, &ans)
	return ans.User.ID, r
}

type user struct {
	ID             int64    `json:"id"`
	Name           string   `json:"name"`
	Phone          string   `json:"phone"`
	OrganizationID int64    `json:"organization_id"`
	Tags           []string `json:"tags"`
}

func (z *Zendesk) searchUsers(ctx context.Context, number string) ([]user, outbox.Result) {
	var ans struct {
		Results []user `json:"results"`
	}
	_, r := z.client.JSON(ctx, http.MethodGet, z.api.URL("/api/v2/search.json",
		url.Values{"query": {fmt.Sprintf("type:user phone:%q", number)}}), nil, &ans)
	return ans.Results, r
}

// comment adds a comment to a ticket: PUT /api/v2/tickets/{id} with ticket.comment.
func (z *Zendesk) comment(ctx context.Context, ticket string, comment map[string]any) outbox.Result {
	_, r := z.client.JSON(ctx, http.MethodPut, z.api.URL("/api/v2/tickets/"+url.PathEscape(ticket)+".json", nil),
		map[string]any{"ticket": map[string]any{"comment": comment}}, nil)
	return adapter.OnTicket(ticket, r)
}

func (z *Zendesk) recording(ctx context.Context, ticket string, step event.Step) outbox.Result {
	return z.deps.RecordingStep(ticket, step, z.d.Recording == config.RecordingLink,
		func(text string) outbox.Result {
			return z.comment(ctx, ticket, map[string]any{"body": text, "public": false})
		},
		func(text string) outbox.Result { return z.attachUpload(ctx, ticket, text, step) })
}

// attachUpload puts the call's audio on the ticket with text.
func (z *Zendesk) attachUpload(ctx context.Context, ticket, text string, step event.Step) outbox.Result {
	f, size, bad := z.deps.Files.Open(step.RecordingPath)
	if bad != nil {
		return *bad
	}
	defer f.Close()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost,
		z.api.URL("/api/v2/uploads.json", url.Values{"filename": {adapter.FileName(step.Event)}}), f)
	if err != nil {
		return outbox.Permanent(err)
	}
	req.ContentLength = size
	req.Header.Set("Content-Type", "audio/wav")
	res, r := z.client.Do(req)
	if r.Outcome != outbox.Done {
		return r
	}
	var up struct {
		Upload struct {
			Token string `json:"token"`
		} `json:"upload"`
	}
	if err := json.Unmarshal(res.Body, &up); err != nil || up.Upload.Token == "" {
		return outbox.Permanent(fmt.Errorf("zendesk upload: no token in %q", res.Body))
	}
	return z.comment(ctx, ticket, map[string]any{"body": text, "public": false, "uploads": []string{up.Upload.Token}})
}

func (z *Zendesk) survey(ctx context.Context, ticket string, step event.Step) outbox.Result {
	return adapter.SurveyStep(ticket, step,
		func(text string) outbox.Result {
			return z.comment(ctx, ticket, map[string]any{"body": text, "public": false})
		},
		func(field string, score int) outbox.Result {
			id, ok := zendeskID(field)
			if !ok {
				return outbox.Permanent(fmt.Errorf("survey field %q is not a Zendesk field id", field))
			}
			_, r := z.client.JSON(ctx, http.MethodPut, z.api.URL("/api/v2/tickets/"+url.PathEscape(ticket)+".json", nil),
				map[string]any{"ticket": map[string]any{"custom_fields": []map[string]any{{"id": id, "value": score}}}}, nil)
			return r
		})
}

// FindCaller looks a caller up: the user with the number, their organisation, VIP tag, open
// tickets and the assignee of their latest ticket.
func (z *Zendesk) FindCaller(ctx context.Context, number string) (lookup.Caller, error) {
	users, r := z.searchUsers(ctx, number)
	if r.Outcome != outbox.Done {
		return lookup.Caller{}, r.Err
	}
	if len(users) == 0 {
		return lookup.Caller{Number: number}, nil
	}
	u := users[0]
	c := lookup.Caller{Number: number, Found: true, Name: u.Name, HelpdeskID: strconv.FormatInt(u.ID, 10)}
	for _, t := range u.Tags {
		c.VIP = c.VIP || strings.EqualFold(t, z.d.VIPTag)
	}
	if u.OrganizationID != 0 {
		var org struct {
			Organization struct {
				Name string `json:"name"`
			} `json:"organization"`
		}
		if _, r := z.client.JSON(ctx, http.MethodGet, z.api.URL(fmt.Sprintf("/api/v2/organizations/%d.json", u.OrganizationID), nil), nil, &org); r.Outcome != outbox.Done {
			return lookup.Caller{}, r.Err
		}
		c.Organization = org.Organization.Name
	}
	var tickets struct {
		Results []struct {
			ID         int64  `json:"id"`
			Subject    string `json:"subject"`
			Status     string `json:"status"`
			AssigneeID int64  `json:"assignee_id"`
		} `json:"results"`
	}
	q := url.Values{"query": {fmt.Sprintf("type:ticket requester_id:%d", u.ID)}, "sort_by": {"updated_at"}, "sort_order": {"desc"}}
	if _, r := z.client.JSON(ctx, http.MethodGet, z.api.URL("/api/v2/search.json", q), nil, &tickets); r.Outcome != outbox.Done {
		return lookup.Caller{}, r.Err
	}
	for _, t := range tickets.Results {
		switch t.Status {
		case "new", "open", "pending", "hold":
			c.OpenTickets = append(c.OpenTickets, lookup.Ticket{ID: strconv.FormatInt(t.ID, 10), Subject: t.Subject, Status: t.Status})
		}
		if c.LastAgent == "" && t.AssigneeID != 0 {
			c.LastAgent = adapter.ExtensionOf(z.d.Agents, strconv.FormatInt(t.AssigneeID, 10))
		}
	}
	return c, nil
}

// idempotencyKey is the row id and a digest of the body: Zendesk answers 400 to a key
// reused with another body, and a later attempt's body may differ (the screen-pop window
// passed, a fresh recording link). Attempts after the first find an earlier ticket by its
// external_id anyway; the key covers the same request sent twice.
func idempotencyKey(id string, body any) string {
	b, _ := json.Marshal(body)
	sum := sha256.Sum256(b)
	return id + "-" + hex.EncodeToString(sum[:6])
}

// zendeskID reads a Zendesk numeric id (agent, field).
func zendeskID(s string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	return n, err == nil && n > 0
}

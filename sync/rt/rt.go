// Package rt delivers calls to Request Tracker 5 through its REST2 API, and looks callers up
// there.
//
// A call becomes a ticket (POST /REST/2.0/ticket: Queue, Subject, Content, CustomFields)
// answered with 201 and the new id; the recording and survey become comments
// (POST /REST/2.0/ticket/{id}/comment) with base64 Attachments. A survey field is set with
// PUT and If-Match on the ticket's ETag, so a concurrent edit answers 412 and the box reads
// the ticket again. RT has no idempotency keys: the box's call id goes in a custom field
// (call_id_field) and a retry after an unknown outcome searches for it with TicketSQL first.
package rt

import (
	"context"
	"encoding/base64"
	"encoding/json"
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

// RT is one Request Tracker.
type RT struct {
	d      config.SyncDestination
	deps   adapter.Deps
	api    adapter.Endpoint
	client *adapter.Client
	steps  adapter.Dispatch
}

// New makes an RT destination. With a user, the token is that user's password (Basic auth);
// without, it is an auth token (RT::Authen::Token).
func New(d config.SyncDestination, deps adapter.Deps) *RT {
	auth := "token " + d.Token.Value()
	if d.User != "" {
		auth = adapter.Basic(d.User, d.Token.Value())
	}
	rt := &RT{d: d, deps: deps, api: adapter.NewEndpoint(d.URL).Under("/REST/2.0"),
		client: deps.Client(d.Timeout, adapter.SetHeader("Authorization", auth))}
	rt.steps = adapter.TicketSteps("rt", rt.ticket, rt.recording, rt.survey)
	return rt
}

// Deliver sends one row.
func (rt *RT) Deliver(ctx context.Context, d outbox.Delivery) outbox.Result {
	return rt.steps.Deliver(ctx, d)
}

// quote writes a TicketSQL string.
func quote(s string) string { return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(s) + "'" }

type ref struct {
	ID flexID `json:"id"`
}

func (rt *RT) ticket(ctx context.Context, d outbox.Delivery, step event.Step) outbox.Result {
	return adapter.TicketStep(d, step,
		func(ticket string) outbox.Result { return rt.comment(ctx, ticket, adapter.Body(step), nil) },
		func() (string, outbox.Result) { return rt.findByCallID(ctx, step.Event.Data.CallID) },
		func() outbox.Result { return rt.makeTicket(ctx, step) })
}

// findByCallID finds the ticket of a call by its call id custom field (TicketSQL); without
// one, there is none.
func (rt *RT) findByCallID(ctx context.Context, callID string) (string, outbox.Result) {
	if rt.d.CallIDField == "" {
		return "", outbox.Delivered("")
	}
	var found struct {
		Items []ref `json:"items"`
	}
	q := url.Values{"query": {"'CF.{" + rt.d.CallIDField + "}' = " + quote(callID)}}
	_, r := rt.client.JSON(ctx, http.MethodGet, rt.api.URL("/tickets", q), nil, &found)
	if r.Outcome != outbox.Done || len(found.Items) == 0 {
		return "", r
	}
	return string(found.Items[0].ID), r
}

// makeTicket makes the call's ticket in the destination's queue.
func (rt *RT) makeTicket(ctx context.Context, step event.Step) outbox.Result {
	c := step.Event.Data
	t := map[string]any{"Queue": rt.d.Queue, "Subject": adapter.Subject(step), "Content": adapter.Body(step), "ContentType": "text/plain"}
	if rt.d.Email != "" {
		if n := adapter.Digits(adapter.CallerNumber(c)); n != "" {
			t["Requestor"] = strings.ReplaceAll(rt.d.Email, "{number}", n)
		}
	}
	if step.AgentUser != "" && step.TicketKind == event.TicketCall {
		t["Owner"] = step.AgentUser
	}
	if rt.d.CallIDField != "" {
		t["CustomFields"] = map[string]string{rt.d.CallIDField: c.CallID}
	}
	var made ref
	if _, r := rt.client.JSON(ctx, http.MethodPost, rt.api.URL("/ticket", nil), t, &made); r.Outcome != outbox.Done {
		return r
	}
	return outbox.Delivered(string(made.ID))
}

// comment adds a comment (not a reply: requestors are not mailed) with attachments.
func (rt *RT) comment(ctx context.Context, ticket, text string, attachments []map[string]string) outbox.Result {
	body := map[string]any{"Content": text, "ContentType": "text/plain"}
	if len(attachments) > 0 {
		body["Attachments"] = attachments
	}
	_, r := rt.client.JSON(ctx, http.MethodPost, rt.api.URL("/ticket/"+url.PathEscape(ticket)+"/comment", nil), body, nil)
	return adapter.OnTicket(ticket, r)
}

func (rt *RT) recording(ctx context.Context, ticket string, step event.Step) outbox.Result {
	return rt.deps.RecordingStep(ticket, step, rt.d.Recording == config.RecordingLink,
		func(text string) outbox.Result { return rt.comment(ctx, ticket, text, nil) },
		func(text string) outbox.Result {
			audio, bad := rt.deps.Files.Read(step.RecordingPath)
			if bad != nil {
				return *bad
			}
			return rt.comment(ctx, ticket, text, []map[string]string{{
				"FileName": adapter.FileName(step.Event), "FileType": "audio/wav", "FileContent": base64.StdEncoding.EncodeToString(audio),
			}})
		})
}

func (rt *RT) survey(ctx context.Context, ticket string, step event.Step) outbox.Result {
	return adapter.SurveyStep(ticket, step,
		func(text string) outbox.Result { return rt.comment(ctx, ticket, text, nil) },
		func(field string, score int) outbox.Result {
			return rt.setField(ctx, ticket, field, strconv.Itoa(score))
		})
}

// setField sets a custom field of a ticket. It reads the ticket's ETag and updates only that
// version: a 412 means someone changed it meanwhile, and the outbox re-reads (this step
// again) soon.
func (rt *RT) setField(ctx context.Context, ticket, field, value string) outbox.Result {
	res, r := rt.client.JSON(ctx, http.MethodGet, rt.api.URL("/ticket/"+url.PathEscape(ticket), nil), nil, nil)
	if r.Outcome != outbox.Done {
		return r
	}
	var header []string
	if etag := res.Header.Get("ETag"); etag != "" {
		header = []string{"If-Match", etag}
	}
	_, r = rt.client.JSON(ctx, http.MethodPut, rt.api.URL("/ticket/"+url.PathEscape(ticket), nil),
		map[string]any{"CustomFields": map[string]string{field: value}}, nil, header...)
	return r
}

// FindCaller looks a caller up by the phone numbers of ticket requestors: their name and
// organisation, open tickets (new, open, stalled) and the owner of their latest ticket. RT
// has no VIP flag.
func (rt *RT) FindCaller(ctx context.Context, number string) (lookup.Caller, error) {
	q := url.Values{
		"query":             {fmt.Sprintf("Requestor.WorkPhone = %s OR Requestor.MobilePhone = %s", quote(number), quote(number))},
		"orderby":           {"LastUpdated"},
		"order":             {"DESC"},
		"fields":            {"Subject,Status,Owner,Requestor"},
		"fields[Owner]":     {"Name"},
		"fields[Requestor]": {"Name,RealName,Organization,WorkPhone,MobilePhone"},
	}
	var found struct {
		Items []struct {
			ID      flexID `json:"id"`
			Subject string `json:"Subject"`
			Status  string `json:"Status"`
			Owner   struct {
				Name string `json:"Name"`
			} `json:"Owner"`
			Requestor []struct {
				ID           flexID `json:"id"`
				RealName     string `json:"RealName"`
				Organization string `json:"Organization"`
				WorkPhone    string `json:"WorkPhone"`
				MobilePhone  string `json:"MobilePhone"`
			} `json:"Requestor"`
		} `json:"items"`
	}
	if _, r := rt.client.JSON(ctx, http.MethodGet, rt.api.URL("/tickets", q), nil, &found); r.Outcome != outbox.Done {
		return lookup.Caller{}, r.Err
	}
	c := lookup.Caller{Number: number}
	for _, t := range found.Items {
		for _, u := range t.Requestor {
			if !c.Found && (adapter.SameNumber(u.WorkPhone, number) || adapter.SameNumber(u.MobilePhone, number)) {
				c.Found, c.Name, c.Organization, c.HelpdeskID = true, u.RealName, u.Organization, string(u.ID)
			}
		}
		switch t.Status {
		case "new", "open", "stalled":
			c.OpenTickets = append(c.OpenTickets, lookup.Ticket{ID: string(t.ID), Subject: t.Subject, Status: t.Status})
		}
		if c.LastAgent == "" && t.Owner.Name != "" && t.Owner.Name != "Nobody" {
			c.LastAgent = adapter.ExtensionOf(rt.d.Agents, t.Owner.Name)
		}
	}
	if !c.Found {
		return lookup.Caller{Number: number}, nil
	}
	return c, nil
}

// flexID is an id RT writes as a string ("20") or a number (20).
type flexID string

// UnmarshalJSON takes either.
func (f *flexID) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case string:
		*f = flexID(x)
	case float64:
		*f = flexID(strconv.FormatInt(int64(x), 10))
	default:
		return fmt.Errorf("bad RT id %s", b)
	}
	return nil
}

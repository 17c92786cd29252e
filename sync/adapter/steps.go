package adapter

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"callbox/sync/event"
	"callbox/sync/outbox"
)

// Handler does one step of a call's delivery at a helpdesk.
type Handler func(ctx context.Context, d outbox.Delivery, step event.Step) outbox.Result

// Dispatch hands each row to the handler of its step's action.
type Dispatch struct {
	Helpdesk string             // names the helpdesk in the error for an action it does not do
	Steps    map[string]Handler // by event.Action*
}

// Deliver decodes the row's step and does it. A payload that does not decode, or an action
// the helpdesk does not do, is a dead letter: no retry can make it work.
func (s Dispatch) Deliver(ctx context.Context, d outbox.Delivery) outbox.Result {
	step, bad := Step(d)
	if bad != nil {
		return *bad
	}
	h, ok := s.Steps[step.Action]
	if !ok {
		return outbox.Permanent(fmt.Errorf("%s cannot %s", s.Helpdesk, step.Action))
	}
	return h(ctx, d, step)
}

// DependentStep is the Handler of a step on the ticket an earlier step made (the row's
// dependency): the recording, the survey.
func DependentStep(do func(ctx context.Context, ticket string, step event.Step) outbox.Result) Handler {
	return func(ctx context.Context, d outbox.Delivery, step event.Step) outbox.Result {
		return do(ctx, d.DependencyRef, step)
	}
}

// OnTicket makes a done step refer to the ticket it was done on.
func OnTicket(ticket string, r outbox.Result) outbox.Result {
	if r.Outcome == outbox.Done {
		r.RemoteRef = ticket
	}
	return r
}

// TicketSteps is the dispatch of a helpdesk that makes a ticket of a call (or comments on
// the caller's open one), then puts the recording and the survey score on it.
func TicketSteps(helpdesk string, ticket Handler, recording, survey func(ctx context.Context, ticket string, step event.Step) outbox.Result) Dispatch {
	return Dispatch{Helpdesk: helpdesk, Steps: map[string]Handler{
		event.ActionTicket:    ticket,
		event.ActionRecording: DependentStep(recording),
		event.ActionSurvey:    DependentStep(survey),
	}}
}

// TicketStep is what every helpdesk does with a call's ticket: the caller's open ticket gets
// a comment (comment), unless it is gone (404: merged, deleted) and the call gets a ticket of
// its own; a retry after an attempt whose outcome is unknown first looks for the ticket that
// attempt may have made (find, "" for none); only then is a ticket made (create).
func TicketStep(d outbox.Delivery, step event.Step, comment func(ticket string) outbox.Result, find func() (string, outbox.Result), create func() outbox.Result) outbox.Result {
	if step.Ticket != "" {
		r := comment(step.Ticket)
		if r.Status != http.StatusNotFound {
			return r
		}
	}
	if d.Attempt > 1 {
		if id, r := find(); r.Outcome != outbox.Done {
			return r
		} else if id != "" {
			return outbox.Delivered(id)
		}
	}
	return create()
}

// RecordingStep is what every helpdesk does with a call's recording: it needs the ticket;
// with recording links the ticket gets a private comment with a signed link (comment), else
// the audio goes to the ticket (attach, given the comment's text). The adapters differ only
// in how they comment and attach.
func (d Deps) RecordingStep(ticket string, step event.Step, link bool, comment, attach func(text string) outbox.Result) outbox.Result {
	if ticket == "" {
		return outbox.Permanent(errors.New("no ticket to attach the recording to"))
	}
	text := RecordingText(step.Event)
	if link {
		url := ""
		if r := step.Event.Data.Recording; r != nil {
			url = d.Link(r.ID)
		}
		return comment(text + "\n" + url)
	}
	return attach(text)
}

// SurveyStep is what every helpdesk does with a caller's survey score: it needs the ticket
// and the score; without a survey field the score is a private comment (comment, given its
// text), else it goes in that field of the ticket (setField). The adapters differ only in
// how they comment and set a field.
func SurveyStep(ticket string, step event.Step, comment func(text string) outbox.Result, setField func(field string, score int) outbox.Result) outbox.Result {
	c := step.Event.Data
	if ticket == "" || c.Survey == nil {
		return outbox.Permanent(errors.New("no ticket or no score for the survey"))
	}
	if step.SurveyField == "" {
		return comment(SurveyText(c))
	}
	return OnTicket(ticket, setField(step.SurveyField, c.Survey.Score))
}

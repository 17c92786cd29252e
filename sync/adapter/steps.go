package adapter

import (
	"context"
	"fmt"

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

// TicketStep is the Handler of a step on the ticket an earlier step made (the row's
// dependency): the recording, the survey.
func TicketStep(do func(ctx context.Context, ticket string, step event.Step) outbox.Result) Handler {
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
		event.ActionRecording: TicketStep(recording),
		event.ActionSurvey:    TicketStep(survey),
	}}
}

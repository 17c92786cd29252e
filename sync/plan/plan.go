// Package plan turns a finished call into the outbox rows of every destination that wants
// it, in the order they must go out: create the ticket, upload the recording, add the
// comments. The switchboard calls Rows when a call ends and writes the rows with the call in
// one transaction (store.FinishCall).
package plan

import (
	"encoding/json"
	"fmt"

	"callbox"
	"callbox/config"
	"callbox/store"
	"callbox/sync/event"
	"callbox/sync/lookup"
)

// Rows makes the outbox rows of a finished call for every destination of cfg.Sync that takes
// it (by number or queue). caller is what the look-up knew about the caller, the zero value
// when nothing: a known open ticket turns the "open" policy's ticket into a comment on it.
func Rows(cfg *config.Config, rec *callbox.Record, caller lookup.Caller) ([]store.OutboxRow, error) {
	var rows []store.OutboxRow
	for _, d := range cfg.Sync.Destinations {
		if !d.Takes(rec.DID, rec.Queue) {
			continue
		}
		steps := Steps(cfg, d, rec, caller)
		ticketID := ""
		for _, s := range steps {
			if s.Step.Action == event.ActionTicket {
				ticketID = s.Step.Event.ID
			}
		}
		for i, s := range steps {
			b, err := json.Marshal(s.Step)
			if err != nil {
				return nil, fmt.Errorf("outbox row for %s: %w", d.Name, err)
			}
			row := store.OutboxRow{ID: s.Step.Event.ID, Destination: d.Name, CallID: rec.ID, Seq: i, Kind: s.Kind, Payload: b}
			if s.dependsOnTicket {
				row.DependsOn = ticketID
			}
			rows = append(rows, row)
		}
	}
	return rows, nil
}

// PlannedStep is one row to be: its kind (the outbox kind column) and payload.
type PlannedStep struct {
	Kind            string
	Step            event.Step
	dependsOnTicket bool
}

// Steps are the steps of one call for one destination, in order.
func Steps(cfg *config.Config, d config.SyncDestination, rec *callbox.Record, caller lookup.Caller) []PlannedStep {
	agentName := ""
	if e, ok := cfg.Extension(agentOf(rec)); ok {
		agentName = e.Name
	}
	call := event.FromRecord(rec, agentName)
	if caller.Found {
		call.Caller = &event.Caller{Name: caller.Name, Organization: caller.Organization, VIP: caller.VIP,
			Helpdesk: caller.Directory, HelpdeskID: caller.HelpdeskID}
	}
	typ := event.TypeOf(rec)
	mk := func(step, evType, action string) event.Step {
		s := event.Step{Action: action, Event: event.Event{Type: evType, Version: event.Version,
			ID: event.ID(rec.ID, d.Name, step), Timestamp: rec.Ended.UTC(), Data: call}}
		if rec.Recording != nil {
			s.RecordingPath = rec.Recording.Path
		}
		return s
	}
	if !d.IsHelpdesk() {
		steps := []PlannedStep{{Kind: typ, Step: mk("event", typ, event.ActionEvent)}}
		if rec.Recording != nil && d.Recording == config.RecordingUpload {
			steps = append(steps, PlannedStep{Kind: event.Recording, Step: mk("upload", event.Recording, event.ActionUpload)})
		}
		if rec.Survey > 0 {
			steps = append(steps, PlannedStep{Kind: event.Survey, Step: mk("survey", event.Survey, event.ActionSurvey)})
		}
		return steps
	}

	var steps []PlannedStep
	if d.Kind == config.KindZammad && d.CTIToken.IsSet() && rec.Direction != callbox.Internal {
		steps = append(steps, PlannedStep{Kind: event.ActionCTI, Step: mk("cti", typ, event.ActionCTI)})
	}
	if rec.Direction == callbox.Internal {
		return steps // a call between two phones of the box is no customer's business
	}
	kind := ticketKind(d.Tickets, typ)
	if kind == "" {
		return steps
	}
	t := mk("ticket", typ, event.ActionTicket)
	t.TicketKind = kind
	t.AgentUser = agentUser(d, rec)
	if kind == event.TicketCall && d.Tickets.Answered == "open" && caller.Directory == d.Name && len(caller.OpenTickets) > 0 {
		t.Ticket = caller.OpenTickets[0].ID
	}
	hasRecording := rec.Recording != nil && d.Recording != config.RecordingNone
	hasSurvey := rec.Survey > 0 && d.Tickets.Survey != "none"
	if !d.CanAddToTicket() {
		// One request makes the whole ticket: the recording and the score go in it.
		t.WithRecording, t.WithSurvey = hasRecording, hasSurvey
		return append(steps, PlannedStep{Kind: event.ActionTicket, Step: t})
	}
	steps = append(steps, PlannedStep{Kind: event.ActionTicket, Step: t})
	if hasRecording {
		r := mk("recording", typ, event.ActionRecording)
		r.TicketKind = kind
		steps = append(steps, PlannedStep{Kind: event.ActionRecording, Step: r, dependsOnTicket: true})
	}
	if hasSurvey {
		s := mk("survey", event.Survey, event.ActionSurvey)
		s.TicketKind = kind
		if d.Tickets.Survey == "field" {
			s.SurveyField = d.Tickets.SurveyField
		}
		steps = append(steps, PlannedStep{Kind: event.ActionSurvey, Step: s, dependsOnTicket: true})
	}
	return steps
}

// ticketKind is the ticket a call gets under a policy, "" for none.
func ticketKind(p config.TicketPolicy, typ string) string {
	switch typ {
	case event.CallFinished:
		if p.Answered != "none" {
			return event.TicketCall
		}
	case event.CallMissed, event.CallAbandoned:
		if p.Missed == "callback" {
			return event.TicketCallback
		}
	case event.Voicemail:
		if p.Voicemail == "ticket" {
			return event.TicketVoicemail
		}
	}
	return ""
}

func agentOf(rec *callbox.Record) string {
	if rec.Agent != "" {
		return rec.Agent
	}
	return rec.Extension
}

func agentUser(d config.SyncDestination, rec *callbox.Record) string {
	if u, ok := d.Agents[rec.Agent]; ok && rec.Agent != "" {
		return u
	}
	if u, ok := d.Agents[rec.Extension]; ok && rec.Extension != "" {
		return u
	}
	return ""
}

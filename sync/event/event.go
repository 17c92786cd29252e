// Package event is what the box tells the outside about a call: versioned JSON events (the
// webhook payloads, documented in the README) and the steps an outbox row asks a destination
// to take.
//
// Version 1 of the payload only ever gains fields; a change that removes or redefines one
// makes version 2, sent as "version": 2.
package event

import (
	"crypto/sha256"
	"encoding/base32"
	"strings"
	"time"

	"callbox"
)

// Version is the payload version the box writes.
const Version = 1

// Event types.
const (
	CallFinished  = "call.finished"  // an answered call ended, or an outbound/internal call ended
	CallMissed    = "call.missed"    // an inbound call nobody answered
	CallAbandoned = "call.abandoned" // the caller hung up while waiting in a queue
	Voicemail     = "voicemail"      // the caller left a voicemail
	Survey        = "survey"         // the caller scored the call after it
	Recording     = "recording"      // the audio of a call (webhook upload mode)
)

// Event is one JSON payload: a Standard Webhooks envelope around a call.
type Event struct {
	Type    string `json:"type"`
	Version int    `json:"version"`
	// ID is the event id, equal to the webhook-id header and stable across retries.
	ID string `json:"id"`
	// Timestamp is when the event happened (the hang-up), not when it was sent.
	Timestamp time.Time `json:"timestamp"`
	Data      Call      `json:"data"`
}

// Call is the call an event is about.
type Call struct {
	CallID     string     `json:"call_id"`
	Direction  string     `json:"direction"` // inbound, outbound, internal
	From       string     `json:"from"`
	FromName   string     `json:"from_name,omitempty"`
	To         string     `json:"to"`
	DID        string     `json:"did,omitempty"` // the number called from outside
	Trunk      string     `json:"trunk,omitempty"`
	Queue      string     `json:"queue,omitempty"`
	Agent      string     `json:"agent,omitempty"` // extension of the agent who took the call
	AgentName  string     `json:"agent_name,omitempty"`
	Extension  string     `json:"extension,omitempty"`
	StartedAt  time.Time  `json:"started_at"`
	AnsweredAt *time.Time `json:"answered_at,omitempty"`
	EndedAt    time.Time  `json:"ended_at"`
	// Result: answered, missed, busy, failed, abandoned, voicemail, rejected.
	Result      string            `json:"result"`
	Cause       string            `json:"cause"`
	HangupSide  string            `json:"hangup_side"`
	WaitSeconds int               `json:"wait_seconds"` // ringing and queueing before the answer or hang-up
	TalkSeconds int               `json:"talk_seconds"`
	VIP         int               `json:"vip,omitempty"`
	Flags       []string          `json:"flags,omitempty"`
	Variables   map[string]string `json:"variables,omitempty"`
	Survey      *SurveyScore      `json:"survey,omitempty"`
	Recording   *Audio            `json:"recording,omitempty"`
	Caller      *Caller           `json:"caller,omitempty"`
}

// SurveyScore is the caller's answer to the after-call survey.
type SurveyScore struct {
	Score int `json:"score"` // 1 (bad) to Max (good)
	Max   int `json:"max"`
}

// Audio describes a recording. URL is set when the destination fetches recordings from the
// box: a signed link valid until URLExpiresAt.
type Audio struct {
	ID              string     `json:"id"`
	Kind            string     `json:"kind"` // call or voicemail
	ContentType     string     `json:"content_type"`
	DurationSeconds float64    `json:"duration_seconds"`
	Size            int64      `json:"size"`
	URL             string     `json:"url,omitempty"`
	URLExpiresAt    *time.Time `json:"url_expires_at,omitempty"`
}

// Caller is what the helpdesk look-up knew about the caller when the call ended.
type Caller struct {
	Name         string `json:"name,omitempty"`
	Organization string `json:"organization,omitempty"`
	VIP          bool   `json:"vip,omitempty"`
	Helpdesk     string `json:"helpdesk,omitempty"` // the destination that answered
	HelpdeskID   string `json:"helpdesk_id,omitempty"`
}

// Step actions: what an outbox row asks its destination to do.
const (
	ActionEvent     = "event"     // webhook: POST the event
	ActionUpload    = "upload"    // webhook: POST the recording's audio
	ActionTicket    = "ticket"    // helpdesk: create a ticket, or comment on Step.Ticket
	ActionRecording = "recording" // helpdesk: attach the recording to the ticket of the step before
	ActionSurvey    = "survey"    // helpdesk: put the survey score on that ticket
	ActionCTI       = "cti"       // Zammad: log the call through its CTI API
)

// Ticket kinds.
const (
	TicketCall      = "call"
	TicketCallback  = "callback"
	TicketVoicemail = "voicemail"
)

// Step is the payload of one outbox row.
type Step struct {
	Action string `json:"action"`
	Event  Event  `json:"event"`
	// Ticket, when set, is the caller's open ticket to comment on instead of creating one.
	Ticket     string `json:"ticket,omitempty"`
	TicketKind string `json:"ticket_kind,omitempty"`
	// RecordingPath is where the audio lies on the box (relative to the data folder).
	RecordingPath string `json:"recording_path,omitempty"`
	// AgentUser is the helpdesk user of the agent who took the call, from the agents table.
	AgentUser string `json:"agent_user,omitempty"`
	// WithRecording and WithSurvey fold those into the ticket itself, for helpdesks that
	// cannot add to a ticket later (osTicket).
	WithRecording bool `json:"with_recording,omitempty"`
	WithSurvey    bool `json:"with_survey,omitempty"`
	// SurveyField is the helpdesk field that takes the score ("" for a comment).
	SurveyField string `json:"survey_field,omitempty"`
}

// ID makes the event id of a call's step for a destination: stable (the same inputs give the
// same id), unique and free of dots, as Standard Webhooks wants message ids.
func ID(callID, destination, step string) string {
	sum := sha256.Sum256([]byte(callID + "\x00" + destination + "\x00" + step))
	return "evt_" + strings.ToLower(base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(sum[:16]))
}

// TypeOf says which event a finished call is.
func TypeOf(rec *callbox.Record) string {
	switch {
	case rec.Result == "voicemail":
		return Voicemail
	case rec.Result == "abandoned":
		return CallAbandoned
	case rec.Answered != nil || rec.Result == "answered":
		return CallFinished
	case rec.Direction == callbox.Inbound:
		return CallMissed
	}
	return CallFinished
}

// FromRecord describes a finished call. agentName is the agent's display name ("" if unknown).
func FromRecord(rec *callbox.Record, agentName string) Call {
	c := Call{
		CallID: rec.ID, Direction: string(rec.Direction), From: rec.From, FromName: rec.FromName, To: rec.To,
		DID: rec.DID, Trunk: rec.Trunk, Queue: rec.Queue, Agent: rec.Agent, AgentName: agentName,
		Extension: rec.Extension, StartedAt: rec.Started.UTC(), EndedAt: rec.Ended.UTC(), Result: rec.Result,
		Cause: rec.Cause, HangupSide: string(rec.HangupSide), TalkSeconds: int(rec.TalkTime.Round(time.Second) / time.Second),
		VIP: rec.VIP, Flags: rec.Flags, Variables: rec.Variables,
	}
	waitEnd := rec.Ended
	if rec.Answered != nil {
		a := rec.Answered.UTC()
		c.AnsweredAt = &a
		waitEnd = a
	}
	c.WaitSeconds = int(waitEnd.Sub(rec.Started).Round(time.Second) / time.Second)
	if rec.Survey > 0 {
		c.Survey = &SurveyScore{Score: rec.Survey, Max: 5}
	}
	if r := rec.Recording; r != nil {
		c.Recording = &Audio{ID: r.ID, Kind: r.Kind, ContentType: "audio/wav",
			DurationSeconds: r.Duration.Seconds(), Size: r.Size}
	}
	return c
}

package adapter

import (
	"fmt"
	"strings"
	"time"

	"callbox/sync/event"
)

// Caller names the caller of a call: "Dana (+15551230001)" or the number alone.
func Caller(c event.Call) string {
	name := c.FromName
	if c.Caller != nil && c.Caller.Name != "" {
		name = c.Caller.Name
	}
	if c.Direction == "outbound" {
		return c.To
	}
	if name == "" || name == c.From {
		return c.From
	}
	return fmt.Sprintf("%s (%s)", name, c.From)
}

// CallerNumber is the outside party's number: the caller, or the called party of an
// outbound call.
func CallerNumber(c event.Call) string {
	if c.Direction == "outbound" {
		return c.To
	}
	return c.From
}

// Anonymous tells whether a caller withheld their number (or there was none).
func Anonymous(number string) bool { return number == "" || number == "anonymous" }

// AnonymousEmail is the requester address of an anonymous caller at a helpdesk that wants
// one: the destination's email template, else the box's own, for the number "anonymous".
func AnonymousEmail(template string) string {
	if template == "" {
		template = "caller-{number}@callbox.invalid"
	}
	return strings.ReplaceAll(template, "{number}", "anonymous")
}

func agent(c event.Call) string {
	switch {
	case c.AgentName != "" && c.Agent != "":
		return fmt.Sprintf("%s (%s)", c.AgentName, c.Agent)
	case c.Agent != "":
		return c.Agent
	}
	return c.Extension
}

// Subject is a ticket's subject line for a step.
func Subject(s event.Step) string {
	c := s.Event.Data
	switch s.TicketKind {
	case event.TicketCallback:
		if c.Result == "abandoned" {
			return "Call back " + Caller(c) + ": hung up waiting"
		}
		return "Call back " + Caller(c) + ": missed call"
	case event.TicketVoicemail:
		return "Voicemail from " + Caller(c)
	}
	if c.Direction == "outbound" {
		return "Call to " + c.To
	}
	return "Call from " + Caller(c)
}

// Duration writes a duration the way people read it: 45 s, 4 min 3 s, 1 h 2 min.
func Duration(secs int) string {
	d := time.Duration(secs) * time.Second
	switch {
	case d >= time.Hour:
		return fmt.Sprintf("%d h %d min", d/time.Hour, d%time.Hour/time.Minute)
	case d >= time.Minute:
		return fmt.Sprintf("%d min %d s", d/time.Minute, d%time.Minute/time.Second)
	}
	return fmt.Sprintf("%d s", secs)
}

// Body is the text of a ticket (or of the comment on an open ticket) for a step.
func Body(s event.Step) string {
	c := s.Event.Data
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, format+"\n", args...) }
	switch s.TicketKind {
	case event.TicketCallback:
		if c.Result == "abandoned" {
			line("%s hung up after waiting %s%s. Please call back %s.", Caller(c), Duration(c.WaitSeconds), inQueue(c), CallerNumber(c))
		} else {
			line("Nobody answered %s (%s after %s). Please call back %s.", Caller(c), c.Result, Duration(c.WaitSeconds), CallerNumber(c))
		}
	case event.TicketVoicemail:
		line("%s left a voicemail", Caller(c)+dialled(c))
		if r := c.Recording; r != nil {
			line("Length: %s", Duration(int(r.DurationSeconds+0.5)))
		}
	default:
		if c.Direction == "outbound" {
			line("Outbound call from %s to %s", agent(c), c.To)
		} else {
			line("%s call from %s", strings.ToUpper(c.Direction[:1])+c.Direction[1:], Caller(c)+dialled(c))
		}
		if c.Queue != "" {
			line("Queue: %s", c.Queue)
		}
		if c.AnsweredAt != nil {
			line("Answered by: %s after %s", agent(c), Duration(c.WaitSeconds))
			line("Talk time: %s", Duration(c.TalkSeconds))
		} else {
			line("Not answered: %s after %s", c.Result, Duration(c.WaitSeconds))
		}
	}
	if c.Caller != nil && c.Caller.Organization != "" {
		line("Organisation: %s", c.Caller.Organization)
	}
	if c.VIP > 0 || c.Caller != nil && c.Caller.VIP {
		line("VIP caller")
	}
	line("Started: %s", c.StartedAt.UTC().Format("2006-01-02 15:04:05 UTC"))
	line("Ended: %s (hung up by %s)", c.EndedAt.UTC().Format("2006-01-02 15:04:05 UTC"), c.HangupSide)
	if s.WithSurvey && c.Survey != nil {
		line("%s", SurveyText(c))
	}
	line("Call id: %s", c.CallID)
	return b.String()
}

func dialled(c event.Call) string {
	if c.DID != "" {
		return " to " + c.DID
	}
	if c.To != "" {
		return " to " + c.To
	}
	return ""
}

func inQueue(c event.Call) string {
	if c.Queue == "" {
		return ""
	}
	return " in queue " + c.Queue
}

// SurveyText is the comment that carries a survey score.
func SurveyText(c event.Call) string {
	if c.Survey == nil {
		return ""
	}
	return fmt.Sprintf("Survey: the caller scored the call %d of %d.", c.Survey.Score, c.Survey.Max)
}

// RecordingText is the comment that carries a recording.
func RecordingText(ev event.Event) string {
	c := ev.Data
	what := "Recording of the call"
	if c.Recording != nil && c.Recording.Kind == "voicemail" {
		what = "Voicemail"
	}
	length := ""
	if c.Recording != nil {
		length = " (" + Duration(int(c.Recording.DurationSeconds+0.5)) + ")"
	}
	return fmt.Sprintf("%s%s, call id %s.", what, length, c.CallID)
}

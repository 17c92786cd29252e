package switchboard

import (
	"context"
	"log/slog"
	"slices"
	"strconv"
	"time"

	"callbox"
	"callbox/config"
	"callbox/ivr"
	"callbox/media/session"
)

// IVR is the box's side of conversations with callers: flows, voicemail, surveys, and the
// voice and media clock the queues' prompts use. *ivr.Service implements it.
type IVR interface {
	Converse(call ivr.Call) *ivr.Conversation
	Speaker(lang string) ivr.Speaker
	MediaClock() *session.Clock
}

// dispatch sends the call where a destination says: an IVR flow, a voicemail box, a queue,
// or someone to ring.
func (c *call) dispatch(d config.Destination) (string, callbox.Cause, callbox.HangupSide) {
	switch d.Kind {
	case "flow", "voicemail":
		cv := c.conversation()
		if cv == nil {
			c.log.Error("the call needs the IVR, which is not running", "destination", d.String())
			return c.reject(callbox.CauseUnavailable)
		}
		var e ivr.Ending
		if d.Kind == "flow" {
			e = cv.Run(c.ctx, d.Name)
		} else {
			e = cv.Voicemail(c.ctx, d.Name, nil)
		}
		return e.Result, e.Cause, e.Side
	case "queue":
		return c.toQueue(d.Name)
	}
	return c.connectTo(d)
}

// conversation is the IVR's side of the call, started when first needed; nil without an IVR.
func (c *call) conversation() *ivr.Conversation {
	if c.conv == nil && c.sb.ivr != nil {
		c.conv = c.sb.ivr.Converse(ivrCall{c})
	}
	return c.conv
}

// releaseMedia frees the caller's media from the IVR (for a bridge, or at the end).
func (c *call) releaseMedia() {
	if c.conv != nil {
		c.conv.Release()
	}
}

// askSurvey asks the caller the survey question once their agent hung up.
func (c *call) askSurvey() {
	select {
	case <-c.caller.Done():
		return
	default:
	}
	cv := c.conversation()
	if cv == nil {
		c.hangup(c.caller, callbox.CauseNormal)
		return
	}
	agent := c.rec.Agent
	if agent == "" {
		agent = c.rec.Extension
	}
	cv.Survey(c.ctx, agent)
}

// presented is the caller ID shown to whoever the call rings: a VIP or a caller on the
// warning list is marked in the name, so the agent's phone shows it before they answer.
func (c *call) presented() callbox.Party {
	p := callbox.Party{Number: c.rec.From, Name: c.rec.FromName}
	tag := ""
	if c.rec.VIP > 0 {
		tag = "[VIP " + strconv.Itoa(c.rec.VIP) + "]"
	}
	if slices.Contains(c.rec.Flags, "warning") {
		tag += "[WARNING]"
	}
	if tag == "" {
		return p
	}
	name := p.Name
	if name == "" {
		name = p.Number
	}
	p.Name = tag + " " + name
	return p
}

// callerStats reads the RTP counters of the caller's side of a call nobody answered (the
// IVR talked with the caller).
func callerStats(caller callbox.Leg) *callbox.MediaStats {
	m, ok := caller.Media().(statsMedia)
	if !ok {
		return nil
	}
	st := m.Stats()
	return &callbox.MediaStats{CallerIn: st.PacketsIn.Load(), CallerOut: st.PacketsOut.Load(), CallerLost: st.Lost(),
		CallerJitterMS: float64(st.Jitter().Microseconds()) / 1000}
}

// ivrCall is the call as the IVR sees it.
type ivrCall struct{ c *call }

func (a ivrCall) Record() *callbox.Record { return &a.c.rec }
func (a ivrCall) Leg() callbox.Leg        { return a.c.caller }
func (a ivrCall) Log() *slog.Logger       { return a.c.log }
func (a ivrCall) WantSurvey()             { a.c.survey = true }

func (a ivrCall) Event(kind string, detail ...string) { a.c.event(kind, nil, detail...) }

func (a ivrCall) Connect(ctx context.Context, d config.Destination, ringTimeout time.Duration) (ivr.Ending, ivr.Reach) {
	if d.Kind == "queue" {
		r, cause, side := a.c.toQueue(d.Name)
		return ivr.Ending{Result: r, Cause: cause, Side: side}, ivr.Answered
	}
	r, cause, side, reach := a.c.connect(d, ringTimeout)
	return ivr.Ending{Result: r, Cause: cause, Side: side}, reach
}

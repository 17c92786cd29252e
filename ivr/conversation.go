package ivr

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"time"

	"callbox"
	"callbox/config"
	"callbox/media/dsp"
	"callbox/media/prompt"
	"callbox/media/session"
)

// Call is a call as the IVR sees it; the switchboard implements it. The IVR runs on the
// call's own goroutine, so it may change the record directly.
type Call interface {
	// Record is the call's record: the IVR sets variables, flags, the VIP level, the survey
	// score and a voicemail's recording on it.
	Record() *callbox.Record
	// Leg is the caller's leg.
	Leg() callbox.Leg
	Log() *slog.Logger
	// Event adds a step to the call's timeline.
	Event(kind string, detail ...string)
	// WantSurvey asks for the survey question when an agent hangs up on the caller.
	WantSurvey()
	// Connect rings d (an extension, group, number or queue) for up to ringTimeout (0: the
	// destination's own) and, when someone answers, carries the conversation to its end.
	// Unanswered, the caller is left on the line for the IVR to go on.
	Connect(ctx context.Context, d config.Destination, ringTimeout time.Duration) (Ending, Reach)
}

// Reach says how a Connect went.
type Reach uint8

const (
	Answered   Reach = iota // someone answered; the conversation is over
	Unanswered              // nobody answered; the caller is still on the line
	CallerLeft              // the caller hung up while it rang
)

// Ending is how a call ended, in the words of its record.
type Ending struct {
	Result string // answered, missed, busy, abandoned, voicemail, rejected, ivr, failed
	Cause  callbox.Cause
	Side   callbox.HangupSide
}

// Conversation is the IVR's side of one call: the caller's leg, the media session the box
// plays and listens on (made when first needed), the caller's language and the keys typed
// ahead. It belongs to the call's goroutine.
type Conversation struct {
	svc      *Service
	cfg      *config.Config // the configuration the call started with
	call     Call
	leg      callbox.Leg
	log      *slog.Logger
	sess     *session.Session
	lang     string
	caller   string // the caller's number in E.164 (as received when it cannot be)
	e164     bool
	answered bool
	gone     bool  // the caller hung up
	pending  []key // keys pressed and not used yet
}

type key struct {
	digit  rune
	source string // "event" (RFC 4733 or SIP INFO) or "in-band"
}

// Converse starts the IVR's side of a call.
func (s *Service) Converse(call Call) *Conversation {
	cfg := s.config()
	cv := &Conversation{svc: s, cfg: cfg, call: call, leg: call.Leg(), log: call.Log(), lang: cfg.IVR.Language}
	cv.caller, cv.e164 = plan(cfg).Normalize(cv.leg.Remote().Number)
	if cv.caller == "" {
		cv.caller = cv.leg.Remote().Number
	}
	return cv
}

// Caller is the caller's number in E.164 when the box's numbering plan could make it so.
func (cv *Conversation) Caller() string { return cv.caller }

// media answers the caller and starts the session, once.
func (cv *Conversation) media(ctx context.Context) error {
	if cv.gone {
		return errors.New("the caller hung up")
	}
	if !cv.answered {
		if err := cv.leg.Answer(ctx); err != nil {
			return err
		}
		cv.answered = true
		cv.call.Event("ivr.answer", "leg", cv.leg.ID())
	}
	if cv.sess == nil {
		cv.sess = session.New(session.Options{Media: cv.leg.Media(), Clock: cv.svc.media})
	}
	return nil
}

// Release ends the media session, so the leg's media can be bridged; the IVR starts a new
// one if it goes on.
func (cv *Conversation) Release() {
	if cv.sess != nil {
		cv.sess.Close()
		cv.sess = nil
	}
}

// Answered tells whether the IVR answered the caller (then the caller hears ringback from
// the box, not from the network, while a destination rings).
func (cv *Conversation) Answered() bool { return cv.answered }

// Ringback plays the ringing tone of the box's country to an answered caller until Release.
func (cv *Conversation) Ringback(ctx context.Context) {
	if !cv.answered || cv.gone || cv.media(ctx) != nil {
		return
	}
	plan, err := dsp.PlanFor(strings.ToLower(cv.cfg.Box.Country))
	if err != nil {
		plan, _ = dsp.PlanFor("us")
	}
	if t, ok := plan.Tone(dsp.Ringback); ok {
		cv.sess.Play(prompt.Tone(t, 0))
	}
}

// happening is what a wait ended with.
type happening uint8

const (
	gotKey happening = iota
	played
	timedOut
	hungUp // the caller hung up
	ended  // the call's context ended: the box is stopping, or the call is too long
)

// next waits for a key, the end of what plays, a timeout, the caller hanging up or the
// call's end.
func (cv *Conversation) next(ctx context.Context, done <-chan struct{}, timeout <-chan time.Time) happening {
	if cv.gone {
		return hungUp
	}
	var inband <-chan rune
	if cv.sess != nil {
		inband = cv.sess.Digits()
	}
	for {
		select {
		case ev, ok := <-cv.leg.Events():
			if !ok || ev.Kind == callbox.LegHangup {
				cv.gone = true
				cv.call.Event("caller-hangup", "leg", cv.leg.ID())
				return hungUp
			}
			if ev.Kind == callbox.LegDTMF {
				cv.pending = append(cv.pending, key{ev.Digit, "event"})
				return gotKey
			}
		case d := <-inband:
			cv.pending = append(cv.pending, key{d, "in-band"})
			return gotKey
		case <-done:
			return played
		case <-timeout:
			return timedOut
		case <-ctx.Done():
			return ended
		}
	}
}

// play plays p; with interruptible, a key stops it (the key is kept for what asks next, and
// a key typed ahead skips it). It returns played, gotKey, hungUp or ended.
func (cv *Conversation) play(ctx context.Context, p *config.Prompt, interruptible bool) happening {
	if err := cv.media(ctx); err != nil {
		if !cv.gone {
			cv.log.Warn("answering the caller failed", "err", err)
			cv.gone = true
		}
		return hungUp
	}
	if interruptible && len(cv.pending) > 0 {
		return gotKey
	}
	src := cv.svc.source(ctx, cv, p)
	if src == nil {
		return played
	}
	done := cv.sess.Play(src)
	for {
		h := cv.next(ctx, done, nil)
		switch {
		case h == played:
			return h
		case h == gotKey && !interruptible:
			continue
		}
		cv.sess.Stop()
		return h
	}
}

// ask plays p and returns the first key pressed (typed ahead, during p, or within timeout
// after it).
func (cv *Conversation) ask(ctx context.Context, p *config.Prompt, timeout time.Duration) (key, happening) {
	h := cv.play(ctx, p, true)
	if h == hungUp || h == ended {
		return key{}, h
	}
	if len(cv.pending) == 0 {
		t := time.NewTimer(timeout)
		defer t.Stop()
		if h = cv.next(ctx, nil, t.C); h != gotKey {
			return key{}, h
		}
	}
	return cv.take(), gotKey
}

// take returns the oldest key pressed.
func (cv *Conversation) take() key {
	k := cv.pending[0]
	cv.pending = cv.pending[1:]
	cv.svc.metrics.keys.WithLabelValues(k.source).Inc()
	return k
}

// finish is how the call ends when the caller left or the call's context ended; nil when
// neither happened.
func (cv *Conversation) finish(ctx context.Context, h happening) *Ending {
	switch h {
	case hungUp:
		cause := callbox.CauseNormal
		if !cv.answered {
			cause = callbox.CauseCancelled
		}
		return &Ending{Result: "abandoned", Cause: cause, Side: callbox.SideCaller}
	case ended:
		cause := callbox.CauseShutdown
		if errors.Is(ctx.Err(), context.DeadlineExceeded) {
			cause = callbox.CauseMaxDuration
		}
		cv.hangup(cause)
		return &Ending{Result: "ivr", Cause: cause, Side: callbox.SideBox}
	}
	return nil
}

// hangup ends the caller's leg (unanswered: with the cause's SIP answer).
func (cv *Conversation) hangup(cause callbox.Cause) {
	cv.Release()
	if cv.gone {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := cv.leg.Hangup(ctx, cause); err != nil {
		cv.log.Debug("hangup", "leg", cv.leg.ID(), "err", err)
	}
}

// Close ends the conversation's media at the end of the call.
func (cv *Conversation) Close() { cv.Release() }

// endCause is why the box hangs up on a caller: normally, or because the call's context
// ended.
func (cv *Conversation) endCause(ctx context.Context) callbox.Cause {
	switch {
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		return callbox.CauseMaxDuration
	case ctx.Err() != nil:
		return callbox.CauseShutdown
	}
	return callbox.CauseNormal
}

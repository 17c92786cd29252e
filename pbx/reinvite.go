package pbx

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/emiago/sipgo/sip"

	"callbox"
	"callbox/media"
)

// handleReinvite answers the party's re-INVITE: hold and unhold (sendonly, inactive), a new
// codec or a new media address. The switchboard hears of hold changes and forwards them.
func (l *sipLeg) handleReinvite(req *sip.Request, tx sip.ServerTransaction) {
	l.mu.Lock()
	glare := l.reinvite
	l.mu.Unlock()
	if glare {
		respond(tx, req, sip.StatusRequestPending, "Request Pending")
		return
	}
	if l.getState() != stateAnswered {
		respond(tx, req, sip.StatusRequestPending, "Request Pending")
		return
	}
	offerless := len(req.Body()) == 0
	var answer []byte
	if offerless {
		// An offerless re-INVITE: the box offers what it has now; the party answers in the ACK.
		answer = l.currentOffer()
	} else {
		var ok bool
		if answer, ok = l.takeOffer(req, tx); !ok {
			return
		}
	}
	res := sip.NewSDPResponseFromRequest(req, answer)
	res.AppendHeader(sip.HeaderClone(&l.side.contact))
	if err := tx.Respond(res); err != nil {
		l.log.Warn("answer to re-INVITE failed", "err", err)
		return
	}
	ack := l.awaitAck(tx, res)
	if !offerless || ack == nil {
		return
	}
	rm, err := parseSDP(ack.Body())
	if err != nil {
		// The media stays as it was; the party's next offer can mend it.
		l.log.Warn("no usable answer in the ACK of an offerless re-INVITE", "err", err)
		return
	}
	l.applyRemote(rm, false)
}

// takeOffer applies the party's SDP offer and returns the box's answer; on a bad offer it has
// answered 488.
func (l *sipLeg) takeOffer(req *sip.Request, tx sip.ServerTransaction) ([]byte, bool) {
	rm, err := parseSDP(req.Body())
	if err != nil {
		respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here")
		return nil, false
	}
	return l.applyRemote(rm, true), true
}

// applyRemote applies the party's SDP (an offer, or the answer to the box's offer) and tells
// the switchboard when it holds or resumes; for an offer it returns the box's answer.
func (l *sipLeg) applyRemote(rm remoteMedia, isOffer bool) []byte {
	params := answerParams(rm, l.ep.Codec())
	l.ep.SetParams(params)
	l.mu.Lock()
	wasHeld := l.held
	l.held = params.Direction != media.SendRecv
	held := l.held
	var answer []byte
	if isOffer {
		answer = l.sdp.answer(params)
	}
	l.mu.Unlock()
	if held != wasHeld {
		kind := callbox.LegUnhold
		if held {
			kind = callbox.LegHold
		}
		l.emit(callbox.LegEvent{Kind: kind})
	}
	return answer
}

func (l *sipLeg) currentOffer() []byte {
	p := l.ep.Params()
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.sdp.offer([]callbox.Codec{p.Codec, other(p.Codec)}, media.SendRecv)
}

func other(c callbox.Codec) callbox.Codec {
	if c == callbox.PCMA {
		return callbox.PCMU
	}
	return callbox.PCMA
}

// awaitAck waits for the ACK of a 2xx to the party's re-INVITE and returns it (nil when it
// never came or the leg ended). Over UDP it repeats the 2xx meanwhile (RFC 3261 13.3.1.4:
// the transaction layer leaves this to the user agent).
func (l *sipLeg) awaitAck(tx sip.ServerTransaction, res *sip.Response) *sip.Request {
	udp := res.Transport() == "UDP" || res.Transport() == "udp"
	interval := sip.T1
	deadline := time.NewTimer(64 * sip.T1)
	defer deadline.Stop()
	resend := time.NewTimer(interval)
	defer resend.Stop()
	for {
		select {
		case ack := <-l.acks:
			return ack
		case <-l.done:
			return nil
		case <-deadline.C:
			l.log.Warn("no ACK for the answer to a re-INVITE")
			return nil
		case <-resend.C:
			if udp {
				tx.Respond(res)
			}
			interval = min(2*interval, sip.T2)
			resend.Reset(interval)
		}
	}
}

// Hold sends the party a re-INVITE that puts the call on hold (the box sends, the party need
// not) or takes it off hold.
func (l *sipLeg) Hold(ctx context.Context, on bool) error {
	if l.getState() != stateAnswered {
		return nil
	}
	dir := media.SendRecv
	if on {
		dir = media.SendOnly
	}
	l.mu.Lock()
	if l.reinvite {
		l.mu.Unlock()
		return errors.New("a re-INVITE is already under way")
	}
	l.reinvite = true
	p := l.ep.Params()
	offer := l.sdp.offer([]callbox.Codec{p.Codec, other(p.Codec)}, dir)
	l.mu.Unlock()
	defer func() {
		l.mu.Lock()
		l.reinvite = false
		l.mu.Unlock()
	}()

	for attempt := 0; attempt < 3; attempt++ {
		req := sip.NewRequest(sip.INVITE, l.remoteTarget())
		req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
		req.SetBody(offer)
		res, err := l.request(ctx, req)
		if err != nil {
			return fmt.Errorf("re-INVITE: %w", err)
		}
		if res.StatusCode == sip.StatusRequestPending {
			// Glare: both sides re-INVITEd at once; back off as RFC 3261 14.1 says.
			select {
			case <-time.After(time.Duration(2100+attempt*1000) * time.Millisecond):
				continue
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		if !res.IsSuccess() {
			return fmt.Errorf("re-INVITE answered %d %s", res.StatusCode, res.Reason)
		}
		l.writeAck(res)
		if rm, err := parseSDP(res.Body()); err == nil {
			params := answerParams(rm, p.Codec)
			// The party's answer says what it will do; the box keeps to what it offered.
			if on {
				params.Direction = media.SendOnly
			}
			l.ep.SetParams(params)
		}
		return nil
	}
	return errors.New("re-INVITE: the party kept answering 491")
}

// Hangup ends the leg: a final answer to an unanswered inbound INVITE, CANCEL to an outbound
// one still ringing, BYE to an answered call.
func (l *sipLeg) Hangup(ctx context.Context, cause callbox.Cause) error {
	// One hangup at a time: the no-media watchdog and the switchboard can both end a leg at
	// once, and a second BYE after the first was answered would wait out its timeout.
	l.mu.Lock()
	if l.hangingUp {
		l.mu.Unlock()
		select {
		case <-l.done:
		case <-ctx.Done():
		}
		return nil
	}
	l.hangingUp = true
	l.mu.Unlock()
	switch l.getState() {
	case stateEnded:
		return nil
	case stateAnswered:
		var err error
		if l.srv != nil {
			err = l.srv.Bye(ctx)
		} else if l.cli != nil {
			err = l.cli.Bye(ctx)
		}
		l.end(cause, false)
		if err != nil {
			return fmt.Errorf("BYE: %w", err)
		}
		return nil
	}
	if l.inbound {
		code, reason := finalFor(cause)
		// Straight to the transaction: the session's Respond would wait for the ACK.
		res := sip.NewResponseFromRequest(l.srv.InviteRequest, code, reason, nil)
		err := l.inviteTx.Respond(res)
		l.finalOnce.Do(func() { close(l.finalSent) })
		l.end(cause, false)
		return err
	}
	l.out.cancelAll()
	l.end(cause, false)
	return nil
}

// finalFor is the SIP answer that tells a caller why the box ends an unanswered call.
func finalFor(c callbox.Cause) (int, string) {
	switch c {
	case callbox.CauseBusy:
		return sip.StatusBusyHere, "Busy Here"
	case callbox.CauseNoAnswer:
		return sip.StatusTemporarilyUnavailable, "Temporarily Unavailable"
	case callbox.CauseRejected:
		return 603, "Decline"
	case callbox.CauseNotFound:
		return sip.StatusNotFound, "Not Found"
	case callbox.CauseCancelled:
		return sip.StatusRequestTerminated, "Request Terminated"
	case callbox.CauseUnavailable, callbox.CauseShutdown:
		return sip.StatusServiceUnavailable, "Service Unavailable"
	}
	return sip.StatusTemporarilyUnavailable, "Temporarily Unavailable"
}

// causeFor reads a final SIP answer as a hang-up cause.
func causeFor(code int) callbox.Cause {
	switch {
	case code == sip.StatusBusyHere || code == 600:
		return callbox.CauseBusy
	case code == 603:
		return callbox.CauseRejected
	case code == sip.StatusNotFound || code == 484 || code == 604:
		return callbox.CauseNotFound
	case code == sip.StatusTemporarilyUnavailable || code == sip.StatusRequestTimeout:
		return callbox.CauseNoAnswer
	case code == sip.StatusRequestTerminated:
		return callbox.CauseCancelled
	case code >= 500:
		return callbox.CauseUnavailable
	}
	return callbox.CauseFailed
}

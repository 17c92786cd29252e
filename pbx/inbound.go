package pbx

import (
	"context"
	"errors"
	"fmt"

	"github.com/emiago/sipgo/sip"

	"callbox"
	"callbox/media"
)

// handleInvite takes a new call (or routes a re-INVITE to its leg). A caller from a trunk's
// address needs no login; anyone else must be an extension with its password.
func (p *PBX) handleInvite(req *sip.Request, tx sip.ServerTransaction) {
	if inDialog(req) {
		p.handleInDialog(req, tx)
		return
	}
	if p.draining.Load() {
		respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable: shutting down", sip.NewHeader("Retry-After", "60"))
		return
	}
	src := sourceAddr(req)
	in := Incoming{CallID: req.CallID().Value(), To: headerSafe(req.Recipient.User)}
	if f := req.From(); f != nil {
		in.From = callbox.Party{Number: headerSafe(f.Address.User), Name: headerSafe(f.DisplayName)}
	}
	kind := callbox.LegPhone
	if tr, ok := p.trunks.match(src.Addr()); ok {
		in.Trunk, kind = tr.Name, callbox.LegTrunk
	} else {
		ext, ok := p.authenticate(req, tx)
		if !ok {
			return
		}
		in.Extension = ext.Number
		// A phone's caller ID is its extension, whatever its From says.
		in.From = callbox.Party{Number: ext.Number, Name: ext.Name}
	}
	// An INVITE without SDP is a late offer (RFC 3261 13.2.1): the box offers in its 200
	// and the caller answers in the ACK.
	var rm *remoteMedia
	if len(req.Body()) > 0 {
		offer, err := parseSDP(req.Body())
		if err != nil {
			p.log.Info("call refused: unusable SDP", "sip_call_id", in.CallID, "source", src.String(), "err", err)
			respond(tx, req, sip.StatusNotAcceptableHere, "Not Acceptable Here")
			return
		}
		rm = &offer
	}
	l, err := p.newInboundLeg(req, tx, kind, in, rm)
	if err != nil {
		p.log.Warn("call refused", "sip_call_id", in.CallID, "err", err)
		respond(tx, req, sip.StatusServiceUnavailable, "Service Unavailable")
		return
	}
	l.log.Info("incoming call", "from", in.From.Number, "to", in.To, "trunk", in.Trunk, "extension", in.Extension, "source", src.String(), "transport", req.Transport())
	tx.OnCancel(func(*sip.Request) {
		// The transaction layer has answered 200 to the CANCEL and 487 to the INVITE.
		l.finalOnce.Do(func() { close(l.finalSent) })
		p.wg.Go(func() { l.end(callbox.CauseCancelled, true) })
	})
	p.calls.HandleCall(l, in)
	// The INVITE's transaction lives until its final answer; this goroutine keeps it.
	select {
	case <-l.finalSent:
	case <-tx.Done():
		if l.getState() < stateAnswered {
			l.end(callbox.CauseCancelled, true)
		}
	}
}

// newInboundLeg makes the caller's leg; rm is the caller's offer, nil for a late offer.
func (p *PBX) newInboundLeg(req *sip.Request, tx sip.ServerTransaction, kind callbox.LegKind, in Incoming, rm *remoteMedia) (*sipLeg, error) {
	side := p.side(req.Transport())
	srv, err := side.dialog.ReadInvite(req, tx)
	if err != nil {
		return nil, fmt.Errorf("read INVITE: %w", err)
	}
	var l *sipLeg
	ep, err := media.NewEndpoint(media.EndpointOptions{Ports: p.ports, Log: p.log, OnDTMF: func(d rune) {
		l.emit(callbox.LegEvent{Kind: callbox.LegDTMF, Digit: d})
	}})
	if err != nil {
		return nil, err
	}
	l = p.newLeg(kind, true, side, ep)
	l.remote, l.local, l.trunk = in.From, callbox.Party{Number: in.To}, in.Trunk
	l.srv, l.inviteTx = srv, tx
	l.log = l.log.With("sip_call_id", in.CallID) // the switchboard links it to its call_id
	if rm != nil {
		ep.SetParams(answerParams(*rm, callbox.PCMU))
	} else {
		// Until the ACK answers the box's offer: its first codec, and where to send is
		// unknown (nothing is sent until then, or until the caller's packets latch it).
		l.lateOffer = true
		ep.SetParams(media.Params{Codec: callbox.PCMU, PT: media.PayloadPCMU, EventPT: dtmfPT, Direction: media.SendRecv})
	}
	ep.Start()
	l.addCallID(in.CallID)
	return l, nil
}

// Ring tells the caller the call is progressing: 180, or 183 with the box's SDP so audio
// (ringback, prompts, the callee's early media) reaches the caller before the answer.
func (l *sipLeg) Ring(ctx context.Context, earlyMedia bool) error {
	if !l.inbound {
		return nil
	}
	l.mu.Lock()
	if l.state >= stateAnswered {
		l.mu.Unlock()
		return nil
	}
	l.state = stateEarly
	// A late offer's caller hears no early media: the box's offer would have to go in a
	// reliable provisional answer (RFC 3262), which it does not send.
	earlyMedia = earlyMedia && !l.lateOffer
	var body []byte
	if earlyMedia {
		body = l.sdp.answer(l.ep.Params())
	}
	l.mu.Unlock()
	if earlyMedia {
		return l.srv.Respond(sip.StatusSessionInProgress, "Session Progress", body, sip.NewHeader("Content-Type", "application/sdp"))
	}
	return l.srv.Respond(sip.StatusRinging, "Ringing", nil)
}

// Answer answers the caller with 200 and the box's SDP, and returns once the ACK came.
func (l *sipLeg) Answer(ctx context.Context) error {
	if !l.inbound {
		return nil
	}
	l.mu.Lock()
	if l.state >= stateAnswered {
		l.mu.Unlock()
		return nil
	}
	body := l.sdp.answer(l.ep.Params())
	if l.lateOffer {
		body = l.sdp.offer([]callbox.Codec{callbox.PCMU, callbox.PCMA}, media.SendRecv)
	}
	l.mu.Unlock()
	done := make(chan error, 1)
	l.p.wg.Go(func() { done <- l.srv.RespondSDP(body) })
	var err error
	select {
	case err = <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	l.finalOnce.Do(func() { close(l.finalSent) })
	if err != nil {
		l.end(callbox.CauseFailed, false)
		return fmt.Errorf("answer: %w", err)
	}
	l.mu.Lock()
	if l.state != stateEnded {
		l.state = stateAnswered
		l.answered = l.p.now()
	}
	late, ackSDP := l.lateOffer, l.ackSDP
	l.mu.Unlock()
	if late {
		return l.takeLateAnswer(ctx, ackSDP)
	}
	return nil
}

// takeLateAnswer applies the SDP answer a late-offer caller sent in its ACK. Without a
// usable one the call has no media it can carry, and it is ended with a BYE.
func (l *sipLeg) takeLateAnswer(ctx context.Context, body []byte) error {
	err := errors.New("the ACK carried no SDP answer to the box's offer")
	if len(body) > 0 {
		var rm remoteMedia
		if rm, err = parseSDP(body); err == nil {
			l.applyRemote(rm, false)
			return nil
		}
	}
	l.log.Warn("late-offer call ended: no usable answer in the ACK", "err", err)
	if herr := l.Hangup(ctx, callbox.CauseFailed); herr != nil {
		l.log.Debug("BYE after a bad late answer", "err", herr)
	}
	return fmt.Errorf("answer: %w", err)
}

var _ callbox.Leg = (*sipLeg)(nil)

package pbx

import (
	"context"
	"log/slog"
	"net/netip"
	"strings"
	"sync"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"callbox"
	"callbox/media"
)

type legState uint8

const (
	stateSetup    legState = iota // INVITE under way
	stateEarly                    // ringing or early media
	stateAnswered                 // 200 and ACK
	stateEnded
)

// sipLeg is one SIP party of a call: an inbound INVITE the box answers (UAS), or an INVITE
// the box sends (UAC, possibly forked to several devices or tried over several trunks).
type sipLeg struct {
	p       *PBX
	id      string
	kind    callbox.LegKind
	remote  callbox.Party
	local   callbox.Party
	trunk   string
	inbound bool
	log     *slog.Logger
	ep      *media.Endpoint
	side    *transportSide

	evMu   sync.Mutex
	events chan callbox.LegEvent
	done   chan struct{}

	mu        sync.Mutex
	state     legState
	sdp       sdpBuilder
	held      bool // the party put the call on hold
	reinvite  bool // our re-INVITE is under way (glare: theirs gets 491)
	silenced  bool // the no-media watchdog is ending this leg
	hangingUp bool // Hangup is under way
	callIDs   []string
	answered  time.Time

	// inbound
	srv       *sipgo.DialogServerSession
	inviteTx  sip.ServerTransaction
	finalSent chan struct{} // closed when the INVITE got its final answer
	finalOnce sync.Once
	acks      chan *sip.Request // ACKs of 200s to re-INVITEs the party sent
	lateOffer bool              // the INVITE had no SDP: the box offers in its 200
	ackSDP    []byte            // a late offer's answer, from the ACK of that 200

	// outbound
	out *outbound
	cli *sipgo.DialogClientSession
}

const eventBuffer = 16

func (p *PBX) newLeg(kind callbox.LegKind, inbound bool, side *transportSide, ep *media.Endpoint) *sipLeg {
	l := &sipLeg{
		p: p, id: p.newLegID(), kind: kind, inbound: inbound, side: side, ep: ep,
		events: make(chan callbox.LegEvent, eventBuffer), done: make(chan struct{}),
		finalSent: make(chan struct{}), acks: make(chan *sip.Request, 4),
	}
	l.sdp = sdpBuilder{sessionID: uint64(p.now().UnixNano()) & 0x7fffffffffff, addr: advertisedMedia(p, ep)}
	l.log = p.log.With("leg", l.id)
	p.metrics.rtp.add(ep.Stats())
	return l
}

// advertisedMedia is the media address put in SDP: the RTP socket's, with the advertised
// address when the socket listens on every interface.
func advertisedMedia(p *PBX, ep *media.Endpoint) netip.AddrPort {
	local := ep.Local()
	if local.Addr().IsUnspecified() || p.cfg.Load().SIP.External.IsValid() {
		return netip.AddrPortFrom(p.advertise, local.Port())
	}
	return local
}

func (l *sipLeg) ID() string            { return l.id }
func (l *sipLeg) Kind() callbox.LegKind { return l.kind }
func (l *sipLeg) Remote() callbox.Party { return l.remote }
func (l *sipLeg) Local() callbox.Party  { return l.local }
func (l *sipLeg) Trunk() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.trunk
}
func (l *sipLeg) Events() <-chan callbox.LegEvent { return l.events }
func (l *sipLeg) Done() <-chan struct{}           { return l.done }
func (l *sipLeg) Media() callbox.Media            { return l.ep }

// emit delivers an event. One slot of the buffer is kept for the final hangup, so ending a
// leg never blocks; a reader that falls this far behind loses DTMF, and it is logged.
func (l *sipLeg) emit(ev callbox.LegEvent) {
	if ev.At.IsZero() {
		ev.At = l.p.now()
	}
	l.evMu.Lock()
	defer l.evMu.Unlock()
	select {
	case <-l.done:
		return
	default:
	}
	if len(l.events) >= cap(l.events)-1 {
		l.log.Warn("leg event dropped: nobody reads this leg's events", "event", ev.Kind.String())
		return
	}
	l.events <- ev
}

// end finishes the leg once: the last event, the media socket, the dialog registration.
func (l *sipLeg) end(cause callbox.Cause, byRemote bool) {
	l.mu.Lock()
	if l.state == stateEnded {
		l.mu.Unlock()
		return
	}
	l.state = stateEnded
	ids := l.callIDs
	l.mu.Unlock()
	l.finalOnce.Do(func() { close(l.finalSent) })

	l.evMu.Lock()
	l.events <- callbox.LegEvent{Kind: callbox.LegHangup, At: l.p.now(), Cause: cause, ByRemote: byRemote}
	close(l.events)
	close(l.done)
	l.evMu.Unlock()

	l.ep.Close()
	l.p.metrics.rtp.done(l.ep.Stats())
	for _, id := range ids {
		l.p.unregister(id)
	}
	l.log.Debug("leg ended", "cause", string(cause), "by_remote", byRemote)
}

func (l *sipLeg) addCallID(id string) {
	l.mu.Lock()
	l.callIDs = append(l.callIDs, id)
	l.mu.Unlock()
	l.p.register(l, id)
}

func (l *sipLeg) getState() legState {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.state
}

// isHeld tells the no-media watchdog to leave a held call alone: phones on hold may send
// nothing.
func (l *sipLeg) isHeld() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.held || l.ep.Params().Direction != media.SendRecv
}

// inDialog handles a request inside one of this leg's dialogs.
func (l *sipLeg) inDialog(req *sip.Request, tx sip.ServerTransaction) {
	switch req.Method {
	case sip.ACK:
		l.handleAck(req, tx)
	case sip.BYE:
		res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
		tx.Respond(res)
		l.end(callbox.CauseNormal, true)
	case sip.INVITE:
		l.handleReinvite(req, tx)
	case sip.INFO:
		l.handleInfo(req, tx)
	case sip.REFER:
		l.handleRefer(req, tx)
	case sip.UPDATE:
		l.handleUpdate(req, tx)
	default:
		respond(tx, req, sip.StatusOK, "OK")
	}
}

func (l *sipLeg) handleAck(req *sip.Request, tx sip.ServerTransaction) {
	if l.srv != nil && l.lateOffer && req.CSeq().SeqNo == l.srv.InviteRequest.CSeq().SeqNo {
		// Kept before ReadAck confirms the dialog, as that lets Answer go on to read it.
		l.mu.Lock()
		if l.ackSDP == nil {
			l.ackSDP = append([]byte{}, req.Body()...)
		}
		l.mu.Unlock()
	}
	if l.srv != nil {
		if err := l.srv.ReadAck(req, tx); err == nil {
			return
		}
	}
	select {
	case l.acks <- req:
	default:
	}
}

// handleInfo takes DTMF sent as SIP INFO (application/dtmf-relay or application/dtmf).
func (l *sipLeg) handleInfo(req *sip.Request, tx sip.ServerTransaction) {
	respond(tx, req, sip.StatusOK, "OK")
	ct := ""
	if h := req.ContentType(); h != nil {
		ct = strings.ToLower(h.Value())
	}
	body := string(req.Body())
	var digit string
	switch {
	case strings.HasPrefix(ct, "application/dtmf-relay"):
		for _, line := range strings.Split(body, "\n") {
			k, v, ok := strings.Cut(line, "=")
			if ok && strings.EqualFold(strings.TrimSpace(k), "signal") {
				digit = strings.TrimSpace(v)
			}
		}
	case strings.HasPrefix(ct, "application/dtmf"):
		digit = strings.TrimSpace(body)
	}
	if len(digit) == 1 && media.EventCode(rune(digit[0])) >= 0 {
		l.emit(callbox.LegEvent{Kind: callbox.LegDTMF, Digit: rune(digit[0])})
	}
}

// handleRefer takes a blind transfer from a phone: the switchboard connects the other party
// to the target, and the phone is told the transfer went through.
func (l *sipLeg) handleRefer(req *sip.Request, tx sip.ServerTransaction) {
	rt := req.ReferTo()
	if rt == nil || rt.Address.User == "" {
		respond(tx, req, sip.StatusBadRequest, "Bad Request: Refer-To names nobody")
		return
	}
	if l.getState() != stateAnswered {
		respond(tx, req, 403, "Forbidden: the call is not answered")
		return
	}
	respond(tx, req, 202, "Accepted")
	l.emit(callbox.LegEvent{Kind: callbox.LegTransfer, Target: headerSafe(rt.Address.User)})
	l.p.wg.Go(func() {
		ctx, cancel := context.WithTimeout(l.p.ctx, 10*time.Second)
		defer cancel()
		notify := sip.NewRequest(sip.NOTIFY, l.remoteTarget())
		notify.AppendHeader(sip.NewHeader("Event", "refer"))
		notify.AppendHeader(sip.NewHeader("Subscription-State", "terminated;reason=noresource"))
		notify.AppendHeader(sip.NewHeader("Content-Type", "message/sipfrag;version=2.0"))
		notify.SetBody([]byte("SIP/2.0 200 OK\r\n"))
		l.request(ctx, notify)
	})
}

// handleUpdate answers an UPDATE; one with SDP is taken like a re-INVITE's offer.
func (l *sipLeg) handleUpdate(req *sip.Request, tx sip.ServerTransaction) {
	if len(req.Body()) == 0 {
		respond(tx, req, sip.StatusOK, "OK")
		return
	}
	answer, ok := l.takeOffer(req, tx)
	if !ok {
		return
	}
	res := sip.NewSDPResponseFromRequest(req, answer)
	res.AppendHeader(sip.HeaderClone(&l.side.contact))
	tx.Respond(res)
}

// remoteTarget is where in-dialog requests go: the party's Contact.
func (l *sipLeg) remoteTarget() sip.Uri {
	if l.srv != nil {
		if c := l.srv.InviteRequest.Contact(); c != nil {
			return c.Address
		}
		return l.srv.InviteRequest.From().Address
	}
	if l.cli != nil && l.cli.InviteResponse != nil {
		if c := l.cli.InviteResponse.Contact(); c != nil {
			return c.Address
		}
	}
	return sip.Uri{}
}

// request sends an in-dialog request and waits for its final answer.
func (l *sipLeg) request(ctx context.Context, req *sip.Request) (*sip.Response, error) {
	var tx sip.ClientTransaction
	var err error
	if l.srv != nil {
		tx, err = l.srv.TransactionRequest(ctx, req)
	} else {
		tx, err = l.cli.TransactionRequest(ctx, req)
	}
	if err != nil {
		return nil, err
	}
	defer tx.Terminate()
	for {
		select {
		case res := <-tx.Responses():
			if res.IsProvisional() {
				continue
			}
			return res, nil
		case <-tx.Done():
			return nil, tx.Err()
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// writeAck sends the ACK for a 2xx to our in-dialog INVITE.
func (l *sipLeg) writeAck(res *sip.Response) {
	ack := sip.NewRequest(sip.ACK, l.remoteTarget())
	ack.AppendHeader(&sip.CSeqHeader{SeqNo: res.CSeq().SeqNo, MethodName: sip.ACK})
	var err error
	if l.srv != nil {
		err = l.srv.WriteRequest(ack)
	} else {
		err = l.cli.WriteRequest(ack)
	}
	if err != nil {
		l.log.Warn("ACK failed", "err", err)
	}
}

// reAck answers a repeated 200 for the INVITE the leg already ACKed.
func (l *sipLeg) reAck(res *sip.Response) {
	l.mu.Lock()
	cli := l.cli
	l.mu.Unlock()
	if cli != nil && cli.InviteResponse != nil && res.CSeq().SeqNo == cli.InviteRequest.CSeq().SeqNo {
		cli.Ack(context.Background())
	}
}

package pbx

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"callbox"
	"callbox/config"
	"callbox/media"
)

// dialTarget is one place an outbound leg's INVITE goes: a registered device, or a number
// through a trunk.
type dialTarget struct {
	uri       sip.Uri // Request-URI
	dest      string  // where to send it (a device's source address), "" to resolve the URI
	transport string
	trunk     string
	user      string // digest credentials a trunk may ask for
	password  string
	to        sip.Uri
}

// outbound is the INVITE side of a leg: one or more attempts, in parallel (a device per
// contact of an extension: first answer wins) or in sequence (trunks in failover order).
type outbound struct {
	l        *sipLeg
	from     callbox.Party
	ctx      context.Context
	cancel   context.CancelFunc
	offer    []byte
	mu       sync.Mutex
	won      bool
	rang     bool
	trunks   map[string]string // Call-ID of each attempt → its trunk
	progress bool
}

// DialOptions describe the caller an outbound leg presents.
type DialOptions struct {
	From callbox.Party // caller ID: number and name
	// Codec is the codec the other leg of the call uses; it is offered first so the bridge
	// need not transcode.
	Codec callbox.Codec
	// Timeout ends the attempt unanswered (0: the configured ring timeout).
	Timeout time.Duration
	// CallID names the call in logs.
	CallID string
}

// noResponseTimeout is how long an INVITE may go without any answer (not even 100 Trying)
// before its target counts as down.
const noResponseTimeout = 4 * time.Second

// ErrNotRegistered means the extension has no device registered.
var ErrNotRegistered = callbox.Errorf(callbox.EUNAVAILABLE, "the extension has no phone registered")

// DialExtension rings every device registered to an extension at once; the first to answer
// takes the call and the others are cancelled. The leg is returned at once, its progress
// comes as events.
func (p *PBX) DialExtension(ctx context.Context, number string, o DialOptions) (callbox.Leg, error) {
	cfg := p.cfg.Load()
	ext, ok := cfg.Extension(number)
	if !ok {
		return nil, callbox.Errorf(callbox.ENOTFOUND, "extension %s does not exist", number)
	}
	bindings := p.reg.contacts(number)
	if len(bindings) == 0 {
		return nil, ErrNotRegistered
	}
	var targets []dialTarget
	for _, b := range bindings {
		targets = append(targets, dialTarget{
			uri: b.uri, dest: b.Source.String(), transport: b.Transport,
			to: sip.Uri{Scheme: "sip", User: number, Host: p.advertise.String()},
		})
	}
	l, err := p.newOutboundLeg(callbox.LegPhone, targets[0].transport, o, callbox.Party{Number: ext.Number, Name: ext.Name})
	if err != nil {
		return nil, err
	}
	p.wg.Go(func() { l.out.parallel(targets, o.Timeout) })
	return l, nil
}

// DialNumber calls a number outside the box through the first route whose prefix matches,
// trying its trunks in order until one carries the call.
func (p *PBX) DialNumber(ctx context.Context, number string, o DialOptions) (callbox.Leg, error) {
	cfg := p.cfg.Load()
	route, ok := matchRoute(cfg, number)
	if !ok {
		return nil, callbox.Errorf(callbox.ENOTFOUND, "no route for %s", number)
	}
	dialled := route.Add + number[min(route.Strip, len(number)):]
	from := o.From
	if route.CallerID != "" {
		from.Number = route.CallerID
	}
	o.From = from
	var targets []dialTarget
	for _, name := range route.Trunks {
		tr, ok := cfg.Trunk(name)
		if !ok || tr.Server == "" {
			continue
		}
		host, port := serverAddr(tr.Server)
		user := tr.AuthUser
		if user == "" {
			user = tr.Username
		}
		targets = append(targets, dialTarget{
			uri: sip.Uri{Scheme: "sip", User: dialled, Host: host, Port: port}, transport: tr.Transport, trunk: tr.Name,
			user: user, password: tr.Password.Value(), to: sip.Uri{Scheme: "sip", User: dialled, Host: host},
		})
	}
	if len(targets) == 0 {
		return nil, callbox.Errorf(callbox.EUNAVAILABLE, "route %s has no trunk with a server to call through", route.Name)
	}
	l, err := p.newOutboundLeg(callbox.LegTrunk, targets[0].transport, o, callbox.Party{Number: dialled})
	if err != nil {
		return nil, err
	}
	l.trunk = targets[0].trunk
	p.wg.Go(func() { l.out.sequential(targets, o.Timeout) })
	return l, nil
}

// matchRoute finds the route with the longest prefix that matches number.
func matchRoute(cfg *config.Config, number string) (config.Route, bool) {
	best, found := config.Route{}, false
	for _, r := range cfg.Routes {
		if strings.HasPrefix(number, r.Prefix) && (!found || len(r.Prefix) > len(best.Prefix)) {
			best, found = r, true
		}
	}
	return best, found
}

// CanDialOut tells whether a number would go out through a route.
func (p *PBX) CanDialOut(number string) bool {
	_, ok := matchRoute(p.cfg.Load(), number)
	return ok
}

func (p *PBX) newOutboundLeg(kind callbox.LegKind, transport string, o DialOptions, remote callbox.Party) (*sipLeg, error) {
	var l *sipLeg
	ep, err := media.NewEndpoint(media.EndpointOptions{Ports: p.ports, Log: p.log, OnDTMF: func(d rune) {
		l.emit(callbox.LegEvent{Kind: callbox.LegDTMF, Digit: d})
	}})
	if err != nil {
		return nil, err
	}
	l = p.newLeg(kind, false, p.side(transport), ep)
	l.remote, l.local = remote, o.From
	if o.CallID != "" {
		l.log = l.log.With("call_id", o.CallID)
	}
	codec := o.Codec
	if codec == callbox.CodecNone || codec == callbox.L16 {
		codec = callbox.PCMU
	}
	// Until an answer says otherwise the leg sends nothing: SendRecv with no remote address.
	ep.SetParams(media.Params{Codec: codec, PT: payloadOf(codec), EventPT: dtmfPT})
	ep.Start()
	ctx, cancel := context.WithCancel(p.ctx)
	l.out = &outbound{l: l, from: o.From, ctx: ctx, cancel: cancel, trunks: map[string]string{}}
	l.out.offer = l.sdp.offer([]callbox.Codec{codec, other(codec)}, media.SendRecv)
	return l, nil
}

func payloadOf(c callbox.Codec) uint8 {
	if c == callbox.PCMA {
		return media.PayloadPCMA
	}
	return media.PayloadPCMU
}

func (o *outbound) cancelAll() { o.cancel() }

func (o *outbound) timeout(t time.Duration) time.Duration {
	if t <= 0 {
		t = o.l.p.cfg.Load().Calls.RingTimeout
	}
	return t
}

// parallel rings every target at once; the first answer wins.
func (o *outbound) parallel(targets []dialTarget, ringTimeout time.Duration) {
	ctx, cancel := context.WithTimeout(o.ctx, o.timeout(ringTimeout))
	defer cancel()
	results := make(chan attemptResult, len(targets))
	var wg sync.WaitGroup
	for _, t := range targets {
		wg.Go(func() { results <- o.attempt(ctx, t, cancel) })
	}
	wg.Wait()
	close(results)
	best := attemptResult{cause: callbox.CauseNoAnswer}
	for r := range results {
		if r.won {
			return
		}
		best = betterFailure(best, r)
	}
	if ctx.Err() == context.DeadlineExceeded && o.ctx.Err() == nil {
		best.cause = callbox.CauseNoAnswer
	}
	o.l.end(best.cause, true)
}

// sequential tries targets one after the other, moving on only when a trunk fails (not when
// the called number is busy or does not exist).
func (o *outbound) sequential(targets []dialTarget, ringTimeout time.Duration) {
	var last attemptResult
	for i, t := range targets {
		ctx, cancel := context.WithTimeout(o.ctx, o.timeout(ringTimeout))
		last = o.attempt(ctx, t, cancel)
		cancel()
		if last.won {
			return
		}
		if o.ctx.Err() != nil || !last.trunkFault {
			break
		}
		if i+1 < len(targets) {
			o.l.log.Warn("trunk failed; trying the next one", "trunk", t.trunk, "code", last.code, "next", targets[i+1].trunk)
		}
	}
	o.l.end(last.cause, true)
}

type attemptResult struct {
	won        bool
	code       int
	cause      callbox.Cause
	trunkFault bool // the trunk, not the called party, failed: another trunk may do better
}

// betterFailure picks the cause to report from forked attempts (RFC 3261 16.7 in spirit: a
// busy device says more than one that did not answer).
func betterFailure(a, b attemptResult) attemptResult {
	rank := map[callbox.Cause]int{callbox.CauseRejected: 5, callbox.CauseBusy: 4, callbox.CauseNoAnswer: 3, callbox.CauseNotFound: 2, callbox.CauseUnavailable: 1}
	if rank[b.cause] > rank[a.cause] {
		return b
	}
	return a
}

// attempt sends one INVITE and follows it to its end: answered (and the leg won), failed, or
// cancelled (a 200 that crosses the CANCEL is ACKed and then BYEd).
func (o *outbound) attempt(ctx context.Context, t dialTarget, stopOthers context.CancelFunc) attemptResult {
	l := o.l
	side := l.p.side(t.transport)
	req := sip.NewRequest(sip.INVITE, t.uri)
	req.SetTransport(strings.ToUpper(t.transport))
	if t.dest != "" {
		req.SetDestination(t.dest)
	}
	fromHost := l.p.advertise.String()
	req.AppendHeader(&sip.FromHeader{DisplayName: headerSafe(o.from.Name),
		Address: sip.Uri{Scheme: "sip", User: headerSafe(o.from.Number), Host: fromHost},
		Params:  sip.HeaderParams{{K: "tag", V: sip.GenerateTagN(16)}}})
	req.AppendHeader(&sip.ToHeader{Address: t.to})
	req.AppendHeader(sip.HeaderClone(&side.contact))
	req.AppendHeader(sip.NewHeader("Content-Type", "application/sdp"))
	req.AppendHeader(sip.NewHeader("Allow", allowMethods))
	req.SetBody(o.offer)

	// A trunk that does not even say 100 Trying within a few seconds is down: the attempt ends
	// so the next trunk can carry the call (a device that rings but does not answer is not
	// down, and rings until the ring timeout).
	ctx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	var heard atomic.Bool
	silent := time.AfterFunc(noResponseTimeout, func() {
		if !heard.Load() {
			// Nothing to CANCEL: nobody answered. sipgo then gives up at once instead of
			// waiting out the transaction.
			stop(sipgo.WaitAnswerForceCancelErr)
		}
	})
	defer silent.Stop()

	sess, err := side.dialog.WriteInvite(ctx, req)
	if err != nil {
		l.log.Info("INVITE could not be sent", "target", t.uri.String(), "err", err)
		return attemptResult{cause: callbox.CauseUnavailable, trunkFault: true}
	}
	callID := sess.InviteRequest.CallID().Value()
	l.addCallID(callID)
	o.mu.Lock()
	o.trunks[callID] = t.trunk
	o.mu.Unlock()
	err = sess.WaitAnswer(ctx, sipgo.AnswerOptions{
		Username: t.user, Password: t.password,
		OnResponse: func(res *sip.Response) error { heard.Store(true); o.provisional(res); return nil },
	})
	if err == nil {
		if o.win(sess) {
			stopOthers()
			return attemptResult{won: true}
		}
		// Another device answered first: this one is told goodbye.
		o.ackAndBye(sess)
		return attemptResult{cause: callbox.CauseCancelled}
	}
	if sess.InviteResponse != nil && sess.InviteResponse.IsSuccess() {
		// Our CANCEL crossed the device's 200.
		o.ackAndBye(sess)
		return attemptResult{cause: callbox.CauseCancelled}
	}
	var dr *sipgo.ErrDialogResponse
	if errors.As(err, &dr) {
		code := dr.Res.StatusCode
		fault := code >= 500 && code != 600 && code != 603 || code == 408 || code == 401 || code == 403 || code == 407
		return attemptResult{code: code, cause: causeFor(code), trunkFault: fault}
	}
	if !heard.Load() && o.ctx.Err() == nil {
		l.log.Warn("no answer at all to INVITE", "target", t.uri.String(), "trunk", t.trunk)
		return attemptResult{cause: callbox.CauseUnavailable, trunkFault: true}
	}
	if ctx.Err() != nil {
		return attemptResult{cause: callbox.CauseNoAnswer}
	}
	l.log.Info("INVITE failed", "target", t.uri.String(), "err", err)
	return attemptResult{cause: callbox.CauseUnavailable, trunkFault: true}
}

// provisional turns 180 and 183 into ringing and early-media events (once each).
func (o *outbound) provisional(res *sip.Response) {
	if !res.IsProvisional() || res.StatusCode == 100 {
		return
	}
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.won {
		return
	}
	if len(res.Body()) > 0 && !o.progress {
		if rm, err := parseSDP(res.Body()); err == nil {
			o.progress = true
			o.l.ep.SetParams(answerParams(rm, o.l.ep.Codec()))
			o.l.mu.Lock()
			o.l.state = stateEarly
			o.l.mu.Unlock()
			o.l.emit(callbox.LegEvent{Kind: callbox.LegProgress})
			return
		}
	}
	if !o.rang {
		o.rang = true
		o.l.emit(callbox.LegEvent{Kind: callbox.LegRinging})
	}
}

// win makes sess the leg's dialog if no other attempt answered first.
func (o *outbound) win(sess *sipgo.DialogClientSession) bool {
	o.mu.Lock()
	if o.won || o.l.getState() == stateEnded {
		o.mu.Unlock()
		return false
	}
	o.won = true
	o.mu.Unlock()
	l := o.l
	rm, err := parseSDP(sess.InviteResponse.Body())
	if err := sess.Ack(context.Background()); err != nil {
		l.log.Warn("ACK failed", "err", err)
	}
	l.mu.Lock()
	l.cli = sess
	if t := sess.InviteRequest; t != nil {
		l.trunk = o.trunkOf(sess)
	}
	l.state = stateAnswered
	l.answered = l.p.now()
	l.mu.Unlock()
	if err != nil {
		// An answer the box cannot use: end the call rather than bridge silence.
		l.log.Warn("the answer's SDP is unusable; hanging up", "err", err)
		l.p.wg.Go(func() { l.Hangup(context.Background(), callbox.CauseFailed) })
		return true
	}
	l.ep.SetParams(answerParams(rm, l.ep.Codec()))
	l.emit(callbox.LegEvent{Kind: callbox.LegAnswered})
	return true
}

// trunkOf names the trunk an attempt went through.
func (o *outbound) trunkOf(sess *sipgo.DialogClientSession) string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.trunks[sess.InviteRequest.CallID().Value()]
}

func (o *outbound) ackAndBye(sess *sipgo.DialogClientSession) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := sess.Ack(ctx); err != nil {
		return
	}
	if err := sess.Bye(ctx); err != nil {
		o.l.log.Debug("BYE to a losing device failed", "err", fmt.Sprint(err))
	}
}

// Ring does nothing on an outbound leg: its ringing is the far end's.
// Answer likewise: an outbound leg answers itself (LegAnswered).

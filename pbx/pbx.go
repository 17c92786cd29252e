package pbx

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"
	"github.com/prometheus/client_golang/prometheus"

	"callbox"
	"callbox/config"
	"callbox/media"
)

// CallHandler takes the calls the PBX accepts. HandleCall must not block: the handler owns the
// leg from then on and runs the call in a goroutine of its own.
type CallHandler interface {
	HandleCall(leg callbox.Leg, in Incoming)
}

// Incoming describes a new call as signalling saw it.
type Incoming struct {
	CallID    string        // the SIP Call-ID, for logs
	From      callbox.Party // the caller as presented
	To        string        // the number dialled (the Request-URI's user part)
	Trunk     string        // the trunk it came from; "" when a phone placed it
	Extension string        // the authenticated extension that placed it; "" from a trunk
}

// Options are what a PBX is built from.
type Options struct {
	Config   *config.Config
	Log      *slog.Logger
	Registry prometheus.Registerer
	Calls    CallHandler
	Now      func() time.Time
}

// PBX is the box's SIP side: it listens, registers phones, keeps trunks up, screens every
// request, and turns each call party into a Leg.
type PBX struct {
	log     *slog.Logger
	now     func() time.Time
	cfg     atomic.Pointer[config.Config]
	calls   CallHandler
	metrics *metrics

	ua        *sipgo.UserAgent
	srv       *sipgo.Server
	udp, tcp  *transportSide // nil when not configured
	listeners []boundListener
	advertise netip.Addr // the address in Contact headers and SDP
	ports     *media.Ports

	guard  *guard
	auth   *digestAuth
	reg    *registrar
	trunks *trunks

	mu      sync.Mutex
	dialogs map[string]*sipLeg // Call-ID → leg, for in-dialog requests
	legSeq  atomic.Uint64

	draining atomic.Bool
	wg       sync.WaitGroup // every goroutine the PBX starts
	ctx      context.Context
}

// transportSide is what the PBX needs to originate requests on one transport.
type transportSide struct {
	client  *sipgo.Client
	dialog  *sipgo.DialogUA
	contact sip.ContactHeader
	port    int
	name    string
}

type boundListener struct {
	transport string
	addr      netip.AddrPort
	packet    net.PacketConn
	stream    net.Listener
}

func (l boundListener) String() string { return l.transport + "://" + l.addr.String() }

// New builds the PBX and binds its listening sockets, so an address already in use fails
// the start.
func New(o Options) (*PBX, error) {
	cfg := o.Config
	if o.Now == nil {
		o.Now = time.Now
	}
	p := &PBX{log: o.Log, now: o.Now, calls: o.Calls, metrics: newMetrics(o.Registry), dialogs: map[string]*sipLeg{}, ctx: context.Background()}
	p.cfg.Store(cfg)
	p.guard = newGuard(cfg.SIP.Security, o.Log, p.metrics, o.Now)
	p.auth = newDigestAuth(cfg.Box.Name, 5*time.Minute, o.Now)

	for _, l := range cfg.SIP.Listeners {
		b := boundListener{transport: l.Transport}
		var err error
		switch l.Transport {
		case "udp":
			b.packet, err = net.ListenPacket("udp", l.Addr.String())
			if err == nil {
				b.addr = b.packet.LocalAddr().(*net.UDPAddr).AddrPort()
			}
		case "tcp":
			b.stream, err = net.Listen("tcp", l.Addr.String())
			if err == nil {
				b.addr = b.stream.Addr().(*net.TCPAddr).AddrPort()
			}
		}
		if err != nil {
			p.closeListeners()
			return nil, fmt.Errorf("sip listen %s: %w", l, err)
		}
		p.listeners = append(p.listeners, b)
	}
	p.advertise = advertisedAddr(cfg, p.listeners)
	rtpAddr := cfg.RTP.Bind
	p.ports = media.NewPorts(rtpAddr, cfg.RTP.PortMin, cfg.RTP.PortMax)

	sipLog := o.Log.With("subsystem", "sipgo")
	ua, err := sipgo.NewUA(
		sipgo.WithUserAgent(cfg.SIP.UserAgent),
		sipgo.WithUserAgentHostname(p.advertise.String()),
		sipgo.WithUserAgentTransportLayerOptions(
			sip.WithTransportLayerLogger(quietLogger(sipLog)),
			sip.WithTransportLayerReadFilter(p.readFilter),
		),
		sipgo.WithUserAgentTransactionLayerOptions(
			sip.WithTransactionLayerLogger(quietLogger(sipLog)),
			sip.WithTransactionLayerUnhandledResponseHandler(p.unhandledResponse),
			// A phone's TCP connection that closes ends its transactions at once, instead of
			// leaving them to time out.
			sip.WithTransactionLayerTerminateOnConnClose(),
		),
	)
	if err != nil {
		p.closeListeners()
		return nil, fmt.Errorf("sip user agent: %w", err)
	}
	p.ua = ua
	p.srv, err = sipgo.NewServer(ua, sipgo.WithServerLogger(quietLogger(sipLog)))
	if err != nil {
		p.closeListeners()
		return nil, fmt.Errorf("sip server: %w", err)
	}
	for _, l := range p.listeners {
		side, err := p.newTransportSide(l, sipLog)
		if err != nil {
			p.closeListeners()
			return nil, err
		}
		switch {
		case l.transport == "udp" && p.udp == nil:
			p.udp = side
		case l.transport == "tcp" && p.tcp == nil:
			p.tcp = side
		}
	}
	p.reg = newRegistrar(p)
	p.trunks = newTrunks(p)
	p.routes()
	return p, nil
}

func (p *PBX) newTransportSide(l boundListener, log *slog.Logger) (*transportSide, error) {
	opts := []sipgo.ClientOption{
		sipgo.WithClientLogger(quietLogger(log)),
		sipgo.WithClientHostname(p.advertise.String()),
		sipgo.WithClientPort(int(l.addr.Port())),
	}
	if l.transport == "udp" {
		// Requests leave from the listening socket, so peers (and NATs) see one address.
		opts = append(opts, sipgo.WithClientConnectionAddr(l.addr.String()))
	}
	c, err := sipgo.NewClient(p.ua, opts...)
	if err != nil {
		return nil, fmt.Errorf("sip client: %w", err)
	}
	contact := sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: "callbox", Host: p.advertise.String(), Port: int(l.addr.Port())}}
	if l.transport == "tcp" {
		contact.Address.UriParams = sip.HeaderParams{{K: "transport", V: "tcp"}}
	}
	return &transportSide{
		client: c, contact: contact, port: int(l.addr.Port()), name: l.transport,
		dialog: &sipgo.DialogUA{Client: c, ContactHDR: contact, RewriteContact: true},
	}, nil
}

// advertisedAddr is the address peers should reach the box at.
func advertisedAddr(cfg *config.Config, ls []boundListener) netip.Addr {
	if cfg.SIP.External.IsValid() {
		return cfg.SIP.External
	}
	for _, l := range ls {
		if !l.addr.Addr().IsUnspecified() {
			return l.addr.Addr().Unmap()
		}
	}
	// Listening on every interface: the address the kernel would use to reach the world.
	if c, err := net.Dial("udp", "192.0.2.1:9"); err == nil {
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).AddrPort().Addr().Unmap()
	}
	return netip.MustParseAddr("127.0.0.1")
}

func (p *PBX) closeListeners() {
	for _, l := range p.listeners {
		if l.packet != nil {
			l.packet.Close()
		}
		if l.stream != nil {
			l.stream.Close()
		}
	}
}

// Listeners are the addresses the PBX listens on, as transport://ip:port.
func (p *PBX) Listeners() []string {
	out := make([]string, len(p.listeners))
	for i, l := range p.listeners {
		out[i] = l.String()
	}
	return out
}

// Ports is the RTP port allocator (for status).
func (p *PBX) Ports() *media.Ports { return p.ports }

// Run serves SIP until ctx ends, then ends every leg still up and stops.
func (p *PBX) Run(ctx context.Context) error {
	p.ctx = ctx
	errc := make(chan error, len(p.listeners))
	for _, l := range p.listeners {
		p.wg.Go(func() {
			var err error
			if l.packet != nil {
				err = p.srv.ServeUDP(l.packet)
			} else {
				err = p.srv.ServeTCP(l.stream)
			}
			if err != nil && !errors.Is(err, net.ErrClosed) && ctx.Err() == nil {
				errc <- fmt.Errorf("sip serve %s: %w", l, err)
			}
		})
	}
	p.wg.Go(func() { p.reg.run(ctx) })
	p.wg.Go(func() { p.trunks.run(ctx) })
	p.wg.Go(func() { p.watchMedia(ctx) })
	p.wg.Go(func() {
		t := time.NewTicker(time.Minute)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.guard.prune()
			}
		}
	})
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	p.hangupAll()
	p.closeListeners()
	p.ua.Close()
	p.wg.Wait()
	return err
}

// Drain refuses new calls (503) from now on; calls in progress go on.
func (p *PBX) Drain() { p.draining.Store(true) }

// hangupAll ends every leg still up (the switchboard has normally done so already).
func (p *PBX) hangupAll() {
	p.mu.Lock()
	legs := make([]*sipLeg, 0, len(p.dialogs))
	for _, l := range p.dialogs {
		legs = append(legs, l)
	}
	p.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var wg sync.WaitGroup
	for _, l := range legs {
		wg.Go(func() { l.Hangup(ctx, callbox.CauseShutdown) })
	}
	wg.Wait()
}

// Reload applies a new configuration: extensions, trunks, security settings.
func (p *PBX) Reload(cfg *config.Config) {
	p.cfg.Store(cfg)
	p.guard.setConfig(cfg.SIP.Security)
	p.trunks.reload(cfg)
}

// Bans lists the addresses banned now.
func (p *PBX) Bans() []Ban { return p.guard.list() }

// Unban lifts the ban on an address.
func (p *PBX) Unban(a netip.Addr) bool { return p.guard.unban(a) }

func (p *PBX) register(l *sipLeg, callID string) {
	p.mu.Lock()
	p.dialogs[callID] = l
	p.mu.Unlock()
}

func (p *PBX) unregister(callID string) {
	p.mu.Lock()
	delete(p.dialogs, callID)
	p.mu.Unlock()
}

func (p *PBX) dialog(req *sip.Request) *sipLeg {
	if req.CallID() == nil {
		return nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.dialogs[req.CallID().Value()]
}

// ActiveLegs is how many SIP legs are up.
func (p *PBX) ActiveLegs() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.dialogs)
}

func (p *PBX) side(transport string) *transportSide {
	if strings.EqualFold(transport, "tcp") && p.tcp != nil {
		return p.tcp
	}
	if p.udp != nil {
		return p.udp
	}
	return p.tcp
}

func (p *PBX) newLegID() string { return "L" + strconv.FormatUint(p.legSeq.Add(1), 36) }

// sourceAddr is where a request came from.
func sourceAddr(req *sip.Request) netip.AddrPort {
	ap, err := netip.ParseAddrPort(req.Source())
	if err != nil {
		return netip.AddrPort{}
	}
	return netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
}

// readFilter drops packets from banned addresses before they are parsed.
func (p *PBX) readFilter(props sip.TransportReadProps, data []byte) ([]byte, error) {
	var a netip.Addr
	switch ra := props.RemoteAddr.(type) {
	case *net.UDPAddr:
		a = ra.AddrPort().Addr().Unmap()
	case *net.TCPAddr:
		a = ra.AddrPort().Addr().Unmap()
	}
	if a.IsValid() && p.guard.banned(a) {
		p.metrics.dropped.WithLabelValues("banned").Inc()
		return nil, nil
	}
	return data, nil
}

// unhandledResponse re-ACKs a 200 to one of our INVITEs that arrives after its transaction
// ended (the peer did not see our ACK).
func (p *PBX) unhandledResponse(res *sip.Response) {
	if res.CSeq() == nil || res.CSeq().MethodName != sip.INVITE || !res.IsSuccess() || res.CallID() == nil {
		return
	}
	p.mu.Lock()
	l := p.dialogs[res.CallID().Value()]
	p.mu.Unlock()
	if l != nil {
		l.reAck(res)
	}
}

// handler wraps a request handler with the screening every request gets.
type handler func(req *sip.Request, tx sip.ServerTransaction)

func (p *PBX) screen(h handler) sipgo.RequestHandler {
	return func(req *sip.Request, tx sip.ServerTransaction) {
		if ua := req.GetHeader("User-Agent"); ua != nil && p.guard.scanner(ua.Value()) {
			// No answer at all: a scanner learns nothing, not even that a PBX is here.
			p.metrics.dropped.WithLabelValues("scanner").Inc()
			return
		}
		if req.Method == sip.REGISTER || (req.Method == sip.INVITE && !inDialog(req)) {
			if src := sourceAddr(req); src.IsValid() && !p.guard.allowRequest(src.Addr()) {
				p.metrics.dropped.WithLabelValues("rate").Inc()
				res := sip.NewResponseFromRequest(req, sip.StatusServiceUnavailable, "Rate limited", nil)
				res.AppendHeader(sip.NewHeader("Retry-After", "5"))
				tx.Respond(res)
				return
			}
		}
		h(req, tx)
	}
}

func inDialog(req *sip.Request) bool {
	to := req.To()
	if to == nil {
		return false
	}
	_, ok := to.Params.Get("tag")
	return ok
}

func (p *PBX) routes() {
	p.srv.OnRegister(p.screen(p.reg.handleRegister))
	p.srv.OnInvite(p.screen(p.handleInvite))
	p.srv.OnAck(p.handleInDialog)
	p.srv.OnBye(p.screen(p.handleInDialog))
	p.srv.OnInfo(p.screen(p.handleInDialog))
	p.srv.OnRefer(p.screen(p.handleInDialog))
	p.srv.OnNotify(p.screen(p.handleInDialog))
	p.srv.OnUpdate(p.screen(p.handleInDialog))
	p.srv.OnCancel(func(req *sip.Request, tx sip.ServerTransaction) {
		// A CANCEL that matched an INVITE was answered by the transaction layer already.
		respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
	})
	p.srv.OnOptions(p.screen(p.handleOptions))
	p.srv.OnSubscribe(p.screen(func(req *sip.Request, tx sip.ServerTransaction) {
		// Phones subscribe to voicemail and presence; the box offers neither yet.
		respond(tx, req, 489, "Bad Event")
	}))
}

func respond(tx sip.ServerTransaction, req *sip.Request, code int, reason string, headers ...sip.Header) {
	res := sip.NewResponseFromRequest(req, code, reason, nil)
	for _, h := range headers {
		res.AppendHeader(h)
	}
	tx.Respond(res)
}

const allowMethods = "INVITE, ACK, CANCEL, BYE, OPTIONS, INFO, REFER, NOTIFY, UPDATE"

func (p *PBX) handleOptions(req *sip.Request, tx sip.ServerTransaction) {
	res := sip.NewResponseFromRequest(req, sip.StatusOK, "OK", nil)
	res.AppendHeader(sip.NewHeader("Allow", allowMethods))
	res.AppendHeader(sip.NewHeader("Accept", "application/sdp"))
	tx.Respond(res)
}

// handleInDialog routes a request inside a dialog to its leg.
func (p *PBX) handleInDialog(req *sip.Request, tx sip.ServerTransaction) {
	l := p.dialog(req)
	if l == nil {
		if req.Method != sip.ACK {
			respond(tx, req, sip.StatusCallTransactionDoesNotExists, "Call/Transaction Does Not Exist")
		}
		return
	}
	l.inDialog(req, tx)
}

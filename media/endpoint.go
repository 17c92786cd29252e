package media

import (
	"encoding/binary"
	"errors"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtp"

	"callbox"
	"callbox/media/g711"
)

// Static RTP payload types of G.711 (RFC 3551).
const (
	PayloadPCMU uint8 = 0
	PayloadPCMA uint8 = 8
)

// Direction is an SDP media direction as the box applies it to its own sending: the box sends
// only when the party wants to receive.
type Direction uint8

const (
	SendRecv Direction = iota
	SendOnly           // the box sends, the party does not (the party is on hold music)
	RecvOnly           // the party sends, the box must not (the party put the call on hold)
	Inactive
)

func (d Direction) String() string {
	return [...]string{"sendrecv", "sendonly", "recvonly", "inactive"}[d]
}

// boxSends tells whether the box may send in this direction.
func (d Direction) boxSends() bool { return d == SendRecv || d == SendOnly }

// Params are what SDP negotiation decided for a leg's media.
type Params struct {
	Remote    netip.AddrPort // where the party said to send (until latched to where it sends from)
	Codec     callbox.Codec
	PT        uint8 // payload type of Codec
	EventPT   uint8 // payload type of telephone-event, 0 when not negotiated
	Direction Direction
	Ptime     time.Duration
}

// Endpoint is one leg's media: a UDP socket of its own, the negotiated codec, symmetric RTP
// (it latches to where the party's packets really come from), and an outgoing stream whose
// SSRC, sequence numbers and timestamps stay continuous whatever feeds it.
//
// Its receive goroutine delivers each packet as a callbox.Frame to the current sink with no
// jitter buffer: relaying between two legs forwards packets as they come.
type Endpoint struct {
	conn   *net.UDPConn
	local  netip.AddrPort
	ports  *Ports
	log    *slog.Logger
	stats  *Stats
	salt   uint32
	params atomic.Pointer[Params]
	sink   atomic.Pointer[sinkHolder]
	onDTMF func(digit rune) // called on the receive goroutine at the end of an RFC 4733 event

	latched  atomic.Pointer[netip.AddrPort]
	lastRecv atomic.Int64 // Unix nanoseconds of the last packet received

	send sendState

	closeOnce sync.Once
	done      chan struct{}
}

type sinkHolder struct{ s callbox.FrameSink }

// sendState is the outgoing stream, rewritten per source.
type sendState struct {
	mu         sync.Mutex
	ssrc       uint32
	seq        uint16
	ts         uint32
	started    bool
	lastSource uint32
	seqOffset  uint16
	tsOffset   uint32
	lastSend   time.Time
	hdr        rtp.Header
	buf        []byte // the packet: made on the first frame, as large as the largest sent (172 bytes for 20 ms of G.711), not a whole MTU per leg
	tc         []byte // made on the first frame that needs converting: most calls never do
}

// EndpointOptions configure NewEndpoint.
type EndpointOptions struct {
	Ports *Ports
	Log   *slog.Logger
	Stats *Stats
	// OnDTMF is told each RFC 4733 digit the party sends, once per digit.
	OnDTMF func(digit rune)
}

// NewEndpoint binds a socket from the port range. Start begins receiving.
func NewEndpoint(o EndpointOptions) (*Endpoint, error) {
	conn, err := o.Ports.Listen()
	if err != nil {
		return nil, err
	}
	e := &Endpoint{
		conn: conn, local: conn.LocalAddr().(*net.UDPAddr).AddrPort(), ports: o.Ports, log: o.Log,
		stats: o.Stats, salt: rand.Uint32(), onDTMF: o.OnDTMF, done: make(chan struct{}),
	}
	if e.stats == nil {
		e.stats = &Stats{}
	}
	e.send.ssrc = rand.Uint32()
	e.send.seq = uint16(rand.Uint32())
	e.send.ts = rand.Uint32()
	e.lastRecv.Store(time.Now().UnixNano())
	return e, nil
}

// Local is the address the endpoint receives on (for SDP).
func (e *Endpoint) Local() netip.AddrPort { return e.local }

// SetParams applies a negotiation result (initial or re-INVITE).
func (e *Endpoint) SetParams(p Params) {
	if p.Ptime == 0 {
		p.Ptime = 20 * time.Millisecond
	}
	old := e.params.Swap(&p)
	// A new remote address from the party's SDP (a re-INVITE moving media) drops the latch.
	if old != nil && old.Remote != p.Remote {
		e.latched.Store(nil)
	}
}

// Params returns the current negotiation result.
func (e *Endpoint) Params() Params {
	if p := e.params.Load(); p != nil {
		return *p
	}
	return Params{}
}

// Codec implements callbox.Media.
func (e *Endpoint) Codec() callbox.Codec { return e.Params().Codec }

// SetSink implements callbox.Media.
func (e *Endpoint) SetSink(s callbox.FrameSink) {
	if s == nil {
		e.sink.Store(nil)
		return
	}
	e.sink.Store(&sinkHolder{s})
}

// LastReceived is when the last RTP packet arrived (or when the endpoint was made).
func (e *Endpoint) LastReceived() time.Time { return time.Unix(0, e.lastRecv.Load()) }

// Stats returns the endpoint's counters.
func (e *Endpoint) Stats() *Stats { return e.stats }

// Start runs the receive goroutine until Close.
func (e *Endpoint) Start() {
	go e.receive()
}

// Close stops receiving and releases the port. It waits for the receive goroutine.
func (e *Endpoint) Close() {
	e.closeOnce.Do(func() {
		e.conn.Close()
		<-e.done
		e.ports.Release(int(e.local.Port()))
	})
}

// Discard releases an endpoint that was never started (a call refused before media).
func (e *Endpoint) Discard() {
	e.closeOnce.Do(func() {
		e.conn.Close()
		e.ports.Release(int(e.local.Port()))
	})
}

// destination is where packets go: the latched source, else the SDP address.
func (e *Endpoint) destination(p *Params) netip.AddrPort {
	if l := e.latched.Load(); l != nil {
		return *l
	}
	return p.Remote
}

func (e *Endpoint) receive() {
	defer close(e.done)
	buf := make([]byte, 1500)
	var hdr rtp.Header
	var frame callbox.Frame
	var rs receiveState
	for {
		n, from, err := e.conn.ReadFromUDPAddrPort(buf)
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			continue
		}
		p := e.params.Load()
		if p == nil || n < 12 {
			continue
		}
		hlen, err := hdr.Unmarshal(buf[:n])
		if err != nil || hdr.Version != 2 {
			e.stats.Malformed.Add(1)
			continue
		}
		payload := buf[hlen:n]
		if hdr.Padding && len(payload) > 0 {
			pad := int(payload[len(payload)-1])
			if pad > len(payload) {
				e.stats.Malformed.Add(1)
				continue
			}
			payload = payload[:len(payload)-pad]
		}
		if !e.latch(from, &rs, hdr.SSRC) {
			continue
		}
		now := time.Now()
		e.lastRecv.Store(now.UnixNano())
		rs.account(e.stats, &hdr, now)
		e.stats.PacketsIn.Add(1)
		e.stats.BytesIn.Add(uint64(n))

		frame = callbox.Frame{Payload: payload, Timestamp: hdr.Timestamp, Seq: hdr.SequenceNumber, Marker: hdr.Marker, Source: hdr.SSRC ^ e.salt}
		switch {
		case p.EventPT != 0 && hdr.PayloadType == p.EventPT:
			frame.Kind = callbox.FrameEvent
			e.dtmf(&rs, &hdr, payload)
		case hdr.PayloadType == PayloadPCMU:
			frame.Codec = callbox.PCMU
		case hdr.PayloadType == PayloadPCMA:
			frame.Codec = callbox.PCMA
		default:
			continue // comfort noise and anything not negotiated
		}
		if s := e.sink.Load(); s != nil {
			s.s.OnFrame(&frame)
		}
	}
}

// latch decides whether a packet from addr is taken. The first packets latch the endpoint to
// their source (symmetric RTP: phones behind NAT send from elsewhere than their SDP says);
// another source is taken only once the latched one has gone quiet, so a stray or spoofed
// packet cannot steal the stream.
func (e *Endpoint) latch(from netip.AddrPort, rs *receiveState, ssrc uint32) bool {
	from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
	cur := e.latched.Load()
	if cur != nil && *cur == from {
		return true
	}
	if cur != nil && time.Since(e.LastReceived()) < 2*time.Second {
		e.stats.Foreign.Add(1)
		return false
	}
	latched := from // a copy: storing &from would move every packet's address to the heap
	e.latched.Store(&latched)
	if cur != nil && e.log != nil {
		e.log.Info("rtp source moved", "from", cur.String(), "to", from.String(), "port", e.local.Port())
	}
	rs.reset()
	return true
}

// dtmf reports each RFC 4733 event once: at its first end packet, or when a new event starts
// without the previous one having ended (some peers drop end packets).
func (e *Endpoint) dtmf(rs *receiveState, hdr *rtp.Header, payload []byte) {
	if len(payload) < 4 || e.onDTMF == nil {
		return
	}
	event, end := payload[0], payload[1]&0x80 != 0
	if event > 15 {
		return
	}
	if !rs.eventSeen || hdr.Timestamp != rs.eventTS {
		if rs.eventSeen && !rs.eventDone {
			e.onDTMF(digitOf(rs.eventCode))
		}
		rs.eventSeen, rs.eventDone, rs.eventTS, rs.eventCode = true, false, hdr.Timestamp, event
	}
	if end && !rs.eventDone {
		rs.eventDone = true
		e.onDTMF(digitOf(event))
	}
}

func digitOf(event uint8) rune { return rune("0123456789*#ABCD"[event]) }

// EventCode is the RFC 4733 event code of a DTMF digit, -1 for anything else.
func EventCode(d rune) int {
	for i, c := range "0123456789*#ABCD" {
		if c == d {
			return i
		}
	}
	return -1
}

// WriteFrame implements callbox.Media: it sends a frame to the party with the endpoint's own
// SSRC, continuing sequence numbers and timestamps across changes of source, converting the
// codec when the frame's differs from the negotiated one.
func (e *Endpoint) WriteFrame(f *callbox.Frame) error {
	p := e.params.Load()
	if p == nil || !p.Direction.boxSends() {
		return nil
	}
	dst := e.destination(p)
	if !dst.IsValid() || dst.Port() == 0 {
		return nil
	}
	s := &e.send
	s.mu.Lock()
	defer s.mu.Unlock()

	payload := f.Payload
	pt := p.PT
	if f.Kind == callbox.FrameEvent {
		if p.EventPT == 0 {
			return nil // the party takes no RFC 4733: the digit is lost to it, not the call
		}
		pt = p.EventPT
	} else if f.Codec != p.Codec {
		payload = s.transcode(f, p.Codec)
		if payload == nil {
			return nil
		}
	}

	now := time.Now()
	marker := f.Marker
	if !s.started || f.Source != s.lastSource {
		// A new source: continue our stream where it stood, plus the time that passed.
		next := s.ts
		if s.started {
			elapsed := uint32(now.Sub(s.lastSend) / (time.Second / 8000))
			next += max(elapsed, 160)
		}
		s.tsOffset = next - f.Timestamp
		s.seqOffset = s.seq + 1 - f.Seq
		s.lastSource = f.Source
		s.started = true
		marker = true
	}
	seq := f.Seq + s.seqOffset
	ts := f.Timestamp + s.tsOffset
	// Only advance past newer packets, so a late one does not rewind the base for the next
	// change of source.
	if int16(seq-s.seq) > 0 {
		s.seq = seq
	}
	if int32(ts-s.ts) > 0 {
		s.ts = ts
	}
	s.lastSend = now

	s.hdr = rtp.Header{Version: 2, PayloadType: pt, SequenceNumber: seq, Timestamp: ts, SSRC: s.ssrc, Marker: marker}
	if need := s.hdr.MarshalSize() + len(payload); need > len(s.buf) {
		s.buf = make([]byte, need)
	}
	n, err := s.hdr.MarshalTo(s.buf)
	if err != nil {
		return err
	}
	n += copy(s.buf[n:], payload)
	if _, err := e.conn.WriteToUDPAddrPort(s.buf[:n], dst); err != nil {
		e.stats.SendErrors.Add(1)
		return nil // the network said no for this packet; the call goes on
	}
	e.stats.PacketsOut.Add(1)
	e.stats.BytesOut.Add(uint64(n))
	return nil
}

// transcode converts f's payload to codec into the send state's buffer.
func (s *sendState) transcode(f *callbox.Frame, to callbox.Codec) []byte {
	if s.tc == nil {
		s.tc = make([]byte, 1024)
	}
	src := f.Payload
	switch {
	case f.Codec == callbox.PCMU && to == callbox.PCMA:
		n := g711.UlawToAlaw(s.tc[:], src[:min(len(src), len(s.tc))])
		return s.tc[:n]
	case f.Codec == callbox.PCMA && to == callbox.PCMU:
		n := g711.AlawToUlaw(s.tc[:], src[:min(len(src), len(s.tc))])
		return s.tc[:n]
	case f.Codec == callbox.L16:
		n := min(len(src)/2, len(s.tc))
		for i := range n {
			v := int16(binary.LittleEndian.Uint16(src[2*i:]))
			if to == callbox.PCMA {
				s.tc[i] = g711.LinearToAlaw(v)
			} else {
				s.tc[i] = g711.LinearToUlaw(v)
			}
		}
		return s.tc[:n]
	}
	return nil
}

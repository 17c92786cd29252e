package media

import (
	"net"
	"net/netip"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"

	"callbox"
	"callbox/media/g711"
)

// phone is a UDP socket standing in for a party's RTP stack.
type phone struct {
	t    *testing.T
	conn *net.UDPConn
}

func newPhone(t *testing.T) *phone {
	c, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &phone{t: t, conn: c}
}

func (p *phone) addr() netip.AddrPort { return p.conn.LocalAddr().(*net.UDPAddr).AddrPort() }

func (p *phone) send(to netip.AddrPort, pkt *rtp.Packet) {
	b, err := pkt.Marshal()
	if err != nil {
		p.t.Fatal(err)
	}
	if _, err := p.conn.WriteToUDPAddrPort(b, to); err != nil {
		p.t.Fatal(err)
	}
}

func (p *phone) recv() *rtp.Packet {
	p.t.Helper()
	buf := make([]byte, 1500)
	p.conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, _, err := p.conn.ReadFromUDPAddrPort(buf)
	if err != nil {
		p.t.Fatalf("no packet: %v", err)
	}
	var pkt rtp.Packet
	if err := pkt.Unmarshal(buf[:n]); err != nil {
		p.t.Fatal(err)
	}
	return &pkt
}

func newTestEndpoint(t *testing.T, ports *Ports, remote netip.AddrPort, codec callbox.Codec, onDTMF func(rune)) *Endpoint {
	e, err := NewEndpoint(EndpointOptions{Ports: ports, OnDTMF: onDTMF})
	if err != nil {
		t.Fatal(err)
	}
	pt := PayloadPCMU
	if codec == callbox.PCMA {
		pt = PayloadPCMA
	}
	e.SetParams(Params{Remote: remote, Codec: codec, PT: pt, EventPT: 101})
	e.Start()
	t.Cleanup(e.Close)
	return e
}

func TestRelayRewritesAndTranscodes(t *testing.T) {
	ports := NewPorts(netip.MustParseAddr("127.0.0.1"), 31000, 31999)
	caller, agent := newPhone(t), newPhone(t)
	a := newTestEndpoint(t, ports, caller.addr(), callbox.PCMU, nil)
	b := newTestEndpoint(t, ports, agent.addr(), callbox.PCMA, nil)
	var tapped atomic.Int32
	done := make(chan struct{}, 10)
	Bridge(a, b, func(fromA bool, f *callbox.Frame) {
		if fromA {
			tapped.Add(1)
			done <- struct{}{}
		}
	})

	payload := make([]byte, 160)
	for i := range payload {
		payload[i] = g711.LinearToUlaw(int16(i * 50))
	}
	var first *rtp.Packet
	for i := range 3 {
		caller.send(a.Local(), &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: uint16(65534 + i), Timestamp: uint32(1000 + 160*i), SSRC: 0xabc}, Payload: payload})
		got := agent.recv()
		<-done
		if got.PayloadType != PayloadPCMA {
			t.Fatalf("payload type %d, want PCMA", got.PayloadType)
		}
		for j, v := range got.Payload {
			if want := g711.LinearToAlaw(g711.UlawToLinear(payload[j])); v != want {
				t.Fatalf("sample %d: %#x, want %#x", j, v, want)
			}
		}
		if first == nil {
			first = got
			if got.SSRC == 0xabc {
				t.Fatal("SSRC not rewritten")
			}
			continue
		}
		if got.SSRC != first.SSRC || got.SequenceNumber != first.SequenceNumber+uint16(i) || got.Timestamp != first.Timestamp+uint32(160*i) {
			t.Fatalf("packet %d: ssrc %x seq %d ts %d after ssrc %x seq %d ts %d", i, got.SSRC, got.SequenceNumber, got.Timestamp, first.SSRC, first.SequenceNumber, first.Timestamp)
		}
	}
	if n := tapped.Load(); n != 3 {
		t.Fatalf("tap saw %d frames", n)
	}
	if a.Stats().PacketsIn.Load() != 3 || b.Stats().PacketsOut.Load() != 3 || a.Stats().Lost() != 0 {
		t.Fatalf("stats: in %d out %d lost %d", a.Stats().PacketsIn.Load(), b.Stats().PacketsOut.Load(), a.Stats().Lost())
	}

	// A new source (another SSRC, far-away numbers) continues the agent's stream.
	caller.send(a.Local(), &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 7, Timestamp: 99999, SSRC: 0xdef}, Payload: payload})
	got := agent.recv()
	if got.SSRC != first.SSRC || got.SequenceNumber != first.SequenceNumber+3 || !got.Marker || int32(got.Timestamp-(first.Timestamp+320)) < 160 {
		t.Fatalf("after a change of source: ssrc %x seq %d ts %d marker %v", got.SSRC, got.SequenceNumber, got.Timestamp, got.Marker)
	}
}

func TestSymmetricLatchAndDTMF(t *testing.T) {
	ports := NewPorts(netip.MustParseAddr("127.0.0.1"), 32000, 32999)
	natted, other := newPhone(t), newPhone(t)
	digits := make(chan rune, 8)
	// The SDP names an address nobody sends from; the party really sends from natted.
	e := newTestEndpoint(t, ports, netip.MustParseAddrPort("127.0.0.1:9"), callbox.PCMU, func(d rune) { digits <- d })
	received := make(chan callbox.FrameKind, 16)
	e.SetSink(callbox.FrameSinkFunc(func(f *callbox.Frame) { received <- f.Kind }))

	natted.send(e.Local(), &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 1, Timestamp: 160, SSRC: 1}, Payload: make([]byte, 160)})
	<-received
	// Our answer goes back to where the party sends from.
	e.WriteFrame(&callbox.Frame{Codec: callbox.PCMU, Payload: make([]byte, 160), Seq: 1, Timestamp: 1, Source: 9})
	natted.recv()

	// A stranger's packets are not taken while the party is talking.
	other.send(e.Local(), &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 0, SequenceNumber: 50, Timestamp: 8000, SSRC: 66}, Payload: make([]byte, 160)})
	// RFC 4733 digit 5: start, middle, and three end packets with one timestamp.
	for i, flags := range []byte{0x00, 0x00, 0x80, 0x80, 0x80} {
		natted.send(e.Local(), &rtp.Packet{Header: rtp.Header{Version: 2, PayloadType: 101, SequenceNumber: uint16(2 + i), Timestamp: 320, SSRC: 1, Marker: i == 0}, Payload: []byte{5, flags | 10, 0, byte(160 * (i + 1))}})
	}
	for range 5 {
		if k := <-received; k != callbox.FrameEvent {
			t.Fatalf("frame kind %v, want an event", k)
		}
	}
	if d := <-digits; d != '5' {
		t.Fatalf("digit %q", d)
	}
	select {
	case d := <-digits:
		t.Fatalf("digit %q reported twice", d)
	default:
	}
	if e.Stats().Foreign.Load() != 1 {
		t.Fatalf("foreign packets: %d", e.Stats().Foreign.Load())
	}
}

func TestPortsRunOut(t *testing.T) {
	ports := NewPorts(netip.MustParseAddr("127.0.0.1"), 33000, 33003)
	a, err := ports.Listen()
	if err != nil {
		t.Fatal(err)
	}
	b, err := ports.Listen()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ports.Listen(); err != ErrNoPorts {
		t.Fatalf("third port: %v", err)
	}
	a.Close()
	ports.Release(a.LocalAddr().(*net.UDPAddr).Port)
	c, err := ports.Listen()
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	c.Close()
}

// The receive path (latch, accounting, the sink) allocates nothing per packet.
func TestReceivePathDoesNotAllocate(t *testing.T) {
	ports := NewPorts(netip.MustParseAddr("127.0.0.1"), 35000, 35999)
	e, err := NewEndpoint(EndpointOptions{Ports: ports})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Discard()
	from := netip.MustParseAddrPort("127.0.0.1:4000")
	var rs receiveState
	e.latch(from, &rs, 1)
	allocs := testing.AllocsPerRun(1000, func() {
		e.latch(from, &rs, 1)
	})
	if allocs != 0 {
		t.Fatalf("latch allocates %.1f times a packet", allocs)
	}
}

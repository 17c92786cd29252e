package sipptest

import (
	"fmt"
	"strings"
)

// scenario writes a SIPp scenario's XML, one element at a time. The SIP messages in it are
// built from parts (a party's headers, a reply's echoed headers, an SDP offer), so a scenario
// says what it does and not how each message is spelt.
type scenario struct {
	b strings.Builder
}

func newScenario(name string) *scenario {
	s := &scenario{}
	s.b.WriteString(`<?xml version="1.0" encoding="ISO-8859-1" ?>` + "\n")
	fmt.Fprintf(&s.b, "<scenario name=%q>\n", name)
	return s
}

// element writes one XML element as it is.
func (s *scenario) element(xml string) { s.b.WriteString("  " + xml + "\n") }

// send sends a message; attrs are the <send> element's attributes (retrans, next, …).
func (s *scenario) send(attrs string, m message) {
	if attrs != "" {
		attrs = " " + attrs
	}
	fmt.Fprintf(&s.b, "  <send%s><![CDATA[\n%s]]></send>\n", attrs, m)
}

// recv waits for a request or response; what is the <recv> element's attributes.
func (s *scenario) recv(what string) { s.element("<recv " + what + "/>") }

func (s *scenario) pause(ms int) { s.element(fmt.Sprintf(`<pause milliseconds="%d"/>`, ms)) }

// play starts a pcap's RTP; it plays on while the scenario goes on.
func (s *scenario) play(pcap string) {
	s.element(fmt.Sprintf(`<nop><action><exec play_pcap_audio=%q/></action></nop>`, pcap))
}

func (s *scenario) String() string { return s.b.String() + "</scenario>\n" }

// message is one SIP message: a start line, headers, and an SDP body when offer is set.
type message struct {
	start   string
	headers []string
	offer   *offer
}

// with adds headers.
func (m message) with(headers ...string) message {
	m.headers = append(m.headers[:len(m.headers):len(m.headers)], headers...)
	return m
}

func (m message) withSDP(o offer) message {
	m.offer = &o
	return m
}

func (m message) String() string {
	var b strings.Builder
	b.WriteString(m.start + "\n")
	for _, h := range m.headers {
		b.WriteString(h + "\n")
	}
	if m.offer == nil {
		b.WriteString("Content-Length: 0\n\n")
		return b.String()
	}
	b.WriteString("Content-Type: application/sdp\nContent-Length: [len]\n\n")
	b.WriteString(m.offer.String() + "\n")
	return b.String()
}

// offer is an SDP body: the payload types (telephone-event 101 is always added) and the
// direction.
type offer struct {
	fmts []int
	dir  string
}

func (o offer) String() string {
	var pts []string
	var maps strings.Builder
	for _, pt := range o.fmts {
		pts = append(pts, fmt.Sprint(pt))
		switch pt {
		case 0:
			maps.WriteString("a=rtpmap:0 PCMU/8000\n")
		case 8:
			maps.WriteString("a=rtpmap:8 PCMA/8000\n")
		}
	}
	return "v=0\n" +
		"o=sipp 42 42 IN IP[local_ip_type] [media_ip]\n" +
		"s=-\n" +
		"c=IN IP[media_ip_type] [media_ip]\n" +
		"t=0 0\n" +
		"m=audio [media_port] RTP/AVP " + strings.Join(pts, " ") + " 101\n" +
		maps.String() +
		"a=rtpmap:101 telephone-event/8000\n" +
		"a=fmtp:101 0-15\n" +
		"a=" + o.dir + "\n"
}

// toTag is the tag a UAS scenario adds to the To of its replies that open a dialog.
const toTag = ";tag=[pid]SIPpTag01[call_number]"

// reply answers the request last received, echoing its headers; tag is added to its To.
func reply(status, tag string) message {
	return message{start: "SIP/2.0 " + status, headers: []string{
		"[last_Via:]", "[last_From:]", "[last_To:]" + tag, "[last_Call-ID:]", "[last_CSeq:]",
	}}
}

// party is the side of a dialog whose requests a scenario sends.
type party struct {
	from    string // its From header
	to      string // the To header of its in-dialog requests
	contact string // its Contact header
}

// request is a request of this party's: uri and to differ between the dialog's first
// transaction and the requests within it; branch is the Via branch.
func (p party) request(method, uri, branch, to string, cseq int, headers ...string) message {
	m := message{start: method + " " + uri + " SIP/2.0", headers: []string{
		"Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=" + branch,
		p.from, to, "Call-ID: [call_id]", fmt.Sprintf("CSeq: %d %s", cseq, method),
	}}
	return m.with(headers...).with("Max-Forwards: 70")
}

// inDialog is a request within the dialog (after the 200 OK).
func (p party) inDialog(method string, cseq int, headers ...string) message {
	return p.request(method, "[next_url]", "[branch]", p.to, cseq, headers...)
}

// answerReinvite answers a re-INVITE from the far end with o, and takes its ACK.
func (p party) answerReinvite(s *scenario, o offer) {
	s.recv(`request="INVITE"`)
	s.send("", reply("200 OK", "").with(p.contact).withSDP(o))
	s.recv(`request="ACK"`)
}

// reinvite sends a re-INVITE with o and ACKs its 200.
func (p party) reinvite(s *scenario, cseq int, o offer) {
	s.send(`retrans="500"`, p.inDialog("INVITE", cseq, p.contact).withSDP(o))
	s.recv(`response="100" optional="true"`)
	s.recv(`response="200"`)
	s.send("", p.inDialog("ACK", cseq))
}

// reinviteOfferless sends a re-INVITE without SDP and answers the box's offer with o in the ACK.
func (p party) reinviteOfferless(s *scenario, cseq int, o offer) {
	s.send(`retrans="500"`, p.inDialog("INVITE", cseq, p.contact))
	s.recv(`response="100" optional="true"`)
	s.recv(`response="200"`)
	s.send("", p.inDialog("ACK", cseq).withSDP(o))
}

// refer transfers the far end to target by REFER and answers the NOTIFY that follows.
func (p party) refer(s *scenario, cseq int, target string, headers ...string) {
	s.send(`retrans="500"`, p.inDialog("REFER", cseq,
		append([]string{p.contact, "Refer-To: <sip:" + target + "@[remote_ip]:[remote_port]>"}, headers...)...))
	s.recv(`response="202"`)
	s.recv(`request="NOTIFY"`)
	s.send("", reply("200 OK", ""))
}

// hangUp sends BYE and waits for its 200.
func (p party) hangUp(s *scenario, cseq int) {
	s.send(`retrans="500"`, p.inDialog("BYE", cseq))
	s.recv(`response="200" crlf="true"`)
}

// awaitBye waits for the far end's BYE and answers it.
func awaitBye(s *scenario) {
	s.recv(`request="BYE"`)
	s.send("", reply("200 OK", ""))
}

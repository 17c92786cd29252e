package sipptest

import (
	"fmt"
	"html"
	"strings"
)

// Call is what a SIPp caller (UAC) does.
type Call struct {
	From      string // the caller's number (default 5550100); a phone's extension with Auth
	Codecs    []int  // payload types offered (0 PCMU, 8 PCMA); 101 telephone-event is added
	Pcap      string // audio played once answered
	TalkMs    int    // how long the call lasts after the answer
	ByeFirst  bool   // the caller hangs up (else it waits for the box's BYE)
	Hold      bool   // puts the call on hold (sendonly) and back, mid-call
	HoldInAck bool   // with Hold: by re-INVITEs without SDP, the hold being in the ACK's answer
	CancelMs  int    // cancels this long after sending the INVITE (expects 487)
	Expect    int    // a final failure answer expected instead of 200 (e.g. 486, 404, 403)
	Auth      bool   // answers a 401 challenge with -au/-ap credentials (a phone calling)
	DTMFPcap  string // RFC 4733 digits played after the audio
	ReferTo   string // after TalkMs, transfers the call there by REFER (and then hangs up)
	RecvReinv bool   // expects the box to re-INVITE (hold forwarded) and back
	LateOffer bool   // sends the INVITE without SDP and answers the box's offer in the ACK
	EmptyAck  bool   // with LateOffer: the ACK carries no answer (the box should hang up)
	// Script is played once answered, after Pcap: pauses and audio (DTMF, in-band tones,
	// speech), each pcap starting as the pause before it ends. It should be over before the
	// box hangs up.
	Script []Step
}

// Step is one step of a caller's script: a pause, then a pcap played (when given).
type Step struct {
	PauseMs int
	Pcap    string
}

// Agent is what a SIPp callee (UAS) does.
type Agent struct {
	RingMs   int    // rings this long before answering
	Reject   int    // answers this code instead (486 busy, 603 decline, …)
	NoAnswer bool   // rings until cancelled (expects CANCEL)
	Pcap     string // audio played once answered (else -rtp_echo does the talking)
	TalkMs   int    // with ByeFirst: hangs up this long after the ACK
	ByeFirst bool   // the agent hangs up (else it waits for BYE)
	Hold     bool   // expects a re-INVITE (hold) and another (unhold) before the BYE
	ReferTo  string // after TalkMs, transfers the caller there by REFER
	Codecs   []int  // payload types answered (first offered match); default 0
	// Expect are regular expressions the INVITE must match (the call fails otherwise).
	Expect []string
}

// XML renders the caller's scenario.
func (c Call) XML() string {
	if len(c.Codecs) == 0 {
		c.Codecs = []int{0}
	}
	if c.From == "" {
		c.From = "5550100"
	}
	const service = "sip:[service]@[remote_ip]:[remote_port]"
	const toService = "To: <" + service + ">"
	p := party{
		from:    fmt.Sprintf(`From: "Test Caller" <sip:%s@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]`, c.From),
		to:      "[last_To:]",
		contact: fmt.Sprintf("Contact: <sip:%s@[local_ip]:[local_port];transport=[transport]>", c.From),
	}
	talk := offer{c.Codecs, "sendrecv"}
	invite := func(n int, headers ...string) message {
		branch := fmt.Sprintf("z9hG4bK-i%d-[pid]-[call_number]", n)
		m := p.request("INVITE", service, branch, toService, n, append([]string{p.contact}, headers...)...).
			with("User-Agent: SIPp caller")
		if c.LateOffer {
			return m
		}
		return m.withSDP(talk)
	}
	// ackFinal ACKs a failure answer to the INVITE: the same transaction, so its branch.
	ackFinal := func(n int) message {
		return p.request("ACK", service, fmt.Sprintf("z9hG4bK-i%d-[pid]-[call_number]", n), toService+"[peer_tag_param]", n)
	}

	s := newScenario("caller")
	s.send(`retrans="500"`, invite(1))
	cseq := 1
	if c.Auth {
		s.recv(`response="100" optional="true"`)
		s.recv(`response="401" auth="true"`)
		s.send("", ackFinal(1))
		cseq = 2
		s.send(`retrans="500"`, invite(2, "[authentication]"))
	}
	s.recv(`response="100" optional="true"`)
	switch {
	case c.CancelMs > 0:
		s.recv(`response="180"`)
		s.pause(c.CancelMs)
		s.send("", p.request("CANCEL", service, fmt.Sprintf("z9hG4bK-i%d-[pid]-[call_number]", cseq), toService, cseq))
		s.recv(`response="200"`)
		s.recv(`response="487"`)
		s.send("", ackFinal(cseq))
	case c.Expect != 0:
		s.recv(`response="180" optional="true"`)
		s.recv(`response="183" optional="true"`)
		s.recv(fmt.Sprintf(`response="%d"`, c.Expect))
		s.send("", ackFinal(cseq))
	default:
		c.talk(s, p, cseq, talk)
	}
	return s.String()
}

// talk is the caller's answered call: the INVITE's CSeq was cseq.
func (c Call) talk(s *scenario, p party, cseq int, talk offer) {
	s.recv(`response="180" optional="true"`)
	s.recv(`response="183" optional="true"`)
	s.recv(`response="200" rrs="true" rtd="true"`)
	ack := p.inDialog("ACK", cseq)
	if c.LateOffer && !c.EmptyAck {
		ack = ack.withSDP(offer{c.Codecs[:1], "sendrecv"}) // the answer: one codec of the box's offer
	}
	s.send("", ack)
	if c.Pcap != "" {
		s.play(c.Pcap)
	}
	for _, st := range c.Script {
		if st.PauseMs > 0 {
			s.pause(st.PauseMs)
		}
		if st.Pcap != "" {
			s.play(st.Pcap)
		}
	}
	switch {
	case c.Hold:
		s.pause(c.TalkMs / 2)
		reinvite := p.reinvite
		if c.HoldInAck {
			reinvite = p.reinviteOfferless
		}
		reinvite(s, cseq+1, offer{c.Codecs, "sendonly"})
		s.pause(500)
		reinvite(s, cseq+2, talk)
		s.pause(c.TalkMs / 2)
	case c.ByeFirst || c.ReferTo != "" || c.DTMFPcap != "":
		s.pause(c.TalkMs)
	}
	if c.DTMFPcap != "" {
		s.play(c.DTMFPcap)
		s.pause(1000)
	}
	if c.ReferTo != "" {
		p.refer(s, cseq+1, c.ReferTo, "Referred-By: <sip:"+c.From+"@[local_ip]:[local_port]>")
	}
	if c.ByeFirst || c.ReferTo != "" {
		p.hangUp(s, cseq+3)
		return
	}
	if c.RecvReinv {
		p.answerReinvite(s, offer{c.Codecs, "recvonly"})
		p.answerReinvite(s, talk)
	}
	awaitBye(s)
}

// XML renders the agent's scenario.
func (a Agent) XML() string {
	if len(a.Codecs) == 0 {
		a.Codecs = []int{0}
	}
	const contact = "Contact: <sip:agent@[local_ip]:[local_port];transport=[transport]>"
	// The agent's own requests go to the box's From, kept from the INVITE.
	p := party{from: "From: <sip:agent@[local_ip]:[local_port]>" + toTag, to: "To: [$caller]", contact: contact}
	talk := offer{a.Codecs, "sendrecv"}

	s := newScenario("agent")
	var actions []string
	if a.ByeFirst || a.ReferTo != "" {
		actions = append(actions, `<ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="caller"/>`)
	}
	for i, re := range a.Expect {
		actions = append(actions, fmt.Sprintf(`<ereg regexp="%s" search_in="msg" check_it="true" assign_to="expect%d"/><log message="matched [$expect%d]"/>`, html.EscapeString(re), i, i))
	}
	if len(actions) == 0 {
		s.recv(`request="INVITE" rrs="true"`)
	} else {
		s.element(`<recv request="INVITE" rrs="true">` + "\n    <action>" + strings.Join(actions, "\n") + "</action>\n  </recv>")
	}
	s.send("", reply("180 Ringing", toTag).with(contact))
	switch {
	case a.NoAnswer:
		s.recv(`request="CANCEL"`)
		s.send("", reply("200 OK", toTag))
		terminated := reply("487 Request Terminated", toTag)
		terminated.headers[4] = "CSeq: [cseq] INVITE" // the INVITE's, not the CANCEL's
		s.send("", terminated)
		s.recv(`request="ACK"`)
	case a.Reject != 0:
		s.pause(a.RingMs)
		s.send("", reply(fmt.Sprintf("%d Rejected", a.Reject), toTag))
		s.recv(`request="ACK"`)
	default:
		s.pause(a.RingMs)
		s.send(`retrans="500"`, reply("200 OK", toTag).with(contact).withSDP(talk))
		s.recv(`request="ACK" rtd="true" crlf="true"`)
		if a.Pcap != "" {
			s.play(a.Pcap)
		}
		if a.Hold {
			p.answerReinvite(s, offer{a.Codecs, "recvonly"})
			p.answerReinvite(s, talk)
		}
		if !a.ByeFirst && a.ReferTo == "" {
			awaitBye(s)
			break
		}
		s.pause(a.TalkMs)
		if a.ReferTo != "" {
			p.refer(s, 101, a.ReferTo)
		}
		p.hangUp(s, 102)
	}
	return s.String()
}

// RegisterXML registers [service] with the -au/-ap credentials; expect is the final answer
// expected to the authenticated REGISTER (200, or 403 for a wrong password).
func RegisterXML(expect int) string {
	p := party{from: "From: <sip:[service]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]"}
	register := func(cseq int, headers ...string) message {
		return p.request("REGISTER", "sip:[remote_ip]:[remote_port]", "[branch]", "To: <sip:[service]@[remote_ip]>", cseq,
			append([]string{"Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>"}, headers...)...).
			with("User-Agent: SIPp")
	}
	s := newScenario("register")
	s.send(`retrans="500"`, register(1, "Expires: 300"))
	s.recv(`response="401" auth="true"`)
	s.send(`retrans="500"`, register(2, "[authentication]", "Expires: 300"))
	s.recv(fmt.Sprintf(`response="%d"`, expect))
	return s.String()
}

// ProviderRegistrarXML is a provider's registrar: it challenges a REGISTER, checks the
// digest answer against user/password and grants expires seconds (or answers 403).
func ProviderRegistrarXML(user, password string, expires int) string {
	s := newScenario("provider registrar")
	s.recv(`request="REGISTER"`)
	s.send("", reply("401 Unauthorized", toTag).with(`WWW-Authenticate: Digest realm="provider.test", nonce="[pid][call_number]abcdef", algorithm=MD5`))
	s.element(fmt.Sprintf(`<recv request="REGISTER"><action><verifyauth assign_to="authvalid" username="%s" password="%s"/></action></recv>`,
		html.EscapeString(user), html.EscapeString(password)))
	s.element(`<nop test="authvalid" next="good"/>`)
	s.send(`next="end"`, reply("403 Forbidden", toTag))
	s.element(`<label id="good"/>`)
	s.send("", reply("200 OK", toTag).with(fmt.Sprintf("[last_Contact:];expires=%d", expires)))
	s.element(`<label id="end"/>`)
	return s.String()
}

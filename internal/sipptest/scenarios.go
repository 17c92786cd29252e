package sipptest

import (
	"bytes"
	"fmt"
	"html"
	"strings"
	"text/template"
)

// Call is what a SIPp caller (UAC) does.
type Call struct {
	From      string // the caller's number (default 5550100); a phone's extension with Auth
	Codecs    []int  // payload types offered (0 PCMU, 8 PCMA); 101 telephone-event is added
	Pcap      string // audio played once answered
	TalkMs    int    // how long the call lasts after the answer
	ByeFirst  bool   // the caller hangs up (else it waits for the box's BYE)
	Hold      bool   // puts the call on hold (sendonly) and back, mid-call
	CancelMs  int    // cancels this long after sending the INVITE (expects 487)
	Expect    int    // a final failure answer expected instead of 200 (e.g. 486, 404, 403)
	Auth      bool   // answers a 401 challenge with -au/-ap credentials (a phone calling)
	DTMFPcap  string // RFC 4733 digits played after the audio
	ReferTo   string // after TalkMs, transfers the call there by REFER (and then hangs up)
	RecvReinv bool   // expects the box to re-INVITE (hold forwarded) and back
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

var funcs = template.FuncMap{
	"fmts": func(pts []int) string {
		var s []string
		for _, p := range pts {
			s = append(s, fmt.Sprint(p))
		}
		return strings.Join(s, " ")
	},
	"rtpmap": func(pt int) string {
		switch pt {
		case 0:
			return "a=rtpmap:0 PCMU/8000"
		case 8:
			return "a=rtpmap:8 PCMA/8000"
		}
		return ""
	},
}

const sdpTmpl = `{{define "sdp"}}v=0
o=sipp 42 42 IN IP[local_ip_type] [media_ip]
s=-
c=IN IP[media_ip_type] [media_ip]
t=0 0
m=audio [media_port] RTP/AVP {{fmts .Fmts}} 101
{{range .Fmts}}{{rtpmap .}}
{{end}}a=rtpmap:101 telephone-event/8000
a=fmtp:101 0-15
a={{.Dir}}
{{end}}`

const callTmpl = sdpTmpl + `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="caller">
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-i1-[pid]-[call_number]
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 1 INVITE
Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
User-Agent: SIPp caller
Content-Type: application/sdp
Content-Length: [len]

{{template "sdp" .}}
]]></send>
{{if .Auth}}
  <recv response="100" optional="true"/>
  <recv response="401" auth="true"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-i1-[pid]-[call_number]
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: 1 ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <send retrans="500"><![CDATA[
INVITE sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=z9hG4bK-i2-[pid]-[call_number]
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: 2 INVITE
Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
[authentication]
Max-Forwards: 70
User-Agent: SIPp caller
Content-Type: application/sdp
Content-Length: [len]

{{template "sdp" .}}
]]></send>
{{end}}
  <recv response="100" optional="true"/>
{{if .CancelMs}}
  <recv response="180"/>
  <pause milliseconds="{{.CancelMs}}"/>
  <send><![CDATA[
CANCEL sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={{.Branch}}
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>
Call-ID: [call_id]
CSeq: {{.CSeq}} CANCEL
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200"/>
  <recv response="487"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={{.Branch}}
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {{.CSeq}} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
{{else if .Expect}}
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="{{.Expect}}"/>
  <send><![CDATA[
ACK sip:[service]@[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch={{.Branch}}
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]:[remote_port]>[peer_tag_param]
Call-ID: [call_id]
CSeq: {{.CSeq}} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
{{else}}
  <recv response="180" optional="true"/>
  <recv response="183" optional="true"/>
  <recv response="200" rrs="true" rtd="true"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: {{.CSeq}} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
{{if .Pcap}}  <nop><action><exec play_pcap_audio="{{.Pcap}}"/></action></nop>
{{end}}{{range .Script}}{{if .PauseMs}}  <pause milliseconds="{{.PauseMs}}"/>
{{end}}{{if .Pcap}}  <nop><action><exec play_pcap_audio="{{.Pcap}}"/></action></nop>
{{end}}{{end}}
{{if .Hold}}
  <pause milliseconds="{{.HalfTalk}}"/>
  <send retrans="500"><![CDATA[
INVITE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: {{.CSeq1}} INVITE
Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{{template "sdp" .Held}}
]]></send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: {{.CSeq1}} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <pause milliseconds="500"/>
  <send retrans="500"><![CDATA[
INVITE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: {{.CSeq2}} INVITE
Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
Max-Forwards: 70
Content-Type: application/sdp
Content-Length: [len]

{{template "sdp" .}}
]]></send>
  <recv response="100" optional="true"/>
  <recv response="200"/>
  <send><![CDATA[
ACK [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: {{.CSeq2}} ACK
Max-Forwards: 70
Content-Length: 0

]]></send>
  <pause milliseconds="{{.HalfTalk}}"/>
{{else if or .ByeFirst .ReferTo .DTMFPcap}}
  <pause milliseconds="{{.TalkMs}}"/>
{{end}}
{{if .DTMFPcap}}  <nop><action><exec play_pcap_audio="{{.DTMFPcap}}"/></action></nop>
  <pause milliseconds="1000"/>
{{end}}
{{if .ReferTo}}
  <send retrans="500"><![CDATA[
REFER [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: {{.CSeq1}} REFER
Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
Refer-To: <sip:{{.ReferTo}}@[remote_ip]:[remote_port]>
Referred-By: <sip:{{.From}}@[local_ip]:[local_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="202"/>
  <recv request="NOTIFY"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
{{end}}
{{if or .ByeFirst .ReferTo}}
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: "Test Caller" <sip:{{.From}}@[local_ip]:[local_port]>;tag=[pid]SIPpTag00[call_number]
[last_To:]
Call-ID: [call_id]
CSeq: {{.CSeq3}} BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" crlf="true"/>
{{else}}
{{if .RecvReinv}}
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{{template "sdp" .Recvonly}}
]]></send>
  <recv request="ACK"/>
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:{{.From}}@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{{template "sdp" .}}
]]></send>
  <recv request="ACK"/>
{{end}}
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
{{end}}
{{end}}
</scenario>
`

// sdpView fills the SDP template.
type sdpView struct {
	Fmts []int
	Dir  string
}

type callView struct {
	Call
	sdpView
	From                      string
	Branch                    string // the INVITE's branch, for CANCEL and a non-2xx ACK
	CSeq, CSeq1, CSeq2, CSeq3 int
	HalfTalk                  int
	Held, Recvonly            sdpView
}

// XML renders the caller's scenario.
func (c Call) XML() string {
	if len(c.Codecs) == 0 {
		c.Codecs = []int{0}
	}
	if c.From == "" {
		c.From = "5550100"
	}
	v := callView{Call: c, sdpView: sdpView{Fmts: c.Codecs, Dir: "sendrecv"}, From: c.From, CSeq: 1, HalfTalk: c.TalkMs / 2}
	v.Branch = "z9hG4bK-i1-[pid]-[call_number]"
	if c.Auth {
		v.CSeq = 2
		v.Branch = "z9hG4bK-i2-[pid]-[call_number]"
	}
	v.CSeq1, v.CSeq2, v.CSeq3 = v.CSeq+1, v.CSeq+2, v.CSeq+3
	v.Held = sdpView{Fmts: c.Codecs, Dir: "sendonly"}
	v.Recvonly = sdpView{Fmts: c.Codecs, Dir: "recvonly"}
	return render(callTmpl, v)
}

func render(tmpl string, v any) string {
	t := template.Must(template.New("s").Funcs(funcs).Parse(tmpl))
	var b bytes.Buffer
	if err := t.Execute(&b, v); err != nil {
		panic(err)
	}
	return b.String()
}

const agentTmpl = sdpTmpl + `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="agent">
  <recv request="INVITE" rrs="true"/>
  <send><![CDATA[
SIP/2.0 180 Ringing
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:agent@[local_ip]:[local_port];transport=[transport]>
Content-Length: 0

]]></send>
{{if .NoAnswer}}
  <recv request="CANCEL"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <send><![CDATA[
SIP/2.0 487 Request Terminated
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
CSeq: [cseq] INVITE
Content-Length: 0

]]></send>
  <recv request="ACK"/>
{{else if .Reject}}
  <pause milliseconds="{{.RingMs}}"/>
  <send><![CDATA[
SIP/2.0 {{.Reject}} Rejected
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <recv request="ACK"/>
{{else}}
  <pause milliseconds="{{.RingMs}}"/>
  <send retrans="500"><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:agent@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{{template "sdp" .}}
]]></send>
  <recv request="ACK" rtd="true" crlf="true"/>
{{if .Pcap}}  <nop><action><exec play_pcap_audio="{{.Pcap}}"/></action></nop>
{{end}}
{{if .Hold}}
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:agent@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{{template "sdp" .Recvonly}}
]]></send>
  <recv request="ACK"/>
  <recv request="INVITE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Contact: <sip:agent@[local_ip]:[local_port];transport=[transport]>
Content-Type: application/sdp
Content-Length: [len]

{{template "sdp" .}}
]]></send>
  <recv request="ACK"/>
{{end}}
{{if or .ByeFirst .ReferTo}}
  <pause milliseconds="{{.TalkMs}}"/>
{{if .ReferTo}}
  <send retrans="500"><![CDATA[
REFER [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:agent@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$caller]
Call-ID: [call_id]
CSeq: 101 REFER
Contact: <sip:agent@[local_ip]:[local_port];transport=[transport]>
Refer-To: <sip:{{.ReferTo}}@[remote_ip]:[remote_port]>
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="202"/>
  <recv request="NOTIFY"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
{{end}}
  <send retrans="500"><![CDATA[
BYE [next_url] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:agent@[local_ip]:[local_port]>;tag=[pid]SIPpTag01[call_number]
To: [$caller]
Call-ID: [call_id]
CSeq: 102 BYE
Max-Forwards: 70
Content-Length: 0

]]></send>
  <recv response="200" crlf="true"/>
{{else}}
  <recv request="BYE"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
{{end}}
{{end}}
</scenario>
`

type agentView struct {
	Agent
	sdpView
	Recvonly sdpView
}

// XML renders the agent's scenario.
func (a Agent) XML() string {
	if len(a.Codecs) == 0 {
		a.Codecs = []int{0}
	}
	x := render(agentTmpl, agentView{Agent: a, sdpView: sdpView{Fmts: a.Codecs, Dir: "sendrecv"}, Recvonly: sdpView{Fmts: a.Codecs, Dir: "recvonly"}})
	var actions []string
	if a.ByeFirst || a.ReferTo != "" {
		// The caller's From (the box's) is kept to address the agent's own requests.
		actions = append(actions, `<ereg regexp=".*" search_in="hdr" header="From:" check_it="true" assign_to="caller"/>`)
	}
	for i, re := range a.Expect {
		actions = append(actions, fmt.Sprintf(`<ereg regexp="%s" search_in="msg" check_it="true" assign_to="expect%d"/><log message="matched [$expect%d]"/>`, html.EscapeString(re), i, i))
	}
	if len(actions) == 0 {
		return x
	}
	return strings.Replace(x, `<recv request="INVITE" rrs="true"/>`, `<recv request="INVITE" rrs="true">
    <action>`+strings.Join(actions, "\n")+`</action>
  </recv>`, 1)
}

// RegisterXML registers [service] with the -au/-ap credentials; Expect is the final answer
// expected to the authenticated REGISTER (200, or 403 for a wrong password).
func RegisterXML(expect int) string {
	return fmt.Sprintf(registerTmpl, expect)
}

const registerTmpl = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="register">
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 1 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
Expires: 300
Max-Forwards: 70
User-Agent: SIPp
Content-Length: 0

]]></send>
  <recv response="401" auth="true"/>
  <send retrans="500"><![CDATA[
REGISTER sip:[remote_ip]:[remote_port] SIP/2.0
Via: SIP/2.0/[transport] [local_ip]:[local_port];branch=[branch]
From: <sip:[service]@[remote_ip]>;tag=[pid]SIPpTag00[call_number]
To: <sip:[service]@[remote_ip]>
Call-ID: [call_id]
CSeq: 2 REGISTER
Contact: <sip:[service]@[local_ip]:[local_port];transport=[transport]>
[authentication]
Expires: 300
Max-Forwards: 70
User-Agent: SIPp
Content-Length: 0

]]></send>
  <recv response="%d"/>
</scenario>
`

// ProviderRegistrarXML is a provider's registrar: it challenges a REGISTER, checks the
// digest answer against user/password and grants expires seconds (or answers 403).
func ProviderRegistrarXML(user, password string, expires int) string {
	return fmt.Sprintf(providerRegTmpl, user, password, expires)
}

const providerRegTmpl = `<?xml version="1.0" encoding="ISO-8859-1" ?>
<scenario name="provider registrar">
  <recv request="REGISTER"/>
  <send><![CDATA[
SIP/2.0 401 Unauthorized
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
WWW-Authenticate: Digest realm="provider.test", nonce="[pid][call_number]abcdef", algorithm=MD5
Content-Length: 0

]]></send>
  <recv request="REGISTER">
    <action><verifyauth assign_to="authvalid" username="%s" password="%s"/></action>
  </recv>
  <nop test="authvalid" next="good"/>
  <send next="end"><![CDATA[
SIP/2.0 403 Forbidden
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
Content-Length: 0

]]></send>
  <label id="good"/>
  <send><![CDATA[
SIP/2.0 200 OK
[last_Via:]
[last_From:]
[last_To:];tag=[pid]SIPpTag01[call_number]
[last_Call-ID:]
[last_CSeq:]
[last_Contact:];expires=%d
Content-Length: 0

]]></send>
  <label id="end"/>
</scenario>
`

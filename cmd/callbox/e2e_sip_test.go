package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"callbox"
	"callbox/internal/sipptest"
	"callbox/internal/testbox"
	"callbox/media/wav"
	"callbox/store"
)

// sipBox starts the daemon with phones, a hotline group, a loopback trunk and an outbound
// route to a "provider" on the given port.
type sipBox struct {
	*testbox.Box
	sip        string // 127.0.0.1:port
	provider   int
	agentPorts map[string]int
}

// boxExtra adds configuration to the test box: trunks and routes (YAML list items) and any
// other top-level sections.
type boxExtra struct {
	trunks, routes, other string
	dir                   string // data folder (default a new temporary one)
}

func startSIPBox(t *testing.T, extra string) *sipBox {
	return startSIPBoxWith(t, boxExtra{other: extra})
}

func startSIPBoxWith(t *testing.T, x boxExtra) *sipBox {
	t.Helper()
	sipPort := testbox.FreePort(t)
	provider := testbox.FreePort(t)
	cfg := fmt.Sprintf(`box:
  name: e2e
sip:
  listen: [udp://127.0.0.1:%[1]d, tcp://127.0.0.1:%[1]d]
  security:
    auth_failures: 4
    auth_window: 1m
    ban: 10m
rtp:
  address: 127.0.0.1
  ports: 20000-29999
  no_media_timeout: 30s
calls:
  ring_timeout: 8s
  shutdown_grace: 5s
web:
  listen: 127.0.0.1:0
extensions:
  - {number: "1001", name: Alice, password: secret-1001}
  - {number: "1002", name: Bob, password: secret-1002}
  - {number: "1003", name: Carol, password: secret-1003}
groups:
  - {name: hotline, extensions: ["1001", "1002"], ring_timeout: 6s}
trunks:
  - {name: loopback, kind: ip, sources: [127.0.0.1]}
  - {name: provider, kind: ip, sources: [127.0.0.9], server: "127.0.0.1:%[2]d"}
%[4]sinbound:
  - {number: "4000", destination: "group:hotline"}
  - {number: "4001", destination: "extension:1001"}
routes:
  - {name: out, prefix: "9", strip: 1, trunks: [provider]}
%[5]s%[3]s`, sipPort, provider, x.other, x.trunks, x.routes)
	b := testbox.Start(t, testbox.Options{Config: cfg, Dir: x.dir})
	return &sipBox{Box: b, sip: fmt.Sprintf("127.0.0.1:%d", sipPort), provider: provider}
}

// lastCall returns the newest call record with its timeline.
func (b *sipBox) lastCall(t *testing.T) callbox.Record {
	t.Helper()
	var calls []callbox.Record
	if err := b.SocketJSON("GET", "/api/v1/calls?limit=1", &calls); err != nil || len(calls) == 0 {
		t.Fatalf("no call record: %v", err)
	}
	var rec callbox.Record
	if err := b.SocketJSON("GET", "/api/v1/calls/"+calls[0].ID, &rec); err != nil {
		t.Fatal(err)
	}
	return rec
}

// callCount is how many call records the store holds.
func (b *sipBox) callCount(t *testing.T) int {
	t.Helper()
	var calls []callbox.Record
	if err := b.SocketJSON("GET", "/api/v1/calls?limit=10000", &calls); err != nil {
		t.Fatal(err)
	}
	return len(calls)
}

// waitCalls waits until the store holds n call records (a call's record is written just
// after its last BYE).
func (b *sipBox) waitCalls(t *testing.T, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var calls []callbox.Record
		if err := b.SocketJSON("GET", fmt.Sprintf("/api/v1/calls?limit=%d", n), &calls); err == nil && len(calls) >= n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("fewer than %d call records after 20s\n%s", n, b.Stderr())
}

func hasEvent(rec callbox.Record, kind string) bool {
	for _, e := range rec.Events {
		if e.Kind == kind {
			return true
		}
	}
	return false
}

func TestSIPRegistration(t *testing.T) {
	b := startSIPBox(t, "")
	sipptest.Register(t, b.sip, "1001", "secret-1001", 0, "udp", 200)
	sipptest.Register(t, b.sip, "1002", "secret-1002", 0, "tcp", 200)
	sipptest.Register(t, b.sip, "1003", "wrong-password", 0, "udp", 403)
	out := b.MustCLI("ext")
	for _, want := range []string{"1001  Alice  registered", "1002  Bob    registered", "1003  Carol  unregistered", "udp/127.0.0.1:", "tcp/127.0.0.1:", "SIPp"} {
		if !strings.Contains(out, want) {
			t.Errorf("callbox ext lacks %q:\n%s", want, out)
		}
	}
	var st struct {
		Extensions struct{ Registered int } `json:"extensions"`
	}
	b.SocketJSON("GET", "/api/v1/status", &st)
	if st.Extensions.Registered != 2 {
		t.Errorf("registered = %d, want 2", st.Extensions.Registered)
	}
}

// agent registers ext and starts a SIPp agent for it. An extension keeps its port for the
// box's life, so each registration refreshes one binding instead of adding another.
func agent(t *testing.T, b *sipBox, ext string, a sipptest.Agent, echo bool) *sipptest.Proc {
	t.Helper()
	if b.agentPorts == nil {
		b.agentPorts = map[string]int{}
	}
	port, ok := b.agentPorts[ext]
	if !ok {
		port = testbox.FreePort(t)
		b.agentPorts[ext] = port
	}
	sipptest.Register(t, b.sip, ext, "secret-"+ext, port, "udp", 200)
	return sipptest.Start(t, sipptest.Options{XML: a.XML(), Port: port, Echo: echo, Timeout: 40 * time.Second})
}

func TestSIPTrunkCallToAgent(t *testing.T) {
	b := startSIPBox(t, "")
	dir := t.TempDir()
	tone := filepath.Join(dir, "caller.pcap")
	if err := sipptest.WriteRTPPcap(tone, 0, sipptest.Tone{Freq: 440, Seconds: 2}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, tt := range []struct {
		name   string
		agent  sipptest.Agent
		echo   bool
		call   sipptest.Call
		number string
		check  func(t *testing.T, rec callbox.Record)
	}{
		{name: "caller hangs up", agent: sipptest.Agent{RingMs: 300}, echo: true, number: "4001",
			call: sipptest.Call{Pcap: tone, TalkMs: 2500, ByeFirst: true},
			check: func(t *testing.T, rec callbox.Record) {
				if rec.Result != "answered" || rec.HangupSide != callbox.SideCaller || rec.Extension != "1001" || rec.DID != "4001" || rec.Trunk != "loopback" {
					t.Errorf("record: %+v", rec)
				}
				if rec.TalkTime < 2*time.Second || rec.TalkTime > 4*time.Second {
					t.Errorf("talk time %s", rec.TalkTime)
				}
				if !hasEvent(rec, "ringing") || !hasEvent(rec, "answered") {
					t.Errorf("timeline lacks ringing/answered: %+v", rec.Events)
				}
				// 2 s of audio from the caller went to the agent and came back (echo).
				m := rec.Media
				if m == nil || m.CallerIn < 90 || m.CalleeOut < 90 || m.CalleeIn < 90 || m.CallerOut < 90 || m.CallerLost > 0 {
					t.Errorf("RTP did not flow both ways: %+v", m)
				}
			}},
		{name: "agent hangs up", agent: sipptest.Agent{RingMs: 200, ByeFirst: true, TalkMs: 1500}, echo: true, number: "4001",
			call: sipptest.Call{Pcap: tone, TalkMs: 10000},
			check: func(t *testing.T, rec callbox.Record) {
				if rec.Result != "answered" || rec.HangupSide != callbox.SideCallee {
					t.Errorf("record: result %s side %s", rec.Result, rec.HangupSide)
				}
			}},
		{name: "caller cancels while it rings", agent: sipptest.Agent{NoAnswer: true}, number: "4001",
			call: sipptest.Call{CancelMs: 1000},
			check: func(t *testing.T, rec callbox.Record) {
				if rec.Result != "abandoned" || rec.HangupSide != callbox.SideCaller || rec.Answered != nil {
					t.Errorf("record: result %s side %s answered %v", rec.Result, rec.HangupSide, rec.Answered)
				}
			}},
		{name: "busy agent", agent: sipptest.Agent{RingMs: 200, Reject: 486}, number: "4001",
			call: sipptest.Call{Expect: 486},
			check: func(t *testing.T, rec callbox.Record) {
				if rec.Result != "busy" || rec.Cause != "busy" {
					t.Errorf("record: result %s cause %s", rec.Result, rec.Cause)
				}
			}},
		{name: "late offer: the box offers in its 200, the caller answers in the ACK", agent: sipptest.Agent{RingMs: 200}, echo: true, number: "4001",
			call: sipptest.Call{LateOffer: true, Codecs: []int{8}, Pcap: "/usr/share/sip-tester/g711a.pcap", TalkMs: 2000, ByeFirst: true},
			check: func(t *testing.T, rec callbox.Record) {
				m := rec.Media
				if rec.Result != "answered" || m == nil || m.CallerIn < 50 || m.CalleeOut < 50 || m.CalleeIn < 50 || m.CallerOut < 50 {
					t.Errorf("record: %s, media %+v", rec.Result, m)
				}
			}},
		{name: "late offer without an answer in the ACK is hung up", agent: sipptest.Agent{RingMs: 200}, echo: true, number: "4001",
			call: sipptest.Call{LateOffer: true, EmptyAck: true},
			check: func(t *testing.T, rec callbox.Record) {
				if rec.Result == "answered" && rec.TalkTime > 5*time.Second {
					t.Errorf("the call went on without media: %s, talk %s", rec.Result, rec.TalkTime)
				}
				if len(b.LogLines("no usable answer in the ACK")) == 0 {
					t.Error("the bad answer was not logged")
				}
			}},
		{name: "transcoding PCMA caller to PCMU agent", agent: sipptest.Agent{RingMs: 100, Codecs: []int{0}}, echo: true, number: "4001",
			call: sipptest.Call{Codecs: []int{8}, Pcap: "/usr/share/sip-tester/g711a.pcap", TalkMs: 2000, ByeFirst: true},
			check: func(t *testing.T, rec callbox.Record) {
				if rec.Result != "answered" {
					t.Errorf("record: %+v", rec)
				}
			}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ag := agent(t, b, "1001", tt.agent, tt.echo)
			caller := sipptest.Start(t, sipptest.Options{XML: tt.call.XML(), Target: b.sip, Service: tt.number, Timeout: 40 * time.Second})
			caller.MustSucceed("caller")
			ag.MustSucceed("agent")
			n++
			b.waitCalls(t, n)
			tt.check(t, b.lastCall(t))
		})
	}
}

func TestSIPUnauthenticatedCallerCannotDialOut(t *testing.T) {
	b := startSIPBox(t, "")
	// From the loopback trunk (no login), an outside number through the route is refused…
	caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Expect: 404}.XML(), Target: b.sip, Service: "915551234567"})
	caller.MustSucceed("trunk caller dialling out")
	b.waitCalls(t, 1)
	if rec := b.lastCall(t); rec.Result != "not-found" || hasEvent(rec, "dial") {
		t.Fatalf("an unauthenticated call reached a route: %+v", rec)
	}
	// …and a stranger who is not a trunk is asked to log in, and refused with a wrong password.
	stranger := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Auth: true, From: "1001", Expect: 403}.XML(), Target: b.sip, Service: "915551234567",
		User: "1001", Password: "guess", Args: []string{"-i", "127.0.0.3"}})
	stranger.MustSucceed("stranger dialling out")
}

func TestSIPHoldDTMFAndTransfer(t *testing.T) {
	b := startSIPBox(t, "")
	dir := t.TempDir()
	tone := filepath.Join(dir, "caller.pcap")
	if err := sipptest.WriteRTPPcap(tone, 0, sipptest.Tone{Freq: 440, Seconds: 3}); err != nil {
		t.Fatal(err)
	}
	short := filepath.Join(dir, "short.pcap")
	if err := sipptest.WriteRTPPcap(short, 0, sipptest.Tone{Freq: 440, Seconds: 0.4}); err != nil {
		t.Fatal(err)
	}
	for _, hold := range []struct {
		name  string
		inAck bool
	}{
		{"hold and unhold are forwarded", false},
		{"hold and unhold by offerless re-INVITEs, answered in the ACK", true},
	} {
		t.Run(hold.name, func(t *testing.T) {
			n := b.callCount(t)
			ag := agent(t, b, "1001", sipptest.Agent{RingMs: 100, Hold: true}, true)
			call := sipptest.Call{Pcap: tone, TalkMs: 3000, ByeFirst: true, Hold: true, HoldInAck: hold.inAck}
			caller := sipptest.Start(t, sipptest.Options{XML: call.XML(), Target: b.sip, Service: "4001"})
			caller.MustSucceed("caller")
			ag.MustSucceed("agent")
			b.waitCalls(t, n+1)
			rec := b.lastCall(t)
			if !hasEvent(rec, "hold") || !hasEvent(rec, "unhold") || rec.Result != "answered" {
				t.Fatalf("record: %s %+v", rec.Result, rec.Events)
			}
		})
	}
	t.Run("RFC 4733 digits pass through", func(t *testing.T) {
		n := b.callCount(t)
		ag := agent(t, b, "1001", sipptest.Agent{RingMs: 100}, true)
		caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Pcap: short, TalkMs: 800, ByeFirst: true, DTMFPcap: "/usr/share/sip-tester/dtmf_2833_5.pcap"}.XML(), Target: b.sip, Service: "4001"})
		caller.MustSucceed("caller")
		ag.MustSucceed("agent")
		b.waitCalls(t, n+1)
		rec := b.lastCall(t)
		// The agent echoes RTP, so the digit comes back from it too: each side once.
		callerLeg := rec.Events[0].Leg
		var fromCaller, fromAgent []string
		for _, e := range rec.Events {
			if e.Kind == "dtmf" && e.Leg == callerLeg {
				fromCaller = append(fromCaller, e.Detail["digit"])
			} else if e.Kind == "dtmf" {
				fromAgent = append(fromAgent, e.Detail["digit"])
			}
		}
		if strings.Join(fromCaller, "") != "5" || strings.Join(fromAgent, "") != "5" {
			t.Fatalf("digits from the caller %v, echoed by the agent %v", fromCaller, fromAgent)
		}
	})
	t.Run("blind transfer by REFER", func(t *testing.T) {
		n := b.callCount(t)
		first := agent(t, b, "1001", sipptest.Agent{RingMs: 100, ReferTo: "1002", TalkMs: 1000}, true)
		second := agent(t, b, "1002", sipptest.Agent{RingMs: 100}, true)
		caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Pcap: tone, TalkMs: 4000, ByeFirst: true}.XML(), Target: b.sip, Service: "4001"})
		caller.MustSucceed("caller")
		first.MustSucceed("transferring agent")
		second.MustSucceed("transfer target")
		b.waitCalls(t, n+1)
		rec := b.lastCall(t)
		if !hasEvent(rec, "transferred") || rec.Extension != "1002" || rec.HangupSide != callbox.SideCaller {
			t.Fatalf("record: ext %s side %s events %+v", rec.Extension, rec.HangupSide, rec.Events)
		}
	})
}

func TestSIPBruteForceEndsInBan(t *testing.T) {
	b := startSIPBox(t, "")
	// Four wrong passwords from one address (auth_failures: 4)…
	guesser := sipptest.Start(t, sipptest.Options{XML: sipptest.RegisterXML(403), Target: b.sip, Service: "1001", User: "1001", Password: "guess",
		Calls: 4, Args: []string{"-i", "127.0.0.5"}, Timeout: 20 * time.Second})
	guesser.MustSucceed("guesses")
	// …and the address gets no answer at all, even with the right password.
	banned := sipptest.Start(t, sipptest.Options{XML: sipptest.RegisterXML(200), Target: b.sip, Service: "1001", User: "1001", Password: "secret-1001",
		Args: []string{"-i", "127.0.0.5"}, Timeout: 4 * time.Second})
	if code := banned.Wait(); code == 0 {
		t.Fatal("a banned address registered")
	}
	out := b.MustCLI("bans")
	if !strings.Contains(out, "127.0.0.5") || !strings.Contains(out, "failed authentication") {
		t.Fatalf("callbox bans:\n%s", out)
	}
	if lines := b.LogLines("sip source banned"); len(lines) != 1 {
		t.Errorf("the ban was logged %d times, want once", len(lines))
	}
	_, metrics := httpGet(t, "http://"+b.WebAddr+"/metrics", "", "")
	for _, m := range []string{"callbox_sip_bans_total 1", "callbox_sip_auth_failures_total 4", "callbox_sip_banned_addresses 1"} {
		if !strings.Contains(metrics, m) {
			t.Errorf("metrics lack %q", m)
		}
	}
	// Other addresses are not affected, and the admin can lift the ban.
	sipptest.Register(t, b.sip, "1001", "secret-1001", 0, "udp", 200)
	b.MustCLI("bans", "rm", "127.0.0.5")
	sipptest.Start(t, sipptest.Options{XML: sipptest.RegisterXML(200), Target: b.sip, Service: "1001", User: "1001", Password: "secret-1001",
		Args: []string{"-i", "127.0.0.5"}}).MustSucceed("register after unban")
}

func TestSIPOutboundThroughTrunkWithFailover(t *testing.T) {
	dead := testbox.FreePort(t) // nothing answers here
	backup := testbox.FreePort(t)
	b := startSIPBoxWith(t, boxExtra{
		trunks: fmt.Sprintf("  - {name: dead, kind: ip, sources: [127.0.0.8], server: \"127.0.0.1:%d\"}\n  - {name: backup, kind: ip, sources: [127.0.0.7], server: \"127.0.0.1:%d\"}\n", dead, backup),
		routes: "  - {name: national, prefix: \"0\", strip: 1, add: \"49\", caller_id: \"4930123456\", trunks: [dead, backup]}\n",
	})
	provider := sipptest.Start(t, sipptest.Options{XML: sipptest.Agent{RingMs: 200, Expect: []string{"INVITE sip:49301234567@", "From: .*<sip:4930123456@"}}.XML(),
		Port: backup, Echo: true, Timeout: 40 * time.Second})
	tone := filepath.Join(t.TempDir(), "tone.pcap")
	sipptest.WriteRTPPcap(tone, 0, sipptest.Tone{Freq: 600, Seconds: 1.5})
	phone := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Auth: true, From: "1003", Pcap: tone, TalkMs: 2000, ByeFirst: true}.XML(),
		Target: b.sip, Service: "0301234567", User: "1003", Password: "secret-1003", Timeout: 40 * time.Second,
		Args: []string{"-i", "127.0.0.2"}}) // a phone, not the loopback trunk's 127.0.0.1
	phone.MustSucceed("phone")
	provider.MustSucceed("provider")
	b.waitCalls(t, 1)
	rec := b.lastCall(t)
	if rec.Direction != callbox.Outbound || rec.Extension != "1003" || rec.Trunk != "backup" || rec.Result != "answered" {
		t.Fatalf("record: dir %s ext %s trunk %s result %s", rec.Direction, rec.Extension, rec.Trunk, rec.Result)
	}
	if m := rec.Media; m == nil || m.CalleeIn < 50 || m.CallerOut < 50 {
		t.Fatalf("no audio both ways: %+v", m)
	}
	if !strings.Contains(b.Stderr(), "trunk failed; trying the next one") {
		t.Error("the failover was not logged")
	}
}

func TestSIPCallOverTCP(t *testing.T) {
	b := startSIPBox(t, "")
	port := testbox.FreePort(t)
	sipptest.Register(t, b.sip, "1002", "secret-1002", port, "tcp", 200)
	ag := sipptest.Start(t, sipptest.Options{XML: sipptest.Agent{RingMs: 100}.XML(), Port: port, Transport: "tcp", Echo: true})
	tone := filepath.Join(t.TempDir(), "tone.pcap")
	sipptest.WriteRTPPcap(tone, 0, sipptest.Tone{Freq: 700, Seconds: 1})
	caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Pcap: tone, TalkMs: 1500, ByeFirst: true}.XML(), Target: b.sip, Service: "4000", Transport: "tcp"})
	caller.MustSucceed("caller over TCP")
	ag.MustSucceed("agent over TCP")
	b.waitCalls(t, 1)
	if rec := b.lastCall(t); rec.Result != "answered" || rec.Extension != "1002" || rec.DID != "4000" {
		t.Fatalf("record: %s ext %s did %s", rec.Result, rec.Extension, rec.DID)
	}
}

func TestSIGTERMLetsCallsFinishThenEndsThem(t *testing.T) {
	b := startSIPBox(t, "")
	ag := agent(t, b, "1001", sipptest.Agent{RingMs: 100}, true)
	tone := filepath.Join(t.TempDir(), "tone.pcap")
	sipptest.WriteRTPPcap(tone, 0, sipptest.Tone{Freq: 500, Seconds: 10})
	// The caller talks until the box hangs up.
	caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Pcap: tone}.XML(), Target: b.sip, Service: "4001"})
	b.WaitLog("call started", 20*time.Second)
	waitActive(t, b, 1)

	b.Signal(syscall.SIGTERM)
	b.WaitLog("waiting for calls in progress to end", 10*time.Second)
	// While draining, new calls are refused…
	late := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Expect: 503}.XML(), Target: b.sip, Service: "4001", Timeout: 10 * time.Second})
	late.MustSucceed("a call during shutdown")
	// …and after the grace period (5 s) the call in progress is ended and recorded.
	caller.MustSucceed("caller")
	ag.MustSucceed("agent")
	if code := b.Wait(30 * time.Second); code != 0 {
		t.Fatalf("exit code %d", code)
	}
	db, err := store.Open(context.Background(), filepath.Join(b.Dir, "callbox.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	calls, err := db.ListCalls(context.Background(), store.CallFilter{Limit: 10})
	if err != nil || len(calls) != 1 {
		t.Fatalf("records after shutdown: %v %v", calls, err)
	}
	if r := calls[0]; r.Result != "answered" || r.Cause != "shutdown" || r.HangupSide != callbox.SideBox || r.TalkTime < 4*time.Second {
		t.Fatalf("record: result %s cause %s side %s talk %s", r.Result, r.Cause, r.HangupSide, r.TalkTime)
	}
}

func waitActive(t *testing.T, b *sipBox, n int) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var st struct {
			Calls struct{ Active int } `json:"calls"`
		}
		if b.SocketJSON("GET", "/api/v1/status", &st) == nil && st.Calls.Active == n {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("never %d active calls", n)
}

func TestSIPNoMediaEndsTheCall(t *testing.T) {
	b := startSIPBox(t, "")
	ag := agent(t, b, "1001", sipptest.Agent{RingMs: 100}, false)
	// Neither side sends RTP; rtp.no_media_timeout is 30 s in the test box, so reload with 2 s.
	cfg, _ := os.ReadFile(b.Config)
	os.WriteFile(b.Config, []byte(strings.Replace(string(cfg), "no_media_timeout: 30s", "no_media_timeout: 2s", 1)), 0o600)
	b.MustCLI("reload")
	caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{}.XML(), Target: b.sip, Service: "4001"})
	caller.MustSucceed("caller")
	ag.MustSucceed("agent")
	b.waitCalls(t, 1)
	if rec := b.lastCall(t); rec.Cause != "no-media" || rec.TalkTime > 6*time.Second {
		t.Fatalf("record: cause %s talk %s", rec.Cause, rec.TalkTime)
	}
}

func TestMalformedSIPGetsAnAnswerAndHarmsNothing(t *testing.T) {
	b := startSIPBox(t, "")
	conn, err := net.Dial("udp", b.sip)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	// Garbage, then a request without CSeq: the first cannot be answered, the second gets 400.
	conn.Write([]byte("\x00\x01garbage that is not SIP\r\nX-Secret: hunter2\r\n\r\n"))
	conn.Write([]byte("OPTIONS sip:box@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9999;branch=z9hG4bK-x1;rport\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:box@127.0.0.1>\r\nCall-ID: bad-1\r\nContent-Length: 0\r\n\r\n"))
	conn.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 2048)
	n, err := conn.Read(buf)
	if err != nil {
		t.Fatalf("no answer to a request without CSeq: %v", err)
	}
	if !strings.HasPrefix(string(buf[:n]), "SIP/2.0 400") {
		t.Fatalf("answer: %q", buf[:n])
	}
	// A good request still works, and registration too.
	conn.Write([]byte("OPTIONS sip:box@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9999;branch=z9hG4bK-x2;rport\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:box@127.0.0.1>\r\nCall-ID: good-1\r\nCSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n"))
	n, err = conn.Read(buf)
	if err != nil || !strings.HasPrefix(string(buf[:n]), "SIP/2.0 200") {
		t.Fatalf("OPTIONS after garbage: %v %q", err, buf[:n])
	}
	sipptest.Register(t, b.sip, "1001", "secret-1001", 0, "udp", 200)
	if strings.Contains(b.Stderr(), "hunter2") {
		t.Error("raw packet data reached the log")
	}
	if n := len(b.LogLines("failed to parse")); n != 1 {
		t.Errorf("the unparseable packet was logged %d times, want once", n)
	}
}

// TestBaresipDeskPhone uses Debian's baresip as a desk phone: it registers as 1002, answers
// the hotline automatically, and hears the caller's tone while the caller's side gets its
// audio back.
func TestBaresipDeskPhone(t *testing.T) {
	b := startSIPBox(t, "")
	dir := t.TempDir()
	mic := filepath.Join(dir, "mic.wav")
	if err := testbox.WriteWAV16(mic, testbox.Tone(1000, 8000, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	phone := testbox.StartBaresip(t, b.sip, "1002", "secret-1002", mic)
	waitRegistered(t, b, "1002")
	tone := filepath.Join(dir, "caller.pcap")
	sipptest.WriteRTPPcap(tone, 0, sipptest.Tone{Freq: 440, Seconds: 3})
	caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Pcap: tone, TalkMs: 3000, ByeFirst: true}.XML(), Target: b.sip, Service: "4000"})
	caller.MustSucceed("caller")
	b.waitCalls(t, 1)
	rec := b.lastCall(t)
	if rec.Result != "answered" || rec.Extension != "1002" {
		t.Fatalf("record: %s by %s", rec.Result, rec.Extension)
	}
	if m := rec.Media; m == nil || m.CalleeIn < 100 || m.CallerOut < 100 || m.CalleeOut < 100 {
		t.Fatalf("RTP: %+v", m)
	}
	samples, rate, _, err := testbox.ReadWAV16(phone.Heard(t))
	if err != nil {
		t.Fatal(err)
	}
	if l440, l1000 := testbox.ToneLevel(samples, rate, 440), testbox.ToneLevel(samples, rate, 1000); l440 < 0.1 || l1000 > 0.02 {
		t.Fatalf("the phone heard 440 Hz at %.3f and 1000 Hz at %.3f: not the caller's tone", l440, l1000)
	}
}

func waitRegistered(t *testing.T, b *sipBox, ext string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		var exts []struct {
			Number, State string
		}
		if b.SocketJSON("GET", "/api/v1/extensions", &exts) == nil {
			for _, e := range exts {
				if e.Number == ext && e.State == "registered" {
					return
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatalf("extension %s never registered", ext)
}

// TestTrunkRegistersToProvider has the box register to a provider (SIPp as its registrar,
// checking the digest) and take the provider's call to the number it registered.
func TestTrunkRegistersToProvider(t *testing.T) {
	provPort := testbox.FreePort(t)
	registrar := sipptest.Start(t, sipptest.Options{XML: sipptest.ProviderRegistrarXML("4930555", "trunk-secret", 300), Port: provPort, Timeout: 30 * time.Second})
	sipPort := testbox.FreePort(t)
	b := testbox.Start(t, testbox.Options{Config: fmt.Sprintf(`sip:
  listen: [udp://127.0.0.1:%d]
rtp: {address: 127.0.0.1, ports: 20000-29999}
web: {listen: 127.0.0.1:0}
extensions:
  - {number: "1001", password: secret-1001}
trunks:
  - name: provider
    kind: register
    server: 127.0.0.1:%d
    username: "4930555"
    password: {env: CALLBOX_TEST_TRUNK_PASSWORD}
    expires: 5m
inbound:
  - {number: "4930555", trunk: provider, destination: "extension:1001"}
`, sipPort, provPort), Env: []string{"CALLBOX_TEST_TRUNK_PASSWORD=trunk-secret"}})
	registrar.MustSucceed("provider registrar")
	deadline := time.Now().Add(10 * time.Second)
	var out string
	for time.Now().Before(deadline) {
		if out = b.MustCLI("trunks"); strings.Contains(out, "registered") {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(out, "provider  register  registered") {
		t.Fatalf("callbox trunks:\n%s", out)
	}
	if strings.Contains(b.Stderr(), "trunk-secret") {
		t.Fatal("the trunk password reached the log")
	}
	// The provider now calls the number: the box knows it by the provider's address.
	box := &sipBox{Box: b, sip: fmt.Sprintf("127.0.0.1:%d", sipPort)}
	ag := agent(t, box, "1001", sipptest.Agent{RingMs: 100}, true)
	call := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{TalkMs: 1000, ByeFirst: true}.XML(), Target: box.sip, Service: "4930555", Port: provPort})
	call.MustSucceed("provider's call")
	ag.MustSucceed("agent")
	box.waitCalls(t, 1)
	if rec := box.lastCall(t); rec.Trunk != "provider" || rec.Result != "answered" || rec.DID != "4930555" {
		t.Fatalf("record: trunk %s result %s did %s", rec.Trunk, rec.Result, rec.DID)
	}
}

// TestRecordingOfABridgedCall checks the WAV of a call: stereo, the caller's tone on the
// left and the agent's on the right, and as long as the talk time (within 100 ms).
func TestRecordingOfABridgedCall(t *testing.T) {
	for _, format := range []string{"pcmu", "pcm16"} {
		t.Run(format, func(t *testing.T) {
			b := startSIPBox(t, "recording: {enabled: true, format: "+format+"}\n")
			dir := t.TempDir()
			callerTone, agentTone := filepath.Join(dir, "caller.pcap"), filepath.Join(dir, "agent.pcap")
			sipptest.WriteRTPPcap(callerTone, 0, sipptest.Tone{Freq: 440, Seconds: 4})
			sipptest.WriteRTPPcap(agentTone, 0, sipptest.Tone{Freq: 1000, Seconds: 4})
			ag := agent(t, b, "1001", sipptest.Agent{RingMs: 100, Pcap: agentTone}, false)
			caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Pcap: callerTone, TalkMs: 3000, ByeFirst: true}.XML(), Target: b.sip, Service: "4001"})
			caller.MustSucceed("caller")
			ag.MustSucceed("agent")
			b.waitCalls(t, 1)
			rec := b.lastCall(t)
			if rec.Recording == nil {
				t.Fatalf("no recording on the record: %+v", rec)
			}
			if rec.Recording.Format != format || !strings.HasPrefix(rec.Recording.Path, "recordings/") {
				t.Fatalf("recording: %+v", rec.Recording)
			}
			f, err := wav.Open(filepath.Join(b.Dir, rec.Recording.Path))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if h := f.Header(); h.Channels != 2 || h.SampleRate != 8000 {
				t.Fatalf("header: %+v", h)
			}
			samples, err := f.ReadAll()
			if err != nil {
				t.Fatal(err)
			}
			dur := time.Duration(len(samples)/2) * time.Second / 8000
			if diff := dur - rec.TalkTime; diff < -100*time.Millisecond || diff > 100*time.Millisecond {
				t.Errorf("the file lasts %s, the talk time was %s", dur, rec.TalkTime)
			}
			if d := rec.Recording.Duration - dur; d < -20*time.Millisecond || d > 20*time.Millisecond {
				t.Errorf("the index says %s, the file holds %s", rec.Recording.Duration, dur)
			}
			left, right := testbox.Channel(samples, 2, 0), testbox.Channel(samples, 2, 1)
			if l, x := testbox.ToneLevel(left, 8000, 440), testbox.ToneLevel(left, 8000, 1000); l < 0.1 || x > 0.01 {
				t.Errorf("left (caller) channel: 440 Hz %.3f, 1000 Hz %.3f", l, x)
			}
			if l, x := testbox.ToneLevel(right, 8000, 1000), testbox.ToneLevel(right, 8000, 440); l < 0.1 || x > 0.01 {
				t.Errorf("right (agent) channel: 1000 Hz %.3f, 440 Hz %.3f", l, x)
			}
		})
	}
}

// TestFullDiskStopsRecordingNotTheCall puts the data folder on a small tmpfs and fills it
// during a call: the recording stops with one alarm and a metric, the call goes on.
func TestFullDiskStopsRecordingNotTheCall(t *testing.T) {
	data := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", data).CombinedOutput(); err != nil {
		t.Skipf("cannot mount a small tmpfs here (needs root): %v %s", err, out)
	}
	t.Cleanup(func() { exec.Command("umount", "-l", data).Run() })
	b := startSIPBoxWith(t, boxExtra{dir: data})
	dir := t.TempDir()
	tone := filepath.Join(dir, "tone.pcap")
	sipptest.WriteRTPPcap(tone, 0, sipptest.Tone{Freq: 440, Seconds: 8})
	ag := agent(t, b, "1001", sipptest.Agent{RingMs: 100}, true)
	caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Pcap: tone, TalkMs: 8000, ByeFirst: true}.XML(), Target: b.sip, Service: "4001"})
	// Once the recording file exists (the call is answered), fill the disk to the last byte.
	deadline := time.Now().Add(20 * time.Second)
	for {
		if files, _ := filepath.Glob(filepath.Join(data, "recordings", "*", "*", "*", "*.wav")); len(files) > 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("no recording started")
		}
		time.Sleep(20 * time.Millisecond)
	}
	filler := filepath.Join(data, "filler")
	if out, err := exec.Command("dd", "if=/dev/zero", "of="+filler, "bs=4k").CombinedOutput(); !strings.Contains(string(out), "No space left") {
		t.Fatalf("the disk did not fill: %v %s", err, out)
	}
	b.WaitLog("recording stopped", 30*time.Second)
	// Room again for the call record (the box cannot write a database on a full disk).
	os.Remove(filler)
	caller.MustSucceed("caller")
	ag.MustSucceed("agent")
	b.waitCalls(t, 1)
	rec := b.lastCall(t)
	if rec.Result != "answered" || rec.TalkTime < 7*time.Second || rec.Media == nil || rec.Media.CallerOut < 300 {
		t.Fatalf("the call suffered: %s talk %s media %+v", rec.Result, rec.TalkTime, rec.Media)
	}
	if n := len(b.LogLines("recording stopped")); n != 1 {
		t.Errorf("the alarm was logged %d times, want once", n)
	}
	if _, m := httpGet(t, "http://"+b.WebAddr+"/metrics", "", ""); !strings.Contains(m, "callbox_recording_failures_total 1") {
		t.Error("the failure is not in the metrics")
	}
	if rec.Recording == nil || rec.Recording.Duration >= rec.TalkTime {
		t.Errorf("recording %+v: want one cut short by the full disk", rec.Recording)
	}
}

// TestSeveralDevicesRingTogether registers a desk phone and a softphone to 1001: both ring,
// the first to answer takes the call and the other is cancelled.
func TestSeveralDevicesRingTogether(t *testing.T) {
	b := startSIPBox(t, "")
	desk, soft := testbox.FreePort(t), testbox.FreePort(t)
	sipptest.Register(t, b.sip, "1001", "secret-1001", desk, "udp", 200)
	sipptest.Register(t, b.sip, "1001", "secret-1001", soft, "udp", 200)
	if out := b.MustCLI("ext"); strings.Count(out, "sip:1001@") != 2 {
		t.Fatalf("want two contacts for 1001:\n%s", out)
	}
	ringing := sipptest.Start(t, sipptest.Options{XML: sipptest.Agent{NoAnswer: true}.XML(), Port: desk})
	answering := sipptest.Start(t, sipptest.Options{XML: sipptest.Agent{RingMs: 800}.XML(), Port: soft, Echo: true})
	caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{TalkMs: 1000, ByeFirst: true}.XML(), Target: b.sip, Service: "4001"})
	caller.MustSucceed("caller")
	answering.MustSucceed("the device that answers")
	ringing.MustSucceed("the device that is cancelled")
}

// TestKeepaliveDropsDeadPhones: a phone that stops answering OPTIONS loses its registration.
func TestKeepaliveDropsDeadPhones(t *testing.T) {
	b := startSIPBox(t, "")
	cfg, _ := os.ReadFile(b.Config)
	os.WriteFile(b.Config, []byte(strings.Replace(string(cfg), "sip:\n", "sip:\n  registrar: {keepalive: 1s}\n", 1)), 0o600)
	b.MustCLI("reload")
	// SIPp registers and exits: nothing answers the keep-alives at its port any more.
	sipptest.Register(t, b.sip, "1001", "secret-1001", 0, "udp", 200)
	waitRegistered(t, b, "1001")
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if out := b.MustCLI("ext", "--json"); !strings.Contains(out, `"state": "registered"`) {
			b.WaitLog("phone stopped answering keep-alives", time.Second)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatal("the dead phone is still registered after 30 s")
}

// TestScannersAndFloodsAreRefused: a known scanner's requests get no answer at all, and a
// source sending REGISTERs too fast gets 503.
func TestScannersAndFloodsAreRefused(t *testing.T) {
	b := startSIPBox(t, "")
	conn, err := net.Dial("udp", b.sip)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	options := func(ua string, n int) string {
		return fmt.Sprintf("OPTIONS sip:100@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-s%d;rport\r\nFrom: <sip:100@x>;tag=%d\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: scan-%d\r\nCSeq: 1 OPTIONS\r\nUser-Agent: %s\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", n, n, n, ua)
	}
	conn.Write([]byte(options("friendly-scanner", 1)))
	conn.SetReadDeadline(time.Now().Add(time.Second))
	buf := make([]byte, 2048)
	if n, err := conn.Read(buf); err == nil {
		t.Fatalf("a scanner got an answer: %q", buf[:n])
	}
	// A REGISTER flood (the test box allows 20 a second, bursts of 40).
	var limited int
	for i := range 100 {
		reg := fmt.Sprintf("REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;branch=z9hG4bK-f%d;rport\r\nFrom: <sip:1001@127.0.0.1>;tag=f%d\r\nTo: <sip:1001@127.0.0.1>\r\nCall-ID: flood-%d\r\nCSeq: 1 REGISTER\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", i, i, i)
		conn.Write([]byte(reg))
	}
	conn.SetReadDeadline(time.Now().Add(3 * time.Second))
	for {
		n, err := conn.Read(buf)
		if err != nil {
			break
		}
		if strings.HasPrefix(string(buf[:n]), "SIP/2.0 503") {
			limited++
		}
	}
	if limited < 40 {
		t.Fatalf("%d of 100 flooding REGISTERs were refused with 503, want most beyond the burst", limited)
	}
	_, m := httpGet(t, "http://"+b.WebAddr+"/metrics", "", "")
	if !strings.Contains(m, `callbox_sip_requests_dropped_total{reason="scanner"} 1`) || !strings.Contains(m, `callbox_sip_requests_dropped_total{reason="rate"}`) {
		t.Error("the drops are not in the metrics")
	}
}

// TestCallReachesTheWebhook: a real SIP call's record goes upstream — the webhook receives a
// signed call.finished event for it, with a link to its recording that the box serves.
func TestCallReachesTheWebhook(t *testing.T) {
	type delivery struct {
		headers http.Header
		body    map[string]any
	}
	got := make(chan delivery, 10)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body map[string]any
		json.NewDecoder(r.Body).Decode(&body)
		got <- delivery{r.Header.Clone(), body}
	}))
	defer hook.Close()
	b := startSIPBox(t, fmt.Sprintf(`sync:
  destinations:
    - {name: hook, kind: webhook, url: "%s", secret: whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw, recording: link}
`, hook.URL))
	ag := agent(t, b, "1001", sipptest.Agent{RingMs: 100}, true)
	tone := filepath.Join(t.TempDir(), "tone.pcap")
	sipptest.WriteRTPPcap(tone, 0, sipptest.Tone{Freq: 440, Seconds: 2})
	caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Pcap: tone, TalkMs: 2000, ByeFirst: true}.XML(), Target: b.sip, Service: "4001"})
	caller.MustSucceed("caller")
	ag.MustSucceed("agent")
	b.waitCalls(t, 1)
	rec := b.lastCall(t)
	var d delivery
	select {
	case d = <-got:
	case <-time.After(20 * time.Second):
		t.Fatal("the webhook received nothing")
	}
	if d.headers.Get("webhook-id") == "" || !strings.HasPrefix(d.headers.Get("webhook-signature"), "v1,") {
		t.Errorf("unsigned delivery: %v", d.headers)
	}
	raw, _ := json.Marshal(d.body)
	if !strings.Contains(string(raw), rec.ID) || !strings.Contains(string(raw), "call.finished") {
		t.Fatalf("the event does not tell of call %s: %s", rec.ID, raw)
	}
	// The event's recording link is served by the box without a login.
	link := findString(d.body, "url")
	if link == "" {
		t.Fatalf("no recording link in %s", raw)
	}
	res, err := http.Get(link)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.Header.Get("Content-Type") != "audio/wav" {
		t.Fatalf("recording link: %s %s", res.Status, res.Header.Get("Content-Type"))
	}
}

// findString finds the first string under key anywhere in a decoded JSON value.
func findString(v any, key string) string {
	switch x := v.(type) {
	case map[string]any:
		if s, ok := x[key].(string); ok && strings.HasPrefix(s, "http") {
			return s
		}
		for _, e := range x {
			if s := findString(e, key); s != "" {
				return s
			}
		}
	case []any:
		for _, e := range x {
			if s := findString(e, key); s != "" {
				return s
			}
		}
	}
	return ""
}

// TestInternalCall: a phone calls another extension.
func TestInternalCall(t *testing.T) {
	b := startSIPBox(t, "")
	ag := agent(t, b, "1001", sipptest.Agent{RingMs: 100}, true)
	phone := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{Auth: true, From: "1003", TalkMs: 1000, ByeFirst: true}.XML(),
		Target: b.sip, Service: "1001", User: "1003", Password: "secret-1003", Args: []string{"-i", "127.0.0.2"}})
	phone.MustSucceed("phone")
	ag.MustSucceed("agent")
	b.waitCalls(t, 1)
	if rec := b.lastCall(t); rec.Direction != callbox.Internal || rec.From != "1003" || rec.Extension != "1001" || rec.Result != "answered" {
		t.Fatalf("record: %s from %s ext %s %s", rec.Direction, rec.From, rec.Extension, rec.Result)
	}
}

// TestHelpdeskLookupBeforeTheCallIsRouted: the helpdesk (a Zammad stand-in speaking its
// API) knows the caller as a VIP; the call record says so before anyone decides anything.
func TestHelpdeskLookupBeforeTheCallIsRouted(t *testing.T) {
	zammad := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/users/search":
			fmt.Fprint(w, `[{"id": 7, "firstname": "Dana", "lastname": "Vance", "phone": "+12125550100", "vip": true}]`)
		case "/api/v1/tickets/search":
			fmt.Fprint(w, `[]`)
		default:
			http.NotFound(w, r)
		}
	}))
	defer zammad.Close()
	b := startSIPBox(t, fmt.Sprintf(`sync:
  lookup: {from: desk}
  destinations:
    - {name: desk, kind: zammad, url: "%s", token: zammad-token, group: Users, numbers: ["+19999999999"]}
`, zammad.URL))
	ag := agent(t, b, "1001", sipptest.Agent{RingMs: 100}, true)
	caller := sipptest.Start(t, sipptest.Options{XML: sipptest.Call{From: "2125550100", TalkMs: 500, ByeFirst: true}.XML(), Target: b.sip, Service: "4001"})
	caller.MustSucceed("caller")
	ag.MustSucceed("agent")
	b.waitCalls(t, 1)
	rec := b.lastCall(t)
	if rec.VIP < 1 || !slices.Contains(rec.Flags, "vip") {
		t.Fatalf("the helpdesk's VIP tag is not on the record: vip %d flags %v", rec.VIP, rec.Flags)
	}
	found := false
	for _, e := range rec.Events {
		found = found || (e.Kind == "lookup" && e.Detail["name"] == "Dana Vance" && e.Detail["vip"] == "helpdesk")
	}
	if !found {
		t.Fatalf("no look-up on the timeline: %+v", rec.Events)
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callbox"
	"callbox/internal/sipptest"
	"callbox/internal/testbox"
	"callbox/media/dsp"
	"callbox/media/prompt"
)

// The IVR end to end: the real daemon, SIPp callers and agents (and baresip as a caller that
// hears), a clock the test sets for opening hours.

const ivrTestYAML = `ivr:
  language: en
  hours:
    - name: office
      zone: America/New_York
      open: ["mon-fri 09:00-17:00"]
      holidays: ["2026-12-25"]
  lists:
    blacklist: ["+1 555 555 0199"]
    vip: [{number: "+15555550188", level: 6}]
  voicemail:
    greeting: {say: "Leave a message."}
    silence: 2s
    max_length: 30s
  survey:
    question: {say: "Rate the call from 1 to 5."}
    thanks: {say: "Thanks."}
    timeout: 8s
  flows:
    - name: hotline
      start: screen
      survey: true
      nodes:
        screen: {caller: {blacklisted: hangup}, next: hours}
        hours: {time: office, open: menu, closed: closed, holiday: holiday}
        menu:
          menu: {say: "For support press 1, for sales press 2, to track an order press 3."}
          keys: {"1": group:support, "2": group:sales, "3": order}
          timeout: 3s
          retries: 1
          no_input: {say: "Please choose."}
          default: voicemail:1001
        order:
          collect: {say: "Enter your order number, then hash."}
          variable: order_number
          min: 3
          max: 8
          timeout: 4s
          next: group:support
        closed: {play: {say: "We are closed."}, next: voicemail:1001}
        holiday: {play: {say: "Happy holidays."}, next: hangup}
`

// Wednesday 4 March 2026, 10:00 in New York: the office is open.
var (
	officeOpen   = time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)
	officeClosed = time.Date(2026, 3, 5, 2, 30, 0, 0, time.UTC) // Wednesday 21:30 in New York
	christmas    = time.Date(2026, 12, 25, 16, 0, 0, 0, time.UTC)
)

// ivrBox is a box whose hotline 4000 is the flow above.
type ivrBox struct {
	*sipBox
	clock string // the test clock's file
}

func startIVRBox(t *testing.T) *ivrBox {
	t.Helper()
	if _, err := os.Stat("/usr/bin/espeak-ng"); err != nil {
		t.Fatal("espeak-ng is not installed: `make test` installs it")
	}
	sipPort := testbox.FreePort(t)
	clock := filepath.Join(t.TempDir(), "now")
	cfg := fmt.Sprintf(`box: {name: e2e-ivr, country: US}
sip:
  listen: [udp://127.0.0.1:%d]
rtp: {address: 127.0.0.1, ports: 20000-29999, no_media_timeout: 30s}
calls: {ring_timeout: 8s, shutdown_grace: 5s}
web: {listen: 127.0.0.1:0}
recording: {format: pcm16}
extensions:
  - {number: "1001", name: Alice, password: secret-1001}
  - {number: "1002", name: Bob, password: secret-1002}
  - {number: "1003", name: Carol, password: secret-1003}
groups:
  - {name: support, extensions: ["1001"], ring_timeout: 6s}
  - {name: sales, extensions: ["1003"]}
trunks:
  - {name: loopback, kind: ip, sources: [127.0.0.1]}
inbound:
  - {number: "4000", destination: flow:hotline}
%s`, sipPort, ivrTestYAML)
	b := &ivrBox{clock: clock}
	b.setClock(t, officeOpen)
	box := testbox.Start(t, testbox.Options{Config: cfg, Env: []string{"CALLBOX_TEST_CLOCK=" + clock}})
	b.sipBox = &sipBox{Box: box, sip: fmt.Sprintf("127.0.0.1:%d", sipPort)}
	box.WaitLog("TEST BUILD: opening hours read the time from a file", 5*time.Second)
	return b
}

// setClock sets the time the box's opening hours see.
func (b *ivrBox) setClock(t *testing.T, at time.Time) {
	t.Helper()
	if err := os.WriteFile(b.clock, []byte(at.Format(time.RFC3339)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// call runs a SIPp caller to 4000 and waits for it; it returns the call's record.
func (b *ivrBox) call(t *testing.T, c sipptest.Call, agents ...*sipptest.Proc) callbox.Record {
	t.Helper()
	n := b.callCount(t)
	caller := sipptest.Start(t, sipptest.Options{XML: c.XML(), Target: b.sip, Service: "4000", Timeout: 60 * time.Second})
	caller.MustSucceed("caller")
	for _, a := range agents {
		a.MustSucceed("agent")
	}
	b.waitCalls(t, n+1)
	return b.lastCall(t)
}

func dtmf(digit string) string { return "/usr/share/sip-tester/dtmf_2833_" + digit + ".pcap" }

// inBand writes a pcap of in-band DTMF keys: 100 ms tones, 100 ms apart.
func inBand(t *testing.T, keys string) string {
	t.Helper()
	pcm := dsp.AppendSilence(nil, 100*time.Millisecond)
	for _, k := range keys {
		var err error
		if pcm, err = dsp.AppendDTMF(pcm, k, -9, -7, 100*time.Millisecond); err != nil {
			t.Fatal(err)
		}
		pcm = dsp.AppendSilence(pcm, 100*time.Millisecond)
	}
	path := filepath.Join(t.TempDir(), "keys-"+strings.NewReplacer("#", "hash", "*", "star").Replace(keys)+".pcap")
	if err := sipptest.WritePCMPcap(path, 0, pcm); err != nil {
		t.Fatal(err)
	}
	return path
}

// speech writes a pcap of text spoken by espeak-ng, after silence.
func speech(t *testing.T, text string, silence time.Duration) (string, time.Duration) {
	t.Helper()
	tts, err := prompt.NewTTS(prompt.TTSConfig{CacheDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	clip, err := tts.Speak(context.Background(), "en", text)
	if err != nil {
		t.Fatal(err)
	}
	pcm := append(dsp.AppendSilence(nil, silence), clip.Samples()...)
	path := filepath.Join(t.TempDir(), "speech.pcap")
	if err := sipptest.WritePCMPcap(path, 0, pcm); err != nil {
		t.Fatal(err)
	}
	return path, clip.Duration()
}

// path lists the record's IVR steps: nodes, keys (with how they came), timeouts.
func path(rec callbox.Record) string {
	var p []string
	for _, e := range rec.Events {
		switch e.Kind {
		case "ivr.node":
			p = append(p, e.Detail["node"])
		case "ivr.key":
			p = append(p, "["+e.Detail["key"]+" "+e.Detail["source"]+"]")
		case "ivr.timeout":
			p = append(p, "(timeout)")
		case "ivr.exit":
			p = append(p, "→"+e.Detail["to"])
		}
	}
	return strings.Join(p, " ")
}

func eventDetail(rec callbox.Record, kind string) map[string]string {
	for _, e := range rec.Events {
		if e.Kind == kind {
			return e.Detail
		}
	}
	return nil
}

func TestIVRMenuByRFC4733ThenSurvey(t *testing.T) {
	b := startIVRBox(t)
	// The agent answers, talks 1.5 s and hangs up; the caller stays for the survey.
	ag := agent(t, b.sipBox, "1001", sipptest.Agent{RingMs: 500, ByeFirst: true, TalkMs: 1500}, true)
	rec := b.call(t, sipptest.Call{Script: []sipptest.Step{
		{PauseMs: 1500, Pcap: dtmf("1")}, // during the menu prompt
		{PauseMs: 5000, Pcap: dtmf("4")}, // during the survey question
	}}, ag)
	if rec.Result != "answered" || rec.Extension != "1001" || rec.HangupSide != callbox.SideCallee {
		t.Fatalf("record: result %s ext %s side %s\n%+v", rec.Result, rec.Extension, rec.HangupSide, rec.Events)
	}
	if got := path(rec); got != "screen hours menu [1 event] →group:support" {
		t.Errorf("IVR path %q", got)
	}
	if rec.TalkTime < 1300*time.Millisecond || rec.TalkTime > 2500*time.Millisecond || rec.Recording == nil || rec.Recording.Duration > 2500*time.Millisecond {
		t.Errorf("talk %s, recording %+v: the survey counted as talk", rec.TalkTime, rec.Recording)
	}
	if rec.Survey != 4 {
		t.Fatalf("survey score %d\n%+v", rec.Survey, rec.Events)
	}
	if d := eventDetail(rec, "survey"); d["agent"] != "1001" {
		t.Errorf("survey event %v", d)
	}
	if d := eventDetail(rec, "ivr.time"); d["state"] != "open" {
		t.Errorf("time %v", d)
	}
	// The box played to the caller: prompts, ringback, the question (≥ 5 s of frames).
	if m := rec.Media; m == nil || m.CallerOut < 250 {
		t.Errorf("media %+v", rec.Media)
	}
	out := strings.Join(strings.Fields(b.MustCLI("calls", "show", rec.ID)), " ")
	for _, want := range []string{"survey 4", "ivr hotline: screen hours (open) menu [1] → group:support survey 4"} {
		if !strings.Contains(out, want) {
			t.Errorf("calls show lacks %q:\n%s", want, out)
		}
	}
}

package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
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
	code := caller.Wait()
	b.waitCalls(t, n+1)
	rec := b.lastCall(t)
	if code != 0 {
		t.Logf("the call's timeline:\n%s", timeline(rec))
		caller.MustSucceed("caller")
	}
	for _, a := range agents {
		if a.Wait() != 0 {
			t.Logf("the call's timeline:\n%s", timeline(rec))
			a.MustSucceed("agent")
		}
	}
	return rec
}

func timeline(rec callbox.Record) string {
	var b strings.Builder
	for _, e := range rec.Events {
		fmt.Fprintf(&b, "  +%s %s %s %v\n", e.At.Sub(rec.Started).Round(time.Millisecond), e.Kind, e.Leg, e.Detail)
	}
	return b.String()
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

func TestIVRInBandDigitsAndCollectedOrderNumber(t *testing.T) {
	b := startIVRBox(t)
	ag := agent(t, b.sipBox, "1001", sipptest.Agent{RingMs: 300}, true)
	// No RFC 4733 from this caller: "3" for the order menu, then the number and #, in tones.
	rec := b.call(t, sipptest.Call{ByeFirst: true, TalkMs: 2000, Script: []sipptest.Step{
		{PauseMs: 1000, Pcap: inBand(t, "3")},
		{PauseMs: 2000, Pcap: inBand(t, "4711#")},
		{PauseMs: 2500},
	}}, ag)
	if got := path(rec); got != "screen hours menu [3 in-band] order [4 in-band] [7 in-band] [1 in-band] [1 in-band] [# in-band] →group:support" {
		t.Errorf("IVR path %q", got)
	}
	if rec.Variables["order_number"] != "4711" || rec.Result != "answered" || rec.Extension != "1001" {
		t.Fatalf("record: vars %v result %s ext %s\n%+v", rec.Variables, rec.Result, rec.Extension, rec.Events)
	}
	if d := eventDetail(rec, "ivr.variable"); d["name"] != "order_number" || d["value"] != "4711" {
		t.Errorf("variable event %v", d)
	}
	// The caller's tones went on to the agent once bridged? No: they were the IVR's. The
	// agent heard nothing before the bridge.
	if !strings.Contains(strings.Join(strings.Fields(b.MustCLI("calls", "show", rec.ID)), " "), "var order_number 4711") {
		t.Error("calls show lacks the order number")
	}
}

func TestIVRMenuTimeoutsAndRetries(t *testing.T) {
	b := startIVRBox(t)
	start := time.Now()
	// The caller presses nothing: menu, 3 s, "please choose", menu, 3 s → the default,
	// voicemail, where they say nothing either (silence 2 s).
	rec := b.call(t, sipptest.Call{})
	took := time.Since(start)
	if got := path(rec); got != "screen hours menu (timeout) (timeout) →voicemail:1001" {
		t.Errorf("IVR path %q", got)
	}
	if d := eventDetail(rec, "ivr.default"); d["to"] != "voicemail:1001" {
		t.Errorf("default %v", d)
	}
	if eventDetail(rec, "voicemail.empty") == nil || rec.Result != "abandoned" || rec.Recording != nil {
		t.Errorf("record: result %s recording %+v\n%+v", rec.Result, rec.Recording, rec.Events)
	}
	// Two menu prompts (~4 s each), two 3 s waits, the retry prompt, greeting, 2 s silence.
	if took < 15*time.Second || took > 30*time.Second {
		t.Errorf("the call took %s", took)
	}
	if _, m := httpGet(t, "http://"+b.WebAddr+"/metrics", "", ""); !strings.Contains(m, `callbox_ivr_retries_total{reason="timeout"} 2`) ||
		!strings.Contains(m, `callbox_voicemails_total{end="empty"} 1`) {
		t.Error("the metrics lack the timeouts or the empty voicemail")
	}
}

func TestIVRBlacklistVIPAndListCommands(t *testing.T) {
	b := startIVRBox(t)
	// Blacklisted in the config (as "+1 555 555 0199"): refused unanswered with 603.
	rec := b.call(t, sipptest.Call{From: "5555550199", Expect: 603})
	if rec.Result != "rejected" || rec.Cause != "rejected" || rec.Answered != nil || !hasFlag(rec, "blacklisted") {
		t.Fatalf("blacklisted call: %s %s flags %v", rec.Result, rec.Cause, rec.Flags)
	}
	out := b.MustCLI("list", "show", "blacklist")
	if !strings.Contains(out, "+15555550199") || !strings.Contains(out, "config") || !regexpMatch(`\+15555550199\s.*config\s+1\s`, out) {
		t.Errorf("list show blacklist:\n%s", out)
	}
	// The CLI adds a number written locally; it is refused from then on, and let in again
	// once removed. A config entry cannot be removed by the CLI.
	b.MustCLI("list", "add", "blacklist", "(555) 555-0123", "--until", "2099-12-31", "--note", "test caller")
	if rec := b.call(t, sipptest.Call{From: "+15555550123", Expect: 603}); rec.Result != "rejected" {
		t.Fatalf("CLI blacklist: %s", rec.Result)
	}
	if _, errOut, code := b.CLI("list", "rm", "blacklist", "+15555550199"); code == 0 || !strings.Contains(errOut, "in the configuration file") {
		t.Errorf("removing a config entry: exit %d: %s", code, errOut)
	}
	b.MustCLI("list", "rm", "blacklist", "5555550123")
	if _, errOut, code := b.CLI("list", "add", "friends", "+15555550123"); code == 0 || !strings.Contains(errOut, "no list") {
		t.Errorf("an unknown list: exit %d: %s", code, errOut)
	}
	// A VIP (from the config) reaches the agent, whose phone shows it in the caller ID.
	ag := agent(t, b.sipBox, "1001", sipptest.Agent{RingMs: 200, Expect: []string{`From: .\[VIP 6\] Test Caller`}}, true)
	rec = b.call(t, sipptest.Call{From: "5555550188", ByeFirst: true, TalkMs: 1500, Script: []sipptest.Step{{PauseMs: 800, Pcap: dtmf("1")}}}, ag)
	if rec.VIP != 6 || !hasFlag(rec, "vip") || rec.Result != "answered" {
		t.Fatalf("VIP call: vip %d flags %v result %s", rec.VIP, rec.Flags, rec.Result)
	}
	if d := eventDetail(rec, "ivr.caller"); d["lists"] != "vip" || d["number"] != "+15555550188" {
		t.Errorf("caller event %v", d)
	}
	// A warning added at run time flags the next call, and shows on the phone too.
	b.MustCLI("list", "add", "warning", "+15555550177", "--note", "shouts")
	ag = agent(t, b.sipBox, "1001", sipptest.Agent{RingMs: 200, Expect: []string{`From: .\[WARNING\] Test Caller`}}, true)
	rec = b.call(t, sipptest.Call{From: "5555550177", ByeFirst: true, TalkMs: 1500, Script: []sipptest.Step{{PauseMs: 800, Pcap: dtmf("1")}}}, ag)
	if !hasFlag(rec, "warning") || rec.Variables["warning"] != "shouts" {
		t.Errorf("warning call: flags %v vars %v", rec.Flags, rec.Variables)
	}
	if _, m := httpGet(t, "http://"+b.WebAddr+"/metrics", "", ""); !strings.Contains(m, "callbox_ivr_blacklisted_total 2") {
		t.Error("the metrics lack the blacklisted calls")
	}
}

func TestIVRAfterHoursVoicemailEndedBySilence(t *testing.T) {
	b := startIVRBox(t)
	b.setClock(t, officeClosed)
	words, length := speech(t, "Hello, this is Dana. My printer is on fire again. Please call me back.", 0)
	// "We are closed", the greeting and the tone take about 3 s; then the caller speaks and
	// goes quiet: 2 s of silence end the message and the box hangs up.
	rec := b.call(t, sipptest.Call{Script: []sipptest.Step{{PauseMs: 3500, Pcap: words}}})
	if rec.Result != "voicemail" || rec.HangupSide != callbox.SideBox {
		t.Fatalf("record: %s side %s\n%+v", rec.Result, rec.HangupSide, rec.Events)
	}
	if got := path(rec); got != "screen hours closed →voicemail:1001" {
		t.Errorf("IVR path %q", got)
	}
	if d := eventDetail(rec, "ivr.time"); d["state"] != "closed" {
		t.Errorf("time %v", d)
	}
	d := eventDetail(rec, "voicemail.saved")
	if d["reason"] != "silence" || d["box"] != "1001" {
		t.Fatalf("voicemail %v", d)
	}
	vm := rec.Recording
	if vm == nil || vm.Kind != "voicemail" || !hasFlag(rec, "follow-up") || rec.Variables["voicemail_box"] != "1001" {
		t.Fatalf("recording %+v flags %v", vm, rec.Flags)
	}
	// The admin finds the voicemails to follow up.
	if out := b.MustCLI("calls", "--result", "voicemail", "--flag", "follow-up"); !strings.Contains(out, rec.ID) {
		t.Errorf("callbox calls --result voicemail --flag follow-up lacks %s:\n%s", rec.ID, out)
	}
	if out := b.MustCLI("calls", "--result", "busy"); !strings.Contains(out, "no calls match") {
		t.Errorf("callbox calls --result busy:\n%s", out)
	}
	// The words, with at most half a second of silence before and after them.
	if vm.Duration < length || vm.Duration > length+1200*time.Millisecond {
		t.Errorf("message of %s for %s of speech", vm.Duration, length)
	}
	samples, rate, _, err := testbox.ReadWAV16(filepath.Join(b.Dir, vm.Path))
	if err != nil || rate != 8000 {
		t.Fatal(err)
	}
	talk := 0
	for i := 0; i+800 <= len(samples); i += 800 {
		if rms(samples[i:i+800]) > 300 {
			talk++
		}
	}
	if talk < int(length.Seconds()*10*6/10) {
		t.Errorf("only %d of %d 100 ms windows of the file hold speech", talk, len(samples)/800)
	}
}

func TestIVRHolidayAndOverridesWithTheTestClock(t *testing.T) {
	b := startIVRBox(t)
	b.setClock(t, christmas)
	rec := b.call(t, sipptest.Call{})
	if got := path(rec); got != "screen hours holiday →hangup" || rec.Result != "ivr" || rec.HangupSide != callbox.SideBox {
		t.Fatalf("on Christmas: path %q result %s side %s", got, rec.Result, rec.HangupSide)
	}
	if d := eventDetail(rec, "ivr.time"); d["state"] != "holiday" {
		t.Errorf("time %v", d)
	}
	out := b.MustCLI("hours")
	if !regexpMatch(`office\s+holiday\s+the hours\s+Fri 2026-12-25 11:00`, out) {
		t.Errorf("callbox hours on Christmas:\n%s", out)
	}
	// Opened by hand: the menu again, even on a holiday, until auto.
	b.MustCLI("hours", "open")
	rec = b.call(t, sipptest.Call{ByeFirst: true, TalkMs: 1000})
	if d := eventDetail(rec, "ivr.time"); d["state"] != "open" || d["override"] != "open" {
		t.Errorf("opened by hand: %v", d)
	}
	// Closed by hand in office hours, for this hours only.
	b.setClock(t, officeOpen)
	b.MustCLI("hours", "auto")
	b.MustCLI("hours", "close", "office")
	rec = b.call(t, sipptest.Call{ByeFirst: true, TalkMs: 1000})
	if d := eventDetail(rec, "ivr.time"); d["state"] != "closed" || d["override"] != "closed" {
		t.Errorf("closed by hand: %v", d)
	}
	b.MustCLI("hours", "auto", "office")
	if out := b.MustCLI("hours"); !regexpMatch(`office\s+open\s+the hours`, out) {
		t.Errorf("back to the hours:\n%s", out)
	}
	if _, errOut, code := b.CLI("hours", "close", "warehouse"); code == 0 || !strings.Contains(errOut, "no opening hours called warehouse") {
		t.Errorf("unknown hours: %d %s", code, errOut)
	}
}

func hasFlag(rec callbox.Record, flag string) bool {
	for _, f := range rec.Flags {
		if f == flag {
			return true
		}
	}
	return false
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

func TestIVRConfigCheckShowAndMissingEspeak(t *testing.T) {
	bin := testbox.Binary(t)
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	base := `sip: {listen: ["udp://127.0.0.1:5060"]}
extensions:
  - {number: "1001", password: secret-1001}
inbound:
  - {number: "4000", destination: flow:main}
ivr:
  flows:
    - name: main
      start: menu
      nodes:
`
	// Problems of the flow itself, each at its place.
	broken := write("broken.yaml", base+`        menu:
          menu: {say: "Press 1."}
          keys: {"1": menu, "11": menu}
        lost: {play: {say: "Nobody gets here."}, next: nowhere}
`)
	out, err := exec.Command(bin, "config", "check", broken).CombinedOutput()
	for _, want := range []string{
		broken + ":11:9: flow main: menu menu has no way out: every key and the default lead back into the menu",
		broken + ":13:29: flow main: node menu: \"11\" is not a key of a phone",
		broken + ":14:9: flow main: node lost cannot be reached from the start (menu)",
		broken + ":14:56: flow main: next \"nowhere\" is not a node of the flow",
	} {
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("config check lacks %q:\n%s", want, out)
		}
	}
	// What the IVR needs of the machine: a recording on disk…
	good := write("good.yaml", base+`        menu:
          menu: [jingle, {say: "Press 1 for Alice."}]
          keys: {"1": extension:1001}
`)
	data := t.TempDir()
	out, err = exec.Command(bin, "config", "check", "--data", data, good).CombinedOutput()
	if err == nil || !strings.Contains(string(out), good+":12:18: prompt jingle: no prompt \"jingle\" (looked for "+filepath.Join(data, "prompts", "en", "jingle.wav")) {
		t.Errorf("a missing recording:\n%s", out)
	}
	os.MkdirAll(filepath.Join(data, "prompts", "en"), 0o755)
	if err := testbox.WriteWAV16(filepath.Join(data, "prompts", "en", "jingle.wav"), make([]int16, 800)); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(bin, "config", "check", "--data", data, good).CombinedOutput(); err != nil {
		t.Fatalf("config check with the recording: %v\n%s", err, out)
	}
	// …and espeak-ng for the text: without it, config check and serve refuse the file with
	// a message that says what to install.
	noEspeak := []string{"PATH=" + t.TempDir()}
	check := exec.Command(bin, "config", "check", "--data", data, good)
	check.Env = noEspeak
	out, err = check.CombinedOutput()
	want := good + ":12:26: text prompts need espeak-ng: apt-get install espeak-ng (espeak-ng not found)"
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("config check without espeak-ng:\n%s", out)
	}
	serve := exec.Command(bin, "serve", "--config", good, "--data", data, "--socket", filepath.Join(data, "s.sock"))
	serve.Env = noEspeak
	out, err = serve.CombinedOutput()
	if err == nil || !strings.Contains(string(out), want) || !strings.Contains(string(out), "refusing to start") {
		t.Errorf("serve without espeak-ng: %v\n%s", err, out)
	}
	// callbox ivr show draws a file's flow without a daemon, and the daemon's.
	out, err = exec.Command(bin, "ivr", "show", "--config", good).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "flow main (called at 4000; language en)\nmenu: menu jingle + \"Press 1 for Alice.\" (wait 5s, 2 retries)\n├── key 1 → extension:1001\n└── default → hangup\n") {
		t.Errorf("ivr show --config: %v\n%s", err, out)
	}
	b := startIVRBox(t)
	tree := b.MustCLI("ivr", "show", "hotline")
	for _, want := range []string{
		"flow hotline (called at 4000; language en; survey after the call)",
		"screen: caller lists (blacklist, warning, vip)",
		"├── blacklisted → refused",
		"└── next → hours: opening hours office",
		"    ├── open → menu: menu \"For support press 1, for sales press 2, to trac…\" (wait 3s, 1 retries)",
		"    │   ├── key 3 → order: collect \"Enter your order number, then hash.\" into order_number (3-8 digits, # ends)",
		"    │   └── default → voicemail:1001",
		"    ├── holiday → holiday: play \"Happy holidays.\"",
		"    └── closed → closed: play \"We are closed.\"",
	} {
		if !strings.Contains(tree, want) {
			t.Errorf("ivr show lacks %q:\n%s", want, tree)
		}
	}
	if _, errOut, code := b.CLI("ivr", "show", "nosuch"); code == 0 || !strings.Contains(errOut, "no flow called nosuch") {
		t.Errorf("an unknown flow: %d %s", code, errOut)
	}
}

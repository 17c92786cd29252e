package main

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"callbox/internal/testbox"
	"callbox/queue"
)

// Supervisors on a queue call, checked on what each party received: every party is a
// baresip whose microphone is a tone of its own, and whose decoder dumps what it heard.

// Each party's tone.
const (
	callerTone = 500.0
	agentTone  = 1100.0
	listenTone = 1800.0 // the supervisor who listens (1004)
	whispTone  = 2500.0 // the supervisor who whispers, then barges in (1003)
)

// toneWAV writes d of a tone as a baresip microphone.
func toneWAV(t *testing.T, freq float64, d time.Duration) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "mic.wav")
	if err := testbox.WriteWAV16(path, testbox.Tone(freq, 6000, d)); err != nil {
		t.Fatal(err)
	}
	return path
}

// dumps lists the received-audio dumps in a baresip folder.
func dumps(dir string) []string {
	files, _ := filepath.Glob(filepath.Join(dir, "dump-*-dec.wav"))
	return files
}

// newDump waits for a dump in dir that is not in before and holds at least min of audio
// (its header is written when baresip's call ends); it returns its samples.
func newDump(t *testing.T, dir string, before []string, min time.Duration) []int16 {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		for _, f := range dumps(dir) {
			if slices.Contains(before, f) {
				continue
			}
			pcm, rate, _, err := testbox.ReadWAV16(f)
			if err == nil && rate == 8000 && len(pcm) >= int(min.Seconds()*8000) {
				return pcm
			}
		}
		time.Sleep(200 * time.Millisecond) // baresip tells nobody when it has closed a file
	}
	t.Fatalf("no new dump of %s in %s", min, dir)
	return nil
}

// heard says which of the tones are in the last seconds of pcm (the part of the call when
// the supervisors were surely on), as levels.
func heard(pcm []int16, freqs ...float64) map[float64]float64 {
	end := len(pcm) - 4000 // the last half second may be the hang-up
	part := pcm[max(0, end-4*8000):end]
	out := map[float64]float64{}
	for _, f := range freqs {
		out[f] = testbox.ToneLevel(part, 8000, f)
	}
	return out
}

// expectTones checks that who heard exactly the tones in want among all.
func expectTones(t *testing.T, who string, pcm []int16, want ...float64) {
	t.Helper()
	all := []float64{callerTone, agentTone, listenTone, whispTone}
	levels := heard(pcm, all...)
	for _, f := range all {
		l := levels[f]
		switch {
		case slices.Contains(want, f) && l < 0.05:
			t.Errorf("%s did not hear %.0f Hz (level %.3f; levels %v)", who, f, l, levels)
		case !slices.Contains(want, f) && l > 0.01:
			t.Errorf("%s heard %.0f Hz (level %.3f; levels %v)", who, f, l, levels)
		}
	}
}

// TestQueueSupervisorsListenWhisperAndBarge: a caller talks with agent 1001 (all baresip).
// In the first call supervisor 1004 listens and 1003 whispers: 1004 hears caller and agent
// and is heard by nobody; the agent hears 1003, the caller does not. In the second call
// 1003 barges in: all three hear each other. The calls are recorded all along.
func TestQueueSupervisorsListenWhisperAndBarge(t *testing.T) {
	if _, err := os.Stat("/usr/bin/baresip"); err != nil {
		t.Fatal("baresip is not installed: `make test` installs it")
	}
	b := startQueueBox(t, `agents:
  - {extension: "1001", auto_login: true}
queues:
  - {name: support, members: ["1001"], ring_timeout: 8s}
`)
	agentPhone := testbox.StartBaresip(t, b.sip, "1001", "secret-1001", toneWAV(t, agentTone, 2*time.Minute))
	listener := testbox.StartBaresip(t, b.sip, "1004", "secret-1004", toneWAV(t, listenTone, 2*time.Minute))
	whisperer := testbox.StartBaresip(t, b.sip, "1003", "secret-1003", toneWAV(t, whispTone, 2*time.Minute))
	for _, ext := range []string{"1001", "1003", "1004"} {
		waitRegistered(t, b, ext)
	}
	callerMic := toneWAV(t, callerTone, time.Minute)

	type phones struct{ agent, listener, whisperer []string }
	snapshot := func() phones {
		return phones{dumps(agentPhone.Dir), dumps(listener.Dir), dumps(whisperer.Dir)}
	}

	// First call: listen and whisper.
	before := snapshot()
	caller := baresipDials(t, b.sip, "2125550171", "4100", callerMic, 18*time.Second)
	waitAgent(t, b, "1001", queue.StateOnCall)
	b.MustCLI("agent", "listen", "1001", "--from", "1004")
	b.MustCLI("agent", "whisper", "1001", "--from", "1003")
	b.waitCalls(t, 1)
	rec := b.lastCall(t)
	var modes []string
	for _, e := range rec.Events {
		if e.Kind == "supervisor" {
			modes = append(modes, e.Detail["mode"])
		}
	}
	if rec.Agent != "1001" || !slices.Equal(modes, []string{"listen", "whisper"}) || rec.Recording == nil || rec.Recording.Duration < 12*time.Second {
		t.Fatalf("first call: %+v\n%s", rec, timeline(rec))
	}
	expectTones(t, "the caller (listen, whisper)", newDump(t, caller, nil, 10*time.Second), agentTone)
	expectTones(t, "the agent (listen, whisper)", newDump(t, agentPhone.Dir, before.agent, 10*time.Second), callerTone, whispTone)
	expectTones(t, "the listener", newDump(t, listener.Dir, before.listener, 6*time.Second), callerTone, agentTone)
	expectTones(t, "the whisperer", newDump(t, whisperer.Dir, before.whisperer, 6*time.Second), callerTone, agentTone)

	// Second call: barge in.
	before = snapshot()
	caller = baresipDials(t, b.sip, "2125550172", "4100", callerMic, 18*time.Second)
	waitAgent(t, b, "1001", queue.StateOnCall)
	b.MustCLI("agent", "barge", "1001", "--from", "1003")
	b.waitCalls(t, 2)
	rec = b.lastCall(t)
	if d := eventDetail(rec, "supervisor"); d["mode"] != "barge" || rec.Recording == nil {
		t.Fatalf("second call:\n%s", timeline(rec))
	}
	expectTones(t, "the caller (barge)", newDump(t, caller, nil, 10*time.Second), agentTone, whispTone)
	expectTones(t, "the agent (barge)", newDump(t, agentPhone.Dir, before.agent, 10*time.Second), callerTone, whispTone)
	expectTones(t, "the supervisor (barge)", newDump(t, whisperer.Dir, before.whisperer, 6*time.Second), callerTone, agentTone)
	// The recording holds the caller (left) and, on the right, what the caller heard: the
	// agent and the supervisor who barged in.
	pcm, _, channels, err := testbox.ReadWAV16(filepath.Join(b.Dir, rec.Recording.Path))
	if err != nil || channels != 2 {
		t.Fatalf("recording: %v, %d channels", err, channels)
	}
	right := testbox.Channel(pcm, 2, 1)
	if l := heard(right, whispTone)[whispTone]; l < 0.05 {
		t.Errorf("the recording lacks the supervisor who barged in: %.3f", l)
	}
	if l := heard(testbox.Channel(pcm, 2, 0), callerTone)[callerTone]; l < 0.2 {
		t.Errorf("the recording lacks the caller: %.3f", l)
	}
}

// TestQueueCallerHearsMusicAndAnnouncements: a caller waiting in a queue nobody takes
// hears their position spoken on joining, the music of the configured folder, and the
// queue's message, never silence (baresip's dump of what it heard, by 100 ms).
func TestQueueCallerHearsMusicAndAnnouncements(t *testing.T) {
	music := t.TempDir()
	if err := testbox.WriteWAV16(filepath.Join(music, "a.wav"), testbox.Tone(350, 5000, 3*time.Second)); err != nil {
		t.Fatal(err)
	}
	b := startQueueBox(t, `music_on_hold: {dir: `+music+`}
agents:
  - {extension: "1001", auto_login: true}
queues:
  - {name: support, members: ["1001"], announce_every: 30s, messages: ["Thank you for waiting."], message_every: 10s}
`)
	b.MustCLI("agent", "pause", "1001")
	dir := baresipDials(t, b.sip, "2125550199", "4100", toneWAV(t, callerTone, time.Minute), 16*time.Second)
	b.waitCalls(t, 1)
	rec := b.lastCall(t)
	if rec.Result != "abandoned" || !hasEvent(rec, "queue.announce") {
		t.Fatalf("record: %+v\n%s", rec, timeline(rec))
	}
	pcm := newDump(t, dir, nil, 12*time.Second)
	var kinds []byte
	for i := 0; i+800 <= len(pcm); i += 800 {
		w := pcm[i : i+800]
		switch {
		case testbox.ToneLevel(w, 8000, 350) > 0.3:
			kinds = append(kinds, 'm')
		case rms(w) > 300:
			kinds = append(kinds, 's')
		default:
			kinds = append(kinds, '.')
		}
	}
	heardAs := string(kinds)
	// Speech first (the position), then music; at 10 s the message, then music again.
	first := strings.Index(heardAs, strings.Repeat("m", 10))
	second := strings.LastIndex(heardAs, strings.Repeat("m", 10))
	if first < 5 || strings.Count(heardAs[:first], "s") < 5 || second <= first+20 ||
		strings.Count(heardAs[first:second], "s") < 5 || strings.Count(heardAs[first:], ".") > 10 {
		t.Errorf("what the caller heard, by 100 ms (s speech, m music, . quiet):\n%s", heardAs)
	}
}

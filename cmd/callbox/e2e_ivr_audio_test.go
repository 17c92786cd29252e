package main

import (
	"math"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"callbox/internal/sipptest"
	"callbox/internal/testbox"
	"callbox/media/dsp"
)

// What a caller of the IVR hears, heard by a real softphone.

// baresipCaller is Debian's baresip calling the hotline from this machine (the loopback
// trunk): its microphone is a WAV file (with in-band DTMF in it), and it dumps what it hears.
func baresipCaller(t *testing.T, box, number string, mic string) string {
	return baresipDials(t, box, number, "4000", mic, 0)
}

// baresipDials is baresip calling dial from number on the loopback trunk; with quit, it
// hangs up and exits after that long. It returns baresip's folder.
func baresipDials(t *testing.T, box, number, dial, mic string, quit time.Duration) string {
	t.Helper()
	return testbox.DialBaresip(t, box, number, dial, mic, quit).Dir
}

// TestIVRBaresipCallerHearsTheMenuRingbackAndSurvey has a real softphone call the hotline:
// it presses 1 and later 5 as in-band tones in its microphone audio, and what it heard is
// checked: the spoken menu, the box's ringback while the agent's phone rang, the question.
func TestIVRBaresipCallerHearsTheMenuRingbackAndSurvey(t *testing.T) {
	if _, err := exec.LookPath("baresip"); err != nil {
		t.Fatal("baresip is not installed: `make test` installs it")
	}
	b := startIVRBox(t)
	ag := agent(t, b.sipBox, "1001", sipptest.Agent{RingMs: 2000, ByeFirst: true, TalkMs: 2000}, true)
	pcm := dsp.AppendSilence(nil, 1500*time.Millisecond)
	pcm, _ = dsp.AppendDTMF(pcm, '1', -9, -7, 150*time.Millisecond)
	pcm = dsp.AppendSilence(pcm, 6500*time.Millisecond)
	pcm, _ = dsp.AppendDTMF(pcm, '5', -9, -7, 150*time.Millisecond)
	pcm = dsp.AppendSilence(pcm, 6*time.Second)
	mic := filepath.Join(t.TempDir(), "mic.wav")
	if err := testbox.WriteWAV16(mic, pcm); err != nil {
		t.Fatal(err)
	}
	n := b.callCount(t)
	phone := baresipCaller(t, b.sip, "5550142", mic)
	ag.MustSucceed("agent")
	b.waitCalls(t, n+1)
	rec := b.lastCall(t)
	if got := path(rec); got != "screen hours menu [1 in-band] →group:support" {
		t.Errorf("IVR path %q", got)
	}
	if rec.Result != "answered" || rec.Survey != 5 {
		t.Fatalf("record: result %s survey %d\n%+v", rec.Result, rec.Survey, rec.Events)
	}
	files, _ := filepath.Glob(filepath.Join(phone, "dump-*-dec.wav"))
	if len(files) == 0 {
		t.Fatal("baresip dumped nothing it heard")
	}
	heard, rate, _, err := testbox.ReadWAV16(files[0])
	if err != nil || rate != 8000 {
		t.Fatalf("%v, rate %d", err, rate)
	}
	// In 100 ms windows: speech (loud, not the ringback tones), ringback (440 + 480 Hz).
	var kinds []byte
	for i := 0; i+800 <= len(heard); i += 800 {
		w := heard[i : i+800]
		switch {
		case testbox.ToneLevel(w, 8000, 440)+testbox.ToneLevel(w, 8000, 480) > 0.4:
			kinds = append(kinds, 'r')
		case rms(w) > 300:
			kinds = append(kinds, 's')
		default:
			kinds = append(kinds, '.')
		}
	}
	heardAs := string(kinds)
	// The menu (spoken, until the key), then ringback for the 2 s the agent's phone rang,
	// then after the conversation the spoken question.
	// (The agent echoes the caller's quiet microphone.)
	ring := strings.Index(heardAs, strings.Repeat("r", 12))
	quiet := strings.Index(heardAs[max(ring, 0):], strings.Repeat(".", 10))
	if ring < 0 || quiet < 0 || strings.Count(heardAs[:ring], "s") < 5 || strings.Count(heardAs[ring+quiet:], "s") < 10 {
		t.Errorf("what the caller heard, by 100 ms (s speech, r ringback, . quiet):\n%s", heardAs)
	}
}

func rms(pcm []int16) float64 {
	var sum float64
	for _, v := range pcm {
		sum += float64(v) * float64(v)
	}
	return math.Sqrt(sum / float64(len(pcm)))
}

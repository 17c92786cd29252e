package main

import (
	"bufio"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"callbox"
	"callbox/internal/sipptest"
)

// ivrLoadYAML is the flow IVR callers sit in: a menu whose prompt speaks for about 40 s (the
// box plays it at real-time pace, a frame every 20 ms), waiting for a key the callers never
// press (the box searches their audio for DTMF meanwhile).
var ivrLoadYAML = `ivr:
  flows:
    - name: load
      start: menu
      nodes:
        menu:
          menu: {say: "` + strings.Repeat("Thank you for calling. For support, press 1. For sales, press 2. For billing, press 3. To hear these choices again, stay on the line. ", 5) + `"}
          keys: {"1": extension:1001}
          timeout: 10s
          retries: 3
          default: hangup
`

// ivrSeries steps up the number of callers sitting in the menu at once.
func (e *env) ivrSeries(steps []int, hold time.Duration, limit float64) error {
	fmt.Printf("\n(c) concurrent callers in an IVR menu, %s each: the box plays the spoken menu to each (a frame every 20 ms)\n", hold)
	fmt.Printf("    and takes each caller's audio through a jitter buffer and the DTMF detector; a caller is good when the\n")
	fmt.Printf("    box sent and took ≥ 98 %% of the frames of the call's length\n\n")
	fmt.Println("| calls | good | failed % | box CPU % | CPU % per 100 calls | box RSS MB | RSS per call KB | late frames % | SIPp CPU % |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	// The first caller makes the box speak the menu; wait for that before measuring.
	if _, err := e.ivrStep(1, 5*time.Second, 0); err != nil {
		return err
	}
	base := rssKB(e.box.Process.Pid)
	for _, n := range steps {
		r, err := e.ivrStep(n, hold, base)
		if err != nil {
			return err
		}
		fmt.Printf("| %d | %d | %.2f | %.0f | %.1f | %.1f | %.0f | %.3f | %.0f |\n", n, r.good, r.failedPct, r.boxCPU, r.boxCPU/float64(n)*100,
			float64(r.rss)/1024, r.perCallKB, r.lostPct, r.sippCPU)
		if r.failedPct > limit {
			fmt.Printf("\nstopped at %d IVR callers: failed %.2f %% (%s)\n", n, r.failedPct, reasons(r.why))
			break
		}
	}
	return nil
}

// ivrStep runs n IVR callers at once for hold; lostPct is the share of frames the media
// clock sent late.
func (e *env) ivrStep(n int, hold time.Duration, baseRSS int) (result, error) {
	before := e.callCount()
	dir := filepath.Join(e.dir, fmt.Sprintf("ivr-%d", n))
	os.MkdirAll(dir, 0o755)
	pcap := filepath.Join(dir, "voice.pcap")
	// The callers' audio: a quiet voice-band tone, so the detector has real work.
	if err := sipptest.WriteRTPPcap(pcap, 0, sipptest.Tone{Freq: 300, Seconds: hold.Seconds(), Level: 2000}); err != nil {
		return result{}, err
	}
	xml := sipptest.Call{Pcap: pcap, TalkMs: int(hold / time.Millisecond), ByeFirst: true}.XML()
	os.WriteFile(filepath.Join(dir, "call.xml"), []byte(xml), 0o644)
	rate := max(float64(n)/5, 20)
	c := exec.Command("sipp", "-sf", "call.xml", "-s", "4900", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort()),
		"-mi", "127.0.0.1", "-mp", "12000", "-m", strconv.Itoa(n), "-r", strconv.FormatFloat(rate, 'f', 2, 64), "-l", strconv.Itoa(n),
		"-nostdin", "-max_socket", "60000", "-buff_size", "4194304", "-timeout", fmt.Sprintf("%ds", int(hold.Seconds())+120), e.sip)
	c.Dir = dir
	logf, err := os.Create(filepath.Join(dir, "sipp.log"))
	if err != nil {
		return result{}, err
	}
	defer logf.Close()
	c.Stdout, c.Stderr = logf, logf
	if err := c.Start(); err != nil {
		return result{}, err
	}
	deadline := time.Now().Add(time.Duration(float64(n)/rate*float64(time.Second)) + 15*time.Second)
	for e.active() < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	window := min(10*time.Second, hold/2)
	late0 := e.metric("callbox_media_frames_late_total")
	box, sipp := cpuOver(window, e.box.Process.Pid, c.Process.Pid)
	late := e.metric("callbox_media_frames_late_total") - late0
	rss := rssKB(e.box.Process.Pid)
	if err := c.Wait(); err != nil {
		out, _ := os.ReadFile(filepath.Join(dir, "sipp.log"))
		fmt.Fprintf(os.Stderr, "sipp (%d IVR callers): %v\n%s\n", n, err, tail(out))
	}
	recs := e.waitRecords(before, n)
	r := judgeIVR(recs, n, hold)
	r.boxCPU, r.sippCPU, r.rss = box, sipp, rss
	if baseRSS > 0 {
		r.perCallKB = float64(rss-baseRSS) / float64(n)
	}
	r.lostPct = 100 * late / (float64(n) * window.Seconds() * 50)
	return r, nil
}

// judgeIVR counts good IVR calls: the caller hung up in the menu, and the box played and
// took nearly every frame of the call's length.
func judgeIVR(recs []callbox.Record, n int, hold time.Duration) result {
	r := result{calls: n, why: map[string]int{}}
	r.why["no record"] = n - len(recs)
	for _, rec := range recs {
		m := rec.Media
		frames := uint64((rec.Ended.Sub(rec.Started) - 200*time.Millisecond).Seconds() * 50)
		switch {
		case rec.Result != "abandoned" || m == nil:
			r.why["ended otherwise: "+rec.Result+"/"+rec.Cause]++
		case rec.Ended.Sub(rec.Started) < hold-time.Second:
			r.why["ended early"]++
		case m.CallerOut < frames*98/100:
			r.why["box played too few frames"]++
		case m.CallerIn < frames*98/100:
			r.why["box took too few frames"]++
		default:
			r.good++
		}
	}
	r.failedPct = 100 * float64(n-r.good) / float64(n)
	return r
}

// metric reads a counter or gauge without labels from the daemon's /metrics.
func (e *env) metric(name string) float64 {
	res, err := http.Get("http://" + e.web + "/metrics")
	if err != nil {
		return 0
	}
	defer res.Body.Close()
	sc := bufio.NewScanner(res.Body)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			f, _ := strconv.ParseFloat(v, 64)
			return f
		}
	}
	return 0
}

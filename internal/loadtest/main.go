// Command loadtest drives the real callbox daemon with SIPp on loopback and prints what it
// sustains: concurrent bridged, recorded calls (stepping up until calls fail or RTP is lost),
// calls per second for short calls, and concurrent callers sitting in an IVR menu (ivr.go).
// `make bench` runs it.
//
// A call counts as good only when RTP really flowed both ways through the box: the call
// record's counters must show the caller's audio reaching the agent and the agent's echo
// reaching the caller (SIPp alone would call a call good on INVITE, 200 and BYE).
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"callbox"
	"callbox/internal/sipptest"
)

func main() {
	bin := flag.String("bin", "bin/callbox", "the callbox binary")
	steps := flag.String("concurrent", "100,200,300,400,500,600,700,800", "concurrent call steps")
	hold := flag.Duration("hold", 20*time.Second, "length of each call in the concurrency steps")
	cps := flag.String("cps", "25,50,100,150,200,250,300", "calls-per-second steps")
	cpsFor := flag.Duration("cps-for", 10*time.Second, "how long each calls-per-second step sends calls")
	limit := flag.Float64("limit", 0.1, "stop a series once failed calls or lost RTP pass this percentage")
	ivrSteps := flag.String("ivr", "100,200,300,400,500,600", "concurrent IVR caller steps (\"\" for none)")
	ivrHold := flag.Duration("ivr-hold", 30*time.Second, "how long each IVR caller stays in the menu")
	flag.Parse()
	if err := run(*bin, ints(*steps), *hold, ints(*cps), *cpsFor, *limit, ints(*ivrSteps), *ivrHold); err != nil {
		fmt.Fprintln(os.Stderr, "loadtest:", err)
		os.Exit(1)
	}
}

func ints(s string) []int {
	var out []int
	for _, f := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(strings.TrimSpace(f)); err == nil && n > 0 {
			out = append(out, n)
		}
	}
	return out
}

type env struct {
	dir      string
	box      *exec.Cmd
	sip      string
	web      string
	agent    *exec.Cmd
	agentDir string
}

func freePort() int {
	for {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			panic(err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		l.Close()
		if u, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", p)); err == nil {
			u.Close()
			return p
		}
	}
}

func run(bin string, steps []int, hold time.Duration, cps []int, cpsFor time.Duration, limit float64, ivrSteps []int, ivrHold time.Duration) error {
	dir, err := os.MkdirTemp("", "callbox-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e := &env{dir: dir}
	if err := e.start(bin); err != nil {
		return err
	}
	defer e.stop()
	cpu, model := cpuInfo()
	fmt.Printf("\ncallbox load on %d cores (%s), SIPp on the same machine\n", runtime.NumCPU(), model)
	_ = cpu

	if len(steps) > 0 {
		fmt.Printf("\n(a) concurrent bridged calls, recorded, %s each, RTP both ways (caller → box → agent echo → box → caller)\n\n", hold)
		fmt.Println("| calls | good | failed % | RTP lost % | jitter ms | box CPU % | box RSS MB | RSS per call KB | SIPp CPU % |")
		fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	}
	base := rssKB(e.box.Process.Pid)
	for _, n := range steps {
		r, err := e.concurrent(n, hold, base)
		if err != nil {
			return err
		}
		fmt.Printf("| %d | %d | %.2f | %.3f | %.2f | %.0f | %.1f | %.0f | %.0f |\n", n, r.good, r.failedPct, r.lostPct, r.jitterMS, r.boxCPU, float64(r.rss)/1024, r.perCallKB, r.sippCPU)
		if r.failedPct > limit || r.lostPct > limit {
			fmt.Printf("\nstopped at %d concurrent calls: failed %.2f %%, lost %.3f %% (%s)\n", n, r.failedPct, r.lostPct, reasons(r.why))
			break
		}
	}

	if len(cps) > 0 {
		fmt.Printf("\n(b) calls per second, 2 s of media each, for %s per step\n\n", cpsFor)
	}
	if len(cps) > 0 {
		fmt.Println("| calls/s | calls | good | failed % | box CPU % | SIPp CPU % |")
		fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: |")
	}
	for _, rate := range cps {
		r, err := e.rate(rate, cpsFor)
		if err != nil {
			return err
		}
		fmt.Printf("| %d | %d | %d | %.2f | %.0f | %.0f |\n", rate, r.calls, r.good, r.failedPct, r.boxCPU, r.sippCPU)
		if r.failedPct > limit {
			fmt.Printf("\nstopped at %d calls/s: failed %.2f %% (%s)\n", rate, r.failedPct, reasons(r.why))
			break
		}
	}
	if len(ivrSteps) > 0 {
		// A fresh daemon, so memory per call is the IVR's alone.
		e.stop()
		if err := e.start(bin); err != nil {
			return err
		}
		return e.ivrSeries(ivrSteps, ivrHold, limit)
	}
	return nil
}

func (e *env) start(bin string) error {
	sipPort, webPort := freePort(), freePort()
	e.sip = fmt.Sprintf("127.0.0.1:%d", sipPort)
	e.web = fmt.Sprintf("127.0.0.1:%d", webPort)
	cfg := fmt.Sprintf(`box: {name: load}
log: {level: warn}
sip:
  listen: [udp://127.0.0.1:%d]
  security: {request_rate: 100000}
rtp: {address: 127.0.0.1, ports: 20000-49999, no_media_timeout: 30s}
calls: {ring_timeout: 10s, shutdown_grace: 2s}
recording: {enabled: true, format: pcmu}
web: {listen: "%s"}
extensions:
  - {number: "1001", password: load-secret-1001}
trunks:
  - {name: loopback, kind: ip, sources: [127.0.0.1]}
inbound:
  - {number: "4001", destination: "extension:1001"}
  - {number: "4002", destination: "flow:load"}
%s`, sipPort, e.web, ivrLoadYAML)
	cfgPath := filepath.Join(e.dir, "callbox.yaml")
	if err := os.WriteFile(cfgPath, []byte(cfg), 0o600); err != nil {
		return err
	}
	e.box = exec.Command(bin, "serve", "--config", cfgPath, "--data", filepath.Join(e.dir, "data"), "--socket", filepath.Join(e.dir, "cb.sock"))
	e.box.Env = append(os.Environ(), "GOMEMLIMIT=768MiB")
	logf, _ := os.Create(filepath.Join(e.dir, "daemon.log"))
	e.box.Stdout, e.box.Stderr = io.Discard, logf
	if err := e.box.Start(); err != nil {
		return err
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		if res, err := http.Get("http://" + e.web + "/healthz"); err == nil {
			res.Body.Close()
			break
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("the daemon did not start; see %s", filepath.Join(e.dir, "daemon.log"))
		}
		time.Sleep(50 * time.Millisecond)
	}
	// One SIPp agent registered as 1001 answers every call and echoes its RTP.
	agentPort := freePort()
	e.agentDir = filepath.Join(e.dir, "agent")
	os.MkdirAll(e.agentDir, 0o755)
	os.WriteFile(filepath.Join(e.agentDir, "reg.xml"), []byte(sipptest.RegisterXML(200)), 0o644)
	os.WriteFile(filepath.Join(e.agentDir, "agent.xml"), []byte(sipptest.Agent{}.XML()), 0o644)
	reg := exec.Command("sipp", "-sf", "reg.xml", "-s", "1001", "-au", "1001", "-ap", "load-secret-1001", "-m", "1",
		"-i", "127.0.0.1", "-p", strconv.Itoa(agentPort), "-nostdin", "-timeout", "10s", "-timeout_error", e.sip)
	reg.Dir = e.agentDir
	if out, err := reg.CombinedOutput(); err != nil {
		return fmt.Errorf("register the agent: %v\n%s", err, tail(out))
	}
	e.agent = exec.Command("sipp", "-sf", "agent.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(agentPort), "-mi", "127.0.0.1",
		"-mp", "16000", "-rtp_echo", "-nostdin", "-max_socket", "60000", "-buff_size", "4194304")
	e.agent.Dir = e.agentDir
	e.agent.Stdout, e.agent.Stderr = io.Discard, io.Discard
	return e.agent.Start()
}

func (e *env) stop() {
	if e.agent != nil && e.agent.Process != nil {
		e.agent.Process.Kill()
		e.agent.Wait()
	}
	if e.box != nil && e.box.Process != nil {
		e.box.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { e.box.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			e.box.Process.Kill()
		}
	}
}

type result struct {
	why                          map[string]int
	calls, good                  int
	failedPct, lostPct, jitterMS float64
	boxCPU, sippCPU, perCallKB   float64
	rss                          int
}

// caller starts a SIPp caller: n calls at rate, at most limit at once, each playing pcap for
// talk.
func (e *env) caller(name string, n int, rate float64, lim int, talk time.Duration, pcapSeconds float64) (*exec.Cmd, error) {
	dir := filepath.Join(e.dir, name)
	os.MkdirAll(dir, 0o755)
	pcap := filepath.Join(dir, "audio.pcap")
	if err := sipptest.WriteRTPPcap(pcap, 0, sipptest.Tone{Freq: 440, Seconds: pcapSeconds}); err != nil {
		return nil, err
	}
	xml := sipptest.Call{Pcap: pcap, TalkMs: int(talk / time.Millisecond), ByeFirst: true}.XML()
	os.WriteFile(filepath.Join(dir, "call.xml"), []byte(xml), 0o644)
	c := exec.Command("sipp", "-sf", "call.xml", "-s", "4001", "-i", "127.0.0.1", "-p", strconv.Itoa(freePort()),
		"-mi", "127.0.0.1", "-mp", "18000", "-m", strconv.Itoa(n), "-r", strconv.FormatFloat(rate, 'f', 2, 64), "-l", strconv.Itoa(lim),
		"-nostdin", "-max_socket", "60000", "-buff_size", "4194304", "-timeout", fmt.Sprintf("%ds", int(talk.Seconds())+120), e.sip)
	c.Dir = dir
	c.Stdout, c.Stderr = io.Discard, io.Discard
	return c, c.Start()
}

func (e *env) concurrent(n int, hold time.Duration, baseRSS int) (result, error) {
	before := e.callCount()
	rate := max(float64(n)/5, 20)
	c, err := e.caller(fmt.Sprintf("conc-%d", n), n, rate, n, hold, hold.Seconds())
	if err != nil {
		return result{}, err
	}
	// Measure once every call is up.
	deadline := time.Now().Add(time.Duration(float64(n)/rate*float64(time.Second)) + 15*time.Second)
	for e.active() < n && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(2 * time.Second)
	window := min(10*time.Second, hold/2)
	box, sipp := cpuOver(window, e.box.Process.Pid, c.Process.Pid, e.agent.Process.Pid)
	rss := rssKB(e.box.Process.Pid)
	c.Wait()
	recs := e.waitRecords(before, n)
	r := judge(recs, n, hold)
	r.boxCPU, r.sippCPU, r.rss = box, sipp, rss
	r.perCallKB = float64(rss-baseRSS) / float64(n)
	return r, nil
}

func (e *env) rate(rate int, dur time.Duration) (result, error) {
	before := e.callCount()
	n := rate * int(dur.Seconds())
	c, err := e.caller(fmt.Sprintf("cps-%d", rate), n, float64(rate), rate*6, 2*time.Second, 2)
	if err != nil {
		return result{}, err
	}
	time.Sleep(3 * time.Second)
	box, sipp := cpuOver(min(dur-3*time.Second, 5*time.Second), e.box.Process.Pid, c.Process.Pid, e.agent.Process.Pid)
	c.Wait()
	recs := e.waitRecords(before, n)
	r := judge(recs, n, 2*time.Second)
	r.boxCPU, r.sippCPU = box, sipp
	return r, nil
}

// judge counts good calls: answered, and RTP through the box both ways for (nearly) the
// whole talk time.
func judge(recs []callbox.Record, n int, talk time.Duration) result {
	r := result{calls: n, why: map[string]int{}}
	r.why["no record"] = n - len(recs)
	expected := uint64(talk.Seconds() * 50)
	var sent, lost uint64
	var jitter float64
	var answered int
	for _, rec := range recs {
		m := rec.Media
		if rec.Result != "answered" || m == nil {
			r.why["not answered: "+rec.Cause]++
			continue
		}
		answered++
		toAgent := m.CalleeOut
		back := m.CallerOut
		sent += m.CallerIn + m.CalleeIn
		lost += sub(m.CallerIn, toAgent) + sub(m.CalleeIn, back) + m.CallerLost + m.CalleeLost
		jitter += (m.CallerJitterMS + m.CalleeJitterMS) / 2
		switch {
		case m.CallerIn < expected*95/100:
			r.why["caller sent little"]++
		case toAgent < m.CallerIn*99/100:
			r.why["box lost on the way to the agent"]++
		case m.CalleeIn < toAgent*99/100:
			r.why["agent echoed little"]++
		case back < m.CalleeIn*99/100:
			r.why["box lost on the way back"]++
		default:
			r.good++
		}
	}
	r.failedPct = 100 * float64(n-r.good) / float64(n)
	if sent > 0 {
		r.lostPct = 100 * float64(lost) / float64(sent)
	}
	if answered > 0 {
		r.jitterMS = jitter / float64(answered)
	}
	return r
}

func sub(a, b uint64) uint64 {
	if a > b {
		return a - b
	}
	return 0
}

// The TCP API needs a login; the load test reads through the socket.
func (e *env) socketClient() *http.Client {
	return &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", filepath.Join(e.dir, "cb.sock"))
	}}}
}

func (e *env) socketGet(path string, v any) error {
	res, err := e.socketClient().Get("http://callbox" + path)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(v)
}

func (e *env) active() int {
	var st struct {
		Calls struct{ Active int } `json:"calls"`
	}
	e.socketGet("/api/v1/status", &st)
	return st.Calls.Active
}

func (e *env) callCount() int {
	var calls []callbox.Record
	e.socketGet("/api/v1/calls?limit=10000", &calls)
	return len(calls)
}

// waitRecords waits (up to a minute) for n new records after before, and returns them.
func (e *env) waitRecords(before, n int) []callbox.Record {
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if e.active() == 0 && e.callCount() >= before+n {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	var calls []callbox.Record
	e.socketGet(fmt.Sprintf("/api/v1/calls?limit=%d", min(n, 10000)), &calls)
	return calls
}

// cpuOver measures the CPU use (percent of one core) of the box and of the other processes
// together over d.
func cpuOver(d time.Duration, box int, others ...int) (float64, float64) {
	b0, o0 := ticks(box), 0
	for _, p := range others {
		o0 += ticks(p)
	}
	time.Sleep(d)
	b1, o1 := ticks(box), 0
	for _, p := range others {
		o1 += ticks(p)
	}
	hz := 100.0 // USER_HZ on Linux
	return float64(b1-b0) / hz / d.Seconds() * 100, float64(o1-o0) / hz / d.Seconds() * 100
}

func ticks(pid int) int {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	s := string(b)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	u, _ := strconv.Atoi(f[11])
	st, _ := strconv.Atoi(f[12])
	return u + st
}

func rssKB(pid int) int {
	b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "VmRSS:") {
			n, _ := strconv.Atoi(strings.Fields(line)[1])
			return n
		}
	}
	return 0
}

func cpuInfo() (int, string) {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "model name") {
			_, v, _ := strings.Cut(line, ":")
			return runtime.NumCPU(), strings.TrimSpace(v)
		}
	}
	return runtime.NumCPU(), runtime.GOARCH
}

func tail(b []byte) string {
	if len(b) > 2000 {
		b = b[len(b)-2000:]
	}
	return string(b)
}

func reasons(why map[string]int) string {
	var parts []string
	for k, v := range why {
		if v > 0 {
			parts = append(parts, fmt.Sprintf("%s: %d", k, v))
		}
	}
	return strings.Join(parts, ", ")
}

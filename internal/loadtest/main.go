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
	peers := flag.Int("peers", 4, "SIPp agents (and callers) sharing the load")
	cpsFor := flag.Duration("cps-for", 10*time.Second, "how long each calls-per-second step sends calls")
	limit := flag.Float64("limit", 0.1, "stop a series once failed calls or lost RTP pass this percentage")
	ivrSteps := flag.String("ivr", "100,200,300,400,500,600", "concurrent IVR caller steps (\"\" for none)")
	ivrHold := flag.Duration("ivr-hold", 30*time.Second, "how long each IVR caller stays in the menu")
	flag.StringVar(&profileDir, "profiles", "", "a folder to write the daemon's heap and goroutine profiles to at each concurrency step, taken once every call is up")
	flag.Parse()
	if err := run(*bin, ints(*steps), *hold, ints(*cps), *cpsFor, *limit, *peers, ints(*ivrSteps), *ivrHold); err != nil {
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

// profileDir, when set, receives heap-N.pb.gz and goroutine-N.txt for each concurrency step.
var profileDir string

type env struct {
	client *http.Client // to the daemon's socket, one for the run: a client per request would leave its idle connection open in the daemon
	dir    string
	box    *exec.Cmd
	sip    string
	web    string
	agents []*agent
}

// agent is one SIPp answering calls for one extension, echoing their RTP. Several agents
// (and callers) share the load: one SIPp's RTP echo is a single thread, and it would limit
// long before the box does.
type agent struct {
	ext   string
	port  int
	media int
	dir   string
	cmd   *exec.Cmd
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

func run(bin string, steps []int, hold time.Duration, cps []int, cpsFor time.Duration, limit float64, peers int, ivrSteps []int, ivrHold time.Duration) error {
	dir, err := os.MkdirTemp("", "callbox-load")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	e := &env{dir: dir}
	if err := e.start(bin, peers); err != nil {
		return err
	}
	defer e.stop()
	cpu, model := cpuInfo()
	fmt.Printf("\ncallbox load on %d cores (%s), %d SIPp callers and %d SIPp agents on the same machine\n", runtime.NumCPU(), model, peers, peers)
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
		if err := e.start(bin, peers); err != nil {
			return err
		}
		return e.ivrSeries(ivrSteps, ivrHold, limit)
	}
	return nil
}

func (e *env) start(bin string, peers int) error {
	e.client = nil // a new daemon: no connection to the old one is kept
	sipPort, webPort := freePort(), freePort()
	e.sip = fmt.Sprintf("127.0.0.1:%d", sipPort)
	e.web = fmt.Sprintf("127.0.0.1:%d", webPort)
	cfg := fmt.Sprintf(`box: {name: load}
log: {level: warn}
sip:
  listen: [udp://127.0.0.1:%d]
  security: {request_rate: 100000}
  # SIPp's answering scenario does not answer keep-alive OPTIONS; the agent re-registers at
  # every step instead.
  registrar: {keepalive: 0}
rtp: {address: 127.0.0.1, ports: 20000-49999, no_media_timeout: 30s}
calls: {ring_timeout: 10s, shutdown_grace: 2s}
recording: {enabled: true, format: pcmu}
web: {listen: "%s"}
trunks:
  - {name: loopback, kind: ip, sources: [127.0.0.1]}
`, sipPort, e.web)
	cfg += "extensions:\n"
	for i := 1; i <= peers; i++ {
		cfg += fmt.Sprintf("  - {number: \"%d\", password: load-secret-%d}\n", 1000+i, 1000+i)
	}
	cfg += "inbound:\n"
	for i := 1; i <= peers; i++ {
		cfg += fmt.Sprintf("  - {number: \"%d\", destination: \"extension:%d\"}\n", 4000+i, 1000+i)
	}
	cfg += "  - {number: \"4900\", destination: \"flow:load\"}\n" + ivrLoadYAML
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
	e.agents = nil
	for i := 1; i <= peers; i++ {
		a := &agent{ext: strconv.Itoa(1000 + i), port: freePort(), media: 16000 + 10*i, dir: filepath.Join(e.dir, fmt.Sprintf("agent-%d", i))}
		os.MkdirAll(a.dir, 0o755)
		os.WriteFile(filepath.Join(a.dir, "reg.xml"), []byte(sipptest.RegisterXML(200)), 0o644)
		os.WriteFile(filepath.Join(a.dir, "agent.xml"), []byte(sipptest.Agent{}.XML()), 0o644)
		e.agents = append(e.agents, a)
	}
	return e.register()
}

// register (re-)registers the agents; a registration lasts 5 minutes, less than a whole load
// run. An agent's SIPp holds its port, so it is stopped around its registration.
func (e *env) register() error {
	for _, a := range e.agents {
		if a.cmd != nil && a.cmd.Process != nil {
			a.cmd.Process.Kill()
			a.cmd.Wait()
		}
		reg := exec.Command("sipp", "-sf", "reg.xml", "-s", a.ext, "-au", a.ext, "-ap", "load-secret-"+a.ext, "-m", "1",
			"-i", "127.0.0.1", "-p", strconv.Itoa(a.port), "-nostdin", "-timeout", "10s", "-timeout_error", e.sip)
		reg.Dir = a.dir
		if out, err := reg.CombinedOutput(); err != nil {
			return fmt.Errorf("register agent %s: %v\n%s", a.ext, err, tail(out))
		}
		a.cmd = exec.Command("sipp", "-sf", "agent.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(a.port), "-mi", "127.0.0.1",
			"-mp", strconv.Itoa(a.media), "-rtp_echo", "-nostdin", "-max_socket", "60000", "-buff_size", "4194304")
		a.cmd.Dir = a.dir
		a.cmd.Stdout, a.cmd.Stderr = io.Discard, io.Discard
		if err := a.cmd.Start(); err != nil {
			return err
		}
	}
	return nil
}

func (e *env) pids() []int {
	var out []int
	for _, a := range e.agents {
		if a.cmd != nil && a.cmd.Process != nil {
			out = append(out, a.cmd.Process.Pid)
		}
	}
	return out
}

func (e *env) stop() {
	for _, a := range e.agents {
		if a.cmd != nil && a.cmd.Process != nil {
			a.cmd.Process.Kill()
			a.cmd.Wait()
		}
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

// callers starts one SIPp caller per agent, n calls in all at rate, at most limit at once,
// each playing pcapSeconds of audio and hanging up after talk.
func (e *env) callers(name string, n int, rate float64, lim int, talk time.Duration, pcapSeconds float64) ([]*exec.Cmd, error) {
	var cmds []*exec.Cmd
	k := len(e.agents)
	for i := range e.agents {
		calls := n / k
		if i < n%k {
			calls++
		}
		if calls == 0 {
			continue
		}
		dir := filepath.Join(e.dir, fmt.Sprintf("%s-%d", name, i))
		os.MkdirAll(dir, 0o755)
		pcap := filepath.Join(dir, "audio.pcap")
		if err := sipptest.WriteRTPPcap(pcap, 0, sipptest.Tone{Freq: 440, Seconds: pcapSeconds}); err != nil {
			return nil, err
		}
		xml := sipptest.Call{Pcap: pcap, TalkMs: int(talk / time.Millisecond), ByeFirst: true}.XML()
		os.WriteFile(filepath.Join(dir, "call.xml"), []byte(xml), 0o644)
		did := strconv.Itoa(4000 + i + 1)
		c := exec.Command("sipp", "-sf", "call.xml", "-s", did, "-i", "127.0.0.1", "-p", strconv.Itoa(freePort()),
			"-mi", "127.0.0.1", "-mp", strconv.Itoa(18000+100*i), "-m", strconv.Itoa(calls),
			"-r", strconv.FormatFloat(rate/float64(k), 'f', 2, 64), "-l", strconv.Itoa(max(lim/k, 1)+1),
			"-rtp_threadtasks", "32", "-nostdin", "-max_socket", "60000", "-buff_size", "4194304",
			"-timeout", fmt.Sprintf("%ds", int(talk.Seconds())+120), e.sip)
		c.Dir = dir
		c.Stdout, c.Stderr = io.Discard, io.Discard
		if err := c.Start(); err != nil {
			return nil, err
		}
		cmds = append(cmds, c)
	}
	return cmds, nil
}

func cmdPids(cmds []*exec.Cmd) []int {
	var out []int
	for _, c := range cmds {
		out = append(out, c.Process.Pid)
	}
	return out
}

func waitAll(cmds []*exec.Cmd) {
	for _, c := range cmds {
		c.Wait()
	}
}

func (e *env) concurrent(n int, hold time.Duration, baseRSS int) (result, error) {
	if err := e.register(); err != nil {
		return result{}, err
	}
	before := e.callCount()
	rate := max(float64(n)/5, 20)
	c, err := e.callers(fmt.Sprintf("conc-%d", n), n, rate, n, hold, hold.Seconds())
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
	box, sipp := cpuOver(window, e.box.Process.Pid, append(cmdPids(c), e.pids()...)...)
	rss := rssKB(e.box.Process.Pid)
	if profileDir != "" {
		if err := e.profiles(n); err != nil {
			fmt.Fprintln(os.Stderr, "loadtest: profiles:", err)
		}
	}
	waitAll(c)
	recs := e.waitRecords(before, n)
	r := judge(recs, n, hold)
	r.boxCPU, r.sippCPU, r.rss = box, sipp, rss
	r.perCallKB = float64(rss-baseRSS) / float64(n)
	return r, nil
}

func (e *env) rate(rate int, dur time.Duration) (result, error) {
	if err := e.register(); err != nil {
		return result{}, err
	}
	before := e.callCount()
	n := rate * int(dur.Seconds())
	c, err := e.callers(fmt.Sprintf("cps-%d", rate), n, float64(rate), rate*6, 2*time.Second, 2)
	if err != nil {
		return result{}, err
	}
	time.Sleep(3 * time.Second)
	box, sipp := cpuOver(min(dur-3*time.Second, 5*time.Second), e.box.Process.Pid, append(cmdPids(c), e.pids()...)...)
	waitAll(c)
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
	if e.client != nil {
		return e.client
	}
	e.client = &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "unix", filepath.Join(e.dir, "cb.sock"))
	}}}
	return e.client
}

func (e *env) socketGet(path string, v any) error {
	res, err := e.socketClient().Get("http://callbox" + path)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	return json.NewDecoder(res.Body).Decode(v)
}

// profiles saves the daemon's heap profile and goroutine dump (served on the socket only) into
// profileDir, named after the step.
func (e *env) profiles(n int) error {
	if err := os.MkdirAll(profileDir, 0o755); err != nil {
		return err
	}
	for path, name := range map[string]string{
		"/debug/pprof/heap?gc=1":         fmt.Sprintf("heap-%d.pb.gz", n), // after a GC: the heap of every call up
		"/debug/pprof/goroutine?debug=1": fmt.Sprintf("goroutine-%d.txt", n),
		"/debug/pprof/heap?debug=1":      fmt.Sprintf("heap-%d.txt", n), // ends with runtime.MemStats
	} {
		res, err := e.socketClient().Get("http://callbox" + path)
		if err != nil {
			return err
		}
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		if res.StatusCode != http.StatusOK {
			return fmt.Errorf("%s: %s", path, res.Status)
		}
		if err := os.WriteFile(filepath.Join(profileDir, name), b, 0o644); err != nil {
			return err
		}
	}
	return nil
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

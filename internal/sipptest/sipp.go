// Package sipptest drives SIPp (Debian's sip-tester) as a real SIP peer in tests: callers,
// agents that answer with RTP, registrations and load runs.
package sipptest

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"callbox/internal/testbox"
)

// Options say how to run one SIPp.
type Options struct {
	XML       string // the scenario
	Target    string // host:port of the box ("" for a UAS that only waits)
	Service   string // -s: the number called or the extension registered
	Port      int    // local SIP port (0: a free one)
	MediaPort int    // local RTP port (0: a free one)
	Transport string // "udp" (default) or "tcp"
	User      string // -au
	Password  string // -ap
	Echo      bool   // -rtp_echo: send back every RTP packet received
	Calls     int    // -m (default 1)
	Rate      float64
	Limit     int           // -l: concurrent calls
	Timeout   time.Duration // whole run (default 60 s)
	Args      []string      // anything else
}

// Proc is a running SIPp.
type Proc struct {
	t     testing.TB
	cmd   *exec.Cmd
	dir   string
	out   bytes.Buffer
	done  chan struct{}
	err   error
	Port  int
	Media int
}

// Ensure fails the test early with a clear message when SIPp is missing.
func Ensure(t testing.TB) {
	t.Helper()
	if _, err := exec.LookPath("sipp"); err != nil {
		t.Fatal("sipp is not installed: `make test` installs Debian's sip-tester")
	}
}

// Start runs SIPp in the background.
func Start(t testing.TB, o Options) *Proc {
	t.Helper()
	Ensure(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "scenario.xml"), []byte(o.XML), 0o644); err != nil {
		t.Fatal(err)
	}
	if o.Port == 0 {
		o.Port = testbox.FreePort(t)
	}
	if o.MediaPort == 0 {
		o.MediaPort = freeMediaPort(t)
	}
	if o.Calls == 0 {
		o.Calls = 1
	}
	if o.Timeout == 0 {
		o.Timeout = 60 * time.Second
	}
	args := []string{"-sf", "scenario.xml", "-i", "127.0.0.1", "-p", strconv.Itoa(o.Port),
		"-mi", "127.0.0.1", "-mp", strconv.Itoa(o.MediaPort), "-m", strconv.Itoa(o.Calls),
		"-nostdin", "-trace_err", "-trace_stat", "-timeout", fmt.Sprintf("%ds", int(o.Timeout.Seconds())), "-timeout_error",
		"-max_recv_loops", "1000", "-max_sched_loops", "1000"}
	if o.Service != "" {
		args = append(args, "-s", o.Service)
	}
	if o.Transport == "tcp" {
		args = append(args, "-t", "t1")
	}
	if o.User != "" {
		args = append(args, "-au", o.User, "-ap", o.Password)
	}
	if o.Echo {
		args = append(args, "-rtp_echo")
	}
	if o.Rate > 0 {
		args = append(args, "-r", strconv.FormatFloat(o.Rate, 'f', -1, 64))
	}
	if o.Limit > 0 {
		args = append(args, "-l", strconv.Itoa(o.Limit))
	}
	args = append(args, o.Args...)
	if o.Target != "" {
		args = append(args, o.Target)
	}
	p := &Proc{t: t, dir: dir, done: make(chan struct{}), Port: o.Port, Media: o.MediaPort}
	ctx, cancel := context.WithTimeout(context.Background(), o.Timeout+30*time.Second)
	p.cmd = exec.CommandContext(ctx, "sipp", args...)
	p.cmd.Dir = dir
	p.cmd.Stdout = &p.out
	p.cmd.Stderr = &p.out
	if err := p.cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	go func() {
		defer cancel()
		p.err = p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.cmd.Process.Kill()
		<-p.done
	})
	return p
}

// freeMediaPort finds an even port with the next two free, for SIPp's RTP (and its echo of
// port+2).
func freeMediaPort(t testing.TB) int {
	for range 200 {
		p := 40000 + 2*rand.IntN(9000)
		if udpFree(p) && udpFree(p+2) {
			return p
		}
	}
	t.Fatal("no free media port")
	return 0
}

func udpFree(port int) bool {
	c, err := net.ListenPacket("udp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// Wait waits for SIPp to exit and returns its exit code (0: every call succeeded).
func (p *Proc) Wait() int {
	<-p.done
	if p.err == nil {
		return 0
	}
	if ee, ok := p.err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	p.t.Fatal(p.err)
	return -1
}

// MustSucceed waits and fails the test unless every call succeeded.
func (p *Proc) MustSucceed(what string) {
	p.t.Helper()
	if code := p.Wait(); code != 0 {
		p.t.Fatalf("%s: sipp exited %d\n%s\nerrors:\n%s", what, code, p.out.String(), p.Errors())
	}
}

// Errors is what SIPp wrote to its error log.
func (p *Proc) Errors() string {
	files, _ := filepath.Glob(filepath.Join(p.dir, "*_errors.log"))
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		b.Write(data)
	}
	return b.String()
}

var statField = regexp.MustCompile(`^(SuccessfulCall|FailedCall)\(C\)$`)

// Stats reads the cumulative successful and failed calls from SIPp's stat file.
func (p *Proc) Stats() (ok, failed int) {
	files, _ := filepath.Glob(filepath.Join(p.dir, "*_.csv"))
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimSpace(string(data)), "\n")
		if len(lines) < 2 {
			continue
		}
		head := strings.Split(lines[0], ";")
		last := strings.Split(lines[len(lines)-1], ";")
		for i, h := range head {
			if i >= len(last) || !statField.MatchString(h) {
				continue
			}
			n, _ := strconv.Atoi(last[i])
			if strings.HasPrefix(h, "Successful") {
				ok = n
			} else {
				failed = n
			}
		}
	}
	return ok, failed
}

// Register registers ext with password through SIPp from port (so a SIPp agent started on
// that port afterwards receives the extension's calls).
func Register(t testing.TB, box string, ext, password string, port int, transport string, expect int) {
	t.Helper()
	p := Start(t, Options{XML: RegisterXML(expect), Target: box, Service: ext, Port: port, User: ext, Password: password, Transport: transport, Timeout: 15 * time.Second})
	p.MustSucceed("register " + ext)
}

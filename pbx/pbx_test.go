package pbx

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/emiago/sipgo"
	"github.com/emiago/sipgo/sip"

	"callbox"
	"callbox/config"
)

type noCalls struct{}

func (noCalls) HandleCall(l callbox.Leg, in Incoming) {
	go l.Hangup(context.Background(), callbox.CauseNotFound)
}

func freeUDPPort(t *testing.T) int {
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	return c.LocalAddr().(*net.UDPAddr).Port
}

// startPBX runs a PBX in the test process on a free UDP port.
func startPBX(t *testing.T, extra string) (*PBX, string) {
	t.Helper()
	port := freeUDPPort(t)
	cfg, err := config.Parse("test.yaml", []byte(fmt.Sprintf(`sip:
  listen: [udp://127.0.0.1:%d]
%s
rtp: {address: 127.0.0.1, ports: 34000-34999}
extensions:
  - {number: "1001", password: secret-1001}
`, port, extra)))
	if err != nil {
		t.Fatal(err)
	}
	p, err := New(Options{Config: cfg, Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Calls: noCalls{}})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Error(err)
		}
	})
	return p, fmt.Sprintf("127.0.0.1:%d", port)
}

// register sends a REGISTER from a sipgo client and answers the challenge.
func register(t *testing.T, box, user, password string) (*sip.Response, []string) {
	return registerFor(t, box, user, password, 300)
}

func registerFor(t *testing.T, box, user, password string, expires int) (*sip.Response, []string) {
	t.Helper()
	ua, err := sipgo.NewUA(sipgo.WithUserAgent("test-phone"))
	if err != nil {
		t.Fatal(err)
	}
	defer ua.Close()
	c, err := sipgo.NewClient(ua, sipgo.WithClientHostname("127.0.0.1"))
	if err != nil {
		t.Fatal(err)
	}
	host, port, _ := net.SplitHostPort(box)
	var p int
	fmt.Sscan(port, &p)
	req := sip.NewRequest(sip.REGISTER, sip.Uri{Scheme: "sip", Host: host, Port: p})
	req.AppendHeader(&sip.ToHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: host}})
	req.AppendHeader(&sip.FromHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: host}, Params: sip.HeaderParams{{K: "tag", V: "t1"}}})
	req.AppendHeader(&sip.ContactHeader{Address: sip.Uri{Scheme: "sip", User: user, Host: "127.0.0.1", Port: 5999}})
	req.AppendHeader(sip.NewHeader("Expires", fmt.Sprint(expires)))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	res, err := c.Do(ctx, req)
	if err != nil {
		t.Fatal(err)
	}
	var challenges []string
	for _, h := range res.GetHeaders("WWW-Authenticate") {
		challenges = append(challenges, h.Value())
	}
	if res.StatusCode != 401 {
		return res, challenges
	}
	res, err = c.DoDigestAuth(ctx, req, res, sipgo.DigestAuth{Username: user, Password: password})
	if err != nil {
		t.Fatal(err)
	}
	return res, challenges
}

func TestRegisterWithSHA256Digest(t *testing.T) {
	p, box := startPBX(t, "  security: {digest: [SHA-256]}")
	res, challenges := register(t, box, "1001", "secret-1001")
	if len(challenges) != 1 || !strings.Contains(challenges[0], "algorithm=SHA-256") {
		t.Fatalf("challenges %v", challenges)
	}
	if res.StatusCode != 200 {
		t.Fatalf("REGISTER answered %d", res.StatusCode)
	}
	if p.Registered() != 1 {
		t.Fatalf("registered extensions: %d", p.Registered())
	}
	if res, _ := register(t, box, "1001", "wrong"); res.StatusCode != 403 {
		t.Fatalf("a wrong password got %d", res.StatusCode)
	}
}

func TestRegisterRefusesTooShortAndOtherAOR(t *testing.T) {
	_, box := startPBX(t, "")
	// Registering 1001's number with 1001's credentials but another AOR is refused.
	if res, _ := register(t, box, "1002", "secret-1001"); res.StatusCode != 403 {
		t.Fatalf("unknown extension: %d", res.StatusCode)
	}
}

func TestRegisterExpiryBounds(t *testing.T) {
	p, box := startPBX(t, "  registrar: {min_expires: 60s, max_expires: 10m}")
	res, _ := registerFor(t, box, "1001", "secret-1001", 5)
	if res.StatusCode != 423 || res.GetHeader("Min-Expires") == nil || res.GetHeader("Min-Expires").Value() != "60" {
		t.Fatalf("too short: %d %v", res.StatusCode, res.GetHeader("Min-Expires"))
	}
	res, _ = registerFor(t, box, "1001", "secret-1001", 86400)
	if res.StatusCode != 200 || res.Contact() == nil {
		t.Fatalf("too long: %d", res.StatusCode)
	}
	if v, _ := res.Contact().Params.Get("expires"); v != "600" {
		t.Fatalf("granted %s s, want the 600 s maximum", v)
	}
	// Expires 0 removes the binding.
	if res, _ := registerFor(t, box, "1001", "secret-1001", 0); res.StatusCode != 200 || p.Registered() != 0 {
		t.Fatalf("unregister: %d, %d registered", res.StatusCode, p.Registered())
	}
}

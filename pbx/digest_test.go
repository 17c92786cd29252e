package pbx

import (
	"crypto/md5"
	"crypto/sha256"
	"fmt"
	"hash"
	"strings"
	"testing"
	"time"
)

// clientResponse computes what a phone sends, independently of the server code.
func clientResponse(h func() hash.Hash, user, realm, pass, method, uri, nonce, nc, cnonce string) string {
	hx := func(s string) string { x := h(); x.Write([]byte(s)); return fmt.Sprintf("%x", x.Sum(nil)) }
	ha1 := hx(user + ":" + realm + ":" + pass)
	ha2 := hx(method + ":" + uri)
	if nc == "" {
		return hx(ha1 + ":" + nonce + ":" + ha2)
	}
	return hx(ha1 + ":" + nonce + ":" + nc + ":" + cnonce + ":auth:" + ha2)
}

func nonceOf(challenge string) string {
	_, rest, _ := strings.Cut(challenge, `nonce="`)
	n, _, _ := strings.Cut(rest, `"`)
	return n
}

func TestDigestVerify(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a := newDigestAuth("callbox", 5*time.Minute, func() time.Time { return now })
	ch := a.challenges([]string{"SHA-256", "MD5"}, false)
	if !strings.Contains(ch[0], "algorithm=SHA-256") || !strings.Contains(ch[1], "algorithm=MD5") {
		t.Fatalf("challenges %v", ch)
	}
	nonce := nonceOf(ch[0])
	creds := func(h func() hash.Hash, alg, pass, nc string) credentials {
		qop := "auth"
		if nc == "" {
			qop = ""
		}
		return credentials{username: "1001", realm: "callbox", nonce: nonce, uri: "sip:127.0.0.1", algorithm: alg, qop: qop, nc: nc, cnonce: "xyz",
			response: clientResponse(h, "1001", "callbox", pass, "REGISTER", "sip:127.0.0.1", nonce, nc, "xyz")}
	}
	tests := []struct {
		name string
		c    credentials
		want authResult
	}{
		{"SHA-256 right", creds(sha256.New, "SHA-256", "demo-1001", "00000001"), authOK},
		{"MD5 right, next nc", creds(md5.New, "MD5", "demo-1001", "00000002"), authOK},
		{"replayed nc", creds(md5.New, "MD5", "demo-1001", "00000002"), authFailed},
		{"wrong password", creds(md5.New, "MD5", "guess", "00000003"), authFailed},
		{"unknown algorithm", func() credentials {
			c := creds(md5.New, "MD5", "demo-1001", "00000004")
			c.algorithm = "SHA-512-256"
			return c
		}(), authFailed},
		{"forged nonce", func() credentials {
			c := creds(md5.New, "MD5", "demo-1001", "00000005")
			c.nonce = "AAAA" + nonce[4:]
			return c
		}(), authFailed},
	}
	for _, tt := range tests {
		if got := a.verify(tt.c, "REGISTER", "demo-1001", []string{"SHA-256", "MD5"}); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.name, got, tt.want)
		}
	}
	// An algorithm the box did not offer is refused.
	if got := a.verify(creds(md5.New, "MD5", "demo-1001", "0000000a"), "REGISTER", "demo-1001", []string{"SHA-256"}); got != authFailed {
		t.Errorf("MD5 when only SHA-256 is offered: %v", got)
	}
	// Without qop a nonce is good once.
	nonce = nonceOf(a.challenges([]string{"SHA-256", "MD5"}, false)[1])
	if got := a.verify(creds(md5.New, "", "demo-1001", ""), "REGISTER", "demo-1001", []string{"SHA-256", "MD5"}); got != authOK {
		t.Errorf("no qop, first use: %v", got)
	}
	if got := a.verify(creds(md5.New, "", "demo-1001", ""), "REGISTER", "demo-1001", []string{"SHA-256", "MD5"}); got != authFailed {
		t.Errorf("no qop, second use: %v", got)
	}
	// After the nonce's lifetime the right password gets a stale answer, not a failure.
	now = now.Add(6 * time.Minute)
	if got := a.verify(creds(sha256.New, "SHA-256", "demo-1001", "00000009"), "REGISTER", "demo-1001", []string{"SHA-256", "MD5"}); got != authStale {
		t.Errorf("expired nonce: %v, want stale", got)
	}
}

func TestParseCredentials(t *testing.T) {
	c, err := parseCredentials(`Digest username="1001",realm="callbox", nonce="abc", uri="sip:1.2.3.4", response="DEADbeef", algorithm=MD5, qop=auth, nc=00000001, cnonce="x y"`)
	if err != nil {
		t.Fatal(err)
	}
	if c.username != "1001" || c.response != "deadbeef" || c.qop != "auth" || c.nc != "00000001" || c.cnonce != "x y" || c.algorithm != "MD5" {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{"", "Basic abc", `Digest username="1001"`, `Digest username="unterminated`} {
		if _, err := parseCredentials(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

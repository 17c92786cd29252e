package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDemoIsValid(t *testing.T) {
	c := Demo()
	if len(c.Extensions) != 3 || c.Extensions[0].Password.Value() != "demo-1001" {
		t.Fatalf("demo extensions: %+v", c.Extensions)
	}
	if got := c.SIP.Listeners; len(got) != 2 || got[0].String() != "udp://127.0.0.1:5060" || got[1].String() != "tcp://127.0.0.1:5060" {
		t.Fatalf("demo listeners: %v", got)
	}
	if c.Inbound[0].Dest != (Destination{Kind: "flow", Name: "hotline"}) {
		t.Fatalf("demo hotline: %+v", c.Inbound[0].Dest)
	}
	if c.RTP.PortMin != 10000 || c.RTP.PortMax != 19999 {
		t.Fatalf("demo RTP ports: %d-%d", c.RTP.PortMin, c.RTP.PortMax)
	}
}

// base is a minimal valid file that the broken cases extend.
const base = `sip:
  listen: [udp://127.0.0.1:5060]
extensions:
  - number: "1001"
    password: secret-1001
`

func TestCheckReportsEveryProblemWithPosition(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string // "LINE:COL: reason" substrings, in order
	}{
		{"unknown key with suggestion", base + "recordng:\n  enabled: false\n",
			[]string{`6:1: unknown key "recordng" (did you mean "recording"?)`}},
		{"unknown nested key", "sip:\n  listen: [udp://127.0.0.1:5060]\n  lisen: x\n",
			[]string{`3:3: unknown key "lisen" (did you mean "listen"?)`}},
		{"wrong type", base + "recording:\n  enabled: maybe\n  buffer: lots\n",
			[]string{`7:12: want true or false, found the text "maybe"`, `8:11: want a whole number, found the text "lots"`}},
		{"list where a mapping belongs", base + "web: [1, 2]\n",
			[]string{`6:6: want a mapping, found a list`}},
		{"bad duration", base + "calls:\n  ring_timeout: soon\n",
			[]string{`7:17: want a duration like 30s or 5m, found "soon"`}},
		{"missing listen", "sip: {}\n",
			[]string{`1:6: missing sip.listen`}},
		{"missing password", "sip:\n  listen: [udp://127.0.0.1:5060]\nextensions:\n  - number: \"1001\"\n",
			[]string{`4:5: extension 1001 has no password`}},
		{"duplicate extension", base + "  - number: \"1001\"\n    password: another-secret\n",
			[]string{`6:13: duplicate extension 1001 (first at line 4)`}},
		{"bad extension number", "sip:\n  listen: [udp://127.0.0.1:5060]\nextensions:\n  - number: 10a1\n    password: secret-1001\n",
			[]string{`4:13: bad extension number "10a1"`}},
		{"bad listen address", "sip:\n  listen:\n    - udp://127.0.0.1:5060\n    - sctp://1.2.3.4:5060\n    - tcp://localhost\n",
			[]string{`4:7: bad listen transport "sctp"`, `5:7: bad listen address "localhost"`}},
		{"bad rtp", base + "rtp:\n  address: 300.1.1.1\n  ports: 20000-10000\n",
			[]string{`7:12: bad RTP address "300.1.1.1"`, `8:10: bad RTP port range "20000-10000"`}},
		{"undefined references", base + `groups:
  - name: sales
    extensions: ["1001", "1009"]
trunks:
  - name: pstn
    kind: ip
    sources: [10.0.0.0/33]
inbound:
  - number: "4000"
    trunk: nowhere
    destination: group:support
routes:
  - name: out
    prefix: "0"
    trunks: [pstn, backup]
`, []string{
			`8:26: group sales: extension 1009 is not defined`,
			`12:15: bad source address "10.0.0.0/33"`,
			`15:12: inbound 4000: trunk nowhere is not defined`,
			`16:18: destination group:support: group support is not defined`,
			`20:20: route out: trunk backup is not defined`,
		}},
		{"bad numbers", base + `inbound:
  - number: "40-00"
    destination: number:abc
`, []string{`7:13: bad inbound number "40-00"`, `8:18: destination number:abc: bad number "abc"`}},
		{"register trunk needs credentials", base + "trunks:\n  - name: prov\n    kind: register\n",
			[]string{`7:5: trunk prov registers but has no server`, `7:5: trunk prov registers but has no username`, `7:5: trunk prov registers but has no password`}},
		{"secret from unset env", base + "trunks:\n  - name: prov\n    kind: register\n    server: sip.example.com\n    username: u\n    password: {env: CALLBOX_TEST_UNSET_VAR}\n",
			[]string{`11:21: environment variable CALLBOX_TEST_UNSET_VAR is not set`}},
		{"bad admin hash", base + "web:\n  admin_password_hash: hunter2\n",
			[]string{`7:24: bad admin_password_hash`}},
		{"syntax error", "sip:\n  listen: [udp://x\n  - oops\n",
			[]string{`YAML syntax`}},
		{"empty", "", []string{`1:1: the file is empty`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := refused(t, "test.yaml", tt.file, len(tt.want))
			for i, w := range tt.want {
				if got := ps[i].String(); !strings.Contains(got, w) || !strings.HasPrefix(got, "test.yaml:") {
					t.Errorf("problem %d:\n got %s\nwant …%s…", i, got, w)
				}
			}
		})
	}
}

// refused parses file, which must be refused with n problems (any number when n < 0).
func refused(t *testing.T, name, file string, n int) Problems {
	t.Helper()
	_, err := Parse(name, []byte(file))
	ps, ok := err.(Problems)
	if !ok {
		t.Fatalf("want Problems, got %v", err)
	}
	if n >= 0 && len(ps) != n {
		t.Fatalf("want %d problems, got %d:\n%v", n, len(ps), ps)
	}
	return ps
}

func TestSecretsFromFileAndEnv(t *testing.T) {
	dir := t.TempDir()
	secretFile := filepath.Join(dir, "trunk.secret")
	if err := os.WriteFile(secretFile, []byte("from-a-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("CALLBOX_TEST_1001", "from-the-env")
	file := `sip:
  listen: [udp://127.0.0.1:5060]
extensions:
  - number: "1001"
    password: {env: CALLBOX_TEST_1001}
trunks:
  - name: prov
    kind: register
    server: sip.example.com:5070
    username: box
    password: {file: ` + secretFile + `}
`
	c, err := Parse("s.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	if got := c.Extensions[0].Password.Value(); got != "from-the-env" {
		t.Errorf("env secret = %q", got)
	}
	if got := c.Trunks[0].Password.Value(); got != "from-a-file" {
		t.Errorf("file secret = %q", got)
	}
	if s := c.Trunks[0].Password.String(); s != "[redacted]" {
		t.Errorf("secret prints as %q", s)
	}
}

func TestPasswordHash(t *testing.T) {
	h, err := HashPassword("correct horse")
	if err != nil {
		t.Fatal(err)
	}
	ph, err := ParsePasswordHash(h)
	if err != nil {
		t.Fatal(err)
	}
	if !ph.Check("correct horse") || ph.Check("correct hors") {
		t.Fatal("hash check is wrong")
	}
}

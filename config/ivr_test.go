package config

import (
	"strings"
	"testing"
	"time"
)

// ivrBase is a valid file with a group and a queue that IVR cases extend.
const ivrBase = `box: {country: DE}
sip:
  listen: [udp://127.0.0.1:5060]
extensions:
  - {number: "1001", password: secret-1001}
  - {number: "1002", password: secret-1002}
groups:
  - {name: support, extensions: ["1001", "1002"]}
queues:
  - {name: sales, members: ["1002"]}
`

const goodIVR = ivrBase + `inbound:
  - {number: "4000", destination: flow:main, survey: true}
ivr:
  language: de
  prompts:
    welcome: {say: {de: "Willkommen", en: "Welcome"}}
  hours:
    - name: office
      zone: Europe/Berlin
      open: ["mon-fri 09:00-17:00", "sat 10:00-12:00"]
      holidays: ["2026-12-24..2026-12-26", "01-01", "12-31..01-02"]
  lists:
    blacklist: ["030 1234567", {number: "+491701234567", note: spam, until: 2027-01-31}]
    vip: [{number: "+4989123456", level: 5}, "0049 40 123456"]
  flows:
    - name: main
      start: screen
      survey: true
      nodes:
        screen:
          caller:
            blacklisted: refused
            rules:
              - {prefix: ["089", "+4940"], next: group:support}
              - {country: [US, CN], next: english}
          next: welcome
        refused: {play: {say: "Nein."}, next: hangup}
        welcome: {play: [welcome, jingle], next: hours}
        english: {play: {say: "Hello"}, next: hours}
        hours: {time: office, open: menu, closed: vm, holiday: vm}
        menu:
          menu: {say: "Eins oder zwei"}
          keys: {1: group:support, 2: order, "*": menu, "#": queue:sales}
          timeout: 4s
          invalid: {say: "Falsch"}
        order:
          collect: {say: "Bestellnummer"}
          variable: order_number
          min: 4
          max: 8
          default: group:support
          next: flow:other
        vm: {voicemail: "1001", silence: 3s}
    - name: other
      start: lang
      nodes:
        lang: {language: {say: "1 Deutsch, 2 English"}, keys: {1: de, 2: en}, next: out}
        out: {connect: group:support, ring_timeout: 20s, no_answer: bye}
        bye: {play: {say: "Tschüss"}, next: hangup}
`

func TestIVRConfig(t *testing.T) {
	c, err := Parse("ivr.yaml", []byte(goodIVR))
	if err != nil {
		t.Fatal(err)
	}
	f, ok := c.Flow("main")
	if !ok || f.Start != "screen" || len(f.Nodes.List) != 8 || !f.Survey {
		t.Fatalf("flow: %+v", f)
	}
	if ids := []string{f.Nodes.List[0].ID, f.Nodes.List[7].ID}; ids[0] != "screen" || ids[1] != "vm" {
		t.Errorf("nodes out of file order: %v", ids)
	}
	menu, _ := f.Node("menu")
	if menu.Kind != NodeMenu || menu.Timeout != 4*time.Second || menu.Retries != 2 || len(menu.Keys.List) != 4 {
		t.Errorf("menu: %+v", menu)
	}
	if to, ok := menu.Keys.Lookup("#"); !ok || to != "queue:sales" {
		t.Errorf("menu key #: %q", to)
	}
	order, _ := f.Node("order")
	if order.Min != 4 || order.Max != 8 || order.Terminator != "#" || order.Timeout != 5*time.Second || order.Variable != "order_number" {
		t.Errorf("collect: %+v", order)
	}
	screen, _ := f.Node("screen")
	if r := screen.Caller.Rules; len(r) != 2 || strings.Join(r[0].Prefixes, ",") != "+4989,+4940" || strings.Join(r[1].Prefixes, ",") != "+1,+86" {
		t.Errorf("caller rules: %+v", r)
	}
	l := c.IVR.Lists
	if l.Blacklist[0].E164 != "+49301234567" || l.Blacklist[1].Note != "spam" || l.Blacklist[1].Expires.IsZero() ||
		l.VIP[0].Level != 5 || l.VIP[1].Level != 1 || l.VIP[1].E164 != "+4940123456" {
		t.Errorf("lists: %+v", l)
	}
	h, _ := c.HoursNamed("office")
	if h.Location == nil || len(h.Weekly) != 2 || len(h.Closed) != 3 {
		t.Fatalf("hours: %+v", h)
	}
	for day, want := range map[string]bool{"2026-12-25": true, "2026-12-27": false, "2027-01-01": true, "2030-12-31": true, "2030-01-02": true, "2030-01-03": false} {
		d, _ := time.Parse("2006-01-02", day)
		closed := false
		for _, r := range h.Closed {
			closed = closed || r.Contains(d)
		}
		if closed != want {
			t.Errorf("%s holiday = %v", day, closed)
		}
	}
	if c.IVR.Voicemail.MaxLength != 2*time.Minute || c.IVR.Voicemail.Greeting.IsZero() || c.IVR.Survey.Question.IsZero() {
		t.Errorf("defaults: %+v %+v", c.IVR.Voicemail, c.IVR.Survey)
	}
	if c.Inbound[0].Dest.String() != "flow:main" || !c.Inbound[0].Survey {
		t.Errorf("inbound: %+v", c.Inbound[0])
	}
	var recs []string
	for _, u := range c.Recordings() {
		recs = append(recs, u.Part.Name+"@"+u.String())
	}
	if strings.Join(recs, " ") != "jingle@ivr.yaml:38:35" {
		t.Errorf("recordings: %v", recs)
	}
	if n := len(c.SpokenTexts()); n != 11 {
		t.Errorf("%d spoken texts, want 11 (the voicemail and survey defaults included)", n)
	}
	for _, u := range c.SpokenTexts() {
		if u.Pos.Line == 0 {
			t.Errorf("a text prompt without a place in the file: %+v", u)
		}
	}
}

func TestIVRConfigProblems(t *testing.T) {
	flow := func(nodes string) string {
		return ivrBase + "ivr:\n  flows:\n    - name: f\n      start: a\n      nodes:\n" + nodes
	}
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"unreachable node", flow("        a: {play: x, next: hangup}\n        b: {play: y, next: a}\n"),
			[]string{`17:9: flow f: node b cannot be reached from the start (a)`}},
		{"missing node", flow("        a: {play: x, next: nowhere}\n"),
			[]string{`16:28: flow f: next "nowhere" is not a node of the flow, a destination (kind:name) or hangup`}},
		{"menu without a way out", flow("        a:\n          menu: x\n          keys: {1: b, 2: a}\n        b: {play: y, next: a}\n"),
			[]string{`16:9: flow f: menu a has no way out`, `19:9: flow f: node b has no way out`}},
		{"menu without keys", flow("        a: {menu: x, default: hangup}\n"),
			[]string{`16:12: flow f: menu a has no keys`}},
		{"keys that are not DTMF", flow("        a:\n          menu: x\n          keys: {1: hangup, 10: hangup, E: hangup, \"*\": hangup}\n"),
			[]string{`18:29: flow f: node a: "10" is not a key of a phone`, `18:41: flow f: node a: "E" is not a key of a phone`}},
		{"bad terminator", flow("        a: {collect: x, variable: v, terminator: \"x\", next: hangup}\n"),
			[]string{`16:50: flow f: node a: "x" is not a key of a phone`}},
		{"two kinds", flow("        a: {play: x, menu: y, next: hangup}\n"),
			[]string{`16:28: flow f: node a is both play and menu`}},
		{"no kind", flow("        a: {next: hangup}\n"),
			[]string{`16:12: flow f: node a does nothing`}},
		{"key out of place", flow("        a: {play: x, next: hangup, timeout: 3s}\n"),
			[]string{`16:45: flow f: timeout does nothing in a play node`}},
		{"missing start", ivrBase + "ivr:\n  flows:\n    - name: f\n      start: b\n      nodes:\n        a: {play: x, next: hangup}\n",
			[]string{`14:14: flow f: start node b is not defined`}},
		{"missing hours and prompt", flow("        a: {time: office, open: hangup, closed: hangup}\n        b: {play: \"../x\", next: hangup}\n"),
			[]string{`16:19: flow f: opening hours "office" are not defined`, `17:9: node b cannot be reached`, `17:19: bad prompt "../x"`}},
		{"missing destinations", flow("        a:\n          menu: x\n          keys: {1: group:nobody, 2: flow:none, 3: voicemail:999, 4: queue:q, 5: extension:1001}\n"),
			[]string{`18:21: group nobody is not defined`, `18:38: flow none is not defined`, `18:52: voicemail box 999 is not a defined extension`, `18:70: queue q is not defined`}},
		{"bad dates and zones", ivrBase + `ivr:
  hours:
    - name: office
      zone: Mars/Olympus
      open: ["mon-fri 9-17", "sun 10:00-10:00"]
      holidays: ["2026-02-30", "2026-12-26..2026-12-24", "12-24..2027-01-01", "tomorrow"]
`, []string{`14:13: unknown time zone "Mars/Olympus"`, `15:14: bad span "mon-fri 9-17"`, `15:30: bad span "sun 10:00-10:00"`,
			`16:18: bad holiday "2026-02-30": 2026-02-30 is not a day`, `16:32: the range ends before it starts`, `16:58: both ends need a year`, `16:79: bad holiday "tomorrow"`}},
		{"bad lists", ivrBase + `ivr:
  lists:
    blacklist: ["12", {number: "+4930", until: "next week"}]
    warning: [{number: "+4930111", level: 2}]
    vip: [{number: "+4930222", level: 12}, "+4930222"]
`, []string{`13:17: blacklist: "12" is not a phone number`, `13:48: bad until "next week"`, `14:43: warning +4930111: only VIPs have a level`,
			`15:39: vip +4930222: level 12`, `15:44: vip: +4930222 given twice`}},
		{"bad collect", flow("        a: {collect: x, variable: Order, min: 5, max: 3, next: hangup}\n"),
			[]string{`16:35: flow f: bad variable name "Order"`, `16:55: max 3: want 5 to 32 digits`}},
		{"connect to a node", flow("        a: {connect: b}\n        b: {play: x, next: hangup}\n"),
			[]string{`16:22: flow f: connect "b": want extension:EXT`, `17:9: node b cannot be reached`}},
		{"flow to itself", flow("        a: {play: x, next: flow:f}\n"),
			[]string{`16:28: flow f: next leads to the flow itself`}},
		{"bad prompt shape", flow("        a: {play: {file: x}, next: hangup}\n"),
			[]string{`16:19: want a prompt: a name, {say: TEXT} or {say: {LANGUAGE: TEXT}}`}},
		{"bad inbound flow", ivrBase + "inbound:\n  - {number: \"4000\", destination: flow:none}\n",
			[]string{`12:35: destination flow:none: flow none is not defined`}},
		{"node called hangup", flow("        a: {play: x, next: hangup}\n        hangup: {play: y, next: a}\n"),
			[]string{`17:9: flow f: a node cannot be called hangup`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := refused(t, "test.yaml", tt.file, len(tt.want))
			// A want is "LINE:COL: words of the reason".
			for i, w := range tt.want {
				pos, words, _ := strings.Cut(w, " ")
				if got := ps[i].String(); !strings.HasPrefix(got, "test.yaml:"+pos+" ") || !strings.Contains(got, words) {
					t.Errorf("problem %d:\n got %s\nwant %s …%s…", i, got, pos, words)
				}
			}
		})
	}
}

package config

import (
	"strings"
	"testing"
	"time"
)

// queueBase has three extensions for queues and agents to use.
const queueBase = `sip:
  listen: [udp://127.0.0.1:5060]
extensions:
  - number: "1001"
    name: Alice
    password: secret-1001
  - number: "1002"
    password: secret-1002
  - number: "1003"
    password: secret-1003
`

func TestQueuesAndAgentsParse(t *testing.T) {
	file := queueBase + `queues:
  - name: support
    strategy: longest-idle
    members: ["1001", {agent: "1002", penalty: 1}]
    max_wait: 5m
    overflow: queue:sales
    announce_every: 30s
    messages: [support-tip]
    message_every: 45s
    sticky_window: 168h
    sticky_wait: 20s
    callback_key: "5"
    auto_pause_after: 3
    stay_if: unpaused
  - name: sales
    members: ["1003"]
    overflow: voicemail:1003
    ageing: 0
agents:
  - extension: "1001"
    mobile: "+491701234567"
    mobile_ring: sequence
    mobile_schedule: ["mon-fri 18:00-22:00", "sat,sun 22:00-06:00"]
    queues: [sales]
    auto_login: true
  - extension: "1003"
    max_calls: 0
feature_codes:
  listen: "*51"
`
	c, err := Parse("q.yaml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	s := c.Queues[0]
	if s.Strategy != "longest-idle" || len(s.Members) != 2 || s.Members[1].Agent != "1002" || s.Members[1].Penalty != 1 ||
		s.OverflowDest != (Destination{"queue", "sales"}) || s.RingTimeout != 15*time.Second || s.Retry != 5*time.Second ||
		s.ServiceLevel != 20*time.Second || s.Ageing != 2*time.Minute || s.JoinIf != "staffed" || s.StayIf != "unpaused" ||
		s.CallbackAttempts != 3 || s.CallbackRetry != 5*time.Minute {
		t.Errorf("support: %+v", s)
	}
	if sales := c.Queues[1]; sales.Strategy != "ring-all" || sales.Ageing != 0 || sales.OverflowDest != (Destination{"voicemail", "1003"}) {
		t.Errorf("sales: %+v", sales)
	}
	a := c.Agents[0]
	if a.Name != "Alice" || a.MaxCalls != 1 || a.MobileRing != "sequence" || a.MobileAfter != 10*time.Second || len(a.Schedule) != 2 {
		t.Fatalf("agent 1001: %+v", a)
	}
	w := a.Schedule[1]
	if !w.Days[time.Saturday] || !w.Days[time.Sunday] || w.Days[time.Monday] || w.From != 22*time.Hour || w.To != 6*time.Hour {
		t.Errorf("sat,sun 22:00-06:00 parsed as %+v", w)
	}
	if wk := a.Schedule[0]; !wk.Days[time.Monday] || !wk.Days[time.Friday] || wk.Days[time.Saturday] {
		t.Errorf("mon-fri parsed as %+v", wk.Days)
	}
	if c.Agents[1].MaxCalls != 0 {
		t.Errorf("max_calls: 0 became %d", c.Agents[1].MaxCalls)
	}
	if f := c.FeatureCodes; f.Login != "*45" || f.Pause != "*46" || f.Listen != "*51" || f.Whisper != "*32" || f.Barge != "*33" {
		t.Errorf("feature codes %+v", f)
	}
	if _, ok := c.Queue("sales"); !ok {
		t.Error("Queue(sales) not found")
	}
	if _, ok := c.Agent("1003"); !ok {
		t.Error("Agent(1003) not found")
	}
}

func TestQueueProblemsHavePositions(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []string
	}{
		{"undefined references", queueBase + `queues:
  - name: support
    members: ["1001", "1009", {agent: "1008", penalty: -1}]
    overflow: queue:nowhere
agents:
  - extension: "1007"
    queues: [support, billing]
`, []string{
			`13:23: queue support: member 1009 is not a defined extension`,
			`13:39: queue support: member 1008 is not a defined extension`,
			`13:56: queue support: penalty of 1008 below 0`,
			`14:15: queue support: overflow queue nowhere is not defined`,
			`16:16: agent 1007 is not a defined extension`,
			`17:23: agent 1007: queue billing is not defined`,
		}},
		{"bad values", queueBase + `queues:
  - name: support
    strategy: fastest
    ring_timeout: 0s
    join_if: sometimes
    callback_key: "55"
    overflow: fax:123
    messages: [tip]
    sticky_wait: 10s
    max_wait: 5s
`, []string{
			`13:15: queue support: unknown strategy "fastest"`,
			`14:19: ring_timeout 0s is too short: at least 1s`,
			`15:14: queue support: bad join_if "sometimes"`,
			`16:19: queue support: bad callback_key "55"`,
			`17:15: queue support: bad overflow "fax:123"`,
			`18:15: queue support has messages but no message_every`,
			`19:18: queue support: sticky_wait without sticky_window`,
			`20:15: max_wait 5s is too short: 0 (off) or at least 10s`,
		}},
		{"self overflow and duplicates", queueBase + `queues:
  - name: support
    members: ["1001", "1001"]
    overflow: queue:support
  - name: support
agents:
  - extension: "1001"
  - extension: "1001"
    mobile_ring: sequence
    max_calls: -1
`, []string{
			`13:23: queue support: member 1001 given twice (first at line 13)`,
			`14:15: queue support overflows to itself`,
			`15:11: duplicate queue support (first at line 12)`,
			`18:16: duplicate agent 1001 (first at line 17)`,
			`19:18: agent 1001: mobile_ring without a mobile number`,
			`20:16: agent 1001: max_calls below 0`,
		}},
		{"reserved name", queueBase + "queues:\n  - name: events\n", []string{
			`12:11: queue name "events" is reserved by the API`,
		}},
		{"mobiles and schedules", queueBase + `agents:
  - extension: "1001"
    mobile: "mobile"
    mobile_schedule: ["weekdays 9-17", "mon-fri 18:00-18:00", "tue 25:00-26:00"]
`, []string{
			`13:13: agent 1001: bad mobile number "mobile"`,
			`14:23: agent 1001: bad mobile_schedule "weekdays 9-17"`,
			`14:40: agent 1001: bad mobile_schedule "mon-fri 18:00-18:00": the span is empty`,
			`14:63: agent 1001: bad mobile_schedule "tue 25:00-26:00": bad time 25:00`,
		}},
		{"music on hold", queueBase + `music_on_hold:
  order: shuffled
`, []string{
			`12:10: music_on_hold: bad order "shuffled": want alphabetical or random`,
			`12:10: music_on_hold: order without a dir`,
		}},
		{"feature codes", queueBase + `feature_codes:
  login: "45"
  pause: "*3"
  barge: "*31"
`, []string{
			`12:10: bad feature code "45"`,
			`13:10: feature code pause (*3) and listen (*31): one starts the other`,
			`13:10: feature code pause (*3) and whisper (*32): one starts the other`,
			`14:10: feature code pause (*3) and barge (*31): one starts the other`,
			`14:10: feature codes listen and barge are both *31`,
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := refused(t, "q.yaml", tt.file, len(tt.want))
			for i, w := range tt.want {
				if got := ps[i].String(); !strings.Contains(got, w) {
					t.Errorf("problem %d:\n got %s\nwant …%s…", i, got, w)
				}
			}
		})
	}
}

package config

import (
	"strings"
	"testing"
	"time"
)

const secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"

func TestSyncConfig(t *testing.T) {
	destinations := `  destinations:
    - name: hook
      kind: webhook
      url: https://hooks.example.com/callbox
      secret: ` + secret + `
      numbers: ["4000"]
    - name: desk
      kind: zendesk
      url: https://acme.zendesk.com
      user: agent@acme.example
      token: {env: CALLBOX_TEST_ZD_TOKEN}
      queues: [support]
      agents:
        "1001": "900001"
      tickets:
        answered: open
        survey: field
        survey_field: "360017192714"
`
	_, err := Parse("s.yaml", []byte(base+`sync:
  retention: 720h
  recording_links:
    base_url: https://box.example.com
  lookup:
    from: desk
`+destinations))
	t.Setenv("CALLBOX_TEST_ZD_TOKEN", "unused")
	if err == nil || !strings.Contains(err.Error(), "CALLBOX_TEST_ZD_TOKEN is not set") {
		t.Fatalf("an unset token variable must be a problem, got %v", err)
	}
	c, err := Parse("s.yaml", []byte(base+`sync:
  retention: 720h
  lookup:
    from: desk
`+destinations))
	if err != nil {
		t.Fatal(err)
	}
	hook, desk := c.Sync.Destinations[0], c.Sync.Destinations[1]
	// Defaults filled in by the checks.
	if hook.Recording != RecordingLink || hook.Timeout != 20*time.Second || hook.Concurrency != 4 || hook.MaxBackoff != 10*time.Minute {
		t.Errorf("webhook defaults: %+v", hook)
	}
	if desk.Recording != RecordingAttach || desk.Tickets.Missed != "callback" || desk.Tickets.Voicemail != "ticket" ||
		desk.ScreenPop != 5*time.Minute || desk.VIPTag != "vip" {
		t.Errorf("helpdesk defaults: %+v", desk)
	}
	if l := c.Sync.Lookup; l.Deadline != 400*time.Millisecond || l.Fresh != time.Minute || l.TTL != 24*time.Hour {
		t.Errorf("lookup defaults: %+v", l)
	}
	if c.Sync.Links.TTL != 24*time.Hour || c.Sync.Retention != 720*time.Hour {
		t.Errorf("links and retention: %+v %s", c.Sync.Links, c.Sync.Retention)
	}
	if desk.Token.String() != "[redacted]" || desk.Token.Value() != "unused" {
		t.Error("the token must be a Secret")
	}
	// Which calls a destination takes.
	for _, tc := range []struct {
		d          SyncDestination
		did, queue string
		want       bool
	}{
		{hook, "4000", "", true}, {hook, "4001", "support", false},
		{desk, "4000", "support", true}, {desk, "4000", "", false},
		{SyncDestination{}, "", "", true},
	} {
		if got := tc.d.Takes(tc.did, tc.queue); got != tc.want {
			t.Errorf("%s takes %s/%s = %v", tc.d.Name, tc.did, tc.queue, got)
		}
	}
}

func TestSyncConfigProblems(t *testing.T) {
	tests := []struct {
		name string
		sync string
		want []string
	}{
		{"unknown kind", `
    - name: x
      kind: jira
      url: https://x.example`, []string{`bad sync destination kind "jira"`}},
		{"no kind, no url", `
    - name: x`, []string{`sync destination x has no kind`}},
		{"webhook without secret", `
    - name: hook
      kind: webhook
      url: https://x.example`, []string{`sync destination hook (webhook) needs a secret`}},
		{"short secret and bad url", `
    - name: hook
      kind: webhook
      url: ftp://x.example
      secret: whsec_c2hvcnQ=`, []string{`bad url "ftp://x.example"`, `bad webhook secret`}},
		{"zendesk without credentials", `
    - name: desk
      kind: zendesk
      url: https://acme.zendesk.com`, []string{`needs a user`, `needs a token`}},
		{"bad policy and field", `
    - name: desk
      kind: freshdesk
      url: https://acme.freshdesk.com
      token: k
      tickets:
        answered: sometimes
        survey: field`, []string{`bad tickets.answered "sometimes"`, `tickets.survey is field but tickets.survey_field names none`}},
		{"osticket limits", `
    - name: ost
      kind: osticket
      url: https://help.example
      token: k
      tickets:
        answered: open`, []string{`needs an email`, `osticket cannot add to open tickets`}},
		{"zammad and rt need a group and a queue", `
    - name: zm
      kind: zammad
      url: https://zammad.example
      token: k
    - name: rt
      kind: rt
      url: https://rt.example
      token: k`, []string{`(zammad) needs a group`, `(rt) needs a queue`}},
		{"duplicate, numbers, agents, recording", `
    - name: desk
      kind: rt
      url: https://rt.example
      token: k
      queue: General
      numbers: ["40-00"]
      recording: upload
      agents:
        "1009": alice
    - name: desk
      kind: rt
      url: https://rt.example
      token: k
      queue: General`, []string{`bad number "40-00"`, `bad recording mode "upload" for a rt destination`, `agents: extension 1009 is not defined`, `duplicate sync destination desk`}},
		{"tickets on a webhook, timings", `
    - name: hook
      kind: webhook
      url: https://x.example
      secret: ` + secret + `
      timeout: 10m
      concurrency: 100
      tickets:
        answered: new`, []string{`timeout 10m0s: want 1s to 5m`, `concurrency 100`, `a webhook gets every event`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ps := refused(t, "s.yaml", base+"sync:\n  destinations:"+tt.sync+"\n", -1)
			all := ps.Error()
			for _, w := range tt.want {
				if !strings.Contains(all, w) {
					t.Errorf("problems lack %q:\n%s", w, all)
				}
			}
			for _, p := range ps {
				if p.Pos.Line < 6 {
					t.Errorf("problem not placed in the sync section: %s", p)
				}
			}
		})
	}
}

func TestLookupProblems(t *testing.T) {
	for _, tc := range []struct {
		sync, want string
	}{
		{"  lookup:\n    from: nowhere\n", "look-up from nowhere: no such sync destination"},
		{"  lookup:\n    from: hook\n  destinations:\n    - name: hook\n      kind: webhook\n      url: https://x.example\n      secret: " + secret + "\n",
			"a webhook destination cannot look callers up"},
		{"  lookup:\n    deadline: 30s\n", "look-up deadline 30s: want 10ms to 5s"},
		{"  lookup:\n    fresh: 2h\n    ttl: 1h\n", "look-up ttl 1h0m0s is shorter than fresh 2h0m0s"},
		{"  recording_links:\n    base_url: box.example\n    ttl: 10s\n", `bad base_url "box.example"`},
	} {
		_, err := Parse("s.yaml", []byte(base+"sync:\n"+tc.sync))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: got %v, want …%s…", tc.sync, err, tc.want)
		}
	}
	// A problem is placed where the value stands.
	_, err := Parse("s.yaml", []byte(base+"sync:\n  lookup:\n    from: nowhere\n"))
	if err == nil || !strings.Contains(err.Error(), "s.yaml:8:11: look-up from nowhere") {
		t.Errorf("position: %v", err)
	}
}

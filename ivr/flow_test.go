package ivr

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"callbox"
	"callbox/config"
	"callbox/hw/sim"
	"callbox/media/wav"
)

const menuFlow = `ivr:
  prompt_dir: prompts
  hours:
    - {name: office, zone: America/New_York, open: ["mon-fri 09:00-17:00"], holidays: ["2026-12-25"]}
  lists:
    blacklist: ["(212) 555-0199"]
    warning: [{number: "+12125550177", note: "shouts"}]
    vip: [{number: "+12125550188", level: 7}]
  voicemail: {greeting: greeting, silence: 2s, max_length: 30s}
  survey: {question: question, thanks: thanks, timeout: 4s}
  flows:
    - name: main
      start: screen
      survey: true
      nodes:
        screen:
          caller:
            rules: [{prefix: "+1312", next: group:sales}]
          next: welcome
        welcome: {play: welcome, next: hours}
        hours: {time: office, open: menu, closed: closed, holiday: closed}
        menu:
          menu: menu
          keys: {"1": group:support, "2": order, "9": hangup}
          timeout: 3s
          retries: 2
          invalid: invalid
          no_input: noinput
          default: voicemail:1001
        order:
          collect: order
          variable: order_number
          min: 3
          max: 6
          timeout: 2s
          next: group:support
        closed: {play: closed, next: voicemail:1001}
    - name: lang
      start: choose
      nodes:
        choose: {language: langmenu, keys: {"1": en, "2": zh}, timeout: 2s, retries: 0, next: menu}
        menu: {menu: menu, keys: {"1": group:support}, retries: 0, default: hangup}
`

// wednesday 10:00 in New York: the office is open.
var openTime = time.Date(2026, 3, 4, 15, 0, 0, 0, time.UTC)

func TestMenuChoiceByRFC4733(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, menuFlow)
		h.clock.set(openTime)
		c, out := h.call("2125550100", "main", nil)
		time.Sleep(1500 * time.Millisecond) // during the menu prompt: the key stops it
		c.leg.Presses('1')
		end := <-out
		if end.Result != "answered" || strings.Join(c.connects, ",") != "group:support" {
			t.Fatalf("ending %+v, connects %v", end, c.connects)
		}
		if got := c.path(); got != "screen welcome hours menu [1]" {
			t.Errorf("path %q", got)
		}
		if d, _ := c.event("ivr.key"); d["source"] != "event" || d["valid"] != "true" {
			t.Errorf("key event %v", d)
		}
		if d, _ := c.event("ivr.caller"); d["number"] != "+12125550100" {
			t.Errorf("the caller was not screened in E.164: %v", d)
		}
		if got := strings.Join(prompts(c.leg), " "); got != "welcome menu" {
			t.Errorf("the caller heard %q", got)
		}
		if !c.survey || !c.leg.State().Answered {
			t.Error("the flow did not answer, or did not ask for the survey")
		}
	})
}

func TestMenuChoiceByInBandTones(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, menuFlow)
		h.clock.set(openTime)
		c, out := h.call("2125550100", "main", nil)
		time.Sleep(1300 * time.Millisecond)
		tones(c.leg, "2")
		time.Sleep(300 * time.Millisecond)
		tones(c.leg, "4711#")
		end := <-out
		if end.Result != "answered" || strings.Join(c.connects, ",") != "group:support" {
			t.Fatalf("ending %+v, connects %v", end, c.connects)
		}
		if got := c.rec.Variables["order_number"]; got != "4711" {
			t.Errorf("order number %q (path %s)", got, c.path())
		}
		if d, _ := c.event("ivr.key"); d["source"] != "in-band" {
			t.Errorf("key event %v", d)
		}
	})
}

func TestMenuTimeoutsAndRetries(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, menuFlow)
		h.clock.set(openTime)
		c, out := h.call("2125550100", "main", nil)
		start := time.Now()
		time.Sleep(2 * time.Second)
		c.leg.Presses('7') // not a choice
		end := <-out
		// welcome, menu, [7] invalid, menu, timeout, noinput, menu, timeout → default: voicemail,
		// where the caller says nothing.
		if got := c.path(); got != "screen welcome hours menu [7] (timeout) (timeout)" {
			t.Errorf("path %q", got)
		}
		if got := strings.Join(prompts(c.leg), " "); got != "welcome menu invalid menu noinput menu greeting" {
			t.Errorf("the caller heard %q", got)
		}
		if d, ok := c.event("ivr.default"); !ok || d["to"] != "voicemail:1001" {
			t.Errorf("default %v", d)
		}
		if end.Result != "abandoned" || !hasEvent(c, "voicemail.empty") {
			t.Errorf("ending %+v", end)
		}
		// 0.6 welcome + 0.6 menu… + 3 s waits: the timeouts were kept.
		if took := time.Since(start); took < 9*time.Second || took > 14*time.Second {
			t.Errorf("took %s", took)
		}
	})
}

func TestHoursAndOverride(t *testing.T) {
	for _, tt := range []struct {
		name     string
		at       time.Time
		override string
		want     string
	}{
		{"open on a weekday", openTime, "", "open"},
		{"closed in the evening", time.Date(2026, 3, 4, 23, 30, 0, 0, time.UTC), "", "closed"},
		{"closed on Sunday", time.Date(2026, 3, 8, 15, 0, 0, 0, time.UTC), "", "closed"},
		{"holiday", time.Date(2026, 12, 25, 15, 0, 0, 0, time.UTC), "", "holiday"},
		{"forced closed", openTime, "closed", "closed"},
		{"forced open on the holiday", time.Date(2026, 12, 25, 15, 0, 0, 0, time.UTC), "open", "open"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				h := newHarness(t, menuFlow)
				h.clock.set(tt.at)
				if tt.override != "" {
					if _, err := h.svc.SetHours(context.Background(), "", tt.override); err != nil {
						t.Fatal(err)
					}
				}
				c, out := h.call("2125550100", "main", nil)
				time.Sleep(time.Second)
				c.leg.HangsUp(callbox.CauseNormal)
				<-out
				d, _ := c.event("ivr.time")
				if d["state"] != tt.want || d["override"] != tt.override {
					t.Fatalf("time %v, want %s", d, tt.want)
				}
				if hv, _ := h.svc.Hours(context.Background()); hv[0].State != HoursState(tt.want) {
					t.Errorf("hours view %+v", hv)
				}
			})
		})
	}
}

func TestCallerLists(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, menuFlow)
		h.clock.set(openTime)
		// Blacklisted (written locally in the config): refused unanswered, counted.
		c, out := h.call("+1 212 555 0199", "main", nil)
		end := <-out
		if st := c.leg.State(); end.Result != "rejected" || end.Cause != callbox.CauseRejected || st.Answered || st.Cause != callbox.CauseRejected {
			t.Fatalf("blacklisted: %+v, leg %+v", end, st)
		}
		if es, _ := h.store.NumberEntries(context.Background(), "+12125550199"); es[0].Hits != 1 {
			t.Errorf("blacklist hit not counted: %+v", es)
		}
		// VIP and warning: flagged, and the call goes on.
		for number, want := range map[string]string{"2125550188": "vip", "2125550177": "warning"} {
			c, out := h.call(number, "main", nil)
			time.Sleep(1500 * time.Millisecond)
			c.leg.Presses('1')
			<-out
			if !hasFlag(&c.rec, want) {
				t.Errorf("%s: flags %v", number, c.rec.Flags)
			}
			if want == "vip" && c.rec.VIP != 7 {
				t.Errorf("VIP level %d", c.rec.VIP)
			}
			if want == "warning" && c.rec.Variables["warning"] != "shouts" {
				t.Errorf("warning note %v", c.rec.Variables)
			}
		}
		// A CLI entry that has expired screens nobody.
		h.store.AddListEntry(context.Background(), ListEntry{List: "blacklist", Number: "+12125550166", Until: openTime.Add(-time.Hour), Source: "cli"})
		c, out = h.call("2125550166", "main", nil)
		time.Sleep(1500 * time.Millisecond)
		c.leg.Presses('1')
		if end := <-out; end.Result != "answered" {
			t.Errorf("an expired entry still blocks: %+v", end)
		}
		// A prefix rule sends Chicago callers to sales without the menu.
		c, out = h.call("3125550100", "main", nil)
		<-out
		if strings.Join(c.connects, ",") != "group:sales" || c.leg.State().Answered {
			t.Errorf("rule: connects %v answered %v", c.connects, c.leg.State().Answered)
		}
	})
}

func TestVoicemailEndsBySilence(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, menuFlow)
		h.clock.set(time.Date(2026, 3, 4, 23, 0, 0, 0, time.UTC)) // closed
		c, out := h.call("2125550100", "main", nil)
		// welcome, closed and greeting (0.6 s each) + beep (0.3 s), then 2 s of words.
		time.Sleep(2200 * time.Millisecond)
		c.leg.Speaks(speech(2 * time.Second))
		end := <-out
		if end.Result != "voicemail" || end.Side != callbox.SideBox {
			t.Fatalf("ending %+v\n%+v", end, c.rec.Events)
		}
		rec := c.rec.Recording
		if rec == nil || rec.Kind != "voicemail" || !hasFlag(&c.rec, "follow-up") {
			t.Fatalf("recording %+v flags %v", rec, c.rec.Flags)
		}
		d, _ := c.event("voicemail.saved")
		if d["reason"] != "silence" {
			t.Errorf("voicemail event %v", d)
		}
		// The words, and half a second of the silence that ended them.
		if rec.Duration < 2300*time.Millisecond || rec.Duration > 2900*time.Millisecond {
			t.Errorf("message of %s", rec.Duration)
		}
		f, err := wav.Open(filepath.Join(h.dir, rec.Path))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		pcm, _ := f.ReadAll()
		if share := sim.ToneShare(pcm, 300); share < 0.3 {
			t.Errorf("the file holds 300 Hz at %.2f", share)
		}
		if !strings.HasPrefix(rec.Path, "voicemail/2026/03/04/") {
			t.Errorf("path %s", rec.Path)
		}
		if c.leg.State().Cause != callbox.CauseNormal {
			t.Errorf("the box did not hang up: %s", c.leg.State().Cause)
		}
	})
}

func TestVoicemailEndsByHash(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, menuFlow)
		h.clock.set(time.Date(2026, 3, 4, 23, 0, 0, 0, time.UTC))
		c, out := h.call("2125550100", "main", nil)
		time.Sleep(2200 * time.Millisecond)
		c.leg.Speaks(speech(time.Second))
		c.leg.Presses('#')
		if end := <-out; end.Result != "voicemail" {
			t.Fatalf("ending %+v", end)
		}
		if d, _ := c.event("voicemail.saved"); d["reason"] != "key" {
			t.Errorf("voicemail event %v", d)
		}
		if _, err := os.Stat(filepath.Join(h.dir, c.rec.Recording.Path)); err != nil {
			t.Error(err)
		}
	})
}

func TestSurveyScore(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, menuFlow)
		leg := newCaller("2125550100")
		c := &fakeCall{rec: callbox.Record{ID: "s1"}, leg: leg}
		cv := h.svc.Converse(c)
		defer cv.Close()
		cv.answered = true // the switchboard answered when the agent did
		go func() {
			time.Sleep(300 * time.Millisecond)
			leg.Presses('6') // not a score: asked again
			time.Sleep(500 * time.Millisecond)
			leg.Presses('4')
		}()
		if score := cv.Survey(context.Background(), "1001"); score != 4 || c.rec.Survey != 4 {
			t.Fatalf("score %d, record %d", score, c.rec.Survey)
		}
		if d, _ := c.event("survey"); d["agent"] != "1001" || d["score"] != "4" {
			t.Errorf("survey event %v", d)
		}
		if got := strings.Join(prompts(leg), " "); got != "question thanks" {
			t.Errorf("the caller heard %q", got) // the first question was cut short by the key
		}
		if leg.State().Cause != callbox.CauseNormal {
			t.Error("the box did not hang up after the thanks")
		}
	})
}

func TestLanguageChoiceAndCallerHangingUp(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, menuFlow)
		c, out := h.call("2125550100", "lang", nil)
		time.Sleep(200 * time.Millisecond)
		c.leg.Presses('2')
		time.Sleep(time.Second)
		c.leg.HangsUp(callbox.CauseNormal)
		end := <-out
		if end.Result != "abandoned" || end.Side != callbox.SideCaller {
			t.Fatalf("ending %+v", end)
		}
		if c.rec.Variables["language"] != "zh" {
			t.Errorf("language %v", c.rec.Variables)
		}
		if got := strings.Join(prompts(c.leg), " "); !strings.Contains(got, "menu-zh") {
			t.Errorf("the caller heard %q: not the Chinese menu", got)
		}
	})
}

func TestConnectNoAnswerGoesOn(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		h := newHarness(t, `ivr:
  prompt_dir: prompts
  flows:
    - name: f
      start: try
      nodes:
        try: {connect: group:support, ring_timeout: 5s, no_answer: bye}
        bye: {play: bye, next: hangup}
`)
		c, out := h.call("2125550100", "f", func(d config.Destination) (Ending, Reach) {
			return Ending{Result: "missed", Cause: callbox.CauseNoAnswer, Side: callbox.SideBox}, Unanswered
		})
		end := <-out
		if end.Result != "ivr" || c.path() != "try bye" || strings.Join(prompts(c.leg), " ") != "bye" {
			t.Fatalf("ending %+v path %q heard %v", end, c.path(), prompts(c.leg))
		}
	})
}

func speech(d time.Duration) []int16 {
	out := make([]int16, int(d.Seconds()*8000))
	for i := range out {
		out[i] = int16(5000 * sin(300, i))
	}
	return out
}

func hasEvent(c *fakeCall, kind string) bool {
	_, ok := c.event(kind)
	return ok
}

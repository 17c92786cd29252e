package queue

import (
	"fmt"
	"testing"
	"time"
)

func twoQueues() Config {
	return Config{
		Queues: []QueueConfig{
			{Name: "support", Strategy: Linear, Members: members("1001", "1002")},
			{Name: "sales", Strategy: Linear, Members: members("1002")},
		},
		Agents: agentsNamed("1001", "1002", "1003"),
	}
}

func TestLoginLogoutPerQueue(t *testing.T) {
	h := newHarness(t, twoQueues())
	acts := h.login("1002")
	var logins []string
	for _, ch := range only[AgentChanged](acts) {
		logins = append(logins, ch.Queue+":"+string(ch.State)+":"+ch.Reason)
	}
	if fmt.Sprint(logins) != "[support:available:login sales:available:login]" {
		t.Fatalf("login records %v", logins)
	}
	h.must(h.e.Logout("1002", "sales"))
	v, _ := h.e.Agent("1002")
	if len(v.Queues) != 1 || v.Queues[0].Queue != "support" || v.State != StateAvailable {
		t.Fatalf("after logout from sales: %+v", v)
	}
	// 1003 is nobody's member: it must name a queue, and joins it dynamically.
	if _, err := h.e.Login("1003", LoginOptions{}); err == nil {
		t.Fatal("1003 logged in to no queue")
	}
	h.must(h.e.Login("1003", LoginOptions{Queue: "sales", Penalty: 2}))
	q, _ := h.e.Queue("sales")
	if len(q.Members) != 2 || q.Members[1].Agent != "1003" || !q.Members[1].Dynamic || q.Members[1].Penalty != 2 {
		t.Fatalf("sales members %+v", q.Members)
	}
	h.must(h.e.Logout("1003", ""))
	if q, _ := h.e.Queue("sales"); len(q.Members) != 1 {
		t.Fatalf("a dynamic member stays after logout: %+v", q.Members)
	}
	for _, bad := range []struct{ agent, queue string }{{"1999", ""}, {"1001", "nowhere"}} {
		if _, err := h.e.Login(bad.agent, LoginOptions{Queue: bad.queue}); err == nil {
			t.Errorf("login %v accepted", bad)
		}
	}
	if _, err := h.e.Logout("1001", "sales"); err == nil {
		t.Error("logout from a queue never logged in to")
	}
}

func TestPauseStopsOffersAndLogoutStopsRinging(t *testing.T) {
	h := newHarness(t, twoQueues())
	h.login("1001")
	h.must(h.e.Pause("1001", "lunch"))
	if v, _ := h.e.Agent("1001"); v.State != StatePaused || v.Reason != "lunch" {
		t.Fatalf("paused: %+v", v)
	}
	wantOffers(t, h.join("support", "a", Caller{}))
	wantOffers(t, h.must(h.e.Unpause("1001")), "a>1001")
	acts := h.must(h.e.Logout("1001", ""))
	if c := only[CancelOffer](acts); len(c) != 1 || c[0].Reason != "logout" {
		t.Fatalf("logout while ringing: %s", describe(acts))
	}
	if h.state("1001") != StateLoggedOut {
		t.Fatalf("1001 is %s", h.state("1001"))
	}
	if _, err := h.e.Pause("1001", "x"); err == nil {
		t.Error("paused a logged-out agent")
	}
}

func TestToggles(t *testing.T) {
	h := newHarness(t, twoQueues())
	in, acts, err := h.e.ToggleLogin("1002")
	if err != nil || !in || len(only[AgentChanged](acts)) != 2 {
		t.Fatalf("toggle login: %v %v %s", in, err, describe(acts))
	}
	paused, _, err := h.e.TogglePause("1002", "phone")
	if err != nil || !paused {
		t.Fatalf("toggle pause: %v %v", paused, err)
	}
	paused, _, _ = h.e.TogglePause("1002", "phone")
	in, _, _ = h.e.ToggleLogin("1002")
	if paused || in || h.state("1002") != StateLoggedOut {
		t.Fatalf("toggled back: paused %v, logged in %v, %s", paused, in, h.state("1002"))
	}
}

func TestMobileEndpoints(t *testing.T) {
	tests := []struct {
		ring     MobileRing
		mobile   bool // logged in as mobile
		at       time.Time
		want     string
		timeout  time.Duration
		schedule bool
	}{
		{MobileParallel, false, start, "[desk:1001@0s]", 15 * time.Second, false},
		{MobileParallel, true, start, "[desk:1001@0s mobile:+491701234@0s/1]", 25 * time.Second, false},
		{MobileSequence, true, start, "[desk:1001@0s-8s mobile:+491701234@8s/1]", 33 * time.Second, false},
		{MobileOnly, true, start, "[mobile:+491701234@0s/1]", 25 * time.Second, false},
		// The schedule (weekdays 18:00-08:00) rings the mobile without a mobile login.
		{MobileOnly, false, start.Add(10 * time.Hour), "[mobile:+491701234@0s/1]", 25 * time.Second, true},
		{MobileOnly, false, start.Add(2 * time.Hour), "[desk:1001@0s]", 15 * time.Second, true},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.ring, tt.mobile, tt.at.Format("15:04")), func(t *testing.T) {
			cfg := oneQueue(QueueConfig{}, "1001")
			cfg.Agents[0].Mobile = "+491701234"
			cfg.Agents[0].MobileRing = tt.ring
			cfg.Agents[0].MobileAfter = 8 * time.Second
			if tt.schedule {
				w := Window{From: 18 * time.Hour, To: 8 * time.Hour}
				for d := time.Monday; d <= time.Friday; d++ {
					w.Days[d] = true
				}
				cfg.Agents[0].MobileSchedule = []Window{w}
			}
			h := newHarness(t, cfg)
			h.clock.t = tt.at
			h.must(h.e.Login("1001", LoginOptions{Mobile: tt.mobile}))
			o := only[Offer](h.join("support", "a", Caller{}))[0]
			var got []string
			for _, ep := range o.Endpoints {
				s := fmt.Sprintf("%s:%s@%s", ep.Kind, ep.Target, ep.After)
				if ep.For > 0 {
					s += "-" + ep.For.String()
				}
				if ep.Confirm != "" {
					s += "/" + ep.Confirm
				}
				got = append(got, s)
			}
			if fmt.Sprint(got) != tt.want || o.Timeout != tt.timeout {
				t.Fatalf("endpoints %v timeout %s, want %s %s", got, o.Timeout, tt.want, tt.timeout)
			}
		})
	}
	h := newHarness(t, oneQueue(QueueConfig{}, "1001"))
	if _, err := h.e.Login("1001", LoginOptions{Mobile: true}); err == nil {
		t.Fatal("mobile login without a mobile number")
	}
}

func TestWindow(t *testing.T) {
	w := Window{From: 22 * time.Hour, To: 6 * time.Hour}
	w.Days[time.Friday] = true
	fri := time.Date(2026, 3, 6, 0, 0, 0, 0, time.UTC) // a Friday
	for _, tt := range []struct {
		at   time.Time
		want bool
	}{
		{fri.Add(23 * time.Hour), true},
		{fri.Add(21 * time.Hour), false},
		{fri.Add(29 * time.Hour), true},  // Saturday 05:00, the night from Friday
		{fri.Add(31 * time.Hour), false}, // Saturday 07:00
		{fri.Add(-2 * time.Hour), false}, // Thursday 22:00
	} {
		if got := w.Contains(tt.at); got != tt.want {
			t.Errorf("%s: %v, want %v", tt.at.Format("Mon 15:04"), got, tt.want)
		}
	}
}

// TestRestoreAfterRestart: a second engine restored from the first one's records (as the
// store keeps them) has the same logins, pauses and mobile logins; calls in progress did
// not survive.
func TestRestoreAfterRestart(t *testing.T) {
	cfg := twoQueues()
	cfg.Agents[2].Mobile = "+4917000"
	h := newHarness(t, cfg)
	h.login("1001")
	h.must(h.e.Login("1002", LoginOptions{Queue: "sales"}))
	h.must(h.e.Pause("1002", "lunch"))
	h.must(h.e.Login("1003", LoginOptions{Queue: "support", Penalty: 3, Mobile: true}))
	h.join("support", "a", Caller{})
	h.answer("a", "1001")

	// What a store would keep: the last change of each agent.
	last := map[string]AgentChanged{}
	for _, ch := range only[AgentChanged](h.all) {
		last[ch.Agent] = ch
	}
	var records []AgentRecord
	for _, id := range []string{"1001", "1002", "1003"} {
		ch := last[id]
		records = append(records, AgentRecord{Agent: id, State: ch.State, Since: ch.At, Paused: ch.Paused,
			PauseReason: ch.PauseReason, Mobile: ch.Mobile, Queues: ch.Queues})
	}
	if records[0].State != StateOnCall {
		t.Fatalf("1001 stored as %s", records[0].State)
	}

	clock := &manualClock{t: start.Add(time.Hour)}
	cfg.Location = time.UTC
	e2, err := NewEngine(cfg, clock, 1)
	if err != nil {
		t.Fatal(err)
	}
	acts := e2.Restore(records)
	ch := only[AgentChanged](acts)
	if len(ch) != 1 || ch[0].Agent != "1001" || ch[0].State != StateAvailable {
		t.Fatalf("restore records %s, want only 1001 (on call → available)", describe(acts))
	}
	got := map[string]string{}
	for _, v := range e2.Agents() {
		got[v.ID] = fmt.Sprintf("%s %s %v %v", v.State, v.Reason, v.Mobile, v.Queues)
	}
	want := map[string]string{
		"1001": "available  false [{support 0}]",
		"1002": "paused lunch false [{sales 0}]",
		"1003": "available  true [{support 3}]",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("restored\n got %v\nwant %v", got, want)
	}
	// The dynamic member is back in the queue, after the configured ones.
	q, _ := e2.Queue("support")
	if len(q.Members) != 3 || q.Members[2].Agent != "1003" || !q.Members[2].LoggedIn {
		t.Fatalf("support members %+v", q.Members)
	}
}

func TestAutoLoginOnlyWhenUnknown(t *testing.T) {
	cfg := twoQueues()
	cfg.Agents[0].AutoLogin = true
	cfg.Agents[1].AutoLogin = true
	cfg.Location = time.UTC
	e, _ := NewEngine(cfg, &manualClock{t: start}, 1)
	// 1002 is known to the store, logged out: it stays so; 1001 is new: logged in.
	e.Restore([]AgentRecord{{Agent: "1002", State: StateLoggedOut, Since: start.Add(-time.Hour)}})
	a1, _ := e.Agent("1001")
	a2, _ := e.Agent("1002")
	if a1.State != StateAvailable || a2.State != StateLoggedOut {
		t.Fatalf("1001 %s, 1002 %s", a1.State, a2.State)
	}
}

func TestReconfigure(t *testing.T) {
	h := newHarness(t, twoQueues())
	h.login("1001", "1002")
	h.must(h.e.DirectCall("1002", true))
	h.join("sales", "s1", Caller{})
	h.join("support", "a", Caller{})
	h.answer("a", "1001")

	cfg := twoQueues()
	cfg.Queues = cfg.Queues[:1]                     // sales goes away
	cfg.Queues[0].Members = members("1001", "1003") // 1002 leaves support...
	cfg.Agents = agentsNamed("1001", "1003")        // ...and the box
	acts := h.must(h.e.Reconfigure(cfg))
	if of := only[Overflow](acts); len(of) != 1 || of[0].Call != "s1" || of[0].Reason != "removed" {
		t.Fatalf("sales' caller: %s", describe(acts))
	}
	if _, err := h.e.Agent("1002"); err == nil {
		t.Error("1002 is still an agent")
	}
	// 1001 keeps its call and its login.
	v, _ := h.e.Agent("1001")
	if v.State != StateOnCall || len(v.Queues) != 1 {
		t.Fatalf("1001 after reload: %+v", v)
	}
	h.hangup("a")
	if h.state("1001") != StateAvailable {
		t.Fatalf("1001 is %s", h.state("1001"))
	}
	if _, err := h.e.Reconfigure(Config{Queues: []QueueConfig{{Name: "x", Members: members("nobody")}}}); err == nil {
		t.Fatal("a member that is no agent was accepted")
	}
}

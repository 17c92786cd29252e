package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/spf13/cobra"

	"callbox/config"
	"callbox/queue"
	"callbox/store"
	"callbox/switchboard"
	"callbox/web"
)

// The queue and agent commands: `callbox queue show [Q]`, `callbox agents`,
// `callbox agent login|logout|pause|unpause|show EXT`, the supervisor's actions.

func newQueueCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "queue", Short: "Show queues and act on their calls"}
	var asJSON bool
	show := &cobra.Command{
		Use:   "show [QUEUE]",
		Short: "Show every queue at a glance, or one queue with its callers and agents",
		Args:  cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) == 0 {
				var qs []queue.QueueView
				if err := c.client().do(cmd.Context(), http.MethodGet, "/api/v1/queues", nil, &qs); err != nil {
					return err
				}
				if asJSON {
					return printJSON(c.stdout, qs)
				}
				return printQueues(c, qs)
			}
			var q queue.QueueView
			if err := c.client().do(cmd.Context(), http.MethodGet, "/api/v1/queues/"+url.PathEscape(args[0]), nil, &q); err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.stdout, q)
			}
			return printQueue(c, q)
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.AddCommand(show,
		callAction(c, "assign CALL AGENT", "Offer a waiting call to an agent now, whatever its place and the agent's state",
			2, "assign", func(args []string) any { return web.AssignRequest{Agent: args[1]} }, "call %s offered to agent %s"),
		callAction(c, "takeback CALL", "Take a call from its agent and put it back in its queue, in its place",
			1, "takeback", nil, "call %s is back in its queue"),
		callAction(c, "transfer CALL DEST", "Move a call in progress to agent:ID, queue:NAME, extension:EXT, number:NUMBER or voicemail:EXT",
			2, "transfer", func(args []string) any { return web.TransferRequest{To: args[1]} }, "call %s transferred to %s"),
	)
	return cmd
}

// callAction is a supervisor's action on a queue call.
func callAction(c *cli, use, short string, nargs int, action string, body func([]string) any, done string) *cobra.Command {
	return &cobra.Command{
		Use:   use,
		Short: short,
		Args:  cobra.ExactArgs(nargs),
		RunE: func(cmd *cobra.Command, args []string) error {
			var b any
			if body != nil {
				b = body(args)
			}
			path := "/api/v1/queues/calls/" + url.PathEscape(args[0]) + "/" + action
			if err := c.client().do(cmd.Context(), http.MethodPost, path, b, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, done+"\n", toAny(args)...)
			return nil
		},
	}
}

func printQueues(c *cli, qs []queue.QueueView) error {
	if len(qs) == 0 {
		fmt.Fprintln(c.stdout, "no queues are configured")
		return nil
	}
	t := newTable(c.stdout, "QUEUE", "WAITING", "LONGEST", "CALLBACKS", "AVAILABLE", "BUSY", "PAUSED",
		"ANSWERED", "ABANDONED", "OVERFLOW", "SERVICE LEVEL", "AVG WAIT", "AVG HANDLE")
	for _, q := range qs {
		d := q.Today
		t.row(q.Name, q.Waiting, since(seconds(q.LongestWait)), q.Callbacks, q.Agents[queue.StateAvailable],
			q.Agents[queue.StateOnCall]+q.Agents[queue.StateRinging]+q.Agents[queue.StateWrapUp], q.Agents[queue.StatePaused],
			d.Answered, d.Abandoned, d.Overflowed, fmt.Sprintf("%.0f%% in %ds", d.ServiceLevel, d.ServiceLevelSec),
			since(secondsF(d.AvgWait)), since(secondsF(d.AvgHandle)))
	}
	return t.flush()
}

func printQueue(c *cli, q queue.QueueView) error {
	d := q.Today
	t := newTable(c.stdout)
	t.row("queue", q.Name+" ("+string(q.Strategy)+")")
	t.row("waiting", fmt.Sprintf("%d on the line, %d callbacks, longest %s", q.Waiting, q.Callbacks, since(seconds(q.LongestWait))))
	var states []string
	for _, st := range queue.States() {
		if n := q.Agents[st]; n > 0 {
			states = append(states, fmt.Sprintf("%d %s", n, words(string(st))))
		}
	}
	t.row("agents", strings.Join(states, ", "))
	t.row("today", fmt.Sprintf("%d answered, %d abandoned, %d overflowed, %d callbacks", d.Answered, d.Abandoned, d.Overflowed, d.Callbacks))
	t.row("service level", fmt.Sprintf("%.1f%% answered within %ds", d.ServiceLevel, d.ServiceLevelSec))
	t.row("average", fmt.Sprintf("wait %s, handling %s", since(secondsF(d.AvgWait)), since(secondsF(d.AvgHandle))))
	if d.StickyHits+d.StickyMisses > 0 {
		t.row("sticky agent", fmt.Sprintf("%d of %d returning callers reached their agent", d.StickyHits, d.StickyHits+d.StickyMisses))
	}
	if d.Alerts > 0 {
		t.row("alerts", d.Alerts)
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(q.Callers) > 0 {
		fmt.Fprintln(c.stdout, "\ncallers:")
		ct := newTable(c.stdout, "  #", "CALL", "NUMBER", "NAME", "PRIORITY", "WAITED", "STATE", "AGENT", "STICKY")
		for _, cl := range q.Callers {
			pos := ""
			if cl.Position > 0 {
				pos = fmt.Sprint(cl.Position)
			}
			ct.row("  "+pos, cl.Call, cl.Number, cl.Name, cl.Priority, since(seconds(cl.Waited)), words(cl.State),
				strings.Join(cl.Agents, " "), cl.Sticky)
		}
		if err := ct.flush(); err != nil {
			return err
		}
	}
	if len(q.Members) > 0 {
		fmt.Fprintln(c.stdout, "\nmembers:")
		mt := newTable(c.stdout, "  AGENT", "NAME", "PENALTY", "STATE")
		for _, m := range q.Members {
			st := words(string(m.State))
			if m.Dynamic {
				st += " (logged in here only)"
			}
			mt.row("  "+m.Agent, m.Name, m.Penalty, st)
		}
		return mt.flush()
	}
	return nil
}

func newAgentsCmd(c *cli) *cobra.Command {
	return listing[queue.AgentView]{use: "agents", short: "List the agents and what they are doing", path: "/api/v1/agents", empty: "no agents are configured",
		print: func(c *cli, as []queue.AgentView) error { return printAgents(c, as...) }}.command(c)
}

func printAgents(c *cli, as ...queue.AgentView) error {
	t := newTable(c.stdout, "AGENT", "NAME", "STATE", "SINCE", "QUEUES", "CALLS", "ANSWERED TODAY", "MOBILE")
	for _, a := range as {
		st := words(string(a.State))
		if a.Reason != "" {
			st += " (" + a.Reason + ")"
		}
		var qs []string
		for _, l := range a.Queues {
			s := l.Queue
			if l.Penalty > 0 {
				s += fmt.Sprintf("/%d", l.Penalty)
			}
			qs = append(qs, s)
		}
		mobile := ""
		if a.Mobile {
			mobile = "yes"
		}
		t.row(a.ID, a.Name, st, localTime(a.Since), strings.Join(qs, ","), strings.Join(a.Calls, " "), a.AnsweredToday, mobile)
	}
	return t.flush()
}

func newAgentCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "agent", Short: "Log agents in and out, pause them, supervise their calls"}
	var asJSON bool
	var login web.LoginRequest
	var logout web.LogoutRequest
	var pause web.PauseRequest
	var from string
	// agentOp posts body to the agent's action and prints the agent as it is afterwards.
	agentOp := func(use, short, action string, body any) *cobra.Command {
		sub := &cobra.Command{
			Use:   use,
			Short: short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				var a queue.AgentView
				path := "/api/v1/agents/" + url.PathEscape(args[0]) + "/" + action
				if err := c.client().do(cmd.Context(), http.MethodPost, path, body, &a); err != nil {
					return err
				}
				if asJSON {
					return printJSON(c.stdout, a)
				}
				return printAgents(c, a)
			},
		}
		sub.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
		return sub
	}
	loginCmd := agentOp("login EXT", "Log an agent in to all their queues, or to one", "login", &login)
	loginCmd.Flags().StringVar(&login.Queue, "queue", "", "log in to this queue only (any queue: the agent becomes a member there)")
	loginCmd.Flags().IntVar(&login.Penalty, "penalty", 0, "the agent's penalty in a queue they are not configured in")
	loginCmd.Flags().BoolVar(&login.Mobile, "mobile", false, "take queue calls on the agent's mobile number")
	logoutCmd := agentOp("logout EXT", "Log an agent out of all queues, or of one", "logout", &logout)
	logoutCmd.Flags().StringVar(&logout.Queue, "queue", "", "log out of this queue only")
	pauseCmd := agentOp("pause EXT", "Stop offering calls to an agent, with a reason", "pause", &pause)
	pauseCmd.Flags().StringVar(&pause.Reason, "reason", "", "why: lunch, meeting, training, ...")
	show := &cobra.Command{
		Use:   "show EXT",
		Short: "Show one agent",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var a queue.AgentView
			if err := c.client().do(cmd.Context(), http.MethodGet, "/api/v1/agents/"+url.PathEscape(args[0]), nil, &a); err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.stdout, a)
			}
			return printAgents(c, a)
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.AddCommand(loginCmd, logoutCmd, pauseCmd, agentOp("unpause EXT", "Let calls reach a paused agent again", "unpause", nil), show)
	for _, mode := range []struct{ name, short string }{
		{"listen", "Listen silently to an agent's call from your phone"},
		{"whisper", "Speak to an agent during their call; the caller does not hear you"},
		{"barge", "Join an agent's call: all three hear each other"},
	} {
		sub := &cobra.Command{
			Use:   mode.name + " EXT --from YOUR-EXT",
			Short: mode.short,
			Args:  cobra.ExactArgs(1),
			RunE: func(cmd *cobra.Command, args []string) error {
				path := "/api/v1/agents/" + url.PathEscape(args[0]) + "/" + mode.name
				if err := c.client().do(cmd.Context(), http.MethodPost, path, web.SuperviseRequest{From: from}, nil); err != nil {
					return err
				}
				fmt.Fprintf(c.stdout, "calling %s to %s agent %s\n", from, mode.name, args[0])
				return nil
			},
		}
		sub.Flags().StringVar(&from, "from", "", "your extension: the box calls it and connects it to the agent's call")
		sub.MarkFlagRequired("from")
		cmd.AddCommand(sub)
	}
	return cmd
}

// words prints a state for people: on_call → on call.
func words(s string) string { return strings.ReplaceAll(s, "_", " ") }

func seconds(s int64) time.Duration    { return time.Duration(s) * time.Second }
func secondsF(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// The daemon's side: what `serve` wires.

// queueConfig turns the file's queues and agents into the engine's. Every extension that
// is a member of a queue is an agent, configured under agents: or not; an agent's queues:
// make it a member at penalty 0 after the queue's own members.
func queueConfig(cfg *config.Config) queue.Config {
	var out queue.Config
	known := map[string]bool{}
	for _, a := range cfg.Agents {
		known[a.Extension] = true
		ac := queue.AgentConfig{ID: a.Extension, Name: a.Name, Mobile: a.Mobile, MobileRing: queue.MobileRing(a.MobileRing),
			MobileAfter: a.MobileAfter, MaxCalls: a.MaxCalls, AutoLogin: a.AutoLogin}
		for _, w := range a.Schedule {
			ac.MobileSchedule = append(ac.MobileSchedule, queue.Window{Days: w.Days, From: w.From, To: w.To})
		}
		out.Agents = append(out.Agents, ac)
	}
	for _, q := range cfg.Queues {
		for _, m := range q.Members {
			if !known[m.Agent] {
				known[m.Agent] = true
				e, _ := cfg.Extension(m.Agent)
				out.Agents = append(out.Agents, queue.AgentConfig{ID: m.Agent, Name: e.Name, MaxCalls: 1})
			}
		}
	}
	for _, q := range cfg.Queues {
		qc := queue.QueueConfig{
			Name: q.Name, Strategy: queue.Strategy(q.Strategy), RingTimeout: q.RingTimeout, Retry: q.Retry,
			WrapUp: q.WrapUp, MaxWait: q.MaxWait, Overflow: q.Overflow, MaxLength: q.MaxLength,
			JoinIf: queue.Condition(q.JoinIf), StayIf: queue.Condition(q.StayIf), AnnounceEvery: q.AnnounceEvery,
			Messages: q.Messages, MessageEvery: q.MessageEvery, ServiceLevel: q.ServiceLevel, AlertAfter: q.AlertAfter,
			StickyWindow: q.StickyWindow, StickyWait: q.StickyWait, Ageing: q.Ageing, TierDelay: q.TierDelay,
			AutoPauseAfter: q.AutoPauseAfter, CallbackKey: q.CallbackKey, CallbackRetry: q.CallbackRetry,
			CallbackAttempts: q.CallbackAttempts, Record: q.Record,
		}
		member := map[string]bool{}
		for _, m := range q.Members {
			member[m.Agent] = true
			qc.Members = append(qc.Members, queue.Member{Agent: m.Agent, Penalty: m.Penalty})
		}
		for _, a := range cfg.Agents {
			for _, name := range a.Queues {
				if name == q.Name && !member[a.Extension] {
					member[a.Extension] = true
					qc.Members = append(qc.Members, queue.Member{Agent: a.Extension})
				}
			}
		}
		out.Queues = append(out.Queues, qc)
	}
	return out
}

func queueFeatures(cfg *config.Config) queue.FeatureCodes {
	f := cfg.FeatureCodes
	return queue.FeatureCodes{Login: f.Login, Pause: f.Pause, Listen: f.Listen, Whisper: f.Whisper, Barge: f.Barge}
}

// newQueueService builds the queues on the store; conn is the call path (nil until it
// exists: offers are then decided but ring nothing).
func newQueueService(cfg *config.Config, db *store.DB, reg prometheus.Registerer, log *slog.Logger, conn queue.Connector) (*queue.Service, error) {
	qs := queueStore{db}
	svc, err := queue.NewService(queue.Options{Config: queueConfig(cfg), Features: queueFeatures(cfg), Store: qs,
		History: qs, Connector: conn, Registry: reg, Log: log})
	if err != nil {
		return nil, fmt.Errorf("queues: %w", err)
	}
	return svc, nil
}

// queueCallers tells the switchboard what the helpdesk knows of a caller — name,
// organisation, VIP tag, the agent of their open ticket — within the look-up's deadline.
type queueCallers struct{ d *daemon }

func (q queueCallers) Caller(ctx context.Context, number string) switchboard.Known {
	s := q.d.sync
	if s == nil {
		return switchboard.Known{}
	}
	c, _ := s.Lookup(ctx, number)
	k := switchboard.Known{Name: c.Name, Organization: c.Organization, VIP: c.VIP}
	if len(c.OpenTickets) > 0 {
		k.TicketAgent = c.LastAgent
	}
	return k
}

// queueStatus fills the status page's queue and agent lines.
func queueStatus(ctx context.Context, svc *queue.Service) ([]web.QueueStatus, web.AgentCounts, error) {
	qs, agents, err := svc.Summary(ctx)
	if err != nil {
		return nil, web.AgentCounts{}, err
	}
	out := make([]web.QueueStatus, 0, len(qs))
	for _, q := range qs {
		out = append(out, web.QueueStatus{Name: q.Name, Waiting: q.Waiting, LongestWait: int64(q.LongestWait / time.Second),
			Available: q.Agents[queue.StateAvailable]})
	}
	counts := web.AgentCounts{Available: agents[queue.StateAvailable], OnCall: agents[queue.StateOnCall], Paused: agents[queue.StatePaused]}
	for st, n := range agents {
		if st != queue.StateLoggedOut {
			counts.LoggedIn += n
		}
	}
	return out, counts, nil
}

// queueStore is the store as the queues see it.
type queueStore struct{ db *store.DB }

var (
	_ queue.Store   = queueStore{}
	_ queue.History = queueStore{}
)

func (s queueStore) SaveAgent(ctx context.Context, c queue.AgentChanged) error {
	ch := store.AgentChange{Agent: c.Agent, Name: c.Name, State: string(c.State), Reason: c.Reason, Queue: c.Queue,
		At: c.At, Paused: c.Paused, PauseReason: c.PauseReason, Mobile: c.Mobile}
	for _, l := range c.Queues {
		ch.Queues = append(ch.Queues, store.AgentQueue{Queue: l.Queue, Penalty: l.Penalty})
	}
	return s.db.RecordAgentChange(ctx, ch)
}

func (s queueStore) LoadAgents(ctx context.Context) ([]queue.AgentRecord, error) {
	as, err := s.db.Agents(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]queue.AgentRecord, 0, len(as))
	for _, a := range as {
		r := queue.AgentRecord{Agent: a.ID, State: queue.State(a.State), Since: a.Since, Paused: a.Paused,
			PauseReason: a.PauseReason, Mobile: a.Mobile}
		for _, q := range a.Queues {
			r.Queues = append(r.Queues, queue.QueueLogin{Queue: q.Queue, Penalty: q.Penalty})
		}
		out = append(out, r)
	}
	return out, nil
}

func (s queueStore) SaveCallback(ctx context.Context, cb queue.CallbackPending) error {
	return s.db.SaveQueueCallback(ctx, store.QueueCallback{CallID: cb.Call, Queue: cb.Queue, Number: cb.Caller.Number,
		Name: cb.Caller.Name, Priority: cb.Caller.Priority, LastAgent: cb.Caller.LastAgent, LastAgentAt: cb.Caller.LastAgentAt,
		TicketAgent: cb.Caller.TicketAgent, Joined: cb.Joined, Attempts: cb.Attempts})
}

func (s queueStore) DeleteCallback(ctx context.Context, callID string) error {
	return s.db.DeleteQueueCallback(ctx, callID)
}

func (s queueStore) LoadCallbacks(ctx context.Context) ([]queue.CallbackPending, error) {
	cbs, err := s.db.QueueCallbacks(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]queue.CallbackPending, 0, len(cbs))
	for _, cb := range cbs {
		out = append(out, queue.CallbackPending{Call: cb.CallID, Queue: cb.Queue, Joined: cb.Joined, Attempts: cb.Attempts,
			Caller: queue.Caller{Number: cb.Number, Name: cb.Name, Priority: cb.Priority, LastAgent: cb.LastAgent,
				LastAgentAt: cb.LastAgentAt, TicketAgent: cb.TicketAgent}})
	}
	return out, nil
}

func (s queueStore) SaveFinished(ctx context.Context, f queue.Finished) error {
	return s.db.SaveQueueCall(ctx, store.QueueCall{CallID: f.Call, Queue: f.Queue, Agent: f.Agent, Number: f.Number,
		Priority: f.Priority, Result: string(f.Result), Joined: f.Joined, Ended: f.At, Waited: f.Waited, Handled: f.Handled,
		StickyAgent: f.StickyAgent, StickyHit: f.StickyHit, Callback: f.Callback})
}

func (s queueStore) LoadFinished(ctx context.Context, since time.Time) ([]queue.Finished, error) {
	cs, err := s.db.QueueCalls(ctx, since)
	if err != nil {
		return nil, err
	}
	out := make([]queue.Finished, 0, len(cs))
	for _, c := range cs {
		out = append(out, queue.Finished{Call: c.CallID, Queue: c.Queue, Agent: c.Agent, Number: c.Number,
			Priority: c.Priority, Result: queue.Result(c.Result), Joined: c.Joined, At: c.Ended, Waited: c.Waited,
			Handled: c.Handled, StickyAgent: c.StickyAgent, StickyHit: c.StickyHit, Callback: c.Callback})
	}
	return out, nil
}

func (s queueStore) LastAgent(ctx context.Context, number string) (string, time.Time, error) {
	return s.db.LastAgent(ctx, number)
}

package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"callbox"
	"callbox/config"
	"callbox/store"
)

func newConfigCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "config", Short: "Write, check and explain configuration files"}
	cmd.AddCommand(&cobra.Command{
		Use:   "demo",
		Short: "Print the built-in demo configuration, the starting point for a real one",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			_, err := c.stdout.Write(config.DemoYAML())
			return err
		},
	})
	var checkData string
	check := &cobra.Command{
		Use:   "check FILE",
		Short: "Check a configuration file and print every problem as FILE:LINE:COL: reason",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := config.Load(args[0])
			var ps config.Problems
			if err == nil {
				ps = ivrProblems(cmd.Context(), cfg, checkData) // espeak-ng, recorded prompts
				if len(ps) > 0 {
					err = ps
				}
			}
			if errors.As(err, &ps) {
				for _, p := range ps {
					fmt.Fprintln(c.stderr, p)
				}
				fmt.Fprintf(c.stderr, "%s: %d problem(s)\n", args[0], len(ps))
				return exitError{1}
			}
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, cfg.Summary())
			return nil
		},
	}
	check.Flags().StringVar(&checkData, "data", "/var/lib/callbox", "the data folder the recorded prompts of a relative ivr.prompt_dir are in")
	cmd.AddCommand(check)
	return cmd
}

func newStatusCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show the running daemon at a glance",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			s, err := c.client().status(cmd.Context())
			if err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.stdout, s)
			}
			t := newTable(c.stdout)
			state := "serving"
			if s.Draining {
				state = "shutting down"
			}
			t.row("callbox", s.Version+" ("+state+")")
			t.row("box", s.Box)
			t.row("up", since(time.Duration(s.UptimeSec)*time.Second)+" since "+localTime(s.Started))
			cfg := s.Config
			if s.Demo {
				cfg = "built-in demo"
			}
			t.row("config", cfg)
			t.row("sip", strings.Join(s.SIP, ", "))
			t.row("web", s.Web)
			t.row("phones", fmt.Sprintf("%d of %d extensions registered", s.Extensions.Registered, s.Extensions.Total))
			t.row("calls", fmt.Sprintf("%d active (%d inbound, %d outbound, %d internal)", s.Calls.Active, s.Calls.Inbound, s.Calls.Outbound, s.Calls.Internal))
			for _, tr := range s.Trunks {
				t.row("trunk "+tr.Name, tr.Kind+", "+tr.State)
			}
			for _, q := range s.Queues {
				t.row("queue "+q.Name, fmt.Sprintf("%d waiting (longest %s), %d agents available", q.Waiting, since(time.Duration(q.LongestWait)*time.Second), q.Available))
			}
			if s.Agents.LoggedIn > 0 {
				t.row("agents", fmt.Sprintf("%d logged in: %d available, %d on call, %d paused", s.Agents.LoggedIn, s.Agents.Available, s.Agents.OnCall, s.Agents.Paused))
			}
			return t.flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

func newCallsCmd(c *cli) *cobra.Command {
	var asJSON bool
	var limit int
	var number, result, flag string
	cmd := &cobra.Command{
		Use:   "calls",
		Short: "List recent calls",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			q := url.Values{"limit": {strconv.Itoa(limit)}}
			for k, v := range map[string]string{"number": number, "result": result, "flag": flag} {
				if v != "" {
					q.Set(k, v)
				}
			}
			var calls []callbox.Record
			if err := c.client().do(cmd.Context(), http.MethodGet, "/api/v1/calls?"+q.Encode(), nil, &calls); err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.stdout, calls)
			}
			if len(calls) == 0 {
				if number+result+flag != "" {
					fmt.Fprintln(c.stdout, "no calls match")
				} else {
					fmt.Fprintln(c.stdout, "no calls yet")
				}
				return nil
			}
			t := newTable(c.stdout, "ID", "STARTED", "DIR", "FROM", "TO", "WHO", "RESULT", "TALK", "HUNG UP")
			for _, r := range calls {
				who := r.Extension
				if r.Agent != "" {
					who = r.Agent
				}
				t.row(r.ID, localTime(r.Started), r.Direction, r.From, r.To, who, r.Result, since(r.TalkTime), r.HangupSide)
			}
			return t.flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.Flags().IntVar(&limit, "limit", 20, "how many calls, newest first")
	cmd.Flags().StringVar(&number, "number", "", "only calls from or to this number")
	cmd.Flags().StringVar(&result, "result", "", "only calls with this result (answered, missed, voicemail, abandoned, …)")
	cmd.Flags().StringVar(&flag, "flag", "", "only calls with this flag (follow-up for voicemails and callbacks, warning, …)")
	cmd.AddCommand(newCallShowCmd(c))
	return cmd
}

func newCallShowCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "show ID",
		Short: "Show one call with its timeline",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var r callbox.Record
			if err := c.client().do(cmd.Context(), http.MethodGet, "/api/v1/calls/"+url.PathEscape(args[0]), nil, &r); err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.stdout, r)
			}
			return printCall(c, r)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

func printCall(c *cli, r callbox.Record) error {
	t := newTable(c.stdout)
	t.row("call", r.ID)
	t.row("direction", r.Direction)
	from := r.From
	if r.FromName != "" {
		from += " (" + r.FromName + ")"
	}
	t.row("from", from)
	t.row("to", r.To)
	for _, kv := range [][2]string{{"number", r.DID}, {"trunk", r.Trunk}, {"extension", r.Extension}, {"queue", r.Queue}, {"agent", r.Agent}} {
		if kv[1] != "" {
			t.row(kv[0], kv[1])
		}
	}
	t.row("started", localTime(r.Started))
	if r.Answered != nil {
		t.row("answered", localTime(*r.Answered))
	}
	t.row("ended", localTime(r.Ended))
	t.row("result", fmt.Sprintf("%s (%s, hung up by %s)", r.Result, r.Cause, r.HangupSide))
	t.row("talk time", since(r.TalkTime))
	if r.VIP > 0 {
		t.row("vip", r.VIP)
	}
	if len(r.Flags) > 0 {
		t.row("flags", strings.Join(r.Flags, ", "))
	}
	for k, v := range r.Variables {
		t.row("var "+k, v)
	}
	if r.Survey > 0 {
		t.row("survey", r.Survey)
	}
	if p := ivrPath(r); p != "" {
		t.row("ivr", p)
	}
	if m := r.Media; m != nil {
		t.row("rtp caller", fmt.Sprintf("%d in, %d out, %d lost, jitter %.1f ms", m.CallerIn, m.CallerOut, m.CallerLost, m.CallerJitterMS))
		t.row("rtp callee", fmt.Sprintf("%d in, %d out, %d lost, jitter %.1f ms", m.CalleeIn, m.CalleeOut, m.CalleeLost, m.CalleeJitterMS))
	}
	if r.Recording != nil {
		t.row("recording", fmt.Sprintf("%s (%s, %d bytes)", r.Recording.Path, since(r.Recording.Duration), r.Recording.Size))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if len(r.Events) == 0 {
		return nil
	}
	fmt.Fprintln(c.stdout, "\ntimeline:")
	tl := newTable(c.stdout)
	for _, e := range r.Events {
		var details []string
		for k, v := range e.Detail {
			details = append(details, k+"="+v)
		}
		sortStrings(details)
		tl.row("  +"+e.At.Sub(r.Started).Round(time.Millisecond).String(), e.Kind, e.Leg, strings.Join(details, " "))
	}
	return tl.flush()
}

func newVersionCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "version",
		Short: "Print the version of this binary",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			v := map[string]any{"version": callbox.Version, "go": runtime.Version(), "schema": store.SchemaVersion(),
				"platform": runtime.GOOS + "/" + runtime.GOARCH}
			if asJSON {
				return printJSON(c.stdout, v)
			}
			fmt.Fprintf(c.stdout, "callbox %s (%s, %s, database schema %d)\n", callbox.Version, runtime.Version(), v["platform"], store.SchemaVersion())
			return nil
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

func newPasswdCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "passwd",
		Short: "Make an admin password hash for web.admin_password_hash",
		Long: `Reads a password (twice from a terminal, once from a pipe) and prints its hash for the
config file's web.admin_password_hash.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			pw, err := readPassword(c)
			if err != nil {
				return err
			}
			if len(pw) < 8 {
				return errors.New("the password is too short: at least 8 characters")
			}
			h, err := config.HashPassword(pw)
			if err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, h)
			return nil
		},
	}
}

func readPassword(c *cli) (string, error) {
	fd := int(os.Stdin.Fd())
	if !term.IsTerminal(fd) {
		line, err := bufio.NewReader(os.Stdin).ReadString('\n')
		if err != nil && line == "" {
			return "", fmt.Errorf("read password: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	fmt.Fprint(c.stderr, "Password: ")
	a, err := term.ReadPassword(fd)
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", err
	}
	fmt.Fprint(c.stderr, "Again: ")
	b, err := term.ReadPassword(fd)
	fmt.Fprintln(c.stderr)
	if err != nil {
		return "", err
	}
	if string(a) != string(b) {
		return "", errors.New("the passwords differ")
	}
	return string(a), nil
}

func newReloadCmd(c *cli) *cobra.Command {
	return &cobra.Command{
		Use:   "reload",
		Short: "Reload the daemon's configuration file (as SIGHUP does)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			ctx, cancel := context.WithTimeout(cmd.Context(), 30*time.Second)
			defer cancel()
			if err := c.client().do(ctx, http.MethodPost, "/api/v1/reload", nil, nil); err != nil {
				return err
			}
			fmt.Fprintln(c.stdout, "configuration reloaded")
			return nil
		},
	}
}

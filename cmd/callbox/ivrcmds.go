package main

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callbox"
	"callbox/config"
	"callbox/ivr"
	"callbox/web"
)

// The IVR's commands: `callbox ivr show [FLOW]`, `callbox list add|rm|show`,
// `callbox hours [open|close|auto [HOURS]]`.

func newIVRCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "ivr", Short: "Show the IVR's flows"}
	var asJSON bool
	var file string
	show := &cobra.Command{
		Use:   "show [FLOW]",
		Short: "Draw a flow (or every flow) as a tree: each node, and where each key or outcome leads",
		Long: `Draws the running daemon's flows, or with --config the flows of a configuration file
(no daemon needed).`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			var flows []ivr.FlowView
			switch {
			case file != "":
				cfg, err := config.Load(file)
				if err != nil {
					return err
				}
				for i := range cfg.IVR.Flows {
					if len(args) == 0 || cfg.IVR.Flows[i].Name == args[0] {
						flows = append(flows, ivr.View(cfg, &cfg.IVR.Flows[i]))
					}
				}
				if len(flows) == 0 && len(args) > 0 {
					return fmt.Errorf("%s has no flow called %s", file, args[0])
				}
			case len(args) == 1:
				var f ivr.FlowView
				if err := c.client().do(cmd.Context(), http.MethodGet, "/api/v1/ivr/flows/"+url.PathEscape(args[0]), nil, &f); err != nil {
					return err
				}
				flows = []ivr.FlowView{f}
			default:
				if err := c.client().do(cmd.Context(), http.MethodGet, "/api/v1/ivr/flows", nil, &flows); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(c.stdout, flows)
			}
			if len(flows) == 0 {
				fmt.Fprintln(c.stdout, "no flows configured")
				return nil
			}
			for i, f := range flows {
				if i > 0 {
					fmt.Fprintln(c.stdout)
				}
				fmt.Fprintln(c.stdout, flowHeading(f))
				fmt.Fprint(c.stdout, f.Tree)
			}
			return nil
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	show.Flags().StringVar(&file, "config", "", "draw the flows of this configuration file instead of the daemon's")
	cmd.AddCommand(show)
	return cmd
}

func flowHeading(f ivr.FlowView) string {
	var about []string
	if len(f.Numbers) > 0 {
		about = append(about, "called at "+strings.Join(f.Numbers, ", "))
	}
	about = append(about, "language "+f.Language)
	if f.Survey {
		about = append(about, "survey after the call")
	}
	return fmt.Sprintf("flow %s (%s)", f.Name, strings.Join(about, "; "))
}

func newListCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "list",
		Short: "Show and change the caller lists: blacklist, warning, vip",
		Long: `The IVR's caller nodes screen callers against three lists: a blacklisted caller is refused,
a caller on the warning list is flagged (the agent's phone shows it), a VIP gets their level
as queue priority. Numbers are written in E.164 (+CC…) or as dialled in box.country.
Entries from the configuration file are changed in the file.`,
	}
	var asJSON bool
	show := &cobra.Command{
		Use:   "show LIST [NUMBER]",
		Short: "List a caller list, or show one number's entry",
		Args:  cobra.RangeArgs(1, 2),
		RunE: func(cmd *cobra.Command, args []string) error {
			path := "/api/v1/lists/" + url.PathEscape(args[0])
			if len(args) == 2 {
				path += "?number=" + url.QueryEscape(args[1])
			}
			var es []ivr.ListEntry
			if err := c.client().do(cmd.Context(), http.MethodGet, path, nil, &es); err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.stdout, es)
			}
			if len(es) == 0 {
				fmt.Fprintf(c.stdout, "the %s is empty\n", args[0])
				return nil
			}
			t := newTable(c.stdout, "NUMBER", "LEVEL", "UNTIL", "NOTE", "FROM", "CALLS", "LAST CALL")
			for _, e := range es {
				level := ""
				if e.Level > 0 {
					level = fmt.Sprint(e.Level)
				}
				until := ""
				if !e.Until.IsZero() {
					until = e.Until.Add(-time.Second).Local().Format("2006-01-02")
					if e.Expired(time.Now()) {
						until += " (over)"
					}
				}
				t.row(e.Number, level, until, e.Note, e.Source, e.Hits, localTime(e.LastHit))
			}
			return t.flush()
		},
	}
	show.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	var req ivr.ListRequest
	add := &cobra.Command{
		Use:   "add LIST NUMBER",
		Short: "Put a number on a list (or change its entry)",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			req.Number = args[1]
			var e ivr.ListEntry
			if err := c.client().do(cmd.Context(), http.MethodPost, "/api/v1/lists/"+url.PathEscape(args[0]), req, &e); err != nil {
				return err
			}
			what := e.Number + " is on the " + e.List
			if e.Level > 0 {
				what += fmt.Sprintf(" at level %d", e.Level)
			}
			if req.Until != "" {
				what += " until " + req.Until
			}
			fmt.Fprintln(c.stdout, what)
			return nil
		},
	}
	add.Flags().StringVar(&req.Until, "until", "", "the last day the entry holds, YYYY-MM-DD (default: for ever)")
	add.Flags().StringVar(&req.Note, "note", "", "why the number is on the list")
	add.Flags().IntVar(&req.Level, "level", 0, "a VIP's priority in queues, 1-9 (default 1)")
	rm := &cobra.Command{
		Use:   "rm LIST NUMBER",
		Short: "Take a number off a list",
		Args:  cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var e ivr.ListEntry
			if err := c.client().do(cmd.Context(), http.MethodDelete, "/api/v1/lists/"+url.PathEscape(args[0])+"/"+url.PathEscape(args[1]), nil, &e); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s is off the %s\n", e.Number, e.List)
			return nil
		},
	}
	cmd.AddCommand(show, add, rm)
	return cmd
}

func newHoursCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "hours [open|close|auto [HOURS]]",
		Short: "Show whether opening hours are open, or open or close them by hand until auto",
		Long: `Without arguments, shows each opening hours' state now. "callbox hours close" closes every
opening hours (a snow day) until "callbox hours auto"; give a name to act on one.`,
		Args: cobra.MaximumNArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			var hs []ivr.HoursView
			if len(args) == 0 {
				if err := c.client().do(cmd.Context(), http.MethodGet, "/api/v1/hours", nil, &hs); err != nil {
					return err
				}
			} else {
				req := web.HoursRequest{Mode: args[0]}
				switch args[0] {
				case "open", "auto":
				case "close", "closed":
					req.Mode = "closed"
				default:
					return errors.New(`want "callbox hours", or open, close or auto, and maybe the name of opening hours`)
				}
				if len(args) == 2 {
					req.Hours = args[1]
				}
				if err := c.client().do(cmd.Context(), http.MethodPost, "/api/v1/hours", req, &hs); err != nil {
					return err
				}
			}
			if asJSON {
				return printJSON(c.stdout, hs)
			}
			if len(hs) == 0 {
				fmt.Fprintln(c.stdout, "no opening hours configured")
				return nil
			}
			t := newTable(c.stdout, "HOURS", "STATE", "BY", "TIME THERE", "OPEN", "HOLIDAYS")
			for _, h := range hs {
				by := "the hours"
				if h.Override != "" {
					by = "hand (callbox hours auto undoes it)"
				}
				t.row(h.Name, h.State, by, h.Now+" "+h.Zone, strings.Join(h.Open, ", "), strings.Join(h.Holidays, ", "))
			}
			return t.flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

// ivrPath sums up a call's way through the IVR from its timeline: the flows and nodes
// visited, the keys pressed, and where it left.
func ivrPath(r callbox.Record) string {
	var parts []string
	for _, e := range r.Events {
		d := e.Detail
		switch e.Kind {
		case "ivr.flow":
			parts = append(parts, d["flow"]+":")
		case "ivr.node":
			parts = append(parts, d["node"])
		case "ivr.key":
			mark := d["key"]
			if d["valid"] == "false" {
				mark += "?"
			}
			parts = append(parts, "["+mark+"]")
		case "ivr.timeout":
			parts = append(parts, "(no key)")
		case "ivr.time":
			parts = append(parts, "("+d["state"]+")")
		case "ivr.caller":
			if d["lists"] != "" {
				parts = append(parts, "("+d["lists"]+")")
			}
		case "ivr.exit":
			parts = append(parts, "→ "+d["to"])
		case "voicemail.saved":
			parts = append(parts, "(message "+d["length"]+", "+d["reason"]+")")
		case "survey":
			parts = append(parts, "survey "+d["score"])
		}
	}
	return strings.Join(parts, " ")
}

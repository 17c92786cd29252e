package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callbox/pbx"
)

func newExtCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "ext",
		Short: "List extensions with their registered phones",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var exts []pbx.ExtensionState
			if err := c.client().do(cmd.Context(), http.MethodGet, "/api/v1/extensions", nil, &exts); err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.stdout, exts)
			}
			t := newTable(c.stdout, "EXT", "NAME", "STATE", "CONTACT", "SOURCE", "USER AGENT", "LAST SEEN")
			for _, e := range exts {
				if len(e.Contacts) == 0 {
					t.row(e.Number, e.Name, e.State, "", "", "", "")
					continue
				}
				for i, b := range e.Contacts {
					num, name, state := e.Number, e.Name, e.State
					if i > 0 {
						num, name, state = "", "", ""
					}
					t.row(num, name, state, b.Contact, b.Transport+"/"+b.Source.String(), b.UserAgent, since(time.Since(b.LastSeen))+" ago")
				}
			}
			return t.flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

func newTrunksCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "trunks",
		Short: "List trunks and their state",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var trunks []pbx.TrunkState
			if err := c.client().do(cmd.Context(), http.MethodGet, "/api/v1/trunks", nil, &trunks); err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.stdout, trunks)
			}
			if len(trunks) == 0 {
				fmt.Fprintln(c.stdout, "no trunks configured")
				return nil
			}
			t := newTable(c.stdout, "TRUNK", "KIND", "STATE", "SINCE", "SERVER", "LAST ERROR")
			for _, tr := range trunks {
				s := ""
				if !tr.Since.IsZero() {
					s = since(time.Since(tr.Since)) + " ago"
				}
				t.row(tr.Name, tr.Kind, tr.State, s, tr.Server, tr.LastError)
			}
			return t.flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	return cmd
}

func newBansCmd(c *cli) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "bans",
		Short: "List addresses banned after failed SIP logins",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			var bans []pbx.Ban
			if err := c.client().do(cmd.Context(), http.MethodGet, "/api/v1/bans", nil, &bans); err != nil {
				return err
			}
			if asJSON {
				return printJSON(c.stdout, bans)
			}
			if len(bans) == 0 {
				fmt.Fprintln(c.stdout, "no addresses banned")
				return nil
			}
			t := newTable(c.stdout, "ADDRESS", "SINCE", "UNTIL", "FAILURES", "REASON")
			for _, b := range bans {
				t.row(b.Addr, localTime(b.Since), localTime(b.Until), b.Failures, b.Reason)
			}
			return t.flush()
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON for scripts")
	cmd.AddCommand(&cobra.Command{
		Use:   "rm ADDRESS",
		Short: "Lift the ban on an address",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := c.client().do(cmd.Context(), http.MethodDelete, "/api/v1/bans/"+url.PathEscape(strings.TrimSpace(args[0])), nil, nil); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%s is no longer banned\n", args[0])
			return nil
		},
	})
	return cmd
}

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
	return listing[pbx.ExtensionState]{use: "ext", short: "List extensions with their registered phones", path: "/api/v1/extensions",
		print: func(c *cli, exts []pbx.ExtensionState) error {
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
		}}.command(c)
}

func newTrunksCmd(c *cli) *cobra.Command {
	return listing[pbx.TrunkState]{use: "trunks", short: "List trunks and their state", path: "/api/v1/trunks", empty: "no trunks configured",
		print: func(c *cli, trunks []pbx.TrunkState) error {
			t := newTable(c.stdout, "TRUNK", "KIND", "STATE", "SINCE", "SERVER", "LAST ERROR")
			for _, tr := range trunks {
				s := ""
				if !tr.Since.IsZero() {
					s = since(time.Since(tr.Since)) + " ago"
				}
				t.row(tr.Name, tr.Kind, tr.State, s, tr.Server, tr.LastError)
			}
			return t.flush()
		}}.command(c)
}

func newBansCmd(c *cli) *cobra.Command {
	cmd := listing[pbx.Ban]{use: "bans", short: "List addresses banned after failed SIP logins", path: "/api/v1/bans", empty: "no addresses banned",
		print: func(c *cli, bans []pbx.Ban) error {
			t := newTable(c.stdout, "ADDRESS", "SINCE", "UNTIL", "FAILURES", "REASON")
			for _, b := range bans {
				t.row(b.Addr, localTime(b.Since), localTime(b.Until), b.Failures, b.Reason)
			}
			return t.flush()
		}}.command(c)
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

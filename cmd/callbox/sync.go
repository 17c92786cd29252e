package main

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"callbox/sync/outbox"
)

func newSyncCmd(c *cli) *cobra.Command {
	cmd := &cobra.Command{Use: "sync", Short: "See and steer the delivery of calls to webhooks and helpdesks"}
	cmd.AddCommand(newSyncStatusCmd(c), newSyncRetryCmd(c), newSyncReplayCmd(c))
	return cmd
}

func newSyncStatusCmd(c *cli) *cobra.Command {
	return listing[outbox.DestinationStatus]{use: "status", short: "Show each destination: waiting, in flight, failing, dead letters, last error and success",
		path: "/api/v1/sync/status", empty: "no sync destinations configured",
		print: func(c *cli, sts []outbox.DestinationStatus) error {
			t := newTable(c.stdout, "DESTINATION", "KIND", "STATE", "PENDING", "IN FLIGHT", "FAILED", "DEAD", "LAST SUCCESS", "LAST ERROR")
			for _, s := range sts {
				t.row(s.Name, s.Kind, syncState(s), s.Pending, s.InFlight, s.Failed, s.Dead, timeOrNever(s.LastSuccess), lastError(s))
			}
			return t.flush()
		}}.command(c)
}

func syncState(s outbox.DestinationStatus) string {
	switch {
	case s.Paused:
		return "paused"
	case s.Dead > 0:
		return "dead letters"
	case s.Failed > 0:
		return "retrying"
	case s.Pending+s.InFlight > 0:
		return "sending"
	}
	return "ok"
}

func timeOrNever(t *time.Time) string {
	if t == nil {
		return "never"
	}
	return localTime(*t)
}

func lastError(s outbox.DestinationStatus) string {
	msg := s.LastError
	if s.Paused && s.PauseReason != "" {
		msg = s.PauseReason
	}
	if msg == "" {
		return ""
	}
	if len(msg) > 60 {
		msg = msg[:57] + "..."
	}
	if s.LastErrorAt != nil {
		msg = localTime(*s.LastErrorAt) + " " + msg
	}
	return msg
}

func newSyncRetryCmd(c *cli) *cobra.Command {
	var dead bool
	var dest string
	cmd := &cobra.Command{
		Use:   "retry [ID | --dead]",
		Short: "Send again now: one row, every dead letter, or every waiting row; resumes paused destinations",
		Long: `Makes outbox rows due now and resumes the destinations they belong to if they were paused
(a helpdesk that refused our credentials stays paused until this or a configuration reload).

  callbox sync retry                  every waiting row, now
  callbox sync retry ID               one row (its id is the event id receivers see)
  callbox sync retry --dead           every dead letter, after fixing what made them fail`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req := outbox.RetryRequest{Dead: dead, Destination: dest}
			if len(args) == 1 {
				if dead {
					return errors.New("give a row id or --dead, not both")
				}
				req.ID = args[0]
			}
			var res outbox.RetryResult
			if err := c.client().do(cmd.Context(), http.MethodPost, "/api/v1/sync/retry", req, &res); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%d row(s) queued again\n", res.Requeued)
			if len(res.Resumed) > 0 {
				fmt.Fprintf(c.stdout, "resumed: %s\n", strings.Join(res.Resumed, ", "))
			}
			return nil
		},
	}
	cmd.Flags().BoolVar(&dead, "dead", false, "retry every dead letter")
	cmd.Flags().StringVar(&dest, "destination", "", "only this destination")
	return cmd
}

func newSyncReplayCmd(c *cli) *cobra.Command {
	var since, dest string
	cmd := &cobra.Command{
		Use:   "replay --since TIME",
		Short: "Send again everything delivered since TIME (receivers de-duplicate on the event id)",
		Long: `Queues again every row delivered since TIME, with its id unchanged: a receiver that
de-duplicates on webhook-id keeps what it has and fills what it lost (after restoring a
backup, say). Helpdesks find the tickets they have by call id, but comments may come twice:
replay to a webhook with --destination where you can.

TIME is RFC 3339 (2026-11-23T09:00:00Z), a date (2026-11-23, local midnight) or a duration
ago (90m, 24h).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			t, err := parseSince(since, time.Now())
			if err != nil {
				return err
			}
			var res outbox.ReplayResult
			if err := c.client().do(cmd.Context(), http.MethodPost, "/api/v1/sync/replay",
				outbox.ReplayRequest{Since: t, Destination: dest}, &res); err != nil {
				return err
			}
			fmt.Fprintf(c.stdout, "%d row(s) delivered since %s queued again\n", res.Requeued, localTime(t))
			return nil
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "replay rows made since this time (required)")
	cmd.Flags().StringVar(&dest, "destination", "", "only this destination")
	cmd.MarkFlagRequired("since")
	return cmd
}

// parseSince reads RFC 3339, a date (local midnight) or a duration before now.
func parseSince(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339, s); err == nil {
		return t, nil
	}
	if t, err := time.ParseInLocation("2006-01-02", s, time.Local); err == nil {
		return t, nil
	}
	if d, err := time.ParseDuration(s); err == nil && d > 0 {
		return now.Add(-d), nil
	}
	return time.Time{}, fmt.Errorf("bad --since %q: want RFC 3339 (2026-11-23T09:00:00Z), a date (2026-11-23) or a duration ago (24h)", s)
}

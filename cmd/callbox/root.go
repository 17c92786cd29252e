package main

import (
	"io"

	"github.com/spf13/cobra"
)

// cli is what every command shares: where it writes and how it reaches the daemon.
type cli struct {
	stdout, stderr io.Writer
	socket         string
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	c := &cli{stdout: stdout, stderr: stderr}
	root := &cobra.Command{
		Use:   "callbox",
		Short: "The call-center box: SIP trunks and phones, IVR, queues, recording, helpdesk sync",
		Long: `callbox answers a company's phone lines and SIP trunks, runs IVR menus, queues callers to
agents, records every conversation and syncs calls to the helpdesk.

"callbox serve" runs the daemon; the other commands talk to the running daemon over its
Unix socket.`,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.PersistentFlags().StringVar(&c.socket, "socket", "", "the daemon's API socket (default $CALLBOX_SOCKET, /run/callbox/callbox.sock or ./callbox-data/callbox.sock)")
	root.AddCommand(
		newServeCmd(c),
		newConfigCmd(c),
		newStatusCmd(c),
		newCallsCmd(c),
		newVersionCmd(c),
		newPasswdCmd(c),
		newReloadCmd(c),
		newExtCmd(c),
		newTrunksCmd(c),
		newBansCmd(c),
		newQueueCmd(c),
		newAgentsCmd(c),
		newAgentCmd(c),
		newSyncCmd(c),
		newIVRCmd(c),
		newListCmd(c),
		newHoursCmd(c),
	)
	return root
}

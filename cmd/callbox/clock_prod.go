//go:build !testclock

package main

import (
	"log/slog"

	"callbox"
)

// ivrClock is the clock of opening hours and list expiry: the system's. (Test builds, made
// with -tags testclock, can set it from a file; see clock_testclock.go.)
func ivrClock(*slog.Logger) callbox.Clock { return callbox.SystemClock{} }

// Package callbox holds the domain types that every part of the box shares: a Leg (one party
// of a call), the record of a Call and its timeline, caller identity and error codes.
//
// It imports none of the other callbox packages, so signalling (pbx), analog lines (hw), the
// IVR, the queue and the store can all speak about calls without knowing each other.
package callbox

import "time"

// Version is the version of the binary, set at build time with -ldflags.
var Version = "dev"

// Clock tells the time. Components take one so tests can control it.
type Clock interface {
	Now() time.Time
}

// SystemClock is the wall clock.
type SystemClock struct{}

// Now returns the current time.
func (SystemClock) Now() time.Time { return time.Now() }

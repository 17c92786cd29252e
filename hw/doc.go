// Package hw terminates analog phone lines on USB boxes (voice modems, sound-card + HID
// boxes) and turns each call on them into a callbox.Leg, like any SIP call. It also offers a
// simulated line for tests and demos.
package hw

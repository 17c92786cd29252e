// Package ivr runs the box's menu scripts: prompts, key choices, business hours and holidays,
// blacklist and VIP lists, voicemail and post-call surveys. It talks to callbox.Legs only, so
// a SIP call and an analog-line call walk the same code.
package ivr

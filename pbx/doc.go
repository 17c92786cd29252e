// Package pbx is the box's SIP signalling: the registrar for agent phones, trunk
// registration, B2BUA dialogs, SDP offer/answer and SIP security. It turns every SIP call
// party into a callbox.Leg and is the only package that imports sipgo.
package pbx

// Package media is the box's audio: RTP sessions, G.711, the jitter buffer, DTMF (RFC 4733
// and in-band), tone plans, prompt playback, mixing, recording and text to speech.
package media

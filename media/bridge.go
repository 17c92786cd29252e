package media

import "callbox"

// Tap sees every frame a bridge relays; fromA tells which side sent it. A recorder is a tap.
// It is called on the legs' receive goroutines and must not block.
type Tap func(fromA bool, f *callbox.Frame)

// Bridge relays two legs' media both ways, packet by packet, with no jitter buffer: each frame
// received on one side is written to the other (which rewrites the stream and converts the
// codec if the sides differ). It returns a function that undoes the bridge.
func Bridge(a, b callbox.Media, tap Tap) (unbridge func()) {
	a.SetSink(relay{to: b, tap: tap, fromA: true})
	b.SetSink(relay{to: a, tap: tap, fromA: false})
	return func() {
		a.SetSink(nil)
		b.SetSink(nil)
	}
}

type relay struct {
	to    callbox.Media
	tap   Tap
	fromA bool
}

func (r relay) OnFrame(f *callbox.Frame) {
	r.to.WriteFrame(f)
	if r.tap != nil {
		r.tap(r.fromA, f)
	}
}

package prompt

import (
	"math"

	"callbox/media/dsp"
)

// Melody is music on hold for a box without music files: a quiet tune of soft sine notes,
// played for ever, so a waiting caller never hears a silence they could take for a dead
// line. It is computed as it plays (no memory per caller beyond the source itself), and
// its notes are single tones, which no DTMF or call-progress detector takes for a signal.
func Melody() Source { return &melody{} }

// melodyNote is one note of the tune: a frequency (0 = rest) and a length in frames.
type melodyNote struct {
	freq   float64
	frames int
}

// The tune: a slow phrase on a pentatonic scale, about 8 seconds, then again.
var melodyTune = [...]melodyNote{
	{523.25, 20}, {659.26, 20}, {783.99, 20}, {659.26, 20}, {587.33, 40}, {0, 10},
	{523.25, 20}, {587.33, 20}, {659.26, 20}, {783.99, 20}, {880.00, 40}, {0, 10},
	{783.99, 20}, {659.26, 20}, {587.33, 20}, {523.25, 20}, {440.00, 40}, {0, 10},
	{523.25, 20}, {587.33, 20}, {523.25, 60}, {0, 30},
}

const (
	melodyLevel = 2500.0 // peak amplitude: about -22 dBFS, soft under speech
	melodyFade  = 200    // samples of attack; notes then decay slowly
)

type melody struct {
	note  int     // index in melodyTune
	pos   int     // samples into the note
	phase float64 // of the fundamental, radians
}

func (m *melody) ReadFrame(frame []int16) (int, error) {
	for i := range frame {
		n := melodyTune[m.note]
		length := n.frames * FrameSamples
		if n.freq > 0 {
			// A soft attack, then an exponential decay, with a touch of the octave for
			// warmth.
			env := math.Exp(-2.5 * float64(m.pos) / float64(length))
			if m.pos < melodyFade {
				env *= float64(m.pos) / melodyFade
			}
			if tail := length - m.pos; tail < melodyFade {
				env *= float64(tail) / melodyFade
			}
			v := math.Sin(m.phase) + 0.25*math.Sin(2*m.phase)
			frame[i] = int16(melodyLevel * env * v / 1.25)
			m.phase += 2 * math.Pi * n.freq / dsp.SampleRate
			if m.phase > 2*math.Pi {
				m.phase -= 2 * math.Pi
			}
		} else {
			frame[i] = 0
		}
		m.pos++
		if m.pos >= length {
			m.pos, m.phase = 0, 0
			m.note = (m.note + 1) % len(melodyTune)
		}
	}
	return len(frame), nil
}

func (m *melody) Close() error { return nil }

package dsp

import "slices"

// Mixer mixes the audio of a conference or a supervised call, one frame at a time: each party
// hears the sum of the others it may hear (mix-minus: never itself), saturated to 16 bits.
// By default everybody hears everybody; SetHears, Listen, Whisper and Barge change who hears
// whom.
//
// A Mixer is driven by one goroutine (the conference's 20 ms clock): for each frame, set every
// party's input, call Mix, read every party's output. It is not safe for concurrent use.
type Mixer struct {
	samples int
	parties []*Party
	acc     []int32
}

// Party is one participant of a Mixer.
type Party struct {
	m      *Mixer
	in     []int16
	out    []int16
	talked bool     // input was given for this frame
	deafTo []*Party // speakers this party does not hear
}

// NewMixer returns a mixer of frames of the given number of samples (160 for 20 ms).
func NewMixer(samples int) *Mixer {
	return &Mixer{samples: samples, acc: make([]int32, samples)}
}

// Join adds a party, hearing everybody and heard by everybody.
func (m *Mixer) Join() *Party {
	p := &Party{m: m, in: make([]int16, m.samples), out: make([]int16, m.samples)}
	m.parties = append(m.parties, p)
	return p
}

// Leave removes a party.
func (m *Mixer) Leave(p *Party) {
	m.parties = slices.DeleteFunc(m.parties, func(q *Party) bool { return q == p })
	for _, q := range m.parties {
		q.deafTo = slices.DeleteFunc(q.deafTo, func(s *Party) bool { return s == p })
	}
	p.m = nil
}

// Parties is how many parties are in the mix.
func (m *Mixer) Parties() int { return len(m.parties) }

// SetInput gives the party's audio for this frame (copied; shorter input is padded with
// silence). A party without input for a frame is silent in it.
func (p *Party) SetInput(pcm []int16) {
	n := copy(p.in, pcm)
	clear(p.in[n:])
	p.talked = true
}

// Output is what the party hears in the frame last mixed. It is overwritten by the next Mix.
func (p *Party) Output() []int16 { return p.out }

// SetHears sets whether listener hears speaker.
func (m *Mixer) SetHears(listener, speaker *Party, hears bool) {
	if listener == speaker {
		return
	}
	i := slices.Index(listener.deafTo, speaker)
	switch {
	case hears && i >= 0:
		listener.deafTo = slices.Delete(listener.deafTo, i, i+1)
	case !hears && i < 0:
		listener.deafTo = append(listener.deafTo, speaker)
	}
}

// Hears reports whether listener hears speaker.
func (m *Mixer) Hears(listener, speaker *Party) bool {
	return listener != speaker && !slices.Contains(listener.deafTo, speaker)
}

// Listen makes supervisor a silent listener: it hears everybody, nobody hears it.
func (m *Mixer) Listen(supervisor *Party) {
	for _, p := range m.parties {
		m.SetHears(supervisor, p, true)
		m.SetHears(p, supervisor, false)
	}
}

// Whisper lets supervisor coach agent: supervisor hears everybody, only agent hears it.
func (m *Mixer) Whisper(supervisor, agent *Party) {
	for _, p := range m.parties {
		m.SetHears(supervisor, p, true)
		m.SetHears(p, supervisor, p == agent)
	}
}

// Barge brings supervisor into the conversation: everybody hears it and it hears everybody.
func (m *Mixer) Barge(supervisor *Party) {
	for _, p := range m.parties {
		m.SetHears(supervisor, p, true)
		m.SetHears(p, supervisor, true)
	}
}

// Mix mixes the frame: every party's output is set from the inputs given since the last Mix,
// and the inputs are then taken as used.
func (m *Mixer) Mix() {
	acc := m.acc
	clear(acc)
	for _, p := range m.parties {
		if p.talked {
			for i, v := range p.in {
				acc[i] += int32(v)
			}
		}
	}
	for _, p := range m.parties {
		out := p.out
		switch {
		case !p.talked && len(p.deafTo) == 0:
			for i, v := range acc {
				out[i] = saturate(v)
			}
		case len(p.deafTo) == 0:
			for i, v := range acc {
				out[i] = saturate(v - int32(p.in[i]))
			}
		default:
			for i, v := range acc {
				if p.talked {
					v -= int32(p.in[i])
				}
				for _, s := range p.deafTo {
					if s.talked {
						v -= int32(s.in[i])
					}
				}
				out[i] = saturate(v)
			}
		}
	}
	for _, p := range m.parties {
		p.talked = false
	}
}

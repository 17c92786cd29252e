package dsp

import (
	"fmt"
	"testing"
)

func constant(v int16) []int16 {
	out := make([]int16, 160)
	for i := range out {
		out[i] = v
	}
	return out
}

// heard mixes one frame where each party says a distinct value, and returns what each hears.
func heard(m *Mixer, ps []*Party, says []int16) []int16 {
	for i, p := range ps {
		if says[i] != 0 {
			p.SetInput(constant(says[i]))
		}
	}
	m.Mix()
	out := make([]int16, len(ps))
	for i, p := range ps {
		out[i] = p.Output()[0]
		for _, v := range p.Output() {
			if v != out[i] {
				panic("a frame of a constant mixes to a constant")
			}
		}
	}
	return out
}

func TestMixMinus(t *testing.T) {
	m := NewMixer(160)
	a, b, c := m.Join(), m.Join(), m.Join()
	ps := []*Party{a, b, c}
	tests := []struct {
		name string
		set  func()
		says []int16
		want []int16
	}{
		{"everybody hears the others", func() {}, []int16{1, 10, 100}, []int16{110, 101, 11}},
		{"a silent party (no frame) adds nothing", func() {}, []int16{1, 0, 100}, []int16{100, 101, 1}},
		{"saturation", func() {}, []int16{30000, 30000, -30000}, []int16{0, 0, 32767}},
		{"negative saturation", func() {}, []int16{-30000, -30000, 5}, []int16{-29995, -29995, -32768}},
		{"a does not hear c", func() { m.SetHears(a, c, false) }, []int16{1, 10, 100}, []int16{10, 101, 11}},
		{"a hears c again", func() { m.SetHears(a, c, true) }, []int16{1, 10, 100}, []int16{110, 101, 11}},
	}
	for _, tt := range tests {
		tt.set()
		if got := heard(m, ps, tt.says); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: heard %v, want %v", tt.name, got, tt.want)
		}
	}
}

// Supervision of a call between a caller and an agent.
func TestSupervision(t *testing.T) {
	m := NewMixer(160)
	caller, agent, sup := m.Join(), m.Join(), m.Join()
	ps := []*Party{caller, agent, sup}
	says := []int16{1, 10, 100}
	tests := []struct {
		mode string
		set  func()
		want []int16 // caller, agent, supervisor hear
	}{
		{"listen: supervisor hears both, nobody hears it", func() { m.Listen(sup) }, []int16{10, 1, 11}},
		{"whisper: the agent hears the supervisor, the caller does not", func() { m.Whisper(sup, agent) }, []int16{10, 101, 11}},
		{"barge: all hear all", func() { m.Barge(sup) }, []int16{110, 101, 11}},
		{"back to listen", func() { m.Listen(sup) }, []int16{10, 1, 11}},
	}
	for _, tt := range tests {
		tt.set()
		if got := heard(m, ps, says); fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("%s: heard %v, want %v", tt.mode, got, tt.want)
		}
	}
	if m.Hears(caller, sup) || !m.Hears(sup, caller) || m.Hears(sup, sup) {
		t.Error("Hears disagrees with listen mode")
	}
	m.Leave(sup)
	if got := heard(m, []*Party{caller, agent}, []int16{1, 10}); fmt.Sprint(got) != "[10 1]" {
		t.Errorf("after the supervisor left: %v", got)
	}
	if m.Parties() != 2 {
		t.Errorf("%d parties", m.Parties())
	}
}

func TestMixDoesNotAllocate(t *testing.T) {
	m := NewMixer(160)
	ps := []*Party{m.Join(), m.Join(), m.Join()}
	m.Whisper(ps[2], ps[1])
	in := constant(7)
	if a := testing.AllocsPerRun(100, func() {
		for _, p := range ps {
			p.SetInput(in)
		}
		m.Mix()
	}); a != 0 {
		t.Errorf("Mix allocates %.1f times a frame", a)
	}
}

func BenchmarkMix20ms(b *testing.B) {
	for _, n := range []int{3, 10} {
		for _, supervised := range []bool{false, true} {
			if supervised && n != 3 {
				continue
			}
			b.Run(fmt.Sprintf("parties=%d/whisper=%v", n, supervised), func(b *testing.B) {
				m := NewMixer(160)
				var ps []*Party
				for range n {
					ps = append(ps, m.Join())
				}
				if supervised {
					m.Whisper(ps[2], ps[1])
				}
				in := sine(160, 440, 8000, 5000)
				b.ReportAllocs()
				for b.Loop() {
					for _, p := range ps {
						p.SetInput(in)
					}
					m.Mix()
				}
			})
		}
	}
}

package prompt

import (
	"math"
	"testing"

	"callbox/media/dsp"
)

// TestMelodyIsSoftEndlessAndNoSignal plays a minute of the box's own music on hold: it
// never ends, no second of it is silent, it stays well below full scale, and neither the
// DTMF detector nor a ringback detector takes it for a signal.
func TestMelodyIsSoftEndlessAndNoSignal(t *testing.T) {
	m := Melody()
	defer m.Close()
	det := dsp.NewDTMFDetector(dsp.DTMFConfig{})
	frame := make([]int16, FrameSamples)
	second := make([]int16, 0, 8000)
	peak := 0
	for i := range 60 * 50 {
		n, err := m.ReadFrame(frame)
		if n != FrameSamples || err != nil {
			t.Fatalf("frame %d: %d, %v", i, n, err)
		}
		for _, e := range det.Process(frame) {
			t.Fatalf("the melody was heard as the key %c at frame %d", e.Digit, i)
		}
		for _, v := range frame {
			peak = max(peak, int(math.Abs(float64(v))))
		}
		second = append(second, frame...)
		if len(second) == 8000 {
			var sum float64
			for _, v := range second {
				sum += float64(v) * float64(v)
			}
			if rms := math.Sqrt(sum / 8000); rms < 100 {
				t.Errorf("second %d is next to silent (rms %.0f)", i/50, rms)
			}
			second = second[:0]
		}
	}
	if peak > 4000 || peak < 1000 {
		t.Errorf("peak %d: want a soft tune", peak)
	}
}

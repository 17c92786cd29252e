package g711

import (
	"math"
	"testing"
)

// Reference points from ITU-T G.711's tables.
func TestKnownValues(t *testing.T) {
	tests := []struct {
		name string
		got  int
		want int
	}{
		{"µ-law 0xFF is zero", int(UlawToLinear(0xFF)), 0},
		{"µ-law 0x7F is zero", int(UlawToLinear(0x7F)), 0},
		{"µ-law 0x00 is the negative peak", int(UlawToLinear(0x00)), -32124},
		{"µ-law 0x80 is the positive peak", int(UlawToLinear(0x80)), 32124},
		{"A-law 0xD5 is +8", int(AlawToLinear(0xD5)), 8},
		{"A-law 0x55 is -8", int(AlawToLinear(0x55)), -8},
		{"A-law 0xAA is the positive peak", int(AlawToLinear(0xAA)), 32256},
		{"A-law 0x2A is the negative peak", int(AlawToLinear(0x2A)), -32256},
		{"zero encodes to µ-law 0xFF", int(LinearToUlaw(0)), 0xFF},
		{"zero encodes to A-law 0xD5", int(LinearToAlaw(0)), 0xD5},
		{"µ-law silence to A-law", int(ulawToAlaw[UlawSilence]), int(AlawSilence)},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: got %d (%#x), want %d (%#x)", tt.name, tt.got, tt.got, tt.want, tt.want)
		}
	}
}

// Every code decodes and re-encodes to itself (µ-law's two zeros aside).
func TestRoundTripOfEveryCode(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		if got := LinearToUlaw(UlawToLinear(b)); got != b && b != 0x7F {
			t.Errorf("µ-law %#x → %d → %#x", b, UlawToLinear(b), got)
		}
		if got := LinearToAlaw(AlawToLinear(b)); got != b {
			t.Errorf("A-law %#x → %d → %#x", b, AlawToLinear(b), got)
		}
	}
}

// Encoding is monotonic and its error stays within the segment's step.
func TestQuantisationError(t *testing.T) {
	for s := -32768; s <= 32767; s += 7 {
		u := int(UlawToLinear(LinearToUlaw(int16(s))))
		a := int(AlawToLinear(LinearToAlaw(int16(s))))
		mag := math.Abs(float64(s))
		// Companding keeps the relative error near 1/32 above the linear region.
		limit := math.Max(mag/16, 40)
		if math.Abs(float64(u-s)) > limit && mag < 32124 {
			t.Fatalf("µ-law %d → %d: error too large", s, u)
		}
		if math.Abs(float64(a-s)) > limit && mag < 32256 {
			t.Fatalf("A-law %d → %d: error too large", s, a)
		}
	}
}

func TestTranscodeMatchesDecodeEncode(t *testing.T) {
	for i := range 256 {
		b := byte(i)
		if got, want := ulawToAlaw[b], LinearToAlaw(UlawToLinear(b)); got != want {
			t.Errorf("µ→A %#x: %#x, want %#x", b, got, want)
		}
		if got, want := alawToUlaw[b], LinearToUlaw(AlawToLinear(b)); got != want {
			t.Errorf("A→µ %#x: %#x, want %#x", b, got, want)
		}
	}
}

func frame() []int16 {
	pcm := make([]int16, 160)
	for i := range pcm {
		pcm[i] = int16(8000 * math.Sin(2*math.Pi*440*float64(i)/8000))
	}
	return pcm
}

func BenchmarkEncodeUlaw20ms(b *testing.B) {
	pcm, out := frame(), make([]byte, 160)
	b.ReportAllocs()
	b.SetBytes(160)
	for b.Loop() {
		EncodeUlaw(out, pcm)
	}
}

func BenchmarkDecodeUlaw20ms(b *testing.B) {
	in, out := make([]byte, 160), make([]int16, 160)
	EncodeUlaw(in, frame())
	b.ReportAllocs()
	b.SetBytes(160)
	for b.Loop() {
		DecodeUlaw(out, in)
	}
}

func BenchmarkUlawToAlaw20ms(b *testing.B) {
	in := make([]byte, 160)
	EncodeUlaw(in, frame())
	b.ReportAllocs()
	b.SetBytes(160)
	for b.Loop() {
		UlawToAlaw(in, in)
	}
}

// The encode tables give exactly what the encoder computes, for every sample.
func TestTablesMatchEncoder(t *testing.T) {
	for s := -32768; s <= 32767; s++ {
		if LinearToUlaw(int16(s)) != encodeUlaw(int16(s)) || LinearToAlaw(int16(s)) != encodeAlaw(int16(s)) {
			t.Fatalf("table differs from the encoder at %d", s)
		}
	}
}

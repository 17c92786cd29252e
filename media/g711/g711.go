// Package g711 converts between linear 16-bit PCM and G.711 µ-law and A-law (ITU-T G.711),
// and between the two laws directly, with tables built once per Codec value.
package g711

// The tables are computed by pure functions at package initialisation and never written
// afterwards, so sharing them is safe.
var (
	ulawToLinear [256]int16
	alawToLinear [256]int16
	ulawToAlaw   [256]byte
	alawToUlaw   [256]byte
	linearToUlaw [1 << 16]byte // indexed by the sample as uint16
	linearToAlaw [1 << 16]byte
)

func init() {
	for i := range 256 {
		ulawToLinear[i] = decodeUlaw(byte(i))
		alawToLinear[i] = decodeAlaw(byte(i))
	}
	for i := range 1 << 16 {
		linearToUlaw[i] = encodeUlaw(int16(uint16(i)))
		linearToAlaw[i] = encodeAlaw(int16(uint16(i)))
	}
	for i := range 256 {
		ulawToAlaw[i] = encodeAlaw(ulawToLinear[i])
		alawToUlaw[i] = encodeUlaw(alawToLinear[i])
	}
}

const (
	ulawBias = 0x84
	ulawClip = 32635
)

func encodeUlaw(s int16) byte {
	v := int(s)
	sign := 0
	if v < 0 {
		v = -v
		sign = 0x80
	}
	if v > ulawClip {
		v = ulawClip
	}
	v += ulawBias
	exp := 7
	for mask := 0x4000; v&mask == 0 && exp > 0; mask >>= 1 {
		exp--
	}
	mant := (v >> (exp + 3)) & 0x0f
	return ^byte(sign | exp<<4 | mant)
}

func decodeUlaw(u byte) int16 {
	u = ^u
	sign := u & 0x80
	exp := int(u>>4) & 0x07
	mant := int(u & 0x0f)
	v := ((mant << 3) + ulawBias) << exp
	v -= ulawBias
	if sign != 0 {
		return int16(-v)
	}
	return int16(v)
}

func encodeAlaw(s int16) byte {
	v := int(s)
	sign := 0x80
	if v < 0 {
		v = -v - 1
		sign = 0
	}
	if v > 32767 {
		v = 32767
	}
	var out int
	if v < 256 {
		out = v >> 4
	} else {
		exp := 1
		for t := v >> 8; t > 1; t >>= 1 {
			exp++
		}
		out = exp<<4 | (v>>(exp+3))&0x0f
	}
	return byte(out|sign) ^ 0x55
}

func decodeAlaw(a byte) int16 {
	a ^= 0x55
	sign := a & 0x80
	exp := int(a>>4) & 0x07
	mant := int(a & 0x0f)
	var v int
	if exp == 0 {
		v = mant<<4 + 8
	} else {
		v = (mant<<4 + 0x108) << (exp - 1)
	}
	if sign == 0 {
		return int16(-v)
	}
	return int16(v)
}

// UlawToLinear decodes one µ-law byte.
func UlawToLinear(u byte) int16 { return ulawToLinear[u] }

// AlawToLinear decodes one A-law byte.
func AlawToLinear(a byte) int16 { return alawToLinear[a] }

// LinearToUlaw encodes one sample as µ-law.
func LinearToUlaw(s int16) byte { return linearToUlaw[uint16(s)] }

// LinearToAlaw encodes one sample as A-law.
func LinearToAlaw(s int16) byte { return linearToAlaw[uint16(s)] }

// DecodeUlaw decodes src into dst (len(dst) >= len(src)) and returns the samples written.
func DecodeUlaw(dst []int16, src []byte) int {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = ulawToLinear[b]
	}
	return len(src)
}

// DecodeAlaw decodes src into dst (len(dst) >= len(src)) and returns the samples written.
func DecodeAlaw(dst []int16, src []byte) int {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = alawToLinear[b]
	}
	return len(src)
}

// EncodeUlaw encodes src into dst (len(dst) >= len(src)) and returns the bytes written.
func EncodeUlaw(dst []byte, src []int16) int {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = linearToUlaw[uint16(s)]
	}
	return len(src)
}

// EncodeAlaw encodes src into dst (len(dst) >= len(src)) and returns the bytes written.
func EncodeAlaw(dst []byte, src []int16) int {
	dst = dst[:len(src)]
	for i, s := range src {
		dst[i] = linearToAlaw[uint16(s)]
	}
	return len(src)
}

// UlawToAlaw converts µ-law bytes to A-law without going through PCM; dst may be src.
func UlawToAlaw(dst, src []byte) int {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = ulawToAlaw[b]
	}
	return len(src)
}

// AlawToUlaw converts A-law bytes to µ-law without going through PCM; dst may be src.
func AlawToUlaw(dst, src []byte) int {
	dst = dst[:len(src)]
	for i, b := range src {
		dst[i] = alawToUlaw[b]
	}
	return len(src)
}

// Silence bytes: what each law encodes for zero.
const (
	UlawSilence byte = 0xFF
	AlawSilence byte = 0xD5
)

package dsp

import (
	"fmt"
	"math"
	"time"
)

// dtmfDigits lays out the keypad: row r, column c is dtmfDigits[4*r+c].
const dtmfDigits = "123A456B789C*0#D"

var (
	dtmfRows = [4]float64{697, 770, 852, 941}
	dtmfCols = [4]float64{1209, 1336, 1477, 1633}
)

// DTMFFreqs returns the low (row) and high (column) frequencies of a digit: 0-9, *, #, A-D.
func DTMFFreqs(digit rune) (low, high float64, ok bool) {
	if digit >= 'a' && digit <= 'd' {
		digit -= 'a' - 'A'
	}
	for i, d := range dtmfDigits {
		if d == digit {
			return dtmfRows[i/4], dtmfCols[i%4], true
		}
	}
	return 0, 0, false
}

// AppendDTMF appends a DTMF digit of duration d to dst, with its low tone at lowDBm0 and its
// high tone at highDBm0 (equal levels around -6 dBm0 each are usual; a high tone louder than
// the low one is "reverse twist").
func AppendDTMF(dst []int16, digit rune, lowDBm0, highDBm0 float64, d time.Duration) ([]int16, error) {
	lo, hi, ok := DTMFFreqs(digit)
	if !ok {
		return dst, fmt.Errorf("dsp: %q is not a DTMF digit", digit)
	}
	al, ah := Amplitude(lowDBm0), Amplitude(highDBm0)
	n := int(d * SampleRate / time.Second)
	wl, wh := 2*math.Pi*lo/SampleRate, 2*math.Pi*hi/SampleRate
	for i := range n {
		v := al*math.Sin(wl*float64(i)) + ah*math.Sin(wh*float64(i))
		dst = append(dst, saturate(int32(math.Round(v))))
	}
	return dst, nil
}

// AppendSilence appends d of silence to dst.
func AppendSilence(dst []int16, d time.Duration) []int16 {
	n := int(d * SampleRate / time.Second)
	return append(dst, make([]int16, n)...)
}

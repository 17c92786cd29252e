package dsp

import (
	"math"
	"time"
)

// VADConfig tunes a VAD; the zero value gives the defaults in brackets.
type VADConfig struct {
	// Threshold is how far above the noise floor a frame must be to be talk, in dB [9].
	Threshold float64
	// MinLevel is the level below which nothing is talk, in dBm0 [-50].
	MinLevel float64
	// Hangover is how long talk goes on after the last loud frame: the gaps between words
	// are not silence [400 ms].
	Hangover time.Duration
	// MinTalk is how long a sound must last to start talk: a click is not [30 ms].
	MinTalk time.Duration
}

// VADEvent says talk started or stopped at a sample.
type VADEvent struct {
	Talking bool
	At      int64 // samples since the VAD started
}

const (
	vadFrame = 80 // 10 ms
	// The noise floor is the quietest 10 ms of the last vadWindows × 100 ms, raised by
	// vadFloorBias because the minimum of noise lies below its mean.
	vadWindows   = 20
	vadFloorBias = 2.0
)

// VAD tells talk from silence by energy against an adaptive noise floor (minimum statistics
// over two seconds, so it follows a noise that rises or falls), with a hangover. The box uses
// it to end a voicemail after some seconds of silence and to tell whether a message was heard.
// It is not safe for concurrent use.
type VAD struct {
	threshold float64
	minLevel  float64
	hangover  int64 // samples
	minTalk   int64

	acc  float64 // sum of squares of the frame so far
	n    int
	pos  int64
	mins [vadWindows]float64 // quietest frame (dBm0) of each 100 ms window
	wi   int                 // current window
	wn   int                 // frames in the current window
	full bool                // every window has a value

	talking   bool
	loudRun   int64 // samples of loud frames in a row
	loudAt    int64 // where that run began
	lastLoud  int64 // end of the last loud frame
	talkStart int64
	talkTotal int64
	stoppedAt int64
	events    []VADEvent
}

// NewVAD returns a VAD with cfg's settings.
func NewVAD(cfg VADConfig) *VAD {
	if cfg.Threshold == 0 {
		cfg.Threshold = 9
	}
	if cfg.MinLevel == 0 {
		cfg.MinLevel = -50
	}
	if cfg.Hangover == 0 {
		cfg.Hangover = 400 * time.Millisecond
	}
	if cfg.MinTalk == 0 {
		cfg.MinTalk = 30 * time.Millisecond
	}
	v := &VAD{
		threshold: cfg.Threshold,
		minLevel:  cfg.MinLevel,
		hangover:  int64(cfg.Hangover * SampleRate / time.Second),
		minTalk:   int64(cfg.MinTalk * SampleRate / time.Second),
		events:    make([]VADEvent, 0, 4),
	}
	for i := range v.mins {
		v.mins[i] = math.Inf(1)
	}
	return v
}

// Process runs the VAD over the next samples and returns where talk started and stopped in
// them (a stop is reported once the hangover has passed, with the position where the talk
// really ended). The returned slice is reused by the next call.
func (v *VAD) Process(pcm []int16) []VADEvent {
	v.events = v.events[:0]
	for _, s := range pcm {
		x := float64(s)
		v.acc += x * x
		v.n++
		v.pos++
		if v.n == vadFrame {
			v.frame(max(Level(v.acc/vadFrame), -90)) // digital silence is not -inf
			v.acc, v.n = 0, 0
		}
	}
	return v.events
}

// frame judges the 10 ms frame that just ended, at level dBm0.
func (v *VAD) frame(level float64) {
	floor := v.floor()
	v.track(level)
	if math.IsInf(floor, 1) { // the first frame: nothing to compare with yet
		floor = level
	}
	loud := level >= v.minLevel && level >= floor+v.threshold
	if loud {
		if v.loudRun == 0 {
			v.loudAt = v.pos - vadFrame
		}
		v.loudRun += vadFrame
		v.lastLoud = v.pos
		if !v.talking && v.loudRun >= v.minTalk {
			v.talking, v.talkStart = true, v.loudAt
			v.events = append(v.events, VADEvent{Talking: true, At: v.loudAt})
		}
		return
	}
	v.loudRun = 0
	if v.talking && v.pos-v.lastLoud >= v.hangover {
		v.talking = false
		v.talkTotal += v.lastLoud - v.talkStart
		v.stoppedAt = v.lastLoud
		v.events = append(v.events, VADEvent{Talking: false, At: v.lastLoud})
	}
}

// track keeps the minimum statistics.
func (v *VAD) track(level float64) {
	if v.wn == 0 {
		v.mins[v.wi] = level
	} else {
		v.mins[v.wi] = min(v.mins[v.wi], level)
	}
	if v.wn++; v.wn == 10 {
		v.wn = 0
		v.wi = (v.wi + 1) % vadWindows
		if v.wi == 0 {
			v.full = true
		}
	}
}

// floor is the noise floor in dBm0 (+Inf before the first frame).
func (v *VAD) floor() float64 {
	f := math.Inf(1)
	for i, m := range v.mins {
		if v.full || i <= v.wi {
			f = min(f, m)
		}
	}
	return f + vadFloorBias
}

// Talking reports whether someone is talking (hangover included).
func (v *VAD) Talking() bool { return v.talking }

// Silence is how long it has been quiet: since talk last stopped, or since the start when
// nobody talked yet; 0 while talking.
func (v *VAD) Silence() time.Duration {
	if v.talking {
		return 0
	}
	return samplesToDuration(v.pos - v.stoppedAt)
}

// TalkTime is the total time of talk so far.
func (v *VAD) TalkTime() time.Duration {
	t := v.talkTotal
	if v.talking {
		t += v.lastLoud - v.talkStart
	}
	return samplesToDuration(t)
}

// NoiseFloor is the current noise floor estimate in dBm0.
func (v *VAD) NoiseFloor() float64 { return v.floor() }

func samplesToDuration(n int64) time.Duration { return time.Duration(n) * time.Second / SampleRate }

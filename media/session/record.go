package session

import (
	"time"

	"callbox/media/dsp"
)

// Recorder takes what the party says, a frame at a time, with whether it is talk. It is
// called on the clock's goroutine and must not block (hand the frame to a writer).
type Recorder interface {
	Record(pcm []int16, talking bool)
}

// RecordOptions say how a recording runs and ends.
type RecordOptions struct {
	To Recorder
	// MaxLength ends the recording; 0 is no limit.
	MaxLength time.Duration
	// Silence ends the recording once the party has been quiet this long (since they
	// stopped talking, or since the start if they never did); 0 never.
	Silence time.Duration
}

// StopReason says why a recording ended.
type StopReason string

const (
	StoppedBySilence   StopReason = "silence"
	StoppedByMaxLength StopReason = "max-length"
	StoppedByOwner     StopReason = "stopped" // Stop, or the session closed
)

// Recording is a recording in progress; Done is closed when it has ended.
type Recording struct {
	s    *Session
	done chan struct{}
	// Set by the clock before done is closed.
	reason StopReason
	length time.Duration
	talk   time.Duration
}

// Result is what a finished recording holds.
type Result struct {
	Reason StopReason
	Length time.Duration // audio handed to the Recorder
	Talk   time.Duration // of which talk
}

type recording struct {
	r      *Recording
	opts   RecordOptions
	vad    *dsp.VAD
	frames int64
}

// Record starts recording the party (ending any recording before); the session goes on
// playing and detecting digits meanwhile.
func (s *Session) Record(o RecordOptions) *Recording {
	r := &Recording{s: s, done: make(chan struct{})}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		r.reason = StoppedByOwner
		close(r.done)
		return r
	}
	if s.rec != nil {
		s.rec.finish(StoppedByOwner)
	}
	s.rec = &recording{r: r, opts: o, vad: dsp.NewVAD(dsp.VADConfig{})}
	return r
}

// Done is closed when the recording has ended.
func (r *Recording) Done() <-chan struct{} { return r.done }

// Stop ends the recording (the caller pressed # or hung up) and returns what it holds.
func (r *Recording) Stop() Result {
	s := r.s
	s.mu.Lock()
	if s.rec != nil && s.rec.r == r {
		s.rec.finish(StoppedByOwner)
		s.rec = nil
	}
	s.mu.Unlock()
	<-r.done
	return r.Result()
}

// Result is what the recording holds; call it after Done.
func (r *Recording) Result() Result {
	<-r.done
	return Result{Reason: r.reason, Length: r.length, Talk: r.talk}
}

// take gives one frame to the recording and ends it when its time is up (s.mu held).
func (rec *recording) take(s *Session, pcm []int16) {
	rec.vad.Process(pcm)
	rec.opts.To.Record(pcm, rec.vad.Talking())
	rec.frames++
	switch {
	case rec.opts.MaxLength > 0 && time.Duration(rec.frames)*FrameDuration >= rec.opts.MaxLength:
		rec.finish(StoppedByMaxLength)
		s.rec = nil
	case rec.opts.Silence > 0 && rec.vad.Silence() >= rec.opts.Silence:
		rec.finish(StoppedBySilence)
		s.rec = nil
	}
}

// finish ends the recording once (s.mu held).
func (rec *recording) finish(reason StopReason) {
	r := rec.r
	select {
	case <-r.done:
		return
	default:
	}
	r.reason = reason
	r.length = time.Duration(rec.frames) * FrameDuration
	r.talk = rec.vad.TalkTime()
	close(r.done)
}

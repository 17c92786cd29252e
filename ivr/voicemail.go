package ivr

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"time"

	"callbox"
	"callbox/config"
	"callbox/media/dsp"
	"callbox/media/prompt"
	"callbox/media/session"
	"callbox/media/wav"
)

// beep is the tone after the greeting: record now.
var beep = dsp.Tone{Freqs: []float64{1000}, Level: -12}

const (
	beepLength = 300 * time.Millisecond
	// keptSilence is how much of the silence that ended a message stays in the file.
	keptSilence = 500 * time.Millisecond
	// vmBuffer is how much audio may wait for the disk before frames are dropped.
	vmBuffer = 250
)

// Voicemail takes a message for box (an extension): the greeting, a tone, then the caller's
// words until they press #, stay silent, hang up or reach the maximum length. The message is
// a recording of the call, and the call is flagged for follow-up. Settings of node (when the
// flow's voicemail node gives any) override ivr.voicemail.
func (cv *Conversation) Voicemail(ctx context.Context, box string, node *config.Node) Ending {
	vm := cv.cfg.IVR.Voicemail
	greeting, maxLen, silence := vm.Greeting, vm.MaxLength, vm.Silence
	if node != nil {
		if !node.Greeting.IsZero() {
			greeting = node.Greeting
		}
		if node.Has("max_length") {
			maxLen = node.MaxLength
		}
		if node.Has("silence") {
			silence = node.Silence
		}
	}
	cv.call.Event("voicemail", "box", box)
	if h := cv.play(ctx, greeting, true); h == hungUp || h == ended {
		return *cv.finish(ctx, h)
	}
	cv.pending = cv.pending[:0] // a key pressed to skip the greeting is not the end of the message
	if h := cv.playSource(ctx, prompt.Tone(beep, beepLength)); h == hungUp || h == ended {
		return *cv.finish(ctx, h)
	}

	rec := cv.call.Record()
	started := cv.svc.clock.Now()
	rel := filepath.Join("voicemail", started.Format("2006/01/02"), rec.ID+".wav")
	w, err := newMessageWriter(filepath.Join(cv.svc.dataDir, rel), cv.cfg.Recording.Format)
	if err != nil {
		cv.log.Error("voicemail could not be recorded", "err", err)
		cv.call.Event("voicemail.failed", "reason", err.Error())
		cv.svc.metrics.voicemails.WithLabelValues("failed").Inc()
		cv.hangup(callbox.CauseFailed)
		return Ending{Result: "failed", Cause: callbox.CauseFailed, Side: callbox.SideBox}
	}
	r := cv.sess.Record(session.RecordOptions{To: w, MaxLength: maxLen, Silence: silence})
	reason, h := cv.awaitMessage(ctx, r)
	res := r.Result()
	if reason == "" {
		reason = string(res.Reason)
	}
	size, dur, err := w.close()
	if err != nil {
		cv.log.Error("voicemail file", "err", err)
	}
	detail := []string{"box", box, "reason", reason, "length", res.Length.Round(time.Millisecond).String(), "talk", res.Talk.Round(time.Millisecond).String()}
	side := callbox.SideBox
	if h == hungUp {
		side = callbox.SideCaller
	}
	if res.Talk == 0 || err != nil {
		// Nothing was said: no message to follow up.
		os.Remove(filepath.Join(cv.svc.dataDir, rel))
		cv.call.Event("voicemail.empty", detail...)
		cv.svc.metrics.voicemails.WithLabelValues("empty").Inc()
		cv.hangup(callbox.CauseNormal)
		return Ending{Result: "abandoned", Cause: callbox.CauseNormal, Side: side}
	}
	rec.Recording = &callbox.Recording{ID: rec.ID + "-vm", CallID: rec.ID, Kind: "voicemail", Path: rel, Format: w.format,
		Duration: dur, Size: size, Created: started}
	addFlag(rec, "voicemail")
	addFlag(rec, "follow-up")
	rec.Variables = setVar(rec.Variables, "voicemail_box", box)
	if n := w.dropped.Load(); n > 0 {
		detail = append(detail, "dropped_frames", strconv.FormatInt(n, 10))
	}
	cv.call.Event("voicemail.saved", detail...)
	cv.svc.metrics.voicemails.WithLabelValues(reason).Inc()
	cv.log.Info("voicemail saved", "box", box, "reason", reason, "length", dur.String(), "file", rel)
	cv.hangup(callbox.CauseNormal)
	return Ending{Result: "voicemail", Cause: callbox.CauseNormal, Side: side}
}

// awaitMessage waits for a message to end: by itself (silence, length), by # or by the
// caller hanging up.
func (cv *Conversation) awaitMessage(ctx context.Context, r *session.Recording) (string, happening) {
	for {
		h := cv.next(ctx, r.Done(), nil)
		switch h {
		case played:
			return "", h
		case gotKey:
			if k := cv.take(); k.digit == '#' {
				r.Stop()
				return "key", h
			}
		default:
			r.Stop()
			return "hangup", h
		}
	}
}

// playSource plays a source to its end (keys are kept).
func (cv *Conversation) playSource(ctx context.Context, src session.Source) happening {
	if err := cv.media(ctx); err != nil {
		return hungUp
	}
	done := cv.sess.Play(src)
	for {
		switch h := cv.next(ctx, done, nil); h {
		case played:
			return h
		case hungUp, ended:
			cv.sess.Stop()
			return h
		}
	}
}

// messageWriter writes a message to its file on a goroutine of its own: the media clock
// hands it frames and never waits for the disk. Silence is held back until talk follows, so
// the silence before the first words and the silence that ended the message are kept for
// half a second only.
type messageWriter struct {
	frames  chan messageFrame
	done    chan struct{}
	w       *wav.Writer
	format  string
	dropped atomic.Int64
	err     error
}

type messageFrame struct {
	pcm     [160]int16
	talking bool
}

func newMessageWriter(path, format string) (*messageWriter, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o750); err != nil {
		return nil, fmt.Errorf("voicemail folder: %w", err)
	}
	h := wav.Header{Format: wav.ULaw, Channels: 1, SampleRate: 8000, BitsPerSample: 8}
	if format == "pcm16" {
		h = wav.Header{Format: wav.PCM, Channels: 1, SampleRate: 8000, BitsPerSample: 16}
	} else {
		format = "pcmu"
	}
	w, err := wav.Create(path, h)
	if err != nil {
		return nil, err
	}
	m := &messageWriter{frames: make(chan messageFrame, vmBuffer), done: make(chan struct{}), w: w, format: format}
	go m.run()
	return m, nil
}

// Record implements session.Recorder.
func (m *messageWriter) Record(pcm []int16, talking bool) {
	var f messageFrame
	copy(f.pcm[:], pcm)
	f.talking = talking
	select {
	case m.frames <- f:
	default:
		m.dropped.Add(1)
	}
}

func (m *messageWriter) run() {
	defer close(m.done)
	var held []messageFrame
	write := func(f *messageFrame) {
		if m.err == nil {
			m.err = m.w.WriteSamples(f.pcm[:])
		}
	}
	keep := int(keptSilence / session.FrameDuration)
	talked := false
	for f := range m.frames {
		if !f.talking {
			if !talked && len(held) == keep {
				held = append(held[:0], held[1:]...) // before the first words, only the last half second stays
			}
			held = append(held, f)
			continue
		}
		talked = true
		for i := range held {
			write(&held[i])
		}
		held = held[:0]
		write(&f)
	}
	for i := range held[:min(len(held), keep)] {
		write(&held[i])
	}
}

// close finishes the file and returns its size and length.
func (m *messageWriter) close() (int64, time.Duration, error) {
	close(m.frames)
	<-m.done
	err := m.w.Close()
	if m.err != nil {
		err = m.err
	}
	return m.w.Size(), m.w.Duration(), err
}

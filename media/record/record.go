// Package record writes call recordings: one stereo WAV file per call, the caller on the left
// channel and the agent on the right, placed in time by each side's RTP timestamps so that the
// two sides line up and the file lasts as long as the conversation.
//
// The call path only ever copies a frame into a bounded queue (Write never blocks and does not
// allocate); one goroutine per recording decodes, aligns and writes. A full disk ends the
// recording, never the call.
package record

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"callbox"
	"callbox/media/wav"
)

// Channel is a side of the conversation, and the channel of the file it goes to.
type Channel uint8

const (
	Caller Channel = 0 // the customer: left channel
	Agent  Channel = 1 // the agent (or whoever the box bridged the caller to): right channel
)

func (c Channel) String() string {
	if c == Caller {
		return "caller"
	}
	return "agent"
}

// Format is the audio format of recordings; the names are those of callbox.Recording.Format.
type Format string

const (
	PCMU  Format = "pcmu"  // G.711 µ-law: 16 kB a second of stereo, what the phones sent
	PCM16 Format = "pcm16" // linear 16-bit: twice the size, plays anywhere
)

// Options configures a Recorder.
type Options struct {
	Dir    string // the root of the recordings tree
	CallID string // names the file; letters, digits, '.', '_', '-' and '@' only
	Format Format // PCMU when empty
	// Buffer is how many frames (of either side) may wait for the disk before frames are
	// dropped: it absorbs disk stalls. 100 (one second of a call) when zero.
	Buffer int
	// Now is the wall clock frames are placed by; time.Now when nil.
	Now func() time.Time
	Log *slog.Logger // slog.Default() when nil
	// OnError is told, once, why a recording stopped early (a full disk, say). It is called
	// from the recorder's goroutine and must not block.
	OnError func(error)
	Metrics *Metrics // nil: not counted
	// Create opens the file; it exists so tests can stand in a failing or stalling disk.
	// By default the file is created exclusively, readable by owner and group.
	Create func(path string) (wav.Sink, error)
	// drainEvery is how often the writer wakes (defaultDrainEvery when zero); the package's
	// benchmarks shorten it so that waiting for the writer does not outlast the measure.
	drainEvery time.Duration
}

// Result is what a finished recording left on disk.
type Result struct {
	Path     string
	Format   Format
	Duration time.Duration
	Size     int64 // bytes, header included
	Dropped  int64 // frames dropped because the disk did not keep up (or after a failure)
	Late     int64 // frames that arrived after their place in the file was written
}

// defaultDrainEvery is how often the writer takes the queued frames.
const defaultDrainEvery = 60 * time.Millisecond

// maxPayload is the largest frame a slot holds: 40 ms of L16, 80 ms of G.711.
const maxPayload = 640

// slot carries one frame from the call path to the writer goroutine.
type slot struct {
	ch      Channel
	codec   callbox.Codec
	n       int
	ts      uint32
	source  uint32
	arrival int64  // wall clock, ns since the recording started
	buf     []byte // the payload; slotPayload bytes, more only once a larger frame came
}

// slotPayload is the payload room a slot is made with: 20 ms of G.711, what nearly every
// call sends. A slot grows, once, for a larger frame (up to maxPayload); a slot of maxPayload
// for every frame waiting would be three quarters empty.
const slotPayload = 160

// Recorder records one call. Write is safe to call from several goroutines; Close once.
type Recorder struct {
	opts  Options
	path  string
	start time.Time
	log   *slog.Logger

	// Slots come from a pool and go back to it once written, so a recorder holds memory only
	// for the frames waiting for the disk (a handful), not for its whole allowance: at
	// hundreds of calls the difference is most of the box's memory.
	slots    sync.Pool
	inflight atomic.Int64 // slots taken and not yet given back; at most opts.Buffer
	queue    chan *slot   // full slots, in arrival order

	closed  atomic.Bool // Close was called: Write does nothing
	failed  atomic.Bool // the file failed: Write does nothing
	dropped atomic.Int64

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeAt   atomic.Int64 // ns since start, set by Close before stop is closed

	// Owned by the writer goroutine until done is closed.
	tl     *timeline
	w      *wav.Writer
	result Result
	err    error
}

// New creates the recording file <Dir>/YYYY/MM/DD/<CallID>.wav (the date of Now; "-2", "-3"…
// is added when the call already has a recording) and starts the recorder's goroutine, which
// stops at Close or when ctx ends.
func New(ctx context.Context, o Options) (*Recorder, error) {
	if err := checkCallID(o.CallID); err != nil {
		return nil, err
	}
	if o.Format == "" {
		o.Format = PCMU
	}
	h := wav.Header{Format: wav.ULaw, Channels: 2, SampleRate: sampleRate}
	switch o.Format {
	case PCMU:
	case PCM16:
		h.Format = wav.PCM
	default:
		return nil, callbox.Errorf(callbox.EINVALID, "recording format %q: want %q or %q", o.Format, PCMU, PCM16)
	}
	if o.Buffer <= 0 {
		o.Buffer = 100
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Create == nil {
		o.Create = createFile
	}
	start := o.Now()
	dir := filepath.Join(o.Dir, start.Format("2006"), start.Format("01"), start.Format("02"))
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	sink, path, err := createUnique(o.Create, dir, o.CallID)
	if err != nil {
		return nil, fmt.Errorf("record: %w", err)
	}
	w, err := wav.NewWriter(sink, path, h)
	if err != nil {
		sink.Close()
		os.Remove(path)
		return nil, fmt.Errorf("record: %w", err)
	}
	// The header goes to disk now: a file is never left without one, and a full disk is
	// known before the call is bridged.
	if err := w.Flush(); err != nil {
		w.Close()
		os.Remove(path)
		return nil, fmt.Errorf("record: %w", err)
	}
	r := &Recorder{
		opts:  o,
		path:  path,
		start: start,
		log:   o.Log.With("call_id", o.CallID, "path", path),
		queue: make(chan *slot, o.Buffer),
		stop:  make(chan struct{}),
		done:  make(chan struct{}),
		tl:    newTimeline(o.Format == PCMU),
		w:     w,
	}
	r.slots.New = func() any {
		// One allocation for the slot and its payload room.
		sb := new(struct {
			s slot
			b [slotPayload]byte
		})
		sb.s.buf = sb.b[:]
		return &sb.s
	}
	if o.Metrics != nil {
		o.Metrics.active.Inc()
	}
	go r.run(ctx)
	return r, nil
}

// Path is the file being written.
func (r *Recorder) Path() string { return r.path }

// Write queues a copy of one frame from side ch. It never blocks: when the queue is full, or
// the recording has stopped, the frame is dropped (and counted). Telephone events and codecs
// the recorder does not know are ignored.
func (r *Recorder) Write(ch Channel, f *callbox.Frame) {
	if f.Kind != callbox.FrameAudio || r.closed.Load() || r.failed.Load() {
		return
	}
	switch f.Codec {
	case callbox.PCMU, callbox.PCMA, callbox.L16:
	default:
		return
	}
	if len(f.Payload) > maxPayload || ch > Agent {
		r.dropped.Add(1)
		return
	}
	if r.inflight.Add(1) > int64(r.opts.Buffer) {
		r.inflight.Add(-1)
		r.dropped.Add(1)
		return
	}
	s := r.slots.Get().(*slot)
	s.ch, s.codec, s.ts, s.source = ch, f.Codec, f.Timestamp, f.Source
	if len(f.Payload) > len(s.buf) {
		s.buf = make([]byte, len(f.Payload))
	}
	s.n = copy(s.buf, f.Payload)
	s.arrival = r.opts.Now().Sub(r.start).Nanoseconds()
	r.queue <- s // cannot block: there are only as many slots as the queue holds
}

// Close stops the recording: frames already queued are written, the file is padded with
// silence up to now, its header finished and the file closed. The error is the one that
// stopped the recording early, if any (the file is kept as far as it was written).
func (r *Recorder) Close() (Result, error) {
	r.closeOnce.Do(func() {
		r.closeAt.Store(r.opts.Now().Sub(r.start).Nanoseconds())
		r.closed.Store(true)
		close(r.stop)
	})
	<-r.done
	return r.result, r.err
}

// run is the writer goroutine: it takes frames off the queue, places them on the timeline and
// writes what is settled to the file.
func (r *Recorder) run(ctx context.Context) {
	defer close(r.done)
	// The writer wakes on a clock, not for every frame: at hundreds of calls a wake-up per
	// frame costs the box more than placing and writing the audio does. The hold-back
	// (200 ms) covers the frames that wait for the next wake-up.
	every := r.opts.drainEvery
	if every <= 0 {
		every = defaultDrainEvery
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-tick.C:
			// Frames queued before now are placed first, or they would find their place
			// written; then the file grows to now, talk or no talk.
			now := r.opts.Now().Sub(r.start).Nanoseconds()
			r.drain()
			r.flush(r.tl.settled(now))
		case <-r.stop:
			r.finish()
			return
		case <-ctx.Done():
			r.closeOnce.Do(func() {
				r.closeAt.Store(r.opts.Now().Sub(r.start).Nanoseconds())
				r.closed.Store(true)
				close(r.stop)
			})
			r.finish()
			return
		}
	}
}

// take places one frame and gives its slot back.
func (r *Recorder) take(s *slot) {
	if !r.failed.Load() {
		upTo := r.tl.place(s)
		r.flush(upTo)
	}
	r.slots.Put(s)
	r.inflight.Add(-1)
}

// flush writes the timeline up to sample upTo.
func (r *Recorder) flush(upTo int64) {
	if r.failed.Load() {
		return
	}
	if err := r.tl.writeTo(r.w, upTo); err != nil {
		r.fail(err)
	}
}

// fail stops the recording after a write error; the call goes on without it.
func (r *Recorder) fail(err error) {
	r.failed.Store(true)
	r.err = fmt.Errorf("record %s: %w", r.opts.CallID, err)
	if cerr := r.w.Close(); cerr != nil && !errors.Is(cerr, err) {
		r.log.Warn("closing the failed recording", "err", cerr)
	}
	r.log.Error("recording stopped by a write error; the call goes on unrecorded", "err", err)
	if r.opts.Metrics != nil {
		r.opts.Metrics.failures.Inc()
	}
	if r.opts.OnError != nil {
		r.opts.OnError(r.err)
	}
}

// drain places every frame waiting in the queue.
func (r *Recorder) drain() {
	for {
		select {
		case s := <-r.queue:
			r.take(s)
		default:
			return
		}
	}
}

// finish writes what is queued and closes the file.
func (r *Recorder) finish() {
	r.drain()
	if !r.failed.Load() {
		r.flush(r.tl.final(r.closeAt.Load()))
		if !r.failed.Load() {
			if err := r.w.Close(); err != nil {
				r.fail(err)
			}
		}
	}
	r.result = Result{
		Path:     r.path,
		Format:   r.opts.Format,
		Duration: r.w.Duration(),
		Size:     r.w.Size(),
		Dropped:  r.dropped.Load(),
		Late:     r.tl.late,
	}
	if m := r.opts.Metrics; m != nil {
		m.active.Dec()
		m.dropped.Add(float64(r.result.Dropped))
		m.late.Add(float64(r.result.Late))
		m.seconds.Add(r.result.Duration.Seconds())
	}
	r.log.Debug("recording closed", "duration", r.result.Duration, "size", r.result.Size,
		"dropped", r.result.Dropped, "late", r.result.Late, "reanchors", r.tl.reanchors)
}

func checkCallID(id string) error {
	if id == "" || len(id) > 200 || strings.Trim(id, ".") == "" {
		return callbox.Errorf(callbox.EINVALID, "recording needs a call ID that can name a file, got %q", id)
	}
	for _, c := range id {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			c == '.' || c == '_' || c == '-' || c == '@'
		if !ok {
			return callbox.Errorf(callbox.EINVALID, "call ID %q cannot name a recording file (character %q)", id, c)
		}
	}
	return nil
}

func createFile(path string) (wav.Sink, error) {
	return os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o640)
}

// createUnique creates <dir>/<id>.wav, or <id>-2.wav and so on when the call already has one.
func createUnique(create func(string) (wav.Sink, error), dir, id string) (wav.Sink, string, error) {
	for i := 1; ; i++ {
		name := id + ".wav"
		if i > 1 {
			name = fmt.Sprintf("%s-%d.wav", id, i)
		}
		path := filepath.Join(dir, name)
		f, err := create(path)
		if errors.Is(err, os.ErrExist) && i < 100 {
			continue
		}
		return f, path, err
	}
}

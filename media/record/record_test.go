package record

import (
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"callbox"
	"callbox/media/g711"
	"callbox/media/wav"
)

// clock is a wall clock the test moves by hand.
type clock struct {
	base time.Time
	ns   atomic.Int64
}

func newClock() *clock {
	return &clock{base: time.Date(2025, 3, 7, 14, 30, 0, 0, time.UTC)}
}
func (c *clock) Now() time.Time          { return c.base.Add(time.Duration(c.ns.Load())) }
func (c *clock) Set(d time.Duration)     { c.ns.Store(int64(d)) }
func (c *clock) Elapsed() time.Duration  { return time.Duration(c.ns.Load()) }
func span(a, b float64) [2]time.Duration { return [2]time.Duration{sec(a), sec(b)} }
func sec(s float64) time.Duration        { return time.Duration(s * float64(time.Second)) }

// talker is one side of a simulated call: an RTP sender that plays a tone while it talks.
type talker struct {
	ch      Channel
	codec   callbox.Codec
	freq    float64
	talks   [][2]time.Duration // when it talks, on the wall clock
	from    time.Duration      // first packet sent
	until   time.Duration
	ts0     uint32
	ssrc    uint32
	rate    float64 // its clock against ours: 1.0005 runs 0.05 % fast
	restart time.Duration
	// restartCodec is the codec after the restart (a re-INVITE), with a new SSRC and base
	restartCodec callbox.Codec
	lostTalking  int // set by packets: packets lost while talking
}

type packet struct {
	ch      Channel
	arrival time.Duration
	frame   callbox.Frame
}

func (tk talker) talking(t time.Duration) bool {
	for _, s := range tk.talks {
		if t >= s[0] && t < s[1] {
			return true
		}
	}
	return false
}

// packets sends the talker's frames through a network with the given jitter, loss and
// duplication.
func (tk *talker) packets(rng *rand.Rand, jitter time.Duration, loss, dup float64) []packet {
	var out []packet
	ts, seq, ssrc, codec := tk.ts0, uint16(rng.Uint32()), tk.ssrc, tk.codec
	phase := 0.0
	restarted := false
	for k := 0; ; k++ {
		send := tk.from + time.Duration(float64(k)*float64(20*time.Millisecond)/tk.rate)
		if send >= tk.until {
			return out
		}
		if tk.restart > 0 && !restarted && send >= tk.restart {
			restarted = true
			ssrc, ts, codec = ssrc+1, rng.Uint32(), tk.restartCodec
		}
		pcm := make([]int16, 160)
		for i := range pcm {
			if tk.talking(send + time.Duration(i)*time.Second/8000) {
				pcm[i] = int16(8000 * math.Sin(phase))
			}
			phase += 2 * math.Pi * tk.freq / 8000
		}
		f := callbox.Frame{Kind: callbox.FrameAudio, Codec: codec, Timestamp: ts, Seq: seq, Source: ssrc}
		switch codec {
		case callbox.PCMU:
			f.Payload = make([]byte, 160)
			g711.EncodeUlaw(f.Payload, pcm)
		case callbox.PCMA:
			f.Payload = make([]byte, 160)
			g711.EncodeAlaw(f.Payload, pcm)
		case callbox.L16:
			for _, v := range pcm {
				f.Payload = binary.LittleEndian.AppendUint16(f.Payload, uint16(v))
			}
		}
		ts += 160
		seq++
		if rng.Float64() < loss {
			if tk.talking(send) {
				tk.lostTalking++
			}
			continue
		}
		d := time.Duration(rng.Int64N(int64(jitter) + 1))
		out = append(out, packet{tk.ch, send + d, f})
		if rng.Float64() < dup {
			out = append(out, packet{tk.ch, send + d + time.Duration(rng.Int64N(int64(40*time.Millisecond))), f})
		}
		if k%50 == 7 { // a telephone event now and then: not audio, not recorded
			ev := f
			ev.Kind, ev.Payload = callbox.FrameEvent, []byte{1, 0x8a, 0, 160}
			out = append(out, packet{tk.ch, send + d, ev})
		}
	}
}

// play feeds both sides' packets to r in arrival order on the test clock.
func play(clk *clock, r *Recorder, pkts []packet) {
	slices.SortStableFunc(pkts, func(a, b packet) int { return int(a.arrival - b.arrival) })
	for i := range pkts {
		clk.Set(pkts[i].arrival)
		r.Write(pkts[i].ch, &pkts[i].frame)
	}
}

// readStereo reads a recording's left and right channels.
func readStereo(t *testing.T, path string) (left, right []int16) {
	t.Helper()
	f, err := wav.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if h := f.Header(); h.Channels != 2 || h.SampleRate != 8000 {
		t.Fatalf("recording header %+v", h)
	}
	all, err := f.ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(all); i += 2 {
		left = append(left, all[i])
		right = append(right, all[i+1])
	}
	return left, right
}

// power is the power of x at freq Hz (Goertzel), normalised to the mean square of a sine.
func power(x []int16, freq float64) float64 {
	w := 2 * math.Cos(2*math.Pi*freq/8000)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + w*s1 - s2
		s2, s1 = s1, s
	}
	p := s1*s1 + s2*s2 - w*s1*s2
	return 2 * p / float64(len(x)*len(x))
}

// onsets returns where, in 10 ms steps, a channel goes from quiet (for 100 ms at least: a
// lost packet is not a pause) to the tone.
func onsets(x []int16, freq float64) []time.Duration {
	var out []time.Duration
	quiet := 10
	for i := 0; i+80 <= len(x); i += 80 {
		p := power(x[i:i+80], freq)
		switch {
		case p > 1e6:
			if quiet >= 10 {
				out = append(out, time.Duration(i)*time.Second/8000)
			}
			quiet = 0
		case p < 1e4:
			quiet++
		}
	}
	return out
}

func TestCallIsRecordedInLine(t *testing.T) {
	for _, format := range []Format{PCMU, PCM16} {
		t.Run(string(format), func(t *testing.T) {
			clk := newClock()
			rng := rand.New(rand.NewPCG(1, uint64(len(format))))
			caller := talker{
				ch: Caller, codec: callbox.PCMU, freq: 430,
				talks: [][2]time.Duration{span(0.5, 2.5), span(5, 7), span(10, 13), span(16, 18)},
				from:  sec(0.02), until: sec(20), ts0: 0xFFFFFFFF - 8000, ssrc: 11, rate: 1,
			}
			agent := talker{
				ch: Agent, codec: callbox.PCMA, freq: 1130,
				talks: [][2]time.Duration{span(2.7, 4.8), span(7.2, 9.9), span(13.3, 15.8), span(18.2, 19.6)},
				from:  sec(0.3), until: sec(20), ts0: rng.Uint32(), ssrc: 22, rate: 1.0005,
				restart: sec(11), restartCodec: callbox.L16,
			}
			pkts := append(caller.packets(rng, 60*time.Millisecond, 0.02, 0.01),
				agent.packets(rng, 60*time.Millisecond, 0.02, 0.01)...)

			var errs atomic.Int32
			r, err := New(context.Background(), Options{
				Dir: t.TempDir(), CallID: "c-1", Format: format, Buffer: 8192, Now: clk.Now,
				OnError: func(error) { errs.Add(1) },
			})
			if err != nil {
				t.Fatal(err)
			}
			wantPath := filepath.Join("2025", "03", "07", "c-1.wav")
			if !strings.HasSuffix(r.Path(), wantPath) {
				t.Errorf("path %s, want …/%s", r.Path(), wantPath)
			}
			play(clk, r, pkts)
			clk.Set(sec(20))
			res, err := r.Close()
			if err != nil || errs.Load() != 0 {
				t.Fatalf("Close: %v (%d errors reported)", err, errs.Load())
			}
			if d := res.Duration - 20*time.Second; d < -100*time.Millisecond || d > 100*time.Millisecond {
				t.Errorf("duration %v for a 20 s call", res.Duration)
			}
			if res.Dropped != 0 {
				t.Errorf("%d frames dropped", res.Dropped)
			}
			st, _ := os.Stat(res.Path)
			if st.Size() != res.Size {
				t.Errorf("Result.Size %d, file %d bytes", res.Size, st.Size())
			}
			left, right := readStereo(t, res.Path)
			checkSide(t, "caller (left)", left, caller, agent.freq)
			checkSide(t, "agent (right)", right, agent, caller.freq)
		})
	}
}

// checkSide checks a channel carries its talker's tone where it talked, line up with the wall
// clock, and nothing of the other side.
func checkSide(t *testing.T, name string, x []int16, tk talker, otherFreq float64) {
	t.Helper()
	got := onsets(x, tk.freq)
	if len(got) != len(tk.talks) {
		t.Errorf("%s: talk starts at %v, want %d of them", name, got, len(tk.talks))
		return
	}
	for i, s := range tk.talks {
		if d := got[i] - s[0]; d < -60*time.Millisecond || d > 60*time.Millisecond {
			t.Errorf("%s: talk %d starts at %v in the file, %v on the wall clock", name, i, got[i], s[0])
		}
	}
	// Where it talked, the tone fills the channel but for the lost packets (~2 %).
	var talking, silent int
	for i := 0; i+160 <= len(x); i += 160 {
		at := time.Duration(i) * time.Second / 8000
		// Skip the 60 ms around each edge: placement is good to a few tens of ms.
		if tk.talking(at-60*time.Millisecond) != tk.talking(at+80*time.Millisecond) {
			continue
		}
		if tk.talking(at) {
			talking++
			if power(x[i:i+160], tk.freq) < 1e6 {
				silent++
			}
		}
		if p := power(x[i:i+160], otherFreq); !tk.talking(at) && p > 1e3 {
			t.Errorf("%s: the other side's tone at %v (power %.0f)", name, at, p)
			return
		}
	}
	if silent > talking/15 {
		t.Errorf("%s: %d of %d talking frames are missing", name, silent, talking)
	}
	// Frames in timestamp order continue the sine without a break (the tone is not a whole
	// number of cycles a frame): count the frames where it breaks. Lost packets and the edges
	// of talk break it; frames placed in arrival order would break it hundreds of times.
	w := 2 * math.Cos(2*math.Pi*tk.freq/8000)
	breaks := 0
	for i := 0; i+160 <= len(x); i += 160 {
		for n := max(i, 2); n < i+160; n++ {
			if math.Abs(float64(x[n])-(w*float64(x[n-1])-float64(x[n-2]))) > 2500 {
				breaks++
				break
			}
		}
	}
	if breaks > 2*len(tk.talks)+2*tk.lostTalking+12 {
		t.Errorf("%s: the tone breaks in %d frames (%d talk spurts, %d packets lost)", name, breaks, len(tk.talks), tk.lostTalking)
	}
}

// The recording starts when the recorder does and ends at Close, even when nobody sends a
// packet.
func TestSilentCallLastsTheCall(t *testing.T) {
	clk := newClock()
	r, err := New(context.Background(), Options{Dir: t.TempDir(), CallID: "quiet", Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	clk.Set(sec(3.5))
	res, err := r.Close()
	if err != nil {
		t.Fatal(err)
	}
	if res.Duration != 3500*time.Millisecond {
		t.Errorf("duration %v, want 3.5 s", res.Duration)
	}
	left, right := readStereo(t, res.Path)
	for i := range left {
		if left[i] != 0 || right[i] != 0 {
			t.Fatalf("sample %d not silent", i)
		}
	}
}

func TestSecondRecordingOfACallGetsItsOwnFile(t *testing.T) {
	dir := t.TempDir()
	var paths []string
	for range 2 {
		r, err := New(context.Background(), Options{Dir: dir, CallID: "same"})
		if err != nil {
			t.Fatal(err)
		}
		res, err := r.Close()
		if err != nil {
			t.Fatal(err)
		}
		paths = append(paths, filepath.Base(res.Path))
	}
	if paths[0] != "same.wav" || paths[1] != "same-2.wav" {
		t.Errorf("files %v", paths)
	}
}

func TestBadOptions(t *testing.T) {
	for _, o := range []Options{
		{CallID: "../etc/passwd"},
		{CallID: ""},
		{CallID: ".."},
		{CallID: "a/b"},
		{CallID: "ok", Format: "mp3"},
	} {
		o.Dir = t.TempDir()
		if _, err := New(context.Background(), o); callbox.ErrorCode(err) != callbox.EINVALID {
			t.Errorf("%+v: err %v, want EINVALID", o, err)
		}
	}
}

// fullDisk is a recording file on a disk that fills up after quota bytes.
type fullDisk struct {
	*os.File
	mu    sync.Mutex
	quota int
}

func (d *fullDisk) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(b) > d.quota {
		n, _ := d.File.Write(b[:d.quota])
		d.quota = 0
		return n, &os.PathError{Op: "write", Path: d.Name(), Err: syscall.ENOSPC}
	}
	d.quota -= len(b)
	return d.File.Write(b)
}

func TestFullDiskStopsTheRecordingNotTheCall(t *testing.T) {
	clk := newClock()
	reported := make(chan error, 10)
	r, err := New(context.Background(), Options{
		Dir: t.TempDir(), CallID: "full", Now: clk.Now, Buffer: 4096, Log: slog.New(slog.DiscardHandler),
		OnError: func(err error) { reported <- err },
		Create: func(path string) (wav.Sink, error) {
			f, err := os.Create(path)
			return &fullDisk{File: f, quota: 40000}, err // about 2.5 s of stereo µ-law
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(2, 2))
	tk := talker{ch: Caller, codec: callbox.PCMU, freq: 400, talks: [][2]time.Duration{span(0, 10)}, until: sec(10), rate: 1}
	play(clk, r, (&tk).packets(rng, 0, 0, 0))
	var got error
	select {
	case got = <-reported:
	case <-time.After(10 * time.Second):
		t.Fatal("the full disk was not reported")
	}
	if !errors.Is(got, syscall.ENOSPC) || !strings.Contains(got.Error(), "full") {
		t.Errorf("reported %v, want ENOSPC naming the call", got)
	}
	// The call goes on: writes return at once and are counted as dropped.
	f := callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.PCMU, Payload: make([]byte, 160)}
	for range 1000 {
		r.Write(Agent, &f)
	}
	clk.Set(sec(10))
	res, err := r.Close()
	if !errors.Is(err, syscall.ENOSPC) {
		t.Errorf("Close error %v, want ENOSPC", err)
	}
	if len(reported) != 0 {
		t.Errorf("the error was reported %d more times", len(reported))
	}
	// The file holds what fitted, playable.
	left, _ := readStereo(t, res.Path)
	if len(left) < 8000 {
		t.Errorf("the file kept %d samples of the 2.5 s that fitted", len(left))
	}
}

// stalledDisk lets the header through, then blocks every write until released: a hung disk
// or NFS server.
type stalledDisk struct {
	*os.File
	stuck   chan struct{} // closed when a write first blocks
	release chan struct{}
	once    sync.Once
}

func (d *stalledDisk) Write(b []byte) (int, error) {
	if len(b) == 44 && string(b[:4]) == "RIFF" {
		return d.File.Write(b)
	}
	d.once.Do(func() { close(d.stuck) })
	<-d.release
	return d.File.Write(b)
}

func TestStalledDiskNeverBlocksTheCall(t *testing.T) {
	clk := newClock()
	disk := &stalledDisk{stuck: make(chan struct{}), release: make(chan struct{})}
	r, err := New(context.Background(), Options{
		Dir: t.TempDir(), CallID: "stall", Buffer: 50, Now: clk.Now,
		Create: func(path string) (wav.Sink, error) {
			f, err := os.Create(path)
			disk.File = f
			return disk, err
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	// Talk half a second; at its next wake-up the writer gets stuck in the disk.
	f := callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.PCMU, Payload: make([]byte, 160)}
	for i := range 25 {
		clk.Set(time.Duration(i) * 20 * time.Millisecond)
		f.Timestamp = uint32(i * 160)
		r.Write(Caller, &f)
	}
	select {
	case <-disk.stuck:
	case <-time.After(10 * time.Second):
		t.Fatal("the recorder never wrote to the disk")
	}
	before := r.dropped.Load()
	// Two legs write 5,000 frames each while the disk is hung: every call returns.
	var wg sync.WaitGroup
	for ch := range 2 {
		wg.Go(func() {
			f := callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.PCMU, Payload: make([]byte, 160)}
			for i := range 5000 {
				f.Timestamp = uint32(i * 160)
				r.Write(Channel(ch), &f)
			}
		})
	}
	wg.Wait()
	if d := r.dropped.Load() - before; d < 10000-50 {
		t.Errorf("dropped %d of 10000 frames while the disk hung with 50 slots", d)
	}
	close(disk.release)
	if _, err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestContextEndsTheRecording(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	r, err := New(ctx, Options{Dir: t.TempDir(), CallID: "ctx"})
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	<-r.done
	f := callbox.Frame{Kind: callbox.FrameAudio, Codec: callbox.PCMU, Payload: make([]byte, 160)}
	r.Write(Caller, &f) // after the end: returns, does nothing
	if _, err := r.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestRepairAll(t *testing.T) {
	dir := t.TempDir()
	day := filepath.Join(dir, "2025", "03", "07")
	os.MkdirAll(day, 0o750)
	// A finished recording.
	r, err := New(context.Background(), Options{Dir: dir, CallID: "done", Now: newClock().Now})
	if err != nil {
		t.Fatal(err)
	}
	r.Close()
	// A recording the daemon was killed in the middle of: header for an empty file, 2.3 s of
	// audio and half a sample frame.
	crashed := filepath.Join(day, "crashed.wav")
	w, _ := wav.Create(crashed, wav.Header{Format: wav.ULaw, Channels: 2, SampleRate: 8000})
	w.Flush()
	f, _ := os.OpenFile(crashed, os.O_WRONLY|os.O_APPEND, 0)
	f.Write(make([]byte, 2*8000*23/10+1))
	f.Close()
	// Not a recording.
	os.WriteFile(filepath.Join(day, "junk.wav"), []byte("junk"), 0o600)
	os.WriteFile(filepath.Join(day, "notes.txt"), []byte("x"), 0o600)

	fixed, err := RepairAll(dir)
	if len(fixed) != 1 || fixed[0] != crashed {
		t.Errorf("fixed %v, want [%s]", fixed, crashed)
	}
	if !errors.Is(err, wav.ErrNotWAV) || !strings.Contains(err.Error(), "junk.wav") {
		t.Errorf("err %v, want the junk file named", err)
	}
	rd, err := wav.Open(crashed)
	if err != nil {
		t.Fatal(err)
	}
	defer rd.Close()
	if rd.Frames() != 8000*23/10 {
		t.Errorf("repaired recording has %d frames", rd.Frames())
	}
	if fixed, err := RepairAll(filepath.Join(dir, "missing")); err != nil || len(fixed) != 0 {
		t.Errorf("missing dir: %v, %v", fixed, err)
	}
}

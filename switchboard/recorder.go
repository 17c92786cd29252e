package switchboard

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"time"

	"callbox"
	"callbox/media/record"
)

// FileRecorder records bridged calls as stereo WAV files (caller left, callee right) under
// <data>/recordings, through media/record.
type FileRecorder struct {
	DataDir string // the data folder; recording paths are kept relative to it
	Format  record.Format
	Buffer  int // frames that may wait for the disk
	Metrics *record.Metrics
	Log     *slog.Logger
}

// Dir is the root of the recordings tree.
func (fr *FileRecorder) Dir() string { return filepath.Join(fr.DataDir, "recordings") }

// Start implements Recorder.
func (fr *FileRecorder) Start(ctx context.Context, callID string, started time.Time) (Recording, error) {
	// A write error (a full disk) stops only the recording: the recorder logs it once, with
	// the call's id, and counts it; the call goes on unrecorded from there.
	r, err := record.New(ctx, record.Options{
		Dir: fr.Dir(), CallID: callID, Format: fr.Format, Buffer: fr.Buffer, Metrics: fr.Metrics, Log: fr.Log,
	})
	if err != nil {
		return nil, fmt.Errorf("start recording: %w", err)
	}
	return &fileRecording{fr: fr, r: r, callID: callID, started: started}, nil
}

type fileRecording struct {
	fr      *FileRecorder
	r       *record.Recorder
	callID  string
	started time.Time
}

func (f *fileRecording) Write(caller bool, fr *callbox.Frame) {
	ch := record.Agent
	if caller {
		ch = record.Caller
	}
	f.r.Write(ch, fr)
}

func (f *fileRecording) Finish() (*callbox.Recording, error) {
	res, err := f.r.Close()
	if res.Path == "" {
		return nil, err
	}
	rel, relErr := filepath.Rel(f.fr.DataDir, res.Path)
	if relErr != nil {
		rel = res.Path
	}
	return &callbox.Recording{
		ID: f.callID, CallID: f.callID, Kind: "call", Path: rel, Format: string(res.Format),
		Duration: res.Duration, Size: res.Size, Created: f.started,
	}, err
}

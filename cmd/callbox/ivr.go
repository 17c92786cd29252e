package main

import (
	"context"
	"log/slog"
	"path/filepath"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callbox"
	"callbox/config"
	"callbox/ivr"
	"callbox/media/prompt"
	"callbox/media/session"
	"callbox/store"
)

// newIVR makes the IVR service with its shared media clock.
func newIVR(cfg *config.Config, dataDir string, db *store.DB, reg prometheus.Registerer, log *slog.Logger, clock callbox.Clock) (*ivr.Service, error) {
	return ivr.New(ivr.Options{
		Config: cfg, DataDir: dataDir, Store: ivrStore{db}, Clock: clock, Log: log, Registry: reg,
		Media: session.NewClock(session.ClockOptions{Registry: reg}),
	})
}

// ivrProblems checks what a configuration's IVR needs of the machine: espeak-ng for text
// prompts, each recorded prompt on disk (in the default language at least), and music on
// hold. They are reported like the file's own problems, at their place in the file.
func ivrProblems(ctx context.Context, cfg *config.Config, dataDir string) config.Problems {
	var ps config.Problems
	speech, needSpeech := queueSpeech(cfg)
	if texts := cfg.SpokenTexts(); len(texts) > 0 {
		speech, needSpeech = texts[0].Pos, true
	}
	if needSpeech {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		if err := prompt.CheckTTS(ctx); err != nil {
			ps = append(ps, config.Problem{File: cfg.File, Pos: speech, Reason: err.Error()})
		}
	}
	if recs := cfg.Recordings(); len(recs) > 0 {
		dir := cfg.IVR.PromptDir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(dataDir, dir)
		}
		lib := prompt.NewLibrary(dir, cfg.IVR.Language, slog.New(slog.DiscardHandler))
		for _, r := range recs {
			if _, err := lib.Clip(cfg.IVR.Language, r.Part.Name); err != nil {
				ps = append(ps, config.Problem{File: cfg.File, Pos: r.Pos, Reason: "prompt " + r.Part.Name + ": " + callbox.ErrorMessage(err) +
					"; or name a prompt of ivr.prompts"})
			}
		}
	}
	if m := cfg.MusicOnHold; m.Dir != "" {
		dir := m.Dir
		if !filepath.IsAbs(dir) {
			dir = filepath.Join(dataDir, dir)
		}
		if _, err := prompt.NewMusic(dir, false, nil, slog.New(slog.DiscardHandler)).Files(); err != nil {
			ps = append(ps, config.Problem{File: cfg.File, Pos: m.Field("dir"), Reason: "music_on_hold: " + callbox.ErrorMessage(err) +
				"; or leave dir out for the box's own tune"})
		}
	}
	return ps
}

// queueSpeech finds where the queues speak with espeak-ng: positions and messages (that are
// no recorded prompt) for waiting callers, the callback confirmation, a mobile agent's
// "press 1 to accept".
func queueSpeech(cfg *config.Config) (config.Pos, bool) {
	for _, q := range cfg.Queues {
		switch {
		case q.AnnounceEvery > 0:
			return q.Field("announce_every"), true
		case q.CallbackKey != "":
			return q.Field("callback_key"), true
		}
		for _, m := range q.Messages {
			if _, ok := cfg.IVR.Prompts[m]; !ok {
				return q.Field("messages"), true
			}
		}
	}
	for _, a := range cfg.Agents {
		if a.Mobile != "" {
			return a.Field("mobile"), true
		}
	}
	return config.Pos{}, false
}

// ivrStore lets the IVR keep its lists and overrides in the store.
type ivrStore struct{ db *store.DB }

func toIVREntry(e store.ListEntry) ivr.ListEntry {
	return ivr.ListEntry{List: e.List, Number: e.Number, Level: e.Level, Note: e.Note, Until: e.Until, Source: e.Source,
		Hits: e.Hits, LastHit: e.LastHit, Created: e.Created}
}

func toIVREntries(es []store.ListEntry, err error) ([]ivr.ListEntry, error) {
	if err != nil {
		return nil, err
	}
	out := make([]ivr.ListEntry, len(es))
	for i, e := range es {
		out[i] = toIVREntry(e)
	}
	return out, nil
}

func fromIVREntry(e ivr.ListEntry) store.ListEntry {
	return store.ListEntry{List: e.List, Number: e.Number, Level: e.Level, Note: e.Note, Until: e.Until, Source: e.Source,
		Hits: e.Hits, LastHit: e.LastHit, Created: e.Created}
}

func (s ivrStore) NumberEntries(ctx context.Context, number string) ([]ivr.ListEntry, error) {
	return toIVREntries(s.db.NumberEntries(ctx, number))
}

func (s ivrStore) ListEntries(ctx context.Context, list string) ([]ivr.ListEntry, error) {
	return toIVREntries(s.db.ListEntries(ctx, list))
}

func (s ivrStore) AddListEntry(ctx context.Context, e ivr.ListEntry) error {
	return s.db.AddListEntry(ctx, fromIVREntry(e))
}

func (s ivrStore) RemoveListEntry(ctx context.Context, list, number string) (ivr.ListEntry, error) {
	e, err := s.db.RemoveListEntry(ctx, list, number)
	return toIVREntry(e), err
}

func (s ivrStore) ListHit(ctx context.Context, list, number string, at time.Time) error {
	return s.db.ListHit(ctx, list, number, at)
}

func (s ivrStore) SeedLists(ctx context.Context, entries []ivr.ListEntry) error {
	out := make([]store.ListEntry, len(entries))
	for i, e := range entries {
		out[i] = fromIVREntry(e)
	}
	return s.db.SeedLists(ctx, out)
}

func (s ivrStore) HoursOverrides(ctx context.Context) (map[string]string, error) {
	return s.db.HoursOverrides(ctx)
}

func (s ivrStore) SetHoursOverride(ctx context.Context, hours, mode string, at time.Time) error {
	return s.db.SetHoursOverride(ctx, hours, mode, at)
}

var _ ivr.Store = ivrStore{}

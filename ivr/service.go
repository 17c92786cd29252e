package ivr

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"callbox"
	"callbox/config"
	"callbox/ivr/e164"
	"callbox/media/prompt"
	"callbox/media/session"
)

// Store is what the IVR keeps in the database: the caller lists and the opening hours'
// manual overrides.
type Store interface {
	// NumberEntries returns the list entries of a number (E.164) on every list, expired
	// ones included.
	NumberEntries(ctx context.Context, number string) ([]ListEntry, error)
	// ListEntries returns a list's entries in number order.
	ListEntries(ctx context.Context, list string) ([]ListEntry, error)
	// AddListEntry adds an entry or replaces the one of the same list and number.
	AddListEntry(ctx context.Context, e ListEntry) error
	// RemoveListEntry removes an entry; ENOTFOUND when there is none.
	RemoveListEntry(ctx context.Context, list, number string) (ListEntry, error)
	// ListHit counts a call screened by an entry.
	ListHit(ctx context.Context, list, number string, at time.Time) error
	// SeedLists makes the entries from the configuration exactly these.
	SeedLists(ctx context.Context, entries []ListEntry) error
	// HoursOverrides returns the overrides by opening hours' name ("*" for all).
	HoursOverrides(ctx context.Context) (map[string]string, error)
	// SetHoursOverride sets an override ("open" or "closed"), or clears it ("").
	SetHoursOverride(ctx context.Context, hours, mode string, at time.Time) error
}

// ListEntry is a number on a caller list.
type ListEntry struct {
	List    string    `json:"list"` // blacklist, warning or vip
	Number  string    `json:"number"`
	Level   int       `json:"level,omitempty"`
	Note    string    `json:"note,omitempty"`
	Until   time.Time `json:"until,omitzero"` // the entry holds until then; zero for ever
	Source  string    `json:"source"`         // config or cli
	Hits    int       `json:"hits"`
	LastHit time.Time `json:"last_hit,omitzero"`
	Created time.Time `json:"created"`
}

// Expired tells whether the entry no longer holds at t.
func (e ListEntry) Expired(t time.Time) bool { return !e.Until.IsZero() && !t.Before(e.Until) }

// Lists are the caller lists, in the order they are checked.
var Lists = []string{"blacklist", "warning", "vip"}

// Options are what a Service is made from.
type Options struct {
	Config *config.Config
	// DataDir is the data folder: recorded prompts (a relative ivr.prompt_dir), voicemail,
	// and the cache of spoken prompts.
	DataDir string
	Store   Store
	// Clock tells the time for opening hours and list expiry (tests control it).
	Clock    callbox.Clock
	Media    *session.Clock
	Log      *slog.Logger
	Registry prometheus.Registerer
}

// Service runs the IVR of every call: flows, voicemail and surveys, with their prompts.
type Service struct {
	dataDir string
	store   Store
	clock   callbox.Clock
	media   *session.Clock
	log     *slog.Logger
	metrics *metrics
	cfg     atomic.Pointer[config.Config]
	tts     *prompt.TTS

	mu     sync.Mutex
	lib    *prompt.Library
	libKey string                  // dir and fallback language of lib
	spoken map[string]*prompt.Clip // voice and text → speech
	rewarm chan *config.Config     // configurations whose prompts Run speaks ahead
}

// New makes the IVR service.
func New(o Options) (*Service, error) {
	if o.Clock == nil {
		o.Clock = callbox.SystemClock{}
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	tts, err := prompt.NewTTS(prompt.TTSConfig{CacheDir: filepath.Join(o.DataDir, "tts"), Rate: o.Config.IVR.SpeechRate, Log: o.Log})
	if err != nil {
		return nil, fmt.Errorf("ivr: %w", err)
	}
	s := &Service{dataDir: o.DataDir, store: o.Store, clock: o.Clock, media: o.Media, log: o.Log, tts: tts,
		metrics: newMetrics(o.Registry), spoken: map[string]*prompt.Clip{}, rewarm: make(chan *config.Config, 1)}
	s.cfg.Store(o.Config)
	s.rewarm <- o.Config
	return s, nil
}

// Seed puts the configuration's caller lists in the store; call it once before calls come.
func (s *Service) Seed(ctx context.Context) error {
	if err := s.seed(ctx, s.config()); err != nil {
		return fmt.Errorf("ivr: caller lists: %w", err)
	}
	return nil
}

// Run paces the media of every conversation and speaks the configuration's text prompts
// ahead of the first caller (again after each reload), until ctx ends.
func (s *Service) Run(ctx context.Context) error {
	var wg sync.WaitGroup
	wg.Go(func() { s.media.Run(ctx) })
	wg.Go(func() {
		for {
			select {
			case <-ctx.Done():
				return
			case cfg := <-s.rewarm:
				s.warm(ctx, cfg)
			}
		}
	})
	wg.Wait()
	return nil
}

// Reload applies a new configuration to calls that start from now on.
func (s *Service) Reload(ctx context.Context, cfg *config.Config) error {
	old := s.config()
	s.cfg.Store(cfg)
	s.mu.Lock()
	clear(s.spoken) // texts may have changed; what stays is read again from the disk cache
	s.mu.Unlock()
	if cfg.IVR.SpeechRate != old.IVR.SpeechRate {
		tts, err := prompt.NewTTS(prompt.TTSConfig{CacheDir: filepath.Join(s.dataDir, "tts"), Rate: cfg.IVR.SpeechRate, Log: s.log})
		if err != nil {
			return fmt.Errorf("ivr: %w", err)
		}
		s.mu.Lock()
		s.tts = tts
		s.mu.Unlock()
	}
	if err := s.seed(ctx, cfg); err != nil {
		return fmt.Errorf("ivr: caller lists: %w", err)
	}
	for { // a warm-up not yet started is replaced by this one
		select {
		case s.rewarm <- cfg:
			return nil
		default:
			select {
			case <-s.rewarm:
			default:
			}
		}
	}
}

func (s *Service) config() *config.Config { return s.cfg.Load() }

// seed stores the configuration's list entries.
func (s *Service) seed(ctx context.Context, cfg *config.Config) error {
	var entries []ListEntry
	now := s.clock.Now()
	add := func(list string, es []config.ListEntry) {
		for _, e := range es {
			entries = append(entries, ListEntry{List: list, Number: e.E164, Level: e.Level, Note: e.Note, Until: e.Expires, Source: "config", Created: now})
		}
	}
	add("blacklist", cfg.IVR.Lists.Blacklist)
	add("warning", cfg.IVR.Lists.Warning)
	add("vip", cfg.IVR.Lists.VIP)
	return s.store.SeedLists(ctx, entries)
}

// warm speaks every text prompt of cfg into the cache, so the first caller does not wait
// for espeak-ng.
func (s *Service) warm(ctx context.Context, cfg *config.Config) {
	start, n := time.Now(), 0
	for _, use := range cfg.SpokenTexts() {
		for lang, text := range use.Part.Say {
			if lang == "" {
				lang = cfg.IVR.Language
			}
			if _, err := s.speak(ctx, lang, text); err != nil {
				if ctx.Err() == nil {
					s.log.Warn("a text prompt could not be spoken", "at", use.String(), "err", err)
				}
				return
			}
			n++
		}
	}
	if n > 0 {
		s.log.Debug("text prompts spoken ahead", "prompts", n, "took", time.Since(start).String())
	}
}

// speak returns text spoken in lang, from memory, the disk cache or espeak-ng.
func (s *Service) speak(ctx context.Context, lang, text string) (*prompt.Clip, error) {
	key := lang + "\x00" + text
	s.mu.Lock()
	c, ok := s.spoken[key]
	tts := s.tts
	s.mu.Unlock()
	if ok {
		return c, nil
	}
	c, err := tts.Speak(ctx, lang, text)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.spoken[key] = c
	s.mu.Unlock()
	return c, nil
}

// library returns the recorded prompts of cfg.
func (s *Service) library(cfg *config.Config) *prompt.Library {
	dir := cfg.IVR.PromptDir
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(s.dataDir, dir)
	}
	key := dir + "\x00" + cfg.IVR.Language
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.lib == nil || s.libKey != key {
		s.lib, s.libKey = prompt.NewLibrary(dir, cfg.IVR.Language, s.log), key
	}
	return s.lib
}

// plan is the numbering plan that turns callers' numbers into E.164.
func plan(cfg *config.Config) e164.Plan {
	p, ok := e164.PlanFor(cfg.Box.Country)
	if !ok {
		p = e164.Plan{Country: cfg.Box.Country}
	}
	return p
}

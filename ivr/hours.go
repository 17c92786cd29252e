package ivr

import (
	"context"
	"fmt"
	"time"

	"callbox"
	"callbox/config"
)

// HoursState is what opening hours say at a moment.
type HoursState string

const (
	Open    HoursState = "open"
	Closed  HoursState = "closed"
	Holiday HoursState = "holiday"
)

// stateAt is what h says at t, without overrides: a holiday closes the whole day, else the
// weekly spans decide.
func stateAt(h *config.Hours, t time.Time) HoursState {
	if h.Location != nil {
		t = t.In(h.Location)
	}
	for _, r := range h.Closed {
		if r.Contains(t) {
			return Holiday
		}
	}
	day := t.Weekday()
	hh, mm, ss := t.Clock() // wall-clock time: a day with a DST change still opens at 09:00
	tod := time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute + time.Duration(ss)*time.Second
	for _, w := range h.Weekly {
		switch {
		case w.From < w.To:
			if w.Days[day] && tod >= w.From && tod < w.To {
				return Open
			}
		default: // the span runs past midnight into the next day
			if w.Days[day] && tod >= w.From || w.Days[(day+6)%7] && tod < w.To {
				return Open
			}
		}
	}
	return Closed
}

// HoursState says whether the opening hours called name are open now, and which manual
// override (open or closed) decided it, if any.
func (s *Service) HoursState(ctx context.Context, cfg *config.Config, name string) (HoursState, string, error) {
	h, ok := cfg.HoursNamed(name)
	if !ok {
		return Closed, "", callbox.Errorf(callbox.ENOTFOUND, "no opening hours called %s", name)
	}
	overrides, err := s.store.HoursOverrides(ctx)
	if err != nil {
		// The hours still decide: a database hiccup must not close the office.
		s.log.Error("opening hours overrides could not be read; the hours alone decide", "err", err)
	}
	mode, ok := overrides[name]
	if !ok {
		mode = overrides["*"]
	}
	switch mode {
	case "open":
		return Open, mode, nil
	case "closed":
		return Closed, mode, nil
	}
	return stateAt(h, s.clock.Now()), "", nil
}

// HoursView is opening hours as `callbox hours` shows them.
type HoursView struct {
	Name     string     `json:"name"`
	Zone     string     `json:"zone"`
	Now      string     `json:"now"` // the time there
	State    HoursState `json:"state"`
	Override string     `json:"override,omitempty"` // open or closed when set by hand
	Open     []string   `json:"open"`
	Holidays []string   `json:"holidays,omitempty"`
}

// Hours shows every opening hours now.
func (s *Service) Hours(ctx context.Context) ([]HoursView, error) {
	cfg := s.config()
	out := []HoursView{}
	for i := range cfg.IVR.Hours {
		h := &cfg.IVR.Hours[i]
		st, override, err := s.HoursState(ctx, cfg, h.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, HoursView{Name: h.Name, Zone: h.Zone, Now: s.clock.Now().In(h.Location).Format("Mon 2006-01-02 15:04"),
			State: st, Override: override, Open: h.Open, Holidays: h.Holidays})
	}
	return out, nil
}

// SetHours overrides opening hours by hand: mode open or closed holds until set to auto.
// An empty name means every opening hours.
func (s *Service) SetHours(ctx context.Context, name, mode string) ([]HoursView, error) {
	cfg := s.config()
	if name != "" {
		if _, ok := cfg.HoursNamed(name); !ok {
			return nil, callbox.Errorf(callbox.ENOTFOUND, "no opening hours called %s", name)
		}
	}
	switch mode {
	case "open", "closed", "auto":
	case "close":
		mode = "closed"
	default:
		return nil, callbox.Errorf(callbox.EINVALID, "mode %q: want open, closed or auto", mode)
	}
	if mode == "auto" {
		mode = ""
	}
	keys := []string{name}
	if name == "" {
		keys = []string{"*"}
		if mode == "" { // auto for all clears every override
			for _, h := range cfg.IVR.Hours {
				keys = append(keys, h.Name)
			}
		}
	}
	for _, k := range keys {
		if err := s.store.SetHoursOverride(ctx, k, mode, s.clock.Now()); err != nil {
			return nil, fmt.Errorf("ivr: hours override: %w", err)
		}
	}
	what := mode
	if what == "" {
		what = "auto"
	}
	s.log.Info("opening hours overridden by hand", "hours", orAll(name), "mode", what)
	return s.Hours(ctx)
}

func orAll(name string) string {
	if name == "" {
		return "all"
	}
	return name
}

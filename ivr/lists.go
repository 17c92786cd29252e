package ivr

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"callbox"
)

// ListRequest adds a number to a list.
type ListRequest struct {
	Number string `json:"number"`
	// Until is the last day the entry holds, YYYY-MM-DD in the box's time; empty for ever.
	Until string `json:"until,omitempty"`
	Note  string `json:"note,omitempty"`
	Level int    `json:"level,omitempty"` // VIPs only: 1-9, default 1
}

// List returns a list's entries (expired ones too: `callbox list show` marks them), or the
// entry of one number when number is given.
func (s *Service) List(ctx context.Context, list, number string) ([]ListEntry, error) {
	if err := checkList(list); err != nil {
		return nil, err
	}
	if number == "" {
		es, err := s.store.ListEntries(ctx, list)
		if err != nil {
			return nil, fmt.Errorf("ivr: list %s: %w", list, err)
		}
		return orEmpty(es), nil
	}
	n, err := s.normalize(number)
	if err != nil {
		return nil, err
	}
	es, err := s.store.NumberEntries(ctx, n)
	if err != nil {
		return nil, fmt.Errorf("ivr: list %s: %w", list, err)
	}
	es = slices.DeleteFunc(es, func(e ListEntry) bool { return e.List != list })
	if len(es) == 0 {
		return nil, callbox.Errorf(callbox.ENOTFOUND, "%s is not on the %s", n, list)
	}
	return es, nil
}

// AddToList puts a number on a list (or changes its entry), from the CLI or the API.
func (s *Service) AddToList(ctx context.Context, list string, r ListRequest) (ListEntry, error) {
	if err := checkList(list); err != nil {
		return ListEntry{}, err
	}
	n, err := s.normalize(r.Number)
	if err != nil {
		return ListEntry{}, err
	}
	now := s.clock.Now()
	e := ListEntry{List: list, Number: n, Note: strings.TrimSpace(r.Note), Level: r.Level, Source: "cli", Created: now}
	if len(e.Note) > 200 {
		return ListEntry{}, callbox.Errorf(callbox.EINVALID, "the note is too long: at most 200 characters")
	}
	switch {
	case list == "vip" && r.Level == 0:
		e.Level = 1
	case list == "vip" && (r.Level < 1 || r.Level > 9):
		return ListEntry{}, callbox.Errorf(callbox.EINVALID, "level %d: want 1 to 9", r.Level)
	case list != "vip" && r.Level != 0:
		return ListEntry{}, callbox.Errorf(callbox.EINVALID, "only VIPs have a level")
	}
	if r.Until != "" {
		day, err := time.ParseInLocation("2006-01-02", r.Until, time.Local)
		if err != nil {
			return ListEntry{}, callbox.Errorf(callbox.EINVALID, "until %q: want a date YYYY-MM-DD", r.Until)
		}
		e.Until = day.AddDate(0, 0, 1)
		if !e.Until.After(now) {
			return ListEntry{}, callbox.Errorf(callbox.EINVALID, "until %s is in the past", r.Until)
		}
	}
	existing, err := s.store.NumberEntries(ctx, n)
	if err != nil {
		return ListEntry{}, fmt.Errorf("ivr: list %s: %w", list, err)
	}
	for _, old := range existing {
		if old.List == list && old.Source == "config" {
			return ListEntry{}, callbox.Errorf(callbox.ECONFLICT, "%s is on the %s in the configuration file: change it there", n, list)
		}
	}
	if err := s.store.AddListEntry(ctx, e); err != nil {
		return ListEntry{}, fmt.Errorf("ivr: list %s: %w", list, err)
	}
	s.log.Info("number added to a caller list", "list", list, "number", n, "until", r.Until)
	return e, nil
}

// RemoveFromList takes a number off a list. Entries from the configuration file stay: the
// file is where they are changed.
func (s *Service) RemoveFromList(ctx context.Context, list, number string) (ListEntry, error) {
	if err := checkList(list); err != nil {
		return ListEntry{}, err
	}
	n, err := s.normalize(number)
	if err != nil {
		return ListEntry{}, err
	}
	es, err := s.store.NumberEntries(ctx, n)
	if err != nil {
		return ListEntry{}, fmt.Errorf("ivr: list %s: %w", list, err)
	}
	for _, e := range es {
		if e.List == list && e.Source == "config" {
			return ListEntry{}, callbox.Errorf(callbox.ECONFLICT, "%s is on the %s in the configuration file: remove it there and reload", n, list)
		}
	}
	e, err := s.store.RemoveListEntry(ctx, list, n)
	if err != nil {
		return ListEntry{}, err
	}
	s.log.Info("number removed from a caller list", "list", list, "number", n)
	return e, nil
}

func checkList(list string) error {
	if !slices.Contains(Lists, list) {
		return callbox.Errorf(callbox.ENOTFOUND, "no list %q: the lists are blacklist, warning and vip", list)
	}
	return nil
}

// normalize makes a number E.164 by the box's country, or refuses it.
func (s *Service) normalize(number string) (string, error) {
	n, ok := plan(s.config()).Normalize(number)
	if !ok {
		return "", callbox.Errorf(callbox.EINVALID, "%q is not a phone number the box can make E.164 (country %s): write it as +CC…", number, s.config().Box.Country)
	}
	return n, nil
}

func orEmpty(es []ListEntry) []ListEntry {
	if es == nil {
		return []ListEntry{}
	}
	return es
}

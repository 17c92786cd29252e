package pbx

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// quietLogger wraps the logger given to sipgo: its per-packet complaints (unparseable
// datagrams, transaction timeouts) are logged at most once per message a minute, and raw
// packet data never reaches the log (it can hold digest credentials).
func quietLogger(l *slog.Logger) *slog.Logger {
	return slog.New(&quietHandler{inner: l.Handler(), seen: &seenMessages{last: map[string]time.Time{}}})
}

type seenMessages struct {
	mu   sync.Mutex
	last map[string]time.Time
}

func (s *seenMessages) first(msg string, now time.Time) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.last[msg]; ok && now.Sub(t) < time.Minute {
		return false
	}
	if len(s.last) > 1000 {
		clear(s.last)
	}
	s.last[msg] = now
	return true
}

type quietHandler struct {
	inner slog.Handler
	seen  *seenMessages
}

func (h *quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.inner.Enabled(ctx, l)
}

func (h *quietHandler) Handle(ctx context.Context, r slog.Record) error {
	if r.Level < slog.LevelWarn {
		return h.inner.Handle(ctx, r)
	}
	if !h.seen.first(r.Message, r.Time) {
		return nil
	}
	clean := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	r.Attrs(func(a slog.Attr) bool {
		if a.Key != "data" && a.Key != "msg" {
			clean.AddAttrs(a)
		}
		return true
	})
	clean.AddAttrs(slog.String("note", "repeats of this message are not logged for a minute"))
	return h.inner.Handle(ctx, clean)
}

func (h *quietHandler) WithAttrs(as []slog.Attr) slog.Handler {
	return &quietHandler{inner: h.inner.WithAttrs(as), seen: h.seen}
}

func (h *quietHandler) WithGroup(name string) slog.Handler {
	return &quietHandler{inner: h.inner.WithGroup(name), seen: h.seen}
}

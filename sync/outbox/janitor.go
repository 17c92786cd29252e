package outbox

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync/atomic"
	"time"
)

// Janitor removes local recordings once every destination has them and the retention has
// passed. A recording counts as delivered when every outbox row of its call is done; one
// whose call has no outbox rows (no destination takes it) is the only copy and stays.
type Janitor struct {
	st        *Store
	m         *metrics
	log       *slog.Logger
	dataDir   string       // relative recording paths are under it
	retention atomic.Int64 // a time.Duration; 0 keeps every recording
	every     time.Duration
}

// NewJanitor makes the manager's janitor for recordings under dataDir.
func (m *Manager) NewJanitor(dataDir string, retention, every time.Duration) *Janitor {
	if every <= 0 {
		every = 10 * time.Minute
	}
	j := &Janitor{st: m.st, m: m.m, log: m.log.With("component", "recording janitor"), dataDir: dataDir, every: every}
	j.SetRetention(retention)
	return j
}

// SetRetention changes the retention (a configuration reload); 0 keeps every recording.
func (j *Janitor) SetRetention(d time.Duration) { j.retention.Store(int64(d)) }

// Run sweeps now and then every period until ctx ends.
func (j *Janitor) Run(ctx context.Context) error {
	t := time.NewTicker(j.every)
	defer t.Stop()
	for {
		if n, err := j.Sweep(ctx); err != nil {
			if ctx.Err() != nil {
				return nil
			}
			j.log.Warn("sweeping recordings failed; trying again later", "err", err)
		} else if n > 0 {
			j.log.Info("removed delivered recordings past their retention", "recordings", n)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sweep marks recordings whose call is fully delivered as uploaded, then removes the files of
// those uploaded longer than the retention ago. It returns how many files it removed.
func (j *Janitor) Sweep(ctx context.Context) (int, error) {
	retention := time.Duration(j.retention.Load())
	if retention <= 0 {
		return 0, nil
	}
	db := j.st.db
	if _, err := db.ExecContext(ctx, `UPDATE recordings SET uploaded_at =
			(SELECT MAX(delivered_at) FROM outbox o WHERE o.call_id = recordings.call_id)
		WHERE uploaded_at IS NULL
		  AND EXISTS (SELECT 1 FROM outbox o WHERE o.call_id = recordings.call_id)
		  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.call_id = recordings.call_id AND o.state != 'done')`); err != nil {
		return 0, fmt.Errorf("mark uploaded recordings: %w", err)
	}
	now := j.st.now()
	removed := 0
	for {
		rows, err := db.QueryContext(ctx, `SELECT id, path FROM recordings
			WHERE deleted_at IS NULL AND uploaded_at IS NOT NULL AND uploaded_at <= ? LIMIT 200`, ms(now.Add(-retention)))
		if err != nil {
			return removed, fmt.Errorf("recordings past retention: %w", err)
		}
		type rec struct{ id, path string }
		var batch []rec
		for rows.Next() {
			var r rec
			if err := rows.Scan(&r.id, &r.path); err != nil {
				rows.Close()
				return removed, fmt.Errorf("recordings past retention: %w", err)
			}
			batch = append(batch, r)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return removed, fmt.Errorf("recordings past retention: %w", err)
		}
		if len(batch) == 0 {
			return removed, nil
		}
		for _, r := range batch {
			if err := os.Remove(j.abs(r.path)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return removed, fmt.Errorf("remove recording %s: %w", r.id, err)
			}
			if _, err := db.ExecContext(ctx, "UPDATE recordings SET deleted_at = ? WHERE id = ?", ms(now), r.id); err != nil {
				return removed, fmt.Errorf("mark recording %s deleted: %w", r.id, err)
			}
			removed++
			j.m.deleted.Inc()
		}
	}
}

func (j *Janitor) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(j.dataDir, p)
}

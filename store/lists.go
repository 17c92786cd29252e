package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"callbox"
)

// ListEntry is a number on one of the IVR's caller lists.
type ListEntry struct {
	List    string // blacklist, warning or vip
	Number  string // E.164
	Level   int
	Note    string
	Until   time.Time // zero: for ever
	Source  string    // config or cli
	Hits    int
	LastHit time.Time
	Created time.Time
}

const listColumns = `list, number, level, note, until_at, source, hits, last_hit, created_at`

func scanListEntries(rows *sql.Rows) ([]ListEntry, error) {
	defer rows.Close()
	var out []ListEntry
	for rows.Next() {
		var e ListEntry
		var until, lastHit sql.NullInt64
		var created int64
		if err := rows.Scan(&e.List, &e.Number, &e.Level, &e.Note, &until, &e.Source, &e.Hits, &lastHit, &created); err != nil {
			return nil, fmt.Errorf("read list entry: %w", err)
		}
		if until.Valid {
			e.Until = fromMS(until.Int64)
		}
		if lastHit.Valid {
			e.LastHit = fromMS(lastHit.Int64)
		}
		e.Created = fromMS(created)
		out = append(out, e)
	}
	return out, rows.Err()
}

// ListEntries returns a list's entries, by number.
func (d *DB) ListEntries(ctx context.Context, list string) ([]ListEntry, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT "+listColumns+" FROM caller_lists WHERE list = ? ORDER BY number", list)
	if err != nil {
		return nil, fmt.Errorf("list %s: %w", list, err)
	}
	return scanListEntries(rows)
}

// NumberEntries returns every list entry of a number.
func (d *DB) NumberEntries(ctx context.Context, number string) ([]ListEntry, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT "+listColumns+" FROM caller_lists WHERE number = ? ORDER BY list", number)
	if err != nil {
		return nil, fmt.Errorf("lists of %s: %w", number, err)
	}
	return scanListEntries(rows)
}

// AddListEntry adds an entry, or replaces the entry of the same list and number (its hits
// stay).
func (d *DB) AddListEntry(ctx context.Context, e ListEntry) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO caller_lists (list, number, level, note, until_at, source, created_at)
		VALUES (?,?,?,?,?,?,?) ON CONFLICT (list, number) DO UPDATE SET level = excluded.level, note = excluded.note,
		until_at = excluded.until_at, source = excluded.source`,
		e.List, e.Number, e.Level, e.Note, nullMS(&e.Until), e.Source, ms(e.Created))
	if err != nil {
		return fmt.Errorf("add %s to %s: %w", e.Number, e.List, err)
	}
	return nil
}

// RemoveListEntry removes an entry and returns it.
func (d *DB) RemoveListEntry(ctx context.Context, list, number string) (ListEntry, error) {
	var removed ListEntry
	err := d.tx(ctx, func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, "SELECT "+listColumns+" FROM caller_lists WHERE list = ? AND number = ?", list, number)
		if err != nil {
			return err
		}
		es, err := scanListEntries(rows)
		if err != nil {
			return err
		}
		if len(es) == 0 {
			return callbox.Errorf(callbox.ENOTFOUND, "%s is not on the %s", number, list)
		}
		removed = es[0]
		_, err = tx.ExecContext(ctx, "DELETE FROM caller_lists WHERE list = ? AND number = ?", list, number)
		return err
	})
	var ce *callbox.Error
	if err != nil && !errors.As(err, &ce) {
		err = fmt.Errorf("remove %s from %s: %w", number, list, err)
	}
	return removed, err
}

// ListHit counts a call an entry screened.
func (d *DB) ListHit(ctx context.Context, list, number string, at time.Time) error {
	if _, err := d.db.ExecContext(ctx, "UPDATE caller_lists SET hits = hits + 1, last_hit = ? WHERE list = ? AND number = ?",
		ms(at), list, number); err != nil {
		return fmt.Errorf("count a hit of %s on %s: %w", number, list, err)
	}
	return nil
}

// SeedLists makes the configuration's entries exactly these, in one transaction: entries
// gone from the file are removed, the others added or brought up to date with their hits
// kept (a number the CLI had put on the same list becomes the file's).
func (d *DB) SeedLists(ctx context.Context, entries []ListEntry) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		keep := map[[2]string]bool{}
		for _, e := range entries {
			keep[[2]string{e.List, e.Number}] = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO caller_lists (list, number, level, note, until_at, source, created_at)
				VALUES (?,?,?,?,?,'config',?) ON CONFLICT (list, number) DO UPDATE SET level = excluded.level,
				note = excluded.note, until_at = excluded.until_at, source = 'config'`,
				e.List, e.Number, e.Level, e.Note, nullMS(&e.Until), ms(e.Created)); err != nil {
				return fmt.Errorf("seed %s on %s: %w", e.Number, e.List, err)
			}
		}
		rows, err := tx.QueryContext(ctx, "SELECT list, number FROM caller_lists WHERE source = 'config'")
		if err != nil {
			return fmt.Errorf("seed lists: %w", err)
		}
		var gone [][2]string
		for rows.Next() {
			var k [2]string
			if err := rows.Scan(&k[0], &k[1]); err != nil {
				rows.Close()
				return fmt.Errorf("seed lists: %w", err)
			}
			if !keep[k] {
				gone = append(gone, k)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("seed lists: %w", err)
		}
		for _, k := range gone {
			if _, err := tx.ExecContext(ctx, "DELETE FROM caller_lists WHERE list = ? AND number = ?", k[0], k[1]); err != nil {
				return fmt.Errorf("seed lists: %w", err)
			}
		}
		return nil
	})
}

// HoursOverrides returns the opening hours set open or closed by hand.
func (d *DB) HoursOverrides(ctx context.Context) (map[string]string, error) {
	rows, err := d.db.QueryContext(ctx, "SELECT hours, mode FROM hours_overrides")
	if err != nil {
		return nil, fmt.Errorf("hours overrides: %w", err)
	}
	defer rows.Close()
	out := map[string]string{}
	for rows.Next() {
		var h, m string
		if err := rows.Scan(&h, &m); err != nil {
			return nil, fmt.Errorf("hours overrides: %w", err)
		}
		out[h] = m
	}
	return out, rows.Err()
}

// SetHoursOverride sets opening hours open or closed by hand, or back to their times ("").
func (d *DB) SetHoursOverride(ctx context.Context, hours, mode string, at time.Time) error {
	var err error
	if mode == "" {
		_, err = d.db.ExecContext(ctx, "DELETE FROM hours_overrides WHERE hours = ?", hours)
	} else {
		_, err = d.db.ExecContext(ctx, `INSERT INTO hours_overrides (hours, mode, set_at) VALUES (?,?,?)
			ON CONFLICT (hours) DO UPDATE SET mode = excluded.mode, set_at = excluded.set_at`, hours, mode, ms(at))
	}
	if err != nil {
		return fmt.Errorf("hours override %s: %w", hours, err)
	}
	return nil
}

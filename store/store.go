// Package store keeps everything the box must not lose in SQLite: call records and their
// timelines, the recordings index, agents and their state history, and the outbox of upstream
// deliveries.
//
// The database runs in WAL mode with synchronous=FULL (the box can lose power at any moment),
// foreign keys on and a busy timeout; every write transaction takes the write lock at BEGIN
// (BEGIN IMMEDIATE) so writers queue instead of failing half-way.
package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"time"

	"callbox"

	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is the box's database.
type DB struct {
	db  *sql.DB
	now func() time.Time
}

// Option changes how Open sets up the database.
type Option func(*DB)

// WithClock makes the store read time from now (for tests).
func WithClock(now func() time.Time) Option { return func(d *DB) { d.now = now } }

// Open opens (creating if needed) the database at path and brings its schema up to date.
func Open(ctx context.Context, path string, opts ...Option) (*DB, error) {
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_pragma", "foreign_keys(1)")
	q.Set("_txlock", "immediate")
	sqldb, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	d := &DB{db: sqldb, now: time.Now}
	for _, o := range opts {
		o(d)
	}
	if err := sqldb.PingContext(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("open database %s: %w", path, err)
	}
	if err := d.migrate(ctx); err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("database %s: %w", path, err)
	}
	return d, nil
}

// Close closes the database; a clean close checkpoints the WAL into the main file.
func (d *DB) Close() error {
	if _, err := d.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)"); err != nil {
		d.db.Close()
		return fmt.Errorf("checkpoint: %w", err)
	}
	return d.db.Close()
}

// SQL gives packages that own their own tables (the outbox workers, look-up cache) the
// database handle. They must keep to their tables.
func (d *DB) SQL() *sql.DB { return d.db }

// Check runs SQLite's integrity check.
func (d *DB) Check(ctx context.Context) error {
	var res string
	if err := d.db.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return fmt.Errorf("integrity check: %w", err)
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	return nil
}

// tx runs fn in one write transaction.
func (d *DB) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("begin: %w", err)
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, tx.Rollback())
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("commit: %w", err)
	}
	return nil
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullMS(t *time.Time) sql.NullInt64 {
	if t == nil || t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixMilli(), Valid: true}
}

var errNotFound = func(what, id string) error { return callbox.Errorf(callbox.ENOTFOUND, "%s %s not found", what, id) }

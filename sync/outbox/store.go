package outbox

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"callbox"
)

// Store is the outbox's view of the database: the outbox and sync_destinations tables, and
// the upload marks of the recordings table.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// NewStore uses db (store.DB.SQL()); now tells the time.
func NewStore(db *sql.DB, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now}
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func nullTime(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

// tx runs fn in one write transaction (the store opens the database with BEGIN IMMEDIATE).
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.db.BeginTx(ctx, nil)
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

// Release puts every row of dest that is in flight back in the queue, due now. A worker calls
// it when it starts: the daemon is the database's only user, so rows in flight were left by a
// previous run that crashed or was killed.
func (s *Store) Release(ctx context.Context, dest string) (int, error) {
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET state = 'pending', lease_until = NULL, next_attempt_at = ?
		WHERE destination = ? AND state = 'inflight'`, ms(s.now()), dest)
	if err != nil {
		return 0, fmt.Errorf("release rows of %s: %w", dest, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// ReclaimExpired puts rows of dest whose lease ran out back in the queue.
func (s *Store) ReclaimExpired(ctx context.Context, dest string) (int, error) {
	now := ms(s.now())
	res, err := s.db.ExecContext(ctx, `UPDATE outbox SET state = 'pending', lease_until = NULL, next_attempt_at = ?
		WHERE destination = ? AND state = 'inflight' AND lease_until < ?`, now, dest, now)
	if err != nil {
		return 0, fmt.Errorf("reclaim rows of %s: %w", dest, err)
	}
	n, _ := res.RowsAffected()
	return int(n), nil
}

// Claim leases up to n due rows of dest for lease. A row is due when its time has come, the
// row it depends on is done, and every earlier step of its call for dest is done, so a
// call's steps go out one after the other.
func (s *Store) Claim(ctx context.Context, dest string, n int, lease time.Duration) ([]Delivery, error) {
	now := s.now()
	rows, err := s.db.QueryContext(ctx, `UPDATE outbox SET state = 'inflight', attempts = attempts + 1, lease_until = ?
		WHERE id IN (
			SELECT o.id FROM outbox o
			WHERE o.destination = ? AND o.state = 'pending' AND o.next_attempt_at <= ?
			  AND (o.call_id = '' OR NOT EXISTS (SELECT 1 FROM outbox p
			       WHERE p.call_id = o.call_id AND p.destination = o.destination AND p.seq < o.seq AND p.state != 'done'))
			  AND (o.depends_on IS NULL OR EXISTS (SELECT 1 FROM outbox d WHERE d.id = o.depends_on AND d.state = 'done'))
			ORDER BY o.next_attempt_at, o.created_at, o.call_id, o.seq
			LIMIT ?)
		RETURNING id, call_id, seq, kind, payload, attempts, COALESCE(depends_on, ''), remote_ref, created_at`,
		ms(now.Add(lease)), dest, ms(now), n)
	if err != nil {
		return nil, fmt.Errorf("claim rows of %s: %w", dest, err)
	}
	var out []Delivery
	var deps []any
	for rows.Next() {
		var d Delivery
		var payload string
		var created int64
		if err := rows.Scan(&d.ID, &d.CallID, &d.Seq, &d.Kind, &payload, &d.Attempt, &d.DependsOn, &d.RemoteRef, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("claim rows of %s: %w", dest, err)
		}
		d.Destination, d.Payload, d.Created = dest, []byte(payload), fromMS(created)
		if d.DependsOn != "" {
			deps = append(deps, d.DependsOn)
		}
		out = append(out, d)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("claim rows of %s: %w", dest, err)
	}
	if len(deps) == 0 {
		return out, nil
	}
	// SQLite's RETURNING cannot read other rows, so the references come in a second query.
	refs := map[string]string{}
	q := "SELECT id, remote_ref FROM outbox WHERE id IN (?" + strings.Repeat(",?", len(deps)-1) + ")"
	rr, err := s.db.QueryContext(ctx, q, deps...)
	if err != nil {
		return nil, fmt.Errorf("read references: %w", err)
	}
	defer rr.Close()
	for rr.Next() {
		var id, ref string
		if err := rr.Scan(&id, &ref); err != nil {
			return nil, fmt.Errorf("read references: %w", err)
		}
		refs[id] = ref
	}
	for i := range out {
		out[i].DependencyRef = refs[out[i].DependsOn]
	}
	return out, rr.Err()
}

// completion is the outcome of one attempt, ready to be written.
type completion struct {
	d    Delivery
	res  Result
	next time.Time // when to try again (Retry, Reread, Pause, Release)
}

// Complete writes the outcomes of attempts at rows of dest in one transaction. An outcome
// counts only if the row is still in flight with the same attempt number: a row whose lease
// ran out and was claimed again belongs to the newer attempt.
func (s *Store) Complete(ctx context.Context, dest string, cs []completion) error {
	now := ms(s.now())
	return s.tx(ctx, func(tx *sql.Tx) error {
		var lastErr string
		success, pause := false, ""
		for _, c := range cs {
			var err error
			switch c.res.Outcome {
			case Done:
				success = true
				_, err = tx.ExecContext(ctx, `UPDATE outbox SET state = 'done', remote_ref = ?, delivered_at = ?,
					lease_until = NULL, last_error = '' WHERE id = ? AND state = 'inflight' AND attempts = ?`,
					c.res.RemoteRef, now, c.d.ID, c.d.Attempt)
			case Dead:
				lastErr = errText(c.res.Err)
				_, err = tx.ExecContext(ctx, `UPDATE outbox SET state = 'dead', lease_until = NULL, last_error = ?
					WHERE id = ? AND state = 'inflight' AND attempts = ?`, lastErr, c.d.ID, c.d.Attempt)
			default:
				msg := ""
				if c.res.Outcome != Release {
					msg = errText(c.res.Err)
					lastErr = msg
				}
				if c.res.Outcome == Pause {
					pause = msg
				}
				_, err = tx.ExecContext(ctx, `UPDATE outbox SET state = 'pending', lease_until = NULL, next_attempt_at = ?,
					last_error = CASE WHEN ? = '' THEN last_error ELSE ? END
					WHERE id = ? AND state = 'inflight' AND attempts = ?`, ms(c.next), msg, msg, c.d.ID, c.d.Attempt)
			}
			if err != nil {
				return fmt.Errorf("record outcome of %s: %w", c.d.ID, err)
			}
		}
		if success {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sync_destinations (name, last_success_at) VALUES (?, ?)
				ON CONFLICT (name) DO UPDATE SET last_success_at = excluded.last_success_at`, dest, now); err != nil {
				return fmt.Errorf("record success of %s: %w", dest, err)
			}
		}
		if lastErr != "" {
			if _, err := tx.ExecContext(ctx, `INSERT INTO sync_destinations (name, last_error, last_error_at) VALUES (?, ?, ?)
				ON CONFLICT (name) DO UPDATE SET last_error = excluded.last_error, last_error_at = excluded.last_error_at`,
				dest, lastErr, now); err != nil {
				return fmt.Errorf("record error of %s: %w", dest, err)
			}
		}
		if pause != "" {
			return setPaused(ctx, tx, dest, pause, now)
		}
		return nil
	})
}

func errText(err error) string {
	if err == nil {
		return "failed"
	}
	s := err.Error()
	if len(s) > 500 {
		s = s[:500] + "…"
	}
	return s
}

type execer interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
}

func setPaused(ctx context.Context, db execer, dest, reason string, now int64) error {
	_, err := db.ExecContext(ctx, `INSERT INTO sync_destinations (name, paused, paused_reason, paused_at) VALUES (?, 1, ?, ?)
		ON CONFLICT (name) DO UPDATE SET paused = 1, paused_reason = excluded.paused_reason, paused_at = excluded.paused_at`,
		dest, reason, now)
	if err != nil {
		return fmt.Errorf("pause %s: %w", dest, err)
	}
	return nil
}

// Paused tells whether dest is paused, and why.
func (s *Store) Paused(ctx context.Context, dest string) (bool, string, error) {
	var paused bool
	var reason string
	err := s.db.QueryRowContext(ctx, "SELECT paused, paused_reason FROM sync_destinations WHERE name = ?", dest).Scan(&paused, &reason)
	if errors.Is(err, sql.ErrNoRows) {
		return false, "", nil
	}
	if err != nil {
		return false, "", fmt.Errorf("read state of %s: %w", dest, err)
	}
	return paused, reason, nil
}

// Resume un-pauses the given destinations (every one when names is empty) and returns those
// that were paused.
func (s *Store) Resume(ctx context.Context, names ...string) ([]string, error) {
	q := "UPDATE sync_destinations SET paused = 0, paused_reason = '', paused_at = NULL WHERE paused = 1"
	var args []any
	if len(names) > 0 {
		q += " AND name IN (?" + strings.Repeat(",?", len(names)-1) + ")"
		for _, n := range names {
			args = append(args, n)
		}
	}
	rows, err := s.db.QueryContext(ctx, q+" RETURNING name", args...)
	if err != nil {
		return nil, fmt.Errorf("resume destinations: %w", err)
	}
	defer rows.Close()
	resumed := []string{}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("resume destinations: %w", err)
		}
		resumed = append(resumed, n)
	}
	return resumed, rows.Err()
}

// NextDue is when the earliest waiting row of dest is due; ok is false when none waits.
func (s *Store) NextDue(ctx context.Context, dest string) (time.Time, bool, error) {
	var next sql.NullInt64
	err := s.db.QueryRowContext(ctx, `SELECT MIN(next_attempt_at) FROM outbox WHERE destination = ? AND state = 'pending'`, dest).Scan(&next)
	if err != nil {
		return time.Time{}, false, fmt.Errorf("next due row of %s: %w", dest, err)
	}
	if !next.Valid {
		return time.Time{}, false, nil
	}
	return fromMS(next.Int64), true, nil
}

// Status returns every named destination (and any other with waiting rows) at a glance.
func (s *Store) Status(ctx context.Context, names []string) ([]DestinationStatus, error) {
	byName := map[string]*DestinationStatus{}
	var order []string
	get := func(n string) *DestinationStatus {
		if st, ok := byName[n]; ok {
			return st
		}
		st := &DestinationStatus{Name: n}
		byName[n] = st
		order = append(order, n)
		return st
	}
	for _, n := range names {
		get(n)
	}
	// Destinations no longer configured still show while they have rows: every destination
	// that ever delivered or failed is in sync_destinations (a scan of the outbox itself
	// would grow with its history).
	rows, err := s.db.QueryContext(ctx, `SELECT name FROM sync_destinations ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sync status: %w", err)
	}
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			rows.Close()
			return nil, fmt.Errorf("sync status: %w", err)
		}
		get(n)
	}
	rows.Close()
	for _, n := range order {
		st := byName[n]
		var oldest sql.NullInt64
		err := s.db.QueryRowContext(ctx, `SELECT
			COALESCE(SUM(state = 'pending'), 0), COALESCE(SUM(state = 'inflight'), 0),
			COALESCE(SUM(state = 'pending' AND attempts > 0), 0), COALESCE(SUM(state = 'dead'), 0),
			MIN(CASE WHEN state = 'pending' THEN created_at END)
			FROM outbox WHERE destination = ? AND state IN ('pending', 'inflight', 'dead')`, n).
			Scan(&st.Pending, &st.InFlight, &st.Failed, &st.Dead, &oldest)
		if err != nil {
			return nil, fmt.Errorf("sync status of %s: %w", n, err)
		}
		st.Oldest = nullTime(oldest)
		var errAt, okAt sql.NullInt64
		err = s.db.QueryRowContext(ctx, `SELECT paused, paused_reason, last_error, last_error_at, last_success_at
			FROM sync_destinations WHERE name = ?`, n).Scan(&st.Paused, &st.PauseReason, &st.LastError, &errAt, &okAt)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("sync status of %s: %w", n, err)
		}
		st.LastErrorAt, st.LastSuccess = nullTime(errAt), nullTime(okAt)
	}
	out := make([]DestinationStatus, 0, len(order))
	for i, n := range order {
		st := byName[n]
		if i >= len(names) && st.Pending+st.InFlight+st.Dead == 0 {
			continue // an old destination with nothing left
		}
		out = append(out, *st)
	}
	return out, nil
}

// Depth counts the rows of the named destinations that are not done, by state. It reads
// only the index ranges of those rows, so it stays cheap however long the history grows.
func (s *Store) Depth(ctx context.Context, names []string) (map[[2]string]int, error) {
	out := map[[2]string]int{}
	for _, dest := range names {
		rows, err := s.db.QueryContext(ctx, `SELECT state, COUNT(*) FROM outbox
			WHERE destination = ? AND state IN ('pending', 'inflight', 'dead') GROUP BY state`, dest)
		if err != nil {
			return nil, fmt.Errorf("outbox depth: %w", err)
		}
		for rows.Next() {
			var state string
			var n int
			if err := rows.Scan(&state, &n); err != nil {
				rows.Close()
				return nil, fmt.Errorf("outbox depth: %w", err)
			}
			out[[2]string{dest, state}] = n
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("outbox depth: %w", err)
		}
	}
	return out, nil
}

// Retry makes rows due now (see RetryRequest) and resumes the destinations they belong to.
func (s *Store) Retry(ctx context.Context, r RetryRequest) (RetryResult, error) {
	now := ms(s.now())
	var res sql.Result
	var err error
	var dests []string
	switch {
	case r.ID != "":
		var dest, state string
		err = s.db.QueryRowContext(ctx, "SELECT destination, state FROM outbox WHERE id = ?", r.ID).Scan(&dest, &state)
		if errors.Is(err, sql.ErrNoRows) {
			return RetryResult{}, callbox.Errorf(callbox.ENOTFOUND, "outbox row %s not found", r.ID)
		}
		if err != nil {
			return RetryResult{}, fmt.Errorf("retry %s: %w", r.ID, err)
		}
		if state == "done" || state == "inflight" {
			return RetryResult{}, callbox.Errorf(callbox.ECONFLICT, "outbox row %s is %s; only waiting rows and dead letters can be retried", r.ID, stateWord(state))
		}
		dests = []string{dest}
		res, err = s.db.ExecContext(ctx, `UPDATE outbox SET state = 'pending', next_attempt_at = ?, lease_until = NULL
			WHERE id = ? AND state IN ('pending', 'dead')`, now, r.ID)
	case r.Dead:
		q := `UPDATE outbox SET state = 'pending', next_attempt_at = ?, lease_until = NULL WHERE state = 'dead'`
		args := []any{now}
		if r.Destination != "" {
			q += " AND destination = ?"
			args = append(args, r.Destination)
			dests = []string{r.Destination}
		}
		res, err = s.db.ExecContext(ctx, q, args...)
	default:
		q := `UPDATE outbox SET next_attempt_at = ? WHERE state = 'pending' AND next_attempt_at > ?`
		args := []any{now, now}
		if r.Destination != "" {
			q += " AND destination = ?"
			args = append(args, r.Destination)
			dests = []string{r.Destination}
		}
		res, err = s.db.ExecContext(ctx, q, args...)
	}
	if err != nil {
		return RetryResult{}, fmt.Errorf("retry: %w", err)
	}
	n, _ := res.RowsAffected()
	resumed, err := s.Resume(ctx, dests...)
	if err != nil {
		return RetryResult{}, err
	}
	return RetryResult{Requeued: int(n), Resumed: resumed}, nil
}

func stateWord(s string) string {
	if s == "inflight" {
		return "being delivered"
	}
	return s
}

// Replay sends every delivered row created since r.Since again, ids unchanged: receivers
// that de-duplicate keep what they have and fill what they lost.
func (s *Store) Replay(ctx context.Context, r ReplayRequest) (ReplayResult, error) {
	if r.Since.IsZero() {
		return ReplayResult{}, callbox.Errorf(callbox.EINVALID, "replay needs a time to start from")
	}
	q := `UPDATE outbox SET state = 'pending', next_attempt_at = ?, lease_until = NULL, delivered_at = NULL
		WHERE state = 'done' AND created_at >= ?`
	args := []any{ms(s.now()), ms(r.Since)}
	if r.Destination != "" {
		q += " AND destination = ?"
		args = append(args, r.Destination)
	}
	res, err := s.db.ExecContext(ctx, q, args...)
	if err != nil {
		return ReplayResult{}, fmt.Errorf("replay: %w", err)
	}
	n, _ := res.RowsAffected()
	return ReplayResult{Requeued: int(n)}, nil
}

// Recording returns where a recording lies, and whether the janitor removed it.
func (s *Store) Recording(ctx context.Context, id string) (path string, deleted bool, err error) {
	var del sql.NullInt64
	err = s.db.QueryRowContext(ctx, "SELECT path, deleted_at FROM recordings WHERE id = ?", id).Scan(&path, &del)
	if errors.Is(err, sql.ErrNoRows) {
		return "", false, callbox.Errorf(callbox.ENOTFOUND, "recording %s not found", id)
	}
	if err != nil {
		return "", false, fmt.Errorf("recording %s: %w", id, err)
	}
	return path, del.Valid, nil
}

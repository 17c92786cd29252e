package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"callbox"
)

// OutboxRow is one upstream delivery to write with a call record.
type OutboxRow struct {
	ID          string // event id, stable across retries
	Destination string
	CallID      string
	Seq         int
	Kind        string
	Payload     []byte // JSON
	DependsOn   string // id of the row whose remote reference this one needs, or ""
}

// FinishCall writes a finished call — its record, timeline, recording index entry and outbox
// rows — in one transaction: either all of it is on disk or none of it.
func (d *DB) FinishCall(ctx context.Context, rec *callbox.Record, outbox []OutboxRow) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		if err := insertCall(ctx, tx, rec); err != nil {
			return err
		}
		if rec.Recording != nil {
			if err := insertRecording(ctx, tx, rec.Recording); err != nil {
				return err
			}
		}
		return insertOutbox(ctx, tx, outbox, d.now())
	})
}

func insertCall(ctx context.Context, tx *sql.Tx, r *callbox.Record) error {
	flags, err := json.Marshal(orEmpty(r.Flags))
	if err != nil {
		return err
	}
	vars, err := json.Marshal(orEmptyMap(r.Variables))
	if err != nil {
		return err
	}
	mediaJSON := ""
	if r.Media != nil {
		b, err := json.Marshal(r.Media)
		if err != nil {
			return err
		}
		mediaJSON = string(b)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO calls (id, direction, from_number, from_name, to_number, did, trunk,
		extension, queue, agent, started_at, answered_at, ended_at, result, cause, hangup_side, talk_ms, vip, flags,
		variables, survey, media) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		r.ID, string(r.Direction), r.From, r.FromName, r.To, r.DID, r.Trunk, r.Extension, r.Queue, r.Agent,
		ms(r.Started), nullMS(r.Answered), ms(r.Ended), r.Result, r.Cause, string(r.HangupSide),
		r.TalkTime.Milliseconds(), r.VIP, string(flags), string(vars), r.Survey, mediaJSON)
	if err != nil {
		return fmt.Errorf("insert call %s: %w", r.ID, err)
	}
	for i, e := range r.Events {
		detail, err := json.Marshal(orEmptyMap(e.Detail))
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO call_events (call_id, seq, at, kind, leg, detail)
			VALUES (?,?,?,?,?,?)`, r.ID, i, ms(e.At), e.Kind, e.Leg, string(detail)); err != nil {
			return fmt.Errorf("insert event of call %s: %w", r.ID, err)
		}
	}
	return nil
}

func insertRecording(ctx context.Context, tx *sql.Tx, rec *callbox.Recording) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO recordings (id, call_id, kind, path, format, duration_ms, size,
		created_at) VALUES (?,?,?,?,?,?,?,?)`, rec.ID, rec.CallID, rec.Kind, rec.Path, rec.Format,
		rec.Duration.Milliseconds(), rec.Size, ms(rec.Created))
	if err != nil {
		return fmt.Errorf("insert recording %s: %w", rec.ID, err)
	}
	return nil
}

func insertOutbox(ctx context.Context, tx *sql.Tx, rows []OutboxRow, now time.Time) error {
	for _, o := range rows {
		var dep sql.NullString
		if o.DependsOn != "" {
			dep = sql.NullString{String: o.DependsOn, Valid: true}
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO outbox (id, destination, call_id, seq, kind, payload,
			next_attempt_at, depends_on, created_at) VALUES (?,?,?,?,?,?,?,?,?)`,
			o.ID, o.Destination, o.CallID, o.Seq, o.Kind, string(o.Payload), ms(now), dep, ms(now)); err != nil {
			return fmt.Errorf("insert outbox row %s: %w", o.ID, err)
		}
	}
	return nil
}

// CallFilter narrows ListCalls.
type CallFilter struct {
	Limit  int       // at most this many, newest first (default 50)
	Before time.Time // only calls started before this time
	Number string    // only calls from or to this number
	Result string    // only calls with this result (answered, voicemail, abandoned, …)
	Flag   string    // only calls with this flag (follow-up, warning, …)
}

const callColumns = `id, direction, from_number, from_name, to_number, did, trunk, extension, queue, agent,
	started_at, answered_at, ended_at, result, cause, hangup_side, talk_ms, vip, flags, variables, survey, media`

// ListCalls returns call records, newest first, without their timelines.
func (d *DB) ListCalls(ctx context.Context, f CallFilter) ([]callbox.Record, error) {
	if f.Limit <= 0 {
		f.Limit = 50
	}
	var where []string
	var args []any
	if !f.Before.IsZero() {
		where = append(where, "started_at < ?")
		args = append(args, ms(f.Before))
	}
	if f.Number != "" {
		where = append(where, "(from_number = ? OR to_number = ?)")
		args = append(args, f.Number, f.Number)
	}
	if f.Result != "" {
		where = append(where, "result = ?")
		args = append(args, f.Result)
	}
	if f.Flag != "" {
		where = append(where, "EXISTS (SELECT 1 FROM json_each(calls.flags) WHERE value = ?)")
		args = append(args, f.Flag)
	}
	q := "SELECT " + callColumns + " FROM calls"
	if len(where) > 0 {
		q += " WHERE " + strings.Join(where, " AND ")
	}
	q += " ORDER BY started_at DESC, id LIMIT ?"
	args = append(args, f.Limit)
	rows, err := d.db.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	defer rows.Close()
	var out []callbox.Record
	for rows.Next() {
		r, err := scanCall(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list calls: %w", err)
	}
	return out, nil
}

// Call returns one call record with its timeline and recording.
func (d *DB) Call(ctx context.Context, id string) (*callbox.Record, error) {
	row := d.db.QueryRowContext(ctx, "SELECT "+callColumns+" FROM calls WHERE id = ?", id)
	r, err := scanCall(row)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, errNotFound("call", id)
	}
	if err != nil {
		return nil, err
	}
	rows, err := d.db.QueryContext(ctx, "SELECT at, kind, leg, detail FROM call_events WHERE call_id = ? ORDER BY seq", id)
	if err != nil {
		return nil, fmt.Errorf("call %s events: %w", id, err)
	}
	defer rows.Close()
	for rows.Next() {
		var e callbox.Event
		var at int64
		var detail string
		if err := rows.Scan(&at, &e.Kind, &e.Leg, &detail); err != nil {
			return nil, fmt.Errorf("call %s events: %w", id, err)
		}
		e.At = fromMS(at)
		if err := json.Unmarshal([]byte(detail), &e.Detail); err != nil {
			return nil, fmt.Errorf("call %s event detail: %w", id, err)
		}
		if len(e.Detail) == 0 {
			e.Detail = nil
		}
		r.Events = append(r.Events, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("call %s events: %w", id, err)
	}
	recs, err := d.Recordings(ctx, id)
	if err != nil {
		return nil, err
	}
	for _, rec := range recs {
		if rec.Kind == "call" || r.Recording == nil {
			rec := rec
			r.Recording = &rec
		}
	}
	return &r, nil
}

// Recordings returns the recordings of a call.
func (d *DB) Recordings(ctx context.Context, callID string) ([]callbox.Recording, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, call_id, kind, path, format, duration_ms, size, created_at
		FROM recordings WHERE call_id = ? ORDER BY created_at`, callID)
	if err != nil {
		return nil, fmt.Errorf("recordings of %s: %w", callID, err)
	}
	defer rows.Close()
	var out []callbox.Recording
	for rows.Next() {
		var rec callbox.Recording
		var dur, created int64
		if err := rows.Scan(&rec.ID, &rec.CallID, &rec.Kind, &rec.Path, &rec.Format, &dur, &rec.Size, &created); err != nil {
			return nil, fmt.Errorf("recordings of %s: %w", callID, err)
		}
		rec.Duration = time.Duration(dur) * time.Millisecond
		rec.Created = fromMS(created)
		out = append(out, rec)
	}
	return out, rows.Err()
}

type scanner interface{ Scan(dest ...any) error }

func scanCall(s scanner) (callbox.Record, error) {
	var r callbox.Record
	var dir, side, flags, vars, mediaJSON string
	var started, ended, talk int64
	var answered sql.NullInt64
	err := s.Scan(&r.ID, &dir, &r.From, &r.FromName, &r.To, &r.DID, &r.Trunk, &r.Extension, &r.Queue, &r.Agent,
		&started, &answered, &ended, &r.Result, &r.Cause, &side, &talk, &r.VIP, &flags, &vars, &r.Survey, &mediaJSON)
	if err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return r, err
		}
		return r, fmt.Errorf("read call: %w", err)
	}
	r.Direction = callbox.Direction(dir)
	r.HangupSide = callbox.HangupSide(side)
	r.Started, r.Ended = fromMS(started), fromMS(ended)
	if answered.Valid {
		t := fromMS(answered.Int64)
		r.Answered = &t
	}
	r.TalkTime = time.Duration(talk) * time.Millisecond
	if err := json.Unmarshal([]byte(flags), &r.Flags); err != nil {
		return r, fmt.Errorf("call %s flags: %w", r.ID, err)
	}
	if err := json.Unmarshal([]byte(vars), &r.Variables); err != nil {
		return r, fmt.Errorf("call %s variables: %w", r.ID, err)
	}
	if mediaJSON != "" {
		r.Media = &callbox.MediaStats{}
		if err := json.Unmarshal([]byte(mediaJSON), r.Media); err != nil {
			return r, fmt.Errorf("call %s media: %w", r.ID, err)
		}
	}
	if len(r.Flags) == 0 {
		r.Flags = nil
	}
	if len(r.Variables) == 0 {
		r.Variables = nil
	}
	return r, nil
}

// CallCount returns how many calls the store holds.
func (d *DB) CallCount(ctx context.Context) (int, error) {
	var n int
	err := d.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM calls").Scan(&n)
	return n, err
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

func orEmptyMap(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

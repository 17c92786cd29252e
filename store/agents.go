package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"
)

// AgentQueue is a queue an agent is logged in to.
type AgentQueue struct {
	Queue   string
	Penalty int
}

// AgentChange is one change of an agent (state, login or logout of a queue, pause, mobile
// login) with everything that must survive a restart.
type AgentChange struct {
	Agent, Name string
	State       string
	Reason      string
	Queue       string // the queue logged in to or out of, "" otherwise
	At          time.Time
	Paused      bool
	PauseReason string
	Mobile      bool
	Queues      []AgentQueue // logged in to, after the change
}

// Agent is an agent's current status as stored.
type Agent struct {
	ID, Name    string
	State       string
	Reason      string
	Since       time.Time // when State began
	Paused      bool
	PauseReason string
	Mobile      bool
	Queues      []AgentQueue
}

// AgentStateRow is one row of an agent's history.
type AgentStateRow struct {
	State, Reason, Queue string
	At                   time.Time
}

// RecordAgentChange stores an agent's change in one transaction: its current status, the
// queues it is logged in to, and a row of its history.
func (d *DB) RecordAgentChange(ctx context.Context, c AgentChange) error {
	return d.tx(ctx, func(tx *sql.Tx) error {
		// since moves only when the state changes.
		_, err := tx.ExecContext(ctx, `INSERT INTO agents (id, name, state, reason, since, paused, pause_reason, mobile)
			VALUES (?,?,?,?,?,?,?,?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name,
				since = CASE WHEN agents.state = excluded.state THEN agents.since ELSE excluded.since END,
				state = excluded.state, reason = excluded.reason, paused = excluded.paused,
				pause_reason = excluded.pause_reason, mobile = excluded.mobile`,
			c.Agent, c.Name, c.State, c.Reason, ms(c.At), c.Paused, c.PauseReason, c.Mobile)
		if err != nil {
			return fmt.Errorf("store agent %s: %w", c.Agent, err)
		}
		// The logins: keep the since of those that stay.
		keep := map[string]bool{}
		for _, q := range c.Queues {
			keep[q.Queue] = true
			if _, err := tx.ExecContext(ctx, `INSERT INTO agent_queues (agent_id, queue, penalty, since) VALUES (?,?,?,?)
				ON CONFLICT (agent_id, queue) DO UPDATE SET penalty = excluded.penalty`,
				c.Agent, q.Queue, q.Penalty, ms(c.At)); err != nil {
				return fmt.Errorf("store agent %s in queue %s: %w", c.Agent, q.Queue, err)
			}
		}
		rows, err := tx.QueryContext(ctx, "SELECT queue FROM agent_queues WHERE agent_id = ?", c.Agent)
		if err != nil {
			return fmt.Errorf("agent %s queues: %w", c.Agent, err)
		}
		var gone []string
		for rows.Next() {
			var q string
			if err := rows.Scan(&q); err != nil {
				rows.Close()
				return fmt.Errorf("agent %s queues: %w", c.Agent, err)
			}
			if !keep[q] {
				gone = append(gone, q)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return fmt.Errorf("agent %s queues: %w", c.Agent, err)
		}
		for _, q := range gone {
			if _, err := tx.ExecContext(ctx, "DELETE FROM agent_queues WHERE agent_id = ? AND queue = ?", c.Agent, q); err != nil {
				return fmt.Errorf("agent %s logout of %s: %w", c.Agent, q, err)
			}
		}
		if _, err := tx.ExecContext(ctx, "INSERT INTO agent_states (agent_id, state, reason, queue, at) VALUES (?,?,?,?,?)",
			c.Agent, c.State, c.Reason, c.Queue, ms(c.At)); err != nil {
			return fmt.Errorf("agent %s history: %w", c.Agent, err)
		}
		return nil
	})
}

// Agents returns every stored agent with the queues it is logged in to.
func (d *DB) Agents(ctx context.Context) ([]Agent, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT id, name, state, reason, since, paused, pause_reason, mobile
		FROM agents ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	var out []Agent
	idx := map[string]int{}
	for rows.Next() {
		var a Agent
		var since int64
		if err := rows.Scan(&a.ID, &a.Name, &a.State, &a.Reason, &since, &a.Paused, &a.PauseReason, &a.Mobile); err != nil {
			rows.Close()
			return nil, fmt.Errorf("agents: %w", err)
		}
		a.Since = fromMS(since)
		idx[a.ID] = len(out)
		out = append(out, a)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("agents: %w", err)
	}
	qrows, err := d.db.QueryContext(ctx, "SELECT agent_id, queue, penalty FROM agent_queues ORDER BY agent_id, queue")
	if err != nil {
		return nil, fmt.Errorf("agent queues: %w", err)
	}
	defer qrows.Close()
	for qrows.Next() {
		var id string
		var q AgentQueue
		if err := qrows.Scan(&id, &q.Queue, &q.Penalty); err != nil {
			return nil, fmt.Errorf("agent queues: %w", err)
		}
		if i, ok := idx[id]; ok {
			out[i].Queues = append(out[i].Queues, q)
		}
	}
	return out, qrows.Err()
}

// AgentHistory returns an agent's changes from from (inclusive) to to (exclusive), oldest
// first: the source of reports of logins and time in each state.
func (d *DB) AgentHistory(ctx context.Context, agent string, from, to time.Time) ([]AgentStateRow, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT state, reason, queue, at FROM agent_states
		WHERE agent_id = ? AND at >= ? AND at < ? ORDER BY at, id`, agent, ms(from), ms(to))
	if err != nil {
		return nil, fmt.Errorf("agent %s history: %w", agent, err)
	}
	defer rows.Close()
	var out []AgentStateRow
	for rows.Next() {
		var r AgentStateRow
		var at int64
		if err := rows.Scan(&r.State, &r.Reason, &r.Queue, &at); err != nil {
			return nil, fmt.Errorf("agent %s history: %w", agent, err)
		}
		r.At = fromMS(at)
		out = append(out, r)
	}
	return out, rows.Err()
}

// QueueCallback is a callback request waiting for its turn.
type QueueCallback struct {
	CallID, Queue string
	Number, Name  string
	Priority      int
	LastAgent     string
	LastAgentAt   time.Time
	TicketAgent   string
	Joined        time.Time
	Attempts      int
}

// SaveQueueCallback stores a callback request, or its new number of attempts.
func (d *DB) SaveQueueCallback(ctx context.Context, cb QueueCallback) error {
	var lastAt sql.NullInt64
	if !cb.LastAgentAt.IsZero() {
		lastAt = sql.NullInt64{Int64: ms(cb.LastAgentAt), Valid: true}
	}
	_, err := d.db.ExecContext(ctx, `INSERT INTO queue_callbacks (call_id, queue, number, name, priority, last_agent,
		last_agent_at, ticket_agent, joined_at, attempts, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)
		ON CONFLICT (call_id) DO UPDATE SET queue = excluded.queue, number = excluded.number,
			attempts = excluded.attempts, updated_at = excluded.updated_at`,
		cb.CallID, cb.Queue, cb.Number, cb.Name, cb.Priority, cb.LastAgent, lastAt, cb.TicketAgent,
		ms(cb.Joined), cb.Attempts, ms(d.now()))
	if err != nil {
		return fmt.Errorf("store callback %s: %w", cb.CallID, err)
	}
	return nil
}

// DeleteQueueCallback removes a callback request that is done; a missing one is no error.
func (d *DB) DeleteQueueCallback(ctx context.Context, callID string) error {
	if _, err := d.db.ExecContext(ctx, "DELETE FROM queue_callbacks WHERE call_id = ?", callID); err != nil {
		return fmt.Errorf("delete callback %s: %w", callID, err)
	}
	return nil
}

// QueueCallbacks returns the waiting callback requests, oldest first.
func (d *DB) QueueCallbacks(ctx context.Context) ([]QueueCallback, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT call_id, queue, number, name, priority, last_agent, last_agent_at,
		ticket_agent, joined_at, attempts FROM queue_callbacks ORDER BY joined_at, call_id`)
	if err != nil {
		return nil, fmt.Errorf("callbacks: %w", err)
	}
	defer rows.Close()
	var out []QueueCallback
	for rows.Next() {
		var cb QueueCallback
		var lastAt sql.NullInt64
		var joined int64
		if err := rows.Scan(&cb.CallID, &cb.Queue, &cb.Number, &cb.Name, &cb.Priority, &cb.LastAgent, &lastAt,
			&cb.TicketAgent, &joined, &cb.Attempts); err != nil {
			return nil, fmt.Errorf("callbacks: %w", err)
		}
		if lastAt.Valid {
			cb.LastAgentAt = fromMS(lastAt.Int64)
		}
		cb.Joined = fromMS(joined)
		out = append(out, cb)
	}
	return out, rows.Err()
}

// QueueCall is a caller's time in one queue, once over.
type QueueCall struct {
	CallID, Queue, Agent string
	Number               string
	Priority             int
	Result               string // answered, abandoned, overflow, callback, callback_failed
	Joined, Ended        time.Time
	Waited, Handled      time.Duration
	StickyAgent          string
	StickyHit            bool
	Callback             bool
}

// SaveQueueCall stores a caller's time in a queue.
func (d *DB) SaveQueueCall(ctx context.Context, c QueueCall) error {
	_, err := d.db.ExecContext(ctx, `INSERT INTO queue_calls (call_id, queue, agent, number, priority, result,
		joined_at, ended_at, wait_ms, handle_ms, sticky_agent, sticky_hit, callback) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)`,
		c.CallID, c.Queue, c.Agent, c.Number, c.Priority, c.Result, ms(c.Joined), ms(c.Ended),
		c.Waited.Milliseconds(), c.Handled.Milliseconds(), c.StickyAgent, c.StickyHit, c.Callback)
	if err != nil {
		return fmt.Errorf("store queue call %s: %w", c.CallID, err)
	}
	return nil
}

// QueueCalls returns the queue calls that ended at or after since, oldest first.
func (d *DB) QueueCalls(ctx context.Context, since time.Time) ([]QueueCall, error) {
	rows, err := d.db.QueryContext(ctx, `SELECT call_id, queue, agent, number, priority, result, joined_at, ended_at,
		wait_ms, handle_ms, sticky_agent, sticky_hit, callback FROM queue_calls WHERE ended_at >= ? ORDER BY ended_at, id`,
		ms(since))
	if err != nil {
		return nil, fmt.Errorf("queue calls: %w", err)
	}
	defer rows.Close()
	var out []QueueCall
	for rows.Next() {
		var c QueueCall
		var joined, ended, wait, handle int64
		if err := rows.Scan(&c.CallID, &c.Queue, &c.Agent, &c.Number, &c.Priority, &c.Result, &joined, &ended,
			&wait, &handle, &c.StickyAgent, &c.StickyHit, &c.Callback); err != nil {
			return nil, fmt.Errorf("queue calls: %w", err)
		}
		c.Joined, c.Ended = fromMS(joined), fromMS(ended)
		c.Waited, c.Handled = time.Duration(wait)*time.Millisecond, time.Duration(handle)*time.Millisecond
		out = append(out, c)
	}
	return out, rows.Err()
}

// LastAgent returns the agent who answered number's most recent call (from the call
// records and the queue calls), and when; "" when none did.
func (d *DB) LastAgent(ctx context.Context, number string) (string, time.Time, error) {
	var agent string
	var at int64
	err := d.db.QueryRowContext(ctx, `SELECT agent, at FROM (
			SELECT agent, answered_at AS at FROM calls
				WHERE from_number = ? AND agent != '' AND answered_at IS NOT NULL
			UNION ALL
			SELECT agent, ended_at AS at FROM queue_calls
				WHERE number = ? AND agent != '' AND result IN ('answered', 'callback')
		) ORDER BY at DESC LIMIT 1`, number, number).Scan(&agent, &at)
	if errors.Is(err, sql.ErrNoRows) {
		return "", time.Time{}, nil
	}
	if err != nil {
		return "", time.Time{}, fmt.Errorf("last agent of %s: %w", number, err)
	}
	return agent, fromMS(at), nil
}

-- Call records: one row per call through the box, written when the call ends.
CREATE TABLE calls (
    id           TEXT PRIMARY KEY,
    direction    TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound', 'internal')),
    from_number  TEXT NOT NULL,
    from_name    TEXT NOT NULL DEFAULT '',
    to_number    TEXT NOT NULL,
    did          TEXT NOT NULL DEFAULT '',
    trunk        TEXT NOT NULL DEFAULT '',
    extension    TEXT NOT NULL DEFAULT '',
    queue        TEXT NOT NULL DEFAULT '',
    agent        TEXT NOT NULL DEFAULT '',
    started_at   INTEGER NOT NULL,          -- Unix milliseconds
    answered_at  INTEGER,
    ended_at     INTEGER NOT NULL,
    result       TEXT NOT NULL,
    cause        TEXT NOT NULL,
    hangup_side  TEXT NOT NULL,
    talk_ms      INTEGER NOT NULL DEFAULT 0,
    vip          INTEGER NOT NULL DEFAULT 0,
    flags        TEXT NOT NULL DEFAULT '[]', -- JSON array
    variables    TEXT NOT NULL DEFAULT '{}', -- JSON object
    survey       INTEGER NOT NULL DEFAULT 0,
    media        TEXT NOT NULL DEFAULT ''    -- JSON: RTP counters of each side, '' when none
);
CREATE INDEX calls_started ON calls (started_at DESC);
CREATE INDEX calls_from ON calls (from_number, started_at DESC);

-- The timeline of each call, in order.
CREATE TABLE call_events (
    call_id TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    kind    TEXT NOT NULL,
    leg     TEXT NOT NULL DEFAULT '',
    detail  TEXT NOT NULL DEFAULT '{}',
    PRIMARY KEY (call_id, seq)
) WITHOUT ROWID;

-- Audio files of calls and voicemails on disk.
CREATE TABLE recordings (
    id          TEXT PRIMARY KEY,
    call_id     TEXT NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('call', 'voicemail')),
    path        TEXT NOT NULL,
    format      TEXT NOT NULL,
    duration_ms INTEGER NOT NULL,
    size        INTEGER NOT NULL,
    created_at  INTEGER NOT NULL,
    uploaded_at INTEGER,                    -- every destination has it
    deleted_at  INTEGER                     -- the file was removed after retention
);
CREATE INDEX recordings_call ON recordings (call_id);

-- Agents: people who take queue calls, and the current state of each.
CREATE TABLE agents (
    id         TEXT PRIMARY KEY,            -- the agent's extension
    name       TEXT NOT NULL DEFAULT '',
    state      TEXT NOT NULL DEFAULT 'logged_out',
    reason     TEXT NOT NULL DEFAULT '',
    since      INTEGER NOT NULL
);

-- Every change of an agent's state, for reports of logins and status durations.
CREATE TABLE agent_states (
    id       INTEGER PRIMARY KEY,
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    state    TEXT NOT NULL,
    reason   TEXT NOT NULL DEFAULT '',
    queue    TEXT NOT NULL DEFAULT '',
    at       INTEGER NOT NULL
);
CREATE INDEX agent_states_agent ON agent_states (agent_id, at);

-- Upstream deliveries, written in the same transaction as what they tell about. Each row is
-- one step for one destination; a row that depends on another waits for its remote reference.
CREATE TABLE outbox (
    id              TEXT PRIMARY KEY,       -- the event id receivers de-duplicate on
    destination     TEXT NOT NULL,
    call_id         TEXT NOT NULL DEFAULT '',
    seq             INTEGER NOT NULL DEFAULT 0, -- order of this step among the call's steps
    kind            TEXT NOT NULL,          -- call.finished, voicemail, survey, recording.upload, ...
    payload         TEXT NOT NULL,          -- JSON
    state           TEXT NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'inflight', 'done', 'dead')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    lease_until     INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    depends_on      TEXT REFERENCES outbox (id),
    remote_ref      TEXT NOT NULL DEFAULT '', -- e.g. the ticket id the helpdesk gave back
    created_at      INTEGER NOT NULL,
    delivered_at    INTEGER
);
CREATE INDEX outbox_due ON outbox (destination, state, next_attempt_at);
CREATE INDEX outbox_call ON outbox (call_id, seq);

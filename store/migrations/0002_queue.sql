-- Queues. What an agent is logged in to, paused for and ringing on survives a restart; the
-- current state stays in agents (0001), every change in agent_states.
ALTER TABLE agents ADD COLUMN paused INTEGER NOT NULL DEFAULT 0;
ALTER TABLE agents ADD COLUMN pause_reason TEXT NOT NULL DEFAULT '';
ALTER TABLE agents ADD COLUMN mobile INTEGER NOT NULL DEFAULT 0; -- logged in as mobile

-- The queues each agent is logged in to.
CREATE TABLE agent_queues (
    agent_id TEXT NOT NULL REFERENCES agents (id) ON DELETE CASCADE,
    queue    TEXT NOT NULL,
    penalty  INTEGER NOT NULL DEFAULT 0,
    since    INTEGER NOT NULL,              -- Unix milliseconds
    PRIMARY KEY (agent_id, queue)
) WITHOUT ROWID;

-- Callers who asked to be called back and keep their place: nobody is on the line, so a
-- restart must not lose them.
CREATE TABLE queue_callbacks (
    call_id       TEXT PRIMARY KEY,
    queue         TEXT NOT NULL,
    number        TEXT NOT NULL,
    name          TEXT NOT NULL DEFAULT '',
    priority      INTEGER NOT NULL DEFAULT 0,
    last_agent    TEXT NOT NULL DEFAULT '',
    last_agent_at INTEGER,
    ticket_agent  TEXT NOT NULL DEFAULT '',
    joined_at     INTEGER NOT NULL,          -- their place follows from it
    attempts      INTEGER NOT NULL DEFAULT 0, -- callbacks that did not reach them
    updated_at    INTEGER NOT NULL
);

-- One row per caller's time in a queue, once over: the figures of the live view (today's
-- answered, abandoned, service level) come back from it after a restart, and reports of
-- queues and sticky agents read it.
CREATE TABLE queue_calls (
    id           INTEGER PRIMARY KEY,
    call_id      TEXT NOT NULL,
    queue        TEXT NOT NULL,
    agent        TEXT NOT NULL DEFAULT '',
    number       TEXT NOT NULL DEFAULT '',
    priority     INTEGER NOT NULL DEFAULT 0,
    result       TEXT NOT NULL
                 CHECK (result IN ('answered', 'abandoned', 'overflow', 'callback', 'callback_failed')),
    joined_at    INTEGER NOT NULL,
    ended_at     INTEGER NOT NULL,
    wait_ms      INTEGER NOT NULL,
    handle_ms    INTEGER NOT NULL DEFAULT 0, -- talk and wrap-up
    sticky_agent TEXT NOT NULL DEFAULT '',
    sticky_hit   INTEGER NOT NULL DEFAULT 0,
    callback     INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX queue_calls_ended ON queue_calls (ended_at);
CREATE INDEX queue_calls_number ON queue_calls (number, ended_at DESC);

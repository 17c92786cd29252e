-- Upstream sync: the state of each destination, and the caller look-up cache.

-- One row per outbox destination that has ever been paused, failed or delivered. A destination
-- is paused when its helpdesk refused our credentials (401/403) or told us to stop (410); it
-- stays paused until the configuration is reloaded or an admin runs `callbox sync retry`.
CREATE TABLE sync_destinations (
    name            TEXT PRIMARY KEY,
    paused          INTEGER NOT NULL DEFAULT 0,
    paused_reason   TEXT NOT NULL DEFAULT '',
    paused_at       INTEGER,
    last_error      TEXT NOT NULL DEFAULT '',
    last_error_at   INTEGER,
    last_success_at INTEGER
);

-- Dead letters are listed by destination; pending rows by when they are due.
CREATE INDEX outbox_dead ON outbox (destination, state, created_at);

-- Callers as the helpdesk last described them, so a slow or dead helpdesk never delays a call
-- more than the look-up deadline. found = 0 remembers that the helpdesk does not know the number.
CREATE TABLE lookup_cache (
    number     TEXT NOT NULL,           -- E.164
    directory  TEXT NOT NULL,           -- the destination that answered
    found      INTEGER NOT NULL,
    caller     TEXT NOT NULL,           -- JSON
    fetched_at INTEGER NOT NULL,        -- Unix milliseconds
    PRIMARY KEY (number, directory)
) WITHOUT ROWID;

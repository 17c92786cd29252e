-- The IVR's caller lists: who is refused (blacklist), flagged (warning) or put first (vip).
-- Numbers are E.164. Entries from the configuration file are replaced at each start and
-- reload (source 'config'); the CLI's stay until removed or past their day.
CREATE TABLE caller_lists (
    list       TEXT NOT NULL CHECK (list IN ('blacklist', 'warning', 'vip')),
    number     TEXT NOT NULL,
    level      INTEGER NOT NULL DEFAULT 0,  -- a VIP's priority, 1-9
    note       TEXT NOT NULL DEFAULT '',
    until_at   INTEGER,                     -- Unix milliseconds; NULL: for ever
    source     TEXT NOT NULL CHECK (source IN ('config', 'cli')),
    hits       INTEGER NOT NULL DEFAULT 0,  -- calls screened by the entry
    last_hit   INTEGER,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (list, number)
) WITHOUT ROWID;
CREATE INDEX caller_lists_number ON caller_lists (number);

-- Opening hours overridden by hand (`callbox hours open|close`): by name, '*' for all.
CREATE TABLE hours_overrides (
    hours  TEXT PRIMARY KEY,
    mode   TEXT NOT NULL CHECK (mode IN ('open', 'closed')),
    set_at INTEGER NOT NULL
) WITHOUT ROWID;

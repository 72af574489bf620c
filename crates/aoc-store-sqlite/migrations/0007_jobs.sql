-- The embedded job queue (aoc_store::JobQueue). Times are microseconds since the Unix epoch, UTC;
-- id is a version-7 UUID's 16 bytes. A running job's worker holds it until lease_until; past
-- that, the next claim takes it again (the worker died).
CREATE TABLE jobs (
    id           BLOB    NOT NULL PRIMARY KEY,
    kind         TEXT    NOT NULL,
    owner        TEXT    NOT NULL,
    payload      TEXT    NOT NULL,
    status       TEXT    NOT NULL
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    max_attempts INTEGER NOT NULL,
    keep_micros  INTEGER NOT NULL,
    worker       TEXT,
    lease_until  INTEGER,
    result       TEXT,
    error        TEXT,
    created_at   INTEGER NOT NULL,
    started_at   INTEGER,
    finished_at  INTEGER,
    expires_at   INTEGER NOT NULL
);

-- Claims look for the oldest waiting job; purges for expired ones.
CREATE INDEX jobs_waiting ON jobs (status, created_at);
CREATE INDEX jobs_expires ON jobs (expires_at);

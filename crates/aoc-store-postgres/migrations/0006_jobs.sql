-- The job queue when no Valkey is configured (aoc_store::JobQueue). A running job's worker holds
-- it until lease_until (the server's clock); past that, the next claim takes it again.
CREATE TABLE jobs (
    id           uuid        PRIMARY KEY,
    kind         text        NOT NULL,
    owner        text        NOT NULL,
    payload      jsonb       NOT NULL,
    status       text        NOT NULL
        CHECK (status IN ('queued', 'running', 'succeeded', 'failed')),
    attempts     integer     NOT NULL DEFAULT 0,
    max_attempts integer     NOT NULL,
    keep         interval    NOT NULL,
    worker       text,
    lease_until  timestamptz,
    result       jsonb,
    error        text,
    created_at   timestamptz NOT NULL DEFAULT now(),
    started_at   timestamptz,
    finished_at  timestamptz,
    expires_at   timestamptz NOT NULL
);

CREATE INDEX jobs_waiting ON jobs (status, created_at);
CREATE INDEX jobs_expires ON jobs (expires_at);

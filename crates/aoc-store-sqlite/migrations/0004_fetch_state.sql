-- Collector state (aoc_store::FetchStateStore). Times are microseconds since the Unix epoch, UTC,
-- like the events table's.

-- Position and health of one (tenant, source).
CREATE TABLE source_state (
    tenant_id          TEXT    NOT NULL,
    source             TEXT    NOT NULL,
    -- Only ever moves forward, in the transaction of the events it covers.
    watermark          INTEGER,
    last_attempt       INTEGER,
    last_success       INTEGER,
    last_error_at      INTEGER,
    last_error_code    TEXT,
    last_error_message TEXT,
    last_run_fetched   INTEGER NOT NULL DEFAULT 0,
    last_run_new       INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, source)
) WITHOUT ROWID;

-- The Management Activity API's content blobs, as listed and fetched.
CREATE TABLE content_ledger (
    tenant_id       TEXT    NOT NULL,
    source          TEXT    NOT NULL,
    content_id      TEXT    NOT NULL,
    content_created INTEGER NOT NULL,
    content_expires INTEGER,
    status          TEXT    NOT NULL CHECK (status IN ('listed', 'fetched', 'expired')),
    -- Records the blob held when it was fetched.
    records         INTEGER NOT NULL DEFAULT 0,
    first_listed_at INTEGER NOT NULL,
    fetched_at      INTEGER,
    PRIMARY KEY (tenant_id, source, content_id)
) WITHOUT ROWID;

-- Coverage figures by the hour the blob became available, and retention.
CREATE INDEX content_ledger_created ON content_ledger (tenant_id, source, content_created);

-- Record figures of one (tenant, source, hour of the event time); `hour` is the hour's start.
-- Delays are in seconds; their counts are avail_count and records_stored.
CREATE TABLE coverage (
    tenant_id          TEXT    NOT NULL,
    source             TEXT    NOT NULL,
    hour               INTEGER NOT NULL,
    records_fetched    INTEGER NOT NULL DEFAULT 0,
    records_stored     INTEGER NOT NULL DEFAULT 0,
    avail_count        INTEGER NOT NULL DEFAULT 0,
    avail_sum_seconds  REAL    NOT NULL DEFAULT 0,
    avail_max_seconds  REAL    NOT NULL DEFAULT 0,
    stored_sum_seconds REAL    NOT NULL DEFAULT 0,
    stored_max_seconds REAL    NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, source, hour)
) WITHOUT ROWID;

-- One process at a time per name.
CREATE TABLE leases (
    name       TEXT    NOT NULL PRIMARY KEY,
    holder     TEXT    NOT NULL,
    expires_at INTEGER NOT NULL
) WITHOUT ROWID;

-- Collector state (aoc_store::FetchStateStore). Small tables: not partitioned.

-- Position and health of one (tenant, source).
CREATE TABLE source_state (
    tenant_id          text        NOT NULL,
    source             text        NOT NULL,
    -- Only ever moves forward, in the transaction of the events it covers.
    watermark          timestamptz,
    last_attempt       timestamptz,
    last_success       timestamptz,
    last_error_at      timestamptz,
    last_error_code    text,
    last_error_message text,
    last_run_fetched   bigint      NOT NULL DEFAULT 0,
    last_run_new       bigint      NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, source)
);

-- The Management Activity API's content blobs, as listed and fetched.
CREATE TABLE content_ledger (
    tenant_id       text        NOT NULL,
    source          text        NOT NULL,
    content_id      text        NOT NULL,
    content_created timestamptz NOT NULL,
    content_expires timestamptz,
    status          text        NOT NULL CHECK (status IN ('listed', 'fetched', 'expired')),
    -- Records the blob held when it was fetched.
    records         bigint      NOT NULL DEFAULT 0,
    first_listed_at timestamptz NOT NULL,
    fetched_at      timestamptz,
    PRIMARY KEY (tenant_id, source, content_id)
);

-- Coverage figures by the hour the blob became available, and retention.
CREATE INDEX content_ledger_created ON content_ledger (tenant_id, source, content_created);

-- Record figures of one (tenant, source, hour of the event time); `hour` is the hour's start.
-- Delays are in seconds; their counts are avail_count and records_stored.
CREATE TABLE coverage (
    tenant_id          text             NOT NULL,
    source             text             NOT NULL,
    hour               timestamptz      NOT NULL,
    records_fetched    bigint           NOT NULL DEFAULT 0,
    records_stored     bigint           NOT NULL DEFAULT 0,
    avail_count        bigint           NOT NULL DEFAULT 0,
    avail_sum_seconds  double precision NOT NULL DEFAULT 0,
    avail_max_seconds  double precision NOT NULL DEFAULT 0,
    stored_sum_seconds double precision NOT NULL DEFAULT 0,
    stored_max_seconds double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, source, hour)
);

-- One process at a time per name. Expiry is judged by the server's clock.
CREATE TABLE leases (
    name       text        PRIMARY KEY,
    holder     text        NOT NULL,
    expires_at timestamptz NOT NULL
);

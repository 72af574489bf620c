-- Events, as laid out by aoc_store::EventColumns, range-partitioned by month on the event time so
-- retention drops whole partitions. Partitions are created on demand by the engine.
CREATE SEQUENCE events_seq AS bigint;

CREATE TABLE events (
    -- Commit order: inserts take a transaction-level advisory lock, so sequence values are
    -- handed out in the order transactions commit.
    seq         bigint      NOT NULL DEFAULT nextval('events_seq'),
    -- Derived from (tenant_id, dedupe_key): unique on it is unique on the pair.
    id          uuid        NOT NULL,
    tenant_id   text        NOT NULL,
    dedupe_key  text        NOT NULL,
    source      text        NOT NULL,
    service     text        NOT NULL,
    timestamp   timestamptz NOT NULL,
    ingested_at timestamptz NOT NULL,
    operation   text        NOT NULL,
    result      text        NOT NULL,
    actor_upn   text,
    actor_id    text,
    client_ip   text,
    summary     text        NOT NULL,
    -- The other normalized fields and the raw record, zstd-compressed (aoc_store::payload).
    -- Not jsonb: jsonb would reorder keys, drop duplicate keys and refuse \u0000, and the record
    -- is read whole, never queried into.
    payload     bytea       NOT NULL,
    -- Tokens of aoc_model::search::index_text.
    search      tsvector    NOT NULL,
    -- A unique key must contain the partition key; tenant_id makes it shardable by tenant.
    PRIMARY KEY (id, tenant_id, timestamp)
) PARTITION BY RANGE (timestamp);

-- The payload is compressed already: store it as it is.
ALTER TABLE events ALTER COLUMN payload SET STORAGE EXTERNAL;

CREATE INDEX events_time ON events (timestamp, id);
CREATE INDEX events_service_time ON events (service, timestamp, id);
CREATE INDEX events_by_seq ON events (seq);
CREATE INDEX events_search ON events USING gin (search);

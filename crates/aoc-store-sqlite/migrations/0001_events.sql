-- Events, as laid out by aoc_store::EventColumns. Times are microseconds since the Unix epoch, UTC.
CREATE TABLE events (
    -- Commit order. AUTOINCREMENT so a deleted newest row's number is never handed out again:
    -- detection and sinks keep seq cursors.
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    -- 16 bytes derived from (tenant_id, dedupe_key): unique on it is unique on the pair.
    id          BLOB    NOT NULL,
    tenant_id   TEXT    NOT NULL,
    dedupe_key  TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    service     TEXT    NOT NULL,
    timestamp   INTEGER NOT NULL,
    ingested_at INTEGER NOT NULL,
    operation   TEXT    NOT NULL,
    result      TEXT    NOT NULL,
    actor_upn   TEXT,
    actor_id    TEXT,
    client_ip   TEXT,
    summary     TEXT    NOT NULL,
    -- The other normalized fields and the raw record, zstd-compressed (aoc_store::payload).
    payload     BLOB    NOT NULL
);

CREATE UNIQUE INDEX events_id ON events (id);
CREATE INDEX events_time ON events (timestamp, id);
CREATE INDEX events_service_time ON events (service, timestamp, id);

-- Full text over the tokens of aoc_model::search::index_text, keyed by seq. Contentless: the
-- index alone is stored. The tokens are already lowercased and split in Rust, so the `ascii`
-- tokenizer only has to split on the spaces between them.
CREATE VIRTUAL TABLE events_fts USING fts5 (
    body,
    content = '',
    contentless_delete = 1,
    tokenize = 'ascii'
);

CREATE TRIGGER events_fts_delete AFTER DELETE ON events BEGIN
    DELETE FROM events_fts WHERE rowid = old.seq;
END;

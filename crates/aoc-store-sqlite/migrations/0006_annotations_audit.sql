-- Analysts' annotations (aoc_store::AnnotationStore) and AOC's own audit trail
-- (aoc_store::AuditTrailStore). Times are microseconds since the Unix epoch, UTC, like the events
-- table's.

-- Tags on events. event_id has the type of events.id: the events query filters by tag with
-- `id IN (SELECT event_id FROM event_tags WHERE tag = ?)`. event_time is the event's timestamp,
-- so retention can delete the tags of the events it deletes.
CREATE TABLE event_tags (
    event_id       BLOB    NOT NULL,
    event_time     INTEGER NOT NULL,
    -- aoc_model::Tag: 1 to 48 of a-z 0-9 _ . : -
    tag            TEXT    NOT NULL
        CHECK (length(tag) BETWEEN 1 AND 48 AND tag NOT GLOB '*[^a-z0-9_.:-]*'),
    tagged_by_id   TEXT    NOT NULL,
    tagged_by_name TEXT,
    tagged_at      INTEGER NOT NULL,
    PRIMARY KEY (event_id, tag)
) WITHOUT ROWID;

CREATE INDEX event_tags_tag ON event_tags (tag, event_id);
CREATE INDEX event_tags_event_time ON event_tags (event_time);

-- Comments on events; id is a version-7 UUID's 16 bytes.
CREATE TABLE event_comments (
    id          BLOB    NOT NULL PRIMARY KEY,
    event_id    BLOB    NOT NULL,
    event_time  INTEGER NOT NULL,
    author_id   TEXT    NOT NULL,
    author_name TEXT,
    body        TEXT    NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER
);

CREATE INDEX event_comments_event ON event_comments (event_id, created_at);
CREATE INDEX event_comments_event_time ON event_comments (event_time);

-- Who did what in AOC. Append-only: the trigger below refuses every UPDATE. Rows leave only
-- through retention (AuditTrailStore::delete_audit_before). AUTOINCREMENT so a number is never
-- handed out twice, even after retention emptied the table: page cursors hold seq values.
CREATE TABLE audit_trail (
    seq          INTEGER PRIMARY KEY AUTOINCREMENT,
    at           INTEGER NOT NULL,
    actor_id     TEXT    NOT NULL,
    actor_name   TEXT,
    actor_tenant TEXT,
    client_ip    TEXT,
    request_id   TEXT    NOT NULL,
    action       TEXT    NOT NULL,
    target       TEXT,
    -- The JSON text exactly as written (key order, escapes).
    details      TEXT    NOT NULL,
    outcome      TEXT    NOT NULL CHECK (outcome IN ('success', 'denied', 'failed')),
    status       INTEGER NOT NULL
);

CREATE INDEX audit_trail_at ON audit_trail (at);
CREATE INDEX audit_trail_actor ON audit_trail (actor_id, seq);
CREATE INDEX audit_trail_action ON audit_trail (action, seq);

CREATE TRIGGER audit_trail_append_only BEFORE UPDATE ON audit_trail BEGIN
    SELECT RAISE(ABORT, 'audit_trail is append-only');
END;

-- The people who have used AOC, by the tenant and object id of their token: the first request of
-- each is audited as user.first_request.
CREATE TABLE known_users (
    tenant_id  TEXT    NOT NULL,
    object_id  TEXT    NOT NULL,
    name       TEXT,
    first_seen INTEGER NOT NULL,
    last_seen  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, object_id)
) WITHOUT ROWID;

-- Analysts' annotations (aoc_store::AnnotationStore) and AOC's own audit trail
-- (aoc_store::AuditTrailStore). Small tables: not partitioned. No foreign key to events (a
-- partitioned table whose key includes tenant_id and timestamp): the engine deletes annotations
-- with their events, in the same transaction, by event id or by event time.

-- Tags on events. event_id has the type of events.id: the events query filters by tag with
-- `id IN (SELECT event_id FROM event_tags WHERE tag = $n)`. event_time is the event's timestamp,
-- so retention can delete the tags of the events it deletes.
CREATE TABLE event_tags (
    event_id       uuid        NOT NULL,
    event_time     timestamptz NOT NULL,
    -- aoc_model::Tag: 1 to 48 of a-z 0-9 _ . : -
    tag            text        NOT NULL CHECK (tag ~ '^[a-z0-9_.:-]{1,48}$'),
    tagged_by_id   text        NOT NULL,
    tagged_by_name text,
    tagged_at      timestamptz NOT NULL,
    PRIMARY KEY (event_id, tag)
);

CREATE INDEX event_tags_tag ON event_tags (tag, event_id);
CREATE INDEX event_tags_event_time ON event_tags (event_time);

-- Comments on events; id is a version-7 UUID.
CREATE TABLE event_comments (
    id          uuid        PRIMARY KEY,
    event_id    uuid        NOT NULL,
    event_time  timestamptz NOT NULL,
    author_id   text        NOT NULL,
    author_name text,
    body        text        NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz
);

CREATE INDEX event_comments_event ON event_comments (event_id, created_at);
CREATE INDEX event_comments_event_time ON event_comments (event_time);

-- Who did what in AOC. Append-only: the triggers below refuse every UPDATE and TRUNCATE. Rows
-- leave only through retention (AuditTrailStore::delete_audit_before). Appends take an advisory
-- lock, so seq follows commit order.
CREATE TABLE audit_trail (
    seq          bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL,
    actor_id     text        NOT NULL,
    actor_name   text,
    actor_tenant text,
    client_ip    text,
    request_id   text        NOT NULL,
    action       text        NOT NULL,
    target       text,
    -- Text, not jsonb: jsonb would reorder keys and refuse \u0000; the trail keeps the JSON
    -- exactly as written.
    details      text        NOT NULL,
    outcome      text        NOT NULL CHECK (outcome IN ('success', 'denied', 'failed')),
    status       integer     NOT NULL
);

CREATE INDEX audit_trail_at ON audit_trail (at);
CREATE INDEX audit_trail_actor ON audit_trail (actor_id, seq);
CREATE INDEX audit_trail_action ON audit_trail (action, seq);

CREATE FUNCTION audit_trail_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_trail is append-only' USING ERRCODE = 'insufficient_privilege';
END
$$;

CREATE TRIGGER audit_trail_no_update BEFORE UPDATE ON audit_trail
    FOR EACH ROW EXECUTE FUNCTION audit_trail_append_only();
CREATE TRIGGER audit_trail_no_truncate BEFORE TRUNCATE ON audit_trail
    FOR EACH STATEMENT EXECUTE FUNCTION audit_trail_append_only();

-- The people who have used AOC, by the tenant and object id of their token: the first request of
-- each is audited as user.first_request.
CREATE TABLE known_users (
    tenant_id  text        NOT NULL,
    object_id  text        NOT NULL,
    name       text,
    first_seen timestamptz NOT NULL,
    last_seen  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, object_id)
);

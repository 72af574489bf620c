-- One event per activity (aoc_model::activity): a record that another collection path already
-- delivered is kept here, as a sighting of the event it joined, instead of becoming a second
-- event. id is derived from the record's own (tenant_id, dedupe_key), like events.id, so a
-- repeat of it is recognised; raw is its original record, zstd-compressed (aoc_store::payload).
CREATE TABLE event_sightings (
    id          BLOB    NOT NULL PRIMARY KEY,
    event_id    BLOB    NOT NULL,
    tenant_id   TEXT    NOT NULL,
    dedupe_key  TEXT    NOT NULL,
    source      TEXT    NOT NULL,
    timestamp   INTEGER NOT NULL,
    ingested_at INTEGER NOT NULL,
    raw         BLOB    NOT NULL
);

CREATE INDEX event_sightings_event ON event_sightings (event_id);
-- The source filter matches an event seen via a source too.
CREATE INDEX event_sightings_source ON event_sightings (source, event_id);

-- An event's sightings go with it, whichever statement deletes it.
CREATE TRIGGER events_sightings_delete AFTER DELETE ON events BEGIN
    DELETE FROM event_sightings WHERE event_id = old.id;
END;

-- The key another path's record of the same activity has; NULL for records no other path
-- delivers. '?' marks rows stored before this migration whose key the engine computes (and
-- whose twins it joins) right after it runs.
ALTER TABLE events ADD COLUMN activity_key TEXT;
CREATE INDEX events_activity ON events (activity_key) WHERE activity_key IS NOT NULL;
UPDATE events SET activity_key = '?'
 WHERE dedupe_key LIKE 'graph.sign_ins:%'
    OR dedupe_key LIKE 'graph.directory_audits:%'
    OR (dedupe_key LIKE 'o365:%' AND service = 'Entra ID');

-- Operation names lose the unified log's final period, as new rows do (`Add member to role.`
-- is `Add member to role`, as Graph names it); raw keeps the original.
UPDATE events SET operation = substr(operation, 1, length(operation) - 1)
 WHERE service = 'Entra ID' AND operation LIKE '_%.';

-- The actor filter matches part of a UPN, display name or id (aoc_model::actor_keys). Rows
-- stored before get it, with the other filter columns, from the engine right after this runs.
ALTER TABLE events ADD COLUMN actor_keys TEXT;
UPDATE events SET target_keys = NULL;

-- People by name (aoc_store::sql::people): the actor filter finds all of a person's events by a
-- display name that only some of their records carry (sign-ins name the person; Exchange and
-- SharePoint records give only the UPN). Both lowercased.
CREATE TABLE actor_names (
    upn  TEXT NOT NULL,
    name TEXT NOT NULL,
    PRIMARY KEY (upn, name)
) WITHOUT ROWID;

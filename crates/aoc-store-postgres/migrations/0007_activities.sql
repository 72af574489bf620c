-- One event per activity (aoc_model::activity): a record that another collection path already
-- delivered is kept here, as a sighting of the event it joined, instead of becoming a second
-- event. id is derived from the record's own (tenant_id, dedupe_key), like events.id, so a
-- repeat of it is recognised; raw is its original record, zstd-compressed (aoc_store::payload).
-- timestamp is the record's time: retention deletes sightings by it, beside the partitions.
CREATE TABLE event_sightings (
    id          uuid        PRIMARY KEY,
    event_id    uuid        NOT NULL,
    tenant_id   text        NOT NULL,
    dedupe_key  text        NOT NULL,
    source      text        NOT NULL,
    timestamp   timestamptz NOT NULL,
    ingested_at timestamptz NOT NULL,
    raw         bytea       NOT NULL
);

ALTER TABLE event_sightings ALTER COLUMN raw SET STORAGE EXTERNAL;
CREATE INDEX event_sightings_event ON event_sightings (event_id);
-- The source filter matches an event seen via a source too.
CREATE INDEX event_sightings_source ON event_sightings (source, event_id);
CREATE INDEX event_sightings_time ON event_sightings (timestamp);

-- The key another path's record of the same activity has; NULL for records no other path
-- delivers. '?' marks rows stored before this migration whose key the engine computes (and
-- whose twins it joins) right after it runs.
ALTER TABLE events ADD COLUMN activity_key text;
CREATE INDEX events_activity ON events (activity_key) WHERE activity_key IS NOT NULL;
UPDATE events SET activity_key = '?'
 WHERE dedupe_key LIKE 'graph.sign\_ins:%'
    OR dedupe_key LIKE 'graph.directory\_audits:%'
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
);

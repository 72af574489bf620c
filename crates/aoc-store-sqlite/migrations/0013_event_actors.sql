-- Every distinct actor the events name, as their `actor_keys` (UPN, display name and id, see
-- aoc_model::actor_keys), per tenant: the actor filter looks its value up here first (a few
-- thousand rows, not every event), and when one actor answers, reads that actor's events from
-- `events_actor_keys_time` newest first instead of testing every event along the time index
-- (aoc_store::sql::actor_lookup). Kept by every insert; never pruned (a key whose events are
-- gone finds nothing).
CREATE TABLE event_actors (
    tenant_id  TEXT NOT NULL,
    actor_keys TEXT NOT NULL,
    PRIMARY KEY (tenant_id, actor_keys)
) WITHOUT ROWID;
INSERT INTO event_actors (tenant_id, actor_keys)
SELECT DISTINCT tenant_id, actor_keys FROM events WHERE actor_keys IS NOT NULL AND actor_keys <> '';
CREATE INDEX events_actor_keys_time ON events (actor_keys, timestamp, id) WHERE actor_keys IS NOT NULL;

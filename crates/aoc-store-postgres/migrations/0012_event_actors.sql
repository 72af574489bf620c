-- Every distinct actor the events name, as their `actor_keys` (UPN, display name and id, see
-- aoc_model::actor_keys), per tenant: the actor filter looks its value up here first (a few
-- thousand rows, not every event), and when a few actors answer with few events between them
-- (a person is often named three ways: UPN alone, with the object id, with the display name
-- too), reads their events from `events_actor_keys_time` instead of testing every event along
-- the time index (aoc_store::sql::actor_lookup). `events` counts the events stored with the
-- keys; kept by every insert, never lowered (an upper bound once events are deleted, which only
-- chooses the plan) and never pruned (a key whose events are gone finds nothing).
CREATE TABLE event_actors (
    tenant_id  text NOT NULL,
    actor_keys text NOT NULL,
    events     bigint NOT NULL,
    PRIMARY KEY (tenant_id, actor_keys)
);
INSERT INTO event_actors (tenant_id, actor_keys, events)
SELECT tenant_id, actor_keys, count(*) FROM events WHERE actor_keys IS NOT NULL AND actor_keys <> ''
 GROUP BY tenant_id, actor_keys;
CREATE INDEX events_actor_keys_time ON events (actor_keys, timestamp, id) WHERE actor_keys IS NOT NULL;
-- The UPN and id indexes served the actor filter when it compared whole values; it reads
-- the index above now, and nothing else seeks these: two random-key indexes fewer to keep.
DROP INDEX events_actor_upn_time;
DROP INDEX events_actor_id_time;

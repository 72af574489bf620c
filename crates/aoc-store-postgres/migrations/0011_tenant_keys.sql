-- Every key of a tenant's rows includes its tenant id, so a distributed PostgreSQL (Citus) can
-- shard the tenant-owned tables by tenant_id (docs/scale-out.md). Tags and comments take the
-- tenant of their event; the keys keep their leading columns, so lookups by event id or
-- comment id use them as before.

ALTER TABLE event_tags ADD COLUMN tenant_id text;
UPDATE event_tags t SET tenant_id = e.tenant_id FROM events e WHERE e.id = t.event_id;
-- A tag whose event is gone (never left by AOC, which deletes both together) is kept, unowned.
UPDATE event_tags SET tenant_id = '' WHERE tenant_id IS NULL;
ALTER TABLE event_tags ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE event_tags DROP CONSTRAINT event_tags_pkey;
ALTER TABLE event_tags ADD PRIMARY KEY (event_id, tag, tenant_id);

ALTER TABLE event_comments ADD COLUMN tenant_id text;
UPDATE event_comments c SET tenant_id = e.tenant_id FROM events e WHERE e.id = c.event_id;
UPDATE event_comments SET tenant_id = '' WHERE tenant_id IS NULL;
ALTER TABLE event_comments ALTER COLUMN tenant_id SET NOT NULL;
ALTER TABLE event_comments DROP CONSTRAINT event_comments_pkey;
ALTER TABLE event_comments ADD PRIMARY KEY (id, tenant_id);

ALTER TABLE event_sightings DROP CONSTRAINT event_sightings_pkey;
ALTER TABLE event_sightings ADD PRIMARY KEY (id, tenant_id);

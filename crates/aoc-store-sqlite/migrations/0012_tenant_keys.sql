-- Tags and comments name the tenant of their event, as on PostgreSQL (where every key of a
-- tenant's rows includes its tenant id, for sharding by tenant): the same statements write both.
ALTER TABLE event_tags ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE event_tags SET tenant_id = coalesce(
    (SELECT e.tenant_id FROM events e WHERE e.id = event_tags.event_id), '');

ALTER TABLE event_comments ADD COLUMN tenant_id TEXT NOT NULL DEFAULT '';
UPDATE event_comments SET tenant_id = coalesce(
    (SELECT e.tenant_id FROM events e WHERE e.id = event_comments.event_id), '');

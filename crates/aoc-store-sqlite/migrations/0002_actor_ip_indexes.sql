-- "What did this user do?" and "what came from this address?" are the questions of every
-- investigation: their first page must not scan the table.
CREATE INDEX events_actor_upn_time ON events (actor_upn, timestamp, id) WHERE actor_upn IS NOT NULL;
CREATE INDEX events_actor_id_time ON events (actor_id, timestamp, id) WHERE actor_id IS NOT NULL;
CREATE INDEX events_client_ip_time ON events (client_ip, timestamp, id) WHERE client_ip IS NOT NULL;

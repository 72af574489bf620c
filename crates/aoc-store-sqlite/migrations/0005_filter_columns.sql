-- Filter columns for the investigation API. Rows stored before this migration get their values
-- from the engine right after it runs (they start NULL; new rows never leave target_keys NULL).
ALTER TABLE events ADD COLUMN client_ip_key BLOB;
ALTER TABLE events ADD COLUMN country TEXT;
ALTER TABLE events ADD COLUMN target_keys TEXT;

-- The address key serves exact addresses and CIDR ranges alike, so it replaces the text index.
DROP INDEX events_client_ip_time;
CREATE INDEX events_client_ip_key_time ON events (client_ip_key, timestamp, id)
    WHERE client_ip_key IS NOT NULL;
-- Rows still to fill in, found without a scan; empty once they are done.
CREATE INDEX events_derived_pending ON events (seq) WHERE target_keys IS NULL;

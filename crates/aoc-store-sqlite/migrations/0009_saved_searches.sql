-- Saved searches (aoc_store::SavedSearchStore): a name and the dashboard's query string, kept by
-- their owner, and shared with every reader when `shared`. id is a version-7 UUID's 16 bytes;
-- times are microseconds since the Unix epoch, UTC.
CREATE TABLE saved_searches (
    id          BLOB    NOT NULL PRIMARY KEY,
    owner_id    TEXT    NOT NULL,
    owner_name  TEXT,
    name        TEXT    NOT NULL,
    query       TEXT    NOT NULL,
    shared      INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

CREATE INDEX saved_searches_owner ON saved_searches (owner_id, created_at);
CREATE INDEX saved_searches_shared ON saved_searches (shared, created_at);

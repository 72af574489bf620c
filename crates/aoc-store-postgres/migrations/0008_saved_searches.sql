-- Saved searches (aoc_store::SavedSearchStore): a name and the dashboard's query string, kept by
-- their owner, and shared with every reader when `shared`.
CREATE TABLE saved_searches (
    id          uuid        PRIMARY KEY,
    owner_id    text        NOT NULL,
    owner_name  text,
    name        text        NOT NULL,
    query       text        NOT NULL,
    shared      bigint      NOT NULL,
    created_at  timestamptz NOT NULL
);

CREATE INDEX saved_searches_owner ON saved_searches (owner_id, created_at);
CREATE INDEX saved_searches_shared ON saved_searches (shared, created_at);

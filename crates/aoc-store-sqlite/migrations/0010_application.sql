-- The application signed in to or acting, by name (aoc_model::Event::application): the facet's
-- column, and lowercased in Rust (every letter, not only ASCII) the filter's. Stored rows get
-- them from their payload at the next start (NULL target_keys marks a row whose derived columns
-- the engine computes again).
ALTER TABLE events ADD COLUMN application TEXT;
ALTER TABLE events ADD COLUMN application_key TEXT;
CREATE INDEX events_application ON events (application_key, timestamp) WHERE application_key IS NOT NULL;
-- Each target by name (id when it has none), lowercased (aoc_model::target_names): what the
-- target facet counts.
ALTER TABLE events ADD COLUMN target_names TEXT;
UPDATE events SET target_keys = NULL;

-- The application signed in to or acting, by name (aoc_model::Event::application): the
-- application filter's and facet's column. Stored rows get it from their payload at the next
-- start (NULL target_keys marks a row whose derived columns the engine computes again).
ALTER TABLE events ADD COLUMN application text;
CREATE INDEX events_application ON events (application, timestamp) WHERE application IS NOT NULL;
UPDATE events SET target_keys = NULL;

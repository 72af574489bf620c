-- One row that every change to what a search can find moves: `version` grows with each
-- transaction that stores, joins, deletes or re-derives events or changes their tags (cached
-- answers are keyed by it, so none is ever served after a change), and `stored` is how many
-- events there are, kept with each insert and delete so nothing counts rows to know.
CREATE TABLE event_totals (
    id      INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    version INTEGER NOT NULL,
    stored  INTEGER NOT NULL
);
INSERT INTO event_totals (id, version, stored) SELECT 1, 1, count(*) FROM events;

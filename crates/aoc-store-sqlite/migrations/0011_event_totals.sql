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

-- Events counted per quarter-hour (the total only), hour and day, by tenant and by each value
-- the figures and facets rank (aoc_store::sql::rollup). Kept by every insert and delete; built
-- from the stored events once, at the first start after this migration (`rollup_ready`). Keyed
-- by dimension first: a figure reads one dimension's rows of a range, next to each other.
CREATE TABLE event_rollup (
    tenant_id TEXT    NOT NULL,
    span      INTEGER NOT NULL,
    start     INTEGER NOT NULL,
    dimension TEXT    NOT NULL,
    value     TEXT    NOT NULL,
    events    INTEGER NOT NULL,
    failures  INTEGER NOT NULL,
    PRIMARY KEY (dimension, span, start, value, tenant_id)
) WITHOUT ROWID;
ALTER TABLE event_totals ADD COLUMN rollup_ready INTEGER NOT NULL DEFAULT 0;

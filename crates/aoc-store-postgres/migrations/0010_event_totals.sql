-- One row that every change to what a search can find moves: `version` grows with each
-- transaction that stores, joins, deletes or re-derives events or changes their tags (cached
-- answers are keyed by it, so none is ever served after a change), and `stored` is how many
-- events there are, kept with each insert and delete so nothing counts rows to know. Not
-- tenant-owned: on Citus it is a reference table.
CREATE TABLE event_totals (
    id      smallint NOT NULL PRIMARY KEY CHECK (id = 1),
    version bigint   NOT NULL,
    stored  bigint   NOT NULL
);
INSERT INTO event_totals (id, version, stored) SELECT 1, 1, count(*) FROM events;

-- Events counted per quarter-hour (the total only), hour and day, by tenant and by each value
-- the figures and facets rank (aoc_store::sql::rollup). Kept by every insert and delete; built
-- from the stored events once, at the first start after this migration (`rollup_ready`). Keyed
-- by dimension first: a figure reads one dimension's rows of a range, next to each other.
-- `start` is in microseconds since the Unix epoch.
CREATE TABLE event_rollup (
    tenant_id text    NOT NULL,
    span      integer NOT NULL,
    start     bigint  NOT NULL,
    dimension text    NOT NULL,
    value     text    NOT NULL,
    events    bigint  NOT NULL,
    failures  bigint  NOT NULL,
    PRIMARY KEY (dimension, span, start, value, tenant_id)
);
ALTER TABLE event_totals ADD COLUMN rollup_ready smallint NOT NULL DEFAULT 0;

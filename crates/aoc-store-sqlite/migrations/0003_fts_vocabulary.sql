-- The full-text vocabulary: expands a prefix into the exact tokens it stands for, with how many
-- events hold each, so a query can be planned and checked row by row without prefix scans.
CREATE VIRTUAL TABLE events_fts_vocab USING fts5vocab('events_fts', 'row');

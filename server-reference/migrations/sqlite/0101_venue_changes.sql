-- The venue change log the in-memory search index follows (src/venues/index.rs): every insert,
-- update and delete of a venue appends its id here, in the writer's transaction, whoever writes.
-- Kept in step with migrations/postgres/0101_venue_changes.sql.

CREATE TABLE venue_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    venue_id   TEXT NOT NULL,
    changed_at BIGINT NOT NULL              -- unix seconds, for pruning
);
CREATE INDEX venue_changes_time ON venue_changes (changed_at);

CREATE TRIGGER venues_log_insert AFTER INSERT ON venues BEGIN
    INSERT INTO venue_changes (venue_id, changed_at)
    VALUES (NEW.id, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER venues_log_update AFTER UPDATE ON venues BEGIN
    INSERT INTO venue_changes (venue_id, changed_at)
    VALUES (NEW.id, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER venues_log_delete AFTER DELETE ON venues BEGIN
    INSERT INTO venue_changes (venue_id, changed_at)
    VALUES (OLD.id, CAST(strftime('%s', 'now') AS INTEGER));
END;

-- Search runs on the in-memory grid now; the SQL grid index only cost writes.
DROP INDEX venues_grid;

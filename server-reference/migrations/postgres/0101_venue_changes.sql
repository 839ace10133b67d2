-- The venue change log the in-memory search index follows (src/venues/index.rs): every insert,
-- update and delete of a venue appends its id here, in the writer's transaction, whoever writes.
-- Kept in step with migrations/sqlite/0101_venue_changes.sql.

CREATE TABLE venue_changes (
    seq        BIGSERIAL PRIMARY KEY,
    venue_id   TEXT NOT NULL,
    changed_at BIGINT NOT NULL              -- unix seconds, for pruning
);
CREATE INDEX venue_changes_time ON venue_changes (changed_at);

CREATE FUNCTION venues_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        INSERT INTO venue_changes (venue_id, changed_at)
        VALUES (OLD.id, EXTRACT(EPOCH FROM now())::BIGINT);
    ELSE
        INSERT INTO venue_changes (venue_id, changed_at)
        VALUES (NEW.id, EXTRACT(EPOCH FROM now())::BIGINT);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER venues_log AFTER INSERT OR UPDATE OR DELETE ON venues
    FOR EACH ROW EXECUTE FUNCTION venues_log_change();

-- Search runs on the in-memory grid now; the SQL grid index only cost writes.
DROP INDEX venues_grid;

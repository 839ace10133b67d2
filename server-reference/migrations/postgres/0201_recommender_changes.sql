-- The change log the live recommender follows (src/recommendations/live.rs, shared follower
-- code in src/change_log.rs): every write to a table that feeds recommendations appends a row
-- here, in the writer's transaction, whoever writes (another server instance, an operator).
-- Kept in step with migrations/sqlite/0201_recommender_changes.sql.
--   kind        subject       object
--   profile     user id       -
--   jam_member  user id       jam id
--   rating      rater id      ratee id
--   rtt         measurement   -          (inserts only: measurements are never edited)
-- Blocks are not logged: each request reads them from the database.

CREATE TABLE recommender_changes (
    seq        BIGSERIAL PRIMARY KEY,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    object     TEXT,
    changed_at BIGINT NOT NULL              -- unix seconds, for pruning
);
CREATE INDEX recommender_changes_time ON recommender_changes (changed_at);

CREATE FUNCTION recommender_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r RECORD;
    stamp BIGINT := EXTRACT(EPOCH FROM now())::BIGINT;
BEGIN
    IF TG_OP = 'DELETE' THEN r := OLD; ELSE r := NEW; END IF;
    IF TG_TABLE_NAME = 'profiles' THEN
        INSERT INTO recommender_changes (kind, subject, object, changed_at)
        VALUES ('profile', r.user_id, NULL, stamp);
    ELSIF TG_TABLE_NAME = 'jam_members' THEN
        INSERT INTO recommender_changes (kind, subject, object, changed_at)
        VALUES ('jam_member', r.user_id, r.jam_id, stamp);
    ELSIF TG_TABLE_NAME = 'jam_ratings' THEN
        INSERT INTO recommender_changes (kind, subject, object, changed_at)
        VALUES ('rating', r.rater_id, r.ratee_id, stamp);
    ELSE
        INSERT INTO recommender_changes (kind, subject, object, changed_at)
        VALUES ('rtt', r.id, NULL, stamp);
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER profiles_recommender_log AFTER INSERT OR UPDATE OR DELETE ON profiles
    FOR EACH ROW EXECUTE FUNCTION recommender_log_change();
CREATE TRIGGER jam_members_recommender_log AFTER INSERT OR UPDATE OR DELETE ON jam_members
    FOR EACH ROW EXECUTE FUNCTION recommender_log_change();
CREATE TRIGGER jam_ratings_recommender_log AFTER INSERT OR UPDATE OR DELETE ON jam_ratings
    FOR EACH ROW EXECUTE FUNCTION recommender_log_change();
CREATE TRIGGER rtt_measurements_recommender_log AFTER INSERT ON rtt_measurements
    FOR EACH ROW EXECUTE FUNCTION recommender_log_change();

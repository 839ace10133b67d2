-- The change log the live recommender follows (src/recommendations/live.rs, shared follower
-- code in src/change_log.rs): every write to a table that feeds recommendations appends a row
-- here, in the writer's transaction, whoever writes (another server instance, an operator).
-- Kept in step with migrations/postgres/0201_recommender_changes.sql.
--   kind        subject       object
--   profile     user id       -
--   jam_member  user id       jam id
--   rating      rater id      ratee id
--   rtt         measurement   -          (inserts only: measurements are never edited)
-- Blocks are not logged: each request reads them from the database.

CREATE TABLE recommender_changes (
    seq        INTEGER PRIMARY KEY AUTOINCREMENT,
    kind       TEXT NOT NULL,
    subject    TEXT NOT NULL,
    object     TEXT,
    changed_at BIGINT NOT NULL              -- unix seconds, for pruning
);
CREATE INDEX recommender_changes_time ON recommender_changes (changed_at);

CREATE TRIGGER profiles_recommender_log_insert AFTER INSERT ON profiles BEGIN
    INSERT INTO recommender_changes (kind, subject, object, changed_at)
    VALUES ('profile', NEW.user_id, NULL, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER profiles_recommender_log_update AFTER UPDATE ON profiles BEGIN
    INSERT INTO recommender_changes (kind, subject, object, changed_at)
    VALUES ('profile', NEW.user_id, NULL, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER profiles_recommender_log_delete AFTER DELETE ON profiles BEGIN
    INSERT INTO recommender_changes (kind, subject, object, changed_at)
    VALUES ('profile', OLD.user_id, NULL, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER jam_members_recommender_log_insert AFTER INSERT ON jam_members BEGIN
    INSERT INTO recommender_changes (kind, subject, object, changed_at)
    VALUES ('jam_member', NEW.user_id, NEW.jam_id, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER jam_members_recommender_log_update AFTER UPDATE ON jam_members BEGIN
    INSERT INTO recommender_changes (kind, subject, object, changed_at)
    VALUES ('jam_member', NEW.user_id, NEW.jam_id, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER jam_members_recommender_log_delete AFTER DELETE ON jam_members BEGIN
    INSERT INTO recommender_changes (kind, subject, object, changed_at)
    VALUES ('jam_member', OLD.user_id, OLD.jam_id, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER jam_ratings_recommender_log_insert AFTER INSERT ON jam_ratings BEGIN
    INSERT INTO recommender_changes (kind, subject, object, changed_at)
    VALUES ('rating', NEW.rater_id, NEW.ratee_id, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER jam_ratings_recommender_log_update AFTER UPDATE ON jam_ratings BEGIN
    INSERT INTO recommender_changes (kind, subject, object, changed_at)
    VALUES ('rating', NEW.rater_id, NEW.ratee_id, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER jam_ratings_recommender_log_delete AFTER DELETE ON jam_ratings BEGIN
    INSERT INTO recommender_changes (kind, subject, object, changed_at)
    VALUES ('rating', OLD.rater_id, OLD.ratee_id, CAST(strftime('%s', 'now') AS INTEGER));
END;

CREATE TRIGGER rtt_measurements_recommender_log_insert AFTER INSERT ON rtt_measurements BEGIN
    INSERT INTO recommender_changes (kind, subject, object, changed_at)
    VALUES ('rtt', NEW.id, NULL, CAST(strftime('%s', 'now') AS INTEGER));
END;

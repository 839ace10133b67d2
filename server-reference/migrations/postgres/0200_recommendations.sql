-- Recommendation feedback: jams members played together (with attendance), post-jam ratings,
-- measured round-trip times per pair, and blocks. Kept in step with
-- migrations/sqlite/0200_recommendations.sql (same SQL).

CREATE TABLE jams (
    id         TEXT PRIMARY KEY,
    created_by TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    played_at  BIGINT NOT NULL,                 -- Unix seconds
    created_at BIGINT NOT NULL
);

CREATE TABLE jam_members (
    jam_id   TEXT NOT NULL REFERENCES jams (id) ON DELETE CASCADE,
    user_id  TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    attended BIGINT NOT NULL,                   -- 1 played, 0 agreed but did not show up
    PRIMARY KEY (jam_id, user_id)
);
CREATE INDEX jam_members_user ON jam_members (user_id);

-- One rating per rater, ratee and jam (1-5); a new rating replaces the old one.
CREATE TABLE jam_ratings (
    jam_id   TEXT NOT NULL REFERENCES jams (id) ON DELETE CASCADE,
    rater_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    ratee_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rating   BIGINT NOT NULL,
    PRIMARY KEY (jam_id, rater_id, ratee_id)
);

-- Every reported RTT; the recommender uses the median of each pair's latest reports.
-- user_a < user_b (ordered pair); networks are the reporters' own labels for their access.
CREATE TABLE rtt_measurements (
    id          TEXT PRIMARY KEY,
    user_a      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    user_b      TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    rtt_ms      DOUBLE PRECISION NOT NULL,
    network_a   TEXT,
    network_b   TEXT,
    measured_at BIGINT NOT NULL
);
CREATE INDEX rtt_measurements_pair ON rtt_measurements (user_a, user_b, measured_at);

CREATE TABLE blocks (
    blocker_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blocked_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (blocker_id, blocked_id)
);
CREATE INDEX blocks_blocked ON blocks (blocked_id);

-- Accounts, sessions, profiles and rooms. Kept in step with migrations/sqlite/0001_init.sql:
-- only types both backends read through sqlx's Any driver (TEXT, BIGINT, DOUBLE PRECISION).

CREATE TABLE server_settings (
    name  TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id            TEXT PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,         -- trimmed and lowercased
    password_hash TEXT NOT NULL,                -- argon2id PHC string
    role          TEXT NOT NULL,                -- member | curator | admin
    is_demo       BIGINT NOT NULL DEFAULT 0,
    created_at    BIGINT NOT NULL
);

-- One login = one session = one family of rotating refresh tokens.
CREATE TABLE sessions (
    id         TEXT PRIMARY KEY,
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash TEXT PRIMARY KEY,                -- SHA-256 of the token, hex
    session_id TEXT NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL,
    used_at    BIGINT                           -- set when rotated; presenting it again = reuse
);
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE profiles (
    user_id        TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    display_name   TEXT NOT NULL,
    bio            TEXT NOT NULL,
    city           TEXT,
    latitude       DOUBLE PRECISION,
    longitude      DOUBLE PRECISION,
    time_zone      TEXT,
    max_latency_ms BIGINT,
    avatar_url     TEXT,
    visibility     TEXT NOT NULL,               -- public | members_only | private
    instruments    TEXT NOT NULL,               -- JSON
    genres         TEXT NOT NULL,               -- JSON
    influences     TEXT NOT NULL,               -- JSON
    availability   TEXT NOT NULL,               -- JSON
    looking_for    TEXT NOT NULL,               -- JSON
    is_demo        BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
CREATE INDEX profiles_visibility ON profiles (visibility, display_name);

CREATE TABLE rooms (
    id          TEXT PRIMARY KEY,
    owner_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT NOT NULL,
    visibility  TEXT NOT NULL,                  -- public | private
    capacity    BIGINT NOT NULL,
    genre       TEXT,
    tempo_bpm   BIGINT,
    description TEXT NOT NULL,
    occupancy   BIGINT NOT NULL DEFAULT 0,      -- reported by the signalling relay
    is_demo     BIGINT NOT NULL DEFAULT 0,
    created_at  BIGINT NOT NULL,
    closed_at   BIGINT
);
CREATE INDEX rooms_live ON rooms (closed_at, created_at);
CREATE INDEX rooms_owner ON rooms (owner_id);

CREATE TABLE room_invites (
    token_hash TEXT PRIMARY KEY,                -- SHA-256 of the invite token, hex
    room_id    TEXT NOT NULL REFERENCES rooms (id) ON DELETE CASCADE,
    created_by TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at BIGINT NOT NULL
);
CREATE INDEX room_invites_room ON room_invites (room_id);

-- Venues: rehearsal rooms, recording studios, performance venues; their weekly opening hours;
-- members' favourites. Kept in step with migrations/sqlite/0100_venues.sql (same SQL).

CREATE TABLE venues (
    id             TEXT PRIMARY KEY,
    name           TEXT NOT NULL,
    kind           TEXT NOT NULL,               -- rehearsal_room | recording_studio | performance_venue
    street         TEXT,
    house_number   TEXT,
    postcode       TEXT,
    city           TEXT,
    country        TEXT,
    latitude       DOUBLE PRECISION NOT NULL,
    longitude      DOUBLE PRECISION NOT NULL,
    lat_band       BIGINT NOT NULL,             -- floor((latitude + 90) / 0.1): the grid index
    time_zone      TEXT,
    capacity       BIGINT,
    price_cents    BIGINT,                      -- hourly price in hundredths of currency
    currency       TEXT,
    equipment_mask BIGINT NOT NULL,             -- one bit per Equipment item
    opening_hours  TEXT,                        -- JSON {raw, weekly}
    phone          TEXT,
    email          TEXT,
    website        TEXT,
    photos         TEXT NOT NULL,               -- JSON
    tags           TEXT NOT NULL,               -- JSON object of unknown source tags
    search_text    TEXT NOT NULL,               -- lowercased name and address
    source_ref     TEXT UNIQUE,                 -- e.g. osm:node/123; re-imports update
    is_demo        BIGINT NOT NULL DEFAULT 0,
    created_at     BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL
);
-- The spatial index: search seeks each 0.1° latitude band in a longitude range; latitude and id
-- make it covering, so an unfiltered search never reads the table until the page is chosen.
CREATE INDEX venues_grid ON venues (lat_band, longitude, latitude, id);

-- Weekly opening spans as half-open minute-of-week ranges (0 = Monday 00:00, local time).
CREATE TABLE venue_hours (
    venue_id     TEXT NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    start_minute BIGINT NOT NULL,
    end_minute   BIGINT NOT NULL
);
CREATE INDEX venue_hours_venue ON venue_hours (venue_id, start_minute);

CREATE TABLE venue_favourites (
    user_id    TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    venue_id   TEXT NOT NULL REFERENCES venues (id) ON DELETE CASCADE,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, venue_id)
);
CREATE INDEX venue_favourites_venue ON venue_favourites (venue_id);

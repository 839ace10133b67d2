//! Clearly labelled synthetic demo data, loaded on first run when the database has no accounts
//! (turn off with `--demo-data false`). Every demo record has `demo: true`, a "(demo)" name and
//! a bio saying it is synthetic; demo accounts use `@demo.tutti.invalid` emails and cannot log in
//! (their password hash is a placeholder no password matches).
//!
//! Each kind of data has its own seeding function called from [`seed_if_empty`]; venues will add
//! theirs beside these.

use crate::AppState;
use crate::db::{new_id, unix_now};
use crate::error::ApiResult;
use crate::profiles::model::{
    AvailabilitySlot, Coordinates, Goal, Instrument, LookingFor, Weekday,
};
use crate::profiles::{self, ProfileData, Visibility};
use crate::rooms::{self, NewRoom, RoomVisibility};

/// The synthetic musicians: name, instrument, skill, genre, city, latitude, longitude, time zone.
type Musician = (
    &'static str,
    &'static str,
    u8,
    &'static str,
    &'static str,
    f64,
    f64,
    &'static str,
);

const MUSICIANS: [Musician; 10] = [
    (
        "Ada",
        "bass guitar",
        4,
        "funk",
        "Berlin",
        52.5,
        13.4,
        "Europe/Berlin",
    ),
    (
        "Bea",
        "drums",
        3,
        "jazz",
        "Hamburg",
        53.6,
        10.0,
        "Europe/Berlin",
    ),
    (
        "Cal",
        "piano",
        5,
        "jazz",
        "Amsterdam",
        52.4,
        4.9,
        "Europe/Amsterdam",
    ),
    (
        "Dev",
        "electric guitar",
        2,
        "rock",
        "Prague",
        50.1,
        14.4,
        "Europe/Prague",
    ),
    (
        "Eli",
        "vocals",
        3,
        "soul",
        "Vienna",
        48.2,
        16.4,
        "Europe/Vienna",
    ),
    (
        "Fay",
        "saxophone",
        4,
        "jazz",
        "Copenhagen",
        55.7,
        12.6,
        "Europe/Copenhagen",
    ),
    (
        "Gus",
        "drums",
        5,
        "rock",
        "Leipzig",
        51.3,
        12.4,
        "Europe/Berlin",
    ),
    (
        "Hana",
        "violin",
        4,
        "folk",
        "Munich",
        48.1,
        11.6,
        "Europe/Berlin",
    ),
    (
        "Ivo",
        "synthesizer",
        3,
        "electronic",
        "Warsaw",
        52.2,
        21.0,
        "Europe/Warsaw",
    ),
    (
        "Jun",
        "double bass",
        4,
        "jazz",
        "Zurich",
        47.4,
        8.5,
        "Europe/Zurich",
    ),
];

/// What a player of `instrument` looks for: the rhythm section and a harmony instrument, so a
/// new member's recommendations show complementary demo musicians first.
fn complements(instrument: &str) -> &'static [&'static str] {
    match instrument {
        "bass guitar" | "double bass" => &["drums", "piano", "guitar"],
        "drums" => &["bass", "guitar", "keys"],
        "piano" | "synthesizer" => &["bass", "drums", "vocals"],
        "electric guitar" => &["drums", "bass", "vocals"],
        "vocals" => &["guitar", "piano", "bass"],
        _ => &["guitar", "piano", "bass"],
    }
}

/// Seeds demo data if enabled and there are no accounts yet.
pub async fn seed_if_empty(state: &AppState) -> ApiResult<()> {
    let users: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
        .fetch_one(&state.db.pool)
        .await?;
    if users > 0 {
        return Ok(());
    }
    let musicians = seed_musicians(state).await?;
    seed_rooms(state, &musicians).await?;
    crate::venues::demo::load_if_empty(state).await?;
    tracing::info!(musicians = musicians.len(), "loaded synthetic demo data");
    Ok(())
}

/// Creates the demo accounts and their public profiles; returns their user ids.
async fn seed_musicians(state: &AppState) -> ApiResult<Vec<String>> {
    let mut ids = Vec::with_capacity(MUSICIANS.len());
    for (name, instrument, skill, genre, city, lat, lon, tz) in MUSICIANS {
        let id = new_id();
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, is_demo, created_at) \
             VALUES ($1, $2, '!demo-account-cannot-log-in', 'member', 1, $3)",
        )
        .bind(&id)
        .bind(format!("{}@demo.tutti.invalid", name.to_lowercase()))
        .bind(unix_now())
        .execute(&state.db.pool)
        .await?;
        let data = ProfileData {
            display_name: format!("{name} (demo)"),
            instruments: vec![Instrument {
                name: instrument.into(),
                skill,
                years_played: skill * 3,
            }],
            genres: vec![genre.into()],
            influences: vec!["(synthetic demo data)".into()],
            bio: format!(
                "Synthetic demo profile, not a real person: a {genre} {instrument} player."
            ),
            city: Some(city.into()),
            coordinates: Some(Coordinates {
                latitude: lat,
                longitude: lon,
            }),
            time_zone: Some(tz.into()),
            availability: [Weekday::Tue, Weekday::Thu, Weekday::Sat]
                .into_iter()
                .map(|day| AvailabilitySlot {
                    day,
                    start: "19:00".into(),
                    end: "22:00".into(),
                })
                .collect(),
            looking_for: LookingFor {
                instruments: complements(instrument)
                    .iter()
                    .map(|&w| w.to_owned())
                    .collect(),
                goals: vec![Goal::CasualJam],
            },
            max_latency_ms: Some(25),
            avatar_url: None,
            visibility: Visibility::Public,
        };
        profiles::insert(state, &id, data.validated()?, true).await?;
        ids.push(id);
    }
    Ok(ids)
}

/// Opens a few public demo rooms owned by demo musicians.
async fn seed_rooms(state: &AppState, owners: &[String]) -> ApiResult<()> {
    let rooms = [
        ("Demo: Thursday funk jam", "funk", 100),
        ("Demo: jazz standards", "jazz", 120),
        ("Demo: slow folk session", "folk", 80),
    ];
    for ((name, genre, bpm), owner) in rooms.into_iter().zip(owners) {
        let room = NewRoom {
            name: name.into(),
            visibility: RoomVisibility::Public,
            capacity: 5,
            genre: Some(genre.into()),
            tempo_bpm: Some(bpm),
            description: "Synthetic demo room.".into(),
        };
        rooms::insert(state, owner, &room, true).await?;
    }
    Ok(())
}

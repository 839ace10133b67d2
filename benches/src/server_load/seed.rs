//! Seeding for part (b): 100,000 synthetic venues and a few thousand public profiles, written
//! through the server library (`venues::storage::insert_many`, `profiles::insert`) straight into
//! the database before the server starts — far faster than the HTTP API (sign-up hashes a
//! password with argon2 per account) and the same rows. Seeding time is not measured.

use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde_json::json;
use tutti_server::profiles::{self, ProfileData};
use tutti_server::venues::generate::CITIES;
use tutti_server::venues::{storage, synthetic_venues};
use tutti_server::{AppState, Config};

/// Venues inserted per transaction (keeps memory and transaction size modest).
const VENUE_CHUNK: usize = 5_000;

/// Fills the database at `database_url` (which must hold no venues yet) with `venues` synthetic
/// venues and `profiles` public profiles (each with its account); returns the profiles' user ids.
pub async fn seed(
    database_url: &str,
    venues: usize,
    profiles: usize,
    seed: u64,
) -> Result<Vec<String>, String> {
    let mut config = Config::with_database(database_url);
    config.demo_data = false;
    let state = AppState::new(config).await.map_err(|e| e.to_string())?;
    let existing = storage::count(&state.db).await.map_err(|e| e.to_string())?;
    if existing != 0 {
        return Err(format!(
            "the database already holds {existing} venues; give an empty one"
        ));
    }
    let all = synthetic_venues(venues, seed);
    for chunk in all.chunks(VENUE_CHUNK) {
        storage::insert_many(&state.db, chunk, false)
            .await
            .map_err(|e| e.to_string())?;
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut ids = Vec::with_capacity(profiles);
    for i in 0..profiles {
        let id = tutti_server::db::new_id();
        // Accounts the load never logs in to: like the demo musicians, no usable password.
        sqlx::query(
            "INSERT INTO users (id, email, password_hash, role, created_at) \
             VALUES ($1, $2, '!server-load-account-cannot-log-in', 'member', $3)",
        )
        .bind(&id)
        .bind(format!("load-{i}@server-load.invalid"))
        .bind(tutti_server::db::unix_now())
        .execute(&state.db.pool)
        .await
        .map_err(|e| e.to_string())?;
        profiles::insert(&state, &id, profile(&mut rng, i)?, false)
            .await
            .map_err(|e| e.to_string())?;
        ids.push(id);
    }
    state.db.pool.close().await;
    Ok(ids)
}

/// A plausible public profile in one of the generator's cities.
fn profile(rng: &mut ChaCha8Rng, i: usize) -> Result<ProfileData, String> {
    const INSTRUMENTS: [&str; 6] = ["drums", "bass guitar", "guitar", "piano", "vocals", "sax"];
    const GENRES: [&str; 5] = ["jazz", "funk", "rock", "folk", "blues"];
    let city = CITIES[i % CITIES.len()];
    let skill: u8 = rng.random_range(1..=5);
    let data: ProfileData = serde_json::from_value(json!({
        "display_name": format!("Load musician {i}"),
        "instruments": [{
            "name": INSTRUMENTS[rng.random_range(0..INSTRUMENTS.len())],
            "skill": skill,
            "years_played": skill * 3,
        }],
        "genres": [GENRES[rng.random_range(0..GENRES.len())]],
        "influences": ["(synthetic load data)"],
        "bio": "Synthetic profile for the server-load benchmark, not a real person.",
        "city": city.name,
        "coordinates": {"latitude": city.center.latitude, "longitude": city.center.longitude},
        "time_zone": city.time_zone,
        "availability": [{"day": "thu", "start": "19:00", "end": "22:00"}],
        "looking_for": {"instruments": ["drums"], "goals": ["casual_jam"]},
        "max_latency_ms": 25,
        "visibility": "public",
    }))
    .map_err(|e| format!("profile {i}: {e}"))?;
    data.validated().map_err(|e| format!("profile {i}: {e}"))
}

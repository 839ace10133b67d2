//! Demo venues: a few hundred clearly synthetic venues (named "… (demo)" like the other demo
//! data, tagged `synthetic=yes`, flagged `demo: true`) around the cities of
//! [`super::generate::CITIES`]. [`crate::demo`] seeds them with the rest of the demo data; they
//! are loaded at most once, and only while no venues are stored.

use super::generate::synthetic_venues;
use super::storage;
use crate::AppState;
use crate::error::ApiResult;

/// How many demo venues are loaded.
pub const DEMO_VENUES: usize = 320;
/// Seed of the demo set (fixed, so every fresh server shows the same demo).
const DEMO_SEED: u64 = 0x7u64 << 32 | 2026;
/// Setting recording that the demo venues were loaded once (deleting them keeps them deleted).
const LOADED_SETTING: &str = "demo_venues_loaded";

/// Loads the demo venues unless they were loaded before or venues exist already.
pub async fn load_if_empty(state: &AppState) -> ApiResult<()> {
    let db = &state.db;
    if db.setting(LOADED_SETTING).await?.is_some() || storage::count(db).await? > 0 {
        return Ok(());
    }
    let venues = synthetic_venues(DEMO_VENUES, DEMO_SEED)
        .into_iter()
        .map(|mut v| {
            v.name = format!("{} (demo)", v.name.trim_start_matches("Synthetic "));
            v
        })
        .collect::<Vec<_>>();
    storage::insert_many(db, &venues, true).await?;
    db.setting_or_insert(LOADED_SETTING, "1").await?;
    tracing::info!(venues = venues.len(), "loaded synthetic demo venues");
    Ok(())
}

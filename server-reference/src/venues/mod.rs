//! Venues: rehearsal rooms, recording studios and performance venues — the model, imports from
//! CSV and OpenStreetMap-style GeoJSON, export as JSON, indexed search by area, filters and
//! text, curator management and members' favourites.
//!
//! Layout: [`model`] (what a venue is), [`hours`] (weekly opening hours, OSM subset),
//! [`geo`] (distance, bounding boxes, grid bands), [`storage`] (rows), [`index`] (the in-memory
//! search grid and the change log that keeps it current), [`search`],
//! [`import`] with [`import_csv`] and [`import_geojson`], [`generate`] (seeded synthetic
//! venues for demo, tests and benches), [`demo`], [`routes`] and [`favourites`] (HTTP).

pub mod demo;
pub mod favourites;
pub mod generate;
pub mod geo;
pub mod hours;
pub mod import;
pub mod import_csv;
pub mod import_geojson;
pub mod index;
pub mod model;
pub mod routes;
pub mod search;
pub mod storage;

use utoipa_axum::router::OpenApiRouter;

use crate::AppState;
pub use generate::synthetic_venues;
pub use model::{Equipment, Venue, VenueData, VenueKind};

/// Every venue route: `/api/v1/venues…` and `/api/v1/me/favourite-venues…`.
pub fn routes() -> OpenApiRouter<AppState> {
    routes::routes().merge(favourites::routes())
}

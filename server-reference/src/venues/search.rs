//! Venue search: a radius around a point or a bounding box, filters, text match, sorted by
//! distance, paginated.
//!
//! [`SearchQuery::plan`] validates the query string into a [`Search`]; [`run`] answers it in two
//! steps:
//! 1. **Matches** — the in-memory grid ([`super::index`]) visits the 0.1° latitude bands of the
//!    area's bounding box in its longitude range, applies every filter (kind, capacity, price and
//!    currency, equipment, open-at, text), measures the haversine distance, drops what lies
//!    outside the radius and sorts by `(distance, id)`.
//! 2. **Page** — only the venues of the requested page are read from the database, in full.
//!
//! Sorting needs every match, so an area may hold at most [`MAX_CANDIDATES`] matches after the
//! filters; a larger one is refused with a 400 that says to narrow the search.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::geo::{BBox, Point};
use super::hours::{minute_of_week, parse_hhmm};
use super::index::VenueIndex;
use super::model::{Equipment, MAX_PRICE, Venue, VenueKind, cents, currency_code};
use super::storage;
use crate::db::Db;
use crate::error::{ApiError, ApiResult};
use crate::profiles::model::Weekday;
use crate::validate::{MAX_PAGE, Page, check_len, check_range};

/// Largest search radius, in metres.
pub const MAX_RADIUS_M: f64 = 200_000.0;
/// Most latitude bands (0.1° each) one search may span: a box up to 6° tall.
pub const MAX_BANDS: usize = 60;
/// Most venues an area may hold (after SQL filters) before the search is refused.
pub const MAX_CANDIDATES: usize = 50_000;
/// Default page size.
pub const DEFAULT_LIMIT: u32 = 20;

/// The query string of `GET /api/v1/venues`. Give either `lat`, `lon` and `radius_m`, or the four
/// `min_*`/`max_*` box edges (then `lat`/`lon`, if given, is where distances are measured from;
/// by default the box's centre). A box with `min_lon > max_lon` crosses the antimeridian.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct SearchQuery {
    /// Latitude of the centre (radius search) or of the distance origin (box search).
    pub lat: Option<f64>,
    /// Longitude of the centre or origin.
    pub lon: Option<f64>,
    /// Radius in metres, up to 200,000.
    pub radius_m: Option<f64>,
    /// Box: southern edge.
    pub min_lat: Option<f64>,
    /// Box: western edge.
    pub min_lon: Option<f64>,
    /// Box: northern edge (at most 6° above `min_lat`).
    pub max_lat: Option<f64>,
    /// Box: eastern edge.
    pub max_lon: Option<f64>,
    /// Comma-separated kinds, any of which matches (e.g. `rehearsal_room,recording_studio`).
    pub kind: Option<String>,
    /// Capacity at least this (venues without a capacity do not match).
    pub min_capacity: Option<u32>,
    /// Hourly price at most this, in `currency` (required with it; unpriced venues do not match).
    pub max_price: Option<f64>,
    /// ISO 4217 code: only venues priced in this currency.
    pub currency: Option<String>,
    /// Comma-separated equipment the venue must all have (e.g. `drum_kit,pa_system`).
    pub equipment: Option<String>,
    /// Open on this day (with `open_time`), in each venue's local time.
    pub open_day: Option<Weekday>,
    /// Open at this time `HH:MM` (with `open_day`); venues with unknown hours do not match.
    pub open_time: Option<String>,
    /// Text that the name or address must contain (case-insensitive), 1–100 characters.
    pub q: Option<String>,
    /// Results per page, 1–100 (default 20).
    pub limit: Option<u32>,
    /// Results to skip (default 0).
    pub offset: Option<u32>,
}

/// The area searched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Area {
    /// Within `radius_m` of `center`.
    Radius {
        /// Centre.
        center: Point,
        /// Radius in metres.
        radius_m: f64,
    },
    /// Inside a box.
    Box(BBox),
}

impl Area {
    /// The area's bounding box (a radius's is exact on the sphere, see [`BBox::around`]).
    pub fn bbox(&self) -> BBox {
        match *self {
            Self::Radius { center, radius_m } => BBox::around(center, radius_m),
            Self::Box(bbox) => bbox,
        }
    }
}

/// A validated search.
#[derive(Debug, Clone, PartialEq)]
pub struct Search {
    /// Where to look.
    pub area: Area,
    /// Where distances are measured from.
    pub origin: Point,
    /// Kinds that match (empty: all).
    pub kinds: Vec<VenueKind>,
    /// Minimum capacity.
    pub min_capacity: Option<u32>,
    /// Maximum hourly price in hundredths.
    pub max_price_cents: Option<i64>,
    /// Required currency.
    pub currency: Option<String>,
    /// Required equipment bits.
    pub equipment_mask: i64,
    /// Minute of the week (local time) the venue must be open at.
    pub open_at: Option<i64>,
    /// Lowercased text the name or address must contain.
    pub text: Option<String>,
    /// Page size.
    pub limit: usize,
    /// Results skipped.
    pub offset: usize,
}

fn list<T>(
    field: &str,
    text: Option<&str>,
    parse: impl Fn(&str) -> Option<T>,
) -> ApiResult<Vec<T>> {
    text.map_or(Ok(Vec::new()), |t| {
        t.split(',')
            .map(|item| {
                parse(item).ok_or_else(|| {
                    ApiError::BadRequest(format!("`{field}`: unknown value {:?}", item.trim()))
                })
            })
            .collect()
    })
}

fn point(field: &str, lat: f64, lon: f64) -> ApiResult<Point> {
    let p = Point {
        latitude: lat,
        longitude: lon,
    };
    if !p.is_valid() {
        return Err(ApiError::BadRequest(format!(
            "`{field}` must be latitude -90..90 and longitude -180..180"
        )));
    }
    Ok(p)
}

impl SearchQuery {
    /// Checks the query and turns it into a [`Search`].
    pub fn plan(self) -> ApiResult<Search> {
        let origin = match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => Some(point("lat/lon", lat, lon)?),
            (None, None) => None,
            _ => {
                return Err(ApiError::BadRequest(
                    "give both `lat` and `lon`, or neither".into(),
                ));
            }
        };
        let edges = (self.min_lat, self.min_lon, self.max_lat, self.max_lon);
        let (area, origin) = match (self.radius_m, origin, edges) {
            (Some(radius_m), Some(center), (None, None, None, None)) => {
                if !radius_m.is_finite() {
                    return Err(ApiError::BadRequest("`radius_m` must be a number".into()));
                }
                check_range("radius_m", radius_m, 1.0, MAX_RADIUS_M)?;
                (Area::Radius { center, radius_m }, center)
            }
            (None, origin, (Some(min_lat), Some(min_lon), Some(max_lat), Some(max_lon))) => {
                let (sw, ne) = (
                    point("min_lat/min_lon", min_lat, min_lon)?,
                    point("max_lat/max_lon", max_lat, max_lon)?,
                );
                if sw.latitude > ne.latitude {
                    return Err(ApiError::BadRequest(
                        "`min_lat` must not exceed `max_lat`".into(),
                    ));
                }
                let bbox = BBox {
                    min_lat: sw.latitude,
                    max_lat: ne.latitude,
                    min_lon: sw.longitude,
                    max_lon: ne.longitude,
                };
                (Area::Box(bbox), origin.unwrap_or_else(|| bbox.center()))
            }
            _ => {
                return Err(ApiError::BadRequest(
                    "search needs either `lat`, `lon` and `radius_m`, or `min_lat`, `min_lon`, \
                     `max_lat` and `max_lon`"
                        .into(),
                ));
            }
        };
        if area.bbox().bands().count() > MAX_BANDS {
            return Err(ApiError::BadRequest(format!(
                "the search area may span at most {:.0}° of latitude",
                MAX_BANDS as f64 * super::geo::BAND_DEG
            )));
        }
        let currency = self
            .currency
            .as_deref()
            .map(|c| currency_code("currency", c))
            .transpose()?;
        let max_price_cents = match (self.max_price, &currency) {
            (Some(p), Some(_)) if p.is_finite() => {
                check_range("max_price", p, 0.0, MAX_PRICE)?;
                Some(cents(p))
            }
            (Some(_), Some(_)) => {
                return Err(ApiError::BadRequest("`max_price` must be a number".into()));
            }
            (Some(_), None) => {
                return Err(ApiError::BadRequest(
                    "`max_price` needs a `currency` (prices are not converted)".into(),
                ));
            }
            (None, _) => None,
        };
        let open_at = match (self.open_day, self.open_time.as_deref()) {
            (Some(day), Some(time)) => {
                let minute = parse_hhmm(time.trim(), 24 * 60 - 1)
                    .map_err(|e| ApiError::BadRequest(format!("`open_time`: {e}")))?;
                Some(minute_of_week(day, minute))
            }
            (None, None) => None,
            _ => {
                return Err(ApiError::BadRequest(
                    "give both `open_day` and `open_time`, or neither".into(),
                ));
            }
        };
        let text = match self.q.as_deref().map(str::trim) {
            Some(q) => {
                check_len("q", q, 1, 100)?;
                Some(q.to_lowercase())
            }
            None => None,
        };
        let (limit, offset) = Page {
            limit: Some(self.limit.unwrap_or(DEFAULT_LIMIT)),
            offset: self.offset,
        }
        .bounds()?;
        debug_assert!(limit <= i64::from(MAX_PAGE));
        Ok(Search {
            area,
            origin,
            kinds: list("kind", self.kind.as_deref(), VenueKind::parse)?,
            min_capacity: self.min_capacity,
            max_price_cents,
            currency,
            equipment_mask: Equipment::mask(&list(
                "equipment",
                self.equipment.as_deref(),
                Equipment::parse,
            )?),
            open_at,
            text,
            limit: usize::try_from(limit).unwrap_or(usize::MAX),
            offset: usize::try_from(offset).unwrap_or(usize::MAX),
        })
    }
}

/// One result: a venue and its distance from the search origin.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct VenueHit {
    /// Great-circle distance from the origin, in metres.
    pub distance_m: f64,
    /// The venue.
    #[serde(flatten)]
    pub venue: Venue,
}

/// A page of results.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SearchPage {
    /// Matches in total, over all pages.
    pub total: u64,
    /// The offset of this page.
    pub offset: u64,
    /// The offset of the next page, if there is one.
    pub next_offset: Option<u64>,
    /// This page's venues, nearest first (ties by id).
    pub results: Vec<VenueHit>,
}

/// Runs `search`: one page of venues nearest the origin. The index is synced first, so the
/// page reflects every write committed before the request.
pub async fn run(db: &Db, index: &VenueIndex, search: &Search) -> ApiResult<SearchPage> {
    index.sync(db).await?;
    let hits = index.search(search)?;
    let ids = hits
        .page
        .iter()
        .map(|(_, id)| id.clone())
        .collect::<Vec<_>>();
    // A venue deleted between the index read and this one is left out of the page.
    let mut venues: HashMap<String, Venue> = storage::get_many(db, &ids)
        .await?
        .into_iter()
        .map(|v| (v.id.clone(), v))
        .collect();
    let results = hits
        .page
        .into_iter()
        .filter_map(|(distance_m, id)| {
            venues
                .remove(&id)
                .map(|venue| VenueHit { distance_m, venue })
        })
        .collect::<Vec<_>>();
    let end = search.offset.saturating_add(hits.page_len);
    Ok(SearchPage {
        total: hits.total as u64,
        offset: search.offset as u64,
        next_offset: (end < hits.total).then_some(end as u64),
        results,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plans_validate_the_query() {
        let radius = || SearchQuery {
            lat: Some(52.5),
            lon: Some(13.4),
            radius_m: Some(5_000.0),
            ..SearchQuery::default()
        };
        let ok = radius().plan().expect("valid");
        assert_eq!((ok.limit, ok.offset), (20, 0));
        for bad in [
            SearchQuery {
                radius_m: Some(MAX_RADIUS_M * 2.0),
                ..radius()
            },
            SearchQuery {
                lon: None,
                ..radius()
            },
            SearchQuery {
                max_price: Some(10.0),
                ..radius()
            },
            SearchQuery {
                kind: Some("castle".into()),
                ..radius()
            },
            SearchQuery {
                open_day: Some(Weekday::Fri),
                ..radius()
            },
            SearchQuery {
                limit: Some(1000),
                ..radius()
            },
            SearchQuery {
                min_lat: Some(40.0),
                min_lon: Some(0.0),
                max_lat: Some(50.0),
                max_lon: Some(1.0),
                ..SearchQuery::default()
            },
        ] {
            assert!(bad.plan().is_err());
        }
    }
}

//! The recommendation endpoints (`/api/v1/recommendations/…`) and the feedback that feeds them
//! (`/api/v1/jams…`, `/api/v1/measurements/rtt`, `/api/v1/blocks/{user_id}`).
//!
//! Every endpoint needs an access token and a profile of the caller's own. The scoring is the
//! pure [`crate::recommend`] library over the in-memory [`live::LiveRecommender`]; a request
//! first applies the change log (other instances' and hand-made writes, usually none), then reads
//! the index under a read lock on a blocking thread, never the profiles table. Private
//! profiles are never recommended (they are hidden in the index), blocks exclude both ways, and
//! a recommendation shows only a member's display name, instruments, city and the score — never
//! coordinates, bio or contact details.

mod changes;
pub mod feedback;
pub mod live;

use std::collections::HashSet;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::accounts::AuthUser;
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::Query;
use crate::profiles::model::Instrument;
use crate::recommend::lineup::MAX_NEEDS;
use crate::recommend::{
    LatencySource, MemberId, Mode, Query as RecQuery, Recommendation, venues as rank,
};
use crate::venues::search::{Area, Search};
use crate::venues::{Equipment, Venue, VenueKind};
use live::Population;

/// Routes under `/api/v1/recommendations`, plus the feedback routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(musicians))
        .routes(routes!(lineup))
        .routes(routes!(venues))
        .merge(feedback::routes())
}

/// Most results per request.
pub const MAX_LIMIT: u32 = 100;
/// Default results per request.
pub const DEFAULT_LIMIT: u32 = 10;

/// Online (latency decides) or in person (distance decides).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum JamMode {
    /// Over the network.
    #[default]
    Online,
    /// In the same room.
    InPerson,
}

impl From<JamMode> for Mode {
    fn from(m: JamMode) -> Self {
        match m {
            JamMode::Online => Mode::Online,
            JamMode::InPerson => Mode::InPerson,
        }
    }
}

/// Query of `GET /api/v1/recommendations/musicians`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct MusiciansQuery {
    /// `online` (default) or `in_person`.
    pub mode: Option<JamMode>,
    /// Results, 1–100 (default 10).
    pub limit: Option<u32>,
    /// In person: the farthest a partner may live, 1–500 km (default 50).
    pub max_travel_km: Option<f64>,
}

/// One factor of a score.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct FactorItem {
    /// `instruments`, `genres`, `influences`, `bio`, `skill`, `availability`, `goals`,
    /// `latency` (online) or `distance` (in person), `co_jam`, `reliability`.
    pub factor: String,
    /// The factor's value, 0..1.
    pub value: f64,
    /// Its weight in the total.
    pub weight: f64,
    /// What it rests on, in words, when there is something to say.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
}

/// An estimated one-way latency.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LatencyItem {
    /// Best estimate, ms.
    pub one_way_ms: f64,
    /// Lower end of the uncertainty, ms.
    pub low_ms: f64,
    /// Upper end, ms.
    pub high_ms: f64,
    /// `measured_pair`, `measured_networks` or `distance`.
    pub source: String,
}

/// An instrument as recommendations show it.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct InstrumentItem {
    /// Name.
    pub name: String,
    /// Skill 1–5.
    pub skill: u8,
    /// Years played.
    pub years: u8,
}

/// One recommended musician.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MusicianItem {
    /// The user id (`/api/v1/profiles/{user_id}`).
    pub profile_id: String,
    /// Display name.
    pub display_name: String,
    /// Instruments played.
    pub instruments: Vec<InstrumentItem>,
    /// City, if given.
    pub city: Option<String>,
    /// Total score, 0..1.
    pub score: f64,
    /// One line: why.
    pub reason: String,
    /// Every factor.
    pub factors: Vec<FactorItem>,
    /// Online: the latency estimate.
    pub latency: Option<LatencyItem>,
    /// Distance between the coarse locations, km (whole km), when both are known.
    pub distance_km: Option<f64>,
}

/// Response of `GET /api/v1/recommendations/musicians`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct MusiciansResponse {
    /// The mode asked for.
    pub mode: JamMode,
    /// Best first.
    pub items: Vec<MusicianItem>,
}

fn item(pop: &Population, r: &Recommendation) -> Option<MusicianItem> {
    let l = pop.listing(r.member)?;
    let instrument = |i: &Instrument| InstrumentItem {
        name: i.name.clone(),
        skill: i.skill,
        years: i.years_played,
    };
    Some(MusicianItem {
        profile_id: l.user_id.clone(),
        display_name: l.display_name.clone(),
        instruments: l.instruments.iter().map(instrument).collect(),
        city: l.city.clone(),
        score: r.score,
        reason: r.reason.clone(),
        factors: r
            .breakdown
            .iter()
            .map(|f| FactorItem {
                factor: f.factor.name().to_owned(),
                value: f.value,
                weight: f.weight,
                detail: f.note.clone(),
            })
            .collect(),
        latency: r.latency.map(|e| LatencyItem {
            one_way_ms: e.one_way_ms,
            low_ms: (e.one_way_ms - e.uncertainty_ms).max(0.0),
            high_ms: e.one_way_ms + e.uncertainty_ms,
            source: match e.source {
                LatencySource::MeasuredPair => "measured_pair",
                LatencySource::MeasuredNetworks => "measured_networks",
                LatencySource::Distance => "distance",
            }
            .to_owned(),
        }),
        distance_km: r.distance_km.map(f64::round),
    })
}

fn limit(limit: Option<u32>) -> ApiResult<usize> {
    let n = limit.unwrap_or(DEFAULT_LIMIT);
    crate::validate::check_range("limit", n, 1, MAX_LIMIT)?;
    Ok(n as usize)
}

/// The recommender query for `user`: the mode, and everyone blocked either way excluded.
async fn query_for(
    state: &AppState,
    user: &AuthUser,
    mode: JamMode,
    limit: usize,
    max_travel_km: Option<f64>,
) -> ApiResult<RecQuery> {
    let mut q = RecQuery::new(mode.into(), limit);
    if let Some(km) = max_travel_km {
        if !km.is_finite() {
            return Err(ApiError::BadRequest(
                "`max_travel_km` must be a number".into(),
            ));
        }
        crate::validate::check_range("max_travel_km", km, 1.0, 500.0)?;
        q.max_travel_km = km;
    }
    state.recommender.sync(&state.db).await?;
    let blocked = feedback::blocked_either_way(&state.db, &user.id).await?;
    let pop = state.recommender.read();
    q.exclude = blocked.iter().filter_map(|u| pop.member(u)).collect();
    Ok(q)
}

/// The caller's member number; 404 when they have no profile yet.
fn seeker(pop: &Population, user: &AuthUser) -> ApiResult<MemberId> {
    pop.member(&user.id)
        .ok_or(ApiError::NotFound("your profile"))
}

/// Runs `f` over the population on a blocking thread (scoring is CPU work).
async fn with_population<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&Population) -> ApiResult<T> + Send + 'static,
) -> ApiResult<T> {
    let live = state.recommender.clone();
    tokio::task::spawn_blocking(move || f(&live.read()))
        .await
        .map_err(|e| ApiError::Internal(format!("recommendation task failed: {e}")))?
}

/// Musicians to jam with, best first, each with the score's breakdown and a reason.
#[utoipa::path(get, path = "/api/v1/recommendations/musicians", tag = "recommendations",
    security(("bearer" = [])), params(MusiciansQuery),
    responses((status = 200, body = MusiciansResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn musicians(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<MusiciansQuery>,
) -> ApiResult<axum::Json<MusiciansResponse>> {
    let mode = params.mode.unwrap_or_default();
    let q = query_for(
        &state,
        &user,
        mode,
        limit(params.limit)?,
        params.max_travel_km,
    )
    .await?;
    let items = with_population(&state, move |pop| {
        let s = seeker(pop, &user)?;
        let top = pop
            .rec
            .recommend(s, &q)
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        Ok(top.iter().filter_map(|r| item(pop, r)).collect())
    })
    .await?;
    Ok(axum::Json(MusiciansResponse { mode, items }))
}

/// Query of `GET /api/v1/recommendations/lineup`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct LineupQuery {
    /// Comma-separated instruments to fill, 1–6 (e.g. `drums,bass`).
    pub need: String,
    /// `online` (default) or `in_person`.
    pub mode: Option<JamMode>,
    /// In person: the farthest anyone may live from anyone, 1–500 km (default 50).
    pub max_travel_km: Option<f64>,
}

/// One position of a line-up.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LineupMember {
    /// The instrument asked for.
    pub instrument: String,
    /// Who plays it, scored from the caller's side.
    pub musician: MusicianItem,
}

/// Response of `GET /api/v1/recommendations/lineup`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct LineupResponse {
    /// The mode asked for.
    pub mode: JamMode,
    /// The instruments asked for, in order.
    pub need: Vec<String>,
    /// One per need, in order; empty when no feasible set exists.
    pub members: Vec<LineupMember>,
    /// Mean pairwise compatibility over every pair, the caller included (0 when empty).
    pub score: f64,
    /// Online: the largest estimated one-way latency between any two in the line-up.
    pub max_pair_latency_ms: Option<f64>,
    /// Why `members` is empty.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// The best jointly compatible set of musicians for the needed instruments: online, every
/// pair (the caller included) within the latency budget.
#[utoipa::path(get, path = "/api/v1/recommendations/lineup", tag = "recommendations",
    security(("bearer" = [])), params(LineupQuery),
    responses((status = 200, body = LineupResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn lineup(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<LineupQuery>,
) -> ApiResult<axum::Json<LineupResponse>> {
    let need: Vec<String> = params
        .need
        .split(',')
        .map(|n| n.trim().to_owned())
        .collect();
    if need.is_empty() || need.len() > MAX_NEEDS || need.iter().any(|n| n.is_empty()) {
        return Err(ApiError::BadRequest(format!(
            "`need` must list 1 to {MAX_NEEDS} instruments, comma-separated"
        )));
    }
    for n in &need {
        crate::validate::check_len("need", n, 1, 40)?;
    }
    let mode = params.mode.unwrap_or_default();
    let q = query_for(&state, &user, mode, 1, params.max_travel_km).await?;
    let response = with_population(&state, move |pop| {
        let s = seeker(pop, &user)?;
        let needs: Vec<&str> = need.iter().map(String::as_str).collect();
        let found = pop
            .rec
            .complete_lineup(s, &needs, &q)
            .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        let Some(found) = found else {
            return Ok(LineupResponse {
                mode,
                need: need.clone(),
                members: Vec::new(),
                score: 0.0,
                max_pair_latency_ms: None,
                message: Some(
                    "no set of available musicians fits: every pair must be within reach of \
                     each other"
                        .into(),
                ),
            });
        };
        let mut members = Vec::new();
        for (instrument, m) in &found.members {
            let r = pop
                .rec
                .score(s, *m, &q)
                .map_err(|e| ApiError::Internal(e.to_string()))?
                .ok_or_else(|| ApiError::Internal("line-up member not feasible".into()))?;
            if let Some(musician) = item(pop, &r) {
                members.push(LineupMember {
                    instrument: instrument.clone(),
                    musician,
                });
            }
        }
        let everyone: Vec<MemberId> = std::iter::once(s)
            .chain(found.members.iter().map(|m| m.1))
            .collect();
        let mut max_latency: Option<f64> = None;
        if mode == JamMode::Online {
            for (i, &a) in everyone.iter().enumerate() {
                for &b in &everyone[i + 1..] {
                    let e = pop
                        .rec
                        .score(a, b, &q)
                        .ok()
                        .flatten()
                        .and_then(|r| r.latency);
                    if let Some(e) = e {
                        max_latency =
                            Some(max_latency.map_or(e.one_way_ms, |m| m.max(e.one_way_ms)));
                    }
                }
            }
        }
        Ok(LineupResponse {
            mode,
            need: need.clone(),
            members,
            score: found.score,
            max_pair_latency_ms: max_latency,
            message: None,
        })
    })
    .await?;
    Ok(axum::Json(response))
}

/// Query of `GET /api/v1/recommendations/venues`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct VenuesQuery {
    /// Comma-separated profile ids of the group (the caller is always included), 1–20.
    pub members: String,
    /// Results, 1–100 (default 10).
    pub limit: Option<u32>,
}

/// One ranked room.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VenueItem {
    /// The venue, as `/api/v1/venues/{id}` returns it.
    pub venue: Venue,
    /// Total score, 0..1.
    pub score: f64,
    /// Sum of the members' straight-line distances, km.
    pub total_travel_km: f64,
    /// One line: why.
    pub reason: String,
}

/// Response of `GET /api/v1/recommendations/venues`.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct VenuesResponse {
    /// Best first.
    pub items: Vec<VenueItem>,
}

/// Most members in one venue request.
pub const MAX_GROUP: usize = 20;
/// Rooms are looked for within this distance of the group's centre, metres.
pub const VENUE_RADIUS_M: f64 = 50_000.0;

/// Rehearsal rooms and studios for a group, ranked by total travel, the equipment their
/// instruments need, price and capacity.
#[utoipa::path(get, path = "/api/v1/recommendations/venues", tag = "recommendations",
    security(("bearer" = [])), params(VenuesQuery),
    responses((status = 200, body = VenuesResponse), (status = 400, body = ErrorBody),
              (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn venues(
    State(state): State<AppState>,
    user: AuthUser,
    Query(params): Query<VenuesQuery>,
) -> ApiResult<axum::Json<VenuesResponse>> {
    let limit = limit(params.limit)?;
    let mut ids: Vec<String> = params
        .members
        .split(',')
        .map(|m| m.trim().to_owned())
        .filter(|m| !m.is_empty())
        .collect();
    ids.insert(0, user.id.clone());
    let mut seen = HashSet::new();
    ids.retain(|id| seen.insert(id.clone()));
    if ids.len() > MAX_GROUP {
        return Err(ApiError::BadRequest(format!(
            "`members` may list at most {MAX_GROUP} profiles"
        )));
    }
    state.recommender.sync(&state.db).await?;
    let blocked = feedback::blocked_either_way(&state.db, &user.id).await?;
    let group: Vec<rank::GroupMember> = {
        let pop = state.recommender.read();
        let me = seeker(&pop, &user)?;
        let mut group = Vec::new();
        for id in &ids {
            // Unknown, private (hidden) or blocked members are refused alike.
            let m = pop
                .member(id)
                .and_then(|m| pop.rec.member(m))
                .filter(|c| c.id == me || (!c.hidden && !blocked.contains(id)))
                .ok_or_else(|| ApiError::BadRequest(format!("unknown member {id:?}")))?;
            group.push(rank::GroupMember {
                location: m.location,
                instruments: m.instruments.iter().map(|i| i.name.clone()).collect(),
            });
        }
        group
    };
    let located: Vec<_> = group.iter().filter_map(|m| m.location).collect();
    if located.is_empty() {
        return Err(ApiError::BadRequest(
            "nobody in the group has a location".into(),
        ));
    }
    let n = located.len() as f64;
    let center = crate::venues::geo::Point {
        latitude: located.iter().map(|p| p.lat).sum::<f64>() / n,
        longitude: located.iter().map(|p| p.lon).sum::<f64>() / n,
    };
    let search = Search {
        area: Area::Radius {
            center,
            radius_m: VENUE_RADIUS_M,
        },
        origin: center,
        kinds: vec![VenueKind::RehearsalRoom, VenueKind::RecordingStudio],
        min_capacity: None,
        max_price_cents: None,
        currency: None,
        equipment_mask: 0,
        open_at: None,
        text: None,
        limit: MAX_LIMIT as usize,
        offset: 0,
    };
    let hits = crate::venues::search::run(&state.db, &state.venues, &search)
        .await?
        .results;
    let candidates: Vec<rank::Venue> = hits
        .iter()
        .enumerate()
        .map(|(i, h)| rank::Venue {
            id: i as u64,
            name: h.venue.data.name.clone(),
            location: Some(crate::recommend::GeoPoint {
                lat: h.venue.data.coordinates.latitude,
                lon: h.venue.data.coordinates.longitude,
            }),
            capacity: h.venue.data.capacity,
            hourly_price: h.venue.data.hourly_price.as_ref().map(|p| p.amount),
            equipment: h
                .venue
                .data
                .equipment
                .iter()
                .map(|e: &Equipment| e.as_str().replace('_', " "))
                .collect(),
        })
        .collect();
    let ranked = rank::rank_venues(&group, &candidates, limit);
    let items = ranked
        .into_iter()
        .filter_map(|r| {
            let hit = hits.get(usize::try_from(r.id).ok()?)?;
            Some(VenueItem {
                venue: hit.venue.clone(),
                score: r.score,
                total_travel_km: r.total_travel_km,
                reason: r.reason,
            })
        })
        .collect();
    Ok(axum::Json(VenuesResponse { items }))
}

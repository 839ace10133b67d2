//! Feedback that feeds the next recommendations: jams members played together (with who did
//! not show up), post-jam ratings, measured round-trip times per pair, and blocks.
//!
//! Each write goes to the database first, then updates the live index for exactly the pairs and
//! members it touched, recomputed from the stored rows (so the live numbers equal what a full
//! reload computes).

use std::collections::HashSet;

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use sqlx::Row;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use super::live::{LiveRecommender, RTT_WINDOW, UNRATED, median};
use crate::AppState;
use crate::accounts::AuthUser;
use crate::db::{Db, new_id, unix_now};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::http::{Json, Path};
use crate::validate::{check_len, check_range};

/// Feedback routes.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(create_jam))
        .routes(routes!(rate))
        .routes(routes!(report_rtt))
        .routes(routes!(block, unblock))
}

/// Most other members in one jam record.
pub const MAX_JAM_MEMBERS: usize = 19;
/// Largest accepted round-trip time, ms.
pub const MAX_RTT_MS: f64 = 5_000.0;

/// Body of `POST /api/v1/jams`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewJam {
    /// Profile ids of the others who played (the caller is always a member), 1–19.
    pub members: Vec<String>,
    /// Profile ids of members who agreed but did not show up.
    #[serde(default)]
    pub no_shows: Vec<String>,
    /// When it was played, Unix seconds (default: now).
    pub played_at: Option<i64>,
}

/// A recorded jam.
#[derive(Debug, Serialize, Deserialize, ToSchema)]
pub struct Jam {
    /// Jam id.
    pub id: String,
    /// Who played, the recorder first.
    pub members: Vec<String>,
    /// Who did not show up.
    pub no_shows: Vec<String>,
    /// When, Unix seconds.
    pub played_at: i64,
}

async fn user_exists(db: &Db, id: &str) -> ApiResult<bool> {
    let n: Option<String> = sqlx::query_scalar("SELECT id FROM users WHERE id = $1")
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    Ok(n.is_some())
}

/// Record that you played with other members.
#[utoipa::path(post, path = "/api/v1/jams", tag = "recommendations", security(("bearer" = [])),
    request_body = NewJam,
    responses((status = 201, body = Jam), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn create_jam(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<NewJam>,
) -> ApiResult<(StatusCode, axum::Json<Jam>)> {
    let mut seen = HashSet::from([user.id.clone()]);
    let mut members = vec![user.id.clone()];
    let mut no_shows = Vec::new();
    for (list, out) in [
        (&body.members, &mut members),
        (&body.no_shows, &mut no_shows),
    ] {
        for id in list {
            if !seen.insert(id.clone()) {
                return Err(ApiError::BadRequest(format!(
                    "member {id:?} is listed twice (or is you)"
                )));
            }
            if !user_exists(&state.db, id).await? {
                return Err(ApiError::BadRequest(format!("unknown member {id:?}")));
            }
            out.push(id.clone());
        }
    }
    if members.len() < 2 || members.len() + no_shows.len() > MAX_JAM_MEMBERS + 1 {
        return Err(ApiError::BadRequest(format!(
            "a jam needs 1 to {MAX_JAM_MEMBERS} other members"
        )));
    }
    let now = unix_now();
    let played_at = body.played_at.unwrap_or(now);
    check_range("played_at", played_at, 0, now + 86_400)?;
    let id = new_id();
    let mut tx = state.db.pool.begin().await?;
    sqlx::query("INSERT INTO jams (id, created_by, played_at, created_at) VALUES ($1, $2, $3, $4)")
        .bind(&id)
        .bind(&user.id)
        .bind(played_at)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    for (who, attended) in members
        .iter()
        .map(|m| (m, 1i64))
        .chain(no_shows.iter().map(|m| (m, 0i64)))
    {
        sqlx::query("INSERT INTO jam_members (jam_id, user_id, attended) VALUES ($1, $2, $3)")
            .bind(&id)
            .bind(who)
            .bind(attended)
            .execute(&mut *tx)
            .await?;
    }
    tx.commit().await?;
    for (i, a) in members.iter().enumerate() {
        for b in &members[i + 1..] {
            refresh_pair(&state.db, &state.recommender, a, b).await?;
        }
    }
    for m in members.iter().chain(&no_shows) {
        refresh_attendance(&state.db, &state.recommender, m).await?;
    }
    Ok((
        StatusCode::CREATED,
        axum::Json(Jam {
            id,
            members,
            no_shows,
            played_at,
        }),
    ))
}

/// Recomputes a pair's co-jam summary from the stored rows and applies it.
pub(crate) async fn refresh_pair(
    db: &Db,
    live: &LiveRecommender,
    a: &str,
    b: &str,
) -> ApiResult<()> {
    let jams: Vec<String> = sqlx::query_scalar(
        "SELECT x.jam_id FROM jam_members x JOIN jam_members y ON x.jam_id = y.jam_id \
         WHERE x.user_id = $1 AND y.user_id = $2 AND x.attended = 1 AND y.attended = 1",
    )
    .bind(a)
    .bind(b)
    .fetch_all(&db.pool)
    .await?;
    let mut sum = 0.0;
    for jam in &jams {
        let ratings: Vec<i64> = sqlx::query_scalar(
            "SELECT rating FROM jam_ratings WHERE jam_id = $1 AND \
             ((rater_id = $2 AND ratee_id = $3) OR (rater_id = $3 AND ratee_id = $2))",
        )
        .bind(jam)
        .bind(a)
        .bind(b)
        .fetch_all(&db.pool)
        .await?;
        sum += if ratings.is_empty() {
            UNRATED
        } else {
            ratings.iter().sum::<i64>() as f64 / ratings.len() as f64
        };
    }
    let n = u32::try_from(jams.len()).unwrap_or(u32::MAX);
    if n > 0 {
        live.write().set_cojam(a, b, n, sum / f64::from(n));
    }
    Ok(())
}

/// Recomputes a member's attendance counts from the stored rows and applies them.
pub(crate) async fn refresh_attendance(
    db: &Db,
    live: &LiveRecommender,
    user: &str,
) -> ApiResult<()> {
    let rows: Vec<i64> = sqlx::query_scalar("SELECT attended FROM jam_members WHERE user_id = $1")
        .bind(user)
        .fetch_all(&db.pool)
        .await?;
    let attended = rows.iter().filter(|&&a| a != 0).count();
    let count = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    live.write()
        .set_attendance(user, count(attended), count(rows.len() - attended));
    Ok(())
}

/// One rating.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rating {
    /// The member rated (another member of the jam).
    pub profile_id: String,
    /// 1 (never again) to 5 (great).
    pub rating: u8,
}

/// Body of `POST /api/v1/jams/{id}/ratings`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Ratings {
    /// One per member rated; a new rating replaces your earlier one.
    pub ratings: Vec<Rating>,
}

/// Rate the others in a jam you played in.
#[utoipa::path(post, path = "/api/v1/jams/{id}/ratings", tag = "recommendations",
    security(("bearer" = [])), params(("id" = String, Path, description = "jam id")),
    request_body = Ratings,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
              (status = 404, body = ErrorBody)))]
async fn rate(
    State(state): State<AppState>,
    user: AuthUser,
    Path(jam): Path<String>,
    Json(body): Json<Ratings>,
) -> ApiResult<StatusCode> {
    let played: Vec<String> =
        sqlx::query_scalar("SELECT user_id FROM jam_members WHERE jam_id = $1 AND attended = 1")
            .bind(&jam)
            .fetch_all(&state.db.pool)
            .await?;
    if !played.contains(&user.id) {
        return Err(ApiError::NotFound("jam"));
    }
    if body.ratings.is_empty() || body.ratings.len() > MAX_JAM_MEMBERS {
        return Err(ApiError::BadRequest(format!(
            "`ratings` needs 1 to {MAX_JAM_MEMBERS} entries"
        )));
    }
    for r in &body.ratings {
        check_range("rating", r.rating, 1, 5)?;
        if r.profile_id == user.id || !played.contains(&r.profile_id) {
            return Err(ApiError::BadRequest(format!(
                "{:?} is not another member who played in this jam",
                r.profile_id
            )));
        }
    }
    let mut tx = state.db.pool.begin().await?;
    for r in &body.ratings {
        sqlx::query(
            "INSERT INTO jam_ratings (jam_id, rater_id, ratee_id, rating) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (jam_id, rater_id, ratee_id) DO UPDATE SET rating = $4",
        )
        .bind(&jam)
        .bind(&user.id)
        .bind(&r.profile_id)
        .bind(i64::from(r.rating))
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    for r in &body.ratings {
        refresh_pair(&state.db, &state.recommender, &user.id, &r.profile_id).await?;
    }
    Ok(StatusCode::NO_CONTENT)
}

/// Body of `POST /api/v1/measurements/rtt`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RttReport {
    /// The other member's profile id.
    pub peer: String,
    /// Round-trip time measured to them (e.g. the clock sync's minimum), ms, 0–5000.
    pub rtt_ms: f64,
    /// Your access network, as your client labels it (e.g. `AS3320 Berlin`), 1–64 characters.
    pub network: Option<String>,
    /// The peer's access network, likewise.
    pub peer_network: Option<String>,
}

/// Report a round-trip time measured to another member in a session.
#[utoipa::path(post, path = "/api/v1/measurements/rtt", tag = "recommendations",
    security(("bearer" = [])), request_body = RttReport,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn report_rtt(
    State(state): State<AppState>,
    user: AuthUser,
    Json(body): Json<RttReport>,
) -> ApiResult<StatusCode> {
    if !body.rtt_ms.is_finite() {
        return Err(ApiError::BadRequest("`rtt_ms` must be a number".into()));
    }
    check_range("rtt_ms", body.rtt_ms, 0.0, MAX_RTT_MS)?;
    for (field, n) in [
        ("network", &body.network),
        ("peer_network", &body.peer_network),
    ] {
        if let Some(n) = n {
            check_len(field, n.trim(), 1, 64)?;
        }
    }
    if body.peer == user.id || !user_exists(&state.db, &body.peer).await? {
        return Err(ApiError::BadRequest(format!(
            "unknown peer {:?}",
            body.peer
        )));
    }
    let mine = body.network.as_deref().map(str::trim);
    let theirs = body.peer_network.as_deref().map(str::trim);
    let ((a, na), (b, nb)) = if user.id <= body.peer {
        ((user.id.as_str(), mine), (body.peer.as_str(), theirs))
    } else {
        ((body.peer.as_str(), theirs), (user.id.as_str(), mine))
    };
    sqlx::query(
        "INSERT INTO rtt_measurements (id, user_a, user_b, rtt_ms, network_a, network_b, \
         measured_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(new_id())
    .bind(a)
    .bind(b)
    .bind(body.rtt_ms)
    .bind(na)
    .bind(nb)
    .bind(unix_now())
    .execute(&state.db.pool)
    .await?;
    refresh_rtt(&state.db, &state.recommender, (a, na), (b, nb)).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Recomputes the medians a new measurement between `a` and `b` (ordered, with the networks it
/// reported) changed, and applies them.
pub(crate) async fn refresh_rtt(
    db: &Db,
    live: &LiveRecommender,
    (a, na): (&str, Option<&str>),
    (b, nb): (&str, Option<&str>),
) -> ApiResult<()> {
    let window = i64::try_from(RTT_WINDOW).unwrap_or(i64::MAX);
    let mut pair: Vec<f64> = sqlx::query_scalar(
        "SELECT rtt_ms FROM rtt_measurements WHERE user_a = $1 AND user_b = $2 \
         ORDER BY measured_at DESC, id LIMIT $3",
    )
    .bind(a)
    .bind(b)
    .bind(window)
    .fetch_all(&db.pool)
    .await?;
    if pair.is_empty() {
        return Ok(()); // deleted meanwhile (with a member): nothing to apply
    }
    let network_median = match (na, nb) {
        (Some(na), Some(nb)) => {
            let mut v: Vec<f64> = sqlx::query(
                "SELECT rtt_ms FROM rtt_measurements WHERE network_a = $1 AND network_b = $2 \
                 ORDER BY measured_at DESC, id LIMIT $3",
            )
            .bind(na)
            .bind(nb)
            .bind(window)
            .fetch_all(&db.pool)
            .await?
            .iter()
            .map(|r| r.try_get::<f64, _>(0))
            .collect::<Result<_, _>>()?;
            (!v.is_empty()).then(|| median(&mut v))
        }
        _ => None,
    };
    live.write()
        .set_rtt((a, na), (b, nb), median(&mut pair), network_median);
    Ok(())
}

/// The user ids `user` blocked or was blocked by.
pub async fn blocked_either_way(db: &Db, user: &str) -> ApiResult<HashSet<String>> {
    let ids: Vec<String> = sqlx::query_scalar(
        "SELECT blocked_id FROM blocks WHERE blocker_id = $1 \
         UNION SELECT blocker_id FROM blocks WHERE blocked_id = $1",
    )
    .bind(user)
    .fetch_all(&db.pool)
    .await?;
    Ok(ids.into_iter().collect())
}

/// Block a member: neither of you is recommended to the other again.
#[utoipa::path(put, path = "/api/v1/blocks/{user_id}", tag = "recommendations",
    security(("bearer" = [])), params(("user_id" = String, Path, description = "who to block")),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn block(
    State(state): State<AppState>,
    user: AuthUser,
    Path(other): Path<String>,
) -> ApiResult<StatusCode> {
    if other == user.id || !user_exists(&state.db, &other).await? {
        return Err(ApiError::BadRequest(format!("unknown member {other:?}")));
    }
    sqlx::query(
        "INSERT INTO blocks (blocker_id, blocked_id, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (blocker_id, blocked_id) DO NOTHING",
    )
    .bind(&user.id)
    .bind(&other)
    .bind(unix_now())
    .execute(&state.db.pool)
    .await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Lift a block you set.
#[utoipa::path(delete, path = "/api/v1/blocks/{user_id}", tag = "recommendations",
    security(("bearer" = [])), params(("user_id" = String, Path, description = "who to unblock")),
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn unblock(
    State(state): State<AppState>,
    user: AuthUser,
    Path(other): Path<String>,
) -> ApiResult<StatusCode> {
    sqlx::query("DELETE FROM blocks WHERE blocker_id = $1 AND blocked_id = $2")
        .bind(&user.id)
        .bind(&other)
        .execute(&state.db.pool)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}

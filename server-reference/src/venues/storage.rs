//! Venue rows: insert, update, read, delete, bulk insert and export, on either database.
//!
//! A venue is one `venues` row plus its `venue_hours` rows (written together in one
//! transaction). Lists (photos, tags, opening hours) are JSON text; equipment is a bit mask;
//! `lat_band` and `search_text` are derived here on every write, never sent by clients.

use sqlx::{Acquire, AnyConnection, AssertSqlSafe};

use super::geo::{Point, lat_band};
use super::hours::week_ranges;
use super::model::{Address, Contact, Equipment, HourlyPrice, Venue, VenueData, VenueKind};
use crate::db::{Db, new_id, unix_now};
use crate::error::{ApiError, ApiResult};

/// The venue columns, as a literal so queries stay `&'static str` (sqlx's injection guard).
macro_rules! columns {
    () => {
        "id, name, kind, street, house_number, postcode, city, country, latitude, longitude, \
         lat_band, time_zone, capacity, price_cents, currency, equipment_mask, opening_hours, \
         phone, email, website, photos, tags, search_text, source_ref, is_demo, created_at, \
         updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct VenueRow {
    id: String,
    name: String,
    kind: String,
    street: Option<String>,
    house_number: Option<String>,
    postcode: Option<String>,
    city: Option<String>,
    country: Option<String>,
    latitude: f64,
    longitude: f64,
    time_zone: Option<String>,
    capacity: Option<i64>,
    price_cents: Option<i64>,
    currency: Option<String>,
    equipment_mask: i64,
    opening_hours: Option<String>,
    phone: Option<String>,
    email: Option<String>,
    website: Option<String>,
    photos: String,
    tags: String,
    source_ref: Option<String>,
    is_demo: i64,
    created_at: i64,
    updated_at: i64,
}

fn from_json<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> ApiResult<T> {
    serde_json::from_str(text)
        .map_err(|e| ApiError::Internal(format!("stored venue {column} unreadable: {e}")))
}

fn to_json<T: serde::Serialize>(value: &T) -> ApiResult<String> {
    serde_json::to_string(value)
        .map_err(|e| ApiError::Internal(format!("venue encoding failed: {e}")))
}

impl TryFrom<VenueRow> for Venue {
    type Error = ApiError;

    fn try_from(r: VenueRow) -> ApiResult<Self> {
        let kind = VenueKind::parse(&r.kind)
            .ok_or_else(|| ApiError::Internal(format!("stored venue kind {:?}", r.kind)))?;
        let hourly_price = r
            .price_cents
            .zip(r.currency)
            .map(|(c, currency)| HourlyPrice {
                amount: c as f64 / 100.0,
                currency,
            });
        Ok(Self {
            id: r.id,
            data: VenueData {
                name: r.name,
                kind,
                address: Address {
                    street: r.street,
                    house_number: r.house_number,
                    postcode: r.postcode,
                    city: r.city,
                    country: r.country,
                },
                coordinates: Point {
                    latitude: r.latitude,
                    longitude: r.longitude,
                },
                time_zone: r.time_zone,
                capacity: r.capacity.and_then(|c| u32::try_from(c).ok()),
                hourly_price,
                equipment: Equipment::from_mask(r.equipment_mask),
                opening_hours: r
                    .opening_hours
                    .as_deref()
                    .map(|h| from_json("opening_hours", h))
                    .transpose()?,
                contact: Contact {
                    phone: r.phone,
                    email: r.email,
                },
                website: r.website,
                photos: from_json("photos", &r.photos)?,
                tags: from_json("tags", &r.tags)?,
                source_ref: r.source_ref,
            },
            demo: r.is_demo != 0,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

/// One venue by id.
pub async fn get(db: &Db, id: &str) -> ApiResult<Option<Venue>> {
    let row: Option<VenueRow> =
        sqlx::query_as(concat!("SELECT ", columns!(), " FROM venues WHERE id = $1"))
            .bind(id)
            .fetch_optional(&db.pool)
            .await?;
    row.map(Venue::try_from).transpose()
}

/// The venues with these ids, in the order of `ids` (missing ones skipped).
pub async fn get_many(db: &Db, ids: &[String]) -> ApiResult<Vec<Venue>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    // Only placeholders are generated; every value is bound.
    let placeholders = (1..=ids.len())
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ");
    let sql = format!(
        "SELECT {} FROM venues WHERE id IN ({placeholders})",
        columns!()
    );
    let mut query = sqlx::query_as::<_, VenueRow>(AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(id);
    }
    let mut venues = query
        .fetch_all(&db.pool)
        .await?
        .into_iter()
        .map(Venue::try_from)
        .collect::<ApiResult<Vec<_>>>()?;
    venues.sort_by_key(|v| ids.iter().position(|id| *id == v.id));
    Ok(venues)
}

/// Inserts a validated venue under `id` (with its hours) on `conn`.
pub async fn insert(
    conn: &mut AnyConnection,
    id: &str,
    data: &VenueData,
    demo: bool,
    now: i64,
) -> ApiResult<()> {
    let query = sqlx::query(concat!(
        "INSERT INTO venues (",
        columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, \
         $18, $19, $20, $21, $22, $23, $24, $25, $26, $26)"
    ))
    .bind(id);
    bind_data(query, data)?
        .bind(i64::from(demo))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    insert_hours(conn, id, data).await
}

/// Replaces every field of venue `id` (and its hours); false if there is no such venue.
pub async fn update(
    conn: &mut AnyConnection,
    id: &str,
    data: &VenueData,
    now: i64,
) -> ApiResult<bool> {
    let query = sqlx::query(
        "UPDATE venues SET name = $1, kind = $2, street = $3, house_number = $4, postcode = $5, \
         city = $6, country = $7, latitude = $8, longitude = $9, lat_band = $10, time_zone = $11, \
         capacity = $12, price_cents = $13, currency = $14, equipment_mask = $15, \
         opening_hours = $16, phone = $17, email = $18, website = $19, photos = $20, tags = $21, \
         search_text = $22, source_ref = $23, updated_at = $24 WHERE id = $25",
    );
    let done = bind_data(query, data)?
        .bind(now)
        .bind(id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    sqlx::query("DELETE FROM venue_hours WHERE venue_id = $1")
        .bind(id)
        .execute(&mut *conn)
        .await?;
    insert_hours(conn, id, data).await?;
    Ok(true)
}

async fn insert_hours(conn: &mut AnyConnection, id: &str, data: &VenueData) -> ApiResult<()> {
    let Some(spans) = data.weekly_hours() else {
        return Ok(());
    };
    let ranges = week_ranges(spans).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    for (start, end) in ranges {
        sqlx::query(
            "INSERT INTO venue_hours (venue_id, start_minute, end_minute) VALUES ($1, $2, $3)",
        )
        .bind(id)
        .bind(start)
        .bind(end)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// The id of the venue imported earlier from `source_ref`, if any.
pub async fn id_by_source(conn: &mut AnyConnection, source_ref: &str) -> ApiResult<Option<String>> {
    Ok(
        sqlx::query_scalar("SELECT id FROM venues WHERE source_ref = $1")
            .bind(source_ref)
            .fetch_optional(&mut *conn)
            .await?,
    )
}

/// Deletes venue `id` (its hours and favourites cascade); false if there was none.
pub async fn delete(db: &Db, id: &str) -> ApiResult<bool> {
    let done = sqlx::query("DELETE FROM venues WHERE id = $1")
        .bind(id)
        .execute(&db.pool)
        .await?;
    Ok(done.rows_affected() > 0)
}

/// Inserts many venues in one transaction and returns their new ids, in order. Each is validated
/// first; the demo data and the `server-load` bench (100,000 venues) load through this.
pub async fn insert_many(db: &Db, venues: &[VenueData], demo: bool) -> ApiResult<Vec<String>> {
    let now = unix_now();
    let mut conn = db.pool.acquire().await?;
    let mut tx = conn.begin().await?;
    let mut ids = Vec::with_capacity(venues.len());
    for data in venues {
        let data = data.clone().validated()?;
        let id = new_id();
        insert(&mut tx, &id, &data, demo, now).await?;
        ids.push(id);
    }
    tx.commit().await?;
    Ok(ids)
}

/// Number of venues stored.
pub async fn count(db: &Db) -> ApiResult<i64> {
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM venues")
        .fetch_one(&db.pool)
        .await?)
}

/// Up to `limit` venues with ids after `after`, by id (keyset pages for export).
pub async fn page_by_id(db: &Db, after: &str, limit: i64) -> ApiResult<Vec<Venue>> {
    let rows: Vec<VenueRow> = sqlx::query_as(concat!(
        "SELECT ",
        columns!(),
        " FROM venues WHERE id > $1 ORDER BY id LIMIT $2"
    ))
    .bind(after)
    .bind(limit)
    .fetch_all(&db.pool)
    .await?;
    rows.into_iter().map(Venue::try_from).collect()
}

/// Binds the 23 stored fields of `data`, in column order from `name` to `source_ref` — the part
/// of a row that insert and update write alike.
fn bind_data<'q>(query: VenueQuery<'q>, data: &'q VenueData) -> ApiResult<VenueQuery<'q>> {
    Ok(query
        .bind(&data.name)
        .bind(data.kind.as_str())
        .bind(&data.address.street)
        .bind(&data.address.house_number)
        .bind(&data.address.postcode)
        .bind(&data.address.city)
        .bind(&data.address.country)
        .bind(data.coordinates.latitude)
        .bind(data.coordinates.longitude)
        .bind(lat_band(data.coordinates.latitude))
        .bind(&data.time_zone)
        .bind(data.capacity.map(i64::from))
        .bind(data.hourly_price.as_ref().map(HourlyPrice::cents))
        .bind(data.hourly_price.as_ref().map(|p| p.currency.clone()))
        .bind(Equipment::mask(&data.equipment))
        .bind(data.opening_hours.as_ref().map(to_json).transpose()?)
        .bind(&data.contact.phone)
        .bind(&data.contact.email)
        .bind(&data.website)
        .bind(to_json(&data.photos)?)
        .bind(to_json(&data.tags)?)
        .bind(data.search_text())
        .bind(&data.source_ref))
}

/// A venue statement under construction.
type VenueQuery<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>;

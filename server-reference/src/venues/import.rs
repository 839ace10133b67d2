//! Bulk import of venues: the shared record builder, the JSON format, and writing a batch.
//!
//! **Policy.** A file that cannot be read as a whole (not CSV/GeoJSON/JSON, a CSV header without
//! the required columns, more than [`MAX_RECORDS`] records) is refused with a 400 and nothing is
//! written. Otherwise each record stands alone:
//! - a record whose *required* fields (name, kind, coordinates) are missing or invalid is
//!   **rejected** and reported with its CSV line (1-based, the header is line 1), GeoJSON feature
//!   index or JSON record index (0-based);
//! - an *optional* field that does not parse (capacity `lots`, a `javascript:` website) is dropped
//!   with a **warning**, and its raw text is kept among the venue's tags, so nothing is lost;
//!   opening hours outside the supported subset keep their raw text with unknown weekly spans;
//! - every accepted record is written in **one transaction**: a database failure writes none.
//!
//! A record with a `source_ref` (CSV column, OSM `@id`/feature id) that was imported before
//! updates that venue instead of adding a copy, so re-importing a file is idempotent.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sqlx::Acquire;
use utoipa::ToSchema;

use super::geo::Point;
use super::hours::parse_osm;
use super::model::{
    Address, Contact, Equipment, HourlyPrice, MAX_CAPACITY, MAX_PRICE, MAX_TAG_LEN, MAX_TAGS,
    MAX_TEXT, OpeningHours, VenueData, VenueKind, currency_code,
};
use super::storage;
use crate::db::{Db, new_id, unix_now};
use crate::error::{ApiError, ApiResult};
use crate::validate::{check_http_url, check_len, check_time_zone};

/// Most records one import may hold.
pub const MAX_RECORDS: usize = 20_000;
/// Largest import body, in bytes.
pub const MAX_IMPORT_BYTES: usize = 8 * 1024 * 1024;

/// Where in the source a record came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ToSchema)]
pub struct Location {
    /// CSV: the line the record starts on (1-based; the header is line 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
    /// GeoJSON: the index in `features` (0-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub feature: Option<u64>,
    /// JSON: the index in the array of venues (0-based).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<u64>,
}

/// A rejected record or a dropped field.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportProblem {
    /// Where the record is.
    #[serde(flatten)]
    pub at: Location,
    /// What was wrong.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ImportReport {
    /// Only checked, nothing written.
    pub dry_run: bool,
    /// Records read from the file.
    pub received: u64,
    /// New venues (or that would be, on a dry run).
    pub created: u64,
    /// Venues updated through their `source_ref`.
    pub updated: u64,
    /// Records not imported, with the reason.
    pub rejected: Vec<ImportProblem>,
    /// Fields dropped from imported records (raw text kept as a tag).
    pub warnings: Vec<ImportProblem>,
}

/// One record parsed from a source: a venue and its warnings, or why it was rejected.
#[derive(Debug)]
pub struct Record {
    /// Where it came from.
    pub at: Location,
    /// The venue (validated) and field warnings, or the rejection reason.
    pub result: Result<(VenueData, Vec<String>), String>,
}

/// The fields of one source record under their canonical (CSV header) names, before parsing.
/// Keys that are no field are kept as tags.
#[derive(Debug, Default)]
pub struct RawFields {
    fields: BTreeMap<&'static str, String>,
    tags: BTreeMap<String, String>,
}

/// The canonical field names: the documented CSV header.
pub const FIELDS: [&str; 20] = [
    "name",
    "kind",
    "street",
    "house_number",
    "postcode",
    "city",
    "country",
    "latitude",
    "longitude",
    "time_zone",
    "capacity",
    "hourly_price",
    "currency",
    "equipment",
    "opening_hours",
    "phone",
    "email",
    "website",
    "photos",
    "source_ref",
];

impl RawFields {
    /// Adds `value` under `key`: a canonical field if `key` names one (the first value wins),
    /// otherwise a tag. Empty values are ignored.
    pub fn add(&mut self, key: &str, value: &str) {
        let value = value.trim();
        if value.is_empty() {
            return;
        }
        match FIELDS.iter().find(|f| **f == key) {
            Some(field) if !self.fields.contains_key(field) => {
                self.fields.insert(field, value.to_owned());
            }
            _ => {
                self.tags.insert(key.to_owned(), value.to_owned());
            }
        }
    }

    /// Adds `value` as a tag only.
    pub fn add_tag(&mut self, key: &str, value: &str) {
        self.tags.insert(key.to_owned(), value.to_owned());
    }

    /// Whether a canonical field is set.
    pub fn has(&self, field: &str) -> bool {
        self.fields.contains_key(field)
    }

    /// Removes field `key`; if `check` refuses it, warns and keeps the raw text as a tag.
    fn take(
        &mut self,
        key: &'static str,
        warnings: &mut Vec<String>,
        check: &dyn Fn(&str) -> Result<(), String>,
    ) -> Option<String> {
        let value = self.fields.remove(key)?;
        match check(&value) {
            Ok(()) => Some(value),
            Err(e) => {
                self.drop_field(key, value, &e, warnings);
                None
            }
        }
    }

    fn drop_field(&mut self, key: &str, raw: String, why: &str, warnings: &mut Vec<String>) {
        warnings.push(format!("`{key}` dropped ({why}); raw text kept as tag"));
        self.tags.insert(key.to_owned(), raw);
    }

    fn required(&mut self, key: &str) -> Result<String, String> {
        self.fields
            .remove(key)
            .ok_or_else(|| format!("missing `{key}`"))
    }

    fn coordinates(&mut self) -> Result<Point, String> {
        let mut number = |key: &str| {
            let text = self.required(key)?;
            text.parse::<f64>()
                .map_err(|_| format!("`{key}` is not a number: {text:?}"))
        };
        Ok(Point {
            latitude: number("latitude")?,
            longitude: number("longitude")?,
        })
    }

    fn price(&mut self, warnings: &mut Vec<String>) -> Option<HourlyPrice> {
        let amount = self.fields.remove("hourly_price");
        let currency = self.fields.remove("currency");
        let (amount_text, currency_text) = match (amount, currency) {
            (None, None) => return None,
            (Some(a), Some(c)) => (a, c),
            (Some(a), None) => {
                self.drop_field("hourly_price", a, "no `currency`", warnings);
                return None;
            }
            (None, Some(c)) => {
                self.drop_field("currency", c, "no `hourly_price`", warnings);
                return None;
            }
        };
        let amount = amount_text
            .replace(',', ".")
            .parse::<f64>()
            .ok()
            .filter(|p| p.is_finite() && (0.0..=MAX_PRICE).contains(p));
        let currency = currency_code("currency", &currency_text).ok();
        match (amount, currency) {
            (Some(amount), Some(currency)) => Some(HourlyPrice { amount, currency }),
            _ => {
                let why = format!("needs an amount from 0 to {MAX_PRICE} and an ISO 4217 code");
                self.drop_field("hourly_price", amount_text, &why, warnings);
                self.drop_field("currency", currency_text, &why, warnings);
                None
            }
        }
    }

    /// Splits `key` into items; the ones `parse` refuses are warned about and kept as a tag.
    fn items<T>(
        &mut self,
        key: &'static str,
        separators: &[char],
        warnings: &mut Vec<String>,
        parse: impl Fn(&str) -> Option<T>,
    ) -> Vec<T> {
        let Some(text) = self.fields.remove(key) else {
            return Vec::new();
        };
        let (mut good, mut bad) = (Vec::new(), Vec::new());
        for item in text
            .split(separators)
            .map(str::trim)
            .filter(|i| !i.is_empty())
        {
            match parse(item) {
                Some(v) => good.push(v),
                None => bad.push(item),
            }
        }
        if !bad.is_empty() {
            let bad = bad.join(";");
            self.drop_field(key, bad, "unknown or invalid items", warnings);
        }
        good
    }

    /// Parses the fields into a validated venue (see the module docs for the policy).
    /// `coordinates` comes from the geometry of GeoJSON; CSV gives `latitude`/`longitude`.
    pub fn build(mut self, coordinates: Option<Point>) -> Result<(VenueData, Vec<String>), String> {
        let mut w = Vec::new();
        let name = self.required("name")?;
        let kind_text = self.required("kind")?;
        let kind = VenueKind::parse(&kind_text).ok_or_else(|| {
            format!(
                "unknown kind {kind_text:?} (expected rehearsal_room, recording_studio or \
                 performance_venue)"
            )
        })?;
        let coordinates = match coordinates {
            Some(p) => p,
            None => self.coordinates()?,
        };
        if !coordinates.is_valid() {
            return Err(format!(
                "coordinates out of range: latitude {}, longitude {}",
                coordinates.latitude, coordinates.longitude
            ));
        }
        let text = |max: usize| {
            move |v: &str| {
                check_len("", v, 1, max).map_err(|_| format!("longer than {max} characters"))
            }
        };
        let address = Address {
            street: self.take("street", &mut w, &text(MAX_TEXT)),
            house_number: self.take("house_number", &mut w, &text(MAX_TEXT)),
            postcode: self.take("postcode", &mut w, &text(MAX_TEXT)),
            city: self.take("city", &mut w, &text(MAX_TEXT)),
            country: self.take("country", &mut w, &text(MAX_TEXT)),
        };
        let time_zone = self.take("time_zone", &mut w, &|v| {
            check_time_zone("time_zone", v).map_err(|e| e.to_string())
        });
        let capacity = self
            .take("capacity", &mut w, &|v| match v.parse::<u32>() {
                Ok(c) if (1..=MAX_CAPACITY).contains(&c) => Ok(()),
                _ => Err(format!("not a whole number from 1 to {MAX_CAPACITY}")),
            })
            .and_then(|v| v.parse().ok());
        let hourly_price = self.price(&mut w);
        let equipment = self.items("equipment", &[';', ','], &mut w, Equipment::parse);
        let opening_hours = self
            .take("opening_hours", &mut w, &text(MAX_TAG_LEN))
            .map(|raw| {
                let weekly = parse_osm(&raw)
                    .map_err(|e| w.push(format!("`opening_hours`: {e}; weekly spans unknown")))
                    .ok();
                OpeningHours {
                    raw: Some(raw),
                    weekly,
                }
            });
        let contact = Contact {
            phone: self.take("phone", &mut w, &text(40)),
            email: self.take("email", &mut w, &|v| {
                let ok = v.len() <= 254 && v.contains('@') && !v.contains(char::is_whitespace);
                ok.then_some(())
                    .ok_or_else(|| "not an email address".into())
            }),
        };
        let url = |v: &str| check_http_url("", v).map_err(|_| "not an http(s) URL".to_owned());
        let website = self.take("website", &mut w, &url);
        let photos = self.items("photos", &[';', ' '], &mut w, |u| {
            url(u).ok().map(|()| u.to_owned())
        });
        let source_ref = self.take("source_ref", &mut w, &text(200));
        let mut tags = BTreeMap::new();
        for (key, value) in std::mem::take(&mut self.tags) {
            if tags.len() >= MAX_TAGS {
                w.push(format!(
                    "more than {MAX_TAGS} tags; tag `{key}` and later dropped"
                ));
                break;
            }
            let fits = |s: &str| s.chars().count() <= MAX_TAG_LEN;
            if fits(&key) && fits(&value) {
                tags.insert(key, value);
            } else {
                w.push(format!(
                    "tag `{key}` dropped (over {MAX_TAG_LEN} characters)"
                ));
            }
        }
        let data = VenueData {
            name,
            kind,
            address,
            coordinates,
            time_zone,
            capacity,
            hourly_price,
            equipment,
            opening_hours,
            contact,
            website,
            photos,
            tags,
            source_ref,
        };
        data.validated().map(|v| (v, w)).map_err(|e| e.to_string())
    }
}

/// Parses our own JSON format: an array of venues, or `{"venues": [...]}` as the export writes.
/// Each record is a [`VenueData`]; the export's read-only fields (`id`, `demo`, `created_at`,
/// `updated_at`, `distance_m`) are ignored so an export imports back. Records are strict
/// (unknown fields reject the record), since this format is ours.
pub fn parse_json(body: &serde_json::Value) -> ApiResult<Vec<Record>> {
    let items = match body {
        serde_json::Value::Array(items) => items,
        serde_json::Value::Object(o) => match o.get("venues") {
            Some(serde_json::Value::Array(items)) => items,
            _ => {
                return Err(ApiError::BadRequest(
                    "a JSON import is an array of venues or an object with a `venues` array".into(),
                ));
            }
        },
        _ => {
            return Err(ApiError::BadRequest(
                "a JSON import is an array of venues or an object with a `venues` array".into(),
            ));
        }
    };
    check_count(items.len())?;
    Ok(items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let mut item = item.clone();
            if let Some(o) = item.as_object_mut() {
                for key in ["id", "demo", "created_at", "updated_at", "distance_m"] {
                    o.remove(key);
                }
            }
            let result = serde_json::from_value::<VenueData>(item)
                .map_err(|e| e.to_string())
                .and_then(|v| v.validated().map_err(|e| e.to_string()))
                .map(|v| (v, Vec::new()));
            Record {
                at: Location {
                    record: Some(i as u64),
                    ..Location::default()
                },
                result,
            }
        })
        .collect())
}

/// Fails if a file holds more than [`MAX_RECORDS`] records.
pub fn check_count(n: usize) -> ApiResult<()> {
    if n > MAX_RECORDS {
        return Err(ApiError::BadRequest(format!(
            "an import may hold at most {MAX_RECORDS} records; split the file"
        )));
    }
    Ok(())
}

/// Writes the accepted records (unless `dry_run`) in one transaction and reports.
pub async fn apply(db: &Db, records: Vec<Record>, dry_run: bool) -> ApiResult<ImportReport> {
    let mut report = ImportReport {
        dry_run,
        received: records.len() as u64,
        ..ImportReport::default()
    };
    let now = unix_now();
    let mut conn = db.pool.acquire().await?;
    let mut tx = conn.begin().await?;
    for record in records {
        let (data, warnings) = match record.result {
            Ok(ok) => ok,
            Err(message) => {
                report.rejected.push(ImportProblem {
                    at: record.at,
                    message,
                });
                continue;
            }
        };
        report
            .warnings
            .extend(warnings.into_iter().map(|message| ImportProblem {
                at: record.at,
                message,
            }));
        let existing = match &data.source_ref {
            Some(source) => storage::id_by_source(&mut tx, source).await?,
            None => None,
        };
        match existing {
            Some(id) => {
                if !dry_run {
                    storage::update(&mut tx, &id, &data, now).await?;
                }
                report.updated += 1;
            }
            None => {
                if !dry_run {
                    storage::insert(&mut tx, &new_id(), &data, false, now).await?;
                }
                report.created += 1;
            }
        }
    }
    tx.commit().await?;
    Ok(report)
}

//! What a venue holds, and the rules a valid one follows.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::geo::Point;
use super::hours::{HoursSpan, MAX_SPANS, parse_osm};
use crate::error::{ApiError, ApiResult};
use crate::validate::{
    check_http_url, check_len, check_optional_len, check_range, check_time_zone,
};

/// Longest name or address part, in characters.
pub const MAX_TEXT: usize = 120;
/// Most source tags kept per venue.
pub const MAX_TAGS: usize = 200;
/// Longest tag key or value (OpenStreetMap's own limit).
pub const MAX_TAG_LEN: usize = 255;
/// Most photo URLs per venue.
pub const MAX_PHOTOS: usize = 20;
/// Largest capacity.
pub const MAX_CAPACITY: u32 = 1_000_000;
/// Largest hourly price, in currency units.
pub const MAX_PRICE: f64 = 1_000_000.0;

/// What kind of place a venue is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum VenueKind {
    /// A room to rehearse in, usually rented by the hour.
    RehearsalRoom,
    /// A recording studio.
    RecordingStudio,
    /// A stage: club, concert hall, bar with live music.
    PerformanceVenue,
}

impl VenueKind {
    /// Every kind.
    pub const ALL: [Self; 3] = [
        Self::RehearsalRoom,
        Self::RecordingStudio,
        Self::PerformanceVenue,
    ];

    /// The stored (and JSON) spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RehearsalRoom => "rehearsal_room",
            Self::RecordingStudio => "recording_studio",
            Self::PerformanceVenue => "performance_venue",
        }
    }

    /// Parses the stored spelling (also what CSV files and query strings use).
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s.trim())
    }
}

/// Equipment a venue provides. Stored as a bit mask, so "has all of these" is one indexed-row
/// test in SQL on both databases.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Equipment {
    DrumKit,
    PaSystem,
    GuitarAmp,
    BassAmp,
    Keyboard,
    Piano,
    Microphones,
    MixingDesk,
    RecordingGear,
    StageLighting,
}

impl Equipment {
    /// Every item, in bit order (append only: the position is the stored bit).
    pub const ALL: [Self; 10] = [
        Self::DrumKit,
        Self::PaSystem,
        Self::GuitarAmp,
        Self::BassAmp,
        Self::Keyboard,
        Self::Piano,
        Self::Microphones,
        Self::MixingDesk,
        Self::RecordingGear,
        Self::StageLighting,
    ];

    /// The JSON spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DrumKit => "drum_kit",
            Self::PaSystem => "pa_system",
            Self::GuitarAmp => "guitar_amp",
            Self::BassAmp => "bass_amp",
            Self::Keyboard => "keyboard",
            Self::Piano => "piano",
            Self::Microphones => "microphones",
            Self::MixingDesk => "mixing_desk",
            Self::RecordingGear => "recording_gear",
            Self::StageLighting => "stage_lighting",
        }
    }

    /// Parses the JSON spelling or a common alias (`drums`, `pa`, `mics`, …), case-insensitive.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim().to_ascii_lowercase().replace([' ', '-'], "_");
        let alias = match s.as_str() {
            "drums" => Some(Self::DrumKit),
            "pa" => Some(Self::PaSystem),
            "amp" | "amplifier" | "amplifiers" | "guitar_amps" => Some(Self::GuitarAmp),
            "bass_amps" => Some(Self::BassAmp),
            "keys" | "keyboards" | "synth" => Some(Self::Keyboard),
            "grand_piano" | "upright_piano" => Some(Self::Piano),
            "mics" | "microphone" => Some(Self::Microphones),
            "mixer" | "desk" => Some(Self::MixingDesk),
            "recording" => Some(Self::RecordingGear),
            "lights" | "lighting" => Some(Self::StageLighting),
            _ => None,
        };
        alias.or_else(|| Self::ALL.into_iter().find(|e| e.as_str() == s))
    }

    fn bit(self) -> i64 {
        let position = Self::ALL.iter().position(|e| *e == self).unwrap_or(0);
        1 << position
    }

    /// The stored mask of a set of items.
    pub fn mask(items: &[Self]) -> i64 {
        items.iter().fold(0, |m, e| m | e.bit())
    }

    /// The items of a stored mask, in bit order (unknown bits ignored).
    pub fn from_mask(mask: i64) -> Vec<Self> {
        Self::ALL
            .into_iter()
            .filter(|e| mask & e.bit() != 0)
            .collect()
    }
}

/// A postal address; every part optional.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[allow(missing_docs)]
pub struct Address {
    #[serde(default)]
    pub street: Option<String>,
    #[serde(default)]
    pub house_number: Option<String>,
    #[serde(default)]
    pub postcode: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    /// Country name or ISO code.
    #[serde(default)]
    pub country: Option<String>,
}

impl Address {
    /// The parts present, in display order.
    pub fn parts(&self) -> impl Iterator<Item = &str> {
        [
            &self.street,
            &self.house_number,
            &self.postcode,
            &self.city,
            &self.country,
        ]
        .into_iter()
        .filter_map(Option::as_deref)
    }

    fn validate(&mut self) -> ApiResult<()> {
        for (field, value) in [
            ("address.street", &mut self.street),
            ("address.house_number", &mut self.house_number),
            ("address.postcode", &mut self.postcode),
            ("address.city", &mut self.city),
            ("address.country", &mut self.country),
        ] {
            *value = value
                .take()
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty());
            check_optional_len(field, value.as_deref(), MAX_TEXT)?;
        }
        Ok(())
    }
}

/// How to reach the venue.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Phone number as written, up to 40 characters.
    #[serde(default)]
    pub phone: Option<String>,
    /// Email address.
    #[serde(default)]
    pub email: Option<String>,
}

/// Price per hour of use.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HourlyPrice {
    /// Amount in `currency`, 0 to 1,000,000, kept to the cent.
    pub amount: f64,
    /// ISO 4217 code, e.g. `EUR`.
    pub currency: String,
}

impl HourlyPrice {
    /// The amount in hundredths (what is stored and compared).
    pub fn cents(&self) -> i64 {
        cents(self.amount)
    }
}

/// `amount` in hundredths, rounded (amounts are validated to ≤ [`MAX_PRICE`] first).
pub fn cents(amount: f64) -> i64 {
    #[allow(clippy::cast_possible_truncation)]
    let c = (amount * 100.0).round() as i64;
    c
}

/// Fails unless `code` is three ASCII letters; returns it uppercased.
pub fn currency_code(field: &str, code: &str) -> ApiResult<String> {
    let code = code.trim();
    if code.len() != 3 || !code.bytes().all(|b| b.is_ascii_alphabetic()) {
        return Err(ApiError::BadRequest(format!(
            "`{field}` must be a 3-letter ISO 4217 code like EUR"
        )));
    }
    Ok(code.to_ascii_uppercase())
}

/// Weekly opening hours: the source text (if any) and the spans it means.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OpeningHours {
    /// The source text, e.g. OSM `Mo-Fr 10:00-22:00; Sa 12:00-02:00`, up to 255 characters.
    #[serde(default)]
    pub raw: Option<String>,
    /// Spans in the venue's local time. Absent: unknown (the raw text was not understood);
    /// empty: never open. When only `raw` is given, it is parsed into these.
    #[serde(default)]
    pub weekly: Option<Vec<HoursSpan>>,
}

/// The editable part of a venue (the body of create and replace, one record of a JSON import).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct VenueData {
    /// 1–120 characters.
    pub name: String,
    /// What kind of place it is.
    pub kind: VenueKind,
    /// Postal address.
    #[serde(default)]
    pub address: Address,
    /// Position (required: venues are found by place).
    pub coordinates: Point,
    /// IANA time zone the opening hours are in, e.g. `Europe/Berlin`.
    #[serde(default)]
    pub time_zone: Option<String>,
    /// How many people fit, 1 to 1,000,000.
    #[serde(default)]
    pub capacity: Option<u32>,
    /// Price per hour.
    #[serde(default)]
    pub hourly_price: Option<HourlyPrice>,
    /// Equipment provided.
    #[serde(default)]
    pub equipment: Vec<Equipment>,
    /// Weekly opening hours.
    #[serde(default)]
    pub opening_hours: Option<OpeningHours>,
    /// Phone and email.
    #[serde(default)]
    pub contact: Contact,
    /// `http(s)://` URL.
    #[serde(default)]
    pub website: Option<String>,
    /// Up to 20 `http(s)://` photo URLs.
    #[serde(default)]
    pub photos: Vec<String>,
    /// Source tags that have no field of their own (e.g. OSM `wheelchair`, `contact:instagram`),
    /// kept verbatim: up to 200, keys and values up to 255 characters.
    #[serde(default)]
    pub tags: BTreeMap<String, String>,
    /// Identity in the source (e.g. `osm:node/123`): re-importing a record with the same
    /// reference updates the venue instead of adding a copy. Up to 200 characters.
    #[serde(default)]
    pub source_ref: Option<String>,
}

impl VenueData {
    /// Checks every rule and normalises (trims, sorts equipment, rounds the price to the cent,
    /// parses raw opening hours).
    pub fn validated(mut self) -> ApiResult<Self> {
        self.name = self.name.trim().to_owned();
        check_len("name", &self.name, 1, MAX_TEXT)?;
        self.address.validate()?;
        if !self.coordinates.is_valid() {
            return Err(ApiError::BadRequest(
                "`coordinates` must have latitude -90..90 and longitude -180..180".into(),
            ));
        }
        if let Some(tz) = &self.time_zone {
            check_time_zone("time_zone", tz)?;
        }
        if let Some(c) = self.capacity {
            check_range("capacity", c, 1, MAX_CAPACITY)?;
        }
        if let Some(p) = &mut self.hourly_price {
            if !p.amount.is_finite() {
                return Err(ApiError::BadRequest(
                    "`hourly_price.amount` must be a number".into(),
                ));
            }
            check_range("hourly_price.amount", p.amount, 0.0, MAX_PRICE)?;
            p.amount = cents(p.amount) as f64 / 100.0;
            p.currency = currency_code("hourly_price.currency", &p.currency)?;
        }
        self.equipment.sort();
        self.equipment.dedup();
        if let Some(hours) = &mut self.opening_hours {
            check_optional_len("opening_hours.raw", hours.raw.as_deref(), MAX_TAG_LEN)?;
            match (&hours.weekly, &hours.raw) {
                (Some(spans), _) => {
                    if spans.len() > MAX_SPANS {
                        return Err(ApiError::BadRequest(format!(
                            "`opening_hours.weekly` may have at most {MAX_SPANS} spans"
                        )));
                    }
                    for span in spans {
                        span.minutes().map_err(|e| {
                            ApiError::BadRequest(format!("`opening_hours.weekly`: {e}"))
                        })?;
                    }
                }
                (None, Some(raw)) => hours.weekly = parse_osm(raw).ok(),
                (None, None) => self.opening_hours = None,
            }
        }
        check_optional_len("contact.phone", self.contact.phone.as_deref(), 40)?;
        if let Some(email) = &self.contact.email {
            check_len("contact.email", email, 3, 254)?;
            if !email.contains('@') || email.chars().any(char::is_whitespace) {
                return Err(ApiError::BadRequest(
                    "`contact.email` must be an email address".into(),
                ));
            }
        }
        if let Some(url) = &self.website {
            check_http_url("website", url)?;
        }
        if self.photos.len() > MAX_PHOTOS {
            return Err(ApiError::BadRequest(format!(
                "`photos` may have at most {MAX_PHOTOS} URLs"
            )));
        }
        for url in &self.photos {
            check_http_url("photos", url)?;
        }
        if self.tags.len() > MAX_TAGS {
            return Err(ApiError::BadRequest(format!(
                "`tags` may have at most {MAX_TAGS} entries"
            )));
        }
        for (key, value) in &self.tags {
            check_len("tags (key)", key, 1, MAX_TAG_LEN)?;
            check_len("tags (value)", value, 0, MAX_TAG_LEN)?;
        }
        check_optional_len("source_ref", self.source_ref.as_deref(), 200)?;
        Ok(self)
    }

    /// Lowercased name and address: what the text search matches (lowercased here rather than
    /// in SQL, because SQLite's `lower` only folds ASCII while PostgreSQL's folds everything).
    pub fn search_text(&self) -> String {
        std::iter::once(self.name.as_str())
            .chain(self.address.parts())
            .collect::<Vec<_>>()
            .join(" ")
            .to_lowercase()
    }

    /// The weekly spans, if known.
    pub fn weekly_hours(&self) -> Option<&[HoursSpan]> {
        self.opening_hours.as_ref()?.weekly.as_deref()
    }
}

/// A venue as returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct Venue {
    /// Venue id.
    pub id: String,
    /// The venue's content.
    #[serde(flatten)]
    pub data: VenueData,
    /// Synthetic demo data, not a real place.
    pub demo: bool,
    /// Created at, Unix seconds.
    pub created_at: i64,
    /// Last changed at, Unix seconds.
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> VenueData {
        serde_json::from_value(serde_json::json!({
            "name": " Proberaum Nord ",
            "kind": "rehearsal_room",
            "coordinates": {"latitude": 52.55, "longitude": 13.38}
        }))
        .expect("minimal venue parses")
    }

    #[test]
    fn normalises() {
        let mut v = minimal();
        v.equipment = vec![Equipment::Piano, Equipment::DrumKit, Equipment::Piano];
        v.hourly_price = Some(HourlyPrice {
            amount: 12.345,
            currency: "eur".into(),
        });
        v.opening_hours = Some(OpeningHours {
            raw: Some("Mo-Fr 10:00-22:00".into()),
            weekly: None,
        });
        let v = v.validated().expect("valid");
        assert_eq!(v.name, "Proberaum Nord");
        assert_eq!(v.equipment, [Equipment::DrumKit, Equipment::Piano]);
        assert_eq!(
            v.hourly_price,
            Some(HourlyPrice {
                amount: 12.35,
                currency: "EUR".into()
            })
        );
        assert_eq!(v.weekly_hours().map(<[_]>::len), Some(5));
    }

    #[test]
    fn equipment_mask_round_trips() {
        let all = Equipment::ALL.to_vec();
        assert_eq!(Equipment::from_mask(Equipment::mask(&all)), all);
        assert_eq!(Equipment::parse("Drums"), Some(Equipment::DrumKit));
        assert_eq!(Equipment::parse("pa_system"), Some(Equipment::PaSystem));
        assert_eq!(Equipment::parse("theremin"), None);
    }

    #[test]
    fn rejects_out_of_range_values() {
        let with = |f: fn(&mut VenueData)| {
            let mut v = minimal();
            f(&mut v);
            v.validated().is_err()
        };
        assert!(with(|v| v.name = " ".into()));
        assert!(with(|v| v.coordinates.latitude = 90.5));
        assert!(with(|v| v.coordinates.longitude = f64::NAN));
        assert!(with(|v| v.capacity = Some(0)));
        assert!(with(|v| v.hourly_price = Some(HourlyPrice {
            amount: -1.0,
            currency: "EUR".into()
        })));
        assert!(with(|v| v.hourly_price = Some(HourlyPrice {
            amount: 1.0,
            currency: "EURO".into()
        })));
        assert!(with(|v| v.website = Some("javascript:alert(1)".into())));
        assert!(with(|v| v.photos = vec!["ftp://x".into()]));
        assert!(with(|v| v.contact.email = Some("nobody".into())));
        assert!(with(|v| v.opening_hours = Some(OpeningHours {
            raw: None,
            weekly: Some(vec![HoursSpan {
                day: crate::profiles::model::Weekday::Mon,
                open: "25:00".into(),
                close: "26:00".into()
            }])
        })));
        assert!(!with(|v| v.opening_hours = Some(OpeningHours {
            raw: Some("PH off".into()),
            weekly: None
        })));
    }
}

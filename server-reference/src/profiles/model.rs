//! What a musician profile holds, and the rules a valid one follows.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult};
use crate::validate::{check_len, check_list, check_optional_len, check_range};

/// Who may read a profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Visibility {
    /// Anyone, signed in or not.
    Public,
    /// Signed-in members only.
    MembersOnly,
    /// The owner (and admins) only.
    Private,
}

impl Visibility {
    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Public => "public",
            Self::MembersOnly => "members_only",
            Self::Private => "private",
        }
    }

    /// Parses the stored spelling; anything unknown is treated as the most restrictive.
    pub fn from_stored(s: &str) -> Self {
        match s {
            "public" => Self::Public,
            "members_only" => Self::MembersOnly,
            _ => Self::Private,
        }
    }
}

/// An instrument the musician plays.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Instrument {
    /// E.g. `bass guitar`; 1–40 characters.
    pub name: String,
    /// Self-assessed skill, 1 (beginner) to 5 (professional).
    pub skill: u8,
    /// Years played, 0–80.
    pub years_played: u8,
}

/// A day of the week.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
#[allow(missing_docs)]
pub enum Weekday {
    Mon,
    Tue,
    Wed,
    Thu,
    Fri,
    Sat,
    Sun,
}

/// A weekly time window when the musician is usually free, in their `time_zone`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AvailabilitySlot {
    /// Day of the week.
    pub day: Weekday,
    /// Start, `HH:MM` (24 h).
    pub start: String,
    /// End, `HH:MM`, after `start` (`24:00` allowed).
    pub end: String,
}

/// Why the musician is here.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
#[allow(missing_docs)]
pub enum Goal {
    CasualJam,
    Band,
    SessionWork,
    Gigs,
}

/// Whom the musician is looking for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LookingFor {
    /// Instruments wanted, e.g. `drums`.
    #[serde(default)]
    pub instruments: Vec<String>,
    /// Goals.
    #[serde(default)]
    pub goals: Vec<Goal>,
}

/// Coarse coordinates: stored rounded to 0.1° (about 11 km), never more precise.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Coordinates {
    /// Degrees north, -90 to 90.
    pub latitude: f64,
    /// Degrees east, -180 to 180.
    pub longitude: f64,
}

/// The editable part of a profile (the body of create and replace).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProfileData {
    /// 1–64 characters.
    pub display_name: String,
    /// Up to 20 instruments.
    #[serde(default)]
    pub instruments: Vec<Instrument>,
    /// Up to 20 genres, 1–40 characters each.
    #[serde(default)]
    pub genres: Vec<String>,
    /// Up to 50 influences (artists), 1–80 characters each.
    #[serde(default)]
    pub influences: Vec<String>,
    /// Up to 2000 characters.
    #[serde(default)]
    pub bio: String,
    /// City, 1–80 characters.
    #[serde(default)]
    pub city: Option<String>,
    /// Coarse position of the city.
    #[serde(default)]
    pub coordinates: Option<Coordinates>,
    /// IANA time zone, e.g. `Europe/Berlin` (checked against the tz database; availability is
    /// read in it, and in UTC when absent).
    #[serde(default)]
    pub time_zone: Option<String>,
    /// Up to 28 weekly slots.
    #[serde(default)]
    pub availability: Vec<AvailabilitySlot>,
    /// Instruments and goals sought.
    #[serde(default)]
    pub looking_for: LookingFor,
    /// Preferred maximum one-way latency for online jams, 1–500 ms.
    #[serde(default)]
    pub max_latency_ms: Option<u32>,
    /// `http(s)://` URL of an avatar image, up to 2048 characters.
    #[serde(default)]
    pub avatar_url: Option<String>,
    /// Who may read the profile.
    pub visibility: Visibility,
}

/// Minutes since midnight of an `HH:MM` time (`24:00` allowed as an end).
fn minutes(field: &str, hhmm: &str) -> ApiResult<u32> {
    let bad = || ApiError::BadRequest(format!("`{field}` must be a time HH:MM, got {hhmm:?}"));
    let (h, m) = hhmm.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    if m >= 60 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

impl ProfileData {
    /// Checks every rule and normalises (trims the name, coarsens coordinates).
    pub fn validated(mut self) -> ApiResult<Self> {
        self.display_name = self.display_name.trim().to_owned();
        check_len("display_name", &self.display_name, 1, 64)?;
        if self.instruments.len() > 20 {
            return Err(ApiError::BadRequest(
                "`instruments` may have at most 20 entries".into(),
            ));
        }
        for i in &self.instruments {
            check_len("instruments.name", &i.name, 1, 40)?;
            check_range("instruments.skill", i.skill, 1, 5)?;
            check_range("instruments.years_played", i.years_played, 0, 80)?;
        }
        check_list("genres", &self.genres, 20, 40)?;
        check_list("influences", &self.influences, 50, 80)?;
        check_len("bio", &self.bio, 0, 2000)?;
        check_optional_len("city", self.city.as_deref(), 80)?;
        if let Some(c) = &mut self.coordinates {
            if !(c.latitude.is_finite() && c.longitude.is_finite()) {
                return Err(ApiError::BadRequest(
                    "`coordinates` must be finite numbers".into(),
                ));
            }
            check_range("coordinates.latitude", c.latitude, -90.0, 90.0)?;
            check_range("coordinates.longitude", c.longitude, -180.0, 180.0)?;
            c.latitude = (c.latitude * 10.0).round() / 10.0;
            c.longitude = (c.longitude * 10.0).round() / 10.0;
        }
        if let Some(tz) = &self.time_zone {
            crate::time_zone::check_known("time_zone", tz)?;
        }
        if self.availability.len() > 28 {
            return Err(ApiError::BadRequest(
                "`availability` may have at most 28 slots".into(),
            ));
        }
        for slot in &self.availability {
            if minutes("availability.start", &slot.start)?
                >= minutes("availability.end", &slot.end)?
            {
                return Err(ApiError::BadRequest(
                    "an availability slot must end after it starts".into(),
                ));
            }
        }
        check_list(
            "looking_for.instruments",
            &self.looking_for.instruments,
            20,
            40,
        )?;
        self.looking_for.goals.dedup();
        if let Some(ms) = self.max_latency_ms {
            check_range("max_latency_ms", ms, 1, 500)?;
        }
        if let Some(url) = &self.avatar_url {
            check_len("avatar_url", url, 1, 2048)?;
            let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
            if !scheme_ok || url.chars().any(char::is_whitespace) {
                return Err(ApiError::BadRequest(
                    "`avatar_url` must be an http(s) URL".into(),
                ));
            }
        }
        Ok(self)
    }
}

/// A profile as returned by the API.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Profile {
    /// The owner's user id (also the profile's id).
    pub user_id: String,
    /// The profile's content.
    #[serde(flatten)]
    pub data: ProfileData,
    /// Synthetic demo data, not a real musician.
    pub demo: bool,
    /// Created at, Unix seconds.
    pub created_at: i64,
    /// Last changed at, Unix seconds.
    pub updated_at: i64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minimal() -> ProfileData {
        serde_json::from_value(serde_json::json!({"display_name": " Ada ", "visibility": "public"}))
            .expect("minimal profile parses")
    }

    #[test]
    fn normalises_name_and_coarsens_coordinates() {
        let mut p = minimal();
        p.coordinates = Some(Coordinates {
            latitude: 52.5200,
            longitude: 13.4049,
        });
        let p = p.validated().expect("valid");
        assert_eq!(p.display_name, "Ada");
        assert_eq!(
            p.coordinates,
            Some(Coordinates {
                latitude: 52.5,
                longitude: 13.4
            })
        );
    }

    #[test]
    fn rejects_out_of_range_values() {
        let with = |f: fn(&mut ProfileData)| {
            let mut p = minimal();
            f(&mut p);
            p.validated().is_err()
        };
        assert!(with(|p| p.display_name = "  ".into()));
        assert!(with(|p| p.instruments.push(Instrument {
            name: "bass".into(),
            skill: 6,
            years_played: 1
        })));
        assert!(with(|p| p.max_latency_ms = Some(0)));
        assert!(with(|p| p.avatar_url = Some("javascript:alert(1)".into())));
        assert!(with(|p| p.time_zone = Some("../etc/passwd".into())));
        assert!(with(|p| p.time_zone = Some("Europe/Atlantis".into())));
        assert!(!with(|p| p.time_zone = Some("America/New_York".into())));
        assert!(with(|p| p.coordinates = Some(Coordinates {
            latitude: 91.0,
            longitude: 0.0
        })));
        assert!(with(|p| p.coordinates = Some(Coordinates {
            latitude: f64::NAN,
            longitude: 0.0
        })));
        assert!(with(|p| p.availability.push(AvailabilitySlot {
            day: Weekday::Mon,
            start: "20:00".into(),
            end: "19:00".into()
        })));
        assert!(with(|p| p.availability.push(AvailabilitySlot {
            day: Weekday::Mon,
            start: "7:00".into(),
            end: "24:01".into()
        })));
        assert!(!with(|p| p.availability.push(AvailabilitySlot {
            day: Weekday::Sun,
            start: "18:30".into(),
            end: "24:00".into()
        })));
    }
}

//! IANA time zones: checking a member's `time_zone` against the real database, and the UTC
//! offset their weekly availability is converted with.
//!
//! The database is `jiff`'s bundled copy of the IANA tzdb (feature `tzdb-bundle-always`), not
//! the host's `/usr/share/zoneinfo`: every machine resolves the same names to the same rules,
//! and a server in a minimal container still knows every zone. Names match case-insensitively,
//! as the tzdb's own lookup does.
//!
//! # Daylight saving
//! A weekly window ("Tuesdays 19:00–22:00 in Europe/Berlin") has no single UTC offset over a
//! year. The rule: a window is converted with the offset in effect at the moment the member is
//! (re)filed in the recommender, which is each profile write and every periodic reload
//! (`--recommender-refresh-secs`). So in the days around a DST switch a member's windows may be
//! off by the switch (one hour) until the next reload, and never longer.

use jiff::Timestamp;
use jiff::tz::TimeZone;

use crate::error::{ApiError, ApiResult};
use crate::validate::check_time_zone;

/// Fails (400) unless `tz` names a zone in the IANA database.
pub fn check_known(field: &str, tz: &str) -> ApiResult<()> {
    check_time_zone(field, tz)?;
    TimeZone::get(tz).map(|_| ()).map_err(|_| {
        ApiError::BadRequest(format!(
            "`{field}` {tz:?} is not a time zone in the IANA database (e.g. Europe/Berlin, \
             America/New_York)"
        ))
    })
}

/// The offset from UTC of zone `tz` at `at`, in minutes (east positive); `None` for a name the
/// database does not know.
pub fn offset_minutes(tz: &str, at: Timestamp) -> Option<i16> {
    let zone = TimeZone::get(tz).ok()?;
    // Real offsets are within ±26 h, so the minutes always fit.
    i16::try_from(zone.to_offset(at).seconds() / 60).ok()
}

/// The offset a member's availability is converted with: their zone's at `at`, or UTC (0) when
/// they gave none or a name the database does not know (rows written before names were checked;
/// logged, so an operator can see which profiles are affected).
pub fn member_offset_minutes(user_id: &str, tz: Option<&str>, at: Timestamp) -> i16 {
    let Some(tz) = tz else { return 0 };
    offset_minutes(tz, at).unwrap_or_else(|| {
        tracing::warn!(user = %user_id, time_zone = %tz,
            "unknown time zone in a stored profile: availability treated as UTC");
        0
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> Timestamp {
        s.parse().expect("valid timestamp")
    }

    #[test]
    fn offsets_follow_daylight_saving() {
        // Europe switched to summer time at 01:00 UTC on 2026-03-29, the US on 2026-03-08.
        let before = at("2026-03-29T00:59:00Z");
        let after = at("2026-03-29T01:00:00Z");
        assert_eq!(offset_minutes("Europe/Berlin", before), Some(60));
        assert_eq!(offset_minutes("Europe/Berlin", after), Some(120));
        assert_eq!(offset_minutes("America/New_York", before), Some(-240));
        assert_eq!(
            offset_minutes("America/New_York", at("2026-01-15T12:00:00Z")),
            Some(-300)
        );
        assert_eq!(offset_minutes("Asia/Kolkata", before), Some(330));
        assert_eq!(offset_minutes("UTC", before), Some(0));
        assert_eq!(offset_minutes("Mars/Olympus_Mons", before), None);
    }

    #[test]
    fn unknown_names_are_rejected_and_read_as_utc() {
        assert!(check_known("time_zone", "Europe/Berlin").is_ok());
        assert!(check_known("time_zone", "europe/berlin").is_ok());
        let err = check_known("time_zone", "Europe/Atlantis").expect_err("unknown zone");
        assert!(err.to_string().contains("IANA database"), "{err}");
        assert!(check_known("time_zone", "../etc/passwd").is_err());
        let t = at("2026-07-01T00:00:00Z");
        assert_eq!(member_offset_minutes("u", Some("Europe/Atlantis"), t), 0);
        assert_eq!(member_offset_minutes("u", None, t), 0);
        assert_eq!(member_offset_minutes("u", Some("Europe/Berlin"), t), 120);
    }
}

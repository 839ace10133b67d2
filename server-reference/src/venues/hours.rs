//! Weekly opening hours: the spans a venue is open, in its local time, parsed from the common
//! subset of OpenStreetMap's `opening_hours` syntax, and turned into minute-of-week ranges that
//! SQL can test ("open on Friday at 21:00").
//!
//! Supported: `24/7`; rules separated by `;` (a later rule replaces earlier ones on the days it
//! names) or by `,` before a new weekday selector (adds to them); weekday selectors such as `Mo`,
//! `Mo-Fr`, `Fr-Mo` (wrapping), `Mo,We,Sa-Su`; time spans `HH:MM-HH:MM` separated by commas,
//! ends after midnight written either as `02:00` or `26:00`; `off` / `closed`. Anything else
//! (public holidays, months, sunrise, comments, `+`) is unsupported: the raw string is kept and
//! the weekly spans are unknown.

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::profiles::model::Weekday;

/// Minutes in a day.
const DAY: u32 = 24 * 60;
/// Minutes in a week; minute 0 is Monday 00:00.
pub const WEEK_MINUTES: i64 = 7 * 24 * 60;
/// Most spans a venue may list.
pub const MAX_SPANS: usize = 64;

/// The seven days, Monday first (the index is the day number in a minute-of-week).
pub const WEEK: [Weekday; 7] = [
    Weekday::Mon,
    Weekday::Tue,
    Weekday::Wed,
    Weekday::Thu,
    Weekday::Fri,
    Weekday::Sat,
    Weekday::Sun,
];

/// Why an opening-hours string or span was not understood.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HoursError {
    /// Valid OSM syntax outside the supported subset (holidays, months, sunrise, …).
    #[error("unsupported opening_hours syntax {0:?} (supported: weekdays, HH:MM-HH:MM, off, 24/7)")]
    Unsupported(String),
    /// Not a valid time or span.
    #[error("malformed opening hours: {0}")]
    Malformed(String),
}

/// One opening span, in the venue's local time. A `close` at or before `open` means the span
/// runs past midnight into the next day (e.g. Fri 22:00–02:00); `00:00`–`24:00` is a whole day.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HoursSpan {
    /// The day the span starts.
    pub day: Weekday,
    /// Opening time, `HH:MM`.
    pub open: String,
    /// Closing time, `HH:MM` (`24:00` allowed).
    pub close: String,
}

/// The day number (0 = Monday) of a weekday.
pub fn day_index(day: Weekday) -> u32 {
    match day {
        Weekday::Mon => 0,
        Weekday::Tue => 1,
        Weekday::Wed => 2,
        Weekday::Thu => 3,
        Weekday::Fri => 4,
        Weekday::Sat => 5,
        Weekday::Sun => 6,
    }
}

/// Minutes since midnight of `HH:MM`, up to `max` minutes.
pub fn parse_hhmm(text: &str, max: u32) -> Result<u32, HoursError> {
    let bad = || HoursError::Malformed(format!("expected a time HH:MM, got {text:?}"));
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.is_empty() || h.len() > 2 || m.len() != 2 {
        return Err(bad());
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h) || !digits(m) {
        return Err(bad());
    }
    let (h, m): (u32, u32) = (h.parse().map_err(|_| bad())?, m.parse().map_err(|_| bad())?);
    let total = h * 60 + m;
    if m >= 60 || total > max {
        return Err(bad());
    }
    Ok(total)
}

fn format_hhmm(minutes: u32) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl HoursSpan {
    /// `(start, end)` in minutes from the start day's midnight, `end` up to 48 h.
    pub fn minutes(&self) -> Result<(u32, u32), HoursError> {
        let open = parse_hhmm(&self.open, DAY - 1)?;
        let mut close = parse_hhmm(&self.close, DAY)?;
        if close <= open {
            close += DAY;
        }
        Ok((open, close))
    }
}

/// Half-open `[start, end)` minute-of-week ranges of `spans`, a span crossing Sunday midnight
/// split in two: the rows of the `venue_hours` table.
pub fn week_ranges(spans: &[HoursSpan]) -> Result<Vec<(i64, i64)>, HoursError> {
    let mut ranges = Vec::with_capacity(spans.len() + 1);
    for span in spans {
        let (open, close) = span.minutes()?;
        let base = i64::from(day_index(span.day) * DAY);
        let (start, end) = (base + i64::from(open), base + i64::from(close));
        if end > WEEK_MINUTES {
            ranges.push((start, WEEK_MINUTES));
            ranges.push((0, end - WEEK_MINUTES));
        } else {
            ranges.push((start, end));
        }
    }
    Ok(ranges)
}

/// The minute of the week of `day` at `minute` past midnight.
pub fn minute_of_week(day: Weekday, minute: u32) -> i64 {
    i64::from(day_index(day) * DAY + minute)
}

/// Whether `spans` are open at `day`, `minute` past midnight (local time).
pub fn is_open(spans: &[HoursSpan], day: Weekday, minute: u32) -> bool {
    let t = minute_of_week(day, minute);
    week_ranges(spans).is_ok_and(|r| r.iter().any(|&(s, e)| s <= t && t < e))
}

fn weekday(abbr: &str) -> Option<usize> {
    ["Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"]
        .iter()
        .position(|d| *d == abbr)
}

/// Parses a weekday selector like `Mo-Fr,Su` into the days it selects.
fn parse_days(selector: &str) -> Result<[bool; 7], HoursError> {
    let mut days = [false; 7];
    for part in selector.split(',').map(str::trim) {
        let unsupported = || HoursError::Unsupported(part.to_owned());
        match part.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (
                    weekday(from).ok_or_else(unsupported)?,
                    weekday(to).ok_or_else(unsupported)?,
                );
                let mut d = from;
                loop {
                    days[d] = true;
                    if d == to {
                        break;
                    }
                    d = (d + 1) % 7;
                }
            }
            None => days[weekday(part).ok_or_else(unsupported)?] = true,
        }
    }
    Ok(days)
}

/// Parses `HH:MM-HH:MM[,HH:MM-HH:MM…]` into `(start, end)` minutes, end after start.
fn parse_times(text: &str) -> Result<Vec<(u32, u32)>, HoursError> {
    text.split(',')
        .map(str::trim)
        .map(|span| {
            let (open, close) = span
                .split_once('-')
                .ok_or_else(|| HoursError::Unsupported(span.to_owned()))?;
            let open = parse_hhmm(open.trim(), DAY - 1)?;
            let mut close = parse_hhmm(close.trim(), 2 * DAY)?;
            if close <= open {
                close += DAY;
            }
            if close > open + DAY {
                return Err(HoursError::Malformed(format!("span {span:?} is over 24 h")));
            }
            Ok((open, close))
        })
        .collect()
}

/// Whether a rule part starts with a weekday selector (`Mo`, `Tu-Fr`, …).
fn starts_with_weekday(text: &str) -> bool {
    text.get(..2).and_then(weekday).is_some()
}

/// Splits a `;` rule at commas that begin an additional rule (`…22:00, Sa 10:00-14:00`).
fn additional_rules(rule: &str) -> Vec<&str> {
    let mut parts = Vec::new();
    let mut start = 0;
    for (i, _) in rule.match_indices(',') {
        let before = rule[..i].trim_end();
        let after = rule[i + 1..].trim_start();
        let ends_rule = before.ends_with(|c: char| c.is_ascii_digit()) || before.ends_with("off");
        if ends_rule && starts_with_weekday(after) && after.contains(' ') {
            parts.push(rule[start..i].trim());
            start = i + 1;
        }
    }
    parts.push(rule[start..].trim());
    parts
}

/// Parses the supported subset of OSM `opening_hours` into weekly spans (see the module docs).
pub fn parse_osm(text: &str) -> Result<Vec<HoursSpan>, HoursError> {
    let text = text.trim();
    if text.is_empty() {
        return Err(HoursError::Malformed("empty opening hours".into()));
    }
    let mut week: [Vec<(u32, u32)>; 7] = Default::default();
    for rule in text.split(';').map(str::trim).filter(|r| !r.is_empty()) {
        let mut replaced = [false; 7];
        for part in additional_rules(rule) {
            let (days, times) = if part == "24/7" {
                ([true; 7], "00:00-24:00")
            } else if starts_with_weekday(part) {
                let (selector, times) = part.split_once(' ').unwrap_or((part, "00:00-24:00"));
                (parse_days(selector)?, times.trim())
            } else {
                ([true; 7], part)
            };
            let spans = match times {
                "off" | "closed" => Vec::new(),
                "24/7" => vec![(0, DAY)],
                t => parse_times(t)?,
            };
            for (d, selected) in days.iter().enumerate() {
                if !selected {
                    continue;
                }
                if !replaced[d] {
                    week[d].clear();
                    replaced[d] = true;
                }
                week[d].extend_from_slice(&spans);
            }
        }
    }
    let spans = WEEK
        .iter()
        .zip(&week)
        .flat_map(|(&day, spans)| {
            spans.iter().map(move |&(open, close)| HoursSpan {
                day,
                open: format_hhmm(open),
                close: format_hhmm(if close > DAY { close - DAY } else { close }),
            })
        })
        .collect::<Vec<_>>();
    if spans.len() > MAX_SPANS {
        return Err(HoursError::Malformed(format!(
            "more than {MAX_SPANS} opening spans"
        )));
    }
    Ok(spans)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn span(day: Weekday, open: &str, close: &str) -> HoursSpan {
        HoursSpan {
            day,
            open: open.into(),
            close: close.into(),
        }
    }

    #[test]
    fn parses_the_common_subset() {
        assert_eq!(
            parse_osm("Mo-Fr 10:00-22:00; Sa 12:00-02:00; Su off").expect("parses"),
            vec![
                span(Weekday::Mon, "10:00", "22:00"),
                span(Weekday::Tue, "10:00", "22:00"),
                span(Weekday::Wed, "10:00", "22:00"),
                span(Weekday::Thu, "10:00", "22:00"),
                span(Weekday::Fri, "10:00", "22:00"),
                span(Weekday::Sat, "12:00", "02:00"),
            ]
        );
        assert_eq!(parse_osm("24/7").expect("parses").len(), 7);
        assert_eq!(
            parse_osm("Fr-Mo 18:00-26:00").expect("wrapping range, 26:00"),
            vec![
                span(Weekday::Mon, "18:00", "02:00"),
                span(Weekday::Fri, "18:00", "02:00"),
                span(Weekday::Sat, "18:00", "02:00"),
                span(Weekday::Sun, "18:00", "02:00"),
            ]
        );
        assert_eq!(
            parse_osm("Mo,We 09:00-12:00,13:00-17:00, Sa 10:00-14:00").expect("parses"),
            vec![
                span(Weekday::Mon, "09:00", "12:00"),
                span(Weekday::Mon, "13:00", "17:00"),
                span(Weekday::Wed, "09:00", "12:00"),
                span(Weekday::Wed, "13:00", "17:00"),
                span(Weekday::Sat, "10:00", "14:00"),
            ]
        );
        // A later rule replaces the days it names.
        assert_eq!(
            parse_osm("Mo-Su 10:00-20:00; Tu-Su off").expect("parses"),
            vec![span(Weekday::Mon, "10:00", "20:00")]
        );
        assert_eq!(parse_osm("10:00-18:00").expect("all days").len(), 7);
    }

    #[test]
    fn rejects_what_it_does_not_understand() {
        for text in [
            "",
            "PH off",
            "Mo-Fr sunrise-sunset",
            "Jan-Mar Mo 10:00-12:00",
            "Mo 25:00-26:00",
            "Mo 10:00+",
            "Mo 10:00-12:60",
            "Xx 10:00-12:00",
        ] {
            assert!(parse_osm(text).is_err(), "{text:?}");
        }
    }

    #[test]
    fn open_at_follows_overnight_spans_across_the_week() {
        let spans = parse_osm("Su 20:00-03:00; Fr 22:00-02:00").expect("parses");
        assert!(is_open(&spans, Weekday::Sun, 23 * 60));
        assert!(
            is_open(&spans, Weekday::Mon, 2 * 60 + 59),
            "wraps to Monday"
        );
        assert!(!is_open(&spans, Weekday::Mon, 3 * 60));
        assert!(is_open(&spans, Weekday::Sat, 60));
        assert!(!is_open(&spans, Weekday::Fri, 21 * 60 + 59));
        assert!(!is_open(&spans, Weekday::Sat, 2 * 60), "end is exclusive");
    }
}

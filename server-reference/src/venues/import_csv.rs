//! CSV import. The first line is a header naming the columns; names are matched
//! case-insensitively, in any order:
//!
//! ```text
//! name,kind,street,house_number,postcode,city,country,latitude,longitude,time_zone,capacity,
//! hourly_price,currency,equipment,opening_hours,phone,email,website,photos,source_ref
//! ```
//!
//! `name`, `kind` (`rehearsal_room` | `recording_studio` | `performance_venue`), `latitude` and
//! `longitude` are required; the rest may be absent or empty. `equipment` is a `;`-separated list
//! (`drum_kit;pa_system;piano`), `photos` `;`- or space-separated URLs, `opening_hours` OSM syntax
//! (`Mo-Fr 10:00-22:00`), `hourly_price` a decimal with `currency` an ISO 4217 code. Any other
//! column is kept as a tag of that name. RFC 4180 quoting; UTF-8.

use super::import::{FIELDS, Location, RawFields, Record, check_count};
use crate::error::{ApiError, ApiResult};

/// Columns a CSV file must have.
pub const REQUIRED: [&str; 4] = ["name", "kind", "latitude", "longitude"];

/// The documented header line, all columns (for docs and the demo export).
pub fn documented_header() -> String {
    FIELDS.join(",")
}

/// Parses a CSV file into records (see the module docs; policy in [`super::import`]).
pub fn parse(bytes: &[u8]) -> ApiResult<Vec<Record>> {
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(bytes);
    let header = reader
        .headers()
        .map_err(|e| ApiError::BadRequest(format!("unreadable CSV header: {e}")))?
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}').to_lowercase())
        .collect::<Vec<_>>();
    let missing = REQUIRED
        .iter()
        .filter(|r| !header.iter().any(|h| h == *r))
        .copied()
        .collect::<Vec<_>>();
    if !missing.is_empty() {
        return Err(ApiError::BadRequest(format!(
            "the CSV header lacks required columns: {} (header: {})",
            missing.join(", "),
            documented_header()
        )));
    }
    if let Some(dup) = header
        .iter()
        .enumerate()
        .find(|(i, h)| header[..*i].contains(h))
    {
        return Err(ApiError::BadRequest(format!(
            "the CSV header names column {:?} twice",
            dup.1
        )));
    }
    let mut records = Vec::new();
    for row in reader.records() {
        check_count(records.len() + 1)?;
        let (line, result) = match row {
            Err(e) => (
                e.position().map(csv::Position::line),
                Err(format!("unreadable CSV record: {e}")),
            ),
            Ok(row) => {
                let line = row.position().map(csv::Position::line);
                if row.len() == header.len() {
                    let mut fields = RawFields::default();
                    for (key, value) in header.iter().zip(row.iter()) {
                        fields.add(key, value);
                    }
                    (line, fields.build(None))
                } else {
                    let message = format!(
                        "has {} fields but the header has {}",
                        row.len(),
                        header.len()
                    );
                    (line, Err(message))
                }
            }
        };
        records.push(Record {
            at: Location {
                line,
                ..Location::default()
            },
            result,
        });
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_parse_or_report_their_line() {
        let csv = "\u{feff}Name,kind,latitude,longitude,capacity,equipment,hourly_price,currency,parking\n\
                   Proberaum,rehearsal_room,52.5,13.4,lots,drums;theremin,12.5,EUR,yes\n\
                   \"Studio, \"\"A\"\"\",recording_studio,52.6,13.5,,,,,\n\
                   Broken,rehearsal_room,north,13.4,,,,,\n\
                   Short,rehearsal_room\n";
        let records = parse(csv.as_bytes()).expect("file is readable");
        assert_eq!(records.len(), 4);
        let (first, warnings) = records[0].result.as_ref().expect("first row imports");
        assert_eq!(first.capacity, None);
        assert_eq!(first.tags.get("capacity").map(String::as_str), Some("lots"));
        assert_eq!(first.tags.get("parking").map(String::as_str), Some("yes"));
        assert_eq!(
            first.tags.get("equipment").map(String::as_str),
            Some("theremin")
        );
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        let (second, _) = records[1].result.as_ref().expect("quoted row imports");
        assert_eq!(second.name, "Studio, \"A\"");
        assert_eq!(records[2].at.line, Some(4));
        assert!(records[2].result.is_err());
        assert_eq!(records[3].at.line, Some(5));
        assert!(records[3].result.is_err());
    }

    #[test]
    fn header_without_required_columns_is_refused() {
        assert!(parse(b"name,kind,lat,lon\nA,rehearsal_room,1,2\n").is_err());
        assert!(parse(b"name,kind,latitude,longitude,name\n").is_err());
    }
}

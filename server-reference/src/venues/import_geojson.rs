//! OpenStreetMap-style GeoJSON import: a `FeatureCollection` whose features are `Point`,
//! `Polygon` or `MultiPolygon` (a polygon's position is the mean of its outer ring's vertices)
//! with OSM tags as properties (Overpass exports that nest them under `tags` work too).
//!
//! Mapped tags — kind: `amenity=music_venue|concert_hall|events_venue` → performance venue,
//! `amenity=studio` or `craft=recording_studio|sound_engineer` → recording studio,
//! `amenity=music_rehearsal_place` or `leisure=music_rehearsal` → rehearsal room;
//! `name`, `addr:street|housenumber|postcode|city|country`, `opening_hours`, `capacity`,
//! `website`/`contact:website`/`url`, `phone`/`contact:phone`, `email`/`contact:email`, `image`.
//! The feature's `id` or `@id` becomes `source_ref` `osm:<id>`. Every other tag — including the
//! other `contact:*` keys — is kept verbatim among the venue's tags.

use serde_json::{Map, Value};

use super::geo::Point;
use super::import::{Location, RawFields, Record, check_count};
use crate::error::{ApiError, ApiResult};

/// OSM key → canonical field; the first key present for a field wins, the others stay tags.
const KEY_MAP: [(&str, &str); 15] = [
    ("name", "name"),
    ("addr:street", "street"),
    ("addr:housenumber", "house_number"),
    ("addr:postcode", "postcode"),
    ("addr:city", "city"),
    ("addr:country", "country"),
    ("opening_hours", "opening_hours"),
    ("capacity", "capacity"),
    ("website", "website"),
    ("contact:website", "website"),
    ("url", "website"),
    ("phone", "phone"),
    ("contact:phone", "phone"),
    ("email", "email"),
    ("contact:email", "email"),
];

/// Tag values that say which kind of venue a feature is.
const KIND_TAGS: [(&str, &str, &str); 8] = [
    ("amenity", "music_venue", "performance_venue"),
    ("amenity", "concert_hall", "performance_venue"),
    ("amenity", "events_venue", "performance_venue"),
    ("amenity", "studio", "recording_studio"),
    ("craft", "recording_studio", "recording_studio"),
    ("craft", "sound_engineer", "recording_studio"),
    ("amenity", "music_rehearsal_place", "rehearsal_room"),
    ("leisure", "music_rehearsal", "rehearsal_room"),
];

fn position(value: &Value) -> Option<Point> {
    let coords = value.as_array()?;
    Some(Point {
        longitude: coords.first()?.as_f64()?,
        latitude: coords.get(1)?.as_f64()?,
    })
}

/// The mean of a linear ring's distinct vertices (the closing vertex repeats the first).
fn ring_center(ring: &Value) -> Option<Point> {
    let mut points = ring
        .as_array()?
        .iter()
        .map(position)
        .collect::<Option<Vec<_>>>()?;
    if points.len() > 1 && points.first() == points.last() {
        points.pop();
    }
    if points.is_empty() {
        return None;
    }
    let n = points.len() as f64;
    Some(Point {
        latitude: points.iter().map(|p| p.latitude).sum::<f64>() / n,
        longitude: points.iter().map(|p| p.longitude).sum::<f64>() / n,
    })
}

fn geometry_point(geometry: Option<&Value>) -> Result<Point, String> {
    let geometry = geometry
        .filter(|g| !g.is_null())
        .ok_or("feature has no geometry")?;
    let kind = geometry.get("type").and_then(Value::as_str).unwrap_or("");
    let coords = geometry.get("coordinates").unwrap_or(&Value::Null);
    let point = match kind {
        "Point" => position(coords),
        "Polygon" => coords.get(0).and_then(ring_center),
        "MultiPolygon" => coords.get(0).and_then(|p| p.get(0)).and_then(ring_center),
        other => {
            return Err(format!(
                "unsupported geometry {other:?} (expected Point, Polygon or MultiPolygon)"
            ));
        }
    };
    point.ok_or_else(|| format!("malformed {kind} coordinates"))
}

fn text(value: &Value) -> Option<String> {
    match value {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        other => Some(other.to_string()),
    }
}

/// The feature's tags: its properties, with a nested `tags` object flattened in.
fn tags(properties: Option<&Map<String, Value>>) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (key, value) in properties.into_iter().flatten() {
        match (key.as_str(), value) {
            ("tags", Value::Object(nested)) => out.extend(
                nested
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), text(v)?))),
            ),
            _ => out.extend(text(value).map(|v| (key.clone(), v))),
        }
    }
    out
}

fn feature_record(feature: &Value) -> Result<(RawFields, Point), String> {
    if feature.get("type").and_then(Value::as_str) != Some("Feature") {
        return Err("not a GeoJSON Feature".into());
    }
    let point = geometry_point(feature.get("geometry"))?;
    let mut tags = tags(feature.get("properties").and_then(Value::as_object));
    let mut fields = RawFields::default();
    let kind = KIND_TAGS.iter().find_map(|(key, value, kind)| {
        let i = tags.iter().position(|(k, v)| k == key && v == value)?;
        tags.remove(i);
        Some(*kind)
    });
    if let Some(kind) = kind {
        fields.add("kind", kind);
    } else {
        return Err(
            "no venue kind: expected amenity=music_venue|studio|music_rehearsal_place, \
                    leisure=music_rehearsal or craft=recording_studio"
                .into(),
        );
    }
    let id = feature.get("id").and_then(text).or_else(|| {
        tags.iter()
            .find(|(k, _)| k == "@id")
            .map(|(_, v)| v.clone())
    });
    if let Some(id) = id {
        fields.add("source_ref", &format!("osm:{id}"));
    }
    for (key, value) in tags {
        if key == "image" {
            fields.add("photos", &value);
            continue;
        }
        match KEY_MAP.iter().find(|(osm, _)| *osm == key) {
            Some((_, field)) if !fields.has(field) => fields.add(field, &value),
            _ => fields.add_tag(&key, &value),
        }
    }
    Ok((fields, point))
}

/// Parses a GeoJSON `FeatureCollection` into records (policy in [`super::import`]).
pub fn parse(body: &Value) -> ApiResult<Vec<Record>> {
    if body.get("type").and_then(Value::as_str) != Some("FeatureCollection") {
        return Err(ApiError::BadRequest(
            "GeoJSON import expects a FeatureCollection".into(),
        ));
    }
    let features = body
        .get("features")
        .and_then(Value::as_array)
        .ok_or_else(|| {
            ApiError::BadRequest("the FeatureCollection has no `features` array".into())
        })?;
    check_count(features.len())?;
    Ok(features
        .iter()
        .enumerate()
        .map(|(i, feature)| Record {
            at: Location {
                feature: Some(i as u64),
                ..Location::default()
            },
            result: feature_record(feature).and_then(|(fields, p)| fields.build(Some(p))),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::venues::model::VenueKind;

    #[test]
    fn maps_osm_tags_and_keeps_the_rest() {
        let body = json!({"type": "FeatureCollection", "features": [
            {"type": "Feature", "id": "node/42",
             "geometry": {"type": "Point", "coordinates": [13.4, 52.5]},
             "properties": {"amenity": "music_venue", "name": "SO36", "addr:city": "Berlin",
                            "capacity": "500", "opening_hours": "PH off", "wheelchair": "yes",
                            "contact:instagram": "so36", "website": "https://so36.com"}},
            {"type": "Feature",
             "geometry": {"type": "Polygon", "coordinates": [[[0.0, 0.0], [2.0, 0.0], [2.0, 2.0], [0.0, 2.0], [0.0, 0.0]]]},
             "properties": {"tags": {"leisure": "music_rehearsal", "name": "Box"}, "@id": "way/7"}},
            {"type": "Feature", "geometry": null, "properties": {"amenity": "studio", "name": "X"}},
            {"type": "Feature", "geometry": {"type": "Point", "coordinates": [1, 2]},
             "properties": {"amenity": "cafe", "name": "Café"}}
        ]});
        let records = parse(&body).expect("readable");
        let (so36, warnings) = records[0].result.as_ref().expect("imports");
        assert_eq!(so36.kind, VenueKind::PerformanceVenue);
        assert_eq!(so36.capacity, Some(500));
        assert_eq!(so36.address.city.as_deref(), Some("Berlin"));
        assert_eq!(so36.source_ref.as_deref(), Some("osm:node/42"));
        assert_eq!(so36.tags.get("wheelchair").map(String::as_str), Some("yes"));
        assert_eq!(
            so36.tags.get("contact:instagram").map(String::as_str),
            Some("so36")
        );
        assert!(
            !so36.tags.contains_key("amenity"),
            "mapped tags are consumed"
        );
        let hours = so36.opening_hours.as_ref().expect("raw kept");
        assert_eq!(
            (hours.raw.as_deref(), hours.weekly.as_ref()),
            (Some("PH off"), None)
        );
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        let (boxed, _) = records[1].result.as_ref().expect("polygon imports");
        assert_eq!(
            boxed.coordinates,
            Point {
                latitude: 1.0,
                longitude: 1.0
            }
        );
        assert_eq!(boxed.source_ref.as_deref(), Some("osm:way/7"));
        assert!(records[2].result.is_err());
        assert!(records[3].result.is_err());
        assert_eq!(records[3].at.feature, Some(3));
    }
}

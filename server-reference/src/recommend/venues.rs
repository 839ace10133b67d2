//! Rehearsal rooms for a group: ranked by the members' travel, the equipment their instruments
//! need, price and a capacity that fits.
//!
//! `score = 0.45 × travel + 0.30 × equipment + 0.15 × price + 0.10 × capacity`, each in 0..1:
//! - travel `= exp(−mean km per member / 10)` over members with a known location (0.5 if none);
//! - equipment = share of the needed items the room has ([`needed_equipment`]; 1 if none);
//! - price `= cheapest hourly price among the candidate rooms / this room's` (0.5 if unknown);
//! - capacity `= √(group size / capacity)` — a room for five beats a hall for five hundred —
//!   0.5 if unknown. Rooms too small for the group are left out.

use super::model::{GeoPoint, canonical_instrument};

/// A venue record (rehearsal room, studio, stage), as far as ranking needs it.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Venue {
    /// The caller's id.
    pub id: u64,
    /// Name, for the caller's display.
    pub name: String,
    /// Where it is.
    pub location: Option<GeoPoint>,
    /// How many people fit.
    pub capacity: Option<u32>,
    /// Hourly price in the caller's currency (one currency per query).
    pub hourly_price: Option<f64>,
    /// Equipment tags (`drum kit`, `PA`, `guitar amp`, …); normalised by [`canonical_equipment`].
    pub equipment: Vec<String>,
}

/// A member of the group looking for a room.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct GroupMember {
    /// Coarse home location.
    pub location: Option<GeoPoint>,
    /// Instruments they will play in this session.
    pub instruments: Vec<String>,
}

/// One ranked room.
#[derive(Debug, Clone, PartialEq)]
pub struct RankedVenue {
    /// The venue's id.
    pub id: u64,
    /// Total score, 0..1.
    pub score: f64,
    /// Sum of the members' straight-line distances, km (members with a location).
    pub total_travel_km: f64,
    /// The longest single trip, km.
    pub farthest_km: f64,
    /// Needed equipment the room lacks.
    pub missing_equipment: Vec<String>,
    /// "14 km total travel · has drum kit, PA · lacks bass amp".
    pub reason: String,
}

/// Canonical equipment tag: lower case, and common spellings folded.
pub fn canonical_equipment(tag: &str) -> String {
    let t = tag.trim().to_lowercase();
    match t.as_str() {
        "drums" | "drumkit" | "drum set" | "drum kit" | "drumset" => "drum kit",
        "pa system" | "p.a." | "pa" | "p.a" | "vocal pa" => "pa",
        "amp" | "amps" | "amplifier" | "amplifiers" | "backline" => "amp",
        "guitar amplifier" | "guitar amp" => "guitar amp",
        "bass amplifier" | "bass amp" => "bass amp",
        "keyboard" | "keyboards" | "synth" | "stage piano" | "digital piano" => "keyboard",
        "piano" | "grand piano" | "upright piano" => "piano",
        other => return other.to_owned(),
    }
    .to_owned()
}

/// What a group needs the room to provide, from the instruments played (canonical tags):
/// drums → drum kit, bass → bass amp, guitar → guitar amp, vocals → PA, keys → keyboard,
/// piano → piano. Other instruments are assumed to be brought along.
pub fn needed_equipment(group: &[GroupMember]) -> Vec<&'static str> {
    let mut need: Vec<&'static str> = group
        .iter()
        .flat_map(|m| &m.instruments)
        .filter_map(|i| match canonical_instrument(i).as_str() {
            "drums" => Some("drum kit"),
            "bass" => Some("bass amp"),
            "guitar" => Some("guitar amp"),
            "vocals" => Some("pa"),
            "keys" => Some("keyboard"),
            "piano" => Some("piano"),
            _ => None,
        })
        .collect();
    need.sort_unstable();
    need.dedup();
    need
}

/// Whether a room's equipment covers one need: a generic "amp" covers guitar and bass amps, a
/// piano covers a keyboard.
fn covers(have: &[String], need: &str) -> bool {
    have.iter().any(|h| {
        h == need || (h == "amp" && need.ends_with(" amp")) || (h == "piano" && need == "keyboard")
    })
}

/// The best `limit` rooms for the group, best first (ties by id).
pub fn rank_venues(group: &[GroupMember], venues: &[Venue], limit: usize) -> Vec<RankedVenue> {
    let need = needed_equipment(group);
    let size = group.len().max(1) as u32;
    let fits = |v: &&Venue| v.capacity.is_none_or(|c| c >= size);
    let cheapest = venues
        .iter()
        .filter(fits)
        .filter_map(|v| v.hourly_price)
        .filter(|p| p.is_finite() && *p >= 0.0)
        .fold(f64::INFINITY, f64::min);
    let mut ranked: Vec<RankedVenue> = venues
        .iter()
        .filter(fits)
        .map(|v| {
            let trips: Vec<f64> = match v.location {
                Some(at) => group
                    .iter()
                    .filter_map(|m| Some(m.location?.distance_km(at)))
                    .collect(),
                None => Vec::new(),
            };
            let total: f64 = trips.iter().sum();
            let travel = if trips.is_empty() {
                0.5
            } else {
                (-(total / trips.len() as f64) / 10.0).exp()
            };
            let have: Vec<String> = v.equipment.iter().map(|e| canonical_equipment(e)).collect();
            let (present, missing): (Vec<&str>, Vec<&str>) =
                need.iter().partition(|n| covers(&have, n));
            let equipment = if need.is_empty() {
                1.0
            } else {
                present.len() as f64 / need.len() as f64
            };
            let price = match v.hourly_price.filter(|p| p.is_finite() && *p >= 0.0) {
                Some(p) if p <= cheapest => 1.0,
                Some(p) => cheapest / p,
                None => 0.5,
            };
            let capacity = v
                .capacity
                .map_or(0.5, |c| (f64::from(size) / f64::from(c.max(1))).sqrt());
            let score = 0.45 * travel + 0.30 * equipment + 0.15 * price + 0.10 * capacity;
            let mut reason = vec![format!("{total:.0} km total travel")];
            if !present.is_empty() {
                reason.push(format!("has {}", present.join(", ")));
            }
            if !missing.is_empty() {
                reason.push(format!("lacks {}", missing.join(", ")));
            }
            if let Some(p) = v.hourly_price {
                reason.push(format!("{p:.0}/h"));
            }
            RankedVenue {
                id: v.id,
                score,
                total_travel_km: total,
                farthest_km: trips.iter().copied().fold(0.0, f64::max),
                missing_equipment: missing.iter().map(|m| (*m).to_owned()).collect(),
                reason: reason.join(" · "),
            }
        })
        .collect();
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.id.cmp(&b.id)));
    ranked.truncate(limit);
    ranked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(lat: f64, lon: f64, instrument: &str) -> GroupMember {
        GroupMember {
            location: Some(GeoPoint { lat, lon }),
            instruments: vec![instrument.into()],
        }
    }

    fn room(id: u64, lon: f64, capacity: u32, price: f64, equipment: &[&str]) -> Venue {
        Venue {
            id,
            name: format!("room {id}"),
            location: Some(GeoPoint { lat: 52.5, lon }),
            capacity: Some(capacity),
            hourly_price: Some(price),
            equipment: equipment.iter().map(|e| (*e).to_owned()).collect(),
        }
    }

    #[test]
    fn needs_follow_the_instruments() {
        let band = [
            member(52.5, 13.4, "Drum kit"),
            member(52.5, 13.4, "bass guitar"),
            member(52.5, 13.4, "singer"),
        ];
        assert_eq!(needed_equipment(&band), vec!["bass amp", "drum kit", "pa"]);
    }

    #[test]
    fn travel_equipment_price_and_capacity_all_count() {
        let band = [
            member(52.5, 13.3, "drums"),
            member(52.5, 13.5, "bass"),
            member(52.5, 13.4, "vocals"),
        ];
        let venues = [
            room(1, 13.4, 6, 15.0, &["Drums", "Amps", "PA system"]), // central, complete, cheap
            room(2, 13.4, 6, 15.0, &["PA"]),                         // central, lacks kit and amp
            room(3, 14.4, 6, 15.0, &["drum kit", "amp", "pa"]),      // ~68 km out
            room(4, 13.4, 500, 15.0, &["drum kit", "amp", "pa"]),    // a hall
            room(5, 13.4, 2, 5.0, &["drum kit", "amp", "pa"]),       // too small: left out
            room(6, 13.4, 6, 45.0, &["drum kit", "amp", "pa"]),      // three times the price
        ];
        let ranked = rank_venues(&band, &venues, 10);
        let ids: Vec<u64> = ranked.iter().map(|r| r.id).collect();
        assert_eq!(ids[0], 1);
        assert!(!ids.contains(&5));
        let pos = |id| ids.iter().position(|&x| x == id).expect("ranked");
        for worse in [2, 3, 4, 6] {
            assert!(pos(1) < pos(worse), "{ids:?}");
        }
        let missing = &ranked[pos(2)].missing_equipment;
        assert_eq!(missing, &vec!["bass amp".to_owned(), "drum kit".to_owned()]);
        assert!(ranked[pos(2)].reason.contains("lacks bass amp, drum kit"));
        assert!(ranked[pos(3)].total_travel_km > 190.0);
        assert_eq!(rank_venues(&band, &venues, 2).len(), 2);
    }
}

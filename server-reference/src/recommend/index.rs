//! Candidate generation: the members who can possibly make a seeker's top list, found through
//! postings and a geographic grid instead of a scan of the population.
//!
//! The index keeps, per position in the population, postings by instrument played, instrument
//! sought, genre and access network, and a grid of [`CELL_DEG`]° cells. Hidden members are in no
//! posting (they are never candidates). A query works in two steps:
//! - **Reach** (exact feasibility): online, the cells whose nearest possible point is within the
//!   distance the seeker's own latency budget allows ([`latency::max_distance_km`]), plus every
//!   member with an RTT measured to the seeker or on a network measured to the seeker's network
//!   (a measurement overrides distance); in person, the cells within the travel limit. A member
//!   outside the reach is infeasible, so nothing is lost by skipping them.
//! - **Tiers with bounds** (exact ranking): tier 1 is who plays what the seeker looks for, who looks
//!   for what the seeker plays, the seeker's co-jam neighbourhood and the measured members; tier 2
//!   adds genre sharers; tier 3 is the rest of the reach. Outside tier 1 the instrument factor
//!   is at most `0.7 × a + 0.3 × 0.5` (`a` = 0.5 if the seeker looks for nothing, else 0) and the
//!   co-jam factor is 0; outside tier 2 the genre factor is 0 too. Each later tier is scored only
//!   while the current k-th best score does not exceed that tier's upper bound, so the result
//!   equals a full scan's (a property test checks it).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, HashSet};

use super::model::{Candidate, GeoPoint, MemberId, NetworkId};
use super::{CoJamEvidence, Mode, Prepared, Query, Recommender, factors, latency};

/// Grid cell size in degrees (about 111 km north–south).
pub const CELL_DEG: f64 = 1.0;

/// A grid cell: (latitude row, longitude column).
type Cell = (i32, i32);

fn cell_of(p: GeoPoint) -> Cell {
    (
        (p.lat / CELL_DEG).floor() as i32,
        (p.lon / CELL_DEG).floor() as i32,
    )
}

/// A lower bound of the distance from `p` to any point in `cell`, km: the distance to the
/// cell's centre minus the centre's distance to its farthest corner (triangle inequality).
fn cell_lower_bound_km(p: GeoPoint, cell: Cell) -> f64 {
    let (lat0, lon0) = (f64::from(cell.0) * CELL_DEG, f64::from(cell.1) * CELL_DEG);
    let centre = GeoPoint {
        lat: lat0 + CELL_DEG / 2.0,
        lon: lon0 + CELL_DEG / 2.0,
    };
    let corner = [
        (0.0, 0.0),
        (CELL_DEG, 0.0),
        (0.0, CELL_DEG),
        (CELL_DEG, CELL_DEG),
    ]
    .into_iter()
    .map(|(dlat, dlon)| {
        centre.distance_km(GeoPoint {
            lat: lat0 + dlat,
            lon: lon0 + dlon,
        })
    })
    .fold(0.0, f64::max);
    (p.distance_km(centre) - corner).max(0.0)
}

fn add<K: Eq + std::hash::Hash + Copy>(list: &mut HashMap<K, Vec<u32>>, keys: &[K], pos: u32) {
    for k in keys {
        list.entry(*k).or_default().push(pos);
    }
}

fn remove<K: Eq + std::hash::Hash + Copy>(list: &mut HashMap<K, Vec<u32>>, keys: &[K], pos: u32) {
    for k in keys {
        if let Some(v) = list.get_mut(k) {
            v.retain(|&x| x != pos);
            if v.is_empty() {
                list.remove(k);
            }
        }
    }
}

/// Postings and grid over the visible members' positions.
#[derive(Debug, Default)]
pub(super) struct CandidateIndex {
    plays: HashMap<u32, Vec<u32>>,
    seeks: HashMap<u32, Vec<u32>>,
    genres: HashMap<u32, Vec<u32>>,
    networks: HashMap<NetworkId, Vec<u32>>,
    cells: HashMap<Cell, Vec<u32>>,
}

impl CandidateIndex {
    /// Files the member at `pos` (the caller skips hidden members).
    pub(super) fn add(&mut self, pos: usize, p: &Prepared, m: &Candidate) {
        let pos = pos as u32;
        add(&mut self.plays, &p.plays, pos);
        add(&mut self.seeks, &p.seeks, pos);
        add(&mut self.genres, &p.genres, pos);
        add(&mut self.networks, m.network.as_slice(), pos);
        add(
            &mut self.cells,
            &m.location.map(cell_of).into_iter().collect::<Vec<_>>(),
            pos,
        );
    }

    /// Removes what [`CandidateIndex::add`] filed for the same arguments.
    pub(super) fn remove(&mut self, pos: usize, p: &Prepared, m: &Candidate) {
        let pos = pos as u32;
        remove(&mut self.plays, &p.plays, pos);
        remove(&mut self.seeks, &p.seeks, pos);
        remove(&mut self.genres, &p.genres, pos);
        remove(&mut self.networks, m.network.as_slice(), pos);
        remove(
            &mut self.cells,
            &m.location.map(cell_of).into_iter().collect::<Vec<_>>(),
            pos,
        );
    }

    /// Visible players of `instrument`.
    pub(super) fn players(&self, instrument: u32) -> &[u32] {
        self.plays.get(&instrument).map_or(&[], Vec::as_slice)
    }

    fn list<'a, K: Eq + std::hash::Hash>(map: &'a HashMap<K, Vec<u32>>, key: &K) -> &'a [u32] {
        map.get(key).map_or(&[], Vec::as_slice)
    }
}

/// Who is feasible at all for one seeker and mode (a superset; `evaluate` decides).
pub(super) struct Reach {
    cells: HashSet<Cell>,
    extra: HashSet<u32>,
}

impl Reach {
    pub(super) fn contains(&self, m: &Candidate, pos: u32) -> bool {
        self.extra.contains(&pos) || m.location.is_some_and(|p| self.cells.contains(&cell_of(p)))
    }
}

impl Recommender {
    /// The seeker's reach for `query.mode` (see the module docs).
    pub(super) fn reach(&self, s: usize, query: &Query) -> Reach {
        let seeker = &self.members[s];
        let max_km = match query.mode {
            Mode::Online => latency::max_distance_km(
                seeker
                    .max_latency_ms
                    .unwrap_or(super::DEFAULT_MAX_LATENCY_MS),
            ),
            Mode::InPerson => query.max_travel_km,
        };
        // A kilometre of slack covers rounding in the inverse of the distance model.
        let cells = match seeker.location {
            Some(origin) if max_km >= 0.0 => self
                .candidates
                .cells
                .keys()
                .filter(|&&c| cell_lower_bound_km(origin, c) <= max_km + 1.0)
                .copied()
                .collect(),
            _ => HashSet::new(),
        };
        let mut extra = HashSet::new();
        if query.mode == Mode::Online {
            let positions = |ids: &[MemberId]| -> Vec<u32> {
                ids.iter()
                    .filter_map(|id| self.index.get(id).map(|&i| i as u32))
                    .collect()
            };
            extra.extend(positions(self.rtts.measured_members(seeker.id)));
            if let Some(net) = seeker.network {
                for other in self.rtts.measured_networks(net) {
                    extra.extend(CandidateIndex::list(&self.candidates.networks, other));
                }
            }
        }
        Reach { cells, extra }
    }

    /// The score no member outside tier 1 can exceed (`genres`: whether the genre factor may
    /// still count, i.e. tier 2).
    fn tier_bound(&self, s: usize, genres: bool) -> f64 {
        let w = &self.weights;
        let a = if self.prepared[s].seeks.is_empty() {
            0.5
        } else {
            0.0
        };
        let fit = 0.7 * a + 0.3 * 0.5;
        let total = w.instruments
            + w.genres
            + w.influences
            + w.bio
            + w.skill
            + w.availability
            + w.goals
            + w.place
            + w.cojam
            + w.reliability;
        let reachable = w.instruments * fit
            + if genres { w.genres } else { 0.0 }
            + w.influences
            + w.bio
            + w.skill
            + w.availability
            + w.goals
            + w.place
            + w.reliability;
        reachable / total.max(f64::EPSILON)
    }

    /// The best `limit` feasible candidates as (score, position), best first (ties by member
    /// id): the same list a full scan gives, found through the index.
    pub(super) fn top_indexed(
        &self,
        s: usize,
        query: &Query,
        hood: &HashMap<MemberId, CoJamEvidence>,
        limit: usize,
    ) -> Vec<(f64, usize)> {
        if limit == 0 {
            return Vec::new();
        }
        let reach = self.reach(s, query);
        let mut seen = vec![false; self.members.len()];
        seen[s] = true;
        let mut scored: Vec<(f64, usize)> = Vec::new();
        // The best `limit` scores so far (non-negative, so their bit patterns order like them):
        // its minimum is the score a candidate must reach to matter.
        let mut best: BinaryHeap<Reverse<u64>> = BinaryHeap::with_capacity(limit + 1);
        let mut visit = |c: u32, scored: &mut Vec<(f64, usize)>| {
            let i = c as usize;
            if std::mem::replace(&mut seen[i], true) {
                return;
            }
            let m = &self.members[i];
            if m.hidden || query.exclude.contains(&m.id) || !reach.contains(m, c) {
                return;
            }
            if best.len() == limit {
                let threshold = best.peek().map_or(0.0, |r| f64::from_bits(r.0));
                if self.quick_bound(s, i, hood) + 1e-6 < threshold {
                    return;
                }
            }
            if let Some(r) = self.evaluate(s, i, query, hood, false) {
                scored.push((r.score, i));
                best.push(Reverse(r.score.max(0.0).to_bits()));
                if best.len() > limit {
                    best.pop();
                }
            }
        };
        let p = &self.prepared[s];
        let ix = &self.candidates;
        for i in &p.seeks {
            CandidateIndex::list(&ix.plays, i)
                .iter()
                .for_each(|&c| visit(c, &mut scored));
        }
        for i in &p.plays {
            CandidateIndex::list(&ix.seeks, i)
                .iter()
                .for_each(|&c| visit(c, &mut scored));
        }
        for id in hood.keys() {
            if let Some(&c) = self.index.get(id) {
                visit(c as u32, &mut scored);
            }
        }
        reach.extra.iter().for_each(|&c| visit(c, &mut scored));
        if !self.settled(&mut scored, limit, self.tier_bound(s, true)) {
            for g in &p.genres {
                CandidateIndex::list(&ix.genres, g)
                    .iter()
                    .for_each(|&c| visit(c, &mut scored));
            }
            if !self.settled(&mut scored, limit, self.tier_bound(s, false)) {
                for cell in &reach.cells {
                    CandidateIndex::list(&ix.cells, cell)
                        .iter()
                        .for_each(|&c| visit(c, &mut scored));
                }
            }
        }
        self.sort_ranked(&mut scored);
        scored.truncate(limit);
        scored
    }

    /// An upper bound of candidate `c`'s score for seeker `s`, from the cheap factors computed
    /// exactly (instruments, genres, influences, co-jam, reliability) and every other at 1.
    fn quick_bound(&self, s: usize, c: usize, hood: &HashMap<MemberId, CoJamEvidence>) -> f64 {
        let (pa, pb) = (&self.prepared[s], &self.prepared[c]);
        let b = &self.members[c];
        let w = &self.weights;
        let fit = factors::instrument_fit(&pa.plays, &pa.seeks, &pb.plays, &pb.seeks).value;
        let genres = factors::tag_overlap(&pa.genres, &pb.genres, &self.tag_weight).value;
        let influences =
            factors::tag_overlap(&pa.influences, &pb.influences, &self.tag_weight).value;
        let cojam = hood.get(&b.id).map_or(0.0, CoJamEvidence::value);
        let total = w.instruments
            + w.genres
            + w.influences
            + w.bio
            + w.skill
            + w.availability
            + w.goals
            + w.place
            + w.cojam
            + w.reliability;
        let bound = w.instruments * fit
            + w.genres * genres
            + w.influences * influences
            + w.bio
            + w.skill
            + w.availability
            + w.goals
            + w.place
            + w.cojam * cojam
            + w.reliability * factors::reliability(b.jams_attended, b.no_shows);
        bound / total.max(f64::EPSILON)
    }

    /// Whether `limit` scores already beat `bound` (so no later tier can enter the list).
    fn settled(&self, scored: &mut [(f64, usize)], limit: usize, bound: f64) -> bool {
        if scored.len() < limit {
            return false;
        }
        let (_, kth, _) = scored.select_nth_unstable_by(limit - 1, |a, b| b.0.total_cmp(&a.0));
        kth.0 > bound + 1e-12
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_bound_never_exceeds_the_true_distance() {
        let origin = GeoPoint {
            lat: 52.5,
            lon: 13.4,
        };
        for lat in -80..80 {
            for lon in (-180..180).step_by(7) {
                let p = GeoPoint {
                    lat: f64::from(lat) + 0.37,
                    lon: f64::from(lon) + 0.81,
                };
                assert!(cell_lower_bound_km(origin, cell_of(p)) <= origin.distance_km(p) + 1e-9);
            }
        }
    }
}

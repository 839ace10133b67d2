//! Candidate generation: the members who can possibly make a seeker's top list, found through
//! postings split by grid cell and visited best bound first, instead of a scan of the population.
//!
//! The index keeps a grid of [`CELL_DEG`]° cells; each cell holds its members and, per cell,
//! postings by instrument played, instrument sought and genre. Beside them, one compact [`Hot`]
//! record per position (a flat array, no hash lookup) carries what the cheap bound reads:
//! cell, bit signatures of instruments and tags, level, free minutes a week, goals and
//! reliability. Hidden members are in no posting (they are never candidates). A query:
//! - **Reach** (exact feasibility): online, a cell counts when its nearest possible point is
//!   within the distance the seeker's own latency budget allows ([`latency::max_distance_km`]);
//!   in person, within the travel limit. Members measured to the seeker (an RTT per pair, or
//!   between their networks — a measurement overrides distance) are reached whatever their
//!   cell. Anyone else outside the reach is infeasible, so nothing is lost by skipping them.
//! - **First** the seeker's co-jam neighbourhood and the measured members, so that every later
//!   candidate has a co-jam factor of 0 and a latency modelled from distance alone.
//! - **Blocks, best bound first** (block-max WAND, Ding & Suel, "Faster top-k document retrieval
//!   using block-max indexes", SIGIR 2011; the stopping rule is Fagin's threshold algorithm,
//!   Fagin, Lotem & Naor, PODS 2001): a block is one cell's slice of one [`Tier`] — who plays
//!   what the seeker looks for; else who looks for what the seeker plays; else who shares a
//!   genre; else anyone in the cell. Its upper bound takes the place factor at the cell's nearest
//!   point, the tier's bounds for instruments (`0.7 × a + 0.3 × b`, with `a` ≤ 0.5 if the seeker
//!   looks for nothing and 0 otherwise outside the first tier, `b` ≤ 0.5 outside the first two)
//!   and genres (0 in the last tier), and for the other factors the best the seeker's own profile
//!   allows (1, or the neutral 0.5 when the seeker leaves it unknown). Blocks are visited in order
//!   of decreasing bound, and the walk **stops** at the first block whose bound is below the
//!   running k-th best score: every member not yet visited has the block of its own (first) tier
//!   in its own cell still ahead, so cannot score more.
//! - **Per candidate**, two bounds before the full score: one from the [`Hot`] record alone
//!   (instrument and tag signatures, exact skill, goals, reliability, a free-time bound from both
//!   weekly totals, the cell's place bound), then the exact instrument, genre and influence
//!   factors. A candidate whose bound is below the k-th best is skipped.
//!
//! The result equals a full scan's, ties included (a property test checks it).

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap};

use super::model::{Candidate, GeoPoint, Goal, MemberId, NetworkId};
use super::{CoJamEvidence, Mode, Prepared, Query, Recommender, Weights, factors, latency};

/// Grid cell size in degrees (about 111 km north–south).
pub const CELL_DEG: f64 = 1.0;

/// Slack for comparing a bound with a score summed in another order (rounding only).
const SLACK: f64 = 1e-6;

/// A grid cell: (latitude row, longitude column).
type Cell = (i32, i32);

/// Position in [`CandidateIndex::cells`] of a member without a location.
const NO_CELL: u32 = u32::MAX;

fn cell_of(p: GeoPoint) -> Cell {
    (
        (p.lat / CELL_DEG).floor() as i32,
        (p.lon / CELL_DEG).floor() as i32,
    )
}

/// The cell's centre and the distance from it to its farthest corner, km.
fn cell_centre(cell: Cell) -> (GeoPoint, f64) {
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
    (centre, corner)
}

/// A lower bound of the distance from `p` to any point in a cell with this centre and corner
/// radius, km (triangle inequality).
fn cell_lower_bound_km(p: GeoPoint, centre: GeoPoint, radius_km: f64) -> f64 {
    (p.distance_km(centre) - radius_km).max(0.0)
}

/// A set of ids folded into 64 bits (`id % 64`): disjoint signatures prove disjoint sets;
/// overlapping ones only allow an overlap.
fn signature(ids: &[u32]) -> u64 {
    ids.iter().fold(0, |s, &i| s | 1 << (i % 64))
}

fn goal_bits(goals: &[Goal]) -> u8 {
    goals.iter().fold(0, |s, &g| s | 1 << (g as u8))
}

/// What the per-candidate bound reads about one member, in one small record, so the walk over
/// a posting list reads one flat array instead of the member's scattered vectors.
#[derive(Debug, Clone, Copy, Default)]
struct Hot {
    visible: bool,
    /// The member's position.
    pos: u32,
    cell: u32,
    plays: u64,
    seeks: u64,
    genres: u64,
    influences: u64,
    /// Level on the best instrument, NaN when unknown.
    level: f64,
    /// Free minutes a week (UTC intervals are disjoint, so this bounds any overlap).
    week_min: u32,
    goals: u8,
    reliability: f64,
}

impl Hot {
    fn of(pos: usize, p: &Prepared, m: &Candidate, cell: u32) -> Hot {
        Hot {
            visible: !m.hidden,
            pos: pos as u32,
            cell,
            plays: signature(&p.plays),
            seeks: signature(&p.seeks),
            genres: signature(&p.genres),
            influences: signature(&p.influences),
            level: p.level.unwrap_or(f64::NAN),
            week_min: p.week.iter().map(|&(s, e)| e - s).sum(),
            goals: goal_bits(&p.goals),
            reliability: factors::reliability(m.jams_attended, m.no_shows),
        }
    }
}

/// One cell's members and postings. The instrument postings, walked for most queries, carry
/// copies of the members' [`Hot`] records, so that walk reads memory in order; the others
/// carry positions.
#[derive(Debug)]
struct CellPostings {
    centre: GeoPoint,
    radius_km: f64,
    all: Vec<u32>,
    plays: HashMap<u32, Vec<Hot>>,
    seeks: HashMap<u32, Vec<Hot>>,
    genres: HashMap<u32, Vec<u32>>,
}

impl CellPostings {
    fn new(cell: Cell) -> Self {
        let (centre, radius_km) = cell_centre(cell);
        CellPostings {
            centre,
            radius_km,
            all: Vec::new(),
            plays: HashMap::new(),
            seeks: HashMap::new(),
            genres: HashMap::new(),
        }
    }
}

/// A posting entry: a position, or a position with its [`Hot`] record.
trait Entry: Copy {
    fn pos(&self) -> u32;
}

impl Entry for u32 {
    fn pos(&self) -> u32 {
        *self
    }
}

impl Entry for Hot {
    fn pos(&self) -> u32 {
        self.pos
    }
}

fn list<'a, K: Eq + std::hash::Hash, E>(map: &'a HashMap<K, Vec<E>>, key: &K) -> &'a [E] {
    map.get(key).map_or(&[], Vec::as_slice)
}

fn add<K: Eq + std::hash::Hash + Copy, E: Entry>(map: &mut HashMap<K, Vec<E>>, keys: &[K], e: E) {
    for k in keys {
        map.entry(*k).or_default().push(e);
    }
}

/// Order within a posting does not matter, so a removal swaps the last entry in.
fn drop_from<E: Entry>(v: &mut Vec<E>, pos: u32) {
    if let Some(k) = v.iter().position(|x| x.pos() == pos) {
        v.swap_remove(k);
    }
}

fn remove<K: Eq + std::hash::Hash + Copy, E: Entry>(
    map: &mut HashMap<K, Vec<E>>,
    keys: &[K],
    pos: u32,
) {
    for k in keys {
        if let Some(v) = map.get_mut(k) {
            drop_from(v, pos);
            if v.is_empty() {
                map.remove(k);
            }
        }
    }
}

/// Postings and grid over the visible members' positions.
#[derive(Debug, Default)]
pub(super) struct CandidateIndex {
    networks: HashMap<NetworkId, Vec<u32>>,
    cell_numbers: HashMap<Cell, u32>,
    cells: Vec<CellPostings>,
    hot: Vec<Hot>,
}

impl CandidateIndex {
    /// Files the member at `pos` (the caller skips hidden members).
    pub(super) fn add(&mut self, pos: usize, p: &Prepared, m: &Candidate) {
        let cell = match m.location.map(cell_of) {
            Some(c) => {
                let next = self.cells.len() as u32;
                let n = *self.cell_numbers.entry(c).or_insert(next);
                if n == next {
                    self.cells.push(CellPostings::new(c));
                }
                n
            }
            None => NO_CELL,
        };
        if self.hot.len() <= pos {
            self.hot.resize(pos + 1, Hot::default());
        }
        let hot = Hot::of(pos, p, m, cell);
        self.hot[pos] = hot;
        let pos = pos as u32;
        add(&mut self.networks, m.network.as_slice(), pos);
        if let Some(cp) = self.cells.get_mut(cell as usize) {
            cp.all.push(pos);
            add(&mut cp.plays, &p.plays, hot);
            add(&mut cp.seeks, &p.seeks, hot);
            add(&mut cp.genres, &p.genres, pos);
        }
    }

    /// Removes what [`CandidateIndex::add`] filed for the same arguments.
    pub(super) fn remove(&mut self, pos: usize, p: &Prepared, m: &Candidate) {
        let cell = self.hot.get(pos).map_or(NO_CELL, |h| h.cell);
        if let Some(h) = self.hot.get_mut(pos) {
            *h = Hot::default();
        }
        let pos = pos as u32;
        remove(&mut self.networks, m.network.as_slice(), pos);
        if let Some(cp) = self.cells.get_mut(cell as usize) {
            drop_from(&mut cp.all, pos);
            remove(&mut cp.plays, &p.plays, pos);
            remove(&mut cp.seeks, &p.seeks, pos);
            remove(&mut cp.genres, &p.genres, pos);
        }
    }
}

/// Who is feasible at all for one seeker and mode, and how much place score each cell allows.
struct Reach {
    /// Per cell number: the place factor's bound at the cell's nearest point, or `None` when
    /// the cell is out of reach.
    place: Vec<Option<f64>>,
    /// Members with a measurement to the seeker (reached whatever their cell).
    measured: Vec<u32>,
}

/// The factor values (or bounds) of one pair, in the order of [`Weights`]' fields.
type Parts = [f64; 10];

/// `Σ weight × value / Σ weight`, as the score sums it.
fn combine(w: &Weights, v: &Parts) -> f64 {
    let w = [
        w.instruments,
        w.genres,
        w.influences,
        w.bio,
        w.skill,
        w.availability,
        w.goals,
        w.place,
        w.cojam,
        w.reliability,
    ];
    let total: f64 = w.iter().sum();
    w.iter().zip(v).map(|(w, v)| w * v).sum::<f64>() / total.max(f64::EPSILON)
}

/// Index of each factor in [`Parts`].
const INSTRUMENTS: usize = 0;
const GENRES: usize = 1;
const INFLUENCES: usize = 2;

/// The seeker's side of the cheap bound, computed once per query.
struct SeekerView {
    hot: Hot,
    seeks_nothing: bool,
    /// Per signature bit: the summed weight of the seeker's tags on that bit.
    genre_bits: [f64; 64],
    genre_total: f64,
    influence_bits: [f64; 64],
    influence_total: f64,
}

fn tag_bits(tags: &[u32], weight: &[f64]) -> ([f64; 64], f64) {
    let mut bits = [0.0; 64];
    let mut total = 0.0;
    for &t in tags {
        let w = weight.get(t as usize).copied().unwrap_or(1.0);
        bits[(t % 64) as usize] += w;
        total += w;
    }
    (bits, total)
}

/// A bound of the weighted Jaccard overlap: the shared weight is at most the seeker's weight on
/// the common signature bits, and the union at least the seeker's own weight.
fn tag_bound(bits: &[f64; 64], total: f64, seeker: u64, candidate: u64) -> f64 {
    let mut common = seeker & candidate;
    if common == 0 || total <= 0.0 {
        return 0.0;
    }
    let mut shared = 0.0;
    while common != 0 {
        shared += bits[common.trailing_zeros() as usize];
        common &= common - 1;
    }
    (shared / total).min(1.0)
}

impl SeekerView {
    /// The bound of a block of `tier` (see [`Tier`]) at the given place bound: the best any
    /// candidate of the tier can do against this seeker. Co-jam is 0 for everyone left once the
    /// neighbourhood is visited.
    fn block_bound(&self, w: &Weights, tier: Tier, place: f64) -> f64 {
        let s = &self.hot;
        let known = |k: bool, best: f64| if k { best.max(0.5) } else { 0.5 };
        // What the seeker looks for, at most: 0 when they look for something outside tier 1.
        let a = if self.seeks_nothing { 0.5 } else { 0.0 };
        let instruments = match tier {
            Tier::Offers => 1.0,
            Tier::Wants => 0.7 * a + 0.3,
            Tier::Genres | Tier::Rest => 0.7 * a + 0.3 * 0.5,
        };
        let tags = |total: f64| if total > 0.0 { 1.0 } else { 0.0 };
        let parts = [
            instruments,
            if tier == Tier::Rest {
                0.0
            } else {
                tags(self.genre_total)
            },
            tags(self.influence_total),
            1.0,
            known(!s.level.is_nan(), 1.0),
            known(s.week_min > 0, (f64::from(s.week_min) / 180.0).min(1.0)),
            known(s.goals != 0, 1.0),
            place,
            0.0,
            1.0,
        ];
        combine(w, &parts)
    }

    fn new(rec: &Recommender, s: usize) -> Self {
        let p = &rec.prepared[s];
        let (genre_bits, genre_total) = tag_bits(&p.genres, &rec.tag_weight);
        let (influence_bits, influence_total) = tag_bits(&p.influences, &rec.tag_weight);
        SeekerView {
            hot: Hot::of(s, p, &rec.members[s], NO_CELL),
            seeks_nothing: p.seeks.is_empty(),
            genre_bits,
            genre_total,
            influence_bits,
            influence_total,
        }
    }

    /// Every factor's bound for candidate `c` from the [`Hot`] records alone; exact for skill,
    /// goals and reliability.
    fn parts(&self, c: &Hot, place: f64, cojam: f64) -> Parts {
        let s = &self.hot;
        let offered = if self.seeks_nothing {
            if c.plays == 0 { 0.0 } else { 0.5 }
        } else if s.seeks & c.plays != 0 {
            1.0
        } else {
            0.0
        };
        let wanted = if c.seeks == 0 {
            if s.plays == 0 { 0.0 } else { 0.5 }
        } else if c.seeks & s.plays != 0 {
            1.0
        } else {
            0.0
        };
        let skill = if s.level.is_nan() || c.level.is_nan() {
            0.5
        } else {
            factors::skill_proximity(s.level, c.level)
        };
        let time = if s.week_min == 0 || c.week_min == 0 {
            0.5
        } else {
            (f64::from(s.week_min.min(c.week_min)) / 180.0).min(1.0)
        };
        let goals = if s.goals == 0 || c.goals == 0 {
            0.5
        } else {
            let shared = (s.goals & c.goals).count_ones();
            f64::from(shared) / f64::from(s.goals.count_ones() + c.goals.count_ones() - shared)
        };
        [
            0.7 * offered + 0.3 * wanted,
            tag_bound(&self.genre_bits, self.genre_total, s.genres, c.genres),
            tag_bound(
                &self.influence_bits,
                self.influence_total,
                s.influences,
                c.influences,
            ),
            1.0,
            skill,
            time,
            goals,
            place,
            cojam,
            c.reliability,
        ]
    }
}

/// A block's slice of a cell, best first; a member belongs to the first that holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Tier {
    /// Plays what the seeker looks for.
    Offers,
    /// Looks for what the seeker plays.
    Wants,
    /// Shares a genre with the seeker.
    Genres,
    /// Everyone else in the cell.
    Rest,
}

/// Where a query draws its candidates from.
#[derive(Debug, Clone, Copy)]
pub(super) enum Pool {
    /// Everyone.
    Everyone,
    /// Only players of this instrument (a line-up position).
    Players(u32),
}

/// The best `limit` scores so far, and every score computed.
struct TopK {
    limit: usize,
    /// Min-heap of the best `limit` scores (non-negative, so their bit patterns order like them).
    best: BinaryHeap<Reverse<u64>>,
    scored: Vec<(f64, usize)>,
}

impl TopK {
    fn new(limit: usize) -> Self {
        TopK {
            limit,
            best: BinaryHeap::with_capacity(limit + 1),
            scored: Vec::new(),
        }
    }

    /// The score a candidate must reach to matter, once the list is full.
    fn threshold(&self) -> Option<f64> {
        (self.best.len() == self.limit)
            .then(|| self.best.peek().map_or(0.0, |r| f64::from_bits(r.0)))
    }

    fn push(&mut self, score: f64, c: usize) {
        self.scored.push((score, c));
        self.best.push(Reverse(score.max(0.0).to_bits()));
        if self.best.len() > self.limit {
            self.best.pop();
        }
    }
}

impl Recommender {
    /// The seeker's reach for `query.mode` (see the module docs).
    fn reach(&self, s: usize, query: &Query) -> Reach {
        let seeker = &self.members[s];
        let own_max = seeker
            .max_latency_ms
            .unwrap_or(super::DEFAULT_MAX_LATENCY_MS);
        let max_km = match query.mode {
            Mode::Online => latency::max_distance_km(own_max),
            Mode::InPerson => query.max_travel_km,
        };
        // A kilometre of slack covers rounding in the inverse of the distance model.
        let place = self
            .candidates
            .cells
            .iter()
            .map(|cp| {
                let origin = seeker.location.filter(|_| max_km >= 0.0)?;
                let km = cell_lower_bound_km(origin, cp.centre, cp.radius_km);
                (km <= max_km + 1.0).then(|| match query.mode {
                    // The pair's budget is at most the seeker's own maximum.
                    Mode::Online => {
                        factors::latency_fit(latency::from_distance(km).one_way_ms, own_max)
                    }
                    Mode::InPerson => factors::distance_fit(km),
                })
            })
            .collect();
        let mut measured = Vec::new();
        if query.mode == Mode::Online {
            measured.extend(
                self.rtts
                    .measured_members(seeker.id)
                    .iter()
                    .filter_map(|id| self.index.get(id).map(|&i| i as u32)),
            );
            if let Some(net) = seeker.network {
                for other in self.rtts.measured_networks(net) {
                    measured.extend_from_slice(list(&self.candidates.networks, other));
                }
            }
        }
        Reach { place, measured }
    }

    /// The best `limit` feasible candidates from `pool` as (score, position), best first (ties
    /// by member id): the same list a full scan gives, found through the index.
    pub(super) fn top_indexed(
        &self,
        s: usize,
        query: &Query,
        hood: &HashMap<MemberId, CoJamEvidence>,
        limit: usize,
        pool: Pool,
    ) -> Vec<(f64, usize)> {
        if limit == 0 {
            return Vec::new();
        }
        let reach = self.reach(s, query);
        let view = SeekerView::new(self, s);
        let mut seen = vec![false; self.members.len()];
        seen[s] = true;
        for id in &query.exclude {
            if let Some(&i) = self.index.get(id) {
                seen[i] = true;
            }
        }
        let mut top = TopK::new(limit);
        let mut visit = |hot: &Hot, place: f64, cojam: f64, check_pool: bool, top: &mut TopK| {
            let c = hot.pos as usize;
            if !hot.visible || std::mem::replace(&mut seen[c], true) {
                return;
            }
            if let (true, Pool::Players(i)) = (check_pool, pool)
                && self.prepared[c].plays.binary_search(&i).is_err()
            {
                return;
            }
            if let Some(threshold) = top.threshold() {
                let mut parts = view.parts(hot, place, cojam);
                if combine(&self.weights, &parts) + SLACK < threshold {
                    return;
                }
                self.exact_cheap_parts(s, c, &mut parts);
                if combine(&self.weights, &parts) + SLACK < threshold {
                    return;
                }
            }
            if let Some(r) = self.evaluate(s, c, query, hood, false) {
                top.push(r.score, c);
            }
        };
        let hot = |c: usize| self.candidates.hot.get(c).copied().unwrap_or_default();
        // The neighbourhood and the measured members first: the blocks' bounds assume neither.
        for (id, e) in hood {
            if let Some(&c) = self.index.get(id) {
                visit(&hot(c), 1.0, e.value(), true, &mut top);
            }
        }
        for &c in &reach.measured {
            visit(&hot(c as usize), 1.0, 0.0, true, &mut top);
        }
        let tiers: &[Tier] = match pool {
            Pool::Everyone => &[Tier::Offers, Tier::Wants, Tier::Genres, Tier::Rest],
            Pool::Players(_) => &[Tier::Offers],
        };
        let mut blocks: Vec<(f64, Tier, usize)> = reach
            .place
            .iter()
            .enumerate()
            .filter_map(|(cell, place)| Some((cell, (*place)?)))
            .flat_map(|(cell, place)| {
                let view = &view;
                tiers.iter().map(move |&t| {
                    // A line-up pool is one instrument's players, whatever they look for.
                    let bound_tier = if matches!(pool, Pool::Players(_)) {
                        Tier::Offers
                    } else {
                        t
                    };
                    (view.block_bound(&self.weights, bound_tier, place), t, cell)
                })
            })
            .collect();
        blocks.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)).then(a.2.cmp(&b.2)));
        let p = &self.prepared[s];
        for (bound, tier, cell) in blocks {
            if top.threshold().is_some_and(|t| bound + SLACK < t) {
                break;
            }
            let cp = &self.candidates.cells[cell];
            let place = reach.place[cell].unwrap_or(0.0);
            let mut walk_hot = |lists: &mut dyn Iterator<Item = &[Hot]>| {
                for h in lists.flatten() {
                    visit(h, place, 0.0, false, &mut top);
                }
            };
            match (pool, tier) {
                (Pool::Players(i), _) => walk_hot(&mut std::iter::once(list(&cp.plays, &i))),
                (Pool::Everyone, Tier::Offers) => {
                    walk_hot(&mut p.seeks.iter().map(|i| list(&cp.plays, i)));
                }
                (Pool::Everyone, Tier::Wants) => {
                    walk_hot(&mut p.plays.iter().map(|i| list(&cp.seeks, i)));
                }
                (Pool::Everyone, Tier::Genres) => {
                    for g in &p.genres {
                        for &c in list(&cp.genres, g) {
                            visit(&hot(c as usize), place, 0.0, false, &mut top);
                        }
                    }
                }
                (Pool::Everyone, Tier::Rest) => {
                    for &c in &cp.all {
                        visit(&hot(c as usize), place, 0.0, false, &mut top);
                    }
                }
            }
        }
        let mut scored = top.scored;
        self.sort_ranked(&mut scored);
        scored.truncate(limit);
        scored
    }

    /// Replaces the signature bounds of the instrument, genre and influence factors with their
    /// exact values (they read the member's prepared lists, a few cache misses).
    fn exact_cheap_parts(&self, s: usize, c: usize, parts: &mut Parts) {
        let (pa, pb) = (&self.prepared[s], &self.prepared[c]);
        parts[INSTRUMENTS] =
            factors::instrument_fit(&pa.plays, &pa.seeks, &pb.plays, &pb.seeks).value;
        parts[GENRES] = factors::tag_overlap(&pa.genres, &pb.genres, &self.tag_weight).value;
        parts[INFLUENCES] =
            factors::tag_overlap(&pa.influences, &pb.influences, &self.tag_weight).value;
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
                let (centre, radius) = cell_centre(cell_of(p));
                assert!(
                    cell_lower_bound_km(origin, centre, radius) <= origin.distance_km(p) + 1e-9
                );
            }
        }
    }

    #[test]
    fn tag_bound_never_below_the_overlap() {
        // Ids 3 and 67 share a signature bit: the bound may only grow from that.
        let weight: Vec<f64> = (0..80).map(|i| 0.5 + f64::from(i % 7) / 3.0).collect();
        let cases: [(&[u32], &[u32]); 4] = [
            (&[1, 3, 5], &[3, 9]),
            (&[3], &[67]),
            (&[2, 4], &[6, 8]),
            (&[1, 2, 3, 4], &[1, 2, 3, 4, 70]),
        ];
        for (a, b) in cases {
            let (bits, total) = tag_bits(a, &weight);
            let exact = factors::tag_overlap(a, b, &weight).value;
            let bound = tag_bound(&bits, total, signature(a), signature(b));
            assert!(bound + 1e-12 >= exact, "{a:?} {b:?}: {bound} < {exact}");
        }
        let (bits, total) = tag_bits(&[2, 4], &weight);
        assert_eq!(
            tag_bound(&bits, total, signature(&[2, 4]), signature(&[6])),
            0.0
        );
    }
}

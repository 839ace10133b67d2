//! Band completion: the best *set* of musicians for a list of needed instruments.
//!
//! Taking the top person per instrument fails in the way that matters most online: the best
//! drummer and the best bassist for you may be 40 ms apart from each other. Here every pair in
//! the line-up — the seeker included — must be feasible for the mode (online: within both
//! sides' latency budget; in person: within the travel limit), and the set maximises the sum of
//! pairwise compatibilities, where a pair's compatibility is the mean of the two directed
//! scores ([`Recommender::score`] both ways).
//!
//! Search: for each need, a pool of the seeker's best feasible players of that instrument (as
//! many as [`BEAM_POOL`]); then **exact** enumeration with pruning (any infeasible pair cuts the
//! branch) when the pools' product is at most [`EXACT_LIMIT`] (pools of 40 for up to three
//! needs, of 17 for four) — else **beam search** of width [`BEAM_WIDTH`] over the needs in order of
//! increasing pool size, scoring partial line-ups by their pairwise sum so far.

use std::collections::HashMap;

use super::factors::cojam_neighbourhood;
use super::index::Pool;
use super::model::canonical_instrument;
use super::{INSTRUMENT, MemberId, Query, RecommendError, Recommender};

/// The most positions one request may fill.
pub const MAX_NEEDS: usize = 6;
/// Fewest candidates per position the exact search accepts.
pub const EXACT_POOL: usize = 12;
/// Most candidates per position (the beam search's pool).
pub const BEAM_POOL: usize = 40;
/// Largest number of combinations searched exhaustively.
pub const EXACT_LIMIT: u64 = 100_000;
/// Partial line-ups kept per step of the beam search.
pub const BEAM_WIDTH: usize = 64;

/// How the line-up was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineupSearch {
    /// Every combination of the pools (infeasible branches pruned): optimal over the pools.
    Exact,
    /// Beam search with this width: near-optimal, bounded work.
    Beam {
        /// Partial line-ups kept per step.
        width: usize,
    },
}

/// A completed line-up.
#[derive(Debug, Clone, PartialEq)]
pub struct Lineup {
    /// One member per needed instrument, in the order asked.
    pub members: Vec<(String, MemberId)>,
    /// Mean pairwise compatibility over every pair, seeker included, 0..1.
    pub score: f64,
    /// How it was found.
    pub search: LineupSearch,
}

/// The naive line-up of [`Recommender::greedy_lineup`].
#[derive(Debug, Clone, PartialEq)]
pub struct GreedyLineup {
    /// One member per need, in the order asked.
    pub members: Vec<MemberId>,
    /// Mean pairwise compatibility as for [`Lineup::score`], or `None` when some pair in it
    /// cannot jam.
    pub score: Option<f64>,
}

/// Pairwise compatibilities among the seeker (index 0) and the pooled candidates.
struct PairTable {
    /// Row-major, `None` = infeasible pair.
    compat: Vec<Option<f64>>,
    n: usize,
}

impl PairTable {
    fn get(&self, i: usize, j: usize) -> Option<f64> {
        self.compat[i * self.n + j]
    }

    /// Sum of compatibilities of `new` with everyone in `set`, or `None` if any is infeasible.
    fn add(&self, set: &[usize], new: usize) -> Option<f64> {
        set.iter()
            .try_fold(0.0, |acc, &m| Some(acc + self.get(m, new)?))
    }
}

impl Recommender {
    /// The best jointly compatible set of musicians playing `needs` for `seeker`, or `None`
    /// when no feasible set exists.
    pub fn complete_lineup(
        &self,
        seeker: MemberId,
        needs: &[&str],
        query: &Query,
    ) -> Result<Option<Lineup>, RecommendError> {
        if needs.is_empty() || needs.len() > MAX_NEEDS {
            return Err(RecommendError::BadNeeds(needs.len()));
        }
        let s = self.position(seeker)?;
        let hood = cojam_neighbourhood(&self.graph, seeker);
        // The widest pool the exact search can afford for this many needs; the beam search
        // takes over when that would be narrower than EXACT_POOL.
        let affordable = (EXACT_LIMIT as f64).powf(1.0 / needs.len() as f64).floor() as usize;
        let per_need = if affordable >= EXACT_POOL {
            affordable.min(BEAM_POOL)
        } else {
            BEAM_POOL
        };
        // Pools of member positions per need, best first for the seeker: the top players of
        // the instrument, found through the candidate index.
        let pools: Vec<Vec<usize>> = needs
            .iter()
            .map(|need| {
                self.vocab
                    .get(INSTRUMENT, canonical_instrument(need))
                    .map_or_else(Vec::new, |i| {
                        self.top_indexed(s, query, &hood, per_need, Pool::Players(i))
                            .into_iter()
                            .map(|(_, c)| c)
                            .collect()
                    })
            })
            .collect();
        if pools.iter().any(Vec::is_empty) {
            return Ok(None);
        }
        // Local numbering: 0 = seeker, then every pooled member once.
        let mut local: Vec<usize> = vec![s];
        let mut local_of: HashMap<usize, usize> = HashMap::new();
        for &c in pools.iter().flatten() {
            local_of.entry(c).or_insert_with(|| {
                local.push(c);
                local.len() - 1
            });
        }
        let table = self.pair_table(&local, query);
        let local_pools: Vec<Vec<usize>> = pools
            .iter()
            .map(|p| p.iter().map(|c| local_of[c]).collect())
            .collect();
        let combinations = local_pools
            .iter()
            .try_fold(1u64, |acc, p| acc.checked_mul(p.len() as u64));
        let (search, best) = if combinations.is_some_and(|c| c <= EXACT_LIMIT) {
            (LineupSearch::Exact, exact(&table, &local_pools))
        } else {
            (
                LineupSearch::Beam { width: BEAM_WIDTH },
                beam(&table, &local_pools, BEAM_WIDTH),
            )
        };
        Ok(best.map(|(sum, chosen)| {
            let pairs = (needs.len() + 1) * needs.len() / 2;
            Lineup {
                members: needs
                    .iter()
                    .zip(chosen)
                    .map(|(need, l)| ((*need).to_owned(), self.members[local[l]].id))
                    .collect(),
                score: sum / pairs as f64,
                search,
            }
        }))
    }

    /// The naive answer, for comparison: the seeker's top feasible player per instrument
    /// (distinct people), with no check between them; `None` when some instrument has nobody.
    pub fn greedy_lineup(
        &self,
        seeker: MemberId,
        needs: &[&str],
        query: &Query,
    ) -> Result<Option<GreedyLineup>, RecommendError> {
        let s = self.position(seeker)?;
        let hood = cojam_neighbourhood(&self.graph, seeker);
        let all = self.ranked(s, query, &hood, 0..self.members.len());
        let mut chosen: Vec<usize> = Vec::new();
        for need in needs {
            let id = self.vocab.get(INSTRUMENT, canonical_instrument(need));
            let pick = all.iter().map(|&(_, c)| c).find(|c| {
                !chosen.contains(c)
                    && id.is_some_and(|i| self.prepared[*c].plays.binary_search(&i).is_ok())
            });
            match pick {
                Some(c) => chosen.push(c),
                None => return Ok(None),
            }
        }
        let mut local = vec![s];
        local.extend(&chosen);
        let table = self.pair_table(&local, query);
        let mut sum = Some(0.0);
        for j in 1..local.len() {
            let set: Vec<usize> = (0..j).collect();
            sum = sum.and_then(|acc| Some(acc + table.add(&set, j)?));
        }
        let pairs = (local.len() * (local.len() - 1) / 2) as f64;
        Ok(Some(GreedyLineup {
            members: chosen.iter().map(|&c| self.members[c].id).collect(),
            score: sum.map(|x| x / pairs),
        }))
    }

    /// Symmetric compatibilities: the mean of the two directed scores, `None` when infeasible.
    fn pair_table(&self, local: &[usize], query: &Query) -> PairTable {
        let n = local.len();
        let hoods: Vec<_> = local
            .iter()
            .map(|&m| cojam_neighbourhood(&self.graph, self.members[m].id))
            .collect();
        let mut compat = vec![None; n * n];
        for i in 0..n {
            for j in (i + 1)..n {
                let (a, b) = (local[i], local[j]);
                let ab = self.evaluate(a, b, query, &hoods[i], false);
                let ba = self.evaluate(b, a, query, &hoods[j], false);
                if let (Some(ab), Some(ba)) = (ab, ba) {
                    let v = Some((ab.score + ba.score) / 2.0);
                    compat[i * n + j] = v;
                    compat[j * n + i] = v;
                }
            }
        }
        PairTable { compat, n }
    }
}

/// Exhaustive search: the best (pairwise sum, members per need) over all feasible combinations.
fn exact(table: &PairTable, pools: &[Vec<usize>]) -> Option<(f64, Vec<usize>)> {
    fn go(
        table: &PairTable,
        pools: &[Vec<usize>],
        set: &mut Vec<usize>,
        sum: f64,
        best: &mut Option<(f64, Vec<usize>)>,
    ) {
        let depth = set.len() - 1;
        if depth == pools.len() {
            if best.as_ref().is_none_or(|(b, _)| sum > *b) {
                *best = Some((sum, set[1..].to_vec()));
            }
            return;
        }
        for &m in &pools[depth] {
            if set.contains(&m) {
                continue;
            }
            if let Some(add) = table.add(set, m) {
                set.push(m);
                go(table, pools, set, sum + add, best);
                set.pop();
            }
        }
    }
    let mut best = None;
    go(table, pools, &mut vec![0], 0.0, &mut best);
    best
}

/// Beam search over the needs, smallest pool first; returns members in the original need order.
fn beam(table: &PairTable, pools: &[Vec<usize>], width: usize) -> Option<(f64, Vec<usize>)> {
    let mut order: Vec<usize> = (0..pools.len()).collect();
    order.sort_by_key(|&i| pools[i].len());
    // A state: (pairwise sum, set with the seeker first, then members in `order`).
    let mut states: Vec<(f64, Vec<usize>)> = vec![(0.0, vec![0])];
    for &need in &order {
        let mut next: Vec<(f64, Vec<usize>)> = Vec::new();
        for (sum, set) in &states {
            for &m in &pools[need] {
                if set.contains(&m) {
                    continue;
                }
                if let Some(add) = table.add(set, m) {
                    let mut grown = set.clone();
                    grown.push(m);
                    next.push((sum + add, grown));
                }
            }
        }
        next.sort_by(|a, b| b.0.total_cmp(&a.0).then_with(|| a.1.cmp(&b.1)));
        next.truncate(width);
        states = next;
    }
    let (sum, set) = states.into_iter().next()?;
    let mut by_need = vec![0; pools.len()];
    for (k, &need) in order.iter().enumerate() {
        by_need[need] = set[k + 1];
    }
    Some((sum, by_need))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A random symmetric table over `n` people (index 0 = seeker), some pairs infeasible.
    fn table(seed: u64, n: usize) -> PairTable {
        let mut x = seed;
        let mut next = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x % 1000) as f64 / 1000.0
        };
        let mut compat = vec![None; n * n];
        for i in 0..n {
            for j in (i + 1)..n {
                let v = next();
                let c = (next() > 0.15).then_some(v);
                compat[i * n + j] = c;
                compat[j * n + i] = c;
            }
        }
        PairTable { compat, n }
    }

    #[test]
    fn wide_beam_equals_exact_and_narrow_beam_is_feasible() {
        for seed in 1..40u64 {
            let t = table(seed * 7919, 16);
            // Three needs, pools of five overlapping people.
            let pools = vec![
                vec![1, 2, 3, 4, 5],
                vec![4, 5, 6, 7, 8],
                vec![9, 10, 11, 12, 13, 1],
            ];
            let best = exact(&t, &pools);
            let wide = beam(&t, &pools, 10_000);
            assert_eq!(
                best.as_ref().map(|b| b.0),
                wide.as_ref().map(|w| w.0),
                "seed {seed}"
            );
            if let Some((sum, set)) = beam(&t, &pools, 2) {
                let mut all = vec![0];
                all.extend(&set);
                let mut check = 0.0;
                for k in 1..all.len() {
                    check += t
                        .add(&all[..k], all[k])
                        .expect("beam keeps only feasible sets");
                }
                assert!((check - sum).abs() < 1e-9);
                assert!(sum <= best.as_ref().expect("exact finds one too").0 + 1e-9);
            }
        }
    }
}

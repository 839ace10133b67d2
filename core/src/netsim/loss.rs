//! Packet loss: independent drops and Gilbert–Elliott bursts.

use rand::RngExt;

/// Which packets never arrive.
///
/// Burst loss matters separately from its average rate: redundancy that repeats the previous one
/// or two frames recovers isolated losses but not a burst of three, and concealment of a long
/// burst is audible. [`LossModel::random_plus_bursts`] builds the benchmark mix.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum LossModel {
    /// Nothing is lost.
    None,
    /// Each packet is lost independently.
    Random {
        /// Probability that a packet is lost.
        probability: f64,
    },
    /// Two-state Markov chain (Gilbert–Elliott): a good state with little loss and a bad state
    /// with much, switching once per packet.
    ///
    /// The stationary loss rate is `π_g·loss_good + π_b·loss_bad` with
    /// `π_b = p_good_to_bad / (p_good_to_bad + p_bad_to_good)` ([`LossModel::mean_loss_rate`]);
    /// a stay in the bad state lasts `1 / p_bad_to_good` packets on average. The chain starts in
    /// the good state.
    GilbertElliott {
        /// Probability per packet of moving from the good to the bad state.
        p_good_to_bad: f64,
        /// Probability per packet of moving from the bad to the good state.
        p_bad_to_good: f64,
        /// Loss probability in the good state (the "random" background loss).
        loss_good: f64,
        /// Loss probability in the bad state (1.0 for solid bursts).
        loss_bad: f64,
    },
}

impl LossModel {
    /// Independent loss at `random` plus solid bursts of mean length `mean_burst_len` packets,
    /// starting with probability `burst_probability` per packet.
    ///
    /// This is a Gilbert–Elliott chain with `loss_good = random` and `loss_bad = 1`, so both
    /// kinds of loss come from one model. The benchmark profile, "1 % random loss plus bursts of
    /// ~3 packets a few times a minute at 400 packets/s", is
    /// `LossModel::random_plus_bursts(0.01, 3.0, 4.0 / 24_000.0)` (4 bursts per minute).
    /// A `mean_burst_len` below one packet is treated as one.
    #[must_use]
    pub fn random_plus_bursts(random: f64, mean_burst_len: f64, burst_probability: f64) -> Self {
        Self::GilbertElliott {
            p_good_to_bad: burst_probability,
            p_bad_to_good: 1.0 / mean_burst_len.max(1.0),
            loss_good: random,
            loss_bad: 1.0,
        }
    }

    /// The long-run fraction of packets this model loses (stationary rate of the chain).
    ///
    /// Tests compare measured loss against it; benchmarks report it beside what they observed.
    #[must_use]
    pub fn mean_loss_rate(&self) -> f64 {
        match *self {
            Self::None => 0.0,
            Self::Random { probability } => probability_of(probability),
            Self::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            } => {
                let (to_bad, to_good) =
                    (probability_of(p_good_to_bad), probability_of(p_bad_to_good));
                let (good, bad) = (probability_of(loss_good), probability_of(loss_bad));
                if to_bad + to_good == 0.0 {
                    // Never leaves the starting (good) state.
                    return good;
                }
                let pi_bad = to_bad / (to_bad + to_good);
                (1.0 - pi_bad) * good + pi_bad * bad
            }
        }
    }
}

/// The evolving state of a [`LossModel`] along one link.
#[derive(Debug, Clone, Default)]
pub(super) struct LossState {
    /// Whether a Gilbert–Elliott chain is in its bad state.
    bad: bool,
}

impl LossState {
    /// Decides whether the next packet is lost, then advances the chain.
    ///
    /// Always consumes two draws so that the random stream stays aligned whatever happens.
    pub(super) fn next_is_lost(&mut self, model: &LossModel, rng: &mut impl RngExt) -> bool {
        let loss_draw: f64 = rng.random();
        let switch_draw: f64 = rng.random();
        match *model {
            LossModel::None => false,
            LossModel::Random { probability } => loss_draw < probability,
            LossModel::GilbertElliott {
                p_good_to_bad,
                p_bad_to_good,
                loss_good,
                loss_bad,
            } => {
                let lost = loss_draw < if self.bad { loss_bad } else { loss_good };
                let switch = if self.bad {
                    p_bad_to_good
                } else {
                    p_good_to_bad
                };
                if switch_draw < switch {
                    self.bad = !self.bad;
                }
                lost
            }
        }
    }
}

/// A probability clamped to `[0, 1]`, NaN as 0 — matching how a `draw < p` comparison treats it.
fn probability_of(p: f64) -> f64 {
    if p.is_nan() { 0.0 } else { p.clamp(0.0, 1.0) }
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    /// Loss flags for `n` packets.
    fn run(model: LossModel, n: usize, seed: u64) -> Vec<bool> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut state = LossState::default();
        (0..n)
            .map(|_| state.next_is_lost(&model, &mut rng))
            .collect()
    }

    fn rate(lost: &[bool]) -> f64 {
        lost.iter().filter(|&&l| l).count() as f64 / lost.len() as f64
    }

    /// Lengths of maximal runs of consecutive losses.
    fn bursts(lost: &[bool]) -> Vec<usize> {
        lost.split(|&l| !l)
            .map(<[bool]>::len)
            .filter(|&n| n > 0)
            .collect()
    }

    #[test]
    fn random_loss_matches_its_probability() {
        let model = LossModel::Random { probability: 0.01 };
        let measured = rate(&run(model, 1_000_000, 1));
        // σ of the estimate is 1e-4; allow 5σ.
        assert!((measured - 0.01).abs() < 5e-4, "{measured}");
        assert_eq!(model.mean_loss_rate(), 0.01);
    }

    #[test]
    fn gilbert_elliott_matches_stationary_rate_and_burst_length() {
        let model = LossModel::GilbertElliott {
            p_good_to_bad: 0.002,
            p_bad_to_good: 1.0 / 3.0,
            loss_good: 0.0,
            loss_bad: 1.0,
        };
        let expected = 0.002 / (0.002 + 1.0 / 3.0);
        assert!((model.mean_loss_rate() - expected).abs() < 1e-12);
        let lost = run(model, 2_000_000, 2);
        let measured = rate(&lost);
        assert!(
            (measured - expected).abs() < 0.05 * expected,
            "{measured} vs {expected}"
        );
        // With loss_good = 0 a loss run is exactly one stay in the bad state: geometric, mean 3.
        let runs = bursts(&lost);
        let mean = runs.iter().sum::<usize>() as f64 / runs.len() as f64;
        assert!(
            (mean - 3.0).abs() < 0.1,
            "mean burst {mean} over {} bursts",
            runs.len()
        );
        assert!(runs.iter().any(|&n| n >= 8), "geometric bursts have a tail");
    }

    #[test]
    fn benchmark_mix_is_one_percent_plus_bursts() {
        // 1 % random + bursts of ~3 packets, 4 per minute at 400 packets/s.
        let model = LossModel::random_plus_bursts(0.01, 3.0, 4.0 / 24_000.0);
        let expected = model.mean_loss_rate();
        // π_bad = (1/6000) / (1/6000 + 1/3) ≈ 0.05 %, on top of 1 % in the good state.
        assert!((expected - 0.010_495).abs() < 1e-6, "{expected}");
        // One simulated hour at 400 packets/s.
        let lost = run(model, 1_440_000, 3);
        let measured = rate(&lost);
        assert!(
            (measured - expected).abs() < 0.05 * expected,
            "{measured} vs {expected}"
        );
        // ~240 bursts an hour, 4/9 of them ≥ 3 long (≈107), versus ~1.4 from 1 % random.
        let long = bursts(&lost).into_iter().filter(|&n| n >= 3).count();
        assert!((70..=150).contains(&long), "{long} runs of 3 or more");
    }

    #[test]
    fn out_of_range_parameters_do_not_panic() {
        let model = LossModel::GilbertElliott {
            p_good_to_bad: f64::NAN,
            p_bad_to_good: -1.0,
            loss_good: 2.0,
            loss_bad: f64::INFINITY,
        };
        assert_eq!(model.mean_loss_rate(), 1.0);
        assert_eq!(rate(&run(model, 100, 4)), 1.0);
        assert_eq!(
            LossModel::random_plus_bursts(0.0, 0.0, 0.0).mean_loss_rate(),
            0.0
        );
    }
}

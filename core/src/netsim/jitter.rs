//! Per-packet queueing delay on top of the propagation delay.

use std::time::Duration;

use rand::RngExt;
use rand_distr::{Exp1, StandardNormal};

use super::duration_from_nanos_f64;

/// Shape of the wifi slow component: an Erlang (gamma with integer shape) of this order.
///
/// Shape 4 concentrates slow packets "around" their mean (coefficient of variation 0.5), like
/// MAC-layer retransmissions and aggregation waits, instead of the long tail an exponential of
/// the same mean would add.
pub const WIFI_SLOW_SHAPE: u32 = 4;

/// The random part of one packet's one-way delay, drawn independently per packet.
///
/// This is the delay a packet *would* see on its own. [`super::Link`] then applies the queue
/// rule (no overtaking), so a large draw also holds back the packets sent shortly after it and
/// the observed delay distribution is somewhat heavier than the one described here.
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum JitterModel {
    /// No jitter: every packet takes exactly the base delay.
    None,
    /// A clean wired path: small exponential queueing jitter plus rare delay spikes.
    ///
    /// Spikes are what size a jitter buffer on such a path (a route flap, a bufferbloated hop, a
    /// cross-traffic burst), so they are modelled separately from the everyday jitter.
    Wired {
        /// Mean of the exponential everyday jitter.
        mean: Duration,
        /// Probability per packet that it is hit by a spike.
        spike_probability: f64,
        /// Smallest spike; spike sizes are uniform in `[spike_min, spike_max]`.
        spike_min: Duration,
        /// Largest spike.
        spike_max: Duration,
    },
    /// Wifi: mostly fast, with a fraction of packets delayed by retransmission or power save.
    Wifi {
        /// Mean of the exponential delay of fast packets.
        fast_mean: Duration,
        /// Mean of the delay of slow packets (Erlang of order [`WIFI_SLOW_SHAPE`]).
        slow_mean: Duration,
        /// Probability that a packet is slow.
        slow_probability: f64,
    },
    /// Uniform in `[0, max]`: `tc netem delay D J` (no distribution table) moves each packet
    /// uniformly within `D ± J`, which is a base delay of `D − J` plus this with `max = 2J`.
    ///
    /// No real path looks like this; it exists so an emulator can stand in for netem.
    Uniform {
        /// Largest jitter.
        max: Duration,
    },
    /// Cellular: lognormal delay, heavy-tailed from scheduling and radio-link retransmission.
    Cellular {
        /// Median jitter (`exp(μ)` of the lognormal).
        median: Duration,
        /// Standard deviation of the underlying normal (`σ`); 0.6 puts p99 at ~4× the median.
        sigma: f64,
    },
}

impl JitterModel {
    /// Draws one packet's jitter.
    ///
    /// Every variant consumes a fixed number of random draws per packet, so the random stream
    /// stays aligned from packet to packet whatever the outcome.
    pub(super) fn sample(&self, rng: &mut impl RngExt) -> Duration {
        match *self {
            Self::None => Duration::ZERO,
            Self::Wired {
                mean,
                spike_probability,
                spike_min,
                spike_max,
            } => {
                let base = exponential(rng, mean);
                let hit = rng.random::<f64>() < spike_probability;
                let position: f64 = rng.random();
                if !hit {
                    return base;
                }
                let (low, high) = if spike_min <= spike_max {
                    (spike_min, spike_max)
                } else {
                    (spike_max, spike_min)
                };
                let span = (high - low).as_nanos() as f64;
                let spike = low.saturating_add(duration_from_nanos_f64(span * position));
                base.saturating_add(spike)
            }
            Self::Wifi {
                fast_mean,
                slow_mean,
                slow_probability,
            } => {
                let slow = rng.random::<f64>() < slow_probability;
                let fast_draw = exponential(rng, fast_mean);
                let mut erlang = 0.0;
                for _ in 0..WIFI_SLOW_SHAPE {
                    erlang += rng.sample::<f64, _>(Exp1);
                }
                if slow {
                    let mean = slow_mean.as_nanos() as f64;
                    duration_from_nanos_f64(erlang * mean / f64::from(WIFI_SLOW_SHAPE))
                } else {
                    fast_draw
                }
            }
            Self::Uniform { max } => {
                let position: f64 = rng.random();
                duration_from_nanos_f64(max.as_nanos() as f64 * position)
            }
            Self::Cellular { median, sigma } => {
                let z: f64 = rng.sample(StandardNormal);
                duration_from_nanos_f64(median.as_nanos() as f64 * (sigma * z).exp())
            }
        }
    }
}

/// An exponential draw with the given mean (Exp1 is parameter-free, so nothing can fail).
fn exponential(rng: &mut impl RngExt, mean: Duration) -> Duration {
    let unit: f64 = rng.sample(Exp1);
    duration_from_nanos_f64(unit * mean.as_nanos() as f64)
}

#[cfg(test)]
mod tests {
    use rand::SeedableRng;
    use rand_chacha::ChaCha8Rng;

    use super::*;

    fn mean_ms(model: JitterModel, n: usize) -> f64 {
        let mut rng = ChaCha8Rng::seed_from_u64(1);
        let total: f64 = (0..n)
            .map(|_| model.sample(&mut rng).as_secs_f64() * 1e3)
            .sum();
        total / n as f64
    }

    #[test]
    fn means_match_the_parameters() {
        let ms = Duration::from_millis;
        let wifi = JitterModel::Wifi {
            fast_mean: ms(1),
            slow_mean: ms(8),
            slow_probability: 0.1,
        };
        // 0.9 × 1 + 0.1 × 8
        assert!((mean_ms(wifi, 200_000) - 1.7).abs() < 0.03);
        let cellular = JitterModel::Cellular {
            median: ms(5),
            sigma: 0.6,
        };
        // Lognormal mean: median × exp(σ²/2)
        assert!((mean_ms(cellular, 200_000) - 5.0 * (0.18_f64).exp()).abs() < 0.05);
        assert_eq!(mean_ms(JitterModel::None, 10), 0.0);
    }

    #[test]
    fn uniform_jitter_stays_in_its_range_around_the_middle() {
        let model = JitterModel::Uniform {
            max: Duration::from_millis(6),
        };
        assert!((mean_ms(model, 200_000) - 3.0).abs() < 0.03);
        let mut rng = ChaCha8Rng::seed_from_u64(4);
        assert!((0..10_000).all(|_| model.sample(&mut rng) <= Duration::from_millis(6)));
    }

    #[test]
    fn swapped_spike_bounds_still_spike_inside_them() {
        let model = JitterModel::Wired {
            mean: Duration::ZERO,
            spike_probability: 1.0,
            spike_min: Duration::from_millis(20),
            spike_max: Duration::from_millis(5),
        };
        let mut rng = ChaCha8Rng::seed_from_u64(3);
        for _ in 0..1000 {
            let jitter = model.sample(&mut rng);
            assert!(jitter >= Duration::from_millis(5) && jitter <= Duration::from_millis(20));
        }
    }
}

//! Reconnect pacing for the signalling connection: exponential backoff with a cap (sans-IO).
//!
//! The first retry comes quickly (a server restart or a dropped proxy connection usually heals
//! within a second); each failure doubles the wait up to the cap, so a server that is down for
//! long is not hammered. A successful join resets it. Each client adds its own jitter (a fixed
//! fraction per attempt derived from a seed), so a room whose server restarted does not rejoin
//! in lockstep.

use std::time::Duration;

/// Backoff settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffConfig {
    /// Wait before the first retry.
    pub initial: Duration,
    /// Longest wait between retries.
    pub max: Duration,
}

impl Default for BackoffConfig {
    /// 250 ms, doubling to at most 5 s.
    fn default() -> Self {
        Self {
            initial: Duration::from_millis(250),
            max: Duration::from_secs(5),
        }
    }
}

/// Exponential backoff state. See the [module docs](self).
#[derive(Debug, Clone)]
pub struct Backoff {
    config: BackoffConfig,
    attempt: u32,
    seed: u64,
}

impl Backoff {
    /// Fresh state; `seed` varies the jitter between clients.
    pub fn new(config: BackoffConfig, seed: u64) -> Self {
        Self {
            config,
            attempt: 0,
            seed,
        }
    }

    /// The wait before the next attempt (and counts the attempt): `initial · 2^n`, capped, with
    /// up to −25% jitter.
    pub fn next_delay(&mut self) -> Duration {
        let doubled = self
            .config
            .initial
            .saturating_mul(1u32 << self.attempt.min(16));
        let base = doubled.min(self.config.max);
        self.attempt = self.attempt.saturating_add(1);
        // SplitMix64 of (seed, attempt): a deterministic fraction in [0, 0.25).
        let mut z = self
            .seed
            .wrapping_add(u64::from(self.attempt).wrapping_mul(0x9E37_79B9_7F4A_7C15));
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^= z >> 31;
        let jitter = (z >> 11) as f64 / (1u64 << 53) as f64 * 0.25;
        base.mul_f64(1.0 - jitter)
    }

    /// Attempts since the last [`Backoff::reset`].
    pub fn attempts(&self) -> u32 {
        self.attempt
    }

    /// After a successful join: the next failure retries quickly again.
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn doubles_up_to_the_cap_with_bounded_jitter_and_resets() {
        let config = BackoffConfig {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(1),
        };
        let mut backoff = Backoff::new(config, 7);
        let nominal = [100u64, 200, 400, 800, 1000, 1000, 1000];
        for ms in nominal {
            let d = backoff.next_delay();
            let base = Duration::from_millis(ms);
            assert!(d <= base && d >= base.mul_f64(0.75), "{d:?} vs {base:?}");
        }
        assert_eq!(backoff.attempts(), 7);
        backoff.reset();
        assert!(backoff.next_delay() <= Duration::from_millis(100));
    }

    #[test]
    fn jitter_differs_between_seeds_and_repeats_for_one() {
        let delays = |seed| {
            let mut b = Backoff::new(BackoffConfig::default(), seed);
            (0..5).map(|_| b.next_delay()).collect::<Vec<_>>()
        };
        assert_eq!(delays(1), delays(1));
        assert_ne!(delays(1), delays(2));
    }
}

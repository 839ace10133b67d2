//! How much delay to hold: the rule that turns observed packet delays into a target.
//!
//! The [`JitterBuffer`](super::JitterBuffer) owns the mechanics (storage, playout order, hold or
//! skip on an empty buffer, rate steering); a [`DelayPolicy`] only answers "how much added delay
//! should I hold now?". Keeping the rule separate lets the evaluation run reference rules on the
//! very same mechanics, so the comparison measures the rule and nothing else.

use std::time::{Duration, Instant};

/// A rule for the target playout delay, fed by the buffer's observations.
///
/// All delays are *relative*: above the fastest-path baseline, drift-corrected, so `0` is a packet
/// that took the quickest route seen recently. Implementations must not allocate in these methods
/// (they run on the audio path); pre-allocate in the constructor.
pub trait DelayPolicy: Send {
    /// The first copy of a frame arrived `relative_delay` after the fastest path would have
    /// delivered it (late frames included: they show what delay would have been needed).
    fn on_arrival(&mut self, now: Instant, relative_delay: Duration);

    /// The frame due for playout was missing and nothing later was buffered: it is late or lost.
    fn on_underrun(&mut self, now: Instant) {
        let _ = now;
    }

    /// The added delay the buffer should hold now.
    fn target(&mut self, now: Instant) -> Duration;

    /// Forgets history (a new source replaced the stream).
    fn reset(&mut self);
}

/// A constant target: the "fixed buffer of N frames" that many jam tools expose as a setting.
#[derive(Debug, Clone, Copy)]
pub struct FixedPolicy {
    target: Duration,
}

impl FixedPolicy {
    /// Always targets `target`.
    pub fn new(target: Duration) -> Self {
        Self { target }
    }
}

impl DelayPolicy for FixedPolicy {
    fn on_arrival(&mut self, _now: Instant, _relative_delay: Duration) {}

    fn target(&mut self, _now: Instant) -> Duration {
        self.target
    }

    fn reset(&mut self) {}
}

/// Histogram resolution: fine enough that rounding up to a bin edge costs little delay.
const BIN: Duration = Duration::from_micros(100);
/// Delays above this share the last bin; beyond it the stream is better restarted than buffered.
const MAX_TRACKED: Duration = Duration::from_millis(300);
const BINS: usize = (MAX_TRACKED.as_micros() / BIN.as_micros()) as usize;

/// Late frames the histogram's memory must span for its tail quantile to mean something.
pub const TAIL_SAMPLES: f64 = 20.0;

/// Tutti's rule: the smallest delay that keeps the late-frame rate at the configured goal,
/// read from an exponentially forgetting histogram of relative delays.
///
/// The histogram quantile rises as soon as late frames exceed the goal (a congestion episode
/// lifts it within tens of frames) and falls only as old observations fade (the memory, ~20 s),
/// so the target grows quickly and shrinks slowly. Rare isolated spikes below the goal rate move
/// nothing: they are cheaper to conceal than to buffer for.
#[derive(Debug, Clone)]
pub struct AdaptivePolicy {
    bins: Box<[f64]>,
    total: f64,
    /// Weight of the next observation; grows by `1/decay` each time (equivalent to decaying all
    /// old weights), renormalised before it overflows.
    weight: f64,
    decay: f64,
    goal: f64,
    min_target: Duration,
    cached: Option<Duration>,
    since_cached: u32,
}

impl AdaptivePolicy {
    /// A policy for frames of `frame` duration that aims for at most `late_goal` (e.g. `0.003`)
    /// of frames arriving after their playout time, remembering about `memory` of history.
    ///
    /// The memory is stretched for small goals so that it always spans at least
    /// [`TAIL_SAMPLES`] late frames: a 0.03% goal cannot be judged from 20 s of 2.5 ms frames.
    pub fn new(frame: Duration, late_goal: f64, memory: Duration) -> Self {
        let goal = late_goal.clamp(1e-6, 0.5);
        let memory = memory
            .as_secs_f64()
            .max(frame.as_secs_f64() * TAIL_SAMPLES / goal);
        let per_frame = frame.as_secs_f64() / memory.max(1e-3);
        Self {
            bins: vec![0.0; BINS].into_boxed_slice(),
            total: 0.0,
            weight: 1.0,
            decay: (-per_frame).exp(),
            goal,
            min_target: Duration::ZERO,
            cached: None,
            since_cached: 0,
        }
    }

    /// Never target less than `min` (e.g. to leave room for a host's irregular callbacks).
    pub fn with_min_target(mut self, min: Duration) -> Self {
        self.min_target = min;
        self
    }

    /// The smallest delay `d` with at most `goal` of the (weighted) observations above it.
    fn quantile(&self) -> Duration {
        if self.total <= 0.0 {
            return self.min_target;
        }
        let allowed = self.goal * self.total;
        let mut above = 0.0;
        for (i, w) in self.bins.iter().enumerate().rev() {
            above += w;
            if above > allowed {
                // The threshold lies inside bin i: leave exactly `allowed` above it, assuming
                // the bin's mass is spread evenly (rounding to the edge would add 0.05 ms).
                let top_share = ((allowed - (above - w)) / w).clamp(0.0, 1.0);
                let upper = BIN * (i as u32 + 1);
                return upper
                    .saturating_sub(BIN.mul_f64(top_share))
                    .max(self.min_target);
            }
        }
        self.min_target
    }
}

impl DelayPolicy for AdaptivePolicy {
    fn on_arrival(&mut self, _now: Instant, relative_delay: Duration) {
        let bin = ((relative_delay.as_micros() / BIN.as_micros()) as usize).min(BINS - 1);
        self.weight /= self.decay;
        if self.weight > 1e200 {
            for b in self.bins.iter_mut() {
                *b /= self.weight;
            }
            self.total /= self.weight;
            self.weight = 1.0;
        }
        self.bins[bin] += self.weight;
        self.total += self.weight;
        self.since_cached += 1;
    }

    fn target(&mut self, _now: Instant) -> Duration {
        // The quantile moves slowly; a few frames between scans keeps pop cheap.
        match self.cached {
            Some(target) if self.since_cached < 4 => target,
            _ => {
                let target = self.quantile();
                self.cached = Some(target);
                self.since_cached = 0;
                target
            }
        }
    }

    fn reset(&mut self) {
        self.bins.iter_mut().for_each(|b| *b = 0.0);
        self.total = 0.0;
        self.weight = 1.0;
        self.cached = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_keeps_late_rate_at_goal() {
        let now = Instant::now();
        let mut p = AdaptivePolicy::new(Duration::from_micros(2500), 0.01, Duration::from_secs(20));
        // 98% at 1 ms, 2% at 10 ms: a 1% goal must cover the 10 ms tail.
        for i in 0..8000 {
            let d = if i % 50 == 0 { 10_000 } else { 1_000 };
            p.on_arrival(now, Duration::from_micros(d));
        }
        let t = p.target(now);
        assert!(
            t > Duration::from_millis(10) && t <= Duration::from_micros(10_100),
            "{t:?}"
        );
        // A 3% goal accepts losing the tail.
        let mut q = AdaptivePolicy::new(Duration::from_micros(2500), 0.03, Duration::from_secs(20));
        for i in 0..8000 {
            let d = if i % 50 == 0 { 10_000 } else { 1_000 };
            q.on_arrival(now, Duration::from_micros(d));
        }
        assert!(q.target(now) <= Duration::from_micros(1_100));
    }

    #[test]
    fn grows_fast_and_shrinks_slowly() {
        let now = Instant::now();
        let frame = Duration::from_micros(2500);
        let mut p = AdaptivePolicy::new(frame, 0.005, Duration::from_secs(20));
        for _ in 0..8000 {
            p.on_arrival(now, Duration::from_micros(500));
        }
        assert!(p.target(now) <= Duration::from_micros(600));
        // Congestion: everything now takes 8 ms. Within 100 frames (0.25 s) the target follows.
        for _ in 0..100 {
            p.on_arrival(now, Duration::from_millis(8));
        }
        p.cached = None;
        assert!(p.target(now) >= Duration::from_millis(8));
        // Back to normal: one second later the target still covers the episode.
        for _ in 0..400 {
            p.on_arrival(now, Duration::from_micros(500));
        }
        p.cached = None;
        assert!(p.target(now) >= Duration::from_millis(8));
        // After a minute it has faded.
        for _ in 0..24_000 {
            p.on_arrival(now, Duration::from_micros(500));
        }
        p.cached = None;
        assert!(p.target(now) <= Duration::from_micros(600));
    }

    #[test]
    fn renormalises_without_losing_shape() {
        let now = Instant::now();
        let mut p =
            AdaptivePolicy::new(Duration::from_micros(2500), 0.01, Duration::from_millis(50));
        for i in 0..200_000 {
            let d = if i % 10 == 0 { 5_000 } else { 200 };
            p.on_arrival(now, Duration::from_micros(d));
        }
        assert!(p.total.is_finite() && p.weight.is_finite());
        p.cached = None;
        assert!(p.target(now) >= Duration::from_millis(5));
    }
}

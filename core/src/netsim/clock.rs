//! Drifting sample clocks: the mapping between simulated true time and one host's clock.

use std::time::Duration;

/// The largest clock error [`SimClock`] honours, in ppm; larger magnitudes are clamped.
///
/// Real oscillators are within ±2000 ppm; the clamp only keeps the arithmetic away from a clock
/// that stops or runs backwards (ppm ≤ −1 000 000).
pub const MAX_CLOCK_PPM: f64 = 500_000.0;

/// One host's clock, running `ppm` parts per million fast (positive) or slow (negative) against
/// simulated true time.
///
/// Sound cards disagree by ±100 ppm (up to 2000 ppm on bad hardware), which is 1 ms every 10 s at
/// 100 ppm; drift compensation must be tested against exactly this. The model is a constant rate
/// error with both clocks reading zero at the start of the simulation:
/// `local = true × (1 + ppm·10⁻⁶)`.
///
/// A sender producing one frame every `F` of *its own* clock sends frame `k` at true time
/// `clock.to_true(k·F)`; a receiver stamps an arrival at true time `t` as `clock.to_local(t)`.
///
/// Both conversions round to the nearest nanosecond and are monotonic, so a sequence of
/// non-decreasing local times maps to non-decreasing true times (what [`super::Link::transmit`]
/// requires). A round trip is exact to within a couple of nanoseconds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct SimClock {
    /// Rate error against true time in parts per million; positive runs fast.
    ///
    /// NaN counts as 0; magnitudes above [`MAX_CLOCK_PPM`] are clamped.
    pub ppm: f64,
}

impl SimClock {
    /// A clock running `ppm` parts per million fast (negative: slow).
    #[must_use]
    pub const fn new(ppm: f64) -> Self {
        Self { ppm }
    }

    /// `1 + ppm·10⁻⁶`, sanitised so that it is finite and positive.
    fn rate(self) -> f64 {
        let ppm = if self.ppm.is_nan() {
            0.0
        } else {
            self.ppm.clamp(-MAX_CLOCK_PPM, MAX_CLOCK_PPM)
        };
        1.0 + ppm * 1e-6
    }

    /// What this clock reads at simulated true time `true_time`.
    #[must_use]
    pub fn to_local(self, true_time: Duration) -> Duration {
        scale(true_time, self.rate())
    }

    /// The simulated true time at which this clock reads `local`.
    #[must_use]
    pub fn to_true(self, local: Duration) -> Duration {
        scale(local, 1.0 / self.rate())
    }
}

/// `time × factor`, rounded to the nanosecond, saturating instead of panicking.
///
/// f64 holds nanoseconds exactly up to 2⁵³ ns (104 days), far beyond any simulation; the
/// multiplication and rounding are monotonic, which keeps send times ordered.
fn scale(time: Duration, factor: f64) -> Duration {
    super::duration_from_nanos_f64(time.as_nanos() as f64 * factor)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_is_exact_to_a_few_nanoseconds() {
        for ppm in [-2000.0, -100.0, 0.0, 37.5, 200.0, 2000.0] {
            let clock = SimClock::new(ppm);
            for nanos in [0, 1, 999, 2_500_000, 3_600_000_000_123, 86_400_000_000_000] {
                let t = Duration::from_nanos(nanos);
                let back = clock.to_true(clock.to_local(t));
                let error = back.abs_diff(t);
                assert!(
                    error <= Duration::from_nanos(2),
                    "{ppm} ppm, {t:?}: {error:?}"
                );
            }
        }
    }

    #[test]
    fn positive_ppm_runs_fast() {
        let clock = SimClock::new(100.0);
        // 100 ppm is 1 ms every 10 s.
        assert_eq!(
            clock.to_local(Duration::from_secs(10)),
            Duration::from_secs(10) + Duration::from_millis(1)
        );
    }

    #[test]
    fn a_200_ppm_sender_makes_0_02_percent_more_frames_per_hour() {
        let frame = Duration::from_micros(2500);
        let hour = Duration::from_secs(3600);
        let clock = SimClock::new(200.0);
        // Count frames the sender emits within one true hour, frame by frame, as a sender loop
        // driven by its own sound card would.
        let mut frames: u64 = 0;
        while clock.to_true(frame * u32::try_from(frames).expect("fits")) < hour {
            frames += 1;
        }
        let nominal = 1_440_000_u64;
        let excess = (frames as f64 - nominal as f64) / nominal as f64;
        assert!(
            (excess - 200e-6).abs() < 1e-6,
            "{frames} frames, excess {excess}"
        );
        assert_eq!(frames, nominal + 288);
    }

    #[test]
    fn absurd_ppm_is_clamped_not_a_panic() {
        for ppm in [f64::NAN, f64::INFINITY, f64::NEG_INFINITY, -1e6, -1e9] {
            let clock = SimClock::new(ppm);
            let t = Duration::from_secs(1);
            let _ = clock.to_true(clock.to_local(t));
            let _ = clock.to_local(Duration::MAX);
            let _ = clock.to_true(Duration::MAX);
        }
        assert_eq!(
            SimClock::new(f64::NAN).to_local(Duration::from_secs(1)),
            Duration::from_secs(1)
        );
    }
}

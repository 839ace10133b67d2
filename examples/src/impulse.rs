//! Mouth-to-ear measurement pieces: an impulse train to send, an onset detector to find the
//! impulses again (in what was sent and in what was heard), timestamps on the one clock that
//! separate processes share (`CLOCK_MONOTONIC`), and the pairing of sent and heard onsets.
//!
//! The same detector runs on both ends, so its own reaction delay (a few samples into the
//! burst) cancels out of the difference.

use std::time::Duration;

/// Nanoseconds on `CLOCK_MONOTONIC`: comparable between processes on one machine (Rust's
/// `Instant` reads the same clock but does not expose its value).
pub fn monotonic_ns() -> u64 {
    let t = rustix::time::clock_gettime(rustix::time::ClockId::Monotonic);
    u64::try_from(t.tv_sec).unwrap_or(0) * 1_000_000_000 + u64::try_from(t.tv_nsec).unwrap_or(0)
}

/// The burst: a Hann-windowed 2 kHz sine of 1 ms — short enough to time to a fraction of a
/// millisecond, and a tone Opus codes faithfully at any frame size (a single-sample click is
/// smeared over a whole MDCT window).
const BURST_HZ: f64 = 2_000.0;
const BURST_SECONDS: f64 = 0.001;
const BURST_PEAK: f32 = 0.8;
/// Onset threshold: well above codec noise and pre-echo, well below the burst's peak.
const THRESHOLD: f32 = 0.25;

/// One burst every `period`, silence between.
#[derive(Debug, Clone)]
pub struct ImpulseTrain {
    burst: Vec<f32>,
    period: usize,
    position: usize,
}

impl ImpulseTrain {
    /// A train at `rate` Hz with one burst per `period` (at least twice the burst's length).
    pub fn new(rate: u32, period: Duration) -> Self {
        let len = (BURST_SECONDS * f64::from(rate)).round().max(2.0) as usize;
        let burst = (0..len)
            .map(|i| {
                let window = 0.5 - 0.5 * (std::f64::consts::TAU * i as f64 / len as f64).cos();
                let t = i as f64 / f64::from(rate);
                (window * (std::f64::consts::TAU * BURST_HZ * t).sin()) as f32 * BURST_PEAK
            })
            .collect();
        let period = ((period.as_secs_f64() * f64::from(rate)) as usize).max(2 * len);
        Self {
            burst,
            period,
            position: 0,
        }
    }

    /// Writes the next `out.len()` samples.
    pub fn fill(&mut self, out: &mut [f32]) {
        for sample in out {
            *sample = self.burst.get(self.position).copied().unwrap_or(0.0);
            self.position = (self.position + 1) % self.period;
        }
    }
}

/// Finds burst onsets: the first sample at or above the threshold after at least `holdoff`
/// samples below it (so the burst's own cycles and the codec's ringing count once).
#[derive(Debug, Clone)]
pub struct OnsetDetector {
    holdoff: usize,
    quiet: usize,
}

impl OnsetDetector {
    /// A detector that re-arms after `holdoff` of quiet at `rate` Hz.
    pub fn new(rate: u32, holdoff: Duration) -> Self {
        let holdoff = (holdoff.as_secs_f64() * f64::from(rate)) as usize;
        Self {
            holdoff,
            quiet: holdoff,
        }
    }

    /// Scans a block; returns the index of the onset in it, if any (at most one per block:
    /// blocks are far shorter than the hold-off).
    pub fn feed(&mut self, block: &[f32]) -> Option<usize> {
        let mut onset = None;
        for (i, x) in block.iter().enumerate() {
            if x.abs() >= THRESHOLD {
                if self.quiet >= self.holdoff && onset.is_none() {
                    onset = Some(i);
                }
                self.quiet = 0;
            } else {
                self.quiet = self.quiet.saturating_add(1);
            }
        }
        onset
    }
}

/// Pairs each heard onset with the latest sent onset before it and returns the delays; heard
/// onsets with no sent onset within `max` before them (noise, or a burst sent before the
/// recording started) are skipped. Both lists are in nanoseconds on [`monotonic_ns`]'s clock.
pub fn pair_delays(sent: &[u64], heard: &[u64], max: Duration) -> Vec<Duration> {
    pair_onsets(sent, heard, max)
        .into_iter()
        .map(|(_, d)| d)
        .collect()
}

/// [`pair_delays`], keeping each delay's heard onset (to tell start-up from steady state).
pub fn pair_onsets(sent: &[u64], heard: &[u64], max: Duration) -> Vec<(u64, Duration)> {
    let max = u64::try_from(max.as_nanos()).unwrap_or(u64::MAX);
    let mut sent = sent.to_vec();
    sent.sort_unstable();
    heard
        .iter()
        .filter_map(|&h| {
            let before = sent.partition_point(|&s| s <= h);
            let s = *sent.get(before.checked_sub(1)?)?;
            (h - s <= max).then(|| (h, Duration::from_nanos(h - s)))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_detector_finds_each_burst_of_the_train_once() {
        let mut train = ImpulseTrain::new(48_000, Duration::from_millis(100));
        let mut detector = OnsetDetector::new(48_000, Duration::from_millis(20));
        let mut block = [0.0f32; 64];
        let mut onsets = Vec::new();
        for b in 0..750 {
            train.fill(&mut block);
            if let Some(i) = detector.feed(&block) {
                onsets.push(b * 64 + i);
            }
        }
        assert_eq!(onsets.len(), 10, "one second holds ten bursts");
        for pair in onsets.windows(2) {
            assert_eq!(pair[1] - pair[0], 4_800);
        }
    }

    #[test]
    fn delays_pair_each_heard_onset_with_the_latest_sent_one() {
        let ms = |m: u64| m * 1_000_000;
        let sent = [ms(100), ms(300), ms(500)];
        let heard = [ms(50), ms(108), ms(309), ms(700)];
        let delays = pair_delays(&sent, &heard, Duration::from_millis(50));
        assert_eq!(
            delays,
            [Duration::from_millis(8), Duration::from_millis(9)],
            "before any burst and too late are skipped"
        );
    }

    #[test]
    fn the_monotonic_clock_moves_forward() {
        let a = monotonic_ns();
        let b = monotonic_ns();
        assert!(a > 0 && b >= a);
    }
}

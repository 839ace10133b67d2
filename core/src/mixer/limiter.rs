//! The master soft limiter: zero latency, transparent below −1 dBFS, output always within ±1.0.

use super::flush_denormal;
use super::kernel::BlockStats;

/// Level where limiting starts: −1 dBFS.
const THRESHOLD: f32 = 0.891_250_9;
/// The knee maps levels above the threshold into (THRESHOLD, CEILING).
const CEILING: f32 = 1.0;
/// The envelope holds its peak this long before releasing, so it rides over the gaps between
/// the peaks of a 50 Hz wave instead of modulating the gain within each cycle (distortion).
const HOLD_SECONDS: f32 = 0.010;
/// Release time constant.
const RELEASE_SECONDS: f32 = 0.080;

/// Stereo-linked peak limiter.
///
/// The envelope attacks instantly (there is no look-ahead, and the next sample must already be
/// within range), holds, then releases exponentially. The gain is `knee(env) / env`, where
/// `knee(e) = T + (1 − T) · u / (1 + u)` with `u = (e − T) / (1 − T)`: continuous with slope 1 at
/// the threshold `T` and always below 1.0, and since `env ≥ |sample|`, so is every output.
#[derive(Debug, Clone)]
pub(crate) struct Limiter {
    envelope: f32,
    hold: u32,
    hold_len: u32,
    release: f32,
}

impl Limiter {
    pub(crate) fn new(sample_rate: f32) -> Self {
        Self {
            envelope: 0.0,
            hold: 0,
            hold_len: (HOLD_SECONDS * sample_rate).round() as u32,
            release: (-1.0 / (RELEASE_SECONDS * sample_rate)).exp(),
        }
    }

    /// Limits interleaved stereo in place; returns the output's statistics and the smallest
    /// gain applied (1.0 when untouched).
    pub(crate) fn process(&mut self, bus: &mut [f32]) -> (BlockStats, f32) {
        let mut stats = BlockStats::SILENT;
        let mut min_gain = 1.0f32;
        for frame in bus.as_chunks_mut::<2>().0 {
            // A NaN or infinity from a broken source would otherwise stick in the envelope and
            // silence the mix for good.
            for sample in frame.iter_mut() {
                if !sample.is_finite() {
                    *sample = 0.0;
                }
            }
            let level = frame[0].abs().max(frame[1].abs());
            if level >= self.envelope {
                self.envelope = level;
                self.hold = self.hold_len;
            } else if self.hold > 0 {
                self.hold -= 1;
            } else {
                self.envelope = flush_denormal(self.envelope * self.release);
            }
            let gain = if self.envelope > THRESHOLD {
                knee(self.envelope) / self.envelope
            } else {
                1.0
            };
            min_gain = min_gain.min(gain);
            for (channel, sample) in frame.iter_mut().enumerate() {
                let y = (*sample * gain).clamp(-CEILING, CEILING);
                *sample = y;
                stats.sum_sq[channel] += y * y;
                stats.peak[channel] = stats.peak[channel].max(y.abs());
            }
        }
        (stats, min_gain)
    }
}

#[cfg(test)]
impl Limiter {
    pub(crate) fn envelope_for_test(&self) -> f32 {
        self.envelope
    }
}

fn knee(level: f32) -> f32 {
    let u = (level - THRESHOLD) / (CEILING - THRESHOLD);
    // u / (1 + u), written so that an overflowing u still gives 1 rather than ∞ / ∞.
    THRESHOLD + (CEILING - THRESHOLD) * (1.0 - 1.0 / (1.0 + u))
}

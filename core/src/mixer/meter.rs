//! Peak and RMS meters: integrated on the audio thread per block, published through atomics.

use super::flush_denormal;
use super::kernel::BlockStats;
use super::shared::AtomicF32;

/// Time constant of the peak meter's fall.
const PEAK_FALL_SECONDS: f32 = 0.3;
/// Time constant of the RMS meter's exponential window.
const RMS_WINDOW_SECONDS: f32 = 0.05;

/// Levels per channel (`[left, right]`, linear full scale), so a UI can draw meters and a
/// network thread can detect clipping or silence without touching the audio thread.
///
/// `peak` falls exponentially with a 300 ms time constant once the signal drops (reading does
/// not reset it); `rms` is an exponentially weighted RMS over ~50 ms.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Meter {
    /// Highest absolute sample, falling with a 300 ms time constant.
    pub peak: [f32; 2],
    /// RMS level over an exponential window with a 50 ms time constant.
    pub rms: [f32; 2],
}

impl Meter {
    /// `level` in dBFS, for display; silence gives −∞.
    pub fn to_dbfs(level: f32) -> f32 {
        20.0 * level.log10()
    }
}

/// The published half of a meter.
pub(crate) struct MeterCell {
    peak: [AtomicF32; 2],
    rms: [AtomicF32; 2],
}

impl Default for MeterCell {
    fn default() -> Self {
        Self {
            peak: [AtomicF32::new(0.0), AtomicF32::new(0.0)],
            rms: [AtomicF32::new(0.0), AtomicF32::new(0.0)],
        }
    }
}

impl MeterCell {
    pub(crate) fn publish(&self, state: &MeterState) {
        for channel in 0..2 {
            self.peak[channel].store(state.peak[channel]);
            self.rms[channel].store(state.mean_sq[channel].sqrt());
        }
    }

    pub(crate) fn read(&self) -> Meter {
        Meter {
            peak: [self.peak[0].load(), self.peak[1].load()],
            rms: [self.rms[0].load(), self.rms[1].load()],
        }
    }

    pub(crate) fn clear(&self) {
        for cell in self.peak.iter().chain(&self.rms) {
            cell.store(0.0);
        }
    }
}

/// Per-block decay factors; recomputed only when the block size changes (two `exp` calls).
pub(crate) struct MeterCoefs {
    sample_rate: f32,
    frames: usize,
    peak_decay: f32,
    rms_alpha: f32,
}

impl MeterCoefs {
    pub(crate) fn new(sample_rate: f32) -> Self {
        Self {
            sample_rate,
            frames: 0,
            peak_decay: 1.0,
            rms_alpha: 0.0,
        }
    }

    pub(crate) fn prepare(&mut self, frames: usize) {
        if frames != self.frames {
            self.frames = frames;
            let block_seconds = frames as f32 / self.sample_rate;
            self.peak_decay = (-block_seconds / PEAK_FALL_SECONDS).exp();
            self.rms_alpha = 1.0 - (-block_seconds / RMS_WINDOW_SECONDS).exp();
        }
    }
}

/// The audio thread's integrator behind one meter.
///
/// The RMS window advances once per block with the block's mean square, which is exact for a
/// steady signal and a close approximation of the per-sample filter for blocks much shorter
/// than 50 ms, at a fraction of its cost.
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct MeterState {
    peak: [f32; 2],
    mean_sq: [f32; 2],
}

impl MeterState {
    pub(crate) fn update(&mut self, stats: &BlockStats, frames: usize, coefs: &MeterCoefs) {
        debug_assert_eq!(frames, coefs.frames);
        let frames = frames as f32;
        for channel in 0..2 {
            let fallen = self.peak[channel] * coefs.peak_decay;
            let peak = stats.peak[channel];
            self.peak[channel] = flush_denormal(if peak > fallen { peak } else { fallen });
            let block_mean_sq = stats.sum_sq[channel] / frames;
            let mean_sq = self.mean_sq[channel];
            self.mean_sq[channel] =
                flush_denormal(mean_sq + coefs.rms_alpha * (block_mean_sq - mean_sq));
        }
    }
}

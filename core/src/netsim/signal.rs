//! Test signals and their detection: tones in, "which frequency came out?" out.
//!
//! Used by tests and benchmarks that send audio through the real pipeline and check what arrives.

use std::f64::consts::TAU;

/// `frames` frames of a sine at `freq` Hz, amplitude `amp`, interleaved over `channels`
/// (identical channels), starting at phase index `start`.
pub fn sine(
    freq: f64,
    amp: f32,
    rate: u32,
    start: u64,
    frames: usize,
    channels: usize,
) -> Vec<f32> {
    let mut out = Vec::with_capacity(frames * channels);
    for i in 0..frames as u64 {
        let v = amp * (TAU * freq * (start + i) as f64 / f64::from(rate)).sin() as f32;
        out.extend(std::iter::repeat_n(v, channels));
    }
    out
}

/// Power of `freq` in `samples` (mono) by the Goertzel algorithm, normalised so that a full-scale
/// sine at exactly `freq` gives about 0.25.
pub fn tone_power(samples: &[f32], freq: f64, rate: u32) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    let w = TAU * freq / f64::from(rate);
    let coeff = 2.0 * w.cos();
    let (mut s1, mut s2) = (0.0f64, 0.0f64);
    for &x in samples {
        let s0 = f64::from(x) + coeff * s1 - s2;
        s2 = s1;
        s1 = s0;
    }
    let power = s1 * s1 + s2 * s2 - coeff * s1 * s2;
    power / (samples.len() as f64 * samples.len() as f64)
}

/// The strongest of 20 Hz … 4 kHz in `samples` (mono), to the nearest `step` Hz.
pub fn dominant_frequency(samples: &[f32], rate: u32, step: f64) -> f64 {
    let mut best = (0.0, f64::MIN);
    let mut f = 20.0;
    while f <= 4_000.0 {
        let p = tone_power(samples, f, rate);
        if p > best.1 {
            best = (f, p);
        }
        f += step;
    }
    best.0
}

/// Root mean square of `samples`.
pub fn rms(samples: &[f32]) -> f64 {
    if samples.is_empty() {
        return 0.0;
    }
    (samples
        .iter()
        .map(|&x| f64::from(x) * f64::from(x))
        .sum::<f64>()
        / samples.len() as f64)
        .sqrt()
}

/// Every `channels`-th sample starting at `channel`: one channel of an interleaved buffer.
pub fn channel(samples: &[f32], channels: usize, channel: usize) -> Vec<f32> {
    samples
        .iter()
        .skip(channel)
        .step_by(channels.max(1))
        .copied()
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_tone() {
        let s = sine(440.0, 0.5, 48_000, 0, 9_600, 2);
        let left = channel(&s, 2, 0);
        assert_eq!(dominant_frequency(&left, 48_000, 5.0), 440.0);
        assert!((rms(&left) - 0.5 / 2f64.sqrt()).abs() < 1e-3);
        assert!(tone_power(&left, 440.0, 48_000) > 100.0 * tone_power(&left, 880.0, 48_000));
    }
}

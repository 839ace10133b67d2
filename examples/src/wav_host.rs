//! A stand-in for a sound card: a timer thread that calls [`Engine::process`] in fixed blocks at
//! real-time pace, playing a WAV file (looped) as the input and recording the output. Lets the
//! examples and the integration tests run a real session without audio hardware.
//!
//! With [`HostConfig::impulses`] it sends an impulse train instead and timestamps burst onsets in
//! what it sends and what it hears on `CLOCK_MONOTONIC` ([`crate::impulse`]): an input sample is
//! stamped when it would have been captured (the block's call time minus its age in the block),
//! an output sample when it would sound (the time `process` returned plus its position), so the
//! difference is mouth to ear without the device's own buffers.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use tutti_core::engine::Engine;

use crate::impulse::{ImpulseTrain, OnsetDetector, monotonic_ns};

/// Reading or writing a WAV file failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum WavError {
    /// The file cannot be read or written, or is not a WAV file.
    #[error("WAV file: {0}")]
    Io(#[from] hound::Error),
    /// The file is valid but unusable here (no channels, no samples).
    #[error("unusable WAV file: {0}")]
    Unsupported(&'static str),
}

/// Planar audio: one `Vec` per channel, all the same length.
#[derive(Debug, Clone, PartialEq)]
pub struct Audio {
    /// Sample rate in Hz.
    pub rate: u32,
    /// Samples per channel.
    pub channels: Vec<Vec<f32>>,
}

impl Audio {
    /// Frames (samples per channel).
    pub fn frames(&self) -> usize {
        self.channels.first().map_or(0, Vec::len)
    }
}

/// Reads a WAV file (8/16/24/32-bit integer or 32-bit float PCM) into planar `f32`.
pub fn read_wav(path: &Path) -> Result<Audio, WavError> {
    let mut reader = hound::WavReader::open(path)?;
    let spec = reader.spec();
    let n = usize::from(spec.channels);
    if n == 0 {
        return Err(WavError::Unsupported("no channels"));
    }
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => reader.samples::<f32>().collect::<Result<_, _>>()?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample.clamp(1, 32) - 1)) as f32;
            reader
                .samples::<i32>()
                .map(|s| s.map(|s| s as f32 * scale))
                .collect::<Result<_, _>>()?
        }
    };
    if interleaved.len() < n {
        return Err(WavError::Unsupported("no samples"));
    }
    let channels = (0..n)
        .map(|c| interleaved.iter().skip(c).step_by(n).copied().collect())
        .collect();
    Ok(Audio {
        rate: spec.sample_rate,
        channels,
    })
}

/// Writes planar audio as a 32-bit float WAV file.
pub fn write_wav(path: &Path, audio: &Audio) -> Result<(), WavError> {
    let spec = hound::WavSpec {
        channels: u16::try_from(audio.channels.len())
            .map_err(|_| WavError::Unsupported("too many channels"))?,
        sample_rate: audio.rate,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut writer = hound::WavWriter::create(path, spec)?;
    for i in 0..audio.frames() {
        for channel in &audio.channels {
            writer.write_sample(channel[i])?;
        }
    }
    writer.finalize()?;
    Ok(())
}

/// What the host thread plays and at which pace.
#[derive(Debug, Clone)]
pub struct HostConfig {
    /// Host sample rate (the engine's `host_rate`).
    pub rate: u32,
    /// Frames per `process` call (the "sound card" buffer).
    pub block: usize,
    /// Input, looped; `None` sends silence. Mono is sent on both channels.
    pub input: Option<Audio>,
    /// Keep what the engine outputs.
    pub record: bool,
    /// Send one burst per this period instead of `input`, and timestamp onsets.
    pub impulses: Option<Duration>,
}

/// What the host thread produced when it stopped.
#[derive(Debug, Clone, PartialEq)]
pub struct HostResult {
    /// The output (stereo) if recording was asked for, else empty channels.
    pub recording: Audio,
    /// Blocks processed.
    pub blocks: u64,
    /// Blocks started more than one block late (the thread was not scheduled in time).
    pub late_blocks: u64,
    /// With impulses: when each burst sent was captured ([`monotonic_ns`]).
    pub sent_onsets: Vec<u64>,
    /// With impulses: when each burst heard sounded ([`monotonic_ns`]).
    pub heard_onsets: Vec<u64>,
}

/// Starts the host thread; it runs until `stop` is set.
pub fn spawn(
    mut engine: Engine,
    config: HostConfig,
    stop: Arc<AtomicBool>,
) -> std::io::Result<JoinHandle<HostResult>> {
    std::thread::Builder::new()
        .name("wav-host".into())
        .spawn(move || {
            let block = config.block.max(1);
            let period = Duration::from_secs_f64(block as f64 / f64::from(config.rate));
            let silence = vec![0.0f32; block];
            let (mut left_in, mut right_in) = (vec![0.0f32; block], vec![0.0f32; block]);
            let (mut left_out, mut right_out) = (vec![0.0f32; block], vec![0.0f32; block]);
            let mut recording = Audio {
                rate: config.rate,
                channels: vec![Vec::new(), Vec::new()],
            };
            let mut position = 0usize;
            let (mut blocks, mut late_blocks) = (0u64, 0u64);
            let mut impulses = config.impulses.map(|period| {
                // Re-arm after half a period: the codec's ringing never re-triggers.
                let detector = OnsetDetector::new(config.rate, period / 2);
                (
                    ImpulseTrain::new(config.rate, period),
                    detector.clone(),
                    detector,
                )
            });
            let (mut sent_onsets, mut heard_onsets) = (Vec::new(), Vec::new());
            let ns_per_frame = 1e9 / f64::from(config.rate);
            let mut next = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                let now = Instant::now();
                if now < next {
                    std::thread::sleep(next - now);
                } else if now - next > period {
                    late_blocks += 1;
                    if now - next > 10 * period {
                        next = now; // Far behind (suspended?): restart the schedule.
                    }
                }
                next += period;
                let called = monotonic_ns();
                match (impulses.as_mut(), &config.input) {
                    (Some((train, sent, _)), _) => {
                        train.fill(&mut left_in);
                        right_in.copy_from_slice(&left_in);
                        if let Some(i) = sent.feed(&left_in) {
                            let age = ((block - 1 - i) as f64 * ns_per_frame) as u64;
                            sent_onsets.push(called.saturating_sub(age));
                        }
                    }
                    (None, Some(input)) if input.frames() > 0 => {
                        let last = input.channels.len() - 1;
                        for i in 0..block {
                            let at = (position + i) % input.frames();
                            left_in[i] = input.channels[0][at];
                            right_in[i] = input.channels[1.min(last)][at];
                        }
                        position = (position + block) % input.frames();
                    }
                    _ => {
                        left_in.copy_from_slice(&silence);
                        right_in.copy_from_slice(&silence);
                    }
                }
                // A refused block leaves silence in the outputs; our sizes are always valid.
                let _ = engine.process(
                    &[&left_in, &right_in],
                    &mut [&mut left_out, &mut right_out],
                    block,
                );
                if let Some((_, _, heard)) = impulses.as_mut()
                    && let Some(i) = heard.feed(&left_out)
                {
                    heard_onsets.push(monotonic_ns() + (i as f64 * ns_per_frame) as u64);
                }
                if config.record {
                    recording.channels[0].extend_from_slice(&left_out);
                    recording.channels[1].extend_from_slice(&right_out);
                }
                blocks += 1;
            }
            HostResult {
                recording,
                blocks,
                late_blocks,
                sent_onsets,
                heard_onsets,
            }
        })
}

//! N sources into a stereo bus, with lock-free parameters and meters.
//!
//! # Two halves
//! [`Mixer::new`] returns a [`Mixer`], which lives on the audio thread, and a [`MixerHandle`],
//! which UI and network threads clone freely. They share only atomics: the handle claims and
//! releases pre-allocated source slots, writes parameters and reads meters; the mixer reads
//! parameters once per block and publishes meters once per block. Neither ever waits for the other.
//!
//! # Run loop
//! In each audio callback, for every source that has audio for this block, write `frames` frames
//! into [`Mixer::source_input`] (or let [`Mixer::mix_with`] ask for them), then call
//! [`Mixer::mix`]. A source whose input was not written for this block contributes silence, so a
//! stalled network stream never repeats stale audio.
//!
//! ```
//! use std::time::Duration;
//! use tutti_core::mixer::{Mixer, MixerConfig, SourceLayout};
//!
//! let (mut mixer, handle) = Mixer::new(MixerConfig {
//!     max_sources: 8,
//!     max_block_frames: 128,
//!     sample_rate: 48_000,
//!     smoothing: Duration::from_millis(10),
//! });
//! // Any thread: add a remote musician and place them slightly left.
//! let guitar = handle.add_source(SourceLayout::Mono)?;
//! handle.set_pan(guitar, -0.3)?;
//! handle.set_gain_db(guitar, -6.0)?;
//!
//! // Audio thread, once per callback:
//! let frames = 120;
//! let mut out = vec![0.0; 2 * frames]; // the host's buffer in a real callback
//! if let Some(input) = mixer.source_input(guitar) {
//!     input[..frames].fill(0.1); // decoded audio for this block
//! }
//! mixer.mix(frames, &mut out)?;
//!
//! // Any thread: read the meters.
//! let meter = handle.source_meter(guitar)?;
//! assert!(meter.peak[0] > meter.peak[1]); // panned left
//! # Ok::<(), tutti_core::mixer::MixerError>(())
//! ```
//!
//! # Signal flow
//! source input → gain · pan · mute/solo (one smoothed gain per output channel) → sum →
//! master gain (smoothed) → soft limiter → output. Every gain change, including mute and solo,
//! ramps linearly over [`MixerConfig::smoothing`], so nothing clicks or zippers. A newly added
//! source fades in over the same time. Removing a source stops it at once: mute it first and
//! remove it a block after the ramp if the cut must be silent.
//!
//! # Pan laws
//! A mono source uses the constant-power law (−3 dB per side at centre, hard left silences the
//! right channel). A stereo source uses a balance control: centre leaves both channels at unity,
//! and moving towards one side attenuates the other channel linearly to silence.
//!
//! # Meters
//! Each source (post-fader, before the master gain) and the master bus (the final output, after
//! the limiter) have per-channel peak and RMS meters, published once per block.
//! - Peak: the highest absolute sample, falling exponentially with a 300 ms time constant
//!   (−8.7 dB in 300 ms). Every reader sees the same value; reading does not reset it, so a UI
//!   and a network thread can both poll it.
//! - RMS: the square root of an exponentially weighted mean square with a 50 ms time constant.
//! - Limiter: [`MixerHandle::limiter_gain_reduction_db`] reports the deepest reduction in the
//!   last block.
//!
//! # Limiter
//! The master limiter has no look-ahead (latency matters more than anything when jamming). Below
//! −1 dBFS it is exactly transparent. Above, a stereo-linked peak envelope (instant attack, 10 ms
//! hold, 80 ms release) drives a soft knee that maps any level into (−1 dBFS, 0 dBFS), so the
//! waveform is scaled, never flattened, and the output never exceeds 1.0. A final clamp (and a
//! NaN/infinity guard) stays as a safety net only.
//!
//! # Real-time rules
//! [`Mixer::new`] allocates everything. [`Mixer::mix`], [`Mixer::mix_with`] and
//! [`Mixer::source_input`] never allocate, lock, block, log or make a system call, and every
//! [`MixerHandle`] method is wait-free apart from the bounded slot scan in
//! [`MixerHandle::add_source`]. `tests/mixer_no_alloc.rs` proves the audio path allocation-free.
//! Smoothed and decaying state snaps to zero below 1e-20, so it never goes subnormal.

mod kernel;
mod limiter;
mod meter;
mod ramp;
pub(crate) mod shared;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

pub use meter::Meter;
pub use shared::{MixerHandle, SourceParams};

use kernel::BlockStats;
use limiter::Limiter;
use meter::{MeterCoefs, MeterState};
use ramp::Ramp;
use shared::{Shared, SlotShared, SlotState};

/// Sizes the mixer once, so the audio path never has to allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MixerConfig {
    /// How many sources can be mixed at once; every slot's buffers are allocated up front.
    pub max_sources: usize,
    /// The largest block [`Mixer::mix`] accepts, in frames; sizes every input buffer.
    pub max_block_frames: usize,
    /// Sample rate in Hz; turns the smoothing, meter and limiter times into samples.
    pub sample_rate: u32,
    /// How long every gain change (including mute, solo and pan) ramps, to avoid zipper noise
    /// and clicks. Zero applies changes at the next block boundary.
    pub smoothing: Duration,
}

impl Default for MixerConfig {
    /// Sixteen sources, blocks of up to 1024 frames at 48 kHz, 10 ms smoothing.
    fn default() -> Self {
        Self {
            max_sources: 16,
            max_block_frames: 1024,
            sample_rate: 48_000,
            smoothing: Duration::from_millis(10),
        }
    }
}

/// Channel layout of a source, chosen when it is added; decides its buffer shape and pan law.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceLayout {
    /// One channel, placed in the stereo field with a constant-power pan.
    Mono,
    /// Two interleaved channels (L, R), placed with a balance control.
    Stereo,
}

impl SourceLayout {
    /// Samples per frame, so callers can size what they write into [`Mixer::source_input`].
    pub const fn channels(self) -> usize {
        match self {
            SourceLayout::Mono => 1,
            SourceLayout::Stereo => 2,
        }
    }
}

/// Names a source for as long as it stays added.
///
/// It carries a generation, so an id kept after [`MixerHandle::remove_source`] is rejected with
/// [`MixerError::UnknownSource`] even once its slot is re-used. (The generation has 29 bits: an id
/// is only confused with a new one after its slot has been re-used 2^29 times.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceId {
    index: u32,
    generation: u32,
}

impl SourceId {
    /// The slot index, stable while the source exists; handy as a key for per-source UI state.
    pub const fn index(self) -> usize {
        self.index as usize
    }
}

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "source {}#{}", self.index, self.generation)
    }
}

/// Why a mixer call was refused. Every variant but [`MixerError::NoFreeSlot`] is the caller's
/// mistake; `NoFreeSlot` means the configured capacity is exhausted.
#[derive(Debug, Clone, Copy, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub enum MixerError {
    /// The id was never issued by this mixer, or its source was removed (its slot may already
    /// hold another source): the caller kept a stale id.
    #[error("unknown or removed {0}")]
    UnknownSource(SourceId),
    /// Every pre-allocated slot is in use; remove a source or configure more `max_sources`.
    #[error("all {max_sources} source slots are in use")]
    NoFreeSlot {
        /// The configured capacity.
        max_sources: usize,
    },
    /// The block is larger than the buffers allocated in [`Mixer::new`].
    #[error("block of {frames} frames exceeds max_block_frames {max}")]
    BlockTooLarge {
        /// Frames requested.
        frames: usize,
        /// The configured [`MixerConfig::max_block_frames`].
        max: usize,
    },
    /// The output slice cannot hold the block as interleaved stereo.
    #[error("output holds {len} samples but the block needs {needed}")]
    OutputTooShort {
        /// Samples the block needs (2 × frames).
        needed: usize,
        /// Samples the caller passed.
        len: usize,
    },
    /// A parameter was NaN, infinite or outside its documented range.
    #[error("{name} = {value} is out of range")]
    InvalidParameter {
        /// Which parameter.
        name: &'static str,
        /// The rejected value.
        value: f32,
    },
}

/// Values below this are flushed to zero so smoothed and decaying state never goes subnormal
/// (subnormal arithmetic is up to 100× slower on x86).
const DENORMAL_FLOOR: f32 = 1e-20;

fn flush_denormal(x: f32) -> f32 {
    if x.abs() < DENORMAL_FLOOR { 0.0 } else { x }
}

/// The audio-thread half: owns every buffer and sums the sources. Send, so it can be built on one
/// thread and moved into the audio callback; not shared between threads.
pub struct Mixer {
    shared: Arc<Shared>,
    config: MixerConfig,
    slots: Box<[SlotLocal]>,
    /// Mono sources are duplicated into this interleaved buffer so one kernel serves both layouts.
    upmix: Box<[f32]>,
    /// Per-sample gains of a source whose ramp is moving.
    ramp_gains: Box<[f32]>,
    ramp_len: u32,
    master_gain: Ramp,
    limiter: Limiter,
    master_meter: MeterState,
    meter_coefs: MeterCoefs,
}

/// Audio-thread state of one slot.
struct SlotLocal {
    /// The slot state last seen; a change of generation or layout resets everything below.
    seen: SlotState,
    /// Written through [`Mixer::source_input`] since the last [`Mixer::mix`].
    fresh: bool,
    input: Box<[f32]>,
    /// Effective gain per output channel: gain × pan law × mute/solo.
    gain: [Ramp; 2],
    /// Pan gains for the last pan value seen (as bits), so trigonometry runs only on change.
    pan_cache: Option<(u32, [f32; 2])>,
    meter: MeterState,
}

impl SlotLocal {
    fn new(max_block_frames: usize) -> Self {
        Self {
            seen: SlotState::FREE,
            fresh: false,
            input: vec![0.0; 2 * max_block_frames].into_boxed_slice(),
            gain: [Ramp::new(0.0); 2],
            pan_cache: None,
            meter: MeterState::default(),
        }
    }

    /// Follows the shared slot state; a new occupant starts silent and fades in.
    fn sync(&mut self, state: SlotState) {
        if state != self.seen {
            self.seen = state;
            self.fresh = false;
            self.gain = [Ramp::new(0.0); 2];
            self.pan_cache = None;
            self.meter = MeterState::default();
        }
    }

    fn targets(&mut self, shared: &SlotShared, layout: SourceLayout, any_solo: bool) -> [f32; 2] {
        let audible = !shared.mute.load(Ordering::Relaxed)
            && (!any_solo || shared.solo.load(Ordering::Relaxed));
        if !audible {
            return [0.0; 2];
        }
        let gain = shared.gain.load();
        let pan_bits = shared.pan.bits();
        let pan = match self.pan_cache {
            Some((bits, pan)) if bits == pan_bits => pan,
            _ => {
                let pan = pan_gains(layout, f32::from_bits(pan_bits));
                self.pan_cache = Some((pan_bits, pan));
                pan
            }
        };
        [gain * pan[0], gain * pan[1]]
    }
}

/// Per-channel gains for a pan position in −1..=1.
fn pan_gains(layout: SourceLayout, pan: f32) -> [f32; 2] {
    match layout {
        // sin² + cos² = 1 keeps the power constant; using sin on both sides makes the hard
        // positions exactly 0 and 1 (cos(π/2) is not exactly 0 in floating point).
        SourceLayout::Mono => {
            let quarter = std::f32::consts::FRAC_PI_4;
            [((1.0 - pan) * quarter).sin(), ((1.0 + pan) * quarter).sin()]
        }
        SourceLayout::Stereo => [(1.0 - pan).min(1.0), (1.0 + pan).min(1.0)],
    }
}

impl Mixer {
    /// Allocates every buffer for `config` and returns the audio-thread half and the first
    /// handle for other threads.
    ///
    /// # Panics
    /// If `sample_rate` or `max_block_frames` is zero, or `max_sources` exceeds `u32::MAX`: these
    /// are fixed by the host's setup code, not by runtime input.
    pub fn new(config: MixerConfig) -> (Mixer, MixerHandle) {
        assert!(
            config.sample_rate > 0,
            "MixerConfig::sample_rate must be > 0"
        );
        assert!(
            config.max_block_frames > 0,
            "MixerConfig::max_block_frames must be > 0"
        );
        assert!(
            u32::try_from(config.max_sources).is_ok(),
            "MixerConfig::max_sources must fit in u32"
        );
        let sample_rate = config.sample_rate as f32;
        let ramp_samples = (config.smoothing.as_secs_f64() * f64::from(config.sample_rate)).round();
        let ramp_len = ramp_samples.min(f64::from(u32::MAX)) as u32;
        let shared = Arc::new(Shared::new(config.max_sources, config.sample_rate));
        let mixer = Mixer {
            shared: Arc::clone(&shared),
            slots: (0..config.max_sources)
                .map(|_| SlotLocal::new(config.max_block_frames))
                .collect(),
            upmix: vec![0.0; 2 * config.max_block_frames].into_boxed_slice(),
            ramp_gains: vec![0.0; 2 * config.max_block_frames].into_boxed_slice(),
            ramp_len,
            master_gain: Ramp::new(1.0),
            limiter: Limiter::new(sample_rate),
            master_meter: MeterState::default(),
            meter_coefs: MeterCoefs::new(sample_rate),
            config,
        };
        (mixer, MixerHandle::new(shared))
    }

    /// Another handle, for code that only has the mixer at hand.
    pub fn handle(&self) -> MixerHandle {
        MixerHandle::new(Arc::clone(&self.shared))
    }

    /// The configuration the buffers were sized for.
    pub fn config(&self) -> &MixerConfig {
        &self.config
    }

    /// The input buffer of source `id` for the next [`Mixer::mix`], or `None` if `id` is not
    /// (or no longer) added.
    ///
    /// The slice is interleaved and holds `max_block_frames × layout.channels()` samples; write
    /// the first `frames × channels` of them. Calling this marks the source as fresh for the next
    /// block; a source not marked contributes silence.
    pub fn source_input(&mut self, id: SourceId) -> Option<&mut [f32]> {
        let index = id.index();
        let state = self.shared.slots.get(index)?.state();
        if !state.is_active() || state.generation() != id.generation {
            return None;
        }
        let slot = &mut self.slots[index];
        slot.sync(state);
        slot.fresh = true;
        let len = self.config.max_block_frames * state.layout().channels();
        Some(&mut slot.input[..len])
    }

    /// Asks `fill` for every active source's input, then mixes like [`Mixer::mix`].
    ///
    /// `fill(id, buf)` gets exactly `frames × channels` interleaved samples and returns whether
    /// it wrote fresh audio; returning `false` (a stalled stream) makes that source silent for
    /// this block. Nothing is allocated, so `fill` may run on the audio thread.
    pub fn mix_with<F>(
        &mut self,
        frames: usize,
        out: &mut [f32],
        mut fill: F,
    ) -> Result<(), MixerError>
    where
        F: FnMut(SourceId, &mut [f32]) -> bool,
    {
        self.check_block(frames, out.len())?;
        for (index, (slot, shared)) in self
            .slots
            .iter_mut()
            .zip(self.shared.slots.iter())
            .enumerate()
        {
            let state = shared.state();
            if !state.is_active() {
                continue;
            }
            slot.sync(state);
            let id = SourceId {
                index: index as u32,
                generation: state.generation(),
            };
            let len = frames * state.layout().channels();
            if fill(id, &mut slot.input[..len]) {
                slot.fresh = true;
            }
        }
        self.mix(frames, out)
    }

    /// Sums every active source's fresh input into `out[..2 * frames]` (interleaved stereo),
    /// applies the master gain and the limiter, and publishes the meters.
    ///
    /// Every source's fresh mark is cleared, so the next block needs new input. On error nothing
    /// is written and no state changes. A zero-frame block is a no-op.
    pub fn mix(&mut self, frames: usize, out: &mut [f32]) -> Result<(), MixerError> {
        self.check_block(frames, out.len())?;
        if frames == 0 {
            return Ok(());
        }
        let bus = &mut out[..2 * frames];
        bus.fill(0.0);
        self.meter_coefs.prepare(frames);

        let mut any_solo = false;
        for (slot, shared) in self.slots.iter_mut().zip(self.shared.slots.iter()) {
            let state = shared.state();
            slot.sync(state);
            any_solo |= state.is_active() && shared.solo.load(Ordering::Relaxed);
        }

        for (slot, shared) in self.slots.iter_mut().zip(self.shared.slots.iter()) {
            if !slot.seen.is_active() {
                continue;
            }
            let layout = slot.seen.layout();
            let targets = slot.targets(shared, layout, any_solo);
            for (ramp, target) in slot.gain.iter_mut().zip(targets) {
                ramp.set_target(target, self.ramp_len);
            }
            let stats = mix_source(
                slot,
                layout,
                frames,
                bus,
                &mut self.upmix,
                &mut self.ramp_gains,
            );
            slot.meter.update(&stats, frames, &self.meter_coefs);
            // A source removed (and maybe re-added) during this block must not get these meters.
            if shared.state() == slot.seen {
                shared.meter.publish(&slot.meter);
            }
        }

        self.master_gain
            .set_target(self.shared.master_gain.load(), self.ramp_len);
        apply_master_gain(bus, &mut self.master_gain);
        let (stats, min_gain) = self.limiter.process(bus);
        self.master_meter.update(&stats, frames, &self.meter_coefs);
        self.shared.master_meter.publish(&self.master_meter);
        self.shared.limiter_gain.store(min_gain);
        Ok(())
    }

    fn check_block(&self, frames: usize, out_len: usize) -> Result<(), MixerError> {
        let max = self.config.max_block_frames;
        if frames > max {
            return Err(MixerError::BlockTooLarge { frames, max });
        }
        let needed = 2 * frames;
        if out_len < needed {
            return Err(MixerError::OutputTooShort {
                needed,
                len: out_len,
            });
        }
        Ok(())
    }
}

/// Adds one source into `bus` and returns its post-fader statistics.
fn mix_source(
    slot: &mut SlotLocal,
    layout: SourceLayout,
    frames: usize,
    bus: &mut [f32],
    upmix: &mut [f32],
    ramp_gains: &mut [f32],
) -> BlockStats {
    let fresh = std::mem::take(&mut slot.fresh);
    let [left, right] = &mut slot.gain;
    let settled = left.is_settled() && right.is_settled();
    if !fresh || (settled && left.value() == 0.0 && right.value() == 0.0) {
        left.advance(frames);
        right.advance(frames);
        return BlockStats::SILENT;
    }
    let samples = 2 * frames;
    let input: &[f32] = match layout {
        SourceLayout::Stereo => &slot.input[..samples],
        SourceLayout::Mono => {
            kernel::upmix(&slot.input[..frames], &mut upmix[..samples]);
            &upmix[..samples]
        }
    };
    if settled {
        kernel::add_scaled(bus, input, [left.value(), right.value()])
    } else {
        let gains = &mut ramp_gains[..samples];
        for pair in gains.as_chunks_mut::<2>().0 {
            *pair = [left.next(), right.next()];
        }
        kernel::add_ramped(bus, input, gains)
    }
}

fn apply_master_gain(bus: &mut [f32], gain: &mut Ramp) {
    if gain.is_settled() {
        let g = gain.value();
        if g != 1.0 {
            bus.iter_mut().for_each(|s| *s *= g);
        }
    } else {
        for frame in bus.as_chunks_mut::<2>().0 {
            let g = gain.next();
            frame[0] *= g;
            frame[1] *= g;
        }
    }
}

impl fmt::Debug for Mixer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Mixer")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

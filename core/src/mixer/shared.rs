//! The state both halves see: slot states, parameters and meters, all atomics.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

use super::meter::{Meter, MeterCell};
use super::{MixerError, SourceId, SourceLayout};

/// Largest accepted linear gain (+24 dB): beyond it a typo, not a mix decision, is likelier.
const MAX_GAIN: f32 = 15.848_932;

/// An `f32` stored as bits, for parameters and meters: one writer or many, torn values impossible.
pub(crate) struct AtomicF32(AtomicU32);

impl AtomicF32 {
    pub(crate) fn new(value: f32) -> Self {
        Self(AtomicU32::new(value.to_bits()))
    }

    pub(crate) fn load(&self) -> f32 {
        f32::from_bits(self.bits())
    }

    pub(crate) fn bits(&self) -> u32 {
        self.0.load(Ordering::Relaxed)
    }

    pub(crate) fn store(&self, value: f32) {
        self.0.store(value.to_bits(), Ordering::Relaxed);
    }
}

/// A slot's lifecycle in one word: phase (2 bits), stereo flag (1 bit), generation (29 bits).
///
/// `Free → Claiming` by compare-exchange in `add_source`, which then resets the parameters and
/// publishes `Active` with Release; the audio thread loads with Acquire, so it never sees an
/// active slot with the previous occupant's parameters. `Active → Free` by compare-exchange in
/// `remove_source`, so two removals of one id cannot both succeed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct SlotState(u32);

impl SlotState {
    const PHASE_MASK: u32 = 0b11;
    const FREE_PHASE: u32 = 0;
    const CLAIMING_PHASE: u32 = 1;
    const ACTIVE_PHASE: u32 = 2;
    const STEREO: u32 = 0b100;
    const GENERATION_SHIFT: u32 = 3;
    const GENERATION_MASK: u32 = u32::MAX >> Self::GENERATION_SHIFT;

    pub(crate) const FREE: SlotState = SlotState(0);

    fn with(phase: u32, generation: u32, layout: SourceLayout) -> Self {
        let stereo = match layout {
            SourceLayout::Mono => 0,
            SourceLayout::Stereo => Self::STEREO,
        };
        SlotState(((generation & Self::GENERATION_MASK) << Self::GENERATION_SHIFT) | stereo | phase)
    }

    fn phase(self) -> u32 {
        self.0 & Self::PHASE_MASK
    }

    pub(crate) fn is_active(self) -> bool {
        self.phase() == Self::ACTIVE_PHASE
    }

    pub(crate) fn generation(self) -> u32 {
        self.0 >> Self::GENERATION_SHIFT
    }

    pub(crate) fn layout(self) -> SourceLayout {
        if self.0 & Self::STEREO != 0 {
            SourceLayout::Stereo
        } else {
            SourceLayout::Mono
        }
    }
}

/// One pre-allocated source slot. Aligned to a cache line so the audio thread publishing one
/// slot's meters does not invalidate the line a UI thread is writing another slot's gain into.
#[repr(align(64))]
pub(crate) struct SlotShared {
    state: AtomicU32,
    pub(crate) gain: AtomicF32,
    pub(crate) pan: AtomicF32,
    pub(crate) mute: AtomicBool,
    pub(crate) solo: AtomicBool,
    pub(crate) meter: MeterCell,
}

impl SlotShared {
    fn new() -> Self {
        Self {
            state: AtomicU32::new(SlotState::FREE.0),
            gain: AtomicF32::new(1.0),
            pan: AtomicF32::new(0.0),
            mute: AtomicBool::new(false),
            solo: AtomicBool::new(false),
            meter: MeterCell::default(),
        }
    }

    pub(crate) fn state(&self) -> SlotState {
        SlotState(self.state.load(Ordering::Acquire))
    }
}

/// Everything the [`Mixer`](super::Mixer) and its handles share.
pub(crate) struct Shared {
    pub(crate) slots: Box<[SlotShared]>,
    pub(crate) master_gain: AtomicF32,
    pub(crate) master_meter: MeterCell,
    /// Smallest limiter gain (linear) in the last block.
    pub(crate) limiter_gain: AtomicF32,
    sample_rate: u32,
}

impl Shared {
    pub(crate) fn new(max_sources: usize, sample_rate: u32) -> Self {
        Self {
            slots: (0..max_sources).map(|_| SlotShared::new()).collect(),
            master_gain: AtomicF32::new(1.0),
            master_meter: MeterCell::default(),
            limiter_gain: AtomicF32::new(1.0),
            sample_rate,
        }
    }
}

/// A snapshot of one source's parameters, for UIs that display them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SourceParams {
    /// Channel layout chosen at [`MixerHandle::add_source`].
    pub layout: SourceLayout,
    /// Linear gain (1.0 = unity).
    pub gain: f32,
    /// Pan or balance, −1 (left) ..= 1 (right).
    pub pan: f32,
    /// Whether the source is muted.
    pub mute: bool,
    /// Whether the source is soloed.
    pub solo: bool,
}

/// The control half: add and remove sources, set parameters, read meters, from any thread.
///
/// Cheap to clone (an `Arc`); every method is lock-free and never touches the audio thread's
/// buffers. A setter racing with [`MixerHandle::remove_source`] of the same id may land on the
/// removed slot; a re-added source always starts from default parameters.
#[derive(Clone)]
pub struct MixerHandle {
    shared: Arc<Shared>,
}

impl MixerHandle {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        Self { shared }
    }

    /// Claims a free slot for a new source: unity gain, centred, unmuted, unsoloed. It is heard
    /// (fading in) from the first block whose input is written.
    pub fn add_source(&self, layout: SourceLayout) -> Result<SourceId, MixerError> {
        for (index, slot) in self.shared.slots.iter().enumerate() {
            let current = SlotState(slot.state.load(Ordering::Relaxed));
            if current.phase() != SlotState::FREE_PHASE {
                continue;
            }
            let generation = (current.generation() + 1) & SlotState::GENERATION_MASK;
            let claiming = SlotState::with(SlotState::CLAIMING_PHASE, generation, layout);
            if slot
                .state
                .compare_exchange(current.0, claiming.0, Ordering::Acquire, Ordering::Relaxed)
                .is_err()
            {
                continue; // another thread took it first
            }
            slot.gain.store(1.0);
            slot.pan.store(0.0);
            slot.mute.store(false, Ordering::Relaxed);
            slot.solo.store(false, Ordering::Relaxed);
            slot.meter.clear();
            let active = SlotState::with(SlotState::ACTIVE_PHASE, generation, layout);
            slot.state.store(active.0, Ordering::Release);
            return Ok(SourceId {
                index: index as u32,
                generation,
            });
        }
        Err(MixerError::NoFreeSlot {
            max_sources: self.shared.slots.len(),
        })
    }

    /// Releases the source's slot; the audio thread stops mixing it from the next block and the
    /// id becomes stale.
    pub fn remove_source(&self, id: SourceId) -> Result<(), MixerError> {
        let (slot, state) = self.lookup(id)?;
        let free = SlotState::with(SlotState::FREE_PHASE, state.generation(), state.layout());
        slot.state
            .compare_exchange(state.0, free.0, Ordering::AcqRel, Ordering::Relaxed)
            .map(drop)
            .map_err(|_| MixerError::UnknownSource(id))
    }

    /// Sets the source's linear gain (0 ..= +24 dB); it ramps over the configured smoothing.
    pub fn set_gain(&self, id: SourceId, gain: f32) -> Result<(), MixerError> {
        let gain = check_gain("gain", gain)?;
        self.lookup(id)?.0.gain.store(gain);
        Ok(())
    }

    /// Sets the source's gain in decibels (−∞ ..= +24); what a fader usually speaks.
    pub fn set_gain_db(&self, id: SourceId, db: f32) -> Result<(), MixerError> {
        self.set_gain(id, db_to_gain("gain_db", db)?)
    }

    /// Sets pan (mono, constant power) or balance (stereo), −1 = left ..= 1 = right; values
    /// outside are clamped.
    pub fn set_pan(&self, id: SourceId, pan: f32) -> Result<(), MixerError> {
        if pan.is_nan() {
            return Err(MixerError::InvalidParameter {
                name: "pan",
                value: pan,
            });
        }
        self.lookup(id)?.0.pan.store(pan.clamp(-1.0, 1.0));
        Ok(())
    }

    /// Mutes or unmutes the source, with a ramp rather than a click.
    pub fn set_mute(&self, id: SourceId, mute: bool) -> Result<(), MixerError> {
        self.lookup(id)?.0.mute.store(mute, Ordering::Relaxed);
        Ok(())
    }

    /// Solos the source: while any active source is soloed, only soloed sources are heard.
    pub fn set_solo(&self, id: SourceId, solo: bool) -> Result<(), MixerError> {
        self.lookup(id)?.0.solo.store(solo, Ordering::Relaxed);
        Ok(())
    }

    /// The source's current parameters, for displaying them.
    pub fn params(&self, id: SourceId) -> Result<SourceParams, MixerError> {
        let (slot, state) = self.lookup(id)?;
        Ok(SourceParams {
            layout: state.layout(),
            gain: slot.gain.load(),
            pan: slot.pan.load(),
            mute: slot.mute.load(Ordering::Relaxed),
            solo: slot.solo.load(Ordering::Relaxed),
        })
    }

    /// Sets the master gain (linear, 0 ..= +24 dB), applied before the limiter.
    pub fn set_master_gain(&self, gain: f32) -> Result<(), MixerError> {
        self.shared
            .master_gain
            .store(check_gain("master_gain", gain)?);
        Ok(())
    }

    /// Sets the master gain in decibels (−∞ ..= +24).
    pub fn set_master_gain_db(&self, db: f32) -> Result<(), MixerError> {
        self.set_master_gain(db_to_gain("master_gain_db", db)?)
    }

    /// The master gain last set (linear).
    pub fn master_gain(&self) -> f32 {
        self.shared.master_gain.load()
    }

    /// The source's post-fader meter, as of the last mixed block.
    pub fn source_meter(&self, id: SourceId) -> Result<Meter, MixerError> {
        Ok(self.lookup(id)?.0.meter.read())
    }

    /// The output meter (after master gain and limiter), as of the last mixed block.
    pub fn master_meter(&self) -> Meter {
        self.shared.master_meter.read()
    }

    /// How far the limiter pulled the output down in the last block, in dB (0 = untouched), so
    /// a UI can warn that the mix is too hot.
    pub fn limiter_gain_reduction_db(&self) -> f32 {
        let gain = self.shared.limiter_gain.load();
        if gain >= 1.0 {
            0.0
        } else {
            -20.0 * gain.max(1e-6).log10()
        }
    }

    /// The sample rate the mixer was configured with.
    pub fn sample_rate(&self) -> u32 {
        self.shared.sample_rate
    }

    /// Capacity: how many sources can be added at once.
    pub fn max_sources(&self) -> usize {
        self.shared.slots.len()
    }

    fn lookup(&self, id: SourceId) -> Result<(&SlotShared, SlotState), MixerError> {
        let slot = self
            .shared
            .slots
            .get(id.index())
            .ok_or(MixerError::UnknownSource(id))?;
        let state = slot.state();
        if state.is_active() && state.generation() == id.generation {
            Ok((slot, state))
        } else {
            Err(MixerError::UnknownSource(id))
        }
    }
}

impl fmt::Debug for MixerHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("MixerHandle")
            .field("max_sources", &self.shared.slots.len())
            .field("sample_rate", &self.shared.sample_rate)
            .finish_non_exhaustive()
    }
}

fn check_gain(name: &'static str, gain: f32) -> Result<f32, MixerError> {
    if (0.0..=MAX_GAIN).contains(&gain) {
        // −200 dB and below is silence; flushing keeps products of tiny gains out of subnormals.
        Ok(if gain < 1e-10 { 0.0 } else { gain })
    } else {
        Err(MixerError::InvalidParameter { name, value: gain })
    }
}

fn db_to_gain(name: &'static str, db: f32) -> Result<f32, MixerError> {
    if db.is_nan() || db > 24.0 {
        return Err(MixerError::InvalidParameter { name, value: db });
    }
    Ok(10f32.powf(db / 20.0).min(MAX_GAIN))
}

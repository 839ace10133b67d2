//! The control handle: mix parameters, statistics and latency terms, from any thread.

use std::sync::Arc;
use std::sync::atomic::Ordering;

use super::EngineError;
use super::network::EnginePeer;
use super::shared::Shared;
use super::stats::{self, LatencyTerms, PeerStats};
use crate::mixer::{MixerError, MixerHandle};

/// Mix parameters in, statistics out; cheap to clone, every method lock-free and wait-free
/// (statistics reads retry while the audio thread is mid-publish).
#[derive(Clone)]
pub struct EngineControl {
    shared: Arc<Shared>,
    mixer: MixerHandle,
}

impl EngineControl {
    pub(super) fn new(shared: Arc<Shared>, mixer: MixerHandle) -> Self {
        Self { shared, mixer }
    }

    /// A peer's gain in dB (−∞..=+24), ramped.
    pub fn set_gain_db(&self, peer: EnginePeer, db: f32) -> Result<(), EngineError> {
        Ok(self.mixer.set_gain_db(peer.source, db)?)
    }

    /// A peer's pan (mono) or balance (stereo), −1 = left ..= 1 = right.
    pub fn set_pan(&self, peer: EnginePeer, pan: f32) -> Result<(), EngineError> {
        Ok(self.mixer.set_pan(peer.source, pan)?)
    }

    /// Mutes or unmutes a peer, ramped.
    pub fn set_mute(&self, peer: EnginePeer, mute: bool) -> Result<(), EngineError> {
        Ok(self.mixer.set_mute(peer.source, mute)?)
    }

    /// How loud the musician hears their own input (linear, 0 = off, the default; ≤ +24 dB).
    /// Added at the host rate straight from the input, so it has no latency.
    pub fn set_monitor_level(&self, gain: f32) -> Result<(), EngineError> {
        if !(0.0..=15.85).contains(&gain) {
            return Err(MixerError::InvalidParameter {
                name: "monitor_level",
                value: gain,
            }
            .into());
        }
        self.shared.monitor_gain.store(gain);
        Ok(())
    }

    /// The monitor level last set.
    pub fn monitor_level(&self) -> f32 {
        self.shared.monitor_gain.load()
    }

    /// The mixer's handle: master gain, solo, meters.
    pub fn mixer(&self) -> &MixerHandle {
        &self.mixer
    }

    /// The peer's statistics as of the audio thread's last block; `None` for an unknown peer or
    /// before the audio thread has adopted it.
    pub fn peer_stats(&self, peer: EnginePeer) -> Option<PeerStats> {
        let slot = self.shared.peers.get(peer.slot)?;
        let (generation, mut stats) = stats::decode(&slot.stats.read()?);
        if generation != peer.generation {
            return None;
        }
        stats.ring_overflows = slot.ring_overflows.load(Ordering::Relaxed);
        stats.oversized = slot.oversized.load(Ordering::Relaxed);
        Some(stats)
    }

    /// The latency terms for hearing `peer` (see [`LatencyTerms`] for whose terms they are);
    /// `network_one_way` is left `None` for the session to fill in from clock sync.
    pub fn latency(&self, peer: EnginePeer) -> Option<LatencyTerms> {
        let stats = self.peer_stats(peer)?;
        Some(LatencyTerms {
            buffer: stats.buffer_delay(),
            ..self.local_latency()
        })
    }

    /// The terms that do not depend on a peer (buffer zero, network unknown).
    pub fn local_latency(&self) -> LatencyTerms {
        LatencyTerms {
            capture_block: self.shared.capture_block.load(),
            codec_frame: self.shared.codec_frame,
            lookahead: self.shared.lookahead,
            network_one_way: None,
            buffer: std::time::Duration::ZERO,
            resampling: self.shared.resampling,
            playback_block: self.shared.playback_block.load(),
        }
    }

    /// Captured frames dropped because the network side did not drain them in time.
    pub fn capture_overruns(&self) -> u64 {
        self.shared.capture_overruns.load(Ordering::Relaxed)
    }

    /// Blocks processed so far.
    pub fn blocks(&self) -> u64 {
        self.shared.blocks.load(Ordering::Relaxed)
    }
}

impl std::fmt::Debug for EngineControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineControl")
            .field("monitor_level", &self.monitor_level())
            .finish_non_exhaustive()
    }
}

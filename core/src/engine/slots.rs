//! What travels through the engine's rings: fixed-size slots (so neither side allocates per
//! item) and the commands that add and remove peers.

use std::time::Instant;

use crate::mixer::SourceId;
use crate::playout::Playout;

/// Largest RTP payload the engine carries: a full Ethernet MTU. Anything larger would have been
/// fragmented by IP and is refused as the sender's fault.
pub const MAX_RTP_PAYLOAD: usize = 1500;

/// Largest codec frame in interleaved samples: 20 ms of stereo at 48 kHz.
pub(crate) const MAX_FRAME_SAMPLES: usize = 960 * 2;

/// One received RTP packet on its way from the network task to the audio thread.
pub(crate) struct PacketSlot {
    pub(crate) arrival: Option<Instant>,
    pub(crate) seq: u16,
    pub(crate) timestamp: u32,
    pub(crate) len: u16,
    pub(crate) data: [u8; MAX_RTP_PAYLOAD],
}

impl Default for PacketSlot {
    fn default() -> Self {
        Self {
            arrival: None,
            seq: 0,
            timestamp: 0,
            len: 0,
            data: [0; MAX_RTP_PAYLOAD],
        }
    }
}

/// One captured codec frame (48 kHz, interleaved) on its way to the encoder.
pub(crate) struct CaptureSlot {
    /// Frames captured before this one; gaps mean the ring was full and frames were dropped.
    pub(crate) index: u64,
    pub(crate) len: usize,
    pub(crate) pcm: [f32; MAX_FRAME_SAMPLES],
}

impl Default for CaptureSlot {
    fn default() -> Self {
        Self {
            index: 0,
            len: 0,
            pcm: [0.0; MAX_FRAME_SAMPLES],
        }
    }
}

/// A remote peer's audio-thread state, built (allocated) on the network side.
pub(crate) struct PeerState {
    pub(crate) slot: usize,
    pub(crate) generation: u32,
    pub(crate) playout: Playout,
    pub(crate) packets: rtrb::Consumer<PacketSlot>,
    pub(crate) source: SourceId,
    pub(crate) channels: usize,
}

/// Network side → audio thread.
pub(crate) enum Command {
    /// Adopt this peer into `slot`.
    Add(Box<PeerState>),
    /// Retire the peer in `slot` if it still has `generation`.
    Remove { slot: usize, generation: u32 },
}

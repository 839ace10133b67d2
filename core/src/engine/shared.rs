//! State the audio thread, the network side and control handles share: atomics only, allocated
//! once in `Engine::new`.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use super::capture_clock::DueCell;
use super::stats::{STATS_WORDS, SeqCell};
pub(crate) use crate::mixer::shared::AtomicF32;

/// A duration stored as nanoseconds.
#[derive(Default)]
pub(crate) struct AtomicDuration(AtomicU64);

impl AtomicDuration {
    pub(crate) fn load(&self) -> Duration {
        Duration::from_nanos(self.0.load(Ordering::Relaxed))
    }

    pub(crate) fn store(&self, d: Duration) {
        let nanos = u64::try_from(d.as_nanos()).unwrap_or(u64::MAX);
        self.0.store(nanos, Ordering::Relaxed);
    }
}

/// One peer slot: statistics published by the audio thread, counters kept by the network side.
pub(crate) struct PeerSlotShared {
    pub(crate) stats: SeqCell<STATS_WORDS>,
    pub(crate) ring_overflows: AtomicU64,
    pub(crate) oversized: AtomicU64,
}

pub(crate) struct Shared {
    pub(crate) peers: Box<[PeerSlotShared]>,
    pub(crate) monitor_gain: AtomicF32,
    pub(crate) capture_block: AtomicDuration,
    pub(crate) playback_block: AtomicDuration,
    pub(crate) codec_frame: Duration,
    pub(crate) lookahead: Duration,
    pub(crate) resampling: Duration,
    pub(crate) capture_overruns: AtomicU64,
    pub(crate) blocks: AtomicU64,
    /// When the next captured frame is expected ([`super::CaptureClock`]).
    pub(crate) next_frame_due: DueCell,
}

impl Shared {
    pub(crate) fn new(
        max_peers: usize,
        codec_frame: Duration,
        lookahead: Duration,
        resampling: Duration,
    ) -> Self {
        Self {
            peers: (0..max_peers)
                .map(|_| PeerSlotShared {
                    stats: SeqCell::new(),
                    ring_overflows: AtomicU64::new(0),
                    oversized: AtomicU64::new(0),
                })
                .collect(),
            monitor_gain: AtomicF32::new(0.0),
            capture_block: AtomicDuration::default(),
            playback_block: AtomicDuration::default(),
            codec_frame,
            lookahead,
            resampling,
            capture_overruns: AtomicU64::new(0),
            blocks: AtomicU64::new(0),
            next_frame_due: DueCell::new(),
        }
    }
}

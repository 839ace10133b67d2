//! When the next captured frame will be ready, so the network side can wake for it instead of
//! polling the capture ring on a fixed tick.
//!
//! A codec frame completes inside the host block that delivers its last sample. The audio thread
//! knows how much of the frame is still missing and how long a block lasts, so after each block
//! it predicts when the block that completes the next frame will be called and stores that
//! instant in an atomic — arithmetic and one relaxed store, nothing else on the real-time path.
//! The network side (the session's pacer thread) sleeps until then and polls once: the phase of
//! the poll follows the capture, and no packet waits for an unrelated timer.
//!
//! The prediction is on the clock of the `now` the host passes to
//! [`Engine::process_at`](super::Engine::process_at) (when the block will sound). A host that
//! passes its output time (the `device` module does) leads the call time by its output
//! latency, so the audio thread also publishes that lead (`now` minus the call time it read)
//! and [`CaptureClock::next_call_due`] gives the prediction on the call-time clock, which is
//! what a pacer sleeps on.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The shared cell: the audio thread writes, any number of [`CaptureClock`]s read.
#[derive(Debug)]
pub(crate) struct DueCell {
    /// Reference for the stored offsets.
    epoch: Instant,
    /// Nanoseconds after `epoch` plus one; 0 while nothing is predicted.
    due: AtomicU64,
    /// Codec frames completed so far (handed to the capture ring or dropped on a full one).
    captured: AtomicU64,
    /// How far the host's `now` led the call time at the last block, nanoseconds (signed).
    lead: AtomicI64,
}

impl DueCell {
    pub(crate) fn new() -> Self {
        Self {
            epoch: Instant::now(),
            due: AtomicU64::new(0),
            captured: AtomicU64::new(0),
            lead: AtomicI64::new(0),
        }
    }

    /// Records the prediction and the frames completed so far (audio thread: wait-free, no
    /// system call). An instant before the epoch (virtual time in tests) is stored as the epoch.
    pub(crate) fn store(&self, due: Instant, lead: i64, captured: u64) {
        let nanos = due.saturating_duration_since(self.epoch).as_nanos();
        let nanos = u64::try_from(nanos).unwrap_or(u64::MAX - 1);
        self.due.store(nanos + 1, Ordering::Relaxed);
        self.lead.store(lead, Ordering::Relaxed);
        // Release: a reader that sees the count also sees the frames in the capture ring.
        self.captured.store(captured, Ordering::Release);
    }

    fn load(&self) -> Option<Instant> {
        match self.due.load(Ordering::Relaxed) {
            0 => None,
            n => Some(self.epoch + Duration::from_nanos(n - 1)),
        }
    }
}

/// When the block that completes the next frame will start, given the block just processed:
/// it started at `now`, lasted `block` and carried `block_frames_48k` frames at 48 kHz, after
/// which `missing` frames (48 kHz) of the next codec frame are still to come.
pub(crate) fn predict(
    now: Instant,
    block: Duration,
    block_frames_48k: f64,
    missing: usize,
) -> Instant {
    if block_frames_48k <= 0.0 {
        return now + block;
    }
    // Blocks until the frame is full; the block after this one is the first candidate.
    let blocks = (missing as f64 / block_frames_48k).ceil().max(1.0);
    // Bounded: a frame is at most 60 ms and a block at least one frame.
    now + block.mul_f64(blocks.min(1e6))
}

/// `a − b` in nanoseconds, saturating (a host's timestamps are input: never overflow).
pub(crate) fn signed_nanos(a: Instant, b: Instant) -> i64 {
    match a.checked_duration_since(b) {
        Some(d) => i64::try_from(d.as_nanos()).unwrap_or(i64::MAX),
        None => i64::try_from((b - a).as_nanos()).map_or(i64::MIN, |n| -n),
    }
}

/// A read handle on the capture's next-frame prediction, for the network side's pacer: after
/// each block the audio thread stores (atomics only) when the block that completes its next codec
/// frame will be called and how many frames it has completed, so a pacer can sleep until then
/// instead of polling the capture ring. Cheap to clone, `Send` and `Sync`; reads are atomic loads.
#[derive(Clone)]
pub struct CaptureClock {
    cell: Arc<super::shared::Shared>,
}

impl CaptureClock {
    pub(super) fn new(cell: Arc<super::shared::Shared>) -> Self {
        Self { cell }
    }

    /// When the host block that completes the next codec frame is expected to start, on the
    /// clock of the `now` passed to [`Engine::process_at`](super::Engine::process_at); `None` before
    /// the first block.
    /// The frame is in the capture ring shortly after that block's `process` call begins.
    pub fn next_frame_due(&self) -> Option<Instant> {
        self.cell.next_frame_due.load()
    }

    /// [`Self::next_frame_due`] moved onto the clock of the host's calls: when the block that
    /// completes the next frame will be *called* (the host's `now` may lead that by its output
    /// latency). This is what a pacer sleeps until.
    pub fn next_call_due(&self) -> Option<Instant> {
        let due = self.next_frame_due()?;
        let lead = self.cell.next_frame_due.lead.load(Ordering::Relaxed);
        let shift = Duration::from_nanos(lead.unsigned_abs());
        if lead >= 0 {
            Some(due.checked_sub(shift).unwrap_or(due))
        } else {
            Some(due.checked_add(shift).unwrap_or(due))
        }
    }

    /// Codec frames the audio thread has completed so far: when it moves, there is something
    /// to send (a frame the ring could not take is counted too, and reported as an overrun).
    pub fn frames_captured(&self) -> u64 {
        self.cell.next_frame_due.captured.load(Ordering::Acquire)
    }
}

impl std::fmt::Debug for CaptureClock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CaptureClock")
            .field("next_frame_due", &self.next_frame_due())
            .field("frames_captured", &self.frames_captured())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_frame_is_due_at_the_block_that_fills_it() {
        let t = Instant::now();
        let block = Duration::from_micros(1333);
        // 120-sample frames in 64-frame blocks: 56 missing → the next block completes it.
        assert_eq!(predict(t, block, 64.0, 56), t + block);
        // 120 missing → two blocks.
        assert_eq!(predict(t, block, 64.0, 120), t + 2 * block);
        // Exactly one block missing → the next block.
        assert_eq!(predict(t, block, 64.0, 64), t + block);
        // Blocks longer than frames: every block completes one.
        assert_eq!(predict(t, 4 * block, 256.0, 120), t + 4 * block);
    }

    #[test]
    fn the_cell_round_trips_and_clamps_before_its_epoch() {
        let cell = DueCell::new();
        assert_eq!(cell.load(), None);
        let later = cell.epoch + Duration::from_micros(2500);
        cell.store(later, 0, 3);
        assert_eq!(cell.load(), Some(later));
        assert_eq!(cell.captured.load(Ordering::Acquire), 3);
        cell.store(
            cell.epoch
                .checked_sub(Duration::from_secs(1))
                .unwrap_or(cell.epoch),
            0,
            4,
        );
        assert_eq!(cell.load(), Some(cell.epoch));
    }
}

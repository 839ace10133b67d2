//! The adaptive playout buffer: one per remote stream, sans-IO.
//!
//! # Run loop
//! The network side calls [`JitterBuffer::push`] with each RTP packet and its local arrival time;
//! the audio side calls [`JitterBuffer::pop`] whenever it needs the next codec frame, passing the
//! local time at which that frame will start to sound. Both take `now` from the caller, so a test
//! or the evaluation drives an hour of traffic in a second.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tutti_core::jitter::{JitterBuffer, JitterConfig, PayloadFormat, Pop};
//!
//! let mut jb = JitterBuffer::new(JitterConfig {
//!     payload: PayloadFormat::Plain,
//!     ..JitterConfig::default()
//! });
//! let start = Instant::now();
//! let frame = Duration::from_micros(2500);
//! let mut decoded = 0;
//! for i in 0..400u32 {
//!     let t = start + frame * i;
//!     // Packet i, sent at t and arriving 10 ms later; 120 samples per 2.5 ms frame.
//!     jb.push(t + Duration::from_millis(10), i as u16, i * 120, &[0xF8, 0xFF, 0xFE]);
//!     if let Pop::Frame { .. } = jb.pop(t + Duration::from_millis(10)) {
//!         decoded += 1;
//!     }
//! }
//! assert!(decoded > 390);
//! ```
//!
//! # What it does
//! - Orders frames by RTP timestamp (extended past the 32-bit wrap), keeps the first copy of each
//!   (a redundant copy recovers a lost primary), counts duplicates, late and malformed input.
//! - Measures each frame's delay above the fastest path (drift-corrected by
//!   [`SkewEstimator`]) and lets a [`DelayPolicy`] choose the target delay.
//! - On an empty buffer it *holds* (conceals without advancing, so delay grows by a frame) while
//!   below target, and otherwise *skips* (conceals the frame as lost, delay unchanged): rare spikes
//!   are concealed, sustained ones raise the delay at once.
//! - Steers the delay back to target without clicks by asking the playout to consume slightly
//!   faster or slower ([`JitterBuffer::playout_rate`], at most ±0.5% by default = 8.6 cents,
//!   inaudible), which also absorbs the sender/receiver clock skew.
//!
//! Memory is bounded by the configured capacity and allocated in [`JitterBuffer::new`]; `push` and
//! `pop` never allocate.

mod policy;

pub use policy::{AdaptivePolicy, DelayPolicy, FixedPolicy, TAIL_SAMPLES};

use std::time::{Duration, Instant};

use crate::codec::{FrameDuration, MAX_PACKET_BYTES, SAMPLE_RATE};
use crate::drift::{MAX_RATE_DEVIATION, SkewEstimator};
use crate::redundancy;
use crate::wraparound::{SeqUnwrapper, TimestampUnwrapper};

/// How RTP payloads of this stream are framed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum PayloadFormat {
    /// One Opus frame per packet.
    Plain,
    /// RFC 2198 redundancy: each packet may repeat earlier frames ([`crate::redundancy`]).
    #[default]
    Redundant,
}

/// Settings of one playout buffer.
#[derive(Debug, Clone)]
pub struct JitterConfig {
    /// Codec frame duration of the stream (the RTP timestamp step).
    pub frame: FrameDuration,
    /// Frames the buffer can hold; bounds memory (`capacity × 1275` bytes) and the largest
    /// delay (256 × 2.5 ms = 640 ms).
    pub capacity: usize,
    /// Share of frames allowed to arrive after their playout time (concealed instead).
    pub late_goal: f64,
    /// How long the delay statistics remember at least (the target's shrink time scale). The
    /// policy stretches it until it spans [`TAIL_SAMPLES`] late frames at the goal, so
    /// the default 2 s becomes 20 s at the default 0.25% goal (2.5 ms frames) and stays ~2 s
    /// only for lax goals (≥ 2.5%), where a longer memory keeps a stale spike in the target.
    pub memory: Duration,
    /// Largest playout-rate correction used to steer the delay, as a fraction (0.005 = 0.5%).
    pub max_rate_correction: f64,
    /// Time constant of the steering: an error of `e` asks for a rate change of `e / this`.
    pub correction_time: Duration,
    /// Payload framing.
    pub payload: PayloadFormat,
}

impl Default for JitterConfig {
    fn default() -> Self {
        Self {
            frame: FrameDuration::Ms2_5,
            capacity: 256,
            late_goal: 0.0025,
            memory: Duration::from_secs(2),
            max_rate_correction: 0.005,
            correction_time: Duration::from_secs(1),
            payload: PayloadFormat::Redundant,
        }
    }
}

/// What the playout should do for the next frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Pop<'a> {
    /// Decode this frame.
    Frame {
        /// The encoded frame.
        data: &'a [u8],
        /// Whether it came from a redundant copy because the primary was lost or late.
        recovered: bool,
    },
    /// The frame is missing: conceal it (Opus PLC).
    Conceal,
    /// Nothing to play: the stream has not started or the sender is in DTX silence.
    Silence,
}

/// What [`JitterBuffer::push`] did with a packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PushOutcome {
    /// At least one frame was new and stored.
    Stored,
    /// Every frame in it was already held or played.
    Duplicate,
    /// Its primary frame's playout time had already passed.
    Late,
    /// Unparseable payload or a frame too large to be Opus.
    Malformed,
    /// Too far from the current playout position to be stored.
    OutOfWindow,
    /// It began a new stream (sequence/timestamp jump); state was reset around it.
    Restarted,
}

/// Counters and gauges of one playout buffer.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct JitterStats {
    /// Added playout delay above the fastest path, as of the last pop.
    pub current_delay: Duration,
    /// The policy's target for that delay.
    pub target_delay: Duration,
    /// Audio waiting in the buffer (newest frame minus playout position).
    pub buffered: Duration,
    /// Frames played from their primary copy.
    pub frames_decoded: u64,
    /// Frames played from a redundant copy.
    pub frames_recovered: u64,
    /// Frames concealed (lost, late, or held while the delay grew).
    pub frames_concealed: u64,
    /// Frames of silence (before the stream started, or DTX).
    pub frames_silent: u64,
    /// Frames whose first copy arrived after their playout time.
    pub late: u64,
    /// Packets or frames dropped: out of window or beyond capacity.
    pub dropped: u64,
    /// Primary copies received more than once.
    pub duplicates: u64,
    /// Unparseable payloads, empty or oversized frames.
    pub malformed: u64,
    /// Stream restarts detected (new source or sequence jump).
    pub restarts: u64,
    /// Packets offered to `push`.
    pub packets_received: u64,
    /// How fast the sender's sample clock runs against ours, ppm (positive: sender fast).
    pub sender_clock_ppm: f64,
    /// Current playout rate (input frames per output frame).
    pub playout_rate: f64,
}

/// Pops per steering window (~80 ms at 2.5 ms frames): long enough to span the host-block
/// sawtooth, short enough to react within a fraction of a second.
const STEER_WINDOW: u32 = 32;
/// Extra target while the clock skew is unknown. Steering follows an unknown drift with a
/// steady error of `drift × correction_time` (2000 ppm × 1 s = 2 ms), whatever the frame: so
/// 2.5 ms, not a whole frame — at 20 ms frames a frame of headroom held for the first seconds
/// (and drained at 0.5% afterwards) dominated a short session's latency.
const UNKNOWN_SKEW_HEADROOM: Duration = Duration::from_micros(2500);
/// Consecutive out-of-window packets that prove a new stream rather than stray packets.
const RESTART_AFTER: u32 = 3;
/// A payload with the largest Opus frame plus two redundant ones and their headers.
const MAX_FRAME_BYTES: usize = MAX_PACKET_BYTES;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SlotState {
    Empty,
    Ready {
        recovered: bool,
    },
    /// Played; kept so later copies are recognised as duplicates.
    Done,
    /// Concealed or skipped before any copy arrived; a copy arriving now is late.
    Missed,
}

#[derive(Debug, Clone, Copy)]
struct Slot {
    index: i64,
    len: u16,
    state: SlotState,
}

const EMPTY_SLOT: Slot = Slot {
    index: i64::MIN,
    len: 0,
    state: SlotState::Empty,
};

/// One remote stream's playout buffer. See the [module docs](self).
#[derive(Debug)]
pub struct JitterBuffer<P: DelayPolicy = AdaptivePolicy> {
    config: JitterConfig,
    policy: P,
    skew: SkewEstimator,
    slots: Box<[Slot]>,
    data: Box<[u8]>,
    epoch: Option<Instant>,
    seq: SeqUnwrapper,
    ts: TimestampUnwrapper,
    /// Extended timestamp of frame index 0.
    anchor: Option<i64>,
    last_seq: Option<i64>,
    last_primary: Option<i64>,
    /// Next frame index to play; `None` until playout starts.
    next: Option<i64>,
    newest: Option<i64>,
    /// A concealment was already played for `next` without advancing.
    held: bool,
    /// Frames below this index fall in a DTX gap: silence, not loss.
    dtx_until: i64,
    last_played_dtx: bool,
    out_of_window: u32,
    /// Smallest delay seen at a pop in the current steering window, and pops in it.
    window_min: f64,
    window_pops: u32,
    /// Steering error (window minimum delay − target) from the last complete window.
    steer_error: f64,
    frame_samples: i64,
    frame_secs: f64,
    rate: f64,
    stats: JitterStats,
}

impl JitterBuffer<AdaptivePolicy> {
    /// A buffer with Tutti's adaptive policy.
    pub fn new(config: JitterConfig) -> Self {
        let policy =
            AdaptivePolicy::new(config.frame.as_duration(), config.late_goal, config.memory);
        Self::with_policy(config, policy)
    }
}

impl<P: DelayPolicy> JitterBuffer<P> {
    /// A buffer whose target delay comes from `policy`.
    pub fn with_policy(config: JitterConfig, policy: P) -> Self {
        let capacity = config.capacity.clamp(4, 1 << 16);
        let frame_samples = config.frame.samples_per_channel() as i64;
        Self {
            frame_secs: frame_samples as f64 / f64::from(SAMPLE_RATE),
            frame_samples,
            config: JitterConfig { capacity, ..config },
            policy,
            skew: SkewEstimator::new(),
            slots: vec![EMPTY_SLOT; capacity].into_boxed_slice(),
            data: vec![0; capacity * MAX_FRAME_BYTES].into_boxed_slice(),
            epoch: None,
            seq: SeqUnwrapper::new(),
            ts: TimestampUnwrapper::new(),
            anchor: None,
            last_seq: None,
            last_primary: None,
            next: None,
            newest: None,
            held: false,
            dtx_until: i64::MIN,
            last_played_dtx: false,
            out_of_window: 0,
            window_min: f64::INFINITY,
            window_pops: 0,
            steer_error: 0.0,
            rate: 1.0,
            stats: JitterStats {
                playout_rate: 1.0,
                ..JitterStats::default()
            },
        }
    }

    /// The configuration in force.
    pub fn config(&self) -> &JitterConfig {
        &self.config
    }

    /// Counters and gauges.
    pub fn stats(&self) -> JitterStats {
        self.stats
    }

    /// The policy (e.g. to inspect an evaluation rule's state).
    pub fn policy(&self) -> &P {
        &self.policy
    }

    /// The rate at which the playout should consume frames (input frames per output frame): the
    /// clock skew plus the steering that brings the delay to its target.
    pub fn playout_rate(&self) -> f64 {
        self.rate
    }

    /// Forgets the stream (a new source replaced it); statistics are kept and `restarts` counted.
    pub fn reset(&mut self) {
        self.slots.iter_mut().for_each(|s| *s = EMPTY_SLOT);
        self.policy.reset();
        self.skew.reset();
        self.seq.reset();
        self.ts.reset();
        self.anchor = None;
        self.last_seq = None;
        self.last_primary = None;
        self.next = None;
        self.newest = None;
        self.held = false;
        self.dtx_until = i64::MIN;
        self.last_played_dtx = false;
        self.out_of_window = 0;
        self.window_min = f64::INFINITY;
        self.window_pops = 0;
        self.steer_error = 0.0;
        self.rate = 1.0;
        self.stats.restarts += 1;
    }

    /// Offers one RTP packet: its local `arrival` time, sequence number, RTP timestamp (of the
    /// primary frame) and payload. Never fails: bad input is counted and dropped.
    pub fn push(
        &mut self,
        arrival: Instant,
        seq: u16,
        rtp_timestamp: u32,
        payload: &[u8],
    ) -> PushOutcome {
        self.stats.packets_received += 1;
        self.push_packet(arrival, seq, rtp_timestamp, payload)
    }

    fn push_packet(
        &mut self,
        arrival: Instant,
        seq: u16,
        rtp_timestamp: u32,
        payload: &[u8],
    ) -> PushOutcome {
        let t = self.seconds(arrival);
        let red = match self.config.payload {
            PayloadFormat::Redundant => match redundancy::parse(payload) {
                Ok(packet) => Some(packet),
                Err(_) => {
                    self.stats.malformed += 1;
                    return PushOutcome::Malformed;
                }
            },
            PayloadFormat::Plain => None,
        };
        let primary = red.as_ref().map_or(payload, |p| p.primary().data);
        if primary.is_empty() || primary.len() > MAX_FRAME_BYTES {
            self.stats.malformed += 1;
            return PushOutcome::Malformed;
        }

        let (seq_ext, ts_ext) = (self.seq.peek(u32::from(seq)), self.ts.peek(rtp_timestamp));
        let anchor = *self.anchor.get_or_insert(ts_ext);
        let index = self.frame_index(ts_ext - anchor);
        let reference = self.next.or(self.newest).unwrap_or(index);
        let capacity = self.config.capacity as i64;
        if index >= reference + capacity || index < reference - capacity {
            self.out_of_window += 1;
            if self.out_of_window < RESTART_AFTER {
                self.stats.dropped += 1;
                return PushOutcome::OutOfWindow;
            }
            self.reset();
            let _ = self.push_packet(arrival, seq, rtp_timestamp, payload);
            return PushOutcome::Restarted;
        }
        self.out_of_window = 0;
        self.seq.unwrap(u32::from(seq));
        self.ts.unwrap(rtp_timestamp);

        // Sequence contiguous but timestamps jumped: the sender paused in DTX, nothing was lost.
        if let (Some(last_seq), Some(last_primary)) = (self.last_seq, self.last_primary)
            && seq_ext == last_seq + 1
            && index > last_primary + 1
        {
            self.dtx_until = self.dtx_until.max(index);
        }
        self.last_seq = Some(self.last_seq.map_or(seq_ext, |s| s.max(seq_ext)));
        self.last_primary = Some(self.last_primary.map_or(index, |p| p.max(index)));

        let mut stored = false;
        if let Some(packet) = red {
            for block in packet.redundant() {
                let ts = ts_ext - i64::from(block.timestamp_offset);
                let idx = self.frame_index(ts - anchor);
                stored |= self.insert(t, arrival, idx, block.data, true) == PushOutcome::Stored;
            }
        }
        match self.insert(t, arrival, index, primary, false) {
            PushOutcome::Stored => PushOutcome::Stored,
            _ if stored => PushOutcome::Stored,
            other => other,
        }
    }

    /// Stores the first copy of frame `index`; later copies are duplicates.
    fn insert(
        &mut self,
        t: f64,
        arrival: Instant,
        index: i64,
        data: &[u8],
        recovered: bool,
    ) -> PushOutcome {
        if data.is_empty() || data.len() > MAX_FRAME_BYTES {
            self.stats.malformed += 1;
            return PushOutcome::Malformed;
        }
        let capacity = self.config.capacity as i64;
        if let Some(next) = self.next
            && (index >= next + capacity || index < next - capacity)
        {
            self.stats.dropped += 1;
            return PushOutcome::OutOfWindow;
        }
        let pos = index.rem_euclid(capacity) as usize;
        let slot = self.slots[pos];
        if slot.index == index && matches!(slot.state, SlotState::Ready { .. } | SlotState::Done) {
            if !recovered {
                self.stats.duplicates += 1;
            }
            return PushOutcome::Duplicate;
        }
        if slot.index > index {
            // The slot already moved on to a newer frame: this copy is ancient.
            self.stats.late += 1;
            return PushOutcome::Late;
        }

        // First copy of this frame: its delay is what the policy learns from.
        let rho = t - index as f64 * self.frame_secs;
        self.skew.observe(t, rho);
        if let Some(base) = self.skew.baseline(t) {
            self.policy
                .on_arrival(arrival, secs_to_duration(rho - base));
        }

        if self.next.is_some_and(|next| index < next) {
            self.stats.late += 1;
            self.slots[pos] = Slot {
                index,
                len: 0,
                state: SlotState::Done,
            };
            return PushOutcome::Late;
        }
        if slot.index == index && slot.state == SlotState::Missed {
            // Held for but concealed, yet still due: the hold is over, the frame plays now.
            self.stats.late += 1;
        }
        let start = pos * MAX_FRAME_BYTES;
        self.data[start..start + data.len()].copy_from_slice(data);
        self.slots[pos] = Slot {
            index,
            len: data.len() as u16,
            state: SlotState::Ready { recovered },
        };
        self.newest = Some(self.newest.map_or(index, |n| n.max(index)));
        PushOutcome::Stored
    }

    /// The next frame for playout; `now` is the local time at which it is pulled (its data must
    /// have arrived by then).
    pub fn pop(&mut self, now: Instant) -> Pop<'_> {
        let t = self.seconds(now);
        let mut target = self.policy.target(now);
        if !self.skew.is_estimated() {
            // Until the clock skew is known (a few seconds), up to 2000 ppm of drift may pull the
            // delay down faster than steering can see it: keep headroom for it.
            target += self.config.frame.as_duration().min(UNKNOWN_SKEW_HEADROOM);
        }
        self.stats.target_delay = target;
        let Some(mut next) = self.next.or_else(|| self.try_start(t, target)) else {
            self.stats.frames_silent += 1;
            return Pop::Silence;
        };
        let capacity = self.config.capacity as i64;
        let newest = self.newest.unwrap_or(next - 1);
        // Bounded: every pass advances `next` or returns.
        for _ in 0..=capacity {
            let pos = next.rem_euclid(capacity) as usize;
            let slot = self.slots[pos];
            if slot.index == next
                && let SlotState::Ready { recovered } = slot.state
            {
                self.slots[pos].state = SlotState::Done;
                self.advance(t, target, next, true);
                self.held = false;
                self.last_played_dtx = slot.len <= 2;
                if recovered {
                    self.stats.frames_recovered += 1;
                } else {
                    self.stats.frames_decoded += 1;
                }
                let start = pos * MAX_FRAME_BYTES;
                return Pop::Frame {
                    data: &self.data[start..start + usize::from(slot.len)],
                    recovered,
                };
            }
            if next < self.dtx_until {
                self.mark(next, SlotState::Missed);
                self.advance(t, target, next, true);
                self.stats.frames_silent += 1;
                return Pop::Silence;
            }
            if self.held && newest > next && self.delay_at(t, next) >= target.as_secs_f64() {
                // Waited as long as the target allows and later frames came, this one did not:
                // it is lost, and the concealment played while holding stood in for it.
                self.mark(next, SlotState::Missed);
                next += 1;
                self.held = false;
                continue;
            }
            break;
        }

        // `next` is missing: lost, late, or (nothing buffered after a DTX frame) silent.
        if self.last_played_dtx && newest < next {
            self.mark(next, SlotState::Missed);
            self.advance(t, target, next, true);
            self.stats.frames_silent += 1;
            return Pop::Silence;
        }
        if newest < next {
            self.policy.on_underrun(now);
        }
        self.stats.frames_concealed += 1;
        if self.delay_at(t, next) < target.as_secs_f64() {
            // Below target: hold (conceal without advancing). If the frame turns up it plays next
            // and the delay has grown by a frame; if later frames come first it is skipped.
            self.held = true;
            self.advance(t, target, next, false);
        } else {
            self.held = false;
            self.mark(next, SlotState::Missed);
            self.advance(t, target, next, true);
        }
        Pop::Conceal
    }

    /// Starts playout at the oldest buffered frame once it has waited for the target delay.
    fn try_start(&mut self, t: f64, target: Duration) -> Option<i64> {
        let newest = self.newest?;
        let capacity = self.config.capacity as i64;
        let oldest = (newest - capacity + 1..=newest).find(|&i| {
            let slot = self.slots[i.rem_euclid(capacity) as usize];
            slot.index == i && matches!(slot.state, SlotState::Ready { .. })
        })?;
        let full = newest - oldest >= capacity / 2;
        if self.delay_at(t, oldest) < target.as_secs_f64() && !full {
            return None;
        }
        self.next = Some(oldest);
        Some(oldest)
    }

    /// Records that frame `index` was output at `t` (played, concealed or silent), moves the
    /// playout position past it unless `hold`ing, and updates the gauges and the playout rate.
    ///
    /// Frames are pulled at host-block boundaries, so the delay seen at a pull saws up and down by
    /// up to a block; steering the *minimum* over a window to the target keeps every pull, not
    /// just the average one, on time.
    fn advance(&mut self, t: f64, target: Duration, index: i64, advance: bool) {
        let next = index + i64::from(advance);
        self.next = Some(next);
        let delay = self.delay_at(t, index);
        self.window_min = self.window_min.min(delay);
        self.window_pops += 1;
        if self.window_pops >= STEER_WINDOW {
            self.steer_error = self.window_min - target.as_secs_f64();
            self.window_min = f64::INFINITY;
            self.window_pops = 0;
        }
        let correction = (self.steer_error / self.config.correction_time.as_secs_f64().max(1e-3))
            .clamp(
                -self.config.max_rate_correction,
                self.config.max_rate_correction,
            );
        let max = 1.0 + MAX_RATE_DEVIATION;
        self.rate = ((1.0 + correction) / (1.0 + self.skew.skew())).clamp(1.0 / max, max);
        let newest = self.newest.unwrap_or(next);
        self.stats.current_delay = secs_to_duration(delay);
        self.stats.buffered = secs_to_duration((newest + 1 - next) as f64 * self.frame_secs);
        self.stats.sender_clock_ppm = -self.skew.skew() * 1e6;
        self.stats.playout_rate = self.rate;
    }

    /// Added delay if frame `index` plays at local time `t`: how long after the fastest path
    /// would have delivered it.
    fn delay_at(&self, t: f64, index: i64) -> f64 {
        let position = t - index as f64 * self.frame_secs;
        self.skew.baseline(t).map_or(0.0, |base| position - base)
    }

    fn mark(&mut self, index: i64, state: SlotState) {
        let pos = index.rem_euclid(self.config.capacity as i64) as usize;
        if self.slots[pos].index <= index {
            self.slots[pos] = Slot {
                index,
                len: 0,
                state,
            };
        }
    }

    /// Nearest frame index for a timestamp distance from the anchor.
    fn frame_index(&self, samples: i64) -> i64 {
        (samples + self.frame_samples / 2).div_euclid(self.frame_samples)
    }

    /// Local seconds since the first instant this buffer saw.
    fn seconds(&mut self, t: Instant) -> f64 {
        let epoch = *self.epoch.get_or_insert(t);
        match t.checked_duration_since(epoch) {
            Some(d) => d.as_secs_f64(),
            None => -(epoch - t).as_secs_f64(),
        }
    }
}

fn secs_to_duration(secs: f64) -> Duration {
    if secs.is_finite() && secs > 0.0 {
        Duration::from_secs_f64(secs.min(1e6))
    } else {
        Duration::ZERO
    }
}

#[cfg(test)]
mod tests;

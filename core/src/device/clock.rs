//! Following the input device's clock when it is not the output's: a capture device and a
//! playback device each run on their own crystal, a few hundred ppm apart, so the input delivers
//! slightly more or fewer frames than the output consumes. The output callback passes the
//! captured audio through a [`DriftResampler`] whose consumption ratio tracks the input clock,
//! so neither side drops nor invents frames.
//!
//! # The controller
//! - **Feed-forward**: both callbacks time-stamp their frame counters against the monotonic clock
//!   and feed them to a [`SkewEstimator`] each (the network path's estimator: lower envelope of
//!   `time − frames/rate`, fitted over a minute, so late callbacks do not bias it). The ratio of
//!   the two slopes is the input/output clock ratio, accurate to a few ppm after ~10 s. A jump
//!   of more than 100 ms in `time − frames/rate` (a stall, a restarted stream) restarts a fit;
//!   the last skew stays in use until the new fit has enough points.
//! - **Feedback**: the input's fill level — frames in the ring and in the resampler, plus the
//!   frames captured since the last input callback (so the input's bursts do not show up as a
//!   staircase) — is measured at every output callback; its minimum over a quarter second is
//!   steered to one input buffer plus a 0.5 ms margin with a slow proportional correction that
//!   ignores errors within ±0.25 ms (callback jitter). The minimum is what matters: it is the
//!   moment just before an input burst.
//! - The ratio is clamped to ±1000 ppm. Only gross events — a stall, a restarted device, the
//!   start — trim the backlog or play silence, and those are counted separately.
//!
//! # Latency
//! Just before an input burst, 0.5 ms of input waits beyond the current output block (just
//! after it, one input buffer more); the polynomial adds 4 frames of delay
//! ([`DriftResampler::output_delay`]); the frames it holds for its next 16-frame chunk are part
//! of the measured fill, not extra. So two devices cost about 0.6 ms at 48 kHz over an ideally
//! aligned duplex device. One device (same id) skips all of this: ratio 1, nothing added.

use std::sync::atomic::Ordering;
use std::time::Instant;

use super::callbacks::Counters;
use crate::drift::{DriftError, DriftResampler, SkewEstimator};

/// Largest deviation of the consumption ratio from 1: far beyond real crystals (±100 ppm,
/// ±300 ppm for cheap USB and Bluetooth devices) and inaudible (1.7 cents).
const MAX_DEVIATION: f64 = 1_000e-6;
/// Largest part of the ratio the fill-level feedback may contribute.
const MAX_CORRECTION: f64 = 500e-6;
/// Feedback time constant: a fill error of `e` seconds asks for a ratio change of `e / this`.
const CORRECTION_SECS: f64 = 2.0;
/// Fill errors within this many seconds are callback jitter, not drift: no correction, so
/// matching clocks keep the ratio at exactly the feed-forward's.
const DEADBAND_SECS: f64 = 0.25e-3;
/// Feedback window, seconds: spans many input and output callbacks.
const WINDOW_SECS: f64 = 0.25;
/// Frames kept beyond one input buffer at the fill minimum, seconds: absorbs callback jitter.
const MARGIN_SECS: f64 = 0.5e-3;
/// Backlog beyond the target that no gentle correction would drain soon (a stall), seconds on
/// top of one input buffer: trimmed at once.
const GROSS_SECS: f64 = 4e-3;

/// A jump of `time − frames/rate` beyond this is a stall or a restarted stream (the device's
/// frame count no longer continues its clock), not jitter: the skew fit starts over.
const STALL_SECS: f64 = 0.1;

/// One device's clock against the monotonic clock, from its callbacks' times and frame counts.
#[derive(Debug)]
struct DeviceClock {
    estimator: SkewEstimator,
    epoch: Instant,
    rate: f64,
    frames: u64,
    last_rho: Option<f64>,
    /// The last fitted skew, kept while a restarted fit has too few points.
    skew: f64,
}

impl DeviceClock {
    fn new(epoch: Instant, rate: u32) -> Self {
        Self {
            estimator: SkewEstimator::new(),
            epoch,
            rate: f64::from(rate.max(1)),
            frames: 0,
            last_rho: None,
            skew: 0.0,
        }
    }

    /// Seconds since the epoch at `now`.
    fn time(&self, now: Instant) -> f64 {
        now.saturating_duration_since(self.epoch).as_secs_f64()
    }

    /// Records that at `t` the device's clock stood at its frame count; returns its skew
    /// (positive: it runs slower than the monotonic clock; 0 until first estimated).
    fn observe(&mut self, t: f64) -> f64 {
        let rho = t - self.frames as f64 / self.rate;
        if self
            .last_rho
            .is_some_and(|last| (rho - last).abs() > STALL_SECS)
        {
            self.estimator.reset();
        }
        self.last_rho = Some(rho);
        self.estimator.observe(t, rho);
        if self.estimator.is_estimated() {
            self.skew = self.estimator.skew();
        }
        self.skew
    }

    fn advance(&mut self, frames: usize) {
        self.frames += frames as u64;
    }
}

/// What the capture callback publishes for the follower: its clock's skew against the
/// monotonic clock, and when it last delivered.
#[derive(Debug)]
pub(super) struct CaptureClock(DeviceClock);

impl CaptureClock {
    /// `epoch` must be the follower's: both measure time from it.
    pub(super) fn new(epoch: Instant, rate: u32) -> Self {
        Self(DeviceClock::new(epoch, rate))
    }

    /// Records that the input callback running at `now` delivered `frames` more frames (call
    /// after they are in the ring).
    pub(super) fn delivered(&mut self, now: Instant, frames: usize, c: &Counters) {
        let t = self.0.time(now);
        self.0.advance(frames);
        let skew = self.0.observe(t);
        c.input_skew.store(skew.to_bits(), Ordering::Relaxed);
        // 0 means "nothing delivered yet".
        let ns = (t * 1e9).max(1.0) as u64;
        c.input_last_ns.store(ns, Ordering::Release);
    }
}

/// The output callback's half: resamples the captured input to the output clock.
pub(super) struct ClockFollower {
    resampler: DriftResampler,
    kept: usize,
    /// Resampled input, interleaved, one engine block.
    scratch: Box<[f32]>,
    /// The output device's clock.
    clock: DeviceClock,
    rate: f64,
    /// Smallest slack (fill beyond the current block) in the window, and frames in it.
    window_min: f64,
    window_frames: f64,
    correction: f64,
}

impl std::fmt::Debug for ClockFollower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClockFollower")
            .field("kept", &self.kept)
            .field("rate", &self.resampler.rate())
            .finish_non_exhaustive()
    }
}

impl ClockFollower {
    /// A follower for `kept` channels, engine blocks of at most `chunk` frames, at `rate` Hz.
    pub(super) fn new(
        kept: usize,
        chunk: usize,
        rate: u32,
        epoch: Instant,
    ) -> Result<Self, DriftError> {
        let kept = kept.clamp(1, 2);
        let chunk = chunk.max(1);
        Ok(Self {
            resampler: DriftResampler::new(kept, chunk)?,
            kept,
            scratch: vec![0.0; chunk * kept].into_boxed_slice(),
            clock: DeviceClock::new(epoch, rate),
            rate: f64::from(rate.max(1)),
            window_min: f64::INFINITY,
            window_frames: 0.0,
            correction: 0.0,
        })
    }

    /// Called once per output callback of `frames` frames running at `now`, before any
    /// [`ClockFollower::read`]: measures the fill, trims a gross backlog and sets the ratio.
    pub(super) fn begin(
        &mut self,
        ring: &mut rtrb::Consumer<f32>,
        frames: usize,
        now: Instant,
        c: &Counters,
    ) {
        let t = self.clock.time(now);
        let out_skew = self.clock.observe(t);
        self.clock.advance(frames);
        let in_skew = f64::from_bits(c.input_skew.load(Ordering::Relaxed));
        // Input frames per output frame: each clock's frames per monotonic second, divided.
        let clock =
            ((1.0 - in_skew) / (1.0 - out_skew)).clamp(1.0 - MAX_DEVIATION, 1.0 + MAX_DEVIATION);

        // Read the delivery time before the ring: a delivery in between then only overstates
        // the fill, which the window minimum ignores.
        let last_ns = c.input_last_ns.load(Ordering::Acquire);
        let input_buffer = c.input_buffer_frames.load(Ordering::Relaxed) as f64;
        let since = if last_ns == 0 {
            0.0
        } else {
            (t - last_ns as f64 * 1e-9).clamp(0.0, input_buffer / self.rate)
        };
        let ratio = self.resampler.rate();
        let queued = (ring.slots() / self.kept) as f64;
        let held = self.resampler.buffered_input() as f64
            + self.resampler.buffered_output() as f64 * ratio;
        let slack = queued + held + since * self.rate * clock - frames as f64 * ratio;
        let target = input_buffer + MARGIN_SECS * self.rate;

        let excess = slack - target;
        if excess > input_buffer + GROSS_SECS * self.rate {
            let dropped = (excess as usize).min(ring.slots() / self.kept);
            if let Ok(chunk) = ring.read_chunk(dropped * self.kept) {
                chunk.commit_all();
            }
            c.input_trims.fetch_add(1, Ordering::Relaxed);
            c.input_dropped_frames
                .fetch_add(dropped as u64, Ordering::Relaxed);
            self.window_min = f64::INFINITY;
            self.window_frames = 0.0;
        } else {
            self.window_min = self.window_min.min(slack);
            self.window_frames += frames as f64;
            if self.window_frames >= WINDOW_SECS * self.rate {
                let error = (self.window_min - target) / self.rate;
                let beyond = error.signum() * (error.abs() - DEADBAND_SECS).max(0.0);
                self.correction = (beyond / CORRECTION_SECS).clamp(-MAX_CORRECTION, MAX_CORRECTION);
                c.input_fill_frames
                    .store(self.window_min.max(0.0) as u64, Ordering::Relaxed);
                self.window_min = f64::INFINITY;
                self.window_frames = 0.0;
            }
        }

        let ratio =
            (clock * (1.0 + self.correction)).clamp(1.0 - MAX_DEVIATION, 1.0 + MAX_DEVIATION);
        self.resampler.set_rate(ratio);
        c.input_clock_ppm
            .store(((clock - 1.0) * 1e6).to_bits(), Ordering::Relaxed);
        c.input_ratio_ppm
            .store(((ratio - 1.0) * 1e6).to_bits(), Ordering::Relaxed);
    }

    /// Fills the first `n` frames of `planar` (one slice per kept channel) with resampled
    /// input; silence (a counted pad) where the input has run dry.
    pub(super) fn read(
        &mut self,
        ring: &mut rtrb::Consumer<f32>,
        planar: &mut [Box<[f32]>; 2],
        n: usize,
        c: &Counters,
    ) {
        let kept = self.kept;
        let n = n.min(self.scratch.len() / kept);
        let mut written = 0;
        // Bounded: each pass fills the block or feeds the resampler; one feed yields a chunk.
        for _ in 0..=n + 2 {
            written += self
                .resampler
                .pull(&mut self.scratch[written * kept..n * kept]);
            if written >= n {
                break;
            }
            let take = (ring.slots() / kept).min(self.resampler.input_space());
            if take == 0 {
                break;
            }
            if let Ok(chunk) = ring.read_chunk(take * kept) {
                let (a, b) = chunk.as_slices();
                self.resampler.push_input(a);
                self.resampler.push_input(b);
                chunk.commit_all();
            }
        }
        for (ch, channel) in planar[..kept].iter_mut().enumerate() {
            for (i, sample) in channel[..written].iter_mut().enumerate() {
                *sample = self.scratch[i * kept + ch];
            }
            channel[written..n].fill(0.0);
        }
        if written < n {
            c.input_pads.fetch_add(1, Ordering::Relaxed);
            c.input_underrun_frames
                .fetch_add((n - written) as u64, Ordering::Relaxed);
        }
    }
}

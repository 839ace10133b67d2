//! What runs inside cpal's data callbacks: the capture half pushes the input device's samples
//! into a wait-free ring; the playback half pulls them out and calls the engine's
//! [`Engine::process_at`] for the output device. Both are sized in `new` and never allocate,
//! lock, log or block afterwards; everything they have to report goes out through atomics.
//!
//! Both bodies run inside `assert_no_alloc`: a build that installs its `AllocDisabler` as the
//! global allocator (our tests do) aborts on any allocation there; otherwise (and in release
//! builds) the wrapper costs a thread-local increment.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use cpal::FromSample;

use super::clock::{CaptureClock, ClockFollower};
use crate::engine::Engine;

/// Counters the callbacks bump and the non-RT side reads (see [`super::DeviceStats`]).
#[derive(Debug, Default)]
pub(super) struct Counters {
    pub(super) input_callbacks: AtomicU64,
    pub(super) output_callbacks: AtomicU64,
    pub(super) input_frames: AtomicU64,
    pub(super) output_frames: AtomicU64,
    /// Input frames the playback side lacked and replaced with silence.
    pub(super) input_underrun_frames: AtomicU64,
    /// Input frames discarded: ring full, or more queued than `max_input_backlog`.
    pub(super) input_dropped_frames: AtomicU64,
    /// Blocks the engine refused (cannot happen with our chunking; counted, not assumed).
    pub(super) process_errors: AtomicU64,
    /// Most input frames allowed to wait in the ring beyond the current output callback; set
    /// once the input stream's granted buffer is known. Bounds the capture latency when the
    /// input and output devices' clocks drift apart.
    pub(super) max_input_backlog: AtomicUsize,
    /// The input stream's granted buffer, frames: the clock follower keeps one queued.
    pub(super) input_buffer_frames: AtomicUsize,
    /// The input clock's skew against the monotonic clock (`f64` bits; 0 until estimated).
    pub(super) input_skew: AtomicU64,
    /// When the input callback last delivered, ns since the callbacks' epoch; 0 before.
    pub(super) input_last_ns: AtomicU64,
    /// Input clock against output clock, ppm (`f64` bits; positive: the input runs faster).
    pub(super) input_clock_ppm: AtomicU64,
    /// The resampler's consumption ratio minus 1, ppm (`f64` bits).
    pub(super) input_ratio_ppm: AtomicU64,
    /// Smallest input fill beyond the current block over the last feedback window, frames.
    pub(super) input_fill_frames: AtomicU64,
    /// Gross events: backlog trims (a stall, a restart) and blocks padded with silence.
    pub(super) input_trims: AtomicU64,
    pub(super) input_pads: AtomicU64,
}

/// Output latency beyond this is taken as a host's clock glitch and capped.
const MAX_LATENCY: Duration = Duration::from_secs(1);

/// Samples in the capture ring per kept channel: room for several of the largest blocks.
pub(super) const RING_FRAMES: usize = 4 * crate::engine::MAX_BLOCK_FRAMES;

/// The input stream's half. Keeps at most the first two device channels, interleaved.
pub(super) struct CaptureCallback {
    ring: rtrb::Producer<f32>,
    /// Channels the device delivers per frame.
    device_channels: usize,
    /// Channels kept in the ring (1 or 2).
    kept: usize,
    counters: Arc<Counters>,
    clock: CaptureClock,
}

impl CaptureCallback {
    pub(super) fn new(
        ring: rtrb::Producer<f32>,
        device_channels: usize,
        kept: usize,
        counters: Arc<Counters>,
        clock: CaptureClock,
    ) -> Self {
        let device_channels = device_channels.max(1);
        Self {
            ring,
            device_channels,
            kept: kept.clamp(1, 2).min(device_channels),
            counters,
            clock,
        }
    }

    /// One input callback: `data` is interleaved, `device_channels` per frame.
    pub(super) fn run<T>(&mut self, data: &[T])
    where
        T: Copy,
        f32: FromSample<T>,
    {
        self.run_at(data, Instant::now());
    }

    /// [`CaptureCallback::run`] at a given time (tests simulate the device clock).
    pub(super) fn run_at<T>(&mut self, data: &[T], now: Instant)
    where
        T: Copy,
        f32: FromSample<T>,
    {
        assert_no_alloc::assert_no_alloc(|| self.capture(data, now));
    }

    fn capture<T>(&mut self, data: &[T], now: Instant)
    where
        T: Copy,
        f32: FromSample<T>,
    {
        let frames = data.len() / self.device_channels;
        let room = self.ring.slots() / self.kept;
        let n = frames.min(room);
        if let Ok(mut chunk) = self.ring.write_chunk(n * self.kept) {
            let (a, b) = chunk.as_mut_slices();
            let source = data
                .chunks_exact(self.device_channels)
                .flat_map(|frame| frame[..self.kept].iter())
                .map(|&x| f32::from_sample_(x));
            for (slot, x) in a.iter_mut().chain(b.iter_mut()).zip(source) {
                *slot = x;
            }
            chunk.commit_all();
        }
        let c = &self.counters;
        self.clock.delivered(now, frames, c);
        c.input_callbacks.fetch_add(1, Ordering::Relaxed);
        c.input_frames.fetch_add(frames as u64, Ordering::Relaxed);
        if n < frames {
            c.input_dropped_frames
                .fetch_add((frames - n) as u64, Ordering::Relaxed);
        }
    }
}

/// What the playback half needs besides its buffers, handed over once both streams exist: a
/// stream build that fails (and is retried with another buffer size) must not take the engine
/// down with its callback.
pub(super) struct Attach {
    pub(super) engine: Engine,
    /// `None` runs without an input device.
    pub(super) input: Option<Input>,
}

/// The capture side as the playback half sees it.
pub(super) struct Input {
    /// Captured frames, interleaved.
    pub(super) ring: rtrb::Consumer<f32>,
    /// Channels per frame in the ring (1 or 2).
    pub(super) kept: usize,
    /// Resamples to the output clock; `None` when both streams share one device (one clock).
    pub(super) follower: Option<ClockFollower>,
}

/// The output stream's half: owns the engine's audio-thread half once attached.
pub(super) struct PlaybackCallback {
    attach: rtrb::Consumer<Attach>,
    /// Silence until the engine arrives.
    attached: Option<Attach>,
    /// Channels the output device takes per frame.
    device_channels: usize,
    /// Planar engine input, `chunk` frames each.
    planar_in: [Box<[f32]>; 2],
    /// Planar engine output, `chunk` frames each.
    planar_out: [Box<[f32]>; 2],
    /// Largest block handed to the engine (its `max_block_frames`).
    chunk: usize,
    rate: u32,
    counters: Arc<Counters>,
}

impl PlaybackCallback {
    /// `chunk` and `rate` are the engine's `max_block_frames` and `host_rate`.
    pub(super) fn new(
        attach: rtrb::Consumer<Attach>,
        chunk: usize,
        rate: u32,
        device_channels: usize,
        counters: Arc<Counters>,
    ) -> Self {
        let chunk = chunk.max(1);
        let buffer = || vec![0.0f32; chunk].into_boxed_slice();
        Self {
            attach,
            attached: None,
            device_channels: device_channels.max(1),
            planar_in: [buffer(), buffer()],
            planar_out: [buffer(), buffer()],
            chunk,
            rate,
            counters,
        }
    }

    /// One output callback: fills `data` (interleaved, `device_channels` per frame). `latency`
    /// is how long after this call the first frame sounds (from cpal's timestamps).
    pub(super) fn run<T>(&mut self, data: &mut [T], latency: Duration)
    where
        T: Copy + FromSample<f32>,
    {
        self.run_at(data, Instant::now(), latency);
    }

    /// [`PlaybackCallback::run`] at a given time (tests simulate the device clock).
    pub(super) fn run_at<T>(&mut self, data: &mut [T], now: Instant, latency: Duration)
    where
        T: Copy + FromSample<f32>,
    {
        assert_no_alloc::assert_no_alloc(|| self.play(data, now, latency));
    }

    fn play<T>(&mut self, data: &mut [T], now: Instant, latency: Duration)
    where
        T: Copy + FromSample<f32>,
    {
        let frames = data.len() / self.device_channels;
        if self.attached.is_none() {
            // Moving out of the ring does not allocate.
            self.attached = self.attach.pop().ok();
        }
        let Some(attached) = self.attached.as_mut() else {
            data.fill(T::from_sample_(0.0));
            return;
        };
        // A host's timestamps are input too: a wild value must not overflow `Instant`.
        let start = now.checked_add(latency.min(MAX_LATENCY)).unwrap_or(now);
        match &mut attached.input {
            Some(Input {
                ring,
                follower: Some(follower),
                ..
            }) => follower.begin(ring, frames, now, &self.counters),
            Some(input) => trim_backlog(input, frames, &self.counters),
            None => {}
        }
        let mut done = 0;
        while done < frames {
            let n = (frames - done).min(self.chunk);
            read_input(&mut attached.input, &mut self.planar_in, n, &self.counters);
            let at = start
                .checked_add(frames_to_duration(done, self.rate))
                .unwrap_or(start);
            let result = process(
                attached,
                &self.planar_in,
                &mut self.planar_out,
                self.device_channels,
                at,
                n,
            );
            if result.is_err() {
                self.counters.process_errors.fetch_add(1, Ordering::Relaxed);
            }
            let out = &mut data[done * self.device_channels..(done + n) * self.device_channels];
            write_output(&self.planar_out, self.device_channels, out, n);
            done += n;
        }
        // A trailing partial frame (never seen in practice) is left as cpal's silence.
        let c = &self.counters;
        c.output_callbacks.fetch_add(1, Ordering::Relaxed);
        c.output_frames.fetch_add(frames as u64, Ordering::Relaxed);
    }
}

/// One device (one clock): drops input queued beyond what this callback needs plus the allowed
/// backlog, so a stall or a restart cannot grow the capture latency. Counted as a trim.
fn trim_backlog(input: &mut Input, frames: usize, c: &Counters) {
    let (ring, kept) = (&mut input.ring, input.kept);
    let queued = ring.slots() / kept;
    let allowed = frames + c.max_input_backlog.load(Ordering::Relaxed);
    if queued > allowed {
        let excess = queued - allowed;
        if let Ok(chunk) = ring.read_chunk(excess * kept) {
            chunk.commit_all();
        }
        c.input_trims.fetch_add(1, Ordering::Relaxed);
        c.input_dropped_frames
            .fetch_add(excess as u64, Ordering::Relaxed);
    }
}

/// Fills `n` frames of `planar` from the capture side: resampled to the output clock when the
/// devices differ, straight from the ring when they are one.
fn read_input(input: &mut Option<Input>, planar: &mut [Box<[f32]>; 2], n: usize, c: &Counters) {
    match input {
        None => {}
        Some(Input {
            ring,
            follower: Some(follower),
            ..
        }) => follower.read(ring, planar, n, c),
        Some(Input { ring, kept, .. }) => read_direct(ring, *kept, planar, n, c),
    }
}

/// De-interleaves `n` captured frames into `planar`, padding what is missing with silence.
fn read_direct(
    ring: &mut rtrb::Consumer<f32>,
    kept: usize,
    planar: &mut [Box<[f32]>; 2],
    n: usize,
    c: &Counters,
) {
    let available = (ring.slots() / kept).min(n);
    if let Ok(chunk) = ring.read_chunk(available * kept) {
        let (a, b) = chunk.as_slices();
        let mut samples = a.iter().chain(b);
        for i in 0..available {
            for channel in &mut planar[..kept] {
                channel[i] = samples.next().copied().unwrap_or(0.0);
            }
        }
        chunk.commit_all();
    }
    for channel in &mut planar[..kept] {
        channel[available..n].fill(0.0);
    }
    if available < n {
        c.input_pads.fetch_add(1, Ordering::Relaxed);
        c.input_underrun_frames
            .fetch_add((n - available) as u64, Ordering::Relaxed);
    }
}

/// Runs the engine on `n` frames of `planar_in` into `planar_out`.
fn process(
    attached: &mut Attach,
    planar_in: &[Box<[f32]>; 2],
    planar_out: &mut [Box<[f32]>; 2],
    device_channels: usize,
    at: Instant,
    n: usize,
) -> Result<(), crate::engine::ProcessError> {
    let [in_l, in_r] = planar_in;
    let [out_l, out_r] = planar_out;
    let stereo_in: [&[f32]; 2] = [&in_l[..n], &in_r[..n]];
    let inputs: &[&[f32]] = match &attached.input {
        None => &[],
        Some(Input { kept: 1, .. }) => &stereo_in[..1],
        Some(_) => &stereo_in,
    };
    let engine = &mut attached.engine;
    if device_channels == 1 {
        engine.process_at(at, inputs, &mut [&mut out_l[..n]], n)
    } else {
        engine.process_at(at, inputs, &mut [&mut out_l[..n], &mut out_r[..n]], n)
    }
}

/// Interleaves the engine's output into the device's format; channels beyond two get silence.
fn write_output<T>(planar: &[Box<[f32]>; 2], device_channels: usize, out: &mut [T], n: usize)
where
    T: Copy + FromSample<f32>,
{
    let silence = T::from_sample_(0.0);
    for (i, frame) in out.chunks_exact_mut(device_channels).take(n).enumerate() {
        for (c, sample) in frame.iter_mut().enumerate() {
            *sample = match planar.get(c) {
                Some(channel) => T::from_sample_(channel[i]),
                None => silence,
            };
        }
    }
}

fn frames_to_duration(frames: usize, rate: u32) -> Duration {
    Duration::from_nanos(frames as u64 * 1_000_000_000 / u64::from(rate.max(1)))
}

//! Sound-card I/O (feature `device`): cpal input and output streams driving the same
//! [`Engine`] a DAW or mobile host drives — cpal is one host among others.
//!
//! # Two streams, one engine
//! cpal has no duplex stream, so capture and playback are two streams on (possibly) two devices.
//! The **output** callback owns the engine's audio-thread half and calls
//! [`Engine::process_at`] for every block the output device asks for (split into pieces of at
//! most the engine's `max_block_frames`), with `now` = when the block will sound by cpal's
//! timestamps. The **input** callback converts what it captured to `f32` and pushes it into a
//! wait-free `rtrb` ring; the output callback pulls exactly one block from it. Neither callback
//! allocates, locks, logs or blocks: every buffer is sized when the streams are built, counters
//! are atomics, and stream errors (an unplugged device, an xrun) go through a ring to
//! [`DeviceStreams::poll_event`].
//!
//! # Two clocks
//! Two devices (a USB microphone and built-in speakers, a Bluetooth headset) run on clocks a
//! few hundred ppm apart. The output callback then resamples the input to the output clock
//! (`clock` module): the ratio follows both clocks' skew, estimated against the monotonic
//! clock, plus a slow correction that holds the input's fill at one input buffer plus 0.5 ms;
//! it is clamped to ±1000 ppm. About 0.6 ms of latency at 48 kHz, no trimmed or invented
//! frames. Only gross events — the start, a stall, a restarted device — trim the backlog or
//! play silence, counted in [`DeviceStats::input_trims`] and [`DeviceStats::input_pads`].
//! [`DeviceStats::input_clock_ppm`] reports the estimated skew. Input and output on one
//! device (the same id) share a clock: no resampler, nothing added, and the backlog beyond two
//! input buffers is trimmed after a stall.
//!
//! # Rates and buffers
//! Both devices run at one rate: 48 kHz if both offer it, else 44.1 or 96 kHz (the engine
//! resamples to 48 kHz inside). The requested buffer ([`DeviceConfig::buffer_frames`]) is a
//! request: it is clamped into the device's range, the device may round it, and a device that
//! refuses a fixed size gets its default. [`DeviceStreams::granted`] reports what each stream
//! actually got.
//!
//! # Limits
//! Clocks more than 1000 ppm apart (broken hardware) are not fully followed: the remainder is
//! trimmed or padded, counted. Two different ids that are one clock underneath (e.g. two ALSA
//! PCMs on one card) get the resampler anyway, at ratio ≈ 1. Devices offering none of 44.1, 48
//! or 96 kHz are refused ([`DeviceError::NoCommonConfig`]): the engine takes only those rates.
//! With the blocking `Client`, put `plan.engine_config(…)` into `ClientConfig::engine` and pass
//! the engine `Client::new` returns to [`DevicePlan::start`].
//!
//! # Use
//! ```no_run
//! use tutti_core::device::{DeviceChoice, DeviceConfig, DevicePlan, list_devices};
//! use tutti_core::engine::{Engine, EngineConfig};
//!
//! for device in list_devices()? {
//!     println!("{} ({})", device.id, device.name);
//! }
//! let plan = DevicePlan::new(&DeviceConfig {
//!     input: Some(DeviceChoice::Default),
//!     output: DeviceChoice::Named("default".into()),
//!     buffer_frames: 64,
//! })?;
//! let (engine, network, control) = Engine::new(plan.engine_config(EngineConfig::default()))?;
//! let mut streams = plan.start(engine)?;
//! println!("granted {:?}", streams.granted());
//! // The network side (a `Session`) takes `network` and `control`; poll device events:
//! while let Some(event) = streams.poll_event() {
//!     eprintln!("{:?} stream: {:?}", event.direction, event.fault);
//! }
//! # let _ = (network, control);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod callbacks;
mod clock;
mod enumerate;
mod select;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use cpal::traits::{DeviceTrait, StreamTrait};

pub use enumerate::{Capabilities, DeviceInfo, list_devices};
pub use select::Direction;

use crate::engine::{Engine, EngineConfig};
use callbacks::{Attach, CaptureCallback, Counters, Input, PlaybackCallback, RING_FRAMES};
use clock::{CaptureClock, ClockFollower};

/// Stream events waiting for [`DeviceStreams::poll_event`], per stream.
const EVENT_RING: usize = 64;

/// Which device to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DeviceChoice {
    /// The host's default device for that direction.
    Default,
    /// A device by its [`DeviceInfo::id`] (also `host:id`, e.g. `alsa:null`) or its name.
    Named(String),
}

/// What to open.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceConfig {
    /// The capture device; `None` plays without capturing (the engine sends silence).
    pub input: Option<DeviceChoice>,
    /// The playback device; it clocks the engine.
    pub output: DeviceChoice,
    /// Frames per callback to request from both devices (1..=4096): small for low latency.
    pub buffer_frames: u32,
}

impl Default for DeviceConfig {
    /// Default input and output, 128-frame buffers (2.7 ms at 48 kHz).
    fn default() -> Self {
        Self {
            input: Some(DeviceChoice::Default),
            output: DeviceChoice::Default,
            buffer_frames: 128,
        }
    }
}

/// Opening or running the devices failed, split by who is at fault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DeviceError {
    /// Caller: the configuration is unusable; the message says what.
    #[error("invalid device configuration: {0}")]
    InvalidConfig(&'static str),
    /// Caller: no device has that id or name (see [`list_devices`]).
    #[error("no {direction} device named {name:?}")]
    NoSuchDevice {
        /// The name asked for.
        name: String,
        /// The direction it was asked for.
        direction: Direction,
    },
    /// Caller: the engine was built for another rate than the plan's
    /// ([`DevicePlan::engine_config`] sets it).
    #[error("the engine runs at {engine} Hz, the devices at {devices} Hz")]
    RateMismatch {
        /// The engine's host rate.
        engine: u32,
        /// The rate the devices were chosen at.
        devices: u32,
    },
    /// Environment: the host has no default device for this direction.
    #[error("no default {direction} device")]
    NoDefaultDevice {
        /// Input or output.
        direction: Direction,
    },
    /// Environment: the devices share no rate of 44.1, 48 or 96 kHz in a sample format the
    /// device layer converts.
    #[error("the devices share no usable configuration at 44.1, 48 or 96 kHz")]
    NoCommonConfig,
    /// Environment: the audio host could not list its devices.
    #[error("the audio host failed: {source}")]
    Host {
        /// cpal's error.
        source: cpal::Error,
    },
    /// Environment: a device refused to be queried or opened (busy, unplugged, no permission,
    /// configuration unsupported).
    #[error("{direction} device {device:?}: {source}")]
    Device {
        /// Input or output.
        direction: Direction,
        /// The device's id.
        device: String,
        /// cpal's error.
        source: cpal::Error,
    },
}

/// Devices and configurations chosen, nothing opened for streaming yet: build the engine at
/// [`DevicePlan::sample_rate`], then [`DevicePlan::start`].
#[derive(Debug)]
pub struct DevicePlan {
    input: Option<Side>,
    output: Side,
    rate: u32,
    buffer_frames: u32,
}

#[derive(Debug)]
struct Side {
    device: cpal::Device,
    id: String,
    name: String,
    config: cpal::SupportedStreamConfig,
}

impl DevicePlan {
    /// Finds the devices and a configuration they share (see the [module docs](self)).
    pub fn new(config: &DeviceConfig) -> Result<Self, DeviceError> {
        if !(1..=crate::engine::MAX_BLOCK_FRAMES as u32).contains(&config.buffer_frames) {
            return Err(DeviceError::InvalidConfig("buffer_frames must be 1..=4096"));
        }
        let host = cpal::default_host();
        let open = |choice: &DeviceChoice, direction: Direction| {
            let device = select::find_device(&host, choice, direction)?;
            let id = device
                .id()
                .map_or_else(|_| format!("{choice:?}"), |id| id.id().to_owned());
            let ranges =
                direction
                    .supported_configs(&device)
                    .map_err(|source| DeviceError::Device {
                        direction,
                        device: id.clone(),
                        source,
                    })?;
            Ok::<_, DeviceError>((device, id, ranges))
        };
        let output = open(&config.output, Direction::Output)?;
        let input = config
            .input
            .as_ref()
            .map(|choice| open(choice, Direction::Input))
            .transpose()?;
        let rate = select::choose_rate(&output.2, input.as_ref().map(|i| i.2.as_slice()))
            .ok_or(DeviceError::NoCommonConfig)?;
        let side = |(device, id, ranges): (cpal::Device, String, Vec<_>)| {
            let config = select::pick(&ranges, rate).ok_or(DeviceError::NoCommonConfig)?;
            let name = device
                .description()
                .map_or_else(|_| id.clone(), |d| d.name().to_owned());
            Ok::<_, DeviceError>(Side {
                device,
                id,
                name,
                config,
            })
        };
        Ok(Self {
            output: side(output)?,
            input: input.map(side).transpose()?,
            rate,
            buffer_frames: config.buffer_frames,
        })
    }

    /// The rate both streams will run at: the engine's `host_rate`.
    pub fn sample_rate(&self) -> u32 {
        self.rate
    }

    /// `base` with the plan's host rate, and blocks large enough for any buffer the devices
    /// are likely to grant (larger callbacks are split, so this is about efficiency).
    pub fn engine_config(&self, base: EngineConfig) -> EngineConfig {
        EngineConfig {
            host_rate: self.rate,
            max_block_frames: base
                .max_block_frames
                .max(4 * self.buffer_frames as usize)
                .min(crate::engine::MAX_BLOCK_FRAMES),
            ..base
        }
    }

    /// Opens both streams, hands the engine to the output callback and starts playing. On
    /// failure the engine is dropped with the streams that could not start.
    pub fn start(self, engine: Engine) -> Result<DeviceStreams, DeviceError> {
        if engine.host_rate() != self.rate {
            return Err(DeviceError::RateMismatch {
                engine: engine.host_rate(),
                devices: self.rate,
            });
        }
        let counters = Arc::new(Counters::default());
        let dropped_events = Arc::new(AtomicU64::new(0));
        let mut events = Vec::with_capacity(2);
        // Both callbacks measure their clocks from this instant.
        let epoch = Instant::now();
        let (chunk, rate) = (engine.max_block_frames(), engine.host_rate());
        // One device is one clock; two need the input resampled to the output's.
        let follower = match &self.input {
            Some(side) if side.id != self.output.id => Some(
                ClockFollower::new(usize::from(side.config.channels()), chunk, rate, epoch)
                    .map_err(|_| DeviceError::InvalidConfig("input resampler refused"))?,
            ),
            _ => None,
        };

        let (input, ring) = match &self.input {
            Some(side) => {
                let (stream, grant, ring, rx) =
                    open_input(side, self.buffer_frames, &counters, &dropped_events, epoch)?;
                events.push(rx);
                (Some((stream, grant)), Some(ring))
            }
            None => (None, None),
        };
        let mut attach_tx = None;
        let (output, output_grant, rx) = build_with_fallback(
            &self.output,
            Direction::Output,
            self.buffer_frames,
            &dropped_events,
            |device, config, format, errors| {
                let (tx, rx) = rtrb::RingBuffer::new(1);
                attach_tx = Some(tx);
                let callback = PlaybackCallback::new(
                    rx,
                    chunk,
                    rate,
                    usize::from(config.channels),
                    Arc::clone(&counters),
                );
                build_output(device, config, format, callback, errors)
            },
        )?;
        events.push(rx);

        // Two input buffers may wait beyond the current output block (see module docs).
        let input_buffer = input
            .as_ref()
            .map_or(0, |(_, g): &(cpal::Stream, StreamGrant)| {
                g.buffer_frames.unwrap_or(g.requested_buffer_frames) as usize
            });
        counters
            .max_input_backlog
            .store(2 * input_buffer, Ordering::Relaxed);
        counters
            .input_buffer_frames
            .store(input_buffer, Ordering::Relaxed);
        let kept = self
            .input
            .as_ref()
            .map_or(0, |s| usize::from(s.config.channels()).min(2));
        let attach = Attach {
            engine,
            input: ring.map(|ring| Input {
                ring,
                kept,
                follower,
            }),
        };
        if let Some(mut tx) = attach_tx
            && tx.push(attach).is_err()
        {
            // Unreachable: a fresh ring of one slot.
            return Err(DeviceError::InvalidConfig("engine hand-off ring full"));
        }

        let play = |stream: &cpal::Stream, side: &Side, direction| {
            stream.play().map_err(|source| DeviceError::Device {
                direction,
                device: side.id.clone(),
                source,
            })
        };
        play(&output, &self.output, Direction::Output)?;
        if let (Some((stream, _)), Some(side)) = (&input, &self.input) {
            play(stream, side, Direction::Input)?;
        }
        let (input, input_grant) = match input {
            Some((stream, grant)) => (Some(stream), Some(grant)),
            None => (None, None),
        };
        Ok(DeviceStreams {
            _input: input,
            _output: output,
            granted: Granted {
                input: input_grant,
                output: output_grant,
            },
            counters,
            events,
            dropped_events,
        })
    }
}

type Built = (cpal::Stream, StreamGrant, rtrb::Consumer<DeviceEvent>);

fn open_input(
    side: &Side,
    buffer_frames: u32,
    counters: &Arc<Counters>,
    dropped_events: &Arc<AtomicU64>,
    epoch: Instant,
) -> Result<
    (
        cpal::Stream,
        StreamGrant,
        rtrb::Consumer<f32>,
        rtrb::Consumer<DeviceEvent>,
    ),
    DeviceError,
> {
    let kept = usize::from(side.config.channels()).min(2);
    let mut ring_rx = None;
    let (stream, grant, events) = build_with_fallback(
        side,
        Direction::Input,
        buffer_frames,
        dropped_events,
        |device, config, format, errors| {
            let (tx, rx) = rtrb::RingBuffer::new(RING_FRAMES * kept);
            ring_rx = Some(rx);
            let callback = CaptureCallback::new(
                tx,
                usize::from(config.channels),
                kept,
                Arc::clone(counters),
                CaptureClock::new(epoch, config.sample_rate),
            );
            build_input(device, config, format, callback, errors)
        },
    )?;
    let ring = ring_rx.ok_or(DeviceError::InvalidConfig("input ring missing"))?;
    Ok((stream, grant, ring, events))
}

/// Builds a stream with the fixed buffer request, and with the device's default buffer if the
/// device refuses the fixed one. `build` makes a fresh callback for each attempt.
fn build_with_fallback<F>(
    side: &Side,
    direction: Direction,
    buffer_frames: u32,
    dropped_events: &Arc<AtomicU64>,
    mut build: F,
) -> Result<Built, DeviceError>
where
    F: FnMut(
        &cpal::Device,
        cpal::StreamConfig,
        cpal::SampleFormat,
        ErrorSink,
    ) -> Result<cpal::Stream, cpal::Error>,
{
    let requested = select::buffer_request(&side.config, buffer_frames);
    let mut config = side.config.config();
    let format = side.config.sample_format();
    let mut attempt = |buffer_size| {
        config.buffer_size = buffer_size;
        let (tx, rx) = rtrb::RingBuffer::new(EVENT_RING);
        let sink = ErrorSink {
            direction,
            events: tx,
            dropped: Arc::clone(dropped_events),
        };
        build(&side.device, config, format, sink).map(|stream| (stream, rx))
    };
    let (stream, events) = attempt(cpal::BufferSize::Fixed(requested))
        .or_else(|_| attempt(cpal::BufferSize::Default))
        .map_err(|source| DeviceError::Device {
            direction,
            device: side.id.clone(),
            source,
        })?;
    let grant = StreamGrant {
        device: side.id.clone(),
        name: side.name.clone(),
        sample_rate: config.sample_rate,
        channels: config.channels,
        sample_format: side.config.sample_format().to_string(),
        requested_buffer_frames: requested,
        buffer_frames: stream.buffer_size().ok(),
    };
    Ok((stream, grant, events))
}

/// Calls `$body` with `$t` bound to the Rust type of a cpal sample format.
macro_rules! with_sample_type {
    ($format:expr, $t:ident => $body:expr) => {
        match $format {
            cpal::SampleFormat::F32 => {
                type $t = f32;
                $body
            }
            cpal::SampleFormat::F64 => {
                type $t = f64;
                $body
            }
            cpal::SampleFormat::I8 => {
                type $t = i8;
                $body
            }
            cpal::SampleFormat::I16 => {
                type $t = i16;
                $body
            }
            cpal::SampleFormat::I24 => {
                type $t = cpal::I24;
                $body
            }
            cpal::SampleFormat::I32 => {
                type $t = i32;
                $body
            }
            cpal::SampleFormat::U8 => {
                type $t = u8;
                $body
            }
            cpal::SampleFormat::U16 => {
                type $t = u16;
                $body
            }
            cpal::SampleFormat::U24 => {
                type $t = cpal::U24;
                $body
            }
            cpal::SampleFormat::U32 => {
                type $t = u32;
                $body
            }
            _ => Err(cpal::Error::with_message(
                cpal::ErrorKind::UnsupportedConfig,
                "sample format not converted by tutti",
            )),
        }
    };
}

fn build_input(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    format: cpal::SampleFormat,
    mut callback: CaptureCallback,
    errors: ErrorSink,
) -> Result<cpal::Stream, cpal::Error> {
    with_sample_type!(format, T => device.build_input_stream::<T, _, _>(
        config,
        move |data: &[T], _: &cpal::InputCallbackInfo| callback.run(data),
        errors.into_callback(),
        None,
    ))
}

fn build_output(
    device: &cpal::Device,
    config: cpal::StreamConfig,
    format: cpal::SampleFormat,
    mut callback: PlaybackCallback,
    errors: ErrorSink,
) -> Result<cpal::Stream, cpal::Error> {
    with_sample_type!(format, T => device.build_output_stream::<T, _, _>(
        config,
        move |data: &mut [T], info: &cpal::OutputCallbackInfo| {
            let t = info.timestamp();
            callback.run(data, t.playback.saturating_duration_since(t.callback));
        },
        errors.into_callback(),
        None,
    ))
}

/// Where a stream's error callback sends what went wrong.
struct ErrorSink {
    direction: Direction,
    events: rtrb::Producer<DeviceEvent>,
    dropped: Arc<AtomicU64>,
}

impl ErrorSink {
    /// The error callback: classifies and forwards, never blocks (cpal may call it from the
    /// audio thread). Dropping cpal's error value is cpal's allocation to free, not ours.
    fn into_callback(mut self) -> impl FnMut(cpal::Error) + Send + 'static {
        move |error| {
            let event = DeviceEvent {
                direction: self.direction,
                fault: StreamFault::from(error.kind()),
            };
            if self.events.push(event).is_err() {
                self.dropped.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// What one stream actually got from its device.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamGrant {
    /// The device's id.
    pub device: String,
    /// The device's name.
    pub name: String,
    /// Frames per second.
    pub sample_rate: u32,
    /// Channels per frame (the engine uses the first two).
    pub channels: u16,
    /// The device's sample format (converted to and from `f32` in the callbacks).
    pub sample_format: String,
    /// The buffer asked for, after clamping into the device's range.
    pub requested_buffer_frames: u32,
    /// The buffer the stream reports after opening; `None` if the host cannot tell.
    pub buffer_frames: Option<u32>,
}

/// What both streams got.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Granted {
    /// The capture stream, if one was opened.
    pub input: Option<StreamGrant>,
    /// The playback stream.
    pub output: StreamGrant,
}

/// Something went wrong in a running stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DeviceEvent {
    /// Which stream.
    pub direction: Direction,
    /// What happened.
    pub fault: StreamFault,
}

/// The kinds of stream trouble a host reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum StreamFault {
    /// A buffer under- or overrun: a click; the stream continues.
    Xrun,
    /// The device disappeared (unplugged): the stream is dead; open the devices again.
    DeviceLost,
    /// The stream's configuration changed under it: open the devices again.
    Invalidated,
    /// The host rerouted the stream to another device; it continues there.
    DeviceChanged,
    /// Real-time scheduling was refused: expect dropouts under load.
    RealtimeDenied,
    /// Any other backend error.
    Other,
}

impl From<cpal::ErrorKind> for StreamFault {
    fn from(kind: cpal::ErrorKind) -> Self {
        match kind {
            cpal::ErrorKind::Xrun => StreamFault::Xrun,
            cpal::ErrorKind::DeviceNotAvailable => StreamFault::DeviceLost,
            cpal::ErrorKind::StreamInvalidated => StreamFault::Invalidated,
            cpal::ErrorKind::DeviceChanged => StreamFault::DeviceChanged,
            cpal::ErrorKind::RealtimeDenied => StreamFault::RealtimeDenied,
            _ => StreamFault::Other,
        }
    }
}

/// Counters since [`DevicePlan::start`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct DeviceStats {
    /// Input callbacks run.
    pub input_callbacks: u64,
    /// Output callbacks run (each processed the engine).
    pub output_callbacks: u64,
    /// Frames captured.
    pub input_frames: u64,
    /// Frames played.
    pub output_frames: u64,
    /// Frames the output needed before the input delivered them (played as silence).
    pub input_underrun_frames: u64,
    /// Captured frames discarded (ring full, or a backlog trimmed).
    pub input_dropped_frames: u64,
    /// Estimated input clock against the output clock, ppm (positive: the input runs faster);
    /// 0 for one device, and until estimated (a few seconds).
    pub input_clock_ppm: f64,
    /// The input resampler's consumption ratio minus 1, ppm: the clock plus the fill-level
    /// correction (0 for one device).
    pub input_ratio_ppm: f64,
    /// Smallest input fill beyond the current block over the last quarter second, frames
    /// (two devices only): about one input buffer plus 0.5 ms once settled.
    pub input_fill_frames: u64,
    /// Gross events that trimmed the input backlog (a stall, a restart, the start) — not
    /// normal operation, which resamples instead.
    pub input_trims: u64,
    /// Output blocks that found the input short and played silence (counted in frames in
    /// `input_underrun_frames`): the start, a stalled or lost input.
    pub input_pads: u64,
    /// Blocks the engine refused.
    pub process_errors: u64,
    /// Stream events lost because [`DeviceStreams::poll_event`] was not called often enough.
    pub dropped_events: u64,
}

/// Running streams; dropping them stops playback and drops the engine.
pub struct DeviceStreams {
    _input: Option<cpal::Stream>,
    _output: cpal::Stream,
    granted: Granted,
    counters: Arc<Counters>,
    events: Vec<rtrb::Consumer<DeviceEvent>>,
    dropped_events: Arc<AtomicU64>,
}

impl std::fmt::Debug for DeviceStreams {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeviceStreams")
            .field("granted", &self.granted)
            .finish_non_exhaustive()
    }
}

impl DeviceStreams {
    /// What each stream actually got (buffer size, rate, channels, format).
    pub fn granted(&self) -> &Granted {
        &self.granted
    }

    /// The next stream event (xrun, device lost, …), if any; never blocks.
    pub fn poll_event(&mut self) -> Option<DeviceEvent> {
        self.events.iter_mut().find_map(|ring| ring.pop().ok())
    }

    /// The callbacks' counters.
    pub fn stats(&self) -> DeviceStats {
        let c = &self.counters;
        let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
        DeviceStats {
            input_callbacks: load(&c.input_callbacks),
            output_callbacks: load(&c.output_callbacks),
            input_frames: load(&c.input_frames),
            output_frames: load(&c.output_frames),
            input_underrun_frames: load(&c.input_underrun_frames),
            input_dropped_frames: load(&c.input_dropped_frames),
            input_clock_ppm: f64::from_bits(load(&c.input_clock_ppm)),
            input_ratio_ppm: f64::from_bits(load(&c.input_ratio_ppm)),
            input_fill_frames: load(&c.input_fill_frames),
            input_trims: load(&c.input_trims),
            input_pads: load(&c.input_pads),
            process_errors: load(&c.process_errors),
            dropped_events: load(&self.dropped_events),
        }
    }
}

#[cfg(test)]
mod tests;

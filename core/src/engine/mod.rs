//! The host-driven engine: a DAW plug-in, a mobile app or a cpal stream calls
//! [`Engine::process`] from its audio thread; the network task drives [`EngineNetwork`]; any
//! thread adjusts the mix and reads statistics through [`EngineControl`].
//!
//! # Three halves
//! [`Engine::new`] returns all three. They share only wait-free `rtrb` rings and atomics:
//! - **capture**: the audio thread converts the host's input to 48 kHz, cuts it into codec
//!   frames and pushes each into a ring of fixed-size slots; [`EngineNetwork::poll_packet`] drains
//!   it, encodes with Opus, wraps in RFC 2198 redundancy and hands out RTP payloads to send;
//!   for browser peers it also encodes plain Opus at their longer frame (`plain` module).
//! - **receive**: [`EngineNetwork::receive`] copies each RTP packet with its arrival time into
//!   that peer's ring of fixed-size slots; the audio thread pushes them into the peer's
//!   [`Playout`](crate::playout::Playout) (jitter buffer → decode/conceal → drift resampler),
//!   pops exactly what the block needs, mixes, and converts back to the host rate.
//! - **peers**: [`EngineNetwork::add_peer`] builds a peer's state (the only allocation) and sends
//!   it over a command ring; the audio thread adopts it into a pre-sized table; a removed peer's
//!   state goes back over a retire ring and is dropped on the network side.
//!
//! # Why `pop` runs on the audio thread
//! Decoding where the audio is consumed means no second ring of decoded audio, so no extra
//! buffering: the jitter buffer hands over a frame exactly when the block needs it, and its delay
//! measurement sees the real playout time. Decode costs ~5 µs per 2.5 ms frame and peer
//! (benches/README.md), well within a callback, and nothing on that path allocates or locks.
//!
//! # Time
//! The audio thread needs `now` (when the block starts to sound, in the same clock as the
//! arrival times the network side stamps). Hosts that know their output time call
//! [`Engine::process_at`]; [`Engine::process`] reads `Instant::now()` once per callback — on Linux
//! a vDSO call that neither allocates nor enters the kernel. `process_at` reads it once too, but
//! only to tell the network side's pacer the call time (`capture_clock`); everything else runs
//! on the `now` it is given, so tests drive it with virtual time.
//!
//! # Run loop
//! ```
//! use std::time::Instant;
//! use tutti_core::engine::{Engine, EngineConfig, PeerConfig};
//!
//! let (mut engine, mut network, control) = Engine::new(EngineConfig::default())?;
//! let bass = network.add_peer(PeerConfig::default())?;
//! control.set_gain_db(bass, -3.0)?;
//!
//! // Audio thread, every callback (planar channel slices):
//! let (left_in, right_in) = ([0.0f32; 64], [0.0f32; 64]);
//! let (mut left_out, mut right_out) = ([0.0f32; 64], [0.0f32; 64]);
//! engine.process(&[&left_in, &right_in], &mut [&mut left_out, &mut right_out], 64)?;
//!
//! // Network task: send what was captured, deliver what arrived.
//! while let Some(packet) = network.poll_packet() {
//!     let _ = (packet.sequence, packet.timestamp, packet.payload); // → RTP to every peer
//! }
//! # let payload = [0u8; 8];
//! network.receive(bass, Instant::now(), 0, 0, &payload)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod capture_clock;
mod control;
mod network;
mod plain;
mod shared;
mod slots;
mod stats;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

pub use capture_clock::CaptureClock;
pub use control::EngineControl;
pub use network::{EngineNetwork, EnginePeer, OutgoingPacket, PeerConfig, ReceiveError, Stream};
pub use slots::MAX_RTP_PAYLOAD;
pub use stats::{LatencyTerms, PeerStats};

use crate::codec::{CodecError, Encoder, EncoderConfig, SAMPLE_RATE};
use crate::drift::{DriftError, DriftResampler};
use crate::mixer::{Mixer, MixerConfig, MixerError};
use crate::playout::PlayoutError;
use crate::redundancy::RedundancyError;
use shared::Shared;
use slots::{CaptureSlot, Command, MAX_FRAME_SAMPLES, PeerState};

/// Host sample rates the engine accepts; it runs at 48 kHz inside.
pub const HOST_RATES: [u32; 3] = [44_100, 48_000, 96_000];
/// Largest host block, frames.
pub const MAX_BLOCK_FRAMES: usize = 4096;
/// Smallest host block the engine is specified for (smaller ones work, at more overhead).
pub const MIN_BLOCK_FRAMES: usize = 16;

/// Sizes everything once; nothing is allocated after [`Engine::new`] except per added peer.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    /// The host's sample rate: 44 100, 48 000 or 96 000 Hz.
    pub host_rate: u32,
    /// The largest block the host will pass, ≤ [`MAX_BLOCK_FRAMES`].
    pub max_block_frames: usize,
    /// How the local capture is encoded (channels, frame duration, bitrate).
    pub encoder: EncoderConfig,
    /// Earlier frames repeated in each packet (RFC 2198, 0..=2); `None` sends plain Opus.
    pub redundancy: Option<usize>,
    /// RTP payload type of the Opus blocks inside RED.
    pub opus_payload_type: u8,
    /// Most remote peers at once.
    pub max_peers: usize,
    /// Packet slots per peer between network task and audio thread.
    pub packet_ring: usize,
    /// Codec frames buffered between audio thread and encoder.
    pub capture_ring: usize,
    /// First RTP sequence number (RFC 3550 wants it random; the session picks it).
    pub initial_sequence: u16,
    /// First RTP timestamp (random too).
    pub initial_timestamp: u32,
    /// Ramp time of every gain change.
    pub smoothing: Duration,
}

impl Default for EngineConfig {
    /// 48 kHz, blocks up to 1024 frames, stereo 2.5 ms Opus with RED depth 2, up to 8 peers.
    fn default() -> Self {
        Self {
            host_rate: 48_000,
            max_block_frames: 1024,
            encoder: EncoderConfig::default(),
            redundancy: Some(2),
            opus_payload_type: 111,
            max_peers: 8,
            packet_ring: 128,
            capture_ring: 64,
            initial_sequence: 0,
            initial_timestamp: 0,
            smoothing: Duration::from_millis(10),
        }
    }
}

/// Building the engine or changing its peers failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The caller asked for something the engine does not support; the message says what.
    #[error("invalid engine configuration: {0}")]
    InvalidConfig(&'static str),
    /// All `max_peers` slots are taken (or the audio thread has not yet handed back removed
    /// peers): remove one, or keep the audio thread running.
    #[error("no free peer slot")]
    NoFreeSlot,
    /// The peer was removed or never added: the caller kept a stale id.
    #[error("unknown peer")]
    UnknownPeer,
    /// The command ring is full because the audio thread is not running.
    #[error("the audio thread is not taking commands")]
    AudioThreadStalled,
    /// The encoder or a decoder could not be built.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The redundancy encoder could not be built.
    #[error(transparent)]
    Redundancy(#[from] RedundancyError),
    /// A playout could not be built.
    #[error(transparent)]
    Playout(#[from] PlayoutError),
    /// A sample-rate converter could not be built.
    #[error(transparent)]
    Drift(#[from] DriftError),
    /// A mixer call failed (e.g. a parameter out of range).
    #[error(transparent)]
    Mixer(#[from] MixerError),
}

/// A `process` call the engine refused; the output was filled with silence where it could be.
/// Always the host's mistake. Copy and allocation-free, so safe on the audio thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// More frames than [`EngineConfig::max_block_frames`].
    #[error("block of {frames} frames exceeds max_block_frames {max}")]
    BlockTooLarge {
        /// Frames asked for.
        frames: usize,
        /// The configured maximum.
        max: usize,
    },
    /// A channel slice is shorter than `frames`.
    #[error("channel {channel} holds {len} samples, the block needs {frames}")]
    ChannelTooShort {
        /// Index of the channel (inputs first, then outputs).
        channel: usize,
        /// Its length.
        len: usize,
        /// Frames asked for.
        frames: usize,
    },
}

/// The audio-thread half. See the [module docs](self).
pub struct Engine {
    host_rate: u32,
    max_block: usize,
    commands: rtrb::Consumer<Command>,
    retire: rtrb::Producer<Box<PeerState>>,
    peers: Box<[Option<Box<PeerState>>]>,
    mixer: Mixer,
    shared: Arc<Shared>,
    capture: Capture,
    /// Host-rate interleaved stereo, one block.
    out: Box<[f32]>,
    /// 48 kHz → host rate; `None` at 48 kHz.
    out_converter: Option<DriftResampler>,
    monitor_gain: f32,
}

/// Capture: host input → 48 kHz → codec frames → ring.
struct Capture {
    channels: usize,
    /// Host-rate interleaved capture, one block.
    interleaved: Box<[f32]>,
    /// Host rate → 48 kHz; `None` at 48 kHz.
    converter: Option<DriftResampler>,
    frame: Box<[f32]>,
    filled: usize,
    index: u64,
    ring: rtrb::Producer<CaptureSlot>,
}

impl Engine {
    /// Builds the three halves: the engine for the audio thread, the network side and a control
    /// handle (clone it freely).
    pub fn new(
        config: EngineConfig,
    ) -> Result<(Engine, EngineNetwork, EngineControl), EngineError> {
        if !HOST_RATES.contains(&config.host_rate) {
            return Err(EngineError::InvalidConfig(
                "host rate must be 44100, 48000 or 96000 Hz",
            ));
        }
        if !(1..=MAX_BLOCK_FRAMES).contains(&config.max_block_frames) {
            return Err(EngineError::InvalidConfig(
                "max_block_frames must be 1..=4096",
            ));
        }
        if config.max_peers == 0 || config.packet_ring == 0 || config.capture_ring == 0 {
            return Err(EngineError::InvalidConfig(
                "max_peers and ring sizes must be positive",
            ));
        }
        let encoder = Encoder::new(config.encoder)?;
        let channels = config.encoder.channels.count();
        let frame_samples = config.encoder.frame.samples_per_channel() * channels;
        debug_assert!(frame_samples <= MAX_FRAME_SAMPLES);
        let max = config.max_block_frames;

        let (in_converter, out_converter) = if config.host_rate == SAMPLE_RATE {
            (None, None)
        } else {
            let up = f64::from(SAMPLE_RATE) / f64::from(config.host_rate);
            (
                Some(DriftResampler::fixed_ratio(channels, max, up)?),
                Some(DriftResampler::fixed_ratio(2, max, 1.0 / up)?),
            )
        };
        // Both filters' delay plus one chunk of the capture converter's FIFO: measured through
        // the converter pair in the engine's feeding pattern at 64-frame blocks, 1.75 ms at
        // 44.1 kHz and 1.32 ms at 96 kHz against 1.70 and 1.33 ms from this sum.
        let resampling = in_converter.as_ref().map_or(Duration::ZERO, |c| {
            frames_to_duration(c.output_delay() + c.chunk_frames(), SAMPLE_RATE)
        }) + out_converter.as_ref().map_or(Duration::ZERO, |c| {
            frames_to_duration(c.output_delay(), config.host_rate)
        });
        let shared = Arc::new(Shared::new(
            config.max_peers,
            config.encoder.frame.as_duration(),
            frames_to_duration(encoder.lookahead_samples(), SAMPLE_RATE),
            resampling,
        ));
        let (mixer, mixer_handle) = Mixer::new(MixerConfig {
            max_sources: config.max_peers,
            // At 48 kHz the host block is mixed whole; otherwise in converter-sized pieces.
            max_block_frames: max.max(256),
            sample_rate: SAMPLE_RATE,
            smoothing: config.smoothing,
        });
        let (capture_tx, capture_rx) = rtrb::RingBuffer::new(config.capture_ring);
        // Every peer state alive is in the table, in flight, or on its way back: at most two
        // per slot (see `EngineNetwork::add_peer`), so the retire ring never fills.
        let (retire_tx, retire_rx) = rtrb::RingBuffer::new(2 * config.max_peers);
        let (command_tx, command_rx) = rtrb::RingBuffer::new(4 * config.max_peers);
        let engine = Engine {
            host_rate: config.host_rate,
            max_block: max,
            commands: command_rx,
            retire: retire_tx,
            peers: (0..config.max_peers).map(|_| None).collect(),
            mixer,
            shared: Arc::clone(&shared),
            capture: Capture {
                channels,
                interleaved: vec![0.0; max * channels].into_boxed_slice(),
                converter: in_converter,
                frame: vec![0.0; frame_samples].into_boxed_slice(),
                filled: 0,
                index: 0,
                ring: capture_tx,
            },
            out: vec![0.0; max * 2].into_boxed_slice(),
            out_converter,
            monitor_gain: 0.0,
        };
        let control = EngineControl::new(Arc::clone(&shared), mixer_handle.clone());
        let network = EngineNetwork::new(
            &config,
            encoder,
            shared,
            mixer_handle,
            capture_rx,
            command_tx,
            retire_rx,
        )?;
        Ok((engine, network, control))
    }

    /// The host rate the engine was built for (its callers must deliver blocks at this rate).
    pub fn host_rate(&self) -> u32 {
        self.host_rate
    }

    /// The largest block [`Engine::process`] accepts; hosts with larger callbacks split them.
    pub fn max_block_frames(&self) -> usize {
        self.max_block
    }

    /// Processes one host block with `Instant::now()` as the time it starts to sound. See
    /// [`Engine::process_at`].
    pub fn process(
        &mut self,
        input: &[&[f32]],
        output: &mut [&mut [f32]],
        frames: usize,
    ) -> Result<(), ProcessError> {
        let now = Instant::now();
        self.run_block(now, now, input, output, frames)
    }

    /// Processes one host block: `input` and `output` are planar channel slices of at least
    /// `frames` samples at the host rate. Captures the input (channels beyond the encoder's are
    /// mixed down), writes the mix of all peers plus the local monitor to outputs 0 and 1 (a
    /// single output gets the mono sum, further outputs silence). `now` is when the block starts
    /// to sound, on the clock the network side stamps arrivals with.
    ///
    /// Wait-free and allocation-free. On a refused call the outputs are silenced. Also reads
    /// `Instant::now()` once (a vDSO call, as in [`Engine::process`]): the network side's pacer
    /// needs the call time, which `now` may lead by the host's output latency.
    pub fn process_at(
        &mut self,
        now: Instant,
        input: &[&[f32]],
        output: &mut [&mut [f32]],
        frames: usize,
    ) -> Result<(), ProcessError> {
        self.run_block(now, Instant::now(), input, output, frames)
    }

    /// One block: `now` is when it starts to sound, `called` when the host called.
    fn run_block(
        &mut self,
        now: Instant,
        called: Instant,
        input: &[&[f32]],
        output: &mut [&mut [f32]],
        frames: usize,
    ) -> Result<(), ProcessError> {
        if let Err(e) = self.check(input, output, frames) {
            for channel in output.iter_mut() {
                let n = frames.min(channel.len());
                channel[..n].fill(0.0);
            }
            return Err(e);
        }
        self.run_commands();
        self.capture.run(input, frames);
        self.predict_next_frame(now, called, frames);
        self.drain_packets();
        self.render(now, frames);
        self.write_output(input, output, frames);
        self.publish(frames);
        Ok(())
    }

    fn check(
        &self,
        input: &[&[f32]],
        output: &[&mut [f32]],
        frames: usize,
    ) -> Result<(), ProcessError> {
        if frames > self.max_block {
            return Err(ProcessError::BlockTooLarge {
                frames,
                max: self.max_block,
            });
        }
        let lens = input
            .iter()
            .map(|c| c.len())
            .chain(output.iter().map(|c| c.len()));
        for (channel, len) in lens.enumerate() {
            if len < frames {
                return Err(ProcessError::ChannelTooShort {
                    channel,
                    len,
                    frames,
                });
            }
        }
        Ok(())
    }

    /// Tells the network side when the next codec frame will be complete ([`CaptureClock`]),
    /// assuming the host keeps calling with blocks of this size, and how far the host's `now`
    /// leads the call time.
    fn predict_next_frame(&self, now: Instant, called: Instant, frames: usize) {
        let block_48k = frames as f64 * f64::from(SAMPLE_RATE) / f64::from(self.host_rate);
        let due = capture_clock::predict(
            now,
            frames_to_duration(frames, self.host_rate),
            block_48k,
            self.capture.missing_frames(),
        );
        let lead = capture_clock::signed_nanos(now, called);
        self.shared
            .next_frame_due
            .store(due, lead, self.capture.index);
    }

    /// Adopts added peers and hands removed ones back for dropping elsewhere.
    fn run_commands(&mut self) {
        while let Ok(command) = self.commands.pop() {
            match command {
                Command::Add(peer) => {
                    let slot = peer.slot;
                    // The network side only reuses a slot after removing its occupant, and
                    // commands arrive in order, so the slot is free here.
                    if let Some(old) = self.peers.get_mut(slot).and_then(Option::take) {
                        self.retire(old);
                    }
                    if let Some(entry) = self.peers.get_mut(slot) {
                        *entry = Some(peer);
                    } else {
                        self.retire(peer);
                    }
                }
                Command::Remove { slot, generation } => {
                    let matches = self
                        .peers
                        .get(slot)
                        .and_then(Option::as_ref)
                        .is_some_and(|p| p.generation == generation);
                    if matches && let Some(old) = self.peers[slot].take() {
                        self.retire(old);
                    }
                }
            }
        }
    }

    fn retire(&mut self, peer: Box<PeerState>) {
        if let Err(rtrb::PushError::Full(peer)) = self.retire.push(peer) {
            // Cannot happen (the ring holds every state that can exist); leaking beats freeing
            // on the audio thread.
            std::mem::forget(peer);
        }
    }

    /// Moves every packet that arrived into its peer's jitter buffer.
    fn drain_packets(&mut self) {
        for peer in self.peers.iter_mut().flatten() {
            let n = peer.packets.slots();
            let Ok(chunk) = peer.packets.read_chunk(n) else {
                continue;
            };
            let (a, b) = chunk.as_slices();
            for packet in a.iter().chain(b) {
                if let Some(arrival) = packet.arrival {
                    let len = usize::from(packet.len).min(packet.data.len());
                    peer.playout
                        .push(arrival, packet.seq, packet.timestamp, &packet.data[..len]);
                }
            }
            chunk.commit_all();
        }
    }

    /// Fills `self.out[..2 * frames]` (host rate, interleaved stereo) with the mix.
    fn render(&mut self, now: Instant, frames: usize) {
        let Some(converter) = self.out_converter.as_mut() else {
            mix(
                &mut self.mixer,
                &mut self.peers,
                now,
                frames,
                &mut self.out[..2 * frames],
            );
            return;
        };
        let mut written = 0;
        // Bounded: every pass either fills the block or feeds the converter what it lacks.
        for _ in 0..=frames {
            written += converter.pull(&mut self.out[2 * written..2 * frames]);
            if written >= frames {
                return;
            }
            let needed = converter.input_shortfall();
            let tail = converter.input_tail();
            let n = needed
                .min(tail.len() / 2)
                .min(self.mixer.config().max_block_frames);
            if n == 0 {
                break;
            }
            // Every piece pops with the block's `now`: packets are delivered once per block, so
            // a later time would call frames late that simply have not been handed over yet.
            mix(&mut self.mixer, &mut self.peers, now, n, &mut tail[..2 * n]);
            converter.commit_input(n);
        }
        self.out[2 * written..2 * frames].fill(0.0);
    }

    /// Mix plus monitor, de-interleaved into the host's channels.
    fn write_output(&mut self, input: &[&[f32]], output: &mut [&mut [f32]], frames: usize) {
        let target = self.shared.monitor_gain.load();
        let start = self.monitor_gain;
        let step = (target - start) / frames.max(1) as f32;
        let mixed = &self.out[..2 * frames];
        let (in_l, in_r) = match input {
            [] => (None, None),
            [mono] => (Some(&mono[..frames]), Some(&mono[..frames])),
            [l, r, ..] => (Some(&l[..frames]), Some(&r[..frames])),
        };
        let monitor = |i: usize, side: Option<&[f32]>| {
            side.map_or(0.0, |s| s[i] * (start + step * (i + 1) as f32))
        };
        match output {
            [] => {}
            [mono] => {
                for i in 0..frames {
                    let l = mixed[2 * i] + monitor(i, in_l);
                    let r = mixed[2 * i + 1] + monitor(i, in_r);
                    mono[i] = 0.5 * (l + r);
                }
            }
            [l, r, rest @ ..] => {
                for i in 0..frames {
                    l[i] = mixed[2 * i] + monitor(i, in_l);
                    r[i] = mixed[2 * i + 1] + monitor(i, in_r);
                }
                for channel in rest {
                    channel[..frames].fill(0.0);
                }
            }
        }
        self.monitor_gain = if frames == 0 { start } else { target };
    }

    fn publish(&mut self, frames: usize) {
        for peer in self.peers.iter().flatten() {
            let stats = peer.playout.jitter().stats();
            let words = stats::encode(
                peer.generation,
                &stats,
                peer.playout.render().decode_errors(),
            );
            if let Some(slot) = self.shared.peers.get(peer.slot) {
                slot.stats.write(&words);
            }
        }
        let block = frames_to_duration(frames, self.host_rate);
        self.shared.capture_block.store(block);
        self.shared.playback_block.store(block);
        self.shared.blocks.fetch_add(1, Ordering::Relaxed);
    }
}

impl std::fmt::Debug for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Engine")
            .field("host_rate", &self.host_rate)
            .field("max_block", &self.max_block)
            .field("peers", &self.peers.iter().flatten().count())
            .finish_non_exhaustive()
    }
}

/// Pops `frames` frames (48 kHz) from every peer into the mixer and mixes them into `out`.
fn mix(
    mixer: &mut Mixer,
    peers: &mut [Option<Box<PeerState>>],
    now: Instant,
    frames: usize,
    out: &mut [f32],
) {
    for peer in peers.iter_mut().flatten() {
        if let Some(input) = mixer.source_input(peer.source) {
            peer.playout.pop(now, &mut input[..frames * peer.channels]);
        }
    }
    if mixer.mix(frames, out).is_err() {
        out.fill(0.0);
    }
}

impl Capture {
    /// Interleaves the host input, converts it to 48 kHz and cuts codec frames.
    fn run(&mut self, input: &[&[f32]], frames: usize) {
        let ch = self.channels;
        let buf = &mut self.interleaved[..frames * ch];
        match (input, ch) {
            ([], _) => buf.fill(0.0),
            ([mono], _) => {
                for (frame, &x) in buf.chunks_exact_mut(ch).zip(&mono[..frames]) {
                    frame.fill(x);
                }
            }
            ([l, r, ..], 1) => {
                for (i, x) in buf.iter_mut().enumerate() {
                    *x = 0.5 * (l[i] + r[i]);
                }
            }
            ([l, r, ..], _) => {
                for (i, frame) in buf.chunks_exact_mut(ch).enumerate() {
                    frame[0] = l[i];
                    frame[1] = r[i];
                }
            }
        }
        match self.converter.as_mut() {
            None => {
                let mut pos = 0;
                while pos < frames * ch {
                    let n = (self.frame.len() - self.filled).min(frames * ch - pos);
                    self.frame[self.filled..self.filled + n]
                        .copy_from_slice(&self.interleaved[pos..pos + n]);
                    self.filled += n;
                    pos += n;
                    self.emit_if_full();
                }
            }
            Some(converter) => {
                converter.push_input(&self.interleaved[..frames * ch]);
                // Bounded: each pass fills the frame or drains the converter.
                for _ in 0..=frames {
                    let n = converter.pull(&mut self.frame[self.filled..]);
                    self.filled += n * ch;
                    if self.filled < self.frame.len() {
                        break;
                    }
                    // `emit_if_full` needs `self` whole; the converter borrow ends here.
                    let frame = &self.frame[..];
                    emit(&mut self.ring, &mut self.index, frame, &mut self.filled);
                }
            }
        }
    }

    /// Frames (48 kHz) still missing from the codec frame being filled.
    fn missing_frames(&self) -> usize {
        (self.frame.len() - self.filled) / self.channels.max(1)
    }

    fn emit_if_full(&mut self) {
        if self.filled == self.frame.len() {
            emit(
                &mut self.ring,
                &mut self.index,
                &self.frame,
                &mut self.filled,
            );
        }
    }
}

/// Hands one complete frame to the encoder side; a full ring drops it (the index still advances,
/// so the encoder sees the gap and keeps RTP timestamps true).
fn emit(
    ring: &mut rtrb::Producer<CaptureSlot>,
    index: &mut u64,
    frame: &[f32],
    filled: &mut usize,
) {
    if let Ok(mut chunk) = ring.write_chunk(1) {
        let (first, _) = chunk.as_mut_slices();
        if let Some(slot) = first.first_mut() {
            slot.index = *index;
            slot.len = frame.len();
            slot.pcm[..frame.len()].copy_from_slice(frame);
        }
        chunk.commit_all();
    }
    *index += 1;
    *filled = 0;
}

fn frames_to_duration(frames: usize, rate: u32) -> Duration {
    Duration::from_nanos(frames as u64 * 1_000_000_000 / u64::from(rate))
}

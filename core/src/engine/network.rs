//! The network side of the engine: encode and packetize the capture, deliver received packets
//! to the audio thread, add and remove peers. Sans-IO: the session owns sockets and the clock.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Instant;

use super::plain::PlainStream;
use super::shared::Shared;
use super::slots::{CaptureSlot, Command, MAX_RTP_PAYLOAD, PacketSlot, PeerState};
use super::{EngineConfig, EngineError};
use crate::codec::{Channels, Encoder, EncoderConfig, FrameDuration, MAX_PACKET_BYTES};
use crate::jitter::JitterConfig;
use crate::mixer::{MixerHandle, SourceId, SourceLayout};
use crate::playout::Playout;
use crate::redundancy::{MAX_REDUNDANCY, RedundancyEncoder};

/// Names a remote peer in the engine for as long as it stays added. Carries a generation, so a
/// kept id of a removed peer is refused even when its slot is reused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EnginePeer {
    pub(crate) slot: usize,
    pub(crate) generation: u32,
    pub(crate) source: SourceId,
}

/// How a remote peer's stream is received.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Jitter buffer settings; `jitter.frame` and `jitter.payload` must match what the peer sends.
    pub jitter: JitterConfig,
    /// Channels to decode to (Opus up- or down-mixes whatever the peer sent).
    pub channels: Channels,
}

impl Default for PeerConfig {
    /// Stereo, 2.5 ms frames with RED, the default adaptive jitter buffer.
    fn default() -> Self {
        Self {
            jitter: JitterConfig::default(),
            channels: Channels::Stereo,
        }
    }
}

/// A packet that could not be delivered to the audio thread; it is dropped and counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ReceiveError {
    /// The peer was removed or never added (a late packet after removal: harmless).
    #[error("unknown peer")]
    UnknownPeer,
    /// The payload exceeds [`MAX_RTP_PAYLOAD`]: the sender's fault.
    #[error("payload of {len} bytes exceeds {MAX_RTP_PAYLOAD}")]
    Oversized {
        /// Payload length.
        len: usize,
    },
    /// The peer's ring is full: the audio thread is not running or far behind.
    #[error("audio thread is not draining packets")]
    RingFull,
}

/// Which outgoing stream a packet belongs to; each peer is sent exactly one of them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stream {
    /// The native stream: the engine's frame, RED-framed per [`EngineConfig::redundancy`]. For
    /// Tutti peers.
    Native,
    /// Plain Opus at this frame, for browsers ([`EngineNetwork::set_plain_streams`]).
    Plain(FrameDuration),
}

/// One encoded frame ready to send as an RTP packet to every peer of its [`Stream`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutgoingPacket<'a> {
    /// The stream it belongs to; sequence numbers and timestamps run per stream.
    pub stream: Stream,
    /// RTP sequence number.
    pub sequence: u16,
    /// RTP timestamp (48 kHz units) of the frame.
    pub timestamp: u32,
    /// RTP payload: for [`Stream::Native`] RED-wrapped or plain Opus per
    /// [`EngineConfig::redundancy`]; for [`Stream::Plain`] always plain Opus.
    pub payload: &'a [u8],
}

struct NetPeer {
    generation: u32,
    packets: rtrb::Producer<PacketSlot>,
    source: SourceId,
}

/// The network-task half. See the [module docs](super).
pub struct EngineNetwork {
    shared: Arc<Shared>,
    mixer: MixerHandle,
    capture: rtrb::Consumer<CaptureSlot>,
    commands: rtrb::Producer<Command>,
    retired: rtrb::Consumer<Box<PeerState>>,
    encoder: Encoder,
    encoder_config: EncoderConfig,
    /// Browser-compatible streams, at most one per frame duration.
    plain: Vec<PlainStream>,
    red: Option<RedundancyEncoder>,
    opus: Box<[u8]>,
    /// Largest encoded frame, so a packet with its redundant copies fits [`MAX_RTP_PAYLOAD`].
    frame_cap: usize,
    payload: Box<[u8]>,
    sequence: u16,
    timestamp0: u32,
    frame_samples: u32,
    next_index: u64,
    peers: Box<[Option<NetPeer>]>,
    generation: u32,
    packet_ring: usize,
    /// Peer states created and not yet returned by the audio thread.
    outstanding: usize,
}

impl EngineNetwork {
    pub(super) fn new(
        config: &EngineConfig,
        encoder: Encoder,
        shared: Arc<Shared>,
        mixer: MixerHandle,
        capture: rtrb::Consumer<CaptureSlot>,
        commands: rtrb::Producer<Command>,
        retired: rtrb::Consumer<Box<PeerState>>,
    ) -> Result<Self, EngineError> {
        let red = match config.redundancy {
            Some(depth) => Some(RedundancyEncoder::new(config.opus_payload_type, depth)?),
            None => None,
        };
        // RED costs 4 header bytes per redundant block plus 1 for the primary.
        let copies = config.redundancy.map_or(1, |d| d + 1);
        let overhead = config.redundancy.map_or(0, |d| 4 * d + 1);
        let frame_cap = ((MAX_RTP_PAYLOAD - overhead) / copies).min(MAX_PACKET_BYTES);
        Ok(Self {
            frame_cap,
            frame_samples: config.encoder.frame.samples_per_channel() as u32,
            shared,
            mixer,
            capture,
            commands,
            retired,
            encoder,
            encoder_config: config.encoder,
            plain: Vec::new(),
            red,
            opus: vec![0; MAX_PACKET_BYTES].into_boxed_slice(),
            payload: vec![0; (MAX_REDUNDANCY + 1) * (MAX_PACKET_BYTES + 4) + 1].into_boxed_slice(),
            sequence: config.initial_sequence,
            timestamp0: config.initial_timestamp,
            next_index: 0,
            peers: (0..config.max_peers).map(|_| None).collect(),
            generation: 0,
            packet_ring: config.packet_ring,
            outstanding: 0,
        })
    }

    /// Adds a remote peer: builds its playout and mixer source here (allocating), then hands it
    /// to the audio thread, which adopts it at its next block.
    pub fn add_peer(&mut self, config: PeerConfig) -> Result<EnginePeer, EngineError> {
        self.collect_retired();
        let slot = self
            .peers
            .iter()
            .position(Option::is_none)
            .ok_or(EngineError::NoFreeSlot)?;
        // At most two states per slot exist at once (one live, one on its way back).
        if self.outstanding >= 2 * self.peers.len() {
            return Err(EngineError::NoFreeSlot);
        }
        if self.commands.is_full() {
            return Err(EngineError::AudioThreadStalled);
        }
        let layout = match config.channels {
            Channels::Mono => SourceLayout::Mono,
            Channels::Stereo => SourceLayout::Stereo,
        };
        let playout = Playout::new(config.jitter, config.channels)?;
        let source = self.mixer.add_source(layout)?;
        self.generation = self.generation.wrapping_add(1).max(1);
        let (tx, rx) = rtrb::RingBuffer::new(self.packet_ring);
        let state = Box::new(PeerState {
            slot,
            generation: self.generation,
            playout,
            packets: rx,
            source,
            channels: config.channels.count(),
        });
        if let Some(shared) = self.shared.peers.get(slot) {
            shared.ring_overflows.store(0, Ordering::Relaxed);
            shared.oversized.store(0, Ordering::Relaxed);
        }
        if self.commands.push(Command::Add(state)).is_err() {
            let _ = self.mixer.remove_source(source);
            return Err(EngineError::AudioThreadStalled);
        }
        self.outstanding += 1;
        self.peers[slot] = Some(NetPeer {
            generation: self.generation,
            packets: tx,
            source,
        });
        Ok(EnginePeer {
            slot,
            generation: self.generation,
            source,
        })
    }

    /// Removes a peer; it falls silent at once and its state is dropped here later.
    pub fn remove_peer(&mut self, peer: EnginePeer) -> Result<(), EngineError> {
        self.collect_retired();
        self.lookup(peer).ok_or(EngineError::UnknownPeer)?;
        if self
            .commands
            .push(Command::Remove {
                slot: peer.slot,
                generation: peer.generation,
            })
            .is_err()
        {
            return Err(EngineError::AudioThreadStalled);
        }
        let _ = self.mixer.remove_source(peer.source);
        self.peers[peer.slot] = None;
        Ok(())
    }

    /// Delivers one received RTP packet (arrival time on the clock the audio thread's `now`
    /// uses). Never blocks; a packet that cannot be delivered is dropped and counted.
    pub fn receive(
        &mut self,
        peer: EnginePeer,
        arrival: Instant,
        sequence: u16,
        timestamp: u32,
        payload: &[u8],
    ) -> Result<(), ReceiveError> {
        let shared = self
            .shared
            .peers
            .get(peer.slot)
            .ok_or(ReceiveError::UnknownPeer)?;
        let Some(net) = self.peers.get_mut(peer.slot).and_then(Option::as_mut) else {
            return Err(ReceiveError::UnknownPeer);
        };
        if net.generation != peer.generation {
            return Err(ReceiveError::UnknownPeer);
        }
        let len = payload.len();
        if len > MAX_RTP_PAYLOAD {
            shared.oversized.fetch_add(1, Ordering::Relaxed);
            return Err(ReceiveError::Oversized { len });
        }
        let Ok(mut chunk) = net.packets.write_chunk(1) else {
            shared.ring_overflows.fetch_add(1, Ordering::Relaxed);
            return Err(ReceiveError::RingFull);
        };
        let (first, _) = chunk.as_mut_slices();
        if let Some(slot) = first.first_mut() {
            slot.arrival = Some(arrival);
            slot.seq = sequence;
            slot.timestamp = timestamp;
            slot.len = len as u16;
            slot.data[..len].copy_from_slice(payload);
        }
        chunk.commit_all();
        Ok(())
    }

    /// The next captured frame, encoded and packetized, or `None` when the capture ring is
    /// empty. Call until `None` whenever the audio thread may have produced frames.
    ///
    /// With plain streams set ([`Self::set_plain_streams`]), their packets come out too, each
    /// right after the native packet of the captured frame that completed it.
    pub fn poll_packet(&mut self) -> Option<OutgoingPacket<'_>> {
        self.collect_retired();
        if let Some(i) = self.plain.iter().position(|p| p.ready.is_some()) {
            let plain = &mut self.plain[i];
            let ready = plain.ready.take()?;
            return Some(OutgoingPacket {
                stream: Stream::Plain(plain.frame()),
                sequence: ready.sequence,
                timestamp: ready.timestamp,
                payload: plain.payload(ready),
            });
        }
        loop {
            let chunk = self.capture.read_chunk(1).ok()?;
            let (first, _) = chunk.as_slices();
            let slot = first.first()?;
            let index = slot.index;
            let timestamp = self
                .timestamp0
                .wrapping_add((index as u32).wrapping_mul(self.frame_samples));
            let encoded = self
                .encoder
                .encode(&slot.pcm[..slot.len], &mut self.opus[..self.frame_cap]);
            for plain in &mut self.plain {
                plain.push(index, timestamp, &slot.pcm[..slot.len]);
            }
            chunk.commit_all();
            if index > self.next_index {
                // The audio thread dropped frames because this side fell behind.
                let lost = index - self.next_index;
                self.shared
                    .capture_overruns
                    .fetch_add(lost, Ordering::Relaxed);
            }
            self.next_index = index + 1;
            // Our own configuration and buffers: encoding only fails on a bug, so skip the frame.
            let Ok(len) = encoded else { continue };
            let payload_len = match self.red.as_mut() {
                Some(red) => match red.packetize(timestamp, &self.opus[..len], &mut self.payload) {
                    Ok(n) => n,
                    Err(_) => continue,
                },
                None => {
                    self.payload[..len].copy_from_slice(&self.opus[..len]);
                    len
                }
            };
            let sequence = self.sequence;
            self.sequence = self.sequence.wrapping_add(1);
            return Some(OutgoingPacket {
                stream: Stream::Native,
                sequence,
                timestamp,
                payload: &self.payload[..payload_len],
            });
        }
    }

    /// Sets which browser-compatible plain-Opus streams are encoded besides the native one:
    /// one per frame in `frames` (duplicates ignored). Streams kept keep their sequence numbers;
    /// new ones start fresh; removed ones stop at once. Call it when peers that need them come
    /// and go, so no encoder runs for nobody. Allocates (on this, the network, side only).
    ///
    /// Each frame must be a whole multiple of the native frame, else
    /// [`EngineError::InvalidConfig`] and nothing changes.
    pub fn set_plain_streams(&mut self, frames: &[FrameDuration]) -> Result<(), EngineError> {
        let mut next = Vec::with_capacity(frames.len());
        for &frame in frames {
            if next.iter().any(|p: &PlainStream| p.frame() == frame) {
                continue;
            }
            match self.plain.iter().position(|p| p.frame() == frame) {
                Some(i) => next.push(self.plain.swap_remove(i)),
                None => {
                    // A sequence far from the native stream's, so the two are never confused.
                    let sequence = self.sequence.wrapping_add(0x8000);
                    match PlainStream::new(&self.encoder_config, frame, sequence) {
                        Ok(stream) => next.push(stream),
                        Err(e) => {
                            self.plain.append(&mut next);
                            return Err(e);
                        }
                    }
                }
            }
        }
        self.plain = next;
        Ok(())
    }

    /// Frames of the plain streams currently encoded.
    pub fn plain_streams(&self) -> impl Iterator<Item = FrameDuration> + '_ {
        self.plain.iter().map(PlainStream::frame)
    }

    /// A handle that says when the audio thread will have the next frame ready, so a pacer can
    /// wake for it rather than poll ([`CaptureClock`](super::CaptureClock)).
    pub fn capture_clock(&self) -> super::CaptureClock {
        super::CaptureClock::new(Arc::clone(&self.shared))
    }

    /// The encoder, e.g. to change the bitrate when congestion control reacts.
    pub fn encoder_mut(&mut self) -> &mut Encoder {
        &mut self.encoder
    }

    fn lookup(&self, peer: EnginePeer) -> Option<&NetPeer> {
        self.peers
            .get(peer.slot)?
            .as_ref()
            .filter(|p| p.generation == peer.generation && p.source == peer.source)
    }

    /// Drops the peer states the audio thread handed back.
    fn collect_retired(&mut self) {
        while let Ok(state) = self.retired.pop() {
            drop(state);
            self.outstanding = self.outstanding.saturating_sub(1);
        }
    }
}

impl std::fmt::Debug for EngineNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EngineNetwork")
            .field("sequence", &self.sequence)
            .field("peers", &self.peers.iter().flatten().count())
            .field("outstanding", &self.outstanding)
            .finish_non_exhaustive()
    }
}

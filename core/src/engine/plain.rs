//! The browser-compatible send path: plain Opus (no RFC 2198 framing) at a longer frame than
//! the native stream, encoded on the network task from the same captured frames.
//!
//! Browsers decode only plain Opus under the Opus payload type and send 10 or 20 ms frames, so
//! a peer that is not a Tutti native gets its own stream at the frame its link negotiated. One
//! stream per distinct frame exists only while such a peer is present
//! ([`super::EngineNetwork::set_plain_streams`]); the audio thread is not involved.
//!
//! Captured frames (the native frame, e.g. 2.5 ms) are gathered until a plain frame is full
//! (the plain frame is a whole multiple of the native one: 2.5 → 5 → 10 → 20 ms). Its RTP
//! timestamp is that of its first captured frame, on the native stream's timeline, so a gap in
//! the capture (frames the audio thread dropped) restarts the gathering and keeps timestamps
//! true instead of stretching audio.

use crate::codec::{Encoder, EncoderConfig, FrameDuration, MAX_PACKET_BYTES};

use super::EngineError;
use super::slots::MAX_RTP_PAYLOAD;

/// One encoded plain packet waiting to be handed out.
#[derive(Debug, Clone, Copy)]
pub(super) struct Ready {
    pub(super) sequence: u16,
    pub(super) timestamp: u32,
    pub(super) len: usize,
}

/// One plain-Opus stream at one frame duration.
pub(super) struct PlainStream {
    frame: FrameDuration,
    encoder: Encoder,
    /// Interleaved PCM of the plain frame being gathered.
    pcm: Box<[f32]>,
    filled: usize,
    /// Capture index the next gathered frame must have to continue this plain frame.
    expected: Option<u64>,
    /// RTP timestamp of the plain frame being gathered.
    timestamp: u32,
    sequence: u16,
    out: Box<[u8]>,
    pub(super) ready: Option<Ready>,
}

impl PlainStream {
    /// A stream of `frame`-long packets encoded like `native` otherwise (channels, bitrate,
    /// application). `frame` must be a whole multiple of the native frame.
    pub(super) fn new(
        native: &EncoderConfig,
        frame: FrameDuration,
        initial_sequence: u16,
    ) -> Result<Self, EngineError> {
        let (native_samples, samples) = (
            native.frame.samples_per_channel(),
            frame.samples_per_channel(),
        );
        if samples < native_samples || !samples.is_multiple_of(native_samples) {
            return Err(EngineError::InvalidConfig(
                "a plain stream's frame must be a multiple of the native frame",
            ));
        }
        let encoder = Encoder::new(EncoderConfig { frame, ..*native })?;
        Ok(Self {
            frame,
            encoder,
            pcm: vec![0.0; samples * native.channels.count()].into_boxed_slice(),
            filled: 0,
            expected: None,
            timestamp: 0,
            sequence: initial_sequence,
            out: vec![0; MAX_PACKET_BYTES.min(MAX_RTP_PAYLOAD)].into_boxed_slice(),
            ready: None,
        })
    }

    pub(super) fn frame(&self) -> FrameDuration {
        self.frame
    }

    /// Adds one captured native frame (`index`, RTP `timestamp`, interleaved `pcm`); encodes when
    /// the plain frame is full. A packet not yet taken is overwritten (the caller takes every
    /// packet before pushing the next capture frame).
    pub(super) fn push(&mut self, index: u64, timestamp: u32, pcm: &[f32]) {
        if self.expected != Some(index) || self.filled == 0 {
            self.filled = 0;
            self.timestamp = timestamp;
        }
        let n = pcm.len().min(self.pcm.len() - self.filled);
        self.pcm[self.filled..self.filled + n].copy_from_slice(&pcm[..n]);
        self.filled += n;
        self.expected = Some(index + 1);
        if self.filled < self.pcm.len() {
            return;
        }
        self.filled = 0;
        // Our own configuration and buffers: encoding only fails on a bug, so skip the frame.
        if let Ok(len) = self.encoder.encode(&self.pcm, &mut self.out) {
            self.ready = Some(Ready {
                sequence: self.sequence,
                timestamp: self.timestamp,
                len,
            });
            self.sequence = self.sequence.wrapping_add(1);
        }
    }

    /// The encoded bytes of the ready packet.
    pub(super) fn payload(&self, ready: Ready) -> &[u8] {
        &self.out[..ready.len]
    }
}

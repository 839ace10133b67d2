//! One remote stream from packets to PCM: jitter buffer → decoder → drift resampler.
//!
//! # Run loop
//! The network side calls [`Playout::push`] for every RTP packet; the audio side calls
//! [`Playout::pop`] once per host block with the local time at which the block starts to sound.
//! `pop` pulls codec frames from the [`JitterBuffer`] exactly when the resampler needs them, tells
//! the buffer when each will be heard, decodes (or conceals) them and resamples at the rate the
//! buffer asks for, which absorbs clock skew and steers the delay to its target.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use tutti_core::codec::{Channels, Encoder, EncoderConfig};
//! use tutti_core::jitter::{JitterConfig, PayloadFormat};
//! use tutti_core::playout::Playout;
//!
//! let mut encoder = Encoder::new(EncoderConfig::default())?;
//! let mut playout = Playout::new(
//!     JitterConfig { payload: PayloadFormat::Plain, ..JitterConfig::default() },
//!     Channels::Stereo,
//! )?;
//! let (start, frame) = (Instant::now(), Duration::from_micros(2500));
//! let (pcm, mut packet, mut out) = ([0.0f32; 240], [0u8; 1275], [0.0f32; 128]);
//! for i in 0..100u32 {
//!     let len = encoder.encode(&pcm, &mut packet)?;
//!     playout.push(start + frame * i, i as u16, i * 120, &packet[..len]);
//!     // The host asks for 64-frame blocks (1.33 ms); two of them per 2.5 ms frame, roughly.
//!     playout.pop(start + frame * i, &mut out);
//! }
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! All buffers are allocated in [`Playout::new`]; `push` and `pop` never allocate.

use std::time::Instant;

use crate::codec::{Channels, CodecError, Decoder};
use crate::drift::{DriftError, DriftResampler};
use crate::jitter::{AdaptivePolicy, DelayPolicy, JitterBuffer, JitterConfig, Pop, PushOutcome};

/// Turns the buffer's decision for one frame into PCM.
///
/// [`OpusRender`] is the real one; the evaluation substitutes one that records timing without
/// decoding, so it measures exactly the production playout path.
pub trait Render {
    /// Interleaved channels written per frame.
    fn channels(&self) -> usize;
    /// Writes one frame (`out.len() / channels` samples per channel) for `pop`, which was pulled
    /// from the buffer at local time `pulled`.
    fn render(&mut self, pulled: Instant, pop: Pop<'_>, out: &mut [f32]);
}

/// Decodes with Opus; conceals with Opus PLC when a frame is missing or fails to decode.
#[derive(Debug)]
pub struct OpusRender {
    decoder: Decoder,
    decode_errors: u64,
}

impl OpusRender {
    /// A renderer for a stream with `channels`.
    pub fn new(channels: Channels) -> Result<Self, CodecError> {
        Ok(Self {
            decoder: Decoder::new(channels)?,
            decode_errors: 0,
        })
    }

    /// Frames that were handed over as present but failed to decode (concealed instead).
    pub fn decode_errors(&self) -> u64 {
        self.decode_errors
    }
}

impl Render for OpusRender {
    fn channels(&self) -> usize {
        self.decoder.channels().count()
    }

    fn render(&mut self, _pulled: Instant, pop: Pop<'_>, out: &mut [f32]) {
        let frame = out.len() / self.channels();
        match pop {
            Pop::Frame { data, .. } => match self.decoder.decode(data, out) {
                Ok(n) if n == frame => {}
                Ok(_) | Err(_) => {
                    // A frame of the wrong duration or a corrupt one: the peer's fault; keep
                    // the audio going.
                    self.decode_errors += 1;
                    if self.decoder.conceal(out).is_err() {
                        out.fill(0.0);
                    }
                }
            },
            Pop::Conceal => {
                if self.decoder.conceal(out).is_err() {
                    out.fill(0.0);
                }
            }
            Pop::Silence => out.fill(0.0),
        }
    }
}

/// Errors from building a [`Playout`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlayoutError {
    /// The decoder could not be created.
    #[error(transparent)]
    Codec(#[from] CodecError),
    /// The drift resampler could not be created.
    #[error(transparent)]
    Drift(#[from] DriftError),
}

/// One remote stream from packets to PCM. See the [module docs](self).
#[derive(Debug)]
pub struct Playout<R: Render = OpusRender, P: DelayPolicy = AdaptivePolicy> {
    jitter: JitterBuffer<P>,
    render: R,
    resampler: DriftResampler,
    channels: usize,
    frame_samples: usize,
}

impl Playout<OpusRender, AdaptivePolicy> {
    /// A playout with Tutti's adaptive jitter buffer and an Opus decoder.
    pub fn new(config: JitterConfig, channels: Channels) -> Result<Self, PlayoutError> {
        Self::with_parts(JitterBuffer::new(config), OpusRender::new(channels)?)
    }
}

impl<R: Render, P: DelayPolicy> Playout<R, P> {
    /// A playout from its parts (another policy or renderer).
    pub fn with_parts(jitter: JitterBuffer<P>, render: R) -> Result<Self, PlayoutError> {
        let channels = render.channels();
        let frame_samples = jitter.config().frame.samples_per_channel();
        Ok(Self {
            resampler: DriftResampler::new(channels, frame_samples)?,
            jitter,
            render,
            channels,
            frame_samples,
        })
    }

    /// Offers one RTP packet (see [`JitterBuffer::push`]).
    pub fn push(
        &mut self,
        arrival: Instant,
        seq: u16,
        rtp_timestamp: u32,
        payload: &[u8],
    ) -> PushOutcome {
        self.jitter.push(arrival, seq, rtp_timestamp, payload)
    }

    /// Fills `out` (interleaved, this stream's channel count, 48 kHz) for the host callback
    /// running at local time `now` (the block starts to sound at `now` plus the host's output
    /// latency).
    pub fn pop(&mut self, now: Instant, out: &mut [f32]) {
        let ch = self.channels;
        let wanted = out.len() / ch;
        let mut written = 0;
        // Bounded: each pass either fills `out` or feeds one frame; a frame yields ≥ 1 chunk.
        for _ in 0..=wanted + 2 {
            written += self.resampler.pull(&mut out[written * ch..wanted * ch]);
            if written >= wanted {
                return;
            }
            let pop = self.jitter.pop(now);
            let tail = self.resampler.input_tail();
            let n = self.frame_samples * ch;
            if tail.len() < n {
                break;
            }
            self.render.render(now, pop, &mut tail[..n]);
            self.resampler.commit_input(self.frame_samples);
            self.resampler.set_rate(self.jitter.playout_rate());
        }
        out[written * ch..].fill(0.0);
    }

    /// The jitter buffer (statistics, policy).
    pub fn jitter(&self) -> &JitterBuffer<P> {
        &self.jitter
    }

    /// The renderer (e.g. decode-error counts).
    pub fn render(&self) -> &R {
        &self.render
    }

    /// Forgets the stream (new source).
    pub fn reset(&mut self) {
        self.jitter.reset();
        self.resampler.reset();
    }
}

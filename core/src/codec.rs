//! Opus encoder and decoder at 48 kHz, tuned for jamming: 2.5 ms frames in restricted-low-delay
//! mode by default, so the codec adds only 2.5 ms of lookahead plus one frame of buffering.
//!
//! # Run loop
//! Both halves are sans-IO and real-time safe: all state is allocated in `new`, and `encode`,
//! `decode` and `conceal` write into buffers the caller owns without allocating, locking or
//! logging. Call them from the audio thread.
//!
//! ```
//! use tutti_core::codec::{Decoder, Encoder, EncoderConfig, MAX_PACKET_BYTES};
//!
//! let config = EncoderConfig::default(); // stereo, 2.5 ms, 128 kbit/s
//! let frame_len = config.frame.samples_per_channel() * config.channels.count();
//! let mut encoder = Encoder::new(config)?;
//! let mut decoder = Decoder::new(config.channels)?;
//!
//! let pcm = vec![0.0_f32; frame_len]; // interleaved, one frame
//! let mut packet = [0_u8; MAX_PACKET_BYTES];
//! let mut out = vec![0.0_f32; frame_len];
//!
//! let len = encoder.encode(&pcm, &mut packet)?;
//! let samples = decoder.decode(&packet[..len], &mut out)?; // a packet arrived
//! assert_eq!(samples, 120);
//! let samples = decoder.conceal(&mut out)?; // the next one did not
//! assert_eq!(samples, 120);
//! # Ok::<(), tutti_core::codec::CodecError>(())
//! ```
//!
//! # Loss recovery
//! Opus in-band FEC is produced only in SILK/hybrid modes, which never run at ≤ 5 ms frames, so
//! this module does not expose it; use [`crate::redundancy`] to repeat earlier frames instead and
//! [`Decoder::conceal`] for whatever is still missing.

use std::time::Duration;

/// Opus always runs at 48 kHz here: it is Opus's native rate and what audio interfaces deliver,
/// so no resampling happens inside the codec.
pub const SAMPLE_RATE: u32 = 48_000;

/// Largest encoded frame (RFC 6716 §3.2.1) and the cap [`Encoder::encode`] applies to its
/// output, so every packet it makes fits one RED block history slot and one network packet.
pub const MAX_PACKET_BYTES: usize = 1275;

/// Smallest output buffer for which libopus still codes the audio rather than a "lost" frame.
const MIN_ENCODE_OUT: usize = 3;

/// Smallest PLC granularity: libopus conceals in multiples of 2.5 ms (120 samples at 48 kHz).
const PLC_GRANULE: usize = 120;

/// Longest audio a single Opus packet can carry (120 ms), the bound for one `conceal` call.
const MAX_SAMPLES_PER_CHANNEL: usize = 5760;

/// Number of interleaved audio channels; a session is either mono (a voice, a bass) or stereo
/// (a keyboard, a mix).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Channels {
    /// One channel.
    Mono,
    /// Two interleaved channels, left first.
    #[default]
    Stereo,
}

impl Channels {
    /// Samples per interleaved frame, to size buffers without matching on the enum.
    pub fn count(self) -> usize {
        match self {
            Channels::Mono => 1,
            Channels::Stereo => 2,
        }
    }

    fn to_opus(self) -> opus::Channels {
        match self {
            Channels::Mono => opus::Channels::Mono,
            Channels::Stereo => opus::Channels::Stereo,
        }
    }
}

/// Duration of one Opus frame. Shorter frames mean less latency but more packets and overhead;
/// musicians want the shortest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum FrameDuration {
    /// 2.5 ms (120 samples): the lowest latency Opus offers.
    #[default]
    Ms2_5,
    /// 5 ms (240 samples).
    Ms5,
    /// 10 ms (480 samples).
    Ms10,
    /// 20 ms (960 samples): the usual VoIP frame, for poor links.
    Ms20,
}

impl FrameDuration {
    /// Samples per channel in one frame at [`SAMPLE_RATE`], the length the encoder expects.
    pub fn samples_per_channel(self) -> usize {
        match self {
            FrameDuration::Ms2_5 => 120,
            FrameDuration::Ms5 => 240,
            FrameDuration::Ms10 => 480,
            FrameDuration::Ms20 => 960,
        }
    }

    /// Frame length as wall-clock time, for latency budgets and packet pacing.
    pub fn as_duration(self) -> Duration {
        Duration::from_micros(self.samples_per_channel() as u64 * 1_000_000 / SAMPLE_RATE as u64)
    }

    /// The frame duration holding exactly `n` samples per channel, e.g. to interpret a decoded
    /// packet's length; `None` for lengths Opus frames cannot have here.
    pub fn from_samples(n: usize) -> Option<Self> {
        match n {
            120 => Some(FrameDuration::Ms2_5),
            240 => Some(FrameDuration::Ms5),
            480 => Some(FrameDuration::Ms10),
            960 => Some(FrameDuration::Ms20),
            _ => None,
        }
    }

    fn to_opus(self) -> opus::FrameSize {
        match self {
            FrameDuration::Ms2_5 => opus::FrameSize::Ms2_5,
            FrameDuration::Ms5 => opus::FrameSize::Ms5,
            FrameDuration::Ms10 => opus::FrameSize::Ms10,
            FrameDuration::Ms20 => opus::FrameSize::Ms20,
        }
    }
}

/// Opus application mode; it decides the encoder's lookahead and the modes it may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Application {
    /// CELT only, 2.5 ms lookahead: the lowest algorithmic delay, the right choice for jamming.
    #[default]
    RestrictedLowDelay,
    /// General music, 6.5 ms lookahead; may switch to SILK/hybrid at low bitrates.
    Audio,
    /// Speech-optimised, 6.5 ms lookahead; for talkback channels where latency matters less.
    Voip,
}

impl Application {
    fn to_opus(self) -> opus::Application {
        match self {
            Application::RestrictedLowDelay => opus::Application::LowDelay,
            Application::Audio => opus::Application::Audio,
            Application::Voip => opus::Application::Voip,
        }
    }
}

/// Everything needed to build an [`Encoder`]; the defaults suit a stereo instrument on a good
/// link.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct EncoderConfig {
    /// Interleaved channel layout of the PCM passed to [`Encoder::encode`].
    pub channels: Channels,
    /// Frame length; every `encode` call takes exactly one frame.
    pub frame: FrameDuration,
    /// Opus application mode (lookahead and allowed coding modes).
    pub application: Application,
    /// Target bitrate in bit/s, 6 000..=510 000.
    pub bitrate_bps: u32,
    /// CPU/quality trade-off, 0..=10 (10 = best quality, ~3× the CPU of 0).
    pub complexity: u8,
    /// Variable bitrate: better quality per bit, at the cost of packet sizes varying.
    pub vbr: bool,
    /// Discontinuous transmission: near-empty packets during silence to save bandwidth.
    pub dtx: bool,
}

impl Default for EncoderConfig {
    fn default() -> Self {
        Self {
            channels: Channels::Stereo,
            frame: FrameDuration::Ms2_5,
            application: Application::RestrictedLowDelay,
            bitrate_bps: 128_000,
            complexity: 10,
            vbr: true,
            dtx: false,
        }
    }
}

/// Codec failures, split by who is at fault: the caller (`InvalidConfig`, `BufferTooSmall`,
/// `WrongFrameLength`), the remote peer (`InvalidPacket`) or libopus itself (`Opus`).
/// Constructing one never allocates, so errors are safe on the audio thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CodecError {
    /// The caller asked for a setting outside what Opus supports; the message names it.
    #[error("invalid codec configuration: {0}")]
    InvalidConfig(&'static str),
    /// The caller's output buffer cannot hold the result (lengths in elements: bytes or
    /// interleaved samples).
    #[error("output buffer too small: needed {needed}, got {got}")]
    BufferTooSmall {
        /// Elements the operation needs.
        needed: usize,
        /// Elements the caller provided.
        got: usize,
    },
    /// The caller passed PCM whose length does not match the frame (interleaved samples).
    #[error("wrong frame length: expected {expected} samples, got {got}")]
    WrongFrameLength {
        /// Interleaved samples expected (the nearest valid length for `conceal`).
        expected: usize,
        /// Interleaved samples provided.
        got: usize,
    },
    /// The packet is empty or not valid Opus: the remote peer (or the network) is at fault.
    /// Conceal the frame instead.
    #[error("invalid Opus packet")]
    InvalidPacket,
    /// libopus reported an internal failure not attributable to the inputs above.
    #[error("libopus error in {function}: {description}")]
    Opus {
        /// The libopus function that failed.
        function: &'static str,
        /// libopus's own description of the error.
        description: &'static str,
    },
}

impl From<opus::Error> for CodecError {
    fn from(e: opus::Error) -> Self {
        CodecError::Opus {
            function: e.function(),
            description: e.description(),
        }
    }
}

/// Opus encoder for one outgoing stream; owns the libopus state, so one per stream.
pub struct Encoder {
    inner: opus::Encoder,
    config: EncoderConfig,
    lookahead: usize,
    frame_len: usize,
}

impl std::fmt::Debug for Encoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Encoder")
            .field("config", &self.config)
            .field("lookahead", &self.lookahead)
            .finish_non_exhaustive()
    }
}

fn check_bitrate(bps: u32) -> Result<i32, CodecError> {
    if (6_000..=510_000).contains(&bps) {
        // In range, so it fits an i32.
        Ok(bps as i32)
    } else {
        Err(CodecError::InvalidConfig(
            "bitrate must be within 6000..=510000 bit/s",
        ))
    }
}

fn check_complexity(complexity: u8) -> Result<i32, CodecError> {
    if complexity <= 10 {
        Ok(i32::from(complexity))
    } else {
        Err(CodecError::InvalidConfig(
            "complexity must be within 0..=10",
        ))
    }
}

impl Encoder {
    /// Validates `config` and builds the libopus encoder; all allocation happens here so that
    /// [`Encoder::encode`] can run on the audio thread.
    pub fn new(config: EncoderConfig) -> Result<Self, CodecError> {
        let bitrate = check_bitrate(config.bitrate_bps)?;
        let complexity = check_complexity(config.complexity)?;
        let mut inner = opus::Encoder::new(
            SAMPLE_RATE,
            config.channels.to_opus(),
            config.application.to_opus(),
        )?;
        inner.set_expert_frame_duration(config.frame.to_opus())?;
        inner.set_bitrate(opus::Bitrate::Bits(bitrate))?;
        inner.set_complexity(complexity)?;
        inner.set_vbr(config.vbr)?;
        inner.set_dtx(config.dtx)?;
        // The getter needs `&mut`; cache it so `lookahead_samples` can take `&self`.
        let lookahead = usize::try_from(inner.get_lookahead()?).map_err(|_| CodecError::Opus {
            function: "opus_encoder_ctl(OPUS_GET_LOOKAHEAD)",
            description: "negative lookahead",
        })?;
        Ok(Self {
            inner,
            config,
            lookahead,
            frame_len: config.frame.samples_per_channel() * config.channels.count(),
        })
    }

    /// Encodes one frame of interleaved PCM (exactly `samples_per_channel × channels` samples,
    /// nominally in -1.0..=1.0) into `out`, returning the packet length in bytes.
    ///
    /// The packet never exceeds `min(out.len(), MAX_PACKET_BYTES)` bytes: libopus lowers the
    /// quality to fit, so a smaller `out` doubles as a hard per-packet size cap. It must hold at
    /// least 3 bytes, else [`CodecError::BufferTooSmall`]. With DTX on, silence yields 1–2 byte packets:
    /// the length is returned as is, and the caller decides per its DTX policy whether to send
    /// them (sending keeps the receiver's timing simple; skipping saves the bandwidth).
    pub fn encode(&mut self, pcm: &[f32], out: &mut [u8]) -> Result<usize, CodecError> {
        if pcm.len() != self.frame_len {
            return Err(CodecError::WrongFrameLength {
                expected: self.frame_len,
                got: pcm.len(),
            });
        }
        // Below 3 bytes libopus silently emits a 1-byte "frame lost" packet: refuse instead.
        if out.len() < MIN_ENCODE_OUT {
            return Err(CodecError::BufferTooSmall {
                needed: MIN_ENCODE_OUT,
                got: out.len(),
            });
        }
        // libopus never writes more than MAX_PACKET_BYTES (+1 for repacketizing) for one frame;
        // clamping keeps the length far inside the `c_int` the binding converts to.
        let cap = out.len().min(MAX_PACKET_BYTES);
        match self.inner.encode_float(pcm, &mut out[..cap]) {
            Ok(len) => Ok(len),
            Err(e) if e.code() == opus::ErrorCode::BufferTooSmall => {
                Err(CodecError::BufferTooSmall {
                    needed: MAX_PACKET_BYTES,
                    got: out.len(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Changes the target bitrate from the next frame on, e.g. when congestion control reacts.
    pub fn set_bitrate(&mut self, bps: u32) -> Result<(), CodecError> {
        let bitrate = check_bitrate(bps)?;
        self.inner.set_bitrate(opus::Bitrate::Bits(bitrate))?;
        self.config.bitrate_bps = bps;
        Ok(())
    }

    /// Changes the CPU/quality trade-off (0..=10), e.g. when the audio callback runs late.
    pub fn set_complexity(&mut self, complexity: u8) -> Result<(), CodecError> {
        let value = check_complexity(complexity)?;
        self.inner.set_complexity(value)?;
        self.config.complexity = complexity;
        Ok(())
    }

    /// Switches variable bitrate on or off; constant bitrate gives predictable packet sizes.
    pub fn set_vbr(&mut self, vbr: bool) -> Result<(), CodecError> {
        self.inner.set_vbr(vbr)?;
        self.config.vbr = vbr;
        Ok(())
    }

    /// Switches discontinuous transmission on or off (tiny packets during silence).
    pub fn set_dtx(&mut self, dtx: bool) -> Result<(), CodecError> {
        self.inner.set_dtx(dtx)?;
        self.config.dtx = dtx;
        Ok(())
    }

    /// Encoder lookahead in samples per channel (120 in restricted low delay, 312 otherwise):
    /// the codec's algorithmic delay, which the latency budget and alignment must account for.
    pub fn lookahead_samples(&self) -> usize {
        self.lookahead
    }

    /// The current configuration, including changes made by the run-time setters.
    pub fn config(&self) -> &EncoderConfig {
        &self.config
    }
}

/// Opus decoder for one incoming stream, with packet-loss concealment; one per remote peer.
pub struct Decoder {
    inner: opus::Decoder,
    channels: Channels,
}

impl std::fmt::Debug for Decoder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Decoder")
            .field("channels", &self.channels)
            .finish_non_exhaustive()
    }
}

impl Decoder {
    /// Builds a decoder producing `channels` interleaved output at [`SAMPLE_RATE`] (Opus
    /// up/down-mixes if the sender used the other layout).
    pub fn new(channels: Channels) -> Result<Self, CodecError> {
        let inner = opus::Decoder::new(SAMPLE_RATE, channels.to_opus())?;
        Ok(Self { inner, channels })
    }

    /// Decodes one packet from the network into `out` (interleaved), returning samples per
    /// channel written. The packet is untrusted: empty or malformed input gives
    /// [`CodecError::InvalidPacket`] (conceal instead), and `out` must hold the packet's whole
    /// duration, else [`CodecError::BufferTooSmall`].
    pub fn decode(&mut self, packet: &[u8], out: &mut [f32]) -> Result<usize, CodecError> {
        // An empty packet means "lost" to libopus; a peer must not trigger PLC implicitly.
        if packet.is_empty() {
            return Err(CodecError::InvalidPacket);
        }
        let per_channel = match opus::packet::get_nb_samples(packet, SAMPLE_RATE) {
            Ok(n) => n,
            Err(_) => return Err(CodecError::InvalidPacket),
        };
        if per_channel == 0 || per_channel > MAX_SAMPLES_PER_CHANNEL {
            return Err(CodecError::InvalidPacket);
        }
        let needed = per_channel * self.channels.count();
        if out.len() < needed {
            return Err(CodecError::BufferTooSmall {
                needed,
                got: out.len(),
            });
        }
        match self.inner.decode_float(packet, &mut out[..needed], false) {
            Ok(n) => Ok(n),
            Err(e) => match e.code() {
                opus::ErrorCode::InvalidPacket | opus::ErrorCode::BadArg => {
                    Err(CodecError::InvalidPacket)
                }
                _ => Err(e.into()),
            },
        }
    }

    /// Fills `out` (interleaved) with packet-loss concealment for a frame that never arrived,
    /// returning samples per channel written. The length per channel must be a positive
    /// multiple of 120 samples (2.5 ms) and at most 5760 (120 ms), as libopus requires.
    pub fn conceal(&mut self, out: &mut [f32]) -> Result<usize, CodecError> {
        let channels = self.channels.count();
        let granule = PLC_GRANULE * channels;
        let max = MAX_SAMPLES_PER_CHANNEL * channels;
        if out.is_empty() || !out.len().is_multiple_of(granule) || out.len() > max {
            let expected = (out.len() / granule * granule).clamp(granule, max);
            return Err(CodecError::WrongFrameLength {
                expected,
                got: out.len(),
            });
        }
        Ok(self.inner.decode_float(&[], out, false)?)
    }

    /// Returns the decoder to its initial state, e.g. when the remote stream restarts, so stale
    /// history does not colour the new stream.
    pub fn reset(&mut self) -> Result<(), CodecError> {
        Ok(self.inner.reset_state()?)
    }

    /// The output channel layout, to size `out` buffers.
    pub fn channels(&self) -> Channels {
        self.channels
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::f32::consts::TAU;

    const ALL_FRAMES: [FrameDuration; 4] = [
        FrameDuration::Ms2_5,
        FrameDuration::Ms5,
        FrameDuration::Ms10,
        FrameDuration::Ms20,
    ];

    /// Interleaved sine at `freq`, same signal on every channel.
    fn sine(freq: f32, amplitude: f32, frames: usize, channels: usize) -> Vec<f32> {
        (0..frames)
            .flat_map(|i| {
                let s = amplitude * (TAU * freq * i as f32 / SAMPLE_RATE as f32).sin();
                std::iter::repeat_n(s, channels)
            })
            .collect()
    }

    fn channel(interleaved: &[f32], channels: usize, ch: usize) -> Vec<f32> {
        interleaved
            .iter()
            .skip(ch)
            .step_by(channels)
            .copied()
            .collect()
    }

    fn correlation(a: &[f32], b: &[f32]) -> f64 {
        let (mut ab, mut aa, mut bb) = (0.0_f64, 0.0_f64, 0.0_f64);
        for (&x, &y) in a.iter().zip(b) {
            ab += f64::from(x) * f64::from(y);
            aa += f64::from(x) * f64::from(x);
            bb += f64::from(y) * f64::from(y);
        }
        ab / (aa.sqrt() * bb.sqrt())
    }

    /// Goertzel power of `signal` at `freq` Hz.
    fn goertzel(signal: &[f32], freq: f64) -> f64 {
        let coeff = 2.0 * (std::f64::consts::TAU * freq / f64::from(SAMPLE_RATE)).cos();
        let (mut s1, mut s2) = (0.0_f64, 0.0_f64);
        for &x in signal {
            let s0 = f64::from(x) + coeff * s1 - s2;
            s2 = s1;
            s1 = s0;
        }
        s1 * s1 + s2 * s2 - coeff * s1 * s2
    }

    /// Encodes and decodes `input` frame by frame, returning the decoded signal.
    fn round_trip(encoder: &mut Encoder, decoder: &mut Decoder, input: &[f32]) -> Vec<f32> {
        let frame_len =
            encoder.config().frame.samples_per_channel() * encoder.config().channels.count();
        let mut output = vec![0.0; input.len()];
        let mut packet = [0_u8; MAX_PACKET_BYTES];
        for (pcm, out) in input
            .chunks_exact(frame_len)
            .zip(output.chunks_exact_mut(frame_len))
        {
            let len = encoder.encode(pcm, &mut packet).expect("encode");
            let n = decoder.decode(&packet[..len], out).expect("decode");
            assert_eq!(n * encoder.config().channels.count(), frame_len);
        }
        output
    }

    #[test]
    fn sine_round_trip_every_frame_and_layout() {
        for frame in ALL_FRAMES {
            for channels in [Channels::Mono, Channels::Stereo] {
                let config = EncoderConfig {
                    channels,
                    frame,
                    ..EncoderConfig::default()
                };
                let mut encoder = Encoder::new(config).expect("encoder");
                let mut decoder = Decoder::new(channels).expect("decoder");
                assert_eq!(encoder.lookahead_samples(), 120);
                let n = channels.count();
                let frames = SAMPLE_RATE as usize / 2; // 0.5 s, a whole number of every frame
                let input = sine(440.0, 0.5, frames, n);
                let output = round_trip(&mut encoder, &mut decoder, &input);
                let delay = encoder.lookahead_samples();
                // Skip the first 50 ms while the codec settles.
                let skip = 2400;
                for ch in 0..n {
                    let x = channel(&input, n, ch);
                    let y = channel(&output, n, ch);
                    let corr = correlation(&x[skip..frames - delay], &y[skip + delay..]);
                    assert!(
                        corr > 0.9,
                        "{frame:?} {channels:?} ch{ch}: correlation {corr}"
                    );
                    let tail = &y[skip..];
                    let p440 = goertzel(tail, 440.0);
                    for other in [220.0, 330.0, 550.0, 660.0, 880.0, 1320.0] {
                        let p = goertzel(tail, other);
                        assert!(
                            p440 > 100.0 * p,
                            "{frame:?} {channels:?}: {other} Hz too strong"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn audio_application_has_longer_lookahead_and_still_round_trips() {
        let config = EncoderConfig {
            application: Application::Audio,
            frame: FrameDuration::Ms10,
            ..EncoderConfig::default()
        };
        let mut encoder = Encoder::new(config).expect("encoder");
        let mut decoder = Decoder::new(config.channels).expect("decoder");
        let delay = encoder.lookahead_samples();
        assert!(delay > 120, "lookahead {delay}");
        let frames = 24_000;
        let input = sine(440.0, 0.5, frames, 2);
        let output = round_trip(&mut encoder, &mut decoder, &input);
        let x = channel(&input, 2, 0);
        let y = channel(&output, 2, 0);
        let corr = correlation(&x[2400..frames - delay], &y[2400 + delay..]);
        assert!(corr > 0.9, "correlation {corr}");
    }

    #[test]
    fn plc_output_is_finite_and_bounded() {
        let config = EncoderConfig::default();
        let mut encoder = Encoder::new(config).expect("encoder");
        let mut decoder = Decoder::new(config.channels).expect("decoder");
        let input = sine(440.0, 0.8, 4800, 2);
        round_trip(&mut encoder, &mut decoder, &input);
        for len in [240, 480, 960, 1920] {
            let mut out = vec![f32::NAN; len];
            for _ in 0..20 {
                assert_eq!(decoder.conceal(&mut out).expect("conceal"), len / 2);
                assert!(out.iter().all(|s| s.is_finite() && s.abs() <= 2.0));
            }
        }
        // A fresh decoder with no history conceals silence-ish output too.
        let mut fresh = Decoder::new(Channels::Mono).expect("decoder");
        let mut out = [f32::NAN; 120];
        assert_eq!(fresh.conceal(&mut out), Ok(120));
        assert!(out.iter().all(|s| s.is_finite() && s.abs() <= 2.0));
    }

    #[test]
    fn conceal_rejects_lengths_not_multiple_of_2_5_ms() {
        let mut decoder = Decoder::new(Channels::Stereo).expect("decoder");
        for len in [0, 1, 120, 239, 241, 2 * 5760 + 240] {
            let mut out = vec![0.0; len];
            assert!(
                matches!(decoder.conceal(&mut out), Err(CodecError::WrongFrameLength { got, .. }) if got == len),
                "len {len}"
            );
        }
    }

    #[test]
    fn malformed_packets_are_errors() {
        let mut decoder = Decoder::new(Channels::Stereo).expect("decoder");
        let mut out = [0.0_f32; 2 * 5760];
        assert_eq!(
            decoder.decode(&[], &mut out),
            Err(CodecError::InvalidPacket)
        );
        // Code 3 (arbitrary frame count) TOC with no count byte: truncated.
        assert_eq!(
            decoder.decode(&[0x03], &mut out),
            Err(CodecError::InvalidPacket)
        );
        // Code 3 with zero frames.
        assert_eq!(
            decoder.decode(&[0x03, 0x00], &mut out),
            Err(CodecError::InvalidPacket)
        );
        // A single-frame packet whose frame (after the TOC byte) exceeds 1275 bytes.
        let mut big = vec![0xAB_u8; MAX_PACKET_BYTES + 2];
        big[0] = 0xF8; // CELT FB 20 ms, code 0
        assert_eq!(
            decoder.decode(&big, &mut out),
            Err(CodecError::InvalidPacket)
        );
        // Code 1 (two equal-size frames) needs an even length after the TOC byte: make it odd.
        let mut encoder = Encoder::new(EncoderConfig::default()).expect("encoder");
        let mut packet = [0_u8; MAX_PACKET_BYTES];
        let len = encoder.encode(&[0.1; 240], &mut packet).expect("encode");
        assert!(len > 2);
        packet[0] = (packet[0] & !0x03) | 0x01;
        let even_total = if len.is_multiple_of(2) { len } else { len - 1 };
        assert_eq!(
            decoder.decode(&packet[..even_total], &mut out),
            Err(CodecError::InvalidPacket)
        );
    }

    #[test]
    fn decode_checks_output_size() {
        let mut encoder = Encoder::new(EncoderConfig {
            frame: FrameDuration::Ms10,
            ..EncoderConfig::default()
        })
        .expect("encoder");
        let mut decoder = Decoder::new(Channels::Stereo).expect("decoder");
        let mut packet = [0_u8; MAX_PACKET_BYTES];
        let len = encoder.encode(&[0.0; 960], &mut packet).expect("encode");
        let mut out = [0.0_f32; 959];
        assert_eq!(
            decoder.decode(&packet[..len], &mut out),
            Err(CodecError::BufferTooSmall {
                needed: 960,
                got: 959
            })
        );
        let mut out = [0.0_f32; 2000];
        assert_eq!(decoder.decode(&packet[..len], &mut out), Ok(480));
    }

    #[test]
    fn encode_checks_lengths_and_config() {
        let mut encoder = Encoder::new(EncoderConfig::default()).expect("encoder");
        let mut packet = [0_u8; MAX_PACKET_BYTES];
        assert_eq!(
            encoder.encode(&[0.0; 120], &mut packet),
            Err(CodecError::WrongFrameLength {
                expected: 240,
                got: 120
            })
        );
        for tiny in 0..3 {
            assert_eq!(
                encoder.encode(&[0.0; 240], &mut packet[..tiny]),
                Err(CodecError::BufferTooSmall {
                    needed: 3,
                    got: tiny
                })
            );
        }
        // A small buffer caps the packet size rather than failing.
        assert_eq!(encoder.encode(&[0.1; 240], &mut packet[..3]), Ok(3));
        for bad in [
            EncoderConfig {
                bitrate_bps: 5_999,
                ..EncoderConfig::default()
            },
            EncoderConfig {
                bitrate_bps: 510_001,
                ..EncoderConfig::default()
            },
            EncoderConfig {
                complexity: 11,
                ..EncoderConfig::default()
            },
        ] {
            assert!(matches!(
                Encoder::new(bad),
                Err(CodecError::InvalidConfig(_))
            ));
        }
        assert!(matches!(
            encoder.set_bitrate(1),
            Err(CodecError::InvalidConfig(_))
        ));
        assert!(matches!(
            encoder.set_complexity(11),
            Err(CodecError::InvalidConfig(_))
        ));
        assert_eq!(encoder.config().bitrate_bps, 128_000);
    }

    /// Mean packet size over 0.5 s of a music-like signal.
    fn mean_packet_len(encoder: &mut Encoder) -> f64 {
        let n = encoder.config().channels.count();
        let frame_len = encoder.config().frame.samples_per_channel() * n;
        let a = sine(440.0, 0.3, 24_000, n);
        let b = sine(1234.5, 0.2, 24_000, n);
        let input: Vec<f32> = a.iter().zip(&b).map(|(x, y)| x + y).collect();
        let mut packet = [0_u8; MAX_PACKET_BYTES];
        let mut total = 0;
        let mut count = 0;
        for pcm in input.chunks_exact(frame_len) {
            total += encoder.encode(pcm, &mut packet).expect("encode");
            count += 1;
        }
        total as f64 / f64::from(count)
    }

    #[test]
    fn runtime_setters_take_effect() {
        let mut encoder = Encoder::new(EncoderConfig::default()).expect("encoder");
        let high = mean_packet_len(&mut encoder);
        encoder.set_bitrate(32_000).expect("bitrate");
        let low = mean_packet_len(&mut encoder);
        assert!(low < high * 0.5, "32 kbit/s {low} B vs 128 kbit/s {high} B");
        assert_eq!(encoder.config().bitrate_bps, 32_000);

        encoder.set_vbr(false).expect("vbr");
        encoder.set_bitrate(64_000).expect("bitrate");
        // CBR: every 2.5 ms packet is 64 000 / 8 / 400 = 20 bytes.
        let mut packet = [0_u8; MAX_PACKET_BYTES];
        let pcm = sine(440.0, 0.5, 120, 2);
        for _ in 0..10 {
            assert_eq!(encoder.encode(&pcm, &mut packet), Ok(20));
        }
        assert!(!encoder.config().vbr);

        encoder.set_complexity(0).expect("complexity");
        assert_eq!(encoder.config().complexity, 0);
        assert!(encoder.encode(&pcm, &mut packet).is_ok());
    }

    #[test]
    fn dtx_on_silence_yields_tiny_packets() {
        let mut encoder = Encoder::new(EncoderConfig {
            dtx: true,
            ..EncoderConfig::default()
        })
        .expect("encoder");
        let mut decoder = Decoder::new(Channels::Stereo).expect("decoder");
        let silence = [0.0_f32; 240];
        let mut packet = [0_u8; MAX_PACKET_BYTES];
        let mut out = [0.0_f32; 240];
        let mut tiny = 0;
        for _ in 0..400 {
            let len = encoder.encode(&silence, &mut packet).expect("encode");
            if len <= 2 {
                tiny += 1;
            }
            // Whatever DTX emits must still decode.
            if len > 0 {
                decoder.decode(&packet[..len], &mut out).expect("decode");
            }
        }
        assert!(tiny > 300, "only {tiny}/400 tiny packets");

        encoder.set_dtx(false).expect("dtx");
        let len = encoder
            .encode(&sine(440.0, 0.5, 120, 2), &mut packet)
            .expect("encode");
        assert!(len > 2);
    }

    #[test]
    fn frame_duration_helpers() {
        for frame in ALL_FRAMES {
            assert_eq!(
                FrameDuration::from_samples(frame.samples_per_channel()),
                Some(frame)
            );
            assert_eq!(
                frame.as_duration().as_secs_f64() * f64::from(SAMPLE_RATE),
                frame.samples_per_channel() as f64
            );
        }
        assert_eq!(FrameDuration::from_samples(100), None);
        assert_eq!(
            FrameDuration::default().as_duration(),
            Duration::from_micros(2500)
        );
        assert_eq!(Channels::Mono.count(), 1);
        assert_eq!(Channels::Stereo.count(), 2);
    }

    #[test]
    fn reset_keeps_decoder_usable() {
        let mut decoder = Decoder::new(Channels::Mono).expect("decoder");
        let mut encoder = Encoder::new(EncoderConfig {
            channels: Channels::Mono,
            ..EncoderConfig::default()
        })
        .expect("encoder");
        let mut packet = [0_u8; MAX_PACKET_BYTES];
        let mut out = [0.0_f32; 120];
        let len = encoder.encode(&[0.2; 120], &mut packet).expect("encode");
        decoder.reset().expect("reset");
        assert_eq!(decoder.decode(&packet[..len], &mut out), Ok(120));
        assert_eq!(decoder.channels(), Channels::Mono);
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_decode(
            bytes in proptest::collection::vec(any::<u8>(), 0..2000),
            stereo in any::<bool>(),
            out_len in 0_usize..12_000,
        ) {
            let channels = if stereo { Channels::Stereo } else { Channels::Mono };
            let mut decoder = Decoder::new(channels).expect("decoder");
            let mut out = vec![0.0_f32; out_len];
            if let Ok(n) = decoder.decode(&bytes, &mut out) {
                prop_assert!(n * channels.count() <= out_len);
                prop_assert!(out[..n * channels.count()].iter().all(|s| s.is_finite()));
            }
            let mut plc = vec![0.0_f32; 120 * channels.count()];
            prop_assert!(decoder.conceal(&mut plc).is_ok());
        }
    }
}

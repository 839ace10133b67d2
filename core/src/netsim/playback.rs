//! Plays a packet trace through a real [`Playout`] in virtual time: the receiver half of a
//! two-peer harness, shared by the integration tests and the jitter-buffer evaluation.
//!
//! Arrivals are pushed at their receiver-clock times and the host asks for audio in fixed blocks
//! on the receiver's clock, exactly as an audio callback would; nothing waits for real time.

use std::time::{Duration, Instant};

use super::trace::Trace;
use crate::codec::FrameDuration;
use crate::jitter::{DelayPolicy, Pop};
use crate::playout::{Playout, Render};
use crate::redundancy::RedundancyEncoder;

/// RTP payload type used for the RED wrapper in simulations.
const PAYLOAD_TYPE: u8 = 111;

/// A frame's payload in simulations: its number, so a [`FrameLog`] can tell which frame played.
pub fn numbered_frame(frame: u64) -> [u8; 8] {
    frame.to_le_bytes()
}

/// RTP payloads for frames `0..count` whose encoded bytes come from `frame`, wrapped in RFC 2198
/// redundancy of `depth` (`None` sends plain frames).
pub fn packetize(
    count: u64,
    frame_duration: FrameDuration,
    depth: Option<usize>,
    mut frame: impl FnMut(u64) -> Vec<u8>,
) -> Vec<Vec<u8>> {
    let samples = frame_duration.samples_per_channel() as u64;
    let mut red = depth.and_then(|d| RedundancyEncoder::new(PAYLOAD_TYPE, d).ok());
    (0..count)
        .map(|k| {
            let bytes = frame(k);
            match red.as_mut() {
                Some(red) => {
                    let mut out = vec![0u8; 4 * bytes.len().max(1275) + 16];
                    let ts = (k * samples) as u32;
                    let len = red.packetize(ts, &bytes, &mut out).unwrap_or(0);
                    out.truncate(len);
                    out
                }
                None => bytes,
            }
        })
        .collect()
}

/// A [`Render`] that decodes nothing and records what was played and when (for frames made by
/// [`numbered_frame`]).
#[derive(Debug, Default)]
pub struct FrameLog {
    /// `(frame number, local time it was pulled for playout, recovered from redundancy)`.
    pub played: Vec<(u64, Instant, bool)>,
    /// Concealed frames after playback started.
    pub concealed: u64,
    /// Silent frames after playback started (DTX).
    pub silent: u64,
    /// Silent frames before the first frame played.
    pub warmup: u64,
}

impl Render for FrameLog {
    fn channels(&self) -> usize {
        1
    }

    fn render(&mut self, pulled: Instant, pop: Pop<'_>, out: &mut [f32]) {
        out.fill(0.0);
        match pop {
            Pop::Frame { data, recovered } => {
                let number = data.try_into().map_or(u64::MAX, u64::from_le_bytes);
                self.played.push((number, pulled, recovered));
            }
            Pop::Conceal => self.concealed += 1,
            Pop::Silence if self.played.is_empty() => self.warmup += 1,
            Pop::Silence => self.silent += 1,
        }
    }
}

/// A trace to play through a [`Playout`]: receiver-clock arrival times from `trace`, with
/// `payloads[seq]` as each packet's payload.
#[derive(Debug, Clone, Copy)]
pub struct Playback<'a> {
    /// Arrival times (receiver clock) per packet sequence number.
    pub trace: &'a Trace,
    /// RTP payload of each packet, indexed by sequence number.
    pub payloads: &'a [Vec<u8>],
    /// Codec frame duration (sets the RTP timestamp step).
    pub frame: FrameDuration,
    /// Frames per host callback.
    pub host_block: usize,
    /// Receiver-clock time at which to stop.
    pub until: Duration,
    /// The [`Instant`] that trace time zero maps to.
    pub epoch: Instant,
}

impl Playback<'_> {
    /// Pushes each arrival when due and pops one host block at a time; each output block goes to
    /// `on_block`.
    pub fn run<R: Render, P: DelayPolicy>(
        &self,
        playout: &mut Playout<R, P>,
        mut on_block: impl FnMut(&[f32]),
    ) {
        let samples = self.frame.samples_per_channel() as u64;
        let mut arrivals: Vec<(Duration, u64)> = self
            .trace
            .records
            .iter()
            .filter_map(|r| r.recv.map(|t| (t, r.seq)))
            .collect();
        arrivals.sort_unstable();
        let channels = playout.render().channels();
        let mut block = vec![0.0f32; self.host_block.max(1) * channels];
        let mut next = 0;
        for j in 0u64.. {
            // Exact block start on the receiver's clock (no accumulated rounding over an hour).
            let nanos = u128::from(j) * self.host_block as u128 * 1_000_000_000 / 48_000;
            let now = Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX));
            if now >= self.until {
                break;
            }
            while let Some(&(at, seq)) = arrivals.get(next)
                && at <= now
            {
                let payload = self
                    .payloads
                    .get(seq as usize)
                    .map_or(&[][..], Vec::as_slice);
                playout.push(self.epoch + at, seq as u16, (seq * samples) as u32, payload);
                next += 1;
            }
            playout.pop(self.epoch + now, &mut block);
            on_block(&block);
        }
    }
}

//! Statistics and latency terms, published by the audio thread without locks.
//!
//! Each peer slot has a sequence-locked cell of words: the audio thread (the only writer) makes
//! the sequence odd, stores the words and makes it even again — never waiting; a reader retries
//! until it sees the same even sequence before and after, so it never gets a torn snapshot.

use std::sync::atomic::{AtomicU64, Ordering, fence};
use std::time::Duration;

use crate::jitter::JitterStats;

/// Statistics of one remote peer's stream.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PeerStats {
    /// The jitter buffer's counters and gauges (delay, target, loss, concealment, clock skew).
    pub jitter: JitterStats,
    /// Frames that arrived but failed to decode (concealed instead).
    pub decode_errors: u64,
    /// Packets dropped because the audio thread did not drain its ring in time.
    pub ring_overflows: u64,
    /// Packets larger than [`super::MAX_RTP_PAYLOAD`], refused.
    pub oversized: u64,
}

impl PeerStats {
    /// Share of played frames that were concealed (0..=1).
    pub fn concealed_ratio(&self) -> f64 {
        let j = &self.jitter;
        let played = j.frames_decoded + j.frames_recovered + j.frames_concealed;
        if played == 0 {
            0.0
        } else {
            j.frames_concealed as f64 / played as f64
        }
    }

    /// Time the stream waits in the jitter buffer above the fastest network path.
    pub fn buffer_delay(&self) -> Duration {
        self.jitter.current_delay
    }
}

/// The terms of estimated one-way mouth-to-ear latency, each reported separately.
///
/// Sender terms (`capture_block`, `codec_frame`, `lookahead`) are this engine's own; for a remote
/// peer's stream they are that peer's, which the session learns from it (with identical settings
/// on both sides they are equal).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LatencyTerms {
    /// One host block of capture (the host's input buffer).
    pub capture_block: Duration,
    /// The codec frame being filled before it can be encoded.
    pub codec_frame: Duration,
    /// The encoder's lookahead (2.5 ms in restricted low delay).
    pub lookahead: Duration,
    /// Network one way (half the round trip from clock sync); `None` until the session sets it.
    pub network_one_way: Option<Duration>,
    /// Jitter-buffer delay above the fastest path.
    pub buffer: Duration,
    /// Host-rate conversion to and from 48 kHz (zero at 48 kHz).
    pub resampling: Duration,
    /// One host block of playback (the host's output buffer).
    pub playback_block: Duration,
}

impl LatencyTerms {
    /// The sum of all terms (an unknown network term counts as zero).
    pub fn total(&self) -> Duration {
        self.capture_block
            + self.codec_frame
            + self.lookahead
            + self.network_one_way.unwrap_or_default()
            + self.buffer
            + self.resampling
            + self.playback_block
    }
}

/// Words in a peer's statistics cell: generation, then the statistics.
pub(crate) const STATS_WORDS: usize = 17;

/// A sequence-locked snapshot of `N` words; one writer, any number of readers.
pub(crate) struct SeqCell<const N: usize> {
    seq: AtomicU64,
    words: [AtomicU64; N],
}

impl<const N: usize> SeqCell<N> {
    pub(crate) fn new() -> Self {
        Self {
            seq: AtomicU64::new(0),
            words: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }

    /// Publishes `values`. Wait-free; only one thread may write.
    pub(crate) fn write(&self, values: &[u64; N]) {
        let s = self.seq.load(Ordering::Relaxed);
        self.seq.store(s.wrapping_add(1), Ordering::Relaxed);
        fence(Ordering::Release);
        for (word, &value) in self.words.iter().zip(values) {
            word.store(value, Ordering::Relaxed);
        }
        self.seq.store(s.wrapping_add(2), Ordering::Release);
    }

    /// A consistent snapshot, or `None` if the writer kept it busy through every retry.
    pub(crate) fn read(&self) -> Option<[u64; N]> {
        for attempt in 0..10_000 {
            let before = self.seq.load(Ordering::Acquire);
            if before & 1 == 0 {
                let values = std::array::from_fn(|i| self.words[i].load(Ordering::Relaxed));
                fence(Ordering::Acquire);
                if self.seq.load(Ordering::Relaxed) == before {
                    return Some(values);
                }
            }
            if attempt % 64 == 63 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
        None
    }
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

/// The words the audio thread publishes for one peer.
pub(crate) fn encode(
    generation: u32,
    jitter: &JitterStats,
    decode_errors: u64,
) -> [u64; STATS_WORDS] {
    [
        u64::from(generation),
        nanos(jitter.current_delay),
        nanos(jitter.target_delay),
        nanos(jitter.buffered),
        jitter.frames_decoded,
        jitter.frames_recovered,
        jitter.frames_concealed,
        jitter.frames_silent,
        jitter.late,
        jitter.dropped,
        jitter.duplicates,
        jitter.malformed,
        jitter.restarts,
        jitter.packets_received,
        jitter.sender_clock_ppm.to_bits(),
        jitter.playout_rate.to_bits(),
        decode_errors,
    ]
}

/// The generation and statistics in a snapshot.
pub(crate) fn decode(w: &[u64; STATS_WORDS]) -> (u32, PeerStats) {
    let jitter = JitterStats {
        current_delay: Duration::from_nanos(w[1]),
        target_delay: Duration::from_nanos(w[2]),
        buffered: Duration::from_nanos(w[3]),
        frames_decoded: w[4],
        frames_recovered: w[5],
        frames_concealed: w[6],
        frames_silent: w[7],
        late: w[8],
        dropped: w[9],
        duplicates: w[10],
        malformed: w[11],
        restarts: w[12],
        packets_received: w[13],
        sender_clock_ppm: f64::from_bits(w[14]),
        playout_rate: f64::from_bits(w[15]),
    };
    let stats = PeerStats {
        jitter,
        decode_errors: w[16],
        ..PeerStats::default()
    };
    ((w[0] & u64::from(u32::MAX)) as u32, stats)
}

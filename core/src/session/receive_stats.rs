//! Per-peer receive statistics from RTP headers and arrival times (sans-IO): packets received
//! and lost (RFC 3550 §6.4.1 / A.3: expected from the extended sequence range) and the
//! interarrival jitter (RFC 3550 §6.4.1 / A.8: the smoothed difference of transit times).
//!
//! The jitter buffer reports what it did with the frames (concealed, late, buffer delay); this
//! reports what the network did to the packets, which is what a musician compares with other
//! tools.

use std::time::{Duration, Instant};

use crate::wraparound::SeqUnwrapper;

/// RTP clock of our Opus streams.
const CLOCK_RATE: f64 = 48_000.0;

/// Loss and jitter of one received stream. See the [module docs](self).
#[derive(Debug, Clone, Default)]
pub struct ReceiveStats {
    seq: SeqUnwrapper,
    first_seq: Option<i64>,
    highest_seq: i64,
    received: u64,
    /// Reference for transit times: the first packet's arrival.
    epoch: Option<Instant>,
    last_transit: Option<f64>,
    /// RFC 3550 jitter estimate, in RTP timestamp units.
    jitter: f64,
}

/// A snapshot of [`ReceiveStats`].
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct ReceiveSnapshot {
    /// Packets received (duplicates included, as in RFC 3550).
    pub received: u64,
    /// Packets expected from the sequence range seen so far.
    pub expected: u64,
    /// Expected minus received, at least 0.
    pub lost: u64,
    /// `lost / expected` (0 before any packet).
    pub loss: f64,
    /// Interarrival jitter.
    pub jitter: Duration,
}

impl ReceiveStats {
    /// Counts one packet that arrived at `arrival` with RTP `sequence` and `timestamp`.
    pub fn on_packet(&mut self, arrival: Instant, sequence: u16, timestamp: u32) {
        let seq = self.seq.unwrap(u32::from(sequence));
        match self.first_seq {
            None => {
                self.first_seq = Some(seq);
                self.highest_seq = seq;
            }
            Some(first) => {
                self.highest_seq = self.highest_seq.max(seq);
                // A packet from before the first one seen extends the range backwards.
                if seq < first {
                    self.first_seq = Some(seq);
                }
            }
        }
        self.received += 1;
        let epoch = *self.epoch.get_or_insert(arrival);
        let arrival_units = arrival.saturating_duration_since(epoch).as_secs_f64() * CLOCK_RATE;
        // Timestamps wrap only every 25 h; the transit difference below is taken modulo 2^32.
        let transit = arrival_units - f64::from(timestamp);
        if let Some(last) = self.last_transit {
            let mut d = (transit - last).abs();
            // Around a timestamp wrap the difference is off by 2^32: fold it back.
            let wrap = f64::from(u32::MAX) + 1.0;
            if d > wrap / 2.0 {
                d = (d - wrap).abs();
            }
            self.jitter += (d - self.jitter) / 16.0;
        }
        self.last_transit = Some(transit);
    }

    /// The counters and the jitter now.
    pub fn snapshot(&self) -> ReceiveSnapshot {
        let expected = self
            .first_seq
            .map_or(0, |first| (self.highest_seq - first + 1).max(0) as u64);
        let lost = expected.saturating_sub(self.received);
        ReceiveSnapshot {
            received: self.received,
            expected,
            lost,
            loss: if expected == 0 {
                0.0
            } else {
                lost as f64 / expected as f64
            },
            jitter: Duration::from_secs_f64(self.jitter / CLOCK_RATE),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const FRAME: Duration = Duration::from_micros(2500);

    #[test]
    fn counts_loss_across_the_sequence_wrap() {
        let start = Instant::now();
        let mut stats = ReceiveStats::default();
        // 100 packets from sequence 65500 (wrapping), every 10th lost.
        for i in 0u32..100 {
            if i % 10 == 3 {
                continue;
            }
            let seq = (65_500 + i) as u16;
            stats.on_packet(start + FRAME * i, seq, 120 * i);
        }
        let s = stats.snapshot();
        assert_eq!((s.expected, s.received, s.lost), (100, 90, 10));
        assert!((s.loss - 0.1).abs() < 1e-9);
        assert_eq!(
            s.jitter,
            Duration::ZERO,
            "perfectly paced packets have no jitter"
        );
    }

    #[test]
    fn jitter_follows_rfc3550_for_alternating_delay() {
        let start = Instant::now();
        let mut stats = ReceiveStats::default();
        // Transit alternates between 0 and 1 ms: |D| = 1 ms each time, so J converges to 1 ms.
        for i in 0u32..2000 {
            let extra = if i % 2 == 0 {
                Duration::ZERO
            } else {
                Duration::from_millis(1)
            };
            stats.on_packet(start + FRAME * i + extra, i as u16, 120 * i);
        }
        let j = stats.snapshot().jitter.as_secs_f64() * 1e3;
        assert!((j - 1.0).abs() < 0.01, "jitter {j} ms");
    }
}

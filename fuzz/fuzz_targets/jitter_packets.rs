//! Arbitrary bytes as a sequence of operations on a `JitterBuffer`: pushes of arbitrary packets
//! (raw bytes or well-formed RED wrapping them) at arbitrary times, and pops. Nothing may panic,
//! and the statistics must stay consistent.
//!
//! Run with: `cargo +nightly fuzz run jitter_packets`
//!
//! Input layout (a hand decoder, so the format is stable and a crash input can be pasted into a
//! unit test as bytes):
//! - byte 0: configuration — bit 0 payload format (Plain/Redundant), bits 1–2 capacity
//!   (4, 8, 32, 256), bits 3–4 frame duration (2.5, 5, 10, 20 ms).
//! - then operations, each starting with an op byte:
//!   - bit 0 = 0, **push**: `delta: u16` (µs the clock advances), `seq: u16`, `ts: u32`
//!     (little endian), `len: u8` (payload length, ≤ 64), then `len` bytes. Op bits 1–2 choose
//!     how the payload is built: 0 raw bytes; 1 the bytes as a frame wrapped in RED by a running
//!     `RedundancyEncoder` of depth 2 (well-formed, so the redundant paths are reached); 2 raw
//!     bytes stamped `delta` µs *before* the clock, which does not advance (out-of-order
//!     stamping across threads); 3 raw bytes again.
//!   - bit 0 = 1, **pop**: `delta: u16`, advancing the clock by `delta` µs, or by `delta` ms
//!     when op bit 1 is set (so the minute-scale skew and policy memory are reached).

#![no_main]

use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use tutti_core::codec::FrameDuration;
use tutti_core::jitter::{JitterBuffer, JitterConfig, JitterStats, PayloadFormat, Pop};
use tutti_core::redundancy::RedundancyEncoder;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn take<const N: usize>(&mut self) -> Option<[u8; N]> {
        let (head, rest) = self.0.split_first_chunk::<N>()?;
        self.0 = rest;
        Some(*head)
    }
    fn slice(&mut self, n: usize) -> &[u8] {
        let (head, rest) = self.0.split_at(n.min(self.0.len()));
        self.0 = rest;
        head
    }
}

fn counters(s: &JitterStats) -> [u64; 10] {
    [
        s.frames_decoded,
        s.frames_recovered,
        s.frames_concealed,
        s.frames_silent,
        s.late,
        s.dropped,
        s.duplicates,
        s.malformed,
        s.restarts,
        s.packets_received,
    ]
}

fuzz_target!(|data: &[u8]| {
    let mut input = Bytes(data);
    let Some([config]) = input.take::<1>() else {
        return;
    };
    let payload = if config & 1 == 0 {
        PayloadFormat::Plain
    } else {
        PayloadFormat::Redundant
    };
    let capacity = [4, 8, 32, 256][usize::from((config >> 1) & 3)];
    let frame = [
        FrameDuration::Ms2_5,
        FrameDuration::Ms5,
        FrameDuration::Ms10,
        FrameDuration::Ms20,
    ][usize::from((config >> 3) & 3)];
    let mut jb = JitterBuffer::new(JitterConfig {
        frame,
        capacity,
        payload,
        ..JitterConfig::default()
    });
    let Ok(mut red) = RedundancyEncoder::new(111, 2) else {
        return;
    };
    let mut wrapped = [0_u8; 4 * 64 + 16];

    // Far from the process's start so that stamping "before the clock" never underflows.
    let start = Instant::now() + Duration::from_secs(3600);
    let mut clock = start;
    let (mut pushes, mut pops) = (0_u64, 0_u64);
    let mut before = counters(&jb.stats());

    while let Some([op]) = input.take::<1>() {
        if op & 1 == 0 {
            let (Some(delta), Some(seq), Some(ts), Some([len])) = (
                input.take::<2>(),
                input.take::<2>(),
                input.take::<4>(),
                input.take::<1>(),
            ) else {
                break;
            };
            let delta = Duration::from_micros(u64::from(u16::from_le_bytes(delta)));
            let (seq, ts) = (u16::from_le_bytes(seq), u32::from_le_bytes(ts));
            let bytes = input.slice(usize::from(len % 65));
            let mode = (op >> 1) & 3;
            let arrival = if mode == 2 {
                // Stamped before the clock (and possibly before the buffer's first instant).
                clock - delta
            } else {
                clock += delta;
                clock
            };
            let packet: &[u8] = match mode {
                1 => match red.packetize(ts, bytes, &mut wrapped) {
                    Ok(n) => &wrapped[..n],
                    Err(_) => bytes,
                },
                _ => bytes,
            };
            jb.push(arrival, seq, ts, packet);
            pushes += 1;
        } else {
            let Some(delta) = input.take::<2>() else {
                break;
            };
            let delta = u64::from(u16::from_le_bytes(delta));
            clock += if op & 2 == 0 {
                Duration::from_micros(delta)
            } else {
                Duration::from_millis(delta)
            };
            match jb.pop(clock) {
                Pop::Frame { data, .. } => {
                    assert!(
                        !data.is_empty() && data.len() <= 1275,
                        "{} bytes",
                        data.len()
                    );
                }
                Pop::Conceal | Pop::Silence => {}
            }
            pops += 1;
        }

        let stats = jb.stats();
        let now = counters(&stats);
        for (i, (b, n)) in before.iter().zip(&now).enumerate() {
            assert!(n >= b, "counter {i} went from {b} to {n}");
        }
        before = now;
        assert_eq!(stats.packets_received, pushes);
        assert_eq!(
            stats.frames_decoded
                + stats.frames_recovered
                + stats.frames_concealed
                + stats.frames_silent,
            pops,
            "every pop yields exactly one frame, concealment or silence"
        );
        let rate = jb.playout_rate();
        assert!(
            rate.is_finite() && (0.97..=1.03).contains(&rate),
            "rate {rate}"
        );
        assert!(stats.sender_clock_ppm.is_finite());
    }
});

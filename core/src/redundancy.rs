//! RFC 2198 redundant audio framing ("RED"): each packet repeats the previous 1–2 encoded
//! frames, so a single lost packet costs nothing audible.
//!
//! Opus in-band FEC is only produced in SILK/hybrid modes, and at the ≤ 5 ms CELT frames that
//! jamming needs it carries nothing; repeating whole frames is the loss protection that works.
//! The wire format is exactly RFC 2198 — what Chrome's `audio/red` for Opus sends — so browser
//! peers interoperate:
//!
//! ```text
//! redundant block header (4 bytes, F=1):  |1| PT (7) | timestamp offset (14) | length (10) |
//! primary block header   (1 byte,  F=0):  |0| PT (7) |
//! then the block data in header order: redundant blocks oldest first, primary last.
//! ```
//!
//! # Run loop
//! Sans-IO and allocation-free after construction: the sender calls
//! [`RedundancyEncoder::packetize`] once per encoded frame with the frame's RTP timestamp and a
//! buffer it owns; the receiver calls [`parse`] on each RTP payload and feeds the blocks (by
//! timestamp) to its jitter buffer, which drops the duplicates.
//!
//! ```
//! use tutti_core::redundancy::{parse, RedundancyEncoder};
//!
//! let mut red = RedundancyEncoder::new(111, 2)?;
//! let mut payload = [0_u8; 1500];
//! red.packetize(0, b"frame-0", &mut payload)?;
//! red.packetize(120, b"frame-1", &mut payload)?;
//! let len = red.packetize(240, b"frame-2", &mut payload)?;
//!
//! let packet = parse(&payload[..len])?;
//! assert_eq!(packet.primary().data, b"frame-2");
//! let old: Vec<_> = packet.redundant().map(|b| (b.timestamp(240), b.data)).collect();
//! assert_eq!(old, [(0, &b"frame-0"[..]), (120, &b"frame-1"[..])]);
//! # Ok::<(), tutti_core::redundancy::RedundancyError>(())
//! ```

/// Most previous frames one packet repeats: two covers a burst of two lost packets, and more
/// would cost bandwidth for bursts that concealment handles anyway.
pub const MAX_REDUNDANCY: usize = 2;

/// Most blocks (redundant + primary) [`parse`] accepts, so a parsed packet fits a fixed array;
/// a peer sending more is rejected.
pub const MAX_BLOCKS: usize = 8;

/// Largest frame the encoder accepts: one Opus packet (RFC 6716 §3.2.1).
const MAX_FRAME_BYTES: usize = 1275;
/// Largest timestamp offset a redundant block header can carry (14 bits).
const MAX_TIMESTAMP_OFFSET: u32 = (1 << 14) - 1;
/// Largest length a redundant block header can carry (10 bits).
const MAX_BLOCK_LENGTH: usize = (1 << 10) - 1;
const REDUNDANT_HEADER_LEN: usize = 4;
const PRIMARY_HEADER_LEN: usize = 1;

/// RED framing failures, split by who is at fault: the caller (`InvalidDepth`,
/// `InvalidPayloadType`, `FrameTooLarge`, `BufferTooSmall`) or the remote peer (`Empty`,
/// `Truncated`, `BadBlockLength`, `TooManyBlocks`). Constructing one never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum RedundancyError {
    /// The caller asked for more redundancy than [`MAX_REDUNDANCY`].
    #[error("redundancy depth {0} exceeds {MAX_REDUNDANCY}")]
    InvalidDepth(usize),
    /// The caller gave a payload type that does not fit RTP's 7 bits.
    #[error("payload type {0} exceeds 127")]
    InvalidPayloadType(u8),
    /// The caller passed a frame larger than an Opus packet can be (1275 bytes).
    #[error("frame of {0} bytes exceeds 1275")]
    FrameTooLarge(usize),
    /// The caller's output buffer cannot hold the RED payload.
    #[error("output buffer too small: needed {needed} bytes, got {got}")]
    BufferTooSmall {
        /// Bytes the payload needs.
        needed: usize,
        /// Bytes the caller provided.
        got: usize,
    },
    /// The peer sent an empty payload, which has not even a primary header.
    #[error("empty RED payload")]
    Empty,
    /// The peer's payload ends inside the block headers.
    #[error("RED payload truncated inside its headers")]
    Truncated,
    /// The peer's redundant block lengths add up to more than the payload holds.
    #[error("RED block lengths exceed the payload")]
    BadBlockLength,
    /// The peer sent more than [`MAX_BLOCKS`] blocks.
    #[error("RED payload has more than {MAX_BLOCKS} blocks")]
    TooManyBlocks,
}

/// One block of a parsed RED payload, borrowing its data from the payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Block<'a> {
    /// RTP payload type of the block's codec.
    pub payload_type: u8,
    /// How many RTP timestamp units before the primary this block starts (0 for the primary).
    pub timestamp_offset: u16,
    /// The encoded frame (possibly empty).
    pub data: &'a [u8],
}

impl Block<'_> {
    /// The block's own RTP timestamp given the packet's (primary) timestamp, wrapping like RTP
    /// timestamps do.
    pub fn timestamp(&self, primary_ts: u32) -> u32 {
        primary_ts.wrapping_sub(u32::from(self.timestamp_offset))
    }
}

/// A validated RED payload: up to [`MAX_BLOCKS`] blocks in a fixed array, so parsing on the
/// receive path never allocates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RedPacket<'a> {
    blocks: [Block<'a>; MAX_BLOCKS],
    len: usize,
}

impl<'a> RedPacket<'a> {
    /// The newest frame, carried in full in every packet.
    pub fn primary(&self) -> Block<'a> {
        self.blocks[self.len - 1]
    }

    /// Repeated earlier frames, oldest first, to fill gaps left by lost packets.
    pub fn redundant(&self) -> impl Iterator<Item = Block<'a>> + '_ {
        self.blocks[..self.len - 1].iter().copied()
    }

    /// Number of blocks including the primary (always ≥ 1).
    #[expect(
        clippy::len_without_is_empty,
        reason = "a parsed packet always holds its primary block"
    )]
    pub fn len(&self) -> usize {
        self.len
    }
}

/// Parses and validates an RFC 2198 payload from the network without allocating. Every
/// returned block's data lies inside `payload`; a zero-length primary is valid and reported as
/// such.
pub fn parse(payload: &[u8]) -> Result<RedPacket<'_>, RedundancyError> {
    if payload.is_empty() {
        return Err(RedundancyError::Empty);
    }
    let mut blocks = [Block::default(); MAX_BLOCKS];
    let mut lengths = [0_usize; MAX_BLOCKS];
    let mut count = 0;
    let mut pos = 0;
    loop {
        let Some(&first) = payload.get(pos) else {
            return Err(RedundancyError::Truncated);
        };
        if count == MAX_BLOCKS {
            return Err(RedundancyError::TooManyBlocks);
        }
        let payload_type = first & 0x7F;
        if first & 0x80 == 0 {
            blocks[count] = Block {
                payload_type,
                timestamp_offset: 0,
                data: &[],
            };
            count += 1;
            pos += PRIMARY_HEADER_LEN;
            break;
        }
        let Some(header) = payload.get(pos..pos + REDUNDANT_HEADER_LEN) else {
            return Err(RedundancyError::Truncated);
        };
        let rest = u32::from_be_bytes([0, header[1], header[2], header[3]]);
        blocks[count] = Block {
            payload_type,
            // 14 bits, so it fits a u16.
            timestamp_offset: (rest >> 10) as u16,
            data: &[],
        };
        lengths[count] = (rest & 0x3FF) as usize;
        count += 1;
        pos += REDUNDANT_HEADER_LEN;
    }
    for (block, &len) in blocks[..count - 1].iter_mut().zip(&lengths) {
        let Some(data) = payload.get(pos..pos + len) else {
            return Err(RedundancyError::BadBlockLength);
        };
        block.data = data;
        pos += len;
    }
    // `pos` is within the payload: every step above was bounds-checked.
    blocks[count - 1].data = payload.get(pos..).unwrap_or_default();
    Ok(RedPacket { blocks, len: count })
}

/// A previously sent frame kept for repetition.
#[derive(Debug, Clone, Copy)]
struct HistoryEntry {
    timestamp: u32,
    len: usize,
}

/// Builds RED payloads for one outgoing stream, remembering the last [`MAX_REDUNDANCY`] frames
/// in buffers allocated once in `new`.
#[derive(Debug, Clone)]
pub struct RedundancyEncoder {
    payload_type: u8,
    depth: usize,
    /// Frame bytes, `MAX_REDUNDANCY × 1275`, slot `i` at `i * 1275`.
    storage: Box<[u8]>,
    /// Metadata per slot, `None` when empty.
    entries: [Option<HistoryEntry>; MAX_REDUNDANCY],
    /// Slot the next frame goes into; the oldest entry when the history is full.
    next: usize,
}

impl RedundancyEncoder {
    /// Creates an encoder for frames of RTP payload type `payload_type` (0..=127), repeating
    /// `depth` (0..=[`MAX_REDUNDANCY`]) previous frames in each packet.
    pub fn new(payload_type: u8, depth: usize) -> Result<Self, RedundancyError> {
        if payload_type > 0x7F {
            return Err(RedundancyError::InvalidPayloadType(payload_type));
        }
        if depth > MAX_REDUNDANCY {
            return Err(RedundancyError::InvalidDepth(depth));
        }
        Ok(Self {
            payload_type,
            depth,
            storage: vec![0; MAX_REDUNDANCY * MAX_FRAME_BYTES].into_boxed_slice(),
            entries: [None; MAX_REDUNDANCY],
            next: 0,
        })
    }

    /// Changes how many previous frames the next packet repeats, e.g. when measured loss rises.
    /// History is kept at full depth regardless, so raising the depth helps at once.
    pub fn set_depth(&mut self, depth: usize) -> Result<(), RedundancyError> {
        if depth > MAX_REDUNDANCY {
            return Err(RedundancyError::InvalidDepth(depth));
        }
        self.depth = depth;
        Ok(())
    }

    /// How many previous frames each packet repeats.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// Forgets the history, e.g. after a stream restart, so old frames are not repeated with
    /// meaningless timestamp offsets.
    pub fn reset(&mut self) {
        self.entries = [None; MAX_REDUNDANCY];
        self.next = 0;
    }

    /// Writes the RED payload for `frame` (RTP timestamp `rtp_timestamp`) into `out` and
    /// returns its length, then remembers `frame` for the following packets.
    ///
    /// Up to [`Self::depth`] previous frames are repeated, oldest first — each only if its
    /// timestamp offset fits 14 bits and its length 10 bits (a 1024+ byte frame travels only as
    /// a primary), and empty frames are never repeated. On error nothing is written to the
    /// history.
    pub fn packetize(
        &mut self,
        rtp_timestamp: u32,
        frame: &[u8],
        out: &mut [u8],
    ) -> Result<usize, RedundancyError> {
        if frame.len() > MAX_FRAME_BYTES {
            return Err(RedundancyError::FrameTooLarge(frame.len()));
        }
        // Redundant slots in oldest-first order, filtered by what the header can express.
        let mut chosen = [0_usize; MAX_REDUNDANCY];
        let mut chosen_len = 0;
        for age in (1..=self.depth).rev() {
            // `age` 1 is the newest entry, stored just before `next`.
            let slot = (self.next + MAX_REDUNDANCY - age) % MAX_REDUNDANCY;
            let Some(entry) = self.entries[slot] else {
                continue;
            };
            let offset = rtp_timestamp.wrapping_sub(entry.timestamp);
            if offset <= MAX_TIMESTAMP_OFFSET && entry.len <= MAX_BLOCK_LENGTH && entry.len > 0 {
                chosen[chosen_len] = slot;
                chosen_len += 1;
            }
        }
        let chosen = &chosen[..chosen_len];

        let needed = chosen
            .iter()
            .map(|&slot| REDUNDANT_HEADER_LEN + self.entry_len(slot))
            .sum::<usize>()
            + PRIMARY_HEADER_LEN
            + frame.len();
        if out.len() < needed {
            return Err(RedundancyError::BufferTooSmall {
                needed,
                got: out.len(),
            });
        }

        let mut pos = 0;
        for &slot in chosen {
            if let Some(entry) = self.entries[slot] {
                let offset = rtp_timestamp.wrapping_sub(entry.timestamp);
                // Both fields were range-checked above.
                let bits = (offset << 10) | entry.len as u32;
                let [_, b1, b2, b3] = bits.to_be_bytes();
                out[pos..pos + REDUNDANT_HEADER_LEN].copy_from_slice(&[
                    0x80 | self.payload_type,
                    b1,
                    b2,
                    b3,
                ]);
                pos += REDUNDANT_HEADER_LEN;
            }
        }
        out[pos] = self.payload_type;
        pos += PRIMARY_HEADER_LEN;
        for &slot in chosen {
            let len = self.entry_len(slot);
            let start = slot * MAX_FRAME_BYTES;
            out[pos..pos + len].copy_from_slice(&self.storage[start..start + len]);
            pos += len;
        }
        out[pos..pos + frame.len()].copy_from_slice(frame);
        pos += frame.len();

        let slot = self.next;
        let start = slot * MAX_FRAME_BYTES;
        self.storage[start..start + frame.len()].copy_from_slice(frame);
        self.entries[slot] = Some(HistoryEntry {
            timestamp: rtp_timestamp,
            len: frame.len(),
        });
        self.next = (slot + 1) % MAX_REDUNDANCY;
        Ok(pos)
    }

    fn entry_len(&self, slot: usize) -> usize {
        self.entries[slot].map_or(0, |e| e.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const PT: u8 = 111;

    fn frame(seed: u8, len: usize) -> Vec<u8> {
        (0..len).map(|i| seed.wrapping_add(i as u8)).collect()
    }

    #[test]
    fn depth_zero_is_header_plus_primary() {
        let mut red = RedundancyEncoder::new(PT, 0).expect("encoder");
        let mut out = [0_u8; 64];
        red.packetize(0, b"aaa", &mut out).expect("packetize");
        let len = red.packetize(120, b"bbbb", &mut out).expect("packetize");
        assert_eq!(&out[..len], b"\x6fbbbb");
        let packet = parse(&out[..len]).expect("parse");
        assert_eq!(packet.len(), 1);
        assert_eq!(
            packet.primary(),
            Block {
                payload_type: PT,
                timestamp_offset: 0,
                data: b"bbbb"
            }
        );
        assert_eq!(packet.redundant().count(), 0);
    }

    #[test]
    fn round_trip_depth_one_and_two() {
        for depth in 1..=MAX_REDUNDANCY {
            let mut red = RedundancyEncoder::new(PT, depth).expect("encoder");
            let mut out = [0_u8; 4096];
            let frames: Vec<Vec<u8>> = (0..6).map(|i| frame(i, 10 + usize::from(i))).collect();
            for (i, f) in frames.iter().enumerate() {
                let ts = 1000 + 120 * i as u32;
                let len = red.packetize(ts, f, &mut out).expect("packetize");
                let packet = parse(&out[..len]).expect("parse");
                assert_eq!(packet.primary().data, &f[..]);
                let expected: Vec<(u32, &[u8])> = frames[i.saturating_sub(depth)..i]
                    .iter()
                    .enumerate()
                    .map(|(k, g)| (1000 + 120 * (i.saturating_sub(depth) + k) as u32, &g[..]))
                    .collect();
                let got: Vec<(u32, &[u8])> = packet
                    .redundant()
                    .map(|b| (b.timestamp(ts), b.data))
                    .collect();
                assert_eq!(got, expected, "depth {depth} packet {i}");
                assert!(packet.redundant().all(|b| b.payload_type == PT));
                assert_eq!(packet.len(), expected.len() + 1);
            }
        }
    }

    #[test]
    fn exact_wire_format() {
        let mut red = RedundancyEncoder::new(PT, 1).expect("encoder");
        let mut out = [0_u8; 64];
        red.packetize(0, &[1, 2, 3], &mut out).expect("packetize");
        let len = red.packetize(960, &[9], &mut out).expect("packetize");
        // F=1|PT, offset 960 = 0b00_0011_1100_0000 (14 bits), length 3 (10 bits).
        let bits: u32 = (960 << 10) | 3;
        let [_, b1, b2, b3] = bits.to_be_bytes();
        assert_eq!(&out[..len], &[0x80 | PT, b1, b2, b3, PT, 1, 2, 3, 9]);
    }

    #[test]
    fn depth_switches_at_run_time() {
        let mut red = RedundancyEncoder::new(PT, 0).expect("encoder");
        let mut out = [0_u8; 256];
        red.packetize(0, b"a", &mut out).expect("packetize");
        red.packetize(120, b"b", &mut out).expect("packetize");
        red.set_depth(2).expect("depth");
        assert_eq!(red.depth(), 2);
        // History was kept while depth was 0, so redundancy is there at once.
        let len = red.packetize(240, b"c", &mut out).expect("packetize");
        let packet = parse(&out[..len]).expect("parse");
        let old: Vec<&[u8]> = packet.redundant().map(|b| b.data).collect();
        assert_eq!(old, [b"a", b"b"]);
        red.set_depth(1).expect("depth");
        let len = red.packetize(360, b"d", &mut out).expect("packetize");
        let packet = parse(&out[..len]).expect("parse");
        let old: Vec<&[u8]> = packet.redundant().map(|b| b.data).collect();
        assert_eq!(old, [b"c"]);
        assert_eq!(red.set_depth(3), Err(RedundancyError::InvalidDepth(3)));
        assert_eq!(red.depth(), 1);
        red.reset();
        let len = red.packetize(480, b"e", &mut out).expect("packetize");
        assert_eq!(parse(&out[..len]).expect("parse").len(), 1);
    }

    #[test]
    fn timestamps_wrap_around_u32_max() {
        let mut red = RedundancyEncoder::new(PT, 2).expect("encoder");
        let mut out = [0_u8; 256];
        let t0 = u32::MAX - 100;
        let t1 = t0.wrapping_add(120);
        let t2 = t1.wrapping_add(120);
        red.packetize(t0, b"x", &mut out).expect("packetize");
        red.packetize(t1, b"y", &mut out).expect("packetize");
        let len = red.packetize(t2, b"z", &mut out).expect("packetize");
        let packet = parse(&out[..len]).expect("parse");
        let got: Vec<(u32, u16)> = packet
            .redundant()
            .map(|b| (b.timestamp(t2), b.timestamp_offset))
            .collect();
        assert_eq!(got, [(t0, 240), (t1, 120)]);
    }

    #[test]
    fn unrepresentable_history_is_omitted() {
        let mut red = RedundancyEncoder::new(PT, 2).expect("encoder");
        let mut out = [0_u8; 4096];
        // A 1024-byte frame cannot be described by a 10-bit length: primary only.
        let big = frame(7, 1024);
        red.packetize(0, &big, &mut out).expect("packetize");
        let len = red.packetize(120, b"small", &mut out).expect("packetize");
        let packet = parse(&out[..len]).expect("parse");
        assert_eq!(packet.len(), 1);
        assert_eq!(packet.primary().data, b"small");
        // But it works as a primary, the largest size included.
        let len = red
            .packetize(240, &frame(1, 1275), &mut out)
            .expect("packetize");
        let packet = parse(&out[..len]).expect("parse");
        assert_eq!(packet.primary().data, &frame(1, 1275)[..]);
        assert_eq!(
            packet.redundant().map(|b| b.data).collect::<Vec<_>>(),
            [b"small"]
        );
        // A 1023-byte frame still fits the header.
        red.packetize(360, &frame(2, 1023), &mut out)
            .expect("packetize");
        let len = red.packetize(480, b"n", &mut out).expect("packetize");
        let packet = parse(&out[..len]).expect("parse");
        assert_eq!(packet.redundant().last().map(|b| b.data.len()), Some(1023));
        // A gap beyond 14 bits of timestamp (a paused stream) drops the history too.
        let len = red
            .packetize(480 + 16_384, b"later", &mut out)
            .expect("packetize");
        assert_eq!(parse(&out[..len]).expect("parse").len(), 1);
        // An offset of exactly 16 383 is still representable.
        let len = red
            .packetize(480 + 16_384 + 16_383, b"edge", &mut out)
            .expect("packetize");
        let packet = parse(&out[..len]).expect("parse");
        assert_eq!(
            packet
                .redundant()
                .map(|b| b.timestamp_offset)
                .collect::<Vec<_>>(),
            [16_383]
        );
    }

    #[test]
    fn caller_mistakes_are_reported() {
        assert_eq!(
            RedundancyEncoder::new(128, 1).map(|_| ()),
            Err(RedundancyError::InvalidPayloadType(128))
        );
        assert_eq!(
            RedundancyEncoder::new(PT, 3).map(|_| ()),
            Err(RedundancyError::InvalidDepth(3))
        );
        let mut red = RedundancyEncoder::new(PT, 1).expect("encoder");
        let mut out = [0_u8; 2000];
        assert_eq!(
            red.packetize(0, &[0; 1276], &mut out),
            Err(RedundancyError::FrameTooLarge(1276))
        );
        red.packetize(0, &[1; 10], &mut out).expect("packetize");
        assert_eq!(
            red.packetize(120, &[2; 10], &mut out[..14]),
            Err(RedundancyError::BufferTooSmall {
                needed: 25,
                got: 14
            })
        );
        // The failed call did not touch the history.
        let len = red.packetize(120, &[2; 10], &mut out).expect("packetize");
        let packet = parse(&out[..len]).expect("parse");
        assert_eq!(
            packet.redundant().map(|b| b.data).collect::<Vec<_>>(),
            [&[1; 10]]
        );
    }

    #[test]
    fn peer_faults_are_reported() {
        assert_eq!(parse(&[]), Err(RedundancyError::Empty));
        assert_eq!(parse(&[0x80 | PT]), Err(RedundancyError::Truncated));
        assert_eq!(parse(&[0x80 | PT, 0, 0]), Err(RedundancyError::Truncated));
        // Complete redundant header but no primary header.
        assert_eq!(
            parse(&[0x80 | PT, 0, 0, 0]),
            Err(RedundancyError::Truncated)
        );
        // Redundant block claims 5 bytes, 2 present.
        assert_eq!(
            parse(&[0x80 | PT, 0, 0, 5, PT, 1, 2]),
            Err(RedundancyError::BadBlockLength)
        );
        // Seven redundant headers + primary = 8 blocks: accepted.
        let mut ok = [0x80 | PT, 0, 0, 0].repeat(7);
        ok.push(PT);
        assert_eq!(parse(&ok).map(|p| p.len()), Ok(MAX_BLOCKS));
        let mut too_many = [0x80 | PT, 0, 0, 0].repeat(8);
        too_many.push(PT);
        assert_eq!(parse(&too_many), Err(RedundancyError::TooManyBlocks));
        // A zero-length primary is allowed.
        let packet = parse(&[PT]).expect("parse");
        assert_eq!(packet.primary().data, b"");
        assert_eq!(packet.primary().payload_type, PT);
    }

    fn within(outer: &[u8], inner: &[u8]) -> bool {
        let o = outer.as_ptr_range();
        let i = inner.as_ptr_range();
        inner.is_empty() || (o.start <= i.start && i.end <= o.end)
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_parse(bytes in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(packet) = parse(&bytes) {
                prop_assert!((1..=MAX_BLOCKS).contains(&packet.len()));
                let mut total = 0;
                for block in packet.redundant().chain(std::iter::once(packet.primary())) {
                    prop_assert!(within(&bytes, block.data));
                    prop_assert!(block.payload_type <= 0x7F);
                    prop_assert!(block.timestamp_offset < 1 << 14);
                    total += block.data.len();
                }
                prop_assert_eq!(total + 4 * (packet.len() - 1) + 1, bytes.len());
            }
        }

        #[test]
        fn arbitrary_headers_never_panic_parse(
            headers in proptest::collection::vec((any::<u8>(), any::<u32>()), 0..10),
            tail in proptest::collection::vec(any::<u8>(), 0..2100),
        ) {
            // Mostly well-formed headers make the deeper paths reachable.
            let mut bytes = Vec::new();
            for (pt, rest) in headers {
                bytes.push(0x80 | pt);
                bytes.extend_from_slice(&rest.to_be_bytes()[1..]);
            }
            bytes.extend_from_slice(&tail);
            if let Ok(packet) = parse(&bytes) {
                for block in packet.redundant().chain(std::iter::once(packet.primary())) {
                    prop_assert!(within(&bytes, block.data));
                }
            }
        }

        #[test]
        fn packetize_parse_round_trip(
            depth_changes in proptest::collection::vec(0..=MAX_REDUNDANCY, 1..40),
            frames in proptest::collection::vec(
                (proptest::collection::vec(any::<u8>(), 0..1100), 0_u32..20_000),
                1..40,
            ),
            start in any::<u32>(),
        ) {
            let mut red = RedundancyEncoder::new(PT, 0).expect("encoder");
            let mut out = vec![0_u8; 4 * 1100 + 1300];
            let mut ts = start;
            let mut sent: Vec<(u32, Vec<u8>)> = Vec::new();
            for (i, (data, step)) in frames.into_iter().enumerate() {
                let depth = depth_changes[i % depth_changes.len()];
                red.set_depth(depth).expect("depth");
                ts = ts.wrapping_add(step);
                let len = red.packetize(ts, &data, &mut out).expect("packetize");
                let packet = parse(&out[..len]).expect("parse");
                prop_assert_eq!(packet.primary().data, &data[..]);
                let expected: Vec<(u32, &[u8])> = sent[sent.len().saturating_sub(depth)..]
                    .iter()
                    .filter(|(t, d)| {
                        ts.wrapping_sub(*t) < 1 << 14 && !d.is_empty() && d.len() < 1024
                    })
                    .map(|(t, d)| (*t, &d[..]))
                    .collect();
                let got: Vec<(u32, &[u8])> =
                    packet.redundant().map(|b| (b.timestamp(ts), b.data)).collect();
                prop_assert_eq!(got, expected);
                sent.push((ts, data));
            }
        }
    }
}

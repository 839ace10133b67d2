//! Arbitrary bytes into `redundancy::parse`; every returned block must lie inside the input.
//!
//! Run with: `cargo +nightly fuzz run red_parse`

#![no_main]

use libfuzzer_sys::fuzz_target;
use tutti_core::redundancy::{self, MAX_BLOCKS};

fuzz_target!(|data: &[u8]| {
    let Ok(packet) = redundancy::parse(data) else {
        return;
    };
    assert!((1..=MAX_BLOCKS).contains(&packet.len()));
    let input = data.as_ptr_range();
    let mut total = 0;
    for block in packet.redundant().chain(std::iter::once(packet.primary())) {
        let range = block.data.as_ptr_range();
        assert!(block.data.is_empty() || (input.start <= range.start && range.end <= input.end));
        assert!(block.payload_type < 128 && block.timestamp_offset < 1 << 14);
        // Touch every byte so sanitizers see any out-of-bounds view.
        std::hint::black_box(block.data.iter().fold(0_u8, |a, &b| a ^ b));
        total += block.data.len();
        let _ = block.timestamp(u32::MAX);
    }
    assert_eq!(total + 4 * (packet.len() - 1) + 1, data.len());
});

//! Arbitrary bytes into the Opus decoder: the first byte picks mono/stereo, the rest is the
//! packet; then conceal, as a receiver would after a bad packet. Nothing may panic.
//!
//! Run with: `cargo +nightly fuzz run opus_decode`
//!
//! Only the Rust side is coverage-instrumented (libopus is built by cmake with the system C
//! compiler), so libFuzzer cannot steer into libopus's branches; seeding `corpus/opus_decode`
//! with real packets helps the mutations start from valid Opus.

#![no_main]

use libfuzzer_sys::fuzz_target;
use tutti_core::codec::{Channels, Decoder};

fuzz_target!(|data: &[u8]| {
    let Some((&first, packet)) = data.split_first() else {
        return;
    };
    let channels = if first & 1 == 0 {
        Channels::Mono
    } else {
        Channels::Stereo
    };
    let n = channels.count();
    let Ok(mut decoder) = Decoder::new(channels) else {
        return;
    };
    // 120 ms, the longest an Opus packet can be; bit 1 tries a 2.5 ms buffer instead.
    let mut out = vec![0.0_f32; if first & 2 == 0 { 5760 * n } else { 120 * n }];
    if let Ok(samples) = decoder.decode(packet, &mut out) {
        assert!(samples * n <= out.len());
        assert!(out[..samples * n].iter().all(|s| s.is_finite()));
    }
    let mut plc = vec![0.0_f32; 240 * n];
    let concealed = decoder.conceal(&mut plc);
    assert_eq!(concealed, Ok(240));
    assert!(plc.iter().all(|s| s.is_finite()));
});

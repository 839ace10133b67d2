//! Proves the codec and RED hot paths never allocate after construction.
//!
//! Its own test binary because a global allocator can be installed only once per binary.

#![cfg(feature = "media")]

use assert_no_alloc::{AllocDisabler, assert_no_alloc};
use tutti_core::codec::{
    Channels, CodecError, Decoder, Encoder, EncoderConfig, FrameDuration, MAX_PACKET_BYTES,
};
use tutti_core::redundancy::{self, RedundancyEncoder};

#[global_allocator]
static A: AllocDisabler = AllocDisabler;

#[test]
fn encode_packetize_parse_decode_conceal_do_not_allocate() {
    for channels in [Channels::Mono, Channels::Stereo] {
        for frame in [FrameDuration::Ms2_5, FrameDuration::Ms20] {
            let config = EncoderConfig {
                channels,
                frame,
                ..EncoderConfig::default()
            };
            let n = channels.count();
            let frame_len = frame.samples_per_channel() * n;
            // Everything the hot path touches is allocated up front.
            let mut encoder = Encoder::new(config).expect("encoder");
            let mut decoder = Decoder::new(channels).expect("decoder");
            let mut red = RedundancyEncoder::new(111, 2).expect("red");
            let pcm: Vec<f32> = (0..frame_len)
                .map(|i| 0.4 * (i as f32 * 0.0576).sin())
                .collect();
            let mut packet = vec![0_u8; MAX_PACKET_BYTES];
            let mut payload = vec![0_u8; 4 * MAX_PACKET_BYTES];
            let mut out = vec![0.0_f32; frame_len];
            let mut decoded_samples = 0;

            assert_no_alloc(|| {
                for i in 0..2000_u32 {
                    let len = encoder.encode(&pcm, &mut packet).expect("encode");
                    let ts = i.wrapping_mul(frame.samples_per_channel() as u32);
                    let red_len = red
                        .packetize(ts, &packet[..len], &mut payload)
                        .expect("packetize");
                    let parsed = redundancy::parse(&payload[..red_len]).expect("parse");
                    for block in parsed.redundant() {
                        decoded_samples += block.data.len();
                    }
                    if i % 10 == 3 {
                        decoded_samples += decoder.conceal(&mut out).expect("conceal");
                    } else {
                        decoded_samples += decoder
                            .decode(parsed.primary().data, &mut out)
                            .expect("decode");
                    }
                    // Error paths must not allocate either.
                    assert_eq!(
                        decoder.decode(&[], &mut out),
                        Err(CodecError::InvalidPacket)
                    );
                    assert!(decoder.decode(&[0x03], &mut out).is_err());
                    assert!(redundancy::parse(&[0x80, 0, 0]).is_err());
                    assert!(encoder.encode(&pcm[1..], &mut packet).is_err());
                }
                encoder.set_bitrate(64_000).expect("bitrate");
                encoder.set_complexity(5).expect("complexity");
                red.set_depth(1).expect("depth");
                let len = encoder.encode(&pcm, &mut packet).expect("encode");
                decoder.decode(&packet[..len], &mut out).expect("decode");
            });
            assert!(decoded_samples > 0);
        }
    }
}

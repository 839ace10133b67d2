//! The mixer's audio path never allocates: thousands of blocks, with parameter changes, source
//! churn and meter reads in between, run under `assert_no_alloc`, which aborts the test process on
//! any allocation.
#![cfg(feature = "media")]

use std::time::Duration;

use assert_no_alloc::{AllocDisabler, assert_no_alloc};
use tutti_core::mixer::{Mixer, MixerConfig, MixerError, SourceId, SourceLayout};

#[global_allocator]
static ALLOCATOR: AllocDisabler = AllocDisabler;

const MAX_FRAMES: usize = 256;
const SOURCES: usize = 12;

fn layout(i: usize) -> SourceLayout {
    if i.is_multiple_of(3) {
        SourceLayout::Mono
    } else {
        SourceLayout::Stereo
    }
}

#[test]
fn mixing_with_parameter_changes_never_allocates() -> Result<(), MixerError> {
    let (mut mixer, handle) = Mixer::new(MixerConfig {
        max_sources: 16,
        max_block_frames: MAX_FRAMES,
        sample_rate: 48_000,
        smoothing: Duration::from_millis(5),
    });
    let mut ids: Vec<SourceId> = (0..SOURCES)
        .map(|i| handle.add_source(layout(i)))
        .collect::<Result<_, _>>()?;
    let mut out = vec![0.0f32; 2 * MAX_FRAMES];

    assert_no_alloc(|| -> Result<(), MixerError> {
        let mut phase = 0.0f32;
        for block in 0..5_000usize {
            let frames = [64, 120, 128, 256, 1, 97][block % 6];
            if block.is_multiple_of(50) {
                let slot = block / 50 % SOURCES;
                handle.remove_source(ids[slot])?;
                ids[slot] = handle.add_source(layout(block))?;
            }
            let id = ids[block % SOURCES];
            handle.set_gain_db(id, -((block % 24) as f32))?;
            handle.set_pan(id, ((block % 21) as f32 - 10.0) / 10.0)?;
            handle.set_mute(id, block.is_multiple_of(11))?;
            handle.set_solo(id, block % 97 < 5)?;
            handle.set_master_gain(1.0 + (block % 4) as f32)?; // drives the limiter too

            if block.is_multiple_of(2) {
                for (i, &id) in ids.iter().enumerate() {
                    if i == block % 7 {
                        continue; // a stalled stream
                    }
                    if let Some(input) = mixer.source_input(id) {
                        for (n, sample) in input.iter_mut().enumerate() {
                            *sample = (phase + n as f32 * 0.01 * (i + 1) as f32).sin() * 0.4;
                        }
                    }
                }
                mixer.mix(frames, &mut out)?;
            } else {
                mixer.mix_with(frames, &mut out, |id, buf| {
                    buf.fill(0.1 * (id.index() % 5) as f32);
                    id.index() != block % 5
                })?;
            }
            phase += 0.1;

            let _ = handle.source_meter(id)?;
            let _ = handle.master_meter();
            let _ = handle.limiter_gain_reduction_db();
            assert!(out[..2 * frames].iter().all(|y| y.abs() <= 1.0));
        }
        Ok(())
    })
}

//! The audio-thread handle: `tutti_engine_process` and `tutti_engine_free`.

use tutti_core::engine::Engine;

use super::{TuttiResult, boundary};

/// Most channels a host may pass per direction (the engine sends mono or stereo).
pub const TUTTI_MAX_CHANNELS: u32 = 2;

/// The audio-thread half of a session (opaque). Made by `tutti_session_new`, released by
/// `tutti_engine_free`; it works whether or not the session is joined.
pub struct TuttiEngine {
    pub(crate) engine: Engine,
    /// The channel count of both the host's input and output.
    pub(crate) channels: usize,
    pub(crate) max_block: usize,
}

impl TuttiEngine {
    /// Wraps an engine built in Rust for `tutti_engine_process` (benchmarks, and Rust hosts
    /// that hand the audio thread to C code); `channels` per direction (1 or 2), `max_block` as
    /// the engine was built with. Release with `tutti_engine_free`.
    pub fn into_raw(engine: Engine, channels: usize, max_block: usize) -> *mut TuttiEngine {
        Box::into_raw(Box::new(TuttiEngine {
            engine,
            channels: channels.clamp(1, TUTTI_MAX_CHANNELS as usize),
            max_block,
        }))
    }
}

/// Processes one host block: reads `channels` planar input channels of `frames` samples and
/// writes the mix of every peer (plus the monitor) to `channels` planar output channels.
/// Wait-free and allocation-free: call it from the audio callback, with any `frames` up to
/// the engine's `max_block_frames`.
///
/// Returns `TUTTI_RESULT_WRONG_CHANNEL_COUNT` if `channels` differs from the engine's,
/// `TUTTI_RESULT_BLOCK_TOO_LARGE` for too many frames, `TUTTI_RESULT_NULL_POINTER` for a
/// NULL engine, array or channel; on every error the outputs that can be reached are silenced.
///
/// # Safety
/// `engine` is NULL or a live handle from `tutti_session_new` used by no other thread during
/// the call. `input` and `output` are NULL or point to `channels` pointers, each NULL or
/// pointing to `frames` floats; output buffers do not overlap each other or the inputs.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_engine_process(
    engine: *mut TuttiEngine,
    input: *const *const f32,
    output: *const *mut f32,
    channels: u32,
    frames: u32,
) -> TuttiResult {
    boundary(|| {
        let frames = frames as usize;
        let n = channels.min(TUTTI_MAX_CHANNELS) as usize;
        // Output channel slices, collected first so every error path can silence them.
        let mut outs: [&mut [f32]; TUTTI_MAX_CHANNELS as usize] = [&mut [], &mut []];
        let mut outputs_ok = !output.is_null();
        if !output.is_null() {
            for (i, out) in outs.iter_mut().enumerate().take(n) {
                // SAFETY: `output` holds `channels` (≥ n) pointers by contract.
                let p = unsafe { *output.add(i) };
                if p.is_null() {
                    outputs_ok = false;
                } else {
                    // SAFETY: each non-NULL output points to `frames` floats, unaliased.
                    *out = unsafe { std::slice::from_raw_parts_mut(p, frames) };
                }
            }
        }
        let silence = |outs: &mut [&mut [f32]]| outs.iter_mut().for_each(|o| o.fill(0.0));
        // SAFETY: NULL or a live handle used by this thread only, by contract.
        let Some(handle) = (unsafe { engine.as_mut() }) else {
            silence(&mut outs);
            return Err(TuttiResult::NullPointer);
        };
        let check = if channels as usize != handle.channels {
            Err(TuttiResult::WrongChannelCount)
        } else if frames > handle.max_block {
            Err(TuttiResult::BlockTooLarge)
        } else if input.is_null() || !outputs_ok {
            Err(TuttiResult::NullPointer)
        } else {
            Ok(())
        };
        if let Err(e) = check {
            silence(&mut outs);
            return Err(e);
        }
        let mut ins: [&[f32]; TUTTI_MAX_CHANNELS as usize] = [&[], &[]];
        for (i, slot) in ins.iter_mut().enumerate().take(n) {
            // SAFETY: `input` holds `channels` pointers by contract.
            let p = unsafe { *input.add(i) };
            if p.is_null() {
                silence(&mut outs);
                return Err(TuttiResult::NullPointer);
            }
            // SAFETY: each input points to `frames` floats, valid during the call.
            *slot = unsafe { std::slice::from_raw_parts(p, frames) };
        }
        handle
            .engine
            .process(&ins[..n], &mut outs[..n], frames)
            .map_err(TuttiResult::from)
    })
}

/// Releases an engine and sets `*engine` to NULL; NULL or an already-NULL handle is a no-op.
/// Stop the audio callback first.
///
/// # Safety
/// `engine` is NULL or points to a handle variable that is NULL or holds a live engine from
/// `tutti_session_new` that no other thread uses. Copies of the handle held elsewhere dangle
/// afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_engine_free(engine: *mut *mut TuttiEngine) {
    // SAFETY: forwarded from this function's contract.
    unsafe { super::free_handle(engine) }
}

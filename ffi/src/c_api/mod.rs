//! The C API. Naming: `tutti_<noun>_<verb>`, opaque handles made by `tutti_<noun>_new` and
//! released by `tutti_<noun>_free(&handle)`, which also sets the caller's pointer to NULL so a
//! second free of the same variable is a no-op.
//!
//! # Threads
//! - [`TuttiEngine`] belongs to the host's audio thread: [`engine::tutti_engine_process`] is
//!   wait-free and allocation-free; nothing else touches the engine while it runs.
//! - [`TuttiSession`] may be used from any thread, also from several at once (setters,
//!   statistics, event polling); `join`, `leave` and `free` block, so never call them from the
//!   audio thread.
//!
//! # Errors
//! Every function returns a [`TuttiResult`] (or documents what it returns instead); misuse —
//! NULL handles, wrong channel counts, oversized blocks — is an error code, never a crash.
//! Every entry point catches Rust panics ([`TuttiResult::Panic`]): unwinding into C would abort
//! the host, a DAW with an unsaved session.

pub mod engine;
pub mod event;
mod result;
pub mod session;
mod strings;

use std::ffi::c_char;
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use engine::TuttiEngine;
pub use event::{TuttiEvent, TuttiEventKind, TuttiLinkState, TuttiPeerStatistics, TuttiStatistics};
pub use result::TuttiResult;
pub use session::{TuttiEngineConfig, TuttiJoinConfig, TuttiSession};

/// Runs `f` at the C boundary: a panic becomes [`TuttiResult::Panic`].
pub(crate) fn boundary(f: impl FnOnce() -> Result<(), TuttiResult>) -> TuttiResult {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(Ok(())) => TuttiResult::Ok,
        Ok(Err(result)) => result,
        Err(_) => TuttiResult::Panic,
    }
}

/// The library version, e.g. `"0.1.0"`: a static NUL-terminated string, never freed.
#[unsafe(no_mangle)]
pub extern "C" fn tutti_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// Frees the box behind `*handle` and nulls the caller's variable, so freeing the same
/// variable twice is a no-op (the design's double-free guard).
///
/// # Safety
/// `handle` is NULL or points to a variable that is NULL or holds a pointer from
/// `Box::into_raw` not yet freed, which no other thread uses.
pub(crate) unsafe fn free_handle<T>(handle: *mut *mut T) {
    let _ = boundary(|| {
        // SAFETY: NULL or a valid pointer to the caller's handle variable, by contract.
        let Some(slot) = (unsafe { handle.as_mut() }) else {
            return Ok(());
        };
        let raw = std::mem::replace(slot, std::ptr::null_mut());
        if !raw.is_null() {
            // SAFETY: `raw` came from `Box::into_raw` and, nulled in the caller's variable
            // above, is freed once.
            drop(unsafe { Box::from_raw(raw) });
        }
        Ok(())
    });
}

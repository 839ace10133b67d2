//! C strings in and out: borrowed NUL-terminated input, fixed-size output buffers.

use std::ffi::{CStr, c_char};

use super::TuttiResult;

/// Borrows a required NUL-terminated UTF-8 argument.
///
/// # Safety
/// `ptr` is NULL or points to a NUL-terminated string that stays valid for `'a`.
pub(crate) unsafe fn required<'a>(ptr: *const c_char) -> Result<&'a str, TuttiResult> {
    // SAFETY: forwarded from the caller's contract.
    unsafe { optional(ptr) }?.ok_or(TuttiResult::NullPointer)
}

/// Borrows an optional (NULL = absent) NUL-terminated UTF-8 argument.
///
/// # Safety
/// As [`required`].
pub(crate) unsafe fn optional<'a>(ptr: *const c_char) -> Result<Option<&'a str>, TuttiResult> {
    if ptr.is_null() {
        return Ok(None);
    }
    // SAFETY: non-NULL, and the caller promises a NUL-terminated string valid for 'a.
    let s = unsafe { CStr::from_ptr(ptr) };
    s.to_str()
        .map(Some)
        .map_err(|_| TuttiResult::InvalidArgument)
}

/// Copies `text` into `buf` as a NUL-terminated string, cut at a UTF-8 character boundary if
/// it does not fit.
pub(crate) fn copy_into(text: &str, buf: &mut [c_char]) {
    let Some(room) = buf.len().checked_sub(1) else {
        return;
    };
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    for (dst, src) in buf.iter_mut().zip(&text.as_bytes()[..end]) {
        *dst = *src as c_char;
    }
    buf[end] = 0;
}

/// Turns `text` into an owned C string, dropping interior NULs (never fails).
pub(crate) fn owned(text: &str) -> std::ffi::CString {
    std::ffi::CString::new(text.replace('\0', "")).unwrap_or_default()
}

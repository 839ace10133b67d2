//! The session handle: create (with its engine), join, leave, mix parameters, free.

use std::ffi::{CString, c_char};
use std::sync::Mutex;

use tutti_core::client::{Client, ClientError};
use tutti_core::protocol::PeerId;
use tutti_core::session::Identity;

use super::engine::TuttiEngine;
use super::strings::{copy_into, optional, owned, required};
use super::{TuttiResult, boundary};
use crate::convert::{self, EngineSettings, JoinSettings};

/// What the engine is built for. Start from `tutti_engine_config_default()`.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TuttiEngineConfig {
    /// The host's sample rate: 44100, 48000 or 96000.
    pub host_rate: u32,
    /// The largest block the host will pass to `tutti_engine_process` (1..=4096).
    pub max_block_frames: u32,
    /// Host channels per direction, 1 or 2; also what is sent (mono or stereo).
    pub channels: u32,
    /// Opus frame in µs: 2500, 5000, 10000 or 20000 (everyone in a room must match).
    pub frame_us: u32,
    /// Most remote peers at once.
    pub max_peers: u32,
}

/// 48 kHz, blocks up to 1024 frames, stereo, 2.5 ms frames, up to 8 peers.
#[unsafe(no_mangle)]
pub extern "C" fn tutti_engine_config_default() -> TuttiEngineConfig {
    TuttiEngineConfig {
        host_rate: 48_000,
        max_block_frames: 1024,
        channels: 2,
        frame_us: 2500,
        max_peers: 8,
    }
}

impl From<TuttiEngineConfig> for EngineSettings {
    fn from(c: TuttiEngineConfig) -> Self {
        EngineSettings {
            sample_rate: c.host_rate,
            max_block_frames: c.max_block_frames,
            channels: c.channels,
            frame_us: c.frame_us,
            max_peers: c.max_peers,
        }
    }
}

/// Where and as whom to join. Strings are NUL-terminated UTF-8, borrowed for the call only.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TuttiJoinConfig {
    /// Required: the server, `http://host:port` (or its `ws://…/signal` URL).
    pub server_url: *const c_char,
    /// Required: the room id.
    pub room: *const c_char,
    /// An access token from `POST /api/v1/auth/login`; or NULL to join anonymously.
    pub access_token: *const c_char,
    /// The display name of an anonymous join (the server must allow it); NULL with a token.
    pub display_name: *const c_char,
    /// Invite token of a private room, or NULL.
    pub invite: *const c_char,
    /// Local UDP address for the WebRTC links, e.g. `"127.0.0.1:0"` for tests on one machine;
    /// NULL for all interfaces (`0.0.0.0:0`, which skips loopback).
    pub udp_bind: *const c_char,
}

/// A jam session (opaque): a room, its peer links and the control side of the engine. Safe
/// to use from several threads at once; `join`, `leave` and `free` block.
pub struct TuttiSession {
    pub(crate) client: Client,
    /// Text of the last event, owned here until the next `tutti_session_next_event`.
    pub(crate) event_text: Mutex<CString>,
    /// The last error's full message, for `tutti_session_last_error`.
    last_error: Mutex<String>,
}

impl TuttiSession {
    /// Runs `f` on a live session; a failure is remembered for `tutti_session_last_error`.
    pub(crate) fn call(
        session: *const TuttiSession,
        f: impl FnOnce(&TuttiSession) -> Result<(), ClientError>,
    ) -> TuttiResult {
        boundary(|| {
            // SAFETY: the caller of every entry point promises NULL or a live session handle.
            let session = unsafe { session.as_ref() }.ok_or(TuttiResult::NullPointer)?;
            f(session).map_err(|e| {
                *lock(&session.last_error) = e.to_string();
                TuttiResult::from(&e)
            })
        })
    }
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

/// Builds a session and its engine: `*session_out` gets the session (for any thread),
/// `*engine_out` the engine (for the audio thread). Release each with its `_free`. On error
/// both stay NULL.
///
/// # Safety
/// `config` is NULL or points to a valid config; `session_out` and `engine_out` are NULL or
/// point to writable handle variables.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_new(
    config: *const TuttiEngineConfig,
    session_out: *mut *mut TuttiSession,
    engine_out: *mut *mut TuttiEngine,
) -> TuttiResult {
    boundary(|| {
        // SAFETY: NULL or valid pointers, by contract.
        let (Some(config), Some(session_out), Some(engine_out)) =
            (unsafe { (config.as_ref(), session_out.as_mut(), engine_out.as_mut()) })
        else {
            return Err(TuttiResult::NullPointer);
        };
        *session_out = std::ptr::null_mut();
        *engine_out = std::ptr::null_mut();
        // The same conversion (and the same checks) as the uniffi surface.
        let client_config = EngineSettings::from(*config)
            .client_config()
            .map_err(|_| TuttiResult::InvalidArgument)?;
        let (client, engine) = Client::new(client_config).map_err(|e| TuttiResult::from(&e))?;
        *engine_out = TuttiEngine::into_raw(
            engine,
            config.channels as usize,
            config.max_block_frames as usize,
        );
        *session_out = Box::into_raw(Box::new(TuttiSession {
            client,
            event_text: Mutex::new(CString::default()),
            last_error: Mutex::new(String::new()),
        }));
        Ok(())
    })
}

/// Joins a room and blocks until the server welcomed us (peers connect afterwards: poll
/// `tutti_session_next_event`). Exactly one of `access_token` and `display_name` must be set.
/// After a failure the session is still usable: join again.
///
/// # Safety
/// `session` is NULL or a live handle; `config` is NULL or points to a valid config whose
/// strings are NULL or NUL-terminated and valid during the call.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_join(
    session: *const TuttiSession,
    config: *const TuttiJoinConfig,
) -> TuttiResult {
    boundary(|| {
        // SAFETY: NULL or a valid config, by contract.
        let config = unsafe { config.as_ref() }.ok_or(TuttiResult::NullPointer)?;
        // SAFETY: the strings are NULL or NUL-terminated and live for this call, by contract.
        let (url, room, token, name, invite, udp) = unsafe {
            (
                required(config.server_url)?,
                required(config.room)?,
                optional(config.access_token)?,
                optional(config.display_name)?,
                optional(config.invite)?,
                optional(config.udp_bind)?,
            )
        };
        let room = convert::room_id(room).map_err(|_| TuttiResult::InvalidArgument)?;
        let identity = match (token, name) {
            (Some(token), None) => Identity::Token(token.to_owned()),
            (None, Some(name)) => Identity::Anonymous(name.to_owned()),
            _ => return Err(TuttiResult::InvalidArgument),
        };
        let session_config = JoinSettings {
            invite: invite.map(str::to_owned),
            udp_bind: udp.map(str::to_owned).into_iter().collect(),
            ..JoinSettings::default()
        }
        .session_config()
        .map_err(|_| TuttiResult::InvalidArgument)?;
        match TuttiSession::call(session, |s| {
            s.client.join(url, room, identity, session_config)
        }) {
            TuttiResult::Ok => Ok(()),
            e => Err(e),
        }
    })
}

/// Leaves the room and blocks until every link is closed. Events still queued stay readable;
/// the last is `TUTTI_EVENT_KIND_ENDED`.
///
/// # Safety
/// `session` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_leave(session: *const TuttiSession) -> TuttiResult {
    TuttiSession::call(session, |s| s.client.leave())
}

/// Applies `f` to the peer named by `peer_id`.
///
/// # Safety
/// `peer_id` is NULL or a NUL-terminated string valid during the call.
unsafe fn with_peer(
    session: *const TuttiSession,
    peer_id: *const c_char,
    f: impl FnOnce(&Client, &PeerId) -> Result<(), ClientError>,
) -> TuttiResult {
    boundary(|| {
        // SAFETY: forwarded from the caller's contract.
        let id = unsafe { required(peer_id) }?;
        let peer = convert::peer_id(id).map_err(|_| TuttiResult::InvalidArgument)?;
        match TuttiSession::call(session, |s| f(&s.client, &peer)) {
            TuttiResult::Ok => Ok(()),
            e => Err(e),
        }
    })
}

/// Sets a peer's gain in dB (−∞..=+24), ramped. Any thread.
///
/// # Safety
/// `session` is NULL or a live handle; `peer_id` is NULL or a NUL-terminated string.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_set_peer_gain_db(
    session: *const TuttiSession,
    peer_id: *const c_char,
    gain_db: f32,
) -> TuttiResult {
    // SAFETY: forwarded from this function's contract.
    unsafe { with_peer(session, peer_id, |c, p| c.set_gain_db(p, gain_db)) }
}

/// Sets a peer's pan (mono) or balance (stereo), −1 = left ..= 1 = right. Any thread.
///
/// # Safety
/// As `tutti_session_set_peer_gain_db`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_set_peer_pan(
    session: *const TuttiSession,
    peer_id: *const c_char,
    pan: f32,
) -> TuttiResult {
    // SAFETY: forwarded from this function's contract.
    unsafe { with_peer(session, peer_id, |c, p| c.set_pan(p, pan)) }
}

/// Mutes (`mute` true) or unmutes a peer, ramped. Any thread.
///
/// # Safety
/// As `tutti_session_set_peer_gain_db`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_set_peer_mute(
    session: *const TuttiSession,
    peer_id: *const c_char,
    mute: bool,
) -> TuttiResult {
    // SAFETY: forwarded from this function's contract.
    unsafe { with_peer(session, peer_id, |c, p| c.set_mute(p, mute)) }
}

/// How loud the musician hears their own input (linear gain 0..=15.85, 0 = off, the default).
/// Any thread, joined or not.
///
/// # Safety
/// `session` is NULL or a live handle.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_set_monitor_level(
    session: *const TuttiSession,
    gain: f32,
) -> TuttiResult {
    TuttiSession::call(session, |s| s.client.set_monitor_level(gain))
}

/// Copies the full message of the last error this session returned into `buf` (`len` bytes,
/// NUL-terminated, cut if longer; empty if none). Useful after a refused join.
///
/// # Safety
/// `session` is NULL or a live handle; `buf` is NULL or points to `len` writable bytes.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_last_error(
    session: *const TuttiSession,
    buf: *mut c_char,
    len: usize,
) -> TuttiResult {
    boundary(|| {
        // SAFETY: NULL or a live handle, by contract.
        let session = unsafe { session.as_ref() }.ok_or(TuttiResult::NullPointer)?;
        if buf.is_null() {
            return Err(TuttiResult::NullPointer);
        }
        // SAFETY: non-NULL and `len` writable bytes, by contract.
        let buf = unsafe { std::slice::from_raw_parts_mut(buf, len) };
        copy_into(&lock(&session.last_error), buf);
        Ok(())
    })
}

/// Leaves (blocking) and releases the session, and sets `*session` to NULL; NULL or an
/// already-NULL handle is a no-op. The engine stays valid (it then plays silence).
///
/// # Safety
/// `session` is NULL or points to a handle variable that is NULL or holds a live session that
/// no other thread uses any more. Copies of the handle held elsewhere dangle afterwards.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_free(session: *mut *mut TuttiSession) {
    // SAFETY: forwarded from this function's contract.
    unsafe { super::free_handle(session) }
}

/// Stores `text` as the current event text and returns it; valid until the next call.
pub(crate) fn set_event_text(session: &TuttiSession, text: &str) -> *const c_char {
    let mut slot = lock(&session.event_text);
    *slot = owned(text);
    slot.as_ptr()
}

//! Events by polling and statistics snapshots, as plain `#[repr(C)]` structs.

use std::ffi::c_char;
use std::time::Duration;

use tutti_core::session::transport::LinkState;
use tutti_core::session::{PeerStatistics, SessionEvent};

use super::session::{TuttiSession, set_event_text};
use super::strings::copy_into;
use super::{TuttiResult, boundary};

/// Bytes of a peer-id buffer: the longest id (64 bytes) plus the NUL.
pub const TUTTI_PEER_ID_CAPACITY: usize = 65;

/// What kind of event a `TuttiEvent` holds.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TuttiEventKind {
    /// No event was waiting.
    None = 0,
    /// The server accepted the join (`peer_id` is ours; `rejoined` after a reconnect, `resumed`
    /// when that reconnect kept our peer id and every link).
    Joined = 1,
    /// Someone entered the room (`text` is their display name).
    PeerJoined = 2,
    /// Someone left; their audio stops.
    PeerLeft = 3,
    /// A peer link changed state (`link_state`).
    PeerConnection = 4,
    /// A peer's audio is in the mix now (`frame_us`); its id works with the setters.
    PeerMedia = 5,
    /// Fresh statistics: read them with `tutti_session_statistics`.
    Stats = 6,
    /// A chat line (`text`) from `peer_id`.
    Chat = 7,
    /// The signalling connection broke (`text` says why); retried in `retry_in_ms`.
    SignallingLost = 8,
    /// Something went wrong that the session survives (`text` says what).
    Error = 9,
    /// The session ended after leaving; no more events follow.
    Ended = 10,
}

/// A peer link's state.
#[repr(C)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TuttiLinkState {
    /// Created, nothing negotiated yet.
    New = 0,
    /// ICE/DTLS in progress.
    Connecting = 1,
    /// Media and data can flow.
    Connected = 2,
    /// No traffic for a while; may recover.
    Disconnected = 3,
    /// Gave up; the session restarts ICE.
    Failed = 4,
    /// Closed.
    Closed = 5,
}

impl From<LinkState> for TuttiLinkState {
    fn from(s: LinkState) -> Self {
        match s {
            LinkState::New => Self::New,
            LinkState::Connecting => Self::Connecting,
            LinkState::Connected => Self::Connected,
            LinkState::Disconnected => Self::Disconnected,
            LinkState::Failed => Self::Failed,
            _ => Self::Closed,
        }
    }
}

/// One event. Fields not named by the kind are zero / empty.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TuttiEvent {
    /// What happened.
    pub kind: TuttiEventKind,
    /// The peer concerned (ours for `JOINED`), NUL-terminated; empty if none.
    pub peer_id: [c_char; TUTTI_PEER_ID_CAPACITY],
    /// New link state (`PEER_CONNECTION`).
    pub link_state: TuttiLinkState,
    /// Negotiated frame duration in µs (`PEER_MEDIA`).
    pub frame_us: u32,
    /// Whether the join followed a reconnect (`JOINED`).
    pub rejoined: bool,
    /// Whether that reconnect kept our peer id, so the others noticed nothing and every media
    /// link stayed up (`JOINED`); `false` after a fresh rejoin (new id, links rebuilt).
    pub resumed: bool,
    /// When signalling is retried, ms (`SIGNALLING_LOST`).
    pub retry_in_ms: u32,
    /// Display name, chat text, reason or error message, NUL-terminated UTF-8; never NULL.
    /// Owned by the session: valid until the next `tutti_session_next_event` on the same
    /// session or `tutti_session_free`, whichever comes first. Copy it to keep it.
    pub text: *const c_char,
}

/// Takes the next event, never blocking: `out->kind` is `TUTTI_EVENT_KIND_NONE` when none is
/// waiting. Poll from any thread you like (a UI timer, say) — not the audio thread.
///
/// # Safety
/// `session` is NULL or a live handle; `out` is NULL or points to writable memory for one
/// event.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_next_event(
    session: *const TuttiSession,
    out: *mut TuttiEvent,
) -> TuttiResult {
    boundary(|| {
        // SAFETY: NULL or a live handle / writable event, by contract.
        let (Some(session), false) = (unsafe { session.as_ref() }, out.is_null()) else {
            return Err(TuttiResult::NullPointer);
        };
        let mut event = TuttiEvent {
            kind: TuttiEventKind::None,
            peer_id: [0; TUTTI_PEER_ID_CAPACITY],
            link_state: TuttiLinkState::New,
            frame_us: 0,
            rejoined: false,
            resumed: false,
            retry_in_ms: 0,
            text: std::ptr::null(),
        };
        let mut text = String::new();
        if let Some(e) = session.client.next_event() {
            let mut peer = |id: &str| copy_into(id, &mut event.peer_id);
            event.kind = match e {
                SessionEvent::Joined {
                    peer_id,
                    rejoined,
                    resumed,
                    ..
                } => {
                    peer(peer_id.as_str());
                    event.rejoined = rejoined;
                    event.resumed = resumed;
                    TuttiEventKind::Joined
                }
                SessionEvent::PeerJoined(info) => {
                    peer(info.id.as_str());
                    text = info.display_name;
                    TuttiEventKind::PeerJoined
                }
                SessionEvent::PeerLeft(id) => {
                    peer(id.as_str());
                    TuttiEventKind::PeerLeft
                }
                SessionEvent::PeerConnection { peer: id, state } => {
                    peer(id.as_str());
                    event.link_state = state.into();
                    TuttiEventKind::PeerConnection
                }
                SessionEvent::PeerMedia { peer: id, frame } => {
                    peer(id.as_str());
                    event.frame_us = micros(frame.as_duration()) as u32;
                    TuttiEventKind::PeerMedia
                }
                SessionEvent::Stats(_) => TuttiEventKind::Stats,
                SessionEvent::Chat { from, text: t } => {
                    peer(from.as_str());
                    text = t;
                    TuttiEventKind::Chat
                }
                SessionEvent::SignallingLost { reason, retry_in } => {
                    text = reason;
                    event.retry_in_ms = retry_in.as_millis().min(u128::from(u32::MAX)) as u32;
                    TuttiEventKind::SignallingLost
                }
                SessionEvent::Ended => TuttiEventKind::Ended,
                SessionEvent::Error(e) => {
                    text = e.to_string();
                    TuttiEventKind::Error
                }
                other => {
                    text = format!("{other:?}");
                    TuttiEventKind::Error
                }
            };
        }
        event.text = set_event_text(session, &text);
        // SAFETY: `out` is non-NULL and writable, by contract.
        unsafe { out.write(event) };
        Ok(())
    })
}

/// A statistics snapshot of the session and its engine.
#[repr(C)]
#[derive(Debug, Clone, Copy, Default)]
pub struct TuttiStatistics {
    /// Blocks `tutti_engine_process` has processed.
    pub blocks: u64,
    /// Captured frames lost because the network side fell behind.
    pub capture_overruns: u64,
    /// Events dropped because `tutti_session_next_event` was not polled often enough.
    pub dropped_events: u64,
    /// This engine's own share of mouth-to-ear latency (capture and playback block, codec
    /// frame, lookahead, resampling), µs.
    pub local_latency_us: u64,
    /// Peers in the last statistics event (read each with `tutti_session_peer_statistics`).
    pub peer_count: u32,
}

/// One peer's statistics, as of the last `TUTTI_EVENT_KIND_STATS` event polled. Unknown
/// durations are −1.
#[repr(C)]
#[derive(Debug, Clone, Copy)]
pub struct TuttiPeerStatistics {
    /// The peer, NUL-terminated.
    pub peer_id: [c_char; TUTTI_PEER_ID_CAPACITY],
    /// Link state.
    pub link_state: TuttiLinkState,
    /// Round-trip time from clock sync, µs (−1 until known).
    pub rtt_us: i64,
    /// RTP packets received.
    pub packets_received: u64,
    /// RTP packets lost.
    pub packets_lost: u64,
    /// Loss ratio 0..=1.
    pub loss: f64,
    /// Interarrival jitter, µs.
    pub jitter_us: u64,
    /// Jitter-buffer delay above the fastest path, µs.
    pub buffer_delay_us: u64,
    /// Frames decoded (including recovered from redundancy).
    pub frames_decoded: u64,
    /// Frames concealed.
    pub frames_concealed: u64,
    /// Estimated mouth-to-ear latency from this peer, µs (−1 until known).
    pub latency_us: i64,
}

/// Fills `*out` with the session's statistics. Any thread.
///
/// # Safety
/// `session` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_statistics(
    session: *const TuttiSession,
    out: *mut TuttiStatistics,
) -> TuttiResult {
    boundary(|| {
        // SAFETY: NULL or a live handle, by contract.
        let session = unsafe { session.as_ref() }.ok_or(TuttiResult::NullPointer)?;
        if out.is_null() {
            return Err(TuttiResult::NullPointer);
        }
        let s = session.client.statistics();
        let stats = TuttiStatistics {
            blocks: s.blocks,
            capture_overruns: s.capture_overruns,
            dropped_events: s.dropped_events,
            local_latency_us: micros(s.local_latency.total()),
            peer_count: s.peers.len().min(u32::MAX as usize) as u32,
        };
        // SAFETY: non-NULL and writable, by contract.
        unsafe { out.write(stats) };
        Ok(())
    })
}

/// Fills `*out` with the statistics of peer `index` (0..peer_count of the last
/// `tutti_session_statistics`); `TUTTI_RESULT_INVALID_ARGUMENT` when out of range.
///
/// # Safety
/// `session` is NULL or a live handle; `out` is NULL or writable.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn tutti_session_peer_statistics(
    session: *const TuttiSession,
    index: u32,
    out: *mut TuttiPeerStatistics,
) -> TuttiResult {
    boundary(|| {
        // SAFETY: NULL or a live handle, by contract.
        let session = unsafe { session.as_ref() }.ok_or(TuttiResult::NullPointer)?;
        if out.is_null() {
            return Err(TuttiResult::NullPointer);
        }
        let all = session.client.statistics().peers;
        let peer = all
            .get(index as usize)
            .ok_or(TuttiResult::InvalidArgument)?;
        let stats = peer_statistics(peer);
        // SAFETY: non-NULL and writable, by contract.
        unsafe { out.write(stats) };
        Ok(())
    })
}

fn peer_statistics(p: &PeerStatistics) -> TuttiPeerStatistics {
    let engine = p.engine.unwrap_or_default();
    let known = |d: Option<Duration>| d.map_or(-1, |d| micros(d) as i64);
    let mut out = TuttiPeerStatistics {
        peer_id: [0; TUTTI_PEER_ID_CAPACITY],
        link_state: p.state.into(),
        rtt_us: known(p.rtt),
        packets_received: p.receive.received,
        packets_lost: p.receive.lost,
        loss: p.receive.loss,
        jitter_us: micros(p.receive.jitter),
        buffer_delay_us: micros(engine.buffer_delay()),
        frames_decoded: engine.jitter.frames_decoded + engine.jitter.frames_recovered,
        frames_concealed: engine.jitter.frames_concealed,
        latency_us: known(p.latency.map(|l| l.total())),
    };
    copy_into(p.peer.as_str(), &mut out.peer_id);
    out
}

fn micros(d: Duration) -> u64 {
    d.as_micros().min(u128::from(u64::MAX)) as u64
}

//! A jam session (feature `session`): signalling with the server, a full mesh of WebRTC peer
//! links to the other musicians, and the engine's network half in between.
//!
//! # Task structure
//! The host keeps [`Engine`](crate::engine::Engine) on its audio thread. [`Session::join`]
//! connects to the server's `/signal` WebSocket, waits for the welcome and spawns **one session
//! task** that owns the [`EngineNetwork`](crate::engine::EngineNetwork), the WebSocket and one
//! [`PeerLink`](transport::PeerLink) per remote peer. Each link's events are forwarded, tagged
//! with the peer, into one channel the task drains (RTP is dropped and counted if the task
//! falls behind; control events wait). The task's `select!` loop, highest priority first:
//! pacing tick (drain `poll_packet`, send to every connected link), link events (RTP →
//! `EngineNetwork::receive`; candidates → server; clock-sync probes; state changes), signalling
//! messages, host commands (chat, leave), a reconnect in flight, housekeeping (clock pings,
//! heartbeats, ICE restarts, rejoin), statistics. The [`Session`] handle sets gain, pan, mute
//! and monitor level through [`EngineControl`](crate::engine::EngineControl) by [`PeerId`](crate::protocol::PeerId).
//!
//! # Who offers
//! The newcomer: the welcome lists the peers present and the joining client sends each an
//! offer; peers already in the room only answer. So two peers never offer to each other at once
//! (no glare). ICE restarts come from the side that offered, for the same reason.
//!
//! # Pacing
//! The audio thread cannot wake an async task without a lock or system call on the real-time
//! path. It predicts instead when its next codec frame completes
//! ([`CaptureClock`](crate::engine::CaptureClock), atomics only), and a small `pacer` thread
//! sleeps until then and wakes the task, so a packet leaves ~0.1 ms after its frame is
//! captured. If the prediction stalls the task is still woken every [`SessionConfig::pacing`]
//! (1 ms), the old fixed poll (which [`SessionConfig::capture_wakeup`]` = false` restores).
//!
//! # Robustness
//! - A peer that leaves (or whose link closes) is removed from the engine; the others play on.
//! - A link that reports disconnected/failed is ICE-restarted by its offerer every
//!   [`SessionConfig::ice_restart_interval`] until it recovers.
//! - A lost signalling connection leaves the media links up; the task reconnects with
//!   exponential backoff ([`backoff`]) and rejoins with the last welcome's resume token
//!   (protocol revision 2). If the server hands our id back (`resumed`), every link stays and
//!   the messages for peers written while offline are sent; otherwise (new id) links to peers
//!   the room no longer lists are dropped and the newcomer rule rebuilds the rest. ICE restarts
//!   wait until signalling is back.
//! - A malformed message from the server or a peer becomes a [`SessionEvent::Error`]; the
//!   session keeps running.
//!
//! # Modules
//! - [`transport`] — the [`PeerLink`](transport::PeerLink) trait and its plain-data types: the
//!   engine depends on this, never on a WebRTC crate.
//! - [`webrtc_link`] — the implementation on webrtc-rs 0.21 (tokio).
//! - [`sdp`] — Opus parameters in SDP (stereo, packet durations) and the frame-duration rule.
//! - [`backoff`], [`receive_stats`] — sans-IO reconnect pacing and RTP loss/jitter.
//! - `signalling` (WebSocket client), `mesh` (the task), `handle` ([`Session`]), and the
//!   [`SessionConfig`], [`SessionEvent`] and [`SessionError`] types.
//! - `loopback` (feature `netsim`) — two in-process links for tests and benchmarks.

pub mod backoff;
mod config;
mod error;
mod event;
mod handle;
mod mesh;
mod pacer;
pub mod receive_stats;
pub mod sdp;
mod signalling;
pub mod transport;
pub mod webrtc_link;

#[cfg(feature = "netsim")]
pub mod loopback;

pub use config::{Identity, SessionConfig, TokenSource, Tokens};
pub use error::SessionError;
pub use event::{PeerStatistics, SessionEvent};
pub use handle::Session;
pub use signalling::signal_url;

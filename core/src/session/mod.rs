//! The session's network edge: WebRTC peer links to the other musicians (feature `session`).
//!
//! - [`transport`] — the [`PeerLink`](transport::PeerLink) trait and its plain-data types: the
//!   engine depends on this, never on a WebRTC crate.
//! - [`webrtc_link`] — the implementation on webrtc-rs 0.21 (tokio).
//! - [`sdp`] — Opus parameters in SDP (stereo, packet durations) and the frame-duration rule.
//! - `loopback` (feature `netsim`) — two in-process links for tests and benchmarks.
//!
//! This is the async edge; the protocol, clock-sync and engine logic stay sans-IO and consume
//! [`LinkEvent`](transport::LinkEvent)s from the link's channel.

pub mod sdp;
pub mod transport;
pub mod webrtc_link;

#[cfg(feature = "netsim")]
pub mod loopback;

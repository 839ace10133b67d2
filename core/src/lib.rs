//! Tutti media core: everything between a musician's audio callback and the network.
//!
//! # Layers
//! - [`codec`] — Opus encoder/decoder at 48 kHz with packet-loss concealment.
//! - [`redundancy`] — RFC 2198 framing that repeats the previous 1–2 encoded frames in each packet,
//!   because Opus in-band FEC carries nothing at the ≤ 5 ms frames musicians need.
//! - [`jitter`] — one adaptive playout buffer per remote stream (sans-IO).
//! - [`drift`] — sender/receiver sample-clock ratio estimation and the resampler that absorbs it.
//! - [`playout`] — jitter buffer + decoder + drift resampler: one remote stream to PCM.
//! - [`engine`] — the host-driven `process()` for a DAW/mobile/cpal audio thread, its network
//!   side (encode/packetize, receive) and control handle; wait-free rings between them.
//! - [`mixer`] — N sources to a stereo bus with lock-free parameters and meters.
//! - [`clock_sync`] — NTP-style clock offset and round-trip estimation between peers (sans-IO).
//! - [`protocol`] — versioned signalling and peer-to-peer messages shared with the server (JSON);
//!   always compiled, so the server can use it without `media`.
//! - `client` (feature `session`) — a blocking facade over engine + session, with its own tokio
//!   runtime, for hosts without async (the C API and the uniffi bindings wrap it).
//! - `session` (feature `session`) — the WebRTC peer link behind a small transport trait:
//!   offer/answer, trickle ICE, Opus RTP in/out with arrival times, data channels, ICE restart.
//! - `device` (feature `device`) — sound-card input and output through cpal, driving the same
//!   engine: device listing and choice, small fixed buffers, what the device granted.
//! - `netsim` (feature `netsim`) — seeded network emulator for tests and benchmarks: delay, queue,
//!   jitter presets, loss bursts, reordering, duplication, clock drift and CSV traces.
//!
//! # Time
//! No state machine in this crate reads a clock (only `engine::Engine::process` and
//! `process_at` read `Instant::now()` once per callback: the former as its `now`, the latter
//! only to tell the send pacer the call time). Every one takes `now: Instant` from its caller,
//! so a test can run an hour of network time in a second, reproducibly from a seed, and a DAW host
//! can drive the same code from its own thread.
//!
//! # Real-time rules
//! Everything reachable from the audio path (`JitterBuffer::pop`, `Playout::pop`, `Mixer::mix`,
//! `Decoder::decode`/`conceal`) allocates only in its constructor and never locks, blocks, logs or
//! makes a system call. `tests/realtime.rs` proves it under `assert_no_alloc`, and
//! `tests/device.rs` the sound-card callbacks of the `device` feature.
//!
//! # Features
//! - `media` (default): the audio pipeline; links libopus (built from source with cmake).
//! - `session`: `media` plus the WebRTC peer link (webrtc-rs 0.21 on tokio). Off for the server.
//! - `device`: `media` plus cpal sound-card streams (links ALSA on Linux: `libasound2-dev`).
//!   Off by default and for the server.
//! - `netsim`: the network emulator used by tests and `tutti-bench`; not part of the release API.

#[cfg(feature = "session")]
pub mod client;
pub mod clock_sync;
#[cfg(feature = "media")]
pub mod codec;
#[cfg(feature = "device")]
pub mod device;
#[cfg(feature = "media")]
pub mod drift;
#[cfg(feature = "media")]
pub mod engine;
#[cfg(feature = "media")]
pub mod jitter;
#[cfg(feature = "media")]
pub mod playout;
pub mod protocol;
pub mod redundancy;
pub mod wraparound;

#[cfg(feature = "netsim")]
pub mod netsim;

#[cfg(feature = "session")]
pub mod session;

#[cfg(feature = "media")]
pub mod mixer;

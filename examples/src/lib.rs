//! Shared parts of the Tutti examples: the reference server's HTTP API (log in, create rooms)
//! a WAV-file "sound card" that drives the engine at real-time pace without audio hardware, the
//! impulse measurement behind `e2e-latency`, the process harness tests and benches share, and
//! the packet decisions of `netem-queue` (a userspace `tc netem` for the network-namespace test).
//!
//! Run the `jam` example with: `cargo run --release -p tutti-examples --bin jam -- --help`

pub mod api;
pub mod impulse;
pub mod netem;
pub mod processes;
pub mod wav_host;

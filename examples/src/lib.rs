//! Shared parts of the Tutti examples: the reference server's HTTP API (log in, create rooms)
//! and a WAV-file "sound card" that drives the engine at real-time pace without audio hardware.
//!
//! Run the `jam` example with: `cargo run --release -p tutti-examples --bin jam -- --help`

pub mod api;
pub mod wav_host;

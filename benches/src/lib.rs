//! Benchmarks and evaluation binaries for Tutti; see `benches/README.md` for the recorded figures.

pub mod engine_payloads;
#[cfg(feature = "jam")]
pub mod jam_rig;
pub mod jitter_eval;
#[cfg(feature = "server")]
pub mod recommend_eval;
pub mod reference_policies;
pub mod server_load;

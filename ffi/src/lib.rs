//! Tutti for hosts that do not speak Rust.
//!
//! - [`c_api`] — the C surface for DAW plug-ins; its header `ffi/include/tutti.h` is generated
//!   by cbindgen (`ffi/cbindgen.toml`) and checked for drift by `tests/header.rs`.
//! - [`mobile`] — the uniffi surface for Kotlin, Swift and Python; the bindings are generated
//!   from the built library by the workspace's `uniffi-bindgen` (`bindings/test.sh`).
//! - [`convert`] — plain numbers and strings to core types, shared by both surfaces.
//!
//! This crate only converts: every feature lives in `tutti-core` (the blocking
//! [`Client`](tutti_core::client::Client) and the audio-thread [`Engine`](tutti_core::engine::Engine)).
//! It is the one crate where `unsafe` is allowed, because a C boundary cannot be crossed
//! without it; each block says why it is sound.
#![allow(unsafe_code)]

pub mod c_api;
pub mod convert;
pub mod mobile;

uniffi::setup_scaffolding!("tutti");

//! Tutti for hosts that do not speak Rust.
//!
//! - [`c_api`] — the C surface for DAW plug-ins; its header `ffi/include/tutti.h` is generated
//!   by cbindgen (`ffi/cbindgen.toml`) and checked for drift by `tests/header.rs`.
//!
//! This crate only converts: every feature lives in `tutti-core` (the blocking
//! [`Client`](tutti_core::client::Client) and the audio-thread [`Engine`](tutti_core::engine::Engine)).
//! It is the one crate where `unsafe` is allowed, because a C boundary cannot be crossed
//! without it; each block says why it is sound.
#![allow(unsafe_code)]

pub mod c_api;

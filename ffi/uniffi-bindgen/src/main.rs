//! uniffi's binding generator, built from the workspace so its version always equals the one
//! `tutti-ffi` links (a mismatch fails at load time with a checksum error).
//!
//! Run with: `cargo run -p uniffi-bindgen -- generate --library <libtutti_ffi.so> --language
//! kotlin|swift|python --out-dir <dir>`

fn main() {
    uniffi::uniffi_bindgen_main()
}

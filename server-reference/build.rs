//! Rebuilds the crate when a file is added to or removed from `web/` (the web app embedded by
//! `include_dir!`, which on stable Rust only notices edits to files it already knew).

fn main() {
    println!("cargo:rerun-if-changed=web");
}

//! Arbitrary bytes into the signalling decoders of both sides (`ClientMessage::decode` on the
//! server, `ServerMessage::decode` on the client) and the data-channel decoder
//! (`PeerMessage::decode`). Nothing may panic, and whatever a decoder accepts must re-encode to
//! the same message.
//!
//! Run with: `cargo +nightly fuzz run protocol_decode`

#![no_main]

use libfuzzer_sys::fuzz_target;
use tutti_core::protocol::{ClientMessage, PeerMessage, ServerMessage};

fuzz_target!(|data: &[u8]| {
    if let Ok(m) = ClientMessage::decode(data) {
        let again = ClientMessage::decode(m.encode().as_bytes()).expect("re-decode client");
        assert_eq!(again, m);
    }
    if let Ok(m) = ServerMessage::decode(data) {
        let again = ServerMessage::decode(m.encode().as_bytes()).expect("re-decode server");
        assert_eq!(again, m);
    }
    if let Ok(m) = PeerMessage::decode(data) {
        let again = PeerMessage::decode(m.encode().as_bytes()).expect("re-decode peer");
        assert_eq!(again, m);
    }
});

//! What the tests against a scripted signalling relay share: the wait guard and the relay's
//! welcome message, and a relay that forwards between real sessions (`forwarding`).
#![allow(dead_code, clippy::unwrap_used)]

pub mod forwarding;

use std::time::Duration;

use tutti_core::protocol::{
    ClientKind, FrameSize, PeerId, PeerInfo, RoomId, RoomState, ServerMessage, Welcome,
};

/// Guard for any single wait (generous: the machine may be busy).
pub const GUARD: Duration = Duration::from_secs(30);

/// The welcome a relay sends to the joining peer `id`, alone in `room-1`.
pub fn welcome(id: &str) -> String {
    welcome_with(id, 15_000, None, false)
}

/// A welcome with the given heartbeat interval and resume fields.
pub fn welcome_with(
    id: &str,
    heartbeat_ms: u32,
    resume_token: Option<&str>,
    resumed: bool,
) -> String {
    let me = PeerInfo {
        id: PeerId::new(id).unwrap(),
        display_name: "Ada".into(),
        client: ClientKind::Native,
        frame_sizes: vec![FrameSize::Ms2_5],
    };
    ServerMessage::Welcome(Welcome {
        peer_id: me.id.clone(),
        room: RoomState {
            room: RoomId::new("room-1").unwrap(),
            capacity: 4,
            peers: vec![me],
        },
        ice_servers: vec![],
        heartbeat_interval_ms: heartbeat_ms,
        resume_token: resume_token.map(str::to_owned),
        resumed,
    })
    .encode()
}

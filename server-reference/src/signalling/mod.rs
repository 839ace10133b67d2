//! The signalling relay: a WebSocket at `/signal` speaking `tutti_core::protocol`.
//!
//! A client sends `join` first (an access token, or a display name when
//! `--allow-anonymous-signalling` is on) and receives `welcome` with its peer id, the peers
//! present, ICE servers and the heartbeat interval. From then on the relay forwards
//! `offer`/`answer`/`candidate` to the addressed peer of the same room (with `from`), `chat` to
//! the room, and announces `peer_joined`/`peer_left`. It never looks inside SDP.
//!
//! Resume (protocol revision 2): every welcome carries a resume token for the seat. A client
//! whose connection dropped joins again with `resume: {peer_id, token}` and, if the seat is still
//! held, gets the same peer id back (`resumed: true`) without the others hearing anything —
//! their media links to it stay up. A seat is held while its old connection is still open (that
//! ghost is closed at once) and for `--signal-resume-grace-ms` after a connection is lost
//! without `leave` or a close frame; `peer_left` comes only when that ends. A token that does
//! not match (another account, room or seat, or a restarted server) is not an error: the
//! join is seated afresh, as a client of revision 1 always is.
//!
//! Modules: [`config`] (flags), [`join`] (admission: rate limits, identity, room access),
//! `hub` (the room registry, capacity, ordered bounded delivery, occupancy reports),
//! `connection` (one WebSocket: read loop, writer task, heartbeats, idle timeout), [`ice`]
//! (STUN/TURN servers and TURN credentials), [`metrics`].
//!
//! Limits: the WebSocket read buffer is 4 KiB and writes are not buffered (an idle connection
//! costs a few KB, not the library default of ~130 KB); a message over `MAX_MESSAGE_BYTES` is
//! read, refused with `too_large` and the connection lives on; only a frame beyond
//! [`TRANSPORT_LIMIT`] is cut off and closes the connection.

pub mod config;
mod connection;
mod hub;
pub mod ice;
pub mod join;
pub mod metrics;

use std::sync::Arc;

use axum::extract::State;
use axum::extract::ws::WebSocketUpgrade;
use axum::extract::ws::rejection::WebSocketUpgradeRejection;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use tutti_core::protocol::{MAX_MESSAGE_BYTES, PeerId, RoomId};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use config::SignalConfig;
pub use join::JoinError;

use self::hub::Hub;
use self::ice::IceServers;
use self::join::JoinLimits;
use self::metrics::SignalMetrics;
use crate::AppState;
use crate::error::{ApiError, ErrorBody};
use crate::http::ClientIp;

/// WebSocket read buffer per connection: small, because most connections are idle.
const READ_BUFFER_BYTES: usize = 4 * 1024;
/// Largest frame or message the transport reads at all. Between `MAX_MESSAGE_BYTES` and this,
/// the message is refused with an error reply and the connection stays; beyond it, it closes.
pub const TRANSPORT_LIMIT: usize = 4 * MAX_MESSAGE_BYTES;

/// The relay's shared state (in [`AppState`]); cheap to clone.
#[derive(Debug, Clone)]
pub struct Signalling {
    hub: Arc<Hub>,
    ice: Arc<IceServers>,
    limits: Arc<JoinLimits>,
}

impl Signalling {
    /// Builds the relay from its configuration; the error is the operator's mistake in words.
    pub fn new(config: &SignalConfig) -> Result<Self, String> {
        Ok(Self {
            hub: Arc::default(),
            ice: Arc::new(IceServers::from_config(config)?),
            limits: Arc::new(JoinLimits::per_minute(
                config.signal_join_rate_per_ip,
                config.signal_join_rate_per_account,
            )),
        })
    }

    /// Starts the occupancy writer. Nobody is connected at start, so stored occupancy left over
    /// from a previous run (a crash) is reset first.
    pub async fn start(&self, state: &AppState) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE rooms SET occupancy = 0 WHERE occupancy <> 0")
            .execute(&state.db.pool)
            .await?;
        tokio::spawn(Arc::clone(&self.hub).run_occupancy_writer(state.clone()));
        Ok(())
    }

    /// A room was closed: disconnect its members with `room_closed`.
    pub fn room_closed(&self, room_id: &str) {
        if let Ok(room) = RoomId::new(room_id) {
            self.hub.close_room(&room);
        }
    }

    /// Peers connected to `room_id` now.
    pub fn occupancy(&self, room_id: &str) -> u32 {
        RoomId::new(room_id).map_or(0, |room| self.hub.occupancy(&room))
    }

    /// The relay's counters.
    pub fn metrics(&self) -> &SignalMetrics {
        &self.hub.metrics
    }
}

/// A fresh peer id: 72 random bits, base64url (12 characters of the protocol's id alphabet).
fn new_peer_id() -> PeerId {
    let mut bytes = [0u8; 9];
    rand::fill(&mut bytes);
    PeerId::new(URL_SAFE_NO_PAD.encode(bytes)).expect("base64url is within the id alphabet")
}

/// A fresh resume token: 128 random bits, base64url (22 characters), unguessable.
fn new_resume_token() -> String {
    let mut bytes = [0u8; 16];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Routes of the relay.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(signal))
}

/// The signalling WebSocket. After the upgrade, each text frame is one JSON message of
/// `tutti_core::protocol` (`ClientMessage` in, `ServerMessage` out); the first must be `join`.
#[utoipa::path(get, path = "/signal", tag = "signalling",
    responses((status = 101, description = "switching to the WebSocket signalling protocol"),
              (status = 400, body = ErrorBody, description = "not a WebSocket upgrade")))]
async fn signal(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    upgrade: Result<WebSocketUpgrade, WebSocketUpgradeRejection>,
) -> Response {
    let Ok(upgrade) = upgrade else {
        return ApiError::BadRequest("/signal expects a WebSocket upgrade".into()).into_response();
    };
    upgrade
        .read_buffer_size(READ_BUFFER_BYTES)
        .write_buffer_size(0)
        .max_message_size(TRANSPORT_LIMIT)
        .max_frame_size(TRANSPORT_LIMIT)
        .on_upgrade(move |socket| connection::run(socket, state, ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_ids_are_valid_and_distinct() {
        let a = new_peer_id();
        assert_eq!(a.as_str().len(), 12);
        assert_ne!(a, new_peer_id());
    }
}

//! The lobby feed: Server-Sent Events announcing public rooms opened and closed and occupancy
//! changes, fanned out from one broadcast channel. The rooms module and the signalling relay
//! publish into it; each SSE client holds one receiver.

use std::convert::Infallible;

use axum::extract::State;
use axum::response::sse::{Event, KeepAlive, Sse};
use futures_util::stream::{self, Stream};
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use utoipa::ToSchema;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::AppState;
use crate::rooms::Room;

/// Events buffered per subscriber before a slow one is told to resynchronise.
const CHANNEL_CAPACITY: usize = 256;

/// One lobby event; the SSE `event:` field is the `type`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LobbyEvent {
    /// A public room opened.
    RoomOpened {
        /// The room.
        room: Room,
    },
    /// A public room closed.
    RoomClosed {
        /// Its id.
        room_id: String,
    },
    /// The number of musicians in a public room changed.
    Occupancy {
        /// Room id.
        room_id: String,
        /// Musicians now in the room.
        occupancy: u32,
        /// The room's capacity.
        capacity: u32,
    },
    /// This subscriber fell behind and missed events: reload `GET /api/v1/rooms`.
    Resync,
}

impl LobbyEvent {
    fn name(&self) -> &'static str {
        match self {
            Self::RoomOpened { .. } => "room_opened",
            Self::RoomClosed { .. } => "room_closed",
            Self::Occupancy { .. } => "occupancy",
            Self::Resync => "resync",
        }
    }
}

/// The publishing side of the lobby; cheap to clone.
#[derive(Debug, Clone)]
pub struct Lobby {
    tx: broadcast::Sender<LobbyEvent>,
}

impl Default for Lobby {
    fn default() -> Self {
        Self::new()
    }
}

impl Lobby {
    /// An empty lobby.
    pub fn new() -> Self {
        Self {
            tx: broadcast::channel(CHANNEL_CAPACITY).0,
        }
    }

    /// Sends `event` to every current subscriber (none listening is fine).
    pub fn publish(&self, event: LobbyEvent) {
        let _ = self.tx.send(event);
    }

    /// A new receiver of future events.
    pub fn subscribe(&self) -> broadcast::Receiver<LobbyEvent> {
        self.tx.subscribe()
    }

    /// Number of connected subscribers (exported as a metric).
    pub fn subscribers(&self) -> usize {
        self.tx.receiver_count()
    }
}

/// Routes of the lobby.
pub fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(events))
}

/// Lobby events as Server-Sent Events (`text/event-stream`); each `data:` is a `LobbyEvent`.
#[utoipa::path(get, path = "/api/v1/lobby/events", tag = "lobby",
    responses((status = 200, description = "an endless `text/event-stream` of LobbyEvent",
               content_type = "text/event-stream", body = LobbyEvent)))]
async fn events(
    State(state): State<AppState>,
) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let rx = state.lobby.subscribe();
    let stream = stream::unfold(rx, |mut rx| async move {
        let event = match rx.recv().await {
            Ok(event) => event,
            Err(RecvError::Lagged(_)) => LobbyEvent::Resync,
            Err(RecvError::Closed) => return None,
        };
        let sse = Event::default()
            .event(event.name())
            .json_data(&event)
            .unwrap_or_else(|_| Event::default().event("resync").data("{}"));
        Some((Ok(sse), rx))
    });
    Sse::new(stream).keep_alive(KeepAlive::default())
}

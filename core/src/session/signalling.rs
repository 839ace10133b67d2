//! The client end of the signalling WebSocket (`/signal` on the reference server): connect,
//! send [`ClientMessage`]s, receive [`ServerMessage`]s. Every received frame goes through
//! [`ServerMessage::decode`], so a malformed or oversized message becomes an error value the
//! session logs — never a panic or a dropped connection.

use futures_util::{SinkExt, StreamExt};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

use crate::protocol::{ClientMessage, MAX_MESSAGE_BYTES, ProtocolError, ServerMessage};

use super::error::SessionError;

/// The WebSocket path of the relay.
const SIGNAL_PATH: &str = "/signal";

/// What one read from the server produced.
#[derive(Debug)]
pub(crate) enum Incoming {
    /// A valid message.
    Message(ServerMessage),
    /// A frame that is not a valid message (the server's fault; the connection stays).
    Malformed(ProtocolError),
    /// The connection ended (closed by the server, or broken).
    Closed(String),
}

/// One signalling connection.
pub(crate) struct SignalConnection {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl std::fmt::Debug for SignalConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignalConnection").finish_non_exhaustive()
    }
}

/// The relay's WebSocket URL for a server URL: `http://host:port[/prefix]` →
/// `ws://host:port[/prefix]/signal` (`https` → `wss`); a `ws://`/`wss://` URL is used as given.
pub fn signal_url(server_url: &str) -> Result<String, SessionError> {
    let invalid = |reason| SessionError::InvalidUrl {
        url: server_url.to_owned(),
        reason,
    };
    let url = server_url.trim();
    let (scheme, rest) = url
        .split_once("://")
        .ok_or_else(|| invalid("no scheme (http://, ws://)"))?;
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    if host.is_empty() {
        return Err(invalid("no host"));
    }
    if rest.contains(['?', '#']) {
        return Err(invalid("query strings and fragments are not supported"));
    }
    match scheme.to_ascii_lowercase().as_str() {
        "ws" | "wss" => Ok(url.to_owned()),
        "http" | "https" => {
            let ws_scheme = if scheme.eq_ignore_ascii_case("https") {
                "wss"
            } else {
                "ws"
            };
            Ok(format!(
                "{ws_scheme}://{}{SIGNAL_PATH}",
                rest.trim_end_matches('/')
            ))
        }
        _ => Err(invalid("the scheme must be http, https, ws or wss")),
    }
}

impl SignalConnection {
    /// Opens the WebSocket (Nagle off: offers and candidates are small and latency-bound).
    pub(crate) async fn connect(url: &str) -> Result<Self, SessionError> {
        // A little above the protocol limit, so an oversized message is read and refused by
        // `decode` (logged) rather than breaking the connection.
        let config = WebSocketConfig::default()
            .max_message_size(Some(2 * MAX_MESSAGE_BYTES))
            .max_frame_size(Some(2 * MAX_MESSAGE_BYTES));
        let (ws, _response) = tokio_tungstenite::connect_async_with_config(url, Some(config), true)
            .await
            .map_err(|e| SessionError::Signalling(e.to_string()))?;
        Ok(Self { ws })
    }

    /// Sends one message.
    pub(crate) async fn send(&mut self, message: &ClientMessage) -> Result<(), SessionError> {
        self.ws
            .send(Message::text(message.encode()))
            .await
            .map_err(|e| SessionError::Signalling(e.to_string()))
    }

    /// The next message, skipping WebSocket control frames. Cancel-safe (a `select!` branch).
    pub(crate) async fn recv(&mut self) -> Incoming {
        loop {
            let frame = match self.ws.next().await {
                None => return Incoming::Closed("connection closed".into()),
                Some(Err(e)) => return Incoming::Closed(e.to_string()),
                Some(Ok(frame)) => frame,
            };
            let decoded = match &frame {
                Message::Text(text) => ServerMessage::decode(text.as_bytes()),
                Message::Binary(bytes) => ServerMessage::decode(bytes),
                Message::Close(close) => {
                    return Incoming::Closed(close.as_ref().map_or_else(
                        || "closed by the server".to_owned(),
                        |c| format!("closed by the server: {} {}", c.code, c.reason),
                    ));
                }
                Message::Ping(_) | Message::Pong(_) | Message::Frame(_) => continue,
            };
            return match decoded {
                Ok(message) => Incoming::Message(message),
                Err(e) => Incoming::Malformed(e),
            };
        }
    }

    /// Sends a close frame (best effort).
    pub(crate) async fn close(mut self) {
        let _ = self.ws.close(None).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls_map_to_the_relay_endpoint() {
        let ok = |u: &str| signal_url(u).expect("valid URL");
        assert_eq!(ok("http://127.0.0.1:8080"), "ws://127.0.0.1:8080/signal");
        assert_eq!(ok("http://127.0.0.1:8080/"), "ws://127.0.0.1:8080/signal");
        assert_eq!(
            ok("https://jam.example/tutti"),
            "wss://jam.example/tutti/signal"
        );
        assert_eq!(ok("ws://h:1/custom"), "ws://h:1/custom");
        for bad in ["127.0.0.1:8080", "ftp://h", "http://", "http://h/?x=1"] {
            assert!(
                matches!(signal_url(bad), Err(SessionError::InvalidUrl { .. })),
                "{bad}"
            );
        }
    }
}

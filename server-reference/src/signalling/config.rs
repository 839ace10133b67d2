//! Flags of the signalling relay (flattened into [`crate::Config`]).

use clap::Args;

/// How the signalling relay at `/signal` behaves. Every flag also reads an environment variable.
#[derive(Debug, Clone, Args)]
#[non_exhaustive]
pub struct SignalConfig {
    /// Accept `join` with a display name instead of an access token (off: accounts only).
    #[arg(
        long,
        env = "TUTTI_ALLOW_ANONYMOUS_SIGNALLING",
        default_value_t = false,
        action = clap::ArgAction::Set,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub allow_anonymous_signalling: bool,

    /// STUN server URLs handed to clients (comma-separated), e.g. `stun:stun.example.org:3478`.
    #[arg(long = "stun-url", env = "TUTTI_STUN_URLS", value_delimiter = ',')]
    pub stun_urls: Vec<String>,

    /// TURN server URLs handed to clients (comma-separated), e.g. `turn:turn.example.org:3478`.
    /// Needs `--turn-secret`.
    #[arg(long = "turn-url", env = "TUTTI_TURN_URLS", value_delimiter = ',')]
    pub turn_urls: Vec<String>,

    /// Shared secret of the TURN server (coturn `static-auth-secret` with `use-auth-secret`).
    #[arg(long, env = "TUTTI_TURN_SECRET", hide_env_values = true)]
    pub turn_secret: Option<String>,

    /// Lifetime of the TURN credentials handed out at each join, in seconds.
    #[arg(long, env = "TUTTI_TURN_CREDENTIAL_TTL", default_value_t = 24 * 3600)]
    pub turn_credential_ttl_secs: u64,

    /// How often clients should send a protocol `ping` (and the server a WebSocket ping), in ms.
    #[arg(long, env = "TUTTI_SIGNAL_HEARTBEAT_MS", default_value_t = 15_000)]
    pub signal_heartbeat_ms: u64,

    /// A connection that sends no message for this long is closed (`idle_timeout`), in ms.
    #[arg(long, env = "TUTTI_SIGNAL_IDLE_TIMEOUT_MS", default_value_t = 45_000)]
    pub signal_idle_timeout_ms: u64,

    /// How long the seat of a connection that dropped without `leave` stays reserved for its
    /// client to resume it (same peer id, resume token), in ms; the others hear `peer_left`
    /// only then. 0: at once (a ghost whose connection is still open can always be resumed).
    /// The default covers a client's reconnect (its back-off tops out at 5 s) without showing a
    /// crashed client for long.
    #[arg(long, env = "TUTTI_SIGNAL_RESUME_GRACE_MS", default_value_t = 15_000)]
    pub signal_resume_grace_ms: u64,

    /// Messages queued for one client before it counts as too slow and is disconnected.
    #[arg(long, env = "TUTTI_SIGNAL_QUEUE", default_value_t = 256)]
    pub signal_queue: usize,

    /// Signalling joins allowed per client IP: burst size (refilled over one minute).
    #[arg(long, env = "TUTTI_SIGNAL_JOIN_RATE_PER_IP", default_value_t = 60)]
    pub signal_join_rate_per_ip: u32,

    /// Signalling joins allowed per account: burst size (refilled over one minute).
    #[arg(long, env = "TUTTI_SIGNAL_JOIN_RATE_PER_ACCOUNT", default_value_t = 20)]
    pub signal_join_rate_per_account: u32,
}

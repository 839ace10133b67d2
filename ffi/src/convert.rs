//! Plain numbers and strings to and from `tutti-core` types: the one conversion layer that the
//! C API and the uniffi surface share, so both accept and report exactly the same things.

use std::net::SocketAddr;
use std::time::Duration;

use tutti_core::client::ClientConfig;
use tutti_core::codec::{Channels, FrameDuration};
use tutti_core::engine::EngineConfig;
use tutti_core::protocol::{ErrorCode, PeerId, RoomId};
use tutti_core::session::SessionConfig;

/// A setting a caller passed is out of range; the text says which and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct InvalidSetting(pub &'static str);

/// The engine as a host describes it in plain numbers (a uniffi record; defaults in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, uniffi::Record)]
pub struct EngineSettings {
    /// Host sample rate: 44 100, 48 000 or 96 000 Hz [48 000].
    #[uniffi(default = 48000)]
    pub sample_rate: u32,
    /// Largest block the host passes to `process` [1024].
    #[uniffi(default = 1024)]
    pub max_block_frames: u32,
    /// Input channels captured and sent: 1 or 2 [2].
    #[uniffi(default = 2)]
    pub channels: u32,
    /// Codec frame in µs: 2 500, 5 000, 10 000 or 20 000 [2 500].
    #[uniffi(default = 2500)]
    pub frame_us: u32,
    /// Most remote peers at once [8].
    #[uniffi(default = 8)]
    pub max_peers: u32,
}

impl EngineSettings {
    /// The client configuration these settings describe (the engine checks the rest).
    pub fn client_config(&self) -> Result<ClientConfig, InvalidSetting> {
        let channels = match self.channels {
            1 => Channels::Mono,
            2 => Channels::Stereo,
            _ => return Err(InvalidSetting("channels must be 1 or 2")),
        };
        let frame = frame_from_us(self.frame_us).ok_or(InvalidSetting(
            "frame_us must be 2500, 5000, 10000 or 20000",
        ))?;
        let defaults = ClientConfig::default();
        let mut engine = EngineConfig {
            host_rate: self.sample_rate,
            max_block_frames: usize::try_from(self.max_block_frames)
                .map_err(|_| InvalidSetting("max_block_frames is too large"))?,
            max_peers: usize::try_from(self.max_peers)
                .map_err(|_| InvalidSetting("max_peers is too large"))?,
            ..defaults.engine
        };
        engine.encoder.channels = channels;
        engine.encoder.frame = frame;
        Ok(ClientConfig { engine, ..defaults })
    }
}

/// The session knobs a host may set; everything else keeps [`SessionConfig::default`]
/// (a uniffi record; every field has a default).
#[derive(Debug, Clone, Default, PartialEq, Eq, uniffi::Record)]
pub struct JoinSettings {
    /// Invite token of a private room.
    #[uniffi(default = None)]
    pub invite: Option<String>,
    /// Local UDP addresses for the peer links (`ip:port`, port 0 = any); empty = all
    /// interfaces except loopback.
    #[uniffi(default = [])]
    pub udp_bind: Vec<String>,
    /// How long the join may take, ms (0 = the default, 10 s).
    #[uniffi(default = 0)]
    pub join_timeout_ms: u64,
    /// How often statistics are reported, ms (0 = the default, 1 s).
    #[uniffi(default = 0)]
    pub stats_interval_ms: u64,
}

impl JoinSettings {
    /// The session configuration these settings describe.
    pub fn session_config(&self) -> Result<SessionConfig, InvalidSetting> {
        let mut config = SessionConfig {
            invite: self.invite.clone(),
            ..SessionConfig::default()
        };
        if self.join_timeout_ms > 0 {
            config.join_timeout = Duration::from_millis(self.join_timeout_ms);
        }
        if self.stats_interval_ms > 0 {
            config.stats_interval = Duration::from_millis(self.stats_interval_ms);
        }
        if !self.udp_bind.is_empty() {
            config.link.udp_addrs = self
                .udp_bind
                .iter()
                .map(|a| a.parse::<SocketAddr>())
                .collect::<Result<_, _>>()
                .map_err(|_| InvalidSetting("udp_bind entries must be ip:port"))?;
        }
        Ok(config)
    }
}

/// A room id from a caller's string.
pub fn room_id(room: &str) -> Result<RoomId, InvalidSetting> {
    RoomId::new(room).map_err(|_| {
        InvalidSetting("room id must be 1..=64 ASCII letters, digits, '-', '_' or '.'")
    })
}

/// A peer id from a caller's string.
pub fn peer_id(peer: &str) -> Result<PeerId, InvalidSetting> {
    PeerId::new(peer).map_err(|_| InvalidSetting("not a valid peer id"))
}

/// The frame duration for a length in µs, if Opus has it.
pub fn frame_from_us(us: u32) -> Option<FrameDuration> {
    [
        FrameDuration::Ms2_5,
        FrameDuration::Ms5,
        FrameDuration::Ms10,
        FrameDuration::Ms20,
    ]
    .into_iter()
    .find(|f| f.as_duration() == Duration::from_micros(u64::from(us)))
}

/// A frame duration in µs.
pub fn frame_us(frame: FrameDuration) -> u32 {
    u32::try_from(frame.as_duration().as_micros()).unwrap_or(u32::MAX)
}

/// A duration in milliseconds, fractional (what statistics displays want).
pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// The server's stable wire string for an error code (`room_full`, `unauthorized`, …).
pub fn error_code(code: ErrorCode) -> String {
    match serde_json::to_value(code) {
        Ok(serde_json::Value::String(s)) => s,
        _ => "unknown".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_odd_lengths_are_refused() {
        for us in [2_500, 5_000, 10_000, 20_000] {
            let frame = frame_from_us(us).expect("an Opus frame");
            assert_eq!(frame_us(frame), us);
        }
        assert_eq!(frame_from_us(3_000), None);
    }

    #[test]
    fn error_codes_are_the_wire_strings() {
        assert_eq!(error_code(ErrorCode::RoomNotFound), "room_not_found");
        assert_eq!(error_code(ErrorCode::Unauthorized), "unauthorized");
    }

    #[test]
    fn settings_out_of_range_are_refused() {
        let good = EngineSettings {
            sample_rate: 48_000,
            max_block_frames: 256,
            channels: 1,
            frame_us: 2_500,
            max_peers: 4,
        };
        let config = good.client_config().expect("valid settings");
        assert_eq!(config.engine.encoder.channels, Channels::Mono);
        assert!(
            EngineSettings {
                channels: 3,
                ..good
            }
            .client_config()
            .is_err()
        );
        let join = JoinSettings {
            udp_bind: vec!["nonsense".into()],
            ..JoinSettings::default()
        };
        assert!(join.session_config().is_err());
    }
}

//! ICE servers handed to clients in `welcome`: STUN URLs as configured, and TURN URLs with
//! short-lived credentials derived from a secret shared with the TURN server — the "TURN REST
//! API" scheme that coturn checks with `use-auth-secret`:
//! username = `<expiry unix time>:<user id>`, credential = base64(HMAC-SHA1(secret, username)).
//! The TURN server needs no database of users, and a leaked credential expires by itself.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha1::Sha1;
use tutti_core::protocol::{IceServer, MAX_ICE_SERVERS};

use super::config::SignalConfig;

/// Longest ICE server URL the protocol accepts, in bytes.
const MAX_URL_BYTES: usize = 512;

/// The configured STUN/TURN servers; builds each join's list.
#[derive(Clone)]
pub struct IceServers {
    stun: Vec<String>,
    turn: Vec<String>,
    secret: Vec<u8>,
    ttl_secs: u64,
}

impl std::fmt::Debug for IceServers {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IceServers")
            .field("stun", &self.stun)
            .field("turn", &self.turn)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl IceServers {
    /// Checks the URLs (scheme, printable ASCII, length, count) and that TURN has a secret.
    /// The error is the operator's mistake, in words.
    pub fn from_config(config: &SignalConfig) -> Result<Self, String> {
        let clean = |urls: &[String], schemes: &[&str]| -> Result<Vec<String>, String> {
            let urls: Vec<String> = urls
                .iter()
                .map(|u| u.trim().to_owned())
                .filter(|u| !u.is_empty())
                .collect();
            if urls.len() > MAX_ICE_SERVERS {
                return Err(format!("at most {MAX_ICE_SERVERS} ICE URLs of each kind"));
            }
            for url in &urls {
                let scheme_ok = schemes.iter().any(|s| url.starts_with(s));
                if !scheme_ok
                    || url.len() > MAX_URL_BYTES
                    || !url.bytes().all(|b| b.is_ascii_graphic())
                {
                    return Err(format!(
                        "invalid ICE URL {url:?} (expected {} and printable ASCII)",
                        schemes.join(" or ")
                    ));
                }
            }
            Ok(urls)
        };
        let stun = clean(&config.stun_urls, &["stun:", "stuns:"])?;
        let turn = clean(&config.turn_urls, &["turn:", "turns:"])?;
        let secret = config.turn_secret.clone().unwrap_or_default().into_bytes();
        if !turn.is_empty() && secret.is_empty() {
            return Err("TURN URLs need --turn-secret (the TURN server's auth secret)".into());
        }
        Ok(Self {
            stun,
            turn,
            secret,
            ttl_secs: config.turn_credential_ttl_secs.max(1),
        })
    }

    /// The list for one join: credentials for `user` valid until `now_unix + ttl`.
    pub fn for_user(&self, user: &str, now_unix: u64) -> Vec<IceServer> {
        let mut servers = Vec::with_capacity(2);
        if !self.stun.is_empty() {
            servers.push(IceServer {
                urls: self.stun.clone(),
                username: None,
                credential: None,
            });
        }
        if !self.turn.is_empty() {
            let (username, credential) =
                turn_credentials(&self.secret, user, now_unix.saturating_add(self.ttl_secs));
            servers.push(IceServer {
                urls: self.turn.clone(),
                username: Some(username),
                credential: Some(credential),
            });
        }
        servers
    }
}

/// TURN REST credentials: (`<expires_at>:<user>`, base64(HMAC-SHA1(secret, username))).
pub fn turn_credentials(secret: &[u8], user: &str, expires_at: u64) -> (String, String) {
    let username = format!("{expires_at}:{user}");
    let credential = STANDARD.encode(hmac_sha1(secret, username.as_bytes()));
    (username, credential)
}

fn hmac_sha1(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut mac = Hmac::<Sha1>::new_from_slice(key).expect("HMAC accepts keys of any length");
    mac.update(message);
    mac.finalize().into_bytes().to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[test]
    fn hmac_sha1_matches_rfc_2202() {
        // RFC 2202 test case 2: HMAC-SHA1("Jefe", "what do ya want for nothing?")
        // = effcdf6ae5eb2fa2d27416d5f184df9c259a7c79, which is 7/zfauXrL6LSdBbV8YTfnCWafHk= in base64.
        assert_eq!(
            STANDARD.encode(hmac_sha1(b"Jefe", b"what do ya want for nothing?")),
            "7/zfauXrL6LSdBbV8YTfnCWafHk="
        );
    }

    #[test]
    fn turn_credentials_follow_the_coturn_scheme() {
        // Computed independently: base64(HMAC-SHA1("north-secret", "1700086400:user-42")).
        let (username, credential) = turn_credentials(b"north-secret", "user-42", 1_700_086_400);
        assert_eq!(username, "1700086400:user-42");
        assert_eq!(credential, "IBmpZpBdb0bB/3DSBiyaLjj1mPU=");
    }

    fn config(args: &[&str]) -> SignalConfig {
        let mut argv = vec!["tutti-server"];
        argv.extend_from_slice(args);
        crate::Config::parse_from(argv).signalling
    }

    #[test]
    fn servers_carry_expiring_credentials() {
        let ice = IceServers::from_config(&config(&[
            "--stun-url",
            "stun:stun.example.org:3478",
            "--turn-url",
            "turn:turn.example.org:3478,turns:turn.example.org:5349",
            "--turn-secret",
            "north-secret",
            "--turn-credential-ttl-secs",
            "86400",
        ]))
        .expect("valid");
        let servers = ice.for_user("user-42", 1_700_000_000);
        assert_eq!(servers.len(), 2);
        assert_eq!(servers[0].urls, ["stun:stun.example.org:3478"]);
        assert_eq!(servers[0].username, None);
        assert_eq!(servers[1].urls.len(), 2);
        assert_eq!(servers[1].username.as_deref(), Some("1700086400:user-42"));
        assert_eq!(
            servers[1].credential.as_deref(),
            Some("IBmpZpBdb0bB/3DSBiyaLjj1mPU=")
        );
    }

    #[test]
    fn bad_configuration_is_refused() {
        for args in [
            &["--turn-url", "turn:t.example.org"][..],
            &["--stun-url", "http://example.org"],
            &["--stun-url", "stun:a b"],
        ] {
            assert!(IceServers::from_config(&config(args)).is_err(), "{args:?}");
        }
        let none = IceServers::from_config(&config(&[])).expect("no ICE servers is fine");
        assert!(none.for_user("u", 0).is_empty());
    }
}

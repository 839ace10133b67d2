//! Access tokens (HS256 JWTs, short-lived) and opaque random tokens (refresh and invite tokens,
//! stored only as SHA-256 hashes).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::ApiError;

/// Issuer written into and required from every access token.
const ISSUER: &str = "tutti-server";

/// The claims of an access token.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Claims {
    /// User id.
    pub sub: String,
    /// Session (refresh-token family) id: revoking the session revokes the token at once.
    pub sid: String,
    /// Issuer, always `tutti-server`.
    pub iss: String,
    /// Issued at, Unix seconds.
    pub iat: i64,
    /// Expires at, Unix seconds.
    pub exp: i64,
}

/// The HS256 key pair and the validation rules; only HS256 is accepted.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    ttl_secs: i64,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl AccessTokens {
    /// Keys from `secret`; tokens live `ttl_secs`.
    pub fn new(secret: &[u8], ttl_secs: u64) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[ISSUER]);
        validation.set_required_spec_claims(&["exp", "iss", "sub"]);
        validation.leeway = 5;
        Self {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
            ttl_secs: i64::try_from(ttl_secs).unwrap_or(i64::MAX),
        }
    }

    /// Lifetime of a new token in seconds.
    pub fn ttl_secs(&self) -> i64 {
        self.ttl_secs
    }

    /// Signs a token for `user_id` in `session_id`, issued at `now` (Unix seconds).
    pub fn issue(&self, user_id: &str, session_id: &str, now: i64) -> Result<String, ApiError> {
        let claims = Claims {
            sub: user_id.to_owned(),
            sid: session_id.to_owned(),
            iss: ISSUER.to_owned(),
            iat: now,
            exp: now.saturating_add(self.ttl_secs),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|e| ApiError::Internal(format!("signing failed: {e}")))
    }

    /// Checks signature, algorithm, issuer and expiry. Revocation is checked by the caller
    /// against the session table.
    pub fn verify(&self, token: &str) -> Result<Claims, ApiError> {
        jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => ApiError::Unauthorized {
                    code: "token_expired",
                    message: "access token expired; refresh it",
                },
                _ => ApiError::invalid_token(),
            })
    }
}

/// A new random opaque token (256 bits, base64url).
pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    rand::fill(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// The stored form of an opaque token: SHA-256, hex. Tokens carry 256 bits of entropy, so a
/// fast hash suffices (no salt or key stretching needed).
pub fn token_hash(token: &str) -> String {
    let digest = Sha256::digest(token.as_bytes());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_tokens_verify_and_carry_their_session() {
        let keys = AccessTokens::new(&[7; 32], 900);
        let now = jsonwebtoken::get_current_timestamp() as i64;
        let token = keys.issue("u1", "s1", now).expect("sign");
        let claims = keys.verify(&token).expect("verify");
        assert_eq!((claims.sub.as_str(), claims.sid.as_str()), ("u1", "s1"));
        assert!(AccessTokens::new(&[8; 32], 900).verify(&token).is_err());
    }

    #[test]
    fn token_hashes_are_stable_hex() {
        assert_eq!(token_hash("abc").len(), 64);
        assert_eq!(token_hash("abc"), token_hash("abc"));
        assert_ne!(random_token(), random_token());
    }
}

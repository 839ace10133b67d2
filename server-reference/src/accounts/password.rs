//! Password hashing with argon2id (the crate's defaults: m = 19 MiB, t = 2, p = 1).
//!
//! Hashing costs tens of milliseconds of CPU, so it runs on the blocking pool, never on the
//! async workers that serve other requests.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::{PasswordHasher, PasswordVerifier};

use crate::error::ApiError;

/// Hashes `password` into a PHC string with a fresh random salt.
pub async fn hash(password: String) -> Result<String, ApiError> {
    tokio::task::spawn_blocking(move || {
        Argon2::default()
            .hash_password(password.as_bytes())
            .map(|h| h.to_string())
            .map_err(|e| ApiError::Internal(format!("password hashing failed: {e}")))
    })
    .await
    .map_err(|e| ApiError::Internal(format!("hashing task failed: {e}")))?
}

/// Whether `password` matches `phc`. An unparseable stored hash (e.g. a demo account's
/// placeholder) never matches. With `phc = None` (unknown email) a dummy hash is checked so
/// the response takes as long as for a real account.
pub async fn verify(password: String, phc: Option<String>) -> Result<bool, ApiError> {
    tokio::task::spawn_blocking(move || {
        let known = phc.is_some();
        let phc = phc.unwrap_or_else(|| dummy_hash().to_owned());
        let ok = Argon2::default()
            .verify_password(password.as_bytes(), phc.as_str())
            .is_ok();
        known && ok
    })
    .await
    .map_err(|e| ApiError::Internal(format!("verification task failed: {e}")))
}

/// A valid hash of a random password, computed once.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| {
        let mut pw = [0u8; 16];
        rand::fill(&mut pw);
        Argon2::default()
            .hash_password(&pw)
            .map(|h| h.to_string())
            .unwrap_or_default()
    })
}

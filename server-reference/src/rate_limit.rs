//! Keyed rate limits (GCRA: a token bucket kept as one "theoretical arrival time" per key).
//!
//! Our own ~60 lines rather than `tower_governor`: the per-account limit is keyed by the email in
//! the JSON body, which a tower layer cannot see before the handler parses it, and both limits
//! should share one mechanism. Sans-IO: `check` takes `now`, so tests need no clock.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::error::ApiError;

/// Allows `burst` requests per key at once, refilled evenly over `period`.
#[derive(Debug)]
pub struct KeyedLimiter {
    interval: Duration,
    tolerance: Duration,
    tat: Mutex<HashMap<String, Instant>>,
}

/// Keys beyond this many trigger pruning of fully refilled entries.
const PRUNE_ABOVE: usize = 10_000;

impl KeyedLimiter {
    /// A limiter allowing `burst` (at least 1) requests per key per `period`.
    pub fn new(burst: u32, period: Duration) -> Self {
        let burst = burst.max(1);
        Self {
            interval: period / burst,
            tolerance: period,
            tat: Mutex::new(HashMap::new()),
        }
    }

    /// Counts one request for `key` at `now`; `Err(wait)` when over the limit.
    pub fn check(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let mut map = self
            .tat
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() > PRUNE_ABOVE {
            map.retain(|_, tat| *tat > now);
        }
        let tat = map.get(key).copied().unwrap_or(now).max(now);
        let allowed_at = (tat + self.interval)
            .checked_sub(self.tolerance)
            .unwrap_or(now);
        if allowed_at > now {
            return Err(allowed_at - now);
        }
        map.insert(key.to_owned(), tat + self.interval);
        Ok(())
    }
}

/// The two limits on authentication endpoints.
#[derive(Debug)]
pub struct AuthLimits {
    /// Per client IP address.
    pub per_ip: KeyedLimiter,
    /// Per account (normalised email).
    pub per_account: KeyedLimiter,
}

impl AuthLimits {
    /// Limits allowing the given bursts per minute.
    pub fn per_minute(per_ip: u32, per_account: u32) -> Self {
        let minute = Duration::from_secs(60);
        Self {
            per_ip: KeyedLimiter::new(per_ip, minute),
            per_account: KeyedLimiter::new(per_account, minute),
        }
    }

    /// Counts one auth request from `ip` (and for `account`, if known); 429 when over a limit.
    pub fn check(&self, ip: IpAddr, account: Option<&str>) -> Result<(), ApiError> {
        let now = Instant::now();
        let ip_key = ip.to_string();
        let verdict = self
            .per_ip
            .check(&ip_key, now)
            .and_then(|()| match account {
                Some(account) => self.per_account.check(account, now),
                None => Ok(()),
            });
        verdict.map_err(|wait| ApiError::RateLimited {
            retry_after_secs: wait.as_secs() + 1,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn burst_then_refill() {
        let limiter = KeyedLimiter::new(3, Duration::from_secs(60));
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(limiter.check("a", t0).is_ok());
        }
        let wait = limiter
            .check("a", t0)
            .expect_err("fourth request in a burst of 3");
        assert_eq!(wait, Duration::from_secs(20));
        assert!(limiter.check("b", t0).is_ok(), "keys are independent");
        assert!(limiter.check("a", t0 + Duration::from_secs(20)).is_ok());
        assert!(limiter.check("a", t0 + Duration::from_secs(20)).is_err());
    }
}

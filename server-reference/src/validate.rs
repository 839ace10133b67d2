//! Input validation helpers shared by the resource modules, each failing with a 400 that names
//! the field, and the pagination query.

use std::fmt::Display;

use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, ApiResult};

/// Largest page size.
pub const MAX_PAGE: u32 = 100;

/// Fails unless `value` has between `min` and `max` characters.
pub fn check_len(field: &str, value: &str, min: usize, max: usize) -> ApiResult<()> {
    let n = value.chars().count();
    if n < min || n > max {
        return Err(ApiError::BadRequest(format!(
            "`{field}` must have {min} to {max} characters"
        )));
    }
    Ok(())
}

/// Like [`check_len`] with a minimum of 1, for optional fields.
pub fn check_optional_len(field: &str, value: Option<&str>, max: usize) -> ApiResult<()> {
    value.map_or(Ok(()), |v| check_len(field, v, 1, max))
}

/// Fails unless `min <= value <= max`.
pub fn check_range<T: PartialOrd + Display>(
    field: &str,
    value: T,
    min: T,
    max: T,
) -> ApiResult<()> {
    if value < min || value > max {
        return Err(ApiError::BadRequest(format!(
            "`{field}` must be between {min} and {max}"
        )));
    }
    Ok(())
}

/// Fails unless a list has at most `max` entries, each 1 to `max_len` characters.
pub fn check_list(field: &str, values: &[String], max: usize, max_len: usize) -> ApiResult<()> {
    if values.len() > max {
        return Err(ApiError::BadRequest(format!(
            "`{field}` may have at most {max} entries"
        )));
    }
    values
        .iter()
        .try_for_each(|v| check_len(field, v, 1, max_len))
}

/// Pagination: `?limit=…&offset=…`.
#[derive(Debug, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct Page {
    /// Items per page, 1–100 (default 50).
    pub limit: Option<u32>,
    /// Items to skip (default 0).
    pub offset: Option<u32>,
}

impl Page {
    /// `(limit, offset)` as SQL parameters, validated.
    pub fn bounds(&self) -> ApiResult<(i64, i64)> {
        let limit = self.limit.unwrap_or(50);
        check_range("limit", limit, 1, MAX_PAGE)?;
        Ok((i64::from(limit), i64::from(self.offset.unwrap_or(0))))
    }
}

/// Fails unless `url` is an `http://` or `https://` URL of at most 2048 characters without
/// whitespace.
pub fn check_http_url(field: &str, url: &str) -> ApiResult<()> {
    check_len(field, url, 1, 2048)?;
    let scheme_ok = url.starts_with("https://") || url.starts_with("http://");
    if !scheme_ok || url.chars().any(char::is_whitespace) {
        return Err(ApiError::BadRequest(format!(
            "`{field}` must be an http(s) URL"
        )));
    }
    Ok(())
}

/// Fails unless `tz` looks like an IANA time zone name (`Europe/Berlin`).
pub fn check_time_zone(field: &str, tz: &str) -> ApiResult<()> {
    check_len(field, tz, 1, 64)?;
    let ok = tz
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "/_+-".contains(c))
        && tz.starts_with(|c: char| c.is_ascii_alphabetic());
    if !ok {
        return Err(ApiError::BadRequest(format!(
            "`{field}` must be an IANA name like Europe/Berlin"
        )));
    }
    Ok(())
}

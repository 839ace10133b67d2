//! `/metrics` in the Prometheus text format: request counts by route and status, a request
//! latency histogram by route, rate-limit rejections and lobby subscribers.
//!
//! A few mutex-guarded maps rather than a metrics crate: the set of series is small and fixed
//! by the routes, and the text format is a dozen lines to write.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::AppState;

/// Upper bounds of the latency histogram buckets, in seconds.
const BUCKETS: [f64; 10] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 5.0];

#[derive(Debug, Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

#[derive(Debug, Default)]
struct Series {
    /// (method, route, status) → count.
    requests: BTreeMap<(String, String, u16), u64>,
    /// route → latency histogram.
    latency: BTreeMap<String, Histogram>,
    /// scope → rejections.
    rate_limited: BTreeMap<&'static str, u64>,
}

/// The server's metrics registry.
#[derive(Debug, Default)]
pub struct Metrics {
    series: Mutex<Series>,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Series) -> R) -> R {
        f(&mut self
            .series
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner))
    }

    /// Records one finished request.
    pub fn record(&self, method: &str, route: &str, status: u16, seconds: f64) {
        self.with(|s| {
            *s.requests
                .entry((method.to_owned(), route.to_owned(), status))
                .or_default() += 1;
            let h = s.latency.entry(route.to_owned()).or_default();
            h.count += 1;
            h.sum += seconds;
            for (bound, count) in BUCKETS.iter().zip(h.counts.iter_mut()) {
                if seconds <= *bound {
                    *count += 1;
                }
            }
        });
    }

    /// Records a request refused by a rate limit.
    pub fn rate_limited(&self, scope: &'static str) {
        self.with(|s| *s.rate_limited.entry(scope).or_default() += 1);
    }

    /// The text exposition, with `lobby_subscribers` as a gauge.
    pub fn render(&self, lobby_subscribers: usize) -> String {
        let mut out = String::new();
        self.with(|s| {
            let _ = writeln!(out, "# HELP tutti_http_requests_total HTTP requests by method, route and status.");
            let _ = writeln!(out, "# TYPE tutti_http_requests_total counter");
            for ((method, route, status), n) in &s.requests {
                let _ = writeln!(out, "tutti_http_requests_total{{method=\"{method}\",route=\"{route}\",status=\"{status}\"}} {n}");
            }
            let _ = writeln!(out, "# HELP tutti_http_request_duration_seconds Time to the response head, by route.");
            let _ = writeln!(out, "# TYPE tutti_http_request_duration_seconds histogram");
            for (route, h) in &s.latency {
                for (bound, n) in BUCKETS.iter().zip(h.counts) {
                    let _ = writeln!(out, "tutti_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{bound}\"}} {n}");
                }
                let _ = writeln!(out, "tutti_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}", h.count);
                let _ = writeln!(out, "tutti_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
                let _ = writeln!(out, "tutti_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
            }
            let _ = writeln!(out, "# HELP tutti_rate_limited_total Requests refused with 429, by scope.");
            let _ = writeln!(out, "# TYPE tutti_rate_limited_total counter");
            for (scope, n) in &s.rate_limited {
                let _ = writeln!(out, "tutti_rate_limited_total{{scope=\"{scope}\"}} {n}");
            }
        });
        let _ = writeln!(
            out,
            "# HELP tutti_lobby_subscribers Connected lobby SSE clients."
        );
        let _ = writeln!(out, "# TYPE tutti_lobby_subscribers gauge");
        let _ = writeln!(out, "tutti_lobby_subscribers {lobby_subscribers}");
        out
    }
}

/// Middleware recording every request under its route pattern (never the raw path, which could
/// carry ids and would make the series unbounded).
pub async fn track(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let start = Instant::now();
    let method = request.method().as_str().to_owned();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let response = next.run(request).await;
    state.metrics.record(
        &method,
        &route,
        response.status().as_u16(),
        start.elapsed().as_secs_f64(),
    );
    response
}

/// The Prometheus scrape endpoint.
pub async fn render(State(state): State<AppState>) -> impl IntoResponse {
    (
        [(CONTENT_TYPE, "text/plain; version=0.0.4; charset=utf-8")],
        state.metrics.render(state.lobby.subscribers()) + &state.signalling.metrics().render(),
    )
}

//! Part (b): venue searches and profile reads at a fixed request rate, open loop.
//!
//! Requests are scheduled at exact times (`rate` per second) whether or not earlier ones have
//! answered, queued to a fixed set of keep-alive HTTP/1.1 connections, and each latency runs
//! from the request's *scheduled* time to the end of its reply body: a stalled server shows up
//! as queueing delay instead of silently lowering the rate (no coordinated omission). Before the
//! load, the same kinds of request run one at a time to give the unloaded service time.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;
use rand::{RngExt, SeedableRng};
use rand_chacha::ChaCha8Rng;
use tokio::net::TcpStream;
use tokio::sync::{Mutex, mpsc};
use tokio::time::Instant;
use tutti_server::venues::generate::CITIES;

use super::cpu_seconds;

/// The target: p99 latency at 1,000 requests/s.
pub const TARGET_P99_MS: f64 = 10.0;
/// Share of requests that are venue searches; the rest are profile reads.
const SEARCH_SHARE: f64 = 0.7;
/// Unloaded requests of each kind, one at a time, before the load.
const UNLOADED_REQUESTS: usize = 400;

/// How hard and how long to load.
#[derive(Debug, Clone)]
pub struct LoadPlan {
    /// Requests per second, all kinds together.
    pub rate: f64,
    /// Seconds of load before measuring (connections, caches, pools warm up).
    pub warmup: Duration,
    /// Seconds measured.
    pub duration: Duration,
    /// Keep-alive connections the requests are spread over.
    pub connections: usize,
    /// Seed of the request mix.
    pub seed: u64,
}

/// The kind of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Search,
    Profile,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Self::Search => "venue search",
            Self::Profile => "profile read",
        }
    }
}

/// One planned request.
#[derive(Debug, Clone)]
struct Request {
    kind: Kind,
    path: String,
}

/// One answered (or failed) request.
#[derive(Debug, Clone, Copy)]
struct Record {
    kind: Kind,
    latency: Duration,
    ok: bool,
    /// Venue searches: matches in the area after filters (`total` of the reply).
    matches: Option<u64>,
    /// When the reply was complete.
    done: Instant,
}

/// Latency and rate of one kind of request.
#[derive(Debug, Clone, serde::Serialize)]
pub struct KindReport {
    /// `venue search`, `profile read` or `all`.
    pub kind: &'static str,
    /// Requests answered with 200.
    pub ok: usize,
    /// Requests that failed or got another status.
    pub errors: usize,
    /// Answered requests per second: from the window's start to the last reply.
    pub achieved_per_s: f64,
    /// Median latency, ms.
    pub p50_ms: f64,
    /// 99th percentile, ms.
    pub p99_ms: f64,
    /// Slowest, ms.
    pub max_ms: f64,
    /// Venue searches: mean matches per search (venues within the radius after filters).
    pub mean_matches: Option<f64>,
    /// Venue searches: 99th percentile of matches.
    pub p99_matches: Option<u64>,
}

/// Unloaded searches whose match count falls in `[from, to)`: how latency grows with the
/// number of venues a search has to rank.
#[derive(Debug, Clone, serde::Serialize)]
pub struct MatchBucket {
    /// Fewest matches in the bucket.
    pub from: u64,
    /// Bound above (exclusive).
    pub to: u64,
    /// Searches in the bucket.
    pub searches: usize,
    /// Their median latency, ms.
    pub p50_ms: f64,
}

/// Bucket edges of [`MatchBucket`].
const MATCH_EDGES: [u64; 5] = [0, 100, 400, 1_000, u64::MAX];

fn by_matches(records: &[Record]) -> Vec<MatchBucket> {
    MATCH_EDGES
        .windows(2)
        .map(|w| {
            let mut latencies = records
                .iter()
                .filter(|r| r.matches.is_some_and(|m| (w[0]..w[1]).contains(&m)))
                .map(|r| r.latency)
                .collect::<Vec<_>>();
            latencies.sort_unstable();
            MatchBucket {
                from: w[0],
                to: w[1],
                searches: latencies.len(),
                p50_ms: percentile(&latencies, 0.5).map_or(f64::NAN, |d| d.as_secs_f64() * 1e3),
            }
        })
        .collect()
}

/// What part (b) measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct HttpReport {
    /// `sqlite` or `postgres`.
    pub backend: String,
    /// Venues stored.
    pub venues: usize,
    /// Profiles stored.
    pub profiles: usize,
    /// Offered rate, requests/s.
    pub offered_per_s: f64,
    /// Measured seconds (after the warm-up).
    pub seconds: f64,
    /// Keep-alive connections.
    pub connections: usize,
    /// One request at a time, before the load.
    pub unloaded: Vec<KindReport>,
    /// Unloaded searches by how many venues matched.
    pub unloaded_search_by_matches: Vec<MatchBucket>,
    /// Server CPU per request, ms, one at a time: venue search, profile read.
    pub unloaded_server_cpu_ms: [Option<f64>; 2],
    /// Under the load: each kind, then all together.
    pub loaded: Vec<KindReport>,
    /// Server CPU per request under the load (whole measured window), ms.
    pub loaded_server_cpu_ms: Option<f64>,
    /// This client's CPU per request under the load, ms (it shares the machine).
    pub loaded_client_cpu_ms: Option<f64>,
    /// [`TARGET_P99_MS`].
    pub target_p99_ms: f64,
}

/// A keep-alive HTTP/1.1 connection to the server.
struct Conn {
    addr: SocketAddr,
    sender: SendRequest<Empty<Bytes>>,
}

impl Conn {
    async fn open(addr: SocketAddr) -> Result<Self, String> {
        let stream = TcpStream::connect(addr)
            .await
            .map_err(|e| format!("connect {addr}: {e}"))?;
        stream.set_nodelay(true).map_err(|e| e.to_string())?;
        let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
            .await
            .map_err(|e| format!("HTTP handshake: {e}"))?;
        tokio::spawn(connection);
        Ok(Self { addr, sender })
    }

    /// GETs `path`; returns the status and the whole body. Reconnects once if the connection
    /// was closed.
    async fn get(&mut self, path: &str) -> Result<(u16, Bytes), String> {
        if self.sender.ready().await.is_err() {
            *self = Self::open(self.addr).await?;
        }
        let request = hyper::Request::get(path)
            .header(hyper::header::HOST, self.addr.to_string())
            .body(Empty::new())
            .map_err(|e| e.to_string())?;
        let response = self
            .sender
            .send_request(request)
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| e.to_string())?
            .to_bytes();
        Ok((status, body))
    }
}

/// `total` of a search reply.
#[derive(serde::Deserialize)]
struct Total {
    total: u64,
}

/// Sends `request` on `conn` and records it, latency counted from `scheduled`.
async fn perform(conn: &mut Conn, request: &Request, scheduled: Instant) -> Record {
    let result = conn.get(&request.path).await;
    let latency = scheduled.elapsed();
    let (ok, matches) = match &result {
        Ok((200, body)) => (
            true,
            (request.kind == Kind::Search)
                .then(|| serde_json::from_slice::<Total>(body).ok().map(|t| t.total))
                .flatten(),
        ),
        _ => (false, None),
    };
    Record {
        kind: request.kind,
        latency,
        ok,
        matches,
        done: scheduled + latency,
    }
}

/// The request mix: searches around random points of the generator's cities (2–10 km radius,
/// some with filters) and reads of random profiles.
fn plan_requests(n: usize, profile_ids: &[String], seed: u64) -> Vec<Request> {
    const KINDS: [&str; 3] = ["rehearsal_room", "recording_studio", "performance_venue"];
    const EQUIPMENT: [&str; 5] = [
        "drum_kit",
        "pa_system",
        "guitar_amp",
        "piano",
        "microphones",
    ];
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    (0..n)
        .map(|_| {
            if profile_ids.is_empty() || rng.random::<f64>() < SEARCH_SHARE {
                let city = CITIES[rng.random_range(0..CITIES.len())];
                // A centre up to 15 km from the city centre (venues spread 25 km around it).
                let d = 15_000.0 * rng.random::<f64>().sqrt();
                let bearing = rng.random_range(0.0..std::f64::consts::TAU);
                let lat = city.center.latitude + d * bearing.cos() / 111_320.0;
                let lon = city.center.longitude
                    + d * bearing.sin() / (111_320.0 * city.center.latitude.to_radians().cos());
                let lon = (lon + 540.0).rem_euclid(360.0) - 180.0;
                let radius = rng.random_range(2_000.0..=10_000.0_f64).round();
                let mut path =
                    format!("/api/v1/venues?lat={lat:.5}&lon={lon:.5}&radius_m={radius}");
                if rng.random::<f64>() < 0.3 {
                    path.push_str(&format!(
                        "&kind={}",
                        KINDS[rng.random_range(0..KINDS.len())]
                    ));
                }
                if rng.random::<f64>() < 0.2 {
                    path.push_str(&format!("&min_capacity={}", rng.random_range(5..=40)));
                }
                if rng.random::<f64>() < 0.2 {
                    let e = EQUIPMENT[rng.random_range(0..EQUIPMENT.len())];
                    path.push_str(&format!("&equipment={e}"));
                }
                if rng.random::<f64>() < 0.1 {
                    let day = DAYS[rng.random_range(0..DAYS.len())];
                    path.push_str(&format!("&open_day={day}&open_time=19:00"));
                }
                Request {
                    kind: Kind::Search,
                    path,
                }
            } else {
                let id = &profile_ids[rng.random_range(0..profile_ids.len())];
                Request {
                    kind: Kind::Profile,
                    path: format!("/api/v1/profiles/{id}"),
                }
            }
        })
        .collect()
}

/// Nearest-rank percentile of sorted `values`.
fn percentile<T: Copy>(sorted: &[T], q: f64) -> Option<T> {
    let n = sorted.len();
    (n > 0).then(|| sorted[((q * n as f64).ceil() as usize).clamp(1, n) - 1])
}

fn summarise(kind: &'static str, records: &[&Record], window_start: Instant) -> KindReport {
    let ok = records.iter().filter(|r| r.ok).count();
    let seconds = records
        .iter()
        .map(|r| r.done.saturating_duration_since(window_start))
        .max()
        .unwrap_or_default()
        .as_secs_f64()
        .max(1e-9);
    let mut latencies = records.iter().map(|r| r.latency).collect::<Vec<_>>();
    latencies.sort_unstable();
    let ms = |d: Option<Duration>| d.map_or(f64::NAN, |d| d.as_secs_f64() * 1e3);
    let mut matches = records.iter().filter_map(|r| r.matches).collect::<Vec<_>>();
    matches.sort_unstable();
    KindReport {
        kind,
        ok,
        errors: records.len() - ok,
        achieved_per_s: ok as f64 / seconds,
        p50_ms: ms(percentile(&latencies, 0.50)),
        p99_ms: ms(percentile(&latencies, 0.99)),
        max_ms: ms(latencies.last().copied()),
        mean_matches: (!matches.is_empty())
            .then(|| matches.iter().sum::<u64>() as f64 / matches.len() as f64),
        p99_matches: percentile(&matches, 0.99),
    }
}

/// Per-kind summaries, then `all`.
fn summarise_all(records: &[Record], window_start: Instant) -> Vec<KindReport> {
    let mut out = Vec::new();
    for kind in [Kind::Search, Kind::Profile] {
        let of_kind = records
            .iter()
            .filter(|r| r.kind == kind)
            .collect::<Vec<_>>();
        out.push(summarise(kind.name(), &of_kind, window_start));
    }
    let all = records.iter().collect::<Vec<_>>();
    out.push(summarise("all", &all, window_start));
    out
}

/// CPU seconds used by the server (`pid`, if known) and by this process.
fn cpu_now(server_pid: Option<u32>) -> (Option<f64>, Option<f64>) {
    (
        server_pid.and_then(|p| cpu_seconds(p).ok()),
        cpu_seconds(std::process::id()).ok(),
    )
}

/// CPU milliseconds per request between two [`cpu_now`] readings.
fn per_request_ms(before: Option<f64>, after: Option<f64>, requests: usize) -> Option<f64> {
    Some((after? - before?) * 1e3 / requests.max(1) as f64)
}

/// Runs part (b) against the server at `addr` (process `server_pid`, for CPU time), which holds
/// `venues` venues and the public profiles `profile_ids`.
pub async fn load(
    addr: SocketAddr,
    server_pid: Option<u32>,
    backend: &str,
    venues: usize,
    profile_ids: &[String],
    plan: &LoadPlan,
) -> Result<HttpReport, String> {
    let total = (plan.rate * (plan.warmup + plan.duration).as_secs_f64()).ceil() as usize;
    let requests = plan_requests(total, profile_ids, plan.seed);

    // Unloaded: each kind, one request at a time on one connection.
    let mut conn = Conn::open(addr).await?;
    let mut unloaded = Vec::new();
    let mut unloaded_server_cpu_ms = [None; 2];
    let mut unloaded_search_by_matches = Vec::new();
    for (k, kind) in [Kind::Search, Kind::Profile].into_iter().enumerate() {
        let mut records = Vec::new();
        let window_start = Instant::now();
        let (cpu_before, _) = cpu_now(server_pid);
        for request in requests
            .iter()
            .filter(|r| r.kind == kind)
            .take(UNLOADED_REQUESTS)
        {
            records.push(perform(&mut conn, request, Instant::now()).await);
        }
        let (cpu_after, _) = cpu_now(server_pid);
        unloaded_server_cpu_ms[k] = per_request_ms(cpu_before, cpu_after, records.len());
        if kind == Kind::Search {
            unloaded_search_by_matches = by_matches(&records);
        }
        unloaded.push(summarise(
            kind.name(),
            &records.iter().collect::<Vec<_>>(),
            window_start,
        ));
    }
    drop(conn);

    // Loaded, open loop: a dispatcher queues each request at its scheduled time; workers, one
    // per connection, take the next queued request as soon as they are free.
    let (tx, rx) = mpsc::unbounded_channel::<(usize, Instant)>();
    let rx = Arc::new(Mutex::new(rx));
    let requests = Arc::new(requests);
    let mut workers = Vec::with_capacity(plan.connections);
    for _ in 0..plan.connections {
        let mut conn = Conn::open(addr).await?;
        let (rx, requests) = (Arc::clone(&rx), Arc::clone(&requests));
        workers.push(tokio::spawn(async move {
            let mut records = Vec::new();
            loop {
                let next = rx.lock().await.recv().await;
                let Some((i, scheduled)) = next else { break };
                records.push((i, perform(&mut conn, &requests[i], scheduled).await));
            }
            records
        }));
    }
    let period = Duration::from_secs_f64(1.0 / plan.rate);
    let start = Instant::now() + Duration::from_millis(10);
    let measure_from = (plan.rate * plan.warmup.as_secs_f64()).ceil() as usize;
    let window_start = start + period.mul_f64(measure_from as f64);
    let mut cpu_before = (None, None);
    for i in 0..total {
        let scheduled = start + period.mul_f64(i as f64);
        tokio::time::sleep_until(scheduled).await;
        if i == measure_from {
            cpu_before = cpu_now(server_pid);
        }
        tx.send((i, scheduled))
            .map_err(|_| "every worker stopped".to_owned())?;
    }
    drop(tx);
    let mut measured = Vec::new();
    for worker in workers {
        let records = worker.await.map_err(|e| e.to_string())?;
        measured.extend(
            records
                .into_iter()
                .filter(|(i, _)| *i >= measure_from)
                .map(|(_, r)| r),
        );
    }
    let cpu_after = cpu_now(server_pid);
    let n = measured.len();
    let seconds = plan.duration.as_secs_f64();
    Ok(HttpReport {
        backend: backend.to_owned(),
        venues,
        profiles: profile_ids.len(),
        offered_per_s: plan.rate,
        seconds,
        connections: plan.connections,
        unloaded,
        unloaded_search_by_matches,
        unloaded_server_cpu_ms,
        loaded: summarise_all(&measured, window_start),
        loaded_server_cpu_ms: per_request_ms(cpu_before.0, cpu_after.0, n),
        loaded_client_cpu_ms: per_request_ms(cpu_before.1, cpu_after.1, n),
        target_p99_ms: TARGET_P99_MS,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentile_is_nearest_rank() {
        let v = (1..=100).collect::<Vec<u32>>();
        assert_eq!(percentile(&v, 0.5), Some(50));
        assert_eq!(percentile(&v, 0.99), Some(99));
        assert_eq!(percentile(&v, 1.0), Some(100));
        assert_eq!(percentile::<u32>(&[], 0.5), None);
    }

    #[test]
    fn request_mix_is_seeded_and_well_formed() {
        let ids = vec!["a".to_owned(), "b".to_owned()];
        let plan = plan_requests(2_000, &ids, 7);
        let again = plan_requests(2_000, &ids, 7);
        assert!(plan.iter().zip(&again).all(|(x, y)| x.path == y.path));
        let searches = plan.iter().filter(|r| r.kind == Kind::Search).count();
        assert!((1_300..=1_500).contains(&searches), "{searches} searches");
        for r in &plan {
            match r.kind {
                Kind::Search => assert!(r.path.starts_with("/api/v1/venues?lat=")),
                Kind::Profile => {
                    assert!(r.path == "/api/v1/profiles/a" || r.path == "/api/v1/profiles/b")
                }
            }
        }
    }

    /// Every generated query is one the server accepts.
    #[test]
    fn searches_parse_and_plan() {
        use tutti_server::venues::search::SearchQuery;
        for r in plan_requests(500, &[], 3) {
            let query = r.path.split_once('?').map(|(_, q)| q).unwrap_or_default();
            let parsed: SearchQuery =
                serde_urlencoded::from_str(query).expect("the server's query type parses it");
            parsed.plan().expect("a valid search");
        }
    }
}

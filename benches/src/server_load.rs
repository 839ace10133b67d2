//! Load measurements of the reference server (`server-load`).
//!
//! Part (a), [`idle_sockets`]: N idle signalling WebSockets joined to rooms (16 per room, the
//! largest capacity), and the server's resident memory per connection, from `VmRSS` in
//! `/proc/<pid>/status` before and after. Part (b), [`http`]: venue searches and profile reads
//! at a fixed request rate, open loop, p50/p99 latency, over data put in by [`seed`].
//!
//! The server is the real `tutti-server` binary, spawned on 127.0.0.1 with a throwaway SQLite
//! database or a given one ([`ServerProcess`]), or any running server given by URL.

#[cfg(feature = "server")]
pub mod http;
#[cfg(feature = "server")]
pub mod seed;

use std::io::{BufRead, BufReader};
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use futures_util::SinkExt;
use futures_util::StreamExt;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::task::JoinSet;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tutti_core::protocol::{
    Auth, ClientKind, ClientMessage, FrameSize, Join, RoomId, ServerMessage,
};

/// The target: server memory per idle signalling connection.
pub const TARGET_BYTES_PER_CONNECTION: u64 = 16 * 1024;
/// Peers per room (the server's largest room capacity).
const ROOM_CAPACITY: usize = 16;
/// Connections opened at once.
const CONCURRENCY: usize = 200;

/// A `tutti-server` child process on a free loopback port.
#[derive(Debug)]
pub struct ServerProcess {
    child: Child,
    /// Where it listens.
    pub addr: SocketAddr,
    /// A SQLite file of ours, removed with the process.
    db: Option<PathBuf>,
}

/// A throwaway SQLite file name for this process (not created yet).
pub fn temp_sqlite_path() -> PathBuf {
    std::env::temp_dir().join(format!("tutti-server-load-{}.db", std::process::id()))
}

/// Removes a SQLite database file with its WAL and shared-memory files.
pub fn remove_sqlite(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut p = path.to_path_buf().into_os_string();
        p.push(suffix);
        let _ = std::fs::remove_file(p);
    }
}

impl ServerProcess {
    /// Starts `binary` with a fresh SQLite database; see [`ServerProcess::spawn_on`].
    pub fn spawn(binary: &Path) -> Result<Self, String> {
        let db = temp_sqlite_path();
        Self::spawn_on(binary, &format!("sqlite://{}", db.display()), Some(db))
    }

    /// Starts `binary` on `database_url` (`owned`: a SQLite file to remove afterwards), with
    /// anonymous signalling on, join rate limits and the idle timeout out of the way (part (a)'s
    /// connections stay idle on purpose), demo data off, logs at `warn`.
    pub fn spawn_on(
        binary: &Path,
        database_url: &str,
        owned: Option<PathBuf>,
    ) -> Result<Self, String> {
        let db = owned;
        let mut child = Command::new(binary)
            .args(["--bind", "127.0.0.1:0", "--demo-data", "false"])
            .args(["--database-url", database_url])
            .args(["--allow-anonymous-signalling", "true"])
            .args(["--signal-join-rate-per-ip", "100000000"])
            .args(["--signal-idle-timeout-ms", "86400000"])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .map_err(|e| format!("reading the server's first line: {e}"))?;
        let addr = line
            .trim()
            .strip_prefix("tutti-server listening on http://")
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| format!("unexpected first line from the server: {line:?}"))?;
        Ok(Self { child, addr, db })
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if let Some(db) = &self.db {
            remove_sqlite(db);
        }
    }
}

/// Raises this process's soft `RLIMIT_NOFILE` towards `want` (up to the hard limit, or beyond it
/// when privileged); children inherit it. Returns the soft limit now in force.
pub fn raise_nofile_limit(want: u64) -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let now = getrlimit(Resource::Nofile);
    let current = now.current.unwrap_or(u64::MAX);
    if current >= want {
        return current;
    }
    let hard = now.maximum.unwrap_or(u64::MAX);
    // Raising the hard limit needs privileges; fall back to the hard limit we have.
    for (soft, max) in [(want, want.max(hard)), (want.min(hard), hard)] {
        if setrlimit(
            Resource::Nofile,
            Rlimit {
                current: Some(soft),
                maximum: Some(max),
            },
        )
        .is_ok()
        {
            return soft;
        }
    }
    current
}

/// Resident memory of process `pid`, in bytes (`VmRSS`).
pub fn rss_bytes(pid: u32) -> Result<u64, String> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))
        .map_err(|e| format!("reading /proc/{pid}/status: {e}"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
        .ok_or_else(|| "no VmRSS line".to_owned())
}

/// CPU time (user + system) process `pid` has used, in seconds, from `/proc/<pid>/stat`
/// (reported in USER_HZ, 100 per second on Linux).
pub fn cpu_seconds(pid: u32) -> Result<f64, String> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map_err(|e| format!("reading /proc/{pid}/stat: {e}"))?;
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .ok_or("bad stat line")?;
    let fields = rest.split_whitespace().collect::<Vec<_>>();
    let ticks = |i: usize| fields.get(i).and_then(|f| f.parse::<u64>().ok());
    match (ticks(11), ticks(12)) {
        (Some(u), Some(s)) => Ok((u + s) as f64 / 100.0),
        _ => Err("no utime/stime in stat".into()),
    }
}

/// One HTTP/1.1 request with a JSON body; returns the status and the JSON reply. Enough for
/// setting up the load (no client library needed).
pub async fn http_json(
    addr: SocketAddr,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: &Value,
) -> Result<(u16, Value), String> {
    let body = body.to_string();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\n{auth}Content-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut reply = Vec::new();
    stream
        .read_to_end(&mut reply)
        .await
        .map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&reply);
    let (head, body) = text.split_once("\r\n\r\n").ok_or("no HTTP header end")?;
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or("no HTTP status")?;
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

/// What part (a) measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SocketsReport {
    /// Connections joined to a room (each got its `welcome`).
    pub connections: usize,
    /// Rooms they were spread over.
    pub rooms: usize,
    /// Client source addresses used (127.0.0.x).
    pub source_ips: usize,
    /// Server RSS before opening the connections, bytes (`None` without a pid).
    pub rss_before_bytes: Option<u64>,
    /// Server RSS with every connection open and joined, bytes.
    pub rss_after_bytes: Option<u64>,
    /// (after − before) / connections.
    pub bytes_per_connection: Option<u64>,
    /// [`TARGET_BYTES_PER_CONNECTION`].
    pub target_bytes: u64,
    /// Seconds to open and join every connection.
    pub setup_seconds: f64,
}

/// Part (a): opens `connections` idle signalling WebSockets to the server at `addr` (which must
/// accept anonymous joins), joins them 16 to a room, and measures the server's RSS (if `pid`).
pub async fn idle_sockets(
    addr: SocketAddr,
    pid: Option<u32>,
    connections: usize,
    source_ips: usize,
) -> Result<SocketsReport, String> {
    let rooms = create_rooms(addr, connections.div_ceil(ROOM_CAPACITY)).await?;
    let rss_before = pid.map(rss_bytes).transpose()?;
    let start = Instant::now();
    let mut open = Vec::with_capacity(connections);
    let mut batch = JoinSet::new();
    for i in 0..connections {
        let source = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + (i % source_ips.max(1)) as u8));
        let room = rooms[i / ROOM_CAPACITY].clone();
        batch.spawn(open_and_join(addr, source, room, i));
        if batch.len() >= CONCURRENCY || i + 1 == connections {
            while let Some(done) = batch.join_next().await {
                open.push(done.map_err(|e| e.to_string())??);
            }
        }
    }
    let setup_seconds = start.elapsed().as_secs_f64();
    let rss_after = pid.map(rss_bytes).transpose()?;
    let per_connection = match (rss_before, rss_after) {
        (Some(b), Some(a)) => Some(a.saturating_sub(b) / connections.max(1) as u64),
        _ => None,
    };
    let report = SocketsReport {
        connections: open.len(),
        rooms: rooms.len(),
        source_ips,
        rss_before_bytes: rss_before,
        rss_after_bytes: rss_after,
        bytes_per_connection: per_connection,
        target_bytes: TARGET_BYTES_PER_CONNECTION,
        setup_seconds,
    };
    drop(open);
    Ok(report)
}

/// Signs up a throwaway account and creates `n` public rooms of the largest capacity.
async fn create_rooms(addr: SocketAddr, n: usize) -> Result<Vec<RoomId>, String> {
    let email = format!("load-{}-{}@example.invalid", std::process::id(), n);
    let (status, body) = http_json(
        addr,
        "POST",
        "/api/v1/auth/signup",
        None,
        &json!({"email": email, "password": "server-load benchmark"}),
    )
    .await?;
    let token = body["access_token"]
        .as_str()
        .ok_or_else(|| format!("sign-up failed ({status}): {body}"))?
        .to_owned();
    let mut rooms = Vec::with_capacity(n);
    for i in 0..n {
        let (status, body) = http_json(
            addr,
            "POST",
            "/api/v1/rooms",
            Some(&token),
            &json!({"name": format!("load {i}"), "visibility": "public", "capacity": ROOM_CAPACITY}),
        )
        .await?;
        let id = body["id"]
            .as_str()
            .ok_or_else(|| format!("room creation failed ({status}): {body}"))?;
        rooms.push(RoomId::new(id).map_err(|e| e.to_string())?);
    }
    Ok(rooms)
}

/// Opens one WebSocket from `source`, joins `room` and waits for the welcome.
async fn open_and_join(
    addr: SocketAddr,
    source: IpAddr,
    room: RoomId,
    i: usize,
) -> Result<WebSocketStream<TcpStream>, String> {
    let socket = TcpSocket::new_v4().map_err(|e| e.to_string())?;
    socket
        .bind(SocketAddr::new(source, 0))
        .map_err(|e| format!("bind {source}: {e}"))?;
    let stream = socket
        .connect(addr)
        .await
        .map_err(|e| format!("connect from {source}: {e}"))?;
    // Small client buffers too: 10,000 clients at the library default would need 2.5 GB here.
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) = tokio_tungstenite::client_async_with_config(
        format!("ws://{addr}/signal"),
        stream,
        Some(config),
    )
    .await
    .map_err(|e| format!("WebSocket handshake: {e}"))?;
    let join = ClientMessage::Join(Join {
        room,
        auth: Auth::Anonymous {
            display_name: format!("load {i}"),
        },
        invite: None,
        client: ClientKind::Native,
        frame_sizes: vec![FrameSize::Ms2_5],
        resume: None,
    });
    ws.send(Message::text(join.encode()))
        .await
        .map_err(|e| e.to_string())?;
    while let Some(frame) = ws.next().await {
        let Message::Text(text) = frame.map_err(|e| e.to_string())? else {
            continue;
        };
        match ServerMessage::decode(text.as_bytes()).map_err(|e| e.to_string())? {
            ServerMessage::Welcome(_) => return Ok(ws),
            ServerMessage::Error { code, message } => {
                return Err(format!("join refused: {code:?}: {message}"));
            }
            _ => {}
        }
    }
    Err("connection closed before the welcome".into())
}

//! Durability: run the real `tutti-server` binary, keep writes in flight from several clients,
//! SIGKILL the process, restart it on the same database and check that every write it
//! acknowledged is there (and that access tokens issued before the kill still work).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::process::{Child, Command};

/// Acknowledged writes to collect before the kill.
const ACKED_BEFORE_KILL: usize = 150;
/// Concurrent writers (each keeps one request in flight).
const WRITERS: usize = 6;

/// Starts the server on a free port; returns the child and its address.
async fn start(database_url: &str) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_tutti-server"))
        .args([
            "--bind",
            "127.0.0.1:0",
            "--database-url",
            database_url,
            "--demo-data",
            "false",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("spawn tutti-server");
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = tokio::time::timeout(Duration::from_secs(120), async {
        while let Some(line) = lines.next_line().await.expect("read stdout") {
            if let Some(addr) = line.strip_prefix("tutti-server listening on http://") {
                return addr.to_owned();
            }
        }
        panic!("tutti-server exited before listening");
    })
    .await
    .expect("server started");
    // Keep draining stdout so the server never blocks on a full pipe.
    tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
    (child, addr)
}

/// A minimal HTTP/1.1 client (one request per connection): status and JSON body.
async fn request(
    addr: &str,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<&Value>,
) -> std::io::Result<(u16, Value)> {
    let mut stream = TcpStream::connect(addr).await?;
    let body = body
        .map(|b| serde_json::to_vec(b).unwrap())
        .unwrap_or_default();
    let auth = token
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n{auth}\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(&body).await?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response).await?;
    let text = String::from_utf8_lossy(&response);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other("incomplete response"))?;
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other("no status line"))?;
    Ok((status, serde_json::from_str(body).unwrap_or(Value::Null)))
}

async fn kill_mid_flight_and_check(backend: &str, database_url: &str) {
    let (mut server, addr) = start(database_url).await;
    let credentials = json!({"email": "durable@example.org", "password": common::PASSWORD});
    let (status, signup) = request(
        &addr,
        "POST",
        "/api/v1/auth/signup",
        None,
        Some(&credentials),
    )
    .await
    .unwrap();
    assert_eq!(status, 201, "{backend}");
    let token = signup["access_token"].as_str().unwrap().to_owned();

    let acked: Arc<Mutex<Vec<(String, String)>>> = Arc::default();
    let mut writers = Vec::new();
    for w in 0..WRITERS {
        let (addr, token, acked) = (addr.clone(), token.clone(), acked.clone());
        writers.push(tokio::spawn(async move {
            for n in 0.. {
                let name = format!("writer {w} room {n}");
                let room = json!({"name": name, "visibility": "public", "capacity": 4});
                match request(&addr, "POST", "/api/v1/rooms", Some(&token), Some(&room)).await {
                    Ok((201, body)) if body["id"].is_string() => {
                        acked
                            .lock()
                            .unwrap()
                            .push((body["id"].as_str().unwrap().to_owned(), name));
                    }
                    Ok((201, _)) => return, // cut off mid-response: not acknowledged
                    Ok((status, body)) => panic!("unexpected {status}: {body}"),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    while acked.lock().unwrap().len() < ACKED_BEFORE_KILL {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.start_kill().expect("SIGKILL"); // Child::start_kill sends SIGKILL on Unix
    server.wait().await.expect("reaped");
    for w in writers {
        w.await.expect("writer task");
    }
    let acked = acked.lock().unwrap().clone();
    assert!(acked.len() >= ACKED_BEFORE_KILL, "{backend}");

    let (_server, addr) = start(database_url).await;
    let (status, _) = request(&addr, "GET", "/api/v1/auth/me", Some(&token), None)
        .await
        .unwrap();
    assert_eq!(
        status, 200,
        "{backend}: tokens issued before the kill stay valid (persisted secret)"
    );
    let (status, _) = request(
        &addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(&credentials),
    )
    .await
    .unwrap();
    assert_eq!(status, 200, "{backend}");
    for (id, name) in &acked {
        let (status, room) = request(&addr, "GET", &format!("/api/v1/rooms/{id}"), None, None)
            .await
            .unwrap();
        assert_eq!(
            (status, room["name"].as_str()),
            (200, Some(name.as_str())),
            "{backend}: acknowledged write {id} lost"
        );
    }
    eprintln!(
        "{backend}: {} acknowledged writes all present after SIGKILL",
        acked.len()
    );
}

#[tokio::test]
async fn acknowledged_writes_survive_sigkill() {
    for (backend, url, _file) in common::database_urls().await {
        kill_mid_flight_and_check(backend, &url).await;
    }
}

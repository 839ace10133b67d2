//! What the end-to-end benches (`e2e-latency`, `client-cpu`) share: a scratch directory, the
//! `tutti-server` and `jam` binaries built beside the bench, and a running server (anonymous
//! signalling allowed) with one signed-up account to create rooms with.

use std::path::PathBuf;
use std::time::Duration;

use tutti_examples::api::Api;
use tutti_examples::processes::{Server, sibling_binary};

/// A running server and what the bench needs to start `jam` peers against it. Dropping it
/// stops the server and removes the scratch directory.
pub struct Rig {
    /// Scratch directory (the server's database, WAV files).
    pub dir: PathBuf,
    /// The `jam` example binary.
    pub jam: PathBuf,
    /// The server's HTTP API.
    pub api: Api,
    /// Access token of the rig's account.
    pub token: String,
    server: Option<Server>,
}

impl Rig {
    /// Starts a server in a fresh scratch directory named after `name` and signs up `email`.
    /// `guard` bounds the server's start-up.
    pub fn start(name: &str, email: &str, guard: Duration) -> Result<Self, String> {
        let exe = std::env::current_exe().map_err(|e| e.to_string())?;
        let server_bin =
            sibling_binary(&exe, "tutti-server", "tutti-server").map_err(|e| e.to_string())?;
        let jam = sibling_binary(&exe, "tutti-examples", "jam").map_err(|e| e.to_string())?;
        let dir = std::env::temp_dir().join(format!("tutti-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
        let server = Server::start(
            &server_bin,
            &dir.join("tutti.db"),
            "127.0.0.1:0",
            &["--allow-anonymous-signalling", "true"],
            guard,
        )
        .map_err(|e| e.to_string())?;
        let api = Api::new(&server.url());
        let token = api
            .sign_up(email, "correct horse battery")
            .map_err(|e| e.to_string())?;
        Ok(Self {
            dir,
            jam,
            api,
            token,
            server: Some(server),
        })
    }

    /// The server's base URL.
    pub fn url(&self) -> String {
        self.server.as_ref().map(Server::url).unwrap_or_default()
    }
}

impl Drop for Rig {
    fn drop(&mut self) {
        drop(self.server.take()); // stop the server before its directory goes
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

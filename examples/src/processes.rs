//! Running the real binaries from tests and benchmarks: the reference server and `jam`
//! processes whose keyword lines (see the `jam` example) are followed as they are printed.
//!
//! Every wait is on a line a process prints; the deadline only guards against a hang.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

/// Waiting for a process failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProcessError {
    /// The process ended before printing what was waited for.
    #[error("process ended while waiting for {0}")]
    Ended(String),
    /// The guard deadline passed first.
    #[error("timed out waiting for {0}")]
    Timeout(String),
    /// Starting the process (or building its binary) failed.
    #[error("starting {what}: {reason}")]
    Start {
        /// Which binary.
        what: String,
        /// Why.
        reason: String,
    },
}

/// Lines printed so far, and whether the output has ended.
#[derive(Debug, Default)]
struct Output {
    lines: Vec<String>,
    ended: bool,
}

/// The lines a child prints, shared with the thread that reads them.
#[derive(Debug, Clone, Default)]
pub struct Lines(Arc<(Mutex<Output>, Condvar)>);

impl Lines {
    /// Reads `out` line by line on a thread; `echo`, if given, prefixes each line copied to
    /// stderr (useful in test logs).
    pub fn follow(&self, out: impl std::io::Read + Send + 'static, echo: Option<&'static str>) {
        let lines = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Some(echo) = echo {
                    eprintln!("[{echo}] {line}");
                }
                lines.lock().lines.push(line);
                lines.0.1.notify_all();
            }
            lines.lock().ended = true;
            lines.0.1.notify_all();
        });
    }

    fn lock(&self) -> MutexGuard<'_, Output> {
        self.0.0.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The first line from index `from` on that `matches` accepts: (index, value).
    pub fn wait<T>(
        &self,
        from: usize,
        guard: Duration,
        what: &str,
        matches: impl Fn(&str) -> Option<T>,
    ) -> Result<(usize, T), ProcessError> {
        let deadline = Instant::now() + guard;
        let mut state = self.lock();
        let mut next = from;
        loop {
            while next < state.lines.len() {
                if let Some(value) = matches(&state.lines[next]) {
                    return Ok((next, value));
                }
                next += 1;
            }
            if state.ended {
                return Err(ProcessError::Ended(what.to_owned()));
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(ProcessError::Timeout(what.to_owned()));
            }
            state = self
                .0
                .1
                .wait_timeout(state, deadline - now)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
    }

    /// Lines printed so far.
    pub fn len(&self) -> usize {
        self.lock().lines.len()
    }

    /// Whether nothing was printed yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// A copy of every line printed so far.
    pub fn snapshot(&self) -> Vec<String> {
        self.lock().lines.clone()
    }
}

/// The value of `key=value` in a keyword line.
pub fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// A running `tutti-server`; killed on drop.
#[derive(Debug)]
pub struct Server {
    child: Child,
    /// `host:port` it listens on.
    pub addr: String,
}

impl Server {
    /// Starts `binary` on `bind` with the SQLite database `db` (no demo data) plus `extra`
    /// arguments, and waits until it listens.
    pub fn start(
        binary: &Path,
        db: &Path,
        bind: &str,
        extra: &[&str],
        guard: Duration,
    ) -> Result<Self, ProcessError> {
        let mut command = Command::new(binary);
        command.args(Self::args(db, bind)).args(extra);
        Self::spawn(command, guard)
    }

    /// The arguments [`Server::start`] passes: bind address, no demo data, SQLite at `db`.
    pub fn args(db: &Path, bind: &str) -> Vec<String> {
        ["--bind", bind, "--demo-data", "false", "--database-url"]
            .map(str::to_owned)
            .into_iter()
            .chain([format!("sqlite://{}", db.display())])
            .collect()
    }

    /// Spawns a prepared server command (e.g. wrapped in `ip netns exec`) and waits until it
    /// listens.
    pub fn spawn(mut command: Command, guard: Duration) -> Result<Self, ProcessError> {
        let mut child = command
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| ProcessError::Start {
                what: "tutti-server".into(),
                reason: e.to_string(),
            })?;
        let lines = Lines::default();
        if let Some(out) = child.stdout.take() {
            lines.follow(out, Some("server"));
        }
        let mut server = Server {
            child,
            addr: String::new(),
        };
        server.addr = lines
            .wait(0, guard, "the server to listen", |l| {
                l.strip_prefix("tutti-server listening on http://")
                    .map(str::to_owned)
            })?
            .1;
        Ok(server)
    }

    /// `http://host:port`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The binary `name` of package `package` beside `exe` (the same target directory and
/// profile), built with `cargo` first if it is not there yet.
pub fn sibling_binary(exe: &Path, package: &str, name: &str) -> Result<PathBuf, ProcessError> {
    let path = exe.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    if path.exists() {
        return Ok(path);
    }
    let release = exe
        .parent()
        .and_then(Path::file_name)
        .is_some_and(|d| d == "release");
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut build = Command::new(cargo);
    build.args(["build", "-p", package, "--bin", name]);
    if release {
        build.arg("--release");
    }
    let start_error = |reason: String| ProcessError::Start {
        what: name.to_owned(),
        reason,
    };
    let status = build.status().map_err(|e| start_error(e.to_string()))?;
    if !status.success() || !path.exists() {
        return Err(start_error(format!("cargo build failed ({status})")));
    }
    Ok(path)
}

/// A running `jam` process with its stdin open (for `quit`) and its lines followed; killed on
/// drop. Also runs `netem-queue`, which follows the same convention (commands on stdin, `quit`
/// answered by a `done …` line).
#[derive(Debug)]
pub struct JamProcess {
    child: Child,
    stdin: Option<std::process::ChildStdin>,
    /// What it printed.
    pub lines: Lines,
}

impl JamProcess {
    /// Starts `command` (a `jam` binary with its arguments; stdio is set here). `echo` prefixes
    /// its lines copied to stderr.
    pub fn start(mut command: Command, echo: Option<&'static str>) -> Result<Self, ProcessError> {
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| ProcessError::Start {
                what: "jam".into(),
                reason: e.to_string(),
            })?;
        let lines = Lines::default();
        if let Some(out) = child.stdout.take() {
            lines.follow(out, echo);
        }
        let stdin = child.stdin.take();
        Ok(Self {
            child,
            stdin,
            lines,
        })
    }

    /// The process id (to read its CPU time from `/proc`).
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Writes one command line to its stdin; whether that worked.
    pub fn say(&mut self, command: &str) -> bool {
        use std::io::Write;
        self.stdin
            .as_mut()
            .is_some_and(|stdin| writeln!(stdin, "{command}").is_ok())
    }

    /// Says `quit` and waits for its `done` line and exit; returns whether it exited cleanly.
    pub fn quit(mut self, guard: Duration) -> Result<bool, ProcessError> {
        self.say("quit");
        self.lines.wait(0, guard, "jam to finish", |l| {
            l.starts_with("done ").then_some(())
        })?;
        Ok(self.child.wait().is_ok_and(|s| s.success()))
    }
}

impl Drop for JamProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

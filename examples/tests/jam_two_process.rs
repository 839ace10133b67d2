//! Two `jam` processes through the real `tutti-server` binary on loopback: each hears the
//! other's tone (A sends 440 Hz, B 660 Hz); B leaves and a new B joins; the server is killed and
//! restarted on the same port and database, and both rejoin and hear each other again.
//!
//! Every wait is on a line the processes print (`peer-media`, `stats … decoded=N`, `joined …
//! rejoined=true`); timeouts only guard against a hang. `tutti-server` is taken from the same
//! target directory (`cargo test --workspace` builds it; otherwise this test builds it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use tutti_core::netsim::signal;
use tutti_examples::api::Api;
use tutti_examples::wav_host::{Audio, read_wav, write_wav};

/// Guard for any single wait (generous: two cores shared with other builds).
const GUARD: Duration = Duration::from_secs(90);
/// Decoded frames from one peer before we call the link working: 2 s at 2.5 ms.
const HEARD_FRAMES: u64 = 800;
const RATE: u32 = 48_000;

/// Lines printed so far, and whether the output has ended.
#[derive(Default)]
struct Output {
    lines: Vec<String>,
    ended: bool,
}

/// Lines a child printed, shared with the thread that reads them.
#[derive(Clone, Default)]
struct Lines(Arc<(Mutex<Output>, Condvar)>);

impl Lines {
    fn follow(&self, out: impl std::io::Read + Send + 'static, echo: &'static str) {
        let lines = self.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                eprintln!("[{echo}] {line}");
                let (lock, cvar) = &*lines.0;
                lock.lock().unwrap().lines.push(line);
                cvar.notify_all();
            }
            let (lock, cvar) = &*lines.0;
            lock.lock().unwrap().ended = true;
            cvar.notify_all();
        });
    }

    /// The first line from index `from` on that `matches` accepts; returns (index, value).
    fn wait<T>(&self, from: usize, what: &str, matches: impl Fn(&str) -> Option<T>) -> (usize, T) {
        let deadline = Instant::now() + GUARD;
        let (lock, cvar) = &*self.0;
        let mut state = lock.lock().unwrap();
        let mut next = from;
        loop {
            while next < state.lines.len() {
                if let Some(value) = matches(&state.lines[next]) {
                    return (next, value);
                }
                next += 1;
            }
            assert!(!state.ended, "process ended while waiting for {what}");
            let now = Instant::now();
            assert!(now < deadline, "timed out waiting for {what}");
            state = cvar.wait_timeout(state, deadline - now).unwrap().0;
        }
    }

    fn len(&self) -> usize {
        self.0.0.lock().unwrap().lines.len()
    }
}

fn field<'a>(line: &'a str, key: &str) -> Option<&'a str> {
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

struct Server {
    child: Child,
    addr: String,
}

impl Server {
    fn start(binary: &Path, db: &Path, bind: &str) -> Self {
        let mut child = Command::new(binary)
            .args(["--bind", bind, "--demo-data", "false", "--database-url"])
            .arg(format!("sqlite://{}", db.display()))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn tutti-server");
        let lines = Lines::default();
        lines.follow(child.stdout.take().unwrap(), "server");
        let (_, addr) = lines.wait(0, "the server to listen", |l| {
            l.strip_prefix("tutti-server listening on http://")
                .map(str::to_owned)
        });
        Server { child, addr }
    }

    fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

struct Jam {
    name: &'static str,
    child: Child,
    stdin: Option<ChildStdin>,
    lines: Lines,
    output: PathBuf,
}

impl Jam {
    fn start(
        name: &'static str,
        server: &str,
        room: &str,
        email: &str,
        input: &Path,
        dir: &Path,
    ) -> Self {
        let output = dir.join(format!("{name}-heard.wav"));
        let mut child = Command::new(env!("CARGO_BIN_EXE_jam"))
            .args(["--server", server, "--room", room, "--email", email])
            .args([
                "--password",
                "correct horse battery",
                "--udp-bind",
                "127.0.0.1:0",
            ])
            .arg("--input-wav")
            .arg(input)
            .arg("--output-wav")
            .arg(&output)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn jam");
        let lines = Lines::default();
        lines.follow(child.stdout.take().unwrap(), name);
        let stdin = child.stdin.take();
        Jam {
            name,
            child,
            stdin,
            lines,
            output,
        }
    }

    /// Waits until a peer other than those in `except` has been heard for [`HEARD_FRAMES`];
    /// returns its id.
    fn wait_heard(&self, from: usize, except: &[String]) -> String {
        let what = format!("{} to hear a new peer", self.name);
        self.lines
            .wait(from, &what, |l| {
                let id = field(l, "id")?;
                let decoded: u64 = field(l, "decoded")?.parse().ok()?;
                (l.starts_with("stats ")
                    && decoded >= HEARD_FRAMES
                    && !except.iter().any(|e| e == id))
                .then(|| id.to_owned())
            })
            .1
    }

    /// Says `quit`, waits for the exit and returns the recording.
    fn quit(mut self) -> Audio {
        writeln!(self.stdin.as_mut().unwrap(), "quit").expect("write quit");
        self.lines
            .wait(0, "jam to finish", |l| l.starts_with("done ").then_some(()));
        let status = self.child.wait().expect("wait jam");
        assert!(status.success(), "{} exited with {status}", self.name);
        read_wav(&self.output).expect("read recording")
    }
}

impl Drop for Jam {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The dominant frequency of the recording's last second (left channel) and its RMS.
fn tail_tone(audio: &Audio) -> (f64, f64) {
    assert_eq!(audio.rate, RATE);
    let left = &audio.channels[0];
    let tail = &left[left.len().saturating_sub(RATE as usize)..];
    (
        signal::dominant_frequency(tail, RATE, 10.0),
        signal::rms(tail),
    )
}

fn assert_hears(who: &str, audio: &Audio, freq: f64) {
    let (f, rms) = tail_tone(audio);
    assert!(rms > 0.01, "{who}'s recording ends in silence (RMS {rms})");
    assert!(
        (f - freq).abs() <= 10.0,
        "{who} heard {f} Hz, expected {freq} Hz"
    );
    let whole = signal::dominant_frequency(&audio.channels[0], RATE, 10.0);
    assert!(
        (whole - freq).abs() <= 10.0,
        "{who}'s whole recording peaks at {whole} Hz"
    );
}

fn server_binary() -> PathBuf {
    let jam = Path::new(env!("CARGO_BIN_EXE_jam"));
    let server = jam.with_file_name(format!("tutti-server{}", std::env::consts::EXE_SUFFIX));
    if !server.exists() {
        let status = Command::new(env!("CARGO"))
            .args(["build", "-p", "tutti-server", "--bin", "tutti-server"])
            .status()
            .expect("run cargo build");
        assert!(status.success(), "building tutti-server failed");
    }
    server
}

fn tone_wav(dir: &Path, freq: f64) -> PathBuf {
    let path = dir.join(format!("tone-{freq}.wav"));
    // Two seconds hold a whole number of periods of 440 and 660 Hz, so the loop is seamless.
    let samples = signal::sine(freq, 0.5, RATE, 0, 2 * RATE as usize, 1);
    let audio = Audio {
        rate: RATE,
        channels: vec![samples],
    };
    write_wav(&path, &audio).expect("write tone");
    path
}

#[test]
fn two_jams_hear_each_other_through_leave_rejoin_and_a_server_restart() {
    let dir = std::env::temp_dir().join(format!("tutti-jam-test-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (a_tone, b_tone) = (tone_wav(&dir, 440.0), tone_wav(&dir, 660.0));
    let binary = server_binary();
    let db = dir.join("tutti.db");

    let server = Server::start(&binary, &db, "127.0.0.1:0");
    let api = Api::new(&server.url());
    let token = api
        .sign_up("a@jam.test", "correct horse battery")
        .expect("sign up A");
    api.sign_up("b@jam.test", "correct horse battery")
        .expect("sign up B");
    let room = api
        .create_room(&token, "Loopback jam", 4)
        .expect("create room");

    // A and B hear each other.
    let a = Jam::start("A", &server.url(), &room, "a@jam.test", &a_tone, &dir);
    let b1 = Jam::start("B1", &server.url(), &room, "b@jam.test", &b_tone, &dir);
    let b1_id = a.wait_heard(0, &[]);
    b1.wait_heard(0, &[]);

    // B leaves; A is told and plays on; a new B joins and is heard.
    let mark = a.lines.len();
    assert_hears("B1", &b1.quit(), 440.0);
    a.lines.wait(mark, "A to see B1 leave", |l| {
        (l.starts_with("peer-left") && field(l, "id") == Some(b1_id.as_str())).then_some(())
    });
    let b2 = Jam::start("B2", &server.url(), &room, "b@jam.test", &b_tone, &dir);
    let b2_id = a.wait_heard(mark, std::slice::from_ref(&b1_id));
    let a_id_for_b2 = b2.wait_heard(0, &[]);

    // The server restarts on the same port and database: both rejoin (with new ids) and
    // renegotiate.
    let addr = server.addr.clone();
    let (a_mark, b_mark) = (a.lines.len(), b2.lines.len());
    drop(server);
    let server = Server::start(&binary, &db, &addr);
    let rejoined =
        |l: &str| (l.starts_with("joined") && field(l, "rejoined") == Some("true")).then_some(());
    let (a_rejoin, ()) = a.lines.wait(a_mark, "A to rejoin", rejoined);
    let (b_rejoin, ()) = b2.lines.wait(b_mark, "B2 to rejoin", rejoined);
    a.wait_heard(a_rejoin, &[b1_id, b2_id]);
    b2.wait_heard(b_rejoin, &[a_id_for_b2]);

    assert_hears("A", &a.quit(), 660.0);
    assert_hears("B2", &b2.quit(), 440.0);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

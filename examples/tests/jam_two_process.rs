//! Two `jam` processes through the real `tutti-server` binary on loopback: each hears the
//! other's tone (A sends 440 Hz, B 660 Hz); B leaves and a new B joins; the server is killed and
//! restarted on the same port and database, and both rejoin (with access tokens fresh from the
//! refresh endpoint) and hear each other again.
//!
//! Every wait is on a line the processes print (`peer-media`, `stats … decoded=N`, `joined …
//! rejoined=true`); timeouts only guard against a hang. `tutti-server` is taken from the same
//! target directory (`cargo test --workspace` builds it; otherwise this test builds it).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use tutti_core::netsim::signal;
use tutti_examples::api::Api;
use tutti_examples::processes::{JamProcess, Lines, Server, field, sibling_binary};
use tutti_examples::wav_host::{Audio, read_wav, write_wav};

/// Guard for any single wait (generous: two cores shared with other builds).
const GUARD: Duration = Duration::from_secs(90);
/// Decoded frames from one peer before we call the link working: 2 s at 2.5 ms.
const HEARD_FRAMES: u64 = 800;
const RATE: u32 = 48_000;

struct Jam {
    name: &'static str,
    process: JamProcess,
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
        let mut command = Command::new(env!("CARGO_BIN_EXE_jam"));
        command
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
            .arg(&output);
        let process = JamProcess::start(command, Some(name)).expect("spawn jam");
        Jam {
            name,
            process,
            output,
        }
    }

    fn lines(&self) -> &Lines {
        &self.process.lines
    }

    /// Waits until a peer other than those in `except` has been heard for [`HEARD_FRAMES`];
    /// returns its id.
    fn wait_heard(&self, from: usize, except: &[String]) -> String {
        let what = format!("{} to hear a new peer", self.name);
        wait(self.lines(), from, &what, |l| {
            let id = field(l, "id")?;
            let decoded: u64 = field(l, "decoded")?.parse().ok()?;
            (l.starts_with("stats ") && decoded >= HEARD_FRAMES && !except.iter().any(|e| e == id))
                .then(|| id.to_owned())
        })
        .1
    }

    /// Says `quit`, waits for the exit and returns the recording.
    fn quit(self) -> Audio {
        let clean = self.process.quit(GUARD).expect("jam to finish");
        assert!(clean, "{} did not exit cleanly", self.name);
        read_wav(&self.output).expect("read recording")
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
    sibling_binary(
        Path::new(env!("CARGO_BIN_EXE_jam")),
        "tutti-server",
        "tutti-server",
    )
    .expect("tutti-server binary")
}

fn start_server(binary: &Path, db: &Path, bind: &str) -> Server {
    Server::start(binary, db, bind, &[], GUARD).expect("start tutti-server")
}

/// [`Lines::wait`] that fails the test on a timeout or an early exit.
fn wait<T>(lines: &Lines, from: usize, what: &str, m: impl Fn(&str) -> Option<T>) -> (usize, T) {
    lines.wait(from, GUARD, what, m).expect("wait for a line")
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

    let server = start_server(&binary, &db, "127.0.0.1:0");
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
    let mark = a.lines().len();
    assert_hears("B1", &b1.quit(), 440.0);
    wait(a.lines(), mark, "A to see B1 leave", |l| {
        (l.starts_with("peer-left") && field(l, "id") == Some(b1_id.as_str())).then_some(())
    });
    let b2 = Jam::start("B2", &server.url(), &room, "b@jam.test", &b_tone, &dir);
    let b2_id = a.wait_heard(mark, std::slice::from_ref(&b1_id));
    let a_id_for_b2 = b2.wait_heard(0, &[]);

    // The server restarts on the same port and database: both rejoin (with new ids) and
    // renegotiate. They ask to resume their seats, but the new process holds none: the rejoin
    // is fresh (`resumed=false`).
    let addr = server.addr.clone();
    let (a_mark, b_mark) = (a.lines().len(), b2.lines().len());
    drop(server);
    let server = start_server(&binary, &db, &addr);
    let rejoined = |l: &str| {
        (l.starts_with("joined") && field(l, "rejoined") == Some("true")).then(|| {
            assert_eq!(
                field(l, "resumed"),
                Some("false"),
                "a restarted server: {l}"
            );
        })
    };
    let (a_rejoin, ()) = wait(a.lines(), a_mark, "A to rejoin", rejoined);
    let (b_rejoin, ()) = wait(b2.lines(), b_mark, "B2 to rejoin", rejoined);
    // Each rejoin went with a fresh access token from the refresh endpoint.
    let refreshed = |l: &str| (l == "token-refreshed").then_some(());
    let (a_refresh, ()) = wait(a.lines(), a_mark, "A to refresh its token", refreshed);
    assert!(a_refresh < a_rejoin, "A refreshed before rejoining");
    wait(b2.lines(), b_mark, "B2 to refresh its token", refreshed);
    a.wait_heard(a_rejoin, &[b1_id, b2_id]);
    b2.wait_heard(b_rejoin, &[a_id_for_b2]);

    // Both quit at once: whoever quit first would leave the other recording silence.
    let (a_heard, b2_heard) = std::thread::scope(|s| {
        let b2 = s.spawn(move || b2.quit());
        (a.quit(), b2.join().expect("B2's quit thread"))
    });
    assert_hears("A", &a_heard, 660.0);
    assert_hears("B2", &b2_heard, 440.0);
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}

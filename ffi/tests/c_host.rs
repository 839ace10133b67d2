//! The C API from C: `examples/c-host/c_host.c` is compiled with gcc (`-Wall -Wextra -Werror`)
//! against `ffi/include/tutti.h` and the static library, then run against the real
//! `tutti-server` on loopback.
//!
//! - `two_c_hosts_hear_each_other`: two c-host processes at full real-time pace (64-frame
//!   blocks at 48 kHz from a timer thread) join one room; each sends a tone (440 / 660 Hz) and
//!   must detect the other's for a second (Goertzel). Both also run the misuse checks.
//! - `c_host_under_valgrind_is_clean`: one c-host under valgrind memcheck (leaks of kind
//!   "definite" and invalid accesses fail) joins a room with a second, native-speed c-host,
//!   plays ~10 s and leaves; no tone assertion, because valgrind runs ~20–50× slower than real
//!   time. It covers the misuse checks, create/join/poll/statistics/leave/free, and the WebRTC
//!   link setup and teardown inside the library. `examples/c-host/valgrind.supp` suppresses one
//!   third-party report (uninitialised bytes in webrtc-rs DTLS datagrams at `sendmsg`).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::Mutex;
use std::sync::atomic::{AtomicU32, Ordering};

use tutti_examples::api::Api;

/// One scenario at a time: valgrind's CPU load would starve the real-time tone exchange.
static SERIAL: Mutex<()> = Mutex::new(());

/// The directory cargo put this test in (`target/debug/deps`).
fn deps_dir() -> PathBuf {
    std::env::current_exe()
        .expect("test path")
        .parent()
        .expect("deps dir")
        .to_path_buf()
}

/// A fresh scratch directory under the system temp dir.
fn scratch(name: &str) -> PathBuf {
    static N: AtomicU32 = AtomicU32::new(0);
    let dir = std::env::temp_dir().join(format!(
        "tutti-ffi-{name}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

/// Compiles the C host against the header and the static library cargo built for this test.
fn build_c_host(dir: &Path) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let lib = deps_dir().join("libtutti_ffi.a");
    assert!(lib.exists(), "{} was not built", lib.display());
    let exe = dir.join("c-host");
    let status = Command::new("gcc")
        .args(["-std=c11", "-Wall", "-Wextra", "-Werror", "-O2", "-g"])
        .arg(root.join("examples/c-host/c_host.c"))
        .arg(format!("-I{}", root.join("ffi/include").display()))
        .arg(&lib)
        // ALSA, when a workspace build unified tutti-core's `device` feature (cpal) into the
        // library; `--as-needed` drops it otherwise. Without ALSA headers cpal cannot be built.
        .args(alsa_if_installed())
        // The system libraries Rust's std needs (`--print native-static-libs`).
        .args([
            "-lgcc_s",
            "-lutil",
            "-lrt",
            "-lpthread",
            "-lm",
            "-ldl",
            "-lc",
        ])
        .arg("-o")
        .arg(&exe)
        .status()
        .expect("run gcc");
    assert!(status.success(), "gcc failed");
    exe
}

/// `-lasound` (as needed) where ALSA's development files are installed.
fn alsa_if_installed() -> Vec<&'static str> {
    let alsa = Command::new("pkg-config")
        .args(["--exists", "alsa"])
        .status()
        .is_ok_and(|s| s.success());
    if alsa {
        vec!["-Wl,--as-needed", "-lasound", "-Wl,--no-as-needed"]
    } else {
        Vec::new()
    }
}

/// The real reference server on a free loopback port, with a throwaway database.
struct Server {
    child: Child,
    url: String,
}

impl Server {
    fn start(dir: &Path) -> Self {
        let binary = deps_dir()
            .parent()
            .expect("target dir")
            .join(format!("tutti-server{}", std::env::consts::EXE_SUFFIX));
        if !binary.exists() {
            let status = Command::new(env!("CARGO"))
                .args(["build", "-p", "tutti-server", "--bin", "tutti-server"])
                .status()
                .expect("run cargo build");
            assert!(status.success(), "building tutti-server failed");
        }
        let mut child = Command::new(&binary)
            .args([
                "--bind",
                "127.0.0.1:0",
                "--demo-data",
                "false",
                "--database-url",
            ])
            .arg(format!("sqlite://{}", dir.join("tutti.db").display()))
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .spawn()
            .expect("spawn tutti-server");
        let stdout = child.stdout.take().expect("stdout");
        let mut lines = std::io::BufRead::lines(std::io::BufReader::new(stdout));
        let url = lines
            .find_map(|l| {
                l.ok()?
                    .strip_prefix("tutti-server listening on ")
                    .map(str::to_owned)
            })
            .expect("the server prints its address");
        // Keep draining so the server never blocks on a full pipe.
        std::thread::spawn(move || lines.for_each(drop));
        Server { child, url }
    }

    /// Two accounts and a room: (token A, token B, room id).
    fn room_for_two(&self) -> (String, String, String) {
        let api = Api::new(&self.url);
        let a = api
            .sign_up("a@example.com", "correct horse 1")
            .expect("sign up A");
        let b = api
            .sign_up("b@example.com", "correct horse 2")
            .expect("sign up B");
        let room = api.create_room(&a, "c-host", 4).expect("create room");
        (a, b, room)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts a c-host; `prefix` is e.g. valgrind and its options.
fn c_host(prefix: &[&str], exe: &Path, args: &[&str]) -> Child {
    let (program, rest) = match prefix.split_first() {
        Some((p, rest)) => (PathBuf::from(p), rest.to_vec()),
        None => (exe.to_path_buf(), Vec::new()),
    };
    let mut command = Command::new(program);
    command.args(rest);
    if !prefix.is_empty() {
        command.arg(exe);
    }
    command
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn c-host")
}

fn finish(name: &str, child: Child) -> Output {
    let output = child.wait_with_output().expect("c-host output");
    eprintln!(
        "[{name}] status {:?}\n{}{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    output
}

#[test]
fn two_c_hosts_hear_each_other() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = scratch("tone");
    let exe = build_c_host(&dir);
    let server = Server::start(&dir);
    let (a, b, room) = server.room_for_two();
    let url = server.url.as_str();
    let host_a = c_host(&[], &exe, &[url, &room, &a, "440", "660", "60"]);
    let host_b = c_host(&[], &exe, &[url, &room, &b, "660", "440", "60"]);
    let (out_a, out_b) = (finish("A", host_a), finish("B", host_b));
    for (name, out, hz) in [("A", &out_a, "660"), ("B", &out_b, "440")] {
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains("misuse ok"), "{name}: misuse checks");
        assert!(stdout.contains("peer-media"), "{name}: the peer's media");
        assert!(
            stdout.contains(&format!("heard hz={hz}")),
            "{name} did not hear {hz} Hz"
        );
        assert!(out.status.success(), "{name} failed: {:?}", out.status);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn c_host_under_valgrind_is_clean() {
    let _serial = SERIAL
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    let dir = scratch("valgrind");
    let exe = build_c_host(&dir);
    let server = Server::start(&dir);
    let (a, b, room) = server.room_for_two();
    let url = server.url.as_str();
    let suppressions = format!(
        "--suppressions={}",
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../examples/c-host/valgrind.supp")
            .display()
    );
    let valgrind = [
        "valgrind",
        "-q",
        "--leak-check=full",
        "--errors-for-leak-kinds=definite",
        "--error-exitcode=3",
        &suppressions,
    ];
    let checked = c_host(
        &valgrind,
        &exe,
        &[url, &room, &a, "440", "660", "20", "--no-tone-check"],
    );
    let partner = c_host(
        &[],
        &exe,
        &[url, &room, &b, "660", "440", "20", "--no-tone-check"],
    );
    let (checked, partner) = (finish("valgrind", checked), finish("partner", partner));
    let stdout = String::from_utf8_lossy(&checked.stdout);
    assert!(stdout.contains("misuse ok"), "misuse checks under valgrind");
    assert!(stdout.contains("joined"), "joined under valgrind");
    assert!(stdout.contains("done "), "left and freed under valgrind");
    assert!(
        checked.status.success(),
        "valgrind found errors or leaks: {:?}",
        checked.status
    );
    assert!(partner.status.success(), "partner failed");
    let _ = std::fs::remove_dir_all(&dir);
}

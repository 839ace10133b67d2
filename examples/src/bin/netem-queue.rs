//! A seeded userspace `tc netem` on an NFQUEUE: delays, jitters and drops the packets netfilter
//! queues to it, for kernels without `sch_netem` (the network-namespace test's fallback).
//!
//! Run with (root, in the namespace whose traffic it shapes):
//!
//! ```text
//! cargo build -p tutti-examples --bin netem-queue
//! ip netns exec NS target/debug/netem-queue --queue 0 --delay-ms 20 --jitter-ms 3 --loss-percent 2
//! ip netns exec NS iptables-nft -A INPUT  -p udp -j NFQUEUE --queue-num 0
//! ip netns exec NS iptables-nft -A OUTPUT -p udp -j NFQUEUE --queue-num 0
//! ```
//!
//! Each queued packet gets a fate from `tutti_examples::netem` (seeded; inbound and outbound
//! are separate links): DROP at once, or ACCEPT once its delay has passed. Verdicts go out of
//! order across directions; within a direction the link keeps packets in order. The loop polls
//! the netlink socket without blocking every 0.5 ms (the `nfq` crate exposes no file descriptor
//! to wait on), so a packet can wait up to that much longer than drawn.
//!
//! The kernel holds every packet awaiting a verdict in the queue, whose length is capped
//! (`--max-queue`, default 1024; without fail-open a full queue drops, and the kernel counts it).
//!
//! Stdin takes one command a line: `outage on` (drop everything), `outage off`, `stats`, `quit`
//! (also on end of input). Stdout lines: `netem-queue ready …` once bound, `outage on|off` when
//! switched, `netem-stats <counters> held=N` on `stats`, and on exit (held packets are let
//! through first) `done <counters> kernel_queue_dropped=N kernel_user_dropped=N` with the
//! kernel's own drop counts for the queue (full queue / netlink buffer overrun). Counters are
//! `in_seen in_lost in_cut in_delayed` and the same for `out_`: `lost` is the random loss,
//! `cut` the outage.

use std::time::Duration;

use clap::Parser;

/// Seeded userspace netem on an NFQUEUE (delay ± uniform jitter, random loss, outage switch).
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// NFQUEUE number to bind.
    #[arg(long, default_value_t = 0)]
    queue: u16,
    /// Mean one-way delay in ms (netem `delay D`).
    #[arg(long, default_value_t = 20.0)]
    delay_ms: f64,
    /// Uniform delay variation ± in ms (netem `delay D J`).
    #[arg(long, default_value_t = 3.0)]
    jitter_ms: f64,
    /// Random loss in percent (netem `loss P%`).
    #[arg(long, default_value_t = 2.0)]
    loss_percent: f64,
    /// Seed of the random streams (inbound uses it, outbound the next one).
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Kernel queue length: packets waiting for a verdict, held ones included.
    #[arg(long, default_value_t = 1024)]
    max_queue: u32,
}

impl Args {
    fn params(&self) -> tutti_examples::netem::NetemParams {
        let ms = |v: f64| Duration::from_secs_f64(v.max(0.0) / 1e3);
        tutti_examples::netem::NetemParams {
            delay: ms(self.delay_ms),
            jitter: ms(self.jitter_ms),
            loss: self.loss_percent / 100.0,
        }
    }
}

fn main() {
    let args = Args::parse();
    if let Err(e) = run(&args) {
        eprintln!("netem-queue: {e}");
        std::process::exit(1);
    }
}

#[cfg(not(target_os = "linux"))]
fn run(_: &Args) -> Result<(), String> {
    Err("NFQUEUE exists only on Linux".into())
}

#[cfg(target_os = "linux")]
fn run(args: &Args) -> Result<(), String> {
    linux::run(args).map_err(|e| e.to_string())
}

#[cfg(target_os = "linux")]
mod linux {
    use std::collections::VecDeque;
    use std::io::{BufRead, ErrorKind};
    use std::sync::mpsc;
    use std::time::{Duration, Instant};

    use nfq::{Message, Queue, Verdict};
    use tutti_examples::netem::{Direction, Fate, Impairment};

    use super::Args;

    /// How often the socket is polled when nothing is due sooner.
    const POLL: Duration = Duration::from_micros(500);

    /// A command from stdin.
    enum Control {
        Outage(bool),
        Stats,
        Quit,
    }

    /// Reads commands from stdin on a thread; end of input means `quit`.
    fn control() -> mpsc::Receiver<Control> {
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in std::io::stdin().lock().lines() {
                let Ok(line) = line else { break };
                let command = match line.trim() {
                    "outage on" => Control::Outage(true),
                    "outage off" => Control::Outage(false),
                    "stats" => Control::Stats,
                    "quit" => Control::Quit,
                    other => {
                        eprintln!("netem-queue: unknown command {other:?}");
                        continue;
                    }
                };
                if tx.send(command).is_err() {
                    return;
                }
            }
            let _ = tx.send(Control::Quit);
        });
        rx
    }

    /// Packets held for their delay, one FIFO per direction (a link never reorders).
    #[derive(Default)]
    struct Held([VecDeque<(Duration, Message)>; 2]);

    impl Held {
        fn push(&mut self, direction: Direction, at: Duration, message: Message) {
            self.0[usize::from(direction == Direction::Outbound)].push_back((at, message));
        }

        /// Lets through every packet due by `now` (all of them with `Duration::MAX`).
        fn release(&mut self, queue: &mut Queue, now: Duration) -> std::io::Result<()> {
            for fifo in &mut self.0 {
                while fifo.front().is_some_and(|(at, _)| *at <= now) {
                    if let Some((_, mut message)) = fifo.pop_front() {
                        message.set_verdict(Verdict::Accept);
                        queue.verdict(message)?;
                    }
                }
            }
            Ok(())
        }

        fn next_due(&self) -> Option<Duration> {
            self.0
                .iter()
                .filter_map(|f| f.front().map(|(at, _)| *at))
                .min()
        }

        fn len(&self) -> usize {
            self.0.iter().map(VecDeque::len).sum()
        }
    }

    pub(super) fn run(args: &Args) -> std::io::Result<()> {
        let params = args.params();
        let mut impairment = Impairment::new(params, args.seed);
        let mut queue = Queue::open()?;
        queue.bind(args.queue)?;
        // Verdicts need only the packet id: copy no payload.
        queue.set_copy_range(args.queue, 0)?;
        queue.set_queue_max_len(args.queue, args.max_queue)?;
        queue.set_fail_open(args.queue, false)?;
        queue.set_nonblocking(true);
        let commands = control();
        println!(
            "netem-queue ready queue={} delay={}ms jitter={}ms loss={}% seed={}",
            args.queue, args.delay_ms, args.jitter_ms, args.loss_percent, args.seed
        );

        let start = Instant::now();
        let mut held = Held::default();
        'run: loop {
            while let Ok(command) = commands.try_recv() {
                match command {
                    Control::Outage(cut) => {
                        impairment.set_outage(cut);
                        println!("outage {}", if cut { "on" } else { "off" });
                    }
                    Control::Stats => {
                        println!("netem-stats {} held={}", impairment.counters(), held.len());
                    }
                    Control::Quit => break 'run,
                }
            }
            loop {
                let mut message = match queue.recv() {
                    Ok(message) => message,
                    Err(e) if e.kind() == ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e),
                };
                let direction = Direction::from_hook(message.get_hook());
                match impairment.packet(direction, start.elapsed()) {
                    Fate::Drop => {
                        message.set_verdict(Verdict::Drop);
                        queue.verdict(message)?;
                    }
                    Fate::DeliverAt(at) => held.push(direction, at, message),
                }
            }
            let now = start.elapsed();
            held.release(&mut queue, now)?;
            let wait = held
                .next_due()
                .map_or(POLL, |due| due.saturating_sub(now).min(POLL));
            std::thread::sleep(wait);
        }
        held.release(&mut queue, Duration::MAX)?;
        let (full, overrun) = kernel_drops(args.queue);
        println!(
            "done {} kernel_queue_dropped={full} kernel_user_dropped={overrun}",
            impairment.counters()
        );
        queue.unbind(args.queue)
    }

    /// The kernel's drop counters for `queue` in this network namespace: (queue full, netlink
    /// buffer overrun), from `/proc/net/netfilter/nfnetlink_queue`
    /// (`queue portid total copy_mode copy_range queue_dropped user_dropped id …`); `-1` each if
    /// unreadable.
    fn kernel_drops(queue: u16) -> (i64, i64) {
        let table =
            std::fs::read_to_string("/proc/net/netfilter/nfnetlink_queue").unwrap_or_default();
        table
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>())
            .find(|f| f.first().and_then(|q| q.parse::<u16>().ok()) == Some(queue))
            .and_then(|f| Some((f.get(5)?.parse().ok()?, f.get(6)?.parse().ok()?)))
            .unwrap_or((-1, -1))
    }
}

//! Packet traces: generated from a profile, or read from measurements of real networks.

use std::io::{BufRead, Write};
use std::time::Duration;

use super::{Link, NetworkProfile};

/// The CSV header, in this column order.
const HEADER: [&str; 3] = ["seq", "send_us", "recv_us"];

/// Longest excerpt of a bad line quoted in an error, so garbage input cannot produce a huge error.
const MAX_QUOTED: usize = 40;

/// One packet as its two hosts saw it.
///
/// `send` is on the sender's clock and `recv` on the receiver's, as in a capture taken on two
/// machines; their difference therefore includes an unknown clock offset and drift. Use
/// [`Trace::delays_above_minimum`], which cancels the offset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TraceRecord {
    /// Sequence number assigned by the sender.
    pub seq: u64,
    /// When it was sent, on the sender's clock.
    pub send: Duration,
    /// When its first copy arrived, on the receiver's clock; `None` if it never did.
    pub recv: Option<Duration>,
}

/// A sequence of packets, in the order they were sent.
///
/// Traces let a jitter-buffer benchmark replay a measured network as easily as a modelled one,
/// and let a modelled network be inspected with the same tools.
///
/// # CSV format
/// A header `seq,send_us,recv_us`, then one packet per line. Times are microseconds, optionally
/// with up to three decimals (nanoseconds); an empty `recv_us` means the packet was lost. Spaces
/// around fields, blank lines and CRLF line ends are accepted.
///
/// ```text
/// seq,send_us,recv_us
/// 0,0,10250
/// 1,2500,
/// 2,5000,15012.5
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Trace {
    /// The packets, in send order.
    pub records: Vec<TraceRecord>,
}

/// Why a trace could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TraceError {
    /// Reading from the source failed (the environment's fault, not the file's content).
    #[error("cannot read trace: {0}")]
    Io(#[from] std::io::Error),
    /// The input holds no header line.
    #[error("trace is empty: expected the header `seq,send_us,recv_us`")]
    MissingHeader,
    /// The first non-blank line is not the expected header.
    #[error("line {line}: expected the header `seq,send_us,recv_us`, found `{found}`")]
    BadHeader {
        /// 1-based line number.
        line: usize,
        /// The start of the line found instead.
        found: String,
    },
    /// A line is not valid UTF-8.
    #[error("line {line}: not valid UTF-8")]
    NotUtf8 {
        /// 1-based line number.
        line: usize,
    },
    /// A row does not have exactly three comma-separated fields.
    #[error("line {line}: expected 3 fields, found {found}")]
    FieldCount {
        /// 1-based line number.
        line: usize,
        /// How many fields the row has.
        found: usize,
    },
    /// A field does not hold a value of the expected form.
    #[error("line {line}, column `{column}`: {reason}, found `{found}`")]
    BadField {
        /// 1-based line number.
        line: usize,
        /// The column's header name.
        column: &'static str,
        /// What the column must hold.
        reason: &'static str,
        /// The start of the field found instead.
        found: String,
    },
}

impl Trace {
    /// Simulates `count` packets sent every `packet_interval` of the *sender's* clock over a
    /// [`Link`] with this profile and seed.
    ///
    /// Records are stamped as real hosts would: `send = k × packet_interval` on the sender's
    /// clock, `recv` = the first copy's arrival on the receiver's clock (so drift shows up in the
    /// trace as it would in a capture). Without drift both clocks are true time.
    #[must_use]
    pub fn generate(
        profile: NetworkProfile,
        seed: u64,
        packet_interval: Duration,
        count: usize,
    ) -> Self {
        let mut link = Link::new(profile, seed);
        let (sender, receiver) = (profile.sender_clock(), profile.receiver_clock());
        let interval_nanos = packet_interval.as_nanos();
        let mut previous_true = Duration::ZERO;
        let records = (0..count as u64)
            .map(|seq| {
                let local = duration_from_nanos_u128(interval_nanos.saturating_mul(seq.into()));
                // `to_true` is monotonic; `max` only guards the send-order contract regardless.
                let send_true = sender.to_true(local).max(previous_true);
                previous_true = send_true;
                let recv = match link.transmit(send_true) {
                    Ok(arrivals) => arrivals.first().map(|t| receiver.to_local(t)),
                    // Unreachable: send times are non-decreasing by construction.
                    Err(_) => None,
                };
                TraceRecord {
                    seq,
                    send: local,
                    recv,
                }
            })
            .collect();
        Self { records }
    }

    /// Reads a trace in the CSV format described on [`Trace`].
    ///
    /// Rejects the first malformed line with its line number; never panics on garbage.
    pub fn read_csv(mut reader: impl BufRead) -> Result<Self, TraceError> {
        let mut records = Vec::new();
        let mut seen_header = false;
        let mut bytes = Vec::new();
        let mut line_number = 0;
        loop {
            bytes.clear();
            if reader.read_until(b'\n', &mut bytes)? == 0 {
                break;
            }
            line_number += 1;
            let line = std::str::from_utf8(&bytes)
                .map_err(|_| TraceError::NotUtf8 { line: line_number })?
                .trim();
            if line.is_empty() {
                continue;
            }
            if !seen_header {
                if !line.split(',').map(str::trim).eq(HEADER) {
                    return Err(TraceError::BadHeader {
                        line: line_number,
                        found: excerpt(line),
                    });
                }
                seen_header = true;
                continue;
            }
            records.push(parse_row(line, line_number)?);
        }
        if !seen_header {
            return Err(TraceError::MissingHeader);
        }
        Ok(Self { records })
    }

    /// Writes the trace as CSV that [`Trace::read_csv`] reads back identically.
    ///
    /// Times are written in microseconds, with decimals only when needed; a time beyond 2⁶⁴ µs
    /// (~584 000 years) would be written but not read back.
    pub fn write_csv(&self, mut writer: impl Write) -> std::io::Result<()> {
        writeln!(writer, "{}", HEADER.join(","))?;
        for record in &self.records {
            write!(writer, "{},", record.seq)?;
            write_micros(&mut writer, record.send)?;
            write!(writer, ",")?;
            if let Some(recv) = record.recv {
                write_micros(&mut writer, recv)?;
            }
            writeln!(writer)?;
        }
        Ok(())
    }

    /// Fraction of packets that never arrived (0 for an empty trace).
    #[must_use]
    pub fn loss_rate(&self) -> f64 {
        if self.records.is_empty() {
            return 0.0;
        }
        let lost = self.records.iter().filter(|r| r.recv.is_none()).count();
        lost as f64 / self.records.len() as f64
    }

    /// For each received packet in record order, its one-way delay minus the smallest one-way
    /// delay in the trace.
    ///
    /// This is the quantity a jitter buffer pays for: a late-loss rate `p` needs a buffer of the
    /// `(1 − p)` quantile of it. Subtracting the minimum cancels the unknown offset between the
    /// two hosts' clocks, so it works on real captures too (drift, if any, remains).
    #[must_use]
    pub fn delays_above_minimum(&self) -> Vec<Duration> {
        // Signed nanoseconds: on a real capture recv may read earlier than send.
        let delays: Vec<i128> = self
            .records
            .iter()
            .filter_map(|r| {
                let recv = r.recv?;
                Some(nanos_i128(recv) - nanos_i128(r.send))
            })
            .collect();
        let Some(&min) = delays.iter().min() else {
            return Vec::new();
        };
        delays
            .into_iter()
            .map(|d| duration_from_nanos_u128(d.abs_diff(min)))
            .collect()
    }
}

/// The `q` quantile (nearest rank) of `sorted`, which must be in ascending order.
///
/// `None` for an empty slice or `q` outside `[0, 1]`. Nearest rank is used because at the tails
/// a jitter buffer cares about actual observed packets, not interpolations between them.
#[must_use]
pub fn quantile(sorted: &[Duration], q: f64) -> Option<Duration> {
    if !(0.0..=1.0).contains(&q) || sorted.is_empty() {
        return None;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied()
}

fn parse_row(line: &str, line_number: usize) -> Result<TraceRecord, TraceError> {
    let fields: Vec<&str> = line.split(',').map(str::trim).collect();
    let [seq, send, recv] = fields[..] else {
        return Err(TraceError::FieldCount {
            line: line_number,
            found: fields.len(),
        });
    };
    let bad = |column, reason, found: &str| TraceError::BadField {
        line: line_number,
        column,
        reason,
        found: excerpt(found),
    };
    let seq =
        parse_digits(seq).ok_or_else(|| bad(HEADER[0], "expected an unsigned integer", seq))?;
    const TIME: &str = "expected microseconds with at most 3 decimals";
    let send = parse_micros(send).ok_or_else(|| bad(HEADER[1], TIME, send))?;
    let recv = if recv.is_empty() {
        None
    } else {
        Some(parse_micros(recv).ok_or_else(|| bad(HEADER[2], TIME, recv))?)
    };
    Ok(TraceRecord { seq, send, recv })
}

/// An unsigned decimal integer of ASCII digits only (no sign, unlike `u64::from_str`).
fn parse_digits(text: &str) -> Option<u64> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

/// `123` or `123.4`..`123.456` microseconds, exactly, to the nanosecond.
fn parse_micros(text: &str) -> Option<Duration> {
    if text.ends_with('.') {
        return None;
    }
    let (whole, fraction) = text.split_once('.').unwrap_or((text, ""));
    let micros = parse_digits(whole)?;
    let nanos = if fraction.is_empty() {
        0
    } else {
        if fraction.len() > 3 {
            return None;
        }
        // Pad to three digits: ".5" is 500 ns.
        let value = parse_digits(fraction)?;
        let scale = 10_u64.pow(3 - fraction.len() as u32);
        value * scale
    };
    let nanos_in_micros = (micros % 1_000_000) * 1_000 + nanos;
    // Sub-second nanoseconds are < 10⁹, so this cannot overflow or panic.
    Some(Duration::new(micros / 1_000_000, nanos_in_micros as u32))
}

fn write_micros(writer: &mut impl Write, time: Duration) -> std::io::Result<()> {
    let nanos = time.as_nanos();
    let (micros, rest) = (nanos / 1_000, nanos % 1_000);
    if rest == 0 {
        write!(writer, "{micros}")
    } else {
        let decimals = format!("{rest:03}");
        write!(writer, "{micros}.{}", decimals.trim_end_matches('0'))
    }
}

fn excerpt(text: &str) -> String {
    text.chars().take(MAX_QUOTED).collect()
}

fn nanos_i128(time: Duration) -> i128 {
    // At most ~1.8e28 ns: fits in i128 (1.7e38).
    time.as_nanos() as i128
}

fn duration_from_nanos_u128(nanos: u128) -> Duration {
    let secs = u64::try_from(nanos / 1_000_000_000).unwrap_or(u64::MAX);
    // The remainder is < 10⁹.
    Duration::new(secs, (nanos % 1_000_000_000) as u32)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn us(micros: u64) -> Duration {
        Duration::from_micros(micros)
    }

    #[test]
    fn reads_the_documented_example_with_sloppy_formatting() {
        let csv = " seq , send_us , recv_us \r\n\n0,0,10250\r\n 1 , 2500 ,  \n2,5000,15012.5\n\n";
        let trace = Trace::read_csv(csv.as_bytes()).expect("valid trace");
        assert_eq!(
            trace.records,
            [
                TraceRecord {
                    seq: 0,
                    send: us(0),
                    recv: Some(us(10_250))
                },
                TraceRecord {
                    seq: 1,
                    send: us(2500),
                    recv: None
                },
                TraceRecord {
                    seq: 2,
                    send: us(5000),
                    recv: Some(us(15_012) + Duration::from_nanos(500))
                },
            ]
        );
        assert!((trace.loss_rate() - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            trace.delays_above_minimum(),
            [Duration::from_nanos(237_500), Duration::ZERO]
        );
    }

    #[test]
    fn malformed_rows_name_their_line() {
        let header = "seq,send_us,recv_us\n";
        let cases = [
            (String::new(), "trace is empty"),
            ("\n  \n".to_owned(), "trace is empty"),
            ("seq,send,recv\n".to_owned(), "line 1: expected the header"),
            ("\n1,2,3\n".to_owned(), "line 2: expected the header"),
            (
                format!("{header}0,0,1\n\n1,2\n"),
                "line 4: expected 3 fields, found 2",
            ),
            (
                format!("{header}0,0,1,4\n"),
                "line 2: expected 3 fields, found 4",
            ),
            (
                format!("{header}-1,0,1\n"),
                "line 2, column `seq`: expected an unsigned integer",
            ),
            (format!("{header}0,1e3,\n"), "line 2, column `send_us`"),
            (format!("{header}0,0,1.2345\n"), "line 2, column `recv_us`"),
        ];
        for (input, expected) in cases {
            let error = Trace::read_csv(input.as_bytes()).expect_err(&input);
            let message = error.to_string();
            assert!(message.contains(expected), "{input:?}: {message}");
        }
        let not_utf8 = b"seq,send_us,recv_us\n0,0,\xff\n";
        assert!(matches!(
            Trace::read_csv(&not_utf8[..]),
            Err(TraceError::NotUtf8 { line: 2 })
        ));
        for bad_time in ["1.", ".5", "1.2.3", "+1", " 1 2", "99999999999999999999999"] {
            let input = format!("{header}0,{bad_time},\n");
            assert!(
                matches!(
                    Trace::read_csv(input.as_bytes()),
                    Err(TraceError::BadField { line: 2, .. })
                ),
                "{bad_time:?}"
            );
        }
    }

    #[test]
    fn quantile_is_nearest_rank() {
        let sorted: Vec<Duration> = (1..=100).map(us).collect();
        assert_eq!(quantile(&sorted, 0.5), Some(us(50)));
        assert_eq!(quantile(&sorted, 0.99), Some(us(99)));
        assert_eq!(quantile(&sorted, 0.0), Some(us(1)));
        assert_eq!(quantile(&sorted, 1.0), Some(us(100)));
        assert_eq!(quantile(&sorted, 1.5), None);
        assert_eq!(quantile(&sorted, f64::NAN), None);
        assert_eq!(quantile(&[], 0.5), None);
    }

    #[test]
    fn generated_trace_round_trips_through_csv() {
        let profile = NetworkProfile::wifi()
            .with_loss(crate::netsim::LossModel::Random { probability: 0.05 })
            .with_drift(150.0, -80.0);
        let trace = Trace::generate(profile, 9, Duration::from_micros(2500), 5000);
        assert!(trace.records.iter().any(|r| r.recv.is_none()));
        let mut csv = Vec::new();
        trace.write_csv(&mut csv).expect("writing to a Vec");
        assert_eq!(Trace::read_csv(csv.as_slice()).expect("own output"), trace);
    }

    fn arb_time() -> impl Strategy<Value = Duration> {
        (0_u64..1 << 40, 0_u32..1_000_000_000).prop_map(|(s, n)| Duration::new(s, n))
    }

    proptest! {
        #[test]
        fn any_trace_round_trips(records in prop::collection::vec(
            (any::<u64>(), arb_time(), prop::option::of(arb_time())), 0..50)
        ) {
            let trace = Trace {
                records: records
                    .into_iter()
                    .map(|(seq, send, recv)| TraceRecord { seq, send, recv })
                    .collect(),
            };
            let mut csv = Vec::new();
            trace.write_csv(&mut csv).expect("writing to a Vec");
            prop_assert_eq!(Trace::read_csv(csv.as_slice()).expect("own output"), trace);
        }

        #[test]
        fn garbage_is_an_error_not_a_panic(bytes in prop::collection::vec(any::<u8>(), 0..300)) {
            let _ = Trace::read_csv(bytes.as_slice());
            let mut with_header = b"seq,send_us,recv_us\n".to_vec();
            with_header.extend_from_slice(&bytes);
            let _ = Trace::read_csv(with_header.as_slice());
        }

        #[test]
        fn csv_like_garbage_is_an_error_not_a_panic(
            body in "[0-9., \r\n\t+e-]{0,200}"
        ) {
            let input = format!("seq,send_us,recv_us\n{body}");
            if let Err(error) = Trace::read_csv(input.as_bytes()) {
                let _ = error.to_string();
            }
        }
    }
}

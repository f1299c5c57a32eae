//! `linnet ping`: iputils `ping` over a linnet daemon's stack: the same options, lines,
//! summary and exit status.
//!
//! Linux: iputils ping/ping.c and ping/ping_common.c (`main_loop`, `pinger`,
//! `schedule_exit`, `gather_statistics`, `acknowledge`, `finish`, `pr_icmph`),
//! net/ipv4/ping.c (the kernel side of echo requests).
//! RFCs: RFC 792 (echo, destination unreachable, time exceeded), RFC 1122 §3.2.2.6.
//!
//! Requests leave every `-i` seconds whatever comes back (several may be in flight, as with
//! iputils); answers are matched by identifier and sequence number. After the last of `-c`
//! requests, ping waits for answers: twice the longest round trip (at least one interval) if
//! any reply came, else `-W` seconds; it stops early once every request is answered (reply
//! or error), and at once on SIGINT or when `-w` seconds have passed. Round-trip times are
//! measured by the daemon (from the request being queued to the answer being received).
//!
//! Exit status as iputils: 0 if any reply came (and, with `-w`, all `-c` of them), 1 if none,
//! 2 on other errors (unknown host, no daemon, no route).

use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU16, Ordering};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use clap::Args;
use linnet::control::{strerror, ClientError, PingAnswer};

use crate::tool;

/// Options of `linnet ping`.
#[derive(Debug, Args, Clone)]
pub struct PingArgs {
    #[arg(long, value_name = "PATH", help = tool::CTL_HELP)]
    pub ctl: Option<PathBuf>,
    /// Stop after COUNT requests (and their answers, or the -W wait).
    #[arg(short = 'c', value_name = "COUNT", value_parser = clap::value_parser!(u64).range(1..))]
    pub count: Option<u64>,
    /// Seconds between requests.
    #[arg(short = 'i', value_name = "INTERVAL", default_value_t = 1.0, value_parser = parse_interval)]
    pub interval: f64,
    /// Payload bytes after the 8-byte ICMP header.
    #[arg(short = 's', value_name = "SIZE", default_value_t = 56, value_parser = parse_size)]
    pub size: usize,
    /// IP time to live of the requests.
    #[arg(short = 't', value_name = "TTL", value_parser = clap::value_parser!(u8).range(1..))]
    pub ttl: Option<u8>,
    /// Seconds to wait for an answer after the last request when none has come.
    #[arg(short = 'W', value_name = "TIMEOUT", default_value_t = 10.0, value_parser = parse_secs)]
    pub linger: f64,
    /// Stop after DEADLINE seconds, whatever was sent or received.
    #[arg(short = 'w', value_name = "DEADLINE", value_parser = parse_secs)]
    pub deadline: Option<f64>,
    /// Print only the first line and the summary.
    #[arg(short = 'q')]
    pub quiet: bool,
    /// Numeric output only (accepted; linnet never resolves names).
    #[arg(short = 'n')]
    pub numeric: bool,
    /// The destination, an IPv4 address.
    pub host: String,
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.0..=2_147_483.0).contains(&v) => Ok(v),
        _ => Err(format!("bad time value: {s}")),
    }
}

fn parse_interval(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.002..=2_147_483.0).contains(&v) => Ok(v),
        _ => Err(format!("bad timing interval: {s} (at least 0.002)")),
    }
}

fn parse_size(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(v) if v <= 65_507 => Ok(v),
        Ok(v) => Err(format!("packet size {v} is too large. Maximum is 65507")),
        Err(_) => Err(format!("invalid argument: '{s}'")),
    }
}

/// How long ping waits on the daemon at most before it looks at SIGINT again.
const SLICE: Duration = Duration::from_millis(100);
/// `struct timeval` on 64-bit Linux: the timestamp iputils puts in front of the payload.
const TIMEVAL: usize = 16;

static INSTANCE: AtomicU16 = AtomicU16::new(0);

/// iputils' reply time: three decimals under 1 ms, two under 10, one under 100, then none.
pub fn fmt_time(us: u64) -> String {
    if us >= 100_000 - 50 {
        format!("{}", (us + 500) / 1000)
    } else if us >= 10_000 - 5 {
        format!("{}.{:01}", (us + 50) / 1000, ((us + 50) % 1000) / 100)
    } else if us >= 1000 {
        format!("{}.{:02}", (us + 5) / 1000, ((us + 5) % 1000) / 10)
    } else {
        format!("{}.{:03}", us / 1000, us % 1000)
    }
}

/// C's `%g`: six significant digits, trailing zeros dropped.
pub fn fmt_g(v: f64) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let exp = v.abs().log10().floor() as i32;
    let decimals = (5 - exp).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// `pr_icmph`: iputils' words for an ICMP error.
pub fn icmp_text(msg_type: u8, code: u8) -> String {
    let s = match (msg_type, code) {
        (3, 0) => "Destination Net Unreachable",
        (3, 1) => "Destination Host Unreachable",
        (3, 2) => "Destination Protocol Unreachable",
        (3, 3) => "Destination Port Unreachable",
        (3, 4) => "Frag needed and DF set",
        (3, 5) => "Source Route Failed",
        (3, 6) => "Destination Net Unknown",
        (3, 7) => "Destination Host Unknown",
        (3, 8) => "Source Host Isolated",
        (3, 9) => "Destination Net Prohibited",
        (3, 10) => "Destination Host Prohibited",
        (3, 11) => "Destination Net Unreachable for Type of Service",
        (3, 12) => "Destination Host Unreachable for Type of Service",
        (3, 13) => "Packet filtered",
        (3, 14) => "Precedence Violation",
        (3, 15) => "Precedence Cutoff",
        (3, c) => return format!("Dest Unreachable, Bad Code: {c}"),
        (4, _) => "Source Quench",
        (5, 0) => "Redirect Network",
        (5, 1) => "Redirect Host",
        (5, _) => "Redirect",
        (11, 0) => "Time to live exceeded",
        (11, 1) => "Frag reassembly time exceeded",
        (11, c) => return format!("Time exceeded, Bad Code: {c}"),
        (12, _) => "Parameter problem",
        (t, _) => return format!("Bad ICMP type: {t}"),
    };
    s.to_string()
}

fn fmt_ms(us: i64) -> String {
    format!("{}.{:03}", us / 1000, us % 1000)
}

fn isqrt(v: i128) -> i128 {
    if v <= 0 {
        return 0;
    }
    let mut x = (v as f64).sqrt() as i128;
    while x * x > v {
        x -= 1;
    }
    while (x + 1) * (x + 1) <= v {
        x += 1;
    }
    x
}

/// The counters of `struct ping_rts` that the summary prints.
#[derive(Debug, Default)]
struct Tally {
    transmitted: u64,
    received: u64,
    repeats: u64,
    errors: u64,
    tmin: i64,
    tmax: i64,
    tsum: i128,
    tsum2: i128,
    pipesize: u64,
}

impl Tally {
    /// `acknowledge`: the largest number of requests in flight at once.
    fn acknowledge(&mut self, seq: u16) {
        let diff = (self.transmitted as u16).wrapping_sub(seq);
        if diff <= 0x7fff {
            self.pipesize = self.pipesize.max(u64::from(diff) + 1);
        }
    }

    fn rtt(&mut self, us: i64) {
        if self.received + self.repeats == 0 || us < self.tmin {
            self.tmin = us;
        }
        self.tmax = self.tmax.max(us);
        self.tsum += i128::from(us);
        self.tsum2 += i128::from(us) * i128::from(us);
    }
}

/// Runs `linnet ping`; returns the exit status. `interrupted` is SIGINT's flag.
pub fn run(
    args: &PingArgs,
    out: &mut dyn Write,
    err: &mut dyn Write,
    interrupted: &AtomicBool,
) -> u8 {
    match Pinger::run(args, out, err, interrupted) {
        Ok(code) => code,
        Err(msg) => {
            let _ = out.flush();
            let _ = writeln!(err, "ping: {msg}");
            2
        }
    }
}

struct Pinger;

impl Pinger {
    fn run(
        args: &PingArgs,
        out: &mut dyn Write,
        err: &mut dyn Write,
        interrupted: &AtomicBool,
    ) -> Result<u8, String> {
        let Ok(dst) = args.host.parse::<Ipv4Addr>() else {
            return Err(format!("{}: Name or service not known", args.host));
        };
        let mut client = tool::connect(args.ctl.as_deref()).map_err(|e| e.to_string())?;
        let ident = (std::process::id() as u16).wrapping_add(
            INSTANCE
                .fetch_add(1, Ordering::Relaxed)
                .wrapping_mul(0x3c6f),
        );
        let timing = args.size >= TIMEVAL;
        let mut payload: Vec<u8> = (0..args.size).map(|i| i as u8).collect();
        let interval = Duration::from_secs_f64(args.interval);
        let linger = Duration::from_secs_f64(args.linger);
        let w = |r: std::io::Result<()>| r.map_err(|e| format!("stdout: {e}"));

        w(writeln!(
            out,
            "PING {} ({dst}) {}({}) bytes of data.",
            args.host,
            args.size,
            args.size + 28
        ))?;
        let start = Instant::now();
        let deadline = args.deadline.map(|d| start + Duration::from_secs_f64(d));
        let mut next_send = start;
        let mut exit_at: Option<Instant> = None;
        let mut t = Tally::default();
        let mut sent: HashMap<u16, u64> = HashMap::new();
        let mut answered: HashSet<u16> = HashSet::new();

        loop {
            if interrupted.load(Ordering::Relaxed) {
                break;
            }
            if args.count.is_some_and(|c| t.received + t.errors >= c) {
                break;
            }
            let now = Instant::now();
            if deadline.is_some_and(|d| now >= d) || exit_at.is_some_and(|e| now >= e) {
                break;
            }
            // iputils: with -w, keep sending past -c until -c answers came or the deadline.
            let more = deadline.is_some() || args.count.is_none_or(|c| t.transmitted < c);
            if more && now >= next_send {
                let seq = (t.transmitted + 1) as u16;
                if timing {
                    let wall = SystemTime::now()
                        .duration_since(UNIX_EPOCH)
                        .unwrap_or_default();
                    payload[..8].copy_from_slice(&wall.as_secs().to_ne_bytes());
                    payload[8..16].copy_from_slice(&u64::from(wall.subsec_micros()).to_ne_bytes());
                }
                // rcvd_clear: a reused sequence number (after 65535) is not a duplicate.
                answered.remove(&seq);
                match client.ping_send(dst, ident, seq, args.ttl, &payload) {
                    Ok(at) => {
                        sent.insert(seq, at);
                    }
                    // iputils learns this from its first connect(): no route at all.
                    Err(ClientError::Remote { errno, .. })
                        if t.transmitted == 0 && errno == libc::ENETUNREACH =>
                    {
                        return Err(format!("connect: {}", strerror(errno)));
                    }
                    Err(ClientError::Remote { errno, .. }) => {
                        let _ = out.flush();
                        let _ = writeln!(err, "ping: sendmsg: {}", strerror(errno));
                        t.errors += 1;
                    }
                    Err(e) => return Err(e.to_string()),
                }
                t.transmitted += 1;
                next_send += interval;
                if deadline.is_some() && t.errors > 0 {
                    // iputils stops at the first error when a deadline is set.
                    break;
                }
                if deadline.is_none() && args.count.is_some_and(|c| t.transmitted >= c) {
                    // schedule_exit.
                    let wait = if t.received > 0 {
                        Duration::from_micros(2 * t.tmax as u64).max(interval)
                    } else {
                        linger
                    };
                    exit_at = Some(Instant::now() + wait);
                }
                continue;
            }
            let mut until = now + SLICE;
            if more {
                until = until.min(next_send);
            }
            for end in [exit_at, deadline].into_iter().flatten() {
                until = until.min(end);
            }
            let answer = client
                .ping_recv(ident, until.saturating_duration_since(now))
                .map_err(|e| e.to_string())?;
            let Some((answer, at)) = answer else {
                continue;
            };
            let seq = answer.seq();
            let Some(&sent_at) = sent.get(&seq) else {
                continue;
            };
            t.acknowledge(seq);
            match answer {
                PingAnswer::Reply { from, len, ttl, .. } => {
                    let us = (at.saturating_sub(sent_at) / 1000) as i64;
                    if timing {
                        t.rtt(us);
                    }
                    let dup = !answered.insert(seq);
                    if dup {
                        t.repeats += 1;
                    } else {
                        t.received += 1;
                    }
                    if !args.quiet {
                        let time = if timing {
                            format!(" time={} ms", fmt_time(us as u64))
                        } else {
                            String::new()
                        };
                        let dup = if dup { " (DUP!)" } else { "" };
                        w(writeln!(
                            out,
                            "{} bytes from {from}: icmp_seq={seq} ttl={ttl}{time}{dup}",
                            len + 8
                        ))?;
                    }
                }
                PingAnswer::Error {
                    from,
                    msg_type,
                    code,
                    ..
                } => {
                    t.errors += 1;
                    if !args.quiet {
                        w(writeln!(
                            out,
                            "From {from} icmp_seq={seq} {}",
                            icmp_text(msg_type, code)
                        ))?;
                    }
                }
            }
        }
        let elapsed = start.elapsed();
        w(Self::summary(args, &t, timing, elapsed, out))?;
        let short = args.deadline.is_some() && args.count.is_some_and(|c| t.received < c);
        Ok(if t.received == 0 || short { 1 } else { 0 })
    }

    /// `finish`.
    fn summary(
        args: &PingArgs,
        t: &Tally,
        timing: bool,
        elapsed: Duration,
        out: &mut dyn Write,
    ) -> std::io::Result<()> {
        writeln!(out, "\n--- {} ping statistics ---", args.host)?;
        write!(
            out,
            "{} packets transmitted, {} received",
            t.transmitted, t.received
        )?;
        if t.repeats > 0 {
            write!(out, ", +{} duplicates", t.repeats)?;
        }
        if t.errors > 0 {
            write!(out, ", +{} errors", t.errors)?;
        }
        if t.transmitted > 0 {
            let loss =
                (t.transmitted.saturating_sub(t.received) as f64 * 100.0) / t.transmitted as f64;
            let ms = elapsed.as_secs() * 1000
                + (u64::from(elapsed.subsec_nanos()) + 500_000) / 1_000_000;
            write!(
                out,
                ", {}% packet loss, time {ms}ms",
                fmt_g(f64::from(loss as f32))
            )?;
        }
        writeln!(out)?;
        let mut comma = "";
        if t.received > 0 && timing {
            let total = i128::from(t.received + t.repeats);
            let avg = t.tsum / total;
            let var = (t.tsum2 - (t.tsum * t.tsum) / total) / total;
            write!(
                out,
                "rtt min/avg/max/mdev = {}/{}/{}/{} ms",
                fmt_ms(t.tmin),
                fmt_ms(avg as i64),
                fmt_ms(t.tmax),
                fmt_ms(isqrt(var) as i64)
            )?;
            comma = ", ";
        }
        if t.pipesize > 1 {
            write!(out, "{comma}pipe {}", t.pipesize)?;
        }
        writeln!(out)?;
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_times_use_iputils_precision() {
        assert_eq!(fmt_time(123), "0.123");
        assert_eq!(fmt_time(999), "0.999");
        assert_eq!(fmt_time(1234), "1.23");
        assert_eq!(fmt_time(12_345), "12.3");
        assert_eq!(fmt_time(123_456), "123");
    }

    #[test]
    fn loss_prints_like_c_percent_g() {
        assert_eq!(fmt_g(0.0), "0");
        assert_eq!(fmt_g(100.0), "100");
        assert_eq!(fmt_g(f64::from((100.0f64 / 3.0) as f32)), "33.3333");
        assert_eq!(fmt_g(f64::from((200.0f64 / 3.0) as f32)), "66.6667");
        assert_eq!(fmt_g(50.0), "50");
    }

    #[test]
    fn pipe_counts_requests_in_flight() {
        let mut t = Tally {
            transmitted: 3,
            ..Tally::default()
        };
        t.acknowledge(1);
        assert_eq!(t.pipesize, 3);
        t.acknowledge(3);
        assert_eq!(t.pipesize, 3);
    }

    #[test]
    fn summary_matches_iputils() {
        let args = PingArgs {
            ctl: None,
            count: Some(3),
            interval: 1.0,
            size: 56,
            ttl: None,
            linger: 10.0,
            deadline: None,
            quiet: false,
            numeric: false,
            host: "10.0.0.1".into(),
        };
        let mut t = Tally {
            transmitted: 3,
            ..Tally::default()
        };
        for us in [45, 57, 69] {
            t.rtt(us);
            t.received += 1;
        }
        let mut out = Vec::new();
        Pinger::summary(&args, &t, true, Duration::from_millis(2003), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\n--- 10.0.0.1 ping statistics ---\n\
             3 packets transmitted, 3 received, 0% packet loss, time 2003ms\n\
             rtt min/avg/max/mdev = 0.045/0.057/0.069/0.009 ms\n"
        );
        let t = Tally {
            transmitted: 3,
            errors: 3,
            pipesize: 3,
            ..Tally::default()
        };
        let mut out = Vec::new();
        Pinger::summary(&args, &t, true, Duration::from_millis(2047), &mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "\n--- 10.0.0.1 ping statistics ---\n\
             3 packets transmitted, 0 received, +3 errors, 100% packet loss, time 2047ms\n\
             pipe 3\n"
        );
    }

    #[test]
    fn icmp_errors_use_iputils_words() {
        assert_eq!(icmp_text(3, 1), "Destination Host Unreachable");
        assert_eq!(icmp_text(11, 0), "Time to live exceeded");
        assert_eq!(icmp_text(3, 3), "Destination Port Unreachable");
    }
}

//! `linnet ss`: the daemon stack's sockets as iproute2's `ss` prints them (`-t -u -w -l -a
//! -n -e -o -i -H`, `state`/`exclude` filters), from a `sock_diag` dump over the control
//! socket ([`linnet::control::Client::sock_diag`]).
//!
//! Linux: iproute2 misc/ss.c as of iproute2 6.1 (`main`'s option and state handling,
//! `filter_db_set` / `default_dbs`, `sock_state_print`, `inet_addr_print`,
//! `resolve_service`, `print_ms_timer`, `tcp_timer_print`, `sock_details_print`,
//! `tcp_show_info`, `tcp_stats_print`, `sprint_bw`, and the column layout of `field_next`,
//! `render_calc_width`, `render`), net/ipv4/inet_diag.c (what the kernel answers).
//! RFCs: none.
//!
//! The layout is ss's compact one, the one it prints into a pipe or a file: every column as
//! wide as its widest entry, the last socket's "Process" text (timers, `-e` details, the
//! `-i` line) left out of that measure, as ss's token buffer leaves it. As in iproute2 6.1,
//! the "Process" column is always there (iproute2 6.8 and later drop it without `-p`).
//!
//! Deviation from Linux: on a terminal ss spreads the columns over the screen width
//! (`TIOCGWINSZ` or `$COLUMNS`); `linnet ss` always prints the compact layout. Only IPv4
//! TCP, UDP and raw sockets exist (no unix, packet or netlink sockets). A raw socket's
//! port is its protocol number (`inet_sport`), named as `resolve_service` does for
//! `RAW_PROTO`: without `-n` by `inet_proto_n2a` (the first /etc/protocols entry of that
//! number, `getprotobynumber`, else `ipproto-N`; no ephemeral-range exception), with `-n`
//! the number. `-e` prints `ino:0` (no inodes)
//! and `sk:` is the socket's slot and generation; no `uid:` (everything is root's) and no
//! `cgroup:`. Service names come from `/etc/services` with ports of Linux's default
//! `ip_local_port_range` (32768-60999) left numeric, not the running host's sysctl.
//! `-i` has no `pacing_rate`, `delivered`, `app_limited` or `busy:` (the stack keeps no
//! pacing rate or delivery-rate sampling).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::Write;
use std::path::PathBuf;

use clap::Args;
use linnet_core::tcp::diag::{
    tcp_state_from_number, timer, InetDiagMsg, InetDiagReq, IPPROTO_RAW, IPPROTO_TCP, IPPROTO_UDP,
};
use linnet_core::tcp::{TcpInfo, TCPI_OPT_ECN, TCPI_OPT_ECN_SEEN, TCPI_OPT_SACK};
use linnet_core::tcp::{TCPI_OPT_TIMESTAMPS, TCPI_OPT_WSCALE};

use crate::tool;

/// Options of `linnet ss`.
#[derive(Debug, Args, Clone)]
pub struct SsArgs {
    #[arg(long, value_name = "PATH", help = tool::CTL_HELP)]
    pub ctl: Option<PathBuf>,
    /// ss's arguments: [ -tuwlaneoiH4 ] [ state STATE | exclude STATE ]...
    #[arg(
        trailing_var_arg = true,
        allow_hyphen_values = true,
        value_name = "ARGS"
    )]
    pub args: Vec<String>,
}

const USAGE: &str = "\
Usage: ss [ OPTIONS ]
       ss [ OPTIONS ] [ FILTER ]
   -h, --help          this message
   -V, --version       output version information
   -n, --numeric       don't resolve service names
   -a, --all           display all sockets
   -l, --listening     display listening sockets
   -o, --options       show timer information
   -e, --extended      show detailed socket information
   -i, --info          show internal TCP information
   -H, --no-header     Suppress header line
   -4, --ipv4          display only IP version 4 sockets
   -6, --ipv6          display only IP version 6 sockets
   -t, --tcp           display only TCP sockets
   -u, --udp           display only UDP sockets
   -w, --raw           display only RAW sockets
       --ctl PATH      the daemon's control socket

   FILTER := [ state STATE-FILTER ] [ exclude STATE-FILTER ]
   STATE-FILTER := {all|connected|synchronized|bucket|big|TCP-STATES}
   TCP-STATES := {established|syn-sent|syn-recv|fin-wait-{1,2}|time-wait|closed|close-wait|\
last-ack|listening|closing}
";

// ss's state numbers (`SS_*`, the kernel's `TCP_*`).
const SS_ESTABLISHED: u32 = 1;
const SS_SYN_SENT: u32 = 2;
const SS_SYN_RECV: u32 = 3;
const SS_TIME_WAIT: u32 = 6;
const SS_CLOSE: u32 = 7;
const SS_LISTEN: u32 = 10;
/// `SS_MAX`: one past `SS_BOUND_INACTIVE`.
const SS_MAX: u32 = 14;
const SS_ALL: u32 = (1 << SS_MAX) - 1;
const SS_CONN: u32 =
    SS_ALL & !((1 << SS_LISTEN) | (1 << SS_CLOSE) | (1 << SS_TIME_WAIT) | (1 << SS_SYN_RECV));

/// A failed command: the message for stderr and the exit status.
#[derive(Debug, PartialEq, Eq)]
pub struct Failure {
    /// Exit status.
    pub code: u8,
    /// The message, without the final newline; empty for none.
    pub msg: String,
}

fn fail(code: u8, msg: impl Into<String>) -> Failure {
    Failure {
        code,
        msg: msg.into(),
    }
}

/// `usage()`: the message, then the usage text, status 255 (`exit(-1)`).
fn usage_fail(msg: &str) -> Failure {
    let mut m = String::new();
    if !msg.is_empty() {
        m.push_str(msg);
        m.push('\n');
    }
    m.push_str(USAGE.trim_end());
    fail(255, m)
}

/// The socket tables ss walks (`TCP_DB`, `UDP_DB`, `RAW_DB`), in the order `main` shows
/// them: raw, udp, tcp.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Db {
    /// `RAW_DB`.
    Raw,
    /// `UDP_DB`.
    Udp,
    /// `TCP_DB`.
    Tcp,
}

impl Db {
    fn protocol(self) -> u8 {
        match self {
            Db::Raw => IPPROTO_RAW,
            Db::Udp => IPPROTO_UDP,
            Db::Tcp => IPPROTO_TCP,
        }
    }

    /// `default_dbs[db].states`.
    fn default_states(self) -> u32 {
        match self {
            Db::Tcp => SS_CONN,
            Db::Udp | Db::Raw => 1 << SS_ESTABLISHED,
        }
    }
}

/// What the command line asked for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Opts {
    /// Tables to show, in output order.
    pub dbs: Vec<Db>,
    /// States to show (`1 << SS_*`).
    pub states: u32,
    /// `-n`.
    pub numeric: bool,
    /// `-o` (and `-e`): timers, and the option flags on the `-i` line.
    pub show_options: bool,
    /// `-e`.
    pub show_details: bool,
    /// `-i`.
    pub show_info: bool,
    /// Not `-H`.
    pub show_header: bool,
    /// `-6` alone: no IPv4 sockets are shown (linnet has no IPv6 ones).
    pub ipv6_only: bool,
}

/// What to do.
#[derive(Debug, PartialEq, Eq)]
pub enum Cmd {
    /// Dump and print.
    Show(Opts),
    /// `-V`.
    Version,
    /// `-h`.
    Help,
    /// A filter that selects nothing: ss's message on stderr, status 0.
    Nothing(&'static str),
}

/// `scan_state`.
fn scan_state(s: &str) -> Result<u32, Failure> {
    let s = s.to_ascii_lowercase();
    let bits = match s.as_str() {
        "close" | "closed" | "unconnected" => 1 << SS_CLOSE,
        "syn-rcv" | "syn-recv" => 1 << SS_SYN_RECV,
        "established" => 1 << SS_ESTABLISHED,
        "all" => SS_ALL,
        "connected" => SS_ALL & !((1 << SS_CLOSE) | (1 << SS_LISTEN)),
        "synchronized" => SS_ALL & !((1 << SS_CLOSE) | (1 << SS_LISTEN) | (1 << SS_SYN_SENT)),
        "bucket" => (1 << SS_SYN_RECV) | (1 << SS_TIME_WAIT),
        "big" => SS_ALL & !((1 << SS_SYN_RECV) | (1 << SS_TIME_WAIT)),
        "syn-sent" => 1 << SS_SYN_SENT,
        "fin-wait-1" => 1 << 4,
        "fin-wait-2" => 1 << 5,
        "time-wait" => 1 << SS_TIME_WAIT,
        "close-wait" => 1 << 8,
        "last-ack" => 1 << 9,
        "listening" => 1 << SS_LISTEN,
        "closing" => 1 << 11,
        _ => return Err(fail(255, format!("ss: wrong state name: {s}"))),
    };
    Ok(bits)
}

/// ss's options and filter words, as its `getopt_long` loop and `main` read them.
pub fn parse(args: &[String]) -> Result<(Cmd, Option<PathBuf>), Failure> {
    let mut ctl = None;
    let mut dbs: Vec<Db> = Vec::new();
    let mut state_filter = 0u32;
    let mut o = Opts {
        dbs: Vec::new(),
        states: 0,
        numeric: false,
        show_options: false,
        show_details: false,
        show_info: false,
        show_header: true,
        ipv6_only: false,
    };
    let (mut v4, mut v6) = (false, false);
    let mut i = 0;
    let mut short = |c: char,
                     o: &mut Opts,
                     dbs: &mut Vec<Db>,
                     state_filter: &mut u32|
     -> Result<Option<Cmd>, Failure> {
        match c {
            'n' => o.numeric = true,
            'o' => o.show_options = true,
            'e' => {
                o.show_options = true;
                o.show_details = true;
            }
            'i' => o.show_info = true,
            'H' => o.show_header = false,
            't' | 'u' | 'w' => {
                let db = match c {
                    't' => Db::Tcp,
                    'u' => Db::Udp,
                    _ => Db::Raw,
                };
                if !dbs.contains(&db) {
                    dbs.push(db);
                }
            }
            'a' => *state_filter = SS_ALL,
            'l' => *state_filter = (1 << SS_LISTEN) | (1 << SS_CLOSE),
            '4' => v4 = true,
            '6' => v6 = true,
            'h' => return Ok(Some(Cmd::Help)),
            'V' | 'v' => return Ok(Some(Cmd::Version)),
            // ss knows these; linnet's sockets have no processes, memory accounting
            // figures, unix/packet/netlink/sctp/dccp/mptcp/vsock/tipc/xdp peers, BPF
            // filters, SELinux contexts, namespaces or kill support.
            'p' | 'T' | 'm' | 'r' | 's' | 'E' | 'b' | 'd' | 'x' | 'S' | 'M' | '0' | 'z' | 'Z'
            | 'K' | 'Q' | 'O' | 'B' | 'f' | 'A' | 'D' | 'F' | 'N' => {
                return Err(fail(
                    255,
                    format!("linnet ss: option -{c} is not supported by linnet"),
                ))
            }
            c => return Err(usage_fail(&format!("ss: invalid option -- '{c}'"))),
        }
        Ok(None)
    };
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--" {
            i += 1;
            break;
        }
        if let Some(long) = a.strip_prefix("--") {
            let (name, value) = match long.split_once('=') {
                Some((n, v)) => (n, Some(v)),
                None => (long, None),
            };
            let c = match name {
                "numeric" => 'n',
                "options" => 'o',
                "extended" => 'e',
                "info" => 'i',
                "no-header" => 'H',
                "tcp" => 't',
                "udp" => 'u',
                "raw" => 'w',
                "all" => 'a',
                "listening" => 'l',
                "ipv4" => '4',
                "ipv6" => '6',
                "help" => 'h',
                "version" => 'V',
                "ctl" => {
                    let v = match value {
                        Some(v) => v.to_string(),
                        None => {
                            i += 1;
                            match args.get(i) {
                                Some(v) => v.clone(),
                                None => {
                                    return Err(usage_fail(
                                        "ss: option '--ctl' requires an argument",
                                    ))
                                }
                            }
                        }
                    };
                    ctl = Some(PathBuf::from(v));
                    i += 1;
                    continue;
                }
                _ => return Err(usage_fail(&format!("ss: unrecognized option '--{name}'"))),
            };
            if let Some(cmd) = short(c, &mut o, &mut dbs, &mut state_filter)? {
                return Ok((cmd, ctl));
            }
            i += 1;
            continue;
        }
        if let Some(flags) = a.strip_prefix('-').filter(|f| !f.is_empty()) {
            for c in flags.chars() {
                if let Some(cmd) = short(c, &mut o, &mut dbs, &mut state_filter)? {
                    return Ok((cmd, ctl));
                }
            }
            i += 1;
            continue;
        }
        break;
    }
    // The filter: `state X` / `exclude X`, as `main` reads them before the expression.
    let mut saw_states = false;
    while i < args.len() {
        match args[i].as_str() {
            w @ ("state" | "exclude" | "excl") => {
                let Some(name) = args.get(i + 1) else {
                    return Err(fail(
                        255,
                        format!("Command line is not complete. Try option \"help\" after {w}"),
                    ));
                };
                let bits = scan_state(name)?;
                if w == "state" {
                    if !saw_states {
                        state_filter = 0;
                    }
                    state_filter |= bits;
                } else {
                    if !saw_states {
                        state_filter = SS_ALL;
                    }
                    state_filter &= !bits;
                }
                saw_states = true;
                i += 2;
            }
            other => {
                return Err(fail(
                    255,
                    format!(
                        "linnet ss: filter expressions are not supported by linnet \
                         (\"{other}\"); use state/exclude"
                    ),
                ))
            }
        }
    }
    let explicit = !dbs.is_empty();
    if explicit {
        o.states = dbs.iter().fold(0, |s, d| s | d.default_states());
    } else {
        // do_default: every table, connected states unless asked otherwise.
        dbs = vec![Db::Tcp, Db::Udp, Db::Raw];
        o.states = SS_CONN;
    }
    if saw_states || state_filter != 0 {
        o.states = state_filter;
    }
    if o.states == 0 {
        return Ok((
            Cmd::Nothing("ss: no socket states to show with such filter."),
            ctl,
        ));
    }
    o.ipv6_only = v6 && !v4;
    // Output order: raw, udp, tcp (main's order of *_show calls).
    for db in [Db::Raw, Db::Udp, Db::Tcp] {
        if dbs.contains(&db) {
            o.dbs.push(db);
        }
    }
    Ok((Cmd::Show(o), ctl))
}

/// Service names by (port, protocol), from `/etc/services` (`getservbyport`), and
/// protocol names by number, from `/etc/protocols` (`getprotobynumber`, for the "port" of
/// a raw socket).
#[derive(Debug, Default, Clone)]
pub struct Services {
    names: HashMap<(u16, &'static str), String>,
    protocols: HashMap<u16, String>,
}

impl Services {
    /// Reads `/etc/services` and `/etc/protocols`; a file that cannot be read names
    /// nothing (numeric ports, `ipproto-N` protocols).
    pub fn system() -> Services {
        let s = std::fs::read_to_string("/etc/services")
            .map(|t| Services::parse(&t))
            .unwrap_or_default();
        match std::fs::read_to_string("/etc/protocols") {
            Ok(t) => s.with_protocols(&t),
            Err(_) => s,
        }
    }

    /// Parses the protocols(5) format: `name number [aliases...] [# comment]`; the first
    /// entry of a number wins, as `getprotobynumber` returns the first match.
    pub fn parse_protocols(text: &str) -> HashMap<u16, String> {
        let mut names = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut w = line.split_whitespace();
            let (Some(name), Some(num)) = (w.next(), w.next()) else {
                continue;
            };
            let Ok(num) = num.parse::<u16>() else {
                continue;
            };
            names.entry(num).or_insert_with(|| name.to_string());
        }
        names
    }

    /// Adds protocol names (see [`Services::parse_protocols`]).
    pub fn with_protocols(mut self, text: &str) -> Services {
        self.protocols = Services::parse_protocols(text);
        self
    }

    /// Parses the services(5) format: `name port/protocol [aliases...] [# comment]`; the
    /// first name of a port wins, as `getservbyport` returns the first match.
    pub fn parse(text: &str) -> Services {
        let mut names = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("");
            let mut w = line.split_whitespace();
            let (Some(name), Some(pp)) = (w.next(), w.next()) else {
                continue;
            };
            let Some((port, proto)) = pp.split_once('/') else {
                continue;
            };
            let Ok(port) = port.parse::<u16>() else {
                continue;
            };
            let proto = match proto {
                "tcp" => "tcp",
                "udp" => "udp",
                _ => continue,
            };
            names
                .entry((port, proto))
                .or_insert_with(|| name.to_string());
        }
        Services {
            names,
            protocols: HashMap::new(),
        }
    }
}

/// Linux's default `ip_local_port_range` (ss's `is_ephemeral` reads the host's).
const EPHEMERAL: std::ops::RangeInclusive<u16> = 32768..=60999;

/// `resolve_service`: 0 is `*`; with `-n` the number; a raw socket's port (its protocol)
/// through `inet_proto_n2a`; else the service name outside the ephemeral range.
fn resolve_service(port: u16, proto: &'static str, numeric: bool, svc: &Services) -> String {
    if port == 0 {
        return "*".into();
    }
    if !numeric && proto == "raw" {
        return svc
            .protocols
            .get(&port)
            .cloned()
            .unwrap_or_else(|| format!("ipproto-{port}"));
    }
    if !numeric && !EPHEMERAL.contains(&port) {
        if let Some(n) = svc.names.get(&(port, proto)) {
            return n.clone();
        }
    }
    port.to_string()
}

/// C's `%.*g`.
pub fn fmt_g(x: f64, prec: usize) -> String {
    if x == 0.0 {
        return "0".into();
    }
    if !x.is_finite() {
        return if x.is_nan() {
            "nan"
        } else if x > 0.0 {
            "inf"
        } else {
            "-inf"
        }
        .into();
    }
    let p = prec.max(1);
    let sci = format!("{:.*e}", p - 1, x);
    let (mant, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let strip = |s: &str| -> String {
        if s.contains('.') {
            s.trim_end_matches('0').trim_end_matches('.').to_string()
        } else {
            s.to_string()
        }
    };
    if exp < -4 || exp >= p as i32 {
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{}e{sign}{:02}", strip(mant), exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip(&format!("{x:.decimals$}"))
    }
}

/// `sprint_bw` (bits per second).
fn sprint_bw(bw: f64, numeric: bool) -> String {
    if numeric {
        format!("{bw:.0}")
    } else if bw >= 1e12 {
        format!("{}T", fmt_g(bw / 1e12, 3))
    } else if bw >= 1e9 {
        format!("{}G", fmt_g(bw / 1e9, 3))
    } else if bw >= 1e6 {
        format!("{}M", fmt_g(bw / 1e6, 3))
    } else if bw >= 1e3 {
        format!("{}k", fmt_g(bw / 1e3, 3))
    } else {
        fmt_g(bw, 6)
    }
}

/// `print_ms_timer`.
pub fn print_ms_timer(timeout: u32) -> String {
    let mut secs = timeout / 1000;
    let minutes = secs / 60;
    secs %= 60;
    let mut msecs = timeout % 1000;
    let mut buf = String::new();
    if minutes != 0 {
        msecs = 0;
        let _ = write!(buf, "{minutes}min");
        if minutes > 9 {
            secs = 0;
        }
    }
    if secs != 0 {
        if secs > 9 {
            msecs = 0;
        }
        let _ = write!(buf, "{secs}{}", if msecs != 0 { "." } else { "sec" });
    }
    if msecs != 0 {
        let _ = write!(buf, "{msecs:03}{}", if secs != 0 { "sec" } else { "ms" });
    }
    buf
}

/// `tcp_timer_print`.
fn timer_text(m: &InetDiagMsg, out: &mut String) {
    if m.timer == timer::OFF {
        return;
    }
    let name = match m.timer {
        timer::ON => "on",
        timer::KEEPALIVE => "keepalive",
        timer::TIMEWAIT => "timewait",
        timer::PROBE0 => "persist",
        _ => "unknown",
    };
    let _ = write!(
        out,
        " timer:({name},{},{})",
        print_ms_timer(m.expires),
        m.retrans
    );
}

/// `tcp_show_info` + `tcp_stats_print` for one socket's `TCP_INFO`.
fn info_text(m: &InetDiagMsg, i: &TcpInfo, o: &Opts, out: &mut String) {
    let opt = |bit: u8| i.options & bit != 0;
    if o.show_options {
        for (bit, name) in [
            (TCPI_OPT_TIMESTAMPS, " ts"),
            (TCPI_OPT_SACK, " sack"),
            (TCPI_OPT_ECN, " ecn"),
            (TCPI_OPT_ECN_SEEN, " ecnseen"),
        ] {
            if opt(bit) {
                out.push_str(name);
            }
        }
    }
    if let Some(c) = &m.cong {
        let _ = write!(out, " {c}");
    }
    if opt(TCPI_OPT_WSCALE) {
        let _ = write!(out, " wscale:{},{}", i.snd_wscale, i.rcv_wscale);
    }
    let ms = |us: u32| f64::from(us) / 1000.0;
    if i.rto != 0 && i.rto != 3_000_000 {
        let _ = write!(out, " rto:{}", fmt_g(ms(i.rto), 6));
    }
    if i.backoff != 0 {
        let _ = write!(out, " backoff:{}", i.backoff);
    }
    if i.rtt != 0 {
        let _ = write!(
            out,
            " rtt:{}/{}",
            fmt_g(ms(i.rtt), 6),
            fmt_g(ms(i.rttvar), 6)
        );
    }
    if i.ato != 0 {
        let _ = write!(out, " ato:{}", fmt_g(ms(i.ato), 6));
    }
    let nz = |out: &mut String, name: &str, v: u64| {
        if v != 0 {
            let _ = write!(out, " {name}:{v}");
        }
    };
    nz(out, "mss", i.snd_mss.into());
    nz(out, "pmtu", i.pmtu.into());
    nz(out, "rcvmss", i.rcv_mss.into());
    nz(out, "advmss", i.advmss.into());
    nz(out, "cwnd", i.snd_cwnd.into());
    if i.snd_ssthresh < 0xFFFF {
        nz(out, "ssthresh", i.snd_ssthresh.into());
    }
    nz(out, "bytes_sent", i.bytes_sent);
    nz(out, "bytes_retrans", i.bytes_retrans);
    nz(out, "bytes_acked", i.bytes_acked);
    nz(out, "bytes_received", i.bytes_received);
    nz(out, "segs_out", i.segs_out.into());
    nz(out, "segs_in", i.segs_in.into());
    nz(out, "data_segs_out", i.data_segs_out.into());
    nz(out, "data_segs_in", i.data_segs_in.into());
    if i.rtt != 0 && i.snd_mss != 0 && i.snd_cwnd != 0 {
        let bps = f64::from(i.snd_cwnd) * f64::from(i.snd_mss) * 8_000_000.0 / f64::from(i.rtt);
        let _ = write!(out, " send {}bps", sprint_bw(bps, o.numeric));
    }
    nz(out, "lastsnd", i.last_data_sent.into());
    nz(out, "lastrcv", i.last_data_recv.into());
    nz(out, "lastack", i.last_ack_recv.into());
    if i.delivery_rate != 0 {
        let bps = i.delivery_rate as f64 * 8.0;
        let _ = write!(out, " delivery_rate {}bps", sprint_bw(bps, o.numeric));
    }
    nz(out, "unacked", i.unacked.into());
    if i.retrans != 0 || i.total_retrans != 0 {
        let _ = write!(out, " retrans:{}/{}", i.retrans, i.total_retrans);
    }
    nz(out, "lost", i.lost.into());
    if u32::from(m.state) != SS_LISTEN {
        nz(out, "sacked", i.sacked.into());
    }
    if i.reordering != 3 {
        let _ = write!(out, " reordering:{}", i.reordering);
    }
    if i.rcv_rtt != 0 {
        let _ = write!(out, " rcv_rtt:{}", fmt_g(ms(i.rcv_rtt), 6));
    }
    nz(out, "rcv_space", i.rcv_space.into());
    nz(out, "rcv_ssthresh", i.rcv_ssthresh.into());
    nz(out, "notsent", i.notsent_bytes.into());
    if i.min_rtt != 0 && i.min_rtt != u32::MAX {
        let _ = write!(out, " minrtt:{}", fmt_g(ms(i.min_rtt), 6));
    }
    nz(out, "rcv_ooopack", i.rcv_ooopack.into());
    nz(out, "snd_wnd", i.snd_wnd.into());
}

/// The columns of ss (`enum col_id`): alignment, header, left delimiter.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Align {
    Left,
    Right,
}

const COLUMNS: [(Align, &str, &str); 10] = [
    (Align::Left, "Netid", ""),
    (Align::Left, "State", " "),
    (Align::Left, "Recv-Q", " "),
    (Align::Left, "Send-Q", " "),
    (Align::Right, "Local Address:", " "),
    (Align::Left, "Port", ""),
    (Align::Right, "Peer Address:", " "),
    (Align::Left, "Port", ""),
    (Align::Left, "Process", ""),
    (Align::Left, "", ""),
];
const COL_NETID: usize = 0;
const COL_STATE: usize = 1;
const COL_PROC: usize = 8;
const COL_EXT: usize = 9;

/// Renders the dumps (`(table, its sockets)`, in `opts.dbs` order) as ss prints them.
pub fn render(opts: &Opts, dumps: &[(Db, Vec<InetDiagMsg>)], svc: &Services) -> String {
    let mut enabled = [true; 10];
    enabled[COL_NETID] = opts.dbs.len() > 1;
    enabled[COL_STATE] = opts.states.count_ones() > 1;
    // The token stream of ss's output buffer: one token per enabled column per line.
    let mut tokens: Vec<(usize, String)> = Vec::new();
    let push = |tokens: &mut Vec<(usize, String)>, col: usize, text: String| {
        if enabled[col] {
            tokens.push((col, text));
        }
    };
    if opts.show_header {
        for (c, (_, h, _)) in COLUMNS.iter().enumerate() {
            push(&mut tokens, c, (*h).to_string());
        }
    }
    let mut rows = 0;
    for (db, msgs) in dumps {
        let proto = match db {
            Db::Tcp => "tcp",
            Db::Udp => "udp",
            Db::Raw => "raw",
        };
        for m in msgs {
            if opts.ipv6_only {
                continue;
            }
            rows += 1;
            let state = tcp_state_from_number(m.state).map_or("UNKNOWN", |s| s.ss_name());
            push(&mut tokens, 0, proto.to_string());
            push(&mut tokens, 1, state.to_string());
            push(&mut tokens, 2, format!("{:<6}", m.rqueue));
            push(&mut tokens, 3, format!("{:<6}", m.wqueue));
            push(&mut tokens, 4, format!("{}:", m.src.ip()));
            let lport = resolve_service(m.src.port(), proto, opts.numeric, svc);
            push(&mut tokens, 5, lport);
            push(&mut tokens, 6, format!("{}:", m.dst.ip()));
            let rport = resolve_service(m.dst.port(), proto, opts.numeric, svc);
            push(&mut tokens, 7, rport);
            let mut ext = String::new();
            if opts.show_options {
                timer_text(m, &mut ext);
            }
            if opts.show_details {
                if m.uid != 0 {
                    let _ = write!(ext, " uid:{}", m.uid);
                }
                let _ = write!(ext, " ino:{} sk:{:x}", m.inode, m.cookie);
                if let Some(mask) = m.shutdown {
                    let _ = write!(
                        ext,
                        " {}-{}",
                        if mask & 1 != 0 { '-' } else { '<' },
                        if mask & 2 != 0 { '-' } else { '>' }
                    );
                }
            }
            if opts.show_info && m.protocol != IPPROTO_UDP {
                ext.push_str("\n\t");
                if let Some(i) = &m.info {
                    info_text(m, i, opts, &mut ext);
                }
            }
            push(&mut tokens, COL_PROC, ext);
            push(&mut tokens, COL_EXT, String::new());
        }
    }
    // The last socket ends at its Process field: ss renders before flushing it, so that
    // token never reaches the column's measured width (nor does the line get an EXT one).
    if rows > 0 {
        tokens.pop();
    }
    let mut max_len = [0usize; 10];
    if let Some((_, measured)) = tokens.split_last() {
        for (c, t) in measured {
            max_len[*c] = max_len[*c].max(t.len());
        }
    }
    // render_calc_width, compact: the content width, plus the delimiter after the first.
    let mut width = [0usize; 10];
    let mut first = true;
    for c in 0..COLUMNS.len() {
        if !enabled[c] {
            continue;
        }
        width[c] = if !first && max_len[c] > 0 {
            max_len[c] + COLUMNS[c].2.len()
        } else {
            max_len[c]
        };
        if width[c] > 0 {
            first = false;
        }
    }
    let mut s = String::new();
    let mut line_started = false;
    for (c, t) in &tokens {
        let (align, _, ldelim) = COLUMNS[*c];
        let mut printed = 0;
        if line_started {
            s.push_str(ldelim);
            printed = ldelim.len();
        }
        line_started = true;
        if width[*c] > 0 && align == Align::Right {
            let pad = width[*c] as isize - t.len() as isize - printed as isize;
            if pad > 0 {
                s.extend(std::iter::repeat_n(' ', pad as usize));
            }
        }
        s.push_str(t);
        printed += t.len();
        if width[*c] > 0 && align == Align::Left {
            let pad = width[*c] as isize - printed as isize;
            if pad > 0 {
                s.extend(std::iter::repeat_n(' ', pad as usize));
            }
        }
        if *c == COL_EXT {
            s.push('\n');
            line_started = false;
        }
    }
    if line_started {
        s.push('\n');
    }
    s
}

/// Runs `linnet ss`; returns the exit status.
pub fn run(args: &SsArgs, out: &mut dyn Write, err: &mut dyn Write) -> u8 {
    match run_inner(args, out, err) {
        Ok(()) => 0,
        Err(f) => {
            if !f.msg.is_empty() {
                let _ = writeln!(err, "{}", f.msg);
            }
            f.code
        }
    }
}

fn run_inner(args: &SsArgs, out: &mut dyn Write, err: &mut dyn Write) -> Result<(), Failure> {
    let (cmd, ctl) = parse(&args.args)?;
    let opts = match cmd {
        Cmd::Help => {
            let _ = write!(out, "{USAGE}");
            return Ok(());
        }
        Cmd::Version => {
            let _ = writeln!(out, "ss utility, linnet-{}", env!("CARGO_PKG_VERSION"));
            return Ok(());
        }
        Cmd::Nothing(msg) => {
            let _ = writeln!(err, "{msg}");
            return Ok(());
        }
        Cmd::Show(o) => o,
    };
    let ctl = ctl.or_else(|| args.ctl.clone());
    let mut client =
        tool::connect(ctl.as_deref()).map_err(|e| fail(1, format!("linnet ss: {e}")))?;
    let mut dumps = Vec::new();
    for &db in &opts.dbs {
        let req = InetDiagReq {
            protocol: db.protocol(),
            states: opts.states,
            info: opts.show_info,
        };
        let msgs = client
            .sock_diag(req)
            .map_err(|e| fail(1, format!("linnet ss: {e}")))?;
        dumps.push((db, msgs));
    }
    let svc = if opts.numeric {
        Services::default()
    } else {
        Services::system()
    };
    let text = render(&opts, &dumps, &svc);
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .map_err(|e| fail(1, format!("linnet ss: stdout: {e}")))
}

#[cfg(test)]
#[path = "ss_tests.rs"]
mod tests;

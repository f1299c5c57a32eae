//! `linnet nc`: OpenBSD netcat's UDP mode over a socket of a linnet daemon's stack: standard
//! input goes out as datagrams, datagrams that come in go to standard output.
//!
//! Linux: the socket calls of net/socket.c as OpenBSD nc makes them (netcat.c `udp_connect`,
//! `local_listen`, `readwrite`), net/ipv4/udp.c behind them.
//! RFCs: RFC 768.
//!
//! - `nc -u HOST PORT`: a socket connected to HOST:PORT (bound first to `-s ADDR` / `-p PORT`
//!   if given). Each line of standard input is one datagram (OpenBSD nc sends one per
//!   `read(2)`, which is a line at a terminal); each datagram received is written out as is.
//! - `nc -u -l [-p] PORT` (or `-l [HOST] PORT`): bound to HOST:PORT (any address by default);
//!   prints what it receives, and once the first datagram has come, connects to its sender
//!   and sends it the lines of standard input, as OpenBSD `nc -u -l` does.
//! - `-w SEC`: quit after SEC seconds with no traffic either way. Without it nc runs until
//!   interrupted, even after standard input ends (UDP has no end of stream).
//! - A send or receive refused with an ICMP error (ECONNREFUSED after a port unreachable)
//!   ends nc with status 1, as OpenBSD nc.
//!
//! TCP (no `-u`) is refused with status 1 until the stack has TCP.

use std::collections::VecDeque;
use std::io::{BufRead, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;
use linnet::control::{ClientError, SockId};

use crate::tool;

/// Options of `linnet nc`.
#[derive(Debug, Args, Clone)]
pub struct NcArgs {
    #[arg(long, value_name = "PATH", help = tool::CTL_HELP)]
    pub ctl: Option<PathBuf>,
    /// UDP (the only protocol linnet has today).
    #[arg(short = 'u')]
    pub udp: bool,
    /// Listen for datagrams instead of sending to HOST PORT.
    #[arg(short = 'l')]
    pub listen: bool,
    /// Local port (with -l: the port to listen on).
    #[arg(short = 'p', value_name = "PORT")]
    pub port: Option<String>,
    /// Local address to bind.
    #[arg(short = 's', value_name = "ADDR")]
    pub source: Option<String>,
    /// Quit after SEC seconds without traffic.
    #[arg(short = 'w', value_name = "SEC")]
    pub timeout: Option<f64>,
    /// Numeric addresses only (accepted; linnet never resolves names).
    #[arg(short = 'n')]
    pub numeric: bool,
    /// Report the connection on standard error.
    #[arg(short = 'v')]
    pub verbose: bool,
    /// [HOST] [PORT]
    #[arg(value_name = "HOST PORT", num_args = 0..=2)]
    pub dest: Vec<String>,
}

/// How long one receive waits before nc looks at standard input again.
const SLICE: Duration = Duration::from_millis(20);
const MAX_DATAGRAM: usize = 65_535;

fn port(s: &str) -> Result<u16, String> {
    match s.parse::<u16>() {
        Ok(p) if p != 0 => Ok(p),
        _ => Err(format!("port number invalid: {s}")),
    }
}

fn host(s: &str, port: u16) -> Result<Ipv4Addr, String> {
    s.parse()
        .map_err(|_| format!("getaddrinfo for host \"{s}\" port {port}: Name or service not known"))
}

/// What nc does with the socket.
#[derive(Debug, PartialEq, Eq)]
struct Plan {
    bind: Option<SocketAddrV4>,
    peer: Option<SocketAddrV4>,
}

fn plan(args: &NcArgs) -> Result<Plan, String> {
    if !args.udp {
        return Err("TCP is not implemented yet (linnet has UDP only: use -u)".into());
    }
    let src = |p: u16| -> Result<Ipv4Addr, String> {
        args.source
            .as_deref()
            .map(|s| host(s, p))
            .transpose()
            .map(|a| a.unwrap_or(Ipv4Addr::UNSPECIFIED))
    };
    if args.listen {
        let (h, p) = match (args.dest.as_slice(), &args.port) {
            ([], Some(p)) => (None, port(p)?),
            ([p], None) => (None, port(p)?),
            ([h], Some(p)) => (Some(h.as_str()), port(p)?),
            ([h, p], None) => (Some(h.as_str()), port(p)?),
            ([], None) => return Err("missing port number".into()),
            _ => return Err("cannot use -p and a port argument together".into()),
        };
        let addr = match h {
            Some(h) => host(h, p)?,
            None => src(p)?,
        };
        return Ok(Plan {
            bind: Some(SocketAddrV4::new(addr, p)),
            peer: None,
        });
    }
    let [h, p] = args.dest.as_slice() else {
        return Err("missing hostname and port".into());
    };
    let p = port(p)?;
    let peer = SocketAddrV4::new(host(h, p)?, p);
    let local_port = args.port.as_deref().map(port).transpose()?;
    let bind = match (local_port, &args.source) {
        (None, None) => None,
        (lp, _) => Some(SocketAddrV4::new(src(lp.unwrap_or(0))?, lp.unwrap_or(0))),
    };
    Ok(Plan {
        bind,
        peer: Some(peer),
    })
}

/// Reads lines of `input` on a thread; the channel closes at end of input.
fn spawn_reader(mut input: Box<dyn BufRead + Send>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("nc-stdin".into())
        .spawn(move || loop {
            let mut line = Vec::new();
            match input.read_until(b'\n', &mut line) {
                Ok(0) | Err(_) => return,
                Ok(_) => {
                    if tx.send(line).is_err() {
                        return;
                    }
                }
            }
        });
    if spawned.is_err() {
        let (_, rx) = mpsc::channel();
        return rx;
    }
    rx
}

/// Runs `linnet nc`; returns the exit status. `input` is standard input; `interrupted` is
/// SIGINT's flag.
pub fn run(
    args: &NcArgs,
    input: Box<dyn BufRead + Send>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    interrupted: &AtomicBool,
) -> u8 {
    match run_inner(args, input, out, err, interrupted) {
        Ok(()) => 0,
        Err(msg) => {
            let _ = out.flush();
            let _ = writeln!(err, "nc: {msg}");
            1
        }
    }
}

fn call_err(call: &str, e: ClientError) -> String {
    match e {
        ClientError::Remote { errno, .. } => {
            format!("{call}: {}", linnet::control::strerror(errno))
        }
        e => e.to_string(),
    }
}

fn run_inner(
    args: &NcArgs,
    input: Box<dyn BufRead + Send>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    interrupted: &AtomicBool,
) -> Result<(), String> {
    let plan = plan(args)?;
    let idle = args
        .timeout
        .map(|s| {
            if s.is_finite() && s >= 0.0 {
                Ok(Duration::from_secs_f64(s))
            } else {
                Err(format!("timeout invalid: {s}"))
            }
        })
        .transpose()?;
    let mut c = tool::connect(args.ctl.as_deref()).map_err(|e| e.to_string())?;
    let id: SockId = c.udp_socket().map_err(|e| call_err("socket", e))?;
    if let Some(b) = plan.bind {
        c.bind(id, b).map_err(|e| call_err("bind failed", e))?;
    }
    let mut peer = plan.peer;
    if let Some(p) = peer {
        c.connect_socket(id, p)
            .map_err(|e| call_err("connect failed", e))?;
        if args.verbose {
            let _ = writeln!(
                err,
                "Connection to {} {} port [udp/*] succeeded!",
                p.ip(),
                p.port()
            );
        }
    } else if args.verbose {
        if let Ok(a) = c.local_addr(id) {
            let _ = writeln!(err, "Bound on {} {}", a.ip(), a.port());
        }
    }
    let lines = spawn_reader(input);
    let mut pending: VecDeque<Vec<u8>> = VecDeque::new();
    let mut last = Instant::now();
    loop {
        if interrupted.load(Ordering::Relaxed) {
            return Ok(());
        }
        while let Ok(line) = lines.try_recv() {
            pending.push_back(line);
        }
        if peer.is_some() {
            while let Some(line) = pending.pop_front() {
                c.send_to(id, &line, None)
                    .map_err(|e| call_err("write failed", e))?;
                last = Instant::now();
            }
        }
        match c.recv_from(id, MAX_DATAGRAM, Some(SLICE)) {
            Ok(d) => {
                out.write_all(&d.data)
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("write(stdout): {e}"))?;
                last = Instant::now();
                if peer.is_none() {
                    c.connect_socket(id, d.from)
                        .map_err(|e| call_err("connect failed", e))?;
                    if args.verbose {
                        let _ = writeln!(
                            err,
                            "Connection received on {} {}",
                            d.from.ip(),
                            d.from.port()
                        );
                    }
                    peer = Some(d.from);
                }
            }
            Err(ClientError::Remote { errno, .. }) if errno == libc::EAGAIN => {}
            Err(e) => return Err(call_err("read failed", e)),
        }
        if idle.is_some_and(|w| last.elapsed() >= w) {
            return Ok(());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(udp: bool, listen: bool, port: Option<&str>, dest: &[&str]) -> NcArgs {
        NcArgs {
            ctl: None,
            udp,
            listen,
            port: port.map(String::from),
            source: None,
            timeout: None,
            numeric: false,
            verbose: false,
            dest: dest.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn plans_follow_openbsd_nc_arguments() {
        let p = plan(&args(true, false, None, &["10.0.0.1", "5000"])).unwrap();
        assert_eq!(
            p,
            Plan {
                bind: None,
                peer: Some(SocketAddrV4::new([10, 0, 0, 1].into(), 5000))
            }
        );
        let p = plan(&args(true, false, Some("4000"), &["10.0.0.1", "5000"])).unwrap();
        assert_eq!(p.bind, Some(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 4000)));
        for a in [
            args(true, true, Some("5000"), &[]),
            args(true, true, None, &["5000"]),
        ] {
            assert_eq!(
                plan(&a).unwrap(),
                Plan {
                    bind: Some(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5000)),
                    peer: None
                }
            );
        }
        let p = plan(&args(true, true, None, &["127.0.0.1", "5000"])).unwrap();
        assert_eq!(p.bind, Some(SocketAddrV4::new([127, 0, 0, 1].into(), 5000)));
    }

    #[test]
    fn bad_arguments_are_named() {
        let e = plan(&args(false, false, None, &["10.0.0.1", "5000"])).unwrap_err();
        assert!(e.contains("TCP is not implemented yet"), "{e}");
        let e = plan(&args(true, false, None, &["10.0.0.1", "x"])).unwrap_err();
        assert_eq!(e, "port number invalid: x");
        let e = plan(&args(true, false, None, &["example.org", "53"])).unwrap_err();
        assert_eq!(
            e,
            "getaddrinfo for host \"example.org\" port 53: Name or service not known"
        );
        let e = plan(&args(true, true, None, &[])).unwrap_err();
        assert_eq!(e, "missing port number");
    }
}

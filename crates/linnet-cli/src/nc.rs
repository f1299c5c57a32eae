//! `linnet nc`: OpenBSD netcat over a socket of a linnet daemon's stack, TCP by default and
//! UDP with `-u`: standard input goes to the socket, what comes in goes to standard output.
//!
//! Linux: the socket calls of net/socket.c as OpenBSD nc makes them (netcat.c `remote_connect`,
//! `udp_connect`, `local_listen`, `readwrite`), net/ipv4/tcp.c and net/ipv4/udp.c behind them.
//! RFCs: RFC 9293, RFC 768.
//!
//! - `nc HOST PORT`: a TCP connection to HOST:PORT (bound first to `-s ADDR` / `-p PORT` if
//!   given). A refused or failed connect prints `nc: connect to HOST port PORT (tcp) failed:
//!   REASON` and exits 1. Standard input is sent as it is read; what arrives is written out.
//!   At the end of standard input nc keeps reading until the peer closes; with `-N` it first
//!   shuts down its writing side (the peer reads end of stream), as OpenBSD `nc -N`. nc exits
//!   0 when the peer closes the connection.
//! - `nc -l [-p] PORT` (or `-l [HOST] PORT`): listens, accepts one connection, closes the
//!   listener and then behaves as the client.
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

use std::collections::VecDeque;
use std::io::{BufRead, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Args;
use linnet::control::{Client, ClientError, ShutdownHow, SockId};

use crate::tool;

/// Options of `linnet nc`.
#[derive(Debug, Args, Clone)]
pub struct NcArgs {
    #[arg(long, value_name = "PATH", help = tool::CTL_HELP)]
    pub ctl: Option<PathBuf>,
    /// UDP instead of TCP.
    #[arg(short = 'u')]
    pub udp: bool,
    /// Listen (TCP: accept one connection) instead of connecting to HOST PORT.
    #[arg(short = 'l')]
    pub listen: bool,
    /// TCP: shut down the writing side at the end of standard input.
    #[arg(short = 'N')]
    pub shutdown_on_eof: bool,
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
    if !args.udp {
        return run_tcp(args, &plan, idle, &mut c, input, out, err, interrupted);
    }
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

/// Reads standard input in chunks (as `read(2)` returns them) on a thread; the channel
/// closes at end of input.
fn spawn_chunk_reader(mut input: Box<dyn BufRead + Send>) -> mpsc::Receiver<Vec<u8>> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new()
        .name("nc-stdin".into())
        .spawn(move || {
            let mut buf = vec![0u8; TCP_CHUNK];
            loop {
                match input.read(&mut buf) {
                    Ok(0) => return,
                    Ok(n) => {
                        if tx.send(buf[..n].to_vec()).is_err() {
                            return;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    Err(_) => return,
                }
            }
        });
    if spawned.is_err() {
        let (_, rx) = mpsc::channel();
        return rx;
    }
    rx
}

/// Largest piece of standard input sent in one call, and of the stream read in one call.
const TCP_CHUNK: usize = 64 * 1024;
/// How long one accept waits before nc looks at SIGINT again.
const ACCEPT_SLICE: Duration = Duration::from_millis(200);

/// The TCP half of nc: connect or accept one connection, then `readwrite`.
#[allow(clippy::too_many_arguments)]
fn run_tcp(
    args: &NcArgs,
    plan: &Plan,
    idle: Option<Duration>,
    c: &mut Client,
    input: Box<dyn BufRead + Send>,
    out: &mut dyn Write,
    err: &mut dyn Write,
    interrupted: &AtomicBool,
) -> Result<(), String> {
    let id: SockId = c.tcp_socket().map_err(|e| call_err("socket", e))?;
    if let Some(b) = plan.bind {
        c.bind(id, b).map_err(|e| call_err("bind failed", e))?;
    }
    let conn = if let Some(p) = plan.peer {
        c.connect_socket(id, p).map_err(|e| match e {
            ClientError::Remote { errno, .. } => format!(
                "connect to {} port {} (tcp) failed: {}",
                p.ip(),
                p.port(),
                linnet::control::strerror(errno)
            ),
            e => e.to_string(),
        })?;
        if args.verbose {
            let _ = writeln!(
                err,
                "Connection to {} {} port [tcp/*] succeeded!",
                p.ip(),
                p.port()
            );
        }
        id
    } else {
        c.listen(id, 1).map_err(|e| call_err("listen", e))?;
        if args.verbose {
            if let Ok(a) = c.local_addr(id) {
                let _ = writeln!(err, "Listening on {} {}", a.ip(), a.port());
            }
        }
        let (conn, from) = loop {
            if interrupted.load(Ordering::Relaxed) {
                return Ok(());
            }
            match c.accept(id, Some(ACCEPT_SLICE)) {
                Ok(a) => break a,
                Err(ClientError::Remote { errno, .. }) if errno == libc::EAGAIN => {}
                Err(e) => return Err(call_err("accept", e)),
            }
        };
        if args.verbose {
            let _ = writeln!(err, "Connection received on {} {}", from.ip(), from.port());
        }
        // OpenBSD nc serves one connection and closes the listener (without -k).
        c.close(id).map_err(|e| call_err("close", e))?;
        conn
    };
    let chunks = spawn_chunk_reader(input);
    let mut stdin_open = true;
    let mut last = Instant::now();
    loop {
        if interrupted.load(Ordering::Relaxed) {
            return Ok(());
        }
        while stdin_open {
            match chunks.try_recv() {
                Ok(buf) => {
                    c.send_to(conn, &buf, None)
                        .map_err(|e| call_err("write failed", e))?;
                    last = Instant::now();
                }
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => {
                    stdin_open = false;
                    if args.shutdown_on_eof {
                        c.shutdown(conn, ShutdownHow::Write)
                            .map_err(|e| call_err("shutdown", e))?;
                    }
                }
            }
        }
        match c.recv_from(conn, TCP_CHUNK, Some(SLICE)) {
            // The peer closed: nothing more will come.
            Ok(d) if d.data.is_empty() => return Ok(()),
            Ok(d) => {
                out.write_all(&d.data)
                    .and_then(|()| out.flush())
                    .map_err(|e| format!("write(stdout): {e}"))?;
                last = Instant::now();
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
            shutdown_on_eof: false,
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
        let p = plan(&args(false, false, None, &["10.0.0.1", "5000"])).unwrap();
        assert_eq!(p.peer, Some(SocketAddrV4::new([10, 0, 0, 1].into(), 5000)));
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

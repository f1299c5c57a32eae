//! Single-stream TCP throughput: linnet on a TAP device against the Linux kernel, Linux
//! against Linux over a veth pair into a network namespace, and linnet against linnet in one
//! process, with the same client and server code (blocking sockets: `std::net` for the
//! kernel, `linnet::TcpStream`/`TcpListener` for linnet) in one run.
//!
//! Needs root (CAP_NET_ADMIN, CAP_SYS_ADMIN for `setns`), /dev/net/tun and `ip` (iproute2)
//! for the TAP and veth parts; `--only memory` needs nothing. Normally started by
//! `scripts/bench-tcp.sh`, which builds it in release mode, also runs smoltcp's own TAP
//! benchmark, and removes the interfaces even if this program is killed:
//!
//! ```sh
//! sudo bash scripts/bench-tcp.sh
//! cargo run --release -p linnet --example tcp_bench -- --help     # as root, by hand
//! ```
//!
//! ```text
//!   host ns: 10.75.0.1/24 on TAP  ──fd──>  linnet Stack 10.75.0.2 (runtime thread)
//!   host ns: 10.76.0.1/24 on veth ──────>  netns: 10.76.0.2 on the veth peer (kernel)
//!   in process: linnet 10.81.0.1 <── MemoryDevice pair ──> linnet 10.81.0.2
//! ```
//!
//! One transfer: the receiver listens; the sender connects, writes `--mb` MB in 256 KiB
//! writes, shuts down writing; the receiver reads to the end and answers one byte; the time
//! is the sender's, from `connect` to that byte (so the handshake and one round trip are in
//! it, as in any file transfer). Every measurement runs `--reps` times, interleaved (rep 1
//! of each, then rep 2, ...), and the median is reported. Sockets keep their default
//! buffer sizes on both sides (both Linux and linnet grow them: `tcp_sndbuf_expand`,
//! `tcp_moderate_rcvbuf`). linnet reads its TAP with receive offload (`IFF_VNET_HDR`,
//! `TUNSETOFFLOAD`: one read per kernel TSO super-segment of up to 64 KB, as a virtio-net
//! guest's vhost reads it) unless `--tap-offload off`.
//!
//! Output: a table, and one `median KEY MB/s` line per measurement for scripts.
//!
//! Linux: net/ipv4/tcp.c (`tcp_sendmsg`, `tcp_recvmsg`), drivers/net/tun.c,
//! drivers/net/veth.c.
//! RFCs: RFC 9293.

#[path = "common/setup.rs"]
mod setup;

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

use linnet::core::{DeviceKind, Stack, StackConfig};
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::wire::EthernetAddress;
use linnet::{MemoryDevice, Runtime, StackHandle, TunDevice};

use setup::{ip, Cleanup};

const TAP_KERNEL: Ipv4Addr = Ipv4Addr::new(10, 75, 0, 1);
const TAP_LINNET: Ipv4Addr = Ipv4Addr::new(10, 75, 0, 2);
const VETH_HOST: Ipv4Addr = Ipv4Addr::new(10, 76, 0, 1);
const VETH_NS: Ipv4Addr = Ipv4Addr::new(10, 76, 0, 2);
const MEM_A: Ipv4Addr = Ipv4Addr::new(10, 81, 0, 1);
const MEM_B: Ipv4Addr = Ipv4Addr::new(10, 81, 0, 2);
const PORT: u16 = 5201;
/// Ports per repetition (more than there are measurements).
const PORTS_PER_REP: usize = 8;
const CHUNK: usize = 256 << 10;
/// A read or write stuck this long ends the run with an error.
const STALL: Duration = Duration::from_secs(30);

const USAGE: &str = "\
tcp_bench: single-stream TCP throughput, linnet on a TAP vs Linux over a veth into a netns,
and linnet <-> linnet in process

usage: tcp_bench [--tap NAME] [--veth NAME] [--netns NAME] [--mb N] [--reps N]
                 [--only LIST] [--tcp-wmem BYTES] [--tcp-rmem BYTES] [--out FILE.md]
                 [--tap-offload on|off]

  --tap NAME     TAP interface to create (default ltt<pid>)
  --veth NAME    host end of the veth pair; the peer is NAMEp (default lvt<pid>)
  --netns NAME   namespace for the Linux peer (default linnet-tcpbench-<pid>)
  --mb N         megabytes (10^6 bytes) per transfer (default 200)
  --reps N       transfers per measurement; the median is reported (default 3)
  --only LIST    comma-separated subset of: tap,veth,memory (default all three)
  --tcp-wmem B   linnet's default send buffer (tcp_wmem[1]; default: StackConfig's)
  --tcp-rmem B   linnet's default receive buffer (tcp_rmem[1]; default: StackConfig's)
  --out FILE     also write the table (Markdown) to FILE
  --tap-offload on|off
                 read the TAP with receive offload (IFF_VNET_HDR + TUNSETOFFLOAD: the
                 kernel's TSO super-segments, up to 64 KB per read) (default on)

Addresses: host 10.75.0.1/24 on the TAP, linnet 10.75.0.2; host 10.76.0.1/24 on the veth,
Linux 10.76.0.2 in the namespace; 10.81.0.1 and .2 in process. tap and veth need root.";

#[derive(Debug)]
struct Args {
    tap: String,
    veth: String,
    netns: String,
    bytes: usize,
    reps: usize,
    only: Vec<String>,
    tcp_wmem: Option<usize>,
    tcp_rmem: Option<usize>,
    out: Option<PathBuf>,
    tap_offload: bool,
}

fn parse_args() -> Result<Args, String> {
    let pid = std::process::id();
    let mut a = Args {
        tap: format!("ltt{pid}"),
        veth: format!("lvt{pid}"),
        netns: format!("linnet-tcpbench-{pid}"),
        bytes: 200_000_000,
        reps: 3,
        only: vec!["tap".into(), "veth".into(), "memory".into()],
        tcp_wmem: None,
        tcp_rmem: None,
        out: None,
        tap_offload: true,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        if flag == "-h" || flag == "--help" {
            return Err(String::new());
        }
        let val = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
        let bad = |what: &str| format!("{flag}: {what}: {val:?}");
        match flag.as_str() {
            "--tap" => a.tap = val,
            "--veth" => a.veth = val,
            "--netns" => a.netns = val,
            "--mb" => {
                let mb: usize = val.parse().map_err(|_| bad("not a count"))?;
                if mb == 0 || mb > 100_000 {
                    return Err(bad("must be 1..=100000"));
                }
                a.bytes = mb * 1_000_000;
            }
            "--reps" => {
                a.reps = val.parse().map_err(|_| bad("not a count"))?;
                if a.reps == 0 || a.reps > 50 {
                    return Err(bad("must be 1..=50"));
                }
            }
            "--only" => {
                a.only = val.split(',').map(|s| s.trim().to_string()).collect();
                if a.only.is_empty()
                    || a.only
                        .iter()
                        .any(|s| !["tap", "veth", "memory"].contains(&s.as_str()))
                {
                    return Err(bad("a list of tap, veth, memory"));
                }
            }
            "--tcp-wmem" | "--tcp-rmem" => {
                let b: usize = val.parse().map_err(|_| bad("not a byte count"))?;
                if !(4096..=(64 << 20)).contains(&b) {
                    return Err(bad("must be 4096..=67108864"));
                }
                if flag == "--tcp-wmem" {
                    a.tcp_wmem = Some(b);
                } else {
                    a.tcp_rmem = Some(b);
                }
            }
            "--out" => a.out = Some(PathBuf::from(val)),
            "--tap-offload" => {
                a.tap_offload = match val.as_str() {
                    "on" => true,
                    "off" => false,
                    _ => return Err(bad("on or off")),
                }
            }
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    // IFNAMSIZ - 1, and the veth peer gets one more byte.
    if a.tap.is_empty() || a.tap.len() > 15 || a.veth.is_empty() || a.veth.len() > 14 {
        return Err("--tap must be 1..=15 bytes, --veth 1..=14".into());
    }
    Ok(a)
}

// ---------------------------------------------------------------------------------------------
// Set-up and clean-up

fn preflight(a: &Args) -> Result<(), String> {
    if !nix::unistd::geteuid().is_root() {
        return Err("tap and veth need root (TAP, veth, network namespace)".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err("/dev/net/tun is missing".into());
    }
    if Command::new("ip").arg("-V").output().is_err() {
        return Err("ip (iproute2) is not installed".into());
    }
    let addrs = ip(&["-4", "-o", "addr", "show"]).map_err(|e| e.to_string())?;
    let routes = ip(&["-4", "route", "show", "table", "all"]).map_err(|e| e.to_string())?;
    for net in ["10.75.0.", "10.76.0."] {
        if addrs.contains(net) || routes.lines().any(|l| l.starts_with(net)) {
            return Err(format!(
                "{net}0/24 is already in use on this host (another run still up?)"
            ));
        }
    }
    for name in [&a.tap, &a.veth] {
        if Path::new("/sys/class/net").join(name).exists() {
            return Err(format!("interface {name} already exists"));
        }
    }
    Ok(())
}

fn disable_ipv6(dev: &str) {
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6"), "1");
}

/// linnet's configuration: the defaults, with the buffer sizes of `--tcp-wmem`/`--tcp-rmem`.
fn config(a: &Args) -> StackConfig {
    let mut cfg = StackConfig::default();
    if let Some(b) = a.tcp_wmem {
        cfg.tcp_wmem.1 = b;
        cfg.tcp_wmem.2 = cfg.tcp_wmem.2.max(b);
    }
    if let Some(b) = a.tcp_rmem {
        cfg.tcp_rmem.1 = b;
        cfg.tcp_rmem.2 = cfg.tcp_rmem.2.max(b);
    }
    cfg
}

fn stack_on(
    cfg: StackConfig,
    dev: impl linnet::Device + 'static,
    addr: Ipv4Addr,
    seed: u64,
) -> io::Result<Runtime> {
    let rt = Runtime::new(Stack::new(cfg, seed))?;
    let idx = rt.add_device(dev)?;
    let cidr = Ipv4Cidr::new(addr, 24).map_err(|e| io::Error::other(format!("{e:?}")))?;
    rt.with_stack(|s| {
        s.set_up(idx, true)
            .map_err(|e| io::Error::other(format!("{e:?}")))?;
        s.add_addr(idx, cidr)
            .map_err(|e| io::Error::other(format!("{e:?}")))
    })?;
    Ok(rt)
}

/// linnet on a TAP (with receive offload unless `--tap-offload off`): the kernel end is
/// 10.75.0.1/24.
fn setup_tap(a: &Args, cleanup: &mut Cleanup) -> io::Result<Runtime> {
    let tap = if a.tap_offload {
        TunDevice::tap_offload(&a.tap)?
    } else {
        TunDevice::tap(&a.tap)?
    };
    eprintln!(
        "TAP {}: receive offload {}",
        a.tap,
        if a.tap_offload { "on" } else { "off" }
    );
    cleanup.on_drop(&["link", "del", &a.tap]);
    disable_ipv6(&a.tap);
    ip(&["addr", "add", "10.75.0.1/24", "dev", &a.tap])?;
    ip(&["link", "set", &a.tap, "up"])?;
    stack_on(config(a), tap, TAP_LINNET, linnet::os_seed())
}

/// A veth pair whose peer (10.76.0.2) is in namespace `a.netns`.
fn setup_veth(a: &Args, cleanup: &mut Cleanup) -> io::Result<()> {
    let inner = format!("{}p", a.veth);
    ip(&["netns", "add", &a.netns])?;
    cleanup.on_drop(&["netns", "del", &a.netns]);
    ip(&[
        "link", "add", &a.veth, "type", "veth", "peer", "name", &inner,
    ])?;
    cleanup.on_drop(&["link", "del", &a.veth]);
    ip(&["link", "set", &inner, "netns", &a.netns])?;
    ip(&["-n", &a.netns, "addr", "add", "10.76.0.2/24", "dev", &inner])?;
    ip(&["-n", &a.netns, "link", "set", &inner, "up"])?;
    ip(&["-n", &a.netns, "link", "set", "lo", "up"])?;
    disable_ipv6(&a.veth);
    ip(&["addr", "add", "10.76.0.1/24", "dev", &a.veth])?;
    ip(&["link", "set", &a.veth, "up"])?;
    Ok(())
}

/// Two linnet stacks joined by an in-memory link.
fn setup_memory(args: &Args) -> io::Result<(Runtime, Runtime)> {
    let kind = |last| DeviceKind::Ethernet {
        mac: EthernetAddress([2, 0x6c, 0x6e, 0x81, 0, last]),
    };
    let (a, b) = MemoryDevice::pair("mem0", kind(1), "mem1", kind(2));
    Ok((
        stack_on(config(args), a, MEM_A, 1)?,
        stack_on(config(args), b, MEM_B, 2)?,
    ))
}

/// Runs `f` on a new thread that first entered network namespace `ns` (when given); a
/// socket keeps the namespace it was made in, so the result can be used anywhere.
fn in_netns<T: Send + 'static>(
    ns: Option<&str>,
    f: impl FnOnce() -> io::Result<T> + Send + 'static,
) -> io::Result<T> {
    let path = ns.map(|n| format!("/run/netns/{n}"));
    std::thread::spawn(move || {
        if let Some(p) = path {
            let file = std::fs::File::open(p)?;
            nix::sched::setns(file.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)?;
        }
        f()
    })
    .join()
    .map_err(|_| io::Error::other("namespace thread panicked"))?
}

// ---------------------------------------------------------------------------------------------
// One transfer

/// A connected stream of either kind.
trait Conn: Read + Write + Send {
    fn shut_write(&self) -> io::Result<()>;
}

impl Conn for std::net::TcpStream {
    fn shut_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

impl Conn for linnet::TcpStream {
    fn shut_write(&self) -> io::Result<()> {
        self.shutdown(Shutdown::Write)
    }
}

/// Where a side of a transfer lives.
#[derive(Clone)]
enum Side {
    /// The kernel, in namespace `Some(name)` or the host's.
    Linux(Option<String>),
    /// A linnet stack.
    Linnet(StackHandle),
}

enum Listener {
    Linux(std::net::TcpListener),
    Linnet(linnet::TcpListener),
}

impl Listener {
    fn bind(side: &Side, addr: SocketAddr) -> io::Result<Listener> {
        match side {
            Side::Linux(ns) => {
                let l = in_netns(ns.as_deref(), move || std::net::TcpListener::bind(addr))?;
                Ok(Listener::Linux(l))
            }
            Side::Linnet(h) => Ok(Listener::Linnet(linnet::TcpListener::bind(h, addr)?)),
        }
    }

    fn accept(&self) -> io::Result<Box<dyn Conn>> {
        Ok(match self {
            Listener::Linux(l) => {
                let s = l.accept()?.0;
                s.set_read_timeout(Some(STALL))?;
                s.set_write_timeout(Some(STALL))?;
                Box::new(s)
            }
            Listener::Linnet(l) => {
                let s = l.accept()?.0;
                s.set_read_timeout(Some(STALL))?;
                s.set_write_timeout(Some(STALL))?;
                Box::new(s)
            }
        })
    }
}

fn connect(side: &Side, addr: SocketAddr) -> io::Result<Box<dyn Conn>> {
    Ok(match side {
        Side::Linux(ns) => {
            let s = in_netns(ns.as_deref(), move || {
                std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            })?;
            s.set_read_timeout(Some(STALL))?;
            s.set_write_timeout(Some(STALL))?;
            Box::new(s)
        }
        Side::Linnet(h) => {
            let s = linnet::TcpStream::connect_timeout(h, &addr, Duration::from_secs(5))?;
            s.set_read_timeout(Some(STALL))?;
            s.set_write_timeout(Some(STALL))?;
            Box::new(s)
        }
    })
}

/// `bytes` from `sender` to a listener of `receiver` at `addr`; MB/s as the sender saw it.
fn transfer(
    sender: &Side,
    receiver: &Side,
    addr: SocketAddr,
    bytes: usize,
    buf: &[u8],
) -> io::Result<f64> {
    let l = Listener::bind(receiver, addr)?;
    let rx = std::thread::spawn(move || -> io::Result<usize> {
        let mut s = l.accept()?;
        let mut b = vec![0u8; CHUNK];
        let mut got = 0;
        loop {
            match s.read(&mut b)? {
                0 => break,
                n => got += n,
            }
        }
        s.write_all(b"k")?;
        Ok(got)
    });
    let t0 = Instant::now();
    let mut s = connect(sender, addr)?;
    let mut left = bytes;
    while left > 0 {
        let n = left.min(buf.len());
        s.write_all(&buf[..n])?;
        left -= n;
    }
    s.shut_write()?;
    let mut k = [0u8; 1];
    s.read_exact(&mut k)?;
    let secs = t0.elapsed().as_secs_f64();
    let got = rx
        .join()
        .map_err(|_| io::Error::other("receiver panicked"))??;
    if got != bytes {
        return Err(io::Error::other(format!("received {got} of {bytes} bytes")));
    }
    Ok(bytes as f64 / 1e6 / secs)
}

struct Measurement {
    key: &'static str,
    label: &'static str,
    sender: Side,
    receiver: Side,
    /// The receiver's address.
    ip: Ipv4Addr,
    results: Vec<f64>,
}

/// Frames read from and written to a linnet side's device (ifindex 2, the first after
/// `lo`): deterministic evidence of ACKs per MB, next to the noisy MB/s.
fn dev_frames(side: &Side) -> Option<(u64, u64)> {
    match side {
        Side::Linnet(h) => h
            .driver_stats(linnet::core::IfIndex(2))
            .map(|d| (d.rx_frames, d.tx_frames)),
        Side::Linux(_) => None,
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.total_cmp(b));
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tcp_bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match bench(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tcp_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench(a: &Args) -> io::Result<()> {
    let want = |s: &str| a.only.iter().any(|o| o == s);
    if want("tap") || want("veth") {
        preflight(a).map_err(io::Error::other)?;
    }
    let mut cleanup = Cleanup::default();
    let mut ms: Vec<Measurement> = Vec::new();
    let mut runtimes = Vec::new();
    if want("tap") {
        let rt = setup_tap(a, &mut cleanup)?;
        let linnet = Side::Linnet(rt.handle().clone());
        let host = Side::Linux(None);
        ms.push(Measurement {
            key: "linnet_tx_tap",
            label: "linnet -> Linux (TAP)",
            sender: linnet.clone(),
            receiver: host.clone(),
            ip: TAP_KERNEL,
            results: vec![],
        });
        ms.push(Measurement {
            key: "linnet_rx_tap",
            label: "Linux -> linnet (TAP)",
            sender: host,
            receiver: linnet,
            ip: TAP_LINNET,
            results: vec![],
        });
        runtimes.push(rt);
    }
    if want("veth") {
        setup_veth(a, &mut cleanup)?;
        let host = Side::Linux(None);
        let ns = Side::Linux(Some(a.netns.clone()));
        ms.push(Measurement {
            key: "linux_tx_veth",
            label: "Linux host -> Linux netns (veth)",
            sender: host.clone(),
            receiver: ns.clone(),
            ip: VETH_NS,
            results: vec![],
        });
        ms.push(Measurement {
            key: "linux_rx_veth",
            label: "Linux netns -> Linux host (veth)",
            sender: ns,
            receiver: host,
            ip: VETH_HOST,
            results: vec![],
        });
    }
    if want("memory") {
        let (ra, rb) = setup_memory(a)?;
        ms.push(Measurement {
            key: "linnet_memory",
            label: "linnet -> linnet (in process, MemoryDevice pair)",
            sender: Side::Linnet(ra.handle().clone()),
            receiver: Side::Linnet(rb.handle().clone()),
            ip: MEM_B,
            results: vec![],
        });
        runtimes.push(ra);
        runtimes.push(rb);
    }
    let buf: Vec<u8> = (0..CHUNK).map(|i| (i * 7 + i / 251) as u8).collect();
    println!(
        "single-stream TCP, {} MB per transfer, {} reps (median reported)",
        a.bytes / 1_000_000,
        a.reps
    );
    for rep in 0..a.reps {
        for (i, m) in ms.iter_mut().enumerate() {
            // Each transfer on its own port: no TIME-WAIT or reuse questions between runs.
            let port = PORT + (rep * PORTS_PER_REP + i) as u16;
            let addr = sa(m.ip, port);
            let before = [dev_frames(&m.sender), dev_frames(&m.receiver)];
            let mbps = transfer(&m.sender, &m.receiver, addr, a.bytes, &buf)
                .map_err(|e| io::Error::other(format!("{}: {e}", m.label)))?;
            println!("rep {} {:<52} {mbps:>9.1} MB/s", rep + 1, m.label);
            let after = [dev_frames(&m.sender), dev_frames(&m.receiver)];
            for ((b, a2), who) in before.iter().zip(&after).zip(["sender", "receiver"]) {
                if let (Some((rx0, tx0)), Some((rx1, tx1))) = (b, a2) {
                    let mb = a.bytes as f64 / 1e6;
                    println!(
                        "frames {} linnet {who}: {} in, {} out per MB",
                        m.key,
                        ((rx1 - rx0) as f64 / mb).round(),
                        ((tx1 - tx0) as f64 / mb).round()
                    );
                }
            }
            m.results.push(mbps);
        }
    }
    let mut md = String::from("| transfer | MB/s (median) | runs |\n|---|---:|---|\n");
    for m in &ms {
        let runs: Vec<String> = m.results.iter().map(|r| format!("{r:.0}")).collect();
        md.push_str(&format!(
            "| {} | {:.1} | {} |\n",
            m.label,
            median(&m.results),
            runs.join(", ")
        ));
    }
    println!("\n{md}");
    for m in &ms {
        println!("median {} {:.2}", m.key, median(&m.results));
    }
    if let Some(out) = &a.out {
        std::fs::write(out, &md)?;
    }
    for rt in runtimes {
        rt.shutdown()?;
    }
    drop(cleanup);
    Ok(())
}

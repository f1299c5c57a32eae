//! Device-level benchmark: linnet on a TAP device against the Linux kernel behind a veth, driven
//! over the wire by the same Linux client, in one run.
//!
//! Needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN for `setns`), /dev/net/tun, `ip`
//! (iproute2) and `ping` (iputils). Normally started by `scripts/bench-tap.sh`, which builds
//! it, picks unique names and removes the interfaces even if this program is killed:
//!
//! ```sh
//! sudo bash scripts/bench-tap.sh
//! cargo run --release -p linnet --example tap_bench -- --help     # as root, by hand
//! ```
//!
//! The two sides, reached from the host namespace in the same way (an on-link /24):
//!
//! ```text
//!   host ns: 10.77.0.1/24 on TAP  ──fd──>  linnet Stack 10.77.0.2 (runtime thread
//!                                            + echo-server thread, blocking UdpSocket)
//!   host ns: 10.78.0.1/24 on veth ──────>  netns: 10.78.0.2 on the veth peer
//!                                            (kernel stack + echo-server thread)
//! ```
//!
//! Measurements, each repeated `--reps` times, alternating which side goes first, and
//! reported as the median run:
//! - UDP echo: a kernel UDP socket in the host namespace (this process's main thread) keeps
//!   `W` requests of 64 bytes in flight against the echo server on port 7 for `--seconds`,
//!   and counts replies per second. `W = 1` is latency-bound (one round trip at a time),
//!   larger windows are throughput-bound. A reply missing for 20 ms counts as a stall and
//!   the window is refilled.
//! - ping: iputils `ping -n -q -c N -i 0.01` of each side; min/avg/max/mdev.
//!
//! Linux: drivers/net/tun.c, drivers/net/veth.c, net/ipv4/udp.c, net/ipv4/icmp.c.
//! RFCs: RFC 768, RFC 792.

#[path = "common/setup.rs"]
mod setup;

use std::fmt::Write as _;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use linnet::core::{IfIndex, Stack, StackConfig};
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::{Runtime, TunDevice};

use setup::{ip, run, Cleanup};

const TAP_KERNEL: &str = "10.77.0.1/24";
const TAP_LINNET: &str = "10.77.0.2/24";
const VETH_HOST: &str = "10.78.0.1/24";
const VETH_NS: &str = "10.78.0.2/24";
const ECHO_PORT: u16 = 7;
const PAYLOAD: usize = 64;
/// A reply missing this long stalls the window: it is refilled.
const STALL: Duration = Duration::from_millis(20);

const USAGE: &str = "\
tap_bench: UDP echo rate and ping RTT, linnet on a TAP vs Linux in a netns over a veth

usage: tap_bench [--tap NAME] [--veth NAME] [--netns NAME] [--seconds S] [--reps N]
                 [--windows 1,32] [--ping-count N] [--out FILE.md]

  --tap NAME       TAP interface to create (default ltb<pid>)
  --veth NAME      host end of the veth pair; the peer is NAMEp (default lvb<pid>)
  --netns NAME     namespace for the Linux server (default linnet-tapbench-<pid>)
  --seconds S      duration of each UDP run (default 3)
  --reps N         runs of every measurement; the median is reported (default 3)
  --windows LIST   requests in flight, comma-separated (default 1,32)
  --ping-count N   echo requests per ping run, at 10 ms intervals (default 200)
  --out FILE       also write the summary tables (Markdown) to FILE

Addresses: host 10.77.0.1/24 on the TAP, linnet 10.77.0.2; host 10.78.0.1/24 on the veth,
Linux 10.78.0.2 in the namespace. Needs root.";

#[derive(Debug)]
struct Args {
    tap: String,
    veth: String,
    netns: String,
    seconds: f64,
    reps: usize,
    windows: Vec<usize>,
    ping_count: u32,
    out: Option<PathBuf>,
}

fn parse_args() -> Result<Args, String> {
    let pid = std::process::id();
    let mut a = Args {
        tap: format!("ltb{pid}"),
        veth: format!("lvb{pid}"),
        netns: format!("linnet-tapbench-{pid}"),
        seconds: 3.0,
        reps: 3,
        windows: vec![1, 32],
        ping_count: 200,
        out: None,
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
            "--seconds" => {
                a.seconds = val.parse().map_err(|_| bad("not a number"))?;
                if !(a.seconds > 0.0 && a.seconds <= 60.0) {
                    return Err(bad("must be in (0, 60]"));
                }
            }
            "--reps" => {
                a.reps = val.parse().map_err(|_| bad("not a count"))?;
                if a.reps == 0 || a.reps > 20 {
                    return Err(bad("must be 1..=20"));
                }
            }
            "--windows" => {
                a.windows = val
                    .split(',')
                    .map(|w| w.trim().parse::<usize>())
                    .collect::<Result<_, _>>()
                    .map_err(|_| bad("not a list of counts"))?;
                if a.windows.is_empty() || a.windows.iter().any(|&w| w == 0 || w > 256) {
                    return Err(bad("each window must be 1..=256"));
                }
            }
            "--ping-count" => {
                a.ping_count = val.parse().map_err(|_| bad("not a count"))?;
                if a.ping_count == 0 {
                    return Err(bad("must be at least 1"));
                }
            }
            "--out" => a.out = Some(PathBuf::from(val)),
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
        return Err("needs root (TAP, veth, network namespace)".into());
    }
    if !Path::new("/dev/net/tun").exists() {
        return Err("/dev/net/tun is missing".into());
    }
    for (tool, arg) in [("ip", "-V"), ("ping", "-V")] {
        if Command::new(tool).arg(arg).output().is_err() {
            return Err(format!("{tool} is not installed (iproute2, iputils-ping)"));
        }
    }
    // The benchmark's subnets must be free on this host.
    let addrs = ip(&["-4", "-o", "addr", "show"]).map_err(|e| e.to_string())?;
    let routes = ip(&["-4", "route", "show", "table", "all"]).map_err(|e| e.to_string())?;
    for net in ["10.77.0.", "10.78.0."] {
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

/// Keeps the kernel quiet on an interface: no IPv6 (no router solicitations, no DAD).
fn disable_ipv6(dev: &str) {
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6"), "1");
}

/// An echo server thread and how to stop it.
struct Server {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<u64>>,
}

impl Server {
    /// Stops the thread; returns the datagrams it echoed.
    fn finish(mut self) -> u64 {
        self.stop.store(true, Ordering::Release);
        self.thread.take().map_or(0, |t| t.join().unwrap_or(0))
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
    }
}

/// The Linux side: netns + veth pair, 10.78.0.2 inside, and a kernel-socket echo server on a
/// thread that entered the namespace.
fn setup_linux(a: &Args, cleanup: &mut Cleanup) -> io::Result<Server> {
    let inner = format!("{}p", a.veth);
    ip(&["netns", "add", &a.netns])?;
    cleanup.on_drop(&["netns", "del", &a.netns]);
    ip(&[
        "link", "add", &a.veth, "type", "veth", "peer", "name", &inner,
    ])?;
    cleanup.on_drop(&["link", "del", &a.veth]);
    ip(&["link", "set", &inner, "netns", &a.netns])?;
    let _ = run(
        "ip",
        &[
            "netns",
            "exec",
            &a.netns,
            "sysctl",
            "-qw",
            "net.ipv6.conf.all.disable_ipv6=1",
        ],
    );
    ip(&["-n", &a.netns, "addr", "add", VETH_NS, "dev", &inner])?;
    ip(&["-n", &a.netns, "link", "set", &inner, "up"])?;
    ip(&["-n", &a.netns, "link", "set", "lo", "up"])?;
    disable_ipv6(&a.veth);
    ip(&["addr", "add", VETH_HOST, "dev", &a.veth])?;
    ip(&["link", "set", &a.veth, "up"])?;

    let ns_path = format!("/run/netns/{}", a.netns);
    let stop = Arc::new(AtomicBool::new(false));
    let (ready_tx, ready_rx) = std::sync::mpsc::channel::<io::Result<()>>();
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new()
        .name("linux-echo".into())
        .spawn(move || {
            let sock = (|| {
                let f = std::fs::File::open(&ns_path)?;
                // Only this thread moves into the namespace.
                nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)?;
                let s = std::net::UdpSocket::bind(SocketAddrV4::new(
                    Ipv4Addr::new(10, 78, 0, 2),
                    ECHO_PORT,
                ))?;
                // Only so that the thread notices `stop`; no cost per datagram.
                s.set_read_timeout(Some(Duration::from_millis(200)))?;
                Ok::<_, io::Error>(s)
            })();
            let sock = match sock {
                Ok(s) => {
                    let _ = ready_tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return 0;
                }
            };
            let mut buf = [0u8; 2048];
            let mut echoed = 0u64;
            while !stop2.load(Ordering::Acquire) {
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        if sock.send_to(&buf[..n], from).is_ok() {
                            echoed += 1;
                        }
                    }
                    Err(_) => continue,
                }
            }
            echoed
        })?;
    ready_rx
        .recv()
        .map_err(|_| io::Error::other("linux echo thread died"))??;
    Ok(Server {
        stop,
        thread: Some(thread),
    })
}

/// The linnet side: a TAP (kernel end 10.77.0.1), a Stack at 10.77.0.2 on its runtime, and an
/// echo server on linnet's blocking `UdpSocket`.
fn setup_linnet(a: &Args, cleanup: &mut Cleanup) -> io::Result<(Runtime, IfIndex, Server)> {
    let tap = TunDevice::tap(&a.tap)?;
    // The TAP goes when its fd closes; the rule covers a crash between here and the runtime.
    cleanup.on_drop(&["link", "del", &a.tap]);
    disable_ipv6(&a.tap);
    ip(&["addr", "add", TAP_KERNEL, "dev", &a.tap])?;
    ip(&["link", "set", &a.tap, "up"])?;
    let rt = Runtime::new(Stack::new(StackConfig::default(), linnet::os_seed()))?;
    let idx = rt.add_device(tap)?;
    let cidr: Ipv4Cidr = TAP_LINNET
        .parse()
        .map_err(|_| io::Error::other("bad cidr"))?;
    rt.with_stack(|s| -> io::Result<()> {
        s.set_up(idx, true)
            .map_err(|e| linnet::errno_to_io(e.errno()))?;
        s.add_addr(idx, cidr)
            .map_err(|e| linnet::errno_to_io(e.errno()))?;
        Ok(())
    })?;
    let sock = linnet::UdpSocket::bind(
        rt.handle(),
        SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), ECHO_PORT),
    )?;
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let thread = std::thread::Builder::new()
        .name("linnet-echo".into())
        .spawn(move || {
            // Blocks without a timeout: the runtime's shutdown ends the wait with ENETDOWN.
            let mut buf = [0u8; 2048];
            let mut echoed = 0u64;
            while !stop2.load(Ordering::Acquire) {
                match sock.recv_from(&mut buf) {
                    Ok((n, from)) => {
                        if sock.send_to(&buf[..n], from).is_ok() {
                            echoed += 1;
                        }
                    }
                    Err(e) if e.raw_os_error() == Some(libc::ENETDOWN) => break,
                    Err(_) => continue,
                }
            }
            echoed
        })?;
    Ok((
        rt,
        idx,
        Server {
            stop,
            thread: Some(thread),
        },
    ))
}

// ---------------------------------------------------------------------------------------------
// Measurements

/// CPU time of every thread of this process so far (ns, from `/proc/self/task/*/schedstat`):
/// the client, both echo servers and linnet's runtime thread. Without
/// `CONFIG_IRQ_TIME_ACCOUNTING` it includes the softirq work the kernel does in those threads'
/// context (the veth and tun receive paths); work deferred to `ksoftirqd` is not counted.
/// `None` when the kernel has no schedstat.
fn process_cpu_ns() -> Option<u64> {
    let mut total = 0u64;
    for t in std::fs::read_dir("/proc/self/task").ok()? {
        let path = t.ok()?.path().join("schedstat");
        // A thread may have exited since the listing.
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        total += text.split_whitespace().next()?.parse::<u64>().ok()?;
    }
    Some(total)
}

#[derive(Clone, Copy, Debug, Default)]
struct UdpRun {
    pps: f64,
    /// CPU time of all threads per reply, µs (NaN if unknown).
    cpu_us: f64,
    /// CPU time / wall time: how many of the cores the run kept busy.
    busy: f64,
    sent: u64,
    replies: u64,
    late: u64,
    stalls: u64,
    send_errors: u64,
}

/// One fresh kernel socket keeps `window` echo requests in flight for `dur`; replies/s.
fn udp_echo_run(
    local: Ipv4Addr,
    server: SocketAddrV4,
    window: usize,
    dur: Duration,
) -> io::Result<UdpRun> {
    let s = std::net::UdpSocket::bind(SocketAddrV4::new(local, 0))?;
    s.connect(server)?;
    s.set_read_timeout(Some(STALL))?;
    let mut req = [0x5au8; PAYLOAD];
    let mut rx = [0u8; 2048];
    let mut r = UdpRun::default();
    let mut outstanding = 0usize;
    let cpu0 = process_cpu_ns();
    let start = Instant::now();
    let end = start + dur;
    loop {
        while outstanding < window {
            req[..8].copy_from_slice(&r.sent.to_be_bytes());
            match s.send(&req) {
                Ok(_) => {
                    r.sent += 1;
                    outstanding += 1;
                }
                Err(_) => {
                    r.send_errors += 1;
                    break;
                }
            }
        }
        match s.recv(&mut rx) {
            Ok(_) => {
                r.replies += 1;
                outstanding = outstanding.saturating_sub(1);
            }
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                r.stalls += 1;
                outstanding = 0;
            }
            Err(_) => {}
        }
        if Instant::now() >= end {
            break;
        }
    }
    let elapsed = start.elapsed().as_secs_f64();
    let cpu = match (cpu0, process_cpu_ns()) {
        (Some(a), Some(b)) => b.saturating_sub(a) as f64 / 1e9,
        _ => f64::NAN,
    };
    r.pps = r.replies as f64 / elapsed;
    r.cpu_us = cpu * 1e6 / r.replies.max(1) as f64;
    r.busy = cpu / elapsed;
    // Collect what is still in flight, so that it does not disturb the next run.
    s.set_read_timeout(Some(Duration::from_millis(50)))?;
    while s.recv(&mut rx).is_ok() {
        r.late += 1;
    }
    Ok(r)
}

/// Sends single requests until one is answered (ARP resolved, server running).
fn udp_warm_up(local: Ipv4Addr, server: SocketAddrV4) -> io::Result<()> {
    let s = std::net::UdpSocket::bind(SocketAddrV4::new(local, 0))?;
    s.connect(server)?;
    s.set_read_timeout(Some(Duration::from_millis(200)))?;
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        let _ = s.send(b"warm-up");
        if s.recv(&mut [0u8; 64]).is_ok() {
            return Ok(());
        }
    }
    Err(io::Error::other(format!(
        "no UDP echo from {server} within 5 s"
    )))
}

#[derive(Clone, Copy, Debug, Default)]
struct PingRun {
    sent: u32,
    received: u32,
    min: f64,
    avg: f64,
    max: f64,
    mdev: f64,
}

/// iputils `ping -n -q -c COUNT -i 0.01 -W 1 DST`; the summary in milliseconds.
fn ping_run(dst: &str, count: u32) -> io::Result<PingRun> {
    let count_s = count.to_string();
    let out = Command::new("ping")
        .args(["-n", "-q", "-c", &count_s, "-i", "0.01", "-W", "1", dst])
        .output()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let mut r = PingRun::default();
    for line in text.lines() {
        // "200 packets transmitted, 200 received, 0% packet loss, time 2189ms"
        if let Some((tx, rest)) = line.split_once(" packets transmitted, ") {
            r.sent = tx.trim().parse().unwrap_or(0);
            r.received = rest
                .split_whitespace()
                .next()
                .and_then(|n| n.parse().ok())
                .unwrap_or(0);
        }
        // "rtt min/avg/max/mdev = 0.031/0.052/0.190/0.017 ms"
        if let Some(v) = line.strip_prefix("rtt min/avg/max/mdev = ") {
            let nums: Vec<f64> = v
                .trim_end_matches(" ms")
                .split('/')
                .filter_map(|x| x.parse().ok())
                .collect();
            if let [min, avg, max, mdev] = nums[..] {
                (r.min, r.avg, r.max, r.mdev) = (min, avg, max, mdev);
            }
        }
    }
    if r.received == 0 {
        return Err(io::Error::other(format!(
            "ping {dst}: no replies\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(r)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        f64::NAN
    } else if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn kpps(x: f64) -> String {
    format!("{:.1} k", x / 1e3)
}

fn list(v: &[f64], f: impl Fn(f64) -> String) -> String {
    v.iter().map(|&x| f(x)).collect::<Vec<_>>().join(", ")
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Side {
    Linnet,
    Linux,
}

impl Side {
    fn label(self) -> &'static str {
        match self {
            Side::Linnet => "linnet/TAP",
            Side::Linux => "Linux/veth",
        }
    }
}

fn main() -> ExitCode {
    let a = match parse_args() {
        Ok(a) => a,
        Err(e) if e.is_empty() => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("tap_bench: {e}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(e) = preflight(&a) {
        eprintln!("tap_bench: {e}");
        return ExitCode::FAILURE;
    }
    match bench(&a) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tap_bench: {e}");
            ExitCode::FAILURE
        }
    }
}

fn bench(a: &Args) -> io::Result<()> {
    let mut cleanup = Cleanup::default();
    let linux_srv = setup_linux(a, &mut cleanup)?;
    let (rt, tap_idx, linnet_srv) = setup_linnet(a, &mut cleanup)?;
    let host_tap = Ipv4Addr::new(10, 77, 0, 1);
    let host_veth = Ipv4Addr::new(10, 78, 0, 1);
    let target = |side: Side| match side {
        Side::Linnet => (
            host_tap,
            SocketAddrV4::new(Ipv4Addr::new(10, 77, 0, 2), ECHO_PORT),
        ),
        Side::Linux => (
            host_veth,
            SocketAddrV4::new(Ipv4Addr::new(10, 78, 0, 2), ECHO_PORT),
        ),
    };
    let ping_dst = |side: Side| match side {
        Side::Linnet => "10.77.0.2",
        Side::Linux => "10.78.0.2",
    };
    println!(
        "linnet {TAP_LINNET} behind TAP {} (host {TAP_KERNEL}); Linux {VETH_NS} in netns {} \
         behind veth {} (host {VETH_HOST})",
        a.tap, a.netns, a.veth
    );
    println!(
        "{} runs of each measurement, alternating which side goes first; UDP runs {} s, \
         {} B payload, windows {:?}; ping -c {} -i 0.01",
        a.reps, a.seconds, PAYLOAD, a.windows, a.ping_count
    );
    for side in [Side::Linnet, Side::Linux] {
        let (l, s) = target(side);
        udp_warm_up(l, s)?;
        ping_run(ping_dst(side), 5)?;
        // One short unmeasured run per side: page faults, pool growth, caches.
        udp_echo_run(
            l,
            s,
            *a.windows.iter().max().unwrap_or(&1),
            Duration::from_millis(300),
        )?;
    }

    let dur = Duration::from_secs_f64(a.seconds);
    let order = |rep: usize| {
        if rep % 2 == 1 {
            [Side::Linux, Side::Linnet]
        } else {
            [Side::Linnet, Side::Linux]
        }
    };
    // udp[window index][side] -> runs
    let mut udp: Vec<[Vec<UdpRun>; 2]> = a.windows.iter().map(|_| [vec![], vec![]]).collect();
    let mut pings: [Vec<PingRun>; 2] = [vec![], vec![]];
    println!("\nUDP echo (replies per second; stalls = 20 ms without a reply)");
    for rep in 0..a.reps {
        for (wi, &w) in a.windows.iter().enumerate() {
            for side in order(rep) {
                let (l, s) = target(side);
                let r = udp_echo_run(l, s, w, dur)?;
                println!(
                    "  run {} window {:>3} {:<11} {:>8.0} pkt/s ({:>5.1} µs/echo)  cpu {:>4.1} \
                     µs/echo, {:.2} cores busy  sent {} replies {} late {} stalls {} \
                     send errors {}",
                    rep + 1,
                    w,
                    side.label(),
                    r.pps,
                    1e6 / r.pps,
                    r.cpu_us,
                    r.busy,
                    r.sent,
                    r.replies,
                    r.late,
                    r.stalls,
                    r.send_errors
                );
                udp[wi][side as usize].push(r);
            }
        }
    }
    println!("\nping RTT (ms)");
    for rep in 0..a.reps {
        for side in order(rep) {
            let r = ping_run(ping_dst(side), a.ping_count)?;
            println!(
                "  run {} {:<11} {}/{} received  min/avg/max/mdev = {:.3}/{:.3}/{:.3}/{:.3} ms",
                rep + 1,
                side.label(),
                r.received,
                r.sent,
                r.min,
                r.avg,
                r.max,
                r.mdev
            );
            pings[side as usize].push(r);
        }
    }

    // linnet's own view of the runs: anything dropped inside the stack or the driver.
    let stats = rt.handle().inspect(|s| {
        let st = s.stats();
        (st.udp, st.total_drops(), st.rx_frames)
    });
    let drv = rt.handle().driver_stats(tap_idx);
    let linnet_echoed;
    let linux_echoed = linux_srv.finish();
    {
        // Shutting the runtime down ends the linnet server's blocking wait (ENETDOWN).
        linnet_srv.stop.store(true, Ordering::Release);
        rt.shutdown()?;
        linnet_echoed = linnet_srv.finish();
    }

    // ---- summary
    let mut md = String::new();
    let _ = writeln!(
        md,
        "| measurement (median of {} runs) | linnet on TAP | Linux in netns over veth \
         | linnet / Linux |",
        a.reps
    );
    let _ = writeln!(md, "|---|---:|---:|---:|");
    for (wi, &w) in a.windows.iter().enumerate() {
        let m = |side: Side| median(udp[wi][side as usize].iter().map(|r| r.pps).collect());
        let (l, k) = (m(Side::Linnet), m(Side::Linux));
        let _ = writeln!(
            md,
            "| UDP echo, {w} in flight (packets/s, higher is better) | {} | {} | {:.2} |",
            kpps(l),
            kpps(k),
            l / k
        );
    }
    for (wi, &w) in a.windows.iter().enumerate() {
        let m = |side: Side| median(udp[wi][side as usize].iter().map(|r| r.cpu_us).collect());
        let (l, k) = (m(Side::Linnet), m(Side::Linux));
        let _ = writeln!(
            md,
            "| CPU time per echo, {w} in flight, all threads (µs, lower is better) | {l:.1} | \
             {k:.1} | {:.2} |",
            l / k
        );
    }
    for (name, f) in [
        ("min", (|r: &PingRun| r.min) as fn(&PingRun) -> f64),
        ("avg", |r: &PingRun| r.avg),
        ("max", |r: &PingRun| r.max),
        ("mdev", |r: &PingRun| r.mdev),
    ] {
        let m = |side: Side| median(pings[side as usize].iter().map(f).collect());
        let (l, k) = (m(Side::Linnet), m(Side::Linux));
        let _ = writeln!(
            md,
            "| ping RTT {name} (µs, lower is better) | {:.0} | {:.0} | {:.2} |",
            l * 1e3,
            k * 1e3,
            l / k
        );
    }
    let _ = writeln!(md);
    let _ = writeln!(
        md,
        "All runs (packets/s, or avg RTT in µs), in run order:\n"
    );
    for (wi, &w) in a.windows.iter().enumerate() {
        for side in [Side::Linnet, Side::Linux] {
            let v: Vec<f64> = udp[wi][side as usize].iter().map(|r| r.pps).collect();
            let _ = writeln!(md, "- UDP window {w}, {}: {}", side.label(), list(&v, kpps));
        }
    }
    for side in [Side::Linnet, Side::Linux] {
        let v: Vec<f64> = pings[side as usize].iter().map(|r| r.avg * 1e3).collect();
        let _ = writeln!(
            md,
            "- ping avg, {}: {}",
            side.label(),
            list(&v, |x| format!("{x:.0}"))
        );
    }
    let (udp_mib, drops, rx_frames) = stats;
    let _ = writeln!(
        md,
        "\nlinnet counters over the whole run: {rx_frames} frames received, {drops} dropped \
         (any reason), UDP RcvbufErrors {}, driver tx_dropped {} tx_errors {}; echoed \
         datagrams: linnet {linnet_echoed}, Linux {linux_echoed}.",
        udp_mib.rcvbuf_errors,
        drv.map_or(0, |d| d.tx_dropped),
        drv.map_or(0, |d| d.tx_errors),
    );
    println!("\n{md}");
    if let Some(path) = &a.out {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        std::fs::write(path, &md)?;
        println!("(written to {})", path.display());
    }
    drop(cleanup);
    Ok(())
}

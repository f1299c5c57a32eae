//! linnet against the real Linux kernel: a TAP, a TUN and an AF_PACKET socket on a veth whose
//! peer lives in a network namespace, with the kernel's stack and iputils `ping` as the peer.
//!
//! Linux: drivers/net/tun.c, drivers/net/veth.c, net/packet/af_packet.c, net/ipv4/icmp.c
//! (the kernel answering and sending echoes), net/ipv4/udp.c (the kernel's UDP sockets),
//! net/ipv4/tcp*.c (the kernel's TCP: bulk transfers, RSTs, half-close).
//! RFCs: RFC 792, RFC 768, RFC 826, RFC 9293.
//!
//! Needs root (CAP_NET_ADMIN, CAP_NET_RAW), /dev/net/tun, `ip` (iproute2) and `ping`
//! (iputils). Without them each test prints why and passes, except when `CI=true`: then it
//! fails. Interface and namespace names carry the process id and a counter, every test
//! removes what it made (a guard that runs on drop, also on failure), and the tests run one
//! at a time.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsFd;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use linnet::core::{IfIndex, PingEvent, Stack, StackConfig};
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::wire::EthernetAddress;
use linnet::{ping, Device, PacketDevice, Runtime, TunDevice, UdpSocket};

/// Kernel tests run one at a time.
static SERIAL: Mutex<()> = Mutex::new(());
static COUNTER: AtomicU32 = AtomicU32::new(0);
const WAIT: Duration = Duration::from_secs(3);

/// True when the kernel tests can run; otherwise prints why, and panics under `CI=true`.
fn kernel_ready(test: &str) -> bool {
    let why = if !nix::unistd::geteuid().is_root() {
        Some("not root")
    } else if !Path::new("/dev/net/tun").exists() {
        Some("/dev/net/tun is missing")
    } else if Command::new("ip").arg("-V").output().is_err() {
        Some("ip(8) (iproute2) is not installed")
    } else if Command::new("ping").arg("-V").output().is_err() {
        Some("ping(8) (iputils-ping) is not installed")
    } else {
        None
    };
    match why {
        None => true,
        Some(why) if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: CI=true requires the kernel tests to run, but {why}")
        }
        Some(why) => {
            eprintln!("skipping {test}: {why}");
            false
        }
    }
}

/// `prefix` + pid + counter, at most 15 bytes (IFNAMSIZ - 1) for prefixes of 3.
fn unique(prefix: &str) -> String {
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    format!("{prefix}{}{n}", std::process::id() % 10_000_000)
}

fn run(cmd: &str, args: &[&str]) -> Output {
    Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} {args:?}: {e}"))
}

/// Runs `ip ARGS` and panics with its stderr if it fails.
fn ip(args: &[&str]) {
    let out = run("ip", args);
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn ip_output(args: &[&str]) -> String {
    String::from_utf8_lossy(&run("ip", args).stdout).into_owned()
}

/// Keeps the kernel quiet on an interface: no IPv6 (no router solicitations, no DAD).
fn disable_ipv6(dev: &str) {
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{dev}/disable_ipv6"), "1");
}

/// Undoes what a test made, in reverse order, when dropped (also on panic).
#[derive(Default)]
struct Cleanup(Vec<Vec<String>>);

impl Cleanup {
    fn on_drop(&mut self, args: &[&str]) {
        self.0.push(args.iter().map(|s| s.to_string()).collect());
    }
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        for args in self.0.iter().rev() {
            let _ = Command::new("ip").args(args).output();
        }
    }
}

fn host(dev: impl Device + 'static, cidr: &str) -> (Runtime, IfIndex) {
    let rt = Runtime::new(Stack::new(StackConfig::default(), linnet::os_seed())).unwrap();
    let idx = rt.add_device(dev).unwrap();
    let cidr: Ipv4Cidr = cidr.parse().unwrap();
    rt.with_stack(|s| {
        s.set_up(idx, true).unwrap();
        s.add_addr(idx, cidr).unwrap();
    });
    (rt, idx)
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// iputils `ping -c 3` of `dst`, optionally inside netns `ns`; asserts every reply came.
fn linux_pings(ns: Option<&str>, dst: &str) {
    let ping_args = ["ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", dst];
    let out = match ns {
        Some(ns) => {
            let mut args = vec!["netns", "exec", ns];
            args.extend_from_slice(&ping_args);
            run("ip", &args)
        }
        None => run("ping", &ping_args[1..]),
    };
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("3 received"),
        "Linux ping {dst} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// linnet pings `dst` three times and expects echo replies from it.
fn linnet_pings(rt: &Runtime, dst: Ipv4Addr) {
    for seq in 1..=3 {
        let r = ping(rt.handle(), dst, 0x4c4e, seq, None, &[0xa5; 56], WAIT)
            .unwrap_or_else(|e| panic!("linnet ping {dst} seq {seq}: {e}"));
        match r.event {
            PingEvent::Reply {
                from, seq: s, len, ..
            } => {
                assert_eq!((from, s, len), (dst, seq, 56));
            }
            e => panic!("linnet ping {dst}: {e:?}"),
        }
    }
}

/// A kernel UDP socket and a linnet UDP socket exchange a datagram each way. `kernel` is
/// bound on the kernel side; linnet listens on `linnet_ip:port`.
fn udp_both_ways(rt: &Runtime, kernel: &std::net::UdpSocket, linnet_ip: Ipv4Addr, port: u16) {
    let l = UdpSocket::bind(rt.handle(), sa(linnet_ip, port)).unwrap();
    l.set_read_timeout(Some(WAIT)).unwrap();
    kernel.set_read_timeout(Some(WAIT)).unwrap();
    // Linux -> linnet.
    kernel.send_to(b"from linux", sa(linnet_ip, port)).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = l.recv_from(&mut buf).expect("linnet receives from Linux");
    assert_eq!(&buf[..n], b"from linux");
    assert_eq!(from, kernel.local_addr().unwrap());
    // linnet -> Linux.
    l.send_to(b"from linnet", from).unwrap();
    let (n, from) = kernel
        .recv_from(&mut buf)
        .expect("Linux receives from linnet");
    assert_eq!(&buf[..n], b"from linnet");
    assert_eq!(from, sa(linnet_ip, port));
}

#[test]
fn tap_linux_and_linnet_ping_each_other_and_exchange_udp() {
    if !kernel_ready("tap_linux_and_linnet_ping_each_other_and_exchange_udp") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let name = unique("lnt");
    let mut cleanup = Cleanup::default();
    let tap = TunDevice::tap(&name).unwrap();
    cleanup.on_drop(&["link", "del", &name]);
    let mac = tap.mac();
    assert_ne!(tap.kernel_mac().unwrap(), mac);
    disable_ipv6(&name);
    ip(&["addr", "add", "10.99.0.1/24", "dev", &name]);
    ip(&["link", "set", &name, "up"]);
    let (rt, _) = host(tap, "10.99.0.2/24");
    let (kernel_ip, linnet_ip) = (Ipv4Addr::new(10, 99, 0, 1), Ipv4Addr::new(10, 99, 0, 2));

    linux_pings(None, "10.99.0.2");
    linnet_pings(&rt, kernel_ip);

    let k = std::net::UdpSocket::bind(sa(kernel_ip, 0)).unwrap();
    udp_both_ways(&rt, &k, linnet_ip, 5000);

    // Linux learned linnet's MAC by ARP.
    let neigh = ip_output(&["neigh", "show", "10.99.0.2", "dev", &name]);
    assert!(neigh.contains(&mac.to_string()), "ip neigh: {neigh}");

    // A Linux UDP send to a closed linnet port gets ECONNREFUSED on the next call.
    let c = std::net::UdpSocket::bind(sa(kernel_ip, 0)).unwrap();
    c.connect(sa(linnet_ip, 5999)).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    c.send(b"closed?").unwrap();
    let e = c.recv(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED), "{e}");

    rt.shutdown().unwrap();
    // The TAP was made by linnet's fd: it is gone with the runtime.
    assert!(!Path::new(&format!("/sys/class/net/{name}")).exists());
}

#[test]
fn tun_linux_and_linnet_ping_each_other() {
    if !kernel_ready("tun_linux_and_linnet_ping_each_other") {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let name = unique("lnu");
    let mut cleanup = Cleanup::default();
    let tun = TunDevice::tun(&name).unwrap();
    cleanup.on_drop(&["link", "del", &name]);
    disable_ipv6(&name);
    ip(&["addr", "add", "10.97.0.1/24", "dev", &name]);
    tun.set_kernel_up(true).unwrap();
    let flags = linnet::sys::ifreq::if_flags(&name).unwrap();
    assert_ne!(flags & linnet::sys::ifreq::IFF_UP, 0);
    let (rt, _) = host(tun, "10.97.0.2/24");

    linux_pings(None, "10.97.0.2");
    linnet_pings(&rt, Ipv4Addr::new(10, 97, 0, 1));
    let k = std::net::UdpSocket::bind("10.97.0.1:0").unwrap();
    udp_both_ways(&rt, &k, Ipv4Addr::new(10, 97, 0, 2), 5001);
    rt.shutdown().unwrap();
}

#[test]
fn af_packet_on_veth_linux_namespace_and_linnet_ping_and_exchange_udp() {
    let test = "af_packet_on_veth_linux_namespace_and_linnet_ping_and_exchange_udp";
    if !kernel_ready(test) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let ns = format!("linnet-{}", unique("ns"));
    let outer = unique("lnv");
    let inner = format!("{outer}p");
    let mut cleanup = Cleanup::default();
    ip(&["netns", "add", &ns]);
    cleanup.on_drop(&["netns", "del", &ns]);
    ip(&[
        "link", "add", &outer, "type", "veth", "peer", "name", &inner,
    ]);
    cleanup.on_drop(&["link", "del", &outer]);
    ip(&["link", "set", &inner, "netns", &ns]);
    ip(&["-n", &ns, "addr", "add", "10.98.0.1/24", "dev", &inner]);
    ip(&["-n", &ns, "link", "set", &inner, "up"]);
    ip(&["-n", &ns, "link", "set", "lo", "up"]);
    disable_ipv6(&outer);
    ip(&["link", "set", &outer, "up"]);

    // linnet's own MAC, not the veth's: the root namespace's stack then ignores our frames.
    let mac = EthernetAddress([0x02, 0x6c, 0x6e, 0x98, 0x00, 0x02]);
    let dev = PacketDevice::open_with_mac(&outer, mac).unwrap();
    assert!(dev.ifindex() > 1);
    let (rt, idx) = host(dev, "10.98.0.2/24");

    linux_pings(Some(&ns), "10.98.0.2");
    linnet_pings(&rt, Ipv4Addr::new(10, 98, 0, 1));

    // A kernel UDP socket inside the namespace: made by a thread that entered it.
    let ns_path = format!("/run/netns/{ns}");
    let kernel = std::thread::scope(|s| {
        s.spawn(|| -> io::Result<std::net::UdpSocket> {
            let f = std::fs::File::open(&ns_path)?;
            nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)?;
            std::net::UdpSocket::bind("10.98.0.1:0")
        })
        .join()
        .unwrap()
    })
    .unwrap();
    udp_both_ways(&rt, &kernel, Ipv4Addr::new(10, 98, 0, 2), 6000);

    let neigh = ip_output(&["-n", &ns, "neigh", "show", "10.98.0.2"]);
    assert!(neigh.contains(&mac.to_string()), "ip neigh: {neigh}");
    let stats = rt.handle().driver_stats(idx).unwrap();
    assert!(stats.rx_frames >= 6 && stats.tx_frames >= 6, "{stats:?}");
    assert_eq!(stats.tx_errors, 0);
    rt.shutdown().unwrap();
}

#[test]
fn af_packet_refuses_missing_interface() {
    if !kernel_ready("af_packet_refuses_missing_interface") {
        return;
    }
    let e = PacketDevice::open("nosuchlnv0").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ENODEV));
}

/// 20 MB of deterministic bytes.
const TCP_BULK: usize = 20 << 20;

fn bulk_pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.extend_from_slice(&x.to_le_bytes());
    }
    v.truncate(len);
    v
}

fn digest(b: &[u8]) -> [u8; 8] {
    use std::hash::Hasher;
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write(b);
    h.finish().to_be_bytes()
}

/// Reads `s` to its end and answers with the digest of what came: the peer's write side
/// is shut, ours still works (half-close).
fn digest_and_answer(mut r: impl io::Read, mut w: impl io::Write) -> usize {
    let mut v = Vec::new();
    r.read_to_end(&mut v).unwrap();
    w.write_all(&digest(&v)).unwrap();
    v.len()
}

#[test]
fn tap_tcp_with_the_kernel_both_ways_refused_and_half_closed() {
    use std::io::{Read, Write};
    use std::net::Shutdown;
    let test = "tap_tcp_with_the_kernel_both_ways_refused_and_half_closed";
    if !kernel_ready(test) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let name = unique("lnc");
    let mut cleanup = Cleanup::default();
    let tap = TunDevice::tap(&name).unwrap();
    cleanup.on_drop(&["link", "del", &name]);
    disable_ipv6(&name);
    ip(&["addr", "add", "10.96.0.1/24", "dev", &name]);
    ip(&["link", "set", &name, "up"]);
    let (rt, _) = host(tap, "10.96.0.2/24");
    let (kernel_ip, linnet_ip) = (Ipv4Addr::new(10, 96, 0, 1), Ipv4Addr::new(10, 96, 0, 2));
    let long = Some(Duration::from_secs(15));
    let data = bulk_pattern(TCP_BULK, 42);
    let want = digest(&data);

    // Linux client -> linnet server; Linux shuts down writing, linnet reads EOF and answers.
    let l = linnet::TcpListener::bind(rt.handle(), sa(linnet_ip, 7000)).unwrap();
    let server = std::thread::spawn(move || {
        let (s, peer) = l.accept().unwrap();
        s.set_read_timeout(long).unwrap();
        s.set_write_timeout(long).unwrap();
        (digest_and_answer(&s, &s), peer)
    });
    let mut k = std::net::TcpStream::connect_timeout(&sa(linnet_ip, 7000), WAIT).unwrap();
    k.set_read_timeout(long).unwrap();
    k.set_write_timeout(long).unwrap();
    k.write_all(&data).unwrap();
    k.shutdown(Shutdown::Write).unwrap();
    let mut got = [0u8; 8];
    k.read_exact(&mut got).unwrap();
    let (n, peer) = server.join().unwrap();
    assert_eq!(n, TCP_BULK);
    assert_eq!(got, want, "Linux -> linnet digest");
    assert_eq!(peer, k.local_addr().unwrap());
    assert_eq!(
        k.read(&mut got).unwrap(),
        0,
        "linnet closed after answering"
    );

    // linnet client -> Linux server; linnet shuts down writing, Linux reads EOF and answers.
    let kl = std::net::TcpListener::bind(sa(kernel_ip, 0)).unwrap();
    let kaddr = kl.local_addr().unwrap();
    let server = std::thread::spawn(move || {
        let (s, _) = kl.accept().unwrap();
        s.set_read_timeout(long).unwrap();
        digest_and_answer(&s, &s)
    });
    let c = linnet::TcpStream::connect(rt.handle(), kaddr).unwrap();
    c.set_read_timeout(long).unwrap();
    c.set_write_timeout(long).unwrap();
    (&c).write_all(&data).unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let mut got = [0u8; 8];
    (&c).read_exact(&mut got).unwrap();
    assert_eq!(server.join().unwrap(), TCP_BULK);
    assert_eq!(got, want, "linnet -> Linux digest");
    assert_eq!(
        (&c).read(&mut got).unwrap(),
        0,
        "Linux closed after answering"
    );
    drop(c);

    // A closed linnet port: Linux gets ECONNREFUSED (linnet's RST).
    let e = std::net::TcpStream::connect_timeout(&sa(linnet_ip, 7999), WAIT).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED), "{e}");
    // A closed Linux port: linnet gets ECONNREFUSED (Linux's RST).
    let closed = std::net::TcpListener::bind(sa(kernel_ip, 0))
        .unwrap()
        .local_addr()
        .unwrap();
    let e = linnet::TcpStream::connect(rt.handle(), closed).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED), "{e}");
    rt.shutdown().unwrap();
}

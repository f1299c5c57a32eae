//! The `linnet daemon` binary and its tools against the real Linux kernel: a TAP whose kernel
//! side is a network namespace's, and an AF_PACKET socket on a veth between two namespaces,
//! with the kernel's stack, iputils `ping`, `ip neigh` and kernel UDP sockets as the peer.
//!
//! Linux: drivers/net/tun.c, drivers/net/veth.c, net/packet/af_packet.c, net/ipv4/icmp.c,
//! net/ipv4/udp.c (`__udp4_lib_err`: ECONNREFUSED on a connected socket), net/ipv4/arp.c.
//! RFCs: RFC 792, RFC 768, RFC 826.
//!
//! Needs root (CAP_NET_ADMIN, CAP_NET_RAW, CAP_SYS_ADMIN for namespaces), /dev/net/tun, `ip`
//! (iproute2) and `ping` (iputils). Without them each test prints why and passes, except
//! when `CI=true`: then it fails. Everything happens inside namespaces the test makes (the
//! daemon itself runs in one), so the host's interfaces and routes are never touched; names
//! carry the process id and a counter; a guard deletes the namespaces (and with them every
//! interface in them) on drop, also on failure; the tests run one at a time.

mod common;

#[path = "../../linnet/tests/support/kernel_env.rs"]
mod kernel_env;

use std::io;
use std::net::{SocketAddr, UdpSocket};
use std::os::fd::AsFd;
use std::process::{Command, Output};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use common::{nc_listener, texts, Daemon};
use nix::sys::signal::Signal;

static SERIAL: Mutex<()> = Mutex::new(());
static COUNTER: AtomicU32 = AtomicU32::new(0);
const WAIT: Duration = Duration::from_secs(3);

/// `prefix` + pid + counter: at most 15 bytes for prefixes of 3.
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

/// `ip ARGS`, which must succeed.
fn ip(args: &[&str]) {
    let out = run("ip", args);
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Network namespaces deleted (with their interfaces) on drop.
#[derive(Default)]
struct Namespaces(Vec<String>);

impl Namespaces {
    /// A new namespace with `lo` up and IPv6 off (no router solicitations, no DAD noise).
    fn add(&mut self, prefix: &str) -> String {
        let ns = format!("linnet-{}", unique(prefix));
        ip(&["netns", "add", &ns]);
        self.0.push(ns.clone());
        ip(&["-n", &ns, "link", "set", "lo", "up"]);
        let out = run(
            "ip",
            &[
                "netns",
                "exec",
                &ns,
                "sh",
                "-c",
                "echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6; \
                 echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6",
            ],
        );
        assert!(out.status.success(), "{:?}", out);
        ns
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for ns in self.0.iter().rev() {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

/// A kernel UDP socket inside namespace `ns`, bound to `addr` (made by a thread that
/// entered the namespace; the socket stays in it).
fn ns_socket(ns: &str, addr: &str) -> UdpSocket {
    let path = format!("/run/netns/{ns}");
    let addr = addr.to_string();
    std::thread::spawn(move || -> io::Result<UdpSocket> {
        let f = std::fs::File::open(&path)?;
        nix::sched::setns(f.as_fd(), nix::sched::CloneFlags::CLONE_NEWNET)?;
        UdpSocket::bind(&addr)
    })
    .join()
    .unwrap()
    .expect("kernel UDP socket in the namespace")
}

/// iputils `ping -c 3` inside `ns`; asserts every reply came.
fn linux_pings(ns: &str, dst: &str) {
    let out = run(
        "ip",
        &[
            "netns", "exec", ns, "ping", "-n", "-c", "3", "-i", "0.2", "-W", "2", dst,
        ],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("3 packets transmitted, 3 received"),
        "Linux ping {dst} failed:\n{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `linnet ping -c 3` of the kernel: exit 0 and iputils' summary.
fn linnet_pings(d: &Daemon, dst: &str) {
    let o = d.tool("ping", &["-c", "3", "-i", "0.2", dst], "");
    let (out, err) = texts(&o);
    assert_eq!(o.status.code(), Some(0), "linnet ping {dst}:\n{out}{err}");
    assert!(
        out.starts_with(&format!("PING {dst} ({dst}) 56(84) bytes of data.\n")),
        "{out}"
    );
    for seq in 1..=3 {
        assert!(
            out.contains(&format!("64 bytes from {dst}: icmp_seq={seq} ttl=64 time=")),
            "{out}"
        );
    }
    assert!(
        out.contains(&format!(
            "\n--- {dst} ping statistics ---\n3 packets transmitted, 3 received, 0% packet \
             loss, time "
        )),
        "{out}"
    );
    assert!(out.contains("\nrtt min/avg/max/mdev = "), "{out}");
}

fn mac_of(ns: &str, dev: &str) -> String {
    let out = run("ip", &["-n", ns, "-j", "link", "show", dev]);
    let j: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    j[0]["address"].as_str().unwrap().to_string()
}

#[test]
fn tap_daemon_and_the_kernel_ping_exchange_udp_and_learn_each_other() {
    let test = "tap_daemon_and_the_kernel_ping_exchange_udp_and_learn_each_other";
    if !kernel_env::kernel_ready(test, &[kernel_env::PING]) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let mut nss = Namespaces::default();
    let ns = nss.add("t");
    let tap = unique("lct");
    let dir = tempfile::tempdir().unwrap();
    let linnet_mac = "02:6c:6e:c9:00:02";
    let d = Daemon::start(
        &["ip", "netns", "exec", &ns],
        &dir.path().join("ctl.sock"),
        &[
            "--tap",
            &tap,
            "--mac",
            linnet_mac,
            "--addr",
            "10.201.0.2/24",
            "--kernel-addr",
            "10.201.0.1/24",
            "--route",
            "default via 10.201.0.1",
        ],
    );

    // Both sides ping each other.
    linux_pings(&ns, "10.201.0.2");
    linnet_pings(&d, "10.201.0.1");

    // ARP entries on both sides.
    let out = run(
        "ip",
        &["-n", &ns, "neigh", "show", "10.201.0.2", "dev", &tap],
    );
    let neigh = String::from_utf8_lossy(&out.stdout);
    assert!(
        neigh.contains(&format!("lladdr {linnet_mac}")),
        "ip neigh: {neigh}"
    );
    let kernel_mac = mac_of(&ns, &tap);
    let o = d.tool("ip", &["neigh", "show", "dev", &tap], "");
    let (out, _) = texts(&o);
    assert!(
        out.contains(&format!("10.201.0.1 lladdr {kernel_mac} ")),
        "linnet ip neigh: {out}"
    );
    let o = d.tool("ip", &["route"], "");
    assert!(
        texts(&o)
            .0
            .starts_with(&format!("default via 10.201.0.1 dev {tap} \n")),
        "{:?}",
        texts(&o)
    );

    // Linux -> `linnet nc -u -l`, and its answer back.
    let ctl = d.ctl.to_str().unwrap().to_string();
    let listener = nc_listener(
        &["--ctl", &ctl, "-u", "-l", "-p", "5000", "-w", "2"],
        "from linnet\n",
    );
    let k = ns_socket(&ns, "10.201.0.1:0");
    k.set_read_timeout(Some(WAIT)).unwrap();
    let to: SocketAddr = "10.201.0.2:5000".parse().unwrap();
    let mut buf = [0u8; 64];
    // The listener may not be bound yet: the first datagrams may meet a closed port.
    let mut answer = None;
    for _ in 0..30 {
        k.send_to(b"from linux\n", to).unwrap();
        k.set_read_timeout(Some(Duration::from_millis(100)))
            .unwrap();
        match k.recv_from(&mut buf) {
            Ok((n, from)) => {
                answer = Some((buf[..n].to_vec(), from));
                break;
            }
            Err(_) => continue,
        }
    }
    let (data, from) = answer.expect("linnet nc -l answers");
    assert_eq!((&data[..], from), (&b"from linnet\n"[..], to));
    let l = listener.wait_with_output().unwrap();
    assert!(
        String::from_utf8_lossy(&l.stdout).starts_with("from linux\n"),
        "{:?}",
        texts(&l)
    );

    // `linnet nc -u` -> Linux, and the kernel's answer back.
    let k = ns_socket(&ns, "10.201.0.1:6000");
    k.set_read_timeout(Some(WAIT)).unwrap();
    let reply = std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        let (n, from) = k.recv_from(&mut buf).expect("the kernel receives");
        k.send_to(b"from linux\n", from).unwrap();
        (buf[..n].to_vec(), from)
    });
    let o = d.tool(
        "nc",
        &["-u", "-w", "1", "10.201.0.1", "6000"],
        "hello linux\n",
    );
    let (out, err) = texts(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(out, "from linux\n");
    let (data, from) = reply.join().unwrap();
    assert_eq!(data, b"hello linux\n");
    assert_eq!(from.ip().to_string(), "10.201.0.2");

    // A Linux send to a closed linnet port: ECONNREFUSED on the next call.
    let c = ns_socket(&ns, "10.201.0.1:0");
    c.connect("10.201.0.2:5999").unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    c.send(b"closed?").unwrap();
    let e = c.recv(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED), "{e}");

    // SIGTERM: the socket goes, and the TAP linnet created with it.
    let ctl = d.ctl.clone();
    let (status, err) = d.stop(Signal::SIGTERM);
    assert!(status.success(), "{status}: {err}");
    assert!(!ctl.exists());
    let out = run("ip", &["-n", &ns, "link", "show", &tap]);
    assert!(!out.status.success(), "TAP {tap} still exists");
}

#[test]
fn af_packet_daemon_on_a_veth_is_a_host_the_namespace_can_ping() {
    let test = "af_packet_daemon_on_a_veth_is_a_host_the_namespace_can_ping";
    if !kernel_env::kernel_ready(test, &[kernel_env::PING]) {
        return;
    }
    let _serial = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let mut nss = Namespaces::default();
    let ns_linnet = nss.add("l");
    let ns_peer = nss.add("p");
    let veth = unique("lcv");
    let peer = format!("{veth}p");
    ip(&[
        "-n", &ns_linnet, "link", "add", &veth, "type", "veth", "peer", "name", &peer, "netns",
        &ns_peer,
    ]);
    ip(&["-n", &ns_linnet, "link", "set", &veth, "up"]);
    ip(&["-n", &ns_peer, "addr", "add", "10.202.0.1/24", "dev", &peer]);
    ip(&["-n", &ns_peer, "link", "set", &peer, "up"]);

    let dir = tempfile::tempdir().unwrap();
    let linnet_mac = "02:6c:6e:ca:00:02";
    let d = Daemon::start(
        &["ip", "netns", "exec", &ns_linnet],
        &dir.path().join("ctl.sock"),
        &[
            "--packet",
            &veth,
            "--mac",
            linnet_mac,
            "--addr",
            "10.202.0.2/24",
        ],
    );
    linux_pings(&ns_peer, "10.202.0.2");
    linnet_pings(&d, "10.202.0.1");
    let out = run("ip", &["-n", &ns_peer, "neigh", "show", "10.202.0.2"]);
    let neigh = String::from_utf8_lossy(&out.stdout);
    assert!(
        neigh.contains(&format!("lladdr {linnet_mac}")),
        "ip neigh: {neigh}"
    );
    let o = d.tool("ip", &["neigh"], "");
    let peer_mac = mac_of(&ns_peer, &peer);
    assert!(
        texts(&o)
            .0
            .contains(&format!("10.202.0.1 dev {veth} lladdr {peer_mac} ")),
        "{:?}",
        texts(&o)
    );
    let o = d.tool("ip", &["-s", "link", "show", &veth], "");
    assert!(
        texts(&o).0.contains(&format!("link/ether {linnet_mac} ")),
        "{:?}",
        texts(&o)
    );
    let o = d.tool("stat", &[], "");
    assert!(
        texts(&o).0.contains("        echo requests: 3\n"),
        "{:?}",
        texts(&o)
    );
    let (status, err) = d.stop(Signal::SIGTERM);
    assert!(status.success(), "{status}: {err}");
}

//! The `linnet` binary without root: the daemon on `lo` only, its refusals of bad flags and
//! files, its clean exit on SIGTERM and SIGINT, and the tools (`ip`, `ping`, `nc`, `stat`,
//! `ss`) as separate processes against it.
//!
//! Linux: iproute2, iputils ping and OpenBSD nc behaviour against a kernel (their output
//! and exit statuses), iproute2's `ss` output, a daemon's life under SIGTERM.
//! RFCs: RFC 768, RFC 792.

mod common;

use std::process::Stdio;
use std::time::Duration;

use common::{linnet, nc_listener, run, texts, Daemon};
use nix::sys::signal::Signal;

fn daemon(dir: &tempfile::TempDir, args: &[&str]) -> Daemon {
    Daemon::start(&[], &dir.path().join("ctl.sock"), args)
}

#[test]
fn sigterm_stops_the_daemon_cleanly_and_removes_its_socket() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&dir, &[]);
    let ctl = d.ctl.clone();
    assert!(ctl.exists());
    let (status, err) = d.stop(Signal::SIGTERM);
    assert!(status.success(), "{status}: {err}");
    assert!(!ctl.exists(), "socket removed");
    assert!(err.contains("shutting down signal=\"SIGTERM\""), "{err}");
    // SIGINT too, with a tool connected at the time.
    let d = daemon(&dir, &["--log", "warn"]);
    let nc = linnet()
        .args([
            "nc",
            "--ctl",
            ctl.to_str().unwrap(),
            "-u",
            "-l",
            "-p",
            "4000",
        ])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(200));
    let (status, err) = d.stop(Signal::SIGINT);
    assert!(status.success(), "{status}: {err}");
    assert!(!ctl.exists());
    // The tool sees the daemon go and fails rather than hanging.
    let out = nc.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn bad_flags_and_files_are_refused_naming_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = dir.path().join("ctl.sock");
    let ctl = ctl.to_str().unwrap();
    let o = run(
        &[
            "daemon",
            "--ctl",
            ctl,
            "--tap",
            "t0",
            "--addr",
            "10.0.0.300/24",
        ],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        texts(&o).1,
        "linnet: --addr: invalid CIDR \"10.0.0.300/24\"\n"
    );
    let file = dir.path().join("bad.toml");
    std::fs::write(
        &file,
        "[[device]]\ntap = \"t0\"\naddr = [\"10.0.0.1/24\", \"10.0.0.300/24\"]\n",
    )
    .unwrap();
    let o = run(
        &["daemon", "--ctl", ctl, "--config", file.to_str().unwrap()],
        "",
    );
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        texts(&o).1,
        "linnet: config: device[0].addr[1]: invalid CIDR \"10.0.0.300/24\"\n"
    );
    // clap's refusals: exit 2, naming the flag.
    let o = run(&["daemon", "--ctl", ctl, "--seed", "many"], "");
    assert_eq!(o.status.code(), Some(2));
    assert!(texts(&o).1.contains("--seed"), "{}", texts(&o).1);
    // Nothing was left behind.
    assert!(!dir.path().join("ctl.sock").exists());
}

#[test]
fn a_second_daemon_on_the_same_socket_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&dir, &[]);
    let o = run(&["daemon", "--ctl", d.ctl.to_str().unwrap()], "");
    assert_eq!(o.status.code(), Some(1));
    assert!(
        texts(&o).1.contains("a daemon already listens on"),
        "{}",
        texts(&o).1
    );
    assert!(d.ctl.exists(), "the first daemon keeps its socket");
}

#[test]
fn ip_against_a_daemon_with_only_lo() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&dir, &["--addr", "lo=10.7.0.1/32", "--seed", "3"]);
    let o = d.tool("ip", &["addr"], "");
    assert!(o.status.success());
    assert_eq!(
        texts(&o).0,
        "1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default \
         qlen 1000\n    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00\n    inet \
         127.0.0.1/8 scope host lo\n       valid_lft forever preferred_lft forever\n    inet \
         10.7.0.1/32 scope global lo\n       valid_lft forever preferred_lft forever\n"
    );
    let o = d.tool("ip", &["route", "add", "10.8.0.0/16", "dev", "lo"], "");
    assert!(o.status.success(), "{:?}", texts(&o));
    let o = d.tool("ip", &["-j", "route"], "");
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j[0]["dst"], "10.8.0.0/16");
    let o = d.tool("ip", &["route", "add", "10.8.0.0/16", "dev", "lo"], "");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(texts(&o).1, "RTNETLINK answers: File exists\n");
    let o = d.tool("ip", &["link", "set", "eth0", "up"], "");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(texts(&o).1, "Cannot find device \"eth0\"\n");
    let o = d.tool("ip", &["addr", "frob"], "");
    assert_eq!(o.status.code(), Some(255));
    // LINNET_CTL instead of --ctl.
    let o = linnet()
        .args(["ip", "-j", "link"])
        .env("LINNET_CTL", &d.ctl)
        .output()
        .unwrap();
    assert!(o.status.success());
    let j: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(j[0]["ifname"], "lo");
}

#[test]
fn ping_nc_and_stat_over_loopback() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&dir, &[]);
    let o = d.tool("ping", &["-c", "2", "-i", "0.1", "127.0.0.1"], "");
    let (out, err) = texts(&o);
    assert_eq!(o.status.code(), Some(0), "{out}{err}");
    assert!(out.starts_with("PING 127.0.0.1 (127.0.0.1) 56(84) bytes of data.\n64 bytes from 127.0.0.1: icmp_seq=1 ttl=64 time="), "{out}");
    assert!(out.contains("\n--- 127.0.0.1 ping statistics ---\n2 packets transmitted, 2 received, 0% packet loss, time "), "{out}");
    // No route: iputils' message and status 2.
    let o = d.tool("ping", &["-c", "1", "192.0.2.1"], "");
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(texts(&o).1, "ping: connect: Network is unreachable\n");

    // nc -u -l and nc -u, two processes on the daemon's loopback.
    let ctl = d.ctl.to_str().unwrap().to_string();
    let listener = nc_listener(
        &["--ctl", &ctl, "-u", "-l", "127.0.0.1", "4500", "-w", "2"],
        "pong\n",
    );
    let o = d.tool("nc", &["-u", "-w", "1", "127.0.0.1", "4500"], "ping\n");
    let (out, err) = texts(&o);
    assert_eq!(o.status.code(), Some(0), "{err}");
    assert_eq!(out, "pong\n");
    let l = listener.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&l.stdout), "ping\n");

    let o = d.tool("stat", &[], "");
    let (out, _) = texts(&o);
    assert!(out.contains("    2 packets received\n"), "{out}");
    let o = d.tool("stat", &["--raw"], "");
    assert!(texts(&o).0.starts_with("Ip: Forwarding DefaultTTL"));
}

#[test]
fn tools_without_a_daemon_say_where_they_looked() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = dir.path().join("none.sock");
    let ctl = ctl.to_str().unwrap();
    for (tool, code) in [("ip", 1), ("stat", 1), ("ping", 2), ("nc", 1), ("ss", 1)] {
        let args: Vec<&str> = match tool {
            "ip" => vec![tool, "--ctl", ctl, "addr"],
            "ping" => vec![tool, "--ctl", ctl, "127.0.0.1"],
            "nc" => vec![tool, "--ctl", ctl, "-u", "127.0.0.1", "9"],
            _ => vec![tool, "--ctl", ctl],
        };
        let o = run(&args, "");
        assert_eq!(o.status.code(), Some(code), "{tool}");
        let err = texts(&o).1;
        assert!(
            err.contains(&format!("cannot reach the linnet daemon at {ctl}")),
            "{tool}: {err}"
        );
    }
}

/// Seed lab 3's listener (127.0.0.1:60000, backlog 5) and a connection to it, opened through
/// the daemon by another process, as `linnet ss` shows them: `-ltn` and `-tn` line for line
/// in iproute2's layout (Recv-Q 5 once the client's 5 bytes arrive unread), `-tin` with the
/// TCP_INFO line under each connection, `-uln` with a bound UDP socket; a bad flag is
/// refused with ss's message and status 255.
#[test]
fn ss_shows_a_listener_and_a_connection_opened_through_the_daemon() {
    use linnet::control::Client;
    use std::net::{Ipv4Addr, SocketAddrV4};

    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&dir, &[]);
    let mut c = Client::connect(&d.ctl).unwrap();
    let lo = |port| SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    let l = c.tcp_socket().unwrap();
    c.bind(l, lo(60000)).unwrap();
    c.listen(l, 5).unwrap();
    let s = c.tcp_socket().unwrap();
    c.connect_socket(s, lo(60000)).unwrap();
    let eph = c.local_addr(s).unwrap().port();
    let (_a, peer) = c.accept(l, Some(Duration::from_secs(5))).unwrap();
    assert_eq!(peer.port(), eph);
    assert_eq!(c.send_to(s, b"hello", None).unwrap(), 5);
    let u = c.udp_socket().unwrap();
    c.bind(u, lo(60001)).unwrap();

    let o = d.tool("ss", &["-ltn"], "");
    assert_eq!(o.status.code(), Some(0), "{:?}", texts(&o));
    assert_eq!(
        texts(&o).0,
        "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n\
         LISTEN 0      5          127.0.0.1:60000      0.0.0.0:*          \n"
    );
    // The 5 bytes cross the daemon's loopback on its own thread: wait for them.
    let expected = format!(
        "State Recv-Q Send-Q Local Address:Port  Peer Address:Port Process\n\
         ESTAB 0      0          127.0.0.1:{eph}    127.0.0.1:60000       \n\
         ESTAB 5      0          127.0.0.1:60000    127.0.0.1:{eph}       \n"
    );
    let mut out = String::new();
    for _ in 0..100 {
        out = texts(&d.tool("ss", &["-tn"], "")).0;
        if out == expected {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(out, expected);
    let o = d.tool("ss", &["-tin"], "");
    let out = texts(&o).0;
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 5, "{out}");
    assert!(
        lines[0].starts_with("State Recv-Q Send-Q Local Address:Port  Peer Address:Port Process")
    );
    assert!(
        lines[1].starts_with("ESTAB 0      0          127.0.0.1:"),
        "{out}"
    );
    for (i, dir) in [(2, "bytes_sent:5 bytes_acked:6"), (4, "bytes_received:5")] {
        let info = lines[i];
        assert!(info.starts_with("\t cubic wscale:"), "{info}");
        for field in [
            " rto:",
            " rtt:",
            " mss:",
            " cwnd:10",
            " segs_out:",
            " send ",
            dir,
        ] {
            assert!(info.contains(field), "{field} in {info}");
        }
    }
    let o = d.tool("ss", &["-uln"], "");
    assert_eq!(
        texts(&o).0,
        "State  Recv-Q Send-Q Local Address:Port  Peer Address:PortProcess\n\
         UNCONN 0      0          127.0.0.1:60001      0.0.0.0:*          \n"
    );
    // Raw sockets do not exist yet: the header alone.
    let o = d.tool("ss", &["-wn"], "");
    assert_eq!(
        texts(&o).0,
        "Recv-Q Send-Q Local Address:Port Peer Address:PortProcess\n"
    );
    let o = d.tool("ss", &["-tk"], "");
    assert_eq!(o.status.code(), Some(255));
    assert!(texts(&o)
        .1
        .starts_with("ss: invalid option -- 'k'\nUsage: ss [ OPTIONS ]\n"));
    assert!(texts(&o).0.is_empty());
}

#[test]
fn the_remote_doors_work_against_the_daemon_binary() {
    use linnet::kernel::*;
    use linnet::remote::{Remote, TcpListener, TcpStream, UdpSocket};
    use std::io::{Read, Write};
    use std::net::{Ipv4Addr, SocketAddrV4};

    let dir = tempfile::tempdir().unwrap();
    let d = daemon(&dir, &[]);
    let net = Remote::connect(&d.ctl).unwrap();
    let lo = |port| SocketAddrV4::new(Ipv4Addr::LOCALHOST, port);
    // Blocking, std-like: an echo over the daemon's loopback, a timeout.
    let l = TcpListener::bind(&net, lo(61000)).unwrap();
    let c = TcpStream::connect(&net, lo(61000)).unwrap();
    let (s, peer) = l.accept().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    (&c).write_all(b"over the control socket").unwrap();
    let mut buf = [0u8; 23];
    (&s).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"over the control socket");
    s.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    let e = (&s).read(&mut buf).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
    // Kernel-style: a kernel UDP socket of the daemon sends to a std-like one.
    let rcv = UdpSocket::bind(&net, lo(61001)).unwrap();
    let k = sock_create_kern(&net, PF_INET, SOCK_DGRAM, IPPROTO_UDP).unwrap();
    let to = SockaddrIn::from_v4(lo(61001));
    let msg = Msghdr {
        msg_name: Some(to),
        msg_namelen: SOCKADDR_IN_SIZE,
        ..Msghdr::default()
    };
    assert_eq!(kernel_sendmsg(&k, &msg, &[Kvec::new(b"kern")], 1, 4), Ok(4));
    let (n, _) = rcv.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"kern");
    // What the daemon holds, then nothing once dropped.
    assert_eq!(net.stats().unwrap().sockets, 5);
    drop((l, c, s, rcv, k));
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while net.stats().unwrap().sockets != 0 {
        assert!(std::time::Instant::now() < deadline);
        std::thread::sleep(Duration::from_millis(10));
    }
}

//! The tools (`ip`, `ping`, `nc`, `stat`) in-process against a control server: a "daemon"
//! runtime with its [`Server`], joined by an in-memory link to a peer runtime. Needs no root.
//!
//! Linux: the behaviour of iproute2, iputils ping and OpenBSD nc against a kernel, seen
//! through their output and exit statuses.
//! RFCs: RFC 768, RFC 792, RFC 826, RFC 9293.

use std::io::Cursor;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

use linnet::control::Server;
use linnet::core::{DeviceKind, Stack, StackConfig};
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::wire::EthernetAddress;
use linnet::{MemoryDevice, Runtime, TcpListener, TcpStream, UdpSocket};

use crate::ip::IpArgs;
use crate::nc::NcArgs;
use crate::ping::PingArgs;
use crate::stat::StatArgs;

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const B_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
const WAIT: Duration = Duration::from_secs(5);

struct Daemon {
    _server: Server,
    _a: Runtime,
    b: Runtime,
    ctl: PathBuf,
    _dir: tempfile::TempDir,
}

impl Daemon {
    fn new() -> Daemon {
        let (da, db) = MemoryDevice::pair(
            "veth0",
            DeviceKind::Ethernet {
                mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
            },
            "veth1",
            DeviceKind::Ethernet { mac: B_MAC },
        );
        let host = |dev, ip: Ipv4Addr, seed| {
            let mut cfg = StackConfig::default();
            // ARP gives up after 3 x 100 ms rather than 3 s.
            cfg.neigh.retrans_time = Duration::from_millis(100);
            let rt = Runtime::new(Stack::new(cfg, seed)).unwrap();
            let idx = rt.add_device(dev).unwrap();
            rt.with_stack(|s| {
                s.set_up(idx, true).unwrap();
                s.add_addr(idx, Ipv4Cidr::new(ip, 24).unwrap()).unwrap();
            });
            rt
        };
        let a = host(da, A_IP, 1);
        let b = host(db, B_IP, 2);
        let dir = tempfile::tempdir().unwrap();
        let ctl = dir.path().join("ctl.sock");
        let server = Server::bind(&ctl, a.handle().clone()).unwrap();
        Daemon {
            _server: server,
            _a: a,
            b,
            ctl,
            _dir: dir,
        }
    }

    /// `linnet ip ARGS`: (status, stdout, stderr).
    fn ip(&self, args: &str) -> (u8, String, String) {
        let a = IpArgs {
            ctl: Some(self.ctl.clone()),
            args: args.split_whitespace().map(String::from).collect(),
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = crate::ip::run(&a, &mut out, &mut err);
        (code, text(out), text(err))
    }

    fn ping(&self, args: &[&str]) -> (u8, String, String) {
        let mut argv = vec!["ping", "--ctl", self.ctl.to_str().unwrap()];
        argv.extend_from_slice(args);
        let a = <PingCli as clap::Parser>::parse_from(argv).args;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let code = crate::ping::run(&a, &mut out, &mut err, &AtomicBool::new(false));
        (code, text(out), text(err))
    }

    fn nc(&self, args: &[&str], input: &str) -> (u8, String, String) {
        let mut argv = vec!["nc", "--ctl", self.ctl.to_str().unwrap()];
        argv.extend_from_slice(args);
        let a = <NcCli as clap::Parser>::parse_from(argv).args;
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let input = Box::new(Cursor::new(input.as_bytes().to_vec()));
        let code = crate::nc::run(&a, input, &mut out, &mut err, &AtomicBool::new(false));
        (code, text(out), text(err))
    }
}

#[derive(clap::Parser)]
struct PingCli {
    #[command(flatten)]
    args: PingArgs,
}

#[derive(clap::Parser)]
struct NcCli {
    #[command(flatten)]
    args: NcArgs,
}

fn text(b: Vec<u8>) -> String {
    String::from_utf8(b).unwrap()
}

#[test]
fn ip_shows_and_changes_the_daemon_stack() {
    let d = Daemon::new();
    let (code, out, _) = d.ip("addr show dev veth0");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "2: veth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group \
         default qlen 1000\n    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff\n    inet \
         10.0.0.1/24 brd 10.0.0.255 scope global veth0\n       valid_lft forever \
         preferred_lft forever\n"
    );
    assert_eq!(d.ip("addr add 10.0.0.5/24 dev veth0").0, 0);
    assert_eq!(
        d.ip("addr add 10.0.0.5/24 dev veth0"),
        (2, String::new(), "RTNETLINK answers: File exists\n".into())
    );
    assert_eq!(
        d.ip("a a 10.0.0.6/24 dev veth9"),
        (1, String::new(), "Cannot find device \"veth9\"\n".into())
    );
    assert_eq!(d.ip("route add default via 10.0.0.2").0, 0);
    assert_eq!(d.ip("route add 192.168.7.0/24 dev veth0 metric 5").0, 0);
    let (code, out, _) = d.ip("route");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        "default via 10.0.0.2 dev veth0 \n10.0.0.0/24 dev veth0 proto kernel scope link src \
         10.0.0.1 \n192.168.7.0/24 dev veth0 scope link metric 5 \n",
        "iproute2 ends each field, the last one too, with a space"
    );
    assert_eq!(
        d.ip("route add 10.9.0.0/16 via 172.16.0.1"),
        (
            2,
            String::new(),
            "Error: Nexthop has invalid gateway.\n".into()
        )
    );
    assert_eq!(
        d.ip("route del 10.9.0.0/16"),
        (
            2,
            String::new(),
            "RTNETLINK answers: No such process\n".into()
        )
    );
    assert_eq!(d.ip("link set veth0 mtu 1400").0, 0);
    let (_, out, _) = d.ip("-j link show veth0");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j[0]["mtu"], 1400);
    assert_eq!(d.ip("addr flush dev veth0").0, 0);
    let (_, out, _) = d.ip("-j addr show veth0");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(j[0]["addr_info"], serde_json::json!([]));
    assert_eq!(
        d.ip("neigh del 10.0.0.77 dev veth0"),
        (
            2,
            String::new(),
            "RTNETLINK answers: No such file or directory\n".into()
        )
    );
}

#[test]
fn ping_prints_iputils_lines_and_the_arp_entry_appears() {
    let d = Daemon::new();
    let (code, out, err) = d.ping(&["-c", "3", "-i", "0.05", "10.0.0.2"]);
    assert_eq!(code, 0, "{out}{err}");
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "PING 10.0.0.2 (10.0.0.2) 56(84) bytes of data.");
    for (i, l) in lines[1..4].iter().enumerate() {
        let want = format!("64 bytes from 10.0.0.2: icmp_seq={} ttl=64 time=", i + 1);
        assert!(l.starts_with(&want) && l.ends_with(" ms"), "{l}");
    }
    assert_eq!(lines[4], "");
    assert_eq!(lines[5], "--- 10.0.0.2 ping statistics ---");
    assert!(
        lines[6].starts_with("3 packets transmitted, 3 received, 0% packet loss, time "),
        "{}",
        lines[6]
    );
    assert!(
        lines[7].starts_with("rtt min/avg/max/mdev = "),
        "{}",
        lines[7]
    );
    // linnet learned the peer's MAC.
    // Under a dev filter iproute2 leaves the device out.
    let (_, out, _) = d.ip("neigh show dev veth0");
    assert!(
        out.starts_with("10.0.0.2 lladdr 02:00:00:00:00:02 "),
        "{out}"
    );
    let (_, out, _) = d.ip("neigh show");
    assert!(
        out.contains("10.0.0.2 dev veth0 lladdr 02:00:00:00:00:02 "),
        "{out}"
    );
}

#[test]
fn ping_of_an_absent_host_reports_unreachable_and_exits_1() {
    let d = Daemon::new();
    let (code, out, _) = d.ping(&["-c", "2", "-i", "0.05", "10.0.0.9"]);
    assert_eq!(code, 1, "{out}");
    assert!(
        out.contains("From 10.0.0.1 icmp_seq=1 Destination Host Unreachable\n"),
        "{out}"
    );
    assert!(
        out.contains("2 packets transmitted, 0 received, +2 errors, 100% packet loss"),
        "{out}"
    );
    assert!(out.ends_with("pipe 2\n"), "{out}");
}

#[test]
fn ping_without_answers_waits_w_seconds_and_exits_1() {
    let d = Daemon::new();
    d.b.with_stack(|s| s.config_mut().icmp_echo_ignore_all = true);
    let (code, out, _) = d.ping(&["-c", "1", "-W", "0.2", "-s", "8", "10.0.0.2"]);
    assert_eq!(code, 1);
    assert!(out.starts_with("PING 10.0.0.2 (10.0.0.2) 8(36) bytes of data.\n"));
    assert!(
        out.contains("1 packets transmitted, 0 received, 100% packet loss, time "),
        "{out}"
    );
    assert!(
        out.ends_with("ms\n\n"),
        "iputils ends with an empty line: {out:?}"
    );
    let (code, _, err) = d.ping(&["-c", "1", "nowhere.example"]);
    assert_eq!(code, 2);
    assert_eq!(err, "ping: nowhere.example: Name or service not known\n");
}

#[test]
fn nc_udp_client_sends_lines_and_prints_replies() {
    let d = Daemon::new();
    let peer = UdpSocket::bind(d.b.handle(), (B_IP, 7000)).unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    let echo = std::thread::spawn(move || {
        let mut buf = [0u8; 100];
        let mut got = Vec::new();
        for _ in 0..2 {
            let (n, from) = peer.recv_from(&mut buf).unwrap();
            got.push(String::from_utf8_lossy(&buf[..n]).into_owned());
            peer.send_to(b"back\n", from).unwrap();
        }
        got
    });
    let (code, out, err) = d.nc(&["-u", "-w", "1", "10.0.0.2", "7000"], "hello\nworld\n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "back\nback\n");
    assert_eq!(echo.join().unwrap(), ["hello\n", "world\n"]);
}

#[test]
fn nc_udp_listener_prints_datagrams_and_answers_the_first_sender() {
    let d = Daemon::new();
    let peer = UdpSocket::bind(d.b.handle(), (B_IP, 7001)).unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    let talk = std::thread::spawn(move || {
        // Wait for the listener to be bound, then talk to it.
        let mut buf = [0u8; 100];
        for _ in 0..100 {
            peer.send_to(b"hi\n", SocketAddr::from((A_IP, 5000)))
                .unwrap();
            peer.set_read_timeout(Some(Duration::from_millis(50)))
                .unwrap();
            if let Ok((n, _)) = peer.recv_from(&mut buf) {
                return String::from_utf8_lossy(&buf[..n]).into_owned();
            }
        }
        panic!("no answer from nc -l");
    });
    let (code, out, err) = d.nc(&["-u", "-l", "-p", "5000", "-w", "1"], "answer\n");
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("hi\n"), "{out}");
    assert_eq!(talk.join().unwrap(), "answer\n");
}

#[test]
fn nc_to_a_closed_port_fails_with_connection_refused() {
    let d = Daemon::new();
    let (code, _, err) = d.nc(&["-u", "-w", "2", "10.0.0.2", "9"], "anyone?\n");
    assert_eq!(code, 1);
    assert!(err.ends_with("Connection refused\n"), "{err}");
    let (code, _, err) = d.nc(&["10.0.0.2", "9"], "");
    assert_eq!(code, 1);
    assert_eq!(
        err,
        "nc: connect to 10.0.0.2 port 9 (tcp) failed: Connection refused\n"
    );
}

#[test]
fn nc_tcp_client_sends_stdin_and_prints_the_answer() {
    use std::io::{Read, Write};
    let d = Daemon::new();
    // -N: the end of input is a FIN, so a peer reading to the end can answer.
    let l = TcpListener::bind(d.b.handle(), (B_IP, 5100)).unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut v = Vec::new();
        s.read_to_end(&mut v).unwrap();
        s.write_all(b"got: ").unwrap();
        s.write_all(&v).unwrap();
    });
    let (code, out, err) = d.nc(&["-N", "10.0.0.2", "5100"], "hello\n");
    assert_eq!((code, err.as_str()), (0, ""));
    assert_eq!(out, "got: hello\n");
    peer.join().unwrap();
    // Without -N nc keeps the connection open after its input ends, until the peer closes.
    let l = TcpListener::bind(d.b.handle(), (B_IP, 5101)).unwrap();
    let peer = std::thread::spawn(move || {
        let (mut s, _) = l.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [0u8; 3];
        s.read_exact(&mut buf).unwrap();
        assert_eq!(&buf, b"ab\n");
        std::thread::sleep(Duration::from_millis(100));
        s.write_all(b"bye\n").unwrap();
    });
    let (code, out, err) = d.nc(&["-v", "10.0.0.2", "5101"], "ab\n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "bye\n");
    assert_eq!(err, "Connection to 10.0.0.2 5101 port [tcp/*] succeeded!\n");
    peer.join().unwrap();
}

#[test]
fn nc_tcp_listen_serves_one_connection() {
    use std::io::{Read, Write};
    let d = Daemon::new();
    let b = d.b.handle().clone();
    let talk = std::thread::spawn(move || {
        let deadline = std::time::Instant::now() + WAIT;
        let mut s = loop {
            match TcpStream::connect(&b, (A_IP, 5200)) {
                Ok(s) => break s,
                Err(e) if std::time::Instant::now() < deadline => {
                    assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED));
                    std::thread::sleep(Duration::from_millis(20));
                }
                Err(e) => panic!("nc -l never listened: {e}"),
            }
        };
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.write_all(b"hi\n").unwrap();
        let mut buf = [0u8; 7];
        s.read_exact(&mut buf).unwrap();
        buf
    });
    let (code, out, err) = d.nc(&["-l", "-p", "5200"], "answer\n");
    assert_eq!(code, 0, "{err}");
    assert_eq!(out, "hi\n");
    assert_eq!(&talk.join().unwrap(), b"answer\n");
}

#[test]
fn stat_prints_netstat_and_proc_layouts() {
    let d = Daemon::new();
    d.ping(&["-c", "1", "10.0.0.2"]);
    let run = |raw| {
        let a = StatArgs {
            ctl: Some(d.ctl.clone()),
            raw,
        };
        let (mut out, mut err) = (Vec::new(), Vec::new());
        (crate::stat::run(&a, &mut out, &mut err), text(out))
    };
    let (code, out) = run(false);
    assert_eq!(code, 0);
    assert!(out.starts_with("Ip:\n    Forwarding: 2\n"), "{out}");
    assert!(out.contains("        echo replies: 1\n"), "{out}");
    let (code, out) = run(true);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("Ip: Forwarding DefaultTTL InReceives"),
        "{out}"
    );
    assert!(out.contains("\nUdp: InDatagrams NoPorts"), "{out}");
    assert!(
        out.contains("\nTcp: RtoAlgorithm RtoMin RtoMax MaxConn"),
        "{out}"
    );
    assert!(out.contains("\nTcpExt: SyncookiesSent"), "{out}");
}

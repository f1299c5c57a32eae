//! Runtimes joined by in-memory devices: UDP and ping across threads, errno mapping, pcap
//! recording and clean shutdown. Needs no root.
//!
//! Linux: the behaviour of two hosts on a veth pair (drivers/net/veth.c), seen through the
//! socket calls of net/socket.c.
//! RFCs: RFC 768, RFC 792, RFC 826.

use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use linnet::core::{DeviceKind, IfIndex, PingEvent, Stack, StackConfig};
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::wire::EthernetAddress;
use linnet::{ping, Device, MemoryDevice, PcapTap, Runtime, UdpSocket};

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const A_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 1]);
const B_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);
/// Generous: only reached when something is broken.
const WAIT: Duration = Duration::from_secs(5);

fn eth_pair() -> (MemoryDevice, MemoryDevice) {
    MemoryDevice::pair(
        "veth0",
        DeviceKind::Ethernet { mac: A_MAC },
        "veth1",
        DeviceKind::Ethernet { mac: B_MAC },
    )
}

/// A runtime with `dev` up and `ip/24` on it.
fn host(dev: impl Device + 'static, ip: Ipv4Addr, seed: u64) -> (Runtime, IfIndex) {
    let rt = Runtime::new(Stack::new(StackConfig::default(), seed)).unwrap();
    let idx = rt.add_device(dev).unwrap();
    rt.with_stack(|s| {
        s.set_up(idx, true).unwrap();
        s.add_addr(
            idx,
            Ipv4Cidr {
                address: ip,
                prefix_len: 24,
            },
        )
        .unwrap();
    });
    (rt, idx)
}

fn two_hosts() -> (Runtime, Runtime) {
    let (a, b) = eth_pair();
    let (ra, _) = host(a, A_IP, 1);
    let (rb, _) = host(b, B_IP, 2);
    (ra, rb)
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

#[test]
fn udp_echo_across_memory_pair_between_threads() {
    let (ra, rb) = two_hosts();
    let server = UdpSocket::bind(rb.handle(), sa(B_IP, 7)).unwrap();
    let echo = thread::spawn(move || {
        server.set_read_timeout(Some(WAIT)).unwrap();
        let mut buf = [0u8; 2048];
        for _ in 0..3 {
            let (n, from) = server.recv_from(&mut buf).unwrap();
            server.send_to(&buf[..n], from).unwrap();
        }
    });
    let client = UdpSocket::bind(ra.handle(), sa(A_IP, 0)).unwrap();
    client.set_read_timeout(Some(WAIT)).unwrap();
    let local = client.local_addr().unwrap();
    assert_eq!(local.ip(), A_IP);
    assert_ne!(local.port(), 0);
    let mut buf = [0u8; 2048];
    for i in 0..3u8 {
        let msg = [b'x', i];
        assert_eq!(client.send_to(&msg, sa(B_IP, 7)).unwrap(), 2);
        let (n, from) = client.recv_from(&mut buf).unwrap();
        assert_eq!(&buf[..n], &msg);
        assert_eq!(from, sa(B_IP, 7));
    }
    echo.join().unwrap();
    ra.shutdown().unwrap();
    rb.shutdown().unwrap();
}

#[test]
fn ping_across_memory_pair_both_ways() {
    let (ra, rb) = two_hosts();
    for seq in 1..=3 {
        let r = ping(ra.handle(), B_IP, 0x1234, seq, None, b"abcdefgh", WAIT).unwrap();
        match r.event {
            PingEvent::Reply {
                from,
                ident,
                seq: s,
                len,
                ttl,
            } => {
                assert_eq!((from, ident, s, len, ttl), (B_IP, 0x1234, seq, 8, 64));
            }
            e => panic!("expected an echo reply, got {e:?}"),
        }
        assert!(r.rtt < WAIT);
    }
    let r = ping(rb.handle(), A_IP, 7, 1, Some(9), &[0; 56], WAIT).unwrap();
    assert!(r.is_echo_reply());
    // Both learned each other by ARP.
    let learned = rb.handle().inspect(|s| {
        s.arp_table()
            .iter()
            .any(|(_, ip, n)| ip == A_IP && n.ha == Some(A_MAC))
    });
    assert!(learned, "B has no ARP entry for A");
}

#[test]
fn ip_kind_memory_pair_carries_ping_without_arp() {
    let (a, b) = MemoryDevice::pair("tun0", DeviceKind::Ip, "tun1", DeviceKind::Ip);
    let (ra, _) = host(a, A_IP, 3);
    let (_rb, _) = host(b, B_IP, 4);
    let r = ping(ra.handle(), B_IP, 1, 1, None, b"tun", WAIT).unwrap();
    assert!(r.is_echo_reply());
}

#[test]
fn udp_over_loopback_within_one_runtime() {
    let rt = Runtime::new(Stack::new(StackConfig::default(), 5)).unwrap();
    let rx = UdpSocket::bind(rt.handle(), sa(Ipv4Addr::LOCALHOST, 9000)).unwrap();
    let tx = UdpSocket::unbound(rt.handle()).unwrap();
    tx.connect(sa(Ipv4Addr::LOCALHOST, 9000)).unwrap();
    let waiter = thread::spawn(move || {
        let mut buf = [0u8; 16];
        rx.set_read_timeout(Some(WAIT)).unwrap();
        let n = rx.recv(&mut buf).unwrap();
        buf[..n].to_vec()
    });
    tx.send(b"lo").unwrap();
    assert_eq!(waiter.join().unwrap(), b"lo");
}

#[test]
fn udp_receive_timeout_and_nonblocking_are_eagain() {
    let rt = Runtime::new(Stack::new(StackConfig::default(), 6)).unwrap();
    let s = UdpSocket::bind(rt.handle(), sa(Ipv4Addr::LOCALHOST, 9001)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
    let mut buf = [0u8; 8];
    let e = s.recv_from(&mut buf).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
    s.set_nonblocking(true).unwrap();
    assert_eq!(
        s.recv(&mut buf).unwrap_err().raw_os_error(),
        Some(libc::EAGAIN)
    );
    assert_eq!(
        s.set_read_timeout(Some(Duration::ZERO))
            .unwrap_err()
            .raw_os_error(),
        Some(22)
    );
    // SO_SNDTIMEO is kept and reported; zero is EINVAL as for the receive side.
    s.set_write_timeout(Some(Duration::from_millis(40)))
        .unwrap();
    assert_eq!(s.write_timeout().unwrap(), Some(Duration::from_millis(40)));
    assert_eq!(
        s.set_write_timeout(Some(Duration::ZERO))
            .unwrap_err()
            .raw_os_error(),
        Some(libc::EINVAL)
    );
    // A clone is the same socket with the same file flags (non-blocking here), and the
    // socket outlives the first handle.
    let c = s.try_clone().unwrap();
    assert_eq!(c.local_addr().unwrap(), s.local_addr().unwrap());
    assert_eq!(
        c.recv(&mut buf).unwrap_err().raw_os_error(),
        Some(libc::EAGAIN)
    );
    drop(s);
    let tx = UdpSocket::bind(rt.handle(), sa(Ipv4Addr::LOCALHOST, 0)).unwrap();
    tx.send_to(b"still", sa(Ipv4Addr::LOCALHOST, 9001)).unwrap();
    c.set_nonblocking(false).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    let (n, from) = c.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"still");
    assert_eq!(from, tx.local_addr().unwrap());
    drop(c);
    assert_eq!(rt.with_stack(|s| s.udp_socket_count()), 1);
}

#[test]
fn udp_errors_carry_linux_errno() {
    let (a, _b) = eth_pair();
    let (rt, _) = host(a, A_IP, 7);
    let h = rt.handle();
    let s = UdpSocket::bind(h, sa(A_IP, 4000)).unwrap();
    let errno = |r: io::Result<usize>| r.unwrap_err().raw_os_error();
    assert_eq!(
        errno(s.send_to(b"x", sa(Ipv4Addr::new(192, 0, 2, 9), 9))),
        Some(libc::ENETUNREACH)
    );
    assert_eq!(errno(s.send(b"x")), Some(libc::EDESTADDRREQ));
    assert_eq!(errno(s.send_to(b"x", sa(B_IP, 0))), Some(libc::EINVAL));
    assert_eq!(
        errno(s.send_to(b"x", sa(Ipv4Addr::new(10, 0, 0, 255), 9))),
        Some(libc::EACCES)
    );
    s.set_broadcast(true).unwrap();
    assert_eq!(
        s.send_to(b"x", sa(Ipv4Addr::new(10, 0, 0, 255), 9))
            .unwrap(),
        1
    );
    let big = vec![0u8; 65_508];
    assert_eq!(errno(s.send_to(&big, sa(B_IP, 9))), Some(libc::EMSGSIZE));
    let e = UdpSocket::bind(h, sa(A_IP, 4000)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EADDRINUSE));
    assert_eq!(e.kind(), io::ErrorKind::AddrInUse);
    let e = UdpSocket::bind(h, sa(Ipv4Addr::new(10, 9, 9, 9), 1)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EADDRNOTAVAIL));
    let v6: SocketAddr = "[::1]:5".parse().unwrap();
    assert_eq!(
        UdpSocket::bind(h, v6).unwrap_err().raw_os_error(),
        Some(libc::EAFNOSUPPORT)
    );
}

#[test]
fn connected_udp_to_closed_port_gets_econnrefused_on_next_call() {
    let (ra, _rb) = two_hosts();
    let s = UdpSocket::bind(ra.handle(), sa(A_IP, 0)).unwrap();
    s.connect(sa(B_IP, 9999)).unwrap();
    s.send(b"anyone?").unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 16];
    let e = s.recv(&mut buf).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED));
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
}

#[test]
fn ping_to_unresolvable_neighbour_times_out() {
    let (a, _b) = eth_pair();
    let (rt, _) = host(a, A_IP, 8);
    // Nobody answers ARP for .3 (the peer end is not driven by any runtime).
    let e = ping(
        rt.handle(),
        Ipv4Addr::new(10, 0, 0, 3),
        1,
        1,
        None,
        b"",
        Duration::from_millis(50),
    )
    .unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::TimedOut);
    assert_eq!(e.raw_os_error(), Some(libc::ETIMEDOUT));
}

#[test]
fn shutdown_joins_the_loop_and_wakes_blocked_receivers() {
    let (ra, rb) = two_hosts();
    let sock = Arc::new(UdpSocket::bind(rb.handle(), sa(B_IP, 53)).unwrap());
    let s2 = sock.clone();
    let blocked = thread::spawn(move || {
        let mut buf = [0u8; 8];
        s2.recv_from(&mut buf).unwrap_err()
    });
    // Correct in either order (a receiver that starts after the shutdown gets ENETDOWN too);
    // the pause only makes it likely that the wake-up of a blocked receiver is what runs.
    thread::sleep(Duration::from_millis(20));
    let handle = rb.handle().clone();
    rb.shutdown().unwrap();
    assert!(handle.is_shut_down());
    let e = blocked.join().unwrap();
    assert_eq!(e.raw_os_error(), Some(libc::ENETDOWN));
    // B's device was dropped with its loop: A's frames to it now fail at the device.
    let a_sock = UdpSocket::bind(ra.handle(), sa(A_IP, 0)).unwrap();
    let r = ping(
        ra.handle(),
        B_IP,
        3,
        3,
        None,
        b"",
        Duration::from_millis(50),
    );
    assert!(r.is_err());
    drop(a_sock);
    // Adding a device after shutdown is refused; the stack can still be read.
    let (x, _y) = eth_pair();
    assert_eq!(
        handle.add_device(x).unwrap_err().raw_os_error(),
        Some(libc::ENETDOWN)
    );
    assert!(handle.inspect(|s| s.device_by_name("veth1").is_some()));
    ra.shutdown().unwrap();
}

#[test]
fn dropping_the_runtime_stops_its_loop() {
    let rt = Runtime::new(Stack::new(StackConfig::default(), 9)).unwrap();
    let h = rt.handle().clone();
    assert!(!h.is_shut_down());
    drop(rt);
    assert!(h.is_shut_down());
    assert_eq!(
        h.wait_for(None, |_| None::<()>).unwrap_err(),
        linnet::WaitError::Shutdown
    );
}

#[test]
fn pcap_tap_records_received_and_sent_frames() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("a.pcap");
    let (a, b) = eth_pair();
    let (ra, ia) = host(PcapTap::create(a, &path).unwrap(), A_IP, 10);
    let (rb, _) = host(b, B_IP, 11);
    assert!(ping(ra.handle(), B_IP, 9, 1, None, b"pcap", WAIT)
        .unwrap()
        .is_echo_reply());
    let stats = ra.handle().driver_stats(ia).unwrap();
    assert!(stats.tx_frames >= 2 && stats.rx_frames >= 2, "{stats:?}");
    ra.shutdown().unwrap();
    rb.shutdown().unwrap();
    let file = std::fs::File::open(&path).unwrap();
    let mut reader = pcap_file::pcap::PcapReader::new(file).unwrap();
    assert_eq!(reader.header().datalink, pcap_file::DataLink::ETHERNET);
    let mut ethertypes = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        ethertypes.push(u16::from_be_bytes([p.data[12], p.data[13]]));
    }
    // ARP request out, ARP reply in, echo request out, echo reply in.
    assert_eq!(ethertypes, vec![0x0806, 0x0806, 0x0800, 0x0800]);
}

#[test]
fn add_device_refuses_a_taken_name_and_the_loopback_kind() {
    let rt = Runtime::new(Stack::new(StackConfig::default(), 12)).unwrap();
    let (a, b) = eth_pair();
    let idx = rt.add_device(a).unwrap();
    assert_eq!(idx, IfIndex(2), "lo is 1, the first device 2");
    let (dup, _) = MemoryDevice::pair("veth0", DeviceKind::Ip, "x", DeviceKind::Ip);
    assert_eq!(
        rt.add_device(dup).unwrap_err().raw_os_error(),
        Some(libc::EEXIST)
    );
    let (lo, _) = MemoryDevice::pair("lo2", DeviceKind::Loopback, "y", DeviceKind::Ip);
    assert_eq!(
        rt.add_device(lo).unwrap_err().raw_os_error(),
        Some(libc::EINVAL)
    );
    // A new device is down with no address, as after register_netdevice.
    let up = rt.handle().inspect(|s| s.device(idx).unwrap().is_up());
    assert!(!up);
    assert_eq!(rt.add_device(b).unwrap(), IfIndex(3));
}

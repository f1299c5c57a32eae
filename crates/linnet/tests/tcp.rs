//! Blocking TCP sockets across runtimes joined by an in-memory link: bulk transfers both
//! ways between threads, connection refused, half-close and timeouts. Needs no root.
//!
//! Linux: the behaviour of two hosts on a veth pair (drivers/net/veth.c) seen through the
//! socket calls of net/socket.c and net/ipv4/tcp.c.
//! RFCs: RFC 9293.

use std::hash::Hasher;
use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use linnet::core::{DeviceKind, Stack, StackConfig};
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::wire::EthernetAddress;
use linnet::{MemoryDevice, Runtime, TcpListener, TcpStream};

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Generous: only reached when something is broken.
const WAIT: Duration = Duration::from_secs(20);

fn two_hosts() -> (Runtime, Runtime) {
    let (a, b) = MemoryDevice::pair(
        "veth0",
        DeviceKind::Ethernet {
            mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
        },
        "veth1",
        DeviceKind::Ethernet {
            mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
        },
    );
    let host = |dev, ip, seed| {
        let rt = Runtime::new(Stack::new(StackConfig::default(), seed)).unwrap();
        let idx = rt.add_device(dev).unwrap();
        rt.with_stack(|s| {
            s.set_up(idx, true).unwrap();
            s.add_addr(idx, Ipv4Cidr::new(ip, 24).unwrap()).unwrap();
        });
        rt
    };
    (host(a, A_IP, 1), host(b, B_IP, 2))
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// Deterministic bytes: `len` of them from `seed`.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn hash(b: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write(b);
    h.finish()
}

/// Writes `data` in uneven chunks (partial writes allowed), then shuts down writing.
fn send_all(mut s: &TcpStream, data: &[u8]) {
    let mut off = 0;
    let mut chunk = 1000;
    while off < data.len() {
        let end = (off + chunk).min(data.len());
        let n = s.write(&data[off..end]).unwrap();
        assert!(n > 0);
        off += n;
        chunk = chunk * 3 % 70_000 + 1;
    }
    s.shutdown(Shutdown::Write).unwrap();
}

fn read_all(mut s: &TcpStream) -> Vec<u8> {
    let mut v = Vec::new();
    s.read_to_end(&mut v).unwrap();
    v
}

#[test]
fn one_megabyte_each_way_between_threads_arrives_intact() {
    let (ra, rb) = two_hosts();
    let listener = TcpListener::bind(rb.handle(), sa(B_IP, 5001)).unwrap();
    assert_eq!(listener.local_addr().unwrap(), sa(B_IP, 5001));
    let up = pattern(1 << 20, 7);
    let down = pattern(1 << 20, 9);
    let (up2, down2) = (up.clone(), down.clone());
    let server = thread::spawn(move || {
        let (s, peer) = listener.accept().unwrap();
        assert_eq!(peer.ip(), A_IP);
        assert_eq!(s.peer_addr().unwrap(), peer);
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.set_write_timeout(Some(WAIT)).unwrap();
        let s = Arc::new(s);
        let w = s.clone();
        let writer = thread::spawn(move || send_all(&w, &down2));
        let got = read_all(&s);
        writer.join().unwrap();
        assert_eq!(hash(&got), hash(&up2));
    });
    let c = TcpStream::connect(ra.handle(), sa(B_IP, 5001)).unwrap();
    assert_eq!(c.peer_addr().unwrap(), sa(B_IP, 5001));
    assert_eq!(c.local_addr().unwrap().ip(), A_IP);
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    c.set_read_timeout(Some(WAIT)).unwrap();
    c.set_write_timeout(Some(WAIT)).unwrap();
    let c = Arc::new(c);
    let w = c.clone();
    let writer = thread::spawn(move || send_all(&w, &up));
    let got = read_all(&c);
    writer.join().unwrap();
    assert_eq!(got.len(), down.len());
    assert_eq!(hash(&got), hash(&down));
    server.join().unwrap();
}

#[test]
fn connecting_to_a_closed_port_is_refused() {
    let (ra, _rb) = two_hosts();
    let e = TcpStream::connect(ra.handle(), sa(B_IP, 9)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED), "{e}");
    assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
    let e = TcpStream::connect(ra.handle(), "[::1]:9".parse::<SocketAddr>().unwrap()).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EAFNOSUPPORT));
}

#[test]
fn a_listener_port_in_use_and_timeouts_give_linux_errno() {
    let (_ra, rb) = two_hosts();
    let l = TcpListener::bind(rb.handle(), sa(B_IP, 6000)).unwrap();
    let e = TcpListener::bind(rb.handle(), sa(B_IP, 6000)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EADDRINUSE));
    let e = l
        .accept_timeout(Some(Duration::from_millis(30)))
        .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
    l.set_nonblocking(true).unwrap();
    let e = l.accept().unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
}

#[test]
fn half_close_lets_the_other_side_answer() {
    let (ra, rb) = two_hosts();
    let listener = TcpListener::bind(rb.handle(), sa(B_IP, 7)).unwrap();
    let server = thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut req = Vec::new();
        s.read_to_end(&mut req).unwrap();
        // The peer only shut down its writing side: we can still answer.
        s.write_all(&req).unwrap();
        s.write_all(b" back").unwrap();
    });
    let mut c = TcpStream::connect(ra.handle(), sa(B_IP, 7)).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    c.write_all(b"hello").unwrap();
    c.shutdown(Shutdown::Write).unwrap();
    let e = c.write(b"x").unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EPIPE));
    let mut got = String::new();
    c.read_to_string(&mut got).unwrap();
    assert_eq!(got, "hello back");
    server.join().unwrap();
    // End of stream stays end of stream.
    assert_eq!(c.read(&mut [0u8; 8]).unwrap(), 0);
}

#[test]
fn a_read_timeout_is_eagain_and_shutdown_wakes_readers_with_enetdown() {
    let (ra, rb) = two_hosts();
    let listener = TcpListener::bind(rb.handle(), sa(B_IP, 8)).unwrap();
    let c = TcpStream::connect(ra.handle(), sa(B_IP, 8)).unwrap();
    let (_s, _) = listener.accept().unwrap();
    c.set_read_timeout(Some(Duration::from_millis(30))).unwrap();
    let e = (&c).read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
    assert!(c.set_read_timeout(Some(Duration::ZERO)).is_err());
    c.set_read_timeout(None).unwrap();
    let reader = thread::spawn(move || (&c).read(&mut [0u8; 8]).unwrap_err());
    thread::sleep(Duration::from_millis(50));
    ra.shutdown().unwrap();
    let e = reader.join().unwrap();
    assert_eq!(e.raw_os_error(), Some(libc::ENETDOWN));
}

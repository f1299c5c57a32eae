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

use linnet::core::{DeviceKind, Stack, StackConfig, TcpState};
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

#[test]
fn try_clone_shares_the_socket_its_flags_and_closes_with_the_last_handle() {
    let (ra, rb) = two_hosts();
    let listener = TcpListener::bind(rb.handle(), sa(B_IP, 9000)).unwrap();
    let c = TcpStream::connect(ra.handle(), sa(B_IP, 9000)).unwrap();
    let (mut s, _) = listener.accept().unwrap();
    s.set_read_timeout(Some(WAIT)).unwrap();
    let c2 = c.try_clone().unwrap();
    assert_eq!(c2.socket_handle(), c.socket_handle());
    // One file description: the read timeout and O_NONBLOCK set on one apply to both.
    c.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    assert_eq!(c2.read_timeout().unwrap(), Some(Duration::from_millis(500)));
    c2.set_nonblocking(true).unwrap();
    let e = (&c).read(&mut [0u8; 4]).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
    c2.set_nonblocking(false).unwrap();
    // A reader thread on the clone, a writer here.
    let reader = thread::spawn(move || {
        let mut b = [0u8; 5];
        (&c2).read_exact(&mut b).unwrap();
        b
    });
    s.write_all(b"clone").unwrap();
    assert_eq!(&reader.join().unwrap(), b"clone");
    // The clone is gone but `c` still holds the socket: no FIN yet.
    (&c).write_all(b"!").unwrap();
    let mut one = [0u8; 1];
    s.read_exact(&mut one).unwrap();
    assert_eq!(&one, b"!");
    drop(c);
    assert_eq!(s.read(&mut one).unwrap(), 0);
    let l2 = listener.try_clone().unwrap();
    l2.set_nonblocking(true).unwrap();
    let e = listener.accept().unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN));
    assert!(listener.take_error().unwrap().is_none());
}

#[test]
fn a_write_timeout_on_a_full_send_buffer_is_eagain_and_a_nonblocking_write_would_block() {
    let (ra, rb) = two_hosts();
    let listener = TcpListener::bind(rb.handle(), sa(B_IP, 9001)).unwrap();
    let mut c = TcpStream::connect(ra.handle(), sa(B_IP, 9001)).unwrap();
    // The server never reads: its window and then our send buffer fill up.
    let (_s, _) = listener.accept().unwrap();
    c.set_write_timeout(Some(Duration::from_millis(30)))
        .unwrap();
    assert_eq!(c.write_timeout().unwrap(), Some(Duration::from_millis(30)));
    let chunk = vec![7u8; 64 * 1024];
    let mut total = 0usize;
    let e = loop {
        match c.write(&chunk) {
            Ok(n) => total += n,
            Err(e) => break e,
        }
        assert!(total < 64 << 20, "the send buffer never filled");
    };
    assert_eq!(e.raw_os_error(), Some(libc::EAGAIN), "{e}");
    assert!(total > 0);
    c.set_nonblocking(true).unwrap();
    let e = c.write(&chunk).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    assert!(c.set_write_timeout(Some(Duration::ZERO)).is_err());
}

#[test]
fn connect_timeout_gives_up_with_etimedout() {
    let (ra, _rb) = two_hosts();
    // Nobody has 10.0.0.3: the SYN waits on ARP, and the timeout ends the wait.
    let e = TcpStream::connect_timeout(
        ra.handle(),
        &sa(Ipv4Addr::new(10, 0, 0, 3), 80),
        Duration::from_millis(50),
    )
    .unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ETIMEDOUT), "{e}");
    let e = TcpStream::connect_timeout(ra.handle(), &sa(B_IP, 80), Duration::ZERO).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    // The abandoned socket is closed.
    assert_eq!(ra.with_stack(|s| s.tcp_socket_count()), 0);
}

#[test]
fn so_linger_makes_close_wait_until_the_fin_is_acknowledged_or_the_time_runs_out() {
    let (ra, rb) = two_hosts();
    let listener = TcpListener::bind(rb.handle(), sa(B_IP, 9002)).unwrap();
    let c = TcpStream::connect(ra.handle(), sa(B_IP, 9002)).unwrap();
    let (s, _) = listener.accept().unwrap();
    c.set_linger(Some(Duration::from_secs(5))).unwrap();
    assert_eq!(c.linger().unwrap(), Some(Duration::from_secs(5)));
    (&c).write_all(&[1u8; 30_000]).unwrap();
    let sh = s.socket_handle();
    let t = std::time::Instant::now();
    drop(c);
    assert!(
        t.elapsed() < Duration::from_secs(5),
        "the linger time ran out"
    );
    // The close returned only after our FIN was acknowledged: the peer has it already.
    assert_eq!(
        rb.with_stack(|st| st.tcp_state(sh)),
        Ok(TcpState::CloseWait)
    );
    let mut got = Vec::new();
    (&s).read_to_end(&mut got).unwrap();
    assert_eq!(got.len(), 30_000);

    // Nobody answers any more: the close waits for the linger time, then gives up.
    let listener = TcpListener::bind(rb.handle(), sa(B_IP, 9003)).unwrap();
    let c = TcpStream::connect(ra.handle(), sa(B_IP, 9003)).unwrap();
    let _accepted = listener.accept().unwrap();
    c.set_linger(Some(Duration::from_secs(1))).unwrap();
    rb.shutdown().unwrap();
    let t = std::time::Instant::now();
    drop(c);
    let waited = t.elapsed();
    assert!(waited >= Duration::from_secs(1), "{waited:?}");
    assert!(waited < WAIT, "{waited:?}");
    // The orphan lives on in the stack (FIN-WAIT-1, retransmitting its FIN).
    assert_eq!(ra.with_stack(|s| s.tcp_socket_count()), 2);
}

//! The three front doors through a daemon's control socket (`linnet::remote`): a runtime and
//! its control `Server` in this process on a temporary socket path, and every door's calls
//! made through the socket, compared with the in-process doors where they should agree.
//!
//! Linux: net/socket.c (the calls), net/ipv4/af_inet.c, net/ipv4/tcp.c, net/ipv4/udp.c.
//! RFCs: RFC 9293, RFC 768.
#![allow(clippy::duplicate_mod)]

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, Shutdown, SocketAddr, SocketAddrV4};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use linnet::control::{Limits, Server};
use linnet::core::{Stack, StackConfig};
use linnet::kernel::*;
use linnet::remote::{self, Remote};
use linnet::Runtime;

#[path = "support/lab_examples.rs"]
mod lab_examples;
use lab_examples::{lab3, lab4, lab5};

const LO: Ipv4Addr = Ipv4Addr::LOCALHOST;
const WAIT: Duration = Duration::from_secs(10);

/// A runtime with only `lo`, its control server, and a `Remote` on it.
struct Daemon {
    rt: Runtime,
    server: Server,
    remote: Remote,
    _dir: tempfile::TempDir,
    path: PathBuf,
}

fn daemon(seed: u64) -> Daemon {
    let rt = Runtime::new(Stack::new(StackConfig::default(), seed)).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ctl.sock");
    let limits = Limits {
        max_clients: 1024,
        ..Limits::default()
    };
    let server = Server::bind_with(&path, rt.handle().clone(), limits).unwrap();
    let remote = Remote::connect(&path).unwrap();
    Daemon {
        rt,
        server,
        remote,
        _dir: dir,
        path,
    }
}

impl Daemon {
    /// Waits until the server holds `sockets` sockets and the stack `stack` (its socket
    /// table: every socket made through the server is one there).
    fn settle(&self, sockets: u64) {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.server.stats().sockets;
            let t = self.rt.handle().inspect(|s| s.socket_count()) as u64;
            if s == sockets && t == sockets {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "server holds {s} sockets, the stack {t}; want {sockets}"
            );
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

fn lo(port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(LO, port))
}

fn errno(e: io::Error) -> i32 {
    e.raw_os_error().unwrap_or(-1)
}

#[test]
fn blocking_tcp_echoes_both_ways_and_times_out_with_eagain() {
    let d = daemon(1);
    let l = remote::TcpListener::bind(&d.remote, lo(7000)).unwrap();
    assert_eq!(l.local_addr().unwrap(), lo(7000));
    let c = remote::TcpStream::connect(&d.remote, lo(7000)).unwrap();
    let (s, peer) = l.accept().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    assert_eq!(c.peer_addr().unwrap(), lo(7000));
    assert_eq!(s.peer_addr().unwrap(), peer);

    // Client to server and back, more than one request's worth (MAX_IO) each way.
    let data: Vec<u8> = (0..600_000u32).map(|i| (i * 7 % 251) as u8).collect();
    std::thread::scope(|sc| {
        sc.spawn(|| {
            let mut buf = vec![0u8; data.len()];
            (&s).read_exact(&mut buf).unwrap();
            (&s).write_all(&buf).unwrap();
            s.shutdown(Shutdown::Write).unwrap();
        });
        (&c).write_all(&data).unwrap();
        let mut back = Vec::new();
        (&c).read_to_end(&mut back).unwrap();
        assert!(back == data, "echo differs");
    });

    // SO_RCVTIMEO: nothing comes, EAGAIN (WouldBlock) after the timeout.
    c.set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    assert_eq!(c.read_timeout().unwrap(), Some(Duration::from_millis(150)));
    let t0 = Instant::now();
    let c2 = remote::TcpStream::connect(&d.remote, lo(7000)).unwrap();
    let (s2, _) = l.accept().unwrap();
    c2.set_read_timeout(Some(Duration::from_millis(150)))
        .unwrap();
    let e = (&c2).read(&mut [0u8; 8]).unwrap_err();
    assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
    assert_eq!(errno(e), libc::EAGAIN);
    assert!(t0.elapsed() >= Duration::from_millis(150));
    assert_eq!(
        c2.set_read_timeout(Some(Duration::ZERO)).map_err(errno),
        Err(libc::EINVAL)
    );

    // SO_SNDTIMEO: the peer never reads; writes fill its window and our send buffer,
    // then a write that queued nothing times out with EAGAIN.
    c2.set_write_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let chunk = vec![0x5au8; 256 * 1024];
    let mut total = 0usize;
    let mut err = None;
    for _ in 0..400 {
        match (&c2).write(&chunk) {
            Ok(n) => total += n,
            Err(e) => {
                err = Some(e);
                break;
            }
        }
    }
    let e = err.expect("a write times out once the buffers are full");
    assert_eq!(errno(e), libc::EAGAIN, "after {total} bytes");
    assert!(total > 0);

    // O_NONBLOCK: what is queued at once (c2's writes), else EAGAIN at once.
    s2.set_nonblocking(true).unwrap();
    assert!((&s2).read(&mut [0u8; 64]).unwrap() > 0);
    let c3 = remote::TcpStream::connect(&d.remote, lo(7000)).unwrap();
    c3.set_nonblocking(true).unwrap();
    assert_eq!((&c3).read(&mut [0u8; 1]).map_err(errno), Err(libc::EAGAIN));
    l.set_nonblocking(true).unwrap();
    let _queued = l.accept().unwrap();
    assert_eq!(l.accept().map(|_| ()).map_err(errno), Err(libc::EAGAIN));

    // Options through setsockopt / getsockopt.
    c.set_nodelay(true).unwrap();
    assert!(c.nodelay().unwrap());
    c.set_nodelay(false).unwrap();
    assert!(!c.nodelay().unwrap());
    assert_eq!(c.take_error().unwrap().map(errno), None);
    c.set_linger(Some(Duration::from_secs(3))).unwrap();
    assert_eq!(c.linger().unwrap(), Some(Duration::from_secs(3)));
    c.set_linger(None).unwrap();
    assert_eq!(c.linger().unwrap(), None);
    // accept_timeout: EAGAIN once the time passed with nobody connecting.
    l.set_nonblocking(false).unwrap();
    let t0 = Instant::now();
    assert_eq!(
        l.accept_timeout(Some(Duration::from_millis(60)))
            .map(|_| ())
            .map_err(errno),
        Err(libc::EAGAIN)
    );
    assert!(t0.elapsed() >= Duration::from_millis(60));
}

#[test]
fn connect_timeout_and_refused_connect_keep_linux_errors() {
    let d = daemon(2);
    let e = remote::TcpStream::connect(&d.remote, lo(7999)).unwrap_err();
    assert_eq!(errno(e), libc::ECONNREFUSED);
    let e = remote::TcpStream::connect_timeout(&d.remote, &lo(7999), Duration::from_secs(5))
        .unwrap_err();
    assert_eq!(errno(e), libc::ECONNREFUSED);
    let l = remote::TcpListener::bind(&d.remote, lo(7001)).unwrap();
    let c =
        remote::TcpStream::connect_timeout(&d.remote, &lo(7001), Duration::from_secs(5)).unwrap();
    let (_s, peer) = l.accept().unwrap();
    assert_eq!(peer, c.local_addr().unwrap());
    // Connected, and blocking again (O_NONBLOCK was only for the connect).
    c.set_read_timeout(Some(Duration::from_millis(50))).unwrap();
    assert_eq!((&c).read(&mut [0u8; 1]).map_err(errno), Err(libc::EAGAIN));
    let e = remote::TcpStream::connect_timeout(&d.remote, &lo(7001), Duration::ZERO).unwrap_err();
    assert_eq!(errno(e), libc::EINVAL);
    assert_eq!(
        remote::TcpListener::bind(&d.remote, lo(7001))
            .map(|_| ())
            .map_err(errno),
        Err(libc::EADDRINUSE)
    );
}

#[test]
fn udp_sends_and_receives_with_addresses() {
    let d = daemon(3);
    let a = remote::UdpSocket::bind(&d.remote, lo(5000)).unwrap();
    let b = remote::UdpSocket::bind(&d.remote, lo(0)).unwrap();
    let b_addr = b.local_addr().unwrap();
    assert_ne!(b_addr.port(), 0, "an ephemeral port");
    assert_eq!(b.send_to(b"hello", lo(5000)).unwrap(), 5);
    let mut buf = [0u8; 64];
    let (n, from) = a.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"hello"[..], b_addr));
    // Truncated to the buffer, sender still given; peek leaves the datagram.
    a.send_to(b"0123456789", b_addr).unwrap();
    let mut small = [0u8; 4];
    assert_eq!(b.peek_from(&mut small).unwrap(), (4, lo(5000)));
    assert_eq!(b.recv_from(&mut small).unwrap(), (4, lo(5000)));
    assert_eq!(&small, b"0123");
    // An in-process socket of the same stack hears the remote one.
    let local = linnet::UdpSocket::bind(d.rt.handle(), lo(5002)).unwrap();
    a.send_to(b"to local", lo(5002)).unwrap();
    local.set_read_timeout(Some(WAIT)).unwrap();
    let (n, from) = local.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"to local"[..], lo(5000)));
    // Connected: send / recv / peer_addr; timeouts; errors.
    b.connect(lo(5000)).unwrap();
    assert_eq!(b.peer_addr().unwrap(), lo(5000));
    b.send(b"conn").unwrap();
    assert_eq!(a.recv_from(&mut buf).unwrap(), (4, b_addr));
    a.set_read_timeout(Some(Duration::from_millis(80))).unwrap();
    let t0 = Instant::now();
    assert_eq!(a.recv(&mut buf).map_err(errno), Err(libc::EAGAIN));
    assert!(t0.elapsed() >= Duration::from_millis(80));
    assert_eq!(a.peer_addr().map_err(errno), Err(libc::ENOTCONN));
    assert_eq!(a.send(b"x").map_err(errno), Err(libc::EDESTADDRREQ));
    a.set_ttl(9).unwrap();
    assert_eq!(a.ttl().unwrap(), 9);
    assert_eq!(a.set_ttl(0).map_err(errno), Err(libc::EINVAL));
    a.set_broadcast(true).unwrap();
    assert!(a.broadcast().unwrap());
    a.set_recv_buffer_size(4096).unwrap();
    assert_eq!(a.recv_buffer_size().unwrap(), 8192, "doubled, as Linux");
    // try_clone: the same socket (a datagram sent to it is read by the clone).
    let a2 = a.try_clone().unwrap();
    b.send(b"clone").unwrap();
    assert_eq!(a2.recv_from(&mut buf).unwrap(), (5, b_addr));
    drop((a, a2, b, local));
    d.settle(0);
}

#[test]
fn recvmsg_through_the_daemon_carries_control_messages() {
    let d = daemon(10);
    let mut c = d.remote.client().unwrap();
    let r = c.udp_socket().unwrap();
    c.bind(r, SocketAddrV4::new(LO, 5500)).unwrap();
    // IP_RECVTTL (SOL_IP 12): each datagram brings its TTL as an IP_TTL message.
    c.setsockopt(r, 0, 12, &1i32.to_ne_bytes()).unwrap();
    assert_eq!(c.getsockopt(r, 0, 12, 4).unwrap(), 1i32.to_ne_bytes());
    let s = c.udp_socket().unwrap();
    c.send_to(s, b"ttl?", Some(SocketAddrV4::new(LO, 5500)))
        .unwrap();
    let m = c.recvmsg(r, 64, 0, 64).unwrap();
    assert_eq!(m.data, b"ttl?");
    // One cmsghdr (len 20: 16 + an int, 24 with padding), SOL_IP, IP_TTL, 64.
    assert_eq!(m.control.len(), 24);
    assert_eq!(u64::from_ne_bytes(m.control[..8].try_into().unwrap()), 20);
    assert_eq!(i32::from_ne_bytes(m.control[8..12].try_into().unwrap()), 0);
    assert_eq!(i32::from_ne_bytes(m.control[12..16].try_into().unwrap()), 2);
    assert_eq!(
        i32::from_ne_bytes(m.control[16..20].try_into().unwrap()),
        64
    );
    // A control buffer too small for it: MSG_CTRUNC, nothing written.
    c.send_to(s, b"again", Some(SocketAddrV4::new(LO, 5500)))
        .unwrap();
    let m = c.recvmsg(r, 64, 0, 8).unwrap();
    assert_eq!(
        (m.control.len(), m.flags & libc::MSG_CTRUNC),
        (0, libc::MSG_CTRUNC)
    );
    // MSG_DONTWAIT on an empty queue, and a bad address length.
    assert_eq!(
        c.recvmsg(r, 64, libc::MSG_DONTWAIT, 0).unwrap_err().errno(),
        Some(libc::EAGAIN)
    );
    assert_eq!(
        c.bind_raw(s, &[2, 0, 0, 0]).unwrap_err().errno(),
        Some(libc::EINVAL)
    );
    assert_eq!(
        c.bind_raw(s, &[0u8; 129]).unwrap_err().errno(),
        Some(libc::EINVAL)
    );
    // socket()'s checks, in __sys_socket's order.
    let e = |r: Result<u32, linnet::control::ClientError>| r.unwrap_err().errno();
    assert_eq!(e(c.sys_socket(10, 1, 0, false)), Some(libc::EAFNOSUPPORT));
    assert_eq!(
        e(c.sys_socket(2, 1 | 0x40000, 0, false)),
        Some(libc::EINVAL)
    );
    assert_eq!(
        e(c.sys_socket(2, 1, 17, false)),
        Some(libc::EPROTONOSUPPORT)
    );
    assert_eq!(e(c.sys_socket(2, 5, 0, false)), Some(libc::ESOCKTNOSUPPORT));
    // Privilege: a port below 1024 needs a kernel socket.
    let u = c.sys_socket(2, 2, 0, false).unwrap();
    assert_eq!(
        c.bind(u, SocketAddrV4::new(LO, 80)).unwrap_err().errno(),
        Some(libc::EACCES)
    );
    let k = c.sys_socket(2, 2, 0, true).unwrap();
    c.bind(k, SocketAddrV4::new(LO, 80)).unwrap();
    // Dup / Attach: an unknown token is EBADF.
    assert_eq!(c.attach(12345).unwrap_err().errno(), Some(libc::EBADF));
    drop(c);
    d.settle(0);
}

/// The errors of a fixed sequence of calls, through the kernel-style door on `net`.
fn error_sequence(net: Net, base: u16) -> Vec<(&'static str, i32)> {
    let sa = |port: u16| SockaddrIn::from_v4(SocketAddrV4::new(LO, port));
    let tcp = || sock_create_kern(&net, PF_INET, SOCK_STREAM, IPPROTO_TCP).unwrap();
    let udp = || sock_create_kern(&net, PF_INET, SOCK_DGRAM, IPPROTO_UDP).unwrap();
    let mut out = Vec::new();
    let l = tcp();
    out.push(("bind", l.ops().bind(&l, &sa(base), SOCKADDR_IN_SIZE).ret()));
    out.push(("listen", l.ops().listen(&l, 4).ret()));
    let l2 = tcp();
    out.push((
        "bind in use",
        l2.ops().bind(&l2, &sa(base), SOCKADDR_IN_SIZE).ret(),
    ));
    out.push(("bind short", l2.ops().bind(&l2, &sa(base + 1), 8).ret()));
    let c = tcp();
    out.push((
        "connect refused",
        c.ops()
            .connect(&c, &sa(base + 2), SOCKADDR_IN_SIZE, 0)
            .ret(),
    ));
    let c = tcp();
    let mut name = SockaddrIn::default();
    out.push(("getpeername", c.ops().getname(&c, &mut name, 1).ret()));
    out.push(("shutdown", c.ops().shutdown(&c, SHUT_WR).ret()));
    out.push((
        "connect",
        c.ops().connect(&c, &sa(base), SOCKADDR_IN_SIZE, 0).ret(),
    ));
    out.push((
        "connect again",
        c.ops().connect(&c, &sa(base), SOCKADDR_IN_SIZE, 0).ret(),
    ));
    let u = udp();
    out.push((
        "TCP_NODELAY on udp",
        u.ops().setsockopt(&u, 6, 1, &1i32.to_ne_bytes()).ret(),
    ));
    out.push(("listen on udp", u.ops().listen(&u, 1).ret()));
    out.push(("bad level", u.ops().setsockopt(&u, 99, 1, &[0; 4]).ret()));
    let mut nb = sock_create_lite(PF_INET, SOCK_STREAM, 0).unwrap();
    nb.ops = l.ops;
    out.push((
        "accept nonblock",
        l.ops()
            .accept(&l, &mut nb, O_NONBLOCK, true)
            .and(Ok(()))
            .ret(),
    ));
    out
}

#[test]
fn errors_match_the_in_process_door() {
    let d = daemon(4);
    let local = error_sequence(Net::from(d.rt.handle()), 8000);
    let remote = error_sequence(Net::from(&d.remote), 8100);
    assert_eq!(remote, local);
    // And they are Linux's.
    let want = [
        ("bind", 0),
        ("listen", 0),
        ("bind in use", -libc::EADDRINUSE),
        ("bind short", -libc::EINVAL),
        ("connect refused", -libc::ECONNREFUSED),
        ("getpeername", -libc::ENOTCONN),
        ("shutdown", -libc::ENOTCONN),
        ("connect", 0),
        ("connect again", -libc::EISCONN),
        ("TCP_NODELAY on udp", -libc::ENOPROTOOPT),
        ("listen on udp", -libc::EOPNOTSUPP),
        ("bad level", -libc::ENOPROTOOPT),
        // The connection of "connect" is queued: accept takes it.
        ("accept nonblock", 0),
    ];
    assert_eq!(local, want);
    d.settle(0);
}

#[test]
fn a_reader_blocked_on_a_stream_does_not_hold_up_its_writer() {
    let d = daemon(5);
    let l = remote::TcpListener::bind(&d.remote, lo(7002)).unwrap();
    let c = remote::TcpStream::connect(&d.remote, lo(7002)).unwrap();
    let (s, _) = l.accept().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::scope(|sc| {
        // Blocked reading `c`: nothing comes until `c` has written everything below.
        sc.spawn(|| {
            let mut buf = [0u8; 5];
            (&c).read_exact(&mut buf).unwrap();
            tx.send(buf).unwrap();
        });
        std::thread::sleep(Duration::from_millis(50));
        // The same socket writes meanwhile (and the options connection answers).
        let data = vec![1u8; 300_000];
        (&c).write_all(&data).unwrap();
        c.set_nodelay(true).unwrap();
        let mut got = vec![0u8; data.len()];
        (&s).read_exact(&mut got).unwrap();
        assert!(got == data);
        assert!(rx.try_recv().is_err(), "the reader is still waiting");
        (&s).write_all(b"reply").unwrap();
        assert_eq!(&rx.recv_timeout(WAIT).unwrap(), b"reply");
    });
    // try_clone: another handle on the socket; the socket lives until the last goes.
    let c2 = c.try_clone().unwrap();
    drop(c);
    (&c2).write_all(b"via clone").unwrap();
    let mut buf = [0u8; 9];
    (&s).read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"via clone");
    drop(c2);
    let mut rest = Vec::new();
    (&s).read_to_end(&mut rest).unwrap();
    assert!(rest.is_empty(), "EOF once the last handle closed");
    drop((s, l));
    d.settle(0);
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(4)
        .enable_time()
        .build()
        .unwrap()
}

#[test]
fn async_many_connections_move_data_concurrently() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let d = daemon(6);
    let remote = d.remote.clone();
    rt().block_on(async move {
        let l = remote::tokio::TcpListener::bind(&remote, lo(7100))
            .await
            .unwrap();
        let server = tokio::spawn(async move {
            let mut tasks = Vec::new();
            for _ in 0..32 {
                let (s, _) = l.accept().await.unwrap();
                tasks.push(tokio::spawn(async move {
                    let (mut r, mut w) = s.into_split();
                    let n = tokio::io::copy(&mut r, &mut w).await.unwrap();
                    w.shutdown().await.unwrap();
                    n
                }));
            }
            let mut total = 0;
            for t in tasks {
                total += t.await.unwrap();
            }
            total
        });
        let mut clients = Vec::new();
        for i in 0..32u32 {
            let remote = remote.clone();
            clients.push(tokio::spawn(async move {
                let s = remote::tokio::TcpStream::connect(&remote, lo(7100))
                    .await
                    .unwrap();
                let data: Vec<u8> = (0..40_000u32).map(|j| (i + j) as u8).collect();
                let (mut r, mut w) = s.into_split();
                let send = data.clone();
                let writer = tokio::spawn(async move {
                    w.write_all(&send).await.unwrap();
                    w.shutdown().await.unwrap();
                });
                let mut back = Vec::new();
                r.read_to_end(&mut back).await.unwrap();
                writer.await.unwrap();
                assert!(back == data, "connection {i} echoed other bytes");
                back.len() as u64
            }));
        }
        let mut sent = 0;
        for c in clients {
            sent += tokio::time::timeout(WAIT * 3, c).await.unwrap().unwrap();
        }
        let echoed = tokio::time::timeout(WAIT, server).await.unwrap().unwrap();
        assert_eq!((sent, echoed), (32 * 40_000, 32 * 40_000));
    });
    d.settle(0);
}

#[test]
fn a_dropped_async_read_loses_no_data() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let d = daemon(7);
    let remote = d.remote.clone();
    rt().block_on(async move {
        let l = remote::tokio::TcpListener::bind(&remote, lo(7200))
            .await
            .unwrap();
        // An accept cancelled before anyone connects: the next accept gets the connection.
        assert!(tokio::time::timeout(Duration::from_millis(30), l.accept())
            .await
            .is_err());
        let mut c = remote::tokio::TcpStream::connect(&remote, lo(7200))
            .await
            .unwrap();
        let (mut s, peer) = l.accept().await.unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        // A read cancelled while its request waits in the daemon ...
        let mut buf = [0u8; 4];
        assert!(
            tokio::time::timeout(Duration::from_millis(30), c.read(&mut buf))
                .await
                .is_err()
        );
        // ... then data comes: it answers that request, and the next reads get it all,
        // in order, in pieces smaller than what came.
        s.write_all(b"hello world").await.unwrap();
        s.flush().await.unwrap();
        let mut got = Vec::new();
        while got.len() < 11 {
            let n = c.read(&mut buf).await.unwrap();
            assert!(n > 0);
            got.extend_from_slice(&buf[..n]);
        }
        assert_eq!(got, b"hello world");
        // Both ways still work.
        c.write_all(b"back").await.unwrap();
        c.shutdown().await.unwrap();
        let mut back = Vec::new();
        s.read_to_end(&mut back).await.unwrap();
        assert_eq!(back, b"back");
        // UDP: a recv_from cancelled, then the datagram is the next recv's.
        let u = remote::tokio::UdpSocket::bind(&remote, lo(5300))
            .await
            .unwrap();
        let v = remote::tokio::UdpSocket::bind(&remote, lo(5301))
            .await
            .unwrap();
        let mut b = [0u8; 16];
        assert!(
            tokio::time::timeout(Duration::from_millis(30), u.recv_from(&mut b))
                .await
                .is_err()
        );
        v.send_to(b"dgram", lo(5300)).await.unwrap();
        let (n, from) = tokio::time::timeout(WAIT, u.recv_from(&mut b))
            .await
            .unwrap()
            .unwrap();
        assert_eq!((&b[..n], from), (&b"dgram"[..], lo(5301)));
    });
    d.settle(0);
}

/// Lab 3, 4 and 5 of the seeds, their own code (`examples/lab*.rs`) with the daemon's stack
/// as `net`.
#[test]
fn the_labs_run_against_the_daemon() {
    let d = daemon(8);
    let mut out = Vec::new();
    // Lab 3: a kernel socket listening on 127.0.0.1:60000, seen by sock_diag, gone after
    // sock_release.
    let sock = lab3::my_tcp_sock_init(&d.remote, LO, &mut out).unwrap();
    let mut c = d.remote.client().unwrap();
    let listeners = |c: &mut linnet::control::Client| {
        c.sock_diag(linnet::core::tcp::diag::InetDiagReq {
            protocol: 6,
            states: 1 << 10,
            info: false,
        })
        .unwrap()
        .iter()
        .map(|m| m.src)
        .collect::<Vec<_>>()
    };
    assert_eq!(listeners(&mut c), vec![SocketAddrV4::new(LO, 60000)]);
    assert!(matches!(
        sock.state(),
        linnet::core::SocketState::Unconnected
    ));
    lab3::my_tcp_sock_exit(sock);
    assert_eq!(listeners(&mut c), vec![]);
    d.settle(0);

    // Lab 4: accept blocks until a peer (a remote std-like stream) connects; the accepted
    // socket's peer address is printed.
    let remote = d.remote.clone();
    let (tx, rx) = std::sync::mpsc::channel();
    let peer = std::thread::spawn(move || {
        rx.recv().unwrap();
        let s = remote::TcpStream::connect(&remote, (LO, lab4::MY_TCP_PORT)).unwrap();
        let a = s.local_addr().unwrap();
        let _ = (&s).read(&mut [0u8; 1]);
        a
    });
    let mut out = Vec::new();
    let lab = lab4::my_tcp_sock_init(&d.remote, LO, &mut out, move || {
        tx.send(()).unwrap();
    })
    .unwrap();
    lab4::my_tcp_sock_exit(lab);
    let a = peer.join().unwrap();
    assert_eq!(
        String::from_utf8(out).unwrap().trim(),
        format!("connection established to {a}")
    );
    d.settle(0);

    // Lab 5: kernel_sendmsg of the test message to a receiver on 60001.
    let rcv = remote::UdpSocket::bind(&d.remote, (LO, lab5::MY_UDP_REMOTE_PORT)).unwrap();
    let mut out = Vec::new();
    let sock = lab5::my_udp_sock_init(&d.remote, LO, LO, &mut out).unwrap();
    let mut buf = [0u8; 64];
    let (n, from) = rcv.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], lab5::MY_TEST_MESSAGE);
    assert_eq!(from, lo(lab5::MY_UDP_LOCAL_PORT));
    // And the kernel-style receive: kvecs, msg_name, MSG_TRUNC.
    rcv.send_to(b"0123456789", from).unwrap();
    let mut a = [0u8; 3];
    let mut b = [0u8; 3];
    let mut msg = Msghdr::default();
    let mut vec = [KvecMut::new(&mut a), KvecMut::new(&mut b)];
    let n = kernel_recvmsg(&sock, &mut msg, &mut vec, 2, 6, MSG_TRUNC).unwrap();
    assert_eq!(n, 10, "the datagram's full length with MSG_TRUNC");
    assert_eq!((&a, &b), (b"012", b"345"));
    assert_eq!(
        msg.msg_name.map(|a| a.to_v4()),
        Some(SocketAddrV4::new(LO, lab5::MY_UDP_REMOTE_PORT))
    );
    assert_eq!(msg.msg_flags & MSG_TRUNC, MSG_TRUNC);
    lab5::my_udp_sock_exit(sock);
    drop(rcv);
    d.settle(0);
}

#[test]
fn a_client_that_disconnects_leaks_no_socket() {
    let d = daemon(9);
    // Sockets of every door, some blocked in the daemon, then everything dropped.
    let l = remote::TcpListener::bind(&d.remote, lo(7300)).unwrap();
    let c = remote::TcpStream::connect(&d.remote, lo(7300)).unwrap();
    let (s, _) = l.accept().unwrap();
    let u = remote::UdpSocket::bind(&d.remote, lo(5400)).unwrap();
    let k = sock_create_kern(&d.remote, PF_INET, SOCK_DGRAM, 0).unwrap();
    d.settle(5);
    let u2 = u.try_clone().unwrap();
    let blocked = std::thread::spawn(move || {
        // Blocks in the daemon until a datagram comes.
        let mut buf = [0u8; 8];
        let r = u2.recv(&mut buf);
        (r.map_err(errno), u2)
    });
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(d.server.stats().sockets, 5, "a clone is the same socket");
    drop((l, c, s, k));
    d.settle(1);
    // A raw client gone in the middle of a blocking call.
    let mut raw = d.remote.client().unwrap();
    let id = raw.udp_socket().unwrap();
    raw.bind(id, SocketAddrV4::new(LO, 5401)).unwrap();
    let mut w = raw.stream().try_clone().unwrap();
    linnet::control::proto::write_frame(
        &mut w,
        &linnet::control::Request::RecvMsg {
            id,
            flags: 0,
            max: 64,
            controllen: 0,
        },
    )
    .unwrap();
    drop((w, raw));
    d.settle(1);
    // The blocked receive, on a clone whose original is still here, gets its datagram.
    u.send_to(b"wake", lo(5400)).unwrap();
    let (r, u2) = blocked.join().unwrap();
    assert_eq!(r, Ok(4));
    drop((u, u2));
    d.settle(0);
    // Every connection's thread ends too.
    let deadline = Instant::now() + WAIT;
    while d.server.stats().clients != 0 {
        assert!(Instant::now() < deadline, "{:?}", d.server.stats());
        std::thread::sleep(Duration::from_millis(5));
    }
    assert!(d.path.exists());
}

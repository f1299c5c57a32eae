//! The control socket end to end, in-process: a daemon-side [`Server`] on a runtime joined to
//! a second runtime by an in-memory link, and [`Client`]s in the test. Needs no root.
//!
//! Linux: net/netlink/af_netlink.c (requests, `NLMSG_ERROR` with errno), net/socket.c (the
//! socket system calls), net/ipv4/af_inet.c (`inet_release`: a process's sockets close when
//! it goes away).
//! RFCs: RFC 768, RFC 792.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use linnet::control::proto::{encode_frame, read_frame, write_frame};
use linnet::control::{
    Client, ClientError, Limits, PingAnswer, Request, Response, Server, ShutdownHow, SockOpt,
    SockType, MAX_CLIENTS, MAX_FRAME, MAX_SOCKETS, PROTOCOL_VERSION,
};
use linnet::core::ctl::{CtlRequest, CtlResponse, Prefix};
use linnet::core::{DeviceKind, NudState, Stack, StackConfig};
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::wire::EthernetAddress;
use linnet::{MemoryDevice, Runtime, TcpListener, TcpStream, UdpSocket};

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
const WAIT: Duration = Duration::from_secs(5);

/// The daemon (runtime `a` with its server) and a peer host `b` on a memory link.
struct Setup {
    server: Option<Server>,
    a: Runtime,
    b: Runtime,
    path: PathBuf,
    _dir: tempfile::TempDir,
}

impl Setup {
    fn new() -> Setup {
        Setup::with_limits(Limits::default())
    }

    fn with_limits(limits: Limits) -> Setup {
        let (da, db) = MemoryDevice::pair(
            "veth0",
            DeviceKind::Ethernet {
                mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
            },
            "veth1",
            DeviceKind::Ethernet {
                mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
            },
        );
        let host = |dev, ip: Ipv4Addr, seed| {
            let rt = Runtime::new(Stack::new(StackConfig::default(), seed)).unwrap();
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
        let path = dir.path().join("ctl.sock");
        let server = Server::bind_with(&path, a.handle().clone(), limits).unwrap();
        Setup {
            server: Some(server),
            a,
            b,
            path,
            _dir: dir,
        }
    }

    fn client(&self) -> Client {
        Client::connect(&self.path).unwrap()
    }

    fn server(&self) -> &Server {
        self.server.as_ref().unwrap()
    }

    /// Waits until the server counts `n` sockets and `clients` clients.
    fn settle(&self, sockets: u64, clients: u64) {
        let deadline = Instant::now() + WAIT;
        loop {
            let s = self.server().stats();
            if s.sockets == sockets && s.clients == clients {
                return;
            }
            assert!(Instant::now() < deadline, "server stats stuck at {s:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

fn remote_errno(r: Result<impl std::fmt::Debug, ClientError>) -> i32 {
    match r {
        Err(ClientError::Remote { errno, .. }) => errno,
        other => panic!("expected a refusal, got {other:?}"),
    }
}

/// A raw connection that has said hello.
fn raw(path: &Path) -> UnixStream {
    let mut s = UnixStream::connect(path).unwrap();
    write_frame(
        &mut s,
        &Request::Hello {
            version: PROTOCOL_VERSION,
        },
    )
    .unwrap();
    let r: Response = read_frame(&mut s).unwrap();
    assert_eq!(
        r,
        Response::Hello {
            version: PROTOCOL_VERSION
        }
    );
    s
}

#[test]
fn handshake_reports_the_daemon_version() {
    let t = Setup::new();
    let c = t.client();
    assert_eq!(c.daemon_version(), PROTOCOL_VERSION);
}

#[test]
fn version_mismatch_is_refused_naming_both_versions() {
    let t = Setup::new();
    let e = Client::connect_version(&t.path, PROTOCOL_VERSION + 98).unwrap_err();
    match e {
        ClientError::Remote { errno, message } => {
            assert_eq!(errno, libc::EPROTONOSUPPORT);
            let want = format!(
                "client speaks {}, daemon speaks {PROTOCOL_VERSION}",
                PROTOCOL_VERSION + 98
            );
            assert!(message.contains(&want), "{message}");
        }
        e => panic!("{e:?}"),
    }
}

#[test]
fn first_message_other_than_hello_is_refused_and_closed() {
    let t = Setup::new();
    let mut s = UnixStream::connect(&t.path).unwrap();
    write_frame(&mut s, &Request::Stats).unwrap();
    let r: Response = read_frame(&mut s).unwrap();
    assert!(
        matches!(r, Response::Error { errno, .. } if errno == libc::EPROTO),
        "{r:?}"
    );
    assert_eq!(s.read(&mut [0u8; 1]).unwrap(), 0, "connection closed");
}

#[test]
fn unreachable_daemon_is_a_connect_error_naming_the_path() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("none.sock");
    let e = Client::connect(&path).unwrap_err();
    assert!(matches!(e, ClientError::Connect { .. }));
    assert_eq!(e.errno(), Some(libc::ENOENT));
    assert!(e.to_string().contains(&path.display().to_string()), "{e}");
}

#[test]
fn every_ctl_request_round_trips() {
    let t = Setup::new();
    let mut c = t.client();
    let p = |a: [u8; 4], len| Prefix {
        addr: a.into(),
        len,
    };
    // Links.
    let CtlResponse::Links(links) = c.ctl(CtlRequest::LinkList).unwrap() else {
        panic!()
    };
    assert_eq!(
        links.iter().map(|l| l.name.as_str()).collect::<Vec<_>>(),
        ["lo", "veth0"]
    );
    let set = CtlRequest::LinkSet {
        dev: "veth0".into(),
        up: Some(true),
        mtu: Some(1400),
        arp: Some(true),
    };
    assert_eq!(c.ctl(set).unwrap(), CtlResponse::Ok);
    let CtlResponse::Links(links) = c.ctl(CtlRequest::LinkList).unwrap() else {
        panic!()
    };
    assert_eq!(links[1].mtu, 1400);
    // Addresses.
    let add = CtlRequest::AddrAdd {
        dev: "veth0".into(),
        prefix: p([10, 1, 0, 1], 16),
    };
    assert_eq!(c.ctl(add.clone()).unwrap(), CtlResponse::Ok);
    assert_eq!(remote_errno(c.ctl(add)), libc::EEXIST);
    let CtlResponse::Addrs(addrs) = c.ctl(CtlRequest::AddrList).unwrap() else {
        panic!()
    };
    assert!(addrs.iter().any(|a| a.prefix == p([10, 1, 0, 1], 16)));
    // Routes.
    let route = CtlRequest::RouteAdd {
        dst: p([0, 0, 0, 0], 0),
        via: Some(B_IP),
        dev: None,
        metric: 0,
    };
    assert_eq!(c.ctl(route).unwrap(), CtlResponse::Ok);
    let CtlResponse::Routes(routes) = c.ctl(CtlRequest::RouteList).unwrap() else {
        panic!()
    };
    assert_eq!(routes[0].gateway, Some(B_IP));
    let del = CtlRequest::RouteDel {
        dst: p([0, 0, 0, 0], 0),
        via: None,
        dev: None,
        metric: None,
    };
    assert_eq!(c.ctl(del.clone()).unwrap(), CtlResponse::Ok);
    assert_eq!(remote_errno(c.ctl(del)), libc::ESRCH);
    let del = CtlRequest::AddrDel {
        dev: "veth0".into(),
        prefix: p([10, 1, 0, 1], 16),
    };
    assert_eq!(c.ctl(del).unwrap(), CtlResponse::Ok);
    // Neighbours.
    let add = CtlRequest::NeighAdd {
        dev: "veth0".into(),
        addr: [10, 0, 0, 9].into(),
        lladdr: Some([2, 0, 0, 0, 0, 9]),
        state: NudState::Permanent,
        replace: false,
    };
    assert_eq!(c.ctl(add).unwrap(), CtlResponse::Ok);
    let CtlResponse::Neighs(n) = c.ctl(CtlRequest::NeighList).unwrap() else {
        panic!()
    };
    assert_eq!(n.len(), 1);
    assert_eq!(n[0].lladdr, Some([2, 0, 0, 0, 0, 9]));
    let flush = CtlRequest::NeighFlush {
        dev: "veth0".into(),
    };
    assert_eq!(c.ctl(flush).unwrap(), CtlResponse::Flushed(0));
    let del = CtlRequest::NeighDel {
        dev: "veth0".into(),
        addr: [10, 0, 0, 9].into(),
    };
    assert_eq!(c.ctl(del).unwrap(), CtlResponse::Ok);
    // Counters, and an error naming the device.
    let CtlResponse::Counters(counters) = c.ctl(CtlRequest::Counters).unwrap() else {
        panic!()
    };
    assert_eq!(counters.ip.default_ttl, 64);
    let e = c
        .ctl(CtlRequest::LinkSet {
            dev: "eth9".into(),
            up: Some(true),
            mtu: None,
            arp: None,
        })
        .unwrap_err();
    assert_eq!(e.errno(), Some(libc::ENODEV));
    assert_eq!(e.to_string(), "Cannot find device \"eth9\"");
    // The daemon's counters.
    let s = c.stats().unwrap();
    assert_eq!((s.sockets, s.clients), (0, 1));
}

#[test]
fn udp_socket_calls_reach_a_peer_and_map_errors_to_errno() {
    let t = Setup::new();
    let mut c = t.client();
    let peer = UdpSocket::bind(t.b.handle(), (B_IP, 7)).unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();

    let id = c.udp_socket().unwrap();
    assert_eq!(id, 3, "the lowest free descriptor");
    c.bind(id, sa(A_IP, 5000)).unwrap();
    assert_eq!(c.local_addr(id).unwrap(), sa(A_IP, 5000));
    assert_eq!(c.send_to(id, b"ping", Some(sa(B_IP, 7))).unwrap(), 4);
    let mut buf = [0u8; 64];
    let (n, from) = peer.recv_from(&mut buf).unwrap();
    assert_eq!((&buf[..n], from), (&b"ping"[..], sa(A_IP, 5000).into()));
    peer.send_to(b"pong!", from).unwrap();
    assert_eq!(
        c.poll(id, 1, Some(WAIT)).unwrap(),
        1,
        "POLLIN (masked by events)"
    );
    // recvmsg with MSG_TRUNC: the datagram's full length, and MSG_TRUNC in msg_flags.
    let m = c.recvmsg(id, 4, libc::MSG_TRUNC, 0).unwrap();
    assert_eq!(m.data, b"pong");
    assert_eq!((m.from, m.len), (Some(sa(B_IP, 7)), 5), "truncated");
    assert_eq!(m.flags & libc::MSG_TRUNC, libc::MSG_TRUNC);

    // Nothing queued: EAGAIN at once, or after the timeout.
    assert_eq!(
        remote_errno(c.recv_from(id, 64, Some(Duration::ZERO))),
        libc::EAGAIN
    );
    let t0 = Instant::now();
    assert_eq!(
        remote_errno(c.recv_from(id, 64, Some(Duration::from_millis(120)))),
        libc::EAGAIN
    );
    assert!(t0.elapsed() >= Duration::from_millis(120));

    // Connected sends, options, errors with Linux's errno.
    let id2 = c.udp_socket().unwrap();
    assert_eq!(id2, 4);
    assert_eq!(remote_errno(c.bind(id2, sa(A_IP, 5000))), libc::EADDRINUSE);
    assert_eq!(remote_errno(c.bind(id2, sa(B_IP, 1))), libc::EADDRNOTAVAIL);
    assert_eq!(remote_errno(c.send_to(id2, b"x", None)), libc::EDESTADDRREQ);
    c.connect_socket(id2, sa(B_IP, 7)).unwrap();
    c.set_opt(id2, SockOpt::Ttl(9)).unwrap();
    c.set_opt(id2, SockOpt::Broadcast(true)).unwrap();
    c.set_opt(id2, SockOpt::RcvBuf(4096)).unwrap();
    assert_eq!(remote_errno(c.set_opt(id2, SockOpt::Ttl(0))), libc::EINVAL);
    c.send_to(id2, b"connected", None).unwrap();
    let (n, _) = peer.recv_from(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"connected");
    assert_eq!(
        remote_errno(c.call(&Request::Listen {
            id: id2,
            backlog: 1
        })),
        libc::EOPNOTSUPP
    );
    assert_eq!(
        remote_errno(c.call(&Request::Accept { id: id2, flags: 0 })),
        libc::EOPNOTSUPP
    );
    assert_eq!(
        remote_errno(c.set_opt(id2, SockOpt::NoDelay(true))),
        libc::ENOPROTOOPT
    );

    // A datagram to a closed port: ECONNREFUSED on the next call of the connected socket.
    let id3 = c.udp_socket().unwrap();
    c.connect_socket(id3, sa(B_IP, 9999)).unwrap();
    c.send_to(id3, b"anyone?", None).unwrap();
    assert_eq!(
        remote_errno(c.recv_from(id3, 64, Some(WAIT))),
        libc::ECONNREFUSED
    );

    assert_eq!(t.server().stats().sockets, 3);
    c.close(id).unwrap();
    assert_eq!(remote_errno(c.close(id)), libc::EBADF);
    assert_eq!(remote_errno(c.local_addr(id)), libc::EBADF);
    assert_eq!(
        c.poll(id, 1, None).unwrap(),
        0x20,
        "POLLNVAL, as poll() on a closed fd"
    );
    assert_eq!(c.udp_socket().unwrap(), 3, "a closed id is reused");
    assert_eq!(t.server().stats().sockets, 3);
}

#[test]
fn ping_through_the_daemon_gets_replies_and_timeouts() {
    let t = Setup::new();
    let mut c = t.client();
    let (answer, rtt) = c
        .ping(B_IP, 0x77, 1, None, &[0xa5; 56], WAIT)
        .unwrap()
        .expect("an echo reply");
    assert_eq!(
        answer,
        PingAnswer::Reply {
            from: B_IP,
            ident: 0x77,
            seq: 1,
            len: 56,
            ttl: 64
        }
    );
    assert!(rtt > Duration::ZERO && rtt < WAIT);

    // Several in flight, answered in any order.
    let mut sent = Vec::new();
    for seq in 2..5 {
        sent.push(c.ping_send(B_IP, 0x78, seq, Some(5), b"abc").unwrap());
    }
    let mut seqs = Vec::new();
    for _ in 0..3 {
        let (a, at) = c.ping_recv(0x78, WAIT).unwrap().expect("an answer");
        assert!(at >= sent[0]);
        seqs.push(a.seq());
    }
    seqs.sort();
    assert_eq!(seqs, [2, 3, 4]);
    assert_eq!(c.ping_recv(0x78, Duration::from_millis(60)).unwrap(), None);

    // Silence: the peer's runtime stops answering.
    t.b.with_stack(|s| s.config_mut().icmp_echo_ignore_all = true);
    let r = c
        .ping(B_IP, 0x79, 1, None, b"", Duration::from_millis(100))
        .unwrap();
    assert_eq!(r, None);
    // No route: ENETUNREACH as Linux's ping socket.
    assert_eq!(
        remote_errno(c.ping(Ipv4Addr::new(192, 0, 2, 1), 1, 1, None, b"", WAIT)),
        libc::ENETUNREACH
    );
}

#[test]
fn client_that_disconnects_mid_recv_leaks_nothing() {
    let t = Setup::new();
    t.settle(0, 0);
    let mut c = t.client();
    let a = c.udp_socket().unwrap();
    c.bind(a, sa(A_IP, 6000)).unwrap();
    let b = c.udp_socket().unwrap();
    c.bind(b, sa(Ipv4Addr::UNSPECIFIED, 6001)).unwrap();
    t.settle(2, 1);
    // A blocking receive with no timeout, then the client goes away.
    let mut s = c.stream().try_clone().unwrap();
    write_frame(
        &mut s,
        &Request::RecvMsg {
            id: a,
            flags: 0,
            max: 100,
            controllen: 0,
        },
    )
    .unwrap();
    std::thread::sleep(Duration::from_millis(20));
    drop(s);
    drop(c);
    t.settle(0, 0);
    // The ports are free again in the stack itself.
    let again = UdpSocket::bind(t.a.handle(), (A_IP, 6000)).unwrap();
    let again2 = UdpSocket::bind(t.a.handle(), (A_IP, 6001)).unwrap();
    drop((again, again2));
    // Same for a blocked ping.
    let mut c = t.client();
    let sock = c.udp_socket().unwrap();
    c.bind(sock, sa(A_IP, 6000)).unwrap();
    t.b.with_stack(|s| s.config_mut().icmp_echo_ignore_all = true);
    let mut s = c.stream().try_clone().unwrap();
    write_frame(
        &mut s,
        &Request::PingRecv {
            ident: 5,
            timeout_ms: 60_000,
        },
    )
    .unwrap();
    drop(s);
    drop(c);
    t.settle(0, 0);
    assert_eq!(t.server().stats().clients_total, 2);
}

#[test]
fn oversize_frame_is_refused_and_the_connection_closed() {
    let t = Setup::new();
    let mut s = raw(&t.path);
    let udp = Request::Socket {
        family: libc::AF_INET,
        ty: libc::SOCK_DGRAM,
        protocol: 0,
        kern: false,
    };
    write_frame(&mut s, &udp).unwrap();
    let r: Response = read_frame(&mut s).unwrap();
    assert_eq!(r, Response::Socket { id: 3 });
    t.settle(1, 1);
    s.write_all(&((MAX_FRAME + 1) as u32).to_be_bytes())
        .unwrap();
    let r: Response = read_frame(&mut s).unwrap();
    match r {
        Response::Error { errno, message } => {
            assert_eq!(errno, libc::EMSGSIZE);
            assert!(message.contains("exceeds the limit"), "{message}");
        }
        r => panic!("{r:?}"),
    }
    assert_eq!(s.read(&mut [0u8; 1]).unwrap(), 0, "connection closed");
    t.settle(0, 0);
    // The client side refuses to send one.
    let mut c = t.client();
    let id = c.udp_socket().unwrap();
    let e = c
        .send_to(id, &vec![0u8; MAX_FRAME + 1], Some(sa(B_IP, 7)))
        .unwrap_err();
    assert_eq!(e.errno(), Some(libc::EMSGSIZE));
}

#[test]
fn malformed_request_is_an_error_and_the_connection_lives_on() {
    let t = Setup::new();
    let mut s = raw(&t.path);
    s.write_all(&[0, 0, 0, 2, 0xee, 0xee]).unwrap();
    let r: Response = read_frame(&mut s).unwrap();
    assert!(
        matches!(r, Response::Error { errno, .. } if errno == libc::EBADMSG),
        "{r:?}"
    );
    s.write_all(&encode_frame(&Request::Stats).unwrap())
        .unwrap();
    let r: Response = read_frame(&mut s).unwrap();
    assert!(matches!(r, Response::Stats(_)), "{r:?}");
}

#[test]
fn shutdown_closes_clients_and_removes_the_socket_file() {
    let mut t = Setup::new();
    let mut c = t.client();
    let id = c.udp_socket().unwrap();
    c.bind(id, sa(A_IP, 6100)).unwrap();
    assert!(t.path.exists());
    t.server.take().unwrap().shutdown();
    assert!(!t.path.exists());
    assert!(c.stats().is_err(), "the connection was closed");
    UdpSocket::bind(t.a.handle(), (A_IP, 6100)).expect("socket closed with its connection");
}

#[test]
fn bind_replaces_a_stale_socket_but_not_a_live_one_or_a_file() {
    let t = Setup::new();
    // Live: another server is refused.
    let e = Server::bind(&t.path, t.a.handle().clone()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AddrInUse);
    // Stale: a socket file nobody listens on.
    let stale = t.path.with_file_name("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&stale).unwrap());
    assert!(stale.exists());
    let s = Server::bind(&stale, t.a.handle().clone()).unwrap();
    Client::connect(&stale).unwrap();
    s.shutdown();
    assert!(!stale.exists());
    // Not a socket: left alone.
    let file = t.path.with_file_name("file");
    std::fs::write(&file, "x").unwrap();
    let e = Server::bind(&file, t.a.handle().clone()).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "x");
    // A missing directory is created.
    let nested = t.path.with_file_name("sub").join("dir").join("x.sock");
    Server::bind(&nested, t.a.handle().clone())
        .unwrap()
        .shutdown();
}

/// Reads a TCP socket of the daemon until the end of the stream.
fn recv_to_end(c: &mut Client, id: u32) -> Vec<u8> {
    let mut got = Vec::new();
    loop {
        let d = c.recv_from(id, 65_535, Some(WAIT)).unwrap();
        if d.data.is_empty() {
            return got;
        }
        got.extend_from_slice(&d.data);
    }
}

#[test]
fn tcp_socket_calls_connect_listen_accept_and_transfer() {
    let t = Setup::new();
    let mut c = t.client();

    // Active open from the daemon to a linnet listener on the peer host, which echoes.
    let listener = TcpListener::bind(t.b.handle(), (B_IP, 7000)).unwrap();
    let echo = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        let mut v = Vec::new();
        s.read_to_end(&mut v).unwrap();
        s.write_all(&v).unwrap();
    });
    let id = c.tcp_socket().unwrap();
    assert_eq!(remote_errno(c.peer_addr(id)), libc::ENOTCONN);
    c.connect_socket(id, sa(B_IP, 7000)).unwrap();
    assert_eq!(c.peer_addr(id).unwrap(), sa(B_IP, 7000));
    assert_eq!(*c.local_addr(id).unwrap().ip(), A_IP);
    c.set_opt(id, SockOpt::NoDelay(true)).unwrap();
    assert_eq!(
        remote_errno(c.connect_socket(id, sa(B_IP, 7000))),
        libc::EISCONN
    );
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    assert_eq!(c.send_to(id, &data, None).unwrap(), data.len());
    c.shutdown(id, ShutdownHow::Write).unwrap();
    assert_eq!(remote_errno(c.send_to(id, b"x", None)), libc::EPIPE);
    let got = recv_to_end(&mut c, id);
    assert!(got == data, "echo differs ({} bytes back)", got.len());
    echo.join().unwrap();
    c.close(id).unwrap();

    // Refused.
    let id = c.tcp_socket().unwrap();
    assert_eq!(
        remote_errno(c.connect_socket(id, sa(B_IP, 9))),
        libc::ECONNREFUSED
    );
    c.close(id).unwrap();

    // Passive open in the daemon, a linnet client on the peer host.
    let l = c.tcp_socket().unwrap();
    c.bind(l, sa(A_IP, 7001)).unwrap();
    c.listen(l, 8).unwrap();
    assert_eq!(
        remote_errno(c.accept(l, Some(Duration::from_millis(30)))),
        libc::EAGAIN
    );
    assert_eq!(
        remote_errno(c.accept(l, Some(Duration::ZERO))),
        libc::EAGAIN
    );
    let b = t.b.handle().clone();
    let peer = std::thread::spawn(move || {
        let mut s = TcpStream::connect(&b, (A_IP, 7001)).unwrap();
        s.set_read_timeout(Some(WAIT)).unwrap();
        s.write_all(b"hello daemon").unwrap();
        s.shutdown(std::net::Shutdown::Write).unwrap();
        let mut v = Vec::new();
        s.read_to_end(&mut v).unwrap();
        (v, s.local_addr().unwrap())
    });
    let (conn, from) = c.accept(l, Some(WAIT)).unwrap();
    assert_eq!(*from.ip(), B_IP);
    assert_eq!(recv_to_end(&mut c, conn), b"hello daemon");
    assert_eq!(c.send_to(conn, b"hello peer", None).unwrap(), 10);
    c.close(conn).unwrap();
    let (v, local) = peer.join().unwrap();
    assert_eq!(v, b"hello peer");
    assert_eq!(std::net::SocketAddr::V4(from), local);
    assert_eq!(remote_errno(c.recv_from(conn, 10, None)), libc::EBADF);
    // A second bind of the listening port.
    let l2 = c.tcp_socket().unwrap();
    assert_eq!(remote_errno(c.bind(l2, sa(A_IP, 7001))), libc::EADDRINUSE);
    assert_eq!(t.server().stats().sockets, 2);
}

#[test]
fn client_that_disconnects_closes_its_tcp_sockets() {
    let t = Setup::new();
    t.settle(0, 0);
    let mut c = t.client();
    // A listener blocked in accept, and an established connection to the peer host.
    let l = c.tcp_socket().unwrap();
    c.bind(l, sa(A_IP, 7100)).unwrap();
    c.listen(l, 8).unwrap();
    let listener = TcpListener::bind(t.b.handle(), (B_IP, 7101)).unwrap();
    let conn = c.tcp_socket().unwrap();
    c.connect_socket(conn, sa(B_IP, 7101)).unwrap();
    let (mut peer, _) = listener.accept().unwrap();
    peer.set_read_timeout(Some(WAIT)).unwrap();
    t.settle(2, 1);
    let mut s = c.stream().try_clone().unwrap();
    write_frame(&mut s, &Request::Accept { id: l, flags: 0 }).unwrap();
    std::thread::sleep(Duration::from_millis(20));
    drop(s);
    drop(c);
    t.settle(0, 0);
    // The connection was closed (the peer reads the end of the stream) ...
    let mut buf = [0u8; 8];
    assert_eq!(peer.read(&mut buf).unwrap(), 0);
    // ... and nobody listens on the port any more.
    let e = TcpStream::connect(t.b.handle(), (A_IP, 7100)).unwrap_err();
    assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED));
    let again = TcpListener::bind(t.a.handle(), (A_IP, 7100)).unwrap();
    drop(again);
}

/// A daemon with small limits, so the tests reach them quickly.
fn limited(limits: Limits) -> Setup {
    Setup::with_limits(limits)
}

fn small_limits() -> Limits {
    Limits {
        max_clients: 2,
        max_sockets: 4,
        read_timeout: Duration::from_millis(200),
        ..Limits::default()
    }
}

/// Reads until the daemon closes `s` (EOF or reset); panics if it stays open past `WAIT`.
fn assert_closed_by_daemon(s: &mut UnixStream) {
    s.set_read_timeout(Some(WAIT)).unwrap();
    let mut buf = [0u8; 64];
    loop {
        match s.read(&mut buf) {
            Ok(0) => return,
            Ok(_) => {}
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => return,
            Err(e) => panic!("connection still open: {e}"),
        }
    }
}

#[test]
fn default_limits_are_linuxs_and_the_briefs() {
    let l = Limits::default();
    assert_eq!(l.max_clients, MAX_CLIENTS);
    assert_eq!(MAX_CLIENTS, 256);
    assert_eq!(l.max_sockets, MAX_SOCKETS);
    assert_eq!(MAX_SOCKETS, 1024);
    assert_eq!(l.read_timeout, Duration::from_secs(5));
}

#[test]
fn clients_past_the_limit_are_refused_and_counted() {
    let t = limited(small_limits());
    let mut c1 = t.client();
    let c2 = t.client();
    t.settle(0, 2);
    // The third is refused: EAGAIN to its Hello if it came in time, else closed at once.
    match Client::connect(&t.path) {
        Err(ClientError::Remote { errno, message }) => {
            assert_eq!(errno, libc::EAGAIN);
            assert_eq!(message, "too many clients");
        }
        Err(ClientError::Io(_)) => {}
        other => panic!("expected a refusal, got {other:?}"),
    }
    let mut s = UnixStream::connect(&t.path).unwrap();
    let _ = write_frame(
        &mut s,
        &Request::Hello {
            version: PROTOCOL_VERSION,
        },
    );
    // Closed at once (EOF, or reset) is the other allowed answer.
    if let Ok(r) = read_frame::<Response>(&mut s) {
        assert_eq!(
            r,
            Response::Error {
                errno: libc::EAGAIN,
                message: "too many clients".into()
            }
        );
    }
    let st = c1.stats().unwrap();
    assert_eq!((st.clients, st.clients_refused), (2, 2));
    // A slot frees when a client leaves.
    drop(c2);
    t.settle(0, 1);
    let mut c3 = t.client();
    assert_eq!(c3.stats().unwrap().clients, 2);
}

#[test]
fn silent_and_stalled_clients_are_closed_after_the_read_timeout() {
    let t = limited(small_limits());
    // No Hello at all.
    let mut silent = UnixStream::connect(&t.path).unwrap();
    let start = Instant::now();
    assert_closed_by_daemon(&mut silent);
    assert!(start.elapsed() >= Duration::from_millis(150));
    // A frame whose body never comes.
    let mut stalled = raw(&t.path);
    stalled.write_all(&[0, 0, 0, 10, 1, 2]).unwrap();
    assert_closed_by_daemon(&mut stalled);
    // An idle client between frames is fine.
    let mut idle = t.client();
    std::thread::sleep(Duration::from_millis(400));
    idle.stats().unwrap();
    t.settle(0, 1);
}

#[test]
fn client_connect_times_out_on_a_daemon_that_never_answers() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("wedged.sock");
    let _listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let start = Instant::now();
    let e = Client::connect_timeout(&path, Duration::from_millis(200)).unwrap_err();
    assert!(start.elapsed() < WAIT, "took {:?}", start.elapsed());
    assert_eq!(e.errno(), Some(libc::ETIMEDOUT), "{e}");
}

#[test]
fn sockets_past_the_per_connection_limit_are_emfile_and_ids_stay_lowest_free() {
    let t = limited(small_limits());
    let mut c = t.client();
    let ids: Vec<_> = (0..4).map(|_| c.udp_socket().unwrap()).collect();
    assert_eq!(ids, [3, 4, 5, 6]);
    assert_eq!(remote_errno(c.udp_socket()), libc::EMFILE);
    assert_eq!(remote_errno(c.tcp_socket()), libc::EMFILE);
    let st = c.stats().unwrap();
    assert_eq!((st.sockets, st.sockets_refused), (4, 2));
    // Another connection has its own limit.
    let mut other = t.client();
    assert_eq!(other.udp_socket().unwrap(), 3);
    drop(other);
    // Freed ids come back lowest first, then new ones.
    c.close(5).unwrap();
    c.close(3).unwrap();
    assert_eq!(c.udp_socket().unwrap(), 3);
    assert_eq!(c.udp_socket().unwrap(), 5);
    c.close(6).unwrap();
    assert_eq!(c.udp_socket().unwrap(), 6);
    assert_eq!(remote_errno(c.udp_socket()), libc::EMFILE);
}

#[test]
fn frames_with_trailing_bytes_are_einval_and_the_connection_lives_on() {
    let t = Setup::new();
    let mut s = raw(&t.path);
    let mut frame = encode_frame(&Request::Stats).unwrap();
    frame.push(0);
    let len = (frame.len() - 4) as u32;
    frame[..4].copy_from_slice(&len.to_be_bytes());
    s.write_all(&frame).unwrap();
    match read_frame::<Response>(&mut s).unwrap() {
        Response::Error { errno, .. } => assert_eq!(errno, libc::EINVAL),
        r => panic!("expected EINVAL, got {r:?}"),
    }
    write_frame(&mut s, &Request::Stats).unwrap();
    assert!(matches!(
        read_frame::<Response>(&mut s).unwrap(),
        Response::Stats(_)
    ));
}

#[test]
fn ping_answers_go_only_to_the_connection_that_asked() {
    let t = Setup::new();
    let mut a = t.client();
    let mut b = t.client();
    // The same identifier on two connections (two pingers whose pids collide).
    a.ping_send(B_IP, 0x42, 1, None, b"a").unwrap();
    b.ping_send(B_IP, 0x42, 1, None, b"bb").unwrap();
    let (ra, _) = a.ping_recv(0x42, WAIT).unwrap().expect("a's answer");
    let (rb, _) = b.ping_recv(0x42, WAIT).unwrap().expect("b's answer");
    assert!(
        matches!(
            ra,
            PingAnswer::Reply {
                ident: 0x42,
                seq: 1,
                len: 1,
                ..
            }
        ),
        "{ra:?}"
    );
    assert!(
        matches!(
            rb,
            PingAnswer::Reply {
                ident: 0x42,
                seq: 1,
                len: 2,
                ..
            }
        ),
        "{rb:?}"
    );
    // Nothing more for either, and a third connection sees nothing of theirs.
    a.ping_send(B_IP, 0x42, 2, None, b"a").unwrap();
    let mut c = t.client();
    assert_eq!(c.ping_recv(0x42, Duration::from_millis(200)).unwrap(), None);
    assert_eq!(b.ping_recv(0x42, Duration::from_millis(60)).unwrap(), None);
    let (ra, _) = a.ping_recv(0x42, WAIT).unwrap().expect("a's second answer");
    assert_eq!(ra.seq(), 2);
}

#[test]
fn answers_nobody_takes_are_evicted_and_counted() {
    let t = Setup::new();
    let mut c = t.client();
    let n = 300u16;
    for seq in 0..n {
        c.ping_send(B_IP, 9, seq, None, b"").unwrap();
    }
    let deadline = Instant::now() + WAIT;
    loop {
        let st = c.stats().unwrap();
        if st.pings_evicted >= u64::from(n) - 256 {
            break;
        }
        assert!(Instant::now() < deadline, "stats stuck at {st:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// What only the driver sees (here: frames it could not hand to a peer that went away) is
/// folded into the device counters of `ip -s link`, as a Linux driver counts them into
/// `rtnl_link_stats64`.
#[test]
fn driver_send_failures_show_in_the_link_counters() {
    let Setup {
        server,
        a,
        b,
        path,
        _dir,
    } = Setup::new();
    b.shutdown().unwrap();
    let mut c = Client::connect(&path).unwrap();
    let id = c.socket(SockType::Udp).unwrap();
    c.send_to(id, b"anyone?", Some(sa(B_IP, 9))).unwrap();
    // The ARP request for 10.0.0.2 cannot be delivered: the other end is gone.
    let deadline = Instant::now() + WAIT;
    let errors = loop {
        let CtlResponse::Links(links) = c.ctl(CtlRequest::LinkList).unwrap() else {
            panic!()
        };
        let veth0 = links.iter().find(|l| l.name == "veth0").unwrap().stats;
        if veth0.tx_errors + veth0.tx_dropped > 0 || Instant::now() > deadline {
            break veth0.tx_errors + veth0.tx_dropped;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    assert!(errors > 0, "driver failures missing from the link counters");
    drop(c);
    drop(server);
    drop(a);
}

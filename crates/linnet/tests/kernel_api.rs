//! The kernel-style front door (`linnet::kernel`) on a running stack over `lo`: the seed
//! labs' calls with their blocking and their negative-errno returns.
//!
//! Linux: net/socket.c (`sock_create_kern`, `kernel_sendmsg`, `kernel_recvmsg`,
//! `kernel_accept`, `sock_release`), net/ipv4/af_inet.c (`inet_accept`, `inet_getname`,
//! `inet_stream_connect`).
//! RFCs: none.

use std::net::{Ipv4Addr, SocketAddrV4};
use std::thread;
use std::time::Duration;

use linnet::core::socket::poll::PollMask;
use linnet::core::{Stack, StackConfig};
use linnet::kernel::*;
use linnet::Runtime;

fn runtime() -> Runtime {
    Runtime::new(Stack::new(StackConfig::default(), 7)).unwrap()
}

fn lo(port: u16) -> SockaddrIn {
    SockaddrIn {
        sin_family: AF_INET as u16,
        sin_port: htons(port),
        sin_addr: InAddr {
            s_addr: htonl(INADDR_LOOPBACK),
        },
    }
}

/// Lab 3 + 4's shape: bind, listen, a blocking accept that a second thread's connect ends,
/// getname(peer) equal to the client's own address, data both ways through kvecs, release.
#[test]
fn tcp_listen_blocking_accept_getname_and_kvec_data() {
    let rt = runtime();
    let net = rt.handle().clone();
    let sock = sock_create_kern(&net, PF_INET, SOCK_STREAM, IPPROTO_TCP).unwrap();
    assert_eq!(sock.ops().name(), "inet_stream_ops");
    sock.ops()
        .bind(&sock, &lo(60000), SOCKADDR_IN_SIZE)
        .unwrap();
    sock.ops().listen(&sock, 5).unwrap();
    let mut me = SockaddrIn::default();
    assert_eq!(sock.ops().getname(&sock, &mut me, 0), Ok(16));
    assert_eq!(me.to_string(), "127.0.0.1:60000");

    let net2 = net.clone();
    let client = thread::spawn(move || {
        let c = sock_create_kern(&net2, PF_INET, SOCK_STREAM, IPPROTO_TCP).unwrap();
        c.ops()
            .connect(&c, &lo(60000), SOCKADDR_IN_SIZE, 0)
            .unwrap();
        let mut local = SockaddrIn::default();
        kernel_getsockname(&c, &mut local).unwrap();
        let (a, b) = (b"kernel".as_slice(), b"socket".as_slice());
        let msg = Msghdr::default();
        assert_eq!(
            kernel_sendmsg(&c, &msg, &[Kvec::new(a), Kvec::new(b)], 2, 12),
            Ok(12)
        );
        let mut buf = [0u8; 8];
        let mut m = Msghdr::default();
        let n = kernel_recvmsg(&c, &mut m, &mut [KvecMut::new(&mut buf)], 1, 8, 0).unwrap();
        assert_eq!(&buf[..n], b"ok");
        sock_release(c);
        local
    });

    let mut new_sock = sock_create_lite(PF_INET, SOCK_STREAM, IPPROTO_TCP).unwrap();
    assert!(new_sock.ops.is_none());
    new_sock.ops = sock.ops;
    sock.ops().accept(&sock, &mut new_sock, 0, true).unwrap();
    let mut raddr = SockaddrIn::default();
    assert_eq!(sock.ops().getname(&new_sock, &mut raddr, 1), Ok(16));

    // MSG_WAITALL over two kvecs: all 12 bytes, scattered 5 + 7.
    let (mut x, mut y) = ([0u8; 5], [0u8; 7]);
    let mut msg = Msghdr::default();
    let n = kernel_recvmsg(
        &new_sock,
        &mut msg,
        &mut [KvecMut::new(&mut x), KvecMut::new(&mut y)],
        2,
        12,
        MSG_WAITALL,
    )
    .unwrap();
    assert_eq!(n, 12);
    assert_eq!((&x, &y), (b"kerne", b"lsocket"));
    assert_eq!(msg.msg_name, None, "no msg_name on a stream");
    assert_eq!(
        kernel_sendmsg(&new_sock, &Msghdr::default(), &[Kvec::new(b"ok")], 1, 2),
        Ok(2)
    );
    let local = client.join().unwrap();
    assert_eq!(raddr, local, "getname(peer) is the client's address");
    assert_eq!(
        format!("connection established to {raddr}"),
        format!(
            "connection established to 127.0.0.1:{}",
            local.to_v4().port()
        )
    );
    sock_release(new_sock);
    sock_release(sock);
    assert_eq!(rt.handle().inspect(|s| s.socket_count()), 0);
}

/// UDP: kernel_sendmsg gathers kvecs into one datagram to `msg_name`; kernel_recvmsg fills
/// `msg_name` with the sender and `msg_flags` with MSG_TRUNC when the kvecs are short
/// (and returns the real length with MSG_TRUNC in its flags).
#[test]
fn udp_gather_send_and_trunc_receive() {
    let rt = runtime();
    let net = rt.handle();
    let rx = sock_create_kern(net, PF_INET, SOCK_DGRAM, IPPROTO_UDP).unwrap();
    assert_eq!(rx.ops().name(), "inet_dgram_ops");
    kernel_bind(&rx, &lo(60001), SOCKADDR_IN_SIZE).unwrap();
    let tx = sock_create_kern(net, PF_INET, SOCK_DGRAM, IPPROTO_UDP).unwrap();
    kernel_bind(&tx, &lo(60000), SOCKADDR_IN_SIZE).unwrap();
    let msg = Msghdr {
        msg_name: Some(lo(60001)),
        msg_namelen: SOCKADDR_IN_SIZE,
        ..Msghdr::default()
    };
    let parts = [Kvec::new(b"kernel"), Kvec::new(b"socket\n\0")];
    assert_eq!(kernel_sendmsg(&tx, &msg, &parts, 2, 14), Ok(14));
    let mut buf = [0u8; 6];
    let mut m = Msghdr::default();
    let n = kernel_recvmsg(&rx, &mut m, &mut [KvecMut::new(&mut buf)], 1, 6, 0).unwrap();
    assert_eq!(
        n, 6,
        "the bytes copied (the full length only with MSG_TRUNC in flags)"
    );
    assert_eq!(&buf, b"kernel");
    assert_eq!(m.msg_flags & MSG_TRUNC, MSG_TRUNC);
    assert_eq!(m.msg_name, Some(lo(60000)));
    assert_eq!(m.msg_namelen, 16);
    // MSG_TRUNC in flags: the datagram's real length.
    assert_eq!(kernel_sendmsg(&tx, &msg, &parts, 2, 14), Ok(14));
    let n = kernel_recvmsg(&rx, &mut m, &mut [KvecMut::new(&mut buf)], 1, 6, MSG_TRUNC).unwrap();
    assert_eq!(n, 14);
}

/// The kernel's negative returns: -EAGAIN for an empty non-blocking receive and for an
/// SO_RCVTIMEO that runs out, -EOPNOTSUPP for listen on UDP, -EINVAL for a short address,
/// -ECONNREFUSED for a blocking connect to a closed port, -EBADF for NULL ops; a kernel
/// socket may bind a port below 1024.
#[test]
fn errors_are_negative_errno() {
    let rt = runtime();
    let net = rt.handle();
    let u = sock_create_kern(net, PF_INET, SOCK_DGRAM, IPPROTO_UDP).unwrap();
    kernel_bind(&u, &lo(53), SOCKADDR_IN_SIZE).unwrap();
    let e = u.ops().listen(&u, 5).unwrap_err();
    assert_eq!(e.to_string(), "-EOPNOTSUPP");
    assert_eq!(Err::<(), _>(e).ret(), -95);
    let mut b = [0u8; 4];
    let mut m = Msghdr::default();
    let r = kernel_recvmsg(&u, &mut m, &mut [KvecMut::new(&mut b)], 1, 4, MSG_DONTWAIT);
    assert_eq!(r.ret(), -11);
    // SO_RCVTIMEO 100 ms: a blocking receive gives up with EAGAIN.
    let mut tv = [0u8; 16];
    tv[8..].copy_from_slice(&100_000i64.to_ne_bytes());
    kernel_setsockopt(&u, SOL_SOCKET, SO_RCVTIMEO, &tv).unwrap();
    let t0 = std::time::Instant::now();
    let r = kernel_recvmsg(&u, &mut m, &mut [KvecMut::new(&mut b)], 1, 4, 0);
    assert_eq!(r.map_err(|e| e.to_string()), Err("-EAGAIN".to_string()));
    assert!(t0.elapsed() >= Duration::from_millis(90));

    let t = sock_create_kern(net, PF_INET, SOCK_STREAM, IPPROTO_TCP).unwrap();
    assert_eq!(t.ops().bind(&t, &lo(60002), 8).ret(), -22);
    assert_eq!(t.ops().connect(&t, &lo(9), SOCKADDR_IN_SIZE, 0).ret(), -111);
    let mut a = SockaddrIn::default();
    assert_eq!(kernel_getpeername(&t, &mut a).ret(), -107);
    let lite = sock_create_lite(PF_INET, SOCK_STREAM, IPPROTO_TCP).unwrap();
    assert_eq!(lite.ops().listen(&lite, 5).ret(), -9);
    assert_eq!(
        sock_create_kern(net, PF_INET, SOCK_STREAM, IPPROTO_UDP)
            .map(|_| ())
            .ret(),
        -93
    );
}

/// Non-blocking accept and connect (`O_NONBLOCK` in flags): -EAGAIN with an empty queue,
/// -EINPROGRESS for the connect; `ops->poll` then shows the listener readable.
#[test]
fn nonblocking_accept_connect_and_poll() {
    let rt = runtime();
    let net = rt.handle();
    let l = sock_create_kern(net, PF_INET, SOCK_STREAM, IPPROTO_TCP).unwrap();
    kernel_bind(&l, &lo(60003), SOCKADDR_IN_SIZE).unwrap();
    kernel_listen(&l, 5).unwrap();
    assert_eq!(kernel_accept(&l, O_NONBLOCK).map(|_| ()).ret(), -11);
    assert_eq!(l.ops().poll(&l), Ok(PollMask::NONE));
    let c = sock_create_kern(net, PF_INET, SOCK_STREAM, IPPROTO_TCP).unwrap();
    let r = kernel_connect(&c, &lo(60003), SOCKADDR_IN_SIZE, O_NONBLOCK);
    assert!(r.is_ok() || r.ret() == -115, "{r:?}");
    // Wait for the handshake on the runtime's events, through the listener's poll mask.
    let lid = l.sk().unwrap();
    net.wait_for(Some(Duration::from_secs(5)), |st| {
        st.sock_poll(lid).contains(PollMask::POLLIN).then_some(())
    })
    .unwrap();
    let a = kernel_accept(&l, O_NONBLOCK).unwrap();
    let mut peer = SockaddrIn::default();
    kernel_getpeername(&a, &mut peer).unwrap();
    let mut local = SockaddrIn::default();
    kernel_getsockname(&c, &mut local).unwrap();
    assert_eq!(peer, local);
    assert_eq!(peer.to_v4().ip(), &Ipv4Addr::LOCALHOST);
    assert_eq!(
        SockaddrIn::from_v4(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 60000)),
        lo(60000)
    );
    kernel_sock_shutdown(&c, SHUT_WR).unwrap();
    let mut b = [0u8; 4];
    let mut m = Msghdr::default();
    assert_eq!(
        kernel_recvmsg(&a, &mut m, &mut [KvecMut::new(&mut b)], 1, 4, 0),
        Ok(0),
        "EOF after the peer's FIN"
    );
}

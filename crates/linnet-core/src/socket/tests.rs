//! Rule tests of the socket layer: `socket()` validation, the ops tables, the calls'
//! errors in Linux's order, MSG flags and the options. One stack (`testutil::Harness`) on
//! virtual time; TCP peers are the stack itself over `lo` or the scripted peer on `eth0`.

use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use super::addr::*;
use super::opt::*;
use super::*;
use crate::testutil::*;
use crate::StackConfig;

fn sa(ip: Ipv4Addr, port: u16) -> SockAddr {
    SockAddr::inet(SocketAddrV4::new(ip, port))
}

fn lo(port: u16) -> SockAddr {
    sa(Ipv4Addr::LOCALHOST, port)
}

fn tcp(h: &mut Harness) -> SocketId {
    h.stack.sys_socket(AF_INET, SOCK_STREAM, 0).unwrap()
}

fn udp(h: &mut Harness) -> SocketId {
    h.stack.sys_socket(AF_INET, SOCK_DGRAM, 0).unwrap()
}

fn set_int(h: &mut Harness, s: SocketId, level: i32, name: i32, v: i32) -> Result<(), Errno> {
    h.stack.sys_setsockopt(s, level, name, &v.to_ne_bytes())
}

fn get_int(h: &mut Harness, s: SocketId, level: i32, name: i32) -> Result<i32, Errno> {
    let mut b = [0u8; 4];
    let n = h.stack.sys_getsockopt(s, level, name, &mut b)?;
    assert_eq!(n, 4);
    Ok(i32::from_ne_bytes(b))
}

/// A listener on 127.0.0.1:`port` and a connected pair over `lo`: (listener, client,
/// accepted).
fn loopback_pair(h: &mut Harness, port: u16) -> (SocketId, SocketId, SocketId) {
    let l = tcp(h);
    h.stack.sys_bind(l, &lo(port)).unwrap();
    h.stack.sys_listen(l, 16).unwrap();
    let c = h
        .stack
        .sys_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)
        .unwrap();
    assert_eq!(h.stack.sys_connect(c, &lo(port)), Err(Errno::EINPROGRESS));
    // Over lo the handshake is done within the call: the second connect reports it.
    assert_eq!(h.stack.sys_connect(c, &lo(port)), Ok(()));
    let (a, peer) = h.stack.sys_accept4(l, 0).unwrap();
    assert_eq!(peer, h.stack.sys_getsockname(c).unwrap());
    (l, c, a)
}

// ---- socket() ---------------------------------------------------------------------------

/// `__sys_socket` / `__sock_create` / `inet_create`: flag bits other than SOCK_NONBLOCK and
/// SOCK_CLOEXEC are EINVAL (seed 7.1(c): `SOCK_DGRAM|0x40000000`), an unknown family
/// EAFNOSUPPORT, a type past SOCK_MAX or a protocol past IPPROTO_MAX EINVAL, a type with no
/// protocol ESOCKTNOSUPPORT, a protocol the type does not carry EPROTONOSUPPORT.
#[test]
fn socket_validation_errors_as_inet_create() {
    let mut h = Harness::new();
    let st = &mut h.stack;
    assert_eq!(
        st.sys_socket(AF_INET, SOCK_DGRAM | 0x4000_0000, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(st.sys_socket(255, SOCK_STREAM, 0), Err(Errno::EAFNOSUPPORT));
    assert_eq!(st.sys_socket(-1, SOCK_STREAM, 0), Err(Errno::EAFNOSUPPORT));
    assert_eq!(st.sys_socket(AF_INET, 11, 0), Err(Errno::EINVAL));
    assert_eq!(
        st.sys_socket(AF_INET, SOCK_SEQPACKET, 0),
        Err(Errno::ESOCKTNOSUPPORT)
    );
    assert_eq!(st.sys_socket(AF_INET, 0, 0), Err(Errno::ESOCKTNOSUPPORT));
    assert_eq!(
        st.sys_socket(AF_INET, SOCK_STREAM, IPPROTO_UDP),
        Err(Errno::EPROTONOSUPPORT)
    );
    assert_eq!(
        st.sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP),
        Err(Errno::EPROTONOSUPPORT)
    );
    assert_eq!(st.sys_socket(AF_INET, SOCK_STREAM, -1), Err(Errno::EINVAL));
    assert_eq!(
        st.sys_socket(AF_INET, SOCK_STREAM, IPPROTO_MAX),
        Err(Errno::EINVAL)
    );
    assert_eq!(st.socket_count(), 0, "nothing allocated on failure");
}

/// Protocol 0 picks the type's protocol (`SO_PROTOCOL`), the flags set the file's
/// O_NONBLOCK / O_CLOEXEC, the socket starts `SS_UNCONNECTED` with the type's ops table.
#[test]
fn socket_default_protocol_flags_and_ops() {
    let mut h = Harness::new();
    let t = h
        .stack
        .sys_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
        .unwrap();
    let u = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_UDP)
        .unwrap();
    let ts = h.stack.socket(t).unwrap();
    assert_eq!(ts.state, SocketState::Unconnected);
    assert!(ts.nonblock && ts.cloexec && !ts.privileged);
    assert_eq!(ts.ops.name, "inet_stream_ops");
    let us = h.stack.socket(u).unwrap();
    assert!(!us.nonblock && !us.cloexec);
    assert_eq!(us.ops.name, "inet_dgram_ops");
    assert_eq!(get_int(&mut h, t, SOL_SOCKET, SO_PROTOCOL), Ok(IPPROTO_TCP));
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_PROTOCOL), Ok(IPPROTO_UDP));
    assert_eq!(get_int(&mut h, t, SOL_SOCKET, SO_TYPE), Ok(SOCK_STREAM));
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_TYPE), Ok(SOCK_DGRAM));
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_DOMAIN), Ok(AF_INET));
    assert!(h
        .stack
        .sock_create_kern(AF_INET, SOCK_DGRAM, 0)
        .is_ok_and(|k| h.stack.socket(k).unwrap().privileged));
}

/// `max_sockets` bounds the table: EMFILE, counted.
#[test]
fn socket_table_full_is_emfile_and_counted() {
    let cfg = StackConfig {
        max_sockets: 2,
        ..StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1);
    udp(&mut h);
    tcp(&mut h);
    assert_eq!(
        h.stack.sys_socket(AF_INET, SOCK_DGRAM, 0),
        Err(Errno::EMFILE)
    );
    assert_eq!(h.stack.socket_table_fulls(), 1);
}

/// A closed socket's id is stale: EBADF, and the protocol sock is gone.
#[test]
fn close_releases_and_id_goes_stale() {
    let mut h = Harness::new();
    let u = udp(&mut h);
    h.stack.sys_bind(u, &sa(OUR_IP, 5000)).unwrap();
    h.stack.sys_close(u).unwrap();
    assert_eq!(h.stack.sys_close(u), Err(Errno::EBADF));
    assert_eq!(h.stack.sys_getsockname(u), Err(Errno::EBADF));
    assert_eq!(h.stack.udp_socket_count(), 0);
    // The port is free again.
    let u2 = udp(&mut h);
    assert_eq!(h.stack.sys_bind(u2, &sa(OUR_IP, 5000)), Ok(()));
}

// ---- proto_ops: sock_no_* ---------------------------------------------------------------

/// Seed 7.2(c): `listen()`/`accept()` on a UDP socket are `sock_no_listen` /
/// `sock_no_accept` (EOPNOTSUPP); `socketpair(AF_INET)` is `sock_no_socketpair`.
#[test]
fn udp_listen_accept_and_socketpair_are_eopnotsupp() {
    let mut h = Harness::new();
    let u = udp(&mut h);
    assert_eq!(h.stack.sys_listen(u, 5), Err(Errno::EOPNOTSUPP));
    assert_eq!(h.stack.sys_accept4(u, 0), Err(Errno::EOPNOTSUPP));
    assert_eq!(INET_DGRAM_OPS.socketpair(), Err(Errno::EOPNOTSUPP));
    assert_eq!(INET_STREAM_OPS.socketpair(), Err(Errno::EOPNOTSUPP));
}

// ---- bind -------------------------------------------------------------------------------

/// `inet_bind_sk`/`__inet_bind` order: a short address is EINVAL, a family other than
/// AF_INET EAFNOSUPPORT (AF_UNSPEC passes with INADDR_ANY only), an address that is not ours
/// EADDRNOTAVAIL, and only then a second bind EINVAL.
#[test]
fn bind_checks_in_inet_bind_order() {
    let mut h = Harness::new();
    let u = udp(&mut h);
    let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5000);
    let short = SockAddr::from_bytes(&sa(OUR_IP, 5000).as_bytes()[..15]).unwrap();
    assert_eq!(h.stack.sys_bind(u, &short), Err(Errno::EINVAL));
    let v6 = SockAddr::with_family(AF_INET6 as u16, any, 16);
    assert_eq!(h.stack.sys_bind(u, &v6), Err(Errno::EAFNOSUPPORT));
    let unspec_ours = SockAddr::with_family(0, SocketAddrV4::new(OUR_IP, 5000), 16);
    assert_eq!(h.stack.sys_bind(u, &unspec_ours), Err(Errno::EAFNOSUPPORT));
    assert_eq!(
        h.stack.sys_bind(u, &sa(Ipv4Addr::new(10, 9, 9, 9), 5000)),
        Err(Errno::EADDRNOTAVAIL)
    );
    let unspec_any = SockAddr::with_family(0, any, 16);
    assert_eq!(h.stack.sys_bind(u, &unspec_any), Ok(()));
    assert_eq!(h.stack.sys_getsockname(u), Ok(any));
    assert_eq!(h.stack.sys_bind(u, &sa(OUR_IP, 5001)), Err(Errno::EINVAL));
    // EADDRNOTAVAIL comes before the double-bind EINVAL.
    assert_eq!(
        h.stack.sys_bind(u, &sa(Ipv4Addr::new(10, 9, 9, 9), 5001)),
        Err(Errno::EADDRNOTAVAIL)
    );
    assert!(
        SockAddr::from_bytes(&[0; 129]).is_err(),
        "past sockaddr_storage"
    );
}

/// Seed 7.5(c): bind to 10.9.9.9 (not ours) is EADDRNOTAVAIL, and succeeds after
/// `ip_nonlocal_bind=1` (TCP and UDP).
#[test]
fn bind_nonlocal_succeeds_with_ip_nonlocal_bind() {
    let mut h = Harness::new();
    let far = sa(Ipv4Addr::new(10, 9, 9, 9), 7000);
    let (u, t) = (udp(&mut h), tcp(&mut h));
    assert_eq!(h.stack.sys_bind(u, &far), Err(Errno::EADDRNOTAVAIL));
    assert_eq!(h.stack.sys_bind(t, &far), Err(Errno::EADDRNOTAVAIL));
    h.stack.config_mut().ip_nonlocal_bind = true;
    assert_eq!(h.stack.sys_bind(u, &far), Ok(()));
    assert_eq!(h.stack.sys_bind(t, &far), Ok(()));
    assert_eq!(h.stack.sys_getsockname(t).unwrap(), far.as_inet().unwrap());
}

/// Seed 7.5(b): a port below `ip_unprivileged_port_start` needs CAP_NET_BIND_SERVICE:
/// EACCES for an unprivileged socket (before the double-bind check), fine for a privileged
/// one or with the sysctl lowered; port 0 is never refused.
#[test]
fn bind_low_port_needs_privilege() {
    let mut h = Harness::new();
    let t = tcp(&mut h);
    assert_eq!(h.stack.sys_bind(t, &sa(OUR_IP, 80)), Err(Errno::EACCES));
    assert_eq!(h.stack.sys_bind(t, &sa(OUR_IP, 1023)), Err(Errno::EACCES));
    assert_eq!(h.stack.sys_bind(t, &sa(OUR_IP, 1024)), Ok(()));
    let u = udp(&mut h);
    assert_eq!(h.stack.sys_bind(u, &sa(OUR_IP, 0)), Ok(()));
    let k = h.stack.sock_create_kern(AF_INET, SOCK_STREAM, 0).unwrap();
    assert_eq!(h.stack.sys_bind(k, &sa(OUR_IP, 80)), Ok(()));
    h.stack.config_mut().ip_unprivileged_port_start = 0;
    let t2 = tcp(&mut h);
    assert_eq!(h.stack.sys_bind(t2, &sa(OUR_IP, 81)), Ok(()));
}

/// `inet_csk_get_port`: a taken port is EADDRINUSE, wildcard against specific too; with
/// SO_REUSEADDR on both and neither listening the TCP port is shared; a second listener
/// on it is EADDRINUSE.
#[test]
fn bind_conflicts_and_reuseaddr() {
    let mut h = Harness::new();
    let (a, b, c) = (tcp(&mut h), tcp(&mut h), tcp(&mut h));
    h.stack.sys_bind(a, &sa(OUR_IP, 6000)).unwrap();
    assert_eq!(
        h.stack.sys_bind(b, &sa(OUR_IP, 6000)),
        Err(Errno::EADDRINUSE)
    );
    assert_eq!(
        h.stack.sys_bind(b, &sa(Ipv4Addr::UNSPECIFIED, 6000)),
        Err(Errno::EADDRINUSE)
    );
    assert_eq!(h.stack.sys_bind(b, &lo(6000)), Ok(()), "disjoint addresses");
    for s in [a, c] {
        set_int(&mut h, s, SOL_SOCKET, SO_REUSEADDR, 1).unwrap();
        assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_REUSEADDR), Ok(1));
    }
    assert_eq!(h.stack.sys_bind(c, &sa(OUR_IP, 6000)), Ok(()));
    assert_eq!(h.stack.sys_listen(a, 1), Ok(()));
    assert_eq!(h.stack.sys_listen(c, 1), Err(Errno::EADDRINUSE));
    let (u1, u2) = (udp(&mut h), udp(&mut h));
    h.stack.sys_bind(u1, &sa(OUR_IP, 6000)).unwrap();
    assert_eq!(
        h.stack.sys_bind(u2, &sa(Ipv4Addr::UNSPECIFIED, 6000)),
        Err(Errno::EADDRINUSE)
    );
}

// ---- connect ----------------------------------------------------------------------------

/// `__inet_stream_connect` on a non-blocking socket to the scripted peer: EINPROGRESS and
/// SS_CONNECTING; again EALREADY; once the SYN-ACK arrived, connect returns 0 and the socket
/// is SS_CONNECTED; then EISCONN. getpeername is ENOTCONN in SYN-SENT.
#[test]
fn stream_connect_einprogress_ealready_then_connected_then_eisconn() {
    let mut h = Harness::new().with_static_peer();
    let s = h
        .stack
        .sys_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)
        .unwrap();
    let peer = sa(PEER_IP, 80);
    assert_eq!(h.stack.sys_connect(s, &peer), Err(Errno::EINPROGRESS));
    assert_eq!(h.stack.socket(s).unwrap().state, SocketState::Connecting);
    assert_eq!(h.stack.sys_getpeername(s), Err(Errno::ENOTCONN));
    let syn = tcp_segments(&h.drain()).pop().expect("a SYN");
    assert_eq!(syn.flag_str(), "S");
    assert_eq!(h.stack.sys_connect(s, &peer), Err(Errno::EALREADY));
    let synack = TcpSeg {
        sport: 80,
        dport: syn.sport,
        seq: 5000,
        ack: Some(syn.seq.wrapping_add(1)),
        syn: true,
        window: 65535,
        mss: Some(1460),
        ..TcpSeg::default()
    };
    h.receive(&tcp_frame(&synack));
    assert_eq!(h.stack.socket(s).unwrap().state, SocketState::Connecting);
    assert_eq!(h.stack.sys_connect(s, &peer), Ok(()));
    assert_eq!(h.stack.socket(s).unwrap().state, SocketState::Connected);
    assert_eq!(h.stack.sys_connect(s, &peer), Err(Errno::EISCONN));
    assert_eq!(
        h.stack.sys_getpeername(s),
        Ok(SocketAddrV4::new(PEER_IP, 80))
    );
    assert_eq!(
        h.stack.sys_listen(s, 1),
        Err(Errno::EINVAL),
        "not SS_UNCONNECTED"
    );
}

/// Seed 7.5(c): connect to a port with no listener gets ECONNREFUSED after the RST: over
/// `lo` the RST is back within the call, so the blocking form's completion (and a second
/// non-blocking connect) report ECONNREFUSED and the socket is SS_UNCONNECTED again.
#[test]
fn stream_connect_refused_over_loopback() {
    let mut h = Harness::new();
    let s = tcp(&mut h);
    assert_eq!(h.stack.sys_connect(s, &lo(9)), Err(Errno::ECONNREFUSED));
    assert_eq!(h.stack.socket(s).unwrap().state, SocketState::Unconnected);
    let n = h
        .stack
        .sys_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)
        .unwrap();
    assert_eq!(h.stack.sys_connect(n, &lo(9)), Err(Errno::EINPROGRESS));
    assert_eq!(h.stack.sys_connect(n, &lo(9)), Err(Errno::ECONNREFUSED));
    // A third attempt starts over.
    assert_eq!(h.stack.sys_connect(n, &lo(9)), Err(Errno::EINPROGRESS));
    assert_eq!(
        get_int(&mut h, n, SOL_SOCKET, SO_ERROR),
        Ok(Errno::ECONNREFUSED.code())
    );
    assert_eq!(
        get_int(&mut h, n, SOL_SOCKET, SO_ERROR),
        Ok(0),
        "read and cleared"
    );
}

/// A blocking connect that must wait returns EINPROGRESS from the core; after the wait,
/// `sys_connect_complete` gives inet_stream_connect's answer (EINPROGRESS on a timeout,
/// then 0 once connected).
#[test]
fn blocking_connect_completes_through_connect_complete() {
    let mut h = Harness::new().with_static_peer();
    let s = tcp(&mut h);
    assert_eq!(
        h.stack.sys_connect(s, &sa(PEER_IP, 80)),
        Err(Errno::EINPROGRESS)
    );
    assert_eq!(h.stack.sys_connect_complete(s), Err(Errno::EINPROGRESS));
    let syn = tcp_segments(&h.drain()).pop().unwrap();
    h.receive(&tcp_frame(&TcpSeg {
        sport: 80,
        dport: syn.sport,
        seq: 1,
        ack: Some(syn.seq.wrapping_add(1)),
        syn: true,
        window: 1000,
        ..TcpSeg::default()
    }));
    assert_eq!(h.stack.sys_connect_complete(s), Ok(()));
    assert_eq!(
        h.stack.sys_connect_complete(s),
        Err(Errno::EINVAL),
        "not connecting"
    );
}

/// `tcp_v4_connect` / `__ip4_datagram_connect`: a short address is EINVAL, a family other
/// than AF_INET EAFNOSUPPORT, no route ENETUNREACH (TCP and UDP).
#[test]
fn connect_address_errors_and_enetunreach() {
    let mut h = Harness::new();
    let (t, u) = (tcp(&mut h), udp(&mut h));
    let short = SockAddr::from_bytes(&[2, 0, 0, 80]).unwrap();
    let one = SockAddr::from_bytes(&[2]).unwrap();
    let v6 = SockAddr::with_family(10, SocketAddrV4::new(PEER_IP, 80), 16);
    let far = sa(Ipv4Addr::new(192, 0, 2, 1), 80);
    for s in [t, u] {
        assert_eq!(h.stack.sys_connect(s, &one), Err(Errno::EINVAL));
        assert_eq!(h.stack.sys_connect(s, &short), Err(Errno::EINVAL));
        assert_eq!(h.stack.sys_connect(s, &v6), Err(Errno::EAFNOSUPPORT));
        assert_eq!(h.stack.sys_connect(s, &far), Err(Errno::ENETUNREACH));
    }
    // inet_dgram_connect bound the UDP socket before failing: bind is now EINVAL.
    assert_ne!(h.stack.sys_getsockname(u).unwrap().port(), 0);
    assert_eq!(h.stack.sys_bind(u, &sa(OUR_IP, 7000)), Err(Errno::EINVAL));
    // The TCP one is still unbound.
    assert_eq!(h.stack.sys_bind(t, &sa(OUR_IP, 7000)), Ok(()));
}

/// `connect(AF_UNSPEC)` on UDP is `udp_disconnect`: the peer is forgotten (getpeername
/// ENOTCONN, send EDESTADDRREQ) and an autobound port is given back; a port from bind()
/// stays.
#[test]
fn udp_connect_af_unspec_disconnects() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    h.stack.sys_connect(u, &sa(PEER_IP, 53)).unwrap();
    let local = h.stack.sys_getsockname(u).unwrap();
    assert_eq!(*local.ip(), OUR_IP);
    assert_ne!(local.port(), 0);
    assert_eq!(h.stack.socket(u).unwrap().state, SocketState::Unconnected);
    assert_eq!(h.stack.sys_connect(u, &SockAddr::unspec()), Ok(()));
    assert_eq!(h.stack.sys_getpeername(u), Err(Errno::ENOTCONN));
    assert_eq!(
        h.stack.sys_getsockname(u),
        Ok(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
    );
    assert_eq!(
        h.stack.sys_sendto(u, b"x", 0, None),
        Err(Errno::EDESTADDRREQ)
    );
    let b = udp(&mut h);
    h.stack
        .sys_bind(b, &sa(Ipv4Addr::UNSPECIFIED, 5353))
        .unwrap();
    h.stack.sys_connect(b, &sa(PEER_IP, 53)).unwrap();
    h.stack.sys_connect(b, &SockAddr::unspec()).unwrap();
    assert_eq!(
        h.stack.sys_getsockname(b),
        Ok(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5353))
    );
}

// ---- listen / accept ----------------------------------------------------------------------

/// `inet_listen` autobinds an unbound TCP socket to an ephemeral port; listen twice is
/// fine (backlog update); `inet_accept` on a socket that is not listening is EINVAL, an
/// empty queue EAGAIN, unknown accept4 flags EINVAL; the accepted socket is SS_CONNECTED,
/// takes `accept4`'s flags and inherits socket-level options (`sk_clone_lock`).
#[test]
fn listen_autobinds_and_accept_rules() {
    let mut h = Harness::new();
    let t = tcp(&mut h);
    assert_eq!(h.stack.sys_accept4(t, 0), Err(Errno::EINVAL));
    assert_eq!(h.stack.sys_listen(t, -1), Ok(()));
    let port = h.stack.sys_getsockname(t).unwrap().port();
    assert!((32768..=60999).contains(&port), "{port}");
    assert_eq!(h.stack.sys_listen(t, 5), Ok(()));
    assert_eq!(get_int(&mut h, t, SOL_SOCKET, SO_ACCEPTCONN), Ok(1));
    assert_eq!(h.stack.sys_accept4(t, 0), Err(Errno::EAGAIN));
    assert_eq!(h.stack.sys_accept4(t, 0x1), Err(Errno::EINVAL));
    assert_eq!(
        h.stack.sys_bind(t, &lo(7000)),
        Err(Errno::EINVAL),
        "autobound"
    );

    let l = tcp(&mut h);
    h.stack.sys_bind(l, &lo(7001)).unwrap();
    set_int(&mut h, l, SOL_SOCKET, SO_PRIORITY, 5).unwrap();
    set_int(&mut h, l, SOL_SOCKET, SO_RCVLOWAT, 5).unwrap();
    h.stack.sys_listen(l, 4).unwrap();
    let c = tcp(&mut h);
    assert_eq!(h.stack.sys_connect(c, &lo(7001)), Ok(()));
    assert_eq!(h.stack.socket(c).unwrap().state, SocketState::Connected);
    let (a, peer) = h.stack.sys_accept4(l, SOCK_NONBLOCK).unwrap();
    assert_eq!(peer, h.stack.sys_getsockname(c).unwrap());
    let acc = h.stack.socket(a).unwrap();
    assert_eq!(acc.state, SocketState::Connected);
    assert!(acc.nonblock && !acc.cloexec);
    assert_eq!(get_int(&mut h, a, SOL_SOCKET, SO_RCVLOWAT), Ok(5));
    // Except sk_priority, which sk_clone_lock sets to 0.
    assert_eq!(get_int(&mut h, a, SOL_SOCKET, SO_PRIORITY), Ok(0));
    assert_eq!(get_int(&mut h, a, SOL_SOCKET, SO_ACCEPTCONN), Ok(0));
    assert_eq!(h.stack.sys_getpeername(a), Ok(peer));
    assert_eq!(h.stack.socket_by_sk(h.stack.socket(a).unwrap().sk), Some(a));
}

// ---- shutdown -----------------------------------------------------------------------------

/// `inet_shutdown`: `how` outside 0..=2 is EINVAL; an unconnected socket (TCP or UDP) is
/// ENOTCONN but still sets the bits (a UDP send after it is EPIPE, as Linux 6.18 answers);
/// a connected UDP socket accepts it; SHUT_RD on a listener stops it
/// (SS_UNCONNECTED, SO_ACCEPTCONN 0) while SHUT_WR leaves it listening.
#[test]
fn shutdown_rules() {
    let mut h = Harness::new().with_static_peer();
    let (t, u) = (tcp(&mut h), udp(&mut h));
    for how in [3, -1, 1000] {
        assert_eq!(h.stack.sys_shutdown(t, how), Err(Errno::EINVAL));
    }
    assert_eq!(h.stack.sys_shutdown(t, SHUT_RDWR), Err(Errno::ENOTCONN));
    assert_eq!(h.stack.sys_shutdown(u, SHUT_WR), Err(Errno::ENOTCONN));
    h.stack.sys_connect(u, &sa(PEER_IP, 53)).unwrap();
    assert_eq!(h.stack.sys_shutdown(u, SHUT_RD), Ok(()));
    // The ENOTCONN shutdown(SHUT_WR) above still set SEND_SHUTDOWN (inet_shutdown falls
    // through to the bits), so sends are EPIPE even though it failed.
    assert_eq!(h.stack.sys_sendto(u, b"x", 0, None), Err(Errno::EPIPE));
    // Blocking recv on a shut-down empty UDP socket: 0, nothing to wait for.
    let mut buf = [0u8; 8];
    assert_eq!(h.stack.sys_recvmsg(u, &mut buf, 0).map(|m| m.len), Ok(0));
    assert_eq!(
        h.stack.sys_recvmsg(u, &mut buf, MSG_DONTWAIT),
        Err(Errno::EAGAIN)
    );
    let l = tcp(&mut h);
    h.stack.sys_listen(l, 1).unwrap();
    assert_eq!(h.stack.sys_shutdown(l, SHUT_WR), Ok(()));
    assert_eq!(get_int(&mut h, l, SOL_SOCKET, SO_ACCEPTCONN), Ok(1));
    assert_eq!(h.stack.sys_shutdown(l, SHUT_RD), Ok(()));
    assert_eq!(get_int(&mut h, l, SOL_SOCKET, SO_ACCEPTCONN), Ok(0));
    assert_eq!(h.stack.socket(l).unwrap().state, SocketState::Unconnected);
}

/// Send after `shutdown(SHUT_WR)` on TCP is EPIPE (MSG_NOSIGNAL or not: no signals in a
/// library); the peer reads the data then EOF. Send on a never-connected TCP socket is
/// EPIPE too (`sk_stream_wait_connect`), recv ENOTCONN.
#[test]
fn tcp_send_after_shutdown_is_epipe() {
    let mut h = Harness::new();
    let (_l, c, a) = loopback_pair(&mut h, 7100);
    assert_eq!(h.stack.sys_sendto(c, b"bye", MSG_NOSIGNAL, None), Ok(3));
    assert_eq!(h.stack.sys_shutdown(c, SHUT_WR), Ok(()));
    assert_eq!(
        h.stack.sys_sendto(c, b"x", MSG_NOSIGNAL, None),
        Err(Errno::EPIPE)
    );
    assert_eq!(h.stack.sys_sendto(c, b"x", 0, None), Err(Errno::EPIPE));
    let mut buf = [0u8; 16];
    assert_eq!(h.stack.sys_recvmsg(a, &mut buf, 0).unwrap().len, 3);
    assert_eq!(&buf[..3], b"bye");
    assert_eq!(h.stack.sys_recvmsg(a, &mut buf, 0).unwrap().len, 0, "EOF");
    let fresh = tcp(&mut h);
    assert_eq!(h.stack.sys_sendto(fresh, b"x", 0, None), Err(Errno::EPIPE));
    assert_eq!(
        h.stack.sys_recvmsg(fresh, &mut buf, 0),
        Err(Errno::ENOTCONN)
    );
}

// ---- MSG flags ----------------------------------------------------------------------------

/// TCP `MSG_PEEK` copies without consuming; `MSG_TRUNC` discards; `MSG_OOB` on receive
/// finds no urgent data (EINVAL) until `send(MSG_OOB)` makes the last byte urgent, which is
/// then read once out of band with `MSG_OOB` in `msg_flags`; `MSG_ERRQUEUE` finds an empty
/// error queue (EAGAIN).
#[test]
fn tcp_recv_flags() {
    let mut h = Harness::new();
    let (_l, c, a) = loopback_pair(&mut h, 7200);
    h.stack.sys_sendto(c, b"hello world", 0, None).unwrap();
    let mut buf = [0u8; 5];
    let m = h.stack.sys_recvmsg(a, &mut buf, MSG_PEEK).unwrap();
    assert_eq!((m.len, &buf), (5, b"hello"));
    let m = h.stack.sys_recvmsg(a, &mut buf, MSG_PEEK).unwrap();
    assert_eq!((m.len, &buf), (5, b"hello"));
    let mut six = [0u8; 6];
    assert_eq!(h.stack.sys_recvmsg(a, &mut six, MSG_TRUNC).unwrap().len, 6);
    assert_eq!(six, [0; 6], "MSG_TRUNC copies nothing");
    let m = h.stack.sys_recvmsg(a, &mut buf, 0).unwrap();
    assert_eq!((m.len, &buf), (5, b"world"));
    assert_eq!(
        h.stack.sys_recvmsg(a, &mut buf, MSG_OOB),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        h.stack.sys_recvmsg(a, &mut buf, MSG_ERRQUEUE),
        Err(Errno::EAGAIN)
    );
    assert_eq!(h.stack.sys_recvmsg(a, &mut buf, 0), Err(Errno::EAGAIN));
    assert_eq!(
        h.stack.sys_recvmsg(a, &mut buf, MSG_PEEK),
        Err(Errno::EAGAIN)
    );
    assert_eq!(h.stack.sys_sendto(c, b"x!", MSG_OOB, None), Ok(2));
    let mut one = [0u8; 1];
    let m = h.stack.sys_recvmsg(a, &mut one, MSG_OOB).unwrap();
    assert_eq!((m.len, m.flags, one), (1, MSG_OOB, *b"!"));
    assert_eq!(
        h.stack.sys_recvmsg(a, &mut one, MSG_OOB),
        Err(Errno::EINVAL)
    );
    let m = h.stack.sys_recvmsg(a, &mut buf, 0).unwrap();
    assert_eq!((m.len, &buf[..1]), (1, &b"x"[..]));
}

/// TCP options the TCP code keeps, through getsockopt/setsockopt: TCP_CORK, TCP_MAXSEG
/// (88..=32767), TCP_WINDOW_CLAMP, TCP_DEFER_ACCEPT, TCP_QUICKACK, SO_OOBINLINE; TCP_INFO
/// as `struct tcp_info` (state first; 280 bytes, truncated to the caller's buffer).
#[test]
fn tcp_options_of_the_tcp_code_round_trip() {
    let mut h = Harness::new();
    let t = tcp(&mut h);
    set_int(&mut h, t, SOL_TCP, TCP_CORK, 1).unwrap();
    assert_eq!(get_int(&mut h, t, SOL_TCP, TCP_CORK), Ok(1));
    assert_eq!(
        set_int(&mut h, t, SOL_TCP, TCP_MAXSEG, 10),
        Err(Errno::EINVAL)
    );
    set_int(&mut h, t, SOL_TCP, TCP_MAXSEG, 1000).unwrap();
    assert_eq!(get_int(&mut h, t, SOL_TCP, TCP_MAXSEG), Ok(1000));
    set_int(&mut h, t, SOL_TCP, TCP_WINDOW_CLAMP, 100).unwrap();
    assert_eq!(get_int(&mut h, t, SOL_TCP, TCP_WINDOW_CLAMP), Ok(1152));
    set_int(&mut h, t, SOL_TCP, TCP_QUICKACK, 0).unwrap();
    assert_eq!(get_int(&mut h, t, SOL_TCP, TCP_QUICKACK), Ok(0));
    set_int(&mut h, t, SOL_SOCKET, SO_OOBINLINE, 1).unwrap();
    assert_eq!(get_int(&mut h, t, SOL_SOCKET, SO_OOBINLINE), Ok(1));
    let l = tcp(&mut h);
    h.stack.sys_listen(l, 1).unwrap();
    set_int(&mut h, l, SOL_TCP, TCP_DEFER_ACCEPT, 1).unwrap();
    assert_eq!(get_int(&mut h, l, SOL_TCP, TCP_DEFER_ACCEPT), Ok(1));
    let mut info = [0u8; 300];
    assert_eq!(
        h.stack.sys_getsockopt(t, SOL_TCP, TCP_INFO, &mut info),
        Ok(TCP_INFO_LEN)
    );
    assert_eq!(
        info[..8],
        [7, 0, 0, 0, 0, 0, 0, 1],
        "TCP_CLOSE, app-limited"
    );
    let mut head = [0u8; 8];
    assert_eq!(
        h.stack.sys_getsockopt(l, SOL_TCP, TCP_INFO, &mut head),
        Ok(8)
    );
    assert_eq!(head, [10, 0, 0, 0, 0, 0, 0, 0], "TCP_LISTEN");
    assert_eq!(
        h.stack.sys_setsockopt(t, SOL_TCP, TCP_INFO, &[0; 4]),
        Err(Errno::ENOPROTOOPT)
    );
}

/// Seed 7.6(c): a 100-byte datagram read with a 10-byte buffer gives 10 bytes and
/// MSG_TRUNC in msg_flags; with MSG_TRUNC as a flag the return is the real length; MSG_PEEK
/// leaves the datagram queued; `send(MSG_OOB)` is EOPNOTSUPP and `sendto(port 0)` EINVAL.
#[test]
fn udp_recv_trunc_peek_and_send_errors() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    h.stack.sys_bind(u, &sa(OUR_IP, 5000)).unwrap();
    for _ in 0..2 {
        h.receive(&udp_frame(40000, OUR_IP, 5000, &[7; 100]));
    }
    let mut buf = [0u8; 10];
    let m = h.stack.sys_recvmsg(u, &mut buf, MSG_PEEK).unwrap();
    assert_eq!((m.len, m.flags), (10, MSG_TRUNC));
    assert_eq!(m.from, Some(SocketAddrV4::new(PEER_IP, 40000)));
    let m = h.stack.sys_recvmsg(u, &mut buf, 0).unwrap();
    assert_eq!((m.len, m.flags), (10, MSG_TRUNC));
    let m = h.stack.sys_recvmsg(u, &mut buf, MSG_TRUNC).unwrap();
    assert_eq!((m.len, m.flags), (100, MSG_TRUNC));
    assert_eq!(h.stack.sys_recvmsg(u, &mut buf, 0), Err(Errno::EAGAIN));
    assert_eq!(
        h.stack.sys_recvmsg(u, &mut buf, MSG_ERRQUEUE),
        Err(Errno::EAGAIN)
    );
    let to = sa(PEER_IP, 9);
    assert_eq!(
        h.stack.sys_sendto(u, b"x", MSG_OOB, Some(&to)),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        h.stack.sys_sendto(u, b"x", 0, Some(&sa(PEER_IP, 0))),
        Err(Errno::EINVAL)
    );
    let short = SockAddr::from_bytes(&to.as_bytes()[..8]).unwrap();
    assert_eq!(
        h.stack.sys_sendto(u, b"x", 0, Some(&short)),
        Err(Errno::EINVAL)
    );
    let v6 = SockAddr::with_family(10, SocketAddrV4::new(PEER_IP, 9), 16);
    assert_eq!(
        h.stack.sys_sendto(u, b"x", 0, Some(&v6)),
        Err(Errno::EAFNOSUPPORT)
    );
    assert_eq!(
        h.stack.sys_sendto(u, &[0; 70_000], 0, Some(&to)),
        Err(Errno::EMSGSIZE)
    );
    h.drain();
    assert_eq!(h.stack.sys_sendto(u, b"ok", 0, Some(&to)), Ok(2));
    let (_, sport, dport, payload) = parse_udp(&h.drain()[0]).unwrap();
    assert_eq!((sport, dport, payload), (5000, 9, b"ok".to_vec()));
}

/// An unbound UDP socket's send binds it first (`inet_send_prepare`), even when the send
/// then fails (MSG_OOB): bind is EINVAL afterwards.
#[test]
fn udp_send_autobinds_before_checks() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    let to = sa(PEER_IP, 9);
    assert_eq!(
        h.stack.sys_sendto(u, b"x", MSG_OOB, Some(&to)),
        Err(Errno::EOPNOTSUPP)
    );
    assert_ne!(h.stack.sys_getsockname(u).unwrap().port(), 0);
    assert_eq!(h.stack.sys_bind(u, &sa(OUR_IP, 7000)), Err(Errno::EINVAL));
}

// ---- options ------------------------------------------------------------------------------

/// `sk_setsockopt`: SO_RCVBUF / SO_SNDBUF are doubled (capped at rmem_max / wmem_max,
/// floored at SOCK_MIN_RCVBUF 2304 / SOCK_MIN_SNDBUF 4608); the FORCE forms need privilege
/// (EPERM) and pass the cap. Defaults: TCP tcp_rmem[1] / tcp_wmem[1], UDP rmem_default /
/// wmem_default.
#[test]
fn rcvbuf_sndbuf_doubled_and_capped() {
    let mut h = Harness::new();
    let (t, u) = (tcp(&mut h), udp(&mut h));
    assert_eq!(get_int(&mut h, t, SOL_SOCKET, SO_RCVBUF), Ok(131_072));
    assert_eq!(get_int(&mut h, t, SOL_SOCKET, SO_SNDBUF), Ok(16_384));
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_RCVBUF), Ok(212_992));
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_SNDBUF), Ok(212_992));
    for s in [t, u] {
        set_int(&mut h, s, SOL_SOCKET, SO_RCVBUF, 10_000).unwrap();
        assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_RCVBUF), Ok(20_000));
        set_int(&mut h, s, SOL_SOCKET, SO_SNDBUF, 10_000).unwrap();
        assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_SNDBUF), Ok(20_000));
        set_int(&mut h, s, SOL_SOCKET, SO_RCVBUF, 1).unwrap();
        assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_RCVBUF), Ok(2304));
        set_int(&mut h, s, SOL_SOCKET, SO_SNDBUF, 1).unwrap();
        assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_SNDBUF), Ok(4608));
        set_int(&mut h, s, SOL_SOCKET, SO_RCVBUF, 1 << 30).unwrap();
        assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_RCVBUF), Ok(2 * 212_992));
        set_int(&mut h, s, SOL_SOCKET, SO_SNDBUF, -1).unwrap();
        assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_SNDBUF), Ok(2 * 212_992));
        assert_eq!(
            set_int(&mut h, s, SOL_SOCKET, SO_RCVBUFFORCE, 1 << 20),
            Err(Errno::EPERM)
        );
        h.stack.sock_set_privileged(s, true).unwrap();
        set_int(&mut h, s, SOL_SOCKET, SO_RCVBUFFORCE, 1 << 20).unwrap();
        assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_RCVBUF), Ok(2 << 20));
        set_int(&mut h, s, SOL_SOCKET, SO_SNDBUFFORCE, 1 << 20).unwrap();
        assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_SNDBUF), Ok(2 << 20));
    }
    assert_eq!(h.stack.config().rmem_max, 212_992, "the cap is restored");
}

/// Lengths: a set shorter than an int is EINVAL (SOL_SOCKET, SOL_TCP, SOL_UDP) while
/// SOL_IP takes one byte; a get with a short buffer is truncated (SOL_IP answers a single
/// byte); an unknown option or a level the protocol lacks is ENOPROTOOPT on set, and a get
/// at a level other than SOL_IP below the protocol is EOPNOTSUPP.
#[test]
fn option_lengths_levels_and_unknown_options() {
    let mut h = Harness::new();
    let (t, u) = (tcp(&mut h), udp(&mut h));
    assert_eq!(
        h.stack.sys_setsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &[1, 0]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        h.stack.sys_setsockopt(t, SOL_TCP, TCP_NODELAY, &[1]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        h.stack.sys_setsockopt(u, SOL_UDP, UDP_CORK, &[1]),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        h.stack.sys_setsockopt(u, SOL_SOCKET, 9999, &[0; 4]),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        h.stack.sys_setsockopt(t, SOL_TCP, 9999, &[0; 4]),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        h.stack.sys_setsockopt(t, SOL_IP, 1000, &[0; 4]),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        h.stack.sys_setsockopt(u, SOL_TCP, TCP_NODELAY, &[0; 4]),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        h.stack.sys_setsockopt(t, SOL_UDP, UDP_CORK, &[0; 4]),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        h.stack.sys_setsockopt(t, 999, 1, &[0; 4]),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        h.stack.sys_setsockopt(u, SOL_SOCKET, SO_TYPE, &[0; 4]),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        h.stack.sys_setsockopt(u, SOL_IP, IP_HDRINCL, &[1; 4]),
        Err(Errno::ENOPROTOOPT)
    );
    let mut b = [0u8; 16];
    assert_eq!(
        h.stack.sys_getsockopt(u, SOL_SOCKET, 9999, &mut b),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        h.stack.sys_getsockopt(t, SOL_TCP, 9999, &mut b),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(
        h.stack.sys_getsockopt(t, 999, 1, &mut b),
        Err(Errno::EOPNOTSUPP)
    );
    // Short get buffers.
    let mut two = [0u8; 2];
    assert_eq!(
        h.stack.sys_getsockopt(u, SOL_SOCKET, SO_RCVBUF, &mut two),
        Ok(2)
    );
    assert_eq!(two, 212_992i32.to_ne_bytes()[..2]);
    let mut one = [0u8; 1];
    assert_eq!(h.stack.sys_getsockopt(u, SOL_IP, IP_TTL, &mut one), Ok(1));
    assert_eq!(one, [64]);
    // IP_TTL from one byte.
    assert_eq!(h.stack.sys_setsockopt(u, SOL_IP, IP_TTL, &[9]), Ok(()));
    assert_eq!(get_int(&mut h, u, SOL_IP, IP_TTL), Ok(9));
    assert_eq!(
        h.stack.sys_setsockopt(u, SOL_IP, IP_TTL, &[]),
        Err(Errno::EINVAL)
    );
}

/// IP_TTL: 64 by default (`ip_default_ttl`), 1..=255 or -1 (back to the default), else
/// EINVAL; the TTL is on the wire. IP_TOS sets the TOS byte and `SO_PRIORITY` from it
/// (`rt_tos2priority`: 0x10 lowdelay → 6).
#[test]
fn ip_ttl_and_tos() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    let t = tcp(&mut h);
    assert_eq!(get_int(&mut h, t, SOL_IP, IP_TTL), Ok(64));
    assert_eq!(get_int(&mut h, u, SOL_IP, IP_TTL), Ok(64));
    assert_eq!(set_int(&mut h, u, SOL_IP, IP_TTL, 0), Err(Errno::EINVAL));
    assert_eq!(set_int(&mut h, u, SOL_IP, IP_TTL, 256), Err(Errno::EINVAL));
    set_int(&mut h, u, SOL_IP, IP_TTL, 7).unwrap();
    set_int(&mut h, u, SOL_IP, IP_TOS, 0x10).unwrap();
    assert_eq!(get_int(&mut h, u, SOL_IP, IP_TOS), Ok(0x10));
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_PRIORITY), Ok(6));
    h.stack
        .sys_sendto(u, b"t", 0, Some(&sa(PEER_IP, 9)))
        .unwrap();
    let (ip, ..) = parse_udp(&h.drain()[0]).unwrap();
    assert_eq!((ip.ip.hop_limit, ip.packet[1]), (7, 0x10));
    set_int(&mut h, u, SOL_IP, IP_TTL, -1).unwrap();
    assert_eq!(get_int(&mut h, u, SOL_IP, IP_TTL), Ok(64));
}

/// SO_LINGER: `struct linger` (8 bytes, EINVAL if shorter), read back; SO_KEEPALIVE and
/// the TCP keepalive knobs with their sysctl defaults (7200 / 75 / 9), TCP_SYNCNT (6),
/// TCP_LINGER2 (60, -1 when negative), TCP_USER_TIMEOUT (EINVAL when negative), TCP_NODELAY,
/// TCP_CONGESTION (name, ENOENT for an unknown one), TCP_MAXSEG before connect (536),
/// TCP_QUICKACK 1.
#[test]
fn tcp_level_options_round_trip() {
    let mut h = Harness::new();
    let t = tcp(&mut h);
    let linger = |on: i32, secs: i32| {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&on.to_ne_bytes());
        b[4..].copy_from_slice(&secs.to_ne_bytes());
        b
    };
    assert_eq!(
        h.stack
            .sys_setsockopt(t, SOL_SOCKET, SO_LINGER, &linger(1, 5)[..4]),
        Err(Errno::EINVAL)
    );
    h.stack
        .sys_setsockopt(t, SOL_SOCKET, SO_LINGER, &linger(1, 5))
        .unwrap();
    let mut b = [0u8; 8];
    assert_eq!(
        h.stack.sys_getsockopt(t, SOL_SOCKET, SO_LINGER, &mut b),
        Ok(8)
    );
    assert_eq!(b, linger(1, 5));
    assert_eq!(get_int(&mut h, t, SOL_SOCKET, SO_KEEPALIVE), Ok(0));
    set_int(&mut h, t, SOL_SOCKET, SO_KEEPALIVE, 1).unwrap();
    assert_eq!(get_int(&mut h, t, SOL_SOCKET, SO_KEEPALIVE), Ok(1));
    for (opt, def) in [
        (TCP_KEEPIDLE, 7200),
        (TCP_KEEPINTVL, 75),
        (TCP_KEEPCNT, 9),
        (TCP_SYNCNT, 6),
        (TCP_LINGER2, 60),
        (TCP_USER_TIMEOUT, 0),
        (TCP_NODELAY, 0),
        (TCP_MAXSEG, 536),
        (TCP_QUICKACK, 1),
        (TCP_CORK, 0),
        (TCP_DEFER_ACCEPT, 0),
    ] {
        assert_eq!(get_int(&mut h, t, SOL_TCP, opt), Ok(def), "option {opt}");
    }
    for (opt, v) in [
        (TCP_KEEPIDLE, 30),
        (TCP_KEEPINTVL, 5),
        (TCP_KEEPCNT, 3),
        (TCP_SYNCNT, 2),
        (TCP_LINGER2, 10),
        (TCP_USER_TIMEOUT, 1500),
        (TCP_NODELAY, 1),
    ] {
        set_int(&mut h, t, SOL_TCP, opt, v).unwrap();
        assert_eq!(get_int(&mut h, t, SOL_TCP, opt), Ok(v), "option {opt}");
    }
    set_int(&mut h, t, SOL_TCP, TCP_LINGER2, -5).unwrap();
    assert_eq!(get_int(&mut h, t, SOL_TCP, TCP_LINGER2), Ok(-1));
    assert_eq!(
        set_int(&mut h, t, SOL_TCP, TCP_USER_TIMEOUT, -1),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        set_int(&mut h, t, SOL_TCP, TCP_KEEPIDLE, 0),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        set_int(&mut h, t, SOL_TCP, TCP_KEEPCNT, -3),
        Err(Errno::EINVAL)
    );
    let mut name = [0xffu8; 16];
    assert_eq!(
        h.stack
            .sys_getsockopt(t, SOL_TCP, TCP_CONGESTION, &mut name),
        Ok(16)
    );
    assert_eq!(&name[..6], b"cubic\0");
    h.stack
        .sys_setsockopt(t, SOL_TCP, TCP_CONGESTION, b"reno")
        .unwrap();
    assert_eq!(
        h.stack
            .sys_getsockopt(t, SOL_TCP, TCP_CONGESTION, &mut name),
        Ok(16)
    );
    assert_eq!(&name[..5], b"reno\0");
    assert_eq!(
        h.stack.sys_setsockopt(t, SOL_TCP, TCP_CONGESTION, b"nope"),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        h.stack.sys_setsockopt(t, SOL_TCP, TCP_CONGESTION, b""),
        Err(Errno::EINVAL)
    );
}

/// SO_RCVTIMEO / SO_SNDTIMEO: a 16-byte timeval (EINVAL if shorter, EDOM for tv_usec out
/// of range), 0/0 meaning "forever" and read back as 0/0; SO_RCVLOWAT (1 by default,
/// negative → INT_MAX, capped at half the buffer on TCP, 0 → 1); SO_PRIORITY above 6 and
/// SO_MARK need privilege; SO_DEBUG unprivileged is EACCES.
#[test]
fn sock_level_options_round_trip() {
    let mut h = Harness::new();
    let (t, u) = (tcp(&mut h), udp(&mut h));
    let tv = |s: i64, us: i64| {
        let mut b = [0u8; 16];
        b[..8].copy_from_slice(&s.to_ne_bytes());
        b[8..].copy_from_slice(&us.to_ne_bytes());
        b
    };
    let mut b = [0u8; 16];
    assert_eq!(
        h.stack.sys_getsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &mut b),
        Ok(16)
    );
    assert_eq!(b, tv(0, 0));
    h.stack
        .sys_setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv(1, 500_000))
        .unwrap();
    h.stack
        .sys_getsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &mut b)
        .unwrap();
    assert_eq!(b, tv(1, 500_000));
    assert_eq!(
        h.stack
            .sys_setsockopt(u, SOL_SOCKET, SO_SNDTIMEO, &tv(1, 1_000_000)),
        Err(Errno::EDOM)
    );
    assert_eq!(
        h.stack
            .sys_setsockopt(u, SOL_SOCKET, SO_SNDTIMEO, &tv(1, 0)[..8]),
        Err(Errno::EINVAL)
    );
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_RCVLOWAT), Ok(1));
    set_int(&mut h, u, SOL_SOCKET, SO_RCVLOWAT, 0).unwrap();
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_RCVLOWAT), Ok(1));
    set_int(&mut h, u, SOL_SOCKET, SO_RCVLOWAT, -1).unwrap();
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_RCVLOWAT), Ok(i32::MAX));
    set_int(&mut h, t, SOL_SOCKET, SO_RCVLOWAT, -1).unwrap();
    assert_eq!(
        get_int(&mut h, t, SOL_SOCKET, SO_RCVLOWAT),
        Ok(6_291_456 / 2)
    );
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_SNDLOWAT), Ok(1));
    assert_eq!(
        set_int(&mut h, u, SOL_SOCKET, SO_PRIORITY, 7),
        Err(Errno::EPERM)
    );
    set_int(&mut h, u, SOL_SOCKET, SO_PRIORITY, 6).unwrap();
    assert_eq!(
        set_int(&mut h, u, SOL_SOCKET, SO_MARK, 1),
        Err(Errno::EPERM)
    );
    assert_eq!(
        set_int(&mut h, u, SOL_SOCKET, SO_DEBUG, 1),
        Err(Errno::EACCES)
    );
    set_int(&mut h, u, SOL_SOCKET, SO_DEBUG, 0).unwrap();
    h.stack.sock_set_privileged(u, true).unwrap();
    set_int(&mut h, u, SOL_SOCKET, SO_MARK, 42).unwrap();
    set_int(&mut h, u, SOL_SOCKET, SO_PRIORITY, 9).unwrap();
    set_int(&mut h, u, SOL_SOCKET, SO_DEBUG, 1).unwrap();
    for (opt, v) in [(SO_MARK, 42), (SO_PRIORITY, 9), (SO_DEBUG, 1)] {
        assert_eq!(get_int(&mut h, u, SOL_SOCKET, opt), Ok(v));
    }
    for opt in [
        SO_BROADCAST,
        SO_KEEPALIVE,
        SO_OOBINLINE,
        SO_REUSEPORT,
        SO_DONTROUTE,
    ] {
        for s in [t, u] {
            assert_eq!(get_int(&mut h, s, SOL_SOCKET, opt), Ok(0));
            set_int(&mut h, s, SOL_SOCKET, opt, 5).unwrap();
            assert_eq!(get_int(&mut h, s, SOL_SOCKET, opt), Ok(1), "option {opt}");
        }
    }
}

/// SO_ERROR on a connected UDP socket after an ICMP port unreachable is ECONNREFUSED, read
/// once (seed 7.14 OBS).
#[test]
fn udp_so_error_after_port_unreachable() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    h.stack.sys_connect(u, &sa(PEER_IP, 9)).unwrap();
    h.stack.sys_sendto(u, b"hi", 0, None).unwrap();
    let sent = h.drain().pop().unwrap();
    let ip = parse_ipv4(&sent).unwrap();
    let mut quoted: Vec<u8> = Vec::new();
    quoted.extend_from_slice(&ip.packet[..ip.hl + 8]);
    let icmp = icmp_error(3, 3, 0, &quoted);
    h.receive(&ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        crate::wire::ipv4::Protocol::ICMP,
        64,
        &icmp,
    )));
    assert_eq!(
        get_int(&mut h, u, SOL_SOCKET, SO_ERROR),
        Ok(Errno::ECONNREFUSED.code())
    );
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_ERROR), Ok(0));
}

/// `__inet_stream_connect`'s failure path calls `tcp_disconnect`: an unbound socket's
/// source address is reset (getsockname 0.0.0.0, the stale port kept as Linux's
/// `inet_sport`) and its ephemeral port went back, so bind() works again; a socket bound
/// to a specific address keeps address and port (bind is EINVAL).
#[test]
fn refused_connect_resets_the_source_address_unless_bound() {
    let mut h = Harness::new();
    let s = tcp(&mut h);
    assert_eq!(h.stack.sys_connect(s, &lo(9)), Err(Errno::ECONNREFUSED));
    let name = h.stack.sys_getsockname(s).unwrap();
    assert_eq!(*name.ip(), Ipv4Addr::UNSPECIFIED);
    assert_ne!(name.port(), 0);
    assert_eq!(h.stack.sys_bind(s, &lo(7300)), Ok(()));
    assert_eq!(
        h.stack.sys_getsockname(s),
        Ok(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7300))
    );
    let b = tcp(&mut h);
    h.stack.sys_bind(b, &lo(7301)).unwrap();
    assert_eq!(h.stack.sys_connect(b, &lo(9)), Err(Errno::ECONNREFUSED));
    assert_eq!(
        h.stack.sys_getsockname(b),
        Ok(SocketAddrV4::new(Ipv4Addr::LOCALHOST, 7301))
    );
    assert_eq!(h.stack.sys_bind(b, &lo(7302)), Err(Errno::EINVAL));
}

// ---- ping sockets -----------------------------------------------------------------------

fn ping_allowed() -> Harness {
    let cfg = StackConfig {
        ping_group_range: (0, 2_147_483_647),
        ..StackConfig::default()
    };
    Harness::with_config(cfg, 1).with_static_peer()
}

fn echo(ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let mut m = Vec::from([8u8, 0, 0, 0]);
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(data);
    m
}

fn echo_reply_frame(ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let icmp = icmp_echo(false, ident, seq, data);
    ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        crate::wire::ipv4::Protocol::ICMP,
        61,
        &icmp,
    ))
}

/// `ping_init_sock`: outside `ping_group_range` ("1 0" by default: nobody) a ping socket
/// is EACCES; inside, `SOCK_DGRAM` + `IPPROTO_ICMP` is a ping socket with
/// `inet_sockraw_ops` (protocol 0 stays UDP), and listen/accept are EOPNOTSUPP.
#[test]
fn ping_socket_needs_ping_group_range() {
    let mut h = Harness::new();
    assert_eq!(
        h.stack.sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP),
        Err(Errno::EACCES)
    );
    assert_eq!(h.stack.socket_table_fulls(), 0);
    let mut h = ping_allowed();
    let p = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        .unwrap();
    assert_eq!(h.stack.socket(p).unwrap().ops.name, "inet_sockraw_ops");
    assert_eq!(
        get_int(&mut h, p, SOL_SOCKET, SO_PROTOCOL),
        Ok(IPPROTO_ICMP)
    );
    assert_eq!(get_int(&mut h, p, SOL_SOCKET, SO_TYPE), Ok(SOCK_DGRAM));
    assert_eq!(h.stack.sys_listen(p, 1), Err(Errno::EOPNOTSUPP));
    assert_eq!(h.stack.sys_accept4(p, 0), Err(Errno::EOPNOTSUPP));
    let u = udp(&mut h);
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_PROTOCOL), Ok(IPPROTO_UDP));
}

/// `ping_v4_sendmsg`: the user's echo header goes out with the socket's identifier (the
/// bound "port") and a fresh checksum, TTL from IP_TTL; `ping_rcv` delivers the reply with
/// that identifier to the socket (header and data, sender in msg_name, MSG_TRUNC when cut)
/// and leaves others to the application's ping events.
#[test]
fn ping_socket_sends_with_its_identifier_and_receives_its_replies() {
    let mut h = ping_allowed();
    let p = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        .unwrap();
    // No privileged-port rule for identifiers.
    h.stack.sys_bind(p, &sa(Ipv4Addr::UNSPECIFIED, 80)).unwrap();
    set_int(&mut h, p, SOL_IP, IP_TTL, 9).unwrap();
    let to = sa(PEER_IP, 0);
    assert_eq!(
        h.stack.sys_sendto(p, &echo(1234, 7, b"hi"), 0, Some(&to)),
        Ok(10)
    );
    let req = parse_icmp(&h.drain()[0]).expect("an echo request");
    assert_eq!((req.msg_type, req.code), (8, 0));
    assert_eq!(
        req.rest,
        (80 << 16) | 7,
        "identifier replaced, sequence kept"
    );
    assert_eq!((req.data.as_slice(), req.ip.ip.hop_limit), (&b"hi"[..], 9));
    h.receive(&echo_reply_frame(80, 7, b"hi"));
    h.receive(&echo_reply_frame(81, 7, b"no"));
    let evs = h.events();
    assert!(evs.contains(&crate::Event::Readable(h.stack.socket(p).unwrap().sk)));
    assert!(
        evs.iter().any(|e| matches!(
            e,
            crate::Event::Ping(crate::PingEvent::Reply { ident: 81, .. })
        )),
        "{evs:?}"
    );
    let mut buf = [0u8; 6];
    let m = h.stack.sys_recvmsg(p, &mut buf, MSG_PEEK).unwrap();
    assert_eq!((m.len, m.flags), (6, MSG_TRUNC));
    assert_eq!(m.from, Some(SocketAddrV4::new(PEER_IP, 0)));
    let mut buf = [0u8; 64];
    let m = h.stack.sys_recvmsg(p, &mut buf, 0).unwrap();
    assert_eq!((m.len, m.flags), (10, 0));
    assert_eq!(&buf[..2], &[0, 0], "an echo reply header");
    assert_eq!(&buf[4..10], &[0, 80, 0, 7, b'h', b'i']);
    assert_eq!(h.stack.sys_recvmsg(p, &mut buf, 0), Err(Errno::EAGAIN));
    h.stack.sys_close(p).unwrap();
    h.receive(&echo_reply_frame(80, 8, b"late"));
    assert!(h.events().iter().any(|e| matches!(
        e,
        crate::Event::Ping(crate::PingEvent::Reply { ident: 80, .. })
    )));
}

/// `ping_common_sendmsg` then the address: EINVAL below an ICMP header or for anything but
/// an echo request, EOPNOTSUPP for MSG_OOB, EDESTADDRREQ unconnected without an address
/// (after the autobind), EAFNOSUPPORT; bind: EINVAL when bound, EADDRINUSE for a held
/// identifier unless both sockets have SO_REUSEADDR (on by default for ping sockets,
/// `INET_PROTOSW_REUSE`), EADDRNOTAVAIL for an address that is not ours.
#[test]
fn ping_socket_send_and_bind_errors() {
    let mut h = ping_allowed();
    let p = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        .unwrap();
    let to = sa(PEER_IP, 0);
    assert_eq!(
        h.stack.sys_sendto(p, &[8, 0, 0], 0, Some(&to)),
        Err(Errno::EINVAL)
    );
    let mut reply = echo(1, 1, b"");
    reply[0] = 0;
    assert_eq!(
        h.stack.sys_sendto(p, &reply, 0, Some(&to)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        h.stack.sys_sendto(p, &echo(1, 1, b""), MSG_OOB, Some(&to)),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        h.stack.sys_sendto(p, &echo(1, 1, b""), 0, None),
        Err(Errno::EDESTADDRREQ)
    );
    let v6 = SockAddr::with_family(10, SocketAddrV4::new(PEER_IP, 0), 16);
    assert_eq!(
        h.stack.sys_sendto(p, &echo(1, 1, b""), 0, Some(&v6)),
        Err(Errno::EAFNOSUPPORT)
    );
    let ident = h.stack.sys_getsockname(p).unwrap().port();
    assert_ne!(ident, 0, "autobound on the first send");
    assert_eq!(h.stack.sys_bind(p, &sa(OUR_IP, 5)), Err(Errno::EINVAL));
    let q = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        .unwrap();
    assert_eq!(
        h.stack.sys_bind(q, &sa(Ipv4Addr::new(10, 9, 9, 9), 5)),
        Err(Errno::EADDRNOTAVAIL)
    );
    // INET_PROTOSW_REUSE: ping sockets share identifiers unless SO_REUSEADDR is cleared.
    assert_eq!(get_int(&mut h, q, SOL_SOCKET, SO_REUSEADDR), Ok(1));
    set_int(&mut h, q, SOL_SOCKET, SO_REUSEADDR, 0).unwrap();
    assert_eq!(
        h.stack.sys_bind(q, &sa(OUR_IP, ident)),
        Err(Errno::EADDRINUSE)
    );
    assert_eq!(h.stack.sys_bind(q, &sa(OUR_IP, 6)), Ok(()));
    let r = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        .unwrap();
    assert_eq!(h.stack.sys_bind(r, &sa(OUR_IP, 6)), Err(Errno::EADDRINUSE));
    let r2 = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        .unwrap();
    assert_eq!(
        h.stack.sys_bind(r2, &sa(OUR_IP, ident)),
        Ok(()),
        "both reuse"
    );
}

/// `ping_err`: a connected ping socket gets a hard ICMP error about its echo request
/// (host unreachable → EHOSTUNREACH) once, on the next call or SO_ERROR.
#[test]
fn ping_socket_connected_gets_hard_errors() {
    let mut h = ping_allowed();
    let p = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        .unwrap();
    h.stack.sys_connect(p, &sa(PEER_IP, 0)).unwrap();
    assert_eq!(
        h.stack.sys_getpeername(p),
        Err(Errno::ENOTCONN),
        "no remote port"
    );
    h.stack.sys_sendto(p, &echo(0, 3, b"x"), 0, None).unwrap();
    let sent = h.drain().pop().unwrap();
    let ip = parse_ipv4(&sent).unwrap();
    let quoted = ip.packet[..ip.hl + 8].to_vec();
    let err = icmp_error(3, 1, 0, &quoted);
    h.receive(&ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        crate::wire::ipv4::Protocol::ICMP,
        64,
        &err,
    )));
    let mut buf = [0u8; 16];
    assert_eq!(
        h.stack.sys_recvmsg(p, &mut buf, 0),
        Err(Errno::EHOSTUNREACH)
    );
    assert_eq!(h.stack.sys_recvmsg(p, &mut buf, 0), Err(Errno::EAGAIN));
    assert_eq!(h.stack.sys_shutdown(p, SHUT_RDWR), Ok(()));
}

/// `udp_lib_lport_inuse`: UDP sockets share an address and port when all set
/// SO_REUSEADDR; a unicast datagram goes to the one bound last (Linux adds sockets at the
/// head of the port's chain and `compute_score` keeps the first best).
#[test]
fn udp_reuseaddr_shares_the_port_and_the_last_bound_gets_unicast() {
    let mut h = Harness::new().with_static_peer();
    let (a, b, c) = (udp(&mut h), udp(&mut h), udp(&mut h));
    for s in [a, b] {
        set_int(&mut h, s, SOL_SOCKET, SO_REUSEADDR, 1).unwrap();
        h.stack.sys_bind(s, &sa(OUR_IP, 5300)).unwrap();
    }
    assert_eq!(get_int(&mut h, b, SOL_SOCKET, SO_REUSEADDR), Ok(1));
    assert_eq!(
        h.stack.sys_bind(c, &sa(OUR_IP, 5300)),
        Err(Errno::EADDRINUSE),
        "c lacks SO_REUSEADDR"
    );
    h.receive(&udp_frame(40000, OUR_IP, 5300, b"to-b"));
    let mut buf = [0u8; 8];
    assert_eq!(h.stack.sys_recvmsg(a, &mut buf, 0), Err(Errno::EAGAIN));
    assert_eq!(h.stack.sys_recvmsg(b, &mut buf, 0).unwrap().len, 4);
}

/// IP_TRANSPARENT (SOL_IP 19) on a UDP socket: EPERM without the capability (the
/// `privileged` mark), EINVAL with no value; once on, getsockopt reports 1 and bind accepts
/// an address that is not ours (EADDRNOTAVAIL before), so a reply leaves from it.
#[test]
fn ip_transparent_allows_nonlocal_bind() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    let foreign = Ipv4Addr::new(198, 51, 100, 7);
    assert_eq!(
        h.stack
            .sys_setsockopt(u, SOL_IP, IP_TRANSPARENT, &1i32.to_ne_bytes()),
        Err(Errno::EPERM)
    );
    assert_eq!(
        h.stack.sys_bind(u, &sa(foreign, 53)),
        Err(Errno::EADDRNOTAVAIL)
    );
    h.stack.sock_set_privileged(u, true).unwrap();
    assert_eq!(
        h.stack.sys_setsockopt(u, SOL_IP, IP_TRANSPARENT, &[]),
        Err(Errno::EINVAL)
    );
    assert_eq!(get_int(&mut h, u, SOL_IP, IP_TRANSPARENT), Ok(0));
    h.stack
        .sys_setsockopt(u, SOL_IP, IP_TRANSPARENT, &1i32.to_ne_bytes())
        .unwrap();
    assert_eq!(get_int(&mut h, u, SOL_IP, IP_TRANSPARENT), Ok(1));
    h.stack.sys_bind(u, &sa(foreign, 53)).unwrap();
    assert_eq!(
        h.stack.sys_sendto(u, b"x", 0, Some(&sa(PEER_IP, 5000))),
        Ok(1)
    );
    let frames = h.drain();
    let (ip, sport, _, _) = parse_udp(&frames[0]).unwrap();
    assert_eq!((ip.ip.src_addr, sport), (foreign, 53));
}

/// `ping_err` with IP_RECVERR (`ip_icmp_error`): a soft error (time exceeded) about an
/// echo of an unconnected ping socket is queued and set in `sk_err` (without IP_RECVERR it
/// is dropped); `recvmsg(MSG_ERRQUEUE)` returns the quoted ICMP echo, `msg_name` the
/// echo's destination with port 0, MSG_ERRQUEUE in the flags, the ICMP packet's
/// IP_PKTINFO / IP_TTL / IP_TOS cmsgs and the IP_RECVERR one (`SO_EE_ORIGIN_ICMP`, type,
/// code, the offender). A reply carries its own cmsgs; turning IP_RECVERR off purges the
/// queue (`sk_err` stays).
#[test]
fn ping_socket_recverr_error_queue_and_cmsgs() {
    use super::cmsg::{Cmsg, CmsgBuf, IP_PKTINFO, IP_RECVERR, IP_RECVTOS, IP_RECVTTL};
    let mut h = ping_allowed();
    let p = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        .unwrap();
    let time_exceeded = |h: &mut Harness, quoted: &[u8]| {
        let err = icmp_error(11, 0, 0, quoted);
        h.receive(&ip_frame(&ipv4_packet(
            PEER_IP,
            OUR_IP,
            crate::wire::ipv4::Protocol::ICMP,
            64,
            &err,
        )));
    };
    h.stack
        .sys_sendto(p, &echo(0, 1, b"x"), 0, Some(&sa(PEER_IP, 0)))
        .unwrap();
    let sent = h.drain().pop().unwrap();
    let ip = parse_ipv4(&sent).unwrap();
    let quoted = ip.packet[..ip.hl + 9].to_vec();
    // Without IP_RECVERR a soft error on an unconnected socket tells nobody.
    time_exceeded(&mut h, &quoted);
    assert_eq!(h.stack.sock_poll(p).0 & super::poll::PollMask::POLLERR.0, 0);
    let mut buf = [0u8; 64];
    let mut c = CmsgBuf::new();
    assert_eq!(
        h.stack.sys_recvmsg_cmsg(p, &mut buf, MSG_ERRQUEUE, &mut c),
        Err(Errno::EAGAIN)
    );
    for name in [IP_RECVERR, IP_RECVTTL, IP_RECVTOS, IP_PKTINFO] {
        assert_eq!(get_int(&mut h, p, SOL_IP, name), Ok(0));
        set_int(&mut h, p, SOL_IP, name, 1).unwrap();
        assert_eq!(get_int(&mut h, p, SOL_IP, name), Ok(1));
    }
    time_exceeded(&mut h, &quoted);
    assert!(h
        .events()
        .iter()
        .any(|e| matches!(e, crate::Event::Error(_))));
    assert_ne!(h.stack.sock_poll(p).0 & super::poll::PollMask::POLLERR.0, 0);
    let m = h
        .stack
        .sys_recvmsg_cmsg(p, &mut buf, MSG_ERRQUEUE, &mut c)
        .unwrap();
    assert_eq!(m.len, 9, "the quoted ICMP header and one byte");
    assert_eq!(&buf[..m.len], &quoted[ip.hl..]);
    assert_eq!(m.from, Some(SocketAddrV4::new(PEER_IP, 0)));
    assert_eq!(m.flags, MSG_ERRQUEUE);
    let got: Vec<Cmsg> = c.iter().copied().collect();
    assert_eq!(got.len(), 4, "{got:?}");
    assert!(matches!(got[0], Cmsg::PktInfo { addr, .. } if addr == OUR_IP));
    assert_eq!(got[1], Cmsg::Ttl(64));
    assert_eq!(got[2], Cmsg::Tos(0));
    match got[3] {
        Cmsg::RecvErr { ee, offender } => {
            assert_eq!(ee.ee_errno, Errno::EHOSTUNREACH.code() as u32);
            assert_eq!(ee.ee_origin, crate::udp::errqueue::SO_EE_ORIGIN_ICMP);
            assert_eq!((ee.ee_type, ee.ee_code, ee.ee_info), (11, 0, 0));
            assert_eq!(offender, PEER_IP);
        }
        other => panic!("not IP_RECVERR: {other:?}"),
    }
    // sock_dequeue_err_skb cleared sk_err with the last entry.
    assert_eq!(h.stack.sock_poll(p).0 & super::poll::PollMask::POLLERR.0, 0);
    assert_eq!(h.stack.sys_recvmsg(p, &mut buf, 0), Err(Errno::EAGAIN));
    assert_eq!(
        h.stack.sys_recvmsg_cmsg(p, &mut buf, MSG_ERRQUEUE, &mut c),
        Err(Errno::EAGAIN)
    );
    // An echo reply with its IP metadata.
    let ident = u16::from_be_bytes([quoted[ip.hl + 4], quoted[ip.hl + 5]]);
    h.receive(&echo_reply_frame(ident, 1, b"x"));
    let m = h.stack.sys_recvmsg_cmsg(p, &mut buf, 0, &mut c).unwrap();
    assert_eq!(m.len, 9);
    let got: Vec<Cmsg> = c.iter().copied().collect();
    assert!(matches!(
        got[0],
        Cmsg::PktInfo { ifindex, spec_dst, addr } if ifindex != 0 && spec_dst == OUR_IP && addr == OUR_IP
    ));
    assert_eq!(&got[1..], &[Cmsg::Ttl(61), Cmsg::Tos(0)]);
    // IP_RECVERR off purges the queue; sk_err stays for the next call.
    time_exceeded(&mut h, &quoted);
    set_int(&mut h, p, SOL_IP, IP_RECVERR, 0).unwrap();
    assert_eq!(
        h.stack.sys_recvmsg_cmsg(p, &mut buf, MSG_ERRQUEUE, &mut c),
        Err(Errno::EAGAIN)
    );
    assert_eq!(
        h.stack.sys_recvmsg(p, &mut buf, 0),
        Err(Errno::EHOSTUNREACH)
    );
    assert_eq!(
        h.stack.ping_errq_drops(h.stack.socket(p).unwrap().sk),
        Ok(0)
    );
}

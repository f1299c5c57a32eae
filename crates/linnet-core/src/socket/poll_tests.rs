//! Rule tests of `sock_poll` (`tcp_poll`, `udp_poll`, `datagram_poll`,
//! `inet_csk_listen_poll`) and of the epoll interest set. One stack on virtual time; TCP
//! peers are the stack itself over `lo`, or nobody (an on-link address that never answers).

use alloc::format;
use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use super::addr::*;
use super::opt::*;
use super::poll::*;
use super::*;
use crate::testutil::*;
use crate::TcpState;

const IN: PollMask = PollMask(PollMask::POLLIN.0 | PollMask::POLLRDNORM.0);
const OUT: PollMask = PollMask(PollMask::POLLOUT.0 | PollMask::POLLWRNORM.0);
const HUP: PollMask = PollMask::POLLHUP;
const RDHUP: PollMask = PollMask::POLLRDHUP;
const ERR: PollMask = PollMask::POLLERR;
const DGRAM_OUT: PollMask = PollMask(OUT.0 | PollMask::POLLWRBAND.0);

fn lo(port: u16) -> SockAddr {
    SockAddr::inet(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
}

fn tcp(h: &mut Harness) -> SocketId {
    h.stack.sys_socket(AF_INET, SOCK_STREAM, 0).unwrap()
}

/// (listener, client, accepted) over `lo`.
fn pair(h: &mut Harness, port: u16) -> (SocketId, SocketId, SocketId) {
    let l = tcp(h);
    h.stack.sys_bind(l, &lo(port)).unwrap();
    h.stack.sys_listen(l, 8).unwrap();
    let c = tcp(h);
    // Over lo the handshake is done within the call.
    assert_eq!(h.stack.sys_connect(c, &lo(port)), Ok(()));
    let (a, _) = h.stack.sys_accept4(l, 0).unwrap();
    h.drain();
    (l, c, a)
}

/// Feeds every pending stack event to `ep`.
fn feed(h: &mut Harness, ep: &mut Epoll) {
    for ev in h.events() {
        ep.ep_poll_callback(&h.stack, &ev);
    }
}

fn ev(events: u32, data: u64) -> Option<EpollEvent> {
    Some(EpollEvent { events, data })
}

/// A socket never connected is TCP_CLOSE: `tcp_poll` says POLLHUP, and it is writable (no
/// SEND_SHUTDOWN, empty send buffer). Linux: `poll()` on a fresh TCP socket gives
/// `POLLOUT|POLLWRNORM|POLLHUP`.
#[test]
fn fresh_tcp_socket_is_out_and_hup() {
    let mut h = Harness::new();
    let s = tcp(&mut h);
    assert_eq!(h.stack.sock_poll(s), OUT | HUP);
}

/// `inet_csk_listen_poll`: a listener is readable exactly while its accept queue holds a
/// connection, never writable.
#[test]
fn listener_readable_while_accept_queue_not_empty() {
    let mut h = Harness::new();
    let l = tcp(&mut h);
    h.stack.sys_bind(l, &lo(7000)).unwrap();
    h.stack.sys_listen(l, 4).unwrap();
    assert_eq!(h.stack.sock_poll(l), PollMask::NONE);
    let c = tcp(&mut h);
    assert_eq!(h.stack.sys_connect(c, &lo(7000)), Ok(()));
    assert_eq!(h.stack.sock_poll(l), IN);
    h.stack.sys_accept4(l, 0).unwrap();
    assert_eq!(h.stack.sock_poll(l), PollMask::NONE);
}

/// A socket in SYN-SENT is neither readable nor writable (`tcp_poll` skips both tests
/// until the handshake ends), and not hung up.
#[test]
fn connecting_socket_is_neither_readable_nor_writable() {
    let mut h = Harness::new().with_static_peer();
    let c = h
        .stack
        .sys_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)
        .unwrap();
    let peer = SockAddr::inet(SocketAddrV4::new(PEER_IP, 80));
    assert_eq!(h.stack.sys_connect(c, &peer), Err(Errno::EINPROGRESS));
    assert_eq!(
        h.stack.tcp_state(h.stack.socket(c).unwrap().sk),
        Ok(TcpState::SynSent)
    );
    assert_eq!(h.stack.sock_poll(c), PollMask::NONE);
}

/// A refused non-blocking connect over `lo`: the RST made the socket CLOSE with both
/// directions shut (`tcp_done`) and `sk_err` = ECONNREFUSED, so `tcp_poll` reports
/// everything: `POLLIN|POLLRDNORM|POLLRDHUP|POLLOUT|POLLWRNORM|POLLERR|POLLHUP`. Reading
/// SO_ERROR clears `sk_err` and POLLERR with it.
#[test]
fn refused_connect_is_err_hup_in_out_rdhup() {
    let mut h = Harness::new();
    let c = h
        .stack
        .sys_socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)
        .unwrap();
    assert_eq!(h.stack.sys_connect(c, &lo(9)), Err(Errno::EINPROGRESS));
    assert_eq!(h.stack.sock_poll(c), IN | RDHUP | OUT | ERR | HUP);
    let mut b = [0u8; 4];
    h.stack
        .sys_getsockopt(c, SOL_SOCKET, SO_ERROR, &mut b)
        .unwrap();
    assert_eq!(i32::from_ne_bytes(b), Errno::ECONNREFUSED.code());
    assert_eq!(h.stack.sock_poll(c), IN | RDHUP | OUT | HUP);
}

/// Established: writable; readable once data arrives and until it is read; `SO_RCVLOWAT`
/// is the readable target (`sock_rcvlowat`).
#[test]
fn established_readable_with_data_and_rcvlowat_target() {
    let mut h = Harness::new();
    let (_l, c, a) = pair(&mut h, 7001);
    assert_eq!(h.stack.sock_poll(c), OUT);
    assert_eq!(h.stack.sock_poll(a), OUT);
    h.stack
        .sys_setsockopt(a, SOL_SOCKET, SO_RCVLOWAT, &10i32.to_ne_bytes())
        .unwrap();
    assert_eq!(h.stack.sys_sendto(c, b"hello", 0, None), Ok(5));
    h.drain();
    assert_eq!(h.stack.sock_poll(a), OUT, "5 bytes < SO_RCVLOWAT 10");
    assert_eq!(h.stack.sys_sendto(c, b"world", 0, None), Ok(5));
    h.drain();
    assert_eq!(h.stack.sock_poll(a), IN | OUT);
    let mut buf = [0u8; 16];
    assert_eq!(h.stack.sys_recvmsg(a, &mut buf, 0).map(|m| m.len), Ok(10));
    assert_eq!(h.stack.sock_poll(a), OUT);
}

/// The peer's FIN sets RCV_SHUTDOWN: `POLLIN|POLLRDNORM|POLLRDHUP`, still writable. Our own
/// `shutdown(SHUT_WR)` on top makes `sk_shutdown == SHUTDOWN_MASK`: POLLHUP.
#[test]
fn peer_fin_is_rdhup_and_both_shut_is_hup() {
    let mut h = Harness::new();
    let (_l, c, a) = pair(&mut h, 7002);
    h.stack.sys_shutdown(a, SHUT_WR).unwrap();
    h.drain();
    assert_eq!(h.stack.sock_poll(c), IN | RDHUP | OUT);
    // The side that shut its writing half stays writable (SEND_SHUTDOWN: POLLOUT, the
    // write itself answers EPIPE).
    assert_eq!(h.stack.sock_poll(a), OUT);
    h.stack.sys_shutdown(c, SHUT_WR).unwrap();
    h.drain();
    assert_eq!(h.stack.sock_poll(c), IN | RDHUP | OUT | HUP);
}

/// Urgent data not yet read is POLLPRI (`urg_data & TCP_URG_VALID`); reading it with
/// MSG_OOB clears it.
#[test]
fn urgent_byte_is_pollpri_until_read() {
    let mut h = Harness::new();
    let (_l, c, a) = pair(&mut h, 7003);
    assert_eq!(h.stack.sys_sendto(c, b"ab", MSG_OOB, None), Ok(2));
    h.drain();
    let m = h.stack.sock_poll(a);
    assert!(m.contains(PollMask::POLLPRI | IN | OUT), "{m:?}");
    let mut b = [0u8; 1];
    assert_eq!(
        h.stack.sys_recvmsg(a, &mut b, MSG_OOB).map(|m| m.len),
        Ok(1)
    );
    assert_eq!(&b, b"b");
    assert!(!h.stack.sock_poll(a).contains(PollMask::POLLPRI));
}

/// A send buffer filled past two thirds is not writable (`sk_stream_min_wspace`: free space
/// must be at least half of what is queued).
#[test]
fn full_send_buffer_is_not_writable() {
    let mut h = Harness::new();
    // The accepted side never reads: once its receive buffer is full, the data stays in
    // the sender's queue.
    let (_l, c, _a) = pair(&mut h, 7004);
    let sndbuf = h
        .stack
        .tcp_sock_ref(h.stack.socket(c).unwrap().sk)
        .unwrap()
        .sndbuf;
    let chunk = [7u8; 4096];
    let nb = h.stack.socket(c).unwrap().sk;
    let mut total = 0usize;
    for _ in 0..10_000 {
        match h.stack.sys_sendto(c, &chunk, MSG_DONTWAIT, None) {
            Ok(n) => total += n,
            Err(Errno::EAGAIN) => break,
            Err(e) => panic!("{e:?}"),
        }
        h.drain();
    }
    let queued = h.stack.tcp_tx_queued(nb).unwrap();
    assert!(
        total > 0 && queued * 3 > sndbuf * 2,
        "queued {queued} of {sndbuf}"
    );
    assert!(!h.stack.sock_poll(c).intersects(OUT));
}

/// `datagram_poll` for UDP: always writable (`POLLOUT|POLLWRNORM|POLLWRBAND`), readable with
/// a queued datagram, RDHUP after SHUT_RD, HUP after SHUT_RDWR, POLLERR with `sk_err`.
#[test]
fn udp_datagram_poll() {
    let mut h = Harness::new();
    let u = h.stack.sys_socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    assert_eq!(h.stack.sock_poll(u), DGRAM_OUT);
    h.stack.sys_bind(u, &lo(5353)).unwrap();
    let v = h.stack.sys_socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    assert_eq!(h.stack.sys_sendto(v, b"x", 0, Some(&lo(5353))), Ok(1));
    h.drain();
    assert_eq!(h.stack.sock_poll(u), IN | DGRAM_OUT);
    // Port unreachable for a connected socket: sk_err, POLLERR.
    h.stack.sys_connect(v, &lo(5354)).unwrap();
    assert_eq!(h.stack.sys_sendto(v, b"y", 0, None), Ok(1));
    h.drain();
    assert_eq!(h.stack.sock_poll(v), ERR | DGRAM_OUT);
    let _ = h.stack.sys_shutdown(u, SHUT_RD);
    assert_eq!(h.stack.sock_poll(u), IN | RDHUP | DGRAM_OUT);
    let _ = h.stack.sys_shutdown(u, SHUT_RDWR);
    assert_eq!(h.stack.sock_poll(u), IN | RDHUP | HUP | DGRAM_OUT);
}

/// A closed socket's id polls as POLLNVAL.
#[test]
fn stale_id_is_pollnval() {
    let mut h = Harness::new();
    let s = tcp(&mut h);
    h.stack.sys_close(s).unwrap();
    assert_eq!(h.stack.sock_poll(s), PollMask::POLLNVAL);
    assert_eq!(format!("{:?}", IN | RDHUP), "POLLIN|POLLRDNORM|POLLRDHUP");
}

/// `do_epoll_ctl`'s errors: EBADF, EINVAL (op, missing event, EPOLLEXCLUSIVE misuse,
/// maxevents 0), EEXIST, ENOENT, ENOSPC past the limit (counted).
#[test]
fn epoll_ctl_errors() {
    let mut h = Harness::new();
    let s = tcp(&mut h);
    let t = tcp(&mut h);
    let mut ep = Epoll::with_limit(1);
    assert_eq!(ep.epoll_ctl(&h.stack, 9, s, ev(0x1, 0)), Err(Errno::EINVAL));
    assert_eq!(
        ep.epoll_ctl(&h.stack, EPOLL_CTL_ADD, s, None),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        ep.epoll_ctl(
            &h.stack,
            EPOLL_CTL_ADD,
            s,
            ev(0x1 | EPOLLEXCLUSIVE | EPOLLONESHOT, 0)
        ),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        ep.epoll_ctl(&h.stack, EPOLL_CTL_MOD, s, ev(0x1, 0)),
        Err(Errno::ENOENT)
    );
    assert_eq!(
        ep.epoll_ctl(&h.stack, EPOLL_CTL_DEL, s, None),
        Err(Errno::ENOENT)
    );
    assert_eq!(ep.epoll_ctl(&h.stack, EPOLL_CTL_ADD, s, ev(0x1, 1)), Ok(()));
    assert_eq!(
        ep.epoll_ctl(&h.stack, EPOLL_CTL_ADD, s, ev(0x1, 1)),
        Err(Errno::EEXIST)
    );
    assert_eq!(
        ep.epoll_ctl(&h.stack, EPOLL_CTL_ADD, t, ev(0x1, 2)),
        Err(Errno::ENOSPC)
    );
    assert_eq!(ep.add_overflows, 1);
    assert_eq!(
        ep.epoll_ctl(&h.stack, EPOLL_CTL_MOD, s, ev(0x1 | EPOLLEXCLUSIVE, 0)),
        Err(Errno::EINVAL)
    );
    assert_eq!(ep.epoll_wait(&h.stack, 0), Err(Errno::EINVAL));
    assert_eq!(ep.epoll_ctl(&h.stack, EPOLL_CTL_DEL, s, None), Ok(()));
    assert!(ep.is_empty());
    h.stack.sys_close(t).unwrap();
    assert_eq!(
        ep.epoll_ctl(&h.stack, EPOLL_CTL_ADD, t, ev(0x1, 2)),
        Err(Errno::EBADF)
    );
}

/// Level-triggered reports again while the condition holds; edge-triggered once per
/// event; both woken by the stack's `Readable` event, not by scanning.
#[test]
fn epoll_level_and_edge_triggered() {
    let mut h = Harness::new();
    let (_l, c, a) = pair(&mut h, 7010);
    h.events();
    let mut lt = Epoll::new();
    let mut et = Epoll::new();
    lt.epoll_ctl(&h.stack, EPOLL_CTL_ADD, a, ev(IN.0, 10))
        .unwrap();
    et.epoll_ctl(&h.stack, EPOLL_CTL_ADD, a, ev(IN.0 | EPOLLET, 20))
        .unwrap();
    assert_eq!(lt.epoll_wait(&h.stack, 8), Ok(Vec::new()));
    assert_eq!(et.epoll_wait(&h.stack, 8), Ok(Vec::new()));
    h.stack.sys_sendto(c, b"ping", 0, None).unwrap();
    h.drain();
    let evs = h.events();
    assert!(!evs.is_empty());
    for e in &evs {
        lt.ep_poll_callback(&h.stack, e);
        et.ep_poll_callback(&h.stack, e);
    }
    let want_lt = vec![EpollEvent {
        events: IN.0,
        data: 10,
    }];
    let want_et = vec![EpollEvent {
        events: IN.0,
        data: 20,
    }];
    assert_eq!(lt.epoll_wait(&h.stack, 8).unwrap(), want_lt);
    assert_eq!(et.epoll_wait(&h.stack, 8).unwrap(), want_et);
    // Nothing read: level-triggered says it again, edge-triggered does not.
    assert_eq!(lt.epoll_wait(&h.stack, 8).unwrap(), want_lt);
    assert_eq!(et.epoll_wait(&h.stack, 8).unwrap(), Vec::new());
    // Read it all: the level-triggered item leaves the ready list at the next wait.
    let mut buf = [0u8; 16];
    h.stack.sys_recvmsg(a, &mut buf, 0).unwrap();
    assert_eq!(lt.epoll_wait(&h.stack, 8).unwrap(), Vec::new());
    // A new arrival into the empty queue is a new edge.
    h.stack.sys_sendto(c, b"more", 0, None).unwrap();
    h.drain();
    for e in h.events() {
        et.ep_poll_callback(&h.stack, &e);
        lt.ep_poll_callback(&h.stack, &e);
    }
    assert_eq!(et.epoll_wait(&h.stack, 8).unwrap(), want_et);
    assert_eq!(lt.epoll_wait(&h.stack, 8).unwrap(), want_lt);
    h.stack.sys_recvmsg(a, &mut buf, 0).unwrap();
    assert_eq!(lt.epoll_wait(&h.stack, 8).unwrap(), Vec::new());
    assert_eq!(lt.ready_len(), 0);
}

/// EPOLLONESHOT: one report, then silence even on new events, until EPOLL_CTL_MOD re-arms
/// it (and polls it at once).
#[test]
fn epoll_oneshot_until_mod() {
    let mut h = Harness::new();
    let (_l, c, a) = pair(&mut h, 7011);
    h.events();
    let mut ep = Epoll::new();
    ep.epoll_ctl(&h.stack, EPOLL_CTL_ADD, a, ev(IN.0 | EPOLLONESHOT, 5))
        .unwrap();
    h.stack.sys_sendto(c, b"1", 0, None).unwrap();
    h.drain();
    feed(&mut h, &mut ep);
    assert_eq!(ep.epoll_wait(&h.stack, 8).unwrap().len(), 1);
    h.stack.sys_sendto(c, b"2", 0, None).unwrap();
    h.drain();
    feed(&mut h, &mut ep);
    assert_eq!(ep.epoll_wait(&h.stack, 8).unwrap(), Vec::new());
    ep.epoll_ctl(&h.stack, EPOLL_CTL_MOD, a, ev(IN.0 | EPOLLONESHOT, 6))
        .unwrap();
    assert_eq!(
        ep.epoll_wait(&h.stack, 8).unwrap(),
        vec![EpollEvent {
            events: IN.0,
            data: 6
        }]
    );
}

/// ADD polls at once (`ep_insert`): a connected socket asking for EPOLLOUT is reported
/// without any event; EPOLLERR/EPOLLHUP come unasked; `maxevents` bounds one wait and the
/// rest wait for the next; a closed socket leaves the set; a listener is reported on the
/// `Acceptable` event.
#[test]
fn epoll_insert_polls_maxevents_close_and_listener() {
    let mut h = Harness::new();
    let (l, c, a) = pair(&mut h, 7012);
    h.events();
    let mut ep = Epoll::new();
    ep.epoll_ctl(&h.stack, EPOLL_CTL_ADD, c, ev(OUT.0, 1))
        .unwrap();
    ep.epoll_ctl(&h.stack, EPOLL_CTL_ADD, a, ev(OUT.0, 2))
        .unwrap();
    ep.epoll_ctl(&h.stack, EPOLL_CTL_ADD, l, ev(IN.0, 3))
        .unwrap();
    assert_eq!(
        ep.epoll_wait(&h.stack, 1).unwrap(),
        vec![EpollEvent {
            events: OUT.0,
            data: 1
        }]
    );
    assert_eq!(
        ep.epoll_wait(&h.stack, 1).unwrap(),
        vec![EpollEvent {
            events: OUT.0,
            data: 2
        }]
    );
    h.stack.sys_close(a).unwrap();
    h.drain();
    feed(&mut h, &mut ep);
    let got = ep.epoll_wait(&h.stack, 8).unwrap();
    // `a` is gone; `c` saw the FIN (and the RST or not): its mask now has POLLIN|POLLRDHUP
    // but only OUT was asked, plus HUP/ERR which are always reported.
    assert!(got.iter().all(|e| e.data == 1), "{got:?}");
    assert_eq!(ep.len(), 2);
    // A new connection makes the listener readable through the Acceptable event.
    let d = tcp(&mut h);
    assert_eq!(h.stack.sys_connect(d, &lo(7012)), Ok(()));
    h.drain();
    feed(&mut h, &mut ep);
    let got = ep.epoll_wait(&h.stack, 8).unwrap();
    assert!(
        got.contains(&EpollEvent {
            events: IN.0,
            data: 3
        }),
        "{got:?}"
    );
}

/// `datagram_poll` on a ping socket: writable, readable with a reply queued, and an epoll
/// item on it is woken by the reply's `Readable` event.
#[test]
fn ping_socket_datagram_poll_and_epoll() {
    let cfg = crate::StackConfig {
        ping_group_range: (0, 2_147_483_647),
        ..crate::StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1).with_static_peer();
    let p = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)
        .unwrap();
    h.stack
        .sys_bind(
            p,
            &SockAddr::inet(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80)),
        )
        .unwrap();
    assert_eq!(h.stack.sock_poll(p), DGRAM_OUT);
    let mut ep = Epoll::new();
    ep.epoll_ctl(&h.stack, EPOLL_CTL_ADD, p, ev(IN.0 | EPOLLET, 9))
        .unwrap();
    assert_eq!(ep.epoll_wait(&h.stack, 4).unwrap(), Vec::new());
    let reply = icmp_echo(false, 80, 1, b"hi");
    h.receive(&ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        crate::wire::ipv4::Protocol::ICMP,
        64,
        &reply,
    )));
    assert_eq!(h.stack.sock_poll(p), IN | DGRAM_OUT);
    feed(&mut h, &mut ep);
    let want = vec![EpollEvent {
        events: IN.0,
        data: 9,
    }];
    assert_eq!(ep.epoll_wait(&h.stack, 4).unwrap(), want);
    assert_eq!(ep.epoll_wait(&h.stack, 4).unwrap(), Vec::new());
    // A second reply while the first is unread: sk_data_ready again, a new edge.
    let reply = icmp_echo(false, 80, 2, b"hi");
    h.receive(&ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        crate::wire::ipv4::Protocol::ICMP,
        64,
        &reply,
    )));
    feed(&mut h, &mut ep);
    assert_eq!(ep.epoll_wait(&h.stack, 4).unwrap(), want);
}

/// Linux's `sk_data_ready` runs on every TCP arrival, not only into an empty queue: an
/// `EPOLLET` item is reported again for data arriving before the first was read, and an
/// item whose `SO_RCVLOWAT` target was not met by the first arrival is reported when the
/// rest arrives.
#[test]
fn tcp_edge_per_arrival_and_rcvlowat_rest() {
    let mut h = Harness::new();
    let (_l, c, a) = pair(&mut h, 7020);
    h.events();
    let mut et = Epoll::new();
    et.epoll_ctl(&h.stack, EPOLL_CTL_ADD, a, ev(IN.0 | EPOLLET, 1))
        .unwrap();
    let want = vec![EpollEvent {
        events: IN.0,
        data: 1,
    }];
    h.stack.sys_sendto(c, b"one", 0, None).unwrap();
    h.drain();
    feed(&mut h, &mut et);
    assert_eq!(et.epoll_wait(&h.stack, 8).unwrap(), want);
    assert_eq!(et.epoll_wait(&h.stack, 8).unwrap(), Vec::new());
    // Nothing read; more data into the non-empty queue is a new edge.
    h.stack.sys_sendto(c, b"two", 0, None).unwrap();
    h.drain();
    feed(&mut h, &mut et);
    assert_eq!(et.epoll_wait(&h.stack, 8).unwrap(), want);
    let mut buf = [0u8; 16];
    assert_eq!(h.stack.sys_recvmsg(a, &mut buf, 0).map(|m| m.len), Ok(6));
    assert_eq!(&buf[..6], b"onetwo");

    // SO_RCVLOWAT 8: 5 bytes wake the item but the poll finds the target not met; the
    // next 5 bytes wake it again and now it reports.
    h.stack
        .sys_setsockopt(a, SOL_SOCKET, SO_RCVLOWAT, &8i32.to_ne_bytes())
        .unwrap();
    h.stack.sys_sendto(c, b"hello", 0, None).unwrap();
    h.drain();
    feed(&mut h, &mut et);
    assert_eq!(et.epoll_wait(&h.stack, 8).unwrap(), Vec::new());
    h.stack.sys_sendto(c, b"world", 0, None).unwrap();
    h.drain();
    feed(&mut h, &mut et);
    assert_eq!(et.epoll_wait(&h.stack, 8).unwrap(), want);
}

/// UDP: every queued datagram is an arrival (`sk_data_ready`), so an `EPOLLET` item is
/// reported once per datagram even when the earlier ones are still queued.
#[test]
fn udp_edge_per_datagram() {
    let mut h = Harness::new();
    let u = h.stack.sys_socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    h.stack.sys_bind(u, &lo(5360)).unwrap();
    let v = h.stack.sys_socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    let mut et = Epoll::new();
    et.epoll_ctl(&h.stack, EPOLL_CTL_ADD, u, ev(IN.0 | EPOLLET, 3))
        .unwrap();
    let want = vec![EpollEvent {
        events: IN.0,
        data: 3,
    }];
    for (i, msg) in [b"a", b"b", b"c"].iter().enumerate() {
        assert_eq!(h.stack.sys_sendto(v, *msg, 0, Some(&lo(5360))), Ok(1));
        h.drain();
        feed(&mut h, &mut et);
        assert_eq!(et.epoll_wait(&h.stack, 8).unwrap(), want, "datagram {i}");
        assert_eq!(et.epoll_wait(&h.stack, 8).unwrap(), Vec::new());
    }
    let mut buf = [0u8; 4];
    for want in [b"a", b"b", b"c"] {
        let m = h.stack.sys_recvmsg(u, &mut buf, 0).unwrap();
        assert_eq!(&buf[..m.len], want);
    }
}

/// The event queue folds a `Readable` into the identical one last in the queue (the reader
/// has not looked yet), keeps interleaved ones, and still drops the oldest (counted) when
/// full.
#[test]
fn readable_events_fold_and_queue_overflow_counts() {
    let cfg = crate::StackConfig {
        event_queue_len: 3,
        ..crate::StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1);
    let u1 = h.stack.sys_socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    let u2 = h.stack.sys_socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    h.stack.sys_bind(u1, &lo(5361)).unwrap();
    h.stack.sys_bind(u2, &lo(5362)).unwrap();
    let (k1, k2) = (
        h.stack.socket(u1).unwrap().sk,
        h.stack.socket(u2).unwrap().sk,
    );
    let v = h.stack.sys_socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    let send = |h: &mut Harness, port: u16| {
        assert_eq!(h.stack.sys_sendto(v, b"x", 0, Some(&lo(port))), Ok(1));
        h.drain();
    };
    send(&mut h, 5361);
    send(&mut h, 5361);
    send(&mut h, 5362);
    send(&mut h, 5361);
    assert_eq!(h.stack.events_dropped(), 0);
    assert_eq!(
        h.events(),
        [
            crate::Event::Readable(k1),
            crate::Event::Readable(k2),
            crate::Event::Readable(k1)
        ]
    );
    // Four alternating arrivals into a queue of 3: the oldest is dropped and counted.
    for port in [5361, 5362, 5361, 5362] {
        send(&mut h, port);
    }
    assert_eq!(h.stack.events_dropped(), 1);
    assert_eq!(
        h.events(),
        [
            crate::Event::Readable(k2),
            crate::Event::Readable(k1),
            crate::Event::Readable(k2)
        ]
    );
}

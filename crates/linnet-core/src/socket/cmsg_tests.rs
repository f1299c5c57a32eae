//! Rule tests of ancillary data (IP_PKTINFO, IP_TTL, IP_TOS), the error queue
//! (IP_RECVERR, MSG_ERRQUEUE) and UDP_CORK / MSG_MORE. One stack on virtual time, the
//! peer scripted on `eth0`.

use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use super::addr::*;
use super::cmsg::*;
use super::opt::*;
use super::*;
use crate::testutil::*;
use crate::udp::errqueue::SO_EE_ORIGIN_ICMP;
use crate::wire::ipv4::Protocol;

fn sa(ip: Ipv4Addr, port: u16) -> SockAddr {
    SockAddr::inet(SocketAddrV4::new(ip, port))
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

/// A UDP frame from the peer with the given TTL and TOS.
fn udp_frame_ttl_tos(dst: Ipv4Addr, dport: u16, ttl: u8, tos: u8, payload: &[u8]) -> Vec<u8> {
    let d = udp_datagram(PEER_IP, dst, 40000, dport, payload);
    let mut ip = ipv4_packet(PEER_IP, dst, Protocol::UDP, ttl, &d);
    let mut p = crate::wire::ipv4::Packet::new_unchecked(&mut ip[..]);
    p.set_tos(tos);
    p.fill_checksum();
    ip_frame(&ip)
}

/// Send `payload` from `u` to PEER_IP:`port` and answer it with ICMP `ty`/`code`/`rest`
/// quoting the whole datagram. A pending error reported by the send (sk_err, as Linux's
/// `sock_alloc_send_pskb`) is consumed and the send repeated.
fn send_and_icmp(h: &mut Harness, u: SocketId, port: u16, ty: u8, code: u8, rest: u32) {
    let to = sa(PEER_IP, port);
    if h.stack.sys_sendto(u, b"payload!", 0, Some(&to)).is_err() {
        h.stack.sys_sendto(u, b"payload!", 0, Some(&to)).unwrap();
    }
    let sent = h.drain().pop().unwrap();
    let ip = parse_ipv4(&sent).unwrap();
    let icmp = icmp_error(ty, code, rest, &ip.packet);
    h.receive(&ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        Protocol::ICMP,
        61,
        &icmp,
    )));
}

/// The option numbers are Linux's, each a boolean that reads back 0/1.
#[test]
fn cmsg_options_round_trip_with_linux_numbers() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    assert_eq!(
        (IP_PKTINFO, IP_RECVERR, IP_RECVTTL, IP_RECVTOS),
        (8, 11, 12, 13)
    );
    for name in [IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IP_RECVERR] {
        assert_eq!(get_int(&mut h, u, SOL_IP, name), Ok(0));
        assert_eq!(set_int(&mut h, u, SOL_IP, name, 5), Ok(()));
        assert_eq!(get_int(&mut h, u, SOL_IP, name), Ok(1));
        // One byte is accepted as do_ip_setsockopt does.
        assert_eq!(h.stack.sys_setsockopt(u, SOL_IP, name, &[0]), Ok(()));
        assert_eq!(get_int(&mut h, u, SOL_IP, name), Ok(0));
    }
}

/// IP_PKTINFO, IP_RECVTTL and IP_RECVTOS give `in_pktinfo` (ifindex, spec_dst, addr), the
/// TTL and the TOS of the datagram read, in `ip_cmsg_recv_offset`'s order; MSG_PEEK gets
/// them too; without the options there are none.
#[test]
fn pktinfo_ttl_tos_cmsgs_describe_the_datagram() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    h.stack
        .sys_bind(u, &sa(Ipv4Addr::UNSPECIFIED, 5000))
        .unwrap();
    h.receive(&udp_frame_ttl_tos(OUR_IP, 5000, 33, 0x28, b"one"));
    h.receive(&udp_frame_ttl_tos(OUR_IP, 5000, 44, 0, b"early"));
    let mut c = CmsgBuf::new();
    let mut buf = [0u8; 16];
    let m = h.stack.sys_recvmsg_cmsg(u, &mut buf, 0, &mut c).unwrap();
    assert_eq!(m.len, 3);
    assert!(c.is_empty());
    for name in [IP_PKTINFO, IP_RECVTTL, IP_RECVTOS] {
        set_int(&mut h, u, SOL_IP, name, 1).unwrap();
    }
    // Queued before IP_PKTINFO was on: ipv4_pktinfo_prepare did not run, so ifindex
    // and spec_dst read 0 (checked against Linux in socket_diff).
    h.stack.sys_recvmsg_cmsg(u, &mut buf, 0, &mut c).unwrap();
    assert_eq!(
        c.iter().copied().collect::<Vec<_>>(),
        [
            Cmsg::PktInfo {
                ifindex: 0,
                spec_dst: Ipv4Addr::UNSPECIFIED,
                addr: OUR_IP,
            },
            Cmsg::Ttl(44),
            Cmsg::Tos(0),
        ]
    );
    h.receive(&udp_frame_ttl_tos(OUR_IP, 5000, 7, 0x10, b"two"));
    let m = h
        .stack
        .sys_recvmsg_cmsg(u, &mut buf, MSG_PEEK, &mut c)
        .unwrap();
    assert_eq!(&buf[..m.len], b"two");
    let want = [
        Cmsg::PktInfo {
            ifindex: h.eth0.0,
            spec_dst: OUR_IP,
            addr: OUR_IP,
        },
        Cmsg::Ttl(7),
        Cmsg::Tos(0x10),
    ];
    assert_eq!(c.iter().copied().collect::<Vec<_>>(), want);
    h.stack.sys_recvmsg_cmsg(u, &mut buf, 0, &mut c).unwrap();
    assert_eq!(c.iter().copied().collect::<Vec<_>>(), want);
    // The wire layout of msg_control (64-bit): 16-byte cmsghdr, 8-byte alignment.
    let mut ctl = [0xaau8; 128];
    let (n, fl) = c.encode(&mut ctl);
    assert_eq!((n, fl), (32 + 24 + 24, 0));
    assert_eq!(u64::from_ne_bytes(ctl[0..8].try_into().unwrap()), 28);
    assert_eq!(i32::from_ne_bytes(ctl[8..12].try_into().unwrap()), SOL_IP);
    assert_eq!(
        i32::from_ne_bytes(ctl[12..16].try_into().unwrap()),
        IP_PKTINFO
    );
    assert_eq!(&ctl[20..24], &OUR_IP.octets());
    assert_eq!(i32::from_ne_bytes(ctl[44..48].try_into().unwrap()), IP_TTL);
    assert_eq!(i32::from_ne_bytes(ctl[48..52].try_into().unwrap()), 7);
    assert_eq!(ctl[72], 0x10);
    // Too short a buffer: what fits, and MSG_CTRUNC.
    let (n, fl) = c.encode(&mut ctl[..40]);
    assert_eq!((n, fl), (32, MSG_CTRUNC));
}

/// A broadcast datagram's `ipi_spec_dst` is our address on the way back to the sender
/// (`fib_compute_spec_dst`) and `ipi_addr` the broadcast address.
#[test]
fn pktinfo_of_a_broadcast() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    h.stack
        .sys_bind(u, &sa(Ipv4Addr::UNSPECIFIED, 5000))
        .unwrap();
    set_int(&mut h, u, SOL_IP, IP_PKTINFO, 1).unwrap();
    h.receive(&udp_frame(40000, SUBNET_BCAST, 5000, b"b"));
    let mut c = CmsgBuf::new();
    let mut buf = [0u8; 4];
    h.stack.sys_recvmsg_cmsg(u, &mut buf, 0, &mut c).unwrap();
    assert_eq!(
        c.iter().next(),
        Some(&Cmsg::PktInfo {
            ifindex: h.eth0.0,
            spec_dst: OUR_IP,
            addr: SUBNET_BCAST,
        })
    );
}

/// Without IP_RECVERR an unconnected socket hears nothing of a port unreachable; with it
/// the error is queued, SO_ERROR / recv report ECONNREFUSED, and MSG_ERRQUEUE returns the
/// quoted payload, the original destination in msg_name, MSG_ERRQUEUE in msg_flags and a
/// sock_extended_err (origin ICMP, type 3 code 3) with the ICMP sender as offender. The
/// queue then is empty: EAGAIN.
#[test]
fn recverr_queues_port_unreachable_on_unconnected_socket() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    send_and_icmp(&mut h, u, 9, 3, 3, 0);
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_ERROR), Ok(0));
    let mut buf = [0u8; 64];
    let mut c = CmsgBuf::new();
    assert_eq!(
        h.stack.sys_recvmsg_cmsg(u, &mut buf, MSG_ERRQUEUE, &mut c),
        Err(Errno::EAGAIN)
    );

    set_int(&mut h, u, SOL_IP, IP_RECVERR, 1).unwrap();
    send_and_icmp(&mut h, u, 9, 3, 3, 0);
    let sk = h.stack.socket(u).unwrap().sk;
    assert_eq!(h.stack.udp_errq_len(sk), Ok(1));
    assert!(h
        .stack
        .sock_poll(u)
        .contains(crate::socket::poll::PollMask::POLLERR));
    assert_eq!(
        h.stack.sys_recvmsg(u, &mut buf, 0),
        Err(Errno::ECONNREFUSED)
    );
    let m = h
        .stack
        .sys_recvmsg_cmsg(u, &mut buf, MSG_ERRQUEUE, &mut c)
        .unwrap();
    assert_eq!(&buf[..m.len], b"payload!");
    assert_eq!(m.flags, MSG_ERRQUEUE);
    assert_eq!(m.from, Some(SocketAddrV4::new(PEER_IP, 9)));
    let Some(&Cmsg::RecvErr { ee, offender }) = c.iter().next() else {
        panic!("no IP_RECVERR cmsg: {c:?}");
    };
    assert_eq!(offender, PEER_IP);
    assert_eq!(ee.ee_errno, Errno::ECONNREFUSED.code() as u32);
    assert_eq!(
        (ee.ee_origin, ee.ee_type, ee.ee_code),
        (SO_EE_ORIGIN_ICMP, 3, 3)
    );
    assert_eq!(ee.ee_info, 0);
    assert_eq!(
        h.stack.sys_recvmsg_cmsg(u, &mut buf, MSG_ERRQUEUE, &mut c),
        Err(Errno::EAGAIN)
    );
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_ERROR), Ok(0));
}

/// Frag needed carries the MTU in ee_info and is EMSGSIZE; time exceeded is EHOSTUNREACH
/// (type 11); net / host unreachable are ENETUNREACH / EHOSTUNREACH. Reading one sets
/// sk_err to the next one's errno; the last read clears it. A short buffer gets
/// MSG_TRUNC. With IP_PKTINFO/IP_RECVTTL the ICMP packet's own cmsgs come first.
#[test]
fn recverr_error_kinds_order_and_sk_err() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    set_int(&mut h, u, SOL_IP, IP_RECVERR, 1).unwrap();
    set_int(&mut h, u, SOL_IP, IP_RECVTTL, 1).unwrap();
    send_and_icmp(&mut h, u, 10, 3, 4, 1400);
    send_and_icmp(&mut h, u, 11, 11, 0, 0);
    send_and_icmp(&mut h, u, 12, 3, 0, 0);
    send_and_icmp(&mut h, u, 13, 3, 1, 0);
    let mut buf = [0u8; 4];
    let mut c = CmsgBuf::new();
    let want = [
        (10, Errno::EMSGSIZE, 3, 4, 1400),
        (11, Errno::EHOSTUNREACH, 11, 0, 0),
        (12, Errno::ENETUNREACH, 3, 0, 0),
        (13, Errno::EHOSTUNREACH, 3, 1, 0),
    ];
    for (i, (port, err, ty, code, info)) in want.into_iter().enumerate() {
        let m = h
            .stack
            .sys_recvmsg_cmsg(u, &mut buf, MSG_ERRQUEUE, &mut c)
            .unwrap();
        assert_eq!((m.len, m.flags), (4, MSG_ERRQUEUE | MSG_TRUNC));
        assert_eq!(m.from, Some(SocketAddrV4::new(PEER_IP, port)));
        let v: Vec<Cmsg> = c.iter().copied().collect();
        assert_eq!(v[0], Cmsg::Ttl(61));
        let Cmsg::RecvErr { ee, .. } = v[1] else {
            panic!("{v:?}")
        };
        assert_eq!(
            (ee.ee_errno, ee.ee_type, ee.ee_code, ee.ee_info),
            (err.code() as u32, ty, code, info)
        );
        // sk_err now holds the next entry's errno, or nothing after the last.
        let next = want.get(i + 1).map_or(0, |w| w.1.code());
        let sk = h.stack.socket(u).unwrap().sk;
        assert_eq!(
            h.stack.udp_take_error(sk).unwrap().map_or(0, |e| e.code()),
            next
        );
    }
}

/// The error queue is bounded by the receive buffer (`sock_queue_err_skb`): past it,
/// errors are dropped and counted; clearing IP_RECVERR purges the queue.
#[test]
fn recverr_queue_bounded_and_purged() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    set_int(&mut h, u, SOL_IP, IP_RECVERR, 1).unwrap();
    set_int(&mut h, u, SOL_SOCKET, SO_RCVBUF, 1).unwrap();
    for _ in 0..20 {
        send_and_icmp(&mut h, u, 9, 3, 3, 0);
    }
    let sk = h.stack.socket(u).unwrap().sk;
    let queued = h.stack.udp_errq_len(sk).unwrap();
    let dropped = h.stack.udp_errq_drops(sk).unwrap();
    assert!((1..20).contains(&queued), "queued {queued}");
    assert_eq!(queued as u64 + dropped, 20);
    set_int(&mut h, u, SOL_IP, IP_RECVERR, 0).unwrap();
    assert_eq!(h.stack.udp_errq_len(sk), Ok(0));
    // The receive buffer's charge went with it: a datagram is admitted.
    h.stack.sys_bind(u, &sa(OUR_IP, 0)).unwrap_or(());
    let port = h.stack.sys_getsockname(u).unwrap().port();
    h.receive(&udp_frame(40000, OUR_IP, port, b"x"));
    assert_eq!(h.stack.udp_rx_queued(sk), Ok(1));
}

/// Connected, without IP_RECVERR: frag needed is EMSGSIZE in sk_err (hard with the
/// default IP_PMTUDISC_WANT), and nothing is queued.
#[test]
fn connected_frag_needed_is_emsgsize_without_recverr() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    h.stack.sys_connect(u, &sa(PEER_IP, 9)).unwrap();
    h.stack.sys_sendto(u, b"payload!", 0, None).unwrap();
    let sent = h.drain().pop().unwrap();
    let ip = parse_ipv4(&sent).unwrap();
    let icmp = icmp_error(3, 4, 1200, &ip.packet);
    h.receive(&ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        Protocol::ICMP,
        64,
        &icmp,
    )));
    let sk = h.stack.socket(u).unwrap().sk;
    assert_eq!(h.stack.udp_errq_len(sk), Ok(0));
    assert_eq!(
        get_int(&mut h, u, SOL_SOCKET, SO_ERROR),
        Ok(Errno::EMSGSIZE.code())
    );
}

/// MSG_MORE appends to one pending datagram sent when a call comes without it, to the
/// first call's destination; UDP_CORK holds datagrams until uncorked.
#[test]
fn msg_more_and_udp_cork_make_one_datagram() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    assert_eq!(
        h.stack
            .sys_sendto(u, b"ab", MSG_MORE, Some(&sa(PEER_IP, 7000))),
        Ok(2)
    );
    assert!(h.drain().is_empty());
    // A later address is ignored while pending, as udp_sendmsg's `goto do_append_data`.
    assert_eq!(
        h.stack.sys_sendto(u, b"cd", 0, Some(&sa(PEER_IP, 7001))),
        Ok(2)
    );
    let out = h.drain();
    assert_eq!(out.len(), 1);
    let (_, _, dport, payload) = parse_udp(&out[0]).unwrap();
    assert_eq!((dport, &payload[..]), (7000, &b"abcd"[..]));

    assert_eq!(get_int(&mut h, u, SOL_UDP, UDP_CORK), Ok(0));
    set_int(&mut h, u, SOL_UDP, UDP_CORK, 1).unwrap();
    assert_eq!(get_int(&mut h, u, SOL_UDP, UDP_CORK), Ok(1));
    for part in [&b"x"[..], b"y", b"z"] {
        h.stack
            .sys_sendto(u, part, 0, Some(&sa(PEER_IP, 7002)))
            .unwrap();
    }
    assert!(h.drain().is_empty());
    set_int(&mut h, u, SOL_UDP, UDP_CORK, 0).unwrap();
    let out = h.drain();
    assert_eq!(out.len(), 1);
    let (_, _, dport, payload) = parse_udp(&out[0]).unwrap();
    assert_eq!((dport, &payload[..]), (7002, &b"xyz"[..]));
    assert_eq!(h.stack.stats().udp.out_datagrams, 2);
}

/// Corked data past 65507 bytes is EMSGSIZE and the pending datagram is dropped
/// (`udp_flush_pending_frames`); the first corked call's checks still apply (EDESTADDRREQ).
#[test]
fn cork_size_limit_and_first_call_checks() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    assert_eq!(
        h.stack.sys_sendto(u, b"x", MSG_MORE, None),
        Err(Errno::EDESTADDRREQ)
    );
    let big = vec![0u8; 40000];
    let to = sa(PEER_IP, 7000);
    assert_eq!(h.stack.sys_sendto(u, &big, MSG_MORE, Some(&to)), Ok(40000));
    assert_eq!(
        h.stack.sys_sendto(u, &big, MSG_MORE, Some(&to)),
        Err(Errno::EMSGSIZE)
    );
    let sk = h.stack.socket(u).unwrap().sk;
    assert_eq!(h.stack.udp_cork_pending(sk), Ok(None));
    // Exactly 65507 in all fits.
    h.stack.sys_sendto(u, &big, MSG_MORE, Some(&to)).unwrap();
    assert_eq!(
        h.stack.sys_sendto(u, &big[..25507], 0, Some(&to)),
        Ok(25507)
    );
    assert_eq!(h.stack.stats().udp.out_datagrams, 1);
}

/// `IP_RECVORIGDSTADDR` (20): a boolean option; when on, each datagram comes with an
/// IP_ORIGDSTADDR message, `struct sockaddr_in` of the header's destination and the UDP
/// destination port (network order), after IP_TTL / IP_TOS as `ip_cmsg_recv_offset`
/// orders them. On a transparent socket it is the original destination.
#[test]
fn recvorigdstaddr_gives_the_destination_as_sockaddr_in() {
    let mut h = Harness::new().with_static_peer();
    let u = udp(&mut h);
    h.stack
        .sys_bind(u, &sa(Ipv4Addr::UNSPECIFIED, 5353))
        .unwrap();
    assert_eq!(get_int(&mut h, u, SOL_IP, IP_RECVORIGDSTADDR), Ok(0));
    set_int(&mut h, u, SOL_IP, IP_RECVORIGDSTADDR, 1).unwrap();
    assert_eq!(get_int(&mut h, u, SOL_IP, IP_RECVORIGDSTADDR), Ok(1));
    set_int(&mut h, u, SOL_IP, IP_RECVTTL, 1).unwrap();
    h.receive(&udp_frame_ttl_tos(OUR_IP, 5353, 17, 0, b"one"));
    let mut buf = [0u8; 16];
    let mut c = CmsgBuf::new();
    let m = h
        .stack
        .sys_recvmsg_cmsg(u, &mut buf, MSG_DONTWAIT, &mut c)
        .unwrap();
    assert_eq!(&buf[..m.len], b"one");
    let got: Vec<Cmsg> = c.iter().copied().collect();
    assert_eq!(
        got,
        vec![
            Cmsg::Ttl(17),
            Cmsg::OrigDstAddr(SocketAddrV4::new(OUR_IP, 5353))
        ]
    );
    let mut ctl = [0u8; 64];
    let (n, fl) = c.encode(&mut ctl);
    // IP_TTL: 16 + 4 padded to 24; IP_ORIGDSTADDR: 16 + 16.
    assert_eq!((n, fl), (24 + 32, 0));
    let o = &ctl[24..];
    assert_eq!(u64::from_ne_bytes(o[..8].try_into().unwrap()), 32);
    assert_eq!(i32::from_ne_bytes(o[12..16].try_into().unwrap()), 20);
    assert_eq!(u16::from_ne_bytes([o[16], o[17]]), 2);
    assert_eq!(&o[18..20], &5353u16.to_be_bytes());
    assert_eq!(&o[20..24], &OUR_IP.octets());
    assert_eq!(&o[24..32], &[0u8; 8]);
    // Off again: no message.
    set_int(&mut h, u, SOL_IP, IP_RECVORIGDSTADDR, 0).unwrap();
    set_int(&mut h, u, SOL_IP, IP_RECVTTL, 0).unwrap();
    h.receive(&udp_frame_ttl_tos(OUR_IP, 5353, 17, 0, b"two"));
    h.stack
        .sys_recvmsg_cmsg(u, &mut buf, MSG_DONTWAIT, &mut c)
        .unwrap();
    assert!(c.is_empty());
}

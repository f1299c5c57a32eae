//! Raw socket rules (net/ipv4/raw.c, `ip_protocol_deliver_rcu`), one Stack with a scripted
//! peer on virtual time.

use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use linnet_wire::ipv4::{self as ipw, Protocol};

use super::super::addr::*;
use super::super::opt::*;
use super::super::{SockAddr, SocketId};
use super::{ICMP_FILTER, SOL_RAW};
use crate::errno::Errno;
use crate::stack::Event;
use crate::testutil::*;

fn sa(ip: Ipv4Addr) -> SockAddr {
    SockAddr::inet(SocketAddrV4::new(ip, 0))
}

fn raw(h: &mut Harness, proto: i32) -> SocketId {
    h.stack.sock_create_kern(AF_INET, SOCK_RAW, proto).unwrap()
}

fn set_int(h: &mut Harness, s: SocketId, level: i32, name: i32, v: i32) -> Result<(), Errno> {
    h.stack.sys_setsockopt(s, level, name, &v.to_ne_bytes())
}

fn get_int(h: &mut Harness, s: SocketId, level: i32, name: i32) -> Result<i32, Errno> {
    let mut b = [0u8; 4];
    h.stack.sys_getsockopt(s, level, name, &mut b)?;
    Ok(i32::from_ne_bytes(b))
}

/// Reads one datagram: (bytes, sender).
fn recv(h: &mut Harness, s: SocketId) -> Result<(Vec<u8>, SocketAddrV4), Errno> {
    let mut buf = vec![0u8; 2048];
    let m = h.stack.sys_recvmsg(s, &mut buf, MSG_DONTWAIT)?;
    buf.truncate(m.len);
    Ok((buf, m.from.unwrap()))
}

fn ip_frame_proto(proto: u8, src: Ipv4Addr, dst: Ipv4Addr, payload: &[u8]) -> Vec<u8> {
    ip_frame(&ipv4_packet(src, dst, Protocol(proto), 64, payload))
}

/// Our IP packets sent since the last drain.
fn sent(h: &mut Harness) -> Vec<IpOut> {
    h.drain().iter().filter_map(|f| parse_ipv4(f)).collect()
}

/// af_inet.c `inet_create`: `SOCK_RAW` needs `CAP_NET_RAW` (EPERM from `socket()`,
/// a kernel socket has it); protocol 0 finds no protosw (EPROTONOSUPPORT); the raw entry
/// takes any other protocol below `IPPROTO_MAX`; `IPPROTO_RAW` implies `IP_HDRINCL`.
#[test]
fn raw_socket_creation_needs_cap_net_raw_and_a_protocol() {
    let mut h = Harness::new();
    assert_eq!(
        h.stack.sys_socket(AF_INET, SOCK_RAW, IPPROTO_ICMP),
        Err(Errno::EPERM)
    );
    assert_eq!(
        h.stack.sock_create_kern(AF_INET, SOCK_RAW, 0),
        Err(Errno::EPROTONOSUPPORT)
    );
    // The protocol search comes before the capability check.
    assert_eq!(
        h.stack.sys_socket(AF_INET, SOCK_RAW, 0),
        Err(Errno::EPROTONOSUPPORT)
    );
    assert_eq!(
        h.stack.sock_create_kern(AF_INET, SOCK_RAW, 263),
        Err(Errno::EINVAL)
    );
    let icmp = raw(&mut h, IPPROTO_ICMP);
    let rawp = raw(&mut h, IPPROTO_RAW);
    let s = h.stack.socket(icmp).unwrap();
    assert_eq!(
        (s.ty, s.protocol, s.ops.name),
        (SOCK_RAW, 1, "inet_sockraw_ops")
    );
    assert_eq!(get_int(&mut h, icmp, SOL_IP, IP_HDRINCL), Ok(0));
    assert_eq!(get_int(&mut h, rawp, SOL_IP, IP_HDRINCL), Ok(1));
    assert_eq!(get_int(&mut h, rawp, SOL_SOCKET, SO_TYPE), Ok(SOCK_RAW));
    assert_eq!(get_int(&mut h, rawp, SOL_SOCKET, SO_PROTOCOL), Ok(255));
    // SO_BINDTODEVICE is kept (not dispatched to the TCP/UDP/ping tables by protocol).
    let tcp_raw = raw(&mut h, IPPROTO_TCP);
    h.stack
        .sys_setsockopt(tcp_raw, SOL_SOCKET, SO_BINDTODEVICE, b"lo")
        .unwrap();
    h.stack.sys_close(tcp_raw).unwrap();
    // The port of a raw socket is its protocol (inet_sport = num).
    assert_eq!(
        h.stack.sys_getsockname(icmp),
        Ok(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 1))
    );
    assert_eq!(h.stack.raw_stats().sockets, 2);
    h.stack.sys_close(icmp).unwrap();
    assert_eq!(h.stack.raw_stats().sockets, 1);
}

/// raw.c `raw_v4_input`: every matching raw socket of the protocol gets a copy with the IP
/// header at offset 0, and the stack still answers the echo request itself. A socket bound
/// to another address, or of another protocol, gets nothing. recvfrom names the source
/// with port 0.
#[test]
fn echo_request_reaches_every_matching_raw_socket_and_is_still_answered() {
    let mut h = Harness::new().with_static_peer();
    let a = raw(&mut h, IPPROTO_ICMP);
    let b = raw(&mut h, IPPROTO_ICMP);
    let elsewhere = raw(&mut h, IPPROTO_ICMP);
    h.stack
        .sys_bind(elsewhere, &sa(Ipv4Addr::LOCALHOST))
        .unwrap();
    let bound_here = raw(&mut h, IPPROTO_ICMP);
    h.stack.sys_bind(bound_here, &sa(OUR_IP)).unwrap();
    let udp_raw = raw(&mut h, IPPROTO_UDP);
    let frame = echo_request_frame(OUR_IP, 0x77, 1, &[0xa5; 56]);
    let replies = sent_after(&mut h, &frame);
    assert_eq!(replies.len(), 1, "the echo reply still goes out");
    assert_eq!(replies[0].payload()[0], 0, "echo reply");
    let ip_in = &frame[14..];
    for s in [a, b, bound_here] {
        let (data, from) = recv(&mut h, s).unwrap();
        assert_eq!(data, ip_in, "the whole datagram, IP header first");
        assert_eq!(from, SocketAddrV4::new(PEER_IP, 0));
        assert_eq!(recv(&mut h, s), Err(Errno::EAGAIN));
    }
    assert_eq!(recv(&mut h, elsewhere), Err(Errno::EAGAIN));
    assert_eq!(recv(&mut h, udp_raw), Err(Errno::EAGAIN));
    assert_eq!(h.stack.stats().ip.in_delivers, 1);
}

fn sent_after(h: &mut Harness, frame: &[u8]) -> Vec<IpOut> {
    h.receive(frame);
    sent(h)
}

/// A raw UDP socket sees UDP datagrams, and UDP still answers a closed port with a port
/// unreachable (raw delivery is in addition to the protocol's).
#[test]
fn udp_datagram_reaches_raw_udp_socket_and_udp_still_answers() {
    let mut h = Harness::new().with_static_peer();
    let s = raw(&mut h, IPPROTO_UDP);
    let icmp = raw(&mut h, IPPROTO_ICMP);
    let out = sent_after(&mut h, &udp_frame(4000, OUR_IP, 9, b"hello"));
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].ip.next_header, Protocol::ICMP, "port unreachable");
    let (data, _) = recv(&mut h, s).unwrap();
    assert_eq!(data.len(), 20 + 8 + 5);
    assert_eq!(&data[28..], b"hello");
    // The port unreachable went out, not in: the ICMP socket saw nothing.
    assert_eq!(recv(&mut h, icmp), Err(Errno::EAGAIN));
}

/// `ip_protocol_deliver_rcu`: a protocol the stack does not handle, taken by a raw socket,
/// is delivered (InDelivers) without an ICMP protocol unreachable; without one it is
/// InUnknownProtos with the unreachable.
#[test]
fn unknown_protocol_taken_by_raw_socket_sends_no_protocol_unreachable() {
    let mut h = Harness::new().with_static_peer();
    let out = sent_after(&mut h, &ip_frame_proto(253, PEER_IP, OUR_IP, b"x"));
    assert_eq!(out.len(), 1, "protocol unreachable without a raw socket");
    assert_eq!(out[0].payload()[..2], [3, 2]);
    assert_eq!(h.stack.stats().ip.in_unknown_protos, 1);
    let s = raw(&mut h, 253);
    let out = sent_after(&mut h, &ip_frame_proto(253, PEER_IP, OUR_IP, b"y"));
    assert!(out.is_empty(), "{out:?}");
    assert_eq!(h.stack.stats().ip.in_unknown_protos, 1);
    assert_eq!(h.stack.stats().ip.in_delivers, 1);
    let (data, _) = recv(&mut h, s).unwrap();
    assert_eq!(&data[20..], b"y");
    // Filtered out by ICMP_FILTER still counts as taken: same for a matching socket whose
    // queue is full, which raw_v4_input counts as delivered too.
}

/// raw.c `icmp_filter`: bit `1 << type` drops that type for that socket only; the match
/// still counts (no other effect). `ICMP_FILTER` is EOPNOTSUPP on a socket not of
/// `IPPROTO_ICMP`, ENOPROTOOPT for another `SOL_RAW` name; a set copies at most 4 bytes
/// over the old mask and a get returns at most 4.
#[test]
fn icmp_filter_drops_the_types_it_names_for_that_socket() {
    let mut h = Harness::new().with_static_peer();
    let filtered = raw(&mut h, IPPROTO_ICMP);
    let open = raw(&mut h, IPPROTO_ICMP);
    set_int(&mut h, filtered, SOL_RAW, ICMP_FILTER, 1 << 8).unwrap();
    assert_eq!(get_int(&mut h, filtered, SOL_RAW, ICMP_FILTER), Ok(1 << 8));
    h.receive(&echo_request_frame(OUR_IP, 1, 1, b"ping"));
    h.drain();
    assert_eq!(recv(&mut h, filtered), Err(Errno::EAGAIN));
    assert!(recv(&mut h, open).is_ok());
    // Type 0 (echo reply) passes the filter.
    let reply = icmp_echo(false, 1, 1, b"pong");
    h.receive(&ip_frame_proto(1, PEER_IP, OUR_IP, &reply));
    assert!(recv(&mut h, filtered).is_ok());
    // One byte replaces the low byte only (native endian, as copy_from_user).
    h.stack
        .sys_setsockopt(filtered, SOL_RAW, ICMP_FILTER, &[0x09])
        .unwrap();
    let want = u32::from_ne_bytes({
        let mut b = (1u32 << 8).to_ne_bytes();
        b[0] = 0x09;
        b
    });
    assert_eq!(
        get_int(&mut h, filtered, SOL_RAW, ICMP_FILTER),
        Ok(want as i32)
    );
    let mut two = [0u8; 2];
    assert_eq!(
        h.stack
            .sys_getsockopt(filtered, SOL_RAW, ICMP_FILTER, &mut two),
        Ok(2)
    );
    let udp_raw = raw(&mut h, IPPROTO_UDP);
    assert_eq!(
        set_int(&mut h, udp_raw, SOL_RAW, ICMP_FILTER, 8),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        get_int(&mut h, udp_raw, SOL_RAW, ICMP_FILTER),
        Err(Errno::EOPNOTSUPP)
    );
    assert_eq!(
        set_int(&mut h, filtered, SOL_RAW, 2, 8),
        Err(Errno::ENOPROTOOPT)
    );
    // A message too short for an ICMP header is filtered (icmp_filter returns 1).
    h.receive(&ip_frame_proto(1, PEER_IP, OUR_IP, &[8, 0, 0]));
    assert_eq!(recv(&mut h, filtered), Err(Errno::EAGAIN));
    assert!(recv(&mut h, open).is_ok(), "no filter, no drop");
}

/// `raw_send_hdrinc`: with IHL >= 5 the stack fills tot_len and the checksum always, the
/// source when 0 (the route's) and the ID when 0 (unless DF); everything else goes out as
/// written, a source of 255.255.255.255 included. The route follows sendto's address.
#[test]
fn hdrincl_send_fills_length_checksum_source_and_id_only() {
    let mut h = Harness::new().with_static_peer();
    let s = raw(&mut h, IPPROTO_RAW);
    let mut pkt = ipv4_packet(Ipv4Addr::UNSPECIFIED, PEER_IP, Protocol::UDP, 33, b"abcd");
    pkt[1] = 0x10; // TOS
    pkt[2..4].copy_from_slice(&[0, 0]); // tot_len
    pkt[4..6].copy_from_slice(&[0, 0]); // id
    pkt[10..12].copy_from_slice(&[0xde, 0xad]); // a wrong checksum
    assert_eq!(
        h.stack.sys_sendto(s, &pkt, 0, Some(&sa(PEER_IP))),
        Ok(pkt.len())
    );
    let out = sent(&mut h);
    assert_eq!(out.len(), 1);
    let o = &out[0];
    assert_eq!(o.ip.src_addr, OUR_IP);
    assert_eq!((o.ip.hop_limit, o.ip.tos), (33, 0x10));
    assert_eq!(o.packet.len(), 24);
    assert_eq!(u16::from_be_bytes([o.packet[2], o.packet[3]]), 24);
    assert_ne!(
        u16::from_be_bytes([o.packet[4], o.packet[5]]),
        0,
        "ID chosen"
    );
    assert!(ipw::Packet::new_unchecked(&o.packet[..]).verify_checksum());
    assert_eq!(&o.packet[20..], b"abcd");

    // Source 255.255.255.255 stays; ID 0 with DF stays 0; a given ID stays.
    let mut spoof = ipv4_packet(Ipv4Addr::BROADCAST, PEER_IP, Protocol::UDP, 64, b"ab");
    spoof[4..6].copy_from_slice(&[0, 0]);
    spoof[6] = 0x40; // DF
    refill_ipv4_checksum(&mut spoof);
    h.stack
        .sys_sendto(s, &spoof, 0, Some(&sa(PEER_IP)))
        .unwrap();
    let o = sent(&mut h).remove(0);
    assert_eq!(o.ip.src_addr, Ipv4Addr::BROADCAST);
    assert_eq!(u16::from_be_bytes([o.packet[4], o.packet[5]]), 0);
    assert_eq!(o.packet, spoof);

    // IHL below 5: the bytes go out untouched.
    let mut odd = ipv4_packet(OUR_IP, PEER_IP, Protocol::UDP, 64, b"zz");
    odd[0] = 0x44;
    odd[2..4].copy_from_slice(&[0x12, 0x34]);
    h.stack.sys_sendto(s, &odd, 0, Some(&sa(PEER_IP))).unwrap();
    let frames = h.drain();
    assert_eq!(frames.len(), 1);
    assert_eq!(&frames[0][14..], &odd[..]);
}

/// `raw_send_hdrinc`'s errors: EMSGSIZE above the device MTU, EINVAL below 20 bytes or
/// for an IHL past the data; `raw_sendmsg`'s EDESTADDRREQ without an address, EINVAL for a
/// short one, EAFNOSUPPORT for another family (AF_UNSPEC passes), EOPNOTSUPP for MSG_OOB.
#[test]
fn hdrincl_send_errors() {
    let mut h = Harness::new().with_static_peer();
    let s = raw(&mut h, IPPROTO_RAW);
    let to = sa(PEER_IP);
    let big = ipv4_packet(OUR_IP, PEER_IP, Protocol::UDP, 64, &[0u8; 1481]);
    assert_eq!(
        h.stack.sys_sendto(s, &big, 0, Some(&to)),
        Err(Errno::EMSGSIZE)
    );
    let fits = ipv4_packet(OUR_IP, PEER_IP, Protocol::UDP, 64, &[0u8; 1480]);
    assert_eq!(h.stack.sys_sendto(s, &fits, 0, Some(&to)), Ok(1500));
    assert_eq!(
        h.stack.sys_sendto(s, &[0x45; 19], 0, Some(&to)),
        Err(Errno::EINVAL)
    );
    let mut long_ihl = ipv4_packet(OUR_IP, PEER_IP, Protocol::UDP, 64, b"");
    long_ihl[0] = 0x46;
    assert_eq!(
        h.stack.sys_sendto(s, &long_ihl, 0, Some(&to)),
        Err(Errno::EINVAL)
    );
    assert_eq!(
        h.stack.sys_sendto(s, &fits, 0, None),
        Err(Errno::EDESTADDRREQ)
    );
    let short = SockAddr::with_family(AF_INET as u16, SocketAddrV4::new(PEER_IP, 0), 15);
    assert_eq!(
        h.stack.sys_sendto(s, &fits, 0, Some(&short)),
        Err(Errno::EINVAL)
    );
    let v6 = SockAddr::with_family(10, SocketAddrV4::new(PEER_IP, 0), 16);
    assert_eq!(
        h.stack.sys_sendto(s, &fits, 0, Some(&v6)),
        Err(Errno::EAFNOSUPPORT)
    );
    let unspec = SockAddr::with_family(0, SocketAddrV4::new(PEER_IP, 0), 16);
    assert_eq!(h.stack.sys_sendto(s, &fits, 0, Some(&unspec)), Ok(1500));
    assert_eq!(
        h.stack.sys_sendto(s, &fits, MSG_OOB, Some(&to)),
        Err(Errno::EOPNOTSUPP)
    );
    // shutdown(SHUT_WR) stops hdrincl sends (sock_alloc_send_skb), not the others.
    let _ = h.stack.sys_shutdown(s, SHUT_WR);
    assert_eq!(
        h.stack.sys_sendto(s, &fits, 0, Some(&to)),
        Err(Errno::EPIPE)
    );
    set_int(&mut h, s, SOL_IP, IP_HDRINCL, 0).unwrap();
    assert_eq!(h.stack.sys_sendto(s, b"data", 0, Some(&to)), Ok(4));
}

/// Without `IP_HDRINCL` the stack builds the header: the socket's protocol, `IP_TTL`,
/// `IP_TOS`, DF (IP_PMTUDISC_WANT) and a hashed ID for an unconnected socket; the bytes are the
/// payload as given (no checksum is computed for the user). An ICMP socket needs the type
/// and code (EFAULT below 2 bytes); a broadcast needs SO_BROADCAST (EACCES).
#[test]
fn send_without_hdrincl_builds_the_header_with_the_socket_protocol() {
    let mut h = Harness::new().with_static_peer();
    let s = raw(&mut h, IPPROTO_ICMP);
    set_int(&mut h, s, SOL_IP, IP_TTL, 7).unwrap();
    set_int(&mut h, s, SOL_IP, IP_TOS, 0x20).unwrap();
    assert_eq!(get_int(&mut h, s, SOL_IP, IP_TTL), Ok(7));
    let echo = icmp_echo(true, 0x1234, 1, &[0xa5; 56]);
    let before = h.stack.stats().icmp.out_msgs;
    assert_eq!(h.stack.sys_sendto(s, &echo, 0, Some(&sa(PEER_IP))), Ok(64));
    let o = sent(&mut h).remove(0);
    assert_eq!(o.ip.next_header, Protocol::ICMP);
    assert_eq!((o.ip.src_addr, o.ip.dst_addr), (OUR_IP, PEER_IP));
    assert_eq!((o.ip.hop_limit, o.ip.tos, o.ip.dont_frag), (7, 0x20, true));
    let first_id = o.ip.ident;
    assert_eq!(o.payload(), &echo[..]);
    assert_eq!(h.stack.stats().icmp.out_msgs, before + 1);
    // Unconnected, DF and all: the hashed ID generator, one more per datagram of the flow
    // (Linux: ignore_df under IP_PMTUDISC_WANT, so ip_select_ident does not give 0).
    h.stack.sys_sendto(s, &echo, 0, Some(&sa(PEER_IP))).unwrap();
    let o = sent(&mut h).remove(0);
    assert_eq!(o.ip.ident, first_id.wrapping_add(1));
    assert_eq!(
        h.stack.sys_sendto(s, &[8], 0, Some(&sa(PEER_IP))),
        Err(Errno::EFAULT)
    );
    assert_eq!(
        h.stack.sys_sendto(s, &echo, 0, Some(&sa(SUBNET_BCAST))),
        Err(Errno::EACCES)
    );
    set_int(&mut h, s, SOL_SOCKET, SO_BROADCAST, 1).unwrap();
    assert_eq!(
        h.stack.sys_sendto(s, &echo, 0, Some(&sa(SUBNET_BCAST))),
        Ok(64)
    );
    assert_eq!(
        h.stack
            .sys_sendto(s, &vec![0u8; 65516], 0, Some(&sa(PEER_IP))),
        Err(Errno::EMSGSIZE)
    );
    assert_eq!(
        h.stack
            .sys_sendto(s, &vec![0u8; 65536], 0, Some(&sa(PEER_IP))),
        Err(Errno::EMSGSIZE)
    );
    // A raw socket of another protocol: the header carries it.
    let p = raw(&mut h, 253);
    h.drain();
    h.stack.sys_sendto(p, b"", 0, Some(&sa(PEER_IP))).unwrap();
    let o = sent(&mut h).remove(0);
    assert_eq!((o.ip.next_header, o.packet.len()), (Protocol(253), 20));
}

/// ip_sockglue.c: `IP_HDRINCL` set is ENOPROTOOPT on a socket that is not `SOCK_RAW`; get
/// answers 0 on any socket.
#[test]
fn ip_hdrincl_only_on_raw_sockets() {
    let mut h = Harness::new();
    let u = h.stack.sys_socket(AF_INET, SOCK_DGRAM, 0).unwrap();
    assert_eq!(
        set_int(&mut h, u, SOL_IP, IP_HDRINCL, 1),
        Err(Errno::ENOPROTOOPT)
    );
    assert_eq!(get_int(&mut h, u, SOL_IP, IP_HDRINCL), Ok(0));
    let r = raw(&mut h, IPPROTO_ICMP);
    set_int(&mut h, r, SOL_IP, IP_HDRINCL, 1).unwrap();
    assert_eq!(get_int(&mut h, r, SOL_IP, IP_HDRINCL), Ok(1));
    // SOL_RAW on a UDP socket: ip_setsockopt's level check.
    assert_eq!(
        set_int(&mut h, u, SOL_RAW, ICMP_FILTER, 1),
        Err(Errno::ENOPROTOOPT)
    );
}

/// `__sock_queue_rcv_skb`: once the charge reaches `SO_RCVBUF` further copies are dropped
/// and counted in `sk_drops` (no MIB counts them); reading makes room again.
#[test]
fn full_receive_queue_drops_and_counts() {
    let mut h = Harness::new().with_static_peer();
    let s = raw(&mut h, 253);
    set_int(&mut h, s, SOL_SOCKET, SO_RCVBUF, 0).unwrap();
    assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_RCVBUF), Ok(2304));
    for _ in 0..40 {
        h.receive(&ip_frame_proto(253, PEER_IP, OUR_IP, &[0u8; 100]));
    }
    let drops = h.stack.raw_drops(s).unwrap();
    assert!(drops > 0, "some copies dropped");
    assert_eq!(h.stack.raw_stats().rcvbuf_errors, drops);
    let mut got = 0;
    while recv(&mut h, s).is_ok() {
        got += 1;
    }
    assert_eq!(got + drops, 40);
    h.receive(&ip_frame_proto(253, PEER_IP, OUR_IP, &[0u8; 100]));
    assert!(recv(&mut h, s).is_ok());
    // Nothing of this reached an SNMP counter of drops.
    assert_eq!(h.stack.stats().ip.in_discards, 0);
}

/// connect(): the peer filters what arrives, the bound address becomes the route's source,
/// getpeername needs a nonzero port; a hard ICMP error about what it sent sets `sk_err`
/// (raw_err); connect(AF_UNSPEC) resets the addresses and unhashes the socket
/// (`__udp_disconnect`), after which it receives nothing.
#[test]
fn connected_raw_socket_filters_by_peer_and_hears_hard_errors() {
    let mut h = Harness::new().with_static_peer();
    let s = raw(&mut h, IPPROTO_UDP);
    h.stack
        .sys_connect(s, &SockAddr::inet(SocketAddrV4::new(PEER_IP, 0)))
        .unwrap();
    assert_eq!(h.stack.sys_getpeername(s), Err(Errno::ENOTCONN));
    assert_eq!(
        h.stack.sys_getsockname(s),
        Ok(SocketAddrV4::new(OUR_IP, 17))
    );
    let other = Ipv4Addr::new(10, 0, 0, 3);
    h.receive(&udp_frame_from(PEER_MAC, other, 1, OUR_IP, 7, b"no"));
    h.receive(&udp_frame(1, OUR_IP, 7, b"yes"));
    h.drain();
    let (d, _) = recv(&mut h, s).unwrap();
    assert_eq!(&d[28..], b"yes");
    assert_eq!(recv(&mut h, s), Err(Errno::EAGAIN));
    // A port unreachable quoting a UDP datagram we sent to the peer.
    let quoted = ipv4_packet(
        OUR_IP,
        PEER_IP,
        Protocol::UDP,
        64,
        &[0, 1, 0, 9, 0, 8, 0, 0],
    );
    let err = icmp_error(3, 3, 0, &quoted);
    h.receive(&ip_frame_proto(1, PEER_IP, OUR_IP, &err));
    assert!(h
        .events()
        .contains(&Event::Error(h.stack.socket(s).unwrap().sk)));
    assert!(h
        .stack
        .sock_poll(s)
        .contains(super::super::poll::PollMask::POLLERR));
    assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_ERROR), Ok(111));
    // A soft one (time exceeded) is not reported without IP_RECVERR.
    let te = icmp_error(11, 0, 0, &quoted);
    h.receive(&ip_frame_proto(1, PEER_IP, OUR_IP, &te));
    assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_ERROR), Ok(0));
    h.stack
        .sys_connect(s, &SockAddr::inet(SocketAddrV4::new(PEER_IP, 99)))
        .unwrap();
    assert_eq!(
        h.stack.sys_getpeername(s),
        Ok(SocketAddrV4::new(PEER_IP, 99))
    );
    h.stack.sys_connect(s, &SockAddr::unspec()).unwrap();
    // __udp_disconnect clears inet_sport too (checked against Linux by socket_diff).
    assert_eq!(
        h.stack.sys_getsockname(s),
        Ok(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
    );
    h.receive(&udp_frame(1, OUR_IP, 7, b"gone"));
    assert_eq!(recv(&mut h, s), Err(Errno::EAGAIN));
    // bind(): EADDRNOTAVAIL for a foreign address, EINVAL short, no family check.
    let b = raw(&mut h, IPPROTO_UDP);
    assert_eq!(h.stack.sys_bind(b, &sa(PEER_IP)), Err(Errno::EADDRNOTAVAIL));
    let short = SockAddr::with_family(AF_INET as u16, SocketAddrV4::new(OUR_IP, 0), 8);
    assert_eq!(h.stack.sys_bind(b, &short), Err(Errno::EINVAL));
    let v6 = SockAddr::with_family(10, SocketAddrV4::new(OUR_IP, 0), 16);
    assert_eq!(h.stack.sys_bind(b, &v6), Ok(()));
    assert_eq!(
        h.stack.sys_bind(b, &sa(Ipv4Addr::LOCALHOST)),
        Ok(()),
        "rebind"
    );
}

/// `datagram_poll` and the readiness event; `MSG_PEEK` and `MSG_TRUNC`; `MSG_OOB` is
/// EOPNOTSUPP on receive.
#[test]
fn poll_peek_and_truncation() {
    use super::super::poll::PollMask;
    let mut h = Harness::new().with_static_peer();
    let s = raw(&mut h, 253);
    let sk = h.stack.socket(s).unwrap().sk;
    assert!(!h.stack.sock_poll(s).contains(PollMask::POLLIN));
    h.receive(&ip_frame_proto(253, PEER_IP, OUR_IP, b"0123456789"));
    assert!(h.events().contains(&Event::Readable(sk)));
    assert!(h.stack.sock_poll(s).contains(PollMask::POLLIN));
    let mut small = [0u8; 4];
    let m = h
        .stack
        .sys_recvmsg(s, &mut small, MSG_PEEK | MSG_TRUNC)
        .unwrap();
    assert_eq!((m.len, m.flags), (30, MSG_TRUNC));
    assert_eq!(small[0], 0x45);
    let m = h.stack.sys_recvmsg(s, &mut small, 0).unwrap();
    assert_eq!((m.len, m.flags), (4, MSG_TRUNC));
    assert_eq!(
        h.stack.sys_recvmsg(s, &mut small, MSG_OOB),
        Err(Errno::EOPNOTSUPP)
    );
    assert!(!h.stack.sock_poll(s).contains(PollMask::POLLIN));
}

/// `raw_diag`: hashed raw sockets, UNCONN or ESTAB, the protocol as the local port.
#[test]
fn diag_lists_raw_sockets_with_protocol_as_port() {
    use crate::tcp::diag::{InetDiagReq, IPPROTO_RAW, TCPF_ALL};
    let mut h = Harness::new().with_static_peer();
    let a = raw(&mut h, IPPROTO_ICMP);
    let b = raw(&mut h, IPPROTO_UDP);
    h.stack.sys_connect(b, &sa(PEER_IP)).unwrap();
    let req = InetDiagReq {
        protocol: IPPROTO_RAW,
        states: TCPF_ALL,
        info: false,
    };
    let (d, next) = h.stack.inet_diag_dump(&req, 0, 16);
    assert_eq!(next, None);
    assert_eq!(d.len(), 2);
    assert_eq!((d[0].state, d[0].src.port(), d[0].protocol), (7, 1, 1));
    assert_eq!(
        (d[1].state, d[1].src, d[1].dst.ip()),
        (1, SocketAddrV4::new(OUR_IP, 17), &PEER_IP)
    );
    let (p1, n1) = h.stack.inet_diag_dump(&req, 0, 1);
    assert_eq!((p1.len(), n1.is_some()), (1, true));
    h.stack.sys_close(a).unwrap();
    let (d, _) = h.stack.inet_diag_dump(&req, 0, 16);
    assert_eq!(d.len(), 1);
}

/// The table is bounded: past `RAW_MAX_SOCKETS` socket() is ENOBUFS and counted.
#[test]
fn raw_table_is_bounded() {
    let cfg = crate::StackConfig {
        max_sockets: super::RAW_MAX_SOCKETS + 10,
        ..Default::default()
    };
    let mut h = Harness::with_config(cfg, 1);
    for _ in 0..super::RAW_MAX_SOCKETS {
        raw(&mut h, 253);
    }
    assert_eq!(
        h.stack.sock_create_kern(AF_INET, SOCK_RAW, 253),
        Err(Errno::ENOBUFS)
    );
    assert_eq!(h.stack.raw_stats().table_fulls, 1);
    // Delivery still reaches them all (each its own copy).
    h.receive(&ip_frame_proto(253, PEER_IP, OUR_IP, b"z"));
    assert_eq!(h.stack.raw_stats().rcvbuf_errors, 0);
}

/// The second Ethernet device of the `SO_BINDTODEVICE` tests: `eth1` 10.1.0.1/24 with a
/// permanent neighbour 10.1.0.2 (same MAC as the peer on `eth0`).
fn with_eth1(h: &mut Harness) -> crate::dev::IfIndex {
    let eth1 = add_ethernet(
        &mut h.stack,
        "eth1",
        OUR_MAC,
        Ipv4Addr::new(10, 1, 0, 1),
        24,
    );
    h.stack
        .neigh_add(
            eth1,
            Ipv4Addr::new(10, 1, 0, 2),
            Some(PEER_MAC),
            crate::NudState::Permanent,
        )
        .unwrap();
    eth1
}

fn bind_dev(h: &mut Harness, s: SocketId, name: &str) {
    h.stack
        .sys_setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, name.as_bytes())
        .unwrap();
}

/// raw.c `raw_v4_match` / `raw_sk_bound_dev_eq`: a raw socket bound to a device gets only
/// the datagrams that arrived on it (an unbound one gets them all), and hears only the ICMP
/// errors that arrived on it (`raw_icmp_error`'s `dif` is the error's device);
/// `raw_sendmsg` and connect() route through the device (`ipc.oif = sk_bound_dev_if`),
/// and unbinding restores both.
#[test]
fn bound_device_filters_delivery_and_errors_and_routes_sends() {
    let mut h = Harness::new().with_static_peer();
    let eth1 = with_eth1(&mut h);
    let eth0 = crate::dev::IfIndex(h.stack.device_by_name("eth0").unwrap().ifindex.0);
    let any = raw(&mut h, 253);
    let on0 = raw(&mut h, 253);
    let on1 = raw(&mut h, 253);
    bind_dev(&mut h, on0, "eth0");
    bind_dev(&mut h, on1, "eth1");
    h.receive_on(eth0, &ip_frame_proto(253, PEER_IP, OUR_IP, b"via-eth0"));
    assert_eq!(&recv(&mut h, any).unwrap().0[20..], b"via-eth0");
    assert_eq!(&recv(&mut h, on0).unwrap().0[20..], b"via-eth0");
    assert_eq!(recv(&mut h, on1), Err(Errno::EAGAIN));
    // To eth0's address but arriving on eth1: the device decides, not the address.
    h.receive_on(eth1, &ip_frame_proto(253, PEER_IP, OUR_IP, b"via-eth1"));
    assert_eq!(&recv(&mut h, on1).unwrap().0[20..], b"via-eth1");
    assert_eq!(recv(&mut h, on0), Err(Errno::EAGAIN));
    assert!(recv(&mut h, any).is_ok());
    // A send to the peer of eth0 from the socket bound to eth1 leaves through eth1 (no
    // route through eth1 reaches it: taken to be on link), the unbound one through eth0.
    h.drain();
    let to = sa(PEER_IP);
    h.stack.sys_sendto(on1, b"out", 0, Some(&to)).unwrap();
    h.stack.sys_sendto(any, b"out", 0, Some(&to)).unwrap();
    let devs: Vec<_> = h.drain_with_dev().into_iter().map(|(d, _)| d).collect();
    assert_eq!(devs, [eth1, eth0]);
    // Connected sockets, both with eth0's address as their own: the hard error arriving on
    // eth0 reaches the one bound to eth0 only.
    let c0 = raw(&mut h, IPPROTO_UDP);
    let c1 = raw(&mut h, IPPROTO_UDP);
    bind_dev(&mut h, c0, "eth0");
    bind_dev(&mut h, c1, "eth1");
    for c in [c0, c1] {
        h.stack.sys_bind(c, &sa(OUR_IP)).unwrap();
        h.stack.sys_connect(c, &to).unwrap();
    }
    let quoted = ipv4_packet(
        OUR_IP,
        PEER_IP,
        Protocol::UDP,
        64,
        &[0, 1, 0, 9, 0, 8, 0, 0],
    );
    let err = icmp_error(3, 3, 0, &quoted);
    h.receive_on(eth0, &ip_frame_proto(1, PEER_IP, OUR_IP, &err));
    assert_eq!(get_int(&mut h, c0, SOL_SOCKET, SO_ERROR), Ok(111));
    assert_eq!(get_int(&mut h, c1, SOL_SOCKET, SO_ERROR), Ok(0));
    h.receive_on(eth1, &ip_frame_proto(1, PEER_IP, OUR_IP, &err));
    assert_eq!(get_int(&mut h, c1, SOL_SOCKET, SO_ERROR), Ok(111));
    // connect() of an unbound-address socket routes through the device: eth1's source.
    let c2 = raw(&mut h, IPPROTO_UDP);
    bind_dev(&mut h, c2, "eth1");
    h.stack.sys_connect(c2, &to).unwrap();
    assert_eq!(
        h.stack.sys_getsockname(c2),
        Ok(SocketAddrV4::new(Ipv4Addr::new(10, 1, 0, 1), 17))
    );
    // Unbinding (CAP_NET_RAW: a kernel socket has it) makes the socket match everything.
    bind_dev(&mut h, on1, "");
    h.receive_on(eth0, &ip_frame_proto(253, PEER_IP, OUR_IP, b"again"));
    assert_eq!(&recv(&mut h, on1).unwrap().0[20..], b"again");
}

/// `recvmsg(MSG_ERRQUEUE)` with control messages on a raw socket.
fn recv_err(
    h: &mut Harness,
    s: SocketId,
    len: usize,
) -> Result<(Vec<u8>, super::super::MsgInfo, super::super::cmsg::CmsgBuf), Errno> {
    let mut buf = vec![0u8; len];
    let mut c = super::super::cmsg::CmsgBuf::new();
    let m = h
        .stack
        .sys_recvmsg_cmsg(s, &mut buf, MSG_ERRQUEUE, &mut c)?;
    buf.truncate(m.len);
    Ok((buf, m, c))
}

/// The `IP_RECVERR` message of an error read: (errno, origin, type, code, info, offender).
fn ee_of(c: &super::super::cmsg::CmsgBuf) -> (u32, u8, u8, u8, u32, Ipv4Addr) {
    let e = c
        .iter()
        .find_map(|m| match *m {
            super::super::cmsg::Cmsg::RecvErr { ee, offender } => Some((ee, offender)),
            _ => None,
        })
        .expect("an IP_RECVERR message");
    let (ee, off) = e;
    (
        ee.ee_errno,
        ee.ee_origin,
        ee.ee_type,
        ee.ee_code,
        ee.ee_info,
        off,
    )
}

/// raw.c `raw_err` with `IP_RECVERR` (ip_sockglue.c `ip_icmp_error` / `ip_recv_error`): an
/// unconnected socket hears every ICMP error about what it sent, soft ones too; each is
/// queued with the quoted datagram past its IP header, `SO_EE_ORIGIN_ICMP`, the type and
/// code, `ee_info` the MTU of a fragmentation-needed or the pointer of a parameter problem,
/// the ICMP sender as offender, `msg_name` the failed datagram's destination with port 0
/// (checked against Linux); `sk_err` is set, reported first
/// by an ordinary recv, and follows the queue as it drains. Without `IP_RECVERR` an
/// unconnected socket hears nothing. Turning it off purges the queue.
#[test]
fn recverr_queues_icmp_errors_on_unconnected_raw_sockets() {
    use super::super::poll::PollMask;
    let mut h = Harness::new().with_static_peer();
    let s = raw(&mut h, IPPROTO_UDP);
    let sk = h.stack.socket(s).unwrap().sk;
    let quoted = ipv4_packet(
        OUR_IP,
        PEER_IP,
        Protocol::UDP,
        64,
        &[0, 1, 0, 9, 0, 8, 0, 0],
    );
    let unreach = ip_frame_proto(1, PEER_IP, OUR_IP, &icmp_error(3, 3, 0, &quoted));
    h.receive(&unreach);
    assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_ERROR), Ok(0));
    assert_eq!(recv_err(&mut h, s, 64).map(|r| r.0), Err(Errno::EAGAIN));
    assert_eq!(get_int(&mut h, s, SOL_IP, IP_RECVERR), Ok(0));
    set_int(&mut h, s, SOL_IP, IP_RECVERR, 1).unwrap();
    assert_eq!(get_int(&mut h, s, SOL_IP, IP_RECVERR), Ok(1));
    // A soft error (time exceeded) now counts: queued, sk_err, POLLERR, an event.
    h.events();
    h.receive(&ip_frame_proto(
        1,
        PEER_IP,
        OUR_IP,
        &icmp_error(11, 0, 0, &quoted),
    ));
    assert!(h.events().contains(&Event::Error(sk)));
    assert!(h.stack.sock_poll(s).contains(PollMask::POLLERR));
    assert_eq!(recv(&mut h, s), Err(Errno::EHOSTUNREACH));
    // The error stays queued after sk_err was reported.
    assert!(h.stack.sock_poll(s).contains(PollMask::POLLERR));
    let (d, m, c) = recv_err(&mut h, s, 64).unwrap();
    assert_eq!(d, [0, 1, 0, 9, 0, 8, 0, 0]);
    assert_eq!(
        (m.len, m.flags, m.from),
        (8, MSG_ERRQUEUE, Some(SocketAddrV4::new(PEER_IP, 0)))
    );
    assert_eq!(c.len(), 1);
    assert_eq!(ee_of(&c), (113, 2, 11, 0, 0, PEER_IP));
    assert!(!h.stack.sock_poll(s).contains(PollMask::POLLERR));
    // Parameter problem (pointer 20) and fragmentation needed (MTU 1280), both queued;
    // sk_err follows the queue (sock_dequeue_err_skb).
    h.receive(&ip_frame_proto(
        1,
        PEER_IP,
        OUR_IP,
        &icmp_error(12, 0, 20 << 24, &quoted),
    ));
    h.receive(&ip_frame_proto(
        1,
        PEER_IP,
        OUR_IP,
        &icmp_error(3, 4, 1280, &quoted),
    ));
    let (_, m, c) = recv_err(&mut h, s, 3).unwrap();
    assert_eq!((m.len, m.flags), (3, MSG_ERRQUEUE | MSG_TRUNC));
    assert_eq!(ee_of(&c), (71, 2, 12, 0, 20, PEER_IP));
    assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_ERROR), Ok(90));
    let (_, _, c) = recv_err(&mut h, s, 64).unwrap();
    assert_eq!(ee_of(&c), (90, 2, 3, 4, 1280, PEER_IP));
    assert_eq!(get_int(&mut h, s, SOL_SOCKET, SO_ERROR), Ok(0));
    // Without control messages the read is the same bytes and flags.
    h.receive(&unreach);
    let mut b = [0u8; 64];
    let m = h.stack.sys_recvmsg(s, &mut b, MSG_ERRQUEUE).unwrap();
    assert_eq!(
        (m.len, m.flags, m.from),
        (8, MSG_ERRQUEUE, Some(SocketAddrV4::new(PEER_IP, 0)))
    );
    // An IP_HDRINCL socket gets the quoted datagram from its IP header.
    let hs = raw(&mut h, IPPROTO_UDP);
    set_int(&mut h, hs, SOL_IP, IP_HDRINCL, 1).unwrap();
    set_int(&mut h, hs, SOL_IP, IP_RECVERR, 1).unwrap();
    h.receive(&unreach);
    let (d, _, c) = recv_err(&mut h, hs, 64).unwrap();
    assert_eq!(d, quoted);
    assert_eq!(ee_of(&c), (111, 2, 3, 3, 0, PEER_IP));
    // Turning IP_RECVERR off purges the queue (sk_err stays).
    h.receive(&unreach);
    set_int(&mut h, hs, SOL_IP, IP_RECVERR, 0).unwrap();
    assert_eq!(recv_err(&mut h, hs, 64).map(|r| r.0), Err(Errno::EAGAIN));
    assert_eq!(get_int(&mut h, hs, SOL_SOCKET, SO_ERROR), Ok(111));
    // The first socket heard those two errors as well (same protocol, both unconnected
    // with IP_RECVERR); its receive queue holds no datagram.
    assert_eq!(recv(&mut h, s), Err(Errno::ECONNREFUSED));
    assert!(recv_err(&mut h, s, 64).is_ok() && recv_err(&mut h, s, 64).is_ok());
    assert_eq!(recv_err(&mut h, s, 64).map(|r| r.0), Err(Errno::EAGAIN));
    assert_eq!(recv(&mut h, s), Err(Errno::EAGAIN));
}

/// `sock_queue_err_skb`: an error is refused once the receive charge would reach
/// `sk_rcvbuf`; the refusals are counted (per socket and in `RawStats::errq_drops`).
#[test]
fn raw_error_queue_is_bounded_by_the_receive_buffer() {
    let mut h = Harness::new().with_static_peer();
    let s = raw(&mut h, IPPROTO_UDP);
    set_int(&mut h, s, SOL_IP, IP_RECVERR, 1).unwrap();
    set_int(&mut h, s, SOL_SOCKET, SO_RCVBUF, 1).unwrap();
    let quoted = ipv4_packet(
        OUR_IP,
        PEER_IP,
        Protocol::UDP,
        64,
        &[0, 1, 0, 9, 0, 8, 0, 0],
    );
    let unreach = ip_frame_proto(1, PEER_IP, OUR_IP, &icmp_error(3, 3, 0, &quoted));
    for _ in 0..20 {
        h.receive(&unreach);
    }
    let mut queued = 0;
    while recv_err(&mut h, s, 64).is_ok() {
        queued += 1;
    }
    let drops = h.stack.raw_stats().errq_drops;
    assert!(queued >= 1 && drops >= 1, "queued {queued} drops {drops}");
    assert_eq!(queued + drops, 20);
}

/// `recvmsg` with control messages on a raw socket: (bytes, info, cmsgs).
fn recv_cmsg(
    h: &mut Harness,
    s: SocketId,
    flags: i32,
) -> Result<
    (
        Vec<u8>,
        super::super::MsgInfo,
        Vec<super::super::cmsg::Cmsg>,
    ),
    Errno,
> {
    let mut buf = vec![0u8; 256];
    let mut c = super::super::cmsg::CmsgBuf::new();
    let m = h
        .stack
        .sys_recvmsg_cmsg(s, &mut buf, flags | MSG_DONTWAIT, &mut c)?;
    buf.truncate(m.len.min(256));
    Ok((buf, m, c.iter().copied().collect()))
}

/// raw.c `raw_recvmsg` → `ip_cmsg_recv` (ip_sockglue.c): `IP_PKTINFO` (the incoming device,
/// `ipi_spec_dst` from `fib_compute_spec_dst` — the address itself, or for a broadcast the
/// source of the route back — and the header's destination; both 0 unless `IP_PKTINFO` was
/// on when the datagram was queued, `ipv4_pktinfo_prepare`), `IP_TTL`, `IP_TOS`, in that
/// order; `MSG_PEEK` reports them too. An error read brings the ICMP packet's: its device,
/// `ipi_spec_dst` 0, its destination, TTL and TOS, before the `IP_RECVERR` message.
#[test]
fn pktinfo_ttl_tos_cmsgs_on_raw_sockets() {
    use super::super::cmsg::{Cmsg, IP_PKTINFO, IP_RECVTOS, IP_RECVTTL};
    let mut h = Harness::new().with_static_peer();
    let eth0 = h.stack.device_by_name("eth0").unwrap().ifindex.0;
    let s = raw(&mut h, 253);
    for o in [IP_PKTINFO, IP_RECVTTL, IP_RECVTOS] {
        assert_eq!(get_int(&mut h, s, SOL_IP, o), Ok(0));
        set_int(&mut h, s, SOL_IP, o, 1).unwrap();
        assert_eq!(get_int(&mut h, s, SOL_IP, o), Ok(1));
    }
    let mut pkt = ipv4_packet(PEER_IP, OUR_IP, Protocol(253), 33, b"data");
    pkt[1] = 0x28;
    refill_ipv4_checksum(&mut pkt);
    h.receive(&ip_frame(&pkt));
    let want = vec![
        Cmsg::PktInfo {
            ifindex: eth0,
            spec_dst: OUR_IP,
            addr: OUR_IP,
        },
        Cmsg::Ttl(33),
        Cmsg::Tos(0x28),
    ];
    let (d, m, c) = recv_cmsg(&mut h, s, MSG_PEEK).unwrap();
    assert_eq!(
        (&d[20..], m.from, &c),
        (&b"data"[..], Some(SocketAddrV4::new(PEER_IP, 0)), &want)
    );
    let (_, _, c) = recv_cmsg(&mut h, s, 0).unwrap();
    assert_eq!(c, want);
    // A subnet broadcast: ipi_spec_dst is the source of the route back to the sender.
    h.receive(&ip_frame_proto(253, PEER_IP, SUBNET_BCAST, b"all"));
    let (_, _, c) = recv_cmsg(&mut h, s, 0).unwrap();
    assert_eq!(
        c[0],
        Cmsg::PktInfo {
            ifindex: eth0,
            spec_dst: OUR_IP,
            addr: SUBNET_BCAST,
        }
    );
    // Queued while IP_PKTINFO was off: ifindex and spec_dst read 0.
    set_int(&mut h, s, SOL_IP, IP_PKTINFO, 0).unwrap();
    h.receive(&ip_frame_proto(253, PEER_IP, OUR_IP, b"late"));
    set_int(&mut h, s, SOL_IP, IP_PKTINFO, 1).unwrap();
    set_int(&mut h, s, SOL_IP, IP_RECVTTL, 0).unwrap();
    let (_, _, c) = recv_cmsg(&mut h, s, 0).unwrap();
    assert_eq!(
        c,
        [
            Cmsg::PktInfo {
                ifindex: 0,
                spec_dst: Ipv4Addr::UNSPECIFIED,
                addr: OUR_IP,
            },
            Cmsg::Tos(0),
        ]
    );
    // Looped back to eth0's address: ipv4_pktinfo_prepare reports inet_iif, eth0, not lo.
    let tx = raw(&mut h, 253);
    h.stack
        .sys_sendto(tx, b"self", 0, Some(&sa(OUR_IP)))
        .unwrap();
    let (_, _, c) = recv_cmsg(&mut h, s, 0).unwrap();
    assert_eq!(
        c[0],
        Cmsg::PktInfo {
            ifindex: eth0,
            spec_dst: OUR_IP,
            addr: OUR_IP,
        }
    );
    // None on: no control messages.
    set_int(&mut h, s, SOL_IP, IP_PKTINFO, 0).unwrap();
    set_int(&mut h, s, SOL_IP, IP_RECVTOS, 0).unwrap();
    h.receive(&ip_frame_proto(253, PEER_IP, OUR_IP, b"bare"));
    assert_eq!(recv_cmsg(&mut h, s, 0).unwrap().2, []);
    // The error queue: the ICMP packet's metadata, then the error.
    let u = raw(&mut h, IPPROTO_UDP);
    for o in [IP_PKTINFO, IP_RECVTTL, IP_RECVTOS, IP_RECVERR] {
        set_int(&mut h, u, SOL_IP, o, 1).unwrap();
    }
    let quoted = ipv4_packet(
        OUR_IP,
        PEER_IP,
        Protocol::UDP,
        64,
        &[0, 1, 0, 9, 0, 8, 0, 0],
    );
    h.receive(&ip_frame_proto(
        1,
        PEER_IP,
        OUR_IP,
        &icmp_error(3, 3, 0, &quoted),
    ));
    let (_, m, c) = recv_cmsg(&mut h, u, MSG_ERRQUEUE).unwrap();
    assert_eq!(m.flags, MSG_ERRQUEUE);
    assert_eq!(c.len(), 4);
    assert_eq!(
        c[..3],
        [
            Cmsg::PktInfo {
                ifindex: eth0,
                spec_dst: Ipv4Addr::UNSPECIFIED,
                addr: OUR_IP,
            },
            Cmsg::Ttl(64),
            Cmsg::Tos(0),
        ]
    );
    assert!(matches!(c[3], Cmsg::RecvErr { offender, .. } if offender == PEER_IP));
}

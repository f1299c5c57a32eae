//! Protocol-rule tests for UDP sockets (`net/ipv4/udp.c`, `net/ipv4/datagram.c`,
//! `net/ipv4/af_inet.c`): errno values, receive-buffer accounting, ICMP errors reported to
//! sockets, and what the datagrams look like on the wire.

extern crate std;

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::BTreeSet;
use std::vec::Vec;

use crate::testutil::*;
use crate::wire::ethernet::EthernetAddress;
use crate::wire::ipv4::Protocol;
use crate::{Errno, Event, SkBuff, StackConfig};

fn addr(ip: Ipv4Addr, port: u16) -> SocketAddrV4 {
    SocketAddrV4::new(ip, port)
}

fn any(port: u16) -> SocketAddrV4 {
    addr(Ipv4Addr::UNSPECIFIED, port)
}

fn harness() -> Harness {
    Harness::new().with_static_peer()
}

/// The port unreachable the peer would send about the datagram in `frame` (our frame as it
/// left): an ICMP 3/3 quoting its IP header and first 8 bytes.
fn port_unreachable_about(frame: &[u8]) -> Vec<u8> {
    let ip = &frame[14..];
    let icmp = icmp_error(3, 3, 0, &ip[..28]);
    ip_frame(&ipv4_packet(PEER_IP, OUR_IP, Protocol::ICMP, 64, &icmp))
}

/// Seed 3.14 / `udp_sendmsg`: "`if ((rt->rt_flags & RTCF_BROADCAST) &&
/// !sock_flag(sk, SOCK_BROADCAST))` -> EACCES", for the limited broadcast (routed by the
/// default route) and the subnet broadcast; nothing is sent.
#[test]
fn udp_broadcast_without_so_broadcast_is_eacces() {
    let mut h = harness().with_gateway();
    let s = h.stack.udp_socket().unwrap();
    assert_eq!(
        h.stack
            .udp_send_to(s, b"x", Some(addr(Ipv4Addr::BROADCAST, 9))),
        Err(Errno::EACCES)
    );
    assert_eq!(
        h.stack.udp_send_to(s, b"x", Some(addr(SUBNET_BCAST, 9))),
        Err(Errno::EACCES)
    );
    assert_eq!(
        h.stack.udp_connect(s, addr(SUBNET_BCAST, 9)),
        Err(Errno::EACCES)
    );
    assert!(h.drain().is_empty());
    assert_eq!(h.stack.stats().udp.out_datagrams, 0);
}

/// Seed 3.14(c): "our broadcast datagram with SO_BROADCAST reaches a peer ... with dst MAC
/// ff:ff:ff:ff:ff:ff" (RTN_BROADCAST: no neighbour resolution).
#[test]
fn udp_broadcast_with_so_broadcast_leaves_to_ff_mac() {
    let mut h = harness().with_gateway();
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_set_broadcast(s, true).unwrap();
    for dst in [Ipv4Addr::BROADCAST, SUBNET_BCAST] {
        assert_eq!(
            h.stack.udp_send_to(s, b"hello all", Some(addr(dst, 9))),
            Ok(9)
        );
        let out = h.drain();
        assert_eq!(out.len(), 1, "one datagram, no ARP");
        let (ip, _, dport, payload) = parse_udp(&out[0]).unwrap();
        assert_eq!(ip.eth.dst_addr, EthernetAddress::BROADCAST);
        assert_eq!(ip.eth.src_addr, OUR_MAC);
        assert_eq!((ip.ip.src_addr, ip.ip.dst_addr, dport), (OUR_IP, dst, 9));
        assert_eq!(payload, b"hello all");
    }
    assert_eq!(h.stack.stats().ip_ext.out_bcast_pkts, 2);
}

/// `ip_route_output_key_hash_rcu`: 255.255.255.255 is not in the local table, so without
/// a default route (and no bound device or source) `fib_lookup` fails: ENETUNREACH, which
/// comes before the SO_BROADCAST check.
#[test]
fn udp_limited_broadcast_without_any_route_is_enetunreach() {
    let mut h = harness();
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_set_broadcast(s, true).unwrap();
    assert_eq!(
        h.stack
            .udp_send_to(s, b"x", Some(addr(Ipv4Addr::BROADCAST, 9))),
        Err(Errno::ENETUNREACH)
    );
}

/// Seed 3.10(c)/7.6: a port unreachable about a datagram of a connected socket is a hard
/// error (`icmp_err_convert`: ECONNREFUSED) set in `sk_err`; the next call reports it once.
#[test]
fn udp_connected_socket_gets_econnrefused_after_port_unreachable() {
    let mut h = harness();
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_connect(s, addr(PEER_IP, 7777)).unwrap();
    h.stack.udp_send_to(s, b"ping", None).unwrap();
    let out = h.drain();
    assert_eq!(out.len(), 1);
    let _ = h.exchange(&port_unreachable_about(&out[0]));
    assert_eq!(h.events(), [Event::Error(s)]);
    assert_eq!(
        h.stack.udp_send_to(s, b"ping", None),
        Err(Errno::ECONNREFUSED)
    );
    assert!(h.drain().is_empty(), "the failing call sends nothing");
    assert_eq!(
        h.stack.udp_send_to(s, b"ping", None),
        Ok(4),
        "reported once"
    );
    assert_eq!(h.drain().len(), 1);

    // The same through recv.
    let out = h.drain();
    assert!(out.is_empty());
    h.stack.udp_send_to(s, b"ping", None).unwrap();
    let out = h.drain();
    let _ = h.exchange(&port_unreachable_about(&out[0]));
    let mut buf = [0u8; 8];
    assert_eq!(h.stack.udp_recv_from(s, &mut buf), Err(Errno::ECONNREFUSED));
    assert_eq!(h.stack.udp_recv_from(s, &mut buf), Err(Errno::EAGAIN));
}

/// `__udp4_lib_err`: "if (!inet->recverr) { if (!harderr || sk->sk_state !=
/// TCP_ESTABLISHED) goto out; }" - an unconnected socket is not told.
#[test]
fn udp_unconnected_socket_ignores_port_unreachable() {
    let mut h = harness();
    let s = h.stack.udp_socket().unwrap();
    h.stack
        .udp_send_to(s, b"ping", Some(addr(PEER_IP, 7777)))
        .unwrap();
    let out = h.drain();
    let _ = h.exchange(&port_unreachable_about(&out[0]));
    assert!(h.events().is_empty());
    assert_eq!(
        h.stack.udp_send_to(s, b"ping", Some(addr(PEER_IP, 7777))),
        Ok(4)
    );
    let mut buf = [0u8; 8];
    assert_eq!(h.stack.udp_recv_from(s, &mut buf), Err(Errno::EAGAIN));
    assert_eq!(h.stack.stats().icmp.in_dest_unreachs, 1);
}

/// `udp_sendmsg` validates before the pending error is looked at (`sock_error` runs in
/// `sock_alloc_send_pskb`, after routing): a bad destination port fails EINVAL and leaves
/// ECONNREFUSED for the next call.
#[test]
fn udp_send_with_pending_error_reports_argument_errors_first() {
    let mut h = harness();
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_connect(s, addr(PEER_IP, 7777)).unwrap();
    h.stack.udp_send_to(s, b"ping", None).unwrap();
    let out = h.drain();
    let _ = h.exchange(&port_unreachable_about(&out[0]));
    assert_eq!(
        h.stack.udp_send_to(s, b"x", Some(addr(PEER_IP, 0))),
        Err(Errno::EINVAL)
    );
    assert_eq!(h.stack.udp_send_to(s, b"x", None), Err(Errno::ECONNREFUSED));
}

/// Seed 7.6(b)/(c): "flood a socket with small SO_RCVBUF -> RcvbufErrors and
/// /proc/net/udp drops increase, no ICMP" (`__udp_enqueue_schedule_skb` drops once
/// sk_rmem_alloc exceeds sk_rcvbuf - always admitting one datagram over - and
/// `__udp_queue_rcv_skb` charges RcvbufErrors and InErrors; SO_RCVBUF is doubled and floored
/// at SOCK_MIN_RCVBUF).
#[test]
fn udp_small_rcvbuf_drops_with_rcvbuf_errors_and_no_icmp() {
    let mut h = harness();
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_bind(s, any(5000)).unwrap();
    h.stack.udp_set_rcvbuf(s, 1).unwrap();
    let rcvbuf = h.stack.udp_rcvbuf(s).unwrap();
    assert_eq!(rcvbuf, 2304, "SOCK_MIN_RCVBUF");
    let frame = udp_frame(40000, OUR_IP, 5000, &[7; 100]);
    let truesize = SkBuff::from_slice(&frame).truesize();
    for _ in 0..100 {
        h.receive(&frame);
    }
    assert!(h.drain().is_empty(), "no ICMP for a full socket");
    let queued = h.stack.udp_rx_queued(s).unwrap();
    let drops = 100 - queued as u64;
    assert!(
        (queued - 1) * truesize <= rcvbuf && queued * truesize > rcvbuf,
        "admitted while within sk_rcvbuf"
    );
    let st = h.stack.stats();
    assert_eq!((st.udp.rcvbuf_errors, st.udp.in_errors), (drops, drops));
    assert_eq!(h.stack.udp_drops(s).unwrap(), drops);
    assert_eq!(st.icmp.out_msgs, 0);
    // Reading makes room again.
    let mut buf = [0u8; 200];
    h.stack.udp_recv_from(s, &mut buf).unwrap();
    h.receive(&frame);
    assert_eq!(h.stack.udp_rx_queued(s).unwrap(), queued);
    assert_eq!(h.stack.udp_drops(s).unwrap(), drops);
}

/// Seed 7.6(c): "peer sends 100-byte datagram, we `recvmsg` with 10-byte buffer -> 10 bytes
/// and MSG_TRUNC"; the rest of the datagram is discarded.
#[test]
fn udp_recv_into_small_buffer_truncates_and_reports_msg_trunc() {
    let mut h = harness();
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_bind(s, any(5000)).unwrap();
    let payload: Vec<u8> = (0..100u8).collect();
    h.receive(&udp_frame(40000, OUR_IP, 5000, &payload));
    assert_eq!(h.events(), [Event::Readable(s)]);
    let mut buf = [0u8; 10];
    let m = h.stack.udp_recv_from(s, &mut buf).unwrap();
    assert_eq!((m.len, m.datagram_len, m.truncated), (10, 100, true));
    assert_eq!(m.from, addr(PEER_IP, 40000));
    assert_eq!(&buf, &payload[..10]);
    assert_eq!(h.stack.udp_recv_from(s, &mut buf), Err(Errno::EAGAIN));
    assert_eq!(h.stack.stats().udp.in_datagrams, 1);
    // A buffer big enough: no MSG_TRUNC.
    h.receive(&udp_frame(40000, OUR_IP, 5000, b"short"));
    let m = h.stack.udp_recv_from(s, &mut buf).unwrap();
    assert_eq!((m.len, m.truncated), (5, false));
}

/// `inet_csk_get_port`/`udp_lib_get_port` with port 0: ephemeral ports come from
/// ip_local_port_range, 32768-60999 by default, for bind(0), connect and an unbound sendto.
#[test]
fn udp_ephemeral_ports_stay_within_local_port_range() {
    let mut h = harness();
    let mut seen = BTreeSet::new();
    for i in 0..300 {
        let s = h.stack.udp_socket().unwrap();
        match i % 3 {
            0 => h.stack.udp_bind(s, any(0)).unwrap(),
            1 => h.stack.udp_connect(s, addr(PEER_IP, 9)).unwrap(),
            _ => {
                h.stack
                    .udp_send_to(s, b"x", Some(addr(PEER_IP, 9)))
                    .unwrap();
            }
        }
        let port = h.stack.udp_local_addr(s).unwrap().port();
        assert!((32768..=60999).contains(&port), "ephemeral port {port}");
        assert!(seen.insert(port), "port {port} handed out twice");
    }
    let _ = h.drain();
    let cfg = StackConfig {
        ip_local_port_range: (40000, 40001),
        ..StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 3);
    let mut ports = BTreeSet::new();
    for _ in 0..2 {
        let s = h.stack.udp_socket().unwrap();
        h.stack.udp_bind(s, any(0)).unwrap();
        ports.insert(h.stack.udp_local_addr(s).unwrap().port());
    }
    assert_eq!(ports.into_iter().collect::<Vec<_>>(), [40000, 40001]);
    let s = h.stack.udp_socket().unwrap();
    assert_eq!(
        h.stack.udp_bind(s, any(0)),
        Err(Errno::EADDRINUSE),
        "range exhausted"
    );
}

/// `inet_bind` / `__inet_bind`: EINVAL on a second bind, EADDRNOTAVAIL for an address that
/// is not local (nor broadcast/multicast/any), EADDRINUSE for a taken port (wildcard and
/// specific addresses conflict without SO_REUSEADDR).
#[test]
fn udp_bind_errors_match_linux() {
    let mut h = harness();
    let a = h.stack.udp_socket().unwrap();
    h.stack.udp_bind(a, any(5000)).unwrap();
    assert_eq!(
        h.stack.udp_bind(a, any(5001)),
        Err(Errno::EINVAL),
        "already bound"
    );

    let b = h.stack.udp_socket().unwrap();
    assert_eq!(h.stack.udp_bind(b, any(5000)), Err(Errno::EADDRINUSE));
    assert_eq!(
        h.stack.udp_bind(b, addr(OUR_IP, 5000)),
        Err(Errno::EADDRINUSE)
    );
    assert_eq!(
        h.stack.udp_bind(b, addr(Ipv4Addr::new(10, 0, 0, 77), 5002)),
        Err(Errno::EADDRNOTAVAIL)
    );
    assert_eq!(
        h.stack.udp_bind(b, addr(PEER_IP, 5002)),
        Err(Errno::EADDRNOTAVAIL)
    );
    h.stack.udp_bind(b, addr(OUR_IP, 5002)).unwrap();

    let c = h.stack.udp_socket().unwrap();
    assert_eq!(
        h.stack.udp_bind(c, any(5002)),
        Err(Errno::EADDRINUSE),
        "wildcard vs specific"
    );
    h.stack
        .udp_bind(c, addr(Ipv4Addr::new(127, 0, 0, 1), 5003))
        .unwrap();
    let d = h.stack.udp_socket().unwrap();
    h.stack
        .udp_bind(d, addr(Ipv4Addr::new(127, 0, 0, 9), 5003))
        .unwrap();

    // Closing frees the port.
    h.stack.udp_close(a).unwrap();
    let e = h.stack.udp_socket().unwrap();
    h.stack.udp_bind(e, any(5000)).unwrap();
    assert_eq!(
        h.stack.udp_bind(a, any(5004)),
        Err(Errno::EBADF),
        "stale handle"
    );
}

/// Seed 7.6(b): "sanity: destination port 0 -> EINVAL"; and EDESTADDRREQ without a
/// destination on an unconnected socket.
#[test]
fn udp_sendto_port_zero_is_einval_and_no_destination_is_edestaddrreq() {
    let mut h = harness();
    let s = h.stack.udp_socket().unwrap();
    assert_eq!(
        h.stack.udp_send_to(s, b"x", Some(addr(PEER_IP, 0))),
        Err(Errno::EINVAL)
    );
    assert_eq!(h.stack.udp_send_to(s, b"x", None), Err(Errno::EDESTADDRREQ));
    assert!(h.drain().is_empty());
    assert_eq!(h.stack.stats().udp.out_datagrams, 0);
}

/// `ip_append_data`: a UDP payload over 65535 - 20 - 8 = 65507 bytes is EMSGSIZE; 65507
/// itself goes out (fragmented).
#[test]
fn udp_payload_over_65507_is_emsgsize() {
    let mut h = harness();
    let s = h.stack.udp_socket().unwrap();
    let big = std::vec![0u8; 65_508];
    assert_eq!(
        h.stack.udp_send_to(s, &big, Some(addr(PEER_IP, 9))),
        Err(Errno::EMSGSIZE)
    );
    assert!(h.drain().is_empty());
    assert_eq!(
        h.stack
            .udp_send_to(s, &big[..65_507], Some(addr(PEER_IP, 9))),
        Ok(65_507)
    );
    let frags = h.drain();
    assert_eq!(
        frags.len(),
        45,
        "65515 bytes of IP payload in 1480-byte pieces"
    );
    let last = parse_ipv4(frags.last().unwrap()).unwrap();
    assert_eq!(last.frag_off + last.payload().len(), 65_515);
}

/// Seed 3.7(c): "`nc -u` sending a 3000-byte datagram over MTU 1500 -> fragments
/// (1480+1480+48 payload, MF set on first two)"; same IP ID, DF clear (IP_PMTUDISC_WANT
/// only sets DF when the datagram fits), offsets in 8-byte units.
#[test]
fn udp_datagram_over_mtu_is_fragmented_into_1480_byte_pieces() {
    let mut h = harness();
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_bind(s, any(888)).unwrap();
    let payload: Vec<u8> = (0..3000u32).map(|i| (i % 251) as u8).collect();
    h.stack
        .udp_send_to(s, &payload, Some(addr(PEER_IP, 999)))
        .unwrap();
    let frags: Vec<IpOut> = h.drain().iter().map(|f| parse_ipv4(f).unwrap()).collect();
    assert_eq!(frags.len(), 3);
    let lens: Vec<usize> = frags.iter().map(|f| f.payload().len()).collect();
    assert_eq!(lens, [1480, 1480, 48]);
    let offs: Vec<usize> = frags.iter().map(|f| f.frag_off).collect();
    assert_eq!(offs, [0, 1480, 2960]);
    let mf: Vec<bool> = frags.iter().map(|f| f.mf).collect();
    assert_eq!(mf, [true, true, false]);
    for f in &frags {
        assert_eq!(f.ip.ident, frags[0].ip.ident);
        assert!(!f.ip.dont_frag);
        assert_eq!(f.eth.dst_addr, PEER_MAC);
        assert!(f.packet.len() <= 1500);
    }
    // Glued back together, the datagram checks out.
    let mut whole = Vec::new();
    for f in &frags {
        whole.extend_from_slice(f.payload());
    }
    let ip = ipv4_packet(OUR_IP, PEER_IP, Protocol::UDP, 64, &whole);
    let (_, sport, dport, data) = parse_udp(&eth_frame(
        PEER_MAC,
        OUR_MAC,
        crate::wire::EtherType::IPV4,
        &ip,
    ))
    .unwrap();
    assert_eq!((sport, dport), (888, 999));
    assert_eq!(data, payload);
    let st = h.stack.stats();
    assert_eq!((st.ip.frag_oks, st.ip.frag_creates), (1, 3));
}

/// Seed 7.6(c): "our client sends 10-byte 'message 1:' ... peer tcpdump shows UDP len 18;
/// with bind(888) the source port is 888"; DF set because it fits (IP_PMTUDISC_WANT), and
/// an unconnected DF datagram still takes the hashed ID (`ip_append_data` sets
/// `skb->ignore_df` under IP_PMTUDISC_WANT, so `ip_select_ident_segs` does not give 0):
/// Linux 6.18 sent three unconnected DF datagrams on lo with IDs 30321, 30322, 30323.
#[test]
fn udp_datagram_on_the_wire_has_linux_header_fields() {
    let mut h = harness();
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_bind(s, any(888)).unwrap();
    assert_eq!(
        h.stack
            .udp_send_to(s, b"message 1:", Some(addr(PEER_IP, 999))),
        Ok(10)
    );
    let out = h.drain();
    let (ip, sport, dport, data) = parse_udp(&out[0]).unwrap();
    assert_eq!((sport, dport, data.len()), (888, 999, 10));
    assert_eq!(u16::from_be_bytes([ip.payload()[4], ip.payload()[5]]), 18);
    assert!(ip.ip.dont_frag);
    assert_eq!(ip.ip.hop_limit, 64);
    assert_eq!(h.stack.stats().udp.out_datagrams, 1);
    // The next datagram to the same destination, at the same instant: the next ID of the
    // same hashed counter (ip_idents_reserve adds no random step when no time passed).
    h.stack
        .udp_send_to(s, b"message 2:", Some(addr(PEER_IP, 999)))
        .unwrap();
    let out2 = h.drain();
    let (ip2, ..) = parse_udp(&out2[0]).unwrap();
    assert!(ip2.ip.dont_frag);
    assert_eq!(ip2.ip.ident, ip.ip.ident.wrapping_add(1));
}

/// The ARP failure's host unreachable reaches a connected socket's next send too
/// (`sock_alloc_send_pskb` -> `sock_error`).
#[test]
fn udp_connected_send_after_arp_failure_is_ehostunreach() {
    let mut h = Harness::new();
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_connect(s, addr(ABSENT_IP, 7)).unwrap();
    h.stack.udp_send_to(s, b"anyone?", None).unwrap();
    let _ = h.drain();
    let _ = h.advance(crate::Duration::from_secs(4));
    assert_eq!(
        h.stack.udp_send_to(s, b"again", None),
        Err(Errno::EHOSTUNREACH)
    );
}

/// `icmp_unreach`: with icmp_ignore_bogus_error_responses = 1 (the default) an ICMP error
/// about a datagram we sent to a broadcast address is passed to the transport silently (the
/// sysctl only silences the warning); with 0 it is logged and dropped. A socket connected to
/// the subnet broadcast therefore sees ECONNREFUSED by default.
#[test]
fn udp_error_about_broadcast_datagram_reaches_socket_unless_bogus_errors_checked() {
    for ignore_bogus in [true, false] {
        let cfg = StackConfig {
            icmp_ignore_bogus_error_responses: ignore_bogus,
            ..StackConfig::default()
        };
        let mut h = Harness::with_config(cfg, 1).with_static_peer();
        let s = h.stack.udp_socket().unwrap();
        h.stack.udp_set_broadcast(s, true).unwrap();
        h.stack.udp_connect(s, addr(SUBNET_BCAST, 7777)).unwrap();
        h.stack.udp_send_to(s, b"all?", None).unwrap();
        let out = h.drain();
        let _ = h.exchange(&port_unreachable_about(&out[0]));
        let expected = if ignore_bogus {
            Err(Errno::ECONNREFUSED)
        } else {
            Ok(4)
        };
        assert_eq!(
            h.stack.udp_send_to(s, b"all?", None),
            expected,
            "ignore_bogus={ignore_bogus}"
        );
    }
}

/// `inet_send_prepare` autobinds before `udp_sendmsg` checks its arguments: a `sendto`
/// refused with EINVAL still leaves the socket bound to an ephemeral port.
#[test]
fn udp_failed_sendto_still_autobinds_an_ephemeral_port() {
    let mut h = Harness::new();
    let s = h.stack.udp_socket().unwrap();
    let to = Some(SocketAddrV4::new(PEER_IP, 0));
    assert_eq!(h.stack.udp_send_to(s, b"x", to), Err(Errno::EINVAL));
    let port = h.stack.udp_local_addr(s).unwrap().port();
    assert!((32768..=60999).contains(&port), "port {port}");
}

// ---- transparent (TPROXY) mode -------------------------------------------------------

/// Not one of our addresses (TEST-NET-2).
const FOREIGN_UDP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 7);

/// A transparent UDP socket on the device receives a datagram to any address and port, with
/// the original destination in `orig_dst` (IP_ORIGDSTADDR); a socket with IP_TRANSPARENT
/// may bind that foreign address and reply from it.
#[test]
fn transparent_socket_receives_any_destination_and_replies_from_it() {
    let mut h = harness();
    let t = h.stack.udp_socket().unwrap();
    let dev = h.eth0;
    h.stack.udp_bind_transparent(t, any(9_999), dev).unwrap();
    assert!(h.stack.udp_transparent(t).unwrap());
    let out = h.exchange(&udp_frame(5_000, FOREIGN_UDP, 53, b"query"));
    assert!(out.is_empty(), "no ICMP: {out:?}");
    let mut buf = [0u8; 16];
    let m = h.stack.udp_recv_from(t, &mut buf).unwrap();
    assert_eq!(&buf[..m.len], b"query");
    assert_eq!(m.from, addr(PEER_IP, 5_000));
    assert_eq!(m.orig_dst, addr(FOREIGN_UDP, 53));
    assert_eq!(h.stack.stats().ip.in_addr_errors, 0);
    // An ordinary socket's datagram reports its own (local) destination.
    let r = h.stack.udp_socket().unwrap();
    assert_eq!(
        h.stack.udp_bind(r, addr(FOREIGN_UDP, 53)),
        Err(Errno::EADDRNOTAVAIL)
    );
    h.stack.udp_set_transparent(r, true).unwrap();
    h.stack.udp_bind(r, addr(FOREIGN_UDP, 53)).unwrap();
    assert_eq!(h.stack.udp_send_to(r, b"answer", Some(m.from)), Ok(6));
    let frames = h.drain();
    assert_eq!(frames.len(), 1);
    let (ip, sport, dport, payload) = parse_udp(&frames[0]).unwrap();
    assert_eq!((ip.ip.src_addr, sport), (FOREIGN_UDP, 53));
    assert_eq!((ip.ip.dst_addr, dport), (PEER_IP, 5_000));
    assert_eq!(payload, b"answer");
    // The next datagram of that flow matches the bound reply socket (an ordinary socket
    // wins over the transparent fallback).
    h.exchange(&udp_frame(5_000, FOREIGN_UDP, 53, b"again"));
    let m = h.stack.udp_recv_from(r, &mut buf).unwrap();
    assert_eq!(
        (&buf[..m.len], m.orig_dst),
        (&b"again"[..], addr(FOREIGN_UDP, 53))
    );
    // Closing the transparent socket ends the mode.
    h.stack.udp_close(t).unwrap();
    h.stack.udp_close(r).unwrap();
    assert!(h
        .exchange(&udp_frame(5_000, FOREIGN_UDP, 53, b"late"))
        .is_empty());
    assert_eq!(h.stack.stats().ip.in_addr_errors, 1);
}

/// Without the mode a datagram to a foreign address is not local (InAddrErrors with
/// forwarding off), and a TCP-only transparent listener does not claim UDP.
#[test]
fn without_udp_mode_foreign_datagram_is_not_delivered() {
    let mut h = harness();
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_bind(s, any(53)).unwrap();
    let l = h.stack.tcp_socket().unwrap();
    let dev = h.eth0;
    h.stack.tcp_listen_transparent(l, dev, 4).unwrap();
    assert!(h
        .exchange(&udp_frame(5_000, FOREIGN_UDP, 53, b"x"))
        .is_empty());
    let mut buf = [0u8; 4];
    assert_eq!(h.stack.udp_recv_from(s, &mut buf), Err(Errno::EAGAIN));
    let st = h.stack.stats();
    assert_eq!(st.ip.in_addr_errors, 1);
    assert_eq!(st.udp.no_ports, 0);
    // A local destination still reports itself as the original destination.
    h.exchange(&udp_frame(5_000, OUR_IP, 53, b"y"));
    let m = h.stack.udp_recv_from(s, &mut buf).unwrap();
    assert_eq!(m.orig_dst, addr(OUR_IP, 53));
}

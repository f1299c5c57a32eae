//! Protocol-rule tests for ICMPv4 (`net/ipv4/icmp.c`): echo, destination unreachable, the
//! RFC 1122 §3.2.2 rules on when not to send an error, and the rate limits.

extern crate std;

use core::net::Ipv4Addr;
use std::vec;
use std::vec::Vec;

use crate::testutil::*;
use crate::wire::ethernet::{EtherType, EthernetAddress};
use crate::wire::ipv4::Protocol;
use crate::{Duration, StackConfig};

fn harness() -> Harness {
    Harness::new().with_static_peer()
}

/// A UDP datagram from the peer to `OUR_IP:dport`, as an IP packet.
fn udp_ip(dport: u16, payload: &[u8]) -> Vec<u8> {
    ipv4_packet(
        PEER_IP,
        OUR_IP,
        Protocol::UDP,
        64,
        &udp_datagram(PEER_IP, OUR_IP, 40000, dport, payload),
    )
}

/// An off-link peer behind the gateway: its UDP datagram to a closed port of ours.
fn remote_udp_frame(src: Ipv4Addr, dport: u16) -> Vec<u8> {
    udp_frame_from(GW_MAC, src, 40000, OUR_IP, dport, b"probe")
}

/// Seed 3.10(c): "peer `ping <us>` gets replies with identical id/seq/payload" (`icmp_echo`
/// -> `icmp_reply`: type 0, same identifier, sequence and data; IP addresses swapped;
/// checksums valid; TTL ip_default_ttl).
#[test]
fn icmp_echo_request_gets_reply_with_same_id_seq_payload_and_swapped_addresses() {
    let mut h = harness();
    let data: Vec<u8> = (0..56u8).map(|i| 0xa5 ^ i).collect();
    let out = h.exchange(&echo_request_frame(OUR_IP, 0xbeef, 17, &data));
    assert_eq!(out.len(), 1);
    let r = parse_icmp(&out[0]).expect("an ICMP reply with valid checksums");
    assert_eq!((r.msg_type, r.code), (0, 0));
    assert_eq!(r.rest, 0xbeef_0011, "identifier and sequence unchanged");
    assert_eq!(r.data, data);
    assert_eq!((r.ip.ip.src_addr, r.ip.ip.dst_addr), (OUR_IP, PEER_IP));
    assert_eq!((r.ip.eth.src_addr, r.ip.eth.dst_addr), (OUR_MAC, PEER_MAC));
    assert_eq!(r.ip.ip.hop_limit, 64);
    let st = h.stack.stats();
    assert_eq!(
        (
            st.icmp.in_echos,
            st.icmp.out_echo_reps,
            st.icmp.in_msgs,
            st.icmp.out_msgs
        ),
        (1, 1, 1, 1)
    );
}

/// Seed 3.10: echo replies are "disabled by `echo 1 > /proc/sys/net/ipv4/icmp_echo_ignore_all`".
#[test]
fn icmp_echo_ignore_all_suppresses_replies() {
    let cfg = StackConfig {
        icmp_echo_ignore_all: true,
        ..StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1).with_static_peer();
    assert!(h
        .exchange(&echo_request_frame(OUR_IP, 1, 1, b"x"))
        .is_empty());
    let st = h.stack.stats();
    assert_eq!((st.icmp.in_echos, st.icmp.out_echo_reps), (1, 0));
}

/// `icmp_rcv`, RFC 1122 §3.2.2.6: "An ICMP_ECHO to broadcast MAY be silently ignored" -
/// Linux ignores it while icmp_echo_ignore_broadcasts=1 (the default), counting
/// Icmp InErrors; both the limited and the subnet broadcast.
#[test]
fn icmp_echo_to_broadcast_is_ignored_by_default() {
    let mut h = harness();
    for dst in [Ipv4Addr::BROADCAST, SUBNET_BCAST] {
        let ip = ipv4_packet(
            PEER_IP,
            dst,
            Protocol::ICMP,
            64,
            &icmp_echo(true, 1, 1, b"smurf"),
        );
        let f = eth_frame(EthernetAddress::BROADCAST, PEER_MAC, EtherType::IPV4, &ip);
        assert!(h.exchange(&f).is_empty(), "answered an echo to {dst}");
    }
    let st = h.stack.stats();
    assert_eq!(
        (st.icmp.in_echos, st.icmp.in_errors, st.icmp.out_msgs),
        (2, 2, 0)
    );
}

/// With icmp_echo_ignore_broadcasts=0 the echo is answered, from the address
/// `fib_compute_spec_dst` picks for a broadcast (the preferred source toward the sender),
/// never from the broadcast address itself.
#[test]
fn icmp_echo_to_broadcast_answered_from_unicast_address_when_allowed() {
    let cfg = StackConfig {
        icmp_echo_ignore_broadcasts: false,
        ..StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1).with_static_peer();
    for dst in [Ipv4Addr::BROADCAST, SUBNET_BCAST] {
        let ip = ipv4_packet(
            PEER_IP,
            dst,
            Protocol::ICMP,
            64,
            &icmp_echo(true, 1, 1, b"bcast"),
        );
        let out = h.exchange(&eth_frame(
            EthernetAddress::BROADCAST,
            PEER_MAC,
            EtherType::IPV4,
            &ip,
        ));
        let r = icmp_messages(&out);
        assert_eq!(r.len(), 1, "echo to {dst} answered");
        assert_eq!(
            (r[0].msg_type, r[0].ip.ip.src_addr, r[0].ip.ip.dst_addr),
            (0, OUR_IP, PEER_IP)
        );
    }
}

/// Seed 7.6(b)/(c): "none -> `icmp_send(skb, ICMP_DEST_UNREACH, ICMP_PORT_UNREACH, 0)` and
/// UDP_MIB_NOPORTS++". RFC 1122 §3.2.2: the error quotes the IP header and at least 8 bytes
/// (Linux quotes as much of the datagram as fits in 576 bytes); it comes from the address
/// the datagram was sent to, TOS = precedence internetwork control.
#[test]
fn icmp_port_unreachable_for_closed_udp_port_quotes_header_and_payload() {
    let mut h = harness();
    let orig = udp_ip(5555, b"hello, anybody?");
    let out = h.exchange(&ip_frame(&orig));
    assert_eq!(out.len(), 1);
    let e = parse_icmp(&out[0]).unwrap();
    assert_eq!((e.msg_type, e.code, e.rest), (3, 3, 0));
    assert_eq!((e.ip.ip.src_addr, e.ip.ip.dst_addr), (OUR_IP, PEER_IP));
    assert_eq!(e.ip.eth.dst_addr, PEER_MAC);
    assert_eq!(e.ip.ip.tos, 0xc0);
    assert!(e.data.len() >= 28, "IP header + 8 bytes at least");
    assert_eq!(
        &e.data[..28],
        &orig[..28],
        "the original header and UDP header, unchanged"
    );
    assert_eq!(e.data, orig, "a small datagram is quoted whole");
    let st = h.stack.stats();
    assert_eq!((st.udp.no_ports, st.icmp.out_dest_unreachs), (1, 1));
    assert_eq!(st.icmp_out_type[3], 1);
}

/// `__icmp_send`: "room = min(dst_mtu, 576) - sizeof(iphdr) - sizeof(icmphdr)": the error
/// datagram never exceeds 576 bytes.
#[test]
fn icmp_error_is_capped_at_576_bytes() {
    let mut h = harness();
    let orig = udp_ip(5555, &[0x11; 1200]);
    let out = h.exchange(&ip_frame(&orig));
    let e = parse_icmp(&out[0]).unwrap();
    assert_eq!(e.ip.packet.len(), 576);
    assert_eq!(e.data, orig[..548]);
}

/// `ip_protocol_deliver_rcu`: no handler for the protocol -> InUnknownProtos and
/// `icmp_send(ICMP_DEST_UNREACH, ICMP_PROT_UNREACH)`.
#[test]
fn icmp_protocol_unreachable_for_unknown_protocol() {
    let mut h = harness();
    let orig = ipv4_packet(PEER_IP, OUR_IP, Protocol(253), 64, b"experimental");
    let out = h.exchange(&ip_frame(&orig));
    let msgs = icmp_messages(&out);
    assert_eq!(msgs.len(), 1);
    assert_eq!((msgs[0].msg_type, msgs[0].code), (3, 2));
    assert_eq!(msgs[0].data, orig);
    let st = h.stack.stats();
    assert_eq!((st.ip.in_unknown_protos, st.ip.in_delivers), (1, 0));
}

/// RFC 1122 §3.2.2: "An ICMP error message MUST NOT be sent as the result of receiving ...
/// an ICMP error message" (`__icmp_send` checks the quoted type with `icmp_pointers[].error`,
/// and refuses unknown types > NR_ICMP_TYPES). Here the trigger is a bad IP option: an echo
/// request carrying it earns a parameter problem, an ICMP error carrying it does not.
#[test]
fn icmp_no_error_about_an_icmp_error() {
    let mut h = harness();
    let bad_opts = [7u8, 48, 4, 0];
    let echo = icmp_echo(true, 1, 1, b"x");
    let ip = ipv4_packet_with_options(PEER_IP, OUR_IP, Protocol::ICMP, &bad_opts, &echo);
    assert_eq!(
        icmp_messages(&h.exchange(&ip_frame(&ip))).len(),
        1,
        "echo request: error sent"
    );

    let quoted = udp_ip(9, b"whatever");
    for (t, c) in [(3u8, 3u8), (11, 0), (12, 0), (5, 1), (4, 0)] {
        let err = icmp_error(t, c, 0, &quoted);
        let ip = ipv4_packet_with_options(PEER_IP, OUR_IP, Protocol::ICMP, &bad_opts, &err);
        assert!(
            h.exchange(&ip_frame(&ip)).is_empty(),
            "error sent about ICMP type {t}"
        );
    }
    let unknown = icmp_error(42, 0, 0, b"????");
    let ip = ipv4_packet_with_options(PEER_IP, OUR_IP, Protocol::ICMP, &bad_opts, &unknown);
    assert!(
        h.exchange(&ip_frame(&ip)).is_empty(),
        "error sent about unknown ICMP type"
    );
    assert_eq!(h.stack.stats().ip.in_hdr_errors, 7);
}

/// RFC 1122 §3.2.2: no ICMP error about "a datagram destined to an IP broadcast or IP
/// multicast address" nor one "sent as a link-layer broadcast" (`__icmp_send`: RTCF_BROADCAST
/// and `pkt_type != PACKET_HOST`). Broadcast UDP nobody wants counts IgnoredMulti, not
/// NoPorts (`__udp4_lib_mcast_deliver`).
#[test]
fn icmp_no_port_unreachable_about_broadcasts() {
    let mut h = harness();
    for dst in [Ipv4Addr::BROADCAST, SUBNET_BCAST] {
        let ip = ipv4_packet(
            PEER_IP,
            dst,
            Protocol::UDP,
            64,
            &udp_datagram(PEER_IP, dst, 40000, 5555, b"who?"),
        );
        let f = eth_frame(EthernetAddress::BROADCAST, PEER_MAC, EtherType::IPV4, &ip);
        assert!(h.exchange(&f).is_empty(), "error about a datagram to {dst}");
    }
    assert_eq!(
        (
            h.stack.stats().udp.ignored_multi,
            h.stack.stats().udp.no_ports
        ),
        (2, 0)
    );
    // Unicast IP in a link-layer broadcast: NoPorts, but still no error.
    let f = eth_frame(
        EthernetAddress::BROADCAST,
        PEER_MAC,
        EtherType::IPV4,
        &udp_ip(5555, b"x"),
    );
    assert!(h.exchange(&f).is_empty());
    assert_eq!(h.stack.stats().udp.no_ports, 1);
    assert_eq!(h.stack.stats().icmp.out_msgs, 0);
}

/// RFC 1812 §4.3.2.8 / `icmpv4_xrlim_allow` -> `inet_peer_xrlim_allow`: a destination may
/// bank XRLIM_BURST_FACTOR (6) x icmp_ratelimit (1 s) of tokens, one error costs 1 s; a new
/// peer starts full. A burst of datagrams to closed ports earns 6 port unreachables, the
/// rest count OutRateLimitHost; afterwards one error per second.
#[test]
fn icmp_port_unreachable_rate_limited_to_burst_of_6_then_one_per_second() {
    let mut h = harness();
    for _ in 0..20 {
        h.receive(&ip_frame(&udp_ip(5555, b"burst")));
    }
    assert_eq!(icmp_messages(&h.drain()).len(), 6);
    let st = h.stack.stats();
    assert_eq!((st.udp.no_ports, st.icmp.out_rate_limit_host), (20, 14));

    // One datagram every 100 ms for 5 s: an error each full second.
    let mut sent_at = Vec::new();
    for i in 1..=50u64 {
        let _ = h.advance(Duration::from_millis(100));
        h.receive(&ip_frame(&udp_ip(5555, b"trickle")));
        if !icmp_messages(&h.drain()).is_empty() {
            sent_at.push(i * 100);
        }
    }
    assert_eq!(sent_at, [1000, 2000, 3000, 4000, 5000]);
    assert_eq!(h.stack.stats().icmp.out_rate_limit_host, 14 + 45);

    // After 6 s of silence the bucket is full again.
    let _ = h.advance(Duration::from_secs(6));
    for _ in 0..10 {
        h.receive(&ip_frame(&udp_ip(5555, b"again")));
    }
    assert_eq!(icmp_messages(&h.drain()).len(), 6);
}

/// `icmp_global_allow`: besides the per-host buckets, all rate-limited ICMP shares one
/// bucket of icmp_msgs_burst (50) credits refilled at icmp_msgs_per_sec (1000/s); each error
/// consumes 0-2 credits at random (`icmp_global_consume`); refused errors count
/// OutRateLimitGlobal.
#[test]
fn icmp_global_rate_limit_caps_errors_across_many_peers() {
    let mut h = Harness::new().with_gateway();
    let peer = |i: u32| Ipv4Addr::from(u32::from(Ipv4Addr::new(192, 168, 0, 0)) + i);
    for i in 0..200 {
        h.receive(&remote_udp_frame(peer(i), 5555));
    }
    let sent = icmp_messages(&h.drain()).len() as u64;
    let st = h.stack.stats();
    assert_eq!(st.udp.no_ports, 200);
    assert_eq!(
        sent + st.icmp.out_rate_limit_global,
        200,
        "every error either sent or refused globally"
    );
    assert_eq!(
        st.icmp.out_rate_limit_host, 0,
        "each peer is well within its own bucket"
    );
    assert!(
        (25..=120).contains(&sent),
        "{sent} errors sent from a 50-credit bucket"
    );

    // A second later the bucket is full again.
    let _ = h.advance(Duration::from_secs(1));
    for i in 200..400 {
        h.receive(&remote_udp_frame(peer(i), 5555));
    }
    let again = icmp_messages(&h.drain()).len() as u64;
    assert!((25..=120).contains(&again), "{again}");
}

/// Seed 3.10 GAP, Linux `icmp_ratemask` (0x1818: dest unreachable, source quench, time
/// exceeded, parameter problem): echo replies are not rate limited.
#[test]
fn icmp_echo_replies_are_not_rate_limited() {
    let mut h = harness();
    for seq in 0..200u16 {
        h.receive(&echo_request_frame(OUR_IP, 9, seq, b"flood"));
    }
    let replies = icmp_messages(&h.drain());
    assert_eq!(replies.len(), 200);
    assert!(replies.iter().all(|r| r.msg_type == 0));
    let st = h.stack.stats();
    assert_eq!(
        (st.icmp.out_rate_limit_host, st.icmp.out_rate_limit_global),
        (0, 0)
    );
}

/// The echo reply is built in the request's own buffer (RFC 1624 incremental checksum):
/// its ICMP bytes are exactly those of a reply built from scratch - type and code 0, the
/// request's identifier, sequence and data, the checksum a full computation gives - for
/// odd and even lengths, a nonzero request code, and the all-zero message whose checksum
/// is the one case where the incremental update would give the other zero (0x0000 for
/// 0xffff).
#[test]
fn icmp_echo_reply_bytes_equal_a_reply_built_from_scratch() {
    let mut h = harness();
    let cases: [(u8, u16, u16, Vec<u8>); 6] = [
        (0, 0, 0, Vec::new()),
        (0, 0, 0, vec![0; 3]),
        (0, 1, 2, vec![0xff; 57]),
        (5, 0x1234, 9, (0..56u8).collect()),
        (0xff, 0xffff, 0xffff, vec![0xff; 1]),
        (0, 0xf7ff, 0, Vec::new()),
    ];
    for (code, ident, seq, data) in cases {
        let mut icmp = icmp_echo(true, ident, seq, &data);
        icmp[1] = code;
        icmp[2] = 0;
        icmp[3] = 0;
        let c = crate::wire::checksum::checksum(&icmp);
        icmp[2..4].copy_from_slice(&c.to_be_bytes());
        let out = h.exchange(&ip_frame(&ipv4_packet(
            PEER_IP,
            OUR_IP,
            Protocol::ICMP,
            64,
            &icmp,
        )));
        assert_eq!(out.len(), 1, "one reply for code {code} id {ident:#x}");
        let reply = parse_icmp(&out[0]).expect("a valid ICMP message");
        let mut want = icmp.clone();
        want[0] = 0;
        want[1] = 0;
        want[2] = 0;
        want[3] = 0;
        let c = crate::wire::checksum::checksum(&want);
        want[2..4].copy_from_slice(&c.to_be_bytes());
        assert_eq!(reply.ip.payload(), &want[..], "code {code} id {ident:#x}");
    }
}

/// A request carrying IP options and a TOS is answered with a plain 20-byte header, the
/// request's TOS, and a valid checksum, although its header was longer than the reply's
/// (the new header is pushed where the old one ended).
#[test]
fn icmp_echo_reply_to_request_with_options_has_plain_header() {
    let mut h = harness();
    let icmp = icmp_echo(true, 3, 4, &[9; 33]);
    let mut ip = ipv4_packet_with_options(PEER_IP, OUR_IP, Protocol::ICMP, &[1, 1, 1, 0], &icmp);
    ip[1] = 0xb8;
    refill_ipv4_checksum(&mut ip);
    let out = h.exchange(&ip_frame(&ip));
    assert_eq!(out.len(), 1);
    let r = parse_icmp(&out[0]).expect("a valid reply");
    assert_eq!((r.ip.hl, r.ip.ip.tos), (20, 0xb8));
    assert_eq!((r.msg_type, r.rest, r.data.len()), (0, 0x0003_0004, 33));
}

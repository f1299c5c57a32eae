//! Protocol-rule tests for IPv4 receive (`ip_rcv_core`, `ip_route_input_slow`,
//! `ip_rcv_options`): bad headers are dropped silently under the right MIB counter, martians
//! are dropped, nothing is answered that Linux would not answer.

extern crate std;

use core::net::Ipv4Addr;
use std::vec::Vec;

use crate::testutil::*;
use crate::wire::ethernet::EthernetAddress;
use crate::wire::ipv4::{self as ipw, Protocol};
use crate::StackConfig;

/// A valid echo request from the peer to us, as an IP packet.
fn echo_ip() -> Vec<u8> {
    ipv4_packet(
        PEER_IP,
        OUR_IP,
        Protocol::ICMP,
        64,
        &icmp_echo(true, 7, 1, b"abcdefgh"),
    )
}

fn harness() -> Harness {
    Harness::new().with_static_peer()
}

/// Feeds `ip` (as a frame from the peer) and asserts that nothing at all is sent back.
fn assert_silently_dropped(h: &mut Harness, ip: &[u8]) {
    let out = h.exchange(&ip_frame(ip));
    assert!(
        out.is_empty(),
        "expected a silent drop, got {} frame(s)",
        out.len()
    );
    assert_eq!(h.stack.stats().icmp.out_msgs, 0, "no ICMP may be generated");
}

/// Sanity: the unmodified packet is answered (so the drops below are the mutation's doing).
#[test]
fn ip_valid_echo_request_is_delivered_and_answered() {
    let mut h = harness();
    let out = h.exchange(&ip_frame(&echo_ip()));
    assert_eq!(icmp_messages(&out).len(), 1);
    let st = h.stack.stats();
    assert_eq!(
        (st.ip.in_receives, st.ip.in_delivers, st.ip.in_hdr_errors),
        (1, 1, 0)
    );
}

/// Seed 3.2: "`if (iph->ihl < 5 || iph->version != 4) goto inhdr_error;` ... peer injects a
/// packet with IHL=4 or version=5 -> silently dropped, no ICMP, InHdrErrors increments".
#[test]
fn ip_header_with_ihl_4_or_version_5_is_dropped_with_in_hdr_errors() {
    let mut h = harness();
    let mut ihl4 = echo_ip();
    ihl4[0] = 0x44;
    refill_ipv4_checksum(&mut ihl4);
    assert_silently_dropped(&mut h, &ihl4);
    assert_eq!(h.stack.stats().ip.in_hdr_errors, 1);

    let mut v5 = echo_ip();
    v5[0] = 0x55;
    refill_ipv4_checksum(&mut v5);
    assert_silently_dropped(&mut h, &v5);
    let st = h.stack.stats();
    assert_eq!(st.ip.in_hdr_errors, 2);
    assert_eq!(
        st.ip.in_receives, 2,
        "InReceives counts them before the checks"
    );
    assert_eq!(st.ip.in_delivers, 0);
}

/// `ip_rcv_core`: `if (unlikely(ip_fast_csum((u8 *)iph, iph->ihl))) goto csum_error;` ->
/// IPSTATS_MIB_CSUMERRORS and then InHdrErrors.
#[test]
fn ip_header_with_bad_checksum_counts_in_csum_errors_and_in_hdr_errors() {
    let mut h = harness();
    let mut ip = echo_ip();
    ip[10] ^= 0x5a;
    assert_silently_dropped(&mut h, &ip);
    let st = h.stack.stats();
    assert_eq!((st.ip_ext.in_csum_errors, st.ip.in_hdr_errors), (1, 1));
}

/// `ip_rcv_core`: `if (skb->len < len) { ... IPSTATS_MIB_INTRUNCATEDPKTS; goto drop; }` -
/// a total length beyond the frame is a truncation, not a header error.
#[test]
fn ip_total_length_beyond_frame_counts_in_truncated_pkts() {
    let mut h = harness();
    let mut ip = echo_ip();
    let tot = u16::from_be_bytes([ip[2], ip[3]]) + 40;
    ip[2..4].copy_from_slice(&tot.to_be_bytes());
    refill_ipv4_checksum(&mut ip);
    assert_silently_dropped(&mut h, &ip);
    let st = h.stack.stats();
    assert_eq!((st.ip_ext.in_truncated_pkts, st.ip.in_hdr_errors), (1, 0));
}

/// `ip_rcv_core`: `else if (len < (iph->ihl*4)) goto inhdr_error;`
#[test]
fn ip_total_length_below_header_length_counts_in_hdr_errors() {
    let mut h = harness();
    let mut ip = echo_ip();
    ip[2..4].copy_from_slice(&19u16.to_be_bytes());
    refill_ipv4_checksum(&mut ip);
    assert_silently_dropped(&mut h, &ip);
    assert_eq!(h.stack.stats().ip.in_hdr_errors, 1);
}

/// Trailing Ethernet padding past `tot_len` is trimmed (`pskb_trim_rcsum`), not an error:
/// the echo reply carries exactly the original data.
#[test]
fn ip_frame_padding_after_total_length_is_trimmed() {
    let mut h = harness();
    let mut ip = echo_ip();
    ip.extend_from_slice(&[0xee; 20]);
    let out = h.exchange(&ip_frame(&ip));
    let replies = icmp_messages(&out);
    assert_eq!(replies.len(), 1);
    assert_eq!(replies[0].data, b"abcdefgh");
}

/// Seed 3.12 / `ip_route_input_slow`: a source that is multicast or 255.255.255.255 (first
/// check), in 0.0.0.0/8, in 127/8 from the wire (route_localnet=0), or one of our subnet
/// broadcasts (`fib_validate_source`) is a martian source:
/// dropped, `in_martian_src` counted, no reply and no IP MIB error counter.
#[test]
fn ip_martian_sources_are_dropped_without_reply() {
    let mut h = harness();
    let martians = [
        Ipv4Addr::BROADCAST,
        Ipv4Addr::new(224, 0, 0, 5),
        Ipv4Addr::new(239, 255, 0, 1),
        Ipv4Addr::new(127, 0, 0, 5),
        Ipv4Addr::new(0, 1, 2, 3),
        // Our subnet broadcast: fib_validate_source finds RTN_BROADCAST, not RTN_UNICAST.
        SUBNET_BCAST,
    ];
    for (i, src) in martians.iter().enumerate() {
        let ip = ipv4_packet(
            *src,
            OUR_IP,
            Protocol::ICMP,
            64,
            &icmp_echo(true, 7, 1, b"x"),
        );
        assert_silently_dropped(&mut h, &ip);
        assert_eq!(h.stack.stats().rt.in_martian_src, 2 * i as u64 + 1, "{src}");
        // UDP to a closed port from a martian: no port unreachable either.
        let udp = udp_datagram(*src, OUR_IP, 1, 9999, b"x");
        assert_silently_dropped(&mut h, &ipv4_packet(*src, OUR_IP, Protocol::UDP, 64, &udp));
    }
    let st = h.stack.stats();
    assert_eq!(
        (st.ip.in_hdr_errors, st.ip.in_addr_errors, st.ip.in_delivers),
        (0, 0, 0)
    );
    assert_eq!(st.udp.no_ports, 0);
}

/// `ip_route_input_slow` -> `fib_validate_source`: a packet from outside claiming one of
/// our own addresses as source finds RTN_LOCAL on the reverse lookup (accept_local=0) and is
/// a martian source, even when addressed to us or to our broadcast.
#[test]
fn ip_packet_from_our_own_address_arriving_on_the_wire_is_martian() {
    let mut h = harness();
    let ping = ipv4_packet(
        OUR_IP,
        OUR_IP,
        Protocol::ICMP,
        64,
        &icmp_echo(true, 7, 1, b"spoof"),
    );
    assert_silently_dropped(&mut h, &ping);
    let udp = udp_datagram(OUR_IP, OUR_IP, 1, 9999, b"spoof");
    assert_silently_dropped(
        &mut h,
        &ipv4_packet(OUR_IP, OUR_IP, Protocol::UDP, 64, &udp),
    );
    let bcast = udp_datagram(OUR_IP, SUBNET_BCAST, 1, 9999, b"spoof");
    let f = eth_frame(
        EthernetAddress::BROADCAST,
        PEER_MAC,
        crate::wire::EtherType::IPV4,
        &ipv4_packet(OUR_IP, SUBNET_BCAST, Protocol::UDP, 64, &bcast),
    );
    assert!(h.exchange(&f).is_empty());
    let st = h.stack.stats();
    assert_eq!(st.rt.in_martian_src, 3);
    assert_eq!(st.icmp.in_msgs, 0, "never delivered");
    assert!(h.events().is_empty());
}

/// `ip_route_input_slow`: a loopback destination from the wire is a martian destination.
#[test]
fn ip_loopback_destination_from_the_wire_is_martian() {
    let mut h = harness();
    let ip = ipv4_packet(
        PEER_IP,
        Ipv4Addr::LOCALHOST,
        Protocol::ICMP,
        64,
        &icmp_echo(true, 7, 1, b"x"),
    );
    assert_silently_dropped(&mut h, &ip);
    assert_eq!(h.stack.stats().rt.in_martian_dst, 1);
}

/// Seed 3.3(c): "to a foreign address with forwarding=0 -> dropped (peer gets no reply;
/// Linux sends no ICMP)"; `ip_error` with EHOSTUNREACH counts InAddrErrors.
#[test]
fn ip_packet_to_foreign_address_without_forwarding_counts_in_addr_errors() {
    let mut h = harness();
    let ip = ipv4_packet(
        PEER_IP,
        Ipv4Addr::new(192, 0, 2, 7),
        Protocol::ICMP,
        64,
        &icmp_echo(true, 7, 1, b"x"),
    );
    assert_silently_dropped(&mut h, &ip);
    let st = h.stack.stats();
    assert_eq!(
        (
            st.ip.in_addr_errors,
            st.ip.in_hdr_errors,
            st.ip.forw_datagrams
        ),
        (1, 0, 0)
    );
}

/// `ip_rcv_core`: frames for another host's MAC (PACKET_OTHERHOST) are dropped before IP
/// looks at them: not even InReceives.
#[test]
fn ip_frame_for_another_mac_is_dropped_before_ip() {
    let mut h = harness();
    let f = eth_frame(
        EthernetAddress([2, 0, 0, 0, 0, 0x33]),
        PEER_MAC,
        crate::wire::EtherType::IPV4,
        &echo_ip(),
    );
    assert!(h.exchange(&f).is_empty());
    assert_eq!(h.stack.stats().ip.in_receives, 0);
    assert_eq!(h.stack.stats().drops_for(crate::DropReason::OtherHost), 1);
}

/// `__ip_options_compile`: an option whose length is < 2 or runs past the options area is
/// an error at the option's first byte; `ip_rcv_options` counts InHdrErrors and Linux sends
/// ICMP parameter problem (type 12, code 0) with the pointer in the first byte of the rest
/// of the header, quoting the offending datagram.
#[test]
fn ip_bad_option_length_counts_in_hdr_errors_and_sends_parameter_problem() {
    let mut h = harness();
    // Record route claiming 48 bytes in a 4-byte options area.
    let icmp = icmp_echo(true, 7, 1, b"opts");
    let ip = ipv4_packet_with_options(PEER_IP, OUR_IP, Protocol::ICMP, &[7, 48, 4, 0], &icmp);
    let out = h.exchange(&ip_frame(&ip));
    let st = h.stack.stats();
    assert_eq!(st.ip.in_hdr_errors, 1);
    assert_eq!(st.icmp.in_msgs, 0, "not delivered");
    let msgs = icmp_messages(&out);
    assert_eq!(msgs.len(), 1, "exactly one parameter problem");
    let pp = &msgs[0];
    assert_eq!((pp.msg_type, pp.code), (12, 0));
    assert_eq!(
        pp.rest >> 24,
        20,
        "pointer at the option's type byte (offset 20)"
    );
    assert_eq!((pp.ip.ip.src_addr, pp.ip.ip.dst_addr), (OUR_IP, PEER_IP));
    assert_eq!(pp.ip.eth.dst_addr, PEER_MAC);
    assert_eq!(
        &pp.data[..ip.len()],
        &ip[..],
        "the whole offending datagram is quoted"
    );
    assert_eq!(st.icmp.out_parm_probs, 1);
}

/// `ip_rcv_finish_core` runs the input route before `ip_rcv_options`: a martian with bad
/// options is dropped by the route lookup and never earns a parameter problem.
#[test]
fn ip_martian_with_bad_options_gets_no_parameter_problem() {
    let mut h = harness();
    let icmp = icmp_echo(true, 7, 1, b"opts");
    let ip = ipv4_packet_with_options(
        Ipv4Addr::new(127, 0, 0, 9),
        OUR_IP,
        Protocol::ICMP,
        &[7, 48, 4, 0],
        &icmp,
    );
    assert_silently_dropped(&mut h, &ip);
    let st = h.stack.stats();
    assert_eq!((st.rt.in_martian_src, st.ip.in_hdr_errors), (1, 0));
}

/// `ip_rcv_options` runs on every routed packet, including those `ip_error` will drop: a
/// datagram for a foreign address with a bad option is an InHdrErrors (and not an
/// InAddrErrors, since `ip_error` never runs).
#[test]
fn ip_foreign_destination_with_bad_options_counts_in_hdr_errors_only() {
    let mut h = harness();
    let icmp = icmp_echo(true, 7, 1, b"opts");
    let ip = ipv4_packet_with_options(
        PEER_IP,
        Ipv4Addr::new(192, 0, 2, 7),
        Protocol::ICMP,
        &[7, 48, 4, 0],
        &icmp,
    );
    let _ = h.exchange(&ip_frame(&ip));
    let st = h.stack.stats();
    assert_eq!((st.ip.in_hdr_errors, st.ip.in_addr_errors), (1, 0));
}

/// Valid options (NOP, NOP, EOL padding) do not disturb delivery.
#[test]
fn ip_valid_options_are_accepted() {
    let mut h = harness();
    let ip = ipv4_packet_with_options(
        PEER_IP,
        OUR_IP,
        Protocol::ICMP,
        &[1, 1, 0, 0],
        &icmp_echo(true, 7, 1, b"nop"),
    );
    assert_eq!(ipw::Packet::new_unchecked(&ip[..]).header_len(), 24);
    let out = h.exchange(&ip_frame(&ip));
    assert_eq!(icmp_messages(&out).len(), 1);
    assert_eq!(h.stack.stats().ip.in_hdr_errors, 0);
}

/// With `route_localnet` the 127/8 checks are lifted (`IN_DEV_NET_ROUTE_LOCALNET`).
#[test]
fn ip_loopback_source_accepted_with_route_localnet() {
    let cfg = StackConfig {
        route_localnet: true,
        ..StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1);
    let ip = ipv4_packet(
        Ipv4Addr::new(127, 0, 0, 5),
        OUR_IP,
        Protocol::UDP,
        64,
        &udp_datagram(Ipv4Addr::new(127, 0, 0, 5), OUR_IP, 1, 9999, b"x"),
    );
    let _ = h.exchange(&ip_frame(&ip));
    assert_eq!(h.stack.stats().rt.in_martian_src, 0);
    assert_eq!(h.stack.stats().udp.no_ports, 1);
}

/// A forwarding stack with a default route through the gateway on eth0, and a TCP packet
/// from the peer to a foreign host whose checksum is partial (only the folded pseudo-header
/// sum, as a TAP with checksum offload hands the kernel's own packets over).
fn forwarding_partial_tcp() -> (Harness, Vec<u8>, Ipv4Addr) {
    let cfg = StackConfig {
        ip_forward: true,
        ..StackConfig::default()
    };
    let h = Harness::with_config(cfg, 1).with_gateway();
    let far = Ipv4Addr::new(192, 0, 2, 7);
    let seg = TcpSeg {
        sport: 40_000,
        dport: 80,
        seq: 1,
        ack: Some(1),
        payload: (0..1000u32).map(|i| (i % 253) as u8).collect(),
        ..TcpSeg::default()
    };
    let mut tcp = tcp_segment(PEER_IP, far, &seg);
    let pseudo = crate::wire::checksum::pseudo_header_v4(PEER_IP, far, 6, tcp.len() as u16);
    tcp[16..18].copy_from_slice(&crate::wire::checksum::fold(pseudo).to_be_bytes());
    (h, ipv4_packet(PEER_IP, far, Protocol::TCP, 64, &tcp), far)
}

/// `skb_checksum_help`: a `CHECKSUM_PARTIAL` packet that is forwarded leaves with its TCP
/// checksum completed (no device finishes it on output).
#[test]
fn forwarded_partial_checksum_packet_leaves_with_a_complete_checksum() {
    let (mut h, ip, far) = forwarding_partial_tcp();
    let mut skb = crate::SkBuff::from_slice(&ip_frame(&ip));
    skb.ip_summed = crate::skb::IpSummed::Partial;
    let eth0 = h.eth0;
    h.stack.receive(h.now, eth0, skb);
    let out = h.drain();
    let fwd: Vec<&Vec<u8>> = out
        .iter()
        .filter(|f| f.len() > 34 && f[14 + 9] == 6 && f[30..34] == far.octets())
        .collect();
    assert_eq!(fwd.len(), 1, "{} frames out", out.len());
    let l4 = &fwd[0][34..];
    let sum = crate::wire::checksum::combine(
        crate::wire::checksum::pseudo_header_v4(PEER_IP, far, 6, l4.len() as u16),
        crate::wire::checksum::sum(l4),
    );
    assert_eq!(
        crate::wire::checksum::fold(sum),
        0xffff,
        "valid TCP checksum"
    );
    assert_eq!(h.stack.stats().ip.forw_datagrams, 1);
}

/// Deviation from Linux (documented in `ip_forward`): a GSO super-packet is not segmented
/// for forwarding; it is dropped and counted in OutDiscards, with no ICMP
/// fragmentation-needed (its segments would fit the MTU).
#[test]
fn forwarded_gso_packet_is_dropped_and_counted() {
    let (mut h, ip, _) = forwarding_partial_tcp();
    let mut skb = crate::SkBuff::from_slice(&ip_frame(&ip));
    skb.ip_summed = crate::skb::IpSummed::Partial;
    skb.gso_size = 1000;
    skb.gso_type = crate::skb::GsoType::TcpV4;
    let eth0 = h.eth0;
    h.stack.receive(h.now, eth0, skb);
    assert!(h.drain().is_empty());
    let st = h.stack.stats();
    assert_eq!((st.ip.out_discards, st.ip.forw_datagrams), (1, 0));
    assert_eq!(st.icmp.out_msgs, 0);
}

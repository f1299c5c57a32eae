//! Protocol-rule tests for ARP (`net/ipv4/arp.c`) as seen from the wire: one stack, a
//! scripted peer, virtual time.

extern crate std;

use core::net::{Ipv4Addr, SocketAddrV4};
use std::vec::Vec;

use crate::testutil::*;
use crate::wire::arp::Operation;
use crate::wire::ethernet::EthernetAddress;
use crate::{Duration, Errno, Event, Instant, NudState, PingEvent, StackConfig};

const OTHER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x77]);
const ETH1_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 1, 0x01]);

fn to(ip: Ipv4Addr, port: u16) -> Option<SocketAddrV4> {
    Some(SocketAddrV4::new(ip, port))
}

/// Seed 2.2(c) and RFC 826: "first packet to an unknown on-link host -> exactly one ARP
/// request broadcast, packet queued and transmitted right after the peer's reply; `ip neigh`
/// then shows REACHABLE" (`__neigh_event_send` queues on `arp_queue`, `neigh_update` flushes
/// it with the new address).
#[test]
fn arp_request_for_unknown_host_queues_then_flushes_on_reply() {
    let mut h = Harness::new();
    let s = h.stack.udp_socket().unwrap();
    for i in 0..3u8 {
        h.stack.udp_send_to(s, &[i; 10], to(PEER_IP, 9)).unwrap();
    }
    let out = h.drain();
    assert_eq!(
        out.len(),
        1,
        "exactly one frame (the ARP request) while unresolved"
    );
    let (eth, arp) = parse_arp(&out[0]).expect("an ARP request");
    assert_eq!(eth.dst_addr, EthernetAddress::BROADCAST);
    assert_eq!(eth.src_addr, OUR_MAC);
    assert_eq!(arp.operation, Operation::REQUEST);
    assert_eq!(arp.source_hardware_addr, OUR_MAC);
    assert_eq!(arp.source_protocol_addr, OUR_IP);
    assert_eq!(arp.target_hardware_addr, EthernetAddress::default());
    assert_eq!(arp.target_protocol_addr, PEER_IP);
    let n = h.stack.arp_table().get(h.eth0, PEER_IP).unwrap();
    assert_eq!(n.state, NudState::Incomplete);
    assert_eq!(n.queue_len(), 3);

    let out = h.exchange(&arp_reply(PEER_MAC, PEER_IP));
    assert_eq!(out.len(), 3, "the three queued datagrams, nothing else");
    for (i, f) in out.iter().enumerate() {
        let (ip, _, dport, payload) = parse_udp(f).expect("a UDP datagram");
        assert_eq!(ip.eth.dst_addr, PEER_MAC);
        assert_eq!(ip.eth.src_addr, OUR_MAC);
        assert_eq!(
            (ip.ip.src_addr, ip.ip.dst_addr, dport),
            (OUR_IP, PEER_IP, 9)
        );
        assert_eq!(payload, [i as u8; 10], "queued datagrams keep their order");
    }
    let n = h.stack.arp_table().get(h.eth0, PEER_IP).unwrap();
    assert_eq!(n.state, NudState::Reachable);
    assert_eq!(n.ha, Some(PEER_MAC));
    assert_eq!(n.queue_len(), 0);
    // The next datagram goes straight out.
    h.stack.udp_send_to(s, b"more", to(PEER_IP, 9)).unwrap();
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(parse_udp(&out[0]).unwrap().0.eth.dst_addr, PEER_MAC);
}

/// Seed 2.3(c): "we ping an absent on-link IP -> 3 ARP requests [mcast_solicit=3], then ...
/// Destination Host Unreachable" (`neigh_timer_handler`: INCOMPLETE retries every
/// retrans_time until `neigh_max_probes`, then `neigh_invalidate` -> `res_failed` and
/// `arp_error_report` -> `icmp_send(ICMP_DEST_UNREACH, ICMP_HOST_UNREACH)`); a connected
/// UDP socket then reports EHOSTUNREACH (`__udp4_lib_err`, hard error).
#[test]
fn arp_three_broadcast_probes_then_failed_and_host_unreachable_to_connected_udp() {
    let mut h = Harness::new();
    let s = h.stack.udp_socket().unwrap();
    h.stack
        .udp_connect(s, SocketAddrV4::new(ABSENT_IP, 7))
        .unwrap();
    h.stack.udp_send_to(s, b"anyone?", None).unwrap();
    let mut sent: Vec<(Instant, Vec<u8>)> =
        h.drain().into_iter().map(|f| (Instant::ZERO, f)).collect();
    sent.extend(h.advance_to(Instant::from_millis(2_900)));
    assert_eq!(h.nud(ABSENT_IP), Some(NudState::Incomplete));
    sent.extend(h.advance_to(Instant::from_secs(10)));

    let times: Vec<Instant> = sent.iter().map(|(t, _)| *t).collect();
    assert_eq!(
        times,
        [Instant::ZERO, Instant::from_secs(1), Instant::from_secs(2)],
        "3 requests, 1 s apart"
    );
    for (_, f) in &sent {
        let (eth, arp) = parse_arp(f).expect("only ARP requests reach the wire");
        assert_eq!(eth.dst_addr, EthernetAddress::BROADCAST);
        assert_eq!(arp.operation, Operation::REQUEST);
        assert_eq!(arp.target_protocol_addr, ABSENT_IP);
        assert_eq!(arp.source_protocol_addr, OUR_IP);
    }
    assert_eq!(h.nud(ABSENT_IP), Some(NudState::Failed));
    let st = h.stack.stats();
    assert_eq!(st.arp.res_failed, 1);
    assert_eq!(
        st.icmp.out_dest_unreachs, 1,
        "one host unreachable, delivered over loopback"
    );
    assert_eq!(st.icmp.in_dest_unreachs, 1);
    assert!(h.events().contains(&Event::Error(s)));
    let mut buf = [0u8; 16];
    assert_eq!(h.stack.udp_recv_from(s, &mut buf), Err(Errno::EHOSTUNREACH));
    assert_eq!(
        h.stack.udp_recv_from(s, &mut buf),
        Err(Errno::EAGAIN),
        "sk_err is reported once"
    );
}

/// Same rule, seen by ping: `ping_err` hands the host unreachable to the pinger, as iputils
/// prints "From 10.0.0.1 icmp_seq=1 Destination Host Unreachable".
#[test]
fn arp_failure_reports_host_unreachable_to_ping() {
    let mut h = Harness::new();
    h.stack
        .ping_send(ABSENT_IP, 0x1234, 1, None, &[0xa5; 56])
        .unwrap();
    let _ = h.drain();
    let _ = h.advance_to(Instant::from_secs(5));
    let errors: Vec<Event> = h
        .events()
        .into_iter()
        .filter(|e| matches!(e, Event::Ping(_)))
        .collect();
    assert_eq!(
        errors,
        [Event::Ping(PingEvent::Error {
            from: OUR_IP,
            msg_type: 3,
            code: 1,
            ident: 0x1234,
            seq: 1
        })]
    );
}

/// Seed 2.3(b)/(c): a request for one of our addresses is answered with
/// `arp_send(ARPOP_REPLY, sip, dev, tip, sha, dev_addr, sha)` and "also teaches us the
/// peer's MAC" (`neigh_event_ns` -> NUD_STALE).
#[test]
fn arp_request_for_our_address_is_answered_and_teaches_sender_stale() {
    let mut h = Harness::new();
    let out = h.exchange(&arp_request(PEER_MAC, PEER_IP, OUR_IP));
    assert_eq!(out.len(), 1);
    let (eth, arp) = parse_arp(&out[0]).unwrap();
    assert_eq!((eth.dst_addr, eth.src_addr), (PEER_MAC, OUR_MAC));
    assert_eq!(arp.operation, Operation::REPLY);
    assert_eq!(
        (arp.source_hardware_addr, arp.source_protocol_addr),
        (OUR_MAC, OUR_IP)
    );
    assert_eq!(
        (arp.target_hardware_addr, arp.target_protocol_addr),
        (PEER_MAC, PEER_IP)
    );
    let n = h
        .stack
        .arp_table()
        .get(h.eth0, PEER_IP)
        .expect("entry learned from the request");
    assert_eq!((n.state, n.ha), (NudState::Stale, Some(PEER_MAC)));

    // Known address: the first datagram leaves at once, no solicitation.
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_send_to(s, b"x", to(PEER_IP, 9)).unwrap();
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(parse_udp(&out[0]).unwrap().0.eth.dst_addr, PEER_MAC);
}

/// Seed 2.3(b): a request for an address that is not ours is not answered, and with no
/// existing entry nothing is learned (`arp_process` only updates an existing neighbour).
#[test]
fn arp_request_for_foreign_address_is_not_answered_nor_learned() {
    let mut h = Harness::new();
    let out = h.exchange(&arp_request(PEER_MAC, PEER_IP, Ipv4Addr::new(10, 0, 0, 50)));
    assert!(out.is_empty());
    assert_eq!(h.nud(PEER_IP), None);
}

/// Seed 2.3(c): "peer sends an unsolicited ARP reply for an IP we have no entry for -> our
/// neighbour table unchanged (arp_accept=0)".
#[test]
fn arp_unsolicited_reply_is_ignored_without_arp_accept() {
    let mut h = Harness::new();
    let out = h.exchange(&arp_reply(PEER_MAC, PEER_IP));
    assert!(out.is_empty());
    assert!(h.stack.arp_table().is_empty());
    // A gratuitous ARP (sip == tip, broadcast) is not accepted either.
    let garp = arp_frame(
        EthernetAddress::BROADCAST,
        Operation::REQUEST,
        PEER_MAC,
        PEER_IP,
        EthernetAddress::BROADCAST,
        PEER_IP,
    );
    assert!(h.exchange(&garp).is_empty());
    assert!(h.stack.arp_table().is_empty());
}

/// Seed 2.3(c): "with arp_accept=1 -> entry created" (`arp_process`: `arp_accept` and a
/// reply from a unicast address -> `__neigh_lookup(..., creat=1)`; a unicast reply asserts
/// reachability -> NUD_REACHABLE).
#[test]
fn arp_unsolicited_reply_creates_entry_with_arp_accept() {
    let cfg = StackConfig {
        arp_accept: true,
        ..StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1);
    assert!(
        h.exchange(&arp_reply(PEER_MAC, PEER_IP)).is_empty(),
        "a reply is never answered"
    );
    let n = h
        .stack
        .arp_table()
        .get(h.eth0, PEER_IP)
        .expect("entry created");
    assert_eq!((n.state, n.ha), (NudState::Reachable, Some(PEER_MAC)));
    // A gratuitous request creates a STALE entry ("request packets do not assert
    // neighbour reachability").
    let other = Ipv4Addr::new(10, 0, 0, 3);
    let garp = arp_frame(
        EthernetAddress::BROADCAST,
        Operation::REQUEST,
        OTHER_MAC,
        other,
        EthernetAddress::default(),
        other,
    );
    assert!(h.exchange(&garp).is_empty());
    let n = h
        .stack
        .arp_table()
        .get(h.eth0, other)
        .expect("entry from gratuitous ARP");
    assert_eq!((n.state, n.ha), (NudState::Stale, Some(OTHER_MAC)));
}

/// Seed 2.3(c): "ARP request on eth1 for an address that lives on eth0: replied by default,
/// not replied with arp_ignore=1" (`arp_ignore` mode 1: reply only if the target IP is
/// configured on the incoming interface; no neighbour is learned when we do not answer).
#[test]
fn arp_ignore_1_does_not_answer_for_address_of_another_device() {
    let mut h = Harness::new();
    let eth1 = add_ethernet(
        &mut h.stack,
        "eth1",
        ETH1_MAC,
        Ipv4Addr::new(10, 1, 0, 1),
        24,
    );
    let peer1 = Ipv4Addr::new(10, 1, 0, 2);

    // arp_ignore 0 (default): ARP flux, eth1 answers for eth0's address with its own MAC.
    h.receive_on(eth1, &arp_request(OTHER_MAC, peer1, OUR_IP));
    let out = h.drain_with_dev();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, eth1);
    let (eth, arp) = parse_arp(&out[0].1).unwrap();
    assert_eq!((eth.src_addr, eth.dst_addr), (ETH1_MAC, OTHER_MAC));
    assert_eq!(
        (arp.source_hardware_addr, arp.source_protocol_addr),
        (ETH1_MAC, OUR_IP)
    );
    h.stack.neigh_del(eth1, peer1).unwrap();

    h.stack.set_arp_ignore(eth1, 1).unwrap();
    h.receive_on(eth1, &arp_request(OTHER_MAC, peer1, OUR_IP));
    assert!(
        h.drain().is_empty(),
        "arp_ignore=1: not configured on eth1, no reply"
    );
    assert!(
        h.stack.arp_table().get(eth1, peer1).is_none(),
        "and nothing learned"
    );
    // eth1's own address is still answered.
    h.receive_on(
        eth1,
        &arp_request(OTHER_MAC, peer1, Ipv4Addr::new(10, 1, 0, 1)),
    );
    let out = h.drain();
    assert_eq!(out.len(), 1);
    assert_eq!(
        parse_arp(&out[0]).unwrap().1.source_protocol_addr,
        Ipv4Addr::new(10, 1, 0, 1)
    );
}

/// Seed 2.3(b)/(c), RFC 5227 §2.1.1: a duplicate-address probe (sender IP 0.0.0.0) for our
/// address is answered, modern Linux style: `arp_send_dst(ARPOP_REPLY, ETH_P_ARP, sip=0,
/// dev, tip, sha, dev_addr, sha)` -> target IP 0.0.0.0, target MAC the prober's; a probe for
/// an unused address gets no reply; the prober is not learned.
#[test]
fn arp_duplicate_address_probe_is_answered_with_zero_target_ip() {
    let mut h = Harness::new();
    let probe = arp_frame(
        EthernetAddress::BROADCAST,
        Operation::REQUEST,
        PEER_MAC,
        Ipv4Addr::UNSPECIFIED,
        EthernetAddress::default(),
        OUR_IP,
    );
    let out = h.exchange(&probe);
    assert_eq!(out.len(), 1);
    let (eth, arp) = parse_arp(&out[0]).unwrap();
    assert_eq!((eth.dst_addr, eth.src_addr), (PEER_MAC, OUR_MAC));
    assert_eq!(arp.operation, Operation::REPLY);
    assert_eq!(
        (arp.source_hardware_addr, arp.source_protocol_addr),
        (OUR_MAC, OUR_IP)
    );
    assert_eq!(
        (arp.target_hardware_addr, arp.target_protocol_addr),
        (PEER_MAC, Ipv4Addr::UNSPECIFIED)
    );
    assert!(h.stack.arp_table().is_empty(), "0.0.0.0 is never learned");

    let unused = arp_frame(
        EthernetAddress::BROADCAST,
        Operation::REQUEST,
        PEER_MAC,
        Ipv4Addr::UNSPECIFIED,
        EthernetAddress::default(),
        Ipv4Addr::new(10, 0, 0, 50),
    );
    assert!(
        h.exchange(&unused).is_empty(),
        "arping -D for an unused IP: no reply"
    );
}

/// Seed 2.3(b)/(c): `arp_process` drops requests whose target is loopback (127/8, unless
/// route_localnet) or multicast: "arping for 127.0.0.1 or a multicast IP -> no reply".
#[test]
fn arp_request_for_loopback_or_multicast_target_is_not_answered() {
    let mut h = Harness::new();
    for tip in [
        Ipv4Addr::LOCALHOST,
        Ipv4Addr::new(127, 0, 0, 5),
        Ipv4Addr::new(224, 0, 0, 1),
        Ipv4Addr::new(239, 1, 2, 3),
    ] {
        assert!(
            h.exchange(&arp_request(PEER_MAC, PEER_IP, tip)).is_empty(),
            "answered for {tip}"
        );
    }
    assert!(
        h.stack.arp_table().is_empty(),
        "and the sender is not learned"
    );
}

/// Seed 2.2(b): "NUD_NOARP, NUD_PERMANENT (no transitions out of these two)" -
/// `neigh_update` without NEIGH_UPDATE_F_ADMIN leaves a PERMANENT entry alone, and it runs
/// no timer, so it never ages.
#[test]
fn arp_permanent_entry_never_changes_by_arp_and_never_times_out() {
    let mut h = Harness::new();
    h.stack
        .neigh_add(h.eth0, PEER_IP, Some(PEER_MAC), NudState::Permanent)
        .unwrap();
    // A reply, a request for us and a gratuitous ARP all claiming another MAC.
    let _ = h.exchange(&arp_reply(OTHER_MAC, PEER_IP));
    let out = h.exchange(&arp_request(OTHER_MAC, PEER_IP, OUR_IP));
    assert_eq!(out.len(), 1, "the request is still answered");
    let garp = arp_frame(
        EthernetAddress::BROADCAST,
        Operation::REQUEST,
        OTHER_MAC,
        PEER_IP,
        EthernetAddress::default(),
        PEER_IP,
    );
    let _ = h.exchange(&garp);
    let n = h.stack.arp_table().get(h.eth0, PEER_IP).unwrap();
    assert_eq!((n.state, n.ha), (NudState::Permanent, Some(PEER_MAC)));

    // Ten minutes of use and silence: no probe, no change.
    let s = h.stack.udp_socket().unwrap();
    for _ in 0..10 {
        h.stack.udp_send_to(s, b"tick", to(PEER_IP, 9)).unwrap();
        for f in h.drain() {
            assert_eq!(parse_udp(&f).expect("only data").0.eth.dst_addr, PEER_MAC);
        }
        let sent = h.advance(Duration::from_secs(60));
        assert!(sent.is_empty(), "a permanent entry is never probed");
    }
    let n = h.stack.arp_table().get(h.eth0, PEER_IP).unwrap();
    assert_eq!((n.state, n.ha), (NudState::Permanent, Some(PEER_MAC)));
}

/// Seed 2.2(b): `neigh_alloc` runs `neigh_forced_gc` when the table holds gc_thresh3
/// entries; if nothing can be freed the new entry is refused and `table_fulls` counted
/// ("neighbor table overflow!"). Entries resolving (INCOMPLETE, with a running timer) are
/// not collectable, so the table never grows past gc_thresh3.
#[test]
fn arp_table_full_counts_table_fulls_and_never_exceeds_gc_thresh3() {
    let mut cfg = StackConfig::default();
    cfg.neigh.gc_thresh1 = 2;
    cfg.neigh.gc_thresh2 = 4;
    cfg.neigh.gc_thresh3 = 8;
    let mut h = Harness::with_config(cfg, 1);
    let s = h.stack.udp_socket().unwrap();
    let mut requests = 0;
    for i in 10..30u8 {
        h.stack
            .udp_send_to(s, b"x", to(Ipv4Addr::new(10, 0, 0, i), 9))
            .unwrap();
        requests += arp_packets(&h.drain()).len();
        assert!(h.stack.arp_table().len() <= 8, "table grew past gc_thresh3");
    }
    assert_eq!(h.stack.arp_table().len(), 8);
    assert_eq!(
        requests, 8,
        "one solicitation per entry that could be created"
    );
    let st = h.stack.stats().arp;
    assert_eq!(st.table_fulls, 12);
    assert!(
        st.forced_gc_runs >= 12,
        "each refused allocation first tried a forced GC"
    );
}

/// `neigh_forced_gc` frees entries that are FAILED or not updated for 5 s and hold no
/// other reference (here: STALE entries learned from requests), down to gc_thresh2, so a
/// new neighbour fits.
#[test]
fn arp_forced_gc_reclaims_old_stale_entries_for_a_new_neighbour() {
    let mut cfg = StackConfig::default();
    cfg.neigh.gc_thresh1 = 1000;
    cfg.neigh.gc_thresh2 = 2;
    cfg.neigh.gc_thresh3 = 4;
    let mut h = Harness::with_config(cfg, 1);
    for i in 10..14u8 {
        let mac = EthernetAddress([2, 0, 0, 0, 2, i]);
        let _ = h.exchange(&arp_request(mac, Ipv4Addr::new(10, 0, 0, i), OUR_IP));
    }
    assert_eq!(h.stack.arp_table().len(), 4);
    let _ = h.advance(Duration::from_secs(6));
    let _ = h.exchange(&arp_request(PEER_MAC, PEER_IP, OUR_IP));
    assert_eq!(
        h.nud(PEER_IP),
        Some(NudState::Stale),
        "the new neighbour got an entry"
    );
    let st = h.stack.stats().arp;
    assert_eq!(st.table_fulls, 0);
    assert!(st.forced_gc_runs >= 1);
    assert!(h.stack.arp_table().len() <= 4);
}

/// `__neigh_event_send`: while INCOMPLETE, packets queue up to `unres_qlen_bytes` of
/// truesize; beyond that the oldest are dropped (`NEIGH_QUEUEFULL`) and `unres_discards`
/// counted; the survivors go out after the reply.
#[test]
fn arp_queue_over_unres_qlen_bytes_drops_oldest_and_counts_unresolved_discards() {
    let mut h = Harness::new();
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_send_to(s, &[0; 8], to(PEER_IP, 9)).unwrap();
    let truesize = h
        .stack
        .arp_table()
        .get(h.eth0, PEER_IP)
        .unwrap()
        .queue_tail()
        .unwrap()
        .truesize();
    h.stack.config_mut().neigh.unres_qlen_bytes = 3 * truesize;
    for i in 1..6u8 {
        h.stack.udp_send_to(s, &[i; 8], to(PEER_IP, 9)).unwrap();
    }
    assert_eq!(
        h.stack
            .arp_table()
            .get(h.eth0, PEER_IP)
            .unwrap()
            .queue_len(),
        3
    );
    assert_eq!(h.stack.stats().arp.unresolved_discards, 3);
    assert_eq!(
        h.stack.stats().tx_drops[crate::DropReason::NeighQueuefull as usize],
        3
    );
    let _ = h.drain();
    let out = h.exchange(&arp_reply(PEER_MAC, PEER_IP));
    let payloads: Vec<u8> = out.iter().map(|f| parse_udp(f).unwrap().3[0]).collect();
    assert_eq!(payloads, [3, 4, 5], "the newest three survive");
}

/// `__neigh_event_send` always queues the new packet after making room: even a queue
/// limit smaller than one packet keeps the newest one (Linux dequeues old packets "while"
/// over the limit, then `__skb_queue_tail`s unconditionally).
#[test]
fn arp_queue_limit_below_one_packet_still_keeps_the_newest() {
    let mut cfg = StackConfig::default();
    cfg.neigh.unres_qlen_bytes = 1;
    let mut h = Harness::with_config(cfg, 1);
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_send_to(s, &[1; 8], to(PEER_IP, 9)).unwrap();
    h.stack.udp_send_to(s, &[2; 8], to(PEER_IP, 9)).unwrap();
    assert_eq!(
        h.stack
            .arp_table()
            .get(h.eth0, PEER_IP)
            .unwrap()
            .queue_len(),
        1
    );
    assert_eq!(h.stack.stats().arp.unresolved_discards, 1);
    let _ = h.drain();
    let out = h.exchange(&arp_reply(PEER_MAC, PEER_IP));
    assert_eq!(out.len(), 1);
    assert_eq!(parse_udp(&out[0]).unwrap().3, [2; 8]);
}

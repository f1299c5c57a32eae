//! Protocol-rule tests for the NUD state machine (`net/core/neighbour.c`) with Linux's
//! timings: reachable_time drawn in [base/2, 3*base/2) = [15 s, 45 s), delay_first_probe_time
//! 5 s, retrans_time 1 s, ucast_solicit 3, mcast_resolicit 0.

extern crate std;

use core::net::{Ipv4Addr, SocketAddrV4};
use std::collections::BTreeSet;
use std::vec::Vec;

use crate::testutil::*;
use crate::wire::arp::Operation;
use crate::wire::ethernet::EthernetAddress;
use crate::{Duration, Instant, NudState, Stack, StackConfig};

fn to_peer() -> Option<SocketAddrV4> {
    Some(SocketAddrV4::new(PEER_IP, 9))
}

/// Resolves the peer at the current time (datagram, broadcast request, unicast reply) and
/// returns the socket used.
fn resolve_peer(h: &mut Harness) -> crate::SocketHandle {
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_send_to(s, b"hello", to_peer()).unwrap();
    assert_eq!(arp_packets(&h.drain()).len(), 1);
    let out = h.exchange(&arp_reply(PEER_MAC, PEER_IP));
    assert_eq!(out.len(), 1);
    assert_eq!(h.nud(PEER_IP), Some(NudState::Reachable));
    s
}

/// `neigh_rand_reach_time`: "reachable_time = base_reachable_time * rand[0.5, 1.5)", i.e.
/// in [15 s, 45 s) for the default 30 s, drawn from the stack's seeded PRNG.
#[test]
fn nud_reachable_time_is_randomized_between_15_and_45_seconds() {
    let mut seen = BTreeSet::new();
    for seed in 0..200 {
        let t = Stack::new(StackConfig::default(), seed)
            .arp_table()
            .reachable_time();
        assert!(
            t >= Duration::from_secs(15) && t < Duration::from_secs(45),
            "seed {seed}: {t:?}"
        );
        seen.insert(t);
    }
    assert!(
        seen.len() > 100,
        "not randomized: {} distinct values",
        seen.len()
    );
    let a = Stack::new(StackConfig::default(), 42)
        .arp_table()
        .reachable_time();
    let b = Stack::new(StackConfig::default(), 42)
        .arp_table()
        .reachable_time();
    assert_eq!(a, b, "deterministic per seed");
}

/// Seed 2.2(c): "`ip neigh` then shows REACHABLE, and after reachable_time with no traffic
/// -> STALE" (`neigh_timer_handler`: REACHABLE past confirmed + reachable_time and not used
/// within delay_first_probe_time -> NUD_STALE, no probe sent).
#[test]
fn nud_reachable_goes_stale_after_reachable_time_without_traffic() {
    let mut h = Harness::new();
    resolve_peer(&mut h);
    let rt = h.stack.arp_table().reachable_time();
    let sent = h.advance_to(Instant::ZERO + rt - Duration::from_millis(1));
    assert!(sent.is_empty());
    assert_eq!(h.nud(PEER_IP), Some(NudState::Reachable));
    let sent = h.advance_to(Instant::ZERO + rt + Duration::from_millis(50));
    assert!(sent.is_empty(), "going STALE sends nothing");
    assert_eq!(h.nud(PEER_IP), Some(NudState::Stale));
    // STALE has no timer: it stays STALE (until used or collected).
    let _ = h.advance(Duration::from_secs(40));
    assert_eq!(h.nud(PEER_IP), Some(NudState::Stale));
}

/// Walks to PROBE: resolve at 0, go STALE, send at `t_send` (STALE -> DELAY), and return
/// the frames sent up to and including the DELAY expiry.
fn walk_to_probe(h: &mut Harness, s: crate::SocketHandle) -> (Instant, Vec<(Instant, Vec<u8>)>) {
    let rt = h.stack.arp_table().reachable_time();
    let _ = h.advance_to(Instant::ZERO + rt + Duration::from_secs(1));
    assert_eq!(h.nud(PEER_IP), Some(NudState::Stale));
    let t_send = h.now;
    h.stack.udp_send_to(s, b"again", to_peer()).unwrap();
    let out = h.drain();
    assert_eq!(
        out.len(),
        1,
        "STALE: the datagram leaves at once with the cached address"
    );
    assert_eq!(parse_udp(&out[0]).unwrap().0.eth.dst_addr, PEER_MAC);
    assert_eq!(h.nud(PEER_IP), Some(NudState::Delay));
    let quiet = h.advance_to(t_send + Duration::from_millis(4_999));
    assert!(
        quiet.is_empty(),
        "DELAY waits delay_first_probe_time before probing"
    );
    assert_eq!(h.nud(PEER_IP), Some(NudState::Delay));
    let sent = h.advance_to(t_send + Duration::from_secs(5));
    assert_eq!(h.nud(PEER_IP), Some(NudState::Probe));
    (t_send, sent)
}

fn assert_unicast_probe(frame: &[u8]) {
    let (eth, arp) = parse_arp(frame).expect("an ARP probe");
    assert_eq!(
        (eth.dst_addr, eth.src_addr),
        (PEER_MAC, OUR_MAC),
        "PROBE solicits unicast"
    );
    assert_eq!(arp.operation, Operation::REQUEST);
    assert_eq!(
        (arp.source_hardware_addr, arp.source_protocol_addr),
        (OUR_MAC, OUR_IP)
    );
    // arp_solicit passes target_hw = NULL to arp_send_dst: arp_create zero-fills it.
    assert_eq!(arp.target_hardware_addr, EthernetAddress::default());
    assert_eq!(arp.target_protocol_addr, PEER_IP);
}

/// Seed 2.2(c): "sending to a STALE entry -> unicast ARP probe after delay (DELAY->PROBE)";
/// RFC 4861 §7.3.3 / `neigh_timer_handler`: DELAY lasts delay_first_probe_time (5 s), PROBE
/// sends its first probe at once, unicast to the cached address; a unicast reply in PROBE
/// makes the entry REACHABLE and stops the probing.
#[test]
fn nud_stale_used_goes_delay_then_probe_unicast_then_reachable_on_reply() {
    let mut h = Harness::new();
    let s = resolve_peer(&mut h);
    let (t_send, sent) = walk_to_probe(&mut h, s);
    assert_eq!(sent.len(), 1, "one probe when PROBE starts");
    assert_eq!(sent[0].0, t_send + Duration::from_secs(5));
    assert_unicast_probe(&sent[0].1);

    let sent = h.advance_to(t_send + Duration::from_secs(6));
    assert_eq!(sent.len(), 1, "the next probe retrans_time later");
    assert_unicast_probe(&sent[0].1);

    let out = h.exchange(&arp_reply(PEER_MAC, PEER_IP));
    assert!(out.is_empty());
    assert_eq!(h.nud(PEER_IP), Some(NudState::Reachable));
    let sent = h.advance(Duration::from_secs(10));
    assert!(sent.is_empty(), "no probe after the reply");
    assert_eq!(h.nud(PEER_IP), Some(NudState::Reachable));
}

/// `neigh_timer_handler`: PROBE gives up after `neigh_max_probes` = ucast_solicit +
/// app_solicit + mcast_resolicit = 3 unicast probes, 1 s apart, then NUD_FAILED with
/// `res_failed` counted; the next packet starts a fresh broadcast resolution.
#[test]
fn nud_probe_without_answer_fails_after_three_unicast_probes() {
    let mut h = Harness::new();
    let s = resolve_peer(&mut h);
    let (t_send, mut sent) = walk_to_probe(&mut h, s);
    sent.extend(h.advance_to(t_send + Duration::from_millis(7_999)));
    assert_eq!(h.nud(PEER_IP), Some(NudState::Probe));
    sent.extend(h.advance_to(t_send + Duration::from_secs(20)));
    let times: Vec<Instant> = sent.iter().map(|(t, _)| *t).collect();
    let p = t_send + Duration::from_secs(5);
    assert_eq!(
        times,
        [p, p + Duration::from_secs(1), p + Duration::from_secs(2)]
    );
    for (_, f) in &sent {
        assert_unicast_probe(f);
    }
    assert_eq!(h.nud(PEER_IP), Some(NudState::Failed));
    assert_eq!(h.stack.stats().arp.res_failed, 1);

    h.stack.udp_send_to(s, b"retry", to_peer()).unwrap();
    let out = h.drain();
    assert_eq!(out.len(), 1);
    let (eth, arp) = parse_arp(&out[0]).unwrap();
    assert_eq!(
        eth.dst_addr,
        EthernetAddress::BROADCAST,
        "FAILED -> INCOMPLETE broadcasts"
    );
    assert_eq!(arp.target_protocol_addr, PEER_IP);
    assert_eq!(h.nud(PEER_IP), Some(NudState::Incomplete));
}

/// `neigh_forced_gc` only frees entries nobody else holds (`refcnt == 1`); a pending
/// `neigh->timer` holds a reference (`neigh_add_timer` -> `neigh_hold`), so REACHABLE
/// entries are never collected by force, however old their `updated` stamp: the new entry is
/// refused instead.
#[test]
fn nud_forced_gc_spares_entries_with_a_running_timer() {
    let mut cfg = StackConfig::default();
    cfg.neigh.gc_thresh1 = 1000;
    cfg.neigh.gc_thresh2 = 2;
    cfg.neigh.gc_thresh3 = 4;
    let mut h = Harness::with_config(cfg, 1);
    let s = h.stack.udp_socket().unwrap();
    for i in 10..14u8 {
        let ip = Ipv4Addr::new(10, 0, 0, i);
        let mac = EthernetAddress([2, 0, 0, 0, 2, i]);
        h.stack
            .udp_send_to(s, b"x", Some(SocketAddrV4::new(ip, 9)))
            .unwrap();
        let _ = h.drain();
        let _ = h.exchange(&arp_reply(mac, ip));
        assert_eq!(h.nud(ip), Some(NudState::Reachable));
    }
    // Older than the forced GC's 5 s but well within reachable_time (>= 15 s).
    let _ = h.advance(Duration::from_secs(6));
    h.stack
        .udp_send_to(s, b"x", Some(SocketAddrV4::new(PEER_IP, 9)))
        .unwrap();
    assert!(h.drain().is_empty(), "no room: no solicitation");
    assert_eq!(h.nud(PEER_IP), None);
    assert_eq!(h.stack.stats().arp.table_fulls, 1);
    for i in 10..14u8 {
        assert_eq!(h.nud(Ipv4Addr::new(10, 0, 0, i)), Some(NudState::Reachable));
    }
}

/// Linux compares only collectable entries (its `gc_list`, which PERMANENT entries are not
/// on) with gc_thresh3: static entries never make the table refuse a new neighbour.
#[test]
fn nud_permanent_entries_do_not_count_towards_gc_thresh3() {
    let mut cfg = StackConfig::default();
    cfg.neigh.gc_thresh2 = 2;
    cfg.neigh.gc_thresh3 = 2;
    let mut h = Harness::with_config(cfg, 1);
    for i in 10..20u8 {
        let mac = EthernetAddress([2, 0, 0, 0, 1, i]);
        h.stack
            .neigh_add(
                h.eth0,
                Ipv4Addr::new(10, 0, 0, i),
                Some(mac),
                NudState::Permanent,
            )
            .unwrap();
    }
    let s = h.stack.udp_socket().unwrap();
    h.stack.udp_send_to(s, b"hello", to_peer()).unwrap();
    assert_eq!(
        arp_packets(&h.drain()).len(),
        1,
        "a request for the new neighbour"
    );
    assert_eq!(h.nud(PEER_IP), Some(NudState::Incomplete));
    assert_eq!(h.stack.stats().arp.table_fulls, 0);
}

//! Rule tests: path MTU discovery (RFC 1191; Linux `tcp_v4_err` with `ICMP_FRAG_NEEDED`,
//! `tcp_v4_mtu_reduced`, `tcp_sync_mss`, `tcp_simple_retransmit`, `__ip_rt_update_pmtu`).

use alloc::vec::Vec;
use core::net::SocketAddrV4;

use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;
use crate::{Errno, TcpState};

/// An ICMP fragmentation-needed from a router, quoting `seg` and carrying `mtu`.
fn frag_needed(seg: &TcpOut, mtu: u16) -> Vec<u8> {
    let q = seg.ip.packet[..28].to_vec();
    let icmp = icmp_error(3, 4, u32::from(mtu), &q);
    ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        crate::wire::ipv4::Protocol::ICMP,
        64,
        &icmp,
    ))
}

/// `tcp_v4_mtu_reduced`: fragmentation needed with MTU 1400 quoting our first segment: the
/// MSS drops to 1360 and the segments now too large are resent at once, each cut to the
/// new MSS (`tcp_simple_retransmit` marks them lost, `__tcp_retransmit_skb` fragments
/// them: 1360 + 100 twice, the last 100 taking in the 1080-byte segment behind it,
/// `tcp_retrans_try_collapse`; Loss state, TCPSlowStartRetrans, no cwnd cut), with DF;
/// later
/// data uses the new MSS; a new connection to the same host advertises MSS 1360 until the
/// learned PMTU expires after `ip_rt_mtu_expires` (600 s).
#[test]
fn frag_needed_lowers_mss_and_resends_at_once() {
    let mut h = setup();
    let (s, _conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, &[5u8; 4000]).unwrap();
    let sent = out(&mut h);
    let lens: Vec<usize> = sent.iter().map(|p| p.payload.len()).collect();
    assert_eq!(lens, [1460, 1460, 1080]);
    let cwnd_before = h.stack.tcp_info(s).unwrap().snd_cwnd;
    let re = tcp_segments(&h.exchange(&frag_needed(&sent[0], 1400)));
    let lens: Vec<usize> = re.iter().map(|p| p.payload.len()).collect();
    assert_eq!(lens, [1360, 100, 1360, 1180], "{re:#?}");
    assert_eq!(re[0].seq, sent[0].seq);
    for p in &re {
        assert!(p.ip.packet.len() <= 1400);
        assert!(p.ip.ip.dont_frag);
    }
    assert_eq!(h.stack.ip_learned_pmtu(PEER_IP), Some(1400));
    let st = h.stack.stats();
    assert_eq!(st.tcp.retrans_segs, 4);
    assert_eq!(st.tcp_ext.tcp_slow_start_retrans, 4);
    let i = h.stack.tcp_info(s).unwrap();
    assert_eq!((i.snd_mss, i.pmtu, i.ca_state), (1360, 1400, 4));
    assert!(
        i.snd_cwnd * 1360 >= cwnd_before * 1460 - 1360,
        "no cwnd cut"
    );
    assert_eq!(h.stack.tcp_take_error(s), Ok(None));

    let t = h.stack.tcp_socket().unwrap();
    let _ = h
        .stack
        .tcp_connect(t, SocketAddrV4::new(PEER_IP, PEER_PORT + 1));
    assert_eq!(one(&mut h).mss, Some(1360));
    let _ = h.advance(Duration::from_secs(601));
    assert_eq!(h.stack.ip_learned_pmtu(PEER_IP), None);
    let u = h.stack.tcp_socket().unwrap();
    let _ = h
        .stack
        .tcp_connect(u, SocketAddrV4::new(PEER_IP, PEER_PORT + 2));
    let syns = out(&mut h);
    assert!(syns.iter().any(|p| p.mss == Some(1460)), "{syns:#?}");
}

/// `__ip_rt_update_pmtu`: an MTU above the current one is ignored; one below
/// `ip_rt_min_pmtu` is raised to 552, and the socket keeps EMSGSIZE as its soft error
/// (`tcp_v4_mtu_reduced`), reported if the connection later fails.
#[test]
fn frag_needed_bounds_larger_and_tiny_mtus() {
    let mut h = setup();
    let (s, _conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, &[1u8; 3000]).unwrap();
    let sent = out(&mut h);
    assert!(tcp_segments(&h.exchange(&frag_needed(&sent[0], 9000))).is_empty());
    assert_eq!(h.stack.ip_learned_pmtu(PEER_IP), None);
    assert_eq!(h.stack.tcp_info(s).unwrap().snd_mss, 1460);
    let re = tcp_segments(&h.exchange(&frag_needed(&sent[0], 100)));
    assert!(!re.is_empty());
    assert!(re.iter().all(|p| p.payload.len() <= 512));
    assert_eq!(h.stack.ip_learned_pmtu(PEER_IP), Some(552));
    assert_eq!(h.stack.tcp_info(s).unwrap().snd_mss, 512);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::EMSGSIZE)));
}

/// A fragmentation-needed quoting a sequence number outside SND.UNA..SND.NXT is ignored
/// (OutOfWindowIcmps) and teaches nothing.
#[test]
fn frag_needed_out_of_window_is_ignored() {
    let mut h = setup();
    let (s, _conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, &[1u8; 100]).unwrap();
    let mut seg = one(&mut h);
    seg.ip.packet[24..28].copy_from_slice(&seg.seq.wrapping_add(90_000).to_be_bytes());
    assert!(h.exchange(&frag_needed(&seg, 1000)).is_empty());
    assert_eq!(h.stack.stats().tcp_ext.out_of_window_icmps, 1);
    assert_eq!(h.stack.ip_learned_pmtu(PEER_IP), None);
    assert_eq!(h.stack.tcp_info(s).unwrap().snd_mss, 1460);
}

/// `tcp_sacktag_write_queue` updates the reordering degree only when the state is not
/// Loss or an undo marker is set: after `tcp_simple_retransmit` (Loss, no undo marker), a
/// SACK for a never-retransmitted segment below the highest SACK teaches nothing about
/// the path's reordering (no TCPSACKReorder, `reord_seen` and `reordering` unchanged).
/// RACK is off (`tcp_recovery = 0`) so that the first SACK does not mark the segment in
/// the hole lost and have it resent before its own SACK comes.
#[test]
fn sack_reordering_is_not_learned_in_loss_without_undo_marker() {
    let cfg = crate::StackConfig {
        tcp_recovery: 0,
        ..crate::StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1).with_static_peer();
    let (s, conn, _) = open_active(&mut h, false);
    h.stack.tcp_set_nodelay(s, true).unwrap();
    h.stack.tcp_send(s, &[7u8; 1448]).unwrap();
    for _ in 0..6 {
        h.stack.tcp_send(s, &[8u8; 1300]).unwrap();
    }
    let sent = out(&mut h);
    let lens: Vec<usize> = sent.iter().map(|p| p.payload.len()).collect();
    assert_eq!(lens, [1448, 1300, 1300, 1300, 1300, 1300, 1300]);
    // Only the full segment is too large for MTU 1400 (MSS 1348): it alone is lost and
    // resent, cut in two (the 100-byte tail cannot take in a 1300-byte segment).
    let re = tcp_segments(&h.exchange(&frag_needed(&sent[0], 1400)));
    assert!(!re.is_empty());
    assert!(re.iter().all(|p| p.seq.wrapping_sub(sent[0].seq) < 1448));
    {
        let sk = h.stack.tcp.get(s).unwrap();
        assert_eq!(sk.ca_state, super::CaState::Loss);
        assert_eq!(sk.sb.undo_marker, None);
    }
    let end = |i: usize| sent[i].seq.wrapping_add(sent[i].payload.len() as u32);
    let sack = |blocks: &[(u32, u32)]| TcpSeg {
        ack: Some(sent[0].seq),
        sacks: blocks.to_vec(),
        ..conn.ack()
    };
    // The last small segment arrives first, then one below it that was never resent.
    let _ = send(&mut h, &sack(&[(sent[6].seq, end(6))]));
    let _ = send(
        &mut h,
        &sack(&[(sent[2].seq, end(2)), (sent[6].seq, end(6))]),
    );
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.sb.sacked_out.pkts, 2);
    assert_eq!(sk.sb.reord_seen, 0);
    assert_eq!(sk.sb.reordering, 3);
    assert_eq!(h.stack.stats().tcp_ext.tcp_sack_reorder, 0);
}

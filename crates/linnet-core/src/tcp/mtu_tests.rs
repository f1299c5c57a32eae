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

//! Rule tests: loss recovery as Linux runs it: PRR's trajectory (RFC 6937), D-SACK undo
//! (RFC 2883 §5), tail loss probes and RACK's reordering window (RFC 8985), F-RTO and Eifel
//! undo after a spurious timeout (RFC 5682, RFC 3522), NewReno for peers without SACK.

use alloc::vec::Vec;
use core::net::SocketAddrV4;

use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;
use crate::{Errno, SocketHandle, StackConfig, TcpState};

use super::cong::INFINITE_SSTHRESH;
use super::CaState;

/// Payload per full segment with timestamps (MSS 1460 - 12).
const MSS_TS: u32 = 1448;
/// Payload per full segment without timestamps.
const MSS_PLAIN: u32 = 1460;
/// The round trip of the tests whose peer answers each flight after 5 ms: the handshake
/// measures it (`open_active_rtt`), so the loss probe (2·SRTT + 2 ms) stays behind the ACKs.
const RTT: Duration = Duration::from_millis(5);

/// The peer's ACK at `ack` with SACK `blocks`.
fn sack(conn: &Conn, ack: u32, blocks: &[(u32, u32)]) -> TcpSeg {
    TcpSeg {
        ack: Some(ack),
        sacks: blocks.to_vec(),
        ..conn.ack()
    }
}

/// A connection whose peer offers SACK and window scaling but no timestamps.
fn open_sack_no_ts(h: &mut Harness) -> (SocketHandle, Conn) {
    let s = h.stack.tcp_socket().unwrap();
    assert_eq!(
        h.stack
            .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT)),
        Err(Errno::EINPROGRESS)
    );
    let syn = one(h);
    let mut conn = Conn {
        our_port: syn.sport,
        peer_port: PEER_PORT,
        our_nxt: syn.seq.wrapping_add(1),
        peer_nxt: PEER_ISN,
        window: 65_160,
    };
    let synack = TcpSeg {
        syn: true,
        mss: Some(1460),
        sack_perm: true,
        wscale: Some(7),
        ..conn.ack()
    };
    assert_eq!(send(h, &synack).len(), 1);
    conn.peer_nxt = PEER_ISN + 1;
    conn.window = 512;
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    (s, conn)
}

/// A harness whose stack sends no tail loss probes (`tcp_early_retrans = 0`), so that the
/// RTO is the first timer to fire.
fn setup_no_tlp() -> Harness {
    let cfg = StackConfig {
        tcp_early_retrans: 0,
        ..StackConfig::default()
    };
    Harness::with_config(cfg, 1).with_static_peer()
}

/// Queues `segs` full segments of a known pattern on a socket with a large send buffer.
fn queue(h: &mut Harness, s: SocketHandle, segs: usize, mss: u32) -> Vec<u8> {
    h.stack.tcp_set_sndbuf(s, 1 << 20).unwrap();
    let data: Vec<u8> = (0..segs * mss as usize).map(|i| (i * 13) as u8).collect();
    assert_eq!(h.stack.tcp_send(s, &data), Ok(data.len()));
    data
}

/// RFC 6937 §6's example, as Linux's `tcp_cwnd_reduction` runs it: 20 segments in flight
/// (cwnd 20, Reno so ssthresh 10), the first one lost, then one SACK per arriving segment.
/// The first two SACKs each let one new segment out (the SACKed segments left the pipe);
/// the third starts recovery with the retransmission; from then on PRR sends one new
/// segment for every two delivered (ssthresh / prior_cwnd = 1/2): "N N R _ N _ N ...".
/// When the retransmission is acknowledged, recovery ends with cwnd = ssthresh.
#[test]
fn prr_follows_rfc6937_example() {
    let mut h = setup();
    let (s, conn, _) = open_active_rtt(&mut h, false, RTT);
    h.stack.tcp_set_congestion(s, "reno").unwrap();
    let mss = MSS_TS;
    let _data = queue(&mut h, s, 60, mss);
    let first = out(&mut h);
    assert_eq!(first.len(), 10, "IW10");
    let base = first[0].seq;
    let b = |i: u32| base.wrapping_add(i * mss);
    let _ = h.advance(RTT);
    // One ACK for the whole initial window: slow start takes cwnd to 20.
    let flight = send(&mut h, &sack(&conn, b(10), &[]));
    assert_eq!(flight.len(), 20);
    assert_eq!(h.stack.tcp.get(s).unwrap().win.cwnd, 20 * mss);
    let _ = h.advance(RTT);
    // Segment 10 is lost; 11..29 arrive one by one and are SACKed.
    let mut pattern = Vec::new();
    for k in 1..=19u32 {
        let got = send(&mut h, &sack(&conn, b(10), &[(b(11), b(11 + k))]));
        let code = match got.as_slice() {
            [] => '_',
            [o] if o.seq == b(10) => 'R',
            [o] if o.seq == b(30 + pattern.iter().filter(|c| **c == 'N').count() as u32) => 'N',
            other => panic!("ack {k}: {other:#?}"),
        };
        pattern.push(code);
        if k == 3 {
            let sk = h.stack.tcp.get(s).unwrap();
            assert_eq!(sk.ca_state, CaState::Recovery);
            assert_eq!(sk.win.ssthresh, 10 * mss, "Reno halves cwnd 20");
            assert_eq!(sk.sb.prior_cwnd, 20 * mss);
            assert_eq!((sk.sb.prr_delivered, sk.sb.prr_out), (1, 1));
        }
    }
    let pattern: alloc::string::String = pattern.into_iter().collect();
    // The last SACK brings pipe down to ssthresh: PRR's slow-start bound (SSRB,
    // min(ssthresh - pipe, ...)) sends nothing more.
    assert_eq!(pattern, "NNR_N_N_N_N_N_N_N__");
    {
        let sk = h.stack.tcp.get(s).unwrap();
        // 17 delivered in recovery, 8 sent (R + 7 N): the proportional part allowed
        // ceil(10 * 16 / 20) = 8 by the 18th SACK.
        assert_eq!((sk.sb.prr_delivered, sk.sb.prr_out), (17, 8));
        // pipe = packets_out 29 - (SACKed 19 + lost 1) + retransmitted 1 = ssthresh.
        assert_eq!(sk.sb.packets_in_flight(), 10);
        assert_eq!(sk.win.cwnd, 10 * mss);
    }
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_sack_recovery, 1);
    assert_eq!(st.tcp.retrans_segs, 1);
    // The retransmission arrives: everything through the new data is acknowledged, and
    // recovery ends with cwnd = ssthresh, then congestion avoidance adds one segment for
    // the 10 segments this ACK newly delivered (a full window, tcp_cong_avoid_ai).
    let nxt = h.stack.tcp.get(s).unwrap().snd_nxt.0;
    assert_eq!(nxt, b(39), "9 new segments: 2 before recovery, 7 in it");
    let _ = send(&mut h, &sack(&conn, nxt, &[]));
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.ca_state, CaState::Open);
    assert_eq!(sk.win.ssthresh, 10 * mss);
    assert_eq!(sk.win.cwnd, 11 * mss);
    assert_eq!(h.stack.stats().tcp_ext.tcp_full_undo, 0);
}

/// RFC 2883 §5 / Linux `tcp_try_undo_dsack`: recovery started on reordering (three SACKs
/// above a late segment); the late original and then the retransmission arrive, and the
/// D-SACK for the retransmission proves it spurious: the window reduction is undone
/// (TCPDSACKRecv, TCPDSACKUndo) and the connection is Open with its old cwnd and ssthresh.
#[test]
fn dsack_of_the_only_retransmission_undoes_recovery() {
    let mut h = setup();
    let (s, conn, _) = open_active_rtt(&mut h, false, RTT);
    let mss = MSS_TS;
    let _data = queue(&mut h, s, 10, mss);
    let segs = out(&mut h);
    assert_eq!(segs.len(), 10);
    let b = |i: u32| segs[0].seq.wrapping_add(i * mss);
    let _ = h.advance(RTT);
    assert!(send(&mut h, &sack(&conn, b(1), &[])).is_empty());
    let cwnd_before = h.stack.tcp.get(s).unwrap().win.cwnd;
    // Segment 1 is late: 2, 3, 4 are SACKed; the third SACK starts recovery.
    let mut sent = Vec::new();
    for k in 3..=5 {
        sent.extend(send(&mut h, &sack(&conn, b(1), &[(b(2), b(k))])));
    }
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].seq, b(1));
    {
        let sk = h.stack.tcp.get(s).unwrap();
        assert_eq!(sk.ca_state, CaState::Recovery);
        assert!(sk.win.ssthresh < INFINITE_SSTHRESH);
    }
    // The late original arrives: cumulative ACK through segment 4.
    let _ = send(&mut h, &sack(&conn, b(5), &[]));
    assert_eq!(h.stack.stats().tcp_ext.tcp_dsack_undo, 0);
    // Then the retransmission: the receiver reports it as a duplicate.
    let _ = send(&mut h, &sack(&conn, b(5), &[(b(1), b(2))]));
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_dsack_recv, 1);
    assert_eq!(st.tcp_ext.tcp_dsack_undo, 1);
    assert_eq!(st.tcp_ext.tcp_sack_recovery, 1);
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.ca_state, CaState::Open);
    assert_eq!(sk.win.ssthresh, INFINITE_SSTHRESH);
    assert!(
        sk.win.cwnd >= cwnd_before,
        "{} < {cwnd_before}",
        sk.win.cwnd
    );
    assert_eq!(sk.sb.undo_marker, None);
}

/// Brings SRTT and min_rtt to about `rtt` with one-segment exchanges.
fn warm_rtt(h: &mut Harness, s: SocketHandle, conn: &mut Conn, rtt: Duration, rounds: usize) {
    for _ in 0..rounds {
        h.stack.tcp_send(s, &[9u8; 100]).unwrap();
        assert_eq!(out(h).len(), 1);
        let _ = h.advance(rtt);
        conn.our_nxt = conn.our_nxt.wrapping_add(100);
        assert!(send(h, &conn.ack()).is_empty());
    }
}

/// RFC 8985 §7 as Linux does it (`tcp_schedule_loss_probe`, `tcp_send_loss_probe`): the
/// last two of four segments are lost. With two segments in flight the probe timeout is
/// 2·SRTT + `TCP_TIMEOUT_MIN` (2 ms) after the ACK; the probe retransmits the last segment
/// (TCPLossProbes); its SACK lets RACK mark the other missing segment lost, and fast
/// recovery repairs it without any RTO.
#[test]
fn tail_loss_probe_fires_at_two_srtt_plus_2ms_and_turns_tail_drop_into_fast_recovery() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, false);
    let rtt = Duration::from_millis(20);
    warm_rtt(&mut h, s, &mut conn, rtt, 12);
    let mss = MSS_TS;
    let _data = queue(&mut h, s, 4, mss);
    let segs = out(&mut h);
    assert_eq!(segs.len(), 4);
    let b = |i: u32| segs[0].seq.wrapping_add(i * mss);
    let _ = h.advance(rtt);
    assert!(send(&mut h, &sack(&conn, b(2), &[])).is_empty());
    let t_ack = h.now;
    let srtt = h.stack.tcp.get(s).unwrap().rtt.srtt.unwrap();
    assert!(srtt > Duration::from_millis(15), "{srtt:?}");
    let expected = srtt * 2 + Duration::from_millis(2);
    // Nothing before 2·SRTT + 2 ms...
    assert!(h.advance(expected - Duration::from_millis(1)).is_empty());
    // ... and the probe at it.
    let probe = h.advance(Duration::from_millis(2));
    assert_eq!(probe.len(), 1, "{probe:#?}");
    let (t, f) = &probe[0];
    let pto = t.saturating_since(t_ack);
    assert!(
        pto.abs_diff(expected) < Duration::from_millis(1),
        "PTO {pto:?}, 2*SRTT + 2 ms {expected:?}"
    );
    let p = parse_tcp(f).unwrap();
    assert_eq!(p.seq, b(3), "the last segment is the probe");
    assert_eq!(h.stack.stats().tcp_ext.tcp_loss_probes, 1);
    // The probe's SACK arrives an RTT later: segment 2 is lost, recovery retransmits it.
    let _ = h.advance(rtt);
    let rtx = send(&mut h, &sack(&conn, b(2), &[(b(3), b(4))]));
    assert_eq!(rtx.len(), 1, "{rtx:#?}");
    assert_eq!(rtx[0].seq, b(2));
    assert!(send(&mut h, &sack(&conn, b(4), &[])).is_empty());
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_sack_recovery, 1);
    assert_eq!(st.tcp_ext.tcp_timeouts, 0);
    assert_eq!(st.tcp.retrans_segs, 2);
    assert_eq!(h.stack.tcp_tx_queued(s), Ok(0));
}

/// Linux `tcp_schedule_loss_probe`'s timeout on a short path: with two segments out and
/// SRTT = 2 ms the probe goes 2·SRTT + 2 ms = 6 ms after the send (RFC 8985's 10 ms floor
/// is not Linux's); with one segment out the allowance is the minimum RTO (the peer may be
/// delaying its ACK), so 2·SRTT + 200 ms, capped by the RTO: the probe is due when the RTO
/// would be, and goes instead of it (TCPLossProbes, no TCPTimeouts).
#[test]
fn loss_probe_timeout_has_no_floor_and_waits_for_the_rto_with_one_segment() {
    let rtt = Duration::from_millis(2);
    // Two segments: PTO = 2·2 + 2 = 6 ms.
    let mut h = setup();
    let (s, mut conn, _) = open_active_rtt(&mut h, false, rtt);
    warm_rtt(&mut h, s, &mut conn, rtt, 8);
    assert_eq!(
        h.stack.tcp.get(s).unwrap().rtt.srtt,
        Some(rtt),
        "constant 2 ms samples"
    );
    let _data = queue(&mut h, s, 2, MSS_TS);
    let segs = out(&mut h);
    assert_eq!(segs.len(), 2);
    let t_sent = h.now;
    assert!(h.advance(Duration::from_millis(5)).is_empty());
    let probe = h.advance(Duration::from_millis(2));
    assert_eq!(probe.len(), 1, "{probe:#?}");
    assert_eq!(
        probe[0].0.saturating_since(t_sent),
        Duration::from_millis(6)
    );
    assert_eq!(parse_tcp(&probe[0].1).unwrap().seq, segs[1].seq);
    let st = h.stack.stats();
    assert_eq!(
        (st.tcp_ext.tcp_loss_probes, st.tcp_ext.tcp_timeouts),
        (1, 0)
    );

    // One segment: 2·2 + 200 = 204 ms, but the RTO (SRTT + max(4·RTTVAR, 200 ms)) is
    // sooner, so the probe is due at the RTO.
    let mut h = setup();
    let (s, mut conn, _) = open_active_rtt(&mut h, false, rtt);
    warm_rtt(&mut h, s, &mut conn, rtt, 8);
    let rto = h.stack.tcp.get(s).unwrap().rtt.rto;
    assert!(rto < rtt * 2 + Duration::from_millis(200), "RTO {rto:?}");
    h.stack.tcp_send(s, &[5u8; 100]).unwrap();
    let seg = one(&mut h);
    let t_sent = h.now;
    assert!(h.advance(rto - Duration::from_millis(1)).is_empty());
    let probe = h.advance(Duration::from_millis(2));
    assert_eq!(probe.len(), 1, "{probe:#?}");
    assert_eq!(probe[0].0.saturating_since(t_sent), rto);
    let p = parse_tcp(&probe[0].1).unwrap();
    assert_eq!((p.seq, p.payload.len()), (seg.seq, 100));
    let st = h.stack.stats();
    assert_eq!(
        (st.tcp_ext.tcp_loss_probes, st.tcp_ext.tcp_timeouts),
        (1, 0)
    );
}

/// Linux `tcp_process_tlp_ack`: a retransmitted probe repaired a single tail loss when a
/// later ACK goes beyond the probe's SND.NXT: the window is reduced once (to ssthresh) and
/// TCPLossProbeRecovery counts it.
#[test]
fn loss_probe_recovery_is_counted_when_the_probe_repaired_the_tail() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, false);
    let rtt = Duration::from_millis(20);
    warm_rtt(&mut h, s, &mut conn, rtt, 12);
    let mss = MSS_TS;
    let _data = queue(&mut h, s, 4, mss);
    let segs = out(&mut h);
    let b = |i: u32| segs[0].seq.wrapping_add(i * mss);
    let _ = h.advance(rtt);
    // 0 and 1 acknowledged; 2 arrived but its ACK is delayed; 3 is lost.
    assert!(send(&mut h, &sack(&conn, b(2), &[])).is_empty());
    let probe = h.advance(Duration::from_millis(100));
    assert_eq!(probe.len(), 1);
    assert_eq!(parse_tcp(&probe[0].1).unwrap().seq, b(3));
    let _ = h.advance(rtt);
    // The probe fills the tail: everything is acknowledged (ACK = the probe's SND.NXT).
    assert!(send(&mut h, &sack(&conn, b(4), &[])).is_empty());
    assert_eq!(h.stack.stats().tcp_ext.tcp_loss_probe_recovery, 0);
    let cwnd = h.stack.tcp.get(s).unwrap().win.cwnd;
    // New data, acknowledged beyond the probe: the loss is confirmed.
    h.stack.tcp_send(s, &[5u8; 100]).unwrap();
    assert_eq!(out(&mut h).len(), 1);
    let _ = h.advance(rtt);
    let _ = send(&mut h, &sack(&conn, b(4) + 100, &[]));
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_loss_probes, 1);
    assert_eq!(st.tcp_ext.tcp_loss_probe_recovery, 1);
    let sk = h.stack.tcp.get(s).unwrap();
    assert!(sk.win.cwnd < cwnd, "{} >= {cwnd}", sk.win.cwnd);
    assert_eq!(sk.win.cwnd, sk.win.ssthresh);
    assert_eq!(sk.ca_state, CaState::Open);
}

/// RFC 8985 §6.2 (`tcp_rack_detect_loss`, `tcp_rack_reo_timeout`): with one segment SACKed
/// above a hole, the hole is not lost until the RACK RTT plus the reordering window
/// (min_rtt/4 = 10 ms here) has passed since it was sent; the REO timer fires then (plus
/// Linux's 2 ms TCP_TIMEOUT_MIN), marks it lost and recovery retransmits it. Segments sent
/// after the SACKed one are not touched.
#[test]
fn rack_marks_lost_after_reordering_window_via_reo_timer() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, false);
    let rtt = Duration::from_millis(40);
    warm_rtt(&mut h, s, &mut conn, rtt, 12);
    {
        let sk = h.stack.tcp.get(s).unwrap();
        assert_eq!(sk.sb.min_rtt(), Some(rtt));
        assert!(sk.rtt.srtt.unwrap() > Duration::from_millis(10));
    }
    let mss = MSS_TS;
    let _data = queue(&mut h, s, 4, mss);
    let segs = out(&mut h);
    let b = |i: u32| segs[0].seq.wrapping_add(i * mss);
    let _ = h.advance(rtt);
    // Segment 1 is SACKed; segment 0 may just be reordered.
    assert!(send(&mut h, &sack(&conn, b(0), &[(b(1), b(2))])).is_empty());
    let t_sack = h.now;
    {
        let sk = h.stack.tcp.get(s).unwrap();
        assert_eq!(sk.rtx_kind, super::RtxKind::ReoTimeout);
        assert_eq!(sk.sb.lost_out.pkts, 0);
    }
    let fired = h.advance(Duration::from_millis(20));
    assert_eq!(fired.len(), 1, "{fired:#?}");
    let (t, f) = &fired[0];
    assert_eq!(t.saturating_since(t_sack), Duration::from_millis(12));
    assert_eq!(parse_tcp(f).unwrap().seq, b(0));
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_sack_recovery, 1);
    assert_eq!(st.tcp.retrans_segs, 1);
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.ca_state, CaState::Recovery);
    assert_eq!(sk.sb.lost_out.pkts, 1, "only segment 0");
}

/// RFC 5682 F-RTO, SACK-enhanced (Linux `tcp_frto` = 2, `tcp_process_loss`): after the
/// RTO retransmits the first segment, the first ACK lets new data out instead of more
/// retransmissions (step 2.b); the next ACK acknowledges a segment that was never
/// retransmitted, so the timeout was spurious: the window is restored (TCPSpuriousRTOs,
/// TCPLossUndo), the loss marks are cleared and nothing else is retransmitted.
#[test]
fn frto_proves_rto_spurious_and_undoes_it() {
    let mut h = setup_no_tlp();
    let (s, conn) = open_sack_no_ts(&mut h);
    let mss = MSS_PLAIN;
    let _data = queue(&mut h, s, 20, mss);
    let segs = out(&mut h);
    assert_eq!(segs.len(), 10);
    let b = |i: u32| segs[0].seq.wrapping_add(i * mss);
    let rto = h.advance(Duration::from_millis(300));
    assert_eq!(rto.len(), 1, "{rto:#?}");
    assert_eq!(parse_tcp(&rto[0].1).unwrap().seq, b(0));
    {
        let sk = h.stack.tcp.get(s).unwrap();
        assert_eq!(sk.ca_state, CaState::Loss);
        assert!(sk.sb.frto);
        assert_eq!(sk.sb.lost_out.pkts, 10);
    }
    // The ACK of the retransmission: new data goes, not retransmissions.
    let new = send(&mut h, &sack(&conn, b(1), &[]));
    assert!(!new.is_empty());
    assert!(
        new.iter().all(|o| o.seq.wrapping_sub(b(10)) < 1 << 30),
        "{new:#?}"
    );
    // The ACK of segment 1, sent once: the timeout was spurious.
    let _ = send(&mut h, &sack(&conn, b(2), &[]));
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_timeouts, 1);
    assert_eq!(st.tcp_ext.tcp_spurious_rtos, 1);
    assert_eq!(st.tcp_ext.tcp_loss_undo, 1);
    {
        let sk = h.stack.tcp.get(s).unwrap();
        assert_eq!(sk.ca_state, CaState::Open);
        assert_eq!(sk.sb.lost_out.pkts, 0);
        assert!(sk.win.cwnd >= 10 * mss, "{}", sk.win.cwnd);
        assert_eq!(sk.win.ssthresh, INFINITE_SSTHRESH);
    }
    // Everything else arrives; the only retransmission ever was the RTO's.
    for _ in 0..10 {
        let nxt = h.stack.tcp.get(s).unwrap().snd_nxt.0;
        let more = send(&mut h, &sack(&conn, nxt, &[]));
        assert!(
            more.iter().all(|o| o.seq.wrapping_sub(nxt) < 1 << 30),
            "{more:#?}"
        );
    }
    assert_eq!(h.stack.tcp_tx_queued(s), Ok(0));
    assert_eq!(h.stack.stats().tcp.retrans_segs, 1);
}

/// RFC 3522 Eifel detection (Linux `tcp_try_undo_loss` via `tcp_packet_delayed`): the ACK
/// after a timeout echoes the timestamp of the original transmission, older than the
/// retransmission: the original arrived, the timeout was spurious, and it is undone
/// (TCPLossUndo; not an F-RTO verdict, so no TCPSpuriousRTOs).
#[test]
fn eifel_timestamp_undoes_spurious_rto() {
    let mut h = setup_no_tlp();
    let (s, conn, _) = open_active(&mut h, false);
    let mss = MSS_TS;
    let _data = queue(&mut h, s, 4, mss);
    let segs = out(&mut h);
    let b = |i: u32| segs[0].seq.wrapping_add(i * mss);
    let orig_ts = segs[0].ts.unwrap().0;
    let rto = h.advance(Duration::from_millis(300));
    assert_eq!(rto.len(), 1);
    let rtx = parse_tcp(&rto[0].1).unwrap();
    assert_eq!(rtx.seq, b(0));
    assert!(rtx.ts.unwrap().0 > orig_ts);
    let cwnd_before = 10 * mss;
    let late = TcpSeg {
        ts: Some((6000, orig_ts)),
        ..sack(&conn, b(4), &[])
    };
    let _ = send(&mut h, &late);
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_loss_undo, 1);
    assert_eq!(st.tcp_ext.tcp_spurious_rtos, 0);
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.ca_state, CaState::Open);
    assert!(sk.win.cwnd >= cwnd_before, "{}", sk.win.cwnd);
    assert_eq!(sk.win.ssthresh, INFINITE_SSTHRESH);
}

/// A peer without SACK still recovers by NewReno (RFC 6582, Linux's Reno emulation of
/// `tcp_add_reno_sack`): duplicate ACKs count as SACKed segments, the third retransmits
/// (TCPRenoRecovery, never TCPSackRecovery), each partial ACK retransmits the next hole,
/// and the state holds until an ACK beyond the recovery point.
#[test]
fn non_sack_peer_recovers_by_newreno() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    let mss = MSS_PLAIN;
    let data = queue(&mut h, s, 8, mss);
    let segs = out(&mut h);
    assert_eq!(segs.len(), 8);
    let b = |i: u32| segs[0].seq.wrapping_add(i * mss);
    let _ = h.advance(Duration::from_millis(5));
    conn.our_nxt = b(1);
    assert!(send(&mut h, &conn.ack()).is_empty());
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.extend(send(&mut h, &conn.ack()));
    }
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].seq, b(1));
    assert_eq!(sent[0].payload, data[mss as usize..2 * mss as usize]);
    {
        let sk = h.stack.tcp.get(s).unwrap();
        assert_eq!(sk.ca_state, CaState::Recovery);
        assert_eq!(sk.sb.sacked_out.pkts, 3, "three duplicate ACKs");
    }
    // Partial ACK up to the second hole (segment 4).
    conn.our_nxt = b(4);
    let partial = send(&mut h, &conn.ack());
    assert_eq!(partial.len(), 1, "{partial:#?}");
    assert_eq!(partial[0].seq, b(4));
    conn.our_nxt = b(8);
    assert!(send(&mut h, &conn.ack()).is_empty());
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_reno_recovery, 1);
    assert_eq!(st.tcp_ext.tcp_sack_recovery, 0);
    assert_eq!(st.tcp.retrans_segs, 2);
    // snd_una == high_seq: a Reno sender holds Recovery until data beyond it is ACKed.
    assert_eq!(h.stack.tcp.get(s).unwrap().ca_state, CaState::Recovery);
    h.stack.tcp_send(s, &[1u8; 10]).unwrap();
    assert_eq!(out(&mut h).len(), 1);
    conn.our_nxt = b(8) + 10;
    assert!(send(&mut h, &conn.ack()).is_empty());
    assert_eq!(h.stack.tcp.get(s).unwrap().ca_state, CaState::Open);
    assert_eq!(h.stack.stats().tcp_ext.tcp_timeouts, 0);
}

/// RFC 8985 §6.2 / Linux `tcp_mark_skb_lost`: a retransmission is lost again when data sent
/// after it is SACKed and its RACK window has passed; TCPLostRetransmit counts it and the
/// segment is retransmitted once more.
#[test]
fn rack_detects_a_lost_retransmission() {
    let mut h = setup();
    let (s, conn, _) = open_active_rtt(&mut h, false, RTT);
    let mss = MSS_TS;
    h.stack.tcp_set_sndbuf(s, 1 << 20).unwrap();
    let data: Vec<u8> = (0..12 * mss as usize).map(|i| (i * 3) as u8).collect();
    assert_eq!(
        h.stack.tcp_send(s, &data[..10 * mss as usize]),
        Ok(10 * mss as usize)
    );
    let segs = out(&mut h);
    assert_eq!(segs.len(), 10);
    let b = |i: u32| segs[0].seq.wrapping_add(i * mss);
    let _ = h.advance(RTT);
    // 0 and 1 acknowledged, 3..5 SACKed: 2 is lost and retransmitted (t1).
    let r1 = send(&mut h, &sack(&conn, b(2), &[(b(3), b(6))]));
    assert_eq!(r1.len(), 1, "{r1:#?}");
    assert_eq!(r1[0].seq, b(2));
    let _ = h.advance(RTT);
    // 6..9 (sent before the retransmission) are SACKed: nothing new is known about it.
    let quiet = send(&mut h, &sack(&conn, b(2), &[(b(3), b(10))]));
    assert!(quiet.iter().all(|o| o.seq != b(2)), "{quiet:#?}");
    // New data goes out after the retransmission (t2)...
    assert_eq!(
        h.stack.tcp_send(s, &data[10 * mss as usize..]),
        Ok(2 * mss as usize)
    );
    let fresh: Vec<TcpOut> = quiet.into_iter().chain(out(&mut h)).collect();
    assert!(!fresh.is_empty());
    assert!(
        fresh.iter().all(|o| o.seq == b(10) || o.seq == b(11)),
        "{fresh:#?}"
    );
    let _ = h.advance(RTT);
    assert_eq!(h.stack.stats().tcp_ext.tcp_lost_retransmit, 0);
    // ... and is SACKed while the retransmission still is not: it was lost too.
    let r2 = send(&mut h, &sack(&conn, b(2), &[(b(3), b(11))]));
    assert_eq!(r2.len(), 1, "{r2:#?}");
    assert_eq!(r2[0].seq, b(2));
    assert_eq!(r2[0].payload, data[2 * mss as usize..3 * mss as usize]);
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_lost_retransmit, 1);
    assert_eq!(st.tcp.retrans_segs, 2);
    assert_eq!(st.tcp_ext.tcp_timeouts, 0);
}

/// Starts SACK recovery on a late segment 1 of 10 (timestamps on) and returns the
/// connection, segment base and the TSval segment 1 first went out with.
fn recovery_on_reordering(h: &mut Harness) -> (SocketHandle, Conn, u32, u32) {
    let (s, conn, _) = open_active_rtt(h, false, RTT);
    let mss = MSS_TS;
    let _data = queue(h, s, 10, mss);
    let segs = out(h);
    assert_eq!(segs.len(), 10);
    let base = segs[0].seq;
    let b = |i: u32| base.wrapping_add(i * mss);
    let _ = h.advance(RTT);
    assert!(send(h, &sack(&conn, b(1), &[])).is_empty());
    let rtx = send(h, &sack(&conn, b(1), &[(b(2), b(5))]));
    assert_eq!(rtx.len(), 1);
    assert_eq!(rtx[0].seq, b(1));
    assert!(rtx[0].ts.unwrap().0 > segs[1].ts.unwrap().0);
    assert_eq!(h.stack.tcp.get(s).unwrap().ca_state, CaState::Recovery);
    // The ACKs came within the probe timeout: recovery came from the SACKs alone.
    assert_eq!(h.stack.stats().tcp_ext.tcp_loss_probes, 0);
    (s, conn, base, segs[1].ts.unwrap().0)
}

/// RFC 3522 Eifel in recovery (Linux `tcp_try_undo_recovery`): the ACK that ends recovery
/// echoes the timestamp of segment 1's original transmission, so the retransmission was
/// not needed: the reduction is undone at the end of recovery (TCPFullUndo).
#[test]
fn eifel_full_undo_when_recovery_ends() {
    let mut h = setup();
    let (s, conn, base, orig_ts) = recovery_on_reordering(&mut h);
    let end = base.wrapping_add(10 * MSS_TS);
    let ack = TcpSeg {
        ts: Some((6000, orig_ts)),
        ..sack(&conn, end, &[])
    };
    let _ = send(&mut h, &ack);
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_full_undo, 1);
    assert_eq!(st.tcp_ext.tcp_partial_undo, 0);
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.ca_state, CaState::Open);
    assert_eq!(sk.win.ssthresh, INFINITE_SSTHRESH);
    assert!(sk.win.cwnd >= 11 * MSS_TS, "{}", sk.win.cwnd);
}

/// Linux `tcp_try_undo_partial`: a partial ACK (below the recovery point) for an original
/// transmission, with no retransmission left in flight, undoes the reduction at once
/// (TCPPartialUndo) and counts the reordering it reveals (TCPTSReorder).
#[test]
fn eifel_partial_undo_on_partial_ack() {
    let mut h = setup();
    let (s, conn, base, orig_ts) = recovery_on_reordering(&mut h);
    let ack = TcpSeg {
        ts: Some((6000, orig_ts)),
        ..sack(&conn, base.wrapping_add(5 * MSS_TS), &[])
    };
    let _ = send(&mut h, &ack);
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_partial_undo, 1);
    assert_eq!(st.tcp_ext.tcp_ts_reorder, 1);
    let sk = h.stack.tcp.get(s).unwrap();
    assert_ne!(sk.ca_state, CaState::Recovery);
    assert_eq!(sk.win.ssthresh, INFINITE_SSTHRESH);
}

/// Linux `tcp_retrans_try_collapse` (`tcp_retrans_collapse` = 1): three small segments
/// sent with TCP_NODELAY and lost go again as one 300-byte segment at the RTO; the
/// scoreboard then holds one record for them.
#[test]
fn small_segments_are_collapsed_on_retransmission() {
    let mut h = setup();
    let (s, _conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_nodelay(s, true).unwrap();
    let mut first = None;
    for i in 0..3u8 {
        h.stack.tcp_send(s, &[i; 100]).unwrap();
        let o = one(&mut h);
        assert_eq!(o.payload.len(), 100);
        first.get_or_insert(o.seq);
    }
    assert_eq!(h.stack.tcp.get(s).unwrap().sb.packets_out.pkts, 3);
    let rto = h.advance(Duration::from_millis(250));
    assert_eq!(rto.len(), 1, "{rto:#?}");
    let o = parse_tcp(&rto[0].1).unwrap();
    assert_eq!(o.seq, first.unwrap());
    let mut want = alloc::vec![0u8; 100];
    want.extend([1u8; 100]);
    want.extend([2u8; 100]);
    assert_eq!(o.payload, want);
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.sb.packets_out.pkts, 1);
    assert_eq!(
        sk.sb.lost_out,
        super::sack::Count {
            pkts: 1,
            bytes: 300
        }
    );
    assert_eq!(
        sk.sb.retrans_out,
        super::sack::Count {
            pkts: 1,
            bytes: 300
        }
    );
}

/// Linux `tcp_event_new_data_sent`: new data re-arms the RTO only when no packet was
/// outstanding before it (`prior_packets == 0`), not whenever the bytes in flight are zero.
/// A peer without SACK, three 100-byte segments out, two duplicate ACKs: Reno's emulation
/// counts each as a SACKed full-sized segment, so the bytes in flight come to zero while a
/// packet is still in flight. New data sent then leaves the RTO where it was, and the head
/// is retransmitted when its own timer runs out.
#[test]
fn new_data_keeps_the_rto_while_packets_are_outstanding() {
    let mut h = setup();
    let (s, conn, _) = open_active_rtt(&mut h, true, RTT);
    h.stack.tcp_set_nodelay(s, true).unwrap();
    for _ in 0..3 {
        h.stack.tcp_send(s, &[1u8; 100]).unwrap();
    }
    let segs = out(&mut h);
    assert_eq!(segs.len(), 3);
    let rto_at = h
        .stack
        .tcp
        .get(s)
        .unwrap()
        .timer(super::TimerKind::Rtx)
        .unwrap();
    let _ = h.advance(Duration::from_millis(20));
    for _ in 0..2 {
        assert!(send(&mut h, &conn.ack()).is_empty());
    }
    {
        let sk = h.stack.tcp.get(s).unwrap();
        assert_eq!(sk.sb.sacked_out.pkts, 2);
        assert_eq!(sk.sb.packets_in_flight(), 1);
        assert_eq!(sk.in_flight(), 0);
        assert_eq!(sk.timer(super::TimerKind::Rtx), Some(rto_at));
    }
    let _ = h.advance(Duration::from_millis(20));
    h.stack.tcp_send(s, &[2u8; 100]).unwrap();
    let new = one(&mut h);
    assert_eq!(new.seq, segs[2].seq.wrapping_add(100));
    assert_eq!(
        h.stack.tcp.get(s).unwrap().timer(super::TimerKind::Rtx),
        Some(rto_at)
    );
    let fired = h.advance_to(rto_at + Duration::from_millis(1));
    let rtx: Vec<_> = fired
        .iter()
        .filter_map(|(t, f)| parse_tcp(f).map(|o| (*t, o)))
        .collect();
    assert_eq!(rtx.len(), 1, "{rtx:#?}");
    assert_eq!(rtx[0].0, rto_at);
    assert_eq!(rtx[0].1.seq, segs[0].seq);
}

/// Linux 6.10+ `tcp_packet_delayed`: when no retransmission is on record for the episode
/// (`retrans_stamp` 0; in Linux, TSQ can hold a fast retransmit back after recovery began),
/// the ACK that fills the hole answers the original, and the recovery ends undone
/// (TCPFullUndo) even without timestamps to prove it. Linnet has no TSQ, so the test takes
/// the record of the retransmission away itself, after a recovery started by the script.
#[test]
fn no_retransmission_on_record_undoes_recovery() {
    let mut h = setup();
    let (s, conn, base, _) = recovery_on_reordering(&mut h);
    {
        let (idx, gen) = s.parts();
        let sk = h
            .stack
            .tcp
            .sock_mut(idx & !super::TCP_HANDLE_TAG, gen)
            .unwrap();
        assert!(sk.sb.undo_marker.is_some());
        sk.clear_retrans_stamp();
    }
    // The ACK ending recovery carries no timestamp: Eifel cannot tell.
    let end = base.wrapping_add(10 * MSS_TS);
    let _ = send(&mut h, &sack(&conn, end, &[]));
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_full_undo, 1);
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.ca_state, CaState::Open);
    assert_eq!(sk.win.ssthresh, INFINITE_SSTHRESH);
}

/// `tcp_packet_delayed`'s exception for a non-SACK sender (Linux 6.16,
/// `tcp_is_non_sack_preventing_reopen` clears `retrans_stamp` at `high_seq` although the
/// retransmission went out): the ACK above `high_seq` after the held state does not undo.
#[test]
fn non_sack_held_state_does_not_undo_without_a_stamp() {
    let mut h = setup_no_tlp();
    let (s, conn, _) = open_active_rtt(&mut h, true, RTT);
    let mss = MSS_PLAIN;
    let _data = queue(&mut h, s, 6, mss);
    let segs = out(&mut h);
    assert_eq!(segs.len(), 6);
    let b = |i: u32| segs[0].seq.wrapping_add(i * mss);
    let _ = h.advance(RTT);
    // Segment 0 lost: three duplicate ACKs start NewReno recovery and resend it.
    let mut sent = Vec::new();
    for _ in 0..3 {
        sent.extend(send(&mut h, &conn.ack()));
    }
    assert!(sent.iter().any(|o| o.seq == b(0)), "{sent:#?}");
    assert_eq!(h.stack.tcp.get(s).unwrap().ca_state, CaState::Recovery);
    let high = h.stack.tcp.get(s).unwrap().high_seq.0;
    // The retransmission fills the hole: the ACK reaches high_seq exactly; Reno holds.
    let _ = send(
        &mut h,
        &TcpSeg {
            ack: Some(high),
            ..conn.ack()
        },
    );
    {
        let sk = h.stack.tcp.get(s).unwrap();
        assert_eq!(sk.ca_state, CaState::Recovery);
        assert_eq!(sk.sb.first_rtx_stamp, None);
    }
    // More data, and its ACK above high_seq: recovery ends without an undo.
    h.stack.tcp_send(s, &[3u8; 100]).unwrap();
    let more = out(&mut h);
    assert_eq!(more.len(), 1);
    let _ = send(
        &mut h,
        &TcpSeg {
            ack: Some(high.wrapping_add(100)),
            ..conn.ack()
        },
    );
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_full_undo, 0);
    assert_eq!(st.tcp_ext.tcp_loss_undo, 0);
    assert_ne!(h.stack.tcp.get(s).unwrap().win.ssthresh, INFINITE_SSTHRESH);
}

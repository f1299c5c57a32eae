//! Rule tests: SACK as a sender (the scoreboard, `tcp_sacktag_write_queue`, retransmission
//! of the holes, reneging) and D-SACK as a receiver (RFC 2883 blocks on the wire).

use alloc::vec;
use alloc::vec::Vec;

use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;

/// Full-sized payload with the SYN-ACK's MSS 1460 and timestamps on.
const MSS: u32 = 1448;

/// The path's round trip: the handshake measures it, and the peer's ACKs come back after it.
const RTT: Duration = Duration::from_millis(5);

/// Sends `n` full segments of a known pattern and returns them as the peer saw them, one
/// round trip (`RTT`) before its ACKs come back.
fn send_segments(h: &mut Harness, s: crate::SocketHandle, n: usize) -> (Vec<u8>, Vec<TcpOut>) {
    let data: Vec<u8> = (0..n * MSS as usize).map(|i| (i * 7) as u8).collect();
    assert_eq!(h.stack.tcp_send(s, &data), Ok(data.len()));
    let segs = out(h);
    assert_eq!(segs.len(), n, "{segs:#?}");
    assert!(segs.iter().all(|o| o.payload.len() == MSS as usize));
    // One round trip: within the loss probe's 2·SRTT + 2 ms, so nothing goes out.
    assert!(h.advance(RTT).is_empty());
    (data, segs)
}

/// The peer's ACK at `ack` with SACK `blocks`.
fn sack(conn: &Conn, ack: u32, blocks: &[(u32, u32)]) -> TcpSeg {
    TcpSeg {
        ack: Some(ack),
        sacks: blocks.to_vec(),
        ..conn.ack()
    }
}

/// RFC 6675 §5 / Linux `tcp_sacktag_write_queue` + RACK: one segment missing below three
/// SACKed ones is retransmitted, exactly once, and nothing else is (TCPSackRecovery,
/// TCPFastRetrans, RetransSegs); later SACKs and the final ACK send nothing more, and no
/// timeout follows.
#[test]
fn one_sack_hole_is_retransmitted_exactly_once() {
    let mut h = setup();
    let (s, conn, _) = open_active_rtt(&mut h, false, RTT);
    let (data, segs) = send_segments(&mut h, s, 10);
    let b = |i: usize| segs[0].seq.wrapping_add(i as u32 * MSS);
    // Segments 0 and 1 arrive; 2 is lost; 3..9 arrive and are SACKed one by one.
    let mut sent = send(&mut h, &sack(&conn, b(2), &[]));
    for k in 4..=10 {
        sent.extend(send(&mut h, &sack(&conn, b(2), &[(b(3), b(k))])));
    }
    assert_eq!(sent.len(), 1, "{sent:#?}");
    assert_eq!(sent[0].seq, b(2));
    assert_eq!(sent[0].payload, data[2 * MSS as usize..3 * MSS as usize]);
    let st = h.stack.stats();
    assert_eq!(st.tcp.retrans_segs, 1);
    assert_eq!(st.tcp_ext.tcp_sack_recovery, 1);
    assert_eq!(st.tcp_ext.tcp_reno_recovery, 0);
    assert_eq!(st.tcp_ext.tcp_fast_retrans, 1);
    {
        let sk = h.stack.tcp.get(s).unwrap();
        assert_eq!(sk.sb.sacked_out.pkts, 7);
        assert_eq!(sk.sb.retrans_out.pkts, 1);
        assert_eq!(sk.sb.lost_out.pkts, 1);
        assert_eq!(sk.sb.packets_out.pkts, 8);
        // pipe = packets_out - (sacked_out + lost_out) + retrans_out = 8 - 8 + 1.
        assert_eq!(sk.sb.packets_in_flight(), 1);
    }
    // The retransmission fills the hole: everything is acknowledged.
    assert!(send(&mut h, &sack(&conn, b(10), &[])).is_empty());
    assert_eq!(h.stack.tcp_tx_queued(s), Ok(0));
    assert!(h.advance(Duration::from_secs(3)).is_empty());
    let st = h.stack.stats();
    assert_eq!(st.tcp.retrans_segs, 1);
    assert_eq!(st.tcp_ext.tcp_timeouts, 0);
    assert_eq!(st.tcp_ext.tcp_sack_discard, 0);
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.sb.packets_out.pkts, 0);
    assert_eq!(sk.ca_state, super::CaState::Open);
}

/// Several holes (segments 2, 5 and 7 of 10): once three segments are SACKed above them,
/// RACK marks every hole sent before the latest SACKed segment lost, and each is
/// retransmitted once, lowest first, within what PRR allows.
#[test]
fn several_sack_holes_each_retransmitted_once() {
    let mut h = setup();
    let (s, conn, _) = open_active_rtt(&mut h, false, RTT);
    let (data, segs) = send_segments(&mut h, s, 10);
    let b = |i: usize| segs[0].seq.wrapping_add(i as u32 * MSS);
    let mut sent = send(&mut h, &sack(&conn, b(2), &[]));
    // SACKs as the receiver reports them: newest block first (RFC 2018 §4).
    for blocks in [
        vec![(b(3), b(4))],
        vec![(b(3), b(5))],
        vec![(b(6), b(7)), (b(3), b(5))],
        vec![(b(8), b(9)), (b(6), b(7)), (b(3), b(5))],
        vec![(b(8), b(10)), (b(6), b(7)), (b(3), b(5))],
    ] {
        sent.extend(send(&mut h, &sack(&conn, b(2), &blocks)));
    }
    let mut seqs: Vec<u32> = sent.iter().map(|o| o.seq).collect();
    assert_eq!(seqs, [b(2), b(5), b(7)], "{sent:#?}");
    for o in &sent {
        let off = o.seq.wrapping_sub(b(0)) as usize;
        assert_eq!(o.payload, data[off..off + MSS as usize]);
    }
    // The holes fill in turn; nothing is sent twice.
    for ack in [b(5), b(7), b(10)] {
        let more = send(&mut h, &sack(&conn, ack, &[]));
        seqs.extend(more.iter().map(|o| o.seq));
    }
    assert_eq!(seqs.len(), 3, "{seqs:?}");
    let st = h.stack.stats();
    assert_eq!(st.tcp.retrans_segs, 3);
    assert_eq!(st.tcp_ext.tcp_sack_recovery, 1);
    assert_eq!(st.tcp_ext.tcp_fast_retrans, 3);
    assert_eq!(h.stack.tcp_tx_queued(s), Ok(0));
}

/// `tcp_is_sackblock_valid`: blocks beyond SND.NXT, reversed, or below SND.UNA (not a
/// D-SACK) are ignored and counted (TCPSACKDiscard); they mark nothing.
#[test]
fn invalid_sack_blocks_are_discarded_and_counted() {
    let mut h = setup();
    let (s, conn, _) = open_active_rtt(&mut h, false, RTT);
    let (_, segs) = send_segments(&mut h, s, 4);
    let b = |i: usize| segs[0].seq.wrapping_add(i as u32 * MSS);
    let ack = b(1);
    assert!(send(&mut h, &sack(&conn, ack, &[])).is_empty());
    for bad in [(b(3), b(6)), (b(3), b(2)), (b(3), b(3))] {
        assert!(send(&mut h, &sack(&conn, ack, &[bad])).is_empty());
    }
    assert_eq!(h.stack.stats().tcp_ext.tcp_sack_discard, 3);
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.sb.sacked_out.pkts, 0);
    assert_eq!(sk.sb.lost_out.pkts, 0);
}

/// Linux `tcp_check_sack_reneging` + `tcp_timeout_mark_lost`: an ACK that stops at a
/// segment the peer had SACKed means the receiver dropped it. The sender waits
/// max(SRTT/2, 10 ms), then behaves as after an RTO: every SACK mark is cleared
/// (TCPSACKReneging), the head is retransmitted (TCPTimeouts) and the Loss state begins.
#[test]
fn sack_reneging_falls_back_to_rto_behaviour() {
    let mut h = setup();
    let (s, conn, _) = open_active_rtt(&mut h, false, RTT);
    let (_, segs) = send_segments(&mut h, s, 6);
    let b = |i: usize| segs[0].seq.wrapping_add(i as u32 * MSS);
    // Segments 2 and 3 are SACKed (segment 0 and 1 still missing at the receiver)...
    assert!(send(&mut h, &sack(&conn, b(0), &[(b(2), b(4))])).is_empty());
    assert_eq!(h.stack.tcp.get(s).unwrap().sb.sacked_out.pkts, 2);
    // ... then the receiver acknowledges 0 and 1 but reports no SACK: it reneged.
    assert!(send(&mut h, &sack(&conn, b(2), &[])).is_empty());
    let t0 = h.now;
    let rtx = h.advance(Duration::from_millis(11));
    assert_eq!(rtx.len(), 1, "{rtx:#?}");
    let (t, f) = &rtx[0];
    assert_eq!(t.saturating_since(t0), Duration::from_millis(10));
    let o = parse_tcp(f).unwrap();
    assert_eq!(o.seq, b(2), "the reneged segment goes again");
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_sack_reneging, 1);
    assert_eq!(st.tcp_ext.tcp_timeouts, 1);
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.ca_state, super::CaState::Loss);
    assert_eq!(sk.sb.sacked_out.pkts, 0);
    assert!(sk
        .sb
        .q
        .iter()
        .all(|e| e.sacked & super::sack::TCPCB_SACKED_ACKED == 0));
    assert_eq!(sk.sb.lost_out.pkts, 4);
}

/// RFC 2883 §4.1.1 (`tcp_data_queue` out_of_window + `tcp_dsack_set`): a segment that
/// repeats data already acknowledged draws an immediate ACK whose first SACK block is the
/// duplicate range (TCPDSACKOldSent); the D-SACK goes out once.
#[test]
fn old_duplicate_is_reported_as_dsack() {
    let mut h = setup();
    let (_s, mut conn, _) = open_active(&mut h, false);
    let start = conn.peer_nxt;
    let seg = conn.data(&[1u8; 100]);
    let _ = send(&mut h, &seg);
    let _ = h.advance(Duration::from_millis(300));
    let acks = send(&mut h, &seg);
    assert_eq!(acks.len(), 1, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(start + 100));
    assert_eq!(acks[0].sacks, [(start, start + 100)]);
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_dsack_old_sent, 1);
    assert_eq!(st.tcp_ext.tcp_dsack_ofo_sent, 0);
    // The next ACK carries no D-SACK.
    let next = send(&mut h, &conn.data(&[2u8; 10]));
    let _ = h.advance(Duration::from_millis(300));
    let later: Vec<TcpOut> = next.into_iter().chain(out(&mut h)).collect();
    assert!(later.iter().all(|o| o.sacks.is_empty()), "{later:#?}");
}

/// RFC 2883 §4.2 (`tcp_data_queue_ofo`): an out-of-order segment received twice is
/// reported as a D-SACK in the first block, followed by the SACK block that contains it
/// (TCPDSACKOfoSent).
#[test]
fn out_of_order_duplicate_is_reported_as_dsack_then_its_block() {
    let mut h = setup();
    let (_s, conn, _) = open_active(&mut h, false);
    let base = conn.peer_nxt;
    // Bytes [base, base+100) are missing; [base+100, base+300) arrives twice.
    let ahead = TcpSeg {
        seq: base + 100,
        psh: true,
        payload: alloc::vec![3u8; 200],
        ..conn.ack()
    };
    let first = send(&mut h, &ahead);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0].sacks, [(base + 100, base + 300)]);
    let again = send(&mut h, &ahead);
    assert_eq!(again.len(), 1, "{again:#?}");
    assert_eq!(again[0].ack, Some(base));
    assert_eq!(
        again[0].sacks,
        [(base + 100, base + 300), (base + 100, base + 300)]
    );
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_dsack_ofo_sent, 1);
    assert_eq!(st.tcp_ext.tcp_dsack_old_sent, 0);
    // A partial duplicate reports only the repeated part.
    let overlap = TcpSeg {
        seq: base + 250,
        psh: true,
        payload: alloc::vec![3u8; 100],
        ..conn.ack()
    };
    let third = send(&mut h, &overlap);
    assert_eq!(third.len(), 1);
    assert_eq!(
        third[0].sacks,
        [(base + 250, base + 300), (base + 100, base + 350)]
    );
}

/// `tcp_dsack_set` needs SACK: a connection without it never sends D-SACK blocks.
#[test]
fn no_dsack_without_sack() {
    let mut h = setup();
    let (_s, mut conn, _) = open_active(&mut h, true);
    let seg = conn.data(&[1u8; 100]);
    let _ = send(&mut h, &seg);
    let acks = send(&mut h, &seg);
    assert_eq!(acks.len(), 1);
    assert!(acks[0].sacks.is_empty());
    assert_eq!(h.stack.stats().tcp_ext.tcp_dsack_old_sent, 0);
}

/// The scoreboard's counters always agree with its records (`tcp_verify_left_out` and
/// more): checked after every ACK of a seeded random run where the peer sends valid,
/// stale, reversed, wrapped and out-of-window SACK and D-SACK blocks, ACKs move forward
/// and backward, and time passes so that RACK, TLP and the RTO all fire. Nothing panics.
#[test]
fn scoreboard_counters_stay_consistent_under_random_sacks() {
    use super::sack::{TCPCB_LOST, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS};
    let mut rng = 0x2545_f491_4f6c_dd1du64;
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, false);
    h.stack.tcp_set_sndbuf(s, 1 << 18).unwrap();
    let data: Vec<u8> = (0..200_000usize).map(|i| i as u8).collect();
    let mut queued = 0;
    for step in 0..3000 {
        if queued < data.len() {
            let n = h.stack.tcp_send(s, &data[queued..]).unwrap_or(0);
            queued += n;
        }
        let _ = out(&mut h);
        let sk = h.stack.tcp.get(s).unwrap();
        let (una, nxt) = (sk.snd_una.0, sk.snd_nxt.0);
        let span = nxt.wrapping_sub(una).max(1);
        let pick = |r: u64| {
            una.wrapping_add((r % u64::from(span + 2 * MSS)) as u32)
                .wrapping_sub(MSS)
        };
        let mut blocks = Vec::new();
        for _ in 0..(next() % 5) {
            let a = pick(next());
            let b = if next() % 8 == 0 {
                pick(next())
            } else {
                a.wrapping_add((next() % u64::from(4 * MSS)) as u32)
            };
            blocks.push((a, b));
        }
        let ack = match next() % 10 {
            0 => una.wrapping_sub((next() % 5000) as u32),
            1..=6 => una,
            _ => una.wrapping_add((next() % u64::from(span + 1)) as u32),
        };
        let _ = send(&mut h, &sack(&conn, ack, &blocks));
        if next() % 7 == 0 {
            let _ = h.advance(Duration::from_millis(next() % 400));
        }
        let sk = h.stack.tcp.get(s).unwrap();
        let b = &sk.sb;
        let count = |bit: u8| b.q.iter().filter(|e| e.sacked & bit != 0).count() as u32;
        assert_eq!(b.packets_out.pkts, b.q.len() as u32, "step {step}");
        assert_eq!(b.sacked_out.pkts, count(TCPCB_SACKED_ACKED), "step {step}");
        assert_eq!(b.lost_out.pkts, count(TCPCB_LOST), "step {step}");
        assert_eq!(
            b.retrans_out.pkts,
            count(TCPCB_SACKED_RETRANS),
            "step {step}"
        );
        let mut at = sk.snd_una;
        for e in &b.q {
            assert_eq!(e.seq, at, "step {step}: the queue is contiguous");
            at = e.end;
        }
        assert_eq!(at, sk.snd_nxt, "step {step}");
        if sk.state != crate::TcpState::Established {
            break;
        }
    }
    // The run went through every path it is meant to.
    let x = h.stack.stats().tcp_ext;
    assert!(x.tcp_sack_discard > 0 && x.tcp_dsack_recv > 0, "{x:?}");
    assert!(x.tcp_sack_recovery > 0 && x.tcp_timeouts > 0, "{x:?}");
    assert!(
        x.tcp_lost_retransmit > 0 && x.tcp_sack_reneging > 0,
        "{x:?}"
    );
}

/// The cost of loss recovery per ACK follows what the ACK brings, not the window
/// (`recv_sack_cache` and `tcp_sacktag_skip` in the SACK pass, the time-sorted list RACK
/// walks, `retransmit_skb_hint`): 10,000 segments in flight, the first one lost, and 1,000
/// ACKs each growing the one SACK block by 10 segments. The records the three walks visit
/// (the scoreboard's diagnostic counter) stay within a small multiple of the segments plus
/// the ACKs (12,001 as it stands); walking the block or the queue on every ACK would visit
/// millions.
#[test]
fn large_window_recovery_work_is_linear_in_the_acks() {
    use core::net::SocketAddrV4;
    const MSS_PLAIN: u32 = 1460;
    const N: u32 = 10_000;
    const ACKS: u32 = 1_000;
    let cfg = crate::StackConfig {
        wmem_max: 64 << 20,
        // The whole flight waits for the (test) driver at once.
        tx_queue_len: 2 * N as usize,
        ..crate::StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 7).with_static_peer();
    let s = h.stack.tcp_socket().unwrap();
    assert_eq!(
        h.stack
            .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT)),
        Err(crate::Errno::EINPROGRESS)
    );
    let syn = one(&mut h);
    let mut conn = Conn {
        our_port: syn.sport,
        peer_port: PEER_PORT,
        our_nxt: syn.seq.wrapping_add(1),
        peer_nxt: PEER_ISN,
        window: 65_535,
    };
    // SACK, no timestamps, a window of 64 MiB (65535 << 10).
    let synack = TcpSeg {
        syn: true,
        mss: Some(MSS_PLAIN as u16),
        sack_perm: true,
        wscale: Some(10),
        ..conn.ack()
    };
    assert!(h.advance(RTT).is_empty());
    assert_eq!(send(&mut h, &synack).len(), 1);
    conn.peer_nxt = PEER_ISN + 1;
    h.stack.tcp_set_congestion(s, "reno").unwrap();
    h.stack.tcp_set_sndbuf(s, 32 << 20).unwrap();
    // Slow start from IW10 doubles per round: after 10 rounds (10,230 segments) cwnd is
    // 10,240 segments, and the next flight is the 10,000 left.
    let growth: u32 = (0..10).map(|r| 10u32 << r).sum();
    let total = (growth + N) as usize * MSS_PLAIN as usize;
    let data: Vec<u8> = (0..total).map(|i| (i * 11) as u8).collect();
    assert_eq!(h.stack.tcp_send(s, &data), Ok(total));
    let mut flight = out(&mut h);
    for round in 0..10 {
        assert_eq!(flight.len(), 10 << round, "round {round}");
        assert!(h.advance(RTT).is_empty());
        let last = flight.last().unwrap();
        conn.our_nxt = last.seq.wrapping_add(last.payload.len() as u32);
        flight = send(&mut h, &conn.ack());
    }
    assert_eq!(flight.len(), N as usize);
    let base = flight[0].seq;
    let b = |i: u32| base.wrapping_add(i * MSS_PLAIN);
    assert!(h.advance(RTT).is_empty());
    let before = h.stack.tcp.get(s).unwrap().sb.visited;
    // Segment 0 is lost; the rest arrive, ten per ACK.
    let mut sent = Vec::new();
    for k in 1..=ACKS {
        let end = b(1 + k * (N - 1) / ACKS);
        sent.extend(send(&mut h, &sack(&conn, b(0), &[(b(1), end)])));
        let _ = h.advance(Duration::from_micros(2));
    }
    let visited = h.stack.tcp.get(s).unwrap().sb.visited - before;
    // The hole went out once, and nothing else did.
    assert_eq!(
        sent.len(),
        1,
        "{:?}",
        sent.iter().map(|o| o.seq).collect::<Vec<_>>()
    );
    assert_eq!(sent[0].seq, b(0));
    {
        let sk = h.stack.tcp.get(s).unwrap();
        assert_eq!(sk.sb.sacked_out.pkts, N - 1);
        assert_eq!(sk.sb.lost_out.pkts, 1);
        assert_eq!(sk.sb.retrans_out.pkts, 1);
    }
    // Each record is tagged once (N), plus per ACK a record at the block's edge, the RACK
    // list's first entry and the retransmission walk's stop: about N + 3 * ACKS.
    assert!(
        visited <= u64::from(2 * N + 4 * ACKS),
        "visited {visited} records for {ACKS} ACKs over {N} segments"
    );
    // The retransmission fills the hole.
    assert!(send(&mut h, &sack(&conn, b(N), &[])).is_empty());
    assert_eq!(h.stack.tcp_tx_queued(s), Ok(0));
    let st = h.stack.stats();
    assert_eq!(st.tcp.retrans_segs, 1);
    assert_eq!(st.tcp_ext.tcp_sack_recovery, 1);
}

/// A peer sending D-SACK after D-SACK, each as wide as the largest window (1 GiB with
/// window scale 14) over a 48-byte MSS, counts about 22 million duplicate segments each:
/// `dsack_dups` saturates instead of overflowing (Linux's u32 wraps), none of it counts
/// as a D-SACK for undo (more duplicates than retransmissions), and the connection goes
/// on. With plain addition this panics (overflow checks are on in tests).
#[test]
fn dsack_dups_saturate_under_a_flood_of_wide_dsacks() {
    use core::net::SocketAddrV4;
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    assert_eq!(
        h.stack
            .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT)),
        Err(crate::Errno::EINPROGRESS)
    );
    let syn = one(&mut h);
    let mut conn = Conn {
        our_port: syn.sport,
        peer_port: PEER_PORT,
        our_nxt: syn.seq.wrapping_add(1),
        peer_nxt: PEER_ISN,
        window: 65_535,
    };
    let synack = TcpSeg {
        syn: true,
        mss: Some(48),
        sack_perm: true,
        wscale: Some(14),
        ..conn.ack()
    };
    assert_eq!(send(&mut h, &synack).len(), 1);
    conn.peer_nxt = PEER_ISN + 1;
    // The scaled window (65535 << 14) becomes the largest seen.
    assert!(send(&mut h, &conn.ack()).is_empty());
    let (max_window, mss) = {
        let sk = h.stack.tcp.get(s).unwrap();
        (sk.max_window, sk.mss)
    };
    assert_eq!(max_window, 65_535 << 14);
    let per = max_window.div_ceil(mss);
    let una = conn.our_nxt;
    let dsack = sack(&conn, una, &[(una.wrapping_sub(max_window), una)]);
    for _ in 0..=u32::MAX / per + 1 {
        assert!(send(&mut h, &dsack).is_empty());
    }
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_dsack_recv, u64::from(u32::MAX / per + 2));
    assert_eq!(st.tcp_ext.tcp_dsack_undo, 0);
    let sk = h.stack.tcp.get(s).unwrap();
    assert_eq!(sk.sb.dsack_dups, u32::MAX);
    assert_eq!(h.stack.tcp_state(s), Ok(crate::TcpState::Established));
    // Data still flows.
    h.stack.tcp_send(s, b"still here").unwrap();
    assert_eq!(one(&mut h).payload, b"still here");
}

//! Rule tests: the receive batch (`gro`): one ACK for a run of in-order segments as after
//! Linux's GRO, while duplicate ACKs with SACK blocks, PSH boundaries and the delayed-ACK
//! timer keep their per-segment behaviour.

use alloc::vec::Vec;

use super::gro::GRO_MAX_HELD;
use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;

/// Payload of a full segment when timestamps are on (MSS 1460 less 12 option bytes).
const FULL: usize = 1448;

/// The peer's data segment without PSH (a segment in the middle of a burst), with the
/// timestamp pair `ts` if any.
fn mid(conn: &mut Conn, payload: &[u8], ts: Option<(u32, u32)>) -> TcpSeg {
    TcpSeg {
        psh: false,
        ts,
        ..conn.data(payload)
    }
}

/// `n` distinct full-segment payloads.
fn payloads(n: usize, len: usize) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| (0..len).map(|j| (i * 31 + j) as u8).collect())
        .collect()
}

/// Feeds `segs` as one receive batch and returns what the stack sent.
fn batch(h: &mut Harness, segs: &[TcpSeg]) -> Vec<TcpOut> {
    h.stack.rx_batch_begin();
    for s in segs {
        h.receive(&tcp_frame(s));
    }
    h.stack.rx_batch_end();
    out(h)
}

/// A connection with timestamps and SACK; returns the handle, the peer's view and the
/// timestamp pair the peer's segments carry.
fn open_ts(h: &mut Harness) -> (crate::SocketHandle, Conn, (u32, u32)) {
    let (s, conn, syn) = open_active(h, false);
    let ts = (5001, syn.ts.map_or(0, |t| t.0));
    (s, conn, ts)
}

/// GRO (`tcp_gro_receive`) merges consecutive in-order full segments of one flow with equal
/// ACK number and options into one, and `__tcp_ack_snd_check` runs once for it: a batch of
/// eight segments draws one ACK that acknowledges all of them, even in quick-ACK mode,
/// where the same segments outside a batch draw one ACK each. The data arrives intact.
#[test]
fn batch_of_in_order_full_segments_is_acked_once() {
    let mut h = setup();
    let (s, mut conn, ts) = open_ts(&mut h);
    let data = payloads(8, FULL);
    let segs: Vec<TcpSeg> = data.iter().map(|p| mid(&mut conn, p, Some(ts))).collect();
    let acks = batch(&mut h, &segs);
    assert_eq!(acks.len(), 1, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(conn.peer_nxt));
    assert_eq!(acks[0].flag_str(), ".");
    assert!(acks[0].sacks.is_empty());
    let got = read_all(&mut h, s);
    assert_eq!(got, data.concat());

    // The same kind of segments one by one, no batch: still in quick-ACK mode, one ACK each.
    let more = payloads(4, FULL);
    for p in &more {
        let seg = mid(&mut conn, p, Some(ts));
        let acks = send(&mut h, &seg);
        assert_eq!(acks.len(), 1, "{acks:#?}");
        assert_eq!(acks[0].ack, Some(conn.peer_nxt));
    }
    assert_eq!(read_all(&mut h, s), more.concat());
}

/// RFC 5681 §4.2 ("a TCP receiver SHOULD send an immediate duplicate ACK when an
/// out-of-order segment arrives") and RFC 2018: a segment after a hole does not join the
/// run; the run is acknowledged, then every out-of-order segment draws its own duplicate
/// ACK with its SACK block at once, batch or not. The segment that fills the hole is
/// acknowledged at once too, and the data comes out in order.
#[test]
fn out_of_order_segment_in_batch_still_draws_dup_ack_with_sack() {
    let mut h = setup();
    let (s, mut conn, ts) = open_ts(&mut h);
    let data = payloads(5, FULL);
    let start = conn.peer_nxt;
    let segs: Vec<TcpSeg> = data.iter().map(|p| mid(&mut conn, p, Some(ts))).collect();
    let at = |i: usize| start.wrapping_add((i * FULL) as u32);
    // 0, 1, then 3 and 4: segment 2 is missing.
    let acks = batch(
        &mut h,
        &[
            segs[0].clone(),
            segs[1].clone(),
            segs[3].clone(),
            segs[4].clone(),
        ],
    );
    assert_eq!(acks.len(), 3, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(at(2)));
    assert!(acks[0].sacks.is_empty());
    assert_eq!(acks[1].ack, Some(at(2)));
    assert_eq!(acks[1].sacks, [(at(3), at(4))]);
    assert_eq!(acks[2].ack, Some(at(2)));
    assert_eq!(acks[2].sacks, [(at(3), at(5))]);
    assert_eq!(h.stack.stats().tcp_ext.tcp_ofo_queue, 2);
    // The hole filled, inside a batch: acknowledged at once, everything.
    let acks = batch(&mut h, &[segs[2].clone()]);
    assert_eq!(acks.len(), 1, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(at(5)));
    assert!(acks[0].sacks.is_empty());
    assert_eq!(read_all(&mut h, s), data.concat());
}

/// A duplicate (already received) segment inside a batch draws its D-SACK (RFC 2883) at
/// once; it is never held.
#[test]
fn duplicate_segment_in_batch_draws_dsack_at_once() {
    let mut h = setup();
    let (_s, mut conn, ts) = open_ts(&mut h);
    let data = payloads(3, FULL);
    let start = conn.peer_nxt;
    let segs: Vec<TcpSeg> = data.iter().map(|p| mid(&mut conn, p, Some(ts))).collect();
    let acks = batch(&mut h, &[segs[0].clone(), segs[1].clone(), segs[0].clone()]);
    // The run (0, 1) is acknowledged when the duplicate breaks it, then the D-SACK.
    assert_eq!(acks.len(), 2, "{acks:#?}");
    let end1 = start.wrapping_add(2 * FULL as u32);
    assert_eq!(acks[0].ack, Some(end1));
    assert!(acks[0].sacks.is_empty());
    assert_eq!(acks[1].ack, Some(end1));
    assert_eq!(
        acks[1].sacks,
        [(start, start.wrapping_add(FULL as u32))],
        "D-SACK"
    );
}

/// `tcp_gro_receive` flushes on PSH: the segment with PSH ends the merged segment, so the
/// run up to it is acknowledged, and the segments after it form a new run acknowledged at
/// the end of the batch.
#[test]
fn psh_ends_the_run() {
    let mut h = setup();
    let (s, mut conn, ts) = open_ts(&mut h);
    let data = payloads(5, FULL);
    let mut segs: Vec<TcpSeg> = data.iter().map(|p| mid(&mut conn, p, Some(ts))).collect();
    segs[2].psh = true;
    let start = segs[0].seq;
    let acks = batch(&mut h, &segs);
    assert_eq!(acks.len(), 2, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(start.wrapping_add(3 * FULL as u32)));
    assert_eq!(acks[1].ack, Some(conn.peer_nxt));
    assert_eq!(read_all(&mut h, s), data.concat());
}

/// A segment with another timestamp (GRO compares the option bytes) or ACK number does not
/// join the run: the run so far is acknowledged first.
#[test]
fn changed_timestamp_ends_the_run() {
    let mut h = setup();
    let (_s, mut conn, ts) = open_ts(&mut h);
    let data = payloads(4, FULL);
    let mut segs: Vec<TcpSeg> = data.iter().map(|p| mid(&mut conn, p, Some(ts))).collect();
    segs[2].ts = Some((ts.0 + 1, ts.1));
    segs[3].ts = Some((ts.0 + 1, ts.1));
    let start = segs[0].seq;
    let acks = batch(&mut h, &segs);
    assert_eq!(acks.len(), 2, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(start.wrapping_add(2 * FULL as u32)));
    assert_eq!(acks[1].ack, Some(conn.peer_nxt));
}

/// Out of quick-ACK mode, the decision at the end of the run is Linux's: one full segment
/// alone arms the delayed-ACK timer (40 ms, `TCP_ATO_MIN`) instead of an ACK; a second
/// one is acknowledged at once (`__tcp_ack_snd_check`'s "more than one full segment").
#[test]
fn after_quick_acks_a_run_of_one_segment_waits_for_the_delayed_ack() {
    let mut h = setup();
    let (s, mut conn, ts) = open_ts(&mut h);
    // Use up the quick ACKs (16) with small segments, one by one.
    for i in 0..16u8 {
        let seg = TcpSeg {
            ts: Some(ts),
            ..conn.data(&[i; 10])
        };
        assert_eq!(send(&mut h, &seg).len(), 1);
    }
    let _ = read_all(&mut h, s);
    let one = payloads(1, FULL);
    let acks = batch(&mut h, &[mid(&mut conn, &one[0], Some(ts))]);
    assert!(acks.is_empty(), "{acks:#?}");
    assert!(h.advance(Duration::from_millis(39)).is_empty());
    let later = h.advance(Duration::from_millis(2));
    assert_eq!(later.len(), 1);
    assert_eq!(parse_tcp(&later[0].1).unwrap().ack, Some(conn.peer_nxt));
    assert_eq!(h.stack.stats().tcp_ext.delayed_acks, 1);
    let _ = read_all(&mut h, s);
    // One full segment waits (the application reads it); the second, in the next batch,
    // makes more than one full segment unacknowledged: ACKed at the end of its batch.
    let two = payloads(2, FULL);
    assert!(batch(&mut h, &[mid(&mut conn, &two[0], Some(ts))]).is_empty());
    assert_eq!(read_all(&mut h, s), two[0]);
    let acks = batch(&mut h, &[mid(&mut conn, &two[1], Some(ts))]);
    assert_eq!(acks.len(), 1, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(conn.peer_nxt));
    assert_eq!(read_all(&mut h, s), two[1]);
}

/// A driver that forgets `rx_batch_end` loses no ACK: `poll_transmit` ends the batch.
#[test]
fn poll_transmit_ends_an_open_batch() {
    let mut h = setup();
    let (_s, mut conn, ts) = open_ts(&mut h);
    let data = payloads(3, FULL);
    h.stack.rx_batch_begin();
    for p in &data {
        let seg = mid(&mut conn, p, Some(ts));
        h.receive(&tcp_frame(&seg));
    }
    assert!(h.stack.rx_batch_open());
    let acks = out(&mut h);
    assert!(!h.stack.rx_batch_open());
    assert_eq!(acks.len(), 1, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(conn.peer_nxt));
}

/// At most 64 runs are held (GRO's `MAX_GRO_SKBS` x `GRO_HASH_BUCKETS`): the 65th
/// connection's run evicts the oldest, whose ACK goes out before the batch ends
/// (`gro_flush_oldest`); the others at the end. One ACK per connection either way.
#[test]
fn sixty_fifth_held_run_evicts_the_oldest() {
    let mut h = setup();
    let l = listener(&mut h, 128);
    let n = GRO_MAX_HELD + 1;
    let mut conns: Vec<Conn> = (0..n)
        .map(|i| peer_connects(&mut h, 41_000 + i as u16))
        .collect();
    for _ in 0..n {
        h.stack.tcp_accept(l).unwrap();
    }
    let _ = h.events();
    h.stack.rx_batch_begin();
    let mut ends = Vec::new();
    for c in &mut conns {
        let seg = mid(c, &[7; 1000], None);
        h.receive(&tcp_frame(&seg));
        ends.push((c.peer_port, c.peer_nxt));
    }
    // Only the oldest run was ended inside the batch.
    assert_eq!(h.stack.txq.len(), 1);
    h.stack.rx_batch_end();
    let acks = out(&mut h);
    assert_eq!(acks.len(), n);
    assert_eq!((acks[0].dport, acks[0].ack), (ends[0].0, Some(ends[0].1)));
    for (a, (port, end)) in acks.iter().skip(1).zip(ends.iter().skip(1)) {
        assert_eq!((a.dport, a.ack), (*port, Some(*end)));
    }
}

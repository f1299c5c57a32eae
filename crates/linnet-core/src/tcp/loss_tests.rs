//! Rule tests: loss recovery: the retransmission timeout with backoff, fast retransmit
//! and NewReno recovery, zero-window probes, and giving up.

use alloc::vec::Vec;

use super::test_peer::*;
use crate::testutil::*;
use crate::time::{Duration, Instant};
use crate::{Errno, Event, TcpState};

/// RFC 6298 §5.4-5.6 with Linux's bounds: unacknowledged data is retransmitted when the
/// RTO expires (here 200 ms: a near-zero RTT plus the 200 ms floor), the RTO doubling each
/// time; RetransSegs and TCPTimeouts count them. An ACK of new data ends the backoff.
#[test]
fn rto_retransmits_with_exponential_backoff() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    let t0 = h.now;
    h.stack.tcp_send(s, b"lost data").unwrap();
    let first = one(&mut h);
    let sent = h.advance(Duration::from_millis(6300));
    let segs: Vec<(Instant, TcpOut)> = sent
        .into_iter()
        .map(|(t, f)| (t, parse_tcp(&f).unwrap()))
        .collect();
    assert_eq!(segs.len(), 5, "{segs:#?}");
    let mut prev = t0;
    for (i, (t, seg)) in segs.iter().enumerate() {
        assert_eq!(
            (seg.seq, seg.payload.as_slice()),
            (first.seq, &b"lost data"[..])
        );
        let gap = t.saturating_since(prev).as_millis() as i64;
        let want = 200i64 << i;
        assert!(
            (gap - want).abs() <= 1,
            "retransmission {i} after {gap} ms, want {want}"
        );
        prev = *t;
    }
    let st = h.stack.stats();
    assert_eq!(st.tcp.retrans_segs, 5);
    assert_eq!(st.tcp_ext.tcp_timeouts, 5);
    assert_eq!(st.tcp.out_segs, 3, "SYN, handshake ACK, first transmission");
    // The ACK ends the episode; the next loss waits one base RTO again.
    conn.our_nxt += 9;
    assert!(send(&mut h, &conn.ack()).is_empty());
    h.stack.tcp_send(s, b"more").unwrap();
    let _ = one(&mut h);
    let t1 = h.now;
    let again = h.advance(Duration::from_millis(250));
    assert_eq!(again.len(), 1);
    let gap = again[0].0.saturating_since(t1).as_millis();
    assert!((199..=201).contains(&gap), "{gap}");
}

/// RFC 5681 §3.2 and RFC 6582: the third duplicate ACK retransmits the first unacknowledged
/// segment at once (TCPRenoRecovery, TCPFastRetrans, RetransSegs) and halves the window; a
/// partial ACK retransmits the next hole; the full ACK ends recovery.
#[test]
fn third_duplicate_ack_triggers_fast_retransmit_and_newreno_recovery() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    let data: Vec<u8> = (0..6 * 1460u32).map(|i| i as u8).collect();
    assert_eq!(h.stack.tcp_send(s, &data), Ok(data.len()));
    let segs = out(&mut h);
    assert_eq!(segs.len(), 6);
    let base = segs[0].seq;
    // Segment 1 arrives; 2 and 4 are lost; 3, 5, 6 draw duplicate ACKs.
    conn.our_nxt = base + 1460;
    assert!(send(&mut h, &conn.ack()).is_empty());
    assert!(send(&mut h, &conn.ack()).is_empty(), "first duplicate");
    assert!(send(&mut h, &conn.ack()).is_empty(), "second duplicate");
    let rtx = send(&mut h, &conn.ack());
    assert_eq!(rtx.len(), 1, "third duplicate: fast retransmit");
    assert_eq!(rtx[0].seq, base + 1460);
    assert_eq!(rtx[0].payload, data[1460..2920]);
    let st = h.stack.stats();
    assert_eq!(st.tcp.retrans_segs, 1);
    assert_eq!(st.tcp_ext.tcp_reno_recovery, 1);
    assert_eq!(st.tcp_ext.tcp_fast_retrans, 1);
    // Partial ACK (up to the hole at segment 4): segment 4 goes at once.
    conn.our_nxt = base + 3 * 1460;
    let partial = send(&mut h, &conn.ack());
    assert_eq!(partial.len(), 1, "{partial:#?}");
    assert_eq!(partial[0].seq, base + 3 * 1460);
    // Full ACK: recovery ends, nothing outstanding.
    conn.our_nxt = base + 6 * 1460;
    assert!(send(&mut h, &conn.ack()).is_empty());
    assert_eq!(h.stack.tcp_tx_queued(s), Ok(0));
    assert_eq!(h.stack.stats().tcp.retrans_segs, 2);
    // No timeout ever fired.
    assert!(h.advance(Duration::from_secs(2)).is_empty());
    assert_eq!(h.stack.stats().tcp_ext.tcp_timeouts, 0);
}

/// RFC 1122 §4.2.2.17, Linux `tcp_probe_timer`: data the peer's zero window will not take
/// is held, and the persist timer probes with a segment one byte below SND.UNA at RTO
/// intervals that back off; when the window opens the data goes.
#[test]
fn zero_window_is_probed_with_backoff_until_it_opens() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, b"first").unwrap();
    let _ = one(&mut h);
    conn.our_nxt += 5;
    conn.window = 0;
    assert!(send(&mut h, &conn.ack()).is_empty());
    h.stack.tcp_send(s, b"waiting").unwrap();
    assert!(out(&mut h).is_empty(), "the window is closed");
    let t0 = h.now;
    let probes = h.advance(Duration::from_millis(1500));
    let times: Vec<u64> = probes
        .iter()
        .map(|(t, f)| {
            let p = parse_tcp(f).unwrap();
            assert_eq!(p.seq, conn.our_nxt - 1, "probe below SND.UNA");
            assert!(p.payload.is_empty());
            t.saturating_since(t0).as_millis() as u64
        })
        .collect();
    assert_eq!(times.len(), 3, "{times:?}");
    assert!((199..=201).contains(&times[0]) && (599..=601).contains(&times[1]));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    conn.window = 65_535;
    let data = send(&mut h, &conn.ack());
    assert_eq!(data.len(), 1);
    assert_eq!(data[0].payload, b"waiting");
}

/// `tcp_write_timeout` with tcp_retries2 = 15: with no ACK at all the connection is given
/// up after about 924.6 s of retransmissions (`tcp_model_timeout`), with ETIMEDOUT and
/// TCPAbortOnTimeout, and without a RST.
#[test]
fn unanswered_retransmissions_give_up_with_etimedout() {
    let mut h = setup();
    let (s, _conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, b"into the void").unwrap();
    let _ = one(&mut h);
    let t0 = h.now;
    let sent = h.advance(Duration::from_secs(1100));
    assert!(sent.iter().all(|(_, f)| !parse_tcp(f).unwrap().flags.rst));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert!(has_event(&mut h, Event::Error(s)));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ETIMEDOUT)));
    let last = sent.last().unwrap().0.saturating_since(t0).as_secs();
    assert!(
        (800..=925).contains(&last),
        "last retransmission at {last} s"
    );
    assert_eq!(h.stack.stats().tcp_ext.tcp_abort_on_timeout, 1);
    assert_eq!(h.stack.stats().tcp.retrans_segs as usize, sent.len());
    assert_eq!(h.stack.stats().tcp.curr_estab, 0);
    assert_eq!(h.stack.stats().tcp.estab_resets, 1);
}

/// A retransmission carries only what was sent (`__tcp_retransmit_skb` resends the segment
/// as it went out): data queued after it and held back by the peer's window stays new
/// data. Were the retransmission to run past SND.NXT, the peer's ACK of it would be refused
/// as acknowledging unsent data and the same retransmission would repeat until ETIMEDOUT.
#[test]
fn retransmission_never_runs_past_snd_nxt() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    // The peer's window shrinks to 1000 bytes (a byte of data carries the update).
    conn.window = 1000;
    let _ = send(&mut h, &conn.data(b"w"));
    assert_eq!(h.stack.tcp_send(s, &[1; 1000]), Ok(1000));
    let first = one(&mut h);
    assert_eq!(first.payload.len(), 1000);
    assert_eq!(h.stack.tcp_send(s, &[2; 2000]), Ok(2000));
    assert!(out(&mut h).is_empty(), "the window is full");
    let rtx: Vec<TcpOut> = h
        .advance(Duration::from_millis(1500))
        .into_iter()
        .filter_map(|(_, f)| parse_tcp(&f))
        .filter(|x| !x.payload.is_empty())
        .collect();
    assert!(!rtx.is_empty());
    assert_eq!((rtx[0].seq, rtx[0].payload.len()), (first.seq, 1000));
    // The ACK of the retransmission is accepted and the window reopens.
    conn.our_nxt = first.seq.wrapping_add(1000);
    conn.window = 65_535;
    let next = send(&mut h, &conn.ack());
    assert_eq!(next.len(), 2);
    assert_eq!(next[0].seq, first.seq.wrapping_add(1000));
    assert_eq!(h.stack.stats().tcp.retrans_segs as usize, rtx.len());
}

/// `tcp_retransmit_timer`'s zero-window branch: a receiver that shrinks its window to zero
/// under our data, and keeps answering, turns the retransmissions into probes that never
/// time the connection out (Linux keeps it well past `tcp_retries2`, about 15 minutes here,
/// and counts no TCPTimeouts); once it stops answering for more than `TCP_RTO_MAX`
/// (120 s), the connection fails with ETIMEDOUT.
#[test]
fn zero_window_under_data_never_times_out_while_the_peer_answers() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, b"stuck data").unwrap();
    let _ = one(&mut h);
    // The peer closes its window at once and then answers every retransmission with the
    // same ACK (nothing new), window 0.
    conn.window = 0;
    let _ = send(&mut h, &conn.ack());
    let mut sent = 0;
    for _ in 0..40 {
        sent += h.advance(Duration::from_secs(30)).len();
        let _ = send(&mut h, &conn.ack());
    }
    // One per RTO, doubling from 200 ms to the 120 s cap: 10 in the first 2 minutes, then
    // one every 2 minutes.
    assert!(
        (15..=20).contains(&sent),
        "{sent} retransmissions in 20 minutes"
    );
    assert_eq!(
        h.stack.tcp_state(s),
        Ok(TcpState::Established),
        "20 minutes on"
    );
    assert_eq!(h.stack.stats().tcp_ext.tcp_timeouts, 0);
    assert!(h.stack.stats().tcp.retrans_segs > 0);
    // Silence: more than TCP_RTO_MAX without an ACK ends it.
    let _ = h.advance(Duration::from_secs(400));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ETIMEDOUT)));
}

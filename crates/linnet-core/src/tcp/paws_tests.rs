//! Rule tests: PAWS (RFC 7323 §5; Linux `tcp_paws_discard`, `tcp_paws_reject`,
//! `tcp_disordered_ack`, the PAWSActive check in SYN-SENT, `tcp_timewait_state_process`).

use core::net::SocketAddrV4;

use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;
use crate::{Errno, TcpState};

/// A connection with timestamps; the peer's TS.Recent at us is 5000 (its SYN-ACK TSval).
fn open_ts(h: &mut Harness) -> (crate::SocketHandle, Conn) {
    let (s, conn, _) = open_active(h, false);
    (s, conn)
}

/// Our TSval on the last segment we sent (for the peer's echo).
fn with_ts(mut seg: TcpSeg, tsval: u32) -> TcpSeg {
    seg.ts = Some((tsval, 1));
    seg
}

/// RFC 7323 §5.3 R1 / `tcp_validate_incoming`: a data segment whose TSval is older than
/// TS.Recent is dropped before the sequence check, counted PAWSEstab, and answered with a
/// duplicate ACK carrying the current RCV.NXT; the data never reaches the application.
#[test]
fn old_timestamp_is_dropped_with_duplicate_ack() {
    let mut h = setup();
    let (s, mut conn) = open_ts(&mut h);
    let before = conn.peer_nxt;
    let seg = with_ts(conn.data(b"stale"), 4000);
    let r = send(&mut h, &seg);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].flag_str(), ".");
    assert_eq!(r[0].ack, Some(before));
    assert_eq!(r[0].ts.map(|t| t.1), Some(5000), "TS.Recent unchanged");
    assert_eq!(h.stack.tcp_rx_queued(s), Ok(0));
    assert_eq!(h.stack.stats().tcp_ext.paws_estab, 1);
    // The same bytes with a fresh timestamp are taken.
    let fresh = TcpSeg {
        ts: Some((5001, 1)),
        ..seg
    };
    let _ = send(&mut h, &fresh);
    assert_eq!(read_all(&mut h, s), b"stale");
    assert_eq!(h.stack.stats().tcp_ext.paws_estab, 1);
}

/// A second PAWS reject within `tcp_invalid_ratelimit` (500 ms) is not answered
/// (`tcp_oow_rate_limited`, TCPACKSkippedPAWS).
#[test]
fn paws_duplicate_acks_are_rate_limited() {
    let mut h = setup();
    let (_s, mut conn) = open_ts(&mut h);
    assert_eq!(send(&mut h, &with_ts(conn.data(b"a"), 10)).len(), 1);
    assert!(send(&mut h, &with_ts(conn.data(b"b"), 11)).is_empty());
    let st = h.stack.stats().tcp_ext;
    assert_eq!((st.paws_estab, st.tcp_ack_skipped_paws), (2, 1));
}

/// "Reset is accepted even if it did not pass PAWS": a RST at RCV.NXT with an old
/// timestamp resets the connection.
#[test]
fn rst_with_old_timestamp_is_accepted() {
    let mut h = setup();
    let (s, conn) = open_ts(&mut h);
    let rst = TcpSeg {
        rst: true,
        ..with_ts(conn.ack(), 3000)
    };
    assert!(send(&mut h, &rst).is_empty());
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ECONNRESET)));
    assert_eq!(h.stack.stats().tcp_ext.paws_estab, 0);
}

/// RFC 7323 §5.5 with Linux's `TCP_PAWS_WRAP` (2147 s since 6.7): once TS.Recent is that
/// old, any timestamp passes and becomes TS.Recent.
#[test]
fn ts_recent_older_than_paws_wrap_no_longer_rejects() {
    let mut h = setup();
    let (s, mut conn) = open_ts(&mut h);
    let _ = h.advance(Duration::from_secs(2146));
    let r = send(&mut h, &with_ts(conn.data(b"x"), 100));
    assert_eq!(h.stack.stats().tcp_ext.paws_estab, 1, "{r:#?}");
    conn.peer_nxt -= 1;
    let _ = h.advance(Duration::from_secs(1));
    let r = send(&mut h, &with_ts(conn.data(b"x"), 100));
    assert_eq!(r[0].ack, Some(conn.peer_nxt), "{r:#?}");
    assert_eq!(read_all(&mut h, s), b"x");
    assert_eq!(h.stack.stats().tcp_ext.paws_estab, 1);
}

/// `tcp_disordered_ack`: a pure duplicate ACK at RCV.NXT that does not change the window,
/// with a timestamp within an RTO of TS.Recent, is a reordered ACK, not an old one: no
/// PAWS drop, no answer.
#[test]
fn disordered_pure_ack_passes_paws() {
    let mut h = setup();
    let (_s, conn) = open_ts(&mut h);
    // The window the SYN-ACK offered, now scaled: an ACK that changes nothing.
    let _ = send(&mut h, &with_ts(conn.ack(), 5000));
    let r = send(&mut h, &with_ts(conn.ack(), 4990));
    assert!(r.is_empty(), "{r:#?}");
    assert_eq!(h.stack.stats().tcp_ext.paws_estab, 0);
    // Far older than one RTO (1 s before any sample): rejected.
    let r = send(&mut h, &with_ts(conn.ack(), 1000));
    assert_eq!(r.len(), 1);
    assert_eq!(h.stack.stats().tcp_ext.paws_estab, 1);
}

/// `tcp_rcv_synsent_state_process`: a SYN-ACK whose TSecr is not a TSval we sent since the
/// first SYN is an old duplicate: RST (seq = its ACK), PAWSActive, still SYN-SENT. The
/// genuine SYN-ACK then completes the handshake.
#[test]
fn synack_with_foreign_tsecr_draws_rst_pawsactive() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    let our_ts = syn.ts.unwrap().0;
    let synack = TcpSeg {
        sport: PEER_PORT,
        dport: syn.sport,
        seq: PEER_ISN,
        ack: Some(syn.seq + 1),
        syn: true,
        window: 65_535,
        mss: Some(1460),
        ts: Some((7, our_ts.wrapping_add(100_000))),
        ..TcpSeg::default()
    };
    let r = send(&mut h, &synack);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert!(r[0].flags.rst);
    assert_eq!(r[0].seq, syn.seq + 1);
    assert_eq!(h.stack.stats().tcp_ext.paws_active, 1);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::SynSent));
    let good = TcpSeg {
        ts: Some((7, our_ts)),
        ..synack
    };
    let r = send(&mut h, &good);
    assert_eq!(r.len(), 1);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
}

/// The peer connects to a listener with timestamps (its TSval 1000); returns the accepted
/// connection.
fn open_passive_ts(h: &mut Harness) -> (crate::SocketHandle, Conn) {
    let l = listener(h, 16);
    let syn = TcpSeg {
        ts: Some((1000, 0)),
        ..peer_syn(PEER_PORT)
    };
    let sa = send(h, &syn).remove(0);
    let conn = Conn {
        our_port: OUR_PORT,
        peer_port: PEER_PORT,
        our_nxt: sa.seq.wrapping_add(1),
        peer_nxt: PEER_ISN + 1,
        window: 65_535,
    };
    assert!(send(h, &with_ts(conn.ack(), 1001)).is_empty());
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    (c, conn)
}

/// `tcp_timewait_state_process`: the TIME-WAIT socket keeps TS.Recent. A SYN with a higher
/// sequence number but an older timestamp is an old duplicate: no reuse, PAWSEstab, an ACK
/// of the old connection, counted in PAWSTimewait (Linux 6.15+). A SYN with a newer
/// timestamp reuses the 4-tuple even with a lower sequence number.
#[test]
fn time_wait_keeps_ts_recent_for_paws_on_reuse() {
    let mut h = setup();
    let (c, mut conn) = open_passive_ts(&mut h);
    h.stack.tcp_close(c).unwrap();
    let _fin = one(&mut h);
    conn.our_nxt += 1;
    let _ = send(&mut h, &with_ts(conn.ack(), 1002));
    let _ = send(&mut h, &with_ts(conn.fin(), 1003));
    assert_eq!(
        state_of(&mut h, OUR_PORT, PEER_PORT),
        Some(TcpState::TimeWait)
    );
    let old = TcpSeg {
        seq: conn.peer_nxt + 100_000,
        ts: Some((900, 0)),
        ..peer_syn(PEER_PORT)
    };
    let r = send(&mut h, &old);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].flag_str(), ".");
    assert_eq!(r[0].ack, Some(conn.peer_nxt));
    assert_eq!(h.stack.stats().tcp_ext.paws_timewait, 1);
    assert_eq!(
        state_of(&mut h, OUR_PORT, PEER_PORT),
        Some(TcpState::TimeWait)
    );
    let newer = TcpSeg {
        seq: conn.peer_nxt.wrapping_sub(50_000),
        ts: Some((2000, 0)),
        ..peer_syn(PEER_PORT)
    };
    let r = send(&mut h, &newer);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].flag_str(), "S.");
    assert_eq!(
        state_of(&mut h, OUR_PORT, PEER_PORT),
        Some(TcpState::SynRecv)
    );
}

/// `tcp_disordered_ack_check` (Linux 6.14+): an old pure ACK (below RCV.NXT) that fails
/// PAWS is common and dropped silently (PAWSOldAck, no duplicate ACK); a SYN failing PAWS
/// draws a challenge ACK (TCPSYNChallenge).
#[test]
fn old_pure_ack_is_dropped_silently_and_syn_challenged() {
    let mut h = setup();
    let (_s, mut conn) = open_ts(&mut h);
    let _ = send(&mut h, &with_ts(conn.data(b"abc"), 5001));
    let old_ack = TcpSeg {
        seq: conn.peer_nxt - 3,
        ..with_ts(conn.ack(), 4000)
    };
    assert!(send(&mut h, &old_ack).is_empty());
    let st = h.stack.stats().tcp_ext;
    assert_eq!((st.paws_old_ack, st.paws_estab), (1, 0));
    let syn = TcpSeg {
        syn: true,
        ack: None,
        ..with_ts(conn.ack(), 4000)
    };
    let r = send(&mut h, &syn);
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].ack, Some(conn.peer_nxt));
    assert_eq!(h.stack.stats().tcp_ext.tcp_syn_challenge, 1);
}

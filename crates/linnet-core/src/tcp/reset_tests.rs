//! Rule tests: resets: generation for segments no socket wants (RFC 9293 §3.10.7.1),
//! acceptance in synchronized states (RFC 5961 §3: exact → reset, in window → challenge ACK,
//! outside → ignored), challenge ACKs for SYNs, throttling, and what the application sees.

use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;
use crate::{Errno, Event, TcpState};

/// RFC 9293 §3.10.7.1: a SYN to a closed port gets `<SEQ=0><ACK=SEG.SEQ+SEG.LEN>
/// <CTL=RST,ACK>` (the SYN counts one); OutRsts and OutSegs count it; the segment is
/// dropped as NO_SOCKET.
#[test]
fn syn_to_closed_port_gets_rst_ack_with_seq_zero() {
    let mut h = setup();
    let r = send(&mut h, &peer_syn(PEER_PORT)).remove(0);
    assert_eq!(r.flag_str(), "R.");
    assert_eq!(r.seq, 0);
    assert_eq!(r.ack, Some(PEER_ISN + 1));
    assert_eq!(r.window, 0);
    assert!(r.options.is_empty());
    assert_eq!((r.sport, r.dport), (OUR_PORT, PEER_PORT));
    let st = h.stack.stats();
    assert_eq!(
        (st.tcp.out_rsts, st.tcp.out_segs, st.tcp.in_segs),
        (1, 1, 1)
    );
    assert_eq!(st.drops_for(crate::DropReason::NoSocket), 1);
}

/// RFC 9293 §3.10.7.1: a segment with ACK to a closed port gets `<SEQ=SEG.ACK><CTL=RST>`;
/// data and FIN count in SEG.LEN when there is no ACK; a RST is never answered.
#[test]
fn reset_sequence_follows_the_offending_segment() {
    let mut h = setup();
    let with_ack = TcpSeg {
        ack: Some(777),
        payload: b"data".to_vec(),
        ..peer_syn(PEER_PORT)
    };
    let with_ack = TcpSeg {
        syn: false,
        ..with_ack
    };
    let r = send(&mut h, &with_ack).remove(0);
    assert_eq!((r.flag_str().as_str(), r.seq, r.ack), ("R", 777, None));
    let fin_data = TcpSeg {
        syn: false,
        fin: true,
        payload: b"abc".to_vec(),
        ..peer_syn(PEER_PORT)
    };
    let r = send(&mut h, &fin_data).remove(0);
    assert_eq!((r.seq, r.ack), (0, Some(PEER_ISN + 4)));
    let rst = TcpSeg {
        syn: false,
        rst: true,
        ..peer_syn(PEER_PORT)
    };
    assert!(send(&mut h, &rst).is_empty());
    assert_eq!(h.stack.stats().tcp.out_rsts, 2);
}

/// Bad checksums are counted (InCsumErrors and InErrs) and never answered, not even with
/// a RST; InSegs counts them too ("count it even if it's bad").
#[test]
fn bad_checksum_is_counted_and_ignored() {
    let mut h = setup();
    let mut f = tcp_frame(&peer_syn(PEER_PORT));
    f[14 + 20 + 16] ^= 0x55;
    assert!(h.exchange(&f).is_empty());
    let st = h.stack.stats();
    assert_eq!(
        (st.tcp.in_segs, st.tcp.in_csum_errors, st.tcp.in_errs),
        (1, 1, 1)
    );
    assert_eq!(st.drops_for(crate::DropReason::TcpCsum), 1);
}

/// RFC 5961 §3.2: a RST whose sequence number is exactly RCV.NXT resets the connection:
/// ECONNRESET for the application, EstabResets, CLOSE; further sends get EPIPE.
#[test]
fn rst_exactly_at_rcv_nxt_resets_the_connection() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    let rst = TcpSeg {
        rst: true,
        ack: None,
        ..conn.ack()
    };
    assert!(send(&mut h, &rst).is_empty());
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert!(has_event(&mut h, Event::Error(s)));
    let st = h.stack.stats().tcp;
    assert_eq!((st.estab_resets, st.curr_estab), (1, 0));
    let mut b = [0u8; 8];
    assert_eq!(h.stack.tcp_recv(s, &mut b), Err(Errno::ECONNRESET));
    assert_eq!(h.stack.tcp_recv(s, &mut b), Ok(0));
    assert_eq!(h.stack.tcp_send(s, b"x"), Err(Errno::EPIPE));
}

/// The first send after a reset reports ECONNRESET (the pending error), later ones EPIPE.
#[test]
fn send_after_reset_reports_econnreset_once_then_epipe() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    let rst = TcpSeg {
        rst: true,
        ..conn.ack()
    };
    let _ = send(&mut h, &rst);
    assert_eq!(h.stack.tcp_send(s, b"x"), Err(Errno::ECONNRESET));
    assert_eq!(h.stack.tcp_send(s, b"x"), Err(Errno::EPIPE));
}

/// RFC 5961 §3.2: a RST inside the window but not at RCV.NXT draws a challenge ACK
/// (`<SEQ=SND.NXT><ACK=RCV.NXT><CTL=ACK>`, TCPChallengeACK) and leaves the connection up;
/// a second one within `tcp_invalid_ratelimit` (500 ms) is not answered
/// (TCPACKSkippedChallenge); after that it is again.
#[test]
fn rst_in_window_not_exact_draws_throttled_challenge_ack() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    let rst = TcpSeg {
        rst: true,
        seq: conn.peer_nxt + 1000,
        ack: None,
        ..conn.ack()
    };
    let c = send(&mut h, &rst);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].flag_str(), ".");
    assert_eq!((c[0].seq, c[0].ack), (conn.our_nxt, Some(conn.peer_nxt)));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    assert!(send(&mut h, &rst).is_empty(), "rate limited");
    let _ = h.advance(Duration::from_millis(600));
    assert_eq!(send(&mut h, &rst).len(), 1);
    let st = h.stack.stats().tcp_ext;
    assert_eq!((st.tcp_challenge_ack, st.tcp_ack_skipped_challenge), (2, 1));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
}

/// RFC 9293 §3.10.7.4 / RFC 5961: a RST outside the window is dropped silently.
#[test]
fn rst_outside_window_is_ignored() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    for seq in [conn.peer_nxt.wrapping_sub(10), conn.peer_nxt + 200_000] {
        let rst = TcpSeg {
            rst: true,
            seq,
            ..conn.ack()
        };
        assert!(send(&mut h, &rst).is_empty());
    }
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    assert_eq!(h.stack.stats().tcp_ext.tcp_challenge_ack, 0);
}

/// RFC 5961 §4.2: a SYN on an established connection, in window or not, draws a challenge
/// ACK (TCPSYNChallenge; Linux also counts InErrs on this path) and changes nothing.
#[test]
fn syn_on_established_connection_draws_challenge_ack() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    let syn = TcpSeg {
        syn: true,
        ack: None,
        seq: conn.peer_nxt + 5,
        ..conn.ack()
    };
    let c = send(&mut h, &syn);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].ack, Some(conn.peer_nxt));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    let st = h.stack.stats();
    assert_eq!(
        (st.tcp_ext.tcp_syn_challenge, st.tcp_ext.tcp_challenge_ack),
        (1, 1)
    );
    assert_eq!(st.tcp.in_errs, 1);
}

/// RFC 5961 §5.2: an ACK older than SND.UNA minus the peer's largest window is not
/// acceptable: challenge ACK, segment dropped, its data ignored.
#[test]
fn ack_far_below_snd_una_draws_challenge_ack() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    let mut bad = conn.data(b"blind");
    bad.ack = Some(conn.our_nxt.wrapping_sub(200_000));
    conn.peer_nxt -= 5;
    let c = send(&mut h, &bad);
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].ack, Some(conn.peer_nxt));
    let mut b = [0u8; 8];
    assert_eq!(h.stack.tcp_recv(s, &mut b), Err(Errno::EAGAIN));
    assert_eq!(h.stack.stats().tcp_ext.tcp_challenge_ack, 1);
}

/// A bare ACK outside the window is answered with a duplicate ACK, at most once per
/// 500 ms (TCPACKSkippedSeq); old data is always answered.
#[test]
fn out_of_window_ack_is_answered_with_rate_limit() {
    let mut h = setup();
    let (_s, conn, _) = open_active(&mut h, true);
    let stale = TcpSeg {
        seq: conn.peer_nxt + 300_000,
        ..conn.ack()
    };
    assert_eq!(send(&mut h, &stale).len(), 1);
    assert!(send(&mut h, &stale).is_empty());
    assert_eq!(h.stack.stats().tcp_ext.tcp_ack_skipped_seq, 1);
}

/// `tcp_challenge_ack_limit` (RFC 5961 §7): when set, challenge ACKs are also limited
/// host-wide per second (a random budget around the limit); with a limit of 1, a second
/// connection's challenge in the same second is not sent.
#[test]
fn host_wide_challenge_ack_limit_applies_across_connections() {
    let mut h = setup();
    h.stack.config_mut().tcp_challenge_ack_limit = 1;
    let (_s1, c1, _) = open_active(&mut h, true);
    let (_s2, c2, _) = open_active(&mut h, true);
    let rst = |c: &Conn| TcpSeg {
        rst: true,
        seq: c.peer_nxt + 10,
        ..c.ack()
    };
    assert_eq!(send(&mut h, &rst(&c1)).len(), 1);
    assert!(
        send(&mut h, &rst(&c2)).is_empty(),
        "budget spent for this second"
    );
    let _ = h.advance(Duration::from_secs(1));
    assert_eq!(send(&mut h, &rst(&c2)).len(), 1);
    assert_eq!(h.stack.stats().tcp_ext.tcp_challenge_ack, 2);
}

//! Rule tests: socket options that change the timers: keepalive (`SO_KEEPALIVE`,
//! `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`), `TCP_USER_TIMEOUT`, `TCP_SYNCNT`,
//! `TCP_LINGER2` and `SO_LINGER`.

use alloc::vec::Vec;
use core::net::SocketAddrV4;

use super::test_peer::*;
use crate::testutil::*;
use crate::time::{Duration, Instant};
use crate::{Errno, Event, Shutdown, SocketHandle, TcpState};

/// The TCP segments among timed frames.
fn segs(frames: Vec<(Instant, Vec<u8>)>) -> Vec<(Instant, TcpOut)> {
    frames
        .into_iter()
        .filter_map(|(t, f)| parse_tcp(&f).map(|s| (t, s)))
        .collect()
}

/// Keepalive on with the given idle time, interval and count.
fn keepalive(h: &mut Harness, s: SocketHandle, idle: u32, intvl: u32, cnt: u32) {
    h.stack.tcp_set_keepalive(s, true).unwrap();
    h.stack.tcp_set_keepidle(s, idle).unwrap();
    h.stack.tcp_set_keepintvl(s, intvl).unwrap();
    h.stack.tcp_set_keepcnt(s, cnt).unwrap();
}

/// Asserts `p` is a keepalive probe: a bare ACK one byte before `snd_una`
/// (`tcp_xmit_probe_skb`).
fn assert_probe(p: &TcpOut, conn: &Conn) {
    assert_eq!(p.flag_str(), ".", "{p:#?}");
    assert!(p.payload.is_empty());
    assert_eq!(p.seq, conn.our_nxt.wrapping_sub(1));
    assert_eq!(p.ack, Some(conn.peer_nxt));
}

/// Linux `tcp_keepalive_timer`: after TCP_KEEPIDLE of silence a probe goes out, then one
/// every TCP_KEEPINTVL; after TCP_KEEPCNT unanswered probes the connection is reset (RST,
/// ETIMEDOUT to the application). TCPKeepAlive counts the probes and TCPAbortOnTimeout the
/// abort.
#[test]
fn keepalive_probes_after_idle_then_resets_after_keepcnt() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    let t0 = h.now;
    keepalive(&mut h, s, 10, 5, 3);
    assert!(h.advance(Duration::from_millis(9_999)).is_empty());
    let got = segs(h.advance(Duration::from_millis(15_002)));
    assert_eq!(got.len(), 4, "{got:#?}");
    for (i, (t, p)) in got.iter().take(3).enumerate() {
        assert_eq!(
            t.saturating_since(t0),
            Duration::from_secs(10 + 5 * i as u64)
        );
        assert_probe(p, &conn);
    }
    let (t, rst) = &got[3];
    assert_eq!(t.saturating_since(t0), Duration::from_secs(25));
    assert!(rst.flags.rst && !rst.flags.fin);
    assert_eq!(rst.seq, conn.our_nxt);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert!(has_event(&mut h, Event::Error(s)));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ETIMEDOUT)));
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_keep_alive, 3);
    assert_eq!(st.tcp_ext.tcp_abort_on_timeout, 1);
    assert_eq!((st.tcp.out_rsts, st.tcp.estab_resets), (1, 1));
    assert_eq!(state_of(&mut h, conn.our_port, PEER_PORT), None);
}

/// The peer's answer to a probe (any acceptable ACK) sets the probe count back to 0 and
/// restarts the idle time: the next probe comes TCP_KEEPIDLE after the answer.
#[test]
fn keepalive_answer_restarts_idle_time() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    let t0 = h.now;
    keepalive(&mut h, s, 10, 5, 2);
    let first = segs(h.advance(Duration::from_secs(10)));
    assert_eq!(first.len(), 1);
    assert_probe(&first[0].1, &conn);
    assert!(send(&mut h, &conn.ack()).is_empty());
    // Not at 15 s (the interval): the peer answered, so the idle time starts over.
    let got = segs(h.advance(Duration::from_millis(20_001)));
    let at: Vec<u64> = got
        .iter()
        .map(|(t, _)| t.saturating_since(t0).as_secs())
        .collect();
    assert_eq!(at, [20, 25, 30], "{got:#?}");
    assert_probe(&got[0].1, &conn);
    assert_probe(&got[1].1, &conn);
    assert!(got[2].1.flags.rst);
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ETIMEDOUT)));
    assert_eq!(h.stack.stats().tcp_ext.tcp_keep_alive, 3);
}

/// The sysctl defaults (tcp_keepalive_time 7200 s, tcp_keepalive_intvl 75 s,
/// tcp_keepalive_probes 9); a child inherits SO_KEEPALIVE from its listener; without
/// SO_KEEPALIVE an idle connection sends nothing.
#[test]
fn keepalive_sysctl_defaults_and_inheritance() {
    let mut h = setup();
    let l = listener(&mut h, 16);
    h.stack.tcp_set_keepalive(l, true).unwrap();
    let conn = peer_connects(&mut h, PEER_PORT);
    let t0 = h.now;
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    let (plain, _pconn, _) = open_active(&mut h, true);
    assert!(h.advance(Duration::from_millis(7_199_999)).is_empty());
    let got = segs(h.advance(Duration::from_secs(9 * 75 + 1)));
    assert_eq!(got.len(), 10, "{got:#?}");
    for (i, (t, p)) in got.iter().take(9).enumerate() {
        assert_eq!(
            t.saturating_since(t0),
            Duration::from_secs(7200 + 75 * i as u64)
        );
        assert_eq!((p.sport, p.dport), (OUR_PORT, PEER_PORT));
        assert_probe(p, &conn);
    }
    assert!(got[9].1.flags.rst);
    assert_eq!(
        got[9].0.saturating_since(t0),
        Duration::from_secs(7200 + 75 * 9)
    );
    assert_eq!(h.stack.tcp_take_error(c), Ok(Some(Errno::ETIMEDOUT)));
    assert_eq!(h.stack.tcp_state(plain), Ok(TcpState::Established));
}

/// Keepalive stays quiet while data is in flight (the retransmission timer watches the
/// peer then), and turning SO_KEEPALIVE off stops it.
#[test]
fn keepalive_quiet_with_data_in_flight_and_when_off() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_user_timeout(s, 0).unwrap();
    keepalive(&mut h, s, 1, 1, 1);
    h.stack.tcp_send(s, b"data").unwrap();
    let _ = one(&mut h);
    // Only retransmissions for the next 1.5 s (200, 600, 1400 ms).
    let got = segs(h.advance(Duration::from_millis(1_500)));
    assert_eq!(got.len(), 3);
    assert!(got.iter().all(|(_, p)| p.payload == b"data"));
    conn.our_nxt += 4;
    let _ = send(&mut h, &conn.ack());
    h.stack.tcp_set_keepalive(s, false).unwrap();
    assert!(h.advance(Duration::from_secs(100)).is_empty());
    assert_eq!(h.stack.stats().tcp_ext.tcp_keep_alive, 0);
}

/// Linux's ranges: TCP_KEEPIDLE and TCP_KEEPINTVL 1..=32767, TCP_KEEPCNT and TCP_SYNCNT
/// 1..=127, else EINVAL; a bad handle is EBADF.
#[test]
fn option_ranges_follow_linux() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    let st = &mut h.stack;
    assert_eq!(st.tcp_set_keepidle(s, 0), Err(Errno::EINVAL));
    assert_eq!(st.tcp_set_keepidle(s, 32_768), Err(Errno::EINVAL));
    assert_eq!(st.tcp_set_keepidle(s, 32_767), Ok(()));
    assert_eq!(st.tcp_set_keepintvl(s, 0), Err(Errno::EINVAL));
    assert_eq!(st.tcp_set_keepintvl(s, 32_768), Err(Errno::EINVAL));
    assert_eq!(st.tcp_set_keepintvl(s, 1), Ok(()));
    assert_eq!(st.tcp_set_keepcnt(s, 0), Err(Errno::EINVAL));
    assert_eq!(st.tcp_set_keepcnt(s, 128), Err(Errno::EINVAL));
    assert_eq!(st.tcp_set_keepcnt(s, 127), Ok(()));
    assert_eq!(st.tcp_set_syncnt(s, 0), Err(Errno::EINVAL));
    assert_eq!(st.tcp_set_syncnt(s, 128), Err(Errno::EINVAL));
    assert_eq!(st.tcp_set_syncnt(s, 127), Ok(()));
    assert_eq!(st.tcp_set_keepalive(s, true), Ok(()));
    assert_eq!(st.tcp_set_user_timeout(s, 1), Ok(()));
    assert_eq!(st.tcp_set_linger2(s, -5), Ok(()));
    assert_eq!(st.tcp_set_linger(s, Some(0)), Ok(()));
    st.tcp_close(s).unwrap();
    assert_eq!(st.tcp_set_keepidle(s, 0), Err(Errno::EBADF));
    assert_eq!(st.tcp_set_keepcnt(s, 5), Err(Errno::EBADF));
    assert_eq!(st.tcp_set_linger(s, None), Err(Errno::EBADF));
}

/// TCP_USER_TIMEOUT: data unacknowledged for that long fails the connection with
/// ETIMEDOUT (TCPAbortOnTimeout, no RST) instead of waiting out tcp_retries2; the RTO is
/// cut short to end exactly on time (`tcp_clamp_rto_to_user_timeout`).
#[test]
fn user_timeout_fails_unacknowledged_data() {
    let mut h = setup();
    let (s, _conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_user_timeout(s, 2_500).unwrap();
    let t0 = h.now;
    h.stack.tcp_send(s, b"stuck").unwrap();
    let _ = one(&mut h);
    let got = segs(h.advance(Duration::from_millis(2_499)));
    assert_eq!(got.len(), 3, "retransmissions at 200, 600, 1400 ms");
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    let end = segs(h.advance(Duration::from_millis(2)));
    assert!(end.is_empty(), "no RST: {end:#?}");
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert_eq!(h.now.saturating_since(t0), Duration::from_millis(2_501));
    assert!(has_event(&mut h, Event::Error(s)));
    assert_eq!(h.stack.tcp_send(s, b"x"), Err(Errno::ETIMEDOUT));
    assert_eq!(h.stack.stats().tcp_ext.tcp_abort_on_timeout, 1);
    assert_eq!(h.stack.stats().tcp.out_rsts, 0);
}

/// TCP_USER_TIMEOUT with keepalive: once a probe is out and the peer has been silent for
/// longer than the user timeout, the connection is reset without waiting for TCP_KEEPCNT.
#[test]
fn user_timeout_cuts_keepalive_short() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    let t0 = h.now;
    keepalive(&mut h, s, 10, 5, 100);
    h.stack.tcp_set_user_timeout(s, 12_000).unwrap();
    let got = segs(h.advance(Duration::from_secs(16)));
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_probe(&got[0].1, &conn);
    assert_eq!(got[0].0.saturating_since(t0), Duration::from_secs(10));
    assert!(got[1].1.flags.rst);
    assert_eq!(got[1].0.saturating_since(t0), Duration::from_secs(15));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ETIMEDOUT)));
    assert_eq!(h.stack.stats().tcp_ext.tcp_keep_alive, 1);
}

/// TCP_SYNCNT: the socket's SYN retries instead of tcp_syn_retries: with 2, the SYN goes
/// out three times (0, 1, 3 s) and connect fails with ETIMEDOUT at 7 s.
#[test]
fn syncnt_limits_syn_retries() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    h.stack.tcp_set_syncnt(s, 2).unwrap();
    let t0 = h.now;
    assert_eq!(
        h.stack
            .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT)),
        Err(Errno::EINPROGRESS)
    );
    assert!(one(&mut h).flags.syn);
    let got = segs(h.advance(Duration::from_millis(6_999)));
    let at: Vec<u64> = got
        .iter()
        .map(|(t, _)| t.saturating_since(t0).as_secs())
        .collect();
    assert_eq!(at, [1, 3]);
    assert!(got.iter().all(|(_, p)| p.flags.syn));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::SynSent));
    assert!(h.advance(Duration::from_millis(2)).is_empty());
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ETIMEDOUT)));
    assert_eq!(h.stack.stats().tcp_ext.tcp_syn_retrans, 2);
}

/// TCP_SYNCNT on a listener bounds the SYN-ACK retransmissions of its requests (Linux
/// `reqsk_timer_handler`: `icsk_syn_retries ?: tcp_synack_retries`).
#[test]
fn syncnt_on_listener_limits_synack_retries() {
    let mut h = setup();
    let l = listener(&mut h, 16);
    h.stack.tcp_set_syncnt(l, 1).unwrap();
    let sa = send(&mut h, &peer_syn(PEER_PORT));
    assert_eq!(sa.len(), 1);
    let got = segs(h.advance(Duration::from_secs(10)));
    assert_eq!(got.len(), 1, "one SYN-ACK retransmission: {got:#?}");
    assert!(got[0].1.flags.syn && got[0].1.flags.ack);
    assert_eq!(state_of(&mut h, OUR_PORT, PEER_PORT), None);
    assert_eq!(h.stack.tcp_socket_count(), 1);
}

/// Closes `s` and has the peer acknowledge the FIN: the orphan is in FIN-WAIT-2.
fn close_to_fin_wait2(h: &mut Harness, s: SocketHandle, conn: &mut Conn) {
    h.stack.tcp_close(s).unwrap();
    assert!(one(h).flags.fin);
    conn.our_nxt += 1;
    assert!(send(h, &conn.ack()).is_empty());
    assert_eq!(
        state_of(h, conn.our_port, PEER_PORT),
        Some(TcpState::FinWait2)
    );
}

/// TCP_LINGER2 > 0 replaces tcp_fin_timeout for the orphan's FIN-WAIT-2; values above
/// TCP_FIN_TIMEOUT_MAX (120 s) are cut to it.
#[test]
fn linger2_sets_orphan_fin_wait2_time() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_linger2(s, 5).unwrap();
    close_to_fin_wait2(&mut h, s, &mut conn);
    let _ = h.advance(Duration::from_millis(4_990));
    assert_eq!(
        state_of(&mut h, conn.our_port, PEER_PORT),
        Some(TcpState::FinWait2)
    );
    let _ = h.advance(Duration::from_millis(20));
    assert_eq!(state_of(&mut h, conn.our_port, PEER_PORT), None);

    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_linger2(s, 1_000).unwrap();
    close_to_fin_wait2(&mut h, s, &mut conn);
    let _ = h.advance(Duration::from_millis(119_990));
    assert_eq!(
        state_of(&mut h, conn.our_port, PEER_PORT),
        Some(TcpState::FinWait2)
    );
    let _ = h.advance(Duration::from_millis(20));
    assert_eq!(state_of(&mut h, conn.our_port, PEER_PORT), None);
    assert_eq!(h.stack.stats().tcp_ext.tcp_abort_on_linger, 0);
}

/// TCP_LINGER2 < 0: an orphan does not wait in FIN-WAIT-2. If the ACK of its FIN arrives
/// after close(), the connection ends there and the ACK is answered by a RST
/// (TCPAbortOnData, as Linux counts it); a socket already in FIN-WAIT-2 when closed is
/// reset at once (TCPAbortOnLinger).
#[test]
fn negative_linger2_skips_fin_wait2() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_linger2(s, -1).unwrap();
    h.stack.tcp_close(s).unwrap();
    assert!(one(&mut h).flags.fin);
    conn.our_nxt += 1;
    let r = send(&mut h, &conn.ack());
    assert_eq!(r.len(), 1, "{r:#?}");
    assert!(r[0].flags.rst);
    assert_eq!(state_of(&mut h, conn.our_port, PEER_PORT), None);
    assert_eq!(h.stack.stats().tcp_ext.tcp_abort_on_data, 1);

    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_linger2(s, -7).unwrap();
    h.stack.tcp_shutdown(s, Shutdown::Write).unwrap();
    assert!(one(&mut h).flags.fin);
    conn.our_nxt += 1;
    assert!(send(&mut h, &conn.ack()).is_empty());
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::FinWait2));
    h.stack.tcp_close(s).unwrap();
    let rst = one(&mut h);
    assert!(rst.flags.rst && !rst.flags.fin);
    assert_eq!(rst.seq, conn.our_nxt);
    assert_eq!(state_of(&mut h, conn.our_port, PEER_PORT), None);
    assert_eq!(h.stack.stats().tcp_ext.tcp_abort_on_linger, 1);
    assert_eq!(h.stack.tcp_socket_count(), 0);
}

/// SO_LINGER with a zero time: close() aborts (`tcp_disconnect`): a RST instead of a FIN,
/// unacknowledged data discarded, the socket gone at once; Linux counts TCPAbortOnData.
/// Unread data still makes it TCPAbortOnClose.
#[test]
fn linger_zero_close_sends_rst() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, b"never acked").unwrap();
    let _ = one(&mut h);
    h.stack.tcp_set_linger(s, Some(0)).unwrap();
    h.stack.tcp_close(s).unwrap();
    let rst = one(&mut h);
    assert!(rst.flags.rst && !rst.flags.fin);
    assert_eq!(rst.seq, conn.our_nxt + 11);
    assert_eq!(state_of(&mut h, conn.our_port, PEER_PORT), None);
    assert_eq!(h.stack.tcp_socket_count(), 0);
    assert!(
        h.advance(Duration::from_secs(10)).is_empty(),
        "nothing resent"
    );
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_abort_on_data, 1);
    assert_eq!(st.tcp_ext.tcp_abort_on_close, 0);
    assert_eq!((st.tcp.out_rsts, st.tcp.estab_resets), (1, 1));

    // Unread data takes precedence.
    let (s, mut conn, _) = open_active(&mut h, true);
    let _ = send(&mut h, &conn.data(b"unread"));
    let _ = h.drain();
    h.stack.tcp_set_linger(s, Some(0)).unwrap();
    h.stack.tcp_close(s).unwrap();
    assert!(one(&mut h).flags.rst);
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_abort_on_close, 1);
    assert_eq!(st.tcp_ext.tcp_abort_on_data, 1);
}

/// SO_LINGER with a nonzero time: the core cannot block, so close() is the graceful one (the
/// wait belongs to the runtime); turning linger off again is a plain close too.
#[test]
fn linger_nonzero_closes_gracefully() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_linger(s, Some(5)).unwrap();
    h.stack.tcp_close(s).unwrap();
    assert_eq!(one(&mut h).flag_str(), "F.");
    assert_eq!(
        state_of(&mut h, conn.our_port, PEER_PORT),
        Some(TcpState::FinWait1)
    );
    let (s, conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_linger(s, Some(0)).unwrap();
    h.stack.tcp_set_linger(s, None).unwrap();
    h.stack.tcp_close(s).unwrap();
    assert_eq!(one(&mut h).flag_str(), "F.");
    assert_eq!(
        state_of(&mut h, conn.our_port, PEER_PORT),
        Some(TcpState::FinWait1)
    );
    assert_eq!(h.stack.stats().tcp.out_rsts, 0);
}

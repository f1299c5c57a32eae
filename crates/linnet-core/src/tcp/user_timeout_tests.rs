//! Rule tests: `TCP_USER_TIMEOUT` bounding zero-window probing (Linux `tcp_probe_timer`
//! with `icsk_probes_tstamp`, `tcp_clamp_probe0_to_user_timeout`) and SYN retransmissions
//! (`tcp_write_timeout` with the user timeout, `tcp_clamp_rto_to_user_timeout`).

use alloc::vec::Vec;
use core::net::SocketAddrV4;

use super::test_peer::*;
use crate::testutil::*;
use crate::time::{Duration, Instant};
use crate::{Errno, Event, SocketHandle, TcpState};

/// A connection whose peer has closed its window with `b"waiting"` queued behind it.
fn zero_window(h: &mut Harness) -> (SocketHandle, Conn) {
    let (s, mut conn, _) = open_active(h, true);
    h.stack.tcp_send(s, b"first").unwrap();
    let _ = one(h);
    conn.our_nxt += 5;
    conn.window = 0;
    assert!(send(h, &conn.ack()).is_empty());
    h.stack.tcp_send(s, b"waiting").unwrap();
    assert!(out(h).is_empty());
    (s, conn)
}

/// Advances `d`, answering every zero-window probe with a zero-window ACK; returns the
/// probe times since `t0`, in ms.
fn answer_probes(h: &mut Harness, conn: &Conn, t0: Instant, d: Duration) -> Vec<u64> {
    let end = h.now + d;
    let mut times = Vec::new();
    while h.now < end {
        let Some(next) = h.stack.poll_timeout() else {
            break;
        };
        if next > end {
            let _ = h.advance_to(end);
            break;
        }
        for (t, f) in h.advance_to(next) {
            let p = parse_tcp(&f).unwrap();
            if p.flags.rst {
                continue;
            }
            assert_eq!(p.seq, conn.our_nxt - 1, "{p:#?}");
            times.push(t.saturating_since(t0).as_millis() as u64);
            let r = send(h, &conn.ack());
            assert!(r.is_empty(), "{r:#?}");
        }
    }
    times
}

/// RFC 1122 §4.2.2.17 ("the sending TCP must allow the connection to stay open as long as
/// the receiving TCP continues to send acknowledgments in response to the probe
/// segments"), as Linux: each answer sets `icsk_probes_out` back to 0, so a peer that keeps
/// answering is probed past `tcp_retries2` (15) probes without the connection failing.
/// Each probe counts TCPWinProbe.
#[test]
fn answered_zero_window_probes_keep_the_connection_open() {
    let mut h = setup();
    let (s, conn) = zero_window(&mut h);
    let t0 = h.now;
    let times = answer_probes(&mut h, &conn, t0, Duration::from_secs(3000));
    assert!(times.len() > 20, "{times:?}");
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    assert_eq!(h.stack.stats().tcp_ext.tcp_win_probe, times.len() as u64);
    assert_eq!(h.stack.stats().tcp_ext.tcp_abort_on_timeout, 0);
}

/// `tcp_probe_timer` with `TCP_USER_TIMEOUT`: even a peer that answers every probe cannot
/// hold the data back longer than the user timeout counted from the first probe
/// (`icsk_probes_tstamp`); the last wait is cut to end on time
/// (`tcp_clamp_probe0_to_user_timeout`), then ETIMEDOUT and TCPAbortOnTimeout, no RST.
#[test]
fn user_timeout_bounds_zero_window_probing() {
    let mut h = setup();
    let (s, conn) = zero_window(&mut h);
    h.stack.tcp_set_user_timeout(s, 10_000).unwrap();
    let t0 = h.now;
    let times = answer_probes(&mut h, &conn, t0, Duration::from_secs(30));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert!(has_event(&mut h, Event::Error(s)));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ETIMEDOUT)));
    assert_eq!(h.stack.stats().tcp_ext.tcp_abort_on_timeout, 1);
    // The first probe at one RTO (200 ms), backing off: 200, 600, 1400, 3000, 6200 ms;
    // then the wait is clamped to the user timeout: the abort comes 10 s after the first.
    assert_eq!(times, [200, 600, 1400, 3000, 6200], "{times:?}");
    assert_eq!(h.stack.stats().tcp_ext.tcp_win_probe, 5);
}

/// `tcp_write_timeout` in SYN-SENT with `TCP_USER_TIMEOUT` = 3000 ms: the SYN goes at 0 and
/// is retransmitted at 1 s; the next RTO (2 s) is clamped to what is left of the user
/// timeout, and at 3 s the connect fails with ETIMEDOUT instead of retransmitting.
#[test]
fn user_timeout_bounds_syn_retransmissions() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    h.stack.tcp_set_user_timeout(s, 3_000).unwrap();
    let t0 = h.now;
    assert_eq!(
        h.stack
            .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT)),
        Err(Errno::EINPROGRESS)
    );
    let first = one(&mut h);
    assert_eq!(first.flag_str(), "S");
    let sent: Vec<u64> = h
        .advance(Duration::from_secs(10))
        .iter()
        .map(|(t, f)| {
            assert_eq!(parse_tcp(f).unwrap().flag_str(), "S");
            t.saturating_since(t0).as_millis() as u64
        })
        .collect();
    assert_eq!(sent, [1000]);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ETIMEDOUT)));
    assert_eq!(h.stack.stats().tcp.attempt_fails, 1);
    assert_eq!(h.stack.stats().tcp_ext.tcp_syn_retrans, 1);
}

/// Without the option the SYN is retransmitted at 1, 3, 7 s ... (`tcp_syn_retries` = 6).
#[test]
fn syn_retransmissions_without_user_timeout_continue() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    let t0 = h.now;
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let _ = one(&mut h);
    let sent: Vec<u64> = h
        .advance(Duration::from_secs(10))
        .iter()
        .map(|(t, _)| t.saturating_since(t0).as_secs())
        .collect();
    assert_eq!(sent, [1, 3, 7]);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::SynSent));
}

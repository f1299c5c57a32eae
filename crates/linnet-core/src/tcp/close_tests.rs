//! Rule tests: closing: the active close through FIN-WAIT and TIME-WAIT, the passive close
//! through CLOSE-WAIT and LAST-ACK, half-close, simultaneous close, aborts (unread data,
//! data after close), the orphan FIN-WAIT-2 timeout and TIME-WAIT reuse.

use core::net::SocketAddrV4;

use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;
use crate::{Errno, Event, Shutdown, TcpState};

/// RFC 9293 §3.6 active close: close() sends FIN (FIN-WAIT-1); its ACK moves to FIN-WAIT-2;
/// the peer's FIN is ACKed at once and the connection sits in TIME-WAIT for 2*MSL (Linux
/// `TCP_TIMEWAIT_LEN`, 60 s), re-ACKing a retransmitted FIN and restarting the timer; then
/// it is gone (TW counted) and a late segment draws a RST.
#[test]
fn active_close_walks_fin_wait_into_time_wait_for_60s() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    let port = conn.our_port;
    h.stack.tcp_close(s).unwrap();
    assert_eq!(
        h.stack.tcp_state(s),
        Err(Errno::EBADF),
        "the handle is gone"
    );
    let fin = one(&mut h);
    assert_eq!(fin.flag_str(), "F.");
    assert_eq!((fin.seq, fin.ack), (conn.our_nxt, Some(conn.peer_nxt)));
    assert_eq!(state_of(&mut h, port, PEER_PORT), Some(TcpState::FinWait1));
    conn.our_nxt += 1;
    assert!(send(&mut h, &conn.ack()).is_empty());
    assert_eq!(state_of(&mut h, port, PEER_PORT), Some(TcpState::FinWait2));
    let peer_fin = conn.fin();
    let ack = send(&mut h, &peer_fin);
    assert_eq!(ack.len(), 1);
    assert_eq!(ack[0].ack, Some(conn.peer_nxt));
    assert_eq!(state_of(&mut h, port, PEER_PORT), Some(TcpState::TimeWait));
    let _ = h.advance(Duration::from_secs(30));
    // The peer did not hear our ACK: its FIN again, ACKed again, the 60 s start over.
    let again = send(&mut h, &peer_fin);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].ack, Some(conn.peer_nxt));
    let _ = h.advance(Duration::from_millis(59_900));
    assert_eq!(state_of(&mut h, port, PEER_PORT), Some(TcpState::TimeWait));
    let _ = h.advance(Duration::from_millis(200));
    assert_eq!(state_of(&mut h, port, PEER_PORT), None);
    assert_eq!(h.stack.tcp_socket_count(), 0);
    assert_eq!(h.stack.stats().tcp_ext.tw, 1);
    let late = send(&mut h, &conn.ack());
    assert_eq!(late[0].flag_str(), "R");
    let st = h.stack.stats().tcp;
    assert_eq!((st.curr_estab, st.estab_resets), (0, 0));
}

/// RFC 9293 §3.6 passive close: the peer's FIN moves to CLOSE-WAIT and reads return 0;
/// its ACK is delayed (Linux enters pingpong mode so it can ride on our FIN); close() sends
/// FIN+ACK (LAST-ACK) and the ACK of our FIN frees the socket.
#[test]
fn passive_close_goes_close_wait_then_last_ack() {
    let mut h = setup();
    let (_l, c, mut conn) = open_passive(&mut h);
    assert!(
        send(&mut h, &conn.fin()).is_empty(),
        "ACK of the FIN is delayed"
    );
    assert_eq!(h.stack.tcp_state(c), Ok(TcpState::CloseWait));
    assert!(has_event(&mut h, Event::Readable(c)));
    let mut b = [0u8; 8];
    assert_eq!(h.stack.tcp_recv(c, &mut b), Ok(0), "end of stream");
    assert_eq!(
        h.stack.stats().tcp.curr_estab,
        1,
        "CLOSE-WAIT counts as established"
    );
    // We may still send in CLOSE-WAIT.
    h.stack.tcp_send(c, b"bye").unwrap();
    let d = one(&mut h);
    assert_eq!(
        (d.payload.as_slice(), d.ack),
        (&b"bye"[..], Some(conn.peer_nxt))
    );
    conn.our_nxt += 3;
    h.stack.tcp_close(c).unwrap();
    let fin = one(&mut h);
    assert_eq!(fin.flag_str(), "F.");
    assert_eq!(
        state_of(&mut h, OUR_PORT, PEER_PORT),
        Some(TcpState::LastAck)
    );
    assert_eq!(h.stack.stats().tcp.curr_estab, 0);
    conn.our_nxt += 1;
    assert!(send(&mut h, &conn.ack()).is_empty());
    assert_eq!(state_of(&mut h, OUR_PORT, PEER_PORT), None);
    assert_eq!(h.stack.tcp_socket_count(), 1, "only the listener is left");
    assert_eq!(h.stack.stats().tcp.estab_resets, 0);
}

/// Half-close (RFC 9293 §3.6, `shutdown(SHUT_WR)`): our FIN goes after the data, sends
/// fail with EPIPE, and data from the peer still arrives until its FIN; the socket the
/// application holds ends in CLOSE while a TIME-WAIT socket keeps the 4-tuple.
#[test]
fn shutdown_write_half_closes_and_still_receives() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, b"last words").unwrap();
    let _ = one(&mut h);
    h.stack.tcp_shutdown(s, Shutdown::Write).unwrap();
    // The FIN is not held by Nagle behind the unacknowledged small segment.
    let fin = one(&mut h);
    assert_eq!(h.stack.tcp_send(s, b"x"), Err(Errno::EPIPE));
    conn.our_nxt += 10;
    assert!(fin.flags.fin);
    assert_eq!(fin.seq, conn.our_nxt);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::FinWait1));
    conn.our_nxt += 1;
    let _ = send(&mut h, &conn.ack());
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::FinWait2));
    let _ = send(&mut h, &conn.data(b"reply"));
    let _ = send(&mut h, &conn.fin());
    assert_eq!(read_all(&mut h, s), b"reply");
    let mut b = [0u8; 4];
    assert_eq!(h.stack.tcp_recv(s, &mut b), Ok(0));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert_eq!(
        state_of(&mut h, conn.our_port, PEER_PORT),
        Some(TcpState::TimeWait)
    );
    h.stack.tcp_close(s).unwrap();
    assert!(
        out(&mut h).is_empty(),
        "no RST: the connection ended cleanly"
    );
    assert_eq!(h.stack.stats().tcp.estab_resets, 0);
}

/// Linux `tcp_close`: closing with unread data aborts: RST+ACK at SND.NXT instead of FIN
/// (TCPAbortOnClose, EstabResets, OutRsts), and the connection is gone at once.
#[test]
fn close_with_unread_data_sends_rst() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    let _ = send(&mut h, &conn.data(b"never read"));
    h.stack.tcp_close(s).unwrap();
    let r = one(&mut h);
    assert_eq!(r.flag_str(), "R.");
    assert_eq!((r.seq, r.ack), (conn.our_nxt, Some(conn.peer_nxt)));
    let st = h.stack.stats();
    assert_eq!(st.tcp_ext.tcp_abort_on_close, 1);
    assert_eq!(
        (st.tcp.estab_resets, st.tcp.out_rsts, st.tcp.curr_estab),
        (1, 1, 0)
    );
    assert_eq!(state_of(&mut h, conn.our_port, PEER_PORT), None);
}

/// RFC 1122 §4.2.2.13 / Linux `tcp_rcv_state_process`: data arriving after the application
/// closed cannot be delivered: the connection is reset (TCPAbortOnData).
#[test]
fn data_after_close_resets_the_connection() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_close(s).unwrap();
    let _fin = one(&mut h);
    let r = send(&mut h, &conn.data(b"too late"));
    assert_eq!(r.len(), 1);
    assert!(r[0].flags.rst);
    assert_eq!(h.stack.stats().tcp_ext.tcp_abort_on_data, 1);
    assert_eq!(state_of(&mut h, conn.our_port, PEER_PORT), None);
}

/// `tcp_fin_timeout` (60 s): a closed socket whose FIN was ACKed waits in FIN-WAIT-2 at most
/// that long for the peer's FIN, then disappears silently.
#[test]
fn orphan_fin_wait2_times_out_after_tcp_fin_timeout() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_close(s).unwrap();
    let _ = one(&mut h);
    conn.our_nxt += 1;
    let _ = send(&mut h, &conn.ack());
    let _ = h.advance(Duration::from_millis(59_900));
    assert_eq!(
        state_of(&mut h, conn.our_port, PEER_PORT),
        Some(TcpState::FinWait2)
    );
    let quiet = h.advance(Duration::from_millis(200));
    assert!(quiet.is_empty(), "no segment when FIN-WAIT-2 times out");
    assert_eq!(state_of(&mut h, conn.our_port, PEER_PORT), None);
    let late = send(&mut h, &conn.fin());
    assert!(late[0].flags.rst);
}

/// RFC 9293 §3.6 figure 13, simultaneous close: FINs cross; each side ACKs the other's FIN
/// from CLOSING, and the ACK of our FIN leads to TIME-WAIT.
#[test]
fn simultaneous_close_goes_through_closing() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_close(s).unwrap();
    let _our_fin = one(&mut h);
    let ack = send(&mut h, &conn.fin());
    assert_eq!(ack.len(), 1);
    assert_eq!(ack[0].ack, Some(conn.peer_nxt));
    assert_eq!(
        state_of(&mut h, conn.our_port, PEER_PORT),
        Some(TcpState::Closing)
    );
    conn.our_nxt += 1;
    let _ = send(&mut h, &conn.ack());
    assert_eq!(
        state_of(&mut h, conn.our_port, PEER_PORT),
        Some(TcpState::TimeWait)
    );
}

/// `tcp_timewait_state_process`: a new SYN with a higher sequence number reuses a
/// TIME-WAIT 4-tuple: the listener answers it, with an ISN past the old connection's.
#[test]
fn new_syn_reuses_a_time_wait_tuple() {
    let mut h = setup();
    let (_l, c, mut conn) = open_passive(&mut h);
    h.stack.tcp_close(c).unwrap();
    let fin = one(&mut h);
    conn.our_nxt += 1;
    let _ = send(&mut h, &conn.ack());
    let _ = send(&mut h, &conn.fin());
    assert_eq!(
        state_of(&mut h, OUR_PORT, PEER_PORT),
        Some(TcpState::TimeWait)
    );
    let syn = TcpSeg {
        seq: conn.peer_nxt + 100_000,
        ..peer_syn(PEER_PORT)
    };
    let sa = send(&mut h, &syn);
    assert_eq!(sa.len(), 1);
    assert_eq!(sa[0].flag_str(), "S.");
    assert_eq!(sa[0].seq, fin.seq + 1 + 65_535 + 2);
    assert_eq!(
        state_of(&mut h, OUR_PORT, PEER_PORT),
        Some(TcpState::SynRecv)
    );
    let _ = SocketAddrV4::new(PEER_IP, PEER_PORT);
}

//! Rule tests: listening: the SYN queue and the accept queue bounded by the backlog
//! (Linux `inet_csk_reqsk_queue_is_full`, `sk_acceptq_is_full`), SYN-ACK retransmission,
//! embryonic resets, listener teardown, port reuse.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;
use crate::{Errno, TcpState};

/// `sk_acceptq_is_full` (sk_ack_backlog > sk_max_ack_backlog): with backlog 1 two
/// connections may wait in the accept queue; a SYN beyond that is dropped without a SYN-ACK
/// and counted in ListenOverflows and ListenDrops. Accepting makes room again.
#[test]
fn full_accept_queue_drops_syn_and_counts_listen_overflows() {
    let mut h = setup();
    let l = listener(&mut h, 1);
    let _a = peer_connects(&mut h, 40_001);
    let _b = peer_connects(&mut h, 40_002);
    assert!(send(&mut h, &peer_syn(40_003)).is_empty(), "SYN dropped");
    let st = h.stack.stats().tcp_ext;
    assert_eq!((st.listen_overflows, st.listen_drops), (1, 1));
    assert_eq!(
        h.stack
            .stats()
            .drops_for(crate::DropReason::TcpListenOverflow),
        1
    );
    assert!(h.stack.tcp_accept(l).is_ok());
    assert!(h.stack.tcp_accept(l).is_ok());
    assert_eq!(h.stack.tcp_accept(l), Err(Errno::EAGAIN));
    let sa = send(&mut h, &peer_syn(40_003));
    assert_eq!(sa.len(), 1, "room again");
    assert_eq!(h.stack.stats().tcp.passive_opens, 2);
}

/// `inet_csk_reqsk_queue_is_full` with `tcp_syncookies = 0`: once `backlog` handshakes are
/// pending, further SYNs are dropped (TCPReqQFullDrop, ListenDrops).
#[test]
fn full_syn_queue_drops_syn_without_cookies() {
    let cfg = crate::StackConfig {
        tcp_syncookies: 0,
        ..crate::StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1).with_static_peer();
    let _l = listener(&mut h, 2);
    assert_eq!(send(&mut h, &peer_syn(40_001)).len(), 1);
    assert_eq!(send(&mut h, &peer_syn(40_002)).len(), 1);
    assert!(send(&mut h, &peer_syn(40_003)).is_empty());
    let st = h.stack.stats().tcp_ext;
    assert_eq!((st.tcp_req_q_full_drop, st.listen_drops), (1, 1));
}

/// `tcp_v4_syn_recv_sock` exit_overflow: the ACK completing a handshake while the accept
/// queue is over the backlog is dropped (ListenOverflows); the embryonic connection stays
/// (its SYN-ACK retransmitted on its timer), and the peer's next segment completes it once
/// the application has accepted.
#[test]
fn handshake_ack_on_full_accept_queue_is_dropped_then_retried() {
    let mut h = setup();
    let l = listener(&mut h, 2);
    let _a = peer_connects(&mut h, 40_001);
    let _b = peer_connects(&mut h, 40_002);
    let sc = send(&mut h, &peer_syn(40_003)).remove(0);
    let sd = send(&mut h, &peer_syn(40_004)).remove(0);
    let ack_c = TcpSeg {
        sport: 40_003,
        dport: OUR_PORT,
        seq: PEER_ISN + 1,
        ack: Some(sc.seq + 1),
        window: 65_535,
        ..TcpSeg::default()
    };
    assert!(send(&mut h, &ack_c).is_empty());
    let ack_d = TcpSeg {
        sport: 40_004,
        ack: Some(sd.seq + 1),
        ..ack_c.clone()
    };
    assert!(send(&mut h, &ack_d).is_empty());
    assert_eq!(h.stack.stats().tcp_ext.listen_overflows, 1);
    assert_eq!(state_of(&mut h, OUR_PORT, 40_004), Some(TcpState::SynRecv));
    // While it waits its SYN-ACK is still retransmitted (`syn_ack_recalc`: without
    // TCP_DEFER_ACCEPT `resend` is always 1), drawing the peer's ACK again.
    let re = h.advance(Duration::from_secs(2));
    assert_eq!(re.len(), 1, "{re:#?}");
    let re = parse_tcp(&re[0].1).unwrap();
    assert_eq!((re.flag_str().as_str(), re.dport), ("S.", 40_004));
    for _ in 0..3 {
        h.stack.tcp_accept(l).unwrap();
    }
    let data = TcpSeg {
        payload: b"hi".to_vec(),
        psh: true,
        ..ack_d
    };
    let acks = send(&mut h, &data);
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].ack, Some(PEER_ISN + 3));
    let (d, from) = h.stack.tcp_accept(l).unwrap();
    assert_eq!(from.port(), 40_004);
    assert_eq!(read_all(&mut h, d), b"hi");
}

/// `reqsk_timer_handler` (tcp_synack_retries = 5): an unanswered SYN-ACK is sent again after
/// 1, 2, 4, 8 and 16 s (TCPSynRetrans, RetransSegs), and the embryonic connection is dropped
/// silently 32 s later.
#[test]
fn syn_ack_is_retransmitted_then_the_request_expires() {
    let mut h = setup();
    let _l = listener(&mut h, 4);
    let sa = send(&mut h, &peer_syn(PEER_PORT)).remove(0);
    let t0 = h.now;
    let sent = h.advance(Duration::from_secs(100));
    let times: alloc::vec::Vec<u64> = sent
        .iter()
        .map(|(t, f)| {
            let s = parse_tcp(f).unwrap();
            assert_eq!((s.flag_str().as_str(), s.seq), ("S.", sa.seq));
            t.saturating_since(t0).as_secs()
        })
        .collect();
    assert_eq!(times, [1, 3, 7, 15, 31]);
    assert_eq!(state_of(&mut h, OUR_PORT, PEER_PORT), None);
    let st = h.stack.stats();
    assert_eq!((st.tcp_ext.tcp_syn_retrans, st.tcp.retrans_segs), (5, 5));
    assert_eq!(h.stack.tcp_socket_count(), 1);
}

/// `tcp_check_req`: a retransmitted SYN for a pending handshake gets the SYN-ACK again;
/// a RST in the window ends it silently (EmbryonicRsts, AttemptFails).
#[test]
fn embryonic_connection_answers_syn_again_and_dies_on_rst() {
    let mut h = setup();
    let _l = listener(&mut h, 4);
    let sa = send(&mut h, &peer_syn(PEER_PORT)).remove(0);
    let again = send(&mut h, &peer_syn(PEER_PORT));
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].seq, sa.seq);
    let rst = TcpSeg {
        sport: PEER_PORT,
        dport: OUR_PORT,
        seq: PEER_ISN + 1,
        rst: true,
        ..TcpSeg::default()
    };
    assert!(send(&mut h, &rst).is_empty());
    assert_eq!(state_of(&mut h, OUR_PORT, PEER_PORT), None);
    let st = h.stack.stats();
    assert_eq!((st.tcp_ext.embryonic_rsts, st.tcp.attempt_fails), (1, 1));
}

/// RFC 9293 §3.10.7.2: in LISTEN an ACK draws `<SEQ=SEG.ACK><CTL=RST>`, a RST is ignored.
#[test]
fn listener_resets_stray_ack_and_ignores_rst() {
    let mut h = setup();
    let _l = listener(&mut h, 4);
    let ack = TcpSeg {
        sport: PEER_PORT,
        dport: OUR_PORT,
        seq: 5,
        ack: Some(99),
        ..TcpSeg::default()
    };
    let r = send(&mut h, &ack).remove(0);
    assert_eq!((r.flag_str().as_str(), r.seq), ("R", 99));
    let rst = TcpSeg {
        rst: true,
        ack: None,
        ..ack
    };
    assert!(send(&mut h, &rst).is_empty());
}

/// `inet_csk_listen_stop`: closing a listener resets the connections waiting to be accepted
/// and drops the pending handshakes silently.
#[test]
fn closing_listener_resets_unaccepted_connections() {
    let mut h = setup();
    let l = listener(&mut h, 4);
    let a = peer_connects(&mut h, 40_001);
    let _ = send(&mut h, &peer_syn(40_002));
    h.stack.tcp_close(l).unwrap();
    let segs = out(&mut h);
    assert_eq!(segs.len(), 1, "{segs:#?}");
    assert_eq!(segs[0].flag_str(), "R.");
    assert_eq!(segs[0].dport, 40_001);
    assert_eq!(segs[0].seq, a.our_nxt);
    assert_eq!(h.stack.tcp_socket_count(), 0);
    assert_eq!(h.stack.stats().tcp.curr_estab, 0);
}

/// Ports: a listener's port refuses a second bind; an ephemeral port comes with listen()
/// on an unbound socket; SO_REUSEADDR (set by the old server and the new one) lets a new
/// listener bind a port still held by a TIME-WAIT connection, which plain bind refuses.
#[test]
fn port_ownership_and_reuseaddr() {
    let mut h = setup();
    let l = h.stack.tcp_socket().unwrap();
    h.stack.tcp_set_reuseaddr(l, true).unwrap();
    h.stack
        .tcp_bind(l, SocketAddrV4::new(OUR_IP, OUR_PORT))
        .unwrap();
    h.stack.tcp_listen(l, 4).unwrap();
    let other = h.stack.tcp_socket().unwrap();
    assert_eq!(
        h.stack
            .tcp_bind(other, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, OUR_PORT)),
        Err(Errno::EADDRINUSE)
    );
    let auto = h.stack.tcp_socket().unwrap();
    h.stack.tcp_listen(auto, 1).unwrap();
    let port = h.stack.tcp_local_addr(auto).unwrap().port();
    assert!((32768..=60999).contains(&port));
    assert_eq!(h.stack.tcp_accept(other), Err(Errno::EINVAL));
    // A connection closed by us sits in TIME-WAIT holding OUR_PORT.
    let mut conn = peer_connects(&mut h, PEER_PORT);
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    h.stack.tcp_close(l).unwrap();
    h.stack.tcp_close(c).unwrap();
    let _ = out(&mut h);
    conn.our_nxt += 1;
    let _ = send(&mut h, &conn.ack());
    let _ = send(&mut h, &conn.fin());
    assert_eq!(
        state_of(&mut h, OUR_PORT, PEER_PORT),
        Some(TcpState::TimeWait)
    );
    let n = h.stack.tcp_socket().unwrap();
    assert_eq!(
        h.stack.tcp_bind(n, SocketAddrV4::new(OUR_IP, OUR_PORT)),
        Err(Errno::EADDRINUSE)
    );
    h.stack.tcp_set_reuseaddr(n, true).unwrap();
    h.stack
        .tcp_bind(n, SocketAddrV4::new(OUR_IP, OUR_PORT))
        .unwrap();
    h.stack.tcp_listen(n, 4).unwrap();
}

/// A connection reset while it waits in the accept queue stays there in CLOSE, as in Linux
/// (`tcp_done` does not destroy a socket that is not orphaned): accept() returns it and the
/// application reads ECONNRESET.
#[test]
fn connection_reset_before_accept_is_still_accepted_with_its_error() {
    let mut h = setup();
    let l = listener(&mut h, 4);
    let conn = peer_connects(&mut h, PEER_PORT);
    let rst = TcpSeg {
        rst: true,
        ack: None,
        ..conn.ack()
    };
    assert!(send(&mut h, &rst).is_empty());
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    assert_eq!(h.stack.tcp_state(c), Ok(TcpState::Close));
    let mut b = [0u8; 4];
    assert_eq!(h.stack.tcp_recv(c, &mut b), Err(Errno::ECONNRESET));
    assert_eq!(h.stack.stats().tcp.estab_resets, 1);
}

/// An out-of-order FIN with no data is remembered and takes effect when the data before
/// it arrives (the end of stream follows the last byte).
#[test]
fn out_of_order_fin_closes_once_the_hole_is_filled() {
    let mut h = setup();
    let (_l, c, mut conn) = open_passive(&mut h);
    let a = conn.data(b"abc");
    let fin = conn.fin();
    let _ = send(&mut h, &fin);
    assert_eq!(h.stack.tcp_state(c), Ok(TcpState::Established));
    let acks = send(&mut h, &a);
    assert_eq!(acks.last().and_then(|x| x.ack), Some(conn.peer_nxt));
    assert_eq!(h.stack.tcp_state(c), Ok(TcpState::CloseWait));
    assert_eq!(read_all(&mut h, c), b"abc");
    let mut b = [0u8; 4];
    assert_eq!(h.stack.tcp_recv(c, &mut b), Ok(0));
}

//! Rule tests: opening connections (active, passive, simultaneous), SYN options, SYN
//! retransmission, and the errors of the socket calls around them.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::test_peer::*;
use crate::testutil::*;
use crate::time::{Duration, Instant};
use crate::{Errno, Event, TcpState};

/// Linux's SYN (`tcp_syn_options` written by `tcp_options_write`): MSS 1460, then
/// SACK-permitted and timestamps sharing a word, then NOP + window scale 7; the window is
/// 64240 (44 * 1460, from tcp_rmem[1] = 131072) and the scale comes from tcp_rmem[2] = 6 MiB.
/// connect() returns EINPROGRESS and counts ActiveOpens; the SYN-ACK completes it.
#[test]
fn active_open_sends_syn_with_linux_option_layout() {
    let mut h = setup();
    let (s, conn, syn) = open_active(&mut h, false);
    let tsval = syn.ts.expect("timestamps offered").0;
    let t = tsval.to_be_bytes();
    assert_eq!(
        syn.options,
        [2, 4, 0x05, 0xb4, 4, 2, 8, 10, t[0], t[1], t[2], t[3], 0, 0, 0, 0, 1, 3, 3, 7]
    );
    assert_eq!(syn.window, 64_240);
    assert_eq!(syn.dport, PEER_PORT);
    assert!((32768..=60999).contains(&syn.sport));
    assert!(syn.ip.ip.dont_frag, "TCP sets DF");
    assert_eq!(h.stack.stats().tcp.active_opens, 1);
    assert_eq!(h.stack.stats().tcp.curr_estab, 1);
    assert!(has_event(&mut h, Event::Connected(s)));
    assert_eq!(
        h.stack.tcp_peer_addr(s),
        Ok(SocketAddrV4::new(PEER_IP, PEER_PORT))
    );
    assert_eq!(
        h.stack.tcp_local_addr(s),
        Ok(SocketAddrV4::new(OUR_IP, conn.our_port))
    );
    // The handshake ACK carries a timestamp echoing the peer's and a scaled window.
    let _ = conn;
}

/// The final ACK of an active open echoes the peer's TSval, and the window is scaled by
/// our shift.
#[test]
fn handshake_ack_echoes_timestamp_and_scales_window() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    let synack = TcpSeg {
        sport: PEER_PORT,
        dport: syn.sport,
        seq: PEER_ISN,
        ack: Some(syn.seq + 1),
        syn: true,
        window: 65_160,
        mss: Some(1460),
        sack_perm: true,
        wscale: Some(7),
        ts: Some((777, syn.ts.unwrap().0)),
        ..TcpSeg::default()
    };
    let ack = send(&mut h, &synack).remove(0);
    assert_eq!(ack.flag_str(), ".");
    assert_eq!(ack.seq, syn.seq + 1);
    assert_eq!(ack.ts.map(|t| t.1), Some(777));
    // 64240 rounded up to the scale: 502 << 7 (what Linux's handshake ACK shows).
    assert_eq!(ack.window, 502);
    // Only the timestamp option now (NOP NOP TS).
    assert_eq!(&ack.options[..4], &[1, 1, 8, 10]);
}

/// RFC 9293 §3.10.7.2 / Linux `tcp_conn_request`: a SYN to a listener is answered with a
/// SYN-ACK carrying the options the SYN offered (here all four), a window of 65160 (45 *
/// 1448: the MSS less the timestamp option) and our scale; the final ACK makes the
/// connection acceptable (PassiveOpens, Acceptable event).
#[test]
fn passive_open_answers_syn_ack_and_accepts() {
    let mut h = setup();
    let l = listener(&mut h, 8);
    assert_eq!(h.stack.tcp_accept(l), Err(Errno::EAGAIN));
    let syn = TcpSeg {
        sack_perm: true,
        wscale: Some(7),
        ts: Some((1234, 0)),
        ..peer_syn(PEER_PORT)
    };
    let sa = send(&mut h, &syn).remove(0);
    assert_eq!(sa.flag_str(), "S.");
    assert_eq!(sa.ack, Some(PEER_ISN + 1));
    assert_eq!(sa.mss, Some(1460));
    assert_eq!(sa.wscale, Some(7));
    assert!(sa.sack_perm);
    assert_eq!(sa.ts.map(|t| t.1), Some(1234));
    assert_eq!(sa.window, 65_160);
    let t = sa.ts.unwrap().0.to_be_bytes();
    assert_eq!(
        sa.options,
        [2, 4, 0x05, 0xb4, 4, 2, 8, 10, t[0], t[1], t[2], t[3], 0, 0, 0x04, 0xd2, 1, 3, 3, 7]
    );
    assert_eq!(
        h.stack.tcp_accept(l),
        Err(Errno::EAGAIN),
        "not before the ACK"
    );
    assert_eq!(h.stack.stats().tcp.passive_opens, 0);
    let conn = Conn {
        our_port: OUR_PORT,
        peer_port: PEER_PORT,
        our_nxt: sa.seq + 1,
        peer_nxt: PEER_ISN + 1,
        window: 512,
    };
    let ack = TcpSeg {
        ts: Some((1235, sa.ts.unwrap().0)),
        ..conn.ack()
    };
    assert!(send(&mut h, &ack).is_empty());
    assert!(has_event(&mut h, Event::Acceptable(l)));
    let (c, from) = h.stack.tcp_accept(l).unwrap();
    assert_eq!(from, SocketAddrV4::new(PEER_IP, PEER_PORT));
    assert_eq!(h.stack.tcp_state(c), Ok(TcpState::Established));
    assert_eq!(
        h.stack.tcp_local_addr(c),
        Ok(SocketAddrV4::new(OUR_IP, OUR_PORT))
    );
    let st = h.stack.stats().tcp;
    assert_eq!((st.passive_opens, st.curr_estab), (1, 1));
    assert_eq!(h.stack.tcp_accept(l), Err(Errno::EAGAIN));
}

/// `tcp_synack_options`: a SYN with only an MSS gets a SYN-ACK with only an MSS, and an
/// unscaled window no larger than 65535.
#[test]
fn syn_ack_echoes_only_options_the_syn_offered() {
    let mut h = setup();
    let _l = listener(&mut h, 8);
    let sa = send(&mut h, &peer_syn(PEER_PORT)).remove(0);
    assert_eq!(sa.options, [2, 4, 0x05, 0xb4]);
    assert_eq!(sa.window, 65_535 / 1460 * 1460);
}

/// RFC 9293 §3.5 figure 7, simultaneous open: our SYN crosses the peer's; we answer its SYN
/// with SYN-ACK (same ISS) in SYN-RECEIVED, and its SYN-ACK completes the connection.
#[test]
fn simultaneous_open_goes_through_syn_received() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    h.stack
        .tcp_bind(s, SocketAddrV4::new(OUR_IP, 5555))
        .unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    let peer_syn = TcpSeg {
        sport: PEER_PORT,
        dport: 5555,
        seq: PEER_ISN,
        syn: true,
        window: 65_535,
        mss: Some(1460),
        ..TcpSeg::default()
    };
    let sa = send(&mut h, &peer_syn).remove(0);
    assert_eq!(sa.flag_str(), "S.");
    assert_eq!(sa.seq, syn.seq, "the SYN-ACK is our SYN again");
    assert_eq!(sa.ack, Some(PEER_ISN + 1));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::SynRecv));
    // The peer's SYN-ACK (its answer to our SYN).
    let peer_synack = TcpSeg {
        ack: Some(syn.seq + 1),
        ..peer_syn
    };
    let _ = send(&mut h, &peer_synack);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    assert!(has_event(&mut h, Event::Connected(s)));
    assert_eq!(h.stack.stats().tcp.curr_estab, 1);
}

/// RFC 9293 §3.10.7.3: in SYN-SENT, "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset
/// <SEQ=SEG.ACK><CTL=RST>" (and no connection state changes).
#[test]
fn syn_sent_unacceptable_ack_gets_reset_from_its_ack() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    let bad = TcpSeg {
        sport: PEER_PORT,
        dport: syn.sport,
        seq: PEER_ISN,
        ack: Some(syn.seq + 1000),
        syn: true,
        window: 1000,
        ..TcpSeg::default()
    };
    let r = send(&mut h, &bad).remove(0);
    assert_eq!(r.flag_str(), "R");
    assert_eq!(r.seq, syn.seq + 1000);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::SynSent));
    // A RST without ACK in SYN-SENT is dropped.
    let rst = TcpSeg {
        ack: None,
        syn: false,
        rst: true,
        ..bad
    };
    assert!(send(&mut h, &rst).is_empty());
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::SynSent));
}

/// `tcp_reset` in SYN-SENT: a RST with an acceptable ACK refuses the connection:
/// ECONNREFUSED through SO_ERROR, AttemptFails, state CLOSE.
#[test]
fn rst_in_syn_sent_is_connection_refused() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    let rst = TcpSeg {
        sport: PEER_PORT,
        dport: syn.sport,
        seq: 0,
        ack: Some(syn.seq + 1),
        rst: true,
        ..TcpSeg::default()
    };
    assert!(send(&mut h, &rst).is_empty());
    assert!(has_event(&mut h, Event::Error(s)));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ECONNREFUSED)));
    assert_eq!(h.stack.tcp_take_error(s), Ok(None));
    assert_eq!(h.stack.stats().tcp.attempt_fails, 1);
    // Afterwards: send is EPIPE, recv ENOTCONN... and a new connect is allowed.
    assert_eq!(h.stack.tcp_send(s, b"x"), Err(Errno::EPIPE));
    let mut b = [0u8; 4];
    assert_eq!(
        h.stack.tcp_recv(s, &mut b),
        Ok(0),
        "RCV_SHUTDOWN after tcp_done"
    );
    assert_eq!(
        h.stack
            .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT)),
        Err(Errno::EINPROGRESS)
    );
}

/// `tcp_syn_retries` = 6 with `tcp_model_timeout`: SYNs at 0, 1, 3, 7, 15, 31 and 63 s,
/// then ETIMEDOUT at 127 s; six retransmissions counted (RetransSegs, TCPSynRetrans) and
/// one failed attempt.
#[test]
fn syn_retries_back_off_then_fail_with_etimedout() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let first = one(&mut h);
    let sent = h.advance(Duration::from_secs(200));
    let times: alloc::vec::Vec<u64> = sent
        .iter()
        .filter_map(|(t, f)| parse_tcp(f).map(|seg| (t, seg)))
        .map(|(t, seg)| {
            assert!(seg.flags.syn && seg.seq == first.seq);
            t.as_millis() / 1000
        })
        .collect();
    assert_eq!(times, [1, 3, 7, 15, 31, 63]);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert!(has_event(&mut h, Event::Error(s)));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ETIMEDOUT)));
    let st = h.stack.stats();
    assert_eq!(st.tcp.retrans_segs, 6);
    assert_eq!(st.tcp_ext.tcp_syn_retrans, 6);
    assert_eq!(st.tcp.attempt_fails, 1);
    assert_eq!(st.tcp.out_segs, 1);
}

/// The error codes of the socket calls around a connection (inet_stream_connect,
/// inet_bind, tcp_sendmsg, tcp_recvmsg): EALREADY while connecting, EISCONN after, EINVAL
/// on a second bind, EADDRINUSE on a taken port, EPIPE on send before connecting,
/// ENOTCONN on recv before connecting, ENETUNREACH without a route, EBADF after close.
#[test]
fn socket_call_errors_match_linux() {
    let mut h = setup();
    let a = h.stack.tcp_socket().unwrap();
    let mut b = [0u8; 8];
    assert_eq!(h.stack.tcp_send(a, b"x"), Err(Errno::EPIPE));
    assert_eq!(h.stack.tcp_recv(a, &mut b), Err(Errno::ENOTCONN));
    assert_eq!(h.stack.tcp_peer_addr(a), Err(Errno::ENOTCONN));
    h.stack
        .tcp_bind(a, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7000))
        .unwrap();
    assert_eq!(
        h.stack.tcp_bind(a, SocketAddrV4::new(OUR_IP, 7001)),
        Err(Errno::EINVAL)
    );
    let c = h.stack.tcp_socket().unwrap();
    assert_eq!(
        h.stack.tcp_bind(c, SocketAddrV4::new(OUR_IP, 7000)),
        Err(Errno::EADDRINUSE)
    );
    assert_eq!(
        h.stack
            .tcp_bind(c, SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 7002)),
        Err(Errno::EADDRNOTAVAIL)
    );
    assert_eq!(
        h.stack
            .tcp_connect(c, SocketAddrV4::new(Ipv4Addr::new(192, 0, 2, 1), 80)),
        Err(Errno::ENETUNREACH)
    );
    assert_eq!(
        h.stack.tcp_connect(a, SocketAddrV4::new(PEER_IP, 80)),
        Err(Errno::EINPROGRESS)
    );
    let _ = out(&mut h);
    assert_eq!(
        h.stack.tcp_connect(a, SocketAddrV4::new(PEER_IP, 80)),
        Err(Errno::EALREADY)
    );
    assert_eq!(h.stack.tcp_send(a, b"x"), Err(Errno::EAGAIN));
    assert_eq!(h.stack.tcp_listen(a, 1), Err(Errno::EINVAL));
    h.stack.tcp_close(a).unwrap();
    assert_eq!(h.stack.tcp_send(a, b"x"), Err(Errno::EBADF));
    assert_eq!(h.stack.tcp_close(a), Err(Errno::EBADF));
    // A UDP handle is not a TCP socket.
    let u = h.stack.udp_socket().unwrap();
    assert_eq!(h.stack.tcp_state(u), Err(Errno::EBADF));
    let (s, _, _) = open_active(&mut h, true);
    assert_eq!(
        h.stack.tcp_connect(s, SocketAddrV4::new(PEER_IP, 80)),
        Err(Errno::EISCONN)
    );
    let _ = Instant::ZERO;
}

/// `tcp_v4_err`: an ICMP port unreachable quoting our SYN ends the connect at once with
/// ECONNREFUSED (a connection still opening takes ICMP errors as hard errors); one quoting
/// a sequence number outside SND.UNA..SND.NXT is ignored (OutOfWindowIcmps).
#[test]
fn icmp_port_unreachable_in_syn_sent_refuses_the_connect() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    let quote = |seq: u32| {
        let mut q = syn.ip.packet[..20 + 8].to_vec();
        q[24..28].copy_from_slice(&seq.to_be_bytes());
        let icmp = icmp_error(3, 3, 0, &q);
        ip_frame(&ipv4_packet(
            PEER_IP,
            OUR_IP,
            crate::wire::ipv4::Protocol::ICMP,
            64,
            &icmp,
        ))
    };
    assert!(h.exchange(&quote(syn.seq.wrapping_add(5000))).is_empty());
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::SynSent));
    assert_eq!(h.stack.stats().tcp_ext.out_of_window_icmps, 1);
    assert!(h.exchange(&quote(syn.seq)).is_empty());
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
    assert!(has_event(&mut h, Event::Error(s)));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::ECONNREFUSED)));
    assert_eq!(h.stack.stats().tcp.attempt_fails, 1);
}

/// An ICMP error about an established connection is only a soft error: the connection
/// stays up, and the error is what the application sees if the connection then times out
/// (RFC 1122 §4.2.3.9).
#[test]
fn icmp_error_on_established_connection_is_soft() {
    let mut h = setup();
    let (s, _conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, b"x").unwrap();
    let d = one(&mut h);
    let q = d.ip.packet[..28].to_vec();
    let icmp = icmp_error(3, 1, 0, &q);
    let f = ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        crate::wire::ipv4::Protocol::ICMP,
        64,
        &icmp,
    ));
    assert!(h.exchange(&f).is_empty());
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    let _ = h.advance(Duration::from_secs(1100));
    assert_eq!(h.stack.tcp_take_error(s), Ok(Some(Errno::EHOSTUNREACH)));
}

/// With `IP_RECVERR` (`inet->recverr`) `tcp_v4_err` makes the same ICMP error a hard
/// error on an established connection: `sk_err` is set and reported (an Error event, the
/// next send fails with it once), and the connection goes on. An error quoting a sequence
/// number outside the window is still ignored (OutOfWindowIcmps).
#[test]
fn icmp_error_on_established_connection_is_hard_with_recverr() {
    let mut h = setup();
    let (s, _conn, _) = open_active(&mut h, true);
    assert_eq!(h.stack.tcp_recverr(s), Ok(false));
    h.stack.tcp_set_recverr(s, true).unwrap();
    assert_eq!(h.stack.tcp_recverr(s), Ok(true));
    h.stack.tcp_send(s, b"x").unwrap();
    let d = one(&mut h);
    let q = d.ip.packet[..28].to_vec();
    let icmp_frame = |code: u8, q: &[u8]| {
        ip_frame(&ipv4_packet(
            PEER_IP,
            OUR_IP,
            crate::wire::ipv4::Protocol::ICMP,
            64,
            &icmp_error(3, code, 0, q),
        ))
    };
    // Out of window first: the quoted sequence number moved past SND.NXT.
    let mut bad = q.clone();
    let seq = u32::from_be_bytes([bad[24], bad[25], bad[26], bad[27]]).wrapping_add(1000);
    bad[24..28].copy_from_slice(&seq.to_be_bytes());
    let before = h.stack.stats().tcp_ext.out_of_window_icmps;
    assert!(h.exchange(&icmp_frame(1, &bad)).is_empty());
    assert_eq!(h.stack.stats().tcp_ext.out_of_window_icmps, before + 1);
    h.events();
    // Host unreachable about our segment: hard.
    assert!(h.exchange(&icmp_frame(1, &q)).is_empty());
    assert!(h.events().contains(&Event::Error(s)));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    assert_eq!(h.stack.tcp_send(s, b"y"), Err(Errno::EHOSTUNREACH));
    // Reported once; the connection still carries data.
    assert_eq!(h.stack.tcp_send(s, b"y"), Ok(1));
    assert_eq!(h.stack.tcp_take_error(s), Ok(None));
}

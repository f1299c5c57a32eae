//! Rule tests: ECN (RFC 3168 §6.1; Linux `tcp_ecn` = 2 by default, `tcp_ecn_send_syn`,
//! `tcp_ecn_create_request`, `tcp_ecn_send`, `__tcp_ecn_check_ce`, `tcp_ecn_accept_cwr`,
//! `tcp_enter_cwr`).

use core::net::SocketAddrV4;

use super::test_peer::*;
use crate::tcp::{TCPI_OPT_ECN, TCPI_OPT_ECN_SEEN};
use crate::testutil::*;
use crate::time::Duration;
use crate::{SocketHandle, StackConfig, TcpState};

fn with_ecn(mode: u8) -> Harness {
    let cfg = StackConfig {
        tcp_ecn: mode,
        ..StackConfig::default()
    };
    Harness::with_config(cfg, 1).with_static_peer()
}

/// The IP ECN field of a segment we sent.
fn ecn_of(p: &TcpOut) -> u8 {
    p.ip.ip.tos & 3
}

/// The peer connects to a listener asking for ECN (ECE + CWR on the SYN); returns the
/// accepted socket, the connection and the SYN-ACK.
fn passive_ecn(h: &mut Harness) -> (SocketHandle, Conn, TcpOut) {
    let l = listener(h, 16);
    let syn = TcpSeg {
        ece: true,
        cwr: true,
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
    assert!(send(h, &conn.ack()).is_empty());
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    (c, conn, sa)
}

/// `tcp_ecn` = 2 (the default): our SYN does not ask for ECN, but a peer's SYN that asks
/// (ECE + CWR) gets a SYN-ACK with ECE only; then our new data segments carry ECT(0) in IP
/// while pure ACKs and the handshake do not; TCP_INFO shows the ECN option.
#[test]
fn default_accepts_ecn_and_marks_data_ect0() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    assert!(!syn.flags.ece && !syn.flags.cwr);

    let (c, mut conn, sa) = passive_ecn(&mut h);
    assert!(sa.flags.ece && !sa.flags.cwr, "{sa:#?}");
    assert_eq!(ecn_of(&sa), 0);
    h.stack.tcp_send(c, b"data").unwrap();
    let d = one(&mut h);
    assert_eq!(ecn_of(&d), 2, "ECT(0)");
    assert!(!d.flags.ece && !d.flags.cwr);
    let ack = send(&mut h, &conn.data(&[1u8; 3000]));
    assert!(!ack.is_empty());
    assert_eq!(ecn_of(&ack[0]), 0, "a pure ACK is not ECT");
    let i = h.stack.tcp_info(c).unwrap();
    assert_eq!(i.options & TCPI_OPT_ECN, TCPI_OPT_ECN);
}

/// A peer that does not ask gets no ECE, and our data is not ECT; `tcp_ecn` = 0 refuses a
/// peer that asks.
#[test]
fn no_ecn_without_request_or_when_disabled() {
    let mut h = setup();
    let (_l, c, _conn) = open_passive(&mut h);
    h.stack.tcp_send(c, b"x").unwrap();
    assert_eq!(ecn_of(&one(&mut h)), 0);
    let mut h = with_ecn(0);
    let (c, _conn, sa) = passive_ecn(&mut h);
    assert!(!sa.flags.ece);
    h.stack.tcp_send(c, b"x").unwrap();
    assert_eq!(ecn_of(&one(&mut h)), 0);
}

/// `tcp_ecn` = 1: the SYN carries ECE + CWR (and is not ECT); a SYN-ACK with ECE makes
/// the connection ECN-capable, one without it does not. A retransmitted SYN stops asking
/// (`tcp_ecn_fallback`).
#[test]
fn ecn_1_asks_on_syn_and_falls_back_on_retransmission() {
    let mut h = with_ecn(1);
    let s = h.stack.tcp_socket().unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    assert!(syn.flags.ece && syn.flags.cwr);
    assert_eq!(ecn_of(&syn), 0);
    let re = h.advance(Duration::from_millis(1001));
    let re = parse_tcp(&re[0].1).unwrap();
    assert!(re.flags.syn && !re.flags.ece && !re.flags.cwr, "{re:#?}");
    let synack = TcpSeg {
        sport: PEER_PORT,
        dport: syn.sport,
        seq: PEER_ISN,
        ack: Some(syn.seq + 1),
        syn: true,
        ece: true,
        window: 65_535,
        mss: Some(1460),
        ..TcpSeg::default()
    };
    let _ = send(&mut h, &synack);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    h.stack.tcp_send(s, b"x").unwrap();
    assert_eq!(ecn_of(&one(&mut h)), 2);

    let t = h.stack.tcp_socket().unwrap();
    let _ = h
        .stack
        .tcp_connect(t, SocketAddrV4::new(PEER_IP, PEER_PORT + 1));
    let syn = one(&mut h);
    let plain = TcpSeg {
        sport: PEER_PORT + 1,
        dport: syn.sport,
        seq: PEER_ISN,
        ack: Some(syn.seq + 1),
        syn: true,
        window: 65_535,
        mss: Some(1460),
        ..TcpSeg::default()
    };
    let _ = send(&mut h, &plain);
    h.stack.tcp_send(t, b"x").unwrap();
    assert_eq!(ecn_of(&one(&mut h)), 0);
}

/// `__tcp_ecn_check_ce`: a CE-marked data segment is ACKed at once with ECE, and every
/// segment carries ECE until the peer's CWR arrives (`tcp_ecn_accept_cwr`); ECT data sets
/// ECN_SEEN.
#[test]
fn ce_mark_is_echoed_with_ece_until_cwr() {
    let mut h = setup();
    let (c, mut conn, _) = passive_ecn(&mut h);
    let ect = TcpSeg {
        tos: 2,
        ..conn.data(b"one")
    };
    let _ = send(&mut h, &ect);
    let ce = TcpSeg {
        tos: 3,
        ..conn.data(b"two")
    };
    let r = send(&mut h, &ce);
    assert_eq!(r.len(), 1, "CE is ACKed at once: {r:#?}");
    assert!(r[0].flags.ece);
    let r = send(&mut h, &conn.data(&[0u8; 3000]));
    assert!(r.iter().all(|p| p.flags.ece), "{r:#?}");
    h.stack.tcp_send(c, b"reply").unwrap();
    assert!(one(&mut h).flags.ece);
    let cwr = TcpSeg {
        cwr: true,
        tos: 2,
        ..conn.data(b"three")
    };
    let r = send(&mut h, &cwr);
    assert_eq!(r.len(), 1, "a data segment with CWR is ACKed at once");
    assert!(!r[0].flags.ece);
    let i = h.stack.tcp_info(c).unwrap();
    assert_eq!(i.options & TCPI_OPT_ECN_SEEN, TCPI_OPT_ECN_SEEN);
}

/// `tcp_enter_cwr`: an ACK with ECE enters CWR (ca_state 2): ssthresh from CUBIC
/// (cwnd * 717/1024), cwnd down to it; the next new data segment carries CWR. Further ECE
/// in the same window changes nothing; once data sent after the reduction is acknowledged
/// the state is Open, and a new ECE reduces again. TCPDeliveredCE counts the segments the
/// ECE ACKs acknowledged.
#[test]
fn ece_enters_cwr_once_per_window() {
    let mut h = setup();
    let (c, mut conn, _) = passive_ecn(&mut h);
    h.stack.tcp_set_nodelay(c, true).unwrap();
    h.stack.tcp_send(c, &[1u8; 4000]).unwrap();
    let sent = out(&mut h);
    assert_eq!(sent.len(), 3);
    let cwnd0 = h.stack.tcp_info(c).unwrap().snd_cwnd;
    conn.our_nxt += 1460;
    let ece = TcpSeg {
        ece: true,
        ..conn.ack()
    };
    let _ = send(&mut h, &ece);
    let i = h.stack.tcp_info(c).unwrap();
    assert_eq!(i.ca_state, 2);
    assert!(i.snd_cwnd < cwnd0 && i.snd_cwnd == i.snd_ssthresh, "{i:#?}");
    assert_eq!(i.snd_ssthresh, (cwnd0 * 1460 * 717 / 1024) / 1460);
    assert_eq!(h.stack.stats().tcp_ext.tcp_delivered_ce, 1);
    h.stack.tcp_send(c, b"new").unwrap();
    let n = one(&mut h);
    assert!(n.flags.cwr, "{n:#?}");
    h.stack.tcp_send(c, b"more").unwrap();
    assert!(!one(&mut h).flags.cwr, "CWR only once");
    // More ECE in the same window: no second reduction.
    conn.our_nxt += 1460;
    let ece2 = TcpSeg {
        ece: true,
        ..conn.ack()
    };
    let _ = send(&mut h, &ece2);
    let i2 = h.stack.tcp_info(c).unwrap();
    assert_eq!((i2.ca_state, i2.snd_ssthresh), (2, i.snd_ssthresh));
    // Everything acknowledged, past high_seq: Open.
    conn.our_nxt += 1080 + 3 + 4;
    let _ = send(&mut h, &conn.ack());
    assert_eq!(h.stack.tcp_info(c).unwrap().ca_state, 0);
    h.stack.tcp_send(c, &[2u8; 100]).unwrap();
    let _ = one(&mut h);
    conn.our_nxt += 100;
    let ece3 = TcpSeg {
        ece: true,
        ..conn.ack()
    };
    let _ = send(&mut h, &ece3);
    let i3 = h.stack.tcp_info(c).unwrap();
    assert_eq!(i3.ca_state, 2);
    assert!(i3.snd_ssthresh < i.snd_ssthresh);
}

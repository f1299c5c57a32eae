//! Rule tests: SYN cookies (`net.ipv4.tcp_syncookies`, net/ipv4/syncookies.c,
//! `tcp_conn_request`, `tcp_syn_flood_action`, `cookie_v4_check`).

use alloc::vec::Vec;

use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;
use crate::{StackConfig, TcpState};

fn setup_cookies(mode: u8) -> Harness {
    let cfg = StackConfig {
        tcp_syncookies: mode,
        ..StackConfig::default()
    };
    Harness::with_config(cfg, 1).with_static_peer()
}

/// The peer's ACK of a SYN-ACK `sa` from `port`, optionally with data.
fn cookie_ack(port: u16, sa: &TcpOut, payload: &[u8]) -> TcpSeg {
    TcpSeg {
        sport: port,
        dport: OUR_PORT,
        seq: PEER_ISN + 1,
        ack: Some(sa.seq.wrapping_add(1)),
        window: 65_535,
        psh: !payload.is_empty(),
        payload: payload.to_vec(),
        ..TcpSeg::default()
    }
}

/// `tcp_conn_request` with `tcp_syncookies = 1` (the default): once the SYN queue is full a
/// SYN is answered with a cookie SYN-ACK (SyncookiesSent, TCPReqQFullDoCookies) and no state
/// is kept; the cookie carries the MSS (1400 → msstab 1300); a SYN without timestamps gets
/// no window scale or SACK either (`tcp_clear_options`). The peer's ACK rebuilds the connection (SyncookiesRecv): it is accepted and
/// data flows both ways.
#[test]
fn full_syn_queue_answers_with_cookie_and_ack_makes_connection() {
    let mut h = setup();
    let l = listener(&mut h, 2);
    assert_eq!(send(&mut h, &peer_syn(40_001)).len(), 1);
    assert_eq!(send(&mut h, &peer_syn(40_002)).len(), 1);
    let syn = TcpSeg {
        mss: Some(1400),
        wscale: Some(7),
        sack_perm: true,
        ..peer_syn(40_003)
    };
    let sa = send(&mut h, &syn);
    assert_eq!(sa.len(), 1, "{sa:#?}");
    let sa = sa.into_iter().next().unwrap();
    assert_eq!(sa.flag_str(), "S.");
    assert_eq!(sa.ack, Some(PEER_ISN + 1));
    assert_eq!(sa.mss, Some(1460), "our own MSS is offered");
    assert_eq!((sa.wscale, sa.sack_perm, sa.ts), (None, false, None));
    let st = h.stack.stats().tcp_ext;
    assert_eq!(
        (
            st.syncookies_sent,
            st.tcp_req_q_full_do_cookies,
            st.tcp_req_q_full_drop,
            st.listen_drops
        ),
        (1, 1, 0, 0)
    );
    // No state: no socket, and no SYN-ACK retransmission for it.
    assert_eq!(state_of(&mut h, OUR_PORT, 40_003), None);
    assert_eq!(h.stack.tcp_socket_count(), 3);
    let later = h.advance(Duration::from_millis(1500));
    assert!(later
        .iter()
        .all(|(_, f)| parse_tcp(f).unwrap().dport != 40_003));

    let acks = send(&mut h, &cookie_ack(40_003, &sa, b"hello"));
    assert_eq!(acks.len(), 1, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(PEER_ISN + 6));
    let st = h.stack.stats().tcp_ext;
    assert_eq!((st.syncookies_recv, st.syncookies_failed), (1, 0));
    assert_eq!(
        state_of(&mut h, OUR_PORT, 40_003),
        Some(TcpState::Established)
    );
    let (c, from) = h.stack.tcp_accept(l).unwrap();
    assert_eq!(from.port(), 40_003);
    assert_eq!(read_all(&mut h, c), b"hello");
    // The MSS the cookie carried bounds our segments; the window is not scaled.
    let data: Vec<u8> = (0..2000u32).map(|i| i as u8).collect();
    assert_eq!(h.stack.tcp_send(c, &data), Ok(2000));
    let segs = out(&mut h);
    assert_eq!(segs.len(), 2, "{segs:#?}");
    assert_eq!(segs[0].seq, sa.seq.wrapping_add(1));
    assert_eq!(segs[0].payload.len(), 1300);
    assert_eq!(segs[1].payload.len(), 700);
    assert_eq!(segs[0].ts, None);
    assert_eq!(h.stack.stats().tcp.passive_opens, 1);
}

/// `cookie_v4_check`: an ACK whose `ack - 1` is not a cookie for this 4-tuple and `seq - 1`
/// is counted in SyncookiesFailed and, as Linux, handled as a stray ACK: a RST at its ACK
/// number. No connection is made.
#[test]
fn forged_cookie_ack_is_reset() {
    let mut h = setup_cookies(2);
    let _l = listener(&mut h, 4);
    let sa = send(&mut h, &peer_syn(40_001)).remove(0);
    let mut forged = cookie_ack(40_001, &sa, b"");
    let bad = sa.seq.wrapping_add(1).wrapping_add(0x0012_3456);
    forged.ack = Some(bad);
    let r = send(&mut h, &forged);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!((r[0].flag_str().as_str(), r[0].seq), ("R", bad));
    // The right cookie with the wrong peer sequence number fails too.
    let mut wrong_seq = cookie_ack(40_001, &sa, b"");
    wrong_seq.seq = PEER_ISN + 1000;
    assert_eq!(send(&mut h, &wrong_seq)[0].flag_str(), "R");
    let st = h.stack.stats().tcp_ext;
    assert_eq!((st.syncookies_failed, st.syncookies_recv), (2, 0));
    assert_eq!(state_of(&mut h, OUR_PORT, 40_001), None);
    // The genuine ACK still works.
    assert!(send(&mut h, &cookie_ack(40_001, &sa, b"")).is_empty());
    assert_eq!(h.stack.stats().tcp_ext.syncookies_recv, 1);
}

/// `check_tcp_syn_cookie` (MAX_SYNCOOKIE_AGE = 2, periods of 60 s): a cookie is good in the
/// period it was made and the next one, and fails after that (SyncookiesFailed, RST).
/// `tcp_synq_no_recent_overflow`: two minutes after the last cookie sent, ACKs are not
/// checked at all (a plain RST, no counter).
#[test]
fn stale_cookie_fails_and_old_overflow_stops_checking() {
    let mut h = setup_cookies(2);
    let l = listener(&mut h, 4);
    let a = send(&mut h, &peer_syn(40_001)).remove(0);
    let b = send(&mut h, &peer_syn(40_002)).remove(0);
    // One period later: still valid.
    let _ = h.advance(Duration::from_secs(61));
    assert!(send(&mut h, &cookie_ack(40_001, &a, b"")).is_empty());
    assert_eq!(h.stack.stats().tcp_ext.syncookies_recv, 1);
    assert!(h.stack.tcp_accept(l).is_ok());
    // A fresh cookie keeps the listener checking; two periods after b's it is stale.
    let _ = h.advance(Duration::from_secs(58));
    let c = send(&mut h, &peer_syn(40_003)).remove(0);
    let _ = h.advance(Duration::from_secs(2));
    let r = send(&mut h, &cookie_ack(40_002, &b, b""));
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].flag_str(), "R");
    let st = h.stack.stats().tcp_ext;
    assert_eq!((st.syncookies_failed, st.syncookies_recv), (1, 1));
    // More than two minutes after the last cookie: no check, a plain stray-ACK RST.
    let _ = h.advance(Duration::from_secs(125));
    let r = send(&mut h, &cookie_ack(40_003, &c, b""));
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].flag_str(), "R");
    assert_eq!(h.stack.stats().tcp_ext.syncookies_failed, 1);
    assert_eq!(state_of(&mut h, OUR_PORT, 40_003), None);
}

/// `tcp_syncookies = 2`: every SYN is answered with a cookie, even with an empty SYN queue;
/// the handshake completes from the ACK alone.
#[test]
fn syncookies_2_always_sends_cookies() {
    let mut h = setup_cookies(2);
    let l = listener(&mut h, 16);
    let sa = send(&mut h, &peer_syn(PEER_PORT)).remove(0);
    assert_eq!(sa.flag_str(), "S.");
    assert_eq!(state_of(&mut h, OUR_PORT, PEER_PORT), None);
    assert_eq!(h.stack.tcp_socket_count(), 1);
    let st = h.stack.stats().tcp_ext;
    assert_eq!((st.syncookies_sent, st.tcp_req_q_full_do_cookies), (1, 1));
    assert!(send(&mut h, &cookie_ack(PEER_PORT, &sa, b"")).is_empty());
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    assert_eq!(h.stack.tcp_state(c), Ok(TcpState::Established));
    assert_eq!(h.stack.stats().tcp_ext.syncookies_recv, 1);
}

/// `tcp_syncookies = 0`: a full SYN queue drops the SYN (TCPReqQFullDrop, ListenDrops), and
/// an ACK to the listener is a stray ACK (RST) without any cookie check.
#[test]
fn syncookies_0_drops_syn_on_full_queue() {
    let mut h = setup_cookies(0);
    let _l = listener(&mut h, 1);
    let sa = send(&mut h, &peer_syn(40_001)).remove(0);
    assert!(send(&mut h, &peer_syn(40_002)).is_empty());
    let st = h.stack.stats().tcp_ext;
    assert_eq!(
        (st.tcp_req_q_full_drop, st.listen_drops, st.syncookies_sent),
        (1, 1, 0)
    );
    let r = send(&mut h, &cookie_ack(40_002, &sa, b""));
    assert_eq!(r[0].flag_str(), "R");
    assert_eq!(h.stack.stats().tcp_ext.syncookies_failed, 0);
}

/// `tcp_v4_syn_recv_sock` exit_overflow for a cookie: a valid cookie ACK while the accept
/// queue is over the backlog is dropped (ListenOverflows, ListenDrops), with no RST and no
/// state kept.
#[test]
fn cookie_ack_on_full_accept_queue_is_dropped() {
    let mut h = setup_cookies(2);
    let _l = listener(&mut h, 1);
    let sas: Vec<TcpOut> = (40_001..=40_003)
        .map(|p| send(&mut h, &peer_syn(p)).remove(0))
        .collect();
    assert!(send(&mut h, &cookie_ack(40_001, &sas[0], b"")).is_empty());
    assert!(send(&mut h, &cookie_ack(40_002, &sas[1], b"")).is_empty());
    assert!(send(&mut h, &cookie_ack(40_003, &sas[2], b"")).is_empty());
    let st = h.stack.stats().tcp_ext;
    assert_eq!(
        (st.syncookies_recv, st.listen_overflows, st.listen_drops),
        (3, 1, 1)
    );
    assert_eq!(state_of(&mut h, OUR_PORT, 40_003), None);
    assert_eq!(h.stack.tcp_socket_count(), 3);
}

/// `cookie_init_timestamp` / `cookie_timestamp_decode`: when the SYN has timestamps the
/// cookie SYN-ACK offers window scaling, SACK-permitted and timestamps, and the low 6 bits
/// of its TSval (before our per-connection offset) carry the peer's window scale (7) and
/// SACK (bit 4), never ahead of our clock. The ACK echoing it rebuilds a connection that
/// scales the peer's window, uses timestamps (TS.Recent from the ACK) and reports SACK
/// blocks.
#[test]
fn cookie_with_timestamps_negotiates_wscale_sack_ts() {
    let mut h = setup_cookies(2);
    let l = listener(&mut h, 16);
    let _ = h.advance(Duration::from_millis(12_345));
    let syn = TcpSeg {
        mss: Some(1460),
        wscale: Some(7),
        sack_perm: true,
        ts: Some((777, 0)),
        ..peer_syn(PEER_PORT)
    };
    let sa = send(&mut h, &syn).remove(0);
    assert_eq!(sa.flag_str(), "S.");
    assert!(sa.sack_perm);
    let our_ws = sa.wscale.expect("window scale offered");
    let (tsval, tsecr) = sa.ts.expect("timestamps offered");
    assert_eq!(tsecr, 777);
    let local = core::net::SocketAddrV4::new(OUR_IP, OUR_PORT);
    let remote = core::net::SocketAddrV4::new(PEER_IP, PEER_PORT);
    let clock = tsval.wrapping_sub(h.stack.tcp.keys.ts_offset(local, remote));
    assert_eq!(clock & 63, 7 | 16, "wscale 7 + SACK in the low bits");
    assert!(clock <= 12_345 && clock > 12_345 - 64, "{clock}");
    assert_eq!(state_of(&mut h, OUR_PORT, PEER_PORT), None);

    let mut conn = Conn {
        our_port: OUR_PORT,
        peer_port: PEER_PORT,
        our_nxt: sa.seq.wrapping_add(1),
        peer_nxt: PEER_ISN + 1,
        window: 1000,
    };
    let ack = TcpSeg {
        ts: Some((778, tsval)),
        ..conn.ack()
    };
    assert!(send(&mut h, &ack).is_empty());
    assert_eq!(h.stack.stats().tcp_ext.syncookies_recv, 1);
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    // The peer's window is 1000 << 7: 4000 bytes go out at once (MSS 1460 - 12).
    let data = [7u8; 4000];
    assert_eq!(h.stack.tcp_send(c, &data), Ok(4000));
    let segs = out(&mut h);
    let lens: Vec<usize> = segs.iter().map(|s| s.payload.len()).collect();
    assert_eq!(lens, [1448, 1448, 1104], "{segs:#?}");
    assert_eq!(segs[0].ts.map(|t| t.1), Some(778), "TS.Recent from the ACK");
    let idx = *h
        .stack
        .tcp
        .ehash
        .get(&super::FourTuple {
            laddr: OUR_IP,
            lport: OUR_PORT,
            raddr: PEER_IP,
            rport: PEER_PORT,
        })
        .unwrap();
    let sk = h.stack.tcp.sock_at(idx).unwrap();
    assert_eq!((sk.rcv_wscale, sk.snd_wscale), (our_ws, 7));
    assert!(sk.sack_ok && sk.ts_ok && sk.wscale_ok);
    // Out-of-order data from the peer: the ACK carries a SACK block.
    conn.our_nxt = conn.our_nxt.wrapping_add(4000);
    let gap = conn.peer_nxt.wrapping_add(100);
    let ooo = TcpSeg {
        seq: gap,
        ts: Some((779, tsval)),
        payload: b"later".to_vec(),
        psh: true,
        ..conn.ack()
    };
    let r = send(&mut h, &ooo);
    assert_eq!(r.len(), 1, "{r:#?}");
    assert_eq!(r[0].sacks, [(gap, gap + 5)]);
}

/// `cookie_timestamp_decode`: a SYN with timestamps but no window scale encodes 15 (none);
/// the connection then sends unscaled windows and reads the peer's unscaled.
#[test]
fn cookie_with_timestamps_without_wscale_stays_unscaled() {
    let mut h = setup_cookies(2);
    let l = listener(&mut h, 16);
    let syn = TcpSeg {
        ts: Some((5, 0)),
        ..peer_syn(PEER_PORT)
    };
    let sa = send(&mut h, &syn).remove(0);
    assert_eq!((sa.wscale, sa.sack_perm), (None, false));
    let (tsval, _) = sa.ts.unwrap();
    let local = core::net::SocketAddrV4::new(OUR_IP, OUR_PORT);
    let remote = core::net::SocketAddrV4::new(PEER_IP, PEER_PORT);
    let clock = tsval.wrapping_sub(h.stack.tcp.keys.ts_offset(local, remote));
    assert_eq!(clock & 63, 15);
    let ack = TcpSeg {
        sport: PEER_PORT,
        dport: OUR_PORT,
        seq: PEER_ISN + 1,
        ack: Some(sa.seq.wrapping_add(1)),
        window: 2896,
        ts: Some((6, tsval)),
        ..TcpSeg::default()
    };
    assert!(send(&mut h, &ack).is_empty());
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    assert_eq!(h.stack.tcp_send(c, &[1u8; 5000]), Ok(5000));
    let sent: usize = out(&mut h).iter().map(|s| s.payload.len()).sum();
    assert_eq!(sent, 2896, "the window is 2896 bytes, unscaled");
}

/// `cookie_init_timestamp` carries ECN too (`TS_OPT_ECN`, bit 5): a SYN asking for ECN
/// gets a cookie SYN-ACK with ECE, and the connection rebuilt from the ACK sends its data
/// ECT(0) (`cookie_ecn_ok`).
#[test]
fn cookie_with_timestamps_keeps_ecn() {
    let mut h = setup_cookies(2);
    let l = listener(&mut h, 16);
    let syn = TcpSeg {
        ts: Some((5, 0)),
        ece: true,
        cwr: true,
        ..peer_syn(PEER_PORT)
    };
    let sa = send(&mut h, &syn).remove(0);
    assert!(sa.flags.ece && !sa.flags.cwr);
    let (tsval, _) = sa.ts.unwrap();
    let local = core::net::SocketAddrV4::new(OUR_IP, OUR_PORT);
    let remote = core::net::SocketAddrV4::new(PEER_IP, PEER_PORT);
    let clock = tsval.wrapping_sub(h.stack.tcp.keys.ts_offset(local, remote));
    assert_eq!(clock & 63, 32 | 15, "ECN, no window scale, no SACK");
    let ack = TcpSeg {
        sport: PEER_PORT,
        dport: OUR_PORT,
        seq: PEER_ISN + 1,
        ack: Some(sa.seq.wrapping_add(1)),
        window: 5000,
        ts: Some((6, tsval)),
        ..TcpSeg::default()
    };
    assert!(send(&mut h, &ack).is_empty());
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    h.stack.tcp_send(c, b"hi").unwrap();
    let d = out(&mut h).remove(0);
    assert_eq!(d.ip.ip.tos & 3, 2, "ECT(0)");
}

//! Rule tests: `TCP_CORK` and `MSG_MORE` (Linux `tcp_nagle_check` with `TCP_NAGLE_CORK`,
//! `__tcp_sock_set_cork`, the probe timer for a corked partial segment), `TCP_MAXSEG`,
//! `TCP_WINDOW_CLAMP`, `TCP_QUICKACK`, and the getters (`do_tcp_getsockopt`,
//! `sk_getsockopt`).

use alloc::vec::Vec;
use core::net::SocketAddrV4;

use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;
use crate::{Errno, Linger, TcpState};

/// `tcp_nagle_check` with `TCP_NAGLE_CORK`: while corked only full segments leave, even
/// with `TCP_NODELAY` and nothing in flight; clearing the cork pushes the partial tail at
/// once (`tcp_push_pending_frames`).
#[test]
fn cork_holds_partial_segments_until_cleared() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_nodelay(s, true).unwrap();
    h.stack.tcp_set_cork(s, true).unwrap();
    assert_eq!(h.stack.tcp_cork(s), Ok(true));
    assert_eq!(h.stack.tcp_send(s, &[1u8; 100]), Ok(100));
    assert!(out(&mut h).is_empty(), "corked: no partial segment");
    assert_eq!(h.stack.tcp_send(s, &[2u8; 1400]), Ok(1400));
    let full = out(&mut h);
    assert_eq!(full.len(), 1, "{full:#?}");
    assert_eq!(full[0].payload.len(), 1460);
    assert_eq!(full[0].seq, conn.our_nxt);
    h.stack.tcp_set_cork(s, false).unwrap();
    let tail = out(&mut h);
    assert_eq!(tail.len(), 1, "{tail:#?}");
    assert_eq!(tail[0].payload.len(), 40);
    assert_eq!(tail[0].seq, conn.our_nxt + 1460);
    assert_eq!(h.stack.tcp_cork(s), Ok(false));
}

/// A partial segment left corked with nothing in flight is not held forever: the probe
/// timer (`tcp_check_probe_timer`, one RTO: 200 ms after the handshake's RTT sample) fires
/// and `tcp_write_wakeup` sends it. This is tcp(7)'s "200 millisecond ceiling" as the
/// current kernel implements it.
#[test]
fn corked_partial_segment_leaves_after_one_rto() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_cork(s, true).unwrap();
    let t0 = h.now;
    h.stack.tcp_send(s, b"tail").unwrap();
    assert!(out(&mut h).is_empty());
    assert!(h.advance(Duration::from_millis(199)).is_empty());
    let got = h.advance(Duration::from_millis(2));
    assert_eq!(got.len(), 1);
    let p = parse_tcp(&got[0].1).unwrap();
    assert_eq!((p.seq, p.payload.as_slice()), (conn.our_nxt, &b"tail"[..]));
    let at = got[0].0.saturating_since(t0).as_millis();
    assert_eq!(at, 200, "RTO = SRTT (µs) + 200 ms");
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
}

/// `tcp_push` with `MSG_MORE`: that send's push holds the partial segment (and arms the
/// same timer); the next plain send pushes both writes in one segment.
#[test]
fn msg_more_holds_one_push_only() {
    let mut h = setup();
    let (s, conn, _) = open_active(&mut h, true);
    assert_eq!(h.stack.tcp_send_more(s, b"GET / HTTP/1.1\r\n"), Ok(16));
    assert!(out(&mut h).is_empty());
    assert_eq!(h.stack.tcp_send(s, b"\r\n"), Ok(2));
    let seg = one(&mut h);
    assert_eq!(seg.payload, b"GET / HTTP/1.1\r\n\r\n");
    assert_eq!(seg.seq, conn.our_nxt);
    assert!(seg.flags.psh);
    assert_eq!(h.stack.tcp_cork(s), Ok(false));
}

/// What getsockopt returns on a fresh socket: the sysctl defaults for the keepalive knobs
/// (7200 s, 75 s, 9), `tcp_syn_retries` (6), `tcp_fin_timeout` (60 s), `mss_cache` 536,
/// `tcp_wmem[1]` / `tcp_rmem[1]` for the buffers, quick-ACK mode on; then the values set,
/// with SO_SNDBUF / SO_RCVBUF doubled.
#[test]
fn getters_return_linux_defaults_and_set_values() {
    let mut h = setup();
    let st = &mut h.stack;
    let s = st.tcp_socket().unwrap();
    assert_eq!(st.tcp_keepidle(s), Ok(7200));
    assert_eq!(st.tcp_keepintvl(s), Ok(75));
    assert_eq!(st.tcp_keepcnt(s), Ok(9));
    assert_eq!(st.tcp_syncnt(s), Ok(6));
    assert_eq!(st.tcp_linger2(s), Ok(60));
    assert_eq!(st.tcp_user_timeout(s), Ok(0));
    assert_eq!(st.tcp_maxseg(s), Ok(536));
    assert_eq!(st.tcp_sndbuf(s), Ok(16_384));
    assert_eq!(st.tcp_rcvbuf(s), Ok(131_072));
    assert_eq!(st.tcp_window_clamp(s), Ok(0));
    assert_eq!(st.tcp_quickack(s), Ok(true));
    assert_eq!(
        (st.tcp_nodelay(s), st.tcp_cork(s), st.tcp_keepalive(s)),
        (Ok(false), Ok(false), Ok(false))
    );
    assert_eq!(st.tcp_reuseaddr(s), Ok(false));
    assert_eq!(
        st.tcp_linger(s),
        Ok(Linger {
            onoff: false,
            linger: 0
        })
    );
    assert_eq!(st.tcp_congestion(s), Ok("cubic"));

    st.tcp_set_keepalive(s, true).unwrap();
    st.tcp_set_keepidle(s, 30).unwrap();
    st.tcp_set_keepintvl(s, 5).unwrap();
    st.tcp_set_keepcnt(s, 3).unwrap();
    st.tcp_set_syncnt(s, 2).unwrap();
    st.tcp_set_linger2(s, -5).unwrap();
    st.tcp_set_user_timeout(s, 1234).unwrap();
    st.tcp_set_sndbuf(s, 1000).unwrap();
    st.tcp_set_rcvbuf(s, 100_000).unwrap();
    st.tcp_set_nodelay(s, true).unwrap();
    st.tcp_set_reuseaddr(s, true).unwrap();
    st.tcp_set_linger(s, Some(7)).unwrap();
    st.tcp_set_congestion(s, "reno").unwrap();
    assert_eq!(st.tcp_keepalive(s), Ok(true));
    assert_eq!(st.tcp_keepidle(s), Ok(30));
    assert_eq!(st.tcp_keepintvl(s), Ok(5));
    assert_eq!(st.tcp_keepcnt(s), Ok(3));
    assert_eq!(st.tcp_syncnt(s), Ok(2));
    assert_eq!(st.tcp_linger2(s), Ok(-1));
    assert_eq!(st.tcp_user_timeout(s), Ok(1234));
    assert_eq!(
        st.tcp_sndbuf(s),
        Ok(4608),
        "doubled, at least SOCK_MIN_SNDBUF"
    );
    assert_eq!(st.tcp_rcvbuf(s), Ok(200_000), "doubled");
    assert_eq!(st.tcp_nodelay(s), Ok(true));
    assert_eq!(st.tcp_reuseaddr(s), Ok(true));
    assert_eq!(
        st.tcp_linger(s),
        Ok(Linger {
            onoff: true,
            linger: 7
        })
    );
    assert_eq!(st.tcp_congestion(s), Ok("reno"));
    st.tcp_set_linger2(s, 500).unwrap();
    assert_eq!(st.tcp_linger2(s), Ok(120), "TCP_FIN_TIMEOUT_MAX");
    st.tcp_close(s).unwrap();
    assert_eq!(st.tcp_keepidle(s), Err(Errno::EBADF));
}

/// `TCP_MAXSEG`: values outside 88..=32767 are EINVAL; a value set before connect is what
/// getsockopt returns while closed, bounds the MSS option of our SYN and the segments we
/// send even when the peer offers more; once connected the getter returns `mss_cache`.
#[test]
fn maxseg_bounds_advertised_and_sending_mss() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    assert_eq!(h.stack.tcp_set_maxseg(s, 87), Err(Errno::EINVAL));
    assert_eq!(h.stack.tcp_set_maxseg(s, 32_768), Err(Errno::EINVAL));
    h.stack.tcp_set_maxseg(s, 1000).unwrap();
    assert_eq!(h.stack.tcp_maxseg(s), Ok(1000));
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    assert_eq!(syn.mss, Some(1000));
    let synack = TcpSeg {
        sport: PEER_PORT,
        dport: syn.sport,
        seq: PEER_ISN,
        ack: Some(syn.seq + 1),
        syn: true,
        window: 65_535,
        mss: Some(1460),
        ..TcpSeg::default()
    };
    let _ = send(&mut h, &synack);
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    assert_eq!(h.stack.tcp_maxseg(s), Ok(1000));
    h.stack.tcp_send(s, &[0u8; 2500]).unwrap();
    let lens: Vec<usize> = out(&mut h).iter().map(|p| p.payload.len()).collect();
    assert_eq!(lens, [1000, 1000, 500]);
    // A listener's children inherit it: their SYN-ACK offers 1000.
    let l = listener(&mut h, 4);
    h.stack.tcp_set_maxseg(l, 1000).unwrap();
    let sa = send(&mut h, &peer_syn(40_001));
    assert_eq!(sa[0].mss, Some(1000));
}

/// `tcp_set_window_clamp`: set before connect it bounds the SYN's window and the scale
/// (none needed for 5000 bytes); values below 1152 are raised to it; 0 on a connected
/// socket is EINVAL.
#[test]
fn window_clamp_bounds_initial_window() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    h.stack.tcp_set_window_clamp(s, 5000).unwrap();
    assert_eq!(h.stack.tcp_window_clamp(s), Ok(5000));
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    assert!(syn.window <= 5000, "{}", syn.window);
    assert_eq!(syn.wscale, Some(0));
    let t = h.stack.tcp_socket().unwrap();
    h.stack.tcp_set_window_clamp(t, 10).unwrap();
    assert_eq!(h.stack.tcp_window_clamp(t), Ok(1152));
    let (c, _, _) = open_active(&mut h, true);
    assert_eq!(h.stack.tcp_set_window_clamp(c, 0), Err(Errno::EINVAL));
    h.stack.tcp_set_window_clamp(c, 3000).unwrap();
    assert_eq!(h.stack.tcp_window_clamp(c), Ok(3000));
}

/// `TCP_QUICKACK`: off enters pingpong mode, so data is not ACKed at once; turning it on
/// sends the owed ACK immediately.
#[test]
fn quickack_off_delays_and_on_flushes_the_ack() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    // Leave the initial quick-ACK phase: the first segment is ACKed at once.
    assert_eq!(send(&mut h, &conn.data(b"one")).len(), 1);
    h.stack.tcp_set_quickack(s, false).unwrap();
    assert_eq!(h.stack.tcp_quickack(s), Ok(false));
    assert!(send(&mut h, &conn.data(b"two")).is_empty(), "ACK delayed");
    h.stack.tcp_set_quickack(s, true).unwrap();
    let ack = one(&mut h);
    assert_eq!(ack.ack, Some(conn.peer_nxt));
    assert_eq!(h.stack.tcp_quickack(s), Ok(true));
}

/// `TCP_DEFER_ACCEPT` (`secs_to_retrans`: 5 s are 3 SYN-ACK retransmissions, read back as
/// 1 + 2 + 4 = 7 s): a handshake ACK without data is dropped (TCPDeferAcceptDrop) and the
/// request waits silently; data completes it at once. Another request that never sends
/// data gets its SYN-ACK again only in the deferral's last round, and the ACK to that
/// completes it.
#[test]
fn defer_accept_waits_for_data() {
    let mut h = setup();
    let l = listener(&mut h, 16);
    h.stack.tcp_set_defer_accept(l, 5).unwrap();
    assert_eq!(h.stack.tcp_defer_accept(l), Ok(7));
    let sa = send(&mut h, &peer_syn(40_001)).remove(0);
    let ack = TcpSeg {
        sport: 40_001,
        dport: OUR_PORT,
        seq: PEER_ISN + 1,
        ack: Some(sa.seq + 1),
        window: 65_535,
        ..TcpSeg::default()
    };
    assert!(send(&mut h, &ack).is_empty());
    assert_eq!(h.stack.stats().tcp_ext.tcp_defer_accept_drop, 1);
    assert_eq!(h.stack.tcp_accept(l), Err(Errno::EAGAIN));
    assert_eq!(state_of(&mut h, OUR_PORT, 40_001), Some(TcpState::SynRecv));
    let data = TcpSeg {
        psh: true,
        payload: b"GET".to_vec(),
        ..ack.clone()
    };
    let r = send(&mut h, &data);
    assert_eq!(r.len(), 1);
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    assert_eq!(read_all(&mut h, c), b"GET");

    let sb = send(&mut h, &peer_syn(40_002)).remove(0);
    let ack_b = TcpSeg {
        sport: 40_002,
        ack: Some(sb.seq + 1),
        ..ack
    };
    let t0 = h.now;
    assert!(send(&mut h, &ack_b).is_empty());
    let re: Vec<u64> = h
        .advance(Duration::from_secs(10))
        .iter()
        .map(|(t, f)| {
            let p = parse_tcp(f).unwrap();
            assert_eq!((p.flag_str().as_str(), p.dport), ("S.", 40_002));
            t.saturating_since(t0).as_secs()
        })
        .collect();
    assert_eq!(re, [7], "only the last round resends");
    assert!(send(&mut h, &ack_b).is_empty());
    assert!(h.stack.tcp_accept(l).is_ok());
    assert_eq!(h.stack.stats().tcp_ext.tcp_defer_accept_drop, 2);
}

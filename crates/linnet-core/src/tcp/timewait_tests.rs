//! Rule tests: TIME-WAIT limits and reuse (`tcp_max_tw_buckets` / TCPTimeWaitOverflow in
//! `tcp_time_wait`, `tcp_tw_reuse` / TWRecycled in `tcp_twsk_unique`).

use core::net::SocketAddrV4;

use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;
use crate::{Errno, StackConfig, TcpState};

fn with(cfg: StackConfig) -> Harness {
    Harness::with_config(cfg, 1).with_static_peer()
}

/// One port for connects, so a second connect to the peer must reuse the first's tuple.
fn one_port(reuse: u8) -> StackConfig {
    StackConfig {
        ip_local_port_range: (50_000, 50_000),
        tcp_tw_reuse: reuse,
        ..StackConfig::default()
    }
}

/// Our side closes an active connection first and ends in TIME-WAIT; returns the
/// connection and the sequence number just past our FIN.
fn active_time_wait(h: &mut Harness, timestamps: bool) -> (Conn, u32) {
    let (s, mut conn, _) = open_active(h, !timestamps);
    h.stack.tcp_close(s).unwrap();
    let fin = one(h);
    assert!(fin.flags.fin);
    conn.our_nxt += 1;
    let ts = |seg: TcpSeg| TcpSeg {
        ts: timestamps.then_some((6000, 1)),
        ..seg
    };
    let _ = send(h, &ts(conn.ack()));
    let _ = send(h, &ts(conn.fin()));
    assert_eq!(
        state_of(h, conn.our_port, PEER_PORT),
        Some(TcpState::TimeWait)
    );
    (conn, fin.seq.wrapping_add(1))
}

/// `inet_twsk_alloc` with `tcp_max_tw_buckets` = 1: the first closing connection gets its
/// TIME-WAIT; the second is closed at once instead (TCPTimeWaitOverflow), freeing its
/// 4-tuple; when the first TIME-WAIT ends there is room again.
#[test]
fn max_tw_buckets_overflow_skips_time_wait() {
    let mut h = with(StackConfig {
        tcp_max_tw_buckets: 1,
        ..StackConfig::default()
    });
    let (a, _) = active_time_wait(&mut h, false);
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_close(s).unwrap();
    let _ = one(&mut h);
    conn.our_nxt += 1;
    let _ = send(&mut h, &conn.ack());
    let r = send(&mut h, &conn.fin());
    assert_eq!(r.len(), 1, "the FIN is still ACKed: {r:#?}");
    assert_eq!(state_of(&mut h, conn.our_port, PEER_PORT), None);
    assert_eq!(h.stack.stats().tcp_ext.tcp_time_wait_overflow, 1);
    assert_eq!(h.stack.tcp_socket_count(), 1, "only the first TIME-WAIT");
    let _ = h.advance(Duration::from_secs(61));
    assert_eq!(state_of(&mut h, a.our_port, PEER_PORT), None);
    let (_, _) = active_time_wait(&mut h, false);
    assert_eq!(h.stack.stats().tcp_ext.tcp_time_wait_overflow, 1);
}

/// `tcp_twsk_unique` with `tcp_tw_reuse` = 1 on an ephemeral port: the TIME-WAIT 4-tuple
/// is not reusable for `tcp_tw_reuse_delay` (1 s), then a connect takes it over
/// (TWRecycled): the TIME-WAIT socket goes and the new SYN starts at the old
/// `snd_nxt + 65535 + 2`.
#[test]
fn tw_reuse_1_recycles_after_one_second() {
    let mut h = with(one_port(1));
    let (conn, tw_nxt) = active_time_wait(&mut h, true);
    let s = h.stack.tcp_socket().unwrap();
    let peer = SocketAddrV4::new(PEER_IP, PEER_PORT);
    assert_eq!(h.stack.tcp_connect(s, peer), Err(Errno::EADDRNOTAVAIL));
    let _ = h.advance(Duration::from_millis(1001));
    assert_eq!(h.stack.tcp_connect(s, peer), Err(Errno::EINPROGRESS));
    let syn = one(&mut h);
    assert_eq!(syn.sport, conn.our_port);
    assert_eq!(syn.seq, tw_nxt.wrapping_add(65_535 + 2));
    assert_eq!(h.stack.stats().tcp_ext.tw_recycled, 1);
    assert_eq!(
        state_of(&mut h, conn.our_port, PEER_PORT),
        Some(TcpState::SynSent)
    );
    assert_eq!(h.stack.tcp_socket_count(), 1);
}

/// The default `tcp_tw_reuse` = 2 recycles only loopback tuples: toward the peer the port
/// stays taken; and without timestamps (no PAWS to protect the new connection) no
/// setting recycles.
#[test]
fn tw_reuse_needs_loopback_by_default_and_timestamps_always() {
    let mut h = with(one_port(2));
    let _ = active_time_wait(&mut h, true);
    let _ = h.advance(Duration::from_secs(2));
    let s = h.stack.tcp_socket().unwrap();
    let peer = SocketAddrV4::new(PEER_IP, PEER_PORT);
    assert_eq!(h.stack.tcp_connect(s, peer), Err(Errno::EADDRNOTAVAIL));
    let mut h = with(one_port(1));
    let _ = active_time_wait(&mut h, false);
    let _ = h.advance(Duration::from_secs(2));
    let s = h.stack.tcp_socket().unwrap();
    assert_eq!(h.stack.tcp_connect(s, peer), Err(Errno::EADDRNOTAVAIL));
    assert_eq!(h.stack.stats().tcp_ext.tw_recycled, 0);
}

/// `__inet_hash_connect` for an explicitly bound port calls `__inet_check_established`
/// without `twp`: a TIME-WAIT with timestamps gives way at once, whatever `tcp_tw_reuse`
/// says (binding over it needs SO_REUSEADDR, which the TIME-WAIT socket inherited).
#[test]
fn bound_connect_recycles_time_wait_with_timestamps() {
    let mut h = with(one_port(0));
    let (conn, _) = active_time_wait(&mut h, true);
    let s = h.stack.tcp_socket().unwrap();
    assert_eq!(
        h.stack
            .tcp_bind(s, SocketAddrV4::new(OUR_IP, conn.our_port)),
        Err(Errno::EADDRINUSE),
        "the TIME-WAIT socket did not have SO_REUSEADDR"
    );
    let mut h = with(one_port(0));
    let (s0, mut c0, _) = open_active(&mut h, false);
    h.stack.tcp_set_reuseaddr(s0, true).unwrap();
    h.stack.tcp_close(s0).unwrap();
    let fin = one(&mut h);
    c0.our_nxt += 1;
    let _ = send(&mut h, &c0.ack());
    let _ = send(&mut h, &c0.fin());
    let s = h.stack.tcp_socket().unwrap();
    h.stack.tcp_set_reuseaddr(s, true).unwrap();
    h.stack
        .tcp_bind(s, SocketAddrV4::new(OUR_IP, c0.our_port))
        .unwrap();
    assert_eq!(
        h.stack
            .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT)),
        Err(Errno::EINPROGRESS)
    );
    let syn = one(&mut h);
    assert_eq!(syn.seq, fin.seq.wrapping_add(1 + 65_535 + 2));
    assert_eq!(h.stack.stats().tcp_ext.tw_recycled, 1);
}

/// The default `tcp_tw_reuse` = 2 does recycle a loopback 4-tuple: a client over `lo`
/// closes first (TIME-WAIT on its side); a second second later a connect from the same
/// single ephemeral port to the same listener takes the tuple over and completes.
#[test]
fn tw_reuse_2_recycles_loopback_tuples() {
    let mut h = Harness::with_config(one_port(2), 3);
    let l = h.stack.tcp_socket().unwrap();
    let addr = SocketAddrV4::new(core::net::Ipv4Addr::LOCALHOST, 9000);
    h.stack.tcp_bind(l, addr).unwrap();
    h.stack.tcp_listen(l, 4).unwrap();
    let c = h.stack.tcp_socket().unwrap();
    assert_eq!(h.stack.tcp_connect(c, addr), Err(Errno::EINPROGRESS));
    let (srv, _) = h.stack.tcp_accept(l).unwrap();
    let port = h.stack.tcp_local_addr(c).unwrap().port();
    h.stack.tcp_close(c).unwrap();
    h.stack.tcp_close(srv).unwrap();
    let _ = h.advance(Duration::from_millis(10));
    let t = crate::tcp::FourTuple {
        laddr: core::net::Ipv4Addr::LOCALHOST,
        lport: port,
        raddr: core::net::Ipv4Addr::LOCALHOST,
        rport: 9000,
    };
    let tw = h.stack.tcp.ehash.get(&t).copied().unwrap();
    assert_eq!(
        h.stack.tcp.sock_at(tw).map(|s| s.state),
        Some(TcpState::TimeWait)
    );
    let d = h.stack.tcp_socket().unwrap();
    assert_eq!(h.stack.tcp_connect(d, addr), Err(Errno::EADDRNOTAVAIL));
    let _ = h.advance(Duration::from_millis(1000));
    assert_eq!(h.stack.tcp_connect(d, addr), Err(Errno::EINPROGRESS));
    assert_eq!(h.stack.tcp_state(d), Ok(TcpState::Established));
    assert_eq!(h.stack.stats().tcp_ext.tw_recycled, 1);
    assert!(h.stack.tcp_accept(l).is_ok());
}

//! Rule tests: buffer sizing (send-buffer growth, receive-buffer autotuning, SO_SNDBUF /
//! SO_RCVBUF locks) and the congestion window after idle (restart, CUBIC's epoch shift).

use alloc::vec;
use alloc::vec::Vec;
use core::net::SocketAddrV4;

use super::cong::INFINITE_SSTHRESH;
use super::test_peer::*;
use crate::testutil::*;
use crate::time::{Duration, Instant};
use crate::{Errno, Event, SocketHandle, StackConfig};

/// Linux's per-segment charge for an MSS of 1460 (`tcp_sndbuf_expand`'s `per_mss`):
/// roundup_pow_of_two(1460 + MAX_TCP_HEADER + skb_shared_info) + sk_buff = 4096 + 256.
const PER_MSS: usize = 4352;

/// The socket behind a handle (white-box look at its fields).
fn sock(h: &Harness, s: SocketHandle) -> &super::TcpSock {
    h.stack.tcp.get(s).unwrap()
}

/// One round trip of a sender: the peer ACKs everything sent so far (one cumulative ACK,
/// `rtt` later) with a window of `window << 7`; returns the segments the ACK released.
fn ack_round(h: &mut Harness, conn: &mut Conn, pending: &[TcpOut], rtt: Duration) -> Vec<TcpOut> {
    for seg in pending {
        let end = seg.seq.wrapping_add(seg.seq_len());
        if end.wrapping_sub(conn.our_nxt) as i32 > 0 {
            conn.our_nxt = end;
        }
    }
    let _ = h.advance(rtt);
    send(h, &conn.ack())
}

/// `tcp_init_buffer_space` -> `tcp_sndbuf_expand`: at establishment the send buffer is
/// sized for two initial windows, 2 * 10 * 4352 = 87040 bytes (the `tb87040` of `ss -m` on
/// a fresh Linux connection); then, while the writer is blocked on a full buffer and the
/// congestion window is not full (`tcp_should_expand_sndbuf`), each ACK grows it to two
/// congestion windows of segments, up to `tcp_wmem[2]`; `Writable` follows
/// (`sk_stream_write_space`).
#[test]
fn sndbuf_grows_with_cwnd_up_to_tcp_wmem_max() {
    let mut cfg = StackConfig::default();
    cfg.tcp_wmem.2 = 1_000_000;
    let mut h = Harness::with_config(cfg, 1).with_static_peer();
    let (s, mut conn, _) = open_active_rtt(&mut h, false, Duration::from_millis(10));
    conn.window = 65_535;
    assert_eq!(sock(&h, s).sndbuf, 2 * 10 * PER_MSS);
    let data = vec![0x5a; 4 << 20];
    let mut written = h.stack.tcp_send(s, &data).unwrap();
    assert_eq!(written, 87_040);
    assert_eq!(h.stack.tcp_send(s, b"x"), Err(Errno::EAGAIN));
    let mut pending = out(&mut h);
    assert_eq!(pending.len(), 10);
    let mut grew = 0;
    let mut last = sock(&h, s).sndbuf;
    for _ in 0..12 {
        pending = ack_round(&mut h, &mut conn, &pending, Duration::from_millis(10));
        let sk = sock(&h, s);
        let segs = (sk.win.cwnd / sk.mss) as usize;
        assert_eq!(sk.mss, 1448);
        let now = sk.sndbuf;
        assert!(now >= last, "the send buffer never shrinks");
        if now > last {
            grew += 1;
            assert_eq!(now, (2 * segs.max(10) * PER_MSS).min(1_000_000));
            assert!(has_event(&mut h, Event::Writable(s)));
        }
        last = now;
        // The application refills the buffer.
        while written < data.len() {
            match h.stack.tcp_send(s, &data[written..]) {
                Ok(n) => written += n,
                Err(_) => break,
            }
        }
        pending.extend(out(&mut h));
    }
    assert!(grew >= 2, "grew {grew} times");
    assert_eq!(sock(&h, s).sndbuf, 1_000_000, "capped at tcp_wmem[2]");
    assert!(written > 2_000_000);
}

/// `SOCK_SNDBUF_LOCK`: after `SO_SNDBUF` the buffer keeps its size however the window
/// grows, and a listener's children inherit the lock.
#[test]
fn so_sndbuf_locks_the_send_buffer() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    h.stack.tcp_set_sndbuf(s, 8192).unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    let mut conn = Conn {
        our_port: syn.sport,
        peer_port: PEER_PORT,
        our_nxt: syn.seq.wrapping_add(1),
        peer_nxt: PEER_ISN,
        window: 65_535,
    };
    let synack = TcpSeg {
        syn: true,
        mss: Some(1460),
        ..conn.ack()
    };
    let _ = send(&mut h, &synack);
    conn.peer_nxt += 1;
    assert_eq!(sock(&h, s).sndbuf, 16_384);
    let data = vec![1u8; 1 << 20];
    let mut pending = Vec::new();
    let mut written = 0;
    for _ in 0..8 {
        while let Ok(n) = h.stack.tcp_send(s, &data) {
            written += n;
        }
        pending.extend(out(&mut h));
        pending = ack_round(&mut h, &mut conn, &pending, Duration::from_millis(10));
        assert_eq!(sock(&h, s).sndbuf, 16_384);
    }
    assert!(written > 7 * 16_384, "{written}");

    // A blocked writer hears Writable as soon as a larger SO_SNDBUF leaves room
    // (sock_setsockopt's sk_write_space), and the buffer stays locked at the new size.
    while h.stack.tcp_send(s, &data).is_ok() {}
    let _ = h.events();
    h.stack.tcp_set_sndbuf(s, 64 * 1024).unwrap();
    assert!(has_event(&mut h, Event::Writable(s)));
    assert_eq!(h.stack.tcp_sndbuf(s), Ok(131_072));
    let _ = out(&mut h);

    // A listener's child inherits SO_SNDBUF and its lock.
    let l = h.stack.tcp_socket().unwrap();
    h.stack.tcp_set_sndbuf(l, 10_000).unwrap();
    h.stack
        .tcp_bind(l, SocketAddrV4::new(OUR_IP, OUR_PORT))
        .unwrap();
    h.stack.tcp_listen(l, 4).unwrap();
    let _ = peer_connects(&mut h, 40_001);
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    assert_eq!(sock(&h, c).sndbuf, 20_000);
    assert!(sock(&h, c).buf.sndbuf_locked);
}

/// What the receiver-side scenario saw.
struct RecvRun {
    /// The largest window advertised (bytes, scaled).
    max_window: u32,
    rcvbuf: usize,
    window_clamp: u32,
    rcv_rtt_us: u32,
    received: usize,
}

/// A sender `rtt` away sends, every round trip, as much as our last advertised window
/// allows (window-limited, as a bulk sender is once its cwnd is large); the application
/// reads everything as it arrives. Timestamps on: each flight echoes the TSval of the ACK
/// it answers, so our receiver measures the RTT (`tcp_rcv_rtt_measure_ts`).
fn window_limited_transfer(
    h: &mut Harness,
    s: SocketHandle,
    conn: &mut Conn,
    rounds: u32,
) -> RecvRun {
    window_limited_transfer_scaled(h, s, conn, rounds, 7)
}

/// Receive-buffer autotuning (`tcp_moderate_rcvbuf` = 1, Linux's dynamic right-sizing:
/// `tcp_rcv_rtt_measure_ts`, `tcp_rcv_space_adjust`, `tcp_grow_window`): the receiver
/// measures the RTT from echoed timestamps (10 ms here), and as the application reads more
/// per RTT the buffer and the window clamp grow, so the advertised window opens far past
/// the initial 64 KiB, never past `tcp_rmem[2]` (6 MiB; window = half the buffer).
#[test]
fn advertised_window_grows_as_the_application_reads_at_rate() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, false);
    assert_eq!(sock(&h, s).rcvbuf, 131_072);
    // tcp_init_buffer_space: the first receive-space estimate is min(rcv_wnd, 10 * advmss).
    assert_eq!(h.stack.tcp_info(s).unwrap().rcv_space, 14_600);
    assert_eq!(sock(&h, s).rcv_wscale, 7, "scale chosen for tcp_rmem[2]");
    let run = window_limited_transfer(&mut h, s, &mut conn, 14);
    // Each flight echoes the TSval of an ACK sent 10-11 ms earlier.
    let est = run.rcv_rtt_us >> 3;
    assert!((10_000..=11_000).contains(&est), "receiver RTT {est} us");
    assert!(run.rcvbuf > 2_000_000, "rcvbuf {}", run.rcvbuf);
    assert!(run.rcvbuf <= 6_291_456);
    assert_eq!(run.window_clamp as usize, run.rcvbuf / 2);
    assert!(run.max_window > 1_000_000, "window {}", run.max_window);
    assert!(run.received > 5_000_000, "{}", run.received);
    // Bytes are never held beyond the buffer.
    assert_eq!(h.stack.stats().tcp_ext.tcp_rcv_q_drop, 0);
    // TCP_INFO reports the receiver's estimates (tcpi_rcv_rtt, tcpi_rcv_space).
    let info = h.stack.tcp_info(s).unwrap();
    assert_eq!(info.rcv_rtt, est);
    assert!(info.rcv_space > 1_000_000, "{}", info.rcv_space);
}

/// `SOCK_RCVBUF_LOCK`: with SO_RCVBUF the buffer, the clamp and so the window stay where
/// the application put them, however fast it reads; `tcp_moderate_rcvbuf` = 0 does the same
/// for every socket.
#[test]
fn so_rcvbuf_and_moderate_rcvbuf_off_stop_autotuning() {
    // SO_RCVBUF = 65536 (doubled: 131072, the default size but locked).
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    h.stack.tcp_set_rcvbuf(s, 65_536).unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    let mut conn = Conn {
        our_port: syn.sport,
        peer_port: PEER_PORT,
        our_nxt: syn.seq.wrapping_add(1),
        peer_nxt: PEER_ISN,
        window: 65_535,
    };
    let synack = TcpSeg {
        syn: true,
        mss: Some(1460),
        sack_perm: true,
        wscale: Some(7),
        ts: Some((5000, syn.ts.unwrap().0)),
        ..conn.ack()
    };
    let acks = send(&mut h, &synack);
    assert_eq!(acks.len(), 1);
    conn.peer_nxt += 1;
    // The scale fits the locked buffer: 64 KiB of window needs a shift of 1.
    assert_eq!(sock(&h, s).rcv_wscale, 1);
    let locked = window_limited_transfer_scaled(&mut h, s, &mut conn, 10, 1);
    assert_eq!(locked.rcvbuf, 131_072);
    assert!(locked.max_window <= 65_536, "window {}", locked.max_window);
    assert!(locked.received > 500_000);

    // tcp_moderate_rcvbuf = 0.
    let cfg = StackConfig {
        tcp_moderate_rcvbuf: false,
        ..StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1).with_static_peer();
    let (s, mut conn, _) = open_active(&mut h, false);
    let off = window_limited_transfer(&mut h, s, &mut conn, 10);
    assert_eq!(off.rcvbuf, 131_072);
    assert!(off.max_window <= 65_536, "window {}", off.max_window);
    assert!(off.rcv_rtt_us > 0, "the RTT is still measured");
}

/// [`window_limited_transfer`] for a connection whose window scale is `ws`.
fn window_limited_transfer_scaled(
    h: &mut Harness,
    s: SocketHandle,
    conn: &mut Conn,
    rounds: u32,
    ws: u8,
) -> RecvRun {
    let rtt = Duration::from_millis(10);
    let mut last_ack: Option<TcpOut> = None;
    let mut peer_ts = 6000u32;
    let mut max_window = 0u32;
    let mut received = 0usize;
    for _ in 0..rounds {
        let (ack_no, wnd, tsecr) = match &last_ack {
            Some(a) => (
                a.ack.unwrap(),
                u32::from(a.window) << ws,
                a.ts.map_or(0, |t| t.0),
            ),
            None => (conn.peer_nxt, 60_000, 0),
        };
        max_window = max_window.max(wnd);
        let limit = ack_no.wrapping_add(wnd);
        let _ = h.advance(rtt);
        while limit.wrapping_sub(conn.peer_nxt) as i32 >= 1448 {
            peer_ts += 1;
            let seg = TcpSeg {
                ts: Some((peer_ts, tsecr)),
                ..conn.data(&[0xcd; 1448])
            };
            for a in send(h, &seg) {
                last_ack = Some(a);
            }
            received += read_all(h, s).len();
            for a in out(h) {
                last_ack = Some(a);
            }
        }
        for (_, f) in h.advance(Duration::from_millis(1)) {
            last_ack = parse_tcp(&f).or(last_ack);
        }
    }
    let sk = sock(h, s);
    RecvRun {
        max_window,
        rcvbuf: sk.rcvbuf,
        window_clamp: sk.window_clamp,
        rcv_rtt_us: sk.buf.rcv_rtt_us,
        received,
    }
}

/// Without timestamps the receiver times a window's worth of data (`tcp_rcv_rtt_measure`,
/// an upper bound that only ever lowers the estimate), and autotuning still works; a
/// drained receive ring that had grown large is given back.
#[test]
fn receiver_rtt_without_timestamps_and_ring_given_back() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    let rtt = Duration::from_millis(20);
    // Ten flights of 40 segments, one per 20 ms, read as they arrive.
    for _ in 0..10 {
        let _ = h.advance(rtt);
        for _ in 0..40 {
            let _ = send(&mut h, &conn.data(&[7; 1460]));
            let _ = read_all(&mut h, s);
        }
    }
    let est = sock(&h, s).buf.rcv_rtt_us >> 3;
    assert!(
        (20_000..=40_000).contains(&est),
        "receiver RTT estimate {est} us"
    );
    // Unscaled (no window scale offered back): the clamp stays within 64 KiB.
    assert!(sock(&h, s).window_clamp <= 65_535);
    // A large unread backlog, then a read that drains it: the ring goes back.
    for _ in 0..60 {
        let _ = send(&mut h, &conn.data(&[8; 1000]));
    }
    assert!(sock(&h, s).rbuf.capacity() > super::buf::RBUF_KEEP);
    let _ = read_all(&mut h, s);
    assert_eq!(sock(&h, s).rbuf.capacity(), 0);
}

/// Fills the congestion window to 40 segments of 1448 bytes in two 5 ms rounds (IW10,
/// then 20, then 40 in slow start), leaving nothing in flight. The handshake measures the
/// same 5 ms round trip, so each round's ACK comes before the tail-loss-probe timeout
/// (2·SRTT + 2 ms); a probe would send an eleventh segment before the ACK.
fn cwnd_of_forty(h: &mut Harness) -> (SocketHandle, Conn) {
    let (s, mut conn, _) = open_active_rtt(h, false, Duration::from_millis(5));
    conn.window = 65_535;
    assert_eq!(h.stack.tcp_send(s, &[3u8; 30 * 1448]), Ok(30 * 1448));
    let first = out(h);
    assert_eq!(first.len(), 10);
    let second = ack_round(h, &mut conn, &first, Duration::from_millis(5));
    assert_eq!(second.len(), 20);
    let none = ack_round(h, &mut conn, &second, Duration::from_millis(5));
    assert!(none.is_empty());
    let sk = sock(h, s);
    assert_eq!(sk.win.cwnd, 40 * 1448);
    assert_eq!(sk.snd_una, sk.snd_nxt);
    (s, conn)
}

/// Congestion-window validation after idle (`tcp_slow_start_after_idle` = 1,
/// `tcp_cwnd_restart`, RFC 2861 §2 / RFC 7661 §4.1): after more than one RTO without
/// sending, the window halves per RTO elapsed, never below the restart window
/// min(IW, cwnd); ssthresh keeps 3/4 of the old window (here it stays infinite). Idle for
/// 1.5 RTO: one halving, 40 -> 20 segments on the wire.
#[test]
fn cwnd_restarts_after_idle_longer_than_rto() {
    let mut h = setup();
    let (s, _conn) = cwnd_of_forty(&mut h);
    let rto = sock(&h, s).rtt.rto;
    assert!(rto > Duration::from_millis(200) && rto < Duration::from_millis(220));
    let _ = h.advance(rto + rto / 2);
    assert_eq!(h.stack.tcp_send(s, &[4u8; 40 * 1448]), Ok(40 * 1448));
    assert_eq!(out(&mut h).len(), 20, "one halving");
    assert_eq!(sock(&h, s).win.cwnd, 20 * 1448);
    assert_eq!(sock(&h, s).win.ssthresh, INFINITE_SSTHRESH);

    // A long idle period: down to the restart window of 10 segments, no lower.
    let mut h = setup();
    let (s, _conn) = cwnd_of_forty(&mut h);
    let _ = h.advance(Duration::from_secs(30));
    assert_eq!(h.stack.tcp_send(s, &[4u8; 40 * 1448]), Ok(40 * 1448));
    assert_eq!(out(&mut h).len(), 10, "restart window = IW10");
}

/// No restart when the idle time is below the RTO, nor with `tcp_slow_start_after_idle`
/// = 0: the whole window of 40 segments goes out at once.
#[test]
fn cwnd_kept_after_short_idle_or_with_slow_start_after_idle_off() {
    let mut h = setup();
    let (s, _conn) = cwnd_of_forty(&mut h);
    // The last data left 5 ms before the last ACK: idle is measured from it (lsndtime).
    let rto = sock(&h, s).rtt.rto;
    let _ = h.advance(rto - Duration::from_millis(20));
    assert_eq!(h.stack.tcp_send(s, &[4u8; 40 * 1448]), Ok(40 * 1448));
    assert_eq!(out(&mut h).len(), 40);

    let cfg = StackConfig {
        tcp_slow_start_after_idle: false,
        ..StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1).with_static_peer();
    let (s, _conn) = cwnd_of_forty(&mut h);
    let _ = h.advance(Duration::from_secs(30));
    assert_eq!(h.stack.tcp_send(s, &[4u8; 40 * 1448]), Ok(40 * 1448));
    assert_eq!(out(&mut h).len(), 40);
}

/// CUBIC's `CA_EVENT_TX_START` (`cubictcp_cwnd_event`, RFC 9438 §5.8): when a sender in
/// congestion avoidance starts sending again after an idle period, its epoch start moves
/// forward by the idle time, so the cubic function does not jump ahead for time the flow
/// did not use.
#[test]
fn cubic_epoch_shifts_by_the_idle_time() {
    let cfg = StackConfig {
        tcp_slow_start_after_idle: false,
        ..StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1).with_static_peer();
    let (s, mut conn, _) = open_active_rtt(&mut h, false, Duration::from_millis(10));
    conn.window = 65_535;
    // Congestion avoidance from the start: ssthresh at the initial window.
    {
        let idx = h.stack.tcp.index(s).unwrap();
        let sk = h.stack.tcp.sock_at(idx).unwrap();
        sk.win.ssthresh = sk.win.cwnd;
    }
    assert_eq!(h.stack.tcp_send(s, &[5u8; 10 * 1448]), Ok(10 * 1448));
    let flight = out(&mut h);
    let none = ack_round(&mut h, &mut conn, &flight, Duration::from_millis(10));
    assert!(none.is_empty());
    let epoch = |h: &Harness| match sock(h, s).cc {
        super::cong::Congestion::Cubic(c) => c.epoch_start(),
        super::cong::Congestion::Reno(_) => None,
    };
    let e0 = epoch(&h).expect("an epoch started in congestion avoidance");
    let last_send = sock(&h, s).lsndtime;
    let _ = h.advance(Duration::from_secs(5));
    let idle = h.now.saturating_since(last_send);
    assert_eq!(h.stack.tcp_send(s, b"after idle"), Ok(10));
    assert_eq!(out(&mut h).len(), 1);
    let e1 = epoch(&h).unwrap();
    assert_eq!(e1, (e0 + idle).min(h.now));
    assert!(e1.saturating_since(e0) >= Duration::from_secs(5));
    assert!(e1 <= h.now && e1 > Instant::ZERO);
}

/// `tcp_rcv_space_adjust` with more than 4 GiB read in one receiver RTT (a fast path with
/// a long RTT estimate): the bytes per RTT saturate at u32::MAX, and the growth term
/// (window × increase, about 2^65) must saturate too rather than overflow; the buffer ends
/// at `tcp_rmem[2]`. With plain arithmetic this panics (overflow checks are on in tests).
#[test]
fn rcv_space_adjust_saturates_on_huge_reads() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    {
        let (idx, gen) = s.parts();
        let sk = h
            .stack
            .tcp
            .sock_mut(idx & !super::TCP_HANDLE_TAG, gen)
            .unwrap();
        // 5 GiB read since the last adjustment, one RTT (1 ms) ago.
        sk.buf.rcvq_copied = sk.buf.copied.wrapping_sub(5 << 30);
        sk.buf.rcv_rtt_us = 1000 << 3;
        sk.buf.rcvq_space = 1;
    }
    let _ = h.advance(Duration::from_millis(2));
    let _ = send(&mut h, &conn.data(&[9u8; 100]));
    assert_eq!(read_all(&mut h, s), vec![9u8; 100]);
    let sk = sock(&h, s);
    assert_eq!(sk.rcvbuf, h.stack.cfg.tcp_rmem.2);
    assert_eq!(sk.buf.rcvq_space, u32::MAX);
}

//! Rule tests: moving data: delayed and quick ACKs, Nagle and TCP_NODELAY, the send buffer,
//! the advertised window, out-of-order data and SACK blocks, loopback connections.

use alloc::vec;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use super::test_peer::*;
use crate::testutil::*;
use crate::time::Duration;
use crate::{Errno, Event, StackConfig};

/// Delayed ACK (RFC 1122 §4.2.3.2; Linux `tcp_event_data_recv`, `__tcp_ack_snd_check`,
/// `tcp_send_delayed_ack`): the first data of a connection starts quick-ACK mode, in which
/// each segment is ACKed at once (here 16 times, `TCP_MAX_QUICKACKS`); after that a lone
/// segment's ACK waits for the delayed-ACK timer, 40 ms (`TCP_ATO_MIN`), and a second full
/// segment is ACKed at once.
#[test]
fn quick_acks_at_start_then_delayed_ack_after_40ms() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    for i in 0..16 {
        let acks = send(&mut h, &conn.data(&[i; 100]));
        assert_eq!(acks.len(), 1, "quick ACK {i}");
        assert_eq!(acks[0].ack, Some(conn.peer_nxt));
        assert_eq!(acks[0].flag_str(), ".");
    }
    assert_eq!(read_all(&mut h, s).len(), 1600);
    // Quick ACKs used up: the next ACK is delayed by 40 ms.
    assert!(send(&mut h, &conn.data(b"late")).is_empty());
    let early = h.advance(Duration::from_millis(39));
    assert!(early.is_empty());
    let t0 = h.now;
    let later = h.advance(Duration::from_millis(5));
    assert_eq!(later.len(), 1);
    let (at, f) = &later[0];
    assert_eq!(at.as_millis(), t0.as_millis() + 1);
    assert_eq!(parse_tcp(f).unwrap().ack, Some(conn.peer_nxt));
    assert_eq!(h.stack.stats().tcp_ext.delayed_acks, 1);
    let _ = read_all(&mut h, s);
    // One full segment waits; the second full segment is ACKed at once.
    assert!(send(&mut h, &conn.data(&[7; 1460])).is_empty());
    let _ = read_all(&mut h, s);
    let acks = send(&mut h, &conn.data(&[8; 1460]));
    assert_eq!(acks.len(), 1);
    assert_eq!(acks[0].ack, Some(conn.peer_nxt));
}

/// Nagle (RFC 1122 §4.2.3.4, Linux `tcp_nagle_check` with Minshall's rule): while a small
/// segment is unacknowledged, further small writes wait and go out together once it is
/// ACKed.
#[test]
fn nagle_holds_small_writes_while_a_small_segment_is_unacked() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    assert_eq!(h.stack.tcp_send(s, b"hello"), Ok(5));
    let first = one(&mut h);
    assert_eq!(
        (first.flag_str().as_str(), first.payload.as_slice()),
        ("P.", &b"hello"[..])
    );
    assert_eq!(h.stack.tcp_send(s, b"world"), Ok(5));
    assert_eq!(h.stack.tcp_send(s, b"!!"), Ok(2));
    assert!(out(&mut h).is_empty(), "held by Nagle");
    conn.our_nxt += 5;
    let next = send(&mut h, &conn.ack());
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].payload, b"world!!");
    assert_eq!(next[0].seq, conn.our_nxt);
}

/// TCP_NODELAY turns Nagle off: every write goes at once; turning it on pushes what Nagle
/// held (tcp_push_pending_frames from setsockopt).
#[test]
fn nodelay_sends_each_write_and_pushes_held_data() {
    let mut h = setup();
    let (s, _conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, b"a").unwrap();
    h.stack.tcp_send(s, b"b").unwrap();
    assert_eq!(out(&mut h).len(), 1);
    h.stack.tcp_set_nodelay(s, true).unwrap();
    let pushed = out(&mut h);
    assert_eq!(pushed.len(), 1);
    assert_eq!(pushed[0].payload, b"b");
    h.stack.tcp_send(s, b"c").unwrap();
    h.stack.tcp_send(s, b"d").unwrap();
    let segs = out(&mut h);
    assert_eq!(segs.len(), 2);
    assert_eq!(
        (segs[0].payload.as_slice(), segs[1].payload.as_slice()),
        (&b"c"[..], &b"d"[..])
    );
}

/// The send buffer (here fixed at 16384 by `SO_SNDBUF` = 8192, doubled): a large write is
/// partial, the next gets EAGAIN; RFC 6928's initial window lets 10 full segments out; ACKs
/// free space, the rest goes out and `Writable` is reported (`sk_stream_write_space`).
#[test]
fn send_buffer_limits_writes_and_initial_window_is_ten_segments() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_set_sndbuf(s, 8192).unwrap();
    let data: Vec<u8> = (0..20_000u32).map(|i| i as u8).collect();
    assert_eq!(h.stack.tcp_send(s, &data), Ok(16_384));
    assert_eq!(h.stack.tcp_send(s, b"x"), Err(Errno::EAGAIN));
    assert_eq!(h.stack.tcp_tx_queued(s), Ok(16_384));
    let segs = out(&mut h);
    assert_eq!(segs.len(), 10, "IW10");
    assert!(segs.iter().all(|x| x.payload.len() == 1460));
    let mut got: Vec<u8> = segs.iter().flat_map(|x| x.payload.clone()).collect();
    conn.our_nxt += 14_600;
    let rest = send(&mut h, &conn.ack());
    assert!(has_event(&mut h, Event::Writable(s)));
    let rest_bytes: Vec<u8> = rest.iter().flat_map(|x| x.payload.clone()).collect();
    assert_eq!(rest_bytes.len(), 16_384 - 14_600);
    got.extend(rest_bytes);
    assert_eq!(got, data[..16_384]);
}

/// The advertised window (RFC 7323 §2.3, Linux `tcp_select_window`): scaled by our shift,
/// tracking the free space as unread data fills the buffer, but its right edge never moves
/// back (RFC 9293 §3.8.6.2.2: "the receiver SHOULD NOT shrink the window"). Keeping the
/// edge while the window is rounded up to the scale lets it creep forward by less than
/// 1 << 7 bytes per ACK, as in Linux.
#[test]
fn window_is_scaled_tracks_free_space_and_never_shrinks() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, false);
    let mut right_edge = None::<u32>;
    let mut acks = 0u32;
    let mut unread = 0u32;
    let mut see = |a: &TcpOut, acks: &mut u32| {
        let edge = a.ack.unwrap().wrapping_add(u32::from(a.window) << 7);
        if let Some(prev) = right_edge {
            assert!(edge.wrapping_sub(prev) as i32 >= 0, "the window shrank");
        }
        right_edge = Some(edge);
        *acks += 1;
    };
    for i in 0..30 {
        for a in send(&mut h, &conn.data(&[i; 1400])) {
            see(&a, &mut acks);
        }
        unread += 1400;
        for (_, f) in h.advance(Duration::from_millis(50)) {
            see(&parse_tcp(&f).unwrap(), &mut acks);
        }
    }
    let offered = right_edge.unwrap().wrapping_sub(conn.peer_nxt);
    let free = 65_536 - unread;
    assert!(offered > 0 && offered < 65_536 - 30 * 1000);
    assert!(
        offered <= free + 128 * acks,
        "offered {offered}, free {free}, {acks} ACKs"
    );
    assert_eq!(read_all(&mut h, s).len(), unread as usize);
}

/// Receiver SWS avoidance and the zero window (RFC 1122 §4.2.3.3, RFC 9293 §3.8.6.2.2):
/// with a small buffer the window closes when less than a segment is free; data sent into
/// the closed window is dropped (TCPZeroWindowDrop) and answered; reading reopens the
/// window with an update (tcp_cleanup_rbuf).
#[test]
fn window_closes_when_buffer_fills_and_reopens_after_read() {
    let mut h = setup();
    let s = h.stack.tcp_socket().unwrap();
    h.stack.tcp_set_rcvbuf(s, 4096).unwrap();
    let _ = h
        .stack
        .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let syn = one(&mut h);
    assert_eq!(syn.window, 2920, "4 KiB of window space, two segments");
    assert_eq!(syn.wscale, Some(0), "SO_RCVBUF: the scale fits the buffer");
    let mut conn = Conn {
        our_port: syn.sport,
        peer_port: PEER_PORT,
        our_nxt: syn.seq + 1,
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
    let quick = send(&mut h, &conn.data(&[1; 1460]));
    assert_eq!(
        quick.len(),
        1,
        "one quick ACK (half the window in segments)"
    );
    assert!(send(&mut h, &conn.data(&[2; 1460])).is_empty(), "delayed");
    let acks = h.advance(Duration::from_millis(50));
    assert_eq!(acks.len(), 1);
    assert_eq!(parse_tcp(&acks[0].1).unwrap().window, 0);
    assert_eq!(h.stack.stats().tcp_ext.tcp_to_zero_window_adv, 1);
    let probe = send(&mut h, &conn.data(b"more"));
    conn.peer_nxt -= 4;
    assert_eq!(probe.len(), 1);
    assert_eq!(probe[0].ack, Some(conn.peer_nxt));
    assert_eq!(h.stack.stats().tcp_ext.tcp_zero_window_drop, 1);
    assert_eq!(read_all(&mut h, s).len(), 2920);
    let update = out(&mut h);
    assert_eq!(update.len(), 1, "window update after the read");
    assert!(update[0].window >= 1460);
    assert_eq!(h.stack.stats().tcp_ext.tcp_from_zero_window_adv, 1);
}

/// Out-of-order data (Linux `tcp_data_queue_ofo`, RFC 5681 §4.2, RFC 2018 §4): a segment
/// past a hole is kept and ACKed at once with the hole's start and a SACK block for it; the
/// segment filling the hole is ACKed at once up to the end, and the reader sees the bytes
/// in order.
#[test]
fn out_of_order_data_is_kept_and_dupacked_with_sack() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, false);
    let start = conn.peer_nxt;
    let a = conn.data(&[b'a'; 1000]);
    let b = conn.data(&[b'b'; 1000]);
    let c = conn.data(&[b'c'; 1000]);
    let dup = send(&mut h, &c).remove(0);
    assert_eq!(dup.ack, Some(start));
    assert_eq!(dup.sacks, vec![(start + 2000, start + 3000)]);
    let dup2 = send(&mut h, &b).remove(0);
    assert_eq!(dup2.ack, Some(start));
    assert_eq!(
        dup2.sacks,
        vec![(start + 1000, start + 3000)],
        "merged, newest first"
    );
    let full = send(&mut h, &a).remove(0);
    assert_eq!(full.ack, Some(start + 3000));
    assert!(full.sacks.is_empty());
    let got = read_all(&mut h, s);
    assert_eq!(got.len(), 3000);
    assert!(got[..1000].iter().all(|&x| x == b'a') && got[2000..].iter().all(|&x| x == b'c'));
    assert_eq!(h.stack.stats().tcp_ext.tcp_ofo_queue, 2);
}

/// Old data (a retransmission of bytes already received) is ACKed at once
/// (DelayedACKLost) and not delivered twice.
#[test]
fn duplicate_data_is_acked_at_once_and_not_delivered_twice() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    let seg = conn.data(b"once");
    let _ = send(&mut h, &seg);
    let again = send(&mut h, &seg);
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].ack, Some(conn.peer_nxt));
    assert_eq!(h.stack.stats().tcp_ext.delayed_ack_lost, 1);
    assert_eq!(read_all(&mut h, s), b"once");
}

/// A connection over the loopback device within one stack: the handshake and a transfer
/// larger than both buffers complete through `process_backlog`, byte for byte.
#[test]
fn loopback_connection_transfers_data() {
    let mut h = Harness::with_config(StackConfig::default(), 3);
    let l = h.stack.tcp_socket().unwrap();
    let addr = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9000);
    h.stack.tcp_bind(l, addr).unwrap();
    h.stack.tcp_listen(l, 4).unwrap();
    let c = h.stack.tcp_socket().unwrap();
    assert_eq!(h.stack.tcp_connect(c, addr), Err(Errno::EINPROGRESS));
    assert_eq!(h.stack.tcp_state(c), Ok(crate::TcpState::Established));
    let (srv, from) = h.stack.tcp_accept(l).unwrap();
    assert_eq!(from.ip(), &Ipv4Addr::LOCALHOST);
    let data: Vec<u8> = (0..300_000u32).map(|i| (i * 7 % 251) as u8).collect();
    let mut sent = 0;
    let mut got = Vec::new();
    let mut buf = vec![0u8; 8192];
    let mut rounds = 0;
    while got.len() < data.len() {
        rounds += 1;
        assert!(rounds < 10_000, "stalled at {} bytes", got.len());
        if sent < data.len() {
            if let Ok(n) = h.stack.tcp_send(c, &data[sent..]) {
                sent += n;
            }
        }
        while let Ok(n) = h.stack.tcp_recv(srv, &mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        let _ = h.advance(Duration::from_millis(1));
    }
    assert_eq!(got, data);
    assert!(
        h.drain().is_empty(),
        "loopback traffic never reaches a driver"
    );
}

/// Buffers are allocated when first used: established connections that have moved no data
/// hold no send or receive buffer, on either side of a handshake; a drained send buffer
/// that had grown large is given back.
#[test]
fn idle_connections_hold_no_buffers() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    let (_l, c, _) = open_passive(&mut h);
    assert_eq!(h.stack.tcp_buffer_capacity(s), Ok(0));
    assert_eq!(h.stack.tcp_buffer_capacity(c), Ok(0));
    let data = vec![1u8; 12_000];
    h.stack.tcp_send(s, &data).unwrap();
    assert!(h.stack.tcp_buffer_capacity(s).unwrap() >= 12_000);
    let _ = out(&mut h);
    conn.our_nxt += 12_000;
    let _ = send(&mut h, &conn.ack());
    assert_eq!(h.stack.tcp_tx_queued(s), Ok(0));
    assert_eq!(h.stack.tcp_buffer_capacity(s), Ok(0));
}

/// Sequence numbers wrap (RFC 9293 §3.4, RFC 1982 arithmetic): out-of-order blocks on
/// both sides of 2^32 merge and are delivered in order.
#[test]
fn sequence_space_wraps_through_reassembly() {
    let mut h = setup();
    let l = listener(&mut h, 4);
    let isn = u32::MAX - 1500;
    let syn = TcpSeg {
        seq: isn,
        ..peer_syn(PEER_PORT)
    };
    let sa = send(&mut h, &syn).remove(0);
    let mut conn = Conn {
        our_port: OUR_PORT,
        peer_port: PEER_PORT,
        our_nxt: sa.seq.wrapping_add(1),
        peer_nxt: isn.wrapping_add(1),
        window: 65_535,
    };
    let _ = send(&mut h, &conn.ack());
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    let segs: Vec<TcpSeg> = (0..4u8).map(|i| conn.data(&[b'a' + i; 1000])).collect();
    for i in [3, 1, 2] {
        let acks = send(&mut h, &segs[i]);
        assert_eq!(
            acks[0].ack,
            Some(isn.wrapping_add(1)),
            "dup ACK for segment {i}"
        );
    }
    let acks = send(&mut h, &segs[0]);
    assert_eq!(acks[0].ack, Some(conn.peer_nxt));
    assert!(conn.peer_nxt < 5000, "wrapped");
    let got = read_all(&mut h, c);
    assert_eq!(got.len(), 4000);
    for i in 0..4 {
        assert!(got[i * 1000..(i + 1) * 1000]
            .iter()
            .all(|&x| x == b'a' + i as u8));
    }
}

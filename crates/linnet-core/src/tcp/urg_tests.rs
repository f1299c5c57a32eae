//! Rule tests: urgent data (Linux `tcp_urg`, `tcp_check_urg`, `tcp_recv_urg`, the urgent
//! mark in `tcp_recvmsg`, the urgent pointer of `__tcp_transmit_skb`).

use super::test_peer::*;
use crate::testutil::*;
use crate::{Errno, Event};

/// The peer sends "abc" with URG and pointer 3: with `tcp_stdurg` = 0 the urgent byte is
/// the one before the pointer, 'c'. SIGURG's event fires; a read stops at the mark ("ab"),
/// `sockatmark` is true there, `MSG_OOB` returns 'c' once and EINVAL after; the next normal
/// read skips the urgent byte and returns what follows.
#[test]
fn urgent_byte_is_out_of_band_and_read_once() {
    let mut h = setup();
    let (_l, c, mut conn) = open_passive(&mut h);
    let seg = TcpSeg {
        urg: Some(3),
        ..conn.data(b"abc")
    };
    let _ = send(&mut h, &seg);
    let ev = h.events();
    assert!(ev.contains(&Event::Urgent(c)), "{ev:?}");
    assert!(ev.contains(&Event::Readable(c)));
    let mut buf = [0u8; 16];
    assert_eq!(h.stack.tcp_at_mark(c), Ok(false));
    assert_eq!(h.stack.tcp_recv(c, &mut buf), Ok(2));
    assert_eq!(&buf[..2], b"ab");
    assert_eq!(h.stack.tcp_at_mark(c), Ok(true));
    let mut oob = [0u8; 1];
    assert_eq!(h.stack.tcp_recv_oob(c, &mut oob), Ok(1));
    assert_eq!(&oob, b"c");
    assert_eq!(h.stack.tcp_recv_oob(c, &mut oob), Err(Errno::EINVAL));
    assert_eq!(h.stack.tcp_recv(c, &mut buf), Err(Errno::EAGAIN));
    let _ = send(&mut h, &conn.data(b"de"));
    assert_eq!(read_all(&mut h, c), b"de");
    assert_eq!(h.stack.tcp_at_mark(c), Ok(false));
}

/// Reading through the mark without `MSG_OOB` drops the urgent byte from the stream and
/// forgets it: `MSG_OOB` then returns EINVAL. With no urgent data at all it is EINVAL too.
#[test]
fn reading_past_the_mark_loses_the_urgent_byte() {
    let mut h = setup();
    let (_l, c, mut conn) = open_passive(&mut h);
    let mut oob = [0u8; 1];
    assert_eq!(h.stack.tcp_recv_oob(c, &mut oob), Err(Errno::EINVAL));
    let seg = TcpSeg {
        urg: Some(3),
        ..conn.data(b"xy!z")
    };
    let _ = send(&mut h, &seg);
    let mut all = alloc::vec::Vec::new();
    let mut buf = [0u8; 16];
    while let Ok(n) = h.stack.tcp_recv(c, &mut buf) {
        all.extend_from_slice(&buf[..n]);
    }
    assert_eq!(all, b"xyz");
    assert_eq!(h.stack.tcp_recv_oob(c, &mut oob), Err(Errno::EINVAL));
}

/// `SO_OOBINLINE`: the urgent byte stays in the stream (the read still stops at the mark),
/// and `MSG_OOB` is EINVAL.
#[test]
fn oobinline_keeps_the_urgent_byte_in_the_stream() {
    let mut h = setup();
    let (_l, c, mut conn) = open_passive(&mut h);
    h.stack.tcp_set_oobinline(c, true).unwrap();
    assert_eq!(h.stack.tcp_oobinline(c), Ok(true));
    let seg = TcpSeg {
        urg: Some(3),
        ..conn.data(b"abcd")
    };
    let _ = send(&mut h, &seg);
    let mut buf = [0u8; 16];
    assert_eq!(h.stack.tcp_recv(c, &mut buf), Ok(2));
    let mut oob = [0u8; 1];
    assert_eq!(h.stack.tcp_recv_oob(c, &mut oob), Err(Errno::EINVAL));
    assert_eq!(read_all(&mut h, c), b"cd");
}

/// The pointer may arrive before the byte (`TCP_URG_NOTYET`): `MSG_OOB` is EAGAIN until
/// the segment holding it arrives.
#[test]
fn urgent_pointer_ahead_of_the_data_waits_for_the_byte() {
    let mut h = setup();
    let (_l, c, mut conn) = open_passive(&mut h);
    let seg = TcpSeg {
        urg: Some(5),
        ..conn.data(b"12")
    };
    let _ = send(&mut h, &seg);
    let mut oob = [0u8; 1];
    assert_eq!(h.stack.tcp_recv_oob(c, &mut oob), Err(Errno::EAGAIN));
    let _ = send(&mut h, &conn.data(b"345"));
    assert_eq!(h.stack.tcp_recv_oob(c, &mut oob), Ok(1));
    assert_eq!(&oob, b"5");
    assert_eq!(read_all(&mut h, c), b"1234");
}

/// `send(.., MSG_OOB)`: the segment carries URG with the pointer just past the last byte;
/// it goes at once even when Nagle would hold a partial segment (`tcp_nagle_test`: an
/// earlier small segment is unacknowledged). A retransmission of it carries URG again;
/// once it is acknowledged (`tcp_urg_mode` over), no segment has URG.
#[test]
fn send_oob_sets_urg_and_pointer_until_acked() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, b"small").unwrap();
    let first = one(&mut h);
    assert!(!first.flags.urg);
    assert_eq!(h.stack.tcp_send_oob(s, b"!!"), Ok(2));
    let urg = one(&mut h);
    assert_eq!(urg.payload, b"!!");
    assert!(urg.flags.urg);
    assert_eq!(urg.urg_ptr, 2);
    assert_eq!(urg.seq, conn.our_nxt + 5);
    conn.our_nxt += 5;
    let _ = send(&mut h, &conn.ack());
    let re = h.advance(crate::time::Duration::from_millis(300));
    let re = parse_tcp(&re[0].1).unwrap();
    assert_eq!((re.seq, re.payload.as_slice()), (conn.our_nxt, &b"!!"[..]));
    assert!(re.flags.urg);
    assert_eq!(re.urg_ptr, 2);
    conn.our_nxt += 2;
    let _ = send(&mut h, &conn.ack());
    h.stack.tcp_send(s, b"plain").unwrap();
    let plain = one(&mut h);
    assert!(!plain.flags.urg && plain.urg_ptr == 0, "{plain:#?}");
}

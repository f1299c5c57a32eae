//! Rule tests: `TCP_INFO` (Linux `tcp_get_info`, `struct tcp_info`) and the per-socket
//! counters behind it.

use super::test_peer::*;
use crate::tcp::{TCPI_OPT_SACK, TCPI_OPT_TIMESTAMPS, TCPI_OPT_WSCALE};
use crate::testutil::*;
use crate::time::Duration;
use crate::Errno;

/// An established connection with Linux's options: state 1, CA Open, the option bits and
/// both window scales, MSS figures, the initial window in segments and the infinite
/// ssthresh; then the counters follow a data exchange (segments and bytes in and out,
/// bytes_acked counting the SYN, unacked segments, not-sent bytes) and the "time since"
/// fields follow the clock.
#[test]
fn tcp_info_reports_connection_and_counters() {
    let mut h = setup();
    let (s, mut conn, syn) = open_active_rtt(&mut h, false, Duration::from_millis(10));
    let i = h.stack.tcp_info(s).unwrap();
    assert_eq!((i.state, i.ca_state), (1, 0));
    assert_eq!(
        i.options,
        TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE
    );
    assert_eq!((i.snd_wscale, i.rcv_wscale), (7, syn.wscale.unwrap()));
    assert_eq!((i.snd_mss, i.advmss, i.pmtu), (1448, 1460, 1500));
    assert_eq!((i.snd_cwnd, i.snd_ssthresh), (10, 0x7fff_ffff));
    assert_eq!((i.segs_out, i.segs_in, i.bytes_acked), (2, 1, 1));
    assert_eq!((i.unacked, i.notsent_bytes, i.total_retrans), (0, 0, 0));
    assert_eq!(i.reordering, 3);
    assert_eq!(i.last_ack_sent, 0);
    assert!(
        i.min_rtt != u32::MAX && i.rtt > 0 && i.rto >= 200_000,
        "{i:#?}"
    );

    h.stack.tcp_send(s, &[9u8; 3000]).unwrap();
    let sent = out(&mut h);
    assert_eq!(sent.len(), 3);
    let i = h.stack.tcp_info(s).unwrap();
    assert_eq!((i.segs_out, i.data_segs_out, i.bytes_sent), (5, 3, 3000));
    assert_eq!(i.unacked, 3);
    conn.our_nxt += 2896;
    let _ = h.advance(Duration::from_millis(10));
    let _ = send(&mut h, &conn.ack());
    let i = h.stack.tcp_info(s).unwrap();
    assert_eq!((i.bytes_acked, i.unacked, i.segs_in), (2897, 1, 2));
    assert_eq!(i.last_ack_recv, 0);
    assert_eq!(i.last_data_sent, 10);
    let _ = send(&mut h, &conn.data(&[1u8; 100]));
    let i = h.stack.tcp_info(s).unwrap();
    assert_eq!((i.segs_in, i.data_segs_in, i.bytes_received), (3, 1, 100));
    assert_eq!(i.snd_wnd, 512 << 7);
    let _ = h.advance(Duration::from_millis(1500));
    let i = h.stack.tcp_info(s).unwrap();
    assert_eq!(i.last_data_recv, 1500);
    h.stack.tcp_set_cork(s, true).unwrap();
    conn.our_nxt += 104;
    let _ = send(&mut h, &conn.ack());
    h.stack.tcp_send(s, b"held").unwrap();
    assert_eq!(h.stack.tcp_info(s).unwrap().notsent_bytes, 4);
}

/// After a retransmission timeout: CA Loss (4), one retransmission of the head with its
/// backoff, the lost (every outstanding segment, `tcp_timeout_mark_lost`) and
/// retransmitted segments, total_retrans and bytes_retrans.
#[test]
fn tcp_info_after_timeout_shows_loss_and_retransmissions() {
    let mut h = setup();
    let (s, _conn, _) = open_active(&mut h, true);
    h.stack.tcp_send(s, &[3u8; 2000]).unwrap();
    assert_eq!(out(&mut h).len(), 2);
    let re = h.advance(Duration::from_millis(201));
    assert_eq!(re.len(), 1, "one segment again after the RTO");
    let i = h.stack.tcp_info(s).unwrap();
    assert_eq!((i.ca_state, i.retransmits, i.backoff), (4, 1, 1));
    assert_eq!((i.total_retrans, i.bytes_retrans), (1, 1460));
    assert_eq!((i.lost, i.retrans, i.unacked), (2, 1, 2));
    assert_eq!(i.snd_cwnd, 1);
}

/// A listener reports its accept-queue length as `unacked` and its backlog as `sacked`;
/// an out-of-order segment counts in `rcv_ooopack`; a bad handle is EBADF.
#[test]
fn tcp_info_listener_and_out_of_order() {
    let mut h = setup();
    let l = listener(&mut h, 16);
    let conn = peer_connects(&mut h, PEER_PORT);
    let i = h.stack.tcp_info(l).unwrap();
    assert_eq!((i.state, i.unacked, i.sacked), (10, 1, 16));
    let (c, _) = h.stack.tcp_accept(l).unwrap();
    let i = h.stack.tcp_info(c).unwrap();
    assert_eq!((i.bytes_acked, i.options), (1, 0));
    let ooo = TcpSeg {
        seq: conn.peer_nxt + 10,
        payload: b"later".to_vec(),
        ..conn.ack()
    };
    let _ = send(&mut h, &ooo);
    let i = h.stack.tcp_info(c).unwrap();
    assert_eq!((i.rcv_ooopack, i.bytes_received), (1, 0));
    h.stack.tcp_close(c).unwrap();
    assert_eq!(h.stack.tcp_info(c), Err(Errno::EBADF));
}

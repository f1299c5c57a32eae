//! Rule tests: receive offload. A TAP read with `IFF_VNET_HDR` and `TUNSETOFFLOAD` hands the
//! stack the Linux sender's TSO/GSO super-segments whole (`gso_size` set, `CHECKSUM_PARTIAL`),
//! as a NIC with LRO/GRO hands them to Linux: TCP takes one such segment as one, measures the
//! peer's MSS from `gso_size` (`tcp_measure_rcv_mss`), answers it with one ACK, and does not
//! verify a partial checksum (`skb_csum_unnecessary`).

use alloc::vec::Vec;

use super::test_peer::*;
use crate::skb::{GsoType, IpSummed, SkBuff};
use crate::testutil::*;
use linnet_wire::checksum;

/// The segment size the super-segments stand for (MSS 1460 less 12 timestamp bytes).
const GSO_SIZE: u16 = 1448;

/// The TCP checksum offset in a frame built by `tcp_frame` (Ethernet 14 + IPv4 20 + 16).
const TCP_CSUM_AT: usize = 14 + 20 + 16;

/// `frame` as the kernel hands it over with the checksum left to the device: the TCP
/// checksum field holds only the folded pseudo-header sum.
fn make_partial(frame: &mut [u8]) {
    let tcp_len = (frame.len() - 34) as u16;
    let pseudo = checksum::pseudo_header_v4(PEER_IP, OUR_IP, 6, tcp_len);
    frame[TCP_CSUM_AT..TCP_CSUM_AT + 2].copy_from_slice(&checksum::fold(pseudo).to_be_bytes());
}

/// Feeds `frame` as one receive batch with the offload metadata a vnet header gives.
fn receive_offloaded(h: &mut Harness, frame: &[u8], gso_size: u16, summed: IpSummed) {
    let mut skb = SkBuff::from_slice(frame);
    skb.gso_size = gso_size;
    skb.gso_type = if gso_size != 0 {
        GsoType::TcpV4
    } else {
        GsoType::None
    };
    skb.ip_summed = summed;
    h.stack.rx_batch_begin();
    let eth0 = h.eth0;
    h.stack.receive(h.now, eth0, skb);
    h.stack.rx_batch_end();
}

/// The peer's data segment of `len` bytes without PSH (a burst's middle), with timestamps.
fn data_seg(conn: &mut Conn, ts: (u32, u32), len: usize, salt: usize) -> (TcpSeg, Vec<u8>) {
    let payload: Vec<u8> = (0..len).map(|i| (i * 7 + i / 251 + salt) as u8).collect();
    let seg = TcpSeg {
        psh: false,
        ts: Some(ts),
        ..conn.data(&payload)
    };
    (seg, payload)
}

/// Linux accepts a GRO/LRO skb longer than the MTU (ip_rcv checks no MTU) and TCP queues it
/// as one segment: a 10-segment super-segment with `gso_size` 1448 and a partial checksum
/// arrives intact and, in quick-ACK mode (the first data), draws exactly one ACK that
/// acknowledges all of it; `tcpi_rcv_mss` becomes 1448 (from `gso_size`, not the 1460 its
/// length capped by advmss would give). No checksum error is counted.
#[test]
fn gso_super_segment_is_taken_whole_with_one_ack_and_rcv_mss_from_gso_size() {
    let mut h = setup();
    let (s, mut conn, syn) = open_active(&mut h, false);
    let ts = (5001, syn.ts.map_or(0, |t| t.0));
    let (seg, payload) = data_seg(&mut conn, ts, 10 * usize::from(GSO_SIZE), 0);
    let mut frame = tcp_frame(&seg);
    assert!(frame.len() > 1514);
    make_partial(&mut frame);
    receive_offloaded(&mut h, &frame, GSO_SIZE, IpSummed::Partial);
    let acks = out(&mut h);
    assert_eq!(acks.len(), 1, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(conn.peer_nxt));
    assert_eq!(read_all(&mut h, s), payload);
    let i = h.stack.tcp_info(s).unwrap();
    assert_eq!(i.rcv_mss, u32::from(GSO_SIZE));
    // tcp_segs_in counts the segments a GSO skb stands for (gso_segs).
    assert_eq!(i.data_segs_in, 10);
    assert_eq!(h.stack.stats().tcp.in_csum_errors, 0);
}

/// A full 64 KB super-segment (45 x 1448 = 65160 bytes, an IP packet of 65212 bytes) fills
/// more than half of the initial receive buffer, which ends quick-ACK mode
/// (`__tcp_select_window`: `free_space < full_space / 2` clears `icsk_ack.quick`) and gives
/// too small a window update to ACK at once: as in Linux the ACK waits until the
/// application reads (`tcp_cleanup_rbuf`: more than one rcv_mss unacknowledged), and then
/// exactly one ACK covers the whole super-segment. The data is intact.
#[test]
fn gso_64k_super_segment_is_acked_once_when_read() {
    let mut h = setup();
    let (s, mut conn, syn) = open_active(&mut h, false);
    let ts = (5001, syn.ts.map_or(0, |t| t.0));
    let (seg, payload) = data_seg(&mut conn, ts, 45 * usize::from(GSO_SIZE), 3);
    let mut frame = tcp_frame(&seg);
    assert_eq!(frame.len() - 14, 65_212);
    make_partial(&mut frame);
    receive_offloaded(&mut h, &frame, GSO_SIZE, IpSummed::Partial);
    assert!(out(&mut h).is_empty());
    // One read of everything, as a bulk receiver's large read.
    let mut buf = alloc::vec![0u8; 70_000];
    assert_eq!(h.stack.tcp_recv(s, &mut buf), Ok(payload.len()));
    assert_eq!(&buf[..payload.len()], &payload[..]);
    let acks = out(&mut h);
    assert_eq!(acks.len(), 1, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(conn.peer_nxt));
    let i = h.stack.tcp_info(s).unwrap();
    assert_eq!((i.rcv_mss, i.data_segs_in), (u32::from(GSO_SIZE), 45));
    assert_eq!(h.stack.stats().tcp.in_csum_errors, 0);
}

/// The same super-segment without `gso_size` (a plain oversized segment, as an
/// offload-less device could never deliver) measures the MSS from its length, capped by
/// advmss: 1460. This is what makes the GSO case above a real check.
#[test]
fn oversized_segment_without_gso_size_measures_mss_from_its_length() {
    let mut h = setup();
    let (s, mut conn, syn) = open_active(&mut h, false);
    let ts = (5001, syn.ts.map_or(0, |t| t.0));
    let (seg, payload) = data_seg(&mut conn, ts, 10 * usize::from(GSO_SIZE), 5);
    receive_offloaded(&mut h, &tcp_frame(&seg), 0, IpSummed::None);
    assert_eq!(out(&mut h).len(), 1);
    assert_eq!(read_all(&mut h, s), payload);
    assert_eq!(h.stack.tcp_info(s).unwrap().rcv_mss, 1460);
}

/// `skb_csum_unnecessary`: a `CHECKSUM_PARTIAL` segment (the sender's own, handed over
/// before the checksum was computed) is not verified and is accepted; the very same bytes
/// without that mark fail verification and count InCsumErrors and InErrs.
#[test]
fn partial_checksum_segment_is_accepted_and_unmarked_one_is_a_csum_error() {
    let mut h = setup();
    let (s, mut conn, _) = open_active(&mut h, true);
    let seg = conn.data(b"partial checksum");
    let mut frame = tcp_frame(&seg);
    make_partial(&mut frame);
    receive_offloaded(&mut h, &frame, 0, IpSummed::Partial);
    assert_eq!(out(&mut h).len(), 1);
    assert_eq!(read_all(&mut h, s), b"partial checksum");
    assert_eq!(h.stack.stats().tcp.in_csum_errors, 0);

    let seg = conn.data(b"same, unmarked");
    let mut frame = tcp_frame(&seg);
    make_partial(&mut frame);
    receive_offloaded(&mut h, &frame, 0, IpSummed::None);
    assert!(out(&mut h).is_empty());
    assert!(read_all(&mut h, s).is_empty());
    assert_eq!(h.stack.stats().tcp.in_csum_errors, 1);
    assert_eq!(h.stack.stats().tcp.in_errs, 1);
}

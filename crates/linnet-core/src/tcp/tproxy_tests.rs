//! Rule tests: the transparent accept-any listener (Linux: `IP_TRANSPARENT` listener plus an
//! nftables `tproxy` rule, `nf_tproxy_get_sock_v4`): SYNs to any address and port arriving
//! on the device are accepted, the child's local address is the original destination and
//! its segments leave from it; without the mode such a SYN is not local.

use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use super::test_peer::*;
use crate::testutil::*;
use crate::{Errno, IfIndex, TcpState};

/// An address that is not ours (TEST-NET-3).
const FOREIGN: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);

fn transparent_listener(h: &mut Harness) -> crate::SocketHandle {
    let l = h.stack.tcp_socket().unwrap();
    h.stack
        .tcp_bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 12_345))
        .unwrap();
    let dev = h.eth0;
    h.stack.tcp_listen_transparent(l, dev, 16).unwrap();
    l
}

/// Sends the peer's SYN from `sport` to `dst:dport`; returns the answers.
fn send_syn(h: &mut Harness, dst: Ipv4Addr, dport: u16, sport: u16) -> Vec<TcpOut> {
    let syn = TcpSeg {
        dport,
        ..peer_syn(sport)
    };
    let frames = h.exchange(&tcp_frame_from(PEER_IP, dst, &syn));
    tcp_segments(&frames)
}

/// A SYN to 203.0.113.9:443 on the device is answered from 203.0.113.9:443; the handshake
/// completes, the accepted child's getsockname is the original destination and its data
/// leaves from that address.
#[test]
fn syn_to_foreign_address_is_accepted_with_original_destination() {
    let mut h = setup();
    let l = transparent_listener(&mut h);
    let sa = send_syn(&mut h, FOREIGN, 443, 40_001);
    assert_eq!(sa.len(), 1, "{sa:#?}");
    let sa = &sa[0];
    assert!(sa.flags.syn && sa.flags.ack);
    assert_eq!(sa.ip.ip.src_addr, FOREIGN);
    assert_eq!(sa.ip.ip.dst_addr, PEER_IP);
    assert_eq!((sa.sport, sa.dport), (443, 40_001));
    let ack = TcpSeg {
        sport: 40_001,
        dport: 443,
        seq: PEER_ISN + 1,
        ack: Some(sa.seq.wrapping_add(1)),
        window: 65_535,
        ..TcpSeg::default()
    };
    let r = tcp_segments(&h.exchange(&tcp_frame_from(PEER_IP, FOREIGN, &ack)));
    assert!(r.is_empty(), "{r:#?}");
    let (c, from) = h.stack.tcp_accept(l).unwrap();
    assert_eq!(from, SocketAddrV4::new(PEER_IP, 40_001));
    assert_eq!(
        h.stack.tcp_local_addr(c),
        Ok(SocketAddrV4::new(FOREIGN, 443))
    );
    assert_eq!(h.stack.tcp_state(c), Ok(TcpState::Established));
    assert_eq!(h.stack.tcp_send(c, b"hello"), Ok(5));
    let d = one(&mut h);
    assert_eq!(d.ip.ip.src_addr, FOREIGN);
    assert_eq!(d.sport, 443);
    assert_eq!(d.payload, b"hello");
    let st = h.stack.stats();
    assert_eq!(st.tcp.passive_opens, 1);
    assert_eq!(st.ip.in_addr_errors, 0);
    // The listener's own port still works as an ordinary listener's would.
    let sa = send_syn(&mut h, OUR_IP, 12_345, 40_002);
    assert_eq!(sa.len(), 1);
    assert_eq!(sa[0].ip.ip.src_addr, OUR_IP);
}

/// Without the mode the same SYN is not local: with forwarding off `ip_error` drops it
/// (InAddrErrors), nothing answers, even with a listener on 0.0.0.0:443.
#[test]
fn without_mode_foreign_syn_is_not_delivered() {
    let mut h = setup();
    let l = h.stack.tcp_socket().unwrap();
    h.stack
        .tcp_bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 443))
        .unwrap();
    h.stack.tcp_listen(l, 16).unwrap();
    assert!(send_syn(&mut h, FOREIGN, 443, 40_001).is_empty());
    let st = h.stack.stats();
    assert_eq!(st.ip.in_addr_errors, 1);
    assert_eq!(st.tcp.in_segs, 0);
    assert_eq!(h.stack.tcp_accept(l), Err(Errno::EAGAIN));
}

/// Ordinary sockets win (`__inet_lookup_skb` before the tproxy redirect): a SYN to our own
/// address and an ordinary listener's port goes to that listener. A SYN to our address on a
/// port nobody listens on goes to the transparent listener (the rule covers the device).
/// Once the transparent listener closes, the mode is off again.
#[test]
fn ordinary_listener_wins_and_close_ends_the_mode() {
    let mut h = setup();
    let ordinary = listener(&mut h, 16);
    let t = transparent_listener(&mut h);
    let _conn = peer_connects(&mut h, 40_001);
    assert!(h.stack.tcp_accept(ordinary).is_ok());
    assert_eq!(h.stack.tcp_accept(t), Err(Errno::EAGAIN));
    let sa = send_syn(&mut h, OUR_IP, 7, 40_002);
    assert_eq!(sa.len(), 1);
    assert!(sa[0].flags.syn && sa[0].flags.ack);
    h.stack.tcp_close(t).unwrap();
    let _ = h.drain();
    assert!(send_syn(&mut h, FOREIGN, 443, 40_003).is_empty());
    assert_eq!(h.stack.stats().ip.in_addr_errors, 1);
    // Our address, no listener: the usual RST again.
    let r = send_syn(&mut h, OUR_IP, 8, 40_004);
    assert_eq!(r.len(), 1);
    assert!(r[0].flags.rst);
}

/// ENODEV for a device that does not exist; EADDRINUSE for a second transparent listener on
/// the same device.
#[test]
fn transparent_listener_errors() {
    let mut h = setup();
    let _t = transparent_listener(&mut h);
    let s = h.stack.tcp_socket().unwrap();
    assert_eq!(
        h.stack.tcp_listen_transparent(s, IfIndex(77), 4),
        Err(Errno::ENODEV)
    );
    let dev = h.eth0;
    assert_eq!(
        h.stack.tcp_listen_transparent(s, dev, 4),
        Err(Errno::EADDRINUSE)
    );
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Close));
}

/// Deleting the device ends its transparent mode for TCP and UDP (a later device may reuse
/// the index); closing the sockets afterwards is harmless.
#[test]
fn deleting_the_device_ends_the_mode() {
    let mut h = setup();
    let t = transparent_listener(&mut h);
    let u = h.stack.udp_socket().unwrap();
    let dev = h.eth0;
    h.stack
        .udp_bind_transparent(u, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5353), dev)
        .unwrap();
    assert!(h.stack.tcp.tproxy.contains_key(&dev) && h.stack.udp.tproxy_has(dev));
    h.stack.del_device(dev).unwrap();
    assert!(h.stack.tcp.tproxy.is_empty());
    assert!(!h.stack.udp.tproxy_has(dev));
    assert_eq!(h.stack.tcp_close(t), Ok(()));
    assert_eq!(h.stack.udp_close(u), Ok(()));
}

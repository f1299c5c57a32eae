//! Tests of the routing-result caches (`RouteCache`): a cached output route or input
//! decision must never outlive a change to what it was computed from. Each test sends or
//! receives once (filling the cache), changes one input of the lookup through the public
//! API, and checks that the next packet follows the change, exactly as an uncached lookup
//! would (Linux: `rt_genid` bumps in `rt_cache_flush`, checked by `dst_check`).

extern crate std;

use core::net::{Ipv4Addr, SocketAddrV4};
use std::vec;
use std::vec::Vec;

use crate::testutil::*;
use crate::wire::ethernet::EthernetAddress;
use crate::wire::ipv4::{Ipv4Cidr, Protocol};
use crate::{Errno, NudState, SocketHandle};

const FAR: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 9);
const GW2_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 253);
const GW2_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0xfd]);

fn cidr(s: &str) -> Ipv4Cidr {
    s.parse().unwrap()
}

/// A host with the static peer, a default route via GW and a second router GW2 (both
/// resolved), and a bound UDP socket.
fn host() -> (Harness, SocketHandle) {
    let mut h = Harness::new().with_static_peer().with_gateway();
    let eth0 = h.eth0;
    h.stack
        .neigh_add(eth0, GW2_IP, Some(GW2_MAC), NudState::Permanent)
        .unwrap();
    let s = h.stack.udp_socket().unwrap();
    h.stack
        .udp_bind(s, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5000))
        .unwrap();
    (h, s)
}

/// Sends `len` bytes to `dst:9` and returns the frames that left.
fn send(h: &mut Harness, s: SocketHandle, dst: Ipv4Addr, len: usize) -> Vec<Vec<u8>> {
    h.stack
        .udp_send_to(s, &vec![0x11; len], Some(SocketAddrV4::new(dst, 9)))
        .expect("sent");
    h.drain()
}

/// Ethernet destination and IPv4 source of the one frame in `frames`.
fn hop_and_src(frames: &[Vec<u8>]) -> (EthernetAddress, Ipv4Addr) {
    assert_eq!(frames.len(), 1, "one frame");
    let ip = parse_ipv4(&frames[0]).expect("an IPv4 frame");
    (ip.eth.dst_addr, ip.ip.src_addr)
}

/// `ip route replace default via GW2`: the next datagram to an off-link host leaves through
/// the new router.
#[test]
fn cached_output_route_follows_a_new_default_route() {
    let (mut h, s) = host();
    assert_eq!(hop_and_src(&send(&mut h, s, FAR, 8)).0, GW_MAC);
    h.stack
        .del_route(cidr("0.0.0.0/0"), Some(GW_IP))
        .expect("default route removed");
    h.stack
        .add_route(cidr("0.0.0.0/0"), Some(GW2_IP), h.eth0, 0)
        .unwrap();
    assert_eq!(hop_and_src(&send(&mut h, s, FAR, 8)).0, GW2_MAC);
}

/// A more specific route added after the first datagram wins for the next one; removing
/// every route makes the next send fail with ENETUNREACH (and count OutNoRoutes) instead
/// of using the remembered route.
#[test]
fn cached_output_route_follows_added_and_removed_routes() {
    let (mut h, s) = host();
    assert_eq!(hop_and_src(&send(&mut h, s, FAR, 8)).0, GW_MAC);
    h.stack
        .add_route(cidr("192.0.2.0/24"), Some(GW2_IP), h.eth0, 0)
        .unwrap();
    assert_eq!(hop_and_src(&send(&mut h, s, FAR, 8)).0, GW2_MAC);
    h.stack.del_route(cidr("192.0.2.0/24"), None).unwrap();
    h.stack.del_route(cidr("0.0.0.0/0"), None).unwrap();
    let before = h.stack.stats().ip.out_no_routes;
    let r = h
        .stack
        .udp_send_to(s, b"x", Some(SocketAddrV4::new(FAR, 9)));
    assert_eq!(r, Err(Errno::ENETUNREACH));
    assert_eq!(h.stack.stats().ip.out_no_routes, before + 1);
    assert!(h.drain().is_empty());
}

/// `ip link set eth0 mtu 576`: the path MTU travels in the cached route, so the next large
/// datagram is fragmented to the new MTU.
#[test]
fn cached_output_route_follows_an_mtu_change() {
    let (mut h, s) = host();
    assert_eq!(send(&mut h, s, PEER_IP, 1000).len(), 1);
    h.stack.set_mtu(h.eth0, 576).unwrap();
    let frames = send(&mut h, s, PEER_IP, 1000);
    assert_eq!(frames.len(), 2, "fragmented at the new MTU");
    assert!(frames.iter().all(|f| f.len() <= 14 + 576));
}

/// A route through a device that goes down stops matching (`fib_sync_down_dev`): the next
/// datagram takes the remaining route.
#[test]
fn cached_output_route_follows_a_device_going_down() {
    let (mut h, s) = host();
    let eth1_mac = EthernetAddress([0x02, 0, 0, 0, 1, 1]);
    let eth1 = add_ethernet(
        &mut h.stack,
        "eth1",
        eth1_mac,
        Ipv4Addr::new(172, 16, 0, 1),
        16,
    );
    let r1 = Ipv4Addr::new(172, 16, 0, 254);
    let r1_mac = EthernetAddress([0x02, 0, 0, 0, 1, 0xfe]);
    h.stack
        .neigh_add(eth1, r1, Some(r1_mac), NudState::Permanent)
        .unwrap();
    h.stack
        .add_route(cidr("192.0.2.0/24"), Some(r1), eth1, 0)
        .unwrap();
    h.stack
        .udp_send_to(s, b"x", Some(SocketAddrV4::new(FAR, 9)))
        .unwrap();
    let out = h.drain_with_dev();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, eth1);
    h.stack.set_up(eth1, false).unwrap();
    let (hop, src) = hop_and_src(&send(&mut h, s, FAR, 8));
    assert_eq!((hop, src), (GW_MAC, OUR_IP), "through eth0's default route");
}

/// The source address for a route without a preferred source comes from the address list
/// (`inet_select_addr`): after `ip addr del` of the address it used, the next datagram
/// through the default route uses the one left on the device.
#[test]
fn cached_output_route_follows_address_changes() {
    let (mut h, s) = host();
    assert_eq!(hop_and_src(&send(&mut h, s, FAR, 8)), (GW_MAC, OUR_IP));
    let second = Ipv4Addr::new(10, 0, 0, 50);
    let eth0 = h.eth0;
    h.stack
        .add_addr(
            eth0,
            Ipv4Cidr {
                address: second,
                prefix_len: 24,
            },
        )
        .unwrap();
    h.stack
        .del_addr(
            eth0,
            Ipv4Cidr {
                address: OUR_IP,
                prefix_len: 24,
            },
        )
        .unwrap();
    assert_eq!(hop_and_src(&send(&mut h, s, FAR, 8)), (GW_MAC, second));
}

/// A UDP datagram from the peer to `dst:7`, as a frame.
fn datagram_to(dst: Ipv4Addr) -> Vec<u8> {
    udp_frame(40000, dst, 7, b"hello")
}

/// `ip addr del`: a destination that was ours (and remembered as local) is no longer
/// delivered; with forwarding off the packet counts InAddrErrors.
#[test]
fn cached_input_route_follows_address_removal() {
    let mut h = Harness::new().with_static_peer();
    let s = h.stack.udp_socket().unwrap();
    h.stack
        .udp_bind(s, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7))
        .unwrap();
    let second = Ipv4Addr::new(10, 0, 0, 50);
    let c = Ipv4Cidr {
        address: second,
        prefix_len: 24,
    };
    h.stack.add_addr(h.eth0, c).unwrap();
    h.receive(&datagram_to(second));
    assert_eq!(h.stack.udp_rx_queued(s), Ok(1));
    h.stack.del_addr(h.eth0, c).unwrap();
    let addr_errors = h.stack.stats().ip.in_addr_errors;
    h.receive(&datagram_to(second));
    assert_eq!(h.stack.udp_rx_queued(s), Ok(1), "not delivered any more");
    assert_eq!(h.stack.stats().ip.in_addr_errors, addr_errors + 1);
}

/// `route_localnet` is part of the input decision: with it on, 127.0.0.1 from the wire is
/// delivered (and remembered); turned off again, the same packet is a martian.
#[test]
fn cached_input_route_follows_route_localnet() {
    let mut h = Harness::new().with_static_peer();
    h.stack.config_mut().route_localnet = true;
    let s = h.stack.udp_socket().unwrap();
    h.stack
        .udp_bind(s, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7))
        .unwrap();
    let lo = Ipv4Addr::LOCALHOST;
    let frame = ip_frame(&ipv4_packet(
        PEER_IP,
        lo,
        Protocol::UDP,
        64,
        &udp_datagram(PEER_IP, lo, 40000, 7, b"x"),
    ));
    h.receive(&frame);
    assert_eq!(h.stack.udp_rx_queued(s), Ok(1));
    h.stack.config_mut().route_localnet = false;
    let martians = h.stack.stats().rt.in_martian_dst;
    h.receive(&frame);
    assert_eq!(h.stack.udp_rx_queued(s), Ok(1), "dropped as a martian");
    assert_eq!(h.stack.stats().rt.in_martian_dst, martians + 1);
}

/// Packets from many peers share the small cache: every one is still delivered, and a
/// source that is one of our own addresses is refused as a martian even when another
/// packet to the same destination was just accepted (`fib_validate_source` is part of
/// the remembered decision's key, through the source address).
#[test]
fn cached_input_route_keys_on_the_source() {
    let mut h = Harness::new().with_static_peer();
    let s = h.stack.udp_socket().unwrap();
    h.stack
        .udp_bind(s, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7))
        .unwrap();
    for i in 2..=40u8 {
        let src = Ipv4Addr::new(10, 0, 0, i);
        let f = udp_frame_from(PEER_MAC, src, 40000, OUR_IP, 7, b"x");
        h.receive(&f);
    }
    assert_eq!(h.stack.udp_rx_queued(s), Ok(39));
    let martians = h.stack.stats().rt.in_martian_src;
    let spoofed = udp_frame_from(PEER_MAC, OUR_IP, 40000, OUR_IP, 7, b"x");
    h.receive(&spoofed);
    assert_eq!(h.stack.udp_rx_queued(s), Ok(39));
    assert_eq!(h.stack.stats().rt.in_martian_src, martians + 1);
}

/// With promote_secondaries (systemd's default), deleting the address that is the connected
/// route's source promotes the next address of the subnet: the route keeps working and
/// traffic leaves from an address that still exists.
#[test]
fn deleting_the_primary_address_promotes_the_next_as_route_source() {
    let mut h = Harness::new();
    let second = Ipv4Addr::new(10, 0, 0, 7);
    h.stack
        .add_addr(
            h.eth0,
            Ipv4Cidr {
                address: second,
                prefix_len: 24,
            },
        )
        .unwrap();
    h.stack
        .del_addr(
            h.eth0,
            Ipv4Cidr {
                address: OUR_IP,
                prefix_len: 24,
            },
        )
        .unwrap();
    let r = h
        .stack
        .fib()
        .lookup(PEER_IP, |_| true)
        .copied()
        .expect("connected route kept");
    assert_eq!(r.prefsrc, Some(second));
    assert_eq!(h.stack.fib().len(), 1);
}

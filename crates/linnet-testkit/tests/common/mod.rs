//! Shared set-ups for the testkit's scenario tests.
#![allow(dead_code)]

use std::net::{Ipv4Addr, SocketAddrV4};

use linnet_core::{IfIndex, SocketHandle, StackConfig};
use linnet_testkit::{cidr, HostId, LinkConfig, LinkEnds, Network};

pub mod transfer;

pub const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
pub const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);

/// Hosts `a` (10.0.0.1/24) and `b` (10.0.0.2/24) on one link.
pub struct TwoHosts {
    pub net: Network,
    pub a: HostId,
    pub b: HostId,
    pub link: LinkEnds,
}

pub fn two_hosts(seed: u64, cfg: LinkConfig) -> TwoHosts {
    two_hosts_with(seed, cfg, StackConfig::default())
}

/// [`two_hosts`] with both hosts on the sysctls `stack`.
pub fn two_hosts_with(seed: u64, cfg: LinkConfig, stack: StackConfig) -> TwoHosts {
    let mut net = Network::new(seed);
    let a = net.add_host("a", stack.clone(), seed.wrapping_mul(3).wrapping_add(1));
    let b = net.add_host("b", stack, seed.wrapping_mul(3).wrapping_add(2));
    let link = net.add_link(a, b, cfg).unwrap();
    net.stack_mut(a)
        .add_addr(link.a, cidr("10.0.0.1/24"))
        .unwrap();
    net.stack_mut(b)
        .add_addr(link.b, cidr("10.0.0.2/24"))
        .unwrap();
    TwoHosts { net, a, b, link }
}

/// A UDP socket of `host` bound to `ip:port`.
pub fn udp_bound(net: &mut Network, host: HostId, ip: Ipv4Addr, port: u16) -> SocketHandle {
    let s = net.stack_mut(host);
    let h = s.udp_socket().unwrap();
    s.udp_bind(h, SocketAddrV4::new(ip, port)).unwrap();
    h
}

/// Every datagram waiting on `sock`.
pub fn drain_udp(net: &mut Network, host: HostId, sock: SocketHandle) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; 65536];
    while let Ok(m) = net.stack_mut(host).udp_recv_from(sock, &mut buf) {
        out.push(buf[..m.len].to_vec());
    }
    out
}

/// The device index of `host`'s only Ethernet device on `link`.
pub fn ifindex_of(net: &Network, link: &LinkEnds, host: HostId) -> IfIndex {
    let ends = net.link_ends(link.id);
    ends.iter().find(|e| e.host == host).unwrap().ifindex
}

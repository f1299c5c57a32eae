//! IPv4 routing for the foundation: the local table (our addresses and their broadcasts),
//! the main table (connected prefixes, gateways, default routes) and the routing result,
//! `Dst`, that the output path consumes.
//!
//! Linux: net/ipv4/fib_frontend.c (`inet_addr_type`, local table entries made by
//! `fib_add_ifaddr`), net/ipv4/route.c (`ip_route_output_key_hash`, `ip_route_input_slow`),
//! include/net/dst.h (`struct dst_entry`), include/net/route.h (`struct rtable`).
//! RFCs: RFC 1812 §5.2.4.3 (martians), RFC 1122 §3.3.1 (routing outbound datagrams).
//!
//! Deviation from Linux: the full FIB (LC-trie, rules, multipath, user tables) is its own
//! issue; the main table here is a longest-prefix match over one hash map per prefix length
//! (at most 33 probes per lookup, never a scan over all routes), with metric tie-break.

use alloc::vec::Vec;
use core::net::Ipv4Addr;

use crate::hash::{map_with_seed, HashMap};
use linnet_wire::ipv4::Ipv4Cidr;

use crate::dev::IfIndex;

/// Route type (`RTN_*`, include/uapi/linux/rtnetlink.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteKind {
    /// A gateway or directly connected unicast destination (`RTN_UNICAST`).
    Unicast,
    /// One of our own addresses (`RTN_LOCAL`).
    Local,
    /// A broadcast address (`RTN_BROADCAST`).
    Broadcast,
    /// A multicast group (`RTN_MULTICAST`).
    Multicast,
}

/// The routing result for one packet (Linux: `struct rtable` / `struct dst_entry`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Dst {
    /// Output device (`dst->dev`); the loopback device for local destinations.
    pub dev: IfIndex,
    /// Next hop when not on-link (`rt_gw4`).
    pub gateway: Option<Ipv4Addr>,
    /// Route type.
    pub kind: RouteKind,
    /// Source address to use (`fl4->saddr` after selection).
    pub src: Ipv4Addr,
    /// Path MTU (`dst_mtu`).
    pub mtu: u32,
}

impl Dst {
    /// The address to resolve on the link: the gateway, or the destination itself.
    pub fn nexthop(&self, daddr: Ipv4Addr) -> Ipv4Addr {
        self.gateway.unwrap_or(daddr)
    }
}

/// One entry of the main table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route {
    /// Destination prefix.
    pub dst: Ipv4Cidr,
    /// Gateway, `None` for a connected (scope link) route.
    pub gateway: Option<Ipv4Addr>,
    /// Output device.
    pub dev: IfIndex,
    /// Preferred source (`src` in `ip route`).
    pub prefsrc: Option<Ipv4Addr>,
    /// Priority; lower wins (`metric`).
    pub metric: u32,
    /// Installed by the kernel for an address (`proto kernel`).
    pub kernel: bool,
}

/// Errors of route configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteError {
    /// The same prefix and metric exist (`EEXIST`).
    Exists,
    /// No such route (`ESRCH`).
    NotFound,
}

/// Kinds of entries in the local table.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalKind {
    /// One of our addresses, on this device.
    Local(IfIndex),
    /// A subnet broadcast address of this device.
    Broadcast(IfIndex),
}

/// The local table (255) and main table (254) of one stack.
#[derive(Debug)]
pub struct Fib {
    local: HashMap<Ipv4Addr, LocalKind>,
    by_len: [HashMap<u32, Vec<Route>>; 33],
    present: u64,
    count: usize,
}

fn key(addr: Ipv4Addr, len: u8) -> u32 {
    let a = u32::from(addr);
    if len == 0 {
        0
    } else {
        a & (u32::MAX << (32 - u32::from(len)))
    }
}

impl Default for Fib {
    fn default() -> Self {
        Fib::with_seed(0)
    }
}

impl Fib {
    /// Empty tables whose hashes are keyed by `seed`.
    pub fn with_seed(seed: u64) -> Fib {
        Fib {
            local: map_with_seed(seed),
            by_len: core::array::from_fn(|i| map_with_seed(seed ^ i as u64)),
            present: 0,
            count: 0,
        }
    }

    /// `inet_addr_type` restricted to the local table: is `addr` ours or our broadcast?
    pub fn local(&self, addr: Ipv4Addr) -> Option<LocalKind> {
        self.local.get(&addr).copied()
    }

    /// Adds a local-table entry.
    pub fn add_local(&mut self, addr: Ipv4Addr, kind: LocalKind) {
        self.local.insert(addr, kind);
    }

    /// Removes a local-table entry.
    pub fn del_local(&mut self, addr: Ipv4Addr) {
        self.local.remove(&addr);
    }

    /// Adds a route to the main table (`RTM_NEWROUTE` with `NLM_F_CREATE|NLM_F_EXCL`).
    pub fn add(&mut self, route: Route) -> Result<(), RouteError> {
        let len = route.dst.prefix_len;
        let bucket = self.by_len[usize::from(len)]
            .entry(key(route.dst.address, len))
            .or_default();
        if bucket
            .iter()
            .any(|r| r.metric == route.metric && r.dev == route.dev)
        {
            return Err(RouteError::Exists);
        }
        let pos = bucket.partition_point(|r| r.metric <= route.metric);
        bucket.insert(
            pos,
            Route {
                dst: route.dst.network(),
                ..route
            },
        );
        self.present |= 1 << len;
        self.count += 1;
        Ok(())
    }

    /// Removes routes to `dst` matching `pred`; returns how many.
    pub fn del(&mut self, dst: Ipv4Cidr, pred: impl Fn(&Route) -> bool) -> usize {
        let len = dst.prefix_len;
        let k = key(dst.address, len);
        let map = &mut self.by_len[usize::from(len)];
        let mut removed = 0;
        if let Some(bucket) = map.get_mut(&k) {
            let before = bucket.len();
            bucket.retain(|r| !pred(r));
            removed = before - bucket.len();
            if bucket.is_empty() {
                map.remove(&k);
            }
        }
        if map.is_empty() {
            self.present &= !(1 << len);
        }
        self.count -= removed;
        removed
    }

    /// Removes every route through `dev` (`fib_sync_down_dev`).
    pub fn del_dev(&mut self, dev: IfIndex) {
        for len in 0..=32u8 {
            let map = &mut self.by_len[usize::from(len)];
            map.retain(|_, b| {
                b.retain(|r| r.dev != dev);
                !b.is_empty()
            });
            if map.is_empty() {
                self.present &= !(1 << len);
            }
        }
        self.local.retain(
            |_, k| !matches!(k, LocalKind::Local(d) | LocalKind::Broadcast(d) if *d == dev),
        );
        self.count = self
            .by_len
            .iter()
            .map(|m| m.values().map(Vec::len).sum::<usize>())
            .sum();
    }

    /// Longest-prefix match in the main table; among equal prefixes the lowest metric whose
    /// device `usable` accepts (`fib_table_lookup` + `fib_select_default`).
    pub fn lookup(&self, daddr: Ipv4Addr, usable: impl Fn(IfIndex) -> bool) -> Option<&Route> {
        let mut bits = self.present;
        while bits != 0 {
            let len = 63 - bits.leading_zeros() as u8;
            bits &= !(1u64 << len);
            if let Some(bucket) = self.by_len[usize::from(len)].get(&key(daddr, len)) {
                if let Some(r) = bucket.iter().find(|r| usable(r.dev)) {
                    return Some(r);
                }
            }
        }
        None
    }

    /// All routes of the main table (for `ip route show`; not on the packet path).
    pub fn routes(&self) -> impl Iterator<Item = &Route> {
        self.by_len.iter().rev().flat_map(|m| m.values().flatten())
    }

    /// Number of routes in the main table.
    pub fn len(&self) -> usize {
        self.count
    }

    /// True when the main table is empty.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cidr(s: &str) -> Ipv4Cidr {
        s.parse().unwrap()
    }

    fn route(dst: &str, gw: Option<[u8; 4]>, dev: u32, metric: u32) -> Route {
        Route {
            dst: cidr(dst),
            gateway: gw.map(Ipv4Addr::from),
            dev: IfIndex(dev),
            prefsrc: None,
            metric,
            kernel: false,
        }
    }

    #[test]
    fn longest_prefix_wins() {
        let mut fib = Fib::default();
        fib.add(route("10.0.0.0/8", Some([1, 1, 1, 1]), 2, 0))
            .unwrap();
        fib.add(route("10.1.0.0/16", Some([2, 2, 2, 2]), 2, 0))
            .unwrap();
        fib.add(route("0.0.0.0/0", Some([3, 3, 3, 3]), 2, 0))
            .unwrap();
        let gw = |a: [u8; 4]| {
            fib.lookup(Ipv4Addr::from(a), |_| true)
                .unwrap()
                .gateway
                .unwrap()
        };
        assert_eq!(gw([10, 1, 2, 3]), Ipv4Addr::new(2, 2, 2, 2));
        assert_eq!(gw([10, 2, 0, 1]), Ipv4Addr::new(1, 1, 1, 1));
        assert_eq!(gw([8, 8, 8, 8]), Ipv4Addr::new(3, 3, 3, 3));
    }

    #[test]
    fn lowest_metric_default_wins_and_delete_falls_back() {
        let mut fib = Fib::default();
        fib.add(route("0.0.0.0/0", Some([1, 0, 0, 1]), 2, 100))
            .unwrap();
        fib.add(route("0.0.0.0/0", Some([1, 0, 0, 2]), 3, 50))
            .unwrap();
        let d = Ipv4Addr::new(9, 9, 9, 9);
        assert_eq!(fib.lookup(d, |_| true).unwrap().dev, IfIndex(3));
        assert_eq!(fib.del(cidr("0.0.0.0/0"), |r| r.metric == 50), 1);
        assert_eq!(fib.lookup(d, |_| true).unwrap().dev, IfIndex(2));
        assert_eq!(fib.len(), 1);
    }

    #[test]
    fn duplicate_route_is_refused() {
        let mut fib = Fib::default();
        fib.add(route("10.0.0.0/24", None, 2, 0)).unwrap();
        assert_eq!(
            fib.add(route("10.0.0.0/24", None, 2, 0)),
            Err(RouteError::Exists)
        );
    }
}

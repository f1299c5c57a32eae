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
//!
//! Routing results are cached (`RouteCache`, the role of Linux's cached `dst_entry`s) and
//! checked against the FIB generation ([`Fib::genid`], Linux's `rt_genid`). Invariant callers
//! rely on: every change that can alter an input or output routing result (these tables,
//! the address list, a device's state or MTU) bumps the generation, through the `Fib`
//! mutators or [`Fib::flush_cache`].

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

/// Slots of each routing-result cache ([`RouteCache`]); a power of two.
const RT_CACHE_SLOTS: usize = 16;

/// Slot of an address in a [`RouteCache`]: a cheap mix of its low bytes (peers on one
/// subnet differ there). A collision only costs a full lookup.
#[inline(always)]
fn rt_cache_slot(addr: Ipv4Addr) -> usize {
    let a = u32::from(addr);
    ((a ^ (a >> 8)) as usize) & (RT_CACHE_SLOTS - 1)
}

/// An output route remembered for the key it was computed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct OutputEntry {
    genid: u32,
    daddr: Ipv4Addr,
    saddr: Option<Ipv4Addr>,
    dst: Dst,
}

/// A local-delivery input decision remembered for the key it was computed for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct InputEntry {
    genid: u32,
    saddr: Ipv4Addr,
    daddr: Ipv4Addr,
    from_lo: bool,
    route_localnet: bool,
}

/// Recently computed routing results, each valid only while the FIB generation it was
/// computed in ([`Fib::genid`]) is current.
///
/// Both lookups it saves are pure functions of their key and of state that bumps the
/// generation when it changes (the local and main tables, the address list, the devices'
/// state), so a hit returns exactly what the lookup would have. This plays the part of
/// Linux's cached routes: the `dst_entry` a socket keeps in `sk_dst_cache` (or that early
/// demux finds in `sk_rx_dst`) and a nexthop's cached input and output routes
/// (`nh_rth_input`, `nhc_pcpu_rth_output`), checked with `rt_genid`.
///
/// Deviation from Linux (implementation only): the caches are two small direct-mapped
/// tables per stack, keyed by address, rather than per socket and per nexthop; Linux
/// still walks the FIB on input for unconnected sockets where this answers from the cache.
/// Results with side effects (errors, which count, and broadcasts, which count InBcast)
/// are never cached.
#[derive(Clone, Debug)]
pub(crate) struct RouteCache {
    output: [Option<OutputEntry>; RT_CACHE_SLOTS],
    input: [Option<InputEntry>; RT_CACHE_SLOTS],
}

impl Default for RouteCache {
    fn default() -> Self {
        RouteCache {
            output: [None; RT_CACHE_SLOTS],
            input: [None; RT_CACHE_SLOTS],
        }
    }
}

impl RouteCache {
    /// The output route for `(daddr, saddr)` computed in generation `genid`, if cached.
    #[inline(always)]
    pub fn output(&self, genid: u32, daddr: Ipv4Addr, saddr: Option<Ipv4Addr>) -> Option<Dst> {
        match &self.output[rt_cache_slot(daddr)] {
            Some(e) if e.genid == genid && e.daddr == daddr && e.saddr == saddr => Some(e.dst),
            _ => None,
        }
    }

    /// Remembers an output route.
    #[inline]
    pub fn store_output(&mut self, genid: u32, daddr: Ipv4Addr, saddr: Option<Ipv4Addr>, dst: Dst) {
        self.output[rt_cache_slot(daddr)] = Some(OutputEntry {
            genid,
            daddr,
            saddr,
            dst,
        });
    }

    /// True if `saddr -> daddr` was found deliverable locally (RTN_LOCAL) in generation
    /// `genid` with the same `from_lo` and `route_localnet`.
    #[inline(always)]
    pub fn input_local(
        &self,
        genid: u32,
        saddr: Ipv4Addr,
        daddr: Ipv4Addr,
        from_lo: bool,
        route_localnet: bool,
    ) -> bool {
        let want = InputEntry {
            genid,
            saddr,
            daddr,
            from_lo,
            route_localnet,
        };
        self.input[rt_cache_slot(saddr)] == Some(want)
    }

    /// Remembers a local-delivery decision.
    #[inline]
    pub fn store_input_local(
        &mut self,
        genid: u32,
        saddr: Ipv4Addr,
        daddr: Ipv4Addr,
        from_lo: bool,
        route_localnet: bool,
    ) {
        self.input[rt_cache_slot(saddr)] = Some(InputEntry {
            genid,
            saddr,
            daddr,
            from_lo,
            route_localnet,
        });
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

/// Local-table sizes up to which lookups scan a flat copy instead of hashing.
const SMALL_LOCAL: usize = 8;

/// The local table (255) and main table (254) of one stack.
#[derive(Debug)]
pub struct Fib {
    local: HashMap<Ipv4Addr, LocalKind>,
    /// A flat copy of `local` while it holds at most [`SMALL_LOCAL`] entries (a host's
    /// addresses and their broadcasts: typically three to five). Comparing a handful of
    /// `u32`s costs less than hashing, and the bound keeps the lookup O(1).
    small_addrs: [u32; SMALL_LOCAL],
    small_kinds: [LocalKind; SMALL_LOCAL],
    /// Entries in the flat copy; `None` once `local` outgrows it.
    small_len: Option<usize>,
    by_len: [HashMap<u32, Vec<Route>>; 33],
    present: u64,
    count: usize,
    genid: u32,
    /// Learned path MTUs (the next-hop exceptions of ICMP fragmentation-needed).
    pub(crate) pmtu: crate::ipv4::pmtu::PmtuTable,
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
            small_addrs: [0; SMALL_LOCAL],
            small_kinds: [LocalKind::Local(IfIndex(0)); SMALL_LOCAL],
            small_len: Some(0),
            by_len: core::array::from_fn(|i| map_with_seed(seed ^ i as u64)),
            present: 0,
            count: 0,
            genid: 0,
            pmtu: crate::ipv4::pmtu::PmtuTable::new(seed ^ 0x5bd1_e995_9e37_79b9),
        }
    }

    /// The routing generation (Linux: `net->ipv4.rt_genid`): changes whenever anything a
    /// routing result depends on may have changed. Every change to these tables bumps it;
    /// the stack also bumps it for address and device changes ([`Fib::flush_cache`]). A
    /// cached routing result is valid only while the generation it was computed in is
    /// current (`dst_check` / `rt_is_expired`).
    pub fn genid(&self) -> u32 {
        self.genid
    }

    /// Invalidates every cached routing result (`rt_cache_flush` / `rt_genid_bump_ipv4`).
    pub fn flush_cache(&mut self) {
        self.genid = self.genid.wrapping_add(1);
    }

    /// `inet_addr_type` restricted to the local table: is `addr` ours or our broadcast?
    #[inline]
    pub fn local(&self, addr: Ipv4Addr) -> Option<LocalKind> {
        match self.small_len {
            Some(n) => {
                let a = u32::from(addr);
                let addrs = &self.small_addrs[..n.min(SMALL_LOCAL)];
                addrs
                    .iter()
                    .position(|&x| x == a)
                    .map(|i| self.small_kinds[i])
            }
            None => self.local.get(&addr).copied(),
        }
    }

    /// Adds a local-table entry.
    pub fn add_local(&mut self, addr: Ipv4Addr, kind: LocalKind) {
        self.flush_cache();
        self.local.insert(addr, kind);
        self.sync_small_local();
    }

    /// Removes a local-table entry.
    pub fn del_local(&mut self, addr: Ipv4Addr) {
        self.flush_cache();
        self.local.remove(&addr);
        self.sync_small_local();
    }

    /// Rebuilds the flat copy of the local table (configuration time only).
    fn sync_small_local(&mut self) {
        if self.local.len() > SMALL_LOCAL {
            self.small_len = None;
            return;
        }
        for (i, (a, k)) in self.local.iter().enumerate() {
            self.small_addrs[i] = u32::from(*a);
            self.small_kinds[i] = *k;
        }
        self.small_len = Some(self.local.len());
    }

    /// Adds a route to the main table (`RTM_NEWROUTE` with `NLM_F_CREATE|NLM_F_EXCL`).
    pub fn add(&mut self, route: Route) -> Result<(), RouteError> {
        self.flush_cache();
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
        self.flush_cache();
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
        self.flush_cache();
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
        self.sync_small_local();
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
#[path = "route_cache_tests.rs"]
mod cache_tests;

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

    /// The local table answers the same whether it is small enough for the flat copy or
    /// not, across the threshold both ways.
    #[test]
    fn local_table_lookup_is_the_same_past_the_small_threshold() {
        let mut fib = Fib::default();
        let addr = |i: u8| Ipv4Addr::new(10, 1, 0, i);
        let kind = |i: u8| {
            if i & 1 == 0 {
                LocalKind::Local(IfIndex(u32::from(i)))
            } else {
                LocalKind::Broadcast(IfIndex(u32::from(i)))
            }
        };
        let check = |fib: &Fib, present: core::ops::Range<u8>| {
            for i in 0..30u8 {
                let want = present.contains(&i).then(|| kind(i));
                assert_eq!(fib.local(addr(i)), want, "10.1.0.{i}");
            }
        };
        for i in 0..20u8 {
            fib.add_local(addr(i), kind(i));
            check(&fib, 0..i + 1);
        }
        for i in 0..20u8 {
            fib.del_local(addr(i));
            check(&fib, i + 1..20);
        }
        // Replacing an entry's kind in place.
        fib.add_local(addr(3), LocalKind::Local(IfIndex(9)));
        fib.add_local(addr(3), LocalKind::Broadcast(IfIndex(9)));
        assert_eq!(fib.local(addr(3)), Some(LocalKind::Broadcast(IfIndex(9))));
    }

    /// Every change to the tables moves the generation that cached routes are checked
    /// against.
    #[test]
    fn every_table_change_bumps_the_generation() {
        let mut fib = Fib::default();
        let mut last = fib.genid();
        let mut bumped = |fib: &Fib| {
            let g = fib.genid();
            let moved = g != last;
            last = g;
            moved
        };
        fib.add_local(Ipv4Addr::new(10, 0, 0, 1), LocalKind::Local(IfIndex(2)));
        assert!(bumped(&fib));
        fib.add(route("10.0.0.0/24", None, 2, 0)).unwrap();
        assert!(bumped(&fib));
        fib.del(cidr("10.0.0.0/24"), |_| true);
        assert!(bumped(&fib));
        fib.del_local(Ipv4Addr::new(10, 0, 0, 1));
        assert!(bumped(&fib));
        fib.del_dev(IfIndex(2));
        assert!(bumped(&fib));
        fib.flush_cache();
        assert!(bumped(&fib));
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

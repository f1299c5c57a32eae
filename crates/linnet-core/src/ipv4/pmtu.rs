//! Learned path MTUs: the next-hop exceptions an ICMP "fragmentation needed" installs, one
//! per destination, each valid for `ip_rt_mtu_expires` (600 s); output routes to that
//! destination use the lower MTU meanwhile.
//!
//! Linux: net/ipv4/route.c (`__ip_rt_update_pmtu`, `update_or_create_fnhe`,
//! `ip_rt_min_pmtu`, `ip_rt_mtu_expires`, `FNHE_HASH_SIZE`, `fnhe_oldest`), with the
//! exceptions of `struct fib_nh_exception`.
//! RFCs: RFC 1191 (path MTU discovery).
//!
//! Deviation from Linux: an MTU below `ip_rt_min_pmtu` (552) is raised to it but not
//! "locked" (Linux then sends without DF so routers may fragment); the exceptions are kept
//! per destination for the whole stack rather than per next hop, and do not apply to
//! forwarded packets.

use alloc::collections::VecDeque;
use core::net::Ipv4Addr;

use crate::hash::{map_with_seed, HashMap};
use crate::stack::Stack;
use crate::time::{Duration, Instant};

/// `ip_rt_min_pmtu`: 512 + 20 + 20.
pub(crate) const IP_RT_MIN_PMTU: u32 = 552;
/// `ip_rt_mtu_expires`: 10 minutes.
pub(crate) const IP_RT_MTU_EXPIRES: Duration = Duration::from_secs(600);
/// `FNHE_HASH_SIZE`: the most exceptions kept; past it the oldest goes.
pub(crate) const PMTU_MAX: usize = 2048;

/// The learned path MTUs (`fnhe_pmtu`, `fnhe_expires`).
#[derive(Debug)]
pub(crate) struct PmtuTable {
    map: HashMap<Ipv4Addr, (u32, Instant)>,
    /// Insertion order, for evicting the oldest when full.
    order: VecDeque<Ipv4Addr>,
    /// Exceptions evicted because the table was full.
    pub(crate) evicted: u64,
}

impl PmtuTable {
    pub(crate) fn new(seed: u64) -> PmtuTable {
        PmtuTable {
            map: map_with_seed(seed),
            order: VecDeque::new(),
            evicted: 0,
        }
    }

    /// The learned MTU toward `daddr`, if one is current.
    pub(crate) fn get(&self, daddr: Ipv4Addr, now: Instant) -> Option<u32> {
        if self.map.is_empty() {
            return None;
        }
        match self.map.get(&daddr) {
            Some(&(mtu, expires)) if now < expires => Some(mtu),
            _ => None,
        }
    }

    /// Entries held (expired ones included until they are replaced or evicted).
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    fn insert(&mut self, daddr: Ipv4Addr, mtu: u32, expires: Instant) {
        if self.map.insert(daddr, (mtu, expires)).is_some() {
            return;
        }
        self.order.push_back(daddr);
        while self.map.len() > PMTU_MAX {
            let Some(old) = self.order.pop_front() else {
                break;
            };
            if self.map.remove(&old).is_some() {
                self.evicted += 1;
            }
        }
        // Keys re-learned after expiry may sit twice in `order`; keep it bounded too.
        while self.order.len() > 2 * PMTU_MAX {
            self.order.pop_front();
        }
    }
}

impl Stack {
    /// `__ip_rt_update_pmtu`: an ICMP said the path toward `daddr` takes at most `mtu`;
    /// `route_mtu` is what the route allows now. A larger value is ignored; one below 552
    /// is raised to 552. Returns the path MTU in effect afterwards.
    pub(crate) fn ip_rt_update_pmtu(&mut self, daddr: Ipv4Addr, mtu: u32, route_mtu: u32) -> u32 {
        if route_mtu < mtu {
            return route_mtu;
        }
        let mtu = if mtu < IP_RT_MIN_PMTU {
            route_mtu.min(IP_RT_MIN_PMTU)
        } else {
            mtu
        };
        let expires = self.now + IP_RT_MTU_EXPIRES;
        self.fib.pmtu.insert(daddr, mtu, expires);
        mtu
    }

    /// The MTU of an output route toward `daddr` after the learned path MTU.
    pub(crate) fn ip_pmtu(&self, daddr: Ipv4Addr, route_mtu: u32) -> u32 {
        match self.fib.pmtu.get(daddr, self.now) {
            Some(m) => m.min(route_mtu),
            None => route_mtu,
        }
    }

    /// The learned path MTU toward `daddr`, if one is current (`ip route get`'s "mtu"
    /// exception).
    pub fn ip_learned_pmtu(&self, daddr: Ipv4Addr) -> Option<u32> {
        self.fib.pmtu.get(daddr, self.now)
    }

    /// The path-MTU exceptions held and those evicted because the table was full.
    pub fn ip_pmtu_table_stats(&self) -> (usize, u64) {
        (self.fib.pmtu.len(), self.fib.pmtu.evicted)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_bounded_and_evicts_oldest() {
        let mut t = PmtuTable::new(1);
        let exp = Instant::ZERO + Duration::from_secs(600);
        for i in 0..(PMTU_MAX as u32 + 10) {
            t.insert(Ipv4Addr::from(0x0a00_0000 + i), 1400, exp);
        }
        assert_eq!(t.len(), PMTU_MAX);
        assert_eq!(t.evicted, 10);
        assert_eq!(t.get(Ipv4Addr::from(0x0a00_0000), Instant::ZERO), None);
        let last = Ipv4Addr::from(0x0a00_0000 + PMTU_MAX as u32 + 9);
        assert_eq!(t.get(last, Instant::ZERO), Some(1400));
        assert_eq!(t.get(last, exp), None, "expired");
    }
}

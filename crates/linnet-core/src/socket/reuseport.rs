//! `SO_REUSEPORT` groups: sockets that set `SO_REUSEPORT` before binding (UDP) or listening
//! (TCP) on the same address, port and bound device form a group, and each datagram or SYN
//! for the group goes to one member chosen by a hash of its 4-tuple, so a flow always lands
//! on the same socket while the group does not change.
//!
//! Linux: net/core/sock_reuseport.c (`reuseport_alloc`, `reuseport_add_sock`,
//! `reuseport_detach_sock`, `reuseport_select_sock` with `reciprocal_scale`),
//! net/ipv4/udp.c (`udp_reuseport_add_sock`, `udp_ehashfn`), net/ipv4/inet_hashtables.c
//! (`inet_reuseport_add_sock`, `inet_lookup_reuseport`, `inet_ehashfn`).
//! RFCs: none.
//!
//! Each protocol table owns one [`ReuseportGroups`] and records a member's group id in its
//! sock (Linux: `sk->sk_reuseport_cb`). Members are kept in join order; a member that
//! leaves is replaced by the last one, as `reuseport_detach_sock` does, so the members'
//! positions (and so which flows they get) change only when the group does.
//!
//! The flow hash is a keyed hash of (saddr, sport, daddr, dport) whose key comes from the
//! stack's seed (Linux: `jhash` with the boot-time `inet_ehash_secret` / `udp_ehash_secret`):
//! deterministic for a seed, unpredictable to peers when the seed is.
//!
//! Deviation from Linux: Linux lets a socket join a group only when its effective uid is the
//! group's (`uid_eq(uid, sk_uid(sk2))`); a library has no uids, so every socket of the stack
//! may join. A group holds at most `max_socks` members (Linux: `U16_MAX`, the size
//! `reuseport_grow` refuses to pass); a socket that cannot join is refused with EADDRINUSE
//! (Linux: the bind or listen fails, ENOMEM from `reuseport_grow` turned into EADDRINUSE by
//! `udp_lib_get_port` / `__inet_hash`) and counted in `group_fulls`. No BPF selection
//! program (`SO_ATTACH_REUSEPORT_*BPF`).

use alloc::vec::Vec;
use core::hash::BuildHasher;
use core::net::Ipv4Addr;

/// Largest group (Linux: `reuseport_grow` stops at `U16_MAX` sockets).
pub(crate) const REUSEPORT_MAX_SOCKS: usize = u16::MAX as usize;

/// The reuseport groups of one protocol table.
#[derive(Debug)]
pub(crate) struct ReuseportGroups {
    /// Members (slot indices of the protocol table) per group; `None` for a free id.
    groups: Vec<Option<Vec<u32>>>,
    free: Vec<u32>,
    /// Largest group.
    pub(crate) max_socks: usize,
    /// Joins refused because the group was full.
    pub(crate) group_fulls: u64,
    hasher: foldhash::fast::FixedState,
}

impl ReuseportGroups {
    /// Empty, with the flow hash keyed by `seed`.
    pub(crate) fn with_seed(seed: u64) -> ReuseportGroups {
        ReuseportGroups {
            groups: Vec::new(),
            free: Vec::new(),
            max_socks: REUSEPORT_MAX_SOCKS,
            group_fulls: 0,
            hasher: foldhash::fast::FixedState::with_seed(seed ^ 0x7265_7573_6570_6f72),
        }
    }

    /// `reuseport_alloc`: a new group whose only member is `idx`.
    pub(crate) fn alloc(&mut self, idx: u32) -> u32 {
        let members = alloc::vec![idx];
        match self.free.pop() {
            Some(g) => {
                self.groups[g as usize] = Some(members);
                g
            }
            None => {
                self.groups.push(Some(members));
                (self.groups.len() - 1) as u32
            }
        }
    }

    /// `reuseport_add_sock`: `idx` joins group `gid`. False (and counted) when the group is
    /// full or unknown.
    pub(crate) fn add(&mut self, gid: u32, idx: u32) -> bool {
        let max = self.max_socks;
        match self.groups.get_mut(gid as usize) {
            Some(Some(m)) if m.len() < max => {
                m.push(idx);
                true
            }
            _ => {
                self.group_fulls += 1;
                false
            }
        }
    }

    /// `reuseport_detach_sock`: `idx` leaves group `gid` (the last member takes its place);
    /// the group is freed when it empties.
    pub(crate) fn detach(&mut self, gid: u32, idx: u32) {
        let Some(Some(m)) = self.groups.get_mut(gid as usize) else {
            return;
        };
        if let Some(pos) = m.iter().position(|&i| i == idx) {
            m.swap_remove(pos);
        }
        if m.is_empty() {
            self.groups[gid as usize] = None;
            self.free.push(gid);
        }
    }

    /// The members of group `gid`, in their current order.
    pub(crate) fn members(&self, gid: u32) -> &[u32] {
        match self.groups.get(gid as usize) {
            Some(Some(m)) => m,
            _ => &[],
        }
    }

    /// The flow hash of a packet `saddr:sport -> daddr:dport` (`udp_ehashfn` /
    /// `inet_ehashfn`).
    pub(crate) fn flow_hash(
        &self,
        saddr: Ipv4Addr,
        sport: u16,
        daddr: Ipv4Addr,
        dport: u16,
    ) -> u32 {
        let h = self
            .hasher
            .hash_one((u32::from(saddr), sport, u32::from(daddr), dport));
        (h ^ (h >> 32)) as u32
    }

    /// `reuseport_select_sock` without a BPF program: member `reciprocal_scale(hash, n)` of
    /// those `eligible` accepts. None for an empty group (or none eligible).
    pub(crate) fn select(
        &self,
        gid: u32,
        hash: u32,
        eligible: impl Fn(u32) -> bool,
    ) -> Option<u32> {
        let m = self.members(gid);
        let n = m.iter().filter(|&&i| eligible(i)).count();
        if n == 0 {
            return None;
        }
        // reciprocal_scale: (hash * n) >> 32.
        let k = ((u64::from(hash) * n as u64) >> 32) as usize;
        m.iter().copied().filter(|&i| eligible(i)).nth(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn a(x: u8) -> Ipv4Addr {
        Ipv4Addr::new(10, 0, 0, x)
    }

    /// `reuseport_select_sock`: the same 4-tuple always picks the same member, and many
    /// flows spread over every member.
    #[test]
    fn select_is_stable_per_flow_and_spreads_flows() {
        let mut g = ReuseportGroups::with_seed(7);
        let gid = g.alloc(10);
        assert!(g.add(gid, 11));
        assert!(g.add(gid, 12));
        let mut hits = [0u32; 3];
        for port in 1000..1300u16 {
            let h = g.flow_hash(a(2), port, a(1), 53);
            let pick = g.select(gid, h, |_| true).unwrap();
            assert_eq!(g.select(gid, h, |_| true), Some(pick));
            hits[(pick - 10) as usize] += 1;
        }
        assert!(hits.iter().all(|&n| n > 50), "{hits:?}");
    }

    /// `reuseport_detach_sock` moves the last member into the leaver's place; an empty
    /// group's id is reused.
    #[test]
    fn detach_swaps_last_member_in_and_frees_empty_groups() {
        let mut g = ReuseportGroups::with_seed(1);
        let gid = g.alloc(1);
        g.add(gid, 2);
        g.add(gid, 3);
        g.detach(gid, 1);
        assert_eq!(g.members(gid), &[3, 2]);
        g.detach(gid, 3);
        g.detach(gid, 2);
        assert!(g.members(gid).is_empty());
        assert_eq!(g.alloc(9), gid);
    }

    /// The group limit refuses a join and counts it.
    #[test]
    fn full_group_refuses_and_counts() {
        let mut g = ReuseportGroups::with_seed(1);
        g.max_socks = 2;
        let gid = g.alloc(1);
        assert!(g.add(gid, 2));
        assert!(!g.add(gid, 3));
        assert_eq!(g.group_fulls, 1);
        assert_eq!(g.members(gid), &[1, 2]);
    }

    /// Different seeds give different hashes (the key is the stack's).
    #[test]
    fn flow_hash_depends_on_seed() {
        let x = ReuseportGroups::with_seed(1);
        let y = ReuseportGroups::with_seed(2);
        let differ =
            (0..16u16).any(|p| x.flow_hash(a(2), p, a(1), 1) != y.flow_hash(a(2), p, a(1), 1));
        assert!(differ);
    }
}

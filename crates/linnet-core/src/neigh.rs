//! The neighbour subsystem: the protocol-independent L3 -> L2 cache with Linux's NUD state
//! machine, per-entry queues of packets awaiting resolution, and garbage collection.
//!
//! Linux: net/core/neighbour.c (`__neigh_event_send`, `neigh_timer_handler`, `neigh_update`,
//! `neigh_probe`, `neigh_invalidate`, `neigh_forced_gc`, `neigh_periodic_work`),
//! include/net/neighbour.h, include/uapi/linux/neighbour.h (`NUD_*`).
//! RFCs: RFC 1122 §2.3.2.1 (ARP cache validation), RFC 4861 §7.3 (the NUD states, shared by
//! Linux's IPv4 table).
//!
//! The table is generic over the L3 address `A` (IPv4 now, IPv6 later). It performs no I/O:
//! it reports what must be sent as [`NeighAction`]s that the protocol (ARP, ND) turns into
//! solicitations, transmissions and ICMP errors. Timers: one per entry in `timers`, keyed by
//! `(ifindex, address)`, plus the periodic collection keyed by [`NeighTimer::Gc`].

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::hash::Hash;
use core::time::Duration;

use crate::hash::{map_with_seed, HashMap};
use linnet_wire::EthernetAddress;

use crate::config::NeighParms;
use crate::dev::IfIndex;
use crate::skb::SkBuff;
use crate::stats::{DropReason, NeighStats};
use crate::time::Instant;
use crate::timer::Timers;

/// Neighbour Unreachability Detection state, with Linux's bit values (`NUD_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[repr(u8)]
pub enum NudState {
    /// Just created, nothing known.
    None = 0x00,
    /// Resolution in progress.
    Incomplete = 0x01,
    /// Confirmed reachable recently.
    Reachable = 0x02,
    /// Address known, reachability unconfirmed.
    Stale = 0x04,
    /// Waiting for an upper-layer confirmation before probing.
    Delay = 0x08,
    /// Unicast probing.
    Probe = 0x10,
    /// Resolution failed.
    Failed = 0x20,
    /// No resolution needed (broadcast, NOARP devices).
    Noarp = 0x40,
    /// Static entry.
    Permanent = 0x80,
}

impl NudState {
    const IN_TIMER: u8 = 0x01 | 0x02 | 0x08 | 0x10;
    const VALID: u8 = 0x80 | 0x40 | 0x02 | 0x10 | 0x04 | 0x08;
    const CONNECTED: u8 = 0x80 | 0x40 | 0x02;

    fn bits(self) -> u8 {
        self as u8
    }

    /// `NUD_VALID`: the entry has a usable link-layer address.
    pub fn is_valid(self) -> bool {
        self.bits() & Self::VALID != 0
    }

    /// `NUD_CONNECTED`: packets go out directly with no state change.
    pub fn is_connected(self) -> bool {
        self.bits() & Self::CONNECTED != 0
    }

    /// `NUD_IN_TIMER`: the state runs a timer.
    pub fn in_timer(self) -> bool {
        self.bits() & Self::IN_TIMER != 0
    }

    /// Parses iproute2's `nud` argument (`permanent`, `noarp`, `reachable`, `stale`, `none`,
    /// `incomplete`, `delay`, `probe`, `failed`), case-insensitively.
    pub fn from_name(s: &str) -> Option<NudState> {
        const ALL: [NudState; 9] = [
            NudState::None,
            NudState::Incomplete,
            NudState::Reachable,
            NudState::Stale,
            NudState::Delay,
            NudState::Probe,
            NudState::Failed,
            NudState::Noarp,
            NudState::Permanent,
        ];
        ALL.into_iter().find(|n| n.name().eq_ignore_ascii_case(s))
    }

    /// iproute2's name for the state (`ip neigh` output).
    pub fn name(self) -> &'static str {
        match self {
            NudState::None => "NONE",
            NudState::Incomplete => "INCOMPLETE",
            NudState::Reachable => "REACHABLE",
            NudState::Stale => "STALE",
            NudState::Delay => "DELAY",
            NudState::Probe => "PROBE",
            NudState::Failed => "FAILED",
            NudState::Noarp => "NOARP",
            NudState::Permanent => "PERMANENT",
        }
    }
}

/// One neighbour (Linux: `struct neighbour`).
#[derive(Debug)]
pub struct Neighbour {
    /// NUD state.
    pub state: NudState,
    /// Link-layer address (`ha`), when known.
    pub ha: Option<EthernetAddress>,
    /// Last reachability confirmation.
    pub confirmed: Instant,
    /// Last state or address change.
    pub updated: Instant,
    /// Last use for output.
    pub used: Instant,
    probes: u32,
    queue: VecDeque<SkBuff>,
    queue_bytes: usize,
    timer: Option<Instant>,
}

impl Neighbour {
    /// Packets waiting for resolution.
    pub fn queue_len(&self) -> usize {
        self.queue.len()
    }

    /// The most recently queued packet (`skb_peek_tail(&neigh->arp_queue)`), whose source
    /// address ARP uses for its probe.
    pub fn queue_tail(&self) -> Option<&SkBuff> {
        self.queue.back()
    }

    /// Probes sent in the current resolution round.
    pub fn probes(&self) -> u32 {
        self.probes
    }
}

/// Timer ids of a neighbour table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum NeighTimer<A> {
    /// The entry's own timer (`neigh->timer`).
    Entry(IfIndex, A),
    /// The periodic collection (`tbl->gc_work`).
    Gc,
}

/// What the table asks of its protocol after an operation.
#[derive(Debug)]
pub enum NeighAction<A> {
    /// Send a solicitation for `target` on `dev`; unicast to `dst_ha` when given, else
    /// broadcast (`neigh->ops->solicit`).
    Solicit {
        /// Device.
        dev: IfIndex,
        /// Address being resolved.
        target: A,
        /// Unicast destination for a reachability probe.
        dst_ha: Option<EthernetAddress>,
    },
    /// Transmit a packet that waited for resolution.
    Transmit {
        /// Device.
        dev: IfIndex,
        /// Resolved link-layer address.
        ha: EthernetAddress,
        /// The packet, network header at `data`.
        skb: SkBuff,
    },
    /// Resolution failed: report an error for this packet (`neigh->ops->error_report`).
    Unreachable {
        /// The packet that could not be sent.
        skb: SkBuff,
    },
    /// Free a packet, counted under `reason`.
    Drop {
        /// The packet.
        skb: SkBuff,
        /// Why.
        reason: DropReason,
    },
}

/// Result of asking the table to send a packet to a neighbour.
#[derive(Debug)]
pub enum Resolve {
    /// Address known: send now to `ha`.
    Ready(EthernetAddress, SkBuff),
    /// Queued until resolution (or dropped by the queue, reported through the actions).
    Pending,
}

/// Flags of [`NeighTable::update`] (`NEIGH_UPDATE_F_*`).
#[derive(Clone, Copy, Debug, Default)]
pub struct UpdateFlags {
    /// Replace a different known address.
    pub override_: bool,
    /// Administrative change (ip neigh): may leave PERMANENT/NOARP.
    pub admin: bool,
}

/// A neighbour table (Linux: `struct neigh_table`, e.g. `arp_tbl`).
#[derive(Debug)]
pub struct NeighTable<A: Copy + Eq + Hash + Ord> {
    entries: HashMap<(IfIndex, A), Neighbour>,
    /// Timers of the entries and of the collection.
    pub timers: Timers<NeighTimer<A>>,
    gc_armed: Option<Instant>,
    permanent: usize,
    last_flush: Instant,
    reachable_time: Duration,
    reachable_time_set: Instant,
    /// `/proc/net/stat/arp_cache` counters.
    pub stats: NeighStats,
    /// Work for the protocol, drained by it after every call.
    pub actions: Vec<NeighAction<A>>,
}

impl<A: Copy + Eq + Hash + Ord> NeighTable<A> {
    /// An empty table; `rand` draws the first reachable time.
    pub fn new(parms: &NeighParms, rand: u32, hash_seed: u64) -> Self {
        NeighTable {
            entries: map_with_seed(hash_seed),
            timers: Timers::default(),
            gc_armed: None,
            permanent: 0,
            last_flush: Instant::ZERO,
            reachable_time: rand_reach_time(parms.base_reachable_time, rand),
            reachable_time_set: Instant::ZERO,
            stats: NeighStats::default(),
            actions: Vec::new(),
        }
    }

    /// The current randomized reachable time (`parms->reachable_time`).
    pub fn reachable_time(&self) -> Duration {
        self.reachable_time
    }

    /// The entry for `addr` on `dev` (`neigh_lookup`).
    pub fn get(&self, dev: IfIndex, addr: A) -> Option<&Neighbour> {
        self.entries.get(&(dev, addr))
    }

    /// Number of entries.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// True when empty.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Iterates over all entries (for `ip neigh show`; not on any packet path).
    pub fn iter(&self) -> impl Iterator<Item = (IfIndex, A, &Neighbour)> {
        self.entries.iter().map(|(&(d, a), n)| (d, a, n))
    }

    fn set_timer(&mut self, key: (IfIndex, A), at: Option<Instant>) {
        if let Some(n) = self.entries.get_mut(&key) {
            let id = NeighTimer::Entry(key.0, key.1);
            match (n.timer, at) {
                (old, Some(t)) => self.timers.arm(old, t, id),
                (Some(old), None) => self.timers.cancel(old, id),
                (None, None) => {}
            }
            n.timer = at;
        }
    }

    /// Creates an entry in NUD_NONE (`neigh_create` / `neigh_alloc`), running the forced
    /// collection when the table is over its thresholds. Returns false when the table is
    /// full (`table_fulls`).
    fn create(&mut self, now: Instant, parms: &NeighParms, dev: IfIndex, addr: A) -> bool {
        if self.entries.contains_key(&(dev, addr)) {
            return true;
        }
        // Linux compares only collectable entries (its gc_list) with the thresholds:
        // PERMANENT entries do not count.
        let n = self.entries.len() - self.permanent;
        if n >= parms.gc_thresh3
            || (n >= parms.gc_thresh2 && now > self.last_flush + Duration::from_secs(5))
        {
            let freed = self.forced_gc(now, parms);
            if freed == 0 && self.entries.len() - self.permanent >= parms.gc_thresh3 {
                self.stats.table_fulls += 1;
                return false;
            }
        }
        self.entries.insert(
            (dev, addr),
            Neighbour {
                state: NudState::None,
                ha: None,
                confirmed: now - (parms.base_reachable_time * 2),
                updated: now,
                used: now,
                probes: 0,
                queue: VecDeque::new(),
                queue_bytes: 0,
                timer: None,
            },
        );
        self.stats.allocs += 1;
        self.stats.entries = self.entries.len() as u64;
        if self.gc_armed.is_none() {
            let at = now + parms.gc_interval / 2;
            self.timers.arm(None, at, NeighTimer::Gc);
            self.gc_armed = Some(at);
        }
        true
    }

    fn destroy(&mut self, key: (IfIndex, A)) {
        self.set_timer(key, None);
        if let Some(mut n) = self.entries.remove(&key) {
            if n.state == NudState::Permanent {
                self.permanent -= 1;
            }
            for skb in n.queue.drain(..) {
                self.actions.push(NeighAction::Drop {
                    skb,
                    reason: DropReason::NeighDead,
                });
            }
            self.stats.destroys += 1;
            self.stats.entries = self.entries.len() as u64;
        }
    }

    /// `neigh_forced_gc`: removes non-permanent entries that are FAILED, NOARP, or not
    /// updated for 5 s, until the table is at `gc_thresh2`. Returns how many it removed.
    /// Linux only takes entries with `refcnt == 1`; a pending timer holds a reference
    /// (`neigh_add_timer` -> `neigh_hold`), so INCOMPLETE/REACHABLE/DELAY/PROBE entries are
    /// never collected here.
    fn forced_gc(&mut self, now: Instant, parms: &NeighParms) -> usize {
        self.stats.forced_gc_runs += 1;
        self.last_flush = now;
        let tref = now - Duration::from_secs(5);
        let max_clean = (self.entries.len() - self.permanent).saturating_sub(parms.gc_thresh2);
        // Oldest first, as Linux walks its LRU gc_list.
        let mut victims: Vec<(Instant, (IfIndex, A))> = self
            .entries
            .iter()
            .filter(|(_, n)| {
                !matches!(n.state, NudState::Permanent)
                    && !n.state.in_timer()
                    && (n.state == NudState::Failed
                        || n.state == NudState::Noarp
                        || n.updated < tref)
                    && n.queue.is_empty()
            })
            .map(|(k, n)| (n.updated, *k))
            .collect();
        victims.sort_unstable();
        victims.truncate(max_clean.max(1));
        let freed = victims.len();
        for (_, k) in victims {
            self.destroy(k);
        }
        freed
    }

    /// Sends `skb` to `addr` on `dev` (`neigh_resolve_output` / `__neigh_event_send`).
    /// Solicitations and drops are left in [`Self::actions`].
    pub fn output(
        &mut self,
        now: Instant,
        parms: &NeighParms,
        dev: IfIndex,
        addr: A,
        skb: SkBuff,
    ) -> Resolve {
        self.stats.lookups += 1;
        let key = (dev, addr);
        // One hash lookup on the fast path: an existing entry is examined in place.
        if let Some(n) = self.entries.get_mut(&key) {
            self.stats.hits += 1;
            // `used` is what neigh_event_send records; a connected entry goes out through
            // the cached header (neigh_hh_output) and is not marked used, so steady traffic
            // without confirmations still lets a REACHABLE entry age to STALE.
            if !n.state.is_connected() {
                n.used = now;
            }
            // Fast path: connected, DELAY and PROBE states send directly.
            let fast =
                n.state.is_connected() || matches!(n.state, NudState::Delay | NudState::Probe);
            if fast {
                if let Some(ha) = n.ha {
                    return Resolve::Ready(ha, skb);
                }
            }
        } else if !self.create(now, parms, dev, addr) {
            // A new entry starts in NUD_NONE with `used` = now: nothing more to record.
            self.actions.push(NeighAction::Drop {
                skb,
                reason: DropReason::NeighFailed,
            });
            return Resolve::Pending;
        }
        let Some(n) = self.entries.get_mut(&key) else {
            // Invariant: present or created above.
            self.actions.push(NeighAction::Drop {
                skb,
                reason: DropReason::NeighFailed,
            });
            return Resolve::Pending;
        };
        let mut immediate_probe = false;
        match n.state {
            NudState::None | NudState::Failed => {
                if parms.mcast_solicit + parms.app_solicit == 0 {
                    n.state = NudState::Failed;
                    n.updated = now;
                    self.actions.push(NeighAction::Drop {
                        skb,
                        reason: DropReason::NeighFailed,
                    });
                    return Resolve::Pending;
                }
                n.probes = parms.ucast_solicit;
                n.state = NudState::Incomplete;
                n.updated = now;
                immediate_probe = true;
                let at = now + parms.retrans_time.max(Duration::from_millis(10));
                self.set_timer(key, Some(at));
            }
            NudState::Stale => {
                n.state = NudState::Delay;
                n.updated = now;
                let ha = n.ha;
                self.set_timer(key, Some(now + parms.delay_first_probe_time));
                if let Some(ha) = ha {
                    return Resolve::Ready(ha, skb);
                }
            }
            _ => {}
        }
        let Some(n) = self.entries.get_mut(&key) else {
            return Resolve::Pending;
        };
        if n.state == NudState::Incomplete {
            let size = skb.truesize();
            while n.queue_bytes + size > parms.unres_qlen_bytes {
                match n.queue.pop_front() {
                    Some(old) => {
                        n.queue_bytes -= old.truesize();
                        self.stats.unresolved_discards += 1;
                        self.actions.push(NeighAction::Drop {
                            skb: old,
                            reason: DropReason::NeighQueuefull,
                        });
                    }
                    None => break,
                }
            }
            // Linux queues the new packet unconditionally once the old ones are gone, even
            // if it alone exceeds the limit (`__skb_queue_tail` after the while loop).
            n.queue_bytes += size;
            n.queue.push_back(skb);
        } else if let Some(ha) = n.ha {
            return Resolve::Ready(ha, skb);
        } else {
            self.actions.push(NeighAction::Drop {
                skb,
                reason: DropReason::NeighFailed,
            });
        }
        if immediate_probe {
            self.probe(key, parms.ucast_solicit);
        }
        Resolve::Pending
    }

    /// `neigh_probe`: one solicitation, unicast while probes < ucast_solicit and an address
    /// is known (arp_solicit's rule), then broadcast.
    fn probe(&mut self, key: (IfIndex, A), ucast_solicit: u32) {
        if let Some(n) = self.entries.get_mut(&key) {
            // INCOMPLETE starts at probes = ucast_solicit, so it always broadcasts; PROBE
            // starts at 0, so its first ucast_solicit probes go unicast to the known address.
            let dst_ha = if n.probes < ucast_solicit { n.ha } else { None };
            n.probes += 1;
            self.actions.push(NeighAction::Solicit {
                dev: key.0,
                target: key.1,
                dst_ha,
            });
        }
    }

    /// Runs due timers (`neigh_timer_handler`, `neigh_periodic_work`). `rng` re-draws the
    /// reachable time, only when the periodic work does so.
    pub fn handle_timeout(
        &mut self,
        now: Instant,
        parms: &NeighParms,
        rng: &mut impl rand_core::RngCore,
    ) {
        while let Some((_, id)) = self.timers.pop_due(now) {
            match id {
                NeighTimer::Gc => {
                    self.gc_armed = None;
                    self.periodic_gc(now, parms, rng);
                }
                NeighTimer::Entry(dev, addr) => {
                    if let Some(n) = self.entries.get_mut(&(dev, addr)) {
                        n.timer = None;
                    }
                    self.entry_timer(now, parms, (dev, addr));
                }
            }
        }
    }

    fn entry_timer(&mut self, now: Instant, parms: &NeighParms, key: (IfIndex, A)) {
        let reachable_time = self.reachable_time;
        let Some(n) = self.entries.get_mut(&key) else {
            return;
        };
        if !n.state.in_timer() {
            return;
        }
        let retrans = parms.retrans_time.max(Duration::from_millis(10));
        let mut next = None;
        match n.state {
            NudState::Reachable => {
                if now <= n.confirmed + reachable_time {
                    next = Some(n.confirmed + reachable_time);
                } else if now <= n.used + parms.delay_first_probe_time {
                    n.state = NudState::Delay;
                    n.updated = now;
                    next = Some(now + parms.delay_first_probe_time);
                } else {
                    n.state = NudState::Stale;
                    n.updated = now;
                }
            }
            NudState::Delay => {
                if now <= n.confirmed + parms.delay_first_probe_time {
                    n.state = NudState::Reachable;
                    n.updated = now;
                    next = Some(n.confirmed + reachable_time);
                } else {
                    n.state = NudState::Probe;
                    n.updated = now;
                    n.probes = 0;
                    next = Some(now + retrans);
                }
            }
            _ => next = Some(now + retrans),
        }
        if matches!(n.state, NudState::Incomplete | NudState::Probe)
            && n.probes >= max_probes(parms, n.state)
        {
            n.state = NudState::Failed;
            n.updated = now;
            self.invalidate(key);
            return;
        }
        if n.state.in_timer() {
            // "if (time_before(next, jiffies + HZ/100)) next = jiffies + HZ/100;": a
            // REACHABLE entry checked exactly at confirmed + reachable_time re-arms for
            // that same instant, so never re-arm less than 10 ms ahead (else the timer
            // loop in handle_timeout would spin on it forever).
            let next = next.map(|t| t.max(now + Duration::from_millis(10)));
            self.set_timer(key, next);
        }
        if matches!(
            self.entries.get(&key).map(|n| n.state),
            Some(NudState::Incomplete | NudState::Probe)
        ) {
            self.probe(key, parms.ucast_solicit);
        }
    }

    /// `neigh_invalidate`: resolution failed; every queued packet gets an error report.
    fn invalidate(&mut self, key: (IfIndex, A)) {
        self.stats.res_failed += 1;
        self.set_timer(key, None);
        if let Some(n) = self.entries.get_mut(&key) {
            n.queue_bytes = 0;
            for skb in n.queue.drain(..) {
                self.actions.push(NeighAction::Unreachable { skb });
            }
        }
    }

    fn periodic_gc(&mut self, now: Instant, parms: &NeighParms, rng: &mut impl rand_core::RngCore) {
        self.stats.periodic_gc_runs += 1;
        if now.saturating_since(self.reachable_time_set) >= Duration::from_secs(300) {
            self.reachable_time = rand_reach_time(parms.base_reachable_time, rng.next_u32());
            self.reachable_time_set = now;
        }
        if self.entries.len() >= parms.gc_thresh1 {
            let victims: Vec<(IfIndex, A)> = self
                .entries
                .iter_mut()
                .filter_map(|(k, n)| {
                    if matches!(n.state, NudState::Permanent) || n.state.in_timer() {
                        return None;
                    }
                    if n.used < n.confirmed && n.confirmed <= now {
                        n.used = n.confirmed;
                    }
                    let stale = now >= n.used + parms.gc_stale_time;
                    ((n.state == NudState::Failed || stale) && n.queue.is_empty()).then_some(*k)
                })
                .collect();
            for k in victims {
                self.destroy(k);
            }
        }
        if !self.entries.is_empty() {
            let at = now + parms.gc_interval / 2;
            self.timers.arm(None, at, NeighTimer::Gc);
            self.gc_armed = Some(at);
        }
    }

    /// `neigh_update`: a new address and/or state learned from the protocol or set by an
    /// administrator. Creates the entry if `create` (as `__neigh_lookup(..., creat=1)`).
    /// Returns false if there was no entry and none was created.
    #[allow(clippy::too_many_arguments)]
    pub fn update(
        &mut self,
        now: Instant,
        parms: &NeighParms,
        dev: IfIndex,
        addr: A,
        lladdr: Option<EthernetAddress>,
        new: NudState,
        flags: UpdateFlags,
        create: bool,
    ) -> bool {
        let key = (dev, addr);
        let present =
            self.entries.contains_key(&key) || (create && self.create(now, parms, dev, addr));
        if !present {
            return false;
        }
        let reachable_time = self.reachable_time;
        let Some(n) = self.entries.get_mut(&key) else {
            return false;
        };
        let old = n.state;
        if !flags.admin && matches!(old, NudState::Noarp | NudState::Permanent) {
            return true;
        }
        if !new.is_valid() {
            // Going to NONE/FAILED/INCOMPLETE by command: stop and flush.
            n.state = new;
            self.permanent = count_permanent(self.permanent, old, new);
            n.updated = now;
            if old.is_valid() && new == NudState::Failed {
                n.ha = None;
            }
            if new == NudState::Failed {
                self.invalidate(key);
            } else {
                self.set_timer(key, None);
            }
            return true;
        }
        let mut new = new;
        let lladdr = lladdr.or(n.ha);
        let Some(ha) = lladdr else {
            // A valid state needs an address.
            return true;
        };
        if old.is_valid() {
            if Some(ha) != n.ha && !flags.override_ {
                return true;
            } else if Some(ha) == n.ha && new == NudState::Stale && !flags.admin {
                new = old;
            }
        }
        if new.is_connected() {
            n.confirmed = now;
        }
        n.updated = now;
        if Some(ha) != n.ha {
            n.ha = Some(ha);
            if !new.is_connected() {
                n.confirmed = now - (parms.base_reachable_time * 2);
            }
        }
        if new != old {
            n.state = new;
            self.permanent = count_permanent(self.permanent, old, new);
            if new == NudState::Probe {
                n.probes = 0;
            }
            let at = if new.in_timer() {
                Some(if new == NudState::Reachable {
                    now + reachable_time
                } else {
                    now
                })
            } else {
                None
            };
            self.set_timer(key, at);
        }
        if !old.is_valid() {
            let n = self.entries.get_mut(&key);
            if let Some(n) = n {
                n.queue_bytes = 0;
                let queued: Vec<SkBuff> = n.queue.drain(..).collect();
                for skb in queued {
                    self.actions.push(NeighAction::Transmit { dev, ha, skb });
                }
            }
        }
        true
    }

    /// Confirms reachability from an upper layer (`neigh_confirm`): updates `confirmed` only.
    pub fn confirm(&mut self, now: Instant, dev: IfIndex, addr: A) {
        if let Some(n) = self.entries.get_mut(&(dev, addr)) {
            n.confirmed = now;
        }
    }

    /// Removes an entry (`ip neigh del`).
    pub fn delete(&mut self, dev: IfIndex, addr: A) -> bool {
        let present = self.entries.contains_key(&(dev, addr));
        self.destroy((dev, addr));
        present
    }

    /// Removes every entry of `dev`, permanent ones too (`neigh_ifdown` on unregister).
    pub fn ifdown(&mut self, dev: IfIndex) {
        let keys: Vec<(IfIndex, A)> = self
            .entries
            .keys()
            .filter(|k| k.0 == dev)
            .copied()
            .collect();
        for k in keys {
            self.destroy(k);
        }
    }

    /// Removes every non-permanent entry of `dev` (`ip neigh flush dev`); returns how many.
    pub fn flush_dev(&mut self, dev: IfIndex) -> usize {
        let keys: Vec<(IfIndex, A)> = self
            .entries
            .iter()
            .filter(|(k, n)| k.0 == dev && n.state != NudState::Permanent)
            .map(|(k, _)| *k)
            .collect();
        let count = keys.len();
        for k in keys {
            self.destroy(k);
        }
        count
    }
}

/// The number of PERMANENT entries after a change from `old` to `new`.
fn count_permanent(count: usize, old: NudState, new: NudState) -> usize {
    match (old == NudState::Permanent, new == NudState::Permanent) {
        (true, false) => count - 1,
        (false, true) => count + 1,
        _ => count,
    }
}

/// Probe budget of a resolution round (`neigh_max_probes`).
fn max_probes(parms: &NeighParms, state: NudState) -> u32 {
    parms.ucast_solicit
        + parms.app_solicit
        + if state == NudState::Probe {
            parms.mcast_resolicit
        } else {
            parms.mcast_solicit
        }
}

/// `neigh_rand_reach_time`: uniform in [base/2, 3*base/2).
fn rand_reach_time(base: Duration, rand: u32) -> Duration {
    let ms = base.as_millis() as u64;
    if ms == 0 {
        return base;
    }
    Duration::from_millis(ms / 2 + u64::from(rand) % ms)
}

#[cfg(test)]
#[path = "neigh_tests.rs"]
mod tests;

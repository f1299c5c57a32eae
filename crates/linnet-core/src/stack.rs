//! `Stack`: one network namespace's worth of state, and the sans-IO contract that drivers
//! and tests use to run it.
//!
//! Linux: net/core/dev.c (`netif_receive_skb`, `__netif_receive_skb_core`, `dev_queue_xmit`,
//! the backlog that loopback feeds), net/ethernet/eth.c (`eth_type_trans`),
//! net/core/net_namespace.c (`struct net`: one instance per stack), net/ipv4/devinet.c
//! (address configuration).
//! RFCs: RFC 894 (IP over Ethernet).
//!
//! # Calling order
//! After any input ([`Stack::receive`], [`Stack::handle_timeout`]) or API call (sockets,
//! configuration): drain [`Stack::poll_transmit`], then read [`Stack::poll_timeout`], then
//! drain [`Stack::poll_event`]. `now` must never go backwards. Buffers returned by
//! `poll_transmit` should be handed back with [`Stack::recycle`] once sent, so that steady
//! traffic allocates nothing.
//!
//! # Receive batches
//! A driver that reads many frames at once may wrap them in [`Stack::rx_batch_begin`] /
//! [`Stack::rx_batch_end`] (one NAPI poll): the frames are processed as they come, but a run
//! of consecutive in-order segments of one TCP connection is acknowledged once, at its end,
//! as Linux acknowledges the segment GRO merges them into (`tcp::gro`). Drain
//! `poll_transmit` after `rx_batch_end`, not between the frames of a batch: `poll_transmit`
//! ends an open batch. Without the two calls every segment is acknowledged on its own.

use alloc::collections::VecDeque;
use alloc::string::String;
use alloc::vec::Vec;
use core::net::Ipv4Addr;

use linnet_wire::ethernet::{self, EtherType, EthernetAddress};
use linnet_wire::ipv4::Ipv4Cidr;
use rand_core::{RngCore, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::config::StackConfig;
use crate::dev::{DevFlags, DeviceConfig, DeviceKind, IfIndex, NetDevice, MAX_MTU, MIN_MTU};
use crate::errno::Errno;
use crate::ipv4::icmp::IcmpState;
use crate::ipv4::output::IpIdents;
use crate::neigh::NeighTable;
use crate::route::{Fib, LocalKind, Route, RouteError};
use crate::skb::{PacketType, SkBuff, SkbPool};
use crate::stats::{DropReason, Stats};
use crate::time::Instant;
use crate::udp::{SocketHandle, UdpTable};

/// The loopback device's index, as in Linux.
pub const LOOPBACK_IFINDEX: IfIndex = IfIndex(1);

/// An address configured on a device (Linux: `struct in_ifaddr`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct IfAddr {
    /// Device.
    pub dev: IfIndex,
    /// Address and prefix length.
    pub cidr: Ipv4Cidr,
    /// Broadcast address (`brd`), none for /31, /32 and loopback.
    pub broadcast: Option<Ipv4Addr>,
}

/// Something the application may want to know (readiness, failures).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Event {
    /// A socket has data to read.
    Readable(SocketHandle),
    /// A socket has a pending error (`sk_err`).
    Error(SocketHandle),
    /// A TCP socket has send-buffer space again after a send met a full buffer.
    Writable(SocketHandle),
    /// A non-blocking TCP connect completed (the socket is ESTABLISHED).
    Connected(SocketHandle),
    /// A listening TCP socket has a connection to accept.
    Acceptable(SocketHandle),
    /// A TCP socket learned of new urgent data (the role of SIGURG).
    Urgent(SocketHandle),
    /// An echo reply, or an error about one of our echo requests.
    Ping(crate::ping::PingEvent),
}

/// Errors of device and address configuration.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConfigError {
    /// No device with that index or name (`ENODEV`).
    NoSuchDevice,
    /// A device with that name exists, or the address is already configured (`EEXIST`).
    Exists,
    /// Name empty or longer than 15 bytes (`EINVAL`).
    BadName,
    /// MTU out of range for the device (`EINVAL`).
    BadMtu,
    /// Nothing to delete (`EADDRNOTAVAIL` / `ESRCH`).
    NotFound,
    /// Gateway not reachable through a connected route (`ENETUNREACH`).
    GatewayUnreachable,
    /// Not possible on this device, e.g. deleting `lo` (`EOPNOTSUPP`).
    NotSupported,
}

impl ConfigError {
    /// The errno Linux's rtnetlink answers with.
    pub fn errno(self) -> Errno {
        match self {
            ConfigError::NoSuchDevice => Errno::ENODEV,
            ConfigError::Exists => Errno::EEXIST,
            ConfigError::BadName | ConfigError::BadMtu => Errno::EINVAL,
            ConfigError::NotFound => Errno::EADDRNOTAVAIL,
            ConfigError::GatewayUnreachable => Errno::ENETUNREACH,
            ConfigError::NotSupported => Errno::EOPNOTSUPP,
        }
    }
}

impl From<RouteError> for ConfigError {
    fn from(e: RouteError) -> Self {
        match e {
            RouteError::Exists => ConfigError::Exists,
            RouteError::NotFound => ConfigError::NotFound,
        }
    }
}

/// A whole network stack (Linux: one `struct net` with its devices, tables and sockets).
#[derive(Debug)]
pub struct Stack {
    pub(crate) cfg: StackConfig,
    pub(crate) rng: Xoshiro256PlusPlus,
    pub(crate) devs: Vec<Option<NetDevice>>,
    pub(crate) addrs: Vec<IfAddr>,
    pub(crate) fib: Fib,
    pub(crate) arp: NeighTable<Ipv4Addr>,
    pub(crate) stats: Stats,
    pub(crate) pool: SkbPool,
    pub(crate) txq: VecDeque<SkBuff>,
    pub(crate) backlog: VecDeque<SkBuff>,
    pub(crate) events: VecDeque<Event>,
    pub(crate) events_dropped: u64,
    pub(crate) udp: UdpTable,
    pub(crate) tcp: crate::tcp::TcpTable,
    pub(crate) sockets: crate::socket::SocketTable,
    pub(crate) icmp: IcmpState,
    pub(crate) idents: IpIdents,
    pub(crate) reasm: crate::ipv4::fragment::Reasm,
    pub(crate) now: Instant,
    /// Recently computed input and output routes (see `RouteCache`).
    pub(crate) rt_cache: crate::route::RouteCache,
}

impl Stack {
    /// A stack with only the loopback device (`lo`, ifindex 1, 127.0.0.1/8, up), all
    /// randomness drawn from `seed`.
    pub fn new(cfg: StackConfig, seed: u64) -> Stack {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
        let arp = NeighTable::new(&cfg.neigh, rng.next_u32(), rng.next_u64());
        let idents = IpIdents::new(&mut rng);
        let mut stack = Stack {
            pool: SkbPool::new(cfg.skb_buf_size, cfg.skb_pool_limit),
            udp: UdpTable::with_seed(rng.next_u64()),
            icmp: IcmpState::new(&cfg, rng.next_u64()),
            reasm: crate::ipv4::fragment::Reasm::with_seed(rng.next_u64()),
            fib: Fib::with_seed(rng.next_u64()),
            tcp: crate::tcp::TcpTable::new(&mut rng),
            sockets: crate::socket::SocketTable::new(),
            cfg,
            rng,
            devs: alloc::vec![None],
            addrs: Vec::new(),
            arp,
            stats: Stats::default(),
            txq: VecDeque::new(),
            backlog: VecDeque::new(),
            events: VecDeque::new(),
            events_dropped: 0,
            idents,
            now: Instant::ZERO,
            rt_cache: crate::route::RouteCache::default(),
        };
        let lo = stack.add_device(DeviceConfig {
            name: "lo".into(),
            kind: DeviceKind::Loopback,
            mtu: None,
        });
        debug_assert_eq!(lo, Ok(LOOPBACK_IFINDEX));
        let _ = stack.set_up(LOOPBACK_IFINDEX, true);
        let _ = stack.add_addr(
            LOOPBACK_IFINDEX,
            Ipv4Cidr {
                address: Ipv4Addr::LOCALHOST,
                prefix_len: 8,
            },
        );
        stack
    }

    /// The sysctls.
    pub fn config(&self) -> &StackConfig {
        &self.cfg
    }

    /// The sysctls, writable (`sysctl -w`).
    pub fn config_mut(&mut self) -> &mut StackConfig {
        &mut self.cfg
    }

    /// All counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// Counters of the buffer pool.
    pub fn pool_stats(&self) -> crate::skb::PoolStats {
        self.pool.stats()
    }

    /// Pre-fills the buffer pool with `n` buffers.
    pub fn prefill_pool(&mut self, n: usize) {
        self.pool.prefill(n);
    }

    /// A pooled buffer for a driver to fill with a received frame (then [`Stack::receive`]).
    pub fn alloc_rx(&mut self, len: usize) -> SkBuff {
        self.pool.alloc(len)
    }

    /// Gives back a buffer returned by [`Stack::poll_transmit`] once it has been sent.
    pub fn recycle(&mut self, skb: SkBuff) {
        self.pool.free(skb);
    }

    /// The ARP table.
    pub fn arp_table(&self) -> &NeighTable<Ipv4Addr> {
        &self.arp
    }

    pub(crate) fn rand_u32(&mut self) -> u32 {
        self.rng.next_u32()
    }

    // ---- devices ------------------------------------------------------------------

    /// Registers a device, down (`register_netdevice`). Returns its index.
    pub fn add_device(&mut self, cfg: DeviceConfig) -> Result<IfIndex, ConfigError> {
        if cfg.name.is_empty() || cfg.name.len() > 15 || cfg.name.contains(['/', ' ']) {
            return Err(ConfigError::BadName);
        }
        if self.device_by_name(&cfg.name).is_some() {
            return Err(ConfigError::Exists);
        }
        if let Some(m) = cfg.mtu {
            if !(MIN_MTU..=MAX_MTU).contains(&m) {
                return Err(ConfigError::BadMtu);
            }
        }
        let idx = IfIndex(self.devs.len() as u32);
        self.devs.push(Some(NetDevice::new(idx, cfg)));
        self.fib.flush_cache();
        Ok(idx)
    }

    /// `ip link add NAME type dummy`: an Ethernet-like device with a random local MAC and
    /// NOARP, whose transmissions are discarded (drivers/net/dummy.c), created down.
    pub fn add_dummy(&mut self, name: &str, mtu: Option<u32>) -> Result<IfIndex, ConfigError> {
        let mut mac = [0u8; 6];
        let r = self.rng.next_u64().to_le_bytes();
        mac.copy_from_slice(&r[..6]);
        mac[0] = (mac[0] & 0xfe) | 0x02;
        let kind = DeviceKind::Ethernet {
            mac: EthernetAddress(mac),
        };
        let idx = self.add_device(DeviceConfig {
            name: name.into(),
            kind,
            mtu,
        })?;
        if let Some(d) = self.device_mut(idx) {
            d.dummy = true;
            d.flags.set(DevFlags::NOARP, true);
            d.flags.set(DevFlags::MULTICAST, false);
        }
        Ok(idx)
    }

    /// `ip link del NAME` (`unregister_netdevice`): its addresses, routes and neighbours go
    /// with it. The loopback device cannot be deleted (EOPNOTSUPP). Frames already queued
    /// for the driver stay queued; a driver sees an index it no longer knows.
    pub fn del_device(&mut self, idx: IfIndex) -> Result<(), ConfigError> {
        if idx == LOOPBACK_IFINDEX {
            return Err(ConfigError::NotSupported);
        }
        if self.device(idx).is_none() {
            return Err(ConfigError::NoSuchDevice);
        }
        let _ = self.set_up(idx, false);
        self.addrs.retain(|a| a.dev != idx);
        self.fib.del_dev(idx);
        self.fib.flush_cache();
        self.arp.ifdown(idx);
        self.run_neigh_actions();
        // Transparent mode ends with the device (a later device may get its index).
        self.tcp.tproxy.remove(&idx);
        self.udp.tproxy_forget(idx);
        if let Some(slot) = self.devs.get_mut(idx.0 as usize) {
            *slot = None;
        }
        Ok(())
    }

    /// The device with index `idx`.
    pub fn device(&self, idx: IfIndex) -> Option<&NetDevice> {
        self.devs.get(idx.0 as usize).and_then(Option::as_ref)
    }

    pub(crate) fn device_mut(&mut self, idx: IfIndex) -> Option<&mut NetDevice> {
        self.devs.get_mut(idx.0 as usize).and_then(Option::as_mut)
    }

    /// The device named `name`.
    pub fn device_by_name(&self, name: &str) -> Option<&NetDevice> {
        self.devs.iter().flatten().find(|d| d.name == name)
    }

    /// All devices, by index.
    pub fn devices(&self) -> impl Iterator<Item = &NetDevice> {
        self.devs.iter().flatten()
    }

    /// `ip link set DEV up|down`. Down flushes the device's neighbours and routes stop
    /// matching (`fib_sync_down_dev`).
    pub fn set_up(&mut self, idx: IfIndex, up: bool) -> Result<(), ConfigError> {
        let dev = self.device_mut(idx).ok_or(ConfigError::NoSuchDevice)?;
        dev.flags.set(DevFlags::UP, up);
        dev.flags.set(DevFlags::RUNNING, up);
        dev.flags.set(DevFlags::LOWER_UP, up);
        // NETDEV_UP / NETDEV_DOWN: routes through the device start or stop matching.
        self.fib.flush_cache();
        if !up {
            self.arp.flush_dev(idx);
            self.run_neigh_actions();
        }
        Ok(())
    }

    /// `ip link set DEV mtu N`: EINVAL outside [68, 65535].
    pub fn set_mtu(&mut self, idx: IfIndex, mtu: u32) -> Result<(), ConfigError> {
        if !(MIN_MTU..=MAX_MTU).contains(&mtu) {
            return Err(ConfigError::BadMtu);
        }
        self.device_mut(idx).ok_or(ConfigError::NoSuchDevice)?.mtu = mtu;
        // NETDEV_CHANGEMTU: a cached route carries the path MTU.
        self.fib.flush_cache();
        Ok(())
    }

    /// `ip link set DEV arp on|off`.
    pub fn set_noarp(&mut self, idx: IfIndex, noarp: bool) -> Result<(), ConfigError> {
        self.device_mut(idx)
            .ok_or(ConfigError::NoSuchDevice)?
            .flags
            .set(DevFlags::NOARP, noarp);
        self.fib.flush_cache();
        Ok(())
    }

    /// `net.ipv4.conf.DEV.arp_ignore`.
    pub fn set_arp_ignore(&mut self, idx: IfIndex, level: u8) -> Result<(), ConfigError> {
        self.device_mut(idx)
            .ok_or(ConfigError::NoSuchDevice)?
            .arp_ignore = level;
        Ok(())
    }

    // ---- addresses and routes -----------------------------------------------------

    /// `ip addr add CIDR dev DEV`: installs the local and broadcast entries and the
    /// connected prefix route (`fib_add_ifaddr`).
    pub fn add_addr(&mut self, idx: IfIndex, cidr: Ipv4Cidr) -> Result<(), ConfigError> {
        let dev = self.device(idx).ok_or(ConfigError::NoSuchDevice)?;
        let loopback = matches!(dev.kind, DeviceKind::Loopback);
        if self
            .addrs
            .iter()
            .any(|a| a.dev == idx && a.cidr.address == cidr.address)
        {
            return Err(ConfigError::Exists);
        }
        let broadcast = if loopback { None } else { cidr.broadcast() };
        // Source selection (inet_select_addr) reads the address list.
        self.fib.flush_cache();
        self.addrs.push(IfAddr {
            dev: idx,
            cidr,
            broadcast,
        });
        self.fib.add_local(cidr.address, LocalKind::Local(idx));
        if let Some(b) = broadcast {
            self.fib.add_local(b, LocalKind::Broadcast(idx));
        }
        if !loopback && cidr.prefix_len < 32 {
            let _ = self.fib.add(Route {
                dst: cidr.network(),
                gateway: None,
                dev: idx,
                prefsrc: Some(cidr.address),
                metric: 0,
                kernel: true,
            });
        }
        Ok(())
    }

    /// `ip addr del CIDR dev DEV`.
    pub fn del_addr(&mut self, idx: IfIndex, cidr: Ipv4Cidr) -> Result<(), ConfigError> {
        let pos = self
            .addrs
            .iter()
            .position(|a| a.dev == idx && a.cidr == cidr)
            .ok_or(ConfigError::NotFound)?;
        let a = self.addrs.remove(pos);
        self.fib.flush_cache();
        self.fib.del_local(a.cidr.address);
        if let Some(b) = a.broadcast {
            if !self.addrs.iter().any(|o| o.broadcast == Some(b)) {
                self.fib.del_local(b);
            }
        }
        let net = a.cidr.network();
        let successor = self
            .addrs
            .iter()
            .find(|o| o.dev == idx && o.cidr.network() == net)
            .map(|o| o.cidr.address);
        let gone = a.cidr.address;
        match successor {
            None => {
                self.fib.del(net, |r| r.kernel && r.dev == idx);
            }
            Some(next) => {
                // Deviation from Linux's default (promote_secondaries=0 deletes the secondary
                // addresses with the primary): linnet promotes the next address of the subnet,
                // as Linux does with promote_secondaries=1 (systemd's default), and the
                // connected route takes it as its source.
                let removed = self
                    .fib
                    .del(net, |r| r.kernel && r.dev == idx && r.prefsrc == Some(gone));
                if removed > 0 {
                    let _ = self.fib.add(Route {
                        dst: net,
                        gateway: None,
                        dev: idx,
                        prefsrc: Some(next),
                        metric: 0,
                        kernel: true,
                    });
                }
            }
        }
        Ok(())
    }

    /// All configured addresses.
    pub fn addrs(&self) -> &[IfAddr] {
        &self.addrs
    }

    /// `ip route add DST [via GW] dev DEV [metric M]`. A gateway must be on-link.
    pub fn add_route(
        &mut self,
        dst: Ipv4Cidr,
        gateway: Option<Ipv4Addr>,
        dev: IfIndex,
        metric: u32,
    ) -> Result<(), ConfigError> {
        self.device(dev).ok_or(ConfigError::NoSuchDevice)?;
        if let Some(gw) = gateway {
            let onlink = self
                .fib
                .lookup(gw, |d| d == dev)
                .is_some_and(|r| r.gateway.is_none());
            if !onlink {
                return Err(ConfigError::GatewayUnreachable);
            }
        }
        self.fib.add(Route {
            dst,
            gateway,
            dev,
            prefsrc: None,
            metric,
            kernel: false,
        })?;
        Ok(())
    }

    /// `ip route add default via GW`: the device is the one whose connected route holds GW.
    pub fn add_default_route(&mut self, gateway: Ipv4Addr) -> Result<(), ConfigError> {
        let dev = self
            .fib
            .lookup(gateway, |_| true)
            .filter(|r| r.gateway.is_none())
            .map(|r| r.dev)
            .ok_or(ConfigError::GatewayUnreachable)?;
        self.add_route(
            Ipv4Cidr {
                address: Ipv4Addr::UNSPECIFIED,
                prefix_len: 0,
            },
            Some(gateway),
            dev,
            0,
        )
    }

    /// `ip route del DST [via GW]`.
    pub fn del_route(
        &mut self,
        dst: Ipv4Cidr,
        gateway: Option<Ipv4Addr>,
    ) -> Result<(), ConfigError> {
        let n = self.del_routes(dst, |r| gateway.is_none() || r.gateway == gateway);
        if n == 0 {
            return Err(ConfigError::NotFound);
        }
        Ok(())
    }

    /// Removes the routes to `dst` that `pred` selects; returns how many.
    pub fn del_routes(
        &mut self,
        dst: Ipv4Cidr,
        pred: impl Fn(&crate::route::Route) -> bool,
    ) -> usize {
        self.fib.del(dst, pred)
    }

    /// The main routing table.
    pub fn fib(&self) -> &Fib {
        &self.fib
    }

    // ---- the sans-IO contract -----------------------------------------------------

    /// A frame (or, on L3 devices, an IP packet) arrived on `dev` (`netif_receive_skb`).
    pub fn receive(&mut self, now: Instant, dev: IfIndex, mut skb: SkBuff) {
        self.now = now;
        skb.dev = dev;
        self.netif_receive(skb);
        self.process_backlog();
        // The ARP counters are mirrored into `stats` in part on the neighbour fast path
        // (ip_finish_output2) and in full after every other table operation: between API
        // calls the two always agree.
        debug_assert_eq!(self.stats.arp, self.arp.stats);
    }

    /// Sets the stack's notion of the current time without running timers. Socket and
    /// configuration calls act at the time last given here or to `receive` /
    /// `handle_timeout`; drivers call this before such calls.
    pub fn set_now(&mut self, now: Instant) {
        if now > self.now {
            self.now = now;
        }
    }

    /// The time last given to the stack.
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Runs every timer due at `now`.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.now = now;
        self.arp.handle_timeout(now, &self.cfg.neigh, &mut self.rng);
        self.run_neigh_actions();
        self.frag_timeouts(now);
        self.tcp_handle_timeout(now);
        self.process_backlog();
        debug_assert_eq!(self.stats.arp, self.arp.stats);
    }

    /// The next frame for the driver: `(device, frame)`. Loopback traffic never appears
    /// here.
    pub fn poll_transmit(&mut self) -> Option<(IfIndex, SkBuff)> {
        if self.tcp.gro.is_open() {
            // A batch left open: its held ACK decisions are made before anything leaves.
            self.rx_batch_end();
        }
        let skb = self.txq.pop_front()?;
        let dev = skb.dev;
        if let Some(d) = self.device_mut(dev) {
            d.stats.tx_packets += 1;
            d.stats.tx_bytes += skb.len() as u64;
        }
        Some((dev, skb))
    }

    /// When [`Stack::handle_timeout`] must next be called.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.arp.timers.next(),
            self.reasm.timers.next(),
            self.tcp.timers.next(),
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// The next application event.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Events lost because the queue was full.
    pub fn events_dropped(&self) -> u64 {
        self.events_dropped
    }

    /// Queues `ev` for the application. The queue is bounded (`event_queue_len`): when full
    /// the oldest event is dropped and counted in [`Stack::events_dropped`]. A `Readable`
    /// for the socket whose `Readable` is already last in the queue adds nothing and is not
    /// queued twice: like `ep_poll_callback` on an item already on the ready list, the
    /// reader has not yet looked, so one wake-up covers both arrivals (and a burst of
    /// segments drained in one input costs one slot, not one per segment).
    pub(crate) fn push_event(&mut self, ev: Event) {
        if matches!(ev, Event::Readable(_)) && self.events.back() == Some(&ev) {
            return;
        }
        if self.events.len() >= self.cfg.event_queue_len {
            self.events.pop_front();
            self.events_dropped += 1;
        }
        self.events.push_back(ev);
    }

    /// Frees a received packet, counted under `reason` (`kfree_skb_reason`).
    pub(crate) fn drop_skb(&mut self, skb: SkBuff, reason: DropReason) {
        self.stats.drop(reason);
        self.pool.free(skb);
    }

    /// Frees a packet that was handled (`consume_skb`).
    pub(crate) fn consume_skb(&mut self, skb: SkBuff) {
        self.stats.consumed += 1;
        self.pool.free(skb);
    }

    /// Frees a locally generated or forwarded packet that was not sent, counted under
    /// `reason` in the transmit-side table.
    pub(crate) fn drop_tx(&mut self, skb: SkBuff, reason: DropReason) {
        self.stats.tx_drops[reason as usize] += 1;
        self.pool.free(skb);
    }

    /// `__netif_receive_skb_core` + `eth_type_trans`: classify, strip the link header and
    /// hand to the L3 handler.
    fn netif_receive(&mut self, mut skb: SkBuff) {
        let dev_idx = skb.dev;
        self.stats.rx_frames += 1;
        let Some(dev) = self.device_mut(dev_idx) else {
            self.drop_skb(skb, DropReason::DevReady);
            return;
        };
        if !dev.is_up() {
            dev.stats.rx_dropped += 1;
            self.drop_skb(skb, DropReason::DevReady);
            return;
        }
        dev.stats.rx_packets += 1;
        dev.stats.rx_bytes += skb.len() as u64;
        skb.reset_mac_header();
        match dev.kind {
            DeviceKind::Ethernet { mac } => {
                let Ok(frame) = ethernet::Frame::new_checked(skb.data()) else {
                    dev.stats.rx_errors += 1;
                    dev.stats.rx_length_errors += 1;
                    self.drop_skb(skb, DropReason::PktTooSmall);
                    return;
                };
                let dst = frame.dst_addr();
                let ethertype = frame.ethertype();
                let vlan = frame.vlan_tag();
                skb.pkt_type = if dst == mac {
                    PacketType::Host
                } else if dst.is_broadcast() {
                    PacketType::Broadcast
                } else if dst.is_multicast() {
                    dev.stats.multicast += 1;
                    PacketType::Multicast
                } else {
                    PacketType::OtherHost
                };
                skb.protocol = ethertype.0;
                skb.pull(ethernet::HEADER_LEN);
                if ethertype == EtherType::VLAN {
                    // skb_vlan_untag: with no VLAN device, a priority tag (VID 0) is
                    // received as untagged; any other VID is for someone else
                    // (PACKET_OTHERHOST), which IP and ARP then ignore.
                    let Some(tag) = vlan else {
                        dev.stats.rx_errors += 1;
                        dev.stats.rx_length_errors += 1;
                        self.drop_skb(skb, DropReason::PktTooSmall);
                        return;
                    };
                    if tag.vid != 0 {
                        skb.pkt_type = PacketType::OtherHost;
                    }
                    skb.protocol = tag.inner_ethertype.0;
                    skb.pull(4);
                }
            }
            DeviceKind::Ip | DeviceKind::Loopback => {
                // Loopback frames come back as PACKET_HOST, as eth_type_trans makes them.
                skb.pkt_type = PacketType::Host;
                skb.protocol = match skb.data().first().map(|b| b >> 4) {
                    Some(4) => EtherType::IPV4.0,
                    Some(6) => EtherType::IPV6.0,
                    _ => 0,
                };
            }
        }
        skb.reset_network_header();
        match EtherType(skb.protocol) {
            EtherType::IPV4 => self.ip_rcv(skb),
            EtherType::ARP => self.arp_rcv(skb),
            _ => {
                if let Some(d) = self.device_mut(dev_idx) {
                    d.stats.rx_dropped += 1;
                }
                self.drop_skb(skb, DropReason::UnhandledProto);
            }
        }
    }

    /// Delivers what the loopback device sent (the per-CPU backlog of `netif_rx`).
    #[inline]
    pub(crate) fn process_backlog(&mut self) {
        if !self.backlog.is_empty() {
            self.process_backlog_slow();
        }
    }

    /// The loop behind [`Stack::process_backlog`], out of line: most calls find the
    /// backlog empty.
    #[inline(never)]
    fn process_backlog_slow(&mut self) {
        // Bounded: each packet is processed once; replies generated on the way are looped
        // at most a few times (ICMP never answers ICMP errors).
        let mut budget = 64 + self.backlog.len() * 4;
        while let Some(skb) = self.backlog.pop_front() {
            if budget == 0 {
                // The frame was received by the loopback device: count it as received so
                // that rx_frames == consumed + total_drops holds.
                self.stats.rx_frames += 1;
                self.drop_skb(skb, DropReason::FullRing);
                continue;
            }
            budget -= 1;
            self.netif_receive(skb);
        }
    }

    /// `dev_queue_xmit`: frames the packet for `dev` and queues it for the driver, or loops
    /// it back. `dst_ha` is the resolved link-layer destination (Ethernet only).
    pub(crate) fn dev_queue_xmit(
        &mut self,
        mut skb: SkBuff,
        dev_idx: IfIndex,
        dst_ha: EthernetAddress,
        proto: EtherType,
    ) {
        let qlen = self.txq.len();
        let limit = self.cfg.tx_queue_len;
        let Some(dev) = self.device_mut(dev_idx) else {
            self.drop_tx(skb, DropReason::DevReady);
            return;
        };
        if !dev.is_up() {
            dev.stats.tx_dropped += 1;
            self.drop_tx(skb, DropReason::DevReady);
            return;
        }
        skb.dev = dev_idx;
        if dev.dummy {
            // dummy_xmit: counted as sent, then freed.
            dev.stats.tx_packets += 1;
            dev.stats.tx_bytes += skb.len() as u64;
            self.pool.free(skb);
            return;
        }
        match dev.kind {
            DeviceKind::Loopback => {
                dev.stats.tx_packets += 1;
                dev.stats.tx_bytes += skb.len() as u64;
                if self.backlog.len() >= limit {
                    self.drop_tx(skb, DropReason::FullRing);
                } else {
                    self.backlog.push_back(skb);
                }
                return;
            }
            DeviceKind::Ethernet { mac } => {
                let repr = ethernet::Repr {
                    src_addr: mac,
                    dst_addr: dst_ha,
                    ethertype: proto,
                };
                // `Repr::emit` writes all 14 bytes (both addresses and the EtherType), so
                // the area need not be zeroed first.
                let hdr = skb.push_for_overwrite(ethernet::HEADER_LEN);
                repr.emit(&mut ethernet::Frame::new_unchecked(hdr));
                skb.reset_mac_header();
            }
            DeviceKind::Ip => {}
        }
        if qlen >= limit {
            if let Some(d) = self.device_mut(dev_idx) {
                d.stats.tx_dropped += 1;
            }
            self.drop_tx(skb, DropReason::TxqFull);
            return;
        }
        self.txq.push_back(skb);
    }

    /// Name of a device, for messages.
    pub fn device_name(&self, idx: IfIndex) -> String {
        self.device(idx).map(|d| d.name.clone()).unwrap_or_default()
    }
}

#[cfg(test)]
mod vlan_tests {
    use alloc::vec;

    use linnet_wire::arp;
    use linnet_wire::ethernet::{EtherType, EthernetAddress};

    use super::*;

    const PEER_MAC: EthernetAddress = EthernetAddress([2, 0, 0, 0, 0, 2]);

    /// A broadcast ARP request for 10.0.0.1 from 10.0.0.2, behind an 802.1Q tag `vid`.
    fn tagged_arp_request(vid: u16) -> SkBuff {
        let mut f = vec![0u8; 18 + arp::PACKET_LEN];
        f[..6].copy_from_slice(&EthernetAddress::BROADCAST.0);
        f[6..12].copy_from_slice(&PEER_MAC.0);
        f[12..14].copy_from_slice(&EtherType::VLAN.0.to_be_bytes());
        f[14..16].copy_from_slice(&vid.to_be_bytes());
        f[16..18].copy_from_slice(&EtherType::ARP.0.to_be_bytes());
        arp::Repr {
            operation: arp::Operation::REQUEST,
            source_hardware_addr: PEER_MAC,
            source_protocol_addr: Ipv4Addr::new(10, 0, 0, 2),
            target_hardware_addr: EthernetAddress::default(),
            target_protocol_addr: Ipv4Addr::new(10, 0, 0, 1),
        }
        .emit(&mut arp::Packet::new_unchecked(&mut f[18..]));
        SkBuff::from_slice(&f)
    }

    /// The shared test stack: eth0 10.0.0.1/24 with MAC 02:00:00:00:00:01.
    fn stack() -> (Stack, IfIndex) {
        let h = crate::testutil::Harness::new();
        (h.stack, h.eth0)
    }

    /// `skb_vlan_untag` without a VLAN device: a priority tag (VID 0) is received as
    /// untagged, so the ARP request is answered.
    #[test]
    fn priority_tagged_frame_is_received_as_untagged() {
        let (mut s, dev) = stack();
        s.receive(Instant::ZERO, dev, tagged_arp_request(0));
        let (_, reply) = s.poll_transmit().expect("ARP reply");
        assert_eq!(&reply.data()[12..14], &EtherType::ARP.0.to_be_bytes());
        assert_eq!(s.stats().consumed, 1);
    }

    /// A frame for VLAN 5, with no VLAN device on top, is PACKET_OTHERHOST: not answered,
    /// dropped and counted.
    #[test]
    fn frame_for_another_vlan_is_not_for_us() {
        let (mut s, dev) = stack();
        s.receive(Instant::ZERO, dev, tagged_arp_request(5));
        assert!(s.poll_transmit().is_none());
        assert_eq!(
            s.stats().rx_frames,
            s.stats().consumed + s.stats().total_drops()
        );
        assert!(s.arp_table().get(dev, Ipv4Addr::new(10, 0, 0, 2)).is_none());
    }
}

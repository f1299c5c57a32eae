//! IPv4 output: the output route, header construction, IP ID selection, fragmentation,
//! and the hand-off to the neighbour layer.
//!
//! Linux: net/ipv4/route.c (`ip_route_output_key_hash_rcu`, `__mkroute_output`),
//! net/ipv4/ip_output.c (`ip_local_out`, `ip_output`, `ip_finish_output2`, `ip_do_fragment`),
//! net/ipv4/route.c (`__ip_select_ident`, `ip_idents_reserve`), net/ipv4/devinet.c
//! (`inet_select_addr`), net/ipv4/arp.c (`arp_constructor` for NOARP devices).
//! RFCs: RFC 791 §3.2 (fragmentation), RFC 6864 (the IP ID field), RFC 1122 §3.3.1.

use core::net::Ipv4Addr;

use linnet_wire::ethernet::{EtherType, EthernetAddress};
use linnet_wire::ipv4::{self as wire, Protocol};
use rand_core::RngCore;

use crate::dev::{DeviceKind, IfIndex};
use crate::errno::Errno;
use crate::neigh::Resolve;
use crate::route::{Dst, LocalKind, RouteKind};
use crate::skb::SkBuff;
use crate::stack::{Stack, LOOPBACK_IFINDEX};

use crate::stats::DropReason;
use linnet_wire::ipv4::is_lbcast;

/// `IP_MAX_MTU`: the largest route MTU (`ipv4_mtu` caps the device MTU with it).
const IP_MAX_MTU: u32 = 0xFFFF;

const IDENTS: usize = 2048;

/// The IP ID generator of `__ip_select_ident`: 2048 counters chosen by a keyed hash of
/// (daddr, saddr, protocol), each advanced by one per packet plus a random step that grows
/// with the time since its last use.
#[derive(Debug)]
pub(crate) struct IpIdents {
    key: u64,
    ids: alloc::vec::Vec<(u16, u64)>,
}

impl IpIdents {
    pub(crate) fn new(rng: &mut impl RngCore) -> IpIdents {
        let key = rng.next_u64();
        let ids = (0..IDENTS).map(|_| (rng.next_u32() as u16, 0u64)).collect();
        IpIdents { key, ids }
    }

    pub(crate) fn select(
        &mut self,
        now_ms: u64,
        daddr: Ipv4Addr,
        saddr: Ipv4Addr,
        proto: u8,
        rand: u32,
    ) -> u16 {
        let mut h = (u64::from(u32::from(daddr)) << 32 | u64::from(u32::from(saddr)))
            ^ self.key
            ^ u64::from(proto) << 17;
        h ^= h >> 33;
        h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
        h ^= h >> 33;
        let slot = &mut self.ids[(h as usize) % IDENTS];
        let delta = if slot.1 != now_ms && now_ms > slot.1 {
            let span = (now_ms - slot.1).min(u64::from(u32::MAX)) as u32;
            rand % span
        } else {
            0
        };
        slot.1 = now_ms;
        slot.0 = slot.0.wrapping_add(1).wrapping_add(delta as u16);
        slot.0
    }
}

/// Header fields for a locally generated datagram.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IpParams {
    pub daddr: Ipv4Addr,
    pub proto: Protocol,
    pub ttl: u8,
    pub tos: u8,
    /// Set DF when the datagram fits the path MTU (IP_PMTUDISC_WANT).
    pub pmtudisc_want: bool,
    /// The socket's own ID counter for connected DF traffic (`inet->inet_id`), if any.
    pub sock_id: Option<u16>,
    /// `skb->ignore_df`: `ip_append_data` sets it for a socket under `IP_PMTUDISC_WANT`
    /// (UDP and ping sockets by default), so a DF datagram without `sock_id` still takes
    /// the hashed ID (`ip_select_ident_segs`); without it (TCP's control socket, which is
    /// `IP_PMTUDISC_DO`) DF traffic with no socket counter carries ID 0.
    pub ignore_df: bool,
    /// `skb->mark`: the sending socket's `sk_mark` (`SO_MARK`), 0 for replies the stack
    /// makes itself (`IP4_REPLY_MARK` with `fwmark_reflect` off).
    pub mark: u32,
    /// `skb->priority`: the sending socket's `sk_priority` (`SO_PRIORITY`).
    pub priority: u32,
}

impl Stack {
    /// `inet_select_addr`: the primary address of `dev`, preferring one on the same subnet
    /// as `toward`.
    pub(crate) fn select_addr(&self, dev: IfIndex, toward: Ipv4Addr) -> Option<Ipv4Addr> {
        let mut first = None;
        for a in self.addrs.iter().filter(|a| a.dev == dev) {
            if a.cidr.contains_addr(&toward) {
                return Some(a.cidr.address);
            }
            first.get_or_insert(a.cidr.address);
        }
        first.or_else(|| {
            // Any address of the host, scope global (Linux falls back to other devices).
            self.addrs
                .iter()
                .find(|a| a.dev != LOOPBACK_IFINDEX)
                .map(|a| a.cidr.address)
        })
    }

    fn dev_usable(&self, idx: IfIndex) -> bool {
        self.device(idx).is_some_and(|d| d.is_up())
    }

    /// `ip_route_output_key`: the route for a locally generated packet. ENETUNREACH (and
    /// OutNoRoutes) when nothing matches.
    ///
    /// The result is a function of the local and main tables, the address list and the
    /// devices' state only, so it is remembered in the stack's `RouteCache` with the FIB
    /// generation ([`crate::route::Fib::genid`]), which every change to any of those bumps:
    /// a steady flow (a socket's datagrams, echo replies to one peer) pays for one lookup.
    /// Failures are not remembered (each one counts OutNoRoutes).
    #[inline(always)]
    pub(crate) fn route_output(
        &mut self,
        daddr: Ipv4Addr,
        saddr: Option<Ipv4Addr>,
    ) -> Result<Dst, Errno> {
        let genid = self.fib.genid();
        let mut dst = match self.rt_cache.output(genid, daddr, saddr) {
            Some(dst) => dst,
            None => {
                let dst = self.route_output_slow(daddr, saddr)?;
                self.rt_cache.store_output(genid, daddr, saddr, dst);
                dst
            }
        };
        // A learned path MTU (next-hop exception) lowers the route's.
        dst.mtu = self.ip_pmtu(daddr, dst.mtu);
        Ok(dst)
    }

    /// `ip_route_output_key` with `flowi4_oif` set (a socket bound with `SO_BINDTODEVICE`);
    /// `oif` 0 is [`Stack::route_output`]. ENODEV for a device that does not exist,
    /// ENETUNREACH for one that is down. Only routes through `oif` match: a local address
    /// is local when it belongs to `oif` (or `oif` is the loopback device), a limited
    /// broadcast or multicast goes out of `oif`, and when no main-table route leaves
    /// through `oif` the destination is taken to be on its link (Linux: "Apparently,
    /// routing tables are wrong. Assume, that the destination is on link.").
    ///
    /// Not cached: bound sockets are few, and the cache is keyed without the device.
    pub(crate) fn route_output_oif(
        &mut self,
        daddr: Ipv4Addr,
        saddr: Option<Ipv4Addr>,
        oif: u32,
    ) -> Result<Dst, Errno> {
        if oif == 0 {
            return self.route_output(daddr, saddr);
        }
        let dev = IfIndex(oif);
        let Some(d) = self.device(dev) else {
            return Err(Errno::ENODEV);
        };
        if !d.is_up() {
            return Err(Errno::ENETUNREACH);
        }
        let mtu = d.mtu.min(IP_MAX_MTU);
        let lo_mtu = self
            .device(LOOPBACK_IFINDEX)
            .map_or(65536, |d| d.mtu)
            .min(IP_MAX_MTU);
        let on_link = |st: &Stack, kind: RouteKind| Dst {
            dev,
            gateway: None,
            kind,
            src: saddr
                .or_else(|| st.select_addr(dev, daddr))
                .unwrap_or(Ipv4Addr::UNSPECIFIED),
            mtu,
        };
        if is_lbcast(daddr) {
            return Ok(on_link(self, RouteKind::Broadcast));
        }
        if daddr.is_multicast() {
            return Ok(on_link(self, RouteKind::Multicast));
        }
        let local = if daddr.is_loopback() {
            Some(LocalKind::Local(LOOPBACK_IFINDEX))
        } else {
            self.fib.local(daddr)
        };
        match local {
            Some(LocalKind::Local(owner)) if owner == dev || dev == LOOPBACK_IFINDEX => {
                return Ok(Dst {
                    dev: LOOPBACK_IFINDEX,
                    gateway: None,
                    kind: RouteKind::Local,
                    src: saddr.unwrap_or(daddr),
                    mtu: lo_mtu,
                });
            }
            Some(LocalKind::Broadcast(owner)) if owner == dev => {
                return Ok(on_link(self, RouteKind::Broadcast));
            }
            _ => {}
        }
        let route = self
            .fib
            .lookup(daddr, |d| d == dev && self.dev_usable(d))
            .copied();
        let Some(r) = route else {
            // Deviation from Linux: Linux delivers what it routes on-link through the
            // loopback device to us, whatever its destination (observed: socket_diff
            // `oif-loopback`); here it goes to `lo`, whose input drops it as not ours.
            return Ok(on_link(self, RouteKind::Unicast));
        };
        let src = saddr
            .or(r.prefsrc)
            .or_else(|| self.select_addr(r.dev, r.gateway.unwrap_or(daddr)))
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let mut dst = Dst {
            dev: r.dev,
            gateway: r.gateway,
            kind: RouteKind::Unicast,
            src,
            mtu,
        };
        dst.mtu = self.ip_pmtu(daddr, dst.mtu);
        Ok(dst)
    }

    /// `inet_iif`: the incoming device a socket lookup compares with a bound socket's
    /// device. A packet looped back to one of our addresses counts as arriving on the
    /// device that holds the address (Linux: the output route's `rt_iif` is the local
    /// route's device); one to 127.0.0.0/8 on the loopback device.
    ///
    /// Deviation from Linux: what a socket bound to the loopback device sends to an
    /// address of another device counts as arriving on the address's device (Linux: on
    /// the loopback device, the sender's `oif`).
    pub(crate) fn inet_iif(&self, dev: IfIndex, daddr: Ipv4Addr) -> u32 {
        if dev == LOOPBACK_IFINDEX && !daddr.is_loopback() {
            if let Some(LocalKind::Local(owner)) = self.fib.local(daddr) {
                return owner.0;
            }
        }
        dev.0
    }

    /// The lookup behind [`Stack::route_output`] (kept out of line so the cached path
    /// stays small).
    #[inline(never)]
    fn route_output_slow(
        &mut self,
        daddr: Ipv4Addr,
        saddr: Option<Ipv4Addr>,
    ) -> Result<Dst, Errno> {
        // ipv4_mtu: a route's MTU is at most IP_MAX_MTU (0xFFFF), the largest datagram the
        // total-length field can describe (the loopback device's MTU is 65536).
        let lo_mtu = self
            .device(LOOPBACK_IFINDEX)
            .map_or(65536, |d| d.mtu)
            .min(IP_MAX_MTU);
        // One local-table lookup serves both the RTN_LOCAL and the RTN_BROADCAST test.
        let local = if daddr.is_loopback() {
            None
        } else {
            self.fib.local(daddr)
        };
        if daddr.is_loopback() || matches!(local, Some(LocalKind::Local(_))) {
            // RTN_LOCAL without a chosen source: the destination itself is the source.
            let src = saddr.unwrap_or(daddr);
            return Ok(Dst {
                dev: LOOPBACK_IFINDEX,
                gateway: None,
                kind: RouteKind::Local,
                src,
                mtu: lo_mtu,
            });
        }
        if let Some(LocalKind::Broadcast(dev)) = local {
            let src = saddr
                .or_else(|| self.select_addr(dev, daddr))
                .unwrap_or(Ipv4Addr::UNSPECIFIED);
            let mtu = self.device(dev).map_or(1500, |d| d.mtu).min(IP_MAX_MTU);
            return Ok(Dst {
                dev,
                gateway: None,
                kind: RouteKind::Broadcast,
                src,
                mtu,
            });
        }
        let route = self.fib.lookup(daddr, |d| self.dev_usable(d)).copied();
        let Some(r) = route else {
            self.stats.ip.out_no_routes += 1;
            return Err(Errno::ENETUNREACH);
        };
        let src = saddr
            .or(r.prefsrc)
            .or_else(|| self.select_addr(r.dev, r.gateway.unwrap_or(daddr)))
            .unwrap_or(Ipv4Addr::UNSPECIFIED);
        let kind = if is_lbcast(daddr) {
            RouteKind::Broadcast
        } else if daddr.is_multicast() {
            RouteKind::Multicast
        } else {
            RouteKind::Unicast
        };
        let mtu = self.device(r.dev).map_or(1500, |d| d.mtu).min(IP_MAX_MTU);
        Ok(Dst {
            dev: r.dev,
            gateway: r.gateway,
            kind,
            src,
            mtu,
        })
    }

    /// The output route for a forwarded packet (no source selection, no OutNoRoutes).
    pub(crate) fn route_output_fwd(&mut self, daddr: Ipv4Addr, saddr: Ipv4Addr) -> Option<Dst> {
        let r = self.fib.lookup(daddr, |d| self.dev_usable(d)).copied()?;
        let mtu = self.device(r.dev).map_or(1500, |d| d.mtu).min(IP_MAX_MTU);
        Some(Dst {
            dev: r.dev,
            gateway: r.gateway,
            kind: RouteKind::Unicast,
            src: saddr,
            mtu,
        })
    }

    /// Pushes the IPv4 header in front of the transport data in `skb` and sends it
    /// (`ip_build_and_send_pkt` / `ip_push_pending_frames` -> `ip_local_out`).
    pub(crate) fn ip_send(&mut self, dst: Dst, p: IpParams, mut skb: SkBuff) {
        let total = skb.len() + wire::HEADER_LEN;
        let fits = total <= dst.mtu as usize;
        let df = p.pmtudisc_want && fits;
        let ident = match (df, p.sock_id) {
            (true, Some(id)) => id,
            (true, None) if !p.ignore_df => 0,
            _ => {
                let r = self.rand_u32();
                self.idents
                    .select(self.now.as_millis(), p.daddr, dst.src, p.proto.0, r)
            }
        };
        let repr = wire::Repr {
            src_addr: dst.src,
            dst_addr: p.daddr,
            next_header: p.proto,
            payload_len: skb.len(),
            hop_limit: p.ttl,
            tos: p.tos,
            ident,
            dont_frag: df,
        };
        skb.reset_transport_header();
        // `Repr::emit` writes all 20 header bytes, so the area need not be zeroed first.
        let hdr = skb.push_for_overwrite(wire::HEADER_LEN);
        repr.emit(&mut wire::Packet::new_unchecked(hdr));
        skb.reset_network_header();
        skb.mark = p.mark;
        skb.priority = p.priority;
        self.stats.ip.out_requests += 1;
        self.ip_output(dst, p.daddr, skb);
    }

    /// `ip_output` + `ip_finish_output`: fragments what exceeds the MTU, then hands each
    /// packet to the neighbour layer. The network header is at `data`.
    pub(crate) fn ip_output(&mut self, dst: Dst, daddr: Ipv4Addr, mut skb: SkBuff) {
        skb.dev = dst.dev;
        if skb.len() > dst.mtu as usize {
            self.ip_fragment(dst, daddr, skb);
        } else {
            self.ip_finish_output2(dst, daddr, skb);
        }
    }

    /// `ip_do_fragment` (slow path): splits the payload into 8-byte-aligned pieces, each
    /// with a copy of the header and MF on all but the last.
    fn ip_fragment(&mut self, dst: Dst, daddr: Ipv4Addr, skb: SkBuff) {
        let data = skb.data();
        let pkt = wire::Packet::new_unchecked(data);
        let hl = usize::from(pkt.header_len());
        if pkt.dont_frag() || hl > data.len() || dst.mtu as usize <= hl + 8 {
            self.stats.ip.frag_fails += 1;
            self.drop_tx(skb, DropReason::PktTooBig);
            return;
        }
        let payload_len = data.len() - hl;
        let chunk = (dst.mtu as usize - hl) & !7;
        let base_off = pkt.frag_offset() as usize;
        let base_mf = pkt.more_frags();
        let mut off = 0;
        while off < payload_len {
            let len = chunk.min(payload_len - off);
            let last = off + len == payload_len;
            let mut frag = self.pool.alloc(hl + len);
            {
                let data = skb.data();
                frag.put_slice(&data[..hl]);
                frag.put_slice(&data[hl + off..hl + off + len]);
            }
            frag.reset_network_header();
            frag.dev = dst.dev;
            // ip_copy_metadata.
            frag.mark = skb.mark;
            frag.priority = skb.priority;
            {
                let mut p = wire::Packet::new_unchecked(frag.data_mut());
                p.set_total_len((hl + len) as u16);
                p.set_flags_and_frag_offset(false, !last || base_mf, (base_off + off) as u16);
                p.fill_checksum();
            }
            self.stats.ip.frag_creates += 1;
            self.ip_finish_output2(dst, daddr, frag);
            off += len;
        }
        self.stats.ip.frag_oks += 1;
        self.pool.free(skb);
    }

    /// `ip_finish_output2`: the link-layer destination (neighbour, broadcast, multicast or
    /// NOARP), then `dev_queue_xmit`.
    #[inline]
    fn ip_finish_output2(&mut self, dst: Dst, daddr: Ipv4Addr, skb: SkBuff) {
        self.stats.ip.out_transmits += 1;
        self.stats.ip_ext.out_octets += skb.len() as u64;
        let Some(dev) = self.device(dst.dev) else {
            self.drop_tx(skb, DropReason::DevReady);
            return;
        };
        let (kind, uses_arp) = (dev.kind, dev.uses_arp());
        let bcast = dst.kind == RouteKind::Broadcast || is_lbcast(daddr);
        if bcast {
            self.stats.ip_ext.out_bcast_pkts += 1;
        }
        let ha = match kind {
            DeviceKind::Ethernet { mac } => {
                if bcast {
                    EthernetAddress::BROADCAST
                } else if daddr.is_multicast() {
                    linnet_wire::ipv4::ipv4_multicast_mac(daddr)
                } else if !uses_arp {
                    // arp_constructor: on a NOARP device the neighbour is NUD_NOARP with the
                    // device's own address.
                    mac
                } else {
                    let nexthop = dst.nexthop(daddr);
                    let r = self
                        .arp
                        .output(self.now, &self.cfg.neigh, dst.dev, nexthop, skb);
                    match r {
                        Resolve::Ready(ha, skb) if self.arp.actions.is_empty() => {
                            // The neighbour fast path: a Ready answer changes no counter
                            // but `lookups` and `hits` and leaves no work, so mirror just
                            // those two rather than all of them (run_neigh_actions). Every
                            // other change is mirrored by the run_neigh_actions that follows
                            // the table operation that made it; when this send happens
                            // inside that call (an error about a packet whose resolution
                            // failed), it mirrors them once its loop ends.
                            self.stats.arp.lookups = self.arp.stats.lookups;
                            self.stats.arp.hits = self.arp.stats.hits;
                            self.dev_queue_xmit(skb, dst.dev, ha, EtherType::IPV4);
                        }
                        r => {
                            if let Resolve::Ready(ha, skb) = r {
                                self.dev_queue_xmit(skb, dst.dev, ha, EtherType::IPV4);
                            }
                            self.run_neigh_actions();
                        }
                    }
                    return;
                }
            }
            DeviceKind::Loopback | DeviceKind::Ip => EthernetAddress::default(),
        };
        self.dev_queue_xmit(skb, dst.dev, ha, EtherType::IPV4);
    }
}

//! UDP: sockets, the port hash, receive-buffer accounting, and the errors UDP reports.
//!
//! Linux: net/ipv4/udp.c (`udp_lib_get_port`, `__udp4_lib_lookup`, `__udp4_lib_rcv`,
//! `__udp4_lib_mcast_deliver`, `__udp_enqueue_schedule_skb`, `udp_sendmsg`, `udp_recvmsg`,
//! `__udp4_lib_err`), net/ipv4/datagram.c (`__ip4_datagram_connect`), net/core/sock.c
//! (`sk_rcvbuf` doubling in `sock_setsockopt`).
//! RFCs: RFC 768, RFC 1122 §4.1.
//!
//! Lookup is by local port into a hash map; within a port's slot the best-scoring socket
//! wins as in `compute_score` (exact local address, connected peer). No path scans all
//! sockets.

use alloc::collections::{BTreeMap, VecDeque};
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use crate::hash::{map_with_seed, HashMap};
use linnet_wire::ipv4::Protocol;
use linnet_wire::udp as wire;

use crate::dev::IfIndex;
use crate::errno::Errno;
use crate::ipv4::output::IpParams;
use crate::route::{LocalKind, RouteKind};
use crate::skb::SkBuff;
use crate::socket::reuseport::ReuseportGroups;
use crate::stack::{Event, Stack};
use crate::stats::DropReason;

mod cork;
mod diag;
pub(crate) mod errqueue;

/// Largest UDP payload over IPv4 (65535 - 20 - 8).
pub const MAX_PAYLOAD: usize = 65_507;
/// Smallest receive buffer (`SOCK_MIN_RCVBUF` = `TCP_SKB_MIN_TRUESIZE`: 2048 plus an
/// aligned `struct sk_buff` on x86-64).
const SOCK_MIN_RCVBUF: usize = 2304;

/// A socket of the stack. Stale handles (closed sockets) are refused with EBADF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SocketHandle {
    idx: u32,
    gen: u32,
}

impl SocketHandle {
    /// A handle from its slot index and generation (the socket tables of each protocol).
    pub(crate) const fn from_parts(idx: u32, gen: u32) -> SocketHandle {
        SocketHandle { idx, gen }
    }

    /// The slot index and generation.
    pub(crate) const fn parts(self) -> (u32, u32) {
        (self.idx, self.gen)
    }
}

/// What `recv_from` returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RecvMeta {
    /// Bytes copied.
    pub len: usize,
    /// The datagram's full length (larger than `len` when truncated).
    pub datagram_len: usize,
    /// Sender.
    pub from: SocketAddrV4,
    /// The datagram did not fit (`MSG_TRUNC` in `msg_flags`).
    pub truncated: bool,
    /// What the IP layer saw of it, for `ip_cmsg_recv` (IP_PKTINFO, IP_TTL, IP_TOS).
    pub ip: RxIpInfo,
    /// The datagram's original destination address and port (`IP_ORIGDSTADDR`, which
    /// Linux hands out as a cmsg when `IP_RECVORIGDSTADDR` is on): for a transparent
    /// socket ([`Stack::udp_bind_transparent`]) the address the peer sent to.
    pub orig_dst: SocketAddrV4,
}

/// The per-datagram IP metadata kept beside each queued datagram (Linux reads it from the
/// skb's IP header and `IPCB`/`skb->skb_iif` at recvmsg time). A few bytes inline in the
/// receive queue's entry: no allocation per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RxIpInfo {
    /// The device it arrived on (`ipi_ifindex`).
    pub ifindex: u32,
    /// The IP destination address (`ipi_addr`).
    pub daddr: Ipv4Addr,
    /// The UDP destination port (with `daddr`, `IP_ORIGDSTADDR`); 0 where there is none.
    pub dport: u16,
    /// The TTL of its IP header.
    pub ttl: u8,
    /// The TOS byte of its IP header.
    pub tos: u8,
    /// It was addressed to a broadcast address (for `ipi_spec_dst`).
    pub bcast: bool,
    /// IP_PKTINFO was on when it was queued (`ipv4_pktinfo_prepare`'s `prepare`): only
    /// then does Linux record `ipi_ifindex` and `ipi_spec_dst`; otherwise both read 0.
    pub pktinfo_prepared: bool,
}

/// Queue entry: the datagram, its sender, its IP metadata.
type RxEntry = (SkBuff, SocketAddrV4, RxIpInfo);

#[derive(Debug)]
struct UdpSock {
    local: SocketAddrV4,
    bound: bool,
    /// The address came from bind() (`SOCK_BINDADDR_LOCK`): a disconnect keeps it.
    addr_locked: bool,
    /// The port came from bind() (`SOCK_BINDPORT_LOCK`): a disconnect keeps it.
    port_locked: bool,
    /// `SO_REUSEADDR` (`sk_reuse`): sockets that all set it may bind the same address and
    /// port; unicast goes to the one bound last.
    reuse: bool,
    remote: Option<SocketAddrV4>,
    rxq: VecDeque<RxEntry>,
    /// `sk_error_queue` (filled with IP_RECVERR on; see [`errqueue`]).
    errq: VecDeque<errqueue::ErrEntry>,
    /// `inet->recverr` (IP_RECVERR).
    pub(crate) recverr: bool,
    /// Errors not queued because the receive buffer was full.
    errq_drops: u64,
    /// `inet->cmsg_flags`: IP_CMSG_PKTINFO / IP_CMSG_TTL / IP_CMSG_TOS /
    /// IP_CMSG_ORIGDSTADDR bits.
    pub(crate) cmsg_flags: u8,
    /// The IP metadata of the datagram last read or peeked, for the cmsgs of that read.
    last_rx: Option<RxIpInfo>,
    /// UDP_CORK / MSG_MORE state (`up->corkflag`, `up->pending`).
    pub(crate) cork: cork::Cork,
    /// `IP_TRANSPARENT` (`inet->transparent`): may bind a non-local address and send from
    /// it.
    transparent: bool,
    /// The device whose accept-any UDP traffic this socket takes.
    tproxy_dev: Option<IfIndex>,
    /// `sk_bound_dev_if` (`SO_BINDTODEVICE`): 0 for none. A bound socket only receives what
    /// arrives on that device and sends through it.
    bound_dev_if: u32,
    /// `sk_reuseport` (`SO_REUSEPORT`).
    reuseport: bool,
    /// The reuseport group this socket joined when it bound (`sk_reuseport_cb`).
    reuseport_group: Option<u32>,
    rmem: usize,
    rcvbuf: usize,
    broadcast: bool,
    err: Option<Errno>,
    drops: u64,
    ttl: Option<u8>,
    tos: u8,
    /// `sk_mark` (`SO_MARK`) and `sk_priority` (`SO_PRIORITY`): every datagram's
    /// `skb->mark` and `skb->priority`.
    mark: u32,
    priority: u32,
    inet_id: u16,
}

#[derive(Debug)]
struct Slot {
    gen: u32,
    sock: Option<UdpSock>,
}

/// The UDP socket table (`udp_table`): sockets in a slab, a hash by local port.
#[derive(Debug)]
pub(crate) struct UdpTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_port: HashMap<u16, Vec<u32>>,
    count: usize,
    /// Reused list of sockets a broadcast goes to.
    scratch: Vec<u32>,
    /// Transparent accept-any sockets by device (at most one per device).
    tproxy: BTreeMap<IfIndex, u32>,
    /// `SO_REUSEPORT` groups.
    pub(crate) reuseport: ReuseportGroups,
    /// Sockets bound to a device: while none is, receive skips working out the incoming
    /// device of looped-back packets.
    bound_devs: usize,
}

/// Who asks for a port, for the conflict rules of `udp_lib_lport_inuse`.
#[derive(Clone, Copy, Debug)]
struct Binder {
    /// The asking socket's slot (never in conflict with itself).
    idx: u32,
    addr: Ipv4Addr,
    reuse: bool,
    reuseport: bool,
    dev: u32,
}

impl UdpTable {
    pub(crate) fn with_seed(seed: u64) -> UdpTable {
        UdpTable {
            slots: Vec::new(),
            free: Vec::new(),
            by_port: map_with_seed(seed),
            count: 0,
            scratch: Vec::new(),
            tproxy: BTreeMap::new(),
            reuseport: ReuseportGroups::with_seed(seed),
            bound_devs: 0,
        }
    }

    /// A transparent UDP socket claims what arrives on `dev`.
    pub(crate) fn tproxy_has(&self, dev: IfIndex) -> bool {
        self.tproxy.contains_key(&dev)
    }

    /// The device is gone: its transparent socket no longer claims anything.
    pub(crate) fn tproxy_forget(&mut self, dev: IfIndex) {
        self.tproxy.remove(&dev);
    }

    fn get(&self, h: SocketHandle) -> Result<&UdpSock, Errno> {
        match self.slots.get(h.idx as usize) {
            Some(Slot { gen, sock: Some(s) }) if *gen == h.gen => Ok(s),
            _ => Err(Errno::EBADF),
        }
    }

    fn get_mut(&mut self, h: SocketHandle) -> Result<&mut UdpSock, Errno> {
        match self.slots.get_mut(h.idx as usize) {
            Some(Slot { gen, sock: Some(s) }) if *gen == h.gen => Ok(s),
            _ => Err(Errno::EBADF),
        }
    }

    fn handle(&self, idx: u32) -> SocketHandle {
        SocketHandle {
            idx,
            gen: self.slots[idx as usize].gen,
        }
    }

    /// `udp_lib_lport_inuse`: a socket on `port` whose address overlaps the binder's and
    /// whose bound device is the binder's or either has none, unless both have
    /// `SO_REUSEADDR`, or both have `SO_REUSEPORT` (port sharing; the caller passes
    /// `reuseport: false` for ephemeral ports, as Linux's bitmap search keeps its own
    /// rule).
    fn port_in_use(&self, port: u16, b: Binder) -> bool {
        self.by_port.get(&port).is_some_and(|v| {
            v.iter().any(|&i| {
                i != b.idx
                    && self.slots[i as usize].sock.as_ref().is_some_and(|s| {
                        let a = *s.local.ip();
                        let overlap = a.is_unspecified() || b.addr.is_unspecified() || a == b.addr;
                        let dev = s.bound_dev_if == 0 || b.dev == 0 || s.bound_dev_if == b.dev;
                        overlap && dev && !(b.reuse && s.reuse) && !(b.reuseport && s.reuseport)
                    })
            })
        })
    }

    /// `udp_reuseport_add_sock`: the group of a socket on the same port, address and device
    /// with `SO_REUSEPORT`, joined; or a new group. False when the group is full.
    fn reuseport_join(&mut self, idx: u32, local: SocketAddrV4, dev: u32) -> bool {
        let mut found = None;
        if let Some(v) = self.by_port.get(&local.port()) {
            for &i in v.iter().rev() {
                if i == idx {
                    continue;
                }
                if let Some(s) = self.slots[i as usize].sock.as_ref() {
                    if s.reuseport && s.bound_dev_if == dev && *s.local.ip() == *local.ip() {
                        if let Some(g) = s.reuseport_group {
                            found = Some(g);
                            break;
                        }
                    }
                }
            }
        }
        let gid = match found {
            Some(g) => {
                if !self.reuseport.add(g, idx) {
                    return false;
                }
                g
            }
            None => self.reuseport.alloc(idx),
        };
        if let Some(s) = self.slots[idx as usize].sock.as_mut() {
            s.reuseport_group = Some(gid);
        }
        true
    }

    /// Leaves the reuseport group, if any.
    fn reuseport_leave(&mut self, idx: u32) {
        let Some(s) = self
            .slots
            .get_mut(idx as usize)
            .and_then(|s| s.sock.as_mut())
        else {
            return;
        };
        if let Some(g) = s.reuseport_group.take() {
            self.reuseport.detach(g, idx);
        }
    }

    /// `__udp4_lib_lookup`: the best socket in the port's slot for a datagram
    /// `saddr:sport -> daddr:dport`.
    // Inlined into udp_rcv, the receive fast path (udp_err is the other, rare caller).
    ///
    /// `dif` is the incoming device (`inet_iif`); `None` matches any bound device (the
    /// ICMP error path). Scores as `compute_score`: a socket bound to another device does
    /// not match, one bound to `dif` scores higher; an exact local address beats the
    /// wildcard whatever else matches (Linux looks the exact address up first). The best
    /// socket's `SO_REUSEPORT` group, if it has one, picks the member by the flow hash
    /// (`lookup_reuseport`).
    #[inline(always)]
    fn lookup(
        &self,
        saddr: Ipv4Addr,
        sport: u16,
        daddr: Ipv4Addr,
        dport: u16,
        dif: Option<u32>,
    ) -> Option<u32> {
        let slot = self.by_port.get(&dport)?;
        let mut best: Option<(u32, u32)> = None;
        // Newest first, as Linux adds sockets at the head of the slot: among sockets sharing
        // an address with SO_REUSEADDR, the one bound last wins.
        for &i in slot.iter().rev() {
            let Some(s) = self.slots[i as usize].sock.as_ref() else {
                continue;
            };
            let mut score = 2;
            let la = *s.local.ip();
            if !la.is_unspecified() {
                if la != daddr {
                    continue;
                }
                score += 16;
            }
            if let Some(r) = s.remote {
                if *r.ip() != saddr || r.port() != sport {
                    continue;
                }
                score += 8;
            }
            if s.bound_dev_if != 0 {
                if dif.is_some_and(|d| d != s.bound_dev_if) {
                    continue;
                }
                score += 4;
            }
            if best.is_none_or(|(_, b)| score > b) {
                best = Some((i, score));
            }
        }
        let (i, _) = best?;
        let s = self.slots[i as usize].sock.as_ref()?;
        match (s.reuseport_group, s.remote) {
            (Some(g), None) => {
                let hash = self.reuseport.flow_hash(saddr, sport, daddr, dport);
                // Members connected to a peer are found by their score, not by the hash
                // (Linux rescores when a group has connections).
                let pick = self.reuseport.select(g, hash, |m| {
                    self.slots[m as usize]
                        .sock
                        .as_ref()
                        .is_some_and(|o| o.remote.is_none())
                });
                Some(pick.unwrap_or(i))
            }
            _ => Some(i),
        }
    }
}

impl Stack {
    /// `socket(AF_INET, SOCK_DGRAM, 0)`. ENFILE-like EMFILE past `max_sockets`.
    pub fn udp_socket(&mut self) -> Result<SocketHandle, Errno> {
        if self.udp.count >= self.cfg.max_sockets {
            return Err(Errno::EMFILE);
        }
        let inet_id = self.rng_u16();
        let sock = UdpSock {
            local: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            bound: false,
            addr_locked: false,
            port_locked: false,
            reuse: false,
            remote: None,
            rxq: VecDeque::new(),
            errq: VecDeque::new(),
            recverr: false,
            errq_drops: 0,
            cmsg_flags: 0,
            last_rx: None,
            cork: cork::Cork::default(),
            transparent: false,
            tproxy_dev: None,
            bound_dev_if: 0,
            reuseport: false,
            reuseport_group: None,
            rmem: 0,
            rcvbuf: self.cfg.rmem_default,
            broadcast: false,
            err: None,
            drops: 0,
            ttl: None,
            tos: 0,
            mark: 0,
            priority: 0,
            inet_id,
        };
        let t = &mut self.udp;
        let idx = match t.free.pop() {
            Some(i) => {
                t.slots[i as usize].sock = Some(sock);
                i
            }
            None => {
                t.slots.push(Slot {
                    gen: 0,
                    sock: Some(sock),
                });
                (t.slots.len() - 1) as u32
            }
        };
        t.count += 1;
        Ok(t.handle(idx))
    }

    fn rng_u16(&mut self) -> u16 {
        self.rand_u32() as u16
    }

    /// `bind`: EINVAL if already bound, EADDRNOTAVAIL for an address that is not ours,
    /// EADDRINUSE for a taken port. Port 0 draws an ephemeral port.
    pub fn udp_bind(&mut self, h: SocketHandle, addr: SocketAddrV4) -> Result<(), Errno> {
        if self.udp.get(h)?.bound {
            return Err(Errno::EINVAL);
        }
        let ip = *addr.ip();
        let ok = ip.is_unspecified()
            || ip.is_multicast()
            || ip.is_broadcast()
            || self.fib.local(ip).is_some()
            || ip.is_loopback()
            || self.cfg.ip_nonlocal_bind
            || self.udp.get(h)?.transparent;
        if !ok {
            return Err(Errno::EADDRNOTAVAIL);
        }
        let s = self.udp.get(h)?;
        let b = Binder {
            idx: h.idx,
            addr: ip,
            reuse: s.reuse,
            reuseport: s.reuseport,
            dev: s.bound_dev_if,
        };
        let port = if addr.port() == 0 {
            self.ephemeral_port(h, ip)?
        } else if self.udp.port_in_use(addr.port(), b) {
            return Err(Errno::EADDRINUSE);
        } else {
            addr.port()
        };
        let local = SocketAddrV4::new(ip, port);
        // udp_lib_get_port: a socket with SO_REUSEPORT joins (or starts) its group before
        // it is hashed.
        if b.reuseport && !self.udp.reuseport_join(h.idx, local, b.dev) {
            return Err(Errno::EADDRINUSE);
        }
        self.udp_hash(h, local)?;
        let s = self.udp.get_mut(h)?;
        s.addr_locked = !ip.is_unspecified();
        s.port_locked = addr.port() != 0;
        Ok(())
    }

    fn udp_hash(&mut self, h: SocketHandle, local: SocketAddrV4) -> Result<(), Errno> {
        let s = self.udp.get_mut(h)?;
        s.local = local;
        s.bound = true;
        self.udp
            .by_port
            .entry(local.port())
            .or_default()
            .push(h.idx);
        Ok(())
    }

    /// `udp_lib_get_port` with port 0: a random start in `ip_local_port_range`, then the
    /// next free port. EADDRINUSE when the range is exhausted.
    ///
    /// Deviation from Linux: an ephemeral port is never shared, not even by `SO_REUSEPORT`
    /// sockets (Linux's bitmap search lets a reuseport socket land on a reuseport group's
    /// port).
    fn ephemeral_port(&mut self, h: SocketHandle, ip: Ipv4Addr) -> Result<u16, Errno> {
        let (lo, hi) = self.cfg.ip_local_port_range;
        let span = u32::from(hi.saturating_sub(lo)) + 1;
        let start = self.rand_u32() % span;
        let b = Binder {
            idx: h.idx,
            addr: ip,
            reuse: false,
            reuseport: false,
            dev: self.udp.get(h).map_or(0, |s| s.bound_dev_if),
        };
        for i in 0..span {
            let port = lo + ((start + i) % span) as u16;
            if !self.udp.port_in_use(port, b) {
                return Ok(port);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    /// `setsockopt(IP_TRANSPARENT)` (SOL_IP 19): the socket may bind an address that is
    /// not local (EADDRNOTAVAIL otherwise) and send from it, so a reply can leave from a
    /// transparent flow's original destination.
    /// The capability check (EPERM without CAP_NET_RAW / CAP_NET_ADMIN) is the socket
    /// layer's (`sys_setsockopt` with the socket's `privileged` mark).
    pub fn udp_set_transparent(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        self.udp.get_mut(h)?.transparent = on;
        Ok(())
    }

    /// `IP_TRANSPARENT`.
    pub fn udp_transparent(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(self.udp.get(h)?.transparent)
    }

    /// A transparent accept-any UDP socket for device `dev` (Linux: `IP_TRANSPARENT` plus
    /// an nftables `tproxy` rule on `dev`): binds `addr` as [`Stack::udp_bind`] (with
    /// `IP_TRANSPARENT` set), and from then on every unicast datagram arriving on `dev` that
    /// no ordinary socket matches is queued here, whatever its destination; the input
    /// route treats such UDP packets as local for `dev` only. [`RecvMeta::orig_dst`] is
    /// the destination the peer used. ENODEV for an unknown device, EADDRINUSE when `dev`
    /// already has one; closing the socket ends the mode.
    pub fn udp_bind_transparent(
        &mut self,
        h: SocketHandle,
        addr: SocketAddrV4,
        dev: IfIndex,
    ) -> Result<(), Errno> {
        if self.device(dev).is_none() {
            return Err(Errno::ENODEV);
        }
        if self.udp.tproxy.contains_key(&dev) {
            return Err(Errno::EADDRINUSE);
        }
        self.udp.get_mut(h)?.transparent = true;
        self.udp_bind(h, addr)?;
        self.udp.get_mut(h)?.tproxy_dev = Some(dev);
        self.udp.tproxy.insert(dev, h.idx);
        Ok(())
    }

    /// `connect`: sets the peer (`ip4_datagram_connect`), binding the source address and an
    /// ephemeral port if needed. ENETUNREACH without a route.
    pub fn udp_connect(&mut self, h: SocketHandle, peer: SocketAddrV4) -> Result<(), Errno> {
        self.udp.get(h)?;
        let oif = self.udp.get(h)?.bound_dev_if;
        let dst = self.route_output_oif(*peer.ip(), None, oif)?;
        if dst.kind == RouteKind::Broadcast && !self.udp.get(h)?.broadcast {
            return Err(Errno::EACCES);
        }
        if !self.udp.get(h)?.bound {
            let port = self.ephemeral_port(h, dst.src)?;
            self.udp_hash(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))?;
        }
        let s = self.udp.get_mut(h)?;
        if s.local.ip().is_unspecified() {
            // The source address is fixed by connect (inet_rcv_saddr set from the route).
            let port = s.local.port();
            s.local = SocketAddrV4::new(dst.src, port);
        }
        s.remote = Some(peer);
        Ok(())
    }

    /// `SO_BROADCAST`.
    pub fn udp_set_broadcast(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        self.udp.get_mut(h)?.broadcast = on;
        Ok(())
    }

    /// `SO_RCVBUF`: doubled as Linux does, capped at `rmem_max * 2`, floored at
    /// `SOCK_MIN_RCVBUF`.
    pub fn udp_set_rcvbuf(&mut self, h: SocketHandle, bytes: usize) -> Result<(), Errno> {
        let max = self.cfg.rmem_max;
        self.udp.get_mut(h)?.rcvbuf = (bytes.min(max) * 2).max(SOCK_MIN_RCVBUF);
        Ok(())
    }

    /// `SO_RCVBUF` as getsockopt reports it.
    pub fn udp_rcvbuf(&self, h: SocketHandle) -> Result<usize, Errno> {
        Ok(self.udp.get(h)?.rcvbuf)
    }

    /// `IP_TTL` (None restores the default).
    pub fn udp_set_ttl(&mut self, h: SocketHandle, ttl: Option<u8>) -> Result<(), Errno> {
        if ttl == Some(0) {
            return Err(Errno::EINVAL);
        }
        self.udp.get_mut(h)?.ttl = ttl;
        Ok(())
    }

    /// Open UDP sockets.
    pub fn udp_socket_count(&self) -> usize {
        self.udp.count
    }

    /// `getsockname`.
    pub fn udp_local_addr(&self, h: SocketHandle) -> Result<SocketAddrV4, Errno> {
        Ok(self.udp.get(h)?.local)
    }

    /// Datagrams dropped at this socket (`/proc/net/udp` "drops").
    pub fn udp_drops(&self, h: SocketHandle) -> Result<u64, Errno> {
        Ok(self.udp.get(h)?.drops)
    }

    /// `sk_err` is set (for `datagram_poll`'s POLLERR; not cleared).
    pub(crate) fn udp_err_pending(&self, h: SocketHandle) -> Result<bool, Errno> {
        let s = self.udp.get(h)?;
        Ok(s.err.is_some() || !s.errq.is_empty())
    }

    /// The IP metadata of the datagram last read or peeked.
    pub fn udp_last_rx(&self, h: SocketHandle) -> Result<Option<RxIpInfo>, Errno> {
        Ok(self.udp.get(h)?.last_rx)
    }

    /// Datagrams waiting to be read.
    pub fn udp_rx_queued(&self, h: SocketHandle) -> Result<usize, Errno> {
        Ok(self.udp.get(h)?.rxq.len())
    }

    /// `close`: frees queued datagrams and the port.
    pub fn udp_close(&mut self, h: SocketHandle) -> Result<(), Errno> {
        self.udp.get(h)?;
        self.udp.reuseport_leave(h.idx);
        let slot = &mut self.udp.slots[h.idx as usize];
        let Some(mut s) = slot.sock.take() else {
            return Err(Errno::EBADF);
        };
        slot.gen = slot.gen.wrapping_add(1);
        self.udp.free.push(h.idx);
        self.udp.count -= 1;
        if s.bound_dev_if != 0 {
            self.udp.bound_devs = self.udp.bound_devs.saturating_sub(1);
        }
        if s.bound {
            if let Some(v) = self.udp.by_port.get_mut(&s.local.port()) {
                v.retain(|&i| i != h.idx);
                if v.is_empty() {
                    self.udp.by_port.remove(&s.local.port());
                }
            }
        }
        if let Some(dev) = s.tproxy_dev {
            if self.udp.tproxy.get(&dev) == Some(&h.idx) {
                self.udp.tproxy.remove(&dev);
            }
        }
        for (skb, _, _) in s.rxq.drain(..) {
            self.pool.free(skb);
        }
        for e in s.errq.drain(..) {
            self.pool.free(e.skb);
        }

        Ok(())
    }

    /// `sendto` / `send`: one datagram to `to`, or to the connected peer. Errors as Linux:
    /// EMSGSIZE over 65507 bytes, EDESTADDRREQ unconnected without `to`, EINVAL for port 0,
    /// EACCES for broadcast without SO_BROADCAST, ENETUNREACH without a route, and a pending
    /// error (ECONNREFUSED after a port unreachable) reported once.
    pub fn udp_send_to(
        &mut self,
        h: SocketHandle,
        payload: &[u8],
        to: Option<SocketAddrV4>,
    ) -> Result<usize, Errno> {
        let (daddr, connected, dst) = self.udp_send_prepare(h, payload.len(), to)?;
        self.udp_emit(h, payload, daddr, connected, dst)
    }

    /// `udp_sendmsg`'s checks before `ip_append_data`: bind, length, address, route,
    /// broadcast permission, size limit, pending error. Returns the destination, whether
    /// it is the connected peer, and the route.
    pub(crate) fn udp_send_prepare(
        &mut self,
        h: SocketHandle,
        plen: usize,
        to: Option<SocketAddrV4>,
    ) -> Result<(SocketAddrV4, bool, crate::route::Dst), Errno> {
        // inet_send_prepare binds an unbound socket to an ephemeral port first, so even a
        // send that then fails leaves the socket bound, as on Linux.
        if !self.udp.get(h)?.bound {
            let port = self.ephemeral_port(h, Ipv4Addr::UNSPECIFIED)?;
            self.udp_hash(h, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))?;
        }
        // Checks in udp_sendmsg's order: length, address, route, broadcast, then
        // ip_append_data's size limit and the pending error (sock_alloc_send_pskb).
        let s = self.udp.get_mut(h)?;
        if plen > 0xffff {
            return Err(Errno::EMSGSIZE);
        }
        let daddr = match to {
            Some(a) => {
                if a.port() == 0 {
                    return Err(Errno::EINVAL);
                }
                a
            }
            None => s.remote.ok_or(Errno::EDESTADDRREQ)?,
        };
        let connected = to.is_none();
        let saddr =
            (!s.local.ip().is_unspecified() && !s.local.ip().is_multicast()).then(|| *s.local.ip());
        let oif = s.bound_dev_if;
        let dst = self.route_output_oif(*daddr.ip(), saddr, oif)?;
        // One more look at the socket (route_output needed the whole stack): broadcast
        // permission, then the pending error and the ID counter.
        let s = self.udp.get_mut(h)?;
        if dst.kind == RouteKind::Broadcast && !s.broadcast {
            return Err(Errno::EACCES);
        }
        if plen > MAX_PAYLOAD {
            return Err(Errno::EMSGSIZE);
        }
        if let Some(e) = s.err.take() {
            return Err(e);
        }
        Ok((daddr, connected, dst))
    }

    /// Build and send one datagram (`udp_send_skb`).
    pub(crate) fn udp_emit(
        &mut self,
        h: SocketHandle,
        payload: &[u8],
        daddr: SocketAddrV4,
        connected: bool,
        dst: crate::route::Dst,
    ) -> Result<usize, Errno> {
        let s = self.udp.get_mut(h)?;
        let sport = s.local.port();
        let ttl = s.ttl.unwrap_or(self.cfg.ip_default_ttl);
        let (tos, mark, priority) = (s.tos, s.mark, s.priority);
        let sock_id = if connected {
            let id = s.inet_id;
            s.inet_id = s.inet_id.wrapping_add(1);
            Some(id)
        } else {
            None
        };
        let len = wire::HEADER_LEN + payload.len();
        let mut skb = self.pool.alloc(len);
        {
            // Every byte of the area is written below: the payload by the copy, the 8 header
            // bytes (ports, length, checksum) by `emit_header`. So it need not be zeroed.
            let area = skb.put_for_overwrite(len);
            area[wire::HEADER_LEN..].copy_from_slice(payload);
            let mut pkt = wire::Packet::new_unchecked(area);
            wire::Repr {
                src_port: sport,
                dst_port: daddr.port(),
            }
            .emit_header(&mut pkt, payload.len());
            pkt.fill_checksum_v4(dst.src, *daddr.ip());
        }
        self.stats.udp.out_datagrams += 1;
        let p = IpParams {
            daddr: *daddr.ip(),
            proto: Protocol::UDP,
            ttl,
            tos,
            pmtudisc_want: true,
            sock_id,
            ignore_df: true,
            mark,
            priority,
        };
        self.ip_send(dst, p, skb);
        self.process_backlog();
        Ok(payload.len())
    }

    /// `recvfrom`: the next datagram, truncated to `buf` (MSG_TRUNC reported). EAGAIN when
    /// none is queued; a pending error is reported first.
    pub fn udp_recv_from(&mut self, h: SocketHandle, buf: &mut [u8]) -> Result<RecvMeta, Errno> {
        let s = self.udp.get_mut(h)?;
        if let Some(e) = s.err.take() {
            return Err(e);
        }
        let Some((skb, from, ip)) = s.rxq.pop_front() else {
            return Err(Errno::EAGAIN);
        };
        s.rmem = s.rmem.saturating_sub(skb.truesize());
        s.last_rx = Some(ip);
        let data = skb.data();
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        let meta = RecvMeta {
            len: n,
            datagram_len: data.len(),
            from,
            truncated: n < data.len(),
            ip,
            orig_dst: SocketAddrV4::new(ip.daddr, ip.dport),
        };
        self.stats.udp.in_datagrams += 1;
        self.pool.free(skb);
        Ok(meta)
    }

    /// `__udp4_lib_rcv`: `skb.data()` is at the UDP header.
    pub(crate) fn udp_rcv(&mut self, mut skb: SkBuff, bcast: bool) {
        let Some(net) = skb.network_header() else {
            self.drop_skb(skb, DropReason::NotSpecified);
            return;
        };
        let ip = linnet_wire::ipv4::Packet::new_unchecked(net);
        let (saddr, daddr) = (ip.src_addr(), ip.dst_addr());
        let mut rx = RxIpInfo {
            ifindex: skb.dev.0,
            daddr,
            ttl: ip.hop_limit(),
            tos: ip.tos(),
            bcast,
            pktinfo_prepared: false,
            dport: 0,
        };
        let data = skb.data();
        if data.len() < wire::HEADER_LEN {
            self.stats.udp.in_errors += 1;
            self.drop_skb(skb, DropReason::PktTooSmall);
            return;
        }
        let pkt = wire::Packet::new_unchecked(data);
        let ulen = usize::from(pkt.len());
        if ulen > data.len() || ulen < wire::HEADER_LEN {
            self.stats.udp.in_errors += 1;
            self.drop_skb(skb, DropReason::PktTooSmall);
            return;
        }
        let (sport, dport) = (pkt.src_port(), pkt.dst_port());
        rx.dport = dport;
        skb.trim(ulen);
        let pkt = wire::Packet::new_unchecked(skb.data());
        // Deviation from Linux: the checksum is verified here rather than lazily at copy
        // time; the counters (InCsumErrors + InErrors) are the same.
        if !skb.csum_unnecessary() && !pkt.verify_checksum_v4(saddr, daddr) {
            self.stats.udp.in_csum_errors += 1;
            self.stats.udp.in_errors += 1;
            self.drop_skb(skb, DropReason::UdpCsum);
            return;
        }
        // route_input already classified the destination (`bcast`): 255.255.255.255 and
        // every local-table broadcast entry come here as broadcasts. The one case it did not
        // look up is a loopback destination arriving on `lo` (its shortcut to local
        // delivery), which the local table may still list as some device's broadcast.
        let is_bcast = bcast
            || daddr.is_broadcast()
            || (daddr.is_loopback()
                && matches!(self.fib.local(daddr), Some(LocalKind::Broadcast(_))));
        if is_bcast {
            rx.bcast = true;
            let dif = self.inet_iif(skb.dev, daddr);
            self.udp_mcast_deliver(skb, (saddr, sport), (daddr, dport), dif, rx);
            return;
        }
        // No ordinary socket: the transparent socket of the arriving device, if any (the
        // nftables `tproxy` rule's redirect).
        let dif = if self.udp.bound_devs == 0 {
            None
        } else {
            Some(self.inet_iif(skb.dev, daddr))
        };
        let found = self
            .udp
            .lookup(saddr, sport, daddr, dport, dif)
            .or_else(|| self.udp.tproxy.get(&skb.dev).copied());
        match found {
            Some(idx) => {
                skb.pull(wire::HEADER_LEN);
                self.udp_queue_rcv(idx, skb, SocketAddrV4::new(saddr, sport), rx);
            }
            None => {
                self.stats.udp.no_ports += 1;
                self.icmp_send(
                    &skb,
                    linnet_wire::icmpv4::Message::DST_UNREACHABLE.0,
                    linnet_wire::icmpv4::unreach::PORT,
                    0,
                    true,
                );
                self.drop_skb(skb, DropReason::NoSocket);
            }
        }
    }

    /// `__udp4_lib_mcast_deliver`: a copy to every matching socket; none -> IgnoredMulti.
    /// `dif` is the incoming device: a socket bound to another one gets no copy.
    fn udp_mcast_deliver(
        &mut self,
        mut skb: SkBuff,
        (saddr, sport): (Ipv4Addr, u16),
        (daddr, dport): (Ipv4Addr, u16),
        dif: u32,
        rx: RxIpInfo,
    ) {
        // Every matching socket gets a copy (no cap, as in Linux); the scratch list keeps its
        // allocation between datagrams.
        let mut targets = core::mem::take(&mut self.udp.scratch);
        targets.clear();
        if let Some(slot) = self.udp.by_port.get(&dport) {
            for &i in slot {
                let Some(s) = self.udp.slots[i as usize].sock.as_ref() else {
                    continue;
                };
                let la = *s.local.ip();
                let local_ok = la.is_unspecified() || la == daddr;
                let remote_ok = s
                    .remote
                    .is_none_or(|r| *r.ip() == saddr && r.port() == sport);
                let dev_ok = s.bound_dev_if == 0 || s.bound_dev_if == dif;
                if local_ok && remote_ok && dev_ok {
                    targets.push(i);
                }
            }
        }
        let Some((&first, rest)) = targets.split_first() else {
            self.stats.udp.ignored_multi += 1;
            self.consume_skb(skb);
            self.udp.scratch = targets;
            return;
        };
        skb.pull(wire::HEADER_LEN);
        let from = SocketAddrV4::new(saddr, sport);
        for &i in rest {
            let mut copy = self.pool.alloc(skb.len());
            copy.put_slice(skb.data());
            self.stats.rx_frames += 1;
            self.udp_queue_rcv(i, copy, from, rx);
        }
        self.udp_queue_rcv(first, skb, from, rx);
        self.udp.scratch = targets;
    }

    /// `__udp_enqueue_schedule_skb`: charge truesize against the receive buffer, or drop
    /// with RcvbufErrors + InErrors.
    fn udp_queue_rcv(&mut self, idx: u32, skb: SkBuff, from: SocketAddrV4, mut rx: RxIpInfo) {
        // `idx` comes from the port hash, so the slot is live: no handle to re-validate.
        let Some(Slot { gen, sock: Some(s) }) = self.udp.slots.get_mut(idx as usize) else {
            self.drop_skb(skb, DropReason::NoSocket);
            return;
        };
        let h = SocketHandle { idx, gen: *gen };
        let size = skb.truesize();
        // Linux admits a datagram while the charge so far is within sk_rcvbuf, so the queue
        // may overshoot by one datagram.
        if s.rmem > s.rcvbuf {
            s.drops += 1;
            self.stats.udp.rcvbuf_errors += 1;
            self.stats.udp.in_errors += 1;
            self.drop_skb(skb, DropReason::SocketRcvbuff);
            return;
        }
        s.rmem += size;
        rx.pktinfo_prepared = s.cmsg_flags & crate::socket::cmsg::IP_CMSG_PKTINFO != 0;
        s.rxq.push_back((skb, from, rx));
        self.stats.consumed += 1;
        // sk_data_ready on every queued datagram (__udp_enqueue_schedule_skb), not only
        // when the queue was empty: an EPOLLET reader gets an edge per datagram.
        self.push_event(Event::Readable(h));
    }

    /// `__udp4_lib_err`: an ICMP error about a datagram `saddr:sport -> daddr:dport` that
    /// we sent. Without IP_RECVERR connected sockets get hard errors in `sk_err`
    /// (ECONNREFUSED for a port unreachable); with it every error is queued on the error
    /// queue ([`errqueue`]) and set in `sk_err`, connected or not. Returns false if no
    /// socket matched.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn udp_err(
        &mut self,
        saddr: Ipv4Addr,
        sport: u16,
        daddr: Ipv4Addr,
        dport: u16,
        mut err: Errno,
        mut hard: bool,
        icmp: &errqueue::IcmpErr<'_>,
    ) -> bool {
        // Deviation from Linux: the ICMP error's incoming device is not compared with a
        // bound socket's device (`inet_iif` of the error in `__udp4_lib_err`).
        let Some(idx) = self.udp.lookup(daddr, dport, saddr, sport, None) else {
            return false;
        };
        let h = self.udp.handle(idx);
        let Ok(s) = self.udp.get_mut(h) else {
            return false;
        };
        let mut info = 0;
        // ICMP_FRAG_NEEDED: with the default IP_PMTUDISC_WANT it is EMSGSIZE, hard, and
        // ee_info carries the next-hop MTU.
        if icmp.icmp_type == 3 && icmp.code == 4 {
            err = Errno::EMSGSIZE;
            hard = true;
            info = icmp.info & 0xffff;
        }
        if !s.recverr {
            if !hard || s.remote.is_none() {
                return true;
            }
        } else {
            self.ip_icmp_error(h, err, SocketAddrV4::new(daddr, dport), info, icmp);
        }
        if let Ok(s) = self.udp.get_mut(h) {
            s.err = Some(err);
            self.push_event(Event::Error(h));
        }
        true
    }
}

impl Stack {
    /// `IP_TTL` as getsockopt reports it: the socket's TTL, else `ip_default_ttl`.
    pub fn udp_ttl(&self, h: SocketHandle) -> Result<u8, Errno> {
        let s = self.udp.get(h)?;
        Ok(s.ttl.unwrap_or(self.cfg.ip_default_ttl))
    }

    /// `SO_REUSEPORT` (`sk_reuseport`): sockets that all set it before bind() share the
    /// address and port; each datagram goes to one of them by the hash of its 4-tuple.
    pub fn udp_set_reuseport(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        self.udp.get_mut(h)?.reuseport = on;
        Ok(())
    }

    /// `SO_BINDTODEVICE` / `SO_BINDTOIFINDEX` (`sk_bound_dev_if`, 0 unbinds): the socket
    /// receives only what arrives on that device and sends through it.
    pub fn udp_set_bound_dev(&mut self, h: SocketHandle, ifindex: u32) -> Result<(), Errno> {
        let s = self.udp.get_mut(h)?;
        let was = s.bound_dev_if;
        s.bound_dev_if = ifindex;
        match (was != 0, ifindex != 0) {
            (false, true) => self.udp.bound_devs += 1,
            (true, false) => self.udp.bound_devs = self.udp.bound_devs.saturating_sub(1),
            _ => {}
        }
        Ok(())
    }

    /// `SO_REUSEADDR` (`sk_reuse`).
    pub fn udp_set_reuseaddr(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        self.udp.get_mut(h)?.reuse = on;
        Ok(())
    }

    /// `IP_TOS`: the TOS byte of the datagrams this socket sends.
    pub fn udp_set_tos(&mut self, h: SocketHandle, tos: u8) -> Result<(), Errno> {
        self.udp.get_mut(h)?.tos = tos;
        Ok(())
    }

    /// `SO_MARK` / `SO_PRIORITY` (`sk_mark`, `sk_priority`): the mark and priority of the
    /// datagrams this socket sends (the socket layer checks the privilege).
    pub fn udp_set_mark_priority(
        &mut self,
        h: SocketHandle,
        mark: u32,
        priority: u32,
    ) -> Result<(), Errno> {
        let s = self.udp.get_mut(h)?;
        s.mark = mark;
        s.priority = priority;
        Ok(())
    }

    /// `SO_BROADCAST` as getsockopt reports it.
    pub fn udp_broadcast(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(self.udp.get(h)?.broadcast)
    }

    /// `getsockopt(SO_ERROR)`: the pending error, cleared.
    pub fn udp_take_error(&mut self, h: SocketHandle) -> Result<Option<Errno>, Errno> {
        Ok(self.udp.get_mut(h)?.err.take())
    }

    /// The connected peer (`inet_dport` set by connect), if any.
    pub fn udp_peer_addr(&self, h: SocketHandle) -> Result<Option<SocketAddrV4>, Errno> {
        Ok(self.udp.get(h)?.remote)
    }

    /// `recvfrom(MSG_PEEK)`: like [`Stack::udp_recv_from`] but the datagram stays queued. A
    /// pending error is still reported (and cleared) first, as `__skb_recv_udp` does.
    pub fn udp_peek_from(&mut self, h: SocketHandle, buf: &mut [u8]) -> Result<RecvMeta, Errno> {
        let s = self.udp.get_mut(h)?;
        if let Some(e) = s.err.take() {
            return Err(e);
        }
        let Some((skb, from, ip)) = s.rxq.front() else {
            return Err(Errno::EAGAIN);
        };
        s.last_rx = Some(*ip);
        let data = skb.data();
        let n = data.len().min(buf.len());
        buf[..n].copy_from_slice(&data[..n]);
        Ok(RecvMeta {
            len: n,
            datagram_len: data.len(),
            from: *from,
            truncated: n < data.len(),
            ip: *ip,
            orig_dst: SocketAddrV4::new(ip.daddr, ip.dport),
        })
    }

    /// `connect(AF_UNSPEC)` (`__udp_disconnect`): forgets the peer; the source address is
    /// reset unless it came from bind(), and an ephemeral port is given back unless the
    /// port came from bind().
    pub fn udp_disconnect(&mut self, h: SocketHandle) -> Result<(), Errno> {
        let s = self.udp.get_mut(h)?;
        s.remote = None;
        if !s.addr_locked {
            s.local = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, s.local.port());
        }
        if s.bound && !s.port_locked {
            let port = s.local.port();
            s.bound = false;
            s.local = SocketAddrV4::new(*s.local.ip(), 0);
            self.udp.reuseport_leave(h.idx);
            if let Some(v) = self.udp.by_port.get_mut(&port) {
                v.retain(|&i| i != h.idx);
                if v.is_empty() {
                    self.udp.by_port.remove(&port);
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "udp_tests.rs"]
mod tests;

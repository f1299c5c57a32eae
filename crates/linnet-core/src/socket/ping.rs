//! Ping sockets: `socket(AF_INET, SOCK_DGRAM, IPPROTO_ICMP)`, ICMP echo without a raw
//! socket. The echo identifier plays the port: bind() chooses it, an unbound socket gets one
//! on its first send or connect, and echo replies are delivered to the socket holding their
//! identifier.
//!
//! Linux: net/ipv4/ping.c (`ping_init_sock` and `ping_group_range`, `ping_get_port`,
//! `ping_check_bind_addr`, `ping_bind`, `ping_common_sendmsg`, `ping_v4_sendmsg`,
//! `ping_recvmsg`, `ping_rcv`, `ping_lookup`, `ping_err`, `ping_close`), net/ipv4/af_inet.c
//! (the `inetsw` entry with `inet_sockraw_ops`).
//! RFCs: RFC 792 (echo), RFC 1122 §3.2.2.6.
//!
//! The user writes an ICMP echo request header (type 8, code 0) and data; the stack puts
//! its identifier in and computes the checksum. A read returns the reply's ICMP header and
//! data. Echo replies whose identifier no ping socket holds still reach the application as
//! [`crate::ping::PingEvent`]s (`Stack::ping_send`'s users).
//!
//! `IP_RECVERR` (`ping_err` -> `ip_icmp_error`): every ICMP error quoting one of the
//! socket's echo requests is queued on its error queue (the quoted ICMP header and data,
//! `sock_extended_err` with `SO_EE_ORIGIN_ICMP`, the offender, `msg_name` the echo's
//! destination with port 0) and set in `sk_err`, connected or not; without it only a hard
//! error on a connected socket sets `sk_err`. `recvmsg(MSG_ERRQUEUE)` reads the oldest
//! entry. `IP_PKTINFO`, `IP_RECVTTL` and `IP_RECVTOS` describe each reply (and an error
//! read, from the ICMP error's header) through `Stack::sys_recvmsg_cmsg`. The error queue
//! is charged to the receive buffer and holds at most [`MAX_QUEUED`] entries; past either
//! an error is dropped and counted (`ping_errq_drops`).

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use super::addr::*;
use super::{MsgInfo, SockAddr, SocketId};
use crate::errno::Errno;
use crate::hash::{map_with_seed, HashMap};
use crate::route::LocalKind;
use crate::stack::{Event, Stack};
use crate::udp::errqueue::{ErrEntry, ErrRecv, IcmpErr, SockExtendedErr, SO_EE_ORIGIN_ICMP};
use crate::udp::{RxIpInfo, SocketHandle};

/// Bit that marks a [`SocketHandle`] as a ping socket (UDP handles never have it, TCP
/// handles carry `0x8000_0000`).
const PING_HANDLE_TAG: u32 = 0x4000_0000;
/// `sizeof(struct icmphdr)`.
const ICMPH_LEN: usize = 8;
/// Largest queue of replies per socket, whatever the receive buffer says (each entry is a
/// small allocation); past it replies are dropped and counted.
const MAX_QUEUED: usize = 1024;

#[derive(Debug)]
pub(crate) struct PingSock {
    /// Bound address (`inet_rcv_saddr`) and identifier (`inet_num`); 0 when unbound.
    pub(crate) local: SocketAddrV4,
    pub(crate) remote: Option<Ipv4Addr>,
    rxq: VecDeque<(Vec<u8>, Ipv4Addr, RxIpInfo)>,
    rmem: usize,
    pub(crate) rcvbuf: usize,
    pub(crate) err: Option<Errno>,
    pub(crate) ttl: Option<u8>,
    pub(crate) reuse: bool,
    /// `sk_bound_dev_if` (`SO_BINDTODEVICE`): kept and routed through, not yet matched
    /// against the device a reply arrives on.
    pub(crate) bound_dev_if: u32,
    drops: u64,
    /// `IP_RECVERR` (`inet->recverr`).
    recverr: bool,
    /// `inet->cmsg_flags` (`IP_CMSG_PKTINFO`, `IP_CMSG_TTL`, `IP_CMSG_TOS`).
    cmsg_flags: u8,
    /// `sk_error_queue`.
    errq: VecDeque<ErrEntry>,
    /// Errors dropped because the receive buffer or the queue was full.
    errq_drops: u64,
}

impl PingSock {
    /// A reply is queued (`datagram_poll`'s receive-queue test).
    pub(crate) fn has_queued(&self) -> bool {
        !self.rxq.is_empty()
    }

    /// `sk_err` is set or the error queue is not empty (`datagram_poll`'s POLLERR).
    pub(crate) fn has_error(&self) -> bool {
        self.err.is_some() || !self.errq.is_empty()
    }
}

#[derive(Debug)]
struct Slot {
    gen: u32,
    sock: Option<PingSock>,
}

/// The ping socket table (`ping_table`): a slab and a hash by identifier.
#[derive(Debug)]
pub(crate) struct PingTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_ident: HashMap<u16, Vec<u32>>,
    /// Next identifier `ping_get_port` tries for an unbound socket.
    next_ident: u16,
    /// Replies dropped because a socket's queue was full.
    pub(crate) rcvbuf_errors: u64,
}

impl PingTable {
    pub(crate) fn new() -> PingTable {
        PingTable {
            slots: Vec::new(),
            free: Vec::new(),
            by_ident: map_with_seed(0x7069_6e67),
            next_ident: 1,
            rcvbuf_errors: 0,
        }
    }

    fn index(h: SocketHandle) -> Option<(usize, u32)> {
        let (idx, gen) = h.parts();
        (idx & PING_HANDLE_TAG != 0).then_some(((idx & !PING_HANDLE_TAG) as usize, gen))
    }

    pub(crate) fn get(&self, h: SocketHandle) -> Result<&PingSock, Errno> {
        let (i, gen) = Self::index(h).ok_or(Errno::EBADF)?;
        match self.slots.get(i) {
            Some(Slot {
                gen: g,
                sock: Some(s),
            }) if *g == gen => Ok(s),
            _ => Err(Errno::EBADF),
        }
    }

    pub(crate) fn get_mut(&mut self, h: SocketHandle) -> Result<&mut PingSock, Errno> {
        let (i, gen) = Self::index(h).ok_or(Errno::EBADF)?;
        match self.slots.get_mut(i) {
            Some(Slot {
                gen: g,
                sock: Some(s),
            }) if *g == gen => Ok(s),
            _ => Err(Errno::EBADF),
        }
    }

    fn handle(&self, i: u32) -> SocketHandle {
        SocketHandle::from_parts(i | PING_HANDLE_TAG, self.slots[i as usize].gen)
    }

    /// Whether binding `addr:ident` with `reuse` conflicts with a bound ping socket.
    fn in_use(&self, ident: u16, addr: Ipv4Addr, reuse: bool) -> bool {
        self.by_ident.get(&ident).is_some_and(|v| {
            v.iter().any(|&i| {
                self.slots[i as usize].sock.as_ref().is_some_and(|s| {
                    let a = *s.local.ip();
                    let overlap = a.is_unspecified() || addr.is_unspecified() || a == addr;
                    overlap && !(reuse && s.reuse)
                })
            })
        })
    }

    /// `ping_lookup`: the socket holding `ident` (bound to `daddr` or to any address); the
    /// last one bound first, as sockets go to the head of Linux's hash chain.
    fn lookup(&self, ident: u16, daddr: Option<Ipv4Addr>) -> Option<u32> {
        let v = self.by_ident.get(&ident)?;
        v.iter().rev().copied().find(|&i| {
            self.slots[i as usize].sock.as_ref().is_some_and(|s| {
                let a = *s.local.ip();
                a.is_unspecified() || daddr.is_none_or(|d| d == a)
            })
        })
    }
}

impl Stack {
    /// `ping_init_sock`: the caller's group must be in `ping_group_range` (EACCES). A
    /// library has no credentials: the caller counts as group 0.
    pub(crate) fn ping_socket(&mut self) -> Result<SocketHandle, Errno> {
        // Deviation from Linux: the group checked is 0, not the caller's egid and groups.
        let (lo, hi) = self.cfg.ping_group_range;
        if !(lo..=hi).contains(&0) {
            return Err(Errno::EACCES);
        }
        let sock = PingSock {
            local: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            remote: None,
            rxq: VecDeque::new(),
            rmem: 0,
            rcvbuf: self.cfg.rmem_default,
            err: None,
            ttl: None,
            // inetsw's INET_PROTOSW_REUSE: ping sockets start with SO_REUSEADDR on.
            reuse: true,
            bound_dev_if: 0,
            drops: 0,
            recverr: false,
            cmsg_flags: 0,
            errq: VecDeque::new(),
            errq_drops: 0,
        };
        let t = &mut self.sockets.ping;
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
        Ok(t.handle(idx))
    }

    /// `ping_get_port`: `ident` if free, or (0) the next free identifier from a rover.
    fn ping_get_port(&mut self, h: SocketHandle, addr: Ipv4Addr, ident: u16) -> Result<(), Errno> {
        let t = &mut self.sockets.ping;
        let reuse = t.get(h)?.reuse;
        let ident = if ident == 0 {
            let mut found = None;
            for _ in 0..=u16::MAX {
                let cand = t.next_ident;
                t.next_ident = t.next_ident.wrapping_add(1).max(1);
                if cand != 0 && !t.in_use(cand, addr, reuse) {
                    found = Some(cand);
                    break;
                }
            }
            found.ok_or(Errno::EADDRINUSE)?
        } else if t.in_use(ident, addr, reuse) {
            return Err(Errno::EADDRINUSE);
        } else {
            ident
        };
        let (i, _) = PingTable::index(h).ok_or(Errno::EBADF)?;
        t.get_mut(h)?.local = SocketAddrV4::new(addr, ident);
        t.by_ident.entry(ident).or_default().push(i as u32);
        Ok(())
    }

    /// `ping_close`: unhash and free.
    pub(crate) fn ping_close(&mut self, h: SocketHandle) -> Result<(), Errno> {
        let t = &mut self.sockets.ping;
        t.get(h)?;
        let (i, _) = PingTable::index(h).ok_or(Errno::EBADF)?;
        let slot = &mut t.slots[i];
        let Some(mut s) = slot.sock.take() else {
            return Err(Errno::EBADF);
        };
        let errq = core::mem::take(&mut s.errq);
        slot.gen = slot.gen.wrapping_add(1);
        t.free.push(i as u32);
        let ident = s.local.port();
        if ident != 0 {
            if let Some(v) = t.by_ident.get_mut(&ident) {
                v.retain(|&x| x as usize != i);
                if v.is_empty() {
                    t.by_ident.remove(&ident);
                }
            }
        }
        for e in errq {
            self.pool.free(e.skb);
        }
        Ok(())
    }

    /// `ping_rcv`: an echo reply for the socket holding its identifier, if any. False when
    /// none does (the caller then reports it as a [`crate::ping::PingEvent`]).
    pub(crate) fn ping_sock_rcv(&mut self, from: Ipv4Addr, mut rx: RxIpInfo, icmp: &[u8]) -> bool {
        if icmp.len() < ICMPH_LEN {
            return false;
        }
        let ident = u16::from_be_bytes([icmp[4], icmp[5]]);
        let t = &mut self.sockets.ping;
        let Some(i) = t.lookup(ident, None) else {
            return false;
        };
        let h = t.handle(i);
        let Some(s) = t.slots[i as usize].sock.as_mut() else {
            return false;
        };
        // sock_queue_rcv_skb: admitted while the charge so far is within sk_rcvbuf.
        if s.rmem > s.rcvbuf || s.rxq.len() >= MAX_QUEUED {
            s.drops += 1;
            t.rcvbuf_errors += 1;
            return true;
        }
        s.rmem += icmp.len() + 256;
        // ipv4_pktinfo_prepare runs only with IP_PKTINFO on.
        rx.pktinfo_prepared = s.cmsg_flags & super::cmsg::IP_CMSG_PKTINFO != 0;
        s.rxq.push_back((icmp.to_vec(), from, rx));
        // sk_data_ready on every queued reply (sock_queue_rcv_skb).
        self.push_event(Event::Readable(h));
        true
    }

    /// `ping_err`: an ICMP error quoting an echo request with identifier `ident` sent to
    /// `dest`. Without IP_RECVERR a connected socket gets hard errors in `sk_err`; with it
    /// every error is queued on the error queue (`ip_icmp_error`) and set in `sk_err`.
    /// False when no ping socket holds the identifier.
    pub(crate) fn ping_sock_err(&mut self, ident: u16, dest: Ipv4Addr, e: &IcmpErr<'_>) -> bool {
        let (msg_type, code) = (e.icmp_type, e.code);
        let t = &mut self.sockets.ping;
        let Some(i) = t.lookup(ident, None) else {
            return false;
        };
        let h = t.handle(i);
        let (err, hard) = match msg_type {
            3 if code == 4 => (Errno::EMSGSIZE, true),
            3 => crate::ipv4::icmp::unreach_errno(code),
            12 => (Errno::EPROTO, true),
            // Time exceeded and the rest: EHOSTUNREACH, soft. (Source quench and redirects
            // are EREMOTEIO in Linux, soft, so never reported without IP_RECVERR.)
            _ => (Errno::EHOSTUNREACH, false),
        };
        let Some(s) = t.slots[i as usize].sock.as_mut() else {
            return false;
        };
        if s.recverr {
            // ip_icmp_error: the ICMP payload from the quoted ICMP header on; no port.
            // ee_info is the next-hop MTU of a fragmentation-needed error.
            let info = if msg_type == 3 && code == 4 {
                e.info & 0xffff
            } else {
                0
            };
            let mut skb = self.pool.alloc(e.payload.len());
            skb.put_slice(e.payload);
            let size = skb.truesize();
            let t = &mut self.sockets.ping;
            let Some(s) = t.slots[i as usize].sock.as_mut() else {
                self.pool.free(skb);
                return false;
            };
            if s.rmem + size >= s.rcvbuf || s.errq.len() >= MAX_QUEUED {
                // Deviation from Linux: sock_queue_err_skb's drop is not counted in Linux.
                s.errq_drops += 1;
                self.pool.free(skb);
            } else {
                s.rmem += size;
                s.errq.push_back(ErrEntry {
                    skb,
                    ee: SockExtendedErr {
                        ee_errno: err.code() as u32,
                        ee_origin: SO_EE_ORIGIN_ICMP,
                        ee_type: msg_type,
                        ee_code: code,
                        ee_pad: 0,
                        ee_info: info,
                        ee_data: 0,
                    },
                    dest: SocketAddrV4::new(dest, 0),
                    offender: e.offender,
                    ip: e.ip,
                });
            }
        } else if !hard || s.remote.is_none() {
            return true;
        }
        if let Ok(s) = self.sockets.ping.get_mut(h) {
            s.err = Some(err);
        }
        self.push_event(Event::Error(h));
        true
    }

    /// `ip_recv_error` on a ping socket (`recvmsg(MSG_ERRQUEUE)`): the oldest queued error,
    /// EAGAIN when none; `sk_err` becomes the next entry's errno, or clears.
    pub(crate) fn ping_recv_error(
        &mut self,
        h: SocketHandle,
        buf: &mut [u8],
    ) -> Result<ErrRecv, Errno> {
        let s = self.sockets.ping.get_mut(h)?;
        let (r, skb, more) =
            crate::udp::errqueue::dequeue_err(&mut s.errq, &mut s.rmem, &mut s.err, buf)?;
        if more {
            self.push_event(Event::Error(h));
        }
        self.pool.free(skb);
        Ok(r)
    }

    /// Errors a ping socket dropped because its receive buffer or error queue was full.
    pub fn ping_errq_drops(&self, h: SocketHandle) -> Result<u64, Errno> {
        Ok(self.sockets.ping.get(h)?.errq_drops)
    }

    /// `inet->cmsg_flags` of a ping socket.
    pub(crate) fn ping_cmsg_flags(&self, h: SocketHandle) -> Result<u8, Errno> {
        Ok(self.sockets.ping.get(h)?.cmsg_flags)
    }
}

/// `do_ip_setsockopt` IP_PKTINFO / IP_RECVTTL / IP_RECVTOS / IP_RECVERR on a ping socket
/// (turning IP_RECVERR off purges the error queue).
pub(super) fn ping_setsockopt_cmsg(
    st: &mut Stack,
    sk: SocketHandle,
    name: i32,
    on: bool,
) -> Result<(), Errno> {
    use super::cmsg::{IP_CMSG_PKTINFO, IP_CMSG_TOS, IP_CMSG_TTL};
    let bit = match name {
        super::cmsg::IP_PKTINFO => IP_CMSG_PKTINFO,
        super::cmsg::IP_RECVTTL => IP_CMSG_TTL,
        super::cmsg::IP_RECVTOS => IP_CMSG_TOS,
        super::cmsg::IP_RECVERR => {
            let s = st.sockets.ping.get_mut(sk)?;
            s.recverr = on;
            if !on {
                let q = core::mem::take(&mut s.errq);
                let freed: usize = q.iter().map(|e| e.skb.truesize()).sum();
                s.rmem = s.rmem.saturating_sub(freed);
                for e in q {
                    st.pool.free(e.skb);
                }
            }
            return Ok(());
        }
        _ => return Err(Errno::ENOPROTOOPT),
    };
    let s = st.sockets.ping.get_mut(sk)?;
    if on {
        s.cmsg_flags |= bit;
    } else {
        s.cmsg_flags &= !bit;
    }
    Ok(())
}

/// `do_ip_getsockopt` for the same options.
pub(super) fn ping_getsockopt_cmsg(st: &Stack, sk: SocketHandle, name: i32) -> Result<i32, Errno> {
    use super::cmsg::{IP_CMSG_PKTINFO, IP_CMSG_TOS, IP_CMSG_TTL};
    let s = st.sockets.ping.get(sk)?;
    Ok(match name {
        super::cmsg::IP_PKTINFO => i32::from(s.cmsg_flags & IP_CMSG_PKTINFO != 0),
        super::cmsg::IP_RECVTTL => i32::from(s.cmsg_flags & IP_CMSG_TTL != 0),
        super::cmsg::IP_RECVTOS => i32::from(s.cmsg_flags & IP_CMSG_TOS != 0),
        super::cmsg::IP_RECVERR => i32::from(s.recverr),
        _ => return Err(Errno::ENOPROTOOPT),
    })
}

/// What [`ping_recvmsg_meta`] read: the message, the reply's IP metadata and sender, or
/// (MSG_ERRQUEUE) the error.
pub(super) type PingRecvMeta = (MsgInfo, Option<(RxIpInfo, Ipv4Addr)>, Option<ErrRecv>);

/// `ping_recvmsg` with the IP metadata of the reply read (for its cmsgs), or with
/// MSG_ERRQUEUE the error read.
pub(super) fn ping_recvmsg_meta(
    st: &mut Stack,
    id: SocketId,
    buf: &mut [u8],
    flags: i32,
) -> Result<PingRecvMeta, Errno> {
    let sk = st.socket(id)?.sk;
    if flags & MSG_ERRQUEUE != 0 {
        let r = st.ping_recv_error(sk, buf)?;
        let info = MsgInfo {
            len: r.len,
            from: Some(r.dest),
            flags: MSG_ERRQUEUE | if r.truncated { MSG_TRUNC } else { 0 },
        };
        return Ok((info, None, Some(r)));
    }
    let meta = st
        .sockets
        .ping
        .get(sk)?
        .rxq
        .front()
        .map(|(_, from, rx)| (*rx, *from));
    let info = ping_recvmsg(st, id, buf, flags)?;
    Ok((info, meta, None))
}

/// `ping_check_bind_addr` + `ping_bind`: EINVAL for a short address, EAFNOSUPPORT for a
/// family other than AF_INET (AF_UNSPEC with INADDR_ANY passes), EADDRNOTAVAIL for an
/// address that is not ours (unless `ip_nonlocal_bind`), EINVAL when bound, EADDRINUSE
/// for a taken identifier. No privileged-port check: the port is an identifier.
pub(super) fn ping_bind(st: &mut Stack, id: SocketId, addr: &SockAddr) -> Result<(), Errno> {
    let sin = addr.as_inet().ok_or(Errno::EINVAL)?;
    let fam = i32::from(addr.family());
    if fam != AF_INET && (fam != AF_UNSPEC || !sin.ip().is_unspecified()) {
        return Err(Errno::EAFNOSUPPORT);
    }
    let ip = *sin.ip();
    let valid = st.cfg.ip_nonlocal_bind
        || ip.is_unspecified()
        || ip.is_loopback()
        || matches!(st.fib.local(ip), Some(LocalKind::Local(_)));
    if !valid {
        return Err(Errno::EADDRNOTAVAIL);
    }
    let sk = st.socket(id)?.sk;
    if st.sockets.ping.get(sk)?.local.port() != 0 {
        return Err(Errno::EINVAL);
    }
    st.ping_get_port(sk, ip, sin.port())
}

/// `inet_autobind` for ping sockets (EAGAIN when no identifier is free).
fn ping_autobind(st: &mut Stack, sk: SocketHandle) -> Result<(), Errno> {
    if st.sockets.ping.get(sk)?.local.port() == 0 {
        st.ping_get_port(sk, Ipv4Addr::UNSPECIFIED, 0)
            .map_err(|_| Errno::EAGAIN)?;
    }
    Ok(())
}

/// `inet_dgram_connect` + `ip4_datagram_connect` for ping sockets.
pub(super) fn ping_connect(st: &mut Stack, id: SocketId, addr: &SockAddr) -> Result<(), Errno> {
    if addr.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let sk = st.socket(id)?.sk;
    if i32::from(addr.family()) == AF_UNSPEC {
        // udp_disconnect: the peer goes (the identifier stays; Linux's ping sockets do not
        // give it back either while hashed).
        st.sockets.ping.get_mut(sk)?.remote = None;
        return Ok(());
    }
    ping_autobind(st, sk)?;
    let sin = addr.as_inet().ok_or(Errno::EINVAL)?;
    if i32::from(addr.family()) != AF_INET {
        return Err(Errno::EAFNOSUPPORT);
    }
    let oif = st.sockets.ping.get(sk)?.bound_dev_if;
    let dst = st.route_output_oif(*sin.ip(), None, oif)?;
    let broadcast_ok = st.socket(id)?.o.broadcast;
    if dst.kind == crate::route::RouteKind::Broadcast && !broadcast_ok {
        return Err(Errno::EACCES);
    }
    st.sockets.ping.get_mut(sk)?.remote = Some(*sin.ip());
    Ok(())
}

/// `ping_v4_sendmsg` (`ping_common_sendmsg` first): EMSGSIZE over 65535 bytes, EINVAL
/// below an ICMP header, EOPNOTSUPP for MSG_OOB, EINVAL unless the header is an echo
/// request (type 8, code 0), then the address (EINVAL short, EAFNOSUPPORT, EDESTADDRREQ
/// unconnected without one), then the route (ENETUNREACH, EACCES for a broadcast).
pub(super) fn ping_v4_sendmsg(
    st: &mut Stack,
    id: SocketId,
    buf: &[u8],
    flags: i32,
    to: Option<&SockAddr>,
) -> Result<usize, Errno> {
    let sk = st.socket(id)?.sk;
    ping_autobind(st, sk)?;
    if buf.len() > 0xffff {
        return Err(Errno::EMSGSIZE);
    }
    if buf.len() < ICMPH_LEN {
        return Err(Errno::EINVAL);
    }
    if flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if buf[0] != 8 || buf[1] != 0 {
        return Err(Errno::EINVAL);
    }
    let ps = st.sockets.ping.get(sk)?;
    let (ident, ttl, oif) = (ps.local.port(), ps.ttl, ps.bound_dev_if);
    let daddr = match to {
        Some(a) => {
            let sin = a.as_inet().ok_or(Errno::EINVAL)?;
            if i32::from(a.family()) != AF_INET {
                return Err(Errno::EAFNOSUPPORT);
            }
            *sin.ip()
        }
        None => ps.remote.ok_or(Errno::EDESTADDRREQ)?,
    };
    if let Some(e) = st.sockets.ping.get_mut(sk)?.err.take() {
        return Err(e);
    }
    let seq = u16::from_be_bytes([buf[6], buf[7]]);
    // Deviation from Linux: SO_BROADCAST does not let a ping socket ping a broadcast
    // address yet (Stack::ping_send refuses broadcasts).
    let o = st.socket(id)?.o;
    let tx = crate::ping::PingTx {
        ttl,
        oif,
        tos: o.tos,
        mark: o.mark,
        priority: o.priority,
    };
    st.ping_send_with(daddr, ident, seq, tx, &buf[ICMPH_LEN..])?;
    Ok(buf.len())
}

/// `ping_recvmsg`: the next reply (ICMP header and data), truncated to `buf` with
/// MSG_TRUNC in `msg_flags`; MSG_PEEK leaves it queued; a pending error first; EAGAIN
/// when none is queued; MSG_ERRQUEUE reads the error queue (`ip_recv_error`).
pub(super) fn ping_recvmsg(
    st: &mut Stack,
    id: SocketId,
    buf: &mut [u8],
    flags: i32,
) -> Result<MsgInfo, Errno> {
    let sk = st.socket(id)?.sk;
    if flags & MSG_ERRQUEUE != 0 {
        return ping_recvmsg_meta(st, id, buf, flags).map(|r| r.0);
    }
    let s = st.sockets.ping.get_mut(sk)?;
    if let Some(e) = s.err.take() {
        return Err(e);
    }
    let Some((data, from, _)) = s.rxq.front() else {
        return Err(Errno::EAGAIN);
    };
    let (dlen, from) = (data.len(), *from);
    let n = dlen.min(buf.len());
    buf[..n].copy_from_slice(&data[..n]);
    if flags & MSG_PEEK == 0 {
        s.rxq.pop_front();
        s.rmem = s.rmem.saturating_sub(dlen + 256);
    }
    Ok(MsgInfo {
        len: if flags & MSG_TRUNC != 0 { dlen } else { n },
        from: Some(SocketAddrV4::new(from, 0)),
        flags: if n < dlen { MSG_TRUNC } else { 0 },
    })
}

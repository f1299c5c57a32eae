//! Raw IPv4 sockets: `socket(AF_INET, SOCK_RAW, protocol)`. Every locally delivered
//! datagram of the socket's protocol reaches it as a copy with the IP header at offset 0,
//! in addition to the stack's own processing; a send builds the IP header around the user's
//! bytes, or takes the user's header as written (`IP_HDRINCL`, implied by `IPPROTO_RAW`).
//! Also the `inet_sockraw_ops` table, which ping sockets share (as in Linux, where the
//! table's `inet_*` calls reach `raw_prot` or `ping_prot` through `sk->sk_prot`).
//!
//! Linux: net/ipv4/raw.c (`raw_hash_sk`, `raw_v4_match`, `raw_v4_input`,
//! `raw_local_deliver`, `raw_rcv`, `raw_rcv_skb`, `icmp_filter`, `raw_icmp_error`,
//! `raw_err`, `raw_sendmsg`, `raw_probe_proto_opt`, `raw_send_hdrinc`, `raw_recvmsg`,
//! `raw_bind`, `raw_close`, `raw_sk_init`, `do_raw_setsockopt`, `do_raw_getsockopt`,
//! `raw_seticmpfilter`, `raw_geticmpfilter`), net/ipv4/af_inet.c (the `inetsw` entry of
//! `SOCK_RAW`, `inet_sockraw_ops`, `inet_create`'s `CAP_NET_RAW` check and
//! `inet->inet_num = protocol`), net/ipv4/ip_input.c (`ip_protocol_deliver_rcu`: no
//! protocol unreachable when a raw socket took the datagram), net/ipv4/datagram.c
//! (`__ip4_datagram_connect`), net/ipv4/udp.c (`__udp_disconnect`, raw's `disconnect`),
//! net/ipv4/ip_sockglue.c (`IP_HDRINCL`, `IP_RECVERR`, `IP_PKTINFO`, `IP_RECVTTL`,
//! `IP_RECVTOS`, `ip_icmp_error`, `ip_recv_error`, `ip_cmsg_recv`,
//! `ipv4_pktinfo_prepare`), net/core/sock.c (`__sock_queue_rcv_skb`,
//! `sock_bindtoindex`), net/core/skbuff.c (`sock_queue_err_skb`, `sock_dequeue_err_skb`),
//! include/uapi/linux/icmp.h (`ICMP_FILTER`, `struct icmp_filter`).
//! RFCs: RFC 791 (the header the user writes or the stack builds), RFC 792 (ICMP types
//! the filter names).
//!
//! # Table
//! `raw_v4_hashinfo`: chains keyed by `protocol & 255`; a socket of protocol 0 is in none
//! (Linux hashes only when `inet_num` is nonzero; `socket()` refuses protocol 0 anyway).
//! At most [`RAW_MAX_SOCKETS`] raw sockets; one more is ENOBUFS (what `inet_create` answers
//! when `sk_alloc` fails) and counted in `table_fulls`.
//!
//! # Receive
//! `Stack::raw_local_deliver` runs before the protocol handler, as in
//! `ip_protocol_deliver_rcu`: each socket of the chain that matches (protocol, connected
//! peer, bound address) and whose `ICMP_FILTER` lets the type through gets a copy. The
//! queue is bounded by `SO_RCVBUF` in truesize units (`__sock_queue_rcv_skb`: refused once
//! the charge reaches `sk_rcvbuf`) and by [`MAX_QUEUED`] entries; a refused copy counts in
//! the socket's `drops` (`sk_drops`, the "drops" column of /proc/net/raw) and the table's
//! `rcvbuf_errors`. Linux counts no SNMP MIB for it (not InDiscards, not RcvbufErrors).
//! A socket bound to a device (`SO_BINDTODEVICE`) matches only what arrived on it
//! (`inet_iif`), and sends and connects through it. Each queued datagram keeps its IP
//! metadata for `IP_PKTINFO` / `IP_RECVTTL` / `IP_RECVTOS` (`ip_cmsg_recv`, through the
//! shared builder of [`super::cmsg`]).
//!
//! # Errors
//! `Stack::raw_icmp_error` (`raw_err`): a connected socket hears of an ICMP error about
//! what it sent, and with `IP_RECVERR` an unconnected one too; without `IP_RECVERR` only a
//! hard error sets `sk_err`, with it every error does and is queued on the error queue
//! (`ip_icmp_error`: `SO_EE_ORIGIN_ICMP`, `ee_info` the MTU or the parameter-problem
//! pointer, the ICMP sender as offender) for `recvmsg(MSG_ERRQUEUE)`. The error queue
//! shares the receive charge: an error that would reach `SO_RCVBUF` (or [`MAX_QUEUED`]
//! entries) is dropped and counted (`errq_drops`).
//!
//! # Not done
//! `IP_OPTIONS`, local errors on the error queue (`ip_local_error` for an oversized
//! `IP_HDRINCL` send), `IP_MTU_DISCOVER`, multicast, `MSG_CONFIRM` / `MSG_PROBE`, and the
//! path-MTU update from a fragmentation-needed error.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use linnet_wire::ipv4 as ipwire;

use super::addr::*;
use super::cmsg::{self, Cmsg, CmsgBuf};
use super::ops::{inet_getname, inet_shutdown, ProtoOps, RCV_SHUTDOWN, SEND_SHUTDOWN};
use super::opt;
use super::poll::PollMask;
use super::{MsgInfo, SockAddr, SocketId};
use crate::errno::Errno;
use crate::hash::{map_with_seed, HashMap};
use crate::ipv4::output::IpParams;
use crate::route::{LocalKind, RouteKind};
use crate::skb::SkBuff;
use crate::stack::{Event, Stack};
use crate::udp::errqueue::{ErrRecv, IcmpErr, SockExtendedErr, SO_EE_ORIGIN_ICMP};
use crate::udp::{RxIpInfo, SocketHandle};

/// `SOL_RAW`.
pub const SOL_RAW: i32 = 255;
/// `ICMP_FILTER`: a 32-bit mask, bit `1 << type` drops ICMP messages of that type.
pub const ICMP_FILTER: i32 = 1;
/// Most raw sockets a stack holds (see the module doc).
pub const RAW_MAX_SOCKETS: usize = 4096;
/// Largest queue of datagrams per socket, whatever the receive buffer says.
pub const MAX_QUEUED: usize = 1024;

/// Bit that marks a [`SocketHandle`] as a raw socket (UDP handles never have it, ping
/// handles carry `0x4000_0000`, TCP handles `0x8000_0000`).
const RAW_HANDLE_TAG: u32 = 0x2000_0000;
/// `NR_ICMP_UNREACH`.
const NR_ICMP_UNREACH: u8 = 15;
/// `sizeof(struct icmphdr)`.
const ICMPH_LEN: usize = 8;

/// `inet_sockraw_ops`: raw sockets and ping sockets (see the module doc).
pub static INET_SOCKRAW_OPS: ProtoOps = ProtoOps {
    family: AF_INET,
    name: "inet_sockraw_ops",
    release: sockraw_release,
    bind: sockraw_bind,
    connect: sockraw_connect,
    accept: super::ops::sock_no_accept,
    getname: sockraw_getname,
    listen: super::ops::sock_no_listen,
    shutdown: sockraw_shutdown,
    setsockopt: sockraw_setsockopt,
    getsockopt: sockraw_getsockopt,
    sendmsg: sockraw_sendmsg,
    recvmsg: sockraw_recvmsg,
    poll: sockraw_poll,
};

/// `struct raw_sock` with the `inet_sock` fields it uses.
#[derive(Debug)]
pub(crate) struct RawSock {
    /// `inet_num`: the protocol.
    pub(crate) num: u16,
    /// `inet_sport`: the protocol too, until a disconnect clears it (getsockname's port).
    sport: u16,
    /// `inet_rcv_saddr`: datagrams to another address are not for this socket.
    pub(crate) rcv_saddr: Ipv4Addr,
    /// `inet_saddr`: the source of what it sends (0: the route's).
    saddr: Ipv4Addr,
    /// `inet_daddr` when connected (`sk_state == TCP_ESTABLISHED`).
    pub(crate) daddr: Option<Ipv4Addr>,
    /// `inet_dport`: the port connect() was given (getpeername needs it nonzero).
    dport: u16,
    /// In the protocol chain (`__udp_disconnect` unhashes a raw socket).
    hashed: bool,
    /// `IP_HDRINCL`.
    pub(crate) hdrincl: bool,
    /// `struct icmp_filter`.
    pub(crate) filter: u32,
    /// `IP_TTL` (`uc_ttl`; none: `ip_default_ttl`).
    ttl: Option<u8>,
    /// `inet_id` of a connected socket.
    inet_id: u16,
    /// The datagrams (from their IP header), their truesize and IP metadata.
    rxq: VecDeque<(Vec<u8>, usize, RxIpInfo)>,
    /// `inet->cmsg_flags`: the `IP_CMSG_*` bits of `IP_PKTINFO`, `IP_RECVTTL`, `IP_RECVTOS`.
    cmsg_flags: u8,
    /// `sk_rmem_alloc` (truesize units).
    pub(crate) rmem: usize,
    /// `sk_rcvbuf`.
    pub(crate) rcvbuf: usize,
    /// `sk_err`.
    pub(crate) err: Option<Errno>,
    /// `sk_drops`.
    pub(crate) drops: u64,
    /// `sk_bound_dev_if` (`SO_BINDTODEVICE`): 0 for none; otherwise only datagrams and
    /// ICMP errors that arrived on that device match, and sends leave through it.
    pub(crate) bound_dev_if: u32,
    /// `IP_RECVERR`.
    recverr: bool,
    /// `sk_error_queue`, charged to `rmem` like the receive queue.
    errq: VecDeque<RawErr>,
    /// Errors refused because the receive buffer was full.
    errq_drops: u64,
}

/// One entry of a raw socket's error queue (the `SKB_EXT_ERR` of the cloned ICMP skb).
#[derive(Debug)]
struct RawErr {
    /// What `recvmsg(MSG_ERRQUEUE)` copies: the quoted datagram past its IP header (from
    /// the header under `IP_HDRINCL`).
    data: Vec<u8>,
    truesize: usize,
    ee: SockExtendedErr,
    /// The quoted datagram's destination (`msg_name`, port 0).
    dest: Ipv4Addr,
    /// `SO_EE_OFFENDER`: the ICMP message's source.
    offender: Ipv4Addr,
    /// The ICMP packet's IP metadata (its cmsgs on the error read).
    ip: RxIpInfo,
}

#[derive(Debug)]
struct Slot {
    gen: u32,
    sock: Option<RawSock>,
}

/// `raw_v4_hashinfo` and the raw socks (see the module doc).
#[derive(Debug)]
pub(crate) struct RawTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    chains: HashMap<u8, Vec<u32>>,
    count: usize,
    /// Raw sockets refused because the table was full (ENOBUFS).
    pub(crate) table_fulls: u64,
    /// Copies refused because a socket's queue was full (the sum of `sk_drops`).
    pub(crate) rcvbuf_errors: u64,
    /// ICMP errors refused because a socket's receive buffer was full.
    pub(crate) errq_drops: u64,
}

impl RawTable {
    pub(crate) fn new() -> RawTable {
        RawTable {
            slots: Vec::new(),
            free: Vec::new(),
            // Keyed by protocol numbers, a fixed key keeps the stack's PRNG sequence.
            chains: map_with_seed(0x7261_7721),
            count: 0,
            table_fulls: 0,
            rcvbuf_errors: 0,
            errq_drops: 0,
        }
    }

    fn index(h: SocketHandle) -> Option<(usize, u32)> {
        let (idx, gen) = h.parts();
        (idx & RAW_HANDLE_TAG != 0 && idx & 0xc000_0000 == 0)
            .then_some(((idx & !RAW_HANDLE_TAG) as usize, gen))
    }

    pub(crate) fn get(&self, h: SocketHandle) -> Result<&RawSock, Errno> {
        let (i, gen) = Self::index(h).ok_or(Errno::EBADF)?;
        match self.slots.get(i) {
            Some(Slot {
                gen: g,
                sock: Some(s),
            }) if *g == gen => Ok(s),
            _ => Err(Errno::EBADF),
        }
    }

    pub(crate) fn get_mut(&mut self, h: SocketHandle) -> Result<&mut RawSock, Errno> {
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
        SocketHandle::from_parts(i | RAW_HANDLE_TAG, self.slots[i as usize].gen)
    }

    /// `raw_hash_sk`: at the head of the chain (the newest socket is found first).
    fn hash(&mut self, i: u32) {
        let Some(s) = self.slots[i as usize].sock.as_mut() else {
            return;
        };
        if s.hashed || s.num == 0 {
            return;
        }
        s.hashed = true;
        let key = (s.num & 0xff) as u8;
        self.chains.entry(key).or_default().push(i);
    }

    /// `raw_unhash_sk`.
    fn unhash(&mut self, i: u32) {
        let Some(s) = self.slots[i as usize].sock.as_mut() else {
            return;
        };
        if !s.hashed {
            return;
        }
        s.hashed = false;
        let key = (s.num & 0xff) as u8;
        if let Some(v) = self.chains.get_mut(&key) {
            v.retain(|&x| x != i);
            if v.is_empty() {
                self.chains.remove(&key);
            }
        }
    }
}

/// Counters of the raw socket table.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RawStats {
    /// Raw sockets open.
    pub sockets: usize,
    /// `socket()` calls refused because the table was full.
    pub table_fulls: u64,
    /// Copies dropped because a socket's receive queue was full (sum of `sk_drops`).
    pub rcvbuf_errors: u64,
    /// ICMP errors not queued (`IP_RECVERR`) because a socket's receive buffer was full.
    pub errq_drops: u64,
}

/// `raw_v4_match`: protocol, connected peer (the datagram's source), bound address (its
/// destination) and bound device (`raw_sk_bound_dev_eq`: a socket bound to a device
/// matches only what came in on `dif`; without VRF there is no `sdif`).
fn raw_v4_match(s: &RawSock, proto: u8, raddr: Ipv4Addr, laddr: Ipv4Addr, dif: u32) -> bool {
    s.num == u16::from(proto)
        && s.daddr.is_none_or(|d| d.is_unspecified() || d == raddr)
        && (s.rcv_saddr.is_unspecified() || s.rcv_saddr == laddr)
        && (s.bound_dev_if == 0 || s.bound_dev_if == dif)
}

/// `icmp_filter`: true when the socket does not want this ICMP message (a message too
/// short for an ICMP header is filtered; types from 32 up never are).
fn icmp_filtered(filter: u32, icmp: &[u8]) -> bool {
    if icmp.len() < ICMPH_LEN {
        return true;
    }
    let t = icmp[0];
    t < 32 && (1u32 << t) & filter != 0
}

impl Stack {
    /// `inet_create`'s part for `SOCK_RAW` + `raw_sk_init`: a raw sock of `protocol`,
    /// hashed when the protocol is nonzero; `IPPROTO_RAW` turns `IP_HDRINCL` on.
    pub(crate) fn raw_socket(&mut self, protocol: i32) -> Result<SocketHandle, Errno> {
        let t = &mut self.sockets.raw;
        if t.count >= RAW_MAX_SOCKETS {
            // Deviation from Linux: Linux has no limit but memory (sk_alloc -> ENOBUFS).
            t.table_fulls += 1;
            return Err(Errno::ENOBUFS);
        }
        let num = u16::try_from(protocol).map_err(|_| Errno::EINVAL)?;
        let sock = RawSock {
            num,
            sport: num,
            rcv_saddr: Ipv4Addr::UNSPECIFIED,
            saddr: Ipv4Addr::UNSPECIFIED,
            daddr: None,
            dport: 0,
            hashed: false,
            hdrincl: protocol == IPPROTO_RAW,
            filter: 0,
            ttl: None,
            inet_id: 0,
            rxq: VecDeque::new(),
            cmsg_flags: 0,
            rmem: 0,
            rcvbuf: self.cfg.rmem_default,
            err: None,
            drops: 0,
            bound_dev_if: 0,
            recverr: false,
            errq: VecDeque::new(),
            errq_drops: 0,
        };
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
        t.hash(idx);
        Ok(t.handle(idx))
    }

    /// `raw_close`: unhash and free.
    pub(crate) fn raw_close(&mut self, h: SocketHandle) -> Result<(), Errno> {
        let t = &mut self.sockets.raw;
        t.get(h)?;
        let (i, _) = RawTable::index(h).ok_or(Errno::EBADF)?;
        t.unhash(i as u32);
        let slot = &mut t.slots[i];
        slot.sock = None;
        slot.gen = slot.gen.wrapping_add(1);
        t.free.push(i as u32);
        t.count -= 1;
        Ok(())
    }

    /// `raw_local_deliver` → `raw_v4_input`: a copy of the datagram in `skb` (network
    /// header set, `data` at the transport header) for every matching raw socket of
    /// protocol `proto`. True when a socket matched, even one whose `ICMP_FILTER` dropped
    /// it (`ip_protocol_deliver_rcu` then sends no protocol unreachable). `bcast` is the
    /// input route's verdict (for `ipi_spec_dst`).
    pub(crate) fn raw_local_deliver(&mut self, skb: &SkBuff, proto: u8, bcast: bool) -> bool {
        if self.sockets.raw.count == 0 {
            return false;
        }
        let Some(net) = skb.network_header() else {
            return false;
        };
        if net.len() < ipwire::HEADER_LEN {
            return false;
        }
        let ip = ipwire::Packet::new_unchecked(net);
        let (saddr, daddr) = (ip.src_addr(), ip.dst_addr());
        // raw_v4_input: dif is inet_iif (the device owning the address for what looped back).
        let dif = self.inet_iif(skb.dev, daddr);
        let rx = RxIpInfo {
            // ipv4_pktinfo_prepare: a loopback ipi_ifindex becomes inet_iif (checked on
            // Linux 6.18: a datagram sent to a veth's own address reads that veth's index).
            ifindex: dif,
            daddr,
            dport: 0,
            ttl: ip.hop_limit(),
            tos: ip.tos(),
            bcast: bcast || daddr.is_broadcast(),
            pktinfo_prepared: false,
        };
        let l4 = skb.data();
        let truesize = skb.truesize();
        let t = &mut self.sockets.raw;
        let Some(chain) = t.chains.get(&proto) else {
            return false;
        };
        let mut delivered = false;
        let mut woken: Vec<SocketHandle> = Vec::new();
        // Newest first, as Linux walks its hlist from the head.
        for &i in chain.iter().rev() {
            let Some(s) = t.slots[i as usize].sock.as_mut() else {
                continue;
            };
            if !raw_v4_match(s, proto, saddr, daddr, dif) {
                continue;
            }
            delivered = true;
            if proto == 1 && icmp_filtered(s.filter, l4) {
                continue;
            }
            // raw_rcv -> raw_rcv_skb -> __sock_queue_rcv_skb.
            if s.rmem >= s.rcvbuf || s.rxq.len() >= MAX_QUEUED {
                s.drops += 1;
                t.rcvbuf_errors += 1;
                continue;
            }
            s.rmem += truesize;
            let was_empty = s.rxq.is_empty();
            // raw_rcv_skb -> ipv4_pktinfo_prepare: only with IP_PKTINFO on at this time.
            let rx = RxIpInfo {
                pktinfo_prepared: s.cmsg_flags & cmsg::IP_CMSG_PKTINFO != 0,
                ..rx
            };
            s.rxq.push_back((net.to_vec(), truesize, rx));
            if was_empty {
                woken.push(SocketHandle::from_parts(
                    i | RAW_HANDLE_TAG,
                    t.slots[i as usize].gen,
                ));
            }
        }
        for h in woken {
            self.push_event(Event::Readable(h));
        }
        delivered
    }

    /// `raw_icmp_error` + `raw_err`: the ICMP error `e` (its `payload` the quoted IP header
    /// and at least 8 bytes past it; `truesize` the ICMP packet's) for the raw sockets of
    /// the quoted protocol that sent it, matched as `raw_v4_match` does with the error's
    /// incoming device. A socket hears of it when connected or with `IP_RECVERR`: with
    /// `IP_RECVERR` the error is queued (`ip_icmp_error`) and set in `sk_err`, soft or hard;
    /// without, only a hard one sets `sk_err`.
    pub(crate) fn raw_icmp_error(&mut self, e: &IcmpErr<'_>, truesize: usize) {
        let quoted = e.payload;
        if self.sockets.raw.count == 0 || quoted.len() < ipwire::HEADER_LEN {
            return;
        }
        let (icmp_type, code, dif) = (e.icmp_type, e.code, e.ip.ifindex);
        let ip = ipwire::Packet::new_unchecked(quoted);
        let (proto, src, dst) = (ip.next_header().0, ip.src_addr(), ip.dst_addr());
        let ihl = usize::from(ip.header_len()).min(quoted.len());
        let (err, hard) = match icmp_type {
            // ICMP_SOURCE_QUENCH.
            4 => return,
            // ICMP_PARAMETERPROB.
            12 => (Errno::EPROTO, true),
            3 if code > NR_ICMP_UNREACH => (Errno::EHOSTUNREACH, false),
            // ICMP_FRAG_NEEDED: hard unless IP_PMTUDISC_DONT (raw sockets keep the
            // default IP_PMTUDISC_WANT here).
            3 if code == 4 => (Errno::EMSGSIZE, true),
            3 => crate::ipv4::icmp::unreach_errno(code),
            // ICMP_TIME_EXCEEDED and the rest.
            _ => (Errno::EHOSTUNREACH, false),
        };
        // icmp_unreach's `info`: the next-hop MTU of a fragmentation-needed, the pointer of
        // a parameter problem, else 0 (ee_info).
        let info = match icmp_type {
            3 if code == 4 => e.info & 0xffff,
            12 => e.info >> 24,
            _ => 0,
        };
        let ee = SockExtendedErr {
            ee_errno: err.code() as u32,
            ee_origin: SO_EE_ORIGIN_ICMP,
            ee_type: icmp_type,
            ee_code: code,
            ee_pad: 0,
            ee_info: info,
            ee_data: 0,
        };
        let t = &mut self.sockets.raw;
        let Some(chain) = t.chains.get(&proto) else {
            return;
        };
        let mut woken: Vec<SocketHandle> = Vec::new();
        for &i in chain.iter().rev() {
            let Some(s) = t.slots[i as usize].sock.as_mut() else {
                continue;
            };
            // The quoted datagram went from us: its destination is the peer.
            if !raw_v4_match(s, proto, dst, src, dif) {
                continue;
            }
            if !s.recverr && s.daddr.is_none() {
                continue;
            }
            if s.recverr {
                // ip_icmp_error: the payload from past the quoted IP header, or from the
                // header itself for an IP_HDRINCL socket; sock_queue_err_skb refuses it
                // once the receive charge would reach sk_rcvbuf.
                let payload = if s.hdrincl { quoted } else { &quoted[ihl..] };
                if s.rmem + truesize >= s.rcvbuf || s.errq.len() >= MAX_QUEUED {
                    // Deviation from Linux: the refused error is counted (Linux counts
                    // sock_queue_err_skb's -ENOMEM nowhere).
                    s.errq_drops += 1;
                    t.errq_drops += 1;
                } else {
                    s.rmem += truesize;
                    s.errq.push_back(RawErr {
                        data: payload.to_vec(),
                        truesize,
                        ee,
                        dest: dst,
                        offender: e.offender,
                        ip: e.ip,
                    });
                }
            }
            if !s.recverr && !hard {
                continue;
            }
            s.err = Some(err);
            woken.push(SocketHandle::from_parts(
                i | RAW_HANDLE_TAG,
                t.slots[i as usize].gen,
            ));
        }
        for h in woken {
            self.push_event(Event::Error(h));
        }
    }

    /// `ip_recv_error` for a raw socket (`recvmsg(MSG_ERRQUEUE)`): the oldest queued error,
    /// EAGAIN when none; `msg_name` is the failed datagram's destination with port 0 (a raw
    /// socket's `serr->port`). `sock_dequeue_err_skb` then sets `sk_err` to the next
    /// entry's errno, or clears it after the last.
    pub(crate) fn raw_recv_error(
        &mut self,
        sk: SocketHandle,
        buf: &mut [u8],
    ) -> Result<ErrRecv, Errno> {
        let s = self.sockets.raw.get_mut(sk)?;
        let Some(e) = s.errq.pop_front() else {
            return Err(Errno::EAGAIN);
        };
        s.rmem = s.rmem.saturating_sub(e.truesize);
        let next = s.errq.front().map(|n| n.ee.ee_errno);
        s.err = next.and_then(|c| Errno::from_code(c as i32));
        if next.is_some() {
            self.push_event(Event::Error(sk));
        }
        let n = e.data.len().min(buf.len());
        buf[..n].copy_from_slice(&e.data[..n]);
        Ok(ErrRecv {
            len: n,
            truncated: n < e.data.len(),
            dest: SocketAddrV4::new(e.dest, 0),
            ee: e.ee,
            offender: e.offender,
            ip: e.ip,
        })
    }
}

impl Stack {
    /// The raw socket table's counters.
    pub fn raw_stats(&self) -> RawStats {
        let t = &self.sockets.raw;
        RawStats {
            sockets: t.count,
            table_fulls: t.table_fulls,
            rcvbuf_errors: t.rcvbuf_errors,
            errq_drops: t.errq_drops,
        }
    }

    /// `sk_drops` of a raw socket (EBADF for another kind of socket).
    pub fn raw_drops(&self, id: SocketId) -> Result<u64, Errno> {
        let s = self.socket(id)?;
        if s.ty != SOCK_RAW {
            return Err(Errno::EBADF);
        }
        Ok(self.sockets.raw.get(s.sk)?.drops)
    }

    /// `raw_diag_dump`: up to `max` hashed raw sockets whose state is in `req.states`
    /// (`TCP_ESTABLISHED` when connected, else `TCP_CLOSE`), from slot `cursor`; the next
    /// cursor, or `None` when done. The port is the protocol (`inet_sport`); Recv-Q is the
    /// receive memory; `INET_DIAG_PROTOCOL` is the socket's protocol, as Linux reports it.
    pub(crate) fn raw_diag_dump(
        &self,
        req: &crate::tcp::diag::InetDiagReq,
        cursor: u64,
        max: usize,
    ) -> (Vec<crate::tcp::diag::InetDiagMsg>, Option<u64>) {
        use crate::tcp::TcpState;
        let mut out = Vec::new();
        let slots = &self.sockets.raw.slots;
        let mut idx = usize::try_from(cursor).unwrap_or(usize::MAX);
        while idx < slots.len() {
            if out.len() >= max {
                return (out, Some(idx as u64));
            }
            let slot = &slots[idx];
            idx += 1;
            let Some(s) = slot.sock.as_ref().filter(|s| s.hashed) else {
                continue;
            };
            let state = if s.daddr.is_some() {
                TcpState::Established
            } else {
                TcpState::Close
            };
            if req.states & (1u32 << state.number()) == 0 {
                continue;
            }
            let h = SocketHandle::from_parts((idx as u32 - 1) | RAW_HANDLE_TAG, slot.gen);
            let shutdown = self
                .socket_by_sk(h)
                .and_then(|id| self.socket(id).ok())
                .map_or(0, |k| k.o.shutdown);
            out.push(crate::tcp::diag::InetDiagMsg {
                protocol: s.num as u8,
                state: state.number(),
                timer: crate::tcp::diag::timer::OFF,
                retrans: 0,
                src: SocketAddrV4::new(s.rcv_saddr, s.sport),
                dst: SocketAddrV4::new(s.daddr.unwrap_or(Ipv4Addr::UNSPECIFIED), s.dport),
                expires: 0,
                rqueue: u32::try_from(s.rmem).unwrap_or(u32::MAX),
                wqueue: 0,
                uid: 0,
                inode: 0,
                cookie: (u64::from(slot.gen) << 32) | (idx as u64 - 1),
                shutdown: Some(shutdown),
                cong: None,
                info: None,
            });
        }
        (out, None)
    }
}

fn is_raw(st: &Stack, id: SocketId) -> Result<bool, Errno> {
    Ok(st.socket(id)?.ty == SOCK_RAW)
}

fn raw_sk(st: &Stack, id: SocketId) -> Result<SocketHandle, Errno> {
    Ok(st.socket(id)?.sk)
}

/// `inet_release` → `raw_close` / `ping_close`.
fn sockraw_release(st: &mut Stack, id: SocketId) -> Result<(), Errno> {
    let sk = raw_sk(st, id)?;
    if is_raw(st, id)? {
        st.raw_close(sk)
    } else {
        st.ping_close(sk)
    }
}

/// `inet_bind_sk` → `raw_bind` (or ping's): EINVAL when connected or for a short address
/// (no family check: raw's `bind` comes before `inet_bind`'s), EADDRNOTAVAIL for an
/// address that is not ours (unless `ip_nonlocal_bind`). Binding again is allowed. A
/// broadcast or multicast address receives but sends from the route's source.
fn sockraw_bind(st: &mut Stack, id: SocketId, addr: &SockAddr) -> Result<(), Errno> {
    if !is_raw(st, id)? {
        return super::ping::ping_bind(st, id, addr);
    }
    let sk = raw_sk(st, id)?;
    let connected = st.sockets.raw.get(sk)?.daddr.is_some();
    let sin = match addr.as_inet() {
        Some(sin) if !connected => sin,
        _ => return Err(Errno::EINVAL),
    };
    let ip = *sin.ip();
    let local = st.fib.local(ip);
    let bcast = ip.is_broadcast() || matches!(local, Some(LocalKind::Broadcast(_)));
    let valid = st.cfg.ip_nonlocal_bind
        || ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || bcast
        || matches!(local, Some(LocalKind::Local(_)));
    if !valid {
        return Err(Errno::EADDRNOTAVAIL);
    }
    let s = st.sockets.raw.get_mut(sk)?;
    s.rcv_saddr = ip;
    s.saddr = if bcast || ip.is_multicast() {
        Ipv4Addr::UNSPECIFIED
    } else {
        ip
    };
    Ok(())
}

/// `inet_dgram_connect` → `ip4_datagram_connect` (raw's `connect`) or `__udp_disconnect`
/// for `AF_UNSPEC`, which also unhashes a raw socket: it receives nothing more, as in
/// Linux (raw sockets never take `SOCK_BINDPORT_LOCK`).
fn sockraw_connect(st: &mut Stack, id: SocketId, addr: &SockAddr) -> Result<(), Errno> {
    if !is_raw(st, id)? {
        return super::ping::ping_connect(st, id, addr);
    }
    if addr.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let sk = raw_sk(st, id)?;
    if i32::from(addr.family()) == AF_UNSPEC {
        let (i, _) = RawTable::index(sk).ok_or(Errno::EBADF)?;
        let s = st.sockets.raw.get_mut(sk)?;
        s.daddr = None;
        s.dport = 0;
        // No SOCK_BINDADDR_LOCK on raw sockets: inet_reset_saddr.
        s.saddr = Ipv4Addr::UNSPECIFIED;
        s.rcv_saddr = Ipv4Addr::UNSPECIFIED;
        s.sport = 0;
        st.sockets.raw.unhash(i as u32);
        return Ok(());
    }
    let sin = addr.as_inet().ok_or(Errno::EINVAL)?;
    if i32::from(addr.family()) != AF_INET {
        return Err(Errno::EAFNOSUPPORT);
    }
    let r = st.sockets.raw.get(sk)?;
    let (saddr, oif) = (r.saddr, r.bound_dev_if);
    let dst = st.route_output_oif(*sin.ip(), (!saddr.is_unspecified()).then_some(saddr), oif)?;
    let broadcast_ok = st.socket(id)?.o.broadcast;
    if dst.kind == RouteKind::Broadcast && !broadcast_ok {
        return Err(Errno::EACCES);
    }
    let id16 = st.rand_u32() as u16;
    let s = st.sockets.raw.get_mut(sk)?;
    if s.saddr.is_unspecified() {
        s.saddr = dst.src;
    }
    if s.rcv_saddr.is_unspecified() {
        s.rcv_saddr = dst.src;
    }
    s.daddr = Some(*sin.ip());
    s.dport = sin.port();
    s.inet_id = id16;
    Ok(())
}

/// `inet_getname`: a raw socket's port is its protocol (`inet_sport`); the peer needs a
/// nonzero `inet_dport` (connect() with port 0 leaves getpeername ENOTCONN).
fn sockraw_getname(st: &Stack, id: SocketId, peer: bool) -> Result<SocketAddrV4, Errno> {
    if !is_raw(st, id)? {
        return inet_getname(st, id, peer);
    }
    let s = st.sockets.raw.get(raw_sk(st, id)?)?;
    if peer {
        match s.daddr {
            Some(d) if s.dport != 0 => Ok(SocketAddrV4::new(d, s.dport)),
            _ => Err(Errno::ENOTCONN),
        }
    } else {
        let a = if s.rcv_saddr.is_unspecified() {
            s.saddr
        } else {
            s.rcv_saddr
        };
        Ok(SocketAddrV4::new(a, s.sport))
    }
}

/// `inet_shutdown` on a raw socket: ENOTCONN unless connected (the bits are set anyway).
fn sockraw_shutdown(st: &mut Stack, id: SocketId, how: i32) -> Result<(), Errno> {
    if !is_raw(st, id)? {
        return inet_shutdown(st, id, how);
    }
    let bits = how.wrapping_add(1);
    if bits & !3 != 0 || bits == 0 {
        return Err(Errno::EINVAL);
    }
    let connected = st.sockets.raw.get(raw_sk(st, id)?)?.daddr.is_some();
    st.sock_mut(id)?.o.shutdown |= bits as u8;
    if connected {
        Ok(())
    } else {
        Err(Errno::ENOTCONN)
    }
}

/// `datagram_poll`.
fn sockraw_poll(st: &Stack, id: SocketId) -> Result<PollMask, Errno> {
    if !is_raw(st, id)? {
        return super::poll::datagram_poll(st, id);
    }
    let s = st.socket(id)?;
    let r = st.sockets.raw.get(s.sk)?;
    Ok(super::poll::datagram_mask(
        s.o.shutdown,
        r.err.is_some() || !r.errq.is_empty(),
        !r.rxq.is_empty(),
    ))
}

/// The destination of `raw_sendmsg`: EINVAL for a short address, EAFNOSUPPORT for a
/// family other than `AF_INET` or `AF_UNSPEC`, EDESTADDRREQ unconnected without one.
fn raw_daddr(s: &RawSock, to: Option<&SockAddr>) -> Result<Ipv4Addr, Errno> {
    match to {
        Some(a) if !a.is_empty() => {
            let sin = a.as_inet().ok_or(Errno::EINVAL)?;
            let fam = i32::from(a.family());
            if fam != AF_INET && fam != AF_UNSPEC {
                return Err(Errno::EAFNOSUPPORT);
            }
            Ok(*sin.ip())
        }
        _ => s.daddr.ok_or(Errno::EDESTADDRREQ),
    }
}

/// `raw_sendmsg` (or ping's): see [`Stack::raw_sendmsg`].
fn sockraw_sendmsg(
    st: &mut Stack,
    id: SocketId,
    buf: &[u8],
    flags: i32,
    to: Option<&SockAddr>,
) -> Result<usize, Errno> {
    if !is_raw(st, id)? {
        return super::ping::ping_v4_sendmsg(st, id, buf, flags, to);
    }
    st.raw_sendmsg(id, buf, flags, to)
}

impl Stack {
    /// `raw_sendmsg`, checks in Linux's order: over 65535 bytes EMSGSIZE, `MSG_OOB`
    /// EOPNOTSUPP, the address (see `raw_daddr`), an ICMP socket's message shorter than
    /// type and code EFAULT (`raw_probe_proto_opt`), the route (ENETUNREACH), a broadcast
    /// without `SO_BROADCAST` EACCES. Then either `raw_send_hdrinc` or the stack's header
    /// (`ip_append_data`: EMSGSIZE past 65535 with the header; larger than the path MTU
    /// it is fragmented, as `IP_PMTUDISC_WANT` allows).
    fn raw_sendmsg(
        &mut self,
        id: SocketId,
        buf: &[u8],
        flags: i32,
        to: Option<&SockAddr>,
    ) -> Result<usize, Errno> {
        let sock = self.socket(id)?;
        let (sk, tos, broadcast_ok, shut) =
            (sock.sk, sock.o.tos, sock.o.broadcast, sock.o.shutdown);
        let (mark, priority) = (sock.o.mark, sock.o.priority);
        if buf.len() > 0xffff {
            return Err(Errno::EMSGSIZE);
        }
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let s = self.sockets.raw.get(sk)?;
        let daddr = raw_daddr(s, to)?;
        let (hdrincl, num, saddr, oif) = (s.hdrincl, s.num, s.saddr, s.bound_dev_if);
        if !hdrincl && num == IPPROTO_ICMP as u16 && buf.len() < 2 {
            return Err(Errno::EFAULT);
        }
        let saddr = (!saddr.is_unspecified() && !daddr.is_multicast()).then_some(saddr);
        // ipc.oif = sk_bound_dev_if.
        let dst = self.route_output_oif(daddr, saddr, oif)?;
        if dst.kind == RouteKind::Broadcast && !broadcast_ok {
            return Err(Errno::EACCES);
        }
        if hdrincl {
            self.raw_send_hdrinc(sk, dst, daddr, buf, shut)?;
        } else {
            if buf.len() > 0xffff - ipwire::HEADER_LEN {
                return Err(Errno::EMSGSIZE);
            }
            // ip_select_ident: a connected socket's own counter; otherwise the hashed
            // generator, DF or not (ip_append_data sets ignore_df under IP_PMTUDISC_WANT).
            let rand = self.rand_u32();
            let now_ms = self.now.as_millis();
            let src = saddr.unwrap_or(dst.src);
            let hashed = self.idents.select(now_ms, daddr, src, num as u8, rand);
            let s = self.sockets.raw.get_mut(sk)?;
            let ttl = s.ttl.unwrap_or(self.cfg.ip_default_ttl);
            let sock_id = Some(match s.daddr {
                Some(_) => {
                    let v = s.inet_id;
                    s.inet_id = s.inet_id.wrapping_add(1);
                    v
                }
                None => hashed,
            });
            let mut skb = self.pool.alloc(buf.len());
            skb.put_slice(buf);
            if num == IPPROTO_ICMP as u16 {
                // __ip_make_skb: icmp_out_count with the type raw_probe_proto_opt read.
                self.stats.icmp_out(buf[0]);
            }
            let p = IpParams {
                daddr,
                // __ip_make_skb: iph->protocol = sk->sk_protocol (a u8 in the header).
                proto: ipwire::Protocol(num as u8),
                ttl,
                tos,
                pmtudisc_want: true,
                sock_id,
                ignore_df: true,
                mark,
                priority,
            };
            self.ip_send(dst, p, skb);
        }
        self.process_backlog();
        Ok(buf.len())
    }

    /// `raw_send_hdrinc`: the user's header goes out as written, except that with an IHL
    /// of at least 5 the stack fills `tot_len` and the header checksum always, the source
    /// when it is 0 (the route's) and the ID when it is 0 (none with DF set). EMSGSIZE
    /// above the device MTU, EINVAL below 20 bytes or for an IHL past the data; then
    /// `sock_alloc_send_skb`'s pending error and EPIPE after `shutdown(SHUT_WR)`.
    fn raw_send_hdrinc(
        &mut self,
        sk: SocketHandle,
        dst: crate::route::Dst,
        daddr: Ipv4Addr,
        buf: &[u8],
        shut: u8,
    ) -> Result<(), Errno> {
        let dev_mtu = self.device(dst.dev).map_or(1500, |d| d.mtu) as usize;
        if buf.len() > dev_mtu {
            // Deviation from Linux: no local error (IP_RECVERR) is queued with it.
            return Err(Errno::EMSGSIZE);
        }
        if buf.len() < ipwire::HEADER_LEN {
            return Err(Errno::EINVAL);
        }
        if let Some(e) = self.sockets.raw.get_mut(sk)?.err.take() {
            return Err(e);
        }
        if shut & SEND_SHUTDOWN != 0 {
            return Err(Errno::EPIPE);
        }
        let ihl = usize::from(buf[0] & 0x0f) * 4;
        if ihl > buf.len() {
            return Err(Errno::EINVAL);
        }
        let mut skb = self.pool.alloc(buf.len());
        skb.put_slice(buf);
        if ihl >= ipwire::HEADER_LEN {
            let rand = self.rand_u32();
            let now_ms = self.now.as_millis();
            let data = skb.data_mut();
            let mut p = ipwire::Packet::new_unchecked(&mut *data);
            if p.src_addr().is_unspecified() {
                p.set_src_addr(dst.src);
            }
            p.set_total_len(buf.len() as u16);
            if p.ident() == 0 && !p.dont_frag() {
                // ip_select_ident without a socket: __ip_select_ident.
                let (d, s, proto) = (p.dst_addr(), p.src_addr(), p.next_header().0);
                let id = self.idents.select(now_ms, d, s, proto, rand);
                p.set_ident(id);
            }
            p.fill_checksum();
            if p.next_header() == ipwire::Protocol::ICMP && buf.len() >= ihl + ICMPH_LEN {
                let t = buf[ihl];
                self.stats.icmp_out(t);
            }
        }
        skb.reset_network_header();
        self.stats.ip.out_requests += 1;
        self.ip_output(dst, daddr, skb);
        Ok(())
    }
}

/// `raw_recvmsg` (or ping's): `MSG_OOB` EOPNOTSUPP, `MSG_ERRQUEUE` an empty error queue
/// (EAGAIN), a pending error first, then the next datagram from its IP header, truncated
/// to `buf` with `MSG_TRUNC` in `msg_flags` (`MSG_TRUNC` in `flags` returns the full
/// length), `MSG_PEEK` leaves it queued; the sender's address with port 0. EAGAIN when
/// none is queued; 0 after `shutdown(SHUT_RD)` on a blocking socket.
fn sockraw_recvmsg(
    st: &mut Stack,
    id: SocketId,
    buf: &mut [u8],
    flags: i32,
) -> Result<MsgInfo, Errno> {
    let sock = st.socket(id)?;
    if sock.ty != SOCK_RAW {
        return super::ping::ping_recvmsg(st, id, buf, flags);
    }
    let (sk, nonblock, shut) = (sock.sk, sock.nonblock, sock.o.shutdown);
    if flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    if flags & MSG_ERRQUEUE != 0 {
        let r = st.raw_recv_error(sk, buf)?;
        return Ok(MsgInfo {
            len: r.len,
            from: Some(r.dest),
            flags: MSG_ERRQUEUE | if r.truncated { MSG_TRUNC } else { 0 },
        });
    }
    raw_recv_datagram(st, sk, nonblock, shut, buf, flags).map(|(m, _)| m)
}

/// `raw_recvmsg` past `MSG_OOB` / `MSG_ERRQUEUE`: the pending error, then the next
/// datagram (see [`sockraw_recvmsg`]) with the IP metadata `ip_cmsg_recv` needs.
fn raw_recv_datagram(
    st: &mut Stack,
    sk: SocketHandle,
    nonblock: bool,
    shut: u8,
    buf: &mut [u8],
    flags: i32,
) -> Result<(MsgInfo, Option<RxIpInfo>), Errno> {
    let s = st.sockets.raw.get_mut(sk)?;
    if let Some(e) = s.err.take() {
        return Err(e);
    }
    let Some((data, truesize, rx)) = s.rxq.front() else {
        if shut & RCV_SHUTDOWN != 0 && !nonblock && flags & MSG_DONTWAIT == 0 {
            let m = MsgInfo {
                len: 0,
                from: None,
                flags: 0,
            };
            return Ok((m, None));
        }
        return Err(Errno::EAGAIN);
    };
    let (dlen, truesize, rx) = (data.len(), *truesize, *rx);
    let n = dlen.min(buf.len());
    buf[..n].copy_from_slice(&data[..n]);
    let from = if dlen >= ipwire::HEADER_LEN {
        ipwire::Packet::new_unchecked(&data[..]).src_addr()
    } else {
        Ipv4Addr::UNSPECIFIED
    };
    if flags & MSG_PEEK == 0 {
        s.rxq.pop_front();
        s.rmem = s.rmem.saturating_sub(truesize);
    }
    let m = MsgInfo {
        len: if flags & MSG_TRUNC != 0 { dlen } else { n },
        from: Some(SocketAddrV4::new(from, 0)),
        flags: if n < dlen { MSG_TRUNC } else { 0 },
    };
    Ok((m, Some(rx)))
}

impl Stack {
    /// `raw_recvmsg` with `msg_control` (see [`Stack::sys_recvmsg_cmsg`]): `MSG_ERRQUEUE`
    /// reads the error queue (`ip_recv_error`: the error's `IP_RECVERR` message with
    /// `SO_EE_OFFENDER`, `msg_name` the failed datagram's destination with port 0,
    /// `MSG_ERRQUEUE` in the flags).
    pub(crate) fn raw_recvmsg_cmsg(
        &mut self,
        id: SocketId,
        buf: &mut [u8],
        flags: i32,
        cmsgs: &mut CmsgBuf,
    ) -> Result<MsgInfo, Errno> {
        let sock = self.socket(id)?;
        let (sk, nonblock, shut) = (sock.sk, sock.nonblock, sock.o.shutdown);
        if flags & MSG_OOB != 0 {
            return Err(Errno::EOPNOTSUPP);
        }
        let cflags = self.sockets.raw.get(sk)?.cmsg_flags;
        if flags & MSG_ERRQUEUE != 0 {
            let r = self.raw_recv_error(sk, buf)?;
            // ipv4_datagram_support_cmsg: an ICMP error brings the ICMP packet's cmsgs.
            // Its IP_PKTINFO is IPCB's: the incoming device, ipi_spec_dst 0 (no
            // ipv4_pktinfo_prepare ran on it), ipi_addr the ICMP packet's destination.
            if cflags & cmsg::IP_CMSG_PKTINFO != 0 {
                cmsgs.push(Cmsg::PktInfo {
                    ifindex: r.ip.ifindex,
                    spec_dst: Ipv4Addr::UNSPECIFIED,
                    addr: r.ip.daddr,
                });
            }
            self.ip_cmsg_recv(cflags & !cmsg::IP_CMSG_PKTINFO, &r.ip, r.offender, cmsgs);
            cmsgs.push(Cmsg::RecvErr {
                ee: r.ee,
                offender: r.offender,
            });
            return Ok(MsgInfo {
                len: r.len,
                from: Some(r.dest),
                flags: MSG_ERRQUEUE | if r.truncated { MSG_TRUNC } else { 0 },
            });
        }
        let (m, rx) = raw_recv_datagram(self, sk, nonblock, shut, buf, flags)?;
        // raw_recvmsg: ip_cmsg_recv when any cmsg flag is on.
        if let (Some(rx), Some(from), true) = (rx, m.from, cflags != 0) {
            self.ip_cmsg_recv(cflags, &rx, *from.ip(), cmsgs);
        }
        Ok(m)
    }
}

/// `sock_common_setsockopt` → `raw_setsockopt`: `SOL_RAW` has `ICMP_FILTER` only
/// (EOPNOTSUPP on a socket not of `IPPROTO_ICMP`, ENOPROTOOPT for another name); `SOL_IP`
/// has `IP_HDRINCL`, `IP_TTL`, `IP_TOS`; `SOL_SOCKET` options that live in the protocol
/// sock are handled here, the rest by `sk_setsockopt`.
fn sockraw_setsockopt(
    st: &mut Stack,
    id: SocketId,
    level: i32,
    name: i32,
    v: &[u8],
) -> Result<(), Errno> {
    if !is_raw(st, id)? {
        return opt::sock_common_setsockopt(st, id, level, name, v);
    }
    let sk = raw_sk(st, id)?;
    match level {
        SOL_RAW => {
            if name != ICMP_FILTER {
                return Err(Errno::ENOPROTOOPT);
            }
            let s = st.sockets.raw.get_mut(sk)?;
            if s.num != IPPROTO_ICMP as u16 {
                return Err(Errno::EOPNOTSUPP);
            }
            // raw_seticmpfilter: at most 4 bytes copied over the old mask.
            let mut b = s.filter.to_ne_bytes();
            let n = v.len().min(4);
            b[..n].copy_from_slice(&v[..n]);
            s.filter = u32::from_ne_bytes(b);
            Ok(())
        }
        opt::SOL_SOCKET => raw_sk_setsockopt(st, id, sk, name, v),
        opt::SOL_IP => {
            let val = if v.len() >= 4 {
                opt::int_of(v)?
            } else if let Some(&b) = v.first() {
                i32::from(b)
            } else {
                0
            };
            match name {
                opt::IP_HDRINCL => {
                    st.sockets.raw.get_mut(sk)?.hdrincl = val != 0;
                    Ok(())
                }
                opt::IP_TTL => {
                    if v.is_empty() || (val != -1 && !(1..=255).contains(&val)) {
                        return Err(Errno::EINVAL);
                    }
                    st.sockets.raw.get_mut(sk)?.ttl = (val != -1).then_some(val as u8);
                    Ok(())
                }
                cmsg::IP_PKTINFO | cmsg::IP_RECVTTL | cmsg::IP_RECVTOS => {
                    let bit = match name {
                        cmsg::IP_PKTINFO => cmsg::IP_CMSG_PKTINFO,
                        cmsg::IP_RECVTTL => cmsg::IP_CMSG_TTL,
                        _ => cmsg::IP_CMSG_TOS,
                    };
                    let s = st.sockets.raw.get_mut(sk)?;
                    if val != 0 {
                        s.cmsg_flags |= bit;
                    } else {
                        s.cmsg_flags &= !bit;
                    }
                    Ok(())
                }
                cmsg::IP_RECVERR => {
                    // do_ip_setsockopt: turning it off purges the error queue.
                    let s = st.sockets.raw.get_mut(sk)?;
                    s.recverr = val != 0;
                    if !s.recverr {
                        let freed: usize = s.errq.drain(..).map(|e| e.truesize).sum();
                        s.rmem = s.rmem.saturating_sub(freed);
                    }
                    Ok(())
                }
                opt::IP_TOS => {
                    let tos = val as u8;
                    let s = st.sock_mut(id)?;
                    if s.o.tos != tos {
                        s.o.tos = tos;
                        s.o.priority = u32::from(opt::ip_tos2prio(tos));
                    }
                    Ok(())
                }
                // Deviation from Linux: IP_OPTIONS, IP_RECVOPTS, IP_RETOPTS,
                // IP_RECVORIGDSTADDR, IP_MTU_DISCOVER, the multicast options and the rest
                // are not done on raw sockets yet (ENOPROTOOPT).
                _ => Err(Errno::ENOPROTOOPT),
            }
        }
        // ip_setsockopt: a level other than SOL_IP.
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// The `SOL_SOCKET` options whose state a raw sock keeps; the others go to
/// `sk_setsockopt`.
fn raw_sk_setsockopt(
    st: &mut Stack,
    id: SocketId,
    sk: SocketHandle,
    name: i32,
    v: &[u8],
) -> Result<(), Errno> {
    match name {
        opt::SO_RCVBUF | opt::SO_RCVBUFFORCE => {
            let val = opt::int_of(v)?;
            let force = name == opt::SO_RCVBUFFORCE;
            if force && !st.socket(id)?.privileged {
                return Err(Errno::EPERM);
            }
            let bytes = if force {
                val.max(0) as usize
            } else {
                (val as u32 as usize).min(st.cfg.rmem_max)
            };
            let bytes = bytes.min(i32::MAX as usize / 2);
            st.sockets.raw.get_mut(sk)?.rcvbuf = (bytes * 2).max(opt::SOCK_MIN_RCVBUF);
            Ok(())
        }
        opt::SO_BROADCAST | opt::SO_KEEPALIVE | opt::SO_OOBINLINE | opt::SO_REUSEADDR => {
            let on = opt::int_of(v)? != 0;
            let o = &mut st.sock_mut(id)?.o;
            match name {
                opt::SO_BROADCAST => o.broadcast = on,
                opt::SO_KEEPALIVE => o.keepalive = on,
                opt::SO_OOBINLINE => o.oobinline = on,
                _ => o.reuse = on,
            }
            Ok(())
        }
        opt::SO_LINGER => {
            if v.len() < 8 {
                return Err(Errno::EINVAL);
            }
            let on = opt::int_of(v)? != 0;
            let secs = opt::int_of(&v[4..])?;
            st.sock_mut(id)?.o.linger = on.then_some(secs as u32);
            Ok(())
        }
        opt::SO_SNDBUF | opt::SO_SNDBUFFORCE => {
            let val = opt::int_of(v)?;
            let force = name == opt::SO_SNDBUFFORCE;
            if force && !st.socket(id)?.privileged {
                return Err(Errno::EPERM);
            }
            let bytes = if force {
                val.max(0) as usize
            } else {
                (val as u32 as usize).min(st.cfg.wmem_max)
            };
            let bytes = bytes.min(i32::MAX as usize / 2);
            st.sock_mut(id)?.o.sndbuf = (bytes * 2).max(opt::SOCK_MIN_SNDBUF);
            Ok(())
        }
        opt::SO_RCVLOWAT => {
            let val = opt::int_of(v)?;
            let val = if val < 0 { i32::MAX } else { val };
            st.sock_mut(id)?.o.rcvlowat = val.max(1);
            Ok(())
        }
        _ => opt::sk_setsockopt(st, id, name, v),
    }
}

/// `sock_common_getsockopt` → `raw_getsockopt` (see [`sockraw_setsockopt`]); at other
/// levels than `SOL_IP`, `ip_getsockopt` answers EOPNOTSUPP.
fn sockraw_getsockopt(
    st: &mut Stack,
    id: SocketId,
    level: i32,
    name: i32,
    out: &mut [u8],
) -> Result<usize, Errno> {
    if !is_raw(st, id)? {
        return opt::sock_common_getsockopt(st, id, level, name, out);
    }
    let s = st.socket(id)?;
    let (sk, o, ty) = (s.sk, s.o, s.ty);
    let r = st.sockets.raw.get(sk)?;
    match level {
        SOL_RAW => {
            if name != ICMP_FILTER {
                return Err(Errno::ENOPROTOOPT);
            }
            if r.num != IPPROTO_ICMP as u16 {
                return Err(Errno::EOPNOTSUPP);
            }
            // raw_geticmpfilter: min(len, 4) bytes.
            Ok(opt::put(out, &r.filter.to_ne_bytes()))
        }
        opt::SOL_SOCKET => {
            let val: i32 = match name {
                opt::SO_RCVBUF => r.rcvbuf as i32,
                opt::SO_BROADCAST => o.broadcast.into(),
                opt::SO_REUSEADDR => o.reuse.into(),
                opt::SO_KEEPALIVE => o.keepalive.into(),
                opt::SO_OOBINLINE => o.oobinline.into(),
                opt::SO_SNDBUF => o.sndbuf as i32,
                opt::SO_ACCEPTCONN => 0,
                opt::SO_LINGER => {
                    let mut b = [0u8; 8];
                    b[..4].copy_from_slice(&i32::from(o.linger.is_some()).to_ne_bytes());
                    b[4..].copy_from_slice(&(o.linger.unwrap_or(0) as i32).to_ne_bytes());
                    return Ok(opt::put(out, &b));
                }
                opt::SO_TYPE => ty,
                opt::SO_ERROR => {
                    let e = st.sockets.raw.get_mut(sk)?.err.take();
                    e.map_or(0, Errno::code)
                }
                _ => return opt::sk_getsockopt(st, id, name, out),
            };
            Ok(opt::put_int(out, val))
        }
        opt::SOL_IP => {
            let val: i32 = match name {
                opt::IP_HDRINCL => r.hdrincl.into(),
                opt::IP_TTL => i32::from(r.ttl.unwrap_or(st.cfg.ip_default_ttl)),
                opt::IP_TOS => i32::from(o.tos),
                cmsg::IP_RECVERR => r.recverr.into(),
                cmsg::IP_PKTINFO => (r.cmsg_flags & cmsg::IP_CMSG_PKTINFO != 0).into(),
                cmsg::IP_RECVTTL => (r.cmsg_flags & cmsg::IP_CMSG_TTL != 0).into(),
                cmsg::IP_RECVTOS => (r.cmsg_flags & cmsg::IP_CMSG_TOS != 0).into(),
                _ => return Err(Errno::ENOPROTOOPT),
            };
            if !out.is_empty() && out.len() < 4 && (0..=255).contains(&val) {
                out[0] = val as u8;
                return Ok(1);
            }
            Ok(opt::put_int(out, val))
        }
        _ => Err(Errno::EOPNOTSUPP),
    }
}

#[cfg(test)]
#[path = "raw_tests.rs"]
mod tests;

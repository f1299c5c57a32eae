//! Ancillary data of `recvmsg` on datagram sockets: the `SOL_IP` control messages
//! IP_PKTINFO, IP_TTL, IP_TOS, IP_ORIGDSTADDR and IP_RECVERR, their socket options, and `recvmsg` with
//! them ([`Stack::sys_recvmsg_cmsg`]), including `MSG_ERRQUEUE`.
//!
//! Linux: net/ipv4/ip_sockglue.c (`ip_cmsg_recv_offset`, `ip_cmsg_recv_pktinfo`,
//! `ip_cmsg_recv_ttl`, `ip_cmsg_recv_tos`, `ip_cmsg_recv_dstaddr`, `ip_recv_error`, `do_ip_setsockopt`'s
//! IP_PKTINFO / IP_RECVTTL / IP_RECVTOS / IP_RECVERR), net/ipv4/fib_frontend.c
//! (`fib_compute_spec_dst`), include/uapi/linux/in.h (`struct in_pktinfo`),
//! include/uapi/linux/errqueue.h, include/linux/socket.h (`CMSG_*` layout).
//! RFCs: RFC 3542 (the IPv6 analogue of these options; IPv4's are Linux's own).
//!
//! Control messages are collected in a [`CmsgBuf`], a fixed array (no allocation per
//! call); [`CmsgBuf::encode`] writes them as Linux lays out `msg_control` on a 64-bit
//! machine (`struct cmsghdr` of 16 bytes, 8-byte alignment).

use core::net::{Ipv4Addr, SocketAddrV4};

use super::addr::{MSG_ERRQUEUE, MSG_TRUNC};
use super::{MsgInfo, SocketId};
use crate::errno::Errno;
use crate::stack::Stack;
use crate::udp::errqueue::SockExtendedErr;
use crate::udp::RxIpInfo;

/// `IP_PKTINFO` (option and cmsg type).
pub const IP_PKTINFO: i32 = 8;
/// `IP_RECVERR` (option and cmsg type).
pub const IP_RECVERR: i32 = 11;
/// `IP_RECVTTL` (its cmsg type is `IP_TTL`).
pub const IP_RECVTTL: i32 = 12;
/// `IP_RECVTOS` (its cmsg type is `IP_TOS`).
pub const IP_RECVTOS: i32 = 13;
/// `IP_RECVORIGDSTADDR` (= `IP_ORIGDSTADDR`, its cmsg type).
pub const IP_RECVORIGDSTADDR: i32 = 20;
/// `IP_CMSG_PKTINFO` bit of `inet->cmsg_flags`.
pub const IP_CMSG_PKTINFO: u8 = 1 << 0;
/// `IP_CMSG_TTL`.
pub const IP_CMSG_TTL: u8 = 1 << 1;
/// `IP_CMSG_TOS`.
pub const IP_CMSG_TOS: u8 = 1 << 2;
/// `IP_CMSG_ORIGDSTADDR`.
pub const IP_CMSG_ORIGDSTADDR: u8 = 1 << 6;

/// One control message at `SOL_IP`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cmsg {
    /// `IP_PKTINFO`: `struct in_pktinfo`.
    PktInfo {
        /// `ipi_ifindex`.
        ifindex: u32,
        /// `ipi_spec_dst`: the local address a reply would come from.
        spec_dst: Ipv4Addr,
        /// `ipi_addr`: the header's destination.
        addr: Ipv4Addr,
    },
    /// `IP_TTL`: an int.
    Ttl(i32),
    /// `IP_TOS`: one byte.
    Tos(u8),
    /// `IP_ORIGDSTADDR`: `struct sockaddr_in` of the header's destination address and
    /// the UDP destination port (for a transparent socket, the original destination).
    OrigDstAddr(SocketAddrV4),
    /// `IP_RECVERR`: `struct sock_extended_err` and `SO_EE_OFFENDER`.
    RecvErr {
        /// The error.
        ee: SockExtendedErr,
        /// The ICMP sender.
        offender: Ipv4Addr,
    },
}

impl Cmsg {
    /// `cmsg_type`.
    pub fn cmsg_type(&self) -> i32 {
        match self {
            Cmsg::PktInfo { .. } => IP_PKTINFO,
            Cmsg::Ttl(_) => super::opt::IP_TTL,
            Cmsg::Tos(_) => super::opt::IP_TOS,
            Cmsg::OrigDstAddr(_) => IP_RECVORIGDSTADDR,
            Cmsg::RecvErr { .. } => IP_RECVERR,
        }
    }

    /// The payload as Linux writes it; returns its length.
    fn payload(&self, out: &mut [u8; 32]) -> usize {
        match *self {
            Cmsg::PktInfo {
                ifindex,
                spec_dst,
                addr,
            } => {
                out[..4].copy_from_slice(&ifindex.to_ne_bytes());
                out[4..8].copy_from_slice(&spec_dst.octets());
                out[8..12].copy_from_slice(&addr.octets());
                12
            }
            Cmsg::Ttl(t) => {
                out[..4].copy_from_slice(&t.to_ne_bytes());
                4
            }
            Cmsg::Tos(t) => {
                out[0] = t;
                1
            }
            Cmsg::OrigDstAddr(a) => {
                // struct sockaddr_in: family, port and address in network order, sin_zero.
                out[..2].copy_from_slice(&2u16.to_ne_bytes());
                out[2..4].copy_from_slice(&a.port().to_be_bytes());
                out[4..8].copy_from_slice(&a.ip().octets());
                out[8..16].fill(0);
                16
            }
            Cmsg::RecvErr { ee, offender } => {
                out[..4].copy_from_slice(&ee.ee_errno.to_ne_bytes());
                out[4] = ee.ee_origin;
                out[5] = ee.ee_type;
                out[6] = ee.ee_code;
                out[7] = ee.ee_pad;
                out[8..12].copy_from_slice(&ee.ee_info.to_ne_bytes());
                out[12..16].copy_from_slice(&ee.ee_data.to_ne_bytes());
                // struct sockaddr_in: family, port 0, the address, zero padding.
                out[16..18].copy_from_slice(&2u16.to_ne_bytes());
                out[18..20].fill(0);
                out[20..24].copy_from_slice(&offender.octets());
                out[24..32].fill(0);
                32
            }
        }
    }
}

/// Most control messages one `recvmsg` returns here (PKTINFO, TTL, TOS, ORIGDSTADDR,
/// RECVERR).
pub const CMSG_MAX: usize = 5;

/// The control messages of one `recvmsg`, in Linux's order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CmsgBuf {
    items: [Option<Cmsg>; CMSG_MAX],
    n: usize,
}

impl CmsgBuf {
    /// Empty.
    pub fn new() -> CmsgBuf {
        CmsgBuf::default()
    }

    /// Forget every message.
    pub fn clear(&mut self) {
        *self = CmsgBuf::default();
    }

    pub(crate) fn push(&mut self, c: Cmsg) {
        // CMSG_MAX covers every kind once; a fifth never happens.
        if let Some(slot) = self.items.get_mut(self.n) {
            *slot = Some(c);
            self.n += 1;
        }
    }

    /// The messages.
    pub fn iter(&self) -> impl Iterator<Item = &Cmsg> {
        self.items[..self.n].iter().flatten()
    }

    /// Number of messages.
    pub fn len(&self) -> usize {
        self.n
    }

    /// No messages.
    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    /// Write `msg_control` as `put_cmsg` does on 64-bit Linux: each message a 16-byte
    /// `cmsghdr` (`cmsg_len` = 16 + payload, `SOL_IP`, type) then the payload, padded to
    /// 8 bytes. A message that does not fit whole is left out and `MSG_CTRUNC` is
    /// returned in the flags. Returns (`msg_controllen`, flags).
    pub fn encode(&self, out: &mut [u8]) -> (usize, i32) {
        let mut off = 0;
        let mut flags = 0;
        for c in self.iter() {
            let mut p = [0u8; 32];
            let plen = c.payload(&mut p);
            let len = 16 + plen;
            let space = (len + 7) & !7;
            if off + len > out.len() {
                flags |= super::addr::MSG_CTRUNC;
                break;
            }
            out[off..off + 8].copy_from_slice(&(len as u64).to_ne_bytes());
            out[off + 8..off + 12].copy_from_slice(&0i32.to_ne_bytes());
            out[off + 12..off + 16].copy_from_slice(&c.cmsg_type().to_ne_bytes());
            out[off + 16..off + len].copy_from_slice(&p[..plen]);
            let end = (off + space).min(out.len());
            out[off + len..end].fill(0);
            off = end;
        }
        (off, flags)
    }
}

impl Stack {
    /// `ip_cmsg_recv_offset` for the bits in `flags`: IP_PKTINFO (`ipi_spec_dst` from
    /// `fib_compute_spec_dst`), IP_TTL, IP_TOS.
    pub(crate) fn ip_cmsg_recv(
        &mut self,
        flags: u8,
        ip: &RxIpInfo,
        from: Ipv4Addr,
        out: &mut CmsgBuf,
    ) {
        if flags & IP_CMSG_PKTINFO != 0 {
            // fib_compute_spec_dst: a unicast destination is its own answer; for a
            // broadcast the source address of the route back to the sender.
            // ipv4_pktinfo_prepare ran only if IP_PKTINFO was on when the datagram was
            // queued; otherwise Linux reports ifindex 0 and spec_dst 0.0.0.0.
            // Deviation from Linux: spec_dst is computed here at read time (Linux: at
            // queue time), so a route change in between can give another address.
            let spec_dst = if !ip.pktinfo_prepared {
                Ipv4Addr::UNSPECIFIED
            } else if ip.bcast {
                self.route_output(from, None)
                    .map(|d| d.src)
                    .unwrap_or(Ipv4Addr::UNSPECIFIED)
            } else {
                ip.daddr
            };
            out.push(Cmsg::PktInfo {
                ifindex: if ip.pktinfo_prepared { ip.ifindex } else { 0 },
                spec_dst,
                addr: ip.daddr,
            });
        }
        if flags & IP_CMSG_TTL != 0 {
            out.push(Cmsg::Ttl(i32::from(ip.ttl)));
        }
        if flags & IP_CMSG_TOS != 0 {
            out.push(Cmsg::Tos(ip.tos));
        }
        if flags & IP_CMSG_ORIGDSTADDR != 0 {
            // ip_cmsg_recv_dstaddr: the header's destination and the transport header's
            // destination port.
            // Deviation from Linux: on an error-queue read the port is 0 (Linux reads the
            // two bytes at the ICMP packet's transport offset + 2).
            out.push(Cmsg::OrigDstAddr(SocketAddrV4::new(ip.daddr, ip.dport)));
        }
    }

    /// `recvmsg(fd, msg, flags)` with `msg_control`: as [`Stack::sys_recvmsg`], and the
    /// control messages of a UDP, ping or raw socket (raw: `Stack::raw_recvmsg_cmsg`) in
    /// `cmsgs` (cleared first). `MSG_ERRQUEUE` reads the error queue (`ip_recv_error`): the
    /// quoted payload, `msg_name` the failed datagram's destination, `MSG_ERRQUEUE` in the
    /// flags and an IP_RECVERR message; EAGAIN when it is empty. Other socket types answer as `sys_recvmsg` with no control messages.
    pub fn sys_recvmsg_cmsg(
        &mut self,
        id: SocketId,
        buf: &mut [u8],
        flags: i32,
        cmsgs: &mut CmsgBuf,
    ) -> Result<MsgInfo, Errno> {
        cmsgs.clear();
        let s = self.socket(id)?;
        if s.ty == super::addr::SOCK_RAW {
            return self.raw_recvmsg_cmsg(id, buf, flags, cmsgs);
        }
        let (sk, is_udp) = (
            s.sk,
            s.protocol == super::addr::IPPROTO_UDP && s.ty == super::addr::SOCK_DGRAM,
        );
        if s.protocol == super::addr::IPPROTO_ICMP && s.ty == super::addr::SOCK_DGRAM {
            // Ping sockets: the same cmsgs (ip_cmsg_recv from ping_recvmsg) and error queue.
            let cflags = self.ping_cmsg_flags(sk)?;
            let (info, meta, err) = super::ping::ping_recvmsg_meta(self, id, buf, flags)?;
            if let Some(r) = err {
                self.ip_cmsg_recv(cflags, &r.ip, r.offender, cmsgs);
                cmsgs.push(Cmsg::RecvErr {
                    ee: r.ee,
                    offender: r.offender,
                });
            } else if let Some((ip, from)) = meta {
                self.ip_cmsg_recv(cflags, &ip, from, cmsgs);
            }
            return Ok(info);
        }
        if !is_udp {
            return self.sys_recvmsg(id, buf, flags);
        }
        let cflags = self.udp_cmsg_flags(sk)?;
        if flags & MSG_ERRQUEUE != 0 {
            let r = self.udp_recv_error(sk, buf)?;
            // ipv4_datagram_support_cmsg: an ICMP error brings the ICMP packet's cmsgs.
            self.ip_cmsg_recv(cflags, &r.ip, r.offender, cmsgs);
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
        let info = self.sys_recvmsg(id, buf, flags)?;
        if cflags != 0 {
            // The datagram just read (or peeked) is described by `udp_last_rx`.
            if let (Some(ip), Some(from)) = (self.udp_last_rx(sk)?, info.from) {
                self.ip_cmsg_recv(cflags, &ip, *from.ip(), cmsgs);
            }
        }
        Ok(info)
    }
}

/// The `inet->cmsg_flags` bit of a `SOL_IP` receive option, if it is one.
pub(crate) fn cmsg_flag_bit(name: i32) -> Option<u8> {
    match name {
        IP_PKTINFO => Some(IP_CMSG_PKTINFO),
        IP_RECVTTL => Some(IP_CMSG_TTL),
        IP_RECVTOS => Some(IP_CMSG_TOS),
        IP_RECVORIGDSTADDR => Some(IP_CMSG_ORIGDSTADDR),
        _ => None,
    }
}

/// `do_ip_setsockopt` for the options of this module on a UDP socket.
pub(crate) fn ip_setsockopt_cmsg(
    st: &mut Stack,
    sk: crate::udp::SocketHandle,
    name: i32,
    on: bool,
) -> Result<(), Errno> {
    match cmsg_flag_bit(name) {
        Some(bit) => st.udp_set_cmsg_flag(sk, bit, on),
        None if name == IP_RECVERR => st.udp_set_recverr(sk, on),
        None => Err(Errno::ENOPROTOOPT),
    }
}

/// `do_ip_getsockopt` for the options of this module on a UDP socket.
pub(crate) fn ip_getsockopt_cmsg(
    st: &Stack,
    sk: crate::udp::SocketHandle,
    name: i32,
) -> Result<i32, Errno> {
    let f = st.udp_cmsg_flags(sk)?;
    Ok(match name {
        IP_PKTINFO => i32::from(f & IP_CMSG_PKTINFO != 0),
        IP_RECVTTL => i32::from(f & IP_CMSG_TTL != 0),
        IP_RECVTOS => i32::from(f & IP_CMSG_TOS != 0),
        IP_RECVORIGDSTADDR => i32::from(f & IP_CMSG_ORIGDSTADDR != 0),
        IP_RECVERR => i32::from(st.udp_recverr(sk)?),
        _ => return Err(Errno::ENOPROTOOPT),
    })
}

//! The error queue of a UDP socket (`sk_error_queue`) and IP_RECVERR.
//!
//! With IP_RECVERR on, every ICMP error about a datagram the socket sent is queued as a
//! `sock_extended_err` (origin `SO_EE_ORIGIN_ICMP`, the ICMP type and code, `ee_info` the
//! next-hop MTU of a "fragmentation needed") with the quoted payload and the offender (the
//! ICMP sender), charged to the receive buffer, and `sk_err` is set even on an unconnected
//! socket. `recvmsg(MSG_ERRQUEUE)` reads the oldest entry.
//!
//! Linux: net/ipv4/ip_sockglue.c (`ip_icmp_error`, `ip_recv_error`), net/core/skbuff.c
//! (`sock_queue_err_skb`, `sock_dequeue_err_skb`), net/ipv4/udp.c (`__udp4_lib_err`),
//! include/uapi/linux/errqueue.h (`struct sock_extended_err`).
//! RFCs: RFC 1122 §4.1.3.3 (UDP passes ICMP errors to the application), RFC 1191 (the MTU).

use core::net::{Ipv4Addr, SocketAddrV4};

use super::{RxIpInfo, SocketHandle};
use crate::errno::Errno;
use crate::skb::SkBuff;
use crate::stack::{Event, Stack};

/// `SO_EE_ORIGIN_ICMP`.
pub const SO_EE_ORIGIN_ICMP: u8 = 2;

/// `struct sock_extended_err`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SockExtendedErr {
    /// `ee_errno`.
    pub ee_errno: u32,
    /// `ee_origin`.
    pub ee_origin: u8,
    /// `ee_type` (the ICMP type).
    pub ee_type: u8,
    /// `ee_code` (the ICMP code).
    pub ee_code: u8,
    /// `ee_pad`.
    pub ee_pad: u8,
    /// `ee_info` (the MTU for a fragmentation-needed error).
    pub ee_info: u32,
    /// `ee_data`.
    pub ee_data: u32,
}

/// An ICMP error as `icmp_unreach` hands it to `__udp4_lib_err`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct IcmpErr<'a> {
    /// ICMP type.
    pub icmp_type: u8,
    /// ICMP code.
    pub code: u8,
    /// The ICMP header's second word (the MTU of a frag-needed in its low 16 bits).
    pub info: u32,
    /// The ICMP message's IP source (`SO_EE_OFFENDER`).
    pub offender: Ipv4Addr,
    /// The ICMP packet's IP metadata (for the IP_PKTINFO/IP_TTL/IP_TOS cmsgs of the
    /// error read, as `ip_cmsg_recv` on the ICMP skb).
    pub ip: RxIpInfo,
    /// The quoted UDP payload (after the quoted UDP header).
    pub payload: &'a [u8],
}

/// One queued error (`SKB_EXT_ERR(skb)`): the quoted payload in `skb`.
#[derive(Debug)]
pub(crate) struct ErrEntry {
    pub skb: SkBuff,
    pub ee: SockExtendedErr,
    /// The original destination (`addr_offset` into the quoted header, `serr->port`).
    pub dest: SocketAddrV4,
    pub offender: Ipv4Addr,
    pub ip: RxIpInfo,
}

/// What `ip_recv_error` hands back.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ErrRecv {
    /// Bytes copied.
    pub len: usize,
    /// The payload did not fit (`MSG_TRUNC`).
    pub truncated: bool,
    /// `msg_name`: the destination of the datagram that failed.
    pub dest: SocketAddrV4,
    /// The `IP_RECVERR` cmsg: the error.
    pub ee: SockExtendedErr,
    /// The `IP_RECVERR` cmsg: `SO_EE_OFFENDER` (the ICMP sender).
    pub offender: Ipv4Addr,
    /// The ICMP packet's IP metadata, for the other cmsgs.
    pub ip: RxIpInfo,
}

impl Stack {
    /// `ip_icmp_error` + `sock_queue_err_skb`: queue `e` on socket `h` unless the receive
    /// buffer is full (`sk_rmem_alloc + truesize >= sk_rcvbuf`: dropped, counted in
    /// [`Stack::udp_errq_drops`]). `dest` is the quoted datagram's destination.
    pub(crate) fn ip_icmp_error(
        &mut self,
        h: SocketHandle,
        err: Errno,
        dest: SocketAddrV4,
        ee_info: u32,
        e: &IcmpErr<'_>,
    ) {
        let mut skb = self.pool.alloc(e.payload.len());
        skb.put_slice(e.payload);
        let Ok(s) = self.udp.get_mut(h) else {
            self.pool.free(skb);
            return;
        };
        let size = skb.truesize();
        if s.rmem + size >= s.rcvbuf {
            // Deviation from Linux: sock_queue_err_skb's -ENOMEM drop is not counted
            // anywhere in Linux; here it is counted per socket.
            s.errq_drops += 1;
            self.pool.free(skb);
            return;
        }
        s.rmem += size;
        s.errq.push_back(ErrEntry {
            skb,
            ee: SockExtendedErr {
                ee_errno: err.code() as u32,
                ee_origin: SO_EE_ORIGIN_ICMP,
                ee_type: e.icmp_type,
                ee_code: e.code,
                ee_pad: 0,
                ee_info,
                ee_data: 0,
            },
            dest,
            offender: e.offender,
            ip: e.ip,
        });
    }

    /// `ip_recv_error` (`recvmsg(MSG_ERRQUEUE)`): the oldest queued error, EAGAIN when
    /// none. `sock_dequeue_err_skb` then sets `sk_err` to the next entry's errno, or
    /// clears it when this was the last.
    pub fn udp_recv_error(&mut self, h: SocketHandle, buf: &mut [u8]) -> Result<ErrRecv, Errno> {
        let s = self.udp.get_mut(h)?;
        let (r, skb, more) = dequeue_err(&mut s.errq, &mut s.rmem, &mut s.err, buf)?;
        if more {
            self.push_event(Event::Error(h));
        }
        self.pool.free(skb);
        Ok(r)
    }

    /// Errors queued on the error queue.
    pub fn udp_errq_len(&self, h: SocketHandle) -> Result<usize, Errno> {
        Ok(self.udp.get(h)?.errq.len())
    }

    /// Errors dropped because the receive buffer was full.
    pub fn udp_errq_drops(&self, h: SocketHandle) -> Result<u64, Errno> {
        Ok(self.udp.get(h)?.errq_drops)
    }

    /// `IP_RECVERR` set: turning it off purges the queue, as `do_ip_setsockopt` does.
    pub fn udp_set_recverr(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        let s = self.udp.get_mut(h)?;
        s.recverr = on;
        if !on {
            let mut freed = 0;
            while let Some(e) = s.errq.pop_front() {
                freed += e.skb.truesize();
                self.pool.free(e.skb);
            }
            let s = self.udp.get_mut(h)?;
            s.rmem = s.rmem.saturating_sub(freed);
        }
        Ok(())
    }

    /// `IP_RECVERR` as getsockopt reports it.
    pub fn udp_recverr(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(self.udp.get(h)?.recverr)
    }

    /// `inet->cmsg_flags` (the IP_CMSG_* bits of IP_PKTINFO, IP_RECVTTL, IP_RECVTOS).
    pub fn udp_cmsg_flags(&self, h: SocketHandle) -> Result<u8, Errno> {
        Ok(self.udp.get(h)?.cmsg_flags)
    }

    /// Set or clear one `IP_CMSG_*` bit.
    pub fn udp_set_cmsg_flag(&mut self, h: SocketHandle, bit: u8, on: bool) -> Result<(), Errno> {
        let s = self.udp.get_mut(h)?;
        if on {
            s.cmsg_flags |= bit;
        } else {
            s.cmsg_flags &= !bit;
        }
        Ok(())
    }
}

/// `sock_dequeue_err_skb` and the copy of `ip_recv_error`, for the sockets whose error queue
/// holds [`ErrEntry`]s (UDP and ping): the oldest entry copied into `buf`, its truesize
/// uncharged from `rmem`, and `sk_err` set to the next entry's errno or cleared. Returns the
/// answer, the entry's skb for the caller to free, and whether another error waits (the
/// caller reports it again, as `sk_error_report`). EAGAIN when the queue is empty.
pub(crate) fn dequeue_err(
    errq: &mut alloc::collections::VecDeque<ErrEntry>,
    rmem: &mut usize,
    err: &mut Option<Errno>,
    buf: &mut [u8],
) -> Result<(ErrRecv, SkBuff, bool), Errno> {
    let Some(e) = errq.pop_front() else {
        return Err(Errno::EAGAIN);
    };
    *rmem = rmem.saturating_sub(e.skb.truesize());
    let next = errq.front().map(|n| n.ee.ee_errno);
    *err = next.and_then(|c| Errno::from_code(c as i32));
    let data = e.skb.data();
    let n = data.len().min(buf.len());
    buf[..n].copy_from_slice(&data[..n]);
    let r = ErrRecv {
        len: n,
        truncated: n < data.len(),
        dest: e.dest,
        ee: e.ee,
        offender: e.offender,
        ip: e.ip,
    };
    Ok((r, e.skb, next.is_some()))
}

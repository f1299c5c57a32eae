//! UDP corking: `UDP_CORK` and `MSG_MORE`. While corked, sends append to one pending
//! datagram addressed to the first call's destination; it leaves on uncork or on the
//! first send without `MSG_MORE` (with `UDP_CORK` off).
//!
//! Linux: net/ipv4/udp.c (`udp_sendmsg`'s `corkreq` and `up->pending`,
//! `udp_push_pending_frames`, `udp_flush_pending_frames`, `udp_lib_setsockopt`'s
//! `UDP_CORK`), net/ipv4/ip_output.c (`ip_append_data`'s size check).
//! RFCs: RFC 768.

use alloc::vec::Vec;
use core::net::SocketAddrV4;

use super::{SocketHandle, MAX_PAYLOAD};
use crate::errno::Errno;
use crate::stack::Stack;

/// `up->corkflag` and the pending datagram (`up->pending`, `inet->cork`).
#[derive(Debug, Default)]
pub(crate) struct Cork {
    /// `UDP_CORK` is on.
    pub corked: bool,
    /// The pending datagram's destination and whether it is the connected peer; `None`
    /// when nothing is pending.
    pub dest: Option<(SocketAddrV4, bool)>,
    /// The pending payload. Its capacity is kept between datagrams, and it never grows
    /// past [`MAX_PAYLOAD`] (`ip_append_data` refuses more).
    pub buf: Vec<u8>,
}

impl Stack {
    /// `udp_sendmsg` with `flags` (`MSG_MORE`) and `UDP_CORK`: without either and nothing
    /// pending, [`Stack::udp_send_to`]. Otherwise the payload is appended to the pending
    /// datagram (the first call's checks and destination hold; later `to` is ignored as
    /// Linux does); past 65507 bytes in all the pending datagram is dropped and EMSGSIZE
    /// returned (`udp_flush_pending_frames`).
    pub fn udp_sendmsg(
        &mut self,
        h: SocketHandle,
        payload: &[u8],
        to: Option<SocketAddrV4>,
        more: bool,
    ) -> Result<usize, Errno> {
        let s = self.udp.get_mut(h)?;
        let corkreq = s.cork.corked || more;
        if payload.len() > 0xffff {
            return Err(Errno::EMSGSIZE);
        }
        if s.cork.dest.is_none() {
            if !corkreq {
                return self.udp_send_to(h, payload, to);
            }
            let (daddr, connected, _dst) = self.udp_send_prepare(h, payload.len(), to)?;
            let s = self.udp.get_mut(h)?;
            s.cork.dest = Some((daddr, connected));
            s.cork.buf.clear();
        }
        let s = self.udp.get_mut(h)?;
        if s.cork.buf.len() + payload.len() > MAX_PAYLOAD {
            udp_flush_pending_frames(&mut s.cork);
            return Err(Errno::EMSGSIZE);
        }
        s.cork.buf.extend_from_slice(payload);
        if !corkreq {
            self.udp_push_pending_frames(h)?;
        }
        Ok(payload.len())
    }

    /// `udp_push_pending_frames`: send the pending datagram, if any.
    pub fn udp_push_pending_frames(&mut self, h: SocketHandle) -> Result<(), Errno> {
        let s = self.udp.get_mut(h)?;
        let Some((daddr, connected)) = s.cork.dest.take() else {
            return Ok(());
        };
        let buf = core::mem::take(&mut s.cork.buf);
        let saddr =
            (!s.local.ip().is_unspecified() && !s.local.ip().is_multicast()).then(|| *s.local.ip());
        let oif = s.bound_dev_if;
        // Deviation from Linux: the route is looked up again here; Linux keeps the one
        // found by the first call in `inet->cork`.
        let r = match self.route_output_oif(*daddr.ip(), saddr, oif) {
            Ok(dst) => self.udp_emit(h, &buf, daddr, connected, dst).map(|_| ()),
            Err(e) => Err(e),
        };
        let s = self.udp.get_mut(h)?;
        s.cork.buf = buf;
        s.cork.buf.clear();
        r
    }

    /// `UDP_CORK` set: on corks; off pushes what is pending (its error is not reported,
    /// as in `udp_lib_setsockopt`).
    pub fn udp_set_cork(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        self.udp.get_mut(h)?.cork.corked = on;
        if !on {
            let _ = self.udp_push_pending_frames(h);
        }
        Ok(())
    }

    /// `UDP_CORK` as getsockopt reports it.
    pub fn udp_corked(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(self.udp.get(h)?.cork.corked)
    }

    /// Bytes in the pending (corked) datagram.
    pub fn udp_cork_pending(&self, h: SocketHandle) -> Result<Option<usize>, Errno> {
        let s = self.udp.get(h)?;
        Ok(s.cork.dest.map(|_| s.cork.buf.len()))
    }
}

/// `udp_flush_pending_frames`: drop the pending datagram.
fn udp_flush_pending_frames(c: &mut Cork) {
    c.dest = None;
    c.buf.clear();
}

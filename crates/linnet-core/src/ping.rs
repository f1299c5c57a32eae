//! Echo requests from the stack itself, and the replies and errors they bring back: the
//! part of ping sockets the foundation needs (`linnet ping`, the simulator).
//!
//! Linux: net/ipv4/ping.c (`ping_v4_sendmsg`, `ping_rcv`, `ping_err`).
//! RFCs: RFC 792 (echo), RFC 1122 §3.2.2.6.
//!
//! Replies and errors whose identifier a ping socket holds go to that socket
//! (`crate::socket`'s ping sockets, `ping_rcv` / `ping_err`). The others are reported as an
//! [`Event`] to the application, which filters by identifier as iputils does on a raw
//! socket: the path of [`Stack::ping_send`] without a socket.

use core::net::Ipv4Addr;

use linnet_wire::icmpv4::Message;
use linnet_wire::ipv4::Protocol;

use crate::errno::Errno;
use crate::ipv4::output::IpParams;
use crate::route::RouteKind;
use crate::stack::{Event, Stack};

/// An echo reply or an error about one of our echo requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PingEvent {
    /// An echo reply arrived.
    Reply {
        /// Who answered.
        from: Ipv4Addr,
        /// Echo identifier.
        ident: u16,
        /// Echo sequence number.
        seq: u16,
        /// ICMP payload bytes (after the 8-byte header).
        len: usize,
        /// TTL of the reply.
        ttl: u8,
    },
    /// An ICMP error quoting one of our echo requests.
    Error {
        /// Who sent the error.
        from: Ipv4Addr,
        /// ICMP type of the error.
        msg_type: u8,
        /// ICMP code.
        code: u8,
        /// Identifier of the quoted request.
        ident: u16,
        /// Sequence number of the quoted request.
        seq: u16,
    },
}

/// What a ping socket's options put into its echo requests.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct PingTx {
    /// `IP_TTL`; none is `ip_default_ttl`.
    pub(crate) ttl: Option<u8>,
    /// `sk_bound_dev_if`: the output device, 0 for any.
    pub(crate) oif: u32,
    /// `inet->tos` (`IP_TOS`).
    pub(crate) tos: u8,
    /// `sk_mark` (`SO_MARK`).
    pub(crate) mark: u32,
    /// `sk_priority` (`SO_PRIORITY`).
    pub(crate) priority: u32,
}

impl Stack {
    /// Sends an echo request to `dst` with `payload` (`ping_v4_sendmsg`). Errors as Linux:
    /// ENETUNREACH without a route, EACCES for a broadcast, EMSGSIZE over 65507 bytes.
    pub fn ping_send(
        &mut self,
        dst: Ipv4Addr,
        ident: u16,
        seq: u16,
        ttl: Option<u8>,
        payload: &[u8],
    ) -> Result<(), Errno> {
        let tx = PingTx {
            ttl,
            ..PingTx::default()
        };
        self.ping_send_with(dst, ident, seq, tx, payload)
    }

    /// [`Stack::ping_send`] with a ping socket's options.
    pub(crate) fn ping_send_with(
        &mut self,
        dst: Ipv4Addr,
        ident: u16,
        seq: u16,
        tx: PingTx,
        payload: &[u8],
    ) -> Result<(), Errno> {
        let ttl = tx.ttl;
        if payload.len() > 65_507 {
            return Err(Errno::EMSGSIZE);
        }
        let route = self.route_output_oif(dst, None, tx.oif)?;
        if route.kind == RouteKind::Broadcast {
            return Err(Errno::EACCES);
        }
        let len = 8 + payload.len();
        let mut skb = self.pool.alloc(len);
        {
            let out = skb.put(len);
            out[0] = Message::ECHO_REQUEST.0;
            out[4..6].copy_from_slice(&ident.to_be_bytes());
            out[6..8].copy_from_slice(&seq.to_be_bytes());
            out[8..].copy_from_slice(payload);
            let c = linnet_wire::checksum::checksum(out);
            out[2..4].copy_from_slice(&c.to_be_bytes());
        }
        self.stats.icmp_out(Message::ECHO_REQUEST.0);
        let p = IpParams {
            daddr: dst,
            proto: Protocol::ICMP,
            ttl: ttl.unwrap_or(self.cfg.ip_default_ttl),
            tos: tx.tos,
            pmtudisc_want: true,
            sock_id: None,
            ignore_df: true,
            mark: tx.mark,
            priority: tx.priority,
        };
        self.ip_send(route, p, skb);
        self.process_backlog();
        Ok(())
    }

    /// Reports an echo reply (`ping_rcv`).
    pub(crate) fn ping_reply(&mut self, from: Ipv4Addr, rx: crate::udp::RxIpInfo, icmp: &[u8]) {
        if icmp.len() < 8 {
            return;
        }
        let ttl = rx.ttl;
        if self.ping_sock_rcv(from, rx, icmp) {
            return;
        }
        let ident = u16::from_be_bytes([icmp[4], icmp[5]]);
        let seq = u16::from_be_bytes([icmp[6], icmp[7]]);
        self.push_event(Event::Ping(PingEvent::Reply {
            from,
            ident,
            seq,
            len: icmp.len() - 8,
            ttl,
        }));
    }

    /// Reports an error about one of our echo requests (`ping_err`). `e.payload` is the
    /// quoted ICMP message (header and what follows), `dest` the quoted destination.
    pub(crate) fn ping_err(&mut self, dest: Ipv4Addr, e: &crate::udp::errqueue::IcmpErr<'_>) {
        let inner_icmp = e.payload;
        let (from, msg_type, code) = (e.offender, e.icmp_type, e.code);
        if inner_icmp.len() < 8 || inner_icmp[0] != Message::ECHO_REQUEST.0 {
            return;
        }
        let ident = u16::from_be_bytes([inner_icmp[4], inner_icmp[5]]);
        if self.ping_sock_err(ident, dest, e) {
            return;
        }
        let seq = u16::from_be_bytes([inner_icmp[6], inner_icmp[7]]);
        self.push_event(Event::Ping(PingEvent::Error {
            from,
            msg_type,
            code,
            ident,
            seq,
        }));
    }
}

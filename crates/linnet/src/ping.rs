//! Blocking echo requests over a running stack: what `linnet ping` needs.
//!
//! Linux: net/ipv4/ping.c (`ping_v4_sendmsg`, `ping_rcv`, `ping_err`), and the receive loop
//! of iputils ping (ping/ping.c: match replies by identifier and sequence).
//! RFCs: RFC 792 (echo, echo reply), RFC 1122 §3.2.2.6.
//!
//! The core reports every echo reply and every ICMP error quoting one of our echo requests as
//! an event; the runtime keeps the latest few with their arrival time, and these functions
//! pick the ones with the caller's identifier. RTTs are measured on the runtime's monotonic
//! clock, from the request being queued to the reply being received by the event loop.

use std::io;
use std::net::Ipv4Addr;
use std::time::Duration;

use linnet_core::{Instant, PingEvent};

use crate::errno_to_io;
use crate::runtime::StackHandle;

/// An answer to an echo request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PingReply {
    /// The echo reply, or the ICMP error quoting the request.
    pub event: PingEvent,
    /// When the event loop received it (runtime clock).
    pub received: Instant,
    /// Round-trip time from the request being sent.
    pub rtt: Duration,
}

impl PingReply {
    /// True for an echo reply (false for an ICMP error).
    pub fn is_echo_reply(&self) -> bool {
        matches!(self.event, PingEvent::Reply { .. })
    }
}

fn ident_seq(ev: &PingEvent) -> (u16, u16) {
    match *ev {
        PingEvent::Reply { ident, seq, .. } | PingEvent::Error { ident, seq, .. } => (ident, seq),
    }
}

/// Sends one echo request (`ping_v4_sendmsg`) and returns when it was queued (runtime
/// clock). Errors as Linux: ENETUNREACH without a route, EACCES for a broadcast, EMSGSIZE.
pub fn ping_send(
    handle: &StackHandle,
    dst: Ipv4Addr,
    ident: u16,
    seq: u16,
    ttl: Option<u8>,
    payload: &[u8],
) -> io::Result<Instant> {
    handle.with_inner(|inner| {
        // An answer left over from an earlier request with the same numbers is stale.
        inner.pings.retain(|(ev, _)| ident_seq(ev) != (ident, seq));
        inner
            .stack
            .ping_send(dst, ident, seq, ttl, payload)
            .map(|()| inner.stack.now())
            .map_err(errno_to_io)
    })
}

/// Waits for the next answer carrying identifier `ident`, any sequence number (for senders
/// that keep several requests in flight). ETIMEDOUT (`TimedOut`) when `timeout` passes;
/// ENETDOWN if the runtime stops.
pub fn ping_recv(
    handle: &StackHandle,
    ident: u16,
    timeout: Option<Duration>,
) -> io::Result<(PingEvent, Instant)> {
    let deadline = timeout.map(|t| std::time::Instant::now() + t);
    Ok(handle.wait_inner(deadline, |inner| {
        let i = inner
            .pings
            .iter()
            .position(|(ev, _)| ident_seq(ev).0 == ident)?;
        inner.pings.remove(i)
    })?)
}

/// Sends an echo request to `dst` and waits up to `timeout` for its answer (an echo reply, or
/// an ICMP error such as destination unreachable quoting it). ETIMEDOUT when none comes.
pub fn ping(
    handle: &StackHandle,
    dst: Ipv4Addr,
    ident: u16,
    seq: u16,
    ttl: Option<u8>,
    payload: &[u8],
    timeout: Duration,
) -> io::Result<PingReply> {
    let sent = ping_send(handle, dst, ident, seq, ttl, payload)?;
    let deadline = std::time::Instant::now() + timeout;
    let (event, received) = handle.wait_inner(Some(deadline), |inner| {
        let i = inner
            .pings
            .iter()
            .position(|(ev, _)| ident_seq(ev) == (ident, seq))?;
        inner.pings.remove(i)
    })?;
    Ok(PingReply {
        event,
        received,
        rtt: received.saturating_since(sent),
    })
}

//! ICMPv4: echo and timestamp replies, errors sent on behalf of IP, UDP and ARP, the rules
//! that keep errors from multiplying, rate limits, and errors handed to the socket they
//! concern.
//!
//! Linux: net/ipv4/icmp.c (`icmp_rcv`, `icmp_echo`, `icmp_timestamp`, `icmp_unreach`,
//! `__icmp_send`, `icmp_global_allow`, `icmpv4_xrlim_allow`, `icmp_err_convert`),
//! net/ipv4/inetpeer.c (`inet_peer_xrlim_allow`).
//! RFCs: RFC 792, RFC 1122 §3.2.2 (when not to send an error), RFC 1812 §4.3.2.8 (rate
//! limiting), RFC 4443 §2.4 (the same rule of errors about errors), RFC 1624 (the echo
//! reply's incremental checksum).
//!
//! Deviation from Linux (implementation only): the echo reply is built in the request's
//! buffer rather than in a new one (see `icmp_echo`); the bytes on the wire are the same.

use core::net::Ipv4Addr;
use core::time::Duration;

use crate::hash::{map_with_seed, HashMap};
use linnet_wire::icmpv4::{self as wire, Message};
use linnet_wire::ipv4::{self as ipwire, Protocol};

use super::output::IpParams;
use crate::config::StackConfig;
use crate::errno::Errno;
use crate::route::{LocalKind, RouteKind};
use crate::skb::{PacketType, SkBuff};
use crate::stack::{Stack, LOOPBACK_IFINDEX};
use crate::stats::DropReason;
use crate::time::Instant;

/// Tokens a peer may bank, in multiples of `icmp_ratelimit` (`XRLIM_BURST_FACTOR`).
const XRLIM_BURST_FACTOR: u32 = 6;
/// Largest ICMP error datagram (RFC 1812 §4.3.2.3: 576 bytes).
const ERROR_MAX: usize = 576;

#[derive(Clone, Copy, Debug)]
struct Peer {
    tokens: Duration,
    last: Instant,
}

/// Rate-limit state: the global token bucket and the per-destination buckets.
#[derive(Debug)]
pub(crate) struct IcmpState {
    credit: i32,
    stamp: Option<Instant>,
    last_gc: Option<Instant>,
    peers: HashMap<Ipv4Addr, Peer>,
    /// Per-destination buckets not kept because the table was full.
    pub(crate) peer_overflow: u64,
}

impl IcmpState {
    pub(crate) fn new(cfg: &StackConfig, seed: u64) -> IcmpState {
        IcmpState {
            credit: cfg.icmp_msgs_burst.min(i32::MAX as u32) as i32,
            stamp: None,
            last_gc: None,
            peers: map_with_seed(seed),
            peer_overflow: 0,
        }
    }
}

/// `icmp_err_convert`: the errno and "hard error" flag for a destination-unreachable code.
pub(crate) fn unreach_errno(code: u8) -> (Errno, bool) {
    match code {
        0 | 6 | 9 => (Errno::ENETUNREACH, true),
        1 | 10 => (Errno::EHOSTUNREACH, true),
        2 => (Errno::ENOPROTOOPT, true),
        3 => (Errno::ECONNREFUSED, true),
        4 => (Errno::EMSGSIZE, false),
        5 => (Errno::EOPNOTSUPP, false),
        7 => (Errno::EHOSTDOWN, true),
        8 => (Errno::ENONET, true),
        11 => (Errno::ENETUNREACH, false),
        12 => (Errno::EHOSTUNREACH, false),
        _ => (Errno::EHOSTUNREACH, true),
    }
}

impl Stack {
    /// `icmp_rcv`. `skb.data()` starts at the ICMP header; `bcast` is true when the
    /// datagram was addressed to a broadcast address.
    pub(crate) fn icmp_rcv(&mut self, skb: SkBuff, bcast: bool) {
        self.stats.icmp.in_msgs += 1;
        let data = skb.data();
        if data.len() < wire::HEADER_LEN {
            self.stats.icmp.in_errors += 1;
            self.drop_skb(skb, DropReason::PktTooSmall);
            return;
        }
        if linnet_wire::checksum::checksum(data) != 0 {
            self.stats.icmp.in_csum_errors += 1;
            self.stats.icmp.in_errors += 1;
            self.drop_skb(skb, DropReason::IcmpCsum);
            return;
        }
        let msg = Message(data[0]);
        self.stats.icmp_in(msg.0);
        if bcast {
            let echoish = msg == Message::ECHO_REQUEST || msg == Message::TIMESTAMP;
            let allowed =
                echoish || msg == Message::ADDRESS_MASK || msg == Message::ADDRESS_MASK_REPLY;
            if (echoish && self.cfg.icmp_echo_ignore_broadcasts) || !allowed {
                self.stats.icmp.in_errors += 1;
                self.drop_skb(skb, DropReason::InvalidProto);
                return;
            }
        }
        if msg.0 > Message::ADDRESS_MASK_REPLY.0 {
            self.stats.icmp.in_errors += 1;
            self.drop_skb(skb, DropReason::UnhandledProto);
            return;
        }
        match msg {
            Message::ECHO_REQUEST => {
                if self.cfg.icmp_echo_ignore_all {
                    self.consume_skb(skb);
                } else {
                    self.icmp_echo(skb, bcast);
                }
            }
            Message::TIMESTAMP => {
                if data.len() < wire::HEADER_LEN + 4 {
                    self.stats.icmp.in_errors += 1;
                    self.drop_skb(skb, DropReason::PktTooSmall);
                    return;
                }
                // icmp_timestamp: originate copied, receive = transmit = ms since midnight
                // UT, here taken from the stack's clock modulo one day.
                let ms = (self.now.as_millis() % 86_400_000) as u32;
                let mut times = [0u8; 12];
                times[..4].copy_from_slice(&data[8..12]);
                times[4..8].copy_from_slice(&ms.to_be_bytes());
                times[8..12].copy_from_slice(&ms.to_be_bytes());
                self.icmp_reply(&skb, bcast, Message::TIMESTAMP_REPLY, &times);
                self.consume_skb(skb);
            }
            Message::DST_UNREACHABLE
            | Message::TIME_EXCEEDED
            | Message::PARAM_PROBLEM
            | Message::SOURCE_QUENCH => self.icmp_unreach(skb),
            Message::ECHO_REPLY => {
                let hdr = skb.network_header().map(|n| {
                    let ip = ipwire::Packet::new_unchecked(n);
                    let rx = crate::udp::RxIpInfo {
                        ifindex: skb.dev.0,
                        daddr: ip.dst_addr(),
                        dport: 0,
                        ttl: ip.hop_limit(),
                        tos: ip.tos(),
                        bcast,
                        pktinfo_prepared: false,
                    };
                    (ip.src_addr(), rx)
                });
                if let Some((from, rx)) = hdr {
                    let data = skb.data();
                    self.ping_reply(from, rx, data);
                }
                self.consume_skb(skb);
            }
            // Deviation from Linux: redirects are counted but not acted on until the routing
            // issue brings the next-hop exceptions they would install.
            _ => self.consume_skb(skb),
        }
    }

    /// `icmp_unreach` + `icmp_socket_deliver`: check the quoted header and tell the
    /// transport protocol.
    fn icmp_unreach(&mut self, skb: SkBuff) {
        let data = skb.data();
        let (msg, code) = (Message(data[0]), data[1]);
        let quoted = &data[wire::HEADER_LEN..];
        if quoted.len() < ipwire::HEADER_LEN {
            self.stats.icmp.in_errors += 1;
            self.drop_skb(skb, DropReason::PktTooSmall);
            return;
        }
        let inner = ipwire::Packet::new_unchecked(quoted);
        let ihl = usize::from(inner.header_len());
        if ihl < ipwire::HEADER_LEN {
            self.stats.icmp.in_errors += 1;
            self.drop_skb(skb, DropReason::IpInhdr);
            return;
        }
        let inner_dst = inner.dst_addr();
        // icmp_unreach: only with icmp_ignore_bogus_error_responses = 0 is an error about a
        // datagram to one of our broadcasts warned about ("sent an invalid ICMP type ...
        // error to a broadcast") and dropped; with the default 1 it is passed on silently.
        if !self.cfg.icmp_ignore_bogus_error_responses
            && matches!(self.fib.local(inner_dst), Some(LocalKind::Broadcast(_)))
        {
            self.consume_skb(skb);
            return;
        }
        if quoted.len() < ihl + 8 {
            self.stats.icmp.in_errors += 1;
            self.drop_skb(skb, DropReason::PktTooSmall);
            return;
        }
        let (err, hard) = match msg {
            Message::DST_UNREACHABLE => unreach_errno(code),
            Message::TIME_EXCEEDED => (Errno::EHOSTUNREACH, false),
            Message::PARAM_PROBLEM => (Errno::EPROTO, true),
            _ => {
                // Source quench is ignored (RFC 6633).
                self.consume_skb(skb);
                return;
            }
        };
        let outer = skb
            .network_header()
            .map(ipwire::Packet::new_unchecked)
            .map(|p| (p.src_addr(), p.dst_addr(), p.hop_limit(), p.tos()));
        let (offender, odst, ttl, tos) =
            outer.unwrap_or((Ipv4Addr::UNSPECIFIED, Ipv4Addr::UNSPECIFIED, 0, 0));
        let e = crate::udp::errqueue::IcmpErr {
            icmp_type: msg.0,
            code,
            info: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
            offender,
            ip: crate::udp::RxIpInfo {
                ifindex: skb.dev.0,
                daddr: odst,
                ttl,
                tos,
                bcast: false,
                pktinfo_prepared: true,
                dport: 0,
            },
            payload: quoted,
        };
        // icmp_socket_deliver: raw sockets of the quoted protocol first (raw_icmp_error).
        self.raw_icmp_error(&e, skb.truesize());
        let (proto, src, dst) = (inner.next_header(), inner.src_addr(), inner.dst_addr());
        let l4 = &quoted[ihl..];
        let ports = (
            u16::from_be_bytes([l4[0], l4[1]]),
            u16::from_be_bytes([l4[2], l4[3]]),
        );
        if proto == Protocol::UDP {
            let e = crate::udp::errqueue::IcmpErr {
                payload: &l4[8.min(l4.len())..],
                ..e
            };
            if !self.udp_err(src, ports.0, dst, ports.1, err, hard, &e) {
                self.stats.icmp.in_errors += 1;
            }
        }
        if proto == Protocol::TCP {
            let seq = u32::from_be_bytes([l4[4], l4[5], l4[6], l4[7]]);
            // ICMP_FRAG_NEEDED carries the next-hop MTU in bytes 6-7 (RFC 1191 §4).
            let frag_mtu = (msg == Message::DST_UNREACHABLE && code == 4)
                .then(|| u16::from_be_bytes([data[6], data[7]]));
            if !self.tcp_err(src, ports.0, dst, ports.1, seq, err, frag_mtu) {
                self.stats.icmp.in_errors += 1;
            }
        }
        if proto == Protocol::ICMP {
            let outer = skb
                .network_header()
                .map(ipwire::Packet::new_unchecked)
                .map(|p| (p.src_addr(), p.dst_addr(), p.hop_limit(), p.tos()));
            if let Some((offender, odst, ttl, tos)) = outer {
                let e = crate::udp::errqueue::IcmpErr {
                    icmp_type: msg.0,
                    code,
                    info: u32::from_be_bytes([data[4], data[5], data[6], data[7]]),
                    offender,
                    ip: crate::udp::RxIpInfo {
                        ifindex: skb.dev.0,
                        daddr: odst,
                        ttl,
                        tos,
                        bcast: false,
                        pktinfo_prepared: true,
                        dport: 0,
                    },
                    // ip_icmp_error's payload: the quoted ICMP header and data.
                    payload: l4,
                };
                self.ping_err(dst, &e);
            }
        }
        self.consume_skb(skb);
    }

    /// The reply's addresses and route for a request whose network header is set:
    /// `(dst, daddr, tos)`, or `None` when there is no route back (no reply, as Linux).
    /// `bcast` is the input route's verdict for the request.
    // Inlined into its two callers (echo and timestamp replies).
    #[inline(always)]
    fn icmp_reply_route(
        &mut self,
        req: &SkBuff,
        bcast: bool,
    ) -> Option<(crate::route::Dst, Ipv4Addr, u8)> {
        let net = req.network_header()?;
        let ip = ipwire::Packet::new_unchecked(net);
        let (saddr, daddr, tos) = (ip.dst_addr(), ip.src_addr(), ip.tos());
        // fib_compute_spec_dst: a request to one of our unicast addresses is answered from
        // it; one to a broadcast from the preferred source toward the sender. A request
        // that the input route delivered as unicast (`!bcast`) was addressed to a loopback
        // address or to a local-table RTN_LOCAL entry, so the test holds without looking
        // the address up again.
        let local = !bcast
            || saddr.is_loopback()
            || matches!(self.fib.local(saddr), Some(LocalKind::Local(_)));
        let saddr = local.then_some(saddr);
        let dst = self.route_output(daddr, saddr).ok()?;
        Some((dst, daddr, tos))
    }

    /// `icmp_echo` + `icmp_reply` for an echo request (`skb.data()` at the ICMP header,
    /// at least 8 bytes, checksum verified). Not rate limited (type 0 is outside
    /// icmp_ratemask).
    ///
    /// Deviation from Linux (implementation only, identical bytes on the wire): Linux builds
    /// the reply in a new skb and copies the data into it; here the request's own buffer
    /// becomes the reply. Type and code are set to 0 (RFC 792), the checksum is updated
    /// incrementally (RFC 1624 eqn. 3) and a fresh 20-byte IPv4 header is pushed into the
    /// headroom where the request's link and IP headers were.
    // One caller (icmp_rcv): inlined so the echo path makes one call fewer.
    #[inline(always)]
    fn icmp_echo(&mut self, mut skb: SkBuff, bcast: bool) {
        let Some((dst, daddr, tos)) = self.icmp_reply_route(&skb, bcast) else {
            self.consume_skb(skb);
            return;
        };
        // The request is consumed (consume_skb's count); its storage carries on as the reply.
        self.stats.consumed += 1;
        skb.reset_for_reuse();
        let msg = skb.data_mut();
        let old = u16::from_be_bytes([msg[0], msg[1]]);
        let check = u16::from_be_bytes([msg[2], msg[3]]);
        msg[0] = Message::ECHO_REPLY.0;
        msg[1] = 0;
        let mut c = linnet_wire::checksum::update_u16(check, old, 0);
        if c == 0 {
            // Eqn. 3 gives 0x0000 where a full computation gives 0xffff only for an all-zero
            // message (one's complement has two zeros): recompute so the bytes are exactly
            // those of a freshly built reply.
            msg[2] = 0;
            msg[3] = 0;
            c = linnet_wire::checksum::checksum(msg);
        }
        msg[2..4].copy_from_slice(&c.to_be_bytes());
        self.stats.icmp_out(Message::ECHO_REPLY.0);
        let p = IpParams {
            daddr,
            proto: Protocol::ICMP,
            ttl: self.cfg.ip_default_ttl,
            tos,
            pmtudisc_want: false,
            sock_id: None,
            ignore_df: false,
            mark: 0,
            priority: 0,
        };
        self.ip_send(dst, p, skb);
    }

    /// `icmp_reply`: a timestamp reply to the sender of `req` (data at the ICMP header), in
    /// a new buffer. Not rate limited (type 14 is outside icmp_ratemask).
    fn icmp_reply(&mut self, req: &SkBuff, bcast: bool, msg: Message, payload_override: &[u8]) {
        let Some((dst, daddr, tos)) = self.icmp_reply_route(req, bcast) else {
            return;
        };
        let icmp = req.data();
        let body: &[u8] = if payload_override.is_empty() {
            &icmp[4..]
        } else {
            &icmp[4..8]
        };
        let len = wire::HEADER_LEN - 4 + body.len() + payload_override.len();
        let mut skb = self.pool.alloc(len);
        {
            let out = skb.put(len);
            out[0] = msg.0;
            out[4..4 + body.len()].copy_from_slice(body);
            out[4 + body.len()..].copy_from_slice(payload_override);
            let c = linnet_wire::checksum::checksum(out);
            out[2..4].copy_from_slice(&c.to_be_bytes());
        }
        self.stats.icmp_out(msg.0);
        let p = IpParams {
            daddr,
            proto: Protocol::ICMP,
            ttl: self.cfg.ip_default_ttl,
            tos,
            pmtudisc_want: false,
            sock_id: None,
            ignore_df: false,
            mark: 0,
            priority: 0,
        };
        self.ip_send(dst, p, skb);
    }

    /// `__icmp_send`: an ICMP error about `orig` (whose network header is set). `local` is
    /// true when `orig` was addressed to us (RTCF_LOCAL), which makes its destination the
    /// error's source.
    pub(crate) fn icmp_send(
        &mut self,
        orig: &SkBuff,
        msg_type: u8,
        code: u8,
        info: u32,
        local: bool,
    ) {
        let Some(net) = orig.network_header() else {
            return;
        };
        if net.len() < ipwire::HEADER_LEN {
            return;
        }
        let ip = ipwire::Packet::new_unchecked(net);
        let (osrc, odst, tos) = (ip.src_addr(), ip.dst_addr(), ip.tos());
        // RFC 1122 §3.2.2: never about a datagram to a broadcast/multicast address, a
        // link-layer broadcast, a non-initial fragment, or a source that names no host.
        if orig.pkt_type != PacketType::Host
            || odst.is_multicast()
            || odst.is_broadcast()
            || matches!(self.fib.local(odst), Some(LocalKind::Broadcast(_)))
            || ip.frag_offset() != 0
            || osrc.is_unspecified()
            || osrc.is_multicast()
            || osrc.is_broadcast()
        {
            return;
        }
        let ihl = usize::from(ip.header_len());
        if Message(msg_type).is_error() && ip.next_header() == Protocol::ICMP {
            // Never an error about an ICMP error (or an unknown ICMP type).
            match net.get(ihl) {
                Some(&t) if t <= Message::ADDRESS_MASK_REPLY.0 && !Message(t).is_error() => {}
                _ => return,
            }
        }
        let Ok(dst) = self.route_output(osrc, None) else {
            return;
        };
        if dst.kind == RouteKind::Broadcast {
            // A (subnet) broadcast source names no host; input routing drops such packets
            // as martians, so only a packet that bypassed it could get here.
            return;
        }
        if !self.icmp_rate_allow(
            msg_type,
            code,
            osrc,
            orig.dev == LOOPBACK_IFINDEX,
            dst.dev == LOOPBACK_IFINDEX,
        ) {
            return;
        }
        let saddr = if local {
            odst
        } else {
            self.select_addr(orig.dev, osrc).unwrap_or(dst.src)
        };
        let dst = crate::route::Dst { src: saddr, ..dst };
        let room = (dst.mtu as usize).min(ERROR_MAX) - ipwire::HEADER_LEN - wire::HEADER_LEN;
        let quote = &net[..net.len().min(room)];
        let len = wire::HEADER_LEN + quote.len();
        let mut skb = self.pool.alloc(len);
        {
            let out = skb.put(len);
            out[0] = msg_type;
            out[1] = code;
            out[4..8].copy_from_slice(&info.to_be_bytes());
            out[8..].copy_from_slice(quote);
            let c = linnet_wire::checksum::checksum(out);
            out[2..4].copy_from_slice(&c.to_be_bytes());
        }
        self.stats.icmp_out(msg_type);
        let p = IpParams {
            daddr: osrc,
            proto: Protocol::ICMP,
            ttl: self.cfg.ip_default_ttl,
            tos: (tos & 0x1e) | 0xc0,
            pmtudisc_want: false,
            sock_id: None,
            ignore_df: false,
            mark: 0,
            priority: 0,
        };
        self.ip_send(dst, p, skb);
    }

    /// `icmpv4_global_allow` + `icmpv4_xrlim_allow` + `icmp_global_consume`, for the types
    /// in icmp_ratemask (fragmentation-needed is never limited). An error about a packet that
    /// came in on loopback is not limited at all; one that leaves by loopback skips the
    /// per-destination bucket.
    fn icmp_rate_allow(
        &mut self,
        msg_type: u8,
        code: u8,
        daddr: Ipv4Addr,
        from_lo: bool,
        to_lo: bool,
    ) -> bool {
        if msg_type > Message::ADDRESS_MASK_REPLY.0
            || (msg_type == Message::DST_UNREACHABLE.0 && code == wire::unreach::FRAG_NEEDED)
            || (1u32 << msg_type) & self.cfg.icmp_ratemask == 0
            || from_lo
        {
            return true;
        }
        let now = self.now;
        // icmp_global_allow: while credit remains, allow; else refill at icmp_msgs_per_sec,
        // but not more often than every 20 ms (HZ / 50).
        let st = &mut self.icmp;
        if st.credit <= 0 {
            let delta = st
                .stamp
                .map_or(Duration::from_secs(1), |s| now.saturating_since(s))
                .min(Duration::from_secs(1));
            let incr = (u64::from(self.cfg.icmp_msgs_per_sec) * delta.as_millis() as u64 / 1000)
                .min(i32::MAX as u64) as i32;
            if delta < Duration::from_millis(20) || incr == 0 {
                self.stats.icmp.out_rate_limit_global += 1;
                return false;
            }
            st.stamp = Some(now);
            st.credit = (st.credit + incr).min(self.cfg.icmp_msgs_burst as i32);
        }
        if !to_lo && !self.icmp_peer_allow(daddr, now) {
            self.stats.icmp.out_rate_limit_host += 1;
            return false;
        }
        // icmp_global_consume: 0, 1 or 2 credits (one on average, randomized so the bucket
        // is no side channel); the credit may go negative.
        let take = (self.rand_u32() % 3) as i32;
        self.icmp.credit -= take;
        true
    }

    /// `inet_peer_xrlim_allow`: a token bucket per destination holding up to
    /// `XRLIM_BURST_FACTOR` × icmp_ratelimit; each message costs icmp_ratelimit.
    fn icmp_peer_allow(&mut self, daddr: Ipv4Addr, now: Instant) -> bool {
        let limit = self.cfg.icmp_ratelimit;
        let burst = limit * XRLIM_BURST_FACTOR;
        let cap = self.cfg.icmp_peer_limit;
        let st = &mut self.icmp;
        if st.peers.len() >= cap
            && !st.peers.contains_key(&daddr)
            && st
                .last_gc
                .is_none_or(|t| now.saturating_since(t) >= Duration::from_secs(1))
        {
            // inet_peer GC, at most once a second: forget buckets idle long enough to be
            // full again (they would behave exactly like new ones).
            st.last_gc = Some(now);
            st.peers.retain(|_, p| now.saturating_since(p.last) < burst);
        }
        if st.peers.len() >= cap && !st.peers.contains_key(&daddr) {
            // No bucket can be had: Linux allows the message when inet_getpeer fails.
            st.peer_overflow += 1;
            return true;
        }
        // A new peer starts with a full bucket (inet_getpeer sets rate_last 60 s back).
        let p = st.peers.entry(daddr).or_insert(Peer {
            tokens: burst,
            last: now,
        });
        let tokens = (p.tokens + now.saturating_since(p.last)).min(burst);
        p.last = now;
        if tokens >= limit {
            p.tokens = tokens - limit;
            true
        } else {
            p.tokens = tokens;
            false
        }
    }
}

#[cfg(test)]
#[path = "icmp_tests.rs"]
mod tests;

//! IPv4 receive: the header checks of `ip_rcv`, the input route decision, local delivery
//! and forwarding.
//!
//! Linux: net/ipv4/ip_input.c (`ip_rcv_core`, `ip_rcv_finish_core`, `ip_local_deliver`,
//! `ip_protocol_deliver_rcu`, which hands raw sockets their copies first), net/ipv4/route.c (`ip_route_input_slow`, `ip_error`),
//! net/ipv4/ip_forward.c (`ip_forward`), net/ipv4/ip_options.c (`__ip_options_compile`).
//! RFCs: RFC 791 §3.2, RFC 1122 §3.2.1, RFC 1812 §5.2.4.3 (martian addresses).
//!
//! Every drop is counted under the MIB name Linux uses and a `DropReason`.
//!
//! As `ip_rcv`, input checks no MTU: a GSO super-packet from an offloading device (up to
//! 64 KB, `skb.gso_size` set) is delivered whole. Forwarding one is not supported (dropped,
//! OutDiscards); a `CHECKSUM_PARTIAL` packet's L4 checksum is completed before forwarding.

use core::net::Ipv4Addr;

use linnet_wire::checksum;
use linnet_wire::icmpv4;
use linnet_wire::ipv4::{self as wire, Protocol};
use linnet_wire::ipv4_options;

use crate::route::LocalKind;
use crate::skb::{IpSummed, PacketType, SkBuff};
use crate::stack::{Stack, LOOPBACK_IFINDEX};
use crate::stats::DropReason;
use linnet_wire::ipv4::{is_lbcast, is_zeronet};

/// The input route's verdict (the role of `skb_dst(skb)->input` after
/// `ip_route_input_noref`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum InputVerdict {
    /// `ip_local_deliver`, as a unicast or a broadcast.
    Deliver(InputRoute),
    /// `ip_forward`.
    Forward,
    /// `ip_error`: not ours and forwarding is off.
    Unreachable,
}

/// What the input route decided (the role of `skb_rtable(skb)->rt_type` on input).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum InputRoute {
    /// For us.
    Local,
    /// A broadcast we accept.
    Broadcast,
}

impl Stack {
    /// `ip_rcv`: header checks in Linux's order, then the input route.
    pub(crate) fn ip_rcv(&mut self, mut skb: SkBuff) {
        if skb.pkt_type == PacketType::OtherHost {
            if let Some(d) = self.device_mut(skb.dev) {
                d.stats.rx_otherhost_dropped += 1;
            }
            self.drop_skb(skb, DropReason::OtherHost);
            return;
        }
        self.stats.ip.in_receives += 1;
        self.stats.ip_ext.in_octets += skb.len() as u64;
        let data = skb.data();
        if data.len() < wire::HEADER_LEN {
            self.stats.ip.in_hdr_errors += 1;
            self.drop_skb(skb, DropReason::PktTooSmall);
            return;
        }
        let pkt = wire::Packet::new_unchecked(data);
        let hl = usize::from(pkt.header_len());
        if hl < wire::HEADER_LEN || pkt.version() != 4 {
            self.stats.ip.in_hdr_errors += 1;
            self.drop_skb(skb, DropReason::IpInhdr);
            return;
        }
        match pkt.ecn() {
            0 => self.stats.ip_ext.in_no_ect_pkts += 1,
            1 => self.stats.ip_ext.in_ect1_pkts += 1,
            2 => self.stats.ip_ext.in_ect0_pkts += 1,
            _ => self.stats.ip_ext.in_ce_pkts += 1,
        }
        if data.len() < hl {
            self.stats.ip.in_hdr_errors += 1;
            self.drop_skb(skb, DropReason::PktTooSmall);
            return;
        }
        if !pkt.verify_checksum() {
            self.stats.ip_ext.in_csum_errors += 1;
            self.stats.ip.in_hdr_errors += 1;
            self.drop_skb(skb, DropReason::IpCsum);
            return;
        }
        let tot = usize::from(pkt.total_len());
        if data.len() < tot {
            self.stats.ip_ext.in_truncated_pkts += 1;
            self.drop_skb(skb, DropReason::PktTooSmall);
            return;
        } else if tot < hl {
            self.stats.ip.in_hdr_errors += 1;
            self.drop_skb(skb, DropReason::IpInhdr);
            return;
        }
        // Parsed now, acted on after the route (ip_rcv_finish_core runs ip_rcv_options only
        // once ip_route_input_noref has accepted the packet): Some(pointer) for a bad option.
        let bad_option = if hl > wire::HEADER_LEN {
            match ipv4_options::Options::parse(pkt.options()) {
                Ok(_) => None,
                Err(linnet_wire::ParseError::BadOption { pointer }) => Some(Some(pointer)),
                Err(_) => Some(None),
            }
        } else {
            None
        };
        let (src, dst) = (pkt.src_addr(), pkt.dst_addr());
        let proto = pkt.next_header();
        skb.trim(tot);
        skb.set_transport_after_network(hl);
        let verdict = match self.route_input(&skb, src, dst, proto) {
            Ok(v) => v,
            Err(reason) => {
                self.drop_skb(skb, reason);
                return;
            }
        };
        if let Some(pointer) = bad_option {
            // ip_rcv_options: a bad option costs InHdrErrors and a Parameter Problem
            // pointing at it (__ip_options_compile), whatever the route's verdict.
            self.stats.ip.in_hdr_errors += 1;
            if let Some(pointer) = pointer {
                let local = matches!(verdict, InputVerdict::Deliver(_));
                let info = u32::from(pointer) << 24;
                self.icmp_send(&skb, icmpv4::Message::PARAM_PROBLEM.0, 0, info, local);
            }
            self.drop_skb(skb, DropReason::IpInhdr);
            return;
        }
        match verdict {
            InputVerdict::Deliver(rt) => self.ip_local_deliver(skb, rt),
            InputVerdict::Forward => self.ip_forward(skb, dst),
            InputVerdict::Unreachable => {
                // ip_error with forwarding off: EHOSTUNREACH -> InAddrErrors, no ICMP.
                self.stats.ip.in_addr_errors += 1;
                self.drop_skb(skb, DropReason::IpInaddrerrors);
            }
        }
    }

    /// `fib_validate_source` (accept_local=0): a packet from outside whose source is one of
    /// our own addresses or one of our subnet broadcasts finds RTN_LOCAL / RTN_BROADCAST on
    /// the reverse lookup ("res.type != RTN_UNICAST") and is a martian source.
    fn source_is_ours_from_outside(&mut self, saddr: Ipv4Addr, from_lo: bool) -> bool {
        let ours = !from_lo && self.fib.local(saddr).is_some();
        if ours {
            self.stats.rt.in_martian_src += 1;
        }
        ours
    }

    /// Whether a transparent (TPROXY) socket of protocol `proto` claims what arrives on
    /// `dev`: [`Stack::tcp_listen_transparent`] for TCP, [`Stack::udp_bind_transparent`]
    /// for UDP.
    fn tproxy_local(&self, dev: crate::dev::IfIndex, proto: Protocol) -> bool {
        match proto {
            Protocol::TCP => self.tcp.tproxy.contains_key(&dev),
            Protocol::UDP => self.udp.tproxy_has(dev),
            _ => false,
        }
    }

    /// `ip_route_input_slow`: martian checks, local/broadcast classification, and the
    /// forwarding decision. `Err` is a failed lookup (martians): the packet is dropped
    /// before its options are looked at.
    // One caller (ip_rcv): inlined so the packet path makes one call fewer.
    #[inline(always)]
    fn route_input(
        &mut self,
        skb: &SkBuff,
        saddr: Ipv4Addr,
        daddr: Ipv4Addr,
        proto: Protocol,
    ) -> Result<InputVerdict, DropReason> {
        let from_lo = skb.dev == LOOPBACK_IFINDEX;
        // A local-delivery decision depends only on the addresses, `from_lo`,
        // route_localnet and the local table (the FIB generation), and counts nothing: a
        // remembered one is what the checks below would decide again (see RouteCache).
        let genid = self.fib.genid();
        let localnet = self.cfg.route_localnet;
        if self
            .rt_cache
            .input_local(genid, saddr, daddr, from_lo, localnet)
        {
            return Ok(InputVerdict::Deliver(InputRoute::Local));
        }
        if saddr.is_multicast() || is_lbcast(saddr) {
            self.stats.rt.in_martian_src += 1;
            return Err(DropReason::IpInvalidSource);
        }
        if is_lbcast(daddr) || (saddr.is_unspecified() && daddr.is_unspecified()) {
            // brd_input: the source is validated unless it is 0.0.0.0 (DHCP).
            if !is_zeronet(saddr) && self.source_is_ours_from_outside(saddr, from_lo) {
                return Err(DropReason::IpInvalidSource);
            }
            self.stats.rt.in_brd += 1;
            return Ok(InputVerdict::Deliver(InputRoute::Broadcast));
        }
        if is_zeronet(saddr) {
            self.stats.rt.in_martian_src += 1;
            return Err(DropReason::IpInvalidSource);
        }
        if is_zeronet(daddr) {
            self.stats.rt.in_martian_dst += 1;
            return Err(DropReason::IpInvalidDest);
        }
        if !from_lo && !self.cfg.route_localnet {
            if daddr.is_loopback() {
                self.stats.rt.in_martian_dst += 1;
                return Err(DropReason::IpLocalnet);
            }
            if saddr.is_loopback() {
                self.stats.rt.in_martian_src += 1;
                return Err(DropReason::IpLocalnet);
            }
        }
        if daddr.is_multicast() {
            // Deviation from Linux: no IGMP/multicast membership yet, so no group is joined
            // and every multicast datagram is refused as ip_route_input_mc would for a
            // group we are not in.
            self.stats.ip_ext.in_mcast_pkts += 1;
            return Err(DropReason::IpInvalidDest);
        }
        if from_lo && daddr.is_loopback() {
            self.rt_cache
                .store_input_local(genid, saddr, daddr, from_lo, localnet);
            return Ok(InputVerdict::Deliver(InputRoute::Local));
        }
        let local = self.fib.local(daddr);
        if local.is_some() && self.source_is_ours_from_outside(saddr, from_lo) {
            // RTN_LOCAL and RTN_BROADCAST both run fib_validate_source.
            return Err(DropReason::IpInvalidSource);
        }
        match local {
            Some(LocalKind::Local(_)) => {
                self.rt_cache
                    .store_input_local(genid, saddr, daddr, from_lo, localnet);
                return Ok(InputVerdict::Deliver(InputRoute::Local));
            }
            Some(LocalKind::Broadcast(_)) => {
                self.stats.rt.in_brd += 1;
                return Ok(InputVerdict::Deliver(InputRoute::Broadcast));
            }
            None => {}
        }
        if self.tproxy_local(skb.dev, proto) {
            // Transparent mode on the arriving device: a unicast TCP/UDP packet to any
            // address is for us.
            // Deviation from Linux: Linux needs an nftables `tproxy` rule that marks the
            // packet, an `ip rule fwmark` and a `local 0.0.0.0/0 dev lo` table; here a
            // transparent socket registered for the device stands for all three. Not cached: the decision depends on the device and
            // protocol, which the route cache's key does not hold.
            if self.source_is_ours_from_outside(saddr, from_lo) {
                return Err(DropReason::IpInvalidSource);
            }
            return Ok(InputVerdict::Deliver(InputRoute::Local));
        }
        if !self.cfg.ip_forward {
            // no_route with forwarding off: the route's input is ip_error (counted by the
            // caller once the options have been checked); the source is not validated.
            self.stats.rt.in_no_route += 1;
            return Ok(InputVerdict::Unreachable);
        }
        // __mkroute_input validates the source before forwarding.
        if self.source_is_ours_from_outside(saddr, from_lo) {
            return Err(DropReason::IpInvalidSource);
        }
        Ok(InputVerdict::Forward)
    }

    /// `ip_local_deliver` + `ip_local_deliver_finish`: reassembly, then the protocol demux.
    // One caller (ip_rcv): inlined so the packet path makes one call fewer.
    #[inline(always)]
    fn ip_local_deliver(&mut self, mut skb: SkBuff, rt: InputRoute) {
        let Some(net) = skb.network_header() else {
            self.drop_skb(skb, DropReason::NotSpecified);
            return;
        };
        let pkt = wire::Packet::new_unchecked(net);
        if pkt.more_frags() || pkt.frag_offset() != 0 {
            match self.ip_defrag(skb) {
                Some(whole) => skb = whole,
                None => return,
            }
        }
        let Some(net) = skb.network_header() else {
            self.drop_skb(skb, DropReason::NotSpecified);
            return;
        };
        let pkt = wire::Packet::new_unchecked(net);
        let hl = usize::from(pkt.header_len());
        let proto = pkt.next_header();
        if rt == InputRoute::Broadcast {
            self.stats.ip_ext.in_bcast_pkts += 1;
        }
        skb.pull(hl);
        skb.reset_transport_header();
        let bcast = rt == InputRoute::Broadcast;
        // ip_protocol_deliver_rcu: the raw sockets get their copies first.
        let raw = self.raw_local_deliver(&skb, proto.0, bcast);
        match proto {
            Protocol::ICMP => {
                self.stats.ip.in_delivers += 1;
                self.icmp_rcv(skb, bcast);
            }
            Protocol::UDP => {
                self.stats.ip.in_delivers += 1;
                self.udp_rcv(skb, bcast);
            }
            Protocol::TCP => {
                self.stats.ip.in_delivers += 1;
                self.tcp_rcv(skb, bcast);
            }
            _ if raw => {
                // A raw socket took it: delivered, no protocol unreachable.
                self.stats.ip.in_delivers += 1;
                self.consume_skb(skb);
            }
            _ => {
                self.stats.ip.in_unknown_protos += 1;
                self.icmp_send(
                    &skb,
                    icmpv4::Message::DST_UNREACHABLE.0,
                    icmpv4::unreach::PROTOCOL,
                    0,
                    !bcast,
                );
                self.drop_skb(skb, DropReason::IpNoproto);
            }
        }
    }

    /// `ip_forward`: TTL, MTU and the hop to the next router.
    fn ip_forward(&mut self, mut skb: SkBuff, daddr: Ipv4Addr) {
        if skb.pkt_type != PacketType::Host {
            self.drop_skb(skb, DropReason::OtherHost);
            return;
        }
        let Some(net) = skb.network_header() else {
            self.drop_skb(skb, DropReason::NotSpecified);
            return;
        };
        let pkt = wire::Packet::new_unchecked(net);
        let (ttl, df, saddr) = (pkt.hop_limit(), pkt.dont_frag(), pkt.src_addr());
        if ttl <= 1 {
            self.stats.ip.in_hdr_errors += 1;
            self.icmp_send(
                &skb,
                icmpv4::Message::TIME_EXCEEDED.0,
                icmpv4::time_exceeded::TTL,
                0,
                false,
            );
            self.drop_skb(skb, DropReason::IpInhdr);
            return;
        }
        let dst = match self.route_output_fwd(daddr, saddr) {
            Some(d) => d,
            None => {
                self.stats.rt.in_no_route += 1;
                self.stats.ip_ext.in_no_routes += 1;
                self.icmp_send(
                    &skb,
                    icmpv4::Message::DST_UNREACHABLE.0,
                    icmpv4::unreach::NET,
                    0,
                    false,
                );
                self.drop_skb(skb, DropReason::IpInnoroutes);
                return;
            }
        };
        let len = net.len();
        if len > dst.mtu as usize && df && !skb.is_gso() {
            self.stats.ip.frag_fails += 1;
            self.icmp_send(
                &skb,
                icmpv4::Message::DST_UNREACHABLE.0,
                icmpv4::unreach::FRAG_NEEDED,
                dst.mtu.min(0xffff),
                false,
            );
            self.drop_skb(skb, DropReason::PktTooBig);
            return;
        }
        if skb.is_gso() {
            // Deviation from Linux: a GSO super-packet (from a TAP read with receive offload)
            // is not segmented for forwarding (Linux: `skb_gso_segment` on output); it is
            // dropped and counted in OutDiscards.
            self.stats.ip.out_discards += 1;
            self.drop_skb(skb, DropReason::NotSpecified);
            return;
        }
        // ip_decrease_ttl: TTL - 1 with the RFC 1624 incremental checksum update.
        let Some(off) = skb.network_offset().and_then(|o| usize::try_from(o).ok()) else {
            self.drop_skb(skb, DropReason::NotSpecified);
            return;
        };
        {
            let data = &mut skb.data_mut()[off..];
            let mut p = wire::Packet::new_unchecked(data);
            let old_word = u16::from_be_bytes([ttl, p.next_header().0]);
            p.set_hop_limit(ttl - 1);
            let new_word = u16::from_be_bytes([ttl - 1, p.next_header().0]);
            let c = checksum::update_u16(p.checksum(), old_word, new_word);
            p.set_checksum(c);
        }
        if skb.ip_summed == IpSummed::Partial {
            // skb_checksum_help: no device here finishes a partial checksum on output.
            complete_partial_l4(&mut skb.data_mut()[off..]);
            skb.ip_summed = IpSummed::None;
        }
        skb.pull(off);
        self.stats.ip.forw_datagrams += 1;
        self.stats.consumed += 1;
        self.ip_output(dst, daddr, skb);
    }
}

/// Completes the partial TCP or UDP checksum of the IPv4 packet `ip` (`skb_checksum_help`
/// for a `CHECKSUM_PARTIAL` packet: the checksum field holds the folded pseudo-header sum).
/// Leaves anything else, or a packet too short for its headers, unchanged.
fn complete_partial_l4(ip: &mut [u8]) {
    if ip.len() < 20 {
        return;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let total = usize::from(u16::from_be_bytes([ip[2], ip[3]])).min(ip.len());
    let field = match ip[9] {
        6 => ihl + 16,
        17 => ihl + 6,
        _ => return,
    };
    if ihl < 20 || field + 2 > total {
        return;
    }
    let mut c = checksum::checksum(&ip[ihl..total]);
    if c == 0 && ip[9] == 17 {
        c = 0xffff;
    }
    ip[field..field + 2].copy_from_slice(&c.to_be_bytes());
}

#[cfg(test)]
#[path = "input_tests.rs"]
mod tests;

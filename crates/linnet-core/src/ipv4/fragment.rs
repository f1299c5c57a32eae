//! IPv4 reassembly of fragments addressed to us.
//!
//! Linux: net/ipv4/ip_fragment.c (`ip_defrag`, `ip_frag_queue`, `ip_frag_reasm`,
//! `ip_expire`), net/ipv4/inet_fragment.c (`inet_frag_queue_insert`, `inet_frag_kill`),
//! sysctls `ipfrag_high_thresh` (4 MiB) and `ipfrag_time` (30 s).
//! RFCs: RFC 791 §3.2 (reassembly), RFC 1122 §3.3.2 (timeout, ICMP time exceeded code 1),
//! RFC 5722 spirit for overlaps (Linux drops IPv4 datagrams with overlapping fragments
//! since 4.19).
//!
//! Invariants: memory held by all queues never exceeds `ipfrag_high_thresh`; each queue has
//! one timer; a queue is complete when its first and last fragments are in and the bytes
//! received equal its length.

use alloc::vec::Vec;
use core::net::Ipv4Addr;
use core::time::Duration;

use crate::hash::{map_with_seed, HashMap};
use linnet_wire::icmpv4;
use linnet_wire::ipv4 as wire;

use crate::skb::SkBuff;
use crate::stack::Stack;
use crate::stats::DropReason;
use crate::time::Instant;
use crate::timer::Timers;

/// `ipfrag_high_thresh`: bytes of fragments kept before new ones are refused.
pub const HIGH_THRESH: usize = 4 * 1024 * 1024;
/// `ipfrag_time`: how long an incomplete datagram waits.
pub const FRAG_TIME: Duration = Duration::from_secs(30);
/// Largest reassembled datagram (`IP_MAX_MTU` 65535 minus a 20-byte header... Linux checks
/// `end > 65535` on the payload).
const MAX_LEN: usize = 65535;

/// Identity of a datagram being reassembled (`struct frag_v4_compare_key`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct FragKey {
    saddr: Ipv4Addr,
    daddr: Ipv4Addr,
    id: u16,
    proto: u8,
}

#[derive(Debug)]
struct FragQueue {
    /// Fragments sorted by payload offset: (offset, end, skb with network header at data).
    frags: Vec<(usize, usize, SkBuff)>,
    /// Total payload length once the last fragment is in (else the highest end seen).
    len: usize,
    last_in: bool,
    meat: usize,
    mem: usize,
    deadline: Instant,
}

/// All reassembly queues of a stack (`struct fqdir`).
#[derive(Debug)]
pub(crate) struct Reasm {
    queues: HashMap<FragKey, FragQueue>,
    pub(crate) timers: Timers<FragKey>,
    mem: usize,
}

impl Reasm {
    pub(crate) fn with_seed(seed: u64) -> Reasm {
        Reasm {
            queues: map_with_seed(seed),
            timers: Timers::default(),
            mem: 0,
        }
    }
}

impl Stack {
    /// `ip_defrag`: queues a fragment (network header at `data`). Returns the whole
    /// datagram when this fragment completes it.
    pub(crate) fn ip_defrag(&mut self, skb: SkBuff) -> Option<SkBuff> {
        self.stats.ip.reasm_reqds += 1;
        let data = skb.data();
        let pkt = wire::Packet::new_unchecked(data);
        let hl = usize::from(pkt.header_len());
        let key = FragKey {
            saddr: pkt.src_addr(),
            daddr: pkt.dst_addr(),
            id: pkt.ident(),
            proto: pkt.next_header().0,
        };
        let offset = usize::from(pkt.frag_offset());
        let more = pkt.more_frags();
        let mut end = offset + data.len().saturating_sub(hl);
        if end > MAX_LEN {
            return self.defrag_fail(skb, None);
        }
        let now = self.now;
        if !self.reasm.queues.contains_key(&key) {
            if self.reasm.mem + skb.truesize() > HIGH_THRESH {
                return self.defrag_fail(skb, None);
            }
            let deadline = now + FRAG_TIME;
            self.reasm.queues.insert(
                key,
                FragQueue {
                    frags: Vec::new(),
                    len: 0,
                    last_in: false,
                    meat: 0,
                    mem: 0,
                    deadline,
                },
            );
            self.reasm.timers.arm(None, deadline, key);
        }
        let Some(q) = self.reasm.queues.get_mut(&key) else {
            return self.defrag_fail(skb, None);
        };
        if !more {
            // The last fragment fixes the length; anything beyond it, or a second different
            // end, is corruption (ip_frag_queue).
            if end < q.len || (q.last_in && end != q.len) {
                return self.defrag_fail(skb, Some(key));
            }
            q.last_in = true;
            q.len = end;
        } else {
            end &= !7;
            if end > q.len {
                if q.last_in {
                    return self.defrag_fail(skb, Some(key));
                }
                q.len = end;
            }
        }
        if end <= offset {
            return self.defrag_fail(skb, Some(key));
        }
        // inet_frag_queue_insert: an exact duplicate is dropped; any other overlap kills
        // the whole datagram.
        let pos = q.frags.partition_point(|f| f.0 < offset);
        if let Some(f) = q.frags.get(pos) {
            if f.0 == offset && f.1 == end {
                self.consume_skb(skb);
                return None;
            }
            if f.0 < end {
                self.stats.ip_ext.reasm_overlaps += 1;
                return self.defrag_fail(skb, Some(key));
            }
        }
        if pos > 0 && q.frags[pos - 1].1 > offset {
            if q.frags[pos - 1].0 == offset && q.frags[pos - 1].1 == end {
                self.consume_skb(skb);
                return None;
            }
            self.stats.ip_ext.reasm_overlaps += 1;
            return self.defrag_fail(skb, Some(key));
        }
        let size = skb.truesize();
        q.mem += size;
        q.meat += end - offset;
        q.frags.insert(pos, (offset, end, skb));
        self.reasm.mem += size;
        // The fragment now belongs to the queue: handled (consume_skb in Linux terms).
        self.stats.consumed += 1;
        let complete = q.last_in && q.frags.first().is_some_and(|f| f.0 == 0) && q.meat == q.len;
        if complete {
            return self.ip_frag_reasm(key);
        }
        None
    }

    fn defrag_fail(&mut self, skb: SkBuff, kill: Option<FragKey>) -> Option<SkBuff> {
        if let Some(k) = kill {
            self.frag_kill(k);
        }
        self.stats.ip.reasm_fails += 1;
        self.drop_skb(skb, DropReason::IpInhdr);
        None
    }

    /// `inet_frag_kill` + freeing the queue's fragments.
    fn frag_kill(&mut self, key: FragKey) -> Option<FragQueue> {
        let q = self.reasm.queues.remove(&key)?;
        self.reasm.timers.cancel(q.deadline, key);
        self.reasm.mem = self.reasm.mem.saturating_sub(q.mem);
        Some(q)
    }

    /// `ip_frag_reasm`: glue the fragments behind the first one's header.
    fn ip_frag_reasm(&mut self, key: FragKey) -> Option<SkBuff> {
        let mut q = self.frag_kill(key)?;
        let (_, _, first) = q.frags.first()?;
        let hl = usize::from(wire::Packet::new_unchecked(first.data()).header_len());
        let mut out = self.pool.alloc(hl + q.len);
        out.dev = first.dev;
        out.pkt_type = first.pkt_type;
        out.put_slice(&first.data()[..hl]);
        for (_, _, f) in q.frags.iter() {
            let fh = usize::from(wire::Packet::new_unchecked(f.data()).header_len());
            out.put_slice(f.data().get(fh..).unwrap_or(&[]));
        }
        for (_, _, f) in q.frags.drain(..) {
            self.pool.free(f);
        }
        out.trim(hl + q.len);
        {
            let mut p = wire::Packet::new_unchecked(out.data_mut());
            p.set_total_len((hl + q.len) as u16);
            p.set_flags_and_frag_offset(p.dont_frag(), false, 0);
            p.fill_checksum();
        }
        out.reset_network_header();
        self.stats.ip.reasm_oks += 1;
        // The reassembled datagram is a new packet on the receive path.
        self.stats.rx_frames += 1;
        Some(out)
    }

    /// `ip_expire`: an incomplete datagram timed out. If its first fragment arrived, the
    /// sender gets ICMP time exceeded, code 1 (RFC 1122 §3.3.2).
    pub(crate) fn frag_timeouts(&mut self, now: Instant) {
        while let Some((_, key)) = self.reasm.timers.pop_due(now) {
            let Some(mut q) = self.reasm.queues.remove(&key) else {
                continue;
            };
            self.reasm.mem = self.reasm.mem.saturating_sub(q.mem);
            self.stats.ip.reasm_fails += 1;
            self.stats.ip.reasm_timeout += 1;
            if let Some((0, _, head)) = q.frags.first() {
                let code = icmpv4::time_exceeded::FRAG_REASSEMBLY;
                self.icmp_send(head, icmpv4::Message::TIME_EXCEEDED.0, code, 0, true);
            }
            for (_, _, f) in q.frags.drain(..) {
                self.pool.free(f);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec;
    use alloc::vec::Vec;
    use core::net::{Ipv4Addr, SocketAddrV4};

    use linnet_wire::ethernet::{self, EtherType};
    use linnet_wire::ipv4::{self as wire, Protocol};
    use linnet_wire::udp;

    use crate::{IfIndex, Instant, SkBuff, Stack, StackConfig};

    use crate::testutil::{Harness, OUR_IP as US, OUR_MAC as MAC, PEER_IP as PEER, PEER_MAC};

    /// The shared test stack (eth0 10.0.0.1/24) with a permanent entry for the peer.
    fn stack() -> (Stack, IfIndex) {
        let h = Harness::with_config(StackConfig::default(), 7).with_static_peer();
        (h.stack, h.eth0)
    }

    /// A UDP datagram of `len` payload bytes from PEER:1000 to US:2000, as IP payload bytes.
    fn udp_payload(len: usize) -> Vec<u8> {
        let mut b = vec![0u8; udp::HEADER_LEN + len];
        for (i, x) in b[udp::HEADER_LEN..].iter_mut().enumerate() {
            *x = i as u8;
        }
        let mut p = udp::Packet::new_unchecked(&mut b[..]);
        udp::Repr {
            src_port: 1000,
            dst_port: 2000,
        }
        .emit_header(&mut p, len);
        p.fill_checksum_v4(PEER, US);
        b
    }

    /// One Ethernet frame carrying bytes `[off, off+len)` of `payload` as a fragment.
    fn frag(payload: &[u8], off: usize, len: usize, more: bool) -> SkBuff {
        let repr = wire::Repr {
            src_addr: PEER,
            dst_addr: US,
            next_header: Protocol::UDP,
            payload_len: len,
            hop_limit: 64,
            tos: 0,
            ident: 0x1234,
            dont_frag: false,
        };
        let mut f = vec![0u8; ethernet::HEADER_LEN + wire::HEADER_LEN + len];
        ethernet::Repr {
            src_addr: PEER_MAC,
            dst_addr: MAC,
            ethertype: EtherType::IPV4,
        }
        .emit(&mut ethernet::Frame::new_unchecked(&mut f[..]));
        {
            let mut p = wire::Packet::new_unchecked(&mut f[ethernet::HEADER_LEN..]);
            repr.emit(&mut p);
            p.set_flags_and_frag_offset(false, more, off as u16);
            p.fill_checksum();
        }
        f[ethernet::HEADER_LEN + wire::HEADER_LEN..].copy_from_slice(&payload[off..off + len]);
        SkBuff::from_slice(&f)
    }

    /// RFC 791 §3.2: fragments arriving out of order are reassembled and delivered whole.
    #[test]
    fn out_of_order_fragments_reassemble_into_one_datagram() {
        let (mut s, dev) = stack();
        let sock = s.udp_socket().unwrap();
        s.udp_bind(sock, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 2000))
            .unwrap();
        let p = udp_payload(3000);
        s.receive(Instant::ZERO, dev, frag(&p, 1480, 1480, true));
        s.receive(Instant::ZERO, dev, frag(&p, 2960, p.len() - 2960, false));
        assert_eq!(s.udp_rx_queued(sock).unwrap(), 0);
        s.receive(Instant::ZERO, dev, frag(&p, 0, 1480, true));
        let mut buf = [0u8; 4000];
        let m = s.udp_recv_from(sock, &mut buf).unwrap();
        assert_eq!(m.len, 3000);
        assert_eq!(&buf[..3000], &p[udp::HEADER_LEN..]);
        assert_eq!(s.stats().ip.reasm_reqds, 3);
        assert_eq!(s.stats().ip.reasm_oks, 1);
        assert_eq!(
            s.stats().rx_frames,
            s.stats().consumed + s.stats().total_drops()
        );
    }

    /// Linux (since 4.19) discards an IPv4 datagram whose fragments overlap.
    #[test]
    fn overlapping_fragment_discards_the_datagram() {
        let (mut s, dev) = stack();
        let sock = s.udp_socket().unwrap();
        s.udp_bind(sock, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 2000))
            .unwrap();
        let p = udp_payload(3000);
        s.receive(Instant::ZERO, dev, frag(&p, 0, 1480, true));
        s.receive(Instant::ZERO, dev, frag(&p, 1000, 1480, true));
        s.receive(Instant::ZERO, dev, frag(&p, 2480, p.len() - 2480, false));
        assert_eq!(s.udp_rx_queued(sock).unwrap(), 0);
        assert_eq!(s.stats().ip_ext.reasm_overlaps, 1);
        assert!(s.stats().ip.reasm_fails >= 1);
        assert_eq!(s.stats().ip.reasm_oks, 0);
    }

    /// RFC 1122 §3.3.2: after ipfrag_time (30 s) an incomplete datagram whose first fragment
    /// arrived earns the sender an ICMP time exceeded, code 1.
    #[test]
    fn incomplete_datagram_times_out_with_time_exceeded_code_1() {
        let (mut s, dev) = stack();
        let p = udp_payload(3000);
        s.receive(Instant::ZERO, dev, frag(&p, 0, 1480, true));
        assert!(s.poll_transmit().is_none());
        // Run every timer (the neighbour table's collection runs too) up to 30 s.
        while let Some(t) = s.poll_timeout().filter(|t| *t <= Instant::from_secs(30)) {
            s.handle_timeout(t);
            if t < Instant::from_secs(30) {
                assert!(s.poll_transmit().is_none(), "nothing before ipfrag_time");
            }
        }
        assert_eq!(s.stats().ip.reasm_timeout, 1);
        let (_, out) = s.poll_transmit().expect("ICMP time exceeded");
        let ip = wire::Packet::new_checked(&out.data()[ethernet::HEADER_LEN..]).unwrap();
        assert_eq!(ip.dst_addr(), PEER);
        assert_eq!(ip.next_header(), Protocol::ICMP);
        assert_eq!(&ip.payload()[..2], &[11, 1]);
        assert_eq!(s.stats().ip.reasm_timeout, 1);
        assert_eq!(s.stats().ip.reasm_fails, 1);
    }
}

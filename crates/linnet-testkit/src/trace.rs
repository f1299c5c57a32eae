//! Text traces: one line per frame, in the style of `tcpdump -nn`.
//!
//! Linux analogue: what `tcpdump -nn -i veth0` prints for each packet (one line, no link
//! header), built from the linnet-wire parsers. Malformed frames are described, never a
//! reason to panic.
//! RFCs: RFC 826 (ARP), RFC 791 (IPv4), RFC 792 (ICMP), RFC 768 (UDP), RFC 9293 (TCP),
//! RFC 8200 (IPv6 fixed header).

use core::fmt;
use core::fmt::Write as _;
use core::net::{Ipv4Addr, Ipv6Addr};

use linnet_core::wire::{arp, ethernet, icmpv4, ipv4, tcp, udp, EtherType};
use linnet_core::Instant;

use crate::link::{Direction, LinkId};
use crate::network::HostId;

/// What happened to a traced frame.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum TraceKind {
    /// Handed to the receiving stack (at the arrival time).
    Delivered,
    /// Lost on the link (at the sending time).
    Lost,
    /// Dropped for exceeding the link MTU (at the sending time).
    Oversize,
}

/// One traced frame.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// Virtual time: arrival for delivered frames, sending time for dropped ones.
    pub at: Instant,
    /// The link.
    pub link: LinkId,
    /// Which way the frame went.
    pub dir: Direction,
    /// Sending host.
    pub from: HostId,
    /// Receiving host.
    pub to: HostId,
    /// Sending host's name.
    pub from_name: String,
    /// Receiving host's name.
    pub to_name: String,
    /// What happened.
    pub kind: TraceKind,
    /// This copy was made by the link's duplication.
    pub duplicate: bool,
    /// This copy skipped the delay (reordering).
    pub reordered: bool,
    /// Frame length in bytes, Ethernet header included.
    pub len: usize,
    /// One-line summary of the frame ([`summarize`]).
    pub summary: String,
}

impl fmt::Display for TraceEvent {
    /// `0.005123 link0 a>b ARP who-has 10.0.0.2 tell 10.0.0.1`, with `[lost]`,
    /// `[oversize]`, `[dup]` or `[reordered]` before the summary when they apply.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {} {}>{} ",
            self.at, self.link, self.from_name, self.to_name
        )?;
        match self.kind {
            TraceKind::Delivered => {}
            TraceKind::Lost => f.write_str("[lost] ")?,
            TraceKind::Oversize => f.write_str("[oversize] ")?,
        }
        if self.duplicate {
            f.write_str("[dup] ")?;
        }
        if self.reordered {
            f.write_str("[reordered] ")?;
        }
        f.write_str(&self.summary)
    }
}

/// A stable 64-bit digest (FNV-1a) of the trace lines, for comparing two runs.
pub fn trace_digest(events: &[TraceEvent]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut line = String::new();
    for ev in events {
        line.clear();
        let _ = writeln!(line, "{ev}");
        for b in line.bytes() {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    h
}

/// One line describing an Ethernet frame, as `tcpdump -nn` would without `-e`:
///
/// * `ARP who-has 10.0.0.2 tell 10.0.0.1`, `ARP reply 10.0.0.2 is-at 02:00:00:00:02:02`
/// * `10.0.0.1 > 10.0.0.2: ICMP echo request id 1 seq 1`
/// * `UDP 10.0.0.1:40000 > 10.0.0.2:7 len 5` (payload bytes)
/// * `TCP 10.0.0.1:40000 > 10.0.0.2:80 [S] seq 1 win 64240 len 0`
/// * `IPv6 fe80::1 > ff02::1: next-header 58 payload-length 32`
pub fn summarize(frame: &[u8]) -> String {
    let Ok(eth) = ethernet::Frame::new_checked(frame) else {
        return format!("truncated Ethernet frame, length {}", frame.len());
    };
    match eth.ethertype() {
        EtherType::ARP => arp_summary(eth.payload()),
        EtherType::IPV4 => ipv4_summary(eth.payload()),
        EtherType::IPV6 => ipv6_summary(eth.payload()),
        t => format!("ethertype 0x{:04x}, length {}", t.0, frame.len()),
    }
}

fn arp_summary(p: &[u8]) -> String {
    let pkt = arp::Packet::new_unchecked(p);
    match arp::Repr::parse(&pkt) {
        Ok(r) if r.operation == arp::Operation::REQUEST => {
            format!(
                "ARP who-has {} tell {}",
                r.target_protocol_addr, r.source_protocol_addr
            )
        }
        Ok(r) if r.operation == arp::Operation::REPLY => {
            format!(
                "ARP reply {} is-at {}",
                r.source_protocol_addr, r.source_hardware_addr
            )
        }
        Ok(r) => format!("ARP op {} from {}", r.operation.0, r.source_protocol_addr),
        Err(e) => format!("ARP malformed ({e:?}), length {}", p.len()),
    }
}

fn ipv4_summary(p: &[u8]) -> String {
    let ip = match ipv4::Packet::new_checked(p) {
        Ok(ip) => ip,
        Err(e) => return format!("IPv4 malformed ({e:?}), length {}", p.len()),
    };
    let (src, dst) = (ip.src_addr(), ip.dst_addr());
    let proto = ip.next_header();
    if ip.frag_offset() != 0 {
        return format!(
            "{src} > {dst}: IP fragment id {} offset {} proto {} len {}{}",
            ip.ident(),
            ip.frag_offset(),
            proto.0,
            ip.payload().len(),
            if ip.more_frags() {
                ", more fragments"
            } else {
                ""
            }
        );
    }
    let mut s = match proto {
        ipv4::Protocol::ICMP => format!("{src} > {dst}: {}", icmp_summary(ip.payload())),
        ipv4::Protocol::UDP => udp_summary(src, dst, ip.payload(), ip.more_frags()),
        ipv4::Protocol::TCP => tcp_summary(src, dst, ip.payload()),
        other => format!(
            "{src} > {dst}: ip-proto-{} len {}",
            other.0,
            ip.payload().len()
        ),
    };
    if ip.more_frags() {
        let _ = write!(s, " (first fragment, id {})", ip.ident());
    }
    s
}

fn icmp_summary(p: &[u8]) -> String {
    let Ok(icmp) = icmpv4::Packet::new_checked(p) else {
        return format!("ICMP truncated, length {}", p.len());
    };
    let (t, code) = (icmp.msg_type(), icmp.msg_code());
    match t {
        icmpv4::Message::ECHO_REQUEST | icmpv4::Message::ECHO_REPLY => format!(
            "ICMP echo {} id {} seq {}",
            if t == icmpv4::Message::ECHO_REQUEST {
                "request"
            } else {
                "reply"
            },
            icmp.echo_ident(),
            icmp.echo_seq_no()
        ),
        icmpv4::Message::DST_UNREACHABLE => unreach_summary(code, icmp.data(), icmp.next_hop_mtu()),
        icmpv4::Message::TIME_EXCEEDED => match code {
            0 => "ICMP time exceeded in-transit".to_string(),
            1 => "ICMP ip reassembly time exceeded".to_string(),
            c => format!("ICMP time exceeded code {c}"),
        },
        icmpv4::Message::PARAM_PROBLEM => {
            format!(
                "ICMP parameter problem code {code} pointer {}",
                icmp.pointer()
            )
        }
        icmpv4::Message::REDIRECT => {
            format!("ICMP redirect code {code} to {}", icmp.gateway())
        }
        _ => format!("ICMP type {} code {code}", t.0),
    }
}

/// `ICMP 10.0.0.2 udp port 7 unreachable`, as tcpdump prints it, from the quoted header.
fn unreach_summary(code: u8, quoted: &[u8], mtu: u16) -> String {
    let inner = ipv4::Packet::new_unchecked(quoted);
    if quoted.len() < ipv4::HEADER_LEN || inner.version() != 4 {
        return format!("ICMP unreachable code {code}");
    }
    let dst = inner.dst_addr();
    let hl = usize::from(inner.header_len()).max(ipv4::HEADER_LEN);
    let l4 = quoted.get(hl..).unwrap_or(&[]);
    match code {
        icmpv4::unreach::PORT => {
            let proto = match inner.next_header() {
                ipv4::Protocol::UDP => "udp",
                ipv4::Protocol::TCP => "tcp",
                _ => "proto",
            };
            match l4.get(2..4) {
                Some(b) => {
                    let port = u16::from_be_bytes([b[0], b[1]]);
                    format!("ICMP {dst} {proto} port {port} unreachable")
                }
                None => format!("ICMP {dst} port unreachable"),
            }
        }
        icmpv4::unreach::NET => format!("ICMP net {dst} unreachable"),
        icmpv4::unreach::HOST => format!("ICMP host {dst} unreachable"),
        icmpv4::unreach::PROTOCOL => {
            format!("ICMP {dst} protocol {} unreachable", inner.next_header().0)
        }
        icmpv4::unreach::FRAG_NEEDED => {
            format!("ICMP {dst} unreachable - need to frag (mtu {mtu})")
        }
        c => format!("ICMP {dst} unreachable code {c}"),
    }
}

fn udp_summary(src: Ipv4Addr, dst: Ipv4Addr, p: &[u8], first_fragment: bool) -> String {
    if p.len() < udp::HEADER_LEN {
        return format!("UDP {src} > {dst} truncated, length {}", p.len());
    }
    // A first fragment holds the header but not the whole datagram the length field counts.
    let u = udp::Packet::new_unchecked(p);
    let ulen = usize::from(u.len());
    if ulen < udp::HEADER_LEN || (!first_fragment && ulen > p.len()) {
        return format!("UDP {src} > {dst} bad length {ulen}, length {}", p.len());
    }
    format!(
        "UDP {src}:{} > {dst}:{} len {}",
        u.src_port(),
        u.dst_port(),
        ulen - udp::HEADER_LEN
    )
}

fn tcp_summary(src: Ipv4Addr, dst: Ipv4Addr, p: &[u8]) -> String {
    let t = match tcp::Packet::new_checked(p) {
        Ok(t) => t,
        Err(e) => return format!("TCP {src} > {dst} malformed ({e:?}), length {}", p.len()),
    };
    let mut flags = String::new();
    for (on, c) in [
        (t.syn(), 'S'),
        (t.fin(), 'F'),
        (t.rst(), 'R'),
        (t.psh(), 'P'),
        (t.urg(), 'U'),
        (t.ece(), 'E'),
        (t.cwr(), 'W'),
        (t.ack(), '.'),
    ] {
        if on {
            flags.push(c);
        }
    }
    if flags.is_empty() {
        flags.push_str("none");
    }
    let mut s = format!(
        "TCP {src}:{} > {dst}:{} [{flags}] seq {}",
        t.src_port(),
        t.dst_port(),
        t.seq_number().0
    );
    if t.ack() {
        let _ = write!(s, " ack {}", t.ack_number().0);
    }
    let _ = write!(s, " win {} len {}", t.window_len(), t.payload().len());
    s
}

fn ipv6_summary(p: &[u8]) -> String {
    if p.len() < 40 || p[0] >> 4 != 6 {
        return format!("IPv6 malformed, length {}", p.len());
    }
    let addr = |b: &[u8]| {
        let mut o = [0u8; 16];
        o.copy_from_slice(b);
        Ipv6Addr::from(o)
    };
    let (src, dst) = (addr(&p[8..24]), addr(&p[24..40]));
    let plen = u16::from_be_bytes([p[4], p[5]]);
    let nh = p[6];
    if nh == 58 && p.len() >= 42 {
        return format!("IPv6 {src} > {dst}: ICMP6 type {} code {}", p[40], p[41]);
    }
    format!("IPv6 {src} > {dst}: next-header {nh} payload-length {plen}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn eth(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![0xff; 6];
        f.extend_from_slice(&[2, 0, 0, 0, 1, 2]);
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn ipv4_hdr(proto: u8, payload_len: usize, src: [u8; 4], dst: [u8; 4]) -> Vec<u8> {
        let total = (20 + payload_len) as u16;
        let mut h = vec![0x45, 0, 0, 0, 0, 1, 0x40, 0, 64, proto, 0, 0];
        h[2..4].copy_from_slice(&total.to_be_bytes());
        h.extend_from_slice(&src);
        h.extend_from_slice(&dst);
        h
    }

    #[test]
    fn arp_request_and_reply() {
        let mut req = vec![0, 1, 8, 0, 6, 4, 0, 1, 2, 0, 0, 0, 1, 2, 10, 0, 0, 1];
        req.extend_from_slice(&[0; 6]);
        req.extend_from_slice(&[10, 0, 0, 2]);
        assert_eq!(
            summarize(&eth(0x0806, &req)),
            "ARP who-has 10.0.0.2 tell 10.0.0.1"
        );
        let mut rep = req.clone();
        rep[7] = 2;
        rep[14..18].copy_from_slice(&[10, 0, 0, 2]);
        assert_eq!(
            summarize(&eth(0x0806, &rep)),
            "ARP reply 10.0.0.2 is-at 02:00:00:00:01:02"
        );
    }

    #[test]
    fn icmp_echo_and_udp() {
        let mut p = ipv4_hdr(1, 8, [10, 0, 0, 1], [10, 0, 0, 2]);
        p.extend_from_slice(&[8, 0, 0, 0, 0, 1, 0, 1]);
        assert_eq!(
            summarize(&eth(0x0800, &p)),
            "10.0.0.1 > 10.0.0.2: ICMP echo request id 1 seq 1"
        );
        let mut p = ipv4_hdr(17, 13, [10, 0, 0, 1], [10, 0, 0, 2]);
        p.extend_from_slice(&[0x9c, 0x40, 0, 7, 0, 13, 0, 0, b'h', b'e', b'l', b'l', b'o']);
        assert_eq!(
            summarize(&eth(0x0800, &p)),
            "UDP 10.0.0.1:40000 > 10.0.0.2:7 len 5"
        );
    }

    #[test]
    fn port_unreachable_names_the_quoted_port() {
        let mut quoted = ipv4_hdr(17, 8, [10, 0, 0, 1], [10, 0, 0, 2]);
        quoted.extend_from_slice(&[0x9c, 0x40, 0, 9, 0, 8, 0, 0]);
        let mut p = ipv4_hdr(1, 8 + quoted.len(), [10, 0, 0, 2], [10, 0, 0, 1]);
        p.extend_from_slice(&[3, 3, 0, 0, 0, 0, 0, 0]);
        p.extend_from_slice(&quoted);
        assert_eq!(
            summarize(&eth(0x0800, &p)),
            "10.0.0.2 > 10.0.0.1: ICMP 10.0.0.2 udp port 9 unreachable"
        );
    }

    #[test]
    fn tcp_flags_in_tcpdump_order() {
        let mut p = ipv4_hdr(6, 20, [10, 0, 0, 1], [10, 0, 0, 2]);
        let mut t = vec![
            0x9c, 0x40, 0, 80, 0, 0, 0, 1, 0, 0, 0, 9, 0x50, 0x12, 0xfa, 0xf0,
        ];
        t.extend_from_slice(&[0, 0, 0, 0]);
        p.extend_from_slice(&t);
        assert_eq!(
            summarize(&eth(0x0800, &p)),
            "TCP 10.0.0.1:40000 > 10.0.0.2:80 [S.] seq 1 ack 9 win 64240 len 0"
        );
    }

    #[test]
    fn garbage_never_panics() {
        for len in 0..80 {
            for fill in [0x00, 0x45, 0xff] {
                let mut f = vec![fill; len];
                for et in [0x0800u16, 0x0806, 0x86dd] {
                    if len >= 14 {
                        f[12..14].copy_from_slice(&et.to_be_bytes());
                    }
                    let _ = summarize(&f);
                }
            }
        }
        assert_eq!(summarize(&[1, 2, 3]), "truncated Ethernet frame, length 3");
    }
}

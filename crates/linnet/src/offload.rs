//! Checksum offload seen from a user-space driver: completing, in software, the L4 checksum of
//! a frame the kernel handed over with its checksum left to "hardware".
//!
//! Linux: net/core/dev.c (`skb_checksum_help`), include/linux/skbuff.h (`CHECKSUM_PARTIAL`:
//! the checksum field holds the folded pseudo-header sum, and the sum over the bytes from
//! `csum_start` to the end, complemented, belongs at `csum_start + csum_offset`),
//! net/packet/af_packet.c (`TP_STATUS_CSUMNOTREADY` in `tpacket_auxdata`).
//! RFCs: RFC 1071 (computation), RFC 768 (a computed zero is sent as all ones).
//!
//! A local sender on a virtual device (veth, bridge) leaves the UDP/TCP checksum partial; an
//! AF_PACKET socket sees the frame that way and says so with `TP_STATUS_CSUMNOTREADY`. The
//! stack verifies every checksum, so the driver completes it first.

use linnet_core::wire::checksum;

const ETH_HLEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// Completes the partial TCP or UDP checksum of an Ethernet `frame` (IPv4, or IPv6 with the
/// transport header first; one optional 802.1Q tag). Returns false, changing nothing, for any
/// other frame or one too short for its headers.
pub fn complete_partial_checksum(frame: &mut [u8]) -> bool {
    let Some(mut l3) = frame
        .get(12..14)
        .map(|b| (ETH_HLEN, u16::from_be_bytes([b[0], b[1]])))
    else {
        return false;
    };
    if l3.1 == ETH_P_8021Q {
        let Some(b) = frame.get(16..18) else {
            return false;
        };
        l3 = (ETH_HLEN + 4, u16::from_be_bytes([b[0], b[1]]));
    }
    let (off, ethertype) = l3;
    let (l4, proto, end) = match ethertype {
        ETH_P_IP => {
            let Some(ip) = frame.get(off..off + 20) else {
                return false;
            };
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            if ihl < 20 {
                return false;
            }
            let total = usize::from(u16::from_be_bytes([ip[2], ip[3]]));
            (off + ihl, ip[9], off + total)
        }
        ETH_P_IPV6 => {
            let Some(ip) = frame.get(off..off + 40) else {
                return false;
            };
            let payload = usize::from(u16::from_be_bytes([ip[4], ip[5]]));
            (off + 40, ip[6], off + 40 + payload)
        }
        _ => return false,
    };
    let field = match proto {
        IPPROTO_UDP => l4 + 6,
        IPPROTO_TCP => l4 + 16,
        _ => return false,
    };
    if end > frame.len() || field + 2 > end || l4 < off {
        return false;
    }
    // The field holds the pseudo-header sum; summing it with the segment gives the total.
    let mut c = checksum::checksum(&frame[l4..end]);
    if c == 0 && proto == IPPROTO_UDP {
        c = 0xffff;
    }
    frame[field..field + 2].copy_from_slice(&c.to_be_bytes());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::Ipv4Addr;

    /// An Ethernet + IPv4 + UDP frame whose checksum field holds the folded pseudo-header sum,
    /// as a CHECKSUM_PARTIAL skb carries it (`udp4_hwcsum`).
    fn partial_udp_frame(payload: &[u8]) -> Vec<u8> {
        let (src, dst) = (Ipv4Addr::new(10, 98, 0, 1), Ipv4Addr::new(10, 98, 0, 2));
        let ulen = 8 + payload.len();
        let mut f = vec![0u8; 14 + 20 + ulen];
        f[12..14].copy_from_slice(&ETH_P_IP.to_be_bytes());
        let ip = &mut f[14..34];
        ip[0] = 0x45;
        ip[2..4].copy_from_slice(&((20 + ulen) as u16).to_be_bytes());
        ip[8] = 64;
        ip[9] = IPPROTO_UDP;
        ip[12..16].copy_from_slice(&src.octets());
        ip[16..20].copy_from_slice(&dst.octets());
        let u = &mut f[34..];
        u[0..2].copy_from_slice(&40000u16.to_be_bytes());
        u[2..4].copy_from_slice(&6000u16.to_be_bytes());
        u[4..6].copy_from_slice(&(ulen as u16).to_be_bytes());
        u[8..].copy_from_slice(payload);
        let pseudo = checksum::pseudo_header_v4(src, dst, IPPROTO_UDP, ulen as u16);
        u[6..8].copy_from_slice(&checksum::fold(pseudo).to_be_bytes());
        f
    }

    #[test]
    fn partial_udp_checksum_is_completed_to_the_rfc_1071_value() {
        let mut f = partial_udp_frame(b"from linux");
        assert!(complete_partial_checksum(&mut f));
        let (src, dst) = (Ipv4Addr::new(10, 98, 0, 1), Ipv4Addr::new(10, 98, 0, 2));
        let seg = &f[34..];
        let total = checksum::combine(
            checksum::pseudo_header_v4(src, dst, IPPROTO_UDP, seg.len() as u16),
            checksum::sum(seg),
        );
        // A correct checksum makes the whole sum, pseudo-header included, fold to 0xffff.
        assert_eq!(checksum::fold(total), 0xffff);
    }

    #[test]
    fn frames_that_are_not_tcp_or_udp_are_left_alone() {
        let mut f = partial_udp_frame(b"x");
        f[14 + 9] = 1; // ICMP
        let before = f.clone();
        assert!(!complete_partial_checksum(&mut f));
        assert_eq!(f, before);
        let mut arp = vec![0u8; 42];
        arp[12..14].copy_from_slice(&0x0806u16.to_be_bytes());
        assert!(!complete_partial_checksum(&mut arp));
    }

    #[test]
    fn truncated_or_lying_headers_change_nothing() {
        let mut f = partial_udp_frame(b"abc");
        f[14 + 2..14 + 4].copy_from_slice(&2000u16.to_be_bytes()); // total length past the end
        let before = f.clone();
        assert!(!complete_partial_checksum(&mut f));
        assert_eq!(f, before);
        assert!(!complete_partial_checksum(&mut [0u8; 13]));
        assert!(!complete_partial_checksum(&mut f[..30]));
    }
}

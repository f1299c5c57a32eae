//! Offloads seen from a user-space driver: the `virtio_net_hdr` that a TAP/TUN opened with
//! `IFF_VNET_HDR` puts before every frame (receive offload: TSO/GSO super-segments and
//! partial checksums handed over whole), and completing, in software, the L4 checksum of a
//! frame the kernel handed over with its checksum left to "hardware".
//!
//! Linux: include/uapi/linux/virtio_net.h (`struct virtio_net_hdr`, `VIRTIO_NET_HDR_F_*`,
//! `VIRTIO_NET_HDR_GSO_*`), include/linux/virtio_net.h (`virtio_net_hdr_from_skb`, the
//! header tun writes on read; `virtio_net_hdr_to_skb`, its checks on write),
//! drivers/net/tun.c (`tun_put_user`, `tun_get_user`, `set_offload`), net/core/dev.c
//! (`skb_checksum_help`), include/linux/skbuff.h (`CHECKSUM_PARTIAL`: the checksum field
//! holds the folded pseudo-header sum, and the sum over the bytes from `csum_start` to the
//! end, complemented, belongs at `csum_start + csum_offset`), net/packet/af_packet.c
//! (`TP_STATUS_CSUMNOTREADY` in `tpacket_auxdata`).
//! RFCs: RFC 1071 (computation), RFC 768 (a computed zero is sent as all ones).
//!
//! A local sender on a virtual device (veth, bridge) leaves the UDP/TCP checksum partial; an
//! AF_PACKET socket sees the frame that way and says so with `TP_STATUS_CSUMNOTREADY`, and
//! the driver completes it with [`complete_partial_checksum`] before the stack verifies it.
//!
//! A TAP with offload ([`parse_vnet_hdr`]) is read as Linux's own virtio-net/vhost guests
//! read it: a header `NEEDS_CSUM` marks the skb `CHECKSUM_PARTIAL`, which the stack counts as
//! verified (`skb_csum_unnecessary`), and `GSO_TCPV4` carries a TCP segment of up to 64 KB
//! with the size of the segments it stands for, which the stack takes whole as Linux takes a
//! GRO skb. The header fields are in the host's byte order (the legacy virtio layout tun
//! uses unless `TUNSETVNETLE`/`TUNSETVNETBE` asks otherwise).

use linnet_core::skb::{GsoType, IpSummed};
use linnet_core::wire::checksum;

use crate::device::RxMeta;

const ETH_HLEN: usize = 14;
const ETH_P_IP: u16 = 0x0800;
const ETH_P_IPV6: u16 = 0x86dd;
const ETH_P_8021Q: u16 = 0x8100;
const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;

/// Size of the header linnet asks for with `TUNSETVNETHDRSZ`: `struct virtio_net_hdr` (10
/// bytes) plus `num_buffers` (`struct virtio_net_hdr_mrg_rxbuf`, which tun leaves zero).
pub const VNET_HDR_LEN: usize = 12;
/// The fields tun fills on read (`struct virtio_net_hdr`).
const VNET_HDR_MIN: usize = 10;

/// `VIRTIO_NET_HDR_F_NEEDS_CSUM`: the checksum is partial (`CHECKSUM_PARTIAL`).
pub const VNET_F_NEEDS_CSUM: u8 = 1;
/// `VIRTIO_NET_HDR_F_DATA_VALID`: the checksum was verified (`CHECKSUM_UNNECESSARY`).
pub const VNET_F_DATA_VALID: u8 = 2;
/// `VIRTIO_NET_HDR_GSO_NONE`.
pub const VNET_GSO_NONE: u8 = 0;
/// `VIRTIO_NET_HDR_GSO_TCPV4`.
pub const VNET_GSO_TCPV4: u8 = 1;
/// `VIRTIO_NET_HDR_GSO_ECN`: or'ed into the type when the segments carry CWR/ECE
/// (`SKB_GSO_TCP_ECN`).
pub const VNET_GSO_ECN: u8 = 0x80;

/// Why a vnet header was refused (the frame is dropped and counted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VnetError {
    /// Fewer bytes than a header.
    Truncated,
    /// A flag other than NEEDS_CSUM and DATA_VALID (RSC_INFO is for a device's receive path).
    BadFlags,
    /// A GSO type linnet did not ask for with `TUNSETOFFLOAD` (UDP, TCPv6, USO), or ECN
    /// without GSO.
    BadGsoType,
    /// GSO with a segment size of 0.
    BadGsoSize,
    /// `csum_start + csum_offset + 2` beyond the frame (`skb_partial_csum_set` refuses it).
    BadCsumOffset,
}

/// Parses the vnet header `hdr` of a frame of `frame_len` bytes read from a TAP/TUN (what
/// `virtio_net_hdr_from_skb` wrote) into the skb metadata it gives.
pub fn parse_vnet_hdr(hdr: &[u8], frame_len: usize) -> Result<RxMeta, VnetError> {
    if hdr.len() < VNET_HDR_MIN {
        return Err(VnetError::Truncated);
    }
    let field = |i: usize| usize::from(u16::from_ne_bytes([hdr[i], hdr[i + 1]]));
    let (flags, gso_type) = (hdr[0], hdr[1]);
    let (gso_size, csum_start, csum_offset) = (field(4), field(6), field(8));
    if flags & !(VNET_F_NEEDS_CSUM | VNET_F_DATA_VALID) != 0 {
        return Err(VnetError::BadFlags);
    }
    let gso = match gso_type & !VNET_GSO_ECN {
        VNET_GSO_NONE if gso_type & VNET_GSO_ECN == 0 => GsoType::None,
        VNET_GSO_TCPV4 => GsoType::TcpV4,
        _ => return Err(VnetError::BadGsoType),
    };
    let gso_size = match gso {
        GsoType::None => 0,
        _ if gso_size == 0 => return Err(VnetError::BadGsoSize),
        // Invariant: field() reads a u16.
        _ => gso_size as u16,
    };
    let ip_summed = if flags & VNET_F_NEEDS_CSUM != 0 {
        if csum_start + csum_offset + 2 > frame_len {
            return Err(VnetError::BadCsumOffset);
        }
        IpSummed::Partial
    } else if flags & VNET_F_DATA_VALID != 0 {
        IpSummed::Unnecessary
    } else {
        IpSummed::None
    };
    Ok(RxMeta {
        gso_size,
        gso_type: gso,
        ip_summed,
    })
}

/// The header written before every frame sent: no offload asked (`VIRTIO_NET_HDR_GSO_NONE`,
/// no flags); the frame carries its own checksums.
pub const VNET_HDR_TX: [u8; VNET_HDR_LEN] = [0; VNET_HDR_LEN];

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

    /// A header as tun writes it.
    fn hdr(flags: u8, gso_type: u8, gso_size: u16, start: u16, off: u16) -> [u8; VNET_HDR_LEN] {
        let mut h = [0u8; VNET_HDR_LEN];
        h[0] = flags;
        h[1] = gso_type;
        h[2..4].copy_from_slice(&54u16.to_ne_bytes()); // hdr_len: Ethernet + IPv4 + TCP
        h[4..6].copy_from_slice(&gso_size.to_ne_bytes());
        h[6..8].copy_from_slice(&start.to_ne_bytes());
        h[8..10].copy_from_slice(&off.to_ne_bytes());
        h
    }

    #[test]
    fn vnet_hdr_of_a_tso_super_segment_gives_gso_and_partial_checksum() {
        let h = hdr(VNET_F_NEEDS_CSUM, VNET_GSO_TCPV4, 1448, 34, 16);
        let m = parse_vnet_hdr(&h, 65_226).unwrap();
        assert_eq!(
            (m.gso_size, m.gso_type, m.ip_summed),
            (1448, GsoType::TcpV4, IpSummed::Partial)
        );
        let ecn = hdr(
            VNET_F_NEEDS_CSUM,
            VNET_GSO_TCPV4 | VNET_GSO_ECN,
            1448,
            34,
            16,
        );
        assert_eq!(
            parse_vnet_hdr(&ecn, 65_226).unwrap().gso_type,
            GsoType::TcpV4
        );
    }

    #[test]
    fn vnet_hdr_without_offload_gives_plain_frames() {
        let none = parse_vnet_hdr(&VNET_HDR_TX, 60).unwrap();
        assert_eq!(none, RxMeta::default());
        // The 10-byte legacy header is enough.
        let valid = parse_vnet_hdr(&hdr(VNET_F_DATA_VALID, 0, 0, 0, 0)[..10], 60).unwrap();
        assert_eq!(
            (valid.gso_size, valid.ip_summed),
            (0, IpSummed::Unnecessary)
        );
        let partial = parse_vnet_hdr(&hdr(VNET_F_NEEDS_CSUM, 0, 0, 34, 6), 42).unwrap();
        assert_eq!(
            (partial.gso_type, partial.ip_summed),
            (GsoType::None, IpSummed::Partial)
        );
    }

    #[test]
    fn bad_vnet_hdrs_are_refused() {
        assert_eq!(parse_vnet_hdr(&[0; 9], 60), Err(VnetError::Truncated));
        assert_eq!(
            parse_vnet_hdr(&hdr(4, 0, 0, 0, 0), 60),
            Err(VnetError::BadFlags)
        );
        assert_eq!(
            parse_vnet_hdr(&hdr(0x80, 0, 0, 0, 0), 60),
            Err(VnetError::BadFlags)
        );
        for t in [3, 4, 5, 0x80, 0x84, 7] {
            assert_eq!(
                parse_vnet_hdr(&hdr(1, t, 1448, 34, 16), 9000),
                Err(VnetError::BadGsoType),
                "type {t:#x}"
            );
        }
        assert_eq!(
            parse_vnet_hdr(&hdr(1, VNET_GSO_TCPV4, 0, 34, 16), 9000),
            Err(VnetError::BadGsoSize)
        );
        // The checksum field must lie inside the frame: 34 + 16 + 2 = 52.
        assert!(parse_vnet_hdr(&hdr(1, 0, 0, 34, 16), 52).is_ok());
        assert_eq!(
            parse_vnet_hdr(&hdr(1, 0, 0, 34, 16), 51),
            Err(VnetError::BadCsumOffset)
        );
        assert_eq!(
            parse_vnet_hdr(&hdr(1, 0, 0, u16::MAX, u16::MAX), 60),
            Err(VnetError::BadCsumOffset)
        );
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

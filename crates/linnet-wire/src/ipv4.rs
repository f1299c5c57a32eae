//! IPv4 headers (RFC 791), protocol numbers, address classification helpers and CIDR
//! prefixes.
//!
//! [`Packet::new_checked`] performs the structural checks of RFC 1122 §3.2.1 in a fixed order;
//! linnet-core re-does them in Linux's `ip_rcv_core` order with the getters, which are
//! therefore safe to call on any `new_unchecked` view of at least [`HEADER_LEN`] bytes
//! (`options`/`payload` clamp to the buffer instead of panicking).
//!
//! Linux: include/uapi/linux/ip.h (struct iphdr, IP_DF/IP_MF/IP_OFFSET), include/uapi/linux/in.h
//! (IPPROTO_*), include/linux/in.h (ipv4_is_loopback/multicast/lbcast/zeronet),
//! include/net/ip.h (ip_eth_mc_map), net/ipv4/ip_input.c (ip_rcv_core).
//!
//! RFCs: RFC 791 (IPv4), RFC 1122 §3.2.1 (header checks), RFC 2474 / RFC 3168 (DSCP, ECN),
//! RFC 1112 §6.4 (multicast MAC mapping), RFC 4632 (CIDR).

use core::fmt;
use core::net::Ipv4Addr;
use core::str::FromStr;

use crate::be;
use crate::checksum;
use crate::error::{ParseError, Result};
use crate::ethernet::EthernetAddress;

/// Length of an IPv4 header without options.
pub const HEADER_LEN: usize = 20;

/// Minimum IPv4 MTU (RFC 791: every host must accept 68-octet datagrams unfragmented).
pub const MIN_MTU: usize = 68;

/// An IP protocol number (`IPPROTO_*`).
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Protocol(pub u8);

impl Protocol {
    /// IPPROTO_ICMP.
    pub const ICMP: Protocol = Protocol(1);
    /// IPPROTO_IGMP.
    pub const IGMP: Protocol = Protocol(2);
    /// IPPROTO_TCP.
    pub const TCP: Protocol = Protocol(6);
    /// IPPROTO_UDP.
    pub const UDP: Protocol = Protocol(17);
    /// IPPROTO_IPV6.
    pub const IPV6: Protocol = Protocol(41);
    /// IPPROTO_GRE.
    pub const GRE: Protocol = Protocol(47);
    /// IPPROTO_ESP.
    pub const ESP: Protocol = Protocol(50);
    /// IPPROTO_AH.
    pub const AH: Protocol = Protocol(51);
    /// IPPROTO_ICMPV6.
    pub const ICMPV6: Protocol = Protocol(58);
    /// IPPROTO_RAW.
    pub const RAW: Protocol = Protocol(255);
}

/// 127.0.0.0/8 (`ipv4_is_loopback`).
pub fn is_loopback(a: Ipv4Addr) -> bool {
    a.octets()[0] == 127
}

/// 224.0.0.0/4 (`ipv4_is_multicast`).
pub fn is_multicast(a: Ipv4Addr) -> bool {
    a.octets()[0] & 0xf0 == 0xe0
}

/// 255.255.255.255.
pub fn is_limited_broadcast(a: Ipv4Addr) -> bool {
    a == Ipv4Addr::BROADCAST
}

/// 0.0.0.0/8 (`ipv4_is_zeronet`).
pub fn is_zeronet(a: Ipv4Addr) -> bool {
    a.octets()[0] == 0
}

/// Linux's `ipv4_is_lbcast`: the limited broadcast address 255.255.255.255 (same as
/// [`is_limited_broadcast`], kept under the kernel's name).
pub fn is_lbcast(a: Ipv4Addr) -> bool {
    is_limited_broadcast(a)
}

/// The Ethernet multicast address for an IPv4 group: 01:00:5e plus the low 23 bits
/// (`ip_eth_mc_map`, RFC 1112 §6.4).
pub fn ipv4_multicast_mac(a: Ipv4Addr) -> EthernetAddress {
    let o = a.octets();
    EthernetAddress([0x01, 0x00, 0x5e, o[1] & 0x7f, o[2], o[3]])
}

/// An IPv4 address with a prefix length, e.g. `192.0.2.1/24`.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct Ipv4Cidr {
    /// The address (host bits may be set).
    pub address: Ipv4Addr,
    /// Prefix length, 0..=32.
    pub prefix_len: u8,
}

impl Ipv4Cidr {
    /// `BadValue` if `prefix_len > 32`.
    #[inline]
    pub fn new(address: Ipv4Addr, prefix_len: u8) -> Result<Ipv4Cidr> {
        if prefix_len > 32 {
            return Err(ParseError::BadValue);
        }
        Ok(Ipv4Cidr {
            address,
            prefix_len,
        })
    }

    fn mask_bits(&self) -> u32 {
        match self.prefix_len {
            0 => 0,
            n if n >= 32 => u32::MAX,
            n => u32::MAX << (32 - u32::from(n)),
        }
    }

    /// The netmask, e.g. 255.255.255.0 for /24.
    #[inline]
    pub fn netmask(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.mask_bits())
    }

    /// The prefix with host bits cleared.
    #[inline]
    pub fn network(&self) -> Ipv4Cidr {
        Ipv4Cidr {
            address: Ipv4Addr::from(u32::from(self.address) & self.mask_bits()),
            prefix_len: self.prefix_len,
        }
    }

    /// The directed broadcast address; `None` for /31 and /32, which have none.
    #[inline]
    pub fn broadcast(&self) -> Option<Ipv4Addr> {
        if self.prefix_len >= 31 {
            return None;
        }
        Some(Ipv4Addr::from(u32::from(self.address) | !self.mask_bits()))
    }

    /// Whether `addr` lies inside the prefix.
    #[inline]
    pub fn contains_addr(&self, addr: &Ipv4Addr) -> bool {
        let m = self.mask_bits();
        u32::from(*addr) & m == u32::from(self.address) & m
    }
}

impl fmt::Display for Ipv4Cidr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.address, self.prefix_len)
    }
}

impl FromStr for Ipv4Cidr {
    type Err = ParseError;

    /// Parses `a.b.c.d/n`; `BadValue` on any error.
    fn from_str(s: &str) -> Result<Ipv4Cidr> {
        let (addr, len) = s.split_once('/').ok_or(ParseError::BadValue)?;
        let address = addr.parse().map_err(|_| ParseError::BadValue)?;
        if len.is_empty() || len.len() > 2 || !len.bytes().all(|c| c.is_ascii_digit()) {
            return Err(ParseError::BadValue);
        }
        let prefix_len = len.parse().map_err(|_| ParseError::BadValue)?;
        Ipv4Cidr::new(address, prefix_len)
    }
}

mod field {
    pub(super) const VER_IHL: usize = 0;
    pub(super) const TOS: usize = 1;
    pub(super) const TOTAL_LEN: usize = 2;
    pub(super) const IDENT: usize = 4;
    pub(super) const FLAGS_FRAG: usize = 6;
    pub(super) const TTL: usize = 8;
    pub(super) const PROTOCOL: usize = 9;
    pub(super) const CHECKSUM: usize = 10;
    pub(super) const SRC: usize = 12;
    pub(super) const DST: usize = 16;
}

const FLAG_DF: u16 = 0x4000;
const FLAG_MF: u16 = 0x2000;
const OFFSET_MASK: u16 = 0x1fff;

/// A zero-copy view of an IPv4 packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it. Fixed-header getters panic if the buffer is shorter
    /// than [`HEADER_LEN`]; with at least 20 bytes every getter is safe whatever the contents.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a buffer and run [`Packet::check_len`].
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// Structural checks, in this order: buffer >= 20 (`Truncated`), version 4
    /// (`BadVersion`), IHL >= 5 (`BadHeaderLen`), total length >= header length
    /// (`BadTotalLen`), buffer >= total length (`Truncated`), buffer >= header length
    /// (`Truncated`). The checksum is not checked.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        if self.version() != 4 {
            return Err(ParseError::BadVersion);
        }
        let hlen = usize::from(self.header_len());
        if hlen < HEADER_LEN {
            return Err(ParseError::BadHeaderLen);
        }
        let total = usize::from(self.total_len());
        if total < hlen {
            return Err(ParseError::BadTotalLen);
        }
        if len < total || len < hlen {
            return Err(ParseError::Truncated);
        }
        Ok(())
    }

    /// Give back the underlying buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Version field (4 for IPv4).
    #[inline]
    pub fn version(&self) -> u8 {
        self.buffer.as_ref()[field::VER_IHL] >> 4
    }

    /// Header length in bytes (IHL × 4).
    #[inline]
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::VER_IHL] & 0x0f) * 4
    }

    /// Differentiated services code point (upper six bits of the TOS byte).
    #[inline]
    pub fn dscp(&self) -> u8 {
        self.tos() >> 2
    }

    /// ECN codepoint (lower two bits of the TOS byte).
    #[inline]
    pub fn ecn(&self) -> u8 {
        self.tos() & 0x03
    }

    /// The whole TOS / DS byte.
    #[inline]
    pub fn tos(&self) -> u8 {
        self.buffer.as_ref()[field::TOS]
    }

    /// Total length field.
    #[inline]
    pub fn total_len(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), field::TOTAL_LEN)
    }

    /// Identification field.
    #[inline]
    pub fn ident(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), field::IDENT)
    }

    fn flags_frag(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), field::FLAGS_FRAG)
    }

    /// Don't Fragment flag.
    #[inline]
    pub fn dont_frag(&self) -> bool {
        self.flags_frag() & FLAG_DF != 0
    }

    /// More Fragments flag.
    #[inline]
    pub fn more_frags(&self) -> bool {
        self.flags_frag() & FLAG_MF != 0
    }

    /// The reserved (evil) bit, `IP_CE` in Linux.
    #[inline]
    pub fn reserved_flag(&self) -> bool {
        self.flags_frag() & 0x8000 != 0
    }

    /// Fragment offset in bytes (field × 8).
    #[inline]
    pub fn frag_offset(&self) -> u16 {
        (self.flags_frag() & OFFSET_MASK) << 3
    }

    /// Time to live.
    #[inline]
    pub fn hop_limit(&self) -> u8 {
        self.buffer.as_ref()[field::TTL]
    }

    /// Protocol field.
    #[inline]
    pub fn next_header(&self) -> Protocol {
        Protocol(self.buffer.as_ref()[field::PROTOCOL])
    }

    /// Header checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Source address.
    #[inline]
    pub fn src_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(be::get_u32(self.buffer.as_ref(), field::SRC))
    }

    /// Destination address.
    #[inline]
    pub fn dst_addr(&self) -> Ipv4Addr {
        Ipv4Addr::from(be::get_u32(self.buffer.as_ref(), field::DST))
    }

    /// Whether the header checksum (over `header_len` bytes) is valid; `false` if the buffer
    /// is shorter than the header.
    pub fn verify_checksum(&self) -> bool {
        let buf = self.buffer.as_ref();
        let hl = usize::from(self.header_len());
        if hl == HEADER_LEN {
            // The common header without options: a fixed 20-byte sum.
            if let Some(hdr) = buf.first_chunk::<HEADER_LEN>() {
                return checksum::fold(checksum::sum_array(hdr)) == 0xffff;
            }
        }
        match buf.get(..hl) {
            Some(hdr) => checksum::checksum(hdr) == 0,
            None => false,
        }
    }

    fn options_range(&self) -> core::ops::Range<usize> {
        let len = self.buffer.as_ref().len();
        let end = usize::from(self.header_len()).min(len);
        HEADER_LEN.min(end)..end
    }

    fn payload_range(&self) -> core::ops::Range<usize> {
        let len = self.buffer.as_ref().len();
        let end = usize::from(self.total_len()).min(len);
        usize::from(self.header_len()).min(end)..end
    }

    /// Bytes 20..header_len (clamped to the buffer).
    #[inline]
    pub fn options(&self) -> &[u8] {
        &self.buffer.as_ref()[self.options_range()]
    }

    /// Bytes header_len..total_len (clamped to the buffer; link-layer padding is excluded).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.payload_range()]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the version nibble, keeping the IHL.
    #[inline]
    pub fn set_version(&mut self, version: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0x0f) | (version << 4);
    }

    /// Set the header length in bytes (stored as bytes / 4), keeping the version.
    #[inline]
    pub fn set_header_len(&mut self, len: u8) {
        let b = &mut self.buffer.as_mut()[field::VER_IHL];
        *b = (*b & 0xf0) | ((len / 4) & 0x0f);
    }

    /// Set the TOS / DS byte.
    #[inline]
    pub fn set_tos(&mut self, tos: u8) {
        self.buffer.as_mut()[field::TOS] = tos;
    }

    /// Set the total length field.
    #[inline]
    pub fn set_total_len(&mut self, len: u16) {
        be::set_u16(self.buffer.as_mut(), field::TOTAL_LEN, len);
    }

    /// Set the identification field.
    #[inline]
    pub fn set_ident(&mut self, ident: u16) {
        be::set_u16(self.buffer.as_mut(), field::IDENT, ident);
    }

    /// Set DF, MF and the fragment offset (in bytes; the low three bits are dropped). The
    /// reserved flag is cleared.
    #[inline]
    pub fn set_flags_and_frag_offset(&mut self, dont_frag: bool, more_frags: bool, offset: u16) {
        let mut v = (offset >> 3) & OFFSET_MASK;
        if dont_frag {
            v |= FLAG_DF;
        }
        if more_frags {
            v |= FLAG_MF;
        }
        be::set_u16(self.buffer.as_mut(), field::FLAGS_FRAG, v);
    }

    /// Set the TTL.
    #[inline]
    pub fn set_hop_limit(&mut self, ttl: u8) {
        self.buffer.as_mut()[field::TTL] = ttl;
    }

    /// Set the protocol field.
    #[inline]
    pub fn set_next_header(&mut self, proto: Protocol) {
        self.buffer.as_mut()[field::PROTOCOL] = proto.0;
    }

    /// Set the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Set the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: Ipv4Addr) {
        be::set_u32(self.buffer.as_mut(), field::SRC, addr.into());
    }

    /// Set the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: Ipv4Addr) {
        be::set_u32(self.buffer.as_mut(), field::DST, addr.into());
    }

    /// Zero the checksum field and recompute it over the header (clamped to the buffer).
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let buf = self.buffer.as_ref();
        let hl = usize::from(self.header_len());
        let c = match buf.first_chunk::<HEADER_LEN>() {
            // The common header without options: a fixed 20-byte sum.
            Some(hdr) if hl == HEADER_LEN => !checksum::fold(checksum::sum_array(hdr)),
            _ => checksum::checksum(&buf[..hl.min(buf.len())]),
        };
        self.set_checksum(c);
    }

    /// Mutable bytes 20..header_len (clamped to the buffer).
    #[inline]
    pub fn options_mut(&mut self) -> &mut [u8] {
        let r = self.options_range();
        &mut self.buffer.as_mut()[r]
    }

    /// Mutable bytes header_len..total_len (clamped to the buffer).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let r = self.payload_range();
        &mut self.buffer.as_mut()[r]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// High-level representation of an IPv4 header without options.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Repr {
    /// Source address.
    pub src_addr: Ipv4Addr,
    /// Destination address.
    pub dst_addr: Ipv4Addr,
    /// Protocol.
    pub next_header: Protocol,
    /// Payload length (total length minus header length, options excluded).
    pub payload_len: usize,
    /// TTL.
    pub hop_limit: u8,
    /// TOS / DS byte.
    pub tos: u8,
    /// Identification.
    pub ident: u16,
    /// Don't Fragment.
    pub dont_frag: bool,
}

impl Repr {
    /// Read the header. Runs [`Packet::check_len`] and, if `verify_checksum`, fails with
    /// `BadChecksum` on a bad header checksum. Fragments and options are *not* rejected
    /// (options are simply not represented; `payload_len` excludes them).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
        verify_checksum: bool,
    ) -> Result<Repr> {
        packet.check_len()?;
        if verify_checksum && !packet.verify_checksum() {
            return Err(ParseError::BadChecksum);
        }
        Ok(Repr {
            src_addr: packet.src_addr(),
            dst_addr: packet.dst_addr(),
            next_header: packet.next_header(),
            payload_len: usize::from(packet.total_len()) - usize::from(packet.header_len()),
            hop_limit: packet.hop_limit(),
            tos: packet.tos(),
            ident: packet.ident(),
            dont_frag: packet.dont_frag(),
        })
    }

    /// Always [`HEADER_LEN`]: no options are emitted.
    #[inline]
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Header plus payload length.
    #[inline]
    pub const fn buffer_len(&self) -> usize {
        HEADER_LEN + self.payload_len
    }

    /// Write a 20-byte header (version 4, IHL 5, MF 0, offset 0) including its checksum.
    /// Every one of the 20 bytes is written, whatever the buffer held. The payload bytes are
    /// left untouched. `total_len` wraps if `payload_len > 65515`.
    ///
    /// # Panics
    ///
    /// Panics if the buffer is shorter than [`HEADER_LEN`].
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        // Built in a local array (every byte set, so `emit` may be given a buffer holding
        // anything), checksummed with the fixed 20-byte sum, then stored with one copy.
        let mut h = [0u8; HEADER_LEN];
        h[field::VER_IHL] = 0x40 | (HEADER_LEN as u8 / 4);
        h[field::TOS] = self.tos;
        h[field::TOTAL_LEN..field::TOTAL_LEN + 2]
            .copy_from_slice(&(self.buffer_len() as u16).to_be_bytes());
        h[field::IDENT..field::IDENT + 2].copy_from_slice(&self.ident.to_be_bytes());
        let flags = if self.dont_frag { FLAG_DF } else { 0 };
        h[field::FLAGS_FRAG..field::FLAGS_FRAG + 2].copy_from_slice(&flags.to_be_bytes());
        h[field::TTL] = self.hop_limit;
        h[field::PROTOCOL] = self.next_header.0;
        h[field::SRC..field::SRC + 4].copy_from_slice(&self.src_addr.octets());
        h[field::DST..field::DST + 4].copy_from_slice(&self.dst_addr.octets());
        let c = !checksum::fold(checksum::sum_array(&h));
        h[field::CHECKSUM..field::CHECKSUM + 2].copy_from_slice(&c.to_be_bytes());
        packet.buffer.as_mut()[..HEADER_LEN].copy_from_slice(&h);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use proptest::prelude::*;
    use std::format;
    use std::vec;

    fn ip_of(frame: &[u8]) -> &[u8] {
        &frame[14..]
    }

    /// `emit` writes all 20 header bytes: the same header whatever the buffer held
    /// before (the output path emits into reused pool bytes without zeroing them).
    #[test]
    fn emit_writes_every_header_byte() {
        let repr = Repr {
            src_addr: Ipv4Addr::new(10, 0, 0, 1),
            dst_addr: Ipv4Addr::new(10, 0, 0, 2),
            next_header: Protocol::UDP,
            payload_len: 72,
            hop_limit: 64,
            tos: 0xb8,
            ident: 0x1234,
            dont_frag: true,
        };
        let mut zero = [0u8; HEADER_LEN];
        let mut junk = [0xffu8; HEADER_LEN];
        repr.emit(&mut Packet::new_unchecked(&mut zero[..]));
        repr.emit(&mut Packet::new_unchecked(&mut junk[..]));
        assert_eq!(zero, junk);
        let mut packet = [0u8; 92];
        packet[..HEADER_LEN].copy_from_slice(&zero);
        let p = Packet::new_checked(&packet[..]).expect("a well-formed header");
        assert!(p.verify_checksum());
        assert_eq!((p.version(), p.header_len(), p.total_len()), (4, 20, 92));
        assert!(p.dont_frag() && !p.more_frags() && p.frag_offset() == 0);
        assert_eq!(Repr::parse(&p, true), Ok(repr));
    }

    /// The fixed 20-byte checksum path and the general one agree, for headers with and
    /// without options.
    #[test]
    fn checksum_fast_path_agrees_with_options_path() {
        let mut h = [0u8; 24];
        h[0] = 0x45;
        h[2..4].copy_from_slice(&24u16.to_be_bytes());
        h[8] = 64;
        h[9] = 17;
        h[12..16].copy_from_slice(&[192, 0, 2, 1]);
        h[16..20].copy_from_slice(&[198, 51, 100, 7]);
        let mut p = Packet::new_unchecked(&mut h[..]);
        p.fill_checksum();
        let fast = p.checksum();
        assert!(p.verify_checksum());
        assert_eq!(
            fast,
            checksum::checksum(&{
                let mut c = [0u8; 20];
                c.copy_from_slice(&h[..20]);
                c[10] = 0;
                c[11] = 0;
                c
            })
        );
        // The same header with 4 bytes of options (IHL 6) goes through the general sum.
        h[0] = 0x46;
        h[20..24].copy_from_slice(&[1, 1, 1, 0]);
        let mut p = Packet::new_unchecked(&mut h[..]);
        p.fill_checksum();
        assert!(p.verify_checksum());
        h[21] ^= 0x10;
        assert!(!Packet::new_unchecked(&h[..]).verify_checksum());
    }

    #[test]
    fn captured_echo_request() {
        let p = Packet::new_checked(ip_of(&ECHO_REQUEST_FRAME)).unwrap();
        assert_eq!(p.version(), 4);
        assert_eq!(p.header_len(), 20);
        assert_eq!((p.tos(), p.dscp(), p.ecn()), (0, 0, 0));
        assert_eq!(p.total_len(), 84);
        assert_eq!(p.ident(), 32970);
        assert!(p.dont_frag() && !p.more_frags() && !p.reserved_flag());
        assert_eq!(p.frag_offset(), 0);
        assert_eq!(p.hop_limit(), 64);
        assert_eq!(p.next_header(), Protocol::ICMP);
        assert_eq!(p.checksum(), 0xa542);
        assert!(p.verify_checksum());
        assert_eq!(p.src_addr(), Ipv4Addr::new(10, 77, 0, 1));
        assert_eq!(p.dst_addr(), Ipv4Addr::new(10, 77, 0, 2));
        assert!(p.options().is_empty());
        assert_eq!(p.payload().len(), 64);
        let repr = Repr::parse(&p, true).unwrap();
        assert_eq!(
            repr,
            Repr {
                src_addr: Ipv4Addr::new(10, 77, 0, 1),
                dst_addr: Ipv4Addr::new(10, 77, 0, 2),
                next_header: Protocol::ICMP,
                payload_len: 64,
                hop_limit: 64,
                tos: 0,
                ident: 32970,
                dont_frag: true,
            }
        );
        let mut out = vec![0u8; repr.buffer_len()];
        let mut q = Packet::new_unchecked(&mut out[..]);
        repr.emit(&mut q);
        q.payload_mut().copy_from_slice(p.payload());
        assert_eq!(&out[..], ip_of(&ECHO_REQUEST_FRAME));
    }

    #[test]
    fn captured_with_options_and_tos() {
        let p = Packet::new_checked(ip_of(&RR_REPLY_FRAME)).unwrap();
        assert_eq!(p.header_len(), 60);
        assert_eq!(p.options().len(), 40);
        assert_eq!(p.options()[0], 7);
        assert!(p.verify_checksum());
        assert!(!p.dont_frag());
        assert_eq!(Repr::parse(&p, true).unwrap().payload_len, 64);

        let p = Packet::new_checked(ip_of(&PORT_UNREACH_FRAME)).unwrap();
        assert_eq!((p.tos(), p.dscp(), p.ecn()), (0xc0, 0x30, 0));
        assert!(p.verify_checksum());
    }

    #[test]
    fn check_order() {
        let good = ip_of(&ECHO_REQUEST_FRAME);
        assert_eq!(Packet::new_checked(&good[..19]), Err(ParseError::Truncated));
        let mut b = good.to_vec();
        b[0] = 0x65;
        assert_eq!(Packet::new_checked(&b[..]), Err(ParseError::BadVersion));
        b[0] = 0x44;
        assert_eq!(Packet::new_checked(&b[..]), Err(ParseError::BadHeaderLen));
        b[0] = 0x45;
        b[2..4].copy_from_slice(&19u16.to_be_bytes());
        assert_eq!(Packet::new_checked(&b[..]), Err(ParseError::BadTotalLen));
        b[2..4].copy_from_slice(&85u16.to_be_bytes());
        assert_eq!(Packet::new_checked(&b[..]), Err(ParseError::Truncated));
        b[2..4].copy_from_slice(&84u16.to_be_bytes());
        b[11] ^= 1;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(!p.verify_checksum());
        assert_eq!(Repr::parse(&p, true), Err(ParseError::BadChecksum));
        assert!(Repr::parse(&p, false).is_ok());
        // Unchecked view with IHL 15 but only 20 bytes: getters clamp.
        let mut b = good[..20].to_vec();
        b[0] = 0x4f;
        let p = Packet::new_unchecked(&b[..]);
        assert!(!p.verify_checksum());
        assert!(p.options().is_empty() && p.payload().is_empty());
    }

    #[test]
    fn link_padding_excluded() {
        let mut b = ip_of(&UDP_CLOSED_FRAME).to_vec();
        b.extend_from_slice(&[0xee; 10]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload().len(), 16);
    }

    #[test]
    fn setters() {
        let mut b = [0u8; 28];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_version(4);
        p.set_header_len(24);
        p.set_tos(0xb9);
        p.set_total_len(28);
        p.set_ident(0xbeef);
        p.set_flags_and_frag_offset(false, true, 1480);
        p.set_hop_limit(3);
        p.set_next_header(Protocol::UDP);
        p.set_src_addr(Ipv4Addr::new(192, 0, 2, 1));
        p.set_dst_addr(Ipv4Addr::new(198, 51, 100, 7));
        p.options_mut().copy_from_slice(&[1, 1, 1, 0]);
        p.payload_mut().copy_from_slice(&[9; 4]);
        p.fill_checksum();
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(
            (p.version(), p.header_len(), p.dscp(), p.ecn()),
            (4, 24, 0x2e, 1)
        );
        assert_eq!(
            (p.ident(), p.dont_frag(), p.more_frags(), p.frag_offset()),
            (0xbeef, false, true, 1480)
        );
        assert_eq!((p.hop_limit(), p.next_header()), (3, Protocol::UDP));
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert_eq!(p.payload(), &[9; 4]);
        assert!(p.verify_checksum());
    }

    #[test]
    fn address_helpers() {
        assert!(is_loopback(Ipv4Addr::new(127, 1, 2, 3)));
        assert!(is_multicast(Ipv4Addr::new(239, 255, 255, 250)));
        assert!(!is_multicast(Ipv4Addr::new(240, 0, 0, 1)));
        assert!(is_limited_broadcast(Ipv4Addr::BROADCAST) && is_lbcast(Ipv4Addr::BROADCAST));
        assert!(is_zeronet(Ipv4Addr::new(0, 1, 2, 3)));
        assert_eq!(
            ipv4_multicast_mac(Ipv4Addr::new(224, 129, 2, 251)),
            "01:00:5e:01:02:fb".parse().unwrap()
        );
    }

    #[test]
    fn cidr() {
        let c: Ipv4Cidr = "10.77.0.1/24".parse().unwrap();
        assert_eq!(c.netmask(), Ipv4Addr::new(255, 255, 255, 0));
        assert_eq!(
            c.network(),
            Ipv4Cidr::new(Ipv4Addr::new(10, 77, 0, 0), 24).unwrap()
        );
        assert_eq!(c.broadcast(), Some(Ipv4Addr::new(10, 77, 0, 255)));
        assert!(c.contains_addr(&Ipv4Addr::new(10, 77, 0, 200)));
        assert!(!c.contains_addr(&Ipv4Addr::new(10, 77, 1, 1)));
        assert_eq!(format!("{c}"), "10.77.0.1/24");
        let all: Ipv4Cidr = "0.0.0.0/0".parse().unwrap();
        assert_eq!(all.netmask(), Ipv4Addr::UNSPECIFIED);
        assert!(all.contains_addr(&Ipv4Addr::new(1, 2, 3, 4)));
        assert_eq!(all.broadcast(), Some(Ipv4Addr::BROADCAST));
        assert_eq!("10.0.0.0/31".parse::<Ipv4Cidr>().unwrap().broadcast(), None);
        assert_eq!(
            "10.0.0.1/32".parse::<Ipv4Cidr>().unwrap().netmask(),
            Ipv4Addr::BROADCAST
        );
        for bad in [
            "10.0.0.1",
            "10.0.0.1/33",
            "10.0.0/8",
            "10.0.0.1/",
            "10.0.0.1/+1",
            "x/1",
        ] {
            assert_eq!(bad.parse::<Ipv4Cidr>(), Err(ParseError::BadValue), "{bad}");
        }
        assert_eq!(
            Ipv4Cidr::new(Ipv4Addr::UNSPECIFIED, 33),
            Err(ParseError::BadValue)
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..80)) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = (p.dscp(), p.ecn(), p.ident(), p.frag_offset(), p.more_frags());
                let _ = (p.src_addr(), p.dst_addr(), p.verify_checksum());
                let _ = (p.options(), p.payload());
                let _ = Repr::parse(&p, true);
                let _ = Repr::parse(&p, false);
            }
            if data.len() >= HEADER_LEN {
                let p = Packet::new_unchecked(&data[..]);
                let _ = (p.options(), p.payload(), p.verify_checksum());
            }
        }

        #[test]
        fn round_trip(src in any::<u32>(), dst in any::<u32>(), proto in any::<u8>(),
                      payload_len in 0usize..64, ttl in any::<u8>(), tos in any::<u8>(),
                      ident in any::<u16>(), df in any::<bool>()) {
            let repr = Repr {
                src_addr: Ipv4Addr::from(src),
                dst_addr: Ipv4Addr::from(dst),
                next_header: Protocol(proto),
                payload_len,
                hop_limit: ttl,
                tos,
                ident,
                dont_frag: df,
            };
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            let p = Packet::new_checked(&buf[..]).unwrap();
            prop_assert!(p.verify_checksum());
            prop_assert_eq!(Repr::parse(&p, true).unwrap(), repr);
        }

        #[test]
        fn cidr_text_round_trip(addr in any::<u32>(), len in 0u8..=32) {
            let c = Ipv4Cidr::new(Ipv4Addr::from(addr), len).unwrap();
            prop_assert_eq!(format!("{c}").parse::<Ipv4Cidr>().unwrap(), c);
            prop_assert!(c.contains_addr(&c.address));
            prop_assert!(c.network().contains_addr(&c.address));
        }
    }
}

//! Ethernet II frames, MAC addresses, EtherTypes and the 802.1Q VLAN tag.
//!
//! [`Frame`] is a zero-copy view of a frame without FCS; its payload always starts right after
//! the 14-byte header (an 802.1Q tag is *not* skipped; use [`Frame::vlan_tag`] and
//! [`Frame::header_len`] to deal with it).
//!
//! Linux: include/uapi/linux/if_ether.h (ETH_ALEN, ETH_HLEN, ETH_P_*), include/linux/etherdevice.h
//! (is_multicast_ether_addr, is_local_ether_addr, ...), include/linux/if_vlan.h (vlan_ethhdr).
//!
//! RFCs: RFC 894 (IP over Ethernet), IEEE 802.3 and IEEE 802.1Q (not RFCs).

use core::fmt;
use core::str::FromStr;

use crate::be;
use crate::error::{ParseError, Result};

/// Length of the Ethernet II header (two addresses and the EtherType).
pub const HEADER_LEN: usize = 14;

/// Length of an 802.1Q tag (TPID is the outer EtherType; this is TCI + inner EtherType).
const VLAN_TAG_LEN: usize = 4;

/// A 48-bit IEEE 802 MAC address.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct EthernetAddress(pub [u8; 6]);

impl EthernetAddress {
    /// ff:ff:ff:ff:ff:ff.
    pub const BROADCAST: EthernetAddress = EthernetAddress([0xff; 6]);

    /// Build an address from a slice.
    ///
    /// # Panics
    ///
    /// Panics if `data.len() != 6`.
    #[inline]
    pub fn from_bytes(data: &[u8]) -> EthernetAddress {
        let mut a = [0u8; 6];
        a.copy_from_slice(data);
        EthernetAddress(a)
    }

    /// The six address bytes.
    #[inline]
    pub const fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// ff:ff:ff:ff:ff:ff?
    #[inline]
    pub fn is_broadcast(&self) -> bool {
        *self == Self::BROADCAST
    }

    /// Group (I/G) bit set? Includes broadcast (`is_multicast_ether_addr`).
    #[inline]
    pub const fn is_multicast(&self) -> bool {
        self.0[0] & 0x01 != 0
    }

    /// Not a group address.
    #[inline]
    pub const fn is_unicast(&self) -> bool {
        !self.is_multicast()
    }

    /// Locally administered (U/L) bit set?
    #[inline]
    pub const fn is_local(&self) -> bool {
        self.0[0] & 0x02 != 0
    }
}

impl fmt::Display for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let b = &self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            b[0], b[1], b[2], b[3], b[4], b[5]
        )
    }
}

impl fmt::Debug for EthernetAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for EthernetAddress {
    type Err = ParseError;

    /// Parses `aa:bb:cc:dd:ee:ff` (one or two hex digits per group, either case).
    fn from_str(s: &str) -> Result<EthernetAddress> {
        let mut out = [0u8; 6];
        let mut parts = s.split(':');
        for byte in out.iter_mut() {
            let part = parts.next().ok_or(ParseError::BadValue)?;
            if part.is_empty() || part.len() > 2 || !part.bytes().all(|c| c.is_ascii_hexdigit()) {
                return Err(ParseError::BadValue);
            }
            *byte = u8::from_str_radix(part, 16).map_err(|_| ParseError::BadValue)?;
        }
        if parts.next().is_some() {
            return Err(ParseError::BadValue);
        }
        Ok(EthernetAddress(out))
    }
}

/// An EtherType value (`ETH_P_*`).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct EtherType(pub u16);

impl EtherType {
    /// ETH_P_IP.
    pub const IPV4: EtherType = EtherType(0x0800);
    /// ETH_P_ARP.
    pub const ARP: EtherType = EtherType(0x0806);
    /// ETH_P_RARP.
    pub const RARP: EtherType = EtherType(0x8035);
    /// ETH_P_8021Q.
    pub const VLAN: EtherType = EtherType(0x8100);
    /// ETH_P_8021AD.
    pub const QINQ: EtherType = EtherType(0x88a8);
    /// ETH_P_IPV6.
    pub const IPV6: EtherType = EtherType(0x86dd);
}

/// The fields of an 802.1Q tag.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct VlanTag {
    /// Priority code point (3 bits).
    pub pcp: u8,
    /// Drop eligible indicator.
    pub dei: bool,
    /// VLAN identifier (12 bits).
    pub vid: u16,
    /// The EtherType following the tag.
    pub inner_ethertype: EtherType,
}

mod field {
    pub(super) const DST: core::ops::Range<usize> = 0..6;
    pub(super) const SRC: core::ops::Range<usize> = 6..12;
    pub(super) const ETHERTYPE: usize = 12;
    pub(super) const TCI: usize = 14;
    pub(super) const INNER_ETHERTYPE: usize = 16;
}

/// A zero-copy view of an Ethernet II frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Frame<T> {
    /// Wrap a buffer without checking its length; getters may panic if it is shorter than
    /// [`HEADER_LEN`].
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Frame<T> {
        Frame { buffer }
    }

    /// Wrap a buffer, checking that it holds at least the 14-byte header.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Frame<T>> {
        let frame = Self::new_unchecked(buffer);
        frame.check_len()?;
        Ok(frame)
    }

    /// `Err(Truncated)` if the buffer is shorter than [`HEADER_LEN`].
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        if self.buffer.as_ref().len() < HEADER_LEN {
            Err(ParseError::Truncated)
        } else {
            Ok(())
        }
    }

    /// Give back the underlying buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Destination MAC address.
    #[inline]
    pub fn dst_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::DST])
    }

    /// Source MAC address.
    #[inline]
    pub fn src_addr(&self) -> EthernetAddress {
        EthernetAddress::from_bytes(&self.buffer.as_ref()[field::SRC])
    }

    /// The (outer) EtherType.
    #[inline]
    pub fn ethertype(&self) -> EtherType {
        EtherType(be::get_u16(self.buffer.as_ref(), field::ETHERTYPE))
    }

    /// 14, or 18 when the outer EtherType is 802.1Q.
    #[inline]
    pub fn header_len(&self) -> usize {
        if self.ethertype() == EtherType::VLAN {
            HEADER_LEN + VLAN_TAG_LEN
        } else {
            HEADER_LEN
        }
    }

    /// The 802.1Q tag, if the EtherType is 0x8100 and the buffer holds the whole tag.
    #[inline]
    pub fn vlan_tag(&self) -> Option<VlanTag> {
        let buf = self.buffer.as_ref();
        if buf.len() < HEADER_LEN + VLAN_TAG_LEN || self.ethertype() != EtherType::VLAN {
            return None;
        }
        let tci = be::get_u16(buf, field::TCI);
        Some(VlanTag {
            pcp: (tci >> 13) as u8,
            dei: tci & 0x1000 != 0,
            vid: tci & 0x0fff,
            inner_ethertype: EtherType(be::get_u16(buf, field::INNER_ETHERTYPE)),
        })
    }

    /// Everything after the 14-byte header (an 802.1Q tag is not skipped).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Frame<T> {
    /// Set the destination address.
    #[inline]
    pub fn set_dst_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::DST].copy_from_slice(&addr.0);
    }

    /// Set the source address.
    #[inline]
    pub fn set_src_addr(&mut self, addr: EthernetAddress) {
        self.buffer.as_mut()[field::SRC].copy_from_slice(&addr.0);
    }

    /// Set the (outer) EtherType.
    #[inline]
    pub fn set_ethertype(&mut self, ethertype: EtherType) {
        be::set_u16(self.buffer.as_mut(), field::ETHERTYPE, ethertype.0);
    }

    /// Mutable access to everything after the 14-byte header.
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Frame<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// High-level representation of an Ethernet II header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Repr {
    /// Source address.
    pub src_addr: EthernetAddress,
    /// Destination address.
    pub dst_addr: EthernetAddress,
    /// EtherType.
    pub ethertype: EtherType,
}

impl Repr {
    /// Read the header out of a frame (`Truncated` if shorter than 14 bytes).
    #[inline]
    pub fn parse<T: AsRef<[u8]> + ?Sized>(frame: &Frame<&T>) -> Result<Repr> {
        frame.check_len()?;
        Ok(Repr {
            src_addr: frame.src_addr(),
            dst_addr: frame.dst_addr(),
            ethertype: frame.ethertype(),
        })
    }

    /// Always [`HEADER_LEN`].
    #[inline]
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write the header into `frame`.
    ///
    /// # Panics
    ///
    /// Panics if the frame's buffer is shorter than [`HEADER_LEN`].
    #[inline]
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, frame: &mut Frame<T>) {
        frame.set_src_addr(self.src_addr);
        frame.set_dst_addr(self.dst_addr);
        frame.set_ethertype(self.ethertype);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::format;

    // ARP request captured on veth `vA` (netns lnA, 10.77.0.1/24, peer vB 10.77.0.2/24 in
    // netns lnB) with `ip netns exec lnA tcpdump -i vA -w veth.pcap` while running
    // `ip netns exec lnA ping -c1 10.77.0.2`; 2026-11-22, kernel 6.18.44-fc-v669.
    // tcpdump -e: 9a:b9:a1:7d:cc:f9 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42
    const ARP_REQUEST_FRAME: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x9a, 0xb9, 0xa1, 0x7d, 0xcc, 0xf9, 0x08, 0x06, 0x00,
        0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x9a, 0xb9, 0xa1, 0x7d, 0xcc, 0xf9, 0x0a, 0x4d,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x4d, 0x00, 0x02,
    ];

    /// `emit` writes all 14 header bytes (the transmit path does not zero them first).
    #[test]
    fn emit_writes_every_header_byte() {
        let repr = Repr {
            src_addr: EthernetAddress([2, 0, 0, 0, 0, 1]),
            dst_addr: EthernetAddress([2, 0, 0, 0, 0, 2]),
            ethertype: EtherType::IPV4,
        };
        let mut zero = [0u8; HEADER_LEN];
        let mut junk = [0xffu8; HEADER_LEN];
        repr.emit(&mut Frame::new_unchecked(&mut zero[..]));
        repr.emit(&mut Frame::new_unchecked(&mut junk[..]));
        assert_eq!(zero, junk);
        assert_eq!(Repr::parse(&Frame::new_unchecked(&zero[..])), Ok(repr));
    }

    #[test]
    fn parse_captured_frame() {
        let frame = Frame::new_checked(&ARP_REQUEST_FRAME[..]).unwrap();
        assert_eq!(frame.dst_addr(), EthernetAddress::BROADCAST);
        assert_eq!(frame.src_addr(), "9a:b9:a1:7d:cc:f9".parse().unwrap());
        assert_eq!(frame.ethertype(), EtherType::ARP);
        assert_eq!(frame.header_len(), 14);
        assert_eq!(frame.vlan_tag(), None);
        assert_eq!(frame.payload().len(), 28);
        let repr = Repr::parse(&frame).unwrap();
        let mut out = [0u8; 42];
        out[14..].copy_from_slice(frame.payload());
        let mut f2 = Frame::new_unchecked(&mut out[..]);
        repr.emit(&mut f2);
        assert_eq!(&out[..], &ARP_REQUEST_FRAME[..]);
    }

    #[test]
    fn truncated() {
        assert_eq!(
            Frame::new_checked(&[0u8; 13][..]),
            Err(ParseError::Truncated)
        );
        assert!(Frame::new_checked(&[0u8; 14][..])
            .unwrap()
            .payload()
            .is_empty());
    }

    #[test]
    fn vlan() {
        let mut buf = [0u8; 22];
        let mut f = Frame::new_unchecked(&mut buf[..]);
        f.set_ethertype(EtherType::VLAN);
        // PCP 5, DEI 1, VID 100; inner IPv4.
        f.payload_mut()[..4].copy_from_slice(&[0xb0, 0x64, 0x08, 0x00]);
        assert_eq!(f.header_len(), 18);
        assert_eq!(
            f.vlan_tag(),
            Some(VlanTag {
                pcp: 5,
                dei: true,
                vid: 100,
                inner_ethertype: EtherType::IPV4
            })
        );
        assert_eq!(Frame::new_unchecked(&buf[..17]).vlan_tag(), None);
        assert_eq!(
            Frame::new_unchecked(&buf[..18]).vlan_tag().unwrap().vid,
            100
        );
    }

    #[test]
    fn address_bits_and_text() {
        let a: EthernetAddress = "01:00:5E:00:00:fb".parse().unwrap();
        assert!(a.is_multicast() && !a.is_unicast() && !a.is_broadcast() && !a.is_local());
        assert_eq!(format!("{a}"), "01:00:5e:00:00:fb");
        assert_eq!(format!("{a:?}"), "01:00:5e:00:00:fb");
        assert!(EthernetAddress::BROADCAST.is_broadcast());
        assert!(EthernetAddress([0x02, 0, 0, 0, 0, 1]).is_local());
        for bad in [
            "",
            "01:02:03:04:05",
            "01:02:03:04:05:06:07",
            "01:02:03:04:05:xx",
            "1:2:3:4:5:123",
        ] {
            assert_eq!(
                bad.parse::<EthernetAddress>(),
                Err(ParseError::BadValue),
                "{bad}"
            );
        }
        assert_eq!(
            EthernetAddress::from_bytes(&[1, 2, 3, 4, 5, 6]).as_bytes(),
            &[1, 2, 3, 4, 5, 6]
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..40)) {
            if let Ok(f) = Frame::new_checked(&data[..]) {
                let _ = (f.dst_addr(), f.src_addr(), f.ethertype(), f.header_len(), f.vlan_tag());
                let _ = f.payload();
                let _ = Repr::parse(&f);
            }
        }

        #[test]
        fn round_trip(src in any::<[u8; 6]>(), dst in any::<[u8; 6]>(), et in any::<u16>()) {
            let repr = Repr {
                src_addr: EthernetAddress(src),
                dst_addr: EthernetAddress(dst),
                ethertype: EtherType(et),
            };
            let mut buf = [0u8; HEADER_LEN];
            repr.emit(&mut Frame::new_unchecked(&mut buf[..]));
            prop_assert_eq!(Repr::parse(&Frame::new_checked(&buf[..]).unwrap()).unwrap(), repr);
            let text = format!("{}", repr.src_addr);
            prop_assert_eq!(text.parse::<EthernetAddress>().unwrap(), repr.src_addr);
        }
    }
}

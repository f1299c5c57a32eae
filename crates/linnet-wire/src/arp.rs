//! ARP packets (RFC 826), with a high-level [`Repr`] for the Ethernet/IPv4 form.
//!
//! [`Packet`] handles any hardware/protocol address lengths; [`Repr`] only the 28-byte
//! Ethernet (htype 1) / IPv4 (ptype 0x0800) form that the stack uses. Opcode policy (which
//! operations to answer) is left to the caller, as Linux's arp_process does it.
//!
//! Linux: include/uapi/linux/if_arp.h (struct arphdr, ARPHRD_ETHER, ARPOP_*),
//! net/ipv4/arp.c (arp_process header checks).
//!
//! RFCs: RFC 826 (ARP), RFC 5227 (address conflict detection, uses the same format).

use core::net::Ipv4Addr;

use crate::be;
use crate::error::{ParseError, Result};
use crate::ethernet::{EtherType, EthernetAddress};

/// Length of an Ethernet/IPv4 ARP packet.
pub const PACKET_LEN: usize = 28;

/// Length of the fixed part (htype, ptype, hlen, plen, oper).
const FIXED_LEN: usize = 8;

/// ARPHRD_ETHER.
pub const HARDWARE_ETHERNET: u16 = 1;

/// An ARP opcode (`ARPOP_*`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Operation(pub u16);

impl Operation {
    /// ARPOP_REQUEST.
    pub const REQUEST: Operation = Operation(1);
    /// ARPOP_REPLY.
    pub const REPLY: Operation = Operation(2);
}

/// Hardware type constants (`ARPHRD_*`).
pub mod hardware {
    /// ARPHRD_ETHER.
    pub const ETHERNET: u16 = 1;
}

/// A zero-copy view of an ARP packet.
///
/// The address fields are located using the packet's own `hardware_len`/`protocol_len`;
/// set those before the addresses when building a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; fixed-field getters may panic if it is shorter than
    /// 8 bytes (the address getters never panic; they return an empty slice instead).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a buffer, checking it holds the fixed part and all four addresses.
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Err(Truncated)` if shorter than 8 bytes or than `8 + 2 * (hlen + plen)`.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < FIXED_LEN || len < self.addrs_end() {
            Err(ParseError::Truncated)
        } else {
            Ok(())
        }
    }

    /// Give back the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    fn addrs_end(&self) -> usize {
        FIXED_LEN + 2 * (usize::from(self.hardware_len()) + usize::from(self.protocol_len()))
    }

    /// Hardware type (1 = Ethernet).
    pub fn hardware_type(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), 0)
    }

    /// Protocol type (an EtherType; 0x0800 for IPv4).
    pub fn protocol_type(&self) -> EtherType {
        EtherType(be::get_u16(self.buffer.as_ref(), 2))
    }

    /// Hardware address length.
    pub fn hardware_len(&self) -> u8 {
        self.buffer.as_ref()[4]
    }

    /// Protocol address length.
    pub fn protocol_len(&self) -> u8 {
        self.buffer.as_ref()[5]
    }

    /// Opcode.
    pub fn operation(&self) -> Operation {
        Operation(be::get_u16(self.buffer.as_ref(), 6))
    }

    /// Offsets of (sha, spa, tha, tpa).
    fn offsets(&self) -> [core::ops::Range<usize>; 4] {
        let h = usize::from(self.hardware_len());
        let p = usize::from(self.protocol_len());
        let sha = FIXED_LEN;
        let spa = sha + h;
        let tha = spa + p;
        let tpa = tha + h;
        [sha..spa, spa..tha, tha..tpa, tpa..tpa + p]
    }

    fn addr(&self, which: usize) -> &[u8] {
        if self.buffer.as_ref().len() < FIXED_LEN {
            return &[];
        }
        let range = self.offsets()[which].clone();
        self.buffer.as_ref().get(range).unwrap_or(&[])
    }

    /// Sender hardware address (`hardware_len` bytes; empty if the buffer is too short).
    pub fn source_hardware_addr(&self) -> &[u8] {
        self.addr(0)
    }

    /// Sender protocol address (`protocol_len` bytes; empty if the buffer is too short).
    pub fn source_protocol_addr(&self) -> &[u8] {
        self.addr(1)
    }

    /// Target hardware address (`hardware_len` bytes; empty if the buffer is too short).
    pub fn target_hardware_addr(&self) -> &[u8] {
        self.addr(2)
    }

    /// Target protocol address (`protocol_len` bytes; empty if the buffer is too short).
    pub fn target_protocol_addr(&self) -> &[u8] {
        self.addr(3)
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the hardware type.
    pub fn set_hardware_type(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), 0, value);
    }

    /// Set the protocol type.
    pub fn set_protocol_type(&mut self, value: EtherType) {
        be::set_u16(self.buffer.as_mut(), 2, value.0);
    }

    /// Set the hardware address length (moves where the address fields are read/written).
    pub fn set_hardware_len(&mut self, value: u8) {
        self.buffer.as_mut()[4] = value;
    }

    /// Set the protocol address length (moves where the address fields are read/written).
    pub fn set_protocol_len(&mut self, value: u8) {
        self.buffer.as_mut()[5] = value;
    }

    /// Set the opcode.
    pub fn set_operation(&mut self, value: Operation) {
        be::set_u16(self.buffer.as_mut(), 6, value.0);
    }

    fn set_addr(&mut self, which: usize, value: &[u8]) {
        let range = self.offsets()[which].clone();
        self.buffer.as_mut()[range].copy_from_slice(value);
    }

    /// Set the sender hardware address.
    ///
    /// # Panics
    ///
    /// Panics if `value.len() != hardware_len()` or the buffer is too short.
    pub fn set_source_hardware_addr(&mut self, value: &[u8]) {
        self.set_addr(0, value);
    }

    /// Set the sender protocol address.
    ///
    /// # Panics
    ///
    /// Panics if `value.len() != protocol_len()` or the buffer is too short.
    pub fn set_source_protocol_addr(&mut self, value: &[u8]) {
        self.set_addr(1, value);
    }

    /// Set the target hardware address.
    ///
    /// # Panics
    ///
    /// Panics if `value.len() != hardware_len()` or the buffer is too short.
    pub fn set_target_hardware_addr(&mut self, value: &[u8]) {
        self.set_addr(2, value);
    }

    /// Set the target protocol address.
    ///
    /// # Panics
    ///
    /// Panics if `value.len() != protocol_len()` or the buffer is too short.
    pub fn set_target_protocol_addr(&mut self, value: &[u8]) {
        self.set_addr(3, value);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

fn ipv4_from(bytes: &[u8]) -> Ipv4Addr {
    Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3])
}

/// An Ethernet/IPv4 ARP packet.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Repr {
    /// Opcode (any value; the caller decides which ones it handles).
    pub operation: Operation,
    /// Sender MAC.
    pub source_hardware_addr: EthernetAddress,
    /// Sender IPv4 address.
    pub source_protocol_addr: Ipv4Addr,
    /// Target MAC.
    pub target_hardware_addr: EthernetAddress,
    /// Target IPv4 address.
    pub target_protocol_addr: Ipv4Addr,
}

impl Repr {
    /// Parse an Ethernet/IPv4 ARP packet.
    ///
    /// `Truncated` if the buffer is short; `Unsupported` unless htype 1, ptype 0x0800,
    /// hlen 6 and plen 4.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(packet: &Packet<&T>) -> Result<Repr> {
        packet.check_len()?;
        if packet.hardware_type() != HARDWARE_ETHERNET
            || packet.protocol_type() != EtherType::IPV4
            || packet.hardware_len() != 6
            || packet.protocol_len() != 4
        {
            return Err(ParseError::Unsupported);
        }
        Ok(Repr {
            operation: packet.operation(),
            source_hardware_addr: EthernetAddress::from_bytes(packet.source_hardware_addr()),
            source_protocol_addr: ipv4_from(packet.source_protocol_addr()),
            target_hardware_addr: EthernetAddress::from_bytes(packet.target_hardware_addr()),
            target_protocol_addr: ipv4_from(packet.target_protocol_addr()),
        })
    }

    /// Always [`PACKET_LEN`].
    pub const fn buffer_len(&self) -> usize {
        PACKET_LEN
    }

    /// Write the packet.
    ///
    /// # Panics
    ///
    /// Panics if the buffer is shorter than [`PACKET_LEN`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        packet.set_hardware_type(HARDWARE_ETHERNET);
        packet.set_protocol_type(EtherType::IPV4);
        packet.set_hardware_len(6);
        packet.set_protocol_len(4);
        packet.set_operation(self.operation);
        packet.set_source_hardware_addr(&self.source_hardware_addr.0);
        packet.set_source_protocol_addr(&self.source_protocol_addr.octets());
        packet.set_target_hardware_addr(&self.target_hardware_addr.0);
        packet.set_target_protocol_addr(&self.target_protocol_addr.octets());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ethernet::Frame;
    use proptest::prelude::*;

    // Captured on veth `vA` (netns lnA, 10.77.0.1/24 <-> netns lnB vB 10.77.0.2/24) with
    // `ip netns exec lnA tcpdump -i vA -w veth.pcap` while running
    // `ip netns exec lnA ping -c1 10.77.0.2`; 2026-11-22, kernel 6.18.44-fc-v669.
    // tcpdump -vv -e: 9a:b9:a1:7d:cc:f9 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806), length 42:
    //   Ethernet (len 6), IPv4 (len 4), Request who-has 10.77.0.2 tell 10.77.0.1, length 28
    const REQUEST_FRAME: [u8; 42] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x9a, 0xb9, 0xa1, 0x7d, 0xcc, 0xf9, 0x08, 0x06, 0x00,
        0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x01, 0x9a, 0xb9, 0xa1, 0x7d, 0xcc, 0xf9, 0x0a, 0x4d,
        0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x0a, 0x4d, 0x00, 0x02,
    ];
    // Same capture: 2e:ef:30:3f:e3:4a > 9a:b9:a1:7d:cc:f9, ethertype ARP (0x0806), length 42:
    //   Ethernet (len 6), IPv4 (len 4), Reply 10.77.0.2 is-at 2e:ef:30:3f:e3:4a, length 28
    const REPLY_FRAME: [u8; 42] = [
        0x9a, 0xb9, 0xa1, 0x7d, 0xcc, 0xf9, 0x2e, 0xef, 0x30, 0x3f, 0xe3, 0x4a, 0x08, 0x06, 0x00,
        0x01, 0x08, 0x00, 0x06, 0x04, 0x00, 0x02, 0x2e, 0xef, 0x30, 0x3f, 0xe3, 0x4a, 0x0a, 0x4d,
        0x00, 0x02, 0x9a, 0xb9, 0xa1, 0x7d, 0xcc, 0xf9, 0x0a, 0x4d, 0x00, 0x01,
    ];

    fn mac(s: &str) -> EthernetAddress {
        s.parse().unwrap()
    }

    #[test]
    fn captured_request_and_reply() {
        let f = Frame::new_checked(&REQUEST_FRAME[..]).unwrap();
        let p = Packet::new_checked(f.payload()).unwrap();
        assert_eq!(p.hardware_type(), 1);
        assert_eq!(p.protocol_type(), EtherType::IPV4);
        assert_eq!((p.hardware_len(), p.protocol_len()), (6, 4));
        let req = Repr::parse(&p).unwrap();
        assert_eq!(
            req,
            Repr {
                operation: Operation::REQUEST,
                source_hardware_addr: mac("9a:b9:a1:7d:cc:f9"),
                source_protocol_addr: Ipv4Addr::new(10, 77, 0, 1),
                target_hardware_addr: EthernetAddress::default(),
                target_protocol_addr: Ipv4Addr::new(10, 77, 0, 2),
            }
        );
        let mut out = [0u8; PACKET_LEN];
        req.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], f.payload());

        let f = Frame::new_checked(&REPLY_FRAME[..]).unwrap();
        let rep = Repr::parse(&Packet::new_checked(f.payload()).unwrap()).unwrap();
        assert_eq!(rep.operation, Operation::REPLY);
        assert_eq!(rep.source_hardware_addr, mac("2e:ef:30:3f:e3:4a"));
        assert_eq!(rep.source_protocol_addr, Ipv4Addr::new(10, 77, 0, 2));
        assert_eq!(rep.target_hardware_addr, mac("9a:b9:a1:7d:cc:f9"));
        assert_eq!(rep.target_protocol_addr, Ipv4Addr::new(10, 77, 0, 1));
        let mut out = [0u8; PACKET_LEN];
        rep.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], f.payload());
        assert_eq!(rep.buffer_len(), 28);
    }

    #[test]
    fn length_checks_and_unsupported() {
        assert_eq!(
            Packet::new_checked(&[0u8; 7][..]),
            Err(ParseError::Truncated)
        );
        let f = Frame::new_checked(&REQUEST_FRAME[..]).unwrap();
        assert_eq!(
            Packet::new_checked(&f.payload()[..27]),
            Err(ParseError::Truncated)
        );
        let mut buf = [0u8; 28];
        buf.copy_from_slice(f.payload());
        buf[1] = 6; // IEEE 802 hardware type
        assert_eq!(
            Repr::parse(&Packet::new_checked(&buf[..]).unwrap()),
            Err(ParseError::Unsupported)
        );
        // A zero-length-address packet is structurally fine but unsupported.
        let tiny = [0, 1, 8, 0, 0, 0, 0, 1];
        let p = Packet::new_checked(&tiny[..]).unwrap();
        assert!(p.source_hardware_addr().is_empty());
        assert_eq!(Repr::parse(&p), Err(ParseError::Unsupported));
        // Unchecked views never panic in the address getters.
        let short = Packet::new_unchecked(&REQUEST_FRAME[14..30]);
        assert!(short.target_protocol_addr().is_empty());
    }

    #[test]
    fn setters() {
        let mut buf = [0u8; 8 + 2 * (8 + 16)];
        let mut p = Packet::new_unchecked(&mut buf[..]);
        p.set_hardware_type(0x1234);
        p.set_protocol_type(EtherType::IPV6);
        p.set_hardware_len(8);
        p.set_protocol_len(16);
        p.set_operation(Operation(9));
        p.set_source_hardware_addr(&[1; 8]);
        p.set_source_protocol_addr(&[2; 16]);
        p.set_target_hardware_addr(&[3; 8]);
        p.set_target_protocol_addr(&[4; 16]);
        let p = Packet::new_checked(&buf[..]).unwrap();
        assert_eq!(p.hardware_type(), 0x1234);
        assert_eq!(p.protocol_type(), EtherType::IPV6);
        assert_eq!(p.operation(), Operation(9));
        assert_eq!(p.source_hardware_addr(), &[1; 8]);
        assert_eq!(p.source_protocol_addr(), &[2; 16]);
        assert_eq!(p.target_hardware_addr(), &[3; 8]);
        assert_eq!(p.target_protocol_addr(), &[4; 16]);
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..64)) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = (p.hardware_type(), p.protocol_type(), p.operation());
                let _ = (p.source_hardware_addr(), p.source_protocol_addr());
                let _ = (p.target_hardware_addr(), p.target_protocol_addr());
                let _ = Repr::parse(&p);
            }
            let _ = Packet::new_unchecked(&data[..]).target_protocol_addr();
        }

        #[test]
        fn round_trip(op in any::<u16>(), sha in any::<[u8; 6]>(), spa in any::<u32>(),
                      tha in any::<[u8; 6]>(), tpa in any::<u32>()) {
            let repr = Repr {
                operation: Operation(op),
                source_hardware_addr: EthernetAddress(sha),
                source_protocol_addr: Ipv4Addr::from(spa),
                target_hardware_addr: EthernetAddress(tha),
                target_protocol_addr: Ipv4Addr::from(tpa),
            };
            let mut buf = [0u8; PACKET_LEN];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            prop_assert_eq!(Repr::parse(&Packet::new_checked(&buf[..]).unwrap()).unwrap(), repr);
        }
    }
}

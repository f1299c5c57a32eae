//! UDP datagrams (RFC 768) over IPv4.
//!
//! The checksum helpers take the IPv4 pseudo-header addresses; a zero checksum field means
//! "not computed" (RFC 768) and verifies as valid, and a computed checksum of zero is sent as
//! 0xffff.
//!
//! Linux: include/uapi/linux/udp.h (struct udphdr), net/ipv4/udp.c (__udp4_lib_rcv length
//! checks, udp4_csum_init), include/net/udp.h (udp_v4_check).
//!
//! RFCs: RFC 768 (UDP), RFC 1122 §4.1.3.4 (checksum handling).

use core::net::Ipv4Addr;

use crate::be;
use crate::checksum;
use crate::error::{ParseError, Result};
use crate::ipv4::Protocol;

/// Length of the UDP header.
pub const HEADER_LEN: usize = 8;

/// A zero-copy view of a UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; getters panic if it is shorter than 8 bytes.
    #[inline]
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a buffer, checking the header and length field.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Truncated` if shorter than 8 bytes; `BadLength` if the length field is below 8 or
    /// exceeds the buffer.
    #[inline]
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        let field = usize::from(self.len());
        if field < HEADER_LEN || field > len {
            return Err(ParseError::BadLength);
        }
        Ok(())
    }

    /// Give back the underlying buffer.
    #[inline]
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    #[inline]
    pub fn src_port(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), 0)
    }

    /// Destination port.
    #[inline]
    pub fn dst_port(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), 2)
    }

    /// Length field (header + payload).
    #[allow(clippy::len_without_is_empty)]
    #[inline]
    pub fn len(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), 4)
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), 6)
    }

    fn datagram_end(&self) -> usize {
        usize::from(self.len()).min(self.buffer.as_ref().len())
    }

    /// Bytes 8..length field (clamped to the buffer).
    #[inline]
    pub fn payload(&self) -> &[u8] {
        let end = self.datagram_end();
        &self.buffer.as_ref()[HEADER_LEN.min(end)..end]
    }

    /// Checksum over the length-field bytes with the IPv4 pseudo-header; a zero checksum
    /// field means "none" and is valid.
    #[inline]
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        if self.checksum() == 0 {
            return true;
        }
        let data = &self.buffer.as_ref()[..self.datagram_end()];
        let pseudo = checksum::pseudo_header_v4(src, dst, Protocol::UDP.0, self.len());
        checksum::fold(checksum::combine(pseudo, checksum::sum(data))) == 0xffff
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the source port.
    #[inline]
    pub fn set_src_port(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), 0, value);
    }

    /// Set the destination port.
    #[inline]
    pub fn set_dst_port(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), 2, value);
    }

    /// Set the length field.
    #[inline]
    pub fn set_len(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), 4, value);
    }

    /// Set the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), 6, value);
    }

    /// Mutable bytes 8..length field (clamped to the buffer).
    #[inline]
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let end = self.datagram_end();
        &mut self.buffer.as_mut()[HEADER_LEN.min(end)..end]
    }

    /// Compute and store the checksum over the length-field bytes; zero is sent as 0xffff.
    #[inline]
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let data = &self.buffer.as_ref()[..self.datagram_end()];
        let pseudo = checksum::pseudo_header_v4(src, dst, Protocol::UDP.0, self.len());
        let c = !checksum::fold(checksum::combine(pseudo, checksum::sum(data)));
        self.set_checksum(if c == 0 { 0xffff } else { c });
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// High-level representation of a UDP header (the payload stays in the packet).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Repr {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
}

impl Repr {
    /// Parse the header, running the length checks and, if asked, the checksum
    /// (`BadChecksum`).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &Packet<&T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        verify_checksum: bool,
    ) -> Result<Repr> {
        packet.check_len()?;
        if verify_checksum && !packet.verify_checksum_v4(src, dst) {
            return Err(ParseError::BadChecksum);
        }
        Ok(Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
        })
    }

    /// Always [`HEADER_LEN`].
    #[inline]
    pub const fn header_len(&self) -> usize {
        HEADER_LEN
    }

    /// Write ports, length `8 + payload_len` (truncated to 16 bits) and a zero checksum. Fill
    /// the payload afterwards, then call [`Packet::fill_checksum_v4`].
    ///
    /// # Panics
    ///
    /// Panics if the buffer is shorter than [`HEADER_LEN`].
    #[inline]
    pub fn emit_header<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        payload_len: usize,
    ) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_len((HEADER_LEN + payload_len) as u16);
        packet.set_checksum(0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::ipv4;
    use proptest::prelude::*;
    use std::vec;

    const A: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    fn udp_of(frame: &[u8]) -> &[u8] {
        let ip = ipv4::Packet::new_checked(&frame[14..]).unwrap();
        &frame[14 + usize::from(ip.header_len())..14 + usize::from(ip.total_len())]
    }

    /// `emit_header` writes all 8 header bytes (the send path does not zero them first).
    #[test]
    fn emit_header_writes_every_header_byte() {
        let repr = Repr {
            src_port: 7777,
            dst_port: 40000,
        };
        let mut zero = [0u8; HEADER_LEN];
        let mut junk = [0xffu8; HEADER_LEN];
        repr.emit_header(&mut Packet::new_unchecked(&mut zero[..]), 64);
        repr.emit_header(&mut Packet::new_unchecked(&mut junk[..]), 64);
        assert_eq!(zero, junk);
        assert_eq!(zero, [0x1e, 0x61, 0x9c, 0x40, 0, 72, 0, 0]);
    }

    #[test]
    fn captured_datagram() {
        let bytes = udp_of(&UDP_FRAME);
        let p = Packet::new_checked(bytes).unwrap();
        assert_eq!((p.src_port(), p.dst_port(), p.len()), (56123, 9999, 20));
        assert_eq!(p.payload(), b"hello linnet");
        assert_eq!(p.checksum(), 0x64a0);
        assert!(p.verify_checksum_v4(A, B));
        assert!(!p.verify_checksum_v4(B, Ipv4Addr::new(10, 77, 0, 3)));
        let repr = Repr::parse(&p, A, B, true).unwrap();
        assert_eq!(
            repr,
            Repr {
                src_port: 56123,
                dst_port: 9999
            }
        );
        assert_eq!(Repr::parse(&p, A, A, true), Err(ParseError::BadChecksum));

        let mut out = vec![0u8; bytes.len()];
        let mut q = Packet::new_unchecked(&mut out[..]);
        repr.emit_header(&mut q, p.payload().len());
        q.payload_mut().copy_from_slice(p.payload());
        q.fill_checksum_v4(A, B);
        assert_eq!(&out[..], bytes);

        let p = Packet::new_checked(udp_of(&UDP_CLOSED_FRAME)).unwrap();
        assert_eq!((p.dst_port(), p.payload()), (9998, &b"unreach?"[..]));
        assert!(p.verify_checksum_v4(A, B));
    }

    #[test]
    fn length_checks() {
        assert_eq!(
            Packet::new_checked(&[0u8; 7][..]),
            Err(ParseError::Truncated)
        );
        let mut b = udp_of(&UDP_FRAME).to_vec();
        b[5] = 7;
        assert_eq!(Packet::new_checked(&b[..]), Err(ParseError::BadLength));
        b[5] = 21;
        assert_eq!(Packet::new_checked(&b[..]), Err(ParseError::BadLength));
        // A length field shorter than the buffer trims the payload.
        b[5] = 13;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(p.payload(), b"hello");
        // Unchecked views clamp.
        b[5] = 2;
        assert!(Packet::new_unchecked(&b[..]).payload().is_empty());
    }

    #[test]
    fn zero_checksum() {
        let mut b = udp_of(&UDP_FRAME).to_vec();
        b[6] = 0;
        b[7] = 0;
        assert!(Packet::new_checked(&b[..])
            .unwrap()
            .verify_checksum_v4(A, B));
        // A datagram whose checksum computes to 0 is sent as 0xffff, which verifies.
        // Find such a payload by adjusting two bytes.
        let mut d = [0u8; 10];
        let mut p = Packet::new_unchecked(&mut d[..]);
        Repr {
            src_port: 1,
            dst_port: 2,
        }
        .emit_header(&mut p, 2);
        p.fill_checksum_v4(A, B);
        let c = p.checksum();
        // Add the checksum into the payload word: the new sum becomes 0xffff -> checksum 0.
        p.payload_mut().copy_from_slice(&c.to_be_bytes());
        p.fill_checksum_v4(A, B);
        assert_eq!(p.checksum(), 0xffff);
        assert!(p.verify_checksum_v4(A, B));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..40),
                                    s in any::<u32>(), d in any::<u32>()) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = (p.src_port(), p.dst_port(), p.len(), p.checksum(), p.payload());
                let _ = p.verify_checksum_v4(s.into(), d.into());
                let _ = Repr::parse(&p, s.into(), d.into(), true);
            }
        }

        #[test]
        fn round_trip(sp in any::<u16>(), dp in any::<u16>(), s in any::<u32>(), d in any::<u32>(),
                      payload in proptest::collection::vec(any::<u8>(), 0..40)) {
            let repr = Repr { src_port: sp, dst_port: dp };
            let mut buf = vec![0u8; HEADER_LEN + payload.len()];
            let mut p = Packet::new_unchecked(&mut buf[..]);
            repr.emit_header(&mut p, payload.len());
            p.payload_mut().copy_from_slice(&payload);
            p.fill_checksum_v4(s.into(), d.into());
            let p = Packet::new_checked(&buf[..]).unwrap();
            prop_assert!(p.checksum() != 0);
            prop_assert_eq!(Repr::parse(&p, s.into(), d.into(), true).unwrap(), repr);
            prop_assert_eq!(p.payload(), &payload[..]);
        }
    }
}

//! ICMPv4 messages (RFC 792): a zero-copy [`Packet`] view and a [`Repr`] covering echo,
//! the error messages the stack emits and consumes, and a catch-all.
//!
//! For error messages `data` is the quoted original datagram (IP header plus at least eight
//! bytes of payload, or more per RFC 1812); this module does not parse it: linnet-core runs the
//! IPv4 parser over it itself, as Linux's icmp_unreach does.
//!
//! Linux: include/uapi/linux/icmp.h (struct icmphdr, ICMP_* types and codes),
//! net/ipv4/icmp.c (icmp_pointers[], icmp_rcv, icmp_unreach).
//!
//! RFCs: RFC 792 (ICMP), RFC 1191 (next-hop MTU in Fragmentation Needed), RFC 1812 §4.3
//! (quoting), RFC 950 (address mask), RFC 4884 (extensions; not interpreted here).

use core::net::Ipv4Addr;

use crate::be;
use crate::checksum;
use crate::error::{ParseError, Result};

/// Length of the ICMP header (type, code, checksum, rest-of-header).
pub const HEADER_LEN: usize = 8;

/// An ICMP message type.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash)]
pub struct Message(pub u8);

impl Message {
    /// ICMP_ECHOREPLY.
    pub const ECHO_REPLY: Message = Message(0);
    /// ICMP_DEST_UNREACH.
    pub const DST_UNREACHABLE: Message = Message(3);
    /// ICMP_SOURCE_QUENCH.
    pub const SOURCE_QUENCH: Message = Message(4);
    /// ICMP_REDIRECT.
    pub const REDIRECT: Message = Message(5);
    /// ICMP_ECHO.
    pub const ECHO_REQUEST: Message = Message(8);
    /// Router advertisement (RFC 1256).
    pub const ROUTER_ADVERT: Message = Message(9);
    /// Router solicitation (RFC 1256).
    pub const ROUTER_SOLICIT: Message = Message(10);
    /// ICMP_TIME_EXCEEDED.
    pub const TIME_EXCEEDED: Message = Message(11);
    /// ICMP_PARAMETERPROB.
    pub const PARAM_PROBLEM: Message = Message(12);
    /// ICMP_TIMESTAMP.
    pub const TIMESTAMP: Message = Message(13);
    /// ICMP_TIMESTAMPREPLY.
    pub const TIMESTAMP_REPLY: Message = Message(14);
    /// ICMP_INFO_REQUEST.
    pub const INFO_REQUEST: Message = Message(15);
    /// ICMP_INFO_REPLY.
    pub const INFO_REPLY: Message = Message(16);
    /// ICMP_ADDRESS.
    pub const ADDRESS_MASK: Message = Message(17);
    /// ICMP_ADDRESSREPLY.
    pub const ADDRESS_MASK_REPLY: Message = Message(18);

    /// Whether this is an error message (`icmp_pointers[type].error` in Linux): destination
    /// unreachable, source quench, redirect, time exceeded, parameter problem.
    #[inline]
    pub fn is_error(self) -> bool {
        matches!(self.0, 3 | 4 | 5 | 11 | 12)
    }
}

/// Destination Unreachable codes.
pub mod unreach {
    /// ICMP_NET_UNREACH.
    pub const NET: u8 = 0;
    /// ICMP_HOST_UNREACH.
    pub const HOST: u8 = 1;
    /// ICMP_PROT_UNREACH.
    pub const PROTOCOL: u8 = 2;
    /// ICMP_PORT_UNREACH.
    pub const PORT: u8 = 3;
    /// ICMP_FRAG_NEEDED.
    pub const FRAG_NEEDED: u8 = 4;
    /// ICMP_SR_FAILED.
    pub const SRC_ROUTE_FAILED: u8 = 5;
    /// ICMP_NET_UNKNOWN.
    pub const NET_UNKNOWN: u8 = 6;
    /// ICMP_HOST_UNKNOWN.
    pub const HOST_UNKNOWN: u8 = 7;
    /// ICMP_HOST_ISOLATED.
    pub const HOST_ISOLATED: u8 = 8;
    /// ICMP_NET_ANO.
    pub const NET_PROHIBITED: u8 = 9;
    /// ICMP_HOST_ANO.
    pub const HOST_PROHIBITED: u8 = 10;
    /// ICMP_NET_UNR_TOS.
    pub const NET_TOS: u8 = 11;
    /// ICMP_HOST_UNR_TOS.
    pub const HOST_TOS: u8 = 12;
    /// ICMP_PKT_FILTERED.
    pub const ADMIN_PROHIBITED: u8 = 13;
    /// ICMP_PREC_VIOLATION.
    pub const HOST_PRECEDENCE: u8 = 14;
    /// ICMP_PREC_CUTOFF.
    pub const PRECEDENCE_CUTOFF: u8 = 15;
}

/// Time Exceeded codes.
pub mod time_exceeded {
    /// ICMP_EXC_TTL.
    pub const TTL: u8 = 0;
    /// ICMP_EXC_FRAGTIME.
    pub const FRAG_REASSEMBLY: u8 = 1;
}

/// Redirect codes.
pub mod redirect {
    /// ICMP_REDIR_NET.
    pub const NET: u8 = 0;
    /// ICMP_REDIR_HOST.
    pub const HOST: u8 = 1;
    /// ICMP_REDIR_NETTOS.
    pub const TOS_NET: u8 = 2;
    /// ICMP_REDIR_HOSTTOS.
    pub const TOS_HOST: u8 = 3;
}

/// Parameter Problem codes.
pub mod param_problem {
    /// Pointer indicates the error.
    pub const POINTER: u8 = 0;
    /// Missing a required option.
    pub const MISSING_OPTION: u8 = 1;
    /// Bad length.
    pub const BAD_LENGTH: u8 = 2;
}

/// A zero-copy view of an ICMPv4 message (the whole IP payload).
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

    /// Wrap a buffer, checking it holds the 8-byte header.
    #[inline]
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Err(Truncated)` if shorter than [`HEADER_LEN`].
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

    /// Message type.
    #[inline]
    pub fn msg_type(&self) -> Message {
        Message(self.buffer.as_ref()[0])
    }

    /// Message code.
    #[inline]
    pub fn msg_code(&self) -> u8 {
        self.buffer.as_ref()[1]
    }

    /// Checksum field.
    #[inline]
    pub fn checksum(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), 2)
    }

    /// Echo identifier (bytes 4..6).
    #[inline]
    pub fn echo_ident(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), 4)
    }

    /// Echo sequence number (bytes 6..8).
    #[inline]
    pub fn echo_seq_no(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), 6)
    }

    /// Next-hop MTU of a Fragmentation Needed message (bytes 6..8, RFC 1191).
    #[inline]
    pub fn next_hop_mtu(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), 6)
    }

    /// Parameter Problem pointer (byte 4).
    #[inline]
    pub fn pointer(&self) -> u8 {
        self.buffer.as_ref()[4]
    }

    /// Redirect gateway address (bytes 4..8).
    #[inline]
    pub fn gateway(&self) -> Ipv4Addr {
        Ipv4Addr::from(self.rest_of_header())
    }

    /// Bytes 4..8 as one big-endian word.
    #[inline]
    pub fn rest_of_header(&self) -> u32 {
        be::get_u32(self.buffer.as_ref(), 4)
    }

    /// Everything after the 8-byte header.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buffer.as_ref()[HEADER_LEN..]
    }

    /// Whether the checksum over the whole buffer is valid.
    #[inline]
    pub fn verify_checksum(&self) -> bool {
        checksum::checksum(self.buffer.as_ref()) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the message type.
    #[inline]
    pub fn set_msg_type(&mut self, value: Message) {
        self.buffer.as_mut()[0] = value.0;
    }

    /// Set the code.
    #[inline]
    pub fn set_msg_code(&mut self, value: u8) {
        self.buffer.as_mut()[1] = value;
    }

    /// Set the checksum field.
    #[inline]
    pub fn set_checksum(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), 2, value);
    }

    /// Set the echo identifier.
    #[inline]
    pub fn set_echo_ident(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), 4, value);
    }

    /// Set the echo sequence number.
    #[inline]
    pub fn set_echo_seq_no(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), 6, value);
    }

    /// Set the next-hop MTU (bytes 6..8; bytes 4..6 are left alone).
    #[inline]
    pub fn set_next_hop_mtu(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), 6, value);
    }

    /// Set the Parameter Problem pointer (byte 4; bytes 5..8 are left alone).
    #[inline]
    pub fn set_pointer(&mut self, value: u8) {
        self.buffer.as_mut()[4] = value;
    }

    /// Set the redirect gateway.
    #[inline]
    pub fn set_gateway(&mut self, value: Ipv4Addr) {
        self.set_rest_of_header(value.into());
    }

    /// Set bytes 4..8.
    #[inline]
    pub fn set_rest_of_header(&mut self, value: u32) {
        be::set_u32(self.buffer.as_mut(), 4, value);
    }

    /// Mutable access to everything after the header.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buffer.as_mut()[HEADER_LEN..]
    }

    /// Zero the checksum field and recompute it over the whole buffer.
    #[inline]
    pub fn fill_checksum(&mut self) {
        self.set_checksum(0);
        let c = checksum::checksum(self.buffer.as_ref());
        self.set_checksum(c);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// High-level representation of an ICMPv4 message.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Repr<'a> {
    /// Echo request (type 8; any code is accepted on parse, 0 is emitted).
    EchoRequest {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Echo data.
        data: &'a [u8],
    },
    /// Echo reply (type 0; any code is accepted on parse, 0 is emitted).
    EchoReply {
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq_no: u16,
        /// Echo data.
        data: &'a [u8],
    },
    /// Destination unreachable (type 3). Bytes 4..6 (RFC 4884 length / unused) are dropped
    /// on parse and emitted as zero.
    DstUnreachable {
        /// Code, see [`unreach`].
        code: u8,
        /// Next-hop MTU (meaningful for [`unreach::FRAG_NEEDED`]; zero otherwise).
        next_hop_mtu: u16,
        /// The quoted datagram.
        data: &'a [u8],
    },
    /// Time exceeded (type 11).
    TimeExceeded {
        /// Code, see [`time_exceeded`].
        code: u8,
        /// The quoted datagram.
        data: &'a [u8],
    },
    /// Redirect (type 5).
    Redirect {
        /// Code, see [`redirect`].
        code: u8,
        /// The better first-hop router.
        gateway: Ipv4Addr,
        /// The quoted datagram.
        data: &'a [u8],
    },
    /// Parameter problem (type 12) with code 0 ([`param_problem::POINTER`]); other codes
    /// parse as [`Repr::Other`] so nothing is lost.
    ParamProblem {
        /// Offset of the offending octet in the quoted header.
        pointer: u8,
        /// The quoted datagram.
        data: &'a [u8],
    },
    /// Anything else, carried verbatim.
    Other {
        /// Type.
        msg_type: Message,
        /// Code.
        code: u8,
        /// Bytes 4..8.
        rest_of_header: u32,
        /// Bytes 8..
        data: &'a [u8],
    },
}

impl<'a> Repr<'a> {
    /// Parse a message. `Truncated` if shorter than 8 bytes; `BadChecksum` if
    /// `verify_checksum` and the checksum is wrong. The quoted datagram of error messages is
    /// returned as-is, whatever its length.
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &'a Packet<&'a T>,
        verify_checksum: bool,
    ) -> Result<Repr<'a>> {
        packet.check_len()?;
        if verify_checksum && !packet.verify_checksum() {
            return Err(ParseError::BadChecksum);
        }
        let data = packet.data();
        let code = packet.msg_code();
        Ok(match packet.msg_type() {
            Message::ECHO_REQUEST => Repr::EchoRequest {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            Message::ECHO_REPLY => Repr::EchoReply {
                ident: packet.echo_ident(),
                seq_no: packet.echo_seq_no(),
                data,
            },
            Message::DST_UNREACHABLE => Repr::DstUnreachable {
                code,
                next_hop_mtu: packet.next_hop_mtu(),
                data,
            },
            Message::TIME_EXCEEDED => Repr::TimeExceeded { code, data },
            Message::REDIRECT => Repr::Redirect {
                code,
                gateway: packet.gateway(),
                data,
            },
            Message::PARAM_PROBLEM if code == param_problem::POINTER => Repr::ParamProblem {
                pointer: packet.pointer(),
                data,
            },
            msg_type => Repr::Other {
                msg_type,
                code,
                rest_of_header: packet.rest_of_header(),
                data,
            },
        })
    }

    fn data(&self) -> &'a [u8] {
        match *self {
            Repr::EchoRequest { data, .. }
            | Repr::EchoReply { data, .. }
            | Repr::DstUnreachable { data, .. }
            | Repr::TimeExceeded { data, .. }
            | Repr::Redirect { data, .. }
            | Repr::ParamProblem { data, .. }
            | Repr::Other { data, .. } => data,
        }
    }

    /// Header plus data length.
    #[inline]
    pub fn buffer_len(&self) -> usize {
        HEADER_LEN + self.data().len()
    }

    /// Write the message, data included, and fill the checksum. The checksum covers the whole
    /// buffer, so it should be exactly [`Repr::buffer_len`] bytes long.
    ///
    /// # Panics
    ///
    /// Panics if the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(&self, packet: &mut Packet<T>) {
        let (msg_type, code, rest) = match *self {
            Repr::EchoRequest { ident, seq_no, .. } => (
                Message::ECHO_REQUEST,
                0,
                (u32::from(ident) << 16) | u32::from(seq_no),
            ),
            Repr::EchoReply { ident, seq_no, .. } => (
                Message::ECHO_REPLY,
                0,
                (u32::from(ident) << 16) | u32::from(seq_no),
            ),
            Repr::DstUnreachable {
                code, next_hop_mtu, ..
            } => (Message::DST_UNREACHABLE, code, u32::from(next_hop_mtu)),
            Repr::TimeExceeded { code, .. } => (Message::TIME_EXCEEDED, code, 0),
            Repr::Redirect { code, gateway, .. } => (Message::REDIRECT, code, gateway.into()),
            Repr::ParamProblem { pointer, .. } => (
                Message::PARAM_PROBLEM,
                param_problem::POINTER,
                u32::from(pointer) << 24,
            ),
            Repr::Other {
                msg_type,
                code,
                rest_of_header,
                ..
            } => (msg_type, code, rest_of_header),
        };
        packet.set_msg_type(msg_type);
        packet.set_msg_code(code);
        packet.set_rest_of_header(rest);
        let data = self.data();
        packet.data_mut()[..data.len()].copy_from_slice(data);
        packet.fill_checksum();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::ipv4;
    use proptest::prelude::*;
    use std::vec;

    fn icmp_of(frame: &[u8]) -> &[u8] {
        let ip = ipv4::Packet::new_checked(&frame[14..]).unwrap();
        let hl = usize::from(ip.header_len());
        &frame[14 + hl..14 + usize::from(ip.total_len())]
    }

    fn round_trip_bytes(repr: &Repr<'_>, original: &[u8]) {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut out[..]));
        assert_eq!(&out[..], original);
    }

    #[test]
    fn captured_echo() {
        let bytes = icmp_of(&ECHO_REQUEST_FRAME);
        let p = Packet::new_checked(bytes).unwrap();
        assert_eq!((p.msg_type(), p.msg_code()), (Message::ECHO_REQUEST, 0));
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (2734, 1));
        assert_eq!(p.checksum(), 0x291f);
        assert!(p.verify_checksum());
        let repr = Repr::parse(&p, true).unwrap();
        match repr {
            Repr::EchoRequest {
                ident: 2734,
                seq_no: 1,
                data,
            } => assert_eq!(data.len(), 56),
            other => panic!("{other:?}"),
        }
        round_trip_bytes(&repr, bytes);

        let bytes = icmp_of(&ECHO_REPLY_FRAME);
        let p = Packet::new_checked(bytes).unwrap();
        let repr = Repr::parse(&p, true).unwrap();
        assert!(matches!(
            repr,
            Repr::EchoReply {
                ident: 2734,
                seq_no: 1,
                ..
            }
        ));
        round_trip_bytes(&repr, bytes);
    }

    #[test]
    fn captured_port_unreachable() {
        let bytes = icmp_of(&PORT_UNREACH_FRAME);
        let p = Packet::new_checked(bytes).unwrap();
        assert!(p.msg_type().is_error());
        let repr = Repr::parse(&p, true).unwrap();
        let Repr::DstUnreachable {
            code,
            next_hop_mtu,
            data,
        } = repr
        else {
            panic!("{repr:?}")
        };
        assert_eq!((code, next_hop_mtu, data.len()), (unreach::PORT, 0, 36));
        // The quote is the original datagram: IPv4 id 55263, UDP 56123 -> 9998.
        let quoted = ipv4::Packet::new_checked(data).unwrap();
        assert_eq!(quoted.ident(), 55263);
        assert_eq!(quoted.payload()[..4], [0xdb, 0x3b, 0x27, 0x0e]);
        assert_eq!(data, &UDP_CLOSED_FRAME[14..]);
        round_trip_bytes(&repr, bytes);
    }

    #[test]
    fn bad_checksum_and_truncation() {
        assert_eq!(
            Packet::new_checked(&[8u8, 0, 0, 0, 0, 0, 0][..]),
            Err(ParseError::Truncated)
        );
        let mut b = icmp_of(&ECHO_REQUEST_FRAME).to_vec();
        b[20] ^= 0xff;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(Repr::parse(&p, true), Err(ParseError::BadChecksum));
        assert!(Repr::parse(&p, false).is_ok());
    }

    #[test]
    fn getters_setters() {
        let mut b = [0u8; 12];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_msg_type(Message::REDIRECT);
        p.set_msg_code(redirect::HOST);
        p.set_gateway(Ipv4Addr::new(10, 0, 0, 254));
        p.data_mut().copy_from_slice(&[1, 2, 3, 4]);
        p.fill_checksum();
        assert_eq!(p.gateway(), Ipv4Addr::new(10, 0, 0, 254));
        assert!(p.verify_checksum());
        p.set_pointer(9);
        assert_eq!(p.pointer(), 9);
        p.set_next_hop_mtu(1400);
        assert_eq!(p.next_hop_mtu(), 1400);
        p.set_echo_ident(7);
        p.set_echo_seq_no(8);
        assert_eq!((p.echo_ident(), p.echo_seq_no()), (7, 8));
        assert_eq!(p.rest_of_header(), 0x0007_0008);
        assert!(!Message::ECHO_REQUEST.is_error() && Message::SOURCE_QUENCH.is_error());
        for t in 0..=255u8 {
            assert_eq!(Message(t).is_error(), [3, 4, 5, 11, 12].contains(&t));
        }
    }

    #[test]
    fn param_problem_codes() {
        let repr = Repr::ParamProblem {
            pointer: 22,
            data: &[0x45; 28],
        };
        let mut b = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut b[..]));
        assert_eq!(&b[..8], &[12, 0, b[2], b[3], 22, 0, 0, 0]);
        assert_eq!(
            Repr::parse(&Packet::new_checked(&b[..]).unwrap(), true),
            Ok(repr)
        );
        b[1] = param_problem::BAD_LENGTH;
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(matches!(
            Repr::parse(&p, false),
            Ok(Repr::Other {
                msg_type: Message::PARAM_PROBLEM,
                code: 2,
                ..
            })
        ));
    }

    static DATA: [u8; 33] = [0x5a; 33];

    fn arb_repr() -> impl Strategy<Value = Repr<'static>> {
        (
            0u8..7,
            any::<u16>(),
            any::<u16>(),
            any::<u8>(),
            any::<u32>(),
            13u8..=255,
            0usize..=33,
        )
            .prop_map(|(which, a, b, code, word, other_type, len)| {
                let data = &DATA[..len];
                match which {
                    0 => Repr::EchoRequest {
                        ident: a,
                        seq_no: b,
                        data,
                    },
                    1 => Repr::EchoReply {
                        ident: a,
                        seq_no: b,
                        data,
                    },
                    2 => Repr::DstUnreachable {
                        code,
                        next_hop_mtu: a,
                        data,
                    },
                    3 => Repr::TimeExceeded { code, data },
                    4 => Repr::Redirect {
                        code,
                        gateway: Ipv4Addr::from(word),
                        data,
                    },
                    5 => Repr::ParamProblem {
                        pointer: code,
                        data,
                    },
                    _ => Repr::Other {
                        msg_type: Message(if other_type == 0xff { 9 } else { other_type }),
                        code,
                        rest_of_header: word,
                        data,
                    },
                }
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..48)) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = (p.msg_type(), p.msg_code(), p.checksum(), p.echo_ident(), p.gateway());
                let _ = (p.next_hop_mtu(), p.pointer(), p.data(), p.verify_checksum());
                let _ = Repr::parse(&p, true);
                let _ = Repr::parse(&p, false);
            }
        }

        #[test]
        fn round_trip(repr in arb_repr()) {
            let mut buf = vec![0u8; repr.buffer_len()];
            repr.emit(&mut Packet::new_unchecked(&mut buf[..]));
            let p = Packet::new_checked(&buf[..]).unwrap();
            prop_assert!(p.verify_checksum());
            prop_assert_eq!(Repr::parse(&p, true).unwrap(), repr);
        }
    }
}

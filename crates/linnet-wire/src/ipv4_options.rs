//! IPv4 header options: validation, iteration and building.
//!
//! [`Options::parse`] validates an options area exactly as Linux's `__ip_options_compile`
//! does on the *receive* path (`skb != NULL`): every error yields
//! [`ParseError::BadOption`] whose `pointer` is the offset from the start of the IP header
//! that the kernel puts into the ICMP Parameter Problem it sends. Options Linux accepts
//! without interpreting (Security, Stream ID, unknown kinds, timestamp flag values other than
//! 0/1/3) are accepted here too; CIPSO (134) is only checked for duplicates, its DOI-specific
//! contents are not validated. The checks done later on the receive path (source-route
//! handling in `ip_options_rcv_srr`, router-alert delivery) are left to the caller.
//!
//! Linux: include/uapi/linux/ip.h (IPOPT_*), include/net/inet_sock.h (struct ip_options),
//! net/ipv4/ip_options.c (`__ip_options_compile`).
//!
//! RFCs: RFC 791 §3.1 (options), RFC 1108 (security), RFC 2113 (router alert),
//! RFC 7126 (filtering recommendations).

use crate::error::{ParseError, Result};
use crate::ipv4::HEADER_LEN;

/// Option kinds (`IPOPT_*`, copy/class bits included).
pub mod kind {
    /// IPOPT_END.
    pub const END: u8 = 0;
    /// IPOPT_NOOP.
    pub const NOOP: u8 = 1;
    /// IPOPT_RR.
    pub const RR: u8 = 7;
    /// IPOPT_TIMESTAMP.
    pub const TIMESTAMP: u8 = 68;
    /// IPOPT_SEC.
    pub const SEC: u8 = 130;
    /// IPOPT_LSRR.
    pub const LSRR: u8 = 131;
    /// IPOPT_CIPSO.
    pub const CIPSO: u8 = 134;
    /// IPOPT_SID.
    pub const SID: u8 = 136;
    /// IPOPT_SSRR.
    pub const SSRR: u8 = 137;
    /// IPOPT_RA.
    pub const RA: u8 = 148;
}

/// Timestamp option flag values (`IPOPT_TS_*`).
pub mod ts_flags {
    /// IPOPT_TS_TSONLY: timestamps only.
    pub const TSONLY: u8 = 0;
    /// IPOPT_TS_TSANDADDR: address + timestamp pairs.
    pub const TSANDADDR: u8 = 1;
    /// IPOPT_TS_PRESPEC: prespecified addresses.
    pub const PRESPEC: u8 = 3;
}

/// One IPv4 option, borrowing its variable part from the header.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum IpOption<'a> {
    /// End of option list (kind 0).
    EndOfList,
    /// No operation (kind 1).
    Nop,
    /// Record route (kind 7); `data` is the route data after the pointer byte.
    RecordRoute {
        /// The pointer byte (1-based offset within the option of the next free slot).
        pointer: u8,
        /// Route data (bytes 3.. of the option).
        data: &'a [u8],
    },
    /// Internet timestamp (kind 68); `data` follows the overflow/flags byte.
    Timestamp {
        /// The pointer byte (1-based, minimum 5).
        pointer: u8,
        /// Overflow counter (upper nibble of byte 3).
        overflow: u8,
        /// Flags (lower nibble of byte 3).
        flags: u8,
        /// Timestamp data (bytes 4.. of the option).
        data: &'a [u8],
    },
    /// Router alert (kind 148).
    RouterAlert {
        /// The 16-bit value (0 = "examine packet").
        value: u16,
    },
    /// Basic security option (kind 130); the bytes after the length byte.
    Security(&'a [u8]),
    /// Loose source and record route (kind 131).
    LooseSourceRoute {
        /// The pointer byte.
        pointer: u8,
        /// Route data (bytes 3.. of the option).
        data: &'a [u8],
    },
    /// Strict source and record route (kind 137).
    StrictSourceRoute {
        /// The pointer byte.
        pointer: u8,
        /// Route data (bytes 3.. of the option).
        data: &'a [u8],
    },
    /// Any other option; `data` is everything after the length byte.
    Unknown {
        /// Option kind.
        kind: u8,
        /// Bytes 2.. of the option.
        data: &'a [u8],
    },
}

impl<'a> IpOption<'a> {
    /// Decode one option of `opt` (which must start at the option; it may extend past it).
    /// Returns the option and its length, or `None` if malformed or truncated.
    fn decode(opt: &'a [u8]) -> Option<(IpOption<'a>, usize)> {
        let k = *opt.first()?;
        match k {
            kind::END => return Some((IpOption::EndOfList, 1)),
            kind::NOOP => return Some((IpOption::Nop, 1)),
            _ => {}
        }
        let len = usize::from(*opt.get(1)?);
        if len < 2 {
            return None;
        }
        let o = opt.get(..len)?;
        let option = match k {
            kind::RR | kind::LSRR | kind::SSRR if len >= 3 => {
                let (pointer, data) = (o[2], &o[3..]);
                match k {
                    kind::RR => IpOption::RecordRoute { pointer, data },
                    kind::LSRR => IpOption::LooseSourceRoute { pointer, data },
                    _ => IpOption::StrictSourceRoute { pointer, data },
                }
            }
            kind::TIMESTAMP if len >= 4 => IpOption::Timestamp {
                pointer: o[2],
                overflow: o[3] >> 4,
                flags: o[3] & 0x0f,
                data: &o[4..],
            },
            kind::RA if len >= 4 => IpOption::RouterAlert {
                value: u16::from_be_bytes([o[2], o[3]]),
            },
            kind::SEC => IpOption::Security(&o[2..]),
            _ => IpOption::Unknown {
                kind: k,
                data: &o[2..],
            },
        };
        Some((option, len))
    }

    /// Encoded length in bytes.
    pub fn buffer_len(&self) -> usize {
        match self {
            IpOption::EndOfList | IpOption::Nop => 1,
            IpOption::RecordRoute { data, .. }
            | IpOption::LooseSourceRoute { data, .. }
            | IpOption::StrictSourceRoute { data, .. } => 3 + data.len(),
            IpOption::Timestamp { data, .. } => 4 + data.len(),
            IpOption::RouterAlert { .. } => 4,
            IpOption::Security(data) | IpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Encode the option at the start of `buf`, returning the number of bytes written.
    /// The length byte is `buffer_len()` truncated to `u8`.
    ///
    /// # Panics
    ///
    /// Panics if `buf` is shorter than [`IpOption::buffer_len`].
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        let with_ptr = |buf: &mut [u8], k: u8, pointer: u8, data: &[u8]| {
            buf[0] = k;
            buf[1] = len as u8;
            buf[2] = pointer;
            buf[3..].copy_from_slice(data);
        };
        match *self {
            IpOption::EndOfList => buf[0] = kind::END,
            IpOption::Nop => buf[0] = kind::NOOP,
            IpOption::RecordRoute { pointer, data } => with_ptr(buf, kind::RR, pointer, data),
            IpOption::LooseSourceRoute { pointer, data } => {
                with_ptr(buf, kind::LSRR, pointer, data)
            }
            IpOption::StrictSourceRoute { pointer, data } => {
                with_ptr(buf, kind::SSRR, pointer, data)
            }
            IpOption::Timestamp {
                pointer,
                overflow,
                flags,
                data,
            } => {
                buf[0] = kind::TIMESTAMP;
                buf[1] = len as u8;
                buf[2] = pointer;
                buf[3] = (overflow << 4) | (flags & 0x0f);
                buf[4..].copy_from_slice(data);
            }
            IpOption::RouterAlert { value } => {
                buf[0] = kind::RA;
                buf[1] = 4;
                buf[2..4].copy_from_slice(&value.to_be_bytes());
            }
            IpOption::Security(data) => {
                buf[0] = kind::SEC;
                buf[1] = len as u8;
                buf[2..].copy_from_slice(data);
            }
            IpOption::Unknown { kind: k, data } => {
                buf[0] = k;
                buf[1] = len as u8;
                buf[2..].copy_from_slice(data);
            }
        }
        len
    }
}

/// Write an empty Record Route option with `slots` four-byte address slots (pointer 4) at the
/// start of `buf`; returns its length `3 + 4 * slots`.
///
/// # Panics
///
/// Panics if `buf` is too short or `slots > 9` (the option would not fit in 40 bytes).
pub fn emit_record_route(buf: &mut [u8], slots: usize) -> usize {
    assert!(
        slots <= 9,
        "at most 9 record-route slots fit in an IPv4 header"
    );
    let len = 3 + 4 * slots;
    let buf = &mut buf[..len];
    buf.fill(0);
    buf[0] = kind::RR;
    buf[1] = len as u8;
    buf[2] = 4;
    len
}

/// A validated IPv4 options area.
///
/// Offsets returned by the `*_offset` methods count from the start of the IP header, like the
/// fields of Linux's `struct ip_options`.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Options<'a> {
    bytes: &'a [u8],
    rr: Option<u8>,
    ts: Option<u8>,
    srr: Option<u8>,
    is_strictroute: bool,
    router_alert: Option<u8>,
    cipso: Option<u8>,
}

fn hdr_offset(i: usize) -> u8 {
    u8::try_from(HEADER_LEN + i).unwrap_or(u8::MAX)
}

impl<'a> Options<'a> {
    /// Validate `bytes` (the IPv4 header bytes 20..header_len) the way `__ip_options_compile`
    /// does for a received packet. The walk stops at End-of-List; anything after it is
    /// ignored. Errors are `BadOption { pointer }` with `pointer` = offset from the start of
    /// the IP header of the offending byte.
    pub fn parse(bytes: &'a [u8]) -> Result<Options<'a>> {
        let mut o = Options {
            bytes,
            rr: None,
            ts: None,
            srr: None,
            is_strictroute: false,
            router_alert: None,
            cipso: None,
        };
        let mut i = 0;
        while i < bytes.len() {
            let k = bytes[i];
            if k == kind::END {
                break;
            }
            if k == kind::NOOP {
                i += 1;
                continue;
            }
            let err = |off: usize| {
                Err(ParseError::BadOption {
                    pointer: hdr_offset(i + off),
                })
            };
            let l = bytes.len() - i;
            if l < 2 {
                return err(0);
            }
            let optlen = usize::from(bytes[i + 1]);
            if optlen < 2 || optlen > l {
                return err(0);
            }
            let opt = &bytes[i..i + optlen];
            let here = Some(hdr_offset(i));
            match k {
                kind::SSRR | kind::LSRR => {
                    if optlen < 3 {
                        return err(1);
                    }
                    if opt[2] < 4 {
                        return err(2);
                    }
                    // RFC 1812 §5.2.4.1: at most one source route option.
                    if o.srr.is_some() {
                        return err(0);
                    }
                    o.is_strictroute = k == kind::SSRR;
                    o.srr = here;
                }
                kind::RR => {
                    if o.rr.is_some() {
                        return err(0);
                    }
                    if optlen < 3 {
                        return err(1);
                    }
                    let ptr = usize::from(opt[2]);
                    if ptr < 4 {
                        return err(2);
                    }
                    if ptr <= optlen && ptr + 3 > optlen {
                        return err(2);
                    }
                    o.rr = here;
                }
                kind::TIMESTAMP => {
                    if o.ts.is_some() {
                        return err(0);
                    }
                    if optlen < 4 {
                        return err(1);
                    }
                    let ptr = usize::from(opt[2]);
                    if ptr < 5 {
                        return err(2);
                    }
                    let flags = opt[3] & 0x0f;
                    if ptr <= optlen {
                        if ptr + 3 > optlen {
                            return err(2);
                        }
                        if (flags == ts_flags::TSANDADDR || flags == ts_flags::PRESPEC)
                            && ptr + 7 > optlen
                        {
                            return err(2);
                        }
                    } else if flags != ts_flags::PRESPEC && opt[3] >> 4 == 15 {
                        // Full, and the overflow counter cannot be incremented.
                        return err(3);
                    }
                    o.ts = here;
                }
                kind::RA => {
                    if optlen < 4 {
                        return err(1);
                    }
                    if o.router_alert.is_none() {
                        o.router_alert = here;
                    }
                }
                kind::CIPSO => {
                    if o.cipso.is_some() {
                        return err(0);
                    }
                    o.cipso = here;
                }
                _ => {}
            }
            i += optlen;
        }
        Ok(o)
    }

    /// The raw options area given to [`Options::parse`] (including anything after EOL).
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    /// Iterate over the options up to and including End-of-List. Never panics; stops at the
    /// first malformed option (which `parse` has already excluded).
    pub fn iter(&self) -> OptionsIter<'a> {
        OptionsIter {
            rest: self.bytes,
            done: false,
        }
    }

    fn option_at(&self, offset: Option<u8>) -> Option<IpOption<'a>> {
        let start = usize::from(offset?).checked_sub(HEADER_LEN)?;
        IpOption::decode(self.bytes.get(start..)?).map(|(opt, _)| opt)
    }

    /// Value of the first Router Alert option, if any (Linux only acts on value 0).
    pub fn router_alert(&self) -> Option<u16> {
        match self.option_at(self.router_alert)? {
            IpOption::RouterAlert { value } => Some(value),
            _ => None,
        }
    }

    /// The Record Route option as `(pointer, route data)`.
    pub fn record_route(&self) -> Option<(u8, &'a [u8])> {
        match self.option_at(self.rr)? {
            IpOption::RecordRoute { pointer, data } => Some((pointer, data)),
            _ => None,
        }
    }

    /// The source route option as `(strict, pointer, route data)`.
    pub fn source_route(&self) -> Option<(bool, u8, &'a [u8])> {
        match self.option_at(self.srr)? {
            IpOption::LooseSourceRoute { pointer, data } => Some((false, pointer, data)),
            IpOption::StrictSourceRoute { pointer, data } => Some((true, pointer, data)),
            _ => None,
        }
    }

    /// The Timestamp option (an [`IpOption::Timestamp`]).
    pub fn timestamp(&self) -> Option<IpOption<'a>> {
        self.option_at(self.ts)
    }

    /// Offset of the Record Route option from the IP header start (`opt->rr`).
    pub fn rr_offset(&self) -> Option<u8> {
        self.rr
    }

    /// Offset of the Timestamp option (`opt->ts`).
    pub fn ts_offset(&self) -> Option<u8> {
        self.ts
    }

    /// Offset of the LSRR/SSRR option (`opt->srr`).
    pub fn srr_offset(&self) -> Option<u8> {
        self.srr
    }

    /// Whether the source route is strict (`opt->is_strictroute`).
    pub fn is_strict_route(&self) -> bool {
        self.is_strictroute
    }

    /// Offset of the first Router Alert option, whatever its value.
    pub fn router_alert_offset(&self) -> Option<u8> {
        self.router_alert
    }

    /// Offset of the CIPSO option (`opt->cipso`).
    pub fn cipso_offset(&self) -> Option<u8> {
        self.cipso
    }
}

impl<'a> IntoIterator for &Options<'a> {
    type Item = IpOption<'a>;
    type IntoIter = OptionsIter<'a>;

    fn into_iter(self) -> OptionsIter<'a> {
        self.iter()
    }
}

/// Iterator over [`IpOption`]s, see [`Options::iter`].
#[derive(Clone, Debug)]
pub struct OptionsIter<'a> {
    rest: &'a [u8],
    done: bool,
}

impl<'a> Iterator for OptionsIter<'a> {
    type Item = IpOption<'a>;

    fn next(&mut self) -> Option<IpOption<'a>> {
        if self.done {
            return None;
        }
        match IpOption::decode(self.rest) {
            Some((opt, len)) => {
                self.rest = &self.rest[len..];
                if opt == IpOption::EndOfList {
                    self.done = true;
                }
                Some(opt)
            }
            None => {
                self.done = true;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::ipv4::Packet;
    use proptest::prelude::*;
    use std::vec::Vec;

    fn options_of(frame: &[u8]) -> &[u8] {
        let hl = usize::from(Packet::new_checked(&frame[14..]).unwrap().header_len());
        &frame[14 + 20..14 + hl]
    }

    fn bad(pointer: u8) -> Result<()> {
        Err(ParseError::BadOption { pointer })
    }

    fn check(bytes: &[u8]) -> Result<()> {
        Options::parse(bytes).map(|_| ())
    }

    #[test]
    fn captured_record_route() {
        // Request: NOP, RR len 39 ptr 8 with 10.77.0.1 recorded.
        let o = Options::parse(options_of(&RR_REQUEST_FRAME)).unwrap();
        assert_eq!(o.rr_offset(), Some(21));
        let (ptr, data) = o.record_route().unwrap();
        assert_eq!(ptr, 8);
        assert_eq!(data.len(), 36);
        assert_eq!(&data[..4], &[10, 77, 0, 1]);
        let items: Vec<_> = o.iter().collect();
        assert_eq!(items.len(), 2);
        assert_eq!(items[0], IpOption::Nop);
        // Rebuild the area from the iterator and compare.
        let mut out = [0u8; 40];
        let mut n = 0;
        for opt in &o {
            n += opt.emit(&mut out[n..]);
        }
        assert_eq!(n, 40);
        assert_eq!(&out[..], options_of(&RR_REQUEST_FRAME));

        // Reply: RR len 39 ptr 16 (10.77.0.1, 10.77.0.2, 10.77.0.2), then EOL.
        let o = Options::parse(options_of(&RR_REPLY_FRAME)).unwrap();
        assert_eq!(o.rr_offset(), Some(20));
        assert_eq!(o.record_route().unwrap().0, 16);
        let items: Vec<_> = o.iter().collect();
        assert_eq!(items.last(), Some(&IpOption::EndOfList));
        assert_eq!(o.router_alert(), None);
        assert_eq!(o.source_route(), None);
    }

    #[test]
    fn captured_timestamp() {
        // TS len 40, ptr 9, flags 0 (TSONLY), first stamp 1747405 ms.
        let o = Options::parse(options_of(&TS_REQUEST_FRAME)).unwrap();
        match o.timestamp().unwrap() {
            IpOption::Timestamp {
                pointer,
                overflow,
                flags,
                data,
            } => {
                assert_eq!((pointer, overflow, flags, data.len()), (9, 0, 0, 36));
                assert_eq!(
                    u32::from_be_bytes([data[0], data[1], data[2], data[3]]),
                    1_747_405
                );
            }
            other => panic!("{other:?}"),
        }
        let o = Options::parse(options_of(&TS_REPLY_FRAME)).unwrap();
        assert_eq!(o.ts_offset(), Some(20));
        match o.timestamp().unwrap() {
            IpOption::Timestamp { pointer, .. } => assert_eq!(pointer, 17),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn linux_error_pointers() {
        // Length byte missing: points at the option.
        assert_eq!(check(&[1, 1, 1, 7]), bad(23));
        // optlen < 2 or > remaining.
        assert_eq!(check(&[7, 1, 4, 0]), bad(20));
        assert_eq!(check(&[1, 7, 8, 4, 0]), bad(21));
        // RR: optlen < 3 -> length byte; pointer < 4 -> pointer byte.
        assert_eq!(check(&[7, 2, 0, 0]), bad(21));
        assert_eq!(check(&[7, 7, 3, 0, 0, 0, 0, 0]), bad(22));
        // RR: pointer inside but no room for an address.
        assert_eq!(check(&[7, 7, 5, 0, 0, 0, 0, 0]), bad(22));
        // RR full (pointer > optlen) is fine.
        assert!(check(&[7, 7, 8, 0, 0, 0, 0]).is_ok());
        assert!(check(&[7, 7, 8, 1, 2, 3, 4, 0]).is_ok());
        // Duplicate RR points at the second option.
        assert_eq!(check(&[7, 3, 4, 7, 3, 4, 0, 0]), bad(23));
        // SRR.
        assert_eq!(check(&[131, 2, 0, 0]), bad(21));
        assert_eq!(check(&[131, 3, 3, 0]), bad(22));
        assert_eq!(check(&[131, 3, 4, 137, 3, 4, 0, 0]), bad(23));
        // Timestamp.
        assert_eq!(check(&[68, 3, 5, 0]), bad(21));
        assert_eq!(check(&[68, 4, 4, 0]), bad(22));
        assert_eq!(check(&[68, 8, 6, 0, 0, 0, 0, 0]), bad(22)); // ptr+3 > optlen
        assert_eq!(check(&[68, 8, 5, 1, 0, 0, 0, 0]), bad(22)); // TS+ADDR needs 8
        assert!(check(&[68, 12, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0]).is_ok());
        assert!(check(&[68, 8, 5, 0, 0, 0, 0, 0]).is_ok());
        assert!(check(&[68, 8, 5, 2, 0, 0, 0, 0]).is_ok()); // unknown flags: accepted (rx)
        assert_eq!(check(&[68, 4, 5, 0xf0]), bad(23)); // full and overflow saturated
        assert!(check(&[68, 4, 5, 0xe0]).is_ok());
        assert!(check(&[68, 4, 5, 0xf3]).is_ok()); // prespec: no overflow check
        assert_eq!(check(&[68, 4, 5, 0, 68, 4, 5, 0]), bad(24));
        // Router alert.
        assert_eq!(check(&[148, 3, 0, 0]), bad(21));
        let o = Options::parse(&[148, 4, 0, 0]).unwrap();
        assert_eq!(
            (o.router_alert(), o.router_alert_offset()),
            (Some(0), Some(20))
        );
        assert_eq!(
            Options::parse(&[148, 4, 0, 1]).unwrap().router_alert(),
            Some(1)
        );
        // Unknown, security, stream id: accepted.
        assert!(check(&[130, 11, 0, 0, 0, 0, 0, 0, 0, 0, 0, 136, 4, 0, 1, 99, 2, 0, 0]).is_ok());
        // CIPSO duplicate.
        assert_eq!(check(&[134, 2, 134, 2]), bad(22));
        // EOL ends the walk; garbage afterwards is ignored.
        assert!(check(&[0, 7, 0xff]).is_ok());
        assert!(check(&[]).is_ok());
    }

    #[test]
    fn source_route_and_iteration() {
        let bytes = [1, 131, 7, 4, 192, 0, 2, 1, 0];
        let o = Options::parse(&bytes).unwrap();
        assert_eq!(o.srr_offset(), Some(21));
        assert!(!o.is_strict_route());
        assert_eq!(o.source_route(), Some((false, 4, &[192, 0, 2, 1][..])));
        let v: Vec<_> = o.iter().collect();
        assert_eq!(
            v,
            [
                IpOption::Nop,
                IpOption::LooseSourceRoute {
                    pointer: 4,
                    data: &[192, 0, 2, 1]
                },
                IpOption::EndOfList
            ]
        );
        let o = Options::parse(&[137, 3, 4, 0]).unwrap();
        assert!(o.is_strict_route());
    }

    #[test]
    fn builders() {
        let mut buf = [0xaau8; 40];
        assert_eq!(emit_record_route(&mut buf, 9), 39);
        let o = Options::parse(&buf[..39]).unwrap();
        assert_eq!(o.record_route(), Some((4, &[0u8; 36][..])));
        let mut buf = [0u8; 8];
        let ra = IpOption::RouterAlert { value: 0 };
        assert_eq!(ra.emit(&mut buf), 4);
        assert_eq!(&buf[..4], &[148, 4, 0, 0]);
    }

    fn arb_option() -> impl Strategy<Value = (u8, Vec<u8>, u8, u8)> {
        (
            0u8..8,
            proptest::collection::vec(any::<u8>(), 0..5),
            any::<u8>(),
            any::<u8>(),
        )
    }

    /// Build a sequence of well-formed options (at most one of each non-NOP kind).
    fn build_valid(opts: &[(u8, Vec<u8>, u8, u8)]) -> Vec<u8> {
        let mut built = Vec::new();
        let mut seen = [false; 8];
        for (k, data, a, b) in opts {
            let k = usize::from(*k);
            if seen[k] && k >= 1 {
                continue;
            }
            seen[k] = true;
            // 0, 4 or 8 bytes of address/timestamp slots.
            let words: Vec<u8> = data
                .iter()
                .copied()
                .chain(core::iter::repeat(0))
                .take(4 * (data.len() / 2))
                .collect();
            // Pointer at the first slot, or just past the last one (option full).
            let rr_ptr = if a % 2 == 0 { 4 } else { 4 + words.len() as u8 };
            let opt = match k {
                1 => IpOption::Security(data),
                2 => IpOption::RecordRoute {
                    pointer: rr_ptr,
                    data: &words,
                },
                3 => IpOption::Timestamp {
                    pointer: 5,
                    overflow: a & 0x0e,
                    flags: 0,
                    data: &words,
                },
                4 => IpOption::RouterAlert {
                    value: u16::from(*b),
                },
                5 => IpOption::LooseSourceRoute {
                    pointer: 4,
                    data: &words,
                },
                6 => IpOption::Unknown { kind: 25, data },
                _ => IpOption::Nop,
            };
            let mut tmp = [0u8; 64];
            let n = opt.emit(&mut tmp);
            built.extend_from_slice(&tmp[..n]);
        }
        built
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..44)) {
            if let Ok(o) = Options::parse(&data) {
                for opt in o.iter() {
                    let _ = opt.buffer_len();
                }
                let _ = (o.router_alert(), o.record_route(), o.source_route(), o.timestamp());
            } else if let Err(e) = Options::parse(&data) {
                match e {
                    ParseError::BadOption { pointer } => {
                        prop_assert!(usize::from(pointer) >= 20);
                        prop_assert!(usize::from(pointer) < 20 + data.len());
                    }
                    other => prop_assert!(false, "{:?}", other),
                }
            }
        }

        #[test]
        fn valid_options_round_trip(opts in proptest::collection::vec(arb_option(), 0..4)) {
            let built = build_valid(&opts);
            prop_assume!(built.len() <= 40);
            let parsed = Options::parse(&built);
            prop_assert!(parsed.is_ok(), "{:?} {:?}", built, parsed);
            let mut again = Vec::new();
            for opt in parsed.unwrap().iter() {
                let mut tmp = [0u8; 64];
                let n = opt.emit(&mut tmp);
                again.extend_from_slice(&tmp[..n]);
            }
            prop_assert_eq!(again, built);
        }
    }
}

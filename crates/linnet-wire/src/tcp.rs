//! TCP segments (RFC 9293): sequence-number arithmetic, a zero-copy [`Packet`] view, option
//! parsing/emission and a high-level [`Repr`].
//!
//! Option parsing follows Linux's `tcp_parse_options`: a malformed length (missing, < 2 or
//! longer than what is left) stops the walk; a known option with the wrong length is skipped
//! (reported as [`TcpOption::Unknown`]). Which options are honoured on which segments (MSS
//! and window scale only on SYN, the window-scale clamp to 14, sysctl switches) is the
//! caller's business. Options are emitted in the layout of Linux's `tcp_options_write`.
//!
//! Linux: include/uapi/linux/tcp.h (struct tcphdr, TCPOPT_*), include/net/tcp.h (before/after,
//! TCPOLEN_*), net/ipv4/tcp_input.c (tcp_parse_options), net/ipv4/tcp_output.c
//! (tcp_options_write).
//!
//! RFCs: RFC 9293 (TCP), RFC 7323 (window scale, timestamps), RFC 2018 (SACK),
//! RFC 1982 (serial number arithmetic), RFC 3168 (ECE/CWR).

use core::fmt;
use core::net::Ipv4Addr;
use core::ops;

use crate::be;
use crate::checksum;
use crate::error::{ParseError, Result};
use crate::ipv4::Protocol;

/// Length of a TCP header without options.
pub const HEADER_LEN: usize = 20;

/// Largest options area (data offset 15).
pub const MAX_OPTIONS_LEN: usize = 40;

/// A TCP sequence number with wrapping (serial number) arithmetic.
///
/// Deliberately not `Ord`: sequence space is circular. Use [`SeqNumber::before`],
/// [`SeqNumber::after`] and friends, which match Linux's `before()`/`after()` macros.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug, Default)]
pub struct SeqNumber(pub u32);

impl SeqNumber {
    /// Signed distance `self - other`, wrapping (`(s32)(self - other)` in Linux).
    pub const fn diff(self, other: SeqNumber) -> i32 {
        self.0.wrapping_sub(other.0) as i32
    }

    /// `self` is strictly earlier than `other` (Linux `before(self, other)`).
    pub const fn before(self, other: SeqNumber) -> bool {
        self.diff(other) < 0
    }

    /// `self` is strictly later than `other` (Linux `after(self, other)`).
    pub const fn after(self, other: SeqNumber) -> bool {
        other.diff(self) < 0
    }

    /// `!after(self, other)`.
    pub const fn before_eq(self, other: SeqNumber) -> bool {
        !self.after(other)
    }

    /// `!before(self, other)`.
    pub const fn after_eq(self, other: SeqNumber) -> bool {
        !self.before(other)
    }

    /// `low <= self <= high` in sequence space (Linux `between(self, low, high)`).
    pub const fn between(self, low: SeqNumber, high: SeqNumber) -> bool {
        high.0.wrapping_sub(low.0) >= self.0.wrapping_sub(low.0)
    }
}

impl ops::Add<usize> for SeqNumber {
    type Output = SeqNumber;

    /// Wrapping add; `rhs` is taken modulo 2^32.
    fn add(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_add(rhs as u32))
    }
}

impl ops::Sub<usize> for SeqNumber {
    type Output = SeqNumber;

    /// Wrapping subtract; `rhs` is taken modulo 2^32.
    fn sub(self, rhs: usize) -> SeqNumber {
        SeqNumber(self.0.wrapping_sub(rhs as u32))
    }
}

impl ops::AddAssign<usize> for SeqNumber {
    fn add_assign(&mut self, rhs: usize) {
        *self = *self + rhs;
    }
}

impl ops::SubAssign<usize> for SeqNumber {
    fn sub_assign(&mut self, rhs: usize) {
        *self = *self - rhs;
    }
}

impl ops::Sub<SeqNumber> for SeqNumber {
    type Output = i32;

    /// Same as [`SeqNumber::diff`].
    fn sub(self, rhs: SeqNumber) -> i32 {
        self.diff(rhs)
    }
}

impl fmt::Display for SeqNumber {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Option kinds (`TCPOPT_*`).
pub mod kind {
    /// End of option list.
    pub const EOL: u8 = 0;
    /// Padding.
    pub const NOP: u8 = 1;
    /// Maximum segment size.
    pub const MSS: u8 = 2;
    /// Window scale.
    pub const WINDOW: u8 = 3;
    /// SACK permitted.
    pub const SACK_PERM: u8 = 4;
    /// SACK blocks.
    pub const SACK: u8 = 5;
    /// Timestamps.
    pub const TIMESTAMP: u8 = 8;
}

mod field {
    pub(super) const SRC_PORT: usize = 0;
    pub(super) const DST_PORT: usize = 2;
    pub(super) const SEQ: usize = 4;
    pub(super) const ACK: usize = 8;
    pub(super) const DOFF: usize = 12;
    pub(super) const FLAGS: usize = 13;
    pub(super) const WINDOW: usize = 14;
    pub(super) const CHECKSUM: usize = 16;
    pub(super) const URGENT: usize = 18;
}

const FIN: u8 = 0x01;
const SYN: u8 = 0x02;
const RST: u8 = 0x04;
const PSH: u8 = 0x08;
const ACK: u8 = 0x10;
const URG: u8 = 0x20;
const ECE: u8 = 0x40;
const CWR: u8 = 0x80;

/// A zero-copy view of a TCP segment (the whole IP payload).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet<T: AsRef<[u8]>> {
    buffer: T,
}

macro_rules! flag_accessors {
    ($($get:ident, $set:ident, $bit:expr, $doc:literal;)*) => {
        impl<T: AsRef<[u8]>> Packet<T> {
            $(
                #[doc = $doc]
                pub fn $get(&self) -> bool {
                    self.flags_byte() & $bit != 0
                }
            )*
        }
        impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
            $(
                #[doc = $doc]
                pub fn $set(&mut self, value: bool) {
                    let b = &mut self.buffer.as_mut()[field::FLAGS];
                    if value { *b |= $bit } else { *b &= !$bit }
                }
            )*
        }
    };
}

flag_accessors! {
    fin, set_fin, FIN, "FIN flag.";
    syn, set_syn, SYN, "SYN flag.";
    rst, set_rst, RST, "RST flag.";
    psh, set_psh, PSH, "PSH flag.";
    ack, set_ack, ACK, "ACK flag.";
    urg, set_urg, URG, "URG flag.";
    ece, set_ece, ECE, "ECE flag (RFC 3168).";
    cwr, set_cwr, CWR, "CWR flag (RFC 3168).";
}

impl<T: AsRef<[u8]>> Packet<T> {
    /// Wrap a buffer without checking it; fixed-header getters panic if it is shorter than
    /// 20 bytes (`options`/`payload` clamp instead).
    pub const fn new_unchecked(buffer: T) -> Packet<T> {
        Packet { buffer }
    }

    /// Wrap a buffer and run [`Packet::check_len`].
    pub fn new_checked(buffer: T) -> Result<Packet<T>> {
        let p = Self::new_unchecked(buffer);
        p.check_len()?;
        Ok(p)
    }

    /// `Truncated` if shorter than 20 bytes; `BadHeaderLen` if the data offset is below 5 or
    /// the header is longer than the buffer.
    pub fn check_len(&self) -> Result<()> {
        let len = self.buffer.as_ref().len();
        if len < HEADER_LEN {
            return Err(ParseError::Truncated);
        }
        let hl = usize::from(self.header_len());
        if hl < HEADER_LEN || hl > len {
            return Err(ParseError::BadHeaderLen);
        }
        Ok(())
    }

    /// Give back the underlying buffer.
    pub fn into_inner(self) -> T {
        self.buffer
    }

    /// Source port.
    pub fn src_port(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), field::SRC_PORT)
    }

    /// Destination port.
    pub fn dst_port(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), field::DST_PORT)
    }

    /// Sequence number.
    pub fn seq_number(&self) -> SeqNumber {
        SeqNumber(be::get_u32(self.buffer.as_ref(), field::SEQ))
    }

    /// Acknowledgment number (meaningful only if [`Packet::ack`]).
    pub fn ack_number(&self) -> SeqNumber {
        SeqNumber(be::get_u32(self.buffer.as_ref(), field::ACK))
    }

    /// Header length in bytes (data offset × 4).
    pub fn header_len(&self) -> u8 {
        (self.buffer.as_ref()[field::DOFF] >> 4) * 4
    }

    /// The flags byte (CWR ECE URG ACK PSH RST SYN FIN).
    pub fn flags_byte(&self) -> u8 {
        self.buffer.as_ref()[field::FLAGS]
    }

    /// Window field (unscaled).
    pub fn window_len(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), field::WINDOW)
    }

    /// Checksum field.
    pub fn checksum(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), field::CHECKSUM)
    }

    /// Urgent pointer field.
    pub fn urgent_at(&self) -> u16 {
        be::get_u16(self.buffer.as_ref(), field::URGENT)
    }

    fn header_end(&self) -> usize {
        usize::from(self.header_len()).min(self.buffer.as_ref().len())
    }

    /// Bytes 20..header_len (clamped to the buffer).
    pub fn options(&self) -> &[u8] {
        let end = self.header_end();
        &self.buffer.as_ref()[HEADER_LEN.min(end)..end]
    }

    /// Bytes header_len.. (clamped to the buffer).
    pub fn payload(&self) -> &[u8] {
        &self.buffer.as_ref()[self.header_end()..]
    }

    fn compute_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> u16 {
        let data = self.buffer.as_ref();
        // The TCP length is whatever the IP layer hands over; it fits in 16 bits for IPv4.
        let pseudo = checksum::pseudo_header_v4(src, dst, Protocol::TCP.0, data.len() as u16);
        !checksum::fold(checksum::combine(pseudo, checksum::sum(data)))
    }

    /// Whether the checksum over the whole buffer, with the IPv4 pseudo-header, is valid.
    pub fn verify_checksum_v4(&self, src: Ipv4Addr, dst: Ipv4Addr) -> bool {
        self.compute_checksum_v4(src, dst) == 0
    }
}

impl<T: AsRef<[u8]> + AsMut<[u8]>> Packet<T> {
    /// Set the source port.
    pub fn set_src_port(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), field::SRC_PORT, value);
    }

    /// Set the destination port.
    pub fn set_dst_port(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), field::DST_PORT, value);
    }

    /// Set the sequence number.
    pub fn set_seq_number(&mut self, value: SeqNumber) {
        be::set_u32(self.buffer.as_mut(), field::SEQ, value.0);
    }

    /// Set the acknowledgment number.
    pub fn set_ack_number(&mut self, value: SeqNumber) {
        be::set_u32(self.buffer.as_mut(), field::ACK, value.0);
    }

    /// Set the header length in bytes (stored as bytes / 4; the reserved bits are cleared).
    pub fn set_header_len(&mut self, value: u8) {
        self.buffer.as_mut()[field::DOFF] = (value / 4) << 4;
    }

    /// Set the whole flags byte.
    pub fn set_flags_byte(&mut self, value: u8) {
        self.buffer.as_mut()[field::FLAGS] = value;
    }

    /// Set the window field.
    pub fn set_window_len(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), field::WINDOW, value);
    }

    /// Set the checksum field.
    pub fn set_checksum(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), field::CHECKSUM, value);
    }

    /// Set the urgent pointer.
    pub fn set_urgent_at(&mut self, value: u16) {
        be::set_u16(self.buffer.as_mut(), field::URGENT, value);
    }

    /// Mutable bytes 20..header_len (clamped to the buffer).
    pub fn options_mut(&mut self) -> &mut [u8] {
        let end = self.header_end();
        &mut self.buffer.as_mut()[HEADER_LEN.min(end)..end]
    }

    /// Mutable bytes header_len.. (clamped to the buffer).
    pub fn payload_mut(&mut self) -> &mut [u8] {
        let start = self.header_end();
        &mut self.buffer.as_mut()[start..]
    }

    /// Compute and store the checksum over the whole buffer with the IPv4 pseudo-header.
    pub fn fill_checksum_v4(&mut self, src: Ipv4Addr, dst: Ipv4Addr) {
        self.set_checksum(0);
        let c = self.compute_checksum_v4(src, dst);
        self.set_checksum(c);
    }
}

impl<T: AsRef<[u8]>> AsRef<[u8]> for Packet<T> {
    fn as_ref(&self) -> &[u8] {
        self.buffer.as_ref()
    }
}

/// One TCP option.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum TcpOption<'a> {
    /// Kind 0; parsing should stop here.
    EndOfList,
    /// Kind 1.
    NoOperation,
    /// Kind 2, length 4.
    MaxSegmentSize(u16),
    /// Kind 3, length 3: the raw shift count (not clamped to 14).
    WindowScale(u8),
    /// Kind 4, length 2.
    SackPermitted,
    /// Kind 5, length 2 + 8n with n in 1..=4: `(left edge, right edge)` blocks, in order.
    SackRange([Option<(u32, u32)>; 4]),
    /// Kind 8, length 10.
    Timestamps {
        /// TSval.
        tsval: u32,
        /// TSecr.
        tsecr: u32,
    },
    /// Any other kind, or a known kind with a length Linux would ignore.
    Unknown {
        /// Option kind.
        kind: u8,
        /// Bytes after the length byte.
        data: &'a [u8],
    },
}

/// Parse one option at the start of `buf`, returning the rest of the buffer and the option.
///
/// Errors (which, as in Linux, should end option processing): `Truncated` if `buf` is empty,
/// has a kind byte but no length byte, or the length runs past the end; `BadLength` if the
/// length byte is below 2.
pub fn parse_option(buf: &[u8]) -> Result<(&[u8], TcpOption<'_>)> {
    let k = *buf.first().ok_or(ParseError::Truncated)?;
    match k {
        kind::EOL => return Ok((&buf[1..], TcpOption::EndOfList)),
        kind::NOP => return Ok((&buf[1..], TcpOption::NoOperation)),
        _ => {}
    }
    let len = usize::from(*buf.get(1).ok_or(ParseError::Truncated)?);
    if len < 2 {
        return Err(ParseError::BadLength);
    }
    let opt = buf.get(..len).ok_or(ParseError::Truncated)?;
    let rest = &buf[len..];
    let option = match (k, len) {
        (kind::MSS, 4) => TcpOption::MaxSegmentSize(be::get_u16(opt, 2)),
        (kind::WINDOW, 3) => TcpOption::WindowScale(opt[2]),
        (kind::SACK_PERM, 2) => TcpOption::SackPermitted,
        (kind::TIMESTAMP, 10) => TcpOption::Timestamps {
            tsval: be::get_u32(opt, 2),
            tsecr: be::get_u32(opt, 6),
        },
        (kind::SACK, 10 | 18 | 26 | 34) => {
            let mut blocks = [None; 4];
            for (i, block) in opt[2..].chunks_exact(8).enumerate() {
                blocks[i] = Some((be::get_u32(block, 0), be::get_u32(block, 4)));
            }
            TcpOption::SackRange(blocks)
        }
        _ => TcpOption::Unknown {
            kind: k,
            data: &opt[2..],
        },
    };
    Ok((rest, option))
}

impl TcpOption<'_> {
    /// Encoded length in bytes.
    pub fn buffer_len(&self) -> usize {
        match self {
            TcpOption::EndOfList | TcpOption::NoOperation => 1,
            TcpOption::MaxSegmentSize(_) => 4,
            TcpOption::WindowScale(_) => 3,
            TcpOption::SackPermitted => 2,
            TcpOption::SackRange(blocks) => 2 + 8 * blocks.iter().flatten().count(),
            TcpOption::Timestamps { .. } => 10,
            TcpOption::Unknown { data, .. } => 2 + data.len(),
        }
    }

    /// Encode at the start of `buf`, returning the bytes written. `SackRange` writes its
    /// `Some` blocks in order; `Unknown` writes `2 + data.len()` truncated to `u8` as length.
    ///
    /// # Panics
    ///
    /// Panics if `buf` is shorter than [`TcpOption::buffer_len`].
    pub fn emit(&self, buf: &mut [u8]) -> usize {
        let len = self.buffer_len();
        let buf = &mut buf[..len];
        match *self {
            TcpOption::EndOfList => buf[0] = kind::EOL,
            TcpOption::NoOperation => buf[0] = kind::NOP,
            TcpOption::MaxSegmentSize(mss) => {
                buf[..2].copy_from_slice(&[kind::MSS, 4]);
                be::set_u16(buf, 2, mss);
            }
            TcpOption::WindowScale(shift) => buf.copy_from_slice(&[kind::WINDOW, 3, shift]),
            TcpOption::SackPermitted => buf.copy_from_slice(&[kind::SACK_PERM, 2]),
            TcpOption::SackRange(blocks) => {
                buf[..2].copy_from_slice(&[kind::SACK, len as u8]);
                for (i, (l, r)) in blocks.iter().flatten().enumerate() {
                    be::set_u32(buf, 2 + 8 * i, *l);
                    be::set_u32(buf, 6 + 8 * i, *r);
                }
            }
            TcpOption::Timestamps { tsval, tsecr } => {
                buf[..2].copy_from_slice(&[kind::TIMESTAMP, 10]);
                be::set_u32(buf, 2, tsval);
                be::set_u32(buf, 6, tsecr);
            }
            TcpOption::Unknown { kind: k, data } => {
                buf[0] = k;
                buf[1] = len as u8;
                buf[2..].copy_from_slice(data);
            }
        }
        len
    }
}

/// The eight TCP flags.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Default)]
pub struct Flags {
    /// FIN.
    pub fin: bool,
    /// SYN.
    pub syn: bool,
    /// RST.
    pub rst: bool,
    /// PSH.
    pub psh: bool,
    /// ACK.
    pub ack: bool,
    /// URG.
    pub urg: bool,
    /// ECE.
    pub ece: bool,
    /// CWR.
    pub cwr: bool,
}

impl Flags {
    /// Decode a flags byte.
    pub const fn from_byte(b: u8) -> Flags {
        Flags {
            fin: b & FIN != 0,
            syn: b & SYN != 0,
            rst: b & RST != 0,
            psh: b & PSH != 0,
            ack: b & ACK != 0,
            urg: b & URG != 0,
            ece: b & ECE != 0,
            cwr: b & CWR != 0,
        }
    }

    /// Encode as a flags byte.
    pub const fn to_byte(self) -> u8 {
        let mut b = 0;
        if self.fin {
            b |= FIN;
        }
        if self.syn {
            b |= SYN;
        }
        if self.rst {
            b |= RST;
        }
        if self.psh {
            b |= PSH;
        }
        if self.ack {
            b |= ACK;
        }
        if self.urg {
            b |= URG;
        }
        if self.ece {
            b |= ECE;
        }
        if self.cwr {
            b |= CWR;
        }
        b
    }
}

/// High-level representation of a TCP segment.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct Repr<'a> {
    /// Source port.
    pub src_port: u16,
    /// Destination port.
    pub dst_port: u16,
    /// Sequence number.
    pub seq_number: SeqNumber,
    /// Acknowledgment number; `Some` iff the ACK flag is set.
    pub ack_number: Option<SeqNumber>,
    /// Flags. On emit, `ack` is replaced by `ack_number.is_some()`.
    pub flags: Flags,
    /// Raw (unscaled) window.
    pub window_len: u16,
    /// Urgent pointer field.
    pub urgent_pointer: u16,
    /// MSS option.
    pub max_seg_size: Option<u16>,
    /// Window scale option (raw shift).
    pub window_scale: Option<u8>,
    /// SACK-permitted option.
    pub sack_permitted: bool,
    /// SACK blocks, filled from index 0.
    pub sack_ranges: [Option<(u32, u32)>; 4],
    /// Timestamps option as `(tsval, tsecr)`.
    pub timestamp: Option<(u32, u32)>,
    /// Segment data.
    pub payload: &'a [u8],
}

impl<'a> Repr<'a> {
    /// Parse a segment: length checks, the checksum if asked (`BadChecksum`), then the options
    /// the way `tcp_parse_options` walks them (a malformed option ends the walk without an
    /// error; later duplicates overwrite earlier ones; unknown options are ignored).
    pub fn parse<T: AsRef<[u8]> + ?Sized>(
        packet: &'a Packet<&'a T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
        verify_checksum: bool,
    ) -> Result<Repr<'a>> {
        packet.check_len()?;
        if verify_checksum && !packet.verify_checksum_v4(src, dst) {
            return Err(ParseError::BadChecksum);
        }
        let flags = Flags::from_byte(packet.flags_byte());
        let mut repr = Repr {
            src_port: packet.src_port(),
            dst_port: packet.dst_port(),
            seq_number: packet.seq_number(),
            ack_number: flags.ack.then(|| packet.ack_number()),
            flags,
            window_len: packet.window_len(),
            urgent_pointer: packet.urgent_at(),
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: [None; 4],
            timestamp: None,
            payload: packet.payload(),
        };
        let mut opts = packet.options();
        while !opts.is_empty() {
            let Ok((rest, option)) = parse_option(opts) else {
                break;
            };
            match option {
                TcpOption::EndOfList => break,
                TcpOption::MaxSegmentSize(mss) => repr.max_seg_size = Some(mss),
                TcpOption::WindowScale(ws) => repr.window_scale = Some(ws),
                TcpOption::SackPermitted => repr.sack_permitted = true,
                TcpOption::SackRange(blocks) => repr.sack_ranges = blocks,
                TcpOption::Timestamps { tsval, tsecr } => repr.timestamp = Some((tsval, tsecr)),
                TcpOption::NoOperation | TcpOption::Unknown { .. } => {}
            }
            opts = rest;
        }
        Ok(repr)
    }

    /// Options length excluding SACK blocks.
    fn base_options_len(&self) -> usize {
        let mut len = 0;
        if self.max_seg_size.is_some() {
            len += 4;
        }
        if self.timestamp.is_some() {
            len += 12; // SACKPERM or NOP NOP, then TS.
        } else if self.sack_permitted {
            len += 4; // NOP NOP SACKPERM.
        }
        if self.window_scale.is_some() {
            len += 4; // NOP WSCALE.
        }
        len
    }

    /// Number of SACK blocks that will be emitted: the `Some` entries, limited to what fits
    /// in the 40-byte options area (as Linux limits `num_sack_blocks`).
    fn sack_blocks_emitted(&self) -> usize {
        let wanted = self.sack_ranges.iter().flatten().count();
        let room = MAX_OPTIONS_LEN.saturating_sub(self.base_options_len());
        if wanted == 0 || room < 4 + 8 {
            return 0;
        }
        wanted.min((room - 4) / 8)
    }

    fn options_len(&self) -> usize {
        let n = self.sack_blocks_emitted();
        self.base_options_len() + if n > 0 { 4 + 8 * n } else { 0 }
    }

    /// Header length including options (always a multiple of 4, at most 60), laid out as
    /// `tcp_options_write` does: MSS; `SACKPERM TS` or `NOP NOP TS`; `NOP NOP SACKPERM` (no
    /// TS); `NOP WSCALE`; `NOP NOP SACK blocks`.
    pub fn header_len(&self) -> usize {
        HEADER_LEN + self.options_len()
    }

    /// Header, options and payload length.
    pub fn buffer_len(&self) -> usize {
        self.header_len() + self.payload.len()
    }

    /// Write the whole segment (header, options, payload) and its checksum. The checksum
    /// covers the entire buffer, which should therefore be exactly [`Repr::buffer_len`] long.
    ///
    /// # Panics
    ///
    /// Panics if the buffer is shorter than [`Repr::buffer_len`].
    pub fn emit<T: AsRef<[u8]> + AsMut<[u8]>>(
        &self,
        packet: &mut Packet<T>,
        src: Ipv4Addr,
        dst: Ipv4Addr,
    ) {
        packet.set_src_port(self.src_port);
        packet.set_dst_port(self.dst_port);
        packet.set_seq_number(self.seq_number);
        packet.set_ack_number(self.ack_number.unwrap_or_default());
        let hl = self.header_len();
        packet.set_header_len(hl as u8);
        let mut flags = self.flags;
        flags.ack = self.ack_number.is_some();
        packet.set_flags_byte(flags.to_byte());
        packet.set_window_len(self.window_len);
        packet.set_urgent_at(self.urgent_pointer);
        packet.set_checksum(0);

        let opts = packet.options_mut();
        let mut i = 0;
        let mut put = |bytes: &[u8]| {
            opts[i..i + bytes.len()].copy_from_slice(bytes);
            i += bytes.len();
        };
        if let Some(mss) = self.max_seg_size {
            let m = mss.to_be_bytes();
            put(&[kind::MSS, 4, m[0], m[1]]);
        }
        if let Some((tsval, tsecr)) = self.timestamp {
            if self.sack_permitted {
                put(&[kind::SACK_PERM, 2, kind::TIMESTAMP, 10]);
            } else {
                put(&[kind::NOP, kind::NOP, kind::TIMESTAMP, 10]);
            }
            put(&tsval.to_be_bytes());
            put(&tsecr.to_be_bytes());
        } else if self.sack_permitted {
            put(&[kind::NOP, kind::NOP, kind::SACK_PERM, 2]);
        }
        if let Some(ws) = self.window_scale {
            put(&[kind::NOP, kind::WINDOW, 3, ws]);
        }
        let n = self.sack_blocks_emitted();
        if n > 0 {
            put(&[kind::NOP, kind::NOP, kind::SACK, (2 + 8 * n) as u8]);
            for (l, r) in self.sack_ranges.iter().flatten().take(n) {
                put(&l.to_be_bytes());
                put(&r.to_be_bytes());
            }
        }
        let payload = packet.payload_mut();
        payload[..self.payload.len()].copy_from_slice(self.payload);
        packet.fill_checksum_v4(src, dst);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fixtures::*;
    use crate::ipv4;
    use proptest::prelude::*;
    use std::vec;
    use std::vec::Vec;

    const A: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 1);
    const B: Ipv4Addr = Ipv4Addr::new(10, 77, 0, 2);

    fn tcp_of(frame: &[u8]) -> &[u8] {
        let ip = ipv4::Packet::new_checked(&frame[14..]).unwrap();
        &frame[14 + usize::from(ip.header_len())..14 + usize::from(ip.total_len())]
    }

    fn emit_bytes(repr: &Repr<'_>, src: Ipv4Addr, dst: Ipv4Addr) -> Vec<u8> {
        let mut out = vec![0u8; repr.buffer_len()];
        repr.emit(&mut Packet::new_unchecked(&mut out[..]), src, dst);
        out
    }

    #[test]
    fn seq_numbers() {
        let a = SeqNumber(u32::MAX - 1);
        let b = a + 4;
        assert_eq!(b, SeqNumber(2));
        assert_eq!(b - 4, a);
        assert_eq!(b - a, 4);
        assert_eq!(a.diff(b), -4);
        assert!(a.before(b) && b.after(a) && !a.after(b) && !b.before(a));
        assert!(a.before_eq(a) && a.after_eq(a) && !a.before(a) && !a.after(a));
        assert!(SeqNumber(1).between(a, b) && a.between(a, b) && b.between(a, b));
        assert!(!SeqNumber(5).between(a, b) && !(a - 1).between(a, b));
        let mut c = SeqNumber(0);
        c -= 1;
        assert_eq!(c, SeqNumber(u32::MAX));
        c += 2;
        assert_eq!(c.0, 1);
    }

    #[test]
    fn captured_syn() {
        let bytes = tcp_of(&SYN_FRAME);
        let p = Packet::new_checked(bytes).unwrap();
        assert_eq!((p.src_port(), p.dst_port()), (42536, 8080));
        assert_eq!(p.seq_number(), SeqNumber(1_838_673_193));
        assert_eq!(p.header_len(), 40);
        assert!(p.syn() && !p.ack() && !p.fin() && !p.rst() && !p.psh());
        assert_eq!(p.flags_byte(), 0x02);
        assert_eq!(p.window_len(), 64240);
        assert_eq!(p.checksum(), 0xd37c);
        assert!(p.verify_checksum_v4(A, B));
        assert!(!p.verify_checksum_v4(A, Ipv4Addr::new(10, 77, 0, 3)));
        let repr = Repr::parse(&p, A, B, true).unwrap();
        assert_eq!(repr.max_seg_size, Some(1460));
        assert!(repr.sack_permitted);
        assert_eq!(repr.timestamp, Some((3_843_776_349, 0)));
        assert_eq!(repr.window_scale, Some(10));
        assert_eq!(repr.ack_number, None);
        assert!(repr.payload.is_empty());
        // Our option layout mimics tcp_options_write, so the bytes match exactly.
        assert_eq!(repr.header_len(), 40);
        assert_eq!(emit_bytes(&repr, A, B), bytes);
    }

    #[test]
    fn captured_handshake_and_data() {
        let bytes = tcp_of(&SYN_ACK_FRAME);
        let p = Packet::new_checked(bytes).unwrap();
        let repr = Repr::parse(&p, B, A, true).unwrap();
        assert!(repr.flags.syn && repr.flags.ack);
        assert_eq!(repr.seq_number, SeqNumber(93_081_667));
        assert_eq!(repr.ack_number, Some(SeqNumber(1_838_673_194)));
        assert_eq!(repr.window_len, 65160);
        assert_eq!(repr.timestamp, Some((3_051_218_817, 3_843_776_349)));
        assert_eq!(emit_bytes(&repr, B, A), bytes);

        let bytes = tcp_of(&ACK_FRAME);
        let p = Packet::new_checked(bytes).unwrap();
        let repr = Repr::parse(&p, A, B, true).unwrap();
        assert_eq!(repr.window_len, 63);
        assert_eq!(repr.max_seg_size, None);
        assert!(!repr.sack_permitted);
        assert_eq!(emit_bytes(&repr, A, B), bytes);

        let bytes = tcp_of(&PSH_FRAME);
        let p = Packet::new_checked(bytes).unwrap();
        assert!(p.psh() && p.ack());
        let repr = Repr::parse(&p, A, B, true).unwrap();
        assert_eq!(repr.payload, b"hi");
        assert_eq!(emit_bytes(&repr, A, B), bytes);
        let mut bad = bytes.to_vec();
        bad[21] ^= 1;
        let p = Packet::new_checked(&bad[..]).unwrap();
        assert_eq!(Repr::parse(&p, A, B, true), Err(ParseError::BadChecksum));
    }

    #[test]
    fn option_walk_rules() {
        let opts = tcp_of(&SYN_FRAME)[20..].to_vec();
        let mut rest = &opts[..];
        let mut seen = Vec::new();
        while !rest.is_empty() {
            let (r, o) = parse_option(rest).unwrap();
            seen.push(o);
            rest = r;
        }
        assert_eq!(
            seen,
            [
                TcpOption::MaxSegmentSize(1460),
                TcpOption::SackPermitted,
                TcpOption::Timestamps {
                    tsval: 3_843_776_349,
                    tsecr: 0
                },
                TcpOption::NoOperation,
                TcpOption::WindowScale(10),
            ]
        );
        assert_eq!(parse_option(&[]), Err(ParseError::Truncated));
        assert_eq!(parse_option(&[2]), Err(ParseError::Truncated));
        assert_eq!(parse_option(&[2, 1, 0, 0]), Err(ParseError::BadLength));
        assert_eq!(parse_option(&[2, 5, 0, 0]), Err(ParseError::Truncated));
        // Wrong-size known options are skipped like Linux does.
        assert_eq!(
            parse_option(&[2, 3, 9, 1]),
            Ok((
                &[1u8][..],
                TcpOption::Unknown {
                    kind: 2,
                    data: &[9]
                }
            ))
        );
        assert_eq!(
            parse_option(&[5, 4, 1, 2]).unwrap().1,
            TcpOption::Unknown {
                kind: 5,
                data: &[1, 2]
            }
        );
        assert_eq!(
            parse_option(&[0, 7]),
            Ok((&[7u8][..], TcpOption::EndOfList))
        );
        let sack = [5, 18, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0, 4];
        let (_, o) = parse_option(&sack).unwrap();
        assert_eq!(
            o,
            TcpOption::SackRange([Some((1, 2)), Some((3, 4)), None, None])
        );
        let mut out = [0u8; 18];
        assert_eq!(o.emit(&mut out), 18);
        assert_eq!(out, sack);
        // A malformed option in a header ends the walk but is not an error for Repr.
        let mut seg = [0u8; 28];
        seg[12] = 7 << 4;
        seg[20..28].copy_from_slice(&[2, 4, 5, 0xb4, 3, 1, 0, 0]);
        let p = Packet::new_checked(&seg[..]).unwrap();
        let r = Repr::parse(&p, A, B, false).unwrap();
        assert_eq!((r.max_seg_size, r.window_scale), (Some(1460), None));
    }

    #[test]
    fn option_layouts() {
        let base = Repr {
            src_port: 1,
            dst_port: 2,
            seq_number: SeqNumber(0),
            ack_number: None,
            flags: Flags {
                syn: true,
                ..Flags::default()
            },
            window_len: 0,
            urgent_pointer: 0,
            max_seg_size: Some(536),
            window_scale: None,
            sack_permitted: true,
            sack_ranges: [None; 4],
            timestamp: None,
            payload: &[],
        };
        let b = emit_bytes(&base, A, B);
        assert_eq!(&b[20..], &[2, 4, 2, 0x18, 1, 1, 4, 2]);
        let with_sack = Repr {
            ack_number: Some(SeqNumber(9)),
            max_seg_size: None,
            sack_permitted: false,
            timestamp: Some((1, 2)),
            sack_ranges: [
                Some((10, 20)),
                Some((30, 40)),
                Some((50, 60)),
                Some((70, 80)),
            ],
            ..base
        };
        // TS (12) leaves room for 3 SACK blocks (4 + 24).
        assert_eq!(with_sack.header_len(), 60);
        let b = emit_bytes(&with_sack, A, B);
        assert_eq!(&b[20..24], &[1, 1, 8, 10]);
        assert_eq!(&b[32..36], &[1, 1, 5, 26]);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert!(p.ack() && p.syn());
        let r = Repr::parse(&p, A, B, true).unwrap();
        assert_eq!(
            r.sack_ranges,
            [Some((10, 20)), Some((30, 40)), Some((50, 60)), None]
        );
    }

    #[test]
    fn setters() {
        let mut b = [0u8; 24];
        let mut p = Packet::new_unchecked(&mut b[..]);
        p.set_src_port(80);
        p.set_dst_port(81);
        p.set_seq_number(SeqNumber(5));
        p.set_ack_number(SeqNumber(6));
        p.set_header_len(24);
        p.set_flags_byte(0);
        p.set_fin(true);
        p.set_syn(true);
        p.set_rst(true);
        p.set_psh(true);
        p.set_ack(true);
        p.set_urg(true);
        p.set_ece(true);
        p.set_cwr(true);
        assert_eq!(p.flags_byte(), 0xff);
        p.set_cwr(false);
        assert!(!p.cwr() && p.ece() && p.urg() && p.fin() && p.rst());
        p.set_window_len(1000);
        p.set_urgent_at(3);
        p.options_mut().copy_from_slice(&[1, 1, 1, 0]);
        p.fill_checksum_v4(A, B);
        let p = Packet::new_checked(&b[..]).unwrap();
        assert_eq!(
            (p.src_port(), p.dst_port(), p.seq_number(), p.ack_number()),
            (80, 81, SeqNumber(5), SeqNumber(6))
        );
        assert_eq!(
            (p.header_len(), p.window_len(), p.urgent_at()),
            (24, 1000, 3)
        );
        assert_eq!(p.options(), &[1, 1, 1, 0]);
        assert!(p.payload().is_empty());
        assert!(p.verify_checksum_v4(A, B));
        assert_eq!(Flags::from_byte(0x7f).to_byte(), 0x7f);
        // Header-length checks.
        let mut b2 = b;
        b2[12] = 4 << 4;
        assert_eq!(Packet::new_checked(&b2[..]), Err(ParseError::BadHeaderLen));
        b2[12] = 7 << 4;
        assert_eq!(Packet::new_checked(&b2[..]), Err(ParseError::BadHeaderLen));
        assert!(Packet::new_unchecked(&b2[..]).payload().is_empty());
        assert_eq!(Packet::new_checked(&b2[..19]), Err(ParseError::Truncated));
    }

    fn arb_repr() -> impl Strategy<Value = Repr<'static>> {
        static PAYLOAD: [u8; 64] = [0xa5; 64];
        (
            (
                any::<u16>(),
                any::<u16>(),
                any::<u32>(),
                proptest::option::of(any::<u32>()),
            ),
            (
                any::<u8>(),
                any::<u16>(),
                any::<u16>(),
                proptest::option::of(any::<u16>()),
            ),
            (proptest::option::of(any::<u8>()), any::<bool>(), 0usize..=4),
            (
                any::<[(u32, u32); 4]>(),
                proptest::option::of(any::<(u32, u32)>()),
                0usize..=64,
            ),
        )
            .prop_map(
                |(
                    (sp, dp, seq, ack),
                    (fl, win, urg, mss),
                    (ws, sp_ok, nsack),
                    (blocks, ts, plen),
                )| {
                    let mut sack_ranges = [None; 4];
                    for (slot, b) in sack_ranges.iter_mut().zip(blocks).take(nsack) {
                        *slot = Some(b);
                    }
                    let mut r = Repr {
                        src_port: sp,
                        dst_port: dp,
                        seq_number: SeqNumber(seq),
                        ack_number: ack.map(SeqNumber),
                        flags: Flags::from_byte(fl),
                        window_len: win,
                        urgent_pointer: urg,
                        max_seg_size: mss,
                        window_scale: ws,
                        sack_permitted: sp_ok,
                        sack_ranges,
                        timestamp: ts,
                        payload: &PAYLOAD[..plen],
                    };
                    r.flags.ack = r.ack_number.is_some();
                    r
                },
            )
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn random_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..72)) {
            if let Ok(p) = Packet::new_checked(&data[..]) {
                let _ = (p.src_port(), p.seq_number(), p.ack_number(), p.flags_byte());
                let _ = (p.options(), p.payload(), p.verify_checksum_v4(A, B));
                let _ = Repr::parse(&p, A, B, true);
                let _ = Repr::parse(&p, A, B, false);
            }
            if data.len() >= HEADER_LEN {
                let p = Packet::new_unchecked(&data[..]);
                let _ = (p.options(), p.payload());
            }
        }

        #[test]
        fn option_walk_never_panics(data in proptest::collection::vec(any::<u8>(), 0..48)) {
            let mut rest = &data[..];
            let mut steps = 0;
            while let Ok((r, o)) = parse_option(rest) {
                prop_assert!(r.len() < rest.len());
                let mut buf = [0u8; 64];
                let n = o.emit(&mut buf);
                prop_assert_eq!(n, o.buffer_len());
                if !matches!(o, TcpOption::Unknown { .. }) {
                    prop_assert_eq!(&buf[..n], &rest[..n]);
                }
                rest = r;
                steps += 1;
            }
            prop_assert!(steps <= data.len());
        }

        #[test]
        fn round_trip(repr in arb_repr(), s in any::<u32>(), d in any::<u32>()) {
            let (s, d) = (Ipv4Addr::from(s), Ipv4Addr::from(d));
            let bytes = emit_bytes(&repr, s, d);
            prop_assert!(repr.header_len() <= 60 && repr.header_len() % 4 == 0);
            let p = Packet::new_checked(&bytes[..]).unwrap();
            prop_assert!(p.verify_checksum_v4(s, d));
            let parsed = Repr::parse(&p, s, d, true).unwrap();
            let mut expected = repr;
            let n = repr.sack_blocks_emitted();
            for slot in expected.sack_ranges.iter_mut().skip(n) {
                *slot = None;
            }
            prop_assert_eq!(parsed, expected);
        }
    }
}

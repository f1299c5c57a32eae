//! The error type shared by every parser in this crate.
//!
//! The variants are coarse on purpose: they say *why* a buffer was rejected, and the caller
//! (linnet-core) maps them onto the kernel's counters (`InHdrErrors`, `InCsumErrors`, ...) and,
//! for IPv4 options, onto an ICMP Parameter Problem carrying [`ParseError::BadOption`]'s
//! pointer.
//!
//! Linux: no single file; the reasons mirror the `goto drop`/`goto inhdr_error` paths of
//! net/ipv4/ip_input.c and the -EINVAL returns of net/ipv4/ip_options.c.
//!
//! RFCs: RFC 792 (Parameter Problem pointer semantics).

use core::fmt;

/// Why a buffer could not be parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParseError {
    /// The buffer is shorter than the header (or a length field) requires.
    Truncated,
    /// The IP version field is not the expected one.
    BadVersion,
    /// A header-length field is too small, or points past the buffer.
    BadHeaderLen,
    /// The IPv4 total-length field is smaller than the header.
    BadTotalLen,
    /// A checksum did not verify.
    BadChecksum,
    /// A length field (UDP length, option length, ...) is inconsistent.
    BadLength,
    /// A malformed IPv4 option; `pointer` is the byte offset from the start of the IP header
    /// that an ICMP Parameter Problem should carry.
    BadOption {
        /// Offset of the offending byte, counted from the first byte of the IP header.
        pointer: u8,
    },
    /// Well-formed, but a variant this crate does not handle (e.g. non-Ethernet ARP).
    Unsupported,
    /// A value is out of range (e.g. a prefix length > 32, an unparsable address string).
    BadValue,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ParseError::Truncated => f.write_str("buffer truncated"),
            ParseError::BadVersion => f.write_str("bad IP version"),
            ParseError::BadHeaderLen => f.write_str("bad header length"),
            ParseError::BadTotalLen => f.write_str("bad total length"),
            ParseError::BadChecksum => f.write_str("bad checksum"),
            ParseError::BadLength => f.write_str("bad length field"),
            ParseError::BadOption { pointer } => write!(f, "bad IP option at offset {pointer}"),
            ParseError::Unsupported => f.write_str("unsupported packet format"),
            ParseError::BadValue => f.write_str("bad value"),
        }
    }
}

impl core::error::Error for ParseError {}

/// Result alias used throughout the crate.
pub type Result<T> = core::result::Result<T, ParseError>;

#[cfg(test)]
mod tests {
    use super::*;
    use std::string::ToString;

    #[test]
    fn display() {
        assert_eq!(ParseError::Truncated.to_string(), "buffer truncated");
        assert_eq!(
            ParseError::BadOption { pointer: 22 }.to_string(),
            "bad IP option at offset 22"
        );
        let e: &dyn core::error::Error = &ParseError::BadChecksum;
        assert_eq!(e.to_string(), "bad checksum");
    }
}

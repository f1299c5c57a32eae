//! Big-endian field accessors shared by the protocol modules.
//!
//! All functions index the slice directly and therefore panic when the field lies outside
//! the buffer; callers only use them on offsets that `new_checked` has validated (or on
//! `new_unchecked` views, whose getters are documented to panic on short buffers).
//!
//! Linux: include/linux/unaligned.h (get_unaligned_be16/32 and friends).
//!
//! RFCs: none (network byte order is defined per protocol, e.g. RFC 791 appendix B).

// One range check per field (`buf[off..off + N]`) rather than one per byte, and always
// inlined: these sit under every header getter on the packet path.

#[inline(always)]
pub(crate) fn get_u16(buf: &[u8], off: usize) -> u16 {
    let mut b = [0u8; 2];
    b.copy_from_slice(&buf[off..off + 2]);
    u16::from_be_bytes(b)
}

#[inline(always)]
pub(crate) fn get_u32(buf: &[u8], off: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&buf[off..off + 4]);
    u32::from_be_bytes(b)
}

#[inline(always)]
pub(crate) fn set_u16(buf: &mut [u8], off: usize, value: u16) {
    buf[off..off + 2].copy_from_slice(&value.to_be_bytes());
}

#[inline(always)]
pub(crate) fn set_u32(buf: &mut [u8], off: usize, value: u32) {
    buf[off..off + 4].copy_from_slice(&value.to_be_bytes());
}

//! The Internet checksum: 16-bit one's-complement sum, folding, pseudo-headers and
//! incremental updates.
//!
//! [`sum`] returns a partial sum (callers must not assume it is folded) so that pieces
//! (pseudo-header, header, payload fragments) can be accumulated separately with [`combine`]
//! and folded once with [`fold`]. Any `u32` returned here is congruent, modulo 0xffff, to the
//! true one's-complement sum and is zero only if every summed byte was zero, so folding it
//! gives exactly the RFC 1071 result.
//!
//! The sum is computed on little-endian 64-bit words, 32 bytes per step (RFC 1071 §2(B): the
//! one's-complement sum does not depend on byte order, so one byte swap at the end gives the
//! big-endian result), without `unsafe`; [`sum_array`] is the fixed-length form that the
//! 20-byte IPv4 header uses.
//!
//! Linux: include/net/checksum.h (csum_fold, csum_add, csum_replace2/4),
//! lib/checksum.c (do_csum), include/net/ip6_checksum.h (csum_ipv6_magic).
//!
//! RFCs: RFC 1071 (computation), RFC 1624 (incremental update, eqn. 3), RFC 768/9293 and
//! RFC 8200 §8.1 (pseudo-headers).

use core::net::{Ipv4Addr, Ipv6Addr};

/// Reduce a 64-bit accumulator to 32 bits without changing its value modulo 0xffff.
///
/// Two unconditional end-around folds: after the first the value is below 2^33, after the
/// second below 2^32. A nonzero input stays nonzero.
#[inline(always)]
fn fold64(acc: u64) -> u32 {
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    let acc = (acc & 0xffff_ffff) + (acc >> 32);
    acc as u32
}

/// Adds `w` to `acc` with an end-around carry (2^64 ≡ 1 mod 0xffff), so the sum stays
/// congruent modulo 0xffff and a nonzero sum never wraps to zero.
#[inline(always)]
fn add_carry(acc: u64, w: u64) -> u64 {
    let (s, carry) = acc.overflowing_add(w);
    s + u64::from(carry)
}

/// The little-endian `u64` at `b[i..i + 8]`; the callers' fixed-size blocks make the bounds
/// check disappear.
#[inline(always)]
fn le64(b: &[u8], i: usize) -> u64 {
    let mut w = [0u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

/// Sum of `data` read as *little-endian* words, with end-around carries.
///
/// The one's-complement sum is byte-order independent (RFC 1071 §2(B)): summing the same
/// bytes as little-endian words gives the big-endian sum with its two bytes swapped, which
/// [`sum`] undoes once at the end. Reading little-endian makes every load a plain load on
/// the usual targets (no byte swap per word).
#[inline(always)]
fn sum_le(data: &[u8]) -> u64 {
    let mut acc: u64 = 0;
    let mut blocks = data.chunks_exact(32);
    for b in &mut blocks {
        acc = add_carry(acc, le64(b, 0));
        acc = add_carry(acc, le64(b, 8));
        acc = add_carry(acc, le64(b, 16));
        acc = add_carry(acc, le64(b, 24));
    }
    // The remainder (under 32 bytes) as at most one 16-, 8-, 4-, 2- and 1-byte piece:
    // straight-line code, no loop.
    let mut rest = blocks.remainder();
    if let Some((w, r)) = rest.split_first_chunk::<16>() {
        acc = add_carry(acc, le64(w, 0));
        acc = add_carry(acc, le64(w, 8));
        rest = r;
    }
    if let Some((w, r)) = rest.split_first_chunk::<8>() {
        acc = add_carry(acc, u64::from_le_bytes(*w));
        rest = r;
    }
    if let Some((w, r)) = rest.split_first_chunk::<4>() {
        acc = add_carry(acc, u64::from(u32::from_le_bytes(*w)));
        rest = r;
    }
    if let Some((w, r)) = rest.split_first_chunk::<2>() {
        acc = add_carry(acc, u64::from(u16::from_le_bytes(*w)));
        rest = r;
    }
    if let [last] = rest {
        // An odd trailing byte is the high byte of a big-endian word padded with zero
        // (RFC 1071 §4.1): the low byte of a little-endian one.
        acc = add_carry(acc, u64::from(*last));
    }
    acc
}

/// Folds a little-endian-word sum to 16 bits and swaps it back to big-endian order.
#[inline(always)]
fn finish_le(acc: u64) -> u32 {
    u32::from(fold(fold64(acc)).swap_bytes())
}

/// Unfolded one's-complement sum of `data` taken as big-endian 16-bit words; an odd trailing
/// byte is padded with a zero byte (RFC 1071 §4.1).
///
/// Reads 32 bytes per step as four `u64` words with end-around carries (see `sum_le`).
/// The result is at most 0xffff.
#[inline(always)]
pub fn sum(data: &[u8]) -> u32 {
    finish_le(sum_le(data))
}

/// [`sum`] of a fixed-size block (an IPv4 header without options, a pseudo-header): with
/// the length known the loop disappears, e.g. 20 bytes are two `u64` and one `u32` load.
#[inline(always)]
pub fn sum_array<const N: usize>(data: &[u8; N]) -> u32 {
    finish_le(sum_le(data))
}

/// Fold carries of a partial sum into 16 bits (`csum_fold` without the final complement).
///
/// Two unconditional end-around folds: the first leaves at most 0x1fffe, the second at most
/// 0xffff.
#[inline(always)]
pub fn fold(sum: u32) -> u16 {
    let s = (sum & 0xffff) + (sum >> 16);
    let s = (s & 0xffff) + (s >> 16);
    s as u16
}

/// Add two partial sums without overflow (end-around carry: 2^32 ≡ 1 mod 0xffff).
#[inline(always)]
pub fn combine(a: u32, b: u32) -> u32 {
    let (s, carry) = a.overflowing_add(b);
    s + u32::from(carry)
}

/// The Internet checksum of `data`: `!fold(sum(data))`.
#[inline(always)]
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data))
}

/// Partial sum of the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1): source, destination,
/// zero, protocol and upper-layer length.
#[inline]
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u32 {
    let (s, d) = (u32::from(src), u32::from(dst));
    // Six 16-bit words: at most 6 * 0xffff, no overflow.
    (s >> 16) + (s & 0xffff) + (d >> 16) + (d & 0xffff) + u32::from(protocol) + u32::from(length)
}

/// Partial sum of the IPv6 pseudo-header (RFC 8200 §8.1): source, destination, 32-bit
/// upper-layer length, three zero bytes and the next-header value.
pub fn pseudo_header_v6(src: &Ipv6Addr, dst: &Ipv6Addr, next_header: u8, length: u32) -> u32 {
    let mut acc = combine(sum(&src.octets()), sum(&dst.octets()));
    acc = combine(acc, (length >> 16) + (length & 0xffff));
    combine(acc, u32::from(next_header))
}

/// Incrementally update checksum `check` after a 16-bit field changed from `old` to `new`,
/// per RFC 1624 equation 3: `HC' = ~(~HC + ~m + m')`.
pub fn update_u16(check: u16, old: u16, new: u16) -> u16 {
    let s = u32::from(!check) + u32::from(!old) + u32::from(new);
    !fold(s)
}

/// Like [`update_u16`] for a 32-bit field (e.g. an IPv4 address), treated as two 16-bit
/// words.
pub fn update_u32(check: u16, old: u32, new: u32) -> u16 {
    let s = u32::from(!check)
        + u32::from(!(old >> 16) as u16)
        + u32::from(!(old as u16))
        + (new >> 16)
        + (new & 0xffff);
    !fold(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::vec::Vec;

    /// Byte-at-a-time reference implementation.
    fn naive_sum(data: &[u8]) -> u16 {
        let mut acc: u64 = 0;
        for (i, b) in data.iter().enumerate() {
            acc += if i % 2 == 0 {
                u64::from(*b) << 8
            } else {
                u64::from(*b)
            };
        }
        while acc > 0xffff {
            acc = (acc & 0xffff) + (acc >> 16);
        }
        acc as u16
    }

    /// IPv4 header of an ICMP echo request captured on a veth pair (see `ipv4::tests`).
    const IP_HDR: [u8; 20] = [
        0x45, 0x00, 0x00, 0x54, 0x80, 0xca, 0x40, 0x00, 0x40, 0x01, 0xa5, 0x42, 0x0a, 0x4d, 0x00,
        0x01, 0x0a, 0x4d, 0x00, 0x02,
    ];

    #[test]
    fn rfc1071_example() {
        // RFC 1071 §3: bytes 00 01 f2 03 f4 f5 f6 f7 sum to ddf2 (folded).
        let data = [0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7];
        assert_eq!(fold(sum(&data)), 0xddf2);
        assert_eq!(checksum(&data), !0xddf2);
    }

    #[test]
    fn odd_length() {
        assert_eq!(fold(sum(&[0x12])), 0x1200);
        assert_eq!(fold(sum(&[0x12, 0x34, 0x56])), 0x1234 + 0x5600);
        let data: Vec<u8> = (0..=254u8).collect();
        assert_eq!(fold(sum(&data)), naive_sum(&data));
    }

    /// Every remainder shape of the 32-byte blocks (16, 8, 4, 2 and 1 byte pieces), with
    /// all-ones bytes to exercise the end-around carries.
    #[test]
    fn every_length_up_to_three_blocks_with_carries() {
        let ones = [0xffu8; 100];
        let ramp: Vec<u8> = (0..100u8).map(|i| i.wrapping_mul(37) ^ 0xa5).collect();
        for len in 0..=100 {
            assert_eq!(
                fold(sum(&ones[..len])),
                naive_sum(&ones[..len]),
                "len {len}"
            );
            assert_eq!(
                fold(sum(&ramp[..len])),
                naive_sum(&ramp[..len]),
                "len {len}"
            );
        }
    }

    #[test]
    fn fold_extremes() {
        assert_eq!(fold(0), 0);
        assert_eq!(fold(u32::MAX), 0xffff);
        assert_eq!(fold(0x1_0000), 1);
        assert_eq!(
            fold(combine(u32::MAX, u32::MAX)),
            fold(u32::MAX).wrapping_add(0)
        );
        assert_eq!(combine(u32::MAX, 1), 1);
    }

    #[test]
    fn real_header_verifies() {
        assert_eq!(checksum(&IP_HDR), 0);
        let mut h = IP_HDR;
        h[10] = 0;
        h[11] = 0;
        assert_eq!(checksum(&h), 0xa542);
    }

    #[test]
    fn rfc1624_ttl_decrement() {
        let mut h = IP_HDR;
        let old_word = u16::from_be_bytes([h[8], h[9]]);
        h[8] -= 1; // TTL 64 -> 63, as a router would.
        let new_word = u16::from_be_bytes([h[8], h[9]]);
        let old_check = u16::from_be_bytes([h[10], h[11]]);
        let incr = update_u16(old_check, old_word, new_word);
        h[10] = 0;
        h[11] = 0;
        assert_eq!(incr, checksum(&h));
        h[10..12].copy_from_slice(&incr.to_be_bytes());
        assert_eq!(checksum(&h), 0);
    }

    #[test]
    fn rfc1624_address_rewrite() {
        let mut h = IP_HDR;
        let old = u32::from_be_bytes([h[16], h[17], h[18], h[19]]);
        let new = u32::from(Ipv4Addr::new(192, 0, 2, 77));
        h[16..20].copy_from_slice(&new.to_be_bytes());
        let incr = update_u32(u16::from_be_bytes([h[10], h[11]]), old, new);
        h[10] = 0;
        h[11] = 0;
        assert_eq!(incr, checksum(&h));
    }

    #[test]
    fn pseudo_headers() {
        let a = Ipv4Addr::new(10, 77, 0, 1);
        let b = Ipv4Addr::new(10, 77, 0, 2);
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&a.octets());
        bytes.extend_from_slice(&b.octets());
        bytes.extend_from_slice(&[0, 17, 0, 20]);
        assert_eq!(fold(pseudo_header_v4(a, b, 17, 20)), fold(sum(&bytes)));

        let s: Ipv6Addr = "fe80::1".parse().unwrap();
        let d: Ipv6Addr = "ff02::16".parse().unwrap();
        let mut bytes = Vec::new();
        bytes.extend_from_slice(&s.octets());
        bytes.extend_from_slice(&d.octets());
        bytes.extend_from_slice(&0x0001_0024u32.to_be_bytes());
        bytes.extend_from_slice(&[0, 0, 0, 58]);
        assert_eq!(
            fold(pseudo_header_v6(&s, &d, 58, 0x0001_0024)),
            fold(sum(&bytes))
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn fast_sum_matches_naive(data in proptest::collection::vec(any::<u8>(), 0..200)) {
            prop_assert_eq!(fold(sum(&data)), naive_sum(&data));
        }

        #[test]
        fn fixed_size_sums_match(h in any::<[u8; 20]>(), p in any::<[u8; 12]>()) {
            prop_assert_eq!(fold(sum_array(&h)), naive_sum(&h));
            prop_assert_eq!(fold(sum_array(&p)), naive_sum(&p));
        }

        #[test]
        fn sum_is_zero_only_for_all_zero_bytes(data in proptest::collection::vec(any::<u8>(), 0..200),
                                               at in 0usize..200) {
            // Callers rely on it (UDP's "computed zero is sent as 0xffff", RFC 1624's two
            // zeros): a nonzero byte anywhere makes the folded sum nonzero.
            let mut zeros = std::vec![0u8; data.len()];
            prop_assert_eq!(fold(sum(&zeros)), 0);
            if !zeros.is_empty() {
                let i = at % zeros.len();
                zeros[i] = data[i] | 1;
                prop_assert_ne!(fold(sum(&zeros)), 0);
            }
            prop_assert_eq!(fold(sum(&data)) == 0, data.iter().all(|&b| b == 0));
        }

        #[test]
        fn split_sums_combine(data in proptest::collection::vec(any::<u8>(), 0..200),
                              at in 0usize..100) {
            // Splitting at an even offset keeps word alignment.
            let at = (at * 2).min(data.len() & !1);
            let whole = fold(sum(&data));
            let parts = fold(combine(sum(&data[..at]), sum(&data[at..])));
            prop_assert_eq!(whole, parts);
        }

        #[test]
        fn incremental_matches_full(mut data in proptest::collection::vec(any::<u8>(), 2..64),
                                    word in any::<u16>(), idx in 0usize..32) {
            let len = data.len() & !1;
            let data = &mut data[..len];
            let i = (idx * 2) % len;
            let check = checksum(data);
            let old = u16::from_be_bytes([data[i], data[i + 1]]);
            data[i..i + 2].copy_from_slice(&word.to_be_bytes());
            let full = checksum(data);
            let incr = update_u16(check, old, word);
            // One's complement has two zeros; both represent the same sum.
            prop_assert!(incr == full || (incr ^ full) == 0xffff && (incr == 0 || full == 0));
        }
    }
}

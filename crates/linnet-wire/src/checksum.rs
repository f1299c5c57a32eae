//! The Internet checksum: 16-bit one's-complement sum, folding, pseudo-headers and
//! incremental updates.
//!
//! [`sum`] returns an *unfolded* partial sum so that pieces (pseudo-header, header, payload
//! fragments) can be accumulated separately with [`combine`] and folded once with [`fold`].
//! Any `u32` returned here is congruent, modulo 0xffff, to the true one's-complement sum and is
//! zero only if every summed byte was zero, so folding it gives exactly the RFC 1071 result.
//!
//! Linux: include/net/checksum.h (csum_fold, csum_add, csum_replace2/4),
//! lib/checksum.c (do_csum), include/net/ip6_checksum.h (csum_ipv6_magic).
//!
//! RFCs: RFC 1071 (computation), RFC 1624 (incremental update, eqn. 3), RFC 768/9293 and
//! RFC 8200 §8.1 (pseudo-headers).

use core::net::{Ipv4Addr, Ipv6Addr};

/// Reduce a 64-bit accumulator to 32 bits without changing its value modulo 0xffff.
#[inline]
fn fold64(mut acc: u64) -> u32 {
    while acc > u64::from(u32::MAX) {
        acc = (acc & 0xffff_ffff) + (acc >> 32);
    }
    acc as u32
}

/// Unfolded one's-complement sum of `data` taken as big-endian 16-bit words; an odd trailing
/// byte is padded with a zero byte (RFC 1071 §4.1).
///
/// Processes eight bytes per step into a 64-bit accumulator with end-around carry.
pub fn sum(data: &[u8]) -> u32 {
    let mut acc: u64 = 0;
    let mut chunks = data.chunks_exact(8);
    for chunk in &mut chunks {
        let mut word = [0u8; 8];
        word.copy_from_slice(chunk);
        let (s, carry) = acc.overflowing_add(u64::from_be_bytes(word));
        // 2^64 ≡ 1 (mod 0xffff): an end-around carry keeps the sum congruent.
        acc = s + u64::from(carry);
    }
    let rest = chunks.remainder();
    let mut pairs = rest.chunks_exact(2);
    for pair in &mut pairs {
        acc += u64::from(u16::from_be_bytes([pair[0], pair[1]]));
    }
    if let [last] = pairs.remainder() {
        acc += u64::from(*last) << 8;
    }
    fold64(acc)
}

/// Fold carries of a partial sum into 16 bits (`csum_fold` without the final complement).
pub fn fold(sum: u32) -> u16 {
    let mut s = sum;
    while s > 0xffff {
        s = (s & 0xffff) + (s >> 16);
    }
    s as u16
}

/// Add two partial sums without overflow.
pub fn combine(a: u32, b: u32) -> u32 {
    fold64(u64::from(a) + u64::from(b))
}

/// The Internet checksum of `data`: `!fold(sum(data))`.
pub fn checksum(data: &[u8]) -> u16 {
    !fold(sum(data))
}

/// Partial sum of the IPv4 pseudo-header (RFC 768, RFC 9293 §3.1): source, destination,
/// zero, protocol and upper-layer length.
pub fn pseudo_header_v4(src: Ipv4Addr, dst: Ipv4Addr, protocol: u8, length: u16) -> u32 {
    let s = src.octets();
    let d = dst.octets();
    let words = [
        u16::from_be_bytes([s[0], s[1]]),
        u16::from_be_bytes([s[2], s[3]]),
        u16::from_be_bytes([d[0], d[1]]),
        u16::from_be_bytes([d[2], d[3]]),
        u16::from(protocol),
        length,
    ];
    words.iter().map(|&w| u32::from(w)).sum()
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

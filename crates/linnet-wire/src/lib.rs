//! Zero-copy wire formats for the linnet user-space network stack.
//!
//! Every protocol module follows the same pattern:
//!
//! * a `Packet<T>` (or `Frame<T>`) *view* wrapping any `T: AsRef<[u8]>` buffer, with getters
//!   that read fields straight out of the bytes and, for `T: AsMut<[u8]>`, setters that write
//!   them in place;
//! * `new_checked` validates the lengths a view needs so that no getter can panic afterwards;
//!   `new_unchecked` skips that, and getters on such a view may panic if the buffer is too
//!   short for the field they read;
//! * a high-level `Repr` that `parse`s a view into plain values and `emit`s them back.
//!
//! The crate is `no_std`, has no runtime dependencies and contains no `unsafe` code.
//!
//! Linux: include/uapi/linux/{if_ether.h, if_arp.h, ip.h, icmp.h, udp.h, tcp.h},
//! include/net/ipv6.h, net/ipv4/ip_options.c, net/ipv4/tcp_input.c, net/ipv4/tcp_output.c.
//!
//! RFCs: 768, 791, 792, 826, 1071, 1624, 2018, 2113, 4007, 4291, 7323, 9293.

#![no_std]
#![forbid(unsafe_code)]

#[cfg(test)]
extern crate std;

mod be;
#[cfg(test)]
mod fixtures;

pub mod arp;
pub mod checksum;
pub mod error;
pub mod ethernet;
pub mod icmpv4;
pub mod ipv4;
pub mod ipv4_options;
pub mod ipv6;
pub mod tcp;
pub mod udp;

pub use error::ParseError;
pub use ethernet::{EtherType, EthernetAddress};

//! IPv4: receive, local delivery, forwarding, output, ICMP and ARP.
//!
//! Linux: net/ipv4/ (ip_input.c, ip_output.c, ip_forward.c, icmp.c, arp.c, devinet.c).
//! RFCs: RFC 791, RFC 792, RFC 826, RFC 1122, RFC 1812.

pub mod arp;
pub mod fragment;
pub mod icmp;
pub mod input;
pub mod output;
pub(crate) mod pmtu;

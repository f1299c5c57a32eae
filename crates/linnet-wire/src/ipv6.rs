//! IPv6 address classification and the address derivations the stack needs on Ethernet
//! (solicited-node groups, multicast MACs, EUI-64 link-local addresses).
//!
//! [`addr_type`] mirrors the kernel's `__ipv6_addr_type` bit for bit, including its scope
//! bits (`IPV6_ADDR_SCOPE_TYPE(scope)`, i.e. the scope value shifted left by 16) and its
//! quirks (the loopback address gets link-local scope; IPv4-mapped addresses are not
//! `UNICAST`). There is no IPv6 header view here yet.
//!
//! Linux: include/net/ipv6.h (IPV6_ADDR_* and ipv6_addr_type), net/ipv6/addrconf_core.c
//! (__ipv6_addr_type), include/net/addrconf.h (addrconf_addr_solict_mult, ipv6_eth_mc_map),
//! net/ipv6/addrconf.c (addrconf_ifid_eui48).
//!
//! RFCs: RFC 4291 (addressing architecture, modified EUI-64, solicited-node), RFC 4007
//! (scopes), RFC 7346 (multicast scopes), RFC 2464 (IPv6 over Ethernet, 33:33 mapping),
//! RFC 3810 (MLDv2 all-routers group), RFC 4193 (unique local addresses).

use core::net::Ipv6Addr;

use crate::ethernet::EthernetAddress;

/// ff02::1, all nodes on the link.
pub const ALL_NODES: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 1);
/// ff02::2, all routers on the link.
pub const ALL_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 2);
/// ff02::16, all MLDv2-capable routers.
pub const ALL_MLDV2_ROUTERS: Ipv6Addr = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x16);

/// Linux's `IPV6_ADDR_*` type bits, plus the scope in bits 16.. (`IPV6_ADDR_SCOPE_TYPE`).
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub struct AddrType(pub u32);

impl AddrType {
    /// IPV6_ADDR_ANY (the unspecified address).
    pub const ANY: AddrType = AddrType(0x0000);
    /// IPV6_ADDR_UNICAST.
    pub const UNICAST: AddrType = AddrType(0x0001);
    /// IPV6_ADDR_MULTICAST.
    pub const MULTICAST: AddrType = AddrType(0x0002);
    /// IPV6_ADDR_ANYCAST (never produced by `addr_type`).
    pub const ANYCAST: AddrType = AddrType(0x0004);
    /// IPV6_ADDR_LOOPBACK.
    pub const LOOPBACK: AddrType = AddrType(0x0010);
    /// IPV6_ADDR_LINKLOCAL.
    pub const LINKLOCAL: AddrType = AddrType(0x0020);
    /// IPV6_ADDR_SITELOCAL.
    pub const SITELOCAL: AddrType = AddrType(0x0040);
    /// IPV6_ADDR_COMPATv4.
    pub const COMPATV4: AddrType = AddrType(0x0080);
    /// IPV6_ADDR_SCOPE_MASK.
    pub const SCOPE_MASK: AddrType = AddrType(0x00f0);
    /// IPV6_ADDR_MAPPED.
    pub const MAPPED: AddrType = AddrType(0x1000);
    /// IPV6_ADDR_RESERVED (never produced by `addr_type`).
    pub const RESERVED: AddrType = AddrType(0x2000);

    /// `IPV6_ADDR_SCOPE_TYPE(scope)`: the scope value in bits 16..24.
    pub const fn scope_type(scope: u8) -> AddrType {
        AddrType((scope as u32) << 16)
    }

    /// Whether every bit of `other` is set in `self` (for `ANY`, i.e. 0, always true; test
    /// the unspecified address with `== AddrType::ANY`).
    pub const fn contains(self, other: AddrType) -> bool {
        self.0 & other.0 == other.0
    }

    /// Whether any bit of `other` is set in `self` (the kernel's usual `type & MASK` test).
    pub const fn intersects(self, other: AddrType) -> bool {
        self.0 & other.0 != 0
    }

    /// The scope value stored in bits 16.. (`type >> 16`, as `__ipv6_addr_src_scope`).
    pub const fn scope_value(self) -> u8 {
        (self.0 >> 16) as u8
    }
}

impl core::ops::BitOr for AddrType {
    type Output = AddrType;

    fn bitor(self, rhs: AddrType) -> AddrType {
        AddrType(self.0 | rhs.0)
    }
}

/// Address scopes (RFC 4007, RFC 7346), numbered like the multicast scope field.
#[derive(Clone, Copy, PartialEq, Eq, Debug, Hash, PartialOrd, Ord)]
#[repr(u8)]
pub enum Scope {
    /// Interface-local (multicast scope 1).
    InterfaceLocal = 1,
    /// Link-local.
    LinkLocal = 2,
    /// Admin-local (multicast scope 4).
    AdminLocal = 4,
    /// Site-local (deprecated for unicast, fec0::/10).
    SiteLocal = 5,
    /// Organization-local (multicast scope 8).
    OrganizationLocal = 8,
    /// Global.
    Global = 0xe,
}

const SCOPE_NODELOCAL: u8 = 0x01;
const SCOPE_LINKLOCAL: u8 = 0x02;
const SCOPE_SITELOCAL: u8 = 0x05;
const SCOPE_GLOBAL: u8 = 0x0e;

/// `ipv6_addr_scope2type`.
fn scope2type(scope: u8) -> AddrType {
    match scope {
        SCOPE_NODELOCAL => AddrType::scope_type(SCOPE_NODELOCAL) | AddrType::LOOPBACK,
        SCOPE_LINKLOCAL => AddrType::scope_type(SCOPE_LINKLOCAL) | AddrType::LINKLOCAL,
        SCOPE_SITELOCAL => AddrType::scope_type(SCOPE_SITELOCAL) | AddrType::SITELOCAL,
        s => AddrType::scope_type(s),
    }
}

/// Classify an address exactly as Linux's `__ipv6_addr_type`.
pub fn addr_type(a: &Ipv6Addr) -> AddrType {
    let o = a.octets();
    let w = |i: usize| u32::from_be_bytes([o[4 * i], o[4 * i + 1], o[4 * i + 2], o[4 * i + 3]]);
    let st = w(0);
    let global = AddrType::UNICAST | AddrType::scope_type(SCOPE_GLOBAL);

    // Everything whose first three bits are neither 000 nor 111 is global unicast.
    let top3 = st & 0xe000_0000;
    if top3 != 0 && top3 != 0xe000_0000 {
        return global;
    }
    if st & 0xff00_0000 == 0xff00_0000 {
        return AddrType::MULTICAST | scope2type(o[1] & 0x0f);
    }
    if st & 0xffc0_0000 == 0xfe80_0000 {
        return AddrType::LINKLOCAL | AddrType::UNICAST | AddrType::scope_type(SCOPE_LINKLOCAL);
    }
    if st & 0xffc0_0000 == 0xfec0_0000 {
        return AddrType::SITELOCAL | AddrType::UNICAST | AddrType::scope_type(SCOPE_SITELOCAL);
    }
    if st & 0xfe00_0000 == 0xfc00_0000 {
        return global; // RFC 4193 unique local.
    }
    if w(0) | w(1) == 0 {
        if w(2) == 0 {
            if w(3) == 0 {
                return AddrType::ANY;
            }
            if w(3) == 1 {
                return AddrType::LOOPBACK
                    | AddrType::UNICAST
                    | AddrType::scope_type(SCOPE_LINKLOCAL);
            }
            return AddrType::COMPATV4 | AddrType::UNICAST | AddrType::scope_type(SCOPE_GLOBAL);
        }
        if w(2) == 0x0000_ffff {
            return AddrType::MAPPED | AddrType::scope_type(SCOPE_GLOBAL);
        }
    }
    global
}

/// The scope of an address.
///
/// Multicast: the scope field, with values that have no [`Scope`] variant (0, 3, 6, 7, 9-d,
/// f) mapped to `Global`. Unicast: link-local (fe80::/10) and the loopback address (RFC 4291
/// §2.5.3, and Linux's `addr_type`) are `LinkLocal`, fec0::/10 is `SiteLocal`, everything else
/// (including the unspecified address) is `Global`.
pub fn scope(a: &Ipv6Addr) -> Scope {
    let o = a.octets();
    if o[0] == 0xff {
        return match o[1] & 0x0f {
            1 => Scope::InterfaceLocal,
            2 => Scope::LinkLocal,
            4 => Scope::AdminLocal,
            5 => Scope::SiteLocal,
            8 => Scope::OrganizationLocal,
            _ => Scope::Global,
        };
    }
    let t = addr_type(a);
    if t.intersects(AddrType::LINKLOCAL | AddrType::LOOPBACK) {
        Scope::LinkLocal
    } else if t.intersects(AddrType::SITELOCAL) {
        Scope::SiteLocal
    } else {
        Scope::Global
    }
}

/// The solicited-node multicast group ff02::1:ffXX:XXXX for `a` (RFC 4291 §2.7.1).
pub fn solicited_node(a: &Ipv6Addr) -> Ipv6Addr {
    let o = a.octets();
    let mut g = [0u8; 16];
    g[0] = 0xff;
    g[1] = 0x02;
    g[11] = 0x01;
    g[12] = 0xff;
    g[13..].copy_from_slice(&o[13..]);
    Ipv6Addr::from(g)
}

/// The Ethernet address for an IPv6 multicast group: 33:33 plus the low 32 bits (RFC 2464 §7).
pub fn multicast_mac(a: &Ipv6Addr) -> EthernetAddress {
    let o = a.octets();
    EthernetAddress([0x33, 0x33, o[12], o[13], o[14], o[15]])
}

/// fe80::/64 with the modified EUI-64 interface identifier derived from `mac` (RFC 4291
/// appendix A): flip the U/L bit and insert ff:fe in the middle.
pub fn eui64_link_local(mac: EthernetAddress) -> Ipv6Addr {
    let m = mac.0;
    let mut a = [0u8; 16];
    a[0] = 0xfe;
    a[1] = 0x80;
    a[8..].copy_from_slice(&[m[0] ^ 0x02, m[1], m[2], 0xff, 0xfe, m[3], m[4], m[5]]);
    Ipv6Addr::from(a)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v6(s: &str) -> Ipv6Addr {
        s.parse().unwrap()
    }

    fn t(s: &str) -> u32 {
        addr_type(&v6(s)).0
    }

    #[test]
    fn linux_addr_types() {
        assert_eq!(t("::"), 0);
        assert_eq!(t("::1"), 0x0002_0011);
        assert_eq!(t("fe80::1"), 0x0002_0021);
        assert_eq!(t("fec0::1"), 0x0005_0041);
        assert_eq!(t("2001:db8::1"), 0x000e_0001);
        assert_eq!(t("fd00::1"), 0x000e_0001);
        assert_eq!(t("::ffff:10.0.0.1"), 0x000e_1000);
        assert_eq!(t("::10.0.0.1"), 0x000e_0081);
        assert_eq!(t("ff02::1"), 0x0002_0022);
        assert_eq!(t("ff01::1"), 0x0001_0012);
        assert_eq!(t("ff05::2"), 0x0005_0042);
        assert_eq!(t("ff0e::101"), 0x000e_0002);
        assert_eq!(t("ff08::1"), 0x0008_0002);
        assert_eq!(t("e000::1"), 0x000e_0001); // 111 prefix, not multicast/ll/sl: global
        let a = addr_type(&v6("fe80::1"));
        assert!(a.contains(AddrType::LINKLOCAL | AddrType::UNICAST));
        assert!(!a.contains(AddrType::MULTICAST));
        assert!(a.intersects(AddrType::SCOPE_MASK));
        assert_eq!(a.scope_value(), 2);
    }

    #[test]
    fn scopes() {
        assert_eq!(scope(&v6("ff01::1")), Scope::InterfaceLocal);
        assert_eq!(scope(&ALL_NODES), Scope::LinkLocal);
        assert_eq!(scope(&v6("ff14::1")), Scope::AdminLocal);
        assert_eq!(scope(&v6("ff05::1:3")), Scope::SiteLocal);
        assert_eq!(scope(&v6("ff18::1")), Scope::OrganizationLocal);
        assert_eq!(scope(&v6("ff0e::1")), Scope::Global);
        assert_eq!(scope(&v6("ff03::1")), Scope::Global);
        assert_eq!(scope(&v6("fe80::1")), Scope::LinkLocal);
        assert_eq!(scope(&Ipv6Addr::LOCALHOST), Scope::LinkLocal);
        assert_eq!(scope(&v6("fec0::1")), Scope::SiteLocal);
        assert_eq!(scope(&v6("2001:db8::1")), Scope::Global);
        assert!(Scope::LinkLocal < Scope::Global);
    }

    #[test]
    fn derived_addresses() {
        // From the MLDv2 report captured on veth vA (see crate::fixtures): the interface
        // 9a:b9:a1:7d:cc:f9 used fe80::98b9:a1ff:fe7d:ccf9, joined ff02::1:ff7d:ccf9 and sent
        // to ff02::16 at 33:33:00:00:00:16.
        let mac: EthernetAddress = "9a:b9:a1:7d:cc:f9".parse().unwrap();
        let ll = eui64_link_local(mac);
        assert_eq!(ll, v6("fe80::98b9:a1ff:fe7d:ccf9"));
        assert_eq!(solicited_node(&ll), v6("ff02::1:ff7d:ccf9"));
        assert_eq!(
            multicast_mac(&ALL_MLDV2_ROUTERS),
            "33:33:00:00:00:16".parse().unwrap()
        );
        assert_eq!(
            eui64_link_local("00:40:95:30:b0:a3".parse().unwrap()),
            v6("fe80::240:95ff:fe30:b0a3")
        );
        assert_eq!(ALL_ROUTERS, v6("ff02::2"));
        assert_eq!(
            multicast_mac(&solicited_node(&ll)),
            "33:33:ff:7d:cc:f9".parse().unwrap()
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn classification_is_total(bytes in any::<[u8; 16]>()) {
            let a = Ipv6Addr::from(bytes);
            let ty = addr_type(&a);
            prop_assert_eq!(ty.contains(AddrType::MULTICAST), a.is_multicast());
            let _ = scope(&a);
            let sn = solicited_node(&a);
            prop_assert_eq!(addr_type(&sn).scope_value(), 2);
            prop_assert!(multicast_mac(&sn).is_multicast());
        }
    }
}

//! Network devices: `NetDevice`, its flags, MTU and counters.
//!
//! Linux: include/linux/netdevice.h (`struct net_device`, `struct rtnl_link_stats64`),
//! include/uapi/linux/if.h (`IFF_*`), net/core/dev.c, drivers/net/loopback.c.
//! RFCs: RFC 894 (IP over Ethernet).
//!
//! The core owns the device *model*; the frames themselves are moved by a driver in the
//! `linnet` crate (or the testkit) through `Stack::receive` / `Stack::poll_transmit`.

use alloc::string::String;
use core::fmt;

use linnet_wire::EthernetAddress;

/// Interface index (`dev->ifindex`). Index 0 is never a device.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct IfIndex(pub u32);

impl fmt::Display for IfIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Device flags (`IFF_*`, include/uapi/linux/if.h), with Linux's bit values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct DevFlags(pub u32);

impl DevFlags {
    /// Administratively up.
    pub const UP: DevFlags = DevFlags(0x1);
    /// Has a broadcast address.
    pub const BROADCAST: DevFlags = DevFlags(0x2);
    /// Loopback device.
    pub const LOOPBACK: DevFlags = DevFlags(0x8);
    /// Point-to-point link.
    pub const POINTOPOINT: DevFlags = DevFlags(0x10);
    /// Operationally up.
    pub const RUNNING: DevFlags = DevFlags(0x40);
    /// No ARP on this device.
    pub const NOARP: DevFlags = DevFlags(0x80);
    /// Receives all frames.
    pub const PROMISC: DevFlags = DevFlags(0x100);
    /// Supports multicast.
    pub const MULTICAST: DevFlags = DevFlags(0x1000);
    /// Carrier present.
    pub const LOWER_UP: DevFlags = DevFlags(0x10000);

    /// True if every bit of `other` is set.
    pub fn contains(self, other: DevFlags) -> bool {
        self.0 & other.0 == other.0
    }

    /// Sets or clears the bits of `other`.
    pub fn set(&mut self, other: DevFlags, on: bool) {
        if on {
            self.0 |= other.0
        } else {
            self.0 &= !other.0
        }
    }

    /// The names iproute2 prints inside `<...>`, in its order.
    pub fn names(self) -> impl Iterator<Item = &'static str> {
        const TABLE: [(u32, &str); 8] = [
            (0x8, "LOOPBACK"),
            (0x2, "BROADCAST"),
            (0x10, "POINTOPOINT"),
            (0x1000, "MULTICAST"),
            (0x80, "NOARP"),
            (0x100, "PROMISC"),
            (0x1, "UP"),
            (0x10000, "LOWER_UP"),
        ];
        TABLE
            .into_iter()
            .filter(move |(b, _)| self.0 & b != 0)
            .map(|(_, n)| n)
    }
}

/// What kind of link a device is, which decides its link-layer framing.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceKind {
    /// The loopback device: no link header; all of 127.0.0.0/8 is local; no ARP.
    Loopback,
    /// An Ethernet-like device (TAP, veth, AF_PACKET on an Ethernet interface).
    Ethernet {
        /// The device's hardware address (`dev->dev_addr`).
        mac: EthernetAddress,
    },
    /// An L3-only device (TUN): frames are bare IP packets; no ARP.
    Ip,
}

/// Interface counters (`struct rtnl_link_stats64`), as `ip -s link` shows them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[allow(missing_docs)]
pub struct DevStats {
    pub rx_packets: u64,
    pub tx_packets: u64,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
    pub rx_errors: u64,
    pub tx_errors: u64,
    pub rx_dropped: u64,
    pub tx_dropped: u64,
    pub multicast: u64,
    pub rx_length_errors: u64,
    pub rx_otherhost_dropped: u64,
    pub rx_nohandler: u64,
}

/// Configuration for a new device.
#[derive(Clone, Debug)]
pub struct DeviceConfig {
    /// Interface name (at most 15 bytes, as `IFNAMSIZ` - 1).
    pub name: String,
    /// Link kind.
    pub kind: DeviceKind,
    /// MTU; `None` takes the kind's default (65536 loopback, 1500 otherwise).
    pub mtu: Option<u32>,
}

/// A network interface (Linux: `struct net_device`).
#[derive(Clone, Debug)]
pub struct NetDevice {
    /// `dev->ifindex`.
    pub ifindex: IfIndex,
    /// `dev->name`.
    pub name: String,
    /// Link kind and hardware address.
    pub kind: DeviceKind,
    /// `dev->mtu`.
    pub mtu: u32,
    /// `dev->flags`.
    pub flags: DevFlags,
    /// Counters.
    pub stats: DevStats,
    /// Per-device `arp_ignore` (net.ipv4.conf.DEV.arp_ignore).
    pub arp_ignore: u8,
    /// A `dummy` device (drivers/net/dummy.c): NOARP, and everything sent to it is counted
    /// and discarded.
    pub dummy: bool,
}

/// Largest MTU a device accepts (`ETH_MAX_MTU`).
pub const MAX_MTU: u32 = 65535;
/// Smallest IPv4 MTU (`IPV4_MIN_MTU`).
pub const MIN_MTU: u32 = 68;

impl NetDevice {
    pub(crate) fn new(ifindex: IfIndex, cfg: DeviceConfig) -> NetDevice {
        let (default_mtu, flags) = match cfg.kind {
            DeviceKind::Loopback => (65536, DevFlags::LOOPBACK.0),
            DeviceKind::Ethernet { .. } => (1500, DevFlags::BROADCAST.0 | DevFlags::MULTICAST.0),
            DeviceKind::Ip => (
                1500,
                DevFlags::POINTOPOINT.0 | DevFlags::NOARP.0 | DevFlags::MULTICAST.0,
            ),
        };
        NetDevice {
            ifindex,
            name: cfg.name,
            kind: cfg.kind,
            mtu: cfg.mtu.unwrap_or(default_mtu),
            flags: DevFlags(flags),
            stats: DevStats::default(),
            arp_ignore: 0,
            dummy: false,
        }
    }

    /// True when administratively up.
    pub fn is_up(&self) -> bool {
        self.flags.contains(DevFlags::UP)
    }

    /// The hardware address, for Ethernet-like devices.
    pub fn mac(&self) -> Option<EthernetAddress> {
        match self.kind {
            DeviceKind::Ethernet { mac } => Some(mac),
            _ => None,
        }
    }

    /// True when the device resolves neighbours with ARP.
    pub fn uses_arp(&self) -> bool {
        matches!(self.kind, DeviceKind::Ethernet { .. }) && !self.flags.contains(DevFlags::NOARP)
    }

    /// Link-layer header length this device pushes (`dev->hard_header_len`).
    pub fn hard_header_len(&self) -> usize {
        match self.kind {
            DeviceKind::Ethernet { .. } => linnet_wire::ethernet::HEADER_LEN,
            _ => 0,
        }
    }
}

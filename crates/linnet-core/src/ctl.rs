//! The control plane: typed requests and answers for links, addresses, routes, neighbours
//! and counters, applied to a `Stack` in one place. This is the role rtnetlink plays in
//! Linux; the daemon carries these messages over its control socket and `linnet ip` /
//! `linnet stat` render the answers as iproute2 and net-tools do.
//!
//! Linux: net/core/rtnetlink.c (`rtnl_getlink`, `rtnl_setlink`, `rtnl_dump_ifinfo`),
//! net/ipv4/devinet.c (`inet_rtm_newaddr`, `inet_rtm_deladdr`, `inet_dump_ifaddr`),
//! net/ipv4/fib_frontend.c (`inet_rtm_newroute`, `inet_rtm_delroute`, `inet_dump_fib`),
//! net/core/neighbour.c (`neigh_add`, `neigh_delete`, `neigh_dump_info`),
//! net/ipv4/proc.c (`/proc/net/snmp`).
//! RFCs: RFC 3549 (Netlink as an IP services protocol).
//!
//! Errors carry Linux's errno, as an rtnetlink `NLMSG_ERROR` would.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::Ipv4Addr;

use linnet_wire::ethernet::EthernetAddress;
use linnet_wire::ipv4::Ipv4Cidr;
use serde::{Deserialize, Serialize};

use crate::dev::{DevFlags, DevStats, DeviceKind, IfIndex};
use crate::errno::Errno;
use crate::neigh::NudState;
use crate::stack::{ConfigError, Stack};
use crate::stats::{IcmpMib, IpExtMib, IpMib, NeighStats, TcpExtMib, TcpMib, UdpMib};

/// An IPv4 prefix (`10.0.0.0/24`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Prefix {
    /// Address.
    pub addr: Ipv4Addr,
    /// Prefix length, 0 to 32.
    pub len: u8,
}

impl Prefix {
    fn cidr(self) -> Result<Ipv4Cidr, Errno> {
        Ipv4Cidr::new(self.addr, self.len).map_err(|_| Errno::EINVAL)
    }
}

impl From<Ipv4Cidr> for Prefix {
    fn from(c: Ipv4Cidr) -> Self {
        Prefix {
            addr: c.address,
            len: c.prefix_len,
        }
    }
}

/// Link kind as `ip -d link` would name it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum LinkKind {
    /// `link/loopback`.
    Loopback,
    /// `link/ether`.
    Ether,
    /// `link/none` (TUN).
    None,
}

/// One link (`RTM_NEWLINK` in a dump).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LinkInfo {
    /// `ifindex`.
    pub ifindex: u32,
    /// Name.
    pub name: String,
    /// `IFF_*` flags.
    pub flags: u32,
    /// MTU.
    pub mtu: u32,
    /// Kind.
    pub kind: LinkKind,
    /// Hardware address.
    pub mac: Option<[u8; 6]>,
    /// Counters.
    pub stats: DevStats,
}

/// One address (`RTM_NEWADDR` in a dump).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AddrInfo {
    /// Device index.
    pub ifindex: u32,
    /// Device name.
    pub dev: String,
    /// Address and prefix length.
    pub prefix: Prefix,
    /// Broadcast address.
    pub broadcast: Option<Ipv4Addr>,
    /// `scope host` for loopback addresses, else `scope global`.
    pub scope_host: bool,
}

/// One route of the main table (`RTM_NEWROUTE` in a dump).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteInfo {
    /// Destination.
    pub dst: Prefix,
    /// Gateway.
    pub gateway: Option<Ipv4Addr>,
    /// Device name.
    pub dev: String,
    /// Preferred source.
    pub prefsrc: Option<Ipv4Addr>,
    /// Metric.
    pub metric: u32,
    /// `proto kernel` (installed for an address) rather than `proto static`.
    pub kernel: bool,
}

/// One neighbour (`RTM_NEWNEIGH` in a dump).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NeighInfo {
    /// Address.
    pub addr: Ipv4Addr,
    /// Device name.
    pub dev: String,
    /// Link-layer address.
    pub lladdr: Option<[u8; 6]>,
    /// NUD state.
    pub state: NudState,
}

/// The counters of the stack, as `/proc/net/snmp` and `/proc/net/netstat` hold them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counters {
    /// `Ip:` (Forwarding and DefaultTTL filled in).
    pub ip: IpMib,
    /// `IpExt:`.
    pub ip_ext: IpExtMib,
    /// `Icmp:`.
    pub icmp: IcmpMib,
    /// `IcmpMsg:` as (InTypeN / OutTypeN name, value), only the non-zero ones.
    pub icmp_msg: Vec<(String, u64)>,
    /// `Tcp:` (MaxConn is -1 as its two's complement; see [`TcpMib::display_iter`]).
    pub tcp: TcpMib,
    /// `TcpExt:` (the part kept so far).
    pub tcp_ext: TcpExtMib,
    /// `Udp:`.
    pub udp: UdpMib,
    /// `/proc/net/stat/arp_cache`.
    pub arp: NeighStats,
    /// Drops by reason (Linux name, count), non-zero only.
    pub drops: Vec<(String, u64)>,
}

/// A control request (the netlink role of the control socket).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtlRequest {
    /// `ip link show`.
    LinkList,
    /// `ip link set DEV [up|down] [mtu N] [arp on|off]`.
    LinkSet {
        /// Device name.
        dev: String,
        /// Administrative state.
        up: Option<bool>,
        /// MTU.
        mtu: Option<u32>,
        /// ARP on (true) or off.
        arp: Option<bool>,
    },
    /// `ip link add NAME [mtu N] type dummy`.
    LinkAddDummy {
        /// Device name.
        name: String,
        /// MTU.
        mtu: Option<u32>,
    },
    /// `ip link del NAME`.
    LinkDel {
        /// Device name.
        dev: String,
    },
    /// `ip addr show`.
    AddrList,
    /// `ip addr add PREFIX dev DEV`.
    AddrAdd {
        /// Device name.
        dev: String,
        /// Address.
        prefix: Prefix,
    },
    /// `ip addr del PREFIX dev DEV`.
    AddrDel {
        /// Device name.
        dev: String,
        /// Address.
        prefix: Prefix,
    },
    /// `ip route show`.
    RouteList,
    /// `ip route add PREFIX [via GW] [dev DEV] [metric N]`.
    RouteAdd {
        /// Destination.
        dst: Prefix,
        /// Gateway.
        via: Option<Ipv4Addr>,
        /// Device name; found from the gateway when absent.
        dev: Option<String>,
        /// Metric.
        metric: u32,
    },
    /// `ip route del PREFIX [via GW] [dev DEV] [metric N]`: every route to PREFIX that
    /// matches the selectors given.
    RouteDel {
        /// Destination.
        dst: Prefix,
        /// Gateway.
        via: Option<Ipv4Addr>,
        /// Device name.
        dev: Option<String>,
        /// Metric.
        metric: Option<u32>,
    },
    /// `ip neigh show`.
    NeighList,
    /// `ip neigh add|replace ADDR [lladdr MAC] dev DEV nud STATE`.
    NeighAdd {
        /// Device name.
        dev: String,
        /// Address.
        addr: Ipv4Addr,
        /// Link-layer address.
        lladdr: Option<[u8; 6]>,
        /// State (PERMANENT, REACHABLE, STALE, NOARP, ...).
        state: NudState,
        /// `replace` (NLM_F_REPLACE): update an existing entry; without it an existing
        /// entry is refused with EEXIST (`add`, NLM_F_EXCL).
        replace: bool,
    },
    /// `ip neigh del ADDR dev DEV`.
    NeighDel {
        /// Device name.
        dev: String,
        /// Address.
        addr: Ipv4Addr,
    },
    /// `ip neigh flush dev DEV`.
    NeighFlush {
        /// Device name.
        dev: String,
    },
    /// `netstat -s` / `/proc/net/snmp`.
    Counters,
}

/// The answer to a [`CtlRequest`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum CtlResponse {
    /// Done.
    Ok,
    /// Links.
    Links(Vec<LinkInfo>),
    /// Addresses.
    Addrs(Vec<AddrInfo>),
    /// Routes.
    Routes(Vec<RouteInfo>),
    /// Neighbours.
    Neighs(Vec<NeighInfo>),
    /// Entries removed by a flush.
    Flushed(usize),
    /// Counters.
    Counters(alloc::boxed::Box<Counters>),
    /// Refused, with Linux's errno and a message naming what was wrong.
    Error {
        /// Errno value.
        errno: i32,
        /// What was wrong.
        message: String,
    },
}

fn err(e: Errno, message: impl Into<String>) -> CtlResponse {
    CtlResponse::Error {
        errno: e.code(),
        message: message.into(),
    }
}

fn cfg_err(e: ConfigError, what: &str) -> CtlResponse {
    let why = match e {
        ConfigError::NoSuchDevice => "no such device",
        ConfigError::Exists => "already exists",
        ConfigError::BadName => "bad name",
        ConfigError::BadMtu => "MTU out of range 68..65535",
        ConfigError::NotFound => "not found",
        ConfigError::GatewayUnreachable => "gateway is not on a connected network",
        ConfigError::NotSupported => "Operation not supported",
    };
    err(e.errno(), alloc::format!("{what}: {why}"))
}

impl Stack {
    fn dev_index(&self, name: &str) -> Result<IfIndex, CtlResponse> {
        self.device_by_name(name).map(|d| d.ifindex).ok_or_else(|| {
            err(
                Errno::ENODEV,
                alloc::format!("Cannot find device \"{name}\""),
            )
        })
    }

    /// Applies one control request (rtnetlink's `doit`/`dumpit`).
    pub fn ctl(&mut self, req: &CtlRequest) -> CtlResponse {
        match self.ctl_inner(req) {
            Ok(r) | Err(r) => r,
        }
    }

    fn ctl_inner(&mut self, req: &CtlRequest) -> Result<CtlResponse, CtlResponse> {
        Ok(match req {
            CtlRequest::LinkList => CtlResponse::Links(self.link_infos()),
            CtlRequest::LinkSet { dev, up, mtu, arp } => {
                let idx = self.dev_index(dev)?;
                if let Some(m) = mtu {
                    self.set_mtu(idx, *m).map_err(|e| cfg_err(e, "mtu"))?;
                }
                if let Some(a) = arp {
                    self.set_noarp(idx, !a).map_err(|e| cfg_err(e, "arp"))?;
                }
                if let Some(u) = up {
                    self.set_up(idx, *u).map_err(|e| cfg_err(e, "link"))?;
                }
                CtlResponse::Ok
            }
            CtlRequest::LinkAddDummy { name, mtu } => {
                self.add_dummy(name, *mtu).map_err(|e| cfg_err(e, "link"))?;
                CtlResponse::Ok
            }
            CtlRequest::LinkDel { dev } => {
                let idx = self.dev_index(dev)?;
                self.del_device(idx).map_err(|e| cfg_err(e, "link"))?;
                CtlResponse::Ok
            }
            CtlRequest::AddrList => CtlResponse::Addrs(self.addr_infos()),
            CtlRequest::AddrAdd { dev, prefix } => {
                let idx = self.dev_index(dev)?;
                let c = prefix
                    .cidr()
                    .map_err(|e| err(e, "prefix length above 32"))?;
                self.add_addr(idx, c).map_err(|e| cfg_err(e, "address"))?;
                CtlResponse::Ok
            }
            CtlRequest::AddrDel { dev, prefix } => {
                let idx = self.dev_index(dev)?;
                let c = prefix
                    .cidr()
                    .map_err(|e| err(e, "prefix length above 32"))?;
                self.del_addr(idx, c).map_err(|e| cfg_err(e, "address"))?;
                CtlResponse::Ok
            }
            CtlRequest::RouteList => CtlResponse::Routes(self.route_infos()),
            CtlRequest::RouteAdd {
                dst,
                via,
                dev,
                metric,
            } => {
                let c = dst
                    .cidr()
                    .map_err(|e| err(e, "prefix length above 32"))?
                    .network();
                let idx = match (dev, via) {
                    (Some(d), _) => self.dev_index(d)?,
                    (None, Some(gw)) => self
                        .fib
                        .lookup(*gw, |_| true)
                        .filter(|r| r.gateway.is_none())
                        .map(|r| r.dev)
                        .ok_or_else(|| err(Errno::ENETUNREACH, "Nexthop has invalid gateway"))?,
                    (None, None) => return Err(err(Errno::EINVAL, "need a device or a gateway")),
                };
                self.add_route(c, *via, idx, *metric)
                    .map_err(|e| cfg_err(e, "route"))?;
                CtlResponse::Ok
            }
            CtlRequest::RouteDel {
                dst,
                via,
                dev,
                metric,
            } => {
                let c = dst
                    .cidr()
                    .map_err(|e| err(e, "prefix length above 32"))?
                    .network();
                let idx = match dev {
                    Some(d) => Some(self.dev_index(d)?),
                    None => None,
                };
                let n = self.del_routes(c, |r| {
                    via.is_none_or(|g| r.gateway == Some(g))
                        && idx.is_none_or(|d| r.dev == d)
                        && metric.is_none_or(|m| r.metric == m)
                });
                if n == 0 {
                    return Err(err(Errno::ESRCH, "No such process"));
                }
                CtlResponse::Ok
            }
            CtlRequest::NeighList => CtlResponse::Neighs(self.neigh_infos()),
            CtlRequest::NeighAdd {
                dev,
                addr,
                lladdr,
                state,
                replace,
            } => {
                let idx = self.dev_index(dev)?;
                if !replace && self.arp.get(idx, *addr).is_some() {
                    return Err(err(Errno::EEXIST, "File exists"));
                }
                if state.is_valid() && lladdr.is_none() && *state != NudState::Noarp {
                    return Err(err(Errno::EINVAL, "a valid state needs lladdr"));
                }
                self.neigh_add(idx, *addr, lladdr.map(EthernetAddress), *state)
                    .map_err(|e| cfg_err(e, "neighbour"))?;
                CtlResponse::Ok
            }
            CtlRequest::NeighDel { dev, addr } => {
                let idx = self.dev_index(dev)?;
                // neigh_delete: a missing entry is ENOENT.
                self.neigh_del(idx, *addr)
                    .map_err(|_| err(Errno::ENOENT, "No such file or directory"))?;
                CtlResponse::Ok
            }
            CtlRequest::NeighFlush { dev } => {
                let idx = self.dev_index(dev)?;
                let n = self.arp.flush_dev(idx);
                self.run_neigh_actions();
                CtlResponse::Flushed(n)
            }
            CtlRequest::Counters => CtlResponse::Counters(alloc::boxed::Box::new(self.counters())),
        })
    }

    fn link_infos(&self) -> Vec<LinkInfo> {
        self.devices()
            .map(|d| LinkInfo {
                ifindex: d.ifindex.0,
                name: d.name.clone(),
                flags: d.flags.0,
                mtu: d.mtu,
                kind: match d.kind {
                    DeviceKind::Loopback => LinkKind::Loopback,
                    DeviceKind::Ethernet { .. } => LinkKind::Ether,
                    DeviceKind::Ip => LinkKind::None,
                },
                mac: d.mac().map(|m| m.0),
                stats: d.stats,
            })
            .collect()
    }

    fn addr_infos(&self) -> Vec<AddrInfo> {
        let mut v: Vec<AddrInfo> = self
            .addrs
            .iter()
            .map(|a| AddrInfo {
                ifindex: a.dev.0,
                dev: self.device_name(a.dev),
                prefix: a.cidr.into(),
                broadcast: a.broadcast,
                scope_host: a.cidr.address.is_loopback(),
            })
            .collect();
        v.sort_by_key(|a| a.ifindex);
        v
    }

    fn route_infos(&self) -> Vec<RouteInfo> {
        let mut v: Vec<RouteInfo> = self
            .fib
            .routes()
            .map(|r| RouteInfo {
                dst: r.dst.into(),
                gateway: r.gateway,
                dev: self.device_name(r.dev),
                prefsrc: r.prefsrc,
                metric: r.metric,
                kernel: r.kernel,
            })
            .collect();
        // iproute2 lists the main table default routes first, then by prefix.
        v.sort_by(|a, b| {
            (a.dst.len != 0, u32::from(a.dst.addr), a.dst.len, a.metric).cmp(&(
                b.dst.len != 0,
                u32::from(b.dst.addr),
                b.dst.len,
                b.metric,
            ))
        });
        v
    }

    fn neigh_infos(&self) -> Vec<NeighInfo> {
        let mut v: Vec<NeighInfo> = self
            .arp
            .iter()
            .map(|(dev, addr, n)| NeighInfo {
                addr,
                dev: self.device_name(dev),
                lladdr: n.ha.map(|m| m.0),
                state: n.state,
            })
            .collect();
        v.sort_by_key(|n| (n.dev.clone(), u32::from(n.addr)));
        v
    }

    /// A snapshot of every counter, with Forwarding and DefaultTTL filled in.
    pub fn counters(&self) -> Counters {
        let s = &self.stats;
        let mut ip = s.ip;
        ip.forwarding = if self.cfg.ip_forward { 1 } else { 2 };
        ip.default_ttl = u64::from(self.cfg.ip_default_ttl);
        let mut icmp_msg = Vec::new();
        for (t, &v) in s.icmp_in_type.iter().enumerate().filter(|(_, v)| **v != 0) {
            icmp_msg.push((alloc::format!("InType{t}"), v));
        }
        for (t, &v) in s.icmp_out_type.iter().enumerate().filter(|(_, v)| **v != 0) {
            icmp_msg.push((alloc::format!("OutType{t}"), v));
        }
        let drops = crate::stats::DropReason::ALL
            .iter()
            .map(|r| {
                (
                    r.linux_name().into(),
                    s.drops_for(*r) + s.tx_drops[*r as usize],
                )
            })
            .filter(|(_, v)| *v != 0)
            .collect();
        Counters {
            ip,
            ip_ext: s.ip_ext,
            icmp: s.icmp,
            icmp_msg,
            tcp: s.tcp,
            tcp_ext: s.tcp_ext,
            udp: s.udp,
            arp: self.arp.stats,
            drops,
        }
    }
}

/// Flag helper for renderers: the `IFF_*` names iproute2 prints.
pub fn flag_names(flags: u32) -> Vec<&'static str> {
    DevFlags(flags).names().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{DeviceConfig, StackConfig};

    fn stack() -> Stack {
        let mut s = Stack::new(StackConfig::default(), 1);
        let kind = DeviceKind::Ethernet {
            mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
        };
        s.add_device(DeviceConfig {
            name: "eth0".into(),
            kind,
            mtu: None,
        })
        .unwrap();
        s
    }

    fn p(a: [u8; 4], len: u8) -> Prefix {
        Prefix {
            addr: Ipv4Addr::from(a),
            len,
        }
    }

    #[test]
    fn link_addr_route_requests_configure_the_stack() {
        let mut s = stack();
        let up = CtlRequest::LinkSet {
            dev: "eth0".into(),
            up: Some(true),
            mtu: Some(1400),
            arp: None,
        };
        assert_eq!(s.ctl(&up), CtlResponse::Ok);
        let add = CtlRequest::AddrAdd {
            dev: "eth0".into(),
            prefix: p([10, 0, 0, 1], 24),
        };
        assert_eq!(s.ctl(&add), CtlResponse::Ok);
        let route = CtlRequest::RouteAdd {
            dst: p([0, 0, 0, 0], 0),
            via: Some([10, 0, 0, 254].into()),
            dev: None,
            metric: 0,
        };
        assert_eq!(s.ctl(&route), CtlResponse::Ok);
        let CtlResponse::Links(links) = s.ctl(&CtlRequest::LinkList) else {
            panic!()
        };
        assert_eq!(links[1].mtu, 1400);
        assert!(flag_names(links[1].flags).contains(&"UP"));
        let CtlResponse::Routes(routes) = s.ctl(&CtlRequest::RouteList) else {
            panic!()
        };
        assert_eq!(routes[0].dst.len, 0, "default first");
        assert_eq!(routes[1].dst, p([10, 0, 0, 0], 24));
        assert!(routes[1].kernel);
    }

    #[test]
    fn errors_carry_linux_errno_and_name_the_problem() {
        let mut s = stack();
        let bad = CtlRequest::AddrAdd {
            dev: "eth9".into(),
            prefix: p([10, 0, 0, 1], 24),
        };
        assert_eq!(
            s.ctl(&bad),
            CtlResponse::Error {
                errno: 19,
                message: "Cannot find device \"eth9\"".into()
            }
        );
        let mtu = CtlRequest::LinkSet {
            dev: "eth0".into(),
            up: None,
            mtu: Some(20),
            arp: None,
        };
        assert!(matches!(s.ctl(&mtu), CtlResponse::Error { errno: 22, .. }));
        let gw = CtlRequest::RouteAdd {
            dst: p([0, 0, 0, 0], 0),
            via: Some([192, 0, 2, 1].into()),
            dev: None,
            metric: 0,
        };
        assert!(matches!(s.ctl(&gw), CtlResponse::Error { errno: 101, .. }));
        let del = CtlRequest::RouteDel {
            dst: p([10, 9, 0, 0], 16),
            via: None,
            dev: None,
            metric: None,
        };
        assert!(matches!(s.ctl(&del), CtlResponse::Error { errno: 3, .. }));
    }

    #[test]
    fn permanent_neighbour_is_listed_and_flushed_only_by_delete() {
        let mut s = stack();
        s.ctl(&CtlRequest::LinkSet {
            dev: "eth0".into(),
            up: Some(true),
            mtu: None,
            arp: None,
        });
        let add = CtlRequest::NeighAdd {
            dev: "eth0".into(),
            addr: [10, 0, 0, 2].into(),
            lladdr: Some([2, 0, 0, 0, 0, 2]),
            state: NudState::Permanent,
            replace: false,
        };
        assert_eq!(s.ctl(&add), CtlResponse::Ok);
        assert!(
            matches!(s.ctl(&add), CtlResponse::Error { errno: 17, .. }),
            "add is NLM_F_EXCL"
        );
        assert_eq!(
            s.ctl(&CtlRequest::NeighFlush { dev: "eth0".into() }),
            CtlResponse::Flushed(0)
        );
        let CtlResponse::Neighs(n) = s.ctl(&CtlRequest::NeighList) else {
            panic!()
        };
        assert_eq!(n.len(), 1);
        assert_eq!(n[0].state, NudState::Permanent);
        let del = CtlRequest::NeighDel {
            dev: "eth0".into(),
            addr: [10, 0, 0, 2].into(),
        };
        assert_eq!(s.ctl(&del), CtlResponse::Ok);
        assert!(
            matches!(s.ctl(&del), CtlResponse::Error { errno: 2, .. }),
            "neigh_delete of a missing entry is ENOENT"
        );
    }

    /// `ip link add d0 type dummy` then `ip link del d0`: a dummy device takes addresses and
    /// routes, swallows what is sent to it (counted as transmitted), and its deletion takes
    /// its addresses, routes and neighbours along; `lo` cannot be deleted.
    #[test]
    fn dummy_link_add_and_delete_take_addresses_and_routes_along() {
        let mut s = stack();
        let add = CtlRequest::LinkAddDummy {
            name: "d0".into(),
            mtu: Some(9000),
        };
        assert_eq!(s.ctl(&add), CtlResponse::Ok);
        assert!(matches!(s.ctl(&add), CtlResponse::Error { errno: 17, .. }));
        let up = CtlRequest::LinkSet {
            dev: "d0".into(),
            up: Some(true),
            mtu: None,
            arp: None,
        };
        assert_eq!(s.ctl(&up), CtlResponse::Ok);
        let addr = CtlRequest::AddrAdd {
            dev: "d0".into(),
            prefix: p([192, 0, 2, 1], 24),
        };
        assert_eq!(s.ctl(&addr), CtlResponse::Ok);
        let CtlResponse::Links(links) = s.ctl(&CtlRequest::LinkList) else {
            panic!()
        };
        let d0 = links.iter().find(|l| l.name == "d0").unwrap();
        assert!(flag_names(d0.flags).contains(&"NOARP"));
        assert_eq!(d0.mtu, 9000);
        let sock = s.udp_socket().unwrap();
        let to = core::net::SocketAddrV4::new([192, 0, 2, 9].into(), 9);
        s.udp_send_to(sock, b"into the void", Some(to)).unwrap();
        assert!(
            s.poll_transmit().is_none(),
            "a dummy hands nothing to a driver"
        );
        let idx = s.device_by_name("d0").unwrap().ifindex;
        assert_eq!(s.device(idx).unwrap().stats.tx_packets, 1);
        assert_eq!(
            s.ctl(&CtlRequest::LinkDel { dev: "d0".into() }),
            CtlResponse::Ok
        );
        assert!(s.device(idx).is_none());
        let CtlResponse::Routes(routes) = s.ctl(&CtlRequest::RouteList) else {
            panic!()
        };
        assert!(routes.iter().all(|r| r.dev != "d0"));
        let CtlResponse::Addrs(addrs) = s.ctl(&CtlRequest::AddrList) else {
            panic!()
        };
        assert!(addrs.iter().all(|a| a.dev != "d0"));
        assert_eq!(s.udp_send_to(sock, b"x", Some(to)), Err(Errno::ENETUNREACH));
        let lo = CtlRequest::LinkDel { dev: "lo".into() };
        assert!(matches!(s.ctl(&lo), CtlResponse::Error { errno: 95, .. }));
    }
}

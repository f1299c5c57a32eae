//! Rendering control-plane answers the way Linux's tools print them: iproute2's `ip link`,
//! `ip addr`, `ip route`, `ip neigh` (text and `-j` JSON), net-tools' `netstat -s`, and the
//! `/proc/net/snmp` and `/proc/net/netstat` layouts.
//!
//! Linux: iproute2 ip/ipaddress.c (`print_linkinfo`, `print_addrinfo`), ip/iproute.c
//! (`print_route`), ip/ipneigh.c (`print_neigh`); net-tools statistics.c (`netstat -s`);
//! net/ipv4/proc.c (`snmp_seq_show`).
//! RFCs: none.
//!
//! Deviation from Linux: linnet devices have one FIFO transmit queue and no qdisc layer, so
//! `ip link` prints `qdisc noqueue` for every device.

use std::fmt::Write;

use linnet_core::ctl::{flag_names, AddrInfo, Counters, LinkInfo, LinkKind, NeighInfo, RouteInfo};
use linnet_core::DevFlags;
use serde_json::{json, Value};

fn mac(m: [u8; 6]) -> String {
    linnet_core::wire::EthernetAddress(m).to_string()
}

fn operstate(l: &LinkInfo) -> &'static str {
    if l.kind == LinkKind::Loopback || l.kind == LinkKind::None {
        if l.flags & DevFlags::UP.0 != 0 {
            return "UNKNOWN";
        }
        return "DOWN";
    }
    if l.flags & DevFlags::UP.0 != 0 {
        "UP"
    } else {
        "DOWN"
    }
}

fn link_header(out: &mut String, l: &LinkInfo, with_mode: bool) {
    let flags = flag_names(l.flags).join(",");
    let mode = if with_mode { " mode DEFAULT" } else { "" };
    let _ = writeln!(
        out,
        "{}: {}: <{flags}> mtu {} qdisc noqueue state {}{mode} group default qlen 1000",
        l.ifindex,
        l.name,
        l.mtu,
        operstate(l)
    );
    match l.kind {
        LinkKind::Loopback => {
            let _ = writeln!(
                out,
                "    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00"
            );
        }
        LinkKind::Ether => {
            let m = l.mac.map(mac).unwrap_or_default();
            let _ = writeln!(out, "    link/ether {m} brd ff:ff:ff:ff:ff:ff");
        }
        LinkKind::None => {
            let _ = writeln!(out, "    link/none ");
        }
    }
}

/// `ip link show` (with `-s`, the RX/TX counter blocks).
pub fn ip_link(links: &[LinkInfo], stats: bool) -> String {
    let mut out = String::new();
    for l in links {
        link_header(&mut out, l, true);
        if stats {
            let s = &l.stats;
            let _ = writeln!(out, "    RX:  bytes packets errors dropped  missed   mcast");
            let _ = writeln!(
                out,
                "    {:>10} {:>7} {:>6} {:>7} {:>7} {:>7}",
                s.rx_bytes, s.rx_packets, s.rx_errors, s.rx_dropped, 0, s.multicast
            );
            let _ = writeln!(out, "    TX:  bytes packets errors dropped carrier collsns");
            let _ = writeln!(
                out,
                "    {:>10} {:>7} {:>6} {:>7} {:>7} {:>7}",
                s.tx_bytes, s.tx_packets, s.tx_errors, s.tx_dropped, 0, 0
            );
        }
    }
    out
}

fn link_json(l: &LinkInfo) -> Value {
    let (link_type, address, broadcast) = match l.kind {
        LinkKind::Loopback => ("loopback", Some(mac([0; 6])), Some(mac([0; 6]))),
        LinkKind::Ether => ("ether", l.mac.map(mac), Some(mac([0xff; 6]))),
        LinkKind::None => ("none", None, None),
    };
    let mut v = json!({
        "ifindex": l.ifindex,
        "ifname": l.name,
        "flags": flag_names(l.flags),
        "mtu": l.mtu,
        "qdisc": "noqueue",
        "operstate": operstate(l),
        "linkmode": "DEFAULT",
        "group": "default",
        "txqlen": 1000,
        "link_type": link_type,
    });
    if let (Some(a), Some(b)) = (address, broadcast) {
        v["address"] = json!(a);
        v["broadcast"] = json!(b);
    }
    v
}

/// `ip -j link show`.
pub fn ip_link_json(links: &[LinkInfo]) -> String {
    Value::Array(links.iter().map(link_json).collect()).to_string()
}

/// `ip addr show`.
pub fn ip_addr(links: &[LinkInfo], addrs: &[AddrInfo]) -> String {
    let mut out = String::new();
    for l in links {
        link_header(&mut out, l, false);
        for a in addrs.iter().filter(|a| a.ifindex == l.ifindex) {
            let brd = a.broadcast.map(|b| format!(" brd {b}")).unwrap_or_default();
            let scope = if a.scope_host { "host" } else { "global" };
            let _ = writeln!(
                out,
                "    inet {}/{}{brd} scope {scope} {}",
                a.prefix.addr, a.prefix.len, a.dev
            );
            let _ = writeln!(out, "       valid_lft forever preferred_lft forever");
        }
    }
    out
}

/// `ip -j addr show`.
pub fn ip_addr_json(links: &[LinkInfo], addrs: &[AddrInfo]) -> String {
    let v: Vec<Value> = links
        .iter()
        .map(|l| {
            let mut j = link_json(l);
            let infos: Vec<Value> = addrs
                .iter()
                .filter(|a| a.ifindex == l.ifindex)
                .map(|a| {
                    let mut i = json!({
                        "family": "inet",
                        "local": a.prefix.addr.to_string(),
                        "prefixlen": a.prefix.len,
                        "scope": if a.scope_host { "host" } else { "global" },
                        "label": a.dev,
                        "valid_life_time": 4294967295u32,
                        "preferred_life_time": 4294967295u32,
                    });
                    if let Some(b) = a.broadcast {
                        i["broadcast"] = json!(b.to_string());
                    }
                    i
                })
                .collect();
            j["addr_info"] = Value::Array(infos);
            j
        })
        .collect();
    Value::Array(v).to_string()
}

fn route_dst(r: &RouteInfo) -> String {
    if r.dst.len == 0 {
        "default".into()
    } else if r.dst.len == 32 {
        r.dst.addr.to_string()
    } else {
        format!("{}/{}", r.dst.addr, r.dst.len)
    }
}

/// `ip route show`; with `omit_dev` (a `dev X` filter was given) the device is left out, as
/// iproute2 does. Like iproute2, every field is followed by a space.
pub fn ip_route(routes: &[RouteInfo], omit_dev: bool) -> String {
    let mut out = String::new();
    for r in routes {
        let mut line = route_dst(r);
        if let Some(g) = r.gateway {
            let _ = write!(line, " via {g}");
        }
        if !omit_dev {
            let _ = write!(line, " dev {}", r.dev);
        }
        if r.kernel {
            line.push_str(" proto kernel scope link");
        } else if r.gateway.is_none() {
            // A static route without a gateway is on-link: rtm_scope RT_SCOPE_LINK.
            line.push_str(" scope link");
        }
        if let Some(s) = r.prefsrc {
            let _ = write!(line, " src {s}");
        }
        if r.metric != 0 {
            let _ = write!(line, " metric {}", r.metric);
        }
        let _ = writeln!(out, "{line} ");
    }
    out
}

/// `ip -j route show` (`omit_dev` as for [`ip_route`]).
pub fn ip_route_json(routes: &[RouteInfo], omit_dev: bool) -> String {
    let v: Vec<Value> = routes
        .iter()
        .map(|r| {
            let mut j = json!({ "dst": route_dst(r), "dev": r.dev, "flags": [] });
            if omit_dev {
                if let Some(o) = j.as_object_mut() {
                    o.remove("dev");
                }
            }
            if let Some(g) = r.gateway {
                j["gateway"] = json!(g.to_string());
            }
            if r.kernel {
                j["protocol"] = json!("kernel");
                j["scope"] = json!("link");
            } else if r.gateway.is_none() {
                j["scope"] = json!("link");
            }
            if let Some(s) = r.prefsrc {
                j["prefsrc"] = json!(s.to_string());
            }
            if r.metric != 0 {
                j["metric"] = json!(r.metric);
            }
            j
        })
        .collect();
    Value::Array(v).to_string()
}

/// `ip neigh show` (`omit_dev` as for [`ip_route`]; every field followed by a space).
pub fn ip_neigh(neighs: &[NeighInfo], omit_dev: bool) -> String {
    let mut out = String::new();
    for n in neighs {
        let ll = n
            .lladdr
            .map(|m| format!(" lladdr {}", mac(m)))
            .unwrap_or_default();
        let dev = if omit_dev {
            String::new()
        } else {
            format!(" dev {}", n.dev)
        };
        let _ = writeln!(out, "{}{dev}{ll} {} ", n.addr, n.state.name());
    }
    out
}

/// `ip -j neigh show` (`omit_dev` as for [`ip_route`]).
pub fn ip_neigh_json(neighs: &[NeighInfo], omit_dev: bool) -> String {
    let v: Vec<Value> = neighs
        .iter()
        .map(|n| {
            let mut j =
                json!({ "dst": n.addr.to_string(), "dev": n.dev, "state": [n.state.name()] });
            if omit_dev {
                if let Some(o) = j.as_object_mut() {
                    o.remove("dev");
                }
            }
            if let Some(m) = n.lladdr {
                j["lladdr"] = json!(mac(m));
            }
            j
        })
        .collect();
    Value::Array(v).to_string()
}

fn group(out: &mut String, prefix: &str, pairs: &[(&str, u64)]) {
    let _ = write!(out, "{prefix}:");
    for (n, _) in pairs {
        let _ = write!(out, " {n}");
    }
    let _ = write!(out, "\n{prefix}:");
    for (_, v) in pairs {
        let _ = write!(out, " {v}");
    }
    out.push('\n');
}

/// The `/proc/net/snmp` layout (Ip, Icmp, IcmpMsg, Tcp, Udp), as `linnet stat --raw` prints
/// it. MaxConn is printed signed (-1), as `snmp_seq_show_tcp_udp` does.
pub fn proc_net_snmp(c: &Counters) -> String {
    let mut out = String::new();
    group(&mut out, "Ip", &c.ip.iter().collect::<Vec<_>>());
    group(&mut out, "Icmp", &c.icmp.iter().collect::<Vec<_>>());
    if !c.icmp_msg.is_empty() {
        let pairs: Vec<(&str, u64)> = c.icmp_msg.iter().map(|(n, v)| (n.as_str(), *v)).collect();
        group(&mut out, "IcmpMsg", &pairs);
    }
    let tcp: Vec<(&str, i128)> = c.tcp.display_iter().collect();
    out.push_str("Tcp:");
    for (n, _) in &tcp {
        let _ = write!(out, " {n}");
    }
    out.push_str("\nTcp:");
    for (_, v) in &tcp {
        let _ = write!(out, " {v}");
    }
    out.push('\n');
    group(&mut out, "Udp", &c.udp.iter().collect::<Vec<_>>());
    out
}

/// The `/proc/net/netstat` layout (TcpExt, IpExt), as `linnet stat --raw` prints it after
/// the snmp groups.
pub fn proc_net_netstat(c: &Counters) -> String {
    let mut out = String::new();
    group(&mut out, "TcpExt", &c.tcp_ext.iter().collect::<Vec<_>>());
    group(&mut out, "IpExt", &c.ip_ext.iter().collect::<Vec<_>>());
    out
}

/// How net-tools prints one counter: a format with `{}` for the value, whether it is shown
/// when zero.
type Entry = (&'static str, &'static str, bool);

const IP: &[Entry] = &[
    ("InReceives", "{} total packets received", true),
    ("InHdrErrors", "{} with invalid headers", false),
    ("InAddrErrors", "{} with invalid addresses", false),
    ("ForwDatagrams", "{} forwarded", true),
    ("InUnknownProtos", "{} with unknown protocol", false),
    ("InDiscards", "{} incoming packets discarded", true),
    ("InDelivers", "{} incoming packets delivered", true),
    ("OutRequests", "{} requests sent out", true),
    ("OutDiscards", "{} outgoing packets dropped", false),
    ("OutNoRoutes", "{} dropped because of missing route", false),
    ("ReasmTimeout", "{} fragments dropped after timeout", false),
    ("ReasmReqds", "{} reassemblies required", false),
    ("ReasmOKs", "{} packets reassembled ok", false),
    ("ReasmFails", "{} packet reassembles failed", false),
    ("FragOKs", "{} fragments received ok", false),
    ("FragFails", "{} fragments failed", false),
    ("FragCreates", "{} fragments created", false),
];

const ICMP_HIST: &[(&str, &str)] = &[
    ("DestUnreachs", "destination unreachable"),
    ("TimeExcds", "timeout in transit"),
    ("ParmProbs", "wrong parameters"),
    ("SrcQuenchs", "source quenches"),
    ("Redirects", "redirects"),
    ("Echos", "echo requests"),
    ("EchoReps", "echo replies"),
    ("Timestamps", "timestamp request"),
    ("TimestampReps", "timestamp reply"),
    ("AddrMasks", "address mask request"),
    ("AddrMaskReps", "address mask replies"),
];

const TCP: &[Entry] = &[
    ("ActiveOpens", "{} active connection openings", true),
    ("PassiveOpens", "{} passive connection openings", true),
    ("AttemptFails", "{} failed connection attempts", true),
    ("EstabResets", "{} connection resets received", true),
    ("CurrEstab", "{} connections established", true),
    ("InSegs", "{} segments received", true),
    ("OutSegs", "{} segments sent out", true),
    ("RetransSegs", "{} segments retransmitted", true),
    ("InErrs", "{} bad segments received", true),
    ("OutRsts", "{} resets sent", true),
];

/// net-tools' TcpExt wording for the counters it knows; the others print as `Name: N`.
/// TcpExt lines appear only when non-zero.
const TCP_EXT: &[Entry] = &[
    ("SyncookiesSent", "{} SYN cookies sent", false),
    ("SyncookiesRecv", "{} SYN cookies received", false),
    ("SyncookiesFailed", "{} invalid SYN cookies received", false),
    (
        "EmbryonicRsts",
        "{} resets received for embryonic SYN_RECV sockets",
        false,
    ),
    (
        "OutOfWindowIcmps",
        "{} ICMP packets dropped because they were out-of-window",
        false,
    ),
    (
        "TW",
        "{} TCP sockets finished time wait in fast timer",
        false,
    ),
    ("DelayedACKs", "{} delayed acks sent", false),
    (
        "DelayedACKLost",
        "Quick ack mode was activated {} times",
        false,
    ),
    (
        "ListenOverflows",
        "{} times the listen queue of a socket overflowed",
        false,
    ),
    ("ListenDrops", "{} SYNs to LISTEN sockets dropped", false),
    (
        "TCPRenoRecovery",
        "{} times recovered from packet loss due to fast retransmit",
        false,
    ),
    ("TCPFastRetrans", "{} fast retransmits", false),
    ("TCPSlowStartRetrans", "{} retransmits in slow start", false),
    ("TCPTimeouts", "{} other TCP timeouts", false),
    (
        "TCPAbortOnData",
        "{} connections reset due to unexpected data",
        false,
    ),
    (
        "TCPAbortOnClose",
        "{} connections reset due to early user close",
        false,
    ),
    (
        "TCPAbortOnTimeout",
        "{} connections aborted due to timeout",
        false,
    ),
];

const UDP: &[Entry] = &[
    ("InDatagrams", "{} packets received", true),
    ("NoPorts", "{} packets to unknown port received", true),
    ("InErrors", "{} packet receive errors", true),
    ("OutDatagrams", "{} packets sent", true),
    ("RcvbufErrors", "{} receive buffer errors", true),
    ("SndbufErrors", "{} send buffer errors", true),
];

fn entries(out: &mut String, table: &[Entry], pairs: &[(&str, u64)]) {
    for (name, v) in pairs {
        match table.iter().find(|e| e.0 == *name) {
            Some((_, fmt, always)) if *always || *v != 0 => {
                let _ = writeln!(out, "    {}", fmt.replace("{}", &v.to_string()));
            }
            Some(_) => {}
            None if *v != 0 => {
                let _ = writeln!(out, "    {name}: {v}");
            }
            None => {}
        }
    }
}

/// `netstat -s` (the Ip, Icmp, IcmpMsg, Tcp, Udp, TcpExt and IpExt sections), in net-tools'
/// wording.
pub fn netstat_s(c: &Counters) -> String {
    let mut out = String::from("Ip:\n");
    let _ = writeln!(out, "    Forwarding: {}", c.ip.forwarding);
    let ip: Vec<(&str, u64)> =
        c.ip.iter()
            .filter(|(n, _)| !matches!(*n, "Forwarding" | "DefaultTTL"))
            .collect();
    entries(&mut out, IP, &ip);
    let icmp: Vec<(&str, u64)> = c.icmp.iter().collect();
    let get = |n: &str| icmp.iter().find(|(k, _)| *k == n).map_or(0, |(_, v)| *v);
    out.push_str("Icmp:\n");
    let _ = writeln!(out, "    {} ICMP messages received", get("InMsgs"));
    let _ = writeln!(out, "    {} input ICMP message failed", get("InErrors"));
    for (dir, title) in [("In", "input"), ("Out", "output")] {
        if dir == "Out" {
            let _ = writeln!(out, "    {} ICMP messages sent", get("OutMsgs"));
            let _ = writeln!(out, "    {} ICMP messages failed", get("OutErrors"));
        }
        let hist: Vec<(&str, u64)> = ICMP_HIST
            .iter()
            .map(|(k, label)| (*label, get(&format!("{dir}{k}"))))
            .filter(|(_, v)| *v != 0)
            .collect();
        if !hist.is_empty() {
            let _ = writeln!(out, "    ICMP {title} histogram:");
            for (label, v) in hist {
                let _ = writeln!(out, "        {label}: {v}");
            }
        }
    }
    for n in ["InCsumErrors", "OutRateLimitGlobal", "OutRateLimitHost"] {
        if get(n) != 0 {
            let _ = writeln!(out, "    {n}: {}", get(n));
        }
    }
    if !c.icmp_msg.is_empty() {
        out.push_str("IcmpMsg:\n");
        for (n, v) in &c.icmp_msg {
            let _ = writeln!(out, "        {n}: {v}");
        }
    }
    out.push_str("Tcp:\n");
    // RtoAlgorithm, RtoMin, RtoMax and MaxConn are static: net-tools does not print them.
    let tcp: Vec<(&str, u64)> = c
        .tcp
        .iter()
        .filter(|(n, _)| !matches!(*n, "RtoAlgorithm" | "RtoMin" | "RtoMax" | "MaxConn"))
        .collect();
    entries(&mut out, TCP, &tcp);
    out.push_str("Udp:\n");
    entries(&mut out, UDP, &c.udp.iter().collect::<Vec<_>>());
    out.push_str("TcpExt:\n");
    entries(&mut out, TCP_EXT, &c.tcp_ext.iter().collect::<Vec<_>>());
    out.push_str("IpExt:\n");
    for (n, v) in c.ip_ext.iter().filter(|(_, v)| *v != 0) {
        let _ = writeln!(out, "    {n}: {v}");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use linnet_core::ctl::{CtlRequest, CtlResponse, Prefix};
    use linnet_core::wire::EthernetAddress;
    use linnet_core::{DeviceConfig, DeviceKind, Stack, StackConfig};

    fn stack() -> Stack {
        let mut s = Stack::new(StackConfig::default(), 1);
        let kind = DeviceKind::Ethernet {
            mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
        };
        let dev = s
            .add_device(DeviceConfig {
                name: "eth0".into(),
                kind,
                mtu: None,
            })
            .unwrap();
        s.set_up(dev, true).unwrap();
        let p = Prefix {
            addr: [10, 0, 0, 1].into(),
            len: 24,
        };
        assert_eq!(
            s.ctl(&CtlRequest::AddrAdd {
                dev: "eth0".into(),
                prefix: p
            }),
            CtlResponse::Ok
        );
        s.add_default_route([10, 0, 0, 254].into()).unwrap();
        s
    }

    fn links(s: &mut Stack) -> Vec<LinkInfo> {
        match s.ctl(&CtlRequest::LinkList) {
            CtlResponse::Links(l) => l,
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn ip_addr_matches_iproute2_layout() {
        let mut s = stack();
        let CtlResponse::Addrs(addrs) = s.ctl(&CtlRequest::AddrList) else {
            panic!()
        };
        let text = ip_addr(&links(&mut s), &addrs);
        let want = "\
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN group default qlen 1000
    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
    inet 127.0.0.1/8 scope host lo
       valid_lft forever preferred_lft forever
2: eth0: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP group default qlen 1000
    link/ether 02:00:00:00:00:01 brd ff:ff:ff:ff:ff:ff
    inet 10.0.0.1/24 brd 10.0.0.255 scope global eth0
       valid_lft forever preferred_lft forever
";
        assert_eq!(text, want);
    }

    #[test]
    fn ip_route_matches_iproute2_layout() {
        let mut s = stack();
        let CtlResponse::Routes(routes) = s.ctl(&CtlRequest::RouteList) else {
            panic!()
        };
        assert_eq!(
            ip_route(&routes, false),
            "default via 10.0.0.254 dev eth0 \n\
             10.0.0.0/24 dev eth0 proto kernel scope link src 10.0.0.1 \n"
        );
        assert_eq!(
            ip_route(&routes, true),
            "default via 10.0.0.254 \n10.0.0.0/24 proto kernel scope link src 10.0.0.1 \n",
            "iproute2 leaves the device out under a dev filter"
        );
        let j: Value = serde_json::from_str(&ip_route_json(&routes, false)).unwrap();
        assert_eq!(j[0]["dst"], "default");
        assert_eq!(j[0]["gateway"], "10.0.0.254");
        assert_eq!(j[1]["prefsrc"], "10.0.0.1");
    }

    #[test]
    fn ip_link_json_has_iproute2_keys() {
        let mut s = stack();
        let j: Value = serde_json::from_str(&ip_link_json(&links(&mut s))).unwrap();
        assert_eq!(j[1]["ifname"], "eth0");
        assert_eq!(j[1]["address"], "02:00:00:00:00:01");
        assert_eq!(
            j[1]["flags"],
            json!(["BROADCAST", "MULTICAST", "UP", "LOWER_UP"])
        );
        assert_eq!(j[0]["link_type"], "loopback");
    }

    /// The `/proc/net/snmp` layout, column for column: Udp's nine columns, IcmpMsg with
    /// only the types seen, and Tcp between IcmpMsg and Udp with MaxConn signed.
    #[test]
    fn proc_net_snmp_layout_matches_linux_column_order() {
        let mut c = Stack::new(StackConfig::default(), 1).counters();
        c.udp.no_ports = 35;
        c.udp.in_datagrams = 14;
        c.udp.out_datagrams = 30;
        c.icmp_msg = vec![("OutType3".into(), 1)];
        let text = proc_net_snmp(&c);
        assert!(
            text.starts_with("Ip: Forwarding DefaultTTL InReceives InHdrErrors"),
            "{text}"
        );
        assert!(
            text.contains(
                "IcmpMsg: OutType3\nIcmpMsg: 1\nTcp: RtoAlgorithm RtoMin RtoMax MaxConn \
                 ActiveOpens PassiveOpens AttemptFails EstabResets CurrEstab InSegs OutSegs \
                 RetransSegs InErrs OutRsts InCsumErrors\nTcp: 1 200 120000 -1 0 0 0 0 0 0 0 0 \
                 0 0 0\nUdp:"
            ),
            "{text}"
        );
        assert!(
            text.ends_with(
                "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors \
                 InCsumErrors IgnoredMulti MemErrors\nUdp: 14 35 0 30 0 0 0 0 0\n"
            ),
            "{text}"
        );
        c.tcp_ext.listen_overflows = 3;
        let netstat = proc_net_netstat(&c);
        let names: Vec<&str> = netstat.lines().next().unwrap().split(' ').collect();
        let vals: Vec<&str> = netstat.lines().nth(1).unwrap().split(' ').collect();
        let i = names.iter().position(|n| *n == "ListenOverflows").unwrap();
        assert_eq!(vals[i], "3");
        assert!(netstat.contains("\nIpExt: InMcastPkts"), "{netstat}");
    }

    #[test]
    fn netstat_s_uses_net_tools_wording() {
        let mut s = stack();
        s.ping_send([127, 0, 0, 1].into(), 1, 1, None, b"x")
            .unwrap();
        let CtlResponse::Counters(c) = s.ctl(&CtlRequest::Counters) else {
            panic!()
        };
        let text = netstat_s(&c);
        assert!(
            text.starts_with("Ip:\n    Forwarding: 2\n    2 total packets received\n"),
            "{text}"
        );
        assert!(
            text.contains(
                "    ICMP input histogram:\n        echo requests: 1\n        echo replies: 1\n"
            ),
            "{text}"
        );
        assert!(text.contains("IcmpMsg:\n        InType0: 1\n        InType8: 1\n        OutType0: 1\n        OutType8: 1\n"), "{text}");
        assert!(
            text.contains("Udp:\n    0 packets received\n    0 packets to unknown port received\n"),
            "{text}"
        );
        let raw = proc_net_snmp(&c);
        assert!(raw.contains("Ip: 2 64 2 0"), "{raw}");
        assert!(
            text.contains(
                "Tcp:\n    0 active connection openings\n    0 passive connection openings\n    \
                 0 failed connection attempts\n    0 connection resets received\n    \
                 0 connections established\n    0 segments received\n    0 segments sent out\n    \
                 0 segments retransmitted\n    0 bad segments received\n    0 resets sent\nUdp:\n"
            ),
            "{text}"
        );
        assert!(raw.contains("\nTcp: 1 200 120000 -1 0 0"), "{raw}");
        let pos = |k: &str| raw.find(k).unwrap();
        assert!(pos("IcmpMsg:") < pos("Tcp:") && pos("Tcp:") < pos("Udp:"));
    }

    /// A refused connection shows in the Tcp section and as a reset sent.
    #[test]
    fn netstat_s_counts_tcp_resets() {
        let mut s = stack();
        let l = s.tcp_socket().unwrap();
        let _ = s.tcp_connect(l, std::net::SocketAddrV4::new([127, 0, 0, 1].into(), 9));
        let CtlResponse::Counters(c) = s.ctl(&CtlRequest::Counters) else {
            panic!()
        };
        let text = netstat_s(&c);
        assert!(
            text.contains("    1 active connection openings\n"),
            "{text}"
        );
        assert!(
            text.contains("    1 failed connection attempts\n"),
            "{text}"
        );
        assert!(text.contains("    1 resets sent\n"), "{text}");
        let netstat = proc_net_netstat(&c);
        assert!(
            netstat.starts_with("TcpExt: SyncookiesSent SyncookiesRecv SyncookiesFailed"),
            "{netstat}"
        );
    }
}

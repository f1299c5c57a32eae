//! Rule tests of the socket options that change what the protocols do: `SO_BINDTODEVICE` /
//! `SO_BINDTOIFINDEX` (lookups, bind conflicts, output routing) and `SO_REUSEPORT` (port
//! sharing with a flow hash). One stack (`testutil::Harness`) with a second Ethernet device
//! `eth1` (10.1.0.1/24, same MAC as `eth0`) on virtual time.

use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use super::addr::*;
use super::opt::*;
use super::*;
use crate::dev::IfIndex;
use crate::testutil::*;

const ETH1_IP: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 1);
const ETH1_PEER: Ipv4Addr = Ipv4Addr::new(10, 1, 0, 2);

fn sa(ip: Ipv4Addr, port: u16) -> SockAddr {
    SockAddr::inet(SocketAddrV4::new(ip, port))
}

/// The harness plus `eth1`, with permanent neighbours for the peers on both links.
fn two_links() -> (Harness, IfIndex) {
    let mut h = Harness::new().with_static_peer();
    let eth1 = add_ethernet(&mut h.stack, "eth1", OUR_MAC, ETH1_IP, 24);
    h.stack
        .neigh_add(eth1, ETH1_PEER, Some(PEER_MAC), crate::NudState::Permanent)
        .unwrap();
    (h, eth1)
}

fn sock(h: &mut Harness, ty: i32) -> SocketId {
    h.stack.sys_socket(AF_INET, ty | SOCK_NONBLOCK, 0).unwrap()
}

fn set_int(h: &mut Harness, s: SocketId, name: i32, v: i32) -> Result<(), Errno> {
    h.stack
        .sys_setsockopt(s, SOL_SOCKET, name, &v.to_ne_bytes())
}

fn bind_dev(h: &mut Harness, s: SocketId, name: &str) -> Result<(), Errno> {
    h.stack
        .sys_setsockopt(s, SOL_SOCKET, SO_BINDTODEVICE, name.as_bytes())
}

fn recv(h: &mut Harness, s: SocketId) -> Option<Vec<u8>> {
    let mut b = [0u8; 64];
    let m = h.stack.sys_recvmsg(s, &mut b, 0).ok()?;
    Some(b[..m.len].to_vec())
}

/// A UDP datagram from `src:sport` to `dst:dport` arriving on `dev`.
fn udp_in(h: &mut Harness, dev: IfIndex, src: Ipv4Addr, sport: u16, dst: Ipv4Addr, dport: u16) {
    let f = udp_frame_from(PEER_MAC, src, sport, dst, dport, b"x");
    h.receive_on(dev, &f);
}

/// `sock_setbindtodevice` / `sock_getbindtodevice` / `sock_bindtoindex_locked`: ENODEV for
/// an unknown name; a first binding needs no capability but changing it does (EPERM, as
/// Linux since 5.7); getsockopt needs IFNAMSIZ bytes (EINVAL) and answers the name with
/// its NUL, or length 0 when unbound; SO_BINDTOIFINDEX takes any index >= 0.
#[test]
fn bindtodevice_set_get_and_capability_rule() {
    let (mut h, eth1) = two_links();
    let u = sock(&mut h, SOCK_DGRAM);
    assert_eq!(bind_dev(&mut h, u, "nosuch"), Err(Errno::ENODEV));
    let mut name = [0u8; 16];
    assert_eq!(
        h.stack
            .sys_getsockopt(u, SOL_SOCKET, SO_BINDTODEVICE, &mut name),
        Ok(0)
    );
    // Past IFNAMSIZ - 1 bytes the name is cut; up to a NUL it counts.
    assert_eq!(bind_dev(&mut h, u, "eth1\0junk"), Ok(()));
    let n = h
        .stack
        .sys_getsockopt(u, SOL_SOCKET, SO_BINDTODEVICE, &mut name)
        .unwrap();
    assert_eq!(&name[..n], b"eth1\0");
    let mut short = [0u8; 15];
    assert_eq!(
        h.stack
            .sys_getsockopt(u, SOL_SOCKET, SO_BINDTODEVICE, &mut short),
        Err(Errno::EINVAL)
    );
    let mut idx = [0u8; 4];
    h.stack
        .sys_getsockopt(u, SOL_SOCKET, SO_BINDTOIFINDEX, &mut idx)
        .unwrap();
    assert_eq!(u32::from_ne_bytes(idx), eth1.0);
    // Changing or removing the binding needs CAP_NET_RAW.
    assert_eq!(bind_dev(&mut h, u, "eth0"), Err(Errno::EPERM));
    assert_eq!(bind_dev(&mut h, u, ""), Err(Errno::EPERM));
    h.stack.sock_set_privileged(u, true).unwrap();
    assert_eq!(bind_dev(&mut h, u, ""), Ok(()));
    assert_eq!(
        h.stack
            .sys_getsockopt(u, SOL_SOCKET, SO_BINDTODEVICE, &mut name),
        Ok(0)
    );
    let t = sock(&mut h, SOCK_STREAM);
    assert_eq!(set_int(&mut h, t, SO_BINDTOIFINDEX, -1), Err(Errno::EINVAL));
    assert_eq!(set_int(&mut h, t, SO_BINDTOIFINDEX, 99), Ok(()));
    h.stack
        .sys_getsockopt(t, SOL_SOCKET, SO_BINDTOIFINDEX, &mut idx)
        .unwrap();
    assert_eq!(i32::from_ne_bytes(idx), 99);
    // Bound to a device that does not exist: connect finds no route out of it.
    assert_eq!(h.stack.sys_connect(t, &sa(PEER_IP, 80)), Err(Errno::ENODEV));
}

/// `udp_lib_lport_inuse` and `compute_score`: sockets bound to different devices share a
/// port; an unbound one conflicts with both. A datagram goes to the socket bound to the
/// device it arrived on, whatever address it was sent to (weak host model), and a bound
/// socket beats an unbound one that shares the port with SO_REUSEADDR.
#[test]
fn udp_bound_sockets_share_a_port_and_receive_only_from_their_device() {
    let (mut h, eth1) = two_links();
    let eth0 = h.eth0;
    let a = sock(&mut h, SOCK_DGRAM);
    let b = sock(&mut h, SOCK_DGRAM);
    let c = sock(&mut h, SOCK_DGRAM);
    bind_dev(&mut h, a, "eth0").unwrap();
    bind_dev(&mut h, b, "eth1").unwrap();
    h.stack
        .sys_bind(a, &sa(Ipv4Addr::UNSPECIFIED, 7000))
        .unwrap();
    h.stack
        .sys_bind(b, &sa(Ipv4Addr::UNSPECIFIED, 7000))
        .unwrap();
    assert_eq!(
        h.stack.sys_bind(c, &sa(Ipv4Addr::UNSPECIFIED, 7000)),
        Err(Errno::EADDRINUSE)
    );
    udp_in(&mut h, eth0, PEER_IP, 1, OUR_IP, 7000);
    assert_eq!(recv(&mut h, a).as_deref(), Some(&b"x"[..]));
    assert_eq!(recv(&mut h, b), None);
    // Sent to eth0's address but arriving on eth1: eth1's socket.
    udp_in(&mut h, eth1, ETH1_PEER, 1, OUR_IP, 7000);
    assert_eq!(recv(&mut h, b).as_deref(), Some(&b"x"[..]));
    assert_eq!(recv(&mut h, a), None);

    // With SO_REUSEADDR on both, a bound socket (bound first) still beats the unbound
    // one bound after it, on its own device only.
    let d = sock(&mut h, SOCK_DGRAM);
    let e = sock(&mut h, SOCK_DGRAM);
    for s in [d, e] {
        set_int(&mut h, s, SO_REUSEADDR, 1).unwrap();
    }
    bind_dev(&mut h, d, "eth1").unwrap();
    h.stack
        .sys_bind(d, &sa(Ipv4Addr::UNSPECIFIED, 7001))
        .unwrap();
    h.stack
        .sys_bind(e, &sa(Ipv4Addr::UNSPECIFIED, 7001))
        .unwrap();
    udp_in(&mut h, eth1, ETH1_PEER, 1, ETH1_IP, 7001);
    assert!(recv(&mut h, d).is_some());
    udp_in(&mut h, eth0, PEER_IP, 1, OUR_IP, 7001);
    assert!(recv(&mut h, e).is_some());
    assert_eq!(recv(&mut h, d), None);
}

/// `udp_sendmsg` with `flowi4_oif = sk_bound_dev_if`: a socket bound to eth1 sends a
/// datagram for an eth0 subnet out of eth1 (no route through eth1 matches, so the
/// destination is taken as on-link there, as `ip_route_output_key_hash_rcu` does).
#[test]
fn udp_bound_socket_sends_through_its_device() {
    let (mut h, eth1) = two_links();
    h.stack
        .neigh_add(eth1, PEER_IP, Some(PEER_MAC), crate::NudState::Permanent)
        .unwrap();
    let u = sock(&mut h, SOCK_DGRAM);
    bind_dev(&mut h, u, "eth1").unwrap();
    h.stack
        .sys_sendto(u, b"hi", 0, Some(&sa(PEER_IP, 9)))
        .unwrap();
    let out = h.drain_with_dev();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, eth1);
    let (ip, _, dport, data) = parse_udp(&out[0].1).unwrap();
    assert_eq!((ip.ip.src_addr, dport, &data[..]), (ETH1_IP, 9, &b"hi"[..]));
    // Unbound, the same datagram takes the route: eth0.
    let v = sock(&mut h, SOCK_DGRAM);
    h.stack
        .sys_sendto(v, b"hi", 0, Some(&sa(PEER_IP, 9)))
        .unwrap();
    assert_eq!(h.drain_with_dev()[0].0, h.eth0);
}

/// `inet_csk_bind_conflict` and `__inet_lookup_listener`: listeners on one port bound to
/// different devices coexist; a SYN goes to the listener of the device it arrived on and
/// the SYN-ACK leaves by that device; the child inherits the binding.
#[test]
fn tcp_listeners_per_device() {
    let (mut h, eth1) = two_links();
    let l0 = sock(&mut h, SOCK_STREAM);
    let l1 = sock(&mut h, SOCK_STREAM);
    let any = sock(&mut h, SOCK_STREAM);
    bind_dev(&mut h, l0, "eth0").unwrap();
    bind_dev(&mut h, l1, "eth1").unwrap();
    for l in [l0, l1] {
        h.stack
            .sys_bind(l, &sa(Ipv4Addr::UNSPECIFIED, 8080))
            .unwrap();
        h.stack.sys_listen(l, 8).unwrap();
    }
    assert_eq!(
        h.stack.sys_bind(any, &sa(Ipv4Addr::UNSPECIFIED, 8080)),
        Err(Errno::EADDRINUSE)
    );
    let syn = TcpSeg {
        sport: 4000,
        dport: 8080,
        seq: 100,
        syn: true,
        window: 65535,
        mss: Some(1460),
        ..TcpSeg::default()
    };
    h.receive_on(eth1, &tcp_frame_from(ETH1_PEER, ETH1_IP, &syn));
    let out = h.drain_with_dev();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, eth1);
    let synack = parse_tcp(&out[0].1).unwrap();
    assert!(synack.flags.syn && synack.ack.is_some());
    let ack = TcpSeg {
        sport: 4000,
        dport: 8080,
        seq: 101,
        ack: Some(synack.seq.wrapping_add(1)),
        window: 65535,
        ..TcpSeg::default()
    };
    h.receive_on(eth1, &tcp_frame_from(ETH1_PEER, ETH1_IP, &ack));
    assert_eq!(h.stack.sys_accept4(l0, 0).map(|_| ()), Err(Errno::EAGAIN));
    let (c, peer) = h.stack.sys_accept4(l1, 0).unwrap();
    assert_eq!(peer, SocketAddrV4::new(ETH1_PEER, 4000));
    let mut idx = [0u8; 4];
    h.stack
        .sys_getsockopt(c, SOL_SOCKET, SO_BINDTOIFINDEX, &mut idx)
        .unwrap();
    assert_eq!(u32::from_ne_bytes(idx), eth1.0);
    // The same SYN on eth0 is eth0's listener's.
    h.receive(&tcp_frame_from(PEER_IP, OUR_IP, &syn));
    let out = h.drain_with_dev();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].0, h.eth0);
}

/// `udp_reuseport_add_sock` and `lookup_reuseport`: sockets that set SO_REUSEPORT before
/// bind share the port (one without it is refused), each flow sticks to one member and
/// the flows spread over all of them; a member that closes leaves the others every flow.
#[test]
fn udp_reuseport_spreads_flows_by_hash() {
    let mut h = Harness::new().with_static_peer();
    let eth0 = h.eth0;
    let socks: Vec<SocketId> = (0..4).map(|_| sock(&mut h, SOCK_DGRAM)).collect();
    for &s in &socks {
        set_int(&mut h, s, SO_REUSEPORT, 1).unwrap();
        h.stack
            .sys_bind(s, &sa(Ipv4Addr::UNSPECIFIED, 7100))
            .unwrap();
    }
    let other = sock(&mut h, SOCK_DGRAM);
    assert_eq!(
        h.stack.sys_bind(other, &sa(Ipv4Addr::UNSPECIFIED, 7100)),
        Err(Errno::EADDRINUSE)
    );
    let who = |h: &mut Harness| -> Vec<usize> {
        (0..4).filter(|&i| recv(h, socks[i]).is_some()).collect()
    };
    let mut first = Vec::new();
    let mut hits = [0u32; 4];
    for sport in 2000..2064u16 {
        udp_in(&mut h, eth0, PEER_IP, sport, OUR_IP, 7100);
        let got = who(&mut h);
        assert_eq!(got.len(), 1, "one member per datagram");
        hits[got[0]] += 1;
        first.push(got[0]);
    }
    assert!(hits.iter().all(|&n| n > 0), "{hits:?}");
    // The same flows again land where they did.
    for (k, sport) in (2000..2064u16).enumerate() {
        udp_in(&mut h, eth0, PEER_IP, sport, OUR_IP, 7100);
        assert_eq!(who(&mut h), [first[k]]);
    }
    h.stack.sys_close(socks[0]).unwrap();
    for sport in 2000..2064u16 {
        udp_in(&mut h, eth0, PEER_IP, sport, OUR_IP, 7100);
        let got: Vec<usize> = (1..4)
            .filter(|&i| recv(&mut h, socks[i]).is_some())
            .collect();
        assert_eq!(got.len(), 1);
    }
    assert_eq!(h.stack.stats.udp.no_ports, 0);
}

/// `inet_reuseport_add_sock` and `inet_lhash2_lookup`: listeners with SO_REUSEPORT share
/// an address and port, SYNs spread over them by the 4-tuple, and each accepts its own;
/// a listener without the option is refused (EADDRINUSE), and so is one past the group
/// limit (counted).
#[test]
fn tcp_reuseport_listeners_share_syns() {
    let mut h = Harness::new();
    let ls: Vec<SocketId> = (0..2).map(|_| sock(&mut h, SOCK_STREAM)).collect();
    for &l in &ls {
        set_int(&mut h, l, SO_REUSEPORT, 1).unwrap();
        h.stack.sys_bind(l, &sa(Ipv4Addr::LOCALHOST, 7200)).unwrap();
        h.stack.sys_listen(l, 64).unwrap();
    }
    let plain = sock(&mut h, SOCK_STREAM);
    assert_eq!(
        h.stack.sys_bind(plain, &sa(Ipv4Addr::LOCALHOST, 7200)),
        Err(Errno::EADDRINUSE)
    );
    let mut accepted = [0u32; 2];
    for _ in 0..24 {
        let c = sock(&mut h, SOCK_STREAM);
        let _ = h.stack.sys_connect(c, &sa(Ipv4Addr::LOCALHOST, 7200));
        for (i, &l) in ls.iter().enumerate() {
            while h.stack.sys_accept4(l, 0).is_ok() {
                accepted[i] += 1;
            }
        }
    }
    assert_eq!(accepted.iter().sum::<u32>(), 24);
    assert!(accepted.iter().all(|&n| n > 0), "{accepted:?}");
    // The group limit.
    h.stack.tcp.reuseport.max_socks = 2;
    let third = sock(&mut h, SOCK_STREAM);
    set_int(&mut h, third, SO_REUSEPORT, 1).unwrap();
    h.stack
        .sys_bind(third, &sa(Ipv4Addr::LOCALHOST, 7200))
        .unwrap();
    assert_eq!(h.stack.sys_listen(third, 8), Err(Errno::EADDRINUSE));
    assert_eq!(h.stack.sock_reuseport_group_fulls(), 1);
}

// ---- SO_MARK / SO_PRIORITY -------------------------------------------------------------

/// What the stack sent, with each packet's `skb->mark` and `skb->priority`.
fn drain_meta(h: &mut Harness) -> Vec<(u32, u32, Vec<u8>)> {
    let mut out = Vec::new();
    while let Some((_, skb)) = h.stack.poll_transmit() {
        out.push((skb.mark, skb.priority, skb.data().to_vec()));
        h.stack.recycle(skb);
    }
    out
}

fn get_int(h: &mut Harness, s: SocketId, level: i32, name: i32) -> i32 {
    let mut b = [0u8; 4];
    h.stack.sys_getsockopt(s, level, name, &mut b).unwrap();
    i32::from_ne_bytes(b)
}

/// `sk_setsockopt`: SO_MARK needs CAP_NET_RAW or CAP_NET_ADMIN (EPERM), SO_PRIORITY above
/// 6 (TC_PRIO_INTERACTIVE) or below 0 too; IP_TOS on a datagram socket sets sk_priority
/// from `ip_tos2prio`. Every datagram a UDP socket sends, and every echo request of a ping
/// socket, carries the socket's mark and priority; a socket without them sends 0, 0.
#[test]
fn mark_and_priority_label_udp_and_ping_packets() {
    let cfg = crate::config::StackConfig {
        ping_group_range: (0, 2_147_483_647),
        ..crate::config::StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1).with_static_peer();
    let u = sock(&mut h, SOCK_DGRAM);
    assert_eq!(set_int(&mut h, u, SO_MARK, 0x55), Err(Errno::EPERM));
    assert_eq!(set_int(&mut h, u, SO_PRIORITY, 7), Err(Errno::EPERM));
    assert_eq!(set_int(&mut h, u, SO_PRIORITY, -1), Err(Errno::EPERM));
    assert_eq!(set_int(&mut h, u, SO_PRIORITY, 6), Ok(()));
    h.stack
        .sys_sendto(u, b"a", 0, Some(&sa(PEER_IP, 9)))
        .unwrap();
    let out = drain_meta(&mut h);
    assert_eq!((out.len(), out[0].0, out[0].1), (1, 0, 6));
    h.stack.sock_set_privileged(u, true).unwrap();
    set_int(&mut h, u, SO_MARK, 0x55).unwrap();
    set_int(&mut h, u, SO_PRIORITY, 9).unwrap();
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_MARK), 0x55);
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_PRIORITY), 9);
    h.stack
        .sys_sendto(u, b"b", 0, Some(&sa(PEER_IP, 9)))
        .unwrap();
    let out = drain_meta(&mut h);
    assert_eq!((out[0].0, out[0].1), (0x55, 9));
    assert_eq!(parse_udp(&out[0].2).unwrap().3, b"b");
    // IP_TOS 0x10 (IPTOS_LOWDELAY): ip_tos2prio[8] = TC_PRIO_INTERACTIVE (6).
    h.stack
        .sys_setsockopt(u, SOL_IP, IP_TOS, &0x10i32.to_ne_bytes())
        .unwrap();
    assert_eq!(get_int(&mut h, u, SOL_SOCKET, SO_PRIORITY), 6);
    h.stack
        .sys_sendto(u, b"c", 0, Some(&sa(PEER_IP, 9)))
        .unwrap();
    let out = drain_meta(&mut h);
    assert_eq!((out[0].0, out[0].1), (0x55, 6));
    assert_eq!(parse_ipv4(&out[0].2).unwrap().ip.tos, 0x10);
    // A second socket is unmarked.
    let v = sock(&mut h, SOCK_DGRAM);
    h.stack
        .sys_sendto(v, b"d", 0, Some(&sa(PEER_IP, 9)))
        .unwrap();
    let out = drain_meta(&mut h);
    assert_eq!((out[0].0, out[0].1), (0, 0));
    // Ping.
    let p = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_ICMP)
        .unwrap();
    h.stack.sock_set_privileged(p, true).unwrap();
    set_int(&mut h, p, SO_MARK, 7).unwrap();
    set_int(&mut h, p, SO_PRIORITY, 2).unwrap();
    let echo = icmp_echo(true, 0, 1, b"hi");
    h.stack
        .sys_sendto(p, &echo, 0, Some(&sa(PEER_IP, 0)))
        .unwrap();
    let out = drain_meta(&mut h);
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0, out[0].1), (7, 2));
    assert_eq!(parse_icmp(&out[0].2).unwrap().msg_type, 8);
}

/// TCP: the SYN of a marked socket carries its mark and priority; a listener's SYN-ACK
/// carries the listener's (`ip_build_and_send_pkt`), and the accepted child inherits the
/// mark (`ir_mark` with `tcp_fwmark_accept` off) but starts with priority 0
/// (`sk_clone_lock`; checked against Linux in socket_diff), so its data carries them; the RST
/// a listener answers a stray ACK with carries the listener's (the control socket takes
/// `sk_mark` / `sk_priority`); a RST for no socket carries 0, 0.
#[test]
fn mark_and_priority_on_tcp_segments_and_children() {
    let mut h = Harness::new().with_static_peer();
    let c = sock(&mut h, SOCK_STREAM);
    h.stack.sock_set_privileged(c, true).unwrap();
    set_int(&mut h, c, SO_MARK, 0x101).unwrap();
    set_int(&mut h, c, SO_PRIORITY, 3).unwrap();
    assert_eq!(
        h.stack.sys_connect(c, &sa(PEER_IP, 80)),
        Err(Errno::EINPROGRESS)
    );
    let out = drain_meta(&mut h);
    assert_eq!(out.len(), 1);
    assert!(parse_tcp(&out[0].2).unwrap().flags.syn);
    assert_eq!((out[0].0, out[0].1), (0x101, 3));

    let l = sock(&mut h, SOCK_STREAM);
    h.stack.sock_set_privileged(l, true).unwrap();
    set_int(&mut h, l, SO_MARK, 0x202).unwrap();
    set_int(&mut h, l, SO_PRIORITY, 12).unwrap();
    h.stack.sys_bind(l, &sa(OUR_IP, 8080)).unwrap();
    h.stack.sys_listen(l, 8).unwrap();
    let syn = TcpSeg {
        sport: 4000,
        dport: 8080,
        seq: 100,
        syn: true,
        window: 65535,
        mss: Some(1460),
        ..TcpSeg::default()
    };
    h.receive(&tcp_frame_from(PEER_IP, OUR_IP, &syn));
    let out = drain_meta(&mut h);
    assert_eq!(out.len(), 1);
    let synack = parse_tcp(&out[0].2).unwrap();
    assert!(synack.flags.syn && synack.ack.is_some());
    assert_eq!((out[0].0, out[0].1), (0x202, 12));
    let ack = TcpSeg {
        sport: 4000,
        dport: 8080,
        seq: 101,
        ack: Some(synack.seq.wrapping_add(1)),
        window: 65535,
        ..TcpSeg::default()
    };
    h.receive(&tcp_frame_from(PEER_IP, OUR_IP, &ack));
    let (child, _) = h.stack.sys_accept4(l, 0).unwrap();
    assert_eq!(get_int(&mut h, child, SOL_SOCKET, SO_MARK), 0x202);
    assert_eq!(get_int(&mut h, child, SOL_SOCKET, SO_PRIORITY), 0);
    h.stack.sys_sendto(child, b"data", 0, None).unwrap();
    let out = drain_meta(&mut h);
    let data: Vec<_> = out
        .iter()
        .filter(|o| parse_tcp(&o.2).is_some_and(|t| t.payload == b"data"))
        .collect();
    assert_eq!(data.len(), 1);
    assert_eq!((data[0].0, data[0].1), (0x202, 0));
    // The child's own options change only the child.
    set_int(&mut h, child, SO_MARK, 0x303).unwrap();
    h.stack.sys_sendto(child, b"more", 0, None).unwrap();
    let out = drain_meta(&mut h);
    assert!(out.iter().all(|o| o.0 == 0x303), "{out:?}");
    assert_eq!(get_int(&mut h, l, SOL_SOCKET, SO_MARK), 0x202);

    // A stray ACK to the listener: RST with the listener's mark.
    let stray = TcpSeg {
        sport: 4001,
        dport: 8080,
        seq: 7,
        ack: Some(12345),
        window: 65535,
        ..TcpSeg::default()
    };
    h.receive(&tcp_frame_from(PEER_IP, OUR_IP, &stray));
    let out = drain_meta(&mut h);
    assert_eq!(out.len(), 1);
    assert!(parse_tcp(&out[0].2).unwrap().flags.rst);
    assert_eq!((out[0].0, out[0].1), (0x202, 12));
    // No socket at all: 0, 0.
    let none = TcpSeg {
        dport: 9999,
        ..stray
    };
    h.receive(&tcp_frame_from(PEER_IP, OUR_IP, &none));
    let out = drain_meta(&mut h);
    assert!(parse_tcp(&out[0].2).unwrap().flags.rst);
    assert_eq!((out[0].0, out[0].1), (0, 0));
}

// ---- IP_TTL / IP_TOS / IP_MINTTL on TCP, IP_TOS on ping ---------------------------------

/// `tcp_frame_from` with the IP header's TTL replaced.
fn tcp_frame_ttl(src: Ipv4Addr, dst: Ipv4Addr, s: &TcpSeg, ttl: u8) -> Vec<u8> {
    let mut f = tcp_frame_from(src, dst, s);
    f[14 + 8] = ttl;
    refill_ipv4_checksum(&mut f[14..]);
    f
}

fn set_ip(h: &mut Harness, s: SocketId, name: i32, v: i32) -> Result<(), Errno> {
    h.stack.sys_setsockopt(s, SOL_IP, name, &v.to_ne_bytes())
}

/// `do_ip_setsockopt` on a TCP socket: IP_TTL takes -1 (the default) or 1..=255 (EINVAL
/// otherwise) and sets the TTL of every segment; IP_TOS drops the ECN bits
/// (`__ip_sock_set_tos` on SOCK_STREAM) and sets sk_priority from the TOS. A listener's
/// TTL and TOS are its SYN-ACK's and its child's; on an ECN connection new data carries
/// ECT(0) in the TOS byte's ECN field and getsockopt(IP_TOS) shows it, as `inet->tos`
/// does.
#[test]
fn tcp_ttl_and_tos_per_socket_inherited_by_children() {
    let mut h = Harness::new().with_static_peer();
    let l = sock(&mut h, SOCK_STREAM);
    for bad in [0, 256, -2] {
        assert_eq!(set_ip(&mut h, l, IP_TTL, bad), Err(Errno::EINVAL));
    }
    assert_eq!(get_int(&mut h, l, SOL_IP, IP_TTL), 64);
    set_ip(&mut h, l, IP_TTL, 33).unwrap();
    assert_eq!(get_int(&mut h, l, SOL_IP, IP_TTL), 33);
    set_ip(&mut h, l, IP_TOS, 0x1f).unwrap();
    assert_eq!(get_int(&mut h, l, SOL_IP, IP_TOS), 0x1c);
    // rt_tos2priority(0x1c) = ip_tos2prio[(0x1c & 0x1e) >> 1] = ip_tos2prio[14] = 4.
    assert_eq!(get_int(&mut h, l, SOL_SOCKET, SO_PRIORITY), 4);
    h.stack.sys_bind(l, &sa(OUR_IP, 8080)).unwrap();
    h.stack.sys_listen(l, 8).unwrap();
    let syn = TcpSeg {
        sport: 4000,
        dport: 8080,
        seq: 100,
        syn: true,
        ece: true,
        cwr: true,
        window: 65535,
        mss: Some(1460),
        ..TcpSeg::default()
    };
    let out = h.exchange(&tcp_frame_from(PEER_IP, OUR_IP, &syn));
    let synack = parse_tcp(&out[0]).unwrap();
    assert!(synack.flags.syn && synack.flags.ece);
    assert_eq!((synack.ip.ip.hop_limit, synack.ip.ip.tos), (33, 0x1c));
    let ack = TcpSeg {
        sport: 4000,
        dport: 8080,
        seq: 101,
        ack: Some(synack.seq.wrapping_add(1)),
        window: 65535,
        ..TcpSeg::default()
    };
    h.receive(&tcp_frame_from(PEER_IP, OUR_IP, &ack));
    let (c, _) = h.stack.sys_accept4(l, 0).unwrap();
    assert_eq!(get_int(&mut h, c, SOL_IP, IP_TTL), 33);
    assert_eq!(get_int(&mut h, c, SOL_IP, IP_TOS), 0x1c);
    h.stack.sys_sendto(c, b"data", 0, None).unwrap();
    let segs = tcp_segments(&h.drain());
    let d = segs.iter().find(|t| t.payload == b"data").unwrap();
    assert_eq!((d.ip.ip.hop_limit, d.ip.ip.tos), (33, 0x1c | 2));
    assert_eq!(get_int(&mut h, c, SOL_IP, IP_TOS), 0x1e);
    // Setting ECN bits by hand changes nothing of them.
    set_ip(&mut h, c, IP_TOS, 0x03).unwrap();
    assert_eq!(get_int(&mut h, c, SOL_IP, IP_TOS), 0x02);
    // -1: back to the default TTL.
    set_ip(&mut h, c, IP_TTL, -1).unwrap();
    assert_eq!(get_int(&mut h, c, SOL_IP, IP_TTL), 64);
    h.stack
        .sys_setsockopt(c, SOL_TCP, TCP_NODELAY, &1i32.to_ne_bytes())
        .unwrap();
    h.stack.sys_sendto(c, b"more", 0, None).unwrap();
    let segs = tcp_segments(&h.drain());
    let d = segs.iter().find(|t| t.payload == b"more").unwrap();
    assert_eq!((d.ip.ip.hop_limit, d.ip.ip.tos), (64, 0x02));
    // An active open uses its own TTL from the SYN on.
    let a = sock(&mut h, SOCK_STREAM);
    set_ip(&mut h, a, IP_TTL, 7).unwrap();
    set_ip(&mut h, a, IP_TOS, 0x10).unwrap();
    let _ = h.stack.sys_connect(a, &sa(PEER_IP, 80));
    let segs = tcp_segments(&h.drain());
    assert_eq!(segs.len(), 1);
    assert_eq!((segs[0].ip.ip.hop_limit, segs[0].ip.ip.tos), (7, 0x10));
}

/// `IP_MINTTL` (RFC 5082): 0..=255 (EINVAL otherwise); a listener drops SYNs below it and
/// a connection (inheriting it) drops segments below it, each counted in TCPMinTTLDrop;
/// segments at or above it pass.
#[test]
fn tcp_min_ttl_drops_low_ttl_segments() {
    let mut h = Harness::new().with_static_peer();
    let l = sock(&mut h, SOCK_STREAM);
    assert_eq!(set_ip(&mut h, l, IP_MINTTL, 256), Err(Errno::EINVAL));
    assert_eq!(set_ip(&mut h, l, IP_MINTTL, -1), Err(Errno::EINVAL));
    set_ip(&mut h, l, IP_MINTTL, 250).unwrap();
    assert_eq!(get_int(&mut h, l, SOL_IP, IP_MINTTL), 250);
    h.stack.sys_bind(l, &sa(OUR_IP, 8080)).unwrap();
    h.stack.sys_listen(l, 8).unwrap();
    let syn = TcpSeg {
        sport: 4000,
        dport: 8080,
        seq: 100,
        syn: true,
        window: 65535,
        mss: Some(1460),
        ..TcpSeg::default()
    };
    h.receive(&tcp_frame_ttl(PEER_IP, OUR_IP, &syn, 249));
    assert!(h.drain().is_empty());
    assert_eq!(h.stack.stats().tcp_ext.tcp_min_ttl_drop, 1);
    let out = h.exchange(&tcp_frame_ttl(PEER_IP, OUR_IP, &syn, 255));
    let synack = parse_tcp(&out[0]).unwrap();
    let ack = TcpSeg {
        sport: 4000,
        dport: 8080,
        seq: 101,
        ack: Some(synack.seq.wrapping_add(1)),
        window: 65535,
        ..TcpSeg::default()
    };
    h.receive(&tcp_frame_ttl(PEER_IP, OUR_IP, &ack, 250));
    let (c, _) = h.stack.sys_accept4(l, 0).unwrap();
    assert_eq!(get_int(&mut h, c, SOL_IP, IP_MINTTL), 250);
    let data = TcpSeg {
        payload: b"low".to_vec(),
        psh: true,
        ..ack.clone()
    };
    h.receive(&tcp_frame_ttl(PEER_IP, OUR_IP, &data, 64));
    assert_eq!(h.stack.stats().tcp_ext.tcp_min_ttl_drop, 2);
    assert_eq!(recv(&mut h, c), None);
    h.receive(&tcp_frame_ttl(PEER_IP, OUR_IP, &data, 255));
    assert_eq!(recv(&mut h, c).as_deref(), Some(&b"low"[..]));
    assert_eq!(h.stack.stats().tcp_ext.tcp_min_ttl_drop, 2);
    // Accepted on a UDP socket too, where nothing reads it.
    let u = sock(&mut h, SOCK_DGRAM);
    set_ip(&mut h, u, IP_MINTTL, 9).unwrap();
    assert_eq!(get_int(&mut h, u, SOL_IP, IP_MINTTL), 9);
}

/// IP_TOS on a ping socket: the echo requests carry it (the whole byte, as on any
/// datagram socket) and sk_priority follows it.
#[test]
fn ping_ip_tos() {
    let cfg = crate::config::StackConfig {
        ping_group_range: (0, 2_147_483_647),
        ..crate::config::StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, 1).with_static_peer();
    let p = h
        .stack
        .sys_socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, IPPROTO_ICMP)
        .unwrap();
    set_ip(&mut h, p, IP_TOS, 0x11).unwrap();
    assert_eq!(get_int(&mut h, p, SOL_IP, IP_TOS), 0x11);
    assert_eq!(get_int(&mut h, p, SOL_SOCKET, SO_PRIORITY), 6);
    let echo = icmp_echo(true, 0, 1, b"hi");
    h.stack
        .sys_sendto(p, &echo, 0, Some(&sa(PEER_IP, 0)))
        .unwrap();
    let out = drain_meta(&mut h);
    assert_eq!(out.len(), 1);
    assert_eq!(parse_ipv4(&out[0].2).unwrap().ip.tos, 0x11);
    assert_eq!(out[0].1, 6);
}

// ---- IP_TRANSPARENT on TCP ----------------------------------------------------------------

/// `IP_TRANSPARENT` on a TCP socket: EPERM unprivileged; with it a socket binds an address
/// that is not ours (EADDRNOTAVAIL without) and connects from it: the SYN leaves from that
/// address and, on a device in transparent mode (the role of Linux's tproxy policy
/// routing), the SYN-ACK to it completes the handshake.
#[test]
fn tcp_ip_transparent_binds_and_connects_from_a_foreign_address() {
    const FOREIGN: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 9);
    let mut h = Harness::new().with_static_peer();
    // The device's transparent mode (what the nftables rule + ip rule do in Linux).
    let tl = h.stack.tcp_socket().unwrap();
    h.stack
        .tcp_bind(tl, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 12_345))
        .unwrap();
    let dev = h.eth0;
    h.stack.tcp_listen_transparent(tl, dev, 4).unwrap();

    let t = sock(&mut h, SOCK_STREAM);
    assert_eq!(get_int(&mut h, t, SOL_IP, IP_TRANSPARENT), 0);
    assert_eq!(
        h.stack.sys_bind(t, &sa(FOREIGN, 5000)),
        Err(Errno::EADDRNOTAVAIL)
    );
    assert_eq!(set_ip(&mut h, t, IP_TRANSPARENT, 1), Err(Errno::EPERM));
    h.stack.sock_set_privileged(t, true).unwrap();
    set_ip(&mut h, t, IP_TRANSPARENT, 1).unwrap();
    assert_eq!(get_int(&mut h, t, SOL_IP, IP_TRANSPARENT), 1);
    h.stack.sys_bind(t, &sa(FOREIGN, 5000)).unwrap();
    assert_eq!(
        h.stack.sys_getsockname(t),
        Ok(SocketAddrV4::new(FOREIGN, 5000))
    );
    assert_eq!(
        h.stack.sys_connect(t, &sa(PEER_IP, 80)),
        Err(Errno::EINPROGRESS)
    );
    let segs = tcp_segments(&h.drain());
    assert_eq!(segs.len(), 1);
    let syn = &segs[0];
    assert!(syn.flags.syn && syn.ack.is_none());
    assert_eq!((syn.ip.ip.src_addr, syn.sport), (FOREIGN, 5000));
    let synack = TcpSeg {
        sport: 80,
        dport: 5000,
        seq: 7000,
        ack: Some(syn.seq.wrapping_add(1)),
        syn: true,
        window: 65535,
        mss: Some(1460),
        ..TcpSeg::default()
    };
    let out = tcp_segments(&h.exchange(&tcp_frame_from(PEER_IP, FOREIGN, &synack)));
    assert_eq!(out.len(), 1, "{out:#?}");
    assert!(out[0].flags.ack && !out[0].flags.syn && !out[0].flags.rst);
    assert_eq!(out[0].ip.ip.src_addr, FOREIGN);
    assert_eq!(h.stack.sys_connect_complete(t), Ok(()));
    assert_eq!(
        h.stack.sys_getpeername(t),
        Ok(SocketAddrV4::new(PEER_IP, 80))
    );
    // Nothing reached the accept-any listener.
    assert_eq!(h.stack.tcp_accept(tl).map(|_| ()), Err(Errno::EAGAIN));
}

/// `IP_RECVERR` on a TCP socket (`do_ip_setsockopt` sets `inet->recverr`): a boolean,
/// read back as 0/1, copied into a listener's children (`sk_clone_lock` copies the inet
/// flags). Its effect on ICMP errors is in `tcp::handshake_tests`.
#[test]
fn tcp_ip_recverr_set_get_and_inherited() {
    let mut h = Harness::new().with_static_peer();
    let l = sock(&mut h, SOCK_STREAM);
    assert_eq!(get_int(&mut h, l, SOL_IP, IP_RECVERR), 0);
    set_ip(&mut h, l, IP_RECVERR, 5).unwrap();
    assert_eq!(get_int(&mut h, l, SOL_IP, IP_RECVERR), 1);
    h.stack.sys_bind(l, &sa(OUR_IP, 8081)).unwrap();
    h.stack.sys_listen(l, 8).unwrap();
    let syn = TcpSeg {
        sport: 4001,
        dport: 8081,
        seq: 100,
        syn: true,
        window: 65535,
        mss: Some(1460),
        ..TcpSeg::default()
    };
    let out = h.exchange(&tcp_frame_from(PEER_IP, OUR_IP, &syn));
    let synack = parse_tcp(&out[0]).unwrap();
    let ack = TcpSeg {
        sport: 4001,
        dport: 8081,
        seq: 101,
        ack: Some(synack.seq.wrapping_add(1)),
        window: 65535,
        ..TcpSeg::default()
    };
    h.receive(&tcp_frame_from(PEER_IP, OUR_IP, &ack));
    let (c, _) = h.stack.sys_accept4(l, 0).unwrap();
    assert_eq!(get_int(&mut h, c, SOL_IP, IP_RECVERR), 1);
    set_ip(&mut h, c, IP_RECVERR, 0).unwrap();
    assert_eq!(get_int(&mut h, c, SOL_IP, IP_RECVERR), 0);
    assert_eq!(get_int(&mut h, l, SOL_IP, IP_RECVERR), 1);
}

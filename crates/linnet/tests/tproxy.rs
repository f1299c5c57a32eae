//! Transparent accept-any mode across two runtimes joined by an in-memory link: host A
//! routes 203.0.113.0/24 and 198.51.100.0/24 via host B, whose transparent TCP listener and
//! UDP socket take connections and datagrams to any of those addresses, see the original
//! destination, and answer from it (tun2socks style). Needs no root.
//!
//! Linux: `IP_TRANSPARENT` sockets plus nftables `tproxy` rules (net/netfilter/
//! nf_tproxy_ipv4.c, net/ipv4/ip_sockglue.c `IP_RECVORIGDSTADDR`).

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::thread;
use std::time::Duration;

use linnet::core::{DeviceKind, IfIndex, Stack, StackConfig};
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::wire::EthernetAddress;
use linnet::{MemoryDevice, Runtime, TcpListener, TcpStream, UdpSocket};

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Generous: only reached when something is broken.
const WAIT: Duration = Duration::from_secs(20);

/// A and B on a veth-like pair; A routes the two test nets via B. Returns B's device.
fn two_hosts() -> (Runtime, Runtime, IfIndex) {
    let (a, b) = MemoryDevice::pair(
        "veth0",
        DeviceKind::Ethernet {
            mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
        },
        "veth1",
        DeviceKind::Ethernet {
            mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
        },
    );
    let host = |dev, ip, seed| {
        let rt = Runtime::new(Stack::new(StackConfig::default(), seed)).unwrap();
        let idx = rt.add_device(dev).unwrap();
        rt.with_stack(|s| {
            s.set_up(idx, true).unwrap();
            s.add_addr(idx, Ipv4Cidr::new(ip, 24).unwrap()).unwrap();
        });
        (rt, idx)
    };
    let (ra, a_idx) = host(a, A_IP, 1);
    let (rb, b_idx) = host(b, B_IP, 2);
    ra.with_stack(|s| {
        for net in [
            Ipv4Addr::new(203, 0, 113, 0),
            Ipv4Addr::new(198, 51, 100, 0),
        ] {
            s.add_route(Ipv4Cidr::new(net, 24).unwrap(), Some(B_IP), a_idx, 0)
                .unwrap();
        }
    });
    (ra, rb, b_idx)
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

/// A connects to two arbitrary addresses behind B; B's one transparent listener accepts
/// both, each stream's local address is the address A dialled, and the echo comes back on
/// A's streams (so B's segments left from those addresses).
#[test]
fn tcp_connections_to_any_address_reach_the_transparent_listener() {
    let (ra, rb, b_dev) = two_hosts();
    let l =
        TcpListener::bind_transparent(rb.handle(), sa(Ipv4Addr::UNSPECIFIED, 1080), b_dev).unwrap();
    let targets = [
        sa(Ipv4Addr::new(203, 0, 113, 9), 443),
        sa(Ipv4Addr::new(198, 51, 100, 77), 8080),
    ];
    let server = thread::spawn(move || {
        let mut seen = Vec::new();
        for _ in 0..2 {
            let (mut s, peer) = l.accept_timeout(Some(WAIT)).unwrap();
            assert_eq!(peer.ip(), std::net::IpAddr::V4(A_IP));
            let orig = s.local_addr().unwrap();
            let mut buf = [0u8; 5];
            s.read_exact(&mut buf).unwrap();
            s.write_all(format!("{orig}").as_bytes()).unwrap();
            s.shutdown(std::net::Shutdown::Write).unwrap();
            seen.push(orig);
        }
        seen
    });
    for t in targets {
        let mut c = TcpStream::connect_timeout(ra.handle(), &t, WAIT).unwrap();
        assert_eq!(c.peer_addr().unwrap(), t);
        c.set_read_timeout(Some(WAIT)).unwrap();
        c.write_all(b"hello").unwrap();
        let mut reply = String::new();
        c.read_to_string(&mut reply).unwrap();
        assert_eq!(reply, t.to_string(), "B saw the address A dialled");
    }
    assert_eq!(server.join().unwrap(), targets.to_vec());
}

/// A sends a datagram to 198.51.100.7:53 via B; B's transparent socket receives it with
/// that original destination, and a reply socket bound to the foreign address (allowed by
/// IP_TRANSPARENT) answers from it: A's socket, connected to 198.51.100.7:53, accepts it.
#[test]
fn udp_flow_to_any_address_with_original_destination_and_reply() {
    let (ra, rb, b_dev) = two_hosts();
    let t = UdpSocket::bind_transparent(rb.handle(), sa(Ipv4Addr::UNSPECIFIED, 5353), Some(b_dev))
        .unwrap();
    t.set_read_timeout(Some(WAIT)).unwrap();
    let target = sa(Ipv4Addr::new(198, 51, 100, 7), 53);
    let c = UdpSocket::bind(ra.handle(), sa(A_IP, 0)).unwrap();
    c.connect(target).unwrap();
    c.set_read_timeout(Some(WAIT)).unwrap();
    c.send(b"query").unwrap();
    let mut buf = [0u8; 32];
    let m = t.recv_msg(&mut buf).unwrap();
    assert_eq!(&buf[..m.len], b"query");
    assert_eq!(SocketAddr::V4(m.orig_dst), target);
    assert_eq!(SocketAddr::V4(m.from), c.local_addr().unwrap());
    let reply = UdpSocket::bind_transparent(rb.handle(), target, None).unwrap();
    reply.send_to(b"answer", m.from).unwrap();
    let n = c.recv(&mut buf).unwrap();
    assert_eq!(&buf[..n], b"answer");
}

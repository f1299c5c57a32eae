//! Scenarios shared by the per-packet benchmarks: the prebuilt frames and one linnet
//! `Stack` per data path, each with a `step()` that moves exactly one packet.
//!
//! Used by `benches/per_packet.rs` (criterion) and, through `#[path]`, by the comparison
//! crate `bench-compare/` (criterion side by side with smoltcp, and the instruction-count
//! harness run under callgrind), so every number measures the same code.
//!
//! The host under test is 10.0.0.1/24 at 02:00:00:00:00:01 on an Ethernet device; the
//! peer is 10.0.0.2 at 02:00:00:00:00:02, with a permanent ARP entry so that no resolution
//! happens on the measured path. Time is held constant: nothing on these paths is timed.

#![allow(dead_code)]

use core::net::{Ipv4Addr, SocketAddrV4};

use linnet_core::wire::ipv4::Ipv4Cidr;
use linnet_core::wire::EthernetAddress;
use linnet_core::{
    DeviceConfig, DeviceKind, IfIndex, Instant, NudState, SkBuff, SocketHandle, Stack, StackConfig,
};

/// Our hardware address.
pub const OUR_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x01];
/// The peer's hardware address.
pub const PEER_MAC: [u8; 6] = [0x02, 0, 0, 0, 0, 0x02];
/// Our IPv4 address (a /24).
pub const OUR_IP: [u8; 4] = [10, 0, 0, 1];
/// The peer's IPv4 address.
pub const PEER_IP: [u8; 4] = [10, 0, 0, 2];
/// The UDP port our socket is bound to.
pub const OUR_PORT: u16 = 7777;
/// The peer's UDP port.
pub const PEER_PORT: u16 = 40000;
/// UDP payload size of every datagram, both directions.
pub const UDP_PAYLOAD: usize = 64;
/// Data bytes after the ICMP echo header (the default of `ping`).
pub const ECHO_DATA: usize = 56;
/// Echo identifier and sequence number of the request.
pub const ECHO_ID: u16 = 0x1234;
/// Echo sequence number.
pub const ECHO_SEQ: u16 = 1;
/// First port of the extra sockets of the many-sockets scenario.
pub const EXTRA_PORT_BASE: u16 = 10_000;
/// Extra bound UDP sockets in the many-sockets scenario.
pub const MANY_SOCKETS: usize = 256;
/// Packets put in the buffer pool before measuring.
pub const PREFILL: usize = 64;

/// The (constant) time every packet is fed at.
pub const NOW: Instant = Instant::from_secs(1);

/// RFC 1071 Internet checksum of `data`, with `initial` folded in.
pub fn checksum(initial: u32, data: &[u8]) -> u16 {
    let mut sum = initial;
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        sum += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [b] = chunks.remainder() {
        sum += u32::from(u16::from_be_bytes([*b, 0]));
    }
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// Ethernet + IPv4 (20-byte header, DF, TTL 64) around an L4 payload.
fn eth_ipv4(
    src_mac: [u8; 6],
    dst_mac: [u8; 6],
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = Vec::with_capacity(14 + 20 + l4.len());
    f.extend_from_slice(&dst_mac);
    f.extend_from_slice(&src_mac);
    f.extend_from_slice(&[0x08, 0x00]);
    let total = (20 + l4.len()) as u16;
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&total.to_be_bytes());
    ip[4..6].copy_from_slice(&0x0102u16.to_be_bytes());
    ip[6] = 0x40; // DF
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src);
    ip[16..20].copy_from_slice(&dst);
    let c = checksum(0, &ip);
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(l4);
    f
}

/// The payload every datagram carries.
pub fn payload() -> [u8; UDP_PAYLOAD] {
    core::array::from_fn(|i| i as u8)
}

/// Peer 10.0.0.2:40000 -> us 10.0.0.1:7777, 64 bytes of payload: 106 bytes on the wire.
pub fn udp_frame() -> Vec<u8> {
    let data = payload();
    let len = (8 + data.len()) as u16;
    let mut udp = Vec::with_capacity(len as usize);
    udp.extend_from_slice(&PEER_PORT.to_be_bytes());
    udp.extend_from_slice(&OUR_PORT.to_be_bytes());
    udp.extend_from_slice(&len.to_be_bytes());
    udp.extend_from_slice(&[0, 0]);
    udp.extend_from_slice(&data);
    let mut pseudo = 0u32;
    for w in [PEER_IP, OUR_IP] {
        pseudo += u32::from(u16::from_be_bytes([w[0], w[1]]))
            + u32::from(u16::from_be_bytes([w[2], w[3]]));
    }
    pseudo += 17 + u32::from(len);
    let mut c = checksum(pseudo, &udp);
    if c == 0 {
        c = 0xffff;
    }
    udp[6..8].copy_from_slice(&c.to_be_bytes());
    eth_ipv4(PEER_MAC, OUR_MAC, PEER_IP, OUR_IP, 17, &udp)
}

/// An ICMP echo request from the peer to us, 56 data bytes: 98 bytes on the wire.
pub fn echo_request_frame() -> Vec<u8> {
    let mut icmp = vec![8u8, 0, 0, 0];
    icmp.extend_from_slice(&ECHO_ID.to_be_bytes());
    icmp.extend_from_slice(&ECHO_SEQ.to_be_bytes());
    icmp.extend((0..ECHO_DATA).map(|i| (i as u8).wrapping_add(0x10)));
    let c = checksum(0, &icmp);
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    eth_ipv4(PEER_MAC, OUR_MAC, PEER_IP, OUR_IP, 1, &icmp)
}

/// Checks that `frame` is the echo reply to [`echo_request_frame`]: addresses swapped,
/// type 0, same identifier, sequence and data, valid checksums.
pub fn check_echo_reply(frame: &[u8]) -> Result<(), String> {
    let req = echo_request_frame();
    let want_len = req.len();
    if frame.len() != want_len {
        return Err(format!("reply is {} bytes, want {want_len}", frame.len()));
    }
    if frame[0..6] != PEER_MAC || frame[6..12] != OUR_MAC || frame[12..14] != [0x08, 0x00] {
        return Err("bad Ethernet header".into());
    }
    let ip = &frame[14..34];
    if checksum(0, ip) != 0 || ip[9] != 1 || ip[12..16] != OUR_IP || ip[16..20] != PEER_IP {
        return Err("bad IPv4 header".into());
    }
    let icmp = &frame[34..];
    if icmp[0] != 0 || checksum(0, icmp) != 0 || icmp[4..] != req[38..] {
        return Err("bad ICMP echo reply".into());
    }
    Ok(())
}

/// Checks that `frame` is our UDP datagram to the peer carrying [`payload`].
pub fn check_udp_out(frame: &[u8]) -> Result<(), String> {
    if frame.len() != 14 + 20 + 8 + UDP_PAYLOAD {
        return Err(format!("datagram frame is {} bytes", frame.len()));
    }
    if frame[0..6] != PEER_MAC || frame[6..12] != OUR_MAC {
        return Err("bad Ethernet header".into());
    }
    let ip = &frame[14..34];
    if checksum(0, ip) != 0 || ip[9] != 17 || ip[12..16] != OUR_IP || ip[16..20] != PEER_IP {
        return Err("bad IPv4 header".into());
    }
    let udp = &frame[34..];
    if udp[2..4] != PEER_PORT.to_be_bytes() || udp[8..] != payload() {
        return Err("bad UDP datagram".into());
    }
    Ok(())
}

/// A stack with `eth0` (10.0.0.1/24) up and a permanent ARP entry for the peer.
fn linnet_host() -> (Stack, IfIndex) {
    let mut stack = Stack::new(StackConfig::default(), 7);
    let dev = stack
        .add_device(DeviceConfig {
            name: "eth0".into(),
            kind: DeviceKind::Ethernet {
                mac: EthernetAddress(OUR_MAC),
            },
            mtu: None,
        })
        .expect("add eth0");
    stack.set_up(dev, true).expect("eth0 up");
    stack
        .add_addr(
            dev,
            Ipv4Cidr {
                address: Ipv4Addr::from(OUR_IP),
                prefix_len: 24,
            },
        )
        .expect("10.0.0.1/24");
    stack
        .neigh_add(
            dev,
            Ipv4Addr::from(PEER_IP),
            Some(EthernetAddress(PEER_MAC)),
            NudState::Permanent,
        )
        .expect("static ARP entry");
    stack.prefill_pool(PREFILL);
    (stack, dev)
}

/// What a driver does with a received frame: a pooled buffer, the bytes copied in (the
/// `read()` from a TAP would write them there), then `receive`.
#[inline]
fn feed(stack: &mut Stack, dev: IfIndex, frame: &[u8]) {
    let mut skb: SkBuff = stack.alloc_rx(frame.len());
    skb.put_slice(frame);
    stack.receive(NOW, dev, skb);
}

/// Frame in -> UDP socket -> `udp_recv_from`.
#[derive(Debug)]
pub struct LinnetUdpRx {
    stack: Stack,
    dev: IfIndex,
    sock: SocketHandle,
    frame: Vec<u8>,
    buf: Box<[u8; 2048]>,
}

impl LinnetUdpRx {
    /// Sets up the host and checks that one packet goes through.
    pub fn new() -> Self {
        Self::with_sockets(0)
    }

    /// Like [`LinnetUdpRx::new`], with `extra` more UDP sockets bound to other ports
    /// (opened before ours), to show what the socket lookup costs as sockets add up.
    pub fn with_sockets(extra: usize) -> Self {
        let (mut stack, dev) = linnet_host();
        for i in 0..extra {
            let other = stack.udp_socket().expect("socket");
            let port = EXTRA_PORT_BASE + i as u16;
            stack
                .udp_bind(other, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
                .expect("bind other");
        }
        let sock = stack.udp_socket().expect("socket");
        stack
            .udp_bind(sock, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, OUR_PORT))
            .expect("bind");
        let mut s = LinnetUdpRx {
            stack,
            dev,
            sock,
            frame: udp_frame(),
            buf: Box::new([0; 2048]),
        };
        for _ in 0..PREFILL {
            let n = s.step();
            assert_eq!(n, UDP_PAYLOAD, "linnet: datagram not delivered");
        }
        assert_eq!(
            &s.buf[..UDP_PAYLOAD],
            &payload()[..],
            "linnet: payload differs"
        );
        s
    }

    /// One datagram from frame to application buffer; returns the bytes read.
    #[inline]
    pub fn step(&mut self) -> usize {
        feed(&mut self.stack, self.dev, &self.frame);
        let n = self
            .stack
            .udp_recv_from(self.sock, &mut self.buf[..])
            .map_or(0, |m| m.len);
        while self.stack.poll_event().is_some() {}
        n
    }

    /// The stack, for counters.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}

impl Default for LinnetUdpRx {
    fn default() -> Self {
        Self::new()
    }
}

/// Echo request in -> echo reply out of `poll_transmit` -> buffer recycled.
#[derive(Debug)]
pub struct LinnetEcho {
    stack: Stack,
    dev: IfIndex,
    frame: Vec<u8>,
}

impl LinnetEcho {
    /// Sets up the host and checks the reply.
    pub fn new() -> Self {
        let (stack, dev) = linnet_host();
        let mut s = LinnetEcho {
            stack,
            dev,
            frame: echo_request_frame(),
        };
        feed(&mut s.stack, s.dev, &s.frame);
        let (_, reply) = s.stack.poll_transmit().expect("linnet: no echo reply");
        if let Err(e) = check_echo_reply(reply.data()) {
            panic!("linnet: {e}");
        }
        s.stack.recycle(reply);
        assert!(
            s.stack.poll_transmit().is_none(),
            "linnet: more than one reply"
        );
        for _ in 0..PREFILL {
            assert_ne!(s.step(), 0, "linnet: no echo reply");
        }
        s
    }

    /// One echo request in, its reply out; returns the reply's length.
    #[inline]
    pub fn step(&mut self) -> usize {
        feed(&mut self.stack, self.dev, &self.frame);
        let mut n = 0;
        while let Some((_, skb)) = self.stack.poll_transmit() {
            n += skb.len();
            self.stack.recycle(skb);
        }
        while self.stack.poll_event().is_some() {}
        n
    }

    /// The stack, for counters.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}

impl Default for LinnetEcho {
    fn default() -> Self {
        Self::new()
    }
}

/// `udp_send_to` of 64 bytes -> frame out of `poll_transmit` -> buffer recycled.
#[derive(Debug)]
pub struct LinnetUdpTx {
    stack: Stack,
    sock: SocketHandle,
    to: SocketAddrV4,
    payload: [u8; UDP_PAYLOAD],
}

impl LinnetUdpTx {
    /// Sets up the host and checks the frame sent.
    pub fn new() -> Self {
        let (mut stack, _) = linnet_host();
        let sock = stack.udp_socket().expect("socket");
        stack
            .udp_bind(sock, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, OUR_PORT))
            .expect("bind");
        let to = SocketAddrV4::new(Ipv4Addr::from(PEER_IP), PEER_PORT);
        let mut s = LinnetUdpTx {
            stack,
            sock,
            to,
            payload: payload(),
        };
        s.stack
            .udp_send_to(s.sock, &s.payload, Some(s.to))
            .expect("send");
        let (_, frame) = s.stack.poll_transmit().expect("linnet: nothing sent");
        if let Err(e) = check_udp_out(frame.data()) {
            panic!("linnet: {e}");
        }
        s.stack.recycle(frame);
        for _ in 0..PREFILL {
            assert_ne!(s.step(), 0, "linnet: nothing sent");
        }
        s
    }

    /// One datagram from the application to the driver; returns the frame's length.
    #[inline]
    pub fn step(&mut self) -> usize {
        let _ = self
            .stack
            .udp_send_to(self.sock, &self.payload, Some(self.to));
        let mut n = 0;
        while let Some((_, skb)) = self.stack.poll_transmit() {
            n += skb.len();
            self.stack.recycle(skb);
        }
        n
    }

    /// The stack, for counters.
    pub fn stack(&self) -> &Stack {
        &self.stack
    }
}

impl Default for LinnetUdpTx {
    fn default() -> Self {
        Self::new()
    }
}

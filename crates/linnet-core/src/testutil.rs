//! Test helpers for the protocol-rule tests: one [`Stack`] with an Ethernet device, a
//! scripted peer that builds frames with `linnet_wire` reprs, parsers for what the stack
//! sends, and virtual time driven through `poll_timeout` / `handle_timeout`.
//!
//! Linux: plays the role of the scapy/arping/tcpdump peer of the seed labs.
//! RFCs: none.
//!
//! This file only names items re-exported at the crate root (`crate::Stack`,
//! `crate::wire`, ...), so the integration tests under `tests/` include it too with
//! `#[path = "../src/testutil.rs"] mod testutil;` after importing those names from
//! `linnet_core` at their own root.
#![allow(dead_code)]

extern crate std;

use core::net::Ipv4Addr;
use std::vec;
use std::vec::Vec;

use crate::wire::arp::{self as arpw, Operation};
use crate::wire::ethernet::{self, EtherType, EthernetAddress};
use crate::wire::icmpv4;
use crate::wire::ipv4::{self as ipw, Ipv4Cidr, Protocol};
use crate::wire::udp as udpw;
use crate::{
    DeviceConfig, DeviceKind, Duration, Event, IfIndex, Instant, SkBuff, Stack, StackConfig,
};

/// Our MAC on `eth0`.
pub const OUR_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x01]);
/// Our address on `eth0` (10.0.0.1/24).
pub const OUR_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
/// Prefix length of [`OUR_IP`].
pub const PREFIX: u8 = 24;
/// The subnet broadcast of `eth0`.
pub const SUBNET_BCAST: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 255);
/// The scripted peer's MAC.
pub const PEER_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0x02]);
/// The scripted peer's address.
pub const PEER_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// An on-link address nobody answers for.
pub const ABSENT_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 99);
/// A router on the link.
pub const GW_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 0, 0xfe]);
/// The router's address.
pub const GW_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 254);

/// A stack with `lo` and `eth0` (10.0.0.1/24, up), its current virtual time, and the
/// device index.
#[derive(Debug)]
pub struct Harness {
    /// The stack under test.
    pub stack: Stack,
    /// `eth0`.
    pub eth0: IfIndex,
    /// Virtual time: the last instant given to the stack.
    pub now: Instant,
}

impl Harness {
    /// Default sysctls, seed 1.
    pub fn new() -> Harness {
        Harness::with_config(StackConfig::default(), 1)
    }

    /// Given sysctls and seed.
    pub fn with_config(cfg: StackConfig, seed: u64) -> Harness {
        let mut stack = Stack::new(cfg, seed);
        let eth0 = add_ethernet(&mut stack, "eth0", OUR_MAC, OUR_IP, PREFIX);
        Harness {
            stack,
            eth0,
            now: Instant::ZERO,
        }
    }

    /// Installs a PERMANENT neighbour entry for the peer, so tests about IP, ICMP and UDP do
    /// not depend on ARP traffic.
    pub fn with_static_peer(mut self) -> Harness {
        self.stack
            .neigh_add(
                self.eth0,
                PEER_IP,
                Some(PEER_MAC),
                crate::NudState::Permanent,
            )
            .unwrap();
        self
    }

    /// Adds `default via 10.0.0.254` with a PERMANENT entry for the router, so off-link
    /// peers can be simulated behind it.
    pub fn with_gateway(mut self) -> Harness {
        self.stack.add_default_route(GW_IP).unwrap();
        self.stack
            .neigh_add(self.eth0, GW_IP, Some(GW_MAC), crate::NudState::Permanent)
            .unwrap();
        self
    }

    /// Feeds one frame in on `eth0` at the current time.
    pub fn receive(&mut self, frame: &[u8]) {
        let dev = self.eth0;
        self.receive_on(dev, frame);
    }

    /// Feeds one frame in on `dev` at the current time.
    pub fn receive_on(&mut self, dev: IfIndex, frame: &[u8]) {
        self.stack.receive(self.now, dev, SkBuff::from_slice(frame));
    }

    /// Feeds one frame and returns what the stack sent in answer.
    pub fn exchange(&mut self, frame: &[u8]) -> Vec<Vec<u8>> {
        self.receive(frame);
        self.drain()
    }

    /// Everything waiting for the driver, in order.
    pub fn drain(&mut self) -> Vec<Vec<u8>> {
        drain(&mut self.stack)
    }

    /// Everything waiting for the driver with the device it leaves by.
    pub fn drain_with_dev(&mut self) -> Vec<(IfIndex, Vec<u8>)> {
        let mut out = Vec::new();
        while let Some((dev, skb)) = self.stack.poll_transmit() {
            out.push((dev, skb.data().to_vec()));
            self.stack.recycle(skb);
        }
        out
    }

    /// All pending application events.
    pub fn events(&mut self) -> Vec<Event> {
        let mut out = Vec::new();
        while let Some(e) = self.stack.poll_event() {
            out.push(e);
        }
        out
    }

    /// Runs virtual time forward to `target`, calling `handle_timeout` at every deadline
    /// `poll_timeout` reports on the way; returns each transmitted frame with the instant it
    /// left.
    pub fn advance_to(&mut self, target: Instant) -> Vec<(Instant, Vec<u8>)> {
        let mut out = Vec::new();
        let mut rounds = 0u32;
        while let Some(t) = self.stack.poll_timeout() {
            if t > target {
                break;
            }
            rounds += 1;
            assert!(
                rounds < 1_000_000,
                "timer storm: deadline {t:?} keeps coming back"
            );
            if t > self.now {
                self.now = t;
            }
            self.stack.handle_timeout(self.now);
            for f in self.drain() {
                out.push((self.now, f));
            }
        }
        if target > self.now {
            self.now = target;
        }
        self.stack.set_now(self.now);
        out
    }

    /// [`Harness::advance_to`] by a duration.
    pub fn advance(&mut self, d: Duration) -> Vec<(Instant, Vec<u8>)> {
        let t = self.now + d;
        self.advance_to(t)
    }

    /// The NUD state of the ARP entry for `ip` on `eth0`.
    pub fn nud(&self, ip: Ipv4Addr) -> Option<crate::NudState> {
        self.stack.arp_table().get(self.eth0, ip).map(|n| n.state)
    }
}

impl Default for Harness {
    fn default() -> Self {
        Harness::new()
    }
}

/// Registers an Ethernet device, brings it up and gives it `ip/prefix`.
pub fn add_ethernet(
    stack: &mut Stack,
    name: &str,
    mac: EthernetAddress,
    ip: Ipv4Addr,
    prefix: u8,
) -> IfIndex {
    let cfg = DeviceConfig {
        name: name.into(),
        kind: DeviceKind::Ethernet { mac },
        mtu: None,
    };
    let dev = stack.add_device(cfg).unwrap();
    stack.set_up(dev, true).unwrap();
    stack
        .add_addr(
            dev,
            Ipv4Cidr {
                address: ip,
                prefix_len: prefix,
            },
        )
        .unwrap();
    dev
}

/// Everything waiting in `poll_transmit`, buffers handed back with `recycle`.
pub fn drain(stack: &mut Stack) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some((_, skb)) = stack.poll_transmit() {
        out.push(skb.data().to_vec());
        stack.recycle(skb);
    }
    out
}

// ---- frame builders -------------------------------------------------------------------

/// An Ethernet frame around `payload`.
pub fn eth_frame(
    dst: EthernetAddress,
    src: EthernetAddress,
    ethertype: EtherType,
    payload: &[u8],
) -> Vec<u8> {
    let mut f = vec![0u8; ethernet::HEADER_LEN + payload.len()];
    ethernet::Repr {
        src_addr: src,
        dst_addr: dst,
        ethertype,
    }
    .emit(&mut ethernet::Frame::new_unchecked(&mut f[..]));
    f[ethernet::HEADER_LEN..].copy_from_slice(payload);
    f
}

/// A 28-byte Ethernet/IPv4 ARP packet.
pub fn arp_packet(
    op: Operation,
    sha: EthernetAddress,
    sip: Ipv4Addr,
    tha: EthernetAddress,
    tip: Ipv4Addr,
) -> Vec<u8> {
    let repr = arpw::Repr {
        operation: op,
        source_hardware_addr: sha,
        source_protocol_addr: sip,
        target_hardware_addr: tha,
        target_protocol_addr: tip,
    };
    let mut b = vec![0u8; repr.buffer_len()];
    repr.emit(&mut arpw::Packet::new_unchecked(&mut b[..]));
    b
}

/// An ARP frame: `eth_dst` on the wire, the rest in the ARP body.
pub fn arp_frame(
    eth_dst: EthernetAddress,
    op: Operation,
    sha: EthernetAddress,
    sip: Ipv4Addr,
    tha: EthernetAddress,
    tip: Ipv4Addr,
) -> Vec<u8> {
    eth_frame(
        eth_dst,
        sha,
        EtherType::ARP,
        &arp_packet(op, sha, sip, tha, tip),
    )
}

/// A broadcast "who-has `tip` tell `sip`" from `sha`.
pub fn arp_request(sha: EthernetAddress, sip: Ipv4Addr, tip: Ipv4Addr) -> Vec<u8> {
    arp_frame(
        EthernetAddress::BROADCAST,
        Operation::REQUEST,
        sha,
        sip,
        EthernetAddress::default(),
        tip,
    )
}

/// A unicast "`sip` is-at `sha`" to us.
pub fn arp_reply(sha: EthernetAddress, sip: Ipv4Addr) -> Vec<u8> {
    arp_frame(OUR_MAC, Operation::REPLY, sha, sip, OUR_MAC, OUR_IP)
}

/// An IPv4 packet (20-byte header, valid checksum, ident 0x4242, no DF) around `payload`.
pub fn ipv4_packet(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: Protocol,
    ttl: u8,
    payload: &[u8],
) -> Vec<u8> {
    let repr = ipw::Repr {
        src_addr: src,
        dst_addr: dst,
        next_header: proto,
        payload_len: payload.len(),
        hop_limit: ttl,
        tos: 0,
        ident: 0x4242,
        dont_frag: false,
    };
    let mut b = vec![0u8; repr.buffer_len()];
    repr.emit(&mut ipw::Packet::new_unchecked(&mut b[..]));
    b[ipw::HEADER_LEN..].copy_from_slice(payload);
    b
}

/// An IPv4 packet whose header carries `options` (padded to a multiple of 4 with zeros,
/// EOL), checksum valid.
pub fn ipv4_packet_with_options(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    proto: Protocol,
    options: &[u8],
    payload: &[u8],
) -> Vec<u8> {
    let opt_len = options.len().div_ceil(4) * 4;
    let hl = ipw::HEADER_LEN + opt_len;
    let mut b = ipv4_packet(src, dst, proto, 64, &vec![0u8; opt_len + payload.len()]);
    b[ipw::HEADER_LEN..ipw::HEADER_LEN + options.len()].copy_from_slice(options);
    b[hl..].copy_from_slice(payload);
    let mut p = ipw::Packet::new_unchecked(&mut b[..]);
    p.set_header_len(hl as u8);
    p.fill_checksum();
    b
}

/// Recomputes the header checksum of the IPv4 packet at the start of `ip`.
pub fn refill_ipv4_checksum(ip: &mut [u8]) {
    ipw::Packet::new_unchecked(ip).fill_checksum();
}

/// A UDP datagram (header + payload) with a valid checksum.
pub fn udp_datagram(
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let mut b = vec![0u8; udpw::HEADER_LEN + payload.len()];
    b[udpw::HEADER_LEN..].copy_from_slice(payload);
    let mut p = udpw::Packet::new_unchecked(&mut b[..]);
    udpw::Repr {
        src_port: sport,
        dst_port: dport,
    }
    .emit_header(&mut p, payload.len());
    p.fill_checksum_v4(src, dst);
    b
}

/// An ICMP echo request or reply (header + data) with a valid checksum.
pub fn icmp_echo(request: bool, ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let repr = if request {
        icmpv4::Repr::EchoRequest {
            ident,
            seq_no: seq,
            data,
        }
    } else {
        icmpv4::Repr::EchoReply {
            ident,
            seq_no: seq,
            data,
        }
    };
    let mut b = vec![0u8; repr.buffer_len()];
    repr.emit(&mut icmpv4::Packet::new_unchecked(&mut b[..]));
    b
}

/// An ICMP error (type, code, rest of header, quoted bytes) with a valid checksum.
pub fn icmp_error(msg_type: u8, code: u8, rest: u32, quoted: &[u8]) -> Vec<u8> {
    let repr = icmpv4::Repr::Other {
        msg_type: icmpv4::Message(msg_type),
        code,
        rest_of_header: rest,
        data: quoted,
    };
    let mut b = vec![0u8; repr.buffer_len()];
    repr.emit(&mut icmpv4::Packet::new_unchecked(&mut b[..]));
    b
}

/// An IPv4 frame from `src_mac` to our MAC.
pub fn ip_frame_from(src_mac: EthernetAddress, ip: &[u8]) -> Vec<u8> {
    eth_frame(OUR_MAC, src_mac, EtherType::IPV4, ip)
}

/// An IPv4 frame from the peer to our MAC.
pub fn ip_frame(ip: &[u8]) -> Vec<u8> {
    ip_frame_from(PEER_MAC, ip)
}

/// A UDP frame from `src:sport` (behind `src_mac`) to `dst:dport`, Ethernet to our MAC.
pub fn udp_frame_from(
    src_mac: EthernetAddress,
    src: Ipv4Addr,
    sport: u16,
    dst: Ipv4Addr,
    dport: u16,
    payload: &[u8],
) -> Vec<u8> {
    let udp = udp_datagram(src, dst, sport, dport, payload);
    ip_frame_from(src_mac, &ipv4_packet(src, dst, Protocol::UDP, 64, &udp))
}

/// A UDP frame from the peer.
pub fn udp_frame(sport: u16, dst: Ipv4Addr, dport: u16, payload: &[u8]) -> Vec<u8> {
    udp_frame_from(PEER_MAC, PEER_IP, sport, dst, dport, payload)
}

/// An echo request frame from the peer to `dst`.
pub fn echo_request_frame(dst: Ipv4Addr, ident: u16, seq: u16, data: &[u8]) -> Vec<u8> {
    let icmp = icmp_echo(true, ident, seq, data);
    ip_frame(&ipv4_packet(PEER_IP, dst, Protocol::ICMP, 64, &icmp))
}

// ---- parsers --------------------------------------------------------------------------

/// Ethernet header and payload of a frame the stack sent.
pub fn parse_eth(frame: &[u8]) -> (ethernet::Repr, &[u8]) {
    let f = ethernet::Frame::new_checked(frame).expect("short Ethernet frame");
    let repr = ethernet::Repr::parse(&f).expect("bad Ethernet header");
    (repr, &frame[ethernet::HEADER_LEN..])
}

/// The ARP packet in `frame`, if it is one.
pub fn parse_arp(frame: &[u8]) -> Option<(ethernet::Repr, arpw::Repr)> {
    let (eth, payload) = parse_eth(frame);
    if eth.ethertype != EtherType::ARP {
        return None;
    }
    let p = arpw::Packet::new_checked(payload).ok()?;
    Some((eth, arpw::Repr::parse(&p).ok()?))
}

/// An IPv4 packet the stack sent, with its header validated (checksum included).
#[derive(Debug, Clone)]
pub struct IpOut {
    /// Link-layer header.
    pub eth: ethernet::Repr,
    /// Parsed IPv4 header.
    pub ip: ipw::Repr,
    /// The whole IP packet (header + payload).
    pub packet: Vec<u8>,
    /// Header length.
    pub hl: usize,
    /// More fragments.
    pub mf: bool,
    /// Fragment offset in bytes.
    pub frag_off: usize,
}

impl IpOut {
    /// The IP payload.
    pub fn payload(&self) -> &[u8] {
        &self.packet[self.hl..]
    }
}

/// The IPv4 packet in `frame`, if it is one; panics if its header checksum is wrong (every
/// packet we emit must pass `tcpdump -vv` validation).
pub fn parse_ipv4(frame: &[u8]) -> Option<IpOut> {
    let (eth, payload) = parse_eth(frame);
    if eth.ethertype != EtherType::IPV4 {
        return None;
    }
    let p = ipw::Packet::new_checked(payload).expect("IPv4 header too short");
    assert!(
        p.verify_checksum(),
        "bad IPv4 header checksum on an emitted packet"
    );
    let ip = ipw::Repr::parse(&p, true).expect("bad IPv4 header");
    let tot = usize::from(p.total_len());
    Some(IpOut {
        eth,
        ip,
        hl: usize::from(p.header_len()),
        mf: p.more_frags(),
        frag_off: usize::from(p.frag_offset()),
        packet: payload[..tot].to_vec(),
    })
}

/// An ICMP message the stack sent.
#[derive(Debug, Clone)]
pub struct IcmpOut {
    /// The IP layer.
    pub ip: IpOut,
    /// ICMP type.
    pub msg_type: u8,
    /// ICMP code.
    pub code: u8,
    /// Bytes 4..8 of the ICMP header.
    pub rest: u32,
    /// Bytes after the 8-byte header.
    pub data: Vec<u8>,
}

/// The ICMP message in `frame`, if it is one; panics if its checksum is wrong.
pub fn parse_icmp(frame: &[u8]) -> Option<IcmpOut> {
    let ip = parse_ipv4(frame)?;
    if ip.ip.next_header != Protocol::ICMP {
        return None;
    }
    let body = ip.payload();
    let p = icmpv4::Packet::new_checked(body).expect("short ICMP message");
    assert!(
        p.verify_checksum(),
        "bad ICMP checksum on an emitted message"
    );
    let (msg_type, code, rest, data) = (
        p.msg_type().0,
        p.msg_code(),
        p.rest_of_header(),
        p.data().to_vec(),
    );
    Some(IcmpOut {
        ip,
        msg_type,
        code,
        rest,
        data,
    })
}

/// The UDP datagram in `frame`: (source port, destination port, payload); panics if its
/// checksum is wrong. Only for unfragmented datagrams.
pub fn parse_udp(frame: &[u8]) -> Option<(IpOut, u16, u16, Vec<u8>)> {
    let ip = parse_ipv4(frame)?;
    if ip.ip.next_header != Protocol::UDP || ip.mf || ip.frag_off != 0 {
        return None;
    }
    let p = udpw::Packet::new_checked(ip.payload()).expect("short UDP datagram");
    assert!(
        p.verify_checksum_v4(ip.ip.src_addr, ip.ip.dst_addr),
        "bad UDP checksum"
    );
    let (s, d, data) = (p.src_port(), p.dst_port(), p.payload().to_vec());
    Some((ip, s, d, data))
}

/// The ICMP messages among `frames`.
pub fn icmp_messages(frames: &[Vec<u8>]) -> Vec<IcmpOut> {
    frames.iter().filter_map(|f| parse_icmp(f)).collect()
}

/// The ARP packets among `frames`.
pub fn arp_packets(frames: &[Vec<u8>]) -> Vec<(ethernet::Repr, arpw::Repr)> {
    frames.iter().filter_map(|f| parse_arp(f)).collect()
}

// ---- TCP ------------------------------------------------------------------------------

/// A TCP segment for the scripted peer to send (fields as on the wire).
#[derive(Debug, Clone, Default)]
pub struct TcpSeg {
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number (sets ACK).
    pub ack: Option<u32>,
    /// SYN.
    pub syn: bool,
    /// FIN.
    pub fin: bool,
    /// RST.
    pub rst: bool,
    /// PSH.
    pub psh: bool,
    /// Raw window field.
    pub window: u16,
    /// MSS option.
    pub mss: Option<u16>,
    /// Window-scale option.
    pub wscale: Option<u8>,
    /// SACK-permitted option.
    pub sack_perm: bool,
    /// Timestamps option (TSval, TSecr).
    pub ts: Option<(u32, u32)>,
    /// URG with this urgent pointer.
    pub urg: Option<u16>,
    /// ECE.
    pub ece: bool,
    /// CWR.
    pub cwr: bool,
    /// The IP TOS byte (its low two bits are the ECN field).
    pub tos: u8,
    /// SACK blocks (at most 4; as many as fit are emitted).
    pub sacks: Vec<(u32, u32)>,
    /// Payload.
    pub payload: Vec<u8>,
}

/// A TCP segment (header + payload) with a valid checksum.
pub fn tcp_segment(src: Ipv4Addr, dst: Ipv4Addr, s: &TcpSeg) -> Vec<u8> {
    use crate::wire::tcp::{Flags, Packet, Repr, SeqNumber};
    let repr = Repr {
        src_port: s.sport,
        dst_port: s.dport,
        seq_number: SeqNumber(s.seq),
        ack_number: s.ack.map(SeqNumber),
        flags: Flags {
            syn: s.syn,
            fin: s.fin,
            rst: s.rst,
            psh: s.psh,
            ack: s.ack.is_some(),
            urg: s.urg.is_some(),
            ece: s.ece,
            cwr: s.cwr,
        },
        window_len: s.window,
        urgent_pointer: s.urg.unwrap_or(0),
        max_seg_size: s.mss,
        window_scale: s.wscale,
        sack_permitted: s.sack_perm,
        sack_ranges: {
            let mut r = [None; 4];
            for (i, b) in s.sacks.iter().take(4).enumerate() {
                r[i] = Some(*b);
            }
            r
        },
        timestamp: s.ts,
        payload: &s.payload,
    };
    let mut b = vec![0u8; repr.buffer_len()];
    repr.emit(&mut Packet::new_unchecked(&mut b[..]), src, dst);
    b
}

/// A TCP frame from `src` (behind the peer's MAC) to `dst`.
pub fn tcp_frame_from(src: Ipv4Addr, dst: Ipv4Addr, s: &TcpSeg) -> Vec<u8> {
    let seg = tcp_segment(src, dst, s);
    let mut ip = ipv4_packet(src, dst, Protocol::TCP, 64, &seg);
    if s.tos != 0 {
        ip[1] = s.tos;
        refill_ipv4_checksum(&mut ip);
    }
    ip_frame(&ip)
}

/// A TCP frame from the peer to our address.
pub fn tcp_frame(s: &TcpSeg) -> Vec<u8> {
    tcp_frame_from(PEER_IP, OUR_IP, s)
}

/// A TCP segment the stack sent.
#[derive(Debug, Clone)]
pub struct TcpOut {
    /// The IP layer.
    pub ip: IpOut,
    /// Source port.
    pub sport: u16,
    /// Destination port.
    pub dport: u16,
    /// Sequence number.
    pub seq: u32,
    /// Acknowledgment number, if ACK is set.
    pub ack: Option<u32>,
    /// Flags.
    pub flags: crate::wire::tcp::Flags,
    /// Raw window field.
    pub window: u16,
    /// Raw urgent-pointer field.
    pub urg_ptr: u16,
    /// MSS option.
    pub mss: Option<u16>,
    /// Window-scale option.
    pub wscale: Option<u8>,
    /// SACK-permitted option.
    pub sack_perm: bool,
    /// SACK blocks.
    pub sacks: Vec<(u32, u32)>,
    /// Timestamps option.
    pub ts: Option<(u32, u32)>,
    /// The raw options bytes.
    pub options: Vec<u8>,
    /// Payload.
    pub payload: Vec<u8>,
}

impl TcpOut {
    /// Sequence space: payload + SYN + FIN.
    pub fn seq_len(&self) -> u32 {
        self.payload.len() as u32 + u32::from(self.flags.syn) + u32::from(self.flags.fin)
    }

    /// Flags as tcpdump prints them: `S`, `S.`, `.`, `P.`, `F.`, `R`, `R.`.
    pub fn flag_str(&self) -> std::string::String {
        let f = self.flags;
        let mut s = std::string::String::new();
        for (on, c) in [(f.syn, 'S'), (f.fin, 'F'), (f.psh, 'P'), (f.rst, 'R')] {
            if on {
                s.push(c);
            }
        }
        if f.ack {
            s.push('.');
        }
        s
    }
}

/// The TCP segment in `frame`, if it is one; panics if its checksum is wrong.
pub fn parse_tcp(frame: &[u8]) -> Option<TcpOut> {
    use crate::wire::tcp::{Packet, Repr};
    let ip = parse_ipv4(frame)?;
    if ip.ip.next_header != Protocol::TCP {
        return None;
    }
    let (src, dst) = (ip.ip.src_addr, ip.ip.dst_addr);
    let body = ip.payload().to_vec();
    let p = Packet::new_checked(&body[..]).expect("short TCP segment");
    assert!(p.verify_checksum_v4(src, dst), "bad TCP checksum");
    let r = Repr::parse(&p, src, dst, true).expect("bad TCP segment");
    Some(TcpOut {
        sport: r.src_port,
        dport: r.dst_port,
        seq: r.seq_number.0,
        ack: r.ack_number.map(|a| a.0),
        flags: r.flags,
        window: r.window_len,
        urg_ptr: r.urgent_pointer,
        mss: r.max_seg_size,
        wscale: r.window_scale,
        sack_perm: r.sack_permitted,
        sacks: r.sack_ranges.iter().flatten().copied().collect(),
        ts: r.timestamp,
        options: p.options().to_vec(),
        payload: r.payload.to_vec(),
        ip,
    })
}

/// The TCP segments among `frames`.
pub fn tcp_segments(frames: &[Vec<u8>]) -> Vec<TcpOut> {
    frames.iter().filter_map(|f| parse_tcp(f)).collect()
}

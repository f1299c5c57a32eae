//! Whole-stack robustness: a seeded stream of random and mutated frames never panics the
//! stack, and every frame is accounted for.
//!
//! Linux: the invariant is `kfree_skb_reason` / `consume_skb`: every received skb ends in
//! exactly one of them. linnet's `Stats` documents it as
//! `rx_frames == consumed + total_drops()`, with loopback-generated frames (and the extra
//! copies made for broadcast delivery, and reassembled datagrams) counted in `rx_frames`.
//! ARCHITECTURE.md §1.4: "Never panic on network input".

use core::net::{Ipv4Addr, SocketAddrV4};

use linnet_core::{
    wire, DeviceConfig, DeviceKind, Duration, Event, IfIndex, Instant, NudState, SkBuff, Stack,
    StackConfig,
};

#[path = "../src/testutil.rs"]
mod testutil;

use testutil::*;
use wire::arp::Operation;
use wire::ethernet::{EtherType, EthernetAddress};
use wire::ipv4::Protocol;

/// SplitMix64: a tiny seeded generator, so the test needs no extra crate.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn byte(&mut self) -> u8 {
        self.next() as u8
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

const ETH1_MAC: EthernetAddress = EthernetAddress([0x02, 0, 0, 0, 1, 0x01]);

/// Valid frames of every kind the stack handles, to be mutated.
fn corpus(our_udp: &[u8]) -> Vec<Vec<u8>> {
    let udp_ok = udp_frame(40000, OUR_IP, 5000, b"hello, socket");
    let udp_closed = udp_frame(40000, OUR_IP, 5555, b"nobody home");
    let echo = echo_request_frame(OUR_IP, 0x77, 1, &[0xa5; 56]);
    let ts = ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        Protocol::ICMP,
        64,
        &icmp_error(13, 0, 0x0001_0001, &[0; 12]),
    ));
    let mask = ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        Protocol::ICMP,
        64,
        &icmp_error(17, 0, 0, &[0; 4]),
    ));
    let echo_reply = ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        Protocol::ICMP,
        64,
        &icmp_echo(false, 1, 1, b"pong"),
    ));
    // ICMP errors quoting a datagram we sent (so they reach udp_err / ping_err).
    let quote = &our_udp[14..];
    let unreach = ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        Protocol::ICMP,
        64,
        &icmp_error(3, 3, 0, &quote[..quote.len().min(28)]),
    ));
    let frag_needed = ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        Protocol::ICMP,
        64,
        &icmp_error(3, 4, 1400, quote),
    ));
    let ttl = ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        Protocol::ICMP,
        64,
        &icmp_error(11, 0, 0, quote),
    ));
    let bcast_udp = eth_frame(
        EthernetAddress::BROADCAST,
        PEER_MAC,
        EtherType::IPV4,
        &ipv4_packet(
            PEER_IP,
            SUBNET_BCAST,
            Protocol::UDP,
            64,
            &udp_datagram(PEER_IP, SUBNET_BCAST, 40000, 5000, b"all"),
        ),
    );
    let opts = ip_frame(&ipv4_packet_with_options(
        PEER_IP,
        OUR_IP,
        Protocol::ICMP,
        &[7, 7, 4, 0, 0, 0, 0, 1],
        &icmp_echo(true, 2, 2, b"rr"),
    ));
    let unknown_proto = ip_frame(&ipv4_packet(
        PEER_IP,
        OUR_IP,
        Protocol(99),
        64,
        b"what is this",
    ));
    let foreign = ip_frame(&ipv4_packet(
        PEER_IP,
        Ipv4Addr::new(192, 0, 2, 9),
        Protocol::UDP,
        2,
        &udp_datagram(PEER_IP, Ipv4Addr::new(192, 0, 2, 9), 1, 2, b"fwd"),
    ));
    // The two halves of a fragmented datagram to the bound port.
    let whole = udp_datagram(PEER_IP, OUR_IP, 40000, 5000, &[0x33; 64]);
    let mut frag1 = ipv4_packet(PEER_IP, OUR_IP, Protocol::UDP, 64, &whole[..40]);
    {
        let mut p = wire::ipv4::Packet::new_unchecked(&mut frag1[..]);
        p.set_flags_and_frag_offset(false, true, 0);
        p.fill_checksum();
    }
    let mut frag2 = ipv4_packet(PEER_IP, OUR_IP, Protocol::UDP, 64, &whole[40..]);
    {
        let mut p = wire::ipv4::Packet::new_unchecked(&mut frag2[..]);
        p.set_flags_and_frag_offset(false, false, 40);
        p.fill_checksum();
    }
    let mut vlan = arp_request(PEER_MAC, PEER_IP, OUR_IP);
    vlan.splice(12..12, [0x81, 0x00, 0x00, 0x00]);
    vec![
        arp_request(PEER_MAC, PEER_IP, OUR_IP),
        arp_request(
            EthernetAddress([2, 0, 0, 0, 9, 9]),
            Ipv4Addr::new(10, 0, 0, 9),
            OUR_IP,
        ),
        arp_reply(PEER_MAC, PEER_IP),
        arp_reply(EthernetAddress([2, 0, 0, 0, 0, 0x63]), ABSENT_IP),
        arp_frame(
            EthernetAddress::BROADCAST,
            Operation::REQUEST,
            PEER_MAC,
            Ipv4Addr::UNSPECIFIED,
            EthernetAddress::default(),
            OUR_IP,
        ),
        arp_frame(
            EthernetAddress::BROADCAST,
            Operation::REQUEST,
            PEER_MAC,
            PEER_IP,
            EthernetAddress::BROADCAST,
            PEER_IP,
        ),
        udp_ok,
        udp_closed,
        echo,
        ts,
        mask,
        echo_reply,
        unreach,
        frag_needed,
        ttl,
        bcast_udp,
        opts,
        unknown_proto,
        foreign,
        ip_frame(&frag1),
        ip_frame(&frag2),
        vlan,
    ]
}

/// TCP frames for a listener on port 80 with one established connection from the peer
/// (port 40001, set up here with a real handshake) and a connect in progress to the peer
/// (port 7777): SYNs with options, in-order, out-of-order and old data, FIN, RST, stray
/// ACKs and a SYN-ACK for the connect, to be mutated.
fn tcp_corpus(h: &mut Harness) -> Vec<Vec<u8>> {
    let l = h.stack.tcp_socket().unwrap();
    h.stack
        .tcp_bind(l, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 80))
        .unwrap();
    h.stack.tcp_listen(l, 64).unwrap();
    let syn = TcpSeg {
        sport: 40001,
        dport: 80,
        seq: 1000,
        syn: true,
        window: 65535,
        mss: Some(1460),
        wscale: Some(7),
        sack_perm: true,
        ts: Some((1, 0)),
        ..TcpSeg::default()
    };
    let sa = tcp_segments(&h.exchange(&tcp_frame(&syn)))
        .pop()
        .expect("SYN-ACK");
    let iss = sa.seq;
    let est = TcpSeg {
        syn: false,
        seq: 1001,
        ack: Some(iss + 1),
        wscale: None,
        mss: None,
        sack_perm: false,
        ts: Some((2, sa.ts.map_or(0, |t| t.0))),
        window: 512,
        ..syn.clone()
    };
    let _ = h.exchange(&tcp_frame(&est));
    let _ = h.stack.tcp_accept(l).expect("established");
    let c = h.stack.tcp_socket().unwrap();
    let _ = h.stack.tcp_connect(c, SocketAddrV4::new(PEER_IP, 7777));
    let csyn = tcp_segments(&h.drain()).pop().expect("SYN");
    let data = |seq: u32, payload: &[u8]| TcpSeg {
        seq,
        psh: true,
        payload: payload.to_vec(),
        ..est.clone()
    };
    let synack = TcpSeg {
        sport: 7777,
        dport: csyn.sport,
        seq: 5000,
        ack: Some(csyn.seq + 1),
        syn: true,
        window: 65535,
        mss: Some(1400),
        wscale: Some(14),
        sack_perm: true,
        ts: Some((9, csyn.ts.map_or(0, |t| t.0))),
        ..TcpSeg::default()
    };
    [
        syn.clone(),
        TcpSeg {
            sport: 40002,
            ..syn.clone()
        },
        est.clone(),
        data(1001, b"in order"),
        data(1001 + 3000, &[0x5a; 1000]),
        data(900, b"old and new bytes"),
        TcpSeg {
            fin: true,
            ..data(1009, b"bye")
        },
        TcpSeg {
            rst: true,
            seq: 1500,
            ..est.clone()
        },
        TcpSeg {
            ack: Some(iss.wrapping_sub(100_000)),
            ..data(1001, b"blind")
        },
        TcpSeg {
            dport: 81,
            ..data(1, b"closed port")
        },
        synack,
    ]
    .iter()
    .map(tcp_frame)
    .collect()
}

/// Offsets worth rewriting, relative to the start of the frame (Ethernet 14 + IP).
const IP: usize = 14;

fn mutate(rng: &mut Rng, seed: &[u8]) -> Vec<u8> {
    let mut f = seed.to_vec();
    let rounds = 1 + rng.below(3);
    for _ in 0..rounds {
        match rng.below(11) {
            // Bit flips anywhere.
            0 | 1 => {
                for _ in 0..1 + rng.below(8) {
                    if !f.is_empty() {
                        let i = rng.below(f.len());
                        f[i] ^= 1 << rng.below(8);
                    }
                }
            }
            // Truncation.
            2 => {
                let n = rng.below(f.len() + 1);
                f.truncate(n);
            }
            // Extension with random bytes.
            3 => {
                for _ in 0..rng.below(200) {
                    f.push(rng.byte());
                }
            }
            // IPv4 header field rewrites: version/IHL, total length, flags/offset,
            // protocol, addresses.
            4 | 5 if f.len() >= IP + 20 => match rng.below(7) {
                0 => f[IP] = (rng.byte() & 0xf0) | (rng.byte() & 0x0f),
                1 => f[IP] = 0x40 | (rng.byte() & 0x0f),
                2 => {
                    let r = rng.next() as u16;
                    let tot = *rng.pick(&[0u16, 1, 19, 20, 21, 28, 40, 576, 1500, 65535, r]);
                    f[IP + 2..IP + 4].copy_from_slice(&tot.to_be_bytes());
                }
                3 => {
                    let v = rng.next() as u16 & 0xbfff;
                    f[IP + 6..IP + 8].copy_from_slice(&v.to_be_bytes());
                }
                4 => {
                    let r = rng.byte();
                    f[IP + 9] = *rng.pick(&[0u8, 1, 2, 6, 17, 41, 58, 255, r]);
                }
                5 => {
                    let a = *rng.pick(&[
                        Ipv4Addr::BROADCAST,
                        Ipv4Addr::UNSPECIFIED,
                        Ipv4Addr::LOCALHOST,
                        Ipv4Addr::new(224, 0, 0, 1),
                        OUR_IP,
                        PEER_IP,
                        SUBNET_BCAST,
                        Ipv4Addr::new(10, 0, 0, 0),
                        Ipv4Addr::new(192, 0, 2, 1),
                    ]);
                    let at = if rng.chance(50) { IP + 12 } else { IP + 16 };
                    f[at..at + 4].copy_from_slice(&a.octets());
                }
                _ => f[IP + 8] = *rng.pick(&[0u8, 1, 2, 255]),
            },
            // Transport rewrites: UDP length / ports, ICMP type/code.
            6 if f.len() >= IP + 28 => {
                let l4 = IP + usize::from(f[IP] & 0x0f) * 4;
                if l4 + 8 <= f.len() {
                    match rng.below(4) {
                        0 => {
                            let r = rng.next() as u16;
                            let len = *rng.pick(&[0u16, 7, 8, 9, 100, 65535, r]);
                            f[l4 + 4..l4 + 6].copy_from_slice(&len.to_be_bytes());
                        }
                        1 => {
                            f[l4] = rng.below(20) as u8;
                            f[l4 + 1] = rng.below(16) as u8;
                        }
                        2 => f[l4 + 2..l4 + 4]
                            .copy_from_slice(&rng.pick(&[5000u16, 5555, 0, 53]).to_be_bytes()),
                        _ => f[l4 + 6..l4 + 8].copy_from_slice(&[0, 0]),
                    }
                }
            }
            // TCP rewrites (checksum fixed afterwards): flags, sequence and ACK numbers,
            // data offset, window, option bytes.
            9 if f.len() >= IP + 40 && f[IP + 9] == 6 => {
                let l4 = IP + usize::from(f[IP] & 0x0f) * 4;
                if l4 + 20 <= f.len() {
                    match rng.below(6) {
                        0 => f[l4 + 13] = rng.byte(),
                        1 | 2 => {
                            let at = l4 + if rng.chance(50) { 4 } else { 8 };
                            let v = u32::from_be_bytes([f[at], f[at + 1], f[at + 2], f[at + 3]]);
                            let r = rng.next() as u32;
                            let d = *rng.pick(&[1u32, 2, 1000, 65535, 65536, 1 << 31, r]);
                            let v = if rng.chance(50) {
                                v.wrapping_add(d)
                            } else {
                                v.wrapping_sub(d)
                            };
                            f[at..at + 4].copy_from_slice(&v.to_be_bytes());
                        }
                        3 => f[l4 + 12] = (rng.below(16) as u8) << 4,
                        4 => {
                            f[l4 + 14..l4 + 16].copy_from_slice(&(rng.next() as u16).to_be_bytes())
                        }
                        _ => {
                            if l4 + 20 < f.len() {
                                let i = l4 + 20 + rng.below(f.len() - l4 - 20);
                                let r = rng.byte();
                                f[i] = *rng.pick(&[0u8, 1, 2, 3, 4, 5, 8, 255, r]);
                            }
                        }
                    }
                    if rng.chance(85) {
                        let tot = usize::from(u16::from_be_bytes([f[IP + 2], f[IP + 3]]));
                        let end = (IP + tot).min(f.len());
                        if end >= l4 + 20 {
                            let src = Ipv4Addr::new(f[IP + 12], f[IP + 13], f[IP + 14], f[IP + 15]);
                            let dst = Ipv4Addr::new(f[IP + 16], f[IP + 17], f[IP + 18], f[IP + 19]);
                            wire::tcp::Packet::new_unchecked(&mut f[l4..end])
                                .fill_checksum_v4(src, dst);
                        }
                    }
                }
            }
            // ARP rewrites: opcode, lengths, addresses.
            7 if f.len() >= 14 + 28 && f[12..14] == [0x08, 0x06] => match rng.below(4) {
                0 => f[14 + 7] = rng.below(5) as u8,
                1 => f[14 + 4] = *rng.pick(&[0u8, 4, 6, 16]),
                2 => {
                    let a = *rng.pick(&[
                        Ipv4Addr::UNSPECIFIED,
                        Ipv4Addr::BROADCAST,
                        OUR_IP,
                        Ipv4Addr::LOCALHOST,
                        Ipv4Addr::new(224, 0, 0, 9),
                    ]);
                    let at = if rng.chance(50) { 14 + 14 } else { 14 + 24 };
                    f[at..at + 4].copy_from_slice(&a.octets());
                }
                _ => f[14 + 8] |= 1,
            },
            // Link-layer rewrites: destination and EtherType.
            8 if f.len() >= 14 => {
                if rng.chance(50) {
                    let d = *rng.pick(&[
                        OUR_MAC,
                        EthernetAddress::BROADCAST,
                        EthernetAddress([1, 0, 0x5e, 0, 0, 1]),
                        EthernetAddress([2, 9, 9, 9, 9, 9]),
                    ]);
                    f[..6].copy_from_slice(&d.0);
                } else {
                    let r = rng.next() as u16;
                    let t = *rng.pick(&[0x0800u16, 0x0806, 0x86dd, 0x8100, 0x88a8, r]);
                    f[12..14].copy_from_slice(&t.to_be_bytes());
                }
            }
            _ => {}
        }
    }
    // Often make the damage reach past the IP header check.
    if f.len() >= IP + 20 && f[12..14] == [0x08, 0x00] && rng.chance(70) {
        let hl = usize::from(f[IP] & 0x0f) * 4;
        if hl >= 20 && IP + hl <= f.len() {
            refill_ipv4_checksum(&mut f[IP..]);
        }
    }
    f
}

fn random_frame(rng: &mut Rng) -> Vec<u8> {
    let r = rng.below(2000);
    let len = *rng.pick(&[0usize, 1, 13, 14, 15, 34, 42, 60, 64, 100, 576, 1514, r]);
    let mut f: Vec<u8> = (0..len).map(|_| rng.byte()).collect();
    if f.len() >= 14 && rng.chance(60) {
        f[..6].copy_from_slice(&OUR_MAC.0);
        let t = *rng.pick(&[0x0800u16, 0x0806]);
        f[12..14].copy_from_slice(&t.to_be_bytes());
        if t == 0x0800 && f.len() >= 34 && rng.chance(50) {
            f[14] = 0x45;
            refill_ipv4_checksum(&mut f[14..]);
        }
    }
    f
}

fn assert_accounted(stack: &Stack, at: usize) {
    let st = stack.stats();
    assert_eq!(
        st.rx_frames,
        st.consumed + st.total_drops(),
        "after frame {at}: rx_frames {} != consumed {} + drops {}",
        st.rx_frames,
        st.consumed,
        st.total_drops()
    );
}

fn run(seed: u64, frames: usize, forwarding: bool) -> Stack {
    let mut rng = Rng(seed);
    let cfg = StackConfig {
        ip_forward: forwarding,
        ..StackConfig::default()
    };
    let mut h = Harness::with_config(cfg, seed).with_gateway();
    let eth1 = add_ethernet(
        &mut h.stack,
        "eth1",
        ETH1_MAC,
        Ipv4Addr::new(10, 1, 0, 1),
        24,
    );
    let devs: [IfIndex; 3] = [h.eth0, h.eth0, eth1];

    // Sockets: a bound one, a connected one, one connected to an absent host (its ARP
    // failures loop host unreachables back through lo).
    let bound = h.stack.udp_socket().unwrap();
    h.stack
        .udp_bind(bound, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 5000))
        .unwrap();
    h.stack.udp_set_rcvbuf(bound, 8192).unwrap();
    let conn = h.stack.udp_socket().unwrap();
    h.stack
        .udp_connect(conn, SocketAddrV4::new(PEER_IP, 7777))
        .unwrap();
    let lost = h.stack.udp_socket().unwrap();
    h.stack
        .udp_connect(lost, SocketAddrV4::new(ABSENT_IP, 7))
        .unwrap();
    // ARP state: the peer learned from a request, a pending resolution.
    let _ = h.exchange(&arp_request(PEER_MAC, PEER_IP, OUR_IP));
    h.stack
        .neigh_add(
            h.eth0,
            Ipv4Addr::new(10, 0, 0, 3),
            Some(EthernetAddress([2, 0, 0, 0, 0, 3])),
            NudState::Permanent,
        )
        .unwrap();
    h.stack.udp_send_to(conn, b"first", None).unwrap();
    let our_udp = h.drain().pop().expect("a datagram to the peer");
    h.stack.udp_send_to(lost, b"void", None).unwrap();
    let _ = h.drain();

    let mut corpus = corpus(&our_udp);
    corpus.extend(tcp_corpus(&mut h));
    let mut buf = [0u8; 2048];
    for i in 0..frames {
        let frame = if rng.chance(25) {
            random_frame(&mut rng)
        } else {
            let seed = rng.pick(&corpus);
            mutate(&mut rng, seed)
        };
        let dev = *rng.pick(&devs);
        h.stack.receive(h.now, dev, SkBuff::from_slice(&frame));

        if i % 64 == 63 {
            let _ = h.drain();
            while let Some(ev) = h.stack.poll_event() {
                match ev {
                    Event::Readable(s) | Event::Error(s) => {
                        while h.stack.udp_recv_from(s, &mut buf).is_ok() {}
                        while matches!(h.stack.tcp_recv(s, &mut buf), Ok(n) if n > 0) {}
                        let _ = h.stack.tcp_take_error(s);
                        if rng.chance(2) {
                            let _ = h.stack.tcp_close(s);
                        }
                    }
                    Event::Acceptable(l) => {
                        while let Ok((c, _)) = h.stack.tcp_accept(l) {
                            let _ = h.stack.tcp_send(c, b"welcome");
                        }
                    }
                    Event::Connected(s) | Event::Writable(s) => {
                        let _ = h.stack.tcp_send(s, &[7; 3000]);
                    }
                    _ => {}
                }
            }
            assert_accounted(&h.stack, i);
        }
        if i % 997 == 0 {
            let _ = h.stack.udp_send_to(conn, b"tick", None);
            let _ = h.stack.udp_send_to(lost, b"tick", None);
            let _ = h
                .stack
                .udp_send_to(bound, &[1; 3000], Some(SocketAddrV4::new(OUR_IP, 5000)));
            let _ = h.stack.ping_send(OUR_IP, 1, i as u16, None, b"self");
        }
        if i % 251 == 0 {
            let step = Duration::from_millis(rng.below(3000) as u64);
            let _ = h.advance(step);
        }
    }
    let _ = h.advance(Duration::from_secs(120));
    let _ = h.drain();
    assert_accounted(&h.stack, frames);
    h.stack
}

/// 120,000 random and mutated frames (forwarding off, then on; TCP segments to a listener,
/// an established connection and a connect in progress among them): no panic, and
/// `rx_frames == consumed + total_drops()` throughout.
#[test]
fn random_and_mutated_frames_never_panic_and_are_all_accounted_for() {
    let a = run(0x5eed_0001, 80_000, false);
    let b = run(0x5eed_0002, 40_000, true);
    for st in [a.stats(), b.stats()] {
        // The mix really exercised the deep paths.
        assert!(st.ip.in_delivers > 1_000, "{:?}", st.ip);
        assert!(st.udp.no_ports > 100 && st.icmp.out_msgs > 100);
        assert!(st.ip.in_hdr_errors > 100);
        assert!(st.consumed > 1_000 && st.total_drops() > 10_000);
    }
    assert!(b.stats().ip.forw_datagrams > 0, "forwarding path reached");
    // TCP: listener, connection and connect paths were reached, not just the checksum.
    let t = a.stats();
    assert!(t.tcp.in_segs > 1_000 && t.tcp.out_rsts > 100, "{:?}", t.tcp);
    assert!(t.tcp_ext.tcp_challenge_ack > 0 && t.tcp_ext.tcp_syn_challenge > 0);
}

/// Same seed, same run: the stack is deterministic.
#[test]
fn robustness_run_is_deterministic_per_seed() {
    let a = run(7, 3_000, true);
    let b = run(7, 3_000, true);
    assert_eq!(a.stats().rx_frames, b.stats().rx_frames);
    assert_eq!(a.stats().consumed, b.stats().consumed);
    assert_eq!(a.stats().drops, b.stats().drops);
    assert_eq!(a.counters(), b.counters());
}

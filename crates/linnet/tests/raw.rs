//! Raw IPv4 sockets against the real Linux kernel over a TAP (seed exercises E38, E39 and
//! the IP_HDRINCL spoofing example of SEED-REQUIREMENTS §7.8 / §3.12): a linnet raw ICMP
//! socket, made through the kernel-style door (`sock_create_kern`), pings Linux and reads
//! the replies with the IP header at offset 0; with `ICMP_FILTER` bit 3 the port
//! unreachable Linux answers to a UDP datagram for a closed port is not seen (and without
//! it, it is); and Linux's device receives an `IPPROTO_RAW` packet from linnet with
//! exactly the source address written (255.255.255.255; captured with a packet socket,
//! since Linux's IP layer drops that martian source).
//!
//! Linux: net/ipv4/raw.c (both sides), net/ipv4/icmp.c (Linux's echo replies and port
//! unreachables). RFCs: RFC 791, RFC 792.
//!
//! Needs root, /dev/net/tun and `ip`; skips saying why without them, fails under `CI=true`.
#![allow(unsafe_code)]

#[path = "support/kernel_env.rs"]
mod kernel_env;

use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;
use std::time::{Duration, Instant};

use linnet::core::{Stack, StackConfig};
use linnet::kernel::*;
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::{Runtime, TunDevice};

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip(8)");
    assert!(
        out.status.success(),
        "ip {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Deletes the TAP when dropped (also on panic).
struct DelLink(String);

impl Drop for DelLink {
    fn drop(&mut self) {
        let _ = Command::new("ip").args(["link", "del", &self.0]).output();
    }
}

fn checksum(b: &[u8]) -> u16 {
    let mut s: u32 = 0;
    for c in b.chunks(2) {
        s += u32::from(u16::from_be_bytes([c[0], *c.get(1).unwrap_or(&0)]));
    }
    while s >> 16 != 0 {
        s = (s & 0xffff) + (s >> 16);
    }
    !(s as u16)
}

fn to(ip: Ipv4Addr) -> Msghdr {
    Msghdr {
        msg_name: Some(SockaddrIn::from_v4(SocketAddrV4::new(ip, 0))),
        msg_namelen: SOCKADDR_IN_SIZE,
        ..Msghdr::default()
    }
}

fn send(sock: &Socket, dst: Ipv4Addr, data: &[u8]) {
    let n = kernel_sendmsg(sock, &to(dst), &[Kvec::new(data)], 1, data.len()).unwrap();
    assert_eq!(n, data.len());
}

/// Every datagram the socket receives within `wait` (none is an empty list).
fn recv_all(sock: &Socket, wait: Duration) -> Vec<(Vec<u8>, Ipv4Addr)> {
    let end = Instant::now() + wait;
    let mut out = Vec::new();
    while Instant::now() < end {
        let mut buf = [0u8; 2048];
        let mut msg = Msghdr::default();
        match kernel_recvmsg(
            sock,
            &mut msg,
            &mut [KvecMut::new(&mut buf)],
            1,
            2048,
            MSG_DONTWAIT,
        ) {
            Ok(n) => out.push((buf[..n].to_vec(), *msg.msg_name.unwrap().to_v4().ip())),
            Err(_) => std::thread::sleep(Duration::from_millis(20)),
        }
    }
    out
}

fn echo_request(ident: u16, seq: u16) -> Vec<u8> {
    let mut m = vec![8, 0, 0, 0];
    m.extend_from_slice(&ident.to_be_bytes());
    m.extend_from_slice(&seq.to_be_bytes());
    m.extend_from_slice(&[0xa5; 56]);
    let c = checksum(&m);
    m[2..4].copy_from_slice(&c.to_be_bytes());
    m
}

#[test]
fn raw_sockets_ping_filter_and_spoof_against_the_kernel() {
    let test = "raw_sockets_ping_filter_and_spoof_against_the_kernel";
    if !kernel_env::kernel_ready(test, &[]) {
        return;
    }
    let name = format!("lnr{}", std::process::id() % 1_000_000);
    let tap = TunDevice::tap(&name).unwrap();
    let _del = DelLink(name.clone());
    let _ = std::fs::write(format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6"), "1");
    ip(&["addr", "add", "10.95.0.1/24", "dev", &name]);
    ip(&["link", "set", &name, "up"]);
    let kernel_ip = Ipv4Addr::new(10, 95, 0, 1);
    let linnet_ip = Ipv4Addr::new(10, 95, 0, 2);
    let rt = Runtime::new(Stack::new(StackConfig::default(), linnet::os_seed())).unwrap();
    let idx = rt.add_device(tap).unwrap();
    rt.with_stack(|s| {
        s.set_up(idx, true).unwrap();
        s.add_addr(idx, "10.95.0.2/24".parse::<Ipv4Cidr>().unwrap())
            .unwrap();
    });
    let net = rt.handle();

    // E38: echo requests (id, 56 bytes of 0xa5, checksum) and the replies, IP header first.
    let icmp = sock_create_kern(net, AF_INET, SOCK_RAW, IPPROTO_ICMP).unwrap();
    let ident = (std::process::id() & 0xffff) as u16;
    for seq in 1..=3u16 {
        send(&icmp, kernel_ip, &echo_request(ident, seq));
    }
    let got = recv_all(&icmp, Duration::from_secs(2));
    let replies: Vec<_> = got
        .iter()
        .filter(|(d, _)| {
            let ihl = usize::from(d[0] & 0xf) * 4;
            d.len() >= ihl + 8 && d[ihl] == 0 && d[ihl + 4..ihl + 6] == ident.to_be_bytes()
        })
        .collect();
    assert_eq!(replies.len(), 3, "three echo replies: {got:?}");
    for (d, from) in &replies {
        assert_eq!(d[0] >> 4, 4, "IP version at offset 0");
        assert_eq!(d[9], 1, "protocol ICMP");
        assert_eq!(&d[12..16], &kernel_ip.octets());
        assert_eq!(&d[16..20], &linnet_ip.octets());
        assert_eq!(*from, kernel_ip);
        let ihl = usize::from(d[0] & 0xf) * 4;
        assert_eq!(d.len(), ihl + 64);
        assert_eq!(checksum(&d[ihl..]), 0, "valid ICMP checksum");
        assert_eq!(&d[ihl + 8..], &[0xa5; 56][..]);
    }

    // E39: a UDP datagram to a closed Linux port draws a port unreachable. Without a
    // filter the ICMP socket sees it; with ICMP_FILTER bit 3 (DEST_UNREACH) it does not.
    let udp = sock_create_kern(net, AF_INET, SOCK_DGRAM, IPPROTO_UDP).unwrap();
    let closed = Msghdr {
        msg_name: Some(SockaddrIn::from_v4(SocketAddrV4::new(kernel_ip, 9))),
        msg_namelen: SOCKADDR_IN_SIZE,
        ..Msghdr::default()
    };
    let unreach = |d: &Vec<u8>| {
        let ihl = usize::from(d[0] & 0xf) * 4;
        d.len() > ihl + 1 && d[ihl] == 3 && d[ihl + 1] == 3
    };
    kernel_sendmsg(&udp, &closed, &[Kvec::new(b"anyone?")], 1, 7).unwrap();
    let got = recv_all(&icmp, Duration::from_millis(1500));
    assert!(
        got.iter().any(|(d, _)| unreach(d)),
        "unfiltered: the port unreachable arrives: {got:?}"
    );
    kernel_setsockopt(&icmp, SOL_RAW, ICMP_FILTER, &(1u32 << 3).to_ne_bytes()).unwrap();
    // Linux rate-limits errors per destination (1 s, burst 6): a few tries are enough.
    for _ in 0..3 {
        kernel_sendmsg(&udp, &closed, &[Kvec::new(b"anyone?")], 1, 7).unwrap();
    }
    let got = recv_all(&icmp, Duration::from_millis(1500));
    assert!(
        !got.iter().any(|(d, _)| unreach(d)),
        "filtered: no port unreachable: {got:?}"
    );
    let arrived = rt.with_stack(|s| s.stats().icmp.in_dest_unreachs);
    assert!(arrived >= 2, "the unreachables did reach linnet: {arrived}");

    // IP_HDRINCL: Linux receives exactly the source address written, 255.255.255.255.
    // Its IP layer drops such a martian source (SEED-REQUIREMENTS §3.12), so the capture
    // is a packet socket on the TAP, as tcpdump would do.
    let cname = std::ffi::CString::new(name.clone()).unwrap();
    // SAFETY: a NUL-terminated name.
    let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
    assert_ne!(ifindex, 0);
    let eth_p_ip = (libc::ETH_P_IP as u16).to_be();
    // SAFETY: plain socket calls with a sockaddr_ll and a timeval of the sizes passed.
    let cap = unsafe {
        let fd = libc::socket(libc::AF_PACKET, libc::SOCK_DGRAM, i32::from(eth_p_ip));
        assert!(fd >= 0, "AF_PACKET socket");
        let mut ll: libc::sockaddr_ll = std::mem::zeroed();
        ll.sll_family = libc::AF_PACKET as u16;
        ll.sll_protocol = eth_p_ip;
        ll.sll_ifindex = ifindex as i32;
        let r = libc::bind(
            fd,
            (&raw const ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        );
        assert_eq!(r, 0, "bind AF_PACKET");
        let tv = libc::timeval {
            tv_sec: 2,
            tv_usec: 0,
        };
        libc::setsockopt(
            fd,
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&raw const tv).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        );
        fd
    };
    let rawp = sock_create_kern(net, AF_INET, SOCK_RAW, IPPROTO_RAW).unwrap();
    let mut pkt = vec![0x45, 0, 0, 0, 0x32, 0x1e, 0, 0, 64, 253, 0, 0];
    pkt.extend_from_slice(&Ipv4Addr::BROADCAST.octets());
    pkt.extend_from_slice(&kernel_ip.octets());
    pkt.extend_from_slice(b"spoofed");
    send(&rawp, kernel_ip, &pkt);
    let mut seen = None;
    for _ in 0..20 {
        let mut buf = [0u8; 2048];
        // SAFETY: a valid fd and a buffer of the length passed.
        let n = unsafe { libc::recv(cap, buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n <= 0 {
            break;
        }
        let d = &buf[..n as usize];
        if d.len() >= 20 && d[9] == 253 {
            seen = Some(d.to_vec());
            break;
        }
    }
    // SAFETY: the fd is ours.
    unsafe { libc::close(cap) };
    let d = seen.expect("the IP_HDRINCL packet reached Linux's device");
    assert_eq!(d.len(), 27);
    assert_eq!(&d[12..16], &[255, 255, 255, 255], "source as written");
    assert_eq!(&d[4..6], &[0x32, 0x1e], "ID as written");
    assert_eq!(&d[2..4], &[0, 27], "tot_len filled in");
    assert_eq!(checksum(&d[..20]), 0, "checksum filled in");
    assert_eq!(&d[20..], b"spoofed");

    for s in [icmp, udp, rawp] {
        sock_release(s);
    }
    rt.shutdown().unwrap();
}

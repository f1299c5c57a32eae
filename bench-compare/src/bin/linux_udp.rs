//! Linux's own UDP over loopback, for scale only: NOT comparable with the in-process
//! figures. Each datagram costs a `send` and a `recv` system call plus the kernel's whole
//! UDP/IP/loopback path on both sides, on one thread, so it is syscall-bound.
//!
//! Usage: `linux_udp [SECONDS] [MAX_PACKETS]` (default 2 s, at most 10 million packets).
//! Sends 64-byte datagrams from one socket to another on 127.0.0.1 and reads each back
//! before sending the next. Bounded in time and count; touches only the loopback device
//! (scripts/bench.sh runs it inside a fresh network namespace when it can).

use std::net::UdpSocket;
use std::time::{Duration, Instant};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let secs: f64 = args.next().and_then(|s| s.parse().ok()).unwrap_or(2.0);
    let max: u64 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000_000);
    let rx = UdpSocket::bind("127.0.0.1:0")?;
    let tx = UdpSocket::bind("127.0.0.1:0")?;
    tx.connect(rx.local_addr()?)?;
    rx.set_read_timeout(Some(Duration::from_secs(1)))?;
    let payload = [0x5au8; 64];
    let mut buf = [0u8; 2048];
    // Warm-up.
    for _ in 0..10_000 {
        tx.send(&payload)?;
        rx.recv(&mut buf)?;
    }
    let limit = Duration::from_secs_f64(secs);
    let start = Instant::now();
    let mut n = 0u64;
    while n < max {
        for _ in 0..1000 {
            tx.send(&payload)?;
            let got = rx.recv(&mut buf)?;
            assert_eq!(got, payload.len());
        }
        n += 1000;
        if start.elapsed() >= limit {
            break;
        }
    }
    let el = start.elapsed().as_secs_f64();
    println!(
        "linux_udp_loopback packets={n} seconds={el:.3} pps={:.0} ns_per_packet={:.0}",
        n as f64 / el,
        el * 1e9 / n as f64
    );
    Ok(())
}

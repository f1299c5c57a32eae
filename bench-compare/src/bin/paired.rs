//! Wall-clock per-packet cost of linnet-core and smoltcp measured in alternating batches,
//! so that load from other processes (the 2-core development machine is shared) hits both
//! stacks alike. For each path: ROUNDS rounds, each timing BATCH packets of one stack then
//! BATCH of the other (the order flips every round); reports the fastest and the median
//! batch of each, in ns per packet. A complement to criterion, whose benchmarks of the two
//! stacks run one after the other.
//!
//! Usage: `paired [ROUNDS] [BATCH]` (default 40 rounds of 20000 packets; about 2 s).

use std::hint::black_box;
use std::time::Instant;

use bench_compare::linnet::{LinnetEcho, LinnetUdpRx, LinnetUdpTx, MANY_SOCKETS};
use bench_compare::{Drive, SmolEcho, SmolUdpRx, SmolUdpTx};

fn time_batch(step: &mut dyn FnMut() -> usize, batch: u32) -> f64 {
    let t = Instant::now();
    for _ in 0..batch {
        black_box(step());
    }
    t.elapsed().as_nanos() as f64 / f64::from(batch)
}

fn stats(mut v: Vec<f64>) -> (f64, f64) {
    v.sort_by(f64::total_cmp);
    (v[0], v[v.len() / 2])
}

fn pair(
    path: &str,
    linnet: &mut dyn FnMut() -> usize,
    smol: &mut dyn FnMut() -> usize,
    rounds: u32,
    batch: u32,
) {
    let (mut l, mut s) = (Vec::new(), Vec::new());
    // Warm-up of both.
    time_batch(linnet, batch);
    time_batch(smol, batch);
    for r in 0..rounds {
        if r % 2 == 0 {
            l.push(time_batch(linnet, batch));
            s.push(time_batch(smol, batch));
        } else {
            s.push(time_batch(smol, batch));
            l.push(time_batch(linnet, batch));
        }
    }
    let ((lmin, lmed), (smin, smed)) = (stats(l), stats(s));
    println!(
        "paired path={path} linnet_min_ns={lmin:.1} linnet_med_ns={lmed:.1} smoltcp_min_ns={smin:.1} smoltcp_med_ns={smed:.1}"
    );
}

fn main() {
    let mut args = std::env::args().skip(1);
    let rounds: u32 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40)
        .max(1);
    let batch: u32 = args
        .next()
        .and_then(|s| s.parse().ok())
        .unwrap_or(20_000)
        .max(1);

    let (mut l, mut s) = (LinnetUdpRx::new(), SmolUdpRx::new(Drive::Single));
    pair("udp_rx", &mut || l.step(), &mut || s.step(), rounds, batch);
    let (mut l, mut s) = (LinnetEcho::new(), SmolEcho::new(Drive::Single));
    pair(
        "icmp_echo",
        &mut || l.step(),
        &mut || s.step(),
        rounds,
        batch,
    );
    let (mut l, mut s) = (LinnetUdpTx::new(), SmolUdpTx::new(Drive::Single));
    pair("udp_tx", &mut || l.step(), &mut || s.step(), rounds, batch);
    let (mut l, mut s) = (
        LinnetUdpRx::with_sockets(MANY_SOCKETS),
        SmolUdpRx::with_sockets(Drive::Single, MANY_SOCKETS),
    );
    pair(
        "udp_rx_many",
        &mut || l.step(),
        &mut || s.step(),
        rounds,
        batch,
    );
}

//! linnet-core and smoltcp side by side, per packet, in one criterion run: the groups are
//! the data paths, the functions the stacks. Run by `bash scripts/bench.sh` (or
//! `cargo bench` in bench-compare/).

use std::hint::black_box;
use std::time::Duration;

use bench_compare::linnet::{LinnetEcho, LinnetUdpRx, LinnetUdpTx, MANY_SOCKETS};
use bench_compare::{Drive, SmolEcho, SmolUdpRx, SmolUdpTx};
use criterion::{criterion_group, criterion_main, Criterion, Throughput};

fn udp_rx(c: &mut Criterion) {
    let mut g = c.benchmark_group("udp_rx");
    g.throughput(Throughput::Elements(1));
    let mut l = LinnetUdpRx::new();
    g.bench_function("linnet", |b| b.iter(|| black_box(l.step())));
    let mut s = SmolUdpRx::new(Drive::Single);
    g.bench_function("smoltcp", |b| b.iter(|| black_box(s.step())));
    let mut p = SmolUdpRx::new(Drive::Poll);
    g.bench_function("smoltcp_poll", |b| b.iter(|| black_box(p.step())));
    g.finish();
}

fn icmp_echo(c: &mut Criterion) {
    let mut g = c.benchmark_group("icmp_echo");
    g.throughput(Throughput::Elements(1));
    let mut l = LinnetEcho::new();
    g.bench_function("linnet", |b| b.iter(|| black_box(l.step())));
    let mut s = SmolEcho::new(Drive::Single);
    g.bench_function("smoltcp", |b| b.iter(|| black_box(s.step())));
    let mut p = SmolEcho::new(Drive::Poll);
    g.bench_function("smoltcp_poll", |b| b.iter(|| black_box(p.step())));
    g.finish();
}

fn udp_tx(c: &mut Criterion) {
    let mut g = c.benchmark_group("udp_tx");
    g.throughput(Throughput::Elements(1));
    let mut l = LinnetUdpTx::new();
    g.bench_function("linnet", |b| b.iter(|| black_box(l.step())));
    let mut s = SmolUdpTx::new(Drive::Single);
    g.bench_function("smoltcp", |b| b.iter(|| black_box(s.step())));
    let mut p = SmolUdpTx::new(Drive::Poll);
    g.bench_function("smoltcp_poll", |b| b.iter(|| black_box(p.step())));
    g.finish();
}

/// `udp_rx` with 256 other bound UDP sockets: smoltcp matches a datagram by trying the
/// sockets of its set in turn; linnet hashes the port.
fn udp_rx_many(c: &mut Criterion) {
    let mut g = c.benchmark_group("udp_rx_many");
    g.throughput(Throughput::Elements(1));
    let mut l = LinnetUdpRx::with_sockets(MANY_SOCKETS);
    g.bench_function("linnet", |b| b.iter(|| black_box(l.step())));
    let mut s = SmolUdpRx::with_sockets(Drive::Single, MANY_SOCKETS);
    g.bench_function("smoltcp", |b| b.iter(|| black_box(s.step())));
    g.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = udp_rx, icmp_echo, udp_tx, udp_rx_many
}
criterion_main!(benches);

//! Per-packet cost of linnet-core's three basic data paths, as packets per second:
//!
//! - `udp_rx`: a prebuilt Ethernet/IPv4/UDP frame (64-byte payload) fed through
//!   `Stack::receive` and read with `udp_recv_from`;
//! - `icmp_echo`: an echo request in, the echo reply out of `poll_transmit`;
//! - `udp_tx`: `udp_send_to` of 64 bytes, the frame out of `poll_transmit`.
//!
//! Buffers are recycled, so the steady state allocates nothing. Run with
//! `cargo bench -p linnet-core --bench per_packet`; `bash scripts/bench.sh` runs this, the
//! smoltcp comparison and the instruction counts together (see docs/PERFORMANCE.md).

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};

mod common;

use common::{LinnetEcho, LinnetUdpRx, LinnetUdpTx};

fn per_packet(c: &mut Criterion) {
    let mut g = c.benchmark_group("linnet");
    g.throughput(Throughput::Elements(1));

    let mut rx = LinnetUdpRx::new();
    g.bench_function("udp_rx", |b| b.iter(|| black_box(rx.step())));

    let mut echo = LinnetEcho::new();
    g.bench_function("icmp_echo", |b| b.iter(|| black_box(echo.step())));

    let mut tx = LinnetUdpTx::new();
    g.bench_function("udp_tx", |b| b.iter(|| black_box(tx.step())));

    g.finish();
}

fn config() -> Criterion {
    // Short by default so scripts/bench.sh stays within a few minutes on a 2-core machine;
    // command-line flags (--warm-up-time, --measurement-time) still override.
    Criterion::default()
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(3))
        .configure_from_args()
}

criterion_group! {
    name = benches;
    config = config();
    targets = per_packet
}
criterion_main!(benches);

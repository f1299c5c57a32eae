//! TCP bulk transfers over impaired links, many seeds per loss rate: 10 MB arrive byte for
//! byte (compared by hash) over links losing 0 %, 1 %, 2 %, 5 % and 10 % of frames, with
//! jitter, reordering and duplication, and with small, fixed or growing buffers. Every
//! transfer must also end cleanly (FIN both ways, nothing left but the listener).
//!
//! Linux analogue: two network namespaces on a veth pair with `tc qdisc ... netem loss L%
//! reorder R% duplicate D% delay 2ms 500us`, `iperf3 -n 10M [-w SIZE]`, the payload compared
//! with `sha256sum`.

mod common;

use common::transfer::{run, Spec};
use linnet_core::Duration;
use linnet_testkit::LinkConfig;

const TEN_MB: usize = 10 * 1024 * 1024;

/// Seeds per loss rate.
const SEEDS: u64 = 8;

/// The buffers of seed `i` of a row: growing defaults, small fixed buffers (`-w 4K`: an
/// 8 KiB send buffer, an 8 KiB window), or medium fixed ones.
fn buffers(i: u64) -> (Option<usize>, Option<usize>, &'static str) {
    match i % 4 {
        1 => (Some(4096), Some(8192), "small"),
        3 => (Some(65_536), Some(65_536), "64K"),
        _ => (None, None, "auto"),
    }
}

/// The link of seed `i` at `loss`: every other seed reorders 1-3 % and duplicates 1 %.
fn link(i: u64, loss: f64) -> LinkConfig {
    let (reorder, duplicate) = match i % 3 {
        0 => (0.0, 0.0),
        1 => (0.01, 0.01),
        _ => (0.03, 0.01),
    };
    LinkConfig {
        latency: Duration::from_millis(2),
        jitter: Duration::from_micros(500),
        loss,
        reorder,
        duplicate,
        ..LinkConfig::default()
    }
}

/// Runs the row for `loss`; the seeds differ per row.
fn row(loss: f64, base_seed: u64) {
    for i in 0..SEEDS {
        let seed = base_seed + i;
        let (sndbuf, rcvbuf, bufs) = buffers(i);
        let spec = Spec {
            sndbuf,
            rcvbuf,
            ..Spec::new(seed, link(i, loss), TEN_MB)
        };
        let (th, out) = run(&spec);
        let sa = th.net.stack(th.a).stats();
        let sb = th.net.stack(th.b).stats();
        let lost = th.net.link_stats(th.link.id).lost;
        if loss == 0.0 {
            assert_eq!(lost, 0);
        } else {
            assert!(lost > 0, "seed {seed}");
            // Every loss of a data segment is repaired by a retransmission.
            assert!(sa.tcp.retrans_segs > 0, "seed {seed}: {:?}", sa.tcp);
        }
        if spec.link.reorder == 0.0 && loss == 0.0 {
            assert_eq!(sa.tcp.retrans_segs, 0, "seed {seed}: {:?}", sa.tcp);
        }
        assert!(sb.tcp.in_segs as usize >= TEN_MB / 1448, "{:?}", sb.tcp);
        eprintln!(
            "loss {:>4.1}% seed {seed:>3} {bufs:>5} reorder {:.2} dup {:.2}: {:>7.2} Mbit/s, \
             {:>6} ms, {:>7} steps, {:>5} retransmitted, {:>3} timeouts",
            loss * 100.0,
            spec.link.reorder,
            spec.link.duplicate,
            out.mbps(TEN_MB),
            out.elapsed.as_millis(),
            out.steps,
            sa.tcp.retrans_segs,
            sa.tcp_ext.tcp_timeouts
        );
    }
}

#[test]
fn ten_megabytes_loss_0_percent() {
    row(0.0, 100);
}

#[test]
fn ten_megabytes_loss_1_percent() {
    row(0.01, 200);
}

#[test]
fn ten_megabytes_loss_2_percent() {
    row(0.02, 300);
}

#[test]
fn ten_megabytes_loss_5_percent() {
    row(0.05, 400);
}

#[test]
fn ten_megabytes_loss_10_percent() {
    row(0.10, 500);
}

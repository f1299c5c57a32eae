//! The TCP throughput table: goodput (Mbit/s of virtual time) of bulk transfers across a
//! 100 Mbit/s link with 10 ms of round-trip time, for each loss rate (rows) and buffer
//! setting (columns), averaged over seeds. Everything is virtual time and seeded, so the
//! table is exact; it is kept in `tests/snapshots/tcp_throughput.txt`, and this test fails
//! with a diff when the stack's behaviour changes it.
//!
//! Regenerate after a deliberate change (loss recovery, congestion control, buffers):
//! `UPDATE_SNAPSHOTS=1 cargo test -p linnet-testkit --test tcp_throughput`
//!
//! Linux analogue: `tc qdisc add dev veth0 root netem rate 100mbit delay 5ms loss L%` on
//! both ends, then `iperf3 -n 4M [-w SIZE]`.

mod common;

use std::fmt::Write as _;
use std::path::PathBuf;

use common::transfer::{run, Spec};
use linnet_core::{Duration, StackConfig};
use linnet_testkit::LinkConfig;

/// Bytes per transfer.
const TOTAL: usize = 4 * 1024 * 1024;
/// Seeds per cell.
const SEEDS: u64 = 2;
/// Loss rates (rows).
const LOSS: [f64; 6] = [0.0, 0.001, 0.01, 0.02, 0.05, 0.10];

/// A column: its heading and the `SO_SNDBUF` / `SO_RCVBUF` values (as given to
/// setsockopt; the stack doubles them).
struct Column {
    name: &'static str,
    sndbuf: Option<usize>,
    rcvbuf: Option<usize>,
}

const COLUMNS: [Column; 5] = [
    // The buffers before growth and autotuning: a 16 KiB send buffer (tcp_wmem[1]) and a
    // fixed 128 KiB receive buffer (tcp_rmem[1], a 64 KiB window).
    Column {
        name: "16K/128K fixed",
        sndbuf: Some(8 * 1024),
        rcvbuf: Some(64 * 1024),
    },
    Column {
        name: "-w 64K",
        sndbuf: Some(64 * 1024),
        rcvbuf: Some(64 * 1024),
    },
    Column {
        name: "-w 256K",
        sndbuf: Some(256 * 1024),
        rcvbuf: Some(256 * 1024),
    },
    Column {
        name: "-w 1M",
        sndbuf: Some(1024 * 1024),
        rcvbuf: Some(1024 * 1024),
    },
    Column {
        name: "auto",
        sndbuf: None,
        rcvbuf: None,
    },
];

fn link(loss: f64) -> LinkConfig {
    LinkConfig {
        latency: Duration::from_millis(5),
        loss,
        bandwidth_bps: Some(100_000_000),
        ..LinkConfig::default()
    }
}

/// The sysctls of both hosts: Linux's defaults, with `wmem_max` / `rmem_max` raised to
/// 4 MiB so that `-w 1M` is not cut to 2 * 212992 (as `sysctl net.core.wmem_max=...`
/// before running iperf3).
fn cfg() -> StackConfig {
    StackConfig {
        wmem_max: 4 << 20,
        rmem_max: 4 << 20,
        ..StackConfig::default()
    }
}

/// Mean goodput of one cell.
fn cell(row: usize, col: usize) -> f64 {
    let c = &COLUMNS[col];
    let mut sum = 0.0;
    for k in 0..SEEDS {
        let seed = 10_000 + (row as u64) * 100 + (col as u64) * 10 + k;
        let spec = Spec {
            sndbuf: c.sndbuf,
            rcvbuf: c.rcvbuf,
            cfg: cfg(),
            ..Spec::new(seed, link(LOSS[row]), TOTAL)
        };
        let (_th, out) = run(&spec);
        sum += out.mbps(TOTAL);
    }
    sum / SEEDS as f64
}

/// The whole table as text, rows computed on two threads.
fn table() -> String {
    let rows: Vec<Vec<f64>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..2)
            .map(|part| {
                s.spawn(move || {
                    (0..LOSS.len())
                        .filter(|r| r % 2 == part)
                        .map(|r| (r, (0..COLUMNS.len()).map(|c| cell(r, c)).collect()))
                        .collect::<Vec<(usize, Vec<f64>)>>()
                })
            })
            .collect();
        let mut all: Vec<(usize, Vec<f64>)> = handles
            .into_iter()
            .flat_map(|h| h.join().expect("a row panicked"))
            .collect();
        all.sort_by_key(|(r, _)| *r);
        all.into_iter().map(|(_, v)| v).collect()
    });
    let mut t = String::new();
    t.push_str(
        "# TCP goodput in Mbit/s of virtual time: 4 MiB from a to b over a 100 Mbit/s link,\n\
         # 5 ms each way (10 ms RTT), unbounded link queue, random loss per frame in both\n\
         # directions; mean of 2 seeds per cell. Columns: SO_SNDBUF/SO_RCVBUF as given to\n\
         # setsockopt (doubled by the stack, like iperf3 -w; wmem_max/rmem_max = 4 MiB);\n\
         # \"16K/128K fixed\" is the stack before buffer growth (tcp_wmem[1], tcp_rmem[1]);\n\
         # \"auto\" is Linux's default: send-buffer growth and receive autotuning.\n\
         # Written by crates/linnet-testkit/tests/tcp_throughput.rs. Regenerate with:\n\
         #   UPDATE_SNAPSHOTS=1 cargo test -p linnet-testkit --test tcp_throughput\n",
    );
    let _ = write!(t, "{:<8}", "loss");
    for c in &COLUMNS {
        let _ = write!(t, "{:>16}", c.name);
    }
    t.push('\n');
    for (r, row) in rows.iter().enumerate() {
        let _ = write!(t, "{:<8}", format!("{}%", LOSS[r] * 100.0));
        for v in row {
            let _ = write!(t, "{v:>16.2}");
        }
        t.push('\n');
    }
    t
}

fn snapshot_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/snapshots/tcp_throughput.txt")
}

/// The table matches its snapshot (or, with `UPDATE_SNAPSHOTS=1`, the snapshot is
/// rewritten). Sanity bounds hold whatever the snapshot says: nothing beats the link, a
/// clean link with growing buffers comes close to it, and growth beats the old 16 KiB send
/// buffer.
#[test]
fn throughput_table_matches_snapshot() {
    let actual = table();
    let parse = |line: &str| -> Vec<f64> {
        line.split_whitespace()
            .skip(1)
            .map(|x| x.parse().unwrap())
            .collect()
    };
    let lines: Vec<&str> = actual.lines().filter(|l| !l.starts_with('#')).collect();
    let clean = parse(lines[1]);
    assert!(clean.iter().all(|&v| v > 0.0 && v < 100.0), "{actual}");
    assert!(clean[4] > 80.0, "auto on a clean link: {actual}");
    assert!(clean[4] > 3.0 * clean[0], "growth vs 16 KiB: {actual}");
    let path = snapshot_path();
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, &actual).unwrap();
        eprintln!("wrote {}:\n{actual}", path.display());
        return;
    }
    let expected = std::fs::read_to_string(&path).unwrap_or_default();
    if expected != actual {
        let mut diff = String::new();
        let (e, a): (Vec<&str>, Vec<&str>) = (expected.lines().collect(), actual.lines().collect());
        for i in 0..e.len().max(a.len()) {
            match (e.get(i), a.get(i)) {
                (Some(x), Some(y)) if x == y => {
                    let _ = writeln!(diff, "  {x}");
                }
                (x, y) => {
                    if let Some(x) = x {
                        let _ = writeln!(diff, "- {x}");
                    }
                    if let Some(y) = y {
                        let _ = writeln!(diff, "+ {y}");
                    }
                }
            }
        }
        panic!(
            "{} is out of date (- snapshot, + now). If the change is intended, run\n  \
             UPDATE_SNAPSHOTS=1 cargo test -p linnet-testkit --test tcp_throughput\n{diff}",
            path.display()
        );
    }
}

//! Runs one scenario for a fixed number of packets, for instruction counting under
//! `valgrind --tool=callgrind` (scripts/bench.sh runs it at two packet counts and divides
//! the difference, which removes setup and process start-up).
//!
//! Usage: `count SCENARIO PACKETS`, SCENARIO one of:
//! linnet_udp_rx linnet_icmp_echo linnet_udp_tx
//! smoltcp_udp_rx smoltcp_icmp_echo smoltcp_udp_tx
//! smoltcp_poll_udp_rx smoltcp_poll_icmp_echo smoltcp_poll_udp_tx
//! linnet_udp_rx_many smoltcp_udp_rx_many (256 other bound UDP sockets)
//!
//! Prints `allocs=N bytes=M` for the measured loop: heap allocations counted by a wrapping
//! global allocator, to show the steady state allocates nothing.

use std::alloc::{GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::process::ExitCode;
use std::sync::atomic::{AtomicU64, Ordering};

use bench_compare::linnet::{LinnetEcho, LinnetUdpRx, LinnetUdpTx, MANY_SOCKETS};
use bench_compare::{Drive, SmolEcho, SmolUdpRx, SmolUdpTx};

/// Counts allocations (and reallocations) on top of the system allocator.
struct Counting;

static ALLOCS: AtomicU64 = AtomicU64::new(0);
static BYTES: AtomicU64 = AtomicU64::new(0);

// SAFETY: every call is forwarded unchanged to `System`, which upholds GlobalAlloc's
// contract; the counters are plain atomics with no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(layout.size() as u64, Ordering::Relaxed);
        // SAFETY: same layout as given to us.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System.alloc` with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        ALLOCS.fetch_add(1, Ordering::Relaxed);
        BYTES.fetch_add(new_size as u64, Ordering::Relaxed);
        // SAFETY: forwarded unchanged.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn run(mut step: impl FnMut() -> usize, n: u64) -> (u64, u64, u64) {
    let (a0, b0) = (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    let mut total = 0u64;
    for _ in 0..n {
        total += black_box(step()) as u64;
    }
    let (a1, b1) = (
        ALLOCS.load(Ordering::Relaxed),
        BYTES.load(Ordering::Relaxed),
    );
    (total, a1 - a0, b1 - b0)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let (Some(name), Some(n)) = (args.get(1), args.get(2).and_then(|s| s.parse::<u64>().ok()))
    else {
        eprintln!("usage: count SCENARIO PACKETS (see the source for scenarios)");
        return ExitCode::from(2);
    };
    let (total, allocs, bytes) = match name.as_str() {
        "linnet_udp_rx" => {
            let mut s = LinnetUdpRx::new();
            run(|| s.step(), n)
        }
        "linnet_udp_rx_many" => {
            let mut s = LinnetUdpRx::with_sockets(MANY_SOCKETS);
            run(|| s.step(), n)
        }
        "smoltcp_udp_rx_many" => {
            let mut s = SmolUdpRx::with_sockets(Drive::Single, MANY_SOCKETS);
            run(|| s.step(), n)
        }
        "linnet_icmp_echo" => {
            let mut s = LinnetEcho::new();
            run(|| s.step(), n)
        }
        "linnet_udp_tx" => {
            let mut s = LinnetUdpTx::new();
            run(|| s.step(), n)
        }
        "smoltcp_udp_rx" | "smoltcp_poll_udp_rx" => {
            let drive = if name.contains("poll") {
                Drive::Poll
            } else {
                Drive::Single
            };
            let mut s = SmolUdpRx::new(drive);
            run(|| s.step(), n)
        }
        "smoltcp_icmp_echo" | "smoltcp_poll_icmp_echo" => {
            let drive = if name.contains("poll") {
                Drive::Poll
            } else {
                Drive::Single
            };
            let mut s = SmolEcho::new(drive);
            run(|| s.step(), n)
        }
        "smoltcp_udp_tx" | "smoltcp_poll_udp_tx" => {
            let drive = if name.contains("poll") {
                Drive::Poll
            } else {
                Drive::Single
            };
            let mut s = SmolUdpTx::new(drive);
            run(|| s.step(), n)
        }
        other => {
            eprintln!("unknown scenario {other}");
            return ExitCode::from(2);
        }
    };
    // Every packet must have done its work (no silent drop path measured).
    if n > 0 && total % n != 0 {
        eprintln!("{name}: {total} bytes over {n} packets: some packets were dropped");
        return ExitCode::FAILURE;
    }
    println!(
        "{name} packets={n} bytes_per_packet={} allocs={allocs} alloc_bytes={bytes}",
        total.checked_div(n).unwrap_or(0)
    );
    ExitCode::SUCCESS
}

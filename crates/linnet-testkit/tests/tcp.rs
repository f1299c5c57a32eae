//! TCP across two stacks on simulated links: bulk transfers over lossy, reordering and
//! duplicating links arrive byte for byte (compared by hash), within the step budget, and
//! the counters tell the story (retransmissions when the link loses frames).
//!
//! Linux analogue: two network namespaces on a veth pair with `tc qdisc ... netem loss 5%
//! reorder 3% duplicate 1%`, `nc -l > out` on one side and `nc < in` on the other, then
//! `sha256sum` on both files and `nstat` for the counters.

mod common;

use std::net::SocketAddrV4;

use common::transfer::{run, Outcome, Spec};
use common::{two_hosts, TwoHosts, B_IP};
use linnet_core::{Duration, Errno, Event};
use linnet_testkit::LinkConfig;

/// Moves `total` bytes from a to b over `link` and checks the stream and the counters
/// (`common::transfer::run`).
fn transfer(seed: u64, link: LinkConfig, total: usize) -> (TwoHosts, Outcome) {
    run(&Spec::new(seed, link, total))
}

const TEN_MB: usize = 10 * 1024 * 1024;

/// A clean link: 10 MB arrive intact with no retransmission at all.
#[test]
fn ten_megabytes_over_a_clean_link() {
    let (th, out) = transfer(1, LinkConfig::default(), TEN_MB);
    let sa = th.net.stack(th.a).stats();
    assert_eq!(sa.tcp.retrans_segs, 0, "{:?}", sa.tcp);
    assert_eq!(sa.tcp_ext.tcp_timeouts, 0);
    // The buffers grow: well under the 1.3 s that a fixed 16 KiB send buffer needs
    // (16 KiB per 2 ms round trip).
    assert!(out.elapsed.as_millis() < 700, "{out:?}");
}

/// Lossy, reordering, duplicating links (loss 1-5 %, a few seeds): every transfer
/// completes byte for byte within the step budget, and the sender retransmitted.
#[test]
fn ten_megabytes_over_lossy_reordering_links() {
    let cases = [
        (2, 0.01, 0.01, 0.0),
        (3, 0.02, 0.02, 0.01),
        (4, 0.05, 0.03, 0.01),
        (5, 0.05, 0.0, 0.0),
    ];
    for (seed, loss, reorder, duplicate) in cases {
        let link = LinkConfig {
            latency: Duration::from_millis(2),
            jitter: Duration::from_micros(500),
            loss,
            reorder,
            duplicate,
            ..LinkConfig::default()
        };
        let (th, out) = transfer(seed, link, TEN_MB);
        let sa = th.net.stack(th.a).stats();
        let sb = th.net.stack(th.b).stats();
        assert!(sa.tcp.retrans_segs > 0, "seed {seed}: {:?}", sa.tcp);
        assert!(
            sa.tcp_ext.tcp_sack_recovery + sa.tcp_ext.tcp_timeouts > 0,
            "seed {seed}: {:?}",
            sa.tcp_ext
        );
        if reorder > 0.0 || loss > 0.0 {
            assert!(
                sb.tcp_ext.tcp_ofo_queue > 0,
                "seed {seed}: {:?}",
                sb.tcp_ext
            );
        }
        eprintln!(
            "seed {seed} loss {loss} reorder {reorder} dup {duplicate}: {} ms virtual, {} steps, \
             {} retransmitted, {} SACK recoveries, {} timeouts, {} loss probes, {} undos, \
             {} D-SACKs received",
            out.elapsed.as_millis(),
            out.steps,
            sa.tcp.retrans_segs,
            sa.tcp_ext.tcp_sack_recovery,
            sa.tcp_ext.tcp_timeouts,
            sa.tcp_ext.tcp_loss_probes,
            sa.tcp_ext.tcp_full_undo
                + sa.tcp_ext.tcp_partial_undo
                + sa.tcp_ext.tcp_dsack_undo
                + sa.tcp_ext.tcp_loss_undo,
            sa.tcp_ext.tcp_dsack_recv + sa.tcp_ext.tcp_dsack_ofo_recv
        );
    }
}

/// Connection refused across the network: a SYN to a port nobody listens on comes back as
/// a RST, and the connecting socket reports ECONNREFUSED.
#[test]
fn connect_to_closed_port_is_refused() {
    let mut th = two_hosts(9, LinkConfig::default());
    let (a, b) = (th.a, th.b);
    let c = th.net.stack_mut(a).tcp_socket().unwrap();
    let _ = th
        .net
        .stack_mut(a)
        .tcp_connect(c, SocketAddrV4::new(B_IP, 9));
    th.net.run_for(Duration::from_millis(100)).unwrap();
    let mut evs = Vec::new();
    while let Some((_, ev)) = th.net.poll_event(a) {
        evs.push(ev);
    }
    assert!(evs.contains(&Event::Error(c)), "{evs:?}");
    assert_eq!(
        th.net.stack_mut(a).tcp_take_error(c),
        Ok(Some(Errno::ECONNREFUSED))
    );
    assert_eq!(th.net.stack(b).stats().tcp.out_rsts, 1);
    assert_eq!(th.net.stack(a).stats().tcp.attempt_fails, 1);
}

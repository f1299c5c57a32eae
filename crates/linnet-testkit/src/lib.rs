//! linnet-testkit: simulated networks of many [`linnet_core::Stack`]s on virtual time.
//!
//! A [`Network`] owns several hosts (each one sans-IO `Stack`, i.e. one network namespace)
//! joined by point-to-point Ethernet [links](LinkConfig) that add latency, jitter, loss,
//! duplication, reordering, an MTU and a bandwidth limit. Time is virtual: the network jumps
//! straight to the next event (the earliest frame arrival, scheduled action or stack timer)
//! and never sleeps, so a run of minutes of simulated traffic takes milliseconds. All the
//! network's randomness comes from one PRNG seeded by [`Network::new`], and every stack draws
//! from its own seed, so a run replays exactly from `(seed, script)`.
//!
//! Frames can be traced as one-line summaries in the style of `tcpdump -nn`
//! ([`TraceEvent`], [`summarize`]) and captured per link into pcap files that Wireshark and
//! tcpdump read ([`Network::capture`]).
//!
//! Linux analogue: a set of network namespaces joined by veth pairs with a `netem` qdisc
//! (`tc qdisc add dev veth0 root netem delay 5ms 1ms loss 10% duplicate 5% reorder 5%
//! rate 10mbit`), watched with `tcpdump -w`; see net/sched/sch_netem.c and
//! drivers/net/veth.c. Unlike netem the simulation is reproducible bit for bit.
//!
//! RFCs: RFC 894 (IP over Ethernet framing carried by the links). The capture format is the
//! classic libpcap file format (LINKTYPE_ETHERNET), described in
//! draft-ietf-opsawg-pcap.
//!
//! ```
//! use linnet_core::{Duration, Event, PingEvent, StackConfig};
//! use linnet_testkit::{cidr, LinkConfig, Network};
//!
//! let mut net = Network::new(1);
//! let a = net.add_host("a", StackConfig::default(), 10);
//! let b = net.add_host("b", StackConfig::default(), 11);
//! let l = net.add_link(a, b, LinkConfig::default()).unwrap();
//! net.stack_mut(a).add_addr(l.a, cidr("10.0.0.1/24")).unwrap();
//! net.stack_mut(b).add_addr(l.b, cidr("10.0.0.2/24")).unwrap();
//! net.stack_mut(a).ping_send("10.0.0.2".parse().unwrap(), 1, 1, None, b"hi").unwrap();
//! net.run_for(Duration::from_millis(100)).unwrap();
//! let ev = net.poll_event(a).map(|(_, ev)| ev);
//! assert!(matches!(ev, Some(Event::Ping(PingEvent::Reply { seq: 1, .. }))));
//! ```
#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod capture;
mod link;
mod network;
mod trace;

pub use link::{Direction, LinkConfig, LinkEnd, LinkEnds, LinkId, LinkStats};
pub use network::{EventHandler, HostId, Network, SimError, TraceSink, DEFAULT_STEP_BUDGET};
pub use trace::{summarize, trace_digest, TraceEvent, TraceKind};

use linnet_wire::ipv4::Ipv4Cidr;

/// Parses `"10.0.0.1/24"` into an [`Ipv4Cidr`], for test scripts.
///
/// # Panics
/// Panics with the offending text if it is not a valid `address/prefix`.
pub fn cidr(s: &str) -> Ipv4Cidr {
    s.parse()
        .unwrap_or_else(|e| panic!("bad CIDR {s:?}: {e:?}"))
}

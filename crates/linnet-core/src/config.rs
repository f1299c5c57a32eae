//! `StackConfig`: the sysctls of one stack, set at run time.
//!
//! Linux: Documentation/networking/ip-sysctl.rst, net/ipv4/sysctl_net_ipv4.c,
//! net/ipv4/devinet.c (per-device `conf`), net/ipv4/arp.c (`arp_tbl.parms` defaults).
//! RFCs: RFC 1122 (host requirements defaults).
//!
//! Every default below is today's Linux default; the sysctl name is in each field's doc.

use core::time::Duration;

/// Neighbour-table parameters (`struct neigh_parms`, net.ipv4.neigh.default.*).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NeighParms {
    /// `base_reachable_time_ms`: 30 s. The reachable time is drawn in [base/2, 3*base/2).
    pub base_reachable_time: Duration,
    /// `retrans_time_ms`: 1 s between solicitations.
    pub retrans_time: Duration,
    /// `delay_first_probe_time`: 5 s in DELAY before probing.
    pub delay_first_probe_time: Duration,
    /// `gc_stale_time`: 60 s unused before an entry may be collected.
    pub gc_stale_time: Duration,
    /// `locktime`: 1 s during which a different ARP reply does not override.
    pub locktime: Duration,
    /// `ucast_solicit`: 3 unicast probes.
    pub ucast_solicit: u32,
    /// `mcast_solicit`: 3 broadcast probes.
    pub mcast_solicit: u32,
    /// `mcast_resolicit`: 0 broadcast re-probes from PROBE.
    pub mcast_resolicit: u32,
    /// `app_solicit`: 0 probes through a user-space daemon.
    pub app_solicit: u32,
    /// `unres_qlen_bytes`: 212992 bytes of packets queued per unresolved entry.
    pub unres_qlen_bytes: usize,
    /// `gc_interval`: 30 s between periodic collections.
    pub gc_interval: Duration,
    /// `gc_thresh1`: 128, below which the periodic collection does nothing.
    pub gc_thresh1: usize,
    /// `gc_thresh2`: 512, the soft limit (forced collection if the last was > 5 s ago).
    pub gc_thresh2: usize,
    /// `gc_thresh3`: 1024, the hard limit.
    pub gc_thresh3: usize,
}

impl Default for NeighParms {
    fn default() -> Self {
        NeighParms {
            base_reachable_time: Duration::from_secs(30),
            retrans_time: Duration::from_secs(1),
            delay_first_probe_time: Duration::from_secs(5),
            gc_stale_time: Duration::from_secs(60),
            locktime: Duration::from_secs(1),
            ucast_solicit: 3,
            mcast_solicit: 3,
            mcast_resolicit: 0,
            app_solicit: 0,
            unres_qlen_bytes: 212_992,
            gc_interval: Duration::from_secs(30),
            gc_thresh1: 128,
            gc_thresh2: 512,
            gc_thresh3: 1024,
        }
    }
}

/// The sysctls of one stack (one network namespace).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StackConfig {
    /// `net.ipv4.ip_forward`: 0.
    pub ip_forward: bool,
    /// `net.ipv4.ip_default_ttl`: 64.
    pub ip_default_ttl: u8,
    /// `net.ipv4.ip_local_port_range`: 32768 60999.
    pub ip_local_port_range: (u16, u16),
    /// `net.ipv4.conf.all.route_localnet`: 0 (127/8 from the wire is martian).
    pub route_localnet: bool,
    /// `net.ipv4.icmp_echo_ignore_all`: 0.
    pub icmp_echo_ignore_all: bool,
    /// `net.ipv4.icmp_echo_ignore_broadcasts`: 1.
    pub icmp_echo_ignore_broadcasts: bool,
    /// `net.ipv4.icmp_ignore_bogus_error_responses`: 1.
    pub icmp_ignore_bogus_error_responses: bool,
    /// `net.ipv4.icmp_ratelimit`: 1000 ms per message per destination.
    pub icmp_ratelimit: Duration,
    /// `net.ipv4.icmp_ratemask`: 0x1818 (dest unreachable, source quench, time exceeded,
    /// parameter problem).
    pub icmp_ratemask: u32,
    /// `net.ipv4.icmp_msgs_per_sec`: 1000 (global bucket refill).
    pub icmp_msgs_per_sec: u32,
    /// `net.ipv4.icmp_msgs_burst`: 50 (global bucket size).
    pub icmp_msgs_burst: u32,
    /// Most destinations tracked by the per-host ICMP rate limit (the inet_peer cache).
    pub icmp_peer_limit: usize,
    /// `net.ipv4.conf.all.arp_accept`: 0 (unsolicited replies create no entry).
    pub arp_accept: bool,
    /// `net.core.rmem_default`: 212992 bytes.
    pub rmem_default: usize,
    /// `net.core.rmem_max`: 212992 bytes.
    pub rmem_max: usize,
    /// `net.core.wmem_default`: 212992 bytes.
    pub wmem_default: usize,
    /// Neighbour parameters for ARP.
    pub neigh: NeighParms,
    /// Most sockets of all kinds (the role of the fd limit).
    pub max_sockets: usize,
    /// Frames waiting for the driver before new ones are dropped (`txqueuelen`: 1000).
    pub tx_queue_len: usize,
    /// Readiness events kept before the oldest are dropped.
    pub event_queue_len: usize,
    /// Size of each pooled packet buffer, headroom included.
    pub skb_buf_size: usize,
    /// Most free buffers the pool keeps.
    pub skb_pool_limit: usize,
}

impl Default for StackConfig {
    fn default() -> Self {
        StackConfig {
            ip_forward: false,
            ip_default_ttl: 64,
            ip_local_port_range: (32768, 60999),
            route_localnet: false,
            icmp_echo_ignore_all: false,
            icmp_echo_ignore_broadcasts: true,
            icmp_ignore_bogus_error_responses: true,
            icmp_ratelimit: Duration::from_millis(1000),
            icmp_ratemask: 0x1818,
            icmp_msgs_per_sec: 1000,
            icmp_msgs_burst: 50,
            icmp_peer_limit: 4096,
            arp_accept: false,
            rmem_default: 212_992,
            rmem_max: 212_992,
            wmem_default: 212_992,
            neigh: NeighParms::default(),
            max_sockets: 65_536,
            tx_queue_len: 1000,
            event_queue_len: 4096,
            skb_buf_size: 2048,
            skb_pool_limit: 4096,
        }
    }
}

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
    /// `net.ipv4.ip_nonlocal_bind`: 0 (bind() to an address that is not ours is refused
    /// with EADDRNOTAVAIL).
    pub ip_nonlocal_bind: bool,
    /// `net.ipv4.ip_unprivileged_port_start`: 1024. Binding a port below it needs
    /// `CAP_NET_BIND_SERVICE` (a socket marked privileged), else EACCES.
    pub ip_unprivileged_port_start: u16,
    /// `net.ipv4.ping_group_range`: "1 0" (no group may create ping sockets).
    pub ping_group_range: (u32, u32),
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
    /// `net.core.wmem_max`: 212992 bytes.
    pub wmem_max: usize,
    /// `net.core.somaxconn`: 4096, the cap on a listen backlog.
    pub somaxconn: u32,
    /// `net.ipv4.tcp_rmem`: (min 4096, default 131072, max 6291456). The default is each
    /// socket's receive buffer; the max sets the window scale, as in Linux.
    pub tcp_rmem: (usize, usize, usize),
    /// `net.ipv4.tcp_wmem`: (min 4096, default 16384, max 4194304). The default is each
    /// socket's send buffer.
    pub tcp_wmem: (usize, usize, usize),
    /// `net.ipv4.tcp_congestion_control`: "cubic" (or "reno"); an unknown name means the
    /// default.
    pub tcp_congestion_control: &'static str,
    /// `net.ipv4.tcp_timestamps`: 1 (RFC 7323 timestamps offered).
    pub tcp_timestamps: bool,
    /// `net.ipv4.tcp_window_scaling`: 1.
    pub tcp_window_scaling: bool,
    /// `net.ipv4.tcp_sack`: 1 (SACK-permitted offered; SACK blocks generated).
    pub tcp_sack: bool,
    /// `net.ipv4.tcp_dsack`: 1 (D-SACK blocks reported for duplicate data, RFC 2883).
    pub tcp_dsack: bool,
    /// `net.ipv4.tcp_recovery`: 1 (`TCP_RACK_LOSS_DETECTION`: RACK marks segments lost on
    /// SACK connections; 0 falls back to the duplicate-ACK threshold).
    pub tcp_recovery: u8,
    /// `net.ipv4.tcp_early_retrans`: 3 (tail loss probes, RFC 8985 TLP; 3 or 4 enable).
    pub tcp_early_retrans: u8,
    /// `net.ipv4.tcp_retrans_collapse`: 1 (a short segment retransmitted takes in the small
    /// segments after it, up to one MSS).
    pub tcp_retrans_collapse: bool,
    /// `net.ipv4.tcp_frto`: 2 (SACK-enhanced F-RTO after a timeout, RFC 5682; 0 off).
    pub tcp_frto: u8,
    /// `net.ipv4.tcp_syncookies`: 1 (SYN cookies when a listener's SYN queue is full);
    /// 0 never (the SYN is dropped), 2 always.
    pub tcp_syncookies: u8,
    /// `net.ipv4.tcp_syn_retries`: 6 (about 127 s before ETIMEDOUT).
    pub tcp_syn_retries: u8,
    /// `net.ipv4.tcp_synack_retries`: 5.
    pub tcp_synack_retries: u8,
    /// `net.ipv4.tcp_retries2`: 15 (about 924 s of retransmissions before ETIMEDOUT).
    pub tcp_retries2: u8,
    /// `net.ipv4.tcp_orphan_retries`: 0 (meaning 8 while the peer seems alive).
    pub tcp_orphan_retries: u8,
    /// `net.ipv4.tcp_fin_timeout`: 60 s in FIN-WAIT-2 for a closed socket.
    pub tcp_fin_timeout: Duration,
    /// `net.ipv4.tcp_keepalive_time`: 7200 s idle before the first keepalive probe.
    pub tcp_keepalive_time: Duration,
    /// `net.ipv4.tcp_keepalive_intvl`: 75 s between keepalive probes.
    pub tcp_keepalive_intvl: Duration,
    /// `net.ipv4.tcp_keepalive_probes`: 9 unanswered probes before the connection is reset.
    pub tcp_keepalive_probes: u8,
    /// TIME-WAIT length (`TCP_TIMEWAIT_LEN`, 2*MSL): 60 s. A constant in Linux; a knob here.
    pub tcp_timewait_len: Duration,
    /// `net.ipv4.tcp_rto_min_us`: 200 ms (`TCP_RTO_MIN`).
    pub tcp_rto_min: Duration,
    /// `net.ipv4.tcp_rto_max_ms`: 120 s (`TCP_RTO_MAX`).
    pub tcp_rto_max: Duration,
    /// `net.ipv4.tcp_invalid_ratelimit`: 500 ms between out-of-window or challenge ACKs
    /// on one connection.
    pub tcp_invalid_ratelimit: Duration,
    /// `net.ipv4.tcp_challenge_ack_limit`: host-wide challenge ACKs per second;
    /// 2147483647 (the default since Linux 6.0) turns the host-wide limit off.
    pub tcp_challenge_ack_limit: u32,
    /// `net.ipv4.tcp_rfc1337`: 0 (a RST kills a TIME-WAIT socket).
    pub tcp_rfc1337: bool,
    /// `net.ipv4.tcp_stdurg`: 0 (the urgent pointer points just past the urgent byte, as
    /// BSD; 1 reads it as RFC 1122 §4.2.2.4, at the byte).
    pub tcp_stdurg: bool,
    /// `net.ipv4.tcp_ecn`: 2 (accept ECN when a peer asks, do not ask); 1 asks on
    /// outgoing connections too; 0 never.
    pub tcp_ecn: u8,
    /// `net.ipv4.tcp_ecn_fallback`: 1 (a retransmitted SYN stops asking for ECN).
    pub tcp_ecn_fallback: bool,
    /// `net.ipv4.tcp_max_tw_buckets`: at most this many TIME-WAIT sockets; past it a
    /// closing connection skips TIME-WAIT (TCPTimeWaitOverflow). Linux sets half its
    /// established-hash size, which scales with memory; 32768 is the value of a small
    /// machine (an ehash of 65536 buckets).
    pub tcp_max_tw_buckets: usize,
    /// `net.ipv4.tcp_tw_reuse`: 2 (a connect may reuse a TIME-WAIT 4-tuple on an
    /// ephemeral port for loopback traffic only); 1 for all; 0 never.
    pub tcp_tw_reuse: u8,
    /// `net.ipv4.tcp_tw_reuse_delay`: 1000 ms in TIME-WAIT before such a reuse.
    pub tcp_tw_reuse_delay: Duration,
    /// `net.ipv4.tcp_moderate_rcvbuf`: 1 (receive buffers grow with the rate the
    /// application reads at, up to `tcp_rmem[2]`, unless SO_RCVBUF fixed them).
    pub tcp_moderate_rcvbuf: bool,
    /// `net.ipv4.tcp_slow_start_after_idle`: 1 (after an idle period longer than the RTO
    /// the congestion window restarts from the initial window, RFC 2861 / RFC 7661).
    pub tcp_slow_start_after_idle: bool,
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
            ip_nonlocal_bind: false,
            ip_unprivileged_port_start: 1024,
            ping_group_range: (1, 0),
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
            wmem_max: 212_992,
            somaxconn: 4096,
            tcp_rmem: (4096, 131_072, 6_291_456),
            tcp_wmem: (4096, 16_384, 4_194_304),
            tcp_congestion_control: "cubic",
            tcp_timestamps: true,
            tcp_window_scaling: true,
            tcp_sack: true,
            tcp_dsack: true,
            tcp_recovery: 1,
            tcp_early_retrans: 3,
            tcp_retrans_collapse: true,
            tcp_frto: 2,
            tcp_syncookies: 1,
            tcp_syn_retries: 6,
            tcp_synack_retries: 5,
            tcp_retries2: 15,
            tcp_orphan_retries: 0,
            tcp_fin_timeout: Duration::from_secs(60),
            tcp_keepalive_time: Duration::from_secs(7200),
            tcp_keepalive_intvl: Duration::from_secs(75),
            tcp_keepalive_probes: 9,
            tcp_timewait_len: Duration::from_secs(60),
            tcp_rto_min: Duration::from_millis(200),
            tcp_rto_max: Duration::from_secs(120),
            tcp_invalid_ratelimit: Duration::from_millis(500),
            tcp_challenge_ack_limit: i32::MAX as u32,
            tcp_rfc1337: false,
            tcp_stdurg: false,
            tcp_ecn: 2,
            tcp_ecn_fallback: true,
            tcp_max_tw_buckets: 32_768,
            tcp_tw_reuse: 2,
            tcp_tw_reuse_delay: Duration::from_millis(1000),
            tcp_moderate_rcvbuf: true,
            tcp_slow_start_after_idle: true,
            neigh: NeighParms::default(),
            max_sockets: 65_536,
            tx_queue_len: 1000,
            event_queue_len: 4096,
            skb_buf_size: 2048,
            skb_pool_limit: 4096,
        }
    }
}

//! Counters: the SNMP MIBs with Linux's names (in `/proc/net/snmp` column order; the text
//! layout itself is rendered from `ctl::Counters` by the tools) and per-reason drop counts.
//!
//! Linux: include/uapi/linux/snmp.h (`IPSTATS_MIB_*`, `ICMP_MIB_*`, `TCP_MIB_*`, `UDP_MIB_*`,
//! `LINUX_MIB_*`), net/ipv4/proc.c (`snmp_seq_show`, `netstat_seq_show`),
//! include/net/dropreason-core.h (`SKB_DROP_REASON_*`), net/core/neighbour.c
//! (`struct neigh_statistics`, /proc/net/stat/arp_cache).
//! RFCs: RFC 4293 (IP-MIB), RFC 4022 (TCP-MIB), RFC 4113 (UDP-MIB).
//!
//! Invariant relied on by the robustness tests: every frame handed to `Stack::receive` ends
//! in exactly one of `drops[reason] += 1` or `consumed += 1`.

macro_rules! mib {
    ($(#[$m:meta])* $name:ident { $($(#[$fm:meta])* $field:ident => $linux:literal,)* }) => {
        $(#[$m])*
        #[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
        pub struct $name {
            $($(#[$fm])* pub $field: u64,)*
        }
        impl $name {
            /// Linux's column names, in `/proc/net/snmp` order.
            pub const NAMES: &'static [&'static str] = &[$($linux,)*];
            /// The values, in the order of [`Self::NAMES`].
            pub fn values(&self) -> impl Iterator<Item = u64> + Clone + '_ {
                [$(self.$field,)*].into_iter()
            }
            /// `(name, value)` pairs in `/proc/net/snmp` order.
            pub fn iter(&self) -> impl Iterator<Item = (&'static str, u64)> + Clone + '_ {
                Self::NAMES.iter().copied().zip(self.values())
            }
        }
    };
}

mib! {
    /// `Ip:` line (`IPSTATS_MIB_*`). `forwarding` and `default_ttl` are filled on output.
    IpMib {
        /// 1 when forwarding, 2 when not (RFC 4293 ipForwarding).
        forwarding => "Forwarding",
        /// ip_default_ttl.
        default_ttl => "DefaultTTL",
        /// Datagrams received by `ip_rcv`.
        in_receives => "InReceives",
        /// Header errors (version, IHL, checksum, length).
        in_hdr_errors => "InHdrErrors",
        /// Destination not ours while not forwarding.
        in_addr_errors => "InAddrErrors",
        /// Forwarded.
        forw_datagrams => "ForwDatagrams",
        /// No protocol handler.
        in_unknown_protos => "InUnknownProtos",
        /// Discarded for lack of resources.
        in_discards => "InDiscards",
        /// Delivered to a protocol.
        in_delivers => "InDelivers",
        /// Locally generated datagrams handed to IP.
        out_requests => "OutRequests",
        /// Discarded on output.
        out_discards => "OutDiscards",
        /// No route on output.
        out_no_routes => "OutNoRoutes",
        /// Reassembly timeouts.
        reasm_timeout => "ReasmTimeout",
        /// Fragments needing reassembly.
        reasm_reqds => "ReasmReqds",
        /// Datagrams reassembled.
        reasm_oks => "ReasmOKs",
        /// Reassembly failures.
        reasm_fails => "ReasmFails",
        /// Datagrams fragmented.
        frag_oks => "FragOKs",
        /// Datagrams that needed fragmenting but could not be.
        frag_fails => "FragFails",
        /// Fragments created.
        frag_creates => "FragCreates",
        /// Packets handed to the link layer.
        out_transmits => "OutTransmits",
    }
}

mib! {
    /// `IpExt:` line, the part kept so far (`LINUX_MIB_*` / `IPSTATS_MIB_*` extended).
    IpExtMib {
        /// Packets with a multicast destination.
        in_mcast_pkts => "InMcastPkts",
        /// Broadcast packets received.
        in_bcast_pkts => "InBcastPkts",
        /// Broadcast packets sent.
        out_bcast_pkts => "OutBcastPkts",
        /// Input packets with no route while forwarding.
        in_no_routes => "InNoRoutes",
        /// Fragments dropped for overlapping others (`ReasmOverlaps`).
        reasm_overlaps => "ReasmOverlaps",
        /// `tot_len` larger than the frame.
        in_truncated_pkts => "InTruncatedPkts",
        /// Header checksum errors.
        in_csum_errors => "InCsumErrors",
        /// Not-ECT packets.
        in_no_ect_pkts => "InNoECTPkts",
        /// ECT(1) packets.
        in_ect1_pkts => "InECT1Pkts",
        /// ECT(0) packets.
        in_ect0_pkts => "InECT0Pkts",
        /// CE packets.
        in_ce_pkts => "InCEPkts",
        /// Octets received.
        in_octets => "InOctets",
        /// Octets sent.
        out_octets => "OutOctets",
    }
}

mib! {
    /// `Icmp:` line (`ICMP_MIB_*` plus the per-type columns Linux derives from IcmpMsg).
    IcmpMib {
        /// Messages received.
        in_msgs => "InMsgs",
        /// Malformed messages received.
        in_errors => "InErrors",
        /// Bad checksum.
        in_csum_errors => "InCsumErrors",
        /// Type 3 received.
        in_dest_unreachs => "InDestUnreachs",
        /// Type 11 received.
        in_time_excds => "InTimeExcds",
        /// Type 12 received.
        in_parm_probs => "InParmProbs",
        /// Type 4 received.
        in_src_quenchs => "InSrcQuenchs",
        /// Type 5 received.
        in_redirects => "InRedirects",
        /// Type 8 received.
        in_echos => "InEchos",
        /// Type 0 received.
        in_echo_reps => "InEchoReps",
        /// Type 13 received.
        in_timestamps => "InTimestamps",
        /// Type 14 received.
        in_timestamp_reps => "InTimestampReps",
        /// Type 17 received.
        in_addr_masks => "InAddrMasks",
        /// Type 18 received.
        in_addr_mask_reps => "InAddrMaskReps",
        /// Messages sent.
        out_msgs => "OutMsgs",
        /// Messages not sent for an error.
        out_errors => "OutErrors",
        /// Suppressed by the global rate limit.
        out_rate_limit_global => "OutRateLimitGlobal",
        /// Suppressed by the per-host rate limit.
        out_rate_limit_host => "OutRateLimitHost",
        /// Type 3 sent.
        out_dest_unreachs => "OutDestUnreachs",
        /// Type 11 sent.
        out_time_excds => "OutTimeExcds",
        /// Type 12 sent.
        out_parm_probs => "OutParmProbs",
        /// Type 4 sent.
        out_src_quenchs => "OutSrcQuenchs",
        /// Type 5 sent.
        out_redirects => "OutRedirects",
        /// Type 8 sent.
        out_echos => "OutEchos",
        /// Type 0 sent.
        out_echo_reps => "OutEchoReps",
        /// Type 13 sent.
        out_timestamps => "OutTimestamps",
        /// Type 14 sent.
        out_timestamp_reps => "OutTimestampReps",
        /// Type 17 sent.
        out_addr_masks => "OutAddrMasks",
        /// Type 18 sent.
        out_addr_mask_reps => "OutAddrMaskReps",
    }
}

mib! {
    /// `Tcp:` line (`TCP_MIB_*`). `MaxConn` is -1 (no limit), kept here as its two's
    /// complement and printed signed, as `snmp_seq_show_tcp_udp` does.
    TcpMib {
        /// 1: "other" (RFC 4022; Linux's constant).
        rto_algorithm => "RtoAlgorithm",
        /// Smallest RTO, ms (`TCP_RTO_MIN`).
        rto_min => "RtoMin",
        /// Largest RTO, ms (`TCP_RTO_MAX`).
        rto_max => "RtoMax",
        /// -1: no fixed limit.
        max_conn => "MaxConn",
        /// Connections opened with connect (SYN sent).
        active_opens => "ActiveOpens",
        /// Connections accepted by a listener (handshake completed).
        passive_opens => "PassiveOpens",
        /// SYN-SENT or SYN-RECEIVED connections that failed.
        attempt_fails => "AttemptFails",
        /// ESTABLISHED or CLOSE-WAIT connections that went straight to CLOSED.
        estab_resets => "EstabResets",
        /// Connections now in ESTABLISHED or CLOSE-WAIT (a gauge).
        curr_estab => "CurrEstab",
        /// Segments received, bad ones included.
        in_segs => "InSegs",
        /// Segments sent, retransmissions excluded.
        out_segs => "OutSegs",
        /// Segments retransmitted.
        retrans_segs => "RetransSegs",
        /// Segments received with errors (bad header length, checksum, SYN in window).
        in_errs => "InErrs",
        /// Segments sent with RST.
        out_rsts => "OutRsts",
        /// Segments received with a bad checksum.
        in_csum_errors => "InCsumErrors",
    }
}

impl TcpMib {
    /// The constant columns Linux prints.
    pub fn linux_defaults() -> TcpMib {
        TcpMib {
            rto_algorithm: 1,
            rto_min: 200,
            rto_max: 120_000,
            max_conn: u64::MAX,
            ..TcpMib::default()
        }
    }

    /// `(name, value)` pairs as `/proc/net/snmp` prints them: all unsigned except MaxConn.
    pub fn display_iter(&self) -> impl Iterator<Item = (&'static str, i128)> + '_ {
        self.iter().map(|(n, v)| {
            if n == "MaxConn" {
                (n, i128::from(v as i64))
            } else {
                (n, i128::from(v))
            }
        })
    }
}

mib! {
    /// The `TcpExt:` counters kept so far (`LINUX_MIB_*`), in `/proc/net/netstat` order.
    TcpExtMib {
        /// SYN cookies sent.
        syncookies_sent => "SyncookiesSent",
        /// Valid SYN cookies received (connections made from a cookie).
        syncookies_recv => "SyncookiesRecv",
        /// ACKs to a listener that recently sent cookies whose cookie did not check out.
        syncookies_failed => "SyncookiesFailed",
        /// Resets received for connections still in SYN-RECEIVED.
        embryonic_rsts => "EmbryonicRsts",
        /// ICMP errors quoting a sequence number outside SND.UNA..SND.NXT.
        out_of_window_icmps => "OutOfWindowIcmps",
        /// Connections that finished TIME-WAIT (or an orphan's FIN-WAIT-2) by the timer.
        tw => "TW",
        /// TIME-WAIT sockets whose 4-tuple a new outgoing connection took over.
        tw_recycled => "TWRecycled",
        /// SYN-ACKs whose timestamp echo was not one we sent (PAWS in SYN-SENT).
        paws_active => "PAWSActive",
        /// Segments dropped by PAWS (an old timestamp) in a synchronized state.
        paws_estab => "PAWSEstab",
        /// Old pure ACKs dropped by PAWS without an answer.
        paws_old_ack => "PAWSOldAck",
        /// Segments a TIME-WAIT socket dropped by PAWS.
        paws_timewait => "PAWSTimewait",
        /// Delayed ACKs sent by the timer.
        delayed_acks => "DelayedACKs",
        /// Old data received again (our ACK was probably lost).
        delayed_ack_lost => "DelayedACKLost",
        /// Handshakes completed while the accept queue was full.
        listen_overflows => "ListenOverflows",
        /// SYNs (and handshake ACKs) a listener dropped.
        listen_drops => "ListenDrops",
        /// Fast recoveries entered on duplicate ACKs (no SACK).
        tcp_reno_recovery => "TCPRenoRecovery",
        /// Fast recoveries entered on SACK information.
        tcp_sack_recovery => "TCPSackRecovery",
        /// The peer took back SACKed data (the ACK stopped at a SACKed segment).
        tcp_sack_reneging => "TCPSACKReneging",
        /// Reordering detected from SACK information.
        tcp_sack_reorder => "TCPSACKReorder",
        /// Reordering detected from timestamps.
        tcp_ts_reorder => "TCPTSReorder",
        /// Recoveries undone at their end (timestamps or D-SACK: nothing was lost).
        tcp_full_undo => "TCPFullUndo",
        /// Recoveries undone on a partial ACK (Eifel).
        tcp_partial_undo => "TCPPartialUndo",
        /// Recoveries undone because D-SACK proved every retransmission spurious.
        tcp_dsack_undo => "TCPDSACKUndo",
        /// Timeouts undone (Eifel or F-RTO).
        tcp_loss_undo => "TCPLossUndo",
        /// Retransmissions lost again.
        tcp_lost_retransmit => "TCPLostRetransmit",
        /// Timeouts during Reno fast recovery.
        tcp_reno_failures => "TCPRenoFailures",
        /// Timeouts during SACK recovery.
        tcp_sack_failures => "TCPSackFailures",
        /// Timeouts in the Loss state.
        tcp_loss_failures => "TCPLossFailures",
        /// Segments retransmitted in fast recovery.
        tcp_fast_retrans => "TCPFastRetrans",
        /// Segments retransmitted in slow start after a timeout.
        tcp_slow_start_retrans => "TCPSlowStartRetrans",
        /// Retransmission timeouts.
        tcp_timeouts => "TCPTimeouts",
        /// Tail loss probes sent.
        tcp_loss_probes => "TCPLossProbes",
        /// Losses repaired by a tail loss probe.
        tcp_loss_probe_recovery => "TCPLossProbeRecovery",
        /// D-SACKs sent for old data.
        tcp_dsack_old_sent => "TCPDSACKOldSent",
        /// D-SACKs sent for out-of-order data.
        tcp_dsack_ofo_sent => "TCPDSACKOfoSent",
        /// D-SACKs received for data below the cumulative ACK.
        tcp_dsack_recv => "TCPDSACKRecv",
        /// D-SACKs received for out-of-order data.
        tcp_dsack_ofo_recv => "TCPDSACKOfoRecv",
        /// Connections reset because data arrived after close.
        tcp_abort_on_data => "TCPAbortOnData",
        /// Connections reset because close found unread data.
        tcp_abort_on_close => "TCPAbortOnClose",
        /// Connections given up after too many retransmissions.
        tcp_abort_on_timeout => "TCPAbortOnTimeout",
        /// Orphans in FIN-WAIT-2 reset at once because `TCP_LINGER2` is negative.
        tcp_abort_on_linger => "TCPAbortOnLinger",
        /// Invalid SACK blocks ignored.
        tcp_sack_discard => "TCPSACKDiscard",
        /// D-SACKs ignored: older than the undo marker.
        tcp_dsack_ignored_old => "TCPDSACKIgnoredOld",
        /// D-SACKs ignored: no reduction to undo.
        tcp_dsack_ignored_no_undo => "TCPDSACKIgnoredNoUndo",
        /// Timeouts F-RTO proved spurious.
        tcp_spurious_rtos => "TCPSpuriousRTOs",
        /// Handshake ACKs without data dropped on a `TCP_DEFER_ACCEPT` listener.
        tcp_defer_accept_drop => "TCPDeferAcceptDrop",
        /// Connections closed without TIME-WAIT because `tcp_max_tw_buckets` was reached.
        tcp_time_wait_overflow => "TCPTimeWaitOverflow",
        /// SYNs answered with a SYN cookie because the SYN queue was full (or
        /// `tcp_syncookies = 2`).
        tcp_req_q_full_do_cookies => "TCPReqQFullDoCookies",
        /// SYNs dropped because the SYN queue was full (no SYN cookies).
        tcp_req_q_full_drop => "TCPReqQFullDrop",
        /// Segments put in the out-of-order queue.
        tcp_ofo_queue => "TCPOFOQueue",
        /// Out-of-order segments dropped for lack of room.
        tcp_ofo_drop => "TCPOFODrop",
        /// Out-of-order segments merged with queued data.
        tcp_ofo_merge => "TCPOFOMerge",
        /// Challenge ACKs sent (RFC 5961).
        tcp_challenge_ack => "TCPChallengeACK",
        /// SYNs received on synchronized connections.
        tcp_syn_challenge => "TCPSYNChallenge",
        /// Windows advertised again after a zero window.
        tcp_from_zero_window_adv => "TCPFromZeroWindowAdv",
        /// Zero windows advertised.
        tcp_to_zero_window_adv => "TCPToZeroWindowAdv",
        /// SYN and SYN-ACK retransmissions.
        tcp_syn_retrans => "TCPSynRetrans",
        /// SYN-RECEIVED out-of-window ACKs not sent (rate limit).
        tcp_ack_skipped_syn_recv => "TCPACKSkippedSynRecv",
        /// Duplicate ACKs for PAWS-rejected segments not sent (rate limit).
        tcp_ack_skipped_paws => "TCPACKSkippedPAWS",
        /// Out-of-window ACKs not sent (rate limit).
        tcp_ack_skipped_seq => "TCPACKSkippedSeq",
        /// TIME-WAIT ACKs not sent (rate limit).
        tcp_ack_skipped_time_wait => "TCPACKSkippedTimeWait",
        /// Challenge ACKs not sent (rate limit).
        tcp_ack_skipped_challenge => "TCPACKSkippedChallenge",
        /// Zero-window probes sent.
        tcp_win_probe => "TCPWinProbe",
        /// Keepalive probes sent.
        tcp_keep_alive => "TCPKeepAlive",
        /// Segments acknowledged by ACKs carrying ECE (an ECN congestion echo).
        tcp_delivered_ce => "TCPDeliveredCE",
        /// Segments dropped because the receive window was zero.
        tcp_zero_window_drop => "TCPZeroWindowDrop",
        /// In-order data dropped because the receive buffer was full (here: the part of a
        /// segment beyond the buffer, trimmed).
        tcp_rcv_q_drop => "TCPRcvQDrop",
        /// Segments dropped because their TTL was below the socket's `IP_MINTTL`.
        tcp_min_ttl_drop => "TCPMinTTLDrop",
    }
}

mib! {
    /// `Udp:` line (`UDP_MIB_*`).
    UdpMib {
        /// Datagrams read by applications (Linux counts at `udp_recvmsg`).
        in_datagrams => "InDatagrams",
        /// Datagrams to a port with no socket.
        no_ports => "NoPorts",
        /// Malformed or undeliverable datagrams.
        in_errors => "InErrors",
        /// Datagrams sent.
        out_datagrams => "OutDatagrams",
        /// Dropped because the receive buffer was full.
        rcvbuf_errors => "RcvbufErrors",
        /// Refused because the send buffer was full.
        sndbuf_errors => "SndbufErrors",
        /// Bad checksum.
        in_csum_errors => "InCsumErrors",
        /// Broadcast/multicast datagrams no socket wanted.
        ignored_multi => "IgnoredMulti",
        /// Memory accounting failures.
        mem_errors => "MemErrors",
    }
}

mib! {
    /// `/proc/net/stat/arp_cache` columns (`struct neigh_statistics`), plus the table size.
    NeighStats {
        /// Entries in the table now.
        entries => "entries",
        /// Entries allocated.
        allocs => "allocs",
        /// Entries destroyed.
        destroys => "destroys",
        /// Hash table grows.
        hash_grows => "hash_grows",
        /// Lookups.
        lookups => "lookups",
        /// Lookups that found an entry.
        hits => "hits",
        /// Resolutions that failed.
        res_failed => "res_failed",
        /// Broadcast solicitations received for us.
        rcv_probes_mcast => "rcv_probes_mcast",
        /// Unicast solicitations received for us.
        rcv_probes_ucast => "rcv_probes_ucast",
        /// Periodic garbage-collection runs.
        periodic_gc_runs => "periodic_gc_runs",
        /// Forced garbage-collection runs.
        forced_gc_runs => "forced_gc_runs",
        /// Packets dropped from a full unresolved queue.
        unresolved_discards => "unresolved_discards",
        /// Entries refused because the table was full.
        table_fulls => "table_fulls",
    }
}

mib! {
    /// `/proc/net/stat/rt_cache`-style route input counters (martians and misses).
    RtStats {
        /// Packets dropped for a martian destination.
        in_martian_dst => "in_martian_dst",
        /// Packets dropped for a martian source.
        in_martian_src => "in_martian_src",
        /// Input packets with no route.
        in_no_route => "in_no_route",
        /// Input broadcast packets.
        in_brd => "in_brd",
    }
}

/// Why a packet was dropped (Linux: `enum skb_drop_reason`, include/net/dropreason-core.h).
/// The names are Linux's without the `SKB_DROP_REASON_` prefix.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
#[allow(missing_docs)]
pub enum DropReason {
    NotSpecified,
    NoSocket,
    PktTooSmall,
    UdpCsum,
    OtherHost,
    IpCsum,
    IpInhdr,
    IpNoproto,
    SocketRcvbuff,
    UnhandledProto,
    IcmpCsum,
    IpInaddrerrors,
    IpInnoroutes,
    IpOutnoroutes,
    IpInvalidSource,
    IpInvalidDest,
    IpLocalnet,
    NeighFailed,
    NeighQueuefull,
    NeighDead,
    DevReady,
    DevHdr,
    PktTooBig,
    Nomem,
    HdrTrunc,
    InvalidProto,
    ArpInvalid,
    Icmp,
    SocketClose,
    IcmpRatelimit,
    FullRing,
    TxqFull,
    TcpCsum,
    TcpFlags,
    TcpZeroWindow,
    TcpOldData,
    TcpOfoDrop,
    TcpOldSequence,
    TcpInvalidSequence,
    TcpInvalidAckSequence,
    TcpReset,
    TcpInvalidSyn,
    TcpClose,
    TcpAckUnsentData,
    TcpTooOldAck,
    TcpListenOverflow,
    TcpReqQFullDrop,
    TcpAbortOnData,
    TcpRfc7323Paws,
    TcpRfc7323PawsAck,
    TcpMinttl,
}

impl DropReason {
    /// Every reason, in discriminant order.
    pub const ALL: [DropReason; 51] = [
        DropReason::NotSpecified,
        DropReason::NoSocket,
        DropReason::PktTooSmall,
        DropReason::UdpCsum,
        DropReason::OtherHost,
        DropReason::IpCsum,
        DropReason::IpInhdr,
        DropReason::IpNoproto,
        DropReason::SocketRcvbuff,
        DropReason::UnhandledProto,
        DropReason::IcmpCsum,
        DropReason::IpInaddrerrors,
        DropReason::IpInnoroutes,
        DropReason::IpOutnoroutes,
        DropReason::IpInvalidSource,
        DropReason::IpInvalidDest,
        DropReason::IpLocalnet,
        DropReason::NeighFailed,
        DropReason::NeighQueuefull,
        DropReason::NeighDead,
        DropReason::DevReady,
        DropReason::DevHdr,
        DropReason::PktTooBig,
        DropReason::Nomem,
        DropReason::HdrTrunc,
        DropReason::InvalidProto,
        DropReason::ArpInvalid,
        DropReason::Icmp,
        DropReason::SocketClose,
        DropReason::IcmpRatelimit,
        DropReason::FullRing,
        DropReason::TxqFull,
        DropReason::TcpCsum,
        DropReason::TcpFlags,
        DropReason::TcpZeroWindow,
        DropReason::TcpOldData,
        DropReason::TcpOfoDrop,
        DropReason::TcpOldSequence,
        DropReason::TcpInvalidSequence,
        DropReason::TcpInvalidAckSequence,
        DropReason::TcpReset,
        DropReason::TcpInvalidSyn,
        DropReason::TcpClose,
        DropReason::TcpAckUnsentData,
        DropReason::TcpTooOldAck,
        DropReason::TcpListenOverflow,
        DropReason::TcpReqQFullDrop,
        DropReason::TcpAbortOnData,
        DropReason::TcpRfc7323Paws,
        DropReason::TcpRfc7323PawsAck,
        DropReason::TcpMinttl,
    ];

    /// Linux's name (`SKB_DROP_REASON_` stripped). `ArpInvalid`,
    /// `Icmp` and `IcmpRatelimit` are linnet's own, for paths Linux reports under
    /// `NOT_SPECIFIED`.
    pub fn linux_name(self) -> &'static str {
        match self {
            DropReason::NotSpecified => "NOT_SPECIFIED",
            DropReason::NoSocket => "NO_SOCKET",
            DropReason::PktTooSmall => "PKT_TOO_SMALL",
            DropReason::UdpCsum => "UDP_CSUM",
            DropReason::OtherHost => "OTHERHOST",
            DropReason::IpCsum => "IP_CSUM",
            DropReason::IpInhdr => "IP_INHDR",
            DropReason::IpNoproto => "IP_NOPROTO",
            DropReason::SocketRcvbuff => "SOCKET_RCVBUFF",
            DropReason::UnhandledProto => "UNHANDLED_PROTO",
            DropReason::IcmpCsum => "ICMP_CSUM",
            DropReason::IpInaddrerrors => "IP_INADDRERRORS",
            DropReason::IpInnoroutes => "IP_INNOROUTES",
            DropReason::IpOutnoroutes => "IP_OUTNOROUTES",
            DropReason::IpInvalidSource => "IP_INVALID_SOURCE",
            DropReason::IpInvalidDest => "IP_INVALID_DEST",
            DropReason::IpLocalnet => "IP_LOCALNET",
            DropReason::NeighFailed => "NEIGH_FAILED",
            DropReason::NeighQueuefull => "NEIGH_QUEUEFULL",
            DropReason::NeighDead => "NEIGH_DEAD",
            DropReason::DevReady => "DEV_READY",
            DropReason::DevHdr => "DEV_HDR",
            DropReason::PktTooBig => "PKT_TOO_BIG",
            DropReason::Nomem => "NOMEM",
            DropReason::HdrTrunc => "HDR_TRUNC",
            DropReason::InvalidProto => "INVALID_PROTO",
            DropReason::ArpInvalid => "ARP_INVALID",
            DropReason::Icmp => "ICMP",
            DropReason::SocketClose => "SOCKET_CLOSE",
            DropReason::IcmpRatelimit => "ICMP_RATELIMIT",
            DropReason::FullRing => "FULL_RING",
            DropReason::TxqFull => "TXQ_FULL",
            DropReason::TcpCsum => "TCP_CSUM",
            DropReason::TcpFlags => "TCP_FLAGS",
            DropReason::TcpZeroWindow => "TCP_ZEROWINDOW",
            DropReason::TcpOldData => "TCP_OLD_DATA",
            DropReason::TcpOfoDrop => "TCP_OFO_DROP",
            DropReason::TcpOldSequence => "TCP_OLD_SEQUENCE",
            DropReason::TcpInvalidSequence => "TCP_INVALID_SEQUENCE",
            DropReason::TcpInvalidAckSequence => "TCP_INVALID_ACK_SEQUENCE",
            DropReason::TcpReset => "TCP_RESET",
            DropReason::TcpInvalidSyn => "TCP_INVALID_SYN",
            DropReason::TcpClose => "TCP_CLOSE",
            DropReason::TcpAckUnsentData => "TCP_ACK_UNSENT_DATA",
            DropReason::TcpTooOldAck => "TCP_TOO_OLD_ACK",
            DropReason::TcpListenOverflow => "TCP_LISTEN_OVERFLOW",
            DropReason::TcpReqQFullDrop => "TCP_REQQFULLDROP",
            DropReason::TcpAbortOnData => "TCP_ABORT_ON_DATA",
            DropReason::TcpRfc7323Paws => "TCP_RFC7323_PAWS",
            DropReason::TcpRfc7323PawsAck => "TCP_RFC7323_PAWS_ACK",
            DropReason::TcpMinttl => "TCP_MINTTL",
        }
    }
}

/// All counters of one stack (one network namespace in Linux terms).
#[derive(Clone, Debug)]
pub struct Stats {
    /// `Ip:`.
    pub ip: IpMib,
    /// `IpExt:`.
    pub ip_ext: IpExtMib,
    /// `Icmp:`.
    pub icmp: IcmpMib,
    /// `IcmpMsg:` InTypeN.
    pub icmp_in_type: [u64; 256],
    /// `IcmpMsg:` OutTypeN.
    pub icmp_out_type: [u64; 256],
    /// `Tcp:`.
    pub tcp: TcpMib,
    /// `TcpExt:` (in `/proc/net/netstat`).
    pub tcp_ext: TcpExtMib,
    /// `Udp:`.
    pub udp: UdpMib,
    /// ARP cache statistics.
    pub arp: NeighStats,
    /// Route input statistics.
    pub rt: RtStats,
    /// Frames that entered `netif_receive` (from drivers and from loopback).
    pub rx_frames: u64,
    /// Received packets dropped, by reason.
    pub drops: [u64; DropReason::ALL.len()],
    /// Outgoing (local or forwarded) packets dropped before the driver, by reason.
    pub tx_drops: [u64; DropReason::ALL.len()],
    /// Received frames fully handled without a drop (`consume_skb`), including those
    /// queued to a socket.
    pub consumed: u64,
}

impl Default for Stats {
    fn default() -> Self {
        Stats {
            ip: IpMib::default(),
            ip_ext: IpExtMib::default(),
            icmp: IcmpMib::default(),
            icmp_in_type: [0; 256],
            icmp_out_type: [0; 256],
            tcp: TcpMib::linux_defaults(),
            tcp_ext: TcpExtMib::default(),
            udp: UdpMib::default(),
            arp: NeighStats::default(),
            rt: RtStats::default(),
            rx_frames: 0,
            drops: [0; DropReason::ALL.len()],
            tx_drops: [0; DropReason::ALL.len()],
            consumed: 0,
        }
    }
}

impl Stats {
    /// Counts one drop.
    pub fn drop(&mut self, reason: DropReason) {
        self.drops[reason as usize] += 1;
    }

    /// Drops counted under `reason`.
    pub fn drops_for(&self, reason: DropReason) -> u64 {
        self.drops[reason as usize]
    }

    /// All receive-side drops.
    pub fn total_drops(&self) -> u64 {
        self.drops.iter().sum()
    }

    /// Counts an ICMP message received, by type (`ICMPMSG_IN` and the Icmp per-type column).
    pub fn icmp_in(&mut self, msg_type: u8) {
        self.icmp_in_type[usize::from(msg_type)] += 1;
        let m = &mut self.icmp;
        match msg_type {
            0 => m.in_echo_reps += 1,
            3 => m.in_dest_unreachs += 1,
            4 => m.in_src_quenchs += 1,
            5 => m.in_redirects += 1,
            8 => m.in_echos += 1,
            11 => m.in_time_excds += 1,
            12 => m.in_parm_probs += 1,
            13 => m.in_timestamps += 1,
            14 => m.in_timestamp_reps += 1,
            17 => m.in_addr_masks += 1,
            18 => m.in_addr_mask_reps += 1,
            _ => {}
        }
    }

    /// Counts an ICMP message sent, by type.
    pub fn icmp_out(&mut self, msg_type: u8) {
        self.icmp_out_type[usize::from(msg_type)] += 1;
        let m = &mut self.icmp;
        m.out_msgs += 1;
        match msg_type {
            0 => m.out_echo_reps += 1,
            3 => m.out_dest_unreachs += 1,
            4 => m.out_src_quenchs += 1,
            5 => m.out_redirects += 1,
            8 => m.out_echos += 1,
            11 => m.out_time_excds += 1,
            12 => m.out_parm_probs += 1,
            13 => m.out_timestamps += 1,
            14 => m.out_timestamp_reps += 1,
            17 => m.out_addr_masks += 1,
            18 => m.out_addr_mask_reps += 1,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drop_reason_table_is_in_discriminant_order() {
        for (i, r) in DropReason::ALL.iter().enumerate() {
            assert_eq!(*r as usize, i, "{r:?}");
        }
    }
}

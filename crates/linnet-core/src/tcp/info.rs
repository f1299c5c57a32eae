//! `TCP_INFO`: a snapshot of one connection with the field names and units of Linux's
//! `struct tcp_info`, and the per-socket counters it reports (segments and bytes in and
//! out, retransmissions, the minimum RTT).
//!
//! Linux: net/ipv4/tcp.c (`tcp_get_info`), include/uapi/linux/tcp.h (`struct tcp_info`,
//! `TCPI_OPT_*`), net/ipv4/tcp_output.c (`__tcp_transmit_skb`: `segs_out`,
//! `data_segs_out`, `bytes_sent`; `__tcp_retransmit_skb`: `total_retrans`,
//! `bytes_retrans`), net/ipv4/tcp_ipv4.c (`tcp_segs_in`), net/ipv4/tcp_input.c
//! (`tcp_snd_una_update`: `bytes_acked`; `tcp_rcv_nxt_update`: `bytes_received`;
//! `tcp_data_queue_ofo`: `rcv_ooopack`).
//! RFCs: RFC 4898 (TCP ESTATS MIB: the counters' definitions).
//!
//! Units as Linux: times in microseconds (`rto`, `ato`, `rtt`, `rttvar`, `min_rtt`),
//! "time since" fields in milliseconds, windows and thresholds of the congestion control
//! in segments, everything else in bytes.

use crate::errno::Errno;
use crate::stack::Stack;
use crate::time::Duration;
use crate::udp::SocketHandle;

use super::cong::INFINITE_SSTHRESH;
use super::{CaState, TcpSock, TcpState};

/// `TCPI_OPT_TIMESTAMPS`.
pub const TCPI_OPT_TIMESTAMPS: u8 = 1;
/// `TCPI_OPT_SACK`.
pub const TCPI_OPT_SACK: u8 = 2;
/// `TCPI_OPT_WSCALE`.
pub const TCPI_OPT_WSCALE: u8 = 4;
/// `TCPI_OPT_ECN`: ECN was negotiated.
pub const TCPI_OPT_ECN: u8 = 8;
/// `TCPI_OPT_ECN_SEEN`: at least one ECT packet was received.
pub const TCPI_OPT_ECN_SEEN: u8 = 16;

/// Per-connection counters of `struct tcp_sock` that `TCP_INFO` reports.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct TcpCounters {
    /// `segs_in`: segments received (all, including pure ACKs).
    pub(crate) segs_in: u32,
    /// `data_segs_in`: segments received with payload.
    pub(crate) data_segs_in: u32,
    /// `segs_out`: segments sent, retransmissions included.
    pub(crate) segs_out: u32,
    /// `data_segs_out`: segments sent with payload.
    pub(crate) data_segs_out: u32,
    /// `bytes_sent`: payload bytes sent, retransmissions included.
    pub(crate) bytes_sent: u64,
    /// `bytes_retrans`: payload bytes retransmitted.
    pub(crate) bytes_retrans: u64,
    /// `total_retrans`: segments retransmitted (SYN and SYN-ACK included).
    pub(crate) total_retrans: u32,
    /// `bytes_acked`: sequence space acknowledged by the peer (the SYN and FIN count one).
    pub(crate) bytes_acked: u64,
    /// `bytes_received`: sequence space received in order (the FIN counts one).
    pub(crate) bytes_received: u64,
    /// `rcv_ooopack`: out-of-order segments received.
    pub(crate) rcv_ooopack: u32,
}

/// A `TCP_INFO` snapshot (Linux `struct tcp_info`; each field is the one of the same name
/// without the `tcpi_` prefix).
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TcpInfo {
    /// `tcpi_state`: the state's Linux number.
    pub state: u8,
    /// `tcpi_ca_state`: `TCP_CA_Open` 0, `Disorder` 1, `CWR` 2, `Recovery` 3, `Loss` 4.
    pub ca_state: u8,
    /// `tcpi_retransmits`: consecutive retransmissions of the head (`icsk_retransmits`).
    pub retransmits: u8,
    /// `tcpi_probes`: unanswered zero-window or keepalive probes (`icsk_probes_out`).
    pub probes: u8,
    /// `tcpi_backoff`: RTO backoff exponent.
    pub backoff: u8,
    /// `tcpi_options`: `TCPI_OPT_*` bits.
    pub options: u8,
    /// `tcpi_snd_wscale`: the peer's window scale (0 unless window scaling is on).
    pub snd_wscale: u8,
    /// `tcpi_rcv_wscale`: our window scale (0 unless window scaling is on).
    pub rcv_wscale: u8,
    /// `tcpi_rto`, µs.
    pub rto: u32,
    /// `tcpi_ato`: delayed-ACK timeout, µs.
    pub ato: u32,
    /// `tcpi_snd_mss`: `mss_cache`.
    pub snd_mss: u32,
    /// `tcpi_rcv_mss`: the estimate of the peer's MSS.
    pub rcv_mss: u32,
    /// `tcpi_unacked`: segments in flight (`packets_out`); on a listener, the accept
    /// queue's length.
    pub unacked: u32,
    /// `tcpi_sacked`: segments SACKed (`sacked_out`); on a listener, its backlog.
    pub sacked: u32,
    /// `tcpi_lost`: segments considered lost (`lost_out`).
    pub lost: u32,
    /// `tcpi_retrans`: retransmitted segments in flight (`retrans_out`).
    pub retrans: u32,
    /// `tcpi_last_data_sent`: ms since data was last sent.
    pub last_data_sent: u32,
    /// `tcpi_last_ack_sent`: always 0 ("Not remembered, sorry.").
    pub last_ack_sent: u32,
    /// `tcpi_last_data_recv`: ms since data last arrived.
    pub last_data_recv: u32,
    /// `tcpi_last_ack_recv`: ms since an acceptable ACK last arrived.
    pub last_ack_recv: u32,
    /// `tcpi_pmtu`: the path MTU in use.
    pub pmtu: u32,
    /// `tcpi_rcv_ssthresh`: the current cap of the advertised window.
    pub rcv_ssthresh: u32,
    /// `tcpi_rtt`: smoothed RTT, µs.
    pub rtt: u32,
    /// `tcpi_rttvar`: RTT variation, µs.
    pub rttvar: u32,
    /// `tcpi_snd_ssthresh`, segments (`TCP_INFINITE_SSTHRESH` = 0x7fffffff until set).
    pub snd_ssthresh: u32,
    /// `tcpi_snd_cwnd`, segments.
    pub snd_cwnd: u32,
    /// `tcpi_advmss`: the MSS we advertised.
    pub advmss: u32,
    /// `tcpi_reordering`: the reordering degree, segments.
    pub reordering: u32,
    /// `tcpi_rcv_rtt`: the receiver-side RTT estimate, µs.
    pub rcv_rtt: u32,
    /// `tcpi_rcv_space`: the receive-space estimate of autotuning (`rcvq_space.space`).
    pub rcv_space: u32,
    /// `tcpi_total_retrans`.
    pub total_retrans: u32,
    /// `tcpi_bytes_acked`.
    pub bytes_acked: u64,
    /// `tcpi_bytes_received`.
    pub bytes_received: u64,
    /// `tcpi_segs_out`.
    pub segs_out: u32,
    /// `tcpi_segs_in`.
    pub segs_in: u32,
    /// `tcpi_notsent_bytes`: queued and never sent.
    pub notsent_bytes: u32,
    /// `tcpi_min_rtt`, µs; `u32::MAX` before any sample (Linux's `~0U`).
    pub min_rtt: u32,
    /// `tcpi_data_segs_in`.
    pub data_segs_in: u32,
    /// `tcpi_data_segs_out`.
    pub data_segs_out: u32,
    /// `tcpi_delivery_rate`, bytes per second.
    pub delivery_rate: u64,
    /// `tcpi_bytes_sent`.
    pub bytes_sent: u64,
    /// `tcpi_bytes_retrans`.
    pub bytes_retrans: u64,
    /// `tcpi_rcv_ooopack`.
    pub rcv_ooopack: u32,
    /// `tcpi_snd_wnd`: the peer's window, bytes after scaling.
    pub snd_wnd: u32,
    /// `tcpi_rcv_wnd`: our last advertised window, bytes after scaling.
    pub rcv_wnd: u32,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

fn millis_u32(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

impl CaState {
    /// `TCP_CA_*` numbers.
    pub(crate) fn number(self) -> u8 {
        match self {
            CaState::Open => 0,
            CaState::Disorder => 1,
            CaState::Cwr => 2,
            CaState::Recovery => 3,
            CaState::Loss => 4,
        }
    }
}

impl TcpSock {
    /// Segments covering `bytes` of sequence space at the current MSS.
    fn segments(&self, bytes: u32) -> u32 {
        bytes.div_ceil(self.mss.max(1))
    }

    /// `tcp_get_info`.
    pub(crate) fn tcp_get_info(&self, now: crate::time::Instant) -> TcpInfo {
        let mut options = 0;
        if self.ts_ok {
            options |= TCPI_OPT_TIMESTAMPS;
        }
        if self.sack_ok {
            options |= TCPI_OPT_SACK;
        }
        if self.ecn_ok() {
            options |= TCPI_OPT_ECN;
        }
        if self.ecn_flags & super::ecn::TCP_ECN_SEEN != 0 {
            options |= TCPI_OPT_ECN_SEEN;
        }
        let (snd_wscale, rcv_wscale) = if self.wscale_ok {
            options |= TCPI_OPT_WSCALE;
            (self.snd_wscale, self.rcv_wscale)
        } else {
            (0, 0)
        };
        let mss = self.mss.max(1);
        let synced = !matches!(self.state, TcpState::Close | TcpState::Listen);
        let flight = if synced {
            self.snd_nxt.diff(self.snd_una).max(0) as u32
        } else {
            0
        };
        // packets_out: the scoreboard's records; a SYN (not on the scoreboard) is one.
        let mut unacked = if self.sb.q.is_empty() {
            self.segments(flight)
        } else {
            self.sb.packets_out.pkts
        };
        let mut sacked = self.sb.sacked_out.pkts;
        if let (TcpState::Listen, Some(q)) = (self.state, self.listen.as_deref()) {
            unacked = q.accept_queue.len() as u32;
            sacked = q.max_backlog;
        }
        // lost_out and retrans_out, from the scoreboard.
        let lost = self.sb.lost_out.pkts;
        let retrans = self.sb.retrans_out.pkts;
        let ssthresh = if self.win.ssthresh >= INFINITE_SSTHRESH {
            INFINITE_SSTHRESH
        } else {
            self.win.ssthresh / mss
        };
        let notsent = if synced {
            self.data_end().diff(self.snd_nxt).max(0) as u32
        } else {
            0
        };
        let c = &self.counters;
        TcpInfo {
            state: self.state.number(),
            ca_state: self.ca_state.number(),
            retransmits: self.retransmits.min(255) as u8,
            probes: self.probes_out.min(255) as u8,
            backoff: self.backoff.min(255) as u8,
            options,
            snd_wscale,
            rcv_wscale,
            rto: micros(self.rtt.rto),
            ato: micros(self.ack.ato),
            snd_mss: self.mss,
            rcv_mss: self.ack.rcv_mss,
            unacked,
            sacked,
            lost,
            retrans,
            last_data_sent: millis_u32(now.saturating_since(self.lsndtime)),
            last_ack_sent: 0,
            last_data_recv: millis_u32(now.saturating_since(self.ack.lrcvtime)),
            last_ack_recv: millis_u32(now.saturating_since(self.rcv_tstamp)),
            pmtu: self.pmtu,
            rcv_ssthresh: self.rcv_ssthresh,
            rtt: self.rtt.srtt.map_or(0, micros),
            rttvar: micros(self.rtt.rttvar),
            snd_ssthresh: ssthresh,
            snd_cwnd: self.win.cwnd / mss,
            advmss: self.advmss,
            reordering: self.sb.reordering,
            // rcv_rtt_est.rtt_us >> 3 and rcvq_space.space (tcp_rcv_rtt_update,
            // tcp_rcv_space_adjust in `buf`).
            rcv_rtt: self.buf.rcv_rtt_us >> 3,
            rcv_space: self.buf.rcvq_space,
            total_retrans: c.total_retrans,
            bytes_acked: c.bytes_acked,
            bytes_received: c.bytes_received,
            segs_out: c.segs_out,
            segs_in: c.segs_in,
            notsent_bytes: notsent,
            min_rtt: self.rtt.min_rtt.map_or(u32::MAX, micros),
            data_segs_in: c.data_segs_in,
            data_segs_out: c.data_segs_out,
            // Deviation from Linux: no delivery-rate sampling (tcp_rate.c) yet.
            delivery_rate: 0,
            bytes_sent: c.bytes_sent,
            bytes_retrans: c.bytes_retrans,
            rcv_ooopack: c.rcv_ooopack,
            snd_wnd: self.snd_wnd,
            rcv_wnd: self.rcv_wnd,
        }
    }

    /// `__tcp_transmit_skb`'s accounting of one segment (and `__tcp_retransmit_skb`'s when
    /// it is a retransmission).
    pub(crate) fn count_segment_out(&mut self, payload: usize, retrans: bool) {
        let c = &mut self.counters;
        c.segs_out = c.segs_out.wrapping_add(1);
        if payload > 0 {
            c.data_segs_out = c.data_segs_out.wrapping_add(1);
            c.bytes_sent += payload as u64;
        }
        if retrans {
            c.total_retrans = c.total_retrans.wrapping_add(1);
            c.bytes_retrans += payload as u64;
        }
    }

    /// `tcp_segs_in`: a GSO super-segment counts as the `gso_segs` segments it stands for
    /// (`payload / gso_size` rounded up).
    pub(crate) fn count_segment_in(&mut self, payload: usize, gso_size: u16) {
        let segs = if gso_size == 0 {
            1
        } else {
            u32::try_from(payload.div_ceil(usize::from(gso_size)))
                .unwrap_or(u32::MAX)
                .max(1)
        };
        let c = &mut self.counters;
        c.segs_in = c.segs_in.wrapping_add(segs);
        if payload > 0 {
            c.data_segs_in = c.data_segs_in.wrapping_add(segs);
        }
    }
}

impl Stack {
    /// `getsockopt(TCP_INFO)`: the connection's [`TcpInfo`]. EBADF for a bad handle.
    pub fn tcp_info(&self, h: SocketHandle) -> Result<TcpInfo, Errno> {
        Ok(self.tcp.get(h)?.tcp_get_info(self.now))
    }
}

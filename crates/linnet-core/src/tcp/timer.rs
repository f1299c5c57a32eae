//! TCP timers: RTO estimation and backoff, retransmission (data, SYN, SYN-ACK), the
//! zero-window probe, delayed ACKs, keepalive, FIN-WAIT-2 and TIME-WAIT. The retransmission
//! timer also carries the tail loss probe and RACK's reordering timer (`rack.rs`), as
//! Linux's `icsk_pending` kinds do.
//!
//! Linux: net/ipv4/tcp_timer.c (`tcp_retransmit_timer`, `tcp_write_timeout`,
//! `retransmits_timed_out`, `tcp_model_timeout`, `tcp_probe_timer`,
//! `tcp_delack_timer_handler`, `tcp_orphan_retries`, `tcp_keepalive_timer`,
//! `tcp_clamp_rto_to_user_timeout`), net/ipv4/tcp_input.c
//! (`tcp_rtt_estimator`, `tcp_set_rto`, `tcp_event_data_recv`), net/ipv4/tcp_output.c
//! (`tcp_send_delayed_ack`), net/ipv4/inet_connection_sock.c (`reqsk_timer_handler`),
//! net/ipv4/inet_timewait_sock.c (`tw_timer_handler`), include/net/tcp.h (`TCP_RTO_MIN`,
//! `TCP_RTO_MAX`, `TCP_TIMEOUT_INIT`, `TCP_ATO_MIN`, `TCP_DELACK_MAX`, `TCP_TIMEWAIT_LEN`).
//! RFCs: RFC 6298 (RTO), RFC 1122 §4.2.3.2 (delayed ACK), RFC 9293 §3.8.1 and §3.10.8
//! (retransmission, TIME-WAIT), RFC 1122 §4.2.2.17 (zero-window probes).
//!
//! Every socket keeps its deadlines in `TcpSock::deadlines`; the stack's timer set holds one
//! entry per socket at the earliest of them (an entry may be early: the handler re-arms at
//! the true deadline). So pushing the RTO back on every ACK costs no timer-set update.

use core::time::Duration;

use crate::config::StackConfig;
use crate::stack::{Event, Stack};
use crate::time::Instant;

use super::{millis, CaState, RtxKind, TcpSock, TcpState, TimerKind};

/// `TCP_TIMEOUT_INIT`: the RTO before any RTT sample (RFC 6298 §2.1: 1 s).
pub(crate) const TIMEOUT_INIT: Duration = Duration::from_secs(1);
/// `TCP_ATO_MIN`: the smallest delayed-ACK timeout (40 ms).
pub(crate) const ATO_MIN: Duration = Duration::from_millis(40);
/// `TCP_DELACK_MAX`: the largest delayed-ACK timeout (200 ms; RFC 1122 asks < 500 ms).
pub(crate) const DELACK_MAX: Duration = Duration::from_millis(200);
/// `TCP_MAX_QUICKACKS`.
pub(crate) const MAX_QUICKACKS: u32 = 16;

/// RFC 6298 RTT estimation with Linux's bounds (the role of `srtt_us`, `rttvar_us`,
/// `icsk_rto`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct RttEstimator {
    /// Smoothed RTT, none before the first sample.
    pub(crate) srtt: Option<Duration>,
    /// RTT variation.
    pub(crate) rttvar: Duration,
    /// The current RTO, before backoff.
    pub(crate) rto: Duration,
    /// The latest sample not yet handed to congestion control.
    pub(crate) last: Option<Duration>,
    /// The smallest sample (`tcpi_min_rtt`). Deviation from Linux: the minimum over the
    /// connection's life, not Linux's windowed minimum (`tcp_min_rtt_wlen`, 300 s).
    pub(crate) min_rtt: Option<Duration>,
    rto_min: Duration,
    rto_max: Duration,
}

impl RttEstimator {
    pub(crate) fn new(cfg: &StackConfig) -> RttEstimator {
        RttEstimator {
            srtt: None,
            rttvar: Duration::ZERO,
            rto: TIMEOUT_INIT.min(cfg.tcp_rto_max),
            last: None,
            min_rtt: None,
            rto_min: cfg.tcp_rto_min,
            rto_max: cfg.tcp_rto_max,
        }
    }

    /// RFC 6298 §2.2 / §2.3: a new measurement `r`.
    ///
    /// Deviation from RFC 6298 (as Linux `__tcp_set_rto`): RTO = SRTT + max(4 * RTTVAR,
    /// rto_min), so the 200 ms floor bounds the variance term rather than the sum.
    pub(crate) fn sample(&mut self, r: Duration) {
        let r = r.max(Duration::from_micros(1));
        self.last = Some(r);
        self.min_rtt = Some(self.min_rtt.map_or(r, |m| m.min(r)));
        match self.srtt {
            None => {
                self.srtt = Some(r);
                self.rttvar = r / 2;
            }
            Some(srtt) => {
                let delta = srtt.abs_diff(r);
                self.rttvar = (self.rttvar * 3 + delta) / 4;
                self.srtt = Some((srtt * 7 + r) / 8);
            }
        }
        let srtt = self.srtt.unwrap_or(r);
        self.rto = (srtt + (self.rttvar * 4).max(self.rto_min)).min(self.rto_max);
    }

    /// The RTO after `backoff` doublings, capped at the maximum (`inet_csk_rto_backoff`).
    pub(crate) fn backed_off(&self, backoff: u32) -> Duration {
        let shift = backoff.min(31);
        self.rto
            .checked_mul(1u32 << shift)
            .unwrap_or(self.rto_max)
            .min(self.rto_max)
    }

    pub(crate) fn rto_min(&self) -> Duration {
        self.rto_min
    }

    pub(crate) fn rto_max(&self) -> Duration {
        self.rto_max
    }
}

/// Delayed-ACK state (Linux `icsk_ack`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct AckState {
    /// An ACK is owed (`ICSK_ACK_SCHED`).
    pub(crate) pending: bool,
    /// The owed ACK must go now (`ICSK_ACK_NOW`).
    pub(crate) now: bool,
    /// Quick ACKs left (`quick`).
    pub(crate) quick: u32,
    /// Interactive mode: ACKs wait to ride on replies (`pingpong`).
    pub(crate) pingpong: bool,
    /// Delayed-ACK timeout estimate (`ato`); zero before the first data.
    pub(crate) ato: Duration,
    /// When data last arrived (`lrcvtime`).
    pub(crate) lrcvtime: Instant,
    /// Estimate of the peer's MSS (`rcv_mss`).
    pub(crate) rcv_mss: u32,
}

/// `tcp_model_timeout`: how long `boundary` retransmissions take with exponential backoff
/// from `rto_base`, capped at `rto_max` per interval.
pub(crate) fn model_timeout(boundary: u32, rto_base: Duration, rto_max: Duration) -> Duration {
    let base = rto_base.max(Duration::from_millis(1)).as_nanos();
    let max = rto_max.as_nanos();
    let ratio = (max / base).max(1);
    let thresh = 127 - ratio.leading_zeros(); // ilog2
    let doublings = |n: u32| base.saturating_mul((1u128 << (n + 1).min(100)) - 1);
    let nanos = if boundary <= thresh {
        doublings(boundary)
    } else {
        doublings(thresh).saturating_add(max.saturating_mul(u128::from(boundary - thresh)))
    };
    Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
}

impl Stack {
    /// Runs every TCP timer due at `now`.
    pub(crate) fn tcp_handle_timeout(&mut self, now: Instant) {
        while let Some((_, (idx, gen))) = self.tcp.timers.pop_due(now) {
            if self.tcp.sock_mut(idx, gen).is_none() {
                continue;
            }
            let Some(mut sk) = self.tcp.take(idx) else {
                continue;
            };
            sk.armed = None;
            for kind in [
                TimerKind::Rtx,
                TimerKind::DelAck,
                TimerKind::Wait,
                TimerKind::Keepalive,
            ] {
                if sk.dead {
                    break;
                }
                if sk.timer(kind).is_some_and(|t| t <= now) {
                    sk.clear_timer(kind);
                    match kind {
                        TimerKind::Rtx => match sk.rtx_kind {
                            RtxKind::Retrans => self.tcp_retransmit_timer(&mut sk),
                            RtxKind::Probe => self.tcp_probe_timer(&mut sk),
                            RtxKind::LossProbe => self.tcp_send_loss_probe(&mut sk),
                            RtxKind::ReoTimeout => self.tcp_rack_reo_timeout(&mut sk),
                        },
                        TimerKind::DelAck => self.tcp_delack_timer(&mut sk),
                        TimerKind::Wait => self.tcp_wait_timer(&mut sk),
                        TimerKind::Keepalive => self.tcp_keepalive_timer(&mut sk),
                    }
                }
            }
            self.tcp_put(sk);
        }
    }

    /// Arms the retransmission timer for an RTO from now (`tcp_reset_xmit_timer`), no
    /// later than the end of `TCP_USER_TIMEOUT` (`tcp_clamp_rto_to_user_timeout`).
    pub(crate) fn tcp_arm_rto(&mut self, sk: &mut TcpSock) {
        let d = sk.rtt.backed_off(sk.backoff);
        self.tcp_arm_rto_in(sk, d);
    }

    /// `inet_csk_reset_xmit_timer(ICSK_TIME_RETRANS, d)`, clamped to `TCP_USER_TIMEOUT`
    /// (SYN-SENT too once retransmitting: tcp_retransmit_timer re-arms with the clamp).
    pub(crate) fn tcp_arm_rto_in(&mut self, sk: &mut TcpSock, d: Duration) {
        let mut d = d;
        if let (true, Some(start), true) = (
            sk.opts.user_timeout != 0,
            sk.retrans_stamp,
            sk.state.is_synchronized() || sk.retransmits > 0,
        ) {
            let limit = Duration::from_millis(u64::from(sk.opts.user_timeout));
            let elapsed = self.now.saturating_since(start);
            d = d.min(limit.saturating_sub(elapsed).max(Duration::from_millis(1)));
        }
        sk.rtx_kind = RtxKind::Retrans;
        sk.set_timer(TimerKind::Rtx, self.now + d);
    }

    /// `retransmits_timed_out`: whether the retransmissions of the head have gone on for
    /// `boundary` backoffs' worth of time, or for `user_timeout` (ms) when it is not 0.
    fn tcp_timed_out(
        &self,
        sk: &TcpSock,
        boundary: u32,
        rto_base: Duration,
        user_timeout: u32,
    ) -> bool {
        if sk.retransmits == 0 {
            return false;
        }
        let Some(start) = sk.retrans_stamp else {
            return false;
        };
        let limit = if user_timeout != 0 {
            Duration::from_millis(u64::from(user_timeout))
        } else {
            model_timeout(boundary, rto_base, sk.rtt.rto_max())
        };
        self.now.saturating_since(start) >= limit
    }

    /// `TCP_SYNCNT` or `tcp_syn_retries`.
    fn tcp_syn_retries(&self, sk: &TcpSock) -> u32 {
        match sk.opts.syncnt {
            0 => u32::from(self.cfg.tcp_syn_retries),
            n => u32::from(n),
        }
    }

    /// `tcp_write_err`: give up on the connection with the soft error or ETIMEDOUT.
    fn tcp_write_err(&mut self, sk: &mut TcpSock) {
        let err = sk.err_soft.take().unwrap_or(crate::errno::Errno::ETIMEDOUT);
        sk.err = Some(err);
        self.tcp_done(sk);
        self.tcp_event(sk, Event::Error);
    }

    /// `tcp_retransmit_timer`.
    fn tcp_retransmit_timer(&mut self, sk: &mut TcpSock) {
        let now = self.now;
        match sk.state {
            TcpState::SynSent => {
                // tcp_write_timeout: SYN retries in time (tcp_syn_retries, TCP_TIMEOUT_INIT),
                // or TCP_USER_TIMEOUT since the first SYN.
                let retries = self.tcp_syn_retries(sk);
                let ut = sk.opts.user_timeout;
                if self.tcp_timed_out(sk, retries, TIMEOUT_INIT, 0)
                    || (ut != 0 && self.tcp_timed_out(sk, retries, TIMEOUT_INIT, ut))
                {
                    self.tcp_write_err(sk);
                    return;
                }
                self.tcp_send_syn(sk, true);
                self.stats.tcp_ext.tcp_syn_retrans += 1;
                sk.retransmits += 1;
                sk.backoff += 1;
                self.tcp_arm_rto(sk);
            }
            TcpState::SynRecv if sk.parent.is_some() => {
                // reqsk_timer_handler: tcp_synack_retries, 1 s doubling.
                // The listener's TCP_SYNCNT, else tcp_synack_retries.
                let max = match sk.opts.syncnt {
                    0 => u32::from(self.cfg.tcp_synack_retries),
                    n => u32::from(n),
                };
                // syn_ack_recalc, with TCP_DEFER_ACCEPT (see sockopt.rs).
                let (expire, resend) = sk.syn_ack_recalc(max);
                if expire {
                    self.tcp_reqsk_drop(sk);
                    return;
                }
                if resend {
                    self.tcp_send_synack(sk, true);
                    self.stats.tcp_ext.tcp_syn_retrans += 1;
                }
                sk.retransmits += 1;
                let d = (TIMEOUT_INIT * (1u32 << sk.retransmits.min(16))).min(sk.rtt.rto_max());
                sk.rtx_kind = RtxKind::Retrans;
                sk.set_timer(TimerKind::Rtx, now + d);
            }
            TcpState::SynRecv => {
                // Simultaneous open: our SYN-ACK is the SYN to retransmit.
                let retries = self.tcp_syn_retries(sk);
                if self.tcp_timed_out(sk, retries, TIMEOUT_INIT, 0) {
                    self.tcp_write_err(sk);
                    return;
                }
                self.tcp_send_synack(sk, true);
                self.stats.tcp_ext.tcp_syn_retrans += 1;
                sk.retransmits += 1;
                sk.backoff += 1;
                self.tcp_arm_rto(sk);
            }
            TcpState::Close | TcpState::Listen | TcpState::TimeWait => {}
            _ => {
                if sk.snd_una == sk.snd_nxt || sk.sb.q.is_empty() {
                    return;
                }
                if sk.snd_wnd == 0 && !sk.orphan {
                    // The receiver shrank its window to zero under our data: the
                    // retransmissions become window probes and do not time the connection
                    // out while the peer keeps answering (tcp_retransmit_timer's zero-window
                    // branch); no TCPTimeouts, no retransmit count, the RTO still doubles.
                    if now.saturating_since(sk.rcv_tstamp) > sk.rtt.rto_max() {
                        self.tcp_write_err(sk);
                        return;
                    }
                    self.tcp_enter_loss(sk);
                    self.tcp_retransmit_skb(sk, 0);
                    sk.backoff += 1;
                    self.tcp_arm_rto(sk);
                    return;
                }
                // tcp_write_timeout for synchronized states.
                let retries = if sk.orphan {
                    let alive = sk.rtt.backed_off(sk.backoff) < sk.rtt.rto_max();
                    match self.cfg.tcp_orphan_retries {
                        0 if alive => 8,
                        n => u32::from(n),
                    }
                } else {
                    u32::from(self.cfg.tcp_retries2)
                };
                let user_timeout = sk.opts.user_timeout;
                if self.tcp_timed_out(sk, retries, sk.rtt.rto_min(), user_timeout) {
                    self.stats.tcp_ext.tcp_abort_on_timeout += 1;
                    self.tcp_write_err(sk);
                    return;
                }
                if sk.retransmits == 0 {
                    let x = &mut self.stats.tcp_ext;
                    match sk.ca_state {
                        CaState::Recovery if sk.sack_ok => x.tcp_sack_failures += 1,
                        CaState::Recovery => x.tcp_reno_failures += 1,
                        CaState::Loss => x.tcp_loss_failures += 1,
                        _ if sk.ca_state == CaState::Disorder || sk.sb.sacked_out.pkts > 0 => {
                            if sk.sack_ok {
                                x.tcp_sack_failures += 1;
                            } else {
                                x.tcp_reno_failures += 1;
                            }
                        }
                        _ => {}
                    }
                }
                self.stats.tcp_ext.tcp_timeouts += 1;
                self.tcp_enter_loss(sk);
                // The head goes again at once; the rest as the window reopens
                // (tcp_xmit_retransmit_queue on the ACKs).
                self.tcp_retransmit_skb(sk, 0);
                sk.retransmits += 1;
                sk.backoff += 1;
                self.tcp_arm_rto(sk);
            }
        }
    }

    /// `tcp_probe_timer` + `tcp_send_probe0`: probe a zero window. The peer's ACKs to the
    /// probes set `probes_out` back to 0, so a receiver that keeps answering is probed
    /// forever (RFC 1122 §4.2.2.17), unless `TCP_USER_TIMEOUT` runs out since the first
    /// probe (`icsk_probes_tstamp`) or the socket is an orphan past `tcp_orphan_retries`.
    fn tcp_probe_timer(&mut self, sk: &mut TcpSock) {
        let now = self.now;
        if sk.snd_una != sk.snd_nxt || !self.tcp_has_unsent(sk) {
            sk.probes_out = 0;
            sk.probes_tstamp = None;
            sk.backoff = 0;
            sk.retransmits = 0;
            return;
        }
        let ut = sk.opts.user_timeout;
        let mut abort = false;
        match sk.probes_tstamp {
            None => sk.probes_tstamp = Some(now),
            Some(t) => {
                abort = ut != 0 && now.saturating_since(t) >= Duration::from_millis(u64::from(ut));
            }
        }
        let mut max_probes = u32::from(self.cfg.tcp_retries2);
        if sk.orphan {
            let alive = sk.rtt.backed_off(sk.backoff) < sk.rtt.rto_max();
            max_probes = match self.cfg.tcp_orphan_retries {
                0 if alive => 8,
                n => u32::from(n),
            };
            abort |= !alive && sk.backoff >= max_probes;
        }
        if abort || sk.probes_out >= max_probes {
            self.stats.tcp_ext.tcp_abort_on_timeout += 1;
            self.tcp_write_err(sk);
            return;
        }
        // tcp_send_probe0.
        let before = sk.snd_nxt;
        self.tcp_write_wakeup(sk);
        if sk.snd_una != sk.snd_nxt || !self.tcp_has_unsent(sk) {
            // Data went out: the RTO takes over.
            sk.probes_out = 0;
            sk.backoff = 0;
            sk.probes_tstamp = None;
            sk.retransmits = 0;
            return;
        }
        if sk.snd_nxt == before {
            self.stats.tcp_ext.tcp_win_probe += 1;
        }
        sk.probes_out += 1;
        if sk.backoff < u32::from(self.cfg.tcp_retries2) {
            sk.backoff += 1;
        }
        let mut d = sk
            .rtt
            .backed_off(sk.backoff)
            .max(sk.rtt.rto_min())
            .min(sk.rtt.rto_max());
        // tcp_clamp_probe0_to_user_timeout (TCP_TIMEOUT_MIN: 2 ms).
        if let (true, Some(t)) = (ut != 0, sk.probes_tstamp) {
            let left = Duration::from_millis(u64::from(ut)).saturating_sub(now.saturating_since(t));
            d = d.min(left.max(Duration::from_millis(2)));
        }
        sk.rtx_kind = RtxKind::Probe;
        sk.set_timer(TimerKind::Rtx, now + d);
    }

    /// `tcp_check_probe_timer`: nothing in flight and data the window will not take.
    pub(crate) fn tcp_check_probe_timer(&mut self, sk: &mut TcpSock) {
        if sk.snd_una == sk.snd_nxt && sk.timer(TimerKind::Rtx).is_none() {
            let d = sk.rtt.backed_off(sk.backoff).max(sk.rtt.rto_min());
            sk.rtx_kind = RtxKind::Probe;
            sk.set_timer(TimerKind::Rtx, self.now + d);
        }
    }

    /// `tcp_delack_timer_handler`.
    fn tcp_delack_timer(&mut self, sk: &mut TcpSock) {
        if !sk.ack.pending || (!sk.state.is_synchronized() && sk.state != TcpState::SynRecv) {
            return;
        }
        if sk.ack.pingpong {
            // Delayed ACK missed: leave interactive mode and deflate the ATO.
            sk.ack.pingpong = false;
            sk.ack.ato = ATO_MIN;
        } else {
            // Delayed ACK missed: inflate the ATO.
            sk.ack.ato = (sk.ack.ato * 2).min(sk.rtt.backed_off(sk.backoff));
        }
        self.tcp_send_ack(sk);
        self.stats.tcp_ext.delayed_acks += 1;
    }

    /// End of TIME-WAIT, or of an orphan's FIN-WAIT-2 (`tcp_fin_timeout`).
    fn tcp_wait_timer(&mut self, sk: &mut TcpSock) {
        match sk.state {
            TcpState::TimeWait => {
                self.stats.tcp_ext.tw += 1;
                self.tcp_set_state(sk, TcpState::Close);
                sk.dead = true;
            }
            TcpState::FinWait2 if sk.orphan => {
                // Linux keeps the orphan as a FIN-WAIT-2 timewait socket and lets it go
                // silently when tcp_fin_timeout ends.
                self.stats.tcp_ext.tw += 1;
                self.tcp_set_state(sk, TcpState::Close);
                sk.dead = true;
            }
            _ => {}
        }
    }

    /// `tcp_event_data_recv`: the delayed-ACK timeout estimate follows the gaps between
    /// arriving segments; the first data (and any gap longer than an RTO) starts quick-ACK
    /// mode.
    ///
    /// `gso_size` is the segment size of a GSO super-segment (0 for a plain one): the peer's
    /// MSS is measured from it, not from the super-segment's length.
    pub(crate) fn tcp_event_data_recv(&mut self, sk: &mut TcpSock, len: usize, gso_size: u16) {
        let now = self.now;
        // tcp_measure_rcv_mss: `len = skb_shinfo(skb)->gso_size ? : skb->len`.
        let mss_len = if gso_size != 0 {
            u32::from(gso_size)
        } else {
            len as u32
        };
        if mss_len > sk.ack.rcv_mss {
            sk.ack.rcv_mss = mss_len.min(sk.advmss);
        }
        self.tcp_rcv_rtt_measure(sk);
        self.tcp_grow_window(sk, len);
        if sk.ack.ato.is_zero() {
            self.tcp_incr_quickack(sk, MAX_QUICKACKS);
            sk.ack.ato = ATO_MIN;
        } else {
            let m = now.saturating_since(sk.ack.lrcvtime);
            let rto = sk.rtt.backed_off(sk.backoff);
            if m <= ATO_MIN / 2 {
                sk.ack.ato = sk.ack.ato / 2 + ATO_MIN / 2;
            } else if m < sk.ack.ato {
                sk.ack.ato = (sk.ack.ato / 2 + m).min(rto);
            } else if m > rto {
                self.tcp_incr_quickack(sk, MAX_QUICKACKS);
            }
        }
        sk.ack.lrcvtime = now;
    }

    /// `tcp_incr_quickack`: up to `max` quick ACKs, about half a window of segments.
    pub(crate) fn tcp_incr_quickack(&mut self, sk: &mut TcpSock, max: u32) {
        let mss = sk.ack.rcv_mss.max(1);
        let mut q = sk.rcv_wnd / (2 * mss);
        if q == 0 {
            q = 2;
        }
        let q = q.min(max);
        if q > sk.ack.quick {
            sk.ack.quick = q;
        }
    }

    /// `tcp_enter_quickack_mode`.
    pub(crate) fn tcp_enter_quickack_mode(&mut self, sk: &mut TcpSock) {
        self.tcp_incr_quickack(sk, MAX_QUICKACKS);
        sk.ack.pingpong = false;
        sk.ack.ato = ATO_MIN;
    }

    /// `tcp_send_delayed_ack`.
    pub(crate) fn tcp_send_delayed_ack(&mut self, sk: &mut TcpSock) {
        let now = self.now;
        let mut ato = sk.ack.ato.max(ATO_MIN);
        if ato > ATO_MIN {
            let mut max_ato = Duration::from_millis(500);
            if sk.ack.pingpong {
                max_ato = DELACK_MAX;
            }
            if let Some(srtt) = sk.rtt.srtt {
                let rtt = srtt.max(ATO_MIN);
                if rtt < max_ato {
                    max_ato = rtt;
                }
            }
            ato = ato.min(max_ato);
        }
        ato = ato.min(DELACK_MAX);
        let mut at = now + ato;
        if let Some(old) = sk.timer(TimerKind::DelAck) {
            // If the delayed ACK is about to go anyway, send it now.
            if old <= now + ato / 4 {
                self.tcp_send_ack(sk);
                return;
            }
            if old < at {
                at = old;
            }
        }
        sk.ack.pending = true;
        sk.set_timer(TimerKind::DelAck, at);
    }

    /// The TIME-WAIT length in use.
    pub(crate) fn tcp_timewait_len(&self) -> Duration {
        self.cfg.tcp_timewait_len
    }

    /// `tcp_fin_time`: `TCP_LINGER2` or `tcp_fin_timeout`, never shorter than 3.5 RTO.
    pub(crate) fn tcp_fin_time(&self, sk: &TcpSock) -> Duration {
        let rto = sk.rtt.backed_off(0);
        let fin_timeout = match sk.opts.linger2 {
            n if n > 0 => Duration::from_secs(n as u64),
            _ => self.cfg.tcp_fin_timeout,
        };
        fin_timeout.max(rto * 7 / 2)
    }

    /// `keepalive_time_when`.
    pub(crate) fn tcp_keepalive_time(&self, sk: &TcpSock) -> Duration {
        match sk.opts.keepidle {
            0 => self.cfg.tcp_keepalive_time,
            n => Duration::from_secs(u64::from(n)),
        }
    }

    /// `keepalive_intvl_when`.
    fn tcp_keepalive_intvl(&self, sk: &TcpSock) -> Duration {
        match sk.opts.keepintvl {
            0 => self.cfg.tcp_keepalive_intvl,
            n => Duration::from_secs(u64::from(n)),
        }
    }

    /// `keepalive_probes`.
    fn tcp_keepalive_probes(&self, sk: &TcpSock) -> u32 {
        match sk.opts.keepcnt {
            0 => u32::from(self.cfg.tcp_keepalive_probes),
            n => n,
        }
    }

    /// `keepalive_time_elapsed`: time since the peer was last heard from (data or ACK).
    pub(crate) fn tcp_keepalive_elapsed(&self, sk: &TcpSock) -> Duration {
        let last = sk.ack.lrcvtime.max(sk.rcv_tstamp);
        self.now.saturating_since(last)
    }

    /// `tcp_keepalive_timer`: after `TCP_KEEPIDLE` of silence with nothing in flight, probe
    /// every `TCP_KEEPINTVL` with an ACK one byte before `snd_una` (`tcp_xmit_probe_skb`);
    /// after `TCP_KEEPCNT` unanswered probes (or, with `TCP_USER_TIMEOUT`, once the silence
    /// exceeds it and a probe went out), reset the connection and report ETIMEDOUT (or the
    /// soft error). The peer's ACKs set `probes_out` back to 0.
    fn tcp_keepalive_timer(&mut self, sk: &mut TcpSock) {
        if !sk.opts.keepalive
            || !sk.state.is_synchronized()
            || sk.state == TcpState::TimeWait
            || (sk.orphan && sk.state == TcpState::FinWait2)
        {
            return;
        }
        let now = self.now;
        let when = self.tcp_keepalive_time(sk);
        // Data in flight or queued: the retransmission and probe timers watch the peer.
        if sk.snd_una != sk.snd_nxt || self.tcp_has_unsent(sk) {
            sk.set_timer(TimerKind::Keepalive, now + when);
            return;
        }
        let elapsed = self.tcp_keepalive_elapsed(sk);
        let next = if elapsed >= when {
            let user_timeout = sk.opts.user_timeout;
            let expired = if user_timeout != 0 {
                elapsed >= Duration::from_millis(u64::from(user_timeout)) && sk.probes_out > 0
            } else {
                sk.probes_out >= self.tcp_keepalive_probes(sk)
            };
            if expired {
                self.tcp_send_active_reset(sk);
                self.stats.tcp_ext.tcp_abort_on_timeout += 1;
                self.tcp_write_err(sk);
                return;
            }
            // tcp_write_wakeup with nothing to send: tcp_xmit_probe_skb.
            let seq = sk.snd_una - 1;
            self.tcp_transmit(sk, seq, super::output::SegFlags::ACK, 0, 0, false);
            self.stats.tcp_ext.tcp_keep_alive += 1;
            sk.probes_out += 1;
            self.tcp_keepalive_intvl(sk)
        } else {
            when - elapsed
        };
        sk.set_timer(TimerKind::Keepalive, now + next);
    }

    /// An orphan reached FIN-WAIT-2: it waits at most `tcp_fin_timeout` for the peer's FIN.
    pub(crate) fn tcp_orphan_fin_wait2(&mut self, sk: &mut TcpSock) {
        let tmo = self.tcp_fin_time(sk);
        sk.clear_timer(TimerKind::Rtx);
        sk.set_timer(TimerKind::Wait, self.now + tmo);
    }

    /// `tcp_time_wait`: the connection enters TIME-WAIT for `TCP_TIMEWAIT_LEN`. An orphan
    /// becomes the TIME-WAIT socket itself; a socket the application still holds goes to
    /// CLOSE and a small TIME-WAIT socket takes over its 4-tuple and port.
    pub(crate) fn tcp_time_wait(&mut self, sk: &mut TcpSock) {
        let len = self.tcp_timewait_len();
        let now = self.now;
        if !self.tcp_tw_alloc_ok() {
            // "Sorry, if we're out of memory, just CLOSE this socket up."
            self.tcp_done(sk);
            return;
        }
        sk.tw_entry_stamp = now;
        if sk.orphan {
            self.tcp_set_state(sk, TcpState::TimeWait);
            sk.deadlines = [None; super::NTIMERS];
            sk.ack = Default::default();
            sk.free_buffers(true);
            sk.set_timer(TimerKind::Wait, now + len);
            return;
        }
        let Ok(mut tw) = self.tcp.alloc(&self.cfg) else {
            self.tcp_done(sk);
            return;
        };
        tw.local = sk.local;
        tw.remote = sk.remote;
        tw.orphan = true;
        tw.done = true;
        tw.shutdown = super::RCV_SHUTDOWN | super::SEND_SHUTDOWN;
        tw.iss = sk.iss;
        tw.irs = sk.irs;
        tw.snd_una = sk.snd_una;
        tw.snd_nxt = sk.snd_nxt;
        tw.sbuf_seq = sk.snd_nxt;
        tw.snd_wnd = sk.snd_wnd;
        tw.snd_wscale = sk.snd_wscale;
        tw.rcv_nxt = sk.rcv_nxt;
        tw.rcv_wup = sk.rcv_wup;
        tw.rcv_wnd = sk.rcv_wnd;
        tw.rcv_wscale = sk.rcv_wscale;
        tw.window_clamp = sk.window_clamp;
        tw.rcv_ssthresh = sk.rcv_ssthresh;
        tw.ts_ok = sk.ts_ok;
        tw.ts_recent = sk.ts_recent;
        tw.ts_recent_stamp = sk.ts_recent_stamp;
        tw.ts_offset = sk.ts_offset;
        tw.wscale_ok = sk.wscale_ok;
        tw.advmss = sk.advmss;
        tw.mss = sk.mss;
        tw.inet_id = sk.inet_id;
        tw.reuseaddr = sk.reuseaddr;
        tw.tw_entry_stamp = now;
        self.tcp_set_state(&mut tw, TcpState::TimeWait);
        tw.set_timer(TimerKind::Wait, now + len);
        // The TIME-WAIT socket takes the 4-tuple and holds the port.
        self.tcp_set_state(sk, TcpState::Close);
        sk.shutdown = super::RCV_SHUTDOWN | super::SEND_SHUTDOWN;
        sk.deadlines = [None; super::NTIMERS];
        sk.free_buffers(false);
        self.tcp.ehash.insert(tw.tuple(), tw.id.0);
        tw.ehashed = true;
        self.tcp_bhash_add(&mut tw);
        self.tcp_put(tw);
    }
}

/// Milliseconds for a TSval clock reading.
pub(crate) fn ts_now(now: Instant) -> u32 {
    millis(Duration::from_nanos(now.as_nanos())) as u32
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `tcp_model_timeout` with tcp_syn_retries = 6 from 1 s: 127 s; with tcp_retries2 = 15
    /// from 200 ms: 924.6 s (the figures ip-sysctl.rst gives).
    #[test]
    fn model_timeout_matches_linux_figures() {
        let max = Duration::from_secs(120);
        assert_eq!(
            model_timeout(6, Duration::from_secs(1), max),
            Duration::from_secs(127)
        );
        assert_eq!(
            model_timeout(15, Duration::from_millis(200), max),
            Duration::from_millis(924_600)
        );
    }

    /// RFC 6298 §2.2-2.3 with Linux's floor on the variance term: a 10 ms path gives an RTO
    /// of 210 ms; the first sample sets RTTVAR to R/2.
    #[test]
    fn rto_from_samples_respects_linux_floor() {
        let mut e = RttEstimator::new(&StackConfig::default());
        assert_eq!(e.rto, Duration::from_secs(1));
        e.sample(Duration::from_millis(10));
        assert_eq!(e.rttvar, Duration::from_millis(5));
        assert_eq!(e.rto, Duration::from_millis(210));
        // A long path: 4 * RTTVAR dominates.
        e.sample(Duration::from_millis(410));
        assert_eq!(e.srtt, Some(Duration::from_millis(60)));
        assert!(e.rto > Duration::from_millis(400));
        // Backoff doubles and caps at 120 s.
        assert_eq!(e.backed_off(20), Duration::from_secs(120));
    }
}

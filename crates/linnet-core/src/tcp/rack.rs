//! RACK-TLP: time-based loss detection and tail loss probes.
//!
//! Linux: net/ipv4/tcp_recovery.c (`tcp_rack_sent_after`, `tcp_rack_reo_wnd`,
//! `tcp_rack_skb_timeout`, `tcp_rack_detect_loss`, `tcp_rack_mark_lost`,
//! `tcp_rack_advance`, `tcp_rack_reo_timeout`, `tcp_rack_update_reo_wnd`),
//! net/ipv4/tcp_output.c (`tcp_schedule_loss_probe`, `tcp_send_loss_probe`,
//! `tcp_rearm_rto`), net/ipv4/tcp_input.c (`tcp_process_tlp_ack`, `tcp_set_xmit_timer`).
//! RFCs: RFC 8985 (RACK-TLP).
//!
//! A segment is lost when a segment sent after it has been delivered and more than the
//! RACK RTT plus the reordering window has passed since it was sent. The reordering window
//! is min_rtt/4 times `reo_wnd_steps` (grown by D-SACKs that show a recovery was spurious),
//! at most SRTT, and zero while no reordering has been seen and the duplicate-ACK threshold
//! is met or recovery is under way (Linux's default `tcp_recovery = 1`).
//!
//! The loss scan walks the time-sorted list of the records not yet SACKed (Linux's
//! `tsorted_sent_queue`, `TsList` in sack.rs) and stops at the first one sent after the
//! RACK segment, as Linux does.

use core::time::Duration;

use linnet_wire::tcp::SeqNumber;

use crate::stack::Stack;
use crate::time::Instant;

use super::sack::{
    flag, Scoreboard, TCPCB_LOST, TCPCB_RETRANS, TCPCB_SACKED_ACKED, TCPCB_SACKED_RETRANS, TS_NIL,
};
use super::timer::TIMEOUT_INIT;
use super::{CaState, RtxKind, TcpSock, TimerKind};

/// `TCP_RACK_RECOVERY_THRESH`: recoveries a grown reordering window persists for.
const TCP_RACK_RECOVERY_THRESH: u32 = 16;
/// `TCP_TIMEOUT_MIN`: added to the reordering timer and to the probe timeout (2 jiffies at
/// HZ=1000).
const TCP_TIMEOUT_MIN: Duration = Duration::from_millis(2);

/// RACK state (`tp->rack`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rack {
    /// Send time of the most recently sent segment delivered (`mstamp`).
    pub(crate) mstamp: Option<Instant>,
    /// Its end sequence (`end_seq`).
    pub(crate) end_seq: SeqNumber,
    /// Its RTT (`rtt_us`).
    pub(crate) rtt: Duration,
    /// `reo_wnd_steps`: the reordering window in units of min_rtt/4.
    pub(crate) reo_wnd_steps: u32,
    /// `reo_wnd_persist`: recoveries left before the window goes back to one step.
    pub(crate) reo_wnd_persist: u32,
    /// `dsack_seen`: a D-SACK arrived since the last adjustment.
    pub(crate) dsack_seen: bool,
    /// `advanced`: new delivery information since the last scan.
    pub(crate) advanced: bool,
    /// `last_delivered`: `delivered` when the window was last grown.
    pub(crate) last_delivered: u32,
}

impl Default for Rack {
    fn default() -> Self {
        Rack {
            mstamp: None,
            end_seq: SeqNumber(0),
            rtt: Duration::ZERO,
            reo_wnd_steps: 1,
            reo_wnd_persist: 0,
            dsack_seen: false,
            advanced: false,
            last_delivered: 0,
        }
    }
}

/// `tcp_rack_sent_after`: `(t1, seq1)` was sent after `(t2, seq2)`.
fn sent_after(t1: Instant, t2: Instant, seq1: SeqNumber, seq2: SeqNumber) -> bool {
    t1 > t2 || (t1 == t2 && seq1.after(seq2))
}

impl Scoreboard {
    /// `tcp_rack_advance`: a segment sent at `xmit` and ending at `end` was (S)ACKed now.
    pub(crate) fn rack_advance(&mut self, sacked: u8, end: SeqNumber, xmit: Instant, now: Instant) {
        let rtt = now.saturating_since(xmit);
        if sacked & TCPCB_RETRANS != 0 {
            // Which transmission was delivered is ambiguous: trust it only if it took at
            // least min_rtt (the original cannot be that late).
            match self.min_rtt() {
                Some(m) if rtt >= m => {}
                _ => return,
            }
        }
        self.rack.advanced = true;
        self.rack.rtt = rtt;
        let newer = match self.rack.mstamp {
            None => true,
            Some(t) => sent_after(xmit, t, end, self.rack.end_seq),
        };
        if newer {
            self.rack.mstamp = Some(xmit);
            self.rack.end_seq = end;
        }
    }

    /// `tcp_rack_reo_wnd`.
    pub(crate) fn rack_reo_wnd(&self, ca_state: CaState, srtt: Option<Duration>) -> Duration {
        if self.reord_seen == 0 {
            // No reordering seen: be aggressive in recovery, or once the duplicate-ACK
            // threshold is met.
            if matches!(ca_state, CaState::Recovery | CaState::Loss) {
                return Duration::ZERO;
            }
            if self.sacked_out.pkts >= self.reordering {
                return Duration::ZERO;
            }
        }
        let srtt = srtt.unwrap_or(Duration::ZERO);
        match self.min_rtt() {
            Some(m) => (m / 4).saturating_mul(self.rack.reo_wnd_steps).min(srtt),
            None => srtt,
        }
    }

    /// `tcp_rack_detect_loss`: marks lost what the RACK rule says is lost. Returns the
    /// longest wait left for a segment not yet lost (the reordering timer), and how many
    /// retransmissions were found lost again.
    ///
    /// It walks the time-sorted list from the oldest transmission and stops at the first
    /// one not sent before the RACK segment; what it marks lost leaves the list (and comes
    /// back at its tail when retransmitted), so an ACK visits only what can be due.
    pub(crate) fn rack_detect_loss(&mut self, reo_wnd: Duration, now: Instant) -> (Duration, u32) {
        let mut reo_timeout = Duration::ZERO;
        let mut lost_retrans = 0;
        let Some(rack_t) = self.rack.mstamp else {
            return (reo_timeout, 0);
        };
        let rack_end = self.rack.end_seq;
        let wait = self.rack.rtt + reo_wnd;
        let mut id = self.tsorted.first();
        while id != TS_NIL {
            let next = self.tsorted.next(id);
            self.visited += 1;
            let Some(i) = self.tsorted.seq(id).and_then(|seq| self.find(seq)) else {
                // Cannot happen (a record leaves the list when it leaves the queue);
                // drop the node rather than loop on it.
                self.tsorted.remove(id);
                id = next;
                continue;
            };
            let e = self.q[i];
            if e.sacked & TCPCB_SACKED_ACKED != 0 {
                self.ts_unlink(i);
                id = next;
                continue;
            }
            // Marked lost and not yet retransmitted: nothing new to learn.
            if e.sacked & TCPCB_LOST != 0 && e.sacked & TCPCB_SACKED_RETRANS == 0 {
                id = next;
                continue;
            }
            if !sent_after(rack_t, e.mstamp, rack_end, e.end) {
                break;
            }
            let elapsed = now.saturating_since(e.mstamp);
            if elapsed >= wait {
                if self.mark_lost(i) {
                    lost_retrans += 1;
                }
                self.ts_unlink(i);
            } else {
                reo_timeout = reo_timeout.max(wait - elapsed);
            }
            id = next;
        }
        (reo_timeout, lost_retrans)
    }

    /// `tcp_rack_update_reo_wnd`: D-SACKs grow the reordering window one step per round
    /// trip; it persists for `TCP_RACK_RECOVERY_THRESH` recoveries. `prior_delivered` is
    /// the rate sample's (`rs->prior_delivered`): none when the ACK delivered nothing.
    pub(crate) fn rack_update_reo_wnd(&mut self, prior_delivered: Option<u32>) {
        let Some(prior_delivered) = prior_delivered.filter(|p| *p != 0) else {
            return;
        };
        // before(): the delivered count is free-running and wraps.
        if (prior_delivered.wrapping_sub(self.rack.last_delivered) as i32) < 0 {
            // Less than a round trip since the last adjustment.
            self.rack.dsack_seen = false;
        }
        if self.rack.dsack_seen {
            self.rack.reo_wnd_steps = (self.rack.reo_wnd_steps + 1).min(0xff);
            self.rack.dsack_seen = false;
            self.rack.last_delivered = self.delivered;
            self.rack.reo_wnd_persist = TCP_RACK_RECOVERY_THRESH;
        } else if self.rack.reo_wnd_persist == 0 {
            self.rack.reo_wnd_steps = 1;
        }
    }
}

impl Stack {
    /// `tcp_rack_mark_lost`: runs the RACK scan if new deliveries came in; arms the
    /// reordering timer for segments still inside the window. Returns whether it did.
    pub(crate) fn tcp_rack_mark_lost(&mut self, sk: &mut TcpSock) -> bool {
        if !sk.sb.rack.advanced {
            return false;
        }
        sk.sb.rack.advanced = false;
        self.tcp_rack_detect_loss(sk)
    }

    /// The scan itself, with the counters and the reordering timer.
    fn tcp_rack_detect_loss(&mut self, sk: &mut TcpSock) -> bool {
        let now = self.now;
        let reo_wnd = sk.sb.rack_reo_wnd(sk.ca_state, sk.rtt.srtt);
        let (timeout, lost_retrans) = sk.sb.rack_detect_loss(reo_wnd, now);
        self.stats.tcp_ext.tcp_lost_retransmit += u64::from(lost_retrans);
        if timeout.is_zero() {
            return false;
        }
        // inet_csk_reset_xmit_timer(ICSK_TIME_REO_TIMEOUT, timeout + TCP_TIMEOUT_MIN).
        sk.rtx_kind = RtxKind::ReoTimeout;
        sk.set_timer(TimerKind::Rtx, now + timeout + TCP_TIMEOUT_MIN);
        true
    }

    /// `tcp_rack_reo_timeout`: the reordering window of a segment ran out.
    pub(crate) fn tcp_rack_reo_timeout(&mut self, sk: &mut TcpSock) {
        let prior_inflight = sk.sb.packets_in_flight();
        let lost_before = sk.sb.lost;
        // The scan alone: what is still inside its window waits for the RTO now.
        let reo_wnd = sk.sb.rack_reo_wnd(sk.ca_state, sk.rtt.srtt);
        let (_, lost_retrans) = sk.sb.rack_detect_loss(reo_wnd, self.now);
        self.stats.tcp_ext.tcp_lost_retransmit += u64::from(lost_retrans);
        if prior_inflight != sk.sb.packets_in_flight() {
            if sk.ca_state != CaState::Recovery {
                self.tcp_enter_recovery(sk);
                let newly_lost = sk.sb.lost - lost_before;
                self.tcp_cwnd_reduction(sk, 1, newly_lost, 0);
            }
            self.tcp_xmit_retransmit_queue(sk);
        }
        if sk.rtx_kind != RtxKind::Retrans || sk.timer(TimerKind::Rtx).is_none() {
            self.tcp_rearm_rto(sk);
        }
    }

    /// `tcp_rto_delta_us`: how far in the future the RTO of the oldest outstanding segment
    /// is (negative: overdue).
    fn tcp_rto_delta(&self, sk: &TcpSock) -> Option<Duration> {
        let rto = sk.rtt.backed_off(sk.backoff);
        let head = sk.sb.q.front()?;
        let due = head.mstamp + rto;
        Some(due.saturating_since(self.now))
    }

    /// `tcp_rearm_rto`: the retransmission timer for what is outstanding, taking off the
    /// time already spent when a probe or reordering timer held its place.
    pub(crate) fn tcp_rearm_rto(&mut self, sk: &mut TcpSock) {
        if sk.snd_una == sk.snd_nxt {
            if sk.rtx_kind != RtxKind::Probe {
                sk.clear_timer(TimerKind::Rtx);
            }
            return;
        }
        if matches!(sk.rtx_kind, RtxKind::ReoTimeout | RtxKind::LossProbe) {
            let d = self
                .tcp_rto_delta(sk)
                .unwrap_or(Duration::ZERO)
                .max(Duration::from_micros(1));
            self.tcp_arm_rto_in(sk, d);
        } else {
            self.tcp_arm_rto(sk);
        }
    }

    /// `tcp_set_xmit_timer`: a loss probe if one is due, else the RTO.
    pub(crate) fn tcp_set_xmit_timer(&mut self, sk: &mut TcpSock) {
        if !self.tcp_schedule_loss_probe(sk, true) {
            self.tcp_rearm_rto(sk);
        }
    }

    /// `tcp_schedule_loss_probe` (RFC 8985 §7.2 as Linux does it): on a SACK connection in
    /// Open or CWR with data out, probe after PTO = 2·SRTT plus `TCP_TIMEOUT_MIN` (2 ms),
    /// or plus the minimum RTO when one segment is in flight (the peer may be delaying its
    /// ACK); `TCP_TIMEOUT_INIT` (1 s) without an RTT sample; never later than the RTO.
    /// (RFC 8985 itself adds the worst-case delayed ACK and has a 10 ms floor; current
    /// Linux does as here.)
    pub(crate) fn tcp_schedule_loss_probe(
        &mut self,
        sk: &mut TcpSock,
        advancing_rto: bool,
    ) -> bool {
        if !matches!(self.cfg.tcp_early_retrans, 3 | 4)
            || sk.sb.packets_out.pkts == 0
            || !sk.sack_ok
            || !matches!(sk.ca_state, CaState::Open | CaState::Cwr)
        {
            return false;
        }
        let mut timeout = match sk.rtt.srtt {
            Some(srtt) => {
                if sk.sb.packets_out.pkts == 1 {
                    srtt * 2 + sk.rtt.rto_min()
                } else {
                    srtt * 2 + TCP_TIMEOUT_MIN
                }
            }
            None => TIMEOUT_INIT,
        };
        let rto_delta = if advancing_rto {
            Some(sk.rtt.backed_off(sk.backoff))
        } else {
            self.tcp_rto_delta(sk)
        };
        if let Some(d) = rto_delta {
            if !d.is_zero() {
                timeout = timeout.min(d);
            }
        }
        sk.rtx_kind = RtxKind::LossProbe;
        sk.set_timer(TimerKind::Rtx, self.now + timeout);
        true
    }

    /// `tcp_send_loss_probe`: new data if the window allows, else the last segment again;
    /// one probe per tail-loss episode (TCPLossProbes).
    pub(crate) fn tcp_send_loss_probe(&mut self, sk: &mut TcpSock) {
        sk.rtx_kind = RtxKind::Retrans;
        if sk.sb.tlp_high_seq.is_some() {
            self.tcp_arm_rto_from_head(sk);
            return;
        }
        sk.sb.tlp_retrans = false;
        let before = sk.sb.packets_out.pkts;
        let mut sent = false;
        // New data if the next segment fits the peer's window (tcp_snd_wnd_test).
        let unsent = sk.data_end().diff(sk.snd_nxt).max(0) as usize;
        let next = unsent.min(sk.mss as usize);
        let wnd_end = sk.snd_una + sk.snd_wnd as usize;
        if self.tcp_has_unsent(sk) && !(sk.snd_nxt + next).after(wnd_end) {
            self.tcp_write_xmit_one(sk);
            sent = sk.sb.packets_out.pkts > before;
            if !sent {
                self.tcp_arm_rto_from_head(sk);
                return;
            }
        }
        if !sent {
            let Some(last) = sk.sb.q.len().checked_sub(1) else {
                return;
            };
            if !self.tcp_retransmit_skb_raw(sk, last) {
                self.tcp_arm_rto_from_head(sk);
                return;
            }
            sk.sb.tlp_retrans = true;
        }
        sk.sb.tlp_high_seq = Some(sk.snd_nxt);
        self.stats.tcp_ext.tcp_loss_probes += 1;
        // icsk_pending = 0: the RTO restarts from now.
        self.tcp_arm_rto(sk);
    }

    /// `tcp_rearm_rto` after a probe that could not go: the RTO of the head.
    fn tcp_arm_rto_from_head(&mut self, sk: &mut TcpSock) {
        let d = self
            .tcp_rto_delta(sk)
            .unwrap_or(Duration::ZERO)
            .max(Duration::from_micros(1));
        self.tcp_arm_rto_in(sk, d);
    }

    /// `tcp_process_tlp_ack`: did the probe repair a loss? An ACK beyond the probe's
    /// snd_nxt after a retransmitted probe means one segment was lost: reduce the window
    /// once (CWR, then Open) and count TCPLossProbeRecovery. A D-SACK of the probe or a
    /// pure duplicate ACK means nothing was lost.
    pub(crate) fn tcp_process_tlp_ack(&mut self, sk: &mut TcpSock, ack: SeqNumber, fl: u32) {
        let Some(high) = sk.sb.tlp_high_seq else {
            return;
        };
        if ack.before(high) {
            return;
        }
        if !sk.sb.tlp_retrans || fl & flag::DSACK_TLP != 0 {
            sk.sb.tlp_high_seq = None;
        } else if ack.after(high) {
            // tcp_init_cwnd_reduction + TCP_CA_CWR + tcp_end_cwnd_reduction.
            self.tcp_init_cwnd_reduction(sk);
            sk.win.cwnd = sk.win.ssthresh.max(sk.mss);
            self.tcp_try_keep_open(sk);
            self.stats.tcp_ext.tcp_loss_probe_recovery += 1;
        } else if fl & (flag::SND_UNA_ADVANCED | flag::NOT_DUP | flag::DATA_SACKED) == 0 {
            sk.sb.tlp_high_seq = None;
        }
    }
}

//! Loss recovery: what an ACK takes off the retransmission queue, the congestion state
//! machine (`tcp_fastretrans_alert`), Proportional Rate Reduction, the retransmission of
//! lost segments, the RTO's Loss state with F-RTO, and the undo of spurious reductions.
//!
//! Linux: net/ipv4/tcp_input.c (`tcp_clean_rtx_queue`, `tcp_ack_update_rtt`,
//! `tcp_fastretrans_alert`, `tcp_ack_is_dubious`, `tcp_check_sack_reneging`,
//! `tcp_identify_packet_loss`, `tcp_newreno_mark_lost`, `tcp_time_to_recover`,
//! `tcp_enter_recovery`, `tcp_init_cwnd_reduction`, `tcp_cwnd_reduction`,
//! `tcp_end_cwnd_reduction`, `tcp_cong_control`, `tcp_may_raise_cwnd`,
//! `tcp_try_undo_recovery`, `tcp_try_undo_partial`, `tcp_try_undo_dsack`,
//! `tcp_try_undo_loss`, `tcp_undo_cwnd_reduction`, `tcp_may_undo`, `tcp_packet_delayed`,
//! `tcp_init_undo`, `tcp_try_to_open`, `tcp_try_keep_open`, `tcp_process_loss`,
//! `tcp_enter_loss`, `tcp_timeout_mark_lost`, `tcp_xmit_recovery`), net/ipv4/tcp_output.c
//! (`tcp_xmit_retransmit_queue` with `retransmit_skb_hint`, `tcp_retransmit_skb`,
//! `__tcp_retransmit_skb`).
//! RFCs: RFC 6675 (SACK-based recovery), RFC 6937 (PRR), RFC 6582 (NewReno, for peers
//! without SACK), RFC 5682 (F-RTO), RFC 3522 (Eifel detection), RFC 2883 §5 (D-SACK undo),
//! RFC 6298 (Karn's rule on RTT samples).

use core::time::Duration;

use linnet_wire::tcp::SeqNumber;

use crate::stack::Stack;

use super::cong::CongestionOps;
use super::output::SegFlags;
use super::sack::{
    flag, SackState, TCPCB_EVER_RETRANS, TCPCB_LOST, TCPCB_RETRANS, TCPCB_SACKED_ACKED,
    TCPCB_SACKED_RETRANS, TCP_REORDERING,
};
use super::timer::ts_now;
use super::{CaState, TcpSock};

/// What the ACK asks to be sent (`REXMIT_NONE`, `REXMIT_LOST`, `REXMIT_NEW`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Rexmit {
    None,
    Lost,
    New,
}

impl Stack {
    /// `tcp_clean_rtx_queue`: removes what `ack` covers from the scoreboard, takes the RTT
    /// sample (never from retransmitted data: Karn), advances RACK, and raises the flags.
    pub(crate) fn tcp_clean_rtx_queue(
        &mut self,
        sk: &mut TcpSock,
        prior_fack: SeqNumber,
        st: &SackState,
        tsecr: Option<u32>,
    ) -> u32 {
        let now = self.now;
        let una = sk.snd_una;
        let sack = sk.sack_ok;
        let mut fl = 0u32;
        let mut first_ackt = None;
        let mut last_ackt = None;
        let mut reord: Option<SeqNumber> = None;
        let mut pkts_acked = 0u32;
        let mut acked_bytes = 0u32;
        let mut delivered = 0u32;
        while let Some(e) = sk.sb.q.front().copied() {
            let len = e.len();
            if e.end.after(una) {
                // Partly acknowledged (tcp_tso_acked / tcp_trim_head): trim the head.
                if !una.after(e.seq) {
                    break;
                }
                let cut = una.diff(e.seq) as u32;
                let b = &mut sk.sb;
                b.packets_out.bytes = b.packets_out.bytes.saturating_sub(cut);
                if e.sacked & TCPCB_SACKED_ACKED != 0 {
                    b.sacked_out.bytes = b.sacked_out.bytes.saturating_sub(cut);
                }
                if e.sacked & TCPCB_LOST != 0 {
                    b.lost_out.bytes = b.lost_out.bytes.saturating_sub(cut);
                }
                if e.sacked & TCPCB_SACKED_RETRANS != 0 {
                    b.retrans_out.bytes = b.retrans_out.bytes.saturating_sub(cut);
                }
                if let Some(h) = b.q.front_mut() {
                    h.seq = una;
                    let ts = h.ts;
                    b.tsorted.set_seq(ts, una);
                }
                if e.sacked & TCPCB_SACKED_ACKED == 0 {
                    b.delivered_bytes += u64::from(cut);
                }
                fl |= flag::DATA_ACKED;
                break;
            }
            if e.sacked & TCPCB_RETRANS != 0 {
                if e.sacked & TCPCB_SACKED_RETRANS != 0 {
                    sk.sb.retrans_out.sub(len);
                }
                fl |= flag::RETRANS_DATA_ACKED;
            } else if e.sacked & TCPCB_SACKED_ACKED == 0 {
                last_ackt = Some(e.mstamp);
                if first_ackt.is_none() {
                    first_ackt = Some(e.mstamp);
                }
                if reord.is_none() {
                    reord = Some(e.seq);
                }
                if !e.end.after(sk.high_seq) {
                    fl |= flag::ORIG_SACK_ACKED;
                }
            }
            if e.sacked & TCPCB_SACKED_ACKED != 0 {
                if sack {
                    sk.sb.sacked_out.sub(len);
                }
            } else if sack {
                delivered += 1;
                sk.sb.rate_delivered(e.tx_delivered);
                sk.sb.delivered_bytes += u64::from(len);
                // tcp_skb_spurious_retrans: a retransmission acked before the original
                // could have been (per the echoed timestamp) says nothing about RACK.
                let spurious = e.sacked & TCPCB_RETRANS != 0
                    && tsecr.is_some_and(|ecr| {
                        let sent = ts_now(e.mstamp).wrapping_add(sk.ts_offset);
                        (ecr.wrapping_sub(sent) as i32) < 0
                    });
                if !spurious {
                    sk.sb.rack_advance(e.sacked, e.end, e.mstamp, now);
                }
            }
            if e.sacked & TCPCB_LOST != 0 {
                sk.sb.lost_out.sub(len);
            }
            sk.sb.packets_out.sub(len);
            pkts_acked += 1;
            acked_bytes += len;
            fl |= flag::DATA_ACKED;
            sk.sb.ts_unlink(0);
            sk.sb.q.pop_front();
        }
        if sk.sb.q.is_empty() && sk.sb.q.capacity() > 1024 {
            // Give back a large queue once it drains.
            sk.sb.q = alloc::collections::VecDeque::new();
        }
        if sk
            .sb
            .q
            .front()
            .is_some_and(|h| h.sacked & TCPCB_SACKED_ACKED != 0)
        {
            fl |= flag::SACK_RENEGING;
        }
        // tcp_ack_update_rtt: the ACK's timing, else the SACK's, else the timestamp echo.
        let mut seq_rtt = None;
        let mut ca_rtt = None;
        if let (Some(f), false) = (first_ackt, fl & flag::RETRANS_DATA_ACKED != 0) {
            seq_rtt = Some(now.saturating_since(f));
            ca_rtt = last_ackt.map(|l| now.saturating_since(l));
        }
        if seq_rtt.is_none() {
            if let Some(t) = st.first_sackt {
                seq_rtt = Some(now.saturating_since(t));
                ca_rtt = seq_rtt;
            }
        }
        if seq_rtt.is_none() && fl & flag::ACKED != 0 {
            if let (true, Some(ecr)) = (sk.ts_ok, tsecr) {
                let nowts = ts_now(now).wrapping_add(sk.ts_offset);
                let ms = nowts.wrapping_sub(ecr);
                if (ms as i32) >= 0 && ms < 600_000 {
                    seq_rtt = Some(Duration::from_millis(u64::from(ms)));
                    ca_rtt = seq_rtt;
                }
            }
        }
        if let Some(r) = seq_rtt {
            if let Some(c) = ca_rtt {
                sk.sb.update_rtt_min(c, now);
            }
            sk.rtt.sample(r);
        }
        if fl & flag::ACKED != 0 {
            fl |= flag::SET_XMIT_TIMER;
            if !sack {
                let mss = sk.mss;
                let prior = sk.sb.delivered;
                let dup_bytes = sk.sb.sacked_out.bytes;
                sk.sb.remove_reno_sacks(pkts_acked, mss);
                sk.sb.delivered_bytes += u64::from(
                    acked_bytes
                        .saturating_sub(dup_bytes)
                        .max(mss.min(acked_bytes)),
                );
                delivered = sk.sb.delivered - prior;
                sk.sb.delivered = prior;
                if fl & flag::RETRANS_DATA_ACKED != 0 {
                    fl &= !flag::ORIG_SACK_ACKED;
                }
            } else if let Some(r) = reord {
                // A never-retransmitted hole filled below the highest SACK: reordering.
                if r.before(prior_fack)
                    && sk.sb.sacked_out.pkts + 1 > 0
                    && sk.sb.check_sack_reordering(r, prior_fack, sk.mss)
                {
                    self.stats.tcp_ext.tcp_sack_reorder += 1;
                }
            }
        }
        sk.sb.delivered = sk.sb.delivered.wrapping_add(delivered);
        fl
    }

    /// `tcp_ack_is_dubious`.
    pub(crate) fn tcp_ack_is_dubious(sk: &TcpSock, fl: u32) -> bool {
        fl & flag::NOT_DUP == 0 || fl & flag::CA_ALERT != 0 || sk.ca_state != CaState::Open
    }

    /// `tcp_fastretrans_alert`: the congestion state machine, run on dubious ACKs.
    pub(crate) fn tcp_fastretrans_alert(
        &mut self,
        sk: &mut TcpSock,
        prior_una: SeqNumber,
        num_dupack: u32,
        fl: &mut u32,
        rexmit: &mut Rexmit,
    ) {
        let f = *fl;
        let mut do_lost =
            num_dupack > 0 || (f & flag::DATA_SACKED != 0 && self.tcp_force_fast_retransmit(sk));
        if sk.sb.packets_out.pkts == 0 && sk.sb.sacked_out.pkts > 0 {
            sk.sb.sacked_out = Default::default();
        }
        // B. SACK reneging.
        if self.tcp_check_sack_reneging(sk, fl) {
            return;
        }
        // D. State exit.
        if sk.ca_state == CaState::Open {
            sk.clear_retrans_stamp();
        } else if !sk.snd_una.before(sk.high_seq) && sk.ca_state == CaState::Cwr {
            // CWR holds until something above high_seq is ACKed (the CWR flag reached
            // the receiver): tcp_end_cwnd_reduction.
            if sk.snd_una != sk.high_seq {
                sk.win.cwnd = sk.win.ssthresh.max(sk.mss);
                sk.ca_state = CaState::Open;
            }
        } else if !sk.snd_una.before(sk.high_seq) && sk.ca_state == CaState::Recovery {
            if !sk.sack_ok {
                sk.sb.reset_reno_sack();
            }
            if self.tcp_try_undo_recovery(sk) {
                return;
            }
            self.tcp_end_cwnd_reduction(sk);
        }
        // E. Process the state.
        let mut enter = false;
        match sk.ca_state {
            CaState::Recovery => {
                if f & flag::SND_UNA_ADVANCED == 0 {
                    if !sk.sack_ok {
                        sk.sb.add_reno_sack(num_dupack, sk.mss);
                    }
                } else if self.tcp_try_undo_partial(sk, prior_una, &mut do_lost) {
                    return;
                }
                if self.tcp_try_undo_dsack(sk) {
                    self.tcp_try_keep_open(sk);
                }
                self.tcp_identify_packet_loss(sk, fl);
                if sk.ca_state != CaState::Recovery {
                    if !self.tcp_time_to_recover(sk) {
                        return;
                    }
                    enter = true;
                }
            }
            CaState::Loss => {
                self.tcp_process_loss(sk, *fl, num_dupack, rexmit);
                self.tcp_identify_packet_loss(sk, fl);
                if !(sk.ca_state == CaState::Open || *fl & flag::LOST_RETRANS != 0) {
                    return;
                }
                // Undone, or retransmissions lost: fall through as from Open.
                if !self.tcp_open_or_disorder(sk, f, num_dupack, fl) {
                    return;
                }
                enter = true;
            }
            CaState::Open | CaState::Disorder | CaState::Cwr => {
                if !self.tcp_open_or_disorder(sk, f, num_dupack, fl) {
                    return;
                }
                enter = true;
            }
        }
        if enter {
            self.tcp_enter_recovery(sk);
        }
        if sk.sb.rack_disabled(self.cfg.tcp_recovery) && do_lost {
            // tcp_update_scoreboard: mark the head lost (dupthresh without RACK).
            if !sk.sb.q.is_empty() && sk.sb.q[0].sacked & TCPCB_LOST == 0 {
                sk.sb.mark_lost(0);
            }
        }
        *rexmit = Rexmit::Lost;
    }

    /// The Open/Disorder arm of `tcp_fastretrans_alert`. Returns true when recovery starts.
    fn tcp_open_or_disorder(
        &mut self,
        sk: &mut TcpSock,
        f: u32,
        num_dupack: u32,
        fl: &mut u32,
    ) -> bool {
        if !sk.sack_ok {
            if f & flag::SND_UNA_ADVANCED != 0 {
                sk.sb.reset_reno_sack();
            }
            sk.sb.add_reno_sack(num_dupack, sk.mss);
        }
        if matches!(sk.ca_state, CaState::Open | CaState::Disorder) {
            self.tcp_try_undo_dsack(sk);
        }
        self.tcp_identify_packet_loss(sk, fl);
        if !self.tcp_time_to_recover(sk) {
            self.tcp_try_to_open(sk);
            return false;
        }
        true
    }

    /// `tcp_force_fast_retransmit`: SACKed data beyond the reordering degree.
    fn tcp_force_fast_retransmit(&self, sk: &TcpSock) -> bool {
        let fack = sk.sb.highest_sack_seq(sk.snd_una, sk.snd_nxt);
        fack.diff(sk.snd_una) as i64 > i64::from(sk.sb.reordering) * i64::from(sk.mss)
    }

    /// `tcp_check_sack_reneging`: the ACK stopped at a segment the peer had SACKed. Wait
    /// max(SRTT/2, 10 ms) for it to ACK past it, then let the RTO (which clears the SACK
    /// marks and counts TCPSACKReneging) take over.
    fn tcp_check_sack_reneging(&mut self, sk: &mut TcpSock, fl: &mut u32) -> bool {
        if *fl & flag::SACK_RENEGING != 0 && *fl & flag::SND_UNA_ADVANCED != 0 {
            let half = sk.rtt.srtt.map_or(Duration::ZERO, |s| s / 2);
            let delay = half.max(Duration::from_millis(10));
            self.tcp_arm_rto_in(sk, delay);
            *fl &= !flag::SET_XMIT_TIMER;
            return true;
        }
        false
    }

    /// `tcp_identify_packet_loss`: NewReno marking without SACK, RACK with it.
    fn tcp_identify_packet_loss(&mut self, sk: &mut TcpSock, fl: &mut u32) {
        if sk.sb.q.is_empty() {
            return;
        }
        if !sk.sack_ok {
            self.tcp_newreno_mark_lost(sk, *fl & flag::SND_UNA_ADVANCED != 0);
        } else if !sk.sb.rack_disabled(self.cfg.tcp_recovery) {
            let prior_retrans = sk.sb.retrans_out.pkts;
            if self.tcp_rack_mark_lost(sk) {
                *fl &= !flag::SET_XMIT_TIMER;
            }
            if prior_retrans > sk.sb.retrans_out.pkts {
                *fl |= flag::LOST_RETRANS;
            }
        }
    }

    /// `tcp_newreno_mark_lost` (RFC 6582): the head is lost on the third duplicate ACK,
    /// and again after each partial ACK in recovery.
    fn tcp_newreno_mark_lost(&mut self, sk: &mut TcpSock, snd_una_advanced: bool) {
        let st = sk.ca_state;
        let before_recovery = matches!(st, CaState::Open | CaState::Disorder | CaState::Cwr);
        if (before_recovery && sk.sb.sacked_out.pkts >= sk.sb.reordering)
            || (st == CaState::Recovery && snd_una_advanced)
        {
            if sk.sb.q.front().is_some_and(|h| h.sacked & TCPCB_LOST != 0) {
                return;
            }
            sk.sb.mark_lost(0);
        }
    }

    /// `tcp_time_to_recover`: loss is proven, or (without RACK) the duplicate-ACK count
    /// passed the reordering degree.
    fn tcp_time_to_recover(&self, sk: &TcpSock) -> bool {
        if sk.sb.lost_out.pkts > 0 {
            return true;
        }
        sk.sb.rack_disabled(self.cfg.tcp_recovery) && sk.sb.sacked_out.pkts + 1 > sk.sb.reordering
    }

    /// `tcp_init_undo`.
    fn tcp_init_undo(sk: &mut TcpSock) {
        sk.sb.undo_marker = Some(sk.snd_una);
        let mut r = sk.sb.retrans_out.pkts as i32;
        if sk.sb.tlp_high_seq.is_some() && sk.sb.tlp_retrans {
            r += 1;
        }
        sk.sb.undo_retrans = if r == 0 { -1 } else { r };
    }

    /// `tcp_current_ssthresh`.
    pub(crate) fn tcp_current_ssthresh(sk: &TcpSock) -> u32 {
        if matches!(sk.ca_state, CaState::Recovery | CaState::Cwr) {
            sk.win.ssthresh
        } else {
            sk.win.ssthresh.max((sk.win.cwnd >> 1) + (sk.win.cwnd >> 2))
        }
    }

    /// `tcp_enter_recovery`: TCPSackRecovery or TCPRenoRecovery; the window reduction
    /// starts (PRR).
    pub(crate) fn tcp_enter_recovery(&mut self, sk: &mut TcpSock) {
        if sk.sack_ok {
            self.stats.tcp_ext.tcp_sack_recovery += 1;
        } else {
            self.stats.tcp_ext.tcp_reno_recovery += 1;
        }
        sk.sb.prior_ssthresh = 0;
        Self::tcp_init_undo(sk);
        // Already reducing (CWR after an ECN echo): no second reduction.
        if !matches!(sk.ca_state, CaState::Recovery | CaState::Cwr) {
            sk.sb.prior_ssthresh = Self::tcp_current_ssthresh(sk);
            self.tcp_init_cwnd_reduction(sk);
        }
        sk.ca_state = CaState::Recovery;
    }

    /// `tcp_init_cwnd_reduction`.
    pub(crate) fn tcp_init_cwnd_reduction(&mut self, sk: &mut TcpSock) {
        sk.high_seq = sk.snd_nxt;
        sk.sb.tlp_high_seq = None;
        sk.win.cwnd_cnt = 0;
        sk.sb.prior_cwnd = sk.win.cwnd;
        sk.sb.prr_delivered = 0;
        sk.sb.prr_out = 0;
        let w = sk.win;
        sk.win.ssthresh = sk.cc.ssthresh(&w);
    }

    /// `tcp_cwnd_reduction` (RFC 6937 PRR): while the flight exceeds ssthresh, send in
    /// proportion ssthresh/prior_cwnd of what is delivered; below it, slow-start back up to
    /// ssthresh but no faster than what was delivered (the SSRB bound). Counted in packets
    /// as Linux; the window in bytes is pipe plus the quota.
    pub(crate) fn tcp_cwnd_reduction(
        &mut self,
        sk: &mut TcpSock,
        newly_acked_sacked: u32,
        newly_lost: u32,
        fl: u32,
    ) {
        let mss = sk.mss.max(1);
        if newly_acked_sacked == 0 || sk.sb.prior_cwnd == 0 {
            return;
        }
        let ssthresh = i64::from(sk.win.ssthresh / mss);
        let prior_cwnd = i64::from(sk.sb.prior_cwnd.div_ceil(mss)).max(1);
        let pipe = i64::from(sk.sb.packets_in_flight());
        let delta = ssthresh - pipe;
        sk.sb.prr_delivered = sk.sb.prr_delivered.wrapping_add(newly_acked_sacked);
        let prr_delivered = i64::from(sk.sb.prr_delivered);
        let prr_out = i64::from(sk.sb.prr_out);
        let mut sndcnt = if delta < 0 {
            (ssthresh * prr_delivered + prior_cwnd - 1) / prior_cwnd - prr_out
        } else {
            // PRR-SSRB: slow start back toward ssthresh, one extra segment when the ACK
            // advanced SND.UNA without new losses, never beyond ssthresh.
            let mut s = (prr_delivered - prr_out).max(i64::from(newly_acked_sacked));
            if fl & flag::SND_UNA_ADVANCED != 0 && newly_lost == 0 {
                s += 1;
            }
            s.min(delta)
        };
        // Force a fast retransmit on entering recovery.
        sndcnt = sndcnt.max(if sk.sb.prr_out > 0 { 0 } else { 1 });
        let pipe_bytes = i64::from(sk.in_flight());
        let cwnd = pipe_bytes + sndcnt * i64::from(mss);
        sk.win.cwnd = u32::try_from(cwnd.max(i64::from(mss))).unwrap_or(u32::MAX);
    }

    /// `tcp_end_cwnd_reduction`: cwnd = ssthresh once recovery ends (unless undone).
    fn tcp_end_cwnd_reduction(&mut self, sk: &mut TcpSock) {
        if sk.win.ssthresh < super::cong::INFINITE_SSTHRESH && sk.sb.undo_marker.is_some() {
            sk.win.cwnd = sk.win.ssthresh.max(sk.mss);
        }
    }

    /// `tcp_cong_control`: PRR in recovery, otherwise the algorithm's growth when the ACK
    /// allows it (`tcp_may_raise_cwnd`).
    pub(crate) fn tcp_cong_control(
        &mut self,
        sk: &mut TcpSock,
        delivered: u32,
        delivered_bytes: u32,
        newly_lost: u32,
        fl: u32,
        prior_in_flight: u32,
    ) {
        if sk.ca_state == CaState::Recovery {
            self.tcp_cwnd_reduction(sk, delivered, newly_lost, fl);
            return;
        }
        if sk.ca_state == CaState::Cwr {
            // Deviation from Linux: CWR's reduction happened at once in tcp_enter_cwr
            // (ecn.rs), so the window holds instead of following PRR.
            return;
        }
        let may_raise = if sk.sb.reordering > TCP_REORDERING {
            fl & flag::FORWARD_PROGRESS != 0
        } else {
            fl & flag::DATA_ACKED != 0
        };
        if may_raise {
            let limited = self.tcp_is_cwnd_limited(sk) || prior_in_flight + sk.mss > sk.win.cwnd;
            let w = &mut sk.win;
            sk.cc.cong_avoid(w, delivered_bytes, limited);
        }
    }

    /// `tcp_packet_delayed` (Eifel, RFC 3522): the ACK echoes a timestamp older than the
    /// first retransmission, so it answers an original transmission; or nothing was
    /// retransmitted at all (Linux 6.10+: no `retrans_stamp` while recovering means the
    /// retransmission had not gone out yet, so what filled the hole was the original),
    /// except where the stamp is cleared although retransmissions went out: a non-SACK
    /// sender holding its state at `high_seq` (`tcp_is_non_sack_preventing_reopen`), and
    /// SYN-SENT.
    fn tcp_packet_delayed(&self, sk: &TcpSock) -> bool {
        if let Some(stamp) = sk.sb.first_rtx_stamp {
            // tcp_tsopt_ecr_before.
            let Some(ecr) = sk.sb.rcv_tsecr.filter(|e| *e != 0) else {
                return false;
            };
            if !sk.ts_ok {
                return false;
            }
            let when = ts_now(stamp).wrapping_add(sk.ts_offset);
            return (ecr.wrapping_sub(when) as i32) < 0;
        }
        if !sk.sack_ok && !sk.snd_una.before(sk.high_seq) {
            return false;
        }
        sk.state != super::TcpState::SynSent
    }

    /// `tcp_may_undo`: every retransmission was D-SACKed, or the ACK was for an original.
    fn tcp_may_undo(&self, sk: &TcpSock) -> bool {
        sk.sb.undo_marker.is_some() && (sk.sb.undo_retrans == 0 || self.tcp_packet_delayed(sk))
    }

    /// `tcp_undo_cwnd_reduction`: back to the window and threshold from before the
    /// reduction (`undo_cwnd` of the congestion ops).
    fn tcp_undo_cwnd_reduction(&mut self, sk: &mut TcpSock, unmark_loss: bool) {
        if unmark_loss {
            for e in sk.sb.q.iter_mut() {
                e.sacked &= !TCPCB_LOST;
            }
            sk.sb.lost_out = Default::default();
            sk.sb.clear_retrans_hints();
        }
        if sk.sb.prior_ssthresh > 0 {
            let w = sk.win;
            let prior = sk.sb.prior_cwnd;
            sk.win.cwnd = sk.cc.undo_cwnd(&w, prior);
            if sk.sb.prior_ssthresh > sk.win.ssthresh {
                sk.win.ssthresh = sk.sb.prior_ssthresh;
            }
        }
        sk.sb.undo_marker = None;
        sk.sb.rack.advanced = true;
    }

    /// `tcp_is_non_sack_preventing_reopen`: a Reno sender holds its state until data
    /// beyond `high_seq` is acknowledged (RFC 6582's guard against false fast
    /// retransmits).
    fn tcp_is_non_sack_preventing_reopen(&self, sk: &mut TcpSock) -> bool {
        if sk.snd_una == sk.high_seq && !sk.sack_ok {
            if !sk.sb.any_retrans_done() {
                sk.clear_retrans_stamp();
            }
            return true;
        }
        false
    }

    /// `tcp_try_undo_recovery`: recovery (or loss) is over; undo if it proved spurious
    /// (TCPFullUndo, TCPLossUndo). Returns true when the state must be held.
    fn tcp_try_undo_recovery(&mut self, sk: &mut TcpSock) -> bool {
        if self.tcp_may_undo(sk) {
            self.tcp_undo_cwnd_reduction(sk, false);
            if sk.ca_state == CaState::Loss {
                self.stats.tcp_ext.tcp_loss_undo += 1;
            } else {
                self.stats.tcp_ext.tcp_full_undo += 1;
            }
        } else if sk.sb.rack.reo_wnd_persist > 0 {
            sk.sb.rack.reo_wnd_persist -= 1;
        }
        if self.tcp_is_non_sack_preventing_reopen(sk) {
            return true;
        }
        sk.ca_state = CaState::Open;
        sk.sb.is_sack_reneg = false;
        false
    }

    /// `tcp_try_undo_partial`: a partial ACK for an original transmission (Eifel) undoes
    /// the reduction when no retransmission is still out (TCPPartialUndo).
    fn tcp_try_undo_partial(
        &mut self,
        sk: &mut TcpSock,
        prior_una: SeqNumber,
        do_lost: &mut bool,
    ) -> bool {
        if sk.sb.undo_marker.is_some() && self.tcp_packet_delayed(sk) {
            // The hole was filled by the delayed original: reordering.
            let fack = sk.sb.highest_sack_seq(sk.snd_una, sk.snd_nxt);
            if sk.sb.check_sack_reordering(prior_una, fack, sk.mss) {
                self.stats.tcp_ext.tcp_ts_reorder += 1;
            }
            if sk.sb.retrans_out.pkts > 0 {
                return true;
            }
            if !sk.sb.any_retrans_done() {
                sk.clear_retrans_stamp();
            }
            self.tcp_undo_cwnd_reduction(sk, true);
            self.stats.tcp_ext.tcp_partial_undo += 1;
            self.tcp_try_keep_open(sk);
        } else {
            *do_lost = self.tcp_force_fast_retransmit(sk);
        }
        false
    }

    /// `tcp_try_undo_dsack`: every retransmission was D-SACKed (TCPDSACKUndo).
    fn tcp_try_undo_dsack(&mut self, sk: &mut TcpSock) -> bool {
        if sk.sb.undo_marker.is_some() && sk.sb.undo_retrans == 0 {
            sk.sb.rack.reo_wnd_persist = (sk.sb.rack.reo_wnd_persist + 1).min(16);
            self.tcp_undo_cwnd_reduction(sk, false);
            self.stats.tcp_ext.tcp_dsack_undo += 1;
            return true;
        }
        false
    }

    /// `tcp_try_undo_loss`: the timeout was spurious (Eifel, or F-RTO when `frto_undo`).
    fn tcp_try_undo_loss(&mut self, sk: &mut TcpSock, frto_undo: bool) -> bool {
        if frto_undo || self.tcp_may_undo(sk) {
            self.tcp_undo_cwnd_reduction(sk, true);
            self.stats.tcp_ext.tcp_loss_undo += 1;
            if frto_undo {
                self.stats.tcp_ext.tcp_spurious_rtos += 1;
            }
            sk.retransmits = 0;
            if self.tcp_is_non_sack_preventing_reopen(sk) {
                return true;
            }
            if frto_undo || sk.sack_ok {
                sk.ca_state = CaState::Open;
                sk.sb.is_sack_reneg = false;
            }
            return true;
        }
        false
    }

    /// `tcp_try_to_open`.
    fn tcp_try_to_open(&mut self, sk: &mut TcpSock) {
        if !sk.sb.any_retrans_done() {
            sk.clear_retrans_stamp();
        }
        if sk.ca_state != CaState::Cwr {
            self.tcp_try_keep_open(sk);
        }
    }

    /// `tcp_try_keep_open`: Disorder while anything is SACKed, lost or retransmitted.
    pub(crate) fn tcp_try_keep_open(&mut self, sk: &mut TcpSock) {
        let state = if sk.sb.left_out() > 0 || sk.sb.any_retrans_done() {
            CaState::Disorder
        } else {
            CaState::Open
        };
        if sk.ca_state != state {
            sk.ca_state = state;
            sk.high_seq = sk.snd_nxt;
        }
    }

    /// `tcp_process_loss`: ACKs in the Loss state, with F-RTO (RFC 5682 §3.1, SACK-enhanced
    /// as Linux's `tcp_frto` = 2).
    fn tcp_process_loss(
        &mut self,
        sk: &mut TcpSock,
        fl: u32,
        num_dupack: u32,
        rexmit: &mut Rexmit,
    ) {
        let recovered = !sk.snd_una.before(sk.high_seq);
        if fl & flag::SND_UNA_ADVANCED != 0 && self.tcp_try_undo_loss(sk, false) {
            return;
        }
        if sk.sb.frto {
            // Step 3.b: never-retransmitted data was (S)ACKed: the timeout was spurious.
            if fl & flag::ORIG_SACK_ACKED != 0 && self.tcp_try_undo_loss(sk, true) {
                return;
            }
            if sk.snd_nxt.after(sk.high_seq) {
                if fl & flag::DATA_SACKED != 0 || num_dupack > 0 {
                    // Step 3.a: the loss was real.
                    sk.sb.frto = false;
                }
            } else if fl & flag::SND_UNA_ADVANCED != 0 && !recovered {
                sk.high_seq = sk.snd_nxt;
                // Step 2.b: send new data instead of retransmitting.
                let wnd_end = sk.snd_una + sk.snd_wnd as usize;
                if self.tcp_has_unsent(sk) && wnd_end.after(sk.snd_nxt) {
                    *rexmit = Rexmit::New;
                    return;
                }
                sk.sb.frto = false;
            }
        }
        if recovered {
            // Step 2.a and the first part of 3.a.
            self.tcp_try_undo_recovery(sk);
            return;
        }
        if !sk.sack_ok {
            if sk.snd_nxt.after(sk.high_seq) && num_dupack > 0 {
                sk.sb.add_reno_sack(num_dupack, sk.mss);
            } else if fl & flag::SND_UNA_ADVANCED != 0 {
                sk.sb.reset_reno_sack();
            }
        }
        *rexmit = Rexmit::Lost;
    }

    /// `tcp_xmit_recovery`: after the ACK, send what the recovery state asked for.
    pub(crate) fn tcp_xmit_recovery(&mut self, sk: &mut TcpSock, rexmit: Rexmit) {
        match rexmit {
            Rexmit::None => {}
            Rexmit::New => {
                self.tcp_write_xmit(sk, true);
                if sk.snd_nxt.after(sk.high_seq) {
                    return;
                }
                sk.sb.frto = false;
                self.tcp_xmit_retransmit_queue(sk);
            }
            Rexmit::Lost => self.tcp_xmit_retransmit_queue(sk),
        }
    }

    /// `tcp_xmit_retransmit_queue`: retransmit the segments marked lost, lowest first, as
    /// far as cwnd - pipe allows (TCPFastRetrans in recovery, TCPSlowStartRetrans after a
    /// timeout).
    pub(crate) fn tcp_xmit_retransmit_queue(&mut self, sk: &mut TcpSock) {
        if sk.sb.packets_out.pkts == 0 {
            return;
        }
        let mut rearm = false;
        // Resume where the last walk stopped (retransmit_skb_hint): everything before it
        // was SACKed, retransmitted or not lost, and a record marked lost since moved the
        // hint back (tcp_verify_retransmit_hint).
        let mut i = sk.sb.retransmit_start();
        let mut hole = false;
        while i < sk.sb.q.len() {
            sk.sb.visited += 1;
            if !hole {
                sk.sb.retransmit_hint = Some(sk.sb.q[i].seq);
            }
            if sk.in_flight() + sk.sb.q[i].len().max(1) > sk.win.cwnd.max(sk.mss) {
                break;
            }
            if sk.sb.retrans_out.pkts >= sk.sb.lost_out.pkts {
                break;
            }
            let sacked = sk.sb.q[i].sacked;
            if sacked & TCPCB_LOST == 0 {
                if !hole && sacked & (TCPCB_SACKED_RETRANS | TCPCB_SACKED_ACKED) == 0 {
                    // Not lost and not yet delivered: the walk must come back here.
                    hole = true;
                }
                i += 1;
                continue;
            }
            if sacked & (TCPCB_SACKED_ACKED | TCPCB_SACKED_RETRANS) != 0 {
                i += 1;
                continue;
            }
            if !self.tcp_retransmit_skb(sk, i) {
                break;
            }
            if sk.ca_state == CaState::Loss {
                self.stats.tcp_ext.tcp_slow_start_retrans += 1;
            } else {
                self.stats.tcp_ext.tcp_fast_retrans += 1;
            }
            if sk.ca_state == CaState::Recovery {
                sk.sb.prr_out += 1;
            }
            if i == 0 && sk.rtx_kind != super::RtxKind::ReoTimeout {
                rearm = true;
            }
            i += 1;
        }
        if rearm {
            self.tcp_arm_rto(sk);
        }
    }

    /// `tcp_retrans_try_collapse` (`tcp_retrans_collapse`): a record shorter than the MSS
    /// takes in the records after it that fit, are not SACKed and lie inside the peer's
    /// window, so the retransmission carries as much as one segment can.
    fn tcp_retrans_try_collapse(&mut self, sk: &mut TcpSock, i: usize) {
        if !self.cfg.tcp_retrans_collapse {
            return;
        }
        let mss = sk.mss;
        let wnd_end = sk.snd_una + sk.snd_wnd as usize;
        while let (Some(to), Some(next)) = (sk.sb.q.get(i), sk.sb.q.get(i + 1)) {
            let data = |e: &super::sack::TxSkb| e.len() - u32::from(e.fin);
            if to.fin
                || next.sacked & TCPCB_SACKED_ACKED != 0
                || data(to) + data(next) > mss
                || next.end.after(wnd_end)
            {
                break;
            }
            sk.sb.collapse_next(i);
        }
    }

    /// `__tcp_retransmit_skb`: sends record `i` again (its send time is refreshed), cut to
    /// the current MSS if it is larger (`tcp_fragment`, after a PMTU drop), or with the
    /// small records after it collapsed in.
    pub(crate) fn tcp_retransmit_skb_raw(&mut self, sk: &mut TcpSock, i: usize) -> bool {
        if let Some(e) = sk.sb.q.get(i) {
            if e.len() - u32::from(e.fin) > sk.mss {
                let mss = sk.mss;
                sk.sb.split(i, mss);
            }
        }
        if sk.sb.q.get(i).is_some_and(|e| {
            e.sacked & TCPCB_SACKED_ACKED == 0 && e.len() - u32::from(e.fin) < sk.mss
        }) {
            self.tcp_retrans_try_collapse(sk, i);
        }
        let Some(e) = sk.sb.q.get(i).copied() else {
            return false;
        };
        let len = e.len() as usize - usize::from(e.fin);
        let f = SegFlags {
            syn: false,
            ack: true,
            fin: e.fin,
            rst: false,
            psh: len > 0 && e.seq + len == sk.data_end(),
        };
        let off = e.seq.diff(sk.sbuf_seq).max(0) as usize;
        if !self.tcp_transmit(sk, e.seq, f, off, len, true) {
            return false;
        }
        sk.rtt_sample = None;
        sk.sb.total_retrans += 1;
        let delivered = sk.sb.delivered;
        if let Some(x) = sk.sb.q.get_mut(i) {
            x.mstamp = self.now;
            x.tx_delivered = delivered;
            x.sacked |= TCPCB_EVER_RETRANS;
        }
        // tcp_update_skb_after_send: the newest transmission goes to the list's tail.
        sk.sb.ts_move_tail(i);
        true
    }

    /// `tcp_retransmit_skb`: a retransmission counted in `retrans_out`, the first of an
    /// episode stamped (`retrans_stamp`), and one more for D-SACK to prove spurious.
    pub(crate) fn tcp_retransmit_skb(&mut self, sk: &mut TcpSock, i: usize) -> bool {
        let prev_stamp = sk.sb.q.get(i).map_or(self.now, |e| e.mstamp);
        if !self.tcp_retransmit_skb_raw(sk, i) {
            // Deviation from Linux: a retransmission that could not be sent (no route) is
            // neither stamped nor counted in undo_retrans; Linux's tcp_retransmit_skb
            // stamps retrans_stamp and counts undo_retrans for the attempt.
            return false;
        }
        if let Some(x) = sk.sb.q.get_mut(i) {
            if x.sacked & TCPCB_SACKED_RETRANS == 0 {
                x.sacked |= TCPCB_SACKED_RETRANS;
                let len = x.len();
                sk.sb.retrans_out.add(len);
            }
        }
        if sk.retrans_stamp.is_none() {
            // Deviation from Linux: the write timeout (retransmits_timed_out) counts from
            // the head's previous transmission; Eifel's stamp below is Linux's
            // retrans_stamp, the time of the first retransmission of the episode.
            sk.retrans_stamp = Some(prev_stamp);
        }
        if sk.sb.first_rtx_stamp.is_none() {
            sk.sb.first_rtx_stamp = Some(self.now);
        }
        if sk.sb.undo_retrans < 0 {
            sk.sb.undo_retrans = 0;
        }
        sk.sb.undo_retrans += 1;
        true
    }

    /// `tcp_timeout_mark_lost`: after an RTO, everything not SACKed is lost (recently sent
    /// segments excepted); a SACKed head means the peer reneged (TCPSACKReneging) and every
    /// SACK mark goes.
    fn tcp_timeout_mark_lost(&mut self, sk: &mut TcpSock) {
        let now = self.now;
        let is_reneg = sk
            .sb
            .q
            .front()
            .is_some_and(|h| h.sacked & TCPCB_SACKED_ACKED != 0);
        if is_reneg {
            self.stats.tcp_ext.tcp_sack_reneging += 1;
            sk.sb.sacked_out = Default::default();
            sk.sb.is_sack_reneg = true;
        } else if !sk.sack_ok {
            sk.sb.reset_reno_sack();
        }
        let rack_rtt = sk.sb.rack.rtt;
        for i in 0..sk.sb.q.len() {
            if is_reneg {
                sk.sb.q[i].sacked &= !TCPCB_SACKED_ACKED;
            } else if i > 0 && now.saturating_since(sk.sb.q[i].mstamp) < rack_rtt {
                // Sent too recently to call lost.
                continue;
            }
            if sk.sb.mark_lost(i) {
                self.stats.tcp_ext.tcp_lost_retransmit += 1;
            }
        }
        sk.sb.clear_retrans_hints();
    }

    /// `tcp_enter_loss`: after an RTO every outstanding segment is considered lost; cwnd
    /// drops to the flight plus one segment and slow start resumes (RFC 5681 §3.1, RFC 6298
    /// §5.5). ssthresh is cut once per episode; F-RTO starts (RFC 5682 §3.1 step 1).
    pub(crate) fn tcp_enter_loss(&mut self, sk: &mut TcpSock) {
        let new_recovery = matches!(
            sk.ca_state,
            CaState::Open | CaState::Disorder | CaState::Cwr
        );
        self.tcp_timeout_mark_lost(sk);
        let new_episode = matches!(sk.ca_state, CaState::Open | CaState::Disorder)
            || !sk.high_seq.after(sk.snd_una)
            || (sk.ca_state == CaState::Loss && sk.retransmits == 0);
        if new_episode {
            sk.sb.prior_ssthresh = Self::tcp_current_ssthresh(sk);
            sk.sb.prior_cwnd = sk.win.cwnd;
            let w = sk.win;
            sk.win.ssthresh = sk.cc.ssthresh(&w);
            let w = sk.win;
            sk.cc.on_loss_timeout(&w);
            Self::tcp_init_undo(sk);
        }
        sk.win.cwnd = sk.in_flight() + sk.mss;
        sk.win.cwnd_cnt = 0;
        // Only a loss from Open or Disorder resets the reordering degree (Linux checks
        // icsk_ca_state <= TCP_CA_Disorder before it changes the state).
        if matches!(sk.ca_state, CaState::Open | CaState::Disorder)
            && sk.sb.sacked_out.pkts >= TCP_REORDERING
        {
            sk.sb.reordering = sk.sb.reordering.min(TCP_REORDERING);
        }
        sk.ca_state = CaState::Loss;
        sk.high_seq = sk.snd_nxt;
        sk.sb.tlp_high_seq = None;
        sk.rtt_sample = None;
        sk.sb.frto = self.cfg.tcp_frto > 0 && (new_recovery || sk.retransmits > 0);
    }
}

//! PAWS: protection against wrapped sequence numbers. A segment whose timestamp is older
//! than the last one accepted (TS.Recent) is an old duplicate and is dropped with a
//! duplicate ACK; TS.Recent is kept with the time it was stored so that it can age out.
//!
//! Linux: include/net/tcp.h (`tcp_paws_check`, `tcp_paws_reject`, `TCP_PAWS_WRAP`,
//! `TCP_PAWS_MSL`, `TCP_PAWS_WINDOW`), net/ipv4/tcp_input.c (`tcp_paws_discard`,
//! `tcp_disordered_ack_check`, `tcp_tsval_replay`, `tcp_store_ts_recent`,
//! `tcp_replace_ts_recent`, `tcp_validate_incoming`, the `PAWSActive` check of
//! `tcp_rcv_synsent_state_process`),
//! net/ipv4/tcp_minisocks.c (`tcp_timewait_state_process`, `tcp_check_req`).
//! RFCs: RFC 7323 §5 (PAWS), §5.5 (outdated timestamps), §4.3 (TS.Recent).
//!
//! Linux since 6.7 relaxes the check once TS.Recent is older than `TCP_PAWS_WRAP` =
//! `INT_MAX / USEC_PER_SEC` = 2147 s (it was `TCP_PAWS_24DAYS` before microsecond
//! timestamps); this follows the current kernel. A RST is exempt from PAWS once TS.Recent
//! is `TCP_PAWS_MSL` (60 s) old; in synchronized states a RST is always exempt (Linux:
//! "Reset is accepted even if it did not pass PAWS"). As in Linux 6.14+, an old pure ACK
//! that fails PAWS is dropped silently (PAWSOldAck) and a TIME-WAIT socket counts its PAWS
//! drops in PAWSTimewait; the TSecr check behind Linux's TSEcrRejected is not done.

use crate::time::{Duration, Instant};

use super::input::Seg;
use super::TcpSock;
use crate::stack::Stack;

/// `TCP_PAWS_WRAP`: past this age TS.Recent no longer rejects anything (RFC 7323 §5.5).
pub(crate) const TCP_PAWS_WRAP: Duration = Duration::from_secs(2147);
/// `TCP_PAWS_MSL`: a RST passes PAWS once TS.Recent is this old.
pub(crate) const TCP_PAWS_MSL: Duration = Duration::from_secs(60);
/// `TCP_PAWS_WINDOW`: timestamps this much older than TS.Recent still pass.
pub(crate) const TCP_PAWS_WINDOW: i32 = 1;

/// The timestamp state PAWS looks at (`ts_recent`, `ts_recent_stamp`, `rcv_tsval`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct PawsView {
    pub(crate) ts_recent: u32,
    /// When TS.Recent was stored; none means never (Linux's stamp of 0).
    pub(crate) stamp: Option<Instant>,
    pub(crate) tsval: u32,
}

impl PawsView {
    /// `tcp_paws_check`: true when the timestamp passes (is at most `paws_win` older than
    /// TS.Recent, or TS.Recent has aged past `TCP_PAWS_WRAP`, or is 0).
    pub(crate) fn check(&self, now: Instant, paws_win: i32) -> bool {
        if (self.ts_recent.wrapping_sub(self.tsval) as i32) <= paws_win {
            return true;
        }
        let Some(stamp) = self.stamp else {
            return true;
        };
        if now.saturating_since(stamp) >= TCP_PAWS_WRAP {
            return true;
        }
        // "Some OSes send SYN and SYNACK messages with tsval=0 tsecr=0 ... Ignore 0 value."
        self.ts_recent == 0
    }

    /// `tcp_paws_reject`: the segment must be dropped. A RST passes once TS.Recent is
    /// `TCP_PAWS_MSL` old.
    pub(crate) fn reject(&self, now: Instant, rst: bool) -> bool {
        if self.check(now, 0) {
            return false;
        }
        if rst
            && self
                .stamp
                .is_none_or(|s| now.saturating_since(s) >= TCP_PAWS_MSL)
        {
            return false;
        }
        true
    }
}

impl TcpSock {
    /// The PAWS view of this socket for an arriving TSval.
    pub(crate) fn paws_view(&self, tsval: u32) -> PawsView {
        PawsView {
            ts_recent: self.ts_recent,
            stamp: self.ts_recent_stamp,
            tsval,
        }
    }

    /// `tcp_store_ts_recent`.
    pub(crate) fn tcp_store_ts_recent(&mut self, tsval: u32, now: Instant) {
        self.ts_recent = tsval;
        self.ts_recent_stamp = Some(now);
    }

    /// `tcp_replace_ts_recent` (RFC 7323 §4.3): TS.Recent follows a segment that covers
    /// the last ACK we sent (`seq <= rcv_wup`) and is not older than TS.Recent.
    pub(crate) fn tcp_replace_ts_recent(&mut self, seg: &Seg<'_>, now: Instant) {
        let Some((tsval, _)) = seg.ts else {
            return;
        };
        if self.ts_ok && !seg.seq.after(self.rcv_wup) && self.paws_view(tsval).check(now, 0) {
            self.tcp_store_ts_recent(tsval, now);
        }
    }

    /// `tcp_may_update_window`.
    fn tcp_may_update_window(&self, ack: linnet_wire::tcp::SeqNumber, seg: &Seg<'_>) -> bool {
        let nwin = u32::from(seg.wnd) << self.snd_wscale;
        ack.after(self.snd_una)
            || seg.seq.after(self.snd_wl1)
            || (seg.seq == self.snd_wl1 && (nwin > self.snd_wnd || nwin == 0))
    }

    /// `tcp_disordered_ack_check` for a segment that failed the PAWS test: a pure
    /// duplicate ACK at RCV.NXT that does not move the window and whose timestamp lies
    /// within the replay window (`tcp_tsval_replay`: 1.2 RTO) is reordered, not old, and
    /// passes (`None`); a pure ACK below RCV.NXT is an old ACK (`PawsAck`); anything else
    /// fails PAWS.
    fn tcp_disordered_ack_check(&self, seg: &Seg<'_>, tsval: u32) -> Option<PawsDrop> {
        let Some(ack) = seg.ack else {
            return Some(PawsDrop::Paws);
        };
        if seg.seq_len() != 0 {
            return Some(PawsDrop::Paws);
        }
        if seg.seq != self.rcv_nxt {
            return Some(if seg.seq.before(self.rcv_nxt) {
                PawsDrop::OldAck
            } else {
                PawsDrop::Paws
            });
        }
        if ack != self.snd_una || self.tcp_may_update_window(ack, seg) {
            return Some(PawsDrop::Paws);
        }
        let replay = u64::try_from(self.rtt.rto.as_millis())
            .unwrap_or(u64::MAX)
            .saturating_mul(1200)
            / 1000;
        let replay = i64::try_from(replay).unwrap_or(i64::MAX);
        if i64::from(self.ts_recent.wrapping_sub(tsval) as i32) <= replay {
            return None;
        }
        Some(PawsDrop::Paws)
    }

    /// `tcp_paws_discard`: why the segment fails PAWS, if it does.
    pub(crate) fn tcp_paws_discard(&self, seg: &Seg<'_>, now: Instant) -> Option<PawsDrop> {
        let (tsval, _) = seg.ts?;
        if !self.ts_ok || self.paws_view(tsval).check(now, TCP_PAWS_WINDOW) {
            return None;
        }
        self.tcp_disordered_ack_check(seg, tsval)
    }
}

/// Why a segment failed PAWS (`SKB_DROP_REASON_TCP_RFC7323_PAWS` and `_PAWS_ACK`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PawsDrop {
    /// An old timestamp.
    Paws,
    /// An old pure ACK (below RCV.NXT): common, dropped silently (PAWSOldAck).
    OldAck,
}

impl Stack {
    /// The PAWS step of `tcp_validate_incoming` (RFC 7323 §5.3 R1), before the sequence
    /// check: a RST is exempt; a SYN draws a challenge ACK; an old pure ACK is dropped
    /// silently (PAWSOldAck); anything else with an old timestamp is dropped (PAWSEstab)
    /// and answered with a duplicate ACK (rate limited, else TCPACKSkippedPAWS). Returns
    /// the drop reason when the segment was dropped.
    pub(crate) fn tcp_paws_validate(
        &mut self,
        sk: &mut TcpSock,
        seg: &Seg<'_>,
    ) -> Option<crate::stats::DropReason> {
        use crate::stats::DropReason;
        if seg.flags.rst {
            return None;
        }
        let why = sk.tcp_paws_discard(seg, self.now)?;
        if seg.flags.syn {
            // syn_challenge (syn_inerr in ESTABLISHED).
            if sk.state == super::TcpState::Established {
                self.stats.tcp.in_errs += 1;
            }
            self.stats.tcp_ext.tcp_syn_challenge += 1;
            self.tcp_send_challenge_ack(sk);
            return Some(DropReason::TcpInvalidSyn);
        }
        if why == PawsDrop::OldAck {
            self.stats.tcp_ext.paws_old_ack += 1;
            return Some(DropReason::TcpRfc7323PawsAck);
        }
        self.stats.tcp_ext.paws_estab += 1;
        if self.tcp_oow_rate_limited(sk) {
            self.stats.tcp_ext.tcp_ack_skipped_paws += 1;
        } else {
            self.tcp_send_dupack(sk, seg);
        }
        Some(DropReason::TcpRfc7323Paws)
    }

    /// The `PAWSActive` check of `tcp_rcv_synsent_state_process`: the SYN-ACK's TSecr must
    /// echo a TSval we sent since the first SYN (between `retrans_stamp` and now, both in
    /// our timestamp clock); otherwise it is an old duplicate and draws a RST.
    pub(crate) fn tcp_synsent_paws_reject(&mut self, sk: &TcpSock, seg: &Seg<'_>) -> bool {
        let Some((_, tsecr)) = seg.ts else {
            return false;
        };
        if !sk.ts_ok || tsecr == 0 {
            return false;
        }
        let Some(start) = sk.retrans_stamp else {
            return false;
        };
        let lo = super::timer::ts_now(start).wrapping_add(sk.ts_offset);
        let hi = super::timer::ts_now(self.now).wrapping_add(sk.ts_offset);
        // between(tsecr, lo, hi): hi - lo >= tsecr - lo.
        let inside = hi.wrapping_sub(lo) >= tsecr.wrapping_sub(lo);
        if !inside {
            self.stats.tcp_ext.paws_active += 1;
        }
        !inside
    }
}

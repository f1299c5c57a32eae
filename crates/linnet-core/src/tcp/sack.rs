//! The sender's scoreboard and SACK processing: one record per transmitted segment next to
//! the send ring, with Linux's `sacked` bits and send times; received SACK and D-SACK
//! blocks tagged onto it; and, as a receiver, the D-SACK block we report.
//!
//! Linux: include/net/tcp.h (`TCP_SKB_CB(skb)->sacked`: `TCPCB_SACKED_ACKED`,
//! `TCPCB_SACKED_RETRANS`, `TCPCB_LOST`, `TCPCB_EVER_RETRANS`; `tcp_packets_in_flight`,
//! `tcp_left_out`), net/ipv4/tcp_input.c (`tcp_sacktag_write_queue`, `tcp_sacktag_one`,
//! `tcp_is_sackblock_valid`, `tcp_check_dsack`, `tcp_dsack_seen`,
//! `tcp_check_sack_reordering`, `tcp_highest_sack_seq`, `tcp_clean_rtx_queue`,
//! `tcp_add_reno_sack`, `tcp_remove_reno_sacks`, `tcp_limit_reno_sacked`, `tcp_dsack_set`,
//! `tcp_dsack_extend`, `tcp_sacktag_skip`, `tcp_verify_retransmit_hint`,
//! `tcp_clear_all_retrans_hints`), net/ipv4/tcp_output.c (`tcp_options_write`: the D-SACK
//! block goes first; `tcp_update_skb_after_send`, `tcp_fragment`: the time-sorted list).
//! RFCs: RFC 2018 (SACK), RFC 2883 (D-SACK), RFC 6675 §2-4 (scoreboard, pipe).
//!
//! Cost: as in Linux, an ACK's work follows what it brings rather than the window. The
//! SACK pass skips what the previous ACK's blocks covered (`recv_sack_cache`) and finds its
//! first record by binary search; RACK walks a time-sorted list of the records not yet
//! SACKed (`TsList`, Linux's `tsorted_sent_queue`) and stops at the first one not due; the
//! retransmission walk resumes at `retransmit_hint`. `visited` counts the records these
//! walks look at.
//!
//! Units: the counters are kept both in packets (Linux's `packets_out`, `sacked_out`,
//! `lost_out`, `retrans_out`, one per queue record) and in bytes of sequence space, because
//! the congestion window here is counted in bytes (see `cong.rs`).
//!
//! Bounds: every record covers at least one byte of the send ring or the FIN, and the ring
//! holds at most `sndbuf` bytes, so the queue holds at most `sndbuf + 1` records; it keeps
//! its capacity while data flows, so steady-state sending allocates nothing.

use alloc::collections::VecDeque;

use linnet_wire::tcp::SeqNumber;

use crate::time::{Duration, Instant};

use super::rack::Rack;
use super::SeqExt;

/// `TCPCB_SACKED_ACKED`: the peer SACKed this segment.
pub(crate) const TCPCB_SACKED_ACKED: u8 = 0x01;
/// `TCPCB_SACKED_RETRANS`: a retransmission of it is in flight.
pub(crate) const TCPCB_SACKED_RETRANS: u8 = 0x02;
/// `TCPCB_LOST`: considered lost.
pub(crate) const TCPCB_LOST: u8 = 0x04;
/// `TCPCB_EVER_RETRANS`: retransmitted at least once.
pub(crate) const TCPCB_EVER_RETRANS: u8 = 0x80;
/// `TCPCB_RETRANS`.
pub(crate) const TCPCB_RETRANS: u8 = TCPCB_SACKED_RETRANS | TCPCB_EVER_RETRANS;

/// The ACK flags of tcp_input.c (`FLAG_*`).
pub(crate) mod flag {
    pub(crate) const DATA: u32 = 0x01;
    pub(crate) const WIN_UPDATE: u32 = 0x02;
    pub(crate) const DATA_ACKED: u32 = 0x04;
    pub(crate) const RETRANS_DATA_ACKED: u32 = 0x08;
    pub(crate) const DATA_SACKED: u32 = 0x20;
    pub(crate) const LOST_RETRANS: u32 = 0x80;
    pub(crate) const ORIG_SACK_ACKED: u32 = 0x200;
    pub(crate) const SND_UNA_ADVANCED: u32 = 0x400;
    pub(crate) const DSACKING_ACK: u32 = 0x800;
    pub(crate) const SET_XMIT_TIMER: u32 = 0x1000;
    pub(crate) const SACK_RENEGING: u32 = 0x2000;
    pub(crate) const DSACK_TLP: u32 = 0x20000;
    pub(crate) const ACKED: u32 = DATA_ACKED;
    pub(crate) const NOT_DUP: u32 = DATA | WIN_UPDATE | ACKED;
    pub(crate) const CA_ALERT: u32 = DATA_SACKED | DSACKING_ACK;
    pub(crate) const FORWARD_PROGRESS: u32 = ACKED | DATA_SACKED;
}

/// `sysctl_tcp_reordering`: the initial reordering degree (duplicate-ACK threshold).
pub(crate) const TCP_REORDERING: u32 = 3;
/// `sysctl_tcp_max_reordering`.
pub(crate) const TCP_MAX_REORDERING: u32 = 300;

/// One transmitted segment (an skb of Linux's retransmission queue).
#[derive(Clone, Copy, Debug)]
pub(crate) struct TxSkb {
    /// First sequence number (`TCP_SKB_CB(skb)->seq`).
    pub(crate) seq: SeqNumber,
    /// End, FIN included (`end_seq`).
    pub(crate) end: SeqNumber,
    /// Carries our FIN.
    pub(crate) fin: bool,
    /// `TCPCB_*` bits.
    pub(crate) sacked: u8,
    /// Last (re)transmission time (`skb_mstamp_ns`).
    pub(crate) mstamp: Instant,
    /// `delivered` when it was last sent (`tx.delivered`, for the rate sample).
    pub(crate) tx_delivered: u32,
    /// Its node on the time-sorted list (`tcp_tsorted_anchor`); `TS_NIL` when off it.
    pub(crate) ts: u32,
}

impl TxSkb {
    /// Sequence space covered.
    pub(crate) fn len(&self) -> u32 {
        self.end.diff(self.seq).max(0) as u32
    }
}

/// Not on the time-sorted list (or no neighbour).
pub(crate) const TS_NIL: u32 = u32::MAX;

#[derive(Clone, Copy, Debug)]
struct TsNode {
    prev: u32,
    next: u32,
    /// The record's first sequence number (its key in the queue).
    seq: SeqNumber,
}

/// Linux's `tsorted_sent_queue`: the records not yet SACKed, in the order they were last
/// transmitted, as a doubly linked list over a slab (one node per record at most, so it
/// is bounded by the queue; freed nodes are reused). RACK walks it from the oldest
/// transmission and stops at the first one sent after the RACK segment.
#[derive(Clone, Debug)]
pub(crate) struct TsList {
    nodes: alloc::vec::Vec<TsNode>,
    free: alloc::vec::Vec<u32>,
    head: u32,
    tail: u32,
}

impl Default for TsList {
    fn default() -> Self {
        TsList {
            nodes: alloc::vec::Vec::new(),
            free: alloc::vec::Vec::new(),
            head: TS_NIL,
            tail: TS_NIL,
        }
    }
}

impl TsList {
    fn alloc(&mut self, seq: SeqNumber) -> u32 {
        let node = TsNode {
            prev: TS_NIL,
            next: TS_NIL,
            seq,
        };
        match self.free.pop() {
            Some(id) => {
                self.nodes[id as usize] = node;
                id
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        }
    }

    /// Appends a node for the record starting at `seq`; returns its id.
    pub(crate) fn push_tail(&mut self, seq: SeqNumber) -> u32 {
        let id = self.alloc(seq);
        self.nodes[id as usize].prev = self.tail;
        match self.tail {
            TS_NIL => self.head = id,
            t => self.nodes[t as usize].next = id,
        }
        self.tail = id;
        id
    }

    /// Inserts a node for `seq` right after node `at`; returns its id.
    pub(crate) fn insert_after(&mut self, at: u32, seq: SeqNumber) -> u32 {
        let Some(next) = self.nodes.get(at as usize).map(|n| n.next) else {
            return TS_NIL;
        };
        let id = self.alloc(seq);
        self.nodes[id as usize].prev = at;
        self.nodes[id as usize].next = next;
        self.nodes[at as usize].next = id;
        match next {
            TS_NIL => self.tail = id,
            n => self.nodes[n as usize].prev = id,
        }
        id
    }

    /// Unlinks and frees node `id` (nothing for `TS_NIL`).
    pub(crate) fn remove(&mut self, id: u32) {
        let Some(&TsNode { prev, next, .. }) = self.nodes.get(id as usize) else {
            return;
        };
        match prev {
            TS_NIL => self.head = next,
            p => self.nodes[p as usize].next = next,
        }
        match next {
            TS_NIL => self.tail = prev,
            n => self.nodes[n as usize].prev = prev,
        }
        self.nodes[id as usize].prev = TS_NIL;
        self.nodes[id as usize].next = TS_NIL;
        self.free.push(id);
        if self.head == TS_NIL {
            // Empty: start over, so that the slab never outgrows the largest flight.
            self.nodes.clear();
            self.free.clear();
        }
    }

    /// The record key of node `id` changed (the head was trimmed by a partial ACK).
    pub(crate) fn set_seq(&mut self, id: u32, seq: SeqNumber) {
        if let Some(n) = self.nodes.get_mut(id as usize) {
            n.seq = seq;
        }
    }

    /// The oldest transmission.
    pub(crate) fn first(&self) -> u32 {
        self.head
    }

    /// The node after `id`.
    pub(crate) fn next(&self, id: u32) -> u32 {
        self.nodes.get(id as usize).map_or(TS_NIL, |n| n.next)
    }

    /// The record key of node `id`.
    pub(crate) fn seq(&self, id: u32) -> Option<SeqNumber> {
        self.nodes.get(id as usize).map(|n| n.seq)
    }

    /// Forgets every node.
    pub(crate) fn clear(&mut self) {
        *self = TsList::default();
    }
}

/// A packet count with its byte count.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Count {
    pub(crate) pkts: u32,
    pub(crate) bytes: u32,
}

impl Count {
    pub(crate) fn add(&mut self, len: u32) {
        self.pkts += 1;
        self.bytes = self.bytes.saturating_add(len);
    }

    pub(crate) fn sub(&mut self, len: u32) {
        self.pkts = self.pkts.saturating_sub(1);
        self.bytes = self.bytes.saturating_sub(len);
    }
}

/// What one ACK's SACK blocks did (`struct tcp_sacktag_state`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SackState {
    pub(crate) flag: u32,
    /// Lowest never-retransmitted sequence SACKed or ACKed out of order (`reord`).
    pub(crate) reord: Option<SeqNumber>,
    /// Send time of the earliest never-retransmitted segment SACKed (`first_sackt`).
    pub(crate) first_sackt: Option<Instant>,
    /// Packets newly delivered by SACK (`sack_delivered`).
    pub(crate) sack_delivered: u32,
    /// Bytes newly SACKed.
    pub(crate) sacked_bytes: u32,
}

/// The sender's scoreboard and loss-recovery state (the rtx queue and the recovery fields
/// of `struct tcp_sock`).
#[derive(Clone, Debug)]
pub(crate) struct Scoreboard {
    /// The retransmission queue, in sequence order, covering `[snd_una, snd_nxt)`.
    pub(crate) q: VecDeque<TxSkb>,
    /// `packets_out`.
    pub(crate) packets_out: Count,
    /// `sacked_out` (for a non-SACK peer: duplicate ACKs, as Linux's Reno emulation).
    pub(crate) sacked_out: Count,
    /// `lost_out`.
    pub(crate) lost_out: Count,
    /// `retrans_out`.
    pub(crate) retrans_out: Count,
    /// End of the highest SACKed segment (`tcp_highest_sack_seq`).
    pub(crate) highest_sack: Option<SeqNumber>,
    /// `reordering`: the reordering degree in packets.
    pub(crate) reordering: u32,
    /// `reord_seen`: reorderings detected.
    pub(crate) reord_seen: u32,
    /// `undo_marker`: snd_una when the reduction that may be undone started.
    pub(crate) undo_marker: Option<SeqNumber>,
    /// `undo_retrans`: retransmissions not yet proven spurious by D-SACK (-1: none made).
    pub(crate) undo_retrans: i32,
    /// `prior_ssthresh`: ssthresh before the reduction (0: no undo of ssthresh).
    pub(crate) prior_ssthresh: u32,
    /// `prior_cwnd`: cwnd before the reduction.
    pub(crate) prior_cwnd: u32,
    /// `prr_delivered` (packets).
    pub(crate) prr_delivered: u32,
    /// `prr_out` (packets).
    pub(crate) prr_out: u32,
    /// `delivered`: packets delivered (ACKed or SACKed).
    pub(crate) delivered: u32,
    /// Bytes delivered (ACKed or SACKed for the first time), for the congestion hooks that
    /// count bytes.
    pub(crate) delivered_bytes: u64,
    /// `lost`: packets ever marked lost.
    pub(crate) lost: u32,
    /// `total_retrans`.
    pub(crate) total_retrans: u32,
    /// `dsack_dups`.
    pub(crate) dsack_dups: u32,
    /// `is_sack_reneg`.
    pub(crate) is_sack_reneg: bool,
    /// `frto`: F-RTO is running for the current timeout.
    pub(crate) frto: bool,
    /// `tlp_high_seq`: snd_nxt when the outstanding loss probe went out.
    pub(crate) tlp_high_seq: Option<SeqNumber>,
    /// `tlp_retrans`: the probe was a retransmission.
    pub(crate) tlp_retrans: bool,
    /// RACK state.
    pub(crate) rack: Rack,
    /// Windowed minimum RTT and when it was taken (`rtt_min`).
    pub(crate) min_rtt: Option<(Duration, Instant)>,
    /// Receiver side: the D-SACK block for the next ACK (`duplicate_sack`, `rx_opt.dsack`).
    pub(crate) dsack: Option<(SeqNumber, SeqNumber)>,
    /// The rate sample's `prior_delivered`: `delivered` when the most recently sent of the
    /// segments this ACK delivered went out (none: nothing delivered yet).
    pub(crate) rs_prior_delivered: Option<u32>,
    /// Time of the first retransmission of the episode (Linux's `retrans_stamp` as Eifel
    /// uses it, `tcp_packet_delayed`).
    pub(crate) first_rtx_stamp: Option<Instant>,
    /// The TSecr of the ACK being processed, when it has one (`rx_opt.rcv_tsecr`).
    pub(crate) rcv_tsecr: Option<u32>,
    /// The not-yet-SACKed records in transmission order (`tsorted_sent_queue`), for RACK.
    pub(crate) tsorted: TsList,
    /// The SACK blocks of the previous ACK, sorted (`recv_sack_cache`); `(0, 0)`: empty.
    pub(crate) recv_sack_cache: [(SeqNumber, SeqNumber); 4],
    /// Where the retransmission walk resumes (`retransmit_skb_hint`): a sequence number
    /// inside the record to start from.
    pub(crate) retransmit_hint: Option<SeqNumber>,
    /// Diagnostics: scoreboard records visited by the SACK tagging, the RACK scan and the
    /// retransmission walk (the cost of the per-ACK work, for the tests).
    pub(crate) visited: u64,
}

impl Default for Scoreboard {
    fn default() -> Self {
        Scoreboard {
            q: VecDeque::new(),
            packets_out: Count::default(),
            sacked_out: Count::default(),
            lost_out: Count::default(),
            retrans_out: Count::default(),
            highest_sack: None,
            reordering: TCP_REORDERING,
            reord_seen: 0,
            undo_marker: None,
            undo_retrans: 0,
            prior_ssthresh: 0,
            prior_cwnd: 0,
            prr_delivered: 0,
            prr_out: 0,
            delivered: 0,
            delivered_bytes: 0,
            lost: 0,
            total_retrans: 0,
            dsack_dups: 0,
            is_sack_reneg: false,
            frto: false,
            tlp_high_seq: None,
            tlp_retrans: false,
            rack: Rack::default(),
            min_rtt: None,
            dsack: None,
            first_rtx_stamp: None,
            rs_prior_delivered: None,
            rcv_tsecr: None,
            tsorted: TsList::default(),
            recv_sack_cache: [(SeqNumber(0), SeqNumber(0)); 4],
            retransmit_hint: None,
            visited: 0,
        }
    }
}

/// The window of the min-RTT filter (`sysctl_tcp_min_rtt_wlen`, 300 s).
const MIN_RTT_WLEN: Duration = Duration::from_secs(300);

impl Scoreboard {
    /// Records a segment sent for the first time (`tcp_event_new_data_sent` queues the
    /// skb on the rtx queue).
    pub(crate) fn push(&mut self, seq: SeqNumber, end: SeqNumber, fin: bool, now: Instant) {
        let e = TxSkb {
            seq,
            end,
            fin,
            sacked: 0,
            mstamp: now,
            tx_delivered: self.delivered,
            ts: self.tsorted.push_tail(seq),
        };
        self.packets_out.add(e.len());
        self.q.push_back(e);
    }

    /// Forgets everything outstanding (the connection is gone or reset).
    pub(crate) fn clear(&mut self) {
        self.q = VecDeque::new();
        self.packets_out = Count::default();
        self.sacked_out = Count::default();
        self.lost_out = Count::default();
        self.retrans_out = Count::default();
        self.highest_sack = None;
        self.dsack = None;
        self.tsorted.clear();
        self.recv_sack_cache = [(SeqNumber(0), SeqNumber(0)); 4];
        self.retransmit_hint = None;
    }

    /// The index of the record starting at `seq`.
    pub(crate) fn find(&self, seq: SeqNumber) -> Option<usize> {
        let i = self.q.partition_point(|e| e.seq.before(seq));
        self.q.get(i).filter(|e| e.seq == seq).map(|_| i)
    }

    /// `list_del_init(&skb->tcp_tsorted_anchor)`: record `i` leaves the time-sorted list.
    pub(crate) fn ts_unlink(&mut self, i: usize) {
        if let Some(e) = self.q.get_mut(i) {
            let id = core::mem::replace(&mut e.ts, TS_NIL);
            self.tsorted.remove(id);
        }
    }

    /// `tcp_update_skb_after_send`'s `list_move_tail`: record `i` was (re)sent just now.
    pub(crate) fn ts_move_tail(&mut self, i: usize) {
        self.ts_unlink(i);
        if let Some(seq) = self.q.get(i).map(|e| e.seq) {
            let id = self.tsorted.push_tail(seq);
            self.q[i].ts = id;
        }
    }

    /// `tcp_clear_all_retrans_hints`.
    pub(crate) fn clear_retrans_hints(&mut self) {
        self.retransmit_hint = None;
    }

    /// `tcp_verify_retransmit_hint`: record `i` is being marked lost; the retransmission
    /// walk must not start after it.
    fn verify_retransmit_hint(&mut self, i: usize) {
        let Some(seq) = self.q.get(i).map(|e| e.seq) else {
            return;
        };
        match self.retransmit_hint {
            None if self.retrans_out.pkts >= self.lost_out.pkts => self.retransmit_hint = Some(seq),
            Some(h) if seq.before(h) => self.retransmit_hint = Some(seq),
            _ => {}
        }
    }

    /// Where the retransmission walk starts: the record holding the hint, else the head.
    pub(crate) fn retransmit_start(&self) -> usize {
        match self.retransmit_hint {
            Some(h) => self.q.partition_point(|e| !e.end.after(h)),
            None => 0,
        }
    }

    /// `!tcp_is_rack`: `tcp_recovery` without `TCP_RACK_LOSS_DETECTION`.
    pub(crate) fn rack_disabled(&self, tcp_recovery: u8) -> bool {
        tcp_recovery & 1 == 0
    }

    /// `tcp_left_out` in packets.
    pub(crate) fn left_out(&self) -> u32 {
        self.sacked_out.pkts + self.lost_out.pkts
    }

    /// `tcp_packets_in_flight`: RFC 6675's "pipe" in packets.
    pub(crate) fn packets_in_flight(&self) -> u32 {
        (self.packets_out.pkts + self.retrans_out.pkts).saturating_sub(self.left_out())
    }

    /// The same in bytes, out of `outstanding` bytes of sequence space.
    pub(crate) fn bytes_in_flight(&self, outstanding: u32) -> u32 {
        (outstanding + self.retrans_out.bytes)
            .saturating_sub(self.sacked_out.bytes + self.lost_out.bytes)
    }

    /// `tcp_highest_sack_seq`.
    pub(crate) fn highest_sack_seq(&self, snd_una: SeqNumber, snd_nxt: SeqNumber) -> SeqNumber {
        if self.sacked_out.pkts == 0 {
            return snd_una;
        }
        self.highest_sack.unwrap_or(snd_nxt)
    }

    /// `tcp_any_retrans_done`.
    pub(crate) fn any_retrans_done(&self) -> bool {
        self.retrans_out.pkts > 0
            || self
                .q
                .front()
                .is_some_and(|e| e.sacked & TCPCB_EVER_RETRANS != 0)
    }

    /// `tcp_mark_skb_lost` on record `i`. Returns whether a retransmission was lost again.
    pub(crate) fn mark_lost(&mut self, i: usize) -> bool {
        let Some(e) = self.q.get_mut(i) else {
            return false;
        };
        if e.sacked & TCPCB_SACKED_ACKED != 0 {
            return false;
        }
        self.verify_retransmit_hint(i);
        let Some(e) = self.q.get_mut(i) else {
            return false;
        };
        let len = e.len();
        if e.sacked & TCPCB_LOST != 0 {
            if e.sacked & TCPCB_SACKED_RETRANS != 0 {
                // A retransmission lost again (TCPLostRetransmit).
                e.sacked &= !TCPCB_SACKED_RETRANS;
                self.retrans_out.sub(len);
                return true;
            }
        } else {
            e.sacked |= TCPCB_LOST;
            self.lost_out.add(len);
            self.lost = self.lost.wrapping_add(1);
        }
        false
    }

    /// `tcp_fragment` on record `i`: its first `first_len` bytes stay, the rest becomes a
    /// record of its own with the same marks and send time (`tcp_adjust_pcount`).
    pub(crate) fn split(&mut self, i: usize, first_len: u32) {
        let Some(&e) = self.q.get(i) else {
            return;
        };
        if first_len == 0 || first_len >= e.len() {
            return;
        }
        let at = e.seq + first_len as usize;
        let head = TxSkb {
            end: at,
            fin: false,
            ..e
        };
        // tcp_fragment: the new skb joins the time-sorted list right after the old one.
        let ts = if e.ts == TS_NIL {
            TS_NIL
        } else {
            self.tsorted.insert_after(e.ts, at)
        };
        let tail = TxSkb { seq: at, ts, ..e };
        self.q[i] = head;
        self.q.insert(i + 1, tail);
        self.packets_out.pkts += 1;
        for (bit, c) in [
            (TCPCB_SACKED_ACKED, &mut self.sacked_out),
            (TCPCB_LOST, &mut self.lost_out),
            (TCPCB_SACKED_RETRANS, &mut self.retrans_out),
        ] {
            if e.sacked & bit != 0 {
                c.pkts += 1;
            }
        }
    }

    /// `tcp_rate_skb_delivered`: a segment sent when `delivered` was `tx_delivered` was
    /// delivered; the sample keeps the latest.
    pub(crate) fn rate_delivered(&mut self, tx_delivered: u32) {
        if self.rs_prior_delivered.is_none_or(|p| tx_delivered > p) {
            self.rs_prior_delivered = Some(tx_delivered);
        }
    }

    /// `tcp_collapse_retrans`: record `i + 1` joins record `i` (whose marks the merged
    /// record keeps; `TCPCB_EVER_RETRANS` carries over), and the counters follow
    /// (`tcp_adjust_pcount`).
    pub(crate) fn collapse_next(&mut self, i: usize) {
        let (Some(&to), Some(&next)) = (self.q.get(i), self.q.get(i + 1)) else {
            return;
        };
        let n = next.len();
        self.packets_out.pkts = self.packets_out.pkts.saturating_sub(1);
        for (bit, c) in [
            (TCPCB_SACKED_ACKED, &mut self.sacked_out),
            (TCPCB_LOST, &mut self.lost_out),
            (TCPCB_SACKED_RETRANS, &mut self.retrans_out),
        ] {
            if next.sacked & bit != 0 {
                c.sub(n);
            }
            if to.sacked & bit != 0 {
                c.bytes = c.bytes.saturating_add(n);
            }
        }
        if let Some(x) = self.q.get_mut(i) {
            x.end = next.end;
            x.fin |= next.fin;
            x.sacked |= next.sacked & TCPCB_EVER_RETRANS;
        }
        self.ts_unlink(i + 1);
        self.q.remove(i + 1);
    }

    /// `tcp_update_rtt_min`: a windowed minimum of the RTT.
    ///
    /// Deviation from Linux: a running minimum that restarts when the kept one is older
    /// than the 300 s window, rather than Kathleen Nichols' three-sample min-max filter.
    pub(crate) fn update_rtt_min(&mut self, rtt: Duration, now: Instant) {
        let rtt = rtt.max(Duration::from_micros(1));
        match self.min_rtt {
            Some((m, t)) if rtt > m && now.saturating_since(t) <= MIN_RTT_WLEN => {}
            _ => self.min_rtt = Some((rtt, now)),
        }
    }

    /// `tcp_min_rtt`; none before any sample (Linux: ~0U).
    pub(crate) fn min_rtt(&self) -> Option<Duration> {
        self.min_rtt.map(|m| m.0)
    }

    /// `tcp_add_reno_sack`: a non-SACK peer's duplicate ACK counts as one SACKed packet.
    pub(crate) fn add_reno_sack(&mut self, num_dupack: u32, mss: u32) {
        if num_dupack == 0 {
            return;
        }
        let prior = self.sacked_out.pkts;
        self.sacked_out.pkts += num_dupack;
        self.limit_reno_sacked();
        self.sacked_out.bytes = self.sacked_out.pkts.saturating_mul(mss);
        self.delivered = self
            .delivered
            .wrapping_add(self.sacked_out.pkts.saturating_sub(prior));
    }

    /// `tcp_limit_reno_sacked`: SACKed plus lost never exceeds what is outstanding.
    fn limit_reno_sacked(&mut self) {
        let holes = self.lost_out.pkts.max(1).min(self.packets_out.pkts);
        if self.sacked_out.pkts + holes > self.packets_out.pkts {
            self.sacked_out.pkts = self.packets_out.pkts - holes;
        }
    }

    /// `tcp_remove_reno_sacks`: `acked` packets were cumulatively acknowledged.
    pub(crate) fn remove_reno_sacks(&mut self, acked: u32, mss: u32) {
        if acked > 0 {
            self.delivered = self
                .delivered
                .wrapping_add(acked.saturating_sub(self.sacked_out.pkts).max(1));
            if acked > self.sacked_out.pkts {
                self.sacked_out.pkts = 0;
            } else {
                self.sacked_out.pkts -= acked - 1;
            }
        }
        self.limit_reno_sacked();
        self.sacked_out.bytes = self.sacked_out.pkts.saturating_mul(mss);
    }

    /// `tcp_reset_reno_sack`.
    pub(crate) fn reset_reno_sack(&mut self) {
        self.sacked_out = Count::default();
    }

    /// `tcp_sacktag_one` for record `i`; `dup_sack`: the block was a D-SACK.
    fn sacktag_one(&mut self, i: usize, dup_sack: bool, c: &SackCtx, st: &mut SackState) {
        let Some(&e) = self.q.get(i) else {
            return;
        };
        let (snd_una, snd_nxt, high_seq, now) = (c.snd_una, c.snd_nxt, c.high_seq, c.now);
        let len = e.len();
        let mut sacked = e.sacked;
        // Account a D-SACK for a retransmitted segment.
        if dup_sack && sacked & TCPCB_RETRANS != 0 {
            if let Some(m) = self.undo_marker {
                if self.undo_retrans > 0 && e.end.after(m) {
                    self.undo_retrans = (self.undo_retrans - 1).max(0);
                }
            }
            if sacked & TCPCB_SACKED_ACKED != 0 && st.reord.is_none_or(|r| e.seq.before(r)) {
                st.reord = Some(e.seq);
            }
        }
        if !e.end.after(snd_una) {
            return;
        }
        if sacked & TCPCB_SACKED_ACKED == 0 {
            self.rack_advance(sacked, e.end, e.mstamp, now);
            self.rate_delivered(e.tx_delivered);
            if sacked & TCPCB_SACKED_RETRANS != 0 {
                // A retransmission believed still in flight stays counted unless lost.
                if sacked & TCPCB_LOST != 0 {
                    sacked &= !(TCPCB_LOST | TCPCB_SACKED_RETRANS);
                    self.lost_out.sub(len);
                    self.retrans_out.sub(len);
                }
            } else {
                if sacked & TCPCB_RETRANS == 0 {
                    // A never-retransmitted segment in a hole: reordering.
                    let fack = self.highest_sack_seq(snd_una, snd_nxt);
                    if e.seq.before(fack) && st.reord.is_none_or(|r| e.seq.before(r)) {
                        st.reord = Some(e.seq);
                    }
                    if !e.end.after(high_seq) {
                        st.flag |= flag::ORIG_SACK_ACKED;
                    }
                    if st.first_sackt.is_none() {
                        st.first_sackt = Some(e.mstamp);
                    }
                }
                if sacked & TCPCB_LOST != 0 {
                    sacked &= !TCPCB_LOST;
                    self.lost_out.sub(len);
                }
            }
            sacked |= TCPCB_SACKED_ACKED;
            st.flag |= flag::DATA_SACKED;
            self.sacked_out.add(len);
            st.sack_delivered = st.sack_delivered.saturating_add(1);
            st.sacked_bytes += len;
            self.delivered_bytes += u64::from(len);
            if self.highest_sack.is_none_or(|h| e.end.after(h)) || self.sacked_out.pkts == 1 {
                self.highest_sack = Some(e.end);
            }
        }
        // D-SACK for a retransmission still believed in flight: it was not needed.
        if dup_sack && sacked & TCPCB_SACKED_RETRANS != 0 {
            sacked &= !TCPCB_SACKED_RETRANS;
            self.retrans_out.sub(len);
        }
        if let Some(x) = self.q.get_mut(i) {
            x.sacked = sacked;
        }
        if sacked & TCPCB_SACKED_ACKED != 0 {
            self.ts_unlink(i);
        }
    }
}

/// The SACK blocks of an arriving segment, in wire order.
pub(crate) type SackBlocks = [Option<(u32, u32)>; 4];

/// The sender side: what the sacktag pass needs from the socket.
pub(crate) struct SackCtx {
    pub(crate) ack: SeqNumber,
    pub(crate) prior_una: SeqNumber,
    pub(crate) snd_una: SeqNumber,
    pub(crate) snd_nxt: SeqNumber,
    pub(crate) high_seq: SeqNumber,
    pub(crate) max_window: u32,
    pub(crate) mss: u32,
    pub(crate) now: Instant,
    /// The congestion state is Loss (`icsk_ca_state == TCP_CA_Loss`).
    pub(crate) in_loss: bool,
}

/// Counters the SACK pass bumps (`LINUX_MIB_*`).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SackMib {
    pub(crate) dsack_recv: u64,
    pub(crate) dsack_ofo_recv: u64,
    pub(crate) sack_discard: u64,
    pub(crate) dsack_ignored_old: u64,
    pub(crate) dsack_ignored_no_undo: u64,
    pub(crate) sack_reorder: u64,
}

impl Scoreboard {
    /// `tcp_is_sackblock_valid` (RFC 2883 §4 and the wrap-around rules of tcp_input.c).
    pub(crate) fn is_sackblock_valid(
        &self,
        c: &SackCtx,
        is_dsack: bool,
        start: SeqNumber,
        end: SeqNumber,
    ) -> bool {
        // Too far in the future, or reversed.
        if end.after(c.snd_nxt) || !start.before(end) {
            return false;
        }
        if !start.before(c.snd_nxt) {
            return false;
        }
        // In the outstanding window: a plain SACK block.
        if start.after(c.snd_una) {
            return true;
        }
        let Some(marker) = self.undo_marker else {
            return false;
        };
        if !is_dsack {
            return false;
        }
        // A D-SACK must lie below snd_una entirely.
        if end.after(c.snd_una) {
            return false;
        }
        if !start.before(marker) {
            return true;
        }
        if !end.after(marker) {
            return false;
        }
        !start.before(end - c.max_window as usize)
    }

    /// `tcp_check_dsack` + `tcp_dsack_seen` (RFC 2883 §4): the first block is a D-SACK when
    /// it lies below the cumulative ACK, or inside the second block.
    fn check_dsack(
        &mut self,
        c: &SackCtx,
        b: &[(SeqNumber, SeqNumber)],
        st: &mut SackState,
        mib: &mut SackMib,
    ) -> bool {
        let Some(&(s0, e0)) = b.first() else {
            return false;
        };
        if s0.before(c.ack) {
            mib.dsack_recv += 1;
        } else if let Some(&(s1, e1)) = b.get(1) {
            if e0.after(e1) || s0.before(s1) {
                return false;
            }
            mib.dsack_ofo_recv += 1;
        } else {
            return false;
        }
        // tcp_dsack_seen.
        if !s0.before(e0) {
            return false;
        }
        let seq_len = e0.diff(s0) as u32;
        if seq_len > c.max_window {
            return false;
        }
        let mut dup_segs = 1;
        if seq_len > c.mss {
            dup_segs = seq_len.div_ceil(c.mss.max(1));
        } else if self.tlp_high_seq == Some(e0) {
            st.flag |= flag::DSACK_TLP;
        }
        // Saturating: a peer can send any number of would-be D-SACKs (Linux's u32 wraps).
        self.dsack_dups = self.dsack_dups.saturating_add(dup_segs);
        if self.dsack_dups > self.total_retrans {
            return false;
        }
        if self.reord_seen > 0 && st.flag & flag::DSACK_TLP == 0 {
            self.rack.dsack_seen = true;
        }
        st.flag |= flag::DSACKING_ACK;
        st.sack_delivered = st.sack_delivered.saturating_add(dup_segs);
        // A D-SACK for data already forgotten: dumb counting.
        if let Some(m) = self.undo_marker {
            if self.undo_retrans > 0 && !e0.after(c.prior_una) && e0.after(m) {
                self.undo_retrans = (self.undo_retrans - dup_segs as i32).max(0);
            }
        }
        true
    }

    /// `tcp_sacktag_write_queue`: validates the blocks, detects a D-SACK, and tags every
    /// queued segment a block covers. Returns the ACK flags it raised.
    ///
    /// A block covering only part of a record tags nothing: every record is one packet
    /// (no TSO), and `tcp_match_skb_to_sack` splits only skbs of several packets.
    ///
    /// The cost is that of what is new: the blocks are sorted, the part of a block that a
    /// block of the previous ACK already covered is skipped (`recv_sack_cache`), and the
    /// walk starts at the first record of the rest by binary search (`tcp_sacktag_skip`),
    /// so a block that grows by one segment per ACK visits about one record per ACK.
    pub(crate) fn sacktag_write_queue(
        &mut self,
        c: &SackCtx,
        blocks: &SackBlocks,
        st: &mut SackState,
        mib: &mut SackMib,
    ) {
        let mut b = [(SeqNumber(0), SeqNumber(0)); 4];
        let mut n = 0;
        for (s, e) in blocks.iter().flatten() {
            b[n] = (SeqNumber(*s), SeqNumber(*e));
            n += 1;
        }
        if n == 0 {
            return;
        }
        if self.sacked_out.pkts == 0 {
            self.highest_sack = None;
        }
        let found_dup = self.check_dsack(c, &b[..n], st, mib);
        // Too old an ACK to trust its blocks.
        if c.ack.before(c.prior_una - c.max_window as usize) {
            return;
        }
        if self.packets_out.pkts == 0 {
            return;
        }
        // The blocks worth walking, with whether each is the D-SACK.
        let mut used = [(SeqNumber(0), SeqNumber(0), false); 4];
        let mut nused = 0;
        for (i, &(start, end)) in b[..n].iter().enumerate() {
            let dup_sack = i == 0 && found_dup;
            if !self.is_sackblock_valid(c, dup_sack, start, end) {
                if dup_sack {
                    if self.undo_marker.is_none() {
                        mib.dsack_ignored_no_undo += 1;
                    } else {
                        mib.dsack_ignored_old += 1;
                    }
                } else {
                    // Old blocks carried by a reordered ACK are not counted.
                    if c.ack != c.snd_una && !end.after(c.snd_una) {
                        continue;
                    }
                    mib.sack_discard += 1;
                }
                continue;
            }
            if !end.after(c.prior_una) {
                continue;
            }
            used[nused] = (start, end, dup_sack);
            nused += 1;
        }
        // In sequence order, so that the queue is walked forward (Linux's bubble sort).
        let used = &mut used[..nused];
        for i in (1..used.len()).rev() {
            for j in 0..i {
                if used[j].0.after(used[j + 1].0) {
                    used.swap(j, j + 1);
                }
            }
        }
        // The previous ACK's blocks are known to be tagged, unless nothing is SACKed now.
        let cache = if self.sacked_out.pkts == 0 {
            [(SeqNumber(0), SeqNumber(0)); 4]
        } else {
            self.recv_sack_cache
        };
        for &(start, end, dup_sack) in used.iter() {
            // The parts of the block no cached block covers (all of it for a D-SACK).
            let mut todo = [(start, end); 5];
            let mut ntodo = 1;
            if !dup_sack {
                ntodo = 0;
                let mut from = start;
                for &(cs, ce) in cache.iter() {
                    if cs == ce || !ce.after(from) || !cs.before(end) {
                        continue;
                    }
                    if cs.after(from) {
                        todo[ntodo] = (from, cs);
                        ntodo += 1;
                    }
                    from = ce;
                    if !from.before(end) {
                        break;
                    }
                }
                if from.before(end) {
                    todo[ntodo] = (from, end);
                    ntodo += 1;
                }
            }
            for &(ps, pe) in &todo[..ntodo] {
                // tcp_sacktag_skip: the first record ending after the part's start.
                let mut i = self.q.partition_point(|e| !e.end.after(ps));
                while let Some(e) = self.q.get(i) {
                    if !e.seq.before(pe) {
                        break;
                    }
                    self.visited += 1;
                    // Whole records of the block only (a record may straddle a part's edge).
                    if !e.seq.before(start) && !e.end.after(end) {
                        self.sacktag_one(i, dup_sack, c, st);
                    }
                    i += 1;
                }
            }
        }
        // Remember this ACK's blocks for the next one.
        self.recv_sack_cache = [(SeqNumber(0), SeqNumber(0)); 4];
        let skip = 4 - used.len();
        for (k, &(s, e, _)) in used.iter().enumerate() {
            self.recv_sack_cache[skip + k] = (s, e);
        }
        // tcp_check_sack_reordering: a hole below the highest SACK filled by original data;
        // not while in Loss without an undo marker (the timeout marked everything lost, so
        // what arrives out of order says nothing about the path's reordering).
        if !c.in_loss || self.undo_marker.is_some() {
            if let Some(r) = st.reord {
                let fack = self.highest_sack_seq(c.snd_una, c.snd_nxt);
                if self.check_sack_reordering(r, fack, c.mss) {
                    mib.sack_reorder += 1;
                }
            }
        }
    }

    /// `tcp_check_sack_reordering`: `low_seq` was delivered after data above it; the
    /// reordering degree grows to cover the distance. Returns whether reordering was seen.
    pub(crate) fn check_sack_reordering(
        &mut self,
        low_seq: SeqNumber,
        fack: SeqNumber,
        mss: u32,
    ) -> bool {
        if !low_seq.before(fack) || mss == 0 {
            return false;
        }
        let metric = fack.diff(low_seq) as u32;
        if metric > self.reordering.saturating_mul(mss) {
            self.reordering = metric.div_ceil(mss).min(TCP_MAX_REORDERING);
        }
        self.reord_seen += 1;
        true
    }

    /// The receiver's `tcp_dsack_set`: report `[seq, end)` as a duplicate in the next ACK.
    /// Returns whether it was old (below RCV.NXT: TCPDSACKOldSent) rather than out of
    /// order (TCPDSACKOfoSent).
    pub(crate) fn dsack_set(&mut self, seq: SeqNumber, end: SeqNumber, rcv_nxt: SeqNumber) -> bool {
        self.dsack = Some((seq, end));
        seq.before(rcv_nxt)
    }

    /// `tcp_dsack_extend`: widen the pending D-SACK block, or start one. Returns `None`
    /// when it extended a block (nothing to count), else what `dsack_set` returned.
    pub(crate) fn dsack_extend(
        &mut self,
        seq: SeqNumber,
        end: SeqNumber,
        rcv_nxt: SeqNumber,
    ) -> Option<bool> {
        match self.dsack {
            None => Some(self.dsack_set(seq, end, rcv_nxt)),
            Some((s, e)) => {
                // tcp_sack_extend.
                let s = if seq.before(s) { seq } else { s };
                let e = e.max_seq(end);
                self.dsack = Some((s, e));
                None
            }
        }
    }
}

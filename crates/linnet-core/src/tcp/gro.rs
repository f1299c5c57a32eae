//! Receive batching for TCP: within one receive batch of a driver, the ACK owed for a run of
//! consecutive in-order segments of one connection is decided once, at the end of the run,
//! as Linux decides it for the one large segment that GRO builds from such a run.
//!
//! Linux: net/core/gro.c (`dev_gro_receive`, `gro_flush_oldest`, `napi_gro_flush` at the
//! end of a NAPI poll, `MAX_GRO_SKBS` x `GRO_HASH_BUCKETS` held flows, `gro_max_size`),
//! net/ipv4/tcp_offload.c (`tcp_gro_receive`: which segments merge and which end the
//! merged segment), net/ipv4/af_inet.c (`inet_gro_receive`), net/ipv4/tcp_input.c
//! (`__tcp_ack_snd_check`, which then runs once for the merged segment).
//! RFCs: RFC 1122 §4.2.3.2 and RFC 5681 §4.2 (an ACK at least every second full-sized
//! segment, "a TCP receiver SHOULD send an immediate duplicate ACK when an out-of-order
//! segment arrives": both hold for the merged segment as GRO delivers it).
//!
//! # What a batch is
//! A driver that hands the stack many frames at once (the runtime's `RxBatch`: the role of
//! one NAPI poll) calls [`Stack::rx_batch_begin`] before the first and
//! [`Stack::rx_batch_end`] after the last. Without these calls (the scripted-peer tests,
//! the simulator) every segment is processed exactly as before: this module does nothing.
//!
//! # The rule, as `tcp_gro_receive` has it
//! A segment *joins* the run held for its connection when it continues it: its sequence
//! number is the run's next one, it carries the same ACK number, the same options (the
//! timestamp pair and SACK blocks compared whole, as GRO compares the option bytes), the
//! same flags except CWR, FIN and PSH (and no CWR of its own), the same ECN field, and no
//! more payload than the run's first segment (GRO's `mss`), and the run stays below 64 KB
//! (`gro_max_size`). A segment that does not join ends the held run first: the run's ACK
//! decision is made (`__tcp_ack_snd_check`), then the segment is processed.
//! A segment is *final*, ending its run once processed, when it carries PSH, URG, FIN,
//! SYN or RST, or is shorter than the run's first segment.
//!
//! Processing is otherwise per segment, unchanged: each segment is queued, acknowledged data
//! is taken off our send queue, SACK blocks are tagged. Only the "ACK now or arm the delayed
//! ACK" decision of an in-order segment that is neither final nor followed by anything that
//! asks for an ACK at once waits for the end of the run (the next non-joining segment, the
//! end of the batch, or the eviction of the oldest held run when 64 are held, as
//! `gro_flush_oldest`). Anything that sets "ACK now" (out-of-order data, a duplicate, a
//! filled hole, a zero window, a receive-queue drop, an ECN CE mark) or finds an
//! out-of-order queue is acknowledged at once as before: duplicate ACKs carrying SACK or
//! D-SACK blocks are never held or merged. Loopback traffic (`process_backlog`) is never
//! held: Linux's loopback does not go through GRO.
//!
//! Deviation from Linux: GRO merges the segments before TCP sees them, so Linux runs TCP's
//! receive path once per merged segment; linnet runs it per segment and defers only the ACK
//! decision, which gives the same ACKs on the wire (one ACK covering the run, or the
//! delayed-ACK timer armed once at its end). The IP-level conditions of `inet_gro_receive`
//! that a segment does not carry into TCP here (TTL, IP ID, IP options) are not compared.
//! GRO has no MIB counter, so none is added.

use alloc::collections::VecDeque;

use linnet_wire::tcp::{Flags, SeqNumber};

use super::input::Seg;
use super::sack::SackBlocks;
use super::{TcpSock, TcpState};
use crate::stack::Stack;

/// Largest merged segment (`gro_max_size`, `GRO_LEGACY_MAX_SIZE` = 65536 by default).
const GRO_MAX_SIZE: usize = 65_536;
/// Runs held at once per batch (`MAX_GRO_SKBS` 8 per bucket x `GRO_HASH_BUCKETS` 8); one
/// more evicts the oldest, whose ACK decision is then made (`gro_flush_oldest`).
pub(crate) const GRO_MAX_HELD: usize = 64;

/// The run of segments whose ACK decision is held (the merged skb GRO holds for the flow).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct GroRun {
    /// Sequence number the next joining segment must start at.
    next_seq: SeqNumber,
    /// Payload bytes so far.
    len: usize,
    /// The first segment's payload length (`gso_size`).
    mss: usize,
    /// What every joining segment must repeat (`ack_seq`, the option bytes, the flags,
    /// the ECN field).
    ack: Option<SeqNumber>,
    ts: Option<(u32, u32)>,
    sacks: SackBlocks,
    flags: Flags,
    ecn: u8,
}

/// Per-socket receive-batch state.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct GroState {
    /// The run whose ACK decision waits (the socket is in the batch's held list).
    pub(crate) run: Option<GroRun>,
    /// Set while a segment that may leave its ACK decision for later is processed.
    pub(crate) may_hold: bool,
    /// Set by `tcp_ack_snd_check` when it left the decision for later.
    pub(crate) held: bool,
}

/// The batch: whether one is open, and the sockets with a held run, oldest first.
#[derive(Debug, Default)]
pub(crate) struct GroBatch {
    open: bool,
    held: VecDeque<(u32, u32)>,
}

impl GroBatch {
    /// Whether a batch is open.
    pub(crate) fn is_open(&self) -> bool {
        self.open
    }
}

/// GRO's flow-level flags compared between segments: all but CWR, FIN and PSH.
fn flags_key(f: Flags) -> Flags {
    Flags {
        cwr: false,
        fin: false,
        psh: false,
        ..f
    }
}

impl GroRun {
    /// `tcp_gro_receive`'s merge test: does `seg` continue this run?
    fn joins(&self, seg: &Seg<'_>) -> bool {
        let len = seg.payload.len();
        len > 0
            && seg.seq == self.next_seq
            && seg.ack == self.ack
            && seg.ts == self.ts
            && seg.sacks == self.sacks
            && !seg.flags.cwr
            && flags_key(seg.flags) == self.flags
            && seg.ecn == self.ecn
            && len <= self.mss
            && self.len + len < GRO_MAX_SIZE
    }
}

/// `tcp_gro_receive`'s flush test for a segment that was merged: it ends the merged segment.
fn is_final(seg: &Seg<'_>, run: Option<&GroRun>) -> bool {
    let f = seg.flags;
    f.psh || f.urg || f.fin || f.syn || f.rst || run.is_some_and(|r| seg.payload.len() < r.mss)
}

impl Stack {
    /// Starts a receive batch (the start of a NAPI poll): until [`Stack::rx_batch_end`],
    /// the ACK of consecutive in-order TCP segments of one connection is decided once per
    /// run, as for the segment Linux's GRO merges them into (see the `tcp::gro` module
    /// doc). Call it before handing the stack the frames of one device read; without it,
    /// every segment is acknowledged as it is processed.
    pub fn rx_batch_begin(&mut self) {
        self.tcp.gro.open = true;
    }

    /// Ends the receive batch (`napi_gro_flush` at the end of a NAPI poll): every held
    /// run gets its ACK decision now (an ACK, or the delayed-ACK timer). Call it after the
    /// last frame of the batch, before draining [`Stack::poll_transmit`]; `poll_transmit`
    /// ends an open batch itself, so no held ACK can be forgotten.
    pub fn rx_batch_end(&mut self) {
        self.tcp.gro.open = false;
        while let Some(id) = self.tcp.gro.held.pop_front() {
            self.tcp_gro_flush_id(id);
        }
    }

    /// Whether a receive batch is open.
    pub fn rx_batch_open(&self) -> bool {
        self.tcp.gro.is_open()
    }

    /// The held run of socket `id` gets its ACK decision (the socket is in the table).
    fn tcp_gro_flush_id(&mut self, (idx, gen): (u32, u32)) {
        if self.tcp.sock_mut(idx, gen).is_none() {
            return;
        }
        let Some(mut sk) = self.tcp.take(idx) else {
            return;
        };
        self.tcp_gro_flush(&mut sk);
        self.tcp_put(sk);
    }

    /// Ends `sk`'s held run: `__tcp_ack_snd_check` for everything it received.
    pub(crate) fn tcp_gro_flush(&mut self, sk: &mut TcpSock) {
        if sk.gro.run.take().is_some() {
            self.tcp_ack_snd_check(sk);
        }
    }

    /// Before `seg` is processed on `sk`: a held run that `seg` does not continue gets its
    /// ACK decision first, and `may_hold` says whether `seg`'s own decision may wait.
    pub(crate) fn tcp_gro_receive(&mut self, sk: &mut TcpSock, seg: &Seg<'_>) {
        sk.gro.may_hold = false;
        sk.gro.held = false;
        let joins = sk.gro.run.as_ref().map(|r| r.joins(seg));
        if joins == Some(false) {
            // Remove it from the held list too: its decision is made now. The list is
            // short (at most GRO_MAX_HELD).
            let id = sk.id;
            self.tcp.gro.held.retain(|h| *h != id);
            self.tcp_gro_flush(sk);
        }
        if !self.tcp.gro.open
            || seg.iif == crate::stack::LOOPBACK_IFINDEX
            || seg.payload.is_empty()
            || !matches!(
                sk.state,
                TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
            )
            || is_final(seg, sk.gro.run.as_ref())
            || seg.flags.cwr
        {
            return;
        }
        sk.gro.may_hold = true;
    }

    /// After `seg` was processed on `sk`: extend or start its held run if the ACK decision
    /// was left for later, else forget the run (its ACK decision was made with `seg`'s).
    pub(crate) fn tcp_gro_complete(&mut self, sk: &mut TcpSock, seg: &Seg<'_>) {
        let held = core::mem::take(&mut sk.gro.held);
        sk.gro.may_hold = false;
        if !held {
            if sk.gro.run.take().is_some() {
                let id = sk.id;
                self.tcp.gro.held.retain(|h| *h != id);
            }
            return;
        }
        let len = seg.payload.len();
        match sk.gro.run.as_mut() {
            Some(r) => {
                r.next_seq = seg.seq + len;
                r.len += len;
            }
            None => {
                sk.gro.run = Some(GroRun {
                    next_seq: seg.seq + len,
                    len,
                    mss: len,
                    ack: seg.ack,
                    ts: seg.ts,
                    sacks: seg.sacks,
                    flags: flags_key(seg.flags),
                    ecn: seg.ecn,
                });
                if self.tcp.gro.held.len() >= GRO_MAX_HELD {
                    // gro_flush_oldest: the oldest run gets its decision now.
                    if let Some(old) = self.tcp.gro.held.pop_front() {
                        self.tcp_gro_flush_id(old);
                    }
                }
                self.tcp.gro.held.push_back(sk.id);
            }
        }
    }
}

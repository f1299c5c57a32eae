//! Explicit Congestion Notification for TCP (RFC 3168) as Linux does it: negotiation on the
//! handshake (`tcp_ecn`: 0 off, 1 ask and accept, 2 accept only: the default), ECT(0) on
//! new data segments, the receiver echoing a CE mark with ECE until the sender's CWR, and
//! the sender entering CWR (one window reduction per round trip).
//!
//! Linux: net/ipv4/tcp_input.c (`tcp_ecn_rcv_synack`, `tcp_ecn_rcv_syn`,
//! `tcp_ecn_create_request`, `__tcp_ecn_check_ce`, `tcp_ecn_accept_cwr`,
//! `tcp_ecn_rcv_ecn_echo`, `tcp_enter_cwr`, `tcp_init_cwnd_reduction`,
//! `tcp_end_cwnd_reduction`, the `TCP_CA_CWR` case of `tcp_fastretrans_alert`),
//! net/ipv4/tcp_output.c (`tcp_ecn_send_syn`, `tcp_ecn_make_synack`, `tcp_ecn_send`,
//! `tcp_ecn_clear_syn` with `tcp_ecn_fallback`), include/net/tcp.h (`TCP_ECN_OK`,
//! `TCP_ECN_QUEUE_CWR`, `TCP_ECN_DEMAND_CWR`, `TCP_ECN_SEEN`), include/net/inet_ecn.h.
//! RFCs: RFC 3168 §6.1 (TCP), RFC 8311 (relaxations Linux does not use by default).
//!
//! Deviation from Linux: entering CWR sets cwnd to the new ssthresh at once (RFC 3168
//! §6.1.2); Linux spreads the reduction over the round trip with PRR
//! (`tcp_cwnd_reduction`). TCPDeliveredCE counts the segments an ECE-carrying ACK
//! acknowledges, estimated from the bytes and the MSS.

use linnet_wire::tcp::SeqNumber;

use crate::stack::Stack;

use super::input::Seg;
use super::{CaState, TcpSock};

/// `TCP_ECN_OK`: ECN was negotiated.
pub(crate) const TCP_ECN_OK: u8 = 1;
/// `TCP_ECN_QUEUE_CWR`: set CWR on the next new data segment.
pub(crate) const TCP_ECN_QUEUE_CWR: u8 = 2;
/// `TCP_ECN_DEMAND_CWR`: a CE mark arrived; ECE on every segment until CWR.
pub(crate) const TCP_ECN_DEMAND_CWR: u8 = 4;
/// `TCP_ECN_SEEN`: an ECT (or CE) segment was received.
pub(crate) const TCP_ECN_SEEN: u8 = 8;

/// The IP ECN field values (`INET_ECN_*`).
pub(crate) const INET_ECN_NOT_ECT: u8 = 0;
/// `INET_ECN_ECT_0`.
pub(crate) const INET_ECN_ECT_0: u8 = 2;
/// `INET_ECN_MASK`: the ECN field of the TOS byte.
pub(crate) const INET_ECN_MASK: u8 = 3;
/// `INET_ECN_CE`.
pub(crate) const INET_ECN_CE: u8 = 3;

/// What ECN puts on one outgoing segment: ECE, CWR, the IP ECN field.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct EcnMarks {
    pub(crate) ece: bool,
    pub(crate) cwr: bool,
    pub(crate) tos: u8,
}

impl TcpSock {
    /// ECN negotiated.
    pub(crate) fn ecn_ok(&self) -> bool {
        self.ecn_flags & TCP_ECN_OK != 0
    }

    /// `tcp_ecn_rcv_synack` / `tcp_ecn_rcv_syn`: the peer's SYN-ACK must carry ECE without
    /// CWR (its SYN in a simultaneous open: ECE and CWR), else no ECN.
    pub(crate) fn tcp_ecn_rcv_syn_or_synack(&mut self, seg: &Seg<'_>) {
        let f = seg.flags;
        let ok = if seg.ack.is_some() {
            f.ece && !f.cwr
        } else {
            f.ece && f.cwr
        };
        if !ok {
            self.ecn_flags &= !TCP_ECN_OK;
        }
    }

    /// `tcp_ecn_accept_cwr` + `tcp_ecn_check_ce` for an arriving data segment: CWR ends
    /// our ECE echo (and a data segment with it is ACKed at once); a CE mark starts it,
    /// with quick ACKs. Returns whether to enter quick-ACK mode (2 ACKs).
    fn tcp_ecn_rcv_data(&mut self, seg: &Seg<'_>) -> bool {
        if !self.ecn_ok() {
            return false;
        }
        if seg.flags.cwr {
            self.ecn_flags &= !TCP_ECN_DEMAND_CWR;
            if seg.seq_len() > 0 {
                self.ack.pending = true;
                self.ack.now = true;
            }
        }
        if seg.payload.is_empty() {
            return false;
        }
        match seg.ecn {
            INET_ECN_NOT_ECT => {
                // "If ECT is not set on a segment, and we already seen ECT on a previous
                // segment, it is probably a retransmit."
                self.ecn_flags & TCP_ECN_SEEN != 0
            }
            INET_ECN_CE => {
                let quick = self.ecn_flags & TCP_ECN_DEMAND_CWR == 0;
                self.ecn_flags |= TCP_ECN_DEMAND_CWR | TCP_ECN_SEEN;
                quick
            }
            _ => {
                self.ecn_flags |= TCP_ECN_SEEN;
                false
            }
        }
    }
}

impl Stack {
    /// `tcp_ecn_create_request`: a SYN asking for ECN (ECE and CWR, not itself ECT) is
    /// granted when `tcp_ecn` is 1 or 2. Returns the child's `ecn_flags`.
    pub(crate) fn tcp_ecn_create_request(&self, seg: &Seg<'_>) -> u8 {
        let asks = seg.flags.ece && seg.flags.cwr;
        if asks && seg.ecn == INET_ECN_NOT_ECT && self.cfg.tcp_ecn != 0 {
            TCP_ECN_OK
        } else {
            0
        }
    }

    /// The ECN marks of an outgoing segment (`tcp_ecn_send_syn`, `tcp_ecn_make_synack`,
    /// `tcp_ecn_send`). `len`: its payload; `retrans`: a retransmission.
    pub(crate) fn tcp_ecn_marks(
        &mut self,
        sk: &mut TcpSock,
        seq: SeqNumber,
        syn: bool,
        ack: bool,
        len: usize,
        retrans: bool,
    ) -> EcnMarks {
        let mut m = EcnMarks::default();
        if syn && !ack {
            if !retrans {
                // tcp_ecn_send_syn: ask only with tcp_ecn = 1.
                sk.ecn_flags = if self.cfg.tcp_ecn == 1 { TCP_ECN_OK } else { 0 };
            }
            // tcp_ecn_clear_syn (tcp_ecn_fallback = 1): a retransmitted SYN stops asking,
            // in case a middlebox drops SYNs with ECE and CWR.
            let ask = sk.ecn_ok() && !(retrans && self.cfg.tcp_ecn_fallback);
            m.ece = ask;
            m.cwr = ask;
            return m;
        }
        if !sk.ecn_ok() {
            return m;
        }
        if syn {
            // tcp_ecn_make_synack.
            m.ece = true;
            return m;
        }
        if len > 0 && !retrans && !seq.before(sk.snd_nxt) {
            // New data: ECT(0), and CWR once after a reduction.
            m.tos = INET_ECN_ECT_0;
            if sk.ecn_flags & TCP_ECN_QUEUE_CWR != 0 {
                sk.ecn_flags &= !TCP_ECN_QUEUE_CWR;
                m.cwr = true;
            }
        }
        m.ece = sk.ecn_flags & TCP_ECN_DEMAND_CWR != 0;
        m
    }

    /// The receive side of a segment about to be queued (see `tcp_ecn_rcv_data`).
    pub(crate) fn tcp_ecn_rcv(&mut self, sk: &mut TcpSock, seg: &Seg<'_>) {
        if sk.tcp_ecn_rcv_data(seg) {
            // tcp_enter_quickack_mode(sk, 2).
            self.tcp_incr_quickack(sk, 2);
            sk.ack.pingpong = false;
            sk.ack.ato = super::timer::ATO_MIN;
        }
    }

    /// `tcp_ecn_rcv_ecn_echo` and the `FLAG_ECE` part of `tcp_try_to_open`: an ACK with
    /// ECE (not a SYN) on an ECN connection enters CWR when the state is Open or Disorder;
    /// `acked` bytes count in TCPDeliveredCE.
    pub(crate) fn tcp_ecn_rcv_ecn_echo(&mut self, sk: &mut TcpSock, seg: &Seg<'_>, acked: u32) {
        if !seg.flags.ece || seg.flags.syn || !sk.ecn_ok() {
            return;
        }
        if acked > 0 {
            let segs = acked.div_ceil(sk.mss.max(1));
            self.stats.tcp_ext.tcp_delivered_ce += u64::from(segs);
        }
        if matches!(sk.ca_state, CaState::Open | CaState::Disorder) {
            self.tcp_enter_cwr(sk);
        }
    }

    /// `tcp_enter_cwr` + `tcp_init_cwnd_reduction`: once per window, ssthresh from the
    /// congestion control, cwnd down to it, CWR queued for the next new data segment.
    pub(crate) fn tcp_enter_cwr(&mut self, sk: &mut TcpSock) {
        if !matches!(sk.ca_state, CaState::Open | CaState::Disorder) {
            return;
        }
        // tcp_init_cwnd_reduction, with no undo (tcp_enter_cwr: prior_ssthresh = 0,
        // undo_marker = 0).
        sk.high_seq = sk.snd_nxt;
        sk.win.cwnd_cnt = 0;
        sk.sb.prior_ssthresh = 0;
        sk.sb.undo_marker = None;
        sk.sb.tlp_high_seq = None;
        sk.sb.prior_cwnd = sk.win.cwnd;
        sk.sb.prr_delivered = 0;
        sk.sb.prr_out = 0;
        let w = sk.win;
        sk.win.ssthresh = super::cong::CongestionOps::ssthresh(&mut sk.cc, &w);
        // Deviation from Linux: the reduction happens at once (no PRR).
        sk.win.cwnd = sk.win.ssthresh.max(sk.mss);
        sk.ca_state = CaState::Cwr;
        if sk.ecn_ok() {
            sk.ecn_flags |= TCP_ECN_QUEUE_CWR;
        }
    }
}

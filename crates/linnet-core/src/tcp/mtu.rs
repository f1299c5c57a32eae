//! TCP's reaction to ICMP "fragmentation needed": the path MTU is learned for the
//! destination, the MSS lowered, and what was sent in segments now too large is resent at
//! once.
//!
//! Linux: net/ipv4/tcp_ipv4.c (`tcp_v4_err` for `ICMP_FRAG_NEEDED`, `tcp_v4_mtu_reduced`),
//! net/ipv4/tcp_output.c (`tcp_sync_mss`, `tcp_mtu_to_mss`), net/ipv4/tcp_input.c
//! (`tcp_simple_retransmit`), net/ipv4/route.c (`__ip_rt_update_pmtu`, see
//! `ipv4::pmtu`).
//! RFCs: RFC 1191 §6 (TCP's reaction), RFC 5681 (no congestion response to a PMTU drop).
//!
//! Deviation from Linux: the congestion window is counted in bytes here, so when the MSS
//! falls it keeps its bytes (Linux keeps its packets).

use crate::errno::Errno;
use crate::stack::Stack;

use super::output::TS_LEN;
use super::{CaState, TcpSock, TcpState};

/// `TCP_MIN_SND_MSS`.
const MIN_SND_MSS: u32 = 48;

impl TcpSock {
    /// `tcp_sync_mss`: the MSS for path MTU `pmtu` (`tcp_mtu_to_mss`: less the IP and TCP
    /// headers, at most the peer's MSS, less the timestamp option).
    pub(crate) fn tcp_sync_mss(&mut self, pmtu: u32) {
        let opts = if self.ts_ok { TS_LEN } else { 0 };
        let mss = pmtu.saturating_sub(40).min(self.mss_clamp);
        self.pmtu = pmtu;
        self.mss = mss.saturating_sub(opts).max(MIN_SND_MSS);
        self.win.mss = self.mss;
    }
}

impl Stack {
    /// `tcp_v4_mtu_reduced` for an ICMP fragmentation-needed carrying `mtu`: the path MTU
    /// is learned (`__ip_rt_update_pmtu`), and if it is below what the connection uses the
    /// MSS follows and the now too large segments are resent (`tcp_simple_retransmit`).
    /// A reported MTU below what could be learned leaves EMSGSIZE as the soft error.
    pub(crate) fn tcp_v4_mtu_reduced(&mut self, sk: &mut TcpSock, mtu: u32) {
        if matches!(sk.state, TcpState::Listen | TcpState::Close) {
            return;
        }
        let Ok(dst) = self.route_output_oif(*sk.remote.ip(), Some(*sk.local.ip()), sk.bound_dev_if)
        else {
            return;
        };
        let learned = self.ip_rt_update_pmtu(*sk.remote.ip(), mtu, dst.mtu);
        if mtu < learned {
            // "Something is about to be wrong... Remember soft error."
            sk.err_soft = Some(Errno::EMSGSIZE);
        }
        if sk.pmtu > learned {
            sk.tcp_sync_mss(learned);
            self.tcp_simple_retransmit(sk);
        }
    }

    /// `tcp_simple_retransmit`: segments larger than the new MSS were dropped on the way;
    /// mark them lost and resend them now, cut to the new MSS, without a congestion
    /// response ("we do not increase amount of _data_ in network, but units changed").
    fn tcp_simple_retransmit(&mut self, sk: &mut TcpSock) {
        if !sk.state.is_synchronized() {
            return;
        }
        let mss = sk.mss;
        for i in 0..sk.sb.q.len() {
            let e = sk.sb.q[i];
            if e.len() - u32::from(e.fin) > mss && sk.sb.mark_lost(i) {
                self.stats.tcp_ext.tcp_lost_retransmit += 1;
            }
        }
        // tcp_clear_retrans_hints_partial.
        sk.sb.clear_retrans_hints();
        if sk.sb.lost_out.pkts == 0 {
            return;
        }
        if sk.ca_state != CaState::Loss {
            sk.high_seq = sk.snd_nxt;
            sk.win.ssthresh = Self::tcp_current_ssthresh(sk);
            sk.sb.prior_ssthresh = 0;
            sk.sb.undo_marker = None;
            sk.ca_state = CaState::Loss;
        }
        self.tcp_xmit_retransmit_queue(sk);
    }
}

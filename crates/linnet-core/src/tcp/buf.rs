//! TCP buffer sizing and congestion-window validation after idle: the send buffer grows
//! with the congestion window, the receive buffer with the rate the application reads at
//! (dynamic right-sizing), and a sender that fell idle restarts from the initial window.
//!
//! Linux: net/ipv4/tcp_input.c (`tcp_sndbuf_expand`, `tcp_should_expand_sndbuf`,
//! `tcp_new_space`, `tcp_check_space`, `tcp_init_buffer_space`, `tcp_rcv_rtt_update`,
//! `tcp_rcv_rtt_measure`, `tcp_rcv_rtt_measure_ts`, `tcp_rcv_space_adjust`,
//! `tcp_grow_window`), net/core/stream.c (`sk_stream_write_space`), net/ipv4/tcp_output.c
//! (`tcp_cwnd_restart`, the `CA_EVENT_TX_START` of `tcp_event_data_sent`),
//! include/net/tcp.h (`tcp_slow_start_after_idle_check`, `tcp_current_ssthresh`).
//! RFCs: RFC 7661 §4.1 and RFC 2861 §2 (the window after an idle period: Linux keeps RFC
//! 2861's restart, halving per RTO of idleness down to the restart window, which RFC 7661
//! permits as the conservative choice), RFC 7323 §2.2 (the window scale is chosen for the
//! largest buffer the socket may grow to), RFC 9438 §5.8 (CUBIC and application-limited
//! flows: the epoch shift after idle).
//!
//! # Units
//! Linux charges a socket's buffers by `truesize` (payload plus `sk_buff` overhead), and
//! computes `sk_sndbuf` / `sk_rcvbuf` in those units. linnet keeps the same *values*
//! (`tcp_sndbuf_expand` with Linux's per-segment truesize formula, `tcp_rcv_space_adjust`
//! with `tcp_space_from_win` = 2 × window) but its rings count *payload* bytes against
//! them.
//!
//! Deviation from Linux: payload bytes are charged against `sk_sndbuf` / `sk_rcvbuf`
//! rather than truesize. For the send side this matches Linux with GSO/TSO (where a 64 KiB
//! skb's truesize is close to its payload) and lets more bytes queue than Linux without
//! GSO (where each 1448-byte segment costs 4352 bytes). The receive window is still half
//! the buffer (`tcp_adv_win_scale` = 1), so the receive side keeps Linux's headroom.
//!
//! # Invariants
//! - `sndbuf` only grows here, never past `tcp_wmem[2]`, and not at all once `SO_SNDBUF`
//!   set it (`SOCK_SNDBUF_LOCK`).
//! - `rcvbuf` only grows here, never past `tcp_rmem[2]`, not at all with `SO_RCVBUF`
//!   (`SOCK_RCVBUF_LOCK`) or `tcp_moderate_rcvbuf` = 0; `window_clamp` follows it within
//!   what the window scale can express.
//! - Rings are allocated by use and a drained receive ring larger than
//!   [`RBUF_KEEP`] is given back, so an idle connection holds no large buffer.

use linnet_wire::tcp::SeqNumber;

use super::cong::{CaEvent, CongestionOps, INIT_CWND};
use super::{CaState, TcpSock};
use crate::stack::{Event, Stack};
use crate::time::{Duration, Instant};

/// `MAX_TCP_HEADER` on x86-64 (`L1_CACHE_ALIGN(128 + MAX_HEADER)`).
const MAX_TCP_HEADER: usize = 320;
/// `SKB_DATA_ALIGN(sizeof(struct skb_shared_info))` on x86-64.
const SKB_SHINFO: usize = 320;
/// `SKB_DATA_ALIGN(sizeof(struct sk_buff))` on x86-64.
const SKB_STRUCT: usize = 256;
/// A receive ring that drains to empty keeps its allocation up to this many bytes; a
/// larger one is given back (the role of Linux freeing each skb as it is read).
pub(crate) const RBUF_KEEP: usize = 64 * 1024;

/// The per-socket state of buffer sizing (Linux: `rcv_rtt_est`, `rcvq_space`,
/// `rcv_rtt_last_tsecr`, `copied_seq` and the `SOCK_SNDBUF_LOCK` bit of `sk_userlocks`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct BufState {
    /// `SO_SNDBUF` was set (`SOCK_SNDBUF_LOCK`): the send buffer does not grow.
    pub(crate) sndbuf_locked: bool,
    /// `rcv_rtt_est.rtt_us`: the receiver's RTT estimate in microseconds << 3; 0 = none.
    pub(crate) rcv_rtt_us: u32,
    /// `rcv_rtt_est.seq`: the measurement ends when `rcv_nxt` passes it.
    pub(crate) rcv_rtt_seq: SeqNumber,
    /// `rcv_rtt_est.time`: when the measurement started; none before the first.
    pub(crate) rcv_rtt_time: Option<Instant>,
    /// `rcv_rtt_last_tsecr`: the last echoed timestamp used.
    pub(crate) rcv_rtt_last_tsecr: u32,
    /// `rcvq_space.space`: bytes the application read in the last measured RTT.
    pub(crate) rcvq_space: u32,
    /// `rcvq_space.seq`, as a count of bytes read: where the current measurement started.
    pub(crate) rcvq_copied: u64,
    /// `rcvq_space.time`.
    pub(crate) rcvq_time: Instant,
    /// Bytes the application has read so far (`copied_seq` as a count).
    pub(crate) copied: u64,
}

impl Default for BufState {
    fn default() -> Self {
        BufState {
            sndbuf_locked: false,
            rcv_rtt_us: 0,
            rcv_rtt_seq: SeqNumber(0),
            rcv_rtt_time: None,
            rcv_rtt_last_tsecr: 0,
            rcvq_space: 0,
            rcvq_copied: 0,
            rcvq_time: Instant::ZERO,
            copied: 0,
        }
    }
}

impl TcpSock {
    /// `tcp_sndbuf_expand`'s `per_mss`: what one full segment costs in Linux's accounting
    /// without GSO (payload, headers and `skb_shared_info` rounded up to a power of two,
    /// plus the `sk_buff`): 4352 bytes for an MSS of 1460.
    fn sndbuf_per_mss(&self) -> usize {
        let mss = self.mss_clamp.max(self.mss) as usize;
        (mss + MAX_TCP_HEADER + SKB_SHINFO).next_power_of_two() + SKB_STRUCT
    }

    /// `tcp_win_from_space` for a buffer of `space` bytes (`tcp_adv_win_scale` = 1).
    fn win_from_space(space: usize) -> u32 {
        u32::try_from(space / 2).unwrap_or(u32::MAX)
    }

    /// The largest window the scale can express.
    fn max_scaled_window(&self) -> u32 {
        65_535u32 << self.rcv_wscale
    }
}

impl Stack {
    /// `tcp_init_buffer_space`, when the connection becomes established: the send buffer
    /// sized for the initial window, the first receive-space measurement started, and the
    /// window threshold within the clamp.
    pub(crate) fn tcp_init_buffer_space(&mut self, sk: &mut TcpSock) {
        if !sk.buf.sndbuf_locked {
            self.tcp_sndbuf_expand(sk);
        }
        sk.buf.rcvq_time = self.now;
        sk.buf.rcvq_copied = sk.buf.copied;
        sk.rcv_ssthresh = sk.rcv_ssthresh.min(sk.window_clamp);
        sk.buf.rcvq_space = sk.rcv_ssthresh.min(sk.rcv_wnd).min(INIT_CWND * sk.advmss);
    }

    /// `tcp_sndbuf_expand`: room for two congestion windows (fast recovery needs about
    /// 1.7 for CUBIC, rounded to 2 for an application slow to refill), at least
    /// `TCP_INIT_CWND` and `reordering + 1` segments, within `tcp_wmem[2]`.
    pub(crate) fn tcp_sndbuf_expand(&mut self, sk: &mut TcpSock) {
        let per_mss = sk.sndbuf_per_mss();
        let cwnd_segs = (sk.win.cwnd / sk.mss.max(1)) as usize;
        let nr_segs = cwnd_segs
            .max(INIT_CWND as usize)
            .max(sk.sb.reordering as usize + 1);
        let sndmem = 2 * nr_segs * per_mss;
        if sk.sndbuf < sndmem {
            sk.sndbuf = sndmem.min(self.cfg.tcp_wmem.2).max(sk.sndbuf);
        }
    }

    /// `tcp_should_expand_sndbuf`: not when `SO_SNDBUF` fixed the size, and not when the
    /// congestion window is full (then the network, not the buffer, is the limit).
    /// Linux's memory-pressure checks have no counterpart here.
    fn tcp_should_expand_sndbuf(&self, sk: &TcpSock) -> bool {
        !sk.buf.sndbuf_locked && sk.in_flight() < sk.win.cwnd
    }

    /// `tcp_new_space`: grow the send buffer if that is what limits the sender, then wake
    /// the writer.
    fn tcp_new_space(&mut self, sk: &mut TcpSock) {
        if self.tcp_should_expand_sndbuf(sk) {
            self.tcp_sndbuf_expand(sk);
        }
        self.sk_stream_write_space(sk);
    }

    /// `tcp_check_space`, after an ACK was processed and what it allowed was sent
    /// (`tcp_data_snd_check`): only for a writer that met a full buffer (`SOCK_NOSPACE`).
    pub(crate) fn tcp_check_space(&mut self, sk: &mut TcpSock) {
        if sk.write_blocked {
            self.tcp_new_space(sk);
        }
    }

    /// `sk_stream_write_space`: `Writable` once the free space is at least half of what
    /// is queued (`sk_stream_wspace >= sk_stream_min_wspace`).
    pub(crate) fn sk_stream_write_space(&mut self, sk: &mut TcpSock) {
        if sk.write_blocked && sk.send_space() >= sk.sbuf.len() / 2 {
            sk.write_blocked = false;
            self.tcp_event(sk, Event::Writable);
        }
    }

    /// `tcp_rcv_rtt_update`: a new receiver RTT sample in microseconds. A window-based
    /// sample (`win_dep`) only ever lowers the estimate; a timestamp sample is smoothed in
    /// with a gain of 1/8.
    fn tcp_rcv_rtt_update(sk: &mut TcpSock, sample_us: u32, win_dep: bool) {
        let old = sk.buf.rcv_rtt_us;
        let m = sample_us.saturating_mul(8);
        let new = if old == 0 || m < old {
            m
        } else {
            if win_dep {
                return;
            }
            (old - (old >> 3)).saturating_add(sample_us)
        };
        sk.buf.rcv_rtt_us = new.max(1);
    }

    /// `tcp_rcv_rtt_measure`, on in-order data: without timestamps, the time a window's
    /// worth of data takes to arrive is an upper bound of the RTT.
    pub(crate) fn tcp_rcv_rtt_measure(&mut self, sk: &mut TcpSock) {
        let now = self.now;
        if let Some(t) = sk.buf.rcv_rtt_time {
            if sk.rcv_nxt.before(sk.buf.rcv_rtt_seq) {
                return;
            }
            let us = u32::try_from(now.saturating_since(t).as_micros()).unwrap_or(u32::MAX);
            Self::tcp_rcv_rtt_update(sk, us.max(1), true);
        }
        sk.buf.rcv_rtt_seq = sk.rcv_nxt + sk.rcv_wnd as usize;
        sk.buf.rcv_rtt_time = Some(now);
    }

    /// `tcp_rcv_rtt_measure_ts`: with timestamps, a full-sized segment echoing a new
    /// TSecr measures the RTT directly (our clock now less the echoed one).
    pub(crate) fn tcp_rcv_rtt_measure_ts(
        &mut self,
        sk: &mut TcpSock,
        ts: Option<(u32, u32)>,
        len: usize,
    ) {
        let (true, Some((_, tsecr))) = (sk.ts_ok, ts) else {
            return;
        };
        if tsecr == sk.buf.rcv_rtt_last_tsecr {
            return;
        }
        sk.buf.rcv_rtt_last_tsecr = tsecr;
        if tsecr == 0 || (len as u32) < sk.ack.rcv_mss {
            return;
        }
        let nowts = super::timer::ts_now(self.now).wrapping_add(sk.ts_offset);
        let delta_ms = nowts.wrapping_sub(tsecr);
        // tcp_rtt_tsopt_us: a negative or absurd delta is no sample.
        if delta_ms == 0 || delta_ms >= i32::MAX as u32 / 1000 {
            return;
        }
        Self::tcp_rcv_rtt_update(sk, delta_ms * 1000, false);
    }

    /// `tcp_rcv_space_adjust`, after the application read: once per receiver RTT, compare
    /// what was read in that RTT with the previous RTT; if the reader went faster, grow the
    /// receive buffer (and the window clamp with it) so that the window covers twice the
    /// bytes per RTT plus room for the sender's growth, up to `tcp_rmem[2]`.
    pub(crate) fn tcp_rcv_space_adjust(&mut self, sk: &mut TcpSock, copied_now: usize) {
        let now = self.now;
        sk.buf.copied = sk.buf.copied.wrapping_add(copied_now as u64);
        let elapsed = now.saturating_since(sk.buf.rcvq_time);
        let rtt_us = sk.buf.rcv_rtt_us;
        if rtt_us == 0 || elapsed < Duration::from_micros(u64::from(rtt_us >> 3)) {
            return;
        }
        // Bytes copied to the application in the last RTT.
        let copied = sk.buf.copied.wrapping_sub(sk.buf.rcvq_copied);
        let copied = u32::try_from(copied).unwrap_or(u32::MAX);
        if copied > sk.buf.rcvq_space {
            if self.cfg.tcp_moderate_rcvbuf && !sk.rcvbuf_locked {
                let space = u64::from(sk.buf.rcvq_space.max(1));
                // Twice the bytes per RTT to ride out losses, a 16-segment cushion, and
                // room for a sender still doubling its window each RTT.
                // Saturating: copied and space are bounded by u32 but their product is not
                // by u64 (C wraps silently; the result is capped by tcp_rmem[2] anyway).
                let mut rcvwin = (u64::from(copied) << 1) + 16 * u64::from(sk.advmss);
                let grow = rcvwin.saturating_mul(u64::from(copied) - space) / space;
                rcvwin = rcvwin.saturating_add(grow.saturating_mul(2));
                // tcp_space_from_win: twice the window (tcp_adv_win_scale = 1).
                let rcvbuf = usize::try_from(rcvwin.saturating_mul(2))
                    .unwrap_or(usize::MAX)
                    .min(self.cfg.tcp_rmem.2);
                if rcvbuf > sk.rcvbuf {
                    sk.rcvbuf = rcvbuf;
                    // Make the window clamp follow along.
                    sk.window_clamp = TcpSock::win_from_space(rcvbuf).min(sk.max_scaled_window());
                }
            }
            sk.buf.rcvq_space = copied;
        }
        sk.buf.rcvq_copied = sk.buf.copied;
        sk.buf.rcvq_time = now;
    }

    /// `tcp_grow_window`: as in-order data of `len` bytes arrives, the window threshold
    /// `rcv_ssthresh` grows by two segments (at least twice the segment) while the clamp
    /// and the free buffer allow.
    ///
    /// Deviation from Linux: with payload accounting a segment always "fits" (Linux's
    /// truesize test, `__tcp_grow_window`, only matters for small skbs with a large
    /// overhead), and no quick ACK is scheduled when the window grows (Linux sets
    /// `icsk_ack.quick |= 1`).
    pub(crate) fn tcp_grow_window(&mut self, sk: &mut TcpSock, len: usize) {
        if len < 128 {
            return;
        }
        let space = TcpSock::win_from_space(sk.rcvbuf.saturating_sub(sk.rmem()));
        let room = sk.window_clamp.min(space).saturating_sub(sk.rcv_ssthresh);
        if room == 0 {
            return;
        }
        let incr = (2 * sk.advmss).max(2 * len as u32);
        sk.rcv_ssthresh = sk
            .rcv_ssthresh
            .saturating_add(incr.min(room))
            .min(sk.window_clamp);
    }

    /// A drained receive ring larger than [`RBUF_KEEP`] is given back.
    pub(crate) fn tcp_rbuf_release(sk: &mut TcpSock) {
        if sk.rbuf.is_empty() && sk.rbuf.capacity() > RBUF_KEEP {
            sk.rbuf = alloc::collections::VecDeque::new();
        }
    }

    /// `tcp_slow_start_after_idle_check`, as the application queues new data: a sender
    /// with nothing in flight that sent nothing for longer than the RTO restarts its
    /// window (`tcp_slow_start_after_idle` = 1).
    pub(crate) fn tcp_slow_start_after_idle_check(&mut self, sk: &mut TcpSock) {
        if !self.cfg.tcp_slow_start_after_idle || sk.snd_nxt != sk.snd_una {
            return;
        }
        let delta = self.now.saturating_since(sk.lsndtime);
        if delta > sk.rtt.backed_off(sk.backoff) {
            self.tcp_cwnd_restart(sk, delta);
        }
    }

    /// `tcp_cwnd_restart` (RFC 2861 §2, within RFC 7661 §4.1): ssthresh keeps three
    /// quarters of the window; the window halves for every RTO of idleness, not below the
    /// restart window min(IW, cwnd).
    fn tcp_cwnd_restart(&mut self, sk: &mut TcpSock, delta: Duration) {
        let mss = sk.mss.max(1);
        let restart = (INIT_CWND * mss).min(sk.win.cwnd);
        let mut cwnd = sk.win.cwnd;
        sk.win.now = self.now;
        let w = sk.win;
        sk.cc.cwnd_event(&w, CaEvent::CwndRestart);
        // tcp_current_ssthresh: kept as is during a window reduction (tcp_in_cwnd_reduction:
        // CWR or Recovery).
        if !matches!(sk.ca_state, CaState::Cwr | CaState::Recovery) {
            sk.win.ssthresh = sk.win.ssthresh.max((cwnd >> 1) + (cwnd >> 2));
        }
        let rto = sk.rtt.backed_off(sk.backoff).max(Duration::from_millis(1));
        let mut left = delta;
        loop {
            left = left.saturating_sub(rto);
            if left.is_zero() || cwnd <= restart {
                break;
            }
            cwnd >>= 1;
        }
        sk.win.cwnd = cwnd.max(restart);
        sk.win.cwnd_cnt = 0;
    }

    /// `tcp_event_data_sent`'s `CA_EVENT_TX_START`: data leaves with nothing in flight;
    /// the algorithm hears how long the sender was idle (CUBIC shifts its epoch).
    pub(crate) fn tcp_ca_event_tx_start(&mut self, sk: &mut TcpSock) {
        let idle = self.now.saturating_since(sk.lsndtime);
        sk.win.now = self.now;
        let w = sk.win;
        sk.cc.cwnd_event(&w, CaEvent::TxStart { idle });
    }
}

//! Congestion control: the window state every algorithm works on, the hooks an algorithm
//! provides, and NewReno.
//!
//! Linux: include/net/tcp.h (`struct tcp_congestion_ops`: `ssthresh`, `cong_avoid`,
//! `set_state`, `undo_cwnd`), net/ipv4/tcp_cong.c (`tcp_reno_cong_avoid`, `tcp_slow_start`,
//! `tcp_cong_avoid_ai`, `tcp_reno_ssthresh`, `tcp_init_cwnd`).
//! RFCs: RFC 5681 §3.1 (slow start, congestion avoidance), RFC 6928 (initial window 10),
//! RFC 6582 (NewReno's recovery; the recovery state machine itself lives in `input.rs`).
//!
//! Units: bytes. Linux counts the congestion window in packets (`snd_cwnd`); here `cwnd`
//! is in bytes and grows by one `mss` where Linux grows by one packet, which is the same
//! thing for full-sized segments.
//!
//! An algorithm is a [`CongestionOps`] implementation; [`Congestion`] is the closed set of
//! those the stack knows (CUBIC, the default, in `cubic.rs`, and NewReno), so that a socket
//! holds its algorithm by value without a boxed trait object.

use super::cubic::Cubic;
use crate::time::{Duration, Instant};

/// `TCP_INFINITE_SSTHRESH`.
pub const INFINITE_SSTHRESH: u32 = 0x7fff_ffff;

/// The initial window in segments (RFC 6928, Linux `TCP_INIT_CWND`).
pub const INIT_CWND: u32 = 10;

/// The window state shared by every algorithm (the `snd_cwnd`, `snd_ssthresh`,
/// `snd_cwnd_cnt` fields of `struct tcp_sock`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Congestion window, bytes.
    pub cwnd: u32,
    /// Slow-start threshold, bytes.
    pub ssthresh: u32,
    /// Bytes acknowledged toward the next additive increase (`snd_cwnd_cnt`).
    pub cwnd_cnt: u32,
    /// Sender MSS the window is counted in.
    pub mss: u32,
    /// The socket's clock (the role of `tcp_mstamp`): stamped by the stack each time it
    /// puts the socket back in the table, so an ACK sees the time of the socket's previous
    /// event.
    pub now: Instant,
    /// The latest RTT sample not yet used (the role of `ack_sample.rtt_us`); an algorithm
    /// that uses it takes it.
    pub rtt: Option<Duration>,
}

impl Window {
    /// The initial window (RFC 6928: 10 segments) and an infinite threshold.
    pub fn initial(mss: u32) -> Window {
        Window {
            cwnd: INIT_CWND * mss,
            ssthresh: INFINITE_SSTHRESH,
            cwnd_cnt: 0,
            mss,
            now: Instant::ZERO,
            rtt: None,
        }
    }

    /// `tcp_in_slow_start`.
    pub fn in_slow_start(&self) -> bool {
        self.cwnd < self.ssthresh
    }

    /// `tcp_slow_start`: grow by the bytes acknowledged, up to ssthresh; returns what is left
    /// over for congestion avoidance.
    pub fn slow_start(&mut self, acked: u32) -> u32 {
        let cwnd = self.cwnd.saturating_add(acked).min(self.ssthresh);
        let used = cwnd - self.cwnd;
        self.cwnd = cwnd;
        acked - used.min(acked)
    }

    /// `tcp_cong_avoid_ai`: one MSS more per window's worth of acknowledged bytes.
    pub fn cong_avoid_ai(&mut self, acked: u32) {
        self.cwnd_cnt = self.cwnd_cnt.saturating_add(acked);
        let w = self.cwnd.max(self.mss);
        if self.cwnd_cnt >= w {
            let n = self.cwnd_cnt / w;
            self.cwnd_cnt -= n * w;
            self.cwnd = self.cwnd.saturating_add(n * self.mss);
        }
    }
}

impl Window {
    /// `tcp_cong_avoid_ai` with an explicit pace: one MSS more per `cnt` segments' worth of
    /// acknowledged bytes.
    pub fn cong_avoid_ai_cnt(&mut self, cnt: u32, acked: u32) {
        let w = cnt.max(1).saturating_mul(self.mss.max(1));
        if self.cwnd_cnt >= w {
            self.cwnd_cnt = 0;
            self.cwnd = self.cwnd.saturating_add(self.mss);
        }
        self.cwnd_cnt = self.cwnd_cnt.saturating_add(acked);
        if self.cwnd_cnt >= w {
            let n = self.cwnd_cnt / w;
            self.cwnd_cnt -= n * w;
            self.cwnd = self.cwnd.saturating_add(n.saturating_mul(self.mss));
        }
    }
}

/// `tcp_mstamp_refresh` and the RTT sample for the next ACK, plus a `TCP_CONGESTION`
/// choice a listener's child inherited with the socket options; run whenever the stack
/// puts a socket back in the table.
pub(crate) fn tcp_ca_refresh(sk: &mut super::TcpSock, now: Instant) {
    sk.win.now = now;
    if let Some(r) = sk.rtt.last.take() {
        sk.win.rtt = Some(r);
    }
    if let Some(name) = sk.opts.congestion {
        if sk.cc.name() != name {
            sk.cc = Congestion::from_name(name).unwrap_or_default();
        }
    }
}

/// Events an algorithm may react to (Linux `enum tcp_ca_event`, the ones the stack raises).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CaEvent {
    /// `CA_EVENT_TX_START`: the first data is sent with nothing in flight, after the sender
    /// was `idle` since its last data segment (`now - lsndtime`).
    TxStart {
        /// Time since the last data segment was sent.
        idle: Duration,
    },
    /// `CA_EVENT_CWND_RESTART`: the window restarts after an idle period
    /// (`tcp_cwnd_restart`).
    CwndRestart,
}

/// The hooks of a congestion-control algorithm (Linux: `struct tcp_congestion_ops`).
pub trait CongestionOps {
    /// The algorithm's name, as `TCP_CONGESTION` spells it.
    fn name(&self) -> &'static str;

    /// `ssthresh`: the slow-start threshold after a congestion event, in bytes.
    fn ssthresh(&mut self, w: &Window) -> u32;

    /// `cong_avoid`: grow the window for `acked` newly acknowledged bytes, outside loss
    /// recovery. `cwnd_limited` says whether the sender used the window it had
    /// (`tcp_is_cwnd_limited`): a window the application does not fill must not grow.
    fn cong_avoid(&mut self, w: &mut Window, acked: u32, cwnd_limited: bool);

    /// `undo_cwnd`: the window to go back to after a spurious congestion event.
    fn undo_cwnd(&mut self, w: &Window, prior_cwnd: u32) -> u32 {
        w.cwnd.max(prior_cwnd)
    }

    /// `set_state(TCP_CA_Loss)`: a retransmission timeout, after `ssthresh`.
    fn on_loss_timeout(&mut self, _w: &Window) {}

    /// `cwnd_event`: an event of the connection's sending ([`CaEvent`]); `w.now` is the
    /// time it happens.
    fn cwnd_event(&mut self, _w: &Window, _ev: CaEvent) {}
}

/// NewReno (Linux `tcp_reno`, RFC 5681 + RFC 6582).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NewReno;

impl CongestionOps for NewReno {
    fn name(&self) -> &'static str {
        "reno"
    }

    /// `tcp_reno_ssthresh`: half the window, at least two segments.
    ///
    /// Deviation from RFC 5681 (as Linux): half of cwnd rather than of the flight size.
    fn ssthresh(&mut self, w: &Window) -> u32 {
        (w.cwnd / 2).max(2 * w.mss)
    }

    /// `tcp_reno_cong_avoid`.
    fn cong_avoid(&mut self, w: &mut Window, acked: u32, cwnd_limited: bool) {
        if !cwnd_limited {
            return;
        }
        let mut acked = acked;
        if w.in_slow_start() {
            acked = w.slow_start(acked);
            if acked == 0 {
                return;
            }
        }
        w.cong_avoid_ai(acked);
    }
}

/// The algorithms the stack knows, held by value in each socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Congestion {
    /// CUBIC with HyStart (the default, as Linux).
    Cubic(Cubic),
    /// NewReno.
    Reno(NewReno),
}

/// The default algorithm's name (`net.ipv4.tcp_congestion_control`).
pub const DEFAULT_CONGESTION: &str = "cubic";

impl Congestion {
    /// A fresh instance of the algorithm named `name` (`tcp_ca_find`), none if unknown.
    pub fn from_name(name: &str) -> Option<Congestion> {
        match name {
            "cubic" => Some(Congestion::Cubic(Cubic::new())),
            "reno" => Some(Congestion::Reno(NewReno)),
            _ => None,
        }
    }
}

impl Default for Congestion {
    fn default() -> Self {
        Congestion::Cubic(Cubic::new())
    }
}

impl CongestionOps for Congestion {
    fn name(&self) -> &'static str {
        match self {
            Congestion::Cubic(a) => a.name(),
            Congestion::Reno(a) => a.name(),
        }
    }

    fn ssthresh(&mut self, w: &Window) -> u32 {
        match self {
            Congestion::Cubic(a) => a.ssthresh(w),
            Congestion::Reno(a) => a.ssthresh(w),
        }
    }

    fn cong_avoid(&mut self, w: &mut Window, acked: u32, cwnd_limited: bool) {
        match self {
            Congestion::Cubic(a) => a.cong_avoid(w, acked, cwnd_limited),
            Congestion::Reno(a) => a.cong_avoid(w, acked, cwnd_limited),
        }
    }

    fn undo_cwnd(&mut self, w: &Window, prior_cwnd: u32) -> u32 {
        match self {
            Congestion::Cubic(a) => a.undo_cwnd(w, prior_cwnd),
            Congestion::Reno(a) => a.undo_cwnd(w, prior_cwnd),
        }
    }

    fn on_loss_timeout(&mut self, w: &Window) {
        match self {
            Congestion::Cubic(a) => a.on_loss_timeout(w),
            Congestion::Reno(a) => a.on_loss_timeout(w),
        }
    }

    fn cwnd_event(&mut self, w: &Window, ev: CaEvent) {
        match self {
            Congestion::Cubic(a) => a.cwnd_event(w, ev),
            Congestion::Reno(a) => a.cwnd_event(w, ev),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 6928: the initial window is 10 segments; RFC 5681 §3.1: slow start grows the
    /// window by the bytes acknowledged (Linux: by the packets acknowledged).
    #[test]
    fn slow_start_grows_by_acked_bytes_from_initial_window_10() {
        let mut w = Window::initial(1000);
        assert_eq!(w.cwnd, 10_000);
        let mut r = NewReno;
        r.cong_avoid(&mut w, 2000, true);
        assert_eq!(w.cwnd, 12_000);
        // Not cwnd-limited: no growth.
        r.cong_avoid(&mut w, 2000, false);
        assert_eq!(w.cwnd, 12_000);
    }

    /// RFC 5681 §3.1: in congestion avoidance the window grows by about one segment per
    /// round trip (one MSS per cwnd of acknowledged bytes).
    #[test]
    fn congestion_avoidance_adds_one_mss_per_window() {
        let mut w = Window::initial(1000);
        w.ssthresh = 10_000;
        let mut r = NewReno;
        for _ in 0..9 {
            r.cong_avoid(&mut w, 1000, true);
        }
        assert_eq!(w.cwnd, 10_000);
        r.cong_avoid(&mut w, 1000, true);
        assert_eq!(w.cwnd, 11_000);
    }

    /// Slow start stops at ssthresh; the rest of the ACK goes to congestion avoidance.
    #[test]
    fn slow_start_caps_at_ssthresh() {
        let mut w = Window::initial(1000);
        w.ssthresh = 10_500;
        NewReno.cong_avoid(&mut w, 2000, true);
        assert_eq!(w.cwnd, 10_500);
        assert_eq!(w.cwnd_cnt, 1500);
    }

    /// The selectable names, as `TCP_CONGESTION` and the sysctl spell them; CUBIC is the
    /// default.
    #[test]
    fn algorithms_by_name() {
        assert_eq!(Congestion::default().name(), "cubic");
        assert_eq!(DEFAULT_CONGESTION, "cubic");
        assert_eq!(Congestion::from_name("reno").unwrap().name(), "reno");
        assert_eq!(Congestion::from_name("cubic").unwrap().name(), "cubic");
        assert!(Congestion::from_name("bbr").is_none());
        assert!(Congestion::from_name("").is_none());
    }

    /// `tcp_reno_ssthresh`: max(cwnd / 2, 2 segments).
    #[test]
    fn reno_ssthresh_halves_with_floor_of_two_segments() {
        let mut w = Window::initial(1000);
        assert_eq!(NewReno.ssthresh(&w), 5000);
        w.cwnd = 3000;
        assert_eq!(NewReno.ssthresh(&w), 2000);
    }
}

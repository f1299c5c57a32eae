//! CUBIC congestion control with HyStart, the default algorithm.
//!
//! Linux: net/ipv4/tcp_cubic.c with its module defaults: `beta` 717/1024,
//! `bic_scale` 41 (C = 0.4), `fast_convergence` 1, `tcp_friendliness` 1, `hystart` 1 with
//! `HYSTART_ACK_TRAIN | HYSTART_DELAY`, `hystart_low_window` 16, `hystart_ack_delta_us` 2000.
//! RFCs: RFC 9438 (CUBIC: §4.2 the window function and K, §4.3 the Reno-friendly region,
//! §4.6 multiplicative decrease, §4.7 fast convergence, §4.8 timeouts).
//!
//! Fixed point, no floats: time is counted in 1/1024 s, windows in segments, and K is an
//! integer cube root (Newton's method).
//!
//! The clock and RTT samples come through [`Window::now`] and [`Window::rtt`], which
//! `tcp_ack` stamps before calling the hooks with this ACK's time and sample (the role of
//! `tcp_mstamp` and the rate sample).
//!
//! Deviations from Linux:
//! - A HyStart round ends when a window's worth of bytes (the window at the start of the
//!   round) has been acknowledged, instead of when `snd_una` passes the `snd_nxt` of the
//!   round's start; the hooks do not see sequence numbers.
//! - HyStart's delay detection runs in `cong_avoid` (Linux: `pkts_acked`), so it sees
//!   only ACKs that advance `snd_una` outside loss recovery.

use super::cong::{CaEvent, CongestionOps, Window};
use crate::time::Instant;

/// `BICTCP_BETA_SCALE`.
const BETA_SCALE: u32 = 1024;
/// `beta`: the multiplicative decrease, 717/1024 ≈ 0.7 (RFC 9438 §4.6).
const BETA: u32 = 717;
/// `bic_scale`: C = 41 * 10 / 1024 ≈ 0.4 (RFC 9438 §5).
const BIC_SCALE: u64 = 41;
/// `BICTCP_HZ`: time in the window function is counted in 1/2^10 s.
const HZ_SHIFT: u32 = 10;
/// `cube_rtt_scale`: C scaled by 2^10.
const CUBE_RTT_SCALE: u128 = (BIC_SCALE * 10) as u128;
/// `cube_factor`: 2^(10 + 3 * 10) / (C * 2^10), so that K = cbrt(cube_factor * (W_max - cwnd))
/// is in 1/1024 s.
const CUBE_FACTOR: u64 = (1u64 << (10 + 3 * HZ_SHIFT)) / (BIC_SCALE * 10);
/// `beta_scale`: 8 * (1 + beta) / 3 / (1 - beta), the Reno-friendly estimate's step
/// (RFC 9438 §4.3: alpha_cubic = 3 (1 - beta) / (1 + beta)).
const FRIENDLY_SCALE: u32 = 8 * (BETA_SCALE + BETA) / 3 / (BETA_SCALE - BETA);
/// `hystart_low_window`: HyStart only acts on windows of at least 16 segments.
pub const HYSTART_LOW_WINDOW: u32 = 16;
/// `hystart_ack_delta_us`: ACKs closer than this form a train.
const HYSTART_ACK_DELTA_US: u64 = 2000;
/// `HYSTART_MIN_SAMPLES`: RTT samples per round before the delay test.
const HYSTART_MIN_SAMPLES: u32 = 8;
/// `HYSTART_DELAY_MIN` / `HYSTART_DELAY_MAX`: the delay threshold's clamp.
const HYSTART_DELAY_MIN_US: u64 = 4000;
const HYSTART_DELAY_MAX_US: u64 = 16000;

/// Integer cube root (floor), by Newton's method from above.
pub fn cube_root(n: u64) -> u64 {
    if n < 2 {
        return n;
    }
    let bits = 64 - n.leading_zeros();
    // 2^ceil(bits / 3) is at least the root.
    let mut x = 1u64 << bits.div_ceil(3);
    loop {
        let y = (2 * x + n / (x * x)) / 3;
        if y >= x {
            return x;
        }
        x = y;
    }
}

/// The per-socket CUBIC state (Linux `struct bictcp`). Windows are in segments.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Cubic {
    /// Segments acknowledged per one-segment increase (`cnt`).
    cnt: u32,
    /// W_max: the window before the last reduction (`last_max_cwnd`).
    w_max: u32,
    /// The window when `cnt` was last computed, and when (`last_cwnd`, `last_time`).
    last_cwnd: u32,
    last_time_ms: u64,
    /// The window function's plateau (`bic_origin_point`).
    origin: u32,
    /// K, in 1/1024 s (`bic_K`).
    k: u64,
    /// Minimum RTT seen, microseconds, 0 before the first sample (`delay_min`).
    delay_min_us: u64,
    /// Start of the current congestion-avoidance epoch (`epoch_start`).
    epoch_start: Option<Instant>,
    /// Bytes acknowledged in this epoch toward the Reno-friendly estimate (`ack_cnt`).
    ack_cnt: u32,
    /// The Reno-friendly window estimate W_est, segments (`tcp_cwnd`).
    w_est: u32,
    /// HyStart has ended slow start for this connection (`found`).
    found: bool,
    /// HyStart round: start time, last ACK of the train, window and bytes acknowledged.
    round_start: Option<Instant>,
    last_ack: Instant,
    round_len: u32,
    round_acked: u32,
    /// Smallest RTT sample of the round, microseconds, and the samples seen.
    curr_rtt_us: u64,
    sample_cnt: u32,
}

impl Cubic {
    /// A fresh connection (`cubictcp_init`).
    pub fn new() -> Cubic {
        Cubic::default()
    }

    /// W_max, segments (for tests and diagnostics).
    pub fn w_max(&self) -> u32 {
        self.w_max
    }

    /// K, in 1/1024 s.
    pub fn k(&self) -> u64 {
        self.k
    }

    /// Whether HyStart ended slow start.
    pub fn hystart_found(&self) -> bool {
        self.found
    }

    /// Start of the current congestion-avoidance epoch, none between epochs.
    pub fn epoch_start(&self) -> Option<Instant> {
        self.epoch_start
    }

    /// `bictcp_reset`.
    fn reset(&mut self) {
        *self = Cubic::default();
    }

    /// `bictcp_hystart_reset`: a new round starts now.
    fn hystart_reset(&mut self, w: &Window) {
        self.round_start = Some(w.now);
        self.last_ack = w.now;
        self.round_len = w.cwnd;
        self.round_acked = 0;
        self.curr_rtt_us = u64::MAX;
        self.sample_cnt = 0;
    }

    /// HyStart found the exit point: slow start ends at the current window.
    fn hystart_exit(&mut self, w: &mut Window) {
        self.found = true;
        w.ssthresh = w.cwnd;
    }

    /// `cubictcp_acked` + `hystart_update`, per ACK in slow start.
    fn hystart_on_ack(&mut self, w: &mut Window, acked: u32, rtt_us: Option<u64>) {
        let now = w.now;
        if let Some(delay) = rtt_us {
            // Discard delay samples right after a window reduction.
            if let Some(e) = self.epoch_start {
                if now.saturating_since(e).as_millis() < 1000 {
                    return;
                }
            }
            let delay = delay.max(1);
            if self.delay_min_us == 0 || self.delay_min_us > delay {
                self.delay_min_us = delay;
            }
        }
        if self.found || !w.in_slow_start() || w.cwnd < HYSTART_LOW_WINDOW * w.mss {
            return;
        }
        self.round_acked = self.round_acked.saturating_add(acked);
        if self.round_start.is_none() || self.round_acked > self.round_len {
            self.hystart_reset(w);
        }
        let Some(round_start) = self.round_start else {
            return;
        };
        // Ack train: ACKs spaced by less than 2 ms that have run for more than half the
        // minimum RTT mean the pipe is full (no pacing, so no ack delay allowance).
        if self.delay_min_us > 0
            && now.saturating_since(self.last_ack).as_micros() <= u128::from(HYSTART_ACK_DELTA_US)
        {
            self.last_ack = now;
            let threshold = self.delay_min_us / 2;
            if now.saturating_since(round_start).as_micros() > u128::from(threshold) {
                self.hystart_exit(w);
                return;
            }
        }
        // Delay increase: the round's minimum RTT grew by delay_min / 8, clamped to
        // [4 ms, 16 ms].
        if let Some(delay) = rtt_us {
            let delay = delay.max(1);
            self.curr_rtt_us = self.curr_rtt_us.min(delay);
            if self.sample_cnt < HYSTART_MIN_SAMPLES {
                self.sample_cnt += 1;
            } else {
                let thresh =
                    (self.delay_min_us >> 3).clamp(HYSTART_DELAY_MIN_US, HYSTART_DELAY_MAX_US);
                if self.curr_rtt_us > self.delay_min_us + thresh {
                    self.hystart_exit(w);
                }
            }
        }
    }

    /// `bictcp_update`: the number of segments to acknowledge per one-segment increase,
    /// from the window function and the Reno-friendly estimate.
    fn update(&mut self, w: &Window, cwnd: u32, acked: u32) {
        let now = w.now;
        let now_ms = now.as_millis();
        self.ack_cnt = self.ack_cnt.saturating_add(acked);
        if self.last_cwnd == cwnd && now_ms.saturating_sub(self.last_time_ms) <= 1000 / 32 {
            return;
        }
        // The window function is evaluated at most once per millisecond.
        if !(self.epoch_start.is_some() && now_ms == self.last_time_ms) {
            self.last_cwnd = cwnd;
            self.last_time_ms = now_ms;
            let epoch = match self.epoch_start {
                Some(e) => e,
                None => {
                    // A new epoch (RFC 9438 §4.2): K from W_max, or no concave part if the
                    // window is already above W_max.
                    self.epoch_start = Some(now);
                    self.ack_cnt = acked;
                    self.w_est = cwnd;
                    if self.w_max <= cwnd {
                        self.k = 0;
                        self.origin = cwnd;
                    } else {
                        self.k =
                            cube_root(CUBE_FACTOR.saturating_mul(u64::from(self.w_max - cwnd)));
                        self.origin = self.w_max;
                    }
                    now
                }
            };
            // t, one minimum RTT ahead (the window wanted when this ACK's data is
            // acknowledged), in 1/1024 s.
            let t_ms = now.saturating_since(epoch).as_millis() as u64 + self.delay_min_us / 1000;
            let t = (t_ms << HZ_SHIFT) / 1000;
            let offs = u128::from(t.abs_diff(self.k));
            // C * (t - K)^3, segments.
            let delta = (CUBE_RTT_SCALE * offs * offs * offs) >> (10 + 3 * HZ_SHIFT);
            let delta = delta.min(u128::from(u32::MAX)) as u32;
            let target = if t < self.k {
                self.origin.saturating_sub(delta)
            } else {
                self.origin.saturating_add(delta)
            };
            self.cnt = if target > cwnd {
                cwnd / (target - cwnd)
            } else {
                100 * cwnd
            };
            // Before the first loss, grow at least 5% per RTT.
            if self.w_max == 0 && self.cnt > 20 {
                self.cnt = 20;
            }
        }
        // Reno-friendly region (RFC 9438 §4.3): W_est grows by alpha_cubic per RTT; while
        // it is above the cubic window, it sets the pace.
        let step = ((cwnd * FRIENDLY_SCALE) >> 3).max(1).saturating_mul(w.mss);
        while self.ack_cnt > step {
            self.ack_cnt -= step;
            self.w_est += 1;
        }
        if self.w_est > cwnd {
            let max_cnt = cwnd / (self.w_est - cwnd);
            self.cnt = self.cnt.min(max_cnt);
        }
        // At most one segment per two acknowledged (1.5x per RTT).
        self.cnt = self.cnt.max(2);
    }
}

impl CongestionOps for Cubic {
    fn name(&self) -> &'static str {
        "cubic"
    }

    /// `bictcp_recalc_ssthresh`: RFC 9438 §4.6 (cwnd * beta) and §4.7 fast convergence
    /// (a flow whose W_max shrank releases bandwidth: W_max = cwnd * (1 + beta) / 2).
    fn ssthresh(&mut self, w: &Window) -> u32 {
        let cwnd = w.cwnd / w.mss.max(1);
        self.epoch_start = None;
        self.w_max = if cwnd < self.w_max {
            cwnd * (BETA_SCALE + BETA) / (2 * BETA_SCALE)
        } else {
            cwnd
        };
        (cwnd * BETA / BETA_SCALE).max(2) * w.mss
    }

    /// `cubictcp_cong_avoid` (with `cubictcp_acked`'s HyStart).
    fn cong_avoid(&mut self, w: &mut Window, acked: u32, cwnd_limited: bool) {
        let rtt_us = w.rtt.take().map(|d| d.as_micros() as u64);
        self.hystart_on_ack(w, acked, rtt_us);
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
        let mss = w.mss.max(1);
        self.update(w, w.cwnd / mss, acked);
        w.cong_avoid_ai_cnt(self.cnt, acked);
    }

    /// `cubictcp_state(TCP_CA_Loss)`: RFC 9438 §4.8, after a timeout the epoch, W_max and
    /// HyStart start over.
    fn on_loss_timeout(&mut self, w: &Window) {
        self.reset();
        self.hystart_reset(w);
        self.round_start = None;
    }

    /// `cubictcp_cwnd_event(CA_EVENT_TX_START)`, RFC 9438 §5.8: a flow that was
    /// application-limited (idle) must not find its window function advanced by the idle
    /// time, so the epoch start moves forward by it (never past now).
    fn cwnd_event(&mut self, w: &Window, ev: CaEvent) {
        if let (CaEvent::TxStart { idle }, Some(e)) = (ev, self.epoch_start) {
            if !idle.is_zero() {
                self.epoch_start = Some((e + idle).min(w.now));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Duration;

    const MSS: u32 = 1000;

    fn window(cwnd_pkts: u32, ssthresh_pkts: u32) -> Window {
        let mut w = Window::initial(MSS);
        w.cwnd = cwnd_pkts * MSS;
        w.ssthresh = ssthresh_pkts * MSS;
        w
    }

    /// Feeds one window's worth of ACKs (one per segment) spread over `rtt`; returns the
    /// time after the round.
    fn round(c: &mut Cubic, w: &mut Window, start: Instant, rtt: Duration) -> Instant {
        let n = (w.cwnd / MSS).max(1);
        let step = rtt.as_nanos() as u64 / u64::from(n);
        let mut t = start;
        for _ in 0..n {
            t = Instant::from_nanos(t.as_nanos() + step);
            w.now = t;
            w.rtt = Some(rtt);
            c.cong_avoid(w, MSS, true);
        }
        t
    }

    #[test]
    fn cube_root_is_floor() {
        const NS: [u64; 13] = [0, 1, 2, 7, 8, 9, 26, 27, 28, 999, 1000, 1 << 40, u64::MAX];
        for n in NS {
            let r = cube_root(n);
            assert!(u128::from(r).pow(3) <= u128::from(n), "{n}");
            assert!(u128::from(r + 1).pow(3) > u128::from(n), "{n}");
        }
    }

    /// RFC 9438 §4.6, Linux beta 717: the window after a loss is 717/1024 of W_max.
    #[test]
    fn loss_cuts_to_717_of_w_max() {
        let mut c = Cubic::new();
        let w = window(100, 50);
        assert_eq!(c.ssthresh(&w), 100 * 717 / 1024 * MSS);
        assert_eq!(c.w_max(), 100);
        // Floor of two segments.
        let w = window(2, 1);
        assert_eq!(c.ssthresh(&w), 2 * MSS);
    }

    /// RFC 9438 §4.7: a loss below the previous W_max lowers W_max to cwnd * (1 + beta) / 2.
    #[test]
    fn fast_convergence_lowers_w_max() {
        let mut c = Cubic::new();
        c.ssthresh(&window(100, 50));
        assert_eq!(c.w_max(), 100);
        c.ssthresh(&window(80, 50));
        assert_eq!(c.w_max(), 80 * (1024 + 717) / 2048);
        assert!(c.w_max() < 80);
        // A loss above W_max just records the window.
        c.ssthresh(&window(120, 50));
        assert_eq!(c.w_max(), 120);
    }

    /// RFC 9438 §4.2: after a loss at W_max the window grows concavely up to W_max at about
    /// time K = cbrt(W_max * (1 - beta) / C), then convexly beyond it.
    #[test]
    fn concave_then_convex_around_w_max() {
        let mut c = Cubic::new();
        let mut w = window(100, 1);
        let ss = c.ssthresh(&w);
        w.ssthresh = ss;
        w.cwnd = ss;
        // Large RTT so the Reno-friendly estimate stays out of the way.
        let rtt = Duration::from_millis(100);
        let mut t = Instant::from_secs(10);
        w.now = t;
        w.rtt = None;
        c.cong_avoid(&mut w, MSS, true);
        // K for W_max 100, cwnd 70: cbrt(30 / 0.4) ≈ 4.2 s.
        let k_ms = c.k() * 1000 / 1024;
        assert!((4100..=4300).contains(&k_ms), "K = {k_ms} ms");
        let mut trace = alloc::vec::Vec::new();
        for _ in 0..90 {
            t = round(&mut c, &mut w, t, rtt);
            trace.push((t.as_millis() - 10_000, w.cwnd / MSS));
        }
        // Near W_max around K.
        let at_k = trace
            .iter()
            .find(|(ms, _)| *ms >= k_ms)
            .map(|&(_, cw)| cw)
            .unwrap();
        assert!((97..=102).contains(&at_k), "cwnd at K = {at_k}");
        // Concave before K: the per-round growth shrinks as W_max nears.
        let growth = |i: usize| trace[i + 5].1 - trace[i].1;
        assert!(growth(0) > growth(30), "{trace:?}");
        // Convex after K: the growth increases again.
        assert!(growth(80) > growth(45), "{trace:?}");
        assert!(trace[89].1 > 105, "{trace:?}");
    }

    /// RFC 9438 §4.3: at a small window and short RTT, Reno's growth (alpha_cubic per RTT)
    /// beats the cubic curve and sets the pace.
    #[test]
    fn reno_friendly_region_dominates_at_small_rtt() {
        let mut c = Cubic::new();
        let mut w = window(20, 1);
        let ss = c.ssthresh(&w);
        w.ssthresh = ss;
        w.cwnd = ss;
        let start = w.cwnd / MSS;
        let rtt = Duration::from_millis(1);
        let mut t = Instant::from_secs(10);
        for _ in 0..100 {
            t = round(&mut c, &mut w, t, rtt);
        }
        // 100 ms of pure cubic growth from 14 toward 20 would add well under one segment;
        // the Reno-friendly estimate adds about 0.53 segment per RTT (a little less here:
        // like Linux, the pace is recomputed at most every 1/32 s while cwnd stands still).
        let grown = w.cwnd / MSS - start;
        assert!(
            (30..=60).contains(&grown),
            "grew {grown} segments in 100 RTTs"
        );
    }

    /// HyStart (delay increase): once the window reaches 16 segments, an RTT rise of more
    /// than max(4 ms, delay_min / 8) over a round ends slow start at the current window.
    #[test]
    fn hystart_delay_increase_exits_slow_start() {
        let mut c = Cubic::new();
        let mut w = Window::initial(MSS);
        let base = Duration::from_millis(40);
        let mut t = Instant::from_secs(1);
        // ACKs spaced 3 ms apart: no ACK train.
        let mut rtt = base;
        for i in 0..200 {
            t = Instant::from_nanos(t.as_nanos() + 3_000_000);
            w.now = t;
            if i > 40 {
                rtt = base + Duration::from_millis(20);
            }
            w.rtt = Some(rtt);
            c.cong_avoid(&mut w, MSS, true);
            if c.hystart_found() {
                break;
            }
        }
        assert!(c.hystart_found());
        assert!(!w.in_slow_start());
        assert_eq!(w.ssthresh, w.cwnd);
        assert!(w.cwnd >= HYSTART_LOW_WINDOW * MSS);
        // Without the RTT increase slow start would have gone on.
        let mut c2 = Cubic::new();
        let mut w2 = Window::initial(MSS);
        let mut t = Instant::from_secs(1);
        for _ in 0..60 {
            t = Instant::from_nanos(t.as_nanos() + 3_000_000);
            w2.now = t;
            w2.rtt = Some(base);
            c2.cong_avoid(&mut w2, MSS, true);
        }
        assert!(!c2.hystart_found());
        assert!(w2.in_slow_start());
    }

    /// HyStart (ACK train): closely spaced ACKs running for more than half the minimum RTT
    /// end slow start.
    #[test]
    fn hystart_ack_train_exits_slow_start() {
        let mut c = Cubic::new();
        let mut w = Window::initial(MSS);
        w.cwnd = 20 * MSS;
        let mut t = Instant::from_secs(1);
        w.now = t;
        w.rtt = Some(Duration::from_millis(10));
        c.cong_avoid(&mut w, MSS, true);
        // ACKs 1 ms apart: after more than 5 ms the train is long enough.
        for _ in 0..10 {
            t = Instant::from_nanos(t.as_nanos() + 1_000_000);
            w.now = t;
            c.cong_avoid(&mut w, MSS, true);
            if c.hystart_found() {
                break;
            }
        }
        assert!(c.hystart_found());
        assert_eq!(w.ssthresh, w.cwnd);
    }

    /// Below hystart_low_window HyStart does nothing, and a timeout resets W_max.
    #[test]
    fn hystart_low_window_and_timeout_reset() {
        let mut c = Cubic::new();
        let mut w = Window::initial(MSS);
        let mut t = Instant::from_secs(1);
        for _ in 0..5 {
            t = Instant::from_nanos(t.as_nanos() + 3_000_000);
            w.now = t;
            w.rtt = Some(Duration::from_millis(100));
            c.cong_avoid(&mut w, MSS, true);
        }
        assert!(!c.hystart_found());
        assert_eq!(w.cwnd, 15 * MSS);
        c.ssthresh(&w);
        assert_eq!(c.w_max(), 15);
        c.on_loss_timeout(&w);
        assert_eq!(c.w_max(), 0);
    }

    /// `cubictcp_cwnd_event(CA_EVENT_TX_START)`: the epoch start moves forward by the idle
    /// time, never past now; outside an epoch (slow start) nothing changes, and
    /// `CA_EVENT_CWND_RESTART` leaves CUBIC alone.
    #[test]
    fn tx_start_shifts_the_epoch_by_the_idle_time() {
        use crate::tcp::cong::CaEvent;
        let mut c = Cubic::new();
        let mut w = window(20, 1);
        w.now = Instant::from_secs(10);
        c.cwnd_event(
            &w,
            CaEvent::TxStart {
                idle: Duration::from_secs(3),
            },
        );
        assert_eq!(c.epoch_start(), None);
        c.cong_avoid(&mut w, MSS, true);
        assert_eq!(c.epoch_start(), Some(Instant::from_secs(10)));
        let k = c.k();
        w.now = Instant::from_secs(20);
        c.cwnd_event(&w, CaEvent::CwndRestart);
        assert_eq!(c.epoch_start(), Some(Instant::from_secs(10)));
        c.cwnd_event(
            &w,
            CaEvent::TxStart {
                idle: Duration::from_secs(4),
            },
        );
        assert_eq!(c.epoch_start(), Some(Instant::from_secs(14)));
        // Idle longer than the epoch's age: the epoch starts now.
        c.cwnd_event(
            &w,
            CaEvent::TxStart {
                idle: Duration::from_secs(60),
            },
        );
        assert_eq!(c.epoch_start(), Some(Instant::from_secs(20)));
        assert_eq!(c.k(), k, "K and W_max are kept");
    }
}

/// The selection API: `tcp_congestion_control` and `TCP_CONGESTION`.
#[cfg(test)]
mod api_tests {
    use super::super::test_peer::*;
    use crate::config::StackConfig;
    use crate::testutil::Harness;
    use crate::time::{Duration, Instant};
    use crate::Errno;

    /// CUBIC is the default; "reno" and "cubic" select; an unknown name is ENOENT (Linux's
    /// `tcp_set_congestion_control`) and leaves the socket's algorithm alone; a listener's
    /// children inherit its choice.
    #[test]
    fn set_congestion_by_name() {
        let mut h = setup();
        let s = h.stack.tcp_socket().unwrap();
        assert_eq!(h.stack.tcp_congestion(s), Ok("cubic"));
        assert_eq!(h.stack.tcp_set_congestion(s, "reno"), Ok(()));
        assert_eq!(h.stack.tcp_congestion(s), Ok("reno"));
        assert_eq!(h.stack.tcp_set_congestion(s, "bbr"), Err(Errno::ENOENT));
        assert_eq!(h.stack.tcp_set_congestion(s, "Cubic"), Err(Errno::ENOENT));
        assert_eq!(h.stack.tcp_congestion(s), Ok("reno"));
        assert_eq!(h.stack.tcp_set_congestion(s, "cubic"), Ok(()));
        assert_eq!(h.stack.tcp_congestion(s), Ok("cubic"));
        h.stack.tcp_close(s).unwrap();
        assert_eq!(h.stack.tcp_congestion(s), Err(Errno::EBADF));
        assert_eq!(h.stack.tcp_set_congestion(s, "reno"), Err(Errno::EBADF));

        let l = listener(&mut h, 16);
        h.stack.tcp_set_congestion(l, "reno").unwrap();
        let _conn = peer_connects(&mut h, PEER_PORT);
        let (c, _) = h.stack.tcp_accept(l).unwrap();
        assert_eq!(h.stack.tcp_congestion(c), Ok("reno"));
    }

    /// In the stack, CUBIC sees the socket's clock and its RTT samples.
    #[test]
    fn stack_feeds_clock_and_rtt_samples() {
        let mut h = setup();
        let (s, mut conn, _) = open_active(&mut h, true);
        for _ in 0..4 {
            h.stack.tcp_send(s, &[7u8; 500]).unwrap();
            let sent: usize = out(&mut h).iter().map(|o| o.payload.len()).sum();
            assert_eq!(sent, 500);
            h.advance(Duration::from_millis(30));
            conn.our_nxt = conn.our_nxt.wrapping_add(500);
            send(&mut h, &conn.ack());
        }
        let sk = h.stack.tcp.get(s).unwrap();
        assert!(sk.win.now > Instant::from_millis(90), "{:?}", sk.win.now);
        let super::super::cong::Congestion::Cubic(c) = sk.cc else {
            panic!("default is CUBIC");
        };
        // Each ACK's own 30 ms sample reached CUBIC on that ACK and was consumed there.
        assert_eq!(c.delay_min_us, 30_000, "{c:?}");
        assert_eq!(sk.win.rtt, None);
    }

    /// `net.ipv4.tcp_congestion_control` picks the algorithm of new sockets.
    #[test]
    fn sysctl_sets_the_default() {
        let cfg = StackConfig {
            tcp_congestion_control: "reno",
            ..StackConfig::default()
        };
        let mut h = Harness::with_config(cfg, 1).with_static_peer();
        let s = h.stack.tcp_socket().unwrap();
        assert_eq!(h.stack.tcp_congestion(s), Ok("reno"));
        assert_eq!(StackConfig::default().tcp_congestion_control, "cubic");
    }
}

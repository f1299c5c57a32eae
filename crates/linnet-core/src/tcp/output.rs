//! TCP output: segment construction with Linux's option layout, window selection, the
//! transmit loop (congestion window, receive window, Nagle; each segment joins the
//! scoreboard), ACKs (with a pending D-SACK block first), challenge ACKs and resets.
//!
//! Linux: net/ipv4/tcp_output.c (`__tcp_transmit_skb`, `tcp_syn_options`,
//! `tcp_synack_options`, `tcp_established_options`, `tcp_select_initial_window`,
//! `__tcp_select_window`, `tcp_select_window`, `tcp_write_xmit`, `tcp_nagle_test`,
//! `tcp_snd_wnd_test`, `tcp_cwnd_test`, `tcp_minshall_update`, `tcp_options_write`,
//! `tcp_send_ack`, `tcp_send_active_reset`, `tcp_write_wakeup`, `tcp_connect_init`,
//! `tcp_cwnd_validate`), net/ipv4/tcp_ipv4.c (`tcp_v4_send_reset`), net/ipv4/tcp_input.c
//! (`tcp_send_challenge_ack`, `__tcp_oow_rate_limited`), net/ipv4/tcp.c
//! (`tcp_cleanup_rbuf`).
//! RFCs: RFC 9293 §3.8.6 and §3.10.7.1 (windows, reset generation), RFC 1122 §4.2.3.3-4
//! (SWS avoidance, Nagle), RFC 7323 §2-3 (window scale, timestamps), RFC 2018 §4 (SACK block
//! order), RFC 2883 §4 (the D-SACK block first), RFC 5961 §7 (challenge-ACK throttling).

use core::net::Ipv4Addr;

use linnet_wire::ipv4::Protocol;
use linnet_wire::tcp::{self as wire, Flags, SeqNumber};

use crate::ipv4::output::IpParams;

use super::ecn::INET_ECN_MASK;
use super::timer::ts_now;
use super::{CaState, RtxKind, TcpSock, TcpState, TimerKind};
use crate::stack::Stack;

/// `TCP_MAX_WSCALE`.
const MAX_WSCALE: u8 = 14;
/// `TCP_MSS_DEFAULT`: the MSS assumed when the peer sends none (RFC 9293 §3.7.1).
pub(crate) const MSS_DEFAULT: u32 = 536;
/// `TCP_MIN_SND_MSS`.
const MIN_SND_MSS: u32 = 48;
/// Bytes the timestamp option takes in every segment (`TCPOLEN_TSTAMP_ALIGNED`).
pub(crate) const TS_LEN: u32 = 12;

/// What one segment carries besides its payload.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SegFlags {
    pub(crate) syn: bool,
    pub(crate) ack: bool,
    pub(crate) fin: bool,
    pub(crate) rst: bool,
    pub(crate) psh: bool,
}

impl SegFlags {
    pub(crate) const ACK: SegFlags = SegFlags {
        syn: false,
        ack: true,
        fin: false,
        rst: false,
        psh: false,
    };
}

/// The addresses and header fields of a segment being answered statelessly.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SegId {
    pub(crate) saddr: Ipv4Addr,
    pub(crate) daddr: Ipv4Addr,
    pub(crate) sport: u16,
    pub(crate) dport: u16,
    pub(crate) seq: SeqNumber,
    pub(crate) ack: Option<SeqNumber>,
    /// Sequence space the segment occupies (payload + SYN + FIN).
    pub(crate) seq_len: usize,
    pub(crate) rst: bool,
}

/// `tcp_select_initial_window`: `(window, wscale, clamp)` for `space` bytes of receive
/// window, quantized to `mss`.
pub(crate) fn initial_window(
    space: u32,
    mss: u32,
    wscale_ok: bool,
    wscale_space: u32,
) -> (u32, u8, u32) {
    let clamp = 65_535u32 << MAX_WSCALE;
    let mut space = space.min(clamp);
    if space > mss && mss > 0 {
        space = space / mss * mss;
    }
    let mut wscale = 0u8;
    if wscale_ok {
        let s = space.max(wscale_space).min(clamp).max(1);
        // ilog2(space) - 15: the smallest shift that lets 65535 << shift cover the space
        // (to within a factor of two, as Linux).
        let ilog2 = 31 - s.leading_zeros();
        wscale = (ilog2.saturating_sub(15) as u8).min(MAX_WSCALE);
    }
    let clamp = clamp.min(65_535u32 << wscale);
    (space.min(clamp), wscale, clamp)
}

impl TcpSock {
    /// Bytes in flight (`tcp_packets_in_flight` in bytes, RFC 6675's pipe): what was sent
    /// and is neither acknowledged, SACKed nor considered lost, plus retransmissions.
    pub(crate) fn in_flight(&self) -> u32 {
        let outstanding = self.snd_nxt.diff(self.snd_una).max(0) as u32;
        self.sb.bytes_in_flight(outstanding)
    }

    /// The space the window scale is chosen for (`tcp_select_initial_window`): the largest
    /// buffer the socket could grow to, or its own buffer when SO_RCVBUF fixed it (then
    /// `window_clamp` is the full space).
    pub(crate) fn wscale_space(&self, cfg: &crate::config::StackConfig) -> u32 {
        if self.rcvbuf_locked {
            self.full_space()
        } else {
            u32::try_from(cfg.tcp_rmem.2.max(cfg.rmem_max)).unwrap_or(u32::MAX)
        }
    }

    /// The receive window space (`tcp_full_space`): half the receive buffer, the other half
    /// being Linux's allowance for overhead (`tcp_adv_win_scale` = 1).
    pub(crate) fn full_space(&self) -> u32 {
        u32::try_from(self.rcvbuf / 2).unwrap_or(u32::MAX)
    }

    /// `tcp_sync_mss` with the peer's MSS option: payload bytes per full segment.
    pub(crate) fn sync_mss(&mut self, peer_mss: Option<u16>, mtu: u32) {
        let peer = self.tcp_mss_clamp(peer_mss.map_or(MSS_DEFAULT, u32::from));
        self.mss_clamp = peer.min(mtu.saturating_sub(40)).max(MIN_SND_MSS);
        let opts = if self.ts_ok { TS_LEN } else { 0 };
        self.mss = self.mss_clamp.saturating_sub(opts).max(MIN_SND_MSS);
        self.win.mss = self.mss;
    }
}

impl Stack {
    /// `tcp_connect_init`: ISN, MSS, window and scale for an active open.
    pub(crate) fn tcp_connect_init(&mut self, sk: &mut TcpSock, mtu: u32) {
        let now = self.now;
        sk.advmss = sk.tcp_mss_clamp(mtu.saturating_sub(40).max(MIN_SND_MSS));
        sk.ack.rcv_mss = sk.advmss.min(MSS_DEFAULT);
        let wscale_space = sk.wscale_space(&self.cfg);
        let uclamp = sk.user_window_clamp();
        let (wnd, ws, clamp) = initial_window(
            sk.full_space().min(uclamp),
            sk.advmss,
            self.cfg.tcp_window_scaling,
            wscale_space.min(uclamp),
        );
        sk.rcv_wnd = wnd;
        sk.rcv_ssthresh = wnd;
        sk.rcv_wscale = ws;
        sk.window_clamp = clamp.min(sk.full_space().max(wnd)).min(uclamp);
        sk.wscale_ok = self.cfg.tcp_window_scaling;
        sk.ts_ok = self.cfg.tcp_timestamps;
        sk.sack_ok = self.cfg.tcp_sack;
        sk.ts_offset = self.tcp.keys.ts_offset(sk.local, sk.remote);
        let iss = SeqNumber(self.tcp.keys.isn(sk.local, sk.remote, now));
        sk.iss = iss;
        sk.snd_una = iss;
        sk.snd_nxt = iss;
        sk.snd_sml = iss;
        sk.high_seq = iss;
        sk.sbuf_seq = iss + 1;
        sk.snd_wnd = 0;
        sk.inet_id = self.rand_u32() as u16;
        sk.retrans_stamp = Some(now);
        sk.pmtu = mtu;
        sk.sync_mss(None, mtu);
        sk.win = super::cong::Window::initial(sk.mss);
    }

    /// `__tcp_select_window`: the window the free receive space allows, with receiver-side
    /// SWS avoidance (RFC 1122 §4.2.3.3): nothing below a segment or 1/16 of the buffer once
    /// the free space falls under half.
    pub(crate) fn tcp_raw_window(&self, sk: &mut TcpSock) -> u32 {
        let full = sk.window_clamp.min(sk.full_space()).max(1);
        let mss = sk.ack.rcv_mss.max(1).min(full);
        let held = u32::try_from(sk.rmem()).unwrap_or(u32::MAX);
        let mut free = full.saturating_sub(held);
        if free < full / 2 {
            sk.ack.quick = 0;
            // Do not let the scale round a small window up.
            free = free >> sk.rcv_wscale << sk.rcv_wscale;
            if free < full / 16 || free < mss {
                return 0;
            }
        }
        free = free.min(sk.rcv_ssthresh.max(mss));
        if sk.rcv_wscale > 0 {
            let unit = 1u32 << sk.rcv_wscale;
            free.div_ceil(unit).saturating_mul(unit)
        } else {
            let mut window = sk.rcv_wnd;
            if window + mss <= free || window > free {
                window = free / mss * mss;
            } else if mss == full && free > window + full / 2 {
                window = free;
            }
            window
        }
    }

    /// `tcp_select_window`: the window field of an outgoing segment; the window never
    /// shrinks below what was already offered (RFC 9293 §3.8.6.2.2).
    pub(crate) fn tcp_select_window(&mut self, sk: &mut TcpSock) -> u16 {
        let old = sk.rcv_wnd;
        let cur = sk.receive_window();
        let mut new = self.tcp_raw_window(sk);
        if new < cur {
            let unit = 1u32 << sk.rcv_wscale;
            new = cur.div_ceil(unit).saturating_mul(unit);
        }
        new = new.min(65_535u32 << sk.rcv_wscale);
        sk.rcv_wnd = new;
        sk.rcv_wup = sk.rcv_nxt;
        let field = new >> sk.rcv_wscale;
        if field == 0 {
            sk.rcv_wnd = 0;
            if old != 0 {
                self.stats.tcp_ext.tcp_to_zero_window_adv += 1;
            }
        } else if old == 0 {
            self.stats.tcp_ext.tcp_from_zero_window_adv += 1;
        }
        field as u16
    }

    /// `__tcp_transmit_skb`: builds one segment of `len` bytes taken at `off` in the send
    /// buffer and hands it to IP. Returns false if it could not be sent (no route).
    pub(crate) fn tcp_transmit(
        &mut self,
        sk: &mut TcpSock,
        seq: SeqNumber,
        f: SegFlags,
        off: usize,
        len: usize,
        retrans: bool,
    ) -> bool {
        let daddr = *sk.remote.ip();
        let dst = match self.route_output_oif(daddr, Some(*sk.local.ip()), sk.bound_dev_if) {
            Ok(d) => d,
            Err(e) => {
                sk.err_soft = Some(e);
                return false;
            }
        };
        let now = self.now;
        let active_syn = f.syn && !f.ack;
        // The window in a SYN is never scaled (RFC 7323 §2.2).
        let window = if f.syn {
            sk.rcv_wnd.min(65_535) as u16
        } else {
            self.tcp_select_window(sk)
        };
        let (ws, sack_perm, ts) = if active_syn {
            (
                self.cfg.tcp_window_scaling,
                self.cfg.tcp_sack,
                self.cfg.tcp_timestamps,
            )
        } else if f.syn {
            (sk.wscale_ok, sk.sack_ok, sk.ts_ok)
        } else {
            (false, false, sk.ts_ok)
        };
        let tsval = match sk.cookie_tsval {
            Some(t) if f.syn => t,
            _ => ts_now(now),
        }
        .wrapping_add(sk.ts_offset);
        let mut sack_ranges = [None; 4];
        if sk.sack_ok && f.ack && !f.syn && !f.rst {
            // tcp_options_write: a pending D-SACK block goes first (RFC 2883 §4), once.
            let mut n = 0;
            if let Some((a, b)) = sk.sb.dsack.take() {
                sack_ranges[0] = Some((a.0, b.0));
                n = 1;
            }
            for b in sk.sacks.iter().flatten() {
                if n == 4 {
                    break;
                }
                sack_ranges[n] = Some((b.0 .0, b.1 .0));
                n += 1;
            }
        }
        let urg = sk.urg_field(seq);
        let ecn = self.tcp_ecn_marks(sk, seq, f.syn, f.ack, len, retrans);
        let repr = wire::Repr {
            src_port: sk.local.port(),
            dst_port: sk.remote.port(),
            seq_number: seq,
            ack_number: f.ack.then_some(sk.rcv_nxt),
            flags: Flags {
                fin: f.fin,
                syn: f.syn,
                rst: f.rst,
                psh: f.psh,
                ack: f.ack,
                urg: urg.is_some(),
                ece: ecn.ece,
                cwr: ecn.cwr,
            },
            window_len: window,
            urgent_pointer: urg.unwrap_or(0),
            max_seg_size: f.syn.then_some(sk.advmss.min(65_535) as u16),
            window_scale: (f.syn && ws).then_some(sk.rcv_wscale),
            sack_permitted: f.syn && sack_perm,
            sack_ranges,
            timestamp: ts.then_some((tsval, if active_syn { 0 } else { sk.ts_recent })),
            payload: &[],
        };
        let hl = repr.header_len();
        let mut skb = self.pool.alloc(hl + len);
        {
            let area = skb.put(hl + len);
            if len > 0 {
                let (a, b) = sk.sbuf.as_slices();
                let payload = &mut area[hl..];
                let mut copied = 0;
                // Copy [off, off + len) of the ring, which may straddle its two halves.
                let mut pos = off;
                while copied < len {
                    let (src, at) = if pos < a.len() {
                        (a, pos)
                    } else {
                        (b, pos - a.len())
                    };
                    // Invariant: callers stay within the ring; a short copy leaves zeros.
                    let n = src.len().saturating_sub(at).min(len - copied);
                    if n == 0 {
                        break;
                    }
                    payload[copied..copied + n].copy_from_slice(&src[at..at + n]);
                    copied += n;
                    pos += n;
                }
            }
            repr.emit(
                &mut wire::Packet::new_unchecked(&mut area[..]),
                dst.src,
                daddr,
            );
        }
        // ip_queue_xmit: inet->tos (its ECN bits TCP's, tcp_ecn_send) and ip_select_ttl.
        // TIME-WAIT answers go through the control socket in Linux (tcp_v4_send_ack), with
        // tw_tos but the default TTL.
        if !f.syn && sk.ecn_ok() {
            sk.ip.ecn_tos = ecn.tos;
        }
        let ttl = match sk.ip.ttl {
            Some(t) if sk.state != TcpState::TimeWait => t,
            _ => self.cfg.ip_default_ttl,
        };
        let p = IpParams {
            daddr,
            proto: Protocol::TCP,
            ttl,
            tos: (sk.ip.tos & !INET_ECN_MASK) | ecn.tos,
            pmtudisc_want: true,
            sock_id: Some(sk.inet_id),
            ignore_df: false,
            mark: sk.ip.mark,
            priority: sk.ip.priority,
        };
        sk.inet_id = sk.inet_id.wrapping_add(1);
        if retrans {
            self.stats.tcp.retrans_segs += 1;
        } else {
            self.stats.tcp.out_segs += 1;
        }
        if f.rst {
            self.stats.tcp.out_rsts += 1;
        }
        sk.count_segment_out(len, retrans);
        self.ip_send(dst, p, skb);
        if f.ack {
            self.tcp_event_ack_sent(sk);
        }
        true
    }

    /// `tcp_event_ack_sent`: an ACK went out; the delayed ACK is no longer owed.
    fn tcp_event_ack_sent(&mut self, sk: &mut TcpSock) {
        if sk.ack.pending && sk.ack.quick > 0 {
            sk.ack.quick -= 1;
            if sk.ack.quick == 0 {
                sk.ack.ato = super::timer::ATO_MIN;
            }
        }
        sk.ack.pending = false;
        sk.ack.now = false;
        sk.clear_timer(TimerKind::DelAck);
    }

    /// Sends (or retransmits) our SYN.
    pub(crate) fn tcp_send_syn(&mut self, sk: &mut TcpSock, retrans: bool) {
        let f = SegFlags {
            syn: true,
            ack: false,
            fin: false,
            rst: false,
            psh: false,
        };
        let iss = sk.iss;
        self.tcp_transmit(sk, iss, f, 0, 0, retrans);
        if !retrans {
            sk.snd_nxt = iss + 1;
            sk.rtt_sample = Some((iss + 1, self.now));
            self.tcp_arm_rto(sk);
        } else {
            sk.rtt_sample = None;
        }
    }

    /// Sends (or retransmits) our SYN-ACK.
    pub(crate) fn tcp_send_synack(&mut self, sk: &mut TcpSock, retrans: bool) {
        let f = SegFlags {
            syn: true,
            ack: true,
            fin: false,
            rst: false,
            psh: false,
        };
        let iss = sk.iss;
        self.tcp_transmit(sk, iss, f, 0, 0, retrans);
        if retrans {
            sk.rtt_sample = None;
        } else {
            sk.snd_nxt = iss + 1;
            sk.rtt_sample = Some((iss + 1, self.now));
        }
    }

    /// `tcp_send_ack`: a bare ACK at `snd_nxt` (`tcp_acceptable_seq`).
    pub(crate) fn tcp_send_ack(&mut self, sk: &mut TcpSock) {
        let wnd_end = sk.snd_una + sk.snd_wnd as usize;
        let seq = if sk.snd_nxt.after(wnd_end) && sk.snd_wnd > 0 {
            wnd_end
        } else {
            sk.snd_nxt
        };
        self.tcp_transmit(sk, seq, SegFlags::ACK, 0, 0, false);
    }

    /// `__tcp_oow_rate_limited`: at most one out-of-window ACK (or challenge ACK) per
    /// `tcp_invalid_ratelimit` per connection. Returns true when this one must be skipped.
    pub(crate) fn tcp_oow_rate_limited(&mut self, sk: &mut TcpSock) -> bool {
        let now = self.now;
        if let Some(t) = sk.last_oow_ack {
            if now.saturating_since(t) < self.cfg.tcp_invalid_ratelimit {
                return true;
            }
        }
        sk.last_oow_ack = Some(now);
        false
    }

    /// `tcp_send_challenge_ack` (RFC 5961 §3.2, §4.2, §5.2): an ACK telling a possibly
    /// blind sender where we are, throttled per connection and host-wide (RFC 5961 §7,
    /// `tcp_challenge_ack_limit`, off by default since Linux 6.0).
    pub(crate) fn tcp_send_challenge_ack(&mut self, sk: &mut TcpSock) {
        if self.tcp_oow_rate_limited(sk) {
            self.stats.tcp_ext.tcp_ack_skipped_challenge += 1;
            return;
        }
        let limit = self.cfg.tcp_challenge_ack_limit;
        if limit < i32::MAX as u32 {
            let sec = self.now.as_nanos() / 1_000_000_000;
            if sec != self.tcp.challenge.0 {
                // A random budget in [limit/2, 3*limit/2) each second, so that a blind
                // attacker cannot count them (the fix for CVE-2016-5696).
                let half = limit.div_ceil(2);
                let r = self.rand_u32().checked_rem(limit).unwrap_or(0);
                let budget = if limit == 0 {
                    0
                } else {
                    half.saturating_add(r)
                };
                self.tcp.challenge = (sec, budget);
            }
            if self.tcp.challenge.1 == 0 {
                return;
            }
            self.tcp.challenge.1 -= 1;
        }
        self.stats.tcp_ext.tcp_challenge_ack += 1;
        self.tcp_send_ack(sk);
    }

    /// `tcp_send_active_reset`: an abort (close with unread data, listener teardown).
    pub(crate) fn tcp_send_active_reset(&mut self, sk: &mut TcpSock) {
        let f = SegFlags {
            syn: false,
            ack: true,
            fin: false,
            rst: true,
            psh: false,
        };
        let seq = sk.snd_nxt;
        self.tcp_transmit(sk, seq, f, 0, 0, false);
    }

    /// `tcp_v4_send_reset`: the RST owed for a segment no connection accepts (RFC 9293
    /// §3.10.7.1): "If the incoming segment has an ACK field, the reset takes its sequence
    /// number from the ACK field of the segment; otherwise, the reset has sequence number zero
    /// and the ACK field is set to the sum of the sequence number and segment length of the
    /// incoming segment." Never in answer to a RST.
    pub(crate) fn tcp_v4_send_reset(&mut self, id: &SegId) {
        self.tcp_v4_send_reset_sk(id, (0, 0));
    }

    /// [`Stack::tcp_v4_send_reset`] on behalf of a socket: the RST carries its `sk_mark`
    /// and `sk_priority` (`sk_ip`), as the control socket takes them in Linux; without a
    /// socket both are 0.
    pub(crate) fn tcp_v4_send_reset_sk(&mut self, id: &SegId, sk_ip: (u32, u32)) {
        if id.rst {
            return;
        }
        let Ok(dst) = self.route_output(id.saddr, Some(id.daddr)) else {
            return;
        };
        let (seq, ack) = match id.ack {
            Some(a) => (a, None),
            None => (SeqNumber(0), Some(id.seq + id.seq_len)),
        };
        let repr = wire::Repr {
            src_port: id.dport,
            dst_port: id.sport,
            seq_number: seq,
            ack_number: ack,
            flags: Flags {
                rst: true,
                ..Flags::default()
            },
            window_len: 0,
            urgent_pointer: 0,
            max_seg_size: None,
            window_scale: None,
            sack_permitted: false,
            sack_ranges: [None; 4],
            timestamp: None,
            payload: &[],
        };
        let hl = repr.header_len();
        let mut skb = self.pool.alloc(hl);
        {
            let area = skb.put(hl);
            repr.emit(
                &mut wire::Packet::new_unchecked(&mut area[..]),
                id.daddr,
                id.saddr,
            );
        }
        self.stats.tcp.out_segs += 1;
        self.stats.tcp.out_rsts += 1;
        let p = IpParams {
            daddr: id.saddr,
            proto: Protocol::TCP,
            ttl: self.cfg.ip_default_ttl,
            tos: 0,
            pmtudisc_want: true,
            sock_id: None,
            ignore_df: false,
            mark: sk_ip.0,
            priority: sk_ip.1,
        };
        self.ip_send(dst, p, skb);
    }

    /// Whether data or a FIN waits to be sent for the first time.
    pub(crate) fn tcp_has_unsent(&self, sk: &TcpSock) -> bool {
        sk.data_end().after(sk.snd_nxt) || (sk.fin_queued && !sk.fin_sent())
    }

    /// `tcp_write_xmit`: sends the new data and the FIN that the congestion window, the
    /// peer's window and Nagle allow (lost segments go first, from `tcp_xmit_recovery`);
    /// each segment sent joins the scoreboard, and a tail loss probe is scheduled.
    pub(crate) fn tcp_write_xmit(&mut self, sk: &mut TcpSock, _push: bool) {
        if !matches!(
            sk.state,
            TcpState::Established
                | TcpState::CloseWait
                | TcpState::FinWait1
                | TcpState::LastAck
                | TcpState::Closing
        ) {
            return;
        }
        self.tcp_write_xmit_inner(sk, false);
    }

    /// `tcp_write_xmit` with `push_one = 2`: the loss probe's one new segment, whatever the
    /// congestion window says, Nagle off.
    pub(crate) fn tcp_write_xmit_one(&mut self, sk: &mut TcpSock) {
        self.tcp_write_xmit_inner(sk, true);
    }

    fn tcp_write_xmit_inner(&mut self, sk: &mut TcpSock, probe: bool) {
        let mut cwnd_limited = false;
        let mss = sk.mss as usize;
        let mut sent = 0u32;
        loop {
            if probe && sent > 0 {
                break;
            }
            let in_flight = sk.in_flight();
            // RFC 3042's limited transmit needs no extra window here: SACKed segments (and
            // a non-SACK peer's duplicate ACKs) leave the pipe, as in Linux.
            let cwnd = if probe { u32::MAX } else { sk.win.cwnd };
            let seq = sk.snd_nxt;
            let end = sk.data_end();
            let unsent = end.diff(seq).max(0) as usize;
            let fin_pending = sk.fin_queued && !sk.fin_sent();
            if unsent == 0 && !fin_pending {
                break;
            }
            let len = unsent.min(mss);
            let fin = fin_pending && seq + len == end;
            // tcp_cwnd_test: a lone FIN always goes.
            if !(len == 0 && fin) && in_flight + len as u32 > cwnd {
                cwnd_limited = true;
                break;
            }
            // tcp_snd_wnd_test: the whole segment must fit the peer's window.
            let wnd_end = sk.snd_una + sk.snd_wnd as usize;
            if len > 0 && (seq + len).after(wnd_end) {
                if in_flight == 0 {
                    self.tcp_check_probe_timer(sk);
                }
                break;
            }
            // tcp_nagle_test: a partial segment without the FIN waits while corked, or
            // (Minshall's Nagle) while an earlier partial segment is unacknowledged; a loss
            // probe goes with Nagle off (TCP_NAGLE_OFF).
            if len < mss && !fin && !probe && sk.tcp_nagle_check(in_flight) {
                self.tcp_cork_hold(sk, in_flight);
                break;
            }
            let f = SegFlags {
                syn: false,
                ack: true,
                fin,
                rst: false,
                psh: len > 0 && seq + len == end,
            };
            let off = seq.diff(sk.sbuf_seq).max(0) as usize;
            if !self.tcp_transmit(sk, seq, f, off, len, false) {
                break;
            }
            sk.snd_nxt = seq + len + usize::from(fin);
            if len < mss {
                sk.snd_sml = sk.snd_nxt;
            }
            let now = self.now;
            let prior_packets = sk.sb.packets_out.pkts;
            sk.sb.push(seq, sk.snd_nxt, fin, now);
            if sk.ca_state == CaState::Recovery {
                sk.sb.prr_out += 1;
            }
            sent += 1;
            self.tcp_event_new_data_sent(sk, in_flight, prior_packets);
        }
        self.tcp_cwnd_validate(sk, cwnd_limited);
        if sent > 0 && !probe {
            // One loss probe per tail-loss episode.
            self.tcp_schedule_loss_probe(sk, false);
        }
    }

    /// `tcp_event_new_data_sent` + `tcp_event_data_sent`: the RTO restarts when nothing was
    /// outstanding before this segment (`prior_packets`: packets, not bytes in flight; a
    /// flight all SACKed or lost still holds its RTO), or a loss probe held the timer.
    fn tcp_event_new_data_sent(
        &mut self,
        sk: &mut TcpSock,
        prior_in_flight: u32,
        prior_packets: u32,
    ) {
        let now = self.now;
        if prior_packets == 0
            || sk.timer(TimerKind::Rtx).is_none()
            || matches!(sk.rtx_kind, RtxKind::Probe | RtxKind::LossProbe)
        {
            self.tcp_rearm_rto(sk);
        }
        if prior_in_flight == 0 {
            self.tcp_ca_event_tx_start(sk);
        }
        // Sending soon after receiving: an interactive exchange (pingpong).
        if now.saturating_since(sk.ack.lrcvtime) < sk.ack.ato {
            sk.ack.pingpong = true;
        }
        sk.lsndtime = now;
    }

    /// `tcp_cwnd_validate`: remembers whether the flow used its window in this round.
    fn tcp_cwnd_validate(&mut self, sk: &mut TcpSock, cwnd_limited: bool) {
        let flight = sk.in_flight();
        if !sk.snd_una.before(sk.cwnd_usage_seq)
            || cwnd_limited
            || (!sk.is_cwnd_limited && flight > sk.max_flight)
        {
            sk.max_flight = flight;
            sk.cwnd_usage_seq = sk.snd_nxt;
            sk.is_cwnd_limited = cwnd_limited;
        }
    }

    /// `tcp_is_cwnd_limited`.
    pub(crate) fn tcp_is_cwnd_limited(&self, sk: &TcpSock) -> bool {
        if sk.win.in_slow_start() {
            return sk.win.cwnd < 2 * sk.max_flight;
        }
        sk.is_cwnd_limited
    }

    /// `tcp_write_wakeup`: the persist timer's probe. Data that fits the window goes out;
    /// with a zero window, a segment one byte before `snd_una` draws an ACK with the
    /// current window (RFC 1122 §4.2.2.17).
    pub(crate) fn tcp_write_wakeup(&mut self, sk: &mut TcpSock) {
        let wnd_end = sk.snd_una + sk.snd_wnd as usize;
        let end = sk.data_end();
        let unsent = end.diff(sk.snd_nxt).max(0) as usize;
        let room = wnd_end.diff(sk.snd_nxt).max(0) as usize;
        if unsent > 0 && room > 0 {
            let seq = sk.snd_nxt;
            let len = unsent.min(room).min(sk.mss as usize);
            let fin = sk.fin_queued && seq + len == end;
            let f = SegFlags {
                syn: false,
                ack: true,
                fin,
                rst: false,
                psh: true,
            };
            let off = seq.diff(sk.sbuf_seq).max(0) as usize;
            let prior_in_flight = sk.in_flight();
            if self.tcp_transmit(sk, seq, f, off, len, false) {
                sk.snd_nxt = seq + len + usize::from(fin);
                let now = self.now;
                let prior_packets = sk.sb.packets_out.pkts;
                sk.sb.push(seq, sk.snd_nxt, fin, now);
                self.tcp_event_new_data_sent(sk, prior_in_flight, prior_packets);
            }
            return;
        }
        let seq = sk.snd_una - 1;
        self.tcp_transmit(sk, seq, SegFlags::ACK, 0, 0, false);
    }

    /// `tcp_cleanup_rbuf`: after the application read `copied` bytes, send a window update
    /// if the window at least doubles, or the ACK a full segment has been waiting for.
    pub(crate) fn tcp_cleanup_rbuf(&mut self, sk: &mut TcpSock, copied: usize) {
        if !matches!(
            sk.state,
            TcpState::Established | TcpState::FinWait1 | TcpState::FinWait2
        ) {
            return;
        }
        let mut time_to_ack = false;
        if sk.ack.pending && sk.rcv_nxt.diff(sk.rcv_wup) > sk.ack.rcv_mss as i32 {
            time_to_ack = true;
        }
        if copied > 0 && !time_to_ack && sk.shutdown & super::RCV_SHUTDOWN == 0 {
            let cur = sk.receive_window();
            if 2 * cur <= sk.window_clamp {
                let new = self.tcp_raw_window(sk);
                if new != 0 && new >= 2 * cur {
                    time_to_ack = true;
                }
            }
        }
        if time_to_ack {
            self.tcp_send_ack(sk);
        }
    }
}

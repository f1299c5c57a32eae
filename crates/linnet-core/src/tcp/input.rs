//! TCP input: segment checks, the demultiplexing, and segment processing in the order of
//! RFC 9293 §3.10.7 (LISTEN, SYN-SENT, then the sequence / RST / SYN / ACK / data / FIN
//! steps of the other states), with RFC 5961's reset and SYN protections.
//!
//! Linux: net/ipv4/tcp_ipv4.c (`tcp_v4_rcv`, `tcp_v4_do_rcv`), net/ipv4/tcp_input.c
//! (`tcp_rcv_state_process`, `tcp_rcv_synsent_state_process`, `tcp_validate_incoming`,
//! `tcp_sequence`, `tcp_reset_check`, `tcp_ack` (its recovery half is in `recovery.rs`),
//! `tcp_ack_update_window`, `tcp_data_queue`, `tcp_data_queue_ofo`, `tcp_ofo_queue`,
//! `tcp_fin`, `__tcp_ack_snd_check`, `tcp_conn_request`, `tcp_sack_new_ofo_skb`,
//! `tcp_send_dupack`, `tcp_dsack_set`, `tcp_dsack_extend`), net/ipv4/tcp_minisocks.c
//! (`tcp_check_req`, `tcp_timewait_state_process`).
//! RFCs: RFC 9293 §3.10.7, RFC 5961 §3-5 (RST and SYN in window: challenge ACK; blind data
//! injection), RFC 2018 §4 (SACK blocks), RFC 2883 §4 (D-SACK blocks for duplicates),
//! RFC 1122 §4.2.2.20 (order of processing), RFC 7323 §4.3 (TS.Recent).
//!
//! Every segment ends in exactly one of `consume_skb` or `drop_skb(reason)`.

use linnet_wire::tcp::{self as wire, Flags, SeqNumber};

use crate::skb::SkBuff;
use crate::stack::{Event, Stack};
use crate::stats::DropReason;

use super::cong::Window;
use super::output::{initial_window, SegId, MSS_DEFAULT, TS_LEN};
use super::timer::TIMEOUT_INIT;
use super::{
    FourTuple, RtxKind, SeqExt, TcpSock, TcpState, TimerKind, MAX_OFO_BLOCKS, RCV_SHUTDOWN,
};

/// One arriving segment, parsed.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seg<'a> {
    pub(crate) saddr: core::net::Ipv4Addr,
    pub(crate) daddr: core::net::Ipv4Addr,
    pub(crate) sport: u16,
    pub(crate) dport: u16,
    pub(crate) seq: SeqNumber,
    pub(crate) ack: Option<SeqNumber>,
    pub(crate) flags: Flags,
    pub(crate) wnd: u16,
    pub(crate) mss: Option<u16>,
    pub(crate) ws: Option<u8>,
    pub(crate) sack_perm: bool,
    pub(crate) ts: Option<(u32, u32)>,
    /// The urgent pointer when URG is set.
    pub(crate) urg_ptr: Option<u16>,
    /// The ECN field of the IP header (`INET_ECN_*`).
    pub(crate) ecn: u8,
    /// The IP header's TTL (checked against `IP_MINTTL`).
    pub(crate) ttl: u8,
    /// SACK blocks (RFC 2018), in wire order.
    pub(crate) sacks: super::sack::SackBlocks,
    pub(crate) payload: &'a [u8],
    /// The device it arrived on (`inet_iif`), for the transparent (TPROXY) lookup.
    pub(crate) iif: crate::dev::IfIndex,
    /// For a GSO super-segment (a TAP with receive offload), the size of the segments it
    /// stands for (`skb_shinfo(skb)->gso_size`); 0 otherwise.
    pub(crate) gso_size: u16,
}

impl Seg<'_> {
    /// Sequence space the segment occupies.
    pub(crate) fn seq_len(&self) -> usize {
        self.payload.len() + usize::from(self.flags.syn) + usize::from(self.flags.fin)
    }

    fn end_seq(&self) -> SeqNumber {
        self.seq + self.seq_len()
    }

    fn id(&self) -> SegId {
        SegId {
            saddr: self.saddr,
            daddr: self.daddr,
            sport: self.sport,
            dport: self.dport,
            seq: self.seq,
            ack: self.ack,
            seq_len: self.seq_len(),
            rst: self.flags.rst,
        }
    }
}

/// What became of a segment at a socket.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Rcv {
    /// Handled (`consume_skb`).
    Ok,
    /// Dropped for this reason.
    Drop(DropReason),
    /// Dropped, and a RST owed to its sender (`tcp_v4_send_reset`).
    Reset(DropReason),
    /// A TIME-WAIT socket gave way to a new SYN: hand it to the listener with this ISN.
    NewSyn(SeqNumber),
}

/// Result of `tcp_ack` when the ACK field is unacceptable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AckErr {
    /// It acknowledges data not yet sent.
    UnsentData,
    /// It is older than the largest window the peer offered (RFC 5961 §5.2).
    TooOld,
}

impl Stack {
    /// `tcp_v4_rcv`: `skb.data()` is at the TCP header. `bcast`: the input route said
    /// broadcast.
    pub(crate) fn tcp_rcv(&mut self, skb: SkBuff, bcast: bool) {
        // "Count it even if it's bad."
        self.stats.tcp.in_segs += 1;
        let verdict = {
            let Some(net) = skb.network_header() else {
                self.drop_skb(skb, DropReason::NotSpecified);
                return;
            };
            let ip = linnet_wire::ipv4::Packet::new_unchecked(net);
            let (saddr, daddr) = (ip.src_addr(), ip.dst_addr());
            let data = skb.data();
            if data.len() < wire::HEADER_LEN {
                Err(DropReason::PktTooSmall)
            } else {
                let pkt = wire::Packet::new_unchecked(data);
                let hl = usize::from(pkt.header_len());
                if hl < wire::HEADER_LEN {
                    self.stats.tcp.in_errs += 1;
                    Err(DropReason::PktTooSmall)
                } else if hl > data.len() {
                    Err(DropReason::PktTooSmall)
                } else if !skb.csum_unnecessary() && !pkt.verify_checksum_v4(saddr, daddr) {
                    self.stats.tcp.in_csum_errors += 1;
                    self.stats.tcp.in_errs += 1;
                    Err(DropReason::TcpCsum)
                } else if bcast || daddr.is_broadcast() || daddr.is_multicast() {
                    // No connection has such an address, a listener refuses the SYN and no
                    // RST answers it (tcp_v4_send_reset wants RTN_LOCAL).
                    Err(DropReason::NotSpecified)
                } else {
                    match wire::Repr::parse(&pkt, saddr, daddr, false) {
                        Ok(r) => {
                            let seg = Seg {
                                saddr,
                                daddr,
                                sport: r.src_port,
                                dport: r.dst_port,
                                seq: r.seq_number,
                                ack: r.ack_number,
                                flags: r.flags,
                                wnd: r.window_len,
                                mss: r.max_seg_size,
                                ws: r.window_scale,
                                sack_perm: r.sack_permitted,
                                ts: r.timestamp,
                                urg_ptr: r.flags.urg.then_some(r.urgent_pointer),
                                ecn: ip.ecn(),
                                ttl: ip.hop_limit(),
                                sacks: r.sack_ranges,
                                payload: r.payload,
                                iif: skb.dev,
                                gso_size: skb.gso_size,
                            };
                            self.tcp_v4_do_rcv(&seg)
                        }
                        Err(_) => {
                            self.stats.tcp.in_errs += 1;
                            Err(DropReason::PktTooSmall)
                        }
                    }
                }
            }
        };
        match verdict {
            Ok(()) => self.consume_skb(skb),
            Err(reason) => self.drop_skb(skb, reason),
        }
    }

    /// The lookups (`__inet_lookup_skb`): connection by 4-tuple, then listener by
    /// (address, port) and (any, port); no socket → RST.
    fn tcp_v4_do_rcv(&mut self, seg: &Seg<'_>) -> Result<(), DropReason> {
        let tuple = FourTuple {
            laddr: seg.daddr,
            lport: seg.dport,
            raddr: seg.saddr,
            rport: seg.sport,
        };
        let mut forced_isn = None;
        let dif = self.inet_iif(seg.iif, seg.daddr);
        // INET_MATCH: a connection bound to another device does not match.
        let est = self.tcp.ehash.get(&tuple).copied().filter(|&i| {
            self.tcp
                .slot_sock(i)
                .is_none_or(|s| s.bound_dev_if == 0 || s.bound_dev_if == dif)
        });
        if let Some(idx) = est {
            let Some(mut sk) = self.tcp.take(idx) else {
                return Err(DropReason::NotSpecified);
            };
            // tcp_v4_rcv: below the socket's IP_MINTTL a segment is dropped (not for
            // TIME-WAIT, nor for a request sock, which are handled before the check).
            let full = sk.state != TcpState::TimeWait
                && !(sk.state == TcpState::SynRecv && sk.parent.is_some());
            if full && seg.ttl < sk.ip.min_ttl {
                self.tcp_put(sk);
                self.stats.tcp_ext.tcp_min_ttl_drop += 1;
                return Err(DropReason::TcpMinttl);
            }
            let gro = sk.state != TcpState::TimeWait;
            if gro {
                sk.count_segment_in(seg.payload.len(), seg.gso_size);
                self.tcp_gro_receive(&mut sk, seg);
            }
            let r = match sk.state {
                TcpState::TimeWait => self.tcp_timewait_rcv(&mut sk, seg),
                TcpState::SynSent => self.tcp_rcv_synsent(&mut sk, seg),
                TcpState::SynRecv if sk.parent.is_some() => self.tcp_check_req(&mut sk, seg),
                _ => self.tcp_rcv_state_process(&mut sk, seg),
            };
            if gro {
                self.tcp_gro_complete(&mut sk, seg);
            }
            // tcp_v4_send_reset with a socket: the control socket takes its mark and
            // priority (tw_mark / tw_priority in TIME-WAIT, the same fields here).
            let sk_ip = (sk.ip.mark, sk.ip.priority);
            self.tcp_put(sk);
            match r {
                Rcv::Ok => return Ok(()),
                Rcv::Drop(reason) => return Err(reason),
                Rcv::Reset(reason) => {
                    self.tcp_v4_send_reset_sk(&seg.id(), sk_ip);
                    return Err(reason);
                }
                Rcv::NewSyn(isn) => forced_isn = Some(isn),
            }
        }
        // The transparent listener of the arriving device (the nftables `tproxy` rule's
        // `nf_tproxy_get_sock_v4` redirect) takes what no ordinary socket matched.
        let listener = self
            .tcp
            .lookup_listener((seg.saddr, seg.sport), (seg.daddr, seg.dport), dif)
            .or_else(|| self.tcp.tproxy.get(&seg.iif).copied());
        if let Some(l) = listener {
            let min_ttl = self.tcp.slot_sock(l).map_or(0, |s| s.ip.min_ttl);
            if seg.ttl < min_ttl {
                self.stats.tcp_ext.tcp_min_ttl_drop += 1;
                return Err(DropReason::TcpMinttl);
            }
            return match self.tcp_listen_rcv(l, seg, forced_isn) {
                Rcv::Ok => Ok(()),
                Rcv::Drop(reason) => Err(reason),
                Rcv::Reset(reason) => {
                    let sk_ip = self
                        .tcp
                        .slot_sock(l)
                        .map_or((0, 0), |s| (s.ip.mark, s.ip.priority));
                    self.tcp_v4_send_reset_sk(&seg.id(), sk_ip);
                    Err(reason)
                }
                Rcv::NewSyn(_) => Err(DropReason::NotSpecified),
            };
        }
        self.tcp_v4_send_reset(&seg.id());
        Err(DropReason::NoSocket)
    }

    // ---- LISTEN ---------------------------------------------------------------------

    /// RFC 9293 §3.10.7.2 and `tcp_conn_request`: a SYN makes a child in SYN-RECEIVED in
    /// the listener's SYN queue, unless the SYN queue or the accept queue is full.
    fn tcp_listen_rcv(&mut self, lidx: u32, seg: &Seg<'_>, isn: Option<SeqNumber>) -> Rcv {
        let f = seg.flags;
        if f.rst {
            return Rcv::Drop(DropReason::TcpReset);
        }
        if let Some(ack) = seg.ack {
            // cookie_v4_check: the ACK may complete a handshake we answered with a SYN
            // cookie; if not, it is a stray ACK and draws a RST.
            if let Some(opts) = self.cookie_v4_check(lidx, seg) {
                return self.tcp_cookie_accept(lidx, seg, ack, opts);
            }
            return Rcv::Reset(DropReason::TcpFlags);
        }
        if !f.syn || f.fin {
            return Rcv::Drop(DropReason::TcpFlags);
        }
        let Some(mut l) = self.tcp.take(lidx) else {
            return Rcv::Drop(DropReason::NotSpecified);
        };
        let r = self.tcp_conn_request(&mut l, seg, isn, false);
        self.tcp_put(l);
        r
    }

    /// `cookie_v4_check` once the cookie checked out (`tcp_get_cookie_sock`): the request
    /// is rebuilt from the ACK (the peer's ISN is `seq - 1`, ours `ack - 1`, the MSS the one
    /// the cookie carries; window scaling, SACK and timestamps as TSecr echoes them, none
    /// without timestamps) and the ACK completes it at once, as `tcp_check_req` would, so
    /// it lands in the accept queue (or is dropped with ListenOverflows when that is full).
    fn tcp_cookie_accept(
        &mut self,
        lidx: u32,
        seg: &Seg<'_>,
        ack: SeqNumber,
        opts: super::syncookie::CookieOpts,
    ) -> Rcv {
        let syn = Seg {
            seq: seg.seq - 1,
            ack: None,
            flags: Flags {
                syn: true,
                ece: opts.ecn,
                cwr: opts.ecn,
                ..Flags::default()
            },
            ecn: 0,
            mss: Some(opts.mss),
            ws: opts.wscale,
            sack_perm: opts.sack,
            ts: opts.tsval.map(|v| (v, 0)),
            payload: &[],
            ..*seg
        };
        let Some(mut l) = self.tcp.take(lidx) else {
            return Rcv::Drop(DropReason::NotSpecified);
        };
        let r = self.tcp_conn_request(&mut l, &syn, Some(ack - 1), true);
        self.tcp_put(l);
        if r != Rcv::Ok {
            return r;
        }
        let tuple = FourTuple {
            laddr: seg.daddr,
            lport: seg.dport,
            raddr: seg.saddr,
            rport: seg.sport,
        };
        let Some(mut sk) = self
            .tcp
            .ehash
            .get(&tuple)
            .copied()
            .and_then(|i| self.tcp.take(i))
        else {
            return Rcv::Drop(DropReason::NotSpecified);
        };
        let r = self.tcp_check_req(&mut sk, seg);
        if sk.state == TcpState::SynRecv {
            // The ACK did not complete it (say, data beyond the window): keep no state, as
            // for a cookie that was never answered.
            self.tcp_reqsk_drop(&mut sk);
        }
        self.tcp_put(sk);
        r
    }

    /// `tcp_conn_request`. `cookie_ack`: the request is rebuilt from a SYN-cookie ACK; no
    /// SYN-ACK is sent for it.
    fn tcp_conn_request(
        &mut self,
        l: &mut TcpSock,
        seg: &Seg<'_>,
        isn: Option<SeqNumber>,
        cookie_ack: bool,
    ) -> Rcv {
        let (qlen, acceptq, max) = match l.listen.as_deref() {
            Some(q) => (
                q.syn_queue.len() as u32,
                q.accept_queue.len() as u32,
                q.max_backlog,
            ),
            None => return Rcv::Drop(DropReason::NotSpecified),
        };
        // inet_csk_reqsk_queue_is_full (or tcp_syncookies = 2): answer with a SYN cookie,
        // or drop the SYN when cookies are off.
        let mut want_cookie = false;
        if isn.is_none() && (self.cfg.tcp_syncookies == 2 || qlen >= max) {
            want_cookie = self.tcp_syn_flood_action();
            if !want_cookie {
                self.stats.tcp_ext.listen_drops += 1;
                return Rcv::Drop(DropReason::TcpReqQFullDrop);
            }
        }
        // sk_acceptq_is_full: sk_ack_backlog > sk_max_ack_backlog.
        if acceptq > max {
            self.stats.tcp_ext.listen_overflows += 1;
            self.stats.tcp_ext.listen_drops += 1;
            return Rcv::Drop(DropReason::TcpListenOverflow);
        }
        // inet_csk_route_req: through the listener's bound device, if any (`ir_iif`).
        let Ok(dst) = self.route_output_oif(seg.saddr, Some(seg.daddr), l.bound_dev_if) else {
            self.stats.tcp_ext.listen_drops += 1;
            return Rcv::Drop(DropReason::IpOutnoroutes);
        };
        if self.tcp.len() >= self.cfg.max_sockets {
            self.stats.tcp_ext.listen_drops += 1;
            return Rcv::Drop(DropReason::Nomem);
        }
        let Ok(mut c) = self.tcp.alloc(&self.cfg) else {
            return Rcv::Drop(DropReason::Nomem);
        };
        let now = self.now;
        c.local = core::net::SocketAddrV4::new(seg.daddr, seg.dport);
        c.remote = core::net::SocketAddrV4::new(seg.saddr, seg.sport);
        c.parent = Some(l.id);
        c.rcvbuf = l.rcvbuf;
        c.rcvbuf_locked = l.rcvbuf_locked;
        c.sndbuf = l.sndbuf;
        c.buf.sndbuf_locked = l.buf.sndbuf_locked;
        c.nodelay = l.nodelay;
        c.cork = l.cork;
        c.oobinline = l.oobinline;
        c.reuseaddr = l.reuseaddr;
        c.reuseport = l.reuseport;
        c.bound_dev_if = l.bound_dev_if;
        // inet_csk_clone_lock: sk_mark = ir_mark (the listener's, tcp_fwmark_accept off);
        // uc_ttl, tos and min_ttl are copied. The SYN-ACKs carry the listener's priority
        // (ip_build_and_send_pkt with the listener), the full socket starts at 0
        // (tcp_check_req).
        c.ip = l.ip;
        c.transparent = l.transparent;
        c.opts = l.opts;
        c.state = TcpState::SynRecv;
        // Options the SYN offered and we allow (tcp_parse_options + tcp_openreq_init).
        c.wscale_ok = self.cfg.tcp_window_scaling && seg.ws.is_some();
        c.snd_wscale = if c.wscale_ok {
            seg.ws.unwrap_or(0).min(14)
        } else {
            0
        };
        c.ts_ok = self.cfg.tcp_timestamps && seg.ts.is_some();
        c.ts_recent = seg.ts.map_or(0, |t| t.0);
        if c.ts_ok {
            // tcp_create_openreq_child: the stamp starts with the request.
            c.ts_recent_stamp = Some(now);
        }
        c.sack_ok = self.cfg.tcp_sack && seg.sack_perm;
        c.ecn_flags = self.tcp_ecn_create_request(seg);
        let mut peer_mss = seg.mss;
        let mut cookie = None;
        if (want_cookie || cookie_ack) && !c.ts_ok {
            // Without timestamps a cookie carries no options but the MSS (tcp_clear_options).
            c.wscale_ok = false;
            c.snd_wscale = 0;
            c.ts_ok = false;
            c.ts_recent = 0;
            c.ts_recent_stamp = None;
            c.sack_ok = false;
        }
        if want_cookie {
            let (iss, mss) = self.cookie_v4_init_sequence(l, seg);
            cookie = Some(iss);
            peer_mss = Some(mss);
            if c.ts_ok {
                // cookie_init_timestamp: the options ride in the low bits of our TSval.
                let ws = c.wscale_ok.then_some(c.snd_wscale);
                c.cookie_tsval = Some(super::syncookie::cookie_init_timestamp(
                    super::timer::ts_now(now),
                    ws,
                    c.sack_ok,
                    c.ecn_ok(),
                ));
            }
        }
        c.advmss = c.tcp_mss_clamp(dst.mtu.saturating_sub(40).max(48));
        c.pmtu = dst.mtu;
        // tcp_openreq_init_rwin.
        let ts = if c.ts_ok { TS_LEN } else { 0 };
        let wscale_space = c.wscale_space(&self.cfg);
        let uclamp = c.user_window_clamp();
        let (wnd, ws, clamp) = initial_window(
            c.full_space().min(uclamp),
            c.advmss.saturating_sub(ts),
            c.wscale_ok,
            wscale_space.min(uclamp),
        );
        c.rcv_wnd = wnd;
        c.rcv_ssthresh = wnd;
        c.rcv_wscale = ws;
        c.window_clamp = clamp.min(c.full_space().max(wnd)).min(uclamp);
        c.sync_mss(peer_mss, dst.mtu);
        c.win = Window::initial(c.mss);
        c.irs = seg.seq;
        c.rcv_nxt = seg.seq + 1;
        c.rcv_wup = c.rcv_nxt;
        c.snd_wnd = u32::from(seg.wnd);
        c.max_window = c.snd_wnd;
        c.snd_wl1 = seg.seq;
        let iss = cookie
            .or(isn)
            .unwrap_or_else(|| SeqNumber(self.tcp.keys.isn(c.local, c.remote, now)));
        c.iss = iss;
        c.snd_una = iss;
        c.snd_nxt = iss;
        c.snd_sml = iss;
        c.high_seq = iss;
        c.sbuf_seq = iss + 1;
        c.ts_offset = self.tcp.keys.ts_offset(c.local, c.remote);
        c.inet_id = self.rand_u32() as u16;
        c.ack.rcv_mss = c.advmss.min(c.mss).min(MSS_DEFAULT);
        if want_cookie {
            // The SYN-ACK goes out and the request is freed: no state is kept.
            self.tcp_send_synack(&mut c, false);
            c.dead = true;
            self.tcp_put(c);
            return Rcv::Ok;
        }
        self.tcp.ehash.insert(c.tuple(), c.id.0);
        c.ehashed = true;
        self.tcp_bhash_add(&mut c);
        if let Some(q) = l.listen.as_deref_mut() {
            q.syn_queue.push(c.id.0);
        }
        if cookie_ack {
            // Our SYN-ACK went out when the cookie was made.
            c.snd_nxt = iss + 1;
        } else {
            self.tcp_send_synack(&mut c, false);
            c.rtx_kind = RtxKind::Retrans;
            c.set_timer(TimerKind::Rtx, now + TIMEOUT_INIT);
        }
        self.tcp_put(c);
        Rcv::Ok
    }

    /// `tcp_check_req`: a segment for a child in SYN-RECEIVED.
    fn tcp_check_req(&mut self, sk: &mut TcpSock, seg: &Seg<'_>) -> Rcv {
        let f = seg.flags;
        // PAWS against the SYN's timestamp (tcp_paws_reject; the request's stamp is when
        // it was made).
        let paws_reject = match seg.ts {
            Some((tsval, _)) if sk.ts_ok => sk.paws_view(tsval).reject(self.now, f.rst),
            _ => false,
        };
        // A retransmitted SYN: the SYN-ACK was lost; send it again (rate limited).
        if f.syn && !f.ack && !f.rst && !f.fin && seg.seq == sk.irs && !paws_reject {
            if !self.tcp_oow_rate_limited(sk) {
                self.tcp_send_synack(sk, true);
                self.stats.tcp_ext.tcp_syn_retrans += 1;
            }
            return Rcv::Ok;
        }
        // "If the ACK is not acceptable ... send a reset."
        if let Some(ack) = seg.ack {
            if ack != sk.iss + 1 {
                return Rcv::Reset(DropReason::TcpInvalidAckSequence);
            }
        }
        let win_end = sk.rcv_nxt + sk.rcv_wnd as usize;
        if paws_reject || !in_window(seg.seq, seg.end_seq(), sk.rcv_nxt, win_end) {
            if !f.rst {
                if self.tcp_oow_rate_limited(sk) {
                    self.stats.tcp_ext.tcp_ack_skipped_syn_recv += 1;
                } else {
                    self.tcp_send_ack(sk);
                }
            }
            if paws_reject {
                self.stats.tcp_ext.paws_estab += 1;
                return Rcv::Drop(DropReason::TcpRfc7323Paws);
            }
            return Rcv::Drop(DropReason::TcpInvalidSequence);
        }
        if f.rst || f.syn {
            // An embryonic reset: the request goes; a SYN in window is answered by a RST.
            self.stats.tcp.attempt_fails += 1;
            self.stats.tcp_ext.embryonic_rsts += 1;
            self.tcp_reqsk_drop(sk);
            return if f.rst {
                Rcv::Drop(DropReason::TcpReset)
            } else {
                Rcv::Reset(DropReason::TcpInvalidSyn)
            };
        }
        let Some(ack) = seg.ack else {
            return Rcv::Drop(DropReason::TcpFlags);
        };
        let Some((pidx, pgen)) = sk.parent else {
            return Rcv::Drop(DropReason::NotSpecified);
        };
        // TCP_DEFER_ACCEPT: a bare ACK does not complete the handshake while the deferral
        // lasts; the request waits for data.
        if sk.retransmits < u32::from(sk.opts.defer_accept) && seg.end_seq() == sk.irs + 1 {
            sk.req_acked = true;
            self.stats.tcp_ext.tcp_defer_accept_drop += 1;
            return Rcv::Drop(DropReason::NotSpecified);
        }
        let full = match self
            .tcp
            .sock_mut(pidx, pgen)
            .and_then(|p| p.listen.as_deref())
        {
            Some(q) => q.accept_queue.len() as u32 > q.max_backlog,
            None => return Rcv::Drop(DropReason::NotSpecified),
        };
        if full {
            // tcp_v4_syn_recv_sock: exit_overflow. The request stays (tcp_abort_on_overflow
            // is 0) and no longer resends its SYN-ACK: the peer's next segment retries.
            self.stats.tcp_ext.listen_overflows += 1;
            self.stats.tcp_ext.listen_drops += 1;
            sk.req_acked = true;
            return Rcv::Drop(DropReason::TcpListenOverflow);
        }
        // The handshake completes (tcp_create_openreq_child, then SYN-RECV → ESTABLISHED).
        // sk_clone_lock starts the full socket with sk_priority 0 (the SYN-ACKs carried
        // the listener's); the mark, TTL and TOS stay the listener's.
        sk.ip.priority = 0;
        self.stats.tcp.passive_opens += 1;
        self.tcp_establish(sk, seg, ack);
        let me = sk.id.0;
        let lh = self.tcp.sock_mut(pidx, pgen).and_then(|p| {
            let q = p.listen.as_deref_mut()?;
            q.syn_queue.retain(|&i| i != me);
            q.accept_queue.push_back(me);
            (!p.orphan).then(|| p.handle())
        });
        sk.accept_pending = true;
        if let Some(lh) = lh {
            self.push_event(Event::Acceptable(lh));
        }
        // The same segment may carry data or a FIN.
        self.tcp_rcv_state_process(sk, seg)
    }

    /// Drops a child of a listener silently (request expiry, embryonic reset).
    pub(crate) fn tcp_reqsk_drop(&mut self, sk: &mut TcpSock) {
        self.tcp_unlink_child(sk);
        self.tcp_set_state(sk, TcpState::Close);
        sk.deadlines = [None; super::NTIMERS];
        sk.dead = true;
    }

    /// Common to the three ways into ESTABLISHED: the ACK of our SYN arrived.
    fn tcp_establish(&mut self, sk: &mut TcpSock, seg: &Seg<'_>, ack: SeqNumber) {
        let now = self.now;
        // tcp_snd_una_update: the SYN counts in bytes_acked.
        sk.counters.bytes_acked += ack.diff(sk.snd_una).max(0) as u64;
        sk.snd_una = ack;
        sk.sbuf_seq = ack.max_seq(sk.sbuf_seq);
        sk.snd_wl1 = seg.seq;
        sk.snd_wl2 = ack;
        let nwin = if seg.flags.syn {
            u32::from(seg.wnd)
        } else {
            u32::from(seg.wnd) << sk.snd_wscale
        };
        sk.snd_wnd = nwin;
        sk.max_window = sk.max_window.max(nwin);
        if sk.retransmits == 0 {
            if let Some((end, t)) = sk.rtt_sample {
                if !ack.before(end) {
                    sk.rtt.sample(now.saturating_since(t));
                }
            }
        } else if sk.rtt.srtt.is_none() {
            // tcp_init_transfer: a retransmitted SYN leaves no sample; the RTO falls back
            // to TCP_TIMEOUT_FALLBACK (3 s).
            sk.rtt.rto = crate::time::Duration::from_secs(3).min(sk.rtt.rto_max());
        }
        sk.rtt_sample = None;
        sk.retransmits = 0;
        sk.backoff = 0;
        sk.retrans_stamp = None;
        sk.clear_timer(TimerKind::Rtx);
        sk.high_seq = ack;
        sk.cwnd_usage_seq = ack;
        sk.win = Window::initial(sk.mss);
        sk.lsndtime = now;
        self.tcp_set_state(sk, TcpState::Established);
        // tcp_finish_connect / tcp_create_openreq_child: keepalive starts now.
        sk.rcv_tstamp = now;
        sk.ack.lrcvtime = now;
        sk.probes_out = 0;
        if sk.opts.keepalive {
            let when = self.tcp_keepalive_time(sk);
            sk.set_timer(TimerKind::Keepalive, now + when);
        }
        self.tcp_init_buffer_space(sk);
    }

    // ---- SYN-SENT -------------------------------------------------------------------

    /// RFC 9293 §3.10.7.3 (`tcp_rcv_synsent_state_process`).
    fn tcp_rcv_synsent(&mut self, sk: &mut TcpSock, seg: &Seg<'_>) -> Rcv {
        let f = seg.flags;
        if let Some(ack) = seg.ack {
            // "If SEG.ACK =< ISS or SEG.ACK > SND.NXT, send a reset (unless the RST bit is
            // set, if so drop the segment and return)."
            if !ack.after(sk.snd_una) || ack.after(sk.snd_nxt) {
                return if f.rst {
                    Rcv::Drop(DropReason::TcpFlags)
                } else {
                    Rcv::Reset(DropReason::TcpInvalidAckSequence)
                };
            }
            if self.tcp_synsent_paws_reject(sk, seg) {
                return Rcv::Reset(DropReason::TcpRfc7323Paws);
            }
            if f.rst {
                // "If the ACK was acceptable, then signal to the user 'error: connection
                // reset', drop the segment, enter CLOSED state" (Linux: ECONNREFUSED).
                self.tcp_reset(sk);
                return Rcv::Ok;
            }
            if !f.syn {
                return Rcv::Drop(DropReason::TcpFlags);
            }
            // SYN-ACK: the connection is established.
            sk.irs = seg.seq;
            sk.rcv_nxt = seg.seq + 1;
            sk.rcv_wup = sk.rcv_nxt;
            self.tcp_negotiate(sk, seg);
            self.tcp_establish(sk, seg, ack);
            self.tcp_event(sk, Event::Connected);
            // Data on a SYN-ACK is not queued (it will come again); ACK at once.
            self.tcp_send_ack(sk);
            return Rcv::Ok;
        }
        if f.rst {
            return Rcv::Drop(DropReason::TcpReset);
        }
        if f.syn {
            // Simultaneous open: SYN-RECEIVED, and our SYN again with an ACK.
            sk.irs = seg.seq;
            sk.rcv_nxt = seg.seq + 1;
            sk.rcv_wup = sk.rcv_nxt;
            self.tcp_negotiate(sk, seg);
            sk.snd_wnd = u32::from(seg.wnd);
            sk.max_window = sk.snd_wnd;
            sk.snd_wl1 = seg.seq;
            self.tcp_set_state(sk, TcpState::SynRecv);
            self.tcp_send_synack(sk, true);
            return Rcv::Ok;
        }
        Rcv::Drop(DropReason::TcpFlags)
    }

    /// The options of the peer's SYN or SYN-ACK against what our SYN offered.
    fn tcp_negotiate(&mut self, sk: &mut TcpSock, seg: &Seg<'_>) {
        if sk.wscale_ok && seg.ws.is_some() {
            sk.snd_wscale = seg.ws.unwrap_or(0).min(14);
        } else {
            sk.wscale_ok = false;
            sk.snd_wscale = 0;
            sk.rcv_wscale = 0;
            sk.rcv_wnd = sk.rcv_wnd.min(65_535);
            sk.rcv_ssthresh = sk.rcv_ssthresh.min(65_535);
            sk.window_clamp = sk.window_clamp.min(65_535);
        }
        match seg.ts {
            Some((tsval, _)) if sk.ts_ok => sk.tcp_store_ts_recent(tsval, self.now),
            _ => sk.ts_ok = false,
        }
        sk.sack_ok = sk.sack_ok && seg.sack_perm;
        sk.tcp_ecn_rcv_syn_or_synack(seg);
        let mtu = sk.pmtu;
        sk.sync_mss(seg.mss, mtu);
        sk.ack.rcv_mss = sk.advmss.min(sk.mss).min(MSS_DEFAULT);
    }

    // ---- synchronized states ----------------------------------------------------------

    /// `tcp_reset_check`: after the peer's FIN, a RST at RCV.NXT - 1 is exact too.
    fn tcp_reset_check(sk: &TcpSock, seg: &Seg<'_>) -> bool {
        seg.seq == sk.rcv_nxt - 1
            && matches!(
                sk.state,
                TcpState::CloseWait | TcpState::LastAck | TcpState::Closing
            )
    }

    /// `tcp_rcv_state_process` for every state after SYN-SENT (and the simultaneous-open
    /// SYN-RECEIVED): RFC 9293 §3.10.7.4, first check sequence number, then RST, SYN, ACK,
    /// data, FIN.
    fn tcp_rcv_state_process(&mut self, sk: &mut TcpSock, seg: &Seg<'_>) -> Rcv {
        let f = seg.flags;
        if sk.state == TcpState::Close {
            return Rcv::Reset(DropReason::TcpClose);
        }
        let seq = seg.seq;
        let end = seg.end_seq();
        // RFC 7323 §5.3 R1: PAWS before anything else (tcp_validate_incoming).
        if let Some(reason) = self.tcp_paws_validate(sk, seg) {
            return Rcv::Drop(reason);
        }
        // First: sequence number (tcp_sequence).
        let win_end = sk.rcv_nxt + sk.receive_window() as usize;
        let acceptable = !end.before(sk.rcv_wup) && !seq.after(win_end);
        if !acceptable {
            if !f.rst {
                if f.syn {
                    return self.tcp_syn_challenge(sk);
                }
                // Out-of-window data is always answered; bare ACKs are rate limited.
                let is_data = seg.seq_len() > 0;
                if is_data || !self.tcp_oow_rate_limited(sk) {
                    self.tcp_send_dupack(sk, seg);
                } else {
                    self.stats.tcp_ext.tcp_ack_skipped_seq += 1;
                }
            } else if Self::tcp_reset_check(sk, seg) {
                self.tcp_reset(sk);
                return Rcv::Ok;
            }
            let reason = if end.before(sk.rcv_wup) {
                DropReason::TcpOldSequence
            } else {
                DropReason::TcpInvalidSequence
            };
            return Rcv::Drop(reason);
        }
        // Second: RST (RFC 5961 §3.2).
        if f.rst {
            let max_sack = sk
                .sacks
                .iter()
                .flatten()
                .map(|b| b.1)
                .reduce(|a, b| a.max_seq(b));
            if seq == sk.rcv_nxt
                || Self::tcp_reset_check(sk, seg)
                || (sk.sack_ok && max_sack == Some(seq))
            {
                self.tcp_reset(sk);
                return Rcv::Ok;
            }
            self.tcp_send_challenge_ack(sk);
            return Rcv::Drop(DropReason::TcpReset);
        }
        // Fourth: SYN (RFC 5961 §4.2), except the retransmitted SYN-ACK of a simultaneous
        // open.
        if f.syn {
            let sim_open_synack = sk.state == TcpState::SynRecv
                && seg.ack == Some(sk.snd_nxt)
                && seg.seq + 1 == end
                && seg.seq + 1 == sk.rcv_nxt;
            if !sim_open_synack {
                if sk.state == TcpState::Established {
                    self.stats.tcp.in_errs += 1;
                }
                return self.tcp_syn_challenge(sk);
            }
        }
        // RFC 7323 §4.3: TS.Recent from a segment that covers RCV.NXT at the last ACK.
        sk.tcp_replace_ts_recent(seg, self.now);
        // Fifth: ACK.
        let Some(ack) = seg.ack else {
            return Rcv::Drop(DropReason::TcpFlags);
        };
        if sk.state == TcpState::SynRecv {
            if ack.before(sk.snd_una) || ack.after(sk.snd_nxt) || ack == sk.snd_una {
                return Rcv::Reset(DropReason::TcpInvalidAckSequence);
            }
            self.tcp_establish(sk, seg, ack);
            self.tcp_event(sk, Event::Connected);
        }
        if let Err(e) = self.tcp_ack(sk, seg, ack) {
            let established = sk.state == TcpState::Established;
            let reason = match e {
                AckErr::UnsentData => DropReason::TcpAckUnsentData,
                AckErr::TooOld => DropReason::TcpTooOldAck,
            };
            if e == AckErr::TooOld || !established {
                self.tcp_send_challenge_ack(sk);
            }
            return Rcv::Drop(reason);
        }
        let fin_acked = sk.fin_acked();
        let data_beyond = !seg.payload.is_empty() && (end - usize::from(f.fin)).after(sk.rcv_nxt);
        match sk.state {
            TcpState::FinWait1 if fin_acked => {
                self.tcp_set_state(sk, TcpState::FinWait2);
                sk.clear_timer(TimerKind::Rtx);
                if sk.orphan {
                    if sk.opts.linger2 < 0 || data_beyond {
                        // TCP_LINGER2 < 0 (no FIN-WAIT-2 for orphans), or data for an
                        // application that closed: abort.
                        self.stats.tcp_ext.tcp_abort_on_data += 1;
                        self.tcp_done(sk);
                        return Rcv::Reset(DropReason::TcpAbortOnData);
                    }
                    self.tcp_orphan_fin_wait2(sk);
                }
            }
            TcpState::Closing if fin_acked => {
                self.tcp_time_wait(sk);
                return Rcv::Ok;
            }
            TcpState::LastAck if fin_acked => {
                self.tcp_done(sk);
                return Rcv::Ok;
            }
            _ => {}
        }
        // Seventh: segment text; eighth: FIN.
        let mut take_data = true;
        if matches!(
            sk.state,
            TcpState::CloseWait | TcpState::Closing | TcpState::LastAck
        ) && !seq.before(sk.rcv_nxt)
        {
            take_data = false;
        }
        if take_data
            && matches!(
                sk.state,
                TcpState::FinWait1
                    | TcpState::FinWait2
                    | TcpState::CloseWait
                    | TcpState::Closing
                    | TcpState::LastAck
            )
            && sk.shutdown & RCV_SHUTDOWN != 0
            && data_beyond
        {
            // RFC 1122 §4.2.2.13: data after the application closed resets the connection.
            self.stats.tcp_ext.tcp_abort_on_data += 1;
            self.tcp_reset(sk);
            return Rcv::Reset(DropReason::TcpAbortOnData);
        }
        let mut verdict = Rcv::Ok;
        if take_data && !sk.dead {
            // Sixth: the URG bit.
            self.tcp_urg(sk, seg);
            self.tcp_ecn_rcv(sk, seg);
            verdict = self.tcp_data_queue(sk, seg);
        }
        if !sk.dead {
            self.tcp_write_xmit(sk, false);
            self.tcp_check_space(sk);
            self.tcp_ack_snd_check(sk);
        }
        verdict
    }

    /// RFC 5961 §4.2: a SYN on a synchronized connection draws a challenge ACK.
    fn tcp_syn_challenge(&mut self, sk: &mut TcpSock) -> Rcv {
        self.stats.tcp_ext.tcp_syn_challenge += 1;
        self.tcp_send_challenge_ack(sk);
        Rcv::Drop(DropReason::TcpInvalidSyn)
    }

    /// `tcp_send_dupack`: answer an unacceptable segment with our current ACK.
    pub(crate) fn tcp_send_dupack(&mut self, sk: &mut TcpSock, seg: &Seg<'_>) {
        if seg.seq_len() > 0 && seg.seq.before(sk.rcv_nxt) {
            self.stats.tcp_ext.delayed_ack_lost += 1;
            self.tcp_enter_quickack_mode(sk);
            let end = if seg.end_seq().after(sk.rcv_nxt) {
                sk.rcv_nxt
            } else {
                seg.end_seq()
            };
            self.tcp_dsack_set(sk, seg.seq, end);
        }
        self.tcp_send_ack(sk);
    }

    /// `tcp_ack`: window update, SACK tagging, acknowledged data off the scoreboard, RTT,
    /// the congestion state machine (`tcp_fastretrans_alert`), cwnd (`tcp_cong_control`)
    /// and the retransmissions recovery asks for (`tcp_xmit_recovery`).
    fn tcp_ack(&mut self, sk: &mut TcpSock, seg: &Seg<'_>, ack: SeqNumber) -> Result<(), AckErr> {
        use super::recovery::Rexmit;
        use super::sack::{flag, SackMib, SackState};
        let now = self.now;
        let prior_una = sk.snd_una;
        let prior_in_flight = sk.in_flight();
        if ack.after(sk.snd_nxt) {
            return Err(AckErr::UnsentData);
        }
        sk.sb.rcv_tsecr = match (sk.ts_ok, seg.ts) {
            (true, Some((_, ecr))) if ecr != 0 => Some(ecr),
            _ => None,
        };
        let has_sacks = sk.sack_ok && seg.sacks.iter().any(Option::is_some);
        sk.sb.rs_prior_delivered = None;
        let mut st = SackState::default();
        let mut mib = SackMib::default();
        if ack.before(prior_una) {
            // RFC 5961 §5.2: older than the peer's largest window is not acceptable, nor
            // an ACK for bytes we never sent (the bound is also at most bytes_acked).
            let max_window = u64::from(sk.max_window).min(sk.counters.bytes_acked) as usize;
            if ack.before(prior_una - max_window) {
                return Err(AckErr::TooOld);
            }
            // old_ack: its SACK blocks may still tell something (or prove an undo).
            if has_sacks {
                super::cong::tcp_ca_refresh(sk, now);
                let c = self.tcp_sack_ctx(sk, ack, prior_una);
                sk.sb.sacktag_write_queue(&c, &seg.sacks, &mut st, &mut mib);
                self.tcp_sack_mib(&mib);
                let mut fl = st.flag;
                let mut rexmit = Rexmit::None;
                if sk.sb.packets_out.pkts > 0 {
                    self.tcp_fastretrans_alert(sk, prior_una, 0, &mut fl, &mut rexmit);
                    self.tcp_xmit_recovery(sk, rexmit);
                }
            }
            return Ok(());
        }
        let mut fl = 0u32;
        if seg.seq_len() > 0 {
            fl |= flag::DATA;
        }
        // tcp_ack_update_window.
        let nwin = if seg.flags.syn {
            u32::from(seg.wnd)
        } else {
            u32::from(seg.wnd) << sk.snd_wscale
        };
        let may_update = ack.after(prior_una)
            || seg.seq.after(sk.snd_wl1)
            || (seg.seq == sk.snd_wl1 && (nwin > sk.snd_wnd || nwin == 0));
        if may_update {
            sk.snd_wl1 = seg.seq;
            sk.snd_wl2 = ack;
            if sk.snd_wnd != nwin {
                sk.snd_wnd = nwin;
                fl |= flag::WIN_UPDATE;
                sk.max_window = sk.max_window.max(nwin);
            }
        }
        let prior_fack = if sk.sack_ok {
            sk.sb.highest_sack_seq(prior_una, sk.snd_nxt)
        } else {
            prior_una
        };
        let prior_packets = sk.sb.packets_out.pkts;
        let prior_delivered = sk.sb.delivered;
        let prior_delivered_bytes = sk.sb.delivered_bytes;
        let prior_lost = sk.sb.lost;
        let acked = ack.diff(prior_una).max(0) as u32;
        sk.counters.bytes_acked += u64::from(acked);
        if acked > 0 {
            fl |= flag::SND_UNA_ADVANCED;
            sk.retransmits = 0;
            let data_acked = ack.diff(sk.sbuf_seq).clamp(0, sk.sbuf.len() as i32) as usize;
            sk.sbuf.drain(..data_acked);
            sk.sbuf_seq += data_acked;
            if sk.sbuf.is_empty() && sk.sbuf.capacity() > 4 * sk.mss as usize {
                // Give back a large ring once it drains (an idle connection stays small).
                sk.sbuf = alloc::collections::VecDeque::new();
            }
            sk.snd_una = ack;
        }
        if has_sacks {
            let c = self.tcp_sack_ctx(sk, ack, prior_una);
            sk.sb.sacktag_write_queue(&c, &seg.sacks, &mut st, &mut mib);
            self.tcp_sack_mib(&mib);
            fl |= st.flag;
        }
        // The peer is alive: keepalive starts over from here.
        sk.probes_out = 0;
        sk.rcv_tstamp = now;
        if acked > 0 {
            sk.backoff = 0;
        }
        if prior_packets == 0 {
            super::cong::tcp_ca_refresh(sk, now);
            // no_queue: nothing was outstanding (a window update, the ACK of a SYN).
            if acked > 0 && sk.snd_una == sk.snd_nxt && sk.rtx_kind != RtxKind::Probe {
                sk.clear_timer(TimerKind::Rtx);
            }
            // If data was D-SACKed, see whether a window reduction can be undone (a D-SACK
            // may come with, or after, the ACK of everything).
            if fl & flag::DSACKING_ACK != 0 {
                let mut rexmit = Rexmit::None;
                self.tcp_fastretrans_alert(sk, prior_una, 0, &mut fl, &mut rexmit);
            }
            self.tcp_ack_probe(sk);
            if sk.sb.tlp_high_seq.is_some() {
                self.tcp_process_tlp_ack(sk, ack, fl);
            }
            return Ok(());
        }
        let tsecr = sk.sb.rcv_tsecr;
        fl |= self.tcp_clean_rtx_queue(sk, prior_fack, &st, tsecr);
        // FLAG_ECE: an ECN echo enters CWR from Open or Disorder (tcp_try_to_open).
        self.tcp_ecn_rcv_ecn_echo(sk, seg, acked);
        // The clock and this ACK's RTT sample for the congestion hooks (tcp_mstamp_refresh,
        // the rate sample of tcp_ack).
        super::cong::tcp_ca_refresh(sk, now);
        sk.sb.delivered = sk.sb.delivered.wrapping_add(st.sack_delivered);
        let rs_prior_delivered = sk.sb.rs_prior_delivered;
        sk.sb.rack_update_reo_wnd(rs_prior_delivered);
        if sk.sb.tlp_high_seq.is_some() {
            self.tcp_process_tlp_ack(sk, ack, fl);
        }
        let mut rexmit = Rexmit::None;
        if Self::tcp_ack_is_dubious(sk, fl) {
            let num_dupack =
                u32::from(fl & (flag::SND_UNA_ADVANCED | flag::NOT_DUP | flag::DSACKING_ACK) == 0);
            self.tcp_fastretrans_alert(sk, prior_una, num_dupack, &mut fl, &mut rexmit);
        }
        if fl & flag::SET_XMIT_TIMER != 0 {
            self.tcp_set_xmit_timer(sk);
        }
        if acked > 0 && sk.ca_state == super::CaState::Open && !sk.sb.any_retrans_done() {
            // The episode is over: the write timeout starts afresh next time.
            sk.clear_retrans_stamp();
        }
        if sk.snd_una == sk.snd_nxt && sk.rtx_kind != RtxKind::Probe {
            sk.clear_timer(TimerKind::Rtx);
        }
        // Wrapping: these are free-running counters (Linux's u32s wrap the same way).
        let delivered = sk.sb.delivered.wrapping_sub(prior_delivered);
        let newly_lost = sk.sb.lost.wrapping_sub(prior_lost);
        let delivered_bytes =
            u32::try_from(sk.sb.delivered_bytes.wrapping_sub(prior_delivered_bytes))
                .unwrap_or(u32::MAX);
        self.tcp_cong_control(
            sk,
            delivered,
            delivered_bytes,
            newly_lost,
            fl,
            prior_in_flight,
        );
        self.tcp_xmit_recovery(sk, rexmit);
        self.tcp_ack_probe(sk);
        Ok(())
    }

    /// `tcp_ack_probe`: the window opened for what the persist timer was holding.
    fn tcp_ack_probe(&mut self, sk: &mut TcpSock) {
        if sk.rtx_kind == RtxKind::Probe && sk.timer(TimerKind::Rtx).is_some() {
            let wnd_end = sk.snd_una + sk.snd_wnd as usize;
            let next = (sk.data_end().diff(sk.snd_nxt).max(0) as usize).min(sk.mss as usize);
            if next > 0 && !(sk.snd_nxt + next).after(wnd_end) {
                sk.clear_timer(TimerKind::Rtx);
                sk.backoff = 0;
                sk.retransmits = 0;
                sk.probes_tstamp = None;
            }
        }
    }

    /// What the SACK pass needs to know about the connection.
    fn tcp_sack_ctx(
        &self,
        sk: &TcpSock,
        ack: SeqNumber,
        prior_una: SeqNumber,
    ) -> super::sack::SackCtx {
        super::sack::SackCtx {
            ack,
            prior_una,
            snd_una: sk.snd_una,
            snd_nxt: sk.snd_nxt,
            high_seq: sk.high_seq,
            max_window: sk.max_window,
            mss: sk.mss,
            now: self.now,
            in_loss: sk.ca_state == super::CaState::Loss,
        }
    }

    /// Adds up the SACK pass's counters.
    fn tcp_sack_mib(&mut self, m: &super::sack::SackMib) {
        let x = &mut self.stats.tcp_ext;
        x.tcp_dsack_recv += m.dsack_recv;
        x.tcp_dsack_ofo_recv += m.dsack_ofo_recv;
        x.tcp_sack_discard += m.sack_discard;
        x.tcp_dsack_ignored_old += m.dsack_ignored_old;
        x.tcp_dsack_ignored_no_undo += m.dsack_ignored_no_undo;
        x.tcp_sack_reorder += m.sack_reorder;
    }

    /// `tcp_dsack_set` (RFC 2883): report `[seq, end)` as duplicate data in the next ACK
    /// (TCPDSACKOldSent below RCV.NXT, TCPDSACKOfoSent above).
    pub(crate) fn tcp_dsack_set(&mut self, sk: &mut TcpSock, seq: SeqNumber, end: SeqNumber) {
        if sk.sack_ok && self.cfg.tcp_dsack {
            if sk.sb.dsack_set(seq, end, sk.rcv_nxt) {
                self.stats.tcp_ext.tcp_dsack_old_sent += 1;
            } else {
                self.stats.tcp_ext.tcp_dsack_ofo_sent += 1;
            }
        }
    }

    /// `tcp_dsack_extend`: widen the pending D-SACK block, or start one.
    pub(crate) fn tcp_dsack_extend(&mut self, sk: &mut TcpSock, seq: SeqNumber, end: SeqNumber) {
        if sk.sb.dsack.is_none() {
            self.tcp_dsack_set(sk, seq, end);
        } else {
            let _ = sk.sb.dsack_extend(seq, end, sk.rcv_nxt);
        }
    }

    // ---- receiving data -------------------------------------------------------------

    /// `tcp_data_queue`: in-order data to the receive queue (then whatever the out-of-order
    /// queue can now give), old data answered at once, out-of-order data kept.
    fn tcp_data_queue(&mut self, sk: &mut TcpSock, seg: &Seg<'_>) -> Rcv {
        let mut seq = seg.seq;
        let mut data = seg.payload;
        let fin = seg.flags.fin;
        self.tcp_rcv_rtt_measure_ts(sk, seg.ts, data.len());
        if data.is_empty() && !fin {
            return Rcv::Ok;
        }
        let end = seq + data.len() + usize::from(fin);
        if !end.after(sk.rcv_nxt) {
            // A retransmission of what we have: ACK at once (tcp_data_queue "out_of_window"),
            // reporting the duplicate (RFC 2883).
            self.tcp_dsack_set(sk, seq, end);
            self.stats.tcp_ext.delayed_ack_lost += 1;
            self.tcp_enter_quickack_mode(sk);
            sk.ack.pending = true;
            sk.ack.now = true;
            return Rcv::Drop(DropReason::TcpOldData);
        }
        if seq.before(sk.rcv_nxt) {
            // Partial overlap: keep the new part, report the old one.
            self.tcp_dsack_set(sk, seq, sk.rcv_nxt);
            let skip = sk.rcv_nxt.diff(seq) as usize;
            data = &data[skip.min(data.len())..];
            seq = sk.rcv_nxt;
        }
        if seq != sk.rcv_nxt {
            return self.tcp_data_queue_ofo(sk, seq, data, fin);
        }
        if sk.receive_window() == 0 && !data.is_empty() {
            // Zero window: the peer should have waited.
            self.stats.tcp_ext.tcp_zero_window_drop += 1;
            self.tcp_enter_quickack_mode(sk);
            sk.ack.pending = true;
            sk.ack.now = true;
            return Rcv::Drop(DropReason::TcpZeroWindow);
        }
        // Deviation from Linux: what exceeds the receive buffer is trimmed (Linux would
        // prune queues); a well-behaved peer never sends beyond the advertised window.
        let room = sk.rcvbuf.saturating_sub(sk.rmem());
        let take = data.len().min(room);
        if take > 0 {
            sk.rbuf.extend(&data[..take]);
            sk.rcv_nxt += take;
            sk.counters.bytes_received += take as u64;
            self.tcp_event_data_recv(sk, take, seg.gso_size);
        }
        sk.ack.pending = true;
        let mut got_fin = false;
        if take == data.len() && fin {
            self.tcp_fin(sk);
            got_fin = true;
        } else if take < data.len() {
            sk.ack.now = true;
            self.stats.tcp_ext.tcp_rcv_q_drop += 1;
        }
        if (!sk.ooo.is_empty() || sk.ooo_fin.is_some()) && !got_fin {
            if self.tcp_ofo_queue(sk) {
                got_fin = true;
            }
            if sk.ooo.is_empty() {
                // RFC 5681 §4.2: ACK at once when a gap is filled.
                sk.ack.now = true;
            }
        }
        self.tcp_sack_remove(sk);
        // tcp_data_ready on every in-order arrival (sk_data_ready), not only when the queue
        // was empty: an EPOLLET reader gets an edge per arrival, and one waiting on
        // SO_RCVLOWAT is re-polled when the rest of its target arrives.
        if take > 0 || got_fin {
            self.tcp_event(sk, Event::Readable);
        }
        Rcv::Ok
    }

    /// `tcp_ofo_queue`: moves out-of-order blocks that became in order. Returns whether a
    /// FIN was reached.
    fn tcp_ofo_queue(&mut self, sk: &mut TcpSock) -> bool {
        while let Some((start, _)) = sk.ooo.first() {
            if start.after(sk.rcv_nxt) {
                break;
            }
            let (start, bytes) = sk.ooo.remove(0);
            sk.ooo_bytes -= bytes.len();
            if start.before(sk.rcv_nxt) {
                // In-order data overlapped what was queued: a duplicate.
                let dup_end = start + bytes.len();
                let hi = if dup_end.before(sk.rcv_nxt) {
                    dup_end
                } else {
                    sk.rcv_nxt
                };
                self.tcp_dsack_extend(sk, start, hi);
            }
            let skip = sk.rcv_nxt.diff(start).max(0) as usize;
            if skip < bytes.len() {
                let part = &bytes[skip..];
                sk.rbuf.extend(part);
                sk.rcv_nxt += part.len();
                sk.counters.bytes_received += part.len() as u64;
            }
        }
        if sk.ooo_fin == Some(sk.rcv_nxt) {
            sk.ooo_fin = None;
            self.tcp_fin(sk);
            return true;
        }
        false
    }

    /// `tcp_data_queue_ofo`: keep data that arrived ahead of a hole, merged into disjoint
    /// blocks, and ACK at once (the duplicate ACK that drives the sender's fast
    /// retransmit).
    fn tcp_data_queue_ofo(
        &mut self,
        sk: &mut TcpSock,
        seq: SeqNumber,
        data: &[u8],
        fin: bool,
    ) -> Rcv {
        sk.ack.pending = true;
        sk.ack.now = true;
        let end = seq + data.len();
        let room = sk.rcvbuf.saturating_sub(sk.rmem());
        if data.len() > room || (sk.ooo.len() >= MAX_OFO_BLOCKS && !self.tcp_ofo_fits(sk, seq, end))
        {
            self.stats.tcp_ext.tcp_ofo_drop += 1;
            return Rcv::Drop(DropReason::TcpOfoDrop);
        }
        self.stats.tcp_ext.tcp_ofo_queue += 1;
        sk.counters.rcv_ooopack += 1;
        if fin {
            sk.ooo_fin = Some(end);
        }
        if !data.is_empty() {
            // RFC 2883: what the segment repeats of queued data is reported as a D-SACK.
            let mut dup: Option<(SeqNumber, SeqNumber)> = None;
            for (s, b) in &sk.ooo {
                let e = *s + b.len();
                if s.before(end) && e.after(seq) {
                    let lo = if s.after(seq) { *s } else { seq };
                    let hi = if e.before(end) { e } else { end };
                    dup = Some(match dup {
                        None => (lo, hi),
                        Some((a, _)) => (a, hi),
                    });
                }
            }
            if let Some((lo, hi)) = dup {
                self.tcp_dsack_set(sk, lo, hi);
            }
            // Merge with every block that overlaps or touches [seq, end).
            let mut lo = seq;
            let mut hi = end;
            let mut merged: alloc::vec::Vec<u8> = alloc::vec::Vec::new();
            let first = sk.ooo.iter().position(|(s, b)| !(*s + b.len()).before(seq));
            let mut i = first.unwrap_or(sk.ooo.len());
            let insert_at = i;
            let mut absorbed = alloc::vec::Vec::new();
            while i < sk.ooo.len() && !sk.ooo[i].0.after(end) {
                absorbed.push(i);
                i += 1;
            }
            if absorbed.is_empty() {
                sk.ooo.insert(insert_at, (seq, data.to_vec()));
                sk.ooo_bytes += data.len();
            } else {
                let first_start = sk.ooo[absorbed[0]].0;
                if first_start.before(lo) {
                    lo = first_start;
                }
                let last = *absorbed.last().unwrap_or(&insert_at);
                let last_end = sk.ooo[last].0 + sk.ooo[last].1.len();
                if last_end.after(hi) {
                    hi = last_end;
                }
                merged.resize(hi.diff(lo) as usize, 0);
                let mut removed = 0;
                for (s, b) in sk.ooo.drain(absorbed[0]..=last) {
                    let off = s.diff(lo) as usize;
                    merged[off..off + b.len()].copy_from_slice(&b);
                    removed += b.len();
                }
                let off = seq.diff(lo) as usize;
                merged[off..off + data.len()].copy_from_slice(data);
                if absorbed.len() > 1 || removed > 0 {
                    self.stats.tcp_ext.tcp_ofo_merge += 1;
                }
                sk.ooo_bytes = sk.ooo_bytes - removed + merged.len();
                sk.ooo.insert(absorbed[0], (lo, merged));
            }
            self.tcp_sack_new_ofo(sk, seq, end);
        }
        Rcv::Ok
    }

    /// Whether `[seq, end)` would merge into an existing block (so adds no block).
    fn tcp_ofo_fits(&self, sk: &TcpSock, seq: SeqNumber, end: SeqNumber) -> bool {
        sk.ooo
            .iter()
            .any(|(s, b)| !s.after(end) && !(*s + b.len()).before(seq))
    }

    /// `tcp_sack_new_ofo_skb`: the block holding the newest segment goes first (RFC 2018
    /// §4), merged with any reported block it touches.
    fn tcp_sack_new_ofo(&mut self, sk: &mut TcpSock, seq: SeqNumber, end: SeqNumber) {
        let (mut lo, mut hi) = (seq, end);
        let mut kept: [Option<(SeqNumber, SeqNumber)>; 4] = [None; 4];
        let mut n = 1;
        for b in sk.sacks.iter().flatten() {
            if !b.0.after(hi) && !b.1.before(lo) {
                if b.0.before(lo) {
                    lo = b.0;
                }
                if b.1.after(hi) {
                    hi = b.1;
                }
            } else if n < 4 {
                kept[n] = Some(*b);
                n += 1;
            }
        }
        kept[0] = Some((lo, hi));
        sk.sacks = kept;
    }

    /// `tcp_sack_remove`: blocks now below RCV.NXT are no longer reported.
    fn tcp_sack_remove(&mut self, sk: &mut TcpSock) {
        if sk.ooo.is_empty() {
            sk.sacks = [None; 4];
            return;
        }
        let rcv_nxt = sk.rcv_nxt;
        let mut kept = [None; 4];
        let mut n = 0;
        for b in sk.sacks.iter().flatten() {
            if b.1.after(rcv_nxt) {
                kept[n] = Some((b.0.max_seq(rcv_nxt), b.1));
                n += 1;
            }
        }
        sk.sacks = kept;
    }

    /// `tcp_fin`: the peer's FIN, in order.
    fn tcp_fin(&mut self, sk: &mut TcpSock) {
        sk.ack.pending = true;
        sk.shutdown |= RCV_SHUTDOWN;
        sk.done = true;
        sk.rcv_nxt += 1;
        sk.counters.bytes_received += 1;
        sk.ooo.clear();
        sk.ooo_bytes = 0;
        sk.ooo_fin = None;
        sk.sacks = [None; 4];
        match sk.state {
            TcpState::SynRecv | TcpState::Established => {
                self.tcp_set_state(sk, TcpState::CloseWait);
                sk.ack.pingpong = true;
            }
            TcpState::FinWait1 => {
                // Simultaneous close.
                self.tcp_send_ack(sk);
                self.tcp_set_state(sk, TcpState::Closing);
            }
            TcpState::FinWait2 => {
                self.tcp_send_ack(sk);
                self.tcp_time_wait(sk);
            }
            _ => {}
        }
    }

    /// `__tcp_ack_snd_check`: ACK now (two full segments unacknowledged, quick-ACK mode, an
    /// out-of-order queue, an explicit request), or arm the delayed ACK.
    ///
    /// Inside a receive batch, an in-order segment's decision may wait for the end of its
    /// run (`gro`): only when nothing asks for an ACK at once and no out-of-order data is
    /// queued, so duplicate ACKs and their SACK blocks still go out per segment.
    pub(crate) fn tcp_ack_snd_check(&mut self, sk: &mut TcpSock) {
        if !sk.ack.pending || sk.dead || sk.state == TcpState::TimeWait {
            return;
        }
        if sk.gro.may_hold && !sk.ack.now && sk.ooo.is_empty() && sk.ooo_fin.is_none() {
            sk.gro.held = true;
            return;
        }
        let two_segments = sk.rcv_nxt.diff(sk.rcv_wup) > sk.ack.rcv_mss as i32 && {
            let w = self.tcp_raw_window(sk);
            sk.rbuf.is_empty() || w >= sk.rcv_wnd
        };
        let quick = sk.ack.quick > 0 && !sk.ack.pingpong;
        if two_segments || quick || sk.ack.now || !sk.ooo.is_empty() {
            self.tcp_send_ack(sk);
        } else {
            self.tcp_send_delayed_ack(sk);
        }
    }

    // ---- TIME-WAIT ------------------------------------------------------------------

    /// `tcp_timewait_state_process` (TIME-WAIT substate).
    fn tcp_timewait_rcv(&mut self, sk: &mut TcpSock, seg: &Seg<'_>) -> Rcv {
        let f = seg.flags;
        let now = self.now;
        let len = self.tcp_timewait_len();
        // PAWS with the connection's last TS.Recent (tw_ts_recent, tw_ts_recent_stamp).
        let paws_reject = match seg.ts {
            Some((tsval, _)) if sk.ts_recent_stamp.is_some() => {
                sk.paws_view(tsval).reject(now, f.rst)
            }
            _ => false,
        };
        if !paws_reject && seg.seq == sk.rcv_nxt && (seg.seq_len() == 0 || f.rst) {
            if f.rst {
                // TIME-WAIT assassination (RFC 1337 hazard), as Linux with tcp_rfc1337 = 0.
                if !self.cfg.tcp_rfc1337 {
                    self.tcp_set_state(sk, TcpState::Close);
                    sk.dead = true;
                }
            } else {
                sk.set_timer(TimerKind::Wait, now + len);
            }
            if let Some((tsval, _)) = seg.ts {
                sk.tcp_store_ts_recent(tsval, now);
            }
            return Rcv::Ok;
        }
        // A new SYN with a higher sequence number (or a newer timestamp) may reuse the
        // 4-tuple, unless PAWS rejects it.
        if f.syn && !f.rst && seg.ack.is_none() && !paws_reject {
            let newer_ts = match (seg.ts, sk.ts_recent_stamp.is_some()) {
                (Some((tsval, _)), true) => (sk.ts_recent.wrapping_sub(tsval) as i32) < 0,
                _ => false,
            };
            if seg.seq.after(sk.rcv_nxt) || newer_ts {
                let mut isn = sk.snd_nxt + 65_535 + 2;
                if isn.0 == 0 {
                    isn = SeqNumber(1);
                }
                self.tcp_set_state(sk, TcpState::Close);
                sk.dead = true;
                return Rcv::NewSyn(isn);
            }
        }
        if paws_reject {
            self.stats.tcp_ext.paws_timewait += 1;
        }
        if f.rst {
            return Rcv::Drop(DropReason::TcpReset);
        }
        if paws_reject || seg.ack.is_some() {
            sk.set_timer(TimerKind::Wait, now + len);
        }
        if self.tcp_oow_rate_limited(sk) {
            self.stats.tcp_ext.tcp_ack_skipped_time_wait += 1;
        } else {
            self.tcp_send_ack(sk);
        }
        Rcv::Ok
    }
}

impl Stack {
    /// `tcp_v4_err`: an ICMP error about a segment `saddr:sport -> daddr:dport` with
    /// sequence number `seq` that we sent. Returns false if no connection matched (the
    /// caller counts InErrors).
    ///
    /// The quoted sequence number must lie in [SND.UNA, SND.NXT] (else OutOfWindowIcmps).
    /// A connection still opening (SYN-SENT, SYN-RECEIVED) fails at once with the error
    /// (ECONNREFUSED for a port unreachable, EHOSTUNREACH, ...); an established one keeps
    /// it as the soft error reported if it later times out (RFC 1122 §4.2.3.9: soft errors
    /// must not abort), or with `IP_RECVERR` sets it as `sk_err`, reported at once without
    /// ending the connection. Fragmentation needed (`frag_mtu`, the next-hop MTU it carries) is
    /// path MTU discovery: `tcp_v4_mtu_reduced`.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn tcp_err(
        &mut self,
        saddr: core::net::Ipv4Addr,
        sport: u16,
        daddr: core::net::Ipv4Addr,
        dport: u16,
        seq: u32,
        err: crate::errno::Errno,
        frag_mtu: Option<u16>,
    ) -> bool {
        let t = FourTuple {
            laddr: saddr,
            lport: sport,
            raddr: daddr,
            rport: dport,
        };
        let Some(&idx) = self.tcp.ehash.get(&t) else {
            return false;
        };
        let Some(mut sk) = self.tcp.take(idx) else {
            return false;
        };
        let seq = SeqNumber(seq);
        let in_window = seq.between(sk.snd_una, sk.snd_nxt);
        match sk.state {
            // Nothing to tell a TIME-WAIT socket.
            TcpState::TimeWait => {}
            _ if !in_window => self.stats.tcp_ext.out_of_window_icmps += 1,
            // A request sock ignores it (not fatal: tcp_req_err); others learn the PMTU.
            TcpState::SynRecv if frag_mtu.is_some() && sk.parent.is_some() => {}
            _ if frag_mtu.is_some() => {
                self.tcp_v4_mtu_reduced(&mut sk, u32::from(frag_mtu.unwrap_or(0)));
            }
            TcpState::SynRecv if sk.parent.is_some() => {
                // tcp_req_err: a fatal error ends the embryonic connection.
                if seq == sk.iss {
                    self.tcp_reqsk_drop(&mut sk);
                } else {
                    self.stats.tcp_ext.out_of_window_icmps += 1;
                }
            }
            TcpState::SynSent | TcpState::SynRecv => {
                sk.err = Some(err);
                self.tcp_done(&mut sk);
                self.tcp_event(&sk, Event::Error);
            }
            // tcp_v4_err on a connected socket: with IP_RECVERR a hard error (sk_err +
            // sk_error_report), the connection goes on; without it a soft one, told only
            // if the connection times out (RFC 1122 §4.2.3.9).
            // Deviation from Linux: SYN-SENT / SYN-RECV errors with IP_RECVERR are not
            // queued on an error queue (ip_icmp_error): TCP sockets have none here.
            _ if sk.ip.recverr => {
                sk.err = Some(err);
                self.tcp_event(&sk, Event::Error);
            }
            _ => sk.err_soft = Some(err),
        }
        self.tcp_put(sk);
        true
    }
}

/// `tcp_in_window`: the segment `[seq, end)` overlaps the window `[s_win, e_win]`.
fn in_window(seq: SeqNumber, end: SeqNumber, s_win: SeqNumber, e_win: SeqNumber) -> bool {
    if seq == s_win {
        return true;
    }
    if end.after(s_win) && seq.before(e_win) {
        return true;
    }
    seq == e_win && seq == end
}

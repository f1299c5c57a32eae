//! Socket diagnostics: a snapshot of every TCP (and, through `udp::diag`, UDP) socket as
//! the `sock_diag` netlink family reports it to `ss`: state, addresses, the queues in the
//! units `ss` prints, the pending timer, and for TCP the congestion-control name and the
//! `TCP_INFO` of full sockets.
//!
//! Linux: net/ipv4/inet_diag.c (`inet_diag_dump_icsk`: listeners, then the established
//! hash with its TIME-WAIT and request sockets; `inet_sk_diag_fill`, `inet_twsk_diag_fill`,
//! `inet_req_diag_fill`, `inet_diag_msg_common_fill`), net/ipv4/tcp_diag.c
//! (`tcp_diag_get_info`: Recv-Q/Send-Q), include/uapi/linux/inet_diag.h
//! (`struct inet_diag_req_v2`, `struct inet_diag_msg`, `INET_DIAG_*` attributes),
//! net/ipv4/udp_diag.c (see `udp::diag`).
//! RFCs: none (RFC 4898, the TCP ESTATS MIB, defines the `TCP_INFO` counters).
//!
//! A dump is a request ([`InetDiagReq`]: protocol, a bit mask of states, whether `TCP_INFO`
//! is wanted) and a cursor; [`Stack::inet_diag_dump`] answers at most `max` messages and
//! the cursor to resume from, the way a netlink dump resumes from `cb->args` when its
//! buffer fills. Walking the socket slab is the dump's job (Linux walks every hash bucket
//! too); no packet path ever does it.
//!
//! What is shown, as Linux: TCP sockets in the listening hash or the established hash
//! (listeners first); a socket that is only bound, or never bound, is in neither and is
//! not shown. Children still in SYN-RECEIVED play Linux's request sockets: no queues, no
//! `TCP_INFO`, no shutdown mask, their SYN-ACK timer. TIME-WAIT sockets likewise report
//! only their timer.
//!
//! Deviation from Linux: `idiag_inode` and `idiag_uid` are 0 (there are no inodes or
//! users), and `idiag_cookie` (what `ss -e` prints as `sk:`) is the socket's slot index and
//! generation rather than a per-namespace counter.

use alloc::string::String;
use alloc::vec::Vec;
use core::net::SocketAddrV4;

use serde::{Deserialize, Serialize};

use crate::stack::Stack;
use crate::time::Instant;

use super::cong::CongestionOps;
use super::{RtxKind, TcpInfo, TcpSock, TcpState, TimerKind, TCP_HANDLE_TAG};

/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: u8 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: u8 = 17;
/// `IPPROTO_RAW`: the raw sockets (`raw_diag`).
pub const IPPROTO_RAW: u8 = 255;

/// Every state (`idiag_states` = ~0).
pub const TCPF_ALL: u32 = u32::MAX;

/// `idiag_timer` values (include/uapi/linux/inet_diag.h has no names; ss's are these).
pub mod timer {
    /// No timer pending.
    pub const OFF: u8 = 0;
    /// Retransmission (RTO, SYN, SYN-ACK).
    pub const ON: u8 = 1;
    /// Keepalive (`sk_timer`).
    pub const KEEPALIVE: u8 = 2;
    /// TIME-WAIT (or the FIN-WAIT-2 timeout of an orphan).
    pub const TIMEWAIT: u8 = 3;
    /// Zero-window probe (`ICSK_TIME_PROBE0`).
    pub const PROBE0: u8 = 4;
}

/// A dump request (`struct inet_diag_req_v2`, what `ss` sends).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InetDiagReq {
    /// `sdiag_protocol`: [`IPPROTO_TCP`], [`IPPROTO_UDP`] or [`IPPROTO_RAW`].
    pub protocol: u8,
    /// `idiag_states`: bit `1 << n` selects the sockets in state number `n` (`TCPF_*`).
    pub states: u32,
    /// `idiag_ext & (1 << (INET_DIAG_INFO - 1))`: include `TCP_INFO` and the congestion
    /// control's name (`INET_DIAG_CONG`).
    pub info: bool,
}

/// One socket (`struct inet_diag_msg` and the attributes `ss` asks for).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InetDiagMsg {
    /// `INET_DIAG_PROTOCOL`: [`IPPROTO_TCP`], [`IPPROTO_UDP`], or a raw socket's protocol.
    pub protocol: u8,
    /// `idiag_state`: the state's Linux number (a UDP socket is `TCP_ESTABLISHED` when
    /// connected, `TCP_CLOSE` otherwise).
    pub state: u8,
    /// `idiag_timer`: one of [`timer`].
    pub timer: u8,
    /// `idiag_retrans`: retransmissions for [`timer::ON`], unanswered probes for
    /// [`timer::KEEPALIVE`] and [`timer::PROBE0`].
    pub retrans: u8,
    /// `idiag_src`, `idiag_sport`.
    pub src: SocketAddrV4,
    /// `idiag_dst`, `idiag_dport` (0.0.0.0:0 when unconnected).
    pub dst: SocketAddrV4,
    /// `idiag_expires`: ms until the timer fires.
    pub expires: u32,
    /// `idiag_rqueue`: a TCP listener's accept-queue length; bytes received and not read
    /// on a TCP connection; a UDP socket's receive memory (`sk_rmem_alloc`).
    pub rqueue: u32,
    /// `idiag_wqueue`: a TCP listener's backlog; sequence space written and not
    /// acknowledged on a TCP connection (`write_seq - snd_una`); 0 on UDP.
    pub wqueue: u32,
    /// `idiag_uid`: always 0 (root).
    pub uid: u32,
    /// `idiag_inode`: always 0.
    pub inode: u32,
    /// `idiag_cookie`: `(generation << 32) | slot`.
    pub cookie: u64,
    /// `INET_DIAG_SHUTDOWN` (`sk_shutdown`: 1 receive, 2 send), full sockets only.
    pub shutdown: Option<u8>,
    /// `INET_DIAG_CONG`, full TCP sockets when [`InetDiagReq::info`] is set.
    pub cong: Option<String>,
    /// `INET_DIAG_INFO`, full TCP sockets when [`InetDiagReq::info`] is set.
    pub info: Option<TcpInfo>,
}

/// A state from its Linux number (`idiag_state`).
pub fn tcp_state_from_number(n: u8) -> Option<TcpState> {
    use TcpState::*;
    [
        Established,
        SynSent,
        SynRecv,
        FinWait1,
        FinWait2,
        TimeWait,
        Close,
        CloseWait,
        LastAck,
        Listen,
        Closing,
    ]
    .into_iter()
    .find(|s| s.number() == n)
}

/// ms until `at` (`jiffies_delta_to_msecs`, 0 once due).
pub(crate) fn expires_ms(at: Instant, now: Instant) -> u32 {
    u32::try_from(at.saturating_since(now).as_millis()).unwrap_or(u32::MAX)
}

/// What a cursor counts: the phase (0: listeners, 1: the rest) in bit 32, the slot below.
const PHASE_BIT: u64 = 1 << 32;

impl TcpSock {
    /// Shown by a dump: in the listening or the established hash.
    fn diag_visible(&self) -> bool {
        !self.dead && (self.lhashed || self.ehashed)
    }

    /// A request socket in Linux's terms (a child not yet through its handshake).
    fn diag_is_request(&self) -> bool {
        self.state == TcpState::SynRecv && self.parent.is_some()
    }

    /// `tcp_diag_get_info`'s queues: `(rqueue, wqueue)`.
    fn diag_queues(&self) -> (u32, u32) {
        if self.state == TcpState::Listen {
            let q = self.listen.as_deref();
            return (
                q.map_or(0, |q| q.accept_queue.len() as u32),
                q.map_or(0, |q| q.max_backlog),
            );
        }
        if self.diag_is_request() || self.state == TcpState::TimeWait {
            return (0, 0);
        }
        // Deviation from Linux: Recv-Q is `rcv_nxt - copied_seq` there, which counts a
        // received FIN until read() has returned the end of the stream; here it is the
        // unread bytes only.
        let rq = self.rbuf.len() as u32;
        // write_seq - snd_una: the SYN and the FIN take one each while unacknowledged.
        let syn = u32::from(matches!(self.state, TcpState::SynSent | TcpState::SynRecv));
        let end = self.data_end() + usize::from(self.fin_queued);
        let wq = (end.diff(self.snd_una).max(0) as u32).max(syn);
        (rq, wq)
    }

    /// `inet_sk_diag_fill`'s timer: `(idiag_timer, idiag_retrans, idiag_expires)`.
    fn diag_timer(&self, now: Instant) -> (u8, u8, u32) {
        let sat = |n: u32| n.min(255) as u8;
        if self.state == TcpState::TimeWait {
            let at = self.timer(TimerKind::Wait);
            return at.map_or((timer::OFF, 0, 0), |at| {
                (timer::TIMEWAIT, 0, expires_ms(at, now))
            });
        }
        if let Some(at) = self.timer(TimerKind::Rtx) {
            return match self.rtx_kind {
                // inet_sk_diag_fill: RETRANS, REO_TIMEOUT and LOSS_PROBE all show as "on".
                RtxKind::Retrans | RtxKind::LossProbe | RtxKind::ReoTimeout => {
                    (timer::ON, sat(self.retransmits), expires_ms(at, now))
                }
                RtxKind::Probe => (timer::PROBE0, sat(self.probes_out), expires_ms(at, now)),
            };
        }
        // sk_timer carries both keepalive and the FIN-WAIT-2 timeout; the latter is a
        // TIME-WAIT minisock in FIN-WAIT-2 in Linux, shown with the timewait timer.
        if let Some(at) = self.timer(TimerKind::Wait) {
            return (timer::TIMEWAIT, 0, expires_ms(at, now));
        }
        if let Some(at) = self.timer(TimerKind::Keepalive) {
            return (timer::KEEPALIVE, sat(self.probes_out), expires_ms(at, now));
        }
        (timer::OFF, 0, 0)
    }

    /// `inet_diag_dump_one`'s message for this socket.
    fn inet_diag_msg(&self, req: &InetDiagReq, now: Instant) -> InetDiagMsg {
        let (timer, retrans, expires) = self.diag_timer(now);
        let (rqueue, wqueue) = self.diag_queues();
        let full = !self.diag_is_request() && self.state != TcpState::TimeWait;
        let (cong, info) = if full && req.info {
            (
                Some(String::from(self.cc.name())),
                Some(self.diag_tcp_info(now)),
            )
        } else {
            (None, None)
        };
        InetDiagMsg {
            protocol: IPPROTO_TCP,
            state: self.state.number(),
            timer,
            retrans,
            src: self.local,
            dst: self.remote,
            expires,
            rqueue,
            wqueue,
            uid: 0,
            inode: 0,
            cookie: (u64::from(self.id.1) << 32) | u64::from(self.id.0 & !TCP_HANDLE_TAG),
            shutdown: full.then_some(self.shutdown),
            cong,
            info,
        }
    }

    /// `tcp_get_info` as a dump reports it: a listener's answer stops after the fields
    /// "meaningful for all TCP states" (state, `reordering`, `snd_cwnd`, and the accept
    /// queue in `unacked` / `sacked`), the rest left zero.
    fn diag_tcp_info(&self, now: Instant) -> TcpInfo {
        let i = self.tcp_get_info(now);
        if self.state != TcpState::Listen {
            return i;
        }
        TcpInfo {
            state: i.state,
            reordering: i.reordering,
            snd_cwnd: i.snd_cwnd,
            unacked: i.unacked,
            sacked: i.sacked,
            min_rtt: 0,
            ..TcpInfo::zeroed()
        }
    }
}

impl TcpInfo {
    /// Every field zero (a `memset` of `struct tcp_info`).
    fn zeroed() -> TcpInfo {
        TcpInfo {
            state: 0,
            ca_state: 0,
            retransmits: 0,
            probes: 0,
            backoff: 0,
            options: 0,
            snd_wscale: 0,
            rcv_wscale: 0,
            rto: 0,
            ato: 0,
            snd_mss: 0,
            rcv_mss: 0,
            unacked: 0,
            sacked: 0,
            lost: 0,
            retrans: 0,
            last_data_sent: 0,
            last_ack_sent: 0,
            last_data_recv: 0,
            last_ack_recv: 0,
            pmtu: 0,
            rcv_ssthresh: 0,
            rtt: 0,
            rttvar: 0,
            snd_ssthresh: 0,
            snd_cwnd: 0,
            advmss: 0,
            reordering: 0,
            rcv_rtt: 0,
            rcv_space: 0,
            total_retrans: 0,
            bytes_acked: 0,
            bytes_received: 0,
            segs_out: 0,
            segs_in: 0,
            notsent_bytes: 0,
            min_rtt: 0,
            data_segs_in: 0,
            data_segs_out: 0,
            delivery_rate: 0,
            bytes_sent: 0,
            bytes_retrans: 0,
            rcv_ooopack: 0,
            snd_wnd: 0,
            rcv_wnd: 0,
        }
    }
}

impl Stack {
    /// `inet_diag_dump`: up to `max` sockets of `req.protocol` whose state is in
    /// `req.states`, from `cursor` (0 to start). Returns them and the cursor of the next
    /// call, `None` when the dump is complete. TCP lists listeners first, as
    /// `inet_diag_dump_icsk` does.
    pub fn inet_diag_dump(
        &self,
        req: &InetDiagReq,
        cursor: u64,
        max: usize,
    ) -> (Vec<InetDiagMsg>, Option<u64>) {
        match req.protocol {
            IPPROTO_TCP => self.tcp_diag_dump(req, cursor, max),
            IPPROTO_UDP => self.udp_diag_dump(req, cursor, max),
            IPPROTO_RAW => self.raw_diag_dump(req, cursor, max),
            // No other protocols: an empty, complete dump.
            _ => (Vec::new(), None),
        }
    }

    fn tcp_diag_dump(
        &self,
        req: &InetDiagReq,
        cursor: u64,
        max: usize,
    ) -> (Vec<InetDiagMsg>, Option<u64>) {
        let mut out = Vec::new();
        let slots = &self.tcp.slots;
        let mut phase = cursor / PHASE_BIT;
        let mut idx = (cursor % PHASE_BIT) as usize;
        while phase < 2 {
            while idx < slots.len() {
                if out.len() >= max {
                    return (out, Some(phase * PHASE_BIT + idx as u64));
                }
                let Some(sk) = slots[idx].sock.as_deref() else {
                    idx += 1;
                    continue;
                };
                idx += 1;
                let listening = sk.state == TcpState::Listen;
                if !sk.diag_visible() || listening != (phase == 0) {
                    continue;
                }
                if req.states & (1u32 << sk.state.number()) == 0 {
                    continue;
                }
                out.push(sk.inet_diag_msg(req, self.now));
            }
            phase += 1;
            idx = 0;
        }
        (out, None)
    }
}

#[cfg(test)]
mod tests {
    use alloc::vec::Vec;
    use core::net::{Ipv4Addr, SocketAddrV4};

    use super::super::test_peer::*;
    use super::*;
    use crate::testutil::*;
    use crate::time::Duration;

    fn req(protocol: u8, states: u32, info: bool) -> InetDiagReq {
        InetDiagReq {
            protocol,
            states,
            info,
        }
    }

    fn dump_all(h: &Harness, r: &InetDiagReq) -> Vec<InetDiagMsg> {
        h.stack.inet_diag_dump(r, 0, usize::MAX).0
    }

    /// `ss -ltn`: a listener shows its accept-queue length as Recv-Q and its backlog as
    /// Send-Q (`tcp_diag_get_info`), with no peer and no timer; a socket that is only
    /// bound is in no hash and is not shown; the accepted connection is not a listener.
    #[test]
    fn listener_reports_accept_queue_and_backlog() {
        let mut h = setup();
        let l = listener(&mut h, 5);
        let bound = h.stack.tcp_socket().unwrap();
        h.stack
            .tcp_bind(bound, SocketAddrV4::new(OUR_IP, 9))
            .unwrap();
        let listen_only = req(IPPROTO_TCP, 1 << TcpState::Listen.number(), false);
        let d = dump_all(&h, &listen_only);
        assert_eq!(d.len(), 1, "{d:#?}");
        let m = &d[0];
        assert_eq!((m.protocol, m.state, m.rqueue, m.wqueue), (6, 10, 0, 5));
        assert_eq!(m.src, SocketAddrV4::new(OUR_IP, OUR_PORT));
        assert_eq!(m.dst, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0));
        assert_eq!((m.timer, m.expires, m.shutdown), (timer::OFF, 0, Some(0)));
        assert!(m.info.is_none() && m.cong.is_none());
        // Two handshakes complete; nobody accepts: Recv-Q 2.
        peer_connects(&mut h, 40_001);
        peer_connects(&mut h, 40_002);
        let d = dump_all(&h, &listen_only);
        assert_eq!((d[0].rqueue, d[0].wqueue), (2, 5));
        // With TCP_INFO: only what tcp_get_info fills for a listener.
        let d = dump_all(&h, &req(IPPROTO_TCP, 1 << 10, true));
        let i = d[0].info.unwrap();
        assert_eq!(d[0].cong.as_deref(), Some("cubic"));
        assert_eq!((i.state, i.snd_cwnd, i.unacked, i.sacked), (10, 10, 2, 5));
        assert_eq!((i.rto, i.snd_mss, i.rcv_space, i.min_rtt), (0, 0, 0, 0));
        // The whole table: the listener first, then the two connections (ESTABLISHED,
        // waiting in the accept queue); the bound-only socket never.
        let d = dump_all(&h, &req(IPPROTO_TCP, TCPF_ALL, false));
        let states: Vec<u8> = d.iter().map(|m| m.state).collect();
        assert_eq!(states, [10, 1, 1]);
        let _ = l;
    }

    /// `ss -tn` on a connection: Recv-Q the bytes not read, Send-Q `write_seq - snd_una`
    /// (the FIN counts one while unacknowledged), the retransmission timer with its
    /// expiry, and the `TCP_INFO` that `getsockopt` returns.
    #[test]
    fn connection_reports_queues_timer_and_info() {
        let mut h = setup();
        // A 20 ms round trip, so that the loss probe (2·SRTT + 2 ms) is well in the future.
        let (s, mut conn, _) = open_active_rtt(&mut h, false, Duration::from_millis(20));
        let all = req(IPPROTO_TCP, TCPF_ALL, true);
        let d = dump_all(&h, &all);
        assert_eq!(d.len(), 1);
        assert_eq!((d[0].state, d[0].rqueue, d[0].wqueue), (1, 0, 0));
        assert_eq!(d[0].dst, SocketAddrV4::new(PEER_IP, PEER_PORT));
        assert_eq!(d[0].timer, timer::OFF);
        assert_eq!(d[0].info, Some(h.stack.tcp_info(s).unwrap()));
        // 100 bytes in, unread; 3000 bytes out, unacknowledged; RTO pending.
        let _ = send(&mut h, &conn.data(&[7u8; 100]));
        h.stack.tcp_send(s, &[1u8; 3000]).unwrap();
        let _ = out(&mut h);
        let d = dump_all(&h, &all);
        assert_eq!((d[0].rqueue, d[0].wqueue), (100, 3000));
        assert_eq!((d[0].timer, d[0].retrans), (timer::ON, 0));
        // The armed retransmission-timer kind is the tail loss probe (Linux shows it, and
        // the RTO, as "on"): due within the RTO, and counting down with the clock.
        let rto = h.stack.tcp_info(s).unwrap().rto / 1000;
        let first = d[0].expires;
        assert!(first > 2 && first <= rto, "{first} vs rto {rto}");
        let _ = h.advance(Duration::from_millis(2));
        assert_eq!(dump_all(&h, &all)[0].expires, first - 2);
        // Everything acknowledged, the FIN queued and sent: Send-Q 1, shutdown mask 2.
        conn.our_nxt += 3000;
        let _ = send(&mut h, &conn.ack());
        h.stack.tcp_shutdown(s, crate::Shutdown::Write).unwrap();
        let _ = out(&mut h);
        let d = dump_all(&h, &all);
        assert_eq!(d[0].state, TcpState::FinWait1.number());
        assert_eq!((d[0].rqueue, d[0].wqueue, d[0].shutdown), (100, 1, Some(2)));
        // The state filter: only FIN-WAIT-1 asked for, or only ESTABLISHED.
        assert_eq!(dump_all(&h, &req(IPPROTO_TCP, 1 << 4, false)).len(), 1);
        assert!(dump_all(&h, &req(IPPROTO_TCP, 1 << 1, false)).is_empty());
    }

    /// TIME-WAIT reports only its timer (`inet_twsk_diag_fill`): no queues, no shutdown
    /// mask, no `TCP_INFO`, expiring 60 s after entry.
    #[test]
    fn time_wait_reports_its_timer_only() {
        let mut h = setup();
        let (s, mut conn, _) = open_active(&mut h, false);
        h.stack.tcp_close(s).unwrap();
        let _ = out(&mut h);
        conn.our_nxt += 1;
        let _ = send(&mut h, &conn.ack());
        let _ = send(&mut h, &conn.fin());
        let d = dump_all(&h, &req(IPPROTO_TCP, TCPF_ALL, true));
        assert_eq!(d.len(), 1, "{d:#?}");
        assert_eq!(d[0].state, TcpState::TimeWait.number());
        assert_eq!((d[0].timer, d[0].expires), (timer::TIMEWAIT, 60_000));
        assert_eq!((d[0].rqueue, d[0].wqueue, d[0].shutdown), (0, 0, None));
        assert!(d[0].info.is_none() && d[0].cong.is_none());
    }

    /// SYN-SENT counts its SYN in Send-Q; a child in SYN-RECEIVED is a request socket (its
    /// SYN-ACK timer, nothing else); keepalive shows as the keepalive timer.
    #[test]
    fn syn_sent_request_and_keepalive_timers() {
        let mut h = setup();
        let c = h.stack.tcp_socket().unwrap();
        let _ = h
            .stack
            .tcp_connect(c, SocketAddrV4::new(PEER_IP, PEER_PORT));
        let _ = out(&mut h);
        let all = req(IPPROTO_TCP, TCPF_ALL, true);
        let d = dump_all(&h, &all);
        assert_eq!((d[0].state, d[0].wqueue, d[0].timer), (2, 1, timer::ON));
        assert_eq!(d[0].expires, 1000);
        h.stack.tcp_close(c).unwrap();
        let _ = out(&mut h);

        let _l = listener(&mut h, 5);
        let _ = send(&mut h, &peer_syn(40_009));
        let d = dump_all(&h, &all);
        let r = d.iter().find(|m| m.state == 3).expect("request socket");
        assert_eq!((r.timer, r.retrans, r.expires), (timer::ON, 0, 1000));
        assert_eq!((r.rqueue, r.wqueue, r.shutdown), (0, 0, None));
        assert!(r.info.is_none());

        let mut h = setup();
        let (s, _, _) = open_active(&mut h, false);
        h.stack.tcp_set_keepalive(s, true).unwrap();
        let d = dump_all(&h, &all);
        assert_eq!((d[0].timer, d[0].expires), (timer::KEEPALIVE, 7_200_000));
    }

    /// A dump resumes from its cursor: pages of one socket give the same sockets, in the
    /// same order, as one dump; raw sockets (none exist) give an empty dump.
    #[test]
    fn dump_pages_resume_from_the_cursor() {
        let mut h = setup();
        let _l = listener(&mut h, 8);
        for p in 0..3 {
            peer_connects(&mut h, 41_000 + p);
        }
        let all = req(IPPROTO_TCP, TCPF_ALL, false);
        let whole = dump_all(&h, &all);
        assert_eq!(whole.len(), 4);
        let mut paged = Vec::new();
        let mut cursor = 0;
        loop {
            let (mut page, next) = h.stack.inet_diag_dump(&all, cursor, 1);
            assert!(page.len() <= 1);
            paged.append(&mut page);
            match next {
                Some(c) => cursor = c,
                None => break,
            }
        }
        assert_eq!(paged, whole);
        let raw = h
            .stack
            .inet_diag_dump(&req(IPPROTO_RAW, TCPF_ALL, true), 0, 10);
        assert_eq!(raw, (Vec::new(), None));
    }
}

//! TCP socket options beyond the timers: `TCP_CORK` (and `MSG_MORE`), `TCP_MAXSEG`,
//! `TCP_WINDOW_CLAMP`, `TCP_QUICKACK`, `TCP_DEFER_ACCEPT`, and the getters of every option
//! that has a setter, returning what Linux's getsockopt returns.
//!
//! Linux: net/ipv4/tcp.c (`do_tcp_setsockopt`, `do_tcp_getsockopt`, `__tcp_sock_set_cork`,
//! `tcp_sock_set_nodelay`, `__tcp_sock_set_quickack`, `tcp_set_window_clamp`, `tcp_push`,
//! `secs_to_retrans`), net/ipv4/inet_connection_sock.c (`syn_ack_recalc`),
//! net/ipv4/tcp_minisocks.c (the deferred-accept drop of `tcp_check_req`),
//! net/ipv4/tcp_output.c (`tcp_nagle_check`, `tcp_nagle_test`, `tcp_mss_clamp`,
//! `__tcp_push_pending_frames`), net/core/sock.c (`sk_getsockopt` for `SO_SNDBUF`,
//! `SO_RCVBUF`, `SO_KEEPALIVE`, `SO_REUSEADDR`, `SO_LINGER`).
//! RFCs: RFC 1122 §4.2.3.4 (Nagle; corking is Linux's extension of it).
//!
//! Corking: while `TCP_CORK` is on (or for the one push of a `MSG_MORE` send) no partial
//! segment leaves, even with `TCP_NODELAY`. A partial segment left corked is not held
//! forever: with nothing in flight `tcp_write_xmit` reports it and `__tcp_push_pending_frames`
//! arms the zero-window-probe timer (`tcp_check_probe_timer`, one RTO, at least 200 ms),
//! whose `tcp_write_wakeup` sends it. That is the "200 millisecond ceiling" of tcp(7) as the
//! current kernel implements it; this code does the same. Clearing `TCP_CORK` pushes what
//! is queued at once (`tcp_push_pending_frames`).

use crate::errno::Errno;
use crate::stack::Stack;
use crate::udp::SocketHandle;

use super::{TcpSock, TcpState, TimerKind};

/// `TCP_MIN_MSS`: the smallest `TCP_MAXSEG`.
const TCP_MIN_MSS: u32 = 88;
/// `MAX_TCP_WINDOW`: the largest `TCP_MAXSEG`.
const MAX_TCP_WINDOW: u32 = 32_767;
/// `SOCK_MIN_RCVBUF / 2`: the smallest `TCP_WINDOW_CLAMP`.
const MIN_WINDOW_CLAMP: u32 = 2304 / 2;

/// `SO_LINGER` as getsockopt returns it (`struct linger`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Linger {
    /// `l_onoff`.
    pub onoff: bool,
    /// `l_linger`, seconds.
    pub linger: u32,
}

/// `secs_to_retrans`: SYN-ACK retransmissions covering `seconds`, from `timeout` doubling
/// up to `rto_max`.
fn secs_to_retrans(seconds: i32, mut timeout: i32, rto_max: i32) -> u8 {
    let mut res = 0u8;
    if seconds > 0 {
        let mut period = timeout;
        res = 1;
        while seconds > period && res < 255 {
            res += 1;
            timeout = (timeout << 1).min(rto_max);
            period += timeout;
        }
    }
    res
}

/// `retrans_to_secs`: the seconds `retrans` retransmissions take.
fn retrans_to_secs(retrans: u8, mut timeout: i32, rto_max: i32) -> i32 {
    let mut period = 0;
    if retrans > 0 {
        period = timeout;
        for _ in 1..retrans {
            timeout = (timeout << 1).min(rto_max);
            period += timeout;
        }
    }
    period
}

impl TcpSock {
    /// `tcp_nagle_check` (with `tcp_nagle_test`'s exemptions, which the caller applies for
    /// the FIN): whether a partial segment must wait. Corked: always. Otherwise Minshall's
    /// Nagle: while an earlier partial segment is unacknowledged, unless `TCP_NODELAY`.
    pub(crate) fn tcp_nagle_check(&self, in_flight: u32) -> bool {
        if self.urg_mode() {
            // "Don't use the nagle rule for urgent data."
            return false;
        }
        if self.cork || self.msg_more {
            return true;
        }
        !self.nodelay
            && in_flight > 0
            && self.snd_sml.after(self.snd_una)
            && !self.snd_sml.after(self.snd_nxt)
    }

    /// `syn_ack_recalc`: whether a request whose SYN-ACK timer fired expires, and whether
    /// its SYN-ACK is sent again. Without `TCP_DEFER_ACCEPT` it expires after `max`
    /// retransmissions and is always resent; with it, a request whose handshake ACK came
    /// without data waits silently for data until the deferral's last round.
    pub(crate) fn syn_ack_recalc(&self, max: u32) -> (bool, bool) {
        let defer = u32::from(self.opts.defer_accept);
        let n = self.retransmits;
        if defer == 0 {
            return (n >= max, true);
        }
        let expire = n >= max && (!self.req_acked || n >= defer);
        let resend = !self.req_acked || n + 1 >= defer;
        (expire, resend)
    }

    /// `tcp_mss_clamp`: an MSS bounded by `TCP_MAXSEG` when set.
    pub(crate) fn tcp_mss_clamp(&self, mss: u32) -> u32 {
        match self.opts.user_mss {
            0 => mss,
            u => mss.min(u32::from(u)),
        }
    }

    /// The `TCP_WINDOW_CLAMP` the user set, or no bound.
    pub(crate) fn user_window_clamp(&self) -> u32 {
        match self.opts.window_clamp {
            0 => u32::MAX,
            c => c,
        }
    }
}

impl Stack {
    /// `TCP_CORK`: on, partial segments are held; off, what is queued is pushed
    /// (`__tcp_sock_set_cork`). See the module doc for a partial segment left corked.
    pub fn tcp_set_cork(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        let r = self.tcp_with(h, |st, sk| {
            sk.cork = on;
            if !on && sk.state.is_synchronized() {
                st.tcp_write_xmit(sk, true);
            }
            Ok(())
        });
        self.process_backlog();
        r
    }

    /// `send(.., MSG_MORE)`: like [`Stack::tcp_send`], but this push holds a partial
    /// segment back as `TCP_CORK` would (`tcp_push` with `TCP_NAGLE_CORK`); later pushes
    /// (an ACK, the next send) follow the socket's own Nagle and cork settings.
    pub fn tcp_send_more(&mut self, h: SocketHandle, data: &[u8]) -> Result<usize, Errno> {
        self.tcp_with(h, |_, sk| {
            sk.msg_more = true;
            Ok(())
        })?;
        let r = self.tcp_send(h, data);
        if let Ok(idx) = self.tcp.index(h) {
            if let Some(sk) = self.tcp.sock_at(idx) {
                sk.msg_more = false;
            }
        }
        r
    }

    /// `TCP_MAXSEG` (set): 0, or 88..=32767 (else EINVAL); bounds the MSS we advertise and
    /// send with on connections set up afterwards (`rx_opt.user_mss`), children of a
    /// listener included.
    pub fn tcp_set_maxseg(&mut self, h: SocketHandle, val: u32) -> Result<(), Errno> {
        if val != 0 && !(TCP_MIN_MSS..=MAX_TCP_WINDOW).contains(&val) {
            self.tcp.get(h)?;
            return Err(Errno::EINVAL);
        }
        self.tcp_with(h, |_, sk| {
            sk.opts.user_mss = val as u16;
            Ok(())
        })
    }

    /// `TCP_MAXSEG` (get): `mss_cache` (536 before a connection), or the value set while
    /// closed or listening.
    pub fn tcp_maxseg(&self, h: SocketHandle) -> Result<u32, Errno> {
        let sk = self.tcp.get(h)?;
        if sk.opts.user_mss != 0 && matches!(sk.state, TcpState::Close | TcpState::Listen) {
            return Ok(u32::from(sk.opts.user_mss));
        }
        Ok(sk.mss)
    }

    /// `TCP_WINDOW_CLAMP` (`tcp_set_window_clamp`): bounds the advertised window, at least
    /// 1152 bytes (`SOCK_MIN_RCVBUF / 2`). 0 removes the bound, only on a closed socket
    /// (else EINVAL). Set before connect, it bounds the initial window and window scale.
    pub fn tcp_set_window_clamp(&mut self, h: SocketHandle, val: u32) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            if val == 0 {
                if sk.state != TcpState::Close {
                    return Err(Errno::EINVAL);
                }
                sk.opts.window_clamp = 0;
                sk.window_clamp = 0;
                return Ok(());
            }
            let new = val.max(MIN_WINDOW_CLAMP);
            sk.opts.window_clamp = new;
            if sk.state == TcpState::Close || sk.state == TcpState::Listen {
                sk.window_clamp = new;
                return Ok(());
            }
            let old = sk.window_clamp;
            sk.window_clamp = new;
            if new < old {
                // __tcp_adjust_rcv_ssthresh.
                sk.rcv_ssthresh = sk.rcv_ssthresh.min(new);
            } else {
                sk.rcv_ssthresh = sk.rcv_ssthresh.max(sk.rcv_wnd.min(new));
            }
            Ok(())
        })
    }

    /// `TCP_WINDOW_CLAMP` (get): `window_clamp`.
    pub fn tcp_window_clamp(&self, h: SocketHandle) -> Result<u32, Errno> {
        Ok(self.tcp.get(h)?.window_clamp)
    }

    /// `TCP_DEFER_ACCEPT` (seconds; negative is 0): on a listener, a handshake ACK without
    /// data does not complete the connection until data arrives or the deferral (counted,
    /// as Linux, in SYN-ACK retransmissions: `secs_to_retrans` from 1 s doubling up to
    /// `TCP_RTO_MAX`) runs out; then the SYN-ACK is sent again and the next ACK completes
    /// it. Dropped ACKs count TCPDeferAcceptDrop.
    pub fn tcp_set_defer_accept(&mut self, h: SocketHandle, secs: i32) -> Result<(), Errno> {
        let rto_max = self.cfg.tcp_rto_max.as_secs().max(1) as i32;
        self.tcp_with(h, |_, sk| {
            sk.opts.defer_accept = secs_to_retrans(secs, 1, rto_max);
            Ok(())
        })
    }

    /// `TCP_DEFER_ACCEPT` (get): the seconds the retransmission count stands for
    /// (`retrans_to_secs`), so a set value reads back rounded up to a backoff step.
    pub fn tcp_defer_accept(&self, h: SocketHandle) -> Result<i32, Errno> {
        let rto_max = self.cfg.tcp_rto_max.as_secs().max(1) as i32;
        Ok(retrans_to_secs(
            self.tcp.get(h)?.opts.defer_accept,
            1,
            rto_max,
        ))
    }

    /// `TCP_QUICKACK` (`__tcp_sock_set_quickack`): on leaves interactive (pingpong) mode and
    /// sends an owed ACK at once; off enters pingpong mode (ACKs wait to ride on data).
    pub fn tcp_set_quickack(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        let r = self.tcp_with(h, |st, sk| {
            if !on {
                sk.ack.pingpong = true;
                return Ok(());
            }
            sk.ack.pingpong = false;
            if matches!(sk.state, TcpState::Established | TcpState::CloseWait) && sk.ack.pending {
                st.tcp_send_ack(sk);
            }
            Ok(())
        });
        self.process_backlog();
        r
    }

    /// `TCP_QUICKACK` (get): not in pingpong mode.
    pub fn tcp_quickack(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(!self.tcp.get(h)?.ack.pingpong)
    }

    /// `TCP_CORK` (get).
    pub fn tcp_cork(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(self.tcp.get(h)?.cork)
    }

    /// `TCP_NODELAY` (get).
    pub fn tcp_nodelay(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(self.tcp.get(h)?.nodelay)
    }

    /// `SO_REUSEADDR` (get).
    pub fn tcp_reuseaddr(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(self.tcp.get(h)?.reuseaddr)
    }

    /// `SO_SNDBUF` (get): `sk_sndbuf`, the doubled value the setter stored.
    pub fn tcp_sndbuf(&self, h: SocketHandle) -> Result<usize, Errno> {
        Ok(self.tcp.get(h)?.sndbuf)
    }

    /// `SO_RCVBUF` (get): `sk_rcvbuf`, the doubled value the setter stored.
    pub fn tcp_rcvbuf(&self, h: SocketHandle) -> Result<usize, Errno> {
        Ok(self.tcp.get(h)?.rcvbuf)
    }

    /// `SO_KEEPALIVE` (get).
    pub fn tcp_keepalive(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(self.tcp.get(h)?.opts.keepalive)
    }

    /// `TCP_KEEPIDLE` (get): seconds, `tcp_keepalive_time` when not set.
    pub fn tcp_keepidle(&self, h: SocketHandle) -> Result<u32, Errno> {
        let sk = self.tcp.get(h)?;
        Ok(self.tcp_keepalive_time(sk).as_secs() as u32)
    }

    /// `TCP_KEEPINTVL` (get): seconds, `tcp_keepalive_intvl` when not set.
    pub fn tcp_keepintvl(&self, h: SocketHandle) -> Result<u32, Errno> {
        let sk = self.tcp.get(h)?;
        Ok(match sk.opts.keepintvl {
            0 => self.cfg.tcp_keepalive_intvl.as_secs() as u32,
            n => n,
        })
    }

    /// `TCP_KEEPCNT` (get): `tcp_keepalive_probes` when not set.
    pub fn tcp_keepcnt(&self, h: SocketHandle) -> Result<u32, Errno> {
        let sk = self.tcp.get(h)?;
        Ok(match sk.opts.keepcnt {
            0 => u32::from(self.cfg.tcp_keepalive_probes),
            n => n,
        })
    }

    /// `TCP_USER_TIMEOUT` (get): milliseconds, 0 when off.
    pub fn tcp_user_timeout(&self, h: SocketHandle) -> Result<u32, Errno> {
        Ok(self.tcp.get(h)?.opts.user_timeout)
    }

    /// `TCP_SYNCNT` (get): `tcp_syn_retries` when not set.
    pub fn tcp_syncnt(&self, h: SocketHandle) -> Result<u32, Errno> {
        let sk = self.tcp.get(h)?;
        Ok(match sk.opts.syncnt {
            0 => u32::from(self.cfg.tcp_syn_retries),
            n => u32::from(n),
        })
    }

    /// `TCP_LINGER2` (get): seconds, `tcp_fin_timeout` when not set, -1 when off.
    pub fn tcp_linger2(&self, h: SocketHandle) -> Result<i32, Errno> {
        let sk = self.tcp.get(h)?;
        Ok(match sk.opts.linger2 {
            n if n < 0 => -1,
            0 => self.cfg.tcp_fin_timeout.as_secs() as i32,
            n => n,
        })
    }

    /// `SO_LINGER` (get).
    pub fn tcp_linger(&self, h: SocketHandle) -> Result<Linger, Errno> {
        let sk = self.tcp.get(h)?;
        Ok(match sk.opts.linger {
            Some(t) => Linger {
                onoff: true,
                linger: t,
            },
            None => Linger {
                onoff: false,
                linger: 0,
            },
        })
    }
}

impl Stack {
    /// The corked-partial-segment case of `__tcp_push_pending_frames`: nothing in flight
    /// and a segment held back arms the probe timer, whose `tcp_write_wakeup` sends it.
    pub(crate) fn tcp_cork_hold(&mut self, sk: &mut TcpSock, in_flight: u32) {
        if in_flight == 0 && (sk.cork || sk.msg_more) && sk.timer(TimerKind::Rtx).is_none() {
            self.tcp_check_probe_timer(sk);
        }
    }
}

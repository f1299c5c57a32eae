//! TIME-WAIT bookkeeping: the `tcp_max_tw_buckets` bound (past it a closing connection
//! skips TIME-WAIT, TCPTimeWaitOverflow) and the reuse of a TIME-WAIT 4-tuple by a new
//! outgoing connection (`tcp_tw_reuse`, TWRecycled).
//!
//! Linux: net/ipv4/inet_timewait_sock.c (`inet_twsk_alloc` and its `sysctl_max_tw_buckets`
//! check), net/ipv4/tcp_minisocks.c (`tcp_time_wait`), net/ipv4/tcp_ipv4.c
//! (`tcp_twsk_unique`), net/ipv4/inet_hashtables.c (`__inet_check_established`,
//! `__inet_hash_connect`).
//! RFCs: RFC 9293 §3.6.1 (TIME-WAIT), RFC 7323 Appendix B.2 (why timestamps make reuse
//! safe), RFC 6191.
//!
//! Reuse: a connect on an explicitly bound port may take over a TIME-WAIT 4-tuple whenever
//! the old connection used timestamps (`tcp_twsk_unique` with no `twp`); an ephemeral port
//! only with `tcp_tw_reuse` (1 always, 2 when either address is a loopback one: the
//! default) and once `tcp_tw_reuse_delay` (1 s) has passed since the connection entered
//! TIME-WAIT. The new connection starts at `tw_snd_nxt + 65535 + 2` and inherits
//! TS.Recent, so PAWS keeps the old segments out.
//!
//! Deviation from Linux: an ephemeral port is recycled only when all its owners are
//! TIME-WAIT sockets (linnet does not share connect ports among peers yet).

use core::net::Ipv4Addr;

use linnet_wire::tcp::SeqNumber;

use crate::stack::Stack;
use crate::time::Instant;

use super::{FourTuple, TcpSock, TcpState};

/// What a new connection takes over from the TIME-WAIT socket it recycles.
#[derive(Clone, Copy, Debug)]
pub(crate) struct TwRecycle {
    /// `tw_snd_nxt + 65535 + 2` (never 0).
    pub(crate) isn: SeqNumber,
    pub(crate) ts_recent: u32,
    pub(crate) ts_recent_stamp: Option<Instant>,
}

impl Stack {
    /// `inet_twsk_alloc`'s bound: whether another TIME-WAIT socket may be made. If not,
    /// TCPTimeWaitOverflow is counted (the caller closes the connection at once).
    pub(crate) fn tcp_tw_alloc_ok(&mut self) -> bool {
        if self.tcp.tw_count >= self.cfg.tcp_max_tw_buckets {
            self.stats.tcp_ext.tcp_time_wait_overflow += 1;
            return false;
        }
        true
    }

    /// `tcp_twsk_unique`: may a new connection take over `tw`'s 4-tuple? `ephemeral`: the
    /// port is being chosen by connect (Linux passes `twp`).
    fn tcp_twsk_unique(&self, tw: &TcpSock, ephemeral: bool) -> bool {
        if tw.ts_recent_stamp.is_none() {
            return false;
        }
        if !ephemeral {
            return true;
        }
        let reuse = match self.cfg.tcp_tw_reuse {
            2 => tw.remote.ip().is_loopback() || tw.local.ip().is_loopback(),
            n => n != 0,
        };
        reuse && self.now > tw.tw_entry_stamp + self.cfg.tcp_tw_reuse_delay
    }

    /// `__inet_check_established` finding a TIME-WAIT socket on the 4-tuple `t`: if it may
    /// be reused, it goes (TWRecycled) and what the new connection inherits is returned.
    pub(crate) fn tcp_tw_recycle(&mut self, t: FourTuple, ephemeral: bool) -> Option<TwRecycle> {
        let idx = *self.tcp.ehash.get(&t)?;
        let tw = self.tcp.slot_sock(idx)?;
        if tw.state != TcpState::TimeWait {
            return None;
        }
        if ephemeral {
            // Only a port that nothing but TIME-WAIT sockets hold (see the module doc).
            let owners = self.tcp.bhash.get(&t.lport)?;
            let all_tw = owners.iter().all(|&i| {
                self.tcp
                    .slot_sock(i)
                    .is_some_and(|s| s.state == TcpState::TimeWait)
            });
            if !all_tw {
                return None;
            }
        }
        let tw = self.tcp.slot_sock(idx)?;
        if !self.tcp_twsk_unique(tw, ephemeral) {
            return None;
        }
        let mut tw = self.tcp.take(idx)?;
        let mut isn = tw.snd_nxt + 65_535 + 2;
        if isn.0 == 0 {
            isn = SeqNumber(1);
        }
        let r = TwRecycle {
            isn,
            ts_recent: tw.ts_recent,
            ts_recent_stamp: tw.ts_recent_stamp,
        };
        self.tcp_set_state(&mut tw, TcpState::Close);
        tw.dead = true;
        self.tcp_put(tw);
        self.stats.tcp_ext.tw_recycled += 1;
        Some(r)
    }

    /// An ephemeral port whose 4-tuple toward `remote` is held by a TIME-WAIT socket that
    /// may be recycled (tried after the free ports of `__inet_hash_connect`'s walk).
    pub(crate) fn tcp_tw_recycle_port(
        &mut self,
        laddr: Ipv4Addr,
        port: u16,
        remote: core::net::SocketAddrV4,
    ) -> Option<TwRecycle> {
        let t = FourTuple {
            laddr,
            lport: port,
            raddr: *remote.ip(),
            rport: remote.port(),
        };
        if !self.tcp.ehash.contains_key(&t) {
            return None;
        }
        self.tcp_tw_recycle(t, true)
    }
}

impl TcpSock {
    /// The ISN and TS.Recent a recycled TIME-WAIT 4-tuple hands over (`tcp_twsk_unique`
    /// sets `write_seq`, `ts_recent`, `ts_recent_stamp` before `tcp_connect_init`).
    pub(crate) fn tcp_take_tw(&mut self, r: &TwRecycle) {
        let iss = r.isn;
        self.iss = iss;
        self.snd_una = iss;
        self.snd_nxt = iss;
        self.snd_sml = iss;
        self.high_seq = iss;
        self.sbuf_seq = iss + 1;
        self.ts_recent = r.ts_recent;
        self.ts_recent_stamp = r.ts_recent_stamp;
    }
}

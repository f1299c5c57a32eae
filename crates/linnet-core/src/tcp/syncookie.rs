//! SYN cookies: a listener whose SYN queue is full answers a SYN with a SYN-ACK whose ISN
//! encodes a keyed hash of the connection, a coarse clock and the peer's MSS, keeps no
//! state, and builds the connection when the final ACK brings the cookie back.
//!
//! Linux: net/ipv4/syncookies.c (`secure_tcp_syn_cookie`, `check_tcp_syn_cookie`,
//! `__cookie_v4_init_sequence`, `__cookie_v4_check`, `cookie_v4_check`, `msstab`),
//! include/net/tcp.h (`tcp_cookie_time`, `tcp_synq_overflow`,
//! `tcp_synq_no_recent_overflow`), net/ipv4/syncookies.c (`cookie_init_timestamp`,
//! `cookie_timestamp_decode`, `cookie_ecn_ok`), net/ipv4/tcp_input.c (`tcp_syn_flood_action`,
//! `tcp_conn_request`). `net.ipv4.tcp_syncookies`: 0 never, 1 when the SYN queue is full
//! (the default), 2 always.
//!
//! The cookie is Linux's layout: `H0(addrs, ports) + peer ISN + (count << 24) +
//! ((H1(addrs, ports, count) + mss index) mod 2^24)`, with `count` the clock in periods of
//! 60 s and the MSS index into `msstab`. A cookie is valid for the current and the previous
//! period. The hash is SipHash-2-4 under two secrets derived from the stack's seeded keys.
//!
//! When the SYN carries timestamps (and `tcp_timestamps` is on), the cookie SYN-ACK offers
//! the options as usual and the low 6 bits of its TSval carry the peer's window scale (15
//! for none), SACK-permitted and ECN (`cookie_init_timestamp`, `TSBITS`); the ACK echoes
//! them in TSecr and `cookie_timestamp_decode` restores them, so the connection negotiates
//! window scaling, SACK and timestamps. A SYN without timestamps gets a SYN-ACK with the
//! MSS only.

use linnet_wire::tcp::SeqNumber;

use super::input::Seg;
use super::isn::IsnKeys;
use super::TcpSock;
use crate::stack::Stack;
use crate::time::{Duration, Instant};

/// `msstab`: the MSS values a cookie can carry, by index.
pub(crate) const MSSTAB: [u16; 4] = [536, 1300, 1440, 1460];

/// `COOKIEBITS`: the low bits holding the hashed data; the top 8 carry the counter.
const COOKIEBITS: u32 = 24;
const COOKIEMASK: u32 = (1 << COOKIEBITS) - 1;
/// `MAX_SYNCOOKIE_AGE`: a cookie is good for the current and the previous period.
const MAX_SYNCOOKIE_AGE: u32 = 2;
/// `TCP_SYNCOOKIE_PERIOD`: 60 s.
const PERIOD_NANOS: u64 = 60 * 1_000_000_000;
/// `TCP_SYNCOOKIE_VALID`: a listener checks cookies for 2 minutes after it last sent one.
pub(crate) const SYNCOOKIE_VALID: Duration = Duration::from_secs(120);

/// `TSBITS`: the low TSval bits that carry the options.
const TSBITS: u32 = 6;
/// `TS_OPT_WSCALE_MASK`: the window-scale bits; all ones means no window scaling.
const TS_OPT_WSCALE_MASK: u32 = 0xf;
/// `TS_OPT_SACK`.
const TS_OPT_SACK: u32 = 1 << 4;
/// `TS_OPT_ECN`.
const TS_OPT_ECN: u32 = 1 << 5;

/// The options a cookie ACK restores (`tcp_options_received` after
/// `cookie_timestamp_decode`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct CookieOpts {
    /// The MSS from `msstab`.
    pub(crate) mss: u16,
    /// The peer's window scale, if window scaling was negotiated.
    pub(crate) wscale: Option<u8>,
    /// SACK-permitted was negotiated.
    pub(crate) sack: bool,
    /// ECN was negotiated (`cookie_ecn_ok`).
    pub(crate) ecn: bool,
    /// The ACK's TSval (the new TS.Recent) when timestamps are in use.
    pub(crate) tsval: Option<u32>,
}

/// `cookie_init_timestamp`: the TSval clock reading `ts_now` (before the per-connection
/// offset) with its low `TSBITS` replaced by the options, never later than `ts_now`.
pub(crate) fn cookie_init_timestamp(ts_now: u32, wscale: Option<u8>, sack: bool, ecn: bool) -> u32 {
    let mut options = wscale.map_or(TS_OPT_WSCALE_MASK, |w| u32::from(w) & TS_OPT_WSCALE_MASK);
    if sack {
        options |= TS_OPT_SACK;
    }
    if ecn {
        options |= TS_OPT_ECN;
    }
    let mut ts = (ts_now >> TSBITS << TSBITS) | options;
    if ts > ts_now {
        ts = ts.wrapping_sub(1 << TSBITS);
    }
    ts
}

/// `cookie_timestamp_decode`: the options echoed in the ACK's TSecr (`tsecr`, our offset
/// already taken off). None when the echo asks for something the sysctls forbid (the
/// cookie is then refused).
pub(crate) fn cookie_timestamp_decode(
    cfg: &crate::config::StackConfig,
    tsecr: u32,
) -> Option<(Option<u8>, bool, bool)> {
    if !cfg.tcp_timestamps {
        return None;
    }
    let sack = tsecr & TS_OPT_SACK != 0;
    if sack && !cfg.tcp_sack {
        return None;
    }
    let ecn = tsecr & TS_OPT_ECN != 0;
    let ws = tsecr & TS_OPT_WSCALE_MASK;
    if ws == TS_OPT_WSCALE_MASK {
        return Some((None, sack, ecn));
    }
    if !cfg.tcp_window_scaling {
        return None;
    }
    Some((Some(ws as u8), sack, ecn))
}

/// `tcp_cookie_time`: the coarse clock.
pub(crate) fn cookie_time(now: Instant) -> u32 {
    (now.as_nanos() / PERIOD_NANOS) as u32
}

/// The largest `msstab` entry not above `mss` (index 0 if none is).
pub(crate) fn mss_index(mss: u16) -> u32 {
    (1..MSSTAB.len())
        .rev()
        .find(|&i| mss >= MSSTAB[i])
        .unwrap_or(0) as u32
}

/// `secure_tcp_syn_cookie`: `remote` sent the SYN with sequence `sseq` to `local`.
pub(crate) fn make_cookie(
    keys: &IsnKeys,
    remote: core::net::SocketAddrV4,
    local: core::net::SocketAddrV4,
    sseq: u32,
    count: u32,
    data: u32,
) -> u32 {
    keys.cookie_hash(remote, local, 0, 0)
        .wrapping_add(sseq)
        .wrapping_add(count << COOKIEBITS)
        .wrapping_add(keys.cookie_hash(remote, local, count, 1).wrapping_add(data) & COOKIEMASK)
}

/// `check_tcp_syn_cookie` plus the `msstab` bound of `__cookie_v4_check`: the MSS index a
/// cookie carries, if it is genuine and at most one period old.
pub(crate) fn check_cookie(
    keys: &IsnKeys,
    remote: core::net::SocketAddrV4,
    local: core::net::SocketAddrV4,
    sseq: u32,
    cookie: u32,
    count: u32,
) -> Option<usize> {
    let c = cookie.wrapping_sub(keys.cookie_hash(remote, local, 0, 0).wrapping_add(sseq));
    let diff = count.wrapping_sub(c >> COOKIEBITS) & (u32::MAX >> COOKIEBITS);
    if diff >= MAX_SYNCOOKIE_AGE {
        return None;
    }
    let idx =
        c.wrapping_sub(keys.cookie_hash(remote, local, count.wrapping_sub(diff), 1)) & COOKIEMASK;
    ((idx as usize) < MSSTAB.len()).then_some(idx as usize)
}

fn addrs(seg: &Seg<'_>) -> (core::net::SocketAddrV4, core::net::SocketAddrV4) {
    (
        core::net::SocketAddrV4::new(seg.saddr, seg.sport),
        core::net::SocketAddrV4::new(seg.daddr, seg.dport),
    )
}

impl Stack {
    /// `tcp_syn_flood_action`: the SYN queue is full (or `tcp_syncookies = 2`); answer with
    /// a cookie (TCPReqQFullDoCookies) or drop the SYN (TCPReqQFullDrop).
    pub(crate) fn tcp_syn_flood_action(&mut self) -> bool {
        if self.cfg.tcp_syncookies != 0 {
            self.stats.tcp_ext.tcp_req_q_full_do_cookies += 1;
            true
        } else {
            self.stats.tcp_ext.tcp_req_q_full_drop += 1;
            false
        }
    }

    /// `cookie_v4_init_sequence`: the ISN of a cookie SYN-ACK and the MSS it encodes
    /// (`msstab[index]`, index from the peer's MSS, 536 if it sent none). Marks the listener
    /// as having overflowed (`tcp_synq_overflow`) and counts SyncookiesSent.
    pub(crate) fn cookie_v4_init_sequence(
        &mut self,
        l: &mut TcpSock,
        seg: &Seg<'_>,
    ) -> (SeqNumber, u16) {
        let now = self.now;
        let idx = mss_index(seg.mss.unwrap_or(MSSTAB[0]));
        let (remote, local) = addrs(seg);
        let cookie = make_cookie(
            &self.tcp.keys,
            remote,
            local,
            seg.seq.0,
            cookie_time(now),
            idx,
        );
        if let Some(q) = l.listen.as_deref_mut() {
            // tcp_synq_overflow: the stamp moves at most once a second.
            let stale = q
                .last_overflow
                .is_none_or(|t| now.saturating_since(t) >= Duration::from_secs(1));
            if stale {
                q.last_overflow = Some(now);
            }
        }
        self.stats.tcp_ext.syncookies_sent += 1;
        (SeqNumber(cookie), MSSTAB[idx as usize])
    }

    /// `cookie_v4_check`: an ACK (no SYN, no RST) reached listener `lidx`. If cookies are on
    /// and the listener sent one in the last 2 minutes (`tcp_synq_no_recent_overflow`),
    /// check `ack - 1` as a cookie for `seq - 1`: the MSS it carries (SyncookiesRecv) or
    /// nothing (SyncookiesFailed; the caller answers the stray ACK with a RST). With
    /// timestamps, the other options come back from TSecr (`cookie_timestamp_decode`).
    pub(crate) fn cookie_v4_check(&mut self, lidx: u32, seg: &Seg<'_>) -> Option<CookieOpts> {
        let ack = seg.ack?;
        if self.cfg.tcp_syncookies == 0 || seg.flags.syn || seg.flags.rst {
            return None;
        }
        let now = self.now;
        let last = self.tcp.sock_at(lidx)?.listen.as_deref()?.last_overflow?;
        if now.saturating_since(last) > SYNCOOKIE_VALID {
            return None;
        }
        let (remote, local) = addrs(seg);
        match check_cookie(
            &self.tcp.keys,
            remote,
            local,
            (seg.seq - 1).0,
            (ack - 1).0,
            cookie_time(now),
        ) {
            Some(idx) => {
                self.stats.tcp_ext.syncookies_recv += 1;
                let mut opts = CookieOpts {
                    mss: MSSTAB[idx],
                    wscale: None,
                    sack: false,
                    ecn: false,
                    tsval: None,
                };
                if let Some((tsval, tsecr)) = seg.ts {
                    let off = self.tcp.keys.ts_offset(local, remote);
                    let (wscale, sack, ecn) =
                        cookie_timestamp_decode(&self.cfg, tsecr.wrapping_sub(off))?;
                    opts.wscale = wscale;
                    opts.sack = sack;
                    opts.ecn = ecn;
                    opts.tsval = Some(tsval);
                }
                Some(opts)
            }
            None => {
                self.stats.tcp_ext.syncookies_failed += 1;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::net::{Ipv4Addr, SocketAddrV4};

    #[test]
    fn cookie_round_trips_within_two_periods_only() {
        let keys = IsnKeys::new((1, 2), (3, 4));
        let r = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40_000);
        let l = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 1), 80);
        for idx in 0..4 {
            let c = make_cookie(&keys, r, l, 1234, 7, idx);
            assert_eq!(check_cookie(&keys, r, l, 1234, c, 7), Some(idx as usize));
            assert_eq!(check_cookie(&keys, r, l, 1234, c, 8), Some(idx as usize));
            assert_eq!(check_cookie(&keys, r, l, 1234, c, 9), None);
            // As in Linux the peer ISN and the MSS index are added outside the hash, so
            // only errors beyond the index range are caught; these are.
            assert_eq!(check_cookie(&keys, r, l, 1234 + 1000, c, 7), None);
            assert_eq!(
                check_cookie(&keys, r, l, 1234, c.wrapping_add(0x0012_3456), 7),
                None
            );
            let other = SocketAddrV4::new(Ipv4Addr::new(10, 0, 0, 2), 40_001);
            assert_eq!(check_cookie(&keys, other, l, 1234, c, 7), None);
        }
    }

    /// `cookie_init_timestamp` never runs ahead of the clock and round-trips through
    /// `cookie_timestamp_decode`; sysctls that forbid an echoed option refuse the cookie.
    #[test]
    fn cookie_timestamp_round_trips_options() {
        let cfg = crate::config::StackConfig::default();
        for now in [0u32, 5, 63, 64, 1000, 123_456, u32::MAX] {
            for ws in [None, Some(0), Some(7), Some(14)] {
                for sack in [false, true] {
                    let ts = cookie_init_timestamp(now, ws, sack, true);
                    assert!(now.wrapping_sub(ts) < 64, "{now} {ts}");
                    assert_eq!(cookie_timestamp_decode(&cfg, ts), Some((ws, sack, true)));
                }
            }
        }
        let no_sack = crate::config::StackConfig {
            tcp_sack: false,
            ..crate::config::StackConfig::default()
        };
        assert_eq!(cookie_timestamp_decode(&no_sack, 16 | 15), None);
        let no_ws = crate::config::StackConfig {
            tcp_window_scaling: false,
            ..crate::config::StackConfig::default()
        };
        assert_eq!(cookie_timestamp_decode(&no_ws, 7), None);
        assert_eq!(
            cookie_timestamp_decode(&no_ws, 15),
            Some((None, false, false))
        );
    }

    #[test]
    fn mss_index_picks_largest_entry_not_above() {
        assert_eq!(mss_index(100), 0);
        assert_eq!(mss_index(1299), 0);
        assert_eq!(mss_index(1300), 1);
        assert_eq!(mss_index(1460), 3);
        assert_eq!(mss_index(9000), 3);
    }
}

//! Socket options: `setsockopt` / `getsockopt` at `SOL_SOCKET`, `SOL_IP`, `SOL_TCP` and
//! `SOL_UDP` with Linux's numbers, length rules and errors, routed to the protocol code's
//! setters and read back from the protocol socks.
//!
//! Linux: net/core/sock.c (`sk_setsockopt`, `sk_getsockopt`, `sock_set_timeout`,
//! `sock_get_timeout`, `__sock_set_rcvbuf`), net/ipv4/ip_sockglue.c (`do_ip_setsockopt`,
//! `do_ip_getsockopt`, `__ip_sock_set_tos`), net/ipv4/tcp.c (`do_tcp_setsockopt`,
//! `do_tcp_getsockopt`), net/ipv4/udp.c (`udp_lib_setsockopt`, `udp_lib_getsockopt`),
//! net/ipv4/route.c (`ip_tos2prio`), include/uapi/asm-generic/socket.h,
//! include/uapi/linux/in.h, include/uapi/linux/tcp.h, include/uapi/linux/udp.h (numbers).
//! RFCs: RFC 1349 (TOS to priority), RFC 1122 §4.2.3.6 (keepalive knobs).
//!
//! Values are native-endian C `int`s (`struct linger` and `struct timeval` for `SO_LINGER`
//! and the timeouts). A set with fewer than 4 bytes is EINVAL (`SOL_IP` takes 1 byte);
//! a get with a short buffer is truncated, never an error, as Linux does. An unknown option
//! is ENOPROTOOPT; so is a level the protocol does not have on set, while a get at a wrong
//! level answers what `do_ip_getsockopt` answers (EOPNOTSUPP).

use super::addr::*;
use super::SocketId;
use crate::errno::Errno;
use crate::stack::Stack;
use crate::time::Duration;

/// `SOL_SOCKET`.
pub const SOL_SOCKET: i32 = 1;
/// `SOL_IP` (= `IPPROTO_IP`).
pub const SOL_IP: i32 = 0;
/// `SOL_TCP` (= `IPPROTO_TCP`).
pub const SOL_TCP: i32 = 6;
/// `SOL_UDP` (= `IPPROTO_UDP`).
pub const SOL_UDP: i32 = 17;

/// `SO_DEBUG`.
pub const SO_DEBUG: i32 = 1;
/// `SO_REUSEADDR`.
pub const SO_REUSEADDR: i32 = 2;
/// `SO_TYPE`.
pub const SO_TYPE: i32 = 3;
/// `SO_ERROR`.
pub const SO_ERROR: i32 = 4;
/// `SO_DONTROUTE`.
pub const SO_DONTROUTE: i32 = 5;
/// `SO_BROADCAST`.
pub const SO_BROADCAST: i32 = 6;
/// `SO_SNDBUF`.
pub const SO_SNDBUF: i32 = 7;
/// `SO_RCVBUF`.
pub const SO_RCVBUF: i32 = 8;
/// `SO_KEEPALIVE`.
pub const SO_KEEPALIVE: i32 = 9;
/// `SO_OOBINLINE`.
pub const SO_OOBINLINE: i32 = 10;
/// `SO_NO_CHECK`.
pub const SO_NO_CHECK: i32 = 11;
/// `SO_PRIORITY`.
pub const SO_PRIORITY: i32 = 12;
/// `SO_LINGER`.
pub const SO_LINGER: i32 = 13;
/// `SO_BSDCOMPAT`.
pub const SO_BSDCOMPAT: i32 = 14;
/// `SO_REUSEPORT`.
pub const SO_REUSEPORT: i32 = 15;
/// `SO_RCVLOWAT`.
pub const SO_RCVLOWAT: i32 = 18;
/// `SO_SNDLOWAT` (get only: always 1).
pub const SO_SNDLOWAT: i32 = 19;
/// `SO_RCVTIMEO` (`SO_RCVTIMEO_OLD` on 64-bit: a 16-byte `struct timeval`).
pub const SO_RCVTIMEO: i32 = 20;
/// `SO_SNDTIMEO` (`SO_SNDTIMEO_OLD`).
pub const SO_SNDTIMEO: i32 = 21;
/// `SO_BINDTODEVICE`.
pub const SO_BINDTODEVICE: i32 = 25;
/// `SO_ACCEPTCONN`.
pub const SO_ACCEPTCONN: i32 = 30;
/// `SO_SNDBUFFORCE`.
pub const SO_SNDBUFFORCE: i32 = 32;
/// `SO_RCVBUFFORCE`.
pub const SO_RCVBUFFORCE: i32 = 33;
/// `SO_MARK`.
pub const SO_MARK: i32 = 36;
/// `SO_PROTOCOL`.
pub const SO_PROTOCOL: i32 = 38;
/// `SO_DOMAIN`.
pub const SO_DOMAIN: i32 = 39;
/// `SO_BINDTOIFINDEX`.
pub const SO_BINDTOIFINDEX: i32 = 62;
/// `SO_RCVTIMEO_NEW`.
pub const SO_RCVTIMEO_NEW: i32 = 66;
/// `SO_SNDTIMEO_NEW`.
pub const SO_SNDTIMEO_NEW: i32 = 67;

/// `IP_TOS`.
pub const IP_TOS: i32 = 1;
/// `IP_TTL`.
pub const IP_TTL: i32 = 2;
/// `IP_TRANSPARENT`: bind and send from a non-local address (TPROXY).
pub const IP_TRANSPARENT: i32 = 19;
/// `IP_MINTTL`: drop TCP segments whose TTL is below this (RFC 5082, GTSM).
pub const IP_MINTTL: i32 = 21;
/// `IP_HDRINCL`.
pub const IP_HDRINCL: i32 = 3;
pub use super::cmsg::{IP_PKTINFO, IP_RECVERR, IP_RECVORIGDSTADDR, IP_RECVTOS, IP_RECVTTL};

/// `TCP_NODELAY`.
pub const TCP_NODELAY: i32 = 1;
/// `TCP_MAXSEG`.
pub const TCP_MAXSEG: i32 = 2;
/// `TCP_CORK`.
pub const TCP_CORK: i32 = 3;
/// `TCP_KEEPIDLE`.
pub const TCP_KEEPIDLE: i32 = 4;
/// `TCP_KEEPINTVL`.
pub const TCP_KEEPINTVL: i32 = 5;
/// `TCP_KEEPCNT`.
pub const TCP_KEEPCNT: i32 = 6;
/// `TCP_SYNCNT`.
pub const TCP_SYNCNT: i32 = 7;
/// `TCP_LINGER2`.
pub const TCP_LINGER2: i32 = 8;
/// `TCP_DEFER_ACCEPT`.
pub const TCP_DEFER_ACCEPT: i32 = 9;
/// `TCP_WINDOW_CLAMP`.
pub const TCP_WINDOW_CLAMP: i32 = 10;
/// `TCP_INFO`.
pub const TCP_INFO: i32 = 11;
/// `TCP_QUICKACK`.
pub const TCP_QUICKACK: i32 = 12;
/// `TCP_CONGESTION`.
pub const TCP_CONGESTION: i32 = 13;
/// `TCP_USER_TIMEOUT`.
pub const TCP_USER_TIMEOUT: i32 = 18;

/// `UDP_CORK`.
pub const UDP_CORK: i32 = 1;

/// `IFNAMSIZ`: a device name with its NUL.
const IFNAMSIZ: usize = 16;
/// `TCP_CA_NAME_MAX`.
const TCP_CA_NAME_MAX: usize = 16;
/// `SOCK_MIN_SNDBUF`.
pub(super) const SOCK_MIN_SNDBUF: usize = 4608;
/// `SOCK_MIN_RCVBUF`.
pub(super) const SOCK_MIN_RCVBUF: usize = 2304;
/// `sizeof(struct timeval)` on 64-bit.
const TIMEVAL_LEN: usize = 16;
/// `sizeof(struct linger)`.
const LINGER_LEN: usize = 8;

/// `ip_tos2prio`: the `SO_PRIORITY` an `IP_TOS` value implies (`rt_tos2priority`).
const IP_TOS2PRIO: [u8; 16] = [0, 0, 0, 0, 2, 2, 2, 2, 6, 6, 6, 6, 4, 4, 4, 4];

/// `rt_tos2priority(tos)`.
pub(super) fn ip_tos2prio(tos: u8) -> u8 {
    IP_TOS2PRIO[usize::from((tos & 0x1e) >> 1)]
}

pub(super) fn int_of(v: &[u8]) -> Result<i32, Errno> {
    let b: [u8; 4] = v
        .get(..4)
        .ok_or(Errno::EINVAL)?
        .try_into()
        .map_err(|_| Errno::EINVAL)?;
    Ok(i32::from_ne_bytes(b))
}

/// Copies `min(out.len(), bytes.len())` bytes: getsockopt's `len = min(len, lv)`.
pub(super) fn put(out: &mut [u8], bytes: &[u8]) -> usize {
    let n = out.len().min(bytes.len());
    out[..n].copy_from_slice(&bytes[..n]);
    n
}

pub(super) fn put_int(out: &mut [u8], v: i32) -> usize {
    put(out, &v.to_ne_bytes())
}

/// A duration as `struct timeval` the way `sock_get_timeout` reports it (none: 0, 0).
fn put_timeval(out: &mut [u8], t: Option<Duration>) -> usize {
    let (sec, usec) = match t {
        None => (0i64, 0i64),
        Some(d) => (d.as_secs() as i64, i64::from(d.subsec_micros())),
    };
    let mut b = [0u8; TIMEVAL_LEN];
    b[..8].copy_from_slice(&sec.to_ne_bytes());
    b[8..].copy_from_slice(&usec.to_ne_bytes());
    put(out, &b)
}

/// `sock_set_timeout`: EINVAL below 16 bytes, EDOM for `tv_usec` outside [0, 1e6); a
/// negative `tv_sec` is a zero timeout, 0/0 waits forever.
///
/// Linux keeps jiffies; this keeps milliseconds, rounding microseconds up as
/// `DIV_ROUND_UP(usec, USEC_PER_SEC / HZ)` does with HZ=1000.
fn timeval_of(v: &[u8]) -> Result<Option<Duration>, Errno> {
    if v.len() < TIMEVAL_LEN {
        return Err(Errno::EINVAL);
    }
    let sec = i64::from_ne_bytes(v[..8].try_into().map_err(|_| Errno::EINVAL)?);
    let usec = i64::from_ne_bytes(v[8..16].try_into().map_err(|_| Errno::EINVAL)?);
    if !(0..1_000_000).contains(&usec) {
        return Err(Errno::EDOM);
    }
    if sec < 0 {
        return Ok(Some(Duration::ZERO));
    }
    if sec == 0 && usec == 0 {
        return Ok(None);
    }
    let ms = (usec as u64).div_ceil(1000);
    Ok(Some(
        Duration::from_secs(sec as u64) + Duration::from_millis(ms),
    ))
}

/// `__sys_setsockopt` → `sock_setsockopt` for `SOL_SOCKET`, else
/// `sock_common_setsockopt` → the protocol's `setsockopt`.
pub(crate) fn sock_common_setsockopt(
    st: &mut Stack,
    id: SocketId,
    level: i32,
    name: i32,
    v: &[u8],
) -> Result<(), Errno> {
    let proto = st.socket(id)?.protocol;
    match level {
        SOL_SOCKET => sk_setsockopt(st, id, name, v),
        SOL_TCP if proto == IPPROTO_TCP => do_tcp_setsockopt(st, id, name, v),
        SOL_UDP if proto == IPPROTO_UDP => udp_lib_setsockopt(st, id, name, v),
        _ => ip_setsockopt(st, id, level, name, v),
    }
}

/// `__sys_getsockopt` → `sock_getsockopt` for `SOL_SOCKET`, else the protocol's.
pub(crate) fn sock_common_getsockopt(
    st: &mut Stack,
    id: SocketId,
    level: i32,
    name: i32,
    out: &mut [u8],
) -> Result<usize, Errno> {
    let proto = st.socket(id)?.protocol;
    match level {
        SOL_SOCKET => sk_getsockopt(st, id, name, out),
        SOL_TCP if proto == IPPROTO_TCP => do_tcp_getsockopt(st, id, name, out),
        SOL_UDP if proto == IPPROTO_UDP => udp_lib_getsockopt(st, id, name, out),
        _ => do_ip_getsockopt(st, id, level, name, out),
    }
}

/// `sk_setsockopt`.
pub(super) fn sk_setsockopt(
    st: &mut Stack,
    id: SocketId,
    name: i32,
    v: &[u8],
) -> Result<(), Errno> {
    if name == SO_BINDTODEVICE {
        return sock_setbindtodevice(st, id, v);
    }
    let val = int_of(v)?;
    let on = val != 0;
    let s = st.socket(id)?;
    let (sk, tcp, privileged) = (s.sk, s.protocol == IPPROTO_TCP, s.privileged);
    let ping = s.protocol == IPPROTO_ICMP;
    match name {
        SO_DEBUG => {
            if on && !privileged {
                return Err(Errno::EACCES);
            }
            st.sock_mut(id)?.o.debug = on;
        }
        SO_REUSEADDR => {
            st.sock_mut(id)?.o.reuse = on;
            if tcp {
                st.tcp_set_reuseaddr(sk, on)?;
            } else if ping {
                st.sockets.ping.get_mut(sk)?.reuse = on;
            } else {
                st.udp_set_reuseaddr(sk, on)?;
            }
        }
        SO_REUSEPORT => {
            st.sock_mut(id)?.o.reuseport = on;
            if tcp {
                st.tcp_set_reuseport(sk, on)?;
            } else if !ping {
                st.udp_set_reuseport(sk, on)?;
            }
        }
        SO_BINDTOIFINDEX => sock_bindtoindex(st, id, val)?,
        SO_TYPE | SO_PROTOCOL | SO_DOMAIN | SO_ERROR => return Err(Errno::ENOPROTOOPT),
        SO_DONTROUTE => st.sock_mut(id)?.o.dontroute = on,
        SO_BROADCAST => {
            if tcp || ping {
                st.sock_mut(id)?.o.broadcast = on;
            } else {
                st.udp_set_broadcast(sk, on)?;
            }
        }
        SO_SNDBUF | SO_SNDBUFFORCE => {
            let force = name == SO_SNDBUFFORCE;
            if force && !privileged {
                return Err(Errno::EPERM);
            }
            // min_t(u32, val, wmem_max); FORCE: negative is 0, no cap.
            let bytes = if force {
                val.max(0) as usize
            } else {
                (val as u32 as usize).min(st.cfg.wmem_max)
            };
            let bytes = bytes.min(i32::MAX as usize / 2);
            if tcp {
                // The TCP setter caps at wmem_max; lift the cap for the FORCE form.
                let saved = st.cfg.wmem_max;
                st.cfg.wmem_max = usize::MAX / 4;
                let r = st.tcp_set_sndbuf(sk, bytes);
                st.cfg.wmem_max = saved;
                r?;
            } else {
                st.sock_mut(id)?.o.sndbuf = (bytes * 2).max(SOCK_MIN_SNDBUF);
            }
        }
        SO_RCVBUF | SO_RCVBUFFORCE => {
            let force = name == SO_RCVBUFFORCE;
            if force && !privileged {
                return Err(Errno::EPERM);
            }
            let bytes = if force {
                val.max(0) as usize
            } else {
                (val as u32 as usize).min(st.cfg.rmem_max)
            };
            let bytes = bytes.min(i32::MAX as usize / 2);
            let saved = st.cfg.rmem_max;
            st.cfg.rmem_max = usize::MAX / 4;
            let r = if tcp {
                st.tcp_set_rcvbuf(sk, bytes)
            } else if ping {
                st.sockets
                    .ping
                    .get_mut(sk)
                    .map(|p| p.rcvbuf = (bytes * 2).max(SOCK_MIN_RCVBUF))
            } else {
                st.udp_set_rcvbuf(sk, bytes)
            };
            st.cfg.rmem_max = saved;
            r?;
        }
        SO_KEEPALIVE => {
            if tcp {
                st.tcp_set_keepalive(sk, on)?;
            } else {
                st.sock_mut(id)?.o.keepalive = on;
            }
        }
        SO_OOBINLINE => {
            st.sock_mut(id)?.o.oobinline = on;
            if tcp {
                st.tcp_set_oobinline(sk, on)?;
            }
        }
        SO_NO_CHECK => st.sock_mut(id)?.o.no_check = on,
        SO_PRIORITY => {
            if !(0..=6).contains(&val) && !privileged {
                return Err(Errno::EPERM);
            }
            st.sock_mut(id)?.o.priority = val as u32;
            sync_mark_priority(st, id)?;
        }
        SO_LINGER => {
            if v.len() < LINGER_LEN {
                return Err(Errno::EINVAL);
            }
            let l_linger = int_of(&v[4..])?;
            let linger = on.then_some(l_linger as u32);
            if tcp {
                st.tcp_set_linger(sk, linger)?;
            } else {
                st.sock_mut(id)?.o.linger = linger;
            }
        }
        SO_BSDCOMPAT => {}
        SO_RCVTIMEO | SO_RCVTIMEO_NEW => st.sock_mut(id)?.o.rcvtimeo = timeval_of(v)?,
        SO_SNDTIMEO | SO_SNDTIMEO_NEW => st.sock_mut(id)?.o.sndtimeo = timeval_of(v)?,
        SO_RCVLOWAT => {
            let mut val = if val < 0 { i32::MAX } else { val };
            if tcp {
                // tcp_set_rcvlowat: at most half the receive buffer (tcp_rmem[2] unless
                // SO_RCVBUF locked it).
                let tp = st.tcp_sock_ref(sk)?;
                let cap = if tp.rcvbuf_locked {
                    tp.rcvbuf
                } else {
                    st.cfg.tcp_rmem.2
                } >> 1;
                val = val.min(cap.min(i32::MAX as usize) as i32);
            }
            st.sock_mut(id)?.o.rcvlowat = val.max(1);
        }
        SO_MARK => {
            if !privileged {
                return Err(Errno::EPERM);
            }
            st.sock_mut(id)?.o.mark = val as u32;
            sync_mark_priority(st, id)?;
        }
        _ => return Err(Errno::ENOPROTOOPT),
    }
    Ok(())
}

/// `sk_getsockopt`.
pub(super) fn sk_getsockopt(
    st: &mut Stack,
    id: SocketId,
    name: i32,
    out: &mut [u8],
) -> Result<usize, Errno> {
    let s = st.socket(id)?;
    let (sk, tcp, o) = (s.sk, s.protocol == IPPROTO_TCP, s.o);
    let ping = s.protocol == IPPROTO_ICMP;
    let (ty, protocol) = (s.ty, s.protocol);
    let val: i32 = match name {
        SO_DEBUG => o.debug.into(),
        SO_DONTROUTE => o.dontroute.into(),
        SO_BROADCAST => {
            if tcp || ping {
                o.broadcast.into()
            } else {
                st.udp_broadcast(sk)?.into()
            }
        }
        SO_SNDBUF => {
            if tcp {
                st.tcp_sock_ref(sk)?.sndbuf as i32
            } else {
                o.sndbuf as i32
            }
        }
        SO_RCVBUF => {
            if tcp {
                st.tcp_sock_ref(sk)?.rcvbuf as i32
            } else if ping {
                st.sockets.ping.get(sk)?.rcvbuf as i32
            } else {
                st.udp_rcvbuf(sk)? as i32
            }
        }
        SO_REUSEADDR => {
            if tcp {
                st.tcp_sock_ref(sk)?.reuseaddr.into()
            } else {
                o.reuse.into()
            }
        }
        SO_REUSEPORT => o.reuseport.into(),
        SO_KEEPALIVE => {
            if tcp {
                st.tcp_sock_ref(sk)?.opts.keepalive.into()
            } else {
                o.keepalive.into()
            }
        }
        SO_TYPE => ty,
        SO_PROTOCOL => protocol,
        SO_DOMAIN => AF_INET,
        SO_ERROR => {
            let e = if tcp {
                st.tcp_take_error(sk)?
            } else if ping {
                st.sockets.ping.get_mut(sk)?.err.take()
            } else {
                st.udp_take_error(sk)?
            };
            e.map_or(0, Errno::code)
        }
        SO_OOBINLINE => {
            if tcp {
                st.tcp_oobinline(sk)?.into()
            } else {
                o.oobinline.into()
            }
        }
        SO_NO_CHECK => o.no_check.into(),
        SO_PRIORITY => o.priority as i32,
        SO_LINGER => {
            let l = if tcp {
                st.tcp_sock_ref(sk)?.opts.linger
            } else {
                o.linger
            };
            let mut b = [0u8; LINGER_LEN];
            b[..4].copy_from_slice(&i32::from(l.is_some()).to_ne_bytes());
            b[4..].copy_from_slice(&(l.unwrap_or(0) as i32).to_ne_bytes());
            return Ok(put(out, &b));
        }
        SO_BSDCOMPAT => 0,
        SO_RCVTIMEO | SO_RCVTIMEO_NEW => return Ok(put_timeval(out, o.rcvtimeo)),
        SO_SNDTIMEO | SO_SNDTIMEO_NEW => return Ok(put_timeval(out, o.sndtimeo)),
        SO_RCVLOWAT => o.rcvlowat,
        SO_SNDLOWAT => 1,
        SO_ACCEPTCONN => (tcp && st.tcp_state(sk)? == crate::tcp::TcpState::Listen).into(),
        SO_MARK => o.mark as i32,
        SO_BINDTOIFINDEX => o.bound_dev_if as i32,
        SO_BINDTODEVICE => {
            // sock_getbindtodevice: EINVAL below IFNAMSIZ; unbound is length 0; a device
            // gone since is ENXIO (netdev_get_name).
            if out.len() < IFNAMSIZ {
                return Err(Errno::EINVAL);
            }
            if o.bound_dev_if == 0 {
                return Ok(0);
            }
            let dev = st
                .device(crate::dev::IfIndex(o.bound_dev_if))
                .ok_or(Errno::ENXIO)?;
            let name = dev.name.as_bytes();
            let n = name.len().min(IFNAMSIZ - 1);
            out[..n].copy_from_slice(&name[..n]);
            out[n] = 0;
            return Ok(n + 1);
        }
        _ => return Err(Errno::ENOPROTOOPT),
    };
    Ok(put_int(out, val))
}

/// Hands the socket's `sk_mark` and `sk_priority` to its protocol sock, whose packets
/// carry them (`skb->mark`, `skb->priority`); a ping socket reads them at each send.
///
/// Deviation from Linux: the mark is no route-lookup input (`flowi4_mark`): linnet has no
/// policy routing (`ip rule fwmark`), so a mark only labels the packets.
fn sync_mark_priority(st: &mut Stack, id: SocketId) -> Result<(), Errno> {
    let s = st.socket(id)?;
    let (sk, proto, mark, priority) = (s.sk, s.protocol, s.o.mark, s.o.priority);
    match proto {
        IPPROTO_TCP => st.tcp_set_mark_priority(sk, mark, priority),
        IPPROTO_UDP => st.udp_set_mark_priority(sk, mark, priority),
        _ => Ok(()),
    }
}

/// `sock_setbindtodevice`: the name is at most `IFNAMSIZ - 1` bytes of `optval` (up to a
/// NUL); "" (or `optlen` 0) unbinds; ENODEV for a name no device has.
fn sock_setbindtodevice(st: &mut Stack, id: SocketId, v: &[u8]) -> Result<(), Errno> {
    let raw = &v[..v.len().min(IFNAMSIZ - 1)];
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    let index = if end == 0 {
        0
    } else {
        let name = core::str::from_utf8(&raw[..end]).map_err(|_| Errno::ENODEV)?;
        st.device_by_name(name).ok_or(Errno::ENODEV)?.ifindex.0
    };
    sock_bindtoindex(st, id, index as i32)
}

/// `sock_bindtoindex_locked`: changing a binding already made needs `CAP_NET_RAW`
/// (EPERM); a negative index is EINVAL. The index is not checked against the devices, as
/// in Linux (`SO_BINDTOIFINDEX` with an unknown index binds to it and then matches
/// nothing). The protocol's lookups and routing follow the new device.
fn sock_bindtoindex(st: &mut Stack, id: SocketId, index: i32) -> Result<(), Errno> {
    let s = st.socket(id)?;
    if s.o.bound_dev_if != 0 && !s.privileged {
        return Err(Errno::EPERM);
    }
    if index < 0 {
        return Err(Errno::EINVAL);
    }
    let (sk, proto) = (s.sk, s.protocol);
    let index = index as u32;
    match proto {
        _ if s.ty == SOCK_RAW => st.sockets.raw.get_mut(sk)?.bound_dev_if = index,
        IPPROTO_TCP => st.tcp_set_bound_dev(sk, index)?,
        IPPROTO_UDP => st.udp_set_bound_dev(sk, index)?,
        _ => st.sockets.ping.get_mut(sk)?.bound_dev_if = index,
    }
    st.sock_mut(id)?.o.bound_dev_if = index;
    Ok(())
}

/// `do_ip_setsockopt` (after `ip_setsockopt`'s level check).
fn ip_setsockopt(
    st: &mut Stack,
    id: SocketId,
    level: i32,
    name: i32,
    v: &[u8],
) -> Result<(), Errno> {
    if level != SOL_IP {
        return Err(Errno::ENOPROTOOPT);
    }
    // An int, or one byte, or (optlen 0) zero.
    let val = if v.len() >= 4 {
        int_of(v)?
    } else if let Some(&b) = v.first() {
        i32::from(b)
    } else {
        0
    };
    let s = st.socket(id)?;
    let (sk, proto) = (s.sk, s.protocol);
    match name {
        IP_TTL => {
            if v.is_empty() || (val != -1 && !(1..=255).contains(&val)) {
                return Err(Errno::EINVAL);
            }
            let ttl = (val != -1).then_some(val as u8);
            match proto {
                IPPROTO_ICMP => {
                    st.sockets.ping.get_mut(sk)?.ttl = ttl;
                    Ok(())
                }
                IPPROTO_TCP => st.tcp_set_ttl(sk, ttl),
                _ => st.udp_set_ttl(sk, ttl),
            }
        }
        IP_TOS => {
            // __ip_sock_set_tos: the TOS byte (on a stream socket without the ECN bits,
            // which stay TCP's), and sk_priority from it when it changed.
            let (tos, changed) = match proto {
                IPPROTO_TCP => st.tcp_set_tos(sk, val as u8)?,
                IPPROTO_UDP => {
                    st.udp_set_tos(sk, val as u8)?;
                    (val as u8, st.socket(id)?.o.tos != val as u8)
                }
                _ => (val as u8, st.socket(id)?.o.tos != val as u8),
            };
            let s = st.sock_mut(id)?;
            s.o.tos = tos;
            if changed {
                s.o.priority = u32::from(IP_TOS2PRIO[usize::from((tos & 0x1e) >> 1)]);
            }
            sync_mark_priority(st, id)
        }
        IP_MINTTL => {
            // At least one byte, 0..=255; only TCP's input looks at it.
            if v.is_empty() || !(0..=255).contains(&val) {
                return Err(Errno::EINVAL);
            }
            if proto == IPPROTO_TCP {
                st.tcp_set_min_ttl(sk, val as u8)?;
            }
            st.sock_mut(id)?.o.min_ttl = val as u8;
            Ok(())
        }
        IP_TRANSPARENT if proto != IPPROTO_ICMP => {
            // CAP_NET_RAW or CAP_NET_ADMIN to turn it on; at least one byte.
            if val != 0 && !st.socket(id)?.privileged {
                return Err(Errno::EPERM);
            }
            if v.is_empty() {
                return Err(Errno::EINVAL);
            }
            if proto == IPPROTO_TCP {
                st.tcp_set_transparent(sk, val != 0)
            } else {
                st.udp_set_transparent(sk, val != 0)
            }
        }
        IP_RECVERR if proto == IPPROTO_TCP => st.tcp_set_recverr(sk, val != 0),
        IP_PKTINFO | IP_RECVTTL | IP_RECVTOS | IP_RECVORIGDSTADDR if proto == IPPROTO_TCP => {
            // Kept and inherited, without effect: TCP's recvmsg gives no IP cmsgs (Linux).
            let bit = super::cmsg::cmsg_flag_bit(name).ok_or(Errno::ENOPROTOOPT)?;
            st.tcp_set_cmsg_flag(sk, bit, val != 0)
        }
        IP_PKTINFO | IP_RECVTTL | IP_RECVTOS | IP_RECVERR if proto == IPPROTO_ICMP => {
            super::ping::ping_setsockopt_cmsg(st, sk, name, val != 0)
        }
        IP_PKTINFO | IP_RECVTTL | IP_RECVTOS | IP_RECVERR | IP_RECVORIGDSTADDR
            if proto == IPPROTO_UDP =>
        {
            // Booleans: an int, or one byte.
            super::cmsg::ip_setsockopt_cmsg(st, sk, name, val != 0)
        }
        // Not a raw socket.
        IP_HDRINCL => Err(Errno::ENOPROTOOPT),
        // Deviation from Linux: IP_TRANSPARENT on ping sockets is not done.
        // Deviation from Linux: the other SOL_IP options are not done yet (see the module
        // doc of `socket`).
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// `do_ip_getsockopt`. A one-byte answer when the buffer is shorter than an int and the
/// value fits in a byte, as Linux does.
fn do_ip_getsockopt(
    st: &mut Stack,
    id: SocketId,
    level: i32,
    name: i32,
    out: &mut [u8],
) -> Result<usize, Errno> {
    if level != SOL_IP {
        return Err(Errno::EOPNOTSUPP);
    }
    let s = st.socket(id)?;
    let (sk, proto, tos, min_ttl) = (s.sk, s.protocol, s.o.tos, s.o.min_ttl);
    let val: i32 = match name {
        IP_TTL => {
            if proto == IPPROTO_TCP {
                let ttl = st.tcp_ip_ttl_tos(sk)?.0;
                i32::from(ttl.unwrap_or(st.cfg.ip_default_ttl))
            } else if proto == IPPROTO_ICMP {
                let ttl = st.sockets.ping.get(sk)?.ttl;
                i32::from(ttl.unwrap_or(st.cfg.ip_default_ttl))
            } else {
                i32::from(st.udp_ttl(sk)?)
            }
        }
        IP_TOS if proto == IPPROTO_TCP => i32::from(st.tcp_ip_ttl_tos(sk)?.1),
        IP_TOS => i32::from(tos),
        IP_MINTTL => i32::from(min_ttl),
        IP_TRANSPARENT if proto == IPPROTO_UDP => i32::from(st.udp_transparent(sk)?),
        IP_TRANSPARENT if proto == IPPROTO_TCP => i32::from(st.tcp_transparent(sk)?),
        IP_HDRINCL => 0,
        IP_RECVERR if proto == IPPROTO_TCP => i32::from(st.tcp_recverr(sk)?),
        IP_PKTINFO | IP_RECVTTL | IP_RECVTOS | IP_RECVORIGDSTADDR if proto == IPPROTO_TCP => {
            let bit = super::cmsg::cmsg_flag_bit(name).ok_or(Errno::ENOPROTOOPT)?;
            i32::from(st.tcp_cmsg_flag(sk, bit)?)
        }
        IP_PKTINFO | IP_RECVTTL | IP_RECVTOS | IP_RECVERR if proto == IPPROTO_ICMP => {
            super::ping::ping_getsockopt_cmsg(st, sk, name)?
        }
        IP_PKTINFO | IP_RECVTTL | IP_RECVTOS | IP_RECVERR | IP_RECVORIGDSTADDR
            if proto == IPPROTO_UDP =>
        {
            super::cmsg::ip_getsockopt_cmsg(st, sk, name)?
        }
        _ => return Err(Errno::ENOPROTOOPT),
    };
    if !out.is_empty() && out.len() < 4 && (0..=255).contains(&val) {
        out[0] = val as u8;
        return Ok(1);
    }
    Ok(put_int(out, val))
}

/// `do_tcp_setsockopt`.
fn do_tcp_setsockopt(st: &mut Stack, id: SocketId, name: i32, v: &[u8]) -> Result<(), Errno> {
    let sk = st.socket(id)?.sk;
    if name == TCP_CONGESTION {
        if v.is_empty() {
            return Err(Errno::EINVAL);
        }
        let n = v.len().min(TCP_CA_NAME_MAX - 1);
        let raw = &v[..n];
        let end = raw.iter().position(|&b| b == 0).unwrap_or(n);
        let name = core::str::from_utf8(&raw[..end]).map_err(|_| Errno::ENOENT)?;
        return st.tcp_set_congestion(sk, name);
    }
    let val = int_of(v)?;
    match name {
        TCP_NODELAY => st.tcp_set_nodelay(sk, val != 0),
        TCP_KEEPIDLE => st.tcp_set_keepidle(sk, val as u32),
        TCP_KEEPINTVL => st.tcp_set_keepintvl(sk, val as u32),
        TCP_KEEPCNT => st.tcp_set_keepcnt(sk, val as u32),
        TCP_SYNCNT => st.tcp_set_syncnt(sk, val as u32),
        TCP_LINGER2 => st.tcp_set_linger2(sk, val),
        TCP_USER_TIMEOUT => {
            if val < 0 {
                return Err(Errno::EINVAL);
            }
            st.tcp_set_user_timeout(sk, val as u32)
        }
        TCP_MAXSEG => st.tcp_set_maxseg(sk, val as u32),
        TCP_CORK => st.tcp_set_cork(sk, val != 0),
        // tcp_set_window_clamp: max_t(int, SOCK_MIN_RCVBUF / 2, val) for a nonzero value.
        TCP_WINDOW_CLAMP => st.tcp_set_window_clamp(sk, if val < 0 { 1 } else { val as u32 }),
        TCP_DEFER_ACCEPT => st.tcp_set_defer_accept(sk, val),
        TCP_QUICKACK => st.tcp_set_quickack(sk, val != 0),
        // TCP_INFO is get-only in Linux too.
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// `do_tcp_getsockopt`: `len = min(len, sizeof(int))`; `TCP_CONGESTION` up to 16 bytes,
/// `TCP_INFO` up to `sizeof(struct tcp_info)`.
fn do_tcp_getsockopt(
    st: &mut Stack,
    id: SocketId,
    name: i32,
    out: &mut [u8],
) -> Result<usize, Errno> {
    let sk = st.socket(id)?.sk;
    let val: i32 = match name {
        TCP_NODELAY => st.tcp_nodelay(sk)?.into(),
        TCP_MAXSEG => st.tcp_maxseg(sk)? as i32,
        TCP_CORK => st.tcp_cork(sk)?.into(),
        TCP_KEEPIDLE => st.tcp_keepidle(sk)? as i32,
        TCP_KEEPINTVL => st.tcp_keepintvl(sk)? as i32,
        TCP_KEEPCNT => st.tcp_keepcnt(sk)? as i32,
        TCP_SYNCNT => st.tcp_syncnt(sk)? as i32,
        TCP_LINGER2 => st.tcp_linger2(sk)?,
        TCP_DEFER_ACCEPT => st.tcp_defer_accept(sk)?,
        TCP_WINDOW_CLAMP => st.tcp_window_clamp(sk)? as i32,
        TCP_QUICKACK => st.tcp_quickack(sk)?.into(),
        TCP_USER_TIMEOUT => st.tcp_user_timeout(sk)? as i32,
        TCP_CONGESTION => {
            let name = st.tcp_congestion(sk)?;
            let mut b = [0u8; TCP_CA_NAME_MAX];
            let n = name.len().min(TCP_CA_NAME_MAX);
            b[..n].copy_from_slice(&name.as_bytes()[..n]);
            return Ok(put(out, &b));
        }
        TCP_INFO => return Ok(put(out, &tcp_info_bytes(&st.tcp_info(sk)?))),
        _ => return Err(Errno::ENOPROTOOPT),
    };
    Ok(put_int(out, val))
}

/// `sizeof(struct tcp_info)` in Linux 6.18 (up to `tcpi_accecn_opt_seen`).
pub const TCP_INFO_LEN: usize = 280;

/// `struct tcp_info` as `tcp_get_info` lays it out (native endian). Fields linnet does
/// not measure (pacing rates, `fackets`, busy/limited times, `delivered`, DSACK and
/// reordering figures, the AccECN counters) are 0.
///
/// Deviation from Linux: `tcpi_delivery_rate_app_limited` is 1 on every socket that is not
/// listening, the value Linux starts a socket with (`rate_app_limited`), as there are no
/// delivery-rate samples to clear it.
pub fn tcp_info_bytes(i: &crate::tcp::TcpInfo) -> [u8; TCP_INFO_LEN] {
    let mut b = [0u8; TCP_INFO_LEN];
    b[..8].copy_from_slice(&[
        i.state,
        i.ca_state,
        i.retransmits,
        i.probes,
        i.backoff,
        i.options,
        (i.snd_wscale & 0xf) | (i.rcv_wscale << 4),
        u8::from(i.state != 10),
    ]);
    let u32s: [(usize, u32); 27] = [
        (8, i.rto),
        (12, i.ato),
        (16, i.snd_mss),
        (20, i.rcv_mss),
        (24, i.unacked),
        (28, i.sacked),
        (32, i.lost),
        (36, i.retrans),
        (44, i.last_data_sent),
        (48, i.last_ack_sent),
        (52, i.last_data_recv),
        (56, i.last_ack_recv),
        (60, i.pmtu),
        (64, i.rcv_ssthresh),
        (68, i.rtt),
        (72, i.rttvar),
        (76, i.snd_ssthresh),
        (80, i.snd_cwnd),
        (84, i.advmss),
        (88, i.reordering),
        (92, i.rcv_rtt),
        (96, i.rcv_space),
        (100, i.total_retrans),
        (136, i.segs_out),
        (140, i.segs_in),
        (144, i.notsent_bytes),
        (148, i.min_rtt),
    ];
    for (at, v) in u32s {
        b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    }
    for (at, v) in [
        (152, i.data_segs_in),
        (156, i.data_segs_out),
        (224, i.rcv_ooopack),
        (228, i.snd_wnd),
        (232, i.rcv_wnd),
    ] {
        b[at..at + 4].copy_from_slice(&v.to_ne_bytes());
    }
    for (at, v) in [
        (120, i.bytes_acked),
        (128, i.bytes_received),
        (160, i.delivery_rate),
        (200, i.bytes_sent),
        (208, i.bytes_retrans),
    ] {
        b[at..at + 8].copy_from_slice(&v.to_ne_bytes());
    }
    b
}

/// `udp_lib_setsockopt`: EINVAL below an int, then the option.
fn udp_lib_setsockopt(st: &mut Stack, id: SocketId, name: i32, v: &[u8]) -> Result<(), Errno> {
    let val = int_of(v)?;
    match name {
        UDP_CORK => {
            let sk = st.socket(id)?.sk;
            st.udp_set_cork(sk, val != 0)
        }
        // Deviation from Linux: UDP_ENCAP, UDP_SEGMENT, UDP_GRO, ... are not done yet.
        _ => Err(Errno::ENOPROTOOPT),
    }
}

/// `udp_lib_getsockopt`.
fn udp_lib_getsockopt(
    st: &mut Stack,
    id: SocketId,
    name: i32,
    out: &mut [u8],
) -> Result<usize, Errno> {
    match name {
        UDP_CORK => {
            let sk = st.socket(id)?.sk;
            Ok(put_int(out, i32::from(st.udp_corked(sk)?)))
        }
        _ => Err(Errno::ENOPROTOOPT),
    }
}

//! `struct proto_ops` tables: `inet_stream_ops` (TCP) and `inet_dgram_ops` (UDP), their
//! `inet_*` functions over the protocol code, and the `sock_no_*` answers.
//!
//! Linux: net/ipv4/af_inet.c (`inet_release`, `inet_bind_sk`/`__inet_bind`,
//! `__inet_stream_connect`, `inet_dgram_connect`, `inet_accept`, `inet_getname`,
//! `inet_listen`, `inet_shutdown`, `inet_sendmsg`, `inet_recvmsg`, `inet_stream_ops`,
//! `inet_dgram_ops`), net/core/sock.c (`sock_no_listen`, `sock_no_accept`,
//! `sock_no_socketpair`), net/ipv4/datagram.c (`__ip4_datagram_connect`), net/ipv4/udp.c
//! (`udp_sendmsg`, `udp_recvmsg`, `udp_disconnect`), net/ipv4/tcp.c (`tcp_sendmsg_locked`,
//! `tcp_recvmsg_locked`, `tcp_recv_urg`), net/ipv4/tcp_ipv4.c (`tcp_v4_connect`'s address
//! checks).
//! RFCs: none.

use core::net::{Ipv4Addr, SocketAddrV4};

use super::addr::*;
use super::opt;
use super::{MsgInfo, SockAddr, SocketId, SocketState};
use crate::errno::Errno;
use crate::route::LocalKind;
use crate::stack::Stack;
use crate::tcp::{Shutdown, TcpState};

/// `RCV_SHUTDOWN`.
pub(crate) const RCV_SHUTDOWN: u8 = 1;
/// `SEND_SHUTDOWN`.
pub(crate) const SEND_SHUTDOWN: u8 = 2;

/// `proto_ops.accept`: (listener, flags) → (new socket, peer).
pub type AcceptFn = fn(&mut Stack, SocketId, i32) -> Result<(SocketId, SocketAddrV4), Errno>;
/// `proto_ops.setsockopt`: (socket, level, optname, optval).
pub type SetsockoptFn = fn(&mut Stack, SocketId, i32, i32, &[u8]) -> Result<(), Errno>;
/// `proto_ops.getsockopt`: (socket, level, optname, optval) → optlen.
pub type GetsockoptFn = fn(&mut Stack, SocketId, i32, i32, &mut [u8]) -> Result<usize, Errno>;
/// `proto_ops.sendmsg`: (socket, bytes, flags, destination).
pub type SendmsgFn =
    fn(&mut Stack, SocketId, &[u8], i32, Option<&SockAddr>) -> Result<usize, Errno>;

/// `struct proto_ops`: the operations of one family and type. `socketpair`, `mmap`,
/// `sendpage` and `ioctl` are not here yet (`socketpair` on `AF_INET` is always
/// `sock_no_socketpair`: [`ProtoOps::socketpair`]).
#[derive(Debug)]
pub struct ProtoOps {
    /// `family`.
    pub family: i32,
    /// The table's Linux name (`inet_stream_ops`, ...).
    pub name: &'static str,
    /// `release`.
    pub release: fn(&mut Stack, SocketId) -> Result<(), Errno>,
    /// `bind`.
    pub bind: fn(&mut Stack, SocketId, &SockAddr) -> Result<(), Errno>,
    /// `connect`.
    pub connect: fn(&mut Stack, SocketId, &SockAddr) -> Result<(), Errno>,
    /// `accept` (flags: `SOCK_NONBLOCK`, `SOCK_CLOEXEC` for the new socket).
    pub accept: AcceptFn,
    /// `getname` (peer or local).
    pub getname: fn(&Stack, SocketId, bool) -> Result<SocketAddrV4, Errno>,
    /// `listen`.
    pub listen: fn(&mut Stack, SocketId, i32) -> Result<(), Errno>,
    /// `shutdown`.
    pub shutdown: fn(&mut Stack, SocketId, i32) -> Result<(), Errno>,
    /// `setsockopt` (`sock_common_setsockopt`, with `SOL_SOCKET` handled first as
    /// `__sys_setsockopt` does).
    pub setsockopt: SetsockoptFn,
    /// `getsockopt`.
    pub getsockopt: GetsockoptFn,
    /// `sendmsg`.
    pub sendmsg: SendmsgFn,
    /// `recvmsg`.
    pub recvmsg: fn(&mut Stack, SocketId, &mut [u8], i32) -> Result<MsgInfo, Errno>,
    /// `poll` (`tcp_poll`, `udp_poll`, `datagram_poll`): the readiness mask.
    pub poll: fn(&Stack, SocketId) -> Result<super::poll::PollMask, Errno>,
}

impl ProtoOps {
    /// `socketpair`: `sock_no_socketpair` for every `AF_INET` type.
    pub fn socketpair(&self) -> Result<(), Errno> {
        sock_no_socketpair()
    }
}

/// `inet_stream_ops`.
pub static INET_STREAM_OPS: ProtoOps = ProtoOps {
    family: AF_INET,
    name: "inet_stream_ops",
    release: inet_release,
    bind: inet_bind,
    connect: inet_stream_connect,
    accept: inet_accept,
    getname: inet_getname,
    listen: inet_listen,
    shutdown: inet_shutdown,
    setsockopt: opt::sock_common_setsockopt,
    getsockopt: opt::sock_common_getsockopt,
    sendmsg: tcp_sendmsg,
    recvmsg: tcp_recvmsg,
    poll: super::poll::tcp_poll,
};

/// `inet_dgram_ops`.
pub static INET_DGRAM_OPS: ProtoOps = ProtoOps {
    family: AF_INET,
    name: "inet_dgram_ops",
    release: inet_release,
    bind: inet_bind,
    connect: inet_dgram_connect,
    accept: sock_no_accept,
    getname: inet_getname,
    listen: sock_no_listen,
    shutdown: inet_shutdown,
    setsockopt: opt::sock_common_setsockopt,
    getsockopt: opt::sock_common_getsockopt,
    sendmsg: udp_sendmsg,
    recvmsg: udp_recvmsg,
    poll: super::poll::udp_poll,
};

/// `sock_no_listen`.
pub(super) fn sock_no_listen(_: &mut Stack, _: SocketId, _: i32) -> Result<(), Errno> {
    Err(Errno::EOPNOTSUPP)
}

/// `sock_no_accept`.
pub(super) fn sock_no_accept(
    _: &mut Stack,
    _: SocketId,
    _: i32,
) -> Result<(SocketId, SocketAddrV4), Errno> {
    Err(Errno::EOPNOTSUPP)
}

/// `sock_no_socketpair`.
fn sock_no_socketpair() -> Result<(), Errno> {
    Err(Errno::EOPNOTSUPP)
}

fn is_tcp(st: &Stack, id: SocketId) -> Result<bool, Errno> {
    Ok(st.socket(id)?.protocol == IPPROTO_TCP)
}

/// `inet_release` → `sk->sk_prot->close` (`tcp_close`, `udp_lib_close`).
pub(super) fn inet_release(st: &mut Stack, id: SocketId) -> Result<(), Errno> {
    let s = st.socket(id)?;
    match s.protocol {
        IPPROTO_TCP => st.tcp_close(s.sk),
        IPPROTO_ICMP => st.ping_close(s.sk),
        _ => st.udp_close(s.sk),
    }
}

/// `inet_num != 0` or a protocol state other than TCP_CLOSE: the socket is bound or in use.
fn inet_num_or_active(st: &Stack, id: SocketId) -> Result<bool, Errno> {
    let sk = st.socket(id)?.sk;
    if is_tcp(st, id)? {
        let tp = st.tcp_sock_ref(sk)?;
        Ok(tp.state != TcpState::Close || tp.bound)
    } else {
        Ok(st.udp_local_addr(sk)?.port() != 0 || st.udp_peer_addr(sk)?.is_some())
    }
}

/// `inet_bind_sk` + `__inet_bind`, checks in Linux's order: length (EINVAL), family
/// (EAFNOSUPPORT; `AF_UNSPEC` passes only with `INADDR_ANY`), address type
/// (EADDRNOTAVAIL unless `ip_nonlocal_bind` or `IP_TRANSPARENT`), privileged port (EACCES), a socket already
/// bound or in use (EINVAL), then the protocol's `get_port` (EADDRINUSE).
fn inet_bind(st: &mut Stack, id: SocketId, addr: &SockAddr) -> Result<(), Errno> {
    let Some(sin) = addr.as_inet() else {
        return Err(Errno::EINVAL);
    };
    let fam = i32::from(addr.family());
    if fam != AF_INET && (fam != AF_UNSPEC || !sin.ip().is_unspecified()) {
        return Err(Errno::EAFNOSUPPORT);
    }
    let ip = *sin.ip();
    // inet_addr_valid_or_nonlocal with inet_addr_type_table's answer.
    let sk = st.socket(id)?.sk;
    let transparent = if is_tcp(st, id)? {
        st.tcp_transparent(sk)?
    } else {
        st.udp_transparent(sk)?
    };
    let valid = st.cfg.ip_nonlocal_bind
        || transparent
        || ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || ip.is_broadcast()
        || matches!(
            st.fib.local(ip),
            Some(LocalKind::Local(_) | LocalKind::Broadcast(_))
        );
    if !valid {
        return Err(Errno::EADDRNOTAVAIL);
    }
    let port = sin.port();
    let s = st.socket(id)?;
    if port != 0 && port < st.cfg.ip_unprivileged_port_start && !s.privileged {
        return Err(Errno::EACCES);
    }
    if inet_num_or_active(st, id)? {
        return Err(Errno::EINVAL);
    }
    let sk = s.sk;
    if is_tcp(st, id)? {
        st.tcp_bind(sk, sin)?;
    } else {
        st.udp_bind(sk, sin)?;
    }
    let o = &mut st.sock_mut(id)?.o;
    o.bindaddr_lock = !ip.is_unspecified();
    o.saddr_reset = false;
    Ok(())
}

/// `tcp_disconnect`'s `inet_reset_saddr`: unless bind() chose the address
/// (`SOCK_BINDADDR_LOCK`), getsockname reports 0.0.0.0 afterwards (the port stays as it
/// was, even when it went back to the table, as Linux's `inet_sport` does).
fn tcp_disconnect_saddr(st: &mut Stack, id: SocketId) -> Result<(), Errno> {
    let o = &mut st.sock_mut(id)?.o;
    if !o.bindaddr_lock {
        o.saddr_reset = true;
    }
    Ok(())
}

/// `sockaddr_in` checks of `tcp_v4_connect` / `__ip4_datagram_connect`.
fn connect_addr(addr: &SockAddr) -> Result<SocketAddrV4, Errno> {
    let sin = addr.as_inet().ok_or(Errno::EINVAL)?;
    if i32::from(addr.family()) != AF_INET {
        return Err(Errno::EAFNOSUPPORT);
    }
    Ok(sin)
}

/// `inet_stream_connect` (`__inet_stream_connect`).
fn inet_stream_connect(st: &mut Stack, id: SocketId, addr: &SockAddr) -> Result<(), Errno> {
    if addr.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let s = st.socket(id)?;
    let sk = s.sk;
    if i32::from(addr.family()) == AF_UNSPEC {
        // sk->sk_prot->disconnect: tcp_disconnect.
        let r = match st.tcp_state(sk)? {
            TcpState::Close => Ok(()),
            TcpState::Listen => st.tcp_shutdown(sk, Shutdown::Read),
            TcpState::SynSent => st.tcp_shutdown(sk, Shutdown::Both),
            // Deviation from Linux: tcp_disconnect would abort the connection (RST) and
            // leave the socket reusable; the TCP code has no such call yet.
            _ => Err(Errno::EOPNOTSUPP),
        };
        if r.is_ok() {
            tcp_disconnect_saddr(st, id)?;
        }
        st.sock_mut(id)?.state = if r.is_ok() {
            SocketState::Unconnected
        } else {
            SocketState::Disconnecting
        };
        return r;
    }
    let err = match s.state {
        SocketState::Connected => return Err(Errno::EISCONN),
        SocketState::Connecting => Errno::EALREADY,
        SocketState::Unconnected => {
            if st.tcp_state(sk)? != TcpState::Close {
                return Err(Errno::EISCONN);
            }
            let sin = connect_addr(addr)?;
            st.sock_mut(id)?.o.saddr_reset = false;
            match st.tcp_connect(sk, sin) {
                Err(Errno::EINPROGRESS) => {}
                Err(e) => return Err(e),
                Ok(()) => {}
            }
            let s = st.sock_mut(id)?;
            s.state = SocketState::Connecting;
            if s.nonblock {
                // Linux holds the socket lock through the call: an answer that is already
                // back (over lo) waits in the backlog, so the state is still SYN-SENT.
                return Err(Errno::EINPROGRESS);
            }
            Errno::EINPROGRESS
        }
        _ => return Err(Errno::EINVAL),
    };
    inet_stream_connect_finish(st, id, err)
}

/// The end of `__inet_stream_connect`: still connecting → `err`; closed → the socket's
/// error (or ECONNABORTED) and `SS_UNCONNECTED`; otherwise `SS_CONNECTED` and 0.
pub(crate) fn inet_stream_connect_finish(
    st: &mut Stack,
    id: SocketId,
    err: Errno,
) -> Result<(), Errno> {
    let sk = st.socket(id)?.sk;
    match st.tcp_state(sk)? {
        TcpState::SynSent | TcpState::SynRecv => Err(err),
        TcpState::Close => {
            let e = st.tcp_take_error(sk)?.unwrap_or(Errno::ECONNABORTED);
            st.sock_mut(id)?.state = SocketState::Unconnected;
            tcp_disconnect_saddr(st, id)?;
            Err(e)
        }
        _ => {
            st.sock_mut(id)?.state = SocketState::Connected;
            Ok(())
        }
    }
}

/// `inet_dgram_connect`: `AF_UNSPEC` disconnects; an unbound socket is bound first
/// (`inet_autobind`, EAGAIN if no port), then `__ip4_datagram_connect`.
fn inet_dgram_connect(st: &mut Stack, id: SocketId, addr: &SockAddr) -> Result<(), Errno> {
    if addr.len() < 2 {
        return Err(Errno::EINVAL);
    }
    let sk = st.socket(id)?.sk;
    if i32::from(addr.family()) == AF_UNSPEC {
        return st.udp_disconnect(sk);
    }
    inet_autobind(st, id)?;
    let sin = connect_addr(addr)?;
    st.udp_connect(sk, sin)
}

/// `inet_autobind` for UDP: an ephemeral port if none (EAGAIN when none is left).
fn inet_autobind(st: &mut Stack, id: SocketId) -> Result<(), Errno> {
    let sk = st.socket(id)?.sk;
    if st.udp_local_addr(sk)?.port() == 0 {
        st.udp_bind(sk, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0))
            .map_err(|_| Errno::EAGAIN)?;
    }
    Ok(())
}

/// `inet_listen`: EINVAL unless `SS_UNCONNECTED` and closed or already listening.
fn inet_listen(st: &mut Stack, id: SocketId, backlog: i32) -> Result<(), Errno> {
    let s = st.socket(id)?;
    if s.state != SocketState::Unconnected || s.ty != SOCK_STREAM {
        return Err(Errno::EINVAL);
    }
    let sk = s.sk;
    if !matches!(st.tcp_state(sk)?, TcpState::Close | TcpState::Listen) {
        return Err(Errno::EINVAL);
    }
    // __sys_listen: (unsigned) backlog > somaxconn is cut to somaxconn.
    let backlog = (backlog as u32).min(st.cfg.somaxconn);
    st.tcp_listen(sk, backlog)
}

/// `inet_accept`: EINVAL unless listening, EAGAIN when none is waiting (the front door
/// waits on a blocking socket).
fn inet_accept(
    st: &mut Stack,
    id: SocketId,
    flags: i32,
) -> Result<(SocketId, SocketAddrV4), Errno> {
    let parent = st.socket(id)?.clone();
    let (child, peer) = st.tcp_accept(parent.sk)?;
    match st.sock_insert_child(&parent, child, flags) {
        Ok(cid) => Ok((cid, peer)),
        Err(e) => {
            // Deviation from Linux: the fd is reserved before the dequeue there; here the
            // connection already left the queue, so it is closed rather than left waiting.
            let _ = st.tcp_close(child);
            Err(e)
        }
    }
}

/// `inet_getname`.
pub(super) fn inet_getname(st: &Stack, id: SocketId, peer: bool) -> Result<SocketAddrV4, Errno> {
    let s = st.socket(id)?;
    let sk = s.sk;
    if s.protocol == IPPROTO_TCP {
        if peer {
            st.tcp_peer_addr(sk)
        } else if s.o.saddr_reset {
            let port = st.tcp_local_addr(sk)?.port();
            Ok(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port))
        } else {
            st.tcp_local_addr(sk)
        }
    } else if s.protocol == IPPROTO_ICMP {
        let p = st.sockets.ping.get(sk)?;
        if peer {
            // inet_getname: no remote port (inet_dport is 0), so never a peer name.
            Err(Errno::ENOTCONN)
        } else {
            Ok(p.local)
        }
    } else if peer {
        st.udp_peer_addr(sk)?.ok_or(Errno::ENOTCONN)
    } else {
        st.udp_local_addr(sk)
    }
}

/// `inet_shutdown`.
pub(super) fn inet_shutdown(st: &mut Stack, id: SocketId, how: i32) -> Result<(), Errno> {
    // how++: 0 -> RCV_SHUTDOWN, 1 -> SEND_SHUTDOWN, 2 -> both; anything else EINVAL.
    let bits = how.wrapping_add(1);
    if bits & !3 != 0 || bits == 0 {
        return Err(Errno::EINVAL);
    }
    let bits = bits as u8;
    let s = st.socket(id)?;
    let sk = s.sk;
    if s.protocol != IPPROTO_TCP {
        // UDP: sk_state is TCP_ESTABLISHED when connected, else TCP_CLOSE (ENOTCONN, the
        // bits set anyway). There is no udp shutdown hook.
        let connected = if s.protocol == IPPROTO_ICMP {
            st.sockets.ping.get(sk)?.remote.is_some()
        } else {
            st.udp_peer_addr(sk)?.is_some()
        };
        st.sock_mut(id)?.o.shutdown |= bits;
        return if connected {
            Ok(())
        } else {
            Err(Errno::ENOTCONN)
        };
    }
    let tcp_state = st.tcp_state(sk)?;
    if s.state == SocketState::Connecting {
        let new = if matches!(
            tcp_state,
            TcpState::SynSent | TcpState::SynRecv | TcpState::Close
        ) {
            SocketState::Disconnecting
        } else {
            SocketState::Connected
        };
        st.sock_mut(id)?.state = new;
    }
    let how = match bits {
        RCV_SHUTDOWN => Shutdown::Read,
        SEND_SHUTDOWN => Shutdown::Write,
        _ => Shutdown::Both,
    };
    let disconnect = match tcp_state {
        TcpState::Listen => bits & RCV_SHUTDOWN != 0,
        TcpState::SynSent => true,
        _ => false,
    };
    let r = st.tcp_shutdown(sk, how);
    if disconnect && r.is_ok() {
        tcp_disconnect_saddr(st, id)?;
    }
    if disconnect {
        st.sock_mut(id)?.state = if r.is_ok() {
            SocketState::Unconnected
        } else {
            SocketState::Disconnecting
        };
    }
    r
}

/// `tcp_sendmsg`: the TCP code's send; `MSG_OOB` makes the last byte urgent, `MSG_MORE`
/// holds a partial segment back as `TCP_CORK` would.
fn tcp_sendmsg(
    st: &mut Stack,
    id: SocketId,
    buf: &[u8],
    flags: i32,
    _to: Option<&SockAddr>,
) -> Result<usize, Errno> {
    let sk = st.socket(id)?.sk;
    // MSG_NOSIGNAL: a library raises no SIGPIPE, so EPIPE is returned with or without it.
    if flags & MSG_OOB != 0 {
        st.tcp_send_oob(sk, buf)
    } else if flags & MSG_MORE != 0 {
        st.tcp_send_more(sk, buf)
    } else {
        st.tcp_send(sk, buf)
    }
}

/// `tcp_recvmsg`: `MSG_PEEK` copies without consuming, `MSG_TRUNC` discards, `MSG_OOB`
/// reads the urgent byte (`tcp_recv_urg`: EINVAL when there is none), `MSG_ERRQUEUE` finds
/// an empty error queue.
fn tcp_recvmsg(st: &mut Stack, id: SocketId, buf: &mut [u8], flags: i32) -> Result<MsgInfo, Errno> {
    let sk = st.socket(id)?.sk;
    let info = |len| MsgInfo {
        len,
        from: None,
        flags: 0,
    };
    if flags & MSG_ERRQUEUE != 0 {
        return Err(Errno::EAGAIN);
    }
    if flags & MSG_OOB != 0 {
        // Deviation from Linux: MSG_OOB | MSG_PEEK reads (consumes) the urgent byte.
        return st.tcp_recv_oob(sk, buf).map(|n| MsgInfo {
            len: n,
            from: None,
            flags: MSG_OOB,
        });
    }
    if flags & MSG_PEEK != 0 {
        let tp = st.tcp_sock_ref(sk)?;
        if tp.state != TcpState::Listen && !tp.rbuf.is_empty() && !buf.is_empty() {
            let n = buf.len().min(tp.rbuf.len());
            for (d, s) in buf.iter_mut().zip(tp.rbuf.iter()) {
                *d = *s;
            }
            return Ok(info(n));
        }
        // Nothing to copy: the same answers as a read (EOF, the error, EAGAIN, ENOTCONN).
        return st.tcp_recv(sk, &mut []).map(info);
    }
    if flags & MSG_TRUNC != 0 {
        // Discard up to buf.len() bytes without copying them.
        let mut scratch = [0u8; 512];
        let mut done = 0;
        while done < buf.len() {
            let want = (buf.len() - done).min(scratch.len());
            match st.tcp_recv(sk, &mut scratch[..want]) {
                Ok(0) => break,
                Ok(n) => done += n,
                Err(e) if done == 0 => return Err(e),
                Err(_) => break,
            }
        }
        return Ok(info(done));
    }
    st.tcp_recv(sk, buf).map(info)
}

/// `inet_sendmsg` → `udp_sendmsg`: autobind (EAGAIN), then the checks in `udp_sendmsg`'s
/// order: length over 65535 (EMSGSIZE), `MSG_OOB` (EOPNOTSUPP), `shutdown(SHUT_WR)`
/// (EPIPE), a short address (EINVAL),
/// a family other than `AF_INET` / `AF_UNSPEC` (EAFNOSUPPORT), then the UDP code.
fn udp_sendmsg(
    st: &mut Stack,
    id: SocketId,
    buf: &[u8],
    flags: i32,
    to: Option<&SockAddr>,
) -> Result<usize, Errno> {
    let s = st.socket(id)?;
    let (sk, shut) = (s.sk, s.o.shutdown);
    inet_autobind(st, id)?;
    if buf.len() > 0xffff {
        return Err(Errno::EMSGSIZE);
    }
    if flags & MSG_OOB != 0 {
        return Err(Errno::EOPNOTSUPP);
    }
    // After shutdown(SHUT_WR) a send is EPIPE (what Linux 6.18 answers; the differential
    // suite checks it).
    if shut & SEND_SHUTDOWN != 0 {
        return Err(Errno::EPIPE);
    }
    let dest = match to {
        None => None,
        Some(a) => {
            let sin = a.as_inet().ok_or(Errno::EINVAL)?;
            let fam = i32::from(a.family());
            if fam != AF_INET && fam != AF_UNSPEC {
                return Err(Errno::EAFNOSUPPORT);
            }
            Some(sin)
        }
    };
    st.udp_sendmsg(sk, buf, dest, flags & MSG_MORE != 0)
}

/// `udp_recvmsg`: one datagram; `MSG_PEEK` leaves it queued, `MSG_TRUNC` returns its real
/// length, `msg_flags` has `MSG_TRUNC` when it was cut. After `shutdown(SHUT_RD)` an
/// empty queue reads 0 on a blocking socket (EAGAIN with `MSG_DONTWAIT` or `O_NONBLOCK`).
fn udp_recvmsg(st: &mut Stack, id: SocketId, buf: &mut [u8], flags: i32) -> Result<MsgInfo, Errno> {
    let s = st.socket(id)?;
    let (sk, nonblock, shut) = (s.sk, s.nonblock, s.o.shutdown);
    if flags & MSG_ERRQUEUE != 0 {
        // ip_recv_error (the control messages come with Stack::sys_recvmsg_cmsg).
        let r = st.udp_recv_error(sk, buf)?;
        return Ok(MsgInfo {
            len: r.len,
            from: Some(r.dest),
            flags: MSG_ERRQUEUE | if r.truncated { MSG_TRUNC } else { 0 },
        });
    }
    let r = if flags & MSG_PEEK != 0 {
        st.udp_peek_from(sk, buf)
    } else {
        st.udp_recv_from(sk, buf)
    };
    match r {
        Ok(m) => Ok(MsgInfo {
            len: if flags & MSG_TRUNC != 0 {
                m.datagram_len
            } else {
                m.len
            },
            from: Some(m.from),
            flags: if m.truncated { MSG_TRUNC } else { 0 },
        }),
        Err(Errno::EAGAIN)
            if shut & RCV_SHUTDOWN != 0 && !nonblock && flags & MSG_DONTWAIT == 0 =>
        {
            Ok(MsgInfo {
                len: 0,
                from: None,
                flags: 0,
            })
        }
        Err(e) => Err(e),
    }
}

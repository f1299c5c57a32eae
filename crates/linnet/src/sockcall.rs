//! The blocking halves of the socket calls, shared by every front door that blocks on the
//! core's socket layer: the kernel-style door ([`crate::kernel`], waiting on the runtime
//! directly) and the daemon's control socket ([`crate::control::server`], waiting in slices
//! so that it notices a client that hung up or a server that stops). One copy of the wait
//! logic, two ways to wait ([`Waiter`]).
//!
//! Linux: net/ipv4/af_inet.c (`__inet_stream_connect` and `inet_wait_for_connect`,
//! `inet_accept` → `inet_csk_accept` and `inet_csk_wait_for_connect`), net/ipv4/tcp.c
//! (`tcp_sendmsg_locked`'s `sk_stream_wait_memory`, `tcp_recvmsg_locked`'s
//! `sk_wait_data` and `MSG_WAITALL` target), net/core/datagram.c
//! (`__skb_wait_for_more_packets`), net/core/sock.c (`sock_rcvtimeo`, `sock_sndtimeo`),
//! fs/select.c (`do_poll`: `poll()` on one socket).
//! RFCs: none.
//!
//! The core never blocks (see `linnet_core::socket`): a call that would sleep answers EAGAIN
//! (EINPROGRESS for a stream connect). The functions here call it with `MSG_DONTWAIT`, and
//! when it would have slept and the caller blocks, wait for the stack's next event and call
//! again, bounded by `SO_RCVTIMEO` / `SO_SNDTIMEO` as Linux bounds its sleeps: EAGAIN when
//! they run out (EINPROGRESS for a connect). A stream send queues everything (bytes sent
//! before an error or a timeout are returned, as `tcp_sendmsg` does); a stream receive with
//! `MSG_WAITALL` fills the buffer unless EOF, an error or a timeout comes first. A runtime
//! that shut down answers ENETDOWN.

use std::net::SocketAddrV4;
use std::time::{Duration, Instant};

use linnet_core::socket::addr::{MSG_DONTWAIT, MSG_PEEK, MSG_WAITALL, SOCK_STREAM};
use linnet_core::socket::cmsg::CmsgBuf;
use linnet_core::socket::opt::{SOL_SOCKET, SO_RCVTIMEO, SO_SNDTIMEO};
use linnet_core::socket::poll::PollMask;
use linnet_core::{Errno, SockAddr, SocketId, Stack};

use crate::runtime::{StackHandle, WaitError};

/// Why a blocking call ended without its result.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CallErr {
    /// Linux's errno for the call.
    Errno(Errno),
    /// The caller went away while the call waited (the daemon's client hung up): nobody to
    /// answer.
    Hangup,
}

impl From<Errno> for CallErr {
    fn from(e: Errno) -> CallErr {
        CallErr::Errno(e)
    }
}

/// Why a wait ended without its condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum End {
    /// The timeout passed.
    TimedOut,
    /// The runtime (or the server) is stopping: ENETDOWN.
    Shutdown,
    /// The caller went away.
    Hangup,
}

impl End {
    fn into_err(self, on_timeout: Errno) -> CallErr {
        match self {
            End::TimedOut => CallErr::Errno(on_timeout),
            End::Shutdown => CallErr::Errno(Errno::ENETDOWN),
            End::Hangup => CallErr::Hangup,
        }
    }
}

/// How a front door waits on the stack: the runtime's handle, plus whatever else ends a
/// wait for that door.
pub(crate) trait Waiter {
    /// The stack the calls run on.
    fn net(&self) -> &StackHandle;

    /// Blocks until `f` returns `Some` (re-run whenever the stack reports events) or
    /// `timeout` passes (`None`: no limit).
    fn wait<T>(
        &self,
        timeout: Option<Duration>,
        f: impl FnMut(&mut Stack) -> Option<T>,
    ) -> Result<T, End>;
}

impl Waiter for StackHandle {
    fn net(&self) -> &StackHandle {
        self
    }

    fn wait<T>(
        &self,
        timeout: Option<Duration>,
        f: impl FnMut(&mut Stack) -> Option<T>,
    ) -> Result<T, End> {
        self.wait_for(timeout, f).map_err(|e| match e {
            WaitError::TimedOut => End::TimedOut,
            WaitError::Shutdown => End::Shutdown,
        })
    }
}

/// `SO_RCVTIMEO` / `SO_SNDTIMEO` (`sock_rcvtimeo`, `sock_sndtimeo`): `None` for no timeout.
pub(crate) fn timeo(st: &mut Stack, id: SocketId, name: i32) -> Option<Duration> {
    let mut tv = [0u8; 16];
    st.sys_getsockopt(id, SOL_SOCKET, name, &mut tv).ok()?;
    let sec = i64::from_ne_bytes(tv[..8].try_into().ok()?);
    let usec = i64::from_ne_bytes(tv[8..].try_into().ok()?);
    let d = Duration::from_secs(u64::try_from(sec).ok()?)
        + Duration::from_micros(u64::try_from(usec).ok()?);
    (!d.is_zero()).then_some(d)
}

/// The socket's `O_NONBLOCK`.
pub(crate) fn nonblocking(net: &StackHandle, id: SocketId) -> bool {
    net.inspect(|s| s.socket(id).map(|s| s.nonblock).unwrap_or(false))
}

fn sock_type(net: &StackHandle, id: SocketId) -> Result<i32, Errno> {
    net.inspect(|s| s.socket(id).map(|s| s.ty))
}

/// `connect`: `sock->ops->connect`, then, for a stream socket unless `nonblock`, the wait
/// for the handshake (`inet_wait_for_connect`) bounded by `SO_SNDTIMEO` (EINPROGRESS when
/// it runs out), and its outcome (`sys_connect_complete`: ECONNREFUSED, ETIMEDOUT, ...).
pub(crate) fn connect(
    w: &impl Waiter,
    id: SocketId,
    addr: &SockAddr,
    nonblock: bool,
) -> Result<(), CallErr> {
    let net = w.net();
    let r = net.with_stack(|s| s.sys_connect(id, addr));
    if r != Err(Errno::EINPROGRESS) || nonblock || sock_type(net, id)? != SOCK_STREAM {
        return Ok(r?);
    }
    let t = net.with_stack(|s| timeo(s, id, SO_SNDTIMEO));
    w.wait(t, |s| match s.sys_connect_complete(id) {
        Err(Errno::EINPROGRESS) => None,
        r => Some(r),
    })
    .map_err(|e| e.into_err(Errno::EINPROGRESS))?
    .map_err(CallErr::Errno)
}

/// `accept4(fd, flags)`: waits for a connection unless `nonblock` (EAGAIN), or until
/// `SO_RCVTIMEO` (EAGAIN). `flags` (`SOCK_NONBLOCK`, `SOCK_CLOEXEC`) are the new socket's.
pub(crate) fn accept(
    w: &impl Waiter,
    id: SocketId,
    flags: i32,
    nonblock: bool,
) -> Result<(SocketId, SocketAddrV4), CallErr> {
    let net = w.net();
    let first = net.with_stack(|s| s.sys_accept4(id, flags));
    if first != Err(Errno::EAGAIN) || nonblock {
        return Ok(first?);
    }
    let t = net.with_stack(|s| timeo(s, id, SO_RCVTIMEO));
    w.wait(t, |s| match s.sys_accept4(id, flags) {
        Err(Errno::EAGAIN) => None,
        r => Some(r),
    })
    .map_err(|e| e.into_err(Errno::EAGAIN))?
    .map_err(CallErr::Errno)
}

/// `sendmsg(fd, data, flags, to)`: a stream socket sends all of `data`, waiting for send
/// space unless `MSG_DONTWAIT` or `O_NONBLOCK`, bounded by `SO_SNDTIMEO`; bytes sent before
/// an error or a timeout are returned. A datagram socket sends one datagram (waiting only
/// if the socket answers EAGAIN). Returns the bytes sent.
pub(crate) fn sendmsg(
    w: &impl Waiter,
    id: SocketId,
    data: &[u8],
    flags: i32,
    to: Option<&SockAddr>,
) -> Result<usize, CallErr> {
    let net = w.net();
    let ty = sock_type(net, id)?;
    let nonblock = flags & MSG_DONTWAIT != 0 || nonblocking(net, id);
    let t = net.with_stack(|s| timeo(s, id, SO_SNDTIMEO));
    let deadline = t.map(|t| Instant::now() + t);
    let mut sent = 0;
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let r = w.wait(left, |s| {
            match s.sys_sendto(id, &data[sent..], flags | MSG_DONTWAIT, to) {
                Err(Errno::EAGAIN) if !nonblock => None,
                r => Some(r),
            }
        });
        match r {
            Ok(Ok(n)) => {
                sent += n;
                if ty != SOCK_STREAM || sent >= data.len() || n == 0 {
                    return Ok(sent);
                }
            }
            Ok(Err(e)) if sent == 0 => return Err(CallErr::Errno(e)),
            Err(End::Hangup) => return Err(CallErr::Hangup),
            Err(e) if sent == 0 => return Err(e.into_err(Errno::EAGAIN)),
            _ => return Ok(sent),
        }
    }
}

/// What [`recvmsg`] got.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Received {
    /// The call's return value (a truncated datagram's full length with `MSG_TRUNC` in the
    /// flags; the bytes copied otherwise; 0 at EOF).
    pub ret: usize,
    /// Bytes written to the buffer.
    pub copied: usize,
    /// `msg_name`: the sender (datagram sockets).
    pub from: Option<SocketAddrV4>,
    /// `msg_flags`.
    pub flags: i32,
}

/// `recvmsg(fd, buf, flags)`: waits for data unless `MSG_DONTWAIT` or `O_NONBLOCK`
/// (EAGAIN), or until `SO_RCVTIMEO` (EAGAIN); on a stream, `MSG_WAITALL` waits for all of
/// `buf` (or EOF, an error, a timeout). With `cmsgs`, the control messages of the (last)
/// datagram read ([`Stack::sys_recvmsg_cmsg`]).
pub(crate) fn recvmsg(
    w: &impl Waiter,
    id: SocketId,
    buf: &mut [u8],
    flags: i32,
    mut cmsgs: Option<&mut CmsgBuf>,
) -> Result<Received, CallErr> {
    let net = w.net();
    let ty = sock_type(net, id)?;
    let want = buf.len();
    let nonblock = flags & MSG_DONTWAIT != 0 || nonblocking(net, id);
    let waitall = flags & MSG_WAITALL != 0 && flags & MSG_PEEK == 0 && ty == SOCK_STREAM;
    let t = net.with_stack(|s| timeo(s, id, SO_RCVTIMEO));
    let deadline = t.map(|t| Instant::now() + t);
    let mut out = Received {
        ret: 0,
        copied: 0,
        from: None,
        flags: 0,
    };
    loop {
        let left = deadline.map(|d| d.saturating_duration_since(Instant::now()));
        let got = out.copied;
        let r = w.wait(left, |s| {
            let r = match cmsgs.as_deref_mut() {
                Some(c) => s.sys_recvmsg_cmsg(id, &mut buf[got..], flags | MSG_DONTWAIT, c),
                None => s.sys_recvmsg(id, &mut buf[got..], flags | MSG_DONTWAIT),
            };
            match r {
                Err(Errno::EAGAIN) if !nonblock => None,
                r => Some(r),
            }
        });
        match r {
            Ok(Ok(info)) => {
                out.from = info.from;
                out.flags = info.flags;
                out.copied += info.len.min(want - got);
                out.ret = if ty == SOCK_STREAM {
                    out.copied
                } else {
                    info.len
                };
                if !waitall || info.len == 0 || out.copied >= want {
                    return Ok(out);
                }
            }
            Ok(Err(e)) if out.copied == 0 => return Err(CallErr::Errno(e)),
            Err(End::Hangup) => return Err(CallErr::Hangup),
            Err(e) if out.copied == 0 => return Err(e.into_err(Errno::EAGAIN)),
            _ => return Ok(out),
        }
    }
}

/// `poll(&{fd, events}, 1, timeout)`: the socket's readiness (`sock_poll`) masked with
/// `events` plus the bits always reported (`POLLERR`, `POLLHUP`, `POLLNVAL`), waiting until
/// one is set or `timeout` passes (`None`: for ever; zero: not at all). An empty mask when
/// the time passed. A closed socket is `POLLNVAL`.
pub(crate) fn poll(
    w: &impl Waiter,
    id: SocketId,
    events: PollMask,
    timeout: Option<Duration>,
) -> Result<PollMask, CallErr> {
    let want = events | PollMask::POLLERR | PollMask::POLLHUP | PollMask::POLLNVAL;
    let ready = |s: &Stack| {
        if s.socket(id).is_err() {
            return PollMask::POLLNVAL;
        }
        s.sock_poll(id) & want
    };
    let now = w.net().inspect(|s| ready(s));
    if !now.is_empty() || timeout == Some(Duration::ZERO) {
        return Ok(now);
    }
    match w.wait(timeout, |s| Some(ready(s)).filter(|m| !m.is_empty())) {
        Ok(m) => Ok(m),
        Err(End::TimedOut) => Ok(PollMask::NONE),
        Err(e) => Err(e.into_err(Errno::EAGAIN)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Runtime;
    use linnet_core::socket::addr::{AF_INET, SOCK_DGRAM};
    use linnet_core::socket::opt::SO_RCVTIMEO;
    use linnet_core::StackConfig;
    use std::net::Ipv4Addr;

    fn lo(port: u16) -> SockAddr {
        SockAddr::inet(SocketAddrV4::new(Ipv4Addr::LOCALHOST, port))
    }

    #[test]
    fn poll_waits_for_its_events_and_reports_a_closed_socket_as_pollnval() {
        let rt = Runtime::new(Stack::new(StackConfig::default(), 1)).unwrap();
        let net = rt.handle();
        let a = net
            .with_stack(|s| s.sys_socket(AF_INET, SOCK_DGRAM, 0))
            .unwrap();
        let b = net
            .with_stack(|s| s.sys_socket(AF_INET, SOCK_DGRAM, 0))
            .unwrap();
        net.with_stack(|s| s.sys_bind(a, &lo(4000))).unwrap();
        // Nothing to read: empty after the timeout; writable at once.
        let t0 = Instant::now();
        let m = poll(net, a, PollMask::POLLIN, Some(Duration::from_millis(40))).unwrap();
        assert_eq!(m, PollMask::NONE);
        assert!(t0.elapsed() >= Duration::from_millis(40));
        let m = poll(net, a, PollMask::POLLOUT, Some(Duration::ZERO)).unwrap();
        assert!(m.contains(PollMask::POLLOUT));
        // A datagram from another thread ends a wait without timeout.
        std::thread::scope(|sc| {
            sc.spawn(|| {
                std::thread::sleep(Duration::from_millis(20));
                net.with_stack(|s| s.sys_sendto(b, b"x", 0, Some(&lo(4000))))
                    .unwrap();
            });
            let m = poll(net, a, PollMask::POLLIN, None).unwrap();
            assert!(m.contains(PollMask::POLLIN));
        });
        net.with_stack(|s| s.sys_close(a)).unwrap();
        assert_eq!(poll(net, a, PollMask::POLLIN, None), Ok(PollMask::POLLNVAL));
    }

    #[test]
    fn so_rcvtimeo_bounds_a_blocking_recvmsg_with_eagain() {
        let rt = Runtime::new(Stack::new(StackConfig::default(), 2)).unwrap();
        let net = rt.handle();
        let a = net
            .with_stack(|s| s.sys_socket(AF_INET, SOCK_DGRAM, 0))
            .unwrap();
        net.with_stack(|s| s.sys_bind(a, &lo(4001))).unwrap();
        let mut tv = [0u8; 16];
        tv[8..].copy_from_slice(&30_000i64.to_ne_bytes());
        net.with_stack(|s| s.sys_setsockopt(a, SOL_SOCKET, SO_RCVTIMEO, &tv))
            .unwrap();
        assert_eq!(
            net.with_stack(|s| timeo(s, a, SO_RCVTIMEO)),
            Some(Duration::from_millis(30))
        );
        let t0 = Instant::now();
        let mut buf = [0u8; 8];
        assert_eq!(
            recvmsg(net, a, &mut buf, 0, None),
            Err(CallErr::Errno(Errno::EAGAIN))
        );
        assert!(t0.elapsed() >= Duration::from_millis(30));
        // MSG_DONTWAIT: at once.
        assert_eq!(
            recvmsg(net, a, &mut buf, MSG_DONTWAIT, None),
            Err(CallErr::Errno(Errno::EAGAIN))
        );
    }
}

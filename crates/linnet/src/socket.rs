//! The blocking UDP socket for applications: `std::net::UdpSocket`'s shape over a linnet
//! stack.
//!
//! Linux: net/socket.c (`__sys_bind`, `__sys_connect`, `__sys_sendto`, `__sys_recvfrom`),
//! net/ipv4/udp.c (`udp_sendmsg`, `udp_recvmsg`), net/core/sock.c (`sock_rcvtimeo`,
//! `sk_wait_data`, `SO_RCVTIMEO`, `SO_BROADCAST`), net/ipv4/af_inet.c (`inet_release`).
//! RFCs: RFC 768.
//!
//! Errors carry Linux's errno: an `io::Error` built with `from_raw_os_error(errno)`, so
//! `raw_os_error()` is the number Linux would give and `kind()` the matching `ErrorKind`. A
//! receive that times out is EAGAIN (`WouldBlock`), as with `SO_RCVTIMEO`; a socket whose
//! runtime has stopped reports ENETDOWN. Only IPv4 addresses are accepted (EAFNOSUPPORT).

use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use linnet_core::{Errno, RecvMeta, SocketHandle};

use crate::runtime::{StackHandle, WaitError};
use crate::waiters::Proto;
use crate::{errno_to_io, v4};

/// A UDP socket of a linnet stack, used from any thread (Linux: a `SOCK_DGRAM` socket).
/// Closed on drop.
#[derive(Debug)]
pub struct UdpSocket {
    inner: Arc<UdpInner>,
}

/// The state shared by the clones of one [`UdpSocket`] (`try_clone`: Linux's `dup`, one
/// socket, one set of options and file flags); the socket closes when the last goes.
#[derive(Debug)]
struct UdpInner {
    handle: StackHandle,
    sock: SocketHandle,
    read_timeout: Mutex<Option<Duration>>,
    write_timeout: Mutex<Option<Duration>>,
    nonblocking: AtomicBool,
}

impl UdpSocket {
    /// `socket()` without `bind()`: the first send binds an ephemeral port, as in Linux.
    pub fn unbound(handle: &StackHandle) -> io::Result<UdpSocket> {
        let sock = handle.with_stack(|s| s.udp_socket()).map_err(errno_to_io)?;
        Ok(UdpSocket {
            inner: Arc::new(UdpInner {
                handle: handle.clone(),
                sock,
                read_timeout: Mutex::new(None),
                write_timeout: Mutex::new(None),
                nonblocking: AtomicBool::new(false),
            }),
        })
    }

    /// `socket()` + `bind(addr)`. Port 0 draws an ephemeral port. EADDRINUSE, EADDRNOTAVAIL
    /// as Linux.
    pub fn bind(handle: &StackHandle, addr: impl Into<SocketAddr>) -> io::Result<UdpSocket> {
        let addr = v4(addr.into())?;
        let sock = UdpSocket::unbound(handle)?;
        handle
            .with_stack(|s| s.udp_bind(sock.inner.sock, addr))
            .map_err(errno_to_io)?;
        Ok(sock)
    }

    /// `socket()` + `setsockopt(IP_TRANSPARENT)` + `bind(addr)`: `addr` may be an address
    /// that is not ours (a reply to a transparent flow leaves from its original
    /// destination). With `accept_any = Some(dev)` the socket also takes every datagram
    /// arriving on `dev` to any address and port that no other socket matches
    /// (`Stack::udp_bind_transparent`); `recv_msg`'s `orig_dst` says where each was sent.
    pub fn bind_transparent(
        handle: &StackHandle,
        addr: impl Into<SocketAddr>,
        accept_any: Option<linnet_core::IfIndex>,
    ) -> io::Result<UdpSocket> {
        let addr = v4(addr.into())?;
        let sock = UdpSocket::unbound(handle)?;
        let h = sock.inner.sock;
        handle
            .with_stack(|s| match accept_any {
                Some(dev) => s.udp_bind_transparent(h, addr, dev),
                None => {
                    s.udp_set_transparent(h, true)?;
                    s.udp_bind(h, addr)
                }
            })
            .map_err(errno_to_io)?;
        Ok(sock)
    }

    /// The stack's handle of this socket.
    pub fn socket_handle(&self) -> SocketHandle {
        self.inner.sock
    }

    /// The stack this socket belongs to.
    pub fn stack(&self) -> &StackHandle {
        &self.inner.handle
    }

    /// `connect`: fixes the peer; `send` and `recv` then use it, and ICMP errors about it
    /// (port unreachable -> ECONNREFUSED) are reported on the next call.
    pub fn connect(&self, addr: impl Into<SocketAddr>) -> io::Result<()> {
        let addr = v4(addr.into())?;
        self.inner
            .handle
            .with_stack(|s| s.udp_connect(self.inner.sock, addr))
            .map_err(errno_to_io)
    }

    /// `sendto`: one datagram to `addr`. Returns the bytes sent.
    pub fn send_to(&self, buf: &[u8], addr: impl Into<SocketAddr>) -> io::Result<usize> {
        let addr = v4(addr.into())?;
        self.inner
            .handle
            .with_stack(|s| s.udp_send_to(self.inner.sock, buf, Some(addr)))
            .map_err(errno_to_io)
    }

    /// `send` on a connected socket (EDESTADDRREQ otherwise).
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner
            .handle
            .with_stack(|s| s.udp_send_to(self.inner.sock, buf, None))
            .map_err(errno_to_io)
    }

    /// `recvmsg`: the next datagram with its metadata (sender, original destination, full
    /// length, truncation), blocking as the socket is configured.
    pub fn recv_msg(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        let timeout = if self.inner.nonblocking.load(Ordering::Relaxed) {
            Some(Duration::ZERO)
        } else {
            *self
                .inner
                .read_timeout
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
        };
        self.recv_msg_timeout(buf, timeout)
    }

    /// `recvmsg` with an explicit timeout (`None`: block until a datagram or an error;
    /// zero: do not block). EAGAIN when the timeout passes.
    pub fn recv_msg_timeout(
        &self,
        buf: &mut [u8],
        timeout: Option<Duration>,
    ) -> io::Result<RecvMeta> {
        let sock = self.inner.sock;
        let r = self
            .inner
            .handle
            .wait_for(timeout, |s| match s.udp_recv_from(sock, buf) {
                Err(Errno::EAGAIN) if timeout != Some(Duration::ZERO) => None,
                r => Some(r),
            });
        match r {
            Ok(r) => r.map_err(errno_to_io),
            Err(WaitError::TimedOut) => Err(errno_to_io(Errno::EAGAIN)),
            Err(e @ WaitError::Shutdown) => Err(e.into()),
        }
    }

    /// `recvfrom`: the next datagram, truncated to `buf`, and its sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let m = self.recv_msg(buf)?;
        Ok((m.len, SocketAddr::V4(m.from)))
    }

    /// `recv`: the next datagram, truncated to `buf`.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.recv_msg(buf)?.len)
    }

    /// `SO_RCVTIMEO`: how long a receive blocks (`None`: for ever). A zero duration is
    /// EINVAL, as in `std`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            return Err(errno_to_io(Errno::EINVAL));
        }
        *self
            .inner
            .read_timeout
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = timeout;
        Ok(())
    }

    /// The receive timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(*self
            .inner
            .read_timeout
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// `SO_SNDTIMEO`, kept and reported as `std` does. A zero duration is EINVAL. Sends
    /// never wait in linnet (the core queues a datagram or fails at once: UDP sends are not
    /// charged to a send buffer), so the timeout never fires.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        if timeout == Some(Duration::ZERO) {
            return Err(errno_to_io(Errno::EINVAL));
        }
        *self
            .inner
            .write_timeout
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = timeout;
        Ok(())
    }

    /// The send timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(*self
            .inner
            .write_timeout
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// A second handle on the same socket (`dup`): options, timeouts and the non-blocking
    /// flag are shared, and the socket closes when the last handle is dropped.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            inner: self.inner.clone(),
        })
    }

    /// `O_NONBLOCK`: receives return EAGAIN at once when nothing is queued.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.inner.nonblocking.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner
            .handle
            .with_stack(|s| s.udp_set_broadcast(self.inner.sock, on))
            .map_err(errno_to_io)
    }

    /// `IP_TTL` (1..=255; EINVAL otherwise).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        let ttl = u8::try_from(ttl).map_err(|_| errno_to_io(Errno::EINVAL))?;
        self.inner
            .handle
            .with_stack(|s| s.udp_set_ttl(self.inner.sock, Some(ttl)))
            .map_err(errno_to_io)
    }

    /// `SO_RCVBUF` (doubled, as Linux does).
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        self.inner
            .handle
            .with_stack(|s| s.udp_set_rcvbuf(self.inner.sock, bytes))
            .map_err(errno_to_io)
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .handle
            .inspect(|s| s.udp_local_addr(self.inner.sock))
            .map(SocketAddr::V4)
            .map_err(errno_to_io)
    }
}

impl Drop for UdpInner {
    fn drop(&mut self) {
        let sock = self.sock;
        let _ = self
            .handle
            .close_socket(Proto::Udp, sock, |s| s.udp_close(sock));
    }
}

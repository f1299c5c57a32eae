//! The async front door: TCP and UDP sockets of a linnet stack for async tasks, with
//! tokio's `AsyncRead` / `AsyncWrite` on [`TcpStream`] (cargo feature `tokio`).
//!
//! Linux: net/socket.c (`sock_read_iter`, `sock_write_iter`, `__sys_accept4` with
//! `O_NONBLOCK`), net/ipv4/af_inet.c (`inet_stream_connect` with `O_NONBLOCK`: EINPROGRESS,
//! then POLLOUT), net/ipv4/tcp.c (`tcp_poll`, `tcp_recvmsg` / `tcp_sendmsg` with
//! `MSG_DONTWAIT`), net/ipv4/udp.c (`udp_poll`), fs/eventpoll.c (what an executor's
//! reactor does with epoll: sleep until the socket's wait queue is woken).
//! RFCs: RFC 9293, RFC 768.
//!
//! Every operation is the non-blocking core call; when it says EAGAIN the task's waker
//! joins the socket's wait queue ([`crate::waiters`]) under the same stack lock, and the
//! runtime's event loop wakes it when the stack reports the socket ready. No thread per
//! socket, no busy polling, and no tokio reactor: the types work under any executor that
//! polls futures (tokio's multi-thread or current-thread runtime, or another).
//!
//! Errors carry Linux's errno as the blocking types do ([`crate::tcp`]): a refused connect
//! is ECONNREFUSED, a reset ECONNRESET, writing after the peer's reset or our shutdown
//! EPIPE, and any call that would wait after the runtime stopped ENETDOWN. Timeouts are
//! the caller's (`tokio::time::timeout` around any future).
//!
//! Cancellation: every future here is cancel-safe. `accept`, `recv_from`, `recv` and
//! `poll_read` take data out of the stack only in the poll that returns it, so a future
//! dropped while pending loses nothing; the wait-queue entry of an `async fn` future is
//! removed when it is dropped. Dropping a pending `connect` closes the half-open socket.
//!
//! Not here: the daemon's control socket has no async door yet (its client is blocking);
//! `readable()` / `writable()` / `try_read` style readiness calls and `peek`.

use std::future::poll_fn;
use std::io;
use std::net::{Shutdown, SocketAddr, SocketAddrV4};
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use linnet_core::{Errno, RecvMeta, SocketHandle, TcpState};

use crate::runtime::StackHandle;
use crate::tcp::connect_poll;
use crate::waiters::{Dir, Key, Proto};
use crate::{errno_to_io, v4};

/// The wait-queue entry of one `async fn` future: removed when the future is dropped, so a
/// cancelled call leaves no waker behind.
struct Entry<'a> {
    handle: &'a StackHandle,
    key: Key,
    id: u64,
    /// Set once a poll left the waker queued (so `drop` only takes the lock if needed).
    queued: AtomicBool,
}

impl<'a> Entry<'a> {
    fn new(handle: &'a StackHandle, key: Key) -> Entry<'a> {
        Entry {
            handle,
            key,
            id: handle.waiter_id(),
            queued: AtomicBool::new(false),
        }
    }

    fn poll<T>(
        &self,
        cx: &mut Context<'_>,
        op: impl FnOnce(&mut linnet_core::Stack) -> Result<T, Errno>,
    ) -> Poll<io::Result<T>> {
        let r = self.handle.poll_op(cx, self.key, self.id, op);
        self.queued.store(r.is_pending(), Ordering::Relaxed);
        r
    }
}

impl Drop for Entry<'_> {
    fn drop(&mut self) {
        if self.queued.load(Ordering::Relaxed) {
            self.handle.remove_waiter(self.key, self.id);
        }
    }
}

/// A listening TCP socket for async tasks (Linux: a `SOCK_STREAM` socket after `listen`,
/// with `O_NONBLOCK`, polled for POLLIN). Closed on drop, which resets the connections not
/// yet accepted.
#[derive(Debug)]
pub struct TcpListener {
    inner: crate::TcpListener,
    /// The wait-queue entry of [`TcpListener::poll_accept`].
    accept_id: u64,
}

impl TcpListener {
    /// `socket()` + `bind(addr)` + `listen(128)` (it never waits; `async` for tokio's
    /// shape). EADDRINUSE, EADDRNOTAVAIL as Linux.
    pub async fn bind(handle: &StackHandle, addr: impl Into<SocketAddr>) -> io::Result<Self> {
        crate::TcpListener::bind(handle, addr).map(TcpListener::from_std)
    }

    /// [`TcpListener::bind`] with an explicit backlog (capped at `somaxconn`).
    pub fn bind_with_backlog(
        handle: &StackHandle,
        addr: impl Into<SocketAddr>,
        backlog: u32,
    ) -> io::Result<TcpListener> {
        crate::TcpListener::bind_with_backlog(handle, addr, backlog).map(TcpListener::from_std)
    }

    /// The async view of a blocking listener.
    pub fn from_std(inner: crate::TcpListener) -> TcpListener {
        let accept_id = inner.stack().waiter_id();
        TcpListener { inner, accept_id }
    }

    /// Back to the blocking listener.
    pub fn into_std(self) -> crate::TcpListener {
        let key = (Proto::Tcp, self.inner.socket_handle(), Dir::Read);
        self.inner.stack().remove_waiter(key, self.accept_id);
        self.inner
    }

    fn key(&self) -> Key {
        (Proto::Tcp, self.inner.socket_handle(), Dir::Read)
    }

    fn accepted(&self, (h, peer): (SocketHandle, SocketAddrV4)) -> (TcpStream, SocketAddr) {
        let s = crate::TcpStream::from_handle(self.inner.stack(), h);
        (TcpStream::from_std(s), SocketAddr::V4(peer))
    }

    /// `accept`: the next established connection and its peer. Cancel-safe; several tasks
    /// may accept on one listener at once.
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let sock = self.inner.socket_handle();
        let entry = Entry::new(self.inner.stack(), self.key());
        let r = poll_fn(|cx| entry.poll(cx, |s| s.tcp_accept(sock))).await?;
        Ok(self.accepted(r))
    }

    /// `accept` as a poll: ready with a connection, or pending with the task's waker queued
    /// (only the last task that polled is woken).
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let sock = self.inner.socket_handle();
        self.inner
            .stack()
            .poll_op(cx, self.key(), self.accept_id, |s| s.tcp_accept(sock))
            .map_ok(|r| self.accepted(r))
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// The stack's handle of this socket.
    pub fn socket_handle(&self) -> SocketHandle {
        self.inner.socket_handle()
    }

    /// The stack this socket belongs to.
    pub fn stack(&self) -> &StackHandle {
        self.inner.stack()
    }
}

/// A connected TCP socket for async tasks, with tokio's `AsyncRead` and `AsyncWrite`.
/// `poll_flush` is immediate (written bytes are in the send buffer, as a kernel socket's);
/// `poll_shutdown` is `shutdown(SHUT_WR)`: a FIN after the queued data. Closed on drop: a
/// FIN, or a RST if received data was left unread (Linux's `close`).
#[derive(Debug)]
pub struct TcpStream {
    inner: crate::TcpStream,
    read_id: u64,
    write_id: u64,
}

impl TcpStream {
    /// `socket()` + `connect(addr)`: ready once the handshake completed. ECONNREFUSED when
    /// the peer resets, ETIMEDOUT when the SYNs go unanswered (`tcp_syn_retries`),
    /// ENETUNREACH without a route.
    pub async fn connect(handle: &StackHandle, addr: impl Into<SocketAddr>) -> io::Result<Self> {
        TcpStream::connect_inner(handle, None, addr.into()).await
    }

    /// `socket()` + `bind(local)` + `connect(addr)`.
    pub async fn connect_from(
        handle: &StackHandle,
        local: impl Into<SocketAddr>,
        addr: impl Into<SocketAddr>,
    ) -> io::Result<TcpStream> {
        TcpStream::connect_inner(handle, Some(local.into()), addr.into()).await
    }

    async fn connect_inner(
        handle: &StackHandle,
        local: Option<SocketAddr>,
        addr: SocketAddr,
    ) -> io::Result<TcpStream> {
        let addr = v4(addr)?;
        let local = local.map(v4).transpose()?;
        let sock = handle.with_stack(|s| s.tcp_socket()).map_err(errno_to_io)?;
        // Owns the socket from here: an error or a dropped future closes it.
        let stream = crate::TcpStream::from_handle(handle, sock);
        let r = handle.with_stack(|s| {
            if let Some(l) = local {
                s.tcp_bind(sock, l)?;
            }
            s.tcp_connect(sock, addr)
        });
        match r {
            Ok(()) | Err(Errno::EINPROGRESS) => {}
            Err(e) => return Err(errno_to_io(e)),
        }
        // inet_wait_for_connect: POLLOUT, then the outcome (SO_ERROR on failure).
        let entry = Entry::new(handle, (Proto::Tcp, sock, Dir::Write));
        poll_fn(|cx| {
            entry.poll(cx, |s| match connect_poll(s, sock) {
                None => Err(Errno::EAGAIN),
                Some(r) => r,
            })
        })
        .await?;
        drop(entry);
        Ok(TcpStream::from_std(stream))
    }

    /// The async view of a blocking stream (its timeouts and non-blocking flag no longer
    /// matter).
    pub fn from_std(inner: crate::TcpStream) -> TcpStream {
        let h = inner.stack();
        TcpStream {
            read_id: h.waiter_id(),
            write_id: h.waiter_id(),
            inner,
        }
    }

    /// Back to the blocking stream.
    pub fn into_std(self) -> crate::TcpStream {
        let sock = self.inner.socket_handle();
        let h = self.inner.stack();
        h.remove_waiter((Proto::Tcp, sock, Dir::Read), self.read_id);
        h.remove_waiter((Proto::Tcp, sock, Dir::Write), self.write_id);
        self.inner
    }

    /// Splits the stream into a read half and a write half that tasks own separately (the
    /// socket closes when both are dropped). Dropping the write half shuts down writing, as
    /// tokio's `OwnedWriteHalf`.
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        let TcpStream {
            inner,
            read_id,
            write_id,
        } = self;
        let inner = Arc::new(inner);
        (
            OwnedReadHalf {
                inner: inner.clone(),
                read_id,
            },
            OwnedWriteHalf {
                inner,
                write_id,
                shutdown_on_drop: true,
            },
        )
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// `getpeername` (ENOTCONN once the connection is gone).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.inner.set_nodelay(on)
    }

    /// `TCP_NODELAY` as set.
    pub fn nodelay(&self) -> io::Result<bool> {
        self.inner.nodelay()
    }

    /// `getsockopt(SO_ERROR)`: the pending error, cleared.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.inner.take_error()
    }

    /// The connection state (`TCP_INFO`'s `tcpi_state`).
    pub fn state(&self) -> io::Result<TcpState> {
        self.inner.state()
    }

    /// The stack's handle of this socket.
    pub fn socket_handle(&self) -> SocketHandle {
        self.inner.socket_handle()
    }

    /// The stack this socket belongs to.
    pub fn stack(&self) -> &StackHandle {
        self.inner.stack()
    }
}

/// `tcp_recvmsg` with `MSG_DONTWAIT`, or the waker queued for POLLIN.
fn poll_read_stream(
    s: &crate::TcpStream,
    id: u64,
    cx: &mut Context<'_>,
    buf: &mut ReadBuf<'_>,
) -> Poll<io::Result<()>> {
    if buf.remaining() == 0 {
        return Poll::Ready(Ok(()));
    }
    let sock = s.socket_handle();
    let dst = buf.initialize_unfilled();
    let n = std::task::ready!(s
        .stack()
        .poll_op(cx, (Proto::Tcp, sock, Dir::Read), id, |st| st
            .tcp_recv(sock, dst)))?;
    buf.advance(n);
    Poll::Ready(Ok(()))
}

/// `tcp_sendmsg` with `MSG_DONTWAIT`, or the waker queued for POLLOUT.
fn poll_write_stream(
    s: &crate::TcpStream,
    id: u64,
    cx: &mut Context<'_>,
    data: &[u8],
) -> Poll<io::Result<usize>> {
    if data.is_empty() {
        return Poll::Ready(Ok(0));
    }
    let sock = s.socket_handle();
    s.stack()
        .poll_op(cx, (Proto::Tcp, sock, Dir::Write), id, |st| {
            st.tcp_send(sock, data)
        })
}

fn shutdown_write(s: &crate::TcpStream) -> Poll<io::Result<()>> {
    Poll::Ready(s.shutdown(Shutdown::Write))
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read_stream(&self.inner, self.read_id, cx, buf)
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write_stream(&self.inner, self.write_id, cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        shutdown_write(&self.inner)
    }
}

/// The read half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    inner: Arc<crate::TcpStream>,
    read_id: u64,
}

/// The write half of [`TcpStream::into_split`]: dropping it shuts down writing (a FIN).
#[derive(Debug)]
pub struct OwnedWriteHalf {
    inner: Arc<crate::TcpStream>,
    write_id: u64,
    shutdown_on_drop: bool,
}

impl OwnedReadHalf {
    /// `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }
}

impl OwnedWriteHalf {
    /// `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner.peer_addr()
    }

    /// Drops the half without shutting down writing (tokio's `forget`).
    pub fn forget(mut self) {
        self.shutdown_on_drop = false;
    }
}

impl Drop for OwnedWriteHalf {
    fn drop(&mut self) {
        if self.shutdown_on_drop {
            // ENOTCONN when the connection is already gone: nothing to shut down.
            let _ = self.inner.shutdown(Shutdown::Write);
        }
    }
}

impl AsyncRead for OwnedReadHalf {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        poll_read_stream(&self.inner, self.read_id, cx, buf)
    }
}

impl AsyncWrite for OwnedWriteHalf {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        poll_write_stream(&self.inner, self.write_id, cx, data)
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        shutdown_write(&self.inner)
    }
}

/// A UDP socket for async tasks (Linux: a `SOCK_DGRAM` socket with `O_NONBLOCK`, polled
/// for POLLIN). Sends never wait: the core queues a datagram or fails at once. Several
/// tasks may receive on one socket at once. Closed on drop.
#[derive(Debug)]
pub struct UdpSocket {
    inner: crate::UdpSocket,
    /// The wait-queue entry of [`UdpSocket::poll_recv_from`].
    recv_id: u64,
}

impl UdpSocket {
    /// `socket()` + `bind(addr)`. Port 0 draws an ephemeral port. EADDRINUSE,
    /// EADDRNOTAVAIL as Linux.
    pub async fn bind(handle: &StackHandle, addr: impl Into<SocketAddr>) -> io::Result<Self> {
        crate::UdpSocket::bind(handle, addr).map(UdpSocket::from_std)
    }

    /// The async view of a blocking socket.
    pub fn from_std(inner: crate::UdpSocket) -> UdpSocket {
        let recv_id = inner.stack().waiter_id();
        UdpSocket { inner, recv_id }
    }

    /// Back to the blocking socket.
    pub fn into_std(self) -> crate::UdpSocket {
        let key = (Proto::Udp, self.inner.socket_handle(), Dir::Read);
        self.inner.stack().remove_waiter(key, self.recv_id);
        self.inner
    }

    /// `connect`: fixes the peer (ICMP errors about it are then reported, as ECONNREFUSED
    /// for a port unreachable).
    pub async fn connect(&self, addr: impl Into<SocketAddr>) -> io::Result<()> {
        self.inner.connect(addr)
    }

    /// `sendto`: one datagram to `addr`.
    pub async fn send_to(&self, buf: &[u8], addr: impl Into<SocketAddr>) -> io::Result<usize> {
        self.inner.send_to(buf, addr)
    }

    /// `send` on a connected socket (EDESTADDRREQ otherwise).
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.inner.send(buf)
    }

    /// `recvmsg`: the next datagram (truncated to `buf`) with its metadata. Cancel-safe.
    pub async fn recv_msg(&self, buf: &mut [u8]) -> io::Result<RecvMeta> {
        let sock = self.inner.socket_handle();
        let entry = Entry::new(self.inner.stack(), (Proto::Udp, sock, Dir::Read));
        poll_fn(|cx| entry.poll(cx, |s| s.udp_recv_from(sock, buf))).await
    }

    /// `recvfrom`: the next datagram, truncated to `buf`, and its sender. Cancel-safe.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let m = self.recv_msg(buf).await?;
        Ok((m.len, SocketAddr::V4(m.from)))
    }

    /// `recv`: the next datagram, truncated to `buf`. Cancel-safe.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        Ok(self.recv_msg(buf).await?.len)
    }

    /// `recvfrom` as a poll, filling `buf` (only the last task that polled is woken).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        let sock = self.inner.socket_handle();
        let key = (Proto::Udp, sock, Dir::Read);
        let dst = buf.initialize_unfilled();
        let m = std::task::ready!(self
            .inner
            .stack()
            .poll_op(cx, key, self.recv_id, |s| s.udp_recv_from(sock, dst)))?;
        buf.advance(m.len);
        Poll::Ready(Ok(SocketAddr::V4(m.from)))
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }

    /// `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.inner.set_broadcast(on)
    }

    /// `IP_TTL` (1..=255; EINVAL otherwise).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.inner.set_ttl(ttl)
    }

    /// The stack's handle of this socket.
    pub fn socket_handle(&self) -> SocketHandle {
        self.inner.socket_handle()
    }

    /// The stack this socket belongs to.
    pub fn stack(&self) -> &StackHandle {
        self.inner.stack()
    }
}

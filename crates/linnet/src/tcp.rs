//! The blocking TCP sockets for applications: `std::net::TcpListener` and
//! `std::net::TcpStream`'s shapes over a linnet stack.
//!
//! Linux: net/socket.c (`__sys_listen`, `__sys_accept4`, `__sys_connect`, `__sys_shutdown`),
//! net/ipv4/af_inet.c (`inet_stream_connect`: a blocking connect waits for the handshake,
//! `inet_accept`, `inet_shutdown`, `inet_release`), net/ipv4/tcp.c (`tcp_sendmsg_locked`
//! and `sk_stream_wait_memory`: a blocking send waits for send-buffer space;
//! `tcp_recvmsg_locked` and `sk_wait_data`), net/core/sock.c (`SO_RCVTIMEO`, `SO_SNDTIMEO`).
//! RFCs: RFC 9293.
//!
//! Errors carry Linux's errno, as for [`crate::UdpSocket`]: a refused connect is
//! ECONNREFUSED, one whose SYNs go unanswered ETIMEDOUT; a read or write that times out is
//! EAGAIN (`WouldBlock`), as with `SO_RCVTIMEO`/`SO_SNDTIMEO`; a socket whose runtime has
//! stopped reports ENETDOWN. Only IPv4 addresses are accepted (EAFNOSUPPORT).
//!
//! Blocking calls sleep on the runtime's condition variable, which every stack event wakes
//! (`Readable`, `Writable`, `Connected`, `Acceptable`, `Error`), and re-try the
//! non-blocking core call.
//!
//! As `std`: `connect_timeout`, `accept_timeout`, `SO_RCVTIMEO`/`SO_SNDTIMEO`
//! (`set_read_timeout`, `set_write_timeout`), `O_NONBLOCK` (`set_nonblocking`), and
//! `try_clone` (Linux's `dup`: one socket, shared options and flags, closed with the last
//! handle). `SO_LINGER` with a nonzero time makes the last handle's drop wait for our FIN
//! to be acknowledged (`sk_stream_wait_close`). Not here: `peek` (MSG_PEEK), `set_ttl`
//! (the TCP code has no per-socket TTL yet).

use std::io;
use std::net::{Shutdown, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use linnet_core::{Errno, SocketHandle, Stack, TcpState};

use crate::runtime::{StackHandle, WaitError};
use crate::waiters::Proto;
use crate::{errno_to_io, v4};

/// How often a lingering close re-checks whether its FIN was acknowledged.
const LINGER_POLL: Duration = Duration::from_millis(5);

/// The listen backlog of [`TcpListener::bind`] (`std` passes 128 too).
pub const DEFAULT_BACKLOG: u32 = 128;

/// One step of a blocking `connect` after the SYN left (`inet_wait_for_connect`): `None`
/// while the handshake runs, then its outcome; a failed handshake reports the socket's
/// pending error (ECONNREFUSED after a RST, ETIMEDOUT after the SYN retries, or the ICMP
/// error that came meanwhile).
pub fn connect_poll(stack: &mut Stack, h: SocketHandle) -> Option<Result<(), Errno>> {
    match stack.tcp_state(h) {
        Err(e) => Some(Err(e)),
        Ok(TcpState::SynSent | TcpState::SynRecv) => None,
        Ok(TcpState::Close | TcpState::Listen) => Some(Err(stack
            .tcp_take_error(h)
            .ok()
            .flatten()
            .unwrap_or(Errno::ECONNABORTED))),
        Ok(_) => Some(Ok(())),
    }
}

fn core_shutdown(how: Shutdown) -> linnet_core::Shutdown {
    match how {
        Shutdown::Read => linnet_core::Shutdown::Read,
        Shutdown::Write => linnet_core::Shutdown::Write,
        Shutdown::Both => linnet_core::Shutdown::Both,
    }
}

/// Runs `op` until it stops saying EAGAIN, waiting on stack events for at most `timeout`
/// (zero: once, without waiting). EAGAIN when the time passes.
fn blocking<T>(
    handle: &StackHandle,
    timeout: Option<Duration>,
    mut op: impl FnMut(&mut Stack) -> Result<T, Errno>,
) -> io::Result<T> {
    if timeout == Some(Duration::ZERO) {
        return handle.with_stack(op).map_err(errno_to_io);
    }
    match handle.wait_for(timeout, |s| match op(s) {
        Err(Errno::EAGAIN) => None,
        r => Some(r),
    }) {
        Ok(r) => r.map_err(errno_to_io),
        Err(WaitError::TimedOut) => Err(errno_to_io(Errno::EAGAIN)),
        Err(e @ WaitError::Shutdown) => Err(e.into()),
    }
}

/// A listening TCP socket of a linnet stack (Linux: a `SOCK_STREAM` socket after
/// `listen`). Closed on drop, which resets the connections not yet accepted.
#[derive(Debug)]
pub struct TcpListener {
    inner: Arc<ListenerInner>,
}

/// The state shared by the clones of one [`TcpListener`] (`try_clone`: Linux's `dup`, one
/// socket, one set of options and file flags); the socket closes when the last goes.
#[derive(Debug)]
struct ListenerInner {
    handle: StackHandle,
    sock: SocketHandle,
    nonblocking: AtomicBool,
}

impl TcpListener {
    /// `socket()` + `bind(addr)` + `listen(128)`. Port 0 draws an ephemeral port.
    /// EADDRINUSE, EADDRNOTAVAIL as Linux.
    pub fn bind(handle: &StackHandle, addr: impl Into<SocketAddr>) -> io::Result<TcpListener> {
        TcpListener::bind_with_backlog(handle, addr, DEFAULT_BACKLOG)
    }

    /// [`TcpListener::bind`] with an explicit backlog (capped at `somaxconn`).
    pub fn bind_with_backlog(
        handle: &StackHandle,
        addr: impl Into<SocketAddr>,
        backlog: u32,
    ) -> io::Result<TcpListener> {
        let addr = v4(addr.into())?;
        let sock = handle.with_stack(|s| s.tcp_socket()).map_err(errno_to_io)?;
        let l = TcpListener {
            inner: Arc::new(ListenerInner {
                handle: handle.clone(),
                sock,
                nonblocking: AtomicBool::new(false),
            }),
        };
        handle
            .with_stack(|s| {
                s.tcp_bind(sock, addr)?;
                s.tcp_listen(sock, backlog)
            })
            .map_err(errno_to_io)?;
        Ok(l)
    }

    /// A transparent accept-any listener on device `dev` (`IP_TRANSPARENT` plus a TPROXY
    /// rule, see `Stack::tcp_listen_transparent`): bound to `addr`, it also accepts every
    /// connection arriving on `dev` to any address and port that no other socket takes;
    /// each accepted stream's `local_addr` is the destination the peer dialled.
    pub fn bind_transparent(
        handle: &StackHandle,
        addr: impl Into<SocketAddr>,
        dev: linnet_core::IfIndex,
    ) -> io::Result<TcpListener> {
        let addr = v4(addr.into())?;
        let sock = handle.with_stack(|s| s.tcp_socket()).map_err(errno_to_io)?;
        let l = TcpListener {
            inner: Arc::new(ListenerInner {
                handle: handle.clone(),
                sock,
                nonblocking: AtomicBool::new(false),
            }),
        };
        handle
            .with_stack(|s| {
                s.tcp_bind(sock, addr)?;
                s.tcp_listen_transparent(sock, dev, DEFAULT_BACKLOG)
            })
            .map_err(errno_to_io)?;
        Ok(l)
    }

    /// `accept`: the next established connection and its peer, blocking until one comes
    /// (EAGAIN at once in non-blocking mode).
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let timeout = self
            .inner
            .nonblocking
            .load(Ordering::Relaxed)
            .then_some(Duration::ZERO);
        self.accept_timeout(timeout)
    }

    /// `accept` waiting at most `timeout` (`None`: for ever); EAGAIN when it passes.
    pub fn accept_timeout(&self, timeout: Option<Duration>) -> io::Result<(TcpStream, SocketAddr)> {
        let sock = self.inner.sock;
        let (h, peer) = blocking(&self.inner.handle, timeout, |s| s.tcp_accept(sock))?;
        Ok((
            TcpStream::from_handle(&self.inner.handle, h),
            SocketAddr::V4(peer),
        ))
    }

    /// An iterator over accepted connections (as `std`'s `incoming`).
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<TcpStream>> + '_ {
        std::iter::repeat_with(move || self.accept().map(|(s, _)| s))
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .handle
            .inspect(|s| s.tcp_local_addr(self.inner.sock))
            .map(SocketAddr::V4)
            .map_err(errno_to_io)
    }

    /// `O_NONBLOCK`: `accept` returns EAGAIN at once when nobody is waiting.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.inner.nonblocking.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// The stack's handle of this socket.
    pub fn socket_handle(&self) -> SocketHandle {
        self.inner.sock
    }

    /// A second handle on the same listener (`dup`), sharing its non-blocking flag.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener {
            inner: self.inner.clone(),
        })
    }

    /// `getsockopt(SO_ERROR)`: the pending error, cleared.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let sock = self.inner.sock;
        self.inner
            .handle
            .with_stack(|s| s.tcp_take_error(sock))
            .map(|e| e.map(errno_to_io))
            .map_err(errno_to_io)
    }

    /// The stack this socket belongs to.
    pub fn stack(&self) -> &StackHandle {
        &self.inner.handle
    }
}

impl Drop for ListenerInner {
    fn drop(&mut self) {
        let sock = self.sock;
        let _ = self
            .handle
            .close_socket(Proto::Tcp, sock, |s| s.tcp_close(sock));
    }
}

/// A connected TCP socket of a linnet stack, used from any thread (`Read` and `Write` are
/// implemented for `&TcpStream` too, so one thread can read while another writes). Closed
/// on drop: a FIN after the queued data, or a RST if received data was left unread, as
/// Linux's `close`.
#[derive(Debug)]
pub struct TcpStream {
    inner: Arc<StreamInner>,
}

/// The state shared by the clones of one [`TcpStream`] (`try_clone`: Linux's `dup`, one
/// socket, one set of options and file flags); the socket closes when the last goes.
#[derive(Debug)]
struct StreamInner {
    handle: StackHandle,
    sock: SocketHandle,
    read_timeout: Mutex<Option<Duration>>,
    write_timeout: Mutex<Option<Duration>>,
    nonblocking: AtomicBool,
    nodelay: AtomicBool,
}

impl TcpStream {
    pub(crate) fn from_handle(handle: &StackHandle, sock: SocketHandle) -> TcpStream {
        TcpStream {
            inner: Arc::new(StreamInner {
                handle: handle.clone(),
                sock,
                read_timeout: Mutex::new(None),
                write_timeout: Mutex::new(None),
                nonblocking: AtomicBool::new(false),
                nodelay: AtomicBool::new(false),
            }),
        }
    }

    /// `socket()` + a blocking `connect(addr)`: returns once the handshake completed.
    /// ECONNREFUSED when the peer resets, ETIMEDOUT when the SYNs go unanswered
    /// (`tcp_syn_retries`), ENETUNREACH without a route.
    pub fn connect(handle: &StackHandle, addr: impl Into<SocketAddr>) -> io::Result<TcpStream> {
        TcpStream::connect_inner(handle, None, addr.into(), None)
    }

    /// [`TcpStream::connect`] giving up after `timeout` (ETIMEDOUT, as `std`'s
    /// `connect_timeout`); a zero timeout is EINVAL.
    pub fn connect_timeout(
        handle: &StackHandle,
        addr: &SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        if timeout.is_zero() {
            return Err(errno_to_io(Errno::EINVAL));
        }
        TcpStream::connect_inner(handle, None, *addr, Some(timeout))
    }

    /// `socket()` + `bind(local)` + a blocking `connect(addr)`.
    pub fn connect_from(
        handle: &StackHandle,
        local: impl Into<SocketAddr>,
        addr: impl Into<SocketAddr>,
    ) -> io::Result<TcpStream> {
        TcpStream::connect_inner(handle, Some(local.into()), addr.into(), None)
    }

    fn connect_inner(
        handle: &StackHandle,
        local: Option<SocketAddr>,
        addr: SocketAddr,
        timeout: Option<Duration>,
    ) -> io::Result<TcpStream> {
        let addr = v4(addr)?;
        let local = local.map(v4).transpose()?;
        let sock = handle.with_stack(|s| s.tcp_socket()).map_err(errno_to_io)?;
        let stream = TcpStream::from_handle(handle, sock);
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
        match handle.wait_for(timeout, |s| connect_poll(s, sock)) {
            Ok(r) => r.map_err(errno_to_io)?,
            Err(WaitError::TimedOut) => return Err(errno_to_io(Errno::ETIMEDOUT)),
            Err(e @ WaitError::Shutdown) => return Err(e.into()),
        }
        Ok(stream)
    }

    fn timeout(&self, t: &Mutex<Option<Duration>>) -> Option<Duration> {
        if self.inner.nonblocking.load(Ordering::Relaxed) {
            Some(Duration::ZERO)
        } else {
            *t.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    /// `recv`: at least one byte once some is queued; 0 at end of stream (the peer's FIN).
    fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        let sock = self.inner.sock;
        blocking(
            &self.inner.handle,
            self.timeout(&self.inner.read_timeout),
            |s| s.tcp_recv(sock, buf),
        )
    }

    /// `send`: queues what fits (at least one byte), waiting while the send buffer is full.
    fn send(&self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        let sock = self.inner.sock;
        blocking(
            &self.inner.handle,
            self.timeout(&self.inner.write_timeout),
            |s| s.tcp_send(sock, buf),
        )
    }

    /// `shutdown`: `Write` sends a FIN after the queued data (the peer reads end of stream);
    /// `Read` makes reads return 0. ENOTCONN when not connected.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        let sock = self.inner.sock;
        self.inner
            .handle
            .with_stack(|s| s.tcp_shutdown(sock, core_shutdown(how)))
            .map_err(errno_to_io)
    }

    /// `TCP_NODELAY`: no Nagle delay for small segments.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        let sock = self.inner.sock;
        self.inner
            .handle
            .with_stack(|s| s.tcp_set_nodelay(sock, on))
            .map_err(errno_to_io)?;
        self.inner.nodelay.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// The `TCP_NODELAY` setting.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.inner.nodelay.load(Ordering::Relaxed))
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .handle
            .inspect(|s| s.tcp_local_addr(self.inner.sock))
            .map(SocketAddr::V4)
            .map_err(errno_to_io)
    }

    /// `getpeername` (ENOTCONN once the connection is gone).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.inner
            .handle
            .inspect(|s| s.tcp_peer_addr(self.inner.sock))
            .map(SocketAddr::V4)
            .map_err(errno_to_io)
    }

    /// `SO_RCVTIMEO` (`None`: block for ever). A zero duration is EINVAL, as in `std`.
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        set_timeout(&self.inner.read_timeout, timeout)
    }

    /// `SO_SNDTIMEO` (`None`: block for ever). A zero duration is EINVAL, as in `std`.
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        set_timeout(&self.inner.write_timeout, timeout)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(*self
            .inner
            .read_timeout
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        Ok(*self
            .inner
            .write_timeout
            .lock()
            .unwrap_or_else(PoisonError::into_inner))
    }

    /// `O_NONBLOCK`: reads and writes return EAGAIN instead of waiting.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.inner.nonblocking.store(on, Ordering::Relaxed);
        Ok(())
    }

    /// A second handle on the same socket (`dup`): options, timeouts and the non-blocking
    /// flag are shared, and the socket closes when the last handle is dropped.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream {
            inner: self.inner.clone(),
        })
    }

    /// `SO_LINGER`: `Some(0)` makes the close an abort (RST); a nonzero time makes the
    /// close (the drop of the last handle) wait up to that long for our FIN to be
    /// acknowledged. Whole seconds, as `struct linger` (a fraction is dropped).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        let secs = linger.map(|d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX));
        let sock = self.inner.sock;
        self.inner
            .handle
            .with_stack(|s| s.tcp_set_linger(sock, secs))
            .map_err(errno_to_io)
    }

    /// `SO_LINGER` as set.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        let l = self
            .inner
            .handle
            .inspect(|s| s.tcp_linger(self.inner.sock))
            .map_err(errno_to_io)?;
        Ok(l.onoff.then(|| Duration::from_secs(l.linger.into())))
    }

    /// `getsockopt(SO_ERROR)`: the pending error, cleared.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        let sock = self.inner.sock;
        self.inner
            .handle
            .with_stack(|s| s.tcp_take_error(sock))
            .map(|e| e.map(errno_to_io))
            .map_err(errno_to_io)
    }

    /// The connection state (`TCP_INFO`'s `tcpi_state`).
    pub fn state(&self) -> io::Result<TcpState> {
        self.inner
            .handle
            .inspect(|s| s.tcp_state(self.inner.sock))
            .map_err(errno_to_io)
    }

    /// The stack's handle of this socket.
    pub fn socket_handle(&self) -> SocketHandle {
        self.inner.sock
    }

    /// The stack this socket belongs to.
    pub fn stack(&self) -> &StackHandle {
        &self.inner.handle
    }
}

fn set_timeout(slot: &Mutex<Option<Duration>>, timeout: Option<Duration>) -> io::Result<()> {
    if timeout == Some(Duration::ZERO) {
        return Err(errno_to_io(Errno::EINVAL));
    }
    *slot.lock().unwrap_or_else(PoisonError::into_inner) = timeout;
    Ok(())
}

impl io::Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }
}

impl io::Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv(buf)
    }
}

impl io::Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.send(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl Drop for StreamInner {
    /// `inet_release` -> `tcp_close`, with `SO_LINGER`'s wait: a nonzero linger time blocks
    /// the close until our FIN is acknowledged (`sk_stream_wait_close`: the state leaves
    /// FIN-WAIT-1, CLOSING and LAST-ACK) or the time runs out, as Linux does for blocking
    /// and non-blocking sockets alike. Unread data skips the wait (the close is an abort).
    fn drop(&mut self) {
        let sock = self.sock;
        let linger = self.handle.inspect(|s| {
            let l = s.tcp_linger(sock).ok()?;
            let unread = s.tcp_rx_queued(sock).unwrap_or(0);
            let open = matches!(
                s.tcp_state(sock),
                Ok(TcpState::Established | TcpState::CloseWait)
            );
            (l.onoff && l.linger > 0 && unread == 0 && open)
                .then(|| Duration::from_secs(l.linger.into()))
        });
        if let Some(t) = linger {
            // Deviation from Linux: the FIN is sent by shutdown(SHUT_WR) before the wait and
            // the core's close comes after it, so data arriving meanwhile is queued and
            // answered with a RST at the close, where Linux (RCV_SHUTDOWN already set)
            // resets when it arrives.
            let closing = |s: &mut Stack| {
                !matches!(
                    s.tcp_state(sock),
                    Ok(TcpState::FinWait1 | TcpState::Closing | TcpState::LastAck)
                )
            };
            let fin = self
                .handle
                .with_stack(|s| s.tcp_shutdown(sock, linnet_core::Shutdown::Write));
            if fin.is_ok() {
                // Deviation from Linux: the core reports no state change (Linux's
                // `sk_state_change` wake-up) when our FIN is acknowledged, so the wait
                // re-checks the state every LINGER_POLL as well as on every stack event.
                let deadline = std::time::Instant::now() + t;
                loop {
                    let left = deadline.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    match self
                        .handle
                        .wait_for(Some(left.min(LINGER_POLL)), |s| closing(s).then_some(()))
                    {
                        Err(WaitError::TimedOut) => continue,
                        _ => break,
                    }
                }
            }
        }
        let _ = self
            .handle
            .close_socket(Proto::Tcp, sock, |s| s.tcp_close(sock));
    }
}

//! The three front doors over a daemon's control socket: the same socket types as the
//! in-process doors, for a process that uses the stack of a `linnet daemon` (the "net" is a
//! [`Remote`] instead of a [`crate::StackHandle`]).
//!
//! - blocking, `std`-like: [`TcpListener`], [`TcpStream`] (`Read` / `Write`), [`UdpSocket`],
//!   with the method names and semantics of [`crate::TcpListener`], [`crate::TcpStream`]
//!   and [`crate::UdpSocket`] (timeouts, `set_nonblocking`, `try_clone`, `shutdown`, ...);
//! - async ([`tokio`](mod@self::tokio), cargo feature `tokio`): `TcpListener`, `TcpStream`
//!   (tokio's `AsyncRead` / `AsyncWrite`) and `UdpSocket`, woken by the readiness of their
//!   control connections;
//! - kernel-style: [`crate::kernel::sock_create_kern`] takes a `&Remote` as its `net`, and
//!   every `sock.ops()` call, `kernel_sendmsg`, `kernel_recvmsg` and `sock_release` then
//!   runs in the daemon.
//!
//! Linux: net/socket.c (the system calls each request stands for, `dup` and the file
//! reference count behind [`TcpStream::try_clone`]), net/unix/af_unix.c (the transport,
//! and `SCM_RIGHTS`, whose role the daemon's Dup / Attach tokens play), include/linux/net.h.
//! RFCs: none here (the daemon's stack speaks them).
//!
//! # Shape
//! Every socket is a socket of the daemon's stack, made with the control protocol's
//! system-call requests ([`crate::control::Request`], version 6), which the daemon answers
//! through the core's socket layer with Linux's errno. A connection answers one request at
//! a time, and a blocking request (a `recv` with nothing queued) holds it, so a socket here
//! has its own connection, and a second one, attached to the same daemon socket (the
//! Dup / Attach tokens), for its receives: a thread blocked reading does not hold up a
//! thread writing the same stream. [`TcpStream::try_clone`] is `dup`: one more pair of
//! connections on the same socket (options, timeouts and `O_NONBLOCK` live in the daemon's
//! socket, so clones share them as `dup`'d descriptors do); the socket closes when the last
//! handle is dropped. Timeouts are `SO_RCVTIMEO` / `SO_SNDTIMEO` of the daemon's socket,
//! `set_nonblocking` its `O_NONBLOCK`: the daemon waits exactly as the in-process doors do.
//!
//! Errors are `io::Error`s with Linux's errno (`raw_os_error()`), as in-process: a read
//! that times out is EAGAIN (`WouldBlock`), a refused connect ECONNREFUSED. A daemon that
//! went away shows as the connection's error (`UnexpectedEof`, `BrokenPipe`).
//!
//! # Cost
//! A blocking socket uses one control connection, two once it has received; an async
//! stream two, three once a synchronous call (`set_nodelay`, `peer_addr`, ...) was made.
//! The daemon serves each connection with a thread and serves at most
//! [`crate::control::MAX_CLIENTS`] connections by default (EAGAIN "too many clients"
//! past it): a process with hundreds of sockets needs a daemon started with a higher
//! limit. Opening a socket is a few local round trips (greeting, `socket`, `Dup` /
//! `Attach`).
//!
//! Deviation from Linux (and from the in-process doors): one request moves at most
//! [`MAX_IO`] bytes, so a `read` or `write` bigger than that is a short one (legal for
//! both); `write_all` / `read_exact` loop as usual.

use std::fmt;
use std::io;
use std::net::{Shutdown, SocketAddr, SocketAddrV4};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use linnet_core::socket::addr::{
    AF_INET, MSG_PEEK, SHUT_RD, SHUT_RDWR, SHUT_WR, SOCK_DGRAM, SOCK_STREAM,
};
use linnet_core::socket::opt::{
    IP_TTL, SOL_IP, SOL_SOCKET, SOL_TCP, SO_BROADCAST, SO_ERROR, SO_LINGER, SO_RCVBUF, SO_RCVTIMEO,
    SO_REUSEADDR, SO_SNDTIMEO, TCP_NODELAY,
};
use linnet_core::{Errno, SockAddr};

use crate::control::{Client, ClientError, DaemonStats, SockId, MAX_IO};
use crate::{errno_to_io, v4};

#[cfg(feature = "tokio")]
mod reactor;
#[cfg(feature = "tokio")]
pub mod tokio;

/// `POLLIN`.
const POLLIN: u32 = 0x001;
/// `POLLOUT`.
const POLLOUT: u32 = 0x004;

/// A daemon's stack, reached through its control socket: the `net` of the remote doors.
/// Cheap to clone; every socket opens its own connections to the path.
#[derive(Clone)]
pub struct Remote {
    inner: Arc<RemoteInner>,
}

struct RemoteInner {
    path: PathBuf,
    #[cfg(feature = "tokio")]
    reactor: Mutex<Option<Arc<reactor::Reactor>>>,
}

impl fmt::Debug for Remote {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Remote")
            .field("path", &self.inner.path)
            .finish()
    }
}

impl Remote {
    /// The daemon at `path`: connects once to check that it answers and speaks this
    /// protocol version.
    pub fn connect(path: impl AsRef<Path>) -> io::Result<Remote> {
        let path = path.as_ref().to_path_buf();
        Client::connect(&path)?;
        Ok(Remote {
            inner: Arc::new(RemoteInner {
                path,
                #[cfg(feature = "tokio")]
                reactor: Mutex::new(None),
            }),
        })
    }

    /// The control socket's path.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// A new connection to the daemon.
    pub fn client(&self) -> io::Result<Client> {
        Ok(Client::connect(&self.inner.path)?)
    }

    /// The daemon's counters (its sockets and clients).
    pub fn stats(&self) -> io::Result<DaemonStats> {
        Ok(self.client()?.stats()?)
    }

    #[cfg(feature = "tokio")]
    fn reactor(&self) -> io::Result<Arc<reactor::Reactor>> {
        let mut r = self
            .inner
            .reactor
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(r) = &*r {
            return Ok(r.clone());
        }
        let new = Arc::new(reactor::Reactor::start()?);
        *r = Some(new.clone());
        Ok(new)
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A connection holding one socket of the daemon.
pub(crate) struct Held {
    pub(crate) client: Client,
    pub(crate) id: SockId,
}

impl Held {
    /// Attaches the socket `token` names on a new connection.
    fn attach(remote: &Remote, token: u64) -> io::Result<Held> {
        let mut client = remote.client()?;
        let id = client.attach(token)?;
        Ok(Held { client, id })
    }
}

/// One daemon socket as a front door holds it: its main connection (every call but the
/// receives), and a second connection on the same socket for receives, attached on first
/// use. Dropping it closes the socket on both connections (the socket itself closes if no
/// other handle holds it).
pub(crate) struct SockConn {
    remote: Remote,
    main: Mutex<Held>,
    rx: Mutex<Option<Held>>,
}

impl fmt::Debug for SockConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SockConn")
            .field("path", &self.remote.inner.path)
            .field("id", &lock(&self.main).id)
            .finish()
    }
}

impl SockConn {
    /// `socket(family, type, protocol)` on a new connection.
    pub(crate) fn socket(
        remote: &Remote,
        family: i32,
        ty: i32,
        protocol: i32,
        kern: bool,
    ) -> Result<SockConn, ClientError> {
        let mut client = remote.client().map_err(ClientError::Io)?;
        let id = client.sys_socket(family, ty, protocol, kern)?;
        Ok(SockConn::held(remote, Held { client, id }))
    }

    /// `socket()` + `SO_REUSEADDR` (as `std`) + `bind(addr)` + `listen(backlog)`: the
    /// blocking and the async listener's socket.
    fn listener(remote: &Remote, addr: SocketAddr, backlog: u32) -> io::Result<SockConn> {
        let addr = v4(addr)?;
        let s = SockConn::socket(remote, AF_INET, SOCK_STREAM, 0, false)?;
        s.setsockopt_int(SOL_SOCKET, SO_REUSEADDR, 1)?;
        s.bind(addr)?;
        s.io(|c, id| c.listen(id, backlog))?;
        Ok(s)
    }

    fn held(remote: &Remote, h: Held) -> SockConn {
        SockConn {
            remote: remote.clone(),
            main: Mutex::new(h),
            rx: Mutex::new(None),
        }
    }

    /// Moves socket `id` of `from` (an accepted one) to a connection of its own.
    pub(crate) fn adopt(
        remote: &Remote,
        from: &mut Client,
        id: SockId,
    ) -> Result<SockConn, ClientError> {
        let token = from.dup(id);
        let h = token.and_then(|t| Held::attach(remote, t).map_err(ClientError::Io));
        from.close(id)?;
        Ok(SockConn::held(remote, h?))
    }

    /// A token for the socket ([`Client::attach`] on another connection).
    pub(crate) fn token(&self) -> Result<u64, ClientError> {
        self.call(|c, id| c.dup(id))
    }

    /// `dup`: a new handle (its own connections) on the same socket.
    pub(crate) fn dup(&self) -> io::Result<SockConn> {
        let t = self.token()?;
        Ok(SockConn::held(&self.remote, Held::attach(&self.remote, t)?))
    }

    /// The daemon.
    pub(crate) fn remote(&self) -> &Remote {
        &self.remote
    }

    /// A call on the main connection.
    pub(crate) fn call<T>(
        &self,
        f: impl FnOnce(&mut Client, SockId) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let mut h = lock(&self.main);
        let h = &mut *h;
        f(&mut h.client, h.id)
    }

    /// A call on the receive connection (attached on first use).
    pub(crate) fn call_rx<T>(
        &self,
        f: impl FnOnce(&mut Client, SockId) -> Result<T, ClientError>,
    ) -> Result<T, ClientError> {
        let mut rx = lock(&self.rx);
        if rx.is_none() {
            let t = self.token()?;
            *rx = Some(Held::attach(&self.remote, t).map_err(ClientError::Io)?);
        }
        match &mut *rx {
            Some(h) => f(&mut h.client, h.id),
            None => Err(ClientError::Protocol("no receive connection".into())),
        }
    }

    fn io<T>(
        &self,
        f: impl FnOnce(&mut Client, SockId) -> Result<T, ClientError>,
    ) -> io::Result<T> {
        self.call(f).map_err(io::Error::from)
    }

    fn io_rx<T>(
        &self,
        f: impl FnOnce(&mut Client, SockId) -> Result<T, ClientError>,
    ) -> io::Result<T> {
        self.call_rx(f).map_err(io::Error::from)
    }

    fn setsockopt_int(&self, level: i32, name: i32, v: i32) -> io::Result<()> {
        self.io(|c, id| c.setsockopt(id, level, name, &v.to_ne_bytes()))
    }

    fn getsockopt_int(&self, level: i32, name: i32) -> io::Result<i32> {
        let v = self.io(|c, id| c.getsockopt(id, level, name, 4))?;
        Ok(v.get(..4)
            .and_then(|b| b.try_into().ok())
            .map_or(0, i32::from_ne_bytes))
    }

    /// `SO_RCVTIMEO` / `SO_SNDTIMEO` as `std` sets them: zero is EINVAL, `None` is 0.
    fn set_timeo(&self, name: i32, t: Option<Duration>) -> io::Result<()> {
        if t == Some(Duration::ZERO) {
            return Err(errno_to_io(Errno::EINVAL));
        }
        let t = t.unwrap_or(Duration::ZERO);
        let mut tv = [0u8; 16];
        let sec = i64::try_from(t.as_secs()).unwrap_or(i64::MAX);
        let mut usec = i64::from(t.subsec_micros());
        if sec == 0 && usec == 0 {
            // A timeout below 1 µs would read as "none": round up, as std does.
            usec = i64::from(!t.is_zero());
        }
        tv[..8].copy_from_slice(&sec.to_ne_bytes());
        tv[8..].copy_from_slice(&usec.to_ne_bytes());
        self.io(|c, id| c.setsockopt(id, SOL_SOCKET, name, &tv))
    }

    fn timeo(&self, name: i32) -> io::Result<Option<Duration>> {
        let tv = self.io(|c, id| c.getsockopt(id, SOL_SOCKET, name, 16))?;
        let word = |r: std::ops::Range<usize>| {
            tv.get(r)
                .and_then(|b| b.try_into().ok())
                .map_or(0, i64::from_ne_bytes)
        };
        let d = Duration::from_secs(u64::try_from(word(0..8)).unwrap_or(0))
            + Duration::from_micros(u64::try_from(word(8..16)).unwrap_or(0));
        Ok((!d.is_zero()).then_some(d))
    }

    fn take_error(&self) -> io::Result<Option<io::Error>> {
        let e = self.getsockopt_int(SOL_SOCKET, SO_ERROR)?;
        Ok((e != 0).then(|| io::Error::from_raw_os_error(e)))
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.io(|c, id| c.local_addr(id)).map(SocketAddr::V4)
    }

    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.io(|c, id| c.peer_addr(id)).map(SocketAddr::V4)
    }

    fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.io(|c, id| c.set_nonblock(id, on))
    }

    fn bind(&self, addr: SocketAddrV4) -> io::Result<()> {
        self.io(|c, id| c.bind(id, addr))
    }

    fn recv(&self, buf: &mut [u8], flags: i32) -> io::Result<(usize, Option<SocketAddrV4>)> {
        let max = buf.len().min(MAX_IO);
        let m = self.io_rx(|c, id| c.recvmsg(id, max, flags, 0))?;
        let n = m.data.len().min(buf.len());
        buf[..n].copy_from_slice(&m.data[..n]);
        Ok((m.len.min(buf.len()), m.from))
    }

    fn send(&self, buf: &[u8], to: Option<SocketAddrV4>) -> io::Result<usize> {
        let data = &buf[..buf.len().min(MAX_IO)];
        let to = to.map(|a| SockAddr::inet(a).as_bytes().to_vec());
        self.io(|c, id| c.sendmsg(id, data, 0, to.as_deref()))
    }
}

impl Drop for SockConn {
    fn drop(&mut self) {
        // Close on the receive connection first, then on the main one: when the main
        // connection's answer comes, the socket is closed unless another handle holds it.
        if let Some(mut h) = lock(&self.rx).take() {
            let _ = h.client.close(h.id);
        }
        let mut h = lock(&self.main);
        let id = h.id;
        let _ = h.client.close(id);
    }
}

fn shut(how: Shutdown) -> i32 {
    match how {
        Shutdown::Read => SHUT_RD,
        Shutdown::Write => SHUT_WR,
        Shutdown::Both => SHUT_RDWR,
    }
}

/// `connect` with `std`'s `connect_timeout` shape: `O_NONBLOCK`, `connect` (EINPROGRESS),
/// `poll(POLLOUT)` for `timeout` (ETIMEDOUT when it passes), `SO_ERROR`, `O_NONBLOCK` off.
fn connect_timeout(s: &SockConn, addr: SocketAddrV4, timeout: Duration) -> io::Result<()> {
    if timeout.is_zero() {
        return Err(errno_to_io(Errno::EINVAL));
    }
    s.set_nonblocking(true)?;
    match s.io(|c, id| c.connect_socket(id, addr)) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(Errno::EINPROGRESS.code()) => {
            let ev = s.io(|c, id| c.poll(id, POLLOUT, Some(timeout)))?;
            if ev == 0 {
                return Err(errno_to_io(Errno::ETIMEDOUT));
            }
            if let Some(e) = s.take_error()? {
                return Err(e);
            }
        }
        Err(e) => return Err(e),
    }
    s.set_nonblocking(false)
}

/// A TCP listener of the daemon's stack (`std::net::TcpListener`'s shape). Closed on drop.
#[derive(Debug)]
pub struct TcpListener {
    s: SockConn,
}

impl TcpListener {
    /// `socket()` + `SO_REUSEADDR` (as `std`) + `bind(addr)` + `listen(128)`.
    pub fn bind(remote: &Remote, addr: impl Into<SocketAddr>) -> io::Result<TcpListener> {
        TcpListener::bind_with_backlog(remote, addr, crate::tcp::DEFAULT_BACKLOG)
    }

    /// [`TcpListener::bind`] with another backlog.
    pub fn bind_with_backlog(
        remote: &Remote,
        addr: impl Into<SocketAddr>,
        backlog: u32,
    ) -> io::Result<TcpListener> {
        Ok(TcpListener {
            s: SockConn::listener(remote, addr.into(), backlog)?,
        })
    }

    /// `accept`: the next connection (waiting unless non-blocking: EAGAIN), as a stream
    /// with connections of its own.
    pub fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        let (s, peer) = self
            .s
            .call(|c, id| {
                let (child, peer) = c.accept4(id, 0)?;
                Ok((SockConn::adopt(&self.s.remote, c, child)?, peer))
            })
            .map_err(io::Error::from)?;
        Ok((TcpStream { s }, SocketAddr::V4(peer)))
    }

    /// `accept` waiting at most `timeout` (`None`: for ever, up to `SO_RCVTIMEO`): `poll`
    /// for it first; EAGAIN when it passes.
    pub fn accept_timeout(&self, timeout: Option<Duration>) -> io::Result<(TcpStream, SocketAddr)> {
        if let Some(t) = timeout {
            if self.s.io(|c, id| c.poll(id, POLLIN, Some(t)))? == 0 {
                return Err(errno_to_io(Errno::EAGAIN));
            }
        }
        self.accept()
    }

    /// Accepted connections, for ever.
    pub fn incoming(&self) -> impl Iterator<Item = io::Result<TcpStream>> + '_ {
        std::iter::repeat_with(move || self.accept().map(|(s, _)| s))
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.s.local_addr()
    }

    /// `O_NONBLOCK`: `accept` returns EAGAIN instead of waiting.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.s.set_nonblocking(on)
    }

    /// `dup`.
    pub fn try_clone(&self) -> io::Result<TcpListener> {
        Ok(TcpListener { s: self.s.dup()? })
    }

    /// `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.s.take_error()
    }

    /// `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.s
            .setsockopt_int(SOL_IP, IP_TTL, i32::try_from(ttl).unwrap_or(i32::MAX))
    }

    /// The daemon.
    pub fn remote(&self) -> &Remote {
        self.s.remote()
    }
}

/// A TCP connection of the daemon's stack (`std::net::TcpStream`'s shape): `Read` and
/// `Write` on it and on `&TcpStream`. Closed on drop of the last handle.
#[derive(Debug)]
pub struct TcpStream {
    s: SockConn,
}

impl TcpStream {
    /// `socket()` + a blocking `connect(addr)` (ECONNREFUSED, ETIMEDOUT, ENETUNREACH).
    pub fn connect(remote: &Remote, addr: impl Into<SocketAddr>) -> io::Result<TcpStream> {
        let addr = v4(addr.into())?;
        let s = SockConn::socket(remote, AF_INET, SOCK_STREAM, 0, false)?;
        s.io(|c, id| c.connect_socket(id, addr))?;
        Ok(TcpStream { s })
    }

    /// [`TcpStream::connect`] giving up after `timeout` (ETIMEDOUT); zero is EINVAL.
    pub fn connect_timeout(
        remote: &Remote,
        addr: &SocketAddr,
        timeout: Duration,
    ) -> io::Result<TcpStream> {
        let addr = v4(*addr)?;
        if timeout.is_zero() {
            return Err(errno_to_io(Errno::EINVAL));
        }
        let s = SockConn::socket(remote, AF_INET, SOCK_STREAM, 0, false)?;
        connect_timeout(&s, addr, timeout)?;
        Ok(TcpStream { s })
    }

    /// `socket()` + `bind(local)` + a blocking `connect(addr)`.
    pub fn connect_from(
        remote: &Remote,
        local: impl Into<SocketAddr>,
        addr: impl Into<SocketAddr>,
    ) -> io::Result<TcpStream> {
        let (local, addr) = (v4(local.into())?, v4(addr.into())?);
        let s = SockConn::socket(remote, AF_INET, SOCK_STREAM, 0, false)?;
        s.bind(local)?;
        s.io(|c, id| c.connect_socket(id, addr))?;
        Ok(TcpStream { s })
    }

    /// `shutdown(how)`.
    pub fn shutdown(&self, how: Shutdown) -> io::Result<()> {
        self.s.io(|c, id| c.shutdown_raw(id, shut(how)))
    }

    /// `MSG_PEEK`: reads without taking.
    pub fn peek(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.s.recv(buf, MSG_PEEK).map(|(n, _)| n)
    }

    /// `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        self.s.setsockopt_int(SOL_TCP, TCP_NODELAY, i32::from(on))
    }

    /// The `TCP_NODELAY` setting.
    pub fn nodelay(&self) -> io::Result<bool> {
        Ok(self.s.getsockopt_int(SOL_TCP, TCP_NODELAY)? != 0)
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.s.local_addr()
    }

    /// `getpeername` (ENOTCONN once the connection is gone).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.s.peer_addr()
    }

    /// `SO_RCVTIMEO` (`None`: block for ever; zero is EINVAL, as in `std`).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.s.set_timeo(SO_RCVTIMEO, timeout)
    }

    /// `SO_SNDTIMEO` (`None`: block for ever; zero is EINVAL).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.s.set_timeo(SO_SNDTIMEO, timeout)
    }

    /// The read timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.s.timeo(SO_RCVTIMEO)
    }

    /// The write timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.s.timeo(SO_SNDTIMEO)
    }

    /// `O_NONBLOCK`: reads and writes return EAGAIN instead of waiting.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.s.set_nonblocking(on)
    }

    /// `dup`: a second handle on the same socket, sharing its options and flags.
    pub fn try_clone(&self) -> io::Result<TcpStream> {
        Ok(TcpStream { s: self.s.dup()? })
    }

    /// `SO_LINGER` (whole seconds).
    pub fn set_linger(&self, linger: Option<Duration>) -> io::Result<()> {
        let mut l = [0u8; 8];
        let secs = linger.map_or(0, |d| i32::try_from(d.as_secs()).unwrap_or(i32::MAX));
        l[..4].copy_from_slice(&i32::from(linger.is_some()).to_ne_bytes());
        l[4..].copy_from_slice(&secs.to_ne_bytes());
        self.s
            .io(|c, id| c.setsockopt(id, SOL_SOCKET, SO_LINGER, &l))
    }

    /// `SO_LINGER` as set.
    pub fn linger(&self) -> io::Result<Option<Duration>> {
        let l = self
            .s
            .io(|c, id| c.getsockopt(id, SOL_SOCKET, SO_LINGER, 8))?;
        let word = |r: std::ops::Range<usize>| {
            l.get(r)
                .and_then(|b| b.try_into().ok())
                .map_or(0, i32::from_ne_bytes)
        };
        Ok((word(0..4) != 0).then(|| Duration::from_secs(u64::try_from(word(4..8)).unwrap_or(0))))
    }

    /// `IP_TTL`.
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.s
            .setsockopt_int(SOL_IP, IP_TTL, i32::try_from(ttl).unwrap_or(i32::MAX))
    }

    /// `IP_TTL` as read back.
    pub fn ttl(&self) -> io::Result<u32> {
        Ok(u32::try_from(self.s.getsockopt_int(SOL_IP, IP_TTL)?).unwrap_or(0))
    }

    /// `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.s.take_error()
    }

    /// The daemon.
    pub fn remote(&self) -> &Remote {
        self.s.remote()
    }
}

impl io::Read for &TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.s.recv(buf, 0).map(|(n, _)| n)
    }
}

impl io::Write for &TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.is_empty() {
            return Ok(0);
        }
        self.s.send(buf, None)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl io::Read for TcpStream {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        (&*self).read(buf)
    }
}

impl io::Write for TcpStream {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        (&*self).write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A UDP socket of the daemon's stack (`std::net::UdpSocket`'s shape). Closed on drop of
/// the last handle.
#[derive(Debug)]
pub struct UdpSocket {
    s: SockConn,
}

impl UdpSocket {
    /// `socket()` + `bind(addr)` (port 0: an ephemeral port).
    pub fn bind(remote: &Remote, addr: impl Into<SocketAddr>) -> io::Result<UdpSocket> {
        let addr = v4(addr.into())?;
        let s = UdpSocket::unbound(remote)?;
        s.s.bind(addr)?;
        Ok(s)
    }

    /// `socket()` without `bind()`: the first send binds an ephemeral port.
    pub fn unbound(remote: &Remote) -> io::Result<UdpSocket> {
        Ok(UdpSocket {
            s: SockConn::socket(remote, AF_INET, SOCK_DGRAM, 0, false)?,
        })
    }

    /// `connect(addr)`: the default destination, and only its datagrams are received.
    pub fn connect(&self, addr: impl Into<SocketAddr>) -> io::Result<()> {
        let addr = v4(addr.into())?;
        self.s.io(|c, id| c.connect_socket(id, addr))
    }

    /// `sendto`.
    pub fn send_to(&self, buf: &[u8], addr: impl Into<SocketAddr>) -> io::Result<usize> {
        self.s.send(buf, Some(v4(addr.into())?))
    }

    /// `send` on a connected socket (EDESTADDRREQ otherwise).
    pub fn send(&self, buf: &[u8]) -> io::Result<usize> {
        self.s.send(buf, None)
    }

    /// `recvfrom`: the next datagram (truncated to `buf`) and its sender.
    pub fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.s.recv(buf, 0)?;
        let from = from.ok_or_else(|| errno_to_io(Errno::EPROTO))?;
        Ok((n, SocketAddr::V4(from)))
    }

    /// `recv`.
    pub fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.s.recv(buf, 0).map(|(n, _)| n)
    }

    /// `recvfrom` with `MSG_PEEK`.
    pub fn peek_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let (n, from) = self.s.recv(buf, MSG_PEEK)?;
        let from = from.ok_or_else(|| errno_to_io(Errno::EPROTO))?;
        Ok((n, SocketAddr::V4(from)))
    }

    /// `SO_RCVTIMEO` (`None`: for ever; zero is EINVAL).
    pub fn set_read_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.s.set_timeo(SO_RCVTIMEO, timeout)
    }

    /// The receive timeout.
    pub fn read_timeout(&self) -> io::Result<Option<Duration>> {
        self.s.timeo(SO_RCVTIMEO)
    }

    /// `SO_SNDTIMEO` (`None`: for ever; zero is EINVAL).
    pub fn set_write_timeout(&self, timeout: Option<Duration>) -> io::Result<()> {
        self.s.set_timeo(SO_SNDTIMEO, timeout)
    }

    /// The send timeout.
    pub fn write_timeout(&self) -> io::Result<Option<Duration>> {
        self.s.timeo(SO_SNDTIMEO)
    }

    /// `dup`.
    pub fn try_clone(&self) -> io::Result<UdpSocket> {
        Ok(UdpSocket { s: self.s.dup()? })
    }

    /// `O_NONBLOCK`.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.s.set_nonblocking(on)
    }

    /// `SO_BROADCAST`.
    pub fn set_broadcast(&self, on: bool) -> io::Result<()> {
        self.s
            .setsockopt_int(SOL_SOCKET, SO_BROADCAST, i32::from(on))
    }

    /// The `SO_BROADCAST` setting.
    pub fn broadcast(&self) -> io::Result<bool> {
        Ok(self.s.getsockopt_int(SOL_SOCKET, SO_BROADCAST)? != 0)
    }

    /// `IP_TTL` (1..=255; EINVAL otherwise).
    pub fn set_ttl(&self, ttl: u32) -> io::Result<()> {
        self.s
            .setsockopt_int(SOL_IP, IP_TTL, i32::try_from(ttl).unwrap_or(i32::MAX))
    }

    /// `IP_TTL` as read back.
    pub fn ttl(&self) -> io::Result<u32> {
        Ok(u32::try_from(self.s.getsockopt_int(SOL_IP, IP_TTL)?).unwrap_or(0))
    }

    /// `SO_RCVBUF` (doubled, as Linux does).
    pub fn set_recv_buffer_size(&self, bytes: usize) -> io::Result<()> {
        self.s.setsockopt_int(
            SOL_SOCKET,
            SO_RCVBUF,
            i32::try_from(bytes).unwrap_or(i32::MAX),
        )
    }

    /// `SO_RCVBUF` as read back.
    pub fn recv_buffer_size(&self) -> io::Result<usize> {
        Ok(usize::try_from(self.s.getsockopt_int(SOL_SOCKET, SO_RCVBUF)?).unwrap_or(0))
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.s.local_addr()
    }

    /// `getpeername` (ENOTCONN unless connected).
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.s.peer_addr()
    }

    /// `SO_ERROR`.
    pub fn take_error(&self) -> io::Result<Option<io::Error>> {
        self.s.take_error()
    }

    /// `poll(POLLIN)` for up to `timeout`: whether a datagram (or an error) is waiting.
    pub fn poll_readable(&self, timeout: Option<Duration>) -> io::Result<bool> {
        Ok(self.s.io_rx(|c, id| c.poll(id, POLLIN, timeout))? != 0)
    }

    /// The daemon.
    pub fn remote(&self) -> &Remote {
        self.s.remote()
    }
}

//! The async remote door: [`TcpListener`], [`TcpStream`] (tokio's `AsyncRead` /
//! `AsyncWrite`) and [`UdpSocket`] of a daemon's stack, the shapes of [`crate::tokio`]'s.
//!
//! Linux: net/socket.c (the calls), fs/eventpoll.c (readiness), net/unix/af_unix.c (the
//! transport). RFCs: none here.
//!
//! # Readiness and cancellation
//! Each socket speaks the control protocol on non-blocking connections watched by the
//! [`super::Remote`]'s reactor thread (`mio`): a task waiting for an answer parks its waker
//! on its connection's readiness, so no task blocks a thread and any executor can poll
//! these types (no tokio runtime is needed, as for [`crate::tokio`]). A stream has two
//! connections on the same daemon socket, one for reads and one for writes, so a task
//! reading and another writing (or the halves of [`TcpStream::into_split`]) move data both
//! ways at once. A third, blocking one is opened on first use of the synchronous calls
//! (`set_nodelay`, `peer_addr`, ...).
//!
//! A request in flight lives in the socket, not in the future that sent it: a dropped
//! `read` / `accept` / `recv_from` future leaves its request running, and the next call
//! takes its answer (bytes beyond the caller's buffer are kept for the next read), so
//! cancelling loses no data and no connection.
//!
//! Writes are handed to the daemon: `poll_write` accepts the bytes (at most
//! [`super::MAX_IO`]) and answers at once while the daemon queues them; the next write,
//! `poll_flush` or `poll_shutdown` waits for that and reports its error if it failed.
//! Deviation from Linux: a write counts as done once it is on its way to the daemon, not
//! once it is in the socket's send buffer, so flush (or shut down) before dropping a
//! stream to be sure the bytes were queued, and an error shows on the next call. Setting up
//! a socket (the connections' greeting, `Attach`) is done with blocking round trips to the
//! local daemon; the calls that wait on the network (`connect`, `accept`, reads, writes)
//! never block.

use std::future::poll_fn;
use std::io::{self, Read, Write};
use std::net::{SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};

use linnet_core::socket::addr::{AF_INET, SHUT_WR, SOCK_DGRAM, SOCK_STREAM};
use linnet_core::socket::opt::{SOL_TCP, TCP_NODELAY};
use linnet_core::SockAddr;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::reactor::{Dir, Reactor, Registration};
use super::{lock, Held, Remote, SockConn};
use crate::control::proto::{decode_frame, encode_frame, MAX_FRAME, MAX_IO};
use crate::control::{ClientError, Request, Response, SockId};
use crate::v4;

/// How much one read asks the daemon for (what it returns beyond the caller's buffer is
/// kept for the next read).
const READ_CHUNK: usize = 64 * 1024;

/// One control connection driven without blocking: at most one request in flight, kept
/// across dropped futures.
struct AsyncConn {
    // Declared before the stream: deregistered before the fd closes.
    reg: Arc<Registration>,
    stream: UnixStream,
    _reactor: Arc<Reactor>,
    id: SockId,
    out: Vec<u8>,
    out_pos: usize,
    inbuf: Vec<u8>,
    in_flight: bool,
}

impl std::fmt::Debug for AsyncConn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncConn")
            .field("id", &self.id)
            .field("in_flight", &self.in_flight)
            .finish()
    }
}

fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the daemon closed the connection",
    )
}

impl AsyncConn {
    fn new(remote: &Remote, h: Held) -> io::Result<AsyncConn> {
        let reactor = remote.reactor()?;
        let stream = h.client.into_stream();
        stream.set_nonblocking(true)?;
        let reg = reactor.register(stream.as_raw_fd())?;
        Ok(AsyncConn {
            reg,
            stream,
            _reactor: reactor,
            id: h.id,
            out: Vec::new(),
            out_pos: 0,
            inbuf: Vec::new(),
            in_flight: false,
        })
    }

    /// A new connection holding the socket `token` names.
    fn attach(remote: &Remote, token: u64) -> io::Result<AsyncConn> {
        AsyncConn::new(remote, Held::attach(remote, token)?)
    }

    /// Sends `req()` unless a request is already in flight, then waits for the answer to
    /// the request in flight. [`Response::Error`] becomes [`ClientError::Remote`].
    fn poll_call(
        &mut self,
        cx: &mut Context<'_>,
        req: impl FnOnce(SockId) -> Request,
    ) -> Poll<Result<Response, ClientError>> {
        if !self.in_flight {
            self.out = encode_frame(&req(self.id)).map_err(ClientError::Io)?;
            self.out_pos = 0;
            self.inbuf.clear();
            self.in_flight = true;
        }
        while self.out_pos < self.out.len() {
            let tick = self.reg.tick(Dir::Write);
            match (&self.stream).write(&self.out[self.out_pos..]) {
                Ok(n) => self.out_pos += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if self.reg.park(Dir::Write, tick, cx.waker()) {
                        return Poll::Pending;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return self.fail(e),
            }
        }
        loop {
            let need = if self.inbuf.len() < 4 {
                4
            } else {
                let len = u32::from_be_bytes([
                    self.inbuf[0],
                    self.inbuf[1],
                    self.inbuf[2],
                    self.inbuf[3],
                ]) as usize;
                if len > MAX_FRAME {
                    return self.fail(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!("frame of {len} bytes exceeds the limit"),
                    ));
                }
                4 + len
            };
            if self.inbuf.len() >= 4 && self.inbuf.len() == need {
                let r = decode_frame::<Response>(&self.inbuf[4..]);
                self.in_flight = false;
                self.inbuf.clear();
                return Poll::Ready(match r {
                    Ok(Response::Error { errno, message }) => {
                        Err(ClientError::Remote { errno, message })
                    }
                    Ok(r) => Ok(r),
                    Err(e) => Err(e.into()),
                });
            }
            let have = self.inbuf.len();
            self.inbuf.resize(need, 0);
            let tick = self.reg.tick(Dir::Read);
            match (&self.stream).read(&mut self.inbuf[have..]) {
                Ok(0) => {
                    self.inbuf.truncate(have);
                    return self.fail(closed());
                }
                Ok(n) => self.inbuf.truncate(have + n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.inbuf.truncate(have);
                    if self.reg.park(Dir::Read, tick, cx.waker()) {
                        return Poll::Pending;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.inbuf.truncate(have),
                Err(e) => {
                    self.inbuf.truncate(have);
                    return self.fail(e);
                }
            }
        }
    }

    fn fail<T>(&mut self, e: io::Error) -> Poll<Result<T, ClientError>> {
        // The connection is unusable; every later call fails the same way.
        self.in_flight = true;
        self.out.clear();
        self.out_pos = 0;
        let _ = self.stream.shutdown(std::net::Shutdown::Both);
        Poll::Ready(Err(ClientError::Io(e)))
    }

    async fn call(&mut self, req: impl FnOnce(SockId) -> Request) -> Result<Response, ClientError> {
        let mut req = Some(req);
        poll_fn(|cx| {
            self.poll_call(cx, |id| match req.take() {
                Some(r) => r(id),
                None => Request::Stats,
            })
        })
        .await
    }
}

fn unexpected(call: &str, r: &Response) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("unexpected answer to {call}: {r:?}"),
    )
}

fn ok(call: &str, r: Result<Response, ClientError>) -> io::Result<()> {
    match r? {
        Response::Ok => Ok(()),
        r => Err(unexpected(call, &r)),
    }
}

/// A socket's synchronous calls, on a blocking connection opened on first use.
#[derive(Debug)]
struct Ctl {
    remote: Remote,
    token: u64,
    conn: Mutex<Option<SockConn>>,
}

impl Ctl {
    fn call<T>(
        &self,
        f: impl FnOnce(&mut crate::control::Client, SockId) -> Result<T, ClientError>,
    ) -> io::Result<T> {
        let mut c = lock(&self.conn);
        if c.is_none() {
            let h = Held::attach(&self.remote, self.token)?;
            *c = Some(SockConn::held(&self.remote, h));
        }
        match &*c {
            Some(s) => s.io(f),
            None => Err(closed()),
        }
    }

    /// `getsockname`.
    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.call(|c, id| c.local_addr(id)).map(SocketAddr::V4)
    }

    /// `getpeername`.
    fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.call(|c, id| c.peer_addr(id)).map(SocketAddr::V4)
    }
}

/// A TCP listener of the daemon's stack, async.
#[derive(Debug)]
pub struct TcpListener {
    conn: Mutex<AsyncConn>,
    state: Mutex<AcceptState>,
    ctl: Ctl,
}

#[derive(Debug)]
enum AcceptState {
    Idle,
    Accepting,
    Duping {
        child: SockId,
        peer: SocketAddrV4,
    },
    Closing {
        stream: Box<TcpStream>,
        child: SockId,
        peer: SocketAddrV4,
    },
}

impl TcpListener {
    /// `socket()` + `SO_REUSEADDR` + `bind(addr)` + `listen(128)`.
    pub async fn bind(remote: &Remote, addr: impl Into<SocketAddr>) -> io::Result<TcpListener> {
        TcpListener::bind_with_backlog(remote, addr, crate::tcp::DEFAULT_BACKLOG)
    }

    /// [`TcpListener::bind`] with another backlog.
    pub fn bind_with_backlog(
        remote: &Remote,
        addr: impl Into<SocketAddr>,
        backlog: u32,
    ) -> io::Result<TcpListener> {
        let s = SockConn::listener(remote, addr.into(), backlog)?;
        let token = s.token()?;
        let conn = AsyncConn::attach(remote, token)?;
        Ok(TcpListener {
            conn: Mutex::new(conn),
            state: Mutex::new(AcceptState::Idle),
            ctl: Ctl {
                remote: remote.clone(),
                token,
                conn: Mutex::new(Some(s)),
            },
        })
    }

    /// The next connection (cancel-safe: a dropped `accept` loses no connection).
    pub async fn accept(&self) -> io::Result<(TcpStream, SocketAddr)> {
        poll_fn(|cx| self.poll_accept(cx)).await
    }

    /// Polls for the next connection.
    pub fn poll_accept(&self, cx: &mut Context<'_>) -> Poll<io::Result<(TcpStream, SocketAddr)>> {
        let mut conn = lock(&self.conn);
        let mut st = lock(&self.state);
        loop {
            match std::mem::replace(&mut *st, AcceptState::Idle) {
                AcceptState::Idle | AcceptState::Accepting => {
                    *st = AcceptState::Accepting;
                    let r = ready!(conn.poll_call(cx, |id| Request::Accept { id, flags: 0 }));
                    *st = AcceptState::Idle;
                    match r? {
                        Response::Accepted { id, peer } => {
                            *st = AcceptState::Duping { child: id, peer }
                        }
                        r => return Poll::Ready(Err(unexpected("Accept", &r))),
                    }
                }
                AcceptState::Duping { child, peer } => {
                    *st = AcceptState::Duping { child, peer };
                    let r = ready!(conn.poll_call(cx, |_| Request::Dup { id: child }));
                    let stream = match r {
                        Ok(Response::Token(t)) => TcpStream::attach(&self.ctl.remote, t),
                        Ok(r) => Err(unexpected("Dup", &r)),
                        Err(e) => Err(e.into()),
                    };
                    match stream {
                        Ok(s) => {
                            *st = AcceptState::Closing {
                                stream: Box::new(s),
                                child,
                                peer,
                            }
                        }
                        Err(e) => {
                            // Let the connection go; the accepted socket closes with it.
                            *st = AcceptState::Idle;
                            let _ = self.ctl.call(|c, _| c.close(child));
                            return Poll::Ready(Err(e));
                        }
                    }
                }
                AcceptState::Closing {
                    stream,
                    child,
                    peer,
                } => {
                    let r = conn.poll_call(cx, |_| Request::Close { id: child });
                    match r {
                        Poll::Pending => {
                            *st = AcceptState::Closing {
                                stream,
                                child,
                                peer,
                            };
                            return Poll::Pending;
                        }
                        Poll::Ready(r) => {
                            ok("Close", r)
                                .map_err(
                                    |e| tracing::debug!(error = %e, "remote accept: close failed"),
                                )
                                .ok();
                            return Poll::Ready(Ok((*stream, SocketAddr::V4(peer))));
                        }
                    }
                }
            }
        }
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.ctl.local_addr()
    }

    /// The daemon.
    pub fn remote(&self) -> &Remote {
        &self.ctl.remote
    }
}

/// A TCP connection of the daemon's stack: tokio's `AsyncRead` / `AsyncWrite`.
#[derive(Debug)]
pub struct TcpStream {
    rd: ReadHalf,
    wr: WriteHalf,
    ctl: Arc<Ctl>,
}

#[derive(Debug)]
struct ReadHalf {
    conn: AsyncConn,
    buf: Vec<u8>,
    pos: usize,
}

#[derive(Debug)]
struct WriteHalf {
    conn: AsyncConn,
    /// The bytes of the write in flight (resent from `sent` on after a short answer).
    data: Vec<u8>,
    sent: usize,
    /// A failed write's error, for the next call.
    err: Option<io::Error>,
    shut: bool,
}

impl ReadHalf {
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if self.pos < self.buf.len() {
            let n = buf.remaining().min(self.buf.len() - self.pos);
            buf.put_slice(&self.buf[self.pos..self.pos + n]);
            self.pos += n;
            return Poll::Ready(Ok(()));
        }
        if buf.remaining() == 0 {
            return Poll::Ready(Ok(()));
        }
        let r = ready!(self.conn.poll_call(cx, |id| Request::RecvMsg {
            id,
            flags: 0,
            max: READ_CHUNK as u32,
            controllen: 0,
        }));
        match r {
            Ok(Response::Msg { data, .. }) => {
                let n = buf.remaining().min(data.len());
                buf.put_slice(&data[..n]);
                self.buf = data;
                self.pos = n;
                Poll::Ready(Ok(()))
            }
            Ok(r) => Poll::Ready(Err(unexpected("RecvMsg", &r))),
            Err(e) => Poll::Ready(Err(e.into())),
        }
    }
}

impl WriteHalf {
    /// Waits for the write in flight; `Err` if it failed.
    fn poll_settle(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.sent < self.data.len() {
            let (sent, data) = (self.sent, &self.data);
            let r = ready!(self.conn.poll_call(cx, |id| Request::SendMsg {
                id,
                data: data[sent..].to_vec(),
                flags: 0,
                to: None,
            }));
            match r {
                Ok(Response::Sent { len }) if len > 0 => self.sent += len as usize,
                Ok(r) => {
                    self.data.clear();
                    self.sent = 0;
                    return Poll::Ready(Err(unexpected("SendMsg", &r)));
                }
                Err(e) => {
                    self.data.clear();
                    self.sent = 0;
                    return Poll::Ready(Err(e.into()));
                }
            }
        }
        self.data.clear();
        self.sent = 0;
        Poll::Ready(Ok(()))
    }

    fn poll_write(&mut self, cx: &mut Context<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if let Some(e) = self.err.take() {
            return Poll::Ready(Err(e));
        }
        if self.shut {
            return Poll::Ready(Err(io::Error::from_raw_os_error(libc::EPIPE)));
        }
        if let Err(e) = ready!(self.poll_settle(cx)) {
            return Poll::Ready(Err(e));
        }
        if buf.is_empty() {
            return Poll::Ready(Ok(0));
        }
        let n = buf.len().min(MAX_IO);
        self.data = buf[..n].to_vec();
        self.sent = 0;
        // Start it now; its answer is awaited by the next call.
        if let Poll::Ready(Err(e)) = self.poll_settle(cx) {
            self.err = Some(e);
        }
        Poll::Ready(Ok(n))
    }

    fn poll_flush(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if let Some(e) = self.err.take() {
            return Poll::Ready(Err(e));
        }
        self.poll_settle(cx)
    }

    fn poll_shutdown(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_flush(cx))?;
        if self.shut {
            return Poll::Ready(Ok(()));
        }
        let r = ready!(self
            .conn
            .poll_call(cx, |id| Request::Shutdown { id, how: SHUT_WR }));
        self.shut = true;
        Poll::Ready(ok("Shutdown", r))
    }
}

impl TcpStream {
    /// A stream on the socket `token` names: its read and write connections.
    fn attach(remote: &Remote, token: u64) -> io::Result<TcpStream> {
        Ok(TcpStream {
            rd: ReadHalf {
                conn: AsyncConn::attach(remote, token)?,
                buf: Vec::new(),
                pos: 0,
            },
            wr: WriteHalf {
                conn: AsyncConn::attach(remote, token)?,
                data: Vec::new(),
                sent: 0,
                err: None,
                shut: false,
            },
            ctl: Arc::new(Ctl {
                remote: remote.clone(),
                token,
                conn: Mutex::new(None),
            }),
        })
    }

    /// `socket()` + `connect(addr)`: the handshake is awaited, not blocked on.
    pub async fn connect(remote: &Remote, addr: impl Into<SocketAddr>) -> io::Result<TcpStream> {
        TcpStream::connect_inner(remote, None, addr.into()).await
    }

    /// `socket()` + `bind(local)` + `connect(addr)`.
    pub async fn connect_from(
        remote: &Remote,
        local: impl Into<SocketAddr>,
        addr: impl Into<SocketAddr>,
    ) -> io::Result<TcpStream> {
        TcpStream::connect_inner(remote, Some(local.into()), addr.into()).await
    }

    async fn connect_inner(
        remote: &Remote,
        local: Option<SocketAddr>,
        addr: SocketAddr,
    ) -> io::Result<TcpStream> {
        let addr = v4(addr)?;
        let local = local.map(v4).transpose()?;
        let mut c = remote.client()?;
        let id = c.sys_socket(AF_INET, SOCK_STREAM, 0, false)?;
        if let Some(l) = local {
            c.bind(id, l)?;
        }
        let token = c.dup(id)?;
        let mut s = TcpStream::attach(remote, token)?;
        // The first connection becomes the blocking one for the synchronous calls.
        *lock(&s.ctl.conn) = Some(SockConn::held(remote, Held { client: c, id }));
        let a = SockAddr::inet(addr).as_bytes().to_vec();
        let r =
            s.wr.conn
                .call(move |id| Request::Connect { id, addr: a })
                .await;
        ok("Connect", r)?;
        Ok(s)
    }

    /// Splits into halves that move independently (each its own connection; the socket
    /// closes when both are gone).
    pub fn into_split(self) -> (OwnedReadHalf, OwnedWriteHalf) {
        (
            OwnedReadHalf {
                rd: self.rd,
                ctl: self.ctl.clone(),
            },
            OwnedWriteHalf {
                wr: self.wr,
                ctl: self.ctl,
            },
        )
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.ctl.local_addr()
    }

    /// `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.ctl.peer_addr()
    }

    /// `TCP_NODELAY`.
    pub fn set_nodelay(&self, on: bool) -> io::Result<()> {
        let v = i32::from(on).to_ne_bytes();
        self.ctl
            .call(|c, id| c.setsockopt(id, SOL_TCP, TCP_NODELAY, &v))
    }

    /// The `TCP_NODELAY` setting.
    pub fn nodelay(&self) -> io::Result<bool> {
        let v = self
            .ctl
            .call(|c, id| c.getsockopt(id, SOL_TCP, TCP_NODELAY, 4))?;
        Ok(v.iter().any(|&b| b != 0))
    }

    /// The daemon.
    pub fn remote(&self) -> &Remote {
        &self.ctl.remote
    }
}

/// `AsyncRead` on a type's `rd: ReadHalf`.
macro_rules! async_read_by_rd {
    ($t:ty) => {
        impl AsyncRead for $t {
            fn poll_read(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &mut ReadBuf<'_>,
            ) -> Poll<io::Result<()>> {
                self.get_mut().rd.poll_read(cx, buf)
            }
        }
    };
}

/// `AsyncWrite` on a type's `wr: WriteHalf`.
macro_rules! async_write_by_wr {
    ($t:ty) => {
        impl AsyncWrite for $t {
            fn poll_write(
                self: Pin<&mut Self>,
                cx: &mut Context<'_>,
                buf: &[u8],
            ) -> Poll<io::Result<usize>> {
                self.get_mut().wr.poll_write(cx, buf)
            }

            fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().wr.poll_flush(cx)
            }

            fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
                self.get_mut().wr.poll_shutdown(cx)
            }
        }
    };
}

async_read_by_rd!(TcpStream);
async_write_by_wr!(TcpStream);

/// The read half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedReadHalf {
    rd: ReadHalf,
    ctl: Arc<Ctl>,
}

/// The write half of [`TcpStream::into_split`].
#[derive(Debug)]
pub struct OwnedWriteHalf {
    wr: WriteHalf,
    ctl: Arc<Ctl>,
}

impl OwnedReadHalf {
    /// `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.ctl.peer_addr()
    }
}

impl OwnedWriteHalf {
    /// `getpeername`.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.ctl.peer_addr()
    }
}

async_read_by_rd!(OwnedReadHalf);
async_write_by_wr!(OwnedWriteHalf);

/// A UDP socket of the daemon's stack, async.
#[derive(Debug)]
pub struct UdpSocket {
    rd: Mutex<AsyncConn>,
    wr: Mutex<AsyncConn>,
    ctl: Ctl,
}

impl UdpSocket {
    /// `socket()` + `bind(addr)`.
    pub async fn bind(remote: &Remote, addr: impl Into<SocketAddr>) -> io::Result<UdpSocket> {
        let addr = v4(addr.into())?;
        let s = SockConn::socket(remote, AF_INET, SOCK_DGRAM, 0, false)?;
        s.bind(addr)?;
        let token = s.token()?;
        Ok(UdpSocket {
            rd: Mutex::new(AsyncConn::attach(remote, token)?),
            wr: Mutex::new(AsyncConn::attach(remote, token)?),
            ctl: Ctl {
                remote: remote.clone(),
                token,
                conn: Mutex::new(Some(s)),
            },
        })
    }

    /// `connect(addr)`.
    pub async fn connect(&self, addr: impl Into<SocketAddr>) -> io::Result<()> {
        let addr = v4(addr.into())?;
        self.ctl.call(|c, id| c.connect_socket(id, addr))
    }

    fn poll_send(
        &self,
        cx: &mut Context<'_>,
        buf: &[u8],
        to: Option<SocketAddrV4>,
        started: &mut bool,
    ) -> Poll<io::Result<usize>> {
        let mut conn = lock(&self.wr);
        loop {
            let mine = *started;
            let r = ready!(conn.poll_call(cx, |id| {
                *started = true;
                Request::SendMsg {
                    id,
                    data: buf.to_vec(),
                    flags: 0,
                    to: to.map(|a| SockAddr::inet(a).as_bytes().to_vec()),
                }
            }));
            if !mine && !*started {
                // That was the answer to a send whose future was dropped: now ours.
                continue;
            }
            return Poll::Ready(match r? {
                Response::Sent { len } => Ok(len as usize),
                r => Err(unexpected("SendMsg", &r)),
            });
        }
    }

    /// `sendto`. Deviation from tokio: a dropped `send_to` future may still send its
    /// datagram (the request is already with the daemon).
    pub async fn send_to(&self, buf: &[u8], addr: impl Into<SocketAddr>) -> io::Result<usize> {
        let to = v4(addr.into())?;
        let mut started = false;
        poll_fn(|cx| self.poll_send(cx, buf, Some(to), &mut started)).await
    }

    /// `send` on a connected socket.
    pub async fn send(&self, buf: &[u8]) -> io::Result<usize> {
        let mut started = false;
        poll_fn(|cx| self.poll_send(cx, buf, None, &mut started)).await
    }

    /// Polls for the next datagram (cancel-safe: a datagram whose future was dropped is
    /// the next one returned).
    pub fn poll_recv_from(
        &self,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<SocketAddr>> {
        // A request whose future was dropped is still the connection's: its datagram is
        // this answer.
        let mut conn = lock(&self.rd);
        let r = ready!(conn.poll_call(cx, |id| Request::RecvMsg {
            id,
            flags: 0,
            max: MAX_IO as u32,
            controllen: 0,
        }));
        let (data, from) = match r {
            Ok(Response::Msg { data, from, .. }) => (data, from),
            Ok(r) => return Poll::Ready(Err(unexpected("RecvMsg", &r))),
            Err(e) => return Poll::Ready(Err(e.into())),
        };
        let n = buf.remaining().min(data.len());
        buf.put_slice(&data[..n]);
        let from = from.ok_or_else(|| io::Error::from_raw_os_error(libc::EPROTO));
        Poll::Ready(from.map(SocketAddr::V4))
    }

    /// `recvfrom`: the next datagram (truncated to `buf`) and its sender.
    pub async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        let mut rb = ReadBuf::new(buf);
        let from = poll_fn(|cx| self.poll_recv_from(cx, &mut rb)).await?;
        Ok((rb.filled().len(), from))
    }

    /// `recv`.
    pub async fn recv(&self, buf: &mut [u8]) -> io::Result<usize> {
        self.recv_from(buf).await.map(|(n, _)| n)
    }

    /// `getsockname`.
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.ctl.local_addr()
    }

    /// The daemon.
    pub fn remote(&self) -> &Remote {
        &self.ctl.remote
    }
}

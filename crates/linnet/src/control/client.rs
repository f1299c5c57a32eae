//! The user-space side of the control socket: what `linnet ip`, `ping`, `nc` and `stat` use
//! to talk to a daemon.
//!
//! Linux: lib/libnetlink.c of iproute2 (`rtnl_open`, `rtnl_talk`: send a request, read its
//! answer or error), and the libc wrappers of the socket system calls.
//! RFCs: none.
//!
//! A [`Client`] is one connection: it greets the daemon on connect (failing with the daemon's
//! message when the versions differ), then makes one call at a time. Sockets it creates are
//! the connection's and close when it is dropped.

use std::fmt;
use std::io;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use linnet_core::ctl::{CtlRequest, CtlResponse};
use linnet_core::tcp::diag::{InetDiagMsg, InetDiagReq};

use linnet_core::socket::addr::{
    AF_INET, MSG_DONTWAIT, SHUT_RD, SHUT_RDWR, SHUT_WR, SOCK_DGRAM, SOCK_STREAM,
};
use linnet_core::socket::opt::{SOL_IP, SOL_SOCKET, SOL_TCP, SO_BROADCAST, SO_RCVBUF, TCP_NODELAY};
use linnet_core::SockAddr;

use super::proto::{
    read_frame, write_frame, DaemonStats, FrameError, PingAnswer, Request, Response, SockId,
    PROTOCOL_VERSION,
};
use super::strerror;

/// Why a call failed.
#[derive(Debug)]
pub enum ClientError {
    /// No daemon could be reached at the path.
    Connect {
        /// The control socket's path.
        path: PathBuf,
        /// The error of `connect(2)`.
        source: io::Error,
    },
    /// The connection failed or the daemon closed it.
    Io(io::Error),
    /// The daemon answered something this client cannot use.
    Protocol(String),
    /// The daemon refused the request, with Linux's errno.
    Remote {
        /// Errno.
        errno: i32,
        /// The daemon's message.
        message: String,
    },
}

impl ClientError {
    /// The errno of a refused request (or of the failed connection).
    pub fn errno(&self) -> Option<i32> {
        match self {
            ClientError::Remote { errno, .. } => Some(*errno),
            ClientError::Connect { source, .. } | ClientError::Io(source) => source.raw_os_error(),
            ClientError::Protocol(_) => None,
        }
    }
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Connect { path, source } => {
                let why = match source.raw_os_error() {
                    Some(e) => strerror(e),
                    None => source.to_string(),
                };
                write!(
                    f,
                    "cannot reach the linnet daemon at {}: {why} (is `linnet daemon` running? \
                     --ctl PATH or LINNET_CTL pick another socket)",
                    path.display()
                )
            }
            ClientError::Io(e) => write!(f, "control socket: {e}"),
            ClientError::Protocol(m) => write!(f, "control socket: {m}"),
            ClientError::Remote { message, .. } => f.write_str(message),
        }
    }
}

impl std::error::Error for ClientError {}

impl From<ClientError> for io::Error {
    fn from(e: ClientError) -> io::Error {
        match e {
            ClientError::Remote { errno, .. } => io::Error::from_raw_os_error(errno),
            ClientError::Connect { source, .. } | ClientError::Io(source) => source,
            ClientError::Protocol(m) => io::Error::new(io::ErrorKind::InvalidData, m),
        }
    }
}

impl From<FrameError> for ClientError {
    fn from(e: FrameError) -> Self {
        match e {
            FrameError::Closed => ClientError::Io(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "the daemon closed the connection",
            )),
            FrameError::Io(e) => ClientError::Io(e),
            e => ClientError::Protocol(e.to_string()),
        }
    }
}

/// A datagram received through the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Datagram {
    /// Payload (at most the requested size).
    pub data: Vec<u8>,
    /// Sender.
    pub from: SocketAddrV4,
    /// The datagram's full length (larger than `data` when truncated).
    pub datagram_len: usize,
}

/// What `recvmsg` got through the daemon.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Msg {
    /// The bytes read.
    pub data: Vec<u8>,
    /// The call's return value (a truncated datagram's full length with `MSG_TRUNC`).
    pub len: usize,
    /// `msg_name`: the sender (datagram sockets).
    pub from: Option<SocketAddrV4>,
    /// `msg_flags`.
    pub flags: i32,
    /// `msg_control`: `struct cmsghdr`s as Linux lays them out.
    pub control: Vec<u8>,
}

/// Socket types for [`Client::socket`] (`SOCK_DGRAM`, `SOCK_STREAM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockType {
    /// `socket(AF_INET, SOCK_DGRAM, 0)`: UDP.
    Udp,
    /// `socket(AF_INET, SOCK_STREAM, 0)`: TCP.
    Tcp,
}

/// Common options for [`Client::set_opt`], each one `setsockopt` with an `int`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SockOpt {
    /// `SO_BROADCAST`.
    Broadcast(bool),
    /// `IP_TTL` (1..=255; EINVAL otherwise).
    Ttl(u8),
    /// `SO_RCVBUF` (doubled, as Linux does).
    RcvBuf(u32),
    /// `TCP_NODELAY` (ENOPROTOOPT on a UDP socket, as Linux).
    NoDelay(bool),
}

impl SockOpt {
    /// (level, optname, value).
    pub fn raw(self) -> (i32, i32, i32) {
        match self {
            SockOpt::Broadcast(on) => (SOL_SOCKET, SO_BROADCAST, i32::from(on)),
            SockOpt::Ttl(t) => (SOL_IP, linnet_core::socket::opt::IP_TTL, i32::from(t)),
            SockOpt::RcvBuf(b) => (SOL_SOCKET, SO_RCVBUF, i32::try_from(b).unwrap_or(i32::MAX)),
            SockOpt::NoDelay(on) => (SOL_TCP, TCP_NODELAY, i32::from(on)),
        }
    }
}

/// `shutdown()`'s `how`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ShutdownHow {
    /// `SHUT_RD`.
    Read,
    /// `SHUT_WR`: a TCP socket sends its FIN after the queued data.
    Write,
    /// `SHUT_RDWR`.
    Both,
}

/// `POLLIN`.
const POLLIN: u32 = 0x001;

fn eagain(call: &str) -> ClientError {
    ClientError::Remote {
        errno: libc::EAGAIN,
        message: format!("{call}: {}", strerror(libc::EAGAIN)),
    }
}

/// How long [`Client::connect`] waits for the daemon to take the connection and answer the
/// Hello, so that a tool never hangs on a wedged daemon.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// `connect(2)` to `path` giving up at `deadline` (ETIMEDOUT). A full listen backlog makes
/// a non-blocking Unix `connect` fail with EAGAIN rather than wait, so it is retried.
fn connect_by(path: &Path, deadline: Instant) -> io::Result<UnixStream> {
    use nix::sys::socket::{connect, socket, AddressFamily, SockFlag, SockType as Ty, UnixAddr};
    let addr = UnixAddr::new(path).map_err(io::Error::from)?;
    loop {
        let fd = socket(
            AddressFamily::Unix,
            Ty::Stream,
            SockFlag::SOCK_CLOEXEC | SockFlag::SOCK_NONBLOCK,
            None,
        )
        .map_err(io::Error::from)?;
        match connect(fd.as_raw_fd(), &addr) {
            Ok(()) => {
                let stream = UnixStream::from(fd);
                stream.set_nonblocking(false)?;
                return Ok(stream);
            }
            Err(nix::errno::Errno::EAGAIN) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(nix::errno::Errno::EAGAIN) => {
                return Err(io::Error::from_raw_os_error(libc::ETIMEDOUT))
            }
            Err(e) => return Err(e.into()),
        }
    }
}

fn ms(d: Duration) -> u32 {
    u32::try_from(d.as_millis()).unwrap_or(u32::MAX)
}

fn unexpected(call: &str, r: &Response) -> ClientError {
    ClientError::Protocol(format!("unexpected answer to {call}: {r:?}"))
}

/// One connection to a daemon.
#[derive(Debug)]
pub struct Client {
    stream: UnixStream,
    daemon_version: u32,
}

impl Client {
    /// Connects to the daemon at `path` and greets it, within [`CONNECT_TIMEOUT`].
    pub fn connect(path: impl AsRef<Path>) -> Result<Client, ClientError> {
        Client::open(path.as_ref(), PROTOCOL_VERSION, CONNECT_TIMEOUT)
    }

    /// [`Client::connect`] giving up after `timeout` (a [`ClientError::Connect`] with
    /// ETIMEDOUT).
    pub fn connect_timeout(
        path: impl AsRef<Path>,
        timeout: Duration,
    ) -> Result<Client, ClientError> {
        Client::open(path.as_ref(), PROTOCOL_VERSION, timeout)
    }

    /// Connects announcing protocol `version` (for tests of version negotiation).
    pub fn connect_version(path: impl AsRef<Path>, version: u32) -> Result<Client, ClientError> {
        Client::open(path.as_ref(), version, CONNECT_TIMEOUT)
    }

    fn open(path: &Path, version: u32, timeout: Duration) -> Result<Client, ClientError> {
        let deadline = Instant::now() + timeout;
        let failed = |source| ClientError::Connect {
            path: path.to_path_buf(),
            source,
        };
        let stream = connect_by(path, deadline).map_err(failed)?;
        let left = deadline
            .saturating_duration_since(Instant::now())
            .max(Duration::from_millis(1));
        stream
            .set_read_timeout(Some(left))
            .and_then(|()| stream.set_write_timeout(Some(left)))
            .map_err(failed)?;
        let mut c = Client {
            stream,
            daemon_version: 0,
        };
        match c.call(&Request::Hello { version }) {
            Ok(Response::Hello { version }) => c.daemon_version = version,
            Ok(r) => return Err(unexpected("Hello", &r)),
            Err(ClientError::Io(e))
                if matches!(
                    e.kind(),
                    io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                ) =>
            {
                return Err(failed(io::Error::from_raw_os_error(libc::ETIMEDOUT)))
            }
            Err(e) => return Err(e),
        }
        // Calls may block as long as they ask (a `recv_from` without timeout).
        c.stream
            .set_read_timeout(None)
            .and_then(|()| c.stream.set_write_timeout(None))
            .map_err(ClientError::Io)?;
        Ok(c)
    }

    /// The daemon's protocol version.
    pub fn daemon_version(&self) -> u32 {
        self.daemon_version
    }

    /// Sends one request and reads its answer; [`Response::Error`] becomes
    /// [`ClientError::Remote`].
    pub fn call(&mut self, req: &Request) -> Result<Response, ClientError> {
        write_frame(&mut self.stream, req).map_err(ClientError::Io)?;
        match read_frame::<Response>(&mut self.stream)? {
            Response::Error { errno, message } => Err(ClientError::Remote { errno, message }),
            r => Ok(r),
        }
    }

    /// A control request; [`CtlResponse::Error`] becomes [`ClientError::Remote`].
    pub fn ctl(&mut self, req: CtlRequest) -> Result<CtlResponse, ClientError> {
        match self.call(&Request::Ctl(req))? {
            Response::Ctl(CtlResponse::Error { errno, message }) => {
                Err(ClientError::Remote { errno, message })
            }
            Response::Ctl(r) => Ok(r),
            r => Err(unexpected("Ctl", &r)),
        }
    }

    /// The daemon's counters.
    pub fn stats(&mut self) -> Result<DaemonStats, ClientError> {
        match self.call(&Request::Stats)? {
            Response::Stats(s) => Ok(s),
            r => Err(unexpected("Stats", &r)),
        }
    }

    /// `socket(AF_INET, SOCK_DGRAM, 0)`.
    pub fn udp_socket(&mut self) -> Result<SockId, ClientError> {
        self.socket(SockType::Udp)
    }

    /// `socket(AF_INET, SOCK_STREAM, 0)`.
    pub fn tcp_socket(&mut self) -> Result<SockId, ClientError> {
        self.socket(SockType::Tcp)
    }

    /// `socket(AF_INET, type, 0)`.
    pub fn socket(&mut self, ty: SockType) -> Result<SockId, ClientError> {
        let ty = match ty {
            SockType::Udp => SOCK_DGRAM,
            SockType::Tcp => SOCK_STREAM,
        };
        self.sys_socket(AF_INET, ty, 0, false)
    }

    /// `socket(family, type | flags, protocol)` with Linux's checks; `kern`: a kernel
    /// socket (`sock_create_kern`).
    pub fn sys_socket(
        &mut self,
        family: i32,
        ty: i32,
        protocol: i32,
        kern: bool,
    ) -> Result<SockId, ClientError> {
        let req = Request::Socket {
            family,
            ty,
            protocol,
            kern,
        };
        match self.call(&req)? {
            Response::Socket { id } => Ok(id),
            r => Err(unexpected("Socket", &r)),
        }
    }

    fn ok(&mut self, call: &str, req: &Request) -> Result<(), ClientError> {
        match self.call(req)? {
            Response::Ok => Ok(()),
            r => Err(unexpected(call, &r)),
        }
    }

    /// `bind()` to an `AF_INET` address.
    pub fn bind(&mut self, id: SockId, addr: SocketAddrV4) -> Result<(), ClientError> {
        self.bind_raw(id, SockAddr::inet(addr).as_bytes())
    }

    /// `bind()` with the bytes of a `struct sockaddr` (their length is `addrlen`).
    pub fn bind_raw(&mut self, id: SockId, addr: &[u8]) -> Result<(), ClientError> {
        let addr = addr.to_vec();
        self.ok("Bind", &Request::Bind { id, addr })
    }

    /// `connect()` to an `AF_INET` address (blocking unless the socket is `O_NONBLOCK`).
    pub fn connect_socket(&mut self, id: SockId, addr: SocketAddrV4) -> Result<(), ClientError> {
        self.connect_raw(id, SockAddr::inet(addr).as_bytes())
    }

    /// `connect()` with the bytes of a `struct sockaddr`.
    pub fn connect_raw(&mut self, id: SockId, addr: &[u8]) -> Result<(), ClientError> {
        let addr = addr.to_vec();
        self.ok("Connect", &Request::Connect { id, addr })
    }

    /// `sendto(fd, data, 0, to)` (`to: None`: `send()`). Returns the bytes sent.
    pub fn send_to(
        &mut self,
        id: SockId,
        data: &[u8],
        to: Option<SocketAddrV4>,
    ) -> Result<usize, ClientError> {
        let to = to.map(|a| SockAddr::inet(a).as_bytes().to_vec());
        self.sendmsg(id, data, 0, to.as_deref())
    }

    /// `sendmsg(fd, {to, data}, flags)`: `to` the bytes of a `struct sockaddr`. Returns the
    /// bytes sent.
    pub fn sendmsg(
        &mut self,
        id: SockId,
        data: &[u8],
        flags: i32,
        to: Option<&[u8]>,
    ) -> Result<usize, ClientError> {
        let req = Request::SendMsg {
            id,
            data: data.to_vec(),
            flags,
            to: to.map(<[u8]>::to_vec),
        };
        match self.call(&req)? {
            Response::Sent { len } => Ok(len as usize),
            r => Err(unexpected("SendMsg", &r)),
        }
    }

    /// `recvmsg(fd, msg, flags)` with a buffer of `max` bytes and `controllen` bytes of
    /// control buffer.
    pub fn recvmsg(
        &mut self,
        id: SockId,
        max: usize,
        flags: i32,
        controllen: usize,
    ) -> Result<Msg, ClientError> {
        let req = Request::RecvMsg {
            id,
            flags,
            max: u32::try_from(max).unwrap_or(u32::MAX),
            controllen: u32::try_from(controllen).unwrap_or(u32::MAX),
        };
        match self.call(&req)? {
            Response::Msg {
                data,
                len,
                from,
                flags,
                control,
            } => Ok(Msg {
                data,
                len: len as usize,
                from,
                flags,
                control,
            }),
            r => Err(unexpected("RecvMsg", &r)),
        }
    }

    /// `recvfrom()` of at most `max` bytes; `timeout: None` blocks (up to the socket's
    /// `SO_RCVTIMEO`), zero does not, otherwise `poll()` for that long first. EAGAIN when
    /// the time passes. On a stream, an empty answer is the end of the stream.
    pub fn recv_from(
        &mut self,
        id: SockId,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<Datagram, ClientError> {
        let flags = match timeout {
            None => 0,
            Some(t) if t.is_zero() => MSG_DONTWAIT,
            Some(t) => {
                if self.poll(id, POLLIN, Some(t))? == 0 {
                    return Err(eagain("recvfrom"));
                }
                MSG_DONTWAIT
            }
        };
        let m = self.recvmsg(id, max, flags, 0)?;
        Ok(Datagram {
            from: m
                .from
                .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
            datagram_len: m.len,
            data: m.data,
        })
    }

    /// `getsockname()`.
    pub fn local_addr(&mut self, id: SockId) -> Result<SocketAddrV4, ClientError> {
        match self.call(&Request::GetSockName { id })? {
            Response::Addr(a) => Ok(a),
            r => Err(unexpected("GetSockName", &r)),
        }
    }

    /// `getpeername()`.
    pub fn peer_addr(&mut self, id: SockId) -> Result<SocketAddrV4, ClientError> {
        match self.call(&Request::GetPeerName { id })? {
            Response::Addr(a) => Ok(a),
            r => Err(unexpected("GetPeerName", &r)),
        }
    }

    /// `setsockopt()` of one of the common options (see [`SockOpt`]).
    pub fn set_opt(&mut self, id: SockId, opt: SockOpt) -> Result<(), ClientError> {
        let (level, name, v) = opt.raw();
        self.setsockopt(id, level, name, &v.to_ne_bytes())
    }

    /// `setsockopt(fd, level, optname, value, value.len())`.
    pub fn setsockopt(
        &mut self,
        id: SockId,
        level: i32,
        optname: i32,
        value: &[u8],
    ) -> Result<(), ClientError> {
        let req = Request::SetSockOpt {
            id,
            level,
            optname,
            value: value.to_vec(),
        };
        self.ok("SetSockOpt", &req)
    }

    /// `getsockopt(fd, level, optname, buf, &optlen)` with an `optlen`-byte buffer: the
    /// bytes Linux writes.
    pub fn getsockopt(
        &mut self,
        id: SockId,
        level: i32,
        optname: i32,
        optlen: usize,
    ) -> Result<Vec<u8>, ClientError> {
        let req = Request::GetSockOpt {
            id,
            level,
            optname,
            optlen: u32::try_from(optlen).unwrap_or(u32::MAX),
        };
        match self.call(&req)? {
            Response::Opt(v) => Ok(v),
            r => Err(unexpected("GetSockOpt", &r)),
        }
    }

    /// `fcntl(fd, F_SETFL, O_NONBLOCK)` on or off.
    pub fn set_nonblock(&mut self, id: SockId, on: bool) -> Result<(), ClientError> {
        self.ok("SetNonblock", &Request::SetNonblock { id, on })
    }

    /// `poll()` on one socket: the ready events among `events` (and `POLLERR`, `POLLHUP`,
    /// `POLLNVAL`), 0 when `timeout` passed (`None`: waits for ever).
    pub fn poll(
        &mut self,
        id: SockId,
        events: u32,
        timeout: Option<Duration>,
    ) -> Result<u32, ClientError> {
        let req = Request::Poll {
            id,
            events,
            timeout_ms: timeout.map(ms),
        };
        match self.call(&req)? {
            Response::Poll { revents } => Ok(revents),
            r => Err(unexpected("Poll", &r)),
        }
    }

    /// `close()`: this connection lets the socket go.
    pub fn close(&mut self, id: SockId) -> Result<(), ClientError> {
        self.ok("Close", &Request::Close { id })
    }

    /// `listen()`.
    pub fn listen(&mut self, id: SockId, backlog: u32) -> Result<(), ClientError> {
        let backlog = i32::try_from(backlog).unwrap_or(i32::MAX);
        self.ok("Listen", &Request::Listen { id, backlog })
    }

    /// `accept()`: the new connection's socket and its peer; `timeout: None` blocks (up to
    /// the listener's `SO_RCVTIMEO`), otherwise `poll()` for that long first (zero: not at
    /// all). EAGAIN when the time passes.
    pub fn accept(
        &mut self,
        id: SockId,
        timeout: Option<Duration>,
    ) -> Result<(SockId, SocketAddrV4), ClientError> {
        if let Some(t) = timeout {
            if self.poll(id, POLLIN, Some(t))? == 0 {
                return Err(eagain("accept"));
            }
        }
        self.accept4(id, 0)
    }

    /// `accept4(fd, flags)` (waits unless the listener is `O_NONBLOCK`).
    pub fn accept4(
        &mut self,
        id: SockId,
        flags: i32,
    ) -> Result<(SockId, SocketAddrV4), ClientError> {
        match self.call(&Request::Accept { id, flags })? {
            Response::Accepted { id, peer } => Ok((id, peer)),
            r => Err(unexpected("Accept", &r)),
        }
    }

    /// `shutdown()`.
    pub fn shutdown(&mut self, id: SockId, how: ShutdownHow) -> Result<(), ClientError> {
        let how = match how {
            ShutdownHow::Read => SHUT_RD,
            ShutdownHow::Write => SHUT_WR,
            ShutdownHow::Both => SHUT_RDWR,
        };
        self.shutdown_raw(id, how)
    }

    /// `shutdown(fd, how)` with Linux's `how` (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`).
    pub fn shutdown_raw(&mut self, id: SockId, how: i32) -> Result<(), ClientError> {
        self.ok("Shutdown", &Request::Shutdown { id, how })
    }

    /// A token for socket `id`, which [`Client::attach`] on another connection turns into
    /// a socket of that connection (the same socket).
    pub fn dup(&mut self, id: SockId) -> Result<u64, ClientError> {
        match self.call(&Request::Dup { id })? {
            Response::Token(t) => Ok(t),
            r => Err(unexpected("Dup", &r)),
        }
    }

    /// The socket a [`Client::dup`] token names, as a socket of this connection.
    pub fn attach(&mut self, token: u64) -> Result<SockId, ClientError> {
        match self.call(&Request::Attach { token })? {
            Response::Socket { id } => Ok(id),
            r => Err(unexpected("Attach", &r)),
        }
    }

    /// One echo request and its answer (`None`: none within `timeout`), with the round-trip
    /// time measured by the daemon.
    pub fn ping(
        &mut self,
        dst: Ipv4Addr,
        ident: u16,
        seq: u16,
        ttl: Option<u8>,
        payload: &[u8],
        timeout: Duration,
    ) -> Result<Option<(PingAnswer, Duration)>, ClientError> {
        let req = Request::Ping {
            dst,
            ident,
            seq,
            ttl,
            payload: payload.to_vec(),
            timeout_ms: ms(timeout),
        };
        match self.call(&req)? {
            Response::Ping { answer, rtt_ns } => {
                Ok(answer.map(|a| (a, Duration::from_nanos(rtt_ns))))
            }
            r => Err(unexpected("Ping", &r)),
        }
    }

    /// Sends an echo request; returns when it left (daemon clock, nanoseconds).
    pub fn ping_send(
        &mut self,
        dst: Ipv4Addr,
        ident: u16,
        seq: u16,
        ttl: Option<u8>,
        payload: &[u8],
    ) -> Result<u64, ClientError> {
        let req = Request::PingSend {
            dst,
            ident,
            seq,
            ttl,
            payload: payload.to_vec(),
        };
        match self.call(&req)? {
            Response::PingSent { at_ns } => Ok(at_ns),
            r => Err(unexpected("PingSend", &r)),
        }
    }

    /// The next answer for `ident` and when it arrived (daemon clock, nanoseconds), or
    /// `None` if none came within `timeout`.
    pub fn ping_recv(
        &mut self,
        ident: u16,
        timeout: Duration,
    ) -> Result<Option<(PingAnswer, u64)>, ClientError> {
        let req = Request::PingRecv {
            ident,
            timeout_ms: ms(timeout),
        };
        match self.call(&req) {
            Ok(Response::PingAnswer { answer, at_ns }) => Ok(Some((answer, at_ns))),
            Ok(r) => Err(unexpected("PingRecv", &r)),
            Err(ClientError::Remote { errno, .. }) if errno == libc::ETIMEDOUT => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A whole `sock_diag` dump of the daemon's stack (page after page, as `ss` reads a
    /// netlink dump until `NLMSG_DONE`).
    pub fn sock_diag(&mut self, req: InetDiagReq) -> Result<Vec<InetDiagMsg>, ClientError> {
        let mut all = Vec::new();
        let mut cursor = 0;
        loop {
            match self.call(&Request::SockDiag { req, cursor })? {
                Response::SockDiag { mut msgs, next } => {
                    all.append(&mut msgs);
                    match next {
                        // The cursor only moves forward; a daemon that answers otherwise
                        // would loop for ever.
                        Some(n) if n > cursor => cursor = n,
                        Some(_) => {
                            return Err(ClientError::Protocol(
                                "sock_diag: the dump cursor did not advance".into(),
                            ))
                        }
                        None => return Ok(all),
                    }
                }
                r => return Err(unexpected("SockDiag", &r)),
            }
        }
    }

    /// The connection's stream (for tests that misbehave on purpose).
    pub fn stream(&self) -> &UnixStream {
        &self.stream
    }

    /// The greeted connection's stream, to speak the protocol on it by other means (the
    /// async remote door drives it non-blocking).
    pub fn into_stream(self) -> UnixStream {
        self.stream
    }
}

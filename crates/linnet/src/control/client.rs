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

use super::proto::{
    read_frame, write_frame, DaemonStats, FrameError, PingAnswer, Request, Response, ShutdownHow,
    SockId, SockOpt, SockType, PROTOCOL_VERSION,
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

    /// `socket()`.
    pub fn socket(&mut self, ty: SockType) -> Result<SockId, ClientError> {
        match self.call(&Request::Socket { ty })? {
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

    /// `bind()`.
    pub fn bind(&mut self, id: SockId, addr: SocketAddrV4) -> Result<(), ClientError> {
        self.ok("Bind", &Request::Bind { id, addr })
    }

    /// `connect()`.
    pub fn connect_socket(&mut self, id: SockId, addr: SocketAddrV4) -> Result<(), ClientError> {
        self.ok("Connect", &Request::Connect { id, addr })
    }

    /// `sendto()` (`to: None`: `send()`). Returns the bytes sent.
    pub fn send_to(
        &mut self,
        id: SockId,
        data: &[u8],
        to: Option<SocketAddrV4>,
    ) -> Result<usize, ClientError> {
        let req = Request::SendTo {
            id,
            data: data.to_vec(),
            to,
        };
        match self.call(&req)? {
            Response::Sent { len } => Ok(len as usize),
            r => Err(unexpected("SendTo", &r)),
        }
    }

    /// `recvfrom()` of at most `max` bytes; `timeout: None` blocks, zero does not. EAGAIN
    /// when the time passes.
    pub fn recv_from(
        &mut self,
        id: SockId,
        max: usize,
        timeout: Option<Duration>,
    ) -> Result<Datagram, ClientError> {
        let req = Request::RecvFrom {
            id,
            max: u32::try_from(max).unwrap_or(u32::MAX),
            timeout_ms: timeout.map(ms),
        };
        match self.call(&req)? {
            Response::Datagram {
                data,
                from,
                datagram_len,
            } => Ok(Datagram {
                data,
                from,
                datagram_len: datagram_len as usize,
            }),
            r => Err(unexpected("RecvFrom", &r)),
        }
    }

    /// `getsockname()`.
    pub fn local_addr(&mut self, id: SockId) -> Result<SocketAddrV4, ClientError> {
        match self.call(&Request::GetSockName { id })? {
            Response::SockName(a) => Ok(a),
            r => Err(unexpected("GetSockName", &r)),
        }
    }

    /// `setsockopt()`.
    pub fn set_opt(&mut self, id: SockId, opt: SockOpt) -> Result<(), ClientError> {
        self.ok("SetOpt", &Request::SetOpt { id, opt })
    }

    /// `close()`.
    pub fn close(&mut self, id: SockId) -> Result<(), ClientError> {
        self.ok("Close", &Request::Close { id })
    }

    /// `socket(AF_INET, SOCK_STREAM, 0)`.
    pub fn tcp_socket(&mut self) -> Result<SockId, ClientError> {
        self.socket(SockType::Tcp)
    }

    /// `listen()`.
    pub fn listen(&mut self, id: SockId, backlog: u32) -> Result<(), ClientError> {
        self.ok("Listen", &Request::Listen { id, backlog })
    }

    /// `accept()`: the new connection's socket and its peer; `timeout: None` blocks, zero
    /// does not. EAGAIN when the time passes.
    pub fn accept(
        &mut self,
        id: SockId,
        timeout: Option<Duration>,
    ) -> Result<(SockId, SocketAddrV4), ClientError> {
        let req = Request::Accept {
            id,
            timeout_ms: timeout.map(ms),
        };
        match self.call(&req)? {
            Response::Accepted { id, peer } => Ok((id, peer)),
            r => Err(unexpected("Accept", &r)),
        }
    }

    /// `shutdown()`.
    pub fn shutdown(&mut self, id: SockId, how: ShutdownHow) -> Result<(), ClientError> {
        self.ok("Shutdown", &Request::Shutdown { id, how })
    }

    /// `getpeername()`.
    pub fn peer_addr(&mut self, id: SockId) -> Result<SocketAddrV4, ClientError> {
        match self.call(&Request::GetPeerName { id })? {
            Response::PeerName(a) => Ok(a),
            r => Err(unexpected("GetPeerName", &r)),
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
}

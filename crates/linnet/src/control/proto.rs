//! The control socket's messages and their framing.
//!
//! Linux: include/uapi/linux/netlink.h (`struct nlmsghdr`: a length-prefixed, typed message;
//! `NLMSG_ERROR` carrying a negative errno), include/linux/syscalls.h (the socket system
//! calls the [`Request`] socket variants stand for: `socket`, `bind`, `connect`, `sendmsg`,
//! `recvmsg`, `getsockname`, `getpeername`, `setsockopt`, `getsockopt`, `listen`,
//! `accept4`, `shutdown`, `poll`, `fcntl(F_SETFL)`, `close`, `dup`), include/uapi/linux/sock_diag.h (`SOCK_DIAG_BY_FAMILY`: the socket dump behind
//! [`Request::SockDiag`]).
//! RFCs: none.
//!
//! # Wire format
//! Every message is one frame: a 4-byte big-endian payload length, then the payload, a
//! [`Request`] (client to daemon) or a [`Response`] (daemon to client) encoded with
//! `postcard`. A frame longer than [`MAX_FRAME`] is refused: the daemon answers
//! [`Response::Error`] with EMSGSIZE and closes the connection; the client reports an error
//! without reading further.
//!
//! # Versions
//! The client's first message is [`Request::Hello`] with [`PROTOCOL_VERSION`]; the daemon
//! answers [`Response::Hello`] with its own version, or, if they differ, a
//! [`Response::Error`] (EPROTONOSUPPORT) naming both versions, and closes. So that any two
//! versions can tell each other this, variant 0 of both enums (`Hello`) and variant 1 of
//! [`Response`] (`Error`) never change; every other change to these types bumps the version.
//!
//! # Calls
//! One request, one response, in order. The socket requests are the system calls, shaped as
//! Linux takes them and answered by the core's socket layer (`Stack::sys_*`) with its errno
//! in its order: `socket(family, type | flags, protocol)`, `bind` / `connect` / `sendmsg`
//! addresses as `struct sockaddr` bytes, options as (level, optname, bytes), `recvmsg`
//! returning the data, the sender, `msg_flags` and the control messages, `poll` on one
//! socket. Blocking calls block in the daemon as they would in the kernel (`O_NONBLOCK`,
//! `MSG_DONTWAIT`, `SO_RCVTIMEO`, `SO_SNDTIMEO`).
//!
//! Sockets are named by the [`SockId`] that [`Request::Socket`] (or `Accept`, or `Attach`)
//! returned; ids belong to the connection (like file descriptors to a process). A socket
//! may be held by several connections, like a descriptor `dup`'d or passed with
//! `SCM_RIGHTS`: [`Request::Dup`] gives a token, [`Request::Attach`] on another connection
//! takes it. That is how a client reads on one connection while it writes on another (a
//! connection answers one request at a time). A socket closes when the last connection
//! holding it closes it or ends, however it ends.
//! Errors carry Linux's errno and a message.
//!
//! Version 6 replaced version 5's coarse socket requests (typed `Socket`, `SendTo`,
//! `RecvFrom` with a timeout, a `SockOpt` enum) with the system-call-shaped ones above.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};

use linnet_core::ctl::{CtlRequest, CtlResponse};
use linnet_core::tcp::diag::{InetDiagMsg, InetDiagReq};
use linnet_core::PingEvent;
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 6;

/// Largest frame payload accepted either way: 1 MiB.
pub const MAX_FRAME: usize = 1 << 20;

/// Most sockets one [`Response::SockDiag`] carries (a netlink dump's buffer): about 300
/// bytes each with `TCP_INFO`, well inside [`MAX_FRAME`].
pub const DIAG_PAGE: usize = 512;

/// Most payload bytes one [`Request::SendMsg`] carries or one [`Request::RecvMsg`] returns
/// (the largest UDP payload over IPv4 fits; a stream is moved in pieces of this size).
pub const MAX_IO: usize = 256 * 1024;

/// Largest `optlen` of a [`Request::GetSockOpt`] and `msg_controllen` of a
/// [`Request::RecvMsg`].
pub const MAX_CONTROL: usize = 4096;

/// A socket of a connection (its "file descriptor"): the lowest free number from 3 up.
pub type SockId = u32;

/// A message from a client to the daemon.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Request {
    /// The first message of a connection. Variant 0 for ever.
    Hello {
        /// The client's [`PROTOCOL_VERSION`].
        version: u32,
    },
    /// The netlink role: configuration and counters.
    Ctl(CtlRequest),
    /// The daemon's own counters ([`DaemonStats`]).
    Stats,
    /// `socket(family, type | flags, protocol)` (`__sys_socket`: its checks and errors, in
    /// its order). `kern`: a kernel socket (`sock_create_kern`: passes every capability
    /// check, as the kernel-style door's sockets do). [`Response::Socket`].
    Socket {
        /// `AF_INET`.
        family: i32,
        /// `SOCK_STREAM`, `SOCK_DGRAM`, with `SOCK_NONBLOCK` / `SOCK_CLOEXEC`.
        ty: i32,
        /// 0 for the type's default.
        protocol: i32,
        /// A kernel socket.
        kern: bool,
    },
    /// `bind(fd, addr, addrlen)`: `addr` is the `struct sockaddr`'s bytes (its length is
    /// `addrlen`; at most 128, EINVAL past it).
    Bind {
        /// Socket.
        id: SockId,
        /// `struct sockaddr` bytes.
        addr: Vec<u8>,
    },
    /// `connect(fd, addr, addrlen)`: a stream socket waits for the handshake unless it is
    /// `O_NONBLOCK` (EINPROGRESS), bounded by `SO_SNDTIMEO` (EINPROGRESS).
    Connect {
        /// Socket.
        id: SockId,
        /// `struct sockaddr` bytes.
        addr: Vec<u8>,
    },
    /// `listen(fd, backlog)`.
    Listen {
        /// Socket.
        id: SockId,
        /// Backlog (capped at `somaxconn`).
        backlog: i32,
    },
    /// `accept4(fd, &addr, &len, flags)`: waits unless the listener is `O_NONBLOCK`
    /// (EAGAIN), bounded by `SO_RCVTIMEO` (EAGAIN). The new socket is this connection's
    /// ([`Response::Accepted`]).
    Accept {
        /// Socket.
        id: SockId,
        /// `SOCK_NONBLOCK`, `SOCK_CLOEXEC` for the new socket.
        flags: i32,
    },
    /// `getsockname(fd)` ([`Response::Addr`]).
    GetSockName {
        /// Socket.
        id: SockId,
    },
    /// `getpeername(fd)` ([`Response::Addr`]; ENOTCONN when not connected).
    GetPeerName {
        /// Socket.
        id: SockId,
    },
    /// `shutdown(fd, how)` (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`).
    Shutdown {
        /// Socket.
        id: SockId,
        /// How.
        how: i32,
    },
    /// `sendmsg(fd, msg, flags)` with one iovec and `msg_name` (`to`, `struct sockaddr`
    /// bytes). A stream socket queues all of `data` unless `MSG_DONTWAIT` / `O_NONBLOCK`,
    /// bounded by `SO_SNDTIMEO` (the bytes queued before a timeout or an error are the
    /// answer). At most [`MAX_IO`] bytes. [`Response::Sent`].
    SendMsg {
        /// Socket.
        id: SockId,
        /// Payload.
        data: Vec<u8>,
        /// `MSG_DONTWAIT`, `MSG_MORE`, `MSG_NOSIGNAL`, ...
        flags: i32,
        /// Destination.
        to: Option<Vec<u8>>,
    },
    /// `recvmsg(fd, msg, flags)` into a buffer of `max` bytes (at most [`MAX_IO`]) and a
    /// control buffer of `controllen` bytes. Waits unless `MSG_DONTWAIT` / `O_NONBLOCK`
    /// (EAGAIN), bounded by `SO_RCVTIMEO` (EAGAIN); `MSG_WAITALL` fills a stream's buffer.
    /// [`Response::Msg`].
    RecvMsg {
        /// Socket.
        id: SockId,
        /// `MSG_PEEK`, `MSG_WAITALL`, `MSG_TRUNC`, `MSG_DONTWAIT`, `MSG_ERRQUEUE`, ...
        flags: i32,
        /// Buffer size.
        max: u32,
        /// `msg_controllen` (at most [`MAX_CONTROL`]).
        controllen: u32,
    },
    /// `setsockopt(fd, level, optname, optval, optlen)`: the option's bytes as Linux takes
    /// them (an `int` in native byte order, a `struct timeval`, ...).
    SetSockOpt {
        /// Socket.
        id: SockId,
        /// `SOL_SOCKET`, `SOL_IP`, `SOL_TCP`, `SOL_UDP`.
        level: i32,
        /// Option.
        optname: i32,
        /// `optval`; its length is `optlen`.
        value: Vec<u8>,
    },
    /// `getsockopt(fd, level, optname, optval, &optlen)` with a buffer of `optlen` bytes
    /// (at most [`MAX_CONTROL`]). [`Response::Opt`].
    GetSockOpt {
        /// Socket.
        id: SockId,
        /// Level.
        level: i32,
        /// Option.
        optname: i32,
        /// Buffer size.
        optlen: u32,
    },
    /// `fcntl(fd, F_SETFL, O_NONBLOCK)` on or off.
    SetNonblock {
        /// Socket.
        id: SockId,
        /// `O_NONBLOCK`.
        on: bool,
    },
    /// `poll(&{fd, events}, 1, timeout)`: waits until one of `events` (or `POLLERR`,
    /// `POLLHUP`, `POLLNVAL`) is ready or `timeout_ms` passes (`None`: for ever).
    /// [`Response::Poll`] (0 when the time passed).
    Poll {
        /// Socket.
        id: SockId,
        /// `POLLIN`, `POLLOUT`, ...
        events: u32,
        /// How long to wait.
        timeout_ms: Option<u32>,
    },
    /// `close(fd)`: the connection drops the socket; the socket closes when no connection
    /// holds it any more.
    Close {
        /// Socket.
        id: SockId,
    },
    /// A token naming this socket, for [`Request::Attach`] on another connection (the
    /// role of passing a descriptor with `SCM_RIGHTS`). [`Response::Token`].
    Dup {
        /// Socket.
        id: SockId,
    },
    /// The socket a [`Request::Dup`] token names, as a new socket of this connection
    /// (`dup`: the same socket, its file flags and options shared). EBADF for a token of
    /// no open socket. [`Response::Socket`].
    Attach {
        /// The token.
        token: u64,
    },
    /// One echo request and its answer: an echo reply, an ICMP error quoting it, or nothing
    /// within `timeout_ms` ([`Response::Ping`]).
    Ping {
        /// Destination.
        dst: Ipv4Addr,
        /// Echo identifier.
        ident: u16,
        /// Echo sequence number.
        seq: u16,
        /// IP TTL (`None`: the stack's default).
        ttl: Option<u8>,
        /// ICMP payload.
        payload: Vec<u8>,
        /// How long to wait for the answer.
        timeout_ms: u32,
    },
    /// Sends an echo request without waiting ([`Response::PingSent`]), for pingers that keep
    /// several requests in flight, as iputils does.
    PingSend {
        /// Destination.
        dst: Ipv4Addr,
        /// Echo identifier.
        ident: u16,
        /// Echo sequence number.
        seq: u16,
        /// IP TTL (`None`: the stack's default).
        ttl: Option<u8>,
        /// ICMP payload.
        payload: Vec<u8>,
    },
    /// Waits up to `timeout_ms` for the next answer carrying `ident`, any sequence number
    /// ([`Response::PingAnswer`], or ETIMEDOUT).
    PingRecv {
        /// Echo identifier.
        ident: u16,
        /// How long to wait.
        timeout_ms: u32,
    },
    /// A `sock_diag` dump (`SOCK_DIAG_BY_FAMILY`, what `ss` sends): the sockets of one
    /// protocol in the states asked for, every socket of the stack (not only this
    /// connection's), at most [`DIAG_PAGE`] per answer ([`Response::SockDiag`]).
    SockDiag {
        /// Protocol, states, and whether `TCP_INFO` is wanted.
        req: InetDiagReq,
        /// 0 to start; then the `next` of the previous answer.
        cursor: u64,
    },
}

/// A message from the daemon to a client.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Response {
    /// The answer to [`Request::Hello`]. Variant 0 for ever.
    Hello {
        /// The daemon's [`PROTOCOL_VERSION`].
        version: u32,
    },
    /// A refused request. Variant 1 for ever.
    Error {
        /// Linux errno.
        errno: i32,
        /// What was wrong.
        message: String,
    },
    /// Done (bind, connect, setsockopt, close).
    Ok,
    /// The answer to [`Request::Ctl`].
    Ctl(CtlResponse),
    /// The answer to [`Request::Stats`].
    Stats(DaemonStats),
    /// A new socket.
    Socket {
        /// Its id.
        id: SockId,
    },
    /// Bytes sent.
    Sent {
        /// Payload bytes.
        len: u32,
    },
    /// What `recvmsg` got.
    Msg {
        /// The bytes read.
        data: Vec<u8>,
        /// The return value: `data.len()`, or a truncated datagram's full length when
        /// `MSG_TRUNC` was asked for; 0 at a stream's end.
        len: u32,
        /// `msg_name`: the sender (datagram sockets).
        from: Option<SocketAddrV4>,
        /// `msg_flags` (`MSG_TRUNC`, `MSG_CTRUNC`, `MSG_ERRQUEUE`).
        flags: i32,
        /// `msg_control` as Linux lays it out (`struct cmsghdr`s), `msg_controllen` long.
        control: Vec<u8>,
    },
    /// `getsockname()` / `getpeername()`.
    Addr(SocketAddrV4),
    /// The answer to [`Request::Ping`]: `None` when nothing came within the timeout.
    Ping {
        /// The answer.
        answer: Option<PingAnswer>,
        /// Round-trip time in nanoseconds (daemon clock), when an answer came.
        rtt_ns: u64,
    },
    /// An echo request left; `at_ns` is when (daemon clock, nanoseconds).
    PingSent {
        /// Time it was queued.
        at_ns: u64,
    },
    /// An answer to an echo request; `at_ns` is when it arrived (daemon clock).
    PingAnswer {
        /// The answer.
        answer: PingAnswer,
        /// Time it arrived.
        at_ns: u64,
    },
    /// The answer to [`Request::Accept`]: the new connection's socket and its peer.
    Accepted {
        /// The new socket.
        id: SockId,
        /// The peer.
        peer: SocketAddrV4,
    },
    /// One page of a [`Request::SockDiag`] dump.
    SockDiag {
        /// The sockets.
        msgs: Vec<InetDiagMsg>,
        /// The cursor of the next page; `None` when the dump is complete.
        next: Option<u64>,
    },
    /// The answer to [`Request::Dup`].
    Token(u64),
    /// The answer to [`Request::GetSockOpt`]: `optval`, `optlen` bytes of it.
    Opt(Vec<u8>),
    /// The answer to [`Request::Poll`]: the events ready (`revents`).
    Poll {
        /// `revents`.
        revents: u32,
    },
}

/// An answer to an echo request (the wire form of [`PingEvent`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PingAnswer {
    /// An echo reply.
    Reply {
        /// Who answered.
        from: Ipv4Addr,
        /// Identifier.
        ident: u16,
        /// Sequence number.
        seq: u16,
        /// ICMP payload bytes (after the 8-byte header).
        len: u32,
        /// TTL of the reply.
        ttl: u8,
    },
    /// An ICMP error quoting the request.
    Error {
        /// Who sent the error.
        from: Ipv4Addr,
        /// ICMP type.
        msg_type: u8,
        /// ICMP code.
        code: u8,
        /// Identifier of the quoted request.
        ident: u16,
        /// Sequence number of the quoted request.
        seq: u16,
    },
}

impl PingAnswer {
    /// The sequence number answered.
    pub fn seq(&self) -> u16 {
        match *self {
            PingAnswer::Reply { seq, .. } | PingAnswer::Error { seq, .. } => seq,
        }
    }

    /// The identifier answered.
    pub fn ident(&self) -> u16 {
        match *self {
            PingAnswer::Reply { ident, .. } | PingAnswer::Error { ident, .. } => ident,
        }
    }
}

impl From<PingEvent> for PingAnswer {
    fn from(e: PingEvent) -> Self {
        match e {
            PingEvent::Reply {
                from,
                ident,
                seq,
                len,
                ttl,
            } => PingAnswer::Reply {
                from,
                ident,
                seq,
                len: u32::try_from(len).unwrap_or(u32::MAX),
                ttl,
            },
            PingEvent::Error {
                from,
                msg_type,
                code,
                ident,
                seq,
            } => PingAnswer::Error {
                from,
                msg_type,
                code,
                ident,
                seq,
            },
        }
    }
}

/// The daemon's own counters.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DaemonStats {
    /// Sockets open through the control socket, all clients together (a socket held by
    /// several connections, through `Dup` / `Attach`, counts once).
    pub sockets: u64,
    /// Clients connected now.
    pub clients: u64,
    /// Clients connected since the daemon started.
    pub clients_total: u64,
    /// Clients refused (EAGAIN, or closed at once) because the most the daemon serves
    /// ([`MAX_CLIENTS`](super::server::MAX_CLIENTS)) were connected.
    pub clients_refused: u64,
    /// Sockets refused with EMFILE because their connection had the most it may hold
    /// ([`MAX_SOCKETS`](super::server::MAX_SOCKETS)) open.
    pub sockets_refused: u64,
    /// Echo answers the runtime dropped, oldest first, because its queue was full before
    /// anyone took them.
    pub pings_evicted: u64,
}

/// Why reading a frame failed.
#[derive(Debug)]
pub enum FrameError {
    /// The peer closed the connection at a frame boundary.
    Closed,
    /// The frame announced more than [`MAX_FRAME`] bytes.
    TooLarge(usize),
    /// The connection failed (or closed inside a frame: `UnexpectedEof`).
    Io(io::Error),
    /// The payload is not a valid message.
    Decode(postcard::Error),
    /// The payload is a valid message followed by this many more bytes.
    Trailing(usize),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Closed => f.write_str("connection closed"),
            FrameError::TooLarge(n) => write!(
                f,
                "frame of {n} bytes exceeds the limit of {MAX_FRAME} bytes"
            ),
            FrameError::Io(e) => write!(f, "{e}"),
            FrameError::Decode(e) => write!(f, "malformed message: {e}"),
            FrameError::Trailing(n) => {
                write!(f, "malformed message: {n} bytes after the payload")
            }
        }
    }
}

impl std::error::Error for FrameError {}

impl From<FrameError> for io::Error {
    fn from(e: FrameError) -> io::Error {
        match e {
            FrameError::Io(e) => e,
            FrameError::Closed => io::Error::new(io::ErrorKind::UnexpectedEof, e.to_string()),
            FrameError::TooLarge(_) => io::Error::new(io::ErrorKind::InvalidData, e.to_string()),
            FrameError::Decode(_) | FrameError::Trailing(_) => {
                io::Error::new(io::ErrorKind::InvalidData, e.to_string())
            }
        }
    }
}

/// Encodes `msg` as one frame (length prefix included). EMSGSIZE (`InvalidInput`) past
/// [`MAX_FRAME`].
pub fn encode_frame<T: Serialize>(msg: &T) -> io::Result<Vec<u8>> {
    let buf = postcard::to_extend(msg, vec![0u8; 4])
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
    let len = buf.len() - 4;
    if len > MAX_FRAME {
        return Err(io::Error::from_raw_os_error(libc::EMSGSIZE));
    }
    let mut buf = buf;
    buf[..4].copy_from_slice(&(len as u32).to_be_bytes());
    Ok(buf)
}

/// Writes `msg` as one frame.
pub fn write_frame<T: Serialize>(w: &mut impl Write, msg: &T) -> io::Result<()> {
    let buf = encode_frame(msg)?;
    w.write_all(&buf)?;
    w.flush()
}

/// Reads one frame's payload: [`FrameError::Closed`] at a clean end of stream, `TooLarge`
/// (without reading the payload) past [`MAX_FRAME`].
pub fn read_frame_bytes(r: &mut impl Read) -> Result<Vec<u8>, FrameError> {
    let mut len = [0u8; 4];
    let mut got = 0;
    while got < 4 {
        match r.read(&mut len[got..]) {
            Ok(0) if got == 0 => return Err(FrameError::Closed),
            Ok(0) => return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into())),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FrameError::Io(e)),
        }
    }
    let len = u32::from_be_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(FrameError::TooLarge(len));
    }
    let mut buf = vec![0u8; len];
    r.read_exact(&mut buf).map_err(FrameError::Io)?;
    Ok(buf)
}

/// Reads and decodes one frame.
pub fn read_frame<T: for<'de> Deserialize<'de>>(r: &mut impl Read) -> Result<T, FrameError> {
    let buf = read_frame_bytes(r)?;
    decode_frame(&buf)
}

/// Decodes one frame's payload: [`FrameError::Decode`] if it is not a message,
/// [`FrameError::Trailing`] if bytes follow the message.
pub fn decode_frame<T: for<'de> Deserialize<'de>>(buf: &[u8]) -> Result<T, FrameError> {
    let (msg, rest) = postcard::take_from_bytes(buf).map_err(FrameError::Decode)?;
    if !rest.is_empty() {
        return Err(FrameError::Trailing(rest.len()));
    }
    Ok(msg)
}

#[cfg(test)]
mod tests {
    use super::*;
    use linnet_core::ctl::Prefix;

    #[test]
    fn frames_round_trip_with_a_big_endian_length() {
        let req = Request::Ctl(CtlRequest::AddrAdd {
            dev: "eth0".into(),
            prefix: Prefix {
                addr: [10, 0, 0, 1].into(),
                len: 24,
            },
        });
        let buf = encode_frame(&req).unwrap();
        assert_eq!(
            u32::from_be_bytes(buf[..4].try_into().unwrap()) as usize,
            buf.len() - 4
        );
        let back: Request = read_frame(&mut &buf[..]).unwrap();
        assert_eq!(back, req);
    }

    #[test]
    fn hello_and_error_keep_their_variant_numbers() {
        // Variant index first, then the varint version: frozen across versions.
        let hello = encode_frame(&Request::Hello { version: 1 }).unwrap();
        assert_eq!(&hello[4..], &[0, 1]);
        let hello = encode_frame(&Response::Hello { version: 1 }).unwrap();
        assert_eq!(&hello[4..], &[0, 1]);
        let e = encode_frame(&Response::Error {
            errno: 93,
            message: "x".into(),
        })
        .unwrap();
        assert_eq!(e[4], 1);
    }

    #[test]
    fn oversize_and_truncated_frames_are_errors() {
        let big = ((MAX_FRAME + 1) as u32).to_be_bytes();
        assert!(matches!(
            read_frame_bytes(&mut &big[..]),
            Err(FrameError::TooLarge(n)) if n == MAX_FRAME + 1
        ));
        assert!(matches!(
            read_frame_bytes(&mut &[][..]),
            Err(FrameError::Closed)
        ));
        assert!(matches!(
            read_frame_bytes(&mut &[0u8, 0][..]),
            Err(FrameError::Io(_))
        ));
        let short = [0u8, 0, 0, 9, 1, 2];
        assert!(matches!(
            read_frame_bytes(&mut &short[..]),
            Err(FrameError::Io(_))
        ));
        let mut trailing = encode_frame(&Request::Stats).unwrap();
        trailing.extend_from_slice(&[0, 0]);
        let len = (trailing.len() - 4) as u32;
        trailing[..4].copy_from_slice(&len.to_be_bytes());
        assert!(matches!(
            read_frame::<Request>(&mut &trailing[..]),
            Err(FrameError::Trailing(2))
        ));
        let garbage = [0u8, 0, 0, 1, 0xff];
        assert!(matches!(
            read_frame::<Request>(&mut &garbage[..]),
            Err(FrameError::Decode(_))
        ));
    }
}

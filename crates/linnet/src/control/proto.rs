//! The control socket's messages and their framing.
//!
//! Linux: include/uapi/linux/netlink.h (`struct nlmsghdr`: a length-prefixed, typed message;
//! `NLMSG_ERROR` carrying a negative errno), include/linux/syscalls.h (the socket system
//! calls the [`Request`] socket variants stand for: `socket`, `bind`, `connect`, `sendto`,
//! `recvfrom`, `getsockname`, `getpeername`, `setsockopt`, `listen`, `accept`, `shutdown`,
//! `close`), include/uapi/linux/sock_diag.h (`SOCK_DIAG_BY_FAMILY`: the socket dump behind
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
//! One request, one response, in order. Socket calls name a socket by the [`SockId`] that
//! [`Request::Socket`] returned; ids belong to the connection (like file descriptors to a
//! process), and every socket of a connection is closed when it ends, however it ends.
//! Errors carry Linux's errno and a message.

use std::io::{self, Read, Write};
use std::net::{Ipv4Addr, SocketAddrV4};

use linnet_core::ctl::{CtlRequest, CtlResponse};
use linnet_core::tcp::diag::{InetDiagMsg, InetDiagReq};
use linnet_core::PingEvent;
use serde::{Deserialize, Serialize};

/// The protocol version this build speaks.
pub const PROTOCOL_VERSION: u32 = 5;

/// Largest frame payload accepted either way: 1 MiB.
pub const MAX_FRAME: usize = 1 << 20;

/// Most sockets one [`Response::SockDiag`] carries (a netlink dump's buffer): about 300
/// bytes each with `TCP_INFO`, well inside [`MAX_FRAME`].
pub const DIAG_PAGE: usize = 512;

/// Largest datagram a [`Request::RecvFrom`] returns (the largest UDP payload over IPv4 fits).
pub const MAX_RECV: u32 = 65_535;

/// A socket of a connection (its "file descriptor"): the lowest free number from 3 up.
pub type SockId = u32;

/// Socket types (`SOCK_DGRAM`, `SOCK_STREAM`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SockType {
    /// `socket(AF_INET, SOCK_DGRAM, 0)`: UDP.
    Udp,
    /// `socket(AF_INET, SOCK_STREAM, 0)`: TCP.
    Tcp,
}

/// Socket options (`setsockopt`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SockOpt {
    /// `SO_BROADCAST`.
    Broadcast(bool),
    /// `IP_TTL` (1..=255).
    Ttl(u8),
    /// `SO_RCVBUF` (doubled, as Linux does).
    RcvBuf(u32),
    /// `TCP_NODELAY` (ENOPROTOOPT on a UDP socket, as Linux).
    NoDelay(bool),
}

/// `shutdown()`'s `how`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ShutdownHow {
    /// `SHUT_RD`.
    Read,
    /// `SHUT_WR`: a TCP socket sends its FIN after the queued data.
    Write,
    /// `SHUT_RDWR`.
    Both,
}

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
    /// `socket()`.
    Socket {
        /// Type.
        ty: SockType,
    },
    /// `bind()`.
    Bind {
        /// Socket.
        id: SockId,
        /// Local address (port 0: an ephemeral port).
        addr: SocketAddrV4,
    },
    /// `connect()`. On a TCP socket it blocks until the handshake ends, as a blocking
    /// `connect` does (ECONNREFUSED, ETIMEDOUT when it fails).
    Connect {
        /// Socket.
        id: SockId,
        /// Peer.
        addr: SocketAddrV4,
    },
    /// `listen()` (EOPNOTSUPP on a UDP socket, as Linux).
    Listen {
        /// Socket.
        id: SockId,
        /// Backlog.
        backlog: u32,
    },
    /// `accept()` (EOPNOTSUPP on a UDP socket, as Linux): the next connection as a new
    /// socket ([`Response::Accepted`]). `timeout_ms`: `None` blocks until one comes,
    /// `Some(0)` does not block; EAGAIN when the time passes.
    Accept {
        /// Socket.
        id: SockId,
        /// How long to wait.
        timeout_ms: Option<u32>,
    },
    /// `sendto()` (`to: None`: `send()` on a connected socket). On a TCP socket the address
    /// is ignored (as Linux) and the call blocks until all of `data` is queued.
    SendTo {
        /// Socket.
        id: SockId,
        /// Payload.
        data: Vec<u8>,
        /// Destination.
        to: Option<SocketAddrV4>,
    },
    /// `recvfrom()`: the next datagram, at most `max` bytes of it. `timeout_ms`: `None`
    /// blocks until one comes, `Some(0)` does not block; EAGAIN when the time passes (as
    /// with `SO_RCVTIMEO`). On a TCP socket: up to `max` bytes of the stream, from the
    /// peer; an empty answer is the end of the stream.
    RecvFrom {
        /// Socket.
        id: SockId,
        /// Buffer size (capped at [`MAX_RECV`]).
        max: u32,
        /// How long to wait.
        timeout_ms: Option<u32>,
    },
    /// `getsockname()`.
    GetSockName {
        /// Socket.
        id: SockId,
    },
    /// `setsockopt()`.
    SetOpt {
        /// Socket.
        id: SockId,
        /// Option and value.
        opt: SockOpt,
    },
    /// `close()`.
    Close {
        /// Socket.
        id: SockId,
    },
    /// `shutdown()` (ENOTCONN on a socket that is not connected).
    Shutdown {
        /// Socket.
        id: SockId,
        /// Which direction.
        how: ShutdownHow,
    },
    /// `getpeername()` (ENOTCONN when not connected).
    GetPeerName {
        /// Socket.
        id: SockId,
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
    /// A datagram.
    Datagram {
        /// Payload (at most `max` bytes).
        data: Vec<u8>,
        /// Sender.
        from: SocketAddrV4,
        /// The datagram's full length (`MSG_TRUNC` when larger than `data`).
        datagram_len: u32,
    },
    /// `getsockname()`.
    SockName(SocketAddrV4),
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
    /// `getpeername()`.
    PeerName(SocketAddrV4),
    /// One page of a [`Request::SockDiag`] dump.
    SockDiag {
        /// The sockets.
        msgs: Vec<InetDiagMsg>,
        /// The cursor of the next page; `None` when the dump is complete.
        next: Option<u64>,
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
    /// Sockets open through the control socket, all clients together.
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

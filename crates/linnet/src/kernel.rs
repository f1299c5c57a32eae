//! The kernel-style front door: the in-kernel socket API of the seed labs
//! (`sock_create_kern`, `sock->ops->bind/listen/accept/connect/getname`, `kernel_sendmsg` /
//! `kernel_recvmsg` with kvecs, `sock_release`) over a running linnet stack.
//!
//! Linux: net/socket.c (`sock_create_kern`, `sock_create_lite`, `sock_release`,
//! `kernel_sendmsg`, `kernel_recvmsg`, `kernel_bind`, `kernel_listen`, `kernel_accept`,
//! `kernel_connect`, `kernel_getsockname`, `kernel_getpeername`, `kernel_sock_shutdown`),
//! include/linux/net.h (`struct socket`, `struct proto_ops`), include/linux/uio.h
//! (`struct kvec`), include/linux/socket.h (`struct msghdr`), include/uapi/linux/in.h
//! (`struct sockaddr_in`, `INADDR_LOOPBACK`), net/ipv4/af_inet.c (`inet_stream_connect`'s
//! and `inet_accept`'s waits), net/core/sock.c (`sock_rcvtimeo`, `sock_sndtimeo`).
//! RFCs: none.
//!
//! # Shape
//! The runtime's [`StackHandle`] plays `struct net` (`&init_net`): [`sock_create_kern`]
//! takes it, or a [`Remote`] (a daemon's stack, through its control socket: every call
//! below then runs in the daemon, with the same errors and the same waits); both are a
//! [`Net`]. A [`Socket`] is `struct socket`: its `ops` field is the protocol's
//! [`ProtoOps`] table, and [`Socket::ops`] calls through it with the kernel's argument shapes
//! (`sock.ops().bind(&sock, &addr, size_of::<SockaddrIn>())`). Addresses are
//! [`SockaddrIn`] with the port and address in network byte order, so the labs' `htons` /
//! `htonl(INADDR_LOOPBACK)` read the same.
//!
//! Every call returns `Result<_, KErr>`: [`KErr`] is Linux's errno and prints as the
//! kernel's negative return (`-EINVAL`); [`KernRet::ret`] turns a result into the `int` a C
//! caller tests with `if (err < 0)`.
//!
//! # Blocking
//! Calls block where the kernel's do, through the runtime's wait
//! ([`StackHandle::wait_for`], the role of `sk_wait_data`; the wait loops are
//! `crate::sockcall`'s, which the daemon's control socket runs too): `accept` without `O_NONBLOCK`
//! until a connection is queued, `connect` on a stream socket until the handshake ends,
//! `kernel_recvmsg` without `MSG_DONTWAIT` until data (all of it with `MSG_WAITALL` on a
//! stream), `kernel_sendmsg` until everything is queued. `SO_RCVTIMEO` / `SO_SNDTIMEO`
//! bound the waits (EAGAIN when they run out; EINPROGRESS for a connect, as Linux).
//! A runtime that shut down answers ENETDOWN.
//!
//! Kernel sockets are privileged ([`linnet_core::Stack::sock_create_kern`]): they may bind
//! ports below 1024 and set the `CAP_NET_ADMIN` options.
//!
//! Deviation from Linux: on a daemon's socket, `O_NONBLOCK` in the `flags` of `connect` /
//! `accept` is set on the socket for the call and cleared after it, and `listen` is the
//! system call (its backlog capped at `somaxconn`); `Socket::sk` is `None` there (the id is
//! the daemon's).
//!
//! Deviation from Linux: a `Socket` dropped without [`sock_release`] is released (Linux leaks
//! it); calling an op on a socket whose `ops` is still NULL (a `sock_create_lite` socket
//! before `newsock->ops = sock->ops`) answers EBADF where Linux would oops.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::time::Duration;

use linnet_core::socket::addr::SOCK_TYPE_MASK;
use linnet_core::socket::poll::PollMask;
use linnet_core::socket::{ProtoOps, INET_DGRAM_OPS, INET_SOCKRAW_OPS, INET_STREAM_OPS};
use linnet_core::{Errno, SockAddr, SocketId, SocketState};

use crate::control::{ClientError, MAX_IO};
use crate::remote::{Remote, SockConn};
use crate::runtime::StackHandle;
use crate::sockcall::{self, CallErr};

pub use linnet_core::socket::addr::{
    AF_INET, IPPROTO_ICMP, IPPROTO_RAW, IPPROTO_TCP, IPPROTO_UDP, MSG_DONTWAIT, MSG_MORE, MSG_PEEK,
    MSG_TRUNC, MSG_WAITALL, SHUT_RD, SHUT_RDWR, SHUT_WR, SOCK_CLOEXEC, SOCK_DGRAM, SOCK_NONBLOCK,
    SOCK_RAW, SOCK_STREAM,
};
pub use linnet_core::socket::opt::{
    IP_HDRINCL, SOL_IP, SOL_SOCKET, SO_RCVBUF, SO_RCVTIMEO, SO_REUSEADDR, SO_SNDBUF, SO_SNDTIMEO,
};
pub use linnet_core::socket::raw::{ICMP_FILTER, SOL_RAW};

/// `PF_INET` (= `AF_INET`).
pub const PF_INET: i32 = AF_INET;
/// `O_NONBLOCK` (the `flags` of `connect` and `accept`; = `SOCK_NONBLOCK`).
pub const O_NONBLOCK: i32 = 0o4000;
/// `INADDR_LOOPBACK`, host byte order (127.0.0.1).
pub const INADDR_LOOPBACK: u32 = 0x7f00_0001;
/// `INADDR_ANY`.
pub const INADDR_ANY: u32 = 0;

/// `htons`: host to network byte order.
pub fn htons(x: u16) -> u16 {
    x.to_be()
}

/// `ntohs`.
pub fn ntohs(x: u16) -> u16 {
    u16::from_be(x)
}

/// `htonl`.
pub fn htonl(x: u32) -> u32 {
    x.to_be()
}

/// `ntohl`.
pub fn ntohl(x: u32) -> u32 {
    u32::from_be(x)
}

/// A kernel errno: Linux's number, shown as the kernel returns it (`-EINVAL`).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct KErr(pub Errno);

impl KErr {
    /// The negative return value (`-22` for EINVAL).
    pub fn code(self) -> i32 {
        -self.0.code()
    }
}

impl From<Errno> for KErr {
    fn from(e: Errno) -> KErr {
        KErr(e)
    }
}

impl fmt::Display for KErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "-{}", self.0.name())
    }
}

impl fmt::Debug for KErr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "-{}", self.0.name())
    }
}

impl std::error::Error for KErr {}

/// A kernel call's result.
pub type KResult<T> = Result<T, KErr>;

/// The C caller's `int err`: 0 or a count on success, `-errno` on failure.
pub trait KernRet {
    /// The value as the kernel function would return it.
    fn ret(self) -> i32;
}

impl KernRet for KResult<()> {
    fn ret(self) -> i32 {
        match self {
            Ok(()) => 0,
            Err(e) => e.code(),
        }
    }
}

impl KernRet for KResult<usize> {
    fn ret(self) -> i32 {
        match self {
            Ok(n) => i32::try_from(n).unwrap_or(i32::MAX),
            Err(e) => e.code(),
        }
    }
}

/// `struct in_addr`: `s_addr` in network byte order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct InAddr {
    /// `s_addr`.
    pub s_addr: u32,
}

/// `struct sockaddr_in` (16 bytes on the wire of the syscall ABI): port and address in
/// network byte order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SockaddrIn {
    /// `sin_family` (`AF_INET`).
    pub sin_family: u16,
    /// `sin_port`, network byte order (`htons(60000)`).
    pub sin_port: u16,
    /// `sin_addr`.
    pub sin_addr: InAddr,
}

/// `sizeof(struct sockaddr_in)`.
pub const SOCKADDR_IN_SIZE: usize = 16;

impl SockaddrIn {
    /// An `AF_INET` address from a std one.
    pub fn from_v4(a: SocketAddrV4) -> SockaddrIn {
        SockaddrIn {
            sin_family: AF_INET as u16,
            sin_port: htons(a.port()),
            sin_addr: InAddr {
                s_addr: htonl(u32::from(*a.ip())),
            },
        }
    }

    /// The address and port in host terms.
    pub fn to_v4(&self) -> SocketAddrV4 {
        SocketAddrV4::new(
            Ipv4Addr::from(ntohl(self.sin_addr.s_addr)),
            ntohs(self.sin_port),
        )
    }

    fn to_sockaddr(self, addrlen: usize) -> SockAddr {
        SockAddr::with_family(self.sin_family, self.to_v4(), addrlen)
    }
}

impl fmt::Display for SockaddrIn {
    /// `"%pI4:%d"` of `&addr.sin_addr.s_addr` and `ntohs(addr.sin_port)`, the labs'
    /// `print_sock_address` format: `127.0.0.1:60000`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let a = self.to_v4();
        write!(f, "{}:{}", a.ip(), a.port())
    }
}

/// The `struct net` a kernel socket is made in: the in-process stack, or a daemon's
/// through its control socket. `sock_create_kern` takes either (`&StackHandle`,
/// `&Remote`).
#[derive(Clone, Debug)]
pub enum Net {
    /// A runtime of this process.
    Local(StackHandle),
    /// A `linnet daemon`'s stack.
    Remote(Remote),
}

impl From<&StackHandle> for Net {
    fn from(h: &StackHandle) -> Net {
        Net::Local(h.clone())
    }
}

impl From<StackHandle> for Net {
    fn from(h: StackHandle) -> Net {
        Net::Local(h)
    }
}

impl From<&Remote> for Net {
    fn from(r: &Remote) -> Net {
        Net::Remote(r.clone())
    }
}

impl From<Remote> for Net {
    fn from(r: Remote) -> Net {
        Net::Remote(r)
    }
}

impl From<&Net> for Net {
    fn from(n: &Net) -> Net {
        n.clone()
    }
}

/// Where a socket's `sock->sk` lives.
enum Sk {
    Local(StackHandle, SocketId),
    Remote(SockConn),
}

/// `struct socket`: the BSD socket of a kernel user. See the module doc.
pub struct Socket {
    sk: Option<Sk>,
    /// `sock->type`.
    pub ty: i32,
    /// `sock->ops`: `None` until set (a `sock_create_lite` socket).
    pub ops: Option<&'static ProtoOps>,
}

impl fmt::Debug for Socket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Socket")
            .field("sk", &self.sk())
            .field("remote", &matches!(self.sk, Some(Sk::Remote(_))))
            .field("type", &self.ty)
            .field("ops", &self.ops.map(|o| o.name))
            .finish()
    }
}

/// A daemon's answer as the kernel's errno; a broken control connection is ENETDOWN (the
/// stack is out of reach, as for a runtime that stopped).
fn remote_err(e: ClientError) -> KErr {
    KErr(
        e.errno()
            .and_then(Errno::from_code)
            .unwrap_or(Errno::ENETDOWN),
    )
}

fn call_err(e: CallErr) -> KErr {
    match e {
        CallErr::Errno(e) => KErr(e),
        // A runtime handle has no caller to hang up.
        CallErr::Hangup => KErr(Errno::ENETDOWN),
    }
}

/// The side a kernel call runs on.
enum Side<'a> {
    Local(&'a StackHandle, SocketId),
    Remote(&'a SockConn),
}

impl Socket {
    /// `sock->ops`, to call through: `sock.ops().bind(&sock, ...)`.
    pub fn ops(&self) -> SockOps {
        SockOps(self.ops)
    }

    /// `sock->sk`: the stack's socket, once created or accepted (`None` for a socket of a
    /// daemon: its id is the daemon's).
    pub fn sk(&self) -> Option<SocketId> {
        match &self.sk {
            Some(Sk::Local(_, id)) => Some(*id),
            _ => None,
        }
    }

    /// `sock->state`. For a daemon's socket: `SS_CONNECTED` while it has a peer, else
    /// `SS_UNCONNECTED` (the daemon does not report the BSD state itself).
    pub fn state(&self) -> SocketState {
        match &self.sk {
            Some(Sk::Local(n, id)) => n
                .inspect(|s| s.socket(*id).map(|s| s.state))
                .unwrap_or(SocketState::Free),
            Some(Sk::Remote(c)) => match c.call(|c, id| c.peer_addr(id)) {
                Ok(_) => SocketState::Connected,
                Err(_) => SocketState::Unconnected,
            },
            None => SocketState::Unconnected,
        }
    }

    /// The stack (`sock_net(sock->sk)`), when in-process.
    pub fn net(&self) -> Option<&StackHandle> {
        match &self.sk {
            Some(Sk::Local(n, _)) => Some(n),
            _ => None,
        }
    }

    /// The daemon, for a socket made through a [`Remote`].
    pub fn remote(&self) -> Option<&Remote> {
        match &self.sk {
            Some(Sk::Remote(c)) => Some(c.remote()),
            _ => None,
        }
    }

    fn side(&self) -> KResult<Side<'_>> {
        match &self.sk {
            Some(Sk::Local(n, id)) => Ok(Side::Local(n, *id)),
            Some(Sk::Remote(c)) => Ok(Side::Remote(c)),
            None => Err(KErr(Errno::EBADF)),
        }
    }

    fn release(&mut self) {
        match self.sk.take() {
            Some(Sk::Local(n, id)) => {
                let _ = n.with_stack(|s| s.sys_close(id));
            }
            // Dropping the connections closes the daemon's socket (synchronously: see
            // `SockConn`'s drop).
            Some(Sk::Remote(c)) => drop(c),
            None => {}
        }
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.release();
    }
}

/// The protocol table a daemon's socket of `ty` / `protocol` has (`inetsw`'s answer).
fn remote_ops(ty: i32, protocol: i32) -> &'static ProtoOps {
    match (ty, protocol) {
        (SOCK_STREAM, _) => &INET_STREAM_OPS,
        (_, IPPROTO_ICMP) => &INET_SOCKRAW_OPS,
        _ => &INET_DGRAM_OPS,
    }
}

/// `sock_create_kern(net, family, type, protocol, &sock)`: a kernel socket (see
/// [`linnet_core::Stack::sock_create_kern`] for the checks and errors). `net` is a
/// `&StackHandle` (in-process) or a `&Remote` (a daemon's stack).
pub fn sock_create_kern(
    net: impl Into<Net>,
    family: i32,
    ty: i32,
    protocol: i32,
) -> KResult<Socket> {
    match net.into() {
        Net::Local(net) => {
            let id = net.with_stack(|s| s.sock_create_kern(family, ty, protocol))?;
            let ops = net.inspect(|s| s.socket(id).map(|s| s.ops))?;
            Ok(Socket {
                sk: Some(Sk::Local(net, id)),
                ty: ty & SOCK_TYPE_MASK,
                ops: Some(ops),
            })
        }
        Net::Remote(r) => {
            let c = SockConn::socket(&r, family, ty, protocol, true).map_err(remote_err)?;
            Ok(Socket {
                sk: Some(Sk::Remote(c)),
                ty: ty & SOCK_TYPE_MASK,
                ops: Some(remote_ops(ty & SOCK_TYPE_MASK, protocol)),
            })
        }
    }
}

/// `sock_create_lite(family, type, protocol, &sock)`: a bare `struct socket` with no sock
/// and no ops (no checks), for `accept`'s new socket; set `ops` from the listener.
pub fn sock_create_lite(_family: i32, ty: i32, _protocol: i32) -> KResult<Socket> {
    Ok(Socket {
        sk: None,
        ty,
        ops: None,
    })
}

/// `sock_release(sock)`: `sock->ops->release`, then the socket is gone.
pub fn sock_release(mut sock: Socket) {
    sock.release();
    sock.ops = None;
}

/// `O_NONBLOCK` in a kernel call's `flags` on a daemon's socket: set on the socket for the
/// call, then restored (the daemon waits by the socket's file flags).
fn with_nonblock<T>(c: &SockConn, on: bool, f: impl FnOnce() -> KResult<T>) -> KResult<T> {
    if !on {
        return f();
    }
    c.call(|c, id| c.set_nonblock(id, true))
        .map_err(remote_err)?;
    let r = f();
    c.call(|c, id| c.set_nonblock(id, false))
        .map_err(remote_err)?;
    r
}

/// `sock->ops`, with the kernel's call shapes. See the module doc.
#[derive(Clone, Copy, Debug)]
pub struct SockOps(Option<&'static ProtoOps>);

impl SockOps {
    fn table(&self) -> KResult<&'static ProtoOps> {
        self.0.ok_or(KErr(Errno::EBADF))
    }

    /// The table's Linux name (`inet_stream_ops`, `inet_dgram_ops`).
    pub fn name(&self) -> &'static str {
        self.0.map_or("(null)", |o| o.name)
    }

    /// `ops->bind(sock, (struct sockaddr *)&addr, addrlen)`: `inet_bind`. EINVAL for an
    /// `addrlen` below `sizeof(struct sockaddr_in)`, and the bind errors of the core.
    pub fn bind(&self, sock: &Socket, addr: &SockaddrIn, addrlen: usize) -> KResult<()> {
        let ops = self.table()?;
        let sa = addr.to_sockaddr(addrlen);
        match sock.side()? {
            Side::Local(net, id) => Ok(net.with_stack(|s| (ops.bind)(s, id, &sa))?),
            Side::Remote(c) => c
                .call(|c, id| c.bind_raw(id, sa.as_bytes()))
                .map_err(remote_err),
        }
    }

    /// `ops->listen(sock, backlog)`: `inet_listen` (EOPNOTSUPP on UDP: `sock_no_listen`).
    /// As in Linux, only the syscall caps the backlog at `somaxconn`.
    pub fn listen(&self, sock: &Socket, backlog: i32) -> KResult<()> {
        let ops = self.table()?;
        match sock.side()? {
            Side::Local(net, id) => Ok(net.with_stack(|s| (ops.listen)(s, id, backlog))?),
            // Deviation from Linux: through the daemon this is the syscall, which caps the
            // backlog at `somaxconn`.
            Side::Remote(c) => c
                .call(|c, id| c.listen(id, u32::try_from(backlog).unwrap_or(0)))
                .map_err(remote_err),
        }
    }

    /// `ops->connect(sock, addr, addrlen, flags)`: `inet_stream_connect` /
    /// `inet_dgram_connect`. A stream socket without `O_NONBLOCK` (in `flags`) waits for the
    /// handshake (`SO_SNDTIMEO` bounds it: then EINPROGRESS) and returns its result
    /// (ECONNREFUSED, ETIMEDOUT, ...); with `O_NONBLOCK`, EINPROGRESS.
    pub fn connect(
        &self,
        sock: &Socket,
        addr: &SockaddrIn,
        addrlen: usize,
        flags: i32,
    ) -> KResult<()> {
        self.table()?;
        let sa = addr.to_sockaddr(addrlen);
        let nonblock = flags & O_NONBLOCK != 0;
        match sock.side()? {
            Side::Local(net, id) => sockcall::connect(net, id, &sa, nonblock).map_err(call_err),
            Side::Remote(c) => with_nonblock(c, nonblock, || {
                c.call(|c, id| c.connect_raw(id, sa.as_bytes()))
                    .map_err(remote_err)
            }),
        }
    }

    /// `ops->accept(sock, newsock, flags, kern)`: `inet_accept`. Waits for a connection
    /// unless `O_NONBLOCK` is in `flags` or on the listener (EAGAIN), or until
    /// `SO_RCVTIMEO` (EAGAIN). `newsock` (from [`sock_create_lite`]) gets the connection;
    /// its `ops` stay what the caller set (`newsock->ops = sock->ops`). `flags` also give
    /// the new socket `O_NONBLOCK` / `O_CLOEXEC`. `kern`: the new socket is a kernel socket
    /// (it inherits the listener's privilege either way here).
    pub fn accept(
        &self,
        sock: &Socket,
        newsock: &mut Socket,
        flags: i32,
        kern: bool,
    ) -> KResult<()> {
        let _ = kern;
        self.table()?;
        let fl = flags & (SOCK_NONBLOCK | SOCK_CLOEXEC);
        let sk = match sock.side()? {
            Side::Local(net, id) => {
                let nonblock = flags & O_NONBLOCK != 0 || sockcall::nonblocking(net, id);
                let (new_id, _) = sockcall::accept(net, id, fl, nonblock).map_err(call_err)?;
                Sk::Local(net.clone(), new_id)
            }
            Side::Remote(c) => {
                let child = with_nonblock(c, flags & O_NONBLOCK != 0, || {
                    c.call(|cl, id| {
                        let (child, _) = cl.accept4(id, fl)?;
                        SockConn::adopt(c.remote(), cl, child)
                    })
                    .map_err(remote_err)
                })?;
                Sk::Remote(child)
            }
        };
        newsock.release();
        newsock.sk = Some(sk);
        newsock.ty = sock.ty;
        Ok(())
    }

    /// `ops->getname(sock, (struct sockaddr *)&addr, peer)`: `inet_getname`; `peer` 1 for
    /// the remote end (ENOTCONN unless connected), 0 for the local one. Returns the address
    /// length (16) as Linux does since 4.17.
    pub fn getname(&self, sock: &Socket, addr: &mut SockaddrIn, peer: i32) -> KResult<usize> {
        let ops = self.table()?;
        let a = match sock.side()? {
            Side::Local(net, id) => net.inspect(|s| (ops.getname)(s, id, peer != 0))?,
            Side::Remote(c) => c
                .call(|c, id| {
                    if peer != 0 {
                        c.peer_addr(id)
                    } else {
                        c.local_addr(id)
                    }
                })
                .map_err(remote_err)?,
        };
        *addr = SockaddrIn::from_v4(a);
        Ok(SOCKADDR_IN_SIZE)
    }

    /// `ops->shutdown(sock, how)`: `inet_shutdown` (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`).
    pub fn shutdown(&self, sock: &Socket, how: i32) -> KResult<()> {
        let ops = self.table()?;
        match sock.side()? {
            Side::Local(net, id) => Ok(net.with_stack(|s| (ops.shutdown)(s, id, how))?),
            Side::Remote(c) => c.call(|c, id| c.shutdown_raw(id, how)).map_err(remote_err),
        }
    }

    /// `ops->setsockopt(sock, level, optname, optval, optlen)`.
    pub fn setsockopt(
        &self,
        sock: &Socket,
        level: i32,
        optname: i32,
        optval: &[u8],
    ) -> KResult<()> {
        let ops = self.table()?;
        match sock.side()? {
            Side::Local(net, id) => {
                Ok(net.with_stack(|s| (ops.setsockopt)(s, id, level, optname, optval))?)
            }
            Side::Remote(c) => c
                .call(|c, id| c.setsockopt(id, level, optname, optval))
                .map_err(remote_err),
        }
    }

    /// `ops->getsockopt(sock, level, optname, optval, &optlen)`: returns the new `optlen`.
    pub fn getsockopt(
        &self,
        sock: &Socket,
        level: i32,
        optname: i32,
        optval: &mut [u8],
    ) -> KResult<usize> {
        let ops = self.table()?;
        match sock.side()? {
            Side::Local(net, id) => {
                Ok(net.with_stack(|s| (ops.getsockopt)(s, id, level, optname, optval))?)
            }
            Side::Remote(c) => {
                let v = c
                    .call(|c, id| c.getsockopt(id, level, optname, optval.len()))
                    .map_err(remote_err)?;
                let n = v.len().min(optval.len());
                optval[..n].copy_from_slice(&v[..n]);
                Ok(v.len())
            }
        }
    }

    /// `ops->poll(file, sock, NULL)`: the readiness mask (`tcp_poll`, `udp_poll`).
    pub fn poll(&self, sock: &Socket) -> KResult<PollMask> {
        let ops = self.table()?;
        match sock.side()? {
            Side::Local(net, id) => Ok(net.inspect(|s| (ops.poll)(s, id))?),
            Side::Remote(c) => c
                .call(|c, id| c.poll(id, u32::MAX, Some(Duration::ZERO)))
                .map(PollMask)
                .map_err(remote_err),
        }
    }
}

/// `struct kvec` for sending: one buffer (`iov_base`, `iov_len`).
#[derive(Clone, Copy, Debug)]
pub struct Kvec<'a> {
    /// `iov_base`.
    pub iov_base: &'a [u8],
    /// `iov_len` (at most `iov_base.len()` is used).
    pub iov_len: usize,
}

impl<'a> Kvec<'a> {
    /// A kvec over all of `buf`.
    pub fn new(buf: &'a [u8]) -> Kvec<'a> {
        Kvec {
            iov_base: buf,
            iov_len: buf.len(),
        }
    }
}

/// `struct kvec` for receiving.
#[derive(Debug)]
pub struct KvecMut<'a> {
    /// `iov_base`.
    pub iov_base: &'a mut [u8],
    /// `iov_len` (at most `iov_base.len()` is used).
    pub iov_len: usize,
}

impl<'a> KvecMut<'a> {
    /// A kvec over all of `buf`.
    pub fn new(buf: &'a mut [u8]) -> KvecMut<'a> {
        let n = buf.len();
        KvecMut {
            iov_base: buf,
            iov_len: n,
        }
    }
}

/// `struct msghdr` as a kernel caller fills it (the data goes in the kvecs).
#[derive(Clone, Copy, Debug, Default)]
pub struct Msghdr {
    /// `msg_name`: the destination (send) or the sender (receive), if any.
    pub msg_name: Option<SockaddrIn>,
    /// `msg_namelen`.
    pub msg_namelen: usize,
    /// `msg_controllen`: ancillary data is not carried here; 0.
    pub msg_controllen: usize,
    /// `msg_flags`: the send flags (`MSG_DONTWAIT`, `MSG_MORE`, ...); on receive, what
    /// came back (`MSG_TRUNC`).
    pub msg_flags: i32,
}

/// `kernel_sendmsg(sock, msg, vec, num, size)`: sends the first `size` bytes of the first
/// `num` kvecs through `sock->ops->sendmsg`, to `msg.msg_name` if set, with
/// `msg.msg_flags`. A stream socket sends all of it, waiting for send space unless
/// `MSG_DONTWAIT` or `O_NONBLOCK` (bytes sent before an error or a timeout are returned, as
/// `tcp_sendmsg` does); a datagram socket sends one datagram. Returns the bytes sent.
pub fn kernel_sendmsg(
    sock: &Socket,
    msg: &Msghdr,
    vec: &[Kvec<'_>],
    num: usize,
    size: usize,
) -> KResult<usize> {
    sock.ops().table()?;
    let mut data = Vec::with_capacity(size.min(1 << 20));
    for v in vec.iter().take(num) {
        let b = &v.iov_base[..v.iov_len.min(v.iov_base.len())];
        let room = size - data.len();
        data.extend_from_slice(&b[..b.len().min(room)]);
        if data.len() == size {
            break;
        }
    }
    let to = msg.msg_name.map(|a| a.to_sockaddr(msg.msg_namelen));
    let flags = msg.msg_flags;
    match sock.side()? {
        Side::Local(net, id) => {
            sockcall::sendmsg(net, id, &data, flags, to.as_ref()).map_err(call_err)
        }
        Side::Remote(c) => {
            // One request carries at most MAX_IO bytes: a stream goes in pieces (a piece
            // sent short ends the call, as `tcp_sendmsg` returns what it queued).
            let to = to.as_ref().map(SockAddr::as_bytes);
            let mut sent = 0;
            loop {
                let end = data.len().min(sent + MAX_IO);
                let piece = end - sent;
                match c.call(|c, id| c.sendmsg(id, &data[sent..end], flags, to)) {
                    Ok(n) => {
                        sent += n;
                        if sock.ty != SOCK_STREAM || sent >= data.len() || n < piece {
                            return Ok(sent);
                        }
                    }
                    Err(e) if sent == 0 => return Err(remote_err(e)),
                    Err(_) => return Ok(sent),
                }
            }
        }
    }
}

/// `kernel_recvmsg(sock, msg, vec, num, size, flags)`: receives at most `size` bytes into
/// the first `num` kvecs through `sock->ops->recvmsg`. Waits for data unless `MSG_DONTWAIT`
/// or `O_NONBLOCK` (EAGAIN), or until `SO_RCVTIMEO` (EAGAIN); on a stream, `MSG_WAITALL`
/// waits for all `size` bytes (or EOF, an error, a timeout). Fills `msg.msg_name` with the
/// sender (datagrams) and `msg.msg_flags` (`MSG_TRUNC`). Returns the bytes received (a
/// truncated datagram's full length with `MSG_TRUNC` in `flags`), 0 at EOF.
pub fn kernel_recvmsg(
    sock: &Socket,
    msg: &mut Msghdr,
    vec: &mut [KvecMut<'_>],
    num: usize,
    size: usize,
    flags: i32,
) -> KResult<usize> {
    sock.ops().table()?;
    let room: usize = vec
        .iter()
        .take(num)
        .map(|v| v.iov_len.min(v.iov_base.len()))
        .sum();
    let want = size.min(room);
    let mut buf = vec![0u8; want];
    let (ret, got, from, mflags) = match sock.side()? {
        Side::Local(net, id) => {
            let r = sockcall::recvmsg(net, id, &mut buf, flags, None).map_err(call_err)?;
            (r.ret, r.copied, r.from, r.flags)
        }
        Side::Remote(c) => {
            let m = c
                .call_rx(|c, id| c.recvmsg(id, want.min(MAX_IO), flags, 0))
                .map_err(remote_err)?;
            let n = m.data.len().min(want);
            buf[..n].copy_from_slice(&m.data[..n]);
            (m.len, n, m.from, m.flags)
        }
    };
    msg.msg_name = from.map(SockaddrIn::from_v4);
    msg.msg_namelen = if from.is_some() { SOCKADDR_IN_SIZE } else { 0 };
    msg.msg_flags = mflags;
    // Scatter into the kvecs.
    let mut off = 0;
    for v in vec.iter_mut().take(num) {
        if off >= got {
            break;
        }
        let cap = v.iov_len.min(v.iov_base.len());
        let n = cap.min(got - off);
        v.iov_base[..n].copy_from_slice(&buf[off..off + n]);
        off += n;
    }
    Ok(ret)
}

/// `kernel_bind(sock, addr, addrlen)`.
pub fn kernel_bind(sock: &Socket, addr: &SockaddrIn, addrlen: usize) -> KResult<()> {
    sock.ops().bind(sock, addr, addrlen)
}

/// `kernel_listen(sock, backlog)`.
pub fn kernel_listen(sock: &Socket, backlog: i32) -> KResult<()> {
    sock.ops().listen(sock, backlog)
}

/// `kernel_accept(sock, &newsock, flags)`: a new socket with the listener's ops.
pub fn kernel_accept(sock: &Socket, flags: i32) -> KResult<Socket> {
    let mut newsock = sock_create_lite(AF_INET, sock.ty, 0)?;
    newsock.ops = sock.ops;
    sock.ops().accept(sock, &mut newsock, flags, true)?;
    Ok(newsock)
}

/// `kernel_connect(sock, addr, addrlen, flags)`.
pub fn kernel_connect(sock: &Socket, addr: &SockaddrIn, addrlen: usize, flags: i32) -> KResult<()> {
    sock.ops().connect(sock, addr, addrlen, flags)
}

/// `kernel_getsockname(sock, addr)`: returns the address length.
pub fn kernel_getsockname(sock: &Socket, addr: &mut SockaddrIn) -> KResult<usize> {
    sock.ops().getname(sock, addr, 0)
}

/// `kernel_getpeername(sock, addr)`: returns the address length.
pub fn kernel_getpeername(sock: &Socket, addr: &mut SockaddrIn) -> KResult<usize> {
    sock.ops().getname(sock, addr, 1)
}

/// `kernel_sock_shutdown(sock, how)`.
pub fn kernel_sock_shutdown(sock: &Socket, how: i32) -> KResult<()> {
    sock.ops().shutdown(sock, how)
}

/// `kernel_setsockopt(sock, level, optname, optval, optlen)` (Linux 5.8 replaced it with
/// `sock_setsockopt` and the `sock_set_*` / `tcp_sock_set_*` helpers; the call shape is the
/// same as `sock->ops->setsockopt`).
pub fn kernel_setsockopt(sock: &Socket, level: i32, optname: i32, optval: &[u8]) -> KResult<()> {
    sock.ops().setsockopt(sock, level, optname, optval)
}

/// `kernel_getsockopt(sock, level, optname, optval, &optlen)`: returns the new `optlen`.
pub fn kernel_getsockopt(
    sock: &Socket,
    level: i32,
    optname: i32,
    optval: &mut [u8],
) -> KResult<usize> {
    sock.ops().getsockopt(sock, level, optname, optval)
}

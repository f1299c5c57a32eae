//! The socket layer: `struct socket` over the protocol sockets, the per-type `proto_ops`
//! tables, `socket()` validation, and the socket calls with Linux's errors.
//!
//! Linux: net/socket.c (`__sys_socket`, `__sock_create`, `__sys_bind`, `__sys_connect`,
//! `__sys_listen`, `__sys_accept4`, `__sys_getsockname`, `__sys_getpeername`,
//! `__sys_shutdown`, `__sys_sendto`, `__sys_recvfrom`, `__sys_setsockopt`,
//! `__sys_getsockopt`, `sock_release`, `sock_no_*`), net/ipv4/af_inet.c (`inet_create` and
//! its `inetsw` protosw search, `inet_bind`/`__inet_bind`, `inet_stream_connect`,
//! `inet_dgram_connect`, `inet_listen`, `inet_accept`, `inet_getname`, `inet_shutdown`,
//! `inet_release`, `inet_stream_ops`, `inet_dgram_ops`), include/linux/net.h
//! (`socket_state`, `struct socket`, `struct proto_ops`), net/core/sock.c
//! (`sk_setsockopt`, `sk_getsockopt`), net/ipv4/ip_sockglue.c (`do_ip_setsockopt`,
//! `do_ip_getsockopt`), net/ipv4/tcp.c (`do_tcp_setsockopt`, `do_tcp_getsockopt`).
//! RFCs: none (the BSD socket API; POSIX.1-2017 for the calls).
//!
//! # Shape
//! A [`Socket`] (Linux's `struct socket`) lives in the stack's socket table and is named by
//! a [`SocketId`] (the role of the file descriptor). It holds the BSD state
//! ([`SocketState`], `SS_*`, distinct from the TCP state), the type, the file flags
//! (`O_NONBLOCK`), the [`ProtoOps`] table of its family and type, and the handle of its
//! protocol sock (`sock->sk`): a TCP socket of the TCP table or a UDP socket of the UDP
//! table. The few `struct sock` fields the protocol code does not keep (`sk_priority`,
//! `sk_mark` (also handed to the TCP and UDP socks, whose packets carry them), `sk_rcvlowat`, `sk_rcvtimeo`, `sk_sndtimeo`, `sk_reuseport`, and for UDP
//! `sk_sndbuf`, `sk_reuse` and the flags that have no effect on a datagram socket) live in
//! the `Socket`.
//!
//! The calls are `Stack::sys_*` methods named after the syscalls; each dispatches through
//! the socket's [`ProtoOps`] as `sock->ops->bind(...)` does, so UDP's `listen` and `accept`
//! answer EOPNOTSUPP from `sock_no_listen` / `sock_no_accept`.
//!
//! # Blocking
//! The core never blocks. Where Linux would sleep, a call returns what a non-blocking
//! socket gets (EAGAIN, or EINPROGRESS for a stream connect) and the front door waits for
//! the stack's event and calls again: [`Stack::sys_connect_complete`] is the second half of
//! a blocking `connect` (what `inet_stream_connect` returns after `inet_wait_for_connect`),
//! `accept`/`recv`/`send` are simply called again. `SO_RCVTIMEO` / `SO_SNDTIMEO` are kept
//! for the front door to honour. A blocking UDP `recv` after `shutdown(SHUT_RD)` on an empty
//! queue returns 0 as Linux does (nothing to wait for).
//!
//! # Checked against Linux
//! `crates/linnet/tests/socket_diff.rs` runs a table of scripted scenarios against the
//! kernel (in a fresh pair of network namespaces) and against this layer, step by step;
//! its `DIFFERENCES` list is the set of deliberate departures.
//!
//! # Readiness
//! [`Stack::sock_poll`] is `sock->ops->poll` (`tcp_poll`, `udp_poll`, `datagram_poll`);
//! [`poll::Epoll`] is an epoll interest set fed with the stack's events (see [`poll`]).
//!
//! # Privilege
//! Linux checks capabilities of the calling task (`CAP_NET_BIND_SERVICE` for a port below
//! `ip_unprivileged_port_start`, `CAP_NET_ADMIN` for `SO_DEBUG`, `SO_MARK`,
//! `SO_*BUFFORCE` and `SO_PRIORITY` above 6). A library has no tasks: each socket carries a
//! `privileged` mark instead, off for [`Stack::sys_socket`] and on for
//! [`Stack::sock_create_kern`] (kernel sockets pass every capability check), settable with
//! [`Stack::sock_set_privileged`].
//!
//! # Transparent mode (TPROXY)
//! For tun2socks-style users: Linux's `IP_TRANSPARENT` socket plus an nftables `tproxy`
//! rule on a device. [`Stack::tcp_listen_transparent`] and [`Stack::udp_bind_transparent`]
//! give a device one accept-any TCP listener and one accept-any UDP socket: what arrives
//! on that device for any address and port, with no ordinary socket matching, goes to them
//! (the input route treats such TCP / UDP packets as local for that device only; other
//! devices and protocols keep forwarding or dropping as before). An accepted child's local
//! address (`getsockname`) is the SYN's original destination and its segments leave from
//! it; a datagram's original destination is `RecvMeta::orig_dst`, and with
//! `IP_RECVORIGDSTADDR` on, the `IP_ORIGDSTADDR` cmsg of `sys_recvmsg_cmsg`.
//! `IP_TRANSPARENT` (privileged) on a UDP or TCP socket lets it bind a non-local address
//! to reply or connect from (TCP children inherit it); the answers to such an address
//! reach the socket when they arrive on a device in transparent mode. Not done: `tproxy`
//! to a port other than the listener's own lookup, `IP_TRANSPARENT` on ping sockets, and
//! marks / policy routing.
//!
//! # Device binding and port sharing
//! `SO_BINDTODEVICE` / `SO_BINDTOIFINDEX` (`sk_bound_dev_if`) take effect in the UDP and TCP
//! lookups (a bound socket matches only what arrives on its device and beats an unbound
//! one; a packet looped back to one of our addresses counts as arriving on the address's
//! device, as Linux's `rt_iif`), in the bind conflict rules (sockets bound to different
//! devices share a port) and in output routing (`route_output_oif`: only routes through
//! the device, else the destination is taken as on-link there). Children inherit it.
//! `SO_REUSEPORT` groups ([`reuseport`]) share a UDP port or a TCP listener's address and
//! port; each datagram or SYN goes to the member the 4-tuple's seeded hash picks. Deviations:
//! no uids, so the "same effective uid" rule of port sharing is not applied; an ephemeral
//! port is never joined to a reuseport group; ICMP errors reach a bound UDP socket whatever
//! device they arrived on; a ping socket bound to a device sends through it but takes
//! replies from any device; what a socket bound to `lo` sends to another device's address
//! counts as arriving on that device (Linux: on `lo`).
//!
//! # Not in this landing (issue 5, what remains)
//! - Raw sockets ([`raw`]) have no `IP_OPTIONS`, no local errors on the error queue
//!   (`ip_local_error`), no `IP_MTU_DISCOVER` and no multicast; `SOCK_RAW` needs the `privileged` mark (EPERM from `sys_socket`, as
//!   without `CAP_NET_RAW`). Other families (`AF_INET6`, `AF_UNIX`,
//!   `AF_PACKET`, `AF_NETLINK`) answer EAFNOSUPPORT. Ping sockets (`socket::ping`) check
//!   `ping_group_range` against group 0 (a library has no credentials), match replies by
//!   identifier only (not by bound address) and cannot ping a broadcast address.
//! - `connect(AF_UNSPEC)` on a TCP socket past SYN-SENT (Linux's `tcp_disconnect` aborts the
//!   connection): EOPNOTSUPP for now; on a closed, listening or connecting one it works.
//! - `MSG_OOB | MSG_PEEK` on TCP consumes the urgent byte (Linux leaves it). `MSG_WAITALL`:
//!   the front door's loop. `MSG_ERRQUEUE` reads the error queue of UDP, ping and raw
//!   sockets ([`cmsg`], `udp::errqueue`, [`ping`], [`raw`]); TCP sockets have no error
//!   queue and answer EAGAIN (what Linux says for an empty queue). `IP_PKTINFO`,
//!   `IP_RECVTTL` and `IP_RECVTOS` work on UDP, ping and raw sockets, `IP_RECVORIGDSTADDR`
//!   and `UDP_CORK` / `MSG_MORE` on UDP only; a TCP socket keeps the four receive flags
//!   (inherited by children) without effect, as Linux (TCP gives no IP cmsgs); ping and
//!   raw sockets answer ENOPROTOOPT to `IP_RECVORIGDSTADDR`, which Linux takes; `IP_RECVERR` on TCP makes
//!   established-state ICMP errors hard (`tcp_v4_err`) but queues nothing (Linux queues
//!   SYN-SENT / SYN-RECV errors); `IP_RECVERR_RFC4884`, `IP_RECVOPTS`, `IP_RETOPTS`,
//!   `IP_CHECKSUM` and local (`SO_EE_ORIGIN_LOCAL`) errors such as EMSGSIZE against the
//!   path MTU are not done. `TCP_INFO`'s
//!   `tcpi_delivery_rate_app_limited` is 1 on every socket not listening.
//! - Options kept and reported but without effect yet: `SO_DONTROUTE`, `SO_NO_CHECK`,
//!   `SO_RCVLOWAT` (only `poll`'s readable target; `recv` does not wait for it),
//!   `SO_SNDBUF` on UDP (sends are not charged to it). `SO_MARK` / `SO_PRIORITY` label
//!   what TCP, UDP and ping sockets send (`skb.mark`, `skb.priority`; a listener's
//!   SYN-ACKs and the RSTs sent on a socket's behalf carry its; a TCP child keeps the
//!   listener's mark and starts at priority 0, as `sk_clone_lock`) but there is no policy
//!   routing by mark and no qdisc to read the priority. `IP_TTL`, `IP_TOS` (ECN bits left
//!   to TCP) and `IP_MINTTL` (TCPMinTTLDrop) act on TCP sockets, children inheriting
//!   them; `IP_TOS` on ping sockets.
//! - Options not done (ENOPROTOOPT, Linux knows them): `SO_PASSCRED`
//!   and the other `SOL_SOCKET` ones not listed in [`opt`]; `IP_MTU_DISCOVER`, `IP_MTU`,
//!   `IP_FREEBIND`, `IP_OPTIONS`, `IP_TRANSPARENT` on ping sockets.
//! - The in-process std/async front doors (`linnet::TcpStream`, `linnet::tokio`) are not
//!   over this layer yet (they call the protocol tables directly); the kernel-style door
//!   `linnet::kernel`, `linnet::epoll` and the daemon's socket calls (control protocol v6,
//!   which the remote doors `linnet::remote` use) are. Readiness ([`poll`]: `sock_poll` and
//!   [`poll::Epoll`]) is done, with the event deviations its module doc lists; the daemon
//!   answers `poll` on one socket but has no epoll call.

use alloc::vec::Vec;
use core::net::SocketAddrV4;

use crate::errno::Errno;
use crate::hash::{map_with_seed, HashMap};
use crate::stack::Stack;
use crate::time::Duration;
use crate::udp::SocketHandle;

pub mod addr;
pub mod cmsg;
mod ops;
pub mod opt;
mod ping;
pub mod poll;
pub mod raw;
pub(crate) mod reuseport;

pub use addr::SockAddr;
pub use ops::{ProtoOps, INET_DGRAM_OPS, INET_STREAM_OPS};
pub use raw::INET_SOCKRAW_OPS;

use addr::*;

/// BSD socket state (`socket_state`, include/uapi/linux/net.h). Not the TCP state: a
/// connected UDP socket stays `Unconnected`, as in Linux.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SocketState {
    /// `SS_FREE`: not allocated.
    Free,
    /// `SS_UNCONNECTED`: unconnected to any socket.
    Unconnected,
    /// `SS_CONNECTING`: in the process of connecting.
    Connecting,
    /// `SS_CONNECTED`: connected to a socket.
    Connected,
    /// `SS_DISCONNECTING`: in the process of disconnecting.
    Disconnecting,
}

/// Names a socket of the stack's socket table, the role of a file descriptor. Stale ids
/// (closed sockets) are refused with EBADF.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SocketId {
    idx: u32,
    gen: u32,
}

/// What `recvmsg` returns besides the bytes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MsgInfo {
    /// The return value: bytes copied (with `MSG_TRUNC` on a datagram socket, the
    /// datagram's real length; on TCP, the bytes discarded).
    pub len: usize,
    /// `msg_name`: the sender (datagram sockets).
    pub from: Option<SocketAddrV4>,
    /// `msg_flags`: `MSG_TRUNC` when a datagram did not fit.
    pub flags: i32,
}

/// `struct socket`, with the `struct sock` fields that the protocol tables do not keep.
#[derive(Clone, Debug)]
pub struct Socket {
    /// `sock->state`.
    pub state: SocketState,
    /// `sock->type` (`SOCK_STREAM`, `SOCK_DGRAM`).
    pub ty: i32,
    /// `sk->sk_protocol` (`IPPROTO_TCP`, `IPPROTO_UDP`).
    pub protocol: i32,
    /// `O_NONBLOCK` on the file (`SOCK_NONBLOCK`, `accept4` flags).
    pub nonblock: bool,
    /// `O_CLOEXEC` (kept for the front doors; nothing execs here).
    pub cloexec: bool,
    /// `sock->ops`.
    pub ops: &'static ProtoOps,
    /// `sock->sk`: the protocol socket.
    pub sk: SocketHandle,
    /// The capability mark (see the module doc).
    pub privileged: bool,
    pub(crate) o: SockFields,
}

/// `struct sock` fields held by the socket layer.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SockFields {
    /// `SOCK_DBG`.
    pub(crate) debug: bool,
    /// `SOCK_LOCALROUTE` (`SO_DONTROUTE`).
    pub(crate) dontroute: bool,
    /// `sk_reuse` (UDP; TCP keeps its own).
    pub(crate) reuse: bool,
    /// `sk_reuseport`.
    pub(crate) reuseport: bool,
    /// `SOCK_BROADCAST` (TCP; UDP keeps its own).
    pub(crate) broadcast: bool,
    /// `SOCK_KEEPOPEN` (UDP; TCP keeps its own).
    pub(crate) keepalive: bool,
    /// `SOCK_URGINLINE`.
    pub(crate) oobinline: bool,
    /// `sk_no_check_tx`.
    pub(crate) no_check: bool,
    /// `sk_priority`.
    pub(crate) priority: u32,
    /// `sk_mark`.
    pub(crate) mark: u32,
    /// `sk_bound_dev_if` (`SO_BINDTODEVICE`, `SO_BINDTOIFINDEX`): 0 for none.
    pub(crate) bound_dev_if: u32,
    /// `sk_rcvlowat`.
    pub(crate) rcvlowat: i32,
    /// `sk_rcvtimeo`: `None` waits forever (`MAX_SCHEDULE_TIMEOUT`).
    pub(crate) rcvtimeo: Option<Duration>,
    /// `sk_sndtimeo`.
    pub(crate) sndtimeo: Option<Duration>,
    /// `SO_LINGER` (UDP; TCP keeps its own): `Some(seconds)` when on.
    pub(crate) linger: Option<u32>,
    /// `sk_sndbuf` (UDP; TCP keeps its own).
    pub(crate) sndbuf: usize,
    /// `sk_shutdown` (UDP; TCP keeps its own).
    pub(crate) shutdown: u8,
    /// `inet->tos` (ping sockets send it; TCP and UDP keep their own copy).
    pub(crate) tos: u8,
    /// `inet->min_ttl` (`IP_MINTTL`; TCP keeps its own copy, the only one that acts).
    pub(crate) min_ttl: u8,
    /// bind() chose a specific address (`SOCK_BINDADDR_LOCK`).
    pub(crate) bindaddr_lock: bool,
    /// A TCP disconnect reset the source address (`inet_reset_saddr`): getsockname says
    /// 0.0.0.0 until the next bind or connect.
    pub(crate) saddr_reset: bool,
}

#[derive(Debug)]
struct Slot {
    gen: u32,
    sock: Option<Socket>,
}

/// The socket table: every `struct socket` of the stack (the role of the fd table), and
/// the map from protocol handles back to sockets for the stack's events.
#[derive(Debug)]
pub(crate) struct SocketTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    by_sk: HashMap<SocketHandle, u32>,
    count: usize,
    /// The ping sockets' protocol table (`ping_table`).
    pub(crate) ping: ping::PingTable,
    /// The raw sockets' table (`raw_v4_hashinfo`).
    pub(crate) raw: raw::RawTable,
    /// `socket()`/`accept()` refused because the table was full (EMFILE).
    pub(crate) table_fulls: u64,
}

impl SocketTable {
    pub(crate) fn new() -> SocketTable {
        SocketTable {
            slots: Vec::new(),
            free: Vec::new(),
            // Keyed by our own handles, never by anything a peer chooses: a fixed key keeps
            // the stack's PRNG sequence as it was.
            by_sk: map_with_seed(0x736f_636b),
            count: 0,
            ping: ping::PingTable::new(),
            raw: raw::RawTable::new(),
            table_fulls: 0,
        }
    }

    fn get(&self, id: SocketId) -> Result<&Socket, Errno> {
        match self.slots.get(id.idx as usize) {
            Some(Slot { gen, sock: Some(s) }) if *gen == id.gen => Ok(s),
            _ => Err(Errno::EBADF),
        }
    }

    fn get_mut(&mut self, id: SocketId) -> Result<&mut Socket, Errno> {
        match self.slots.get_mut(id.idx as usize) {
            Some(Slot { gen, sock: Some(s) }) if *gen == id.gen => Ok(s),
            _ => Err(Errno::EBADF),
        }
    }

    fn insert(&mut self, sock: Socket) -> SocketId {
        let sk = sock.sk;
        let idx = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize].sock = Some(sock);
                i
            }
            None => {
                self.slots.push(Slot {
                    gen: 0,
                    sock: Some(sock),
                });
                (self.slots.len() - 1) as u32
            }
        };
        self.count += 1;
        self.by_sk.insert(sk, idx);
        SocketId {
            idx,
            gen: self.slots[idx as usize].gen,
        }
    }

    fn remove(&mut self, id: SocketId) -> Result<Socket, Errno> {
        self.get(id)?;
        let slot = &mut self.slots[id.idx as usize];
        let s = slot.sock.take().ok_or(Errno::EBADF)?;
        slot.gen = slot.gen.wrapping_add(1);
        self.free.push(id.idx);
        self.count -= 1;
        self.by_sk.remove(&s.sk);
        Ok(s)
    }
}

/// One entry of `inetsw`: a type, its protocol, its ops (`struct inet_protosw`).
struct InetProtosw {
    ty: i32,
    protocol: i32,
    ops: &'static ProtoOps,
    /// `INET_PROTOSW_REUSE`: sockets start with `sk_reuse` (SO_REUSEADDR) on.
    reuse: bool,
}

/// `inetsw_array`, with the entries linnet has, in Linux's order (UDP before ping, so
/// `SOCK_DGRAM` with protocol 0 is UDP; `SOCK_RAW` takes any protocol but 0).
static INETSW: [InetProtosw; 4] = [
    InetProtosw {
        ty: SOCK_STREAM,
        protocol: IPPROTO_TCP,
        ops: &INET_STREAM_OPS,
        reuse: false,
    },
    InetProtosw {
        ty: SOCK_DGRAM,
        protocol: IPPROTO_UDP,
        ops: &INET_DGRAM_OPS,
        reuse: false,
    },
    InetProtosw {
        ty: SOCK_DGRAM,
        protocol: IPPROTO_ICMP,
        ops: &INET_SOCKRAW_OPS,
        reuse: true,
    },
    InetProtosw {
        ty: SOCK_RAW,
        protocol: IPPROTO_IP,
        ops: &INET_SOCKRAW_OPS,
        reuse: true,
    },
];

impl Stack {
    /// `socket(family, type, protocol)` from an unprivileged caller: `__sys_socket` →
    /// `__sock_create` → `inet_create`. EINVAL for a flag other than `SOCK_NONBLOCK` /
    /// `SOCK_CLOEXEC`, for a type outside `0..SOCK_MAX` or a protocol outside
    /// `0..IPPROTO_MAX`; EAFNOSUPPORT for a family other than `AF_INET`; ESOCKTNOSUPPORT for a
    /// type with no protocol (`SOCK_SEQPACKET`); EPROTONOSUPPORT for a protocol the type does
    /// not have (`SOCK_STREAM` + `IPPROTO_UDP`, `SOCK_RAW` + 0); EPERM for `SOCK_RAW`
    /// (no `CAP_NET_RAW`: use [`Stack::sock_create_kern`]). Protocol 0 picks the type's
    /// default. EMFILE past `max_sockets`.
    pub fn sys_socket(&mut self, family: i32, ty: i32, protocol: i32) -> Result<SocketId, Errno> {
        self.sock_create(family, ty, protocol, false)
    }

    /// `sock_create_kern(net, family, type, protocol)`: a kernel socket, which passes every
    /// capability check (see the module doc).
    pub fn sock_create_kern(
        &mut self,
        family: i32,
        ty: i32,
        protocol: i32,
    ) -> Result<SocketId, Errno> {
        self.sock_create(family, ty, protocol, true)
    }

    fn sock_create(
        &mut self,
        family: i32,
        ty: i32,
        protocol: i32,
        kern: bool,
    ) -> Result<SocketId, Errno> {
        // __sys_socket_create: only SOCK_CLOEXEC and SOCK_NONBLOCK beside the type.
        let flags = ty & !SOCK_TYPE_MASK;
        if flags & !(SOCK_CLOEXEC | SOCK_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        let ty = ty & SOCK_TYPE_MASK;
        // __sock_create.
        if !(0..AF_MAX).contains(&family) {
            return Err(Errno::EAFNOSUPPORT);
        }
        if !(0..SOCK_MAX).contains(&ty) {
            return Err(Errno::EINVAL);
        }
        if family != AF_INET {
            // Deviation from Linux: AF_UNIX, AF_INET6, AF_PACKET and AF_NETLINK exist there
            // (and PF_INET + SOCK_PACKET becomes PF_PACKET); linnet has only AF_INET.
            return Err(Errno::EAFNOSUPPORT);
        }
        // inet_create.
        if !(0..IPPROTO_MAX).contains(&protocol) {
            return Err(Errno::EINVAL);
        }
        let mut protocol = protocol;
        let mut err = Errno::ESOCKTNOSUPPORT;
        let mut found = None;
        for answer in INETSW.iter().filter(|a| a.ty == ty) {
            if protocol == answer.protocol {
                if protocol != IPPROTO_IP {
                    found = Some(answer);
                    break;
                }
            } else {
                if protocol == IPPROTO_IP {
                    protocol = answer.protocol;
                    found = Some(answer);
                    break;
                }
                if answer.protocol == IPPROTO_IP {
                    found = Some(answer);
                    break;
                }
            }
            err = Errno::EPROTONOSUPPORT;
        }
        let answer = found.ok_or(err)?;
        if ty == SOCK_RAW && !kern {
            // CAP_NET_RAW: only a socket created privileged (sock_create_kern) has it.
            return Err(Errno::EPERM);
        }
        if self.sockets.count >= self.cfg.max_sockets {
            self.sockets.table_fulls += 1;
            return Err(Errno::EMFILE);
        }
        let sk = match answer.protocol {
            _ if ty == SOCK_RAW => self.raw_socket(protocol),
            IPPROTO_TCP => self.tcp_socket(),
            IPPROTO_ICMP => self.ping_socket(),
            _ => self.udp_socket(),
        }
        .inspect_err(|e| {
            if *e == Errno::EMFILE {
                self.sockets.table_fulls += 1;
            }
        })?;
        let sndbuf = self.cfg.wmem_default;
        Ok(self.sockets.insert(Socket {
            state: SocketState::Unconnected,
            ty,
            protocol,
            nonblock: flags & SOCK_NONBLOCK != 0,
            cloexec: flags & SOCK_CLOEXEC != 0,
            ops: answer.ops,
            sk,
            privileged: kern,
            o: SockFields {
                rcvlowat: 1,
                sndbuf,
                reuse: answer.reuse,
                ..SockFields::default()
            },
        }))
    }

    /// The socket behind `id`.
    pub fn socket(&self, id: SocketId) -> Result<&Socket, Errno> {
        self.sockets.get(id)
    }

    /// The socket whose protocol sock is `sk` (to map the stack's events to sockets).
    pub fn socket_by_sk(&self, sk: SocketHandle) -> Option<SocketId> {
        let idx = *self.sockets.by_sk.get(&sk)?;
        Some(SocketId {
            idx,
            gen: self.sockets.slots[idx as usize].gen,
        })
    }

    /// Sockets in the table.
    pub fn socket_count(&self) -> usize {
        self.sockets.count
    }

    /// `socket()` / `accept()` calls refused because the table was full.
    pub fn socket_table_fulls(&self) -> u64 {
        self.sockets.table_fulls
    }

    /// Sockets refused a place in a full `SO_REUSEPORT` group (UDP and TCP; see
    /// [`reuseport`]).
    pub fn sock_reuseport_group_fulls(&self) -> u64 {
        self.udp.reuseport.group_fulls + self.tcp.reuseport.group_fulls
    }

    /// Marks a socket as held by a caller with the network capabilities (see the module
    /// doc).
    pub fn sock_set_privileged(&mut self, id: SocketId, on: bool) -> Result<(), Errno> {
        self.sockets.get_mut(id)?.privileged = on;
        Ok(())
    }

    /// `fcntl(F_SETFL, O_NONBLOCK)`.
    pub fn sock_set_nonblock(&mut self, id: SocketId, on: bool) -> Result<(), Errno> {
        self.sockets.get_mut(id)?.nonblock = on;
        Ok(())
    }

    pub(crate) fn sock_mut(&mut self, id: SocketId) -> Result<&mut Socket, Errno> {
        self.sockets.get_mut(id)
    }

    /// `bind(fd, addr, addrlen)`: `sock->ops->bind`.
    pub fn sys_bind(&mut self, id: SocketId, addr: &SockAddr) -> Result<(), Errno> {
        let ops = self.sockets.get(id)?.ops;
        (ops.bind)(self, id, addr)
    }

    /// `connect(fd, addr, addrlen)`: `sock->ops->connect` with the file's `O_NONBLOCK`. A
    /// stream socket answers EINPROGRESS where Linux would start waiting (blocking or not;
    /// see the module doc and [`Stack::sys_connect_complete`]).
    pub fn sys_connect(&mut self, id: SocketId, addr: &SockAddr) -> Result<(), Errno> {
        let ops = self.sockets.get(id)?.ops;
        (ops.connect)(self, id, addr)
    }

    /// The end of a blocking `connect` once the front door's wait is over (the connection
    /// completed or failed, or `SO_SNDTIMEO` ran out): what `__inet_stream_connect` returns
    /// after `inet_wait_for_connect`. EINPROGRESS while still connecting (the timeout
    /// case), the socket's error (ECONNREFUSED, ETIMEDOUT, ...) or ECONNABORTED when the
    /// attempt failed, 0 when connected.
    pub fn sys_connect_complete(&mut self, id: SocketId) -> Result<(), Errno> {
        let s = self.sockets.get(id)?;
        if s.protocol != IPPROTO_TCP || s.state != SocketState::Connecting {
            return Err(Errno::EINVAL);
        }
        ops::inet_stream_connect_finish(self, id, Errno::EINPROGRESS)
    }

    /// `listen(fd, backlog)`: `sock->ops->listen`; the backlog is capped at `somaxconn`
    /// (`__sys_listen`, a negative one included).
    pub fn sys_listen(&mut self, id: SocketId, backlog: i32) -> Result<(), Errno> {
        let ops = self.sockets.get(id)?.ops;
        (ops.listen)(self, id, backlog)
    }

    /// `accept4(fd, &addr, &len, flags)`: EINVAL for a flag other than `SOCK_NONBLOCK` /
    /// `SOCK_CLOEXEC` (checked first, as `__sys_accept4` does), then `sock->ops->accept`.
    /// The new socket is `SS_CONNECTED` with the listener's type, ops and socket-level
    /// options; `flags` set its `O_NONBLOCK` / `O_CLOEXEC`.
    pub fn sys_accept4(
        &mut self,
        id: SocketId,
        flags: i32,
    ) -> Result<(SocketId, SocketAddrV4), Errno> {
        if flags & !(SOCK_CLOEXEC | SOCK_NONBLOCK) != 0 {
            return Err(Errno::EINVAL);
        }
        let ops = self.sockets.get(id)?.ops;
        (ops.accept)(self, id, flags)
    }

    /// `getsockname(fd)`: `sock->ops->getname(sock, addr, 0)`.
    pub fn sys_getsockname(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        let ops = self.sockets.get(id)?.ops;
        (ops.getname)(self, id, false)
    }

    /// `getpeername(fd)`: `sock->ops->getname(sock, addr, 1)`; ENOTCONN unless connected.
    pub fn sys_getpeername(&self, id: SocketId) -> Result<SocketAddrV4, Errno> {
        let ops = self.sockets.get(id)?.ops;
        (ops.getname)(self, id, true)
    }

    /// `shutdown(fd, how)`: `inet_shutdown`. EINVAL for `how` other than `SHUT_RD`,
    /// `SHUT_WR`, `SHUT_RDWR`; ENOTCONN on a socket whose protocol state is closed (the
    /// shutdown bits are still set, as Linux does).
    pub fn sys_shutdown(&mut self, id: SocketId, how: i32) -> Result<(), Errno> {
        let ops = self.sockets.get(id)?.ops;
        (ops.shutdown)(self, id, how)
    }

    /// `sendto(fd, buf, len, flags, to)` / `send` (`to` none): `sock->ops->sendmsg`.
    pub fn sys_sendto(
        &mut self,
        id: SocketId,
        buf: &[u8],
        flags: i32,
        to: Option<&SockAddr>,
    ) -> Result<usize, Errno> {
        let ops = self.sockets.get(id)?.ops;
        (ops.sendmsg)(self, id, buf, flags, to)
    }

    /// `recvmsg(fd, msg, flags)` / `recvfrom` / `recv`: `sock->ops->recvmsg`.
    pub fn sys_recvmsg(
        &mut self,
        id: SocketId,
        buf: &mut [u8],
        flags: i32,
    ) -> Result<MsgInfo, Errno> {
        let ops = self.sockets.get(id)?.ops;
        (ops.recvmsg)(self, id, buf, flags)
    }

    /// `setsockopt(fd, level, optname, optval, optlen)`: `optval` is the bytes, its length
    /// `optlen`.
    pub fn sys_setsockopt(
        &mut self,
        id: SocketId,
        level: i32,
        optname: i32,
        optval: &[u8],
    ) -> Result<(), Errno> {
        let ops = self.sockets.get(id)?.ops;
        (ops.setsockopt)(self, id, level, optname, optval)
    }

    /// `getsockopt(fd, level, optname, optval, &optlen)`: fills `optval` (its length is the
    /// caller's `optlen`) and returns the new `optlen`.
    pub fn sys_getsockopt(
        &mut self,
        id: SocketId,
        level: i32,
        optname: i32,
        optval: &mut [u8],
    ) -> Result<usize, Errno> {
        let ops = self.sockets.get(id)?.ops;
        (ops.getsockopt)(self, id, level, optname, optval)
    }

    /// `close(fd)`: `sock_release` → `sock->ops->release`; the id is stale afterwards.
    pub fn sys_close(&mut self, id: SocketId) -> Result<(), Errno> {
        let ops = self.sockets.get(id)?.ops;
        let r = (ops.release)(self, id);
        self.sockets.remove(id)?;
        r
    }

    /// An accepted socket: the listener's `struct socket` fields copied (`sk_clone_lock`
    /// copies the sock; `sock_alloc` + `newsock->ops = sock->ops`).
    pub(crate) fn sock_insert_child(
        &mut self,
        parent: &Socket,
        sk: SocketHandle,
        flags: i32,
    ) -> Result<SocketId, Errno> {
        if self.sockets.count >= self.cfg.max_sockets {
            self.sockets.table_fulls += 1;
            return Err(Errno::EMFILE);
        }
        let mut s = parent.clone();
        // sk_clone_lock: sk_priority starts at 0 (the rest of the sock is copied).
        s.o.priority = 0;
        s.state = SocketState::Connected;
        s.sk = sk;
        s.nonblock = flags & SOCK_NONBLOCK != 0;
        s.cloexec = flags & SOCK_CLOEXEC != 0;
        Ok(self.sockets.insert(s))
    }
}

#[cfg(test)]
mod poll_tests;
#[cfg(test)]
mod tests;

#[cfg(test)]
mod cmsg_tests;
#[cfg(test)]
mod opt_tests;

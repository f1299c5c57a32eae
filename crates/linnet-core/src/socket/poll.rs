//! Readiness: `sock_poll` (the `proto_ops.poll` of each table) and an epoll-like interest
//! set over many sockets, woken by the stack's [`Event`]s.
//!
//! Linux: net/ipv4/tcp.c (`tcp_poll`, `tcp_stream_is_readable`), net/core/stream.c and
//! include/net/sock.h (`__sk_stream_is_writeable`, `sk_stream_wspace`,
//! `sk_stream_min_wspace`, `sock_writeable`), net/ipv4/inet_connection_sock.c
//! (`inet_csk_listen_poll`), net/core/datagram.c (`datagram_poll`), net/ipv4/udp.c
//! (`udp_poll`), fs/eventpoll.c (`do_epoll_ctl`, `ep_insert`, `ep_modify`, `ep_remove`,
//! `ep_poll_callback`, `ep_send_events`, `do_epoll_wait`), include/uapi/linux/eventpoll.h.
//! RFCs: none (POSIX.1-2017 `poll()`; epoll is Linux's own).
//!
//! # poll
//! [`Stack::sock_poll`] answers what `poll()` reports for one socket, bit for bit as the
//! kernel's functions above compute it: a fresh TCP socket is `POLLOUT | POLLWRNORM |
//! POLLHUP` (state CLOSE), a connecting one nothing until the handshake ends, a refused one
//! `POLLIN | POLLRDNORM | POLLRDHUP | POLLOUT | POLLWRNORM | POLLERR | POLLHUP`, a listener
//! `POLLIN | POLLRDNORM` while its accept queue is not empty. `SO_RCVLOWAT` raises the
//! readable target of a TCP socket as `sock_rcvlowat` does.
//!
//! # epoll
//! [`Epoll`] is the interest set (`struct eventpoll`): items keyed by [`SocketId`] with
//! their event mask and user data, and a ready list (`rdllist`). The owner feeds it every
//! [`Event`] it drains from [`Stack::poll_event`] ([`Epoll::ep_poll_callback`]): the event
//! puts the socket's item on the ready list, nothing else is looked at. [`Epoll::epoll_wait`]
//! polls only the items on the ready list (`ep_send_events`): an item whose mask no longer
//! matches leaves the list; a level-triggered item that reported stays on it (Linux puts it
//! back), an edge-triggered one leaves until the next event; `EPOLLONESHOT` disables the
//! item until `EPOLL_CTL_MOD`. `epoll_ctl` answers EEXIST, ENOENT, EINVAL and ENOSPC as
//! `do_epoll_ctl` does; a closed socket leaves the set by itself (the fd's last `fput`),
//! noticed when its id comes up.
//!
//! TCP, UDP and ping sockets report `Readable` on every arrival (Linux's `sk_data_ready`),
//! so an `EPOLLET` item gets an edge per arrival, and an item waiting on `SO_RCVLOWAT`
//! above 1 is polled again when the rest of its target arrives. The stack's event queue
//! folds a `Readable` into an identical one still last in the queue (the reader has not
//! looked yet, as `ep_poll_callback` on an item already on the ready list).
//! Deviation from Linux: raw sockets still report `Readable` only when their queue was
//! empty.
//!
//! Deviation from Linux: `epoll_wait` never sleeps here (the core does not block); a front
//! door waits for the stack's events and calls it again, as for the other calls.

use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::fmt;
use core::ops::{BitAnd, BitOr, BitOrAssign};

use super::ops::{RCV_SHUTDOWN, SEND_SHUTDOWN};
use super::SocketId;
use crate::errno::Errno;
use crate::hash::{map_with_seed, HashMap};
use crate::stack::{Event, Stack};
use crate::tcp::urg::UrgData;
use crate::tcp::TcpState;

/// A `poll()` / epoll event mask (`EPOLLIN` and `POLLIN` are the same bits).
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct PollMask(pub u32);

impl PollMask {
    /// Nothing ready.
    pub const NONE: PollMask = PollMask(0);
    /// `POLLIN`: data to read (or EOF).
    pub const POLLIN: PollMask = PollMask(0x001);
    /// `POLLPRI`: urgent data.
    pub const POLLPRI: PollMask = PollMask(0x002);
    /// `POLLOUT`: room to write.
    pub const POLLOUT: PollMask = PollMask(0x004);
    /// `POLLERR`: a pending error.
    pub const POLLERR: PollMask = PollMask(0x008);
    /// `POLLHUP`: hung up (both directions shut, or closed).
    pub const POLLHUP: PollMask = PollMask(0x010);
    /// `POLLNVAL`: not an open socket.
    pub const POLLNVAL: PollMask = PollMask(0x020);
    /// `POLLRDNORM`.
    pub const POLLRDNORM: PollMask = PollMask(0x040);
    /// `POLLRDBAND`.
    pub const POLLRDBAND: PollMask = PollMask(0x080);
    /// `POLLWRNORM`.
    pub const POLLWRNORM: PollMask = PollMask(0x100);
    /// `POLLWRBAND`.
    pub const POLLWRBAND: PollMask = PollMask(0x200);
    /// `POLLRDHUP`: the peer shut its sending side (FIN).
    pub const POLLRDHUP: PollMask = PollMask(0x2000);

    /// Any bit of `other` set.
    pub fn intersects(self, other: PollMask) -> bool {
        self.0 & other.0 != 0
    }

    /// Every bit of `other` set.
    pub fn contains(self, other: PollMask) -> bool {
        self.0 & other.0 == other.0
    }

    /// No bit set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }
}

impl BitOr for PollMask {
    type Output = PollMask;
    fn bitor(self, o: PollMask) -> PollMask {
        PollMask(self.0 | o.0)
    }
}

impl BitOrAssign for PollMask {
    fn bitor_assign(&mut self, o: PollMask) {
        self.0 |= o.0;
    }
}

impl BitAnd for PollMask {
    type Output = PollMask;
    fn bitand(self, o: PollMask) -> PollMask {
        PollMask(self.0 & o.0)
    }
}

const NAMES: [(u32, &str); 11] = [
    (0x001, "POLLIN"),
    (0x002, "POLLPRI"),
    (0x004, "POLLOUT"),
    (0x008, "POLLERR"),
    (0x010, "POLLHUP"),
    (0x020, "POLLNVAL"),
    (0x040, "POLLRDNORM"),
    (0x080, "POLLRDBAND"),
    (0x100, "POLLWRNORM"),
    (0x200, "POLLWRBAND"),
    (0x2000, "POLLRDHUP"),
];

impl fmt::Debug for PollMask {
    /// `POLLIN|POLLRDNORM`, or `0` when empty (other bits in hex).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 == 0 {
            return f.write_str("0");
        }
        let mut rest = self.0;
        let mut first = true;
        for (bit, name) in NAMES {
            if rest & bit != 0 {
                if !first {
                    f.write_str("|")?;
                }
                f.write_str(name)?;
                first = false;
                rest &= !bit;
            }
        }
        if rest != 0 {
            if !first {
                f.write_str("|")?;
            }
            write!(f, "{rest:#x}")?;
        }
        Ok(())
    }
}

const IN: PollMask = PollMask(PollMask::POLLIN.0 | PollMask::POLLRDNORM.0);
const OUT: PollMask = PollMask(PollMask::POLLOUT.0 | PollMask::POLLWRNORM.0);

/// `tcp_poll`.
pub(super) fn tcp_poll(st: &Stack, id: SocketId) -> Result<PollMask, Errno> {
    let s = st.socket(id)?;
    let sk = st.tcp_sock_ref(s.sk)?;
    // inet_csk_listen_poll.
    if sk.state == TcpState::Listen {
        let queued = sk
            .listen
            .as_ref()
            .is_some_and(|l| !l.accept_queue.is_empty());
        return Ok(if queued { IN } else { PollMask::NONE });
    }
    let mut mask = PollMask::NONE;
    let shutdown = sk.shutdown;
    if shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN || sk.state == TcpState::Close {
        mask |= PollMask::POLLHUP;
    }
    if shutdown & RCV_SHUTDOWN != 0 {
        mask |= IN | PollMask::POLLRDHUP;
    }
    // Connected (linnet has no Fast Open, so SYN-RECEIVED is never a passive TFO child).
    if sk.state != TcpState::SynSent && sk.state != TcpState::SynRecv {
        // sock_rcvlowat(sk, 0, INT_MAX).
        let mut target = usize::try_from(s.o.rcvlowat.max(1)).unwrap_or(1);
        if sk.urg_data != UrgData::None && sk.urg_seq == sk.copied_seq() && !sk.oobinline {
            target += 1;
        }
        // tcp_stream_is_readable → tcp_epollin_ready: avail >= target.
        if !sk.rbuf.is_empty() && sk.rbuf.len() >= target {
            mask |= IN;
        }
        if shutdown & SEND_SHUTDOWN == 0 {
            // __sk_stream_is_writeable(sk, 1): sk_stream_wspace >= sk_stream_min_wspace,
            // the free space at least half of what is queued (a third of sndbuf free).
            // tcp_stream_memory_free is always true: no TCP_NOTSENT_LOWAT.
            if sk.send_space() >= sk.sbuf.len() / 2 {
                mask |= OUT;
            }
        } else {
            mask |= OUT;
        }
        if matches!(sk.urg_data, UrgData::Valid(_)) {
            mask |= PollMask::POLLPRI;
        }
    }
    // Linux also reports POLLOUT for SYN-SENT with TCP_FASTOPEN_CONNECT deferred; no TFO here.
    if sk.err.is_some() {
        mask |= PollMask::POLLERR;
    }
    Ok(mask)
}

/// `datagram_poll` over the socket layer's shutdown bits and the protocol's queue and
/// error: `(error pending, something queued)`.
pub(super) fn datagram_mask(shutdown: u8, err: bool, queued: bool) -> PollMask {
    let mut mask = PollMask::NONE;
    if err {
        mask |= PollMask::POLLERR;
    }
    if shutdown & RCV_SHUTDOWN != 0 {
        mask |= PollMask::POLLRDHUP | IN;
    }
    if shutdown == RCV_SHUTDOWN | SEND_SHUTDOWN {
        mask |= PollMask::POLLHUP;
    }
    if queued {
        mask |= IN;
    }
    // sock_writeable: sk_wmem_alloc < sk_sndbuf / 2. Datagrams are not charged to the send
    // buffer here (see the socket module doc), so a datagram socket is always writable.
    mask | OUT | PollMask::POLLWRBAND
}

/// `udp_poll` (`datagram_poll`; Linux's extra checksum check of the first queued datagram is
/// moot: a datagram with a bad checksum is never queued here).
pub(super) fn udp_poll(st: &Stack, id: SocketId) -> Result<PollMask, Errno> {
    let s = st.socket(id)?;
    let err = st.udp_err_pending(s.sk)?;
    let queued = st.udp_rx_queued(s.sk)? > 0;
    Ok(datagram_mask(s.o.shutdown, err, queued))
}

/// `datagram_poll` (ping sockets).
pub(super) fn datagram_poll(st: &Stack, id: SocketId) -> Result<PollMask, Errno> {
    let s = st.socket(id)?;
    let p = st.sockets.ping.get(s.sk)?;
    Ok(datagram_mask(s.o.shutdown, p.has_error(), p.has_queued()))
}

impl Stack {
    /// `poll()` on one socket: `sock->ops->poll` (`tcp_poll`, `udp_poll`, `datagram_poll`).
    /// A stale id is `POLLNVAL`, as `poll()` says of a closed fd.
    pub fn sock_poll(&self, id: SocketId) -> PollMask {
        match self.socket(id) {
            Ok(s) => (s.ops.poll)(self, id).unwrap_or(PollMask::POLLNVAL),
            Err(_) => PollMask::POLLNVAL,
        }
    }
}

/// `EPOLL_CTL_ADD`.
pub const EPOLL_CTL_ADD: i32 = 1;
/// `EPOLL_CTL_DEL`.
pub const EPOLL_CTL_DEL: i32 = 2;
/// `EPOLL_CTL_MOD`.
pub const EPOLL_CTL_MOD: i32 = 3;
/// `EPOLLEXCLUSIVE`.
pub const EPOLLEXCLUSIVE: u32 = 1 << 28;
/// `EPOLLWAKEUP`.
pub const EPOLLWAKEUP: u32 = 1 << 29;
/// `EPOLLONESHOT`.
pub const EPOLLONESHOT: u32 = 1 << 30;
/// `EPOLLET`.
pub const EPOLLET: u32 = 1 << 31;
/// `EP_PRIVATE_BITS`: what a disabled (one-shot fired) item keeps.
const EP_PRIVATE_BITS: u32 = EPOLLWAKEUP | EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE;
/// `EPOLLEXCLUSIVE_OK_BITS`.
const EPOLLEXCLUSIVE_OK_BITS: u32 = 0x001 | 0x004 | EPOLLWAKEUP | EPOLLET;
/// Default limit of items in one set (the role of `max_user_watches`).
pub const EPOLL_MAX_ITEMS: usize = 65536;

/// `struct epoll_event`: the interest mask (with `EPOLLET`, `EPOLLONESHOT`) on the way in,
/// the ready mask on the way out, and the caller's data.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EpollEvent {
    /// `events`.
    pub events: u32,
    /// `data.u64`.
    pub data: u64,
}

#[derive(Clone, Copy, Debug)]
struct EpItem {
    /// `event.events` (`EP_PRIVATE_BITS` only once a one-shot fired).
    events: u32,
    data: u64,
    /// On the ready list (`ep_is_linked(&epi->rdllink)`).
    ready: bool,
}

/// An epoll instance (`struct eventpoll`): the interest set and its ready list. See the
/// module doc.
#[derive(Debug)]
pub struct Epoll {
    items: HashMap<SocketId, EpItem>,
    rdllist: VecDeque<SocketId>,
    max_items: usize,
    /// `EPOLL_CTL_ADD` refused because the set was full (ENOSPC).
    pub add_overflows: u64,
}

impl Default for Epoll {
    fn default() -> Self {
        Epoll::new()
    }
}

impl Epoll {
    /// `epoll_create1(0)` with [`EPOLL_MAX_ITEMS`] as its limit.
    pub fn new() -> Epoll {
        Epoll::with_limit(EPOLL_MAX_ITEMS)
    }

    /// An instance that holds at most `max_items` sockets.
    pub fn with_limit(max_items: usize) -> Epoll {
        Epoll {
            // Keyed by our own ids, never by anything a peer chooses.
            items: map_with_seed(0x6570_6f6c),
            rdllist: VecDeque::new(),
            max_items,
            add_overflows: 0,
        }
    }

    /// Sockets in the set.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// No socket in the set.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Items on the ready list (to be polled by the next wait).
    pub fn ready_len(&self) -> usize {
        self.rdllist.len()
    }

    /// `epoll_ctl(epfd, op, fd, event)`: EBADF for a stale socket, EINVAL for an unknown
    /// `op`, a missing event for ADD/MOD, or `EPOLLEXCLUSIVE` with other than
    /// `EPOLLIN`/`EPOLLOUT`/`EPOLLWAKEUP`/`EPOLLET` (or in MOD, or MOD of an exclusive
    /// item); EEXIST for ADD of a socket in the set; ENOENT for MOD/DEL of one not in it;
    /// ENOSPC past the limit (counted). ADD and MOD poll the socket at once and queue it if
    /// it is ready (`ep_insert`, `ep_modify`).
    pub fn epoll_ctl(
        &mut self,
        st: &Stack,
        op: i32,
        id: SocketId,
        event: Option<EpollEvent>,
    ) -> Result<(), Errno> {
        st.socket(id)?;
        let ev = match op {
            EPOLL_CTL_ADD | EPOLL_CTL_MOD => event.ok_or(Errno::EINVAL)?,
            EPOLL_CTL_DEL => EpollEvent { events: 0, data: 0 },
            _ => return Err(Errno::EINVAL),
        };
        if ev.events & EPOLLEXCLUSIVE != 0 {
            if op == EPOLL_CTL_MOD {
                return Err(Errno::EINVAL);
            }
            if ev.events & !EPOLLEXCLUSIVE_OK_BITS & !EPOLLEXCLUSIVE != 0 {
                return Err(Errno::EINVAL);
            }
        }
        match op {
            EPOLL_CTL_ADD => {
                if self.items.contains_key(&id) {
                    return Err(Errno::EEXIST);
                }
                if self.items.len() >= self.max_items {
                    self.add_overflows += 1;
                    return Err(Errno::ENOSPC);
                }
                self.items.insert(
                    id,
                    EpItem {
                        events: ev.events,
                        data: ev.data,
                        ready: false,
                    },
                );
            }
            EPOLL_CTL_MOD => {
                let it = self.items.get_mut(&id).ok_or(Errno::ENOENT)?;
                if it.events & EPOLLEXCLUSIVE != 0 {
                    return Err(Errno::EINVAL);
                }
                it.events = ev.events;
                it.data = ev.data;
            }
            _ => {
                self.items.remove(&id).ok_or(Errno::ENOENT)?;
                self.rdllist.retain(|&r| r != id);
                return Ok(());
            }
        }
        // ep_insert / ep_modify: poll now, queue if ready.
        if !(st.sock_poll(id) & interest(ev.events)).is_empty() {
            self.queue(id);
        }
        Ok(())
    }

    fn queue(&mut self, id: SocketId) {
        if let Some(it) = self.items.get_mut(&id) {
            if !it.ready && it.events & !EP_PRIVATE_BITS != 0 {
                it.ready = true;
                self.rdllist.push_back(id);
            }
        }
    }

    /// `ep_poll_callback`: the stack reported `ev` (from [`Stack::poll_event`]); the socket
    /// it names goes on the ready list if it is in the set and not disabled. Other events
    /// (echo replies) are ignored.
    pub fn ep_poll_callback(&mut self, st: &Stack, ev: &Event) {
        let h = match *ev {
            Event::Readable(h)
            | Event::Error(h)
            | Event::Writable(h)
            | Event::Connected(h)
            | Event::Acceptable(h)
            | Event::Urgent(h) => h,
            Event::Ping(_) => return,
        };
        if let Some(id) = st.socket_by_sk(h) {
            self.queue(id);
        }
    }

    /// `epoll_wait(epfd, events, maxevents, 0)`: polls the items on the ready list and
    /// returns at most `maxevents` of those ready (`ep_send_events`). EINVAL for
    /// `maxevents == 0`. Never sleeps (see the module doc).
    pub fn epoll_wait(&mut self, st: &Stack, maxevents: usize) -> Result<Vec<EpollEvent>, Errno> {
        if maxevents == 0 {
            return Err(Errno::EINVAL);
        }
        let mut out = Vec::new();
        let mut requeue = Vec::new();
        while out.len() < maxevents {
            let Some(id) = self.rdllist.pop_front() else {
                break;
            };
            if st.socket(id).is_err() {
                // Closed: the last fput removes it from every epoll set.
                self.items.remove(&id);
                continue;
            }
            let Some(it) = self.items.get_mut(&id) else {
                continue;
            };
            it.ready = false;
            let revents = st.sock_poll(id) & interest(it.events);
            if revents.is_empty() {
                continue;
            }
            out.push(EpollEvent {
                events: revents.0,
                data: it.data,
            });
            if it.events & EPOLLONESHOT != 0 {
                it.events &= EP_PRIVATE_BITS;
            } else if it.events & EPOLLET == 0 {
                // Level-triggered: back on the list for the next wait.
                it.ready = true;
                requeue.push(id);
            }
        }
        self.rdllist.extend(requeue);
        Ok(out)
    }
}

/// The bits of `events` that select readiness: the interest plus `EPOLLERR | EPOLLHUP`,
/// which are always reported (`ep_item_poll`'s `epi->event.events`, to which
/// `ep_insert`/`ep_modify` add them).
fn interest(events: u32) -> PollMask {
    if events & !EP_PRIVATE_BITS == 0 {
        // A disabled one-shot item reports nothing.
        return PollMask::NONE;
    }
    PollMask(events & !EP_PRIVATE_BITS) | PollMask::POLLERR | PollMask::POLLHUP
}

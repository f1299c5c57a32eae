//! Socket wait queues for async tasks: the wakers of tasks waiting for a socket to become
//! readable or writable, woken from the stack's readiness events.
//!
//! Linux: include/linux/wait.h and kernel/sched/wait.c (`wait_queue_head_t`,
//! `add_wait_queue`, `remove_wait_queue`, `__wake_up`), net/core/sock.c
//! (`sock_def_readable`, `sock_def_write_space`, `sock_def_error_report`: the wake-ups on
//! `sk_sleep(sk)`), net/core/stream.c (`sk_stream_write_space`), fs/eventpoll.c
//! (`ep_poll_callback`: a wait-queue entry per interested poller).
//! RFCs: none.
//!
//! One queue per (protocol, socket, direction), held under the stack lock, so a task that
//! found a socket not ready and registered its waker cannot miss the event that makes it
//! ready: both happen under the same lock, as Linux's `prepare_to_wait` + re-check.
//! Events map to directions as Linux's `poll` masks them: `Readable`, `Acceptable` and
//! `Urgent` wake readers (POLLIN/POLLPRI, a listener's accept is POLLIN); `Writable` and
//! `Connected` wake writers (POLLOUT); `Error` wakes both (POLLERR).
//!
//! Each entry has an id: a stream's `poll_read` uses the same id at every poll, so a task
//! polling again replaces its entry instead of adding one (tokio's contract: only the last
//! waker passed is woken); an `async fn` future takes a fresh id and removes its entry when
//! dropped, so a cancelled `accept` or `recv_from` leaves nothing behind. A woken entry is
//! removed (`autoremove_wake_function`): a task is woken once per registration.
//!
//! Limits: at most [`QUEUE_LIMIT`] entries per queue. A registration past it is counted in
//! `overflow` and its waker is woken at once, so the task polls again instead of sleeping
//! unheard (it degrades to polling, it never hangs). The table itself is bounded by the
//! stack's socket limit: queues exist only for live sockets (closing a socket removes its
//! queues) that a task is waiting on.

// Without the async front door only the closing and waking halves are used.
#![cfg_attr(not(feature = "tokio"), allow(dead_code))]

use std::collections::HashMap;
use std::task::Waker;

use linnet_core::{Event, SocketHandle};

/// Entries kept per wait queue before registrations are refused (and woken at once).
pub const QUEUE_LIMIT: usize = 1024;

/// The protocol table a socket handle belongs to (TCP and UDP handles are numbered
/// separately, so the same handle value can name one socket of each).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Proto {
    Tcp,
    Udp,
}

/// Which readiness a task waits for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Dir {
    /// Data, end of stream, a connection to accept, or an error (POLLIN).
    Read = 0,
    /// Send-buffer space, a completed connect, or an error (POLLOUT).
    Write = 1,
}

/// The key of one wait queue.
pub(crate) type Key = (Proto, SocketHandle, Dir);

/// Counters of the wait queues, for tests and statistics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WaiterStats {
    /// Wakers registered now, over all sockets.
    pub registered: usize,
    /// Wakers woken by socket events (or by shutdown) since the runtime started.
    pub woken: u64,
    /// Registrations refused because their queue was full (each woken at once).
    pub overflow: u64,
}

/// One wait queue: (entry id, waker) pairs (`wait_queue_entry`).
type Queue = Vec<(u64, Waker)>;

#[derive(Debug, Default)]
pub(crate) struct Waiters {
    /// A socket's read and write queues, indexed by [`Dir`].
    queues: HashMap<(Proto, SocketHandle), [Queue; 2]>,
    /// Wakers taken off their queues under the lock, to be woken once it is released.
    pending: Vec<Waker>,
    registered: usize,
    woken: u64,
    overflow: u64,
}

impl Waiters {
    /// `add_wait_queue`: `waker` waits on `key` under entry `id` (replacing that entry's
    /// previous waker).
    pub(crate) fn register(&mut self, key: Key, id: u64, waker: &Waker) {
        let (proto, h, dir) = key;
        let q = &mut self.queues.entry((proto, h)).or_default()[dir as usize];
        if let Some(e) = q.iter_mut().find(|e| e.0 == id) {
            if !e.1.will_wake(waker) {
                e.1.clone_from(waker);
            }
            return;
        }
        if q.len() >= QUEUE_LIMIT {
            self.overflow += 1;
            tracing::debug!(?key, "socket wait queue full; waker woken at once");
            self.pending.push(waker.clone());
            return;
        }
        q.push((id, waker.clone()));
        self.registered += 1;
    }

    /// `remove_wait_queue`: entry `id` leaves `key`'s queue (nothing if it is not there).
    pub(crate) fn remove(&mut self, key: Key, id: u64) {
        let (proto, h, dir) = key;
        let Some(qs) = self.queues.get_mut(&(proto, h)) else {
            return;
        };
        let q = &mut qs[dir as usize];
        if let Some(i) = q.iter().position(|e| e.0 == id) {
            q.swap_remove(i);
            self.registered -= 1;
        }
        if qs.iter().all(Vec::is_empty) {
            self.queues.remove(&(proto, h));
        }
    }

    /// The socket was closed: its queues go (their wakers are dropped unwoken; the tasks
    /// holding them own the socket being closed, so none of them is still waiting).
    pub(crate) fn forget(&mut self, proto: Proto, h: SocketHandle) {
        if let Some(qs) = self.queues.remove(&(proto, h)) {
            self.registered -= qs.iter().map(Vec::len).sum::<usize>();
        }
    }

    fn wake_queue(&mut self, proto: Proto, h: SocketHandle, dir: Dir) {
        let Some(qs) = self.queues.get_mut(&(proto, h)) else {
            return;
        };
        let q = std::mem::take(&mut qs[dir as usize]);
        if qs.iter().all(Vec::is_empty) {
            self.queues.remove(&(proto, h));
        }
        self.registered -= q.len();
        self.woken += q.len() as u64;
        self.pending.extend(q.into_iter().map(|e| e.1));
    }

    /// `__wake_up` for one stack event: the queues it makes ready give up their wakers.
    pub(crate) fn on_event(&mut self, ev: &Event) {
        use Dir::{Read, Write};
        use Proto::{Tcp, Udp};
        match *ev {
            Event::Readable(h) => {
                self.wake_queue(Tcp, h, Read);
                self.wake_queue(Udp, h, Read);
            }
            Event::Acceptable(h) | Event::Urgent(h) => self.wake_queue(Tcp, h, Read),
            Event::Writable(h) | Event::Connected(h) => self.wake_queue(Tcp, h, Write),
            Event::Error(h) => {
                for p in [Tcp, Udp] {
                    self.wake_queue(p, h, Read);
                    self.wake_queue(p, h, Write);
                }
            }
            Event::Ping(_) => {}
        }
    }

    /// Every queue gives up its wakers (runtime shutdown, or events the stack dropped).
    pub(crate) fn wake_all(&mut self) {
        for (_, qs) in self.queues.drain() {
            for q in qs {
                self.woken += q.len() as u64;
                self.pending.extend(q.into_iter().map(|e| e.1));
            }
        }
        self.registered = 0;
    }

    /// The wakers to wake once the lock is released.
    pub(crate) fn take_pending(&mut self) -> Vec<Waker> {
        std::mem::take(&mut self.pending)
    }

    pub(crate) fn stats(&self) -> WaiterStats {
        WaiterStats {
            registered: self.registered,
            woken: self.woken,
            overflow: self.overflow,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    use std::task::Wake;

    #[derive(Default)]
    struct Count(AtomicUsize);

    impl Wake for Count {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn handle(stack: &mut linnet_core::Stack) -> SocketHandle {
        stack.udp_socket().unwrap()
    }

    fn wake(w: &mut Waiters) -> usize {
        let v = w.take_pending();
        let n = v.len();
        v.into_iter().for_each(Waker::wake);
        n
    }

    #[test]
    fn events_wake_the_right_direction_once_and_entries_are_replaced_by_id() {
        let mut stack = linnet_core::Stack::new(Default::default(), 1);
        let h = handle(&mut stack);
        let c = Arc::new(Count::default());
        let waker = Waker::from(c.clone());
        let mut w = Waiters::default();
        w.register((Proto::Tcp, h, Dir::Read), 1, &waker);
        w.register((Proto::Tcp, h, Dir::Read), 1, &waker);
        w.register((Proto::Tcp, h, Dir::Write), 2, &waker);
        assert_eq!(w.stats().registered, 2);
        w.on_event(&Event::Writable(h));
        assert_eq!(wake(&mut w), 1);
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        // The woken entry is gone: a second event wakes nobody.
        w.on_event(&Event::Writable(h));
        assert_eq!(wake(&mut w), 0);
        w.on_event(&Event::Acceptable(h));
        assert_eq!(wake(&mut w), 1);
        assert_eq!(w.stats().registered, 0);
        assert_eq!(w.stats().woken, 2);
        assert!(w.queues.is_empty());
    }

    #[test]
    fn error_wakes_both_directions_and_removal_and_close_leave_nothing() {
        let mut stack = linnet_core::Stack::new(Default::default(), 1);
        let h = handle(&mut stack);
        let waker = Waker::from(Arc::new(Count::default()));
        let mut w = Waiters::default();
        w.register((Proto::Udp, h, Dir::Read), 1, &waker);
        w.register((Proto::Udp, h, Dir::Write), 2, &waker);
        w.on_event(&Event::Error(h));
        assert_eq!(wake(&mut w), 2);
        w.register((Proto::Udp, h, Dir::Read), 3, &waker);
        w.register((Proto::Udp, h, Dir::Read), 4, &waker);
        w.remove((Proto::Udp, h, Dir::Read), 3);
        assert_eq!(w.stats().registered, 1);
        w.forget(Proto::Udp, h);
        assert_eq!(w.stats().registered, 0);
        assert!(w.queues.is_empty());
    }

    #[test]
    fn a_full_queue_counts_the_overflow_and_wakes_the_newcomer_at_once() {
        let mut stack = linnet_core::Stack::new(Default::default(), 1);
        let h = handle(&mut stack);
        let c = Arc::new(Count::default());
        let waker = Waker::from(c.clone());
        let mut w = Waiters::default();
        for id in 0..QUEUE_LIMIT as u64 {
            w.register((Proto::Tcp, h, Dir::Read), id, &waker);
        }
        assert_eq!(wake(&mut w), 0);
        w.register((Proto::Tcp, h, Dir::Read), u64::MAX, &waker);
        assert_eq!(w.stats().overflow, 1);
        assert_eq!(wake(&mut w), 1);
        assert_eq!(c.0.load(Ordering::SeqCst), 1);
        w.wake_all();
        assert_eq!(wake(&mut w), QUEUE_LIMIT);
        assert_eq!(w.stats().registered, 0);
    }
}

//! epoll over a running stack: the core's interest set ([`linnet_core::socket::poll::Epoll`])
//! fed with every socket event by the runtime's loop, with a blocking `epoll_wait`.
//!
//! Linux: fs/eventpoll.c (`epoll_create1`, `do_epoll_ctl`, `do_epoll_wait`, `ep_poll`,
//! `ep_poll_callback`). RFCs: none.
//!
//! The set is registered with the runtime when created: each event the stack reports puts
//! the socket it names on the set's ready list (the role of `ep_poll_callback` run from
//! `sk_data_ready` / `sk_write_space` / `sk_state_change`); [`EpollFd::epoll_wait`] polls only
//! the ready list, sleeping on the runtime's wait until an item is ready or the timeout
//! passes. Sockets are named by their [`SocketId`] (a [`crate::kernel::Socket`]'s
//! [`sk`](crate::kernel::Socket::sk), or `Stack::sys_socket`'s id). Errors are Linux's errno
//! ([`crate::kernel::KErr`]). The readiness deviations of the core's module doc apply.

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use linnet_core::socket::poll::{Epoll, EpollEvent};
use linnet_core::{Errno, SocketId};

use crate::kernel::{KErr, KResult};
use crate::runtime::{StackHandle, WaitError};

pub use linnet_core::socket::poll::{
    EPOLLET, EPOLLEXCLUSIVE, EPOLLONESHOT, EPOLL_CTL_ADD, EPOLL_CTL_DEL, EPOLL_CTL_MOD,
};

/// An epoll instance on a runtime (`epoll_create1(0)`). Unregistered when dropped.
#[derive(Debug)]
pub struct EpollFd {
    net: StackHandle,
    ep: Arc<Mutex<Epoll>>,
}

impl EpollFd {
    /// `epoll_create1(0)`: an empty set, registered with the runtime's event delivery.
    pub fn epoll_create1(net: &StackHandle) -> EpollFd {
        let ep = Arc::new(Mutex::new(Epoll::new()));
        let weak = Arc::downgrade(&ep);
        net.with_inner(|inner| inner.epolls.push(weak));
        EpollFd {
            net: net.clone(),
            ep,
        }
    }

    /// `epoll_ctl(epfd, op, fd, event)`: see [`Epoll::epoll_ctl`] for the errors.
    pub fn epoll_ctl(&self, op: i32, sk: SocketId, event: Option<EpollEvent>) -> KResult<()> {
        let ep = &self.ep;
        Ok(self.net.with_stack(|st| {
            ep.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .epoll_ctl(st, op, sk, event)
        })?)
    }

    /// `epoll_wait(epfd, events, maxevents, timeout)`: the ready items, at most
    /// `maxevents`; waits until one is ready (`timeout: None` for ever, zero not at all).
    /// An empty list when the timeout passes; EINVAL for `maxevents == 0`; ENETDOWN once the
    /// runtime stopped.
    pub fn epoll_wait(
        &self,
        maxevents: usize,
        timeout: Option<Duration>,
    ) -> KResult<Vec<EpollEvent>> {
        let ep = &self.ep;
        let r = self.net.wait_for(timeout, |st| {
            match ep
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .epoll_wait(st, maxevents)
            {
                Ok(v) if v.is_empty() && timeout != Some(Duration::ZERO) => None,
                r => Some(r),
            }
        });
        match r {
            Ok(r) => Ok(r?),
            Err(WaitError::TimedOut) => Ok(Vec::new()),
            Err(WaitError::Shutdown) => Err(KErr(Errno::ENETDOWN)),
        }
    }

    /// Sockets in the set.
    pub fn len(&self) -> usize {
        self.ep.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    /// No socket in the set.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

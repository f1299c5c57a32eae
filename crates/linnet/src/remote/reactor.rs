//! The readiness of the async remote sockets' control connections: one `mio` poll thread
//! per [`super::Remote`], waking the tasks whose connection became readable or writable.
//!
//! Linux: fs/eventpoll.c (edge-triggered readiness, `EPOLLET`), include/linux/wait.h
//! (a waker per waiting task). RFCs: none.
//!
//! Why not tokio's reactor: linnet's async door needs no tokio runtime, only a `Waker`
//! (`linnet::tokio` is woken by the runtime's event loop); the remote one keeps that
//! property, so it works on any executor, with no tokio `net` feature (and no new
//! dependency: `mio` is already the daemon's). A [`Registration`] is edge-triggered: the
//! caller tries its non-blocking I/O, and on `WouldBlock` parks its waker with the tick it
//! saw before trying ([`Registration::park`]); an edge that came in between bumped the tick,
//! so the park refuses and the caller tries again — no lost wake-up.

use std::collections::HashMap;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::task::Waker;
use std::thread::JoinHandle;

use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Registry, Token};

use crate::control::server::wait_events;

const WAKE: Token = Token(0);

/// Which way a task waits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Dir {
    Read,
    Write,
}

#[derive(Default)]
struct Slot {
    tick: [u64; 2],
    waker: [Option<Waker>; 2],
}

/// One connection's readiness.
pub(crate) struct Registration {
    slot: Mutex<Slot>,
    token: Token,
    fd: RawFd,
    reactor: Arc<Shared>,
}

impl Registration {
    fn slot(&self) -> MutexGuard<'_, Slot> {
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The tick to pass to [`Registration::park`]: read it before trying the I/O.
    pub(crate) fn tick(&self, d: Dir) -> u64 {
        self.slot().tick[d as usize]
    }

    /// Parks `waker` for direction `d` unless an edge came since `tick` (then `false`: try
    /// again).
    pub(crate) fn park(&self, d: Dir, tick: u64, waker: &Waker) -> bool {
        let mut s = self.slot();
        if s.tick[d as usize] != tick {
            return false;
        }
        s.waker[d as usize] = Some(waker.clone());
        true
    }

    fn fire(&self, d: Dir) {
        let w = {
            let mut s = self.slot();
            s.tick[d as usize] = s.tick[d as usize].wrapping_add(1);
            s.waker[d as usize].take()
        };
        if let Some(w) = w {
            w.wake();
        }
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        // The fd is still open (its owner drops it after this).
        let _ = self.reactor.registry.deregister(&mut SourceFd(&self.fd));
        self.reactor.regs().remove(&self.token);
    }
}

struct Shared {
    registry: Registry,
    regs: Mutex<HashMap<Token, std::sync::Weak<Registration>>>,
    next: AtomicUsize,
    stop: AtomicBool,
}

impl Shared {
    fn regs(&self) -> MutexGuard<'_, HashMap<Token, std::sync::Weak<Registration>>> {
        self.regs.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The poll thread of one [`super::Remote`]; stops when dropped.
pub(crate) struct Reactor {
    shared: Arc<Shared>,
    waker: mio::Waker,
    thread: Option<JoinHandle<()>>,
}

impl Reactor {
    /// Starts the thread.
    pub(crate) fn start() -> io::Result<Reactor> {
        let mut poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKE)?;
        let shared = Arc::new(Shared {
            registry: poll.registry().try_clone()?,
            regs: Mutex::new(HashMap::new()),
            next: AtomicUsize::new(1),
            stop: AtomicBool::new(false),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("linnet-remote-io".into())
            .spawn(move || {
                let mut events = Events::with_capacity(256);
                let what = "remote reactor poll failed";
                while wait_events(&mut poll, &mut events, None, &s.stop, what) {
                    for ev in events.iter() {
                        let reg = s.regs().get(&ev.token()).and_then(std::sync::Weak::upgrade);
                        let Some(reg) = reg else { continue };
                        if ev.is_readable() || ev.is_read_closed() || ev.is_error() {
                            reg.fire(Dir::Read);
                        }
                        if ev.is_writable() || ev.is_write_closed() || ev.is_error() {
                            reg.fire(Dir::Write);
                        }
                    }
                }
            })?;
        Ok(Reactor {
            shared,
            waker,
            thread: Some(thread),
        })
    }

    /// Watches `fd` (non-blocking, kept open by the caller until the registration drops).
    pub(crate) fn register(&self, fd: RawFd) -> io::Result<Arc<Registration>> {
        let token = Token(self.shared.next.fetch_add(1, Ordering::Relaxed));
        let reg = Arc::new(Registration {
            slot: Mutex::new(Slot::default()),
            token,
            fd,
            reactor: self.shared.clone(),
        });
        self.shared.regs().insert(token, Arc::downgrade(&reg));
        self.shared.registry.register(
            &mut SourceFd(&fd),
            token,
            Interest::READABLE | Interest::WRITABLE,
        )?;
        Ok(reg)
    }
}

impl Drop for Reactor {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
        if let Some(t) = self.thread.take() {
            if t.thread().id() != std::thread::current().id() {
                let _ = t.join();
            }
        }
    }
}

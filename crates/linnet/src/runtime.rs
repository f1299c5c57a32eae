//! The runtime: one `Stack`, its devices, and the event-loop thread that drives them.
//!
//! Linux: net/core/dev.c (the receive softirq: `net_rx_action` polling devices with a budget,
//! `netif_receive_skb`; the transmit path `dev_queue_xmit` -> `ndo_start_xmit`),
//! kernel/time/timer.c (the timer softirq that runs `handle_timeout`), net/core/sock.c
//! (`sk_wait_data`, `sock_def_readable`: sleeping socket users and their wake-ups).
//! RFCs: none.
//!
//! # Threads and locks
//! The [`Runtime`] starts one thread, `linnet-rt`, that owns the devices and polls their fds
//! with `mio` (epoll), plus a `mio::Waker` that other threads use to wake it. The `Stack`
//! lives behind one mutex shared by the loop and every [`StackHandle`]: the loop takes it
//! briefly once per iteration (feed received frames, run due timers, drain transmit and
//! events), never across a system call on a device.
//!
//! # One loop iteration
//! 1. Sleep in `epoll_wait` until a device fd is readable, the waker fires, or the stack's
//!    `poll_timeout()` is due (zero if a device still has frames after a full batch).
//! 2. Read every ready device, up to one [`RxBatch`] each, without the lock.
//! 3. Under the lock: recycle sent buffers, feed each device's frames (`alloc_rx` +
//!    `put_slice` + `receive`) between `rx_batch_begin` and `rx_batch_end` (one batch per
//!    device read, the role of a NAPI poll: a run of in-order segments of one TCP
//!    connection is acknowledged once, as after Linux's GRO), `handle_timeout` if due, drain `poll_transmit` into per-device queues, read
//!    `poll_timeout`, drain `poll_event` (the order of the sans-IO contract); then wake the
//!    socket users waiting on the condition variable if there were events, and the async
//!    tasks whose socket wait queue ([`crate::waiters`]) an event made ready.
//! 4. Write each device's queue in batches without the lock; the buffers go back to the
//!    stack's pool at the next iteration.
//!
//! API calls from other threads ([`StackHandle::with_stack`]) set the stack's time first,
//! then drain `poll_transmit` into a queue the loop sends, drain events, and wake the loop
//! only if there is something to send or the next timer moved earlier.
//!
//! # Async tasks
//! A task that finds a socket not ready registers its `Waker` on the socket's wait queue
//! under the stack lock (the `poll_op` of [`StackHandle`]); draining the events, under the
//! same lock, moves the wakers of ready queues aside, and they are woken once the lock is
//! released. No thread per socket, no polling: the loop thread (or the API caller whose
//! call produced the event) wakes the task. If the stack ever drops events (its queue
//! overflowed), every waiting task is woken: a spurious wake-up costs a poll, a lost one
//! would hang.
//!
//! # Time
//! A monotonic clock ([`std::time::Instant`]) read as nanoseconds since the runtime started
//! is the stack's `linnet_core::Instant`. Time is always read under the stack lock, so it
//! never goes backwards for the stack.
//!
//! # Shutdown
//! [`Runtime::shutdown`] (and `Drop`) stops the loop, joins its thread and drops the devices
//! (closing their fds: a TAP created by linnet disappears). Socket users blocked in a wait get
//! ENETDOWN, and so do waiting async tasks (all woken). Handles stay valid; the stack can
//! still be inspected.

use std::collections::VecDeque;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Condvar, Mutex, MutexGuard, PoisonError};
use std::task::{Context, Poll as TaskPoll, Waker};
use std::thread::JoinHandle;
use std::time::Duration;

use linnet_core::{
    DeviceConfig, DeviceKind, Errno, Event, IfIndex, Instant, PingEvent, SkBuff, Stack,
};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token};

use crate::device::{Device, Notifier, RxBatch, WakeState, RX_BATCH, TX_BATCH};
use crate::waiters::{Key, WaiterStats, Waiters};

const WAKER_TOKEN: Token = Token(0);
/// Ping events kept for [`crate::ping`] callers before the oldest is dropped.
const PING_QUEUE: usize = 256;

/// The runtime's clock: monotonic nanoseconds since the runtime started.
#[derive(Clone, Copy, Debug)]
pub struct Clock {
    start: std::time::Instant,
}

impl Clock {
    /// A clock whose epoch is now.
    pub fn new() -> Clock {
        Clock {
            start: std::time::Instant::now(),
        }
    }

    /// The current time as the stack counts it.
    pub fn now(&self) -> Instant {
        self.at(std::time::Instant::now())
    }

    /// `t` as the stack counts it (the epoch if `t` is before it).
    pub fn at(&self, t: std::time::Instant) -> Instant {
        let ns = t.saturating_duration_since(self.start).as_nanos();
        Instant::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
    }

    /// The wall-clock-free `std::time::Instant` of a stack instant.
    pub fn to_std(&self, t: Instant) -> std::time::Instant {
        self.start + Duration::from_nanos(t.as_nanos())
    }
}

impl Default for Clock {
    fn default() -> Self {
        Clock::new()
    }
}

/// Driver-side counters of one device (what the stack cannot see: frames the device failed
/// to send, read errors).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct DriverStats {
    /// Frames read from the device and fed to the stack.
    pub rx_frames: u64,
    /// Bytes of those frames.
    pub rx_bytes: u64,
    /// Read calls that failed.
    pub rx_errors: u64,
    /// Frames read and refused by the device (a bad offload header).
    pub rx_dropped: u64,
    /// Frames written to the device.
    pub tx_frames: u64,
    /// Bytes of those frames.
    pub tx_bytes: u64,
    /// Frames dropped because the device's queue was full (`WouldBlock`).
    pub tx_dropped: u64,
    /// Frames the device refused with another error.
    pub tx_errors: u64,
}

#[derive(Debug, Default)]
struct DriverCounters {
    rx_frames: AtomicU64,
    rx_bytes: AtomicU64,
    rx_errors: AtomicU64,
    rx_dropped: AtomicU64,
    tx_frames: AtomicU64,
    tx_bytes: AtomicU64,
    tx_dropped: AtomicU64,
    tx_errors: AtomicU64,
}

impl DriverCounters {
    fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Ordering::Relaxed);
    }

    fn snapshot(&self) -> DriverStats {
        let g = |c: &AtomicU64| c.load(Ordering::Relaxed);
        DriverStats {
            rx_frames: g(&self.rx_frames),
            rx_bytes: g(&self.rx_bytes),
            rx_errors: g(&self.rx_errors),
            rx_dropped: g(&self.rx_dropped),
            tx_frames: g(&self.tx_frames),
            tx_bytes: g(&self.tx_bytes),
            tx_dropped: g(&self.tx_dropped),
            tx_errors: g(&self.tx_errors),
        }
    }
}

/// Why a wait ended without its condition.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WaitError {
    /// The timeout passed.
    TimedOut,
    /// The runtime was shut down.
    Shutdown,
}

impl fmt::Display for WaitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WaitError::TimedOut => f.write_str("timed out"),
            WaitError::Shutdown => f.write_str("runtime shut down"),
        }
    }
}

impl std::error::Error for WaitError {}

impl From<WaitError> for io::Error {
    /// `TimedOut` -> ETIMEDOUT, `Shutdown` -> ENETDOWN.
    fn from(e: WaitError) -> io::Error {
        match e {
            WaitError::TimedOut => io::Error::from_raw_os_error(libc::ETIMEDOUT),
            WaitError::Shutdown => io::Error::from_raw_os_error(libc::ENETDOWN),
        }
    }
}

/// What the stack lock protects.
pub(crate) struct Inner {
    pub(crate) stack: Stack,
    /// Echo replies and errors, with their arrival time, until a pinger takes them.
    pub(crate) pings: VecDeque<(PingEvent, Instant)>,
    /// Answers dropped from a full `pings`, oldest first, before anyone took them.
    pings_evicted: u64,
    /// Frames drained by API callers, for the loop to send.
    pending_tx: Vec<(IfIndex, SkBuff)>,
    /// The deadline the loop sleeps until (the stack's `poll_timeout` when it last looked).
    loop_deadline: Option<Instant>,
    /// Epoll sets fed every socket event (`ep_poll_callback`); dropped sets are pruned.
    pub(crate) epolls: Vec<std::sync::Weak<Mutex<linnet_core::socket::poll::Epoll>>>,
    /// The async tasks waiting on sockets.
    pub(crate) waiters: Waiters,
    /// `Stack::events_dropped` when events were last drained.
    events_dropped: u64,
}

impl Inner {
    /// The tail of the calling order after an API call or input: drain transmit, read the
    /// timeout, drain events. Returns (events seen, loop must wake).
    fn after_call(&mut self, now: Instant) -> (bool, bool) {
        let mut wake = false;
        while let Some(f) = self.stack.poll_transmit() {
            self.pending_tx.push(f);
            wake = true;
        }
        if let Some(t) = self.stack.poll_timeout() {
            if self.loop_deadline.is_none_or(|d| t < d) {
                self.loop_deadline = Some(t);
                wake = true;
            }
        }
        (self.drain_events(now), wake)
    }

    fn drain_events(&mut self, now: Instant) -> bool {
        let mut any = false;
        let dropped = self.stack.events_dropped();
        if dropped != self.events_dropped {
            // Readiness was lost: wake every task rather than leave one asleep for ever.
            self.events_dropped = dropped;
            self.waiters.wake_all();
            any = true;
        }
        while let Some(ev) = self.stack.poll_event() {
            any = true;
            if !self.epolls.is_empty() {
                let stack = &self.stack;
                self.epolls.retain(|w| match w.upgrade() {
                    Some(ep) => {
                        ep.lock()
                            .unwrap_or_else(PoisonError::into_inner)
                            .ep_poll_callback(stack, &ev);
                        true
                    }
                    None => false,
                });
            }
            self.waiters.on_event(&ev);
            match ev {
                Event::Ping(p) => {
                    if self.pings.len() >= PING_QUEUE {
                        self.pings.pop_front();
                        self.pings_evicted += 1;
                        tracing::trace!("ping answer queue full; oldest dropped");
                    }
                    self.pings.push_back((p, now));
                }
                Event::Readable(h) => tracing::trace!(?h, "readable"),
                Event::Error(h) => tracing::trace!(?h, "socket error"),
                Event::Writable(h)
                | Event::Connected(h)
                | Event::Acceptable(h)
                | Event::Urgent(h) => {
                    tracing::trace!(?h, ?ev, "tcp readiness")
                }
            }
        }
        any
    }
}

struct NewDevice {
    ifindex: IfIndex,
    dev: Box<dyn Device>,
    counters: Arc<DriverCounters>,
}

pub(crate) struct Shared {
    inner: Mutex<Inner>,
    cond: Condvar,
    wake: Arc<WakeState>,
    clock: Clock,
    shutdown: AtomicBool,
    /// Ids of wait-queue entries (see [`crate::waiters`]).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    waiter_ids: AtomicU64,
    new_devices: Mutex<Vec<NewDevice>>,
    counters: Mutex<Vec<(IfIndex, Arc<DriverCounters>)>>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Marks the runtime stopped and wakes every waiter. The lock is taken in between so that
    /// no waiter can check the flag and then miss the notification.
    fn stop_waiters(&self) {
        self.shutdown.store(true, Ordering::Release);
        let mut g = self.lock();
        g.waiters.wake_all();
        let wakers = g.waiters.take_pending();
        drop(g);
        self.cond.notify_all();
        wakers.into_iter().for_each(Waker::wake);
    }
}

/// A handle on a running stack, usable from any thread. Cheap to clone.
#[derive(Clone)]
pub struct StackHandle {
    shared: Arc<Shared>,
}

impl fmt::Debug for StackHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StackHandle")
            .field("shut_down", &self.is_shut_down())
            .finish_non_exhaustive()
    }
}

impl StackHandle {
    /// Runs `f` on the stack under its lock, at the current time (`set_now` first); then
    /// hands what it queued for transmission to the event loop and wakes socket users if
    /// events came out. Keep `f` short: the event loop waits for the lock. Do not call
    /// `poll_transmit` or `poll_event` inside `f`: the runtime drains them.
    pub fn with_stack<R>(&self, f: impl FnOnce(&mut Stack) -> R) -> R {
        self.with_inner(|inner| f(&mut inner.stack))
    }

    /// Echo answers dropped unread because the runtime's queue of them (256) was full.
    pub fn pings_evicted(&self) -> u64 {
        self.shared.lock().pings_evicted
    }

    /// Reads the stack under its lock, without changing its time or waking anything.
    pub fn inspect<R>(&self, f: impl FnOnce(&Stack) -> R) -> R {
        f(&self.shared.lock().stack)
    }

    pub(crate) fn with_inner<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        let mut g = self.shared.lock();
        let now = self.shared.clock.now();
        g.stack.set_now(now);
        let r = f(&mut g);
        let (notify, wake) = g.after_call(now);
        let wakers = g.waiters.take_pending();
        drop(g);
        if notify {
            self.shared.cond.notify_all();
        }
        if wake {
            self.wake();
        }
        wakers.into_iter().for_each(Waker::wake);
        r
    }

    /// One poll of an async socket operation (`sk_wait_event` for a task): runs `op` under
    /// the lock; if it says EAGAIN, the task's waker joins `key`'s wait queue as entry `id`
    /// in the same critical section (so the event that makes the socket ready cannot slip
    /// in between) and the poll is pending. Any other outcome removes entry `id` and is
    /// ready. After shutdown an operation that would wait is ENETDOWN.
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn poll_op<T>(
        &self,
        cx: &mut Context<'_>,
        key: Key,
        id: u64,
        op: impl FnOnce(&mut Stack) -> Result<T, Errno>,
    ) -> TaskPoll<io::Result<T>> {
        let shared = &*self.shared;
        self.with_inner(|inner| match op(&mut inner.stack) {
            Err(Errno::EAGAIN) => {
                if shared.shutdown.load(Ordering::Acquire) {
                    inner.waiters.remove(key, id);
                    return TaskPoll::Ready(Err(WaitError::Shutdown.into()));
                }
                inner.waiters.register(key, id, cx.waker());
                TaskPoll::Pending
            }
            r => {
                inner.waiters.remove(key, id);
                TaskPoll::Ready(r.map_err(crate::errno_to_io))
            }
        })
    }

    /// A fresh id for a wait-queue entry (see [`crate::waiters`]).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn waiter_id(&self) -> u64 {
        self.shared.waiter_ids.fetch_add(1, Ordering::Relaxed)
    }

    /// Removes wait-queue entry `id` of `key` (a dropped future).
    #[cfg_attr(not(feature = "tokio"), allow(dead_code))]
    pub(crate) fn remove_waiter(&self, key: Key, id: u64) {
        self.shared.lock().waiters.remove(key, id);
    }

    /// Runs `close` on the stack and drops the socket's wait queues, under one lock.
    pub(crate) fn close_socket<R>(
        &self,
        proto: crate::waiters::Proto,
        h: linnet_core::SocketHandle,
        close: impl FnOnce(&mut Stack) -> R,
    ) -> R {
        self.with_inner(|inner| {
            inner.waiters.forget(proto, h);
            close(&mut inner.stack)
        })
    }

    /// The counters of the async tasks' socket wait queues.
    pub fn waiter_stats(&self) -> WaiterStats {
        self.shared.lock().waiters.stats()
    }

    /// Blocks until `f` returns `Some`, re-running it (under the lock, at the current time)
    /// whenever the stack reports events: the socket layer's `sk_wait_data`. `timeout: None`
    /// waits for ever (or until shutdown).
    pub fn wait_for<T>(
        &self,
        timeout: Option<Duration>,
        mut f: impl FnMut(&mut Stack) -> Option<T>,
    ) -> Result<T, WaitError> {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        self.wait_inner(deadline, |inner| f(&mut inner.stack))
    }

    pub(crate) fn wait_inner<T>(
        &self,
        deadline: Option<std::time::Instant>,
        mut f: impl FnMut(&mut Inner) -> Option<T>,
    ) -> Result<T, WaitError> {
        let shared = &*self.shared;
        let mut g = shared.lock();
        loop {
            let now = shared.clock.now();
            g.stack.set_now(now);
            let r = f(&mut g);
            let (notify, wake) = g.after_call(now);
            if notify || wake || r.is_some() {
                let wakers = g.waiters.take_pending();
                drop(g);
                if notify {
                    shared.cond.notify_all();
                }
                if wake {
                    self.wake();
                }
                wakers.into_iter().for_each(Waker::wake);
                if let Some(v) = r {
                    return Ok(v);
                }
                // Events for other sockets can keep coming: the timeout still counts.
                if deadline.is_some_and(|d| std::time::Instant::now() >= d) {
                    return Err(WaitError::TimedOut);
                }
                g = shared.lock();
                continue;
            }
            if shared.shutdown.load(Ordering::Acquire) {
                return Err(WaitError::Shutdown);
            }
            g = match deadline {
                None => shared.cond.wait(g).unwrap_or_else(PoisonError::into_inner),
                Some(d) => {
                    let left = d.saturating_duration_since(std::time::Instant::now());
                    if left.is_zero() {
                        return Err(WaitError::TimedOut);
                    }
                    shared
                        .cond
                        .wait_timeout(g, left)
                        .unwrap_or_else(PoisonError::into_inner)
                        .0
                }
            };
        }
    }

    /// The current time as the stack counts it.
    pub fn now(&self) -> Instant {
        self.shared.clock.now()
    }

    /// The runtime's clock.
    pub fn clock(&self) -> Clock {
        self.shared.clock
    }

    /// Wakes the event loop (after changing the stack by a path that bypassed
    /// [`StackHandle::with_stack`]).
    pub fn wake(&self) {
        self.shared.wake.wake();
    }

    /// True once the runtime has stopped.
    pub fn is_shut_down(&self) -> bool {
        self.shared.shutdown.load(Ordering::Acquire)
    }

    /// Registers `dev` with the stack (`register_netdevice`: named as the device, its kind
    /// and MTU, down, no address) and hands it to the event loop. Returns its ifindex. Errors:
    /// EEXIST for a name in use, EINVAL for a bad name or a loopback kind, ENETDOWN after
    /// shutdown.
    pub fn add_device<D: Device + 'static>(&self, dev: D) -> io::Result<IfIndex> {
        self.add_boxed_device(Box::new(dev))
    }

    /// [`StackHandle::add_device`] for a boxed device.
    pub fn add_boxed_device(&self, dev: Box<dyn Device>) -> io::Result<IfIndex> {
        if self.is_shut_down() {
            return Err(io::Error::from_raw_os_error(libc::ENETDOWN));
        }
        let kind = dev.kind();
        if kind == DeviceKind::Loopback {
            return Err(io::Error::from_raw_os_error(libc::EINVAL));
        }
        let cfg = DeviceConfig {
            name: dev.name().to_string(),
            kind,
            mtu: dev.mtu().map(|m| m.min(linnet_core::dev::MAX_MTU)),
        };
        let ifindex = self
            .with_stack(|s| s.add_device(cfg))
            .map_err(|e| crate::errno_to_io(e.errno()))?;
        let counters = Arc::new(DriverCounters::default());
        self.shared
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push((ifindex, counters.clone()));
        tracing::info!(dev = %dev.name(), %ifindex, ?kind, "device added");
        self.shared
            .new_devices
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(NewDevice {
                ifindex,
                dev,
                counters,
            });
        self.wake();
        Ok(ifindex)
    }

    /// The driver-side counters of device `ifindex`, if it has a driver.
    pub fn driver_stats(&self, ifindex: IfIndex) -> Option<DriverStats> {
        let c = self
            .shared
            .counters
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        c.iter()
            .find(|(i, _)| *i == ifindex)
            .map(|(_, c)| c.snapshot())
    }
}

/// A stack running on its own event-loop thread (see the module docs).
pub struct Runtime {
    handle: StackHandle,
    thread: Option<JoinHandle<()>>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("running", &self.thread.is_some())
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Starts the event loop around `stack`.
    pub fn new(stack: Stack) -> io::Result<Runtime> {
        let poll = Poll::new()?;
        let waker = mio::Waker::new(poll.registry(), WAKER_TOKEN)?;
        let shared = Arc::new(Shared {
            inner: Mutex::new(Inner {
                stack,
                pings: VecDeque::new(),
                pings_evicted: 0,
                pending_tx: Vec::new(),
                loop_deadline: None,
                epolls: Vec::new(),
                waiters: Waiters::default(),
                events_dropped: 0,
            }),
            cond: Condvar::new(),
            wake: Arc::new(WakeState::new(waker)),
            clock: Clock::new(),
            shutdown: AtomicBool::new(false),
            waiter_ids: AtomicU64::new(1),
            new_devices: Mutex::new(Vec::new()),
            counters: Mutex::new(Vec::new()),
        });
        let mut el = EventLoop {
            shared: shared.clone(),
            poll,
            events: Events::with_capacity(64),
            slots: Vec::new(),
            by_ifindex: Vec::new(),
            recycle: Vec::new(),
            deadline: None,
        };
        let thread = std::thread::Builder::new()
            .name("linnet-rt".into())
            .spawn(move || el.run())?;
        Ok(Runtime {
            handle: StackHandle { shared },
            thread: Some(thread),
        })
    }

    /// The handle on the stack (clone it for other threads).
    pub fn handle(&self) -> &StackHandle {
        &self.handle
    }

    /// [`StackHandle::add_device`].
    pub fn add_device<D: Device + 'static>(&self, dev: D) -> io::Result<IfIndex> {
        self.handle.add_device(dev)
    }

    /// [`StackHandle::with_stack`].
    pub fn with_stack<R>(&self, f: impl FnOnce(&mut Stack) -> R) -> R {
        self.handle.with_stack(f)
    }

    /// Stops the event loop and joins its thread; the devices are closed. Errors only if the
    /// loop thread panicked.
    pub fn shutdown(mut self) -> io::Result<()> {
        self.stop()
    }

    fn stop(&mut self) -> io::Result<()> {
        let Some(thread) = self.thread.take() else {
            return Ok(());
        };
        let shared = &self.handle.shared;
        shared.shutdown.store(true, Ordering::Release);
        shared.wake.wake();
        let r = thread.join();
        shared.stop_waiters();
        tracing::debug!("linnet runtime stopped");
        r.map_err(|_| io::Error::other("linnet event loop panicked"))
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        if let Err(e) = self.stop() {
            tracing::error!(error = %e, "linnet runtime shutdown");
        }
    }
}

/// One device as the loop drives it.
struct Slot {
    ifindex: IfIndex,
    name: String,
    dev: Box<dyn Device>,
    rx: RxBatch,
    has_fd: bool,
    rx_ready: bool,
    txq: Vec<SkBuff>,
    counters: Arc<DriverCounters>,
    rx_error_logged: bool,
    rx_errors_in_row: u32,
    tx_error_logged: bool,
}

/// Sets the shutdown flag and wakes waiters when the loop ends, even by a panic.
struct ExitGuard(Arc<Shared>);

impl Drop for ExitGuard {
    fn drop(&mut self) {
        self.0.stop_waiters();
    }
}

struct EventLoop {
    shared: Arc<Shared>,
    poll: Poll,
    events: Events,
    slots: Vec<Slot>,
    by_ifindex: Vec<Option<usize>>,
    recycle: Vec<SkBuff>,
    deadline: Option<Instant>,
}

impl EventLoop {
    fn run(&mut self) {
        let _guard = ExitGuard(self.shared.clone());
        tracing::debug!("linnet event loop started");
        loop {
            let timeout = self.timeout();
            if let Err(e) = self.poll.poll(&mut self.events, timeout) {
                if e.kind() != io::ErrorKind::Interrupted {
                    tracing::error!(error = %e, "epoll failed; event loop stops");
                    break;
                }
            }
            self.shared.wake.clear();
            if self.shared.shutdown.load(Ordering::Acquire) {
                break;
            }
            self.adopt_devices();
            for ev in self.events.iter() {
                if ev.token() == WAKER_TOKEN {
                    continue;
                }
                if let Some(s) = self.slots.get_mut(ev.token().0 - 1) {
                    s.rx_ready = true;
                }
            }
            self.receive();
            self.service();
            self.transmit();
        }
        tracing::debug!(devices = self.slots.len(), "linnet event loop exits");
    }

    /// Zero while a device may still hold frames, else until the stack's next timer.
    fn timeout(&self) -> Option<Duration> {
        if self.slots.iter().any(|s| s.rx_ready) {
            return Some(Duration::ZERO);
        }
        let now = self.shared.clock.now();
        self.deadline.map(|d| d.saturating_since(now))
    }

    fn adopt_devices(&mut self) {
        let new: Vec<NewDevice> = std::mem::take(
            &mut *self
                .shared
                .new_devices
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        for NewDevice {
            ifindex,
            mut dev,
            counters,
        } in new
        {
            let i = self.slots.len();
            let fd = dev.raw_fd();
            if let Some(fd) = fd {
                let r = self.poll.registry().register(
                    &mut SourceFd(&fd),
                    Token(i + 1),
                    Interest::READABLE,
                );
                if let Err(e) = r {
                    tracing::error!(dev = %dev.name(), error = %e, "cannot poll device; dropped");
                    continue;
                }
            }
            dev.attach(Notifier {
                state: self.shared.wake.clone(),
            });
            let idx = ifindex.0 as usize;
            if self.by_ifindex.len() <= idx {
                self.by_ifindex.resize(idx + 1, None);
            }
            self.by_ifindex[idx] = Some(i);
            self.slots.push(Slot {
                ifindex,
                name: dev.name().to_string(),
                rx: RxBatch::new(RX_BATCH, dev.max_frame_len()),
                has_fd: fd.is_some(),
                // Frames may be waiting already; edge-triggered polling would not report them.
                rx_ready: true,
                txq: Vec::with_capacity(TX_BATCH),
                counters,
                rx_error_logged: false,
                rx_errors_in_row: 0,
                tx_error_logged: false,
                dev,
            });
            tracing::debug!(%ifindex, "event loop drives device");
        }
    }

    /// Step 2: one batch from each ready device, without the lock.
    fn receive(&mut self) {
        for s in &mut self.slots {
            s.rx.clear();
            if !s.has_fd {
                s.rx_ready = true;
            }
            if !s.rx_ready {
                continue;
            }
            match s.dev.recv_batch(&mut s.rx) {
                Ok(n) => {
                    s.rx_ready = n >= s.rx.slots();
                    s.rx_errors_in_row = 0;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => s.rx_ready = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    DriverCounters::add(&s.counters.rx_errors, 1);
                    // A socket error (AF_PACKET's ENETDOWN) is reported once, ahead of the
                    // frames still queued: read again, but do not spin on a dead fd.
                    s.rx_errors_in_row += 1;
                    if !s.rx_error_logged {
                        tracing::warn!(dev = %s.name, error = %e, "device read failed");
                        s.rx_error_logged = true;
                    } else {
                        tracing::debug!(dev = %s.name, error = %e, "device read failed");
                    }
                    s.rx_ready = s.rx_errors_in_row < 3;
                }
            }
        }
    }

    /// Step 3: everything that needs the stack, under its lock.
    fn service(&mut self) {
        let shared = self.shared.clone();
        let mut g = shared.lock();
        // A device is queued for the loop before its ifindex is returned, so anything sent
        // through it (which needed the lock we now hold) finds it adopted.
        self.adopt_devices();
        let now = shared.clock.now().max(g.stack.now());
        for skb in self.recycle.drain(..) {
            g.stack.recycle(skb);
        }
        for s in &self.slots {
            if s.rx.used() == 0 {
                continue;
            }
            if s.rx.dropped() > 0 {
                DriverCounters::add(&s.counters.rx_dropped, s.rx.dropped());
            }
            let (mut frames, mut bytes) = (0, 0);
            // One device read is one NAPI poll: the ACKs of a run of in-order TCP segments
            // are decided once, at its end (the core's GRO-like receive batch).
            g.stack.rx_batch_begin();
            for (f, meta) in s.rx.frames_meta() {
                let mut skb = g.stack.alloc_rx(f.len());
                skb.put_slice(f);
                skb.gso_size = meta.gso_size;
                skb.gso_type = meta.gso_type;
                skb.ip_summed = meta.ip_summed;
                g.stack.receive(now, s.ifindex, skb);
                frames += 1;
                bytes += f.len() as u64;
            }
            g.stack.rx_batch_end();
            if frames > 0 {
                DriverCounters::add(&s.counters.rx_frames, frames);
                DriverCounters::add(&s.counters.rx_bytes, bytes);
            }
        }
        if g.stack.poll_timeout().is_some_and(|d| d <= now) {
            g.stack.handle_timeout(now);
        }
        let pending = std::mem::take(&mut g.pending_tx);
        for (ifindex, skb) in pending {
            self.route_tx(&mut g.stack, ifindex, skb);
        }
        while let Some((ifindex, skb)) = g.stack.poll_transmit() {
            self.route_tx(&mut g.stack, ifindex, skb);
        }
        let deadline = g.stack.poll_timeout();
        g.loop_deadline = deadline;
        self.deadline = deadline;
        let notify = g.drain_events(now);
        let wakers = g.waiters.take_pending();
        drop(g);
        if notify {
            shared.cond.notify_all();
        }
        wakers.into_iter().for_each(Waker::wake);
    }

    fn route_tx(&mut self, stack: &mut Stack, ifindex: IfIndex, skb: SkBuff) {
        match self.by_ifindex.get(ifindex.0 as usize).copied().flatten() {
            Some(i) => self.slots[i].txq.push(skb),
            None => {
                tracing::trace!(%ifindex, "frame for a device without a driver dropped");
                stack.recycle(skb);
            }
        }
    }

    /// Step 4: write each device's queue in batches, without the lock.
    fn transmit(&mut self) {
        for s in &mut self.slots {
            let mut i = 0;
            while i < s.txq.len() {
                let end = (i + TX_BATCH).min(s.txq.len());
                let mut frames: [&[u8]; TX_BATCH] = [&[]; TX_BATCH];
                for (slot, skb) in frames.iter_mut().zip(&s.txq[i..end]) {
                    *slot = skb.data();
                }
                let n = end - i;
                let (sent, failed) = match s.dev.send_batch(&frames[..n]) {
                    Ok(k) if k >= n => (n, None),
                    Ok(k) => (k, Some(None)),
                    Err(e) => (0, Some(Some(e))),
                };
                let bytes: usize = frames[..sent].iter().map(|f| f.len()).sum();
                DriverCounters::add(&s.counters.tx_frames, sent as u64);
                DriverCounters::add(&s.counters.tx_bytes, bytes as u64);
                i += sent;
                if let Some(err) = failed {
                    // frames[sent] failed: drop it and go on after it.
                    let would_block = err
                        .as_ref()
                        .is_some_and(|e| e.kind() == io::ErrorKind::WouldBlock);
                    if would_block {
                        DriverCounters::add(&s.counters.tx_dropped, 1);
                    } else {
                        DriverCounters::add(&s.counters.tx_errors, 1);
                        match (&err, s.tx_error_logged) {
                            (Some(e), false) => {
                                tracing::warn!(dev = %s.name, error = %e, "device write failed");
                                s.tx_error_logged = true;
                            }
                            (e, _) => {
                                tracing::debug!(dev = %s.name, error = ?e, "device write failed")
                            }
                        }
                    }
                    i += 1;
                }
            }
            self.recycle.append(&mut s.txq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clock_counts_nanoseconds_since_start() {
        let c = Clock::new();
        let a = c.now();
        let later = std::time::Instant::now() + Duration::from_millis(5);
        let b = c.at(later);
        assert!(b.saturating_since(a) >= Duration::from_millis(5));
        assert!(a.as_nanos() < 1_000_000_000);
        assert_eq!(c.at(c.to_std(b)), b);
        assert_eq!(
            c.at(std::time::Instant::now() - Duration::from_secs(1)),
            Instant::ZERO
        );
    }

    #[test]
    fn wait_error_maps_to_linux_errno() {
        let e: io::Error = WaitError::TimedOut.into();
        assert_eq!(e.raw_os_error(), Some(libc::ETIMEDOUT));
        assert_eq!(e.kind(), io::ErrorKind::TimedOut);
        let e: io::Error = WaitError::Shutdown.into();
        assert_eq!(e.raw_os_error(), Some(libc::ENETDOWN));
    }
}

//! The daemon side of the control socket: a Unix listener, one thread per client, and the
//! sockets each client owns.
//!
//! Linux: net/netlink/af_netlink.c (`netlink_rcv_skb`: one request, one answer or
//! `NLMSG_ERROR`), net/socket.c (the system calls behind the socket requests), fs/file.c
//! (`alloc_fd`: the lowest free descriptor), net/ipv4/af_inet.c (`inet_release`: a process's
//! sockets are closed when it exits).
//! RFCs: none.
//!
//! # Threads
//! [`Server::bind`] starts `linnet-ctl`, which waits on the listener with `mio` (so that
//! [`Server::shutdown`] can wake it) and starts one `linnet-ctl-N` thread per accepted
//! client. A client thread reads a request, answers it, and repeats.
//!
//! # Socket calls
//! The socket requests are the system calls, answered by the core's socket layer
//! (`Stack::sys_*`, `sock_poll`) with Linux's errno in Linux's order. The calls that block
//! (`connect`, `accept4`, `sendmsg`, `recvmsg`, `poll`) run the same code as the
//! kernel-style door (`crate::sockcall`: `O_NONBLOCK`, `MSG_DONTWAIT`, `MSG_WAITALL`,
//! `SO_RCVTIMEO`, `SO_SNDTIMEO` as Linux honours them); only the wait differs: here it is
//! cut in slices of [`SLICE`], and between slices the thread looks whether the client hung
//! up (a peek at its socket: then the call ends unanswered) or the server is stopping
//! (ENETDOWN). `Ping` and `PingRecv` wait the same way.
//!
//! # Ownership
//! Each connection holds sockets in a table keyed by [`SockId`] (its descriptors). A socket
//! is reference-counted like a `struct file`: `socket`, `accept4` and `Attach` put a hold in
//! the table, `close` removes it, and the socket is closed (`sys_close`) when its last hold
//! goes. `Dup` hands out the socket's token, an unguessable number that `Attach` on another
//! connection turns into a hold there (what passing a descriptor over `SCM_RIGHTS` does):
//! that is how one client reads a socket on one connection while it writes it on another.
//! When a connection ends (the client closed it, died, sent an oversize frame, or the server
//! is shutting down), its table is dropped: a client that disconnects mid-operation leaks
//! nothing. [`Server::stats`] counts the sockets open through the server (a socket held by
//! several connections counts once). The token table holds one entry per open socket and
//! loses it when the socket closes, so it is bounded by the socket limits below.
//!
//! # Limits
//! Every table has a limit and a counter of what it refused ([`DaemonStats`]):
//! - at most [`Limits::max_clients`] ([`MAX_CLIENTS`]) connections; the next one's Hello is
//!   answered EAGAIN ("too many clients") if it is already there, else the connection is
//!   closed at once (`clients_refused`);
//! - at most [`Limits::max_sockets`] ([`MAX_SOCKETS`]) sockets per connection, like
//!   RLIMIT_NOFILE: EMFILE past it (`sockets_refused`; an `accept4` refused so leaves the
//!   connection queued, as Linux takes the descriptor first); the stack's own socket table
//!   has its limit too (`max_sockets` of its config: EMFILE, counted by the stack);
//! - the Hello must come within [`Limits::read_timeout`], and the rest of a frame within it
//!   once its length came; a client idle between frames may stay. A client that stops
//!   reading its answers is dropped when a write blocks that long;
//! - at most [`Limits::max_ping_idents`] echo identifiers per connection (ENOBUFS past it).
//!
//! When `accept` fails for want of descriptors (EMFILE, ENFILE), the listener retries every
//! [`ACCEPT_RETRY`] instead of waiting for the next readiness edge.
//!
//! # Echo requests
//! The runtime keeps one queue of echo answers, matched by identifier. So that a connection
//! sees only its own answers, whatever identifier it picks, the server sends each
//! connection's identifier under a wire identifier of its own (from a counter, unique among
//! live connections) and maps answers back; a connection's identifiers and their queued
//! answers go when it ends.
//!
//! # The socket file
//! `bind` refuses a path that holds anything but a socket, and a socket some daemon still
//! answers on; a stale socket (nobody listening) is replaced. The file is created with mode
//! 0660 (owner and group, like a netlink socket needing CAP_NET_ADMIN for changes) and
//! removed by `shutdown` or drop, if it is still the one this server made.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};
use std::fs;
use std::io::{self, Read};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use linnet_core::socket::cmsg::CmsgBuf;
use linnet_core::socket::poll::PollMask;
use linnet_core::{Errno, SockAddr, SocketId, Stack};
use mio::unix::SourceFd;
use mio::{Events, Interest, Poll, Token, Waker};
use nix::sys::socket::MsgFlags;

use super::proto::{
    decode_frame, read_frame, write_frame, DaemonStats, FrameError, PingAnswer, Request, Response,
    SockId, MAX_CONTROL, MAX_FRAME, MAX_IO, PROTOCOL_VERSION,
};
use super::strerror;
use crate::runtime::{Inner, StackHandle, WaitError};
use crate::sockcall::{self, CallErr, End, Waiter};

/// How long a blocking call waits on the stack before it looks at its client again.
pub const SLICE: Duration = Duration::from_millis(50);
/// The first socket id of a connection (0, 1 and 2 are stdin, stdout and stderr).
const FIRST_ID: SockId = 3;

/// The most clients served at once ([`Limits::max_clients`]).
pub const MAX_CLIENTS: usize = 256;
/// The most sockets one connection may hold ([`Limits::max_sockets`]), as RLIMIT_NOFILE's
/// usual soft limit.
pub const MAX_SOCKETS: usize = 1024;
/// How long the Hello, and the rest of a begun frame, may take ([`Limits::read_timeout`]).
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// The most echo identifiers one connection may use ([`Limits::max_ping_idents`]).
pub const MAX_PING_IDENTS: usize = 64;
/// How soon the listener retries `accept` after it failed for want of descriptors.
pub const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// The server's limits (see the module docs); [`Limits::default`] is what the daemon uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Clients connected at once.
    pub max_clients: usize,
    /// Sockets per connection.
    pub max_sockets: usize,
    /// Time for the Hello, for the rest of a frame once its length came, and for a write.
    pub read_timeout: Duration,
    /// Echo identifiers per connection.
    pub max_ping_idents: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_clients: MAX_CLIENTS,
            max_sockets: MAX_SOCKETS,
            read_timeout: READ_TIMEOUT,
            max_ping_idents: MAX_PING_IDENTS,
        }
    }
}

const LISTENER: Token = Token(0);
const WAKE: Token = Token(1);

struct ClientEntry {
    stream: UnixStream,
    thread: Option<JoinHandle<()>>,
}

/// Wire echo identifiers in use, and where the search for a free one starts.
struct Idents {
    used: HashSet<u16>,
    next: u16,
}

struct Shared {
    handle: StackHandle,
    limits: Limits,
    stop: AtomicBool,
    sockets: AtomicU64,
    clients_total: AtomicU64,
    clients_refused: AtomicU64,
    sockets_refused: AtomicU64,
    next_client: AtomicU64,
    clients: Mutex<HashMap<u64, ClientEntry>>,
    idents: Mutex<Idents>,
    /// The [`Request::Dup`] token of every open socket (at most one per socket).
    tokens: Mutex<HashMap<u64, Weak<SysSock>>>,
    /// Keys the tokens: unguessable, so a client attaches only sockets it was given.
    token_keys: std::collections::hash_map::RandomState,
    next_token: AtomicU64,
}

/// Removes a client's entry when its thread ends, however it ends (a panic included). The
/// connection, and with it its sockets, is dropped before.
struct Registered {
    shared: Arc<Shared>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.shared.clients().remove(&self.id);
        tracing::debug!(client = self.id, "control client gone");
    }
}

/// Answers a refused client's Hello with EAGAIN if it is already there; else (or after)
/// the connection closes. Never blocks: this runs on the listener's thread.
fn refuse(mut stream: UnixStream) {
    if stream.set_nonblocking(true).is_err() {
        return;
    }
    if let Ok(Request::Hello { .. }) = read_frame::<Request>(&mut stream) {
        let _ = write_frame(&mut stream, &error(libc::EAGAIN, "too many clients"));
    }
}

/// Whether an `accept` error means "out of descriptors or memory for now": the connection
/// stays queued and no new readiness edge will come, so the listener must retry on a timer.
fn accept_must_retry(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EMFILE | libc::ENFILE | libc::ENOBUFS | libc::ENOMEM)
    )
}

impl Shared {
    fn clients(&self) -> MutexGuard<'_, HashMap<u64, ClientEntry>> {
        self.clients.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn tokens(&self) -> MutexGuard<'_, HashMap<u64, Weak<SysSock>>> {
        self.tokens.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A fresh socket token: a counter through a randomly keyed hash (unique while the
    /// counter does not wrap, and not guessable from another client's tokens).
    fn new_token(&self) -> u64 {
        use std::hash::BuildHasher;
        let tokens = self.tokens();
        loop {
            let n = self.next_token.fetch_add(1, Ordering::Relaxed);
            let t = self.token_keys.hash_one(n);
            if t != 0 && !tokens.contains_key(&t) {
                return t;
            }
        }
    }

    fn idents(&self) -> MutexGuard<'_, Idents> {
        self.idents.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// A wire echo identifier no live connection uses, or `None` if all 65536 are taken.
    fn alloc_ident(&self) -> Option<u16> {
        let mut ids = self.idents();
        for _ in 0..=u16::MAX {
            let w = ids.next;
            ids.next = ids.next.wrapping_add(1);
            if ids.used.insert(w) {
                return Some(w);
            }
        }
        None
    }

    fn spawn_client(self: &Arc<Self>, stream: UnixStream) {
        if let Err(e) = stream.set_nonblocking(false) {
            tracing::warn!(error = %e, "control client dropped");
            return;
        }
        let Ok(watch) = stream.try_clone() else {
            tracing::warn!("control client dropped: cannot clone its socket");
            return;
        };
        let mut clients = self.clients();
        if self.stop.load(Ordering::Acquire) {
            return;
        }
        if clients.len() >= self.limits.max_clients {
            drop(clients);
            self.clients_refused.fetch_add(1, Ordering::Relaxed);
            tracing::debug!("control client refused: too many clients");
            refuse(stream);
            return;
        }
        let id = self.next_client.fetch_add(1, Ordering::Relaxed);
        let shared = self.clone();
        let thread = std::thread::Builder::new()
            .name(format!("linnet-ctl-{id}"))
            .spawn(move || {
                tracing::debug!(client = id, "control client connected");
                // Declared first, dropped last: after the connection and its sockets.
                let _registered = Registered {
                    shared: shared.clone(),
                    id,
                };
                Conn {
                    shared,
                    stream,
                    socks: BTreeMap::new(),
                    free_ids: BinaryHeap::new(),
                    next_id: FIRST_ID,
                    idents: HashMap::new(),
                }
                .serve();
            });
        match thread {
            Ok(t) => {
                self.clients_total.fetch_add(1, Ordering::Relaxed);
                clients.insert(
                    id,
                    ClientEntry {
                        stream: watch,
                        thread: Some(t),
                    },
                );
            }
            Err(e) => tracing::warn!(error = %e, "control client dropped: no thread"),
        }
    }
}

/// The control socket server of a daemon (see the module docs).
pub struct Server {
    path: PathBuf,
    inode: Option<(u64, u64)>,
    shared: Arc<Shared>,
    waker: Waker,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("path", &self.path)
            .field("running", &self.thread.is_some())
            .finish_non_exhaustive()
    }
}

/// Makes `path` free for a new socket: missing is fine, a stale socket is removed, a live one
/// (EADDRINUSE) or any other file (EEXIST) is refused.
fn prepare_path(path: &Path) -> io::Result<()> {
    let meta = match fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    if !meta.file_type().is_socket() {
        return Err(io::Error::new(
            io::ErrorKind::AlreadyExists,
            format!("{} exists and is not a socket", path.display()),
        ));
    }
    match UnixStream::connect(path) {
        Ok(_) => Err(io::Error::new(
            io::ErrorKind::AddrInUse,
            format!("a daemon already listens on {}", path.display()),
        )),
        Err(e) if e.kind() == io::ErrorKind::ConnectionRefused => {
            tracing::info!(path = %path.display(), "removing stale control socket");
            fs::remove_file(path)
        }
        Err(e) => Err(e),
    }
}

fn inode(path: &Path) -> Option<(u64, u64)> {
    fs::symlink_metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

impl Server {
    /// Listens on `path` (creating its directory if missing) and serves clients on `handle`'s
    /// stack until [`Server::shutdown`].
    pub fn bind(path: impl AsRef<Path>, handle: StackHandle) -> io::Result<Server> {
        Server::bind_with(path, handle, Limits::default())
    }

    /// [`Server::bind`] with other [`Limits`].
    pub fn bind_with(
        path: impl AsRef<Path>,
        handle: StackHandle,
        limits: Limits,
    ) -> io::Result<Server> {
        let path = path.as_ref().to_path_buf();
        if let Some(dir) = path.parent() {
            if !dir.as_os_str().is_empty() && !dir.exists() {
                fs::create_dir_all(dir)?;
            }
        }
        prepare_path(&path)?;
        let listener = UnixListener::bind(&path)?;
        let inode = inode(&path);
        fs::set_permissions(&path, fs::Permissions::from_mode(0o660))?;
        listener.set_nonblocking(true)?;
        let poll = Poll::new()?;
        poll.registry().register(
            &mut SourceFd(&listener.as_raw_fd()),
            LISTENER,
            Interest::READABLE,
        )?;
        let waker = Waker::new(poll.registry(), WAKE)?;
        let shared = Arc::new(Shared {
            handle,
            limits,
            stop: AtomicBool::new(false),
            sockets: AtomicU64::new(0),
            clients_total: AtomicU64::new(0),
            clients_refused: AtomicU64::new(0),
            sockets_refused: AtomicU64::new(0),
            next_client: AtomicU64::new(1),
            clients: Mutex::new(HashMap::new()),
            idents: Mutex::new(Idents {
                used: HashSet::new(),
                next: 1,
            }),
            tokens: Mutex::new(HashMap::new()),
            token_keys: std::collections::hash_map::RandomState::new(),
            next_token: AtomicU64::new(1),
        });
        let s = shared.clone();
        let thread = std::thread::Builder::new()
            .name("linnet-ctl".into())
            .spawn(move || accept_loop(&s, &listener, poll))?;
        tracing::info!(path = %path.display(), version = PROTOCOL_VERSION, "control socket listening");
        Ok(Server {
            path,
            inode,
            shared,
            waker,
            thread: Some(thread),
        })
    }

    /// The socket's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The server's counters (sockets open through it, clients).
    pub fn stats(&self) -> DaemonStats {
        stats(&self.shared)
    }

    /// Stops listening, ends every connection (closing its sockets), joins the threads and
    /// removes the socket file.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.shared.stop.store(true, Ordering::Release);
        if let Err(e) = self.waker.wake() {
            tracing::warn!(error = %e, "cannot wake the control listener");
        }
        let _ = thread.join();
        let clients: Vec<ClientEntry> = self.shared.clients().drain().map(|(_, c)| c).collect();
        for c in &clients {
            let _ = c.stream.shutdown(std::net::Shutdown::Both);
        }
        for mut c in clients {
            if let Some(t) = c.thread.take() {
                let _ = t.join();
            }
        }
        if self.inode.is_some() && inode(&self.path) == self.inode {
            if let Err(e) = fs::remove_file(&self.path) {
                tracing::warn!(path = %self.path.display(), error = %e, "cannot remove control socket");
            }
        }
        tracing::info!(path = %self.path.display(), "control socket closed");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.stop();
    }
}

fn stats(shared: &Shared) -> DaemonStats {
    DaemonStats {
        sockets: shared.sockets.load(Ordering::Relaxed),
        clients: shared.clients().len() as u64,
        clients_total: shared.clients_total.load(Ordering::Relaxed),
        clients_refused: shared.clients_refused.load(Ordering::Relaxed),
        sockets_refused: shared.sockets_refused.load(Ordering::Relaxed),
        pings_evicted: shared.handle.pings_evicted(),
    }
}

/// One wait of a `mio` thread that a stop flag ends (the control listener's, and the remote
/// doors' reactor): `poll` for `timeout`, again on EINTR. `false` when the thread should
/// end: the poll failed (logged as `what`) or `stop` is set.
pub(crate) fn wait_events(
    poll: &mut Poll,
    events: &mut Events,
    timeout: Option<Duration>,
    stop: &AtomicBool,
    what: &str,
) -> bool {
    loop {
        match poll.poll(events, timeout) {
            Ok(()) => return !stop.load(Ordering::Acquire),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => {
                tracing::error!(error = %e, "{what}");
                return false;
            }
        }
    }
}

fn accept_loop(shared: &Arc<Shared>, listener: &UnixListener, mut poll: Poll) {
    let mut events = Events::with_capacity(8);
    let mut timeout = None;
    let mut retrying = false;
    loop {
        let what = "control listener poll failed; no new clients";
        if !wait_events(&mut poll, &mut events, timeout.take(), &shared.stop, what) {
            return;
        }
        loop {
            match listener.accept() {
                Ok((stream, _)) => {
                    retrying = false;
                    shared.spawn_client(stream)
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if accept_must_retry(&e) => {
                    // The connection stays queued, and no new edge comes for it: retry soon.
                    if !retrying {
                        tracing::warn!(error = %e, "control accept failed; retrying");
                    }
                    retrying = true;
                    timeout = Some(ACCEPT_RETRY);
                    break;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "control accept failed");
                    break;
                }
            }
        }
    }
}

/// A socket of the stack opened through the server, held by every connection that has it
/// in its table (`struct file`'s reference count): closed (`sys_close`, then the server's
/// count drops, so a count back at its baseline means the sockets really are gone) when the
/// last holder lets it go.
struct SysSock {
    id: SocketId,
    token: u64,
    shared: Arc<Shared>,
}

impl Drop for SysSock {
    fn drop(&mut self) {
        let id = self.id;
        let _ = self.shared.handle.with_stack(|s| s.sys_close(id));
        self.shared.tokens().remove(&self.token);
        self.shared.sockets.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The errno of the internal answer that means "the client hung up while its call
/// waited: drop the connection without answering" (no Linux errno is negative).
const HANGUP: i32 = -1;

/// Why a blocking call stopped waiting.
enum WaitEnd {
    TimedOut,
    /// The client hung up: drop the connection without answering.
    Hangup,
    /// The runtime or the server is stopping.
    Shutdown,
}

/// What to do after a request.
enum Outcome {
    Reply(Response),
    Hangup,
}

fn error(errno: i32, message: impl Into<String>) -> Response {
    Response::Error {
        errno,
        message: message.into(),
    }
}

/// An error response from a stack errno, prefixed with the call's name (`bind: Address
/// already in use`).
fn errno_response(call: &str, e: Errno) -> Response {
    error(e.code(), format!("{call}: {}", strerror(e.code())))
}

fn io_response(call: &str, e: &io::Error) -> Response {
    let errno = e.raw_os_error().unwrap_or(libc::EIO);
    error(errno, format!("{call}: {}", strerror(errno)))
}

/// Fills `buf` from `stream` unless the stream ends first; returns the bytes read. With a
/// `deadline`, waits no longer than it (then `TimedOut`); without, for ever.
fn read_by(
    stream: &mut UnixStream,
    buf: &mut [u8],
    deadline: Option<Instant>,
) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        let wait = match deadline {
            None => None,
            Some(d) => {
                let left = d.saturating_duration_since(Instant::now());
                if left.is_zero() {
                    return Err(io::ErrorKind::TimedOut.into());
                }
                Some(left)
            }
        };
        stream.set_read_timeout(wait)?;
        match stream.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            // A timeout shows as EAGAIN; the deadline check above ends the wait.
            Err(e)
                if matches!(
                    e.kind(),
                    io::ErrorKind::Interrupted
                        | io::ErrorKind::WouldBlock
                        | io::ErrorKind::TimedOut
                ) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// The wire form of `a` with the connection's own identifier `ident` put back.
fn with_ident(a: PingAnswer, ident: u16) -> PingAnswer {
    match a {
        PingAnswer::Reply {
            from,
            seq,
            len,
            ttl,
            ..
        } => PingAnswer::Reply {
            from,
            ident,
            seq,
            len,
            ttl,
        },
        PingAnswer::Error {
            from,
            msg_type,
            code,
            seq,
            ..
        } => PingAnswer::Error {
            from,
            msg_type,
            code,
            ident,
            seq,
        },
    }
}

fn event_ident(ev: &linnet_core::PingEvent) -> u16 {
    PingAnswer::from(*ev).ident()
}

struct Conn {
    shared: Arc<Shared>,
    stream: UnixStream,
    socks: BTreeMap<SockId, Arc<SysSock>>,
    /// Ids closed below `next_id`, lowest first.
    free_ids: BinaryHeap<Reverse<SockId>>,
    /// The lowest id never handed out.
    next_id: SockId,
    /// The connection's echo identifiers and the wire identifiers they are sent under.
    idents: HashMap<u16, u16>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if self.idents.is_empty() {
            return;
        }
        let wire: HashSet<u16> = self.idents.values().copied().collect();
        // Answers still queued for this connection are nobody's now.
        self.shared.handle.with_inner(|inner| {
            inner
                .pings
                .retain(|(ev, _)| !wire.contains(&event_ident(ev)))
        });
        self.shared.idents().used.retain(|w| !wire.contains(w));
    }
}

/// A blocking socket call of a connection waits in slices ([`Conn::wait_sliced`]): the
/// same calls as the kernel-style door ([`sockcall`]), ended early by a hang-up.
impl Waiter for Conn {
    fn net(&self) -> &StackHandle {
        &self.shared.handle
    }

    fn wait<T>(
        &self,
        timeout: Option<Duration>,
        mut f: impl FnMut(&mut Stack) -> Option<T>,
    ) -> Result<T, End> {
        let deadline = timeout.map(|t| Instant::now() + t);
        self.wait_sliced(deadline, |inner| f(&mut inner.stack))
            .map_err(|e| match e {
                WaitEnd::TimedOut => End::TimedOut,
                WaitEnd::Hangup => End::Hangup,
                WaitEnd::Shutdown => End::Shutdown,
            })
    }
}

/// A `struct sockaddr` from the request's bytes (EINVAL past 128 bytes).
fn sockaddr(call: &str, bytes: &[u8]) -> Result<SockAddr, Response> {
    SockAddr::from_bytes(bytes).map_err(|e| errno_response(call, e))
}

impl Conn {
    /// A blocking call's result: its errno as an error response, a hang-up as
    /// [`Outcome::Hangup`] (through [`Hangup`]).
    fn call<T>(&self, name: &str, r: Result<T, CallErr>) -> Result<T, Response> {
        match r {
            Ok(v) => Ok(v),
            Err(CallErr::Errno(e)) => Err(errno_response(name, e)),
            Err(CallErr::Hangup) => Err(Response::Error {
                errno: HANGUP,
                message: String::new(),
            }),
        }
    }

    /// Reads one request. The Hello (`hello`) must come whole within the read timeout; later,
    /// the wait for a frame's length is unbounded, and the rest must follow within it.
    fn read_request(&mut self, hello: bool) -> Result<Request, FrameError> {
        let timeout = self.shared.limits.read_timeout;
        let deadline = hello.then(|| Instant::now() + timeout);
        let mut len = [0u8; 4];
        match read_by(&mut self.stream, &mut len, deadline).map_err(FrameError::Io)? {
            0 => return Err(FrameError::Closed),
            4 => {}
            _ => return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into())),
        }
        let n = u32::from_be_bytes(len) as usize;
        if n > MAX_FRAME {
            return Err(FrameError::TooLarge(n));
        }
        let deadline = deadline.unwrap_or_else(|| Instant::now() + timeout);
        let mut buf = vec![0u8; n];
        if read_by(&mut self.stream, &mut buf, Some(deadline)).map_err(FrameError::Io)? < n {
            return Err(FrameError::Io(io::ErrorKind::UnexpectedEof.into()));
        }
        decode_frame(&buf)
    }

    fn send(&mut self, resp: &Response) -> bool {
        match write_frame(&mut self.stream, resp) {
            Ok(()) => true,
            Err(e) => {
                tracing::debug!(error = %e, "control client write failed");
                false
            }
        }
    }

    fn serve(mut self) {
        // A client that stops reading its answers must not hold this thread for ever.
        if let Err(e) = self
            .stream
            .set_write_timeout(Some(self.shared.limits.read_timeout))
        {
            tracing::debug!(error = %e, "control client dropped");
            return;
        }
        match self.read_request(true) {
            Ok(Request::Hello { version }) if version == PROTOCOL_VERSION => {
                if !self.send(&Response::Hello {
                    version: PROTOCOL_VERSION,
                }) {
                    return;
                }
            }
            Ok(Request::Hello { version }) => {
                tracing::info!(
                    client = version,
                    daemon = PROTOCOL_VERSION,
                    "version mismatch"
                );
                self.send(&error(
                    libc::EPROTONOSUPPORT,
                    format!(
                        "protocol version mismatch: client speaks {version}, daemon speaks \
                         {PROTOCOL_VERSION}"
                    ),
                ));
                return;
            }
            Ok(_) | Err(FrameError::Decode(_)) => {
                self.send(&error(libc::EPROTO, "expected Hello as the first message"));
                return;
            }
            Err(e @ FrameError::Trailing(_)) => {
                self.send(&error(libc::EINVAL, e.to_string()));
                return;
            }
            Err(e) => {
                self.frame_error(e);
                return;
            }
        }
        loop {
            let req = match self.read_request(false) {
                Ok(r) => r,
                Err(FrameError::Decode(e)) => {
                    if self.send(&error(libc::EBADMSG, format!("malformed request: {e}"))) {
                        continue;
                    }
                    return;
                }
                Err(e @ FrameError::Trailing(_)) => {
                    if self.send(&error(libc::EINVAL, e.to_string())) {
                        continue;
                    }
                    return;
                }
                Err(e) => {
                    self.frame_error(e);
                    return;
                }
            };
            match self.handle(req) {
                Outcome::Reply(r) => {
                    if !self.send(&r) {
                        return;
                    }
                }
                Outcome::Hangup => return,
            }
        }
    }

    fn frame_error(&mut self, e: FrameError) {
        match e {
            FrameError::TooLarge(_) => {
                tracing::warn!(error = %e, "control client refused");
                self.send(&error(libc::EMSGSIZE, e.to_string()));
            }
            FrameError::Closed => {}
            e => tracing::debug!(error = %e, "control client read failed"),
        }
    }

    /// True once the client closed its end (or it failed). Data waiting (a client that sent
    /// its next request early) is not a hangup.
    fn peer_gone(&self) -> bool {
        let mut b = [0u8; 1];
        match nix::sys::socket::recv(
            self.stream.as_raw_fd(),
            &mut b,
            MsgFlags::MSG_PEEK | MsgFlags::MSG_DONTWAIT,
        ) {
            Ok(0) => true,
            Ok(_) => false,
            Err(nix::errno::Errno::EAGAIN) | Err(nix::errno::Errno::EINTR) => false,
            Err(_) => true,
        }
    }

    /// Waits for `f` to return `Some` (re-run on stack events) until `deadline`, looking at
    /// the client and the server between slices.
    fn wait_sliced<T>(
        &self,
        deadline: Option<Instant>,
        mut f: impl FnMut(&mut Inner) -> Option<T>,
    ) -> Result<T, WaitEnd> {
        loop {
            let now = Instant::now();
            let end = match deadline {
                Some(d) if d <= now + SLICE => d,
                _ => now + SLICE,
            };
            match self.shared.handle.wait_inner(Some(end), &mut f) {
                Ok(v) => return Ok(v),
                Err(WaitError::Shutdown) => return Err(WaitEnd::Shutdown),
                Err(WaitError::TimedOut) => {
                    if deadline.is_some_and(|d| Instant::now() >= d) {
                        return Err(WaitEnd::TimedOut);
                    }
                    if self.peer_gone() {
                        return Err(WaitEnd::Hangup);
                    }
                    if self.shared.stop.load(Ordering::Acquire) {
                        return Err(WaitEnd::Shutdown);
                    }
                }
            }
        }
    }

    fn sock(&self, id: SockId) -> Result<SocketId, Response> {
        self.socks
            .get(&id)
            .map(|s| s.id)
            .ok_or_else(|| error(libc::EBADF, format!("socket {id}: Bad file descriptor")))
    }

    /// EMFILE (counted) when the connection holds all the sockets it may.
    fn check_room(&self) -> Result<(), Response> {
        if self.socks.len() >= self.shared.limits.max_sockets {
            self.shared.sockets_refused.fetch_add(1, Ordering::Relaxed);
            return Err(error(libc::EMFILE, "socket: Too many open files"));
        }
        Ok(())
    }

    /// Opens `id` (a socket of the stack just created or accepted) as a socket of the
    /// server, held by this connection; EMFILE (closing it) past the connection's limit.
    fn insert_new(&mut self, id: SocketId) -> Result<SockId, Response> {
        self.shared.sockets.fetch_add(1, Ordering::Relaxed);
        let token = self.shared.new_token();
        let sock = Arc::new(SysSock {
            id,
            token,
            shared: self.shared.clone(),
        });
        self.shared.tokens().insert(token, Arc::downgrade(&sock));
        self.insert(sock)
    }

    /// Adds `sock` under the lowest free id; EMFILE (dropping this hold of `sock`) when the
    /// connection holds its limit. Every id below `next_id` is in use or in `free_ids`, so
    /// the lowest free one is the heap's least, else `next_id`.
    fn insert(&mut self, sock: Arc<SysSock>) -> Result<SockId, Response> {
        self.check_room()?;
        let id = match self.free_ids.pop() {
            Some(Reverse(id)) => id,
            None => {
                let id = self.next_id;
                self.next_id += 1;
                id
            }
        };
        self.socks.insert(id, sock);
        Ok(id)
    }

    /// The wire identifier the connection's echo identifier `ident` is sent under, given on
    /// first use: ENOBUFS past the connection's limit, EAGAIN if none is free.
    fn wire_ident(&mut self, ident: u16) -> Result<u16, Response> {
        if let Some(&w) = self.idents.get(&ident) {
            return Ok(w);
        }
        if self.idents.len() >= self.shared.limits.max_ping_idents {
            return Err(error(
                libc::ENOBUFS,
                "ping: too many echo identifiers on this connection",
            ));
        }
        let w = self
            .shared
            .alloc_ident()
            .ok_or_else(|| error(libc::EAGAIN, "ping: no free echo identifier"))?;
        // Late answers to its last owner are not this connection's.
        self.shared
            .handle
            .with_inner(|inner| inner.pings.retain(|(ev, _)| event_ident(ev) != w));
        self.idents.insert(ident, w);
        Ok(w)
    }

    fn handle(&mut self, req: Request) -> Outcome {
        match self.handle_inner(req) {
            Ok(o) => o,
            Err(Response::Error { errno: HANGUP, .. }) => Outcome::Hangup,
            Err(r) => Outcome::Reply(r),
        }
    }

    fn handle_inner(&mut self, req: Request) -> Result<Outcome, Response> {
        let handle = self.shared.handle.clone();
        let reply = match req {
            Request::Hello { .. } => error(libc::EISCONN, "hello: already greeted"),
            Request::Ctl(c) => {
                let mut r = handle.with_stack(|s| s.ctl(&c));
                if let linnet_core::ctl::CtlResponse::Links(links) = &mut r {
                    fold_driver_stats(&handle, links);
                }
                Response::Ctl(r)
            }
            Request::Stats => Response::Stats(stats(&self.shared)),
            Request::Socket {
                family,
                ty,
                protocol,
                kern,
            } => {
                let id = handle
                    .with_stack(|s| {
                        if kern {
                            s.sock_create_kern(family, ty, protocol)
                        } else {
                            s.sys_socket(family, ty, protocol)
                        }
                    })
                    .map_err(|e| errno_response("socket", e))?;
                Response::Socket {
                    id: self.insert_new(id)?,
                }
            }
            Request::Bind { id, addr } => {
                let sk = self.sock(id)?;
                let a = sockaddr("bind", &addr)?;
                handle
                    .with_stack(|s| s.sys_bind(sk, &a))
                    .map_err(|e| errno_response("bind", e))?;
                Response::Ok
            }
            Request::Connect { id, addr } => {
                let sk = self.sock(id)?;
                let a = sockaddr("connect", &addr)?;
                let nonblock = sockcall::nonblocking(&handle, sk);
                self.call("connect", sockcall::connect(self, sk, &a, nonblock))?;
                Response::Ok
            }
            Request::Listen { id, backlog } => {
                let sk = self.sock(id)?;
                handle
                    .with_stack(|s| s.sys_listen(sk, backlog))
                    .map_err(|e| errno_response("listen", e))?;
                Response::Ok
            }
            Request::Accept { id, flags } => {
                let sk = self.sock(id)?;
                // `__sys_accept4` takes the descriptor before the connection: EMFILE
                // leaves the connection queued.
                self.check_room()?;
                let nonblock = sockcall::nonblocking(&handle, sk);
                let (child, peer) =
                    self.call("accept", sockcall::accept(self, sk, flags, nonblock))?;
                Response::Accepted {
                    id: self.insert_new(child)?,
                    peer,
                }
            }
            Request::GetSockName { id } => {
                let sk = self.sock(id)?;
                Response::Addr(
                    handle
                        .inspect(|s| s.sys_getsockname(sk))
                        .map_err(|e| errno_response("getsockname", e))?,
                )
            }
            Request::GetPeerName { id } => {
                let sk = self.sock(id)?;
                Response::Addr(
                    handle
                        .inspect(|s| s.sys_getpeername(sk))
                        .map_err(|e| errno_response("getpeername", e))?,
                )
            }
            Request::Shutdown { id, how } => {
                let sk = self.sock(id)?;
                handle
                    .with_stack(|s| s.sys_shutdown(sk, how))
                    .map_err(|e| errno_response("shutdown", e))?;
                Response::Ok
            }
            Request::SendMsg {
                id,
                data,
                flags,
                to,
            } => {
                let sk = self.sock(id)?;
                let to = to.map(|a| sockaddr("sendmsg", &a)).transpose()?;
                let n = self.call(
                    "sendmsg",
                    sockcall::sendmsg(self, sk, &data, flags, to.as_ref()),
                )?;
                Response::Sent {
                    len: u32::try_from(n).unwrap_or(u32::MAX),
                }
            }
            Request::RecvMsg {
                id,
                flags,
                max,
                controllen,
            } => {
                let sk = self.sock(id)?;
                let mut buf = vec![0u8; (max as usize).min(MAX_IO)];
                let controllen = (controllen as usize).min(MAX_CONTROL);
                let mut cmsgs = CmsgBuf::new();
                let r = self.call(
                    "recvmsg",
                    sockcall::recvmsg(self, sk, &mut buf, flags, Some(&mut cmsgs)),
                )?;
                buf.truncate(r.copied);
                let mut control = vec![0u8; controllen];
                let (clen, cflags) = cmsgs.encode(&mut control);
                control.truncate(clen);
                Response::Msg {
                    data: buf,
                    len: u32::try_from(r.ret).unwrap_or(u32::MAX),
                    from: r.from,
                    flags: r.flags | cflags,
                    control,
                }
            }
            Request::SetSockOpt {
                id,
                level,
                optname,
                value,
            } => {
                let sk = self.sock(id)?;
                handle
                    .with_stack(|s| s.sys_setsockopt(sk, level, optname, &value))
                    .map_err(|e| errno_response("setsockopt", e))?;
                Response::Ok
            }
            Request::GetSockOpt {
                id,
                level,
                optname,
                optlen,
            } => {
                let sk = self.sock(id)?;
                let mut buf = vec![0u8; (optlen as usize).min(MAX_CONTROL)];
                let n = handle
                    .with_stack(|s| s.sys_getsockopt(sk, level, optname, &mut buf))
                    .map_err(|e| errno_response("getsockopt", e))?;
                buf.truncate(n);
                Response::Opt(buf)
            }
            Request::SetNonblock { id, on } => {
                let sk = self.sock(id)?;
                handle
                    .with_stack(|s| s.sock_set_nonblock(sk, on))
                    .map_err(|e| errno_response("fcntl", e))?;
                Response::Ok
            }
            Request::Poll {
                id,
                events,
                timeout_ms,
            } => {
                // poll() reports a descriptor that is not open as POLLNVAL, not an error.
                let Ok(sk) = self.sock(id) else {
                    return Ok(Outcome::Reply(Response::Poll {
                        revents: PollMask::POLLNVAL.0,
                    }));
                };
                let t = timeout_ms.map(|ms| Duration::from_millis(ms.into()));
                let m = self.call("poll", sockcall::poll(self, sk, PollMask(events), t))?;
                Response::Poll { revents: m.0 }
            }
            Request::Close { id } => {
                self.sock(id)?;
                self.socks.remove(&id);
                self.free_ids.push(Reverse(id));
                Response::Ok
            }
            Request::Dup { id } => {
                self.sock(id)?;
                Response::Token(self.socks.get(&id).map_or(0, |s| s.token))
            }
            Request::Attach { token } => {
                let sock = self
                    .shared
                    .tokens()
                    .get(&token)
                    .and_then(Weak::upgrade)
                    .ok_or_else(|| error(libc::EBADF, "attach: no open socket has this token"))?;
                Response::Socket {
                    id: self.insert(sock)?,
                }
            }
            Request::Ping {
                dst,
                ident,
                seq,
                ttl,
                payload,
                timeout_ms,
            } => {
                let wire = self.wire_ident(ident)?;
                let sent = crate::ping_send(&handle, dst, wire, seq, ttl, &payload)
                    .map_err(|e| io_response("ping", &e))?;
                let deadline = Instant::now() + Duration::from_millis(timeout_ms.into());
                let r = self.wait_sliced(Some(deadline), |inner| {
                    let i = inner.pings.iter().position(|(ev, _)| {
                        let a = PingAnswer::from(*ev);
                        (a.ident(), a.seq()) == (wire, seq)
                    })?;
                    inner.pings.remove(i)
                });
                match r {
                    Ok((ev, at)) => Response::Ping {
                        answer: Some(with_ident(ev.into(), ident)),
                        rtt_ns: at.saturating_since(sent).as_nanos() as u64,
                    },
                    Err(WaitEnd::TimedOut) => Response::Ping {
                        answer: None,
                        rtt_ns: 0,
                    },
                    Err(WaitEnd::Hangup) => return Ok(Outcome::Hangup),
                    Err(WaitEnd::Shutdown) => error(libc::ENETDOWN, "ping: Network is down"),
                }
            }
            Request::PingSend {
                dst,
                ident,
                seq,
                ttl,
                payload,
            } => {
                let wire = self.wire_ident(ident)?;
                let at = crate::ping_send(&handle, dst, wire, seq, ttl, &payload)
                    .map_err(|e| io_response("ping", &e))?;
                Response::PingSent {
                    at_ns: at.as_nanos(),
                }
            }
            Request::SockDiag { req, cursor } => {
                let (msgs, next) =
                    handle.inspect(|s| s.inet_diag_dump(&req, cursor, super::proto::DIAG_PAGE));
                Response::SockDiag { msgs, next }
            }
            Request::PingRecv { ident, timeout_ms } => {
                #[cfg(test)]
                if (ident, timeout_ms) == tests::PANIC_PING_RECV {
                    panic!("test: a client thread panics");
                }
                // An identifier this connection never sent under has no answers coming.
                let wire = self.idents.get(&ident).copied();
                let deadline = Instant::now() + Duration::from_millis(timeout_ms.into());
                let r = self.wait_sliced(Some(deadline), |inner| {
                    let i = inner
                        .pings
                        .iter()
                        .position(|(ev, _)| Some(event_ident(ev)) == wire)?;
                    inner.pings.remove(i)
                });
                match r {
                    Ok((ev, at)) => Response::PingAnswer {
                        answer: with_ident(ev.into(), ident),
                        at_ns: at.as_nanos(),
                    },
                    Err(WaitEnd::TimedOut) => error(libc::ETIMEDOUT, "ping: no answer"),
                    Err(WaitEnd::Hangup) => return Ok(Outcome::Hangup),
                    Err(WaitEnd::Shutdown) => error(libc::ENETDOWN, "ping: Network is down"),
                }
            }
        };
        Ok(Outcome::Reply(reply))
    }
}

/// Adds what only the driver saw (failed reads, frames it could not send) to the device
/// counters, as a Linux driver counts them into `rtnl_link_stats64`, so `ip -s link` shows
/// them.
fn fold_driver_stats(handle: &StackHandle, links: &mut [linnet_core::ctl::LinkInfo]) {
    for l in links {
        if let Some(d) = handle.driver_stats(linnet_core::IfIndex(l.ifindex)) {
            l.stats.rx_errors += d.rx_errors;
            l.stats.tx_dropped += d.tx_dropped;
            l.stats.tx_errors += d.tx_errors;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::control::Client;
    use crate::Runtime;
    use linnet_core::{Stack, StackConfig};

    /// The `PingRecv` that makes a client thread panic in test builds.
    pub(super) const PANIC_PING_RECV: (u16, u32) = (0xdead, 0xdead_beef);

    #[test]
    fn a_client_thread_that_panics_still_closes_its_sockets_and_leaves_the_table() {
        let rt = Runtime::new(Stack::new(StackConfig::default(), 1)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let server = Server::bind(dir.path().join("ctl.sock"), rt.handle().clone()).unwrap();
        let mut c = Client::connect(server.path()).unwrap();
        c.udp_socket().unwrap();
        c.tcp_socket().unwrap();
        assert_eq!((server.stats().sockets, server.stats().clients), (2, 1));
        let (ident, timeout_ms) = PANIC_PING_RECV;
        assert!(c.call(&Request::PingRecv { ident, timeout_ms }).is_err());
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let s = server.stats();
            if (s.sockets, s.clients) == (0, 0) {
                break;
            }
            assert!(Instant::now() < deadline, "stuck at {s:?}");
            std::thread::sleep(Duration::from_millis(10));
        }
        // The server still serves.
        let mut c = Client::connect(server.path()).unwrap();
        assert_eq!(c.udp_socket().unwrap(), 3);
    }

    #[test]
    fn accept_retries_on_a_timer_only_for_want_of_resources() {
        for e in [libc::EMFILE, libc::ENFILE, libc::ENOBUFS, libc::ENOMEM] {
            assert!(accept_must_retry(&io::Error::from_raw_os_error(e)));
        }
        assert!(!accept_must_retry(&io::Error::from_raw_os_error(
            libc::ECONNABORTED
        )));
        assert!(!accept_must_retry(&io::ErrorKind::WouldBlock.into()));
    }

    #[test]
    fn wire_idents_are_unique_and_wrap() {
        let rt = Runtime::new(Stack::new(StackConfig::default(), 1)).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let server = Server::bind(dir.path().join("ctl.sock"), rt.handle().clone()).unwrap();
        let shared = &server.shared;
        shared.idents().next = u16::MAX;
        shared.idents().used.insert(0);
        assert_eq!(shared.alloc_ident(), Some(u16::MAX));
        assert_eq!(shared.alloc_ident(), Some(1));
        shared.idents().used.extend(0..=u16::MAX);
        assert_eq!(shared.alloc_ident(), None);
    }
}

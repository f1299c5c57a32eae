//! The async front door (`linnet::tokio`) across two runtimes joined by an in-memory link,
//! under tokio's multi-thread runtime: many connections moving data both ways at once,
//! errors with Linux's errno, end of stream and resets, UDP echo, cancellation, and the
//! wake-up discipline of the socket wait queues (a counting waker). Needs no root.
//!
//! Linux: the behaviour of two hosts on a veth pair seen through non-blocking sockets and
//! epoll (net/ipv4/tcp.c `tcp_poll`, net/core/sock.c `sock_def_readable`,
//! fs/eventpoll.c).
//! RFCs: RFC 9293, RFC 768.
#![cfg(feature = "tokio")]

use std::future::Future;
use std::hash::Hasher;
use std::io;
use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};
use std::pin::pin;
use std::sync::{Arc, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use linnet::core::{DeviceKind, Stack, StackConfig, TcpState};
use linnet::tokio::{TcpListener, TcpStream, UdpSocket};
use linnet::wire::ipv4::Ipv4Cidr;
use linnet::wire::EthernetAddress;
use linnet::{MemoryDevice, Runtime};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadBuf};

const A_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const B_IP: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 2);
/// Generous: only reached when something is broken (a lost wake-up hangs a test here).
const WAIT: Duration = Duration::from_secs(60);

fn two_hosts() -> (Runtime, Runtime) {
    two_hosts_with(StackConfig::default())
}

fn two_hosts_with(cfg: StackConfig) -> (Runtime, Runtime) {
    let (a, b) = MemoryDevice::pair(
        "veth0",
        DeviceKind::Ethernet {
            mac: EthernetAddress([2, 0, 0, 0, 0, 1]),
        },
        "veth1",
        DeviceKind::Ethernet {
            mac: EthernetAddress([2, 0, 0, 0, 0, 2]),
        },
    );
    let host = |dev, ip, seed| {
        let rt = Runtime::new(Stack::new(cfg.clone(), seed)).unwrap();
        let idx = rt.add_device(dev).unwrap();
        rt.with_stack(|s| {
            s.set_up(idx, true).unwrap();
            s.add_addr(idx, Ipv4Cidr::new(ip, 24).unwrap()).unwrap();
        });
        rt
    };
    (host(a, A_IP, 11), host(b, B_IP, 12))
}

fn sa(ip: Ipv4Addr, port: u16) -> SocketAddr {
    SocketAddr::V4(SocketAddrV4::new(ip, port))
}

fn tokio_rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_time()
        .build()
        .unwrap()
}

/// Runs `f` on a multi-thread tokio runtime, failing the test if it takes longer than
/// [`WAIT`] (a lost wake-up).
fn run<F: Future>(f: F) -> F::Output {
    tokio_rt().block_on(async {
        tokio::time::timeout(WAIT, f)
            .await
            .expect("test timed out: a task was never woken")
    })
}

/// Deterministic bytes: `len` of them from `seed`.
fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect()
}

fn hash(b: &[u8]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    h.write(b);
    h.finish()
}

/// Writes `data` in uneven chunks, then shuts down writing; reads to end of stream at the
/// same time. Returns what was read.
async fn exchange(s: TcpStream, data: Vec<u8>) -> Vec<u8> {
    let (mut r, mut w) = s.into_split();
    let writer = tokio::spawn(async move {
        let mut off = 0;
        let mut chunk = 700;
        while off < data.len() {
            let end = (off + chunk).min(data.len());
            w.write_all(&data[off..end]).await.unwrap();
            off = end;
            chunk = chunk * 7 % 40_000 + 1;
        }
        w.shutdown().await.unwrap();
    });
    let mut got = Vec::new();
    r.read_to_end(&mut got).await.unwrap();
    writer.await.unwrap();
    got
}

#[test]
fn sixty_four_connections_move_256_kib_each_way_concurrently() {
    const CONNS: usize = 64;
    const LEN: usize = 256 * 1024;
    let (ra, rb) = two_hosts();
    let (ha, hb) = (ra.handle().clone(), rb.handle().clone());
    run(async move {
        let listener = TcpListener::bind(&hb, sa(B_IP, 5001)).await.unwrap();
        // The accept loop is a task; each accepted connection gets its own task, which
        // learns which client it serves from the first 8 bytes.
        let server = tokio::spawn(async move {
            let mut conns = Vec::new();
            for _ in 0..CONNS {
                let (mut s, peer) = listener.accept().await.unwrap();
                assert_eq!(peer.ip(), A_IP);
                conns.push(tokio::spawn(async move {
                    let mut id = [0u8; 8];
                    s.read_exact(&mut id).await.unwrap();
                    let i = u64::from_be_bytes(id);
                    let got = exchange(s, pattern(LEN, 1000 + i)).await;
                    assert_eq!(got.len(), LEN, "conn {i}");
                    assert_eq!(hash(&got), hash(&pattern(LEN, i)), "conn {i}");
                }));
            }
            for c in conns {
                c.await.unwrap();
            }
        });
        let mut clients = Vec::new();
        for i in 0..CONNS as u64 {
            let ha = ha.clone();
            clients.push(tokio::spawn(async move {
                let mut s = TcpStream::connect(&ha, sa(B_IP, 5001)).await.unwrap();
                assert_eq!(s.state().unwrap(), TcpState::Established);
                s.write_all(&i.to_be_bytes()).await.unwrap();
                let got = exchange(s, pattern(LEN, i)).await;
                assert_eq!(got.len(), LEN, "conn {i}");
                assert_eq!(hash(&got), hash(&pattern(LEN, 1000 + i)), "conn {i}");
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
    // Nothing is left waiting, and nothing overflowed.
    for h in [ra.handle(), rb.handle()] {
        let w = h.waiter_stats();
        assert_eq!(w.registered, 0, "{w:?}");
        assert_eq!(w.overflow, 0, "{w:?}");
        assert!(w.woken > 0, "{w:?}");
    }
}

#[test]
fn connect_errors_carry_linux_errno() {
    let (ra, _rb) = two_hosts();
    let h = ra.handle().clone();
    run(async move {
        let e = TcpStream::connect(&h, sa(B_IP, 9)).await.unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED), "{e}");
        assert_eq!(e.kind(), io::ErrorKind::ConnectionRefused);
        let v6: SocketAddr = "[::1]:9".parse().unwrap();
        let e = TcpStream::connect(&h, v6).await.unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EAFNOSUPPORT));
        let e = TcpStream::connect(&h, sa(Ipv4Addr::new(192, 0, 2, 1), 80))
            .await
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENETUNREACH), "{e}");
        // A connect abandoned by the caller's timeout (nobody has 10.0.0.3): the
        // half-open socket is closed with the dropped future.
        let slow = TcpStream::connect(&h, sa(Ipv4Addr::new(10, 0, 0, 3), 80));
        assert!(tokio::time::timeout(Duration::from_millis(50), slow)
            .await
            .is_err());
        assert_eq!(h.with_stack(|s| s.tcp_socket_count()), 0);
        assert_eq!(h.waiter_stats().registered, 0);
        let _l = TcpListener::bind(&h, sa(A_IP, 6000)).await.unwrap();
        let e = TcpListener::bind(&h, sa(A_IP, 6000)).await.unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EADDRINUSE));
    });
    // The failed connects' sockets are gone (the listener too) and left no waker.
    assert_eq!(ra.handle().waiter_stats().registered, 0);
    assert_eq!(ra.with_stack(|s| s.tcp_socket_count()), 0);
}

#[test]
fn shutdown_is_end_of_stream_and_writing_after_it_is_epipe() {
    let (ra, rb) = two_hosts();
    let (ha, hb) = (ra.handle().clone(), rb.handle().clone());
    run(async move {
        let l = TcpListener::bind(&hb, sa(B_IP, 7)).await.unwrap();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut req = Vec::new();
            s.read_to_end(&mut req).await.unwrap();
            // Only the peer's writing side is shut: we can still answer.
            s.write_all(&req).await.unwrap();
            s.write_all(b" back").await.unwrap();
            s.shutdown().await.unwrap();
        });
        let mut c = TcpStream::connect(&ha, sa(B_IP, 7)).await.unwrap();
        c.write_all(b"hello").await.unwrap();
        c.shutdown().await.unwrap();
        let e = c.write(b"x").await.unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EPIPE));
        let mut got = String::new();
        c.read_to_string(&mut got).await.unwrap();
        assert_eq!(got, "hello back");
        // End of stream stays end of stream.
        assert_eq!(c.read(&mut [0u8; 8]).await.unwrap(), 0);
        server.await.unwrap();
    });
}

#[test]
fn dropping_a_stream_with_unread_data_resets_the_peer_and_a_clean_drop_is_a_fin() {
    let (ra, rb) = two_hosts();
    let (ha, hb) = (ra.handle().clone(), rb.handle().clone());
    run(async move {
        let l = TcpListener::bind(&hb, sa(B_IP, 80)).await.unwrap();
        // Clean drop: the peer reads end of stream.
        let mut c = TcpStream::connect(&ha, sa(B_IP, 80)).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        drop(s);
        assert_eq!(c.read(&mut [0u8; 8]).await.unwrap(), 0);
        // Unread data at close: Linux sends a RST (tcp_close), the peer's read is
        // ECONNRESET, and the waiting reader task is woken for it.
        let mut c2 = TcpStream::connect(&ha, sa(B_IP, 80)).await.unwrap();
        let (mut s2, _) = l.accept().await.unwrap();
        let reader = tokio::spawn(async move {
            let mut buf = [0u8; 8];
            let first = c2.read(&mut buf).await;
            (first.map(|n| buf[..n].to_vec()), c2)
        });
        s2.write_all(b"ping").await.unwrap();
        let (first, mut c2) = reader.await.unwrap();
        assert_eq!(first.unwrap(), b"ping");
        c2.write_all(b"unread by the server").await.unwrap();
        // Wait until the data sits in the server's receive queue, then drop it unread.
        let h = s2.socket_handle();
        hb.wait_for(Some(WAIT), |s| {
            (s.tcp_rx_queued(h).unwrap_or(0) > 0).then_some(())
        })
        .unwrap();
        drop(s2);
        let e = c2.read(&mut [0u8; 8]).await.unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ECONNRESET), "{e}");
    });
    assert!(rb.with_stack(|s| s.stats().tcp.out_rsts) >= 1);
}

#[test]
fn udp_echo_between_tasks_with_two_receivers_on_one_socket() {
    let (ra, rb) = two_hosts();
    let (ha, hb) = (ra.handle().clone(), rb.handle().clone());
    run(async move {
        let server = Arc::new(UdpSocket::bind(&hb, sa(B_IP, 7)).await.unwrap());
        // Two tasks receive on the same socket: each datagram is echoed exactly once.
        let mut echoers = Vec::new();
        for _ in 0..2 {
            let server = server.clone();
            echoers.push(tokio::spawn(async move {
                let mut n = 0;
                let mut buf = [0u8; 1500];
                loop {
                    let (len, from) = server.recv_from(&mut buf).await.unwrap();
                    if &buf[..len] == b"stop" {
                        return n;
                    }
                    server.send_to(&buf[..len], from).await.unwrap();
                    n += 1;
                }
            }));
        }
        let client = UdpSocket::bind(&ha, sa(A_IP, 0)).await.unwrap();
        client.connect(sa(B_IP, 7)).await.unwrap();
        let mut buf = [0u8; 1500];
        for i in 0..100u32 {
            let msg = i.to_be_bytes();
            client.send(&msg).await.unwrap();
            let (len, from) = client.recv_from(&mut buf).await.unwrap();
            assert_eq!(from, sa(B_IP, 7));
            assert_eq!(&buf[..len], &msg);
        }
        client.send(b"stop").await.unwrap();
        client.send(b"stop").await.unwrap();
        let mut total = 0;
        for e in echoers {
            total += e.await.unwrap();
        }
        assert_eq!(total, 100);
        // A closed port answers ICMP port unreachable: ECONNREFUSED on the connected socket.
        let lone = UdpSocket::bind(&ha, sa(A_IP, 0)).await.unwrap();
        lone.connect(sa(B_IP, 9)).await.unwrap();
        lone.send(b"anyone?").await.unwrap();
        let e = lone.recv(&mut buf).await.unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ECONNREFUSED), "{e}");
    });
}

/// A waker that counts its wake-ups and lets a thread wait for a count.
#[derive(Default)]
struct CountingWaker {
    count: Mutex<usize>,
    cond: Condvar,
}

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *self.count.lock().unwrap() += 1;
        self.cond.notify_all();
    }
}

impl CountingWaker {
    fn count(&self) -> usize {
        *self.count.lock().unwrap()
    }

    /// Blocks until the count reaches `n` (bounded by [`WAIT`]).
    fn wait_for(&self, n: usize) {
        let g = self.count.lock().unwrap();
        let (g, t) = self.cond.wait_timeout_while(g, WAIT, |c| *c < n).unwrap();
        assert!(!t.timed_out(), "woken {} times, wanted {n}", *g);
    }
}

fn poll_read_once(
    s: &mut TcpStream,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>> {
    let mut rb = ReadBuf::new(buf);
    std::pin::Pin::new(s)
        .poll_read(cx, &mut rb)
        .map_ok(|()| rb.filled().len())
}

#[test]
fn a_reader_is_woken_once_when_data_arrives_and_once_for_end_of_stream() {
    let (ra, rb) = two_hosts();
    let (ha, hb) = (ra.handle().clone(), rb.handle().clone());
    let rt = tokio_rt();
    let (mut c, s, mut other_c, other_s) = rt.block_on(async {
        let l = TcpListener::bind(&hb, sa(B_IP, 443)).await.unwrap();
        let c = TcpStream::connect(&ha, sa(B_IP, 443)).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        let oc = TcpStream::connect(&ha, sa(B_IP, 443)).await.unwrap();
        let (os, _) = l.accept().await.unwrap();
        (c, s, oc, os)
    });
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let mut buf = [0u8; 64];
    assert!(poll_read_once(&mut c, &mut cx, &mut buf).is_pending());
    // Polling again replaces the entry rather than adding one.
    assert!(poll_read_once(&mut c, &mut cx, &mut buf).is_pending());
    assert_eq!(ha.waiter_stats().registered, 1);
    assert_eq!(counter.count(), 0);
    // Traffic on another connection wakes nobody here.
    let mut other_s = other_s;
    other_s.set_nodelay(true).unwrap();
    rt.block_on(async {
        other_s.write_all(b"elsewhere").await.unwrap();
        let mut b = [0u8; 9];
        other_c.read_exact(&mut b).await.unwrap();
    });
    assert_eq!(counter.count(), 0);
    // Data: exactly one wake-up, even though more data comes before the task polls.
    let mut s = s;
    rt.block_on(async { s.write_all(b"one").await.unwrap() });
    counter.wait_for(1);
    // "two" goes out at once (no Nagle), then a marker on the other connection; the link
    // keeps order, so once the marker is read "two" sits in `c`'s receive queue.
    s.set_nodelay(true).unwrap();
    rt.block_on(async {
        s.write_all(b"two").await.unwrap();
        other_s.write_all(b"m").await.unwrap();
        other_c.read_exact(&mut [0u8; 1]).await.unwrap();
    });
    let h = c.socket_handle();
    assert_eq!(ha.inspect(|st| st.tcp_rx_queued(h)), Ok(6));
    assert_eq!(counter.count(), 1);
    assert_eq!(ha.waiter_stats().registered, 0);
    match poll_read_once(&mut c, &mut cx, &mut buf) {
        Poll::Ready(Ok(n)) => assert_eq!(&buf[..n], b"onetwo"),
        other => panic!("{other:?}"),
    }
    // Nothing left: pending again, and the peer's FIN is one more wake-up, then EOF.
    assert!(poll_read_once(&mut c, &mut cx, &mut buf).is_pending());
    rt.block_on(async { s.shutdown().await.unwrap() });
    counter.wait_for(2);
    assert!(matches!(
        poll_read_once(&mut c, &mut cx, &mut buf),
        Poll::Ready(Ok(0))
    ));
    assert_eq!(counter.count(), 2);
    assert_eq!(ha.waiter_stats().registered, 0);
}

#[test]
fn cancelled_accept_and_read_lose_nothing_and_leak_no_waker() {
    let (ra, rb) = two_hosts();
    let (ha, hb) = (ra.handle().clone(), rb.handle().clone());
    run(async move {
        let l = TcpListener::bind(&hb, sa(B_IP, 21)).await.unwrap();
        // Many accepts polled once each and dropped while pending.
        let noop = Waker::noop();
        let mut cx = Context::from_waker(noop);
        for _ in 0..100 {
            let fut = pin!(l.accept());
            assert!(fut.poll(&mut cx).is_pending());
        }
        assert_eq!(hb.waiter_stats().registered, 0);
        // An accept cancelled by a timeout.
        let accepting = tokio::time::timeout(Duration::from_millis(1), l.accept()).await;
        assert!(accepting.is_err());
        let mut c = TcpStream::connect(&ha, sa(B_IP, 21)).await.unwrap();
        // The connection was not lost by the cancelled accepts.
        let (mut s, peer) = l.accept().await.unwrap();
        assert_eq!(peer, c.local_addr().unwrap());
        // A read cancelled while pending, then data: the next read gets all of it.
        let mut buf = [0u8; 16];
        {
            let fut = pin!(s.read(&mut buf));
            assert!(fut.poll(&mut cx).is_pending());
        }
        c.write_all(b"kept").await.unwrap();
        let n = s.read(&mut buf).await.unwrap();
        assert_eq!(&buf[..n], b"kept");
        // A stream dropped while its task waits: the socket's queues go with it.
        let mut cut = TcpStream::connect(&ha, sa(B_IP, 21)).await.unwrap();
        {
            let fut = pin!(cut.read(&mut buf));
            assert!(fut.poll(&mut cx).is_pending());
        }
        assert_eq!(ha.waiter_stats().registered, 1);
        drop(cut);
        assert_eq!(ha.waiter_stats().registered, 0);
    });
}

#[test]
fn runtime_shutdown_wakes_waiting_tasks_with_enetdown() {
    let (ra, rb) = two_hosts();
    let (ha, hb) = (ra.handle().clone(), rb.handle().clone());
    let rt = tokio_rt();
    let (c, l) = rt.block_on(async {
        let l = TcpListener::bind(&hb, sa(B_IP, 8)).await.unwrap();
        let c = TcpStream::connect(&ha, sa(B_IP, 8)).await.unwrap();
        (c, l)
    });
    let reader = rt.spawn(async move {
        let mut c = c;
        c.read(&mut [0u8; 8]).await.unwrap_err()
    });
    let acceptor = rt.spawn(async move {
        // The one connection is there: take it, then wait for a second that never comes.
        let _first = l.accept().await.unwrap();
        l.accept().await.map(|_| ()).unwrap_err()
    });
    // Both tasks are parked on wait queues (no polling loop: the condition is watched
    // through the stack lock).
    let registered = |h: &linnet::StackHandle| h.waiter_stats().registered;
    let deadline = std::time::Instant::now() + WAIT;
    while registered(&ha) + registered(&hb) < 2 {
        assert!(std::time::Instant::now() < deadline, "tasks never parked");
        std::thread::yield_now();
    }
    ra.shutdown().unwrap();
    rb.shutdown().unwrap();
    let e = rt.block_on(reader).unwrap();
    assert_eq!(e.raw_os_error(), Some(libc::ENETDOWN), "{e}");
    let e = rt.block_on(acceptor).unwrap();
    assert_eq!(e.raw_os_error(), Some(libc::ENETDOWN), "{e}");
}

fn poll_write_once(
    s: &mut TcpStream,
    cx: &mut Context<'_>,
    data: &[u8],
) -> Poll<io::Result<usize>> {
    std::pin::Pin::new(s).poll_write(cx, data)
}

#[test]
fn a_writer_blocked_on_a_full_send_buffer_is_woken_once_when_space_frees() {
    let (ra, rb) = two_hosts();
    let (ha, hb) = (ra.handle().clone(), rb.handle().clone());
    let rt = tokio_rt();
    let (mut c, mut s) = rt.block_on(async {
        let l = TcpListener::bind(&hb, sa(B_IP, 25)).await.unwrap();
        let c = TcpStream::connect(&ha, sa(B_IP, 25)).await.unwrap();
        let (s, _) = l.accept().await.unwrap();
        (c, s)
    });
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(counter.clone());
    let mut cx = Context::from_waker(&waker);
    let chunk = pattern(64 * 1024, 3);
    // Write until the send buffer (and the peer's window) is full: sk_stream_wait_memory.
    let mut written = 0;
    loop {
        match poll_write_once(&mut c, &mut cx, &chunk) {
            Poll::Ready(Ok(n)) => {
                assert!(n > 0);
                written += n;
                assert!(written < 64 << 20, "the send buffer never filled");
            }
            Poll::Ready(Err(e)) => panic!("{e}"),
            Poll::Pending => break,
        }
    }
    assert_eq!(ha.waiter_stats().registered, 1);
    assert_eq!(counter.count(), 0);
    // The peer reads everything written so far: the window opens, ACKs free the buffer,
    // and the writer is woken once (sk_stream_write_space).
    rt.block_on(async {
        let mut got = vec![0u8; written];
        s.read_exact(&mut got).await.unwrap();
    });
    counter.wait_for(1);
    assert!(matches!(
        poll_write_once(&mut c, &mut cx, b"more"),
        Poll::Ready(Ok(4))
    ));
    assert_eq!(counter.count(), 1);
    assert_eq!(ha.waiter_stats().registered, 0);
}

#[test]
fn tasks_still_finish_when_the_stack_drops_readiness_events() {
    // An event queue of 2 overflows all the time; the runtime then wakes every waiting
    // task (a spurious wake-up costs a poll, a lost one would hang the test).
    let cfg = StackConfig {
        event_queue_len: 2,
        ..StackConfig::default()
    };
    let (ra, rb) = two_hosts_with(cfg);
    let (ha, hb) = (ra.handle().clone(), rb.handle().clone());
    const CONNS: u64 = 8;
    const LEN: usize = 64 * 1024;
    run(async move {
        let listener = TcpListener::bind(&hb, sa(B_IP, 5002)).await.unwrap();
        let server = tokio::spawn(async move {
            let mut conns = Vec::new();
            for _ in 0..CONNS {
                let (s, _) = listener.accept().await.unwrap();
                conns.push(tokio::spawn(async move {
                    let got = exchange(s, pattern(LEN, 77)).await;
                    assert_eq!(hash(&got), hash(&pattern(LEN, 78)));
                }));
            }
            for c in conns {
                c.await.unwrap();
            }
        });
        let mut clients = Vec::new();
        for _ in 0..CONNS {
            let ha = ha.clone();
            clients.push(tokio::spawn(async move {
                let s = TcpStream::connect(&ha, sa(B_IP, 5002)).await.unwrap();
                let got = exchange(s, pattern(LEN, 78)).await;
                assert_eq!(hash(&got), hash(&pattern(LEN, 77)));
            }));
        }
        for c in clients {
            c.await.unwrap();
        }
        server.await.unwrap();
    });
    let dropped = ra.with_stack(|s| s.events_dropped()) + rb.with_stack(|s| s.events_dropped());
    assert!(dropped > 0, "the event queue never overflowed");
}

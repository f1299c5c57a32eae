//! One bulk TCP transfer between the two hosts of [`super::two_hosts`]: `a` connects to a
//! listener on `b` and writes `total` bytes of a seeded pattern, `b` reads them, both
//! ends hash the stream (FNV-1a), and the outcome says when the last byte arrived.
//!
//! Linux analogue: `iperf3 -n <total> [-w <buf>]` between two namespaces on a veth pair
//! shaped with `tc qdisc ... netem`.
//!
//! Debugging: with `TRANSFER_TRACE=1` in the environment, a transfer whose application saw
//! an error prints the last 100 frames on the link before failing.

use std::cell::RefCell;
use std::net::SocketAddrV4;
use std::rc::Rc;

use linnet_core::{Duration, Errno, Event, Instant, Shutdown, SocketHandle, StackConfig, TcpState};
use linnet_testkit::{HostId, LinkConfig, Network};

use super::{two_hosts_with, TwoHosts, A_IP, B_IP};

const PORT: u16 = 5001;

/// FNV-1a, 64 bits: the digest both ends compute over the byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Fnv(pub u64);

impl Fnv {
    pub fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    pub fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Byte `i` of the stream: splitmix64 of `i / 8`, so no period a reordering could hide in.
pub fn fill(buf: &mut [u8], offset: usize) {
    for (k, b) in buf.iter_mut().enumerate() {
        let i = (offset + k) as u64;
        let mut z = (i / 8).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        *b = (z >> ((i % 8) * 8)) as u8;
    }
}

/// What to transfer and how.
#[derive(Clone, Debug)]
pub struct Spec {
    pub seed: u64,
    pub link: LinkConfig,
    pub total: usize,
    /// `SO_SNDBUF` on the sender and `SO_RCVBUF` on the receiver's listener (bytes as
    /// given to setsockopt; the stack doubles them), like `iperf3 -w`. None: the defaults,
    /// which grow (send-buffer growth, receive autotuning).
    pub sndbuf: Option<usize>,
    pub rcvbuf: Option<usize>,
    /// The hosts' sysctls.
    pub cfg: StackConfig,
}

impl Spec {
    pub fn new(seed: u64, link: LinkConfig, total: usize) -> Spec {
        Spec {
            seed,
            link,
            total,
            sndbuf: None,
            rcvbuf: None,
            cfg: StackConfig::default(),
        }
    }
}

/// What a transfer produced.
#[derive(Debug)]
pub struct Outcome {
    /// When the receiver read the last byte, from the connect call.
    pub elapsed: Duration,
    /// Simulation steps the transfer took.
    pub steps: u64,
}

impl Outcome {
    /// Goodput in Mbit/s of virtual time.
    pub fn mbps(&self, total: usize) -> f64 {
        let secs = self.elapsed.as_secs_f64().max(1e-9);
        total as f64 * 8.0 / secs / 1e6
    }
}

#[derive(Debug)]
struct State {
    total: usize,
    sent: usize,
    sent_hash: Fnv,
    received: usize,
    recv_hash: Fnv,
    listener: SocketHandle,
    client: SocketHandle,
    server: Option<SocketHandle>,
    server_eof: bool,
    client_eof: bool,
    shut: bool,
    last_byte_at: Option<Instant>,
    errors: Vec<String>,
    buf: Vec<u8>,
}

/// The client: writes until the send buffer is full, again on each `Writable`, then
/// half-closes; reads the server's end of stream, then closes.
fn client_event(t: &mut State, net: &mut Network, a: HostId, ev: Event) {
    let s = t.client;
    match ev {
        Event::Connected(h) | Event::Writable(h) if h == s => {
            while t.sent < t.total {
                let n = (t.total - t.sent).min(t.buf.len());
                let off = t.sent;
                fill(&mut t.buf[..n], off);
                match net.stack_mut(a).tcp_send(s, &t.buf[..n]) {
                    Ok(k) => {
                        t.sent_hash.update(&t.buf[..k]);
                        t.sent += k;
                    }
                    Err(Errno::EAGAIN) => return,
                    Err(e) => {
                        t.errors.push(format!("client send: {e}"));
                        return;
                    }
                }
            }
            if !t.shut {
                t.shut = true;
                net.stack_mut(a).tcp_shutdown(s, Shutdown::Write).unwrap();
            }
        }
        Event::Readable(h) if h == s => {
            let mut b = [0u8; 64];
            match net.stack_mut(a).tcp_recv(s, &mut b) {
                Ok(0) => {
                    t.client_eof = true;
                    net.stack_mut(a).tcp_close(s).unwrap();
                }
                Ok(n) => t.errors.push(format!("client got {n} unexpected bytes")),
                Err(Errno::EAGAIN) => {}
                Err(e) => t.errors.push(format!("client recv: {e}")),
            }
        }
        Event::Error(h) if h == s => {
            let e = net.stack_mut(a).tcp_take_error(s);
            t.errors.push(format!("client error: {e:?}"));
        }
        _ => {}
    }
}

/// The server: accepts, reads everything, closes at end of stream.
fn server_event(t: &mut State, net: &mut Network, b: HostId, ev: Event) {
    match ev {
        Event::Acceptable(l) if l == t.listener => match net.stack_mut(b).tcp_accept(l) {
            Ok((c, from)) => {
                assert_eq!(from.ip(), &A_IP);
                t.server = Some(c);
            }
            Err(e) => t.errors.push(format!("accept: {e}")),
        },
        Event::Readable(h) if Some(h) == t.server => loop {
            let mut buf = [0u8; 16_384];
            match net.stack_mut(b).tcp_recv(h, &mut buf) {
                Ok(0) => {
                    t.server_eof = true;
                    net.stack_mut(b).tcp_close(h).unwrap();
                    return;
                }
                Ok(n) => {
                    t.recv_hash.update(&buf[..n]);
                    t.received += n;
                    if t.received == t.total {
                        t.last_byte_at = Some(net.now());
                    }
                }
                Err(Errno::EAGAIN) => return,
                Err(e) => {
                    t.errors.push(format!("server recv: {e}"));
                    return;
                }
            }
        },
        Event::Error(h) if Some(h) == t.server => {
            t.errors.push(format!("server error: {ev:?}"));
        }
        _ => {}
    }
}

/// Moves `spec.total` bytes from a to b and checks the stream byte for byte (by hash), the
/// end of both connections and the hosts' frame accounting. Panics with the seed on any
/// failure.
pub fn run(spec: &Spec) -> (TwoHosts, Outcome) {
    let seed = spec.seed;
    let mut th = two_hosts_with(seed, spec.link.clone(), spec.cfg.clone());
    let (a, b) = (th.a, th.b);
    let net = &mut th.net;
    let l = {
        let s = net.stack_mut(b);
        let l = s.tcp_socket().unwrap();
        if let Some(r) = spec.rcvbuf {
            s.tcp_set_rcvbuf(l, r).unwrap();
        }
        s.tcp_bind(l, SocketAddrV4::new(B_IP, PORT)).unwrap();
        s.tcp_listen(l, 16).unwrap();
        l
    };
    let c = net.stack_mut(a).tcp_socket().unwrap();
    if let Some(w) = spec.sndbuf {
        net.stack_mut(a).tcp_set_sndbuf(c, w).unwrap();
    }
    let t = Rc::new(RefCell::new(State {
        total: spec.total,
        sent: 0,
        sent_hash: Fnv::new(),
        received: 0,
        recv_hash: Fnv::new(),
        listener: l,
        client: c,
        server: None,
        server_eof: false,
        client_eof: false,
        shut: false,
        last_byte_at: None,
        errors: Vec::new(),
        buf: vec![0u8; 64 * 1024],
    }));
    let tc = Rc::clone(&t);
    net.set_event_handler(
        a,
        Box::new(move |net: &mut Network, host: HostId, ev: Event| {
            client_event(&mut tc.borrow_mut(), net, host, ev)
        }),
    );
    let ts = Rc::clone(&t);
    net.set_event_handler(
        b,
        Box::new(move |net: &mut Network, host: HostId, ev: Event| {
            server_event(&mut ts.borrow_mut(), net, host, ev)
        }),
    );
    let start = net.now();
    let start_steps = net.steps();
    assert_eq!(
        net.stack_mut(a)
            .tcp_connect(c, SocketAddrV4::new(B_IP, PORT)),
        Err(Errno::EINPROGRESS)
    );
    let limit = Duration::from_secs(3600);
    let mut ring = Vec::new();
    if std::env::var("TRANSFER_TRACE").is_ok() {
        net.record_trace(true);
    }
    loop {
        {
            let tt = t.borrow();
            if tt.server_eof && tt.client_eof {
                break;
            }
        }
        net.run_for(Duration::from_millis(500))
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        if std::env::var("TRANSFER_TRACE").is_ok() {
            ring.extend(net.take_trace_log());
            let n = ring.len().saturating_sub(100);
            ring.drain(..n);
            if !t.borrow().errors.is_empty() {
                for e in &ring {
                    eprintln!("{e}");
                }
            }
        }
        let tt = t.borrow();
        assert!(tt.errors.is_empty(), "seed {seed}: {:?}", tt.errors);
        assert!(
            net.now().saturating_since(start) < limit,
            "seed {seed}: transfer stalled at {} of {} bytes ({} sent)",
            tt.received,
            tt.total,
            tt.sent
        );
    }
    let steps = net.steps() - start_steps;
    // Let TIME-WAIT and any last retransmission play out.
    net.run_for(Duration::from_secs(130)).unwrap();
    let tt = t.borrow();
    assert_eq!(tt.received, spec.total, "seed {seed}");
    assert_eq!(
        tt.recv_hash, tt.sent_hash,
        "seed {seed}: the streams differ"
    );
    assert!(tt.errors.is_empty(), "{:?}", tt.errors);
    let out = Outcome {
        elapsed: tt.last_byte_at.unwrap().saturating_since(start),
        steps,
    };
    drop(tt);
    net.clear_event_handler(a);
    net.clear_event_handler(b);
    for h in [a, b] {
        let st = net.stack(h).stats();
        assert_eq!(st.tcp.curr_estab, 0, "seed {seed} host {h}: {:?}", st.tcp);
        assert_eq!(st.tcp.estab_resets, 0, "seed {seed} host {h}: {:?}", st.tcp);
        assert_eq!(net.events_dropped(h), 0);
        assert_eq!(st.rx_frames, st.consumed + st.total_drops(), "host {h}");
    }
    let (sa, sb) = (net.stack(a).stats(), net.stack(b).stats());
    assert_eq!((sa.tcp.active_opens, sb.tcp.passive_opens), (1, 1));
    // Only the listener is left.
    assert_eq!(net.stack(a).tcp_socket_count(), 0);
    assert_eq!(net.stack(b).tcp_socket_count(), 1);
    assert_eq!(net.stack(b).tcp_state(l), Ok(TcpState::Listen));
    assert!(sb.tcp.in_segs as usize >= spec.total / 1448, "{:?}", sb.tcp);
    (th, out)
}

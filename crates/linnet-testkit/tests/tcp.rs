//! TCP across two stacks on simulated links: bulk transfers over lossy, reordering and
//! duplicating links arrive byte for byte (compared by hash), within the step budget, and
//! the counters tell the story (retransmissions when the link loses frames).
//!
//! Linux analogue: two network namespaces on a veth pair with `tc qdisc ... netem loss 5%
//! reorder 3% duplicate 1%`, `nc -l > out` on one side and `nc < in` on the other, then
//! `sha256sum` on both files and `nstat` for the counters.

mod common;

use std::cell::RefCell;
use std::net::SocketAddrV4;
use std::rc::Rc;

use common::{two_hosts, TwoHosts, A_IP, B_IP};
use linnet_core::{Duration, Errno, Event, Shutdown, SocketHandle, TcpState};
use linnet_testkit::{HostId, LinkConfig, Network};

const PORT: u16 = 5001;

/// FNV-1a, 64 bits: the digest both ends compute over the byte stream.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Fnv(u64);

impl Fnv {
    fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }

    fn update(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 ^= u64::from(b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
}

/// Byte `i` of the stream: splitmix64 of `i / 8`, so no period a reordering could hide in.
fn fill(buf: &mut [u8], offset: usize) {
    for (k, b) in buf.iter_mut().enumerate() {
        let i = (offset + k) as u64;
        let mut z = (i / 8).wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        *b = (z >> ((i % 8) * 8)) as u8;
    }
}

/// The state of one transfer, shared by both hosts' event handlers.
#[derive(Debug)]
struct Transfer {
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
    errors: Vec<String>,
    buf: Vec<u8>,
}

impl Transfer {
    fn done(&self) -> bool {
        self.server_eof && self.client_eof
    }
}

/// The client: writes until the send buffer is full, again on each `Writable`, then
/// half-closes; reads the server's end of stream, then closes.
fn client_event(t: &mut Transfer, net: &mut Network, a: HostId, ev: Event) {
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
fn server_event(t: &mut Transfer, net: &mut Network, b: HostId, ev: Event) {
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

/// What a transfer produced.
#[derive(Debug)]
struct Outcome {
    end: linnet_core::Instant,
    steps: u64,
}

/// Moves `total` bytes from a to b over `link` and checks the stream and the counters.
fn transfer(seed: u64, link: LinkConfig, total: usize) -> (TwoHosts, Outcome) {
    let mut th = two_hosts(seed, link);
    let (a, b) = (th.a, th.b);
    let net = &mut th.net;
    let l = {
        let s = net.stack_mut(b);
        let l = s.tcp_socket().unwrap();
        s.tcp_bind(l, SocketAddrV4::new(B_IP, PORT)).unwrap();
        s.tcp_listen(l, 16).unwrap();
        l
    };
    let c = net.stack_mut(a).tcp_socket().unwrap();
    let t = Rc::new(RefCell::new(Transfer {
        total,
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
        errors: Vec::new(),
        buf: vec![0u8; 32 * 1024],
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
    assert_eq!(
        net.stack_mut(a)
            .tcp_connect(c, SocketAddrV4::new(B_IP, PORT)),
        Err(Errno::EINPROGRESS)
    );
    let start = net.steps();
    let limit = Duration::from_secs(3600);
    while !t.borrow().done() {
        net.run_for(Duration::from_millis(500))
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        let tt = t.borrow();
        assert!(tt.errors.is_empty(), "seed {seed}: {:?}", tt.errors);
        assert!(
            net.now().saturating_since(linnet_core::Instant::ZERO) < limit,
            "seed {seed}: transfer stalled at {} of {} bytes ({} sent)",
            tt.received,
            tt.total,
            tt.sent
        );
    }
    // Let TIME-WAIT and any last retransmission play out.
    net.run_for(Duration::from_secs(130)).unwrap();
    let tt = t.borrow();
    assert_eq!(tt.received, total, "seed {seed}");
    assert_eq!(
        tt.recv_hash, tt.sent_hash,
        "seed {seed}: the streams differ"
    );
    assert!(tt.errors.is_empty(), "{:?}", tt.errors);
    let out = Outcome {
        end: net.now(),
        steps: net.steps() - start,
    };
    drop(tt);
    net.clear_event_handler(a);
    net.clear_event_handler(b);
    for h in [a, b] {
        let st = net.stack(h).stats();
        assert_eq!(st.tcp.curr_estab, 0, "host {h}: {:?}", st.tcp);
        assert_eq!(st.tcp.estab_resets, 0, "host {h}: {:?}", st.tcp);
        assert_eq!(net.events_dropped(h), 0);
        assert_eq!(st.rx_frames, st.consumed + st.total_drops(), "host {h}");
    }
    let (sa, sb) = (net.stack(a).stats(), net.stack(b).stats());
    assert_eq!((sa.tcp.active_opens, sb.tcp.passive_opens), (1, 1));
    assert!(sb.tcp.in_segs as usize >= total / 1448, "{:?}", sb.tcp);
    // Only the listener is left.
    assert_eq!(net.stack(a).tcp_socket_count(), 0);
    assert_eq!(net.stack(b).tcp_socket_count(), 1);
    assert_eq!(net.stack(b).tcp_state(l), Ok(TcpState::Listen));
    (th, out)
}

const TEN_MB: usize = 10 * 1024 * 1024;

/// A clean link: 10 MB arrive intact with no retransmission at all.
#[test]
fn ten_megabytes_over_a_clean_link() {
    let (th, out) = transfer(1, LinkConfig::default(), TEN_MB);
    let sa = th.net.stack(th.a).stats();
    assert_eq!(sa.tcp.retrans_segs, 0, "{:?}", sa.tcp);
    assert_eq!(sa.tcp_ext.tcp_timeouts, 0);
    // 10 MB at 16 KiB per 2 ms round trip: a few seconds of virtual time.
    assert!(out.end.as_millis() < 140_000, "{out:?}");
}

/// Lossy, reordering, duplicating links (loss 1-5 %, a few seeds): every transfer
/// completes byte for byte within the step budget, and the sender retransmitted.
#[test]
fn ten_megabytes_over_lossy_reordering_links() {
    let cases = [
        (2, 0.01, 0.01, 0.0),
        (3, 0.02, 0.02, 0.01),
        (4, 0.05, 0.03, 0.01),
        (5, 0.05, 0.0, 0.0),
    ];
    for (seed, loss, reorder, duplicate) in cases {
        let link = LinkConfig {
            latency: Duration::from_millis(2),
            jitter: Duration::from_micros(500),
            loss,
            reorder,
            duplicate,
            ..LinkConfig::default()
        };
        let (th, out) = transfer(seed, link, TEN_MB);
        let sa = th.net.stack(th.a).stats();
        let sb = th.net.stack(th.b).stats();
        assert!(sa.tcp.retrans_segs > 0, "seed {seed}: {:?}", sa.tcp);
        assert!(
            sa.tcp_ext.tcp_sack_recovery + sa.tcp_ext.tcp_timeouts > 0,
            "seed {seed}: {:?}",
            sa.tcp_ext
        );
        if reorder > 0.0 || loss > 0.0 {
            assert!(
                sb.tcp_ext.tcp_ofo_queue > 0,
                "seed {seed}: {:?}",
                sb.tcp_ext
            );
        }
        eprintln!(
            "seed {seed} loss {loss} reorder {reorder} dup {duplicate}: {} ms virtual, {} steps, \
             {} retransmitted, {} SACK recoveries, {} timeouts, {} loss probes, {} undos, \
             {} D-SACKs received",
            out.end.as_millis(),
            out.steps,
            sa.tcp.retrans_segs,
            sa.tcp_ext.tcp_sack_recovery,
            sa.tcp_ext.tcp_timeouts,
            sa.tcp_ext.tcp_loss_probes,
            sa.tcp_ext.tcp_full_undo
                + sa.tcp_ext.tcp_partial_undo
                + sa.tcp_ext.tcp_dsack_undo
                + sa.tcp_ext.tcp_loss_undo,
            sa.tcp_ext.tcp_dsack_recv + sa.tcp_ext.tcp_dsack_ofo_recv
        );
    }
}

/// Connection refused across the network: a SYN to a port nobody listens on comes back as
/// a RST, and the connecting socket reports ECONNREFUSED.
#[test]
fn connect_to_closed_port_is_refused() {
    let mut th = two_hosts(9, LinkConfig::default());
    let (a, b) = (th.a, th.b);
    let c = th.net.stack_mut(a).tcp_socket().unwrap();
    let _ = th
        .net
        .stack_mut(a)
        .tcp_connect(c, SocketAddrV4::new(B_IP, 9));
    th.net.run_for(Duration::from_millis(100)).unwrap();
    let mut evs = Vec::new();
    while let Some((_, ev)) = th.net.poll_event(a) {
        evs.push(ev);
    }
    assert!(evs.contains(&Event::Error(c)), "{evs:?}");
    assert_eq!(
        th.net.stack_mut(a).tcp_take_error(c),
        Ok(Some(Errno::ECONNREFUSED))
    );
    assert_eq!(th.net.stack(b).stats().tcp.out_rsts, 1);
    assert_eq!(th.net.stack(a).stats().tcp.attempt_fails, 1);
}

//! Steady-state UDP echo allocates nothing per packet.
//!
//! ARCHITECTURE.md §5: "Pooled, so steady-state traffic allocates nothing." Linux gets
//! there with the skbuff slab caches and page-frag allocators; linnet with `SkbPool` and
//! containers that keep their capacity. This test binary wraps the system allocator with a
//! counter (its own crate, so the core's `forbid(unsafe_code)` is untouched) and counts the
//! allocations made while echoing datagrams: peer frame in (a pooled receive buffer) ->
//! socket recv -> send reply -> poll_transmit -> recycle.
#![allow(unsafe_code)]

use core::net::{Ipv4Addr, SocketAddrV4};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use linnet_core::{
    wire, DeviceConfig, DeviceKind, Duration, Event, IfIndex, Instant, NudState, SkBuff, Stack,
    StackConfig,
};

#[path = "../src/testutil.rs"]
mod testutil;

use testutil::*;

/// Counts allocations made by the current thread while `COUNTING` is set.
struct CountingAlloc;

thread_local! {
    static COUNTING: Cell<bool> = const { Cell::new(false) };
    static ALLOCS: Cell<u64> = const { Cell::new(0) };
}

fn note_alloc() {
    // try_with: the thread-locals may be gone during thread teardown.
    let _ = COUNTING.try_with(|c| {
        if c.get() {
            let _ = ALLOCS.try_with(|a| a.set(a.get() + 1));
        }
    });
}

// SAFETY: every method forwards to `System` with the caller's arguments unchanged, so the
// `GlobalAlloc` contract (layout, pointer provenance, size rules) is exactly System's; the
// only addition is a thread-local counter that never allocates.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note_alloc();
        // SAFETY: same layout as given to us; the caller upholds `alloc`'s contract.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note_alloc();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note_alloc();
        // SAFETY: `ptr` was allocated by `System` through this wrapper with `layout`.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` through this wrapper with `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: CountingAlloc = CountingAlloc;

/// Allocations made by `f` on this thread.
fn count_allocs(f: impl FnOnce()) -> u64 {
    ALLOCS.with(|a| a.set(0));
    COUNTING.with(|c| c.set(true));
    f();
    COUNTING.with(|c| c.set(false));
    ALLOCS.with(|a| a.get())
}

/// One echo round trip: the peer's datagram arrives in a pooled buffer, the application
/// reads it and sends it back, the driver takes the reply and recycles the buffer.
fn echo_once(
    stack: &mut Stack,
    dev: IfIndex,
    now: Instant,
    sock: linnet_core::SocketHandle,
    frame: &[u8],
    buf: &mut [u8],
) {
    let mut skb = stack.alloc_rx(frame.len());
    skb.put_slice(frame);
    stack.receive(now, dev, skb);
    while let Some(ev) = stack.poll_event() {
        assert_eq!(ev, Event::Readable(sock));
    }
    let meta = stack.udp_recv_from(sock, buf).expect("a datagram");
    let n = stack
        .udp_send_to(sock, &buf[..meta.len], Some(meta.from))
        .expect("reply sent");
    assert_eq!(n, meta.len);
    let (_, out) = stack.poll_transmit().expect("the reply on the wire");
    assert!(stack.poll_transmit().is_none());
    stack.recycle(out);
}

/// Steady-state UDP echo: zero allocations over 10,000 round trips, after a warm-up that
/// resolves the peer by ARP, pre-fills the pool and binds the socket.
#[test]
fn udp_echo_steady_state_allocates_nothing_per_packet() {
    let mut h = Harness::with_config(StackConfig::default(), 11);
    let dev = h.eth0;
    let sock = h.stack.udp_socket().unwrap();
    h.stack
        .udp_bind(sock, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7))
        .unwrap();
    // Resolve the peer the ordinary way: our first reply triggers ARP, the peer answers.
    let frame = udp_frame(40000, OUR_IP, 7, &[0x5a; 64]);
    h.receive(&frame);
    let mut buf = [0u8; 2048];
    let m = h.stack.udp_recv_from(sock, &mut buf).unwrap();
    h.stack
        .udp_send_to(sock, &buf[..m.len], Some(m.from))
        .unwrap();
    let _ = h.drain();
    let _ = h.exchange(&arp_reply(PEER_MAC, PEER_IP));
    assert_eq!(h.nud(PEER_IP), Some(NudState::Reachable));
    let _ = h.events();
    h.stack.prefill_pool(64);

    // Warm-up: let every container reach its steady capacity.
    let mut now = h.now;
    for _ in 0..1_000 {
        now = now + Duration::from_micros(10);
        echo_once(&mut h.stack, dev, now, sock, &frame, &mut buf);
    }
    let pool_before = h.stack.pool_stats();
    let allocs = count_allocs(|| {
        for _ in 0..10_000 {
            now = now + Duration::from_micros(10);
            echo_once(&mut h.stack, dev, now, sock, &frame, &mut buf);
        }
    });
    let pool_after = h.stack.pool_stats();
    assert_eq!(allocs, 0, "allocations in 10,000 steady-state echoes");
    assert_eq!(
        pool_after.fresh, pool_before.fresh,
        "the pool served every buffer"
    );
    assert_eq!(h.stack.stats().udp.in_datagrams, 1 + 1_000 + 10_000);
    // The counter itself works.
    let probe = count_allocs(|| drop(std::hint::black_box(vec![1u8; 16])));
    assert_eq!(probe, 1);
}

/// Takes everything the stack sent; answers ARP requests for the peer (the NUD probes of
/// a long run) with `arp_reply`, fed back in a pooled buffer. Returns the UDP and ARP
/// frames seen.
fn pump(stack: &mut Stack, dev: IfIndex, now: Instant, arp_reply: &[u8]) -> (usize, usize) {
    let (mut udp, mut arp) = (0, 0);
    while let Some((_, out)) = stack.poll_transmit() {
        let is_arp = out.data()[12..14] == [0x08, 0x06];
        stack.recycle(out);
        if is_arp {
            let mut skb = stack.alloc_rx(arp_reply.len());
            skb.put_slice(arp_reply);
            stack.receive(now, dev, skb);
            arp += 1;
        } else {
            udp += 1;
        }
    }
    (udp, arp)
}

/// The same echo over 100 s of virtual time with the driver running every timer
/// (`poll_timeout` / `handle_timeout`): the neighbour entry ages REACHABLE -> STALE ->
/// DELAY -> PROBE and is re-confirmed by the peer's replies, the periodic collection runs,
/// and still nothing is allocated per packet.
#[test]
fn udp_echo_with_neighbour_timers_allocates_nothing() {
    let mut h = Harness::with_config(StackConfig::default(), 12);
    let dev = h.eth0;
    let sock = h.stack.udp_socket().unwrap();
    h.stack
        .udp_bind(sock, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7))
        .unwrap();
    let frame = udp_frame(40000, OUR_IP, 7, &[0x5a; 64]);
    let reply = arp_reply(PEER_MAC, PEER_IP);
    h.stack.prefill_pool(64);
    let mut buf = [0u8; 2048];
    let mut now = h.now;
    let mut step = |stack: &mut Stack, now: &mut Instant| {
        *now = *now + Duration::from_millis(1);
        if stack.poll_timeout().is_some_and(|t| t <= *now) {
            stack.handle_timeout(*now);
        }
        let mut skb = stack.alloc_rx(frame.len());
        skb.put_slice(&frame);
        stack.receive(*now, dev, skb);
        while stack.poll_event().is_some() {}
        let meta = stack.udp_recv_from(sock, &mut buf).expect("a datagram");
        stack
            .udp_send_to(sock, &buf[..meta.len], Some(meta.from))
            .expect("reply sent");
        pump(stack, dev, *now, &reply)
    };
    // Warm-up: resolution, a first full NUD cycle, containers at capacity.
    let (mut echoed, mut solicits) = (0, 0);
    for _ in 0..60_000 {
        echoed += step(&mut h.stack, &mut now).0;
    }
    let gc_runs_before = h.stack.stats().arp.periodic_gc_runs;
    let allocs = count_allocs(|| {
        for _ in 0..100_000 {
            let (udp, arp) = step(&mut h.stack, &mut now);
            echoed += udp;
            solicits += arp;
        }
    });
    assert_eq!(
        allocs, 0,
        "allocations in 100 s of echoes with timers running"
    );
    assert_eq!(echoed, 160_000, "every datagram answered");
    assert!(
        solicits >= 2,
        "NUD probed the peer during the run ({solicits})"
    );
    assert!(
        h.stack.stats().arp.periodic_gc_runs > gc_runs_before,
        "the collection ran"
    );
    assert!(h
        .stack
        .arp_table()
        .get(dev, PEER_IP)
        .is_some_and(|n| n.state != NudState::Failed));
}

/// Steady-state TCP sending with no loss allocates nothing per segment: each round the
/// application queues one full segment, the stack sends it (the send ring and the
/// scoreboard keep their capacity), and the peer's ACK (with timestamps and a SACK-capable
/// connection, so RACK, the loss-probe timer and the RTO are all re-armed) takes the
/// previous one off. One segment stays in flight, so neither queue ever drains.
#[test]
fn tcp_bulk_send_steady_state_allocates_nothing_per_segment() {
    let mut h = Harness::with_config(StackConfig::default(), 12).with_static_peer();
    let dev = h.eth0;
    let s = h.stack.tcp_socket().unwrap();
    let _ = h.stack.tcp_connect(s, SocketAddrV4::new(PEER_IP, 40_000));
    let syn = parse_tcp(&h.drain()[0]).unwrap();
    let peer_isn = 1_000_000u32;
    let synack = TcpSeg {
        sport: 40_000,
        dport: syn.sport,
        seq: peer_isn,
        ack: Some(syn.seq.wrapping_add(1)),
        syn: true,
        window: 65_535,
        mss: Some(1460),
        wscale: Some(7),
        sack_perm: true,
        ts: Some((1, syn.ts.unwrap().0)),
        ..TcpSeg::default()
    };
    let _ = h.exchange(&tcp_frame(&synack));
    let _ = h.events();
    h.stack.prefill_pool(64);
    let seg = [0x42u8; 1448];
    let first = syn.seq.wrapping_add(1);
    let ack_frame = |n: u32, tsval: u32| {
        tcp_frame(&TcpSeg {
            sport: 40_000,
            dport: syn.sport,
            seq: peer_isn + 1,
            ack: Some(first.wrapping_add(n * 1448)),
            window: 1024,
            ts: Some((tsval, 0)),
            ..TcpSeg::default()
        })
    };
    let rounds = 11_000u32;
    // The peer's ACKs, built before counting: ACK n acknowledges n segments.
    let acks: Vec<Vec<u8>> = (0..rounds).map(|n| ack_frame(n, 2 + n)).collect();
    let mut now = h.now;
    let round = |stack: &mut Stack, n: u32, now: Instant| {
        assert_eq!(stack.tcp_send(s, &seg), Ok(seg.len()));
        let mut sent = 0;
        while let Some((_, out)) = stack.poll_transmit() {
            sent += 1;
            stack.recycle(out);
        }
        assert_eq!(sent, 1, "round {n}");
        let f = &acks[n as usize];
        let mut skb = stack.alloc_rx(f.len());
        skb.put_slice(f);
        stack.receive(now, dev, skb);
        stack.handle_timeout(now);
        while let Some((_, out)) = stack.poll_transmit() {
            stack.recycle(out);
        }
        while stack.poll_event().is_some() {}
    };
    // Warm-up: every container reaches its steady capacity.
    for n in 0..1_000 {
        now = now + Duration::from_micros(10);
        round(&mut h.stack, n, now);
    }
    let allocs = count_allocs(|| {
        for n in 1_000..rounds {
            now = now + Duration::from_micros(10);
            round(&mut h.stack, n, now);
        }
    });
    assert_eq!(allocs, 0, "allocations in 10,000 steady-state segments");
    let st = h.stack.stats();
    assert_eq!(st.tcp.retrans_segs, 0);
    assert_eq!(st.tcp_ext.tcp_loss_probes, 0);
    assert_eq!(h.stack.tcp_tx_queued(s), Ok(1448));
}

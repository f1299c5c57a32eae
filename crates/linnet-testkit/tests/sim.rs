//! Scenario tests of the simulator: stacks on lossy links, a router, timers, budgets.

mod common;

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::rc::Rc;

use common::{drain_udp, two_hosts, udp_bound, TwoHosts, A_IP, B_IP};
use linnet_core::{Duration, Event, Instant, PingEvent, StackConfig};
use linnet_testkit::{
    cidr, trace_digest, Direction, LinkConfig, LinkStats, Network, SimError, TraceKind,
};

const ROUNDS: u16 = 40;

fn lossy() -> LinkConfig {
    LinkConfig {
        latency: Duration::from_millis(5),
        jitter: Duration::from_millis(2),
        loss: 0.10,
        duplicate: 0.05,
        reorder: 0.05,
        ..LinkConfig::default()
    }
}

/// What a lossy two-host run produced, compared between runs.
#[derive(Debug, PartialEq)]
struct Outcome {
    digest: u64,
    trace_lines: usize,
    a_ping_seqs: BTreeSet<u16>,
    b_ping_seqs: BTreeSet<u16>,
    a_ping_replies: usize,
    a_udp: Vec<Vec<u8>>,
    b_udp: Vec<Vec<u8>>,
    stats: LinkStats,
    end: Instant,
}

fn ping_replies(net: &mut Network, host: linnet_testkit::HostId, from: Ipv4Addr) -> Vec<u16> {
    let mut seqs = Vec::new();
    while let Some((_, ev)) = net.poll_event(host) {
        if let Event::Ping(PingEvent::Reply {
            from: f,
            ident,
            seq,
            ..
        }) = ev
        {
            assert_eq!((f, ident), (from, 7));
            seqs.push(seq);
        }
    }
    seqs
}

/// `a` and `b` ping each other and exchange datagrams both ways, one of each every 100 ms.
fn run_lossy(seed: u64) -> Outcome {
    let TwoHosts {
        mut net,
        a,
        b,
        link,
    } = two_hosts(seed, lossy());
    net.record_trace(true);
    let sa = udp_bound(&mut net, a, A_IP, 40000);
    let sb = udp_bound(&mut net, b, B_IP, 7);
    for i in 0..ROUNDS {
        net.schedule(Instant::from_millis(100 * u64::from(i)), move |net| {
            net.stack_mut(a)
                .ping_send(B_IP, 7, i, None, b"ping from a")
                .unwrap();
            net.stack_mut(b)
                .ping_send(A_IP, 7, i, None, b"ping from b")
                .unwrap();
            let to_b = SocketAddrV4::new(B_IP, 7);
            net.stack_mut(a)
                .udp_send_to(sa, format!("a{i}").as_bytes(), Some(to_b))
                .unwrap();
            let to_a = SocketAddrV4::new(A_IP, 40000);
            net.stack_mut(b)
                .udp_send_to(sb, format!("b{i}").as_bytes(), Some(to_a))
                .unwrap();
        });
    }
    net.run_for(Duration::from_secs(8)).unwrap();

    let a_replies = ping_replies(&mut net, a, B_IP);
    let b_replies = ping_replies(&mut net, b, A_IP);
    let a_udp = drain_udp(&mut net, a, sa);
    let b_udp = drain_udp(&mut net, b, sb);

    // Counters agree with what the sockets handed out.
    assert_eq!(net.stack(a).stats().udp.in_datagrams, a_udp.len() as u64);
    assert_eq!(net.stack(b).stats().udp.in_datagrams, b_udp.len() as u64);
    assert_eq!(
        net.stack(a).stats().icmp.in_echo_reps,
        a_replies.len() as u64
    );

    // ARP learnt both ways.
    let nb = net
        .stack(a)
        .arp_table()
        .get(link.a, B_IP)
        .expect("a knows b");
    assert!(nb.state.is_valid(), "{:?}", nb.state);
    let na = net
        .stack(b)
        .arp_table()
        .get(link.b, A_IP)
        .expect("b knows a");
    assert!(na.state.is_valid(), "{:?}", na.state);

    // Link counters balance, per direction, and match the devices' counters.
    for (dir, tx, rx) in [(Direction::AToB, a, b), (Direction::BToA, b, a)] {
        let s = net.link_dir_stats(link.id, dir);
        assert_eq!(
            s.sent + s.duplicated,
            s.oversize + s.lost + s.delivered + s.in_flight
        );
        let (txi, rxi) = if tx == a {
            (link.a, link.b)
        } else {
            (link.b, link.a)
        };
        assert_eq!(net.stack(tx).device(txi).unwrap().stats.tx_packets, s.sent);
        assert_eq!(
            net.stack(rx).device(rxi).unwrap().stats.rx_packets,
            s.delivered
        );
    }
    let trace = net.trace_log();
    let delivered = trace
        .iter()
        .filter(|e| e.kind == TraceKind::Delivered)
        .count() as u64;
    assert_eq!(delivered, net.link_stats(link.id).delivered);

    Outcome {
        digest: trace_digest(trace),
        trace_lines: trace.len(),
        a_ping_seqs: a_replies.iter().copied().collect(),
        b_ping_seqs: b_replies.iter().copied().collect(),
        a_ping_replies: a_replies.len(),
        a_udp,
        b_udp,
        stats: net.link_stats(link.id),
        end: net.now(),
    }
}

fn distinct(v: &[Vec<u8>]) -> usize {
    v.iter().collect::<BTreeSet<_>>().len()
}

#[test]
fn lossy_link_ping_and_udp_mostly_get_through() {
    let o = run_lossy(42);
    let n = usize::from(ROUNDS);
    // Request and reply each cross a 10% loss: about 81% of pings come back.
    assert!(
        o.a_ping_seqs.len() >= n / 2,
        "a got {} of {n} replies",
        o.a_ping_seqs.len()
    );
    assert!(
        o.b_ping_seqs.len() >= n / 2,
        "b got {} of {n} replies",
        o.b_ping_seqs.len()
    );
    assert!(
        distinct(&o.b_udp) >= n * 2 / 3,
        "b got {} datagrams",
        distinct(&o.b_udp)
    );
    assert!(
        distinct(&o.a_udp) >= n * 2 / 3,
        "a got {} datagrams",
        distinct(&o.a_udp)
    );
    // Duplicates reach the socket, never more than twice each.
    assert!(o.b_udp.len() <= 2 * n && o.a_udp.len() <= 2 * n);
    // Every impairment happened at least once over ~250 frames.
    let s = o.stats;
    assert!(s.lost > 0 && s.duplicated > 0 && s.reordered > 0, "{s:?}");
    assert_eq!(s.oversize, 0);
    assert_eq!(o.end, Instant::from_secs(8));
}

#[test]
fn same_seed_replays_identically() {
    let first = run_lossy(7);
    let second = run_lossy(7);
    assert_eq!(first, second);
    assert!(first.trace_lines > 200);
}

#[test]
fn different_seed_gives_a_different_run() {
    assert_ne!(run_lossy(7).digest, run_lossy(8).digest);
}

#[test]
fn router_forwards_ping_and_decrements_ttl() {
    let mut net = Network::new(5);
    net.record_trace(true);
    let a = net.add_host("a", StackConfig::default(), 1);
    let r = net.add_host("r", StackConfig::default(), 2);
    let b = net.add_host("b", StackConfig::default(), 3);
    let ar = net.add_link(a, r, LinkConfig::default()).unwrap();
    let rb = net.add_link(r, b, LinkConfig::default()).unwrap();
    net.stack_mut(r).config_mut().ip_forward = true;
    net.stack_mut(a)
        .add_addr(ar.a, cidr("10.0.1.2/24"))
        .unwrap();
    net.stack_mut(r)
        .add_addr(ar.b, cidr("10.0.1.1/24"))
        .unwrap();
    net.stack_mut(r)
        .add_addr(rb.a, cidr("10.0.2.1/24"))
        .unwrap();
    net.stack_mut(b)
        .add_addr(rb.b, cidr("10.0.2.2/24"))
        .unwrap();
    net.stack_mut(a)
        .add_default_route(Ipv4Addr::new(10, 0, 1, 1))
        .unwrap();
    net.stack_mut(b)
        .add_default_route(Ipv4Addr::new(10, 0, 2, 1))
        .unwrap();

    // Capture the far side to read the TTL the request arrives with.
    let pcap = Rc::new(RefCell::new(Vec::new()));
    net.capture_to(rb.id, SharedBuf(pcap.clone())).unwrap();

    let b_ip = Ipv4Addr::new(10, 0, 2, 2);
    net.stack_mut(a)
        .ping_send(b_ip, 9, 1, None, b"through r")
        .unwrap();
    net.run_for(Duration::from_secs(1)).unwrap();

    let reply = std::iter::from_fn(|| net.poll_event(a)).find_map(|(_, ev)| match ev {
        Event::Ping(PingEvent::Reply {
            from,
            ident: 9,
            seq: 1,
            ttl,
            ..
        }) => Some((from, ttl)),
        _ => None,
    });
    // b answers with TTL 64; r forwards it with 63.
    assert_eq!(reply, Some((b_ip, 63)));
    assert_eq!(net.stack(r).stats().ip.forw_datagrams, 2);

    assert_eq!(
        net.stop_capture(rb.id).unwrap(),
        4,
        "ARP request/reply, echo request/reply"
    );
    let bytes = pcap.borrow().clone();
    let mut reader = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
    let mut request_ttls = Vec::new();
    while let Some(p) = reader.next_packet() {
        let p = p.unwrap();
        let ip = &p.data[14..];
        // IPv4, ICMP, echo request.
        if p.data[12..14] == [8, 0] && ip[9] == 1 && ip[20] == 8 {
            request_ttls.push(ip[8]);
        }
    }
    assert_eq!(request_ttls, [63]);

    let lines: Vec<String> = net.trace_log().iter().map(|e| e.to_string()).collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("link1 r>b 10.0.1.2 > 10.0.2.2: ICMP echo request id 9")),
        "{lines:#?}"
    );
}

#[derive(Clone)]
struct SharedBuf(Rc<RefCell<Vec<u8>>>);

impl std::io::Write for SharedBuf {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn tiny_step_budget_reports_livelock() {
    let TwoHosts { mut net, a, .. } = two_hosts(1, LinkConfig::default());
    net.set_step_budget(3);
    for seq in 0..10 {
        net.stack_mut(a)
            .ping_send(B_IP, 1, seq, None, b"x")
            .unwrap();
    }
    let err = net.run_for(Duration::from_secs(1)).unwrap_err();
    assert!(matches!(
        err,
        SimError::StepBudgetExhausted { budget: 3, .. }
    ));
    let msg = format!("{err:?}");
    assert!(
        msg.starts_with("step budget exhausted: possible livelock at t=0.00"),
        "{msg}"
    );
    // A fresh run gets a fresh budget.
    net.set_step_budget(1_000);
    net.run_for(Duration::from_secs(1)).unwrap();
}

#[test]
fn oversize_frames_are_dropped_and_counted() {
    let TwoHosts {
        mut net,
        a,
        b,
        link,
    } = two_hosts(3, LinkConfig::default());
    net.record_trace(true);
    // a's device believes in jumbo frames; the link does not.
    net.stack_mut(a).set_mtu(link.a, 9000).unwrap();
    let sa = udp_bound(&mut net, a, A_IP, 1000);
    let sb = udp_bound(&mut net, b, B_IP, 2000);
    let to = Some(SocketAddrV4::new(B_IP, 2000));
    net.stack_mut(a).udp_send_to(sa, &[1; 100], to).unwrap();
    net.run_for(Duration::from_millis(10)).unwrap();
    net.stack_mut(a).udp_send_to(sa, &[2; 3000], to).unwrap();
    net.run_for(Duration::from_millis(10)).unwrap();
    let s = net.link_dir_stats(link.id, Direction::AToB);
    assert_eq!(s.oversize, 1, "{s:?}");
    assert_eq!(drain_udp(&mut net, b, sb), vec![vec![1; 100]]);
    let last = net.trace_log().last().unwrap();
    assert_eq!(last.kind, TraceKind::Oversize);
    assert_eq!(last.len, 14 + 20 + 8 + 3000);
}

#[test]
fn bandwidth_limit_spaces_arrivals() {
    let cfg = LinkConfig {
        latency: Duration::from_millis(2),
        bandwidth_bps: Some(1_000_000),
        ..LinkConfig::default()
    };
    let TwoHosts {
        mut net,
        a,
        b,
        link,
    } = two_hosts(3, cfg);
    let sa = udp_bound(&mut net, a, A_IP, 1000);
    let sb = udp_bound(&mut net, b, B_IP, 2000);
    // Resolve ARP first.
    net.stack_mut(a).ping_send(B_IP, 1, 1, None, b"").unwrap();
    net.run_for(Duration::from_millis(100)).unwrap();
    net.record_trace(true);
    let start = net.now();
    for _ in 0..5 {
        // 958 bytes of payload: 1000-byte frames, 8 ms each at 1 Mbit/s.
        net.stack_mut(a)
            .udp_send_to(sa, &[0; 958], Some(SocketAddrV4::new(B_IP, 2000)))
            .unwrap();
    }
    net.run_for(Duration::from_millis(100)).unwrap();
    let times: Vec<Duration> = net
        .trace_log()
        .iter()
        .filter(|e| e.link == link.id && e.dir == Direction::AToB)
        .map(|e| e.at.saturating_since(start))
        .collect();
    let want: Vec<Duration> = (1..=5).map(|i| Duration::from_millis(2 + 8 * i)).collect();
    assert_eq!(times, want);
    assert_eq!(drain_udp(&mut net, b, sb).len(), 5);
}

#[test]
fn arp_retransmits_on_stack_timers_in_virtual_time() {
    let TwoHosts { mut net, a, .. } = two_hosts(9, LinkConfig::default());
    net.record_trace(true);
    let nobody = Ipv4Addr::new(10, 0, 0, 99);
    net.stack_mut(a).ping_send(nobody, 1, 1, None, b"").unwrap();
    net.run_for(Duration::from_secs(10)).unwrap();
    let who_has: Vec<Instant> = net
        .trace_log()
        .iter()
        .filter(|e| e.summary == "ARP who-has 10.0.0.99 tell 10.0.0.1")
        .map(|e| e.at)
        .collect();
    // mcast_solicit = 3 broadcasts, retrans_time = 1 s apart, each 1 ms on the wire.
    let want: Vec<Instant> = (0..3).map(|i| Instant::from_millis(1 + 1000 * i)).collect();
    assert_eq!(who_has, want);
}

#[test]
fn event_handler_runs_an_echo_server_in_virtual_time() {
    let TwoHosts { mut net, a, b, .. } = two_hosts(11, LinkConfig::default());
    let sa = udp_bound(&mut net, a, A_IP, 5000);
    let sb = udp_bound(&mut net, b, B_IP, 7);
    net.set_event_handler(b, move |net, host, ev| {
        if ev == Event::Readable(sb) {
            let mut buf = [0u8; 1500];
            while let Ok(m) = net.stack_mut(host).udp_recv_from(sb, &mut buf) {
                net.stack_mut(host)
                    .udp_send_to(sb, &buf[..m.len], Some(m.from))
                    .unwrap();
            }
        }
    });
    net.stack_mut(a)
        .udp_send_to(sa, b"hello", Some(SocketAddrV4::new(B_IP, 7)))
        .unwrap();
    net.run_for(Duration::from_millis(50)).unwrap();
    let (at, ev) = net.poll_event(a).unwrap();
    assert_eq!(ev, Event::Readable(sa));
    // ARP request + reply, then the datagram and its echo: four 1 ms hops.
    assert_eq!(at, Instant::from_millis(4));
    assert_eq!(drain_udp(&mut net, a, sa), vec![b"hello".to_vec()]);
}

#[test]
fn trace_sink_sees_lines_as_they_happen() {
    let TwoHosts { mut net, a, .. } = two_hosts(2, LinkConfig::default());
    let lines = Rc::new(RefCell::new(Vec::new()));
    let sink = lines.clone();
    net.set_trace(Box::new(move |ev| sink.borrow_mut().push(ev.to_string())));
    net.stack_mut(a).ping_send(B_IP, 1, 1, None, b"").unwrap();
    net.run_for(Duration::from_millis(10)).unwrap();
    assert_eq!(
        *lines.borrow(),
        [
            "0.001000 link0 a>b ARP who-has 10.0.0.2 tell 10.0.0.1",
            "0.002000 link0 b>a ARP reply 10.0.0.2 is-at 02:00:00:00:02:00",
            "0.003000 link0 a>b 10.0.0.1 > 10.0.0.2: ICMP echo request id 1 seq 1",
            "0.004000 link0 b>a 10.0.0.2 > 10.0.0.1: ICMP echo reply id 1 seq 1",
        ]
    );
}

#[test]
fn scheduled_actions_run_at_their_time_and_can_reschedule() {
    let mut net = Network::new(1);
    let seen = Rc::new(RefCell::new(Vec::new()));
    fn tick(net: &mut Network, seen: Rc<RefCell<Vec<Instant>>>, left: u32) {
        seen.borrow_mut().push(net.now());
        if left > 0 {
            let at = net.now() + Duration::from_millis(250);
            net.schedule(at, move |net| tick(net, seen, left - 1));
        }
    }
    let s = seen.clone();
    net.schedule(Instant::from_millis(100), move |net| tick(net, s, 3));
    net.run_for(Duration::from_secs(5)).unwrap();
    let want: Vec<Instant> = [100, 350, 600, 850].map(Instant::from_millis).to_vec();
    assert_eq!(*seen.borrow(), want);
    assert_eq!(net.now(), Instant::from_secs(5));
    assert_eq!(net.next_event_time(), None);
    assert!(!net.step().unwrap());
}

#[test]
fn loopback_ping_pong_at_one_instant_is_reported_as_livelock() {
    let mut net = Network::new(1);
    let a = net.add_host("a", StackConfig::default(), 1);
    let lo = SocketAddrV4::new(Ipv4Addr::LOCALHOST, 9);
    let s = udp_bound(&mut net, a, Ipv4Addr::LOCALHOST, 9);
    // An application that answers every datagram it reads with another one to itself.
    net.set_event_handler(a, move |net, host, ev| {
        if ev == Event::Readable(s) {
            let mut buf = [0u8; 64];
            while net.stack_mut(host).udp_recv_from(s, &mut buf).is_ok() {}
            net.stack_mut(host)
                .udp_send_to(s, b"again", Some(lo))
                .unwrap();
        }
    });
    net.schedule(Instant::from_millis(5), move |net| {
        net.stack_mut(a).udp_send_to(s, b"start", Some(lo)).unwrap();
    });
    net.set_step_budget(10_000);
    let err = net.run_for(Duration::from_secs(1)).unwrap_err();
    assert_eq!(
        err,
        SimError::StepBudgetExhausted {
            at: Instant::from_millis(5),
            budget: 10_000
        }
    );
    assert!(
        err.to_string().contains("possible livelock at t=0.005000"),
        "{err}"
    );
}

#[test]
fn fragmented_datagram_is_traced_and_reassembled() {
    let TwoHosts { mut net, a, b, .. } = two_hosts(4, LinkConfig::default());
    net.record_trace(true);
    let sa = udp_bound(&mut net, a, A_IP, 1000);
    let sb = udp_bound(&mut net, b, B_IP, 2000);
    let payload: Vec<u8> = (0..4000u32).map(|i| i as u8).collect();
    net.stack_mut(a)
        .udp_send_to(sa, &payload, Some(SocketAddrV4::new(B_IP, 2000)))
        .unwrap();
    net.run_for(Duration::from_millis(50)).unwrap();
    let got = drain_udp(&mut net, b, sb);
    assert!(got.len() == 1 && got[0] == payload, "reassembly failed");
    let lines: Vec<String> = net.trace_log().iter().map(|e| e.summary.clone()).collect();
    let first = lines
        .iter()
        .filter(|l| l.starts_with("UDP 10.0.0.1:1000 > 10.0.0.2:2000"));
    assert!(first.count() == 1 && lines.iter().any(|l| l.contains("(first fragment, id")));
    let rest = lines
        .iter()
        .filter(|l| l.starts_with("10.0.0.1 > 10.0.0.2: IP fragment id"));
    assert_eq!(rest.count(), 2, "{lines:#?}");
}

//! `linnet sim`: the scripted walkthrough on a simulated network.
//!
//! Topology (all linnet stacks, one seed):
//!
//! ```text
//!   alice 10.0.1.2/24 --link0-- 10.0.1.1/24 router 10.0.2.1/24 --link1-- 10.0.2.2/24 bob
//! ```
//!
//! alice and bob route by default via the router, which forwards (`ip_forward = 1`). The
//! walkthrough: ARP and ping across the router; ping of an absent neighbour (three ARP
//! requests, then "Destination Host Unreachable"); a UDP echo; a UDP datagram to a closed
//! port (ICMP port unreachable, then ECONNREFUSED on the connected socket); a ping with
//! TTL 1 (time exceeded from the router); a TCP connection carrying 1 MiB across the
//! router and closing; the final counters.
//!
//! Linux: iputils ping's output lines, `ip neigh` and `/proc/net/snmp` layouts.
//! RFCs: those of the stack (791, 792, 826, 768).

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;
use std::io::Write;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::path::PathBuf;
use std::rc::Rc;

use clap::Args;
use linnet_core::{Duration, Errno, Event, Instant, PingEvent, StackConfig};
use linnet_testkit::{cidr, HostId, LinkConfig, Network, SimError};

/// Options of `linnet sim`.
#[derive(Debug, Args, Clone)]
pub struct SimArgs {
    /// Seed for every random choice; the same seed replays the same run.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Write one pcap capture per link into this directory (created if missing).
    #[arg(long, value_name = "DIR")]
    pub pcap: Option<PathBuf>,
    /// Frame loss on both links, in percent (0 to 100).
    #[arg(long, default_value_t = 0.0, value_parser = parse_percent)]
    pub loss: f64,
    /// One-way latency of each link, in milliseconds.
    #[arg(long, default_value_t = 2)]
    pub latency_ms: u64,
    /// Do not print the frame trace, only the steps, results and counters.
    #[arg(long)]
    pub quiet: bool,
}

fn parse_percent(s: &str) -> Result<f64, String> {
    let v: f64 = s.parse().map_err(|_| format!("'{s}' is not a number"))?;
    if !(0.0..=100.0).contains(&v) {
        return Err(format!("{v} is outside 0..=100"));
    }
    Ok(v)
}

/// Errors of a simulation run.
#[derive(Debug)]
pub enum SimRunError {
    /// The simulator stopped (step budget).
    Sim(SimError),
    /// Writing the output or a capture failed.
    Io(std::io::Error),
    /// The stack refused a configuration or socket call.
    Stack(String),
}

impl fmt::Display for SimRunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimRunError::Sim(e) => write!(f, "simulation: {e}"),
            SimRunError::Io(e) => write!(f, "output: {e}"),
            SimRunError::Stack(e) => write!(f, "stack: {e}"),
        }
    }
}

impl From<SimError> for SimRunError {
    fn from(e: SimError) -> Self {
        SimRunError::Sim(e)
    }
}

impl From<std::io::Error> for SimRunError {
    fn from(e: std::io::Error) -> Self {
        SimRunError::Io(e)
    }
}

fn stack_err(what: &str, e: impl fmt::Debug) -> SimRunError {
    SimRunError::Stack(format!("{what}: {e:?}"))
}

const ROUTER_A: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 1);
const ROUTER_B: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 1);
const BOB: Ipv4Addr = Ipv4Addr::new(10, 0, 2, 2);
const ABSENT: Ipv4Addr = Ipv4Addr::new(10, 0, 1, 99);
/// iputils ping's default payload.
const PING_DATA: usize = 56;

struct Sim<'w> {
    net: Network,
    out: &'w mut dyn Write,
    trace: Rc<RefCell<Vec<String>>>,
    quiet: bool,
    alice: HostId,
    router: HostId,
    bob: HostId,
    ping_sent: HashMap<(HostId, u16), Instant>,
}

/// Runs the walkthrough, writing to `out`.
pub fn run(args: &SimArgs, out: &mut dyn Write) -> Result<(), SimRunError> {
    let mut net = Network::new(args.seed);
    let router_cfg = StackConfig {
        ip_forward: true,
        ..StackConfig::default()
    };
    let alice = net.add_host(
        "alice",
        StackConfig::default(),
        args.seed.wrapping_mul(3) + 1,
    );
    let router = net.add_host("router", router_cfg, args.seed.wrapping_mul(3) + 2);
    let bob = net.add_host("bob", StackConfig::default(), args.seed.wrapping_mul(3) + 3);
    let link = LinkConfig {
        latency: Duration::from_millis(args.latency_ms),
        loss: args.loss / 100.0,
        ..LinkConfig::default()
    };
    let l0 = net
        .add_link(alice, router, link.clone())
        .map_err(|e| stack_err("link", e))?;
    let l1 = net
        .add_link(router, bob, link)
        .map_err(|e| stack_err("link", e))?;
    let addr = |net: &mut Network, h, dev, c: &str| {
        net.stack_mut(h)
            .add_addr(dev, cidr(c))
            .map_err(|e| stack_err("ip addr add", e))
    };
    addr(&mut net, alice, l0.a, "10.0.1.2/24")?;
    addr(&mut net, router, l0.b, "10.0.1.1/24")?;
    addr(&mut net, router, l1.a, "10.0.2.1/24")?;
    addr(&mut net, bob, l1.b, "10.0.2.2/24")?;
    net.stack_mut(alice)
        .add_default_route(ROUTER_A)
        .map_err(|e| stack_err("ip route", e))?;
    net.stack_mut(bob)
        .add_default_route(ROUTER_B)
        .map_err(|e| stack_err("ip route", e))?;
    if let Some(dir) = &args.pcap {
        std::fs::create_dir_all(dir)?;
        net.capture(l0.id, dir.join("link0-alice-router.pcap"))?;
        net.capture(l1.id, dir.join("link1-router-bob.pcap"))?;
    }
    let trace = Rc::new(RefCell::new(Vec::new()));
    let sink = Rc::clone(&trace);
    net.set_trace(Box::new(move |ev| sink.borrow_mut().push(ev.to_string())));
    let mut sim = Sim {
        net,
        out,
        trace,
        quiet: args.quiet,
        alice,
        router,
        bob,
        ping_sent: HashMap::new(),
    };
    writeln!(
        sim.out,
        "linnet sim: seed {}, loss {}%, latency {} ms\n\
         topology: alice 10.0.1.2/24 --link0-- 10.0.1.1/24 router 10.0.2.1/24 --link1-- \
         10.0.2.2/24 bob\n\
         alice and bob route via the router; the router forwards (ip_forward=1).",
        args.seed, args.loss, args.latency_ms
    )?;
    sim.walkthrough()?;
    if args.pcap.is_some() {
        let n0 = sim.net.stop_capture(l0.id)?;
        let n1 = sim.net.stop_capture(l1.id)?;
        writeln!(
            sim.out,
            "\npcap: {n0} frames on link0, {n1} frames on link1"
        )?;
    }
    Ok(())
}

impl Sim<'_> {
    fn step(&mut self, n: u32, title: &str) -> Result<(), SimRunError> {
        writeln!(self.out, "\n== {n}. {title}")?;
        Ok(())
    }

    /// Runs the network for `d`, printing the frames and the events as they happened.
    fn run_for(&mut self, d: Duration) -> Result<(), SimRunError> {
        self.net.run_for(d)?;
        let lines: Vec<String> = self.trace.borrow_mut().drain(..).collect();
        if !self.quiet {
            for l in lines {
                writeln!(self.out, "  {l}")?;
            }
        }
        for host in [self.alice, self.router, self.bob] {
            while let Some((at, ev)) = self.net.poll_event(host) {
                self.report(host, at, ev)?;
            }
        }
        Ok(())
    }

    fn name(&self, h: HostId) -> String {
        self.net.host_name(h).to_string()
    }

    /// Prints a ping event the way iputils ping does.
    fn report(&mut self, host: HostId, at: Instant, ev: Event) -> Result<(), SimRunError> {
        let who = self.name(host);
        match ev {
            Event::Ping(PingEvent::Reply {
                from,
                seq,
                len,
                ttl,
                ident,
            }) => {
                let rtt = self
                    .ping_sent
                    .get(&(host, ident))
                    .map(|t| at.saturating_since(*t).as_secs_f64() * 1000.0)
                    .unwrap_or(0.0);
                writeln!(
                    self.out,
                    "  [{who}] {} bytes from {from}: icmp_seq={seq} ttl={ttl} time={rtt:.1} ms",
                    len + 8
                )?;
            }
            Event::Ping(PingEvent::Error {
                from,
                msg_type,
                code,
                seq,
                ..
            }) => {
                let what = match (msg_type, code) {
                    (3, 0) => "Destination Net Unreachable",
                    (3, 1) => "Destination Host Unreachable",
                    (3, 3) => "Destination Port Unreachable",
                    (11, 0) => "Time to live exceeded",
                    _ => "ICMP error",
                };
                writeln!(self.out, "  [{who}] From {from} icmp_seq={seq} {what}")?;
            }
            Event::Readable(_)
            | Event::Error(_)
            | Event::Writable(_)
            | Event::Connected(_)
            | Event::Acceptable(_)
            | Event::Urgent(_) => {}
        }
        Ok(())
    }

    fn ping(
        &mut self,
        from: HostId,
        to: Ipv4Addr,
        ident: u16,
        seq: u16,
        ttl: Option<u8>,
    ) -> Result<(), SimRunError> {
        let payload: Vec<u8> = (0..PING_DATA).map(|i| i as u8).collect();
        self.ping_sent.insert((from, ident), self.net.now());
        let name = self.name(from);
        match self
            .net
            .stack_mut(from)
            .ping_send(to, ident, seq, ttl, &payload)
        {
            Ok(()) => {
                let ttl = ttl.map(|t| format!(" (ttl {t})")).unwrap_or_default();
                writeln!(
                    self.out,
                    "  [{name}] PING {to}: {PING_DATA} data bytes, icmp_seq={seq}{ttl}"
                )?;
            }
            Err(e) => writeln!(self.out, "  [{name}] ping: {to}: {e}")?,
        }
        Ok(())
    }

    fn walkthrough(&mut self) -> Result<(), SimRunError> {
        let (alice, router, bob) = (self.alice, self.router, self.bob);

        self.step(
            1,
            "alice pings bob: ARP resolves each hop, the router forwards",
        )?;
        for seq in 1..=3 {
            self.ping(alice, BOB, 0x1001, seq, None)?;
            self.run_for(Duration::from_secs(1))?;
        }
        self.neigh(alice)?;
        self.neigh(router)?;

        self.step(
            2,
            "alice pings 10.0.1.99, which is absent: 3 ARP requests, then unreachable",
        )?;
        self.ping(alice, ABSENT, 0x1002, 1, None)?;
        self.run_for(Duration::from_secs(4))?;
        self.neigh(alice)?;

        self.step(
            3,
            "UDP echo: bob listens on port 7, alice sends \"hello, bob\"",
        )?;
        let err = |what: &'static str| move |e: Errno| stack_err(what, e);
        let echo = self
            .net
            .stack_mut(bob)
            .udp_socket()
            .map_err(err("socket"))?;
        self.net
            .stack_mut(bob)
            .udp_bind(echo, SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 7))
            .map_err(err("bind"))?;
        let client = self
            .net
            .stack_mut(alice)
            .udp_socket()
            .map_err(err("socket"))?;
        let dest = SocketAddrV4::new(BOB, 7);
        self.net
            .stack_mut(alice)
            .udp_send_to(client, b"hello, bob", Some(dest))
            .map_err(err("sendto"))?;
        let local = self
            .net
            .stack(alice)
            .udp_local_addr(client)
            .map_err(err("getsockname"))?;
        writeln!(
            self.out,
            "  [alice] sendto({dest}) from port {}: 10 bytes",
            local.port()
        )?;
        self.run_for(Duration::from_millis(100))?;
        let mut buf = [0u8; 1500];
        match self.net.stack_mut(bob).udp_recv_from(echo, &mut buf) {
            Ok(m) => {
                let text = String::from_utf8_lossy(&buf[..m.len]).into_owned();
                writeln!(
                    self.out,
                    "  [bob] recvfrom: {} bytes from {}: {text:?}",
                    m.len, m.from
                )?;
                self.net
                    .stack_mut(bob)
                    .udp_send_to(echo, &buf[..m.len], Some(m.from))
                    .map_err(err("sendto"))?;
                writeln!(self.out, "  [bob] echoed it back")?;
            }
            Err(e) => writeln!(self.out, "  [bob] recvfrom: {e}")?,
        }
        self.run_for(Duration::from_millis(100))?;
        match self.net.stack_mut(alice).udp_recv_from(client, &mut buf) {
            Ok(m) => {
                let text = String::from_utf8_lossy(&buf[..m.len]).into_owned();
                writeln!(
                    self.out,
                    "  [alice] recvfrom: {} bytes from {}: {text:?}",
                    m.len, m.from
                )?;
            }
            Err(e) => writeln!(self.out, "  [alice] recvfrom: {e}")?,
        }

        self.step(
            4,
            "alice's connected UDP socket sends to closed port 9 on bob",
        )?;
        let conn = self
            .net
            .stack_mut(alice)
            .udp_socket()
            .map_err(err("socket"))?;
        self.net
            .stack_mut(alice)
            .udp_connect(conn, SocketAddrV4::new(BOB, 9))
            .map_err(err("connect"))?;
        let r = self
            .net
            .stack_mut(alice)
            .udp_send_to(conn, b"anyone?", None);
        writeln!(
            self.out,
            "  [alice] send: {}",
            show(r.map(|n| format!("{n} bytes")))
        )?;
        self.run_for(Duration::from_millis(100))?;
        let r = self
            .net
            .stack_mut(alice)
            .udp_send_to(conn, b"anyone?", None);
        writeln!(
            self.out,
            "  [alice] send again: {}",
            show(r.map(|n| format!("{n} bytes")))
        )?;
        self.run_for(Duration::from_millis(100))?;

        self.step(
            5,
            "alice pings bob with TTL 1: the router answers time exceeded",
        )?;
        self.ping(alice, BOB, 0x1003, 1, Some(1))?;
        self.run_for(Duration::from_secs(1))?;

        self.tcp_transfer()?;

        self.step(7, "counters (as /proc/net/snmp lays them out) and devices")?;
        for h in [alice, router, bob] {
            self.counters(h)?;
        }
        Ok(())
    }

    /// Step 6: a TCP connection across the router, 1 MB from alice to bob, then an orderly
    /// close. Only the first and last frames of the transfer are printed.
    fn tcp_transfer(&mut self) -> Result<(), SimRunError> {
        const TOTAL: usize = 1 << 20;
        const PORT: u16 = 5001;
        let (alice, bob) = (self.alice, self.bob);
        self.step(
            6,
            "TCP: bob listens on port 5001, alice connects and sends 1 MiB, then closes",
        )?;
        let err = |what: &'static str| move |e: Errno| stack_err(what, e);
        let listener = self
            .net
            .stack_mut(bob)
            .tcp_socket()
            .map_err(err("socket"))?;
        let any = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, PORT);
        self.net
            .stack_mut(bob)
            .tcp_bind(listener, any)
            .map_err(err("bind"))?;
        self.net
            .stack_mut(bob)
            .tcp_listen(listener, 128)
            .map_err(err("listen"))?;
        let client = self
            .net
            .stack_mut(alice)
            .tcp_socket()
            .map_err(err("socket"))?;
        let start = self.net.now();
        match self
            .net
            .stack_mut(alice)
            .tcp_connect(client, SocketAddrV4::new(BOB, PORT))
        {
            Ok(()) | Err(Errno::EINPROGRESS) => {}
            Err(e) => return Err(stack_err("connect", e)),
        }
        writeln!(self.out, "  [alice] connect(10.0.2.2:{PORT}): EINPROGRESS")?;
        let data: Vec<u8> = (0..TOTAL).map(|i| (i * 7 + i / 251) as u8).collect();
        let (mut sent, mut got, mut conn, mut closed) = (0usize, Vec::new(), None, false);
        let mut buf = vec![0u8; 65536];
        let mut printed = 0usize;
        let mut skipped = 0usize;
        let mut last_lines: Vec<String> = Vec::new();
        let deadline = start + Duration::from_secs(60);
        while self.net.now() < deadline {
            self.net.run_for(Duration::from_millis(5))?;
            for l in self.trace.borrow_mut().drain(..) {
                if printed < 6 {
                    if !self.quiet {
                        writeln!(self.out, "  {l}")?;
                    }
                    printed += 1;
                } else {
                    skipped += 1;
                    last_lines.push(l);
                    if last_lines.len() > 6 {
                        last_lines.remove(0);
                        continue;
                    }
                }
            }
            for h in [alice, self.router, bob] {
                while self.net.poll_event(h).is_some() {}
            }
            if conn.is_none() {
                if let Ok((c, peer)) = self.net.stack_mut(bob).tcp_accept(listener) {
                    writeln!(self.out, "  [bob] accept: connection from {peer}")?;
                    conn = Some(c);
                }
            }
            while sent < TOTAL {
                match self.net.stack_mut(alice).tcp_send(client, &data[sent..]) {
                    Ok(n) if n > 0 => sent += n,
                    _ => break,
                }
            }
            if sent == TOTAL && !closed {
                self.net
                    .stack_mut(alice)
                    .tcp_close(client)
                    .map_err(err("close"))?;
                closed = true;
            }
            if let Some(c) = conn {
                loop {
                    match self.net.stack_mut(bob).tcp_recv(c, &mut buf) {
                        Ok(0) => {
                            let _ = self.net.stack_mut(bob).tcp_close(c);
                            conn = None;
                            break;
                        }
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                        Err(_) => break,
                    }
                }
                if conn.is_none() {
                    break;
                }
            }
        }
        if !self.quiet {
            let hidden = skipped.saturating_sub(last_lines.len());
            writeln!(self.out, "  ... {hidden} more frames ...")?;
            for l in last_lines {
                writeln!(self.out, "  {l}")?;
            }
        }
        let took = self.net.now().saturating_since(start).as_secs_f64();
        let intact = got == data;
        writeln!(
            self.out,
            "  [bob] read {} bytes, then end of stream; data intact: {}",
            got.len(),
            if intact { "yes" } else { "NO" }
        )?;
        let retrans = self.net.stack(alice).counters().tcp.retrans_segs;
        writeln!(
            self.out,
            "  transfer took {took:.3} s of virtual time ({:.1} Mbit/s), {retrans} segments retransmitted",
            (got.len() * 8) as f64 / took / 1e6
        )?;
        let _ = self.net.stack_mut(bob).tcp_close(listener);
        // The rest of the close handshake.
        self.run_for(Duration::from_millis(100))?;
        Ok(())
    }

    /// `ip neigh show` for `host`.
    fn neigh(&mut self, host: HostId) -> Result<(), SimRunError> {
        let name = self.name(host);
        let stack = self.net.stack(host);
        let mut lines: Vec<(Ipv4Addr, String)> = stack
            .arp_table()
            .iter()
            .map(|(dev, addr, n)| {
                let lladdr = n.ha.map(|m| format!(" lladdr {m}")).unwrap_or_default();
                let line = format!(
                    "{addr} dev {}{lladdr} {}",
                    stack.device_name(dev),
                    n.state.name()
                );
                (addr, line)
            })
            .collect();
        lines.sort();
        writeln!(self.out, "  [{name}] ip neigh")?;
        for (_, l) in lines {
            writeln!(self.out, "    {l}")?;
        }
        Ok(())
    }

    fn counters(&mut self, host: HostId) -> Result<(), SimRunError> {
        let name = self.name(host);
        let stack = self.net.stack(host);
        let snmp = crate::render::proc_net_snmp(&stack.counters());
        let devs: Vec<String> = stack
            .devices()
            .map(|d| {
                format!(
                    "{}: RX {} packets {} bytes, TX {} packets {} bytes, dropped {}/{}",
                    d.name,
                    d.stats.rx_packets,
                    d.stats.rx_bytes,
                    d.stats.tx_packets,
                    d.stats.tx_bytes,
                    d.stats.rx_dropped,
                    d.stats.tx_dropped
                )
            })
            .collect();
        writeln!(self.out, "  [{name}]")?;
        for l in snmp.lines() {
            writeln!(self.out, "    {l}")?;
        }
        for d in devs {
            writeln!(self.out, "    {d}")?;
        }
        Ok(())
    }
}

fn show(r: Result<String, Errno>) -> String {
    match r {
        Ok(s) => s,
        Err(e) => format!("error {} ({})", e.name(), e.message()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(args: &SimArgs) -> String {
        let mut out = Vec::new();
        run(args, &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    fn args(seed: u64) -> SimArgs {
        SimArgs {
            seed,
            pcap: None,
            loss: 0.0,
            latency_ms: 2,
            quiet: false,
        }
    }

    #[test]
    fn walkthrough_shows_arp_ping_unreachable_udp_and_refused() {
        let text = output(&args(1));
        // Step 1: ARP for the router, then replies from bob across one hop (TTL 63).
        assert!(
            text.contains("ARP who-has 10.0.1.1 tell 10.0.1.2"),
            "{text}"
        );
        assert!(
            text.contains("64 bytes from 10.0.2.2: icmp_seq=1 ttl=63"),
            "{text}"
        );
        assert!(text.contains("icmp_seq=3 ttl=63"), "{text}");
        assert!(
            text.contains("10.0.1.1 dev eth0 lladdr 02:00:00:00:02:00 REACHABLE"),
            "{text}"
        );
        // Step 2: three broadcast requests for the absent host, then host unreachable.
        assert_eq!(text.matches("ARP who-has 10.0.1.99").count(), 3, "{text}");
        assert!(
            text.contains("From 10.0.1.2 icmp_seq=1 Destination Host Unreachable"),
            "{text}"
        );
        assert!(text.contains("10.0.1.99 dev eth0 FAILED"), "{text}");
        // Step 3: the echo went there and back.
        assert!(
            text.contains("[bob] recvfrom: 10 bytes from 10.0.1.2:"),
            "{text}"
        );
        assert!(
            text.contains("[alice] recvfrom: 10 bytes from 10.0.2.2:7: \"hello, bob\""),
            "{text}"
        );
        // Step 4: port unreachable, then ECONNREFUSED once.
        assert!(text.contains("send again: error ECONNREFUSED"), "{text}");
        // Step 5: the router reports the TTL.
        assert!(
            text.contains("From 10.0.1.1 icmp_seq=1 Time to live exceeded"),
            "{text}"
        );
        // Step 6: TCP moved 1 MiB intact across the router.
        assert!(
            text.contains("[bob] accept: connection from 10.0.1.2:"),
            "{text}"
        );
        assert!(
            text.contains("[bob] read 1048576 bytes, then end of stream; data intact: yes"),
            "{text}"
        );
        // Step 7: bob counted the closed-port datagram; the router forwarded.
        assert!(text.contains("Udp: 1 1 0 1 0 0 0 0 0"), "{text}");
        assert!(text.contains("Ip: 1 64"), "{text}");
    }

    #[test]
    fn same_seed_replays_exactly_even_with_loss() {
        let a = SimArgs {
            loss: 20.0,
            ..args(42)
        };
        assert_eq!(output(&a), output(&a));
    }

    #[test]
    fn percent_outside_range_is_refused_with_the_value() {
        assert!(parse_percent("101").unwrap_err().contains("101"));
        assert!(parse_percent("x").unwrap_err().contains("'x'"));
    }
}

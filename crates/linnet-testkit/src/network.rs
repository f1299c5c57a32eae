//! `Network`: many stacks, the links between them, and the virtual clock that drives them.
//!
//! Linux analogue: a host running several network namespaces joined by veth pairs, with
//! the kernel's timers and softirqs replaced by one discrete-event loop.
//! RFCs: none beyond those of the links (see `LinkConfig`).
//!
//! How the loop runs is documented on [`Network`].

use std::collections::{BinaryHeap, VecDeque};
use std::fmt;
use std::io;
use std::path::Path;

use linnet_core::wire::EthernetAddress;
use linnet_core::{
    ConfigError, DeviceConfig, DeviceKind, Duration, Event, IfIndex, Instant, SkBuff, Stack,
    StackConfig,
};
use rand_core::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::capture::Capture;
use crate::link::{Direction, Fate, Link, LinkConfig, LinkEnd, LinkEnds, LinkId, LinkStats};
use crate::trace::{summarize, TraceEvent, TraceKind};

/// Steps one run may take before it is declared a livelock.
pub const DEFAULT_STEP_BUDGET: u64 = 10_000_000;

/// Events kept per host without a handler before the oldest are dropped.
const EVENT_QUEUE_LIMIT: usize = 65_536;

/// Spare frame buffers kept for reuse.
const FREE_BUF_LIMIT: usize = 1024;

/// A host of a [`Network`], numbered from 0 in the order they were added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(pub usize);

impl fmt::Display for HostId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "host{}", self.0)
    }
}

/// Reacts to a host's events as they happen (an "application" on that host). It may use
/// [`Network::stack_mut`], [`Network::schedule`] and the accessors, but not run the network.
pub type EventHandler = Box<dyn FnMut(&mut Network, HostId, Event)>;

/// Receives every traced frame ([`Network::set_trace`]).
pub type TraceSink = Box<dyn FnMut(&TraceEvent)>;

/// A scripted action.
type Action = Box<dyn FnOnce(&mut Network)>;

/// Why a run stopped early.
#[derive(Clone, PartialEq, Eq)]
pub enum SimError {
    /// The run took more steps than its budget allows.
    StepBudgetExhausted {
        /// Virtual time when the budget ran out.
        at: Instant,
        /// The budget.
        budget: u64,
    },
}

impl fmt::Display for SimError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SimError::StepBudgetExhausted { at, budget } => write!(
                f,
                "step budget exhausted: possible livelock at t={at} ({budget} steps in one run; \
                 raise it with Network::set_step_budget if the work is genuine)"
            ),
        }
    }
}

impl fmt::Debug for SimError {
    /// Same as `Display`, so that `unwrap()` prints the message.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl std::error::Error for SimError {}

struct Host {
    name: String,
    stack: Stack,
    /// `stack.poll_timeout()` as of the last flush.
    timeout: Option<Instant>,
    /// The stack was handed out mutably and may have output to flush.
    dirty: bool,
    events: VecDeque<(Instant, Event)>,
    events_dropped: u64,
    handler: Option<EventHandler>,
    /// By ifindex: the link and end this device is plugged into.
    ports: Vec<Option<(usize, usize)>>,
    /// Ethernet devices created by `add_link` (names eth0, eth1, ...).
    eth_count: u32,
}

enum PendingKind {
    Frame {
        link: usize,
        side: usize,
        data: Vec<u8>,
        duplicate: bool,
        reordered: bool,
    },
    Action(Action),
}

struct Pending {
    at: Instant,
    seq: u64,
    kind: PendingKind,
}

impl PartialEq for Pending {
    fn eq(&self, o: &Self) -> bool {
        (self.at, self.seq) == (o.at, o.seq)
    }
}
impl Eq for Pending {}
impl PartialOrd for Pending {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Pending {
    /// Reversed, so that `BinaryHeap` pops the earliest (then first queued) entry.
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.at, o.seq).cmp(&(self.at, self.seq))
    }
}

enum Next {
    Queue,
    Timer(usize),
}

/// A simulated network of [`Stack`]s on virtual time.
///
/// # The event loop
/// Pending work is of three kinds: frames on links (due at their arrival time), actions
/// scripted with [`Network::schedule`], and stack timers (due at each stack's
/// [`Stack::poll_timeout`]). [`Network::step`] jumps the clock to the earliest of them and
/// runs exactly that one; ties go to frames and actions first (in the order they were
/// queued), then to timers in host order. The loop never sleeps and never reads a clock.
///
/// After every input to a stack (a frame, a timeout, an action or API call through
/// [`Network::stack_mut`]) the network follows the core's calling order: it drains
/// `poll_transmit` (copying each frame onto its link and recycling the buffer to the
/// sending stack), reads `poll_timeout`, then drains `poll_event` (to the host's event
/// handler if one is set, else to a queue read with [`Network::poll_event`]).
///
/// # The step budget
/// A run stops with [`SimError::StepBudgetExhausted`] after a number of steps (frame
/// deliveries, actions, timer runs and event-handler calls; [`DEFAULT_STEP_BUDGET`] unless
/// changed with [`Network::set_step_budget`]) within one [`Network::run_until`],
/// [`Network::run_for`] or [`Network::step`] call. A stack whose timer never moves forward,
/// or two stacks answering each other forever at the same instant, end there instead of
/// hanging the test.
pub struct Network {
    now: Instant,
    rng: Xoshiro256PlusPlus,
    hosts: Vec<Host>,
    links: Vec<Link>,
    queue: BinaryHeap<Pending>,
    seq: u64,
    step_budget: u64,
    steps_left: u64,
    steps: u64,
    in_callback: u32,
    trace_sink: Option<TraceSink>,
    trace_log: Option<Vec<TraceEvent>>,
    free_bufs: Vec<Vec<u8>>,
    unattached_tx: u64,
}

impl fmt::Debug for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Network")
            .field("now", &self.now)
            .field(
                "hosts",
                &self
                    .hosts
                    .iter()
                    .map(|h| h.name.as_str())
                    .collect::<Vec<_>>(),
            )
            .field("links", &self.links)
            .field("pending", &self.queue.len())
            .field("steps", &self.steps)
            .finish()
    }
}

impl Network {
    /// An empty network at time zero whose links draw their randomness from `seed`.
    pub fn new(seed: u64) -> Network {
        Network {
            now: Instant::ZERO,
            rng: Xoshiro256PlusPlus::seed_from_u64(seed),
            hosts: Vec::new(),
            links: Vec::new(),
            queue: BinaryHeap::new(),
            seq: 0,
            step_budget: DEFAULT_STEP_BUDGET,
            steps_left: DEFAULT_STEP_BUDGET,
            steps: 0,
            in_callback: 0,
            trace_sink: None,
            trace_log: None,
            free_bufs: Vec::new(),
            unattached_tx: 0,
        }
    }

    /// Sets how many steps one run may take (see the module docs).
    pub fn set_step_budget(&mut self, steps: u64) {
        self.step_budget = steps;
    }

    /// The step budget of one run.
    pub fn step_budget(&self) -> u64 {
        self.step_budget
    }

    /// Steps taken since the network was made.
    pub fn steps(&self) -> u64 {
        self.steps
    }

    /// The virtual time.
    pub fn now(&self) -> Instant {
        self.now
    }

    // ---- hosts --------------------------------------------------------------------

    /// Adds a host: a fresh [`Stack`] (loopback only) with `cfg`, drawing its randomness
    /// from `seed`.
    pub fn add_host(&mut self, name: &str, cfg: StackConfig, seed: u64) -> HostId {
        self.hosts.push(Host {
            name: name.to_string(),
            stack: Stack::new(cfg, seed),
            timeout: None,
            dirty: true,
            events: VecDeque::new(),
            events_dropped: 0,
            handler: None,
            ports: Vec::new(),
            eth_count: 0,
        });
        HostId(self.hosts.len() - 1)
    }

    /// All hosts.
    pub fn hosts(&self) -> impl Iterator<Item = HostId> {
        (0..self.hosts.len()).map(HostId)
    }

    /// The host named `name`.
    pub fn host_by_name(&self, name: &str) -> Option<HostId> {
        self.hosts.iter().position(|h| h.name == name).map(HostId)
    }

    /// A host's name.
    ///
    /// # Panics
    /// Panics if `host` is not from this network (as do all methods taking a `HostId`).
    pub fn host_name(&self, host: HostId) -> &str {
        &self.hosts[host.0].name
    }

    /// A host's stack, to read.
    pub fn stack(&self, host: HostId) -> &Stack {
        &self.hosts[host.0].stack
    }

    /// A host's stack, to configure or to use its sockets. Its output is flushed onto the
    /// links at the current virtual time when the network next runs.
    ///
    /// The stack's clock is first brought to [`Network::now`] (by calling
    /// `handle_timeout(now)`, which runs nothing that is not due): the core's socket calls
    /// take no `now` and would otherwise arm timers from the time of the stack's last input.
    pub fn stack_mut(&mut self, host: HostId) -> &mut Stack {
        let now = self.now;
        let h = &mut self.hosts[host.0];
        h.dirty = true;
        h.stack.handle_timeout(now);
        &mut h.stack
    }

    /// Installs `handler` for `host`'s events: it is called as each event happens, in place
    /// of queueing it for [`Network::poll_event`].
    pub fn set_event_handler(
        &mut self,
        host: HostId,
        handler: impl FnMut(&mut Network, HostId, Event) + 'static,
    ) {
        self.hosts[host.0].handler = Some(Box::new(handler));
    }

    /// Removes `host`'s event handler; later events queue again.
    pub fn clear_event_handler(&mut self, host: HostId) {
        self.hosts[host.0].handler = None;
    }

    /// The oldest queued event of `host`, with the virtual time it happened.
    pub fn poll_event(&mut self, host: HostId) -> Option<(Instant, Event)> {
        self.hosts[host.0].events.pop_front()
    }

    /// Events of `host` dropped because nobody read the queue (65536 are kept).
    pub fn events_dropped(&self, host: HostId) -> u64 {
        self.hosts[host.0].events_dropped
    }

    /// Runs `action` at virtual time `at` (now, if `at` is past). Actions script a run:
    /// "at t=1 s, A sends a datagram". They may schedule further actions.
    pub fn schedule(&mut self, at: Instant, action: impl FnOnce(&mut Network) + 'static) {
        let at = at.max(self.now);
        self.push(at, PendingKind::Action(Box::new(action)));
    }

    // ---- links --------------------------------------------------------------------

    /// Joins `a` and `b` with a link: creates an Ethernet device on each (named `ethN`, the
    /// next free N; MAC `02:00:HH:HH:HH:NN` with HH the host number + 1 and NN = N, so host
    /// 0's eth1 is 02:00:00:00:01:01), gives it the link's MTU and sets it up. Addresses
    /// and routes are then configured through [`Network::stack_mut`].
    pub fn add_link(
        &mut self,
        a: HostId,
        b: HostId,
        cfg: LinkConfig,
    ) -> Result<LinkEnds, ConfigError> {
        if !(68..=65535).contains(&cfg.mtu) {
            return Err(ConfigError::BadMtu);
        }
        let id = self.links.len();
        let mut ends = [LinkEnd {
            host: a,
            ifindex: IfIndex(0),
            mac: EthernetAddress([0; 6]),
        }; 2];
        for (side, host) in [a, b].into_iter().enumerate() {
            let h = &mut self.hosts[host.0];
            let mut name = format!("eth{}", h.eth_count);
            while h.stack.device_by_name(&name).is_some() {
                h.eth_count += 1;
                name = format!("eth{}", h.eth_count);
            }
            let n = (host.0 as u32).wrapping_add(1).to_be_bytes();
            let mac = EthernetAddress([2, 0, n[1], n[2], n[3], h.eth_count as u8]);
            let ifindex = h.stack.add_device(DeviceConfig {
                name,
                kind: DeviceKind::Ethernet { mac },
                mtu: Some(cfg.mtu),
            })?;
            h.stack.set_up(ifindex, true)?;
            h.eth_count += 1;
            h.dirty = true;
            let i = ifindex.0 as usize;
            if h.ports.len() <= i {
                h.ports.resize(i + 1, None);
            }
            h.ports[i] = Some((id, side));
            ends[side] = LinkEnd { host, ifindex, mac };
        }
        self.links.push(Link::new(cfg, ends));
        Ok(LinkEnds {
            id: LinkId(id),
            a: ends[0].ifindex,
            b: ends[1].ifindex,
        })
    }

    /// All links.
    pub fn links(&self) -> impl Iterator<Item = LinkId> {
        (0..self.links.len()).map(LinkId)
    }

    /// The two ends of a link, `a` first.
    ///
    /// # Panics
    /// Panics if `link` is not from this network (as do all methods taking a `LinkId`).
    pub fn link_ends(&self, link: LinkId) -> [LinkEnd; 2] {
        self.links[link.0].ends
    }

    /// A link's configuration.
    pub fn link_config(&self, link: LinkId) -> &LinkConfig {
        &self.links[link.0].cfg
    }

    /// Changes a link's impairments from now on (frames in flight keep their arrival time).
    /// The devices' MTUs are left alone, so lowering `mtu` here makes the link drop what the
    /// stacks still send (a black hole for path-MTU tests).
    pub fn set_link_config(&mut self, link: LinkId, cfg: LinkConfig) {
        self.links[link.0].cfg = cfg;
    }

    /// A link's counters, both directions summed.
    pub fn link_stats(&self, link: LinkId) -> LinkStats {
        self.links[link.0].total_stats()
    }

    /// A link's counters in one direction.
    pub fn link_dir_stats(&self, link: LinkId, dir: Direction) -> LinkStats {
        self.links[link.0].dirs[dir.index()].stats
    }

    /// Frames sent on devices plugged into no link (dropped).
    pub fn unattached_tx(&self) -> u64 {
        self.unattached_tx
    }

    // ---- traces and captures ------------------------------------------------------

    /// Calls `sink` for every traced frame: each delivery, and each loss or oversize drop.
    pub fn set_trace(&mut self, sink: TraceSink) {
        self.trace_sink = Some(sink);
    }

    /// Removes the trace sink.
    pub fn clear_trace(&mut self) {
        self.trace_sink = None;
    }

    /// Starts (or stops, dropping what was kept) keeping traced frames in memory.
    pub fn record_trace(&mut self, on: bool) {
        self.trace_log = on.then(Vec::new);
    }

    /// The frames traced since [`Network::record_trace`] was turned on.
    pub fn trace_log(&self) -> &[TraceEvent] {
        self.trace_log.as_deref().unwrap_or(&[])
    }

    /// Takes the kept trace, leaving recording on.
    pub fn take_trace_log(&mut self) -> Vec<TraceEvent> {
        self.trace_log
            .as_mut()
            .map(std::mem::take)
            .unwrap_or_default()
    }

    /// Captures `link` into a pcap file at `path` (see [`Network::capture_to`]).
    pub fn capture(&mut self, link: LinkId, path: impl AsRef<Path>) -> io::Result<()> {
        let file = std::fs::File::create(path)?;
        self.capture_to(link, io::BufWriter::new(file))
    }

    /// Captures `link` into `out` as a pcap stream (LINKTYPE_ETHERNET, nanosecond
    /// timestamps of virtual time), replacing any capture already attached (which is
    /// finished first; its error, if any, is returned).
    ///
    /// Frames are recorded on the sending side as they are put on the wire, before the
    /// link's impairments: a frame the link loses or drops as oversize is still captured,
    /// a duplicated frame is captured once. Both directions go into the same stream.
    pub fn capture_to(&mut self, link: LinkId, out: impl io::Write + 'static) -> io::Result<()> {
        let old = self.links[link.0].capture.take();
        self.links[link.0].capture = Some(Capture::new(Box::new(out))?);
        old.map_or(Ok(()), Capture::finish)
    }

    /// Detaches and flushes `link`'s capture. Returns the frames written, or the first
    /// write error. Captures still attached are flushed when the network is dropped.
    pub fn stop_capture(&mut self, link: LinkId) -> io::Result<u64> {
        match self.links[link.0].capture.take() {
            Some(c) => {
                let n = c.frames;
                c.finish().map(|()| n)
            }
            None => Ok(0),
        }
    }

    // ---- running ------------------------------------------------------------------

    /// When the next event is due (now, if a stack has output to flush), or `None` when
    /// nothing is pending at all.
    pub fn next_event_time(&self) -> Option<Instant> {
        if self.hosts.iter().any(|h| h.dirty) {
            return Some(self.now);
        }
        self.next_event().map(|(t, _)| t)
    }

    /// Runs the single earliest event, advancing the clock to it. Returns `false` when
    /// nothing is pending.
    pub fn step(&mut self) -> Result<bool, SimError> {
        self.check_not_in_callback();
        self.steps_left = self.step_budget;
        self.step_once()
    }

    /// Runs every event due up to and including `deadline`, then sets the clock to
    /// `deadline` (or leaves it, if already later).
    pub fn run_until(&mut self, deadline: Instant) -> Result<(), SimError> {
        self.check_not_in_callback();
        self.steps_left = self.step_budget;
        loop {
            self.flush_dirty()?;
            match self.next_event() {
                Some((t, _)) if t <= deadline => {
                    self.step_once()?;
                }
                _ => break,
            }
        }
        self.now = self.now.max(deadline);
        Ok(())
    }

    /// Runs for `d` of virtual time from now.
    pub fn run_for(&mut self, d: Duration) -> Result<(), SimError> {
        self.run_until(self.now + d)
    }

    fn check_not_in_callback(&self) {
        assert!(
            self.in_callback == 0,
            "Network::step/run_* called from an event handler or scheduled action"
        );
    }

    fn consume_step(&mut self) -> Result<(), SimError> {
        if self.steps_left == 0 {
            return Err(SimError::StepBudgetExhausted {
                at: self.now,
                budget: self.step_budget,
            });
        }
        self.steps_left -= 1;
        self.steps += 1;
        Ok(())
    }

    fn next_event(&self) -> Option<(Instant, Next)> {
        let queued = self.queue.peek().map(|p| p.at.max(self.now));
        let timer = self
            .hosts
            .iter()
            .enumerate()
            .filter_map(|(i, h)| h.timeout.map(|t| (t.max(self.now), i)))
            .min();
        match (queued, timer) {
            (Some(q), Some((t, i))) if t < q => Some((t, Next::Timer(i))),
            (Some(q), _) => Some((q, Next::Queue)),
            (None, Some((t, i))) => Some((t, Next::Timer(i))),
            (None, None) => None,
        }
    }

    fn step_once(&mut self) -> Result<bool, SimError> {
        self.flush_dirty()?;
        let Some((t, next)) = self.next_event() else {
            return Ok(false);
        };
        self.consume_step()?;
        self.now = t;
        match next {
            Next::Queue => {
                let Some(p) = self.queue.pop() else {
                    return Ok(false);
                };
                match p.kind {
                    PendingKind::Frame {
                        link,
                        side,
                        data,
                        duplicate,
                        reordered,
                    } => {
                        self.deliver(link, side, data, duplicate, reordered)?;
                    }
                    PendingKind::Action(action) => {
                        self.in_callback += 1;
                        action(self);
                        self.in_callback -= 1;
                        self.flush_dirty()?;
                    }
                }
            }
            Next::Timer(h) => {
                let now = self.now;
                self.hosts[h].stack.handle_timeout(now);
                self.flush(h)?;
            }
        }
        Ok(true)
    }

    fn push(&mut self, at: Instant, kind: PendingKind) {
        self.seq += 1;
        self.queue.push(Pending {
            at,
            seq: self.seq,
            kind,
        });
    }

    fn flush_dirty(&mut self) -> Result<(), SimError> {
        for h in 0..self.hosts.len() {
            if self.hosts[h].dirty {
                self.flush(h)?;
            }
        }
        Ok(())
    }

    /// The calling order after an input: drain transmit, read the timeout, drain events.
    fn flush(&mut self, h: usize) -> Result<(), SimError> {
        loop {
            self.hosts[h].dirty = false;
            while let Some((ifindex, skb)) = self.hosts[h].stack.poll_transmit() {
                self.transmit(h, ifindex, skb);
            }
            self.hosts[h].timeout = self.hosts[h].stack.poll_timeout();
            let now = self.now;
            while let Some(ev) = self.hosts[h].stack.poll_event() {
                let Some(mut handler) = self.hosts[h].handler.take() else {
                    let host = &mut self.hosts[h];
                    if host.events.len() >= EVENT_QUEUE_LIMIT {
                        host.events.pop_front();
                        host.events_dropped += 1;
                    }
                    host.events.push_back((now, ev));
                    continue;
                };
                let budget = self.consume_step();
                if budget.is_ok() {
                    self.in_callback += 1;
                    handler(self, HostId(h), ev);
                    self.in_callback -= 1;
                }
                if self.hosts[h].handler.is_none() {
                    self.hosts[h].handler = Some(handler);
                }
                budget?;
            }
            if !self.hosts[h].dirty {
                return Ok(());
            }
        }
    }

    fn alloc_buf(&mut self) -> Vec<u8> {
        self.free_bufs.pop().unwrap_or_default()
    }

    fn free_buf(&mut self, mut buf: Vec<u8>) {
        if self.free_bufs.len() < FREE_BUF_LIMIT {
            buf.clear();
            self.free_bufs.push(buf);
        }
    }

    fn tracing(&self) -> bool {
        self.trace_sink.is_some() || self.trace_log.is_some()
    }

    /// A frame leaves host `h` by `ifindex`: copy it onto the link, give the buffer back.
    fn transmit(&mut self, h: usize, ifindex: IfIndex, skb: SkBuff) {
        let port = self.hosts[h]
            .ports
            .get(ifindex.0 as usize)
            .copied()
            .flatten();
        let Some((link, side)) = port else {
            self.unattached_tx += 1;
            self.hosts[h].stack.recycle(skb);
            return;
        };
        let mut data = self.alloc_buf();
        data.extend_from_slice(skb.data());
        self.hosts[h].stack.recycle(skb);
        let now = self.now;
        let l = &mut self.links[link];
        if let Some(c) = l.capture.as_mut() {
            c.record(now, &data);
        }
        match l.decide(&mut self.rng, side, data.len()) {
            Fate::Oversize => {
                self.trace(link, side, TraceKind::Oversize, false, false, &data);
                self.free_buf(data);
            }
            Fate::Lost => {
                self.trace(link, side, TraceKind::Lost, false, false, &data);
                self.free_buf(data);
            }
            Fate::Deliver { copies } => {
                let copy = (copies > 1).then(|| {
                    let mut c = self.alloc_buf();
                    c.extend_from_slice(&data);
                    c
                });
                self.put_on_wire(link, side, data, false);
                if let Some(c) = copy {
                    self.put_on_wire(link, side, c, true);
                }
            }
        }
    }

    fn put_on_wire(&mut self, link: usize, side: usize, data: Vec<u8>, duplicate: bool) {
        let arrival = self.links[link].schedule(&mut self.rng, side, data.len(), self.now);
        let kind = PendingKind::Frame {
            link,
            side,
            data,
            duplicate,
            reordered: arrival.reordered,
        };
        self.push(arrival.at, kind);
    }

    fn deliver(
        &mut self,
        link: usize,
        side: usize,
        data: Vec<u8>,
        duplicate: bool,
        reordered: bool,
    ) -> Result<(), SimError> {
        let l = &mut self.links[link];
        let st = &mut l.dirs[side].stats;
        st.in_flight -= 1;
        st.delivered += 1;
        let to = l.ends[1 - side];
        self.trace(
            link,
            side,
            TraceKind::Delivered,
            duplicate,
            reordered,
            &data,
        );
        let now = self.now;
        let stack = &mut self.hosts[to.host.0].stack;
        let mut skb = stack.alloc_rx(data.len());
        skb.put_slice(&data);
        stack.receive(now, to.ifindex, skb);
        self.free_buf(data);
        self.flush(to.host.0)
    }

    fn trace(
        &mut self,
        link: usize,
        side: usize,
        kind: TraceKind,
        duplicate: bool,
        reordered: bool,
        data: &[u8],
    ) {
        if !self.tracing() {
            return;
        }
        let ends = self.links[link].ends;
        let (from, to) = (ends[side].host, ends[1 - side].host);
        let ev = TraceEvent {
            at: self.now,
            link: LinkId(link),
            dir: Direction::from_sender(side),
            from,
            to,
            from_name: self.hosts[from.0].name.clone(),
            to_name: self.hosts[to.0].name.clone(),
            kind,
            duplicate,
            reordered,
            len: data.len(),
            summary: summarize(data),
        };
        if let Some(sink) = self.trace_sink.as_mut() {
            sink(&ev);
        }
        if let Some(log) = self.trace_log.as_mut() {
            log.push(ev);
        }
    }
}

//! Point-to-point links and their impairments: latency, jitter, loss, duplication,
//! reordering, MTU and bandwidth.
//!
//! Linux analogue: a veth pair (drivers/net/veth.c) with a `netem` qdisc on each end
//! (net/sched/sch_netem.c). The impairment model is documented on [`LinkConfig`].
//! RFCs: none (RFC 894 framing is checked only for size).

use core::fmt;

use linnet_core::wire::EthernetAddress;
use linnet_core::{Duration, IfIndex, Instant};
use rand_core::RngCore;

use crate::capture::Capture;
use crate::network::HostId;

/// A link of a [`crate::Network`], numbered from 0 in the order they were added.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LinkId(pub usize);

impl fmt::Display for LinkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "link{}", self.0)
    }
}

/// A direction along a link: `AToB` carries frames sent by the first host given to
/// [`crate::Network::add_link`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Direction {
    /// From end `a` to end `b`.
    AToB,
    /// From end `b` to end `a`.
    BToA,
}

impl Direction {
    /// 0 for `AToB`, 1 for `BToA`: the index of the sending end.
    pub fn index(self) -> usize {
        match self {
            Direction::AToB => 0,
            Direction::BToA => 1,
        }
    }

    pub(crate) fn from_sender(side: usize) -> Direction {
        if side == 0 {
            Direction::AToB
        } else {
            Direction::BToA
        }
    }
}

/// How a link behaves (the role of `tc qdisc ... netem` on both ends of a veth pair). The
/// same impairments apply to both directions, each drawing its own random decisions from the
/// network's seeded PRNG.
///
/// The decisions follow netem's order: a frame is first checked against the MTU, then may be
/// lost, then may be duplicated; each copy then waits for the wire (bandwidth), and is
/// delayed by `latency ± jitter` unless it is picked for reordering, in which case it skips
/// the delay and overtakes the frames in flight (netem's `reorder`: "a percentage of packets
/// are sent immediately, the others delayed").
///
/// Deviation from netem: jitter alone never reorders. A delayed frame never arrives before
/// the delayed frame sent ahead of it in the same direction (as with netem's `rate` or a
/// `pfifo` child), so reordering happens only at the rate asked for.
#[derive(Clone, Debug, PartialEq)]
pub struct LinkConfig {
    /// One-way propagation delay.
    pub latency: Duration,
    /// Each frame's delay is drawn uniformly from `latency ± jitter` (clamped at zero).
    pub jitter: Duration,
    /// Probability in [0, 1] that a frame is lost.
    pub loss: f64,
    /// Probability in [0, 1] that a frame that was not lost is delivered twice.
    pub duplicate: f64,
    /// Probability in [0, 1] that a frame skips the delay and overtakes frames in flight.
    pub reorder: f64,
    /// Link MTU: frames longer than `mtu + 14` bytes are dropped and counted as oversize.
    /// The Ethernet devices that [`crate::Network::add_link`] creates get this MTU.
    pub mtu: u32,
    /// Wire speed in bits per second (frames queue behind each other); `None` is infinite.
    pub bandwidth_bps: Option<u64>,
}

impl Default for LinkConfig {
    /// A perfect 1500-byte-MTU link with 1 ms of latency.
    fn default() -> Self {
        LinkConfig {
            latency: Duration::from_millis(1),
            jitter: Duration::ZERO,
            loss: 0.0,
            duplicate: 0.0,
            reorder: 0.0,
            mtu: 1500,
            bandwidth_bps: None,
        }
    }
}

/// Counters of a link, per direction or summed over both ([`crate::Network::link_stats`]).
///
/// Invariant: `sent == oversize + lost + delivered + in_flight - duplicated`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LinkStats {
    /// Frames the sending stack put on the link.
    pub sent: u64,
    /// Bytes of those frames.
    pub sent_bytes: u64,
    /// Frames (copies included) handed to the receiving stack.
    pub delivered: u64,
    /// Frames lost at random.
    pub lost: u64,
    /// Extra copies made.
    pub duplicated: u64,
    /// Frames (copies included) that skipped the delay.
    pub reordered: u64,
    /// Frames dropped for exceeding `mtu + 14` bytes.
    pub oversize: u64,
    /// Frames (copies included) on the wire right now.
    pub in_flight: u64,
}

impl LinkStats {
    pub(crate) fn add(&mut self, o: &LinkStats) {
        self.sent += o.sent;
        self.sent_bytes += o.sent_bytes;
        self.delivered += o.delivered;
        self.lost += o.lost;
        self.duplicated += o.duplicated;
        self.reordered += o.reordered;
        self.oversize += o.oversize;
        self.in_flight += o.in_flight;
    }
}

/// One end of a link: the host and the Ethernet device created for it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkEnd {
    /// The host.
    pub host: HostId,
    /// The device's index on that host.
    pub ifindex: IfIndex,
    /// The device's MAC address.
    pub mac: EthernetAddress,
}

/// What [`crate::Network::add_link`] returns: the link and the device index on each side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LinkEnds {
    /// The new link.
    pub id: LinkId,
    /// The device on the first host.
    pub a: IfIndex,
    /// The device on the second host.
    pub b: IfIndex,
}

/// The state of one direction of a link.
#[derive(Debug, Default)]
pub(crate) struct DirState {
    pub(crate) stats: LinkStats,
    /// When the wire is free again (bandwidth).
    busy_until: Instant,
    /// Arrival of the last delayed frame, to keep delayed frames in order.
    last_arrival: Instant,
}

/// A link between two hosts.
pub(crate) struct Link {
    pub(crate) cfg: LinkConfig,
    pub(crate) ends: [LinkEnd; 2],
    pub(crate) dirs: [DirState; 2],
    pub(crate) capture: Option<Capture>,
}

impl fmt::Debug for Link {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Link")
            .field("cfg", &self.cfg)
            .field("ends", &self.ends)
            .field("dirs", &self.dirs)
            .field("capturing", &self.capture.is_some())
            .finish()
    }
}

/// The fate of a frame put on a link.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Fate {
    /// Dropped for size.
    Oversize,
    /// Lost.
    Lost,
    /// Delivered once or twice.
    Deliver { copies: u8 },
}

/// When one copy of a frame arrives.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Arrival {
    pub(crate) at: Instant,
    pub(crate) reordered: bool,
}

/// True with probability `p`; draws nothing when `p` is 0 or 1.
pub(crate) fn chance(rng: &mut impl RngCore, p: f64) -> bool {
    if p <= 0.0 || p.is_nan() {
        return false;
    }
    if p >= 1.0 {
        return true;
    }
    // 53 random bits give a uniform float in [0, 1).
    let x = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
    x < p
}

fn nanos(d: Duration) -> u64 {
    u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)
}

impl Link {
    pub(crate) fn new(cfg: LinkConfig, ends: [LinkEnd; 2]) -> Link {
        Link {
            cfg,
            ends,
            dirs: Default::default(),
            capture: None,
        }
    }

    /// Counts a frame of `len` bytes sent from end `side` and decides its fate.
    pub(crate) fn decide(&mut self, rng: &mut impl RngCore, side: usize, len: usize) -> Fate {
        let st = &mut self.dirs[side].stats;
        st.sent += 1;
        st.sent_bytes += len as u64;
        if len > self.cfg.mtu as usize + linnet_core::wire::ethernet::HEADER_LEN {
            st.oversize += 1;
            return Fate::Oversize;
        }
        if chance(rng, self.cfg.loss) {
            st.lost += 1;
            return Fate::Lost;
        }
        if chance(rng, self.cfg.duplicate) {
            st.duplicated += 1;
            return Fate::Deliver { copies: 2 };
        }
        Fate::Deliver { copies: 1 }
    }

    /// Schedules one copy of a frame of `len` bytes sent from end `side` at `now`.
    pub(crate) fn schedule(
        &mut self,
        rng: &mut impl RngCore,
        side: usize,
        len: usize,
        now: Instant,
    ) -> Arrival {
        let cfg = &self.cfg;
        let dir = &mut self.dirs[side];
        let start = now.max(dir.busy_until);
        let serialization = match cfg.bandwidth_bps {
            Some(bps) if bps > 0 => {
                let ns = (len as u128 * 8 * 1_000_000_000).div_ceil(u128::from(bps));
                Duration::from_nanos(u64::try_from(ns).unwrap_or(u64::MAX))
            }
            _ => Duration::ZERO,
        };
        let on_wire = start + serialization;
        dir.busy_until = on_wire;
        dir.stats.in_flight += 1;
        if chance(rng, cfg.reorder) {
            dir.stats.reordered += 1;
            return Arrival {
                at: on_wire,
                reordered: true,
            };
        }
        let mut delay = nanos(cfg.latency);
        let j = nanos(cfg.jitter);
        if j > 0 {
            let span = j.saturating_mul(2).saturating_add(1);
            let draw = rng.next_u64() % span;
            delay = delay.saturating_add(draw).saturating_sub(j);
        }
        let at = (on_wire + Duration::from_nanos(delay)).max(dir.last_arrival);
        dir.last_arrival = at;
        Arrival {
            at,
            reordered: false,
        }
    }

    /// Counters summed over both directions.
    pub(crate) fn total_stats(&self) -> LinkStats {
        let mut s = self.dirs[0].stats;
        s.add(&self.dirs[1].stats);
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand_core::SeedableRng;
    use rand_xoshiro::Xoshiro256PlusPlus;

    fn end(h: usize) -> LinkEnd {
        LinkEnd {
            host: HostId(h),
            ifindex: IfIndex(2),
            mac: EthernetAddress([2, 0, 0, 0, 0, 0]),
        }
    }

    #[test]
    fn chance_extremes_draw_nothing() {
        let mut a = Xoshiro256PlusPlus::seed_from_u64(1);
        let b = a.clone();
        assert!(!chance(&mut a, 0.0));
        assert!(chance(&mut a, 1.0));
        assert_eq!(a, b);
    }

    #[test]
    fn chance_rate_is_close_to_probability() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        let hits = (0..100_000).filter(|_| chance(&mut rng, 0.1)).count();
        assert!((9_000..11_000).contains(&hits), "{hits}");
    }

    #[test]
    fn bandwidth_queues_frames_behind_each_other() {
        let cfg = LinkConfig {
            latency: Duration::from_millis(1),
            bandwidth_bps: Some(1_000_000),
            ..LinkConfig::default()
        };
        let mut link = Link::new(cfg, [end(0), end(1)]);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
        // 1000 bytes at 1 Mbit/s take 8 ms on the wire.
        let a1 = link.schedule(&mut rng, 0, 1000, Instant::ZERO);
        let a2 = link.schedule(&mut rng, 0, 1000, Instant::ZERO);
        assert_eq!(a1.at, Instant::from_millis(9));
        assert_eq!(a2.at, Instant::from_millis(17));
        // The other direction has its own wire.
        let b1 = link.schedule(&mut rng, 1, 1000, Instant::ZERO);
        assert_eq!(b1.at, Instant::from_millis(9));
    }

    #[test]
    fn jitter_stays_in_range_and_keeps_order() {
        let cfg = LinkConfig {
            latency: Duration::from_millis(5),
            jitter: Duration::from_millis(2),
            ..LinkConfig::default()
        };
        let mut link = Link::new(cfg, [end(0), end(1)]);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        let mut last = Instant::ZERO;
        for i in 0..1000u64 {
            let now = Instant::from_nanos(i * 100_000);
            let a = link.schedule(&mut rng, 0, 100, now);
            assert!(a.at >= last, "delayed frames arrive in order");
            assert!(a.at <= now + Duration::from_millis(7));
            last = a.at;
        }
    }

    #[test]
    fn oversize_is_counted_before_loss() {
        let cfg = LinkConfig {
            mtu: 1000,
            loss: 1.0,
            ..LinkConfig::default()
        };
        let mut link = Link::new(cfg, [end(0), end(1)]);
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(3);
        assert_eq!(link.decide(&mut rng, 0, 1015), Fate::Oversize);
        assert_eq!(link.decide(&mut rng, 0, 1014), Fate::Lost);
        let s = link.total_stats();
        assert_eq!((s.sent, s.oversize, s.lost), (2, 1, 1));
    }
}

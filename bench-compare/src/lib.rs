//! Scenarios for the comparison: the linnet ones (shared with linnet-core's own benches)
//! and the same three data paths driven through smoltcp's public API.
//!
//! smoltcp is driven the way its documentation describes: an `Interface`, a `SocketSet`,
//! and a `Device` whose receive token hands over one frame. The device here is in memory:
//! it copies the prebuilt frame into its receive buffer (what a driver's `read()` does;
//! linnet's scenario does the same copy into a pooled `SkBuff`) and lets smoltcp build
//! transmitted frames in a reused buffer (linnet's scenario recycles the `SkBuff`).
//! Neither side writes frames anywhere.

use std::net::Ipv4Addr;

use smoltcp::iface::{Config, Interface, SocketHandle, SocketSet};
use smoltcp::phy::{self, Device, DeviceCapabilities, Medium};
use smoltcp::socket::udp;
use smoltcp::time::Instant;
use smoltcp::wire::{EthernetAddress, HardwareAddress, IpAddress, IpCidr, IpEndpoint};

#[path = "../../crates/linnet-core/benches/common/mod.rs"]
pub mod linnet;

use linnet::{OUR_IP, OUR_MAC, OUR_PORT, PEER_IP, PEER_MAC, PEER_PORT, UDP_PAYLOAD};

/// The (constant) time every packet is fed at; smoltcp's ARP entries live 60 s from here.
const NOW: Instant = Instant::from_micros_const(1_000_000);

/// How the smoltcp interface is driven per packet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Drive {
    /// `poll_ingress_single` (receive paths) / `poll_egress` (send path): the least work
    /// smoltcp offers for one packet.
    Single,
    /// `Interface::poll`: what most smoltcp event loops call (ingress until the device is
    /// empty, then egress over all sockets).
    Poll,
}

/// An in-memory Ethernet device: hands out `frame` once per `arm()`, keeps what is sent.
#[derive(Debug)]
pub struct MemDevice {
    frame: Vec<u8>,
    armed: bool,
    rx_buf: Vec<u8>,
    tx_buf: Vec<u8>,
    /// Frames transmitted so far.
    pub tx_frames: u64,
    /// Length of the last frame transmitted.
    pub tx_len: usize,
}

impl MemDevice {
    fn new(frame: Vec<u8>) -> MemDevice {
        MemDevice {
            frame,
            armed: false,
            rx_buf: vec![0; 1536],
            tx_buf: vec![0; 1536],
            tx_frames: 0,
            tx_len: 0,
        }
    }

    /// Makes the next `receive` return the frame.
    #[inline]
    pub fn arm(&mut self) {
        self.armed = true;
    }

    /// The last frame transmitted.
    pub fn last_tx(&self) -> &[u8] {
        &self.tx_buf[..self.tx_len]
    }
}

/// Receive token: the frame copied into the device's buffer.
#[derive(Debug)]
pub struct MemRx<'a> {
    buf: &'a mut [u8],
    frame: &'a [u8],
}

impl phy::RxToken for MemRx<'_> {
    fn consume<R, F: FnOnce(&[u8]) -> R>(self, f: F) -> R {
        let n = self.frame.len();
        self.buf[..n].copy_from_slice(self.frame);
        f(&self.buf[..n])
    }
}

/// Transmit token: smoltcp writes the frame into the device's reused buffer.
#[derive(Debug)]
pub struct MemTx<'a> {
    buf: &'a mut [u8],
    frames: &'a mut u64,
    len: &'a mut usize,
}

impl phy::TxToken for MemTx<'_> {
    fn consume<R, F: FnOnce(&mut [u8]) -> R>(self, len: usize, f: F) -> R {
        let r = f(&mut self.buf[..len]);
        *self.frames += 1;
        *self.len = len;
        r
    }
}

impl Device for MemDevice {
    type RxToken<'a> = MemRx<'a>;
    type TxToken<'a> = MemTx<'a>;

    fn receive(&mut self, _now: Instant) -> Option<(MemRx<'_>, MemTx<'_>)> {
        if !self.armed {
            return None;
        }
        self.armed = false;
        let rx = MemRx {
            buf: &mut self.rx_buf,
            frame: &self.frame,
        };
        let tx = MemTx {
            buf: &mut self.tx_buf,
            frames: &mut self.tx_frames,
            len: &mut self.tx_len,
        };
        Some((rx, tx))
    }

    fn transmit(&mut self, _now: Instant) -> Option<MemTx<'_>> {
        Some(MemTx {
            buf: &mut self.tx_buf,
            frames: &mut self.tx_frames,
            len: &mut self.tx_len,
        })
    }

    fn capabilities(&self) -> DeviceCapabilities {
        let mut caps = DeviceCapabilities::default();
        caps.medium = Medium::Ethernet;
        caps.max_transmission_unit = 1514;
        caps
    }
}

/// An ARP request from the peer for our address: smoltcp learns the peer from it (it has
/// no public call to add a static entry), the counterpart of linnet's permanent entry.
pub fn arp_request_frame() -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&[0x08, 0x06, 0, 1, 0x08, 0x00, 6, 4, 0, 1]);
    f.extend_from_slice(&PEER_MAC);
    f.extend_from_slice(&PEER_IP);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&OUR_IP);
    f
}

/// One smoltcp host (10.0.0.1/24) that has learnt the peer's MAC, with a UDP socket bound
/// to port 7777 (64 packets of buffer each way).
struct SmolHost {
    iface: Interface,
    sockets: SocketSet<'static>,
    udp: SocketHandle,
    dev: MemDevice,
    drive: Drive,
}

impl std::fmt::Debug for SmolHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmolHost")
            .field("dev", &self.dev)
            .field("drive", &self.drive)
            .finish_non_exhaustive()
    }
}

impl SmolHost {
    fn new(frame: Vec<u8>, drive: Drive) -> SmolHost {
        SmolHost::with_sockets(frame, drive, 0)
    }

    /// With `extra` more UDP sockets bound to other ports, added before ours.
    fn with_sockets(frame: Vec<u8>, drive: Drive, extra: usize) -> SmolHost {
        let mut dev = MemDevice::new(arp_request_frame());
        let mut cfg = Config::new(HardwareAddress::Ethernet(EthernetAddress(OUR_MAC)));
        cfg.random_seed = 7;
        let mut iface = Interface::new(cfg, &mut dev, NOW);
        iface.update_ip_addrs(|a| {
            a.push(IpCidr::new(IpAddress::Ipv4(Ipv4Addr::from(OUR_IP)), 24))
                .expect("address");
        });
        let buf =
            || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 64], vec![0u8; 64 * 2048]);
        let mut sockets = SocketSet::new(Vec::new());
        for i in 0..extra {
            let tiny =
                || udp::PacketBuffer::new(vec![udp::PacketMetadata::EMPTY; 1], vec![0u8; 64]);
            let mut other = udp::Socket::new(tiny(), tiny());
            other
                .bind(linnet::EXTRA_PORT_BASE + i as u16)
                .expect("bind other");
            sockets.add(other);
        }
        let mut sock = udp::Socket::new(buf(), buf());
        sock.bind(OUR_PORT).expect("bind");
        let udp = sockets.add(sock);
        // Learn the peer: the ARP request in, our ARP reply out.
        dev.arm();
        iface.poll(NOW, &mut dev, &mut sockets);
        assert_eq!(dev.tx_frames, 1, "smoltcp: no ARP reply");
        dev.frame = frame;
        SmolHost {
            iface,
            sockets,
            udp,
            dev,
            drive,
        }
    }

    #[inline]
    fn ingress(&mut self) {
        self.dev.arm();
        match self.drive {
            Drive::Single => {
                self.iface
                    .poll_ingress_single(NOW, &mut self.dev, &mut self.sockets);
            }
            Drive::Poll => {
                self.iface.poll(NOW, &mut self.dev, &mut self.sockets);
            }
        }
    }

    #[inline]
    fn egress(&mut self) {
        match self.drive {
            Drive::Single => {
                self.iface
                    .poll_egress(NOW, &mut self.dev, &mut self.sockets);
            }
            Drive::Poll => {
                self.iface.poll(NOW, &mut self.dev, &mut self.sockets);
            }
        }
    }
}

/// smoltcp: frame in -> UDP socket -> `recv_slice`.
#[derive(Debug)]
pub struct SmolUdpRx {
    host: SmolHost,
    buf: Box<[u8; 2048]>,
}

impl SmolUdpRx {
    /// Sets up the host and checks that datagrams go through.
    pub fn new(drive: Drive) -> Self {
        Self::with_sockets(drive, 0)
    }

    /// Like [`SmolUdpRx::new`], with `extra` more UDP sockets bound to other ports (added
    /// to the socket set before ours).
    pub fn with_sockets(drive: Drive, extra: usize) -> Self {
        let host = SmolHost::with_sockets(linnet::udp_frame(), drive, extra);
        let mut s = SmolUdpRx {
            host,
            buf: Box::new([0; 2048]),
        };
        for _ in 0..linnet::PREFILL {
            assert_eq!(s.step(), UDP_PAYLOAD, "smoltcp: datagram not delivered");
        }
        assert_eq!(
            &s.buf[..UDP_PAYLOAD],
            &linnet::payload()[..],
            "smoltcp: payload differs"
        );
        s
    }

    /// One datagram from frame to application buffer; returns the bytes read.
    #[inline]
    pub fn step(&mut self) -> usize {
        self.host.ingress();
        let sock = self.host.sockets.get_mut::<udp::Socket>(self.host.udp);
        sock.recv_slice(&mut self.buf[..]).map_or(0, |(n, _)| n)
    }
}

/// smoltcp: echo request in -> the interface's echo reply out.
#[derive(Debug)]
pub struct SmolEcho {
    host: SmolHost,
}

impl SmolEcho {
    /// Sets up the host and checks the reply.
    pub fn new(drive: Drive) -> Self {
        let mut s = SmolEcho {
            host: SmolHost::new(linnet::echo_request_frame(), drive),
        };
        assert_ne!(s.step(), 0, "smoltcp: no echo reply");
        if let Err(e) = linnet::check_echo_reply(s.host.dev.last_tx()) {
            panic!("smoltcp: {e}");
        }
        for _ in 0..linnet::PREFILL {
            assert_ne!(s.step(), 0, "smoltcp: no echo reply");
        }
        s
    }

    /// One echo request in, its reply out; returns the reply's length.
    #[inline]
    pub fn step(&mut self) -> usize {
        let before = self.host.dev.tx_frames;
        self.host.ingress();
        if self.host.dev.tx_frames == before {
            0
        } else {
            self.host.dev.tx_len
        }
    }
}

/// smoltcp: `send_slice` of 64 bytes -> the frame out of the device.
#[derive(Debug)]
pub struct SmolUdpTx {
    host: SmolHost,
    to: IpEndpoint,
    payload: [u8; UDP_PAYLOAD],
}

impl SmolUdpTx {
    /// Sets up the host and checks the frame sent.
    pub fn new(drive: Drive) -> Self {
        let to = IpEndpoint::new(IpAddress::Ipv4(Ipv4Addr::from(PEER_IP)), PEER_PORT);
        let mut s = SmolUdpTx {
            host: SmolHost::new(Vec::new(), drive),
            to,
            payload: linnet::payload(),
        };
        assert_ne!(s.step(), 0, "smoltcp: nothing sent");
        if let Err(e) = linnet::check_udp_out(s.host.dev.last_tx()) {
            panic!("smoltcp: {e}");
        }
        for _ in 0..linnet::PREFILL {
            assert_ne!(s.step(), 0, "smoltcp: nothing sent");
        }
        s
    }

    /// One datagram from the application to the device; returns the frame's length.
    #[inline]
    pub fn step(&mut self) -> usize {
        let before = self.host.dev.tx_frames;
        let sock = self.host.sockets.get_mut::<udp::Socket>(self.host.udp);
        let _ = sock.send_slice(&self.payload, self.to);
        self.host.egress();
        if self.host.dev.tx_frames == before {
            0
        } else {
            self.host.dev.tx_len
        }
    }
}

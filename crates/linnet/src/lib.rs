//! linnet: what an application links. The std runtime around the sans-IO core: devices, the
//! event loop that drives a [`Stack`](linnet_core::Stack), and blocking sockets.
//!
//! - [`device`]: the [`Device`] trait every link implements, and its receive batches.
//! - [`sys`]: OS devices: TAP/TUN ([`TunDevice`]) and AF_PACKET ([`PacketDevice`]). The only
//!   code in the workspace allowed `unsafe`.
//! - [`memory`]: an in-memory pair of devices ([`MemoryDevice`]) for tests and examples
//!   without root. The loopback device needs no driver: the stack creates `lo` and loops its
//!   traffic itself.
//! - [`pcap`]: [`PcapTap`], recording any device's traffic to a pcap file.
//! - [`runtime`]: [`Runtime`] (the event-loop thread) and [`StackHandle`] (the stack, from any
//!   thread).
//! - [`socket`]: [`UdpSocket`], blocking and std-like, with Linux errno values.
//! - [`tcp`]: [`TcpListener`] and [`TcpStream`], blocking and std-like, with Linux errno
//!   values.
//! - [`tokio`](mod@tokio) (cargo feature `tokio`, on by default): the async front door,
//!   [`tokio::TcpListener`], [`tokio::TcpStream`] (tokio's `AsyncRead`/`AsyncWrite`) and
//!   [`tokio::UdpSocket`], woken through [`waiters`] by the runtime's event loop.
//! - [`ping`](mod@ping): blocking echo requests.
//! - [`epoll`]: an epoll set over the runtime's sockets ([`epoll::EpollFd`]), woken by the
//!   stack's events, with a blocking `epoll_wait`.
//! - [`kernel`]: the kernel-style API of the seed labs (`sock_create_kern`,
//!   `sock.ops().bind/listen/accept/connect/getname`, `kernel_sendmsg` / `kernel_recvmsg`
//!   with kvecs, `sock_release`), with the kernel's negative-errno returns.
//! - [`control`]: the daemon's control socket (netlink's role and the socket system calls for
//!   other processes): messages, framing, [`control::Server`] and [`control::Client`].
//! - [`remote`]: the three front doors (blocking std-like, async, kernel-style) over a
//!   daemon's control socket: [`remote::Remote`] is the "net", [`remote::TcpStream`] and
//!   friends mirror the in-process types, `kernel::sock_create_kern(&remote, ..)` works too.
//!
//! ```no_run
//! use linnet::{MemoryDevice, Runtime, UdpSocket};
//! use linnet::core::{DeviceKind, Stack, StackConfig};
//! use linnet::wire::{ipv4::Ipv4Cidr, EthernetAddress};
//!
//! let rt = Runtime::new(Stack::new(StackConfig::default(), linnet::os_seed())).unwrap();
//! let mac = EthernetAddress([2, 0, 0, 0, 0, 1]);
//! let peer = EthernetAddress([2, 0, 0, 0, 0, 2]);
//! let (a, _b) = MemoryDevice::pair("veth0", DeviceKind::Ethernet { mac }, "veth1",
//!     DeviceKind::Ethernet { mac: peer });
//! let dev = rt.add_device(a).unwrap();
//! rt.with_stack(|s| {
//!     s.set_up(dev, true).unwrap();
//!     s.add_addr(dev, "10.0.0.1/24".parse::<Ipv4Cidr>().unwrap()).unwrap();
//! });
//! let sock = UdpSocket::bind(rt.handle(), ([10, 0, 0, 1], 5000)).unwrap();
//! sock.send_to(b"hello", ([10, 0, 0, 2], 7)).unwrap();
//! ```
//!
//! Logging goes through `tracing`; the application installs the subscriber.
//!
//! Linux: the boundary between drivers/net and net/ (devices, the softirq loop), and between
//! user space and net/socket.c (system calls).
//! RFCs: none here (see each module).
#![deny(unsafe_code)]
#![warn(missing_docs)]

pub mod control;
pub mod device;
pub mod epoll;
pub mod kernel;
pub mod memory;
pub mod offload;
pub mod pcap;
pub mod ping;
pub mod remote;
pub mod runtime;
mod sockcall;
pub mod socket;
pub mod sys;
pub mod tcp;
#[cfg(feature = "tokio")]
pub mod tokio;
pub mod waiters;

use std::hash::{BuildHasher, Hasher};

pub use device::{Device, Notifier, RxBatch};
pub use linnet_core as core;
pub use linnet_core::wire;
pub use memory::MemoryDevice;
pub use pcap::PcapTap;
pub use ping::{ping, ping_recv, ping_send, PingReply};
pub use runtime::{Clock, DriverStats, Runtime, StackHandle, WaitError};
pub use socket::UdpSocket;
pub use sys::{PacketDevice, TunDevice, TunMode};
pub use tcp::{TcpListener, TcpStream};
pub use waiters::WaiterStats;

/// A Linux errno from the core as an `io::Error` whose `raw_os_error()` is that number.
pub fn errno_to_io(e: linnet_core::Errno) -> std::io::Error {
    std::io::Error::from_raw_os_error(e.code())
}

/// The IPv4 address the front doors take; an IPv6 one is EAFNOSUPPORT (the stack speaks
/// IPv4 only, as an `AF_INET` socket).
pub(crate) fn v4(addr: std::net::SocketAddr) -> std::io::Result<std::net::SocketAddrV4> {
    match addr {
        std::net::SocketAddr::V4(a) => Ok(a),
        std::net::SocketAddr::V6(_) => Err(errno_to_io(linnet_core::Errno::EAFNOSUPPORT)),
    }
}

/// 64 bits from the OS's randomness (through std's hasher seeding), for a stack's seed when
/// the run need not be replayable.
pub fn os_seed() -> u64 {
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u64(std::process::id().into());
    h.finish()
}

/// A random locally administered unicast MAC (first octet `x2`, `x6`, `xA` or `xE`).
pub fn random_mac() -> wire::EthernetAddress {
    let b = os_seed().to_be_bytes();
    let mut mac = [b[0], b[1], b[2], b[3], b[4], b[5]];
    mac[0] = (mac[0] & 0xfe) | 0x02;
    wire::EthernetAddress(mac)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_mac_is_local_unicast() {
        for _ in 0..16 {
            let m = random_mac();
            assert!(m.is_unicast() && m.is_local(), "{m}");
        }
    }

    #[test]
    fn errno_keeps_the_linux_number() {
        let e = errno_to_io(linnet_core::Errno::ECONNREFUSED);
        assert_eq!(e.raw_os_error(), Some(111));
        assert_eq!(e.kind(), std::io::ErrorKind::ConnectionRefused);
    }
}

//! linnet-core: the sans-IO network stack.
//!
//! Linux's net/ rebuilt as a deterministic state machine: it does no I/O, reads no clock,
//! spawns no threads and draws randomness only from one seeded PRNG. Drivers feed frames in
//! with [`Stack::receive`], take frames out with [`Stack::poll_transmit`], and call
//! [`Stack::handle_timeout`] when [`Stack::poll_timeout`] says so (see [`stack`] for the
//! calling order).
//!
//! Linux: net/core, net/ethernet, net/ipv4 (module by module, see each module).
//! RFCs: RFC 791, 792, 768, 793/9293, 826, 1122, 1812 (see each module).
#![no_std]
#![forbid(unsafe_code)]
#![warn(missing_docs)]

extern crate alloc;

pub mod config;
pub mod ctl;
pub mod dev;
pub mod errno;
pub mod hash;
pub mod ipv4;
pub mod neigh;
pub mod ping;
pub mod route;
pub mod skb;
pub mod socket;
pub mod stack;
pub mod stats;
pub mod tcp;
pub mod time;
pub mod timer;
pub mod udp;

#[cfg(test)]
mod testutil;

pub use config::{NeighParms, StackConfig};
pub use dev::{DevFlags, DeviceConfig, DeviceKind, IfIndex, NetDevice};
pub use errno::Errno;
pub use linnet_wire as wire;
pub use neigh::NudState;
pub use ping::PingEvent;
pub use skb::SkBuff;
pub use socket::{SockAddr, Socket, SocketId, SocketState};
pub use stack::{ConfigError, Event, IfAddr, Stack, LOOPBACK_IFINDEX};
pub use stats::{DropReason, Stats};
pub use tcp::{Linger, Shutdown, TcpInfo, TcpState};
pub use time::{Duration, Instant};
pub use udp::{RecvMeta, SocketHandle};

//! OS code: the only place in the workspace allowed `unsafe`.
//!
//! Each submodule wraps one kernel interface through `nix` (ioctls, sockets, namespaces) and
//! opts in to `unsafe_code` only where `nix` leaves a raw call to make; every `unsafe` block
//! says why it is sound in a `// SAFETY:` comment.
//!
//! Linux: drivers/net/tun.c (TUN/TAP), net/packet/af_packet.c (AF_PACKET),
//! net/core/dev_ioctl.c (`SIOCGIFFLAGS` and friends).
//! RFCs: none.

pub mod ifreq;
pub mod packet;
pub mod tun;

pub use packet::PacketDevice;
pub use tun::{TunDevice, TunMode};

//! linnet: what an application links.
//!
//! Today this crate re-exports the sans-IO core ([`core`]) so applications and tools have one
//! name to depend on. The std runtime that the house plan puts here (TAP/TUN/AF_PACKET
//! devices under `sys/`, the event loop that drives a `Stack`, the blocking, async and
//! kernel-style socket front doors, the control API) is the work of the devices-and-daemon
//! issue and is not written yet.
//!
//! Linux: the boundary between drivers/net and net/ (devices), and between user space and
//! net/socket.c (system calls).
//! RFCs: none here.

pub use linnet_core as core;
pub use linnet_core::wire;

//! TAP and TUN devices: a kernel interface whose "wire" is a file descriptor held by linnet.
//!
//! Linux: drivers/net/tun.c (`tun_chr_open`, `tun_set_iff` via `TUNSETIFF`, `tun_chr_read_iter`,
//! `tun_chr_write_iter`), include/uapi/linux/if_tun.h, Documentation/networking/tuntap.rst.
//! RFCs: none.
//!
//! `TunDevice::open(name, mode)` opens `/dev/net/tun` non-blocking and attaches with
//! `TUNSETIFF` (`IFF_TAP|IFF_NO_PI` or `IFF_TUN|IFF_NO_PI`): the kernel creates the interface
//! if there is none of that name (it then disappears when the fd is closed), or attaches to an
//! existing persistent one (`ip tuntap add NAME mode tap`). A name holding `%d` lets the
//! kernel pick the number; [`TunDevice::name`] reports the result.
//!
//! - TAP: frames are Ethernet frames; the stack's device is `DeviceKind::Ethernet` with linnet's
//!   own MAC, which must differ from the kernel side's (a random locally administered one
//!   unless [`TunDevice::with_mac`] gives one).
//! - TUN: frames are bare IP packets; the stack's device is `DeviceKind::Ip`.
//!
//! The kernel side of the interface is left as it is: the caller brings it up and addresses
//! it (`ip addr add ... dev NAME; ip link set NAME up`) or calls
//! [`TunDevice::set_kernel_up`]. Until it is up, writes fail with EIO and nothing is read.
//!
//! Batching: the runtime reads with a loop of `read(2)` until EAGAIN or the batch is full
//! (tun has no `recvmmsg`); writes are one `write(2)` per frame.
//!
//! Receive offload ([`TunDevice::open_offload`], [`TunDevice::tap_offload`]; opt-in): the fd
//! is attached with `IFF_VNET_HDR`, the header size set to 12 bytes (`TUNSETVNETHDRSZ`) and
//! `TUNSETOFFLOAD` given `TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN`, as a virtio-net guest's
//! vhost does. The kernel then no longer segments or checksums what it sends linnet: one
//! `read(2)` returns a TCP segment of up to 64 KB (the Linux sender's TSO/GRO skb) with its
//! checksum partial, described by the `virtio_net_hdr` before it
//! ([`crate::offload::parse_vnet_hdr`]); the stack takes it whole (`gso_size`,
//! `CHECKSUM_PARTIAL`). A frame with a header linnet did not ask for is dropped and counted
//! (`DriverStats::rx_dropped`). Every write carries a zeroed header (no transmit offload
//! asked; the frame has its own checksums). Reads and writes are `readv`/`writev` of the
//! header and the frame, so receive slots stay frame-sized.
//!
//! Deviation from Linux: a GSO super-segment read this way is not segmented again if the
//! stack forwards it (dropped, OutDiscards); use offload only on a stack that terminates
//! the traffic. Only TCPv4 super-segments are asked for (no `TUN_F_TSO6`, `TUN_F_USO*`).
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use linnet_core::wire::EthernetAddress;
use linnet_core::DeviceKind;

use super::ifreq;
use crate::device::{Device, RxBatch, LL_HEADROOM};
use crate::offload::{parse_vnet_hdr, VNET_HDR_LEN, VNET_HDR_TX};

/// The raw ioctl, private: [`TunDevice::open`] is the interface.
mod raw {
    nix::ioctl_readwrite_bad!(
        /// `TUNSETIFF`: attach the fd to an interface (`_IOW('T', 202, int)`, but the
        /// argument is a `struct ifreq *` that the kernel also writes back, with the final
        /// name, so it is passed as `&mut`).
        tunsetiff,
        libc::TUNSETIFF,
        libc::ifreq
    );
    nix::ioctl_write_ptr_bad!(
        /// `TUNSETVNETHDRSZ`: the size of the vnet header (`int __user *`).
        tunsetvnethdrsz,
        libc::TUNSETVNETHDRSZ,
        libc::c_int
    );
    nix::ioctl_write_int_bad!(
        /// `TUNSETOFFLOAD`: the offloads the reader can take (`TUN_F_*`, passed by value).
        tunsetoffload,
        libc::TUNSETOFFLOAD
    );
}
use raw::{tunsetiff, tunsetoffload, tunsetvnethdrsz};

/// What linnet asks the kernel not to do for it: checksums and TCPv4 segmentation (with
/// ECN-marked segments).
const OFFLOADS: libc::c_uint = libc::TUN_F_CSUM | libc::TUN_F_TSO4 | libc::TUN_F_TSO_ECN;

/// Largest frame read from a TUN/TAP fd: a full IP packet plus the link header. A read into a
/// smaller buffer fails (EFAULT) and loses the frame, so buffers are sized for the worst case
/// rather than the MTU.
const MAX_FRAME: usize = 65_535 + LL_HEADROOM;

/// TAP (Ethernet frames) or TUN (IP packets).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunMode {
    /// `IFF_TAP`: layer 2.
    Tap,
    /// `IFF_TUN`: layer 3.
    Tun,
}

/// A TAP or TUN interface driven by linnet.
#[derive(Debug)]
pub struct TunDevice {
    file: File,
    name: String,
    mode: TunMode,
    mac: EthernetAddress,
    mtu: Option<u32>,
    /// Attached with `IFF_VNET_HDR` and offloads: every frame has a vnet header before it.
    offload: bool,
}

impl TunDevice {
    /// Creates, or attaches to, the TAP interface `name`. Needs CAP_NET_ADMIN.
    pub fn tap(name: &str) -> io::Result<TunDevice> {
        TunDevice::open(name, TunMode::Tap)
    }

    /// Creates, or attaches to, the TUN interface `name`. Needs CAP_NET_ADMIN.
    pub fn tun(name: &str) -> io::Result<TunDevice> {
        TunDevice::open(name, TunMode::Tun)
    }

    /// Opens `/dev/net/tun` and attaches to `name` in `mode` (`TUNSETIFF`). Errors are the
    /// kernel's: EPERM without CAP_NET_ADMIN, EBUSY if another fd holds the interface, EINVAL
    /// if it exists in the other mode, ENOENT without `/dev/net/tun`.
    pub fn open(name: &str, mode: TunMode) -> io::Result<TunDevice> {
        TunDevice::open_with(name, mode, false)
    }

    /// Creates, or attaches to, the TAP interface `name` with receive offload (see the
    /// module doc).
    pub fn tap_offload(name: &str) -> io::Result<TunDevice> {
        TunDevice::open_with(name, TunMode::Tap, true)
    }

    /// [`TunDevice::open`] with receive offload: `IFF_VNET_HDR`, a 12-byte vnet header and
    /// `TUNSETOFFLOAD` (`TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO_ECN`). Errors as `open`, and
    /// EINVAL from a kernel that refuses an offload.
    pub fn open_offload(name: &str, mode: TunMode) -> io::Result<TunDevice> {
        TunDevice::open_with(name, mode, true)
    }

    fn open_with(name: &str, mode: TunMode, offload: bool) -> io::Result<TunDevice> {
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK)
            .open("/dev/net/tun")?;
        let mut req = ifreq::ifreq(name)?;
        let kind = match mode {
            TunMode::Tap => libc::IFF_TAP,
            TunMode::Tun => libc::IFF_TUN,
        };
        let vnet = if offload { libc::IFF_VNET_HDR } else { 0 };
        req.ifr_ifru.ifru_flags = (kind | libc::IFF_NO_PI | vnet) as libc::c_short;
        // SAFETY: `file` is an open /dev/net/tun fd and `req` a valid, exclusively borrowed
        // `ifreq` that outlives the call; TUNSETIFF reads the name and flags and writes the
        // final name back into it (copy_to_user in __tun_chr_ioctl).
        unsafe { tunsetiff(file.as_raw_fd(), &mut req) }?;
        if offload {
            let size = VNET_HDR_LEN as libc::c_int;
            // SAFETY: the fd is attached (TUNSETIFF succeeded); TUNSETVNETHDRSZ reads one
            // `int` through the pointer, which points at `size`, alive for the call.
            unsafe { tunsetvnethdrsz(file.as_raw_fd(), &size) }?;
            // SAFETY: the fd is attached; TUNSETOFFLOAD takes its argument by value and
            // touches no memory of ours.
            unsafe { tunsetoffload(file.as_raw_fd(), OFFLOADS as libc::c_int) }?;
        } else {
            // The offloads are the device's (tun->set_features), not the fd's: a persistent
            // TAP opened with offload before keeps TSO4 and checksum offload through a later
            // TUNSETIFF without IFF_VNET_HDR, and the kernel would then hand over partial
            // checksums and super-segments with no header saying so. Clear them, as QEMU
            // does when it opens a TAP without vnet headers; a kernel that refuses (EINVAL)
            // has none set.
            // SAFETY: the fd is attached; TUNSETOFFLOAD takes its argument by value and
            // touches no memory of ours.
            match unsafe { tunsetoffload(file.as_raw_fd(), 0) } {
                Err(nix::errno::Errno::EINVAL) | Ok(_) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let name = ifreq::ifreq_name(&req);
        let mtu = ifreq::if_mtu(&name).ok();
        tracing::debug!(%name, ?mode, ?mtu, offload, "attached to tun/tap");
        Ok(TunDevice {
            file,
            name,
            mode,
            mac: crate::random_mac(),
            mtu,
            offload,
        })
    }

    /// Sets linnet's hardware address on a TAP (ignored for TUN).
    pub fn with_mac(mut self, mac: EthernetAddress) -> TunDevice {
        self.mac = mac;
        self
    }

    /// Sets the MTU the stack uses on this link (by default the kernel side's MTU when read at
    /// open). It should match the kernel side's.
    pub fn with_mtu(mut self, mtu: u32) -> TunDevice {
        self.mtu = Some(mtu);
        self
    }

    /// TAP or TUN.
    pub fn mode(&self) -> TunMode {
        self.mode
    }

    /// Whether the fd was opened with receive offload (vnet headers).
    pub fn offload(&self) -> bool {
        self.offload
    }

    /// linnet's hardware address on a TAP.
    pub fn mac(&self) -> EthernetAddress {
        self.mac
    }

    /// Brings the kernel side of the interface up or down (`SIOCSIFFLAGS`, as
    /// `ip link set NAME up|down`).
    pub fn set_kernel_up(&self, up: bool) -> io::Result<()> {
        ifreq::set_if_up(&self.name, up)
    }

    /// The kernel side's hardware address (TAP only).
    pub fn kernel_mac(&self) -> io::Result<EthernetAddress> {
        Ok(ifreq::if_hwaddr(&self.name)?.1)
    }
}

impl Device for TunDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> DeviceKind {
        match self.mode {
            TunMode::Tap => DeviceKind::Ethernet { mac: self.mac },
            TunMode::Tun => DeviceKind::Ip,
        }
    }

    fn mtu(&self) -> Option<u32> {
        self.mtu
    }

    fn max_frame_len(&self) -> usize {
        MAX_FRAME
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.file.as_raw_fd())
    }

    fn recv_batch(&mut self, batch: &mut RxBatch) -> io::Result<usize> {
        let mut n = 0;
        let mut hdr = [0u8; VNET_HDR_LEN];
        while let Some(slot) = batch.next_slot() {
            let r = if self.offload {
                let mut iov = [IoSliceMut::new(&mut hdr), IoSliceMut::new(slot)];
                (&self.file).read_vectored(&mut iov)
            } else {
                (&self.file).read(slot)
            };
            match r {
                Ok(0) => break,
                Ok(len) if self.offload => {
                    n += 1;
                    let frame_len = len.saturating_sub(VNET_HDR_LEN);
                    match parse_vnet_hdr(&hdr[..len.min(VNET_HDR_LEN)], frame_len) {
                        Ok(meta) if frame_len > 0 => batch.commit_meta(frame_len, meta),
                        Ok(_) => batch.drop_frame(),
                        Err(e) => {
                            tracing::debug!(dev = %self.name, error = ?e, "bad vnet header");
                            batch.drop_frame();
                        }
                    }
                }
                Ok(len) => {
                    batch.commit(len);
                    n += 1;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) if n > 0 => {
                    tracing::debug!(dev = %self.name, error = %e, "tun read");
                    break;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(n)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        let total = frame.len() + if self.offload { VNET_HDR_LEN } else { 0 };
        loop {
            let r = if self.offload {
                let iov = [IoSlice::new(&VNET_HDR_TX), IoSlice::new(frame)];
                (&self.file).write_vectored(&iov)
            } else {
                (&self.file).write(frame)
            };
            match r {
                Ok(n) if n == total => return Ok(()),
                Ok(_) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

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
#![allow(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use linnet_core::wire::EthernetAddress;
use linnet_core::DeviceKind;

use super::ifreq;
use crate::device::{Device, RxBatch, LL_HEADROOM};

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
}
use raw::tunsetiff;

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
        req.ifr_ifru.ifru_flags = (kind | libc::IFF_NO_PI) as libc::c_short;
        // SAFETY: `file` is an open /dev/net/tun fd and `req` a valid, exclusively borrowed
        // `ifreq` that outlives the call; TUNSETIFF reads the name and flags and writes the
        // final name back into it (copy_to_user in __tun_chr_ioctl).
        unsafe { tunsetiff(file.as_raw_fd(), &mut req) }?;
        let name = ifreq::ifreq_name(&req);
        let mtu = ifreq::if_mtu(&name).ok();
        tracing::debug!(%name, ?mode, ?mtu, "attached to tun/tap");
        Ok(TunDevice {
            file,
            name,
            mode,
            mac: crate::random_mac(),
            mtu,
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
        while let Some(slot) = batch.next_slot() {
            match (&self.file).read(slot) {
                Ok(0) => break,
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
        loop {
            match (&self.file).write(frame) {
                Ok(n) if n == frame.len() => return Ok(()),
                Ok(_) => return Err(io::Error::from(io::ErrorKind::WriteZero)),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

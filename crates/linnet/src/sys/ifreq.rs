//! Interface ioctls on a name (`struct ifreq`): flags, hardware address, MTU.
//!
//! Linux: net/core/dev_ioctl.c (`dev_ifsioc_locked`, `dev_ifsioc`), include/uapi/linux/if.h.
//! RFCs: none.
//!
//! These act on the kernel's view of an interface in the caller's network namespace (the
//! namespace of the calling thread when the control socket is created), not on linnet's
//! stack.
#![allow(unsafe_code)]

use std::io;
use std::os::fd::{AsRawFd, OwnedFd};

use linnet_core::wire::EthernetAddress;
use nix::sys::socket::{socket, AddressFamily, SockFlag, SockType};

/// The raw ioctls, private: the safe wrappers below are the interface.
mod raw {
    nix::ioctl_readwrite_bad!(
        /// `SIOCGIFFLAGS`.
        siocgifflags,
        libc::SIOCGIFFLAGS,
        libc::ifreq
    );
    nix::ioctl_write_ptr_bad!(
        /// `SIOCSIFFLAGS`.
        siocsifflags,
        libc::SIOCSIFFLAGS,
        libc::ifreq
    );
    nix::ioctl_readwrite_bad!(
        /// `SIOCGIFHWADDR`.
        siocgifhwaddr,
        libc::SIOCGIFHWADDR,
        libc::ifreq
    );
    nix::ioctl_readwrite_bad!(
        /// `SIOCGIFMTU`.
        siocgifmtu,
        libc::SIOCGIFMTU,
        libc::ifreq
    );
}
use raw::{siocgifflags, siocgifhwaddr, siocgifmtu, siocsifflags};

/// `IFF_UP`.
pub const IFF_UP: i16 = libc::IFF_UP as i16;
/// `IFF_RUNNING`.
pub const IFF_RUNNING: i16 = libc::IFF_RUNNING as i16;
/// `ARPHRD_ETHER`: the hardware type of Ethernet-like interfaces.
pub const ARPHRD_ETHER: u16 = libc::ARPHRD_ETHER;

/// A zeroed `ifreq` naming `name`. EINVAL for an empty name, one of `IFNAMSIZ` bytes or more,
/// or one holding a NUL.
pub(crate) fn ifreq(name: &str) -> io::Result<libc::ifreq> {
    if name.is_empty() || name.len() >= libc::IFNAMSIZ || name.bytes().any(|b| b == 0) {
        return Err(io::Error::from_raw_os_error(libc::EINVAL));
    }
    // SAFETY: `ifreq` is plain old data (a byte array and a union of integers, socket
    // addresses and a pointer); all-zero bytes are a valid value of every field.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (d, s) in req.ifr_name.iter_mut().zip(name.bytes()) {
        *d = s as libc::c_char;
    }
    Ok(req)
}

/// The name the kernel left in `req.ifr_name` (NUL-terminated).
pub(crate) fn ifreq_name(req: &libc::ifreq) -> String {
    let bytes: Vec<u8> = req
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

/// A datagram socket to carry interface ioctls (any socket does; `SIOCGIF*` go through
/// `sock_ioctl` to `dev_ioctl`).
fn ctl_socket() -> io::Result<OwnedFd> {
    Ok(socket(
        AddressFamily::Inet,
        SockType::Datagram,
        SockFlag::SOCK_CLOEXEC,
        None,
    )?)
}

/// `SIOCGIFFLAGS`: the interface's `IFF_*` flags.
pub fn if_flags(name: &str) -> io::Result<i16> {
    let mut req = ifreq(name)?;
    let sock = ctl_socket()?;
    // SAFETY: `req` is a valid, initialised `ifreq` that outlives the call; SIOCGIFFLAGS
    // reads the name and writes `ifru_flags` inside it.
    unsafe { siocgifflags(sock.as_raw_fd(), &mut req) }?;
    // SAFETY: the kernel filled `ifru_flags` (a `c_short`; every bit pattern is valid).
    Ok(unsafe { req.ifr_ifru.ifru_flags })
}

/// `SIOCSIFFLAGS`: sets or clears `IFF_UP` on the kernel side of an interface, as
/// `ip link set NAME up|down` does. Needs CAP_NET_ADMIN.
pub fn set_if_up(name: &str, up: bool) -> io::Result<()> {
    let flags = if_flags(name)?;
    let mut req = ifreq(name)?;
    req.ifr_ifru.ifru_flags = if up { flags | IFF_UP } else { flags & !IFF_UP };
    let sock = ctl_socket()?;
    // SAFETY: `req` is a valid `ifreq` that outlives the call; SIOCSIFFLAGS only reads it.
    unsafe { siocsifflags(sock.as_raw_fd(), &req) }?;
    Ok(())
}

/// `SIOCGIFHWADDR`: the interface's hardware address, with its ARPHRD_* type.
pub fn if_hwaddr(name: &str) -> io::Result<(u16, EthernetAddress)> {
    let mut req = ifreq(name)?;
    let sock = ctl_socket()?;
    // SAFETY: as in `if_flags`; SIOCGIFHWADDR writes `ifru_hwaddr` (a `sockaddr`).
    unsafe { siocgifhwaddr(sock.as_raw_fd(), &mut req) }?;
    // SAFETY: the kernel filled `ifru_hwaddr`, a `sockaddr` of integers; every bit pattern
    // is valid.
    let sa = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (d, s) in mac.iter_mut().zip(sa.sa_data.iter()) {
        *d = *s as u8;
    }
    Ok((sa.sa_family, EthernetAddress(mac)))
}

/// `SIOCGIFMTU`: the interface's MTU.
pub fn if_mtu(name: &str) -> io::Result<u32> {
    let mut req = ifreq(name)?;
    let sock = ctl_socket()?;
    // SAFETY: as in `if_flags`; SIOCGIFMTU writes `ifru_mtu`.
    unsafe { siocgifmtu(sock.as_raw_fd(), &mut req) }?;
    // SAFETY: the kernel filled `ifru_mtu` (a `c_int`; every bit pattern is valid).
    let mtu = unsafe { req.ifr_ifru.ifru_mtu };
    u32::try_from(mtu).map_err(|_| io::Error::from_raw_os_error(libc::EINVAL))
}

/// `if_nametoindex(3)`: ENODEV when there is no such interface.
pub fn if_index(name: &str) -> io::Result<u32> {
    nix::net::if_::if_nametoindex(name).map_err(|e| match e {
        nix::errno::Errno::ENXIO => io::Error::from_raw_os_error(libc::ENODEV),
        e => e.into(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ifreq_refuses_names_of_ifnamsiz_bytes_or_more() {
        assert!(ifreq("0123456789abcde").is_ok());
        let e = ifreq("0123456789abcdef").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
        assert!(ifreq("").is_err());
        assert!(ifreq("a\0b").is_err());
    }

    #[test]
    fn ifreq_name_round_trips() {
        let req = ifreq("tap7").unwrap();
        assert_eq!(ifreq_name(&req), "tap7");
    }

    #[test]
    fn loopback_reports_its_flags_mtu_and_index() {
        // `lo` exists in every network namespace; reading flags needs no privilege.
        let flags = if_flags("lo").unwrap();
        assert_ne!(flags & libc::IFF_LOOPBACK as i16, 0);
        assert!(if_mtu("lo").unwrap() >= 1280);
        assert_eq!(if_index("lo").unwrap(), 1);
    }

    #[test]
    fn unknown_interface_is_enodev() {
        let e = if_index("nosuchif0").unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENODEV));
        assert_eq!(
            if_flags("nosuchif0").unwrap_err().raw_os_error(),
            Some(libc::ENODEV)
        );
    }
}

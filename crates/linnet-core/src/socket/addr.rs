//! Socket addresses as the socket calls receive them (`struct sockaddr` with its length) and
//! the uapi numbers of the socket layer: families, types, protocols, levels, `MSG_*` flags.
//!
//! Linux: include/linux/socket.h (`AF_*`, `MSG_*`, `SOL_*`), include/linux/net.h
//! (`SOCK_*`, `SOCK_TYPE_MASK`), include/uapi/linux/in.h (`IPPROTO_*`, `struct
//! sockaddr_in`), net/socket.c (`move_addr_to_kernel`: at most `sizeof(struct
//! sockaddr_storage)` bytes).
//! RFCs: none (RFC 3493 §3 describes the BSD layout).
//!
//! A [`SockAddr`] keeps the bytes and the length the caller gave, so each protocol checks
//! them as Linux does (`addr_len < sizeof(struct sockaddr_in)` is EINVAL, an unknown
//! `sa_family` EAFNOSUPPORT). `sa_family` is in host byte order, port and address in network
//! byte order, exactly as the C structure.

use core::net::{Ipv4Addr, SocketAddrV4};

use crate::errno::Errno;

/// `AF_UNSPEC`.
pub const AF_UNSPEC: i32 = 0;
/// `AF_UNIX`.
pub const AF_UNIX: i32 = 1;
/// `AF_INET`.
pub const AF_INET: i32 = 2;
/// `AF_INET6`.
pub const AF_INET6: i32 = 10;
/// `AF_NETLINK`.
pub const AF_NETLINK: i32 = 16;
/// `AF_PACKET`.
pub const AF_PACKET: i32 = 17;
/// `AF_MAX` (`NPROTO`): families at or above it are EAFNOSUPPORT.
pub const AF_MAX: i32 = 46;

/// `SOCK_STREAM`.
pub const SOCK_STREAM: i32 = 1;
/// `SOCK_DGRAM`.
pub const SOCK_DGRAM: i32 = 2;
/// `SOCK_RAW`.
pub const SOCK_RAW: i32 = 3;
/// `SOCK_RDM`.
pub const SOCK_RDM: i32 = 4;
/// `SOCK_SEQPACKET`.
pub const SOCK_SEQPACKET: i32 = 5;
/// `SOCK_PACKET` (obsolete; Linux turns `PF_INET` + `SOCK_PACKET` into `PF_PACKET`).
pub const SOCK_PACKET: i32 = 10;
/// `SOCK_MAX`: types at or above it are EINVAL.
pub const SOCK_MAX: i32 = 11;
/// `SOCK_TYPE_MASK`: the type bits of the `type` argument.
pub const SOCK_TYPE_MASK: i32 = 0xf;
/// `SOCK_NONBLOCK` (= `O_NONBLOCK`).
pub const SOCK_NONBLOCK: i32 = 0o4000;
/// `SOCK_CLOEXEC` (= `O_CLOEXEC`).
pub const SOCK_CLOEXEC: i32 = 0o2000000;

/// `IPPROTO_IP`: "the default protocol of the type".
pub const IPPROTO_IP: i32 = 0;
/// `IPPROTO_ICMP`.
pub const IPPROTO_ICMP: i32 = 1;
/// `IPPROTO_TCP`.
pub const IPPROTO_TCP: i32 = 6;
/// `IPPROTO_UDP`.
pub const IPPROTO_UDP: i32 = 17;
/// `IPPROTO_RAW`.
pub const IPPROTO_RAW: i32 = 255;
/// `IPPROTO_MAX`: protocols at or above it are EINVAL.
pub const IPPROTO_MAX: i32 = 263;

/// `MSG_OOB`.
pub const MSG_OOB: i32 = 0x1;
/// `MSG_PEEK`.
pub const MSG_PEEK: i32 = 0x2;
/// `MSG_DONTROUTE`.
pub const MSG_DONTROUTE: i32 = 0x4;
/// `MSG_CTRUNC` (returned in `msg_flags`).
pub const MSG_CTRUNC: i32 = 0x8;
/// `MSG_TRUNC`: returned in `msg_flags` when a datagram was cut; as a `recv` flag, return
/// the real length (UDP) or discard the bytes (TCP).
pub const MSG_TRUNC: i32 = 0x20;
/// `MSG_DONTWAIT`.
pub const MSG_DONTWAIT: i32 = 0x40;
/// `MSG_EOR`.
pub const MSG_EOR: i32 = 0x80;
/// `MSG_WAITALL`.
pub const MSG_WAITALL: i32 = 0x100;
/// `MSG_CONFIRM`.
pub const MSG_CONFIRM: i32 = 0x800;
/// `MSG_ERRQUEUE`.
pub const MSG_ERRQUEUE: i32 = 0x2000;
/// `MSG_NOSIGNAL`.
pub const MSG_NOSIGNAL: i32 = 0x4000;
/// `MSG_MORE`.
pub const MSG_MORE: i32 = 0x8000;

/// `SHUT_RD`.
pub const SHUT_RD: i32 = 0;
/// `SHUT_WR`.
pub const SHUT_WR: i32 = 1;
/// `SHUT_RDWR`.
pub const SHUT_RDWR: i32 = 2;

/// `sizeof(struct sockaddr_in)`.
pub const SOCKADDR_IN_LEN: usize = 16;
/// `sizeof(struct sockaddr_storage)`: the most bytes a socket call takes.
pub const SOCKADDR_STORAGE_LEN: usize = 128;

/// A socket address as passed to bind/connect/sendto: the bytes and their length.
#[derive(Clone, Copy)]
pub struct SockAddr {
    bytes: [u8; SOCKADDR_STORAGE_LEN],
    len: usize,
}

impl core::fmt::Debug for SockAddr {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self.as_inet() {
            Some(a) if self.family() == AF_INET as u16 => write!(f, "SockAddr({a})"),
            _ => write!(f, "SockAddr(family {}, {} bytes)", self.family(), self.len),
        }
    }
}

impl SockAddr {
    /// The bytes of a `struct sockaddr` of `bytes.len()` bytes (`move_addr_to_kernel`:
    /// EINVAL past `sizeof(struct sockaddr_storage)`).
    pub fn from_bytes(bytes: &[u8]) -> Result<SockAddr, Errno> {
        if bytes.len() > SOCKADDR_STORAGE_LEN {
            return Err(Errno::EINVAL);
        }
        let mut a = SockAddr {
            bytes: [0; SOCKADDR_STORAGE_LEN],
            len: bytes.len(),
        };
        a.bytes[..bytes.len()].copy_from_slice(bytes);
        Ok(a)
    }

    /// A `struct sockaddr_in` for `addr` (16 bytes, `AF_INET`).
    pub fn inet(addr: SocketAddrV4) -> SockAddr {
        SockAddr::with_family(AF_INET as u16, addr, SOCKADDR_IN_LEN)
    }

    /// A `struct sockaddr_in`-sized address with another family (for `AF_UNSPEC`, or to
    /// test family checks).
    pub fn with_family(family: u16, addr: SocketAddrV4, len: usize) -> SockAddr {
        let mut b = [0u8; SOCKADDR_STORAGE_LEN];
        b[..2].copy_from_slice(&family.to_ne_bytes());
        b[2..4].copy_from_slice(&addr.port().to_be_bytes());
        b[4..8].copy_from_slice(&addr.ip().octets());
        SockAddr {
            bytes: b,
            len: len.min(SOCKADDR_STORAGE_LEN),
        }
    }

    /// `AF_UNSPEC` (16 bytes, all else zero): connect() with it disconnects.
    pub fn unspec() -> SockAddr {
        SockAddr::with_family(
            AF_UNSPEC as u16,
            SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            SOCKADDR_IN_LEN,
        )
    }

    /// The length the caller gave (`addrlen`).
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether the length is zero.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The bytes, `len()` of them.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// `sa_family` (0 when the address is shorter than the field).
    pub fn family(&self) -> u16 {
        if self.len < 2 {
            return 0;
        }
        u16::from_ne_bytes([self.bytes[0], self.bytes[1]])
    }

    /// `sin_addr` and `sin_port`, when the address is long enough to be a `sockaddr_in`
    /// (whatever its family).
    pub fn as_inet(&self) -> Option<SocketAddrV4> {
        (self.len >= SOCKADDR_IN_LEN).then(|| self.inet_unchecked())
    }

    fn inet_unchecked(&self) -> SocketAddrV4 {
        let b = &self.bytes;
        SocketAddrV4::new(
            Ipv4Addr::new(b[4], b[5], b[6], b[7]),
            u16::from_be_bytes([b[2], b[3]]),
        )
    }
}

//! `Errno`: Linux's error numbers, returned by the socket and control APIs.
//!
//! Linux: include/uapi/asm-generic/errno-base.h, include/uapi/asm-generic/errno.h.
//! RFCs: none.

use core::fmt;

/// A Linux error number, with Linux's numeric value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(i32)]
#[allow(missing_docs)]
pub enum Errno {
    EPERM = 1,
    ENOENT = 2,
    ESRCH = 3,
    EINTR = 4,
    EIO = 5,
    ENXIO = 6,
    EBADF = 9,
    EAGAIN = 11,
    ENOMEM = 12,
    EACCES = 13,
    EFAULT = 14,
    EBUSY = 16,
    EEXIST = 17,
    ENODEV = 19,
    EINVAL = 22,
    EMFILE = 24,
    ENOSPC = 28,
    EPIPE = 32,
    EDOM = 33,
    ENAMETOOLONG = 36,
    ENONET = 64,
    EPROTO = 71,
    EDESTADDRREQ = 89,
    EMSGSIZE = 90,
    EPROTOTYPE = 91,
    ENOPROTOOPT = 92,
    EPROTONOSUPPORT = 93,
    ESOCKTNOSUPPORT = 94,
    EOPNOTSUPP = 95,
    EAFNOSUPPORT = 97,
    EADDRINUSE = 98,
    EADDRNOTAVAIL = 99,
    ENETDOWN = 100,
    ENETUNREACH = 101,
    ECONNABORTED = 103,
    ECONNRESET = 104,
    ENOBUFS = 105,
    EISCONN = 106,
    ENOTCONN = 107,
    ETIMEDOUT = 110,
    ECONNREFUSED = 111,
    EHOSTDOWN = 112,
    EHOSTUNREACH = 113,
    EALREADY = 114,
    EINPROGRESS = 115,
}

impl Errno {
    /// The numeric value, as `errno` holds it.
    pub fn code(self) -> i32 {
        self as i32
    }

    /// The error with numeric value `code`, if it is one of these.
    pub fn from_code(code: i32) -> Option<Errno> {
        const ALL: [Errno; 45] = [
            Errno::EPERM,
            Errno::ENOENT,
            Errno::ESRCH,
            Errno::EINTR,
            Errno::EIO,
            Errno::EBADF,
            Errno::EAGAIN,
            Errno::ENOMEM,
            Errno::EACCES,
            Errno::EFAULT,
            Errno::EBUSY,
            Errno::EEXIST,
            Errno::ENXIO,
            Errno::ENODEV,
            Errno::EINVAL,
            Errno::EMFILE,
            Errno::ENOSPC,
            Errno::EPIPE,
            Errno::EDOM,
            Errno::ENAMETOOLONG,
            Errno::ENONET,
            Errno::EPROTO,
            Errno::EDESTADDRREQ,
            Errno::EMSGSIZE,
            Errno::EPROTOTYPE,
            Errno::ENOPROTOOPT,
            Errno::EPROTONOSUPPORT,
            Errno::ESOCKTNOSUPPORT,
            Errno::EOPNOTSUPP,
            Errno::EAFNOSUPPORT,
            Errno::EADDRINUSE,
            Errno::EADDRNOTAVAIL,
            Errno::ENETDOWN,
            Errno::ENETUNREACH,
            Errno::ECONNABORTED,
            Errno::ECONNRESET,
            Errno::ENOBUFS,
            Errno::EISCONN,
            Errno::ENOTCONN,
            Errno::ETIMEDOUT,
            Errno::ECONNREFUSED,
            Errno::EHOSTDOWN,
            Errno::EHOSTUNREACH,
            Errno::EALREADY,
            Errno::EINPROGRESS,
        ];
        ALL.into_iter().find(|e| e.code() == code)
    }

    /// The symbolic name.
    pub fn name(self) -> &'static str {
        match self {
            Errno::EPERM => "EPERM",
            Errno::ENOENT => "ENOENT",
            Errno::ESRCH => "ESRCH",
            Errno::EINTR => "EINTR",
            Errno::EIO => "EIO",
            Errno::EBADF => "EBADF",
            Errno::EAGAIN => "EAGAIN",
            Errno::ENOMEM => "ENOMEM",
            Errno::EACCES => "EACCES",
            Errno::EFAULT => "EFAULT",
            Errno::EBUSY => "EBUSY",
            Errno::EEXIST => "EEXIST",
            Errno::ENXIO => "ENXIO",
            Errno::ENODEV => "ENODEV",
            Errno::EINVAL => "EINVAL",
            Errno::EMFILE => "EMFILE",
            Errno::ENOSPC => "ENOSPC",
            Errno::EPIPE => "EPIPE",
            Errno::EDOM => "EDOM",
            Errno::ENAMETOOLONG => "ENAMETOOLONG",
            Errno::ENONET => "ENONET",
            Errno::EPROTO => "EPROTO",
            Errno::EDESTADDRREQ => "EDESTADDRREQ",
            Errno::EMSGSIZE => "EMSGSIZE",
            Errno::EPROTOTYPE => "EPROTOTYPE",
            Errno::ENOPROTOOPT => "ENOPROTOOPT",
            Errno::EPROTONOSUPPORT => "EPROTONOSUPPORT",
            Errno::ESOCKTNOSUPPORT => "ESOCKTNOSUPPORT",
            Errno::EOPNOTSUPP => "EOPNOTSUPP",
            Errno::EAFNOSUPPORT => "EAFNOSUPPORT",
            Errno::EADDRINUSE => "EADDRINUSE",
            Errno::EADDRNOTAVAIL => "EADDRNOTAVAIL",
            Errno::ENETDOWN => "ENETDOWN",
            Errno::ENETUNREACH => "ENETUNREACH",
            Errno::ECONNABORTED => "ECONNABORTED",
            Errno::ECONNRESET => "ECONNRESET",
            Errno::ENOBUFS => "ENOBUFS",
            Errno::EISCONN => "EISCONN",
            Errno::ENOTCONN => "ENOTCONN",
            Errno::ETIMEDOUT => "ETIMEDOUT",
            Errno::ECONNREFUSED => "ECONNREFUSED",
            Errno::EHOSTDOWN => "EHOSTDOWN",
            Errno::EHOSTUNREACH => "EHOSTUNREACH",
            Errno::EALREADY => "EALREADY",
            Errno::EINPROGRESS => "EINPROGRESS",
        }
    }

    /// The `strerror` text glibc prints.
    pub fn message(self) -> &'static str {
        match self {
            Errno::EACCES => "Permission denied",
            Errno::EINVAL => "Invalid argument",
            Errno::EAGAIN => "Resource temporarily unavailable",
            Errno::EADDRINUSE => "Address already in use",
            Errno::EADDRNOTAVAIL => "Cannot assign requested address",
            Errno::ENETUNREACH => "Network is unreachable",
            Errno::EHOSTUNREACH => "No route to host",
            Errno::ECONNREFUSED => "Connection refused",
            Errno::EMSGSIZE => "Message too long",
            Errno::EDESTADDRREQ => "Destination address required",
            Errno::EOPNOTSUPP => "Operation not supported",
            Errno::ENOBUFS => "No buffer space available",
            Errno::EBADF => "Bad file descriptor",
            Errno::EEXIST => "File exists",
            Errno::ENXIO => "No such device or address",
            Errno::ENODEV => "No such device",
            Errno::ENOENT => "No such file or directory",
            Errno::ESRCH => "No such process",
            Errno::EISCONN => "Transport endpoint is already connected",
            Errno::ENOTCONN => "Transport endpoint is not connected",
            Errno::ETIMEDOUT => "Connection timed out",
            Errno::EMFILE => "Too many open files",
            Errno::ENOSPC => "No space left on device",
            _ => self.name(),
        }
    }
}

impl fmt::Display for Errno {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.message(), self.name())
    }
}

impl core::error::Error for Errno {}

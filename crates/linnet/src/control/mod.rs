//! The control socket: how separate processes use a daemon's stack. It plays netlink's role
//! (configuration and counters, through `linnet_core::ctl`) and that of the socket system
//! calls (`socket`, `bind`, `connect`, `accept4`, `sendmsg`, `recvmsg`, `setsockopt`,
//! `getsockopt`, `poll`, ... over the core's socket layer, on sockets held by the calling
//! connections) and echo requests. [`crate::remote`] builds the three front doors (blocking,
//! async, kernel-style) on it.
//!
//! - [`proto`]: the messages ([`Request`], [`Response`]), their framing (4-byte big-endian
//!   length + `postcard` payload, at most [`MAX_FRAME`]) and the version handshake.
//! - [`server`]: [`Server`], the daemon side: a Unix listener and one thread per client.
//! - [`client`]: [`Client`], the tools' side: one call per system call, and the helpers the
//!   tools use (`recv_from` with a timeout is `poll` then `recvmsg(MSG_DONTWAIT)`, as a C
//!   program would do it).
//! - [`default_path`]: where the socket lives when no `--ctl PATH` is given.
//!
//! Linux: net/netlink/af_netlink.c (a socket family carrying typed, length-prefixed
//! requests to the kernel and errors back as errno), net/socket.c (the socket system calls),
//! net/unix/af_unix.c (the transport).
//! RFCs: RFC 3549 (Netlink as an IP services protocol).

pub mod client;
pub mod proto;
pub mod server;

use std::path::PathBuf;

pub use client::{
    Client, ClientError, Datagram, Msg, ShutdownHow, SockOpt, SockType, CONNECT_TIMEOUT,
};
pub use proto::{
    DaemonStats, PingAnswer, Request, Response, SockId, MAX_CONTROL, MAX_FRAME, MAX_IO,
    PROTOCOL_VERSION,
};
pub use server::{Limits, Server, MAX_CLIENTS, MAX_SOCKETS};

/// The environment variable naming the control socket.
pub const ENV_CTL: &str = "LINNET_CTL";

/// The control socket's path when none is given: `$LINNET_CTL` if set, else
/// `/run/linnet/linnet.sock` for root, else `$XDG_RUNTIME_DIR/linnet.sock`, else
/// `/tmp/linnet-$UID.sock`.
pub fn default_path() -> PathBuf {
    let env = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    let uid = nix::unistd::geteuid();
    path_for(
        env(ENV_CTL).map(PathBuf::from),
        uid.is_root(),
        env("XDG_RUNTIME_DIR").map(PathBuf::from),
        uid.as_raw(),
    )
}

fn path_for(ctl: Option<PathBuf>, root: bool, xdg: Option<PathBuf>, uid: u32) -> PathBuf {
    if let Some(p) = ctl {
        return p;
    }
    if root {
        return PathBuf::from("/run/linnet/linnet.sock");
    }
    match xdg {
        Some(d) => d.join("linnet.sock"),
        None => PathBuf::from(format!("/tmp/linnet-{uid}.sock")),
    }
}

/// `strerror(errno)`: the C library's message for a Linux errno ("File exists"), as
/// iproute2 and iputils print them.
pub fn strerror(errno: i32) -> String {
    let s = std::io::Error::from_raw_os_error(errno).to_string();
    match s.rfind(" (os error ") {
        Some(i) => s[..i].to_string(),
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_prefers_env_then_root_then_xdg_then_tmp() {
        let xdg = Some(PathBuf::from("/run/user/1000"));
        assert_eq!(
            path_for(Some("/x.sock".into()), true, xdg.clone(), 0),
            PathBuf::from("/x.sock")
        );
        assert_eq!(
            path_for(None, true, xdg.clone(), 0),
            PathBuf::from("/run/linnet/linnet.sock")
        );
        assert_eq!(
            path_for(None, false, xdg, 1000),
            PathBuf::from("/run/user/1000/linnet.sock")
        );
        assert_eq!(
            path_for(None, false, None, 1000),
            PathBuf::from("/tmp/linnet-1000.sock")
        );
    }

    #[test]
    fn strerror_is_the_c_library_text() {
        assert_eq!(strerror(17), "File exists");
        assert_eq!(strerror(3), "No such process");
        assert_eq!(strerror(111), "Connection refused");
    }
}

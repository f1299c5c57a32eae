//! The Linux-differential suite of the socket layer (issue 5): a table of socket scenarios,
//! each a small script of calls with the expected result or errno per step, run against the
//! Linux kernel (libc sockets in a fresh pair of network namespaces) and against linnet's
//! socket layer (`Stack::sys_*` on two core stacks wired back to back), step by step.
//!
//! Linux: net/socket.c, net/ipv4/af_inet.c, net/core/sock.c, net/ipv4/ip_sockglue.c,
//! net/ipv4/tcp.c, net/ipv4/udp.c: the kernel itself is the oracle here.
//! RFCs: none.
//!
//! # Setup
//! - Linux: namespaces A (10.0.0.1/24 on a veth, `lo` up) and B (10.0.0.2/24 on the other
//!   end, `lo` up, nothing listening), made with ip(8). The scenarios run in a thread that
//!   `setns`es into A; `tcp_congestion_control` is reno on both sides (a namespace may only
//!   pick an algorithm of `tcp_allowed_congestion_control`, and reno always is). linnet's sysctls are read from A's /proc/sys, so both sides
//!   run with the same `rmem_*`, `wmem_*`, `tcp_rmem`, `tcp_wmem`, `somaxconn` and port
//!   range.
//! - linnet: two stacks, A 10.0.0.1/24 and B 10.0.0.2/24 on Ethernet devices whose frames
//!   are handed across in-process; virtual time advances only when a blocking call has to
//!   wait (the role of the blocking front door: `sys_connect_complete`, or the call retried
//!   while it answers EAGAIN).
//!
//! # Privilege
//! The test runs as root, which has `CAP_NET_BIND_SERVICE`, `CAP_NET_ADMIN` and
//! `CAP_NET_RAW`. A scenario marked `unprivileged` drops those three from the Linux
//! thread's effective set (capset(2), per thread) and creates linnet sockets without the
//! `privileged` mark; the others keep the capabilities and mark every linnet socket
//! privileged. So EACCES for a low port is compared on both sides without changing
//! `ip_unprivileged_port_start`, and the sysctl itself is compared in its own scenario.
//!
//! # Script
//! One call per line, `-> expected` after it. Sockets are `s0`, `s1`, ... in creation
//! order (`socket` and a successful `accept` make one). Results: `ok`, `fd`, `len N`,
//! `int N`, `bytes HEX`, `recv LEN FLAGS DATA`, `poll NAMES` (`poll()`'s revents for every
//! event, names joined by `,`), an address (`ip:port`, `ip:eph` for a port
//! in the ephemeral range) or an errno name. A deliberate difference is written
//! `-> linux X | linnet Y # reason` and listed in [`DIFFERENCES`] and docs/ARCHITECTURE.md
//! §10.
//!
//! Runs whenever root, /dev/net/tun and ip(8) exist; never skips when `CI=true`.
#![allow(unsafe_code)]

#[path = "support/kernel_env.rs"]
mod kernel_env;

use std::fmt::Write as _;
use std::fs::File;
use std::net::{Ipv4Addr, SocketAddrV4};
use std::process::Command;
use std::time::Duration as StdDuration;

use linnet_core::socket::addr::*;
use linnet_core::socket::opt::*;
use linnet_core::socket::raw::{ICMP_FILTER, SOL_RAW};
use linnet_core::socket::{SockAddr, SocketId};
use linnet_core::wire::ethernet::EthernetAddress;
use linnet_core::wire::ipv4::Ipv4Cidr;
use linnet_core::{
    DeviceConfig, DeviceKind, Duration, Errno, IfIndex, Instant, Stack, StackConfig,
};

/// The deliberate differences between Linux and linnet that the scenarios show, with the
/// reason (also in docs/ARCHITECTURE.md §10).
pub const DIFFERENCES: &[(&str, &str)] = &[
    (
        "no-ipv6",
        "AF_INET6 sockets are not implemented yet: EAFNOSUPPORT",
    ),
    (
        "tcp-disconnect",
        "connect(AF_UNSPEC) on an established TCP socket (tcp_disconnect's abort) is not \
         done: EOPNOTSUPP",
    ),
    (
        "oif-loopback",
        "a send forced out of `lo` (SO_BINDTODEVICE lo) to an address that is not local: \
         Linux's output route through the loopback device delivers it locally; linnet \
         hands it to `lo`, whose input drops it as not ours",
    ),
];

// ---- the scenarios ----------------------------------------------------------------------

/// (name, script). The first line may be `unprivileged`.
const SCENARIOS: &[(&str, &str)] = &[
    (
        "socket_rejects_unknown_type_flags",
        "socket AF_INET SOCK_DGRAM|0x40000000 0 -> EINVAL
         socket AF_INET SOCK_STREAM|SOCK_NONBLOCK|SOCK_CLOEXEC 0 -> fd",
    ),
    (
        "socket_unknown_family_and_type",
        "socket 255 SOCK_STREAM 0 -> EAFNOSUPPORT
         socket -1 SOCK_STREAM 0 -> EAFNOSUPPORT
         socket AF_INET 11 0 -> EINVAL
         socket AF_INET SOCK_SEQPACKET 0 -> ESOCKTNOSUPPORT",
    ),
    (
        "socket_protocol_search",
        "socket AF_INET SOCK_STREAM IPPROTO_UDP -> EPROTONOSUPPORT
         socket AF_INET SOCK_DGRAM IPPROTO_TCP -> EPROTONOSUPPORT
         socket AF_INET SOCK_STREAM -1 -> EINVAL
         socket AF_INET SOCK_STREAM 263 -> EINVAL
         socket AF_INET SOCK_STREAM IPPROTO_TCP -> fd
         getopt s0 SOL_SOCKET SO_PROTOCOL 4 -> int 6",
    ),
    (
        "socket_type_protocol_domain",
        "socket AF_INET SOCK_STREAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         getopt s0 SOL_SOCKET SO_TYPE 4 -> int 1
         getopt s1 SOL_SOCKET SO_TYPE 4 -> int 2
         getopt s0 SOL_SOCKET SO_PROTOCOL 4 -> int 6
         getopt s1 SOL_SOCKET SO_PROTOCOL 4 -> int 17
         getopt s1 SOL_SOCKET SO_DOMAIN 4 -> int 2
         getopt s0 SOL_SOCKET SO_ACCEPTCONN 4 -> int 0
         getsockname s0 -> 0.0.0.0:0
         getpeername s0 -> ENOTCONN
         getpeername s1 -> ENOTCONN",
    ),
    (
        "bind_twice_is_einval",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 10.0.0.1:5000 -> ok
         bind s0 10.0.0.1:5001 -> EINVAL
         bind s0 10.9.9.9:5001 -> EADDRNOTAVAIL
         getsockname s0 -> 10.0.0.1:5000",
    ),
    (
        "bind_address_length_and_family",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 len=15,10.0.0.1:5002 -> EINVAL
         bind s0 fam=10,10.0.0.1:5002 -> EAFNOSUPPORT
         bind s0 fam=0,10.0.0.1:5002 -> EAFNOSUPPORT
         bind s0 fam=0,0.0.0.0:5002 -> ok
         getsockname s0 -> 0.0.0.0:5002",
    ),
    (
        "bind_nonlocal_address",
        "socket AF_INET SOCK_STREAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 10.9.9.9:5003 -> EADDRNOTAVAIL
         bind s1 10.9.9.9:5003 -> EADDRNOTAVAIL
         bind s1 127.0.0.5:5003 -> ok
         sysctl ip_nonlocal_bind 1 -> ok
         bind s0 10.9.9.9:5003 -> ok
         getsockname s0 -> 10.9.9.9:5003
         sysctl ip_nonlocal_bind 0 -> ok",
    ),
    (
        "bind_udp_port_conflicts",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 10.0.0.1:5005 -> ok
         bind s1 10.0.0.1:5005 -> EADDRINUSE
         bind s1 0.0.0.0:5005 -> EADDRINUSE
         bind s1 127.0.0.1:5005 -> ok",
    ),
    (
        "bind_tcp_conflict_and_reuseaddr",
        "socket AF_INET SOCK_STREAM 0 -> fd
         socket AF_INET SOCK_STREAM 0 -> fd
         socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 10.0.0.1:5006 -> ok
         bind s1 10.0.0.1:5006 -> EADDRINUSE
         bind s1 0.0.0.0:5006 -> EADDRINUSE
         setopt s0 SOL_SOCKET SO_REUSEADDR 1 -> ok
         setopt s2 SOL_SOCKET SO_REUSEADDR 1 -> ok
         getopt s2 SOL_SOCKET SO_REUSEADDR 4 -> int 1
         bind s2 10.0.0.1:5006 -> ok
         listen s0 5 -> ok
         listen s2 5 -> EADDRINUSE",
    ),
    (
        "bind_wildcard_then_specific",
        "socket AF_INET SOCK_STREAM 0 -> fd
         socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 0.0.0.0:5007 -> ok
         listen s0 5 -> ok
         bind s1 10.0.0.1:5007 -> EADDRINUSE
         bind s1 127.0.0.1:5007 -> EADDRINUSE",
    ),
    (
        "bind_low_port_unprivileged_is_eacces",
        "unprivileged
         socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 10.0.0.1:80 -> EACCES
         bind s0 10.0.0.1:1023 -> EACCES
         bind s0 10.9.9.9:80 -> EADDRNOTAVAIL
         bind s0 10.0.0.1:1024 -> ok
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s1 0.0.0.0:0 -> ok
         getsockname s1 -> 0.0.0.0:eph",
    ),
    (
        "bind_low_port_privileged",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 10.0.0.1:81 -> ok",
    ),
    (
        "bind_low_port_with_unprivileged_port_start_0",
        "unprivileged
         sysctl ip_unprivileged_port_start 0 -> ok
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 10.0.0.1:82 -> ok
         sysctl ip_unprivileged_port_start 1024 -> ok",
    ),
    (
        "listen_autobinds_then_bind_is_einval",
        "socket AF_INET SOCK_STREAM 0 -> fd
         listen s0 5 -> ok
         getsockname s0 -> 0.0.0.0:eph
         getopt s0 SOL_SOCKET SO_ACCEPTCONN 4 -> int 1
         bind s0 10.0.0.1:5008 -> EINVAL
         listen s0 10 -> ok",
    ),
    (
        "connect_refused_by_remote_blocking",
        "socket AF_INET SOCK_STREAM 0 -> fd
         connect s0 10.0.0.2:9 -> ECONNREFUSED
         getpeername s0 -> ENOTCONN
         connect s0 10.0.0.2:9 -> ECONNREFUSED
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 0",
    ),
    (
        "connect_refused_by_remote_nonblocking",
        "socket AF_INET SOCK_STREAM|SOCK_NONBLOCK 0 -> fd
         connect s0 10.0.0.2:9 -> EINPROGRESS
         pump -> ok
         connect s0 10.0.0.2:9 -> ECONNREFUSED
         connect s0 10.0.0.2:9 -> EINPROGRESS
         pump -> ok
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 111
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 0",
    ),
    (
        "connect_refused_over_loopback",
        "socket AF_INET SOCK_STREAM 0 -> fd
         connect s0 127.0.0.1:10 -> ECONNREFUSED
         socket AF_INET SOCK_STREAM|SOCK_NONBLOCK 0 -> fd
         connect s1 127.0.0.1:10 -> EINPROGRESS
         connect s1 127.0.0.1:10 -> ECONNREFUSED",
    ),
    (
        "poll_fresh_and_refused_tcp",
        "socket AF_INET SOCK_STREAM|SOCK_NONBLOCK 0 -> fd
         poll s0 -> poll POLLOUT,POLLHUP,POLLWRNORM
         connect s0 10.0.0.2:9 -> EINPROGRESS
         pump -> ok
         poll s0 -> poll POLLIN,POLLOUT,POLLERR,POLLHUP,POLLRDNORM,POLLWRNORM,POLLRDHUP
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 111
         poll s0 -> poll POLLIN,POLLOUT,POLLHUP,POLLRDNORM,POLLWRNORM,POLLRDHUP
         close s0 -> ok",
    ),
    (
        "poll_listener_data_fin_and_both_shut",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5030 -> ok
         listen s0 5 -> ok
         poll s0 -> poll 0
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5030 -> ok
         pump -> ok
         poll s0 -> poll POLLIN,POLLRDNORM
         accept s0 0 -> fd
         poll s0 -> poll 0
         poll s2 -> poll POLLOUT,POLLWRNORM
         send s1 hi 0 -> len 2
         pump -> ok
         poll s2 -> poll POLLIN,POLLOUT,POLLRDNORM,POLLWRNORM
         setopt s2 SOL_SOCKET SO_RCVLOWAT 3 -> ok
         poll s2 -> poll POLLOUT,POLLWRNORM
         shutdown s1 SHUT_WR -> ok
         pump -> ok
         poll s2 -> poll POLLIN,POLLOUT,POLLRDNORM,POLLWRNORM,POLLRDHUP
         poll s1 -> poll POLLOUT,POLLWRNORM
         shutdown s2 SHUT_WR -> ok
         pump -> ok
         poll s2 -> poll POLLIN,POLLOUT,POLLHUP,POLLRDNORM,POLLWRNORM,POLLRDHUP
         poll s1 -> poll POLLIN,POLLOUT,POLLHUP,POLLRDNORM,POLLWRNORM,POLLRDHUP
         close s2 -> ok
         poll s2 -> poll POLLNVAL",
    ),
    (
        "poll_udp",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         poll s0 -> poll POLLOUT,POLLWRNORM,POLLWRBAND
         bind s0 127.0.0.1:5031 -> ok
         send s0 x 0 127.0.0.1:5031 -> len 1
         pump -> ok
         poll s0 -> poll POLLIN,POLLOUT,POLLRDNORM,POLLWRNORM,POLLWRBAND
         connect s0 127.0.0.1:5032 -> ok
         recv s0 4 0 -> recv 1 0 x
         send s0 y 0 -> len 1
         pump -> ok
         poll s0 -> poll POLLOUT,POLLERR,POLLWRNORM,POLLWRBAND
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 111
         shutdown s0 SHUT_RD -> ok
         poll s0 -> poll POLLIN,POLLOUT,POLLRDNORM,POLLWRNORM,POLLWRBAND,POLLRDHUP
         shutdown s0 SHUT_WR -> ok
         poll s0 -> poll POLLIN,POLLOUT,POLLHUP,POLLRDNORM,POLLWRNORM,POLLWRBAND,POLLRDHUP",
    ),
    (
        "connect_network_unreachable",
        "socket AF_INET SOCK_STREAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         connect s0 192.0.2.1:80 -> ENETUNREACH
         connect s1 192.0.2.1:80 -> ENETUNREACH
         bind s1 10.0.0.1:5010 -> EINVAL
         bind s0 10.0.0.1:5010 -> ok",
    ),
    (
        "connect_bad_addresses",
        "socket AF_INET SOCK_STREAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         connect s0 len=1,10.0.0.2:80 -> EINVAL
         connect s0 len=8,10.0.0.2:80 -> EINVAL
         connect s0 fam=10,10.0.0.2:80 -> EAFNOSUPPORT
         connect s1 len=8,10.0.0.2:80 -> EINVAL
         connect s1 fam=10,10.0.0.2:80 -> EAFNOSUPPORT
         getsockname s1 -> 0.0.0.0:eph",
    ),
    (
        "connect_loopback_then_eisconn",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5011 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5011 -> ok
         connect s1 127.0.0.1:5011 -> EISCONN
         getpeername s1 -> 127.0.0.1:5011
         getsockname s1 -> 127.0.0.1:eph
         accept s0 0 -> fd
         getsockname s2 -> 127.0.0.1:5011
         getpeername s2 -> 127.0.0.1:eph
         listen s1 5 -> EINVAL",
    ),
    (
        "connect_nonblocking_loopback",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5012 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM|SOCK_NONBLOCK 0 -> fd
         connect s1 127.0.0.1:5012 -> EINPROGRESS
         pump -> ok
         connect s1 127.0.0.1:5012 -> ok
         connect s1 127.0.0.1:5012 -> EISCONN",
    ),
    (
        "udp_listen_and_accept_are_eopnotsupp",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         listen s0 5 -> EOPNOTSUPP
         accept s0 0 -> EOPNOTSUPP",
    ),
    (
        "accept_rules",
        "socket AF_INET SOCK_STREAM|SOCK_NONBLOCK 0 -> fd
         accept s0 0 -> EINVAL
         bind s0 127.0.0.1:5013 -> ok
         listen s0 5 -> ok
         accept s0 0 -> EAGAIN
         accept s0 1 -> EINVAL
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5013 -> ok
         accept s0 SOCK_NONBLOCK -> fd
         recv s2 10 0 -> EAGAIN",
    ),
    (
        "shutdown_rules",
        "socket AF_INET SOCK_STREAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         shutdown s0 3 -> EINVAL
         shutdown s0 -1 -> EINVAL
         shutdown s0 SHUT_RDWR -> ENOTCONN
         shutdown s1 SHUT_WR -> ENOTCONN
         connect s1 10.0.0.2:53 -> ok
         shutdown s1 SHUT_RD -> ok
         recv s1 10 MSG_DONTWAIT -> EAGAIN
         recv s1 10 0 -> recv 0 0
         send s1 x 0 -> EPIPE",
    ),
    (
        "shutdown_listener",
        "socket AF_INET SOCK_STREAM 0 -> fd
         listen s0 5 -> ok
         shutdown s0 SHUT_WR -> ok
         getopt s0 SOL_SOCKET SO_ACCEPTCONN 4 -> int 1
         shutdown s0 SHUT_RD -> ok
         getopt s0 SOL_SOCKET SO_ACCEPTCONN 4 -> int 0
         listen s0 5 -> ok",
    ),
    (
        "send_after_shutdown_is_epipe",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5014 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5014 -> ok
         accept s0 0 -> fd
         send s1 hi MSG_NOSIGNAL -> len 2
         shutdown s1 SHUT_WR -> ok
         send s1 x MSG_NOSIGNAL -> EPIPE
         send s1 x 0 -> EPIPE
         pump -> ok
         recv s2 10 0 -> recv 2 0 hi
         recv s2 10 0 -> recv 0 0",
    ),
    (
        "send_recv_on_unconnected_tcp",
        "socket AF_INET SOCK_STREAM 0 -> fd
         send s0 x MSG_NOSIGNAL -> EPIPE
         recv s0 10 MSG_DONTWAIT -> ENOTCONN
         listen s0 5 -> ok
         recv s0 10 MSG_DONTWAIT -> ENOTCONN
         send s0 x MSG_NOSIGNAL -> EPIPE",
    ),
    (
        "tcp_peek_and_trunc",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5015 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5015 -> ok
         accept s0 0 -> fd
         send s1 helloworld 0 -> len 10
         pump -> ok
         recv s2 3 MSG_PEEK -> recv 3 0 hel
         recv s2 5 0 -> recv 5 0 hello
         recv s2 2 MSG_TRUNC -> recv 2 0
         recv s2 10 MSG_OOB -> EINVAL
         recv s2 10 MSG_ERRQUEUE -> EAGAIN
         recv s2 10 0 -> recv 3 0 rld
         recv s2 10 MSG_DONTWAIT -> EAGAIN",
    ),
    (
        "udp_truncation_and_peek",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 127.0.0.1:5016 -> ok
         send s1 #100 0 127.0.0.1:5016 -> len 100
         send s1 abc 0 127.0.0.1:5016 -> len 3
         send s1 #100 0 127.0.0.1:5016 -> len 100
         recv s0 10 MSG_PEEK -> recv 10 0x20 aaaaaaaaaa
         recv s0 10 0 -> recv 10 0x20 aaaaaaaaaa
         recv s0 10 MSG_PEEK -> recv 3 0 abc
         recv s0 10 0 -> recv 3 0 abc
         recv s0 10 MSG_TRUNC -> recv 100 0x20 aaaaaaaaaa
         recv s0 10 MSG_DONTWAIT -> EAGAIN
         recv s0 10 MSG_ERRQUEUE -> EAGAIN",
    ),
    (
        "udp_cmsg_origdstaddr",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 0.0.0.0:5061 -> ok
         getopt s0 SOL_IP IP_RECVORIGDSTADDR 4 -> int 0
         setopt s0 SOL_IP IP_RECVORIGDSTADDR 1 -> ok
         getopt s0 SOL_IP IP_RECVORIGDSTADDR 4 -> int 1
         setopt s1 SOL_IP IP_TOS 8 -> ok
         send s1 abc 0 127.0.0.1:5061 -> len 3
         pump -> ok
         recvc s0 10 0 -> recv 3 0 abc cmsg origdst 127.0.0.1:5061
         setopt s0 SOL_IP IP_RECVTOS 1 -> ok
         send s1 de 0 10.0.0.1:5061 -> len 2
         pump -> ok
         recvc s0 10 0 -> recv 2 0 de cmsg tos 8,origdst 10.0.0.1:5061
         setopt s0 SOL_IP IP_RECVORIGDSTADDR b:00 -> ok
         send s1 f 0 127.0.0.1:5061 -> len 1
         pump -> ok
         recvc s0 10 0 -> recv 1 0 f cmsg tos 8",
    ),
    (
        "udp_cmsg_pktinfo_ttl_tos",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 127.0.0.1:5060 -> ok
         setopt s1 SOL_IP IP_TTL 9 -> ok
         setopt s1 SOL_IP IP_TOS 16 -> ok
         send s1 abc 0 127.0.0.1:5060 -> len 3
         pump -> ok
         recvc s0 10 MSG_PEEK -> recv 3 0 abc cmsg none
         setopt s0 SOL_IP IP_PKTINFO 1 -> ok
         setopt s0 SOL_IP IP_RECVTTL b:01 -> ok
         setopt s0 SOL_IP IP_RECVTOS 1 -> ok
         getopt s0 SOL_IP IP_RECVTTL 4 -> int 1
         recvc s0 10 MSG_PEEK -> recv 3 0 abc cmsg pktinfo 0.0.0.0 127.0.0.1,ttl 9,tos 16
         recvc s0 10 0 -> recv 3 0 abc cmsg pktinfo 0.0.0.0 127.0.0.1,ttl 9,tos 16
         recvc s0 10 MSG_DONTWAIT -> EAGAIN
         send s1 defg 0 127.0.0.1:5060 -> len 4
         pump -> ok
         recvc s0 10 0 -> recv 4 0 defg cmsg pktinfo 127.0.0.1 127.0.0.1,ttl 9,tos 16
         setopt s0 SOL_IP IP_RECVTTL 0 -> ok
         send s1 h 0 127.0.0.1:5060 -> len 1
         pump -> ok
         recvc s0 10 0 -> recv 1 0 h cmsg pktinfo 127.0.0.1 127.0.0.1,tos 16",
    ),
    (
        "udp_recverr_error_queue",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         send s0 hello 0 127.0.0.1:5061 -> len 5
         pump -> ok
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 0
         recvc s0 64 MSG_ERRQUEUE -> EAGAIN
         setopt s0 SOL_IP IP_RECVERR 1 -> ok
         getopt s0 SOL_IP IP_RECVERR 4 -> int 1
         send s0 hello 0 127.0.0.1:5061 -> len 5
         pump -> ok
         poll s0 -> poll POLLOUT,POLLERR,POLLWRNORM,POLLWRBAND
         recv s0 64 MSG_DONTWAIT -> ECONNREFUSED
         recvc s0 3 MSG_ERRQUEUE -> recv 3 0x2020 hel cmsg err ECONNREFUSED o2 t3 c3 i0 from 127.0.0.1
         recvc s0 64 MSG_ERRQUEUE -> EAGAIN
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 0
         send s0 hello 0 127.0.0.1:5061 -> len 5
         pump -> ok
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 111
         recvc s0 64 MSG_ERRQUEUE -> recv 5 0x2000 hello cmsg err ECONNREFUSED o2 t3 c3 i0 from 127.0.0.1
         setopt s0 SOL_IP IP_RECVERR 0 -> ok
         recv s0 64 MSG_ERRQUEUE -> EAGAIN",
    ),
    (
        "udp_cork_and_msg_more",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 127.0.0.1:5062 -> ok
         send s1 ab MSG_MORE 127.0.0.1:5062 -> len 2
         pump -> ok
         recv s0 10 MSG_DONTWAIT -> EAGAIN
         send s1 cd 0 127.0.0.1:5063 -> len 2
         pump -> ok
         recv s0 10 MSG_DONTWAIT -> recv 4 0 abcd
         getopt s1 SOL_UDP UDP_CORK 4 -> int 0
         setopt s1 SOL_UDP UDP_CORK 1 -> ok
         getopt s1 SOL_UDP UDP_CORK 4 -> int 1
         send s1 x 0 127.0.0.1:5062 -> len 1
         send s1 y 0 127.0.0.1:5062 -> len 1
         pump -> ok
         recv s0 10 MSG_DONTWAIT -> EAGAIN
         setopt s1 SOL_UDP UDP_CORK 0 -> ok
         pump -> ok
         recv s0 10 MSG_DONTWAIT -> recv 2 0 xy
         send s1 #40000 MSG_MORE 127.0.0.1:5062 -> len 40000
         send s1 #40000 MSG_MORE 127.0.0.1:5062 -> EMSGSIZE
         send s1 abc 0 127.0.0.1:5062 -> len 3
         pump -> ok
         recv s0 10 MSG_DONTWAIT -> recv 3 0 abc
         send s1 x MSG_MORE -> EDESTADDRREQ",
    ),
    (
        "udp_send_errors",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         send s0 x 0 -> EDESTADDRREQ
         send s0 x 0 10.0.0.2:0 -> EINVAL
         send s0 x MSG_OOB 10.0.0.2:9 -> EOPNOTSUPP
         send s0 #70000 0 10.0.0.2:9 -> EMSGSIZE
         send s0 x 0 len=8,10.0.0.2:9 -> EINVAL
         send s0 x 0 fam=10,10.0.0.2:9 -> EAFNOSUPPORT
         getsockname s0 -> 0.0.0.0:eph
         bind s0 10.0.0.1:5017 -> EINVAL",
    ),
    (
        "udp_connected_gets_econnrefused",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         connect s0 10.0.0.2:9 -> ok
         getsockname s0 -> 10.0.0.1:eph
         getpeername s0 -> 10.0.0.2:9
         send s0 x 0 -> len 1
         pump -> ok
         recv s0 10 MSG_DONTWAIT -> ECONNREFUSED
         recv s0 10 MSG_DONTWAIT -> EAGAIN",
    ),
    (
        "udp_connect_af_unspec_disconnects",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         connect s0 10.0.0.2:53 -> ok
         connect s0 unspec -> ok
         getpeername s0 -> ENOTCONN
         getsockname s0 -> 0.0.0.0:0
         send s0 x 0 -> EDESTADDRREQ
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s1 0.0.0.0:5018 -> ok
         connect s1 10.0.0.2:53 -> ok
         connect s1 unspec -> ok
         getsockname s1 -> 0.0.0.0:5018",
    ),
    (
        "rcvbuf_sndbuf_doubled",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         socket AF_INET SOCK_STREAM 0 -> fd
         getopt s1 SOL_SOCKET SO_RCVBUF 4 -> int 131072
         getopt s1 SOL_SOCKET SO_SNDBUF 4 -> int 16384
         getopt s0 SOL_SOCKET SO_RCVBUF 4 -> int 212992
         getopt s0 SOL_SOCKET SO_SNDBUF 4 -> int 212992
         setopt s0 SOL_SOCKET SO_RCVBUF 10000 -> ok
         getopt s0 SOL_SOCKET SO_RCVBUF 4 -> int 20000
         setopt s1 SOL_SOCKET SO_RCVBUF 10000 -> ok
         getopt s1 SOL_SOCKET SO_RCVBUF 4 -> int 20000
         setopt s0 SOL_SOCKET SO_SNDBUF 10000 -> ok
         getopt s0 SOL_SOCKET SO_SNDBUF 4 -> int 20000
         setopt s1 SOL_SOCKET SO_SNDBUF 10000 -> ok
         getopt s1 SOL_SOCKET SO_SNDBUF 4 -> int 20000
         setopt s0 SOL_SOCKET SO_RCVBUF 1 -> ok
         getopt s0 SOL_SOCKET SO_RCVBUF 4 -> int 2304
         setopt s1 SOL_SOCKET SO_SNDBUF 1 -> ok
         getopt s1 SOL_SOCKET SO_SNDBUF 4 -> int 4608
         getopt s1 SOL_SOCKET SO_SNDBUF 2 -> bytes 0012",
    ),
    (
        "tcp_option_defaults",
        "socket AF_INET SOCK_STREAM 0 -> fd
         getopt s0 SOL_TCP TCP_NODELAY 4 -> int 0
         getopt s0 SOL_TCP TCP_KEEPIDLE 4 -> int 7200
         getopt s0 SOL_TCP TCP_KEEPINTVL 4 -> int 75
         getopt s0 SOL_TCP TCP_KEEPCNT 4 -> int 9
         getopt s0 SOL_TCP TCP_SYNCNT 4 -> int 6
         getopt s0 SOL_TCP TCP_LINGER2 4 -> int 60
         getopt s0 SOL_TCP TCP_USER_TIMEOUT 4 -> int 0
         getopt s0 SOL_TCP TCP_MAXSEG 4 -> int 536
         getopt s0 SOL_TCP TCP_CORK 4 -> int 0
         getopt s0 SOL_TCP TCP_QUICKACK 4 -> int 1
         getopt s0 SOL_TCP TCP_CONGESTION 16 -> bytes 72656e6f000000000000000000000000
         getopt s0 SOL_SOCKET SO_KEEPALIVE 4 -> int 0
         getopt s0 SOL_IP IP_TTL 4 -> int 64",
    ),
    (
        "tcp_option_set_and_ranges",
        "socket AF_INET SOCK_STREAM 0 -> fd
         setopt s0 SOL_TCP TCP_NODELAY 5 -> ok
         getopt s0 SOL_TCP TCP_NODELAY 4 -> int 1
         setopt s0 SOL_TCP TCP_KEEPIDLE 0 -> EINVAL
         setopt s0 SOL_TCP TCP_KEEPIDLE 30 -> ok
         getopt s0 SOL_TCP TCP_KEEPIDLE 4 -> int 30
         setopt s0 SOL_TCP TCP_KEEPCNT 200 -> EINVAL
         setopt s0 SOL_TCP TCP_KEEPINTVL -1 -> EINVAL
         setopt s0 SOL_TCP TCP_SYNCNT 0 -> EINVAL
         setopt s0 SOL_TCP TCP_SYNCNT 3 -> ok
         getopt s0 SOL_TCP TCP_SYNCNT 4 -> int 3
         setopt s0 SOL_TCP TCP_USER_TIMEOUT -1 -> EINVAL
         setopt s0 SOL_TCP TCP_USER_TIMEOUT 1500 -> ok
         getopt s0 SOL_TCP TCP_USER_TIMEOUT 4 -> int 1500
         setopt s0 SOL_TCP TCP_LINGER2 -5 -> ok
         getopt s0 SOL_TCP TCP_LINGER2 4 -> int -1
         setopt s0 SOL_TCP TCP_LINGER2 500 -> ok
         getopt s0 SOL_TCP TCP_LINGER2 4 -> int 120
         setopt s0 SOL_TCP TCP_CONGESTION s:cubic -> ok
         getopt s0 SOL_TCP TCP_CONGESTION 16 -> bytes 63756269630000000000000000000000
         setopt s0 SOL_TCP TCP_CONGESTION s:nope -> ENOENT
         setopt s0 SOL_TCP TCP_NODELAY b:01 -> EINVAL
         setopt s0 SOL_SOCKET SO_KEEPALIVE 1 -> ok
         getopt s0 SOL_SOCKET SO_KEEPALIVE 4 -> int 1",
    ),
    (
        "ip_ttl_and_tos",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         getopt s0 SOL_IP IP_TTL 4 -> int 64
         getopt s0 SOL_IP IP_TTL 1 -> bytes 40
         setopt s0 SOL_IP IP_TTL 0 -> EINVAL
         setopt s0 SOL_IP IP_TTL 256 -> EINVAL
         setopt s0 SOL_IP IP_TTL 7 -> ok
         getopt s0 SOL_IP IP_TTL 4 -> int 7
         setopt s0 SOL_IP IP_TTL b:09 -> ok
         getopt s0 SOL_IP IP_TTL 4 -> int 9
         setopt s0 SOL_IP IP_TTL -1 -> ok
         getopt s0 SOL_IP IP_TTL 4 -> int 64
         getopt s0 SOL_IP IP_TOS 4 -> int 0
         setopt s0 SOL_IP IP_TOS 16 -> ok
         getopt s0 SOL_IP IP_TOS 4 -> int 16
         getopt s0 SOL_SOCKET SO_PRIORITY 4 -> int 6
         setopt s0 SOL_IP IP_HDRINCL 1 -> ENOPROTOOPT",
    ),
    (
        "unknown_options_and_lengths",
        "socket AF_INET SOCK_STREAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         setopt s0 SOL_SOCKET 9999 1 -> ENOPROTOOPT
         getopt s0 SOL_SOCKET 9999 4 -> ENOPROTOOPT
         setopt s0 SOL_TCP 9999 1 -> ENOPROTOOPT
         getopt s0 SOL_TCP 9999 4 -> ENOPROTOOPT
         setopt s0 SOL_IP 1000 1 -> ENOPROTOOPT
         setopt s1 SOL_TCP TCP_NODELAY 1 -> ENOPROTOOPT
         setopt s0 999 1 1 -> ENOPROTOOPT
         getopt s0 999 1 4 -> EOPNOTSUPP
         setopt s1 SOL_SOCKET SO_TYPE 1 -> ENOPROTOOPT
         setopt s1 SOL_SOCKET SO_KEEPALIVE b:0100 -> EINVAL
         setopt s1 SOL_UDP UDP_CORK b:01 -> EINVAL
         getopt s1 SOL_SOCKET SO_SNDLOWAT 4 -> int 1",
    ),
    (
        "linger_and_timeouts",
        "socket AF_INET SOCK_STREAM 0 -> fd
         getopt s0 SOL_SOCKET SO_LINGER 8 -> bytes 0000000000000000
         setopt s0 SOL_SOCKET SO_LINGER linger:1,5 -> ok
         getopt s0 SOL_SOCKET SO_LINGER 8 -> bytes 0100000005000000
         setopt s0 SOL_SOCKET SO_LINGER b:01000000 -> EINVAL
         getopt s0 SOL_SOCKET SO_RCVTIMEO 16 -> bytes 00000000000000000000000000000000
         setopt s0 SOL_SOCKET SO_RCVTIMEO tv:1,500000 -> ok
         getopt s0 SOL_SOCKET SO_RCVTIMEO 16 -> bytes 010000000000000020a1070000000000
         setopt s0 SOL_SOCKET SO_SNDTIMEO tv:1,1000000 -> EDOM
         setopt s0 SOL_SOCKET SO_SNDTIMEO b:0100000000000000 -> EINVAL
         getopt s0 SOL_SOCKET SO_RCVLOWAT 4 -> int 1
         setopt s0 SOL_SOCKET SO_RCVLOWAT 0 -> ok
         getopt s0 SOL_SOCKET SO_RCVLOWAT 4 -> int 1",
    ),
    (
        "capability_options_unprivileged",
        "unprivileged
         socket AF_INET SOCK_DGRAM 0 -> fd
         setopt s0 SOL_SOCKET SO_PRIORITY 7 -> EPERM
         setopt s0 SOL_SOCKET SO_PRIORITY 6 -> ok
         getopt s0 SOL_SOCKET SO_PRIORITY 4 -> int 6
         setopt s0 SOL_SOCKET SO_MARK 1 -> EPERM
         setopt s0 SOL_SOCKET SO_DEBUG 1 -> EACCES
         setopt s0 SOL_SOCKET SO_RCVBUFFORCE 100000 -> EPERM
         setopt s0 SOL_SOCKET SO_SNDBUFFORCE 100000 -> EPERM",
    ),
    (
        "capability_options_privileged",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         setopt s0 SOL_SOCKET SO_PRIORITY 9 -> ok
         getopt s0 SOL_SOCKET SO_PRIORITY 4 -> int 9
         setopt s0 SOL_SOCKET SO_MARK 42 -> ok
         getopt s0 SOL_SOCKET SO_MARK 4 -> int 42
         setopt s0 SOL_SOCKET SO_RCVBUFFORCE 100000 -> ok
         getopt s0 SOL_SOCKET SO_RCVBUF 4 -> int 200000",
    ),
    (
        "bindtodevice_unprivileged",
        "unprivileged
         socket AF_INET SOCK_DGRAM 0 -> fd
         setopt s0 SOL_SOCKET SO_BINDTODEVICE s:nosuchdev -> ENODEV
         setopt s0 SOL_SOCKET SO_BINDTODEVICE s:lo -> ok
         getopt s0 SOL_SOCKET SO_BINDTODEVICE 16 -> bytes 6c6f00
         getopt s0 SOL_SOCKET SO_BINDTODEVICE 15 -> EINVAL
         getopt s0 SOL_SOCKET SO_BINDTOIFINDEX 4 -> int 1
         setopt s0 SOL_SOCKET SO_BINDTODEVICE s:lo -> EPERM
         setopt s0 SOL_SOCKET SO_BINDTODEVICE b:00 -> EPERM
         bind s0 0.0.0.0:5070 -> ok
         socket AF_INET SOCK_DGRAM 0 -> fd
         setopt s1 SOL_SOCKET SO_BINDTODEVICE s:lo -> ok
         bind s1 0.0.0.0:5070 -> EADDRINUSE
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s2 0.0.0.0:5070 -> EADDRINUSE
         send s2 one 0 127.0.0.1:5070 -> len 3
         recv s0 10 MSG_DONTWAIT -> recv 3 0 one
         send s2 two 0 10.0.0.1:5070 -> len 3
         recv s0 10 MSG_DONTWAIT -> EAGAIN
         socket AF_INET SOCK_STREAM 0 -> fd
         setopt s3 SOL_SOCKET SO_BINDTODEVICE s:lo -> ok
         bind s3 0.0.0.0:5071 -> ok
         listen s3 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s4 127.0.0.1:5071 -> ok
         accept s3 0 -> fd
         getopt s5 SOL_SOCKET SO_BINDTOIFINDEX 4 -> int 1
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s6 10.0.0.1:5071 -> ECONNREFUSED",
    ),
    (
        "bindtodevice_privileged",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         setopt s0 SOL_SOCKET SO_BINDTODEVICE s:lo -> ok
         setopt s0 SOL_SOCKET SO_BINDTODEVICE s:lo -> ok
         setopt s0 SOL_SOCKET SO_BINDTODEVICE s: -> ok
         getopt s0 SOL_SOCKET SO_BINDTOIFINDEX 4 -> int 0
         setopt s0 SOL_SOCKET SO_BINDTOIFINDEX -1 -> EINVAL
         setopt s0 SOL_SOCKET SO_BINDTOIFINDEX 99 -> ok
         getopt s0 SOL_SOCKET SO_BINDTOIFINDEX 4 -> int 99",
    ),
    (
        "reuseport_shares_ports",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         setopt s0 SOL_SOCKET SO_REUSEPORT 1 -> ok
         setopt s1 SOL_SOCKET SO_REUSEPORT 1 -> ok
         bind s0 127.0.0.1:5080 -> ok
         bind s1 127.0.0.1:5080 -> ok
         bind s2 127.0.0.1:5080 -> EADDRINUSE
         bind s2 0.0.0.0:5080 -> EADDRINUSE
         socket AF_INET SOCK_STREAM 0 -> fd
         socket AF_INET SOCK_STREAM 0 -> fd
         socket AF_INET SOCK_STREAM 0 -> fd
         setopt s3 SOL_SOCKET SO_REUSEPORT 1 -> ok
         setopt s4 SOL_SOCKET SO_REUSEPORT 1 -> ok
         bind s3 127.0.0.1:5081 -> ok
         bind s4 127.0.0.1:5081 -> ok
         listen s3 5 -> ok
         listen s4 5 -> ok
         bind s5 127.0.0.1:5081 -> EADDRINUSE
         socket AF_INET SOCK_STREAM 0 -> fd
         setopt s6 SOL_SOCKET SO_REUSEADDR 1 -> ok
         bind s6 127.0.0.1:5081 -> EADDRINUSE",
    ),
    (
        "boolean_socket_flags",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         socket AF_INET SOCK_STREAM 0 -> fd
         setopt s0 SOL_SOCKET SO_BROADCAST 5 -> ok
         getopt s0 SOL_SOCKET SO_BROADCAST 4 -> int 1
         setopt s1 SOL_SOCKET SO_BROADCAST 5 -> ok
         getopt s1 SOL_SOCKET SO_BROADCAST 4 -> int 1
         setopt s0 SOL_SOCKET SO_KEEPALIVE 2 -> ok
         getopt s0 SOL_SOCKET SO_KEEPALIVE 4 -> int 1
         setopt s1 SOL_SOCKET SO_OOBINLINE 1 -> ok
         getopt s1 SOL_SOCKET SO_OOBINLINE 4 -> int 1
         setopt s0 SOL_SOCKET SO_REUSEPORT 1 -> ok
         getopt s0 SOL_SOCKET SO_REUSEPORT 4 -> int 1
         setopt s0 SOL_SOCKET SO_DONTROUTE 1 -> ok
         getopt s0 SOL_SOCKET SO_DONTROUTE 4 -> int 1",
    ),
    (
        "rst_delivery_after_close_with_unread_data",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5030 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5030 -> ok
         accept s0 0 -> fd
         send s1 data 0 -> len 4
         pump -> ok
         close s2 -> ok
         pump -> ok
         recv s1 10 MSG_DONTWAIT -> ECONNRESET
         recv s1 10 MSG_DONTWAIT -> recv 0 0
         send s1 x MSG_NOSIGNAL -> EPIPE
         getopt s1 SOL_SOCKET SO_ERROR 4 -> int 0
         getpeername s1 -> ENOTCONN",
    ),
    (
        "rst_delivery_after_so_linger_zero",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5031 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5031 -> ok
         accept s0 0 -> fd
         setopt s2 SOL_SOCKET SO_LINGER linger:1,0 -> ok
         close s2 -> ok
         pump -> ok
         getopt s1 SOL_SOCKET SO_ERROR 4 -> int 104
         recv s1 10 MSG_DONTWAIT -> recv 0 0",
    ),
    (
        "eof_then_close_wait_send_then_epipe",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5032 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5032 -> ok
         accept s0 0 -> fd
         close s2 -> ok
         pump -> ok
         recv s1 10 0 -> recv 0 0
         recv s1 10 0 -> recv 0 0
         send s1 x MSG_NOSIGNAL -> len 1
         pump -> ok
         send s1 x MSG_NOSIGNAL -> EPIPE
         recv s1 10 MSG_DONTWAIT -> recv 0 0",
    ),
    (
        "time_wait_and_reuseaddr",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5033 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         bind s1 127.0.0.1:5034 -> ok
         connect s1 127.0.0.1:5033 -> ok
         accept s0 0 -> fd
         close s1 -> ok
         pump -> ok
         close s2 -> ok
         pump -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         bind s3 127.0.0.1:5034 -> EADDRINUSE
         setopt s3 SOL_SOCKET SO_REUSEADDR 1 -> ok
         bind s3 127.0.0.1:5034 -> EADDRINUSE",
    ),
    (
        "time_wait_reuseaddr_on_both",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5035 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         setopt s1 SOL_SOCKET SO_REUSEADDR 1 -> ok
         bind s1 127.0.0.1:5036 -> ok
         connect s1 127.0.0.1:5035 -> ok
         accept s0 0 -> fd
         close s1 -> ok
         pump -> ok
         close s2 -> ok
         pump -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         bind s3 127.0.0.1:5036 -> EADDRINUSE
         setopt s3 SOL_SOCKET SO_REUSEADDR 1 -> ok
         bind s3 127.0.0.1:5036 -> ok",
    ),
    (
        "connect_refused_keeps_or_drops_the_port",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 10.0.0.1:5037 -> ok
         connect s0 10.0.0.2:9 -> ECONNREFUSED
         getsockname s0 -> 10.0.0.1:5037
         bind s0 10.0.0.1:5038 -> EINVAL
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 10.0.0.2:9 -> ECONNREFUSED
         getsockname s1 -> 0.0.0.0:eph
         bind s1 10.0.0.1:5047 -> ok
         getsockname s1 -> 10.0.0.1:5047
         socket AF_INET SOCK_STREAM 0 -> fd
         bind s2 0.0.0.0:5048 -> ok
         connect s2 10.0.0.2:9 -> ECONNREFUSED
         getsockname s2 -> 0.0.0.0:5048
         connect s2 10.0.0.2:9 -> ECONNREFUSED
         getsockname s2 -> 0.0.0.0:5048",
    ),
    (
        "connect_on_listener_and_af_unspec",
        "socket AF_INET SOCK_STREAM 0 -> fd
         connect s0 unspec -> ok
         bind s0 127.0.0.1:5039 -> ok
         listen s0 5 -> ok
         connect s0 127.0.0.1:5039 -> EISCONN
         connect s0 unspec -> ok
         getopt s0 SOL_SOCKET SO_ACCEPTCONN 4 -> int 0
         getsockname s0 -> 127.0.0.1:5039",
    ),
    (
        "udp_broadcast_needs_so_broadcast",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         send s0 x 0 10.0.0.255:9 -> EACCES
         connect s0 10.0.0.255:9 -> EACCES
         setopt s0 SOL_SOCKET SO_BROADCAST 1 -> ok
         send s0 x 0 10.0.0.255:9 -> len 1
         send s0 x 0 255.255.255.255:9 -> ENETUNREACH",
    ),
    (
        "bind_broadcast_and_multicast_addresses",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 10.0.0.255:5040 -> ok
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s1 224.0.0.1:5041 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         bind s2 224.0.0.1:5042 -> ok
         getsockname s2 -> 224.0.0.1:5042",
    ),
    (
        "zero_length_sends",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 127.0.0.1:5043 -> ok
         socket AF_INET SOCK_DGRAM 0 -> fd
         send s1 #0 0 127.0.0.1:5043 -> len 0
         recv s0 10 MSG_DONTWAIT -> recv 0 0
         socket AF_INET SOCK_STREAM 0 -> fd
         bind s2 127.0.0.1:5044 -> ok
         listen s2 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s3 127.0.0.1:5044 -> ok
         send s3 #0 0 -> len 0",
    ),
    (
        "tcp_shutdown_read_and_twice",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5045 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5045 -> ok
         accept s0 0 -> fd
         shutdown s1 SHUT_RD -> ok
         recv s1 10 0 -> recv 0 0
         send s1 abc 0 -> len 3
         shutdown s1 SHUT_WR -> ok
         shutdown s1 SHUT_WR -> ok
         pump -> ok
         recv s2 10 0 -> recv 3 0 abc
         recv s2 10 0 -> recv 0 0",
    ),
    (
        "udp_reconnect_and_sendto_other",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         connect s0 10.0.0.2:53 -> ok
         connect s0 127.0.0.1:54 -> ok
         getpeername s0 -> 127.0.0.1:54
         getsockname s0 -> 10.0.0.1:eph
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s1 127.0.0.1:5046 -> ok
         send s0 hi 0 127.0.0.1:5046 -> len 2
         recv s1 10 MSG_DONTWAIT -> recv 2 0 hi",
    ),
    (
        "ping_sockets",
        "socket AF_INET SOCK_DGRAM IPPROTO_ICMP -> EACCES
         sysctl ping_group_range 0,2147483647 -> ok
         socket AF_INET SOCK_DGRAM IPPROTO_ICMP -> fd
         getopt s0 SOL_SOCKET SO_PROTOCOL 4 -> int 1
         getopt s0 SOL_SOCKET SO_TYPE 4 -> int 2
         listen s0 5 -> EOPNOTSUPP
         accept s0 0 -> EOPNOTSUPP
         getpeername s0 -> ENOTCONN
         bind s0 len=8,0.0.0.0:4242 -> EINVAL
         bind s0 10.9.9.9:4242 -> EADDRNOTAVAIL
         bind s0 0.0.0.0:4242 -> ok
         getsockname s0 -> 0.0.0.0:4242
         bind s0 0.0.0.0:4243 -> EINVAL
         send s0 x:08000000000000016869 0 10.0.0.2:0 -> len 10
         pump -> ok
         recv s0 64 MSG_DONTWAIT -> recv 10 0 x:00008703109200016869
         recv s0 64 MSG_DONTWAIT -> EAGAIN
         send s0 x:00000000000000016869 0 10.0.0.2:0 -> EINVAL
         send s0 x:0800 0 10.0.0.2:0 -> EINVAL
         send s0 x:08000000000000016869 MSG_OOB 10.0.0.2:0 -> EOPNOTSUPP
         send s0 x:08000000000000016869 0 -> EDESTADDRREQ
         send s0 x:08000000000000016869 0 fam=10,10.0.0.2:0 -> EAFNOSUPPORT
         send s0 x:08000000000000016869 0 192.0.2.1:0 -> ENETUNREACH
         connect s0 10.0.0.2:0 -> ok
         getpeername s0 -> ENOTCONN
         send s0 x:08000000000000026869 0 -> len 10
         pump -> ok
         recv s0 4 MSG_DONTWAIT -> recv 4 0x20 x:00008702
         socket AF_INET SOCK_DGRAM IPPROTO_ICMP -> fd
         getopt s1 SOL_SOCKET SO_REUSEADDR 4 -> int 1
         bind s1 0.0.0.0:4242 -> ok
         bind s1 127.0.0.1:4244 -> EINVAL
         send s1 x:08000000000000036869 0 10.0.0.2:0 -> len 10
         pump -> ok
         recv s0 64 MSG_DONTWAIT -> EAGAIN
         recv s1 64 MSG_DONTWAIT -> recv 10 0 x:00008701109200036869
         socket AF_INET SOCK_DGRAM IPPROTO_ICMP -> fd
         setopt s2 SOL_SOCKET SO_REUSEADDR 0 -> ok
         bind s2 0.0.0.0:4242 -> EADDRINUSE
         bind s2 0.0.0.0:4245 -> ok
         setopt s1 SOL_IP IP_TTL 3 -> ok
         getopt s1 SOL_IP IP_TTL 4 -> int 3
         sysctl ping_group_range 1,0 -> ok",
    ),
    (
        "tcp_ip_ttl_tos_minttl",
        "socket AF_INET SOCK_STREAM|SOCK_NONBLOCK 0 -> fd
         getopt s0 SOL_IP IP_TTL 4 -> int 64
         setopt s0 SOL_IP IP_TTL 0 -> EINVAL
         setopt s0 SOL_IP IP_TTL 256 -> EINVAL
         setopt s0 SOL_IP IP_TTL 33 -> ok
         getopt s0 SOL_IP IP_TTL 4 -> int 33
         setopt s0 SOL_IP IP_TOS 31 -> ok
         getopt s0 SOL_IP IP_TOS 4 -> int 28
         getopt s0 SOL_SOCKET SO_PRIORITY 4 -> int 4
         setopt s0 SOL_IP IP_MINTTL 256 -> EINVAL
         setopt s0 SOL_IP IP_MINTTL -1 -> EINVAL
         getopt s0 SOL_IP IP_MINTTL 4 -> int 0
         setopt s0 SOL_IP IP_MINTTL 200 -> ok
         getopt s0 SOL_IP IP_MINTTL 4 -> int 200
         bind s0 127.0.0.1:5060 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         setopt s1 SOL_IP IP_TTL 255 -> ok
         connect s1 127.0.0.1:5060 -> ok
         accept s0 0 -> fd
         getopt s2 SOL_IP IP_TTL 4 -> int 33
         getopt s2 SOL_IP IP_TOS 4 -> int 28
         getopt s2 SOL_SOCKET SO_PRIORITY 4 -> int 0
         getopt s2 SOL_IP IP_MINTTL 4 -> int 200
         send s1 hi 0 -> len 2
         pump -> ok
         recv s2 8 MSG_DONTWAIT -> recv 2 0 hi
         setopt s1 SOL_IP IP_TTL 64 -> ok
         send s1 lo 0 -> len 2
         pump -> ok
         recv s2 8 MSG_DONTWAIT -> EAGAIN
         socket AF_INET SOCK_STREAM|SOCK_NONBLOCK 0 -> fd
         connect s3 127.0.0.1:5060 -> EINPROGRESS
         pump -> ok
         accept s0 0 -> EAGAIN
         socket AF_INET SOCK_DGRAM 0 -> fd
         setopt s4 SOL_IP IP_MINTTL 9 -> ok
         getopt s4 SOL_IP IP_MINTTL 4 -> int 9
         setopt s4 SOL_IP IP_TOS 255 -> ok
         getopt s4 SOL_IP IP_TOS 4 -> int 255",
    ),
    (
        "ping_cmsgs_recverr",
        "sysctl ping_group_range 0,2147483647 -> ok
         socket AF_INET SOCK_DGRAM IPPROTO_ICMP -> fd
         getopt s0 SOL_IP IP_RECVERR 4 -> int 0
         setopt s0 SOL_IP IP_RECVERR 1 -> ok
         getopt s0 SOL_IP IP_RECVERR 4 -> int 1
         getopt s0 SOL_IP IP_RECVTTL 4 -> int 0
         setopt s0 SOL_IP IP_RECVTTL 1 -> ok
         setopt s0 SOL_IP IP_RECVTOS 1 -> ok
         getopt s0 SOL_IP IP_RECVTTL 4 -> int 1
         getopt s0 SOL_IP IP_RECVTOS 4 -> int 1
         recvc s0 64 MSG_ERRQUEUE -> EAGAIN
         bind s0 0.0.0.0:4242 -> ok
         send s0 x:08000000000000016869 0 10.0.0.2:0 -> len 10
         pump -> ok
         recvc s0 64 0 -> recv 10 0 x:00008703109200016869 cmsg ttl 64,tos 0
         setopt s0 SOL_IP IP_RECVERR 0 -> ok
         getopt s0 SOL_IP IP_RECVERR 4 -> int 0
         sysctl ping_group_range 1,0 -> ok",
    ),
    (
        "tcp_ip_recverr",
        "socket AF_INET SOCK_STREAM|SOCK_NONBLOCK 0 -> fd
         getopt s0 SOL_IP IP_RECVERR 4 -> int 0
         setopt s0 SOL_IP IP_RECVERR 7 -> ok
         getopt s0 SOL_IP IP_RECVERR 4 -> int 1
         bind s0 127.0.0.1:5061 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         getopt s1 SOL_IP IP_RECVERR 4 -> int 0
         connect s1 127.0.0.1:5061 -> ok
         accept s0 0 -> fd
         getopt s2 SOL_IP IP_RECVERR 4 -> int 1
         setopt s2 SOL_IP IP_RECVERR 0 -> ok
         getopt s2 SOL_IP IP_RECVERR 4 -> int 0
         getopt s0 SOL_IP IP_RECVERR 4 -> int 1
         recv s2 8 MSG_ERRQUEUE -> EAGAIN",
    ),
    (
        "tcp_ip_cmsg_flags",
        "socket AF_INET SOCK_STREAM 0 -> fd
         getopt s0 SOL_IP IP_PKTINFO 4 -> int 0
         setopt s0 SOL_IP IP_PKTINFO 1 -> ok
         setopt s0 SOL_IP IP_RECVTTL 1 -> ok
         setopt s0 SOL_IP IP_RECVTOS 1 -> ok
         setopt s0 SOL_IP IP_RECVORIGDSTADDR 1 -> ok
         getopt s0 SOL_IP IP_PKTINFO 4 -> int 1
         getopt s0 SOL_IP IP_RECVTTL 4 -> int 1
         getopt s0 SOL_IP IP_RECVORIGDSTADDR 4 -> int 1
         setopt s0 SOL_IP IP_RECVTTL 0 -> ok
         getopt s0 SOL_IP IP_RECVTTL 4 -> int 0
         bind s0 127.0.0.1:5062 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5062 -> ok
         accept s0 0 -> fd
         getopt s2 SOL_IP IP_PKTINFO 4 -> int 1
         getopt s2 SOL_IP IP_RECVTTL 4 -> int 0
         getopt s2 SOL_IP IP_RECVTOS 4 -> int 1
         send s1 abc 0 -> len 3
         pump -> ok
         recv s2 8 0 -> recv 3 0 abc",
    ),
    (
        "deliberate_differences",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5050 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5050 -> ok
         accept s0 0 -> fd
         setopt s1 SOL_IP IP_TTL 10 -> ok
         connect s1 unspec -> linux ok | linnet EOPNOTSUPP # tcp-disconnect
         socket AF_INET SOCK_DGRAM 0 -> fd
         setopt s3 SOL_UDP UDP_CORK 1 -> ok
         setopt s3 SOL_IP 11 1 -> ok
         setopt s3 SOL_SOCKET SO_BINDTODEVICE s:lo -> ok
         socket AF_INET6 SOCK_STREAM 0 -> linux fd | linnet EAFNOSUPPORT # no-ipv6",
    ),
    (
        "raw_socket_unprivileged_is_eperm",
        "unprivileged
         socket AF_INET SOCK_RAW IPPROTO_ICMP -> EPERM
         socket AF_INET SOCK_RAW IPPROTO_RAW -> EPERM
         socket AF_INET SOCK_RAW 0 -> EPROTONOSUPPORT
         socket AF_INET SOCK_RAW 263 -> EINVAL
         socket AF_INET SOCK_DGRAM 0 -> fd
         setopt s0 SOL_IP IP_HDRINCL 1 -> ENOPROTOOPT
         getopt s0 SOL_IP IP_HDRINCL 4 -> int 0
         setopt s0 SOL_RAW ICMP_FILTER 8 -> ENOPROTOOPT
         getopt s0 SOL_RAW ICMP_FILTER 4 -> EOPNOTSUPP",
    ),
    (
        "raw_socket_options_and_names",
        "socket AF_INET SOCK_RAW 0 -> EPROTONOSUPPORT
         socket AF_INET SOCK_RAW IPPROTO_ICMP -> fd
         socket AF_INET SOCK_RAW IPPROTO_RAW -> fd
         socket AF_INET SOCK_RAW IPPROTO_UDP -> fd
         getopt s0 SOL_IP IP_HDRINCL 4 -> int 0
         getopt s1 SOL_IP IP_HDRINCL 4 -> int 1
         setopt s0 SOL_IP IP_HDRINCL 1 -> ok
         getopt s0 SOL_IP IP_HDRINCL 4 -> int 1
         setopt s0 SOL_IP IP_HDRINCL 0 -> ok
         getopt s0 SOL_SOCKET SO_TYPE 4 -> int 3
         getopt s1 SOL_SOCKET SO_PROTOCOL 4 -> int 255
         getsockname s0 -> 0.0.0.0:1
         getsockname s1 -> 0.0.0.0:255
         getpeername s0 -> ENOTCONN
         setopt s2 SOL_RAW ICMP_FILTER 8 -> EOPNOTSUPP
         getopt s2 SOL_RAW ICMP_FILTER 4 -> EOPNOTSUPP
         setopt s0 SOL_RAW ICMP_FILTER 8 -> ok
         getopt s0 SOL_RAW ICMP_FILTER 4 -> int 8
         getopt s0 SOL_RAW ICMP_FILTER 2 -> bytes 0800
         setopt s0 SOL_RAW 2 1 -> ENOPROTOOPT
         getopt s0 SOL_RAW 2 4 -> ENOPROTOOPT
         setopt s0 SOL_IP IP_TTL 9 -> ok
         getopt s0 SOL_IP IP_TTL 4 -> int 9
         getopt s0 SOL_TCP TCP_NODELAY 4 -> EOPNOTSUPP
         listen s0 1 -> EOPNOTSUPP
         accept s0 0 -> EOPNOTSUPP
         shutdown s0 SHUT_RD -> ENOTCONN
         bind s2 10.9.9.9:0 -> EADDRNOTAVAIL
         bind s2 len=15,10.0.0.1:0 -> EINVAL
         bind s2 fam=10,10.0.0.1:0 -> ok
         getsockname s2 -> 10.0.0.1:17
         bind s2 127.0.0.1:0 -> ok
         getsockname s2 -> 127.0.0.1:17
         send s0 x:08 0 127.0.0.1:0 -> EFAULT
         send s0 x:0800 MSG_OOB 127.0.0.1:0 -> EOPNOTSUPP
         send s0 x:0800 0 -> EDESTADDRREQ
         send s0 x:0800 0 fam=10,127.0.0.1:0 -> EAFNOSUPPORT
         send s0 x:0800 0 len=15,127.0.0.1:0 -> EINVAL",
    ),
    (
        "raw_send_and_receive_over_loopback",
        "socket AF_INET SOCK_RAW 253 -> fd
         socket AF_INET SOCK_RAW 253 -> fd
         socket AF_INET SOCK_RAW IPPROTO_RAW -> fd
         socket AF_INET SOCK_RAW 254 -> fd
         bind s1 127.0.0.1:0 -> ok
         send s0 hello 0 127.0.0.1:0 -> len 5
         poll s1 -> poll POLLIN,POLLOUT,POLLRDNORM,POLLWRNORM,POLLWRBAND
         recv s0 4 MSG_DONTWAIT -> recv 4 0x20 x:45000019
         recv s1 4 MSG_DONTWAIT|MSG_TRUNC -> recv 25 0x20 x:45000019
         recv s0 100 MSG_DONTWAIT -> EAGAIN
         recv s3 100 MSG_DONTWAIT -> EAGAIN
         send s2 x:450000001234000040fd00007f0000017f0000016869 0 127.0.0.1:0 -> len 22
         recv s0 100 MSG_PEEK|MSG_DONTWAIT -> recv 22 0 x:450000161234000040fd69b57f0000017f0000016869
         recv s0 100 MSG_DONTWAIT -> recv 22 0 x:450000161234000040fd69b57f0000017f0000016869
         send s2 x:45000000 0 127.0.0.1:0 -> EINVAL
         send s2 x:4f0000001234000040fd00007f0000017f000001 0 127.0.0.1:0 -> EINVAL
         send s2 x:450000001234000040fd00007f0000017f0000016869 0 -> EDESTADDRREQ
         shutdown s2 SHUT_WR -> ENOTCONN
         send s2 x:450000001234000040fd00007f0000017f0000016869 0 127.0.0.1:0 -> EPIPE
         shutdown s0 SHUT_WR -> ENOTCONN
         send s0 hello 0 127.0.0.1:0 -> len 5
         recv s1 100 MSG_DONTWAIT -> recv 22 0 x:450000161234000040fd69b57f0000017f0000016869
         recv s1 4 MSG_DONTWAIT -> recv 4 0x20 x:45000019
         connect s0 127.0.0.1:0 -> ok
         getpeername s0 -> ENOTCONN
         getsockname s0 -> 127.0.0.1:253
         connect s0 127.0.0.1:7 -> ok
         getpeername s0 -> 127.0.0.1:7
         bind s0 127.0.0.1:0 -> EINVAL
         shutdown s0 SHUT_RD -> ok
         connect s0 unspec -> ok
         getsockname s0 -> 0.0.0.0:0
         getpeername s0 -> ENOTCONN",
    ),
    (
        "raw_recverr_error_queue",
        "socket AF_INET SOCK_RAW IPPROTO_UDP -> fd
         bind s0 127.0.0.2:0 -> ok
         send s0 x:d43113c5000900004a 0 127.0.0.1:0 -> len 9
         pump -> ok
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 0
         recvc s0 64 MSG_ERRQUEUE -> EAGAIN
         getopt s0 SOL_IP IP_RECVERR 4 -> int 0
         setopt s0 SOL_IP IP_RECVERR 1 -> ok
         getopt s0 SOL_IP IP_RECVERR 4 -> int 1
         send s0 x:d43113c5000900004a 0 127.0.0.1:0 -> len 9
         pump -> ok
         poll s0 -> poll POLLOUT,POLLERR,POLLWRNORM,POLLWRBAND
         recv s0 64 MSG_DONTWAIT -> ECONNREFUSED
         recvc s0 3 MSG_ERRQUEUE -> recv 3 0x2020 x:d43113 cmsg err ECONNREFUSED o2 t3 c3 i0 from 127.0.0.1
         recvc s0 64 MSG_ERRQUEUE -> EAGAIN
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 0
         send s0 x:d43113c5000900004a 0 127.0.0.1:0 -> len 9
         pump -> ok
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 111
         recvc s0 64 MSG_ERRQUEUE -> recv 9 0x2000 x:d43113c5000900004a cmsg err ECONNREFUSED o2 t3 c3 i0 from 127.0.0.1
         send s0 x:d43113c5000900004a 0 127.0.0.1:0 -> len 9
         pump -> ok
         setopt s0 SOL_IP IP_RECVERR 0 -> ok
         recv s0 64 MSG_ERRQUEUE -> EAGAIN
         getopt s0 SOL_SOCKET SO_ERROR 4 -> int 111
         setopt s0 SOL_IP IP_RECVERR 1 -> ok
         setopt s0 SOL_IP IP_PKTINFO 1 -> ok
         setopt s0 SOL_IP IP_RECVTTL 1 -> ok
         setopt s0 SOL_IP IP_RECVTOS 1 -> ok
         send s0 x:d43113c5000900004a 0 127.0.0.1:0 -> len 9
         pump -> ok
         recvc s0 64 MSG_ERRQUEUE -> recv 9 0x2000 x:d43113c5000900004a cmsg pktinfo 0.0.0.0 127.0.0.2,ttl 64,tos 192,err ECONNREFUSED o2 t3 c3 i0 from 127.0.0.1",
    ),
    (
        "raw_bindtodevice",
        "socket AF_INET SOCK_RAW 253 -> fd
         socket AF_INET SOCK_RAW 253 -> fd
         setopt s1 SOL_SOCKET SO_BINDTODEVICE s:lo -> ok
         send s0 hi 0 10.0.0.1:0 -> len 2
         recv s1 4 MSG_DONTWAIT -> EAGAIN
         recv s0 4 MSG_DONTWAIT -> recv 4 0x20 x:45000016
         send s0 hi 0 127.0.0.1:0 -> len 2
         recv s1 4 MSG_DONTWAIT -> recv 4 0x20 x:45000016
         recv s0 4 MSG_DONTWAIT -> recv 4 0x20 x:45000016
         send s1 hi 0 10.0.0.2:0 -> len 2
         pump -> ok
         recv s0 4 MSG_DONTWAIT -> linux recv 4 0x20 x:45000016 | linnet EAGAIN # oif-loopback
         recv s1 4 MSG_DONTWAIT -> linux recv 4 0x20 x:45000016 | linnet EAGAIN # oif-loopback
         setopt s1 SOL_SOCKET SO_BINDTODEVICE s: -> ok
         send s0 hi 0 10.0.0.1:0 -> len 2
         recv s1 4 MSG_DONTWAIT -> recv 4 0x20 x:45000016",
    ),
    (
        "raw_cmsg_pktinfo_ttl_tos",
        "socket AF_INET SOCK_RAW 253 -> fd
         socket AF_INET SOCK_RAW 253 -> fd
         getopt s0 SOL_IP IP_PKTINFO 4 -> int 0
         setopt s0 SOL_IP IP_PKTINFO 1 -> ok
         setopt s0 SOL_IP IP_RECVTTL 1 -> ok
         setopt s0 SOL_IP IP_RECVTOS 1 -> ok
         getopt s0 SOL_IP IP_PKTINFO 4 -> int 1
         getopt s0 SOL_IP IP_RECVTTL 4 -> int 1
         getopt s0 SOL_IP IP_RECVTOS 1 -> bytes 01
         setopt s1 SOL_IP IP_TTL 9 -> ok
         setopt s1 SOL_IP IP_TOS 16 -> ok
         send s1 hi 0 127.0.0.1:0 -> len 2
         recvc s0 4 MSG_PEEK|MSG_DONTWAIT -> recv 4 0x20 x:45100016 cmsg pktinfo 127.0.0.1 127.0.0.1,ttl 9,tos 16
         recvc s0 4 MSG_DONTWAIT -> recv 4 0x20 x:45100016 cmsg pktinfo 127.0.0.1 127.0.0.1,ttl 9,tos 16
         setopt s0 SOL_IP IP_PKTINFO 0 -> ok
         send s1 hi 0 127.0.0.1:0 -> len 2
         setopt s0 SOL_IP IP_PKTINFO 1 -> ok
         setopt s0 SOL_IP IP_RECVTTL 0 -> ok
         recvc s0 4 MSG_DONTWAIT -> recv 4 0x20 x:45100016 cmsg pktinfo 0.0.0.0 127.0.0.1,tos 16
         setopt s0 SOL_IP IP_PKTINFO 0 -> ok
         setopt s0 SOL_IP IP_RECVTOS 0 -> ok
         send s1 hi 0 127.0.0.1:0 -> len 2
         recvc s0 4 MSG_DONTWAIT -> recv 4 0x20 x:45100016 cmsg none",
    ),
    (
        "udp_reuseaddr",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         socket AF_INET SOCK_DGRAM 0 -> fd
         setopt s0 SOL_SOCKET SO_REUSEADDR 1 -> ok
         setopt s1 SOL_SOCKET SO_REUSEADDR 1 -> ok
         bind s0 127.0.0.1:5060 -> ok
         bind s1 127.0.0.1:5060 -> ok
         bind s2 127.0.0.1:5060 -> EADDRINUSE
         bind s2 0.0.0.0:5060 -> EADDRINUSE
         send s2 one 0 127.0.0.1:5060 -> len 3
         recv s0 10 MSG_DONTWAIT -> EAGAIN
         recv s1 10 MSG_DONTWAIT -> recv 3 0 one
         close s1 -> ok
         send s2 two 0 127.0.0.1:5060 -> len 3
         recv s0 10 MSG_DONTWAIT -> recv 3 0 two",
    ),
    (
        "udp_shutdown_write_and_send",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 127.0.0.1:5061 -> ok
         socket AF_INET SOCK_DGRAM 0 -> fd
         connect s1 127.0.0.1:5061 -> ok
         send s1 a 0 -> len 1
         shutdown s1 SHUT_WR -> ok
         send s1 x 0 -> EPIPE
         send s1 x 0 127.0.0.1:5061 -> EPIPE
         recv s0 10 MSG_DONTWAIT -> recv 1 0 a
         recv s0 10 MSG_DONTWAIT -> EAGAIN
         shutdown s1 SHUT_RDWR -> ok
         shutdown s1 5 -> EINVAL",
    ),
    (
        "listen_backlog_and_pending_connections",
        "socket AF_INET SOCK_STREAM|SOCK_NONBLOCK 0 -> fd
         bind s0 127.0.0.1:5062 -> ok
         listen s0 0 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5062 -> ok
         accept s0 0 -> fd
         accept s0 0 -> EAGAIN
         getpeername s2 -> 127.0.0.1:eph
         close s0 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s3 127.0.0.1:5062 -> ECONNREFUSED
         send s1 x MSG_NOSIGNAL -> len 1
         pump -> ok
         recv s2 5 MSG_DONTWAIT -> recv 1 0 x",
    ),
    (
        "tcp_urgent_data",
        "socket AF_INET SOCK_STREAM 0 -> fd
         bind s0 127.0.0.1:5063 -> ok
         listen s0 5 -> ok
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s1 127.0.0.1:5063 -> ok
         accept s0 0 -> fd
         recv s2 1 MSG_OOB -> EINVAL
         send s1 ab MSG_OOB -> len 2
         pump -> ok
         recv s2 1 MSG_OOB -> recv 1 0x1 b
         recv s2 1 MSG_OOB -> EINVAL
         recv s2 10 0 -> recv 1 0 a
         setopt s2 SOL_SOCKET SO_OOBINLINE 1 -> ok
         getopt s2 SOL_SOCKET SO_OOBINLINE 4 -> int 1
         send s1 cd MSG_OOB -> len 2
         pump -> ok
         recv s2 1 MSG_OOB -> EINVAL
         recv s2 10 0 -> recv 2 0 bc # the byte read out of band was never unlinked: SO_OOBINLINE shows it
         recv s2 10 MSG_DONTWAIT -> recv 1 0 d
         recv s2 10 MSG_DONTWAIT -> EAGAIN",
    ),
    (
        "tcp_options_of_the_tcp_code",
        "socket AF_INET SOCK_STREAM 0 -> fd
         setopt s0 SOL_TCP TCP_CORK 1 -> ok
         getopt s0 SOL_TCP TCP_CORK 4 -> int 1
         setopt s0 SOL_TCP TCP_MAXSEG 10 -> EINVAL
         setopt s0 SOL_TCP TCP_MAXSEG 1000 -> ok
         getopt s0 SOL_TCP TCP_MAXSEG 4 -> int 1000
         setopt s0 SOL_TCP TCP_WINDOW_CLAMP 100 -> ok
         getopt s0 SOL_TCP TCP_WINDOW_CLAMP 4 -> int 1152
         setopt s0 SOL_TCP TCP_QUICKACK 0 -> ok
         getopt s0 SOL_TCP TCP_QUICKACK 4 -> int 0
         setopt s0 SOL_TCP TCP_DEFER_ACCEPT 5 -> ok
         getopt s0 SOL_TCP TCP_DEFER_ACCEPT 4 -> int 7
         getopt s0 SOL_TCP TCP_INFO 8 -> bytes 0700000000000001
         setopt s0 SOL_TCP TCP_INFO 1 -> ENOPROTOOPT
         socket AF_INET SOCK_STREAM 0 -> fd
         bind s1 127.0.0.1:5064 -> ok
         listen s1 5 -> ok
         getopt s1 SOL_TCP TCP_INFO 8 -> bytes 0a00000000000000
         socket AF_INET SOCK_STREAM 0 -> fd
         connect s2 127.0.0.1:5064 -> ok
         getopt s2 SOL_TCP TCP_INFO 1 -> bytes 01",
    ),
    (
        "close_then_ebadf",
        "socket AF_INET SOCK_DGRAM 0 -> fd
         bind s0 10.0.0.1:5019 -> ok
         close s0 -> ok
         close s0 -> EBADF
         socket AF_INET SOCK_DGRAM 0 -> fd
         bind s1 10.0.0.1:5019 -> ok",
    ),
];

// ---- the script -------------------------------------------------------------------------

/// Symbolic names the scripts may use.
const NAMES: &[(&str, i32)] = &[
    ("AF_UNSPEC", AF_UNSPEC),
    ("AF_INET", AF_INET),
    ("AF_INET6", AF_INET6),
    ("SOCK_STREAM", SOCK_STREAM),
    ("SOCK_DGRAM", SOCK_DGRAM),
    ("SOCK_RAW", SOCK_RAW),
    ("SOCK_SEQPACKET", SOCK_SEQPACKET),
    ("SOCK_NONBLOCK", SOCK_NONBLOCK),
    ("SOCK_CLOEXEC", SOCK_CLOEXEC),
    ("IPPROTO_TCP", IPPROTO_TCP),
    ("IPPROTO_UDP", IPPROTO_UDP),
    ("IPPROTO_ICMP", IPPROTO_ICMP),
    ("IPPROTO_RAW", IPPROTO_RAW),
    ("SOL_RAW", SOL_RAW),
    ("ICMP_FILTER", ICMP_FILTER),
    ("SOL_SOCKET", SOL_SOCKET),
    ("SOL_IP", SOL_IP),
    ("SOL_TCP", SOL_TCP),
    ("SOL_UDP", SOL_UDP),
    ("SO_DEBUG", SO_DEBUG),
    ("SO_REUSEADDR", SO_REUSEADDR),
    ("SO_TYPE", SO_TYPE),
    ("SO_ERROR", SO_ERROR),
    ("SO_DONTROUTE", SO_DONTROUTE),
    ("SO_BROADCAST", SO_BROADCAST),
    ("SO_SNDBUF", SO_SNDBUF),
    ("SO_RCVBUF", SO_RCVBUF),
    ("SO_KEEPALIVE", SO_KEEPALIVE),
    ("SO_OOBINLINE", SO_OOBINLINE),
    ("SO_PRIORITY", SO_PRIORITY),
    ("SO_LINGER", SO_LINGER),
    ("SO_REUSEPORT", SO_REUSEPORT),
    ("SO_RCVLOWAT", SO_RCVLOWAT),
    ("SO_SNDLOWAT", SO_SNDLOWAT),
    ("SO_RCVTIMEO", SO_RCVTIMEO),
    ("SO_SNDTIMEO", SO_SNDTIMEO),
    ("SO_ACCEPTCONN", SO_ACCEPTCONN),
    ("SO_SNDBUFFORCE", SO_SNDBUFFORCE),
    ("SO_RCVBUFFORCE", SO_RCVBUFFORCE),
    ("SO_MARK", SO_MARK),
    ("SO_PROTOCOL", SO_PROTOCOL),
    ("SO_BINDTODEVICE", SO_BINDTODEVICE),
    ("SO_BINDTOIFINDEX", SO_BINDTOIFINDEX),
    ("SO_DOMAIN", SO_DOMAIN),
    ("IP_TOS", IP_TOS),
    ("IP_TTL", IP_TTL),
    ("IP_MINTTL", IP_MINTTL),
    ("IP_RECVORIGDSTADDR", IP_RECVORIGDSTADDR),
    ("IP_HDRINCL", IP_HDRINCL),
    ("TCP_NODELAY", TCP_NODELAY),
    ("TCP_MAXSEG", TCP_MAXSEG),
    ("TCP_CORK", TCP_CORK),
    ("TCP_KEEPIDLE", TCP_KEEPIDLE),
    ("TCP_KEEPINTVL", TCP_KEEPINTVL),
    ("TCP_KEEPCNT", TCP_KEEPCNT),
    ("TCP_SYNCNT", TCP_SYNCNT),
    ("TCP_LINGER2", TCP_LINGER2),
    ("TCP_QUICKACK", TCP_QUICKACK),
    ("TCP_CONGESTION", TCP_CONGESTION),
    ("TCP_USER_TIMEOUT", TCP_USER_TIMEOUT),
    ("TCP_DEFER_ACCEPT", TCP_DEFER_ACCEPT),
    ("TCP_WINDOW_CLAMP", TCP_WINDOW_CLAMP),
    ("TCP_INFO", TCP_INFO),
    ("UDP_CORK", UDP_CORK),
    ("IP_PKTINFO", IP_PKTINFO),
    ("IP_RECVTTL", IP_RECVTTL),
    ("IP_RECVTOS", IP_RECVTOS),
    ("IP_RECVERR", IP_RECVERR),
    ("MSG_MORE", MSG_MORE),
    ("MSG_OOB", MSG_OOB),
    ("MSG_PEEK", MSG_PEEK),
    ("MSG_TRUNC", MSG_TRUNC),
    ("MSG_DONTWAIT", MSG_DONTWAIT),
    ("MSG_ERRQUEUE", MSG_ERRQUEUE),
    ("MSG_NOSIGNAL", MSG_NOSIGNAL),
    ("SHUT_RD", SHUT_RD),
    ("SHUT_WR", SHUT_WR),
    ("SHUT_RDWR", SHUT_RDWR),
];

fn num(tok: &str) -> i32 {
    tok.split('|')
        .map(|t| {
            if let Some(&(_, v)) = NAMES.iter().find(|(n, _)| *n == t) {
                v
            } else if let Some(h) = t.strip_prefix("0x") {
                i64::from_str_radix(h, 16).unwrap_or_else(|_| panic!("bad number {t}")) as i32
            } else {
                t.parse().unwrap_or_else(|_| panic!("bad number {t}"))
            }
        })
        .fold(0, |a, b| a | b)
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// `[fam=N,][len=N,]IP:PORT` or `unspec`.
fn addr(tok: &str) -> SockAddr {
    if tok == "unspec" {
        return SockAddr::unspec();
    }
    let (mut fam, mut len) = (AF_INET as u16, SOCKADDR_IN_LEN);
    let mut rest = tok;
    while let Some((k, r)) = rest.split_once(',') {
        if let Some(v) = k.strip_prefix("fam=") {
            fam = v.parse().unwrap();
        } else if let Some(v) = k.strip_prefix("len=") {
            len = v.parse().unwrap();
        }
        rest = r;
    }
    let sa: SocketAddrV4 = rest.parse().unwrap_or_else(|_| panic!("bad address {tok}"));
    SockAddr::with_family(fam, sa, len)
}

/// An option value: `b:HEX`, `s:TEXT`, `linger:ON,SECS`, `tv:SEC,USEC` or an int.
fn optval(tok: &str) -> Vec<u8> {
    if let Some(h) = tok.strip_prefix("b:") {
        hex(h)
    } else if let Some(s) = tok.strip_prefix("s:") {
        s.as_bytes().to_vec()
    } else if let Some(l) = tok.strip_prefix("linger:") {
        let (a, b) = l.split_once(',').unwrap();
        [num(a).to_ne_bytes(), num(b).to_ne_bytes()].concat()
    } else if let Some(t) = tok.strip_prefix("tv:") {
        let (a, b) = t.split_once(',').unwrap();
        let (a, b): (i64, i64) = (a.parse().unwrap(), b.parse().unwrap());
        [a.to_ne_bytes(), b.to_ne_bytes()].concat()
    } else {
        num(tok).to_ne_bytes().to_vec()
    }
}

/// Payload: text, `x:HEX`, or `#N` for N bytes of `a`.
fn payload(tok: &str) -> Vec<u8> {
    if let Some(h) = tok.strip_prefix("x:") {
        return hex(h);
    }
    match tok.strip_prefix('#') {
        Some(n) => vec![b'a'; n.parse().unwrap()],
        None => tok.as_bytes().to_vec(),
    }
}

#[derive(Clone, Debug)]
enum Cmd {
    Socket(i32, i32, i32),
    Bind(usize, SockAddr),
    Connect(usize, SockAddr),
    Listen(usize, i32),
    Accept(usize, i32),
    GetSockName(usize),
    GetPeerName(usize),
    Shutdown(usize, i32),
    Send(usize, Vec<u8>, i32, Option<SockAddr>),
    Recv(usize, usize, i32),
    /// `recvmsg` with a `msg_control` buffer: the control messages are reported too.
    RecvCmsg(usize, usize, i32),
    SetOpt(usize, i32, i32, Vec<u8>),
    GetOpt(usize, i32, i32, usize),
    Close(usize),
    Poll(usize),
    Sysctl(String, String),
    Pump,
}

#[derive(Clone, Debug)]
enum Expect {
    Same(String),
    Differs {
        linux: String,
        linnet: String,
        why: String,
    },
}

#[derive(Clone, Debug)]
struct Step {
    text: String,
    cmd: Cmd,
    expect: Expect,
}

struct Script {
    unprivileged: bool,
    steps: Vec<Step>,
}

fn sock(tok: &str) -> usize {
    tok.strip_prefix('s')
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("bad socket {tok}"))
}

fn parse(script: &str) -> Script {
    let mut out = Script {
        unprivileged: false,
        steps: Vec::new(),
    };
    for line in script.lines().map(str::trim).filter(|l| !l.is_empty()) {
        if line == "unprivileged" {
            out.unprivileged = true;
            continue;
        }
        let (call, exp) = line
            .split_once("->")
            .unwrap_or_else(|| panic!("no expectation: {line}"));
        let (exp, why) = exp.split_once('#').unwrap_or((exp, ""));
        let exp = exp.trim();
        let expect = match exp.split_once('|') {
            Some((l, n)) => Expect::Differs {
                linux: l.trim().trim_start_matches("linux").trim().to_string(),
                linnet: n.trim().trim_start_matches("linnet").trim().to_string(),
                why: why.trim().to_string(),
            },
            None => Expect::Same(exp.to_string()),
        };
        let t: Vec<&str> = call.split_whitespace().collect();
        let cmd = match t[0] {
            "socket" => Cmd::Socket(num(t[1]), num(t[2]), num(t[3])),
            "bind" => Cmd::Bind(sock(t[1]), addr(t[2])),
            "connect" => Cmd::Connect(sock(t[1]), addr(t[2])),
            "listen" => Cmd::Listen(sock(t[1]), num(t[2])),
            "accept" => Cmd::Accept(sock(t[1]), num(t[2])),
            "getsockname" => Cmd::GetSockName(sock(t[1])),
            "getpeername" => Cmd::GetPeerName(sock(t[1])),
            "shutdown" => Cmd::Shutdown(sock(t[1]), num(t[2])),
            "send" => Cmd::Send(
                sock(t[1]),
                payload(t[2]),
                num(t[3]),
                t.get(4).map(|a| addr(a)),
            ),
            "recv" => Cmd::Recv(sock(t[1]), t[2].parse().unwrap(), num(t[3])),
            "recvc" => Cmd::RecvCmsg(sock(t[1]), t[2].parse().unwrap(), num(t[3])),
            "setopt" => Cmd::SetOpt(sock(t[1]), num(t[2]), num(t[3]), optval(t[4])),
            "getopt" => Cmd::GetOpt(sock(t[1]), num(t[2]), num(t[3]), t[4].parse().unwrap()),
            "close" => Cmd::Close(sock(t[1])),
            "poll" => Cmd::Poll(sock(t[1])),
            "sysctl" => Cmd::Sysctl(t[1].to_string(), t[2].replace(',', " ")),
            "pump" => Cmd::Pump,
            other => panic!("unknown call {other}"),
        };
        out.steps.push(Step {
            text: call.trim().to_string(),
            cmd,
            expect,
        });
    }
    out
}

/// The result of one call.
#[derive(Clone, Debug, PartialEq)]
enum Out {
    Ok,
    Fd,
    Len(usize),
    Int(i32),
    Bytes(Vec<u8>),
    Addr(SocketAddrV4),
    Msg {
        len: usize,
        flags: i32,
        data: Vec<u8>,
    },
    Err(i32),
    /// `poll()`'s `revents` for [`POLL_ALL`].
    Poll(u32),
    /// A `recvmsg` result with its control messages (see [`render_cmsgs`]).
    MsgCmsg(Box<Out>, String),
}

/// The `SOL_IP` control messages of a `msg_control` buffer (64-bit layout), one after the
/// other, joined by `,`: `pktinfo SPEC_DST ADDR` (the ifindex is left out: device numbers
/// differ between the kernel's namespace and the simulated stack), `ttl N`, `tos N`,
/// `err ERRNO oORIGIN tTYPE cCODE iINFO from OFFENDER`.
fn render_cmsgs(ctl: &[u8]) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut off = 0;
    while off + 16 <= ctl.len() {
        let len = u64::from_ne_bytes(ctl[off..off + 8].try_into().unwrap()) as usize;
        let level = i32::from_ne_bytes(ctl[off + 8..off + 12].try_into().unwrap());
        let ty = i32::from_ne_bytes(ctl[off + 12..off + 16].try_into().unwrap());
        if len < 16 || off + len > ctl.len() {
            out.push(format!("bad cmsg_len {len}"));
            break;
        }
        let d = &ctl[off + 16..off + len];
        let ip4 = |b: &[u8]| Ipv4Addr::new(b[0], b[1], b[2], b[3]);
        let u32_at = |b: &[u8], i: usize| u32::from_ne_bytes(b[i..i + 4].try_into().unwrap());
        out.push(match (level, ty) {
            (SOL_IP, IP_PKTINFO) if d.len() >= 12 => {
                format!("pktinfo {} {}", ip4(&d[4..8]), ip4(&d[8..12]))
            }
            (SOL_IP, IP_TTL) if d.len() >= 4 => format!("ttl {}", u32_at(d, 0) as i32),
            (SOL_IP, IP_TOS) if !d.is_empty() => format!("tos {}", d[0]),
            (SOL_IP, IP_RECVORIGDSTADDR) if d.len() >= 16 => format!(
                "origdst {}:{}",
                ip4(&d[4..8]),
                u16::from_be_bytes([d[2], d[3]])
            ),
            (SOL_IP, IP_RECVERR) if d.len() >= 32 => {
                let e = u32_at(d, 0) as i32;
                let name = Errno::from_code(e).map_or_else(|| e.to_string(), |e| e.name().into());
                format!(
                    "err {name} o{} t{} c{} i{} from {}",
                    d[4],
                    d[5],
                    d[6],
                    u32_at(d, 8),
                    ip4(&d[20..24])
                )
            }
            _ => format!("level {level} type {ty} len {}", d.len()),
        });
        off += (len + 7) & !7;
    }
    out.join(",")
}

/// Every event `poll` scenarios ask for: POLLIN, POLLPRI, POLLOUT, POLLRDNORM, POLLRDBAND,
/// POLLWRNORM, POLLWRBAND, POLLRDHUP (POLLERR, POLLHUP and POLLNVAL come unasked).
const POLL_ALL: u32 = 0x001 | 0x002 | 0x004 | 0x040 | 0x080 | 0x100 | 0x200 | 0x2000;

fn render(o: &Out, eph: (u16, u16)) -> String {
    match o {
        Out::Ok => "ok".into(),
        Out::Fd => "fd".into(),
        Out::Len(n) => format!("len {n}"),
        Out::Int(v) => format!("int {v}"),
        Out::Bytes(b) => {
            let mut s = String::from("bytes ");
            for x in b {
                write!(s, "{x:02x}").unwrap();
            }
            s
        }
        Out::Addr(a) if a.port() >= eph.0 && a.port() <= eph.1 => format!("{}:eph", a.ip()),
        Out::Addr(a) => a.to_string(),
        Out::Msg { len, flags, data } => {
            let mut s = format!(
                "recv {len} {}",
                if *flags == 0 {
                    "0".to_string()
                } else {
                    format!("{flags:#x}")
                }
            );
            if data.iter().all(|b| b.is_ascii_graphic()) {
                if !data.is_empty() {
                    write!(s, " {}", String::from_utf8_lossy(data)).unwrap();
                }
            } else {
                s.push_str(" x:");
                for x in data {
                    write!(s, "{x:02x}").unwrap();
                }
            }
            s
        }
        Out::MsgCmsg(m, c) if c.is_empty() => format!("{} cmsg none", render(m, eph)),
        Out::MsgCmsg(m, c) => format!("{} cmsg {c}", render(m, eph)),
        Out::Err(e) => {
            Errno::from_code(*e).map_or_else(|| format!("errno {e}"), |e| e.name().into())
        }
        // `,` between the names: `|` separates a deliberate difference in the scripts.
        Out::Poll(m) => {
            format!("poll {:?}", linnet_core::socket::poll::PollMask(*m)).replace('|', ",")
        }
    }
}

// ---- Linux ------------------------------------------------------------------------------

fn ip(args: &[&str]) {
    let out = Command::new("ip").args(args).output().expect("ip(8)");
    assert!(
        out.status.success(),
        "ip {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two namespaces joined by a veth pair; deleted on drop.
struct Namespaces {
    a: String,
    b: String,
}

impl Namespaces {
    fn new() -> Namespaces {
        let pid = std::process::id();
        let ns = Namespaces {
            a: format!("lnsd-a-{pid}"),
            b: format!("lnsd-b-{pid}"),
        };
        ip(&["netns", "add", &ns.a]);
        ip(&["netns", "add", &ns.b]);
        let (va, vb) = (
            format!("sda{}", pid % 100_000),
            format!("sdb{}", pid % 100_000),
        );
        ip(&[
            "link", "add", &va, "netns", &ns.a, "type", "veth", "peer", "name", &vb, "netns", &ns.b,
        ]);
        for (n, v, a) in [(&ns.a, &va, "10.0.0.1/24"), (&ns.b, &vb, "10.0.0.2/24")] {
            ip(&["-n", n, "addr", "add", a, "dev", v]);
            ip(&["-n", n, "link", "set", v, "up"]);
            ip(&["-n", n, "link", "set", "lo", "up"]);
        }
        ns
    }
}

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in [&self.a, &self.b] {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

fn errno() -> i32 {
    std::io::Error::last_os_error().raw_os_error().unwrap_or(0)
}

fn storage(a: &SockAddr) -> libc::sockaddr_storage {
    // SAFETY: sockaddr_storage is plain old data; all-zero is a valid value.
    let mut st: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
    let b = a.as_bytes();
    // SAFETY: `b` has at most 128 bytes (SockAddr's bound), the size of sockaddr_storage.
    unsafe {
        std::ptr::copy_nonoverlapping(b.as_ptr(), (&raw mut st).cast::<u8>(), b.len());
    }
    st
}

fn sin_of(st: &libc::sockaddr_in) -> SocketAddrV4 {
    SocketAddrV4::new(
        Ipv4Addr::from(u32::from_be(st.sin_addr.s_addr)),
        u16::from_be(st.sin_port),
    )
}

const CAPS: [u32; 3] = [10, 12, 13]; // CAP_NET_BIND_SERVICE, CAP_NET_ADMIN, CAP_NET_RAW

/// Sets or clears the three network capabilities in this thread's effective set.
fn set_net_caps(on: bool) {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut h = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut d = [Data::default(); 2];
    // SAFETY: capget with a v3 header and two data structs, as capget(2) requires.
    let r = unsafe { libc::syscall(libc::SYS_capget, &raw mut h, d.as_mut_ptr()) };
    assert_eq!(r, 0, "capget: {}", errno());
    for c in CAPS {
        if on {
            d[0].effective |= 1 << c;
        } else {
            d[0].effective &= !(1 << c);
        }
    }
    // SAFETY: as above; only the effective set changes, within the permitted set.
    let r = unsafe { libc::syscall(libc::SYS_capset, &raw mut h, d.as_ptr()) };
    assert_eq!(r, 0, "capset: {}", errno());
}

fn sysctl_path(name: &str) -> String {
    format!("/proc/sys/net/ipv4/{name}")
}

/// Runs the scripts in namespace `ns` (in a thread that joined it).
fn run_linux(ns: &str, scripts: &[Script]) -> (Vec<Vec<Out>>, StackConfig) {
    let ns = ns.to_string();
    let steps: Vec<Vec<Cmd>> = scripts
        .iter()
        .map(|s| s.steps.iter().map(|st| st.cmd.clone()).collect())
        .collect();
    let privs: Vec<bool> = scripts.iter().map(|s| !s.unprivileged).collect();
    std::thread::spawn(move || {
        let f = File::open(format!("/run/netns/{ns}")).unwrap();
        nix::sched::setns(&f, nix::sched::CloneFlags::CLONE_NEWNET).unwrap();
        std::fs::write(sysctl_path("tcp_congestion_control"), "reno").unwrap();
        let cfg = linux_config();
        let results = steps
            .iter()
            .zip(&privs)
            .map(|(cmds, &privileged)| {
                set_net_caps(privileged);
                let out = run_linux_script(cmds);
                set_net_caps(true);
                out
            })
            .collect();
        (results, cfg)
    })
    .join()
    .unwrap()
}

/// linnet's sysctls from the namespace's.
fn linux_config() -> StackConfig {
    let read = |p: &str| -> Vec<usize> {
        std::fs::read_to_string(p)
            .unwrap()
            .split_whitespace()
            .map(|v| v.parse().unwrap())
            .collect()
    };
    let core = |n: &str| read(&format!("/proc/sys/net/core/{n}"))[0];
    let v4 = |n: &str| read(&sysctl_path(n));
    let (rmem, wmem, range) = (v4("tcp_rmem"), v4("tcp_wmem"), v4("ip_local_port_range"));
    StackConfig {
        rmem_default: core("rmem_default"),
        rmem_max: core("rmem_max"),
        wmem_default: core("wmem_default"),
        wmem_max: core("wmem_max"),
        somaxconn: core("somaxconn") as u32,
        tcp_rmem: (rmem[0], rmem[1], rmem[2]),
        tcp_wmem: (wmem[0], wmem[1], wmem[2]),
        ip_local_port_range: (range[0] as u16, range[1] as u16),
        tcp_congestion_control: "reno",
        ..StackConfig::default()
    }
}

fn run_linux_script(cmds: &[Cmd]) -> Vec<Out> {
    let mut fds: Vec<i32> = Vec::new();
    let mut out = Vec::new();
    let ret = |r: isize, ok: Out| if r < 0 { Out::Err(errno()) } else { ok };
    for cmd in cmds {
        // SAFETY (whole match): plain socket syscalls on fds this thread created, with
        // pointers to live, correctly sized local buffers and their lengths.
        let o = unsafe {
            match cmd {
                Cmd::Socket(f, t, p) => {
                    let fd = libc::socket(*f, *t, *p);
                    if fd >= 0 {
                        fds.push(fd);
                    }
                    ret(fd as isize, Out::Fd)
                }
                Cmd::Bind(s, a) => {
                    let st = storage(a);
                    let r = libc::bind(fds[*s], (&raw const st).cast(), a.len() as u32);
                    ret(r as isize, Out::Ok)
                }
                Cmd::Connect(s, a) => {
                    let st = storage(a);
                    let r = libc::connect(fds[*s], (&raw const st).cast(), a.len() as u32);
                    ret(r as isize, Out::Ok)
                }
                Cmd::Listen(s, b) => ret(libc::listen(fds[*s], *b) as isize, Out::Ok),
                Cmd::Accept(s, fl) => {
                    let fd =
                        libc::accept4(fds[*s], std::ptr::null_mut(), std::ptr::null_mut(), *fl);
                    if fd >= 0 {
                        fds.push(fd);
                    }
                    ret(fd as isize, Out::Fd)
                }
                Cmd::GetSockName(s) | Cmd::GetPeerName(s) => {
                    let mut sin: libc::sockaddr_in = std::mem::zeroed();
                    let mut len = std::mem::size_of::<libc::sockaddr_in>() as u32;
                    let r = if matches!(cmd, Cmd::GetSockName(_)) {
                        libc::getsockname(fds[*s], (&raw mut sin).cast(), &mut len)
                    } else {
                        libc::getpeername(fds[*s], (&raw mut sin).cast(), &mut len)
                    };
                    ret(r as isize, Out::Addr(sin_of(&sin)))
                }
                Cmd::Shutdown(s, how) => ret(libc::shutdown(fds[*s], *how) as isize, Out::Ok),
                Cmd::Send(s, data, fl, to) => {
                    let r = match to {
                        Some(a) => {
                            let st = storage(a);
                            libc::sendto(
                                fds[*s],
                                data.as_ptr().cast(),
                                data.len(),
                                *fl,
                                (&raw const st).cast(),
                                a.len() as u32,
                            )
                        }
                        None => libc::send(fds[*s], data.as_ptr().cast(), data.len(), *fl),
                    };
                    ret(r, Out::Len(r.max(0) as usize))
                }
                Cmd::Recv(s, len, fl) => {
                    let mut buf = vec![0u8; *len];
                    let mut iov = libc::iovec {
                        iov_base: buf.as_mut_ptr().cast(),
                        iov_len: buf.len(),
                    };
                    let mut from: libc::sockaddr_in = std::mem::zeroed();
                    let mut msg: libc::msghdr = std::mem::zeroed();
                    msg.msg_name = (&raw mut from).cast();
                    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as u32;
                    msg.msg_iov = &mut iov;
                    msg.msg_iovlen = 1;
                    let r = libc::recvmsg(fds[*s], &mut msg, *fl);
                    if r < 0 {
                        Out::Err(errno())
                    } else {
                        let copied = (r as usize).min(buf.len());
                        let data = if *fl & MSG_TRUNC != 0
                            && r as usize > 0
                            && msg.msg_flags & MSG_TRUNC == 0
                            && buf.iter().all(|&b| b == 0)
                        {
                            Vec::new()
                        } else {
                            buf[..copied].to_vec()
                        };
                        Out::Msg {
                            len: r as usize,
                            flags: msg.msg_flags,
                            data,
                        }
                    }
                }
                Cmd::RecvCmsg(s, len, fl) => {
                    let mut buf = vec![0u8; *len];
                    let mut ctl = [0u64; 32];
                    let mut iov = libc::iovec {
                        iov_base: buf.as_mut_ptr().cast(),
                        iov_len: buf.len(),
                    };
                    let mut from: libc::sockaddr_in = std::mem::zeroed();
                    let mut msg: libc::msghdr = std::mem::zeroed();
                    msg.msg_name = (&raw mut from).cast();
                    msg.msg_namelen = std::mem::size_of::<libc::sockaddr_in>() as u32;
                    msg.msg_iov = &mut iov;
                    msg.msg_iovlen = 1;
                    msg.msg_control = ctl.as_mut_ptr().cast();
                    msg.msg_controllen = std::mem::size_of_val(&ctl);
                    let r = libc::recvmsg(fds[*s], &mut msg, *fl);
                    if r < 0 {
                        Out::Err(errno())
                    } else {
                        let copied = (r as usize).min(buf.len());
                        let bytes: Vec<u8> = ctl.iter().flat_map(|w| w.to_ne_bytes()).collect();
                        Out::MsgCmsg(
                            Box::new(Out::Msg {
                                len: r as usize,
                                flags: msg.msg_flags,
                                data: buf[..copied].to_vec(),
                            }),
                            render_cmsgs(&bytes[..msg.msg_controllen]),
                        )
                    }
                }
                Cmd::SetOpt(s, level, name, v) => {
                    let r =
                        libc::setsockopt(fds[*s], *level, *name, v.as_ptr().cast(), v.len() as u32);
                    ret(r as isize, Out::Ok)
                }
                Cmd::GetOpt(s, level, name, len) => {
                    let mut buf = vec![0u8; *len];
                    let mut l = *len as u32;
                    let r =
                        libc::getsockopt(fds[*s], *level, *name, buf.as_mut_ptr().cast(), &mut l);
                    buf.truncate(l as usize);
                    ret(r as isize, opt_out(buf, *len))
                }
                Cmd::Close(s) => {
                    let fd = fds[*s];
                    let r = libc::close(fd);
                    if r == 0 {
                        // The fd number may be reused: keep the slot pointing at a closed
                        // number so a second close reports EBADF.
                        fds[*s] = i32::MAX - 1;
                    }
                    ret(r as isize, Out::Ok)
                }
                Cmd::Poll(s) => {
                    let mut p = libc::pollfd {
                        fd: fds[*s],
                        events: POLL_ALL as i16,
                        revents: 0,
                    };
                    let r = libc::poll(&mut p, 1, 0);
                    ret(r as isize, Out::Poll(u32::from(p.revents as u16)))
                }
                Cmd::Sysctl(name, v) => {
                    std::fs::write(sysctl_path(name), v).unwrap();
                    Out::Ok
                }
                Cmd::Pump => {
                    std::thread::sleep(StdDuration::from_millis(50));
                    Out::Ok
                }
            }
        };
        out.push(o);
    }
    for fd in fds {
        if fd != i32::MAX - 1 {
            // SAFETY: closing fds this script opened.
            unsafe { libc::close(fd) };
        }
    }
    out
}

fn opt_out(buf: Vec<u8>, asked: usize) -> Out {
    if asked == 4 && buf.len() == 4 {
        Out::Int(i32::from_ne_bytes(buf[..4].try_into().unwrap()))
    } else {
        Out::Bytes(buf)
    }
}

// ---- linnet -------------------------------------------------------------------------------

/// Two stacks wired back to back (A 10.0.0.1/24, B 10.0.0.2/24), on virtual time.
struct Net {
    a: Stack,
    b: Stack,
    a_dev: IfIndex,
    b_dev: IfIndex,
    now: Instant,
}

fn eth(stack: &mut Stack, mac: u8, ip: Ipv4Addr) -> IfIndex {
    let dev = stack
        .add_device(DeviceConfig {
            name: "eth0".into(),
            kind: DeviceKind::Ethernet {
                mac: EthernetAddress([2, 0, 0, 0, 0, mac]),
            },
            mtu: None,
        })
        .unwrap();
    stack.set_up(dev, true).unwrap();
    stack
        .add_addr(
            dev,
            Ipv4Cidr {
                address: ip,
                prefix_len: 24,
            },
        )
        .unwrap();
    dev
}

impl Net {
    fn new(cfg: &StackConfig) -> Net {
        let mut a = Stack::new(cfg.clone(), 1);
        let mut b = Stack::new(cfg.clone(), 2);
        let a_dev = eth(&mut a, 1, Ipv4Addr::new(10, 0, 0, 1));
        let b_dev = eth(&mut b, 2, Ipv4Addr::new(10, 0, 0, 2));
        Net {
            a,
            b,
            a_dev,
            b_dev,
            now: Instant::ZERO,
        }
    }

    /// Hands frames across until none moves.
    fn pump(&mut self) {
        for _ in 0..10_000 {
            let mut moved = false;
            while let Some((_, skb)) = self.a.poll_transmit() {
                let mut rx = self.b.alloc_rx(skb.len());
                rx.put_slice(skb.data());
                self.a.recycle(skb);
                self.b.receive(self.now, self.b_dev, rx);
                moved = true;
            }
            while let Some((_, skb)) = self.b.poll_transmit() {
                let mut rx = self.a.alloc_rx(skb.len());
                rx.put_slice(skb.data());
                self.b.recycle(skb);
                self.a.receive(self.now, self.a_dev, rx);
                moved = true;
            }
            while self.a.poll_event().is_some() {}
            while self.b.poll_event().is_some() {}
            if !moved {
                return;
            }
        }
        panic!("frames keep moving");
    }

    /// Advances virtual time to the next timer of either stack; false if none.
    fn advance(&mut self) -> bool {
        let next = [self.a.poll_timeout(), self.b.poll_timeout()]
            .into_iter()
            .flatten()
            .min();
        let Some(t) = next else { return false };
        self.now = self.now.max(t);
        self.a.handle_timeout(self.now);
        self.b.handle_timeout(self.now);
        self.pump();
        true
    }

    /// A blocking call: retried while it answers `again`, the network pumped and time
    /// advanced in between (what the blocking front door does), for at most 300 s.
    fn blocking<T>(
        &mut self,
        again: Errno,
        mut f: impl FnMut(&mut Stack) -> Result<T, Errno>,
    ) -> Result<T, Errno> {
        let limit = self.now + Duration::from_secs(300);
        loop {
            let r = f(&mut self.a);
            self.pump();
            match r {
                Err(e) if e == again && self.now < limit => {
                    if !self.advance() {
                        return Err(e);
                    }
                }
                r => return r,
            }
        }
    }
}

fn run_linnet(cfg: &StackConfig, script: &Script) -> Vec<Out> {
    let mut net = Net::new(cfg);
    let mut ids: Vec<SocketId> = Vec::new();
    let privileged = !script.unprivileged;
    let mut out = Vec::new();
    for step in &script.steps {
        let unit = |r: Result<(), Errno>| r.map_or_else(|e| Out::Err(e.code()), |()| Out::Ok);
        let o = match &step.cmd {
            // A privileged caller: sock_create_kern passes the CAP_NET_RAW check too.
            Cmd::Socket(f, t, p) => match if privileged {
                net.a.sock_create_kern(*f, *t, *p)
            } else {
                net.a.sys_socket(*f, *t, *p)
            } {
                Ok(id) => {
                    net.a.sock_set_privileged(id, privileged).unwrap();
                    ids.push(id);
                    Out::Fd
                }
                Err(e) => Out::Err(e.code()),
            },
            Cmd::Bind(s, a) => unit(net.a.sys_bind(ids[*s], a)),
            Cmd::Connect(s, a) => {
                let id = ids[*s];
                let r = net.a.sys_connect(id, a);
                net.pump();
                let blocking = !net.a.socket(id).unwrap().nonblock;
                let r = match r {
                    Err(Errno::EINPROGRESS) if blocking => {
                        net.blocking(Errno::EINPROGRESS, |st| st.sys_connect_complete(id))
                    }
                    r => r,
                };
                unit(r)
            }
            Cmd::Listen(s, b) => unit(net.a.sys_listen(ids[*s], *b)),
            Cmd::Accept(s, fl) => {
                let id = ids[*s];
                let blocking = !net.a.socket(id).unwrap().nonblock;
                let r = if blocking {
                    net.blocking(Errno::EAGAIN, |st| st.sys_accept4(id, *fl))
                } else {
                    net.a.sys_accept4(id, *fl)
                };
                match r {
                    Ok((nid, _)) => {
                        ids.push(nid);
                        Out::Fd
                    }
                    Err(e) => Out::Err(e.code()),
                }
            }
            Cmd::GetSockName(s) => net
                .a
                .sys_getsockname(ids[*s])
                .map_or_else(|e| Out::Err(e.code()), Out::Addr),
            Cmd::GetPeerName(s) => net
                .a
                .sys_getpeername(ids[*s])
                .map_or_else(|e| Out::Err(e.code()), Out::Addr),
            Cmd::Shutdown(s, how) => unit(net.a.sys_shutdown(ids[*s], *how)),
            Cmd::Send(s, data, fl, to) => {
                let id = ids[*s];
                let blocking = !net.a.socket(id).unwrap().nonblock && fl & MSG_DONTWAIT == 0;
                let r = if blocking {
                    net.blocking(Errno::EAGAIN, |st| {
                        st.sys_sendto(id, data, *fl, to.as_ref())
                    })
                } else {
                    net.a.sys_sendto(id, data, *fl, to.as_ref())
                };
                r.map_or_else(|e| Out::Err(e.code()), Out::Len)
            }
            Cmd::Recv(s, len, fl) => {
                let id = ids[*s];
                let mut buf = vec![0u8; *len];
                let blocking = !net.a.socket(id).unwrap().nonblock && fl & MSG_DONTWAIT == 0;
                let r = if blocking {
                    net.blocking(Errno::EAGAIN, |st| st.sys_recvmsg(id, &mut buf, *fl))
                } else {
                    net.a.sys_recvmsg(id, &mut buf, *fl)
                };
                match r {
                    Ok(m) => {
                        let copied = m.len.min(buf.len());
                        let tcp_trunc = fl & MSG_TRUNC != 0 && m.flags & MSG_TRUNC == 0;
                        Out::Msg {
                            len: m.len,
                            flags: m.flags,
                            data: if tcp_trunc {
                                Vec::new()
                            } else {
                                buf[..copied].to_vec()
                            },
                        }
                    }
                    Err(e) => Out::Err(e.code()),
                }
            }
            Cmd::RecvCmsg(s, len, fl) => {
                let mut buf = vec![0u8; *len];
                let mut c = linnet_core::socket::cmsg::CmsgBuf::new();
                match net.a.sys_recvmsg_cmsg(ids[*s], &mut buf, *fl, &mut c) {
                    Ok(m) => {
                        let mut ctl = [0u8; 256];
                        let (n, cflags) = c.encode(&mut ctl);
                        Out::MsgCmsg(
                            Box::new(Out::Msg {
                                len: m.len,
                                flags: m.flags | cflags,
                                data: buf[..m.len.min(buf.len())].to_vec(),
                            }),
                            render_cmsgs(&ctl[..n]),
                        )
                    }
                    Err(e) => Out::Err(e.code()),
                }
            }
            Cmd::SetOpt(s, level, name, v) => unit(net.a.sys_setsockopt(ids[*s], *level, *name, v)),
            Cmd::GetOpt(s, level, name, len) => {
                let mut buf = vec![0u8; *len];
                match net.a.sys_getsockopt(ids[*s], *level, *name, &mut buf) {
                    Ok(n) => {
                        buf.truncate(n);
                        opt_out(buf, *len)
                    }
                    Err(e) => Out::Err(e.code()),
                }
            }
            Cmd::Close(s) => unit(net.a.sys_close(ids[*s])),
            Cmd::Poll(s) => {
                Out::Poll((net.a.sock_poll(ids[*s]).0) & (POLL_ALL | 0x008 | 0x010 | 0x020))
            }
            Cmd::Sysctl(name, v) => {
                let c = net.a.config_mut();
                let n: Vec<u32> = v.split_whitespace().map(|x| x.parse().unwrap()).collect();
                match name.as_str() {
                    "ip_nonlocal_bind" => c.ip_nonlocal_bind = n[0] != 0,
                    "ip_unprivileged_port_start" => c.ip_unprivileged_port_start = n[0] as u16,
                    "ping_group_range" => c.ping_group_range = (n[0], n[1]),
                    other => panic!("sysctl {other} is not mapped"),
                }
                Out::Ok
            }
            Cmd::Pump => {
                net.pump();
                Out::Ok
            }
        };
        net.pump();
        out.push(o);
    }
    out
}

// ---- the test -----------------------------------------------------------------------------

#[test]
fn linux_and_linnet_socket_calls_agree_scenario_by_scenario() {
    let test = "linux_and_linnet_socket_calls_agree_scenario_by_scenario";
    assert!(SCENARIOS.len() >= 30, "the suite has at least 30 scenarios");
    let scripts: Vec<Script> = SCENARIOS.iter().map(|(_, s)| parse(s)).collect();
    if !kernel_env::kernel_ready(test, &[]) {
        return;
    }
    for (script, (name, _)) in scripts.iter().zip(SCENARIOS) {
        for step in &script.steps {
            if let Expect::Differs { why, .. } = &step.expect {
                assert!(
                    DIFFERENCES.iter().any(|(k, _)| k == why),
                    "{name}: `{}` differs for an unlisted reason {why:?}",
                    step.text
                );
            }
        }
    }
    let ns = Namespaces::new();
    let (linux, cfg) = run_linux(&ns.a, &scripts);
    let eph = cfg.ip_local_port_range;
    let mut failures = Vec::new();
    let mut compared = 0;
    for (((name, _), script), lx) in SCENARIOS.iter().zip(&scripts).zip(&linux) {
        let ln = run_linnet(&cfg, script);
        for (i, step) in script.steps.iter().enumerate() {
            let (l, n) = (render(&lx[i], eph), render(&ln[i], eph));
            let (want_l, want_n) = match &step.expect {
                Expect::Same(e) => (e.clone(), e.clone()),
                Expect::Differs { linux, linnet, .. } => (linux.clone(), linnet.clone()),
            };
            compared += 1;
            if l != want_l || n != want_n {
                failures.push(format!(
                    "{name} step {i} `{}`: expected {want_l:?}{}, Linux {l:?}, linnet {n:?}",
                    step.text,
                    if want_l == want_n {
                        String::new()
                    } else {
                        format!(" / linnet {want_n:?}")
                    },
                ));
            }
        }
    }
    eprintln!(
        "{compared} steps of {} scenarios compared with Linux",
        SCENARIOS.len()
    );
    assert!(compared > 200, "{compared} steps");
    assert!(
        failures.is_empty(),
        "{} of {compared} steps differ:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The script parser and renderer on a small script (runs without root).
#[test]
fn scenario_scripts_parse_and_run_on_linnet() {
    let scripts: Vec<Script> = SCENARIOS.iter().map(|(_, s)| parse(s)).collect();
    let cfg = StackConfig::default();
    let s = &scripts[0];
    let out = run_linnet(&cfg, s);
    assert_eq!(render(&out[0], (32768, 60999)), "EINVAL");
    assert_eq!(render(&out[1], (32768, 60999)), "fd");
    // Every scenario runs on linnet alone without panicking, and the ones whose
    // expectations do not depend on the host's sysctls agree with their script.
    for ((name, _), script) in SCENARIOS.iter().zip(&scripts) {
        let out = run_linnet(&cfg, script);
        assert_eq!(out.len(), script.steps.len(), "{name}");
    }
}

//! Seed labs 3, 4 and 5 (`examples/lab3_listen.rs`, `lab4_accept.rs`, `lab5_send.rs`): each
//! example's own code run in-process on a stack with `lo`, its output asserted; and, as
//! root, the `--tap` variants with a real Linux `nc` (netcat-openbsd) as the lab's peer.
//!
//! Linux: net/socket.c (the in-kernel socket API the labs use). RFCs: RFC 9293, RFC 768.
//!
//! The TAP tests need root, /dev/net/tun, `ip` and `nc`; without them they print why and
//! pass, except under `CI=true`, where they fail. They run one at a time (one TAP name per
//! process).
// Each example carries its own `lab_common` (as its own binary does).
#![allow(clippy::duplicate_mod)]

#[path = "support/kernel_env.rs"]
mod kernel_env;

use std::sync::{Mutex, PoisonError};

#[path = "support/lab_examples.rs"]
mod lab_examples;
use lab_examples::{lab3, lab4, lab5};

static SERIAL: Mutex<()> = Mutex::new(());

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

/// Lab 3: the socket listens on 127.0.0.1:60000 (the `ss -tln` listing, from the stack's
/// sock_diag dump) and is gone after `sock_release` (not listed, no socket left in the
/// table, the port can be bound again).
#[test]
fn lab3_listens_on_loopback_60000_in_process() {
    let net = lab3::lab_common::in_process(3);
    let mut out = Vec::new();
    lab3::run(&net, &mut out).unwrap();
    assert_eq!(
        text(&out),
        "+ insmod tcp_sock.ko\n\
         + ss -tln\n\
         State  Recv-Q Send-Q Local Address:Port   Peer Address:Port\n\
         LISTEN 0      5      127.0.0.1:60000      0.0.0.0:*\n\
         + rmmod tcp_sock\n\
         + ss -tln\n\
         State  Recv-Q Send-Q Local Address:Port   Peer Address:Port\n"
    );
    assert_eq!(net.rt.handle().inspect(|s| s.socket_count()), 0);
    // The error path prints the lab's message: a second module on the same port.
    let mut out = Vec::new();
    let first = lab3::my_tcp_sock_init(net.rt.handle(), net.local, &mut out).unwrap();
    let second = lab3::my_tcp_sock_init(net.rt.handle(), net.local, &mut out);
    assert_eq!(second.err(), Some(-98), "-EADDRINUSE");
    assert_eq!(text(&out), "error in socket binding\n");
    lab3::my_tcp_sock_exit(first);
}

/// Lab 4: accept blocks until the peer (a socket of the same stack, nc's role) connects;
/// the printed address is the peer's own, in `print_sock_address`'s format.
#[test]
fn lab4_accepts_and_prints_peer_in_process() {
    let net = lab4::lab_common::in_process(4);
    let mut out = Vec::new();
    let peer = lab4::run(&net, &mut out).unwrap().expect("peer address");
    assert!(peer.starts_with("127.0.0.1:"), "{peer}");
    assert_eq!(
        text(&out),
        format!(
            "+ insmod tcp_sock.ko &\n\
             + nc 127.0.0.1 60000\n\
             connection established to {peer}\n\
             + rmmod tcp_sock\n"
        )
    );
    let port: u16 = peer.rsplit(':').next().unwrap().parse().unwrap();
    assert!((32768..61000).contains(&port), "ephemeral port {port}");
}

/// Lab 5: the receiver on 127.0.0.1:60001 gets exactly `MY_TEST_MESSAGE` with its NUL, in
/// one datagram.
#[test]
fn lab5_sends_kernelsocket_in_process() {
    let net = lab5::lab_common::in_process(5);
    let mut out = Vec::new();
    lab5::run(&net, &mut out).unwrap();
    assert_eq!(
        out,
        b"+ nc -l -u -p 60001\n+ insmod udp_sock.ko\nkernelsocket\n\0+ rmmod udp_sock\n"
    );
    assert_eq!(net.rt.handle().inspect(|s| s.socket_count()), 0);
}

/// Lab 3 across a TAP: Linux's `nc -z` connects to linnet's 10.77.0.2:60000 (exit 0).
#[test]
fn lab3_tap_linux_nc_reaches_the_listener() {
    if !kernel_env::kernel_ready("lab3_tap_linux_nc_reaches_the_listener", &[kernel_env::NC]) {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let net = lab3::lab_common::on_tap().unwrap();
    let mut out = Vec::new();
    lab3::run(&net, &mut out).unwrap();
    let t = text(&out);
    assert!(t.contains("LISTEN 0      5      10.77.0.2:60000"), "{t}");
    assert!(t.contains("nc exit status 0\n"), "{t}");
}

/// Lab 4 across a TAP: Linux's `nc` connects; the lab prints the kernel's address.
#[test]
fn lab4_tap_linux_nc_connects() {
    if !kernel_env::kernel_ready("lab4_tap_linux_nc_connects", &[kernel_env::NC]) {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let net = lab4::lab_common::on_tap().unwrap();
    let mut out = Vec::new();
    lab4::run(&net, &mut out).unwrap();
    let t = text(&out);
    assert!(t.contains("connection established to 10.77.0.1:"), "{t}");
}

/// Lab 5 across a TAP: Linux's `nc -u -l 10.77.0.1 60001` prints `kernelsocket`.
#[test]
fn lab5_tap_linux_nc_receives_kernelsocket() {
    if !kernel_env::kernel_ready("lab5_tap_linux_nc_receives_kernelsocket", &[kernel_env::NC]) {
        return;
    }
    let _g = SERIAL.lock().unwrap_or_else(PoisonError::into_inner);
    let net = lab5::lab_common::on_tap().unwrap();
    let mut out = Vec::new();
    lab5::run(&net, &mut out).unwrap();
    assert_eq!(
        out,
        b"+ nc -l -u -p 60001\n+ insmod udp_sock.ko\nkernelsocket\n\0+ rmmod udp_sock\n"
    );
}

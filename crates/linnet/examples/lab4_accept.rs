//! Seed lab 4 ("Accepting connections in kernel space", `3-4-tcp-sock`, TODO 2): lab 3's
//! listener, then a blocking accept of one connection into a `sock_create_lite` socket
//! whose ops are the listener's, and the peer's address printed with the lab's
//! `print_sock_address` format: `connection established to %pI4:%d`.
//!
//! `cargo run -p linnet --example lab4_accept` runs it in-process: a second socket of the
//! same stack connects to 127.0.0.1:60000 (the role of `nc 127.0.0.1 60000` in
//! `test-4.sh`). `--tap` (root): a real Linux `nc` connects across a TAP. See
//! docs/labs/lab4.md.
//!
//! Linux: net/socket.c (`sock_create_kern`, `sock_create_lite`, `sock_release`),
//! net/ipv4/af_inet.c (`inet_bind`, `inet_listen`, `inet_accept`, `inet_getname`).
//! RFCs: RFC 9293.

use std::io::{self, Write};
use std::net::Ipv4Addr;
use std::sync::mpsc;

use linnet::kernel::*;

pub mod lab_common;

/// `MY_TCP_PORT`.
pub const MY_TCP_PORT: u16 = 60000;
/// `LISTEN_BACKLOG`.
pub const LISTEN_BACKLOG: i32 = 5;

/// `print_sock_address(addr)`: `printk("connection established to %pI4:%d\n",
/// &addr.sin_addr.s_addr, ntohs(addr.sin_port))`.
pub fn print_sock_address(out: &mut dyn Write, addr: &SockaddrIn) {
    let _ = writeln!(out, "connection established to {addr}");
}

/// The module's two sockets (`sock`, `new_sock`).
#[derive(Debug)]
pub struct Lab4 {
    /// listening (server) socket
    pub sock: Socket,
    /// communication socket
    pub new_sock: Socket,
}

/// `my_tcp_sock_init`: create, bind, listen, then `listening()` (the test script starting
/// its `nc` while insmod blocks), then accept (blocking), getname(peer) and print it.
/// Returns both sockets, or the negative errno.
pub fn my_tcp_sock_init(
    net: impl Into<Net>,
    addr_ip: Ipv4Addr,
    out: &mut dyn Write,
    listening: impl FnOnce(),
) -> Result<Lab4, i32> {
    // address to bind on
    let addr = SockaddrIn {
        sin_family: AF_INET as u16,
        sin_port: htons(MY_TCP_PORT),
        sin_addr: InAddr {
            s_addr: htonl(u32::from(addr_ip)),
        },
    };
    // address of peer
    let mut raddr = SockaddrIn::default();

    // Create listening socket
    let sock = match sock_create_kern(net, PF_INET, SOCK_STREAM, IPPROTO_TCP) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(out, "error in creating socket");
            return Err(e.code());
        }
    };

    // Bind socket to loopback on port MY_TCP_PORT
    let err = sock.ops().bind(&sock, &addr, SOCKADDR_IN_SIZE).ret();
    if err < 0 {
        let _ = writeln!(out, "error in socket binding");
        sock_release(sock);
        return Err(err);
    }

    // Start listening
    let err = sock.ops().listen(&sock, LISTEN_BACKLOG).ret();
    if err < 0 {
        let _ = writeln!(out, "error in socket listening");
        sock_release(sock);
        return Err(err);
    }
    listening();

    // Create new socket for the accepted connection
    let mut new_sock = match sock_create_lite(PF_INET, SOCK_STREAM, IPPROTO_TCP) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(out, "error in new socket creating");
            sock_release(sock);
            return Err(e.code());
        }
    };
    new_sock.ops = sock.ops;

    // Accept a connection
    let err = sock.ops().accept(&sock, &mut new_sock, 0, true).ret();
    if err < 0 {
        let _ = writeln!(out, "error in accepting socket");
        sock_release(new_sock);
        sock_release(sock);
        return Err(err);
    }

    // Get the address of the peer and print it
    let err = sock.ops().getname(&new_sock, &mut raddr, 1).ret();
    if err < 0 {
        let _ = writeln!(out, "error in getting socket name");
        sock_release(new_sock);
        sock_release(sock);
        return Err(err);
    }
    print_sock_address(out, &raddr);
    Ok(Lab4 { sock, new_sock })
}

/// `my_tcp_sock_exit`: release the accepted socket, then the listener.
pub fn my_tcp_sock_exit(lab: Lab4) {
    // Cleanup socket for accepted connection
    sock_release(lab.new_sock);
    // Cleanup listening socket
    sock_release(lab.sock);
}

/// The lab run (`test-4.sh`): insmod blocks in accept until the peer connects, the peer's
/// address is printed, rmmod. In-process the peer is a linnet `TcpStream` of the same stack;
/// on a TAP it is Linux's `nc`. Returns the output and the peer's own idea of its address
/// (to check the printed one).
pub fn run(net: &lab_common::LabNet, out: &mut dyn Write) -> Result<Option<String>, i32> {
    let handle = net.rt.handle().clone();
    let (tx, rx) = mpsc::channel();
    let local = net.local;
    let tap = net.tap.is_some();
    let _ = writeln!(out, "+ insmod tcp_sock.ko &");
    let peer = std::thread::spawn(move || -> Option<String> {
        rx.recv().ok()?;
        if tap {
            // nc connects and stays until the lab closes (-w: then gives up).
            let mut child = std::process::Command::new("nc")
                .args(["-w", "2", &local.to_string(), &MY_TCP_PORT.to_string()])
                .stdin(std::process::Stdio::null())
                .spawn()
                .ok()?;
            let _ = child.wait();
            None
        } else {
            let s = linnet::TcpStream::connect(&handle, (local, MY_TCP_PORT)).ok()?;
            let a = s.local_addr().ok()?.to_string();
            // Hold the connection until the lab has printed (the peer's EOF ends it).
            let mut b = [0u8; 1];
            let _ = std::io::Read::read(&mut &s, &mut b);
            Some(a)
        }
    });
    let _ = writeln!(out, "+ nc {local} {MY_TCP_PORT}");
    let lab = my_tcp_sock_init(net.rt.handle(), local, out, move || {
        let _ = tx.send(());
    })?;
    let _ = writeln!(out, "+ rmmod tcp_sock");
    my_tcp_sock_exit(lab);
    Ok(peer.join().ok().flatten())
}

#[allow(dead_code)]
fn main() {
    let net = if lab_common::want_tap() {
        match lab_common::on_tap() {
            Ok(n) => n,
            Err(e) => {
                eprintln!("lab4: {e}");
                std::process::exit(1);
            }
        }
    } else {
        lab_common::in_process(4)
    };
    if let Err(e) = run(&net, &mut io::stdout()) {
        eprintln!("lab4: init failed: {e}");
        std::process::exit(1);
    }
}

//! Seed lab 3 ("Listening on a TCP socket", `3-4-tcp-sock`, TODO 1): a kernel TCP socket
//! listening on 127.0.0.1:60000, written with linnet's kernel-style API in the lab's C
//! structure (`my_tcp_sock_init` / `my_tcp_sock_exit`, printk → `writeln!`).
//!
//! `cargo run -p linnet --example lab3_listen` runs it in-process on a stack with only `lo`;
//! `--tap` (root) binds linnet's TAP address instead and lets a real Linux `nc -z` connect
//! to it. See docs/labs/lab3.md.
//!
//! Linux: net/socket.c (`sock_create_kern`, `sock_release`), net/ipv4/af_inet.c
//! (`inet_bind`, `inet_listen`). RFCs: RFC 9293.

use std::io::{self, Write};
use std::net::Ipv4Addr;

use linnet::core::tcp::diag::InetDiagReq;
use linnet::kernel::*;
use linnet::StackHandle;

pub mod lab_common;

/// `MY_TCP_PORT`.
pub const MY_TCP_PORT: u16 = 60000;
/// `LISTEN_BACKLOG`.
pub const LISTEN_BACKLOG: i32 = 5;

/// `my_tcp_sock_init`: create (in `net`: this process's stack or a daemon's), bind to
/// `addr_ip`:60000 (`INADDR_LOOPBACK` in the lab), listen. Returns the listening socket,
/// or the negative errno the module's init returns.
pub fn my_tcp_sock_init(
    net: impl Into<Net>,
    addr_ip: Ipv4Addr,
    out: &mut dyn Write,
) -> Result<Socket, i32> {
    // address to bind on
    let addr = SockaddrIn {
        sin_family: AF_INET as u16,
        sin_port: htons(MY_TCP_PORT),
        sin_addr: InAddr {
            s_addr: htonl(u32::from(addr_ip)),
        },
    };

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
    Ok(sock)
}

/// `my_tcp_sock_exit`: release the listening socket.
pub fn my_tcp_sock_exit(sock: Socket) {
    sock_release(sock);
}

/// `ss -tln` on the lab's stack: every TCP listener, from the stack's sock_diag dump
/// (`inet_diag_dump` with `TCPF_LISTEN`, what `ss` asks the kernel): Recv-Q is the accept
/// queue, Send-Q the backlog. Header included.
pub fn ss_tln(net: &StackHandle) -> Vec<String> {
    let req = InetDiagReq {
        protocol: IPPROTO_TCP as u8,
        states: 1 << 10, // TCPF_LISTEN
        info: false,
    };
    let mut lines = vec![format!(
        "{:<6} {:<6} {:<6} {:<20} {}",
        "State", "Recv-Q", "Send-Q", "Local Address:Port", "Peer Address:Port"
    )];
    let mut cursor = 0;
    loop {
        let (msgs, next) = net.inspect(|s| s.inet_diag_dump(&req, cursor, 64));
        for m in msgs {
            lines.push(format!(
                "{:<6} {:<6} {:<6} {:<20} {}",
                "LISTEN",
                m.rqueue,
                m.wqueue,
                m.src.to_string(),
                "0.0.0.0:*"
            ));
        }
        match next {
            Some(c) => cursor = c,
            None => return lines,
        }
    }
}

/// The lab run: the `test-3.sh` steps (insmod, look at the socket, rmmod) as output.
pub fn run(net: &lab_common::LabNet, out: &mut dyn Write) -> Result<(), i32> {
    let handle = net.rt.handle();
    writeln!(out, "+ insmod tcp_sock.ko").map_err(|_| -5)?;
    let sock = my_tcp_sock_init(handle, net.local, out)?;
    writeln!(out, "+ ss -tln").map_err(|_| -5)?;
    for l in ss_tln(handle) {
        writeln!(out, "{l}").map_err(|_| -5)?;
    }
    if net.tap.is_some() {
        // The lab's peer across the TAP: Linux's nc connects (and closes at once).
        let addr = format!("{}", net.local);
        let port = MY_TCP_PORT.to_string();
        writeln!(out, "+ nc -z -w 2 {addr} {port}").map_err(|_| -5)?;
        let st = std::process::Command::new("nc")
            .args(["-z", "-w", "2", &addr, &port])
            .status()
            .map_err(|_| -2)?;
        writeln!(out, "nc exit status {}", st.code().unwrap_or(-1)).map_err(|_| -5)?;
    }
    writeln!(out, "+ rmmod tcp_sock").map_err(|_| -5)?;
    my_tcp_sock_exit(sock);
    writeln!(out, "+ ss -tln").map_err(|_| -5)?;
    for l in ss_tln(handle) {
        writeln!(out, "{l}").map_err(|_| -5)?;
    }
    Ok(())
}

#[allow(dead_code)]
fn main() {
    let net = if lab_common::want_tap() {
        match lab_common::on_tap() {
            Ok(n) => n,
            Err(e) => {
                eprintln!("lab3: {e}");
                std::process::exit(1);
            }
        }
    } else {
        lab_common::in_process(3)
    };
    if let Err(e) = run(&net, &mut io::stdout()) {
        eprintln!("lab3: init failed: {e}");
        std::process::exit(1);
    }
}

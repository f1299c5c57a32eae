//! Seed lab 5 ("UDP socket sender", `5-udp-sock`): a kernel UDP socket bound to
//! 127.0.0.1:60000 that sends `MY_TEST_MESSAGE` ("kernelsocket\n", with its NUL: `len =
//! strlen(buffer) + 1` as the lab's code has it) to 127.0.0.1:60001 with `kernel_sendmsg`
//! and one kvec, in the lab's C structure.
//!
//! `cargo run -p linnet --example lab5_send` runs it in-process: a linnet UDP socket of the
//! same stack listens on 60001 and prints what arrives (the role of `nc -l -u -p 60001` in
//! `test-5.sh`). `--tap` (root): Linux's `nc -u -l` across a TAP receives it. See
//! docs/labs/lab5.md.
//!
//! Linux: net/socket.c (`sock_create_kern`, `kernel_sendmsg`, `sock_release`),
//! net/ipv4/af_inet.c (`inet_bind`), net/ipv4/udp.c (`udp_sendmsg`). RFCs: RFC 768.

use std::io::{self, Read, Write};
use std::net::Ipv4Addr;
use std::time::Duration;

use linnet::kernel::*;

pub mod lab_common;

/// `MY_UDP_LOCAL_PORT`.
pub const MY_UDP_LOCAL_PORT: u16 = 60000;
/// `MY_UDP_REMOTE_PORT`.
pub const MY_UDP_REMOTE_PORT: u16 = 60001;
/// `MY_TEST_MESSAGE`, with the C string's NUL.
pub const MY_TEST_MESSAGE: &[u8] = b"kernelsocket\n\0";

/// `my_udp_msgsend`: build the message (one kvec, `msg_name` = the peer) and send it with
/// `kernel_sendmsg`; returns its result.
pub fn my_udp_msgsend(s: &Socket, peer_ip: Ipv4Addr) -> KResult<usize> {
    // address to send to
    let raddr = SockaddrIn {
        sin_family: AF_INET as u16,
        sin_port: htons(MY_UDP_REMOTE_PORT),
        sin_addr: InAddr {
            s_addr: htonl(u32::from(peer_ip)),
        },
    };
    let raddrlen = SOCKADDR_IN_SIZE;
    // message
    let buffer = MY_TEST_MESSAGE;
    let len = buffer.len(); // strlen(buffer) + 1
    let iov = Kvec {
        iov_base: buffer,
        iov_len: len,
    };
    let msg = Msghdr {
        msg_flags: 0,
        msg_name: Some(raddr),
        msg_namelen: raddrlen,
        msg_controllen: 0,
    };
    kernel_sendmsg(s, &msg, &[iov], 1, len)
}

/// `my_udp_sock_init`: create, bind to `addr_ip`:60000, send. Returns the socket or the
/// negative errno.
pub fn my_udp_sock_init(
    net: impl Into<Net>,
    addr_ip: Ipv4Addr,
    peer_ip: Ipv4Addr,
    out: &mut dyn Write,
) -> Result<Socket, i32> {
    // address to bind on
    let addr = SockaddrIn {
        sin_family: AF_INET as u16,
        sin_port: htons(MY_UDP_LOCAL_PORT),
        sin_addr: InAddr {
            s_addr: htonl(u32::from(addr_ip)),
        },
    };
    let addrlen = SOCKADDR_IN_SIZE;

    // create UDP socket
    let sock = match sock_create_kern(net, PF_INET, SOCK_DGRAM, IPPROTO_UDP) {
        Ok(s) => s,
        Err(e) => {
            let _ = writeln!(out, "can't create socket");
            return Err(e.code());
        }
    };

    // bind socket to loopback on port MY_UDP_LOCAL_PORT
    let err = sock.ops().bind(&sock, &addr, addrlen).ret();
    if err < 0 {
        let _ = writeln!(out, "can't bind socket");
        sock_release(sock);
        return Err(err);
    }

    // send message
    let err = my_udp_msgsend(&sock, peer_ip).ret();
    if err < 0 {
        let _ = writeln!(out, "can't send message");
        sock_release(sock);
        return Err(err);
    }
    Ok(sock)
}

/// `my_udp_sock_exit`.
pub fn my_udp_sock_exit(sock: Socket) {
    sock_release(sock);
}

/// The lab run (`test-5.sh`): the receiver on 60001 first, then insmod (which sends), the
/// receiver prints what it got, rmmod. In-process the receiver is a linnet UDP socket; on a
/// TAP it is Linux's `nc -u -l`.
pub fn run(net: &lab_common::LabNet, out: &mut dyn Write) -> Result<(), i32> {
    let handle = net.rt.handle();
    let _ = writeln!(out, "+ nc -l -u -p {MY_UDP_REMOTE_PORT}");
    if net.tap.is_some() {
        let mut nc = std::process::Command::new("nc")
            .args([
                "-u",
                "-l",
                &net.peer.to_string(),
                &MY_UDP_REMOTE_PORT.to_string(),
            ])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .map_err(|_| -2)?;
        // Give nc time to bind (test-5.sh sleeps 1 s).
        std::thread::sleep(Duration::from_millis(300));
        let _ = writeln!(out, "+ insmod udp_sock.ko");
        let sock = my_udp_sock_init(handle, net.local, net.peer, out);
        let mut got = vec![0u8; MY_TEST_MESSAGE.len()];
        let mut stdout = nc.stdout.take().ok_or(-5)?;
        let r = stdout.read_exact(&mut got);
        let _ = nc.kill();
        let _ = nc.wait();
        let sock = sock?;
        r.map_err(|_| -5)?;
        let _ = out.write_all(&got);
        let _ = writeln!(out, "+ rmmod udp_sock");
        my_udp_sock_exit(sock);
        return Ok(());
    }
    let nc = linnet::UdpSocket::bind(handle, (net.peer, MY_UDP_REMOTE_PORT)).map_err(|_| -98)?;
    nc.set_read_timeout(Some(Duration::from_secs(5)))
        .map_err(|_| -22)?;
    let _ = writeln!(out, "+ insmod udp_sock.ko");
    let sock = my_udp_sock_init(handle, net.local, net.peer, out)?;
    let mut buf = [0u8; 64];
    let (n, _from) = nc.recv_from(&mut buf).map_err(|_| -11)?;
    let _ = out.write_all(&buf[..n]);
    let _ = writeln!(out, "+ rmmod udp_sock");
    my_udp_sock_exit(sock);
    Ok(())
}

#[allow(dead_code)]
fn main() {
    let net = if lab_common::want_tap() {
        match lab_common::on_tap() {
            Ok(n) => n,
            Err(e) => {
                eprintln!("lab5: {e}");
                std::process::exit(1);
            }
        }
    } else {
        lab_common::in_process(5)
    };
    if let Err(e) = run(&net, &mut io::stdout()) {
        eprintln!("lab5: init failed: {e}");
        std::process::exit(1);
    }
}

//! epoll on a running stack (`linnet::epoll::EpollFd`): woken by the runtime's event delivery
//! across threads, level- and edge-triggered, with timeouts.
//!
//! Linux: fs/eventpoll.c. RFCs: none.

use std::thread;
use std::time::{Duration, Instant};

use linnet::core::socket::poll::{EpollEvent, PollMask};
use linnet::core::{Stack, StackConfig};
use linnet::epoll::*;
use linnet::kernel::*;
use linnet::Runtime;

const IN: u32 = PollMask::POLLIN.0 | PollMask::POLLRDNORM.0;
const WAIT: Option<Duration> = Some(Duration::from_secs(5));

fn lo(port: u16) -> SockaddrIn {
    SockaddrIn::from_v4(std::net::SocketAddrV4::new(
        std::net::Ipv4Addr::LOCALHOST,
        port,
    ))
}

/// A thread in epoll_wait on a listener wakes when another thread connects; the
/// accepted socket's data wakes a level-triggered and an edge-triggered set; the
/// edge-triggered one stays quiet (times out) until new data lands in the drained queue.
#[test]
fn epoll_wait_wakes_across_threads_level_and_edge() {
    let rt = Runtime::new(Stack::new(StackConfig::default(), 11)).unwrap();
    let net = rt.handle().clone();
    let l = sock_create_kern(&net, PF_INET, SOCK_STREAM, IPPROTO_TCP).unwrap();
    kernel_bind(&l, &lo(6100), SOCKADDR_IN_SIZE).unwrap();
    kernel_listen(&l, 5).unwrap();
    let ep = EpollFd::epoll_create1(&net);
    ep.epoll_ctl(
        EPOLL_CTL_ADD,
        l.sk().unwrap(),
        Some(EpollEvent {
            events: IN,
            data: 1,
        }),
    )
    .unwrap();
    assert_eq!(
        ep.epoll_wait(8, Some(Duration::ZERO)),
        Ok(Vec::new()),
        "nothing yet"
    );
    let net2 = net.clone();
    let client = thread::spawn(move || {
        let c = sock_create_kern(&net2, PF_INET, SOCK_STREAM, IPPROTO_TCP).unwrap();
        kernel_connect(&c, &lo(6100), SOCKADDR_IN_SIZE, 0).unwrap();
        c
    });
    let evs = ep.epoll_wait(8, WAIT).unwrap();
    assert_eq!(
        evs,
        vec![EpollEvent {
            events: IN,
            data: 1
        }]
    );
    let c = client.join().unwrap();
    let a = kernel_accept(&l, 0).unwrap();

    let lt = EpollFd::epoll_create1(&net);
    let et = EpollFd::epoll_create1(&net);
    let id = a.sk().unwrap();
    lt.epoll_ctl(
        EPOLL_CTL_ADD,
        id,
        Some(EpollEvent {
            events: IN,
            data: 2,
        }),
    )
    .unwrap();
    et.epoll_ctl(
        EPOLL_CTL_ADD,
        id,
        Some(EpollEvent {
            events: IN | EPOLLET,
            data: 3,
        }),
    )
    .unwrap();
    kernel_sendmsg(&c, &Msghdr::default(), &[Kvec::new(b"hello")], 1, 5).unwrap();
    assert_eq!(
        et.epoll_wait(8, WAIT).unwrap(),
        vec![EpollEvent {
            events: IN,
            data: 3
        }]
    );
    assert_eq!(
        lt.epoll_wait(8, WAIT).unwrap(),
        vec![EpollEvent {
            events: IN,
            data: 2
        }]
    );
    // Unread: level-triggered again at once, edge-triggered times out.
    assert_eq!(lt.epoll_wait(8, WAIT).unwrap().len(), 1);
    let t0 = Instant::now();
    assert_eq!(
        et.epoll_wait(8, Some(Duration::from_millis(100))).unwrap(),
        Vec::new()
    );
    assert!(t0.elapsed() >= Duration::from_millis(90));
    // Drain, then a new arrival is a new edge.
    let mut b = [0u8; 16];
    let mut m = Msghdr::default();
    kernel_recvmsg(&a, &mut m, &mut [KvecMut::new(&mut b)], 1, 16, 0).unwrap();
    kernel_sendmsg(&c, &Msghdr::default(), &[Kvec::new(b"again")], 1, 5).unwrap();
    assert_eq!(
        et.epoll_wait(8, WAIT).unwrap(),
        vec![EpollEvent {
            events: IN,
            data: 3
        }]
    );
    assert_eq!(
        lt.epoll_wait(0, WAIT).map_err(|e| e.to_string()),
        Err("-EINVAL".into())
    );
    assert_eq!(lt.len(), 1);
    sock_release(a);
    sock_release(c);
    sock_release(l);
}

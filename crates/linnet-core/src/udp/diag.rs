//! UDP socket diagnostics: the `sock_diag` view of every bound UDP socket (what `ss -u`
//! prints). The message type and the request are `tcp::diag`'s, shared as in Linux.
//!
//! Linux: net/ipv4/udp_diag.c (`udp_dump`: every socket in the port hash whose state is
//! asked for; `udp_diag_get_info`: `idiag_rqueue` = `udp_rqueue_get`, the receive memory
//! in truesize units, `idiag_wqueue` = `sk_wmem_alloc_get`), net/ipv4/inet_diag.c
//! (`inet_sk_diag_fill`).
//! RFCs: none.
//!
//! A UDP socket is `TCP_ESTABLISHED` once connected and `TCP_CLOSE` otherwise, the numbers
//! `ss` turns into ESTAB and UNCONN. Unbound sockets are in no hash and are not shown.

use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use crate::stack::Stack;
use crate::tcp::diag::{timer, InetDiagMsg, InetDiagReq, IPPROTO_UDP};
use crate::tcp::TcpState;

impl Stack {
    /// `udp_dump`: up to `max` bound UDP sockets whose state is in `req.states`, from slot
    /// `cursor`; the next cursor, or `None` when done.
    pub(crate) fn udp_diag_dump(
        &self,
        req: &InetDiagReq,
        cursor: u64,
        max: usize,
    ) -> (Vec<InetDiagMsg>, Option<u64>) {
        let mut out = Vec::new();
        let slots = &self.udp.slots;
        let mut idx = usize::try_from(cursor).unwrap_or(usize::MAX);
        while idx < slots.len() {
            if out.len() >= max {
                return (out, Some(idx as u64));
            }
            let slot = &slots[idx];
            idx += 1;
            let Some(s) = slot.sock.as_ref() else {
                continue;
            };
            if !s.bound {
                continue;
            }
            let state = match s.remote {
                Some(_) => TcpState::Established,
                None => TcpState::Close,
            };
            if req.states & (1u32 << state.number()) == 0 {
                continue;
            }
            out.push(InetDiagMsg {
                protocol: IPPROTO_UDP,
                state: state.number(),
                timer: timer::OFF,
                retrans: 0,
                src: s.local,
                dst: s
                    .remote
                    .unwrap_or(SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0)),
                expires: 0,
                rqueue: u32::try_from(s.rmem).unwrap_or(u32::MAX),
                // Datagrams leave synchronously: nothing waits in the send queue.
                wqueue: 0,
                uid: 0,
                inode: 0,
                cookie: (u64::from(slot.gen) << 32) | (idx as u64 - 1),
                // linnet's UDP sockets have no shutdown(): nothing is ever shut.
                shutdown: Some(0),
                cong: None,
                info: None,
            });
        }
        (out, None)
    }
}

#[cfg(test)]
mod tests {
    use core::net::SocketAddrV4;

    use crate::tcp::diag::{InetDiagReq, IPPROTO_UDP, TCPF_ALL};
    use crate::testutil::*;

    /// `ss -uan`: a bound, unconnected socket is UNCONN (`TCP_CLOSE`) with its receive
    /// memory as Recv-Q (truesize, as `udp_rqueue_get`); a connected one is ESTAB with its
    /// peer; an unbound socket is not shown; the state mask filters.
    #[test]
    fn udp_sockets_show_state_peer_and_receive_memory() {
        let mut h = Harness::new().with_static_peer();
        let s = h.stack.udp_socket().unwrap();
        h.stack
            .udp_bind(s, SocketAddrV4::new(OUR_IP, 5000))
            .unwrap();
        let c = h.stack.udp_socket().unwrap();
        h.stack
            .udp_connect(c, SocketAddrV4::new(PEER_IP, 53))
            .unwrap();
        let _unbound = h.stack.udp_socket().unwrap();
        h.receive(&udp_frame(4000, OUR_IP, 5000, b"0123456789"));
        let all = InetDiagReq {
            protocol: IPPROTO_UDP,
            states: TCPF_ALL,
            info: true,
        };
        let (d, next) = h.stack.inet_diag_dump(&all, 0, 16);
        assert_eq!(next, None);
        assert_eq!(d.len(), 2, "{d:#?}");
        let unconn = d.iter().find(|m| m.state == 7).unwrap();
        assert_eq!(unconn.src, SocketAddrV4::new(OUR_IP, 5000));
        assert_eq!(unconn.dst.port(), 0);
        assert!(
            unconn.rqueue > 10,
            "truesize, not payload: {}",
            unconn.rqueue
        );
        assert_eq!((unconn.wqueue, unconn.shutdown), (0, Some(0)));
        assert!(unconn.info.is_none());
        let est = d.iter().find(|m| m.state == 1).unwrap();
        assert_eq!(est.dst, SocketAddrV4::new(PEER_IP, 53));
        assert_eq!(est.rqueue, 0);
        // ss's default for UDP: ESTABLISHED only.
        let conn_only = InetDiagReq {
            states: 1 << 1,
            ..all
        };
        let (d, _) = h.stack.inet_diag_dump(&conn_only, 0, 16);
        assert_eq!(d.len(), 1);
        // Paging by one.
        let (p1, n1) = h.stack.inet_diag_dump(&all, 0, 1);
        let (p2, n2) = h.stack.inet_diag_dump(&all, n1.unwrap(), 1);
        assert_eq!((p1.len(), p2.len()), (1, 1));
        assert_ne!(p1[0].src, p2[0].src);
        let (p3, n3) = h.stack.inet_diag_dump(&all, n2.unwrap_or(u64::MAX), 1);
        assert!(p3.is_empty() && n3.is_none());
    }
}

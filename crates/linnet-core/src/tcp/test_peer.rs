//! The scripted TCP peer of the rule tests: connection set-up in both directions and the
//! bookkeeping of both sides' sequence numbers, on top of `testutil`'s builders.

use alloc::vec::Vec;
use core::net::SocketAddrV4;

use crate::testutil::*;
use crate::time::Duration;
use crate::{Errno, Event, SocketHandle, TcpState};

/// The peer's port.
pub(super) const PEER_PORT: u16 = 40_000;
/// Our listening port in passive tests.
pub(super) const OUR_PORT: u16 = 8080;
/// The peer's ISN.
pub(super) const PEER_ISN: u32 = 1_000_000;

/// Both sides' sequence numbers as the peer sees them.
#[derive(Clone, Copy, Debug)]
pub(super) struct Conn {
    /// Our (the stack's) port.
    pub(super) our_port: u16,
    /// The peer's port.
    pub(super) peer_port: u16,
    /// Next sequence number the stack will send.
    pub(super) our_nxt: u32,
    /// Next sequence number the peer sends.
    pub(super) peer_nxt: u32,
    /// The peer's window field.
    pub(super) window: u16,
}

impl Conn {
    /// A bare ACK from the peer at its current numbers.
    pub(super) fn ack(&self) -> TcpSeg {
        TcpSeg {
            sport: self.peer_port,
            dport: self.our_port,
            seq: self.peer_nxt,
            ack: Some(self.our_nxt),
            window: self.window,
            ..TcpSeg::default()
        }
    }

    /// A data segment from the peer at its current numbers (which it then advances).
    pub(super) fn data(&mut self, payload: &[u8]) -> TcpSeg {
        let s = TcpSeg {
            psh: true,
            payload: payload.to_vec(),
            ..self.ack()
        };
        self.peer_nxt = self.peer_nxt.wrapping_add(payload.len() as u32);
        s
    }

    /// The peer's FIN (advances its numbers).
    pub(super) fn fin(&mut self) -> TcpSeg {
        let s = TcpSeg {
            fin: true,
            ..self.ack()
        };
        self.peer_nxt = self.peer_nxt.wrapping_add(1);
        s
    }
}

/// A stack with the peer's ARP entry in place.
pub(super) fn setup() -> Harness {
    Harness::new().with_static_peer()
}

/// Sends one segment from the peer and returns the TCP segments the stack answered with.
pub(super) fn send(h: &mut Harness, s: &TcpSeg) -> Vec<TcpOut> {
    let frames = h.exchange(&tcp_frame(s));
    tcp_segments(&frames)
}

/// The TCP segments waiting for the driver.
pub(super) fn out(h: &mut Harness) -> Vec<TcpOut> {
    let frames = h.drain();
    tcp_segments(&frames)
}

/// Exactly one segment waiting; panics otherwise.
pub(super) fn one(h: &mut Harness) -> TcpOut {
    let mut v = out(h);
    assert_eq!(v.len(), 1, "expected one segment, got {v:#?}");
    v.remove(0)
}

/// Our socket connects to the peer, which answers the SYN with a SYN-ACK carrying Linux's
/// options (MSS 1460, SACK-permitted, timestamps, window scale 7) unless `plain`.
pub(super) fn open_active(h: &mut Harness, plain: bool) -> (SocketHandle, Conn, TcpOut) {
    open_active_rtt(h, plain, Duration::ZERO)
}

/// [`open_active`] with the SYN-ACK arriving `rtt` after the SYN, so that the connection
/// starts with SRTT = `rtt` (`tcp_synack_rtt_meas`) as a real one does. Tests whose peer
/// answers data after a round trip need this: with SRTT near zero the loss probe
/// (2·SRTT + 2 ms) would fire before the peer's ACKs.
pub(super) fn open_active_rtt(
    h: &mut Harness,
    plain: bool,
    rtt: Duration,
) -> (SocketHandle, Conn, TcpOut) {
    let s = h.stack.tcp_socket().unwrap();
    assert_eq!(
        h.stack
            .tcp_connect(s, SocketAddrV4::new(PEER_IP, PEER_PORT)),
        Err(Errno::EINPROGRESS)
    );
    let syn = one(h);
    assert!(syn.flags.syn && !syn.flags.ack);
    let mut conn = Conn {
        our_port: syn.sport,
        peer_port: PEER_PORT,
        our_nxt: syn.seq.wrapping_add(1),
        peer_nxt: PEER_ISN,
        window: 65_535,
    };
    let mut synack = TcpSeg {
        syn: true,
        mss: Some(1460),
        ..conn.ack()
    };
    if !plain {
        synack.sack_perm = true;
        synack.ts = Some((5000, syn.ts.map_or(0, |t| t.0)));
        synack.wscale = Some(7);
        synack.window = 65_160;
        // The peer's TSval advances with its clock (1 kHz).
        synack.ts = Some((5000 + rtt.as_millis() as u32, syn.ts.map_or(0, |t| t.0)));
    }
    if rtt > Duration::ZERO {
        // Nothing (no SYN retransmission) within a realistic round trip.
        assert!(h.advance(rtt).is_empty());
    }
    let acks = send(h, &synack);
    conn.peer_nxt = PEER_ISN + 1;
    assert_eq!(acks.len(), 1, "{acks:#?}");
    assert_eq!(acks[0].ack, Some(PEER_ISN + 1));
    assert_eq!(h.stack.tcp_state(s), Ok(TcpState::Established));
    if !plain {
        // The peer's window is scaled by 128 from now on: 512 << 7 = 64 KiB.
        conn.window = 512;
    }
    (s, conn, syn)
}

/// A listener on `OUR_PORT` with `backlog`.
pub(super) fn listener(h: &mut Harness, backlog: u32) -> SocketHandle {
    let l = h.stack.tcp_socket().unwrap();
    h.stack
        .tcp_bind(l, SocketAddrV4::new(OUR_IP, OUR_PORT))
        .unwrap();
    h.stack.tcp_listen(l, backlog).unwrap();
    l
}

/// The peer's plain SYN from `port` (MSS 1460 only).
pub(super) fn peer_syn(port: u16) -> TcpSeg {
    TcpSeg {
        sport: port,
        dport: OUR_PORT,
        seq: PEER_ISN,
        syn: true,
        window: 65_535,
        mss: Some(1460),
        ..TcpSeg::default()
    }
}

/// The peer connects from `port` to the listener and completes the handshake; returns the
/// connection as the peer sees it (not yet accepted).
pub(super) fn peer_connects(h: &mut Harness, port: u16) -> Conn {
    let synack = send(h, &peer_syn(port));
    assert_eq!(synack.len(), 1, "{synack:#?}");
    let sa = &synack[0];
    assert!(sa.flags.syn && sa.flags.ack);
    let conn = Conn {
        our_port: OUR_PORT,
        peer_port: port,
        our_nxt: sa.seq.wrapping_add(1),
        peer_nxt: PEER_ISN + 1,
        window: 65_535,
    };
    let r = send(h, &conn.ack());
    assert!(r.is_empty(), "{r:#?}");
    conn
}

/// A listener, one connection from the peer, accepted.
pub(super) fn open_passive(h: &mut Harness) -> (SocketHandle, SocketHandle, Conn) {
    let l = listener(h, 16);
    let conn = peer_connects(h, PEER_PORT);
    let (c, from) = h.stack.tcp_accept(l).unwrap();
    assert_eq!(from, SocketAddrV4::new(PEER_IP, PEER_PORT));
    let _ = h.events();
    (l, c, conn)
}

/// Reads everything readable now.
pub(super) fn read_all(h: &mut Harness, s: SocketHandle) -> Vec<u8> {
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    while let Ok(n) = h.stack.tcp_recv(s, &mut buf) {
        if n == 0 {
            break;
        }
        out.extend_from_slice(&buf[..n]);
    }
    out
}

/// Whether `ev` is among the pending events.
pub(super) fn has_event(h: &mut Harness, ev: Event) -> bool {
    h.events().contains(&ev)
}

/// The state of the connection `OUR_IP:our_port <-> PEER_IP:peer_port`, orphans and
/// TIME-WAIT included (a look into the connection hash).
pub(super) fn state_of(h: &mut Harness, our_port: u16, peer_port: u16) -> Option<TcpState> {
    let t = super::FourTuple {
        laddr: OUR_IP,
        lport: our_port,
        raddr: PEER_IP,
        rport: peer_port,
    };
    let idx = *h.stack.tcp.ehash.get(&t)?;
    h.stack.tcp.sock_at(idx).map(|s| s.state)
}

//! TCP connection states (RFC 9293 §3.3.2) with Linux's names and numbers.
//!
//! Linux: include/net/tcp_states.h (`TCP_ESTABLISHED` = 1 ... `TCP_CLOSING` = 11, the numbers
//! `/proc/net/tcp` prints in its `st` column), net/ipv4/tcp.c (`tcp_set_state`,
//! `tcp_close_state`'s `new_state` table), iproute2 misc/ss.c (`sstate_name`).
//! RFCs: RFC 9293 §3.3.2 (the state diagram).
//!
//! Linux has no LISTEN-side SYN-RECEIVED full socket: a SYN to a listener makes a request
//! socket (`struct request_sock`) in `TCP_NEW_SYN_RECV`. linnet keeps such connections as
//! small sockets in [`TcpState::SynRecv`] that point at their listener (see `tcp::mod`), so
//! there is no separate NEW_SYN_RECV state.

use core::fmt;

/// A TCP connection state (Linux `TCP_*`, RFC 9293 names in the docs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum TcpState {
    /// ESTABLISHED: data flows both ways.
    Established = 1,
    /// SYN-SENT: our SYN is out, waiting for the peer's SYN.
    SynSent = 2,
    /// SYN-RECEIVED: both SYNs seen, waiting for the ACK of ours.
    SynRecv = 3,
    /// FIN-WAIT-1: we closed; our FIN is not acknowledged yet.
    FinWait1 = 4,
    /// FIN-WAIT-2: our FIN is acknowledged; waiting for the peer's FIN.
    FinWait2 = 5,
    /// TIME-WAIT: both FINs exchanged; waiting 2*MSL (`TCP_TIMEWAIT_LEN`).
    TimeWait = 6,
    /// CLOSED (Linux `TCP_CLOSE`): no connection.
    Close = 7,
    /// CLOSE-WAIT: the peer closed; waiting for our application to close.
    CloseWait = 8,
    /// LAST-ACK: the peer closed, then we did; waiting for the ACK of our FIN.
    LastAck = 9,
    /// LISTEN: waiting for SYNs.
    Listen = 10,
    /// CLOSING: simultaneous close; waiting for the ACK of our FIN.
    Closing = 11,
}

impl TcpState {
    /// Linux's number (`/proc/net/tcp` `st` column).
    pub fn number(self) -> u8 {
        self as u8
    }

    /// Linux's constant name without the `TCP_` prefix.
    pub fn linux_name(self) -> &'static str {
        match self {
            TcpState::Established => "ESTABLISHED",
            TcpState::SynSent => "SYN_SENT",
            TcpState::SynRecv => "SYN_RECV",
            TcpState::FinWait1 => "FIN_WAIT1",
            TcpState::FinWait2 => "FIN_WAIT2",
            TcpState::TimeWait => "TIME_WAIT",
            TcpState::Close => "CLOSE",
            TcpState::CloseWait => "CLOSE_WAIT",
            TcpState::LastAck => "LAST_ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Closing => "CLOSING",
        }
    }

    /// The name `ss` prints (iproute2 `sstate_name`).
    pub fn ss_name(self) -> &'static str {
        match self {
            TcpState::Established => "ESTAB",
            TcpState::SynSent => "SYN-SENT",
            TcpState::SynRecv => "SYN-RECV",
            TcpState::FinWait1 => "FIN-WAIT-1",
            TcpState::FinWait2 => "FIN-WAIT-2",
            TcpState::TimeWait => "TIME-WAIT",
            TcpState::Close => "UNCONN",
            TcpState::CloseWait => "CLOSE-WAIT",
            TcpState::LastAck => "LAST-ACK",
            TcpState::Listen => "LISTEN",
            TcpState::Closing => "CLOSING",
        }
    }

    /// States counted in `CurrEstab` (RFC 2012 tcpCurrEstab: ESTABLISHED or CLOSE-WAIT).
    pub(crate) fn counts_as_established(self) -> bool {
        matches!(self, TcpState::Established | TcpState::CloseWait)
    }

    /// States in which the connection is synchronized (RFC 9293 §3.5.2: every state after
    /// the handshake), so that sequence numbers of arriving segments are checked against
    /// the receive window.
    pub(crate) fn is_synchronized(self) -> bool {
        !matches!(
            self,
            TcpState::Close | TcpState::Listen | TcpState::SynSent | TcpState::SynRecv
        )
    }

    /// `tcp_close_state`'s table: the state `close()` or `shutdown(SHUT_WR)` moves to, and
    /// whether a FIN must be sent.
    pub(crate) fn after_close(self) -> (TcpState, bool) {
        match self {
            TcpState::Established | TcpState::SynRecv => (TcpState::FinWait1, true),
            TcpState::CloseWait => (TcpState::LastAck, true),
            TcpState::SynSent | TcpState::Listen | TcpState::Close => (TcpState::Close, false),
            // FIN already sent or the connection is on its way out: nothing changes.
            s => (s, false),
        }
    }

    /// `tcp_need_reset`: states in which an abort (close with unread data, listener
    /// teardown) sends a RST.
    pub(crate) fn needs_reset_on_abort(self) -> bool {
        matches!(
            self,
            TcpState::Established
                | TcpState::CloseWait
                | TcpState::FinWait1
                | TcpState::FinWait2
                | TcpState::SynRecv
        )
    }
}

impl fmt::Display for TcpState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.linux_name())
    }
}

//! Urgent data as Linux delivers it: the BSD reading of the urgent pointer (it points just
//! past the urgent byte, `tcp_stdurg` = 0), one out-of-band byte taken out of the stream
//! unless `SO_OOBINLINE`, read once with `MSG_OOB`; `send(.., MSG_OOB)` makes the last
//! byte of the send urgent and segments carry URG and the pointer while it is
//! unacknowledged.
//!
//! Linux: net/ipv4/tcp_input.c (`tcp_urg`, `tcp_check_urg`), net/ipv4/tcp.c
//! (`tcp_recv_urg`, the urgent-mark handling of `tcp_recvmsg_locked`, `tcp_mark_urg`,
//! `SIOCATMARK` in `tcp_ioctl`), net/ipv4/tcp_output.c (the urgent pointer of
//! `__tcp_transmit_skb`, `tcp_urg_mode`), net/core/sock.c (`sk_send_sigurg`).
//! RFCs: RFC 9293 §3.8.5 (the urgent mechanism) and RFC 6093 (its status; Linux keeps the
//! BSD pointer semantics by default).
//!
//! Reading: a normal read stops at the urgent mark; a read at the mark skips the urgent
//! byte (unless `SO_OOBINLINE`) and reading past it forgets the urgent byte, as Linux. The
//! arrival of a new urgent pointer is reported as [`Event::Urgent`] (the role of SIGURG).

use linnet_wire::tcp::SeqNumber;

use crate::errno::Errno;
use crate::stack::{Event, Stack};
use crate::udp::SocketHandle;

use super::input::Seg;
use super::{TcpSock, TcpState, RCV_SHUTDOWN};

/// `tp->urg_data`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum UrgData {
    /// No urgent data (0).
    #[default]
    None,
    /// The pointer arrived, the byte not yet (`TCP_URG_NOTYET`).
    NotYet,
    /// The urgent byte, not yet read (`TCP_URG_VALID | byte`).
    Valid(u8),
    /// Read with `MSG_OOB` (`TCP_URG_READ`).
    Read,
}

impl TcpSock {
    /// `copied_seq`: the sequence number of the next byte the application reads.
    pub(crate) fn copied_seq(&self) -> SeqNumber {
        self.rcv_nxt - (self.rbuf.len() + usize::from(self.done))
    }

    /// `tcp_urg_mode`: urgent data sent and not yet acknowledged.
    pub(crate) fn urg_mode(&self) -> bool {
        self.snd_up.is_some_and(|up| up.after(self.snd_una))
    }

    /// The URG flag and pointer of a segment starting at `seq` (`__tcp_transmit_skb`).
    pub(crate) fn urg_field(&self, seq: SeqNumber) -> Option<u16> {
        let up = self.snd_up?;
        if !self.urg_mode() || !seq.before(up) {
            return None;
        }
        if up.before(seq + 0x10000) {
            Some(up.diff(seq) as u16)
        } else if (seq + 0xffff).after(self.snd_nxt) {
            Some(0xffff)
        } else {
            None
        }
    }

    /// `tcp_mark_urg` for a `MSG_OOB` send: the urgent pointer moves to the end of the
    /// queued data.
    pub(crate) fn tcp_mark_urg(&mut self) {
        if self.msg_oob {
            self.snd_up = Some(self.data_end());
        }
    }

    /// Before a normal read: at the mark, the urgent byte is skipped unless
    /// `SO_OOBINLINE`; once the reader is past it the urgent data is forgotten.
    pub(crate) fn tcp_urg_skip_mark(&mut self) {
        if self.urg_data == UrgData::None {
            return;
        }
        if self.copied_seq() == self.urg_seq && !self.oobinline && !self.rbuf.is_empty() {
            self.rbuf.pop_front();
        }
        self.tcp_urg_forget_if_past();
    }

    /// A normal read of up to `n` bytes stops at the urgent mark.
    pub(crate) fn tcp_urg_limit(&self, n: usize) -> usize {
        if self.urg_data == UrgData::None {
            return n;
        }
        let off = self.urg_seq.diff(self.copied_seq());
        if off > 0 && (off as usize) < n {
            off as usize
        } else {
            n
        }
    }

    /// After a read: "if `copied_seq` is after `urg_seq`, `urg_data` = 0".
    pub(crate) fn tcp_urg_forget_if_past(&mut self) {
        if self.urg_data != UrgData::None && self.copied_seq().after(self.urg_seq) {
            self.urg_data = UrgData::None;
        }
    }
}

impl Stack {
    /// `tcp_urg`: a new urgent pointer (`tcp_check_urg`), then the urgent byte if this
    /// segment carries it. Runs before the segment's data is queued.
    pub(crate) fn tcp_urg(&mut self, sk: &mut TcpSock, seg: &Seg<'_>) {
        if let Some(ptr) = seg.urg_ptr {
            self.tcp_check_urg(sk, seg.seq, ptr);
        }
        if sk.urg_data == UrgData::NotYet {
            let off = sk.urg_seq.diff(seg.seq) - i32::from(seg.flags.syn);
            if off >= 0 && (off as usize) < seg.payload.len() {
                sk.urg_data = UrgData::Valid(seg.payload[off as usize]);
            }
        }
    }

    /// `tcp_check_urg`.
    fn tcp_check_urg(&mut self, sk: &mut TcpSock, seq: SeqNumber, urg_ptr: u16) {
        let mut ptr = u32::from(urg_ptr);
        if ptr != 0 && !self.cfg.tcp_stdurg {
            ptr -= 1;
        }
        let ptr = seq + ptr as usize;
        // Already seen and read; or pointing at data we already have (not replayed).
        if sk.copied_seq().after(ptr) || ptr.before(sk.rcv_nxt) {
            return;
        }
        // A newer (or the same) pointer is known already.
        if sk.urg_data != UrgData::None && !ptr.after(sk.urg_seq) {
            return;
        }
        // sk_send_sigurg.
        self.tcp_event(sk, Event::Urgent);
        // The last urgent byte is at the read position: do not read it again as data.
        if sk.urg_seq == sk.copied_seq()
            && sk.urg_data != UrgData::None
            && !sk.oobinline
            && sk.copied_seq() != sk.rcv_nxt
        {
            sk.rbuf.pop_front();
        }
        sk.urg_data = UrgData::NotYet;
        sk.urg_seq = ptr;
    }

    /// `send(.., MSG_OOB)`: like [`Stack::tcp_send`]; the last byte queued is urgent, and
    /// the segments carry URG with the pointer just past it until it is acknowledged.
    pub fn tcp_send_oob(&mut self, h: SocketHandle, data: &[u8]) -> Result<usize, Errno> {
        self.tcp_with(h, |_, sk| {
            sk.msg_oob = true;
            Ok(())
        })?;
        let r = self.tcp_send(h, data);
        if let Ok(idx) = self.tcp.index(h) {
            if let Some(sk) = self.tcp.sock_at(idx) {
                sk.msg_oob = false;
            }
        }
        r
    }

    /// `recv(.., MSG_OOB)` (`tcp_recv_urg`): the urgent byte, once. EINVAL with
    /// `SO_OOBINLINE`, when there is none, or when it was read already; EAGAIN when the
    /// pointer arrived but the byte has not (0 after the peer's FIN); ENOTCONN on a closed
    /// socket that never finished. A zero-length buffer consumes it and returns 0
    /// (`MSG_TRUNC`).
    pub fn tcp_recv_oob(&mut self, h: SocketHandle, buf: &mut [u8]) -> Result<usize, Errno> {
        self.tcp_with(h, |_, sk| {
            if sk.oobinline || matches!(sk.urg_data, UrgData::None | UrgData::Read) {
                return Err(Errno::EINVAL);
            }
            if sk.state == TcpState::Close && !sk.done {
                return Err(Errno::ENOTCONN);
            }
            if let UrgData::Valid(c) = sk.urg_data {
                sk.urg_data = UrgData::Read;
                return match buf.first_mut() {
                    Some(b) => {
                        *b = c;
                        Ok(1)
                    }
                    None => Ok(0),
                };
            }
            if sk.state == TcpState::Close || sk.shutdown & RCV_SHUTDOWN != 0 {
                return Ok(0);
            }
            Err(Errno::EAGAIN)
        })
    }

    /// `SO_OOBINLINE`: the urgent byte stays in the stream (and `MSG_OOB` reads EINVAL).
    pub fn tcp_set_oobinline(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.oobinline = on;
            Ok(())
        })
    }

    /// `SO_OOBINLINE` (get).
    pub fn tcp_oobinline(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(self.tcp.get(h)?.oobinline)
    }

    /// `SIOCATMARK` (`sockatmark`): the next byte to read is the urgent mark.
    pub fn tcp_at_mark(&self, h: SocketHandle) -> Result<bool, Errno> {
        let sk = self.tcp.get(h)?;
        Ok(sk.urg_data != UrgData::None && sk.urg_seq == sk.copied_seq())
    }
}

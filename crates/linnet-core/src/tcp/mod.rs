//! TCP: the socket table, the lookups, and the socket calls.
//!
//! Linux: net/ipv4/tcp.c (`tcp_sendmsg`, `tcp_recvmsg`, `tcp_shutdown`, `tcp_close`,
//! `tcp_set_state`, `tcp_done`), net/ipv4/af_inet.c (`inet_bind`, `inet_listen`,
//! `inet_stream_connect`, `inet_shutdown`, `inet_accept`), net/ipv4/inet_hashtables.c
//! (`__inet_lookup_established`, `__inet_lookup_listener`, `__inet_hash_connect`),
//! net/ipv4/inet_connection_sock.c (`inet_csk_get_port`, `inet_csk_bind_conflict`,
//! `inet_csk_accept`, `inet_csk_listen_stop`), net/ipv4/tcp_ipv4.c (`tcp_v4_connect`).
//! RFCs: RFC 9293 (TCP), RFC 5961 (blind-attack protections), RFC 6298 (RTO), RFC 5681 and
//! RFC 6582 (congestion control and NewReno), RFC 9438 (CUBIC), RFC 6928 (IW10), RFC 7323
//! (window scale, timestamps and PAWS), RFC 2018 and RFC 2883 (SACK and D-SACK, both ways),
//! RFC 6675 (SACK-based recovery), RFC 6937 (PRR), RFC 8985 (RACK-TLP), RFC 5682 (F-RTO),
//! RFC 3522 (Eifel), RFC 6528 (ISNs), RFC 3168 (ECN), RFC 1191 (path MTU discovery),
//! RFC 9293 §3.8.5 (urgent data), RFC 1122 §4.2 (delayed ACK, Nagle, SWS).
//!
//! # Layout
//! - [`state`]: the states with Linux's names.
//! - `input`: segment arrival in RFC 9293 §3.10.7's order (`tcp_v4_rcv`,
//!   `tcp_rcv_state_process`, `tcp_ack`, `tcp_data_queue`).
//! - `output`: segment construction, window selection, Nagle, the transmit loop.
//! - `timer`: RTO estimation and the retransmission, delayed-ACK, SYN-ACK, zero-window-probe,
//!   keepalive, FIN-WAIT-2 and TIME-WAIT timers.
//! - `sack`: the scoreboard (one record per sent segment with Linux's `sacked` bits and
//!   send time; `packets_out`, `sacked_out`, `lost_out`, `retrans_out`, pipe), received
//!   SACK / D-SACK blocks (`tcp_sacktag_write_queue`), and the D-SACK we report.
//! - `recovery`: `tcp_fastretrans_alert` (Open, Disorder, Recovery, Loss), PRR, the
//!   retransmission of lost segments, `tcp_enter_loss` with F-RTO, and the undo of
//!   spurious reductions (D-SACK, Eifel, F-RTO); NewReno for peers without SACK.
//! - `rack`: RACK loss detection with its reordering window and timer, and tail loss
//!   probes.
//! - `gro`: the receive batch ([`Stack::rx_batch_begin`] / [`Stack::rx_batch_end`]): the
//!   ACK decision of a run of in-order segments is made once at its end, with
//!   `tcp_gro_receive`'s merge and flush rules; duplicate ACKs and SACK stay per segment.
//!   A GSO super-segment from an offloading device (`skb.gso_size`) is one segment here, as
//!   a GRO skb is in Linux: rcv_mss is measured from `gso_size` (`tcp_measure_rcv_mss`) and
//!   a `CHECKSUM_PARTIAL` / `CHECKSUM_UNNECESSARY` skb's checksum is not verified.
//! - `buf`: buffer sizing (send-buffer growth, receive-buffer autotuning) and the
//!   congestion window after idle.
//!
//! # Socket options
//! `TCP_NODELAY`, `SO_REUSEADDR`, `SO_SNDBUF`, `SO_RCVBUF`; keepalive (`SO_KEEPALIVE`,
//! `TCP_KEEPIDLE`, `TCP_KEEPINTVL`, `TCP_KEEPCNT`, defaults from `tcp_keepalive_time`,
//! `tcp_keepalive_intvl`, `tcp_keepalive_probes`), `TCP_USER_TIMEOUT`, `TCP_SYNCNT`,
//! `TCP_LINGER2` and `SO_LINGER` (zero time: close() sends a RST), `TCP_CONGESTION`
//! (`tcp_set_congestion`, ENOENT for an unknown name), `TCP_CORK` (and `MSG_MORE` through
//! [`Stack::tcp_send_more`]), `TCP_MAXSEG`, `TCP_WINDOW_CLAMP`, `TCP_QUICKACK`,
//! `TCP_DEFER_ACCEPT`, `SO_OOBINLINE`, with Linux's ranges and errnos, and a getter for
//! each returning what Linux's getsockopt returns (`sockopt`). They survive `connect` and a
//! listener's children inherit them.
//! - [`cong`]: the congestion-control hooks and NewReno; [`cubic`]: CUBIC with HyStart, the
//!   default (`tcp_congestion_control`, `TCP_CONGESTION`).
//! - `isn`: RFC 6528 initial sequence numbers and timestamp offsets.
//! - `syncookie`: SYN cookies when the SYN queue is full (`tcp_syncookies`), with window
//!   scale, SACK and ECN in the low bits of TSval when the SYN has timestamps.
//! - `info`: the `TCP_INFO` snapshot ([`TcpInfo`], [`Stack::tcp_info`]) and the
//!   per-socket counters it reports.
//! - `ecn`: RFC 3168 ECN (`tcp_ecn`: 2 accepts, 1 asks too): ECT(0) on new data, the CE
//!   echo with ECE until CWR, `tcp_enter_cwr` once per window (`CaState::Cwr`).
//! - `mtu`: ICMP fragmentation-needed (RFC 1191): the PMTU learned for the destination
//!   (`ipv4::pmtu`, 600 s), the MSS lowered, the too-large segments resent at once.
//! - `urg`: urgent data ([`Stack::tcp_send_oob`], [`Stack::tcp_recv_oob`], `SO_OOBINLINE`,
//!   `SIOCATMARK`), BSD pointer semantics as Linux (`tcp_stdurg` = 0).
//! - `timewait`: `tcp_max_tw_buckets` (TCPTimeWaitOverflow) and `tcp_tw_reuse` (TWRecycled).
//! - [`diag`]: the `sock_diag` dump behind `ss` (`inet_diag_dump_icsk`, `tcp_diag_get_info`):
//!   every listener and connection with its queues, timer and `TCP_INFO`.
//! - `paws`: RFC 7323 §5 PAWS (`tcp_paws_discard`, TS.Recent with its stamp, PAWSActive
//!   in SYN-SENT, TIME-WAIT keeps TS.Recent).
//!
//! # Sockets and lookups
//! Sockets live in a slab and are found by hash, never by a scan: connections (every state
//! with a peer, TIME-WAIT included) by their 4-tuple, listeners by (local address, port)
//! and then (any, port) as `__inet_lookup_listener` does, and port owners by port for bind
//! conflicts. A SYN to a listener makes a small child socket in SYN-RECEIVED (the role of
//! Linux's request sock) in the listener's SYN queue; the ACK that completes the handshake
//! moves it to the accept queue. Both are bounded by the backlog as in Linux
//! (`inet_csk_reqsk_queue_is_full`, `sk_acceptq_is_full`).
//!
//! Buffers are allocated when first used: an idle or never-used connection holds no send or
//! receive buffer, and a drained ring that had grown large is given back. The send buffer
//! is a byte ring of at most `sndbuf` bytes: `tcp_wmem[1]` = 16384 until the connection is
//! established, then sized for two congestion windows and grown with the window
//! (`tcp_sndbuf_expand`) up to `tcp_wmem[2]`. The receive side is a byte ring plus a
//! bounded out-of-order queue within `rcvbuf` (`tcp_rmem[1]`, grown by autotuning with the
//! rate the application reads at, up to `tcp_rmem[2]`); the advertised window is derived
//! from the free space. `SO_SNDBUF` / `SO_RCVBUF` fix the sizes. Both rings count payload
//! bytes against Linux's truesize-based sizes (see `buf`).
//!
//! # Events
//! `Event::Connected(h)` when a non-blocking connect completes, `Event::Acceptable(h)` when a
//! listener has a connection to accept, `Event::Readable(h)` when data or the peer's FIN
//! arrives, `Event::Writable(h)` when send space frees up after a send met a full buffer,
//! `Event::Error(h)` when a pending error (`SO_ERROR`) is set, `Event::Urgent(h)` when a new
//! urgent pointer arrives (SIGURG). Sockets not yet accepted and sockets the application
//! closed report nothing.
//!
//! # Transparent listeners
//! `Stack::tcp_listen_transparent` (Linux: `IP_TRANSPARENT` + an nftables `tproxy` rule):
//! after the connection and listener lookups, a SYN that matched nothing and arrived on the
//! listener's device goes to it (one hook in `tcp_v4_do_rcv`); see the `socket` module doc.
//!
//! # Not in this landing (issue 4, what remains)
//! - Loss recovery, the parts left out: CWR (an ECN echo) and a TLP-repaired loss cut
//!   cwnd at once instead of by PRR; `tcp_recovery` only has its RACK
//!   bit (no `TCP_RACK_STATIC_REO_WND` / `TCP_RACK_NO_DUPTHRESH`), and without RACK the
//!   dupthresh fallback marks only the head lost (no `tcp_mark_head_lost` walk); no
//!   `tcp_retries1` / dst negative advice, no `TCPRetransFail`, no delivery-rate sampling
//!   beyond what RACK needs.
//! - Other congestion-control algorithms (BBR, DCTCP, ...), `tcp_available_congestion_control`
//!   and `tcp_allowed_congestion_control`; CUBIC (default, with HyStart) and NewReno are
//!   behind the `cong::CongestionOps` trait. No pacing.
//! - ECN: the CWR reduction is immediate (Linux: PRR over a round trip); no AccECN
//!   (`tcp_ecn` 3/4), no `DCTCP`-style per-CE reaction.
//! - In `TCP_INFO` (`info`): no delivery rate (`unacked`, `sacked`, `lost`, `retrans`
//!   and `reordering` come from the scoreboard).
//! - PAWS: no `TSEcrRejected` check of the echoed timestamp.
//! - Packetization-layer PMTU discovery (RFC 4821, `tcp_mtu_probing`) and the MSS from a
//!   route metric (`advmss`); the MSS comes from the route's MTU (after a learned PMTU).
//! - Memory pressure (`tcp_mem`, `tcp_under_memory_pressure`, queue pruning and collapsing):
//!   buffers grow without a host-wide budget. RFC 7661's non-validated phase and Linux's
//!   `tcp_cwnd_application_limited` (the window shrinking while the application leaves it
//!   unused) are not done; only the restart after idle is.
//! - TIME-WAIT: FIN-WAIT-2 orphans are full sockets, not timewait minisocks, so they do
//!   not count against `tcp_max_tw_buckets`; no `tcp_tw_reuse` on a port shared with
//!   live connections (see `timewait`).
//!
//! Evidence outside this module: kernel interop over TAP in `crates/linnet/tests/kernel.rs`,
//! the TCP throughput benchmark in docs/PERFORMANCE.md, the simulated loss x buffer goodput
//! table in `crates/linnet-testkit/tests/snapshots/tcp_throughput.txt`; TCP in `linnet nc`,
//! `linnet sim` and `linnet ss`; `SO_LINGER`'s blocking wait in close() in the runtime's
//! `TcpStream` (`crates/linnet/src/tcp.rs`).

use alloc::boxed::Box;
use alloc::collections::VecDeque;
use alloc::vec::Vec;
use core::net::{Ipv4Addr, SocketAddrV4};

use linnet_wire::tcp::SeqNumber;
use rand_core::RngCore;

use crate::dev::IfIndex;
use crate::errno::Errno;
use crate::hash::{map_with_seed, HashMap};
use crate::route::RouteKind;
use crate::stack::{Event, Stack};
use crate::time::{Duration, Instant};
use crate::timer::Timers;
use crate::udp::SocketHandle;
use ecn::INET_ECN_MASK;

mod buf;
pub mod cong;
pub mod cubic;
pub mod diag;
mod ecn;
mod gro;
mod info;
mod input;
mod isn;
mod mtu;
mod output;
mod paws;
mod rack;
mod recovery;
mod sack;
mod sockopt;
pub mod state;
mod syncookie;
mod timer;
mod timewait;
pub(crate) mod urg;

pub use info::{
    TcpInfo, TCPI_OPT_ECN, TCPI_OPT_ECN_SEEN, TCPI_OPT_SACK, TCPI_OPT_TIMESTAMPS, TCPI_OPT_WSCALE,
};
pub use sockopt::Linger;
pub use state::TcpState;

use cong::{Congestion, Window};
use isn::IsnKeys;
use timer::{AckState, RttEstimator};

/// Bit that marks a [`SocketHandle`] as a TCP socket (UDP handles never have it).
const TCP_HANDLE_TAG: u32 = 0x8000_0000;

/// `RCV_SHUTDOWN`.
pub(crate) const RCV_SHUTDOWN: u8 = 1;
/// `SEND_SHUTDOWN`.
pub(crate) const SEND_SHUTDOWN: u8 = 2;

/// Largest out-of-order blocks kept per connection; past it new out-of-order segments are
/// dropped (`TCPOFODrop`). Deviation from Linux, which bounds the queue by memory only.
pub(crate) const MAX_OFO_BLOCKS: usize = 256;

/// Which halves `shutdown` closes (`SHUT_RD`, `SHUT_WR`, `SHUT_RDWR`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Shutdown {
    /// `SHUT_RD`.
    Read,
    /// `SHUT_WR`: queue a FIN after the data.
    Write,
    /// `SHUT_RDWR`.
    Both,
}

/// Congestion-avoidance state (Linux `icsk_ca_state`, `TCP_CA_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum CaState {
    /// `TCP_CA_Open`: nothing suspicious.
    Open,
    /// `TCP_CA_Disorder`: duplicate ACKs seen, fewer than the threshold.
    Disorder,
    /// `TCP_CA_CWR`: the window was reduced for an ECN congestion echo (`tcp_enter_cwr`).
    Cwr,
    /// `TCP_CA_Recovery`: fast retransmit / fast recovery (RFC 6582).
    Recovery,
    /// `TCP_CA_Loss`: after an RTO, retransmitting everything outstanding.
    Loss,
}

/// Which of a socket's timers (Linux: `icsk_retransmit_timer` with its `icsk_pending`
/// kinds, `icsk_delack_timer`, `sk_timer` / the TIME-WAIT timer).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(usize)]
pub(crate) enum TimerKind {
    /// Retransmission (RTO, SYN and SYN-ACK retransmissions) or zero-window probe.
    Rtx = 0,
    /// Delayed ACK.
    DelAck = 1,
    /// FIN-WAIT-2 timeout (orphans) or the end of TIME-WAIT.
    Wait = 2,
    /// Keepalive (Linux runs it on `sk_timer`, shared with the FIN-WAIT-2 timeout).
    Keepalive = 3,
}

/// How many timers a socket has ([`TimerKind`]).
pub(crate) const NTIMERS: usize = 4;

/// Largest `TCP_KEEPIDLE` / `TCP_KEEPINTVL` (`MAX_TCP_KEEPIDLE`, `MAX_TCP_KEEPINTVL`).
const MAX_TCP_KEEPIDLE: u32 = 32_767;
/// Largest `TCP_KEEPCNT` (`MAX_TCP_KEEPCNT`).
const MAX_TCP_KEEPCNT: u32 = 127;
/// Largest `TCP_SYNCNT` (`MAX_TCP_SYNCNT`).
const MAX_TCP_SYNCNT: u32 = 127;
/// `TCP_FIN_TIMEOUT_MAX`: the cap on `TCP_LINGER2`, seconds.
const TCP_FIN_TIMEOUT_MAX: i32 = 120;

/// The socket options a socket keeps across `connect` and passes to the children of a
/// listener (`sock_copy` / `inet_csk_clone_lock` copy them in Linux).
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct SockOpts {
    /// `SO_KEEPALIVE` (`SOCK_KEEPOPEN`).
    pub(crate) keepalive: bool,
    /// `TCP_KEEPIDLE`, seconds; 0 means `tcp_keepalive_time`.
    pub(crate) keepidle: u32,
    /// `TCP_KEEPINTVL`, seconds; 0 means `tcp_keepalive_intvl`.
    pub(crate) keepintvl: u32,
    /// `TCP_KEEPCNT`; 0 means `tcp_keepalive_probes`.
    pub(crate) keepcnt: u32,
    /// `TCP_USER_TIMEOUT`, milliseconds; 0 means off.
    pub(crate) user_timeout: u32,
    /// `TCP_SYNCNT` (`icsk_syn_retries`); 0 means `tcp_syn_retries` (on a listener:
    /// `tcp_synack_retries`).
    pub(crate) syncnt: u8,
    /// `TCP_LINGER2` (`tp->linger2`) in seconds: 0 means `tcp_fin_timeout`, negative means
    /// no FIN-WAIT-2 wait at all (an orphan reaching FIN-WAIT-2 is reset).
    pub(crate) linger2: i32,
    /// `SO_LINGER`: `Some(seconds)` when on (`SOCK_LINGER`, `sk_lingertime`).
    pub(crate) linger: Option<u32>,
    /// `TCP_CONGESTION`: the algorithm chosen for this socket; none means the sysctl.
    pub(crate) congestion: Option<&'static str>,
    /// `TCP_MAXSEG` (`rx_opt.user_mss`); 0 means not set.
    pub(crate) user_mss: u16,
    /// `TCP_WINDOW_CLAMP` as set by the user; 0 means not set.
    pub(crate) window_clamp: u32,
    /// `TCP_DEFER_ACCEPT` as SYN-ACK retransmissions (`rskq_defer_accept`); 0 means off.
    pub(crate) defer_accept: u8,
}

/// What the retransmission timer is armed for (`ICSK_TIME_RETRANS` / `ICSK_TIME_PROBE0`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum RtxKind {
    /// Retransmission timeout.
    Retrans,
    /// Zero-window probe (persist timer).
    Probe,
    /// Tail loss probe (`ICSK_TIME_LOSS_PROBE`, RFC 8985 TLP).
    LossProbe,
    /// RACK reordering timer (`ICSK_TIME_REO_TIMEOUT`).
    ReoTimeout,
}

/// A listener's queues (the `icsk_accept_queue` of a listening socket).
#[derive(Debug, Default)]
pub(crate) struct ListenQueue {
    /// `sk_max_ack_backlog`: `min(backlog, somaxconn)`.
    pub(crate) max_backlog: u32,
    /// Children in SYN-RECEIVED (the request socks; `inet_csk_reqsk_queue_len`).
    pub(crate) syn_queue: Vec<u32>,
    /// Established children waiting for `accept` (`sk_ack_backlog` is its length).
    pub(crate) accept_queue: VecDeque<u32>,
    /// When the listener last sent a SYN cookie (`tcp_synq_overflow`).
    pub(crate) last_overflow: Option<Instant>,
}

/// Who asks for a port, for the conflict rules of `inet_bind_conflict`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Binder {
    /// The asking socket's slot (never in conflict with itself).
    idx: u32,
    addr: Ipv4Addr,
    reuse: bool,
    reuseport: bool,
    dev: u32,
}

impl Binder {
    fn of(sk: &TcpSock, addr: Ipv4Addr) -> Binder {
        Binder {
            idx: sk.id.0,
            addr,
            reuse: sk.reuseaddr,
            reuseport: sk.reuseport,
            dev: sk.bound_dev_if,
        }
    }
}

/// Key of the connection hash: local and remote address and port.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) struct FourTuple {
    pub(crate) laddr: Ipv4Addr,
    pub(crate) lport: u16,
    pub(crate) raddr: Ipv4Addr,
    pub(crate) rport: u16,
}

/// One TCP socket (Linux: `struct tcp_sock` with its `inet_connection_sock` and `sock`).
/// The IP-level options of a TCP socket, kept across a fresh connect and copied into
/// children.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct IpSockOpts {
    /// `sk_mark` (`SO_MARK`): every segment's `skb->mark`. Children take the listener's
    /// (`ir_mark` with `tcp_fwmark_accept` off).
    pub(crate) mark: u32,
    /// `sk_priority` (`SO_PRIORITY`, or implied by `IP_TOS`): every segment's
    /// `skb->priority`.
    pub(crate) priority: u32,
    /// `inet->uc_ttl` (`IP_TTL`): none is the route's (`ip_default_ttl`).
    pub(crate) ttl: Option<u8>,
    /// `inet->tos` without its ECN bits (`IP_TOS`): the TOS byte of every segment, whose
    /// ECN field TCP sets per segment (`INET_ECN_xmit` / `INET_ECN_dontxmit`).
    pub(crate) tos: u8,
    /// The ECN bits TCP last put in `inet->tos` (what `getsockopt(IP_TOS)` shows with
    /// `tos`).
    pub(crate) ecn_tos: u8,
    /// `inet->min_ttl` (`IP_MINTTL`): segments with a lower TTL are dropped.
    pub(crate) min_ttl: u8,
    /// `IP_RECVERR` (`inet->recverr`): an ICMP error about an established connection is
    /// a hard error (`sk_err`, reported at once) instead of the soft one kept for a
    /// timeout (`tcp_v4_err`).
    pub(crate) recverr: bool,
    /// `inet->cmsg_flags` for `IP_PKTINFO`, `IP_RECVTTL`, `IP_RECVTOS` and
    /// `IP_RECVORIGDSTADDR` (the `IP_CMSG_*` bits of `socket::cmsg`): accepted and
    /// reported as Linux does on a stream socket, inherited by children (`sk_clone_lock`
    /// copies the flags), and without effect: TCP's `recvmsg` gives no IP control messages.
    pub(crate) cmsg_flags: u8,
}

#[derive(Debug)]
pub(crate) struct TcpSock {
    /// Slot index and generation (the handle without its tag).
    pub(crate) id: (u32, u32),
    pub(crate) state: TcpState,
    pub(crate) local: SocketAddrV4,
    pub(crate) remote: SocketAddrV4,
    /// Owns an entry in the port table.
    pub(crate) bound: bool,
    /// The port came from bind() (`SOCK_BINDPORT_LOCK`): it stays when the connection
    /// closes; otherwise CLOSE gives it back.
    pub(crate) user_bound: bool,
    /// In the connection hash.
    pub(crate) ehashed: bool,
    /// In the listener hash.
    pub(crate) lhashed: bool,
    /// The device whose accept-any (TPROXY) listener this is.
    pub(crate) tproxy_dev: Option<crate::dev::IfIndex>,
    /// Closed by the application (`SOCK_DEAD`): its handle is gone, it reports nothing.
    pub(crate) orphan: bool,
    /// To be freed once the current operation ends.
    pub(crate) dead: bool,
    /// `SO_REUSEADDR`.
    pub(crate) reuseaddr: bool,
    /// `SO_REUSEPORT` (`sk_reuseport`).
    pub(crate) reuseport: bool,
    /// The reuseport group a listener joined at listen() (`sk_reuseport_cb`).
    pub(crate) reuseport_group: Option<u32>,
    /// `sk_bound_dev_if` (`SO_BINDTODEVICE`), 0 for none: the socket only matches segments
    /// arriving on that device, and routes through it. Children inherit it.
    pub(crate) bound_dev_if: u32,
    /// `IP_TRANSPARENT` (`inet->transparent`): may bind a non-local address and connect
    /// from it. Children inherit it.
    pub(crate) transparent: bool,
    /// The socket's IP-level options (`SO_MARK`, `SO_PRIORITY`, `IP_TTL`, `IP_TOS`,
    /// `IP_MINTTL`): children inherit them but the priority, which is the listener's for
    /// the SYN-ACKs and 0 once the handshake completes (`sk_clone_lock`).
    pub(crate) ip: IpSockOpts,
    /// `TCP_NODELAY`.
    pub(crate) nodelay: bool,
    /// `TCP_CORK` (`TCP_NAGLE_CORK` in `nonagle`).
    pub(crate) cork: bool,
    /// The current push comes from a `MSG_MORE` send (set for that call only).
    pub(crate) msg_more: bool,
    /// The current send is `MSG_OOB` (set for that call only).
    pub(crate) msg_oob: bool,
    /// `SO_OOBINLINE` (`SOCK_URGINLINE`).
    pub(crate) oobinline: bool,
    /// `ecn_flags`: `TCP_ECN_OK`, `TCP_ECN_QUEUE_CWR`, `TCP_ECN_DEMAND_CWR`, `TCP_ECN_SEEN`.
    pub(crate) ecn_flags: u8,
    /// `snd_up`: just past the last urgent byte sent; none before any `MSG_OOB` send.
    pub(crate) snd_up: Option<SeqNumber>,
    /// `urg_data`: the urgent byte received and its state.
    pub(crate) urg_data: urg::UrgData,
    /// `urg_seq`: the sequence number of the urgent byte received.
    pub(crate) urg_seq: SeqNumber,
    /// `sk_shutdown`: `RCV_SHUTDOWN | SEND_SHUTDOWN`.
    pub(crate) shutdown: u8,
    /// `SOCK_DONE`: the peer's FIN was received.
    pub(crate) done: bool,
    /// `sk_err`.
    pub(crate) err: Option<Errno>,
    /// `sk_err_soft`.
    pub(crate) err_soft: Option<Errno>,
    /// The queues of a listener.
    pub(crate) listen: Option<Box<ListenQueue>>,
    /// The listener `(idx, gen)` of a passively opened child until it is accepted.
    pub(crate) parent: Option<(u32, u32)>,
    /// Established and waiting in the listener's accept queue.
    pub(crate) accept_pending: bool,

    // ---- send sequence space (RFC 9293 §3.3.1) ----
    pub(crate) iss: SeqNumber,
    pub(crate) snd_una: SeqNumber,
    pub(crate) snd_nxt: SeqNumber,
    /// Peer's window, bytes (already scaled).
    pub(crate) snd_wnd: u32,
    pub(crate) snd_wl1: SeqNumber,
    pub(crate) snd_wl2: SeqNumber,
    /// Largest window the peer offered (`max_window`).
    pub(crate) max_window: u32,
    /// Peer's window scale (`snd_wscale`).
    pub(crate) snd_wscale: u8,
    /// End of the last small segment sent (`snd_sml`, Minshall's Nagle).
    pub(crate) snd_sml: SeqNumber,
    /// Bytes not yet acknowledged or not yet sent; `sbuf[0]` has sequence `sbuf_seq`.
    pub(crate) sbuf: VecDeque<u8>,
    pub(crate) sbuf_seq: SeqNumber,
    /// `sk_sndbuf`, bytes of payload.
    pub(crate) sndbuf: usize,
    /// A FIN follows the data in `sbuf` (shutdown or close).
    pub(crate) fin_queued: bool,
    /// A send met a full buffer: report `Writable` when space frees up.
    pub(crate) write_blocked: bool,
    /// Sender MSS without options (`mss_cache` before option space is taken off).
    pub(crate) mss_clamp: u32,
    /// Payload bytes per full segment (`mss_cache`: MSS less the timestamp option).
    pub(crate) mss: u32,
    /// MSS we advertise (`advmss`).
    pub(crate) advmss: u32,

    // ---- receive sequence space ----
    pub(crate) irs: SeqNumber,
    pub(crate) rcv_nxt: SeqNumber,
    /// Last advertised window, bytes (`rcv_wnd`).
    pub(crate) rcv_wnd: u32,
    /// `rcv_nxt` when the window was last advertised (`rcv_wup`).
    pub(crate) rcv_wup: SeqNumber,
    /// Our window scale (`rcv_wscale`).
    pub(crate) rcv_wscale: u8,
    /// Largest window we will advertise (`window_clamp`).
    pub(crate) window_clamp: u32,
    /// Current cap on the advertised window, grown as data arrives (`rcv_ssthresh`).
    pub(crate) rcv_ssthresh: u32,
    /// `sk_rcvbuf`.
    pub(crate) rcvbuf: usize,
    /// SO_RCVBUF was set (`SOCK_RCVBUF_LOCK`): the window scale fits this buffer rather
    /// than `tcp_rmem[2]`.
    pub(crate) rcvbuf_locked: bool,
    /// In-order bytes not yet read.
    pub(crate) rbuf: VecDeque<u8>,
    /// Out-of-order data: sorted, disjoint, non-adjacent `(start, bytes)` blocks.
    pub(crate) ooo: Vec<(SeqNumber, Vec<u8>)>,
    pub(crate) ooo_bytes: usize,
    /// Sequence number of a FIN that arrived out of order.
    pub(crate) ooo_fin: Option<SeqNumber>,
    /// SACK blocks to report, most recent first (`selective_acks`).
    pub(crate) sacks: [Option<(SeqNumber, SeqNumber)>; 4],

    // ---- options ----
    pub(crate) ts_ok: bool,
    pub(crate) ts_recent: u32,
    /// When `ts_recent` was stored (`ts_recent_stamp`); none before the first timestamp.
    pub(crate) ts_recent_stamp: Option<Instant>,
    pub(crate) ts_offset: u32,
    /// The TSval clock reading of a SYN-cookie SYN-ACK, options in its low bits
    /// (`cookie_init_timestamp`); used instead of the clock for that one segment.
    pub(crate) cookie_tsval: Option<u32>,
    pub(crate) sack_ok: bool,
    pub(crate) wscale_ok: bool,

    // ---- timers ----
    pub(crate) rtt: RttEstimator,
    /// Exponential backoff count (`icsk_backoff`).
    pub(crate) backoff: u32,
    /// Retransmissions of the current head (`icsk_retransmits`).
    pub(crate) retransmits: u32,
    /// Time of the first transmission of what is being retransmitted (`retrans_stamp`).
    pub(crate) retrans_stamp: Option<Instant>,
    pub(crate) deadlines: [Option<Instant>; NTIMERS],
    pub(crate) rtx_kind: RtxKind,
    /// Deadline of this socket's entry in the stack's timer set, if any.
    pub(crate) armed: Option<Instant>,
    pub(crate) ack: AckState,
    /// The receive batch's held ACK decision (`gro`).
    pub(crate) gro: gro::GroState,
    /// Last time a segment with data was sent (`lsndtime`).
    pub(crate) lsndtime: Instant,
    /// Last out-of-window ACK or challenge ACK sent (`last_oow_ack_time`).
    pub(crate) last_oow_ack: Option<Instant>,
    /// One segment being timed for RTT: `(end sequence, send time)`.
    pub(crate) rtt_sample: Option<(SeqNumber, Instant)>,
    /// Last time an acceptable ACK arrived (`rcv_tstamp`).
    pub(crate) rcv_tstamp: Instant,
    /// Keepalive or zero-window probes sent without an answer (`icsk_probes_out`).
    pub(crate) probes_out: u32,
    /// When the first zero-window probe of this episode went out (`icsk_probes_tstamp`).
    pub(crate) probes_tstamp: Option<Instant>,
    /// Socket options (keepalive, user timeout, SYN count, lingering).
    pub(crate) opts: SockOpts,

    // ---- congestion control ----
    pub(crate) ca_state: CaState,
    pub(crate) cc: Congestion,
    pub(crate) win: Window,
    /// `high_seq`: snd_nxt when recovery or loss started (RFC 6582 "recover").
    pub(crate) high_seq: SeqNumber,
    /// The scoreboard: the retransmission queue with its SACK / lost / retransmitted
    /// marks and the loss-recovery, RACK-TLP and undo state (`sack.rs`).
    pub(crate) sb: sack::Scoreboard,
    /// Largest flight in the current round (`max_packets_out`).
    pub(crate) max_flight: u32,
    /// End of the current round for `max_flight` (`cwnd_usage_seq`).
    pub(crate) cwnd_usage_seq: SeqNumber,
    /// The window limited sending in this round (`is_cwnd_limited`).
    pub(crate) is_cwnd_limited: bool,

    /// IP ID counter for this connection (`inet_id`).
    pub(crate) inet_id: u16,
    /// Path MTU toward the peer when the connection was set up.
    pub(crate) pmtu: u32,
    /// When the connection entered TIME-WAIT (`tw_entry_stamp`).
    pub(crate) tw_entry_stamp: Instant,
    /// Per-connection counters for `TCP_INFO`.
    pub(crate) counters: info::TcpCounters,
    /// A child whose handshake-completing ACK was dropped (`inet_rsk(req)->acked`): the
    /// accept queue was full, or `TCP_DEFER_ACCEPT` waits for data. It waits for the peer's
    /// next segment; with `TCP_DEFER_ACCEPT` its SYN-ACK is not resent meanwhile.
    pub(crate) req_acked: bool,
    /// Buffer sizing: the SO_SNDBUF lock, the receiver RTT and receive-space measurements.
    pub(crate) buf: buf::BufState,
}

impl TcpSock {
    fn new(id: (u32, u32), cfg: &crate::config::StackConfig) -> TcpSock {
        let z = SeqNumber(0);
        TcpSock {
            id,
            state: TcpState::Close,
            local: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            remote: SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, 0),
            bound: false,
            user_bound: false,
            ehashed: false,
            lhashed: false,
            tproxy_dev: None,
            orphan: false,
            dead: false,
            reuseaddr: false,
            reuseport: false,
            reuseport_group: None,
            bound_dev_if: 0,
            transparent: false,
            ip: IpSockOpts::default(),
            nodelay: false,
            cork: false,
            msg_more: false,
            msg_oob: false,
            oobinline: false,
            snd_up: None,
            ecn_flags: 0,
            urg_data: urg::UrgData::None,
            urg_seq: z,
            shutdown: 0,
            done: false,
            err: None,
            err_soft: None,
            listen: None,
            parent: None,
            accept_pending: false,
            iss: z,
            snd_una: z,
            snd_nxt: z,
            snd_wnd: 0,
            snd_wl1: z,
            snd_wl2: z,
            max_window: 0,
            snd_wscale: 0,
            snd_sml: z,
            sbuf: VecDeque::new(),
            sbuf_seq: z,
            sndbuf: cfg.tcp_wmem.1,
            fin_queued: false,
            write_blocked: false,
            mss_clamp: 536,
            mss: 536,
            advmss: 536,
            irs: z,
            rcv_nxt: z,
            rcv_wnd: 0,
            rcv_wup: z,
            rcv_wscale: 0,
            window_clamp: 0,
            rcv_ssthresh: 0,
            rcvbuf: cfg.tcp_rmem.1,
            rcvbuf_locked: false,
            rbuf: VecDeque::new(),
            ooo: Vec::new(),
            ooo_bytes: 0,
            ooo_fin: None,
            sacks: [None; 4],
            ts_ok: false,
            ts_recent: 0,
            ts_recent_stamp: None,
            ts_offset: 0,
            cookie_tsval: None,
            sack_ok: false,
            wscale_ok: false,
            rtt: RttEstimator::new(cfg),
            backoff: 0,
            retransmits: 0,
            retrans_stamp: None,
            deadlines: [None; NTIMERS],
            rtx_kind: RtxKind::Retrans,
            armed: None,
            ack: AckState::default(),
            gro: gro::GroState::default(),
            lsndtime: Instant::ZERO,
            last_oow_ack: None,
            rtt_sample: None,
            rcv_tstamp: Instant::ZERO,
            probes_out: 0,
            probes_tstamp: None,
            opts: SockOpts::default(),
            ca_state: CaState::Open,
            cc: Congestion::from_name(cfg.tcp_congestion_control).unwrap_or_default(),
            win: Window::initial(536),
            high_seq: z,
            sb: sack::Scoreboard::default(),
            max_flight: 0,
            cwnd_usage_seq: z,
            is_cwnd_limited: false,
            inet_id: 0,
            pmtu: 576,
            req_acked: false,
            tw_entry_stamp: Instant::ZERO,
            counters: info::TcpCounters::default(),
            buf: buf::BufState::default(),
        }
    }

    /// The application's handle for this socket.
    pub(crate) fn handle(&self) -> SocketHandle {
        SocketHandle::from_parts(self.id.0 | TCP_HANDLE_TAG, self.id.1)
    }

    /// The connection-hash key.
    pub(crate) fn tuple(&self) -> FourTuple {
        FourTuple {
            laddr: *self.local.ip(),
            lport: self.local.port(),
            raddr: *self.remote.ip(),
            rport: self.remote.port(),
        }
    }

    /// Whether the application should hear about this socket.
    pub(crate) fn reports(&self) -> bool {
        !self.orphan && self.parent.is_none() && !self.accept_pending
    }

    /// `tcp_receive_window`: what is left of the window last advertised.
    pub(crate) fn receive_window(&self) -> u32 {
        let w = (self.rcv_wup + self.rcv_wnd as usize).diff(self.rcv_nxt);
        w.max(0) as u32
    }

    /// Sequence number just past the last queued data byte (where the FIN goes).
    pub(crate) fn data_end(&self) -> SeqNumber {
        self.sbuf_seq + self.sbuf.len()
    }

    /// Bytes the application may still queue.
    pub(crate) fn send_space(&self) -> usize {
        self.sndbuf.saturating_sub(self.sbuf.len())
    }

    /// Bytes held on the receive side (in order and out of order).
    pub(crate) fn rmem(&self) -> usize {
        self.rbuf.len() + self.ooo_bytes
    }

    /// Our FIN has been sent (it is at `data_end` and `snd_nxt` is past it).
    pub(crate) fn fin_sent(&self) -> bool {
        self.fin_queued && self.snd_nxt.after(self.data_end())
    }

    /// Our FIN has been acknowledged.
    pub(crate) fn fin_acked(&self) -> bool {
        self.fin_queued && self.snd_una.after(self.data_end())
    }

    pub(crate) fn set_timer(&mut self, kind: TimerKind, at: Instant) {
        self.deadlines[kind as usize] = Some(at);
    }

    pub(crate) fn clear_timer(&mut self, kind: TimerKind) {
        self.deadlines[kind as usize] = None;
    }

    pub(crate) fn timer(&self, kind: TimerKind) -> Option<Instant> {
        self.deadlines[kind as usize]
    }

    /// `tp->retrans_stamp = 0`: no retransmission episode under way.
    pub(crate) fn clear_retrans_stamp(&mut self) {
        self.retrans_stamp = None;
        self.sb.first_rtx_stamp = None;
    }

    /// Releases the data buffers (after a reset, or on entering TIME-WAIT).
    pub(crate) fn free_buffers(&mut self, rx_too: bool) {
        self.sbuf = VecDeque::new();
        self.sbuf_seq = self.snd_una;
        if rx_too {
            self.rbuf = VecDeque::new();
        }
        self.ooo = Vec::new();
        self.ooo_bytes = 0;
        self.ooo_fin = None;
        self.sacks = [None; 4];
        self.sb.clear();
    }
}

#[derive(Debug)]
struct Slot {
    gen: u32,
    /// `None` when free, or while the socket is taken out for an operation.
    sock: Option<Box<TcpSock>>,
    live: bool,
}

/// The TCP socket table (Linux: `tcp_hashinfo` with its ehash, lhash2 and bhash).
#[derive(Debug)]
pub(crate) struct TcpTable {
    slots: Vec<Slot>,
    free: Vec<u32>,
    count: usize,
    pub(crate) ehash: HashMap<FourTuple, u32>,
    /// Listeners by (local address, port): several when they are bound to different
    /// devices or share the port with `SO_REUSEPORT`; newest first, as Linux adds at the
    /// head of the `lhash2` chain.
    pub(crate) lhash: HashMap<(Ipv4Addr, u16), Vec<u32>>,
    /// The listeners' `SO_REUSEPORT` groups.
    pub(crate) reuseport: crate::socket::reuseport::ReuseportGroups,
    /// Transparent accept-any listeners by device (at most one per device, so bounded by
    /// the device table): see [`Stack::tcp_listen_transparent`].
    pub(crate) tproxy: alloc::collections::BTreeMap<crate::dev::IfIndex, u32>,
    pub(crate) bhash: HashMap<u16, Vec<u32>>,
    pub(crate) timers: Timers<(u32, u32)>,
    pub(crate) keys: IsnKeys,
    /// Sockets in TIME-WAIT (`tcp_death_row.tw_refcount`).
    pub(crate) tw_count: usize,
    /// Host-wide challenge-ACK budget: `(second, count left)` (`tcp_challenge_timestamp`,
    /// `tcp_challenge_count`).
    pub(crate) challenge: (u64, u32),
    /// The receive batch and the connections whose ACK decision it holds (`gro`).
    pub(crate) gro: gro::GroBatch,
}

impl TcpTable {
    pub(crate) fn new(rng: &mut impl RngCore) -> TcpTable {
        let seed = rng.next_u64();
        let keys = IsnKeys::new(
            (rng.next_u64(), rng.next_u64()),
            (rng.next_u64(), rng.next_u64()),
        );
        TcpTable {
            slots: Vec::new(),
            free: Vec::new(),
            count: 0,
            ehash: map_with_seed(seed),
            lhash: map_with_seed(seed ^ 0x9e37_79b9_7f4a_7c15),
            reuseport: crate::socket::reuseport::ReuseportGroups::with_seed(seed),
            tproxy: alloc::collections::BTreeMap::new(),
            bhash: map_with_seed(seed ^ 0x6a09_e667_f3bc_c908),
            timers: Timers::default(),
            keys,
            tw_count: 0,
            challenge: (u64::MAX, 0),
            gro: gro::GroBatch::default(),
        }
    }

    /// The slot index of a live TCP handle.
    fn index(&self, h: SocketHandle) -> Result<u32, Errno> {
        let (idx, gen) = h.parts();
        if idx & TCP_HANDLE_TAG == 0 {
            return Err(Errno::EBADF);
        }
        let idx = idx & !TCP_HANDLE_TAG;
        match self.slots.get(idx as usize) {
            Some(s) if s.gen == gen && s.live => Ok(idx),
            _ => Err(Errno::EBADF),
        }
    }

    /// The socket behind an application handle (not an orphan).
    fn get(&self, h: SocketHandle) -> Result<&TcpSock, Errno> {
        let idx = self.index(h)?;
        match self.slots[idx as usize].sock.as_deref() {
            Some(s) if !s.orphan => Ok(s),
            _ => Err(Errno::EBADF),
        }
    }

    /// The socket in slot `idx` if its generation is `gen`.
    pub(crate) fn sock_mut(&mut self, idx: u32, gen: u32) -> Option<&mut TcpSock> {
        match self.slots.get_mut(idx as usize) {
            Some(s) if s.gen == gen => s.sock.as_deref_mut(),
            _ => None,
        }
    }

    /// The socket in slot `idx` (read only), whatever its generation.
    pub(crate) fn slot_sock(&self, idx: u32) -> Option<&TcpSock> {
        self.slots.get(idx as usize)?.sock.as_deref()
    }

    /// The socket in slot `idx`, whatever its generation.
    pub(crate) fn sock_at(&mut self, idx: u32) -> Option<&mut TcpSock> {
        self.slots.get_mut(idx as usize)?.sock.as_deref_mut()
    }

    /// Takes a socket out of its slot for an operation that needs the whole stack.
    pub(crate) fn take(&mut self, idx: u32) -> Option<Box<TcpSock>> {
        self.slots.get_mut(idx as usize)?.sock.take()
    }

    fn alloc(&mut self, cfg: &crate::config::StackConfig) -> Result<Box<TcpSock>, Errno> {
        let idx = match self.free.pop() {
            Some(i) => i,
            None => {
                self.slots.push(Slot {
                    gen: 0,
                    sock: None,
                    live: false,
                });
                (self.slots.len() - 1) as u32
            }
        };
        let slot = &mut self.slots[idx as usize];
        slot.live = true;
        self.count += 1;
        Ok(Box::new(TcpSock::new((idx, slot.gen), cfg)))
    }

    /// Whether a socket bound to `port` conflicts with a bind of `b.addr`
    /// (`inet_csk_bind_conflict` → `inet_bind_conflict`): another socket whose address
    /// overlaps and whose bound device is the same or either has none, unless both set
    /// SO_REUSEADDR and the other is not listening (with `relax`), or both set
    /// SO_REUSEPORT (with `reuseport_ok`). bind() and listen() ask with both on, an
    /// ephemeral port search with both off.
    ///
    /// Deviation from Linux: `SO_REUSEPORT` sharing needs the same effective uid there; a
    /// library has no uids.
    fn bind_conflict(&self, port: u16, b: &Binder, relax: bool, reuseport_ok: bool) -> bool {
        let Some(owners) = self.bhash.get(&port) else {
            return false;
        };
        owners.iter().any(|&i| {
            if i == b.idx {
                return false;
            }
            let Some(s) = self.slots[i as usize].sock.as_deref() else {
                return false;
            };
            let a = *s.local.ip();
            let overlap = a.is_unspecified() || b.addr.is_unspecified() || a == b.addr;
            let dev = b.dev == 0 || s.bound_dev_if == 0 || b.dev == s.bound_dev_if;
            if !overlap || !dev {
                return false;
            }
            let share = reuseport_ok && b.reuseport && s.reuseport;
            if b.reuse && s.reuseaddr && s.state != TcpState::Listen {
                !relax
            } else {
                !share
            }
        })
    }

    fn port_used(&self, port: u16) -> bool {
        self.bhash.get(&port).is_some_and(|v| !v.is_empty())
    }

    /// `__inet_lookup_listener`: the listener for `daddr:dport` arriving on device `dif`,
    /// exact address first, then the wildcard (`inet_lhash2_lookup` twice). In each, a
    /// listener bound to another device does not match and one bound to `dif` beats an
    /// unbound one (`compute_score`); the winner's `SO_REUSEPORT` group picks the member
    /// by the hash of the 4-tuple (`inet_lookup_reuseport`).
    pub(crate) fn lookup_listener(
        &self,
        (saddr, sport): (Ipv4Addr, u16),
        (daddr, dport): (Ipv4Addr, u16),
        dif: u32,
    ) -> Option<u32> {
        for addr in [daddr, Ipv4Addr::UNSPECIFIED] {
            let Some(list) = self.lhash.get(&(addr, dport)) else {
                continue;
            };
            let mut best: Option<(u32, u8)> = None;
            for &i in list.iter().rev() {
                let Some(s) = self.slots[i as usize].sock.as_deref() else {
                    continue;
                };
                if s.bound_dev_if != 0 && s.bound_dev_if != dif {
                    continue;
                }
                let score = if s.bound_dev_if != 0 { 2 } else { 1 };
                if best.is_none_or(|(_, b)| score > b) {
                    if let Some(g) = s.reuseport_group {
                        let hash = self.reuseport.flow_hash(saddr, sport, daddr, dport);
                        if let Some(m) = self.reuseport.select(g, hash, |_| true) {
                            return Some(m);
                        }
                    }
                    best = Some((i, score));
                }
            }
            if let Some((i, _)) = best {
                return Some(i);
            }
        }
        None
    }

    /// Sockets in the table (all states, orphans and children included).
    pub(crate) fn len(&self) -> usize {
        self.count
    }
}

impl Stack {
    // ---- table plumbing ------------------------------------------------------------

    /// Runs `f` on the socket behind `h` with the socket taken out of the table, then puts
    /// it back (or frees it if it died).
    fn tcp_with<R>(
        &mut self,
        h: SocketHandle,
        f: impl FnOnce(&mut Stack, &mut TcpSock) -> Result<R, Errno>,
    ) -> Result<R, Errno> {
        self.tcp.get(h)?;
        let idx = self.tcp.index(h)?;
        let Some(mut sk) = self.tcp.take(idx) else {
            return Err(Errno::EBADF);
        };
        let r = f(self, &mut sk);
        self.tcp_put(sk);
        r
    }

    /// Puts a socket back in its slot, arming its timer entry, or frees it if it is dead.
    pub(crate) fn tcp_put(&mut self, mut sk: Box<TcpSock>) {
        let (idx, _) = sk.id;
        cong::tcp_ca_refresh(&mut sk, self.now);
        if sk.dead {
            self.tcp_destroy(sk);
            return;
        }
        let next = sk.deadlines.iter().flatten().min().copied();
        match (sk.armed, next) {
            (Some(a), Some(n)) if a <= n => {}
            (Some(a), None) => {
                self.tcp.timers.cancel(a, sk.id);
                sk.armed = None;
            }
            (a, Some(n)) => {
                self.tcp.timers.arm(a, n, sk.id);
                sk.armed = Some(n);
            }
            (None, None) => {}
        }
        if let Some(slot) = self.tcp.slots.get_mut(idx as usize) {
            slot.sock = Some(sk);
        }
    }

    /// Gives back the socket's port.
    fn tcp_bhash_del(&mut self, sk: &mut TcpSock) {
        let port = sk.local.port();
        let idx = sk.id.0;
        if let Some(v) = self.tcp.bhash.get_mut(&port) {
            v.retain(|&i| i != idx);
            if v.is_empty() {
                self.tcp.bhash.remove(&port);
            }
        }
        sk.bound = false;
    }

    /// Frees a socket: out of every hash, its timer cancelled, its slot recycled.
    fn tcp_destroy(&mut self, mut sk: Box<TcpSock>) {
        let (idx, _) = sk.id;
        self.tcp_unhash(&sk);
        if sk.bound {
            self.tcp_bhash_del(&mut sk);
        }
        if let Some(a) = sk.armed {
            self.tcp.timers.cancel(a, sk.id);
        }
        if let Some(slot) = self.tcp.slots.get_mut(idx as usize) {
            slot.sock = None;
            slot.live = false;
            slot.gen = slot.gen.wrapping_add(1);
            self.tcp.free.push(idx);
            self.tcp.count -= 1;
        }
    }

    /// Removes a socket from the connection and listener hashes.
    pub(crate) fn tcp_unhash(&mut self, sk: &TcpSock) {
        if sk.ehashed {
            let t = sk.tuple();
            if self.tcp.ehash.get(&t) == Some(&sk.id.0) {
                self.tcp.ehash.remove(&t);
            }
        }
        if sk.lhashed {
            let k = (*sk.local.ip(), sk.local.port());
            if let Some(v) = self.tcp.lhash.get_mut(&k) {
                v.retain(|&i| i != sk.id.0);
                if v.is_empty() {
                    self.tcp.lhash.remove(&k);
                }
            }
            if let Some(g) = sk.reuseport_group {
                self.tcp.reuseport.detach(g, sk.id.0);
            }
        }
        if let Some(dev) = sk.tproxy_dev {
            if self.tcp.tproxy.get(&dev) == Some(&sk.id.0) {
                self.tcp.tproxy.remove(&dev);
            }
        }
    }

    /// Records that `sk` owns its local port.
    fn tcp_bhash_add(&mut self, sk: &mut TcpSock) {
        self.tcp
            .bhash
            .entry(sk.local.port())
            .or_default()
            .push(sk.id.0);
        sk.bound = true;
    }

    /// `inet_csk_find_open_port` for bind(0): a random start in `ip_local_port_range`, then
    /// the next port free of conflicts.
    fn tcp_ephemeral_port(&mut self, b: Binder) -> Result<u16, Errno> {
        let (lo, hi) = self.cfg.ip_local_port_range;
        let span = u32::from(hi.saturating_sub(lo)) + 1;
        let start = self.rand_u32() % span;
        for i in 0..span {
            let port = lo + ((start + i) % span) as u16;
            if !self.tcp.bind_conflict(port, &b, false, false) {
                return Ok(port);
            }
        }
        Err(Errno::EADDRINUSE)
    }

    /// `__inet_hash_connect`: an ephemeral port for `local -> remote` whose 4-tuple is
    /// free. Deviation from Linux: ports owned by bound or listening sockets are skipped
    /// altogether (Linux may share a port among connections to different peers).
    /// A port whose 4-tuple a recyclable TIME-WAIT socket holds is taken over
    /// (`tcp_tw_reuse`, see `timewait`).
    fn tcp_connect_port(
        &mut self,
        laddr: Ipv4Addr,
        remote: SocketAddrV4,
    ) -> Result<(u16, Option<timewait::TwRecycle>), Errno> {
        let (lo, hi) = self.cfg.ip_local_port_range;
        let span = u32::from(hi.saturating_sub(lo)) + 1;
        let start = self.rand_u32() % span;
        for i in 0..span {
            let port = lo + ((start + i) % span) as u16;
            let t = FourTuple {
                laddr,
                lport: port,
                raddr: *remote.ip(),
                rport: remote.port(),
            };
            if !self.tcp.port_used(port) && !self.tcp.ehash.contains_key(&t) {
                return Ok((port, None));
            }
            if let Some(r) = self.tcp_tw_recycle_port(laddr, port, remote) {
                return Ok((port, Some(r)));
            }
        }
        Err(Errno::EADDRNOTAVAIL)
    }

    /// Pushes an event for `sk` if the application can see it.
    pub(crate) fn tcp_event(&mut self, sk: &TcpSock, ev: fn(SocketHandle) -> Event) {
        if sk.reports() {
            self.push_event(ev(sk.handle()));
        }
    }

    /// `tcp_set_state`: the state change with its MIB accounting (CurrEstab, EstabResets).
    pub(crate) fn tcp_set_state(&mut self, sk: &mut TcpSock, new: TcpState) {
        let old = sk.state;
        if old == new {
            return;
        }
        let t = &mut self.stats.tcp;
        if new == TcpState::Close && old.counts_as_established() {
            t.estab_resets += 1;
        }
        match (old.counts_as_established(), new.counts_as_established()) {
            (false, true) => t.curr_estab += 1,
            (true, false) => t.curr_estab = t.curr_estab.saturating_sub(1),
            _ => {}
        }
        if old == TcpState::TimeWait {
            self.tcp.tw_count = self.tcp.tw_count.saturating_sub(1);
        }
        if new == TcpState::TimeWait {
            self.tcp.tw_count += 1;
        }
        sk.state = new;
        if new == TcpState::Close {
            // Out of the lookups; a port that bind() did not choose goes back
            // (`inet_put_port` unless SOCK_BINDPORT_LOCK).
            self.tcp_unhash(sk);
            sk.ehashed = false;
            sk.lhashed = false;
            sk.reuseport_group = None;
            if sk.bound && !sk.user_bound {
                self.tcp_bhash_del(sk);
            }
        }
    }

    /// `tcp_done`: the connection is over. An orphan is freed; a socket the application
    /// holds stays in CLOSE for it to read the error and close.
    pub(crate) fn tcp_done(&mut self, sk: &mut TcpSock) {
        if matches!(sk.state, TcpState::SynSent | TcpState::SynRecv) {
            self.stats.tcp.attempt_fails += 1;
        }
        self.tcp_set_state(sk, TcpState::Close);
        sk.shutdown = RCV_SHUTDOWN | SEND_SHUTDOWN;
        sk.deadlines = [None; NTIMERS];
        sk.free_buffers(false);
        // An orphan goes, and so does a child still in the SYN queue. A child waiting in the
        // accept queue stays there in CLOSE, as in Linux: accept() returns it and the
        // application reads the error.
        if sk.orphan || (sk.parent.is_some() && !sk.accept_pending) {
            self.tcp_unlink_child(sk);
            sk.dead = true;
        }
    }

    /// Removes a not-yet-accepted child from its listener's queues.
    pub(crate) fn tcp_unlink_child(&mut self, sk: &mut TcpSock) {
        let Some((pidx, pgen)) = sk.parent.take() else {
            return;
        };
        let me = sk.id.0;
        if let Some(l) = self
            .tcp
            .sock_mut(pidx, pgen)
            .and_then(|p| p.listen.as_deref_mut())
        {
            l.syn_queue.retain(|&i| i != me);
            l.accept_queue.retain(|&i| i != me);
        }
    }

    /// `tcp_reset`: a RST was accepted. The application sees ECONNREFUSED in SYN-SENT, EPIPE
    /// in CLOSE-WAIT and ECONNRESET otherwise.
    pub(crate) fn tcp_reset(&mut self, sk: &mut TcpSock) {
        let err = match sk.state {
            TcpState::SynSent => Errno::ECONNREFUSED,
            TcpState::CloseWait => Errno::EPIPE,
            TcpState::Close => return,
            _ => Errno::ECONNRESET,
        };
        sk.err = Some(err);
        self.tcp_done(sk);
        self.tcp_event(sk, Event::Error);
    }

    // ---- socket calls ---------------------------------------------------------------

    /// `socket(AF_INET, SOCK_STREAM, 0)`. EMFILE past `max_sockets`.
    pub fn tcp_socket(&mut self) -> Result<SocketHandle, Errno> {
        if self.tcp.len() >= self.cfg.max_sockets {
            return Err(Errno::EMFILE);
        }
        let sk = self.tcp.alloc(&self.cfg)?;
        let h = sk.handle();
        self.tcp_put(sk);
        Ok(h)
    }

    /// `bind`: EINVAL if already bound or not closed, EADDRNOTAVAIL for an address that is
    /// not ours, EADDRINUSE for a taken port. Port 0 picks an ephemeral port.
    pub fn tcp_bind(&mut self, h: SocketHandle, addr: SocketAddrV4) -> Result<(), Errno> {
        self.tcp_with(h, |st, sk| {
            if sk.bound || sk.state != TcpState::Close {
                return Err(Errno::EINVAL);
            }
            let ip = *addr.ip();
            let ok = ip.is_unspecified()
                || ip.is_loopback()
                || ip.is_multicast()
                || ip.is_broadcast()
                || st.fib.local(ip).is_some()
                || st.cfg.ip_nonlocal_bind
                || sk.transparent;
            if !ok {
                return Err(Errno::EADDRNOTAVAIL);
            }
            let port = if addr.port() == 0 {
                st.tcp_ephemeral_port(Binder::of(sk, ip))?
            } else if st
                .tcp
                .bind_conflict(addr.port(), &Binder::of(sk, ip), true, true)
            {
                return Err(Errno::EADDRINUSE);
            } else {
                addr.port()
            };
            sk.local = SocketAddrV4::new(ip, port);
            st.tcp_bhash_add(sk);
            sk.user_bound = true;
            Ok(())
        })
    }

    /// `SO_REUSEPORT`: listeners that all set it before listen() share the address and
    /// port; each SYN goes to one of them by the hash of its 4-tuple.
    pub fn tcp_set_reuseport(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.reuseport = on;
            Ok(())
        })
    }

    /// `SO_BINDTODEVICE` / `SO_BINDTOIFINDEX` (`sk_bound_dev_if`, 0 unbinds): the socket
    /// only matches segments arriving on that device and routes through it.
    pub fn tcp_set_bound_dev(&mut self, h: SocketHandle, ifindex: u32) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.bound_dev_if = ifindex;
            Ok(())
        })
    }

    /// `SO_MARK` / `SO_PRIORITY` (`sk_mark`, `sk_priority`): the mark and priority of every
    /// segment the socket sends from now on (the socket layer checks the privilege).
    pub fn tcp_set_mark_priority(
        &mut self,
        h: SocketHandle,
        mark: u32,
        priority: u32,
    ) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.ip.mark = mark;
            sk.ip.priority = priority;
            Ok(())
        })
    }

    /// `IP_TTL` (`inet->uc_ttl`; none: `ip_default_ttl`): the TTL of every segment the
    /// socket sends from now on.
    pub fn tcp_set_ttl(&mut self, h: SocketHandle, ttl: Option<u8>) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.ip.ttl = ttl;
            Ok(())
        })
    }

    /// `IP_TOS` on a stream socket (`__ip_sock_set_tos`): the TOS byte of every segment;
    /// its ECN bits are ignored, TCP keeps them. Returns the new `inet->tos` (with the ECN
    /// bits TCP set) and whether it changed (then `sk_priority` follows it).
    pub fn tcp_set_tos(&mut self, h: SocketHandle, tos: u8) -> Result<(u8, bool), Errno> {
        self.tcp_with(h, |_, sk| {
            let tos = tos & !INET_ECN_MASK;
            let changed = sk.ip.tos != tos;
            sk.ip.tos = tos;
            Ok((tos | sk.ip.ecn_tos, changed))
        })
    }

    /// `IP_TRANSPARENT` (`inet->transparent`; the socket layer checks the privilege): the
    /// socket may bind an address that is not ours and connect from it (the answers reach
    /// it when they arrive on a device in transparent mode, see
    /// [`Stack::tcp_listen_transparent`]).
    pub fn tcp_set_transparent(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.transparent = on;
            Ok(())
        })
    }

    /// `getsockopt(IP_TRANSPARENT)` on a TCP socket.
    pub fn tcp_transparent(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(self.tcp_sock_ref(h)?.transparent)
    }

    /// `IP_MINTTL` (`inet->min_ttl`): segments arriving with a lower TTL are dropped
    /// (TCPMinTTLDrop).
    pub fn tcp_set_min_ttl(&mut self, h: SocketHandle, min_ttl: u8) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.ip.min_ttl = min_ttl;
            Ok(())
        })
    }

    /// `IP_RECVERR` on a TCP socket (`inet->recverr`, children inherit it): ICMP errors
    /// about an established connection become hard errors (`sk_err`, POLLERR, reported by
    /// the next send or receive) as `tcp_v4_err` does; without it they are soft
    /// (`sk_err_soft`, reported only if the connection times out).
    pub fn tcp_set_recverr(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.ip.recverr = on;
            Ok(())
        })
    }

    /// `setsockopt(IP_PKTINFO | IP_RECVTTL | IP_RECVTOS | IP_RECVORIGDSTADDR)` on a TCP
    /// socket: the flag is kept (and inherited) but, as in Linux, TCP delivers no IP
    /// control messages.
    pub(crate) fn tcp_set_cmsg_flag(
        &mut self,
        h: SocketHandle,
        bit: u8,
        on: bool,
    ) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            if on {
                sk.ip.cmsg_flags |= bit;
            } else {
                sk.ip.cmsg_flags &= !bit;
            }
            Ok(())
        })
    }

    /// `getsockopt` of one of the flags [`Stack::tcp_set_cmsg_flag`] keeps.
    pub(crate) fn tcp_cmsg_flag(&self, h: SocketHandle, bit: u8) -> Result<bool, Errno> {
        Ok(self.tcp_sock_ref(h)?.ip.cmsg_flags & bit != 0)
    }

    /// `getsockopt(IP_RECVERR)` on a TCP socket.
    pub fn tcp_recverr(&self, h: SocketHandle) -> Result<bool, Errno> {
        Ok(self.tcp_sock_ref(h)?.ip.recverr)
    }

    /// `getsockopt(IP_TTL)` / `getsockopt(IP_TOS)` on a TCP socket: `uc_ttl` (none when
    /// unset) and `inet->tos` with the ECN bits TCP last set.
    pub fn tcp_ip_ttl_tos(&self, h: SocketHandle) -> Result<(Option<u8>, u8), Errno> {
        let sk = self.tcp_sock_ref(h)?;
        Ok((sk.ip.ttl, sk.ip.tos | sk.ip.ecn_tos))
    }

    /// `SO_REUSEADDR`: a port held by connections that are not listening (TIME-WAIT
    /// included) can be bound again.
    pub fn tcp_set_reuseaddr(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.reuseaddr = on;
            Ok(())
        })
    }

    /// `listen`: EINVAL unless closed or already listening; an unbound socket gets an
    /// ephemeral port. The backlog is capped at `somaxconn`.
    pub fn tcp_listen(&mut self, h: SocketHandle, backlog: u32) -> Result<(), Errno> {
        self.tcp_with(h, |st, sk| {
            let max = backlog.min(st.cfg.somaxconn);
            match sk.state {
                TcpState::Listen => {
                    if let Some(l) = sk.listen.as_deref_mut() {
                        l.max_backlog = max;
                    }
                    return Ok(());
                }
                TcpState::Close => {}
                _ => return Err(Errno::EINVAL),
            }
            if sk.done || sk.ehashed {
                return Err(Errno::EINVAL);
            }
            if !sk.bound {
                let port = st.tcp_ephemeral_port(Binder::of(sk, Ipv4Addr::UNSPECIFIED))?;
                sk.local = SocketAddrV4::new(Ipv4Addr::UNSPECIFIED, port);
                st.tcp_bhash_add(sk);
            } else {
                // inet_csk_listen_start re-checks the port as a listener would bind it.
                let b = Binder::of(sk, *sk.local.ip());
                if st.tcp.bind_conflict(sk.local.port(), &b, true, true) {
                    return Err(Errno::EADDRINUSE);
                }
            }
            let key = (*sk.local.ip(), sk.local.port());
            // inet_reuseport_add_sock: join the group of a listener on the same address,
            // port and device with SO_REUSEPORT, or start one.
            let mut group = None;
            if sk.reuseport {
                let peer = st.tcp.lhash.get(&key).and_then(|v| {
                    v.iter().rev().find_map(|&i| {
                        let o = st.tcp.slots[i as usize].sock.as_deref()?;
                        (o.reuseport && o.bound_dev_if == sk.bound_dev_if)
                            .then_some(o.reuseport_group)
                            .flatten()
                    })
                });
                group = Some(match peer {
                    Some(g) => {
                        if !st.tcp.reuseport.add(g, sk.id.0) {
                            return Err(Errno::EADDRINUSE);
                        }
                        g
                    }
                    None => st.tcp.reuseport.alloc(sk.id.0),
                });
            }
            sk.reuseport_group = group;
            sk.listen = Some(Box::new(ListenQueue {
                max_backlog: max,
                ..ListenQueue::default()
            }));
            st.tcp_set_state(sk, TcpState::Listen);
            st.tcp.lhash.entry(key).or_default().push(sk.id.0);
            sk.lhashed = true;
            Ok(())
        })
    }

    /// A transparent accept-any listener for device `dev` (Linux: a listener with
    /// `IP_TRANSPARENT` plus an nftables `tproxy` rule on that device steering TCP to it).
    /// `listen(backlog)` as [`Stack::tcp_listen`], and from then on every SYN arriving on
    /// `dev` that no connection or ordinary listener matches comes to this listener,
    /// whatever its destination address and port: the input route treats such TCP packets
    /// as local for `dev` only. Each child's local address ([`Stack::tcp_local_addr`],
    /// getsockname) is the SYN's original destination, and its segments leave from it.
    /// ENODEV for an unknown device, EADDRINUSE when `dev` already has one; the listener
    /// stops steering when it closes.
    pub fn tcp_listen_transparent(
        &mut self,
        h: SocketHandle,
        dev: IfIndex,
        backlog: u32,
    ) -> Result<(), Errno> {
        if self.device(dev).is_none() {
            return Err(Errno::ENODEV);
        }
        if self.tcp.tproxy.contains_key(&dev) {
            return Err(Errno::EADDRINUSE);
        }
        self.tcp_listen(h, backlog)?;
        self.tcp_with(h, |st, sk| {
            if let Some(old) = sk.tproxy_dev.take() {
                if st.tcp.tproxy.get(&old) == Some(&sk.id.0) {
                    st.tcp.tproxy.remove(&old);
                }
            }
            sk.tproxy_dev = Some(dev);
            st.tcp.tproxy.insert(dev, sk.id.0);
            Ok(())
        })
    }

    /// `accept4(.., SOCK_NONBLOCK)`: the next established connection and its peer. EINVAL
    /// on a socket that is not listening, EAGAIN when none is waiting.
    pub fn tcp_accept(&mut self, h: SocketHandle) -> Result<(SocketHandle, SocketAddrV4), Errno> {
        let idx = self.tcp.index(h)?;
        let s = self.tcp.get(h)?;
        if s.state != TcpState::Listen {
            return Err(Errno::EINVAL);
        }
        loop {
            let Some(child) = self
                .tcp
                .sock_at(idx)
                .and_then(|s| s.listen.as_deref_mut())
                .and_then(|l| l.accept_queue.pop_front())
            else {
                return Err(Errno::EAGAIN);
            };
            let Some(c) = self.tcp.sock_at(child) else {
                continue;
            };
            c.accept_pending = false;
            c.parent = None;
            let (ch, peer) = (c.handle(), c.remote);
            // Edge-triggered readiness: what arrived before accept is announced now.
            let readable = !c.rbuf.is_empty() || c.done;
            let error = c.err.is_some();
            if readable {
                self.push_event(Event::Readable(ch));
            }
            if error {
                self.push_event(Event::Error(ch));
            }
            return Ok((ch, peer));
        }
    }

    /// `connect` on a non-blocking socket: sends the SYN and returns EINPROGRESS; completion
    /// is `Event::Connected` (or `Event::Error`, then [`Stack::tcp_take_error`]). EISCONN
    /// when connected, EALREADY while connecting, ENETUNREACH without a route (or to a
    /// broadcast or multicast address), EADDRNOTAVAIL when no ephemeral port is left.
    pub fn tcp_connect(&mut self, h: SocketHandle, peer: SocketAddrV4) -> Result<(), Errno> {
        self.tcp_with(h, |st, sk| {
            match sk.state {
                TcpState::SynSent | TcpState::SynRecv => return Err(Errno::EALREADY),
                TcpState::Close => {}
                _ => return Err(Errno::EISCONN),
            }
            let saddr = (!sk.local.ip().is_unspecified()).then(|| *sk.local.ip());
            let dst = st.route_output_oif(*peer.ip(), saddr, sk.bound_dev_if)?;
            if matches!(dst.kind, RouteKind::Broadcast | RouteKind::Multicast) {
                return Err(Errno::ENETUNREACH);
            }
            let laddr = saddr.unwrap_or(dst.src);
            let mut recycled = None;
            let port = if sk.bound {
                let t = FourTuple {
                    laddr,
                    lport: sk.local.port(),
                    raddr: *peer.ip(),
                    rport: peer.port(),
                };
                if st.tcp.ehash.contains_key(&t) {
                    // __inet_check_established: a TIME-WAIT occupant may give way.
                    recycled = Some(st.tcp_tw_recycle(t, false).ok_or(Errno::EADDRNOTAVAIL)?);
                }
                sk.local.port()
            } else {
                let (port, r) = st.tcp_connect_port(laddr, peer)?;
                recycled = r;
                port
            };
            // A fresh start (the socket may have failed an earlier attempt).
            let (id, reuse, nodelay, sndbuf, rcvbuf, locked) = (
                sk.id,
                sk.reuseaddr,
                sk.nodelay,
                sk.sndbuf,
                sk.rcvbuf,
                sk.rcvbuf_locked,
            );
            let (bound, user_bound, opts) = (sk.bound, sk.user_bound, sk.opts);
            let (cork, oobinline) = (sk.cork, sk.oobinline);
            let (reuseport, bound_dev_if, ip) = (sk.reuseport, sk.bound_dev_if, sk.ip);
            let transparent = sk.transparent;
            let sndbuf_locked = sk.buf.sndbuf_locked;
            *sk = TcpSock::new(id, &st.cfg);
            sk.ip = ip;
            sk.transparent = transparent;
            sk.reuseport = reuseport;
            sk.bound_dev_if = bound_dev_if;
            sk.opts = opts;
            sk.cork = cork;
            sk.oobinline = oobinline;
            sk.reuseaddr = reuse;
            sk.nodelay = nodelay;
            sk.sndbuf = sndbuf;
            sk.rcvbuf = rcvbuf;
            sk.rcvbuf_locked = locked;
            sk.buf.sndbuf_locked = sndbuf_locked;
            sk.bound = bound;
            sk.user_bound = user_bound;
            sk.local = SocketAddrV4::new(laddr, port);
            sk.remote = peer;
            if !sk.bound {
                st.tcp_bhash_add(sk);
            }
            st.tcp.ehash.insert(sk.tuple(), sk.id.0);
            sk.ehashed = true;
            st.tcp_connect_init(sk, dst.mtu);
            if let Some(r) = recycled {
                sk.tcp_take_tw(&r);
            }
            st.tcp_set_state(sk, TcpState::SynSent);
            st.stats.tcp.active_opens += 1;
            st.tcp_send_syn(sk, false);
            Err(Errno::EINPROGRESS)
        })
        .inspect_err(|e| {
            if *e == Errno::EINPROGRESS {
                self.process_backlog();
            }
        })
    }

    /// `send` with `MSG_DONTWAIT`: queues what fits in the send buffer and returns how much
    /// (partial writes). EAGAIN when the buffer is full (or while still connecting); EPIPE
    /// after `shutdown(SHUT_WR)`, on a socket that is not connected, or after the
    /// connection ended; a pending error (ECONNRESET after a RST) is reported once first.
    pub fn tcp_send(&mut self, h: SocketHandle, data: &[u8]) -> Result<usize, Errno> {
        let r = self.tcp_with(h, |st, sk| {
            if !matches!(sk.state, TcpState::Established | TcpState::CloseWait) {
                // sk_stream_wait_connect.
                if let Some(e) = sk.err.take() {
                    return Err(e);
                }
                if !matches!(sk.state, TcpState::SynSent | TcpState::SynRecv) {
                    return Err(Errno::EPIPE);
                }
                return Err(Errno::EAGAIN);
            }
            if sk.err.is_some() || sk.shutdown & SEND_SHUTDOWN != 0 {
                return Err(sk.err.take().unwrap_or(Errno::EPIPE));
            }
            if data.is_empty() {
                return Ok(0);
            }
            let n = data.len().min(sk.send_space());
            if n == 0 {
                sk.write_blocked = true;
                return Err(Errno::EAGAIN);
            }
            if sk.sbuf.is_empty() {
                sk.sbuf_seq = sk.snd_nxt.max_seq(sk.snd_una);
            }
            st.tcp_slow_start_after_idle_check(sk);
            sk.sbuf.extend(&data[..n]);
            sk.tcp_mark_urg();
            if n < data.len() {
                sk.write_blocked = true;
            }
            st.tcp_write_xmit(sk, false);
            Ok(n)
        });
        self.process_backlog();
        r
    }

    /// `recv` with `MSG_DONTWAIT`: copies in-order data. 0 at end of stream (the peer's FIN,
    /// or after a reset once its error was reported); EAGAIN when nothing is queued; ENOTCONN
    /// on a listener or a socket that never connected; a pending error first.
    pub fn tcp_recv(&mut self, h: SocketHandle, buf: &mut [u8]) -> Result<usize, Errno> {
        let r = self.tcp_with(h, |st, sk| {
            if sk.state == TcpState::Listen {
                return Err(Errno::ENOTCONN);
            }
            sk.tcp_urg_skip_mark();
            if sk.rbuf.is_empty() || buf.is_empty() {
                if !sk.rbuf.is_empty() {
                    return Ok(0);
                }
                if sk.done {
                    return Ok(0);
                }
                if let Some(e) = sk.err.take() {
                    return Err(e);
                }
                if sk.shutdown & RCV_SHUTDOWN != 0 {
                    return Ok(0);
                }
                if sk.state == TcpState::Close {
                    return Err(Errno::ENOTCONN);
                }
                return Err(Errno::EAGAIN);
            }
            let n = sk.tcp_urg_limit(buf.len().min(sk.rbuf.len()));
            let (a, b) = sk.rbuf.as_slices();
            let na = n.min(a.len());
            buf[..na].copy_from_slice(&a[..na]);
            buf[na..n].copy_from_slice(&b[..n - na]);
            sk.rbuf.drain(..n);
            sk.tcp_urg_forget_if_past();
            Stack::tcp_rbuf_release(sk);
            st.tcp_rcv_space_adjust(sk, n);
            st.tcp_cleanup_rbuf(sk, n);
            Ok(n)
        });
        self.process_backlog();
        r
    }

    /// `shutdown`: `Write` queues a FIN after the data (FIN-WAIT-1 or LAST-ACK); `Read`
    /// makes further reads return 0 once the queue is empty. ENOTCONN on a closed socket.
    pub fn tcp_shutdown(&mut self, h: SocketHandle, how: Shutdown) -> Result<(), Errno> {
        let bits = match how {
            Shutdown::Read => RCV_SHUTDOWN,
            Shutdown::Write => SEND_SHUTDOWN,
            Shutdown::Both => RCV_SHUTDOWN | SEND_SHUTDOWN,
        };
        let r = self.tcp_with(h, |st, sk| {
            match sk.state {
                TcpState::Close => {
                    sk.shutdown |= bits;
                    return Err(Errno::ENOTCONN);
                }
                TcpState::Listen => {
                    if bits & RCV_SHUTDOWN != 0 {
                        st.tcp_listen_stop(sk);
                        st.tcp_set_state(sk, TcpState::Close);
                    }
                    return Ok(());
                }
                TcpState::SynSent => {
                    // inet_shutdown: disconnect.
                    st.tcp_set_state(sk, TcpState::Close);
                    sk.deadlines = [None; NTIMERS];
                    sk.free_buffers(true);
                    return Ok(());
                }
                _ => {}
            }
            sk.shutdown |= bits;
            if bits & SEND_SHUTDOWN != 0 {
                st.tcp_close_state(sk);
            }
            Ok(())
        });
        self.process_backlog();
        r
    }

    /// `tcp_close_state` + `tcp_send_fin`.
    fn tcp_close_state(&mut self, sk: &mut TcpSock) {
        let (next, fin) = sk.state.after_close();
        if next != sk.state {
            self.tcp_set_state(sk, next);
        }
        if fin && !sk.fin_queued {
            if sk.sbuf.is_empty() {
                sk.sbuf_seq = sk.snd_nxt.max_seq(sk.snd_una);
            }
            sk.fin_queued = true;
            self.tcp_write_xmit(sk, true);
        }
    }

    /// `close`: the handle is released at once. A listener resets its pending connections;
    /// unread data makes the close an abort (RST, `TCPAbortOnClose`); so does `SO_LINGER`
    /// with a zero time (RST, the send queue discarded, `TCPAbortOnData` as Linux counts
    /// it); otherwise a FIN follows the queued data and the orphaned connection finishes on
    /// its own (FIN-WAIT-2 for at most `TCP_LINGER2` or `tcp_fin_timeout`, then TIME-WAIT).
    /// A socket already in FIN-WAIT-2 with a negative `TCP_LINGER2` is reset at once
    /// (`TCPAbortOnLinger`).
    ///
    /// `SO_LINGER` with a nonzero time makes Linux's close() block until the data is
    /// acknowledged or the time runs out; a sans-IO core cannot block, so that wait belongs
    /// to the runtime's blocking front door and the core closes gracefully (FIN) as usual.
    pub fn tcp_close(&mut self, h: SocketHandle) -> Result<(), Errno> {
        self.tcp.get(h)?;
        let idx = self.tcp.index(h)?;
        let Some(mut sk) = self.tcp.take(idx) else {
            return Err(Errno::EBADF);
        };
        sk.shutdown = RCV_SHUTDOWN | SEND_SHUTDOWN;
        sk.orphan = true;
        let unread = sk.rbuf.len();
        sk.rbuf = VecDeque::new();
        match sk.state {
            TcpState::Listen => {
                self.tcp_listen_stop(&mut sk);
                self.tcp_set_state(&mut sk, TcpState::Close);
                sk.dead = true;
            }
            TcpState::Close => sk.dead = true,
            _ if unread > 0 => {
                self.stats.tcp_ext.tcp_abort_on_close += 1;
                if sk.state.needs_reset_on_abort() {
                    self.tcp_send_active_reset(&mut sk);
                }
                self.tcp_set_state(&mut sk, TcpState::Close);
                sk.dead = true;
            }
            _ if sk.opts.linger == Some(0) => {
                // SO_LINGER with a zero time: tcp_disconnect. A RST instead of a FIN, the
                // send queue discarded; Linux counts it as TCPAbortOnData.
                self.stats.tcp_ext.tcp_abort_on_data += 1;
                let old = sk.state;
                let fin_unsent = matches!(old, TcpState::Closing | TcpState::LastAck)
                    && sk.snd_nxt != sk.data_end() + usize::from(sk.fin_queued);
                if old.needs_reset_on_abort() || fin_unsent {
                    self.tcp_send_active_reset(&mut sk);
                }
                self.tcp_set_state(&mut sk, TcpState::Close);
                sk.deadlines = [None; NTIMERS];
                sk.free_buffers(true);
                sk.dead = true;
            }
            _ => {
                self.tcp_close_state(&mut sk);
                if sk.state == TcpState::Close {
                    sk.dead = true;
                } else if sk.state == TcpState::FinWait2 {
                    if sk.opts.linger2 < 0 {
                        // TCP_LINGER2 < 0: no FIN-WAIT-2 wait for an orphan.
                        self.tcp_set_state(&mut sk, TcpState::Close);
                        self.tcp_send_active_reset(&mut sk);
                        self.stats.tcp_ext.tcp_abort_on_linger += 1;
                        sk.dead = true;
                    } else {
                        self.tcp_orphan_fin_wait2(&mut sk);
                    }
                }
            }
        }
        self.tcp_put(sk);
        self.process_backlog();
        Ok(())
    }

    /// `inet_csk_listen_stop`: children in the SYN queue vanish silently; established ones
    /// not yet accepted are reset (`tcp_disconnect`).
    fn tcp_listen_stop(&mut self, sk: &mut TcpSock) {
        let Some(l) = sk.listen.take() else {
            return;
        };
        let children = l.syn_queue.iter().chain(l.accept_queue.iter()).copied();
        for c in children.collect::<Vec<_>>() {
            let Some(mut child) = self.tcp.take(c) else {
                continue;
            };
            if child.state.needs_reset_on_abort() && child.state != TcpState::SynRecv {
                self.tcp_send_active_reset(&mut child);
            }
            child.parent = None;
            child.accept_pending = false;
            self.tcp_set_state(&mut child, TcpState::Close);
            child.dead = true;
            self.tcp_put(child);
        }
    }

    /// `TCP_NODELAY`: turning it on pushes what Nagle was holding.
    pub fn tcp_set_nodelay(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        let r = self.tcp_with(h, |st, sk| {
            sk.nodelay = on;
            if on && sk.state.is_synchronized() {
                st.tcp_write_xmit(sk, false);
            }
            Ok(())
        });
        self.process_backlog();
        r
    }

    /// `SO_KEEPALIVE`: turning it on in a connected state arms the keepalive timer for
    /// `TCP_KEEPIDLE` (if it was off); turning it off stops it (`tcp_set_keepalive`).
    pub fn tcp_set_keepalive(&mut self, h: SocketHandle, on: bool) -> Result<(), Errno> {
        self.tcp_with(h, |st, sk| {
            if !matches!(sk.state, TcpState::Close | TcpState::Listen) {
                if on && !sk.opts.keepalive {
                    let when = st.tcp_keepalive_time(sk);
                    sk.set_timer(TimerKind::Keepalive, st.now + when);
                } else if !on {
                    sk.clear_timer(TimerKind::Keepalive);
                }
            }
            sk.opts.keepalive = on;
            Ok(())
        })
    }

    /// `TCP_KEEPIDLE` (seconds, 1..=32767, else EINVAL): idle time before the first probe.
    /// With keepalive on, the timer is re-armed for what is left of the new idle time.
    pub fn tcp_set_keepidle(&mut self, h: SocketHandle, secs: u32) -> Result<(), Errno> {
        if !(1..=MAX_TCP_KEEPIDLE).contains(&secs) {
            self.tcp.get(h)?;
            return Err(Errno::EINVAL);
        }
        self.tcp_with(h, |st, sk| {
            sk.opts.keepidle = secs;
            if sk.opts.keepalive && !matches!(sk.state, TcpState::Close | TcpState::Listen) {
                let when = st.tcp_keepalive_time(sk);
                let left = when.saturating_sub(st.tcp_keepalive_elapsed(sk));
                sk.set_timer(TimerKind::Keepalive, st.now + left);
            }
            Ok(())
        })
    }

    /// `TCP_KEEPINTVL` (seconds, 1..=32767, else EINVAL): time between probes.
    pub fn tcp_set_keepintvl(&mut self, h: SocketHandle, secs: u32) -> Result<(), Errno> {
        if !(1..=MAX_TCP_KEEPIDLE).contains(&secs) {
            self.tcp.get(h)?;
            return Err(Errno::EINVAL);
        }
        self.tcp_with(h, |_, sk| {
            sk.opts.keepintvl = secs;
            Ok(())
        })
    }

    /// `TCP_KEEPCNT` (1..=127, else EINVAL): unanswered probes before the reset.
    pub fn tcp_set_keepcnt(&mut self, h: SocketHandle, n: u32) -> Result<(), Errno> {
        if !(1..=MAX_TCP_KEEPCNT).contains(&n) {
            self.tcp.get(h)?;
            return Err(Errno::EINVAL);
        }
        self.tcp_with(h, |_, sk| {
            sk.opts.keepcnt = n;
            Ok(())
        })
    }

    /// `TCP_USER_TIMEOUT` (milliseconds, 0 = off): data unacknowledged for longer fails the
    /// connection with ETIMEDOUT (instead of `tcp_retries2`), keepalive gives up once the
    /// peer has been silent that long with a probe out, zero-window probing gives up that
    /// long after its first probe, and a connect that long after its first SYN.
    pub fn tcp_set_user_timeout(&mut self, h: SocketHandle, ms: u32) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.opts.user_timeout = ms;
            Ok(())
        })
    }

    /// `TCP_SYNCNT` (1..=127, else EINVAL): SYN retransmissions before a connect fails (on a
    /// listener, SYN-ACK retransmissions for its requests), instead of `tcp_syn_retries`.
    pub fn tcp_set_syncnt(&mut self, h: SocketHandle, n: u32) -> Result<(), Errno> {
        if !(1..=MAX_TCP_SYNCNT).contains(&n) {
            self.tcp.get(h)?;
            return Err(Errno::EINVAL);
        }
        self.tcp_with(h, |_, sk| {
            sk.opts.syncnt = n as u8;
            Ok(())
        })
    }

    /// `TCP_LINGER2` (seconds): an orphan's FIN-WAIT-2 time instead of `tcp_fin_timeout`;
    /// 0 means the sysctl, more than 120 (`TCP_FIN_TIMEOUT_MAX`) is cut to 120, and a
    /// negative value means no FIN-WAIT-2 wait at all: the orphan is reset.
    pub fn tcp_set_linger2(&mut self, h: SocketHandle, secs: i32) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.opts.linger2 = if secs < 0 {
                -1
            } else {
                secs.min(TCP_FIN_TIMEOUT_MAX)
            };
            Ok(())
        })
    }

    /// `SO_LINGER`: `Some(0)` makes close() an abort (RST, send queue discarded); see
    /// [`Stack::tcp_close`] for a nonzero time. `None` turns it off.
    pub fn tcp_set_linger(&mut self, h: SocketHandle, linger: Option<u32>) -> Result<(), Errno> {
        self.tcp_with(h, |_, sk| {
            sk.opts.linger = linger;
            Ok(())
        })
    }

    /// `SO_SNDBUF`: doubled as Linux does, within [4608, 2 * wmem_max]; the size is then
    /// fixed (`SOCK_SNDBUF_LOCK`): it no longer grows with the congestion window. A writer
    /// blocked on the old size hears `Writable` if the new one leaves room.
    pub fn tcp_set_sndbuf(&mut self, h: SocketHandle, bytes: usize) -> Result<(), Errno> {
        let max = self.cfg.wmem_max;
        self.tcp_with(h, |st, sk| {
            sk.sndbuf = (bytes.min(max) * 2).max(4608);
            sk.buf.sndbuf_locked = true;
            // sock_setsockopt ends with sk_write_space: a blocked writer may go on.
            st.sk_stream_write_space(sk);
            Ok(())
        })
    }

    /// `SO_RCVBUF`: doubled as Linux does, within [2304, 2 * rmem_max]; the size is then
    /// fixed (`SOCK_RCVBUF_LOCK`: no autotuning). Takes effect on the window of connections
    /// not yet established.
    pub fn tcp_set_rcvbuf(&mut self, h: SocketHandle, bytes: usize) -> Result<(), Errno> {
        let max = self.cfg.rmem_max;
        self.tcp_with(h, |_, sk| {
            sk.rcvbuf = (bytes.min(max) * 2).max(2304);
            sk.rcvbuf_locked = true;
            Ok(())
        })
    }

    /// `TCP_CONGESTION` (set): "cubic" or "reno"; ENOENT for an unknown name. The
    /// algorithm starts fresh, and a listener's children inherit it.
    pub fn tcp_set_congestion(&mut self, h: SocketHandle, name: &str) -> Result<(), Errno> {
        let cc = Congestion::from_name(name).ok_or(Errno::ENOENT)?;
        self.tcp_with(h, |_, sk| {
            sk.opts.congestion = Some(cong::CongestionOps::name(&cc));
            sk.cc = cc;
            Ok(())
        })
    }

    /// `TCP_CONGESTION` (get): the socket's algorithm.
    pub fn tcp_congestion(&self, h: SocketHandle) -> Result<&'static str, Errno> {
        Ok(cong::CongestionOps::name(&self.tcp.get(h)?.cc))
    }

    /// `getsockname`.
    pub fn tcp_local_addr(&self, h: SocketHandle) -> Result<SocketAddrV4, Errno> {
        Ok(self.tcp.get(h)?.local)
    }

    /// `getpeername`: ENOTCONN unless connected (or connecting).
    pub fn tcp_peer_addr(&self, h: SocketHandle) -> Result<SocketAddrV4, Errno> {
        let s = self.tcp.get(h)?;
        if matches!(
            s.state,
            TcpState::Close | TcpState::Listen | TcpState::SynSent
        ) {
            return Err(Errno::ENOTCONN);
        }
        Ok(s.remote)
    }

    /// The connection state (`TCP_INFO`'s `tcpi_state`).
    pub fn tcp_state(&self, h: SocketHandle) -> Result<TcpState, Errno> {
        Ok(self.tcp.get(h)?.state)
    }

    /// `getsockopt(SO_ERROR)`: the pending error, cleared (the soft error if none).
    pub fn tcp_take_error(&mut self, h: SocketHandle) -> Result<Option<Errno>, Errno> {
        self.tcp.get(h)?;
        let idx = self.tcp.index(h)?;
        let s = self.tcp.sock_at(idx).ok_or(Errno::EBADF)?;
        Ok(s.err.take().or_else(|| s.err_soft.take()))
    }

    /// `SIOCINQ`: bytes ready to read.
    pub fn tcp_rx_queued(&self, h: SocketHandle) -> Result<usize, Errno> {
        Ok(self.tcp.get(h)?.rbuf.len())
    }

    /// `SIOCOUTQ`: bytes queued and not yet acknowledged.
    pub fn tcp_tx_queued(&self, h: SocketHandle) -> Result<usize, Errno> {
        Ok(self.tcp.get(h)?.sbuf.len())
    }

    /// TCP sockets in the table, all states (orphans, TIME-WAIT and embryonic ones
    /// included).
    pub fn tcp_socket_count(&self) -> usize {
        self.tcp.len()
    }

    /// Heap bytes held by the data buffers of the socket behind `h` (for the memory tests
    /// and `ss -m`-style reports).
    pub fn tcp_buffer_capacity(&self, h: SocketHandle) -> Result<usize, Errno> {
        let s = self.tcp.get(h)?;
        Ok(s.sbuf.capacity()
            + s.rbuf.capacity()
            + s.ooo.iter().map(|(_, v)| v.capacity()).sum::<usize>())
    }
}

/// `max` in sequence space.
pub(crate) trait SeqExt {
    /// The later of two sequence numbers.
    fn max_seq(self, other: SeqNumber) -> SeqNumber;
}

impl SeqExt for SeqNumber {
    fn max_seq(self, other: SeqNumber) -> SeqNumber {
        if self.after(other) {
            self
        } else {
            other
        }
    }
}

/// A duration in whole milliseconds, saturating.
pub(crate) fn millis(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

#[cfg(test)]
mod test_peer;

#[cfg(test)]
mod buf_tests;
#[cfg(test)]
mod close_tests;
#[cfg(test)]
mod data_tests;
#[cfg(test)]
mod ecn_tests;
#[cfg(test)]
mod gro_tests;
#[cfg(test)]
mod gso_tests;
#[cfg(test)]
mod handshake_tests;
#[cfg(test)]
mod info_tests;
#[cfg(test)]
mod listen_tests;
#[cfg(test)]
mod loss_tests;
#[cfg(test)]
mod mtu_tests;
#[cfg(test)]
mod option_tests;
#[cfg(test)]
mod paws_tests;
#[cfg(test)]
mod recovery_tests;
#[cfg(test)]
mod reset_tests;
#[cfg(test)]
mod sack_tests;
#[cfg(test)]
mod sockopt_tests;
#[cfg(test)]
mod syncookie_tests;
#[cfg(test)]
mod timewait_tests;
#[cfg(test)]
mod tproxy_tests;
#[cfg(test)]
mod urg_tests;
#[cfg(test)]
mod user_timeout_tests;

impl Stack {
    /// The TCP socket behind an application handle, read-only: the socket layer's view of
    /// `struct sock` for the option getters (`do_tcp_getsockopt`, `sk_getsockopt`).
    pub(crate) fn tcp_sock_ref(&self, h: SocketHandle) -> Result<&TcpSock, Errno> {
        self.tcp.get(h)
    }
}

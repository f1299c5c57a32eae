//! AF_PACKET: linnet on an existing Ethernet interface, through a raw packet socket (the
//! seeds' PF_PACKET route to the wire).
//!
//! Linux: net/packet/af_packet.c (`packet_create`, `packet_do_bind`, `packet_rcv`,
//! `packet_recvmsg`, `packet_snd`, `packet_mc_add` for `PACKET_MR_PROMISC`,
//! `PACKET_IGNORE_OUTGOING`), include/uapi/linux/if_packet.h (`struct sockaddr_ll`,
//! `PACKET_OUTGOING`), net/core/dev.c (`dev_queue_xmit_nit`: the copies taps see).
//! RFCs: none.
//!
//! The socket is `socket(AF_PACKET, SOCK_RAW, 0)` and then bound to the interface with
//! protocol `ETH_P_ALL`: created with protocol 0 it receives nothing until the bind, so no
//! frame of another interface slips in between. Frames are whole Ethernet frames both ways.
//!
//! The socket sees what the kernel itself sends on the interface as `PACKET_OUTGOING` copies;
//! those are dropped (the kernel is asked not to queue them with `PACKET_IGNORE_OUTGOING`
//! where it knows the option, and `sll_pkttype` is checked anyway). Frames this socket sends
//! are never looped back to it.
//!
//! linnet's MAC on the link is the interface's own by default. With another MAC
//! ([`PacketDevice::open_with_mac`]) the socket joins the interface's promiscuous mode
//! (`PACKET_MR_PROMISC`, dropped when the socket closes), and the kernel stack on that
//! interface then sees linnet's unicast frames as PACKET_OTHERHOST and leaves them alone.
//! Sharing the interface's MAC means the kernel's own stack also receives everything linnet
//! does; give the interface no IP address then.
//!
//! Checksums: a frame sent by a local socket on a virtual interface (veth) carries a partial
//! UDP/TCP checksum, left to an offload that never happens; `PACKET_AUXDATA` flags such frames
//! (`TP_STATUS_CSUMNOTREADY`) and the driver completes the checksum before the stack sees it
//! (see [`crate::offload`]).
//!
//! Batching: `recvmmsg(2)` and `sendmmsg(2)` with up to [`RX_BATCH`]/[`TX_BATCH`] frames per
//! call.
#![allow(unsafe_code)]

use std::fmt;
use std::io::{self, IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};

use linnet_core::wire::EthernetAddress;
use linnet_core::DeviceKind;
use nix::sys::socket::{
    bind, recvmmsg, sendmmsg, setsockopt, socket, AddressFamily, ControlMessage,
    ControlMessageOwned, LinkAddr, MsgFlags, MultiHeaders, SockFlag, SockType, SockaddrLike,
};

use super::ifreq;
use crate::device::{Device, RxBatch, LL_HEADROOM, RX_BATCH, TX_BATCH};
use crate::offload::complete_partial_checksum;

/// Socket options `nix` does not define, private.
mod opt {
    use nix::{setsockopt_impl, sockopt_impl};

    sockopt_impl!(
        /// `PACKET_IGNORE_OUTGOING` (Linux 4.20): do not queue outgoing copies to this socket.
        IgnoreOutgoing,
        SetOnly,
        libc::SOL_PACKET,
        libc::PACKET_IGNORE_OUTGOING,
        bool
    );
    sockopt_impl!(
        /// `PACKET_AUXDATA`: a `tpacket_auxdata` control message with every frame.
        AuxData,
        SetOnly,
        libc::SOL_PACKET,
        libc::PACKET_AUXDATA,
        bool
    );
    sockopt_impl!(
        /// `PACKET_ADD_MEMBERSHIP`: promiscuous / multicast membership, undone on close.
        AddMembership,
        SetOnly,
        libc::SOL_PACKET,
        libc::PACKET_ADD_MEMBERSHIP,
        libc::packet_mreq
    );
}
use opt::{AddMembership, AuxData, IgnoreOutgoing};

/// `PACKET_OUTGOING` (include/uapi/linux/if_packet.h).
const PACKET_OUTGOING: u8 = libc::PACKET_OUTGOING;

/// `TP_STATUS_CSUMNOTREADY`: the frame's L4 checksum is partial (left to offload).
const TP_STATUS_CSUMNOTREADY: u32 = libc::TP_STATUS_CSUMNOTREADY;

/// What one `recvmmsg` message said about its frame.
#[derive(Clone, Copy, Debug, Default)]
struct RxMeta {
    bytes: usize,
    /// `sll_pkttype`.
    pkttype: u8,
    /// `MSG_TRUNC`: the frame did not fit.
    truncated: bool,
    /// `TP_STATUS_CSUMNOTREADY` in the `PACKET_AUXDATA` message.
    csum_not_ready: bool,
}

/// `tp_status` of a `PACKET_AUXDATA` control message, 0 for any other.
fn aux_status(c: &ControlMessageOwned) -> u32 {
    match c {
        ControlMessageOwned::Unknown(u)
            if u.cmsg_header.cmsg_level == libc::SOL_PACKET
                && u.cmsg_header.cmsg_type == libc::PACKET_AUXDATA =>
        {
            u.data_bytes
                .get(..4)
                .map_or(0, |b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]))
        }
        _ => 0,
    }
}

/// `mmsghdr` arrays that `recvmmsg`/`sendmmsg` fill, kept across calls.
struct MmsgHeaders(MultiHeaders<LinkAddr>);

// SAFETY: `MultiHeaders` is `!Send` only because it holds raw pointers. Those point into heap
// storage the value owns itself (its boxed address array) or, for the iovec pointers, into
// buffers that are set anew by every `recvmmsg`/`sendmmsg` call before the kernel reads them
// and are never dereferenced between calls. Moving the owner to another thread moves no
// pointee and shares nothing.
unsafe impl Send for MmsgHeaders {}

/// linnet on an existing interface through an AF_PACKET socket.
pub struct PacketDevice {
    fd: OwnedFd,
    name: String,
    ifindex: u32,
    mac: EthernetAddress,
    mtu: Option<u32>,
    rx_hdrs: MmsgHeaders,
    tx_hdrs: MmsgHeaders,
    no_addrs: Vec<Option<LinkAddr>>,
    outgoing_ignored: u64,
    truncated: u64,
}

impl fmt::Debug for PacketDevice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PacketDevice")
            .field("fd", &self.fd)
            .field("name", &self.name)
            .field("ifindex", &self.ifindex)
            .field("mac", &self.mac)
            .field("mtu", &self.mtu)
            .finish_non_exhaustive()
    }
}

impl PacketDevice {
    /// Binds to interface `iface`, which must exist and be Ethernet-like; linnet uses the
    /// interface's MAC. Needs CAP_NET_RAW.
    pub fn open(iface: &str) -> io::Result<PacketDevice> {
        PacketDevice::open_inner(iface, None)
    }

    /// Binds to `iface` with linnet's own MAC `mac` on the link; the socket makes the
    /// interface promiscuous while it is open if `mac` differs from the interface's.
    pub fn open_with_mac(iface: &str, mac: EthernetAddress) -> io::Result<PacketDevice> {
        PacketDevice::open_inner(iface, Some(mac))
    }

    fn open_inner(iface: &str, mac: Option<EthernetAddress>) -> io::Result<PacketDevice> {
        let ifindex = ifreq::if_index(iface)?;
        let (hatype, hwaddr) = ifreq::if_hwaddr(iface)?;
        if hatype != ifreq::ARPHRD_ETHER {
            tracing::warn!(iface, hatype, "AF_PACKET device refused: not Ethernet");
            return Err(io::Error::from_raw_os_error(libc::EOPNOTSUPP));
        }
        let mtu = ifreq::if_mtu(iface).ok();
        // Protocol 0: nothing is queued to the socket before it is bound to the interface.
        let fd = socket(
            AddressFamily::Packet,
            SockType::Raw,
            SockFlag::SOCK_NONBLOCK | SockFlag::SOCK_CLOEXEC,
            None,
        )?;
        if let Err(e) = setsockopt(&fd, IgnoreOutgoing, &true) {
            tracing::debug!(iface, error = %e, "PACKET_IGNORE_OUTGOING unsupported");
        }
        setsockopt(&fd, AuxData, &true)?;
        let sll = libc::sockaddr_ll {
            sll_family: libc::AF_PACKET as libc::c_ushort,
            sll_protocol: (libc::ETH_P_ALL as u16).to_be(),
            sll_ifindex: ifindex as libc::c_int,
            sll_hatype: 0,
            sll_pkttype: 0,
            sll_halen: 0,
            sll_addr: [0; 8],
        };
        // SAFETY: `sll` is a fully initialised `sockaddr_ll` on the stack, alive for the call,
        // and the length given is its exact size, as `from_raw` requires.
        let addr = unsafe {
            LinkAddr::from_raw(
                (&sll as *const libc::sockaddr_ll).cast::<libc::sockaddr>(),
                Some(std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t),
            )
        }
        .ok_or_else(|| io::Error::from_raw_os_error(libc::EINVAL))?;
        bind(fd.as_raw_fd(), &addr)?;
        let mac = mac.unwrap_or(hwaddr);
        if mac != hwaddr {
            let mreq = libc::packet_mreq {
                mr_ifindex: ifindex as libc::c_int,
                mr_type: libc::PACKET_MR_PROMISC as libc::c_ushort,
                mr_alen: 0,
                mr_address: [0; 8],
            };
            setsockopt(&fd, AddMembership, &mreq)?;
        }
        tracing::debug!(iface, ifindex, %mac, ?mtu, "AF_PACKET socket bound");
        Ok(PacketDevice {
            fd,
            name: iface.to_string(),
            ifindex,
            mac,
            mtu,
            rx_hdrs: MmsgHeaders(MultiHeaders::preallocate(
                RX_BATCH,
                Some(nix::cmsg_space!(libc::tpacket_auxdata)),
            )),
            tx_hdrs: MmsgHeaders(MultiHeaders::preallocate(TX_BATCH, None)),
            no_addrs: vec![None; TX_BATCH],
            outgoing_ignored: 0,
            truncated: 0,
        })
    }

    /// The kernel interface index the socket is bound to.
    pub fn ifindex(&self) -> u32 {
        self.ifindex
    }

    /// linnet's MAC on the link.
    pub fn mac(&self) -> EthernetAddress {
        self.mac
    }

    /// Outgoing copies seen and dropped (`PACKET_OUTGOING`).
    pub fn outgoing_ignored(&self) -> u64 {
        self.outgoing_ignored
    }

    /// Frames dropped because they did not fit a receive buffer.
    pub fn truncated(&self) -> u64 {
        self.truncated
    }
}

impl Device for PacketDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> DeviceKind {
        DeviceKind::Ethernet { mac: self.mac }
    }

    fn mtu(&self) -> Option<u32> {
        self.mtu
    }

    fn max_frame_len(&self) -> usize {
        // Room for offloaded (GRO) frames past the MTU is not needed: AF_PACKET sees frames
        // as the device delivered them, and a frame that does not fit is counted and dropped.
        (self.mtu.unwrap_or(1500) as usize).max(1500) + LL_HEADROOM
    }

    fn raw_fd(&self) -> Option<RawFd> {
        Some(self.fd.as_raw_fd())
    }

    fn recv_batch(&mut self, batch: &mut RxBatch) -> io::Result<usize> {
        let want = batch.free().min(RX_BATCH);
        if want == 0 {
            return Ok(0);
        }
        let mut meta = [RxMeta::default(); RX_BATCH];
        let got = {
            let mut iovs: Vec<[IoSliceMut<'_>; 1]> = batch
                .free_slots_mut()
                .take(want)
                .map(|s| [IoSliceMut::new(s)])
                .collect();
            let res = recvmmsg(
                self.fd.as_raw_fd(),
                &mut self.rx_hdrs.0,
                iovs.iter_mut(),
                MsgFlags::MSG_DONTWAIT,
                None,
            );
            match res {
                Ok(msgs) => {
                    let mut n = 0;
                    for (m, slot) in msgs.zip(meta.iter_mut()) {
                        *slot = RxMeta {
                            bytes: m.bytes,
                            pkttype: m.address.map_or(0, |a| a.pkttype()),
                            truncated: m.flags.contains(MsgFlags::MSG_TRUNC),
                            csum_not_ready: m.cmsgs().is_ok_and(|mut c| {
                                c.any(|c| aux_status(&c) & TP_STATUS_CSUMNOTREADY != 0)
                            }),
                        };
                        n += 1;
                    }
                    n
                }
                Err(nix::errno::Errno::EAGAIN) => 0,
                Err(e) => return Err(e.into()),
            }
        };
        for m in &meta[..got] {
            if m.pkttype == PACKET_OUTGOING {
                self.outgoing_ignored += 1;
                batch.discard();
            } else if m.truncated || m.bytes == 0 {
                self.truncated += u64::from(m.truncated);
                batch.discard();
            } else {
                if m.csum_not_ready {
                    if let Some(slot) = batch.next_slot() {
                        let len = m.bytes.min(slot.len());
                        complete_partial_checksum(&mut slot[..len]);
                    }
                }
                batch.commit(m.bytes);
            }
        }
        Ok(got)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        match self.send_batch(&[frame])? {
            1 => Ok(()),
            _ => Err(io::Error::from(io::ErrorKind::WriteZero)),
        }
    }

    fn send_batch(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
        let mut sent = 0;
        for chunk in frames.chunks(TX_BATCH) {
            let iovs: Vec<[IoSlice<'_>; 1]> = chunk.iter().map(|f| [IoSlice::new(f)]).collect();
            let no_cmsgs: [ControlMessage<'_>; 0] = [];
            let res = loop {
                let r = sendmmsg(
                    self.fd.as_raw_fd(),
                    &mut self.tx_hdrs.0,
                    &iovs,
                    &self.no_addrs[..chunk.len()],
                    no_cmsgs,
                    MsgFlags::MSG_DONTWAIT,
                );
                match r {
                    Err(nix::errno::Errno::EINTR) => continue,
                    r => break r.map(Iterator::count),
                }
            };
            let n = match res {
                Ok(n) => n,
                Err(e) if sent == 0 => return Err(e.into()),
                Err(_) => return Ok(sent),
            };
            sent += n;
            if n < chunk.len() {
                return Ok(sent);
            }
        }
        Ok(sent)
    }
}

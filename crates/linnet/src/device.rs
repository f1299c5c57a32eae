//! The driver side of a device: the [`Device`] trait that every link (TAP, TUN, AF_PACKET,
//! in-memory pair, pcap tap) implements, the receive batch it fills, and the [`Notifier`]
//! that lets a device without a file descriptor wake the event loop.
//!
//! Linux: include/linux/netdevice.h (`struct net_device_ops`: `ndo_start_xmit`), the NAPI
//! poll loop of net/core/dev.c (`napi_poll` reading up to a budget of frames per call).
//! RFCs: none.
//!
//! The core keeps the device *model* (`linnet_core::NetDevice`: name, kind, MTU, flags,
//! counters); a [`Device`] only moves bytes. The runtime reads a device when its fd is
//! readable (or when its [`Notifier`] fired), up to [`RxBatch::slots`] frames per call, and
//! writes what `Stack::poll_transmit` hands it, in batches.
//!
//! Contract for implementors:
//! - `recv_batch` and `send*` never block: a device's fd is non-blocking.
//! - `recv_batch` returns the number of slots it consumed; fewer than the free slots means the
//!   device was drained (the runtime polls are edge-triggered, so a device must read until it
//!   would block or the batch is full).
//! - A device with no fd ([`Device::raw_fd`] is `None`) must call [`Notifier::wake`] whenever a
//!   frame becomes readable; the runtime then tries every such device.

use std::fmt;
use std::io;
use std::os::fd::RawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use linnet_core::skb::{GsoType, IpSummed};
use linnet_core::DeviceKind;

/// Frames a runtime reads from one device per call (the NAPI weight, 64 in Linux).
pub const RX_BATCH: usize = 32;
/// Frames a runtime writes to one device per call.
pub const TX_BATCH: usize = 32;

/// Link-layer header room added to the MTU to size receive buffers: Ethernet + one 802.1Q
/// tag (`ETH_HLEN + VLAN_HLEN`).
pub const LL_HEADROOM: usize = 18;

/// A link that carries frames for a stack (Linux: the driver half of `struct net_device`).
pub trait Device: Send + fmt::Debug {
    /// The device's name (for OS devices, the kernel interface's name). The runtime registers
    /// the stack's device under this name.
    fn name(&self) -> &str;

    /// How the stack frames packets for this device: `Ethernet { mac }` (the stack's own
    /// hardware address on this link) or `Ip` (bare IP packets, no ARP).
    fn kind(&self) -> DeviceKind;

    /// The link's MTU, if the device knows it (`None`: the stack's default for the kind).
    fn mtu(&self) -> Option<u32> {
        None
    }

    /// The largest frame [`Device::recv_batch`] may return; sizes the receive buffers.
    fn max_frame_len(&self) -> usize {
        let mtu = self.mtu().unwrap_or(1500) as usize;
        mtu + LL_HEADROOM
    }

    /// The fd the runtime polls for readability, or `None` for a device that wakes the loop
    /// through the [`Notifier`] given to [`Device::attach`].
    fn raw_fd(&self) -> Option<RawFd>;

    /// Called once by the runtime before the first receive. Devices without an fd keep the
    /// notifier and call [`Notifier::wake`] when a frame arrives.
    fn attach(&mut self, notifier: Notifier) {
        let _ = notifier;
    }

    /// Reads waiting frames into the free slots of `batch` (see [`RxBatch::next_slot`],
    /// [`RxBatch::commit`]) without blocking. Returns the number of slots consumed; `Ok(0)`
    /// (or an error of kind `WouldBlock`) when nothing is waiting.
    fn recv_batch(&mut self, batch: &mut RxBatch) -> io::Result<usize>;

    /// Writes one frame without blocking (`ndo_start_xmit`). `WouldBlock` when the device's
    /// queue is full; the caller drops the frame.
    fn send(&mut self, frame: &[u8]) -> io::Result<()>;

    /// Writes frames in order and returns how many were written from the start. A short count
    /// means `frames[n]` failed: the caller drops it and continues after it. An error means
    /// the first frame failed. The default loops over [`Device::send`].
    fn send_batch(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
        for (i, f) in frames.iter().enumerate() {
            if let Err(e) = self.send(f) {
                if i == 0 {
                    return Err(e);
                }
                return Ok(i);
            }
        }
        Ok(frames.len())
    }
}

impl<D: Device + ?Sized> Device for Box<D> {
    fn name(&self) -> &str {
        (**self).name()
    }
    fn kind(&self) -> DeviceKind {
        (**self).kind()
    }
    fn mtu(&self) -> Option<u32> {
        (**self).mtu()
    }
    fn max_frame_len(&self) -> usize {
        (**self).max_frame_len()
    }
    fn raw_fd(&self) -> Option<RawFd> {
        (**self).raw_fd()
    }
    fn attach(&mut self, notifier: Notifier) {
        (**self).attach(notifier)
    }
    fn recv_batch(&mut self, batch: &mut RxBatch) -> io::Result<usize> {
        (**self).recv_batch(batch)
    }
    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        (**self).send(frame)
    }
    fn send_batch(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
        (**self).send_batch(frames)
    }
}

/// What a device knows about a received frame beyond its bytes (an offloading device's
/// `virtio_net_hdr`); the runtime copies it into the skb.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RxMeta {
    /// For a GSO super-segment, the size of the segments it stands for; 0 otherwise.
    pub gso_size: u16,
    /// The GSO type (`GsoType::None` for a plain frame).
    pub gso_type: GsoType,
    /// What is known about the L4 checksum.
    pub ip_summed: IpSummed,
}

/// Receive buffers for one batch: `slots` buffers of `slot_len` bytes in one allocation,
/// reused across calls so that steady traffic allocates nothing.
pub struct RxBatch {
    buf: Vec<u8>,
    slot_len: usize,
    /// Per consumed slot, the frame length; 0 marks a discarded slot.
    lens: Vec<usize>,
    /// Per consumed slot, the frame's offload metadata.
    metas: Vec<RxMeta>,
    slots: usize,
    /// Frames the device read and refused since the last clear (a bad vnet header).
    dropped: u64,
}

impl fmt::Debug for RxBatch {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RxBatch")
            .field("slots", &self.slots)
            .field("slot_len", &self.slot_len)
            .field("used", &self.lens.len())
            .finish()
    }
}

impl RxBatch {
    /// `slots` buffers of `slot_len` bytes each (both at least 1).
    pub fn new(slots: usize, slot_len: usize) -> RxBatch {
        let slots = slots.max(1);
        let slot_len = slot_len.max(1);
        RxBatch {
            buf: vec![0; slots * slot_len],
            slot_len,
            lens: Vec::with_capacity(slots),
            metas: Vec::with_capacity(slots),
            slots,
            dropped: 0,
        }
    }

    /// Number of slots.
    pub fn slots(&self) -> usize {
        self.slots
    }

    /// Bytes per slot.
    pub fn slot_len(&self) -> usize {
        self.slot_len
    }

    /// Slots consumed so far (frames and discarded slots).
    pub fn used(&self) -> usize {
        self.lens.len()
    }

    /// Slots still free.
    pub fn free(&self) -> usize {
        self.slots - self.lens.len()
    }

    /// Forgets every frame; all slots are free again.
    pub fn clear(&mut self) {
        self.lens.clear();
        self.metas.clear();
        self.dropped = 0;
    }

    /// The next free slot, for a device that reads one frame at a time (then
    /// [`RxBatch::commit`] or [`RxBatch::discard`]). `None` when the batch is full.
    pub fn next_slot(&mut self) -> Option<&mut [u8]> {
        let i = self.lens.len();
        if i >= self.slots {
            return None;
        }
        Some(&mut self.buf[i * self.slot_len..(i + 1) * self.slot_len])
    }

    /// Every free slot in order, for a device that fills many at once (`recvmmsg`); then one
    /// [`RxBatch::commit`] or [`RxBatch::discard`] per slot filled, in the same order.
    pub fn free_slots_mut(&mut self) -> std::slice::ChunksExactMut<'_, u8> {
        let start = self.lens.len() * self.slot_len;
        self.buf[start..].chunks_exact_mut(self.slot_len)
    }

    /// Marks the next free slot as holding a frame of `len` bytes (clamped to the slot).
    /// Does nothing when the batch is full.
    pub fn commit(&mut self, len: usize) {
        self.commit_meta(len, RxMeta::default());
    }

    /// [`RxBatch::commit`] with the frame's offload metadata.
    pub fn commit_meta(&mut self, len: usize, meta: RxMeta) {
        if self.lens.len() < self.slots {
            self.lens.push(len.min(self.slot_len));
            self.metas.push(meta);
        }
    }

    /// Consumes the next free slot for a frame the device read and refused (a bad offload
    /// header), counting it in [`RxBatch::dropped`].
    pub fn drop_frame(&mut self) {
        if self.lens.len() < self.slots {
            self.dropped += 1;
        }
        self.discard();
    }

    /// Frames refused by the device since the last [`RxBatch::clear`].
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// Consumes the next free slot without a frame (a frame read and then ignored, such as
    /// one the socket saw leaving). Does nothing when the batch is full.
    pub fn discard(&mut self) {
        if self.lens.len() < self.slots {
            self.lens.push(0);
            self.metas.push(RxMeta::default());
        }
    }

    /// The frames received, in order (discarded slots skipped).
    pub fn frames(&self) -> impl Iterator<Item = &[u8]> + '_ {
        self.frames_since(0)
    }

    /// The frames in slots `first..` (those received since [`RxBatch::used`] was `first`).
    pub fn frames_since(&self, first: usize) -> impl Iterator<Item = &[u8]> + '_ {
        self.lens
            .iter()
            .enumerate()
            .skip(first)
            .filter(|(_, &len)| len > 0)
            .map(move |(i, &len)| &self.buf[i * self.slot_len..i * self.slot_len + len])
    }

    /// The frames received with their offload metadata, in order.
    pub fn frames_meta(&self) -> impl Iterator<Item = (&[u8], RxMeta)> + '_ {
        self.lens
            .iter()
            .zip(&self.metas)
            .enumerate()
            .filter(|(_, (&len, _))| len > 0)
            .map(move |(i, (&len, &m))| (&self.buf[i * self.slot_len..i * self.slot_len + len], m))
    }

    /// Number of frames (not counting discarded slots).
    pub fn frame_count(&self) -> usize {
        self.lens.iter().filter(|&&l| l > 0).count()
    }
}

/// The loop's wake-up: a `mio::Waker` plus a flag so that a burst of wake-ups between two
/// loop iterations costs one `eventfd` write.
#[derive(Debug)]
pub(crate) struct WakeState {
    waker: mio::Waker,
    pending: AtomicBool,
}

impl WakeState {
    pub(crate) fn new(waker: mio::Waker) -> WakeState {
        WakeState {
            waker,
            pending: AtomicBool::new(false),
        }
    }

    pub(crate) fn wake(&self) {
        if !self.pending.swap(true, Ordering::AcqRel) {
            if let Err(e) = self.waker.wake() {
                tracing::warn!(error = %e, "waking the linnet event loop failed");
            }
        }
    }

    /// Called by the loop after each poll, before it looks at any state.
    pub(crate) fn clear(&self) {
        self.pending.store(false, Ordering::Release);
    }
}

/// Wakes a runtime's event loop from any thread (a device without an fd calls it when a
/// frame arrives). Cheap to clone.
#[derive(Clone, Debug)]
pub struct Notifier {
    pub(crate) state: Arc<WakeState>,
}

impl Notifier {
    /// Wakes the event loop; coalesced with other wake-ups not yet seen by the loop.
    pub fn wake(&self) {
        self.state.wake();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rx_batch_commits_and_discards_in_slot_order() {
        let mut b = RxBatch::new(3, 4);
        b.next_slot().unwrap()[..2].copy_from_slice(&[1, 2]);
        b.commit(2);
        b.next_slot().unwrap()[0] = 9;
        b.discard();
        b.next_slot().unwrap().copy_from_slice(&[5, 6, 7, 8]);
        b.commit(10);
        assert!(b.next_slot().is_none());
        assert_eq!(b.free(), 0);
        let frames: Vec<&[u8]> = b.frames().collect();
        assert_eq!(frames, vec![&[1, 2][..], &[5, 6, 7, 8][..]]);
        assert_eq!(b.frame_count(), 2);
        b.clear();
        assert_eq!(b.free(), 3);
        assert_eq!(b.frames().count(), 0);
    }

    #[test]
    fn rx_batch_keeps_metadata_per_frame_and_counts_refused_frames() {
        let mut b = RxBatch::new(4, 8);
        let gso = RxMeta {
            gso_size: 1448,
            gso_type: GsoType::TcpV4,
            ip_summed: IpSummed::Partial,
        };
        b.commit(3);
        b.drop_frame();
        b.commit_meta(5, gso);
        let metas: Vec<RxMeta> = b.frames_meta().map(|(_, m)| m).collect();
        assert_eq!(metas, vec![RxMeta::default(), gso]);
        assert_eq!(b.frames_meta().nth(1).unwrap().0.len(), 5);
        assert_eq!((b.dropped(), b.used(), b.frame_count()), (1, 3, 2));
        b.drop_frame();
        b.drop_frame(); // full: not counted
        assert_eq!(b.dropped(), 2);
        b.clear();
        assert_eq!((b.dropped(), b.used()), (0, 0));
    }

    #[test]
    fn rx_batch_free_slots_start_after_used_ones() {
        let mut b = RxBatch::new(4, 8);
        b.commit(1);
        let n = b.free_slots_mut().map(|s| s.fill(3)).count();
        assert_eq!(n, 3);
        b.commit(8);
        assert_eq!(b.frames().nth(1).unwrap(), &[3; 8]);
    }
}

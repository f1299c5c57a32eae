//! An in-memory link: two device ends joined by bounded channels, so that two runtimes (or a
//! runtime and a test) exchange frames without root, a kernel interface or a file descriptor.
//!
//! Linux: drivers/net/veth.c (a pair of devices, what one transmits the other receives;
//! `veth_xmit` drops when the peer's queue is full).
//! RFCs: none.
//!
//! Each end has a queue of [`QUEUE_LEN`] frames; a send to a full queue, or to an end that was
//! dropped, loses the frame (counted in [`MemoryDevice::tx_dropped`]) as a full ring would.
//! A send wakes the peer's event loop through the [`Notifier`] it was attached with.

use std::io;
use std::os::fd::RawFd;
use std::sync::mpsc::{sync_channel, Receiver, SyncSender, TryRecvError, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};

use linnet_core::DeviceKind;

use crate::device::{Device, Notifier, RxBatch, LL_HEADROOM};

/// Frames each end buffers before it drops.
pub const QUEUE_LEN: usize = 1024;

/// The slot where an end's runtime leaves its notifier for the peer to call.
type NotifySlot = Arc<Mutex<Option<Notifier>>>;

/// One end of an in-memory link (Linux: one device of a veth pair).
#[derive(Debug)]
pub struct MemoryDevice {
    name: String,
    kind: DeviceKind,
    mtu: Option<u32>,
    tx: SyncSender<Vec<u8>>,
    rx: Receiver<Vec<u8>>,
    /// Our notifier (set by our runtime), which the peer calls after sending to us.
    own_notify: NotifySlot,
    /// The peer's notifier, called after we send.
    peer_notify: NotifySlot,
    tx_dropped: u64,
    rx_truncated: u64,
}

impl MemoryDevice {
    /// A joined pair: what `a` sends `b` receives and back. `kind` gives each end's framing
    /// (both `Ethernet` with different MACs, or both `Ip`).
    pub fn pair(
        name_a: &str,
        kind_a: DeviceKind,
        name_b: &str,
        kind_b: DeviceKind,
    ) -> (MemoryDevice, MemoryDevice) {
        let (tx_ab, rx_ab) = sync_channel(QUEUE_LEN);
        let (tx_ba, rx_ba) = sync_channel(QUEUE_LEN);
        let notify_a: NotifySlot = Arc::default();
        let notify_b: NotifySlot = Arc::default();
        let a = MemoryDevice {
            name: name_a.to_string(),
            kind: kind_a,
            mtu: None,
            tx: tx_ab,
            rx: rx_ba,
            own_notify: notify_a.clone(),
            peer_notify: notify_b.clone(),
            tx_dropped: 0,
            rx_truncated: 0,
        };
        let b = MemoryDevice {
            name: name_b.to_string(),
            kind: kind_b,
            mtu: None,
            tx: tx_ba,
            rx: rx_ab,
            own_notify: notify_b,
            peer_notify: notify_a,
            tx_dropped: 0,
            rx_truncated: 0,
        };
        (a, b)
    }

    /// Sets the MTU this end announces to its stack.
    pub fn with_mtu(mut self, mtu: u32) -> MemoryDevice {
        self.mtu = Some(mtu);
        self
    }

    /// Frames lost on send (peer queue full or peer gone).
    pub fn tx_dropped(&self) -> u64 {
        self.tx_dropped
    }

    /// Frames dropped on receive because they were longer than [`Device::max_frame_len`].
    pub fn rx_truncated(&self) -> u64 {
        self.rx_truncated
    }

    fn wake_peer(&self) {
        let slot = self
            .peer_notify
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some(n) = slot.as_ref() {
            n.wake();
        }
    }
}

impl Device for MemoryDevice {
    fn name(&self) -> &str {
        &self.name
    }

    fn kind(&self) -> DeviceKind {
        self.kind
    }

    fn mtu(&self) -> Option<u32> {
        self.mtu
    }

    fn max_frame_len(&self) -> usize {
        self.mtu.unwrap_or(1500) as usize + LL_HEADROOM
    }

    fn raw_fd(&self) -> Option<RawFd> {
        None
    }

    fn attach(&mut self, notifier: Notifier) {
        *self
            .own_notify
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(notifier);
    }

    fn recv_batch(&mut self, batch: &mut RxBatch) -> io::Result<usize> {
        let mut n = 0;
        while batch.free() > 0 {
            match self.rx.try_recv() {
                Ok(frame) => {
                    n += 1;
                    match batch.next_slot() {
                        Some(slot) if frame.len() <= slot.len() && !frame.is_empty() => {
                            slot[..frame.len()].copy_from_slice(&frame);
                            batch.commit(frame.len());
                        }
                        _ => {
                            self.rx_truncated += 1;
                            batch.discard();
                        }
                    }
                }
                Err(TryRecvError::Empty) | Err(TryRecvError::Disconnected) => break,
            }
        }
        Ok(n)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        let r = match self.tx.try_send(frame.to_vec()) {
            Ok(()) => Ok(()),
            Err(TrySendError::Full(_)) => {
                self.tx_dropped += 1;
                Err(io::Error::from(io::ErrorKind::WouldBlock))
            }
            Err(TrySendError::Disconnected(_)) => {
                self.tx_dropped += 1;
                Err(io::Error::from_raw_os_error(libc::ENOTCONN))
            }
        };
        if r.is_ok() {
            self.wake_peer();
        }
        r
    }

    fn send_batch(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
        let mut sent = 0;
        let mut result = Ok(frames.len());
        for f in frames {
            let r = match self.tx.try_send(f.to_vec()) {
                Ok(()) => Ok(()),
                Err(TrySendError::Full(_)) => Err(io::Error::from(io::ErrorKind::WouldBlock)),
                Err(TrySendError::Disconnected(_)) => {
                    Err(io::Error::from_raw_os_error(libc::ENOTCONN))
                }
            };
            if let Err(e) = r {
                self.tx_dropped += 1;
                result = if sent == 0 { Err(e) } else { Ok(sent) };
                break;
            }
            sent += 1;
        }
        if sent > 0 {
            self.wake_peer();
        }
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pair_delivers_frames_in_order_to_the_other_end() {
        let (mut a, mut b) = MemoryDevice::pair("a", DeviceKind::Ip, "b", DeviceKind::Ip);
        a.send(&[0x45, 1]).unwrap();
        assert_eq!(a.send_batch(&[&[0x45, 2], &[0x45, 3]]).unwrap(), 2);
        let mut batch = RxBatch::new(2, 64);
        assert_eq!(b.recv_batch(&mut batch).unwrap(), 2);
        let got: Vec<&[u8]> = batch.frames().collect();
        assert_eq!(got, vec![&[0x45, 1][..], &[0x45, 2][..]]);
        batch.clear();
        assert_eq!(b.recv_batch(&mut batch).unwrap(), 1);
        batch.clear();
        assert_eq!(b.recv_batch(&mut batch).unwrap(), 0);
        let mut nothing = RxBatch::new(4, 64);
        assert_eq!(a.recv_batch(&mut nothing).unwrap(), 0);
    }

    #[test]
    fn send_to_a_dropped_end_is_enotconn_and_counted() {
        let (mut a, b) = MemoryDevice::pair("a", DeviceKind::Ip, "b", DeviceKind::Ip);
        drop(b);
        let e = a.send(&[0x45]).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::ENOTCONN));
        assert_eq!(a.tx_dropped(), 1);
    }

    #[test]
    fn full_queue_drops_with_would_block() {
        let (mut a, _b) = MemoryDevice::pair("a", DeviceKind::Ip, "b", DeviceKind::Ip);
        for _ in 0..QUEUE_LEN {
            a.send(&[0x45]).unwrap();
        }
        let e = a.send(&[0x45]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert_eq!(a.tx_dropped(), 1);
    }
}

//! A pcap tap: wraps any [`Device`] and records every frame it receives and sends to a
//! classic libpcap file, which tcpdump and Wireshark read.
//!
//! Linux: the role of a packet tap on a device (net/core/dev.c `dev_queue_xmit_nit` for
//! transmit, the `ptype_all` delivery in `__netif_receive_skb_core` for receive), as
//! `tcpdump -i DEV -w FILE` uses it.
//! RFCs: none (format: draft-ietf-opsawg-pcap).
//!
//! Link type: `LINKTYPE_ETHERNET` (1) for Ethernet devices, `LINKTYPE_RAW` (101) for IP
//! devices. Timestamps are wall-clock time (as tcpdump's), nanosecond resolution. Frames
//! are written through a buffer flushed after every batch, so the file is complete whenever
//! the event loop is idle. A write error disables recording (logged once) and never stops
//! traffic.

use std::fmt;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::os::fd::RawFd;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use linnet_core::DeviceKind;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

use crate::device::{Device, Notifier, RxBatch};

/// Bytes recorded per frame at most (`snaplen`).
const SNAPLEN: u32 = 262_144;

/// The writer as `PcapWriter` holds it, sharing the real writer with the tap so that the tap
/// can flush it (`PcapWriter` offers no access to its writer).
struct Sink<W>(Arc<Mutex<W>>);

impl<W: Write> Write for Sink<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush()
    }
}

/// A device whose traffic is recorded to a pcap file.
pub struct PcapTap<D: Device, W: Write + Send = BufWriter<File>> {
    inner: D,
    out: Arc<Mutex<W>>,
    writer: Option<PcapWriter<Sink<W>>>,
    recorded: u64,
}

impl<D: Device, W: Write + Send> fmt::Debug for PcapTap<D, W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PcapTap")
            .field("inner", &self.inner)
            .field("recording", &self.writer.is_some())
            .field("recorded", &self.recorded)
            .finish()
    }
}

impl<D: Device> PcapTap<D> {
    /// Records `inner`'s traffic to a new file at `path` (truncated if it exists).
    pub fn create(inner: D, path: impl AsRef<Path>) -> io::Result<PcapTap<D>> {
        let file = File::create(path)?;
        PcapTap::new(inner, BufWriter::new(file))
    }
}

impl<D: Device, W: Write + Send> PcapTap<D, W> {
    /// Records `inner`'s traffic to `writer`; writes the pcap file header now.
    pub fn new(inner: D, writer: W) -> io::Result<PcapTap<D, W>> {
        let datalink = match inner.kind() {
            DeviceKind::Ip => DataLink::RAW,
            DeviceKind::Ethernet { .. } | DeviceKind::Loopback => DataLink::ETHERNET,
        };
        let header = PcapHeader {
            snaplen: SNAPLEN,
            datalink,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::native(),
            ..PcapHeader::default()
        };
        let out = Arc::new(Mutex::new(writer));
        let writer =
            PcapWriter::with_header(Sink(out.clone()), header).map_err(io::Error::other)?;
        let mut tap = PcapTap {
            inner,
            out,
            writer: Some(writer),
            recorded: 0,
        };
        tap.flush();
        Ok(tap)
    }

    /// The wrapped device.
    pub fn inner(&self) -> &D {
        &self.inner
    }

    /// Frames recorded so far.
    pub fn recorded(&self) -> u64 {
        self.recorded
    }

    /// A handle on the writer (for example to read back an in-memory capture).
    pub fn writer(&self) -> Arc<Mutex<W>> {
        self.out.clone()
    }

    fn record(&mut self, ts: Duration, frame: &[u8]) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        let orig_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let caplen = frame.len().min(SNAPLEN as usize);
        let pkt = PcapPacket::new(ts, orig_len, &frame[..caplen]);
        if let Err(e) = w.write_packet(&pkt) {
            let dev = self.inner.name();
            tracing::warn!(%dev, error = %e, "pcap write failed; recording stops");
            self.writer = None;
            return;
        }
        self.recorded += 1;
    }

    fn flush(&mut self) {
        if self.writer.is_none() {
            return;
        }
        let r = self
            .out
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .flush();
        if let Err(e) = r {
            let dev = self.inner.name();
            tracing::warn!(%dev, error = %e, "pcap flush failed; recording stops");
            self.writer = None;
        }
    }
}

fn now() -> Duration {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
}

impl<D: Device, W: Write + Send> Device for PcapTap<D, W> {
    fn name(&self) -> &str {
        self.inner.name()
    }

    fn kind(&self) -> DeviceKind {
        self.inner.kind()
    }

    fn mtu(&self) -> Option<u32> {
        self.inner.mtu()
    }

    fn max_frame_len(&self) -> usize {
        self.inner.max_frame_len()
    }

    fn raw_fd(&self) -> Option<RawFd> {
        self.inner.raw_fd()
    }

    fn attach(&mut self, notifier: Notifier) {
        self.inner.attach(notifier)
    }

    fn recv_batch(&mut self, batch: &mut RxBatch) -> io::Result<usize> {
        let before = batch.used();
        let n = self.inner.recv_batch(batch)?;
        if n > 0 && self.writer.is_some() {
            let ts = now();
            for f in batch.frames_since(before) {
                self.record(ts, f);
            }
            self.flush();
        }
        Ok(n)
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        let r = self.inner.send(frame);
        if r.is_ok() {
            self.record(now(), frame);
            self.flush();
        }
        r
    }

    fn send_batch(&mut self, frames: &[&[u8]]) -> io::Result<usize> {
        let r = self.inner.send_batch(frames);
        if let Ok(n) = r {
            let ts = now();
            for f in &frames[..n.min(frames.len())] {
                self.record(ts, f);
            }
            self.flush();
        }
        r
    }
}

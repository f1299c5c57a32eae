//! pcap capture of a link, with timestamps from virtual time.
//!
//! Linux analogue: `tcpdump -i veth0 -w FILE` (the `AF_PACKET` tap, net/packet/af_packet.c,
//! fed by `dev_queue_xmit_nit` in net/core/dev.c).
//! Format: the classic libpcap file (LINKTYPE_ETHERNET = 1, nanosecond timestamps, magic
//! 0xa1b23c4d), written with the `pcap-file` crate; see draft-ietf-opsawg-pcap.
//!
//! Where frames are captured: on the sending side, once per frame put on the wire, at the
//! virtual time it is sent, *before* the link's impairments. So a frame the link then loses
//! or drops as oversize is still in the capture, and a frame the link duplicates appears
//! once. Both directions of the link go into the same file.

use std::io::{self, Write};

use linnet_core::Instant;
use pcap_file::pcap::{PcapHeader, PcapPacket, PcapWriter};
use pcap_file::{DataLink, Endianness, TsResolution};

/// Longest frame recorded whole; longer frames are cut (their original length is kept).
pub(crate) const SNAPLEN: u32 = 262_144;

/// A pcap writer attached to a link. A write error stops the capture; it is kept and
/// returned by [`Capture::finish`].
pub(crate) struct Capture {
    writer: Option<PcapWriter<Box<dyn Write>>>,
    error: Option<io::Error>,
    /// Frames written.
    pub(crate) frames: u64,
}

fn to_io(e: pcap_file::PcapError) -> io::Error {
    match e {
        pcap_file::PcapError::IoError(e) => e,
        other => io::Error::other(other),
    }
}

impl Capture {
    /// Writes the file header to `out`.
    pub(crate) fn new(out: Box<dyn Write>) -> io::Result<Capture> {
        let header = PcapHeader {
            snaplen: SNAPLEN,
            datalink: DataLink::ETHERNET,
            ts_resolution: TsResolution::NanoSecond,
            endianness: Endianness::native(),
            ..PcapHeader::default()
        };
        let writer = PcapWriter::with_header(out, header).map_err(to_io)?;
        Ok(Capture {
            writer: Some(writer),
            error: None,
            frames: 0,
        })
    }

    /// Records `frame` sent at `at`.
    pub(crate) fn record(&mut self, at: Instant, frame: &[u8]) {
        let Some(w) = self.writer.as_mut() else {
            return;
        };
        let orig_len = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let data = &frame[..frame.len().min(SNAPLEN as usize)];
        let ts = std::time::Duration::from_nanos(at.as_nanos());
        match w.write_packet(&PcapPacket::new(ts, orig_len, data)) {
            Ok(_) => self.frames += 1,
            Err(e) => {
                self.error = Some(to_io(e));
                self.writer = None;
            }
        }
    }

    /// Flushes and closes the capture, returning the first error met.
    pub(crate) fn finish(mut self) -> io::Result<()> {
        if let Some(e) = self.error.take() {
            return Err(e);
        }
        match self.writer.take() {
            Some(w) => w.into_writer().flush(),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;
    use std::rc::Rc;

    #[derive(Clone, Default)]
    struct Shared(Rc<RefCell<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> io::Result<usize> {
            self.0.borrow_mut().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn capture_round_trips_through_pcap_reader() {
        let buf = Shared::default();
        let mut cap = Capture::new(Box::new(buf.clone())).unwrap();
        cap.record(Instant::from_nanos(1_500_000_123), &[0xab; 60]);
        cap.record(Instant::from_secs(2), &[0xcd; 42]);
        cap.finish().unwrap();
        let bytes = buf.0.borrow().clone();
        let mut r = pcap_file::pcap::PcapReader::new(&bytes[..]).unwrap();
        assert_eq!(r.header().datalink, DataLink::ETHERNET);
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!(p.timestamp, std::time::Duration::from_nanos(1_500_000_123));
        assert_eq!(p.orig_len, 60);
        assert_eq!(&p.data[..], &[0xab; 60][..]);
        let p = r.next_packet().unwrap().unwrap();
        assert_eq!(p.data.len(), 42);
        assert!(r.next_packet().is_none());
    }
}

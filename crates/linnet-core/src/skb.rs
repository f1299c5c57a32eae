//! The packet buffer: `SkBuff`, and the pool that recycles its storage.
//!
//! Linux: include/linux/skbuff.h, net/core/skbuff.c (`alloc_skb`, `skb_reserve`, `skb_put`,
//! `skb_push`, `skb_pull`, `skb_trim`, header offsets, `truesize`).
//! RFCs: none.
//!
//! Layout, as in Linux: `0 (head) <= data <= tail <= buf.len() (end)`. Headroom is reserved
//! when the buffer is allocated so lower layers `push` their headers without copying. Header
//! offsets are stored relative to head and stay valid across `push`/`pull`.
//!
//! The descriptor is boxed (`SkBuff` is one pointer to an [`SkBuffInner`]) so that passing a
//! packet down the stack by value moves 8 bytes, not the whole descriptor; the pool recycles
//! box and buffer together.
//!
//! Invariants callers rely on: `data <= tail <= buf.len()` always holds; `push` never fails
//! (it grows the headroom by reallocating if it must, like `skb_cow_head`), `pull` and `trim`
//! refuse rather than underflow.

use alloc::boxed::Box;
use alloc::vec::Vec;
use core::ops::{Deref, DerefMut};

use crate::dev::IfIndex;

/// Headroom reserved in every pooled buffer: enough for Ethernet + 802.1Q + IPv6 + the
/// largest TCP header, rounded up (Linux: `NET_SKB_PAD` + `LL_MAX_HEADER`).
pub const HEADROOM: usize = 128;

/// Offset value meaning "header not set yet" (Linux: `(typeof(skb->mac_header))~0U`).
const UNSET: u16 = u16::MAX;

/// How the packet reached this host, from the link-layer destination (Linux: `PACKET_*`,
/// include/uapi/linux/if_packet.h).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum PacketType {
    /// To us (`PACKET_HOST`).
    #[default]
    Host = 0,
    /// To all (`PACKET_BROADCAST`).
    Broadcast = 1,
    /// To a group (`PACKET_MULTICAST`).
    Multicast = 2,
    /// To someone else (`PACKET_OTHERHOST`).
    OtherHost = 3,
    /// Outgoing (`PACKET_OUTGOING`).
    Outgoing = 4,
    /// Looped back (`PACKET_LOOPBACK`).
    Loopback = 5,
}

/// Segmentation-offload type (Linux: `SKB_GSO_*`). On receive, an offloading TAP marks the
/// kernel's TCPv4 super-segments `TcpV4`; nothing is segmented on output yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum GsoType {
    /// Not a GSO packet.
    #[default]
    None,
    /// TCP over IPv4 (`SKB_GSO_TCPV4`).
    TcpV4,
    /// TCP over IPv6 (`SKB_GSO_TCPV6`).
    TcpV6,
    /// UDP segmentation (`SKB_GSO_UDP_L4`).
    UdpL4,
}

/// Checksum state (Linux: `skb->ip_summed`, `CHECKSUM_*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum IpSummed {
    /// Nothing known; software must verify or compute (`CHECKSUM_NONE`).
    #[default]
    None,
    /// The device verified the L4 checksum (`CHECKSUM_UNNECESSARY`).
    Unnecessary,
    /// The device gave the full one's-complement sum (`CHECKSUM_COMPLETE`).
    Complete,
    /// The device will compute it on transmit (`CHECKSUM_PARTIAL`).
    Partial,
}

/// One packet: data, header offsets and metadata (Linux: `struct sk_buff`).
///
/// The descriptor lives in a box ([`SkBuffInner`], reached through `Deref`, so `skb.dev` and
/// `skb.push(..)` read as on the descriptor itself): a packet moves down the stack by value
/// through about ten calls and queues, and each move is one pointer rather than the whole
/// descriptor. The pool recycles the box together with its buffer, so steady-state traffic
/// still allocates nothing.
#[derive(Debug)]
pub struct SkBuff(Box<SkBuffInner>);

/// The descriptor of an [`SkBuff`]: buffer, header offsets and metadata. Only reachable
/// through an `SkBuff`.
#[derive(Debug)]
pub struct SkBuffInner {
    buf: Vec<u8>,
    data: usize,
    tail: usize,
    mac_header: u16,
    network_header: u16,
    transport_header: u16,
    /// Device the packet arrived on or leaves by (`skb->dev`, as an index).
    pub dev: IfIndex,
    /// Link-layer protocol, an EtherType (`skb->protocol`).
    pub protocol: u16,
    /// Link-layer classification (`skb->pkt_type`).
    pub pkt_type: PacketType,
    /// Firewall mark (`skb->mark`).
    pub mark: u32,
    /// Queueing priority (`skb->priority`).
    pub priority: u32,
    /// GSO segment size, 0 when not GSO (`skb_shinfo(skb)->gso_size`).
    pub gso_size: u16,
    /// GSO type (`skb_shinfo(skb)->gso_type`).
    pub gso_type: GsoType,
    /// Checksum state (`skb->ip_summed`).
    pub ip_summed: IpSummed,
}

impl SkBuffInner {
    /// The L4 checksum need not be verified in software (Linux: `skb_csum_unnecessary`): the
    /// device verified it (`CHECKSUM_UNNECESSARY`), or the packet was built on this host and
    /// its checksum is left partial for "hardware" (`CHECKSUM_PARTIAL`: a TAP opened with
    /// `IFF_VNET_HDR` hands over the kernel's own segments that way).
    pub fn csum_unnecessary(&self) -> bool {
        matches!(self.ip_summed, IpSummed::Unnecessary | IpSummed::Partial)
    }

    /// It is a GSO super-packet carrying several segments of `gso_size` bytes
    /// (`skb_is_gso`).
    pub fn is_gso(&self) -> bool {
        self.gso_size != 0
    }
}

impl Deref for SkBuff {
    type Target = SkBuffInner;

    #[inline(always)]
    fn deref(&self) -> &SkBuffInner {
        &self.0
    }
}

impl DerefMut for SkBuff {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut SkBuffInner {
        &mut self.0
    }
}

impl SkBuff {
    /// A fresh buffer of `size` bytes with `headroom` reserved and no data.
    /// Allocates; the data path uses [`SkbPool::alloc`] instead.
    pub fn with_capacity(headroom: usize, size: usize) -> SkBuff {
        SkBuff::from_vec(alloc::vec![0; headroom + size], headroom)
    }

    /// A buffer holding a copy of `bytes` with the standard headroom. Allocates; for tests
    /// and drivers that own no pool.
    pub fn from_slice(bytes: &[u8]) -> SkBuff {
        let mut skb = SkBuff::with_capacity(HEADROOM, bytes.len());
        skb.put_slice(bytes);
        skb
    }

    fn from_vec(buf: Vec<u8>, headroom: usize) -> SkBuff {
        let headroom = headroom.min(buf.len());
        SkBuff(Box::new(SkBuffInner {
            buf,
            data: headroom,
            tail: headroom,
            mac_header: UNSET,
            network_header: UNSET,
            transport_header: UNSET,
            dev: IfIndex(0),
            protocol: 0,
            pkt_type: PacketType::Host,
            mark: 0,
            priority: 0,
            gso_size: 0,
            gso_type: GsoType::None,
            ip_summed: IpSummed::None,
        }))
    }
}

impl SkBuffInner {
    /// Bytes of packet data (`skb->len`).
    #[inline]
    pub fn len(&self) -> usize {
        self.tail - self.data
    }

    /// True when the packet has no data.
    #[inline]
    pub fn is_empty(&self) -> bool {
        self.tail == self.data
    }

    /// Free bytes before `data` (`skb_headroom`).
    #[inline]
    pub fn headroom(&self) -> usize {
        self.data
    }

    /// Free bytes after `tail` (`skb_tailroom`).
    #[inline]
    pub fn tailroom(&self) -> usize {
        self.buf.len() - self.tail
    }

    /// Memory charged to a socket for this packet (`skb->truesize`): the whole allocation
    /// plus the descriptor.
    #[inline]
    pub fn truesize(&self) -> usize {
        self.buf.capacity() + core::mem::size_of::<SkBuffInner>()
    }

    /// The packet data.
    #[inline]
    pub fn data(&self) -> &[u8] {
        &self.buf[self.data..self.tail]
    }

    /// The packet data, writable.
    #[inline]
    pub fn data_mut(&mut self) -> &mut [u8] {
        &mut self.buf[self.data..self.tail]
    }

    /// Moves `data` and `tail` forward by `len` on an empty buffer (`skb_reserve`).
    /// Returns false (and does nothing) if the buffer is not empty or too small.
    #[inline]
    pub fn reserve(&mut self, len: usize) -> bool {
        if !self.is_empty() || self.tail + len > self.buf.len() {
            return false;
        }
        self.data += len;
        self.tail += len;
        true
    }

    /// Extends the data at the tail by `len` zeroed bytes and returns them (`skb_put`).
    /// Grows the buffer if the tailroom is short.
    #[inline]
    pub fn put(&mut self, len: usize) -> &mut [u8] {
        if self.tailroom() < len {
            self.buf.resize(self.tail + len, 0);
        }
        let start = self.tail;
        self.tail += len;
        let area = &mut self.buf[start..self.tail];
        area.fill(0);
        area
    }

    /// Appends a copy of `bytes` (`skb_put_data`).
    #[inline]
    pub fn put_slice(&mut self, bytes: &[u8]) {
        if self.tailroom() < bytes.len() {
            self.buf.resize(self.tail + bytes.len(), 0);
        }
        let start = self.tail;
        self.tail += bytes.len();
        self.buf[start..self.tail].copy_from_slice(bytes);
    }

    /// Extends the data at the head by `len` zeroed bytes and returns them (`skb_push`).
    /// When the headroom is short the buffer is reallocated with [`HEADROOM`] more in front
    /// (Linux would `skb_cow_head`; it never panics here).
    pub fn push(&mut self, len: usize) -> &mut [u8] {
        if self.data < len {
            let grow = len - self.data + HEADROOM;
            let mut nbuf = Vec::with_capacity(self.buf.len() + grow);
            nbuf.resize(grow, 0);
            nbuf.extend_from_slice(&self.buf);
            self.buf = nbuf;
            self.data += grow;
            self.tail += grow;
            for h in [
                &mut self.mac_header,
                &mut self.network_header,
                &mut self.transport_header,
            ] {
                if *h != UNSET {
                    *h = u16::try_from(usize::from(*h) + grow).unwrap_or(UNSET);
                }
            }
        }
        self.data -= len;
        let area = &mut self.buf[self.data..self.data + len];
        area.fill(0);
        area
    }

    /// Like [`push`](Self::push) without zeroing the area first: its bytes are whatever the
    /// buffer held before (a reused pool buffer's old packet).
    ///
    /// Only for callers that write **every** byte of the returned area before the packet
    /// goes anywhere (a header `emit` that sets each field), so that no stale byte can
    /// reach the wire. Each call site states why that holds.
    #[inline]
    pub fn push_for_overwrite(&mut self, len: usize) -> &mut [u8] {
        if self.data < len {
            // The rare regrowth path zeroes anyway.
            return self.push(len);
        }
        self.data -= len;
        &mut self.buf[self.data..self.data + len]
    }

    /// Like [`put`](Self::put) without zeroing the area first; the same rule as
    /// [`push_for_overwrite`](Self::push_for_overwrite): the caller writes every byte.
    #[inline]
    pub fn put_for_overwrite(&mut self, len: usize) -> &mut [u8] {
        if self.tailroom() < len {
            return self.put(len);
        }
        let start = self.tail;
        self.tail += len;
        &mut self.buf[start..self.tail]
    }

    /// Removes `len` bytes from the head (`skb_pull`). Returns false, changing nothing, if
    /// the packet is shorter than `len`.
    #[inline]
    pub fn pull(&mut self, len: usize) -> bool {
        if self.len() < len {
            return false;
        }
        self.data += len;
        true
    }

    /// Cuts the data to `len` bytes (`skb_trim`); no effect if already shorter.
    #[inline]
    pub fn trim(&mut self, len: usize) {
        if len < self.len() {
            self.tail = self.data + len;
        }
    }

    fn offset(&self) -> u16 {
        u16::try_from(self.data).unwrap_or(UNSET)
    }

    /// Marks the current `data` as the start of the link-layer header.
    #[inline]
    pub fn reset_mac_header(&mut self) {
        self.mac_header = self.offset();
    }

    /// Marks the current `data` as the start of the network header.
    #[inline]
    pub fn reset_network_header(&mut self) {
        self.network_header = self.offset();
    }

    /// Marks the current `data` as the start of the transport header.
    #[inline]
    pub fn reset_transport_header(&mut self) {
        self.transport_header = self.offset();
    }

    /// Sets the transport header `off` bytes after the network header (the IHL rule of the
    /// lab: L4 = network header + ihl * 4).
    #[inline]
    pub fn set_transport_after_network(&mut self, off: usize) {
        if self.network_header != UNSET {
            let t = usize::from(self.network_header) + off;
            self.transport_header = u16::try_from(t).unwrap_or(UNSET);
        }
    }

    fn bytes_from(&self, off: u16) -> Option<&[u8]> {
        if off == UNSET {
            return None;
        }
        self.buf.get(usize::from(off)..self.tail)
    }

    /// Bytes from the link-layer header to the tail (`skb_mac_header`).
    #[inline]
    pub fn mac_header(&self) -> Option<&[u8]> {
        self.bytes_from(self.mac_header)
    }

    /// Bytes from the network header to the tail (`skb_network_header`).
    #[inline]
    pub fn network_header(&self) -> Option<&[u8]> {
        self.bytes_from(self.network_header)
    }

    /// Bytes from the transport header to the tail (`skb_transport_header`).
    #[inline]
    pub fn transport_header(&self) -> Option<&[u8]> {
        self.bytes_from(self.transport_header)
    }

    /// Offset of the network header from `data` (negative when already pulled past it).
    #[inline]
    pub fn network_offset(&self) -> Option<isize> {
        (self.network_header != UNSET)
            .then(|| usize::from(self.network_header) as isize - self.data as isize)
    }

    /// Resets the header offsets and the metadata to those of a freshly allocated buffer,
    /// keeping the data: for a received packet whose buffer is turned into a reply in
    /// place (Linux would allocate a new skb, whose fields start out like this).
    #[inline]
    pub(crate) fn reset_for_reuse(&mut self) {
        self.mac_header = UNSET;
        self.network_header = UNSET;
        self.transport_header = UNSET;
        self.dev = IfIndex(0);
        self.protocol = 0;
        self.pkt_type = PacketType::Host;
        self.mark = 0;
        self.priority = 0;
        self.gso_size = 0;
        self.gso_type = GsoType::None;
        self.ip_summed = IpSummed::None;
    }

    /// Resets data, offsets and metadata so the storage can be reused.
    fn clear(&mut self, headroom: usize) {
        let headroom = headroom.min(self.buf.len());
        self.data = headroom;
        self.tail = headroom;
        self.mac_header = UNSET;
        self.network_header = UNSET;
        self.transport_header = UNSET;
        self.dev = IfIndex(0);
        self.protocol = 0;
        self.pkt_type = PacketType::Host;
        self.mark = 0;
        self.priority = 0;
        self.gso_size = 0;
        self.gso_type = GsoType::None;
        self.ip_summed = IpSummed::None;
    }
}

/// Counters of the pool, for the allocation tests and `linnet stat`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Buffers handed out.
    pub allocs: u64,
    /// Of those, how many needed a fresh heap allocation.
    pub fresh: u64,
    /// Buffers returned and kept for reuse.
    pub recycled: u64,
    /// Buffers returned but released because the pool was full or they were oversized.
    pub released: u64,
}

/// A free list of packet buffers so that steady-state traffic allocates nothing
/// (the role of Linux's `skbuff_head_cache` slab and page-frag caches).
#[derive(Debug)]
pub struct SkbPool {
    free: Vec<SkBuff>,
    buf_size: usize,
    limit: usize,
    stats: PoolStats,
}

impl SkbPool {
    /// A pool of buffers of `buf_size` bytes (headroom included), keeping at most `limit`.
    #[inline]
    pub fn new(buf_size: usize, limit: usize) -> SkbPool {
        SkbPool {
            free: Vec::new(),
            buf_size: buf_size.max(HEADROOM + 64),
            limit,
            stats: PoolStats::default(),
        }
    }

    /// Size of each pooled buffer, headroom included.
    #[inline]
    pub fn buf_size(&self) -> usize {
        self.buf_size
    }

    /// An empty buffer with [`HEADROOM`] reserved and room for at least `len` more bytes.
    pub fn alloc(&mut self, len: usize) -> SkBuff {
        self.stats.allocs += 1;
        let want = (HEADROOM + len).max(self.buf_size);
        match self.free.pop() {
            Some(mut skb) => {
                if skb.buf.len() < want {
                    skb.buf.resize(want, 0);
                }
                skb.clear(HEADROOM);
                skb
            }
            None => {
                self.stats.fresh += 1;
                SkBuff::with_capacity(HEADROOM, want - HEADROOM)
            }
        }
    }

    /// Returns a buffer's storage to the pool (`kfree_skb` / `consume_skb`).
    #[inline]
    pub fn free(&mut self, skb: SkBuff) {
        if self.free.len() < self.limit && skb.buf.capacity() <= 4 * self.buf_size {
            self.stats.recycled += 1;
            self.free.push(skb);
        } else {
            self.stats.released += 1;
        }
    }

    /// Pre-fills the pool with `n` buffers (so a benchmark's first packets do not allocate).
    #[inline]
    pub fn prefill(&mut self, n: usize) {
        while self.free.len() < n.min(self.limit) {
            self.free
                .push(SkBuff::with_capacity(HEADROOM, self.buf_size - HEADROOM));
        }
    }

    /// The pool's counters.
    #[inline]
    pub fn stats(&self) -> PoolStats {
        self.stats
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_pull_keep_header_offsets() {
        let mut skb = SkBuff::with_capacity(64, 100);
        skb.put_slice(&[1, 2, 3, 4]);
        skb.reset_transport_header();
        let h = skb.push(8);
        h[0] = 0xaa;
        skb.reset_network_header();
        skb.push(14)[0] = 0xbb;
        skb.reset_mac_header();
        assert_eq!(skb.len(), 26);
        assert_eq!(skb.mac_header().unwrap()[0], 0xbb);
        assert_eq!(skb.network_header().unwrap()[0], 0xaa);
        assert_eq!(skb.transport_header().unwrap(), &[1, 2, 3, 4]);
        assert!(skb.pull(14));
        assert_eq!(skb.data()[0], 0xaa);
        assert_eq!(skb.network_offset(), Some(0));
        assert!(!skb.pull(100));
        skb.trim(10);
        assert_eq!(skb.len(), 10);
    }

    #[test]
    fn push_beyond_headroom_reallocates_and_keeps_offsets() {
        let mut skb = SkBuff::with_capacity(2, 10);
        skb.put_slice(&[9; 4]);
        skb.reset_network_header();
        skb.push(20)[0] = 7;
        assert_eq!(skb.data()[0], 7);
        assert_eq!(skb.len(), 24);
        assert_eq!(skb.network_header().unwrap(), &[9; 4]);
    }

    #[test]
    fn put_zeroes_reused_bytes() {
        let mut pool = SkbPool::new(256, 4);
        let mut skb = pool.alloc(10);
        skb.put_slice(&[0xff; 10]);
        pool.free(skb);
        let mut skb = pool.alloc(10);
        assert_eq!(skb.put(10), &[0; 10]);
        assert_eq!(pool.stats().fresh, 1);
        assert_eq!(pool.stats().allocs, 2);
    }

    /// The descriptor moves as one pointer; `truesize` still charges the whole descriptor.
    #[test]
    fn skbuff_is_one_pointer_and_truesize_counts_the_descriptor() {
        assert_eq!(
            core::mem::size_of::<SkBuff>(),
            core::mem::size_of::<usize>()
        );
        let skb = SkBuff::with_capacity(HEADROOM, 100);
        assert_eq!(
            skb.truesize(),
            HEADROOM + 100 + core::mem::size_of::<SkBuffInner>()
        );
    }

    /// `push_for_overwrite` / `put_for_overwrite` hand out the same areas as `push` / `put`,
    /// leaving the old bytes for the caller to overwrite; past the head- or tailroom they
    /// fall back to the zeroing, growing versions.
    #[test]
    fn for_overwrite_variants_keep_the_layout_and_grow_with_zeroes() {
        let mut pool = SkbPool::new(256, 4);
        let mut skb = pool.alloc(10);
        skb.put_slice(&[0xee; 40]);
        skb.push(20).fill(0xdd);
        pool.free(skb);
        let mut skb = pool.alloc(10);
        let t = skb.put_for_overwrite(8);
        assert_eq!(t, &[0xee; 8], "old bytes, not zeroes");
        t.copy_from_slice(&[1; 8]);
        let h = skb.push_for_overwrite(4);
        assert_eq!(h, &[0xdd; 4]);
        h.copy_from_slice(&[2; 4]);
        assert_eq!(skb.data(), &[2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1]);

        let mut small = SkBuff::with_capacity(2, 4);
        small.put_slice(&[9; 2]);
        assert_eq!(small.push_for_overwrite(6), &[0; 6], "regrown, zeroed");
        assert_eq!(small.put_for_overwrite(10), &[0; 10], "regrown, zeroed");
        assert_eq!(small.len(), 18);
    }

    /// `reset_for_reuse` returns the metadata and header offsets to a fresh buffer's, and
    /// keeps the data.
    #[test]
    fn reset_for_reuse_keeps_data_and_clears_metadata() {
        let mut skb = SkBuff::from_slice(&[1, 2, 3, 4]);
        skb.reset_network_header();
        skb.reset_mac_header();
        skb.dev = IfIndex(3);
        skb.mark = 7;
        skb.protocol = 0x0800;
        skb.pkt_type = PacketType::Broadcast;
        skb.reset_for_reuse();
        assert_eq!(skb.data(), &[1, 2, 3, 4]);
        assert!(skb.network_header().is_none() && skb.mac_header().is_none());
        assert_eq!((skb.dev, skb.mark, skb.protocol), (IfIndex(0), 0, 0));
        assert_eq!(skb.pkt_type, PacketType::Host);
    }

    #[test]
    fn reserve_only_on_empty_buffer() {
        let mut skb = SkBuff::with_capacity(0, 32);
        assert!(skb.reserve(16));
        skb.put(1);
        assert!(!skb.reserve(1));
        assert_eq!(skb.headroom(), 16);
    }
}

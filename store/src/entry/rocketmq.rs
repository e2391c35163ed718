//! The RocketMQ stored-message layout (magic V1), which a pull returns verbatim.
//!
//! ```text
//!  off  size  field
//!  0    4     totalSize         whole entry
//!  4    4     magicCode         0xDAA320A7 (V1)
//!  8    4     bodyCRC           CRC32(body) & 0x7FFFFFFF
//!  12   4     queueId
//!  16   4     flag
//!  20   8     queueOffset
//!  28   8     physicalOffset
//!  36   4     sysFlag           bit4: bornHost IPv6, bit5: storeHost IPv6
//!  40   8     bornTimestamp
//!  48   8|20  bornHost          IPv4 + port i32 | IPv6 + port i32
//!  ..   8     storeTimestamp
//!  ..   8|20  storeHost
//!  ..   4     reconsumeTimes
//!  ..   8     preparedTransactionOffset
//!  ..   4     bodyLength, body
//!  ..   1     topicLength, topic
//!  ..   2     propertiesLength, properties (name\x01value\x02...)
//! ```

use std::net::{IpAddr, SocketAddr};

use super::{read_i16, read_i32, read_i64, EntryKind, EntryMeta, Invalid, MessageToStore};

/// Magic V1 (`MESSAGE_MAGIC_CODE`): always written, 1-byte topic length.
pub const MAGIC_V1: i32 = 0xDAA3_20A7_u32 as i32;
/// sysFlag bit: bornHost is IPv6.
pub const FLAG_BORNHOST_V6: i32 = 0x10;
/// sysFlag bit: storeHost is IPv6.
pub const FLAG_STOREHOST_V6: i32 = 0x20;
/// Property separators (§8.3).
pub const NAME_VALUE_SEPARATOR: u8 = 1;
/// Separator between properties.
pub const PROPERTY_SEPARATOR: u8 = 2;

const OFF_QUEUE_OFFSET: usize = 20;
pub(crate) const OFF_PHY_OFFSET: usize = 28;
const OFF_SYS_FLAG: usize = 36;
const OFF_BORN_HOST: usize = 48;

fn host_len(addr: &SocketAddr) -> usize {
    match addr.ip() {
        IpAddr::V4(_) => 8,
        IpAddr::V6(_) => 20,
    }
}

/// Bytes the entry for `msg` takes in the CommitLog.
pub fn encoded_len(msg: &MessageToStore, topic_len: usize, store_host: &SocketAddr) -> usize {
    4 + 4
        + 4
        + 4
        + 4
        + 8
        + 8
        + 4
        + 8
        + host_len(&msg.born_host)
        + 8
        + host_len(store_host)
        + 4
        + 8
        + 4
        + msg.body.len()
        + 1
        + topic_len
        + 2
        + msg.properties.len()
}

/// Where an entry is placed and what the store stamps into it.
#[derive(Debug, Clone, Copy)]
pub struct Placement<'a> {
    /// Topic name bytes (checked by the caller: 1..=127).
    pub topic: &'a [u8],
    /// Queue id.
    pub queue_id: u32,
    /// ConsumeQueue offset assigned.
    pub queue_offset: u64,
    /// CommitLog offset of this entry.
    pub phy_offset: u64,
    /// Store timestamp, ms.
    pub store_timestamp: i64,
    /// The broker's address.
    pub store_host: SocketAddr,
}

struct Cursor<'a> {
    out: &'a mut [u8],
    at: usize,
}

impl Cursor<'_> {
    fn put(&mut self, b: &[u8]) {
        self.out[self.at..self.at + b.len()].copy_from_slice(b);
        self.at += b.len();
    }
    fn host(&mut self, addr: &SocketAddr) {
        match addr.ip() {
            IpAddr::V4(ip) => self.put(&ip.octets()),
            IpAddr::V6(ip) => self.put(&ip.octets()),
        }
        self.put(&(addr.port() as i32).to_be_bytes());
    }
}

/// Encodes `msg` into `out`, which is exactly `encoded_len` bytes. No allocation.
pub fn encode(out: &mut [u8], msg: &MessageToStore, p: &Placement<'_>) {
    let mut sys_flag = msg.sys_flag & !(FLAG_BORNHOST_V6 | FLAG_STOREHOST_V6);
    if msg.born_host.is_ipv6() {
        sys_flag |= FLAG_BORNHOST_V6;
    }
    if p.store_host.is_ipv6() {
        sys_flag |= FLAG_STOREHOST_V6;
    }
    let total = out.len() as i32;
    let crc = (crc32fast::hash(&msg.body) & 0x7FFF_FFFF) as i32;
    let mut c = Cursor { out, at: 0 };
    c.put(&total.to_be_bytes());
    c.put(&MAGIC_V1.to_be_bytes());
    c.put(&crc.to_be_bytes());
    c.put(&(p.queue_id as i32).to_be_bytes());
    c.put(&msg.flag.to_be_bytes());
    c.put(&(p.queue_offset as i64).to_be_bytes());
    c.put(&(p.phy_offset as i64).to_be_bytes());
    c.put(&sys_flag.to_be_bytes());
    c.put(&msg.born_timestamp.to_be_bytes());
    c.host(&msg.born_host);
    c.put(&p.store_timestamp.to_be_bytes());
    c.host(&p.store_host);
    c.put(&msg.reconsume_times.to_be_bytes());
    c.put(&msg.prepared_tx_offset.to_be_bytes());
    c.put(&(msg.body.len() as i32).to_be_bytes());
    c.put(&msg.body);
    c.put(&[p.topic.len() as u8]);
    c.put(p.topic);
    c.put(&(msg.properties.len() as i16).to_be_bytes());
    c.put(&msg.properties);
    debug_assert_eq!(c.at, c.out.len());
}

/// A validated stored message, borrowing the CommitLog bytes.
#[derive(Debug, Clone, Copy)]
pub struct StoredMessage<'a> {
    buf: &'a [u8],
    store_ts_at: usize,
    body: (usize, usize),
    topic: (usize, usize),
    props: (usize, usize),
}

impl<'a> StoredMessage<'a> {
    /// Views an entry the writer has just encoded (no CRC check).
    pub(crate) fn parse_trusted(buf: &'a [u8]) -> Self {
        let phy = read_i64(buf, OFF_PHY_OFFSET).unwrap_or(0) as u64;
        Self::parse_inner(buf, phy, false).expect("freshly encoded entry parses")
    }

    /// Validates the entry in `buf` (exactly `totalSize` bytes) found at `phy`.
    pub(crate) fn parse(buf: &'a [u8], phy: u64) -> Result<Self, Invalid> {
        Self::parse_inner(buf, phy, true)
    }

    fn parse_inner(buf: &'a [u8], phy: u64, verify: bool) -> Result<Self, Invalid> {
        let bad = Invalid::Corrupt;
        let short = || bad("truncated message fields");
        let sys_flag = read_i32(buf, OFF_SYS_FLAG).ok_or_else(short)?;
        let born_len = if sys_flag & FLAG_BORNHOST_V6 != 0 {
            20
        } else {
            8
        };
        let store_len = if sys_flag & FLAG_STOREHOST_V6 != 0 {
            20
        } else {
            8
        };
        let store_ts_at = OFF_BORN_HOST + born_len;
        let body_len_at = store_ts_at + 8 + store_len + 4 + 8;
        let body_len = read_i32(buf, body_len_at).ok_or_else(short)?;
        if body_len < 0 {
            return Err(bad("negative body length"));
        }
        let body_at = body_len_at + 4;
        let body_end = body_at.checked_add(body_len as usize).ok_or_else(short)?;
        let topic_len = *buf.get(body_end).ok_or_else(short)? as usize;
        let topic_at = body_end + 1;
        let props_len_at = topic_at + topic_len;
        let props_len = read_i16(buf, props_len_at).ok_or_else(short)?;
        if props_len < 0 {
            return Err(bad("negative properties length"));
        }
        let props_at = props_len_at + 2;
        if props_at + props_len as usize != buf.len() {
            return Err(bad("field lengths do not add up to totalSize"));
        }
        if read_i64(buf, OFF_PHY_OFFSET) != Some(phy as i64) {
            return Err(bad("physical offset does not match the position"));
        }
        let body = &buf[body_at..body_end];
        if verify && read_i32(buf, 8) != Some((crc32fast::hash(body) & 0x7FFF_FFFF) as i32) {
            return Err(bad("body CRC mismatch"));
        }
        let topic = &buf[topic_at..props_len_at];
        if topic.is_empty() || std::str::from_utf8(topic).is_err() {
            return Err(bad("bad topic"));
        }
        if read_i64(buf, OFF_QUEUE_OFFSET).is_none_or(|q| q < 0)
            || read_i32(buf, 12).is_none_or(|q| q < 0)
        {
            return Err(bad("negative queue id or offset"));
        }
        Ok(StoredMessage {
            buf,
            store_ts_at,
            body: (body_at, body_end),
            topic: (topic_at, props_len_at),
            props: (props_at, buf.len()),
        })
    }

    /// The whole entry, as a pull returns it.
    pub fn bytes(&self) -> &'a [u8] {
        self.buf
    }
    /// Queue id.
    pub fn queue_id(&self) -> u32 {
        read_i32(self.buf, 12).unwrap_or(0) as u32
    }
    /// User flag.
    pub fn flag(&self) -> i32 {
        read_i32(self.buf, 16).unwrap_or(0)
    }
    /// ConsumeQueue offset.
    pub fn queue_offset(&self) -> u64 {
        read_i64(self.buf, OFF_QUEUE_OFFSET).unwrap_or(0) as u64
    }
    /// CommitLog offset.
    pub fn phy_offset(&self) -> u64 {
        read_i64(self.buf, OFF_PHY_OFFSET).unwrap_or(0) as u64
    }
    /// sysFlag.
    pub fn sys_flag(&self) -> i32 {
        read_i32(self.buf, OFF_SYS_FLAG).unwrap_or(0)
    }
    /// Producer timestamp, ms.
    pub fn born_timestamp(&self) -> i64 {
        read_i64(self.buf, 40).unwrap_or(0)
    }
    /// Store timestamp, ms.
    pub fn store_timestamp(&self) -> i64 {
        read_i64(self.buf, self.store_ts_at).unwrap_or(0)
    }
    /// Stored body (compressed if sysFlag bit 0 is set).
    pub fn body(&self) -> &'a [u8] {
        &self.buf[self.body.0..self.body.1]
    }
    /// Topic name.
    pub fn topic(&self) -> &'a str {
        std::str::from_utf8(&self.buf[self.topic.0..self.topic.1]).unwrap_or("")
    }
    /// Encoded properties.
    pub fn properties(&self) -> &'a [u8] {
        &self.buf[self.props.0..self.props.1]
    }
    /// The value of property `name` (the last one if repeated, as Java keeps).
    pub fn property(&self, name: &str) -> Option<&'a [u8]> {
        properties(self.properties())
            .filter(|(n, _)| *n == name.as_bytes())
            .last()
            .map(|(_, v)| v)
    }

    pub(crate) fn meta(&self) -> EntryMeta {
        EntryMeta {
            kind: EntryKind::RocketMq,
            total_size: self.buf.len() as u32,
            queue_id: self.queue_id(),
            queue_offset: self.queue_offset(),
            phy_offset: self.phy_offset(),
            store_timestamp: self.store_timestamp(),
            count: 1,
        }
    }

    /// Tags code for the ConsumeQueue: Java hash of TAGS, sign-extended; 0 without tag.
    pub fn tags_code(&self) -> i64 {
        match self
            .property("TAGS")
            .and_then(|t| std::str::from_utf8(t).ok())
        {
            Some(t) if !t.is_empty() => crate::util::java_string_hash(t) as i64,
            _ => 0,
        }
    }

    /// The keys to index: every word of KEYS and the UNIQ_KEY.
    pub fn index_keys(&self) -> impl Iterator<Item = &'a [u8]> {
        let keys = self.property("KEYS").unwrap_or(&[]);
        let uniq = self.property("UNIQ_KEY");
        keys.split(|b| *b == b' ')
            .filter(|k| !k.is_empty())
            .chain(uniq.filter(|u| !u.is_empty()))
    }
}

/// Iterates `(name, value)` pairs of encoded properties; skips malformed
/// segments (no separator, empty name or value) as the Java decoder does.
pub fn properties(props: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    props.split(|b| *b == PROPERTY_SEPARATOR).filter_map(|seg| {
        let sep = seg.iter().position(|b| *b == NAME_VALUE_SEPARATOR)?;
        let (name, value) = (&seg[..sep], &seg[sep + 1..]);
        (!name.is_empty() && !value.is_empty()).then_some((name, value))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    fn msg(body: &[u8], props: &[u8]) -> MessageToStore {
        MessageToStore {
            flag: 7,
            body: Bytes::copy_from_slice(body),
            sys_flag: 0,
            born_timestamp: 1_700_000_000_000,
            born_host: "10.0.0.1:5555".parse().unwrap(),
            reconsume_times: 2,
            prepared_tx_offset: 0,
            properties: Bytes::copy_from_slice(props),
        }
    }

    #[test]
    fn encode_then_parse_gives_the_fields_back() {
        let m = msg(
            b"hello",
            b"KEYS\x01k1 k2\x02TAGS\x01TagA\x02UNIQ_KEY\x01ABC",
        );
        let host: SocketAddr = "127.0.0.1:10911".parse().unwrap();
        let len = encoded_len(&m, 5, &host);
        let mut buf = vec![0u8; len];
        let p = Placement {
            topic: b"Topic",
            queue_id: 3,
            queue_offset: 42,
            phy_offset: 4096,
            store_timestamp: 1_700_000_000_123,
            store_host: host,
        };
        encode(&mut buf, &m, &p);
        let s = StoredMessage::parse(&buf, 4096).unwrap();
        assert_eq!(s.queue_id(), 3);
        assert_eq!(s.queue_offset(), 42);
        assert_eq!(s.flag(), 7);
        assert_eq!(s.body(), b"hello");
        assert_eq!(s.topic(), "Topic");
        assert_eq!(s.store_timestamp(), 1_700_000_000_123);
        assert_eq!(s.born_timestamp(), 1_700_000_000_000);
        assert_eq!(s.tags_code(), 2598919);
        let keys: Vec<&[u8]> = s.index_keys().collect();
        assert_eq!(keys, vec![&b"k1"[..], b"k2", b"ABC"]);
        // the wrong position is refused, so stale entries cannot pass as new ones
        assert!(StoredMessage::parse(&buf, 0).is_err());
        // a flipped body bit fails the CRC
        let body_at = len - 2 - m.properties.len() - 6 - 5;
        buf[body_at] ^= 1;
        assert_eq!(
            StoredMessage::parse(&buf, 4096).unwrap_err(),
            Invalid::Corrupt("body CRC mismatch")
        );
    }

    #[test]
    fn ipv6_hosts_set_the_sys_flag_bits() {
        let mut m = msg(b"x", b"");
        m.born_host = "[fd00::2]:1234".parse().unwrap();
        let host: SocketAddr = "[::1]:10911".parse().unwrap();
        let len = encoded_len(&m, 1, &host);
        let mut buf = vec![0u8; len];
        let p = Placement {
            topic: b"T",
            queue_id: 0,
            queue_offset: 0,
            phy_offset: 0,
            store_timestamp: 5,
            store_host: host,
        };
        encode(&mut buf, &m, &p);
        let s = StoredMessage::parse(&buf, 0).unwrap();
        assert_eq!(s.sys_flag() & 0x30, 0x30);
        assert_eq!(s.store_timestamp(), 5);
        assert_eq!(s.body(), b"x");
    }

    #[test]
    fn properties_skip_malformed_segments_and_keep_the_last() {
        let p: Vec<_> = properties(b"a\x011\x02\x02b\x01\x02c\x012\x02a\x013\x02").collect();
        assert_eq!(p, vec![(&b"a"[..], &b"1"[..]), (b"c", b"2"), (b"a", b"3")]);
    }
}

//! Kafka primitive types (§1.2 of kafka-subset.md): big-endian integers,
//! classic and compact (flexible) strings, bytes and arrays, unsigned
//! varints and tagged-field sections. Every API module decodes through
//! [`Reader`] and encodes through [`Writer`].
//!
//! ```text
//! str    non-flex: i16 len + UTF-8 (-1 = null)   flex: uvarint(len+1) (0 = null)
//! bytes  non-flex: i32 len + bytes  (-1 = null)   flex: uvarint(len+1)
//! array  non-flex: i32 count        (-1 = null)   flex: uvarint(count+1)
//! tags   flex only: uvarint count, then (uvarint tag, uvarint size, bytes)*
//! ```
//!
//! The reader works in nom's complete mode: a short field is an error naming
//! the field, never `Incomplete`.

use bytes::{BufMut, Bytes, BytesMut};
use nom::number::complete::{be_i16, be_i32, be_i64, be_i8, be_u8};

use super::DecodeError;

type NomErr<'a> = nom::error::Error<&'a [u8]>;

/// A cursor over one request body; `flex` selects the compact encodings.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    frame: &'a Bytes,
    buf: &'a [u8],
    /// True for flexible versions.
    pub flex: bool,
}

impl<'a> Reader<'a> {
    /// Reads `frame[start..]`.
    pub fn new(frame: &'a Bytes, start: usize, flex: bool) -> Reader<'a> {
        let buf = frame.get(start..).unwrap_or_default();
        Reader { frame, buf, flex }
    }

    /// Bytes not consumed yet.
    pub fn remaining(&self) -> usize {
        self.buf.len()
    }

    /// Byte offset of the cursor within the frame.
    pub fn position(&self) -> usize {
        self.frame.len() - self.buf.len()
    }

    /// Reads an `i8`.
    pub fn i8(&mut self, field: &'static str) -> Result<i8, DecodeError> {
        let (rest, v) = be_i8::<_, NomErr<'a>>(self.buf).map_err(|_| DecodeError::short(field))?;
        self.buf = rest;
        Ok(v)
    }
    /// Reads a `bool`.
    pub fn bool(&mut self, field: &'static str) -> Result<bool, DecodeError> {
        Ok(self.i8(field)? != 0)
    }
    /// Reads an `i16`.
    pub fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        let (rest, v) = be_i16::<_, NomErr<'a>>(self.buf).map_err(|_| DecodeError::short(field))?;
        self.buf = rest;
        Ok(v)
    }
    /// Reads an `i32`.
    pub fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        let (rest, v) = be_i32::<_, NomErr<'a>>(self.buf).map_err(|_| DecodeError::short(field))?;
        self.buf = rest;
        Ok(v)
    }
    /// Reads an `i64`.
    pub fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        let (rest, v) = be_i64::<_, NomErr<'a>>(self.buf).map_err(|_| DecodeError::short(field))?;
        self.buf = rest;
        Ok(v)
    }
    /// Reads an unsigned varint (at most 5 bytes).
    pub fn uvarint(&mut self, field: &'static str) -> Result<u32, DecodeError> {
        let mut v: u32 = 0;
        for i in 0..5 {
            let (rest, b) =
                be_u8::<_, NomErr<'a>>(self.buf).map_err(|_| DecodeError::short(field))?;
            self.buf = rest;
            v |= u32::from(b & 0x7f) << (7 * i);
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(DecodeError::Invalid { field })
    }
    /// Reads a 16-byte UUID.
    pub fn uuid(&mut self, field: &'static str) -> Result<[u8; 16], DecodeError> {
        let b = self.take(16, field)?;
        let mut out = [0u8; 16];
        out.copy_from_slice(&b);
        Ok(out)
    }
    /// Takes `n` raw bytes as a zero-copy slice of the frame.
    pub fn take(&mut self, n: usize, field: &'static str) -> Result<Bytes, DecodeError> {
        if n > self.buf.len() {
            return Err(DecodeError::short(field));
        }
        let (head, rest) = self.buf.split_at(n);
        self.buf = rest;
        Ok(self.frame.slice_ref(head))
    }
    /// Length of a string (`None` = null).
    fn str_len(&mut self, field: &'static str) -> Result<Option<usize>, DecodeError> {
        if self.flex {
            let n = self.uvarint(field)?;
            Ok(n.checked_sub(1).map(|n| n as usize))
        } else {
            let n = self.i16(field)?;
            Ok(usize::try_from(n).ok())
        }
    }
    /// Reads a nullable string.
    pub fn nstr(&mut self, field: &'static str) -> Result<Option<String>, DecodeError> {
        match self.str_len(field)? {
            None => Ok(None),
            Some(n) => {
                let b = self.take(n, field)?;
                String::from_utf8(b.to_vec())
                    .map(Some)
                    .map_err(|_| DecodeError::Invalid { field })
            }
        }
    }
    /// Reads a string; null reads as empty.
    pub fn str(&mut self, field: &'static str) -> Result<String, DecodeError> {
        Ok(self.nstr(field)?.unwrap_or_default())
    }
    /// Reads nullable bytes.
    pub fn nbytes(&mut self, field: &'static str) -> Result<Option<Bytes>, DecodeError> {
        let len = if self.flex {
            self.uvarint(field)?.checked_sub(1).map(|n| n as usize)
        } else {
            usize::try_from(self.i32(field)?).ok()
        };
        match len {
            None => Ok(None),
            Some(n) => self.take(n, field).map(Some),
        }
    }
    /// Reads bytes; null reads as empty.
    pub fn bytes(&mut self, field: &'static str) -> Result<Bytes, DecodeError> {
        Ok(self.nbytes(field)?.unwrap_or_default())
    }
    /// Reads an array count (`None` = null). A count larger than the bytes
    /// left is rejected, so it never sizes an allocation.
    pub fn array_len(&mut self, field: &'static str) -> Result<Option<usize>, DecodeError> {
        let n = if self.flex {
            self.uvarint(field)?.checked_sub(1).map(|n| n as usize)
        } else {
            usize::try_from(self.i32(field)?).ok()
        };
        if let Some(n) = n {
            if n > self.buf.len() {
                return Err(DecodeError::Invalid { field });
            }
        }
        Ok(n)
    }
    /// Reads an array of `item`s; null reads as empty.
    pub fn array<T>(
        &mut self,
        field: &'static str,
        mut item: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Vec<T>, DecodeError> {
        Ok(self.narray(field, &mut item)?.unwrap_or_default())
    }
    /// Reads a nullable array of `item`s.
    pub fn narray<T>(
        &mut self,
        field: &'static str,
        mut item: impl FnMut(&mut Self) -> Result<T, DecodeError>,
    ) -> Result<Option<Vec<T>>, DecodeError> {
        let Some(n) = self.array_len(field)? else {
            return Ok(None);
        };
        let mut out = Vec::new();
        for _ in 0..n {
            out.push(item(self)?);
        }
        Ok(Some(out))
    }
    /// Skips a tagged-field section (flex only; a no-op otherwise).
    pub fn tags(&mut self) -> Result<(), DecodeError> {
        if !self.flex {
            return Ok(());
        }
        let n = self.uvarint("tagged fields")?;
        for _ in 0..n {
            self.uvarint("tag")?;
            let size = self.uvarint("tag size")? as usize;
            self.take(size, "tag value")?;
        }
        Ok(())
    }
}

/// An encoder building a response body. Large stored batches are appended
/// as their own [`Bytes`] chunks instead of being copied.
#[derive(Debug, Default)]
pub struct Writer {
    chunks: Vec<Bytes>,
    cur: BytesMut,
    /// True for flexible versions.
    pub flex: bool,
}

impl Writer {
    /// A writer for a flexible (`flex`) or classic version.
    pub fn new(flex: bool) -> Writer {
        Writer {
            chunks: Vec::new(),
            cur: BytesMut::with_capacity(256),
            flex,
        }
    }
    /// Total bytes written so far.
    pub fn len(&self) -> usize {
        self.chunks.iter().map(Bytes::len).sum::<usize>() + self.cur.len()
    }
    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Writes an `i8`.
    pub fn i8(&mut self, v: i8) {
        self.cur.put_i8(v);
    }
    /// Writes a `bool`.
    pub fn bool(&mut self, v: bool) {
        self.cur.put_i8(i8::from(v));
    }
    /// Writes an `i16`.
    pub fn i16(&mut self, v: i16) {
        self.cur.put_i16(v);
    }
    /// Writes an `i32`.
    pub fn i32(&mut self, v: i32) {
        self.cur.put_i32(v);
    }
    /// Writes an `i64`.
    pub fn i64(&mut self, v: i64) {
        self.cur.put_i64(v);
    }
    /// Writes raw bytes (copied).
    pub fn raw(&mut self, v: &[u8]) {
        self.cur.put_slice(v);
    }
    /// Writes an unsigned varint.
    pub fn uvarint(&mut self, mut v: u32) {
        while v >= 0x80 {
            self.cur.put_u8((v as u8) | 0x80);
            v >>= 7;
        }
        self.cur.put_u8(v as u8);
    }
    fn len_prefix(&mut self, n: Option<usize>, wide: bool) {
        match (self.flex, n) {
            (true, None) => self.uvarint(0),
            (true, Some(n)) => self.uvarint(n as u32 + 1),
            (false, None) if wide => self.i32(-1),
            (false, None) => self.i16(-1),
            (false, Some(n)) if wide => self.i32(n as i32),
            (false, Some(n)) => self.i16(n as i16),
        }
    }
    /// Writes a nullable string.
    pub fn nstr(&mut self, v: Option<&str>) {
        self.len_prefix(v.map(str::len), false);
        if let Some(v) = v {
            self.raw(v.as_bytes());
        }
    }
    /// Writes a string.
    pub fn str(&mut self, v: &str) {
        self.nstr(Some(v));
    }
    /// Writes nullable bytes (copied).
    pub fn nbytes(&mut self, v: Option<&[u8]>) {
        self.len_prefix(v.map(<[u8]>::len), true);
        if let Some(v) = v {
            self.raw(v);
        }
    }
    /// Writes bytes (copied).
    pub fn bytes(&mut self, v: &[u8]) {
        self.nbytes(Some(v));
    }
    /// Writes a records field made of `parts` without copying them.
    pub fn records(&mut self, parts: &[Bytes]) {
        let n: usize = parts.iter().map(Bytes::len).sum();
        self.len_prefix(Some(n), true);
        for p in parts {
            self.chunk(p.clone());
        }
    }
    /// Appends `b` as its own chunk (zero-copy).
    pub fn chunk(&mut self, b: Bytes) {
        if b.is_empty() {
            return;
        }
        if b.len() < 256 {
            self.cur.put_slice(&b);
            return;
        }
        let cur = std::mem::take(&mut self.cur).freeze();
        if !cur.is_empty() {
            self.chunks.push(cur);
        }
        self.chunks.push(b);
    }
    /// Writes an array count (`None` = null).
    pub fn array_len(&mut self, n: Option<usize>) {
        self.len_prefix(n, true);
    }
    /// Writes an array of `items`.
    pub fn array<T>(&mut self, items: &[T], mut item: impl FnMut(&mut Self, &T)) {
        self.array_len(Some(items.len()));
        for t in items {
            item(self, t);
        }
    }
    /// Writes an empty tagged-field section (flex only).
    pub fn tags(&mut self) {
        if self.flex {
            self.uvarint(0);
        }
    }
    /// The encoded chunks, in order.
    pub fn finish(mut self) -> Vec<Bytes> {
        let cur = std::mem::take(&mut self.cur).freeze();
        if !cur.is_empty() {
            self.chunks.push(cur);
        }
        self.chunks
    }
    /// The encoded bytes as one buffer (copies chunks; for tests and small messages).
    pub fn to_bytes(self) -> Bytes {
        let mut out = BytesMut::new();
        for c in self.finish() {
            out.put_slice(&c);
        }
        out.freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uvarint_round_trip() {
        for v in [0u32, 1, 127, 128, 300, 16384, u32::MAX] {
            let mut w = Writer::new(true);
            w.uvarint(v);
            let b = w.to_bytes();
            let mut r = Reader::new(&b, 0, true);
            assert_eq!(r.uvarint("v").unwrap(), v);
            assert_eq!(r.remaining(), 0);
        }
    }

    #[test]
    fn short_string_is_an_error_not_a_panic() {
        let b = Bytes::from_static(&[0, 5, b'a']);
        let mut r = Reader::new(&b, 0, false);
        assert!(r.str("name").is_err());
    }

    #[test]
    fn huge_array_count_is_rejected() {
        let b = Bytes::from_static(&[0x7f, 0xff, 0xff, 0xff, 0]);
        let mut r = Reader::new(&b, 0, false);
        assert!(r.array("items", |r| r.i8("x")).is_err());
    }

    #[test]
    fn compact_null_string() {
        let b = Bytes::from_static(&[0]);
        let mut r = Reader::new(&b, 0, true);
        assert_eq!(r.nstr("s").unwrap(), None);
    }
}

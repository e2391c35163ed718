//! A bounds-checked cursor over a complete buffer, built on nom's
//! `number::complete` parsers: a short field is a named `Truncated` error,
//! never `Incomplete`, never a panic.

use nom::number::complete::{be_i16, be_i32, be_i64, be_u8};
use nom::IResult;

use super::error::DecodeError;

/// Cursor over a whole frame/body.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    pub(crate) fn remaining(&self) -> &'a [u8] {
        self.buf
    }

    fn run<O>(
        &mut self,
        field: &'static str,
        p: fn(&'a [u8]) -> IResult<&'a [u8], O>,
    ) -> Result<O, DecodeError> {
        let (rest, v) = p(self.buf).map_err(|_| DecodeError::Truncated(field))?;
        self.buf = rest;
        Ok(v)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, DecodeError> {
        self.run(field, be_u8)
    }

    pub(crate) fn i16(&mut self, field: &'static str) -> Result<i16, DecodeError> {
        self.run(field, be_i16)
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, DecodeError> {
        self.run(field, be_i32)
    }

    pub(crate) fn i64(&mut self, field: &'static str) -> Result<i64, DecodeError> {
        self.run(field, be_i64)
    }

    /// An i32 length that must be ≥ 0 and fit in what is left.
    pub(crate) fn len_i32(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let n = self.i32(field)?;
        usize::try_from(n).map_err(|_| DecodeError::Invalid(field))
    }

    /// An i16 length that must be ≥ 0.
    pub(crate) fn len_i16(&mut self, field: &'static str) -> Result<usize, DecodeError> {
        let n = self.i16(field)?;
        usize::try_from(n).map_err(|_| DecodeError::Invalid(field))
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], DecodeError> {
        let (rest, v) =
            nom::bytes::complete::take::<usize, &'a [u8], nom::error::Error<&'a [u8]>>(n)(self.buf)
                .map_err(|_| DecodeError::Truncated(field))?;
        self.buf = rest;
        Ok(v)
    }
}

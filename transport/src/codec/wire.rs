//! Byte-level primitives: a bounds-checked reader over a slice, LEB128 varints
//! and zig-zag mapping. Nothing here allocates or panics on any input.

use super::DecodeError;

/// A forward-only reader over borrowed bytes.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(data: &'a [u8]) -> Self {
        Self { data, pos: 0 }
    }

    /// Bytes not yet read.
    pub(crate) fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// Position from the start of the input.
    pub(crate) fn position(&self) -> usize {
        self.pos
    }

    pub(crate) fn u8(&mut self) -> Result<u8, DecodeError> {
        let byte = *self.data.get(self.pos).ok_or(DecodeError::UnexpectedEnd)?;
        self.pos += 1;
        Ok(byte)
    }

    /// The next `len` bytes, borrowed.
    pub(crate) fn take(&mut self, len: usize) -> Result<&'a [u8], DecodeError> {
        if len > self.remaining() {
            return Err(DecodeError::UnexpectedEnd);
        }
        let slice = &self.data[self.pos..self.pos + len];
        self.pos += len;
        Ok(slice)
    }

    /// Everything not yet read.
    pub(crate) fn rest(&mut self) -> &'a [u8] {
        let slice = &self.data[self.pos..];
        self.pos = self.data.len();
        slice
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let slice = self.take(N)?;
        let mut out = [0u8; N];
        out.copy_from_slice(slice);
        Ok(out)
    }

    /// An unsigned LEB128 varint of at most 64 bits.
    pub(crate) fn varint_u64(&mut self) -> Result<u64, DecodeError> {
        let mut result = 0u64;
        let mut shift = 0u32;
        loop {
            let byte = self.u8()?;
            if shift == 63 && byte > 1 {
                return Err(DecodeError::IntegerOverflow);
            }
            result |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(result);
            }
            shift += 7;
        }
    }

    /// An unsigned LEB128 varint of at most 32 bits.
    pub(crate) fn varint_u32(&mut self) -> Result<u32, DecodeError> {
        u32::try_from(self.varint_u64()?).map_err(|_| DecodeError::IntegerOverflow)
    }

    /// A zig-zag varint i32.
    pub(crate) fn compact_i32(&mut self) -> Result<i32, DecodeError> {
        Ok(unzigzag32(self.varint_u32()?))
    }

    /// A zig-zag varint i64.
    pub(crate) fn compact_i64(&mut self) -> Result<i64, DecodeError> {
        Ok(unzigzag64(self.varint_u64()?))
    }
}

/// Appends `value` as an unsigned LEB128 varint (1 to 10 bytes).
pub(crate) fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push((value as u8) | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Writes `value` as a varint into `out`, returning the bytes written.
/// `out` must hold at least 5 bytes for a `u32` value.
pub(crate) fn write_varint_u32(out: &mut [u8], mut value: u32) -> usize {
    let mut len = 0;
    while value >= 0x80 {
        out[len] = (value as u8) | 0x80;
        value >>= 7;
        len += 1;
    }
    out[len] = value as u8;
    len + 1
}

/// Appends a compact (zig-zag varint) i32: 1 byte for -64..=63, 2 bytes for
/// -8192..=8191, at most 5 bytes.
pub(crate) fn put_compact_i32(out: &mut Vec<u8>, value: i32) {
    put_varint(out, u64::from(zigzag32(value)));
}

/// Appends a compact (zig-zag varint) i64, at most 10 bytes.
pub(crate) fn put_compact_i64(out: &mut Vec<u8>, value: i64) {
    put_varint(out, zigzag64(value));
}

pub(crate) fn zigzag32(value: i32) -> u32 {
    ((value << 1) ^ (value >> 31)) as u32
}

pub(crate) fn unzigzag32(value: u32) -> i32 {
    ((value >> 1) as i32) ^ -((value & 1) as i32)
}

pub(crate) fn zigzag64(value: i64) -> u64 {
    ((value << 1) ^ (value >> 63)) as u64
}

pub(crate) fn unzigzag64(value: u64) -> i64 {
    ((value >> 1) as i64) ^ -((value & 1) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zigzag_maps_small_magnitudes_to_small_codes() {
        let table: &[(i32, u32)] = &[
            (0, 0),
            (-1, 1),
            (1, 2),
            (-2, 3),
            (2, 4),
            (63, 126),
            (-64, 127),
            (i32::MAX, u32::MAX - 1),
            (i32::MIN, u32::MAX),
        ];
        for &(value, code) in table {
            assert_eq!(zigzag32(value), code, "zigzag32({value})");
            assert_eq!(unzigzag32(code), value, "unzigzag32({code})");
        }
        for value in [0i64, -1, 1, i64::MAX, i64::MIN, 1 << 40, -(1 << 40)] {
            assert_eq!(unzigzag64(zigzag64(value)), value);
        }
        assert_eq!(zigzag64(i64::MIN), u64::MAX);
    }

    #[test]
    fn compact_i32_exact_bytes() {
        let table: &[(i32, &[u8])] = &[
            (0, &[0x00]),
            (-1, &[0x01]),
            (1, &[0x02]),
            (63, &[0x7e]),
            (-64, &[0x7f]),
            (64, &[0x80, 0x01]),
            (8191, &[0xfe, 0x7f]),
            (-8192, &[0xff, 0x7f]),
            (8192, &[0x80, 0x80, 0x01]),
            (i32::MIN, &[0xff, 0xff, 0xff, 0xff, 0x0f]),
        ];
        for &(value, bytes) in table {
            let mut out = Vec::new();
            put_compact_i32(&mut out, value);
            assert_eq!(out, bytes, "encoding of {value}");
            let mut cursor = Cursor::new(bytes);
            assert_eq!(cursor.compact_i32().unwrap(), value);
            assert_eq!(cursor.remaining(), 0);
            let mut fixed = [0u8; 5];
            let len = write_varint_u32(&mut fixed, zigzag32(value));
            assert_eq!(&fixed[..len], bytes);
        }
    }

    #[test]
    fn varint_overflow_is_an_error() {
        // 2^32 does not fit a u32.
        assert_eq!(
            Cursor::new(&[0x80, 0x80, 0x80, 0x80, 0x10]).varint_u32(),
            Err(DecodeError::IntegerOverflow)
        );
        // Eleven bytes of continuation overflow a u64.
        let long = [0xffu8; 11];
        assert_eq!(
            Cursor::new(&long).varint_u64(),
            Err(DecodeError::IntegerOverflow)
        );
        // u64::MAX itself decodes.
        let mut max = Vec::new();
        put_varint(&mut max, u64::MAX);
        assert_eq!(max.len(), 10);
        assert_eq!(Cursor::new(&max).varint_u64(), Ok(u64::MAX));
        // Truncated varint.
        assert_eq!(
            Cursor::new(&[0x80]).varint_u64(),
            Err(DecodeError::UnexpectedEnd)
        );
    }

    #[test]
    fn take_checks_bounds() {
        let mut cursor = Cursor::new(&[1, 2, 3]);
        assert_eq!(cursor.take(4), Err(DecodeError::UnexpectedEnd));
        assert_eq!(cursor.take(2), Ok(&[1u8, 2][..]));
        assert_eq!(cursor.position(), 2);
        assert_eq!(cursor.rest(), &[3]);
        assert_eq!(cursor.u8(), Err(DecodeError::UnexpectedEnd));
    }
}

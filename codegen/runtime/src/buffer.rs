//! 64-byte-aligned byte buffers: what compiled kernels read and write (inputs, outputs and
//! the scratch arena), built without `unsafe`.
//!
//! A buffer is a vector of 64-byte blocks, so its start is 64-aligned and its length rounds
//! up to whole blocks (at least one, so even an empty tensor has a valid pointer). This
//! file knows nothing of dtypes; see `npy::{encode_le, decode_le}` for the byte layout.

/// One aligned block.
#[derive(Copy, Clone)]
#[repr(C, align(64))]
struct Block([u8; 64]);

/// A zero-initialised, 64-byte-aligned buffer.
pub struct AlignedBuf {
    blocks: Vec<Block>,
    len: usize,
}

impl AlignedBuf {
    /// `len` zero bytes.
    pub fn zeroed(len: usize) -> AlignedBuf {
        AlignedBuf { blocks: vec![Block([0; 64]); len.div_ceil(64).max(1)], len }
    }

    /// A buffer holding a copy of `bytes`.
    pub fn from_bytes(bytes: &[u8]) -> AlignedBuf {
        let mut b = AlignedBuf::zeroed(bytes.len());
        b.write(bytes);
        b
    }

    /// Overwrites the start of the buffer with `bytes` (truncated to the buffer's length).
    pub fn write(&mut self, bytes: &[u8]) {
        let n = bytes.len().min(self.len);
        for (blk, chunk) in self.blocks.iter_mut().zip(bytes[..n].chunks(64)) {
            blk.0[..chunk.len()].copy_from_slice(chunk);
        }
    }

    /// A copy of the buffer's bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        self.blocks.iter().flat_map(|b| b.0).take(self.len).collect()
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when the buffer holds no bytes.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// The start address, for compiled code.
    pub fn as_mut_ptr(&mut self) -> *mut u8 {
        self.blocks.as_mut_ptr().cast()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aligned_and_round_trips() {
        let bytes: Vec<u8> = (0..=200u8).collect();
        let mut b = AlignedBuf::from_bytes(&bytes);
        assert_eq!(b.as_mut_ptr() as usize % 64, 0);
        assert_eq!(b.to_bytes(), bytes);
        assert_eq!(AlignedBuf::zeroed(0).to_bytes(), Vec::<u8>::new());
    }
}
